"""Loading the demo data set into an empty migrated database, through the same path as ``connectgraph load``.

The reference data are the files in ``service/demo/data/``; the illustrative daily figures (calendars,
FX, index levels, Connect flows, ETF figures) are generated for the seed into files in a temporary
directory. Every file is loaded by ``load_file`` (same validation, staging, upserts and load history
as ``connectgraph load``), all of them inside one transaction: a failure leaves the database as it
was. Then the datasets get the demo's descriptions and the tables written are analysed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from service.db.client import Connection
from service.demo.generate import CALENDAR_END, DEFAULT_SEED, WINDOW_END, WINDOW_START, build_figures
from service.demo.reference import DATA, LINKS, STOCK_LINKS, DatasetNote, dataset_notes, demo_reference
from service.ingest.datasets import Dataset
from service.ingest.generate import GeneratedFile, in_load_order, write_figures
from service.ingest.loader import LoadOptions, LoadResult, load_file
from service.repositories import ingest as repo
from service.repositories import loads

# Serialises concurrent loaders (two app instances starting at once): both wait, one loads.
_LOCK_KEY = 2026_1125_0001

# The demo's reference files, in ``service/demo/data/``.
REFERENCE_FILES: tuple[tuple[Dataset, str], ...] = (
    (Dataset.MANAGERS, "managers.csv"),
    (Dataset.INDICES, "indices.csv"),
    (Dataset.SECURITIES, "securities.csv"),
    (Dataset.MEMBERSHIPS, "memberships.csv"),
    (Dataset.LICENCES, "licences.csv"),
    (Dataset.ETFS, "etfs.csv"),
    (Dataset.MANAGER_CHANGES, "manager-changes.csv"),
    *((Dataset.ELIGIBILITY, f"eligibility-changes-{link}.csv") for link in LINKS),
    *((Dataset.ELIGIBILITY, f"eligibility-stocks-{link}.csv") for link in STOCK_LINKS),
)


class DatabaseNotEmpty(Exception):
    """The target database already holds indices; generators only fill empty databases."""

    def __init__(self, indices: int) -> None:
        super().__init__(f"the database already holds {indices} indices")
        self.indices = indices


async def is_empty(conn: Connection) -> bool:
    """True when no index exists yet (the demo and the generator load indices first)."""
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM indices)")


def demo_files(out: Path, seed: int = DEFAULT_SEED) -> list[GeneratedFile]:
    """The demo's files in load order: its reference files, and its figures written into ``out``."""
    reference = [GeneratedFile(dataset, DATA / name, 0) for dataset, name in REFERENCE_FILES]
    figures = build_figures(demo_reference(), seed=seed, calendar_end=CALENDAR_END)
    return in_load_order([*reference, *write_figures(out, figures, WINDOW_START, WINDOW_END)])


async def load_demo(conn: Connection, *, seed: int = DEFAULT_SEED) -> bool:
    """Load the demo data set if the database is empty; True if loaded, False (no change) if not."""
    notes = {note.name: note for note in dataset_notes(seed)}
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        if not await is_empty(conn):
            return False
        with tempfile.TemporaryDirectory(prefix="connectgraph-demo-") as tmp:
            results = [
                await load_file(
                    conn,
                    f.dataset,
                    f.path,
                    LoadOptions(illustrative=notes[f.dataset].illustrative, analyze=False),
                )
                for f in demo_files(Path(tmp), seed)
            ]
        await describe_datasets(conn, notes.values())
    await repo.analyze(conn, written_tables(results))
    return True


def written_tables(results: Iterable[LoadResult]) -> list[str]:
    """The tables these loads wrote (once each)."""
    return list(dict.fromkeys(t for r in results for t in r.tables))


async def describe_datasets(conn: Connection, notes: Iterable[DatasetNote], suffix: str = "") -> None:
    """Give the loaded datasets their descriptions, sources and illustrative flags."""
    for note in notes:
        await loads.describe_dataset(
            conn, note.name, note.description + suffix, note.source, note.illustrative
        )
