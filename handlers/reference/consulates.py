"""The consular networks: which consulate is responsible for a place or a phone number, when it opens,
and its local time.

Loaded once from config/consulates.yaml (one network per nationality served); every look-up is offline
and pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml

from handlers.reference import yamltext
from handlers.reference.phone_states import state_of
from handlers.reference.states import STATES

# Also as phonenumbers' geocoder spells these two.
_STATE_BY_NAME = {name.lower(): code for code, name in STATES.items()} | {
    "washington state": "WA",
    "washington d.c.": "DC",
}
# USPS ZIP code prefixes (first three digits) by state, as (first, last, state); gaps are unassigned or
# military (AE, AA, AP). 969 also covers the Northern Mariana Islands, which are not in STATES.
_ZIP_PREFIX_STATES = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"),
    (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"),
    (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"),
    (202, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"),
    (290, 299, "SC"), (300, 319, "GA"), (320, 339, "FL"), (341, 349, "FL"), (350, 369, "AL"),
    (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"),
    (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"),
    (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"),
    (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"),
    (730, 731, "OK"), (733, 733, "TX"), (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"),
    (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"), (870, 884, "NM"),
    (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"), (969, 969, "GU"),
    (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)  # fmt: skip
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ZIP_PREFIX = re.compile(r"^\d{3,5}$")  # 3 digits for a region; 4 or 5 to carve a town out of it
_AREA_CODE = re.compile(r"^[2-9]\d{2}$")
_ZIP_CODE = re.compile(r"^(\d{3})\d{2}(?:-?\d{4})?$")  # 77002, 77002-1234
SHORT_NAME_MAX = 30

_TOP_KEYS = {"networks"}
_NETWORK_KEYS = {"network", "central", "holidays", "consulates"}
_HOURS_KEYS = {"weekdays", "opens", "closes", "slot_capacity"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CENTRAL_KEYS = {"name", "short_name", "name_en", "phones", "time_zone"}
_CONSULATE_KEYS = {
    "id", "name", "short_name", "name_en", "city", "state", "country", "latitude", "longitude", "time_zone",
    "address", "phone", "duty_phones", "backup_phones", "hours", "holidays", "jurisdiction",
}  # fmt: skip
_JURISDICTION_KEYS = {"states", "zip_prefixes", "area_codes", "default_for"}


class ConsulatesError(ValueError):
    """A consulates file that cannot be used; the message names the file and the key at fault."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Jurisdiction:
    """Who a consulate is responsible for; see the comment at the top of config/consulates.yaml."""

    states: tuple[str, ...]
    zip_prefixes: tuple[str, ...] = ()
    area_codes: tuple[str, ...] = ()
    default_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hours:
    """When a consulate opens, which is also when appointments can be booked (in its time zone)."""

    weekdays: tuple[int, ...]  # 0 = Monday
    opens: time
    closes: time
    slot_capacity: int  # people served at once in one service window

    def describe(self, day_names: tuple[str, ...] = ()) -> str:
        """Like "Mon-Fri 08:00-14:00" (or with the day names given, Monday first), for a screen."""
        names = day_names or tuple(d.capitalize() for d in WEEKDAYS)
        days = [names[d] for d in self.weekdays]
        consecutive = list(self.weekdays) == list(range(self.weekdays[0], self.weekdays[-1] + 1))
        span = f"{days[0]}-{days[-1]}" if consecutive and len(days) > 2 else ",".join(days)
        return f"{span} {self.opens:%H:%M}-{self.closes:%H:%M}"


