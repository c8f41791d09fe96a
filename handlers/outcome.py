"""What a handler is given and what it hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outgoing:
    """An SMS to send through the outbox, as a text key: the gateway writes it in the recipient's language."""

    to: str  # E.164
    text: str  # key into templates/<lang>.yaml
    values: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None  # None: the recipient's number's country decides
    tag: str | None = None  # a group to withdraw or follow up later ("alert:A7K2")
    delay_seconds: float = 0.0  # held back this long before it may leave
    urgent: bool = False  # retried until the outbox's urgent deadline, not a fixed number of times
    max_segments: int = 0  # at most this many SMS segments (0: as long as the text is) ...
    shorten: tuple[str, ...] = ()  # ... by cutting these values at a word, in this order, marked "…"
    # Values written in the reader's conventions (a date, a place's name), by language; they replace the
    # same names in `values` for a reader of that language. The gateway decides the language at write time.
    localized: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """What a handler knows: who asks, on which channel, the flow's data so far and the screen's args."""

    phone: str
    person_id: int
    language: str
    channel: str
    args: Mapping[str, str]
    data: Mapping[str, str]
    now: float
    languages: tuple[str, ...]  # languages the deployment has texts for
    region: str = "US"  # the person's country, for numbers they type in national format


@dataclass(frozen=True)
class Result:
    """The outcome names the next screen (per the flow); values fill its placeholders."""

    outcome: str = "ok"
    values: Mapping[str, str] = field(default_factory=dict)
    outgoing: tuple[Outgoing, ...] = ()
    language: str | None = None  # the person chose a language: later screens use it
    # The person erased themselves: the answer to them is forgotten (number and text) once it has left.
    forget_sender: bool = False
