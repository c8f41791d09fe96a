"""Where a person says they are: a US ZIP code, a city (with or without its state) or a state, as typed on a
feature phone, turned into a place with coordinates.

Offline and pure: the data is the `zipcodes` package's. Its indexes take two seconds to build and 76 MB as
Python objects, so they are built once into a compact file of arrays (`python -m handlers.reference.places`,
run by `make`; or on first use when the file is missing or its sources changed) that a process maps and
reads in milliseconds and a few MB. Typos are forgiven with rapidfuzz's bounded edit distance over the city
names.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
import logging
import math
import mmap
import os
import re
import sys
import tempfile
import threading
import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zipcodes
from rapidfuzz import process
from rapidfuzz.distance import OSA

from handlers.reference.states import OTHER_NAMES, STATES
from handlers.reference.text import fold

# Longer than any city plus state ("Rancho Santa Margarita, California" is 34): anything past it is not a
# place, and refusing it before any work keeps a 100 kB message cheap.
MAX_INPUT = 60
EARTH_RADIUS_KM = 6371.0088  # mean radius

# Typed as a whole, these name a state and also a city inside that same state, where most people who type
# them live (and where the consulate is): the city is the more precise answer and the state is the same.
# "Washington" stays the state: its city is in another one (DC).
_CITY_BEFORE_STATE = {"new york": ("new york", "NY"), "nueva york": ("new york", "NY")}
# Written either way in city names; both the index and the query use the long form. Only before another
# word: a last "MT" is Montana.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "sn": "san"}
# APO/FPO/DPO military post: no place on a map to point to.
_MILITARY_STATES = frozenset({"AA", "AE", "AP"})
_ZIP = re.compile(r"(?<!\d)(\d{5})(?:-?\d{4})?(?!\d)")  # 77002, 77002-1234, 770021234
_APOSTROPHES = re.compile(r"['’`´]")  # "Coeur d'Alene" is "coeur dalene", not "coeur d alene"
_WORD = re.compile(r"[a-z]+")
_MC = re.compile(r"\bMc([a-z])")

# The compact index's file, in the environment that holds the zipcodes data it is made from; its name carries
# the hash of its sources, so a new gazetteer or a changed builder makes a new file.
CACHE_DIR = Path(sys.prefix) / "share" / "lifeline"
_FORMAT = b"lifeline places index 1\n"
_SOURCES = ("places.py", "states.py", "text.py")  # beside this file: the builder and what it reads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """A place a person named: a ZIP code's area, a city or a state."""

    label: str  # what to show back: "Houston, TX" / "77002 Houston, TX" / "Texas"
    state: str  # two-letter code
    # The ZIP the person gave; for a city its lowest ZIP (usually downtown), so that jurisdictions drawn
    # by ZIP prefix apply to a city name too; None for a state.
    zip_code: str | None
    latitude: float
    longitude: float  # for a state, the centroid of its ZIP codes (denser where people live)
    kind: str  # "zip" | "city" | "state"


@dataclass(frozen=True)
class _City:
    size: int  # ZIP codes whose main name this is: the tie-breaker between cities of the same name
    secondary: int  # ZIP codes that also accept this name (a neighbourhood such as Hollywood, CA)
    place: Place


@dataclass(frozen=True)
class _Built:
    """The indexes as `_build` makes them: Python objects, 76 MB. Packed into `_Index` for serving; kept as
    the reference the packed index is tested against."""

    zips: dict[str, Place]
    cities: dict[str, tuple[_City, ...]]  # normalized name -> its cities, largest first
    cities_by_state: dict[tuple[str, str], _City]  # (normalized name, state) -> the city
    # Every normalized city name by length, for the fuzzy look-up: those of cities with several ZIP codes,
    # then the others.
    names_by_length: tuple[dict[int, list[str]], dict[int, list[str]]]
    names_by_state: dict[str, list[str]]
    states: dict[str, Place]
    state_aliases: dict[str, str]  # normalized name or code -> code
    state_names: list[str]  # normalized full names (no codes), for the fuzzy look-up

    def zip(self, code: str) -> Place | None:
        return self.zips.get(code)

    def city(self, name: str, state: str) -> _City | None:
        return self.cities_by_state.get((name, state))

    def largest(self, name: str) -> _City | None:
        cities = self.cities.get(name)
        return cities[0] if cities else None

    def names_in(self, state: str) -> list[str]:
        return self.names_by_state.get(state, [])

    def names_of_length(self, tier: int, length: int) -> list[str]:
        return self.names_by_length[tier].get(length, [])


