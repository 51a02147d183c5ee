"""The rollup path of rankings answers exactly what the row path answers; loads keep the rollup fresh.

The row path (``use_rollup=False``: every fund-day converted and added) is the reference: the rollup
path must give identical rows (ranks, amounts, FX details) for every grouping it covers, in every
reporting currency, for every metric, both directions, with and without ``top``.
"""

from __future__ import annotations

import csv
import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.ingest.loader import load_file
from service.repositories import analytics as repo

LAST = date(2026, 11, 20)
WINDOWS = [
    (date(2025, 9, 22), date(2025, 10, 10)),  # across a month and a quarter end, a Golden Week
    (date(2026, 10, 26), LAST),  # the latest month
    (date(2024, 12, 20), date(2025, 1, 3)),  # Christmas and New Year
    (LAST, LAST),  # one day
    (date(2000, 1, 1), LAST),  # everything
]

TOP_BY_NET_CREATIONS = """{ etfAggregates(groupBy: ETF, lastTradingDays: 20, calendar: SOUTHBOUND_CONNECT, top: 3) {
    rank netCreationValue etf { code } } }"""


async def _both(db: Any, *args: Any) -> tuple[list[repo.GroupAggregateRow], list[repo.GroupAggregateRow]]:
    rows = await repo.group_aggregates(db, *args, use_rollup=False)
    rolled = await repo.group_aggregates(db, *args)
    return rows, rolled


async def test_rankings_on_the_rollup_equal_the_row_path_in_every_currency(db: Any) -> None:
    selection = repo.EtfSelection()
    checked = 0
    for (start, end), grouping, currency in itertools.product(
        WINDOWS, repo.ROLLUP_GROUPINGS, [*repo.ROLLUP_CURRENCIES, None]
    ):
        metric = repo.EtfMetric.NET_CREATION_VALUE if currency != "USD" else repo.EtfMetric.AUM_CHANGE
        for ascending, top in ((False, 5), (True, None)):
            rows, rolled = await _both(db, grouping, selection, start, end, currency, metric, ascending, top)
            assert rolled == rows, (start, end, grouping, currency, metric, ascending, top)
            assert rows, (start, end, grouping, currency)
            checked += 1
    assert checked == len(WINDOWS) * 4 * 5 * 2


async def test_every_metric_ranks_alike_on_both_paths(db: Any) -> None:
    for metric, grouping, (start, end), currency in itertools.product(
        repo.EtfMetric, repo.ROLLUP_GROUPINGS, WINDOWS[:2], ("HKD", "KRW", None)
    ):
        for ascending in (False, True):
            args = (grouping, repo.EtfSelection(), start, end, currency, metric, ascending, 7)
            rows, rolled = await _both(db, *args)
            assert rolled == rows, args


async def test_selections_and_mixed_currencies_match(db: Any, conn: Any) -> None:
    csop = repo.EtfSelection(issuer_slug="csop")  # HKD and CNY funds: no native sum
    semis = repo.EtfSelection(theme="semiconductor")
    hsi = repo.EtfSelection(index_code="HSI")
    one = repo.EtfSelection(etf_id=await conn.fetchval("SELECT id FROM etfs WHERE code = '02828'"))
    for selection, currency, grouping in itertools.product(
        (csop, semis, hsi, one), ("HKD", "CNY", None), (repo.Grouping.ETF, repo.Grouping.ISSUER)
    ):
        args = (grouping, selection, date(2025, 9, 22), date(2025, 10, 10), currency,
                repo.EtfMetric.REDEMPTION_VALUE, False, None)  # fmt: skip
        rows, rolled = await _both(db, *args)
        assert rolled == rows, args
    native = await repo.group_aggregates(
        db, repo.Grouping.ISSUER, csop, date(2025, 9, 22), date(2025, 10, 10), None,
        repo.EtfMetric.NET_CREATION_VALUE, False, None,
    )  # fmt: skip
    assert native[0].net_creation_value is None and native[0].net_creation_units is not None


async def _snapshot(conn: Any) -> list[Any]:
    totals = await conn.fetch("SELECT * FROM etf_day_totals ORDER BY trading_day")
    groups = await conn.fetch("SELECT * FROM etf_group_days ORDER BY kind, trading_day, currency")
    return [tuple(r) for r in totals] + [tuple(r) for r in groups]


