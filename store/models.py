"""Tables. Times are UTC epoch seconds (float): one representation on SQLite and PostgreSQL."""

from __future__ import annotations

import peewee

from store.crypto import EncryptedField
from store.db import database


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Person(BaseModel):
    """Someone who has written or dialled in; found by the keyed hash of their number."""

    phone_hash = peewee.CharField(max_length=64, unique=True)
    phone = EncryptedField()
    name = EncryptedField(null=True)
    language = peewee.CharField(max_length=8, null=True)
    # ISO code of the consular network the person chose; None: the one their number points to.
    nationality = peewee.CharField(max_length=2, null=True)
    location = EncryptedField(null=True)  # home: a US ZIP code, or city and state, as they gave it
    location_updated_at = peewee.DoubleField(null=True)
    safety_pin = peewee.CharField(max_length=64, null=True)  # keyed hashes, never the PINs
    duress_pin = peewee.CharField(max_length=64, null=True)
    # The emergency PIN "removed" the PINs: the phone is shown none, both are kept, every cancel is under duress.
    pins_hidden_at = peewee.DoubleField(null=True)
    created_at = peewee.DoubleField()
    last_seen_at = peewee.DoubleField()


class InboundMessage(BaseModel):
    """One webhook from a carrier, kept to answer a retried webhook the same way, once."""

    carrier = peewee.CharField(max_length=32)
    external_id = peewee.CharField(max_length=128)
    channel = peewee.CharField(max_length=8)
    person = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    text = EncryptedField()
    reply = EncryptedField(null=True)  # the USSD screen shown (SMS answers leave through the outbox)
    reply_ends = peewee.BooleanField(default=True)
    received_at = peewee.DoubleField()

    class Meta:
        indexes = ((("carrier", "external_id"), True),)


class UssdSessionEnd(BaseModel):
    """The carrier's end-of-session notification: how a USSD session ended, for operators."""

    carrier = peewee.CharField(max_length=32)
    session_id = peewee.CharField(max_length=128)
    status = peewee.CharField(max_length=16)
    hops = peewee.IntegerField(null=True)
    duration_ms = peewee.IntegerField(null=True)
    error_message = peewee.CharField(max_length=255, null=True)
    recorded_at = peewee.DoubleField()

    class Meta:
        indexes = ((("carrier", "session_id"), True),)


class OutboxMessage(BaseModel):
    """One outbound SMS, written in the transaction that caused it; the dispatcher sends it."""

    idempotency_key = peewee.CharField(max_length=255, unique=True)
    to = EncryptedField()
    to_hash = peewee.CharField(max_length=64, index=True)
    body = EncryptedField()
    encoding = peewee.CharField(max_length=8)
    segments = peewee.IntegerField()
    route = peewee.CharField(max_length=128)  # providers to try, in order, comma-joined
    provider_index = peewee.IntegerField(default=0)  # position in route of the next attempt
    status = peewee.CharField(max_length=16)
    attempts = peewee.IntegerField(default=0)
    due_at = peewee.DoubleField()
    lease_until = peewee.DoubleField(null=True)
    claim_token = peewee.CharField(max_length=32, null=True)
    provider = peewee.CharField(max_length=32, null=True)
    provider_message_id = peewee.CharField(max_length=128, null=True)
    last_error = peewee.CharField(max_length=255, null=True)
    tag = peewee.CharField(max_length=64, null=True, index=True)  # what it belongs to ("alert:A7K2")
    first_due_at = peewee.DoubleField(null=True)  # when it could first leave (after any hold)
    # Urgent messages are retried until this time; None: a routine message, tried max_attempts times.
    deadline_at = peewee.DoubleField(null=True)
    purged_at = peewee.DoubleField(null=True)  # the text was deleted after the retention period
    created_at = peewee.DoubleField()
    sent_at = peewee.DoubleField(null=True)
    updated_at = peewee.DoubleField()

    class Meta:
        indexes = (
            (("status", "due_at"), False),
            (("provider", "provider_message_id"), False),
        )


