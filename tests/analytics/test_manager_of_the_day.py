"""A fund-day counts to the manager running the fund that day (point in time): issuer rankings, issuer
filters, series and the rollups follow a fund's manager changes, on both paths.

The demo's one change (the Tracker Fund, 2022) predates its figures, so each test hands CSOP's 03053 to
Global X from 2025-10-02, in the middle of the demo's figures, as 02800 was handed over in 2022. The
expected values are the answers before the change, moved by the fund's own figures after it.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from service.repositories import analytics as repo

FUND = "XHKG:03053"
CHANGE = date(2025, 10, 2)
WINDOW = {"from": "2025-09-22", "to": "2025-10-10", "currency": "HKD"}

AGGREGATES = """
query ($groupBy: EtfGrouping!, $from: Date, $to: Date, $issuer: String, $currency: ReportCurrency!) {
  etfAggregates(groupBy: $groupBy, from: $from, to: $to, issuer: $issuer, currency: $currency) {
    key etfCount tradingDays firstDay lastDay netCreationValue netCreationUnits aumStart aumEnd
  }
}"""

RANKING = """
query ($issuer: String) {
  topEtfsByNetCreation(from: "2025-09-22", to: "2025-10-10", issuer: $issuer, first: 50) {
    etf { code } netCreationValue tradingDays firstDay lastDay
  }
}"""

SERIES = """
query ($issuer: String) {
  etfSeries(issuer: $issuer, measure: NET_CREATION_VALUE, interval: DAY, from: "2025-09-22",
            to: "2025-10-10", currency: HKD) {
    buckets { periodStart sum }
  }
}"""


async def _hand_over(conn: Any) -> None:
    """03053 runs under Global X from CHANGE on: the published change, and the ETF master's manager."""
    await conn.execute(
        """INSERT INTO etf_manager_changes (etf_id, effective_date, from_manager_id, to_manager_id, reason)
           SELECT e.id, $1, e.issuer_id, (SELECT id FROM asset_managers WHERE slug = 'global-x'), 'test'
           FROM etfs e WHERE e.code = '03053'""",
        CHANGE,
    )
    await conn.execute(
        "UPDATE etfs SET issuer_id = (SELECT id FROM asset_managers WHERE slug = 'global-x') WHERE code = '03053'"
    )


async def _by_key(gql: Any, variables: dict[str, Any]) -> dict[str, Any]:
    body = await gql(AGGREGATES, variables)
    return {row["key"]: row for row in body["data"]["etfAggregates"]}


async def test_an_issuer_counts_the_fund_days_it_managed(gql: Any, conn: Any) -> None:
    # Given: the issuers and the fund over the window, and the fund's own figures from the change on.
    before = await _by_key(gql, {**WINDOW, "groupBy": "ISSUER"})
    whole = (await _by_key(gql, {**WINDOW, "groupBy": "ETF"}))[FUND]
    after_change = (await _by_key(gql, {**WINDOW, "from": CHANGE.isoformat(), "groupBy": "ETF"}))[FUND]
    moved = Decimal(after_change["netCreationValue"])

    # When
    await _hand_over(conn)

    # Then: the days from the change on moved from CSOP to Global X; both count the fund.
    issuers = await _by_key(gql, {**WINDOW, "groupBy": "ISSUER"})
    assert Decimal(issuers["csop"]["netCreationValue"]) == Decimal(before["csop"]["netCreationValue"]) - moved
    assert Decimal(issuers["global-x"]["netCreationValue"]) == (
        Decimal(before["global-x"]["netCreationValue"]) + moved
    )
    assert issuers["csop"]["etfCount"] == before["csop"]["etfCount"]
    assert issuers["global-x"]["etfCount"] == before["global-x"]["etfCount"] + 1
    total = sum(Decimal(row["netCreationValue"]) for row in issuers.values())
    assert total == sum(Decimal(row["netCreationValue"]) for row in before.values())
    assert {k: v for k, v in issuers.items() if k not in ("csop", "global-x")} == {
        k: v for k, v in before.items() if k not in ("csop", "global-x")
    }

    # The fund within each issuer: its days under that manager, which add up to the whole window.
    under_csop = (await _by_key(gql, {**WINDOW, "groupBy": "ETF", "issuer": "csop"}))[FUND]
    under_global_x = (await _by_key(gql, {**WINDOW, "groupBy": "ETF", "issuer": "global-x"}))[FUND]
    assert under_csop["lastDay"] < CHANGE.isoformat() <= under_global_x["firstDay"]
    assert under_global_x == after_change
    assert under_csop["tradingDays"] + under_global_x["tradingDays"] == whole["tradingDays"]
    assert Decimal(under_csop["netCreationValue"]) + moved == Decimal(whole["netCreationValue"])
    assert Decimal(under_csop["netCreationUnits"]) + Decimal(under_global_x["netCreationUnits"]) == Decimal(
        whole["netCreationUnits"]
    )
    assert (under_csop["aumStart"], under_global_x["aumEnd"]) == (whole["aumStart"], whole["aumEnd"])
    # Grouped by ETF without a filter the fund is whole, as before.
    assert (await _by_key(gql, {**WINDOW, "groupBy": "ETF"}))[FUND] == whole


