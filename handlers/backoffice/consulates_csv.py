"""config/consulates.yaml as a spreadsheet: one CSV row per consulate, exported and imported.

An import is checked by the same rules as the loader and either replaces the whole file or changes
nothing. Networks (their central and holidays) are edited in the YAML file; the CSV holds consulates.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from pathlib import Path
from typing import TextIO

import yaml

from handlers.reference.consulates import ConsulatesError, Directory, Node, consulate_from, read_yaml

COLUMNS = (
    "network", "id", "name", "short_name", "name_en", "city", "state", "country", "latitude", "longitude", "time_zone",
    "address", "phone", "duty_phones", "backup_phones", "weekdays", "opens", "closes", "slot_capacity",
    "holidays", "states", "zip_prefixes", "area_codes", "default_for",
)  # fmt: skip
_TEXT = ("id", "name", "short_name", "city", "state", "country", "time_zone", "address", "phone")
# Columns a spreadsheet exported before they existed may lack: the import reads them as empty.
_OPTIONAL = ("name_en",)
_LISTS = ("duty_phones", "backup_phones", "holidays", "weekdays", "states", "zip_prefixes", "area_codes", "default_for")
_NETWORKS_LINE = re.compile(r"^networks:", re.MULTILINE)
_ROW_KEY = re.compile(r"^(?:row \d+|consulates\[[^\]]*\]|networks\[\d+\]\.consulates\[\d+\])")
_QUOTED = re.compile(r"^[+\d][\d:+-]*$")  # phones, ZIP prefixes, area codes, times and dates
_VALUE = re.compile(r"^'([^']*)'")  # the value a loader problem starts with: "'+1713...' is also used by"
_SHORT_HOUR = re.compile(r"^\d:\d\d$")


class CsvRejected(ValueError):
    """A CSV file that was not imported; `problems` holds one "row N: column: problem" line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def export_csv(directory_path: Path, out: TextIO) -> int:
    """Writes one row per consulate of the file to `out`; returns how many."""
    Directory.load(directory_path)  # a broken file fails here, with the loader's message
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for network in read_yaml(directory_path)["networks"]:
        for consulate in network["consulates"]:
            writer.writerow(_row(network["network"], consulate))
            count += 1
    return count


def import_csv(csv_path: Path, directory_path: Path) -> int:
    """Replaces the file's consulates with the CSV's rows and returns how many; raises CsvRejected naming
    every bad row, and then writes nothing."""
    records, problems = _records(csv_path)
    current = read_yaml(directory_path)
    networks = _networks(directory_path, current)
    placed: dict[str, list[tuple[int, dict]]] = {code: [] for code in networks}  # network → (row, consulate)
    ids: dict[str, int] = {}
    named: list[str] = []  # networks some row names, good or bad
    for number, cells in records:
        code = cells["network"]
        named.append(code)
        if code not in networks:
            problem = f"unknown network {code!r}: add its central to {directory_path} first"
            problems.append(f"row {number}: network: {problem}")
            continue
        consulate, row_problems = _consulate(csv_path, number, cells, networks[code])
        if row_problems:
            problems += row_problems
        elif consulate["id"] in ids:
            problems.append(f"row {number}: id: {consulate['id']!r} is also used by row {ids[consulate['id']]}")
        else:
            ids[consulate["id"]] = number
            placed[code].append((number, consulate))
    for code in networks:
        if code not in named:
            problems.append(f"network {code}: no rows; to drop the network, remove it from {directory_path}")
    header = _header(directory_path)
    with _TempFile(directory_path) as temp:
        problems += _check_across(directory_path, temp, header, current, placed, excluded=bool(problems))
        if problems:
            raise CsvRejected(problems)
        temp.replace()
    return sum(len(rows) for rows in placed.values())


def _row(network: str, consulate: dict) -> list[str]:
    """The CSV cells of one consulate as the YAML file holds it."""
    values = {"network": network, **consulate, **consulate["hours"], **consulate["jurisdiction"]}
    values["holidays"] = consulate.get("holidays", [])  # the consulate's own, not the network's
    return [_cell(values.get(column)) for column in COLUMNS]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value)


