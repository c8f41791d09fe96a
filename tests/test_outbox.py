"""The outbox end to end: webhook in, SMS out through the real SDKs to the fake carrier, reports back."""

from __future__ import annotations

import asyncio

import pytest

from gateway import keys
from store import outbox
from store.db import database, is_postgres
from store.models import DeliveryReport, OutboxMessage
from tests import payloads
from tests.conftest import PERSON, in_store, set_outbox_policy
from tests.fake_carrier import HANG, OK

PUBLIC = "https://lifeline.example.org"


async def settled(client, predicate, timeout: float = 5.0):
    """Waits (woken by the dispatcher's own progress) until the stored messages satisfy predicate."""
    async with asyncio.timeout(timeout):
        while True:
            rows = await in_store(client, lambda: list(OutboxMessage.select().order_by(OutboxMessage.id)))
            if rows and predicate(rows):
                return rows
            await asyncio.sleep(0.02)


async def sms_in(client, text: str = "hola", phone: str = PERSON, message_id: str | None = None):
    response = await client.post("/africastalking/sms", data=payloads.at_sms(phone, text, message_id))
    assert response.status == 200


async def test_provider_500_three_times_then_ok_delivers_once(start, fake):
    client = await start("africastalking")
    fake.script("africastalking", 500, 500, 500, "ok")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert row.attempts == 4
    assert [r.answered for r in fake.received] == ["500", "500", "500", "ok"]
    assert len(fake.accepted) == 1


async def test_twilio_throttled_then_ok(start, fake):
    client = await start("twilio")
    fake.script("twilio", 429, "ok")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert (row.provider, row.attempts) == ("twilio", 2)
    assert row.provider_message_id == fake.accepted[0].id


async def test_provider_down_fails_over_to_the_next(start, fake):
    client = await start("africastalking,twilio")
    fake.script("africastalking", 500)
    await sms_in(client)  # arrived through Africa's Talking: tried there first
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert row.provider == "twilio"
    assert [r.provider for r in fake.received] == ["africastalking", "twilio"]


async def test_unreachable_provider_fails_over(start, fake, make_settings):
    # Africa's Talking points at a port where nothing listens: connection refused.
    client = await start("africastalking,twilio", AT_API_URL="http://127.0.0.1:9")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert row.provider == "twilio"
    assert fake.accepted[0].to == PERSON


async def test_refused_connections_then_recovery(start, fake):
    client = await start("twilio")
    await fake.refuse()
    await sms_in(client)
    await settled(client, lambda rows: rows[0].attempts >= 2)
    await fake.accept()
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert len(fake.accepted) == 1


@pytest.mark.parametrize("provider,code", [("twilio", "21610"), ("africastalking", "406")])
async def test_opted_out_recipient_fails_at_once_without_retry(start, fake, provider, code):
    client = await start(provider)
    fake.script(provider, "opted_out")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.FAILED)
    assert row.attempts == 1
    assert code in row.last_error
    assert len(fake.received) == 1


async def test_per_recipient_failure_inside_a_2xx_answer_is_a_failure(start, fake):
    client = await start("africastalking")
    fake.script("africastalking", "recipient_failed")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.FAILED)
    assert "403" in row.last_error
    assert fake.accepted == []


async def test_attempts_are_bounded_and_failure_shows_in_metrics(start, fake):
    client = await start("africastalking")
    fake.script("africastalking", *[500] * 10)
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.FAILED)
    assert row.attempts == 4  # max_attempts in the test policy
    assert len(fake.received) == 4
    metrics = await (await client.get("/metrics")).text()
    assert 'lifeline_outbox_messages{provider="africastalking",status="failed"} 1.0' in metrics
    assert 'lifeline_send_attempts_total{provider="africastalking",result="failed"} 1.0' in metrics


async def test_delivery_reports_move_status_forward_only_and_duplicates_change_nothing(start, fake):
    client = await start("africastalking")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    message_id = row.provider_message_id
    assert message_id.startswith("ATXid_")
    for status in ("Success", "Success", "Sent"):
        response = await client.post("/africastalking/delivery", data=payloads.at_delivery(message_id, status))
        assert response.status == 200
    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert row.status == outbox.DELIVERED
    assert await in_store(client, DeliveryReport.select().count) == 2  # Success once, Sent once


