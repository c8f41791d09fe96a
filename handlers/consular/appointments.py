"""Booking a consular appointment: service → consulate → day → time → confirm; listing, cancelling,
rescheduling, and the reminder the day before.

Each step lists numbered choices in `{choices}` and keeps what the numbers mean in the session's data,
so a USSD hop or an SMS reply answered on another server process still means the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.lifeline import nationality
from handlers.lifeline.profile import zip_and_state
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Consulate, Directory, Network, local_datetime, name_for
from handlers.reference.places import distance_km, find_place
from handlers.reference.schedule import bookable_days, local_day, reminder_time, windows_on
from handlers.reference.services import Service
from handlers.reference.vocabulary import Vocabulary
from store import bookings, people

# Short weekday names for a day list; a language without an entry shows the date alone.
CONSULATES_SHOWN = 3  # the responsible one, then the nearest others
BRING_AFTER = 5  # seconds: what to bring follows the confirmation, not the other way round
SLOTS_SHOWN = 10  # "1 08:00" x 10 (and "11 >>") on one line fits a USSD screen with its question
LATER = "later"  # the choice after the times shown: the next ones


@dataclass(frozen=True)
class AppointmentPolicy:
    horizon_days: int = 30  # how far ahead people may book
    min_notice_minutes: int = 60  # a window starting sooner than this is not offered
    max_upcoming: int = 3  # upcoming appointments one number may hold: nobody fills a consulate's days
    days_shown: int = 5  # days with a free window offered at once
    reminder_hour: int = 18  # the reminder leaves the day before at this hour, consulate time

    def __post_init__(self) -> None:
        if not 0 <= self.reminder_hour <= 23 or self.days_shown < 1:
            raise ValueError("reminder_hour must be 0-23 and days_shown at least 1")


@dataclass(frozen=True)
class Booking:
    """What the handlers are bound to: the deployment's consulates, services and policy."""

    directory: Directory
    services: tuple[Service, ...]
    policy: AppointmentPolicy
    vocabulary: Vocabulary = Vocabulary()  # weekday names per language

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)


def start(request: Request, booking: Booking) -> Result:
    """CITA / BOOK, or the menu option: the person's upcoming appointments, else straight to booking; whose
    consulates, first, when the person's number suggests a nationality not served."""
    if nationality.unasked(request, booking.directory):
        return nationality.ask(then="appointment")
    upcoming = bookings.upcoming_of(request.person_id, request.now)
    if not upcoming:
        return Result(outcome="none")
    # By reference, not by number: the menu below the list has numbers of its own.
    lines = [_describe(a, booking, request.language) for a in upcoming]
    refs = ",".join(a.reference for a in upcoming)
    return Result(outcome="listed", values={"bookings": "\n".join(lines), "booking_refs": refs})


def list_services(request: Request, booking: Booking) -> Result:
    """A fresh booking starts here: a change begun earlier in the session and left is forgotten."""
    names = [s.name(request.language) for s in booking.services]
    return Result(outcome="ok", values={"choices": _numbered(names), "reschedule": ""})


def choose_service(request: Request, booking: Booking) -> Result:
    picked = _pick(request.data.get("service_choice"), [s.id for s in booking.services])
    return Result(outcome="ok", values={"service": picked}) if picked else Result(outcome="invalid")


def list_consulates(request: Request, booking: Booking) -> Result:
    """The consulate responsible for the person first (jurisdiction beats distance), then the nearest."""
    offered = nearest_first(request, booking.directory)[:CONSULATES_SHOWN]
    if not offered:
        return Result(outcome="none")
    names = [name_for(c, request.language) for c in offered]
    return Result(outcome="ok", values={"choices": _numbered(names), "consulate_ids": ",".join(c.id for c in offered)})


def choose_consulate(request: Request, booking: Booking) -> Result:
    picked = _pick(request.data.get("consulate_choice"), request.data.get("consulate_ids", "").split(","))
    return Result(outcome="ok", values={"consulate": picked}) if picked else Result(outcome="invalid")


