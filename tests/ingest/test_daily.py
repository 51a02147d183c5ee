"""The etf-daily hot path: plain lines against the model, insert-only vs update merges, odd files, big files."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from service.ingest.daily import PlainDailyLines, aum_ok
from service.ingest.errors import FileRejected
from service.ingest.loader import DAILY_CHUNK_ROWS, LoadOptions, load_file
from service.ingest.readers import csv_records, header_key
from service.ingest.tables import EtfDailyLine
from tests.ingest.test_load import DATA, _load_references

HEADER = (
    "Date,Exchange,Stock Code,Currency,NAV per Unit,Closing Price,Units Outstanding,Fund Size,"
    "Net Creation/Redemption Units,Net Creation/Redemption Value,Turnover,Southbound Holding Units"
)
STORED = """
    SELECT e.code, s.trading_day, s.currency, s.nav_per_unit, s.close_price, s.shares_outstanding, s.aum,
           s.net_creation_units, s.net_creation_value, s.turnover, s.southbound_holding_units
    FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
    WHERE e.code IN ('88888', '02800') AND s.trading_day >= $1 ORDER BY 1, 2"""


def _fields(header: str) -> list[str | None]:
    by_key = {header_key(col): f for col, f in EtfDailyLine.columns().items()}
    return [by_key.get(header_key(cell)) for cell in header.split(",")]


def _plain_accepts(plain: PlainDailyLines, line: str) -> bool:
    """What the loader's hot path takes without the model (the fund lookup aside)."""
    match = plain.fullmatch(line)
    if match is None:
        return False
    day_text, _, _, nav, units, aum = match.group(*plain.groups)
    return plain.day(day_text) is not None and aum_ok(nav, units, aum)


def _mutations(line: str, rng: random.Random) -> str:
    pool = '0123456789.-+ ,"eE/aAzZ\r\t_٣'
    body = list(line.rstrip("\n"))
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(body) + 1)
        kind = rng.random()
        if kind < 0.4 and at < len(body):
            body[at] = rng.choice(pool)
        elif kind < 0.7:
            body.insert(at, rng.choice(pool))
        elif at < len(body):
            del body[at]
    return "".join(body) + "\n"


BASE_LINES = [
    "2026-11-23,XHKG,88888,HKD,10.123456,10.12,1000000,10123456.00,0,0,1520000.00,\n",
    "2026-11-24,XHKG,88888,HKD,10.2,10.21,1200000,12240000.00,200000,2040000.00,980000.50,15000\n",
    "2026-11-23,XHKG,02800,HKD,26.5,26.52,100000000,2650000000.00,-500000,-13250000.00,,\n",
    "24/11/2026,XHKG,02800,HKD,0.5,,3,1.50,0,0,,\n",
    "2026-02-28,XHKG,2800,USD,99999999999999.999999,1,0,0.00,-1,-0.01,0,0\n",
    "2026-11-23,XHKG,88888,HKD,7.77,7.7,12345678901234567890,95925925062592592505.30,0,0,0,0\n",
]


def test_plain_lines_are_only_lines_the_model_accepts_as_written() -> None:
    """Whatever the hot path takes, EtfDailyLine takes too, with the same values (the model decides)."""
    plain = PlainDailyLines(_fields(HEADER), "\n")
    assert plain.usable
    rng = random.Random(20261125)
    fields = [f for f in _fields(HEADER) if f is not None]
    taken = 0
    for line in [*BASE_LINES, *(_mutations(rng.choice(BASE_LINES), rng) for _ in range(30_000))]:
        if not _plain_accepts(plain, line):
            continue
        taken += 1
        cells = line.rstrip("\n").split(",")
        assert next(csv.reader([line])) == cells  # a plain line splits as csv reads it
        try:
            row = EtfDailyLine.model_validate(dict(zip(fields, cells, strict=True)))
        except ValidationError as exc:  # pragma: no cover - the assertion below explains
            raise AssertionError(f"plain but invalid: {line!r}: {exc}") from None
        assert list(row.problems()) == [], line
        values = row.staging_values()
        for name, text in zip(fields, cells, strict=True):
            if name == "trading_day":
                assert plain.day(text) == row.trading_day, line
            elif name in ("mic", "code", "currency"):
                assert values[name] == text or name == "code", line
            elif name.startswith("net_creation") or text:
                assert Decimal(values[name]) == Decimal(text), (line, name)
            else:
                assert values[name] == "", (line, name)
    assert taken > 1_000  # the path is taken (the base lines and many harmless mutations)


