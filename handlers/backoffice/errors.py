"""The one error back-office operations raise: what was asked cannot be done, naming what was wrong."""

from __future__ import annotations


class OptionError(ValueError):
    """`option` names the argument or field at fault (--consulate, --from, a form field), for the caller."""

    def __init__(self, option: str, problem: str):
        super().__init__(f"{option}: {problem}")
        self.option = option
