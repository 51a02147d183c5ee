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
SERIES_TAIL = """,
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
               GROUP BY v.day),
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
                      round(avg(p.value), 2) AS avg, min(p.value) AS min, max(p.value) AS max,
                      min(p.first_value) AS first, min(p.last_value) AS last,
                      min(p.min_rate) AS fx_min_rate, max(p.max_rate) AS fx_max_rate,
                      min(p.min_rate_day) AS fx_first_rate_date, max(p.max_rate_day) AS fx_last_rate_date,
                      count(*) FILTER (WHERE p.on_earlier_rate)::int AS fx_days_on_earlier_rate,
                      count(*) FILTER (WHERE p.without_rate)::int AS fx_days_without_rate
               FROM days p
               GROUP BY p.period_start),
           running AS (
               SELECT b.*,
                      (b.period_start + CASE {interval}::text WHEN 'quarter' THEN interval '3 months'
                                         ELSE ('1 ' || {interval}::text)::interval END)::date - 1
                          AS period_end,
                      CASE WHEN count(b.sum) OVER w = count(*) OVER w THEN sum(b.sum) OVER w END
                          AS running_total,
                      (sum(b.trading_days - b.days_with_value) OVER w)::int AS running_unknown_days
               FROM buckets b
               WINDOW w AS (ORDER BY b.period_start ROWS UNBOUNDED PRECEDING))
           SELECT * FROM running r
           WHERE {above}::numeric IS NULL OR r.sum > {above}
           ORDER BY r.period_start"""

# The measure is a parameter (so the statement, and the compiled path's, is one for all measures).
_FLOW_MEASURE = (
    "CASE {measure}::text " + " ".join(f"WHEN '{m.value}' THEN f.{m.value}" for m in FlowMeasure) + " END"
)

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

