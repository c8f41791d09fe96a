"""CSV as officials' spreadsheets read and write it: UTF-8 (with a byte order mark on request, so Excel shows
accents), cells a spreadsheet would run as formulas defused, and files read whatever their BOM."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# A cell starting with one of these runs as a formula in Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_ROWS = 5_000


def cell(value: object) -> str:
    """A value as a safe cell: "=HYPERLINK(...)" becomes "'=HYPERLINK(...)"."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write(columns: Sequence[str], rows: Iterable[Sequence[object]], bom: bool = False) -> str:
    """The CSV text: a header, then each row with every cell defused."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


class Unreadable(ValueError):
    """The file is no CSV of the expected columns; the message says why, for a person."""


def read(data: bytes, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, cells by column) for each data row."""
    if len(data) > MAX_IMPORT_BYTES:
        raise Unreadable(f"the file is larger than {MAX_IMPORT_BYTES // 1000} kB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise Unreadable(f"missing column(s): {', '.join(missing)}")
    rows = []
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        if number > MAX_IMPORT_ROWS + 1:
            raise Unreadable(f"more than {MAX_IMPORT_ROWS} rows")
        rows.append((number, {c: (row.get(c) or "").strip() for c in columns}))
    return rows
