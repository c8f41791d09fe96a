"""`python bench/places.py`: how long handlers.reference.places takes to build its indexes and to answer a look-up.

Prints warm() once, then the median and 99th percentile of find_place over repeated look-ups of a ZIP, an
exact city, a city with a typo (no state: the whole country is searched) and one narrowed by its state.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.reference import places  # noqa: E402

CASES = (
    ("ZIP", "77002"),
    ("ZIP+4 in text", "TX 77002-1234"),
    ("exact city", "Houston"),
    ("city, state", "san josé, ca"),
    ("state (Spanish)", "Carolina del Norte"),
    ("typo city", "Los Angelos"),
    ("typo city + state", "Brownsvile TX"),
    ("garbage", "asdfgh"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="look-ups per case (default 2000)")
    count = parser.parse_args().n

    started = time.perf_counter()
    places.warm()
    print(f"warm(): {(time.perf_counter() - started) * 1000:.0f} ms\n")

    # The baseline, measured in the same run: a plain dict look-up of the same ZIP, what the data costs
    # at the very least.
    table = {"77002": places.find_place("77002")}
    baseline = _median_us(lambda: table.get("77002"), count)
    print(f"{'case':<20} {'input':<22} {'median µs':>10} {'p99 µs':>10} {'x dict':>8}  result")
    print(f"{'dict baseline':<20} {'77002':<22} {baseline:>10.2f} {'':>10} {1:>8.0f}  -")
    for name, text in CASES:
        timings = []
        for _ in range(count):
            start = time.perf_counter_ns()
            found = places.find_place(text)
            timings.append((time.perf_counter_ns() - start) / 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        label = found.label if found else "None"
        median = statistics.median(timings)
        print(f"{name:<20} {text!r:<22} {median:>10.1f} {p99:>10.1f} {median / baseline:>8.0f}  {label}")


def _median_us(call, count: int) -> float:
    timings = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        timings.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(timings)


if __name__ == "__main__":
    main()
