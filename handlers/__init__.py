"""What Lifeline does for a person: pure decisions on plain values, plus the store queries they need.
No aiohttp and no carrier here."""
