"""ALERT and I'M SAFE: tell the trusted contacts and the responsible consulate, or tell them it is over."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.lifeline.limits import DAY, Limits
from handlers.lifeline.profile import normalise_location, zip_and_state
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Central, Consulate, Directory, local_date, local_datetime
from handlers.reference.names import names_match
from handlers.reference.numbers import read_number, region_of
from store import alerts, outbox, people, roster
from store import limits as limit_uses


@dataclass(frozen=True)
class AlertPolicy:
    grace_seconds: float = 0.0  # relays wait this long; a cancel within it sends nothing at all
    repeat_seconds: float = 300.0  # a repeat press sends at most one update per this interval
    escalate_after_seconds: float = 600.0  # unacknowledged this long: backup phones and central are paged


@dataclass(frozen=True)
class AlertTag:
    """The outbox tag of a message about an alert: its first relays ("alert:A7K2", what a cancel withdraws
    and the follow-up counts), or what was sent later ("alert:A7K2:later": updates, safe, escalation)."""

    reference: str
    later: bool = False

    def __str__(self) -> str:
        return f"alert:{self.reference}:later" if self.later else f"alert:{self.reference}"

    @classmethod
    def parse(cls, tag: str | None) -> AlertTag | None:
        """The alert a tag belongs to, or None for a message about something else."""
        if not tag or not tag.startswith("alert:"):
            return None
        reference, _, rest = tag.removeprefix("alert:").partition(":")
        return cls(reference, later=rest == "later")


def tag_of(reference: str) -> str:
    """The group of an alert's first relays."""
    return str(AlertTag(reference))


def later_tag_of(reference: str) -> str:
    """The group of everything sent about an alert after its relays."""
    return str(AlertTag(reference, later=True))


FINAL = {outbox.DELIVERED, outbox.UNDELIVERED, outbox.FAILED}
NOT_DELIVERED = {outbox.UNDELIVERED, outbox.FAILED}


def delivery_report(carrier: str, provider_message_id: str, status: str, now: float) -> tuple[list[Outgoing], bool]:
    """After a carrier's report on a message: a relay it could not deliver goes out once more through the
    other provider, before the person is told it was not received; once every relay of an alert has a final
    status, the person is told how many were received. Returns what to send, and whether anything was resent."""
    tag = AlertTag.parse(outbox.tag_of(carrier, provider_message_id))
    if tag is None or tag.later:
        return [], False
    resent = status in NOT_DELIVERED and outbox.resend_elsewhere(carrier, provider_message_id, now)
    return _followup(tag.reference, now), resent


def _followup(reference: str, now: float) -> list[Outgoing]:
    """Once every relay of an alert has a final status: tells the person how many were received."""
    alert = alerts.by_reference(reference)
    recipients = {
        to: [s for s in statuses if s != outbox.CANCELLED]
        for to, statuses in outbox.statuses_by_recipient(tag_of(reference)).items()
    }
    recipients = {to: statuses for to, statuses in recipients.items() if statuses}
    every_status = [s for statuses in recipients.values() for s in statuses]
    if alert is None or alert.person_id is None or not recipients or not FINAL.issuperset(every_status):
        return []
    if not alerts.claim_followup(alert, now):
        return []
    person, language = alerts.phone_of_raiser(alert)
    received = sum(outbox.DELIVERED in statuses for statuses in recipients.values())
    values = {"ref": alert.reference, "received": str(received), "total": str(len(recipients))}
    return [Outgoing(person, "alert.followup", values, language)]


def raise_alert(request: Request, directory: Directory, policy: AlertPolicy, limits: Limits) -> Result:
    """Creates the alert and its relays; a second press while one is open updates it instead."""
    note = request.data.get("alert_text") or None
    current = alerts.open_alert_of(request.person_id)
    if current is not None:
        return _repeat(request, current, note, policy)
    if limit_uses.used_since(request.phone, limit_uses.ALERT, request.now - DAY) >= limits.alerts_per_day:
        return Result(outcome="limited")
    limit_uses.count_use(request.phone, limit_uses.ALERT, request.now)
    home = people.location_of(request.person_id)
    office = _responsible(directory, request.person_id, request.phone, home[0] if home else None)
    contacts = people.contacts_of(request.person_id)
    alert = alerts.raise_alert(request.person_id, note, office.id, request.now)
    alerts.record_told(alert, len(contacts))
    # Where: the home location they gave (with the day it was last updated) and what they typed.
    place = f"{home[0]} ({local_date(office, home[1])})" if home else None
    values = {
        "ref": alert.reference,
        "who": _who(request.person_id, request.phone),
        "when": local_datetime(office, request.now),
        "where": ", ".join(part for part in (place, note) if part) or "?",
    }
    tag = tag_of(alert.reference)
    relays = [Outgoing(c.phone, "alert.relay_contact", values, c.language, tag, policy.grace_seconds) for c in contacts]
    relays += [
        Outgoing(p, "alert.relay_duty", values, None, tag, policy.grace_seconds) for p in _paged(office, request.now)
    ]
    shown = {"ref": alert.reference, "contact_count": str(len(contacts)), "consulate": _office_name(office)}
    # Someone with no known location is asked for one at once (the flow decides how).
    outcome = "raised" if home else "raised_unlocated"
    return Result(outcome=outcome, values=shown, outgoing=tuple(relays))


