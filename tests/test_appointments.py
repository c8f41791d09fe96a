"""Booking a consular appointment end to end: USSD and SMS webhooks, a clock the tests set, the SMS the
person gets, and the store's count of who holds each place."""

from __future__ import annotations

import asyncio
import csv
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

import run
from gateway import keys
from handlers.consular import appointments
from handlers.consular.appointments import AppointmentPolicy
from handlers.outcome import Request
from handlers.reference.consulates import Directory
from handlers.reference.services import load_services
from store.models import Alert, Booking, Consent, InboundMessage, OutboxMessage, Person
from tests import payloads
from tests.conftest import ROOT, in_store
from tests.test_flows_sms import Phone
from tests.test_flows_ussd import dial
from tests.test_outbox import settled

HOUSTON_PERSON = "+17135550142"  # area code 713: the Houston consulate is responsible
CHICAGO = ZoneInfo("America/Chicago")
# Monday 30 November 2026, 08:55 in Houston (the consulate opens at 08:00): 10:00 is the first time an
# hour ahead.
MONDAY_MORNING = datetime(2026, 11, 30, 8, 55, tzinfo=CHICAGO).timestamp()


@pytest.fixture
def at_monday_morning(clock):
    clock.advance(MONDAY_MORNING - clock())
    return clock


async def sent_to(client, number: str) -> list[str]:
    rows = await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
    return [r.body for r in rows if r.to == number]


async def bookings(client) -> list[Booking]:
    return await in_store(client, lambda: list(Booking.select().order_by(Booking.id)))


def choices(screen: str) -> dict[str, str]:
    """The numbered choices of a screen: {"1": "Pasaporte", ...} (lines "1 x" or "1 08:00  2 08:20")."""
    found = re.findall(r"(?:^|\n| {2})(\d{1,2}) ([^\n]+?)(?= {2}\d|\n|$)", screen.removeprefix("CON "))
    return {number: text for number, text in found if number != "0"}  # "0 Atras" goes back


async def test_book_by_ussd_with_the_responsible_consulate_first_and_an_sms_with_what_to_bring(
    start, at_monday_morning
):
    client = await start("console")
    screens = await dial(client, ["4", "1", "1", "1", "1", "1", "1"], phone=HOUSTON_PERSON)
    services, consulates, days, slots, confirm, consent, booked = screens[1:]
    assert services.startswith("CON ¿Que tramite?\n1 Pasaporte\n2 Matricula consular\n")
    assert consulates.startswith("CON ¿En que consulado?\n1 Consulado en Houston\n")  # jurisdiction first
    # An hour's notice: the first window offered is 10:00 (passport: 20 minutes).
    assert days.startswith("CON ¿Que dia?\n1 Lun 30/11\n2 Mar 01/12\n")
    assert choices(slots)["1"] == "10:00" and choices(slots)["2"] == "10:20"
    assert confirm.startswith("CON Pasaporte, Consulado en Houston, Lun 30/11 10:00\n1. Confirmar")
    assert consent.startswith(f"CON {CONSENT_ES}")  # the first booking: agreed to before it is stored
    [booking] = await bookings(client)
    assert booked == (
        f"END Cita {booking.reference} confirmada: Pasaporte, Lun 30/11 10:00, Consulado en Houston. "
        "Le enviamos los datos por SMS."
    )
    confirmation, bring = await sent_to(client, HOUSTON_PERSON)
    assert confirmation == (
        f"Cita {booking.reference}: Pasaporte, Lun 30/11 10:00, Consulado en Houston, 4506 Caroline St, Houston, "
        "TX 77004."
    )
    assert bring == f"Para su cita {booking.reference} traiga acta de nacimiento, identificacion con foto, CURP y pago."
    assert booking.consulate == "houston" and booking.service == "passport" and booking.status == "booked"
    assert booking.starts_at == datetime(2026, 11, 30, 10, 0, tzinfo=CHICAGO).timestamp()


CONSENT_ES = "Lifeline guarda, cifrados, sus contactos, citas y ubicacion."


async def stored_about(client, phone: str) -> tuple[int, int, list[str]]:
    """(bookings, consents, texts sent to the number): what the store holds about a person."""
    booked = await in_store(client, Booking.select().count)
    consents = await in_store(client, Consent.select().count)
    return booked, consents, await sent_to(client, phone)


