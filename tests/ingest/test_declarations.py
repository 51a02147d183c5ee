"""One declaration per table: a column added to it is staged, checked, written, generated and served, and
only there. The fund's ``domicile`` is such a column: CONTRIBUTING.md's recipe, followed for real."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.ingest import layouts
from service.ingest.datasets import Dataset
from service.ingest.errors import FileRejected
from service.ingest.generate import write_lines
from service.ingest.layouts import LINES
from service.ingest.loader import load_file
from service.ingest.readers import header_key
from service.ingest.tables import EtfLine
from tests.ingest.test_load import DATA, _load_references


def _with_domicile(tmp_path: Path, value: str) -> Path:
    header, line = (DATA / "etfs.csv").read_text().splitlines()
    path = tmp_path / f"etfs-domicile-{value or 'blank'}.csv"
    path.write_text(f"{header},Domicile\n{line},{value}\n")
    return path


async def _stored(conn: asyncpg.Connection[Any]) -> Any:
    return await conn.fetchval("SELECT domicile FROM etfs WHERE code = '88888'")


async def test_a_declared_column_is_loaded_from_files_that_carry_it(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn, upto="licences.csv")

    result = await load_file(conn, "etfs", _with_domicile(tmp_path, "lu"))

    assert result.inserted == 1
    assert await _stored(conn) == "LU"  # validated as a country (upper case), staged, written


async def test_a_file_without_the_column_leaves_it_as_stored(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn, upto="licences.csv")
    await load_file(conn, "etfs", _with_domicile(tmp_path, "IE"))

    again = await load_file(conn, "etfs", DATA / "etfs.csv")  # the older layout, no Domicile

    assert again.status == "UNCHANGED" and await _stored(conn) == "IE"
    changed = await load_file(conn, "etfs", _with_domicile(tmp_path, "LU"))
    assert changed.updated == 1 and await _stored(conn) == "LU"


async def test_a_declared_column_is_validated_like_the_others(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn, upto="licences.csv")

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "etfs", _with_domicile(tmp_path, "Luxembourg"))

    assert [(e.line, e.column) for e in caught.value.errors] == [(2, "Domicile")]


async def test_a_declared_column_is_served_filtered_and_sorted(
    conn: asyncpg.Connection[Any], gql: Any, tmp_path: Path
) -> None:
    await _load_references(conn, upto="licences.csv")
    await load_file(conn, "etfs", _with_domicile(tmp_path, "LU"))
    await conn.execute("UPDATE etfs SET domicile = 'HK' WHERE mic = 'XHKG' AND code IN ('02800', '03033')")

    body = await gql(
        """{ etf(code: "XHKG:88888") { domicile }
             etfs(filter: {domicile: {in: ["LU", "HK"]}}, orderBy: [{field: DOMICILE, direction: DESC}]) {
               nodes { code domicile } }
             others: etfs(filter: {not: {domicile: {isNull: true}}}, first: 5) { totalCount } }"""
    )

    assert body == {
        "data": {
            "etf": {"domicile": "LU"},
            "etfs": {
                "nodes": [
                    {"code": "XHKG:88888", "domicile": "LU"},
                    {"code": "XHKG:02800", "domicile": "HK"},
                    {"code": "XHKG:03033", "domicile": "HK"},
                ]
            },
            "others": {"totalCount": 3},
        }
    }


def test_generated_files_carry_a_declared_column(tmp_path: Path) -> None:
    [line] = [EtfLine.model_validate(dict(zip(_fields(), _cells(), strict=True)))]
    path = tmp_path / "etfs.csv"

    write_lines(path, EtfLine, [line.model_copy(update={"domicile": "HK"})])

    [written] = csv.DictReader(path.read_text().splitlines())
    assert written["Domicile"] == "HK"


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