async def test_an_incremental_refresh_equals_a_full_one(conn: Any) -> None:
    # Given: a day's figures and a rate changed in the middle of the history.
    day = date(2025, 10, 6)
    await conn.execute(
        "UPDATE etf_daily_stats SET net_creation_value = net_creation_value + 1234.56, turnover = NULL "
        "WHERE trading_day = $1",
        day,
    )
    await conn.execute("UPDATE fx_rates SET rate = rate * 1.01 WHERE day = $1 AND base_currency = 'CNY'", day)
    # Also a fund switching currency for one day, and a new fund-day.
    status = await conn.execute(
        """UPDATE etf_daily_stats SET currency = 'USD'
           WHERE trading_day = $1 AND etf_id = (SELECT id FROM etfs WHERE code = '03033')""",
        date(2025, 10, 8),
    )
    assert status == "UPDATE 1"

    # When
    written = await repo.refresh_rollups(conn, day)
    incremental = await _snapshot(conn)
    await repo.refresh_rollups(conn, None)

    # Then
    days = await conn.fetchval("SELECT count(*) FROM etf_day_totals")
    assert 0 < written < days
    assert incremental == await _snapshot(conn)
    rows, rolled = await _both(
        conn, repo.Grouping.ETF, repo.EtfSelection(), date(2025, 10, 1), date(2025, 10, 10), None,
        repo.EtfMetric.TURNOVER, False, None,
    )  # fmt: skip
    assert rolled == rows
    switched = next(r for r in rows if r.sort_key == "XHKG:03033")
    assert switched.currency is None and switched.net_creation_value is None  # HKD and USD days


async def test_a_changed_file_changes_the_ranking(gql: Any, conn: Any, tmp_path: Path) -> None:
    # Given: today's ranking, and a file restating one fund's last day with a large creation.
    before = (await gql(TOP_BY_NET_CREATIONS))["data"]["etfAggregates"]
    row = await conn.fetchrow(
        """SELECT e.mic, e.code, s.* FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE s.trading_day = $1 AND e.code = '02828'""",
        LAST,
    )
    assert "XHKG:02828" not in [r["etf"]["code"] for r in before]
    path = tmp_path / "etf-daily-restated.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Date", "Exchange", "Stock Code", "Currency", "NAV per Unit", "Closing Price",
                         "Units Outstanding", "Fund Size", "Net Creation/Redemption Units",
                         "Net Creation/Redemption Value", "Turnover", "Southbound Holding Units"])  # fmt: skip
        writer.writerow([
            LAST.isoformat(), row["mic"], row["code"], row["currency"], row["nav_per_unit"], row["close_price"],
            row["shares_outstanding"], row["aum"], row["net_creation_units"], "99000000000.00",
            row["turnover"] if row["turnover"] is not None else "", row["southbound_holding_units"] or "",
        ])  # fmt: skip

    # When
    result = await load_file(conn, "etf-daily", path)

    # Then: the rollup was refreshed in the load, and the fund now leads.
    assert result.updated == 1
    after = (await gql(TOP_BY_NET_CREATIONS))["data"]["etfAggregates"]
    assert after[0]["etf"]["code"] == "XHKG:02828"
    assert Decimal(after[0]["netCreationValue"]) > Decimal("99000000000")
    assert [r["etf"]["code"] for r in after[1:]] == [r["etf"]["code"] for r in before[:2]]


SERIES_SELECTIONS = [
    repo.EtfSelection(),
    repo.EtfSelection(issuer_slug="csop"),
    repo.EtfSelection(index_code="HSI"),
    repo.EtfSelection(theme="semiconductor"),
]


async def test_series_on_the_rollup_equal_the_fund_days_for_every_measure_and_currency(db: Any) -> None:
    checked = 0
    for selection, measure, currency, interval in itertools.product(
        SERIES_SELECTIONS,
        [m for m in repo.EtfMeasure if m.value in repo.ROLLUP_MEASURES],
        [*repo.ROLLUP_CURRENCIES, None],
        ("day", "month"),
    ):
        args = (selection, measure, interval, repo.Calendar.HONG_KONG, date(2025, 9, 1), date(2025, 11, 30),
                currency, None)  # fmt: skip
        rows = await repo.etf_series(db, *args, use_rollup=False)
        rolled = await repo.etf_series(db, *args)
        assert rolled == rows, (selection, measure, currency, interval)
        assert rows, (selection, measure, currency, interval)
        checked += 1
    assert checked == 4 * 3 * 5 * 2


