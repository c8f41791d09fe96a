"""One module per carrier, each with the same verbs: verify, parse_inbound, parse_status, format_reply, send."""
