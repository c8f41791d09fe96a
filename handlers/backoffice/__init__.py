"""Officials' operations, shared by `run.py` and the console: CSV import and export, the day sheet, the duty
roster. No carrier and no web code."""
