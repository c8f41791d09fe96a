"""The operators' commands validate what they are given: run.py roster and export bookings, as typed on the
command line (parsed by run.py's own parser), then the real webhooks for what a rostered phone may do."""

from __future__ import annotations

import pytest
import yaml

import run
from handlers.reference.consulates import ConsulatesError, Directory
from store.models import Alert, OutboxMessage
from tests.conftest import ROOT, in_store
from tests.test_flows_sms import Phone

DIRECTORY = Directory.load(ROOT / "config" / "consulates.yaml")
HOUSTON = DIRECTORY.by_id("houston")
GT_HOUSTON = DIRECTORY.by_id("gt-houston")
OFFICER = "+17135550180"  # in no office's list in config/consulates.yaml
PERSON = "+17135550142"


def command(settings, *argv: str) -> int:
    """One run.py command line, parsed by run.py's parser and run with these settings."""
    args = run.parser().parse_args(list(argv))
    handler = {"roster": run.run_roster, "export": run.run_export}[args.command]
    return handler(settings, args)


def roster_add(settings, consulate: str, phone: str, *times: str) -> int:
    return command(settings, "roster", "add", "--consulate", consulate, "--phone", phone, *times)


DAY = ("--from", "2026-11-30T08:00", "--until", "2026-11-30T20:00")

# (label, the shift already there, the one added, the refusal on stderr or None when it is accepted)
SHIFTS = [
    (
        "the same hours twice",
        ("houston", *DAY),
        ("houston", *DAY),
        "lifeline: --from: that phone is already on duty for houston from 2026-11-30 08:00 until 2026-11-30 20:00 "
        "(shift 1)",
    ),
    (
        "overlapping hours at the same consulate",
        ("houston", *DAY),
        ("houston", "--from", "2026-11-30T19:00", "--until", "2026-11-30T23:00"),
        "lifeline: --from: that phone is already on duty for houston",
    ),
    (
        "overlapping hours at another consulate",
        ("houston", *DAY),
        ("gt-houston", "--from", "2026-11-30T12:00", "--until", "2026-11-30T14:00"),
        "lifeline: --phone: on duty for houston from 2026-11-30 08:00 until 2026-11-30 20:00 (shift 1): a phone "
        "answers for one consulate at a time",
    ),
    (
        "inside a shift with no end",
        ("houston", "--from", "2026-11-30T08:00"),
        ("gt-houston", "--from", "2026-12-05T08:00", "--until", "2026-12-05T10:00"),
        "lifeline: --phone: on duty for houston since 2026-11-30 08:00, until ended (shift 1)",
    ),
    (
        "an open-ended shift over a later one",
        ("houston", "--from", "2026-12-05T08:00", "--until", "2026-12-05T10:00"),
        ("houston", "--from", "2026-11-30T08:00"),
        "lifeline: --from: that phone is already on duty for houston from 2026-12-05 08:00",
    ),
    ("right after the first ends", ("houston", *DAY), ("houston", "--from", "2026-11-30T20:00"), None),
    (
        "another consulate the next day",
        ("houston", *DAY),
        ("gt-houston", "--from", "2026-12-01T08:00", "--until", "2026-12-01T20:00"),
        None,
    ),
]


@pytest.mark.parametrize("label,first,second,refusal", SHIFTS, ids=[s[0] for s in SHIFTS])
def test_roster_add_refuses_a_phone_on_duty_twice_at_once(make_settings, capsys, label, first, second, refusal):
    settings = make_settings("console")
    consulate, *times = first
    assert roster_add(settings, consulate, OFFICER, *times) == 0
    capsys.readouterr()
    consulate, *times = second
    assert roster_add(settings, consulate, OFFICER, *times) == (2 if refusal else 0)
    err = capsys.readouterr().err
    if refusal:
        assert err.startswith(refusal), err
        assert command(settings, "roster", "list") == 0
        assert len(capsys.readouterr().out.splitlines()) == 1  # nothing was added
    else:
        assert err.startswith(f"shift 2: +1******0180 on duty for {consulate}")