async def test_a_booking_by_ussd_asks_consent_at_its_confirmation_and_stores_nothing_before(start, at_monday_morning):
    client = await start("console")
    walk = ["4", "1", "1", "1", "1", "1"]  # a passport, Houston, Monday, 10:00, Confirm
    asked = (await dial(client, walk, phone=HOUSTON_PERSON, session="no"))[-1]
    assert asked.startswith(f"CON {CONSENT_ES}") and "\n1. Acepto\n2. No acepto\n" in asked
    assert await stored_about(client, HOUSTON_PERSON) == (0, 0, [])  # nothing booked, nothing sent
    # Declined: a short clear end, and still nothing stored.
    declined = (await dial(client, [*walk, "2"], phone=HOUSTON_PERSON, session="no"))[-1]
    assert declined == "END No guardamos nada y la cita no se reservo."
    assert await stored_about(client, HOUSTON_PERSON) == (0, 0, [])
    assert await in_store(client, Person.select().count) == 0  # not even the number that dialled
    # Agreed: the booking goes on at once, with its SMS.
    booked = (await dial(client, [*walk, "1"], phone=HOUSTON_PERSON, session="yes"))[-1]
    [booking] = await bookings(client)
    assert booked.startswith(f"END Cita {booking.reference} confirmada: Pasaporte, Lun 30/11 10:00")
    assert await in_store(client, Consent.select().count) == 1
    assert (await sent_to(client, HOUSTON_PERSON))[0].startswith(f"Cita {booking.reference}: Pasaporte")
    # Asked once: the next booking (New appointment, below the list) is confirmed at once.
    again = (await dial(client, ["4", "1", *walk[1:]], phone=HOUSTON_PERSON))[-1]
    assert again.startswith("END Cita ")


async def test_a_booking_by_sms_asks_consent_and_a_refusal_keeps_nothing_not_even_the_number(
    start, fake, at_monday_morning
):
    client = await start("africastalking")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("CITA")
    for answer in ("1", "1", "1", "1"):  # a passport, Houston, Monday, 10:00
        await phone.send(answer)
    assert (await phone.send("1")).startswith(CONSENT_ES)  # Confirm: consent first
    assert await in_store(client, Booking.select().count) == 0
    await phone.send_all("2")
    await settled(client, lambda rows: all(r.status not in ("pending", "sending") for r in rows))
    assert fake.accepted_to(HOUSTON_PERSON)[-1].body == "No guardamos nada y la cita no se reservo."
    # Nothing is kept: no booking, no consent, no person, no message to or from the number.
    assert await stored_about(client, HOUSTON_PERSON) == (0, 0, [])
    assert await in_store(client, Person.select().count) == 0
    kept = InboundMessage.select().where(InboundMessage.person.is_null(False))
    assert await in_store(client, kept.count) == 0

    phone.seen = 0
    await phone.send("CITA")
    for answer in ("1", "1", "1", "1", "1"):
        await phone.send(answer)
    confirmation, bring = sorted(await phone.send_all("1"))  # agreed: booked, as when consent was given before
    [booking] = await bookings(client)
    assert confirmation.startswith(f"Cita {booking.reference}: Pasaporte, Lun 30/11 10:00")
    assert bring.startswith(f"Para su cita {booking.reference} traiga")


async def test_cita_lists_cancels_and_frees_the_place_by_sms(start, at_monday_morning):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    assert (await phone.send("CITA")).startswith("¿Que tramite?\n1 Pasaporte")  # nothing booked: straight on
    for answer in ("2", "1", "1", "1", "1"):  # matricula, Houston, first day, first time, Confirm
        await phone.send(answer)
    confirmation, bring = sorted(await phone.send_all("1"))  # agreed; by SMS the answer is the confirmation
    assert confirmation.startswith("Cita ") and confirmation.endswith("4506 Caroline St, Houston, TX 77004.")
    assert bring.startswith("Para su cita ")
    [booking] = await bookings(client)
    listing = await phone.send("cita")
    assert listing.startswith(f"Sus citas:\n{booking.reference} Matricula consular 30/11 10:00 Houston\n1 Nueva cita")
    assert await phone.send(f"CITA CANCELAR {booking.reference.lower()}") == (
        f"Cita {booking.reference} cancelada. El lugar queda libre."
    )
    assert (await bookings(client))[0].status == "cancelled"
    assert await phone.send("CITA CANCELAR C4F9") == (
        "No tiene una cita con esa referencia. Envie CITA para ver las suyas."
    )
    # Someone else's reference is not theirs to cancel.
    other = Phone(client, "+17135550143")
    await other.send("CITA")
    for answer in ("2", "1", "1", "1", "1", "1"):
        await other.send_all(answer)
    [_, theirs] = await bookings(client)
    assert (await phone.send(f"CITA CANCELAR {theirs.reference}")).startswith("No tiene una cita")
    assert (await bookings(client))[1].status == "booked"


