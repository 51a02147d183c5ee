"""Flow and ETF series: buckets across a month boundary, holidays absent, explicit gaps, FX per day.

Expected values are computed here from the raw rows (plain SQL reads and Python arithmetic), never by
running the repository's statements again.
"""

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

FLOW_SERIES = """
query Flows($interval: Interval!, $from: Date, $to: Date, $last: Int, $currency: ReportCurrency!,
            $above: Decimal, $direction: ConnectDirection! = SOUTHBOUND) {
  flowSeries(direction: $direction, interval: $interval, from: $from, to: $to, lastTradingDays: $last,
             currency: $currency, sumAbove: $above) {
    windowFrom windowTo
    buckets {
      periodStart periodEnd firstDay lastDay tradingDays daysWithValue currency
      sum avg min max first last runningTotal
      fx { fromCurrency toCurrency rate rateDate minRate maxRate daysOnEarlierRate daysWithoutRate }
    }
  }
}"""

ETF_SERIES = """
query Etf($etf: String, $issuer: String, $measure: EtfMeasure!, $interval: Interval!, $from: Date,
          $to: Date, $calendar: TradingCalendar!, $currency: ReportCurrency!) {
  etfSeries(etf: $etf, issuer: $issuer, measure: $measure, interval: $interval, from: $from, to: $to,
            calendar: $calendar, currency: $currency) {
    buckets { periodStart firstDay lastDay tradingDays daysWithValue currency sum last
              fx { rate rateDate daysOnEarlierRate } }
  }
}"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


async def southbound_net_by_day(conn: Any, start: str, end: str) -> dict[date, Decimal]:
    rows = await conn.fetch(
        """SELECT trading_day, net_buy FROM connect_daily_flows
           WHERE direction = 'SOUTHBOUND' AND trading_day BETWEEN $1::date AND $2::date""",
        date.fromisoformat(start),
        date.fromisoformat(end),
    )
    days: dict[date, Decimal] = defaultdict(Decimal)
    for r in rows:
        days[r["trading_day"]] += r["net_buy"]
    return dict(sorted(days.items()))


async def test_monthly_buckets_split_at_the_month_boundary_with_every_aggregate(gql: Any, conn: Any) -> None:
    days = await southbound_net_by_day(conn, "2025-01-20", "2025-02-10")
    body = await gql(
        FLOW_SERIES, {"interval": "MONTH", "from": "2025-01-20", "to": "2025-02-10", "currency": "HKD"}
    )
    buckets = body["data"]["flowSeries"]["buckets"]
    assert [b["periodStart"] for b in buckets] == ["2025-01-01", "2025-02-01"]
    assert [b["periodEnd"] for b in buckets] == ["2025-01-31", "2025-02-28"]

    running = Decimal(0)
    for bucket, month in zip(buckets, (1, 2), strict=True):
        values = [v for d, v in days.items() if d.month == month]
        running += sum(values)
        assert bucket["tradingDays"] == bucket["daysWithValue"] == len(values)
        assert Decimal(bucket["sum"]) == sum(values)
        assert Decimal(bucket["avg"]) == cents(sum(values) / len(values))
        assert Decimal(bucket["min"]) == min(values)
        assert Decimal(bucket["max"]) == max(values)
        assert Decimal(bucket["first"]) == values[0]
        assert Decimal(bucket["last"]) == values[-1]
        assert Decimal(bucket["runningTotal"]) == running
        assert bucket["currency"] == "HKD"
        assert bucket["fx"] == {
            "fromCurrency": "HKD", "toCurrency": "HKD", "rate": "1", "rateDate": None,
            "minRate": "1", "maxRate": "1", "daysOnEarlierRate": 0, "daysWithoutRate": 0,
        }  # fmt: skip
    # Lunar New Year: HK closed 29-31 Jan, the mainland until 4 Feb, so the buckets stop and resume there.
    assert (buckets[0]["firstDay"], buckets[0]["lastDay"]) == ("2025-01-20", "2025-01-27")
    assert (buckets[1]["firstDay"], buckets[1]["lastDay"]) == ("2025-02-05", "2025-02-10")
    assert buckets[0]["tradingDays"] == 6 and buckets[1]["tradingDays"] == 4


async def test_daily_series_leaves_out_days_closed_on_either_side(gql: Any) -> None:
    body = await gql(
        FLOW_SERIES, {"interval": "DAY", "from": "2025-01-24", "to": "2025-02-06", "currency": "HKD"}
    )
    days = [b["firstDay"] for b in body["data"]["flowSeries"]["buckets"]]
    # 28 Jan and 3-4 Feb: Hong Kong open, the mainland closed; 26 Jan: a mainland make-up working day.
    assert days == ["2025-01-24", "2025-01-27", "2025-02-05", "2025-02-06"]


async def test_last_trading_days_count_southbound_connect_days(gql: Any, conn: Any) -> None:
    expected = await conn.fetch(
        """SELECT h.day FROM trading_calendar h JOIN trading_calendar s ON s.day = h.day AND s.market = 'XSHG'
           LEFT JOIN connect_calendar_exceptions x ON x.day = h.day AND x.direction = 'SOUTHBOUND'
           WHERE h.market = 'XHKG' AND h.is_open AND s.is_open AND x.day IS NULL AND h.day <= '2025-02-10'
           ORDER BY h.day DESC LIMIT 20"""
    )
    body = await gql(FLOW_SERIES, {"interval": "DAY", "to": "2025-02-10", "last": 20, "currency": "HKD"})
    series = body["data"]["flowSeries"]
    assert [b["firstDay"] for b in series["buckets"]] == sorted(r["day"].isoformat() for r in expected)
    assert (series["windowFrom"], series["windowTo"]) == (expected[-1]["day"].isoformat(), "2025-02-10")
    assert len(body["data"]["flowSeries"]["buckets"]) == 20


async def test_an_open_day_without_figures_is_an_explicit_gap(gql: Any, conn: Any) -> None:
    await conn.execute(
        "DELETE FROM connect_daily_flows WHERE direction = 'SOUTHBOUND' AND trading_day = '2025-03-05'"
    )
    daily = await gql(
        FLOW_SERIES, {"interval": "DAY", "from": "2025-03-04", "to": "2025-03-06", "currency": "HKD"}
    )
    gap = daily["data"]["flowSeries"]["buckets"][1]
    assert (gap["firstDay"], gap["tradingDays"], gap["daysWithValue"], gap["sum"]) == (
        "2025-03-05",
        1,
        0,
        None,
    )

    monthly = await gql(
        FLOW_SERIES, {"interval": "MONTH", "from": "2025-02-01", "to": "2025-04-30", "currency": "HKD"}
    )
    february, march, april = monthly["data"]["flowSeries"]["buckets"]
    assert march["daysWithValue"] == march["tradingDays"] - 1
    assert march["sum"] is None and march["avg"] is not None
    assert february["runningTotal"] is not None
    assert march["runningTotal"] is None and april["runningTotal"] is None


async def test_amounts_are_converted_at_each_days_rate(gql: Any, conn: Any) -> None:
    days = await southbound_net_by_day(conn, "2025-04-07", "2025-04-11")
    rates = {
        r["day"]: r["rate"]
        for r in await conn.fetch(
            """SELECT day, rate FROM fx_rates WHERE base_currency = 'USD' AND quote_currency = 'HKD'
               AND day BETWEEN '2025-04-07' AND '2025-04-11'"""
        )
    }
    body = await gql(
        FLOW_SERIES, {"interval": "DAY", "from": "2025-04-07", "to": "2025-04-11", "currency": "USD"}
    )
    buckets = body["data"]["flowSeries"]["buckets"]
    assert len(buckets) == len(days) == 5
    for bucket, (day, hkd) in zip(buckets, days.items(), strict=True):
        rate = (Decimal(1) / rates[day]).quantize(Decimal("1E-10"), rounding=ROUND_HALF_UP)
        assert bucket["fx"]["rate"] == str(rate) and bucket["fx"]["rateDate"] == day.isoformat()
        assert Decimal(bucket["sum"]) == cents(hkd * rate)
        assert bucket["currency"] == "USD" and bucket["fx"]["fromCurrency"] == "HKD"

    weekly = await gql(
        FLOW_SERIES, {"interval": "WEEK", "from": "2025-04-07", "to": "2025-04-11", "currency": "USD"}
    )
    (week,) = weekly["data"]["flowSeries"]["buckets"]
    assert Decimal(week["sum"]) == sum(Decimal(b["sum"]) for b in buckets)  # a week is its days, to the cent
    assert week["fx"]["rate"] is None and week["fx"]["minRate"] == str(
        min(Decimal(b["fx"]["rate"]) for b in buckets)
    )


async def test_a_day_without_a_rate_uses_the_latest_earlier_rate_and_says_so(gql: Any, conn: Any) -> None:
    # 510300 trades in Shanghai on Christmas Day, when Hong Kong (which publishes the rates) is closed.
    native = {
        r["trading_day"]: r["net_creation_value"]
        for r in await conn.fetch(
            """SELECT trading_day, net_creation_value FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
               WHERE e.code = '510300' AND trading_day BETWEEN '2024-12-23' AND '2024-12-27'"""
        )
    }
    christmas_eve_rate = await conn.fetchval(
        "SELECT rate FROM fx_rates WHERE base_currency = 'CNY' AND quote_currency = 'HKD' AND day = '2024-12-24'"
    )
    body = await gql(
        ETF_SERIES,
        {"etf": "XSHG:510300", "measure": "NET_CREATION_VALUE", "interval": "DAY", "from": "2024-12-23",
         "to": "2024-12-27", "calendar": "MAINLAND", "currency": "HKD"},
    )  # fmt: skip
    by_day = {b["firstDay"]: b for b in body["data"]["etfSeries"]["buckets"]}
    assert list(by_day) == ["2024-12-23", "2024-12-24", "2024-12-25", "2024-12-26", "2024-12-27"]
    christmas = by_day["2024-12-25"]
    assert christmas["fx"] == {
        "rate": str(christmas_eve_rate),
        "rateDate": "2024-12-24",
        "daysOnEarlierRate": 1,
    }
    assert Decimal(christmas["sum"]) == cents(native[date(2024, 12, 25)] * christmas_eve_rate)
    assert by_day["2024-12-27"]["fx"]["daysOnEarlierRate"] == 0


async def test_aum_series_reports_the_closing_level_of_each_quarter(gql: Any, conn: Any) -> None:
    closes = await conn.fetch(
        """SELECT DISTINCT ON (date_trunc('quarter', trading_day)) trading_day, aum
           FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '02800' AND trading_day BETWEEN '2025-01-01' AND '2025-12-31'
           ORDER BY date_trunc('quarter', trading_day), trading_day DESC"""
    )
    body = await gql(
        ETF_SERIES,
        {"etf": "XHKG:02800", "measure": "AUM", "interval": "QUARTER", "from": "2025-01-01",
         "to": "2025-12-31", "calendar": "HONG_KONG", "currency": "NATIVE"},
    )  # fmt: skip
    buckets = body["data"]["etfSeries"]["buckets"]
    assert [b["periodStart"] for b in buckets] == ["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"]
    assert [(b["lastDay"], Decimal(b["last"])) for b in buckets] == [
        (r["trading_day"].isoformat(), r["aum"]) for r in closes
    ]
    assert all(b["currency"] == "HKD" for b in buckets)


async def test_threshold_keeps_the_days_above_twenty_billion(gql: Any) -> None:
    body = await gql(
        FLOW_SERIES,
        {
            "interval": "DAY",
            "from": "2024-01-01",
            "to": "2026-11-20",
            "currency": "HKD",
            "above": "20000000000",
        },
    )
    assert [b["firstDay"] for b in body["data"]["flowSeries"]["buckets"]] == [
        "2025-01-21", "2025-02-21", "2025-03-11", "2025-04-09",
        "2025-08-01", "2025-09-23", "2025-10-20", "2025-12-24",
    ]  # fmt: skip


async def test_northbound_net_is_unknown_once_the_split_stops_being_published(gql: Any) -> None:
    body = await gql(
        FLOW_SERIES,
        {
            "direction": "NORTHBOUND",
            "interval": "MONTH",
            "from": "2024-07-01",
            "to": "2024-09-30",
            "currency": "NATIVE",
        },
    )
    july, august, september = body["data"]["flowSeries"]["buckets"]
    assert july["sum"] is not None and july["currency"] == "CNY"
    assert august["sum"] is None and 0 < august["daysWithValue"] < august["tradingDays"]
    assert september["daysWithValue"] == 0 and september["runningTotal"] is None


async def test_series_run_one_statement(gql: Any, reference_gql: Any, db: Any) -> None:
    counted = {"interval": "DAY", "last": 500, "currency": "USD"}
    for run in (gql, reference_gql):  # the engine's path, and strawberry's
        # one statement, the window counted inside it
        await run(
            FLOW_SERIES, {"interval": "MONTH", "from": "2024-01-01", "to": "2026-11-20", "currency": "USD"}
        )
        assert len(db.statements) == 1
        await run(FLOW_SERIES, counted)
        assert len(db.statements) == 1


async def test_from_and_last_trading_days_together_are_refused(gql: Any) -> None:
    body = await gql(FLOW_SERIES, {"interval": "DAY", "from": "2025-01-01", "last": 5, "currency": "HKD"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


CONNECT_RULE = """SELECT d.direction, h.day FROM trading_calendar h
    JOIN trading_calendar s ON s.market = 'XSHG' AND s.day = h.day
    CROSS JOIN (VALUES ('SOUTHBOUND'::connect_direction), ('NORTHBOUND'::connect_direction)) d (direction)
    LEFT JOIN connect_calendar_exceptions x ON x.direction = d.direction AND x.day = h.day
    WHERE h.market = 'XHKG' AND coalesce(x.is_connect_day, h.is_open AND s.is_open)"""


async def _connect_days_follow_the_rule(conn: Any) -> None:
    differing = await conn.fetchval(
        f"""SELECT count(*) FROM ((SELECT * FROM connect_days EXCEPT ({CONNECT_RULE}))
                                  UNION ALL (({CONNECT_RULE}) EXCEPT SELECT * FROM connect_days)) d"""
    )
    assert differing == 0


async def test_calendar_changes_move_the_connect_days_at_once(gql: Any, conn: Any) -> None:
    async def window_from(direction: str) -> str:
        body = await gql(
            FLOW_SERIES,
            {"interval": "DAY", "to": "2025-03-07", "last": 3, "currency": "HKD", "direction": direction},
        )
        return str(body["data"]["flowSeries"]["windowFrom"])

    # given the last three Connect days to Friday 7 March 2025: Wednesday to Friday
    assert await window_from("SOUTHBOUND") == "2025-03-05"
    # when the mainland closes on Thursday, that day is no Connect day in either direction
    await conn.execute(
        "UPDATE trading_calendar SET is_open = false WHERE market = 'XSHG' AND day = '2025-03-06'"
    )
    assert (await window_from("SOUTHBOUND"), await window_from("NORTHBOUND")) == ("2025-03-04", "2025-03-04")
    # when an exception closes southbound trading on Wednesday, only southbound counts back further
    await conn.execute(
        "INSERT INTO connect_calendar_exceptions VALUES ('SOUTHBOUND', '2025-03-05', false, 'typhoon signal 8')"
    )
    assert (await window_from("SOUTHBOUND"), await window_from("NORTHBOUND")) == ("2025-03-03", "2025-03-04")
    await _connect_days_follow_the_rule(conn)
    # when the exception is withdrawn, or every exception is, the rule alone decides again
    await conn.execute("DELETE FROM connect_calendar_exceptions WHERE day = '2025-03-05'")
    assert await window_from("SOUTHBOUND") == "2025-03-04"
    await conn.execute("TRUNCATE connect_calendar_exceptions")
    await _connect_days_follow_the_rule(conn)


async def test_a_window_after_the_latest_data_is_empty_not_the_whole_history(gql: Any) -> None:
    later = await gql(FLOW_SERIES, {"interval": "MONTH", "from": "2031-01-01", "currency": "HKD"})
    series = later["data"]["flowSeries"]
    assert (series["windowFrom"], series["windowTo"], series["buckets"]) == (None, None, [])
