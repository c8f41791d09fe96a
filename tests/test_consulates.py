"""The consular directory: who is responsible for a ZIP, a state or a phone number, local times, and
a consulates file refused with its file and key named."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
import yaml

from handlers.reference.consulates import ConsulatesError, Directory, local_datetime, local_time
from handlers.reference.states import STATES as US_STATES
from tests.conftest import ROOT

SHIPPED = ROOT / "config" / "consulates.yaml"
FICTIONAL = re.compile(r"^\+1\d{3}55501\d\d$")

# 2026-03-08, when the US springs forward: 07:30 and 08:30 UTC, either side of 02:00 in Chicago.
BEFORE_SPRING, AFTER_SPRING = 1772955000, 1772958600
# 2026-11-01, when it falls back: 06:30 and 07:30 UTC, both 01:30 on a Chicago clock.
BEFORE_FALL, AFTER_FALL = 1793514600, 1793518200


@pytest.fixture(scope="module")
def deployment() -> Directory:
    return Directory.load(SHIPPED)


@pytest.fixture(scope="module")
def directory(deployment):
    """Mexico's network, the deployment's first."""
    return deployment.network_for("MX")


@pytest.fixture(scope="module")
def guatemala(deployment):
    return deployment.network_for("GT")


def id_of(consulate) -> str | None:
    return consulate.id if consulate else None


@pytest.mark.parametrize(
    ("zip_code", "expected"),
    [
        ("77002", "houston"),
        ("75201", "dallas"),
        ("78205", "san-antonio"),
        ("90012", "los-angeles"),
        ("92101", "san-diego"),
        ("60601", "chicago"),
        ("10001", "new-york"),
        ("33130", "miami"),
        ("85004", "phoenix"),
        ("30324", "atlanta"),
        ("77002-1234", "houston"),
        (" 75201 ", "dallas"),
        ("79901", "el-paso"),
        ("93721", "fresno"),
        ("78852", "eagle-pass"),  # a 5-digit prefix carves Eagle Pass out of San Antonio's 788
        ("78801", "san-antonio"),  # Uvalde: still 788
        ("78041", "laredo"),  # 7804 beats San Antonio's 780
        ("99501", "seattle"),  # Alaska: no consulate of its own
        ("00901", "san-juan"),
        ("05401", "boston"),  # Vermont: no consulate of its own
        ("96813", "san-francisco"),  # Hawaii
        ("7700", None),
        ("ABCDE", None),
        ("", None),
    ],
    ids=lambda value: repr(value),
)
def test_zip_code_finds_the_responsible_consulate(directory, zip_code, expected):
    assert id_of(directory.responsible(zip_code=zip_code)) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("TX", "houston"),  # shared by three: the one whose default_for lists it
        ("tx", "houston"),
        ("Texas", "houston"),
        ("CA", "los-angeles"),
        ("IL", "chicago"),
        ("New  York", "new-york"),
        ("FL", "miami"),
        ("AK", "seattle"),
        ("PR", "san-juan"),
        ("ZZ", None),
        ("", None),
        (None, None),
    ],
    ids=lambda value: repr(value),
)
def test_state_finds_the_responsible_consulate(directory, state, expected):
    assert id_of(directory.responsible(state=state)) == expected


def test_a_claimed_zip_prefix_beats_the_state_and_the_state_covers_an_unreadable_zip(directory):
    assert directory.responsible(zip_code="75201", state="TX").id == "dallas"
    assert directory.responsible(zip_code="not a zip", state="IL").id == "chicago"
    assert directory.responsible() is None


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+17135550142", "houston"),
        ("+13125550142", "chicago"),  # geocoder: "Chicago, IL"
        ("+12145550142", "dallas"),  # area code claimed by Dallas, though Texas's default is Houston
        ("+12105550142", "san-antonio"),
        ("+16195550142", "san-diego"),
        ("+15125550142", "austin"),
        ("+14155550142", "san-francisco"),
        ("+12125550142", "new-york"),
        ("+13055550142", "miami"),
        ("+19075550142", "seattle"),  # Alaska
        ("+17875550142", "san-juan"),
        ("+14165550142", None),  # Toronto: +1, but Canada
        ("+15555550142", None),  # no geographic area code
        ("+525555500142", None),
        ("+50255500142", None),
        ("not a number", None),
    ],
    ids=lambda value: repr(value),
)
def test_phone_number_finds_the_consulate_of_its_area_code(directory, phone, expected):
    assert id_of(directory.for_phone(phone)) == expected


def test_by_id(directory):
    assert directory.by_id("chicago").name == "Consulado General de México en Chicago"
    assert directory.by_id("nowhere") is None


def test_duty_phones_are_every_duty_backup_and_central_number(deployment, directory, guatemala):
    houston = directory.by_id("houston")
    allowed = deployment.duty_phones()
    assert set(houston.duty_phones) | set(houston.backup_phones) | set(directory.central.phones) <= allowed
    assert set(guatemala.central.phones) <= allowed
    assert houston.phone not in allowed  # the public line is not a duty officer
    per_consulate = sum(len(c.duty_phones) + len(c.backup_phones) for c in deployment.consulates)
    assert len(allowed) == per_consulate + len(directory.central.phones) + len(guatemala.central.phones)


def test_the_shipped_networks_are_complete_and_sms_sized(deployment, directory, guatemala):
    assert [n.network for n in deployment.networks] == ["MX", "GT"]
    assert directory.central.time_zone == "America/Mexico_City"
    assert len(directory.consulates) >= 50 and len(guatemala.consulates) >= 20
    assert all(len(c.short_name) <= 30 and c.country == "US" for c in deployment.consulates)
    states = set(US_STATES) - {"GU", "VI"}  # the 50 states, DC and Puerto Rico
    for network in deployment.networks:  # every state reaches a consulate of each network
        assert {s for s in states if network.responsible(state=s) is None} == set(), network.network


@pytest.mark.parametrize(
    ("zip_code", "mexican", "guatemalan"),
    [("77002", "houston", "gt-houston"), ("00901", "san-juan", "gt-miami"), ("78852", "eagle-pass", "gt-del-rio")],
)
def test_nationality_chooses_the_network(deployment, zip_code, mexican, guatemalan):
    assert deployment.network_for("MX").responsible(zip_code).id == mexican
    assert deployment.network_for("GT").responsible(zip_code).id == guatemalan
    assert deployment.network_for(None).network == "MX"  # unknown nationality: the first network
    assert deployment.network_for("SV").network == "MX"
    assert deployment.by_id(guatemalan).network == "GT"
    assert deployment.central_for(guatemalan).phones == deployment.network_for("GT").central.phones
    assert deployment.central_for("central:GT").network == "GT"


def test_hours_and_holidays(directory):
    houston = directory.by_id("houston")
    assert houston.hours.describe().endswith("08:00-14:00")
    assert not houston.is_open_on(date(2026, 9, 16))  # Mexican Independence Day: the network's holiday
    assert not houston.is_open_on(date(2026, 11, 29))  # a Sunday
    assert houston.is_open_on(date(2026, 11, 24))


def test_every_phone_number_in_the_shipped_config_is_fictional(deployment):
    numbers = [p for n in deployment.networks for p in n.central.phones]
    for consulate in deployment.consulates:
        numbers += [consulate.phone, *consulate.duty_phones, *consulate.backup_phones]
    # Also whatever looks like a number anywhere in the file, comments included.
    numbers += re.findall(r"\+\d[\d ()-]{6,}\d", SHIPPED.read_text(encoding="utf-8"))
    assert len(numbers) > 40
    assert [n for n in numbers if not FICTIONAL.match(n)] == []


@pytest.mark.parametrize(
    ("office", "epoch", "expected"),
    [
        ("houston", BEFORE_SPRING, "01:30"),
        ("houston", AFTER_SPRING, "03:30"),  # 02:00 CST became 03:00 CDT
        ("phoenix", BEFORE_SPRING, "00:30"),
        ("phoenix", AFTER_SPRING, "01:30"),  # Arizona does not change its clocks
        ("new-york", AFTER_SPRING, "04:30"),
        ("central:MX", AFTER_SPRING, "02:30"),  # Mexico City has kept standard time since 2022
        ("houston", BEFORE_FALL, "01:30"),
        ("houston", AFTER_FALL, "01:30"),  # the hour from 01:00 happens twice
    ],
)
def test_local_time_follows_each_offices_clock_across_dst(directory, office, epoch, expected):
    place = directory.central if office == "central:MX" else directory.by_id(office)
    assert local_time(place, epoch) == expected


def test_local_datetime_is_day_month_hour_minute(directory):
    assert local_datetime(directory.by_id("los-angeles"), BEFORE_SPRING) == "07/03 23:30"  # still the 7th there
    assert local_datetime(directory.by_id("houston"), AFTER_SPRING) == "08/03 03:30"


# Broken files: each breaks one rule of a small valid network (Texas shared by Houston and Dallas).


def consulate(consulate_id: str, area_code: str, **jurisdiction) -> dict:
    return {
        "id": consulate_id,
        "name": f"Consulado General de México en {consulate_id.title()}",
        "short_name": f"Consulado en {consulate_id.title()}",
        "city": consulate_id.title(),
        "state": "TX",
        "country": "US",
        "latitude": 29.7,
        "longitude": -95.4,
        "time_zone": "America/Chicago",
        "address": "1 Main St",
        "phone": f"+1{area_code}5550170",
        "duty_phones": [f"+1{area_code}5550171"],
        "backup_phones": [f"+1{area_code}5550173"],
        "hours": {
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "opens": "08:00",
            "closes": "14:00",
            "slot_capacity": 2,
        },
        "jurisdiction": {"states": ["TX"], **jurisdiction},
    }


def deployment_file() -> dict:
    return {"networks": [network()]}


def network() -> dict:
    return {
        "network": "MX",
        "holidays": ["2026-09-16"],
        "central": {
            "name": "Centro de Información y Asistencia a Mexicanos",
            "short_name": "Centro de Asistencia",
            "phones": ["+18555550170"],
            "time_zone": "America/Mexico_City",
        },
        "consulates": [
            consulate("houston", "713", default_for=["TX"], zip_prefixes=["770"], area_codes=["713"]),
            consulate("dallas", "214", zip_prefixes=["752"], area_codes=["214"]),
        ],
    }


def houston(data: dict) -> dict:
    return data["networks"][0]["consulates"][0]


def dallas(data: dict) -> dict:
    return data["networks"][0]["consulates"][1]


def mx(data: dict) -> dict:
    return data["networks"][0]


def second_network(data: dict) -> None:
    """A Guatemalan network beside Mexico's, reusing one of its numbers or ids (the damage is what follows)."""
    other = network()
    other["network"] = "GT"
    other["central"]["phones"] = ["+18555550180"]
    for consulate, code in zip(other["consulates"], ("832", "469"), strict=True):
        consulate.update(id=f"gt-{consulate['id']}", phone=f"+1{code}5550170")
        consulate.update(duty_phones=[f"+1{code}5550171"], backup_phones=[f"+1{code}5550173"])
    data["networks"].append(other)


