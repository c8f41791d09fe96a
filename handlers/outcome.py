"""What a handler hands back: the screen to show and the SMS to send."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Screen:
    """A USSD answer: text, and whether the session ends with it."""

    text: str
    ends: bool


@dataclass(frozen=True)
class Outgoing:
    """An SMS to send through the outbox."""

    to: str  # E.164
    text: str


@dataclass(frozen=True)
class Outcome:
    screen: Screen | None = None  # None for SMS: every SMS answer is an Outgoing
    outgoing: tuple[Outgoing, ...] = field(default_factory=tuple)
