"""Hand-written statements for the few queries on every webhook and every send.

peewee builds the SQL text afresh on each call, which costs more than running the query itself
(about 150 µs against 5 µs for a look-up on this machine; see bench/). These statements are
written once, with `{p}` where a parameter goes, and compiled per database to its placeholder
(`?` for SQLite, whose module keeps them compiled; on PostgreSQL prepared on each connection and run with
EXECUTE, so a pooler must keep sessions: session mode). Everything else goes through peewee as usual.
"""

from __future__ import annotations

import itertools
import weakref

import peewee

from store.db import database, is_postgres

# sqlite3's and psycopg2's errors raised as peewee's (IntegrityError, OperationalError...), as peewee does.
_as_peewee_errors = peewee.__exception_wrapper__

# PostgreSQL: the statements prepared on each connection (a connection replaced after a failure starts
# with none). Parsed and planned once per connection instead of on every webhook.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_numbers = itertools.count(1)


class Statement:
    """One SQL statement, compiled once per database dialect; on PostgreSQL prepared once per connection
    (parsing and planning each statement anew was a third of the database's CPU per webhook)."""

    def __init__(self, text: str):
        self._text = " ".join(text.split())
        self._compiled: dict[str, str] = {}
        self._name = f"lifeline_{next(_numbers)}"
        # PostgreSQL numbers a prepared statement's parameters: $1, $2...
        first, *rest = self._text.split("{p}")
        self._prepare = f"PREPARE {self._name} AS {first}" + "".join(f"${n}{part}" for n, part in enumerate(rest, 1))
        self._execute = f"EXECUTE {self._name}" + (f" ({', '.join(['%s'] * len(rest))})" if rest else "")

    def sql(self) -> str:
        """The text for the open database."""
        placeholder = database.obj.param
        text = self._compiled.get(placeholder)
        if text is None:
            text = self._compiled[placeholder] = self._text.replace("{p}", placeholder)
        return text

    def execute(self, *params):
        """Runs the statement with these parameters; returns the cursor."""
        if not is_postgres():
            # Straight to the connection: peewee's execute_sql (its logging, hooks and the proxy's look-ups)
            # cost a third as much as an indexed statement itself.
            with _as_peewee_errors:
                return database.connection().execute(self.sql(), params)
        connection = database.connection()
        names = _prepared.get(connection)
        if names is None:
            names = _prepared[connection] = set()
        if self._name not in names:
            database.execute_sql(self._prepare)
            names.add(self._name)
        return database.execute_sql(self._execute, params)

    def rows(self, model, *params) -> list:
        """The rows it returns, as instances of model (fields converted, encrypted ones decrypted)."""
        return list(model.raw(self.sql(), *params))

    def one(self, *params):
        """The first row, or None."""
        return self.execute(*params).fetchone()
