"""ALERT and I'M SAFE: tell the trusted contacts and the responsible consulate, keep everyone told informed
(the place given later, the acknowledgement, the cancel or the close), and let the person answer the
officer who wrote to them."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.lifeline.limits import DAY, Limits
from handlers.outcome import Outgoing, Request, Result
from handlers.reference.consulates import Central, Consulate, Directory, local_moment, name_for
from handlers.reference.names import names_match
from handlers.reference.numbers import read_number, region_of
from handlers.reference.places import Place, find_place
from handlers.reference.text import words
from handlers.reference.vocabulary import Vocabulary
from store import alerts, outbox, people, roster
from store import limits as limit_uses


@dataclass(frozen=True)
class AlertPolicy:
    grace_seconds: float = 0.0  # relays wait this long; a cancel within it sends nothing at all
    repeat_seconds: float = 300.0  # contacts get at most one update of a repeat press per this interval
    escalate_after_seconds: float = 600.0  # unacknowledged this long: backup phones and central are paged
    reply_window_minutes: float = 30.0  # after an officer's R, the person's texts go to that officer this long
    summary_after_seconds: float = 900.0  # where carriers send no delivery reports, the summary comes this late


@dataclass(frozen=True)
class AlertTag:
    """The outbox tag of a message about an alert: its relays ("alert:A7K2", what a cancel withdraws, the
    follow-up counts and later news goes to), or what was sent later ("alert:A7K2:later")."""

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
    """The group of an alert's relays."""
    return str(AlertTag(reference))


def later_tag_of(reference: str) -> str:
    """The group of everything sent about an alert after its relays."""
    return str(AlertTag(reference, later=True))


FINAL = {outbox.DELIVERED, outbox.UNDELIVERED, outbox.FAILED}
NOT_DELIVERED = {outbox.UNDELIVERED, outbox.FAILED}
LEAVING = {outbox.PENDING, outbox.SENDING}

# A relay is at most two SMS segments: what people typed is cut at a word to fit, never the fixed words.
RELAY_SEGMENTS = 2
TYPED = ("note", "answer", "reply", "where", "home")
NAMES_SHOWN = 2  # contacts named in a confirmation; more are counted ("Maria, Jose +3")
OPEN_SHOWN = 5  # open references in the officers' help


def relay(
    to: str,
    key: str,
    values: dict,
    language: str | None = None,
    tag: str | None = None,
    delay: float = 0.0,
    localized: dict | None = None,
) -> Outgoing:
    """A message about an alert, kept within RELAY_SEGMENTS; urgent: it outlives a carrier outage."""
    return Outgoing(
        to,
        key,
        values,
        language,
        tag,
        delay,
        urgent=True,
        max_segments=RELAY_SEGMENTS,
        shorten=TYPED,
        localized=localized or {},
    )


def for_readers(vocabulary: Vocabulary, office, at: float | None = None) -> dict[str, dict[str, str]]:
    """What a relay writes in its reader's conventions, by language: the office's name, and (given a time)
    one date and time on the office's clock, its zone named ("25/11 12:54 CST", "Nov 25, 12:54 PM CST")."""
    moment = local_moment(office, at) if at is not None else None
    return {
        language: {"consulate": name_for(office, language)}
        | ({"when": vocabulary.moment(language, moment)} if moment else {})
        for language in vocabulary.languages
    }


def _written(vocabulary: Vocabulary, office, at: float) -> str:
    """The date and time for a reader whose language has no conventions of its own: day first, 24 hours."""
    return vocabulary.moment("", local_moment(office, at))


@dataclass(frozen=True)
class Recipient:
    """Someone an alert's relays reached: a contact of the person (in their language) or a consulate phone."""

    phone: str
    language: str | None
    officer: bool


