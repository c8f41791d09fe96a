"""Sends bounded and not duplicated: every send ends by its deadline (a carrier trickling its answer a byte
at a time included), and a message whose send went unanswered (a timeout, a worker killed mid-send) is
looked for at the carrier before it is sent again, where the carrier can be asked (Twilio's message list).
Africa's Talking cannot be asked: it is sent again, at least once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest

from gateway import keys
from gateway.carriers.base import SendError
from gateway.carriers.sdk.twilio_sender import TwilioSender
from store import outbox
from tests import payloads
from tests.conftest import PERSON, TWILIO_FROM, set_outbox_policy
from tests.fake_carrier import HANG, REFUSE, Trickle
from tests.test_outbox import settled, sms_in
from tests.test_restart import PEOPLE, Server, serve_env

PUBLIC = "https://lifeline.example.org"
FAULTS = {"hang": HANG, "trickle": Trickle(0.2)}  # a ~300-byte answer at 0.2 s a byte: a minute


def sent(rows) -> bool:
    return rows[0].status == outbox.SENT


async def until(predicate, timeout: float = 10) -> None:
    """Waits for a condition the system reaches by itself (a guard against hanging, not a speed test)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("fault", FAULTS)
async def test_africastalking_send_ends_at_its_deadline_and_is_sent_again_once(start, fake, fault):
    client = await start("africastalking")
    fake.script("africastalking", FAULTS[fault])
    await sms_in(client)
    [row] = await settled(client, sent, timeout=15)
    # The first send was cut at the deadline (1 s in the test policy), not held for the minute the
    # answer takes, nor re-sent each time the lease ran out: one retry, answered.
    assert row.attempts == 2
    assert [r.answered for r in fake.received] == [fault, "ok"]
    assert row.provider_message_id == fake.accepted[0].id
    # Africa's Talking cannot be asked whether the first one went: the person may get it twice.
    assert [m.to for m in fake.taken] == [PERSON, PERSON]
    assert fake.looked_up == []
    if fault == "trickle":
        await until(lambda: fake.holding == 0)  # the trickling connection was closed, not left to run


@pytest.mark.parametrize("fault", FAULTS)
async def test_twilio_send_that_timed_out_is_found_at_the_carrier_not_sent_again(start, fake, fault):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    fake.script("twilio", FAULTS[fault])
    await sms_in(client)
    [row] = await settled(client, sent, timeout=15)
    [taken] = fake.taken  # the person gets it once
    assert (row.provider, row.provider_message_id) == ("twilio", taken.id)
    assert [r.answered for r in fake.received] == [fault]  # one send; the retry only asked
    assert [q["To"] for q in fake.looked_up] == [PERSON]
    metrics = await (await client.get("/metrics")).text()
    assert 'lifeline_send_attempts_total{provider="twilio",result="found"} 1.0' in metrics


async def test_a_message_twilio_still_queues_is_found(start, fake):
    # Taken but not yet handed to the network: no date_sent, so a DateSent filter would miss it.
    fake.twilio_queue_seconds = 3600
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    fake.script("twilio", HANG)
    await sms_in(client)
    [row] = await settled(client, sent, timeout=15)
    assert row.provider_message_id == fake.taken[0].id
    assert len(fake.taken) == 1


async def test_a_send_that_never_reached_the_carrier_is_sent_again_without_asking(start, fake):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    fake.script("twilio", 500)  # answered: Twilio did not take it
    await sms_in(client)
    [row] = await settled(client, sent)
    assert row.attempts == 2
    assert fake.looked_up == []
    assert len(fake.taken) == 1


async def test_a_dropped_connection_is_asked_about_then_sent_again(start, fake):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    fake.script("twilio", REFUSE)  # dropped without an answer: it might have been taken
    await sms_in(client)
    [row] = await settled(client, sent)
    assert len(fake.looked_up) == 1  # asked; nothing was taken, so sent again
    assert [m.to for m in fake.taken] == [PERSON]
    assert row.provider_message_id == fake.taken[0].id