async def test_rankings_and_series_by_issuer_follow_the_change(gql: Any, conn: Any) -> None:
    # Given
    ranked_before = await gql(RANKING, {"issuer": "csop"})
    series_before = {
        slug: (await gql(SERIES, {"issuer": slug}))["data"]["etfSeries"]["buckets"]
        for slug in ("csop", "global-x")
    }
    fund_days = {
        r["trading_day"].isoformat(): r["value"]
        for r in await conn.fetch(
            """SELECT s.trading_day, s.net_creation_value AS value FROM etf_daily_stats s
               JOIN etfs e ON e.id = s.etf_id WHERE e.code = '03053' AND s.trading_day BETWEEN $1 AND '2025-10-10'""",
            CHANGE,
        )
    }

    # When
    await _hand_over(conn)

    # Then: the net creations ranking of each issuer holds the fund with that issuer's days.
    csop = {
        r["etf"]["code"]: r for r in (await gql(RANKING, {"issuer": "csop"}))["data"]["topEtfsByNetCreation"]
    }
    global_x = (await gql(RANKING, {"issuer": "global-x"}))["data"]["topEtfsByNetCreation"]
    was = next(r for r in ranked_before["data"]["topEtfsByNetCreation"] if r["etf"]["code"] == FUND)
    (fund_under_global_x,) = [r for r in global_x if r["etf"]["code"] == FUND]
    assert fund_under_global_x["firstDay"] == CHANGE.isoformat()
    assert fund_under_global_x["tradingDays"] == len(fund_days)
    assert Decimal(fund_under_global_x["netCreationValue"]) == sum(fund_days.values())  # an HKD fund
    assert csop[FUND]["lastDay"] < CHANGE.isoformat()
    assert csop[FUND]["tradingDays"] == was["tradingDays"] - len(fund_days)
    assert Decimal(csop[FUND]["netCreationValue"]) == Decimal(was["netCreationValue"]) - sum(
        fund_days.values()
    )

    # Each day's sum moved by the fund's figure that day, from the change on.
    for slug, sign in (("csop", -1), ("global-x", 1)):
        buckets = (await gql(SERIES, {"issuer": slug}))["data"]["etfSeries"]["buckets"]
        for now, then in zip(buckets, series_before[slug], strict=True):
            day = now["periodStart"]
            expected = Decimal(then["sum"]) + sign * fund_days.get(day, Decimal(0))
            assert Decimal(now["sum"]) == expected, (slug, day)


async def _both(db: Any, *args: Any) -> tuple[list[repo.GroupAggregateRow], list[repo.GroupAggregateRow]]:
    rows = await repo.group_aggregates(db, *args, use_rollup=False)
    rolled = await repo.group_aggregates(db, *args)
    return rows, rolled