async def test_english_booking_and_reschedule_frees_the_old_place(start, at_monday_morning):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    assert (await phone.send("BOOK")).startswith("Which service?\n1 Passport")
    for answer in ("1", "1", "1", "1", "1", "1"):  # ..., Confirm, I agree
        await phone.send_all(answer)
    [first] = await bookings(client)
    listing = await phone.send("BOOK")
    # English readers get English dates (month first, by name: never a day-first 01/12) and consulate names.
    assert listing.startswith(f"Your bookings:\n{first.reference} Passport Nov 30 10:00 Houston")
    assert (await phone.send("3")) == "Appointment reference (e.g. C4F9):"  # change an appointment
    assert (await phone.send(first.reference)).startswith("Which day?\n1 Mon Nov 30\n2 Tue Dec 1")
    await phone.send("2")  # Tuesday
    assert (await phone.send("1")).startswith("Passport, Consulate in Houston, Tue Dec 1 08:00")
    confirmation = sorted(await phone.send_all("1"))[0]
    assert confirmation.startswith("Appointment ") and ", Tue Dec 1 08:00, Consulate in Houston" in confirmation
    old, new = await bookings(client)
    assert (old.status, new.status) == ("cancelled", "booked")
    assert new.starts_at == datetime(2026, 12, 1, 8, 0, tzinfo=CHICAGO).timestamp()


async def test_past_times_holidays_and_closed_days_are_never_offered(start, clock):
    # Tuesday 15 September 2026, 13:30 in Houston: closing is 14:00, and the 16th is a Mexican holiday.
    clock.advance(datetime(2026, 9, 15, 13, 30, tzinfo=CHICAGO).timestamp() - clock())
    client = await start("console")
    days, slots = (await dial(client, ["4", "1", "1", "1"], phone=HOUSTON_PERSON))[-2:]
    # Today has no window left an hour ahead; the 16th is closed; Houston opens Saturdays, not Sundays.
    assert days.startswith("CON ¿Que dia?\n1 Jue 17/09\n2 Vie 18/09\n3 Sab 19/09\n4 Lun 21/09\n")
    times = list(choices(slots).values())
    assert times[0] == "08:00" and all("08:00" <= t < "14:00" for t in times if t != ">>")


@pytest.fixture
def capacity_two(config_dir):
    """Houston's windows take two people at once."""
    path = config_dir / "consulates.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for network in data["networks"]:
        for consulate in network["consulates"]:
            if consulate["id"] == "houston":
                consulate["hours"]["slot_capacity"] = 2
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config_dir


async def test_thirty_sessions_racing_for_a_place_of_two_give_two_bookings(start, at_monday_morning, capacity_two):
    client = await start("console")
    racers = [f"+171355501{n:02d}" for n in range(30)]
    walk = ["4", "1", "1", "1", "1"]  # up to the confirmation of Monday 10:00
    for n, phone in enumerate(racers):
        screens = await dial(client, [*walk, "1"], phone=phone, session=f"race-{n}")
        assert screens[-2].startswith("CON Pasaporte, Consulado en Houston, Lun 30/11 10:00")
        assert screens[-1].startswith(f"CON {CONSENT_ES}")

    async def confirm(n: int, phone: str) -> str:  # "I agree": the booking is made at once
        form = payloads.at_ussd(phone, "*".join([*walk, "1", "1"]), session=f"race-{n}")
        response = await client.post("/africastalking/ussd", data=form)
        assert response.status == 200
        return await response.text()

    answers = await asyncio.gather(*(confirm(n, phone) for n, phone in enumerate(racers)))
    booked = [a for a in answers if a.startswith("END Cita ")]
    taken = [a for a in answers if a.startswith("CON Ese horario se acaba de ocupar. Elija otro:\n1 10:20")]
    assert (len(booked), len(taken)) == (2, 28)
    rows = await bookings(client)
    assert len(rows) == 2 and {r.starts_at for r in rows} == {datetime(2026, 11, 30, 10, 0, tzinfo=CHICAGO).timestamp()}


