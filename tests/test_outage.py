"""Carrier outages, made for real by the fake carrier: alert relays outlive them, an overdue alert raises
/healthz to degraded and pages the central numbers, and a carrier's Retry-After is honoured."""

from __future__ import annotations

import asyncio

import pytest
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as alter

from gateway import keys
from handlers.reference.consulates import Directory
from store import outbox
from store.db import database
from store.models import OutboxAlarm, OutboxMessage, SchemaVersion
from store.schema import migrate
from tests.conftest import OTHER_PERSON, PERSON, ROOT, in_store, set_outbox_policy
from tests.fake_carrier import Throttled
from tests.test_alerts import HOUSTON, HOUSTON_PERSON, JOSE, MARIA, messages, only_alert, registered
from tests.test_flows_sms import Phone
from tests.test_outbox import settled, sms_in

MAX_ATTEMPTS = 4  # the test policy's count for routine messages (tests/conftest.py)
RELAYED = {MARIA, JOSE, *HOUSTON.duty_phones}
CENTRALS = {p for n in Directory.load(ROOT / "config" / "consulates.yaml").networks for p in n.central.phones}
OVERDUE_PAGE = "hay mensajes de aviso que no pueden salir desde hace minutos"


def relays_of(rows: list[OutboxMessage], reference: str) -> list[OutboxMessage]:
    return [r for r in rows if r.tag == f"alert:{reference}"]


async def registered_while_carriers_work(client):
    """A person who registered two contacts, every SMS of it sent; returns their phone."""
    phone = await registered(client)
    await settled(client, lambda rows: all(r.status == outbox.SENT for r in rows))
    return phone


async def test_what_is_sent_about_an_alert_is_urgent_and_the_rest_routine(start):
    client = await start("console")
    phone = await registered(client)
    await phone.send("ALERTA")
    officer = Phone(client, HOUSTON.duty_phones[0])
    officer.seen = 1  # the relay
    alert = await only_alert(client)
    await officer.send(f"R {alert.reference} Vamos en camino")
    await phone.send_all("CANCELAR")
    rows = await messages(client)
    about_alert = [r for r in rows if r.tag in (f"alert:{alert.reference}", f"alert:{alert.reference}:later")]
    assert {r.tag for r in about_alert} == {f"alert:{alert.reference}", f"alert:{alert.reference}:later"}
    reply = [r for r in rows if r.to == HOUSTON_PERSON and "Vamos en camino" in r.body]
    assert len(reply) == 1
    for row in about_alert + reply:
        assert row.deadline_at == pytest.approx(row.first_due_at + 24 * 3600)
    routine = [r for r in rows if r not in about_alert + reply]
    assert routine and all(r.deadline_at is None for r in routine)


async def test_alert_relays_outlive_both_carriers_refusing_and_arrive_when_they_come_back(start, fake, config_dir):
    set_outbox_policy(config_dir, backoff_max_seconds=0.2, urgent_deadline_hours=30 / 3600)
    client = await start("africastalking,twilio")
    phone = await registered_while_carriers_work(client)
    await fake.refuse()  # both carriers: every connection refused
    await phone.send("ALERTA")
    alert = await only_alert(client)

    def relays_outlived_the_count(rows):
        # Twice as many attempts as a routine message gets, and the routine answer already given up.
        relays = relays_of(rows, alert.reference)
        answer = [r for r in rows if r.to == HOUSTON_PERSON and r.tag is None][-1]
        return all(r.attempts >= 2 * MAX_ATTEMPTS for r in relays) and answer.status == outbox.FAILED

    rows = await settled(client, relays_outlived_the_count, timeout=20)
    assert {r.status for r in relays_of(rows, alert.reference)} <= {outbox.PENDING, outbox.SENDING}
    assert not [m for m in fake.accepted if alert.reference in m.body]
    await fake.accept()
    await settled(client, lambda rows: all(r.status == outbox.SENT for r in relays_of(rows, alert.reference)))
    arrived = [m.to for m in fake.accepted if alert.reference in m.body]
    assert sorted(arrived) == sorted(RELAYED)  # each relay once


