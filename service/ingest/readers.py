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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from service.ingest.errors import UnknownLayout

HEADER_SEARCH_ROWS = 10
_SPACES = re.compile(r"\s+")
_AS_AT = re.compile(r"as\s+at\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)


def header_key(cell: str) -> str:
    """Header cells compare case- and whitespace-insensitively ("Stock  Code" is "stock code")."""
    return _SPACES.sub(" ", cell.replace("\ufeff", "")).strip().casefold()


@dataclass
class Source:
    """An opened file: its header, title rows, and an iterator of (line, cells) after the header."""

    path: Path
    header: list[str]
    header_line: int
    preamble: list[list[str]]
    rows: Iterator[tuple[int, list[str]]]
    position: Callable[[], int] = field(default=lambda: 0)
    size: int = 0

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


@contextmanager
def _open_csv(path: Path, layouts: Sequence[frozenset[str]]) -> Iterator[tuple[Source, int]]:
    raw = path.open("rb")
    try:
        text: IO[str] = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        top: list[tuple[int, list[str]]] = []
        for cells in reader:
            top.append((reader.line_num, cells))
            if len(top) >= HEADER_SEARCH_ROWS:
                break
        at, layout = _find_header(top, layouts, path)
        header_line, header = top[at]
        buffered = top[at + 1 :]

        def rows() -> Iterator[tuple[int, list[str]]]:
            for line, cells in buffered:
                if any(cells):
                    yield line, cells
            for cells in reader:
                if any(cells):  # blank lines are not rows
                    yield reader.line_num, cells

        yield (
            Source(
                path=path,
                header=header,
                header_line=header_line,
                preamble=[cells for _, cells in top[:at]],
                rows=rows(),
                position=raw.tell,
                size=path.stat().st_size,
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
        yield (
            Source(
                path=path,
                header=header,
                header_line=header_line,
                preamble=[cells for _, cells in top[:at]],
                rows=rows(),
                position=lambda: count,
                size=total,
            ),
            layout,
        )
    finally:
        book.close()