class OutboxAlarm(BaseModel):
    """When an alarm about the outbox (urgent messages overdue) was last raised, so that several server
    processes raise it once per interval between them."""

    name = peewee.CharField(max_length=32, primary_key=True)
    raised_at = peewee.DoubleField()


class DeliveryReport(BaseModel):
    """A carrier's status report, kept once per (message, status) even if it arrives before the send is recorded."""

    provider = peewee.CharField(max_length=32)
    provider_message_id = peewee.CharField(max_length=128)
    status = peewee.CharField(max_length=16)
    error = peewee.CharField(max_length=255, null=True)
    received_at = peewee.DoubleField()

    class Meta:
        indexes = ((("provider", "provider_message_id", "status"), True),)


class ConversationSession(BaseModel):
    """Where a person is in a flow: a USSD session, or an SMS question waiting for its answer."""

    key = peewee.CharField(max_length=200, unique=True)  # ussd:<carrier>:<session id> or sms:<phone hash>
    phone_hash = peewee.CharField(max_length=64, index=True)
    channel = peewee.CharField(max_length=8)
    state = EncryptedField()  # the engine's session as JSON: it may hold typed names and numbers
    consumed = peewee.IntegerField(default=0)  # USSD inputs already applied
    ended = peewee.BooleanField(default=False)  # nothing to offer again: finished, or at the main menu
    updated_at = peewee.DoubleField()
    expires_at = peewee.DoubleField(index=True)


class OptOut(BaseModel):
    """A number that sent a carrier opt-out word: it gets nothing until it opts in again."""

    phone_hash = peewee.CharField(max_length=64, unique=True)
    opted_out_at = peewee.DoubleField()


class Consent(BaseModel):
    """A person agreed to what Lifeline keeps about them: which text they saw, and when."""

    person = peewee.ForeignKeyField(Person, unique=True, on_delete="CASCADE")
    text_version = peewee.CharField(max_length=32)
    agreed_at = peewee.DoubleField()


class Contact(BaseModel):
    """A trusted contact a person registered; told once, and on every alert."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=True)
    phone = EncryptedField()
    phone_hash = peewee.CharField(max_length=64, index=True)
    name = EncryptedField()
    language = peewee.CharField(max_length=8, null=True)
    added_at = peewee.DoubleField()

    class Meta:
        indexes = ((("person", "phone_hash"), True),)


class Alert(BaseModel):
    """A call for help: who raised it, what they said, which consulate was told, and how it ended."""

    reference = peewee.CharField(max_length=8, unique=True)
    # None once the person erased their data: the consulate keeps the case, not who it was.
    person = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=True)
    status = peewee.CharField(max_length=16, index=True)  # open | cancelled | closed
    note = EncryptedField(null=True)  # the free text sent with ALERTA
    location = EncryptedField(null=True)  # where the person said they were, if asked after the alert
    consulate = peewee.CharField(max_length=64)  # a consulate id, or a network's central: "central:MX"
    contacts_told = peewee.IntegerField(default=0)
    created_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()
    update_sent_at = peewee.DoubleField(null=True)  # the last repeat-press update that went out
    cancelled_at = peewee.DoubleField(null=True)
    acknowledged_at = peewee.DoubleField(null=True)
    acknowledged_by = peewee.CharField(max_length=64, null=True)  # keyed hash of the duty phone
    escalated_at = peewee.DoubleField(null=True)
    closed_at = peewee.DoubleField(null=True)
    followup_sent_at = peewee.DoubleField(null=True)  # "3 of 3 received" went to the person
    duress_at = peewee.DoubleField(null=True)  # a cancel made under duress: the consulate was told
    # Why the consulate treats the alert as under duress: "pin" (the emergency PIN cancelled it), "tries"
    # (three wrong PINs), "earlier" (raised while an earlier alert of the person was under duress).
    duress_reason = peewee.CharField(max_length=16, null=True)


class AlertNote(BaseModel):
    """A duty officer's case note (NOTA A7K2 ...)."""

    alert = peewee.ForeignKeyField(Alert, on_delete="CASCADE", index=True)
    author = peewee.CharField(max_length=64)  # keyed hash of the duty phone
    text = EncryptedField()
    written_at = peewee.DoubleField()


