"""What can go wrong in a load, as data.

    IngestError            base: a load that did not happen (nothing was written)
    ├── UnknownDataset     a dataset name the loader does not know
    ├── UnknownLayout      a file whose header matches none of the dataset's layouts
    ├── FileRejected       rows failed validation or referenced unknown entities (``errors`` lists them)
    └── LoadFailed         the database refused the load (the message says why)

``RowError`` is one problem with one cell: file, line, column, value and reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# A file with thousands of bad rows lists this many; the count says how many there were.
MAX_LISTED_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column} = {self.value!r}: {self.reason}"


class IngestError(Exception):
    """A load that did not happen; the database is as it was before."""


class UnknownDataset(IngestError):
    pass


class UnknownLayout(IngestError):
    pass


class LoadFailed(IngestError):
    pass


class FileRejected(IngestError):
    """Rows failed validation: ``errors`` lists (up to MAX_LISTED_ERRORS of) them, ``count`` all of them."""

    def __init__(self, file: str, errors: Sequence[RowError], count: int | None = None) -> None:
        self.file = file
        self.errors = list(errors)
        self.count = count if count is not None else len(self.errors)
        lines = "\n".join(f"  {e}" for e in self.errors[:20])
        more = f"\n  ... and {self.count - 20} more" if self.count > 20 else ""
        super().__init__(f"{file}: {self.count} invalid row value(s), nothing loaded:\n{lines}{more}")