async def test_the_rollup_paths_equal_the_row_path_across_a_change(db: Any, conn: Any) -> None:
    await _hand_over(conn)
    windows = [
        (date(2025, 9, 22), date(2025, 10, 10)),  # across the change
        (date(2025, 9, 22), date(2025, 10, 1)),  # before it
        (CHANGE, date(2025, 10, 10)),  # from it
        (date(2000, 1, 1), date(2026, 11, 20)),  # everything
    ]
    selections = [repo.EtfSelection(), repo.EtfSelection(issuer_slug="csop"),
                  repo.EtfSelection(issuer_slug="global-x")]  # fmt: skip
    checked = 0
    for (start, end), grouping, selection, currency, metric in itertools.product(
        windows, repo.ROLLUP_GROUPINGS, selections, ("HKD", None),
        (repo.EtfMetric.NET_CREATION_VALUE, repo.EtfMetric.AUM_CHANGE),
    ):  # fmt: skip
        args = (grouping, selection, start, end, currency, metric, False, None)
        rows, rolled = await _both(db, *args)
        assert rolled == rows, args
        assert rows, args
        checked += 1
    assert checked == 4 * 4 * 3 * 2 * 2

    for selection, currency in itertools.product(selections[1:], [*repo.ROLLUP_CURRENCIES, None]):
        args = (selection, repo.EtfMeasure.AUM, "day", repo.Calendar.HONG_KONG, date(2025, 9, 1),
                date(2025, 11, 30), currency, None)  # fmt: skip
        assert await repo.etf_series(db, *args) == await repo.etf_series(db, *args, use_rollup=False), args


async def _groups(conn: Any) -> list[Any]:
    return [
        tuple(r)
        for r in await conn.fetch("SELECT * FROM etf_group_days ORDER BY kind, trading_day, currency")
    ]


async def test_a_change_refreshes_the_rollup_and_its_removal_restores_it(conn: Any) -> None:
    before = await _groups(conn)

    await _hand_over(conn)
    changed = await _groups(conn)
    await repo.refresh_rollups(conn, None)

    assert changed != before
    assert await _groups(conn) == changed  # the trigger's refresh from the change on is a full one's

    await conn.execute("DELETE FROM etf_manager_changes WHERE effective_date = $1", CHANGE)
    await conn.execute(
        "UPDATE etfs SET issuer_id = (SELECT id FROM asset_managers WHERE slug = 'csop') WHERE code = '03053'"
    )
    assert await _groups(conn) == before


async def _fund_days(conn: Any, slug: str) -> int:
    """How many HKD fund-days the issuer's sums hold on 2025-09-30, the day before the change."""
    value: int = await conn.fetchval(
        """SELECT g.rows[array_position(g.keys, (SELECT id::text FROM asset_managers WHERE slug = $1))]
           FROM etf_group_days g WHERE g.kind = 'issuer' AND g.trading_day = '2025-09-30' AND g.currency = 'HKD'""",
        slug,
    )
    return value


async def test_a_funds_first_change_moves_its_earlier_days_to_the_previous_manager(conn: Any) -> None:
    # Given: the ETF master already shows CSOP as 03053's manager when its change from Global X is
    # published (as with the Tracker Fund): its days before the change were Global X's all along.
    before = await _groups(conn)
    before_global_x, before_csop = await _fund_days(conn, "global-x"), await _fund_days(conn, "csop")
    await conn.execute(
        """INSERT INTO etf_manager_changes (etf_id, effective_date, from_manager_id, to_manager_id)
           SELECT e.id, $1, (SELECT id FROM asset_managers WHERE slug = 'global-x'), e.issuer_id
           FROM etfs e WHERE e.code = '03053'""",
        CHANGE,
    )
    changed = await _groups(conn)

    # Then: the trigger's refresh is a full one's, and a change of the notes alone refreshes nothing.
    await repo.refresh_rollups(conn, None)
    assert changed != before and await _groups(conn) == changed
    assert await _fund_days(conn, "global-x") == before_global_x + 1  # 03053's day before the change
    assert await _fund_days(conn, "csop") == before_csop - 1
    await conn.execute("UPDATE etf_manager_changes SET reason = 'restated' WHERE effective_date = $1", CHANGE)
    assert await _groups(conn) == changed


async def _away_and_back(conn: Any) -> None:
    """03053 run by Global X from CHANGE to 2025-10-06 only, by CSOP before and after."""
    await conn.execute(
        """INSERT INTO etf_manager_changes (etf_id, effective_date, from_manager_id, to_manager_id)
           SELECT e.id, d.day, (SELECT id FROM asset_managers WHERE slug = d.from_slug),
                  (SELECT id FROM asset_managers WHERE slug = d.to_slug)
           FROM etfs e, (VALUES ($1::date, 'csop', 'global-x'), ('2025-10-07', 'global-x', 'csop'))
                        d (day, from_slug, to_slug)
           WHERE e.code = '03053'""",
        CHANGE,
    )