class AlertReply(BaseModel):
    """A duty officer's R A7K2 <text>: who wrote to the person last, and when. The person's answers within
    the reply window go to that officer."""

    alert = peewee.ForeignKeyField(Alert, on_delete="CASCADE", index=True)
    officer = EncryptedField()  # the duty phone the answer goes to
    replied_at = peewee.DoubleField()


class Slot(BaseModel):
    """A bookable window someone has ever booked, with how many active bookings hold it.

    Free windows come from the consulate's calendar, not from here: a row appears on the first
    booking, and `booked` is the one counter every booking and cancellation moves.
    """

    consulate = peewee.CharField(max_length=64)
    service = peewee.CharField(max_length=32)
    starts_at = peewee.DoubleField()
    booked = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("consulate", "service", "starts_at"), True),)


class Booking(BaseModel):
    """A consular appointment a person booked, by its short reference."""

    reference = peewee.CharField(max_length=8, unique=True)
    # None once the person erased their data: the consulate keeps past appointments, not who it was.
    person = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)  # (person, status) below
    consulate = peewee.CharField(max_length=64)
    service = peewee.CharField(max_length=32)
    starts_at = peewee.DoubleField()
    status = peewee.CharField(max_length=16)  # booked | cancelled
    created_at = peewee.DoubleField()
    cancelled_at = peewee.DoubleField(null=True)
    reminder_at = peewee.DoubleField(null=True)  # when the reminder is due; None: no reminder (or cancelled)
    reminder_sent_at = peewee.DoubleField(null=True)

    class Meta:
        indexes = (
            (("consulate", "starts_at"), False),
            (("person", "status"), False),
            (("reminder_sent_at", "reminder_at"), False),  # the reminder claim: unsent and due
        )


class DutyShift(BaseModel):
    """A phone an administrator put on a consulate's duty roster, for a period: paged with the duty phones
    of config/consulates.yaml, and allowed to answer alerts, while the shift lasts."""

    consulate = peewee.CharField(max_length=64, index=True)
    phone = EncryptedField()
    phone_hash = peewee.CharField(max_length=64, index=True)
    starts_at = peewee.DoubleField()
    ends_at = peewee.DoubleField(null=True)  # None: until an administrator ends it
    added_at = peewee.DoubleField()


class Account(BaseModel):
    """An official's console account. The email is the login; the password only as an argon2id hash."""

    email = peewee.CharField(max_length=254, unique=True)  # lower case
    password_hash = peewee.CharField(max_length=255)
    role = peewee.CharField(max_length=16)  # admin | supervisor | officer | focal_point
    consulate = peewee.CharField(max_length=64, null=True)  # an officer's consulate
    language = peewee.CharField(max_length=8, default="es")
    totp_secret = EncryptedField(null=True)  # second factor, once enrolled
    totp_confirmed = peewee.BooleanField(default=False)
    blocked = peewee.BooleanField(default=False)
    must_change_password = peewee.BooleanField(default=False)  # after a reset by an administrator
    failed_logins = peewee.IntegerField(default=0)  # since the last success
    locked_until = peewee.DoubleField(null=True)
    last_login_at = peewee.DoubleField(null=True)
    created_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()


class ConsoleSession(BaseModel):
    """A console login: deleting the row ends it at once (block, password change, logout)."""

    key_hash = peewee.CharField(max_length=64, unique=True)  # SHA-256 of the cookie's random key
    account = peewee.ForeignKeyField(Account, null=True, on_delete="CASCADE", index=True)
    data = EncryptedField()  # the session's JSON (CSRF secret, the account's id, revealed alerts)
    created_at = peewee.DoubleField()
    last_seen_at = peewee.DoubleField()
    expires_at = peewee.DoubleField(index=True)