async def test_twilio_status_callbacks_update_the_message(start, fake):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert fake.received[0].form["StatusCallback"] == PUBLIC + "/twilio/status"
    form = payloads.twilio_status(row.provider_message_id, "undelivered", ErrorCode="30003")
    headers = payloads.twilio_signature(fake.twilio_token, PUBLIC + "/twilio/status", form)
    assert (await client.post("/twilio/status", data=form, headers=headers)).status == 204
    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert row.status == outbox.UNDELIVERED
    assert row.last_error == "twilio 30003"


async def test_report_arriving_before_the_send_is_recorded_is_applied_afterwards(start, fake):
    client = await start("africastalking")
    store = client.app[keys.STORE]
    # An hour ahead: the service's own dispatcher, running meanwhile, leaves the message to this test.
    now = client.app[keys.CLOCK]() + 3600
    await store.run(outbox.record_report, "africastalking", "ATXid_early", "delivered", None, now)
    await store.run(
        outbox.enqueue,
        outbox.NewMessage("early-1", PERSON, "hola", "gsm7", 1, ("africastalking",)),
        now,
    )
    [claimed] = await store.run(outbox.claim_due, 10, now + 1, 60)
    accepted = outbox.Accepted(claimed.id, claimed.claim_token, "africastalking", "ATXid_early")
    assert await store.run(outbox.mark_sent, [accepted], now) == {claimed.id}
    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert row.status == outbox.DELIVERED


