"""Trailing windows (issue 15, capability 3): per day, the sum and average of the latest N days of the
right calendar; unknown days follow the running-total rule; NAV per unit and YEAR buckets in series.

Expected values come from the raw tables (plain SQL reads and Python arithmetic).
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

TRAILING_FLOWS = """
query Rolling($direction: ConnectDirection!, $window: Int!, $from: Date, $to: Date, $last: Int,
              $currency: ReportCurrency!) {
  trailingFlows(direction: $direction, window: $window, from: $from, to: $to, lastTradingDays: $last,
                currency: $currency) {
    day value windowFrom windowSize windowDays knownDays unknownDays currency sum avg
    fx { minRate maxRate daysWithoutRate }
  }
}"""

TRAILING_ETF = """
query Fund($etf: String, $theme: String, $measure: EtfMeasure!, $window: Int!, $from: Date, $to: Date,
           $last: Int, $calendar: TradingCalendar, $currency: ReportCurrency!) {
  trailingEtfFigures(etf: $etf, theme: $theme, measure: $measure, window: $window, from: $from, to: $to,
                     lastTradingDays: $last, calendar: $calendar, currency: $currency) {
    day value windowFrom windowDays knownDays unknownDays currency sum avg
  }
}"""

SERIES = """
query Series($etf: String, $measure: EtfMeasure!, $interval: Interval!, $from: Date, $to: Date,
             $calendar: TradingCalendar!, $currency: ReportCurrency!) {
  etfSeries(etf: $etf, measure: $measure, interval: $interval, from: $from, to: $to, calendar: $calendar,
            currency: $currency) {
    buckets { periodStart periodEnd tradingDays daysWithValue first last avg min max }
  }
}"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


async def connect_days(conn: Any, direction: str, end: str) -> list[date]:
    rows = await conn.fetch(
        "SELECT day FROM connect_days WHERE direction = $1 AND day <= $2::date ORDER BY day",
        direction,
        date.fromisoformat(end),
    )
    return [r["day"] for r in rows]


async def southbound_net(conn: Any) -> dict[date, Decimal]:
    rows = await conn.fetch(
        """SELECT trading_day, sum(net_buy) AS net FROM connect_daily_flows
           WHERE direction = 'SOUTHBOUND' GROUP BY trading_day"""
    )
    return {r["trading_day"]: r["net"] for r in rows}


async def test_the_20_connect_day_rolling_southbound_net_buying(gql: Any, conn: Any, db: Any) -> None:
    # given the southbound Connect days and each day's net buying, both channels added
    days = await connect_days(conn, "SOUTHBOUND", "2026-11-20")
    net = await southbound_net(conn)

    # when the 20-day rolling sum is asked for the last 30 Connect days
    body = await gql(TRAILING_FLOWS, {"direction": "SOUTHBOUND", "window": 20, "last": 30, "to": "2026-11-20",
                                      "currency": "HKD"})  # fmt: skip

    # then each day's window is that day and the 19 Connect days before it, reaching back before the first
    # day shown; the sum is exact and the average is the sum / 20 to the cent; one statement
    assert len(db.statements) == 1
    rows = body["data"]["trailingFlows"]
    assert [r["day"] for r in rows] == [d.isoformat() for d in days[-30:]]
    for row in rows:
        at = days.index(date.fromisoformat(row["day"]))
        window = days[at - 19 : at + 1]
        expected = sum(net[d] for d in window)
        assert row["windowFrom"] == window[0].isoformat()
        assert (row["windowSize"], row["windowDays"], row["knownDays"], row["unknownDays"]) == (20, 20, 20, 0)
        assert Decimal(row["value"]) == net[window[-1]]
        assert Decimal(row["sum"]) == expected
        assert Decimal(row["avg"]) == cents(expected / 20)
        assert row["currency"] == "HKD"
    # the demo's answer on the last day
    assert rows[-1] == {
        "day": "2026-11-20", "value": "7145084058.43", "windowFrom": "2026-10-26", "windowSize": 20,
        "windowDays": 20, "knownDays": 20, "unknownDays": 0, "currency": "HKD", "sum": "78085945983.98",
        "avg": "3904297299.20", "fx": {"minRate": "1", "maxRate": "1", "daysWithoutRate": 0},
    }  # fmt: skip