# The series over ``bounds`` (a CTE in scope: FLOW_BOUNDS), as the CTEs after ``WITH``. Each channel's
# figure is converted by itself (``money_convert``, once per row: the rows are materialised first), then
# the channels are added; both channels must report a figure for the day to have one (else it is unknown).
FLOW_SERIES_BODY = (
    """cal AS (
               SELECT c.day FROM connect_days c, bounds b
               WHERE c.direction = {direction}::connect_direction AND c.day BETWEEN b.lo AND b.hi),
           flows AS MATERIALIZED (
               SELECT f.trading_day AS day, f.currency, m.amount AS native, x.value AS amount, x.rate,
                      x.rate_day
               FROM connect_daily_flows f
               CROSS JOIN bounds b
               CROSS JOIN LATERAL (SELECT """
    + _FLOW_MEASURE
    + """ AS amount) m
               CROSS JOIN LATERAL money_convert(m.amount, f.currency, {currency}::char(3), f.trading_day) x
               WHERE f.direction = {direction}::connect_direction
                 AND ({channel}::connect_channel IS NULL OR f.channel = {channel}::connect_channel)
                 AND f.trading_day BETWEEN b.lo AND b.hi),
           daily AS (
               SELECT f.day, f.currency,
                      CASE WHEN count(f.native) = CASE WHEN {channel}::text IS NULL THEN 2 ELSE 1 END
                           THEN sum(f.native) END AS native,
                      CASE WHEN count(f.native) = CASE WHEN {channel}::text IS NULL THEN 2 ELSE 1 END
                           THEN sum(f.amount) END AS amount,
                      min(f.rate) AS rate, min(f.rate_day) AS rate_day
               FROM flows f
               GROUP BY f.day, f.currency)"""
    + SERIES_TAIL
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


# ETFs selected by the common filters: issuer slug, index code, theme, one fund's id.
FUNDS = """SELECT e.id, e.mic, e.code, e.issuer_id, e.index_id, m.slug AS issuer_slug,
                      i.code AS index_code, coalesce(i.themes, '{}') AS themes
               FROM etfs e
               JOIN asset_managers m ON m.id = e.issuer_id
               LEFT JOIN indices i ON i.id = e.index_id
               WHERE ({etf}::bigint IS NULL OR e.id = {etf})
                 AND ({issuer}::text IS NULL OR m.slug = {issuer})
                 AND ({index}::text IS NULL OR i.code = {index})
                 AND ({theme}::text IS NULL OR i.themes @> ARRAY[{theme}::text])"""

ETF_SERIES_HEAD = (
    """WITH funds AS ("""
    + FUNDS
    + """),
           cal AS (
               SELECT day FROM ({calendar_days}) c WHERE c.day BETWEEN {from} AND {to}),
           rows AS MATERIALIZED (
               SELECT s.trading_day AS day, s.currency, s.{measure} AS native
               FROM etf_daily_stats s JOIN funds f ON f.id = s.etf_id
               WHERE s.trading_day BETWEEN {from} AND {to}),
           """
    + rates("rows")
    + """,
           daily AS (
               -- Each fund-day converted by itself, then added (a fund without the figure adds nothing).
               SELECT r.day, r.currency, sum(r.native) AS native,
                      sum(money_at_rate(r.native, x.rate)) AS amount, min(x.rate) AS rate,
                      min(x.rate_day) AS rate_day
               FROM rows r JOIN rates x ON x.currency = r.currency AND x.day = r.day
               GROUP BY r.day, r.currency)"""
)
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
) -> list[BucketRow]:
    """A daily statistic summed over the selected ETFs, per ``interval`` bucket over [start, end].

    With ``currency`` None a day that mixes funds of several currencies has no value (nothing to add).
    """
    template = (
        (ETF_SERIES_HEAD + SERIES_TAIL)
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
# the join that yields them for one fund-day ``r`` of fund ``f``. A fund is in every theme of its index;
# a fund-day is in a Connect direction (channel) when the fund is eligible (or sell-only) there that day.
GROUP_KEYS = {
    Grouping.ETF: (
        "f.id, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, f.mic || ':' || f.code",
        "",
    ),
    Grouping.ISSUER: (
        "NULL::bigint, f.issuer_id, NULL::bigint, NULL::text, NULL::text, NULL::text, f.issuer_slug",
        "",
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
# ``g`` (the group keys: etf_id, issuer_id, index_id, theme, direction, channel, sort_key, gkey).
_ROWS_TO_AMOUNTS = (
    rates("rows")
    + """,
           keyed AS (
               SELECT g.etf_id AS key_etf, g.issuer_id AS key_issuer, g.index_id AS key_index,
                      g.theme AS key_theme, g.direction AS key_direction, g.channel AS key_channel,
                      g.sort_key, g.gkey, r.etf_id, r.day, r.currency, r.aum AS native, r.net_creation_units,
                      x.rate, x.rate_day,
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
                      key_direction AS direction, key_channel AS channel, sort_key, gkey,
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
                        gkey),
           amounts AS (
               -- Amounts that cannot be added up (a missing rate, or two native currencies) are null.
               SELECT g.etf_id, g.issuer_id, g.index_id, g.theme, g.direction, g.channel, g.sort_key, g.gkey,
                      g.etf_count, g.trading_days, g.first_day, g.last_day, g.native_currency, g.currency,
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
               WHERE s.trading_day BETWEEN {from} AND {to}),
           """
    + _ROWS_TO_AMOUNTS.replace(
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
# ``etf_flow_cumulative`` (migration 0005) holds per fund and day the fund's running totals, converted
# day by day to each ROLLUP_CURRENCIES (and native). A fund's total over a window is its running total
# at its last day in the window minus the one before the window: both read for all funds at once as two
# ranges of the (trading_day, etf_id) index, probing one by one only the funds without a row on those
# days (``_totals_at``). The ranking is taken on those totals; then only the groups ranked (``top``) are
# computed in full from their fund-days (``_ROWS_TO_AMOUNTS``, the same arithmetic as GROUP_AGGREGATES),
# so every figure of the answer, FX details included, is the row path's. Groupings by Connect direction
# or channel depend on each day's eligibility and keep the row path.

ROLLUP_CURRENCIES = ("HKD", "CNY", "USD", "KRW")
ROLLUP_GROUPINGS = (Grouping.ETF, Grouping.ISSUER, Grouping.INDEX, Grouping.THEME)


def _in_currency(column: str, native: str) -> str:
    """Column ``{column}_hkd`` ... of the rollup row ``c`` for the reporting currency, ``native`` if none."""
    branches = " ".join(f"WHEN '{code}' THEN c.{column}_{code.lower()}" for code in ROLLUP_CURRENCIES)
    return f"CASE coalesce({{currency}}::text, 'NATIVE') {branches} WHEN 'NATIVE' THEN {native} END"


# A rollup row ``c`` as running totals in the reporting currency.
_TOTALS = f"""c.etf_id, c.trading_day, c.currency, c.cum_rows, c.run_start,
                   {_in_currency("cum_ncv", "c.cum_ncv_native")} AS ncv,
                   {_in_currency("cum_creation", "c.cum_creation_native")} AS creation,
                   {_in_currency("cum_turnover", "c.cum_turnover_native")} AS turnover,
                   c.cum_turnover_rows AS turnover_rows,
                   {_in_currency("cum_no_rate", "0")} AS no_rate,
                   {_in_currency("aum", "c.aum_native")} AS aum"""


def _totals_at(day: str, also: str) -> str:
    """Each fund's running totals at its last rollup row on or before ``day``.

    A fund with a row on ``day`` itself (most funds, on a trading day) is read with the others in one
    range of the (trading_day, etf_id) index; only the funds in ``also`` without one are probed one by
    one for their latest earlier row.
    """
    return f"""SELECT {_TOTALS} FROM etf_flow_cumulative c WHERE c.trading_day = {day}
               UNION ALL
               SELECT p.* FROM ({also}) a
               CROSS JOIN LATERAL (
                   SELECT {_TOTALS} FROM etf_flow_cumulative c
                   WHERE c.etf_id = a.id AND c.trading_day < {day}
                   ORDER BY c.trading_day DESC LIMIT 1) p
               WHERE a.id NOT IN (SELECT x.etf_id FROM etf_flow_cumulative x WHERE x.trading_day = {day})"""


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
    """WITH win AS ("""
    + WINDOW
    + """),
           funds AS ("""
    + FUNDS
    + """),
           grouped_funds AS (
               -- Each fund's group (a fund is in every theme of its index).
               SELECT f.id, g.*,
                      -- never null, so that groups join with = (hashable)
                      coalesce('e' || g.etf_id, 'i' || g.issuer_id, 'x' || g.index_id, 't' || g.theme, '-')
                          AS gkey
               FROM funds f
               CROSS JOIN LATERAL unnest(CASE WHEN {grouping} = 'THEME' THEN f.themes
                                              ELSE ARRAY[NULL::text] END) t (theme)
               CROSS JOIN LATERAL (
                   SELECT CASE WHEN {grouping} = 'ETF' THEN f.id END,
                          CASE WHEN {grouping} = 'ISSUER' THEN f.issuer_id END,
                          CASE WHEN {grouping} = 'INDEX' THEN f.index_id END,
                          t.theme, NULL::text, NULL::text,
                          CASE {grouping} WHEN 'ETF' THEN f.mic || ':' || f.code
                                          WHEN 'ISSUER' THEN f.issuer_slug
                                          WHEN 'INDEX' THEN f.index_code ELSE t.theme END
               ) g (etf_id, issuer_id, index_id, theme, direction, channel, sort_key)),
           last_before AS (
               -- The last day with rollup rows before the window.
               SELECT (SELECT max(c.trading_day) FROM etf_flow_cumulative c WHERE c.trading_day < w.lo) AS day
               FROM win w),
           ends AS MATERIALIZED ("""
    + _totals_at("(SELECT hi FROM win)", "SELECT id FROM funds")
    + """),
           starts AS MATERIALIZED ("""
    + _totals_at(
        "(SELECT day FROM last_before)",
        "SELECT e.etf_id AS id FROM ends e, win w WHERE e.trading_day >= w.lo",
    )
    + """),
           per_fund AS (
               -- Each fund's totals over the window: running totals at its last day minus before it.
               SELECT f.id AS etf_id, e.currency,
                      e.run_start <= coalesce(b.cum_rows, 0) + 1 AS one_currency,
                      e.ncv - coalesce(b.ncv, 0) AS ncv,
                      e.creation - coalesce(b.creation, 0) AS creation,
                      e.turnover - coalesce(b.turnover, 0) AS turnover,
                      e.turnover_rows - coalesce(b.turnover_rows, 0) AS turnover_rows,
                      e.no_rate - coalesce(b.no_rate, 0) AS no_rate,
                      e.aum AS aum_end,
                      CASE WHEN {metric} = 'aum_change' THEN (
                          """
    + f"""SELECT {_in_currency("aum", "c.aum_native")} FROM etf_flow_cumulative c
                          WHERE c.etf_id = f.id AND c.trading_day >= w.lo
                          ORDER BY c.trading_day LIMIT 1"""
    + """) END AS aum_start
               FROM win w
               CROSS JOIN funds f
               JOIN ends e ON e.etf_id = f.id AND e.trading_day >= w.lo
               LEFT JOIN starts b ON b.etf_id = f.id),
           ranked AS (
               SELECT g.gkey, g.sort_key,
                      CASE WHEN sum(p.no_rate) = 0
                                AND ({currency}::text IS NOT NULL
                                     OR (bool_and(p.one_currency) AND count(DISTINCT p.currency) = 1))
                           THEN CASE {metric}
                                    WHEN 'net_creation_value' THEN sum(p.ncv)
                                    WHEN 'creation_value' THEN sum(p.creation)
                                    WHEN 'redemption_value' THEN sum(p.creation - p.ncv)
                                    WHEN 'turnover'
                                        THEN CASE WHEN sum(p.turnover_rows) > 0 THEN sum(p.turnover) END
                                    WHEN 'aum_change' THEN sum(p.aum_end) - sum(p.aum_start)
                                    WHEN 'aum_end' THEN sum(p.aum_end) END END AS value
               FROM per_fund p JOIN grouped_funds g ON g.id = p.etf_id
               GROUP BY g.gkey, g.sort_key),
           top AS MATERIALIZED (
               SELECT r.gkey, row_number() OVER (
                          ORDER BY CASE WHEN {ascending} THEN r.value END ASC NULLS LAST,
                                   CASE WHEN NOT {ascending} THEN r.value END DESC NULLS LAST,
                                   r.sort_key ASC NULLS LAST)::int AS rank
               FROM ranked r
               ORDER BY rank
               LIMIT {top}),
           members AS MATERIALIZED (
               SELECT DISTINCT g.id FROM grouped_funds g JOIN top t ON t.gkey = g.gkey),
           rows AS (
               -- Only the ranked groups' fund-days are read, and added up as the row path does.
               SELECT s.etf_id, s.trading_day AS day, s.currency, s.net_creation_value, s.net_creation_units,
                      s.turnover, s.aum
               FROM members m
               CROSS JOIN win w
               JOIN etf_daily_stats s ON s.etf_id = m.id AND s.trading_day BETWEEN w.lo AND w.hi),
           """
    + _ROWS_TO_AMOUNTS.replace(
        "{keyed_from}",
        """FROM rows r
               JOIN grouped_funds g ON g.id = r.etf_id
               JOIN top t ON t.gkey = g.gkey
               JOIN rates x ON x.currency = r.currency AND x.day = r.day""",
    )
    + """
           SELECT a.*, t.rank, {grouping}::text AS group_by
           FROM amounts a JOIN top t ON t.gkey = a.gkey
           ORDER BY t.rank"""
)
GROUP_AGGREGATES_ROLLUP_PARAMS = (
    "etf", "issuer", "index", "theme", "calendar", "from", "to", "last", "grouping", "currency", "metric",
    "ascending", "top",
)  # fmt: skip


async def refresh_rollups(db: Database | Connection, since: date | None) -> int:
    """Recompute the analytics rollup from ``since`` on (everything when None); returns the rows written.

    Call it in the transaction that changed ``etf_daily_stats`` or ``fx_rates``, with the first day that
    changed: every fund's running totals are recomputed from that day on, carrying on from the day before.
    """
    return int(await db.fetchval("SELECT refresh_etf_flow_cumulative($1::date)", since))


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
        records = await db.fetch(
            numbered(GROUP_AGGREGATES_ROLLUP, GROUP_AGGREGATES_ROLLUP_PARAMS),
            selection.etf_id,
            selection.issuer_slug,
            selection.index_code,
            selection.theme,
            None,  # the window is given
            start,
            end,
            None,
            grouping.value,
            currency,
            metric.value,
            ascending,
            top,
        )
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