def here(request: Request, booking: Booking) -> Result:
    """Booking at the consulate just shown by Find consulate."""
    ids = request.data.get("found_ids", "").split(",")
    index = request.data.get("found_index", "")
    consulate = booking.directory.by_id(ids[int(index)]) if index.isdigit() and int(index) < len(ids) else None
    return Result(outcome="ok", values={"consulate": consulate.id}) if consulate else Result(outcome="invalid")


def list_days(request: Request, booking: Booking) -> Result:
    """The next days with at least one free window for this service."""
    consulate, service = _chosen(request, booking)
    if consulate is None or service is None:
        return Result(outcome="invalid")
    days = []
    for day in bookable_days(consulate, request.now, booking.policy.horizon_days):
        if _free_windows(request, booking, consulate, service, day):
            days.append(day)
            if len(days) == booking.policy.days_shown:
                break
    if not days:
        return Result(outcome="none", values={"consulate_name": name_for(consulate, request.language)})
    shown = [_day_name(day, booking.vocabulary, request.language) for day in days]
    return Result(outcome="ok", values={"choices": _numbered(shown), "day_list": ",".join(map(str, days))})


def choose_day(request: Request, booking: Booking) -> Result:
    picked = _pick(request.data.get("day_choice"), request.data.get("day_list", "").split(","))
    return Result(outcome="ok", values={"day": picked, "slot_offset": "0"}) if picked else Result(outcome="invalid")


def list_slots(request: Request, booking: Booking) -> Result:
    """The day's free windows, earliest first, as consulate-time HH:MM."""
    consulate, service = _chosen(request, booking)
    day = _date(request.data.get("day"))
    if consulate is None or service is None or day is None:
        return Result(outcome="invalid")
    every = _free_windows(request, booking, consulate, service, day)
    offset = int(_number(request.data.get("slot_offset")))
    offset = offset if 0 <= offset < len(every) else 0  # past the last page: back to the first
    free = every[offset : offset + SLOTS_SHOWN]
    if not free:
        return Result(outcome="none")
    listed = [str(int(s)) for s in free]
    times = [local_datetime(consulate, start)[-5:] for start in free]
    if offset + SLOTS_SHOWN < len(every):  # later times: one more number pages on
        listed.append(LATER)
        times.append(">>")
    choices = "  ".join(f"{n} {t}" for n, t in enumerate(times, 1))  # one line fits a USSD screen
    return Result(outcome="ok", values={"choices": choices, "slot_list": ",".join(listed), "slot_offset": str(offset)})


def choose_slot(request: Request, booking: Booking) -> Result:
    """The chosen time, and a summary to confirm."""
    picked = _pick(request.data.get("slot_choice"), request.data.get("slot_list", "").split(","))
    consulate, service = _chosen(request, booking)
    if picked == LATER:
        return Result(
            outcome="later", values={"slot_offset": str(int(_number(request.data.get("slot_offset"))) + SLOTS_SHOWN)}
        )
    if not picked or consulate is None or service is None:
        return Result(outcome="invalid")
    summary = _summary(booking, service, consulate, float(picked), request.language)
    return Result(outcome="ok", values={"slot": picked, "summary": summary})