async def test_a_claim_taken_over_after_its_lease_is_looked_for_first(start, fake, clock):
    """A worker claimed a message, the carrier took it, and the worker died before recording it."""
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    store = client.app[keys.STORE]
    later = clock() + 1001  # out of the running dispatcher's way until the test moves the clock
    relay = outbox.NewMessage("relay-1", PERSON, "Lifeline A7K2: relay", "gsm7", 1, ("twilio",), delay_seconds=1000)
    await store.run(outbox.enqueue, relay, clock())
    [claimed] = await store.run(outbox.claim_due, 1, later, 3)
    dead_worker = TwilioSender(fake.twilio_sid, fake.twilio_token, TWILIO_FROM, fake.url, None, 5)
    try:
        first = await dead_worker.send(claimed.to, claimed.body)
    finally:
        await dead_worker.close()
    clock.advance(1001 + 3 + 1)  # the dead worker's lease ran out
    client.app[keys.DISPATCHER].wake()
    [row] = await settled(client, sent)
    assert row.provider_message_id == first.provider_message_id
    assert len(fake.taken) == 1
    assert row.attempts == 2


FIND = [
    # label, (to, body) sent before the look-up, seconds the look-up's `since` lies before now, found
    ("the same text to the same number", (PERSON, "Lifeline A7K2: relay"), 10, True),
    ("another text to the same number", (PERSON, "Lifeline A7K2: otro"), 10, False),
    ("the same text to another number", ("+15555550143", "Lifeline A7K2: relay"), 10, False),
    ("the same text sent long before the row", (PERSON, "Lifeline A7K2: relay"), -3600, False),
]


@pytest.mark.parametrize("label,earlier,since_ago,found", FIND, ids=[f[0] for f in FIND])
async def test_twilio_find_sent_matches_number_text_and_time(fake, label, earlier, since_ago, found):
    sender = TwilioSender(fake.twilio_sid, fake.twilio_token, TWILIO_FROM, fake.url, None, 5)
    try:
        taken = await sender.send(*earlier)
        answer = await sender.find_sent(PERSON, "Lifeline A7K2: relay", time.time() - since_ago)
    finally:
        await sender.close()
    assert answer == (taken if found else None)


async def test_a_twilio_look_up_that_fails_says_so(fake):
    sender = TwilioSender(fake.twilio_sid, "wrong-token", TWILIO_FROM, fake.url, None, 5)
    try:
        with pytest.raises(SendError) as failed:
            await sender.find_sent(PERSON, "hola", time.time())
    finally:
        await sender.close()
    assert failed.value.detail == "look-up: TwilioException"  # the dispatcher then sends again


async def test_sigkill_mid_send_through_twilio_sends_each_relay_once(fake, database_url, config_dir, tmp_path):
    """A real `serve` killed while its sends hang at the carrier: the next process asks before resending."""
    set_outbox_policy(config_dir, max_attempts=8, backoff_base_seconds=1, backoff_max_seconds=2)
    token = "callback-token-for-the-sigkill-test"
    env = serve_env(
        database_url,
        config_dir,
        tmp_path,
        SMS_PROVIDERS="twilio",
        TWILIO_ACCOUNT_SID=fake.twilio_sid,
        TWILIO_AUTH_TOKEN=fake.twilio_token,
        TWILIO_FROM=TWILIO_FROM,
        TWILIO_API_URL=fake.url,
        PUBLIC_URL=PUBLIC,
        # People write through Africa's Talking (unsigned, simpler to post); replies leave through Twilio.
        AT_USERNAME=fake.at_username,
        AT_CALLBACK_TOKEN=token,
    )
    fake.script("twilio", *[HANG] * len(PEOPLE))
    async with aiohttp.ClientSession() as session:
        first = Server(env, tmp_path)
        await first.start(session)
        try:
            for phone in PEOPLE:
                url = first.url + f"/africastalking/sms?token={token}"
                async with session.post(url, data=payloads.at_sms(phone, "hola")) as response:
                    assert response.status == 200
            await fake.wait_taken(len(PEOPLE), timeout=30)  # every send reached the carrier, none answered
        finally:
            await first.kill()

        second = Server(env, tmp_path)
        await second.start(session)
        try:
            async with asyncio.timeout(60):
                while True:
                    async with session.get(second.url + "/healthz") as response:
                        health = await response.json()
                    if health["outbox"]["waiting"] == 0:
                        break
                    await asyncio.sleep(0.1)
        finally:
            await second.stop()

    assert Counter(message.to for message in fake.taken) == Counter(PEOPLE)  # each person got it once
    assert len(fake.looked_up) == len(PEOPLE)
    assert all(r.answered == HANG for r in fake.received)  # nothing was sent a second time
