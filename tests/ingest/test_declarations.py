"""One declaration per table: a column added to it is staged, checked, written and generated, and only there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import asyncpg
import pytest

from service.ingest import layouts
from service.ingest.cells import OptCountry
from service.ingest.datasets import Dataset
from service.ingest.errors import FileRejected
from service.ingest.generate import write_lines
from service.ingest.layouts import DATASETS, LINES, DatasetLayouts
from service.ingest.lines import Col
from service.ingest.loader import load_file
from service.ingest.readers import header_key
from service.ingest.tables import EtfLine
from tests.ingest.test_load import DATA, _load_references


class EtfLineWithDomicile(EtfLine):
    """What CONTRIBUTING.md's recipe adds to ``EtfLine``: one line."""

    domicile: Annotated[OptCountry, Col("Domicile")] = None


@pytest.fixture
async def domicile(conn: asyncpg.Connection[Any], monkeypatch: pytest.MonkeyPatch) -> asyncpg.Connection[Any]:
    """The migration's half (in the test's rolled-back transaction), and the declaration's."""
    await conn.execute("ALTER TABLE etfs ADD COLUMN domicile char(2)")
    monkeypatch.setitem(DATASETS, Dataset.ETFS, DatasetLayouts(Dataset.ETFS, (EtfLineWithDomicile,)))
    return conn


def _with_domicile(tmp_path: Path, value: str) -> Path:
    header, line = (DATA / "etfs.csv").read_text().splitlines()
    path = tmp_path / f"etfs-domicile-{value or 'blank'}.csv"
    path.write_text(f"{header},Domicile\n{line},{value}\n")
    return path


async def _stored(conn: asyncpg.Connection[Any]) -> Any:
    return await conn.fetchval("SELECT domicile FROM etfs WHERE code = '88888'")


async def test_a_declared_column_is_loaded_from_files_that_carry_it(
    domicile: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(domicile, upto="licences.csv")

    result = await load_file(domicile, "etfs", _with_domicile(tmp_path, "lu"))

    assert result.inserted == 1
    assert await _stored(domicile) == "LU"  # validated as a country (upper case), staged, written


async def test_a_file_without_the_column_leaves_it_as_stored(
    domicile: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(domicile, upto="licences.csv")
    await load_file(domicile, "etfs", _with_domicile(tmp_path, "IE"))

    again = await load_file(domicile, "etfs", DATA / "etfs.csv")  # the older layout, no Domicile

    assert again.status == "UNCHANGED" and await _stored(domicile) == "IE"
    changed = await load_file(domicile, "etfs", _with_domicile(tmp_path, "LU"))
    assert changed.updated == 1 and await _stored(domicile) == "LU"


async def test_a_declared_column_is_validated_like_the_others(
    domicile: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(domicile, upto="licences.csv")

    with pytest.raises(FileRejected) as caught:
        await load_file(domicile, "etfs", _with_domicile(tmp_path, "Luxembourg"))

    assert [(e.line, e.column) for e in caught.value.errors] == [(2, "Domicile")]


def test_generated_files_carry_a_declared_column(tmp_path: Path) -> None:
    [line] = [EtfLineWithDomicile.model_validate(dict(zip(_fields(), _cells(), strict=True)))]
    path = tmp_path / "etfs.csv"

    write_lines(path, EtfLineWithDomicile, [line.model_copy(update={"domicile": "HK"})])

    header, row = path.read_text().splitlines()
    assert header.endswith(",Domicile") and row.endswith(",HK")


def test_every_layout_is_declared_once_with_distinct_columns() -> None:
    assert len({line.layout for line in LINES}) == len(LINES)
    assert {line.dataset for line in LINES} == set(Dataset)
    for line in LINES:
        keys = [header_key(h) for h in line.header()]
        assert len(keys) == len(set(keys)), line
        assert line.spec().conflict or line.dataset is Dataset.ELIGIBILITY, line
    assert layouts.dataset("etf-daily").layouts[0].table == "etf_daily_stats"


def _fields() -> list[str]:
    by_key = {header_key(col): field for col, field in EtfLine.columns().items()}
    header = (DATA / "etfs.csv").read_text().splitlines()[0].split(",")
    return [by_key[header_key(h)] for h in header]


def _cells() -> list[str]:
    return (DATA / "etfs.csv").read_text().splitlines()[1].split(",")


async def test_a_snapshot_older_than_the_loaded_history_must_match_it(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn, upto="memberships.csv")  # snapshots of 2026-01-05 and 2026-07-06
    header, first, second, *_ = (DATA / "memberships.csv").read_text().splitlines()
    older = tmp_path / "memberships-older.csv"
    older.write_text(f"{header}\n{first.replace(',60', ',55')}\n{second.replace(',40', ',45')}\n")

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "memberships", older)

    assert {(e.line, e.column, e.value) for e in caught.value.errors} == {(2, "Effective Date", "2026-01-05")}
    assert "a later snapshot of SAMPLE-IDX (2026-07-06) is already loaded" in caught.value.errors[0].reason