def book(request: Request, booking: Booking) -> Result:
    """Takes a place in the chosen window, or says it was just taken; a reschedule frees the old place.
    Someone who never agreed to what Lifeline keeps is asked first: nothing is booked before that."""
    consulate, service = _chosen(request, booking)
    starts_at = _number(request.data.get("slot"))
    if consulate is None or service is None:
        return Result(outcome="invalid")
    notice = booking.policy.min_notice_minutes * 60
    if not _is_window(consulate, service, starts_at, request.now, notice):
        # Offered once but too near now (the confirmation waited): the day's times again.
        return Result(outcome="taken" if starts_at > request.now else "invalid", values={"slot": ""})
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")  # asked for a time that can still be booked
    if _being_changed(request, consulate, service) is None and (
        len(bookings.upcoming_of(request.person_id, request.now)) >= booking.policy.max_upcoming
    ):
        return Result(outcome="limited", values={"max_upcoming": str(booking.policy.max_upcoming)})
    reminder = reminder_time(consulate, starts_at, booking.policy.reminder_hour)
    taken = bookings.book(
        request.person_id,
        consulate.id,
        service.id,
        starts_at,
        consulate.hours.slot_capacity,
        request.now,
        reminder if reminder > request.now else None,  # booked for tomorrow evening: no reminder needed
    )
    if taken is None:
        return Result(outcome="taken", values={"slot": ""})
    replaced = _being_changed(request, consulate, service)
    if replaced is not None and replaced.reference != taken.reference:
        bookings.cancel(request.person_id, replaced.reference, request.now)
    values = _confirmation_values(booking, taken.reference, service, consulate, starts_at, request.language)
    # Two SMS of one segment each rather than one of two: each arrives whole on any handset. By SMS the
    # answer itself is the confirmation.
    what_to_bring = Outgoing(request.phone, "appointment.bring", values, request.language, delay_seconds=BRING_AFTER)
    if request.channel == "sms":
        return Result(outcome="booked_sms", values=values, outgoing=(what_to_bring,))
    confirmation = Outgoing(request.phone, "appointment.confirmation", values, request.language)
    return Result(outcome="booked", values=values, outgoing=(confirmation, what_to_bring))


def cancel(request: Request, booking: Booking) -> Result:
    """CITA CANCELAR C4F9, or a number picked from the list: frees the place."""
    reference = _reference(request)
    gone = bookings.cancel(request.person_id, reference, request.now) if reference else None
    if gone is None:
        return Result(outcome="missing")
    return Result(outcome="cancelled", values={"ref": gone.reference})


def reschedule(request: Request, booking: Booking) -> Result:
    """Changing an appointment: the same service and consulate, a new day and time; the old one is freed
    only once the new one is booked."""
    reference = _reference(request)
    current = next((a for a in bookings.upcoming_of(request.person_id, request.now) if a.reference == reference), None)
    if current is None:
        return Result(outcome="missing")
    values = {"reschedule": current.reference, "service": current.service, "consulate": current.consulate}
    return Result(outcome="ok", values=values)


def reminders(now: float, booking: Booking) -> list[Outgoing]:
    """The day-before reminders that are due, each claimed once (the store marks them sent)."""
    due = []
    for appointment, phone, language in bookings.claim_due_reminders(now):
        consulate = booking.directory.by_id(appointment.consulate)
        service = booking.service(appointment.service)
        if consulate is None or service is None:
            continue  # removed from the configuration since: nothing sensible to remind of
        if local_day(consulate, appointment.starts_at) == local_day(consulate, now):
            continue  # claimed late (the service was down): "tomorrow" would be wrong, and it is too late
        lang = language or "es"
        values = _confirmation_values(booking, appointment.reference, service, consulate, appointment.starts_at, lang)
        due.append(Outgoing(phone, "appointment.reminder", values, language))
    return due


def nearest_first(request: Request, directory: Directory) -> list[Consulate]:
    """The person's network's consulates: the responsible one for their saved location (or their number),
    then the others by distance from where they are."""
    network = _network(request, directory)
    home = people.location_of(request.person_id)
    location = home[0] if home else None
    responsible = None
    if location:
        zip_code, state = zip_and_state(location)
        responsible = network.responsible(zip_code=zip_code, state=state)
    responsible = responsible or network.for_phone(request.phone)
    place = find_place(location) if location else None
    origin = (place.latitude, place.longitude) if place else None
    if origin is None and responsible is not None:
        origin = (responsible.latitude, responsible.longitude)
    return by_distance(network, responsible, origin)


def by_distance(network: Network, responsible: Consulate | None, origin: tuple[float, float] | None) -> list:
    """The responsible consulate first, then every other by distance from origin."""
    others = [c for c in network.consulates if c is not responsible]
    if origin is not None:
        others.sort(key=lambda c: distance_km(origin[0], origin[1], c.latitude, c.longitude))
    return ([responsible] if responsible else []) + others


# Helpers.


def _network(request: Request, directory: Directory) -> Network:
    return nationality.network_of(request, directory)


def _chosen(request: Request, booking: Booking) -> tuple[Consulate | None, Service | None]:
    consulate = booking.directory.by_id(request.data.get("consulate", ""))
    return consulate, booking.service(request.data.get("service", ""))


