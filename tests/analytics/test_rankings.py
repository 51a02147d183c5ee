"""ETF aggregates by every grouping, rankings with a deterministic tie-break, Connect totals by GROUPING SETS.

Expected values come from the raw rows: fund-days and rates read with plain SQL, added up in Python.
"""

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.repositories.analytics import refresh_rollups

CENT = Decimal("0.01")

AGGREGATES = """
query Ranks($groupBy: EtfGrouping!, $from: Date, $to: Date, $last: Int, $calendar: TradingCalendar! = HONG_KONG,
            $currency: ReportCurrency! = HKD, $orderBy: EtfMetric! = NET_CREATION_VALUE,
            $direction: SortDirection! = DESC, $top: Int, $issuer: String, $theme: String) {
  etfAggregates(groupBy: $groupBy, from: $from, to: $to, lastTradingDays: $last, calendar: $calendar,
                currency: $currency, orderBy: $orderBy, direction: $direction, top: $top, issuer: $issuer,
                theme: $theme) {
    rank key etfCount tradingDays firstDay lastDay currency
    netCreationValue creationValue redemptionValue netCreationUnits turnover aumStart aumEnd aumChange
    theme direction channel
    fx { fromCurrency toCurrency rate minRate maxRate daysOnEarlierRate }
    etf { code name issuer { shortName } }
    issuer { slug }
    index { code }
  }
}"""