@dataclass(frozen=True)
class Consulate:
    network: str  # the nationality it serves, e.g. "MX"
    id: str
    name: str  # official name, e.g. "Consulado General de México en Houston"
    short_name: str  # for SMS, at most SHORT_NAME_MAX characters
    city: str
    state: str
    country: str
    latitude: float
    longitude: float
    time_zone: str  # IANA
    address: str
    phone: str  # public, E.164
    duty_phones: tuple[str, ...]  # paged on an alert
    backup_phones: tuple[str, ...]  # paged when the duty phones do not acknowledge
    hours: Hours
    holidays: frozenset[date]  # the network's and its own
    jurisdiction: Jurisdiction
    name_en: str = ""  # short_name for English readers ("Consulate in Houston"); "" when not given

    def is_open_on(self, day: date) -> bool:
        """True on an opening weekday that is not a holiday."""
        return day.weekday() in self.hours.weekdays and day not in self.holidays


@dataclass(frozen=True)
class Central:
    """A network's 24/7 number, told when no consulate is responsible."""

    network: str
    name: str
    short_name: str
    phones: tuple[str, ...]
    time_zone: str
    name_en: str = ""  # short_name for English readers; "" when not given

    @property
    def id(self) -> str:
        """How an alert records that the central was told: "central:MX"."""
        return f"central:{self.network}"


@dataclass(frozen=True)
class Directory:
    """Every consular network of the deployment; the first is the default for an unknown nationality."""

    networks: tuple[Network, ...]

    @classmethod
    def load(cls, path: Path) -> Directory:
        """Reads and checks the file; raises ConsulatesError naming the file and key at fault."""
        root = Node(path, "", read_yaml(path))
        root.only(_TOP_KEYS)
        entries = root.value("networks", list)
        if not entries:
            raise root.fail("networks", "empty")
        networks = [Network.load(Node(path, f"networks[{n}]", entry)) for n, entry in enumerate(entries)]
        _check_unique_across(path, networks)
        return cls(tuple(networks))

    def network_for(self, nationality: str | None) -> Network:
        """The network serving this nationality, else the deployment's first."""
        return next((n for n in self.networks if n.network == nationality), self.networks[0])

    def by_id(self, office_id: str) -> Consulate | None:
        """The consulate with this id in any network, in any case ("Houston" is houston), or None."""
        return next((c for n in self.networks if (c := n.by_id(office_id))), None)

    def office_of_phone(self, phone: str) -> str | None:
        """The id of the office the file gives this number to (a consulate's, or "central:MX"), or None."""
        for network in self.networks:
            if phone in network.central.phones:
                return network.central.id
            for consulate in network.consulates:
                if phone in (consulate.phone, *consulate.duty_phones, *consulate.backup_phones):
                    return consulate.id
        return None

    def central_for(self, office_id: str) -> Central:
        """The central of the network an office ("houston", "central:GT") belongs to."""
        consulate = self.by_id(office_id)
        network = consulate.network if consulate else office_id.removeprefix("central:")
        return self.network_for(network).central

    def duty_phones(self) -> frozenset[str]:
        """Every number allowed to act as a duty officer, in every network."""
        return frozenset().union(*(n.duty_phones() for n in self.networks))

    @property
    def consulates(self) -> tuple[Consulate, ...]:
        return tuple(c for n in self.networks for c in n.consulates)

    @property
    def nationalities(self) -> tuple[str, ...]:
        """The nationalities served, one per network, in the file's order."""
        return tuple(n.network for n in self.networks)

    @property
    def host_countries(self) -> tuple[str, ...]:
        """The countries the consulates are in: a number from one says nothing of its owner's nationality."""
        return tuple(dict.fromkeys(c.country for c in self.consulates))