def _free_windows(request: Request, booking: Booking, consulate: Consulate, service: Service, day: date) -> list:
    """The windows of the day that start late enough and still have a place."""
    earliest = request.now + booking.policy.min_notice_minutes * 60
    windows = [w for w in windows_on(consulate, day, service.slot_minutes) if w >= earliest]
    if not windows:
        return []
    taken = bookings.booked_counts(consulate.id, service.id, windows[0], windows[-1] + 1)
    return [w for w in windows if taken.get(w, 0) < consulate.hours.slot_capacity]


def _being_changed(request: Request, consulate: Consulate, service: Service):
    """The person's upcoming appointment this booking replaces: the one chosen with "change", for the
    same consulate and service."""
    reference = request.data.get("reschedule")
    if not reference:
        return None
    upcoming = bookings.upcoming_of(request.person_id, request.now)
    old = next((a for a in upcoming if a.reference == reference), None)
    return old if old and (old.consulate, old.service) == (consulate.id, service.id) else None


def _number(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


def _is_window(consulate: Consulate, service: Service, starts_at: float, now: float, notice: float) -> bool:
    """Only a real window of the consulate's calendar, with the notice still respected, is booked (never a
    time the session carried over from elsewhere, a holiday or a closed hour)."""
    if starts_at < now + notice:
        return False
    return starts_at in windows_on(consulate, local_day(consulate, starts_at), service.slot_minutes)


def _pick(choice: str | None, values: list[str]) -> str | None:
    """The value a typed number stands for, if it is one of the numbers shown."""
    text = (choice or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= len(values) or not values[int(text) - 1]:
        return None
    return values[int(text) - 1]


def _reference(request: Request) -> str | None:
    """The booking a request means: its reference (after CITA CANCELAR, or typed on the screen), or its
    place in the list shown."""
    typed = (request.data.get("booking_text") or request.data.get("booking_choice") or "").strip().upper()
    if not typed:
        return None
    refs = request.data.get("booking_refs", "").split(",")
    # A place in the list is one or two digits; a reference has four (and may be all digits, like 3479).
    if typed.isascii() and typed.isdigit() and len(typed) < 3:
        return _pick(typed, refs)
    return typed.split()[-1]


def _numbered(items: list[str]) -> str:
    return "\n".join(f"{n} {item}" for n, item in enumerate(items, 1))


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


def _day_name(day: date, vocabulary: Vocabulary, language: str | None) -> str:
    """The weekday and the date as the reader writes it: "Lun 30/11", "Mon Nov 30"."""
    names = vocabulary.weekdays(language or "")
    shown = vocabulary.day(language or "", day)
    return f"{names[day.weekday()]} {shown}" if names else shown


def _summary(booking: Booking, service: Service, consulate: Consulate, starts_at: float, language: str) -> str:
    day = _day_name(local_day(consulate, starts_at), booking.vocabulary, language)
    name = name_for(consulate, language)
    return f"{service.name(language)}, {name}, {day} {local_datetime(consulate, starts_at)[-5:]}"


def _describe(appointment, booking: Booking, language: str) -> str:
    """One line of the person's list: "C4F9 Pasaporte 24/11 09:20 Houston"."""
    consulate = booking.directory.by_id(appointment.consulate)
    service = booking.service(appointment.service)
    name = service.name(language) if service else appointment.service
    if consulate is None:
        return f"{appointment.reference} {name}"
    day = booking.vocabulary.day(language, local_day(consulate, appointment.starts_at))
    time = local_datetime(consulate, appointment.starts_at)[-5:]
    return f"{appointment.reference} {name} {day} {time} {consulate.city}"


def _confirmation_values(
    booking: Booking, reference: str, service: Service, consulate: Consulate, starts_at: float, language: str
):
    day = _day_name(local_day(consulate, starts_at), booking.vocabulary, language)
    return {
        "ref": reference,
        "service": service.name(language),
        "when": f"{day} {local_datetime(consulate, starts_at)[-5:]}",
        "consulate_name": name_for(consulate, language),
        "address": consulate.address,
        "bring": service.what_to_bring(language),
    }
