"""The menu engine: YAML flows, keywords and rendering, the same on USSD and SMS."""
