"""The layer contracts in pyproject.toml are live: a wrong import makes `lint-imports` fail, naming the
contract (`make test` runs it on the real tree before the suite)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.mark.parametrize(
    "module,wrong_import,contract",
    [
        ("gateway/engine/flows.py", "import handlers.registry", "The engine is pure"),
        ("handlers/lifeline/alerts.py", "import aiohttp", "Handlers: no aiohttp"),
        ("handlers/reference/places.py", "import store.people", "Reference data and domain logic"),
        ("store/people.py", "import handlers.outcome", "The store knows no handler"),
        ("gateway/console/__init__.py", "import gateway.carriers.twilio", "The console imports no carrier"),
        ("gateway/outbox/retry.py", "import store.outbox", "The policy and the retry rule"),
    ],
    ids=["engine-handler", "handler-aiohttp", "reference-store", "store-handler", "console-carrier", "retry-store"],
)
def test_a_wrong_import_breaks_its_contract(tmp_path, module, wrong_import, contract):
    for package in ("gateway", "handlers", "store"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{wrong_import}  # noqa\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0, done.stdout
    broken = [line for line in done.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), done.stdout
