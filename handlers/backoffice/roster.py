"""The duty roster's rules, for `run.py roster` and the console alike: who is on duty at which consulate,
with which phone, from when to when (consulate time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.backoffice.errors import OptionError
from handlers.reference.consulates import Consulate, Directory
from handlers.reference.numbers import possible_e164
from store import roster

# Duty phones are written as carriers send numbers: national US numbers, or with + / 00.
PHONE_REGION = "US"


@dataclass(frozen=True)
class ShiftLine:
    """A shift as an administrator reads it: times on the consulate's clock."""

    id: int
    consulate: str
    phone: str
    since: str  # YYYY-MM-DD HH:MM
    until: str  # YYYY-MM-DD HH:MM, or "-" until ended


def consulate_named(directory: Directory, consulate_id: str | None) -> Consulate | None:
    """The consulate with that id, in any case (None when none was given); OptionError for an unknown id."""
    if consulate_id is None:
        return None
    consulate = directory.by_id(consulate_id)
    if consulate is None:
        raise OptionError("--consulate", f"{consulate_id!r} is not a consulate id in config/consulates.yaml")
    return consulate


def add(
    directory: Directory,
    consulate_id: str | None,
    phone: str | None,
    starts: str | None,
    ends: str | None,
    now: float,
) -> roster.Shift:
    """Puts a phone on duty for a consulate from `starts` (default now) until `ends` (default until ended).

    A phone answers for one consulate at a time: a phone config/consulates.yaml gives to another office, or
    one already on a shift overlapping these hours (here or elsewhere), is refused."""
    consulate = consulate_named(directory, consulate_id)
    number = possible_e164(phone or "", PHONE_REGION)
    if consulate is None or number is None:
        raise OptionError("roster add", "needs --consulate ID and --phone +1...")
    starts_at = _moment(starts, consulate, "--from") or now
    ends_at = _moment(ends, consulate, "--until")
    if ends_at is not None and ends_at <= starts_at:
        raise OptionError("--until", "must be after --from")
    _refuse_configured(directory, consulate, number)
    roster.take_turns()
    for shift in roster.overlapping(number, starts_at, ends_at):
        line = _line(directory, shift)
        when = f"from {line.since} until {line.until}" if shift.ends_at else f"since {line.since}, until ended"
        if shift.consulate == consulate.id:
            raise OptionError(
                "--from", f"that phone is already on duty for {shift.consulate} {when} (shift {shift.id})"
            )
        raise OptionError(
            "--phone",
            f"on duty for {shift.consulate} {when} (shift {shift.id}): a phone answers for one consulate at a time",
        )
    return roster.add_shift(consulate.id, number, starts_at, ends_at, now)


def _refuse_configured(directory: Directory, consulate: Consulate, number: str) -> None:
    """A duty phone of the file is on duty for its office always; another office's phone identifies it."""
    if number in consulate.duty_phones + consulate.backup_phones:
        raise OptionError(
            "--phone", f"already a duty phone of {consulate.id} in config/consulates.yaml, always on duty"
        )
    owner = directory.office_of_phone(number)
    if owner is not None and owner != consulate.id:
        raise OptionError(
            "--phone", f"a phone of {owner} in config/consulates.yaml: a phone answers for one consulate at a time"
        )


def end(shift_id: int | None, now: float) -> None:
    """Ends a running shift now, or removes a future one."""
    if shift_id is None:
        raise OptionError("roster end", "needs --shift N (see roster list)")
    if not roster.end_shift(shift_id, now):
        raise OptionError("--shift", f"no running or future shift {shift_id}")


def listing(directory: Directory, consulate_id: str | None, now: float) -> list[ShiftLine]:
    """Running and future shifts, of one consulate or of all."""
    consulate = consulate_named(directory, consulate_id)
    return [_line(directory, shift) for shift in roster.shifts(consulate.id if consulate else None, now)]


def _line(directory: Directory, shift: roster.Shift) -> ShiftLine:
    office = directory.by_id(shift.consulate)
    zone = ZoneInfo(office.time_zone) if office else None
    until = datetime.fromtimestamp(shift.ends_at, zone).strftime("%Y-%m-%d %H:%M") if shift.ends_at else "-"
    since = datetime.fromtimestamp(shift.starts_at, zone).strftime("%Y-%m-%d %H:%M")
    return ShiftLine(shift.id, shift.consulate, shift.phone, since, until)


def _moment(text: str | None, consulate: Consulate, option: str) -> float | None:
    """A time without an offset is on the consulate's clock; one with an offset is kept as written."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise OptionError(option, f"{text!r} is not a time such as 2026-11-30T08:00") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(consulate.time_zone))).timestamp()


COLUMNS = ("consulate", "phone", "from", "until")


def import_rows(directory: Directory, rows: list[tuple[int, dict[str, str]]], now: float) -> int:
    """Adds every row's shift with the same rules as one at a time; any bad row and nothing is added
    (OptionError listing each bad row by number). Runs inside the caller's transaction."""
    problems = []
    for number, row in rows:
        try:
            add(
                directory,
                row["consulate"].lower() or None,
                row["phone"],
                row["from"] or None,
                row["until"] or None,
                now,
            )
        except OptionError as exc:
            problems.append(f"row {number}: {exc}")
    if problems:
        raise OptionError("file", "; ".join(problems))
    return len(rows)


def export_rows(directory: Directory, consulates: tuple[str, ...] | None, now: float) -> list[tuple[str, ...]]:
    """The current and future shifts as rows of COLUMNS (what import_rows reads back)."""
    return [
        (
            line.consulate,
            line.phone,
            line.since.replace(" ", "T"),
            line.until.replace(" ", "T") if line.until != "-" else "",
        )
        for line in listing(directory, None, now)
        if consulates is None or line.consulate in consulates
    ]