def told_about(alert, directory: Directory, now: float, pending: bool = True) -> list[Recipient]:
    """Everyone the alert's relays reached (or, with pending, are about to reach), and the consulate phones
    paged later (an escalation's backup and central phones), once each."""
    contacts = {c.phone: c for c in people.contacts_of(alert.person_id)} if alert.person_id else {}
    officers = directory.duty_phones()

    def is_officer(phone: str) -> bool:
        return phone not in contacts and (phone in officers or roster.is_on_duty(phone, now))

    relayed = outbox.recipients_told(tag_of(alert.reference), pending=pending)
    paged_later = [p for p in outbox.recipients_told(later_tag_of(alert.reference), pending) if is_officer(p)]
    everyone = [
        Recipient(phone, contacts[phone].language if phone in contacts else None, is_officer(phone))
        for phone in dict.fromkeys([*relayed, *paged_later])
    ]
    # Once the person erased themselves their contacts are theirs no more to write to: the consulate only.
    return everyone if alert.person_id else [r for r in everyone if r.officer]


def news(
    alert,
    directory: Directory,
    now: float,
    keys: tuple[str, str],
    values: dict,
    but: str = "",
    localized: dict | None = None,
) -> list[Outgoing]:
    """One message to everyone told (except `but`): keys are (for contacts, for officers)."""
    return [
        relay(r.phone, keys[r.officer], values, r.language, later_tag_of(alert.reference), localized=localized)
        for r in told_about(alert, directory, now)
        if r.phone != but
    ]


def delivery_report(carrier: str, provider_message_id: str, status: str, now: float) -> tuple[list[Outgoing], bool]:
    """After a carrier's report on a message: a relay it could not deliver goes out once more through the
    other provider, before the person is told it was not received; once every relay of an alert has a final
    status, the person is told how many were received. Returns what to send, and whether anything was resent."""
    tag = AlertTag.parse(outbox.tag_of(carrier, provider_message_id))
    if tag is None or tag.later:
        return [], False
    resent = status in NOT_DELIVERED and outbox.resend_elsewhere(carrier, provider_message_id, now)
    alert = alerts.by_reference(tag.reference)
    return (_summary(alert, now, reported=True) if alert else []), resent


def summaries(now: float, policy: AlertPolicy) -> list[Outgoing]:
    """Open alerts whose relays have left but not all been reported on: the person is told what is known,
    "sent" where the carrier gave no report. Each alert once."""
    found: list[Outgoing] = []
    for alert in alerts.summaries_due(now, policy.summary_after_seconds, DAY):
        if alert.status == alerts.OPEN:
            found += _summary(alert, now, reported=False)
    return found


def _summary(alert, now: float, reported: bool) -> list[Outgoing]:
    """ "N of M received": received counts delivery reports only. Sent when every relay has a final report,
    or (not reported) once none is still leaving."""
    if alert.person_id is None or alert.status != alerts.OPEN or alert.duress_at is not None:
        return []  # the person said they are safe (or seemed to): no news about the relays
    recipients = {
        to: [s for s in statuses if s != outbox.CANCELLED]
        for to, statuses in outbox.statuses_by_recipient(tag_of(alert.reference)).items()
    }
    recipients = {to: statuses for to, statuses in recipients.items() if statuses}
    every_status = {s for statuses in recipients.values() for s in statuses}
    if not recipients or (reported and not FINAL.issuperset(every_status)) or every_status & LEAVING:
        return []
    if not alerts.claim_followup(alert, now):
        return []
    received = [to for to, statuses in recipients.items() if outbox.DELIVERED in statuses]
    sent = [to for to, statuses in recipients.items() if to not in received and outbox.SENT in statuses]
    missed = [c for c in people.contacts_of(alert.person_id) if c.phone in recipients and c.phone not in received]
    person, language = alerts.phone_of_raiser(alert)
    values = {
        "ref": alert.reference,
        "received": str(len(received)),
        "total": str(len(recipients)),
        "sent": str(len(sent)) if sent else "",
        "missed": _names([c for c in missed if c.phone not in sent]),
    }
    return [Outgoing(person, "alert.followup", values, language)]