async def test_a_converted_window_adds_each_channel_day_at_its_own_rate(gql: Any, conn: Any) -> None:
    body = await gql(TRAILING_FLOWS, {"direction": "SOUTHBOUND", "window": 5, "from": "2025-03-03",
                                      "to": "2025-03-07", "currency": "USD"})  # fmt: skip
    rows = body["data"]["trailingFlows"]
    channel_days = await conn.fetch(
        """SELECT f.trading_day, f.net_buy, (fx_rate(f.currency, 'USD', f.trading_day)).rate
           FROM connect_daily_flows f
           WHERE f.direction = 'SOUTHBOUND' AND f.trading_day BETWEEN '2025-02-24' AND '2025-03-07'"""
    )
    usd: dict[date, Decimal] = {}
    for r in channel_days:
        usd[r["trading_day"]] = usd.get(r["trading_day"], Decimal(0)) + cents(r["net_buy"] * r["rate"])
    days = await connect_days(conn, "SOUTHBOUND", "2025-03-07")
    for row in rows:
        at = days.index(date.fromisoformat(row["day"]))
        assert Decimal(row["sum"]) == sum(usd[d] for d in days[at - 4 : at + 1])
        assert Decimal(row["value"]) == usd[days[at]]
        assert row["currency"] == "USD" and row["fx"]["minRate"] != row["fx"]["maxRate"]


async def test_a_window_holding_an_unknown_day_has_no_sum_and_says_how_many_were_known(gql: Any) -> None:
    # Northbound net buying is unpublished from 2024-08-19 on.
    body = await gql(TRAILING_FLOWS, {"direction": "NORTHBOUND", "window": 5, "from": "2024-08-15",
                                      "to": "2024-08-21", "currency": "CNY"})  # fmt: skip
    rows = body["data"]["trailingFlows"]
    assert [
        (r["day"], r["knownDays"], r["unknownDays"], r["sum"] is None, r["avg"] is None) for r in rows
    ] == [
        ("2024-08-15", 5, 0, False, False),
        ("2024-08-16", 5, 0, False, False),
        ("2024-08-19", 4, 1, True, True),
        ("2024-08-20", 3, 2, True, True),
        ("2024-08-21", 2, 3, True, True),
    ]
    assert rows[2]["value"] is None


async def test_a_window_reaching_before_the_calendar_counts_the_missing_days_as_unknown(gql: Any) -> None:
    # The demo's calendars start on 2024-01-02.
    body = await gql(TRAILING_FLOWS, {"direction": "SOUTHBOUND", "window": 20, "from": "2024-01-02",
                                      "to": "2024-01-04", "currency": "HKD"})  # fmt: skip
    rows = body["data"]["trailingFlows"]
    assert [(r["windowFrom"], r["windowDays"], r["knownDays"], r["unknownDays"], r["sum"]) for r in rows] == [
        ("2024-01-02", 1, 1, 19, None),
        ("2024-01-02", 2, 2, 18, None),
        ("2024-01-02", 3, 3, 17, None),
    ]


async def test_a_funds_trailing_aum_counts_its_own_exchanges_trading_days(gql: Any, conn: Any) -> None:
    # a Hong Kong fund counts Hong Kong days
    body = await gql(TRAILING_ETF, {"etf": "XHKG:02800", "measure": "AUM", "window": 10, "last": 3,
                                    "to": "2026-11-20", "currency": "HKD"})  # fmt: skip
    aum = await conn.fetch(
        """SELECT s.trading_day, s.aum FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '02800' AND s.trading_day <= '2026-11-20' ORDER BY 1 DESC LIMIT 12"""
    )
    by_day = {r["trading_day"]: r["aum"] for r in aum}
    days = sorted(by_day)
    rows = body["data"]["trailingEtfFigures"]
    assert [r["day"] for r in rows] == [d.isoformat() for d in days[-3:]]
    for row, end in zip(rows, (len(days) - 3, len(days) - 2, len(days) - 1), strict=True):
        window = days[end - 9 : end + 1]
        assert row["windowFrom"] == window[0].isoformat() and row["knownDays"] == 10
        assert Decimal(row["sum"]) == sum(by_day[d] for d in window)
        assert Decimal(row["avg"]) == cents(sum(by_day[d] for d in window) / 10)

    # a Shanghai fund counts mainland days: its window never holds a mainland holiday
    mainland = await gql(TRAILING_ETF, {"etf": "XSHG:510300", "measure": "AUM", "window": 5,
                                        "from": "2025-10-09", "to": "2025-10-09", "currency": "NATIVE"})  # fmt: skip
    (row,) = mainland["data"]["trailingEtfFigures"]
    assert row["windowFrom"] == "2025-09-25"  # Golden Week: 1-8 October closed (Hong Kong was open)
    assert row["knownDays"] == 5 and row["currency"] == "CNY"


