"""`Etf.aumHistory` from the month ends (``etf_month_ends``) answers what the fund's daily rows answer, and
loads, reloads and refreshes keep the month ends equal to the daily rows.

The reference is the statement before the rollup: the last daily row of each period in the window (DISTINCT
ON over every daily row), converted by the same money rule.
"""

from __future__ import annotations

import csv
import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.ingest.loader import load_file
from service.model.enums import CURRENCY
from service.repositories import analytics as repo

HISTORY = """
query ($code: String!, $interval: Interval!, $currency: Currency, $from: Date, $to: Date) {
  etf(code: $code) {
    aumHistory(interval: $interval, currency: $currency, from: $from, to: $to) {
      periodStart tradingDay currency aum nativeCurrency nativeAum fxRate fxRateDate
    }
  }
}"""

FROM_DAILY_ROWS = """
SELECT p.period_start, p.trading_day, coalesce($3::text, p.currency) AS currency, fx.value AS aum,
       p.currency AS native_currency, p.aum AS native_aum, fx.rate AS fx_rate, fx.rate_day AS fx_rate_date
FROM (SELECT DISTINCT ON (date_trunc($2, s.trading_day))
             date_trunc($2, s.trading_day)::date AS period_start, s.trading_day, s.currency, s.aum
      FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
      WHERE e.mic || ':' || e.code = $1
        AND ($4::date IS NULL OR s.trading_day >= $4) AND ($5::date IS NULL OR s.trading_day <= $5)
      ORDER BY date_trunc($2, s.trading_day), s.trading_day DESC) p
CROSS JOIN LATERAL money_convert(p.aum, p.currency, $3::char(3), p.trading_day) fx
ORDER BY p.period_start"""

# The month ends as the daily rows and rates give them, against the table: rows on one side only.
DISAGREEING = """
WITH ends AS (
    SELECT DISTINCT ON (s.etf_id, date_trunc('month', s.trading_day))
           s.etf_id, date_trunc('month', s.trading_day)::date AS month, s.trading_day, s.currency, s.aum
    FROM etf_daily_stats s
    ORDER BY s.etf_id, date_trunc('month', s.trading_day), s.trading_day DESC),
expected AS (
    SELECT e.*, hkd.*, cny.*, usd.*, krw.*
    FROM ends e
    LEFT JOIN LATERAL fx_rate_rows(e.currency, 'HKD', e.trading_day) hkd ON true
    LEFT JOIN LATERAL fx_rate_rows(e.currency, 'CNY', e.trading_day) cny ON true
    LEFT JOIN LATERAL fx_rate_rows(e.currency, 'USD', e.trading_day) usd ON true
    LEFT JOIN LATERAL fx_rate_rows(e.currency, 'KRW', e.trading_day) krw ON true)
SELECT count(*) FROM ((SELECT * FROM expected EXCEPT ALL SELECT * FROM etf_month_ends)
                      UNION ALL (SELECT * FROM etf_month_ends EXCEPT ALL SELECT * FROM expected)) d"""

WINDOWS = [
    (None, None),  # the whole history
    (date(2018, 11, 21), date(2026, 11, 20)),  # Q6's window
    (date(2025, 3, 15), date(2025, 9, 17)),  # both ends inside a month and a quarter
    (date(2025, 6, 30), date(2025, 7, 2)),  # across a month, quarter and half-year end
    (date(2025, 12, 31), date(2026, 1, 1)),  # a year's last day and a holiday
    (None, date(2024, 2, 29)),  # ending on a month's last day
    (date(2026, 11, 2), None),  # the latest month only
    (date(2025, 6, 7), date(2025, 6, 8)),  # a weekend: nothing
    (date(2030, 1, 1), None),  # after the data: nothing
]
FUNDS = ("XHKG:02800", "XHKG:03033", "XHKG:02822", "XHKG:02833")  # HKD, HKD, CNY, delisted in 2022


def _point(row: Any) -> dict[str, Any]:
    return {
        "periodStart": row["period_start"].isoformat(),
        "tradingDay": row["trading_day"].isoformat(),
        "currency": row["currency"],
        "aum": row["aum"],
        "nativeCurrency": row["native_currency"],
        "nativeAum": row["native_aum"],
        "fxRate": row["fx_rate"],
        "fxRateDate": row["fx_rate_date"] and row["fx_rate_date"].isoformat(),
    }


def _numbers(point: dict[str, Any]) -> dict[str, Any]:
    """A point of the answer with its amounts and rate as Decimals (compared by value, not by text)."""
    return {
        k: Decimal(v) if k in ("aum", "nativeAum", "fxRate") and v is not None else v
        for k, v in point.items()
    }


async def _agree(gql: Any, conn: Any, code: str, interval: str, currency: str | None, window: Any) -> int:
    start, end = window
    variables = {"code": code, "interval": interval, "currency": currency,
                 "from": start and start.isoformat(), "to": end and end.isoformat()}  # fmt: skip
    answer = await gql(HISTORY, variables)
    assert "errors" not in answer, answer
    points = [_numbers(p) for p in answer["data"]["etf"]["aumHistory"]]
    rows = await conn.fetch(FROM_DAILY_ROWS, code, interval.lower(), currency, start, end)
    assert points == [_point(r) for r in rows], (code, interval, currency, window)
    return len(points)


