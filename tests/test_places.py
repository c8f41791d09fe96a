"""handlers.reference.places: what a person types as a location, to a place (offline, zipcodes' data)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zipcodes

from handlers.reference import places
from handlers.reference.places import Place, distance_km, find_place


@pytest.fixture(scope="module")
def fresh():
    """The indexes built from the gazetteer now, as Python objects: the reference the served index (packed
    into a file once) must agree with."""
    return places._fresh()


@pytest.fixture(scope="module")
def packed(fresh):
    return places._pack(fresh, places._sources_digest())


def _near(place: Place, latitude: float, longitude: float, km: float = 30) -> bool:
    return distance_km(place.latitude, place.longitude, latitude, longitude) <= km


# (typed, label, state, zip, latitude, longitude) with the real place's coordinates, to within 30 km.
ZIPS = [
    ("77002", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),
    ("90012", "90012 Los Angeles, CA", "CA", "90012", 34.06, -118.24),
    ("99501", "99501 Anchorage, AK", "AK", "99501", 61.22, -149.87),
    ("00901", "00901 San Juan, PR", "PR", "00901", 18.47, -66.10),
    ("77002-1234", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),
    ("770021234", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),
    (" 77002 ", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),
    ("TX 77002", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),
    ("77002 Houston", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),
    ("Dallas 77002", "77002 Houston, TX", "TX", "77002", 29.76, -95.36),  # the ZIP wins over the city
    ("75245", "75245 Dallas, TX", "TX", "75245", 32.82, -96.83),  # no longer active: still a place
    ("11805", "11805 Hicksville, NY", "NY", "11805", 40.76, -73.53),  # no coordinates: its city's centre
]


@pytest.mark.parametrize(
    "typed, label, state, zip_code, latitude, longitude",
    ZIPS,
    ids=[
        "houston", "los-angeles", "anchorage-alaska", "san-juan-puerto-rico", "zip+4", "zip+4-no-hyphen",
        "spaces", "state-then-zip", "zip-then-city", "zip-beats-city", "inactive-zip", "zip-without-coordinates",
    ],
)  # fmt: skip
def test_zip_codes(typed, label, state, zip_code, latitude, longitude):
    place = find_place(typed)
    assert place is not None
    assert (place.label, place.state, place.zip_code, place.kind) == (label, state, zip_code, "zip")
    assert _near(place, latitude, longitude)


@pytest.mark.parametrize(
    "typed",
    ["00000", "99999", "09000", "TX 00000", "5555550142", "1234567"],
    ids=["zero", "unassigned", "military-apo", "state-and-unknown-zip", "phone-number", "seven-digits"],
)
def test_unknown_zip_codes_and_other_numbers_are_no_place(typed):
    assert find_place(typed) is None


# (typed, label, state, latitude, longitude) of the city meant.
CITIES = [
    ("Houston", "Houston, TX", "TX", 29.76, -95.37),
    ("houston tx", "Houston, TX", "TX", 29.76, -95.37),
    ("HOUSTON", "Houston, TX", "TX", 29.76, -95.37),
    ("Houston, Texas", "Houston, TX", "TX", 29.76, -95.37),
    ("  houston ,  TX. ", "Houston, TX", "TX", 29.76, -95.37),
    ("Los Angelos", "Los Angeles, CA", "CA", 34.05, -118.24),
    ("Los Angelos CA", "Los Angeles, CA", "CA", 34.05, -118.24),
    ("San Jose", "San Jose, CA", "CA", 37.34, -121.89),  # also IL and NM: the largest
    ("san josé, ca", "San Jose, CA", "CA", 37.34, -121.89),
    ("San José CA", "San Jose, CA", "CA", 37.34, -121.89),
    ("San Jose NM", "San Jose, NM", "NM", 35.40, -105.48),
    ("Springfield IL", "Springfield, IL", "IL", 39.78, -89.65),
    ("Springfield MO", "Springfield, MO", "MO", 37.21, -93.29),
    ("Springfield, Massachusetts", "Springfield, MA", "MA", 42.10, -72.59),
    ("Springfield", "Springfield, IL", "IL", 39.78, -89.65),  # the one with the most ZIP codes
    ("Brownsvile", "Brownsville, TX", "TX", 25.90, -97.50),
    ("Brownsvile TX", "Brownsville, TX", "TX", 25.90, -97.50),
    ("Huoston", "Houston, TX", "TX", 29.76, -95.37),  # two letters swapped: one typo
    ("Alburquerque", "Albuquerque, NM", "NM", 35.08, -106.65),
    ("Sn Antonio", "San Antonio, TX", "TX", 29.42, -98.49),
    ("St Louis", "Saint Louis, MO", "MO", 38.63, -90.20),
    ("St. Louis, MO", "Saint Louis, MO", "MO", 38.63, -90.20),
    ("Ft Worth", "Fort Worth, TX", "TX", 32.76, -97.33),
    ("Billings MT", "Billings, MT", "MT", 45.78, -108.50),  # a last "MT" is Montana, not "Mount"
    ("Kansas City", "Kansas City, MO", "MO", 39.10, -94.58),
    ("Kansas City KS", "Kansas City, KS", "KS", 39.11, -94.63),
    ("Washington DC", "Washington, DC", "DC", 38.90, -77.04),
    ("Washington D.C.", "Washington, DC", "DC", 38.90, -77.04),
    ("Wheeling West Virginia", "Wheeling, WV", "WV", 40.06, -80.72),
    ("Raleigh Carolina del Norte", "Raleigh, NC", "NC", 35.78, -78.64),
    ("Hollywood", "Hollywood, FL", "FL", 26.01, -80.15),  # a city of its own beats LA's neighbourhood
    ("Hollywood CA", "Hollywood, CA", "CA", 34.10, -118.33),  # an accepted name of Los Angeles ZIP codes
    ("McAllen", "McAllen, TX", "TX", 26.20, -98.23),
    ("Anchorage", "Anchorage, AK", "AK", 61.22, -149.90),
    ("San Juan PR", "San Juan, PR", "PR", 18.47, -66.11),
    # Decided: "New York" / "Nueva York" is the city. The state is NY either way, and the city is where most
    # people who type it are (and the consulate); "NY" alone is the state.
    ("Nueva York", "New York, NY", "NY", 40.71, -74.01),
    ("New York", "New York, NY", "NY", 40.71, -74.01),
    ("New York NY", "New York, NY", "NY", 40.71, -74.01),
]

CITY_IDS = [
    "name", "name-state-code", "upper-case", "name-comma-state-name", "punctuation-and-spaces", "typo",
    "typo-and-state", "same-name-largest", "accent-comma-state", "accent-state", "same-name-other-state",
    "springfield-il", "springfield-mo", "springfield-full-state-name", "springfield-largest", "typo-brownsville",
    "typo-brownsville-state", "transposition", "typo-albuquerque", "abbreviation-sn", "abbreviation-st",
    "abbreviation-st-dots", "abbreviation-ft", "mt-is-montana-at-the-end", "kansas-city-largest",
    "kansas-city-ks", "washington-dc", "washington-d-c-dots", "two-word-state", "spanish-state",
    "hollywood-largest", "hollywood-accepted-name", "mc-capitalised", "alaska", "puerto-rico",
    "nueva-york-is-the-city", "new-york-is-the-city", "new-york-ny",
]  # fmt: skip


@pytest.mark.parametrize("typed, label, state, latitude, longitude", CITIES, ids=CITY_IDS)
def test_cities(typed, label, state, latitude, longitude):
    place = find_place(typed)
    assert place is not None
    assert (place.label, place.state, place.kind) == (label, state, "city")
    # A city carries its lowest ZIP code, in its state, so that jurisdictions drawn by ZIP prefix apply.
    assert place.zip_code is not None and find_place(place.zip_code).state == state
    assert _near(place, latitude, longitude), (place.latitude, place.longitude)


# (typed, state code, label, latitude, longitude) with a point inside the state, to within 300 km.
STATES = [
    ("TX", "TX", "Texas", 31.3, -97.7),
    ("tx", "TX", "Texas", 31.3, -97.7),
    ("Texas", "TX", "Texas", 31.3, -97.7),
    ("Tejas", "TX", "Texas", 31.3, -97.7),
    ("Texsa", "TX", "Texas", 31.3, -97.7),
    ("Califronia", "CA", "California", 36.8, -119.4),
    ("Carolina del Norte", "NC", "North Carolina", 35.5, -79.4),
    ("Carolina del Sur", "SC", "South Carolina", 33.9, -80.9),
    ("Vermont", "VT", "Vermont", 44.0, -72.7),
    ("Nuevo México", "NM", "New Mexico", 34.5, -106.0),
    ("Nuevo Mexico", "NM", "New Mexico", 34.5, -106.0),
    ("Nueva Jersey", "NJ", "New Jersey", 40.2, -74.5),
    ("Luisiana", "LA", "Louisiana", 31.0, -92.0),
    ("Pensilvania", "PA", "Pennsylvania", 40.9, -77.8),
    ("Misisipi", "MS", "Mississippi", 32.7, -89.7),
    ("Misuri", "MO", "Missouri", 38.4, -92.5),
    ("Virginia Occidental", "WV", "West Virginia", 38.6, -80.6),
    ("Dakota del Norte", "ND", "North Dakota", 47.5, -100.5),
    ("Dakota del Sur", "SD", "South Dakota", 44.4, -100.2),
    ("Hawái", "HI", "Hawaii", 20.8, -156.3),
    ("Oregón", "OR", "Oregon", 44.0, -120.5),
    ("Washington", "WA", "Washington", 47.4, -120.7),  # the city is in DC: "Washington DC"
    ("N.Y.", "NY", "New York", 42.9, -75.5),
    ("Puerto Rico", "PR", "Puerto Rico", 18.2, -66.5),
    ("Alaska", "AK", "Alaska", 61.4, -152.3),
    ("Houston CA", "CA", "California", 36.8, -119.4),  # a city not in the state named: the state
]

STATE_IDS = [
    "code", "code-lower-case", "english", "spanish-tejas", "typo", "typo-california", "carolina-del-norte",
    "carolina-del-sur", "vermont", "nuevo-mexico-accent", "nuevo-mexico", "nueva-jersey", "luisiana",
    "pensilvania", "misisipi", "misuri", "virginia-occidental", "dakota-del-norte", "dakota-del-sur", "hawai",
    "oregon-accent", "washington-is-the-state", "initials-with-dots", "puerto-rico", "alaska",
    "city-not-in-state-named",
]  # fmt: skip


@pytest.mark.parametrize("typed, state, label, latitude, longitude", STATES, ids=STATE_IDS)
def test_states(typed, state, label, latitude, longitude):
    place = find_place(typed)
    assert place is not None
    assert (place.label, place.state, place.zip_code, place.kind) == (label, state, None, "state")
    assert _near(place, latitude, longitude, km=300), (place.latitude, place.longitude)


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "🙂🙂", "x" * 100_000, "asdfgh", "12", "DROP TABLE", "'; DROP TABLE places; --", "x", "Hou",
     "...", "Хьюстон", "Houston" + " " * 60, None],
    ids=["empty", "spaces", "emoji", "100kB", "keyboard-mash", "two-digits", "drop-table", "sql-injection",
         "one-letter", "short-no-typo-forgiven", "punctuation", "cyrillic", "too-long", "not-a-string"],
)  # fmt: skip
def test_garbage_is_no_place(typed):
    assert find_place(typed) is None


def test_100kb_is_refused_at_once():
    places.warm()
    started = time.perf_counter()
    for _ in range(100):
        assert find_place("Houston " * 12_500) is None
    assert time.perf_counter() - started < 0.05


def _osa(a: str, b: str) -> int:
    """Reference edit distance (insert, delete, substitute, swap neighbours), written out plainly."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