CONFIGURED = [
    ("another consulate's duty phone", "houston", GT_HOUSTON.duty_phones[0], "a phone of gt-houston"),
    ("another consulate's backup phone", "gt-houston", HOUSTON.backup_phones[0], "a phone of houston"),
    ("a central's phone", "houston", DIRECTORY.networks[1].central.phones[0], "a phone of central:GT"),
    ("its own duty phone", "houston", HOUSTON.duty_phones[0], "already a duty phone of houston"),
]


@pytest.mark.parametrize("label,consulate,phone,refusal", CONFIGURED, ids=[c[0] for c in CONFIGURED])
def test_roster_add_refuses_a_phone_the_file_gives_to_an_office(
    make_settings, capsys, label, consulate, phone, refusal
):
    settings = make_settings("console")
    assert roster_add(settings, consulate, phone) == 2
    assert f"lifeline: --phone: {refusal}" in capsys.readouterr().err


def test_consulate_ids_are_read_in_any_case(make_settings, capsys):
    settings = make_settings("console")
    assert roster_add(settings, "HOUSTON", OFFICER) == 0
    assert "on duty for houston" in capsys.readouterr().err
    assert command(settings, "roster", "list", "--consulate", " Houston ") == 0
    assert capsys.readouterr().out.startswith(f"1\thouston\t{OFFICER}\t")
    assert command(settings, "export", "bookings", "--consulate", "GT-Houston", "--date", "2026-11-30") == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["reference,time,service,name,phone"]
    assert "exported 0 appointment(s) at gt-houston on 2026-11-30" in captured.err


@pytest.mark.parametrize(
    "argv,refusal",
    [
        (
            ("--date", "2026-11-30"),
            "lifeline: --consulate: needed: the consulate's id, e.g. --consulate houston (export consulates "
            "lists them)",
        ),
        (("--consulate", "houston"), "lifeline: --date: needed: the day, e.g. --date 2026-11-30"),
        (("--consulate", "nowhere", "--date", "2026-11-30"), "lifeline: --consulate: 'nowhere' is not a consulate id"),
    ],
    ids=["no consulate", "no date", "unknown consulate"],
)
def test_export_bookings_says_what_is_missing(make_settings, capsys, tmp_path, argv, refusal):
    sheet = tmp_path / "sheet.csv"
    assert command(make_settings("console"), "export", "bookings", "--output", str(sheet), *argv) == 2
    assert capsys.readouterr().err.startswith(refusal)
    assert not sheet.exists()


async def test_a_phone_refused_for_a_second_consulate_is_paged_only_by_the_first(start, make_settings, capsys):
    """Through the webhooks: the officer rostered for houston (typed HOUSTON) is paged for a Mexican in
    Houston, and the refused shift at gt-houston gives no page for a Guatemalan."""
    settings = make_settings("console")
    assert roster_add(settings, "HOUSTON", OFFICER) == 0
    assert roster_add(settings, "gt-houston", OFFICER) == 2
    client = await start("console")
    for nationality, number in (("MX", PERSON), ("GT", "+17135550143")):
        phone = Phone(client, number)
        await phone.send(f"PAIS {nationality}")
        await phone.send("1")  # consent
        await phone.send("ALERTA")
    mexican, guatemalan = await in_store(client, lambda: list(Alert.select().order_by(Alert.id)))
    assert (mexican.consulate, guatemalan.consulate) == ("houston", "gt-houston")
    rows = await in_store(client, lambda: list(OutboxMessage.select()))
    paged = {m.tag for m in rows if m.to == OFFICER}
    assert paged == {f"alert:{mexican.reference}"}
    answers = await Phone(client, OFFICER).send_all(f"OK {guatemalan.reference}")
    assert not answers[-1].startswith(f"{guatemalan.reference} confirmado")  # not gt-houston's officer


def test_two_ids_differing_only_in_case_are_refused(tmp_path):
    """Operators type ids in any case, so "Dallas" beside "dallas" would name two consulates at once."""
    data = yaml.safe_load((ROOT / "config" / "consulates.yaml").read_text(encoding="utf-8"))
    guatemala = data["networks"][1]["consulates"]
    guatemala[0]["id"] = "HOUSTON"
    path = tmp_path / "consulates.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConsulatesError, match=r"consulates\[HOUSTON\]\.id"):
        Directory.load(path)
