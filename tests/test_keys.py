"""The key the data was written with: another key (or a lost key file) is refused naming the variable, a key
file others can read is refused, rotate-key re-encrypts everything, and one unreadable outbox row is
quarantined while the rest still leave."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time

import pytest

from gateway import keys
from store import outbox
from store.crypto import EncryptedField, Undecryptable, Vault, lookup_hash
from store.db import database
from store.models import MODELS, Alert, AlertNote, KeyFingerprint, OptOut, OutboxMessage, Person, SchemaVersion
from tests.conftest import PERSON, ROOT, in_store
from tests.test_alerts import HOUSTON, HOUSTON_PERSON, JOSE, MARIA, messages, only_alert, registered
from tests.test_flows_sms import Phone

KEY_A = "key-a-" + "a" * 40
KEY_B = "key-b-" + "b" * 40


def run_py(args: list[str], database_url: str, config_dir, cwd, **variables: str) -> subprocess.CompletedProcess:
    """`python run.py ...` as an operator runs it, with these key variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "LIFELINE_CONFIG": str(config_dir),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "SMS_PROVIDERS": "console",
        **variables,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refusal(result: subprocess.CompletedProcess) -> str:
    """The one line a refused command printed (exit 2)."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    return lines[0]


async def written_with(start, **variables) -> None:
    """A person who registered contacts and raised an alert, stored with the given key."""
    client = await start("console", **variables)
    phone = await registered(client)
    await phone.send("ALERTA")
    await client.close()


async def test_another_secret_key_is_refused_naming_the_variable(start, database_url, config_dir, tmp_path):
    await written_with(start, LIFELINE_SECRET_KEY=KEY_A)
    stored = Vault(KEY_A.encode()).fingerprint
    result = run_py(["serve", "--port", "0"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=KEY_B)
    assert refusal(result) == (
        "lifeline: LIFELINE_SECRET_KEY: does not match the key this database was written with "
        f"(fingerprint {stored[:12]}, this key's {Vault(KEY_B.encode()).fingerprint[:12]})"
    )
    # Every command that opens the store refuses alike, and nothing is written with the wrong key.
    assert "LIFELINE_SECRET_KEY: does not match" in refusal(
        run_py(["purge"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=KEY_B)
    )
    with pytest.raises(Exception, match="LIFELINE_SECRET_KEY: does not match"):
        await start("console", LIFELINE_SECRET_KEY=KEY_B)
    assert run_py(["purge"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=KEY_A).returncode == 0


async def test_a_missing_or_different_key_file_is_refused_and_no_new_key_is_made(
    start, database_url, config_dir, tmp_path
):
    key_file = tmp_path / "lifeline.key"
    await written_with(start, LIFELINE_SECRET_KEY="", LIFELINE_KEY_FILE=str(key_file))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Started in another directory: the default key file is not there.
    line = refusal(run_py(["serve", "--port", "0"], database_url, config_dir, elsewhere))
    assert line.startswith("lifeline: LIFELINE_KEY_FILE: lifeline.key does not exist, and this database was written")
    assert not (elsewhere / "lifeline.key").exists()
    # Another key file.
    (elsewhere / "lifeline.key").write_text("another-key-" + "x" * 40 + "\n")
    (elsewhere / "lifeline.key").chmod(0o600)
    line = refusal(run_py(["serve", "--port", "0"], database_url, config_dir, elsewhere))
    assert line.startswith("lifeline: LIFELINE_KEY_FILE: does not match the key this database was written with")


def test_a_key_file_others_can_read_is_refused(database_url, config_dir, tmp_path):
    key_file = tmp_path / "lifeline.key"
    key_file.write_text("k" * 48 + "\n")
    key_file.chmod(0o644)
    line = refusal(run_py(["serve", "--port", "0"], database_url, config_dir, tmp_path))
    assert (
        line
        == "lifeline: LIFELINE_KEY_FILE: lifeline.key may be read by other users (mode 644): run chmod 600 lifeline.key"
    )
    key_file.chmod(0o600)
    assert run_py(["purge"], database_url, config_dir, tmp_path).returncode == 0


@pytest.mark.parametrize("kept_in", ["variable", "key file"])
async def test_rotate_key_then_everything_reads_with_the_new_key(start, database_url, config_dir, tmp_path, kept_in):
    key_file = tmp_path / "lifeline.key"
    before = {"LIFELINE_SECRET_KEY": KEY_A} if kept_in == "variable" else {"LIFELINE_SECRET_KEY": ""}
    client = await start("console", LIFELINE_KEY_FILE=str(key_file), **before)
    phone = await registered(client)
    await phone.send("PIN")
    await phone.send("1234")
    await phone.send("9876")
    await phone.send("ALERTA me detuvieron")
    alert = await only_alert(client)
    officer = Phone(client, HOUSTON.duty_phones[0])
    await officer.send_all(f"NOTA {alert.reference} familia avisada")
    await Phone(client, "+17135550177").send("STOP")  # an opt-out
    people_before = await in_store(client, Person.select().count)
    await client.close()
    old_secret = KEY_A if kept_in == "variable" else key_file.read_text().strip()

    # Key file deployments get a new key file; with LIFELINE_SECRET_KEY the new secret is given.
    variables = {"LIFELINE_SECRET_KEY": KEY_A, "LIFELINE_NEW_SECRET_KEY": KEY_B} if kept_in == "variable" else {}
    result = run_py(["rotate-key"], database_url, config_dir, tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("re-encrypted ")
    if kept_in == "variable":
        new_secret, after = KEY_B, {"LIFELINE_SECRET_KEY": KEY_B}
    else:
        new_secret, after = key_file.read_text().strip(), {"LIFELINE_SECRET_KEY": ""}
        assert (tmp_path / "lifeline.key.old").read_text().strip() == old_secret
        assert not (tmp_path / "lifeline.key.new").exists()
    assert new_secret != old_secret
    # The old key no longer opens the store.
    assert "does not match" in refusal(
        run_py(["purge"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=old_secret)
    )

    again = await start("console", LIFELINE_KEY_FILE=str(key_file), **after)
    [fingerprint] = await in_store(again, lambda: [row.fingerprint for row in KeyFingerprint.select()])
    assert fingerprint == Vault(new_secret.encode()).fingerprint
    phone = Phone(again, HOUSTON_PERSON)
    phone.seen = len([m for m in await messages(again) if m.to == HOUSTON_PERSON])
    assert (await phone.send("FAMILIA")).splitlines() == [f"1 Maria {MARIA} ES", f"2 Jose {JOSE} ES"]
    # The same number is the same person: CANCELAR finds the alert, and the PIN still works.
    assert await phone.send("CANCELAR") == "Escriba su PIN:"
    assert await phone.send("1234") == f"Listo: aviso {alert.reference} cancelado. Avisamos a quienes lo recibieron."
    assert await in_store(again, Person.select().count) == people_before
    safe = [m.to for m in await messages(again) if m.tag == f"alert:{alert.reference}:later" and "a salvo" in m.body]
    assert sorted(safe) == sorted([MARIA, JOSE, *HOUSTON.duty_phones])
    [note] = await in_store(again, lambda: list(AlertNote.select()))
    assert (note.text, note.author) == ("familia avisada", await in_store(again, lookup_hash, officer.number))
    assert (await only_alert(again)).note == "me detuvieron"
    assert (
        await in_store(again, lambda: OptOut.select().where(OptOut.phone_hash == lookup_hash("+17135550177")).count())
        == 1
    )


async def test_rotate_key_with_the_current_secret_given_as_new_changes_nothing(
    database_url, config_dir, tmp_path, start
):
    await written_with(start, LIFELINE_SECRET_KEY=KEY_A)
    line = refusal(
        run_py(
            ["rotate-key"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=KEY_A, LIFELINE_NEW_SECRET_KEY=KEY_A
        )
    )
    assert line == "lifeline: LIFELINE_NEW_SECRET_KEY: is the key in use now"
    line = refusal(run_py(["rotate-key"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=KEY_A))
    assert line.startswith("lifeline: LIFELINE_NEW_SECRET_KEY: is required when LIFELINE_SECRET_KEY is set")
    assert run_py(["purge"], database_url, config_dir, tmp_path, LIFELINE_SECRET_KEY=KEY_A).returncode == 0


def _unreadable_message(now: float) -> int:
    """An outbox row written with another deployment's key, as a wrong LIFELINE_SECRET_KEY once wrote them."""
    other = Vault(b"another-deployment-secret-" + b"z" * 30)
    database.execute_sql(
        f"""INSERT INTO outbox_message (idempotency_key, "to", to_hash, body, encoding, segments, route,
        provider_index, status, attempts, due_at, created_at, updated_at)
        VALUES ({", ".join([database.param] * 13)})""",
        (
            "other-key:1",
            other.encrypt(PERSON),
            other.lookup_hash(PERSON),
            other.encrypt("hola"),
            "gsm7",
            1,
            "africastalking",
            0,
            outbox.PENDING,
            0,
            now - 1,
            now,
            now,
        ),
    )
    return OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == "other-key:1").scalar()


