"""One money rule in every field: each recorded amount converted at its day's rate and rounded to the cent,
then added; so fields that answer the same question in the same currency agree to the cent.

Expected values come from the raw rows (plain SQL reads, Python arithmetic) where a field is checked on its
own; fields are compared with each other where the issue is that two of them disagreed.
"""

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

CURRENCIES = ("HKD", "CNY", "USD", "KRW")

TOP = """
query Top($from: Date!, $to: Date!, $currency: Currency!, $first: Int!) {
  topEtfsByNetCreation(from: $from, to: $to, currency: $currency, first: $first) {
    rank netCreationValue netCreationUnits tradingDays firstDay lastDay currency etf { code }
  }
}"""

AGGREGATES = """
query Aggregates($from: Date!, $to: Date!, $currency: ReportCurrency!, $issuer: String, $groupBy: EtfGrouping!) {
  etfAggregates(groupBy: $groupBy, from: $from, to: $to, currency: $currency, issuer: $issuer) {
    key netCreationValue netCreationUnits tradingDays firstDay lastDay currency etf { code }
  }
}"""

ETF_SERIES = """
query Series($from: Date!, $to: Date!, $currency: ReportCurrency!, $issuer: String) {
  etfSeries(issuer: $issuer, interval: MONTH, from: $from, to: $to, currency: $currency) {
    buckets { periodStart sum }
  }
}"""

FLOW_SERIES = """
query Flows($direction: ConnectDirection!, $interval: Interval!, $from: Date!, $to: Date!,
            $currency: ReportCurrency!) {
  flowSeries(direction: $direction, interval: $interval, from: $from, to: $to, currency: $currency) {
    buckets { periodStart firstDay lastDay sum runningTotal runningUnknownDays tradingDays daysWithValue }
  }
}"""

FLOW_TOTALS = """
query Totals($from: Date!, $to: Date!, $currency: ReportCurrency!) {
  connectFlowTotals(direction: SOUTHBOUND, from: $from, to: $to, currency: $currency) {
    direction channel netBuy totalTurnover
  }
}"""