def _records(csv_path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The rows of the CSV as (row number, cells by column) after checking its header, and the rows with
    more cells than columns."""
    try:
        # utf-8-sig also reads plain UTF-8; Excel's "CSV UTF-8" starts with a byte order mark.
        with csv_path.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
    except OSError as error:
        raise CsvRejected([f"{csv_path}: cannot be read: {error.strerror}"]) from error
    except UnicodeDecodeError:
        raise CsvRejected([f"{csv_path}: not UTF-8 text (save it as CSV UTF-8)"]) from None
    except csv.Error as error:
        raise CsvRejected([f"{csv_path}: not a CSV file: {error}"]) from error
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise CsvRejected([f"row 1: the file is empty; expected a header row: {', '.join(COLUMNS)}"])
    header = [cell.strip() for cell in rows[0]]
    problems = [
        f"row 1: {name}: unknown column (expected {', '.join(COLUMNS)})" for name in header if name not in COLUMNS
    ]
    problems += [f"row 1: {name}: column listed twice" for name in dict.fromkeys(header) if header.count(name) > 1]
    problems += [f"row 1: {name}: missing column" for name in COLUMNS if name not in header and name not in _OPTIONAL]
    if problems:
        raise CsvRejected(problems)
    records, problems = [], []
    for number, row in enumerate(rows[1:], start=2):  # a spreadsheet's row numbers: the header is row 1
        if not any(cell.strip() for cell in row):
            continue  # spreadsheets save trailing empty rows as lines of commas
        if len(row) > len(header):
            problems.append(f"row {number}: {len(row)} cells for {len(header)} columns (a comma not in quotes?)")
            continue
        padded = row + [""] * (len(header) - len(row))  # a spreadsheet may drop a row's trailing empty cells
        cells = {name: cell.strip() for name, cell in zip(header, padded, strict=True)}
        records.append((number, {name: "" for name in _OPTIONAL} | cells))
    if not records and not problems:
        raise CsvRejected(["row 2: no consulates (the file has only a header row)"])
    return records, problems


def _networks(path: Path, current: object) -> dict[str, frozenset]:
    """The current file's networks and their holidays, checked only as far as an import relies on them."""
    root = Node(path, "", current)
    entries = root.value("networks", list)
    networks = {}
    for index, entry in enumerate(entries):
        node = Node(path, f"networks[{index}]", entry)
        networks[node.text("network")] = frozenset(node.days("holidays"))
    return networks


def _consulate(path: Path, number: int, cells: dict[str, str], holidays: frozenset) -> tuple[dict, list[str]]:
    """The consulate a row describes, as the YAML file would hold it, and the row's problems."""
    problems = []
    numbers: dict[str, float | int] = {}
    for column, kind, what in (("latitude", float, "a number"), ("longitude", float, "a number")) + (
        ("slot_capacity", int, "a whole number"),
    ):
        if cells[column]:
            try:
                numbers[column] = kind(cells[column])
            except ValueError:
                problems.append(f"row {number}: {column}: {cells[column]!r} is not {what}")
    consulate = _data(cells, numbers)
    if problems:
        return consulate, problems
    try:
        consulate_from(Node(path, f"row {number}", consulate), cells["network"], holidays)
    except ConsulatesError as error:
        return consulate, [f"row {number}: {_column(error.key)}: {_plain(error.problem)}"]
    return consulate, []


def _data(cells: dict[str, str], numbers: dict[str, float | int]) -> dict:
    """The YAML mapping of a row. An empty cell leaves its key out, so that the loader says "missing",
    except text and required lists, for which it says "empty"."""

    def value(column: str) -> object:
        cell = cells[column]
        if column in numbers:
            return numbers[column]
        if column in _LISTS:
            return cell.split()
        if column in ("opens", "closes") and _SHORT_HOUR.match(cell):
            return f"0{cell}"  # spreadsheets show 08:00 as 8:00, and save it so
        return cell

    def keys(*columns: str) -> dict:
        return {c: value(c) for c in columns if cells[c] or c in _TEXT or c in ("duty_phones", "weekdays")}

    return {
        **keys("id", "name", "short_name", "name_en", "city", "state", "country", "latitude", "longitude"),
        **keys("time_zone", "address", "phone", "duty_phones", "backup_phones"),
        "hours": keys("weekdays", "opens", "closes", "slot_capacity"),
        **keys("holidays"),
        "jurisdiction": keys("states", "default_for", "zip_prefixes", "area_codes"),
    }


def _column(key: str) -> str:
    """The CSV column of a loader key: "row 7.hours.opens" → opens, "….duty_phones[1]" → duty_phones."""
    last = _ROW_KEY.sub("", key).rsplit(".", 1)[-1]
    return last.split("[", 1)[0] or "id"


def _plain(problem: str) -> str:
    # The loader asks for quotes because YAML reads +1713... as a number; every CSV cell is text.
    return problem.replace("a quoted ", "a ")


def _check_across(
    path: Path, temp: _TempFile, header: str, current: dict, placed: dict[str, list[tuple[int, dict]]], excluded: bool
) -> list[str]:
    """The rules between rows (ZIP prefixes, area codes, shared states, phones), by loading the would-be
    file; a row at fault is left out and the file loaded again, so that every such row is named."""
    problems = []
    placed = {code: list(rows) for code, rows in placed.items()}
    while True:
        temp.write(header + _yaml(current, placed))
        try:
            Directory.load(temp.path)
            return problems
        except ConsulatesError as error:
            number = _row_of(error.key, placed)
            if number is None:
                return [*problems, f"{path}: {error.key}: {error.problem}"]
            if error.key.endswith(".jurisdiction.states") and (excluded or problems):
                # "no default for a shared state" may only mean that its default is on a row left out.
                return problems
            problems.append(f"row {number}: {_phone_column(error, placed) or _column(error.key)}: {error.problem}")
            placed = {code: [(n, c) for n, c in rows if n != number] for code, rows in placed.items()}


def _row_of(key: str, placed: dict[str, list[tuple[int, dict]]]) -> int | None:
    """The row of the consulate a loader key names: "consulates[houston]…" or "networks[1].consulates[4]…"."""
    by_id = re.match(r"^consulates\[([^\]]*)\]", key)
    if by_id:
        return next((n for rows in placed.values() for n, c in rows if c["id"] == by_id.group(1)), None)
    by_index = re.match(r"^networks\[(\d+)\]\.consulates\[(\d+)\]", key)
    if by_index:
        rows = list(placed.values())[int(by_index.group(1))]
        return rows[int(by_index.group(2))][0]
    return None


def _phone_column(error: ConsulatesError, placed: dict[str, list[tuple[int, dict]]]) -> str | None:
    """For a phone used twice the loader names only the consulate; the column is the one holding it."""
    value = _VALUE.match(error.problem)
    number = _row_of(error.key, placed)
    consulate = next((c for rows in placed.values() for n, c in rows if n == number), {})
    for column in ("phone", "duty_phones", "backup_phones"):
        held = consulate.get(column)
        if value and value.group(1) in (held if isinstance(held, list) else [held]):
            return column
    return None


def _header(path: Path) -> str:
    """The comment block above `networks:`, kept verbatim: it explains every key to the next editor."""
    text = path.read_text(encoding="utf-8")
    found = _NETWORKS_LINE.search(text)
    return text[: found.start()] if found else ""


def _yaml(current: dict, placed: dict[str, list[tuple[int, dict]]]) -> str:
    networks = [{**n, "consulates": [c for _, c in placed[n["network"]]]} for n in current["networks"]]
    text = yaml.dump({"networks": networks}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    # A blank line before each network and consulate but the first, as the file is written by hand.
    for item in ("\n  - network: ", "\n      - id: "):
        text = text.replace(item, "\n" + item)
    return text.replace("networks:\n\n", "networks:\n").replace("consulates:\n\n", "consulates:\n")


class _Dumper(yaml.SafeDumper):
    """Writes the file the way people do: lists of values on one line, nested lists indented, and phones,
    prefixes, times and dates in double quotes (unquoted, YAML would read some as numbers)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"' if _QUOTED.match(data) else None)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_text)


class _TempFile:
    """A file beside the target, so that os.replace swaps it in whole; removed unless replaced."""

    def __init__(self, target: Path) -> None:
        self.target = target
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(handle)
        self.path = Path(name)

    def __enter__(self) -> _TempFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)

    def write(self, text: str) -> None:
        with self.path.open("w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())

    def replace(self) -> None:
        os.chmod(self.path, self.target.stat().st_mode & 0o777)  # mkstemp makes it private
        os.replace(self.path, self.target)