@pytest.mark.parametrize("typed", ["Los Angelos", "Hoston", "Dalas", "Sprngfield", "Phoenx"])
def test_a_typo_goes_to_the_nearest_then_largest_city_as_a_full_scan_finds(typed, fresh):
    # The index searches names by length and large cities first: it must agree with a plain scan of every
    # name, nearest first, then most ZIP codes (then most accepting the name, state, name: deterministic).
    index = fresh
    name = typed.lower()
    budget = 1 if len(name) <= 6 else 2
    # A name longer or shorter by more than the budget is farther than the budget: no need to score it.
    scored = [(_osa(name, c), c) for c in index.cities if abs(len(c) - len(name)) <= budget]
    nearest = min(distance for distance, _ in scored)
    assert 1 <= nearest <= budget
    best = min(
        (-city.size, -city.secondary, city.place.state, candidate)
        for distance, candidate in scored
        if distance == nearest
        for city in index.cities[candidate][:1]
    )
    assert find_place(typed) == index.cities_by_state[(best[3], best[2])].place
    assert all(find_place(typed) == find_place(typed) for _ in range(3))


def test_typos_are_forgiven_only_within_the_budget():
    assert find_place("Huston") is not None  # 6 letters, 1 edit
    assert find_place("Hstn") is None  # 4 letters, 2 edits
    assert find_place("Los Angls") is not None  # 9 letters, 2 edits
    assert find_place("Ls Angls") is None  # 3 edits


