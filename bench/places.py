"""`python bench/places.py`: how long handlers.places takes to build its indexes and to answer a look-up.

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

from handlers import places  # noqa: E402

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

    print(f"{'case':<20} {'input':<22} {'median µs':>10} {'p99 µs':>10}  result")
    for name, text in CASES:
        timings = []
        for _ in range(count):
            start = time.perf_counter_ns()
            found = places.find_place(text)
            timings.append((time.perf_counter_ns() - start) / 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        label = found.label if found else "None"
        print(f"{name:<20} {text!r:<22} {statistics.median(timings):>10.1f} {p99:>10.1f}  {label}")


if __name__ == "__main__":
    main()
