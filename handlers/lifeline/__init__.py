"""The lifeline: consent, trusted contacts, ALERT and I'M SAFE, duty officers' answers, the person's data."""