@dataclass(frozen=True)
class Network:
    """One nationality's consular network."""

    network: str  # ISO country code of the nationality served, e.g. "MX"
    central: Central
    consulates: tuple[Consulate, ...]

    @classmethod
    def load(cls, node: Node) -> Network:
        node.only(_NETWORK_KEYS)
        network = node.text("network")
        if not re.fullmatch(r"[A-Z]{2}", network):
            raise node.fail("network", f"{network!r} is not a two-letter country code")
        holidays = frozenset(node.days("holidays"))
        consulates = _consulates(node, network, holidays)
        _check_claims(node.path, consulates)
        return cls(network, _central(node.child("central"), network), consulates)

    def by_id(self, consulate_id: str) -> Consulate | None:
        """The consulate with this id, in any case, or None."""
        wanted = consulate_id.strip().casefold()
        return next((c for c in self.consulates if c.id.casefold() == wanted), None)

    def responsible(self, zip_code: str | None = None, state: str | None = None) -> Consulate | None:
        """The consulate claiming the longest prefix of the ZIP, else the one for the state given or the
        ZIP's state."""
        zip_code = _zip5(zip_code)
        claims = [
            (len(p), c)
            for c in self.consulates
            for p in c.jurisdiction.zip_prefixes
            if zip_code and zip_code.startswith(p)
        ]
        if claims:
            return max(claims, key=lambda claim: claim[0])[1]
        code = _state_code(state) or _state_of_zip_prefix(zip_code[:3] if zip_code else None)
        return self._for_state(code) if code else None

    def for_phone(self, e164: str) -> Consulate | None:
        """The consulate for a +1 number's area code, else for its area code's state; None otherwise."""
        try:
            number = phonenumbers.parse(e164)
        except phonenumbers.NumberParseException:
            return None
        if number.country_code != 1:
            return None
        area_code = str(number.national_number)[:3]
        by_area = self._first(lambda j: area_code in j.area_codes)
        if by_area:
            return by_area
        state = state_of(number)
        return self._for_state(state) if state else None

    def duty_phones(self) -> frozenset[str]:
        """Every number allowed to act as a duty officer: duty and backup phones, and the central's."""
        consulates = (c.duty_phones + c.backup_phones for c in self.consulates)
        return frozenset(self.central.phones).union(*consulates)

    def _first(self, matches: Callable[[Jurisdiction], bool]) -> Consulate | None:
        return next((c for c in self.consulates if matches(c.jurisdiction)), None)

    def _for_state(self, state: str) -> Consulate | None:
        """The only consulate claiming the state, else the one that is its default_for."""
        claimants = [c for c in self.consulates if state in c.jurisdiction.states]
        if len(claimants) == 1:
            return claimants[0]
        return next((c for c in claimants if state in c.jurisdiction.default_for), None)


def name_for(office: Consulate | Central, language: str | None) -> str:
    """The office as a message names it to a reader of the language: its English name for English readers
    when the file gives one ("Consulate in Houston"), else its short name ("Consulado en Houston")."""
    if language == "en" and office.name_en:
        return office.name_en
    return office.short_name or office.name


def local_moment(office: Consulate | Central, epoch_seconds: float) -> datetime:
    """The moment on the office's clock, with its time zone (for a text to name it)."""
    return _local(office, epoch_seconds)


def local_time(office: Consulate | Central, epoch_seconds: float) -> str:
    """HH:MM (24 h) in the office's time zone."""
    return _local(office, epoch_seconds).strftime("%H:%M")


def local_datetime(office: Consulate | Central, epoch_seconds: float) -> str:
    """DD/MM HH:MM in the office's time zone, as SMS show a date."""
    return _local(office, epoch_seconds).strftime("%d/%m %H:%M")


def _local(office: Consulate | Central, epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, ZoneInfo(office.time_zone))


def _zip5(zip_code: str | None) -> str | None:
    """The five digits of "77002" or "77002-1234"; None for anything else."""
    found = _ZIP_CODE.match(zip_code.strip()) if zip_code else None
    return found.group(0)[:5] if found else None


def _state_of_zip_prefix(prefix: str | None) -> str | None:
    number = int(prefix) if prefix else -1
    return next((state for first, last, state in _ZIP_PREFIX_STATES if first <= number <= last), None)


def _state_code(text: str | None) -> str | None:
    """The code for "TX", "tx" or "Texas"; None for anything else."""
    if not text:
        return None
    cleaned = " ".join(text.split())
    if cleaned.upper() in STATES:
        return cleaned.upper()
    return _STATE_BY_NAME.get(cleaned.lower())


