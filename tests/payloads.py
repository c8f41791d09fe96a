"""Webhook payloads with the carriers' real field names, and Twilio's real signature."""

from __future__ import annotations

import itertools

from twilio.request_validator import RequestValidator

_ids = itertools.count(1)


def at_ussd(phone: str, text: str = "", session: str = "ATUid_test1", **extra) -> dict:
    return {
        "sessionId": session,
        "serviceCode": "*384*123#",
        "phoneNumber": phone,
        "networkCode": "63902",
        "text": text,
        **extra,
    }


def at_ussd_end(session: str = "ATUid_test1", status: str = "Success", **extra) -> dict:
    return {
        "sessionId": session,
        "serviceCode": "*384*123#",
        "networkCode": "63902",
        "phoneNumber": "+15555550142",
        "status": status,
        "cost": "KES 0.0000",
        "date": "2026-11-23 10:00:00",
        "input": "1",
        "hopsCount": "2",
        "errorMessage": "",
        "lastAppResponse": "END Gracias",
        "durationInMillis": "3210",
        **extra,
    }


def at_sms(phone: str, text: str, message_id: str | None = None, **extra) -> dict:
    return {
        "from": phone,
        "to": "12345",
        "text": text,
        "date": "2026-11-23 10:00:00",
        "id": message_id or f"at-in-{next(_ids)}",
        "linkId": "SampleLinkId123",
        "networkCode": "63902",
        **extra,
    }


def at_delivery(message_id: str, status: str, **extra) -> dict:
    return {
        "id": message_id,
        "status": status,
        "phoneNumber": "+15555550142",
        "networkCode": "63902",
        "retryCount": "0",
        **extra,
    }


def twilio_sms(phone: str, body: str, sid: str | None = None, **extra) -> dict:
    sid = sid or f"SM{next(_ids):032x}"
    return {
        "ToCountry": "US",
        "ToState": "TX",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "HOUSTON",
        "FromZip": "77002",
        "SmsSid": sid,
        "FromState": "TX",
        "SmsStatus": "received",
        "FromCity": "HOUSTON",
        "Body": body,
        "FromCountry": "US",
        "To": "+15555550100",
        "MessagingServiceSid": "",
        "ToZip": "77002",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def twilio_status(sid: str, status: str, **extra) -> dict:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "+15555550100",
        "To": "+15555550142",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def twilio_signature(token: str, url: str, params: dict) -> dict:
    """The X-Twilio-Signature header Twilio would send for this URL and form."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}