def raise_for(request: Request, directory: Directory, policy: AlertPolicy, limits: Limits) -> Result:
    """ALERTA POR <number>: a trusted contact raises the alert for a person who cannot (detained, no phone).
    The consulate and the person's other contacts are told who raised it; the person's phone is told too."""
    found = _person_named(request)
    if isinstance(found, str):
        return Result(outcome=found)
    person_id, number = found
    if alerts.open_alert_of(person_id) is not None:
        return Result(outcome="already_open")
    if limit_uses.used_since(request.phone, limit_uses.ALERT, request.now - DAY) >= limits.alerts_per_day:
        return Result(outcome="limited")
    limit_uses.count_use(request.phone, limit_uses.ALERT, request.now)
    home = people.location_of(person_id)
    office = _responsible(directory, person_id, number, home[0] if home else None)
    alert = alerts.raise_alert(person_id, None, office.id, request.now)
    others = [c for c in people.contacts_of(person_id) if c.phone != request.phone]
    alerts.record_told(alert, len(others))
    place = f"{home[0]} ({local_date(office, home[1])})" if home else "?"
    values = {
        "ref": alert.reference,
        "who": number,
        "by": request.phone,
        "where": place,
        "when": local_datetime(office, request.now),
    }
    tag = tag_of(alert.reference)
    relays = [Outgoing(c.phone, "alert.behalf_contact", values, c.language, tag, policy.grace_seconds) for c in others]
    relays += [
        Outgoing(p, "alert.behalf_duty", values, None, tag, policy.grace_seconds) for p in _paged(office, request.now)
    ]
    relays.append(Outgoing(number, "alert.behalf_person", values, tag=later_tag_of(alert.reference)))
    shown = {
        "ref": alert.reference,
        "contact_count": str(len(others)),
        "consulate": _office_name(office),
        "who": number,
    }
    return Result(outcome="raised", values=shown, outgoing=tuple(relays))


def _person_named(request: Request) -> tuple[int, str] | str:
    """The person ALERTA POR names, by number or by the name they gave, among those who listed the sender;
    else the outcome to answer: only someone the person trusted may speak for them."""
    typed = request.data.get("behalf_text", "")
    number = read_number(typed, request.region)
    if number:
        person_id = people.person_with_number(number)
        if person_id is None or not people.listed_as_contact(person_id, request.phone):
            return "not_contact"
        return person_id, number
    named = [p for p in people.people_who_listed(request.phone) if p.name and names_match(typed, p.name)]
    if len(named) > 1:
        return "ambiguous"  # two people with that name listed the sender: the number tells them apart
    return (named[0].person_id, named[0].phone) if named else "not_contact"


def drill(request: Request, directory: Directory, limits: Limits) -> Result:
    """A practice alert: contacts get a relay marked as a drill, the consulate is not paged, and the
    person sees what a real alert would do."""
    if limit_uses.used_since(request.phone, limit_uses.DRILL, request.now - DAY) >= limits.drills_per_day:
        return Result(outcome="limited")
    limit_uses.count_use(request.phone, limit_uses.DRILL, request.now)
    home = people.location_of(request.person_id)
    office = _responsible(directory, request.person_id, request.phone, home[0] if home else None)
    contacts = people.contacts_of(request.person_id)
    practice = alerts.raise_alert(request.person_id, None, office.id, request.now, status=alerts.DRILL)
    values = {"ref": practice.reference, "who": _who(request.person_id, request.phone)}
    relays = tuple(Outgoing(c.phone, "alert.drill_contact", values, c.language) for c in contacts)
    shown = {"ref": practice.reference, "contact_count": str(len(contacts)), "consulate": _office_name(office)}
    return Result(outcome="drilled", values=shown, outgoing=relays)


def locate_alert(request: Request, directory: Directory) -> Result:
    """The location given right after raising an alert: the consulate that was told gets it."""
    current = alerts.open_alert_of(request.person_id)
    location = normalise_location(request.data.get("location", ""))
    if current is None or not location:
        return Result(outcome="none")
    alerts.set_location(current, location, request.now)
    if people.has_consented(request.person_id):
        people.set_location(request.person_id, location, request.now)
    office = _office(directory, current.consulate)
    values = {"ref": current.reference, "who": _who(request.person_id, request.phone), "where": location}
    tag = later_tag_of(current.reference)
    told = tuple(Outgoing(phone, "alert.located", values, tag=tag) for phone in _paged(office, request.now))
    return Result(outcome="located", values={"ref": current.reference}, outgoing=told)


def _responsible(directory: Directory, person_id: int, phone: str, home: str | None) -> Consulate | Central:
    """In the network of the person's nationality: the consulate for where they live, else for their
    number's area code, else the network's central."""
    network = directory.network_for(people.nationality_of(person_id) or region_of(phone))
    if home:
        zip_code, state = zip_and_state(home)
        consulate = network.responsible(zip_code=zip_code, state=state)
        if consulate is not None:
            return consulate
    return network.for_phone(phone) or network.central


