"""Twilio's SMS sender: the official SDK's aiohttp client, Retry-After read, errors classified.

Imported only when a sender is built: the SDK's REST client and requests take some 40 ms to import, which a
service that sends through another provider would pay at every start."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.carriers.base import Failure, SendError, Sent, retry_after_seconds
from gateway.carriers.twilio import NAME
from gateway.outbox.policy import OutboxPolicy

# Error codes that mean no provider will reach this recipient.
# https://www.twilio.com/docs/api/errors
RECIPIENT_ERRORS = {
    21211,  # invalid 'To' number
    21408,  # no permission to send to this region
    21610,  # recipient replied STOP (opted out)
    21612,  # 'To' number cannot be reached from this 'From'
    21614,  # 'To' number is not a mobile number
}
THROTTLED_ERRORS = {20429, 14107}  # too many requests; SMS send rate exceeded

# A look-up for a message whose send went unanswered reads at most this many of the newest messages to
# the number, this many a page.
LOOKUP_LIMIT = 200
LOOKUP_PAGE_SIZE = 50
# Twilio's clock and ours may differ: a message it dates this much before the outbox row still counts.
CLOCK_SKEW_SECONDS = 120


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client, reading Retry-After: TwilioRestException keeps no headers, so a 429 or
    5xx that says when to come back is raised here, before the SDK turns it into its exception.

    Its session keeps as many connections as the dispatcher has sends in flight (the SDK's own holds
    aiohttp's default 100, which a larger concurrency would queue behind)."""

    def __init__(self, connections: int):
        super().__init__(pool_connections=False)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))

    # The SDK formats each request's URL and headers and each answer's headers for its log before asking
    # whether the log wants them (serve keeps it at WARNING): about 10 µs a send, skipped when unwanted.
    def log_request(self, kwargs) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code, response) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)

    async def request(self, method, url, *args, **kwargs):
        response = await super().request(method, url, *args, **kwargs)
        status = response.status_code
        if status == 429 or status >= 500:
            wait = retry_after_seconds((response.headers or {}).get("Retry-After"))
            if wait:
                raise SendError(Failure.RETRY, f"HTTP {status}, retry after {wait:g} s", retry_after=wait)
        return response


class TwilioSender:
    """Sends through the SDK's aiohttp client; create it inside the running loop, close it on shutdown."""

    name = NAME

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_: str,
        api_url: str,
        status_url: str | None,
        timeout: float,
        concurrency: int = OutboxPolicy.concurrency,
    ):
        self._http = _HttpClient(concurrency)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        # The SDK rewrites the host from TWILIO_REGION / TWILIO_EDGE (read from os.environ even when
        # given an empty environment): clear both so TWILIO_API_URL is the one host used.
        self._client.region = None
        self._client.edge = None
        self._client.api.base_url = api_url
        self._from = from_
        self._status_url = status_url
        self._timeout = timeout

    async def send(self, to: str, body: str) -> Sent:
        """Sends one SMS within the policy's send_timeout_seconds; raises SendError."""
        try:
            async with asyncio.timeout(self._timeout):
                message = await self._client.messages.create_async(
                    to=to, from_=self._from, body=body, status_callback=self._status_url
                )
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing reached Twilio
            raise SendError(Failure.RETRY, type(exc).__name__) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:  # the answer did not come
            raise SendError(Failure.RETRY, type(exc).__name__, unanswered=True) from None
        except TwilioException as exc:  # an answer the SDK could not read
            raise SendError(Failure.RETRY, str(exc)[:120], unanswered=True) from None
        return Sent(provider_message_id=message.sid)

    async def find_sent(self, to: str, body: str, since: float) -> Sent | None:
        """The message with this text Twilio took for this number since then, from its message list
        (To and From filtered, newest first); None when there is none.

        Not filtered by DateSent: a message Twilio took but has not handed to the network yet (queued: a
        long code sends about one segment a second) has no date_sent, and a DateSent filter leaves it out,
        which is exactly the message a timed-out send may have left behind.
        """
        earliest = datetime.fromtimestamp(since - CLOCK_SKEW_SECONDS, UTC)
        try:
            async with asyncio.timeout(self._timeout):
                found = await self._client.messages.stream_async(
                    to=to, from_=self._from, limit=LOOKUP_LIMIT, page_size=LOOKUP_PAGE_SIZE
                )
                async for message in found:
                    created = message.date_created
                    if message.body == body and (created is None or created >= earliest):
                        return Sent(provider_message_id=message.sid)
        except TwilioRestException as exc:
            raise _classify(exc) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SendError(Failure.RETRY, f"look-up: {type(exc).__name__}") from None
        except TwilioException as exc:  # an error page, or an answer the SDK could not read
            raise SendError(Failure.RETRY, f"look-up: {type(exc).__name__}") from None
        return None

    async def close(self) -> None:
        await self._http.close()


def _classify(exc: TwilioRestException) -> SendError:
    detail = f"HTTP {exc.status} code {exc.code}"
    if exc.code in RECIPIENT_ERRORS:
        return SendError(Failure.RECIPIENT, detail)
    if exc.status == 429 or exc.code in THROTTLED_ERRORS or exc.status >= 500:
        return SendError(Failure.RETRY, detail)
    return SendError(Failure.PROVIDER, detail)
