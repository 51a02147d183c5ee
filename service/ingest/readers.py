"""Streaming readers for CSV and XLSX: find the header row, then yield (line number, cells) one row at a time.

Publishers put title rows above the header (HKEX's List of Securities: "List of Securities",
"Updated as at DD/MM/YYYY", headers on row 3), so the header is the first of the top rows that holds
every required column of a layout. Title rows are kept (``preamble``) for the "as at" date they carry.
Nothing holds the file in memory: CSV is read line by line, XLSX through openpyxl's read-only mode.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import IO, Any

from service.ingest.errors import UnknownLayout

HEADER_SEARCH_ROWS = 10
_SPACES = re.compile(r"\s+")
_AS_AT = re.compile(r"as\s+at\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)


def header_key(cell: str) -> str:
    """Header cells compare case- and whitespace-insensitively ("Stock  Code" is "stock code")."""
    return _SPACES.sub(" ", cell.replace("\ufeff", "")).strip().casefold()


# A record after the header: (its last physical line, the line as read when it holds no quote character
# -- its cells are then exactly ``line.rstrip("\r\n").split(",")`` -- else its cells, parsed by csv).
Record = tuple[int, str | list[str]]


@dataclass
class Source:
    """An opened file: its header, title rows, and the rows after the header.

    ``rows`` yields (line, cells) for every non-blank row; ``records`` yields the same rows as
    ``Record``s, blank ones included, and lets a hot path (etf-daily) see a CSV line before it is split.
    Both draw on one reader: use one of them. ``newline`` is the header line's terminator.
    """

    path: Path
    header: list[str]
    header_line: int
    preamble: list[list[str]]
    rows: Iterator[tuple[int, list[str]]]
    position: Callable[[], int] = field(default=lambda: 0)
    size: int = 0
    records: Iterator[Record] = field(default_factory=lambda: iter(()))
    newline: str = "\n"

    def as_at(self) -> date | None:
        """The "Updated as at DD/MM/YYYY" date of the title rows, if any."""
        for row in self.preamble:
            for cell in row:
                match = _AS_AT.search(cell)
                if match:
                    d, m, y = (int(g) for g in match.groups())
                    return date(y, m, d)
        return None


def cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV would carry (12.0 -> "12", dates as YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _find_header(
    top: Sequence[tuple[int, list[str]]], candidates: Sequence[frozenset[str]], path: Path
) -> tuple[int, int]:
    """(index in ``top``, index of the matching layout) of the first row holding a layout's columns."""
    for i, (_, cells) in enumerate(top):
        keys = {header_key(c) for c in cells}
        for j, required in enumerate(candidates):
            if required <= keys:
                return i, j
    wanted = " | ".join(", ".join(sorted(r)) for r in candidates)
    raise UnknownLayout(
        f"{path.name}: no header row in the first {HEADER_SEARCH_ROWS} rows has the columns of a known "
        f"layout (expected one of: {wanted})"
    )


@contextmanager
def open_source(path: Path, layouts: Sequence[frozenset[str]]) -> Iterator[tuple[Source, int]]:
    """Open ``path`` (CSV or XLSX); yield the Source and the index of the layout its header matches."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        with _open_xlsx(path, layouts) as opened:
            yield opened
    elif suffix in (".csv", ".txt"):
        with _open_csv(path, layouts) as opened:
            yield opened
    else:
        raise UnknownLayout(f"{path.name}: unsupported file type {suffix!r} (use .csv or .xlsx)")


def csv_records(lines: Iterable[str]) -> Iterator[Record]:
    """Records of CSV text read with ``newline=""``: a line without a quote character is passed on as
    read (a plain split on commas gives its cells, as the csv module would); one with quotes is parsed
    by the csv module, with the lines a quoted cell spans. Line numbers count physical lines, as
    ``csv.reader.line_num`` does."""
    source = iter(lines)
    number = 0
    for line in source:
        number += 1
        if '"' not in line:
            yield number, line
            continue
        reader = csv.reader(chain((line,), source))
        cells = next(reader, [])
        number += reader.line_num - 1
        yield number, cells


def record_cells(record: str | list[str]) -> list[str]:
    return record.rstrip("\r\n").split(",") if isinstance(record, str) else record


@contextmanager
def _open_csv(path: Path, layouts: Sequence[frozenset[str]]) -> Iterator[tuple[Source, int]]:
    raw = path.open("rb")
    try:
        text: IO[str] = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        numbered = csv_records(text)
        top: list[tuple[int, str | list[str]]] = []
        for item in numbered:
            top.append(item)
            if len(top) >= HEADER_SEARCH_ROWS:
                break
        at, layout = _find_header([(n, record_cells(r)) for n, r in top], layouts, path)
        header_line, header_record = top[at]
        header = record_cells(header_record)
        newline = "\r\n" if isinstance(header_record, str) and header_record.endswith("\r\n") else "\n"
        buffered = top[at + 1 :]

        def records() -> Iterator[Record]:
            yield from buffered
            yield from numbered

        def rows() -> Iterator[tuple[int, list[str]]]:
            for line, record in records():
                cells = record_cells(record)
                if any(cells):  # blank lines are not rows
                    yield line, cells

        yield (
            Source(
                path=path,
                header=header,
                header_line=header_line,
                preamble=[record_cells(r) for _, r in top[:at]],
                rows=rows(),
                position=raw.tell,
                size=path.stat().st_size,
                records=records(),
                newline=newline,
            ),
            layout,
        )
    finally:
        raw.close()


@contextmanager
def _open_xlsx(path: Path, layouts: Sequence[frozenset[str]]) -> Iterator[tuple[Source, int]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
        raise UnknownLayout(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        numbered = (
            (n, [cell_text(v) for v in values])
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        top: list[tuple[int, list[str]]] = []
        for item in numbered:
            top.append(item)
            if len(top) >= HEADER_SEARCH_ROWS:
                break
        at, layout = _find_header(top, layouts, path)
        header_line, header = top[at]
        buffered = top[at + 1 :]
        count = 0

        def rows() -> Iterator[tuple[int, list[str]]]:
            nonlocal count
            for line, cells in buffered:
                count = line
                if any(cells):
                    yield line, cells
            for line, cells in numbered:
                count = line
                if any(cells):
                    yield line, cells

        total = sheet.max_row or 0
        cells_rows = rows()
        yield (
            Source(
                path=path,
                header=header,
                header_line=header_line,
                preamble=[cells for _, cells in top[:at]],
                rows=cells_rows,
                position=lambda: count,
                size=total,
                records=cells_rows,
            ),
            layout,
        )
    finally:
        book.close()
