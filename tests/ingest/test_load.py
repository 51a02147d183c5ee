"""Loading the sample files of every layout: validation, rejects, references, idempotence, periods, freshness."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.ingest.errors import FileRejected, IngestError, UnknownLayout
from service.ingest.loader import LoadOptions, LoadResult, load_file

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"

# The sample files in load order (references first).
SAMPLES: list[tuple[str, str]] = [
    ("managers", "managers.csv"),
    ("indices", "indices.csv"),
    ("securities", "securities.csv"),
    ("securities", "hkex-list-of-securities.xlsx"),
    ("memberships", "memberships.csv"),
    ("licences", "licences.csv"),
    ("etfs", "etfs.csv"),
    ("manager-changes", "manager-changes.csv"),
    ("eligibility", "eligibility-changes-sse-southbound.csv"),
    ("calendar", "calendar.csv"),
    ("calendar", "calendar-connect-exceptions.csv"),
    ("fx", "fx.csv"),
    ("connect-daily", "connect-daily.csv"),
    ("connect-daily", "connect-top10.csv"),
    ("etf-daily", "etf-daily.csv"),
]


async def _load_references(conn: asyncpg.Connection[Any], upto: str = "etfs.csv") -> None:
    for name, file in SAMPLES:
        await load_file(conn, name, DATA / file)
        if file == upto:
            return


async def _version(conn: asyncpg.Connection[Any]) -> int:
    return int(await conn.fetchval("SELECT version FROM data_version"))


async def test_every_sample_loads_and_a_reload_changes_nothing(conn: asyncpg.Connection[Any]) -> None:
    demo_loads = await conn.fetchval("SELECT coalesce(max(id), 0) FROM load_history")
    first: list[LoadResult] = [await load_file(conn, name, DATA / file) for name, file in SAMPLES]
    assert all(r.status == "SUCCEEDED" and r.rejected == 0 for r in first), [r.summary() for r in first]
    version = await _version(conn)

    again = [await load_file(conn, name, DATA / file) for name, file in SAMPLES]

    assert [(r.inserted, r.updated) for r in again] == [(0, 0)] * len(SAMPLES)
    assert all(r.status == "UNCHANGED" and r.same_as_load is not None for r in again)
    assert "nothing changed" in again[-1].summary()
    assert await _version(conn) == version
    statuses = await conn.fetch("SELECT status::text FROM load_history WHERE id > $1 ORDER BY id", demo_loads)
    assert [s[0] for s in statuses] == ["SUCCEEDED"] * len(SAMPLES) + ["UNCHANGED"] * len(SAMPLES)


async def test_counts_say_what_changed(conn: asyncpg.Connection[Any]) -> None:
    await _load_references(conn)
    result = await load_file(conn, "etf-daily", DATA / "etf-daily.csv")
    assert (result.rows_read, result.inserted, result.updated, result.unchanged) == (3, 3, 0, 0)
    assert (result.first_day, result.last_day) == (date(2026, 11, 23), date(2026, 11, 24))
    # The same file with one NAV changed: one row updated, the others unchanged.
    changed = DATA.parent / "tmp-etf-daily-changed.csv"
    try:
        text = (
            (DATA / "etf-daily.csv")
            .read_text()
            .replace("10.2,10.21,1200000,12240000.00", "10.25,10.21,1200000,12300000.00")
        )
        changed.write_text(text)
        result = await load_file(conn, "etf-daily", changed)
    finally:
        changed.unlink()
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    nav = await conn.fetchval(
        "SELECT nav_per_unit FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id "
        "WHERE e.code = '88888' AND trading_day = '2026-11-24'"
    )
    assert nav == Decimal("10.25")


async def test_one_bad_row_rejects_the_file_listing_every_error(conn: asyncpg.Connection[Any]) -> None:
    await _load_references(conn)
    before = await conn.fetchval("SELECT count(*) FROM etf_daily_stats")

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "etf-daily", DATA / "etf-daily-bad.csv")

    errors = {(e.line, e.column): e for e in caught.value.errors}
    assert set(errors) == {(3, "NAV per Unit"), (4, "Fund Size"), (5, "Date"), (5, "Currency")}
    assert errors[(3, "NAV per Unit")].value == "abc"
    assert "decimal" in errors[(3, "NAV per Unit")].reason
    assert "NAV x units" in errors[(4, "Fund Size")].reason
    assert "etf-daily-bad.csv:3: NAV per Unit = 'abc'" in str(caught.value)
    assert await conn.fetchval("SELECT count(*) FROM etf_daily_stats") == before
    row = await conn.fetchrow(
        "SELECT status::text, rows_rejected, error FROM load_history ORDER BY id DESC LIMIT 1"
    )
    assert row is not None and row["status"] == "REJECTED" and row["rows_rejected"] == 3
    assert "NAV per Unit" in row["error"]


async def test_skip_invalid_loads_good_rows_and_writes_rejects_beside_the_input(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    await _load_references(conn)
    source = tmp_path / "etf-daily-bad.csv"
    shutil.copy(DATA / "etf-daily-bad.csv", source)

    result = await load_file(conn, "etf-daily", source, LoadOptions(skip_invalid=True))

    assert (result.inserted, result.rejected) == (1, 3)
    assert result.rejects_file == tmp_path / "etf-daily-bad.rejects.csv"
    with result.rejects_file.open() as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Line", "Errors", "Date"]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert "NAV per Unit" in rows[1][1] and rows[1][6] == "abc"


async def test_unknown_references_are_errors_not_nulls(conn: asyncpg.Connection[Any], tmp_path: Path) -> None:
    await _load_references(conn)
    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "etf-daily", DATA / "etf-daily-unknown.csv")
    [error] = caught.value.errors
    assert (error.line, error.column, error.value) == (3, "Stock Code", "77777")
    assert "no ETF XHKG:77777" in error.reason

    # With --skip-invalid the unknown line is a reject too.
    source = tmp_path / "etf-daily-unknown.csv"
    shutil.copy(DATA / "etf-daily-unknown.csv", source)
    result = await load_file(conn, "etf-daily", source, LoadOptions(skip_invalid=True))
    assert (result.inserted, result.rejected) == (1, 1)


async def test_an_etf_whose_issuer_is_not_loaded_is_refused(conn: asyncpg.Connection[Any]) -> None:
    await load_file(conn, "indices", DATA / "indices.csv")
    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "etfs", DATA / "etfs.csv")
    assert [(e.column, e.value) for e in caught.value.errors] == [("Manager ID", "sample-am")]


async def test_repeated_keys_in_a_file_are_errors(conn: asyncpg.Connection[Any], tmp_path: Path) -> None:
    source = tmp_path / "fx.csv"
    source.write_text((DATA / "fx.csv").read_text() + "CNY,HKD,23/11/2026,1.1,HKMA\n")
    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "fx", source)
    [error] = caught.value.errors
    assert error.line == 4 and "line 2" in error.reason


async def test_hkex_list_of_securities_xlsx_takes_equities(conn: asyncpg.Connection[Any]) -> None:
    result = await load_file(conn, "securities", DATA / "hkex-list-of-securities.xlsx")
    assert result.layout == "hkex-list-of-securities"
    assert (result.rows_read, result.inserted, result.skipped) == (3, 2, 1)  # the ETF line is skipped
    row = await conn.fetchrow(
        "SELECT name, isin, country FROM securities WHERE mic = 'XHKG' AND local_code = '88002'"
    )
    assert row is not None and tuple(row) == ("SAMPLE FOUNDRY", "HK0000088021", "HK")


async def test_a_file_of_no_known_layout_is_refused(conn: asyncpg.Connection[Any]) -> None:
    with pytest.raises(UnknownLayout, match="expected one of"):
        await load_file(conn, "etf-daily", DATA / "fx.csv")


async def test_membership_snapshots_close_and_open_periods(conn: asyncpg.Connection[Any]) -> None:
    await _load_references(conn, upto="hkex-list-of-securities.xlsx")
    result = await load_file(conn, "memberships", DATA / "memberships.csv")
    assert (result.inserted, result.updated) == (2, 2)  # two opened, then both re-weighted
    rows = await conn.fetch(
        "SELECT s.local_code, m.weight_pct, m.effective_from, m.effective_to FROM index_memberships m "
        "JOIN indices i ON i.id = m.index_id JOIN securities s ON s.id = m.security_id "
        "WHERE i.code = 'SAMPLE-IDX' ORDER BY 1, 3"
    )
    assert [tuple(r) for r in rows] == [
        ("88001", Decimal("60.000000"), date(2026, 1, 5), date(2026, 7, 6)),
        ("88001", Decimal("50.000000"), date(2026, 7, 6), None),
        ("999001", Decimal("40.000000"), date(2026, 1, 5), date(2026, 7, 6)),
        ("999001", Decimal("50.000000"), date(2026, 7, 6), None),
    ]


async def test_weights_of_a_snapshot_must_sum_to_100(conn: asyncpg.Connection[Any], tmp_path: Path) -> None:
    await _load_references(conn, upto="hkex-list-of-securities.xlsx")
    source = tmp_path / "memberships.csv"
    source.write_text((DATA / "memberships.csv").read_text().replace(",40\n", ",30\n"))
    with pytest.raises(FileRejected, match="sum to 90"):
        await load_file(conn, "memberships", source)


async def test_eligibility_change_file_and_full_list(conn: asyncpg.Connection[Any]) -> None:
    await _load_references(conn)
    changes = await load_file(conn, "eligibility", DATA / "eligibility-changes-sse-southbound.csv")
    # 00700 is a stock, eligible on the link since 2014 (the demo's): unchanged; a name change is skipped
    assert (changes.inserted, changes.updated, changes.unchanged, changes.skipped) == (1, 1, 1, 1)
    periods = """
        SELECT status::text, effective_from, effective_to FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id
        WHERE e.code = '88888' AND direction = 'SOUTHBOUND' AND channel = 'SHANGHAI' ORDER BY effective_from"""
    assert [tuple(r) for r in await conn.fetch(periods)] == [
        ("ELIGIBLE", date(2026, 3, 2), date(2026, 6, 1)),
        ("SELL_ONLY", date(2026, 6, 1), None),
    ]

    listed = await load_file(conn, "eligibility", DATA / "eligible-list-sse-southbound.csv")

    assert listed.layout == "hkex-eligible-list" and listed.first_day == date(2026, 8, 3)
    assert [tuple(r) for r in await conn.fetch(periods)][-1] == ("ELIGIBLE", date(2026, 8, 3), None)
    # ETFs eligible on that link but not on the list leave it on the list's date.
    left = await conn.fetchval(
        "SELECT count(*) FROM connect_eligibility WHERE direction = 'SOUTHBOUND' AND channel = 'SHANGHAI' "
        "AND status = 'ELIGIBLE' AND effective_to = '2026-08-03'"
    )
    assert left > 0
    again = await load_file(conn, "eligibility", DATA / "eligible-list-sse-southbound.csv")
    assert again.status == "UNCHANGED"


async def test_eligibility_needs_to_know_its_link(conn: asyncpg.Connection[Any], tmp_path: Path) -> None:
    source = tmp_path / "changes.csv"
    shutil.copy(DATA / "eligibility-changes-sse-southbound.csv", source)
    with pytest.raises(IngestError, match="which Connect link"):
        await load_file(conn, "eligibility", source)


async def test_connect_daily_blocks_sentinel_and_trading_day_flag(conn: asyncpg.Connection[Any]) -> None:
    result = await load_file(conn, "connect-daily", DATA / "connect-daily.csv")
    assert (result.inserted, result.skipped) == (4, 4)  # 24 Nov: no trading in any block
    rows = {
        (r["channel"], r["direction"]): r
        for r in await conn.fetch("SELECT * FROM connect_daily_flows WHERE trading_day = '2026-11-23'")
    }
    north = rows[("SHANGHAI", "NORTHBOUND")]
    assert north["quota_balance_unlimited"] and north["quota_balance"] is None
    assert north["buy_turnover"] is None and north["net_buy"] is None
    assert north["total_turnover"] == Decimal("75123450000.00") and north["currency"] == "CNY"
    south = rows[("SHANGHAI", "SOUTHBOUND")]
    assert south["net_buy"] == Decimal("10000000000.00") and south["currency"] == "HKD"
    # The RMB quota balance is stated in HKD at the day's CNY/HKD rate.
    rate = await conn.fetchval("SELECT rate FROM fx_rate('CNY', 'HKD', '2026-11-23')")
    assert south["quota_balance"] == (Decimal("32000000000") * rate).quantize(Decimal("0.01"))


async def test_freshness_and_data_version_through_graphql(conn: asyncpg.Connection[Any], gql: Any) -> None:
    query = """{ dataVersion datasets { name isIllustrative latestTradingDay successfulLoads
                 lastLoad { fileName sha256 status rowsInserted rowsUnchanged dataVersion } } }"""
    before = (await gql(query))["data"]
    await _load_references(conn)
    result = await load_file(conn, "etf-daily", DATA / "etf-daily.csv", LoadOptions(illustrative=True))

    after = (await gql(query))["data"]

    assert after["dataVersion"] != before["dataVersion"]
    assert after["dataVersion"] == result.data_version
    stats = next(d for d in after["datasets"] if d["name"] == "ETF_DAILY")
    assert stats["latestTradingDay"] == "2026-11-24" and stats["isIllustrative"] is True
    assert stats["lastLoad"] == {
        "fileName": "etf-daily.csv",
        "sha256": result.sha256,
        "status": "SUCCEEDED",
        "rowsInserted": 3,
        "rowsUnchanged": 0,
        "dataVersion": result.data_version,
    }
    # An unchanged reload keeps the version: caches keyed on it stay warm.
    await load_file(conn, "etf-daily", DATA / "etf-daily.csv")
    assert (await gql("{ dataVersion }"))["data"]["dataVersion"] == after["dataVersion"]