async def test_twilio_region_and_edge_cannot_move_the_api_host(start, fake, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    client = await start("twilio")
    await sms_in(client)
    await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert fake.accepted[0].provider == "twilio"


async def test_every_message_records_encoding_and_segments(start, fake):
    client = await start("console")
    await sms_in(client, "hola")
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    assert (row.encoding, row.segments) == ("gsm7", 1)
    assert len(row.body) <= 160


AT_REPORTS = [
    ("Sent", "sent"),
    ("Submitted", "sent"),
    ("Buffered", "sent"),
    ("Success", "delivered"),
    ("Rejected", "failed"),
    ("Failed", "undelivered"),
    ("Expired", "undelivered"),
]


@pytest.mark.parametrize("carrier_status,status", AT_REPORTS, ids=[r[0] for r in AT_REPORTS])
async def test_africastalking_delivery_reports_map_to_one_status_set(start, fake, carrier_status, status):
    client = await start("africastalking")
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    extra = {"failureReason": "UserInBlackList"} if carrier_status in ("Rejected", "Failed") else {}
    form = payloads.at_delivery(row.provider_message_id, carrier_status, **extra)
    assert (await client.post("/africastalking/delivery", data=form)).status == 200
    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert row.status == status
    if extra:
        assert row.last_error == "UserInBlackList"


TWILIO_REPORTS = [
    ("queued", "sent"),  # says nothing new about a message the carrier already took
    ("sending", "sent"),
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("read", "delivered"),
    ("undelivered", "undelivered"),
    ("failed", "failed"),
    ("canceled", "failed"),
]


@pytest.mark.parametrize("carrier_status,status", TWILIO_REPORTS, ids=[r[0] for r in TWILIO_REPORTS])
async def test_twilio_status_callbacks_map_to_one_status_set(start, fake, carrier_status, status):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    await sms_in(client)
    [row] = await settled(client, lambda rows: rows[0].status == outbox.SENT)
    form = payloads.twilio_status(row.provider_message_id, carrier_status)
    headers = payloads.twilio_signature(fake.twilio_token, PUBLIC + "/twilio/status", form)
    for _ in range(2):  # a duplicate callback changes nothing
        assert (await client.post("/twilio/status", data=form, headers=headers)).status == 204
    [row] = await in_store(client, lambda: list(OutboxMessage.select()))
    assert row.status == status


async def test_dispatcher_survives_a_failing_store_and_healthz_says_so(start, fake, monkeypatch):
    client = await start("africastalking")
    real_claim = outbox.claim_due
    failing = {"left": 3}

    def flaky_claim(*args):
        if failing["left"] > 0:
            failing["left"] -= 1
            raise RuntimeError("database went away")
        return real_claim(*args)

    monkeypatch.setattr(outbox, "claim_due", flaky_claim)
    client.app[keys.DISPATCHER].wake()
    async with asyncio.timeout(5):
        while client.app[keys.DISPATCHER].problem is None:
            await asyncio.sleep(0.01)
    health = await client.get("/healthz")
    assert health.status == 503
    assert (await health.json())["dispatcher"] == "outbox unavailable: RuntimeError"
    await sms_in(client)
    await fake.wait_for(1, timeout=10)  # sent once the store answers again
    assert (await client.get("/healthz")).status == 200


async def test_metrics_count_inbound_outbound_segments_and_latency(start, fake):
    client = await start("africastalking")
    await sms_in(client)
    await client.post("/africastalking/ussd", data=payloads.at_ussd(PERSON, ""))
    await settled(client, lambda rows: rows[0].status == outbox.SENT)
    text = await (await client.get("/metrics")).text()
    for line in (
        'lifeline_inbound_total{carrier="africastalking",kind="sms"} 1.0',
        'lifeline_inbound_total{carrier="africastalking",kind="ussd"} 1.0',
        'lifeline_outbox_messages{provider="africastalking",status="sent"} 1.0',
        'lifeline_outbox_segments{provider="africastalking",status="sent"} 1.0',
        'lifeline_send_attempts_total{provider="africastalking",result="sent"} 1.0',
        'lifeline_webhook_seconds_count{route="/africastalking/ussd"} 1.0',
        "lifeline_outbox_backlog 0.0",
    ):
        assert line in text, line


@pytest.mark.parametrize("provider", ["twilio", "africastalking"])
async def test_a_burst_is_at_the_carrier_all_at_once_up_to_the_configured_concurrency(
    start, fake, config_dir, provider
):
    # More than aiohttp's default 100 connections (the Twilio SDK's session) and the 16 threads the Africa's
    # Talking sender had: neither may hold a burst of relays back when the outbox allows more in flight.
    burst = 120
    # Sends wait for the carrier longer than the test waits for them all to be there: none is retried meanwhile.
    set_outbox_policy(config_dir, concurrency=burst, send_timeout_seconds=60, lease_seconds=180)
    client = await start(provider)
    fake.during(provider, 300, HANG)
    now = client.app[keys.CLOCK]()
    people = [f"+1555556{n:04d}" for n in range(burst)]  # fictional 555 numbers

    def enqueue_burst():
        for n, phone in enumerate(people):
            outbox.enqueue(outbox.NewMessage(f"burst-{n}", phone, "ALERTA test", "gsm7", 1, (provider,)), now)

    await in_store(client, enqueue_burst)
    client.app[keys.DISPATCHER].wake()
    async with asyncio.timeout(30):  # a guard against hanging, not a speed test
        while fake.holding < burst:
            await asyncio.sleep(0.05)
    assert sorted(m.to for m in fake.taken) == sorted(people)  # every message at the carrier, all at once
    # The carrier answers again; the hung requests are dropped, and every message ends sent.
    fake.during(provider, 0, OK)
    await fake.refuse()
    await fake.accept()
    await settled(client, lambda rows: all(row.status == outbox.SENT for row in rows), timeout=60)


async def test_a_claim_reads_the_due_index_in_order_and_sorts_nothing_whatever_the_backlog(start):
    # A claim that sorted every due row first took 3.4 ms at 30,000 pending against 0.13 ms at 100.
    client = await start("console")
    now = client.app[keys.CLOCK]()

    def backlog_and_plan() -> str:
        row = {"to": "", "to_hash": "-", "body": "", "encoding": "gsm7", "segments": 1, "route": "console"}
        backlog = [
            {**row, "idempotency_key": f"backlog-{n}", "status": outbox.PENDING, "due_at": now - n}
            | {"created_at": now, "updated_at": now}
            for n in range(2000)
        ]
        OutboxMessage.insert_many(backlog).execute()
        statement, params = outbox._claim(16, now, 60)
        if is_postgres():
            database.execute_sql("ANALYZE outbox_message")
            return "\n".join(row[0] for row in database.execute_sql("EXPLAIN " + statement.sql(), params))
        return "\n".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + statement.sql(), params))

    plan = await in_store(client, backlog_and_plan)
    assert "outbox_message_status_due_at" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