async def test_alert_relays_outlive_twilio_answering_500_and_leave_when_it_recovers(start, fake, config_dir):
    set_outbox_policy(config_dir, backoff_max_seconds=0.2, urgent_deadline_hours=30 / 3600)
    client = await start("twilio")
    phone = await registered_while_carriers_work(client)
    fake.during("twilio", 3.0, 500)  # longer than 4 attempts at 0.2 s at most apart would last
    await phone.send("ALERTA")
    alert = await only_alert(client)
    rows = await settled(
        client, lambda rows: all(r.status == outbox.SENT for r in relays_of(rows, alert.reference)), timeout=20
    )
    assert min(r.attempts for r in relays_of(rows, alert.reference)) > MAX_ATTEMPTS
    assert sorted(m.to for m in fake.accepted if alert.reference in m.body) == sorted(RELAYED)
    assert [r.answered for r in fake.received if r.to == MARIA][-1] == "ok"


async def test_a_relay_past_its_deadline_ends_failed_and_is_never_sent(start, fake, config_dir, clock):
    set_outbox_policy(config_dir, backoff_max_seconds=0.2, urgent_deadline_hours=5 / 3600)
    client = await start("africastalking,twilio")
    phone = await registered_while_carriers_work(client)
    await fake.refuse()
    await phone.send("ALERTA")
    alert = await only_alert(client)
    await settled(client, lambda rows: all(r.attempts >= 2 for r in relays_of(rows, alert.reference)))
    clock.advance(6)  # past the 5 s deadline
    client.app[keys.DISPATCHER].wake()
    rows = await settled(
        client, lambda rows: all(r.status == outbox.FAILED for r in relays_of(rows, alert.reference)), timeout=10
    )
    relays = relays_of(rows, alert.reference)
    assert all(r.last_error for r in relays)
    await fake.accept()
    before = len(fake.accepted)
    await sms_in(client, "hola", phone=OTHER_PERSON)  # something routine leaves: the carriers work again
    await fake.wait_for(before + 1)
    assert not [m for m in fake.accepted if (m.to, m.body) in {(r.to, r.body) for r in relays}]


async def test_overdue_relays_degrade_healthz_and_page_the_centrals_once_through_the_provider_that_works(
    start, fake, config_dir, clock
):
    set_outbox_policy(config_dir, backoff_max_seconds=0.2, urgent_deadline_hours=1, alarm_after_seconds=60)
    client = await start("africastalking,twilio")
    other_process = await start("africastalking,twilio")
    phone = await registered_while_carriers_work(client)
    fake.during("twilio", 3600, 500)  # Twilio stays broken throughout
    fake.during("africastalking", 3600, "refuse")
    await phone.send("ALERTA")
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"  # not overdue yet

    clock.advance(61)  # alarm_after_seconds
    health = await client.get("/healthz")
    body = await health.json()
    assert health.status == 200  # degraded: still in service, a load balancer must keep it
    assert (body["status"], body["outbox"]["overdue_urgent"]) == ("degraded", len(RELAYED))
    metrics = await (await client.get("/metrics")).text()
    assert f"lifeline_outbox_overdue_urgent {float(len(RELAYED))}" in metrics

    await asyncio.gather(client.app[keys.CONVERSATION].send_due(), other_process.app[keys.CONVERSATION].send_due())
    await client.app[keys.CONVERSATION].send_due()  # a second sweep within the interval pages nobody
    pages = [r for r in await messages(client) if OVERDUE_PAGE in r.body]
    assert sorted(r.to for r in pages) == sorted(CENTRALS)
    assert all(f"desde hace minutos: {len(RELAYED)}. Revise" in r.body for r in pages)

    fake.during("africastalking", 0, "ok")  # Africa's Talking comes back; Twilio does not
    await settled(client, lambda rows: all(r.status == outbox.SENT for r in rows if r.deadline_at is not None))
    await settled(client, lambda rows: all(r.status == outbox.SENT for r in rows if OVERDUE_PAGE in r.body))
    paged = [m for m in fake.accepted if OVERDUE_PAGE in m.body]
    assert sorted(m.to for m in paged) == sorted(CENTRALS)  # once each
    assert {m.provider for m in paged} == {"africastalking"}
    body = await (await client.get("/healthz")).json()
    assert (body["status"], body["outbox"]["overdue_urgent"]) == ("ok", 0)


