"""config/consulates.yaml through a spreadsheet: export then import gives the same directory; an import
with bad rows names every one (row and column) and changes nothing. Every test edits a temp copy."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.backoffice.consulates_csv import COLUMNS, CsvRejected, export_csv, import_csv
from handlers.reference.consulates import ConsulatesError, Directory
from tests.conftest import ROOT

SHIPPED = ROOT / "config" / "consulates.yaml"


@pytest.fixture
def config(tmp_path) -> Path:
    """A copy of the shipped config directory."""
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    return directory


@pytest.fixture
def yaml_path(config) -> Path:
    return config / "consulates.yaml"


def exported(path: Path = SHIPPED) -> list[dict[str, str]]:
    out = io.StringIO()
    export_csv(path, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def write_csv(path: Path, rows: list[dict[str, str]], columns=COLUMNS, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def row_of(rows: list[dict[str, str]], consulate_id: str) -> dict[str, str]:
    return next(row for row in rows if row["id"] == consulate_id)


def line_of(rows: list[dict[str, str]], consulate_id: str) -> int:
    """The row number a spreadsheet shows: the header is row 1."""
    return rows.index(row_of(rows, consulate_id)) + 2


def rejected(csv_path: Path, yaml_path: Path) -> list[str]:
    before = yaml_path.read_bytes()
    with pytest.raises(CsvRejected) as refused:
        import_csv(csv_path, yaml_path)
    assert yaml_path.read_bytes() == before
    assert sorted(os.listdir(yaml_path.parent)) == sorted(os.listdir(ROOT / "config"))  # no temp file left
    return refused.value.problems


def test_export_writes_one_row_per_consulate_in_the_columns_order():
    out = io.StringIO()
    count = export_csv(SHIPPED, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert count == len(lines) - 1 == len(Directory.load(SHIPPED).consulates) == 75
    houston = row_of(exported(), "houston")
    assert houston["network"] == "MX"
    assert houston["duty_phones"] == "+17135550171 +17135550172"
    assert houston["weekdays"] == "mon tue wed thu fri sat"
    assert houston["opens"] == "08:00"
    boston = row_of(exported(), "boston")
    assert boston["holidays"] == "2026-04-20 2027-04-19"  # its own only: the network's stay in the YAML
    assert row_of(exported(), "atlanta")["holidays"] == ""


def test_the_round_trip_gives_the_same_directory(tmp_path, yaml_path):
    count = import_csv(write_csv(tmp_path / "c.csv", exported()), yaml_path)

    assert count == 75
    assert Directory.load(yaml_path) == Directory.load(SHIPPED)
    header = SHIPPED.read_text(encoding="utf-8").split("\nnetworks:\n")[0]
    assert yaml_path.read_text(encoding="utf-8").startswith(header + "\nnetworks:\n  - network: MX\n")
    text = yaml_path.read_text(encoding="utf-8")
    for quoted in ('phone: "+17135550170"', 'opens: "08:00"', '"770"', '"2026-01-01"'):
        assert quoted in text


def test_an_edited_cell_is_loaded(tmp_path, yaml_path):
    rows = exported()
    row_of(rows, "houston")["address"] = "1 Main St, Houston, TX 77002"
    row_of(rows, "houston")["opens"] = "9:00"  # as a spreadsheet saves 09:00

    import_csv(write_csv(tmp_path / "c.csv", rows), yaml_path)

    houston = Directory.load(yaml_path).by_id("houston")
    assert houston.address == "1 Main St, Houston, TX 77002"
    assert f"{houston.hours.opens:%H:%M}" == "09:00"


def test_bad_rows_are_all_named_and_nothing_is_written(tmp_path, yaml_path):
    rows = exported()
    chicago = line_of(rows, "chicago")
    row_of(rows, "atlanta")["phone"] = "(404) 555-0170"
    row_of(rows, "boise")["latitude"] = "abc"
    row_of(rows, "chicago")["id"] = "austin"  # austin's row comes first
    row_of(rows, "san-antonio")["zip_prefixes"] += " 783"  # laredo's, and laredo's row comes first

    problems = rejected(write_csv(tmp_path / "c.csv", rows), yaml_path)

    assert len(problems) == 4, problems
    assert problems[0].startswith(f"row {line_of(rows, 'atlanta')}: phone: '(404) 555-0170' is not")
    assert problems[1] == f"row {line_of(rows, 'boise')}: latitude: 'abc' is not a number"
    assert problems[2] == f"row {chicago}: id: 'austin' is also used by row {line_of(rows, 'austin')}"
    assert problems[3] == f"row {line_of(rows, 'san-antonio')}: zip_prefixes: '783' is also claimed by laredo"


@pytest.mark.parametrize(
    ("label", "change", "column", "problem"),
    [
        ("duty phone", lambda r: r.update(duty_phones="+17135550171 713-555-0172"), "duty_phones", "E.164"),
        ("no duty phone", lambda r: r.update(duty_phones=""), "duty_phones", "empty"),
        ("empty address", lambda r: r.update(address=""), "address", "empty"),
        ("no latitude", lambda r: r.update(latitude=""), "latitude", "missing"),
        ("latitude out of range", lambda r: r.update(latitude="129.7"), "latitude", "outside"),
        ("slot capacity", lambda r: r.update(slot_capacity="2.5"), "slot_capacity", "not a whole number"),
        ("closing before opening", lambda r: r.update(closes="07:00"), "closes", "not after opens"),
        ("weekday", lambda r: r.update(weekdays="lun mar"), "weekdays", "mon"),
        ("time zone", lambda r: r.update(time_zone="America/Houston"), "time_zone", "IANA"),
        ("holiday", lambda r: r.update(holidays="2026-02-30"), "holidays", "YYYY-MM-DD"),
        ("area code", lambda r: r.update(area_codes="713 114"), "area_codes", "area code"),
        ("default elsewhere", lambda r: r.update(default_for="TX OK"), "default_for", "not in this consulate's"),
        ("short name", lambda r: r.update(short_name="Consulado General de México en Houston"), "short_name", "30"),
        ("no jurisdiction", lambda r: r.update(states="", zip_prefixes=""), "states", "missing"),
        ("area code of another", lambda r: r.update(area_codes="713 214"), "area_codes", "claimed by dallas"),
        ("phone of another", lambda r: r.update(backup_phones="+12145550171"), "backup_phones", "used by dallas"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_a_bad_cell_names_its_row_and_column(tmp_path, yaml_path, label, change, column, problem):
    rows = exported()
    change(row_of(rows, "houston"))

    [refusal] = rejected(write_csv(tmp_path / "c.csv", rows), yaml_path)

    assert refusal.startswith(f"row {line_of(rows, 'houston')}: {column}: ")
    assert problem in refusal


def test_a_spreadsheet_from_before_name_en_still_imports(tmp_path, yaml_path):
    """name_en (the name English readers see) is a later column: a file without it loses only those names."""
    columns = [c for c in COLUMNS if c != "name_en"]
    rows = [{k: v for k, v in row.items() if k != "name_en"} for row in exported()]
    row_of(rows, "houston")["address"] = "1 Main St, Houston, TX 77002"

    assert import_csv(write_csv(tmp_path / "c.csv", rows, columns), yaml_path) == 75
    houston = Directory.load(yaml_path).by_id("houston")
    assert (houston.address, houston.name_en) == ("1 Main St, Houston, TX 77002", "")


def test_name_en_round_trips(tmp_path, yaml_path):
    rows = exported()
    assert row_of(rows, "houston")["name_en"] == "Consulate in Houston"
    row_of(rows, "houston")["name_en"] = "Mexican Consulate Houston"

    import_csv(write_csv(tmp_path / "c.csv", rows), yaml_path)

    assert Directory.load(yaml_path).by_id("houston").name_en == "Mexican Consulate Houston"


def test_a_missing_or_unknown_column_is_refused_before_any_row(tmp_path, yaml_path):
    columns = [c if c != "latitude" else "latitud" for c in COLUMNS]
    rows = [{("latitud" if k == "latitude" else k): v for k, v in row.items()} for row in exported()]
    rows[0]["phone"] = "bad"

    problems = rejected(write_csv(tmp_path / "c.csv", rows, columns), yaml_path)

    assert problems[0].startswith("row 1: latitud: unknown column (expected network, id, ")
    assert problems[1:] == ["row 1: latitude: missing column"]


@pytest.mark.parametrize(
    ("label", "text", "problem"),
    [
        ("empty file", "", "row 1: the file is empty"),
        ("header only", ",".join(COLUMNS) + "\n", "row 2: no consulates"),
        ("blank lines only", "\n\n", "row 1: the file is empty"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_a_file_without_consulates_is_refused(tmp_path, yaml_path, label, text, problem):
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    [refusal] = rejected(path, yaml_path)
    assert refusal.startswith(problem)


def test_a_row_of_an_unknown_network_is_refused(tmp_path, yaml_path):
    rows = exported()
    row_of(rows, "gt-houston")["network"] = "HN"

    problems = rejected(write_csv(tmp_path / "c.csv", rows), yaml_path)

    assert problems == [
        f"row {line_of(rows, 'gt-houston')}: network: unknown network 'HN': add its central to {yaml_path} first"
    ]


def test_a_network_with_no_rows_is_refused(tmp_path, yaml_path):
    rows = [row for row in exported() if row["network"] == "MX"]
    assert rejected(write_csv(tmp_path / "c.csv", rows), yaml_path) == [
        f"network GT: no rows; to drop the network, remove it from {yaml_path}"
    ]


def test_excel_csv_utf8_with_a_byte_order_mark_and_trailing_empty_rows_is_read(tmp_path, yaml_path):
    path = write_csv(tmp_path / "c.csv", exported(), encoding="utf-8-sig")
    with path.open("a", encoding="utf-8") as file:
        file.write("," * (len(COLUMNS) - 1) + "\n")

    assert import_csv(path, yaml_path) == 75
    assert Directory.load(yaml_path).by_id("houston").name == "Consulado General de México en Houston"


def test_exporting_a_broken_file_fails_with_the_loaders_error(yaml_path):
    yaml_path.write_text(yaml_path.read_text(encoding="utf-8").replace('"+17135550170"', '"713"'), encoding="utf-8")
    with pytest.raises(ConsulatesError, match=r"consulates\[houston\]\.phone"):
        export_csv(yaml_path, io.StringIO())


# -- the command line -----------------------------------------------------------------------------


def run_py(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LIFELINE_MENUS": str(ROOT / "menus"),
        "LIFELINE_CONFIG": str(config),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "LIFELINE_KEY_FILE": str(tmp_path / "cli.key"),
        "SMS_PROVIDERS": "console",
    }
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_export_then_import(tmp_path, config):
    to_stdout = run_py(tmp_path, config, "export", "consulates")
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout.splitlines()[0] == ",".join(COLUMNS)
    assert to_stdout.stderr.splitlines() == ["exported 75 consulates to standard output"]

    csv_path = tmp_path / "consulates.csv"
    to_file = run_py(tmp_path, config, "export", "consulates", "--output", str(csv_path))
    assert to_file.returncode == 0, to_file.stderr
    assert csv_path.read_text(encoding="utf-8") == to_stdout.stdout
    assert to_file.stderr.splitlines() == [f"exported 75 consulates to {csv_path}"]

    imported = run_py(tmp_path, config, "import", "consulates", str(csv_path))
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.splitlines() == [f"imported 75 consulates from {csv_path}"]
    assert Directory.load(config / "consulates.yaml") == Directory.load(SHIPPED)


def test_cli_import_of_bad_rows_exits_2_and_names_them(tmp_path, config):
    rows = exported()
    row_of(rows, "boise")["latitude"] = "abc"
    row_of(rows, "gt-houston")["network"] = "HN"
    csv_path = write_csv(tmp_path / "c.csv", rows)
    before = (config / "consulates.yaml").read_bytes()

    result = run_py(tmp_path, config, "import", "consulates", str(csv_path))

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"row {line_of(rows, 'boise')}: latitude: 'abc' is not a number",
        f"row {line_of(rows, 'gt-houston')}: network: unknown network 'HN': add its central to "
        f"{config / 'consulates.yaml'} first",
        "nothing imported",
    ]
    assert (config / "consulates.yaml").read_bytes() == before


def test_cli_export_of_a_broken_file_exits_2_with_one_line(tmp_path, config):
    path = config / "consulates.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('"+17135550170"', '"713"'), encoding="utf-8")
    output = tmp_path / "c.csv"

    result = run_py(tmp_path, config, "export", "consulates", "--output", str(output))

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"lifeline: {path}: consulates[houston].phone: ")
    assert not output.exists()
