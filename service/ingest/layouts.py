"""The file layouts each dataset accepts, gathered from the table declarations (``service/ingest/tables.py``).

A dataset may accept several layouts (securities: HKEX's List of Securities or a plain table); the
reader picks the one whose required columns all appear in the header row. Column names compare
case- and whitespace-insensitively. docs/ingest.md documents every layout with a sample file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.ingest.datasets import Dataset
from service.ingest.errors import UnknownDataset
from service.ingest.lines import Line
from service.ingest.tables import (
    CalendarLine,
    ConnectDailyLine,
    ConnectExceptionLine,
    ConnectTopStockLine,
    EligibilityChangeLine,
    EligibilityListLine,
    EtfDailyLine,
    EtfLine,
    FxLine,
    HkexSecurityLine,
    IndexLevelLine,
    IndexLine,
    LicenceLine,
    ManagerChangeLine,
    ManagerLine,
    MembershipLine,
    SecurityLine,
)

# Every layout, in the order the reader tries a dataset's layouts.
LINES: tuple[type[Line], ...] = (
    ManagerLine,
    IndexLine,
    HkexSecurityLine,
    SecurityLine,
    MembershipLine,
    LicenceLine,
    EtfLine,
    ManagerChangeLine,
    EligibilityChangeLine,
    EligibilityListLine,
    CalendarLine,
    ConnectExceptionLine,
    FxLine,
    IndexLevelLine,
    ConnectDailyLine,
    ConnectTopStockLine,
    EtfDailyLine,
)


@dataclass(frozen=True)
class DatasetLayouts:
    dataset: Dataset
    layouts: tuple[type[Line], ...]

    @property
    def name(self) -> str:
        return self.dataset.value

    def tables(self) -> tuple[str, ...]:
        """Every table a load of this dataset may write (in the order first written)."""
        return tuple(dict.fromkeys(table for line in self.layouts for table in line.writes()))


DATASETS: Mapping[Dataset, DatasetLayouts] = {
    d: DatasetLayouts(d, tuple(line for line in LINES if line.dataset is d)) for d in Dataset
}

# The order in which a directory of files (``connectgraph generate``) must be loaded.
LOAD_ORDER: tuple[Dataset, ...] = tuple(Dataset)


def dataset(name: str) -> DatasetLayouts:
    found = Dataset.named(name)
    if found is None:
        raise UnknownDataset(f"unknown dataset {name!r} (one of: {', '.join(Dataset)})")
    return DATASETS[found]


def layout(name: str) -> type[Line]:
    """The layout called ``name`` (e.g. ``etf-master``)."""
    return next(line for line in LINES if line.layout == name)