async def test_an_undecryptable_outbox_row_is_quarantined_and_the_rest_of_the_batch_leaves(start, fake, clock, caplog):
    caplog.set_level(logging.INFO)
    client = await start("africastalking")
    good = ["+15555550131", "+15555550132", "+15555550133"]

    def write(now: float) -> int:
        bad = _unreadable_message(now)  # due first: at the head of the claim batch
        for n, to in enumerate(good):
            outbox.enqueue(outbox.NewMessage(f"good:{n}", to, "hola", "gsm7", 1, ("africastalking",)), now)
        return bad

    bad = await in_store(client, write, clock())
    client.app[keys.DISPATCHER].wake()
    await fake.wait_for(len(good))

    def statuses():  # the columns anyone may read: the bad row's number and text read with no key here
        query = OutboxMessage.select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.last_error)
        return {row.id: (row.status, row.last_error) for row in query}

    async with asyncio.timeout(5):
        while True:
            found = await in_store(client, statuses)
            if all(status in (outbox.SENT, outbox.FAILED) for status, _ in found.values()):
                break
            await asyncio.sleep(0.02)
    assert sorted(m.to for m in fake.accepted) == good
    assert [(id_, error) for id_, (status, error) in found.items() if status == outbox.FAILED] == [
        (bad, "cannot be decrypted with this key")
    ]
    # Logged once, by id only; the service goes on.
    told = [r.getMessage() for r in caplog.records if "cannot be decrypted" in r.getMessage()]
    assert told == [f"outbox message {bad} cannot be decrypted with this key: marked failed, not sent"]
    assert not [r for r in caplog.records if PERSON in r.getMessage() or PERSON[-4:] in r.getMessage()]
    assert (await client.get("/healthz")).status == 200
    clock.advance(60)
    client.app[keys.DISPATCHER].wake()
    await asyncio.sleep(0.2)
    assert len(fake.received) == len(good)  # never tried


