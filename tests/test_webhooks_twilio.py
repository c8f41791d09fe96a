"""Twilio webhooks, signed the way Twilio signs them (the twilio package's RequestValidator)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator, add_port, remove_port

from gateway.carriers.twilio import signed as twilio_signed
from store.models import InboundMessage, OutboxMessage
from tests import payloads
from tests.conftest import PERSON, in_store

PUBLIC = "https://lifeline.example.org"


def signed(fake, path: str, form: dict, token: str | None = None) -> dict:
    return payloads.twilio_signature(token or fake.twilio_token, PUBLIC + path, form)


SMS_CASES = [
    ("valid", payloads.twilio_sms(PERSON, "hola"), "sign", 200),
    (
        "extra fields Twilio adds later",
        payloads.twilio_sms(PERSON, "hola", AddOns='{"status":"ok"}', NewField="x"),
        "sign",
        200,
    ),
    ("emoji and accents", payloads.twilio_sms(PERSON, "¿Qué hago? 🙏"), "sign", 200),
    ("no signature", payloads.twilio_sms(PERSON, "hola"), None, 403),
    ("forged signature", payloads.twilio_sms(PERSON, "hola"), "forged", 403),
    ("signed with another token", payloads.twilio_sms(PERSON, "hola"), "other-token", 403),
    ("body changed after signing", payloads.twilio_sms(PERSON, "hola"), "tamper", 403),
    ("missing From", {k: v for k, v in payloads.twilio_sms(PERSON, "x").items() if k != "From"}, "sign", 400),
    (
        "missing MessageSid and SmsSid",
        {k: v for k, v in payloads.twilio_sms(PERSON, "x").items() if "Sid" not in k or k == "AccountSid"},
        "sign",
        400,
    ),
    ("invalid From", payloads.twilio_sms("+999", "x"), "sign", 400),
    ("Body over 1600 characters", payloads.twilio_sms(PERSON, "a" * 1601), "sign", 400),
]


@pytest.mark.parametrize("label,form,signing,status", SMS_CASES, ids=[c[0] for c in SMS_CASES])
async def test_twilio_sms_webhook(start, fake, label, form, signing, status):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    headers = {}
    posted = dict(form)
    if signing == "sign":
        headers = signed(fake, "/twilio/sms", form)
    elif signing == "forged":
        headers = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    elif signing == "other-token":
        headers = signed(fake, "/twilio/sms", form, token="other-token")
    elif signing == "tamper":
        headers = signed(fake, "/twilio/sms", form)
        posted["Body"] = "ALERTA"
    response = await client.post("/twilio/sms", data=posted, headers=headers)
    body = await response.text()
    assert response.status == status, body
    if status == 200:
        assert response.content_type == "application/xml"
        # Empty TwiML: the answer leaves through the outbox.
        assert body == '<?xml version="1.0" encoding="UTF-8"?><Response />'
        await fake.wait_for(1)
        [sms] = fake.accepted
        assert (sms.provider, sms.to, sms.sender) == ("twilio", PERSON, "+15555550100")
    else:
        assert await in_store(client, InboundMessage.select().count) == 0


async def test_signature_over_the_url_seen_when_no_public_url(start, fake):
    client = await start("twilio")
    form = payloads.twilio_sms(PERSON, "hola")
    url = str(client.make_url("/twilio/sms"))
    response = await client.post(
        "/twilio/sms", data=form, headers=payloads.twilio_signature(fake.twilio_token, url, form)
    )
    assert response.status == 200


async def test_twilio_webhook_refused_when_no_auth_token_is_configured(start, fake):
    # With only the console provider there is no Twilio token: nothing can be verified, so the Twilio
    # callbacks are not there at all.
    client = await start("console", TWILIO_AUTH_TOKEN="", TWILIO_ACCOUNT_SID="", PUBLIC_URL=PUBLIC)
    form = payloads.twilio_sms(PERSON, "hola")
    response = await client.post("/twilio/sms", data=form, headers=signed(fake, "/twilio/sms", form))
    assert response.status == 404
    assert await in_store(client, InboundMessage.select().count) == 0


async def test_retried_twilio_webhook_is_processed_once(start, fake):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    form = payloads.twilio_sms(PERSON, "hola", sid="SM" + "a" * 32)
    for _ in range(3):
        response = await client.post("/twilio/sms", data=form, headers=signed(fake, "/twilio/sms", form))
        assert response.status == 200
    await fake.wait_for(1)
    assert await in_store(client, OutboxMessage.select().count) == 1
    assert len(fake.accepted) == 1


STATUS_CASES = [
    ("queued", "queued", 204),
    ("sent", "sent", 204),
    ("delivered", "delivered", 204),
    ("undelivered", "undelivered", 204),
    ("failed", "failed", 204),
    ("unknown status", "exploded", 400),
]


@pytest.mark.parametrize("label,status_word,http_status", STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
async def test_twilio_status_callback_shape(start, fake, label, status_word, http_status):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    form = payloads.twilio_status("SM" + "b" * 32, status_word)
    response = await client.post("/twilio/status", data=form, headers=signed(fake, "/twilio/status", form))
    assert response.status == http_status


async def test_twilio_status_callback_needs_a_signature(start, fake):
    client = await start("twilio", PUBLIC_URL=PUBLIC)
    response = await client.post("/twilio/status", data=payloads.twilio_status("SM" + "b" * 32, "delivered"))
    assert response.status == 403


# Text Twilio may post: any character but lone surrogates (which no UTF-8 body decodes to).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_URLS = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.sampled_from(["http", "https"]),
    st.sampled_from(["lifeline.example.org", "127.0.0.1", "[::1]"]),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.sampled_from(["/twilio/sms", "/twilio/status", "/"]),
    st.sampled_from(["", "?", "?a=1&b=2", "?token=x%20y"]),
)


@given(
    url=_URLS,
    pairs=st.lists(st.tuples(st.sampled_from(["Body", "From", "To", "MessageSid", "b", "é"]), _TEXT), max_size=8),
    signed_as=st.sampled_from(["the URL", "without its port", "with its port", "another URL", "forged"]),
    forged=st.text(max_size=40),
)
def test_a_signature_is_checked_as_the_sdk_checks_it(url, pairs, signed_as, forged):
    # Repeated names and repeated pairs included: Twilio signs every distinct value of a name.
    form = MultiDictProxy(MultiDict(pairs))
    sdk = RequestValidator("token")
    signing_url = {
        "the URL": url,
        "without its port": remove_port(urlparse(url)),
        "with its port": add_port(urlparse(url)),
        "another URL": url + "x",
    }.get(signed_as)
    signature = forged if signing_url is None else sdk.compute_signature(signing_url, form)
    assert twilio_signed(url, form, signature, "token") is sdk.validate(url, form, signature)
    assert not twilio_signed(url, form, signature, "another token")


def test_twilio_signs_the_url_with_or_without_its_port_and_either_is_taken():
    form = MultiDictProxy(MultiDict(payloads.twilio_sms(PERSON, "hola")))
    sdk = RequestValidator("token")
    for called, signed_url in [
        ("https://lifeline.example.org/twilio/sms", "https://lifeline.example.org:443/twilio/sms"),
        ("https://lifeline.example.org:443/twilio/sms", "https://lifeline.example.org/twilio/sms"),
        ("http://127.0.0.1:8080/twilio/sms", "http://127.0.0.1/twilio/sms"),
    ]:
        assert twilio_signed(called, form, sdk.compute_signature(signed_url, form), "token")
        assert twilio_signed(called, form, sdk.compute_signature(called, form), "token")
    assert not twilio_signed(
        "https://lifeline.example.org/twilio/sms",
        form,
        sdk.compute_signature("https://lifeline.example.org:8443/twilio/sms", form),
        "token",
    )