Break = Callable[[dict], object]
BROKEN: list[tuple[str, Break, str, str]] = [
    # (label, how the file is broken, the key the error names, a fragment of the problem)
    ("missing field", lambda d: houston(d).pop("address"), "consulates[houston].address", "missing"),
    ("missing central", lambda d: mx(d).pop("central"), "networks[0].central", "missing"),
    ("missing central phones", lambda d: mx(d)["central"].pop("phones"), "networks[0].central.phones", "missing"),
    (
        "jurisdiction with neither states nor zip_prefixes",
        lambda d: houston(d).update(jurisdiction={"area_codes": ["713"]}),
        "consulates[houston].jurisdiction.states",
        "missing",
    ),
    (
        "misspelt key",
        lambda d: dallas(d)["jurisdiction"].update(zip_prefix=["753"]),
        "consulates[dallas].jurisdiction.zip_prefix",
        "unknown key",
    ),
    ("wrong type", lambda d: houston(d).update(duty_phones="+17135550171"), "consulates[houston].duty_phones", "list"),
    ("no duty phones", lambda d: houston(d).update(duty_phones=[]), "consulates[houston].duty_phones", "empty"),
    (
        "duty phone not E.164",
        lambda d: houston(d).update(duty_phones=["(713) 555-0171"]),
        "consulates[houston].duty_phones[0]",
        "E.164",
    ),
    (
        "phone unquoted, read by YAML as a number",
        lambda d: houston(d).update(backup_phones=[17135550173]),
        "consulates[houston].backup_phones[0]",
        "quoted",
    ),
    ("phone too short", lambda d: houston(d).update(phone="+1713555017"), "consulates[houston].phone", "E.164"),
    ("unknown country code", lambda d: houston(d).update(phone="+9995550170"), "consulates[houston].phone", "E.164"),
    (
        "central phone not E.164",
        lambda d: mx(d)["central"].update(phones=["8555550170"]),
        "networks[0].central.phones[0]",
        "E.164",
    ),
    (
        "unknown time zone",
        lambda d: houston(d).update(time_zone="America/Houston"),
        "consulates[houston].time_zone",
        "IANA",
    ),
    ("central time zone", lambda d: mx(d)["central"].update(time_zone="CST"), "networks[0].central.time_zone", "IANA"),
    ("duplicate id", lambda d: dallas(d).update(id="houston"), "networks[0].consulates[1].id", "used twice"),
    (
        "state not a US state",
        lambda d: dallas(d)["jurisdiction"].update(states=["TX", "ON"]),
        "consulates[dallas].jurisdiction.states[1]",
        "US state",
    ),
    ("consulate's own state", lambda d: houston(d).update(state="Texas"), "consulates[houston].state", "US state"),
    (
        "ZIP prefix of 6 digits",
        lambda d: dallas(d)["jurisdiction"].update(zip_prefixes=["752011"]),
        "consulates[dallas].jurisdiction.zip_prefixes[0]",
        "3 to 5 digits",
    ),
    (
        "ZIP prefix unquoted",
        lambda d: dallas(d)["jurisdiction"].update(zip_prefixes=[752]),
        "consulates[dallas].jurisdiction.zip_prefixes[0]",
        "quoted",
    ),
    (
        "ZIP prefix claimed twice",
        lambda d: dallas(d)["jurisdiction"].update(zip_prefixes=["752", "770"]),
        "consulates[dallas].jurisdiction.zip_prefixes",
        "'770' is also claimed by houston",
    ),
    (
        "area code not an area code",
        lambda d: dallas(d)["jurisdiction"].update(area_codes=["114"]),
        "consulates[dallas].jurisdiction.area_codes[0]",
        "area code",
    ),
    (
        "area code claimed twice",
        lambda d: dallas(d)["jurisdiction"].update(area_codes=["713"]),
        "consulates[dallas].jurisdiction.area_codes",
        "'713' is also claimed by houston",
    ),
    (
        "shared state with no default",
        lambda d: houston(d)["jurisdiction"].pop("default_for"),
        "consulates[dallas].jurisdiction.states",
        "'TX' is claimed by houston, dallas",
    ),
    (
        "shared state with two defaults",
        lambda d: dallas(d)["jurisdiction"].update(default_for=["TX"]),
        "consulates[dallas].jurisdiction.default_for",
        "'TX' is also claimed by houston",
    ),
    (
        "shared state, the other consulate without ZIP prefixes",
        lambda d: dallas(d)["jurisdiction"].pop("zip_prefixes"),
        "consulates[dallas].jurisdiction.zip_prefixes",
        "missing",
    ),
    (
        "default for a state it does not serve",
        lambda d: houston(d)["jurisdiction"].update(default_for=["TX", "OK"]),
        "consulates[houston].jurisdiction.default_for",
        "'OK' is not in this consulate's states",
    ),
    (
        "short name too long for SMS",
        lambda d: houston(d).update(short_name="Consulado General de México en Houston"),
        "consulates[houston].short_name",
        "longer than 30",
    ),
    (
        "English name too long for SMS",
        lambda d: houston(d).update(name_en="Consulate General of Mexico in Houston"),
        "consulates[houston].name_en",
        "longer than 30",
    ),
    ("latitude out of range", lambda d: houston(d).update(latitude=129.7), "consulates[houston].latitude", "outside"),
    ("network not a country code", lambda d: mx(d).update(network="Mexico"), "networks[0].network", "country code"),
    ("no networks", lambda d: d.update(networks=[]), "networks", "empty"),
    ("old one-network layout", lambda d: d.update(network="MX"), "network", "unknown key"),
    (
        "hours closing before opening",
        lambda d: houston(d)["hours"].update(closes="07:00"),
        "consulates[houston].hours.closes",
        "not after opens",
    ),
    (
        "hours unquoted, read by YAML as minutes",
        lambda d: houston(d)["hours"].update(opens=480),
        "consulates[houston].hours.opens",
        "HH:MM",
    ),
    (
        "weekday misspelt",
        lambda d: houston(d)["hours"].update(weekdays=["lun"]),
        "consulates[houston].hours.weekdays[0]",
        "mon",
    ),
    (
        "no slot capacity",
        lambda d: houston(d)["hours"].pop("slot_capacity"),
        "consulates[houston].hours.slot_capacity",
        "missing",
    ),
    ("impossible holiday", lambda d: mx(d).update(holidays=["2026-02-30"]), "networks[0].holidays[0]", "YYYY-MM-DD"),
    (
        "an id used in two networks",
        lambda d: (second_network(d), d["networks"][1]["consulates"][0].update(id="houston")),
        "consulates[houston].id",
        "also used by MX",
    ),
    (
        "a duty phone used in two networks",
        lambda d: (second_network(d), d["networks"][1]["consulates"][0].update(duty_phones=["+17135550171"])),
        "consulates[gt-houston]",
        "'+17135550171' is also used by houston",
    ),
    (
        "a network listed twice",
        lambda d: (second_network(d), d["networks"][1].update(network="MX")),
        "networks[1].network",
        "listed twice",
    ),
]