async def test_a_fund_back_with_an_earlier_manager_counts_once_with_its_days(
    gql: Any, db: Any, conn: Any
) -> None:
    # Given: 03053 run by Global X from 2025-10-02 to 2025-10-06 only, by CSOP before and after.
    whole = (await _by_key(gql, {**WINDOW, "groupBy": "ETF"}))[FUND]
    await _away_and_back(conn)

    # Then: under CSOP the fund is one row, its days but Global X's.
    under_global_x = (await _by_key(gql, {**WINDOW, "groupBy": "ETF", "issuer": "global-x"}))[FUND]
    assert (under_global_x["firstDay"], under_global_x["lastDay"]) == (CHANGE.isoformat(), "2025-10-06")
    body = await gql(AGGREGATES, {**WINDOW, "groupBy": "ETF", "issuer": "csop"})
    (under_csop,) = [r for r in body["data"]["etfAggregates"] if r["key"] == FUND]
    assert under_csop["tradingDays"] + under_global_x["tradingDays"] == whole["tradingDays"]
    assert Decimal(under_csop["netCreationValue"]) + Decimal(under_global_x["netCreationValue"]) == Decimal(
        whole["netCreationValue"]
    )
    assert (under_csop["firstDay"], under_csop["lastDay"]) == (whole["firstDay"], whole["lastDay"])
    assert (under_csop["aumStart"], under_csop["aumEnd"]) == (whole["aumStart"], whole["aumEnd"])
    ranked = (await gql(RANKING, {"issuer": "csop"}))["data"]["topEtfsByNetCreation"]
    assert [r["etf"]["code"] for r in ranked].count(FUND) == 1

    # And the rollup paths answer what the row path answers.
    for grouping, selection, currency, metric in itertools.product(
        (repo.Grouping.ISSUER, repo.Grouping.ETF),
        (
            repo.EtfSelection(),
            repo.EtfSelection(issuer_slug="csop"),
            repo.EtfSelection(issuer_slug="global-x"),
        ),
        ("HKD", None),
        (repo.EtfMetric.NET_CREATION_VALUE, repo.EtfMetric.AUM_CHANGE, repo.EtfMetric.AUM_END),
    ):
        args = (grouping, selection, date(2025, 9, 22), date(2025, 10, 10), currency, metric, False, None)
        rows, rolled = await _both(db, *args)
        assert rolled == rows, args


async def test_a_fund_back_in_another_currency_has_no_native_figures_under_that_manager(
    gql: Any, db: Any, conn: Any
) -> None:
    # Given: 03053 away from CSOP from 2025-10-02 to 2025-10-06, and reporting in USD from 2025-10-02 on,
    # so that each of its two parts under CSOP keeps one currency but the two parts do not share one.
    status = await conn.execute(
        """UPDATE etf_daily_stats SET currency = 'USD'
           WHERE trading_day >= $1 AND etf_id = (SELECT id FROM etfs WHERE code = '03053')""",
        CHANGE,
    )
    assert status.startswith("UPDATE ") and status != "UPDATE 0"
    await repo.refresh_rollups(conn, CHANGE)
    await _away_and_back(conn)

    # Then: natively, CSOP's row of the fund has no amount (HKD and USD days), as on the row path, and it
    # ranks after every fund with one.
    native = {**WINDOW, "groupBy": "ETF", "issuer": "csop", "currency": "NATIVE"}
    body = await gql(AGGREGATES, native)
    keys = [r["key"] for r in body["data"]["etfAggregates"]]
    assert body["data"]["etfAggregates"][keys.index(FUND)]["netCreationValue"] is None
    assert all(r["netCreationValue"] is None for r in body["data"]["etfAggregates"][keys.index(FUND) :])
    for metric, ascending in itertools.product(
        (repo.EtfMetric.NET_CREATION_VALUE, repo.EtfMetric.AUM_CHANGE, repo.EtfMetric.AUM_END), (False, True)
    ):
        args = (repo.Grouping.ETF, repo.EtfSelection(issuer_slug="csop"), date(2025, 9, 22),
                date(2025, 10, 10), None, metric, ascending, None)  # fmt: skip
        rows, rolled = await _both(db, *args)
        assert rolled == rows, args
