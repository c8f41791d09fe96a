"""The short help answer every channel gets until the menu engine lands."""

from __future__ import annotations

from collections.abc import Callable

from handlers.outcome import Outcome, Outgoing, Screen

Say = Callable[[str], str]  # text key → text in the person's language


def ussd(text: str, phone: str, say: Say) -> Outcome:
    """First dial shows the help screen; option 1 sends the help by SMS; anything else says goodbye."""
    choice = text.split("*")[-1].strip() if text else ""
    if not text:
        return Outcome(screen=Screen(say("help.ussd_menu"), ends=False))
    if choice == "1":
        return Outcome(
            screen=Screen(say("help.ussd_sms_sent"), ends=True), outgoing=(Outgoing(phone, say("help.sms")),)
        )
    return Outcome(screen=Screen(say("help.ussd_goodbye"), ends=True))


def sms(text: str, phone: str, say: Say) -> Outcome:
    """Any SMS is answered with the help text."""
    return Outcome(outgoing=(Outgoing(phone, say("help.sms")),))