async def test_a_database_from_before_fingerprints_records_the_key_that_reads_it(start, tmp_path):
    client = await start("console", LIFELINE_SECRET_KEY=KEY_A)
    await Phone(client, PERSON).send("hola")
    await in_store(client, lambda: KeyFingerprint.delete().execute())
    await client.close()
    with pytest.raises(Exception, match="cannot read the data in this database"):
        await start("console", LIFELINE_SECRET_KEY=KEY_B)
    again = await start("console", LIFELINE_SECRET_KEY=KEY_A)
    [row] = await in_store(again, lambda: list(KeyFingerprint.select()))
    assert row.fingerprint == Vault(KEY_A.encode()).fingerprint and row.recorded_at <= time.time()
    assert await in_store(again, lambda: Alert.select().count()) == 0


def _encrypted_columns() -> list[tuple[str, str]]:
    return [
        (model._meta.table_name, field.column_name)
        for model in MODELS
        for field in model._meta.sorted_fields
        if isinstance(field, EncryptedField)
    ]


def _raw_values() -> dict[tuple[str, str, int], str]:
    """Every stored ciphertext, as the database holds it."""
    return {
        (table, column, row_id): token
        for table, column in _encrypted_columns()
        for row_id, token in database.execute_sql(f'SELECT id, "{column}" FROM "{table}"').fetchall()
        if token is not None
    }


