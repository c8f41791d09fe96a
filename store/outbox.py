"""Outbox queries: enqueue in the caller's transaction, claim with a lease, record what the carrier said."""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass

import peewee

from store.crypto import Undecryptable, lookup_hash, vault
from store.db import database, inserted_one, is_postgres
from store.models import DeliveryReport, OptOut, OutboxMessage
from store.sql import Statement

log = logging.getLogger("lifeline.outbox")

PENDING = "pending"  # waiting for its due time
SENDING = "sending"  # claimed by a dispatcher until lease_until
SENT = "sent"  # accepted by a carrier
DELIVERED = "delivered"  # the carrier reported the handset got it
UNDELIVERED = "undelivered"  # the carrier accepted it but could not deliver it
FAILED = "failed"  # given up: permanent error, attempts exhausted or deadline passed
CANCELLED = "cancelled"  # withdrawn before it left

# How last_error begins when the last attempt may have reached the carrier without its answer coming back
# (a timeout, or a worker that died mid-send and whose claim was taken over): before sending again, the
# dispatcher asks the carrier whether it already has the message.
UNANSWERED = "unanswered: "
TAKEN_OVER = UNANSWERED + "claim taken over after its lease"

# The tag of a message whose recipient and text are forgotten once it has left (or failed): the answer
# to someone who just erased their data, the last thing Lifeline writes to them.
FORGET = "forget"

# A report may only move a message forward: a late "sent" never undoes "delivered".
_RANK = {PENDING: 0, SENDING: 1, SENT: 2, UNDELIVERED: 3, FAILED: 3, DELIVERED: 4, CANCELLED: 5}


@dataclass(frozen=True)
class NewMessage:
    """An SMS to enqueue: shape already measured, route already chosen."""

    idempotency_key: str
    to: str
    body: str
    encoding: str
    segments: int
    route: tuple[str, ...]
    tag: str | None = None  # what the message belongs to, to withdraw or follow it up as a group
    delay_seconds: float = 0.0  # held back this long (an alert's countdown)
    # Urgent: retried until this long after it falls due. None: routine, tried a fixed number of times.
    deadline_seconds: float | None = None


@dataclass(frozen=True)
class Claimed:
    """A message claimed for sending by one worker, until its lease runs out."""

    id: int
    claim_token: str
    to: str
    body: str
    route: tuple[str, ...]  # providers in failover order
    provider_index: int  # where in the route the next attempt goes
    attempts: int  # including this one
    tag: str | None
    deadline_at: float | None  # urgent: retried until then; None: routine
    created_at: float = 0.0  # no send of it can be older
    unanswered: bool = False  # an earlier attempt may have reached the carrier (see UNANSWERED)


@dataclass(frozen=True)
class Written:
    """An SMS as the outbox holds it, for a simulator to show."""

    id: int
    to: str
    body: str
    encoding: str
    segments: int


_ENQUEUE = Statement(
    """INSERT INTO outbox_message
    (idempotency_key, "to", to_hash, body, encoding, segments, route, provider_index, status, last_error,
     attempts, tag, due_at, first_due_at, deadline_at, created_at, updated_at)
    VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, 0, {p}, {p}, 0, {p}, {p}, {p}, {p}, {p}, {p})
    ON CONFLICT (idempotency_key) DO NOTHING"""
)

_OPTED_OUT = Statement("SELECT 1 FROM opt_out WHERE phone_hash = {p}")

# A row still `sending` when claimed is a stale claim: its worker may have sent it before dying.
_CLAIM_SET = """SET status = {p}, claim_token = {p}, lease_until = {p}, attempts = attempts + 1, updated_at = {p},
        last_error = CASE WHEN status = {p} THEN {p} ELSE last_error END"""
_CLAIM_RETURNING = """RETURNING id, claim_token, "to", body, route, provider_index, attempts, tag, deadline_at,
    created_at, last_error"""
