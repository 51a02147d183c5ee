"""The demo's reference data, read from its files in ``service/demo/data/`` (publishers' layouts).

The files are what ``connectgraph load`` reads (the demo loads them through it): managers, indices,
securities, constituent weights (providers' snapshots), licences, ETFs and HKEX eligibility change
files per Connect link. Names, codes, exchanges and the facts in the domain notes are real; what no
source confirmed is marked in the data itself ("(illustrative)", ``Illustrative`` columns, and the
descriptions in ``datasets.csv``). ``figures/etf-seeds.csv`` is input to the figure generator, not a
loadable file: each fund's NAV and size at the window's start, and the AUM path (HK$) a fund's
creations follow where the demo's eligibility story needs it (``service/demo/story.py``).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TypeVar

from service.ingest.layouts import DATASETS
from service.ingest.lines import Line, header_fields
from service.ingest.readers import open_source
from service.ingest.tables import (
    EligibilityChangeLine,
    EtfLine,
    IndexLine,
    LicenceLine,
    ManagerLine,
    MembershipLine,
    SecurityLine,
)

DATA = Path(__file__).resolve().parent / "data"
LINKS = ("sse-southbound", "szse-southbound", "sse-northbound", "szse-northbound")
STOCK_LINKS = ("sse-southbound", "szse-southbound")  # the demo's stock eligibility files

L = TypeVar("L", bound=Line)


@dataclass(frozen=True, slots=True)
class EtfSeed:
    """What the figure generator starts a fund from: NAV per unit and fund size (base currency) at the
    window's start, and the AUM (HK$) its creations and redemptions follow, by day, when given."""

    nav: float
    aum: float
    path: tuple[tuple[date, float], ...] = ()


@dataclass(frozen=True)
class Reference:
    """One coherent set of reference lines (the demo's, or the demo's plus generated ones)."""

    managers: tuple[ManagerLine, ...]
    indices: tuple[IndexLine, ...]
    securities: tuple[SecurityLine, ...]
    memberships: tuple[MembershipLine, ...]
    licences: tuple[LicenceLine, ...]
    etfs: tuple[EtfLine, ...]
    eligibility: Mapping[str, tuple[EligibilityChangeLine, ...]]  # by Connect link
    seeds: Mapping[str, EtfSeed] = field(default_factory=dict)  # by ETF key (MIC:code)
    # Stocks' own eligibility, by southbound link: which stocks can be in a southbound top ten.
    stock_eligibility: Mapping[str, tuple[EligibilityChangeLine, ...]] = field(default_factory=dict)

    def extend(self, other: Reference) -> Reference:
        """This reference with ``other``'s lines after its own."""
        return replace(
            self,
            managers=self.managers + other.managers,
            indices=self.indices + other.indices,
            securities=self.securities + other.securities,
            memberships=self.memberships + other.memberships,
            licences=self.licences + other.licences,
            etfs=self.etfs + other.etfs,
            eligibility={
                link: self.eligibility.get(link, ()) + other.eligibility.get(link, ()) for link in LINKS
            },
            seeds={**self.seeds, **other.seeds},
        )


def etf_key(etf: EtfLine) -> str:
    return f"{etf.mic}:{etf.code}"


def read_lines(path: Path, line: type[L]) -> list[L]:
    """Every line of ``path`` through ``line``'s model (a demo file that does not validate is a bug)."""
    with open_source(path, [line.required_headers()]) as (source, _):
        fields = header_fields(line, source.header)
        out: list[L] = []
        for number, cells in source.rows:
            data = {f: cells[i] for i, f in enumerate(fields) if f is not None and i < len(cells)}
            parsed = line.model_validate(data)
            problems = list(parsed.problems())
            if problems:
                raise ValueError(f"{path.name}:{number}: {problems}")
            out.append(parsed)
        return out


def _seeds(path: Path) -> Iterator[tuple[str, EtfSeed]]:
    """``figures/etf-seeds.csv``: Exchange, Stock Code, NAV, Fund Size, and an optional AUM path
    ("2024-07-19 800e6; 2024-08-09 250e6": HK$ on days, straight lines between them)."""
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            steps = [part.split() for part in (row.get("AUM Path (HKD)") or "").split(";") if part.strip()]
            yield (
                f"{row['Exchange']}:{row['Stock Code']}",
                EtfSeed(
                    nav=float(row["NAV"]),
                    aum=float(row["Fund Size"]),
                    path=tuple((date.fromisoformat(day), float(amount)) for day, amount in steps),
                ),
            )


@functools.cache
def demo_reference(data: Path = DATA) -> Reference:
    """The demo's reference data, read from its files."""
    return Reference(
        managers=tuple(read_lines(data / "managers.csv", ManagerLine)),
        indices=tuple(read_lines(data / "indices.csv", IndexLine)),
        securities=tuple(read_lines(data / "securities.csv", SecurityLine)),
        memberships=tuple(read_lines(data / "memberships.csv", MembershipLine)),
        licences=tuple(read_lines(data / "licences.csv", LicenceLine)),
        etfs=tuple(read_lines(data / "etfs.csv", EtfLine)),
        eligibility={
            link: tuple(read_lines(data / f"eligibility-changes-{link}.csv", EligibilityChangeLine))
            for link in LINKS
        },
        seeds=dict(_seeds(data / "figures" / "etf-seeds.csv")),
        stock_eligibility={
            link: tuple(read_lines(data / f"eligibility-stocks-{link}.csv", EligibilityChangeLine))
            for link in STOCK_LINKS
        },
    )


@dataclass(frozen=True, slots=True)
class DatasetNote:
    """How the demo describes one of its datasets (``datasets.csv``)."""

    name: str
    description: str
    source: str
    illustrative: bool


def dataset_notes(seed: int, data: Path = DATA) -> list[DatasetNote]:
    """The demo's description of each dataset (``{seed}`` in a source is the figures' seed)."""
    with (data / "datasets.csv").open(newline="", encoding="utf-8") as f:
        notes = [
            DatasetNote(
                row["Dataset"],
                row["Description"],
                row["Source"].replace("{seed}", str(seed)),
                row["Illustrative"] == "Y",
            )
            for row in csv.DictReader(f)
        ]
    unknown = {n.name for n in notes} - {d.value for d in DATASETS}
    if unknown:
        raise ValueError(f"datasets.csv names unknown datasets {sorted(unknown)}")
    return notes
