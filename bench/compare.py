"""Before and after, side by side, from two JSON files of `make bench` (bench/run.py --json):

    .venv/bin/python bench/compare.py before.json bench/results/latest.json

Lifeline's own figures only, with the issue's targets where it sets one; the baselines are in each file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SCENARIOS = (("ussd-first", "USSD first hop"), ("ussd-walk", "USSD 3-hop walk"), ("twilio-sms", "Twilio SMS"))


def rows(result: dict) -> dict[str, tuple[float | None, str]]:
    """measure → (value, unit); the same keys in every file that has the measure."""
    found: dict[str, tuple[float | None, str]] = {}
    for m in result["webhooks"]:
        if m["server"] != "lifeline":
            continue
        title = dict(SCENARIOS)[m["scenario"]] + f" @{m['sessions']}"
        found[f"{title}: req/s"] = (m["req_per_s"], "")
        found[f"{title}: x floor"] = (m.get("x_floor"), "x")
        found[f"{title}: CPU us/req"] = (m["cpu_us_per_req"], "")
        found[f"{title}: CPU x floor"] = (m.get("cpu_x_floor"), "x")
        found[f"{title}: p99 ms"] = (m["p99_ms"], "")
    for m in result["open_loop"]:
        if m["server"] == "lifeline":
            found[f"open loop {m['rate']:,.0f}/s: done/s"] = (m["req_per_s"], "")
            found[f"open loop {m['rate']:,.0f}/s: p99 ms"] = (m["p99_ms"], "")
            found[f"open loop {m['rate']:,.0f}/s: longest ms"] = (m["max_ms"], "")
    for name, a in result["alerts"].items():
        for edge in ("first", "last"):
            found[f"ALERTA {name} ({a['alerts']}): {edge} relay p50 ms"] = (a[f"{edge}_p50_ms"], "")
            found[f"ALERTA {name} ({a['alerts']}): {edge} relay p99 ms"] = (a[f"{edge}_p99_ms"], "")
    for o in result["outbox"]:
        found[f"outbox {o['sender']}: msg/s"] = (o["outbox_per_s"], "")
        found[f"outbox {o['sender']}: x null"] = (o["outbox_per_s"] / o["null_per_s"], "x")
    for c in result["claims"]:
        found[f"claim of 16 at {c['pending']:,} pending: ms"] = (c["ms_per_claim"], "")
    for m in result.get("scale_out", {}).get("measures", []):  # section 7, in runs that have it
        processes = f"PostgreSQL, {m['processes']} serve process{'es' if m['processes'] > 1 else ''}"
        found[f"{processes}: serve CPU us/req"] = (m["cpu_us_per_req"], "")
        found[f"{processes}: PostgreSQL CPU us/req"] = (m["postgres_cpu_us_per_req"], "")
        found[f"{processes}: CPU x 1 process"] = (m["cpu_x_one"], "x")
    for s in result["start"]:
        if s["server"] == "lifeline":
            found["serve: start s"] = (s["start_seconds"], "")
            found["serve: idle RSS MB"] = (s["idle_rss_mb"], "")
    return found


def shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    old, new = rows(before), rows(after)
    width = max(len(key) for key in [*old, *new])
    print(f"{'measure':<{width}}  {'before':>9}  {'after':>9}  {'after/before':>12}")
    for key in dict.fromkeys([*old, *new]):
        a, unit = old.get(key, (None, ""))
        b, unit = new.get(key, (None, unit))
        change = f"{b / a:.2f}x" if a and b is not None else "-"
        print(f"{key:<{width}}  {shown(a, unit):>9}  {shown(b, unit):>9}  {change:>12}")
    for label, result in (("before", before), ("after", after)):
        machine = result["machine"]
        print(f"{label}: {machine['commit']}, load average {machine['load_before']} → {machine['load_after']}")


if __name__ == "__main__":
    main()