async def test_aum_history_equals_the_last_daily_row_of_each_period(gql: Any, conn: Any) -> None:
    points = 0
    for code, interval, currency, window in itertools.product(
        FUNDS, ("MONTH", "QUARTER", "YEAR", "WEEK"), ("USD", "HKD", None), WINDOWS
    ):
        points += await _agree(gql, conn, code, interval, currency, window)
    for currency, window in itertools.product(("KRW", "CNY"), WINDOWS[2:4]):
        points += await _agree(gql, conn, "XHKG:02800", "DAY", currency, window)
        points += await _agree(gql, conn, "XHKG:02800", "MONTH", currency, window)
    assert points > 4_000


async def test_the_month_ends_hold_a_rate_for_every_reporting_currency(conn: Any) -> None:
    columns = await conn.fetch(
        """SELECT column_name FROM information_schema.columns
           WHERE table_name = 'etf_month_ends' AND column_name LIKE '%\\_rate'"""
    )
    assert {c["column_name"] for c in columns} == {f"{v.name.lower()}_rate" for v in CURRENCY.values}


async def test_a_fund_switching_currency_and_restated_rates(gql: Any, conn: Any) -> None:
    # Given: a fund's figures restated in USD from the middle of a month on, the rollups refreshed.
    await conn.execute(
        """UPDATE etf_daily_stats SET currency = 'USD'
           WHERE trading_day >= '2025-10-15' AND etf_id = (SELECT id FROM etfs WHERE code = '03033')"""
    )
    await repo.refresh_rollups(conn, date(2025, 10, 15))

    # Then
    assert await conn.fetchval(DISAGREEING) == 0

    # When: USD rates restated from that day on (what a rates load refreshes the rollups for).
    await conn.execute(
        "UPDATE fx_rates SET rate = rate * 1.01 WHERE day >= '2025-10-15' AND base_currency = 'USD'"
    )
    await repo.refresh_rollups(conn, date(2025, 10, 15))

    # Then
    assert await conn.fetchval(DISAGREEING) == 0
    for interval, currency in itertools.product(("MONTH", "QUARTER"), ("HKD", None)):
        for window in ((date(2025, 9, 1), date(2025, 10, 20)), (None, None)):
            assert await _agree(gql, conn, "XHKG:03033", interval, currency, window) > 0


async def test_month_ends_follow_loads_reloads_and_refreshes(conn: Any, tmp_path: Path) -> None:
    # Given: the demo's month ends equal its daily rows.
    assert await conn.fetchval("SELECT count(*) FROM etf_month_ends") > 1_000
    assert await conn.fetchval(DISAGREEING) == 0
    row = await conn.fetchrow(
        """SELECT e.mic, e.code, s.* FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '02800' ORDER BY s.trading_day DESC LIMIT 1"""
    )
    path = tmp_path / "etf-daily.csv"

    def write(day: date, units: Decimal) -> None:
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["Date", "Exchange", "Stock Code", "Currency", "NAV per Unit", "Closing Price",
                             "Units Outstanding", "Fund Size", "Net Creation/Redemption Units",
                             "Net Creation/Redemption Value", "Turnover", "Southbound Holding Units"])  # fmt: skip
            writer.writerow([day.isoformat(), row["mic"], row["code"], row["currency"], row["nav_per_unit"],
                             row["close_price"], units, (row["nav_per_unit"] * units).quantize(Decimal("0.01")),
                             0, "0.00", "", ""])  # fmt: skip

    # When: a new day in a new month is loaded, then restated with other figures (a reload).
    write(date(2026, 12, 1), row["shares_outstanding"] + 1_000)
    assert (await load_file(conn, "etf-daily", path)).inserted == 1
    assert await conn.fetchval(DISAGREEING) == 0
    write(date(2026, 12, 1), row["shares_outstanding"] + 2_000)
    assert (await load_file(conn, "etf-daily", path)).updated == 1

    # Then
    assert await conn.fetchval(DISAGREEING) == 0
    restated = (row["nav_per_unit"] * (row["shares_outstanding"] + 2_000)).quantize(Decimal("0.01"))
    month_end = await conn.fetchval(
        "SELECT aum FROM etf_month_ends WHERE etf_id = $1 AND month = '2026-12-01'", row["etf_id"]
    )
    assert month_end == restated

    # When / then: a fund-day removed outside a load, then a full refresh; emptied with etf_day_totals.
    await conn.execute(
        "DELETE FROM etf_daily_stats WHERE etf_id = $1 AND trading_day >= '2026-12-01'", row["etf_id"]
    )
    await repo.refresh_rollups(conn, None)
    assert await conn.fetchval(DISAGREEING) == 0
    await conn.execute("TRUNCATE etf_day_totals, etf_daily_stats CASCADE")
    assert await conn.fetchval("SELECT count(*) FROM etf_month_ends") == 0