# Loading and checking.


def read_yaml(path: Path) -> object:
    """The YAML document in the file; ConsulatesError naming the file when it cannot be read."""
    try:
        return yamltext.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConsulatesError(path, "(file)", f"cannot be read: {error.strerror}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ConsulatesError(path, where, f"invalid YAML: {getattr(error, 'problem', error)}") from error


@dataclass(frozen=True)
class Node:
    """One mapping of the file and where it sits, so that every error names its key."""

    path: Path
    where: str
    data: object

    def __post_init__(self) -> None:
        if not isinstance(self.data, dict):
            raise ConsulatesError(self.path, self.where or "(top level)", "expected a mapping of keys")

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, problem: str) -> ConsulatesError:
        return ConsulatesError(self.path, self.key(name), problem)

    def only(self, known: set[str]) -> None:
        """Refuses unknown keys: a misspelt `zip_prefixes` would otherwise silently route alerts elsewhere."""
        for name in self.data:
            if name not in known:
                raise self.fail(str(name), f"unknown key (expected one of {', '.join(sorted(known))})")

    def value(self, name: str, kind: type | tuple[type, ...], required: bool = True) -> object:
        """The value of a key, checked against its type; None when an optional key is absent."""
        if name not in self.data:
            if required:
                raise self.fail(name, "missing")
            return None
        value = self.data[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(name, f"expected {_kind_name(kind)}, got {value!r}")
        return value

    def text(self, name: str, max_length: int | None = None) -> str:
        value = self.value(name, str).strip()
        if not value:
            raise self.fail(name, "empty")
        if max_length and len(value) > max_length:
            raise self.fail(name, f"{value!r} is longer than {max_length} characters")
        return value

    def optional_text(self, name: str, max_length: int | None = None) -> str:
        """A text key that may be absent or empty: ""."""
        value = self.value(name, str, required=False)
        return self.text(name, max_length) if value and value.strip() else ""

    def degrees(self, name: str, limit: float) -> float:
        value = float(self.value(name, (int, float)))
        if not -limit <= value <= limit:
            raise self.fail(name, f"{value} is outside -{limit}..{limit}")
        return value

    def time_zone(self, name: str) -> str:
        value = self.text(name)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(name, f"{value!r} is not an IANA time zone (e.g. America/Chicago)") from None
        return value

    def items(self, name: str, valid: Callable[[object], bool], what: str, required: bool = True) -> tuple:
        """A list whose every item passes `valid`; `what` says what an item should be."""
        values = self.value(name, list, required) or []
        if required and not values:
            raise self.fail(name, "empty")
        for index, item in enumerate(values):
            if not valid(item):
                raise self.fail(f"{name}[{index}]", f"{item!r} is not {what}")
        return tuple(values)

    def phones(self, name: str) -> tuple[str, ...]:
        return self.items(name, _is_phone, _PHONE)

    def days(self, name: str) -> tuple[date, ...]:
        """An optional list of quoted "YYYY-MM-DD" dates."""
        return tuple(date.fromisoformat(d) for d in self.items(name, _is_day, 'a quoted date "YYYY-MM-DD"', False))

    def clock(self, name: str) -> time:
        value = self.data.get(name)
        if name not in self.data:
            raise self.fail(name, "missing")
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise self.fail(name, f'{value!r} is not a quoted 24-hour time "HH:MM"')
        return time.fromisoformat(value)

    def child(self, name: str) -> Node:
        return Node(self.path, self.key(name), self.value(name, dict))


_PHONE = 'a quoted E.164 phone number such as "+17135550170"'


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", list: "a list", dict: "a mapping", int: "a number", float: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(names[k] for k in kinds))


def _is_phone(value: object) -> bool:
    if not isinstance(value, str) or not _E164.match(value):
        return False
    try:
        number = phonenumbers.parse(value)
    except phonenumbers.NumberParseException:  # e.g. an unassigned country code
        return False
    # Fictional 555-01xx numbers are possible but not "valid" to phonenumbers, so possible is the bar.
    return phonenumbers.is_possible_number(number)


def _is_state(value: object) -> bool:
    return isinstance(value, str) and value in STATES


def _matches(pattern: re.Pattern[str]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def _is_day(value: object) -> bool:
    if not isinstance(value, str) or not _DAY.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return False
    return True


def _central(node: Node, network: str) -> Central:
    node.only(_CENTRAL_KEYS)
    return Central(
        network=network,
        name=node.text("name"),
        short_name=node.text("short_name", SHORT_NAME_MAX),
        phones=node.phones("phones"),
        time_zone=node.time_zone("time_zone"),
        name_en=node.optional_text("name_en", SHORT_NAME_MAX),
    )


def _consulates(root: Node, network: str, holidays: frozenset[date]) -> tuple[Consulate, ...]:
    entries = root.value("consulates", list)
    consulates: list[Consulate] = []
    for index, entry in enumerate(entries):
        consulate = _consulate(Node(root.path, root.key(f"consulates[{index}]"), entry), network, holidays)
        if any(c.id.casefold() == consulate.id.casefold() for c in consulates):
            raise ConsulatesError(root.path, root.key(f"consulates[{index}].id"), f"{consulate.id!r} is used twice")
        consulates.append(consulate)
    return tuple(consulates)


def _consulate(node: Node, network: str, holidays: frozenset[date]) -> Consulate:
    node.only(_CONSULATE_KEYS)
    consulate_id = node.text("id")
    # From here on errors name the consulate by id, which is easier to find in the file than an index.
    return consulate_from(Node(node.path, f"consulates[{consulate_id}]", node.data), network, holidays)


def consulate_from(node: Node, network: str, holidays: frozenset[date]) -> Consulate:
    """Checks a consulate's keys; errors name `node.where` (an id here, a CSV row for an import)."""
    consulate_id = node.text("id")
    state = node.text("state")
    if not _is_state(state):
        raise node.fail("state", f"{state!r} is not a US state or territory code")
    return Consulate(
        network=network,
        id=consulate_id,
        name=node.text("name"),
        short_name=node.text("short_name", SHORT_NAME_MAX),
        city=node.text("city"),
        state=state,
        country=node.text("country"),
        latitude=node.degrees("latitude", 90),
        longitude=node.degrees("longitude", 180),
        time_zone=node.time_zone("time_zone"),
        address=node.text("address"),
        phone=_single_phone(node, "phone"),
        duty_phones=node.phones("duty_phones"),
        backup_phones=node.items("backup_phones", _is_phone, _PHONE, required=False),
        hours=_hours(node.child("hours")),
        holidays=holidays | frozenset(node.days("holidays")),
        jurisdiction=_jurisdiction(node.child("jurisdiction")),
        name_en=node.optional_text("name_en", SHORT_NAME_MAX),
    )


def _hours(node: Node) -> Hours:
    node.only(_HOURS_KEYS)
    days = node.items("weekdays", lambda d: d in WEEKDAYS, f"one of {' '.join(WEEKDAYS)}")
    opens, closes = node.clock("opens"), node.clock("closes")
    if closes <= opens:
        raise node.fail("closes", f"{closes:%H:%M} is not after opens ({opens:%H:%M})")
    capacity = node.value("slot_capacity", int)
    if not 1 <= capacity <= 50:
        raise node.fail("slot_capacity", f"{capacity} is outside 1..50")
    return Hours(tuple(sorted({WEEKDAYS.index(d) for d in days})), opens, closes, capacity)


def _single_phone(node: Node, name: str) -> str:
    value = node.value(name, str)
    if not _is_phone(value):
        raise node.fail(name, f"{value!r} is not {_PHONE}")
    return value


def _jurisdiction(node: Node) -> Jurisdiction:
    node.only(_JURISDICTION_KEYS)
    if "states" not in node.data and "zip_prefixes" not in node.data:
        raise node.fail("states", "missing (a jurisdiction needs states, zip_prefixes or both)")
    jurisdiction = Jurisdiction(
        states=node.items("states", _is_state, "a US state or territory code", required=False),
        zip_prefixes=node.items("zip_prefixes", _matches(_ZIP_PREFIX), "a quoted ZIP prefix of 3 to 5 digits", False),
        area_codes=node.items("area_codes", _matches(_AREA_CODE), "a quoted 3-digit area code", False),
        default_for=node.items("default_for", _is_state, "a US state or territory code", required=False),
    )
    for state in jurisdiction.default_for:
        if state not in jurisdiction.states:
            raise node.fail("default_for", f"{state!r} is not in this consulate's states")
    return jurisdiction


def _check_unique_across(path: Path, networks: list[Network]) -> None:
    """Ids and phone numbers are unique in the whole deployment: an id names one consulate in bookings and
    alerts, and a duty phone identifies the consulate answering."""
    networks_seen: set[str] = set()
    ids: dict[str, str] = {}
    phones: dict[str, str] = {}
    for index, network in enumerate(networks):
        if network.network in networks_seen:
            raise ConsulatesError(path, f"networks[{index}].network", f"{network.network!r} is listed twice")
        networks_seen.add(network.network)
        for phone in network.central.phones:
            _claim(path, phones, phone, network.central.id, f"networks[{index}].central.phones")
        for consulate in network.consulates:
            # Operators type ids in any case: two ids differing only in case would be one.
            _claim(path, ids, consulate.id.casefold(), consulate.network, f"consulates[{consulate.id}].id")
            for phone in (consulate.phone, *consulate.duty_phones, *consulate.backup_phones):
                _claim(path, phones, phone, consulate.id, f"consulates[{consulate.id}]")


def _claim(path: Path, owners: dict[str, str], value: str, owner: str, key: str) -> None:
    first = owners.setdefault(value, owner)
    if first != owner:
        raise ConsulatesError(path, key, f"{value!r} is also used by {first}")


def _check_claims(path: Path, consulates: tuple[Consulate, ...]) -> None:
    """Every ZIP prefix, area code and state leads to exactly one consulate."""
    _check_unique(path, consulates, "zip_prefixes")
    _check_unique(path, consulates, "area_codes")
    _check_unique(path, consulates, "default_for")
    states = dict.fromkeys(s for c in consulates for s in c.jurisdiction.states)
    for state in states:
        _check_shared_state(path, state, [c for c in consulates if state in c.jurisdiction.states])


def _check_unique(path: Path, consulates: Iterable[Consulate], field: str) -> None:
    owners: dict[str, str] = {}
    for consulate in consulates:
        for value in getattr(consulate.jurisdiction, field):
            owner = owners.setdefault(value, consulate.id)
            if owner != consulate.id:
                key = f"consulates[{consulate.id}].jurisdiction.{field}"
                raise ConsulatesError(path, key, f"{value!r} is also claimed by {owner}")


def _check_shared_state(path: Path, state: str, claimants: list[Consulate]) -> None:
    """A state several consulates claim needs one default, and ZIP prefixes to reach the others."""
    if len(claimants) < 2:
        return
    defaults = [c for c in claimants if state in c.jurisdiction.default_for]
    names = ", ".join(c.id for c in claimants)
    if not defaults:
        key = f"consulates[{claimants[-1].id}].jurisdiction.states"
        raise ConsulatesError(path, key, f"{state!r} is claimed by {names}: list it in one's default_for")
    for consulate in claimants:
        if consulate is not defaults[0] and not consulate.jurisdiction.zip_prefixes:
            key = f"consulates[{consulate.id}].jurisdiction.zip_prefixes"
            problem = f"missing: {state!r} goes to {defaults[0].id} (its default) unless a ZIP prefix says otherwise"
            raise ConsulatesError(path, key, problem)