_index_lock = threading.Lock()
_loaded: _Index | None = None


def warm() -> None:
    """Loads the index now (building its file first if needed), so that the first person does not wait."""
    _index()


def find_place(text: str) -> Place | None:
    """The place `text` names (a ZIP anywhere in it wins), or None when it names none."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    return _find(_index(), text)


def _find(index: _Index | _Built, text: str) -> Place | None:
    found = _ZIP.search(text)
    if found:
        return index.zip(found.group(1))
    words = _words(text)
    if not words:
        return None
    query = " ".join(words)
    if query in _CITY_BEFORE_STATE:
        return _exact(index, *_CITY_BEFORE_STATE[query])
    state = index.state_aliases.get(query)
    if state:
        return index.states[state]
    # "houston tx", "raleigh carolina del norte": the longest trailing state name first, so that
    # "wheeling west virginia" is WV and not "wheeling west" in VA.
    splits = [
        (" ".join(words[:-size]), index.state_aliases[tail])
        for size in (3, 2, 1)
        if len(words) > size and (tail := " ".join(words[-size:])) in index.state_aliases
    ]
    for city, state in splits:
        if place := _exact(index, city, state):
            return place
    # The whole text as a city: its last word may only look like a state's name or code ("... La", "... De").
    if place := _exact(index, query, None):
        return place
    for city, state in splits:
        if place := _fuzzy(index, city, state):
            return place
    if splits:
        # The person named a state and a city we cannot place in it: the state is what we know.
        return index.states[splits[0][1]]
    return _fuzzy(index, query, None)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _words(text: str) -> list[str]:
    """Lower-case ASCII words: accents, punctuation and extra spaces dropped, abbreviations spelt out."""
    plain = fold(_APOSTROPHES.sub("", text)).lower()
    words: list[str] = []
    for word in _WORD.findall(plain):
        # Initials typed with dots or spaces ("N.Y.", "D C") are one word: "ny", "dc".
        if len(word) == 1 and words and len(words[-1]) == 1:
            words[-1] += word
        else:
            words.append(word)
    return [_ABBREVIATIONS.get(word, word) for word in words[:-1]] + words[-1:]


def _exact(index: _Index | _Built, name: str, state: str | None) -> Place | None:
    city = index.city(name, state) if state else index.largest(name)
    return city.place if city else None


def _typo_budget(name: str) -> int:
    """Edits forgiven: none under 4 letters (too many short names are one letter apart), 1 up to 6, else 2."""
    letters = len(name) - name.count(" ")
    return 0 if letters < 4 else 1 if letters <= 6 else 2


def _fuzzy(index: _Index | _Built, name: str, state: str | None) -> Place | None:
    """The nearest city name within the typo budget, the larger city when two are as near; with no state,
    a state name as near wins (there are few, and they are typed often)."""
    budget = _typo_budget(name)
    if not budget:
        return None
    # OSA distance: a swap of two neighbouring letters ("Huoston") is one typo, not two.
    near_state = None
    if not state:
        near_state = process.extractOne(name, index.state_names, scorer=OSA.distance, score_cutoff=budget)
    cutoff = near_state[1] - 1 if near_state else budget  # a city must be nearer than the state to win
    best: tuple[int, int, int, str, str] | None = None
    for choices in _fuzzy_choices(index, name, state, budget):
        if cutoff < 1:
            break
        hits = process.extract(name, choices, scorer=OSA.distance, score_cutoff=cutoff, limit=None)
        for candidate, distance, _ in hits:
            city = index.city(candidate, state) if state else index.largest(candidate)
            key = (distance, -city.size, -city.secondary, city.place.state, candidate)  # a total order
            if best is None or key < best:
                best = key
        if best:
            cutoff = best[0] - 1  # the next tier's cities are smaller: they must be nearer
    if best:
        return index.city(best[4], best[3]).place
    return index.states[index.state_aliases[near_state[0]]] if near_state else None


def _fuzzy_choices(index: _Index | _Built, name: str, state: str | None, budget: int) -> Iterator[list[str]]:
    """The names to compare, in tiers: the cities with several ZIP codes, then the others (a typo of a large
    city at one edit cannot be beaten by a smaller one: none is nearer, as the exact look-up failed, and one
    as near loses to the larger). Only names whose length is within reach."""
    if state:
        yield index.names_in(state)
        return
    lengths = range(len(name) - budget, len(name) + budget + 1)
    for tier in (0, 1):
        yield [candidate for length in lengths for candidate in index.names_of_length(tier, length)]


def _index() -> _Index:
    global _loaded
    loaded = _loaded
    if loaded is None:
        # One loader at a time: a second thread waits for the first instead of doing the same work.
        with _index_lock:
            if _loaded is None:
                _loaded = _load_or_build()
            loaded = _loaded
    return loaded


def _pretty(city: str) -> str:
    """zipcodes writes "Winston-salem" and "Mcallen": "Winston-Salem", "McAllen"."""
    city = "-".join(part[:1].upper() + part[1:] for part in city.split("-"))
    return _MC.sub(lambda found: "Mc" + found.group(1).upper(), city)


class _Centre:
    """A running mean of points: the centre of a city's or a state's ZIP codes."""

    __slots__ = ("latitude", "longitude", "count")

    def __init__(self) -> None:
        self.latitude = self.longitude = 0.0
        self.count = 0

    def add(self, latitude: float, longitude: float) -> None:
        self.latitude += latitude
        self.longitude += longitude
        self.count += 1

    def mean(self) -> tuple[float, float]:
        return round(self.latitude / self.count, 4), round(self.longitude / self.count, 4)


def _build() -> _Built:
    """The indexes from zipcodes' 42,000 rows: two seconds, 76 MB of objects."""
    main: dict[tuple[str, str], _Centre] = defaultdict(_Centre)  # (name, state) -> its ZIP codes' centre
    also: dict[tuple[str, str], _Centre] = defaultdict(_Centre)  # the same, of ZIP codes accepting the name
    main_count: dict[tuple[str, str], int] = defaultdict(int)
    lowest_zip: dict[tuple[str, str], str] = {}
    also_zip: dict[tuple[str, str], str] = {}
    spelling: dict[tuple[str, str], str] = {}
    state_centres: dict[str, _Centre] = defaultdict(_Centre)
    located: list[tuple[str, tuple[str, str], tuple[float, float] | None]] = []
    normalized: dict[str, str] = {}  # the same few thousand names come back on many ZIP codes

    def key_of(city: str, state: str) -> tuple[str, str]:
        name = normalized.get(city)
        if name is None:
            name = normalized[city] = " ".join(_words(city))
        return name, state

    for row in zipcodes.list_all():
        state = row["state"]
        if state in _MILITARY_STATES:
            continue
        lat, lon = float(row["lat"] or 0), float(row["long"] or 0)
        point = (lat, lon) if lat or lon else None  # a few ZIPs have no coordinates: 0, 0
        key = key_of(row["city"], state)
        if not main_count[key]:
            spelling[key] = row["city"]  # the main name's spelling over an accepted one's
        main_count[key] += 1
        lowest_zip[key] = min(lowest_zip.get(key, row["zip_code"]), row["zip_code"])
        if point:
            main[key].add(lat, lon)
            if row["zip_code_type"] == "STANDARD":
                state_centres[state].add(lat, lon)
        for other in row["acceptable_cities"]:
            other_key = key_of(other, state)
            spelling.setdefault(other_key, other)
            also_zip[other_key] = min(also_zip.get(other_key, row["zip_code"]), row["zip_code"])
            if point:
                also[other_key].add(lat, lon)
        located.append((row["zip_code"], key, point))

    cities_by_state: dict[tuple[str, str], _City] = {}
    for key in main.keys() | also.keys():
        centre = main.get(key) or also[key]
        if not centre.count:
            continue  # no ZIP code of this name has coordinates
        spelling[key] = _pretty(spelling[key])
        place = Place(
            f"{spelling[key]}, {key[1]}", key[1], lowest_zip.get(key) or also_zip.get(key), *centre.mean(), "city"
        )
        cities_by_state[key] = _City(main_count.get(key, 0), also[key].count if key in also else 0, place)
    grouped: dict[str, list[_City]] = defaultdict(list)
    for (name, _), city in cities_by_state.items():
        grouped[name].append(city)
    cities = {
        name: tuple(sorted(group, key=lambda c: (-c.size, -c.secondary, c.place.state)))
        for name, group in grouped.items()
    }
    names_by_state: dict[str, list[str]] = defaultdict(list)
    for name, state in sorted(cities_by_state):
        names_by_state[state].append(name)
    names_by_length: tuple[dict[int, list[str]], ...] = (defaultdict(list), defaultdict(list))
    for name in sorted(cities):
        names_by_length[0 if cities[name][0].size > 1 else 1][len(name)].append(name)

    zips: dict[str, Place] = {}
    for zip_code, key, point in located:
        city = cities_by_state.get(key)
        if not point and not city:
            continue  # no coordinates of its own nor of its city: nothing to point to
        # Without coordinates of its own, the centre of its city.
        lat, lon = point or (city.place.latitude, city.place.longitude)
        zips[zip_code] = Place(f"{zip_code} {spelling[key]}, {key[1]}", key[1], zip_code, lat, lon, "zip")

    states: dict[str, Place] = {}
    for code, name in STATES.items():
        if code in state_centres:
            states[code] = Place(name, code, None, *state_centres[code].mean(), "state")
    state_names = {" ".join(_words(name)): code for code, name in STATES.items() if code in states}
    state_names |= {" ".join(_words(name)): code for name, code in OTHER_NAMES.items()}
    aliases = state_names | {code.lower(): code for code in states}
    return _Built(
        zips=zips,
        cities=cities,
        cities_by_state=cities_by_state,
        names_by_length=(dict(names_by_length[0]), dict(names_by_length[1])),
        names_by_state=dict(names_by_state),
        states=states,
        state_aliases=aliases,
        state_names=sorted(state_names),
    )