def raise_alert(
    request: Request, directory: Directory, policy: AlertPolicy, limits: Limits, vocabulary: Vocabulary | None = None
) -> Result:
    """Creates the alert and its relays; a second press while one is open updates it instead.

    Limits protect the contacts: beyond them the consulate is still paged, told how many alerts came
    from the number today.
    """
    note = request.data.get("alert_text") or None
    current = alerts.open_alert_of(request.person_id)
    if current is not None:
        return _repeat(request, current, note, directory, policy)
    today = _count_alert(request)
    limited = today > limits.alerts_per_day
    home = people.location_of(request.person_id)
    office = _responsible(directory, request.person_id, request.phone, home[0] if home else None)
    # After a cancel under duress the phone sees a new alert, as after any cancel; the consulate is told
    # the earlier one is still open.
    forced = alerts.open_under_duress(request.person_id)
    alert = alerts.raise_alert(request.person_id, note, office.id, request.now, duress_reason=_earlier(forced))
    contacts = [] if limited else people.contacts_of(request.person_id)
    unreachable = outbox.unreachable([c.phone for c in contacts])
    alerts.record_told(alert, len(contacts) - len(unreachable))
    vocabulary = vocabulary or Vocabulary()
    values = {
        **_relay_values(alert, office, request.phone, vocabulary),
        "today": str(today) if limited else "",
        "earlier": forced.reference if forced else "",
    }
    readers = for_readers(vocabulary, office, alert.created_at)
    tag = tag_of(alert.reference)
    relays = [
        relay(c.phone, "alert.relay_contact", values, c.language, tag, policy.grace_seconds, readers) for c in contacts
    ]
    duty_key = "alert.relay_duty_duress" if forced else "alert.relay_duty"
    relays += [relay(p, duty_key, values, None, tag, policy.grace_seconds, readers) for p in paged(office, request.now)]
    shown = {
        "ref": alert.reference,
        "contact_count": _count(len(contacts) - len(unreachable)),
        "consulate": name_for(office, request.language),
        "unreachable": _names([c for c in contacts if c.phone in unreachable]),
    }
    # Someone with no contact at all learns how to add family; someone with no known location is asked
    # for one at once (the flow decides how).
    kind = "raised_limited" if limited else "raised_alone" if not contacts else "raised"
    outcome = kind + ("" if home else "_unlocated")
    return Result(outcome=outcome, values=shown, outgoing=tuple(relays))


def _earlier(forced) -> str | None:
    """The duress reason of an alert raised while an earlier one of the person is under duress."""
    return alerts.EARLIER if forced is not None else None


def _count_alert(request: Request) -> int:
    """Counts an alert raised from this number; returns which of the day it is (1 for the first). Counted
    by the number, so erasing the person does not start a fresh day."""
    today = limit_uses.used_since(request.phone, limit_uses.ALERT, request.now - DAY) + 1
    limit_uses.count_use(request.phone, limit_uses.ALERT, request.now)
    return today