TOTALS = """
query Totals($from: Date, $to: Date, $currency: ReportCurrency!) {
  connectFlowTotals(from: $from, to: $to, currency: $currency) {
    direction channel currency tradingDays buyTurnover sellTurnover totalTurnover netBuy etfTurnover
    fx { fromCurrency toCurrency minRate maxRate }
  }
}"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


async def hkd_rates(conn: Any) -> dict[tuple[str, date], Decimal]:
    rows = await conn.fetch("SELECT base_currency, day, rate FROM fx_rates WHERE quote_currency = 'HKD'")
    return {(r["base_currency"], r["day"]): r["rate"] for r in rows}


def hkd_rate(rates: dict[tuple[str, date], Decimal], currency: str, day: date) -> Decimal:
    """HKD per unit on ``day``: the latest published rate on or before it."""
    if currency == "HKD":
        return Decimal(1)
    return max(((d, r) for (c, d), r in rates.items() if c == currency and d <= day))[1]


async def test_issuer_aggregates_add_up_fund_days_converted_day_by_day(gql: Any, conn: Any) -> None:
    # Given: CSOP's funds (HKD and CNY ones) over a window across the end of September.
    rows = await conn.fetch(
        """SELECT s.etf_id, s.trading_day, s.currency, s.net_creation_value, s.net_creation_units,
                  s.turnover, s.aum
           FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id JOIN asset_managers m ON m.id = e.issuer_id
           WHERE m.slug = 'csop' AND s.trading_day BETWEEN '2025-09-22' AND '2025-10-10'
           ORDER BY s.etf_id, s.trading_day"""
    )
    assert {r["currency"] for r in rows} == {"HKD", "CNY"}
    rates = await hkd_rates(conn)
    ncv = creations = redemptions = turnover = Decimal(0)
    units = Decimal(0)
    first: dict[int, Decimal] = {}
    last: dict[int, Decimal] = {}
    for r in rows:
        rate = hkd_rate(rates, r["currency"], r["trading_day"])
        value = cents(r["net_creation_value"] * rate)
        ncv += value
        creations += max(value, Decimal(0))
        redemptions += max(-value, Decimal(0))
        units += r["net_creation_units"]
        turnover += cents(r["turnover"] * rate) if r["turnover"] is not None else 0
        first.setdefault(r["etf_id"], cents(r["aum"] * rate))
        last[r["etf_id"]] = cents(r["aum"] * rate)

    # When
    body = await gql(
        AGGREGATES, {"groupBy": "ISSUER", "from": "2025-09-22", "to": "2025-10-10", "issuer": "csop"}
    )

    # Then
    (csop,) = body["data"]["etfAggregates"]
    assert csop["key"] == "csop" and csop["issuer"] == {"slug": "csop"} and csop["etf"] is None
    assert csop["etfCount"] == len(first)
    assert csop["tradingDays"] == len({r["trading_day"] for r in rows})
    assert Decimal(csop["netCreationValue"]) == ncv
    assert Decimal(csop["creationValue"]) == creations
    assert Decimal(csop["redemptionValue"]) == redemptions
    assert Decimal(csop["netCreationUnits"]) == units
    assert Decimal(csop["turnover"]) == turnover
    assert Decimal(csop["aumStart"]) == sum(first.values())
    assert Decimal(csop["aumEnd"]) == sum(last.values())
    assert Decimal(csop["aumChange"]) == sum(last.values()) - sum(first.values())
    assert csop["currency"] == "HKD" and csop["fx"]["fromCurrency"] is None  # several native currencies
    # Hong Kong funds trade on Hong Kong days, which all have a published rate.
    assert csop["fx"]["daysOnEarlierRate"] == 0

    native = await gql(
        AGGREGATES,
        {
            "groupBy": "ISSUER",
            "from": "2025-09-22",
            "to": "2025-10-10",
            "issuer": "csop",
            "currency": "NATIVE",
        },
    )
    mixed = native["data"]["etfAggregates"][0]
    assert mixed["currency"] is None and mixed["netCreationValue"] is None  # HKD + CNY: no sum
    assert Decimal(mixed["netCreationUnits"]) == units


async def test_every_grouping_partitions_the_same_fund_days(gql: Any, conn: Any) -> None:
    window = {"from": "2026-10-26", "to": "2026-11-20", "currency": "USD"}
    by_etf = (await gql(AGGREGATES, {**window, "groupBy": "ETF"}))["data"]["etfAggregates"]
    total = sum(Decimal(r["netCreationValue"]) for r in by_etf)
    for grouping in ("ISSUER", "INDEX"):
        groups = (await gql(AGGREGATES, {**window, "groupBy": grouping}))["data"]["etfAggregates"]
        assert sum(Decimal(g["netCreationValue"]) for g in groups) == total
        assert sum(g["etfCount"] for g in groups) == len(by_etf)

    # A fund counts in every theme of its index.
    themes = (await gql(AGGREGATES, {**window, "groupBy": "THEME"}))["data"]["etfAggregates"]
    semis = next(t for t in themes if t["key"] == "semiconductor")
    semi_funds = (await gql(AGGREGATES, {**window, "groupBy": "ETF", "theme": "semiconductor"}))["data"][
        "etfAggregates"
    ]
    assert {f["etf"]["code"] for f in semi_funds} == {"XHKG:03431", "XHKG:03432"}
    assert Decimal(semis["netCreationValue"]) == sum(Decimal(f["netCreationValue"]) for f in semi_funds)
    assert semis["theme"] == "semiconductor"

    # A fund-day counts in a Connect direction when the fund is eligible there that day.
    eligible = await conn.fetch(
        """SELECT DISTINCT c.direction::text AS direction, s.etf_id FROM etf_daily_stats s
           JOIN connect_eligibility c ON c.etf_id = s.etf_id
            AND s.trading_day >= c.effective_from AND (c.effective_to IS NULL OR s.trading_day < c.effective_to)
           WHERE s.trading_day BETWEEN '2026-10-26' AND '2026-11-20'"""
    )
    directions = (await gql(AGGREGATES, {**window, "groupBy": "CONNECT_DIRECTION"}))["data"]["etfAggregates"]
    counts = defaultdict(int)
    for r in eligible:
        counts[r["direction"]] += 1
    assert {d["direction"]: d["etfCount"] for d in directions} == dict(counts)
    channels = (await gql(AGGREGATES, {**window, "groupBy": "CONNECT_CHANNEL"}))["data"]["etfAggregates"]
    assert {c["key"] for c in channels} == {
        "SOUTHBOUND/SHANGHAI", "SOUTHBOUND/SHENZHEN", "NORTHBOUND/SHANGHAI", "NORTHBOUND/SHENZHEN",
    }  # fmt: skip
    assert all(c["direction"] and c["channel"] for c in channels)


async def test_a_tie_in_a_ranking_is_broken_by_code(gql: Any, conn: Any) -> None:
    # Given: two funds with exactly the same, largest, net creations on one day (a tie made here).
    day = date(2026, 11, 20)
    await conn.execute(
        """UPDATE etf_daily_stats s SET net_creation_value = 9000000000
           FROM etfs e WHERE e.id = s.etf_id AND e.code IN ('03033', '02828') AND s.trading_day = $1""",
        day,
    )
    await refresh_rollups(conn, day)  # a write outside the loaders refreshes the rollup itself
    # When
    body = await gql(AGGREGATES, {"groupBy": "ETF", "from": "2026-11-20", "to": "2026-11-20", "top": 3})
    ascending = await gql(
        AGGREGATES,
        {"groupBy": "ETF", "from": "2026-11-20", "to": "2026-11-20", "top": 50, "direction": "ASC"},
    )
    # Then: the lower code first, both ways.
    ranks = body["data"]["etfAggregates"]
    assert [(r["rank"], r["etf"]["code"], r["netCreationValue"]) for r in ranks[:2]] == [
        (1, "XHKG:02828", "9000000000.00"),
        (2, "XHKG:03033", "9000000000.00"),
    ]
    assert ranks[2]["rank"] == 3 and Decimal(ranks[2]["netCreationValue"]) < 9_000_000_000
    bottom = ascending["data"]["etfAggregates"]
    tied = [r["etf"]["code"] for r in bottom if r["netCreationValue"] == "9000000000.00"]
    assert tied == ["XHKG:02828", "XHKG:03033"]


async def test_top_n_by_each_metric_over_the_last_connect_days(gql: Any, conn: Any) -> None:
    first_day = await conn.fetchval(
        """SELECT min(day) FROM (SELECT day FROM connect_days WHERE direction = 'SOUTHBOUND'
               AND day <= (SELECT max(trading_day) FROM etf_daily_stats) ORDER BY day DESC LIMIT 20) d"""
    )
    for metric, field in (
        ("NET_CREATION_VALUE", "netCreationValue"), ("CREATION_VALUE", "creationValue"),
        ("REDEMPTION_VALUE", "redemptionValue"), ("TURNOVER", "turnover"),
        ("AUM_CHANGE", "aumChange"), ("AUM_END", "aumEnd"),
    ):  # fmt: skip
        body = await gql(
            AGGREGATES,
            {"groupBy": "ETF", "last": 20, "calendar": "SOUTHBOUND_CONNECT", "orderBy": metric, "top": 5},
        )
        ranks = body["data"]["etfAggregates"]
        values = [Decimal(r[field]) for r in ranks]
        assert [r["rank"] for r in ranks] == [1, 2, 3, 4, 5]
        assert values == sorted(values, reverse=True), metric
        assert all(r["firstDay"] >= first_day.isoformat() and r["lastDay"] == "2026-11-20" for r in ranks)


async def test_rankings_run_one_statement(gql: Any, reference_gql: Any, db: Any) -> None:
    for run in (gql, reference_gql):  # the engine's path, and strawberry's
        await run(AGGREGATES, {"groupBy": "ETF", "last": 20, "calendar": "SOUTHBOUND_CONNECT", "top": 3})
        assert len(db.statements) == 1
        body = await run(
            AGGREGATES, {"groupBy": "ETF", "last": 20, "calendar": "SOUTHBOUND_CONNECT", "top": 30}
        )
        assert len(body["data"]["etfAggregates"]) > 3
        # one statement, the window counted inside it, the funds' details joined in
        assert len(db.statements) == 1


async def test_connect_totals_by_direction_and_channel_with_subtotals(gql: Any, conn: Any) -> None:
    raw = await conn.fetch(
        """SELECT direction::text AS direction, channel::text AS channel, sum(net_buy) AS net,
                  sum(total_turnover) AS turnover, count(*) AS days
           FROM connect_daily_flows WHERE trading_day BETWEEN '2024-07-29' AND '2024-08-09'
           GROUP BY 1, 2"""
    )
    body = await gql(TOTALS, {"from": "2024-07-29", "to": "2024-08-09", "currency": "NATIVE"})
    lines = {(t["direction"], t["channel"]): t for t in body["data"]["connectFlowTotals"]}
    assert len(lines) == 4 + 2 + 1
    for r in raw:
        line = lines[(r["direction"], r["channel"])]
        assert Decimal(line["totalTurnover"]) == r["turnover"] and line["tradingDays"] == r["days"]
        assert (Decimal(line["netBuy"]) if line["netBuy"] else None) == r["net"]
    south = lines[("SOUTHBOUND", None)]
    assert Decimal(south["netBuy"]) == sum(r["net"] for r in raw if r["direction"] == "SOUTHBOUND")
    assert south["currency"] == "HKD" and lines[("NORTHBOUND", None)]["currency"] == "CNY"
    overall = lines[(None, None)]
    assert overall["currency"] is None and overall["totalTurnover"] is None  # HKD + CNY in native: no sum

    in_hkd = await gql(TOTALS, {"from": "2024-07-29", "to": "2024-08-09", "currency": "HKD"})
    totals = {(t["direction"], t["channel"]): t for t in in_hkd["data"]["connectFlowTotals"]}
    assert Decimal(totals[(None, None)]["totalTurnover"]) == Decimal(
        totals[("SOUTHBOUND", None)]["totalTurnover"]
    ) + Decimal(totals[("NORTHBOUND", None)]["totalTurnover"])
    # Northbound buy/sell stop being published after 2024-08-19, so this window still has them.
    assert totals[("NORTHBOUND", None)]["netBuy"] is not None