def _fresh() -> _Built:
    """`_build`, with the cycle collector paused and zipcodes' own copy of its rows let go."""
    # The build makes some 150,000 objects while zipcodes' 42,000 row dicts are alive: the cycle collector
    # would walk them all again and again for nothing (none of this makes a cycle), doubling the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build()
    finally:
        # zipcodes keeps the rows `list_all` made (100 MB) for later calls: there are none.
        if getattr(zipcodes, "_zips_cache", None) is not None:
            zipcodes._zips_cache = None
        if collecting:
            gc.enable()


# The packed index: the file starts with _FORMAT, the length of a JSON header (4 bytes, little-endian) and
# the header, which holds the small tables and where each array is: [typecode, offset, bytes] from the first
# 8-byte boundary after it. Arrays are in this machine's byte order (part of the file's name via the hash).
_ARRAYS = {
    "names": "B",  # every normalized city name, sorted, "\n" between them
    "name_first": "I",  # the first city row of each name, and one past the last row
    # City rows, grouped by name, largest first as `_Built.cities` has them:
    "city_size": "I",
    "city_secondary": "I",
    "city_state": "B",  # index into the header's state_codes
    "city_zip": "I",
    "city_latitude": "d",
    "city_longitude": "d",
    "city_label_at": "I",  # where each label starts in city_labels, and where the last one ends
    "city_labels": "B",
    # The names (rows of `names`) in the order the fuzzy look-up compares them: of each state (the header's
    # state_codes order), and of each tier and length (the header's "lengths" says where each starts):
    "state_names": "I",
    "state_names_at": "I",
    "length_names": "I",
    # ZIP rows, by ZIP code; a ZIP's label is the code and its city's label:
    "zip_code": "I",
    "zip_city": "I",
    "zip_latitude": "d",
    "zip_longitude": "d",
}