async def test_nav_per_unit_natively_keeps_its_places_and_converts_by_the_money_rule(
    gql: Any, conn: Any
) -> None:
    nav = await conn.fetch(
        """SELECT s.trading_day, s.nav_per_unit, (fx_rate(s.currency, 'HKD', s.trading_day)).rate
           FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '510300' AND s.trading_day BETWEEN '2025-01-01' AND '2025-12-31' ORDER BY 1"""
    )
    values = [r["nav_per_unit"] for r in nav]

    body = await gql(SERIES, {"etf": "XSHG:510300", "measure": "NAV_PER_UNIT", "interval": "YEAR",
                              "from": "2025-01-01", "to": "2025-12-31", "calendar": "MAINLAND",
                              "currency": "NATIVE"})  # fmt: skip
    (year,) = body["data"]["etfSeries"]["buckets"]
    assert (year["periodStart"], year["periodEnd"]) == ("2025-01-01", "2025-12-31")
    assert year["daysWithValue"] == len(values)
    assert Decimal(year["first"]) == values[0] and Decimal(year["last"]) == values[-1]
    assert Decimal(year["avg"]) == (sum(values) / len(values)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    assert (Decimal(year["min"]), Decimal(year["max"])) == (min(values), max(values))

    hkd = await gql(SERIES, {"etf": "XSHG:510300", "measure": "NAV_PER_UNIT", "interval": "MONTH",
                             "from": "2025-01-01", "to": "2025-01-31", "calendar": "MAINLAND",
                             "currency": "HKD"})  # fmt: skip
    (january,) = hkd["data"]["etfSeries"]["buckets"]
    in_hkd = [cents(r["nav_per_unit"] * r["rate"]) for r in nav if r["trading_day"].month == 1]
    assert Decimal(january["first"]) == in_hkd[0] and Decimal(january["last"]) == in_hkd[-1]
    assert Decimal(january["avg"]) == cents(sum(in_hkd) / len(in_hkd))


async def test_year_buckets_of_southbound_flows_match_the_published_totals(gql: Any) -> None:
    body = await gql(
        '{ flowSeries(direction: SOUTHBOUND, interval: YEAR, from: "2024-01-01", to: "2025-12-31") {'
        " buckets { periodStart periodEnd tradingDays sum runningTotal } } }"
    )
    buckets = body["data"]["flowSeries"]["buckets"]
    assert [(b["periodStart"], b["periodEnd"]) for b in buckets] == [
        ("2024-01-01", "2024-12-31"),
        ("2025-01-01", "2025-12-31"),
    ]
    # HK$807.9bn in 2024 and HK$1,404.8bn in 2025 (domain notes), to the demo's cents
    assert [cents(Decimal(b["sum"]) / 10**8) / 1000 for b in buckets] == [Decimal("8.079"), Decimal("14.048")]


async def test_nav_per_unit_needs_one_fund_and_windows_are_bounded(gql: Any) -> None:
    body = await gql(TRAILING_ETF, {"theme": "technology", "measure": "NAV_PER_UNIT", "window": 5, "last": 5,
                                    "currency": "HKD"})  # fmt: skip
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "measure"
    for window in (0, 2_501):
        body = await gql(TRAILING_FLOWS, {"direction": "SOUTHBOUND", "window": window, "last": 5,
                                          "currency": "HKD"})  # fmt: skip
        assert body["errors"][0]["extensions"]["argument"] == "window"
    missing = await gql(TRAILING_ETF, {"etf": "XHKG:99999", "measure": "AUM", "window": 5, "last": 5,
                                       "currency": "HKD"})  # fmt: skip
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_themes_trailing_figures_read_the_rollup_in_one_statement(
    gql: Any, reference_gql: Any, db: Any, conn: Any
) -> None:
    variables = {"theme": "technology", "measure": "NET_CREATION_VALUE", "window": 20, "last": 60,
                 "to": "2026-11-20", "currency": "USD"}  # fmt: skip
    answers = []
    for run in (gql, reference_gql):
        answers.append(await run(TRAILING_ETF, variables))
        assert len(db.statements) == 1
    assert answers[0] == answers[1]
    rows = answers[0]["data"]["trailingEtfFigures"]
    assert all(r["knownDays"] == 20 and r["sum"] is not None for r in rows)
    # the 60 Hong Kong days, and a day with figures the calendar has closed (a mainland fund's) as a series has
    open_days = {
        r["day"].isoformat()
        for r in await conn.fetch(
            "SELECT day FROM trading_calendar WHERE market = 'XHKG' AND is_open AND day BETWEEN $1 AND $2",
            date.fromisoformat(rows[0]["day"]),
            date(2026, 11, 20),
        )
    }
    assert len(open_days) == 60 and open_days <= {r["day"] for r in rows}
    assert len(rows) - 60 == 1