def test_the_small_network_is_valid(tmp_path):
    path = tmp_path / "consulates.yaml"
    data = deployment_file()
    second_network(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    loaded = Directory.load(path)
    assert [c.id for c in loaded.consulates] == ["houston", "dallas", "gt-houston", "gt-dallas"]


@pytest.mark.parametrize(("label", "damage", "key", "problem"), BROKEN, ids=[row[0] for row in BROKEN])
def test_a_broken_file_is_refused_naming_file_and_key(tmp_path, label, damage, key, problem):
    data = deployment_file()
    damage(data)
    path = tmp_path / "consulates.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConsulatesError) as refused:
        Directory.load(path)
    assert refused.value.key == key
    assert str(refused.value).startswith(f"{path}: {key}: ")
    assert problem in str(refused.value)


@pytest.mark.parametrize(
    ("label", "text", "key", "problem"),
    [
        ("invalid YAML", "networks:\n- network: MX\n  central: {name: [unclosed\n", "line 4", "invalid YAML"),
        ("not a mapping", "- network\n- MX\n", "(top level)", "mapping"),
        ("empty file", "", "(top level)", "mapping"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_an_unreadable_file_is_refused_naming_file_and_place(tmp_path, label, text, key, problem):
    path = tmp_path / "consulates.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConsulatesError, match=re.escape(f"{path}: {key}: ")) as refused:
        Directory.load(path)
    assert problem in str(refused.value)


def test_a_missing_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConsulatesError, match=re.escape(f"{path}: (file): cannot be read")):
        Directory.load(path)


def test_a_consulates_error_is_a_value_error():
    assert issubclass(ConsulatesError, ValueError)