# Stale claims, then due messages, each read in the order of the (status, due_at) index and stopped at the
# limit: the cost stays flat however long the backlog (an OR of both, sorted, read every due row first).
_STALE = "SELECT id FROM outbox_message WHERE status = {p} AND lease_until < {p} ORDER BY due_at LIMIT {p}"
_DUE = "SELECT id FROM outbox_message WHERE status = {p} AND due_at <= {p} ORDER BY due_at LIMIT {p}"
_CLAIM_SQLITE = Statement(
    f"""UPDATE outbox_message {_CLAIM_SET}
    WHERE id IN (SELECT id FROM ({_STALE}) UNION ALL SELECT id FROM ({_DUE}) LIMIT {{p}})
    {_CLAIM_RETURNING}"""
)
# PostgreSQL: other processes skip the rows this one is locking instead of waiting for them. MATERIALIZED:
# each selection runs once, before the update, so no more than the limit is ever locked or claimed (the
# planner could otherwise fold a `WHERE id IN (... SKIP LOCKED)` into a join and run it again).
_CLAIM_POSTGRES = Statement(
    f"""WITH stale AS MATERIALIZED ({_STALE} FOR UPDATE SKIP LOCKED),
    due AS MATERIALIZED ({_DUE} FOR UPDATE SKIP LOCKED)
    UPDATE outbox_message {_CLAIM_SET}
    WHERE id IN (SELECT id FROM stale UNION ALL SELECT id FROM due LIMIT {{p}})
    {_CLAIM_RETURNING}"""
)

_REPORT_LOCK = Statement("SELECT pg_advisory_xact_lock(hashtext({p}))")
# The same for many messages in one round trip, in the order given (volatile functions run after ORDER BY).
_REPORT_LOCKS = Statement(
    "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest({p}::text[]) WITH ORDINALITY AS keys(k, n) ORDER BY n"
)


def enqueue(message: NewMessage, now: float) -> bool:
    """Adds a message unless one with the same idempotency key exists; True if added.

    A message to a number that opted out is kept as failed, never sent: the carrier would refuse it.
    """
    encrypt = vault().encrypt
    to_hash = lookup_hash(message.to)
    opted_out = _OPTED_OUT.one(to_hash) is not None
    due_at = now + message.delay_seconds
    deadline_at = None if message.deadline_seconds is None else due_at + message.deadline_seconds
    cursor = _ENQUEUE.execute(
        message.idempotency_key,
        encrypt(message.to),
        to_hash,
        encrypt(message.body),
        message.encoding,
        message.segments,
        ",".join(message.route),
        FAILED if opted_out else PENDING,
        "recipient opted out" if opted_out else None,
        message.tag,
        due_at,
        due_at,
        deadline_at,
        now,
        now,
    )
    return cursor.rowcount == 1


# Why a message that no key of this deployment can read was given up (see claim_due).
UNREADABLE = "cannot be decrypted with this key"

_QUARANTINE = Statement(
    """UPDATE outbox_message SET status = {p}, last_error = {p}, lease_until = NULL, claim_token = NULL,
    updated_at = {p} WHERE id = {p} AND claim_token = {p}"""
)


def _claim(limit: int, now: float, lease_seconds: float) -> tuple[Statement, tuple]:
    """The claim statement for the open database, and its parameters."""
    claim = (SENDING, uuid.uuid4().hex, now + lease_seconds, now, SENDING, TAKEN_OVER)
    stale, due = (SENDING, now, limit), (PENDING, now, limit)
    if is_postgres():
        return _CLAIM_POSTGRES, (*stale, *due, *claim, limit)
    return _CLAIM_SQLITE, (*claim, *stale, *due, limit)


def claim_due(limit: int, now: float, lease_seconds: float) -> list[Claimed]:
    """Claims up to limit due messages (and stale claims of crashed workers) for this worker.

    A message that cannot be decrypted (written with another key) is marked failed here, once, and
    logged by its id only: the rest of the batch still leaves.
    """
    statement, params = _claim(limit, now, lease_seconds)
    rows = statement.execute(*params).fetchall()
    decrypt = vault().decrypt
    claimed = []
    for row in sorted(rows):
        message_id, claim_token, to, body, route, provider_index, attempts, tag, deadline_at, created_at, error = row
        try:
            to, body = decrypt(to), decrypt(body)
        except Undecryptable:
            _QUARANTINE.execute(FAILED, UNREADABLE, now, message_id, claim_token)
            log.warning("outbox message %d %s: marked failed, not sent", message_id, UNREADABLE)
            continue
        claimed.append(
            Claimed(
                message_id,
                claim_token,
                to,
                body,
                tuple(route.split(",")),
                provider_index,
                attempts,
                tag,
                deadline_at,
                created_at,
                (error or "").startswith(UNANSWERED),
            )
        )
    return claimed