@pytest.mark.parametrize("provider", ["twilio", "africastalking"])
async def test_a_throttled_provider_is_not_called_again_before_its_retry_after(start, fake, provider):
    client = await start(provider)
    fake.script(provider, Throttled(2), "ok")
    await sms_in(client, "hola")
    await settled(client, lambda rows: rows[0].status == outbox.PENDING and rows[0].last_error is not None)
    await sms_in(client, "otra")  # a second message, written while the provider asked us to wait
    rows = await settled(client, lambda rows: len(rows) == 2 and {r.status for r in rows} == {outbox.SENT}, 10)
    throttled, *later = fake.received
    assert throttled.answered == "429" and len(later) == 2
    assert min(r.at for r in later) - throttled.at >= 2.0
    assert sorted(r.attempts for r in rows) == [1, 2]  # the second waited without an attempt counted


async def test_a_provider_that_works_again_sends_what_waited_for_it_at_once(start, fake, config_dir):
    set_outbox_policy(config_dir, backoff_base_seconds=60, backoff_max_seconds=60)
    client = await start("twilio")
    fake.script("twilio", 500)
    await sms_in(client, "hola")
    [waiting] = await settled(client, lambda rows: rows[0].attempts == 1 and rows[0].status == outbox.PENDING)
    assert waiting.due_at - client.app[keys.CLOCK]() > 20  # its own retry is at least 30 s away
    await sms_in(client, "otra", phone=OTHER_PERSON)  # goes through: Twilio works again
    await fake.wait_for(2, timeout=5)
    assert sorted(m.to for m in fake.accepted) == sorted([PERSON, OTHER_PERSON])


async def test_an_outbox_made_before_deadlines_is_migrated_and_its_messages_stay_routine(start):
    client = await start("console")

    def as_before_migration_7():
        migrator = SchemaMigrator.from_database(database.obj)
        alter(
            migrator.drop_column("outbox_message", "first_due_at"),
            migrator.drop_column("outbox_message", "deadline_at"),
        )
        OutboxAlarm.drop_table()
        SchemaVersion.delete().where(SchemaVersion.version == 7).execute()
        database.execute_sql(
            'INSERT INTO outbox_message (idempotency_key, "to", to_hash, body, encoding, segments, route, '
            "provider_index, status, attempts, due_at, created_at, updated_at) "
            "VALUES ('old-1', 'x', 'h', 'x', 'gsm7', 1, 'console', 0, 'failed', 8, 1, 1, 1)"
        )

    await in_store(client, as_before_migration_7)
    assert await in_store(client, migrate) == [7]
    columns = await in_store(client, lambda: {c.name for c in database.get_columns("outbox_message")})
    assert {"first_due_at", "deadline_at"} <= columns
    old = OutboxMessage.select(OutboxMessage.deadline_at).where(OutboxMessage.idempotency_key == "old-1")
    assert await in_store(client, lambda: old.tuples().get()) == (None,)


async def test_an_alarm_is_claimed_by_one_caller_per_interval(start):
    client = await start("console")
    claims = [await in_store(client, outbox.claim_alarm, "overdue", now, 60.0) for now in (100, 100, 159, 160, 161)]
    assert claims == [True, False, False, True, False]
