"""Section 7 of `make bench` (bench/run.py, scale-out on PostgreSQL) without its load: whose CPU it counts as
PostgreSQL's, and that without a reachable PostgreSQL the section is skipped, saying why, instead of failing
the bench."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Loaded by path: the name `run` is the service's run.py.
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)


def fake_proc(root: Path, pid: int, comm: str, title: str, ticks: int) -> None:
    entry = root / str(pid)
    entry.mkdir()
    (entry / "comm").write_text(comm + "\n")
    # A process title set by PostgreSQL: the whole title in argv[0], padded with NULs.
    (entry / "cmdline").write_bytes(title.encode() + b"\0" * 8)
    # pid (comm) state, then 10 fields before utime and stime (fields 14 and 15 of proc(5)).
    (entry / "stat").write_text(f"{pid} ({comm}) S " + "0 " * 10 + f"{ticks} {ticks} 0 0\n")


def test_postgres_cpu_counts_the_shared_processes_and_this_databases_backends_only(tmp_path):
    fake_proc(tmp_path, 10, "postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql", 1)
    fake_proc(tmp_path, 11, "postgres", "postgres: 15/main: walwriter ", 2)
    fake_proc(tmp_path, 12, "postgres", "postgres: 15/main: postgres bench_db 127.0.0.1(44918) idle", 3)
    fake_proc(tmp_path, 13, "postgres", "postgres: postgres bench_db [local] INSERT", 4)  # no cluster name
    fake_proc(tmp_path, 14, "postgres", "postgres: 15/main: postgres test 127.0.0.1(44920) idle", 5)
    fake_proc(tmp_path, 15, "python", "python run.py serve", 6)
    (tmp_path / "self").mkdir()
    ticks = bench_run.CLOCK_TICKS
    assert bench_run.postgres_cpu("bench_db", tmp_path) == {10: 2 / ticks, 11: 4 / ticks, 12: 6 / ticks, 13: 8 / ticks}


async def test_without_postgresql_the_section_is_skipped_saying_why(monkeypatch):
    # Port 1: nothing listens there; the password in the URL is not repeated in the reason.
    monkeypatch.setenv("BENCH_POSTGRES_URL", "postgresql://postgres:hunter2@127.0.0.1:1/postgres")
    bench = bench_run.Bench(argparse.Namespace(target=None, clients=2, seconds=3.0, warmup=1.0))
    await bench.scale_out()
    skipped = bench.result["scale_out"]["skipped"]
    assert "127.0.0.1:1" in skipped and "hunter2" not in skipped
    assert bench_run.scale_out_report(bench.result) == [f"\n7. Scale-out on PostgreSQL: skipped, {skipped}"]
    bench.tmp.rmdir()


def test_the_measured_checkout_is_compiled_to_bytecode_first_whatever_the_environment_says(tmp_path, monkeypatch):
    # Start time is measured as a service that has run once starts, not one compiling every module again.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    for package in ("gateway", "handlers", "store"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("VALUE = 1\n")
    (tmp_path / "run.py").write_text("print('run')\n")
    bench_run.compile_bytecode(sys.executable, tmp_path)
    compiled = sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*.pyc"))
    assert compiled == ["__pycache__", "gateway", "handlers", "store"]  # run.py's cache sits beside it