def latest_id() -> int:
    """The id of the newest message, 0 when there is none."""
    return OutboxMessage.select(peewee.fn.MAX(OutboxMessage.id)).scalar() or 0


def written_after(message_id: int) -> list[Written]:
    """Every message enqueued after the one with this id, oldest first."""
    rows = OutboxMessage.select().where(OutboxMessage.id > message_id).order_by(OutboxMessage.id)
    return [Written(row.id, row.to, row.body, row.encoding, row.segments) for row in rows]


# After every claim that left slots free: written once (see store/sql.py).
_NEXT_WAKE = Statement(
    """SELECT (SELECT MIN(due_at) FROM outbox_message WHERE status = {p}),
        (SELECT MIN(lease_until) FROM outbox_message WHERE status = {p})"""
)


def next_wake_at() -> float | None:
    """When the next message falls due (or a claim goes stale), if any is waiting."""
    pending, leased = _NEXT_WAKE.one(PENDING, SENDING)
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


def _claimed(message_id: int, token: str):
    return (OutboxMessage.id == message_id) & (OutboxMessage.claim_token == token) & (OutboxMessage.status == SENDING)


def _serialise_reports(provider: str, provider_message_id: str) -> None:
    """PostgreSQL: mark_sent and record_report for one message take turns, so neither misses the
    other's write under READ COMMITTED. (SQLite transactions already take turns.)"""
    if is_postgres():
        _REPORT_LOCK.execute(f"{provider}:{provider_message_id}")


@dataclass(frozen=True)
class Accepted:
    """A claimed message a carrier took, to record as sent."""

    id: int
    claim_token: str
    provider: str
    provider_message_id: str | None


# Messages recorded per statement: well within SQLite's limit on parameters (4 a message).
MARK_SENT_ROWS = 250


def mark_sent(accepted: list[Accepted], now: float) -> set[int]:
    """Records what the carriers took, all in the caller's one transaction, then applies any report that
    raced ahead of a send; returns the ids recorded (not one whose claim was taken over meanwhile)."""
    identified = [a for a in accepted if a.provider_message_id]
    if identified and is_postgres():
        # See _serialise_reports; sorted, so two processes' batches never wait for each other in a circle.
        _REPORT_LOCKS.execute(sorted({f"{a.provider}:{a.provider_message_id}" for a in identified}))
    placeholder = database.obj.param
    empty = vault().encrypt("")  # what a message to someone who erased themselves keeps once it left
    recorded: set[int] = set()
    for first in range(0, len(accepted), MARK_SENT_ROWS):
        chunk = accepted[first : first + MARK_SENT_ROWS]
        params: list = [SENT, now, now, FORGET, empty, FORGET, empty, FORGET, now]
        for a in chunk:
            params += [a.id, a.claim_token, a.provider, a.provider_message_id]
        params.append(SENDING)
        recorded.update(row[0] for row in database.execute_sql(_mark_sent_sql(len(chunk), placeholder), params))
    for provider in {a.provider for a in identified}:
        ids = [a.provider_message_id for a in identified if a.provider == provider and a.id in recorded]
        for first in range(0, len(ids), MARK_SENT_ROWS):
            chunk = ids[first : first + MARK_SENT_ROWS]
            early = database.execute_sql(_early_reports_sql(len(chunk), placeholder), [provider, *chunk])
            for provider_message_id, status, error in early.fetchall():
                _advance(provider, provider_message_id, status, error, now)
    return recorded