def _office(directory: Directory, office_id: str) -> Consulate | Central:
    """The office an alert recorded: a consulate id, or a network's central ("central:MX")."""
    return directory.by_id(office_id) or directory.central_for(office_id)


def _paged(office: Consulate | Central, now: float) -> tuple[str, ...]:
    """The phones an alert pages first: a consulate's duty phones and whoever its roster has on duty, or
    the central's."""
    if not isinstance(office, Consulate):
        return office.phones
    return tuple(dict.fromkeys((*office.duty_phones, *roster.on_duty(office.id, now))))


MAX_PIN_TRIES = 3


def cancel_alert(request: Request, directory: Directory) -> Result:
    """Withdraws what has not left; tells everyone already told that the person is safe.

    With PINs set, the safety PIN cancels. The duress PIN, or a wrong PIN three times, answers
    exactly as a cancel would, but tells only the consulate, and keeps the alert open.
    """
    current = alerts.open_alert_of(request.person_id)
    if current is None:
        return Result(outcome="none")
    if people.has_pins(request.person_id):
        pin = request.data.get("pin")
        if pin is None:
            return Result(outcome="pin_required")
        verdict = people.check_pin(request.person_id, pin)
        tries = int(request.data.get("pin_tries", "0")) + 1
        if verdict == "wrong" and tries < MAX_PIN_TRIES:
            return Result(outcome="pin_wrong", values={"pin_tries": str(tries), "pin": ""})
        if verdict != "safety":
            return _under_duress(request, current, directory)
    return _cancel(request, current)


def _under_duress(request: Request, current, directory: Directory) -> Result:
    """The same answer as a cancel on the phone; only the consulate learns it was forced."""
    alerts.record_duress(current, request.now)
    office = _office(directory, current.consulate)
    values = {"ref": current.reference, "who": _who(request.person_id, request.phone)}
    told = tuple(
        Outgoing(to, "alert.duress", values, tag=later_tag_of(current.reference)) for to in _paged(office, request.now)
    )
    return Result(outcome="cancelled", values={"ref": current.reference}, outgoing=told)


def _cancel(request: Request, current) -> Result:
    tag = tag_of(current.reference)
    outbox.withdraw(tag, request.now)
    outbox.withdraw(later_tag_of(current.reference), request.now)  # a pending update too
    told = outbox.recipients_told(tag)
    alerts.cancel(current, request.now)
    values = {"ref": current.reference, "who": _who(request.person_id, request.phone)}
    safe = tuple(Outgoing(to, "alert.safe", values, tag=later_tag_of(current.reference)) for to in told)
    return Result(outcome="cancelled", values={"ref": current.reference}, outgoing=safe)


def _repeat(request: Request, current, note: str | None, policy: AlertPolicy) -> Result:
    """A second press: keep the alert, send one short update at most once per interval."""
    last = current.update_sent_at or current.created_at
    due = request.now - last >= policy.repeat_seconds
    told = outbox.recipients_told(tag_of(current.reference)) if due else []
    values = {
        "ref": current.reference,
        "who": _who(request.person_id, request.phone),
        "note": note or current.note or "",
    }
    update = tuple(Outgoing(to, "alert.update", values, tag=later_tag_of(current.reference)) for to in told)
    alerts.record_update(current, note, bool(update), request.now)
    return Result(outcome="updated", values={"ref": current.reference}, outgoing=update)


def _who(person_id: int | None, phone: str) -> str:
    """Who is asking: their name when they gave one, and always their number."""
    name = people.name_of(person_id)
    return f"{name} ({phone})" if name else phone


def _office_name(office) -> str:
    return getattr(office, "short_name", None) or office.name


def escalations(now: float, directory: Directory, policy: AlertPolicy) -> list[Outgoing]:
    """Pages backup phones and the central number for alerts nobody acknowledged, and reminds the duty
    phones; each alert once. Runs from the store, so it survives restarts."""
    pages: list[Outgoing] = []
    for alert in alerts.due_for_escalation(now, policy.escalate_after_seconds):
        if not alerts.mark_escalated(alert, now):
            continue  # another server process took it
        office = _office(directory, alert.consulate)
        central = directory.central_for(alert.consulate)
        phone, _ = alerts.phone_of_raiser(alert)
        values = {
            "ref": alert.reference,
            "who": _who(alert.person_id, phone),
            "when": local_datetime(office, alert.created_at),
        }
        tag = later_tag_of(alert.reference)
        backups = [*(office.backup_phones if isinstance(office, Consulate) else ()), *central.phones]
        pages += [Outgoing(phone, "alert.escalated", values, tag=tag) for phone in dict.fromkeys(backups)]
        duty = _paged(office, now) if isinstance(office, Consulate) else ()
        pages += [Outgoing(phone, "alert.reminder", values, tag=tag) for phone in duty]
    return pages