async def test_the_reminder_goes_once_the_day_before_also_across_a_restart(start, at_monday_morning):
    first = await start("console")
    phone = Phone(first, HOUSTON_PERSON)
    await phone.send("CITA")
    for answer in ("1", "1", "2", "1", "1", "1"):  # Tuesday 1 December, 08:00; Confirm, I agree
        await phone.send_all(answer)
    [booking] = await bookings(first)
    await first.app[keys.CONVERSATION].send_due()
    assert not [s for s in await sent_to(first, HOUSTON_PERSON) if " manana " in s]  # not yet
    await first.close()
    # Monday 18:05 in Houston: the reminder is due. Two processes sweep; one reminder leaves.
    at_monday_morning.advance(9 * 3600 + 10 * 60)
    second, third = await start("console"), await start("console")
    await asyncio.gather(second.app[keys.CONVERSATION].send_due(), third.app[keys.CONVERSATION].send_due())
    await second.app[keys.CONVERSATION].send_due()
    reminders = [s for s in await sent_to(second, HOUSTON_PERSON) if " manana " in s]
    assert reminders == [
        f"Cita {booking.reference} manana Mar 01/12 08:00: Pasaporte, Consulado en Houston, 4506 Caroline St, "
        "Houston, TX 77004."
    ]


async def test_officials_export_the_days_bookings_as_csv(start, at_monday_morning, make_settings, tmp_path):
    client = await start("console")
    for n, phone in enumerate((HOUSTON_PERSON, "+17135550143")):
        texting = Phone(client, phone)
        await texting.send(f"NOMBRE Persona {n}")
        await texting.send("1")  # consent
        await dial(client, ["4", "1", "1", "1", str(n + 1), "1"], phone=phone)  # 10:00 and 10:20
    await dial(client, ["4", "1", "1", "2", "1", "1", "1"], phone="+17135550144")  # Tuesday: not on the sheet
    await client.close()
    sheet = tmp_path / "houston.csv"
    settings = make_settings("console")
    assert run.run_export_bookings(settings, "houston", "2026-11-30", sheet) == 0
    rows = list(csv.reader(sheet.open(encoding="utf-8")))
    header, first, second = rows
    assert header == ["reference", "time", "service", "name", "phone"]
    assert [first[1:], second[1:]] == [
        ["10:00", "Pasaporte", "Persona 0", HOUSTON_PERSON],
        ["10:20", "Pasaporte", "Persona 1", "+17135550143"],
    ]
    assert first[0] != second[0]
    assert run.run_export_bookings(settings, "nowhere", "2026-11-30", sheet) == 2
    assert run.run_export_bookings(settings, "houston", "30/11/2026", sheet) == 2


async def test_book_here_from_a_found_consulate(start, at_monday_morning):
    client = await start("console")
    screens = await dial(client, ["3", "Dallas TX", "2", "1"], phone=HOUSTON_PERSON)
    assert screens[2].startswith("CON 1/5 Consulado en Dallas. ")
    assert screens[3].startswith("CON ¿Que tramite?\n1 Pasaporte")
    assert screens[4].startswith("CON ¿Que dia?\n1 Lun 30/11")  # Dallas is already chosen: no consulate question
    await dial(client, ["3", "Dallas TX", "2", "1", "1", "1", "1", "1"], phone="+17135550150")
    [booking] = await bookings(client)
    assert booking.consulate == "dallas"


