"""Where a person says they are: a US ZIP code, a city (with or without its state) or a state, as typed on a
feature phone, turned into a place with coordinates.

Offline and pure: the data is the `zipcodes` package's; the indexes are built once, on first use or by
`warm()`. Typos are forgiven with rapidfuzz's bounded edit distance over the city names.
"""

from __future__ import annotations

import gc
import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

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
class _Index:
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


_index_lock = threading.Lock()
_built: _Index | None = None


def warm() -> None:
    """Builds the indexes now, so that the first person does not wait for them."""
    _index()


def find_place(text: str) -> Place | None:
    """The place `text` names (a ZIP anywhere in it wins), or None when it names none."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    index = _index()
    found = _ZIP.search(text)
    if found:
        return index.zips.get(found.group(1))
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


def _exact(index: _Index, name: str, state: str | None) -> Place | None:
    if state:
        city = index.cities_by_state.get((name, state))
        return city.place if city else None
    cities = index.cities.get(name)
    return cities[0].place if cities else None


def _typo_budget(name: str) -> int:
    """Edits forgiven: none under 4 letters (too many short names are one letter apart), 1 up to 6, else 2."""
    letters = len(name) - name.count(" ")
    return 0 if letters < 4 else 1 if letters <= 6 else 2


def _fuzzy(index: _Index, name: str, state: str | None) -> Place | None:
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
            city = index.cities_by_state[(candidate, state)] if state else index.cities[candidate][0]
            key = (distance, -city.size, -city.secondary, city.place.state, candidate)  # a total order
            if best is None or key < best:
                best = key
        if best:
            cutoff = best[0] - 1  # the next tier's cities are smaller: they must be nearer
    if best:
        return index.cities_by_state[(best[4], best[3])].place
    return index.states[index.state_aliases[near_state[0]]] if near_state else None


def _fuzzy_choices(index: _Index, name: str, state: str | None, budget: int) -> Iterator[list[str]]:
    """The names to compare, in tiers: the cities with several ZIP codes, then the others (a typo of a large
    city at one edit cannot be beaten by a smaller one: none is nearer, as the exact look-up failed, and one
    as near loses to the larger). Only names whose length is within reach."""
    if state:
        yield index.names_by_state.get(state, [])
        return
    lengths = range(len(name) - budget, len(name) + budget + 1)
    for tier in index.names_by_length:
        yield [candidate for length in lengths for candidate in tier.get(length, ())]


def _index() -> _Index:
    global _built
    built = _built
    if built is None:
        # One builder at a time: a second thread waits for the first instead of doing the same second of work.
        with _index_lock:
            if _built is None:
                # The build makes some 150,000 objects while zipcodes' 42,000 row dicts are alive: the cycle
                # collector would walk them all again and again for nothing (none of this makes a cycle),
                # doubling the time.
                collecting = gc.isenabled()
                gc.disable()
                try:
                    _built = _build()
                finally:
                    if collecting:
                        gc.enable()
            built = _built
    return built


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


def _build() -> _Index:
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
    return _Index(
        zips=zips,
        cities=cities,
        cities_by_state=cities_by_state,
        names_by_length=(dict(names_by_length[0]), dict(names_by_length[1])),
        names_by_state=dict(names_by_state),
        states=states,
        state_aliases=aliases,
        state_names=sorted(state_names),
    )