def test_a_place_is_frozen():
    place = find_place("77002")
    with pytest.raises(AttributeError):
        place.state = "CA"


def _fresh_from(fresh, builds: list):
    def counting_fresh():
        builds.append(1)
        return fresh

    return counting_fresh


def test_the_index_file_is_built_once_even_from_several_threads_then_only_read(fresh, tmp_path, monkeypatch):
    monkeypatch.setattr(places, "CACHE_DIR", tmp_path)
    (tmp_path / "places-0123456789abcdef0123.idx").write_bytes(b"from other sources")
    builds = []
    monkeypatch.setattr(places, "_fresh", _fresh_from(fresh, builds))
    monkeypatch.setattr(places, "_loaded", None)
    threads = [threading.Thread(target=places.warm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    # One file, named after its sources; the file of other sources is gone.
    assert [p.name for p in tmp_path.iterdir()] == [f"places-{places._sources_digest()}.idx"]
    assert find_place("77002").label == "77002 Houston, TX"

    # The next process reads the file and builds nothing.
    monkeypatch.setattr(places, "_loaded", None)
    assert find_place("Los Angelos").label == "Los Angeles, CA"
    assert len(builds) == 1


def _header_only(header: dict) -> bytes:
    text = json.dumps(header).encode()
    return places._FORMAT + len(text).to_bytes(4, "little") + text + b"\0" * 64


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:40],
        lambda data: b"x" + data[1:],
        lambda data: _header_only({"sources": places._sources_digest()}),
        lambda data: _header_only({"sources": places._sources_digest(), "arrays": {"names": ["B", 0, 9]}}),
    ],
    ids=["empty", "half", "cut-in-header", "not-the-format", "header-without-arrays", "header-half-written"],
)
def test_a_damaged_index_file_is_built_again(fresh, packed, tmp_path, monkeypatch, damage):
    monkeypatch.setattr(places, "CACHE_DIR", tmp_path)
    path = tmp_path / f"places-{places._sources_digest()}.idx"
    path.write_bytes(damage(packed))
    builds = []
    monkeypatch.setattr(places, "_fresh", _fresh_from(fresh, builds))
    monkeypatch.setattr(places, "_loaded", None)
    assert find_place("Hoston").label == "Houston, TX"
    assert len(builds) == 1
    assert places._index().path == path


