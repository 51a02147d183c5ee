"""SQL for ETF daily statistics: time series, AUM history in a reporting currency, creation rankings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from service.db.client import Database
from service.repositories.analytics import managed_totals
from service.repositories.base import numbered, to_rows

COLUMNS = """s.etf_id, s.trading_day, s.currency, s.nav_per_unit, s.close_price, s.shares_outstanding,
    s.aum, s.net_creation_units, s.net_creation_value, s.turnover, s.southbound_holding_units"""


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True, slots=True)
class DailyStatRow:
    etf_id: int
    trading_day: date
    currency: str
    nav_per_unit: Decimal
    close_price: Decimal | None
    shares_outstanding: Decimal
    aum: Decimal
    net_creation_units: Decimal
    net_creation_value: Decimal
    turnover: Decimal | None
    southbound_holding_units: Decimal | None


@dataclass(frozen=True, slots=True)
class AumPointRow:
    etf_id: int
    period_start: date
    trading_day: date
    native_currency: str
    native_aum: Decimal
    currency: str
    aum: Decimal | None
    fx_rate: Decimal | None
    fx_rate_date: date | None


@dataclass(frozen=True, slots=True)
class CreationRankRow:
    rank: int
    etf_id: int
    currency: str
    net_creation_value: Decimal
    net_creation_units: Decimal
    trading_days: int
    first_day: date
    last_day: date


async def daily(
    db: Database, etf_ids: Sequence[int], start: date | None, end: date | None, last: int | None
) -> list[DailyStatRow]:
    """Each ETF's rows in [start, end], only the latest ``last`` of them when given, oldest first."""
    records = await db.fetch(
        f"""SELECT {COLUMNS}
            FROM unnest($1::bigint[]) k (etf_id)
            CROSS JOIN LATERAL (
                SELECT * FROM etf_daily_stats x
                WHERE x.etf_id = k.etf_id
                  AND ($2::date IS NULL OR x.trading_day >= $2)
                  AND ($3::date IS NULL OR x.trading_day <= $3)
                ORDER BY x.trading_day DESC
                LIMIT $4
            ) s
            ORDER BY s.etf_id, s.trading_day""",
        etf_ids,
        start,
        end,
        last,
    )
    return to_rows(DailyStatRow, records)


async def aum_history(
    db: Database,
    etf_ids: Sequence[int],
    interval: Interval,
    currency: str | None,
    start: date | None,
    end: date | None,
) -> list[AumPointRow]:
    """The AUM on the last trading day of each period, converted at that day's rate (``currency``
    None keeps each fund's own currency)."""
    records = await db.fetch(
        """SELECT p.etf_id, p.period_start, p.trading_day, p.currency AS native_currency,
                  p.aum AS native_aum, coalesce($3::text, p.currency) AS currency,
                  fx.value AS aum, fx.rate AS fx_rate, fx.rate_day AS fx_rate_date
           FROM (
               SELECT DISTINCT ON (s.etf_id, date_trunc($2, s.trading_day))
                      s.etf_id, date_trunc($2, s.trading_day)::date AS period_start, s.trading_day,
                      s.currency, s.aum
               FROM etf_daily_stats s
               WHERE s.etf_id = ANY($1::bigint[])
                 AND ($4::date IS NULL OR s.trading_day >= $4)
                 AND ($5::date IS NULL OR s.trading_day <= $5)
               ORDER BY s.etf_id, date_trunc($2, s.trading_day), s.trading_day DESC
           ) p
           CROSS JOIN LATERAL money_convert(p.aum, p.currency, $3::char(3), p.trading_day) fx
           ORDER BY p.etf_id, p.period_start""",
        etf_ids,
        interval.value,
        currency,
        start,
        end,
    )
    return to_rows(AumPointRow, records)


async def trading_days_back(db: Database, market: str, end: date | None, count: int) -> date | None:
    """The first of the last ``count`` open days of ``market`` up to ``end`` (default: latest data)."""
    value: date | None = await db.fetchval(
        """SELECT min(day) FROM (
               SELECT day FROM trading_calendar
               WHERE market = $1 AND is_open
                 AND day <= coalesce($2::date, (SELECT max(trading_day) FROM etf_daily_stats))
               ORDER BY day DESC LIMIT $3) d""",
        market,
        end,
        count,
    )
    return value


# Each fund's net creations over [from, to]: its running totals (etf_day_totals, amounts in cents, each
# day converted and rounded to the cent) at ``to`` minus the day before ``from``, two rows read for all
# funds and zipped with their keys (``managed_totals``). A fund counts when it has a row in the window; its
# first day there is probed for the ranked ones only. With an issuer asked, a fund counts with the days
# that issuer managed it.
TOP_BY_NET_CREATION = (
    """WITH totals AS ("""
    + managed_totals(
        "{from}::date",
        "{to}::date",
        ("rows", "units", "ncv", "no_rate", "code", "issuer_slug", "index_code", "themes"),
        "{issuer}::text IS NOT NULL",
    )
    + """),
           ranked AS (
               SELECT t.etf_id, t.from_day, {currency}::text AS currency,
                      -- null when no day of the window had a rate (nothing to add), as a sum of nulls
                      CASE WHEN t.rows > t.no_rate THEN t.ncv * 0.01 END AS net_creation_value,
                      t.units AS net_creation_units, t.rows AS trading_days, t.last_day,
                      row_number() OVER (
                          ORDER BY CASE WHEN {ascending} AND t.rows > t.no_rate THEN t.ncv END ASC,
                                   CASE WHEN NOT {ascending} AND t.rows > t.no_rate THEN t.ncv END DESC,
                                   t.code)::int AS rank
               FROM totals t
               WHERE ({theme}::text IS NULL OR t.themes @> ARRAY[{theme}::text])
                 AND ({issuer}::text IS NULL OR t.issuer_slug = {issuer})
                 AND ({index}::text IS NULL OR t.index_code = {index})
               ORDER BY rank
               LIMIT {first})
           SELECT r.rank, r.etf_id, r.currency, r.net_creation_value, r.net_creation_units, r.trading_days,
                  (SELECT min(s.trading_day) FROM etf_daily_stats s
                   WHERE s.etf_id = r.etf_id AND s.trading_day >= r.from_day) AS first_day,
                  r.last_day
           FROM ranked r
           ORDER BY r.rank"""
)
TOP_BY_NET_CREATION_PARAMS = ("from", "to", "currency", "theme", "issuer", "index", "first", "ascending")


async def top_by_net_creation(
    db: Database,
    start: date,
    end: date,
    currency: str,
    theme: str | None,
    issuer_slug: str | None,
    index_code: str | None,
    limit: int,
    ascending: bool,
) -> list[CreationRankRow]:
    """ETFs ranked by net creation value over [start, end], converted to ``currency`` day by day.

    Read from the funds' running totals at ``end`` and before ``start`` (the rollup ``etf_day_totals``).
    """
    records = await db.fetch(
        numbered(TOP_BY_NET_CREATION, TOP_BY_NET_CREATION_PARAMS),
        start,
        end,
        currency,
        theme,
        issuer_slug,
        index_code,
        limit,
        ascending,
    )
    return to_rows(CreationRankRow, records)