@functools.cache
def _mark_sent_sql(rows: int, p: str) -> str:
    """The update for this many messages, with this database's placeholder."""
    values = ", ".join([f"({p}, {p}, {p}, {p})"] * rows)
    return (
        f"UPDATE outbox_message SET status = {p}, provider = v.column3, provider_message_id = v.column4, "
        f"sent_at = {p}, lease_until = NULL, last_error = NULL, updated_at = {p}, "
        f'"to" = CASE WHEN tag = {p} THEN {p} ELSE "to" END, body = CASE WHEN tag = {p} THEN {p} ELSE body END, '
        f"purged_at = CASE WHEN tag = {p} THEN {p} ELSE purged_at END FROM (VALUES {values}) AS v "
        f"WHERE outbox_message.id = v.column1 AND outbox_message.claim_token = v.column2 "
        f"AND outbox_message.status = {p} RETURNING outbox_message.id"
    )


@functools.cache
def _early_reports_sql(ids: int, p: str) -> str:
    """The reports already stored for this many message ids of one provider."""
    return (
        "SELECT provider_message_id, status, error FROM delivery_report "
        f"WHERE provider = {p} AND provider_message_id IN ({', '.join([p] * ids)})"
    )


def reschedule(
    message_id: int, token: str, provider_index: int, due_at: float, error: str, now: float, unanswered: bool = False
) -> bool:
    """Puts a claimed message back to wait for its next attempt; unanswered: an attempt may have reached
    the carrier, so the next one asks it first."""
    return bool(
        OutboxMessage.update(
            status=PENDING,
            provider_index=provider_index,
            due_at=due_at,
            lease_until=None,
            claim_token=None,
            last_error=((UNANSWERED if unanswered else "") + error)[:255],
            updated_at=now,
        )
        .where(_claimed(message_id, token))
        .execute()
    )


def postpone(message_id: int, token: str, provider_index: int, due_at: float, now: float) -> bool:
    """Puts a claimed message back untried (every provider asked us to wait): the claim's attempt is
    not counted."""
    return bool(
        OutboxMessage.update(
            status=PENDING,
            provider_index=provider_index,
            due_at=due_at,
            lease_until=None,
            claim_token=None,
            attempts=OutboxMessage.attempts - 1,
            updated_at=now,
        )
        .where(_claimed(message_id, token))
        .execute()
    )


_RETRY_NOW = Statement(
    """UPDATE outbox_message SET due_at = {p}
    WHERE status = {p} AND attempts > 0 AND due_at > {p} AND ',' || route || ',' LIKE {p}"""
)


def retry_now(provider: str, now: float) -> int:
    """Brings forward the retries of messages that may go through this provider (it works again);
    returns how many. Messages held back on purpose (never tried yet) keep their time."""
    return _RETRY_NOW.execute(now, PENDING, now, f"%,{provider},%").rowcount


def mark_failed(message_id: int, token: str, provider: str | None, error: str, now: float) -> bool:
    """Gives up on a claimed message."""
    failed = bool(
        OutboxMessage.update(status=FAILED, provider=provider, lease_until=None, last_error=error[:255], updated_at=now)
        .where(_claimed(message_id, token))
        .execute()
    )
    if failed:
        _forget_if_asked(message_id, now)
    return failed


def _forget_if_asked(message_id: int, now: float) -> None:
    OutboxMessage.update(to="", body="", purged_at=now).where(
        (OutboxMessage.id == message_id) & (OutboxMessage.tag == FORGET)
    ).execute()


def record_report(provider: str, provider_message_id: str, status: str, error: str | None, now: float) -> bool:
    """Stores a carrier status report once and applies it; False for a duplicate."""
    _serialise_reports(provider, provider_message_id)
    new = inserted_one(
        DeliveryReport.insert(
            provider=provider,
            provider_message_id=provider_message_id,
            status=status,
            error=(error or None) and error[:255],
            received_at=now,
        ).on_conflict_ignore()
    )
    if not new:
        return False
    _advance(provider, provider_message_id, status, error, now)
    return True