class LoginFailure(BaseModel):
    """A failed console login from an address (keyed hash), for throttling per address."""

    address_hash = peewee.CharField(max_length=64, index=True)
    at = peewee.DoubleField(index=True)


class AuditEntry(BaseModel):
    """The append-only audit trail: each entry carries the hash of the one before it."""

    at = peewee.DoubleField()
    actor = peewee.CharField(max_length=254, null=True)  # the account's email; "cli" for run.py
    action = peewee.CharField(max_length=48, index=True)
    target = peewee.CharField(max_length=128, null=True)  # an alert reference, an account's email, a shift
    detail = peewee.TextField(default="")  # a reason, a count: never a person's number or name
    prev_hash = peewee.CharField(max_length=64)
    hash = peewee.CharField(max_length=64)


class ApiToken(BaseModel):
    """A bearer token for /api/v1/, stored as a hash; shown once when made."""

    account = peewee.ForeignKeyField(Account, on_delete="CASCADE", index=True)
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DoubleField()
    last_used_at = peewee.DoubleField(null=True)
    revoked_at = peewee.DoubleField(null=True)


class ApiRequestCount(BaseModel):
    """Requests made with one API token in one minute: the rate limit every server process shares."""

    token_hash = peewee.CharField(max_length=64)
    minute = peewee.IntegerField()  # the clock's epoch seconds // 60
    count = peewee.IntegerField()

    class Meta:
        indexes = ((("token_hash", "minute"), True),)


class Complaint(BaseModel):
    """Feedback, or a confidential complaint (read only by focal points), with its reference."""

    reference = peewee.CharField(max_length=8, unique=True)
    kind = peewee.CharField(max_length=16, index=True)  # complaint | feedback
    person = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=True)
    status = peewee.CharField(max_length=16, default="open")  # open | answered
    created_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()


class ComplaintMessage(BaseModel):
    """One message of a complaint's thread: the person's, or a focal point's answer."""

    complaint = peewee.ForeignKeyField(Complaint, on_delete="CASCADE", index=True)
    author = peewee.CharField(max_length=254)  # "person", or the focal point's email
    text = EncryptedField()
    written_at = peewee.DoubleField()


class InboundSeen(BaseModel):
    """A carrier message already processed and no longer kept (past the retention period, or erased), as a
    keyed hash of (carrier, message id), so a replayed request is answered as a repeat for the replay window
    (privacy.replay_window_days). Written when the message goes: while it is kept, it is its own mark."""

    digest = peewee.CharField(max_length=64, unique=True)
    # Not indexed (schema step 19): one index fewer to write on every webhook; the daily purge finds the
    # old marks in insertion order instead (store/inbound.py).
    seen_at = peewee.DoubleField()


class LimitEvent(BaseModel):
    """One counted use of a daily limit (an alert, a drill, a contact added), by the keyed hash of the
    number that made it: it outlives the person's erasure, and is deleted after a day."""

    phone_hash = peewee.CharField(max_length=64)
    kind = peewee.CharField(max_length=16)
    at = peewee.DoubleField(index=True)

    class Meta:
        indexes = ((("phone_hash", "kind", "at"), False),)


class KeyFingerprint(BaseModel):
    """Which key this database was written with: an HMAC of a constant under a key derived for this
    purpose alone, never the key. One row."""

    fingerprint = peewee.CharField(max_length=64)
    recorded_at = peewee.DoubleField()


class SchemaVersion(BaseModel):
    """Which migrations have run."""

    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DoubleField()


MODELS = [
    Person,
    InboundMessage,
    UssdSessionEnd,
    OutboxMessage,
    OutboxAlarm,
    DeliveryReport,
    ConversationSession,
    OptOut,
    Consent,
    Contact,
    Alert,
    AlertNote,
    AlertReply,
    Slot,
    Booking,
    DutyShift,
    Account,
    ConsoleSession,
    LoginFailure,
    AuditEntry,
    ApiToken,
    ApiRequestCount,
    Complaint,
    ComplaintMessage,
    InboundSeen,
    LimitEvent,
    KeyFingerprint,
]