class _Index:
    """The indexes served: arrays over the packed file (mapped, shared by processes), Places made on demand;
    a few MB where `_Built` is 76."""

    def __init__(self, packed: memoryview, digest: str, path: Path | None = None):
        try:
            self._read(packed, digest)
        except (KeyError, TypeError, IndexError) as error:  # a file edited by hand: built again, not refused
            raise ValueError(f"malformed: {error!r}") from None
        self.path = path

    def _read(self, packed: memoryview, digest: str) -> None:
        if packed[: len(_FORMAT)] != _FORMAT:
            raise ValueError("not a places index of this version")
        start = len(_FORMAT) + 4
        size = int.from_bytes(packed[len(_FORMAT) : start], "little")
        header = json.loads(bytes(packed[start : start + size]))  # ValueError when cut short
        if not isinstance(header, dict) or header.get("sources") != digest:
            raise ValueError("made from other sources")
        data = -(-(start + size) // 8) * 8
        arrays: dict[str, memoryview] = {}
        for name, (typecode, offset, length) in header["arrays"].items():
            if data + offset + length > len(packed):
                raise ValueError("truncated")
            arrays[name] = packed[data + offset : data + offset + length].cast(typecode)
        self._arrays = arrays
        self._state_codes: list[str] = header["state_codes"]
        self.states = {
            code: Place(label, code, None, lat, lon, "state") for code, (label, lat, lon) in header["states"].items()
        }
        self.state_aliases: dict[str, str] = header["state_aliases"]
        self.state_names: list[str] = header["state_names"]
        self._names = bytes(arrays["names"]).decode("utf-8").split("\n")  # sorted
        self._lengths: list[dict[int, list[int]]] = [
            {int(length): at for length, at in tier.items()} for tier in header["lengths"]
        ]
        # The lists the fuzzy look-up compares, made when first asked for: most are never needed.
        self._listed: dict[tuple[str, int], list[str]] = {}

    @classmethod
    def open(cls, path: Path, digest: str) -> _Index:
        """The index in the file, mapped; FileNotFoundError, or ValueError when it is not a good one."""
        with path.open("rb") as file:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # ValueError when empty
        return cls(memoryview(mapped), digest, path)

    def zip(self, code: str) -> Place | None:
        codes = self._arrays["zip_code"]
        number = int(code)
        row = bisect.bisect_left(codes, number)
        if row == len(codes) or codes[row] != number:
            return None
        city = self._arrays["zip_city"][row]
        latitude, longitude = self._arrays["zip_latitude"][row], self._arrays["zip_longitude"][row]
        return Place(f"{code} {self._label(city)}", self._state(city), code, latitude, longitude, "zip")

    def city(self, name: str, state: str) -> _City | None:
        row = self._row(name)
        if row is None:
            return None
        first = self._arrays["name_first"]
        return next((self._city(c) for c in range(first[row], first[row + 1]) if self._state(c) == state), None)

    def largest(self, name: str) -> _City | None:
        row = self._row(name)
        return None if row is None else self._city(self._arrays["name_first"][row])

    def names_in(self, state: str) -> list[str]:
        if state not in self._state_codes:
            return []
        at = self._state_codes.index(state)
        first = self._arrays["state_names_at"]
        return self._list(("state", at), "state_names", first[at], first[at + 1])

    def names_of_length(self, tier: int, length: int) -> list[str]:
        if length not in self._lengths[tier]:
            return []
        return self._list((f"tier {tier}", length), "length_names", *self._lengths[tier][length])

    def _list(self, key: tuple[str, int], array_name: str, start: int, end: int) -> list[str]:
        listed = self._listed.get(key)
        if listed is None:
            names = self._names
            listed = self._listed[key] = [names[row] for row in self._arrays[array_name][start:end]]
        return listed

    def _row(self, name: str) -> int | None:
        row = bisect.bisect_left(self._names, name)
        return row if row < len(self._names) and self._names[row] == name else None

    def _city(self, row: int) -> _City:
        arrays = self._arrays
        place = Place(
            self._label(row),
            self._state(row),
            f"{arrays['city_zip'][row]:05d}",
            arrays["city_latitude"][row],
            arrays["city_longitude"][row],
            "city",
        )
        return _City(arrays["city_size"][row], arrays["city_secondary"][row], place)

    def _label(self, city: int) -> str:
        at = self._arrays["city_label_at"]
        return bytes(self._arrays["city_labels"][at[city] : at[city + 1]]).decode("utf-8")

    def _state(self, city: int) -> str:
        return self._state_codes[self._arrays["city_state"][city]]


def _pack(built: _Built, digest: str) -> bytes:
    """The packed file's bytes; ValueError when the gazetteer has something the format cannot hold."""
    names = sorted(built.cities)
    state_codes = sorted({city.place.state for cities in built.cities.values() for city in cities})
    state_index = {code: index for index, code in enumerate(state_codes)}
    arrays = {name: array(typecode) for name, typecode in _ARRAYS.items()}
    labels = bytearray()
    row_of_label: dict[str, int] = {}
    for name in names:
        arrays["name_first"].append(len(arrays["city_size"]))
        for city in built.cities[name]:
            place = city.place
            if place.kind != "city" or not _is_zip(place.zip_code):
                raise ValueError(f"city {place!r} does not fit the packed index")
            row_of_label[place.label] = len(arrays["city_size"])
            arrays["city_size"].append(city.size)
            arrays["city_secondary"].append(city.secondary)
            arrays["city_state"].append(state_index[place.state])
            arrays["city_zip"].append(int(place.zip_code))
            arrays["city_latitude"].append(place.latitude)
            arrays["city_longitude"].append(place.longitude)
            arrays["city_label_at"].append(len(labels))
            labels += place.label.encode("utf-8")
    arrays["name_first"].append(len(arrays["city_size"]))
    arrays["city_label_at"].append(len(labels))
    row_of_name = {name: row for row, name in enumerate(names)}
    for code in state_codes:
        arrays["state_names_at"].append(len(arrays["state_names"]))
        arrays["state_names"].extend(row_of_name[name] for name in built.names_by_state.get(code, []))
    arrays["state_names_at"].append(len(arrays["state_names"]))
    lengths: list[dict[int, list[int]]] = []
    for tier in built.names_by_length:
        lengths.append({})
        for length, tier_names in sorted(tier.items()):
            lengths[-1][length] = [len(arrays["length_names"]), len(arrays["length_names"]) + len(tier_names)]
            arrays["length_names"].extend(row_of_name[name] for name in tier_names)
    arrays["city_labels"].frombytes(labels)
    arrays["names"].frombytes("\n".join(names).encode("utf-8"))
    for code in sorted(built.zips, key=int):
        place = built.zips[code]
        city = row_of_label.get(place.label.removeprefix(f"{code} "))
        if (
            not _is_zip(code)
            or place.zip_code != code
            or city is None
            or state_codes[arrays["city_state"][city]] != place.state
        ):
            raise ValueError(f"ZIP {place!r} does not fit the packed index")
        arrays["zip_code"].append(int(code))
        arrays["zip_city"].append(city)
        arrays["zip_latitude"].append(place.latitude)
        arrays["zip_longitude"].append(place.longitude)

    where, offset = {}, 0
    for name, values in arrays.items():
        where[name] = [values.typecode, offset, len(values) * values.itemsize]
        offset += -(-len(values) * values.itemsize // 8) * 8
    header = {
        "sources": digest,
        "state_codes": state_codes,
        "states": {code: [p.label, p.latitude, p.longitude] for code, p in built.states.items()},
        "state_aliases": built.state_aliases,
        "state_names": built.state_names,
        "lengths": lengths,
        "arrays": where,
    }
    head = json.dumps(header).encode("utf-8")
    packed = bytearray(_FORMAT + len(head).to_bytes(4, "little") + head)
    for values in arrays.values():
        packed += b"\0" * (-len(packed) % 8)
        packed += values.tobytes()
    return bytes(packed)


def _is_zip(code: str | None) -> bool:
    return isinstance(code, str) and len(code) == 5 and code.isdigit()


def _sources_digest(gazetteer: Path | None = None, code: Path | None = None) -> str:
    """A hash of everything the packed index is made from: zipcodes' files (its data is compiled in), the
    builder's own source and what it reads, and the Python that read them (Unicode tables, byte order)."""
    gazetteer = gazetteer or Path(zipcodes.__file__).parent
    code = code or Path(__file__).parent
    digest = hashlib.sha256(_FORMAT)
    digest.update(f"{sys.version_info[:2]} {unicodedata.unidata_version} {sys.byteorder}".encode())
    for path in sorted(p for p in gazetteer.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(gazetteer).as_posix().encode() + b"\0" + path.read_bytes())
    for name in _SOURCES:
        digest.update((code / name).read_bytes())
    return digest.hexdigest()[:20]


def _load_or_build() -> _Index:
    """The packed index from its file; built and written first when there is none for these sources."""
    digest = _sources_digest()
    path = CACHE_DIR / f"places-{digest}.idx"
    try:
        return _Index.open(path, digest)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        log.warning("places index %s is unusable (%s): building it again", path, error)
    log.info("building the places index %s (once for these sources)", path)
    packed = _pack(_fresh(), digest)
    try:
        _write(path, packed)
    except OSError as error:
        log.warning("cannot write the places index %s (%s): it is built at every start", path, error.strerror)
        return _Index(memoryview(packed), digest)
    return _Index.open(path, digest)


def _write(path: Path, packed: bytes) -> None:
    """Writes the file whole or not at all (a process starting meanwhile sees none), then drops the files of
    other sources."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".places-", delete=False) as file:
        try:
            file.write(packed)
            file.close()
            os.chmod(file.name, 0o644)  # the service may run as another user than the one who installed it
            os.replace(file.name, path)
        except BaseException:
            os.unlink(file.name)
            raise
    for old in path.parent.glob("places-*.idx"):
        if old != path:
            old.unlink(missing_ok=True)


if __name__ == "__main__":
    # `make` runs this once after installing: the service then starts without building anything.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    built = _index()
    if built.path is None:
        sys.exit(1)
    print(built.path)