def raise_for(
    request: Request, directory: Directory, policy: AlertPolicy, limits: Limits, vocabulary: Vocabulary | None = None
) -> Result:
    """ALERTA POR <number>: a trusted contact raises the alert for a person who cannot (detained, no phone).
    The consulate and the person's other contacts are told who raised it; the person's phone is told too.
    From a number nobody listed, "ALERTA POR la migra" is the sender's own cry for help."""
    typed = request.data.get("behalf_text", "")
    found = _person_named(request)
    if (
        found == "not_contact"
        and not read_number(typed, request.region)
        and not people.people_who_listed(request.phone)
    ):
        return Result(outcome="own", values={"alert_text": typed})
    if isinstance(found, str):
        return Result(outcome=found)
    person_id, number = found
    if alerts.open_alert_of(person_id) is not None:
        return Result(outcome="already_open")
    today = _count_alert(request)
    limited = today > limits.alerts_per_day  # the consulate is paged; nobody else
    home = people.location_of(person_id)
    office = _responsible(directory, person_id, number, home[0] if home else None)
    forced = alerts.open_under_duress(person_id)  # the person's phone was shown it cancelled
    alert = alerts.raise_alert(person_id, None, office.id, request.now, duress_reason=_earlier(forced))
    others = [] if limited else [c for c in people.contacts_of(person_id) if c.phone != request.phone]
    alerts.record_told(alert, len(others))
    vocabulary = vocabulary or Vocabulary()
    values = {
        "ref": alert.reference,
        "who": who(person_id, number),
        "by": request.phone,
        "home": home[0] if home else "",
        "when": _written(vocabulary, office, request.now),
        "today": str(today) if limited else "",
        "earlier": forced.reference if forced else "",
    }
    readers = for_readers(vocabulary, office, request.now)
    tag = tag_of(alert.reference)
    relays = [
        relay(c.phone, "alert.behalf_contact", values, c.language, tag, policy.grace_seconds, readers) for c in others
    ]
    duty_key = "alert.behalf_duty_duress" if forced else "alert.behalf_duty"
    relays += [relay(p, duty_key, values, None, tag, policy.grace_seconds, readers) for p in paged(office, request.now)]
    if not limited:
        relays.append(Outgoing(number, "alert.behalf_person", values, tag=later_tag_of(alert.reference), urgent=True))
    shown = {
        "ref": alert.reference,
        "contact_count": _count(len(others)),
        "consulate": name_for(office, request.language),
        "who": who(person_id, number),
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
    values = {"ref": practice.reference, "who": who(request.person_id, request.phone)}
    relays = tuple(Outgoing(c.phone, "alert.drill_contact", values, c.language) for c in contacts)
    shown = {
        "ref": practice.reference,
        "contact_count": _count(len(contacts)),
        "consulate": name_for(office, request.language),
    }
    return Result(outcome="drilled" if contacts else "drilled_alone", values=shown, outgoing=relays)


def locate_alert(request: Request, directory: Directory, vocabulary: Vocabulary | None = None) -> Result:
    """Where the person is, as they give it, right after the alert: a ZIP, a city or a state becomes a place
    (and may page the consulate responsible for it with the whole alert); anything else is relayed as
    written. A lone number that is no ZIP is asked again, once. Everyone told hears it."""
    current = alerts.open_alert_of(request.person_id)
    typed = " ".join(request.data.get("alert_location", "").split())
    if current is None or not typed:
        return Result(outcome="none")
    place = _place_named(typed)
    if place is None and typed.isdigit() and not request.data.get("location_again"):
        return Result(outcome="again", values={"location_again": "1"})
    where = typed if place is None else place.label if len(words(typed)) <= 3 else f"{place.label} - {typed}"
    alerts.set_location(current, where, request.now)
    if place is not None and people.has_consented(request.person_id):
        people.set_location(request.person_id, place.zip_code if place.kind == "zip" else place.label, request.now)
    current.location = where  # as now stored
    vocabulary = vocabulary or Vocabulary()
    office = office_of(directory, current.consulate)
    values = {"ref": current.reference, "who": who(request.person_id, request.phone), "where": where}
    responsible = _responsible_for(directory, request.person_id, request.phone, place) if place else None
    newly: tuple[str, ...] = ()
    outgoing = []
    readers: dict = {}
    if responsible is not None and responsible.id != office.id:
        # The place is another consulate's: it gets the whole alert, and may act on it from now on.
        alerts.move_to(current, responsible.id, request.now)
        newly = paged(responsible, request.now)
        whole = _relay_values(current, responsible, request.phone, vocabulary)
        alert_readers = for_readers(vocabulary, responsible, current.created_at)
        tag = tag_of(current.reference)
        outgoing += [relay(p, "alert.relay_duty", whole, None, tag, localized=alert_readers) for p in newly]
        values["consulate"] = name_for(responsible, None)
        readers = for_readers(vocabulary, responsible)
    keys = ("alert.located", "alert.located")
    located = news(current, directory, request.now, keys, values, localized=readers)
    outgoing += [message for message in located if message.to not in newly]
    return Result(outcome="located", values={"ref": current.reference}, outgoing=tuple(outgoing))


def _place_named(typed: str) -> Place | None:
    """The place the text names, only when the person typed its name (or its ZIP): a guess from a typo
    ("carcel" for Carmel, IN) must never move an alert to another consulate."""
    place = find_place(typed)
    if place is None or place.kind == "zip":
        return place
    typed_words = set(words(typed))
    name = place.label.split(",")[0]
    return place if set(words(name)) <= typed_words or place.state in typed_words else None


def answer_consulate(request: Request, policy: AlertPolicy) -> Result:
    """The person's text after an officer's R: it goes to that officer with the reference, and is kept with
    the case."""
    since = request.now - policy.reply_window_minutes * 60
    waiting = alerts.awaiting_answer(request.person_id, since)
    text = request.data.get("answer_text", "").strip()
    if waiting is None or not text:
        return Result(outcome="none")
    alert, officer, _ = waiting
    alerts.add_answer(alert, request.phone, text, request.now)
    values = {"ref": alert.reference, "who": who(request.person_id, request.phone), "answer": text}
    answer = relay(officer, "alert.answer", values, tag=later_tag_of(alert.reference))
    return Result(outcome="sent", values={"ref": alert.reference}, outgoing=(answer,))


def awaits_answer(phone: str, now: float, policy: AlertPolicy) -> float | None:
    """When an officer wrote to this number, if within the reply window and about an alert still open."""
    person_id = people.person_with_number(phone)
    since = now - policy.reply_window_minutes * 60
    return alerts.last_officer_reply(person_id, since) if person_id is not None else None


def to_new_contact(
    person_id: int,
    phone: str,
    contact_phone: str,
    language: str | None,
    directory: Directory | None,
    vocabulary: Vocabulary | None = None,
) -> list[Outgoing]:
    """A contact added while an alert is open receives it at once."""
    current = alerts.open_alert_of(person_id)
    if current is None or directory is None:
        return []
    vocabulary = vocabulary or Vocabulary()
    office = office_of(directory, current.consulate)
    values = _relay_values(current, office, phone, vocabulary)
    readers = for_readers(vocabulary, office, current.created_at)
    return [relay(contact_phone, "alert.relay_contact", values, language, tag_of(current.reference), localized=readers)]


def _relay_values(alert, office, phone: str, vocabulary: Vocabulary) -> dict:
    """Who, where and when, and what they wrote: the whole alert, for a relay. Where they said they are;
    else where they live, said as such; one date and time, the alert's."""
    return {
        "ref": alert.reference,
        "who": who(alert.person_id, phone),
        **_where(alert),
        "when": _written(vocabulary, office, alert.created_at),
        "note": alert.note or "",
    }


def _where(alert) -> dict[str, str]:
    """The place the person gave with the alert ("where"), else the home location they saved ("home")."""
    if alert.location:
        return {"where": alert.location, "home": ""}
    home = people.location_of(alert.person_id) if alert.person_id else None
    return {"where": "", "home": home[0] if home else ""}


def _responsible(directory: Directory, person_id: int, phone: str, home: str | None) -> Consulate | Central:
    """In the network of the person's nationality: the consulate for where they live, else for their
    number's area code, else the network's central."""
    network = directory.network_for(people.nationality_of(person_id) or region_of(phone))
    place = find_place(home) if home else None
    consulate = _responsible_for(directory, person_id, phone, place) if place else None
    return consulate or network.for_phone(phone) or network.central


def _responsible_for(directory: Directory, person_id: int, phone: str, place: Place) -> Consulate | None:
    network = directory.network_for(people.nationality_of(person_id) or region_of(phone))
    return network.responsible(zip_code=place.zip_code, state=place.state)


def office_of(directory: Directory, office_id: str) -> Consulate | Central:
    """The office an alert recorded: a consulate id, or a network's central ("central:MX")."""
    return directory.by_id(office_id) or directory.central_for(office_id)


def paged(office: Consulate | Central, now: float) -> tuple[str, ...]:
    """The phones an alert pages first: a consulate's duty phones and whoever its roster has on duty, or
    the central's."""
    if not isinstance(office, Consulate):
        return office.phones
    return tuple(dict.fromkeys((*office.duty_phones, *roster.on_duty(office.id, now))))


MAX_PIN_TRIES = 3


def cancel_alert(request: Request, directory: Directory) -> Result:
    """Withdraws what has not left; tells everyone already told that the person is safe.

    On USSD one key would cancel: the person confirms first (args or data `cancel_confirmed`). With PINs
    set, the safety PIN cancels. The emergency PIN, or a wrong PIN three times, answers exactly as a cancel
    would and the phone goes on seeing the alert as cancelled, but the consulate is told why, and the alert
    stays open for it.
    """
    current = alerts.open_alert_of(request.person_id)
    if current is None:
        return Result(outcome="none")
    confirmed = {"cancel_confirmed": "1"}
    if request.channel == "ussd" and not (request.args.get("cancel_confirmed") or request.data.get("cancel_confirmed")):
        return Result(outcome="confirm", values={"ref": current.reference})
    if people.pins_hidden(request.person_id):  # the emergency PIN "removed" the PINs: no cancel is real now
        return _under_duress(request, current, directory, alerts.DURESS_PIN, "alert.duress")
    if people.has_pins(request.person_id):
        pin = request.data.get("pin")
        if pin is None:
            return Result(outcome="pin_required", values=confirmed)
        verdict = people.check_pin(request.person_id, pin)
        tries = int(request.data.get("pin_tries", "0")) + 1
        if verdict == "wrong" and tries < MAX_PIN_TRIES:
            return Result(outcome="pin_wrong", values={"pin_tries": str(tries), "pin": "", **confirmed})
        if verdict == "duress":
            return _under_duress(request, current, directory, alerts.DURESS_PIN, "alert.duress")
        if verdict == "wrong":
            return _under_duress(request, current, directory, alerts.PIN_TRIES, "alert.pin_tries")
    return _cancel(request, current, directory)


def _under_duress(request: Request, current, directory: Directory, reason: str, key: str) -> Result:
    """The same answer as a cancel on the phone; only the consulate learns why it may have been forced.
    The family hears nothing: the alert is not over."""
    alerts.record_duress(current, reason, request.now)
    values = {"ref": current.reference, "who": who(request.person_id, request.phone)}
    later = later_tag_of(current.reference)
    told = tuple(Outgoing(to, key, values, tag=later, urgent=True) for to in _officers(current, directory, request.now))
    return Result(outcome="cancelled", values={"ref": current.reference}, outgoing=told)


def pins_forced(person_id: int, phone: str, directory: Directory, now: float) -> list[Outgoing]:
    """The emergency PIN changed or removed the PINs: the consulate of the person's open alert (one under
    duress first) is told; with no alert open there is nobody to tell."""
    current = alerts.open_under_duress(person_id) or alerts.open_alert_of(person_id)
    if current is None or directory is None:
        return []
    values = {"ref": current.reference, "who": who(person_id, phone)}
    later = later_tag_of(current.reference)
    officers = _officers(current, directory, now)
    return [Outgoing(to, "alert.duress_pins", values, tag=later, urgent=True) for to in officers]


def _officers(alert, directory: Directory, now: float) -> list[str]:
    """Every consulate phone that heard of the alert (escalations too), and whoever is on duty for it now."""
    told = [r.phone for r in told_about(alert, directory, now) if r.officer]
    return list(dict.fromkeys([*told, *paged(office_of(directory, alert.consulate), now)]))


def _cancel(request: Request, current, directory: Directory) -> Result:
    outbox.withdraw(tag_of(current.reference), request.now)
    outbox.withdraw(later_tag_of(current.reference), request.now)  # a pending update too
    told = told_about(current, directory, request.now, pending=False)
    alerts.cancel(current, request.now)
    values = {"ref": current.reference, "who": who(request.person_id, request.phone)}
    later = later_tag_of(current.reference)
    safe = tuple(Outgoing(r.phone, "alert.safe", values, r.language, later, urgent=True) for r in told)
    return Result(outcome="cancelled", values={"ref": current.reference}, outgoing=safe)


def _repeat(request: Request, current, note: str | None, directory: Directory, policy: AlertPolicy) -> Result:
    """A second press is never silent: the consulate's phones get the new text (or that the person still
    asks for help) every time; contacts at most once per repeat_seconds."""
    office = office_of(directory, current.consulate)
    told = told_about(current, directory, request.now)
    officers = dict.fromkeys([*(r.phone for r in told if r.officer), *paged(office, request.now)])
    due = request.now - (current.update_sent_at or current.created_at) >= policy.repeat_seconds
    contacts = [r for r in told if not r.officer] if due else []
    home = people.location_of(request.person_id)
    values = {
        "ref": current.reference,
        "who": who(request.person_id, request.phone),
        **_where(current),
        "note": note or "",
    }
    later = later_tag_of(current.reference)
    update = [relay(phone, "alert.update", values, None, later) for phone in officers]
    # Contacts may have missed earlier presses: they get the latest text.
    latest = {**values, "note": note or current.note or ""}
    update += [relay(r.phone, "alert.update", latest, r.language, later) for r in contacts]
    alerts.record_update(current, note, bool(contacts), request.now)
    shown = {
        "ref": current.reference,
        "consulate": name_for(office, request.language),
        "contact_count": _count(len(contacts)),
    }
    outcome = "updated" if current.location or home else "updated_unlocated"
    return Result(outcome=outcome, values=shown, outgoing=tuple(update))


def who(person_id: int | None, phone: str) -> str:
    """Who is asking: their name when they gave one, and always their number."""
    name = people.name_of(person_id)
    return f"{name} ({phone})" if name else phone


def _names(contacts) -> str:
    """First names, the first NAMES_SHOWN of them and how many more: "Maria, Jose +3"; "" for none."""
    names = [(c.name.split() or [c.phone])[0] for c in contacts]
    shown = ", ".join(names[:NAMES_SHOWN])
    return f"{shown} +{len(names) - NAMES_SHOWN}" if len(names) > NAMES_SHOWN else shown


def _count(number: int) -> str:
    """A count a text shows only when there is something to count: "" for none (its bracketed part goes)."""
    return str(number) if number else ""


def escalations(
    now: float, directory: Directory, policy: AlertPolicy, vocabulary: Vocabulary | None = None
) -> list[Outgoing]:
    """Pages backup phones and the central number for alerts nobody acknowledged, and reminds the duty
    phones; each alert once. Runs from the store, so it survives restarts."""
    vocabulary = vocabulary or Vocabulary()
    pages: list[Outgoing] = []
    for alert in alerts.due_for_escalation(now, policy.escalate_after_seconds):
        if not alerts.mark_escalated(alert, now):
            continue  # another server process took it
        office = office_of(directory, alert.consulate)
        central = directory.central_for(alert.consulate)
        phone, _ = alerts.phone_of_raiser(alert)
        values = {
            "ref": alert.reference,
            "who": who(alert.person_id, phone) if phone else "",
            "when": _written(vocabulary, office, alert.created_at),
        }
        readers = for_readers(vocabulary, office, alert.created_at)
        # An alert whose person erased themselves is still nobody's yet: paged without who it was.
        key = "alert.escalated" if phone else "alert.escalated_erased"
        tag = later_tag_of(alert.reference)
        backups = [*(office.backup_phones if isinstance(office, Consulate) else ()), *central.phones]
        pages += [
            Outgoing(phone, key, values, tag=tag, urgent=True, localized=readers) for phone in dict.fromkeys(backups)
        ]
        duty = paged(office, now) if isinstance(office, Consulate) else ()
        pages += [Outgoing(phone, "alert.reminder", values, tag=tag, urgent=True) for phone in duty]
    return pages


def overdue_pages(waiting: int, directory: Directory) -> list[Outgoing]:
    """Tells every network's central numbers that urgent messages (alert relays and pages) cannot leave;
    routine itself, so this page never counts among the overdue it reports."""
    phones = dict.fromkeys(phone for network in directory.networks for phone in network.central.phones)
    return [Outgoing(phone, "alert.overdue", {"waiting": str(waiting)}) for phone in phones]
