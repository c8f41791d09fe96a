"""Hand-written statements for the few queries on every webhook and every send.

peewee builds the SQL text afresh on each call, which costs more than running the query itself
(about 150 µs against 5 µs for a look-up on this machine; see bench/). These statements are
written once, with `{p}` where a parameter goes, and compiled per database to its placeholder
(`?` for SQLite, `%s` for PostgreSQL). Everything else goes through peewee as usual.
"""

from __future__ import annotations

from store.db import database


class Statement:
    """One SQL statement, compiled once per database dialect."""

    def __init__(self, text: str):
        self._text = " ".join(text.split())
        self._compiled: dict[str, str] = {}

    def sql(self) -> str:
        """The text for the open database."""
        placeholder = database.obj.param
        text = self._compiled.get(placeholder)
        if text is None:
            text = self._compiled[placeholder] = self._text.replace("{p}", placeholder)
        return text

    def execute(self, *params):
        """Runs the statement with these parameters; returns the cursor."""
        return database.execute_sql(self.sql(), params)

    def rows(self, model, *params) -> list:
        """The rows it returns, as instances of model (fields converted, encrypted ones decrypted)."""
        return list(model.raw(self.sql(), *params))

    def one(self, *params):
        """The first row, or None."""
        return self.execute(*params).fetchone()