CONNECT_FLOWS = """
query Daily($from: Date!, $to: Date!) {
  connectFlows(direction: NORTHBOUND, from: $from, to: $to) {
    tradingDay netBuy runningNetBuy runningUnknownDays
  }
}"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("currency", CURRENCIES)
async def test_the_two_rankings_agree_to_the_cent_for_every_fund(gql: Any, currency: str) -> None:
    # Given: the week of 2026-11-16, where rounding the window's total once and rounding each day apart
    # gave HK$0.01 apart for 513130, 02822 and 02846.
    window = {"from": "2026-11-16", "to": "2026-11-20", "currency": currency}

    # When
    top = (await gql(TOP, {**window, "first": 500}))["data"]["topEtfsByNetCreation"]
    aggregates = (await gql(AGGREGATES, {**window, "groupBy": "ETF"}))["data"]["etfAggregates"]

    # Then: the same funds with the same amounts, units, days and currency.
    ranked = {r["etf"]["code"]: r for r in top}
    grouped = {r["etf"]["code"]: r for r in aggregates}
    assert len(ranked) > 30 and set(ranked) == set(grouped)
    for code, r in ranked.items():
        g = grouped[code]
        fields = ("netCreationValue", "netCreationUnits", "tradingDays", "firstDay", "lastDay", "currency")
        assert {f: r[f] for f in fields} == {f: g[f] for f in fields}, code
    for code in ("XSHG:513130", "XHKG:02822", "XHKG:02846"):
        assert ranked[code]["netCreationValue"] == grouped[code]["netCreationValue"]


async def test_a_ranking_adds_each_days_converted_amount_rounded_to_the_cent(gql: Any, conn: Any) -> None:
    # Given: 513130 (a CNY fund) over the week, converted to HKD at each day's rate.
    rows = await conn.fetch(
        """SELECT s.trading_day, s.net_creation_value, (fx_rate(s.currency, 'HKD', s.trading_day)).rate
           FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '513130' AND s.trading_day BETWEEN '2026-11-16' AND '2026-11-20'"""
    )
    assert len(rows) == 5
    expected = sum(cents(r["net_creation_value"] * r["rate"]) for r in rows)

    # When
    top = await gql(TOP, {"from": "2026-11-16", "to": "2026-11-20", "currency": "HKD", "first": 500})

    # Then
    [fund] = [r for r in top["data"]["topEtfsByNetCreation"] if r["etf"]["code"] == "XSHG:513130"]
    assert Decimal(fund["netCreationValue"]) == expected


async def test_a_series_month_equals_the_groups_total_over_that_month(gql: Any) -> None:
    # Given: CSOP's funds (HKD and CNY ones) in USD over two whole months.
    window = {"from": "2025-09-01", "to": "2025-10-31", "currency": "USD", "issuer": "csop"}

    # When
    buckets = (await gql(ETF_SERIES, window))["data"]["etfSeries"]["buckets"]
    sums = []
    for month_from, month_to in (("2025-09-01", "2025-09-30"), ("2025-10-01", "2025-10-31")):
        body = await gql(AGGREGATES, {**window, "from": month_from, "to": month_to, "groupBy": "ISSUER"})
        sums.append(body["data"]["etfAggregates"][0]["netCreationValue"])

    # Then: a month of the series is the issuer's total over the month, to the cent.
    assert [b["sum"] for b in buckets] == sums


@pytest.mark.parametrize("currency", ["USD", "CNY", "KRW"])
async def test_a_flow_series_month_equals_the_connect_totals_of_that_month(gql: Any, currency: str) -> None:
    # Given: southbound flows (two channels a day) in a converted currency.
    window = {"from": "2025-03-01", "to": "2025-03-31", "currency": currency}

    # When
    series = await gql(FLOW_SERIES, {**window, "direction": "SOUTHBOUND", "interval": "MONTH"})
    totals = (await gql(FLOW_TOTALS, window))["data"]["connectFlowTotals"]

    # Then: each channel's day converted by itself, then added, in both fields.
    [month] = series["data"]["flowSeries"]["buckets"]
    [both] = [t for t in totals if t["direction"] == "SOUTHBOUND" and t["channel"] is None]
    assert month["sum"] == both["netBuy"] is not None


async def test_a_running_total_is_unknown_from_the_first_unknown_day_on(gql: Any, conn: Any) -> None:
    # Given: northbound net buying, published up to 2024-08-16 and unknown from 2024-08-19.
    window = {"from": "2024-08-12", "to": "2024-08-30"}
    published = await conn.fetch(
        """SELECT trading_day, sum(net_buy) AS net FROM connect_daily_flows
           WHERE direction = 'NORTHBOUND' AND trading_day BETWEEN '2024-08-12' AND '2024-08-16'
           GROUP BY trading_day ORDER BY trading_day"""
    )

    # When
    days = (await gql(CONNECT_FLOWS, window))["data"]["connectFlows"]
    series = await gql(
        FLOW_SERIES, {**window, "direction": "NORTHBOUND", "interval": "DAY", "currency": "NATIVE"}
    )

    # Then: the running total adds the published days, then is null, with the unknown days counted.
    running = Decimal(0)
    for day, row in zip(days, published, strict=False):
        running += row["net"]
        assert (day["tradingDay"], Decimal(day["runningNetBuy"]), day["runningUnknownDays"]) == (
            row["trading_day"].isoformat(), running, 0,
        )  # fmt: skip
    unknown = [d for d in days if d["tradingDay"] >= "2024-08-19"]
    assert unknown and all(d["netBuy"] is None and d["runningNetBuy"] is None for d in unknown)
    assert [d["runningUnknownDays"] for d in unknown] == list(range(1, len(unknown) + 1))
    # flowSeries answers the same running totals, day by day.
    buckets = series["data"]["flowSeries"]["buckets"]
    assert [(b["firstDay"], b["runningTotal"], b["runningUnknownDays"]) for b in buckets] == [
        (d["tradingDay"], d["runningNetBuy"], d["runningUnknownDays"]) for d in days
    ]


async def test_a_threshold_does_not_hide_unknown_days_from_the_running_total(gql: Any) -> None:
    # The running total is taken over every day of the window, before `netBuyAbove` keeps some of them.
    body = await gql(
        """{ connectFlows(direction: NORTHBOUND, from: "2024-08-01", to: "2024-12-31", netBuyAbove: "0") {
               tradingDay runningNetBuy runningUnknownDays } }"""
    )
    days = body["data"]["connectFlows"]
    assert days and all(d["tradingDay"] < "2024-08-19" for d in days)
    assert all(d["runningUnknownDays"] == 0 and d["runningNetBuy"] is not None for d in days)


async def test_the_month_of_a_series_adds_days_converted_one_by_one(gql: Any, conn: Any) -> None:
    # Given: each southbound channel's day in KRW at that day's rate, rounded to the won's cent.
    rows = await conn.fetch(
        """SELECT f.trading_day, f.net_buy, (fx_rate(f.currency, 'KRW', f.trading_day)).rate
           FROM connect_daily_flows f
           WHERE f.direction = 'SOUTHBOUND' AND f.trading_day BETWEEN '2025-04-01' AND '2025-04-30'"""
    )
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for r in rows:
        by_day[r["trading_day"]] += cents(r["net_buy"] * r["rate"])

    # When
    body = await gql(
        FLOW_SERIES,
        {
            "direction": "SOUTHBOUND",
            "interval": "DAY",
            "from": "2025-04-01",
            "to": "2025-04-30",
            "currency": "KRW",
        },
    )

    # Then
    buckets = body["data"]["flowSeries"]["buckets"]
    assert {date.fromisoformat(b["firstDay"]): Decimal(b["sum"]) for b in buckets} == dict(by_day)
