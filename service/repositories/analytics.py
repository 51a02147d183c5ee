"""SQL for flow analytics: windows on a calendar, bucketed series, grouped aggregates and rankings,
index membership changes and look-through exposure, each in one statement with FX applied per day.

The money rule (migration 0008): every recorded amount (a fund's day, a Stock Connect channel's day) is
converted at the rate of its own day (``fx_rate_rows()``: the latest rate on or before the day, crossed
through HKD) and rounded to the cent (``money_at_rate``, or ``money_convert`` for one amount); totals add
those rounded amounts, so a month's sum is exactly the sum of its days and a group's the sum of its funds.
Rates are looked up once per (currency, day) in a materialised step (``rates``) or once per amount
(``money_convert``), never inside a join that the planner may rescan, so that a statement's cost does not
depend on table statistics. Each answer carries what was applied (``FX_USAGE``): the range of rates, the
range of their dates, how many days fell back to an earlier day's rate and how many had none.

Statements are assembled only from the fixed fragments in this module (whitelists keyed by enums);
values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from service.db.client import Connection, Database
from service.repositories.base import numbered, to_rows


class Calendar(StrEnum):
    """Which days count as trading days when a window is ``lastTradingDays: N``."""

    HONG_KONG = "XHKG"
    MAINLAND = "XSHG"
    SOUTHBOUND_CONNECT = "SOUTHBOUND"
    NORTHBOUND_CONNECT = "NORTHBOUND"


CALENDAR_DAYS = {
    Calendar.HONG_KONG: "SELECT day FROM trading_calendar WHERE market = 'XHKG' AND is_open",
    Calendar.MAINLAND: "SELECT day FROM trading_calendar WHERE market = 'XSHG' AND is_open",
    Calendar.SOUTHBOUND_CONNECT: "SELECT day FROM connect_days WHERE direction = 'SOUTHBOUND'",
    Calendar.NORTHBOUND_CONNECT: "SELECT day FROM connect_days WHERE direction = 'NORTHBOUND'",
}


class Source(StrEnum):
    """Whose latest day is the default end of a window."""

    SOUTHBOUND_FLOWS = "SOUTHBOUND"
    NORTHBOUND_FLOWS = "NORTHBOUND"
    ETF_STATS = "ETF_STATS"


LATEST_DAY = {
    Source.SOUTHBOUND_FLOWS: "SELECT max(trading_day) FROM connect_daily_flows "
    "WHERE direction = 'SOUTHBOUND'",
    Source.NORTHBOUND_FLOWS: "SELECT max(trading_day) FROM connect_daily_flows "
    "WHERE direction = 'NORTHBOUND'",
    Source.ETF_STATS: "SELECT max(trading_day) FROM etf_daily_stats",
}


class FlowMeasure(StrEnum):
    NET_BUY = "net_buy"
    BUY_TURNOVER = "buy_turnover"
    SELL_TURNOVER = "sell_turnover"
    TOTAL_TURNOVER = "total_turnover"
    ETF_TURNOVER = "etf_turnover"


class EtfMeasure(StrEnum):
    NET_CREATION_VALUE = "net_creation_value"
    TURNOVER = "turnover"
    AUM = "aum"
    NAV_PER_UNIT = "nav_per_unit"


class Grouping(StrEnum):
    ETF = "ETF"
    ISSUER = "ISSUER"
    INDEX = "INDEX"
    THEME = "THEME"
    CONNECT_DIRECTION = "CONNECT_DIRECTION"
    CONNECT_CHANNEL = "CONNECT_CHANNEL"


class EtfMetric(StrEnum):
    """What a ranking of ETF groups orders by (the column of ``GroupAggregateRow``)."""

    NET_CREATION_VALUE = "net_creation_value"
    CREATION_VALUE = "creation_value"
    REDEMPTION_VALUE = "redemption_value"
    TURNOVER = "turnover"
    AUM_CHANGE = "aum_change"
    AUM_END = "aum_end"


class MembershipChangeKind(StrEnum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    REWEIGHTED = "REWEIGHTED"


# What was applied, over rows carrying ``rate``, ``rate_day``, ``day`` and ``native`` (the amount before
# conversion): the rates and their dates, days on an earlier day's rate, days with an amount but no rate.
FX_USAGE = """min(rate) AS fx_min_rate, max(rate) AS fx_max_rate,
    min(rate_day) AS fx_first_rate_date, max(rate_day) AS fx_last_rate_date,
    count(DISTINCT day) FILTER (WHERE rate_day < day)::int AS fx_days_on_earlier_rate,
    count(DISTINCT day) FILTER (WHERE native IS NOT NULL AND rate IS NULL)::int AS fx_days_without_rate"""


def rates(rows: str) -> str:
    """``rates AS MATERIALIZED (currency, day, rate, rate_day)``: the rate into the reporting currency
    (``{currency}``; null reports natively, at rate 1) of each (currency, day) of the CTE ``rows``.

    Looked up once per (currency, day), however many amounts share it, and once only: materialised, the
    lookups cannot end up on the inner side of a nested loop that runs them again per outer row (what an
    unanalysed database's plans did). Amounts take ``money_at_rate(amount, rate)``.
    """
    return f"""rates AS MATERIALIZED (
               SELECT k.currency, k.day, fx.rate, fx.rate_day
               FROM (SELECT DISTINCT currency, day FROM {rows}) k
               LEFT JOIN LATERAL fx_rate_rows(k.currency, coalesce({{currency}}::text, k.currency)::char(3),
                                              k.day) fx ON true)"""


# The reporting currencies the rollups hold (besides each figure's own currency).
ROLLUP_CURRENCIES = ("HKD", "CNY", "USD", "KRW")
ROLLUP_GROUPINGS = (Grouping.ETF, Grouping.ISSUER, Grouping.INDEX, Grouping.THEME)


def _in_currency(column: str, native: str, row: str = "t") -> str:
    """Column ``{column}_hkd`` ... of the rollup row ``row`` in the reporting currency, ``native`` if none."""
    branches = " ".join(f"WHEN '{code}' THEN {row}.{column}_{code.lower()}" for code in ROLLUP_CURRENCIES)
    return f"CASE coalesce({{currency}}::text, 'NATIVE') {branches} WHEN 'NATIVE' THEN {native} END"


# --- windows -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowRow:
    first_day: date | None
    last_day: date | None
    trading_days: int


async def resolve_window(
    db: Database, calendar: Calendar, source: Source, start: date | None, end: date | None, count: int | None
) -> WindowRow:
    """The open days of ``calendar`` in [start, end], only the latest ``count`` of them when given.

    ``end`` defaults to the latest day with data in ``source``, so a window never runs into the future.
    """
    record = await db.fetchrow(
        f"""SELECT min(d.day) AS first_day, max(d.day) AS last_day, count(*)::int AS trading_days
            FROM ({CALENDAR_DAYS[calendar]}
                  AND day <= coalesce($1::date, ({LATEST_DAY[source]}))
                  AND ($2::date IS NULL OR day >= $2)
                  ORDER BY day DESC LIMIT $3) d""",
        end,
        start,
        count,
    )
    assert record is not None
    return WindowRow(record["first_day"], record["last_day"], record["trading_days"])


# --- series --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BucketRow:
    period_start: date
    period_end: date
    first_day: date
    last_day: date
    trading_days: int
    days_with_value: int
    native_currency: str | None
    currency: str | None
    sum: Decimal | None
    avg: Decimal | None
    min: Decimal | None
    max: Decimal | None
    first: Decimal | None
    last: Decimal | None
    running_total: Decimal | None
    running_unknown_days: int
    fx_min_rate: Decimal | None
    fx_max_rate: Decimal | None
    fx_first_rate_date: date | None
    fx_last_rate_date: date | None
    fx_days_on_earlier_rate: int
    fx_days_without_rate: int


# The bucketing half of a series. ``daily`` (from the statement's head) has one row per day and native
# currency: ``native`` (the day's figure, null when unknown), ``amount`` (its amounts converted each by the
# money rule and added; null when unknown or without a rate) and the ``rate``/``rate_day`` applied;
# ``cal`` the calendar's days in the window. A day is in the series when the calendar is open on it or when
# there are figures for it; a day without figures is a gap (null), a closed day without figures is absent.
# The days are one UNION ALL grouped by day, not a join, so no plan can rescan one side per row of the other.
SERIES_PER_DAY = """,
           per_day AS (
               SELECT v.day,
                      CASE WHEN count(v.currency) = 0 OR count(v.amount) < count(v.currency)
                                OR ({currency}::text IS NULL AND min(v.currency) <> max(v.currency)) THEN NULL
                           ELSE sum(v.amount) END AS value,
                      CASE WHEN min(v.currency) = max(v.currency) THEN min(v.currency) END AS native_currency,
                      min(v.rate) AS min_rate, max(v.rate) AS max_rate,
                      min(v.rate_day) AS min_rate_day, max(v.rate_day) AS max_rate_day,
                      bool_or(v.rate_day < v.day) AS on_earlier_rate,
                      bool_or(v.native IS NOT NULL AND v.rate IS NULL) AS without_rate
               FROM (SELECT c.day, NULL::bpchar AS currency, NULL::numeric AS native, NULL::numeric AS amount,
                            NULL::numeric AS rate, NULL::date AS rate_day
                     FROM cal c
                     UNION ALL
                     SELECT d.day, d.currency, d.native, d.amount, d.rate, d.rate_day FROM daily d) v
               GROUP BY v.day)"""
SERIES_BUCKETS = (
    SERIES_PER_DAY
    + """,
           days AS (
               -- Each day with its bucket and the bucket's first and last figures (one sort for all).
               SELECT p.*, date_trunc({interval}::text, p.day::timestamp)::date AS period_start,
                      first_value(p.value) OVER bucket AS first_value,
                      last_value(p.value) OVER bucket AS last_value
               FROM per_day p
               WINDOW bucket AS (PARTITION BY date_trunc({interval}::text, p.day::timestamp)::date
                                 ORDER BY p.day ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
           buckets AS (
               SELECT p.period_start,
                      min(p.day) AS first_day, max(p.day) AS last_day, count(*)::int AS trading_days,
                      count(p.value)::int AS days_with_value,
                      CASE WHEN min(p.native_currency) = max(p.native_currency)
                           THEN min(p.native_currency) END AS native_currency,
                      coalesce({currency}::text,
                               CASE WHEN min(p.native_currency) = max(p.native_currency)
                                         AND count(p.native_currency) = count(*)
                                    THEN min(p.native_currency) END) AS currency,
                      CASE WHEN count(p.value) = count(*) THEN sum(p.value) END AS sum,
                      -- to the places of the figures: the cent, a NAV per unit's 6 places as published
                      round(avg(p.value), greatest(2, max(scale(p.value)))) AS avg,
                      min(p.value) AS min, max(p.value) AS max,
                      min(p.first_value) AS first, min(p.last_value) AS last,
                      min(p.min_rate) AS fx_min_rate, max(p.max_rate) AS fx_max_rate,
                      min(p.min_rate_day) AS fx_first_rate_date, max(p.max_rate_day) AS fx_last_rate_date,
                      count(*) FILTER (WHERE p.on_earlier_rate)::int AS fx_days_on_earlier_rate,
                      count(*) FILTER (WHERE p.without_rate)::int AS fx_days_without_rate
               FROM days p
               GROUP BY p.period_start)"""
)

# The buckets (``{buckets}``: SERIES_BUCKETS' or more) with their running totals, those above {above} kept.
SERIES_RUNNING = """,
           running AS (
               SELECT b.*,
                      (b.period_start + CASE {interval}::text WHEN 'quarter' THEN interval '3 months'
                                         ELSE ('1 ' || {interval}::text)::interval END)::date - 1
                          AS period_end,
                      CASE WHEN count(b.sum) OVER w = count(*) OVER w THEN sum(b.sum) OVER w END
                          AS running_total,
                      (sum(b.trading_days - b.days_with_value) OVER w)::int AS running_unknown_days
               FROM {buckets} b
               WINDOW w AS (ORDER BY b.period_start ROWS UNBOUNDED PRECEDING))
           SELECT * FROM running r
           WHERE {above}::numeric IS NULL OR r.sum > {above}
           ORDER BY r.period_start"""
SERIES_TAIL = SERIES_BUCKETS + SERIES_RUNNING.replace("{buckets}", "buckets")

# Whether the window is counted on the direction's Connect days: ``lastTradingDays``, or ``from`` without
# ``to`` (up to the latest day with flows), as ``resolve_window`` counts it.
FLOW_WINDOW_COUNTED = "({last}::int IS NOT NULL OR ({from}::date IS NOT NULL AND {to}::date IS NULL))"

# The series' window [lo, hi]: counted on the calendar, else ``from``/``to`` or the flows' first/last day.
# An empty counted window (``from`` after the latest data) is [NULL, NULL]: a series without buckets.
FLOW_BOUNDS = f"""flow_days AS (
               SELECT min(trading_day) AS first_day, max(trading_day) AS last_day
               FROM connect_daily_flows WHERE direction = {{direction}}::connect_direction),
           counted AS (
               SELECT min(d.day) AS lo, max(d.day) AS hi
               FROM (SELECT c.day FROM connect_days c, flow_days l
                     WHERE {FLOW_WINDOW_COUNTED}
                       AND c.direction = {{direction}}::connect_direction
                       AND c.day <= coalesce({{to}}::date, l.last_day)
                       AND ({{from}}::date IS NULL OR c.day >= {{from}}::date)
                     ORDER BY c.day DESC LIMIT {{last}}::int) d),
           bounds AS (
               SELECT CASE WHEN {FLOW_WINDOW_COUNTED} THEN k.lo
                           ELSE coalesce({{from}}::date, l.first_day) END AS lo,
                      CASE WHEN {FLOW_WINDOW_COUNTED} THEN k.hi
                           ELSE coalesce({{to}}::date, l.last_day) END AS hi
               FROM flow_days l, counted k)"""

# The measure of a connect_flow_days row ``f``, natively and in the reporting currency.
FLOW_NATIVE = (
    "CASE {measure}::text "
    + " ".join(f"WHEN '{m.value}' THEN f.native_{m.value}" for m in FlowMeasure)
    + " END"
)
FLOW_AMOUNT = (
    "CASE {measure}::text " + " ".join(f"WHEN '{m.value}' THEN f.{m.value}" for m in FlowMeasure) + " END"
)
_BUCKET_COLUMNS = """period_start, first_day, last_day, trading_days, days_with_value, native_currency,
                      currency, sum, avg, min, max, first, last, fx_min_rate, fx_max_rate, fx_first_rate_date,
                      fx_last_rate_date, fx_days_on_earlier_rate, fx_days_without_rate"""

# The series over ``bounds`` (a CTE in scope: FLOW_BOUNDS), as the CTEs after ``WITH``. The window's whole
# weeks, months or quarters come pre-aggregated from ``connect_flow_buckets``; the days before and after
# them from ``connect_flow_days`` (each channel's day already converted by the money rule, the channels
# added; both must report for the day to have a figure), bucketed here as the rollup's were (0009).
FLOW_SERIES_BODY = (
    """whole AS (
               SELECT k.* FROM connect_flow_buckets k, bounds b
               WHERE {interval}::text <> 'day'
                 AND k.direction = {direction}::connect_direction
                 AND k.channel = coalesce({channel}::text, 'BOTH')
                 AND k.target = coalesce({currency}::text, 'NATIVE') AND k.measure = {measure}::text
                 AND k.interval = {interval}::text AND k.period_start >= b.lo AND k.period_end <= b.hi),
           covered AS (SELECT min(period_start) AS lo, max(period_end) AS hi FROM whole),
           edges AS (
               -- The window's days outside the whole buckets: before and after them (all without any),
               -- each range read by key (OFFSET 0 keeps it a probe per range whatever the statistics)
               -- instead of every day of the window read and most dropped.
               SELECT b.lo, coalesce(v.lo - 1, b.hi) AS hi FROM bounds b, covered v
               UNION ALL
               SELECT v.hi + 1, b.hi FROM bounds b, covered v WHERE v.hi IS NOT NULL),
           cal AS (
               SELECT c.day FROM edges e
               CROSS JOIN LATERAL (
                   SELECT c.day FROM connect_days c
                   WHERE c.direction = {direction}::connect_direction AND c.day BETWEEN e.lo AND e.hi
                   OFFSET 0) c),
           daily AS (
               SELECT f.trading_day AS day, f.currency, """
    + FLOW_NATIVE
    + """ AS native, """
    + FLOW_AMOUNT
    + """ AS amount,
                      f.rate, f.rate_day
               FROM edges e
               CROSS JOIN LATERAL (
                   SELECT * FROM connect_flow_days f
                   WHERE f.direction = {direction}::connect_direction
                     AND f.channel = coalesce({channel}::text, 'BOTH')
                     AND f.target = coalesce({currency}::text, 'NATIVE')
                     AND f.trading_day BETWEEN e.lo AND e.hi
                   OFFSET 0) f)"""
    + SERIES_BUCKETS
    + f""",
           all_buckets AS (
               SELECT {_BUCKET_COLUMNS} FROM buckets
               UNION ALL
               SELECT {_BUCKET_COLUMNS} FROM whole)"""
    + SERIES_RUNNING.replace("{buckets}", "all_buckets")
)
FLOW_SERIES = "WITH " + FLOW_BOUNDS + ",\n           " + FLOW_SERIES_BODY
FLOW_SERIES_PARAMS = (
    "direction", "channel", "measure", "from", "to", "interval", "currency", "above", "last",
)  # fmt: skip


async def flow_series(
    db: Database,
    direction: str,
    channel: str | None,
    measure: FlowMeasure,
    interval: str,
    start: date | None,
    end: date | None,
    currency: str | None,
    above: Decimal | None,
    last: int | None = None,
) -> list[BucketRow]:
    """Stock Connect flows of a direction per ``interval`` bucket over [start, end] (default: all data).

    ``currency`` None reports in the flows' own currency (HKD southbound, CNY northbound); ``above``
    keeps only the buckets whose sum exceeds it (after the running total is taken over all buckets).
    With ``last`` (or ``start`` without ``end``) the window is the latest ``last`` Connect days of the
    direction up to ``end`` (default: the latest day with flows), as ``resolve_window`` counts them.
    """
    records = await db.fetch(
        numbered(FLOW_SERIES, FLOW_SERIES_PARAMS),
        direction,
        channel,
        measure.value,
        start,
        end,
        interval,
        currency,
        above,
        last,
    )
    return to_rows(BucketRow, records)


# ETFs selected by the common filters: issuer slug, index code, theme, one fund's id. An issuer's funds
# are those it ever managed (``moved``: the fund's manager changed); a fund-day counts to the issuer that
# managed the fund that day (``MANAGED_THAT_DAY``, ``manager_of_the_day``).
FUNDS = """SELECT e.id, e.mic, e.code, e.issuer_id, e.index_id, m.slug AS issuer_slug,
                      i.code AS index_code, coalesce(i.themes, '{}') AS themes,
                      e.id IN (SELECT h.etf_id FROM etf_manager_changes h) AS moved
               FROM etfs e
               JOIN asset_managers m ON m.id = e.issuer_id
               LEFT JOIN indices i ON i.id = e.index_id
               WHERE ({etf}::bigint IS NULL OR e.id = {etf})
                 AND ({issuer}::text IS NULL OR m.slug = {issuer} OR e.id IN (
                          SELECT h.etf_id FROM etf_manager_changes h
                          JOIN asset_managers x ON x.id IN (h.from_manager_id, h.to_manager_id)
                          WHERE x.slug = {issuer}))
                 AND ({index}::text IS NULL OR i.code = {index})
                 AND ({theme}::text IS NULL OR i.themes @> ARRAY[{theme}::text])"""


def manager_of_the_day(fund: str, day: str) -> str:
    """SQL for the id of the manager running ``fund`` (a row of FUNDS) on ``day``: looked up
    (``etf_manager_on``, migration 0022) only for the funds whose manager changed."""
    return f"CASE WHEN {fund}.moved THEN etf_manager_on({fund}.id, {day}) ELSE {fund}.issuer_id END"


# Whether the fund-day of fund ``f`` on ``{day}`` is in the selection's issuer (any when none is asked).
MANAGED_THAT_DAY = f"""({{issuer}}::text IS NULL OR NOT f.moved
                      OR {manager_of_the_day("f", "{day}")} = (
                          SELECT x.id FROM asset_managers x WHERE x.slug = {{issuer}}))"""

# Whether the selection is a group the rollup ``etf_group_days`` holds: all funds, one issuer's, one
# index's or one theme's (not one fund, nor several filters at once).
_BY_GROUP = "({etf}::bigint IS NULL AND num_nonnulls({issuer}::text, {index}::text, {theme}::text) <= 1)"

# The daily figures of the selected funds: each fund-day converted by itself, then added (a fund without
# the figure adds nothing). ``{measure}`` is the column of etf_daily_stats.
_ETF_DAYS = (
    """rows AS MATERIALIZED (
               SELECT s.trading_day AS day, s.currency, s.{measure} AS native
               FROM etf_daily_stats s JOIN funds f ON f.id = s.etf_id
               WHERE {fund_days} AND s.trading_day BETWEEN {from} AND {to}
                 AND """
    + MANAGED_THAT_DAY.replace("{day}", "s.trading_day")
    + """),
           """
    + rates("rows")
    + """,
           fund_daily AS (
               SELECT r.day, r.currency, sum(r.native) AS native,
                      -- natively a figure is as published (a NAV per unit keeps its 6 places)
                      sum(CASE WHEN {currency}::text IS NULL THEN r.native
                               ELSE money_at_rate(r.native, x.rate) END) AS amount,
                      min(x.rate) AS rate,
                      min(x.rate_day) AS rate_day
               FROM rows r JOIN rates x ON x.currency = r.currency AND x.day = r.day
               GROUP BY r.day, r.currency)"""
)

# The same figures of a whole group from the rollup etf_group_days (migration 0009: per day, native
# currency and kind of group, each group's fund-days in cents, converted by the money rule, then added;
# arrays by group key), whose columns are named as the measures.
_GROUP_DAYS = (
    """groups AS (
               SELECT 'all'::text AS kind, ''::text AS key
               WHERE {issuer}::text IS NULL AND {index}::text IS NULL AND {theme}::text IS NULL
               UNION ALL
               SELECT 'issuer', m.id::text FROM asset_managers m WHERE m.slug = {issuer}
               UNION ALL
               SELECT 'index', i.id::text FROM indices i WHERE i.code = {index}
               UNION ALL
               SELECT 'theme', {theme}::text WHERE {theme}::text IS NOT NULL),
           group_daily AS (
               SELECT g.trading_day AS day, g.currency, sum(g.{measure}[k.at]) * 0.01 AS native,
                      sum(("""
    + _in_currency("{measure}", "g.{measure}", "g")
    + """)[k.at]) * 0.01 AS amount,
                      min("""
    + _in_currency("rate", "1::numeric", "g")
    + """) AS rate,
                      min("""
    + _in_currency("rate_day", "g.trading_day", "g")
    + """) AS rate_day
               FROM groups s
               JOIN etf_group_days g ON g.kind = s.kind AND g.trading_day BETWEEN {from} AND {to}
               CROSS JOIN LATERAL (SELECT array_position(g.keys, s.key) AS at) k
               WHERE {group_days} AND k.at IS NOT NULL
               GROUP BY g.trading_day, g.currency)"""
)

# The head of an ETF series: a whole group's days from the rollup, any other selection's from its
# fund-days (one of the two runs: the other's condition is false before a row is read).
_ETF_SERIES_HEAD = (
    """WITH funds AS ("""
    + FUNDS
    + """),
           cal AS (
               SELECT day FROM ({calendar_days}) c WHERE c.day BETWEEN {from} AND {to}),
           """
    + _ETF_DAYS
    + """,
           """
    + _GROUP_DAYS
    + """,
           daily AS (
               SELECT * FROM fund_daily UNION ALL SELECT * FROM group_daily)"""
)
ETF_SERIES_HEAD = _ETF_SERIES_HEAD.replace("{fund_days}", f"NOT {_BY_GROUP}").replace(
    "{group_days}", _BY_GROUP
)
# Always from the fund-days (the reference the rollup path is tested against).
ETF_SERIES_FUNDS_HEAD = _ETF_SERIES_HEAD.replace("{fund_days}", "true").replace("{group_days}", "false")
# A measure the rollup does not hold (NAV per unit, a level of one fund): from the fund-days alone.
ETF_SERIES_FUND_DAYS_HEAD = (
    """WITH funds AS ("""
    + FUNDS
    + """),
           cal AS (
               SELECT day FROM ({calendar_days}) c WHERE c.day BETWEEN {from} AND {to}),
           """
    + _ETF_DAYS.replace("{fund_days}", "true")
    + """,
           daily AS (SELECT * FROM fund_daily)"""
)
# The measures etf_group_days holds (its columns are named as them).
ROLLUP_MEASURES = ("net_creation_value", "turnover", "aum")
ETF_SERIES_PARAMS = ("etf", "issuer", "index", "theme", "from", "to", "interval", "currency", "above")


@dataclass(frozen=True, slots=True)
class EtfSelection:
    etf_id: int | None = None
    issuer_slug: str | None = None
    index_code: str | None = None
    theme: str | None = None


async def etf_series(
    db: Database,
    selection: EtfSelection,
    measure: EtfMeasure,
    interval: str,
    calendar: Calendar,
    start: date,
    end: date,
    currency: str | None,
    above: Decimal | None,
    *,
    use_rollup: bool = True,
) -> list[BucketRow]:
    """A daily statistic summed over the selected ETFs, per ``interval`` bucket over [start, end].

    With ``currency`` None a day that mixes funds of several currencies has no value (nothing to add).
    All funds, or one issuer's, index's or theme's, are read from the rollup; other selections (one
    fund, or several filters at once) from the fund-days, with the same arithmetic.
    """
    head = ETF_SERIES_HEAD if use_rollup else ETF_SERIES_FUNDS_HEAD
    if measure.value not in ROLLUP_MEASURES:
        head = ETF_SERIES_FUND_DAYS_HEAD
    template = (
        (head + SERIES_TAIL)
        .replace("{measure}", measure.value)
        .replace("{calendar_days}", CALENDAR_DAYS[calendar])
    )
    records = await db.fetch(
        numbered(template, ETF_SERIES_PARAMS),
        selection.etf_id,
        selection.issuer_slug,
        selection.index_code,
        selection.theme,
        start,
        end,
        interval,
        currency,
        above,
    )
    return to_rows(BucketRow, records)


# --- Connect flow totals by direction and channel ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowTotalRow:
    direction: str | None
    channel: str | None
    native_currency: str | None
    currency: str | None
    trading_days: int
    first_day: date
    last_day: date
    buy_turnover: Decimal | None
    sell_turnover: Decimal | None
    total_turnover: Decimal | None
    net_buy: Decimal | None
    etf_turnover: Decimal | None
    fx_min_rate: Decimal | None
    fx_max_rate: Decimal | None
    fx_first_rate_date: date | None
    fx_last_rate_date: date | None
    fx_days_on_earlier_rate: int
    fx_days_without_rate: int


def _converted_sum(column: str) -> str:
    """The sum of a converted column: null when a row lacks it, or when the amounts cannot be added."""
    return f"""CASE WHEN count({column}) = count(*) AND count(rate) = count(*)
                     AND ({{currency}}::text IS NOT NULL OR count(DISTINCT currency) = 1)
                THEN sum(money_at_rate({column}, rate)) END AS {column}"""


FLOW_TOTALS = f"""WITH rows AS (
               SELECT f.direction, f.channel, f.trading_day AS day, f.currency, f.buy_turnover,
                      f.sell_turnover, f.total_turnover, f.net_buy, f.etf_turnover,
                      f.total_turnover AS native, fx.rate, fx.rate_day
               FROM connect_daily_flows f
               LEFT JOIN LATERAL fx_rate_rows(f.currency, coalesce({{currency}}::text, f.currency)::char(3),
                                              f.trading_day) fx ON true
               WHERE f.trading_day BETWEEN {{from}} AND {{to}}
                 AND ({{direction}}::connect_direction IS NULL
                      OR f.direction = {{direction}}::connect_direction))
           SELECT direction::text AS direction, channel::text AS channel,
                  CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END AS native_currency,
                  coalesce({{currency}}::text,
                           CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END) AS currency,
                  count(DISTINCT day)::int AS trading_days, min(day) AS first_day, max(day) AS last_day,
                  {_converted_sum("buy_turnover")}, {_converted_sum("sell_turnover")},
                  {_converted_sum("total_turnover")}, {_converted_sum("net_buy")},
                  {_converted_sum("etf_turnover")},
                  {FX_USAGE}
           FROM rows
           GROUP BY GROUPING SETS ((direction, channel), (direction), ())
           ORDER BY direction NULLS LAST, channel NULLS LAST"""
FLOW_TOTALS_PARAMS = ("from", "to", "direction", "currency")


async def flow_totals(
    db: Database, start: date, end: date, direction: str | None, currency: str | None
) -> list[FlowTotalRow]:
    """Connect flows over [start, end] per direction and channel, per direction, and overall.

    A total is null when a row in it lacks the figure (northbound buy/sell after 2024-08-19) or, with
    ``currency`` None, when it would add two currencies.
    """
    records = await db.fetch(numbered(FLOW_TOTALS, FLOW_TOTALS_PARAMS), start, end, direction, currency)
    return to_rows(FlowTotalRow, records)


# --- ETF aggregates grouped and ranked -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupAggregateRow:
    rank: int
    sort_key: str
    etf_id: int | None
    issuer_id: int | None
    index_id: int | None
    theme: str | None
    direction: str | None
    channel: str | None
    etf_count: int
    trading_days: int
    first_day: date
    last_day: date
    native_currency: str | None
    currency: str | None
    net_creation_value: Decimal | None
    creation_value: Decimal | None
    redemption_value: Decimal | None
    net_creation_units: Decimal
    turnover: Decimal | None
    aum_start: Decimal | None
    aum_end: Decimal | None
    aum_change: Decimal | None
    fx_min_rate: Decimal | None
    fx_max_rate: Decimal | None
    fx_first_rate_date: date | None
    fx_last_rate_date: date | None
    fx_days_on_earlier_rate: int
    fx_days_without_rate: int


# Per grouping: the key columns (etf_id, issuer_id, index_id, theme, direction, channel, sort_key) and
# the join that yields them for one fund-day ``r`` of fund ``f``. A fund-day is its manager's that day
# (the issuer); a fund is in every theme of its index;
# a fund-day is in a Connect direction (channel) when the fund is eligible (or sell-only) there that day.
GROUP_KEYS = {
    Grouping.ETF: (
        "f.id, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, f.mic || ':' || f.code",
        "",
    ),
    Grouping.ISSUER: (
        "NULL::bigint, dm.id, NULL::bigint, NULL::text, NULL::text, NULL::text, dm.slug",
        f"JOIN asset_managers dm ON dm.id = {manager_of_the_day('f', 'r.day')}",
    ),
    Grouping.INDEX: (
        "NULL::bigint, NULL::bigint, f.index_id, NULL::text, NULL::text, NULL::text, f.index_code",
        "",
    ),
    Grouping.THEME: (
        "NULL::bigint, NULL::bigint, NULL::bigint, t.theme, NULL::text, NULL::text, t.theme",
        "CROSS JOIN LATERAL unnest(f.themes) t (theme)",
    ),
    Grouping.CONNECT_DIRECTION: (
        "NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, c.direction, NULL::text, c.direction",
        """JOIN LATERAL (SELECT DISTINCT x.direction::text AS direction FROM connect_eligibility x
                            WHERE x.etf_id = r.etf_id AND x.period @> r.day) c ON true""",
    ),
    Grouping.CONNECT_CHANNEL: (
        "NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, c.direction::text, c.channel::text, "
        "c.direction::text || '/' || c.channel::text",
        """JOIN connect_eligibility c ON c.etf_id = r.etf_id AND c.period @> r.day""",
    ),
}

# From ``rows`` (fund-days) of the funds in ``funds``: each row with its group keys, rate and converted
# amounts (``keyed``), then the groups (``grouped``), then the amounts that can be added up (``amounts``).
# ``{keyed_from}`` is the FROM clause yielding ``r`` (a fund-day), ``f`` (its fund), ``x`` (its rate) and
# ``g`` (the group keys: etf_id, issuer_id, index_id, theme, direction, channel, sort_key, gkey);
# ``{group_rank}`` is the group's rank when it is known before (else NULL::int).
_ROWS_TO_AMOUNTS = (
    rates("rows")
    + """,
           keyed AS (
               SELECT g.etf_id AS key_etf, g.issuer_id AS key_issuer, g.index_id AS key_index,
                      g.theme AS key_theme, g.direction AS key_direction, g.channel AS key_channel,
                      g.sort_key, g.gkey, {group_rank} AS group_rank, r.etf_id, r.day, r.currency,
                      r.aum AS native, r.net_creation_units, x.rate, x.rate_day,
                      money_at_rate(r.net_creation_value, x.rate) AS ncv,
                      money_at_rate(r.turnover, x.rate) AS turnover,
                      -- A fund's AUM counts at its first and at its last day in the group and window.
                      CASE WHEN r.day = min(r.day) OVER fund THEN money_at_rate(r.aum, x.rate) END
                          AS aum_first,
                      CASE WHEN r.day = max(r.day) OVER fund THEN money_at_rate(r.aum, x.rate) END
                          AS aum_last
               {keyed_from}
               WINDOW fund AS (PARTITION BY g.etf_id, g.issuer_id, g.index_id, g.theme, g.direction,
                                            g.channel, g.sort_key, r.etf_id)),
           grouped AS (
               SELECT key_etf AS etf_id, key_issuer AS issuer_id, key_index AS index_id, key_theme AS theme,
                      key_direction AS direction, key_channel AS channel, sort_key, gkey, group_rank,
                      count(DISTINCT etf_id)::int AS etf_count, count(DISTINCT day)::int AS trading_days,
                      min(day) AS first_day, max(day) AS last_day,
                      count(rate) = count(*)
                          AND ({currency}::text IS NOT NULL OR count(DISTINCT currency) = 1) AS addable,
                      CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END AS native_currency,
                      coalesce({currency}::text,
                               CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END) AS currency,
                      sum(ncv) AS net_creation_value, sum(greatest(ncv, 0)) AS creation_value,
                      sum(greatest(-ncv, 0)) AS redemption_value,
                      sum(net_creation_units) AS net_creation_units,
                      sum(turnover) AS turnover, sum(aum_first) AS aum_start, sum(aum_last) AS aum_end,
                      """
    + FX_USAGE
    + """
               FROM keyed
               GROUP BY key_etf, key_issuer, key_index, key_theme, key_direction, key_channel, sort_key,
                        gkey, group_rank),
           amounts AS (
               -- Amounts that cannot be added up (a missing rate, or two native currencies) are null.
               SELECT g.etf_id, g.issuer_id, g.index_id, g.theme, g.direction, g.channel, g.sort_key, g.gkey,
                      g.group_rank, g.etf_count, g.trading_days, g.first_day, g.last_day, g.native_currency,
                      g.currency,
                      CASE WHEN g.addable THEN g.net_creation_value END AS net_creation_value,
                      CASE WHEN g.addable THEN g.creation_value END AS creation_value,
                      CASE WHEN g.addable THEN g.redemption_value END AS redemption_value,
                      g.net_creation_units,
                      CASE WHEN g.addable THEN g.turnover END AS turnover,
                      CASE WHEN g.addable THEN g.aum_start END AS aum_start,
                      CASE WHEN g.addable THEN g.aum_end END AS aum_end,
                      CASE WHEN g.addable THEN g.aum_end - g.aum_start END AS aum_change,
                      g.fx_min_rate, g.fx_max_rate, g.fx_first_rate_date, g.fx_last_rate_date,
                      g.fx_days_on_earlier_rate, g.fx_days_without_rate
               FROM grouped g)"""
)

# Every fund-day of the window, each group its funds' rows: the statement for every grouping (and the
# reference the rollup path is tested against).
GROUP_AGGREGATES = (
    """WITH funds AS ("""
    + FUNDS
    + """),
           rows AS (
               SELECT s.etf_id, s.trading_day AS day, s.currency, s.net_creation_value, s.net_creation_units,
                      s.turnover, s.aum
               FROM etf_daily_stats s JOIN funds f ON f.id = s.etf_id
               WHERE s.trading_day BETWEEN {from} AND {to}
                 AND """
    + MANAGED_THAT_DAY.replace("{day}", "s.trading_day")
    + """),
           """
    + _ROWS_TO_AMOUNTS.replace("{group_rank}", "NULL::int").replace(
        "{keyed_from}",
        """FROM rows r
               JOIN funds f ON f.id = r.etf_id
               JOIN rates x ON x.currency = r.currency AND x.day = r.day
               {group_join}
               CROSS JOIN LATERAL (SELECT {group_keys}, NULL::text) g (etf_id, issuer_id, index_id, theme,
                                                                       direction, channel, sort_key, gkey)""",
    )
    + """
           SELECT a.*, row_number() OVER (
                      ORDER BY CASE WHEN {ascending} THEN a.{metric} END ASC NULLS LAST,
                               CASE WHEN NOT {ascending} THEN a.{metric} END DESC NULLS LAST,
                               a.sort_key ASC NULLS LAST)::int AS rank
           FROM amounts a
           ORDER BY rank
           LIMIT {top}"""
)
GROUP_AGGREGATES_PARAMS = ("etf", "issuer", "index", "theme", "from", "to", "currency", "ascending", "top")


# --- the rollup path -----------------------------------------------------------------------------------
#
# ``etf_day_totals`` (migration 0009) holds one row per day with every fund's running totals up to that
# day as arrays (converted day by day into each of ROLLUP_CURRENCIES, and native; amounts in cents): a
# fund's total over a window is its running total at the window's last day minus the one the day before
# the window, two rows read for all funds (``day_totals``). The ranking is taken on those totals; then
# only the groups ranked (``top``) are computed in full from their fund-days (``_ROWS_TO_AMOUNTS``, the
# same arithmetic as GROUP_AGGREGATES), so every figure of the answer, FX details included, is the row
# path's. Groupings by Connect direction or channel depend on each day's eligibility and keep the row path.

# What ``window_totals`` can give per fund over a window: from the rows at the window's end (``e``),
# before it (``b``) and on its first day (``s``) of etf_day_totals, zipped element by element.
_WINDOW_COLUMNS = {
    "currency": ("e.currency", "u.currency"),
    "one_currency": (
        "e.run_start, b.cum_rows",
        "u.run_start <= coalesce(u.rows_before, 0) + 1 AS one_currency",
    ),
    "rows": ("e.cum_rows, b.cum_rows", "u.rows - coalesce(u.rows_before, 0) AS rows"),
    "units": ("e.cum_units, b.cum_units", "(u.units - coalesce(u.units_before, 0))::numeric AS units"),
    "turnover_rows": (
        "e.cum_turnover_rows, b.cum_turnover_rows",
        "u.turnover_rows - coalesce(u.turnover_rows_before, 0) AS turnover_rows",
    ),
    "ncv": (
        f"{_in_currency('cum_ncv', 'e.cum_ncv_native', 'e')}, "
        f"{_in_currency('cum_ncv', 'b.cum_ncv_native', 'b')}",
        "u.ncv - coalesce(u.ncv_before, 0) AS ncv",
    ),
    "creation": (
        f"{_in_currency('cum_creation', 'e.cum_creation_native', 'e')}, "
        f"{_in_currency('cum_creation', 'b.cum_creation_native', 'b')}",
        "u.creation - coalesce(u.creation_before, 0) AS creation",
    ),
    "turnover": (
        f"{_in_currency('cum_turnover', 'e.cum_turnover_native', 'e')}, "
        f"{_in_currency('cum_turnover', 'b.cum_turnover_native', 'b')}",
        "u.turnover - coalesce(u.turnover_before, 0) AS turnover",
    ),
    "no_rate": (
        f"{_in_currency('cum_no_rate', 'NULL', 'e')}, {_in_currency('cum_no_rate', 'NULL', 'b')}",
        "coalesce(u.no_rate, 0) - coalesce(u.no_rate_before, 0) AS no_rate",
    ),
    "aum_end": (_in_currency("aum", "e.aum_native", "e"), "u.aum_end"),
    # the fund's keys (etf_fund_keys, lined up with the totals)
    "code": ("k.codes", "u.code"),
    "issuer_id": ("k.issuer_ids", "u.issuer_id"),
    "issuer_slug": ("k.issuer_slugs", "u.issuer_slug"),
    "index_id": ("k.index_ids", "u.index_id"),
    "index_code": ("k.index_codes", "u.index_code"),
    "themes": ("k.themes", "string_to_array(u.themes, '|') AS themes"),
    "aum_first": (
        f"s.last_day, {_in_currency('aum', 's.aum_native', 's')}",
        "CASE WHEN u.first_last_day >= {lo} THEN u.aum_first END AS aum_first, "
        "coalesce(u.first_last_day >= {lo}, false) AS on_first_day",
    ),
    # Read only when their parameter needs them: a plan for the request's values folds the others to
    # NULL, which unnest does not read (one_currency only matters natively; the keys only to filter).
    "one_currency_if_native": (
        "CASE WHEN {currency}::text IS NULL THEN e.run_start END, "
        "CASE WHEN {currency}::text IS NULL THEN b.cum_rows END",
        "u.run_start <= coalesce(u.rows_before, 0) + 1 AS one_currency",
    ),
    "issuer_slug_if_asked": ("CASE WHEN {issuer}::text IS NOT NULL THEN k.issuer_slugs END", "u.issuer_slug"),
    "index_code_if_asked": ("CASE WHEN {index}::text IS NOT NULL THEN k.index_codes END", "u.index_code"),
    "themes_if_asked": (
        "CASE WHEN {theme}::text IS NOT NULL THEN k.themes END",
        "string_to_array(u.themes, '|') AS themes",
    ),
}
# The names the zipped arrays take (``u``), per entry of _WINDOW_COLUMNS.
_WINDOW_NAMES = {
    "currency": "currency",
    "one_currency": "run_start, rows_before",
    "rows": "rows, rows_before",
    "units": "units, units_before",
    "turnover_rows": "turnover_rows, turnover_rows_before",
    "ncv": "ncv, ncv_before",
    "creation": "creation, creation_before",
    "turnover": "turnover, turnover_before",
    "no_rate": "no_rate, no_rate_before",
    "aum_end": "aum_end",
    "code": "code",
    "issuer_id": "issuer_id",
    "issuer_slug": "issuer_slug",
    "index_id": "index_id",
    "index_code": "index_code",
    "themes": "themes",
    "aum_first": "first_last_day, aum_first",
    "one_currency_if_native": "run_start, rows_before",
    "issuer_slug_if_asked": "issuer_slug",
    "index_code_if_asked": "index_code",
    "themes_if_asked": "themes",
}
_KEY_COLUMNS = ("code", "issuer_id", "issuer_slug", "index_id", "index_code", "themes")
_FROM_KEYS = (*_KEY_COLUMNS, "issuer_slug_if_asked", "index_code_if_asked", "themes_if_asked")


def window_totals(lo: str, hi: str, columns: Sequence[str], first_when: str = "true") -> str:
    """Each fund with a row in [lo, hi], with ``etf_id``, ``last_day`` (its last row) and ``columns`` of
    its totals over the window in the reporting currency (amounts in cents).

    Its running totals in the etf_day_totals row of ``hi`` (the latest day on or before it) minus those
    of the day before ``lo``: two rows read by key, whose arrays list every fund in the same order, so
    they are zipped by one ``unnest`` (no join or grouping whose plan could depend on statistics).
    The funds' keys (``code``, ``issuer_id``, ``issuer_slug``, ``index_id``, ``index_code``, ``themes``)
    come from ``etf_fund_keys``, whose arrays line up with the totals' (no lookup per fund).
    ``columns``: ``currency`` (of its last row), ``one_currency`` (every row of the window in it),
    ``rows``, ``units``, ``turnover_rows``, ``ncv``, ``creation``, ``turnover``, ``no_rate`` (rows without
    a rate; 0 natively), ``aum_end`` (at its last row), ``aum_first`` (at its first row when that is the
    window's first day with rows, when ``on_first_day``; a third row read when ``first_when`` holds).
    """
    arrays = ", ".join(_WINDOW_COLUMNS[c][0] for c in columns)
    names = ", ".join(_WINDOW_NAMES[c] for c in columns)
    values = ", ".join(_WINDOW_COLUMNS[c][1].replace("{lo}", lo) for c in columns)
    first = (
        f"""LEFT JOIN etf_day_totals s ON {first_when} AND s.trading_day = (
                   SELECT min(x.trading_day) FROM etf_day_totals x WHERE x.trading_day >= {lo})"""
        if "aum_first" in columns
        else ""
    )
    keyed = any(c in _FROM_KEYS for c in columns)
    return f"""SELECT u.etf_id, u.last_day, {values}
               FROM etf_day_totals e
               LEFT JOIN etf_day_totals b ON b.trading_day = (
                   SELECT max(x.trading_day) FROM etf_day_totals x WHERE x.trading_day < {lo})
               {first}
               {"CROSS JOIN etf_fund_keys k" if keyed else ""}
               CROSS JOIN LATERAL unnest(e.etf_ids, e.last_day, {"k.etf_ids, " if keyed else ""}{arrays})
                   u (etf_id, last_day, {"key_id, " if keyed else ""}{names})
               WHERE e.trading_day = (SELECT max(x.trading_day) FROM etf_day_totals x
                                      WHERE x.trading_day <= {hi})
                 AND u.last_day >= {lo}{" AND u.key_id = u.etf_id" if keyed else ""}"""


# The columns ``window_totals`` yields per entry of _WINDOW_COLUMNS (its values' names).
_WINDOW_OUTPUTS = {
    **{name: name for name in _WINDOW_NAMES},
    "one_currency_if_native": "one_currency",
    "aum_first": "aum_first, on_first_day",
    "issuer_slug_if_asked": "issuer_slug",
    "index_code_if_asked": "index_code",
    "themes_if_asked": "themes",
}

# Each fund whose manager changed, its managers' periods [from_day, to_day] (unbounded: -infinity,
# infinity), with the manager's slug: the days etf_manager_on gives each manager (the view
# etf_manager_periods starts a fund's first period at its listing instead).
_MANAGER_PERIODS = """SELECT p.etf_id, p.manager_id, m.slug, p.from_day, p.to_day
               FROM (SELECT h.etf_id, h.to_manager_id AS manager_id, h.effective_date AS from_day,
                            coalesce(lead(h.effective_date) OVER (PARTITION BY h.etf_id
                                                                  ORDER BY h.effective_date) - 1,
                                     'infinity') AS to_day
                     FROM etf_manager_changes h
                     UNION ALL
                     (SELECT DISTINCT ON (h.etf_id) h.etf_id, h.from_manager_id, '-infinity'::date,
                             h.effective_date - 1
                      FROM etf_manager_changes h
                      ORDER BY h.etf_id, h.effective_date)) p
               JOIN asset_managers m ON m.id = p.manager_id"""


# How the parts of one fund under one manager add up (a fund back with an earlier manager within the
# window has several): amounts and counts add, the AUM at the first day is the first part's, the AUM at the
# last day and the currency the last part's (ordered by ``p.lo``); a key is the same in every part.
_PART_TOTALS = {
    "rows": "sum(u.rows)::int",
    "units": "sum(u.units)",
    "turnover_rows": "sum(u.turnover_rows)::int",
    "ncv": "sum(u.ncv)::bigint",
    "creation": "sum(u.creation)::bigint",
    "turnover": "sum(u.turnover)::bigint",
    "no_rate": "sum(u.no_rate)::int",
    "last_day": "max(u.last_day)",
    "one_currency": "bool_and(u.one_currency)",  # and the parts' currency the same (managed_totals)
    "aum_first": "(array_agg(u.aum_first ORDER BY p.lo))[1]",
    "on_first_day": "(array_agg(u.on_first_day ORDER BY p.lo))[1]",
    "aum_end": "(array_agg(u.aum_end ORDER BY p.lo DESC))[1]",
    "currency": "(array_agg(u.currency ORDER BY p.lo DESC))[1]",
}


def managed_totals(lo: str, hi: str, columns: Sequence[str], when: str) -> str:
    """``window_totals`` with each fund's manager over the window (when ``when`` holds; else its manager
    today), plus ``from_day`` and ``to_day``: the days its totals cover.

    A fund-day counts to the manager running the fund that day. A fund whose manager changed within the
    window is split into one row per manager, with the totals of that manager's part of the window
    (running totals at its last day minus those before its first: two more rows of etf_day_totals read
    per part; changes are rare); a fund whose manager changed before or after the window takes the
    manager of the window. ``issuer_id`` and ``issuer_slug`` (when among ``columns``) are that manager's.
    A fund back with an earlier manager within the window is one row per manager, its parts added up;
    ``split_manager`` (null for a whole fund) names the manager whose days between ``from_day`` and
    ``to_day`` the row holds.
    """
    names = [
        "etf_id",
        "last_day",
        *(name for column in columns for name in _WINDOW_OUTPUTS[column].split(", ")),
    ]
    managers = {"issuer_id": "p.manager_id", "issuer_slug": "p.slug"}
    # a whole fund's columns (its manager over the window, if it changed) and a part's
    kept = ", ".join(f"coalesce({managers[n]}, t.{n}) AS {n}" if n in managers else f"t.{n}" for n in names)
    # a manager's parts of a split fund, added up
    totals = {**_PART_TOTALS}
    part_columns = tuple(columns)
    if "one_currency" in names:
        # one currency across the parts, not only within each: their currencies are read to compare them
        totals["one_currency"] += " AND min(u.currency) = max(u.currency)"
        part_columns += () if "currency" in columns else ("currency",)
    split = ", ".join(
        f"{managers[n]} AS {n}" if n in managers else f"{totals.get(n, f'min(u.{n})')} AS {n}" for n in names
    )
    part = window_totals("p.lo", "p.hi", part_columns).replace(
        "WHERE e.trading_day", "WHERE u.etf_id = p.etf_id AND e.trading_day", 1
    )
    return f"""WITH parts AS MATERIALIZED (
                   -- the funds with a change, when asked: their managers' parts of the window
                   SELECT p.etf_id, p.manager_id, p.slug, greatest(p.from_day, {lo}) AS lo,
                          least(p.to_day, {hi}) AS hi, p.from_day <= {lo} AND p.to_day >= {hi} AS whole
                   FROM ({_MANAGER_PERIODS}) p
                   WHERE {when} AND p.from_day <= {hi} AND p.to_day >= {lo})
               SELECT {kept}, {lo} AS from_day, {hi} AS to_day, NULL::bigint AS split_manager
               FROM ({window_totals(lo, hi, columns)}) t
               LEFT JOIN parts p ON p.etf_id = t.etf_id
               WHERE p.etf_id IS NULL OR p.whole
               UNION ALL
               SELECT {split}, min(p.lo), max(p.hi), p.manager_id
               FROM parts p
               CROSS JOIN LATERAL ({part}) u
               WHERE NOT p.whole
               GROUP BY u.etf_id, p.manager_id, p.slug"""


# Whether the fund-day ``s`` of a ``managed_totals`` row ``m`` is one of the row's (its manager's, for a
# fund split by a manager change).
SPLIT_MANAGER_DAY = "(m.split_manager IS NULL OR etf_manager_on(m.etf_id, s.trading_day) = m.split_manager)"

# The window: [from, to] as given, or the open days of {calendar} counted back (as ``resolve_window``).
_WINDOW_GIVEN = "{last}::int IS NULL AND ({from}::date IS NULL OR {to}::date IS NOT NULL)"
WINDOW = f"""SELECT CASE WHEN {_WINDOW_GIVEN} THEN {{from}}::date ELSE min(d.day) END AS lo,
                      CASE WHEN {_WINDOW_GIVEN} THEN {{to}}::date ELSE max(d.day) END AS hi
               FROM (SELECT c.day FROM (
                         SELECT day FROM trading_calendar
                         WHERE market = (CASE WHEN {{calendar}} IN ('XHKG', 'XSHG')
                                              THEN {{calendar}} END)::bpchar
                           AND is_open
                         UNION ALL
                         SELECT day FROM connect_days
                         WHERE direction = (CASE WHEN {{calendar}} IN ('SOUTHBOUND', 'NORTHBOUND')
                                                 THEN {{calendar}} END)::connect_direction) c
                     WHERE NOT ({_WINDOW_GIVEN})
                       AND c.day <= coalesce({{to}}::date, ({LATEST_DAY[Source.ETF_STATS]}))
                       AND ({{from}}::date IS NULL OR c.day >= {{from}}::date)
                     ORDER BY c.day DESC LIMIT {{last}}) d"""

GROUP_AGGREGATES_ROLLUP = (
    """WITH win AS (
               SELECT w.*, {etf}::bigint IS NULL AND {issuer}::text IS NULL AND {index}::text IS NULL
                           AND {theme}::text IS NULL AS whole
               FROM ("""
    + WINDOW
    + """) w),
           totals AS MATERIALIZED ("""
    + managed_totals(
        "(SELECT lo FROM win)",
        "(SELECT hi FROM win)",
        (
            "currency",
            "one_currency",
            "ncv",
            "creation",
            "turnover",
            "turnover_rows",
            "no_rate",
            "aum_end",
            "aum_first",
            "units",
            *_KEY_COLUMNS,
        ),
        "({grouping} = 'ISSUER' OR {issuer}::text IS NOT NULL)",
    )
    + """),
           scored AS MATERIALIZED (
               -- Each selected fund with a row in the window, in its group (a fund is in every theme of
               -- its index), with its totals and keys (one unnest: no lookup per fund).
               SELECT t.*, g.*,
                      -- never null, so that groups compare with = (hashable)
                      coalesce('e' || g.key_etf, 'i' || g.key_issuer, 'x' || g.key_index, 't' || g.theme, '-')
                          AS gkey,
                      CASE WHEN {metric} = 'aum_change' THEN
                          CASE WHEN t.on_first_day THEN t.aum_first ELSE (
                              -- Not on that day: its first row in the window, converted (rare).
                              SELECT cents(m.value) FROM etf_daily_stats x
                              CROSS JOIN LATERAL money_convert(x.aum, x.currency, {currency}::char(3),
                                                               x.trading_day) m
                              WHERE x.etf_id = t.etf_id AND x.trading_day >= t.from_day
                              ORDER BY x.trading_day LIMIT 1) END END AS aum_start
               FROM win w
               CROSS JOIN totals t
               CROSS JOIN LATERAL unnest(CASE WHEN {grouping} = 'THEME' THEN t.themes
                                              ELSE ARRAY[NULL::text] END) th (theme)
               CROSS JOIN LATERAL (
                   SELECT CASE WHEN {grouping} = 'ETF' THEN t.etf_id END,
                          CASE WHEN {grouping} = 'ISSUER' THEN t.issuer_id END,
                          CASE WHEN {grouping} = 'INDEX' THEN t.index_id END,
                          th.theme,
                          CASE {grouping} WHEN 'ETF' THEN t.code WHEN 'ISSUER' THEN t.issuer_slug
                                          WHEN 'INDEX' THEN t.index_code ELSE th.theme END
               ) g (key_etf, key_issuer, key_index, theme, sort_key)
               WHERE ({etf}::bigint IS NULL OR t.etf_id = {etf})
                 AND ({issuer}::text IS NULL OR t.issuer_slug = {issuer})
                 AND ({index}::text IS NULL OR t.index_code = {index})
                 AND ({theme}::text IS NULL OR t.themes @> ARRAY[{theme}::text])),
           valued AS (
               -- Each group's figure on every one of its funds (window functions: no join back).
               SELECT s.*,
                      CASE WHEN sum(s.no_rate) OVER grp = 0
                                AND ({currency}::text IS NOT NULL
                                     OR (bool_and(s.one_currency) OVER grp
                                         AND min(s.currency) OVER grp = max(s.currency) OVER grp))
                           THEN CASE {metric}
                                    WHEN 'net_creation_value' THEN sum(s.ncv) OVER grp
                                    WHEN 'creation_value' THEN sum(s.creation) OVER grp
                                    WHEN 'redemption_value' THEN sum(s.creation - s.ncv) OVER grp
                                    WHEN 'turnover' THEN CASE WHEN sum(s.turnover_rows) OVER grp > 0
                                                              THEN sum(s.turnover) OVER grp END
                                    WHEN 'aum_change' THEN sum(s.aum_end) OVER grp - sum(s.aum_start) OVER grp
                                    WHEN 'aum_end' THEN sum(s.aum_end) OVER grp END END AS value
               FROM scored s
               WINDOW grp AS (PARTITION BY s.gkey)),
           members AS MATERIALIZED (
               -- The funds of the ranked groups, with their group's rank (ties by the group's key).
               SELECT * FROM (
                   SELECT v.*, dense_rank() OVER (
                              ORDER BY CASE WHEN {ascending} THEN v.value END ASC NULLS LAST,
                                       CASE WHEN NOT {ascending} THEN v.value END DESC NULLS LAST,
                                       v.sort_key ASC NULLS LAST)::int AS rank
                   FROM valued v) r
               WHERE {top}::int IS NULL OR r.rank <= {top}),
           member_funds AS (
               -- Each ranked group's funds with their AUM at their first row in the window.
               SELECT m.*,
                      CASE WHEN {metric} = 'aum_change' THEN m.aum_start
                           WHEN m.on_first_day THEN m.aum_first
                           ELSE (SELECT cents(c.value) FROM etf_daily_stats x
                                 CROSS JOIN LATERAL money_convert(x.aum, x.currency, {currency}::char(3),
                                                                  x.trading_day) c
                                 WHERE x.etf_id = m.etf_id AND x.trading_day >= m.from_day
                                 ORDER BY x.trading_day LIMIT 1) END AS aum_from
               FROM members m CROSS JOIN win w),
           fund_days AS MATERIALIZED (
               -- The days and currencies of a group of one fund, of the funds without an index, or of
               -- filtered funds: their rows.
               SELECT m.gkey, s.trading_day AS day, s.currency
               FROM members m
               CROSS JOIN win w
               JOIN etf_daily_stats s
                    ON s.etf_id = m.etf_id AND s.trading_day BETWEEN m.from_day AND m.to_day
                   AND """
    + SPLIT_MANAGER_DAY
    + """
               WHERE {grouping} = 'ETF' OR ({grouping} = 'INDEX' AND m.key_index IS NULL) OR NOT w.whole),
           fund_rates AS MATERIALIZED (
               SELECT k.currency, k.day, fx.rate, fx.rate_day
               FROM (SELECT DISTINCT currency, day FROM fund_days) k
               LEFT JOIN LATERAL fx_rate_rows(k.currency, coalesce({currency}::text, k.currency)::char(3),
                                              k.day) fx ON true),
           group_keys AS MATERIALIZED (
               -- Whole groups (no filter on the funds): their days and rates from the rollup etf_group_days.
               SELECT DISTINCT m.gkey, coalesce(m.key_issuer::text, m.key_index::text, m.theme) AS key
               FROM members m
               CROSS JOIN win w
               WHERE w.whole
                 AND ({grouping} IN ('ISSUER', 'THEME')
                      OR ({grouping} = 'INDEX' AND m.key_index IS NOT NULL))),
           days AS (
               -- Each ranked group's days with figures, per native currency, with the rate applied.
               SELECT d.gkey, d.day, d.currency, x.rate, x.rate_day
               FROM fund_days d JOIN fund_rates x ON x.currency = d.currency AND x.day = d.day
               UNION ALL
               SELECT k.gkey, g.trading_day, g.currency, """
    + _in_currency("rate", "1::numeric", "g")
    + """, """
    + _in_currency("rate_day", "g.trading_day", "g")
    + """
               FROM group_keys k
               CROSS JOIN win w
               JOIN etf_group_days g ON g.kind = lower({grouping}) AND g.trading_day BETWEEN w.lo AND w.hi
               WHERE array_position(g.keys, k.key) IS NOT NULL),
           grouped AS (
               -- The groups' figures: amounts from their funds' totals, days and rates from ``days``.
               SELECT v.gkey, min(v.rank) AS rank, min(v.sort_key) AS sort_key, min(v.key_etf) AS etf_id,
                      min(v.key_issuer) AS issuer_id, min(v.key_index) AS index_id, min(v.theme) AS theme,
                      count(DISTINCT v.etf_id)::int AS etf_count, sum(v.ncv) AS ncv,
                      sum(v.creation) AS creation, sum(v.units) AS units, sum(v.turnover) AS turnover,
                      sum(v.turnover_rows) AS turnover_rows, sum(v.no_rate) AS no_rate,
                      sum(v.aum_from) AS aum_start, sum(v.aum_end) AS aum_end,
                      count(DISTINCT v.day)::int AS trading_days, min(v.day) AS first_day,
                      max(v.day) AS last_day,
                      count(DISTINCT v.currency) AS currencies, min(v.currency) AS one_currency,
                      min(v.rate) AS fx_min_rate, max(v.rate) AS fx_max_rate,
                      min(v.rate_day) AS fx_first_rate_date, max(v.rate_day) AS fx_last_rate_date,
                      count(DISTINCT v.day) FILTER (WHERE v.rate_day < v.day)::int AS fx_days_on_earlier_rate,
                      count(DISTINCT v.day) FILTER (WHERE NOT v.fund AND v.rate IS NULL)::int
                          AS fx_days_without_rate
               FROM (SELECT f.gkey, f.rank, f.sort_key, f.key_etf, f.key_issuer, f.key_index, f.theme,
                            true AS fund, f.etf_id, f.ncv, f.creation, f.units, f.turnover, f.turnover_rows,
                            f.no_rate, f.aum_from, f.aum_end, NULL::date AS day, NULL::bpchar AS currency,
                            NULL::numeric AS rate, NULL::date AS rate_day
                     FROM member_funds f
                     UNION ALL
                     SELECT d.gkey, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL,
                            NULL, NULL, NULL, NULL, d.day, d.currency, d.rate, d.rate_day
                     FROM days d) v
               GROUP BY v.gkey)
           -- Amounts that cannot be added up (a missing rate, or two native currencies) are null.
           SELECT g.rank, g.sort_key, g.etf_id, g.issuer_id, g.index_id, g.theme, NULL::text AS direction,
                  NULL::text AS channel, g.etf_count, g.trading_days, g.first_day, g.last_day,
                  CASE WHEN g.currencies = 1 THEN g.one_currency END AS native_currency,
                  coalesce({currency}::text, CASE WHEN g.currencies = 1 THEN g.one_currency END) AS currency,
                  CASE WHEN a.addable THEN g.ncv * 0.01 END AS net_creation_value,
                  CASE WHEN a.addable THEN g.creation * 0.01 END AS creation_value,
                  CASE WHEN a.addable THEN (g.creation - g.ncv) * 0.01 END AS redemption_value,
                  g.units AS net_creation_units,
                  CASE WHEN a.addable AND g.turnover_rows > 0 THEN g.turnover * 0.01 END AS turnover,
                  CASE WHEN a.addable THEN g.aum_start * 0.01 END AS aum_start,
                  CASE WHEN a.addable THEN g.aum_end * 0.01 END AS aum_end,
                  CASE WHEN a.addable THEN (g.aum_end - g.aum_start) * 0.01 END AS aum_change,
                  g.fx_min_rate, g.fx_max_rate, g.fx_first_rate_date, g.fx_last_rate_date,
                  g.fx_days_on_earlier_rate, g.fx_days_without_rate, {grouping}::text AS group_by
           FROM grouped g
           CROSS JOIN LATERAL (
               SELECT g.no_rate = 0 AND ({currency}::text IS NOT NULL OR g.currencies = 1) AS addable) a
           ORDER BY g.rank"""
)

# Grouped by ETF a group is one fund. The ranking reads from the rollup only what its metric needs (the
# rest of the ~25 arrays of a day's totals is most of the cost of reading them), with no group sums and no
# full sort: the first ``top`` funds in order come from one top-N sort (codes are unique: no two tie).
# The ranked funds' figures are then their fund-days added up by the row path's rule (``top`` x the window's
# days, e.g. 400 rows; one grouping by fund), which is exactly what their totals would give (tests).
_ETF_RANK_COLUMNS = {
    EtfMetric.NET_CREATION_VALUE: (("ncv",), "t.ncv"),
    EtfMetric.CREATION_VALUE: (("creation",), "t.creation"),
    EtfMetric.REDEMPTION_VALUE: (("ncv", "creation"), "t.creation - t.ncv"),
    EtfMetric.TURNOVER: (("turnover", "turnover_rows"), "CASE WHEN t.turnover_rows > 0 THEN t.turnover END"),
    EtfMetric.AUM_CHANGE: (("aum_end", "aum_first"), "t.aum_end - a.aum_start"),
    EtfMetric.AUM_END: (("aum_end",), "t.aum_end"),
}


def _etf_ranking(metric: EtfMetric) -> str:
    """The statement of ``etfAggregates(groupBy: ETF)`` ranked by ``metric``, on the rollup."""
    columns, value = _ETF_RANK_COLUMNS[metric]
    aum_start = (
        """CASE WHEN t.on_first_day THEN t.aum_first ELSE (
                              -- Not on that day: its first row in the window, converted (rare).
                              SELECT cents(m.value) FROM etf_daily_stats x
                              CROSS JOIN LATERAL money_convert(x.aum, x.currency, {currency}::char(3),
                                                               x.trading_day) m
                              WHERE x.etf_id = t.etf_id AND x.trading_day >= t.from_day
                              ORDER BY x.trading_day LIMIT 1) END"""
        if metric is EtfMetric.AUM_CHANGE
        else "NULL::bigint"
    )
    return (
        """WITH win AS ("""
        + WINDOW
        + """),
           totals AS MATERIALIZED ("""
        + managed_totals(
            "(SELECT lo FROM win)",
            "(SELECT hi FROM win)",
            (
                *columns,
                "no_rate",
                "one_currency_if_native",
                "code",
                "issuer_slug_if_asked",
                "index_code_if_asked",
                "themes_if_asked",
            ),
            "{issuer}::text IS NOT NULL",
        )
        + """),
           valued AS (
               SELECT t.etf_id, t.code, t.from_day, t.to_day, t.split_manager,
                      CASE WHEN t.no_rate = 0 AND ({currency}::text IS NOT NULL OR t.one_currency)
                           THEN """
        + value
        + """ END AS value
               FROM win w
               CROSS JOIN totals t
               CROSS JOIN LATERAL (SELECT """
        + aum_start
        + """ AS aum_start) a
               WHERE ({etf}::bigint IS NULL OR t.etf_id = {etf})
                 AND ({issuer}::text IS NULL OR t.issuer_slug = {issuer})
                 AND ({index}::text IS NULL OR t.index_code = {index})
                 AND ({theme}::text IS NULL OR t.themes @> ARRAY[{theme}::text])),
           members AS MATERIALIZED (
               SELECT f.etf_id, f.code, f.from_day, f.to_day, f.split_manager, row_number() OVER (
                          ORDER BY CASE WHEN {ascending} THEN f.value END ASC NULLS LAST,
                                   CASE WHEN NOT {ascending} THEN f.value END DESC NULLS LAST,
                                   f.code)::int AS rank
               FROM (SELECT v.* FROM valued v
                     ORDER BY CASE WHEN {ascending} THEN v.value END ASC NULLS LAST,
                              CASE WHEN NOT {ascending} THEN v.value END DESC NULLS LAST,
                              v.code
                     LIMIT {top}) f),
           rows AS MATERIALIZED (
               -- The ranked funds' fund-days, added up below as the row path adds them.
               SELECT m.rank, m.code, s.etf_id, s.trading_day AS day, s.currency, s.net_creation_value,
                      s.net_creation_units, s.turnover, s.aum,
                      min(s.trading_day) OVER fund AS first_day, max(s.trading_day) OVER fund AS last_day
               FROM members m
               CROSS JOIN win w
               JOIN etf_daily_stats s
                    ON s.etf_id = m.etf_id AND s.trading_day BETWEEN m.from_day AND m.to_day
                   AND """
        + SPLIT_MANAGER_DAY
        + """
               WINDOW fund AS (PARTITION BY s.etf_id)),
           rates AS MATERIALIZED (
               -- The rate of each (currency, day) as the rollup etf_group_days holds it with the day's sums
               -- of all funds (looked up as the row path looks it up): one probe by key.
               SELECT k.currency, k.day, """
        + _in_currency("rate", "1::numeric", "g")
        + """ AS rate, """
        + _in_currency("rate_day", "k.day", "g")
        + """ AS rate_day
               FROM (SELECT DISTINCT currency, day FROM rows) k
               LEFT JOIN LATERAL (
                   SELECT * FROM etf_group_days g
                   WHERE g.kind = 'all' AND g.trading_day = k.day AND g.currency = k.currency
                   LIMIT 1) g ON true),
           figures AS (
               -- Each ranked fund's figures from its fund-days (one a day), as the row path adds them (no
               -- aggregate that sorts per fund).
               SELECT r.etf_id, min(r.rank) AS rank, min(r.code) AS sort_key, count(*)::int AS trading_days,
                      min(r.day) AS first_day, max(r.day) AS last_day,
                      count(x.rate) = count(*)
                          AND ({currency}::text IS NOT NULL OR min(r.currency) = max(r.currency)) AS addable,
                      CASE WHEN min(r.currency) = max(r.currency) THEN min(r.currency) END AS native_currency,
                      sum(c.ncv) AS ncv, sum(greatest(c.ncv, 0)) AS creation,
                      sum(greatest(-c.ncv, 0)) AS redemption,
                      sum(r.net_creation_units) AS units, sum(c.turnover) AS turnover,
                      sum(c.aum) FILTER (WHERE r.day = r.first_day) AS aum_start,
                      sum(c.aum) FILTER (WHERE r.day = r.last_day) AS aum_end,
                      min(x.rate) AS fx_min_rate, max(x.rate) AS fx_max_rate,
                      min(x.rate_day) AS fx_first_rate_date, max(x.rate_day) AS fx_last_rate_date,
                      count(*) FILTER (WHERE x.rate_day < r.day)::int AS fx_days_on_earlier_rate,
                      count(*) FILTER (WHERE r.aum IS NOT NULL AND x.rate IS NULL)::int
                          AS fx_days_without_rate
               FROM rows r
               JOIN rates x ON x.currency = r.currency AND x.day = r.day
               CROSS JOIN LATERAL (
                   SELECT money_at_rate(r.net_creation_value, x.rate) AS ncv,
                          money_at_rate(r.turnover, x.rate) AS turnover,
                          money_at_rate(r.aum, x.rate) AS aum) c
               GROUP BY r.etf_id)
           -- Amounts that cannot be added up (a missing rate, or two native currencies) are null.
           SELECT f.rank, f.sort_key, f.etf_id, NULL::bigint AS issuer_id, NULL::bigint AS index_id,
                  NULL::text AS theme, NULL::text AS direction, NULL::text AS channel, 1 AS etf_count,
                  f.trading_days, f.first_day, f.last_day, f.native_currency,
                  coalesce({currency}::text, f.native_currency) AS currency,
                  CASE WHEN f.addable THEN f.ncv END AS net_creation_value,
                  CASE WHEN f.addable THEN f.creation END AS creation_value,
                  CASE WHEN f.addable THEN f.redemption END AS redemption_value,
                  f.units AS net_creation_units,
                  CASE WHEN f.addable THEN f.turnover END AS turnover,
                  CASE WHEN f.addable THEN f.aum_start END AS aum_start,
                  CASE WHEN f.addable THEN f.aum_end END AS aum_end,
                  CASE WHEN f.addable THEN f.aum_end - f.aum_start END AS aum_change,
                  f.fx_min_rate, f.fx_max_rate, f.fx_first_rate_date, f.fx_last_rate_date,
                  f.fx_days_on_earlier_rate, f.fx_days_without_rate, 'ETF'::text AS group_by
           FROM figures f
           ORDER BY f.rank"""
    )


GROUP_AGGREGATES_ETF_ROLLUP = {metric: _etf_ranking(metric) for metric in EtfMetric}
GROUP_AGGREGATES_ROLLUP_PARAMS = (
    "etf", "issuer", "index", "theme", "calendar", "from", "to", "last", "grouping", "currency", "metric",
    "ascending", "top",
)  # fmt: skip
GROUP_AGGREGATES_ETF_ROLLUP_PARAMS = tuple(
    p for p in GROUP_AGGREGATES_ROLLUP_PARAMS if p not in ("grouping", "metric")
)


async def refresh_rollups(db: Database | Connection, since: date | None) -> int:
    """Recompute the ETF rollups from ``since`` on (everything when None); returns the days written.

    Call it in the transaction that changed ``etf_daily_stats`` or ``fx_rates``, with the first day that
    changed: every fund's running totals (``etf_day_totals``) and the groups' sums (``etf_group_days``)
    are recomputed from that day on, carrying on from the day before.
    """
    return int(await db.fetchval("SELECT refresh_etf_rollups($1::date)", since))


async def group_aggregates(
    db: Database,
    grouping: Grouping,
    selection: EtfSelection,
    start: date,
    end: date,
    currency: str | None,
    metric: EtfMetric,
    ascending: bool,
    top: int | None,
    *,
    use_rollup: bool = True,
) -> list[GroupAggregateRow]:
    """ETF statistics over [start, end] per group, ranked by ``metric`` (ties by the group's code).

    Creations and redemptions are the days of net creation and of net redemption summed apart; AUM
    change is each fund's AUM on its last day in the window minus its AUM on its first. The ranking is
    taken on the rollup when it covers the grouping and currency (``use_rollup``), else on the fund-days.
    """
    if use_rollup and grouping in ROLLUP_GROUPINGS and (currency is None or currency in ROLLUP_CURRENCIES):
        values = {
            "etf": selection.etf_id,
            "issuer": selection.issuer_slug,
            "index": selection.index_code,
            "theme": selection.theme,
            "calendar": None,  # the window is given
            "from": start,
            "to": end,
            "last": None,
            "grouping": grouping.value,
            "currency": currency,
            "metric": metric.value,
            "ascending": ascending,
            "top": top,
        }
        template, names = (
            (GROUP_AGGREGATES_ETF_ROLLUP[metric], GROUP_AGGREGATES_ETF_ROLLUP_PARAMS)
            if grouping is Grouping.ETF
            else (GROUP_AGGREGATES_ROLLUP, GROUP_AGGREGATES_ROLLUP_PARAMS)
        )
        records = await db.fetch(numbered(template, names), *(values[name] for name in names))
        return to_rows(GroupAggregateRow, records)
    keys, join = GROUP_KEYS[grouping]
    template = (
        GROUP_AGGREGATES.replace("{group_keys}", keys)
        .replace("{group_join}", join)
        .replace("{metric}", metric.value)
    )
    records = await db.fetch(
        numbered(template, GROUP_AGGREGATES_PARAMS),
        selection.etf_id,
        selection.issuer_slug,
        selection.index_code,
        selection.theme,
        start,
        end,
        currency,
        ascending,
        top,
    )
    return to_rows(GroupAggregateRow, records)


# --- index membership changes --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MembershipChangeRow:
    index_id: int
    security_id: int
    kind: str
    weight_before: Decimal | None
    weight_after: Decimal | None
    weight_change: Decimal


MEMBERSHIP_CHANGES = """WITH scope AS (
               SELECT i.id FROM indices i
               WHERE ({index}::text IS NULL OR i.code = {index})
                 AND ({theme}::text IS NULL OR i.themes @> ARRAY[{theme}::text])),
           before AS (
               SELECT m.index_id, m.security_id, m.weight_pct FROM index_memberships m JOIN scope s
                 ON s.id = m.index_id
               WHERE m.period @> {from}::date),
           after AS (
               SELECT m.index_id, m.security_id, m.weight_pct FROM index_memberships m JOIN scope s
                 ON s.id = m.index_id
               WHERE m.period @> {to}::date),
           changes AS (
               SELECT index_id, security_id, b.weight_pct AS weight_before, a.weight_pct AS weight_after,
                      CASE WHEN b.weight_pct IS NULL THEN 'ADDED'
                           WHEN a.weight_pct IS NULL THEN 'REMOVED'
                           ELSE 'REWEIGHTED' END AS kind,
                      coalesce(a.weight_pct, 0) - coalesce(b.weight_pct, 0) AS weight_change
               FROM before b FULL JOIN after a USING (index_id, security_id)
               WHERE b.weight_pct IS DISTINCT FROM a.weight_pct)
           SELECT c.* FROM changes c
           JOIN indices i ON i.id = c.index_id JOIN securities s ON s.id = c.security_id
           WHERE c.kind = ANY({kinds}::text[])
           ORDER BY i.code, CASE c.kind WHEN 'ADDED' THEN 0 WHEN 'REMOVED' THEN 1 ELSE 2 END,
                    abs(c.weight_change) DESC, s.mic, s.local_code"""
MEMBERSHIP_CHANGES_PARAMS = ("index", "theme", "from", "to", "kinds")


async def membership_changes(
    db: Database,
    index_code: str | None,
    theme: str | None,
    start: date,
    end: date,
    kinds: Sequence[MembershipChangeKind],
) -> list[MembershipChangeRow]:
    """Constituents whose weight on ``end`` differs from their weight on ``start`` (absent = not held)."""
    records = await db.fetch(
        numbered(MEMBERSHIP_CHANGES, MEMBERSHIP_CHANGES_PARAMS),
        index_code,
        theme,
        start,
        end,
        [k.value for k in kinds],
    )
    return to_rows(MembershipChangeRow, records)


# --- look-through exposure -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureLineRow:
    """One line of a look-through: an ETF (``etf_id`` set), an index subtotal, or the total (both null)."""

    index_id: int | None
    etf_id: int | None
    weight_pct: Decimal | None
    etf_count: int
    aum_day: date | None
    native_currency: str | None
    native_aum: Decimal | None
    currency: str | None
    aum: Decimal | None
    exposure: Decimal | None
    fx_min_rate: Decimal | None
    fx_max_rate: Decimal | None
    fx_first_rate_date: date | None
    fx_last_rate_date: date | None
    fx_days_on_earlier_rate: int
    fx_days_without_rate: int


LOOK_THROUGH = f"""WITH held AS (
               SELECT m.index_id, m.weight_pct FROM index_memberships m
               WHERE m.security_id = {{security}} AND m.period @> {{asOf}}::date),
           funds AS (
               -- Funds listed on the date that track an index holding the security, with their last AUM.
               SELECT h.index_id, h.weight_pct, e.id AS etf_id, e.mic, e.code, s.trading_day AS day,
                      s.currency, s.aum AS native
               FROM held h
               LEFT JOIN etfs e ON e.index_id = h.index_id AND e.listing_date <= {{asOf}}
                    AND (e.delisting_date IS NULL OR e.delisting_date > {{asOf}})
               LEFT JOIN LATERAL (
                   SELECT x.trading_day, x.currency, x.aum FROM etf_daily_stats x
                   WHERE x.etf_id = e.id AND x.trading_day <= {{asOf}}
                   ORDER BY x.trading_day DESC LIMIT 1) s ON true),
           lines AS (
               -- The exposure is an amount of the fund's currency (AUM x weight) converted like the AUM.
               SELECT f.*, a.rate, a.rate_day, a.value AS aum, x.value AS exposure
               FROM funds f
               CROSS JOIN LATERAL money_convert(f.native, f.currency, {{currency}}::char(3), f.day) a
               CROSS JOIN LATERAL money_convert(f.native * f.weight_pct / 100, f.currency,
                                                {{currency}}::char(3), f.day) x),
           grouped AS (
               SELECT index_id, etf_id, GROUPING(index_id) = 1 AS is_total, GROUPING(etf_id) = 1 AS is_index,
                      min(mic) AS mic, min(code) AS code,
                      CASE WHEN GROUPING(index_id) = 0 THEN min(weight_pct) END AS weight_pct,
                      count(etf_id)::int AS etf_count,
                      CASE WHEN GROUPING(etf_id) = 0 THEN min(day) END AS aum_day,
                      CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END AS native_currency,
                      CASE WHEN GROUPING(etf_id) = 0 THEN min(native) END AS native_aum,
                      coalesce({{currency}}::text,
                               CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END) AS currency,
                      CASE WHEN count(aum) = count(native)
                                AND ({{currency}}::text IS NOT NULL OR count(DISTINCT currency) <= 1)
                           THEN coalesce(sum(aum), 0) END AS aum,
                      CASE WHEN count(exposure) = count(native)
                                AND ({{currency}}::text IS NOT NULL OR count(DISTINCT currency) <= 1)
                           THEN coalesce(sum(exposure), 0) END AS exposure,
                      {FX_USAGE}
               FROM lines
               GROUP BY GROUPING SETS ((index_id, etf_id), (index_id), ())
               HAVING GROUPING(etf_id) = 1 OR etf_id IS NOT NULL),
           ordered AS (
               SELECT g.*, i.code AS index_code,
                      max(g.exposure) FILTER (WHERE g.is_index) OVER (PARTITION BY g.index_id)
                          AS index_exposure
               FROM grouped g
               LEFT JOIN indices i ON i.id = g.index_id)
           -- The total, then each index (largest exposure first, then by code) followed by its ETFs.
           SELECT o.*, row_number() OVER (
                      ORDER BY o.is_total DESC, o.index_exposure DESC NULLS LAST, o.index_code,
                               o.is_index DESC, o.exposure DESC NULLS LAST, o.mic, o.code) AS ord
           FROM ordered o
           ORDER BY ord"""
LOOK_THROUGH_PARAMS = ("security", "asOf", "currency")


async def look_through(
    db: Database, security_id: int, as_of: date, currency: str | None
) -> list[ExposureLineRow]:
    """A security's look-through exposure on ``as_of``: per ETF (AUM x index weight), per index, in total.

    Lines come total first, then per index (largest exposure first) with its ETFs after it. An ETF's
    AUM is its latest on or before ``as_of``, converted at that day's rate.
    """
    records = await db.fetch(numbered(LOOK_THROUGH, LOOK_THROUGH_PARAMS), security_id, as_of, currency)
    return to_rows(ExposureLineRow, records)
