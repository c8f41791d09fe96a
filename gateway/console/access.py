"""Who may do what: the one authorisation rule every console page, form and API call consults."""

from __future__ import annotations

from store.accounts import Official

# Permission → roles that have it. A page names one permission; scope (which consulate) is checked apart.
PERMISSIONS = {
    "desk": frozenset({"admin", "supervisor", "officer"}),  # open alerts, an alert's page
    "dashboard": frozenset({"admin", "supervisor", "officer"}),  # counts only
    "alert.act": frozenset({"admin", "supervisor", "officer"}),  # acknowledge, reply, note, close, reopen
    "personal.reveal": frozenset({"admin", "supervisor", "officer"}),  # show a number or name, with a reason
    "bookings": frozenset({"admin", "supervisor", "officer"}),
    "roster": frozenset({"admin", "supervisor", "officer"}),
    "roster.edit": frozenset({"admin", "supervisor", "officer"}),
    "accounts": frozenset({"admin"}),
    "audit": frozenset({"admin", "supervisor"}),
    "complaints": frozenset({"focal_point"}),  # confidential: not even an administrator
    "feedback": frozenset({"admin", "supervisor"}),
    "own": frozenset({"admin", "supervisor", "officer", "focal_point"}),  # own password, language, second factor
}


def allowed(official: Official | None, permission: str, consulate: str | None = None) -> bool:
    """True when the account holds the permission, for that consulate when one is named (an officer sees
    only their own consulate's alerts, bookings and roster)."""
    if official is None or official.blocked or official.role not in PERMISSIONS.get(permission, ()):
        return False
    if consulate is not None and official.role == "officer":
        return consulate == official.consulate
    return True


def consulates_in_scope(official: Official) -> tuple[str, ...] | None:
    """The consulates whose data the account sees; None for every consulate."""
    return (official.consulate,) if official.role == "officer" else None