async def test_a_fund_changing_issuer_moves_its_sums_between_the_issuers(db: Any, conn: Any) -> None:
    # Given: a CSOP fund handed over to another issuer (a manager change, as 02800's in 2022).
    fund, other = await conn.fetchrow(
        """SELECT e.id, (SELECT m.id FROM asset_managers m WHERE m.slug <> 'csop' ORDER BY m.slug LIMIT 1)
           FROM etfs e JOIN asset_managers m ON m.id = e.issuer_id
           WHERE m.slug = 'csop' ORDER BY e.code LIMIT 1"""
    )
    other_slug = await conn.fetchval("SELECT slug FROM asset_managers WHERE id = $1", other)

    # When
    await conn.execute("UPDATE etfs SET issuer_id = $2 WHERE id = $1", fund, other)

    # Then: both issuers' series from the rollup equal their funds' days, as they are now.
    for slug in ("csop", other_slug):
        args = (repo.EtfSelection(issuer_slug=slug), repo.EtfMeasure.NET_CREATION_VALUE, "month",
                repo.Calendar.HONG_KONG, date(2024, 1, 1), date(2026, 11, 20), "USD", None)  # fmt: skip
        assert await repo.etf_series(db, *args) == await repo.etf_series(db, *args, use_rollup=False), slug


async def test_a_fund_changing_index_and_an_index_changing_themes_move_the_sums(db: Any, conn: Any) -> None:
    # Given: a fund tracking HSI moved to HSTECH, and HSTECH given the theme "biotech" besides its own.
    await conn.execute(
        """UPDATE etfs SET index_id = (SELECT id FROM indices WHERE code = 'HSTECH')
           WHERE id = (SELECT e.id FROM etfs e JOIN indices i ON i.id = e.index_id
                       WHERE i.code = 'HSI' ORDER BY e.code LIMIT 1)"""
    )
    await conn.execute("UPDATE indices SET themes = themes || ARRAY['biotech'] WHERE code = 'HSTECH'")

    # Then: the indices' and the themes' series from the rollup equal their funds' days, as they are now.
    selections = [repo.EtfSelection(index_code="HSI"), repo.EtfSelection(index_code="HSTECH"),
                  repo.EtfSelection(theme="biotech"), repo.EtfSelection(theme="technology")]  # fmt: skip
    for selection in selections:
        args = (selection, repo.EtfMeasure.AUM, "month", repo.Calendar.HONG_KONG, date(2025, 1, 1),
                date(2026, 11, 20), "KRW", None)  # fmt: skip
        rows = await repo.etf_series(db, *args, use_rollup=False)
        assert rows and await repo.etf_series(db, *args) == rows, selection


async def test_flow_series_from_whole_buckets_equal_the_days(db: Any, conn: Any) -> None:
    # Given: flow series of every measure, channel and currency over windows that cut and that do not cut
    # weeks, months and quarters (the whole ones come pre-aggregated, the cut ones from days).
    windows = [(date(2024, 7, 1), date(2025, 3, 31)), (date(2024, 8, 14), date(2025, 2, 19)),
               (date(2025, 12, 29), LAST)]  # fmt: skip
    cases = [
        (direction, channel, measure, interval, start, end, currency)
        for direction, channel in (("SOUTHBOUND", None), ("NORTHBOUND", None), ("SOUTHBOUND", "SHENZHEN"))
        for measure in repo.FlowMeasure
        for interval in ("week", "month", "quarter")
        for start, end in windows
        for currency in ("USD", None)
    ]
    rolled = [await repo.flow_series(db, d, c, m, i, s, e, cur, None) for d, c, m, i, s, e, cur in cases]

    # When: the same without the pre-aggregated buckets
    await conn.execute("DELETE FROM connect_flow_buckets")
    from_days = [await repo.flow_series(db, d, c, m, i, s, e, cur, None) for d, c, m, i, s, e, cur in cases]

    # Then
    assert all(rolled) and rolled == from_days