def _advance(provider: str, provider_message_id: str, status: str, error: str | None, now: float) -> None:
    if status not in _RANK:
        return  # "queued" at the carrier tells nothing new about a message it has accepted
    lower = [s for s, rank in _RANK.items() if rank < _RANK[status]]
    changes = {OutboxMessage.status: status, OutboxMessage.updated_at: now}
    if error:
        changes[OutboxMessage.last_error] = error[:255]
    OutboxMessage.update(changes).where(
        (OutboxMessage.provider == provider)
        & (OutboxMessage.provider_message_id == provider_message_id)
        & (OutboxMessage.status.in_(lower))
    ).execute()


@dataclass(frozen=True)
class Backlog:
    """How far behind the outbox is."""

    waiting: int
    oldest_age_seconds: float


def backlog(now: float) -> Backlog:
    """How many messages wait to leave, and how long the oldest has waited."""
    row = (
        OutboxMessage.select(peewee.fn.COUNT(OutboxMessage.id), peewee.fn.MIN(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_([PENDING, SENDING]))
        .tuples()
        .get()
    )
    count, oldest = row
    return Backlog(waiting=count, oldest_age_seconds=max(0.0, now - oldest) if oldest is not None else 0.0)


def overdue_urgent(now: float, after_seconds: float) -> int:
    """Urgent messages still waiting to leave more than after_seconds after they could first leave."""
    return (
        OutboxMessage.select()
        .where(
            OutboxMessage.status.in_([PENDING, SENDING])
            & OutboxMessage.deadline_at.is_null(False)
            & (OutboxMessage.first_due_at <= now - after_seconds)
        )
        .count()
    )


_CLAIM_ALARM = Statement(
    """INSERT INTO outbox_alarm (name, raised_at) VALUES ({p}, {p})
    ON CONFLICT (name) DO UPDATE SET raised_at = excluded.raised_at WHERE outbox_alarm.raised_at <= {p}"""
)


def claim_alarm(name: str, now: float, every_seconds: float) -> bool:
    """True for the one caller (of all processes) that may raise this alarm now: the first, or the first
    once every_seconds have passed since it was last raised."""
    return _CLAIM_ALARM.execute(name, now, now - every_seconds).rowcount == 1


def totals_by_provider_and_status() -> list[tuple[str, str, int, int]]:
    """(provider, status, messages, segments) for /metrics; provider is 'none' before the first attempt."""
    query = (
        OutboxMessage.select(
            peewee.fn.COALESCE(OutboxMessage.provider, "none"),
            OutboxMessage.status,
            peewee.fn.COUNT(OutboxMessage.id),
            peewee.fn.SUM(OutboxMessage.segments),
        )
        .group_by(peewee.fn.COALESCE(OutboxMessage.provider, "none"), OutboxMessage.status)
        .tuples()
    )
    return [(p, s, int(n), int(seg or 0)) for p, s, n, seg in query]


def opt_out(phone: str, now: float) -> None:
    """The number sent STOP (or another opt-out word): nothing more goes to it."""
    OptOut.insert(phone_hash=lookup_hash(phone), opted_out_at=now).on_conflict_ignore().execute()


def opt_in(phone: str) -> None:
    """The number sent START (or another opt-in word)."""
    OptOut.delete().where(OptOut.phone_hash == lookup_hash(phone)).execute()


_WITHDRAW = Statement(
    "UPDATE outbox_message SET status = {p}, updated_at = {p} WHERE tag = {p} AND status = {p} RETURNING to_hash"
)


def withdraw(tag: str, now: float) -> int:
    """Cancels the messages of this group that have not left yet; returns how many."""
    return len(_WITHDRAW.execute(CANCELLED, now, tag, PENDING).fetchall())


def withdraw_all(tags: list[str], now: float) -> int:
    """Cancels the messages of these groups that have not left yet; returns how many."""
    return (
        OutboxMessage.update(status=CANCELLED, updated_at=now)
        .where(OutboxMessage.tag.in_(tags) & (OutboxMessage.status == PENDING))
        .execute()
    )


def recipients_told(tag: str, pending: bool = False) -> list[str]:
    """Numbers a message of this group may have reached (sent, delivered, or leaving right now), and with
    pending those it is about to reach; in the order they were first written to."""
    statuses = [SENDING, SENT, DELIVERED, UNDELIVERED] + ([PENDING] if pending else [])
    rows = (
        OutboxMessage.select(OutboxMessage.to)
        .where((OutboxMessage.tag == tag) & OutboxMessage.status.in_(statuses))
        .order_by(OutboxMessage.id)
    )
    return list(dict.fromkeys(row.to for row in rows))


def tag_of(provider: str, provider_message_id: str) -> str | None:
    """The group a sent message belongs to."""
    row = (
        OutboxMessage.select(OutboxMessage.tag)
        .where((OutboxMessage.provider == provider) & (OutboxMessage.provider_message_id == provider_message_id))
        .first()
    )
    return row.tag if row else None


def statuses_by_recipient(tag: str) -> dict[str, list[str]]:
    """The statuses of the group's messages, per recipient's number (a relay resent through another
    provider counts for the same recipient)."""
    found: dict[str, list[str]] = {}
    for row in OutboxMessage.select(OutboxMessage.to, OutboxMessage.status).where(OutboxMessage.tag == tag):
        found.setdefault(row.to, []).append(row.status)
    return found


def unreachable(numbers: list[str]) -> set[str]:
    """The numbers a text will not reach: opted out (STOP), or the last text to them failed."""
    hashes = {lookup_hash(number): number for number in numbers}
    if not hashes:
        return set()
    opted_out = {row.phone_hash for row in OptOut.select(OptOut.phone_hash).where(OptOut.phone_hash.in_(list(hashes)))}
    latest = (
        OutboxMessage.select(OutboxMessage.to_hash, peewee.fn.MAX(OutboxMessage.id).alias("last"))
        .where(OutboxMessage.to_hash.in_(list(hashes)))
        .group_by(OutboxMessage.to_hash)
    )
    failed = {
        row.to_hash
        for row in OutboxMessage.select(OutboxMessage.to_hash).where(
            OutboxMessage.id.in_([row.last for row in latest]) & OutboxMessage.status.in_([FAILED, UNDELIVERED])
        )
    }
    return {hashes[h] for h in opted_out | failed}


def resend_elsewhere(provider: str, provider_message_id: str, now: float) -> bool:
    """A copy of a message the carrier could not deliver, through the next provider of its route;
    False when there is no other provider (or it was already resent)."""
    row = (
        OutboxMessage.select()
        .where((OutboxMessage.provider == provider) & (OutboxMessage.provider_message_id == provider_message_id))
        .first()
    )
    if row is None:
        return False
    others = [p for p in row.route.split(",") if p != provider]
    if not others or row.idempotency_key.endswith(":elsewhere") or row.tag == FORGET:
        return False
    return enqueue(
        NewMessage(
            idempotency_key=f"{row.idempotency_key}:elsewhere",
            to=row.to,
            body=row.body,
            encoding=row.encoding,
            segments=row.segments,
            route=(*others, provider),
            tag=row.tag,
            deadline_seconds=None if row.deadline_at is None else max(0.0, row.deadline_at - now),
        ),
        now,
    )


@dataclass(frozen=True)
class Sent:
    """One message of a group, as the desk's timeline shows it."""

    to: str
    status: str
    provider: str | None
    tag: str | None
    created_at: float
    sent_at: float | None
    segments: int
    last_error: str | None
    reports: tuple[str, ...]  # the carrier's statuses, in order


def history(tags: list[str]) -> list[Sent]:
    """Every message of these groups, oldest first, with the carrier's reports."""
    rows = list(OutboxMessage.select().where(OutboxMessage.tag.in_(tags)).order_by(OutboxMessage.id))
    ids = [(r.provider, r.provider_message_id) for r in rows if r.provider_message_id]
    reports: dict[tuple[str, str], list[str]] = {}
    if ids:
        query = DeliveryReport.select().where(DeliveryReport.provider_message_id.in_([i for _, i in ids]))
        for report in query.order_by(DeliveryReport.received_at):
            reports.setdefault((report.provider, report.provider_message_id), []).append(report.status)
    return [
        Sent(
            r.to,
            r.status,
            r.provider,
            r.tag,
            r.created_at,
            r.sent_at,
            r.segments,
            r.last_error,
            tuple(reports.get((r.provider, r.provider_message_id), ())),
        )
        for r in rows
    ]