def test_plain_lines_need_the_file_terminator_and_every_required_column() -> None:
    plain = PlainDailyLines(_fields(HEADER), "\r\n")
    line = BASE_LINES[0]
    assert not _plain_accepts(plain, line)
    assert _plain_accepts(plain, line.replace("\n", "\r\n"))
    assert not _plain_accepts(plain, line.rstrip("\n"))  # the last line without a terminator: the model
    assert not PlainDailyLines(_fields(HEADER.replace("Fund Size", "Remarks")), "\n").usable
    without_creations = "Date,Exchange,Stock Code,Currency,NAV per Unit,Units Outstanding,Fund Size"
    plain = PlainDailyLines(_fields(without_creations), "\n")
    assert plain.usable and _plain_accepts(plain, "01/12/2026,XHKG,88888,HKD,10.5,1000,10500.00\n")


def test_csv_records_keep_physical_line_numbers() -> None:
    lines = ["a,b\n", '"x\n', 'y",c\n', "\n", "d,e\n"]
    assert list(csv_records(lines)) == [(1, "a,b\n"), (3, ["x\ny", "c"]), (4, "\n"), (5, "d,e\n")]


async def test_insert_only_then_update_path_counts(conn: asyncpg.Connection[Any], tmp_path: Path) -> None:
    await _load_references(conn)
    first = await load_file(conn, "etf-daily", DATA / "etf-daily.csv")
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)

    # One row as stored, one changed, one new: compared, updated and inserted in one load.
    mixed = tmp_path / "etf-daily-mixed.csv"
    mixed.write_text(
        HEADER
        + "\n2026-11-23,XHKG,02800,HKD,26.5,26.52,100000000,2650000000.00,-500000,-13250000.00,,\n"
        + "2026-11-24,XHKG,88888,HKD,10.25,10.21,1200000,12300000.00,200000,2040000.00,980000.50,15000\n"
        + "2026-11-25,XHKG,88888,HKD,10.3,10.31,1200000,12360000.00,0,0,,\n"
    )
    result = await load_file(conn, "etf-daily", mixed)

    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 1)
    rows = {(r["code"], r["trading_day"]): r for r in await conn.fetch(STORED, date(2026, 11, 23))}
    assert rows[("88888", date(2026, 11, 24))]["nav_per_unit"] == Decimal("10.25")
    assert rows[("88888", date(2026, 11, 25))]["aum"] == Decimal("12360000.00")
    again = await load_file(conn, "etf-daily", mixed)
    assert (again.inserted, again.updated, again.unchanged, again.status) == (0, 0, 3, "UNCHANGED")


async def test_odd_files_store_what_plain_ones_do(conn: asyncpg.Connection[Any], tmp_path: Path) -> None:
    """CRLF, another column order, an extra column, no net creation columns, DD/MM/YYYY dates, short
    codes, lower case, separators and blanks: stored exactly as the plain file says."""
    await _load_references(conn)
    odd = tmp_path / "etf-daily-odd.csv"
    odd.write_bytes(
        b"Stock Code,Exchange,Date,Remarks,NAV per Unit,Units Outstanding,Fund Size,Currency,Turnover\r\n"
        b"88888,XHKG,01/12/2026,first day,10.5,1000,10500.00,HKD,\r\n"
        b"2800,XHKG,01/12/2026,,26.5,100,2650.00,HKD,5\r\n"
        b'2800,XHKG,2026-12-02,,26.6,100,2660.00,hkd,"1,000.50"\r\n'
        b'88888,XHKG,2026-12-02,," 10.6 ",1000,10600.00,HKD,\r\n'
        b"\r\n"
        b"88888,XHKG,03/12/2026,,10.700000,1000,10700.00,HKD,7.10\r\n"
    )
    plain = tmp_path / "etf-daily-plain.csv"
    plain.write_text(
        HEADER
        + "\n2026-12-01,XHKG,88888,HKD,10.5,,1000,10500.00,0,0,,\n"
        + "2026-12-01,XHKG,02800,HKD,26.5,,100,2650.00,0,0,5,\n"
        + "2026-12-02,XHKG,02800,HKD,26.6,,100,2660.00,0,0,1000.5,\n"
        + "2026-12-02,XHKG,88888,HKD,10.6,,1000,10600.00,0,0,,\n"
        + "2026-12-03,XHKG,88888,HKD,10.7,,1000,10700.00,0,0,7.1,\n"
    )

    first = await load_file(conn, "etf-daily", odd)
    assert (first.rows_read, first.inserted, first.rejected) == (5, 5, 0)
    assert (first.first_day, first.last_day) == (date(2026, 12, 1), date(2026, 12, 3))
    stored = [tuple(r) for r in await conn.fetch(STORED, date(2026, 12, 1))]
    second = await load_file(conn, "etf-daily", plain)

    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 5)
    assert [tuple(r) for r in await conn.fetch(STORED, date(2026, 12, 1))] == stored
    assert stored[0][:5] == ("02800", date(2026, 12, 1), "HKD", Decimal("26.500000"), None)
    assert stored[1][9] == Decimal("1000.50") and stored[1][7:9] == (0, Decimal("0.00"))