def test_an_unwritable_cache_still_serves_the_index_built_in_memory(fresh, tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setattr(places, "CACHE_DIR", blocked / "lifeline")
    monkeypatch.setattr(places, "_fresh", _fresh_from(fresh, []))
    monkeypatch.setattr(places, "_loaded", None)
    assert find_place("77002").label == "77002 Houston, TX"
    assert places._index().path is None


def test_the_index_file_is_named_after_the_gazetteer_and_the_builder(tmp_path):
    # An edited gazetteer (zipcodes' data is compiled into its extension) or builder makes another file.
    gazetteer = Path(shutil.copytree(Path(zipcodes.__file__).parent, tmp_path / "zipcodes"))
    code = Path(shutil.copytree(Path(places.__file__).parent, tmp_path / "reference"))
    same = places._sources_digest(gazetteer, code)
    assert same == places._sources_digest()
    compiled = next(p for p in gazetteer.iterdir() if p.suffix in (".so", ".pyd"))
    data = bytearray(compiled.read_bytes())
    data[len(data) // 2] ^= 1
    compiled.write_bytes(data)
    edited_gazetteer = places._sources_digest(gazetteer, code)
    (code / "states.py").write_text((code / "states.py").read_text() + "\n# edited\n")
    edited_builder = places._sources_digest(gazetteer, code)
    assert len({same, edited_gazetteer, edited_builder}) == 3


def test_the_served_index_holds_exactly_what_a_fresh_build_does(fresh):
    index = places._index()
    assert index.path is not None and index.path.parent == places.CACHE_DIR
    for code in (f"{number:05d}" for number in range(100_000)):
        assert index.zip(code) == fresh.zip(code), code
    for name, cities in fresh.cities.items():
        assert index.largest(name) == cities[0]
        assert [index.city(name, city.place.state) for city in cities] == list(cities)
    assert index.largest("zzyzx springs") is None and index.city("houston", "VT") is None
    assert index.largest("aaa") is None and index.largest("zzzzzz") is None  # before the first, after the last
    for tier in (0, 1):
        for length in range(80):
            assert index.names_of_length(tier, length) == fresh.names_of_length(tier, length)
    for state in [*places.STATES, "AA", "ZZ"]:
        assert index.names_in(state) == fresh.names_in(state)
    assert (index.states, index.state_aliases, index.state_names) == (
        fresh.states,
        fresh.state_aliases,
        fresh.state_names,
    )


def _typos(name: str, pick: random.Random) -> list[str]:
    at = pick.randrange(len(name))
    letter = pick.choice("abcdefghijklmnopqrstuvwxyz")
    swapped = name[:at] + name[at + 1 : at + 2] + name[at : at + 1] + name[at + 2 :]
    return [name[:at] + name[at + 1 :], name[:at] + letter + name[at + 1 :], swapped, name[:at] + letter + name[at:]]


def test_look_ups_on_the_served_index_answer_as_on_a_fresh_build(fresh):
    # Everything the tests above type, then a seeded sample of city names with one or two typos, with and
    # without their state, and some with another state (the state is the answer then).
    pick = random.Random(16)
    typed = [row[0] for row in ZIPS + CITIES + STATES] + ["", "12", "asdfgh", "Hstn", "Ls Angls", "Springfeld"]
    for name in pick.sample(sorted(fresh.cities), 120):
        state = pick.choice(fresh.cities[name]).place.state
        for typo in _typos(name, pick):
            typed += [typo, f"{typo} {state}", f"{typo}, {places.STATES[state]}", f"{typo} {pick.choice(['TX', 'NM'])}"]
        typed += _typos(_typos(name, pick)[0], pick)
    index = places._index()
    answers = [(text, places._find(index, text)) for text in typed]
    assert answers == [(text, places._find(fresh, text)) for text in typed]
    kinds = [place.kind for _, place in answers if place]
    assert kinds.count("city") > 1000 and kinds.count("state") > 200 and kinds.count("zip") > 5


def test_the_index_costs_a_few_mb():
    places.warm()  # the file exists (built now if it did not)
    code = (
        "from handlers.reference import places\n"
        "def rss():\n"
        "    with open('/proc/self/status') as status:\n"
        "        return next(int(line.split()[1]) for line in status if line.startswith('VmRSS')) / 1024\n"
        "before = rss()\n"
        "places.warm()\n"
        "assert places._index().path is not None\n"
        "print(rss() - before)\n"
    )
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # A generous bound (the file's pages and the names' strings are some 5 MB): the built index held 76 MB,
    # and its build left 196 MB behind.
    assert float(answer.stdout) < 20


@pytest.mark.parametrize(
    "a, b, expected, tolerance",
    [
        ((29.7604, -95.3698), (32.7767, -96.7970), 362, 20),  # Houston -> Dallas
        ((34.0522, -118.2437), (40.7128, -74.0060), 3936, 40),  # Los Angeles -> New York
        ((29.7604, -95.3698), (29.7604, -95.3698), 0, 0.001),  # same point
        ((0, 179.5), (0, -179.5), 111, 2),  # across the antimeridian
    ],
    ids=["houston-dallas", "la-new-york", "same-point", "antimeridian"],
)
def test_distance_km(a, b, expected, tolerance):
    assert distance_km(*a, *b) == pytest.approx(expected, abs=tolerance)
    assert distance_km(*b, *a) == pytest.approx(distance_km(*a, *b))


def test_distance_between_found_places():
    houston, dallas = find_place("Houston"), find_place("Dallas TX")
    assert distance_km(houston.latitude, houston.longitude, dallas.latitude, dallas.longitude) == pytest.approx(
        360, abs=20
    )


def test_look_ups_are_fast_once_warm():
    places.warm()
    for text, limit_ms in (("77002", 1), ("Houston", 1), ("Los Angelos", 25)):
        started = time.perf_counter()
        for _ in range(20):
            find_place(text)
        # Generous limits (a shared CI machine): bench/places.py measures the real figures.
        assert (time.perf_counter() - started) / 20 * 1000 < limit_ms, text