@pytest.mark.parametrize(
    ("label", "starts"),
    [
        ("before opening", datetime(2026, 12, 1, 7, 0, tzinfo=CHICAGO)),
        ("not on the grid", datetime(2026, 12, 1, 8, 5, tzinfo=CHICAGO)),
        ("at closing", datetime(2026, 12, 1, 14, 0, tzinfo=CHICAGO)),
        ("a holiday", datetime(2026, 12, 25, 9, 0, tzinfo=CHICAGO)),
        ("a Sunday", datetime(2026, 12, 6, 9, 0, tzinfo=CHICAGO)),
        ("in the past", datetime(2026, 11, 30, 8, 0, tzinfo=CHICAGO)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_time_that_was_never_offered_is_never_booked(label, starts):
    """Session data is the person's own: a slot carried in from elsewhere is checked against the calendar."""
    directory = Directory.load(ROOT / "config" / "consulates.yaml")
    booking = appointments.Booking(
        directory, load_services(ROOT / "config" / "services.yaml", ("es", "en")), AppointmentPolicy()
    )
    data = {"consulate": "houston", "service": "passport", "slot": str(int(starts.timestamp()))}
    request = Request(HOUSTON_PERSON, 1, "es", "ussd", {}, data, MONDAY_MORNING, ("es", "en"))
    assert appointments.book(request, booking).outcome in ("invalid", "taken")


async def test_a_real_window_ahead_is_booked_and_one_too_near_is_offered_again(start, at_monday_morning):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("CITA")
    for answer in ("1", "1", "1", "1"):  # Monday 10:00, offered at 08:55
        await phone.send_all(answer)
    at_monday_morning.advance(20 * 60)  # 09:15: 10:00 is now less than an hour ahead
    assert (await phone.send("1")).startswith("Ese horario se acaba de ocupar. Elija otro:\n1 10:20")
    assert await bookings(client) == []
    assert (await phone.send("1")).startswith("Pasaporte, Consulado en Houston, Lun 30/11 10:20")
    assert (await phone.send("1")).startswith(CONSENT_ES)  # a time that can be booked: consent first
    confirmation, _ = sorted(await phone.send_all("1"))
    assert confirmation.startswith("Cita ") and "10:20" in confirmation


async def test_leaving_a_change_for_a_new_booking_keeps_the_old_one(start, at_monday_morning):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("CITA")
    for answer in ("1", "1", "1", "1", "1", "1"):
        await phone.send_all(answer)
    [first] = await bookings(client)
    await phone.send("CITA")
    await phone.send("3")  # change an appointment ...
    await phone.send(first.reference)
    await phone.send("0")  # ... then back, back, and a new one instead
    await phone.send("0")
    await phone.send("1")
    for answer in ("2", "1", "2", "1"):  # matricula, Houston, Tuesday, first time
        await phone.send_all(answer)
    assert await phone.send_all("1")  # confirmed
    old, new = await bookings(client)
    assert (old.status, new.status) == ("booked", "booked")


async def test_cancelling_an_appointment_in_any_wording_never_cancels_an_alert(start, at_monday_morning):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    await phone.send("CITA")
    for answer in ("1", "1", "1", "1", "1", "1"):
        await phone.send_all(answer)
    [booking] = await bookings(client)
    await phone.send_all("ALERTA")
    assert await phone.send(f"CANCELAR CITAS {booking.reference}") == (
        f"Cita {booking.reference} cancelada. El lugar queda libre."
    )
    assert (await in_store(client, lambda: Alert.get())).status == "open"
    assert (await phone.send("CITA CANCELAR ²")).startswith("No tiene una cita con esa referencia")  # not a 500


async def test_later_times_of_the_day_page_on(start, at_monday_morning):
    client = await start("console")
    # Matricula (15 minutes) from 10:00 on a Houston Monday: more than ten times left.
    first, second = (await dial(client, ["4", "2", "1", "1", "11"], phone=HOUSTON_PERSON))[-2:]
    assert first.endswith("10 12:15  11 >>\n0 Atras")
    assert choices(second)["1"] == "12:30"


async def test_one_number_holds_at_most_three_upcoming_appointments(start, at_monday_morning):
    client = await start("console")
    phone = Phone(client, HOUSTON_PERSON)
    for day in ("1", "2", "3"):
        await phone.send("CITA" if day == "1" else "cita")
        if day != "1":
            await phone.send("1")  # new appointment, from the list
        agreed = ("1",) if day == "1" else ()  # the first booking: I agree
        for answer in ("1", "1", day, "1", "1", *agreed):
            await phone.send_all(answer)
    assert len(await bookings(client)) == 3
    await phone.send("CITA")
    await phone.send("1")
    for answer in ("1", "1", "4", "1"):
        await phone.send_all(answer)
    assert await phone.send("1") == "Ya tiene 3 citas por venir. Cancele una (CITA) antes de pedir otra."
    assert len(await bookings(client)) == 3


def test_a_name_typed_as_a_formula_stays_text_on_the_day_sheet():
    from handlers.backoffice.spreadsheet import cell as _cell

    assert _cell('=HYPERLINK("http://x","Maria")') == '\'=HYPERLINK("http://x","Maria")'
    assert _cell("Maria") == "Maria"