def _big_file(path: Path, days: int, bad: dict[int, str] | None = None) -> int:
    """Two funds over ``days`` days (fund by fund, days in order); ``bad`` replaces lines by number."""
    start = date(1960, 1, 4)  # before any demo figures
    line = 1
    with path.open("w") as f:
        f.write(HEADER + "\n")
        for code in ("88888", "02800"):
            for i in range(days):
                line += 1
                day = (start + timedelta(days=i)).isoformat()
                f.write((bad or {}).get(line, f"{day},XHKG,{code},HKD,10.5,,1000,10500.00,0,0,,") + "\n")
    return line - 1


async def test_a_bad_row_deep_in_a_big_file_is_reported_by_line(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn)
    path = tmp_path / "etf-daily-big.csv"
    deep = 3 * DAILY_CHUNK_ROWS + 17
    bad = {
        deep: "2013-09-12,XHKG,02800,HKD,10.5,,1000,10499.00,0,0,,",
        deep + 1: "2013-09-13,XHKG,77777,HKD,10.5,,1000,10500.00,0,0,,",
    }
    rows = _big_file(path, 2 * DAILY_CHUNK_ROWS, bad)
    before = await conn.fetchval("SELECT count(*) FROM etf_daily_stats")

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "etf-daily", path)

    assert [(e.line, e.column, e.value) for e in caught.value.errors] == [
        (deep, "Fund Size", "10499.00"),
        (deep + 1, "Stock Code", "77777"),
    ]
    assert "NAV x units" in caught.value.errors[0].reason
    assert await conn.fetchval("SELECT count(*) FROM etf_daily_stats") == before

    result = await load_file(conn, "etf-daily", path, LoadOptions(skip_invalid=True))
    assert (result.rows_read, result.inserted, result.rejected) == (rows, rows - 2, 2)
    assert result.rejects_file is not None
    with result.rejects_file.open() as f:
        assert [r[0] for r in list(csv.reader(f))[1:]] == [str(deep), str(deep + 1)]


async def test_repeated_keys_are_found_when_days_come_out_of_order(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn)
    path = tmp_path / "etf-daily-unordered.csv"
    path.write_text(
        HEADER
        + "\n2026-12-02,XHKG,88888,HKD,10.5,,1000,10500.00,0,0,,\n"
        + "2026-12-01,XHKG,88888,HKD,10.5,,1000,10500.00,0,0,,\n"  # out of order: fine alone
        + "2026-12-01,XHKG,02800,HKD,10.5,,1000,10500.00,0,0,,\n"
        + "2026-12-02,XHKG,88888,HKD,10.6,,1000,10600.00,0,0,,\n"  # repeats line 2
    )
    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "etf-daily", path)
    [error] = caught.value.errors
    assert (error.line, error.column, error.reason) == (
        5,
        "mic+code+trading_day",
        "repeats the key of line 2",
    )

    result = await load_file(conn, "etf-daily", path, LoadOptions(skip_invalid=True))
    assert (result.inserted, result.rejected) == (3, 1)
    path.write_text("\n".join(path.read_text().splitlines()[:4]) + "\n")
    assert (await load_file(conn, "etf-daily", path)).unchanged == 3