async def test_a_database_written_with_fernet_tokens_is_re_encrypted_with_aes_gcm_at_start(start):
    """A database from before version-2 ciphertexts: a wrong key changes nothing, the right key re-encrypts
    every value once, and the person's history reads as before."""
    client = await start("console", LIFELINE_SECRET_KEY=KEY_A)
    phone = await registered(client)
    await phone.send("ALERTA me detuvieron")
    alert = await only_alert(client)
    keys = Vault(KEY_A.encode())

    def as_an_older_release_wrote_it():
        values = _raw_values()
        for (table, column, row_id), token in values.items():
            database.execute_sql(
                f'UPDATE "{table}" SET "{column}" = {database.param} WHERE id = {database.param}',
                (keys.encrypt_v1(keys.decrypt(token)), row_id),
            )
        SchemaVersion.delete().where(SchemaVersion.version == 14).execute()
        return {key: keys.decrypt(token) for key, token in values.items()}

    plain = await in_store(client, as_an_older_release_wrote_it)
    assert len(plain) > 10
    legacy = await in_store(client, _raw_values)
    assert legacy.keys() == plain.keys() and all(token.startswith("gAAAAA") for token in legacy.values())
    await client.close()

    with pytest.raises(Exception, match="LIFELINE_SECRET_KEY: does not match"):
        await start("console", LIFELINE_SECRET_KEY=KEY_B)
    again = await start("console", LIFELINE_SECRET_KEY=KEY_A)
    upgraded = await in_store(again, _raw_values)
    assert upgraded.keys() == plain.keys()
    assert all(token.startswith("v2:") for token in upgraded.values())
    assert {key: keys.decrypt(token) for key, token in upgraded.items()} == plain
    # The same number is still the same person, with their contacts and their open alert.
    phone = Phone(again, HOUSTON_PERSON)
    phone.seen = len([m for m in await messages(again) if m.to == HOUSTON_PERSON])
    assert (await phone.send("FAMILIA")).splitlines() == [f"1 Maria {MARIA} ES", f"2 Jose {JOSE} ES"]
    assert (await only_alert(again)).note == "me detuvieron"
    assert alert.reference == (await only_alert(again)).reference


def test_a_tampered_truncated_or_foreign_value_is_refused_never_misread():
    keys = Vault(KEY_A.encode())
    token = keys.encrypt("+15555550142")
    assert token.startswith("v2:") and token != keys.encrypt("+15555550142")  # a fresh nonce each time
    assert keys.decrypt(token) == "+15555550142"
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]  # a whole base64 digit of data
    for damaged in (flipped, token[:20], "v2:", "v2:!!!", "gAAAAAnot-a-token"):
        with pytest.raises(Undecryptable):
            keys.decrypt(damaged)
    with pytest.raises(Undecryptable):
        Vault(KEY_B.encode()).decrypt(token)


def test_the_lookup_hash_is_hmac_sha256_so_databases_written_before_keep_finding_people():
    """Computed from precomputed keyed states for speed: it must stay the standard HMAC of every number,
    or a database written by an earlier release would no longer find anyone in it."""
    import hashlib
    import hmac

    from store.crypto import _derive

    key = _derive(KEY_A.encode(), b"lifeline lookup hash v1")
    keys = Vault(KEY_A.encode())
    for value in ("+15555550142", "", "inbound:twilio:SM0123", "ñ€😀" * 40):
        assert keys.lookup_hash(value) == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    assert keys.lookup_hash("+15555550142") != Vault(KEY_B.encode()).lookup_hash("+15555550142")
