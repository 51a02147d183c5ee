"""Analytics answers: flow and ETF series, flow totals, grouped rankings, creation rankings, membership
events and look-through exposure; each a source over the repository's statements (referenced by name,
``service/repositories/analytics.py`` and ``stats.py``) with its window counted inside the statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_page, check_positive, check_range
from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.codes import parse_code
from service.errors import BadInput
from service.model.common import DATE, DECIMAL, INT, STRING
from service.model.declare import (
    Arg,
    Check,
    Column,
    Context,
    Entity,
    OrderKey,
    Relation,
    Root,
    RootKind,
)
from service.model.enums import (
    CONNECT_CHANNEL,
    CONNECT_DIRECTION,
    CURRENCY,
    ETF_GROUPING,
    ETF_MEASURE,
    ETF_METRIC,
    FLOW_MEASURE,
    INTERVAL,
    MEMBERSHIP_CHANGE_KIND,
    REPORT_CURRENCY,
    SORT_DIRECTION,
    TRADING_CALENDAR,
)
from service.repositories import analytics, stats

MAX_TRADING_DAYS = 10_000

# --- FX details ----------------------------------------------------------------------------------------

# The FX columns of a row carrying native_currency, currency and the FX_USAGE columns.
FX_SOURCE = """(SELECT {p}.native_currency, {p}.currency, {p}.fx_min_rate, {p}.fx_max_rate,
                       {p}.fx_first_rate_date, {p}.fx_last_rate_date, {p}.fx_days_on_earlier_rate,
                       {p}.fx_days_without_rate)"""


def _fx(description: str) -> Relation:
    return Relation("fx", "FxUsage", description, source=FX_SOURCE)


FX_USAGE = Entity(
    "FxUsage",
    "The FX conversion behind an answer: each day's amounts at that day's rate, or the latest earlier "
    "rate when the day has none.",
    source="",  # only through the `fx` of an answer
    key=(OrderKey("{t}.currency", nullable=True),),
    fields=(
        Column(
            "fromCurrency",
            "{t}.native_currency",
            STRING,
            "The figures' own currency; null when they come in several.",
            nullable=True,
        ),
        Column("toCurrency", "{t}.currency", STRING, "The reporting currency.", nullable=True),
        Column(
            "rate",
            "CASE WHEN {t}.fx_min_rate = {t}.fx_max_rate THEN {t}.fx_min_rate END",
            DECIMAL,
            "Units of `toCurrency` per unit of `fromCurrency`, when one rate applied throughout.",
            nullable=True,
        ),
        Column(
            "rateDate",
            "CASE WHEN {t}.fx_first_rate_date = {t}.fx_last_rate_date THEN {t}.fx_first_rate_date END",
            DATE,
            "Date of that rate, when one date applied.",
            nullable=True,
        ),
        Column("minRate", "{t}.fx_min_rate", DECIMAL, "Lowest rate applied.", nullable=True),
        Column("maxRate", "{t}.fx_max_rate", DECIMAL, "Highest rate applied.", nullable=True),
        Column(
            "firstRateDate", "{t}.fx_first_rate_date", DATE, "Date of the oldest rate applied.", nullable=True
        ),
        Column(
            "lastRateDate", "{t}.fx_last_rate_date", DATE, "Date of the newest rate applied.", nullable=True
        ),
        Column(
            "daysOnEarlierRate",
            "{t}.fx_days_on_earlier_rate",
            INT,
            "Trading days with no rate of their own, converted at the latest earlier rate.",
        ),
        Column(
            "daysWithoutRate",
            "{t}.fx_days_without_rate",
            INT,
            "Trading days with figures but no rate at all (their amounts are null).",
        ),
    ),
)

# --- windows ---------------------------------------------------------------------------------------------

# [lo, hi]: `from`/`to` as given, or the open days of `{calendar_days}` counted back from `to` (default:
# `{latest_day}`, the latest day with data), as repositories.analytics.resolve_window counts them.
_GIVEN = "({last}::int IS NULL AND ({from}::date IS NULL OR {to}::date IS NOT NULL))"
WINDOW = f"""win AS (
        SELECT CASE WHEN {_GIVEN} THEN {{from}}::date ELSE min(d.day) END AS lo,
               CASE WHEN {_GIVEN} THEN {{to}}::date ELSE max(d.day) END AS hi
        FROM (SELECT c.day FROM ({{calendar_days}}) c
              WHERE NOT {_GIVEN}
                AND c.day <= coalesce({{to}}::date, ({{latest_day}}))
                AND ({{from}}::date IS NULL OR c.day >= {{from}}::date)
              ORDER BY c.day DESC LIMIT {{last}}::int) d)"""
LO, HI = "(SELECT lo FROM win)", "(SELECT hi FROM win)"


def _in_window(template: str) -> str:
    return template.replace("{from}", LO).replace("{to}", HI)


def _after_with(template: str) -> str:
    """A statement ``WITH a AS (...) ...`` continued after the window: ``, a AS (...) ...``."""
    assert template.lstrip().startswith("WITH ")
    return ",\n    " + template.lstrip()[len("WITH ") :]


def _check_days(args: Mapping[str, Any]) -> None:
    last, start = args.get("lastTradingDays"), args.get("from")
    if last is not None and not 0 < last <= MAX_TRADING_DAYS:
        raise BadInput(
            f"`lastTradingDays` must be in 1..{MAX_TRADING_DAYS} (got {last})", argument="lastTradingDays"
        )
    if last is not None and start is not None:
        raise BadInput("Give `from` or `lastTradingDays`, not both", argument="lastTradingDays")


def _lookup_etf(mic: str, code: str) -> str:
    return f"""coalesce((SELECT e.id FROM etfs e WHERE e.mic = {mic} AND e.code = {code}),
                     (SELECT x.etf_id FROM etf_counters x WHERE x.mic = {mic} AND x.code = {code}))"""


ETF_LOOKUP = _lookup_etf("{etf_mic}", "{etf_code}")
ETF_MISSING = Check(
    sql="{etf_mic}::text IS NOT NULL AND " + ETF_LOOKUP + " IS NULL",
    message="No ETF with code {etf!r}",
    argument="etf",
)


def _selection(args: Mapping[str, Any]) -> dict[str, Any]:
    """The common fund filters: one fund by code, an issuer's slug, an index code, a theme."""
    etf, issuer, index, theme = args.get("etf"), args.get("issuer"), args.get("index"), args.get("theme")
    mic, code = parse_code(etf, "etf") if etf is not None else (None, None)
    return {
        "etf_mic": mic,
        "etf_code": code,
        "issuer": issuer.strip().lower() if issuer else None,
        "index": index.strip().upper() if index else None,
        "theme": theme.strip().lower() if theme else None,
    }


SELECTION_PARAMS = {"etf_mic": "text", "etf_code": "text"}


def _selection_args(etf: bool = True) -> tuple[Arg, ...]:
    one = (Arg("etf", STRING, "One fund, by `MIC:code`."),) if etf else ()
    return (
        *one,
        Arg(
            "issuer",
            STRING,
            "Only the funds of this issuer (slug), each with the days the issuer managed it (a fund whose "
            "manager changed counts its earlier days to its earlier manager).",
        ),
        Arg("index", STRING, "Only funds tracking this index (code)."),
        Arg("theme", STRING, "Only funds whose index has this theme."),
    )


FROM = Arg("from", DATE, "First day, inclusive.")
TO = Arg("to", DATE, "Last day, inclusive (default: the latest day with data).")
LAST_DAYS = Arg(
    "lastTradingDays",
    INT,
    "Only the latest N trading days up to `to`, counted on the calendar.",
    param="last",
)
IN_CURRENCY = Arg(
    "currency",
    REPORT_CURRENCY,
    "Report amounts in this currency, each day at that day's rate.",
    required=True,
    default="HKD",
)

# --- series ----------------------------------------------------------------------------------------------

_FX_COLUMNS = """native_currency text, currency text, fx_min_rate numeric, fx_max_rate numeric,
    fx_first_rate_date date, fx_last_rate_date date, fx_days_on_earlier_rate int, fx_days_without_rate int"""


def _json_rows(column: str, columns: str) -> str:
    """The rows of a JSON array the parent row carries (buckets, look-through lines), with FX columns."""
    return f"jsonb_to_recordset({{p}}.{column}) AS {{c}} ({columns}, {_FX_COLUMNS})"


_BUCKET_COLUMNS = """period_start date, period_end date, first_day date, last_day date, trading_days int,
    days_with_value int, sum numeric, avg numeric, min numeric, max numeric, first numeric, last numeric,
    running_total numeric, running_unknown_days int"""

# A series' buckets travel from its statement to the fields as an array of records, built (``BUCKETS``) and
# read (``unnest``) with one column list: no JSON in between (to_jsonb, then jsonb_to_recordset, of a
# hundred buckets cost more than the series' own SQL).
_BUCKET_RECORD = [c.split() for c in (_BUCKET_COLUMNS + ", " + _FX_COLUMNS).split(",")]
BUCKETS = (
    "(SELECT array_agg(ROW("
    + ", ".join(f"s.{name}::{kind}" for name, kind in _BUCKET_RECORD)
    + ") ORDER BY s.period_start) FROM series s)"
)

SERIES_BUCKET = Entity(
    "SeriesBucket",
    "One bucket of a series: the trading days of a period that are in the window. A day the calendar has "
    "closed is absent; an open day without figures counts in `tradingDays` but not in `daysWithValue`.",
    source="",  # only through a series' buckets
    key=(OrderKey("{t}.period_start", type="date"),),
    series=True,
    fields=(
        Column("periodStart", "{t}.period_start", DATE, "First calendar day of the period."),
        Column("periodEnd", "{t}.period_end", DATE, "Last calendar day of the period."),
        Column("firstDay", "{t}.first_day", DATE, "First trading day of the period in the window."),
        Column("lastDay", "{t}.last_day", DATE, "Last trading day of the period in the window."),
        Column("tradingDays", "{t}.trading_days", INT, "Trading days of the period in the window."),
        Column("daysWithValue", "{t}.days_with_value", INT, "Of those, the days with a figure."),
        Column("currency", "{t}.currency", STRING, "Currency of the amounts.", nullable=True),
        Column(
            "sum",
            "{t}.sum",
            DECIMAL,
            "Sum of the daily amounts; null unless every trading day has one.",
            nullable=True,
        ),
        Column("avg", "{t}.avg", DECIMAL, "Mean of the daily amounts there are, to the cent.", nullable=True),
        Column("min", "{t}.min", DECIMAL, "Smallest daily amount.", nullable=True),
        Column("max", "{t}.max", DECIMAL, "Largest daily amount.", nullable=True),
        Column("first", "{t}.first", DECIMAL, "Amount of the first trading day.", nullable=True),
        Column(
            "last",
            "{t}.last",
            DECIMAL,
            "Amount of the last trading day (the closing level, for AUM).",
            nullable=True,
        ),
        Column(
            "runningTotal",
            "{t}.running_total",
            DECIMAL,
            "Sum of the buckets' sums from the window's first bucket to this one; null from the first bucket "
            "with a day whose figure is unknown on (`runningUnknownDays` > 0), never a sum that skips it.",
            nullable=True,
        ),
        Column(
            "runningUnknownDays",
            "{t}.running_unknown_days",
            INT,
            "Trading days from the window's first day to the end of this bucket without a figure.",
        ),
        _fx("The conversion applied to this bucket's days."),
    ),
)

_BUCKETS = Relation(
    "buckets",
    "SeriesBucket",
    "Buckets, oldest first.",
    source=f"unnest({{p}}.buckets) AS {{c}} ({_BUCKET_COLUMNS}, {_FX_COLUMNS})",
    many=True,
)

_SERIES_FIELDS = (
    Column("interval", "{t}.interval", INTERVAL, "Bucket size."),
    Column("windowFrom", "{t}.window_from", DATE, "First day of the window (null: no data).", nullable=True),
    Column("windowTo", "{t}.window_to", DATE, "Last day of the window (null: no data).", nullable=True),
    _BUCKETS,
)

SERIES = Entity(
    "Series",
    "A series of daily figures in buckets, with the window it covers.",
    source="",  # only through etfSeries
    key=(OrderKey("{t}.window_from", type="date", nullable=True),),
    fields=_SERIES_FIELDS,
)

FLOW_SERIES = Entity(
    "FlowSeries",
    "Stock Connect flows aggregated per bucket.",
    source="",  # only through flowSeries
    key=(OrderKey("{t}.window_from", type="date", nullable=True),),
    fields=(
        *_SERIES_FIELDS,
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "Direction of the flows."),
        Column(
            "channel", "{t}.channel", CONNECT_CHANNEL, "The channel; null for both summed.", nullable=True
        ),
        Column("measure", "{t}.measure", FLOW_MEASURE, "The daily figure aggregated."),
    ),
)

# The window is computed once and the buckets over it once; the row carries them with the window it
# reports: the one counted on the Connect days, else from/to or the kept buckets' ends.
FLOW_SERIES_SOURCE = (
    "(WITH "
    + analytics.FLOW_BOUNDS
    + """,
           series AS MATERIALIZED (WITH """
    + analytics.FLOW_SERIES_BODY
    + """)
        SELECT {interval}::text AS interval, {direction}::text AS direction, {channel}::text AS channel,
               {measure}::text AS measure,
               CASE WHEN """
    + analytics.FLOW_WINDOW_COUNTED
    + """ THEN b.lo
                    ELSE coalesce({from}, (SELECT s.first_day FROM series s ORDER BY s.period_start LIMIT 1))
               END AS window_from,
               CASE WHEN """
    + analytics.FLOW_WINDOW_COUNTED
    + """ THEN b.hi
                    ELSE coalesce({to},
                                  (SELECT s.last_day FROM series s ORDER BY s.period_start DESC LIMIT 1))
               END AS window_to,
               """
    + BUCKETS
    + """ AS buckets
        FROM bounds b)"""
)


def _flow_series(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args.get("from"), args.get("to"))
    _check_days(args)
    return {}


def _etf_series_source(head: str) -> str:
    return (
        "(WITH "
        + WINDOW
        + """,
           funds_pick AS (SELECT """
        + ETF_LOOKUP
        + """ AS id),
           series AS MATERIALIZED ("""
        + _in_window(head + analytics.SERIES_TAIL).replace("{etf}", "(SELECT id FROM funds_pick)")
        + """)
        SELECT {interval}::text AS interval, w.lo AS window_from, w.hi AS window_to,
               """
        + BUCKETS
        + """ AS buckets
        FROM win w)"""
    )


# By measure: a whole group's days from the rollup, else the fund-days (NAV per unit is not in the rollup).
ETF_SERIES_SOURCES = {
    True: _etf_series_source(analytics.ETF_SERIES_HEAD),
    False: _etf_series_source(analytics.ETF_SERIES_FUND_DAYS_HEAD),
}


def _etf_series(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    return etf_figures_selection(args)


def etf_figures_selection(args: Mapping[str, Any]) -> Mapping[str, Any]:
    """The checked window and selection of a series of fund figures (etfSeries, trailingEtfFigures)."""
    if args.get("from") is None and args.get("lastTradingDays") is None:
        raise BadInput("Give `from` or `lastTradingDays`", argument="from")
    check_range(args.get("from"), args.get("to"))
    _check_days(args)
    if args["measure"] == "NAV_PER_UNIT" and args.get("etf") is None:
        raise BadInput("NAV_PER_UNIT is a figure of one fund: give `etf`", argument="measure")
    return _selection(args)


def _etf_series_sql(shape: Mapping[str, Any]) -> Mapping[str, str]:
    calendar = analytics.Calendar(str(TRADING_CALENDAR.label(shape["calendar"])))
    measure = str(ETF_MEASURE.label(shape["measure"]))
    return {
        "etf_series_source": ETF_SERIES_SOURCES[measure in analytics.ROLLUP_MEASURES],
        "measure": measure,
        "calendar_days": analytics.CALENDAR_DAYS[calendar],
        "latest_day": analytics.LATEST_DAY[analytics.Source.ETF_STATS],
    }


# --- flow totals -----------------------------------------------------------------------------------------

CONNECT_FLOW_TOTAL = Entity(
    "ConnectFlowTotal",
    "Connect flows over a window: per direction and channel, per direction (channel null) and overall (both "
    "null).",
    source="",  # only through connectFlowTotals
    key=(OrderKey("{t}.direction", nullable=True), OrderKey("{t}.channel", nullable=True)),
    fields=(
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "Null on the overall line.", nullable=True),
        Column(
            "channel", "{t}.channel", CONNECT_CHANNEL, "Null on direction and overall lines.", nullable=True
        ),
        Column("currency", "{t}.currency", STRING, "Currency of the amounts.", nullable=True),
        Column("tradingDays", "{t}.trading_days", INT, "Days with figures."),
        Column("firstDay", "{t}.first_day", DATE, "First day with figures."),
        Column("lastDay", "{t}.last_day", DATE, "Last day with figures."),
        Column(
            "buyTurnover",
            "{t}.buy_turnover",
            DECIMAL,
            "Value bought; null when a day in the total lacks it.",
            nullable=True,
        ),
        Column("sellTurnover", "{t}.sell_turnover", DECIMAL, "Value sold; null likewise.", nullable=True),
        Column("totalTurnover", "{t}.total_turnover", DECIMAL, "Value bought plus sold.", nullable=True),
        Column("netBuy", "{t}.net_buy", DECIMAL, "Buy minus sell; null likewise.", nullable=True),
        Column("etfTurnover", "{t}.etf_turnover", DECIMAL, "ETF turnover.", nullable=True),
        _fx("The conversion applied."),
    ),
)

FLOW_TOTALS_SOURCE = "(WITH " + WINDOW + _after_with(_in_window(analytics.FLOW_TOTALS)) + ")"


def _flow_totals(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args.get("from"), args.get("to"))
    _check_days(args)
    last = args.get("lastTradingDays")
    if args.get("from") is None and last is None:
        last = 20
    return {"last": last}


def _flow_totals_sql(shape: Mapping[str, Any]) -> Mapping[str, str]:
    direction, calendar = shape.get("direction"), shape.get("calendar")
    label = str(TRADING_CALENDAR.label(calendar)) if calendar else (direction or "SOUTHBOUND")
    source = analytics.Source(direction) if direction else analytics.Source.SOUTHBOUND_FLOWS
    return {
        "calendar_days": analytics.CALENDAR_DAYS[analytics.Calendar(label)],
        "latest_day": analytics.LATEST_DAY[source],
    }


# --- grouped rankings ------------------------------------------------------------------------------------

ETF_GROUP_AGGREGATE = Entity(
    "EtfGroupAggregate",
    "ETF statistics of one group over a window, and its place in the ranking. Amounts that cannot be added "
    "up (two native currencies, or a missing rate) are null.",
    source="",  # only through etfAggregates
    key=(OrderKey("{t}.rank", type="int"),),
    fields=(
        Column("rank", "{t}.rank", INT, "1 for the top; ties broken by `key` ascending."),
        Column("groupBy", "{t}.grouping_name", ETF_GROUPING, "What the group is."),
        Column(
            "key",
            "{t}.sort_key",
            STRING,
            "The group's code: `MIC:code`, issuer slug, index code, theme, `DIRECTION` or "
            "`DIRECTION/CHANNEL`; "
            "null for funds without an index.",
            nullable=True,
        ),
        Column("theme", "{t}.theme", STRING, "The theme, when grouped by theme.", nullable=True),
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "When grouped by Connect.", nullable=True),
        Column("channel", "{t}.channel", CONNECT_CHANNEL, "When grouped by Connect channel.", nullable=True),
        Column("etfCount", "{t}.etf_count", INT, "Funds with figures in the group."),
        Column("tradingDays", "{t}.trading_days", INT, "Days with figures."),
        Column("firstDay", "{t}.first_day", DATE, "First day with figures."),
        Column("lastDay", "{t}.last_day", DATE, "Last day with figures."),
        Column("currency", "{t}.currency", STRING, "Currency of the amounts.", nullable=True),
        Column(
            "netCreationValue",
            "{t}.net_creation_value",
            DECIMAL,
            "Creations minus redemptions.",
            nullable=True,
        ),
        Column(
            "creationValue",
            "{t}.creation_value",
            DECIMAL,
            "Net creations summed over the fund-days with net creation.",
            nullable=True,
        ),
        Column(
            "redemptionValue",
            "{t}.redemption_value",
            DECIMAL,
            "Net redemptions (a positive amount) summed over the fund-days with net redemption.",
            nullable=True,
        ),
        Column("netCreationUnits", "{t}.net_creation_units", DECIMAL, "Units created minus redeemed."),
        Column("turnover", "{t}.turnover", DECIMAL, "Value traded, where published.", nullable=True),
        Column(
            "aumStart",
            "{t}.aum_start",
            DECIMAL,
            "AUM at the close of each fund's first day in the window, summed.",
            nullable=True,
        ),
        Column(
            "aumEnd",
            "{t}.aum_end",
            DECIMAL,
            "AUM at the close of each fund's last day in the window, summed.",
            nullable=True,
        ),
        Column("aumChange", "{t}.aum_change", DECIMAL, "`aumEnd` minus `aumStart`.", nullable=True),
        _fx("The conversion applied."),
        Relation("etf", "Etf", "The fund, when grouped by ETF.", join="{c}.id = {p}.etf_id", nullable=True),
        Relation(
            "issuer",
            "Manager",
            "The issuer, when grouped by issuer.",
            join="{c}.id = {p}.issuer_id",
            nullable=True,
        ),
        Relation(
            "index",
            "Index",
            "The tracked index, when grouped by index.",
            join="{c}.id = {p}.index_id",
            nullable=True,
        ),
    ),
)

_PICKED = "(SELECT id FROM funds_pick)"
_ROLLUP = "(" + analytics.GROUP_AGGREGATES_ROLLUP.replace("{etf}", _PICKED) + ")"
_ETF_ROLLUP = {
    metric: "(" + sql.replace("{etf}", _PICKED) + ")"
    for metric, sql in analytics.GROUP_AGGREGATES_ETF_ROLLUP.items()
}
_ROWS = (
    "(WITH "
    + WINDOW
    + _after_with(_in_window(analytics.GROUP_AGGREGATES)).replace("{etf}", "(SELECT id FROM funds_pick)")
    + ")"
)
# The rollup path for the groupings it covers, the fund-day path for the Connect groupings; either way the
# fund asked for by code is looked up once.
AGGREGATES_SOURCE = (
    """(WITH funds_pick AS (SELECT """
    + ETF_LOOKUP
    + """ AS id)
    SELECT a.*, {grouping}::text AS grouping_name FROM {aggregates} a)"""
)


def _aggregates(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    top = args.get("top")
    if top is not None and top <= 0:
        raise BadInput(f"`top` must be positive (got {top})", argument="top")
    check_page("top", top, context.max_page_size)
    check_range(args.get("from"), args.get("to"))
    _check_days(args)
    last = args.get("lastTradingDays")
    if args.get("from") is None and last is None:
        last = 20
    return {**_selection(args), "last": last, "ascending": args.get("direction") == "ASC"}


def _aggregates_sql(shape: Mapping[str, Any]) -> Mapping[str, str]:
    grouping = analytics.Grouping(shape["groupBy"])
    calendar = analytics.Calendar(str(TRADING_CALENDAR.label(shape["calendar"])))
    if grouping is analytics.Grouping.ETF:  # one statement per metric (``orderBy`` is part of the shape)
        return {"aggregates": _ETF_ROLLUP[analytics.EtfMetric(str(ETF_METRIC.label(shape["orderBy"])))]}
    if grouping in analytics.ROLLUP_GROUPINGS:
        return {"aggregates": _ROLLUP}
    keys, join = analytics.GROUP_KEYS[grouping]
    rows = _ROWS.replace("{group_keys}", keys).replace("{group_join}", join)
    return {
        "aggregates": rows,
        "metric": str(ETF_METRIC.label(shape["orderBy"])),
        "calendar_days": analytics.CALENDAR_DAYS[calendar],
        "latest_day": analytics.LATEST_DAY[analytics.Source.ETF_STATS],
    }


# --- membership events -----------------------------------------------------------------------------------

# Every change of an index's membership: a period that begins (after one with another weight, or after
# none) and a period that ends with none following it, effective in [from, to].
MEMBERSHIP_EVENTS = """(WITH scope AS (
        SELECT i.id, i.code FROM indices i
        WHERE ({index}::text IS NULL OR i.code = {index}::text)
          AND ({theme}::text IS NULL OR i.themes @> ARRAY[{theme}::text])),
    periods AS (
        SELECT m.index_id, m.security_id, m.weight_pct, m.effective_from, m.effective_to
        FROM index_memberships m JOIN scope s ON s.id = m.index_id),
    events AS (
        SELECT p.index_id, p.security_id, p.effective_from AS effective_date,
               b.weight_pct AS weight_before, p.weight_pct AS weight_after
        FROM periods p
        LEFT JOIN periods b ON b.index_id = p.index_id AND b.security_id = p.security_id
                           AND b.effective_to = p.effective_from
        UNION ALL
        SELECT p.index_id, p.security_id, p.effective_to, p.weight_pct, NULL
        FROM periods p
        WHERE p.effective_to IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM periods n WHERE n.index_id = p.index_id AND n.security_id = p.security_id
                                      AND n.effective_from = p.effective_to))
    SELECT e.*, coalesce(e.weight_after, 0) - coalesce(e.weight_before, 0) AS weight_change,
           CASE WHEN e.weight_before IS NULL THEN 'ADDED' WHEN e.weight_after IS NULL THEN 'REMOVED'
                ELSE 'REWEIGHTED' END AS kind,
           s.code AS index_code, x.mic AS security_mic, x.local_code AS security_local_code
    FROM events e JOIN scope s ON s.id = e.index_id JOIN securities x ON x.id = e.security_id
    WHERE e.weight_before IS DISTINCT FROM e.weight_after
      AND e.effective_date BETWEEN {from} AND {to})"""

CONSTITUENT_CHANGE = Entity(
    "ConstituentChange",
    "A change of one constituent's membership of an index, effective on a day, with its weight before and "
    "after.",
    source="",  # only through indexMembershipChanges
    key=(
        OrderKey("{t}.effective_date", type="date"),
        OrderKey("{t}.index_id", type="bigint"),
        OrderKey("{t}.security_id", type="bigint"),
    ),
    fields=(
        Column("effectiveDate", "{t}.effective_date", DATE, "The day the change took effect."),
        Column("kind", "{t}.kind", MEMBERSHIP_CHANGE_KIND, "Added, removed or reweighted."),
        Column(
            "weightBefore",
            "{t}.weight_before",
            DECIMAL,
            "Weight the day before, %; null when not a member then.",
            nullable=True,
        ),
        Column(
            "weightAfter",
            "{t}.weight_after",
            DECIMAL,
            "Weight from that day, %; null when no longer a member.",
            nullable=True,
        ),
        Column("weightChange", "{t}.weight_change", DECIMAL, "After minus before (absent counts as 0)."),
        Relation(
            "index",
            "Index",
            "The index (its `etfs` are the funds whose holdings change).",
            join="{c}.id = {p}.index_id",
            sort=True,
        ),
        Relation("security", "Security", "The constituent.", join="{c}.id = {p}.security_id", sort=True),
    ),
)


def _membership_events(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args["from"], args["to"])
    index, theme = args.get("index"), args.get("theme")
    return {
        "index": index.strip().upper() if index else None,
        "theme": theme.strip().lower() if theme else None,
    }


# --- look-through ----------------------------------------------------------------------------------------

ETF_LOOK_THROUGH = Entity(
    "EtfLookThrough",
    "One ETF's look-through exposure to a security: AUM x the index weight.",
    source="",  # only through IndexLookThrough.etfs
    key=(OrderKey("{t}.ord", type="bigint"),),
    fields=(
        Column("weightPct", "{t}.weight_pct", DECIMAL, "The security's weight in the tracked index, %."),
        Column(
            "aumDay",
            "{t}.aum_day",
            DATE,
            "Day of the AUM used: the latest on or before the date asked; null when none.",
            nullable=True,
        ),
        Column("nativeCurrency", "{t}.native_currency", STRING, "The fund's own currency.", nullable=True),
        Column("nativeAum", "{t}.native_aum", DECIMAL, "AUM in the fund's own currency.", nullable=True),
        Column("currency", "{t}.currency", STRING, "Currency of `aum` and `exposure`.", nullable=True),
        Column("aum", "{t}.aum", DECIMAL, "AUM converted at the rate of `aumDay`.", nullable=True),
        Column("exposure", "{t}.exposure", DECIMAL, "AUM x weight / 100.", nullable=True),
        _fx("The conversion applied."),
        Relation("etf", "Etf", "The fund.", join="{c}.id = {p}.etf_id", sort=True),
    ),
)

INDEX_LOOK_THROUGH = Entity(
    "IndexLookThrough",
    "An index holding the security, and the funds exposed through it.",
    source="",  # only through LookThroughExposure.indices
    key=(OrderKey("{t}.ord", type="bigint"),),
    fields=(
        Column("weightPct", "{t}.weight_pct", DECIMAL, "The security's weight in the index, %."),
        Column("etfCount", "{t}.etf_count", INT, "Listed funds tracking the index."),
        Column("currency", "{t}.currency", STRING, "Currency of `aum` and `exposure`.", nullable=True),
        Column("aum", "{t}.aum", DECIMAL, "AUM of those funds.", nullable=True),
        Column("exposure", "{t}.exposure", DECIMAL, "Their look-through exposure, summed.", nullable=True),
        _fx("The conversion applied."),
        Relation(
            "etfs",
            "EtfLookThrough",
            "The funds, largest exposure first.",
            source=_json_rows(
                "etfs",
                "etf_id bigint, weight_pct numeric, aum_day date, native_aum numeric, aum numeric, "
                "exposure numeric, ord bigint",
            ),
            many=True,
        ),
        Relation("index", "Index", "The index.", join="{c}.id = {p}.index_id", sort=True),
    ),
)

LOOK_THROUGH_EXPOSURE = Entity(
    "LookThroughExposure",
    "A security's look-through exposure on a date: indices holding it, ETFs tracking them.",
    source="",  # only through lookThroughExposure
    key=(OrderKey("{t}.security_id", type="bigint"),),
    fields=(
        Column("asOf", "{t}.as_of", DATE, "The date of the weights (and latest AUM on or before it)."),
        Column("currency", "{t}.currency", STRING, "Currency of `aum` and `exposure`.", nullable=True),
        Column("etfCount", "{t}.etf_count", INT, "Funds exposed."),
        Column("aum", "{t}.aum", DECIMAL, "AUM of the exposed funds.", nullable=True),
        Column("exposure", "{t}.exposure", DECIMAL, "Total look-through exposure.", nullable=True),
        _fx("The conversion applied."),
        Relation(
            "indices",
            "IndexLookThrough",
            "Indices holding the security, largest exposure first.",
            source=_json_rows(
                "index_lines",
                "index_id bigint, weight_pct numeric, etf_count int, aum numeric, exposure numeric, "
                "etfs jsonb, ord bigint",
            ),
            many=True,
        ),
        Relation("security", "Security", "The security.", join="{c}.id = {p}.security_id"),
    ),
)

# The lines are computed once; the root row is the total, carrying its indices (each with its funds).
LOOK_THROUGH_SOURCE = (
    """(WITH security AS (
            SELECT s.id FROM securities s WHERE s.mic = {mic} AND s.local_code = {local}),
        lines AS MATERIALIZED ("""
    + analytics.LOOK_THROUGH.replace("{security}", "(SELECT id FROM security)")
    + """)
        SELECT t.*, {asOf}::date AS as_of, s.id AS security_id,
               (SELECT coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object('etfs', (
                           SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.ord), '[]'::jsonb) FROM lines e
                           WHERE e.index_id = i.index_id AND e.etf_id IS NOT NULL)) ORDER BY i.ord),
                           '[]'::jsonb)
                FROM lines i WHERE i.etf_id IS NULL AND NOT i.is_total) AS index_lines
        FROM security s JOIN lines t ON t.is_total)"""
)


def _look_through(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    mic, local = parse_code(args["security"], "security")
    return {"mic": mic, "local": local}


# --- creation rankings -----------------------------------------------------------------------------------

ETF_CREATION_RANK = Entity(
    "EtfCreationRank",
    "An ETF's place in a ranking by net creations over a window.",
    source="",  # only through topEtfsByNetCreation
    key=(OrderKey("{t}.rank", type="int"),),
    fields=(
        Column("rank", "{t}.rank", INT, "1 for the top; ties broken by ETF code."),
        Column("currency", "{t}.currency", STRING, "Currency of `netCreationValue`."),
        Column(
            "netCreationValue",
            "{t}.net_creation_value",
            DECIMAL,
            "Net creations over the window, each day converted at that day's rate.",
        ),
        Column("netCreationUnits", "{t}.net_creation_units", DECIMAL, "Net units created over the window."),
        Column("tradingDays", "{t}.trading_days", INT, "Trading days with data in the window."),
        Column("firstDay", "{t}.first_day", DATE, "First trading day counted."),
        Column("lastDay", "{t}.last_day", DATE, "Last trading day counted."),
        Relation(
            "etf",
            "Etf",
            "The fund (reference data).",
            join="{c}.id = {p}.etf_id",
            nullable=True,
            scope=READ_REFERENCE,
            sort=True,
        ),
    ),
)

# The window's first day: `from`, else the first of the last N Hong Kong trading days up to `to` (default:
# the latest day with ETF figures); its last day: `to`, else today.
_RANK_FROM = """coalesce({from}::date, (SELECT min(d.day) FROM (
        SELECT day FROM trading_calendar
        WHERE market = 'XHKG' AND is_open
          AND day <= coalesce({to}::date, (SELECT max(trading_day) FROM etf_daily_stats))
        ORDER BY day DESC LIMIT {last}::int) d))"""
RANKING_SOURCE = "(" + stats.TOP_BY_NET_CREATION.replace("{to}", "{end}").replace("{from}", _RANK_FROM) + ")"


def _ranking(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args.get("from"), args.get("to"))
    check_positive("first", args.get("first"), context.max_page_size)
    check_positive("lastTradingDays", args.get("lastTradingDays"), MAX_TRADING_DAYS)
    return {
        "last": args.get("lastTradingDays") or 20,
        "end": args.get("to") or context.today,
        "ascending": args.get("direction") == "ASC",
    }


ROOTS = (
    Root(
        "topEtfsByNetCreation",
        "ETFs ranked by net creations over a window (default: the last 20 Hong Kong trading days), "
        "optionally by index theme, issuer or index; amounts in `currency`.",
        RootKind.LIST,
        target="EtfCreationRank",
        source=RANKING_SOURCE,
        args=(
            Arg("from", DATE, "First day, inclusive."),
            Arg("to", DATE, "Last day, inclusive (default today)."),
            Arg("lastTradingDays", INT, "Window of the latest N trading days (default 20)."),
            Arg("theme", STRING, "Only funds whose index has this theme."),
            Arg(
                "issuer",
                STRING,
                "Issuer slug: its funds, each with the days the issuer managed it.",
            ),
            Arg("index", STRING, "Index code."),
            Arg("currency", CURRENCY, "Report amounts in this currency.", required=True, default="HKD"),
            Arg("first", INT, "How many to rank.", required=True, default=20),
            Arg("direction", SORT_DIRECTION, "DESC: largest creations first.", required=True, default="DESC"),
        ),
        prepare=_ranking,
        params={"end": "date", "ascending": "boolean", "last": "int"},
        scope=READ_FLOWS,
    ),
    Root(
        "flowSeries",
        "Stock Connect flows of a direction per DAY, WEEK, MONTH, QUARTER or YEAR: sum, average, min, max "
        "and running total per bucket, each day converted at its own FX rate. Closed days are absent; "
        "`lastTradingDays` counts the direction's Connect days.",
        RootKind.ONE,
        target="FlowSeries",
        source=FLOW_SERIES_SOURCE,
        args=(
            Arg("direction", CONNECT_DIRECTION, "Southbound or northbound.", required=True),
            Arg("channel", CONNECT_CHANNEL, "One link; default both summed."),
            Arg("measure", FLOW_MEASURE, "The daily figure to aggregate.", required=True, default="NET_BUY"),
            Arg("interval", INTERVAL, "Bucket size.", required=True, default="DAY"),
            FROM,
            TO,
            LAST_DAYS,
            IN_CURRENCY,
            Arg(
                "sumAbove",
                DECIMAL,
                "Only the buckets whose sum exceeds this amount (in `currency`).",
                param="above",
            ),
        ),
        prepare=_flow_series,
        scope=READ_FLOWS,
    ),
    Root(
        "etfSeries",
        "A daily ETF statistic summed over the selected funds per DAY, WEEK, MONTH, QUARTER or YEAR, with "
        "sum, average, min, max, first, last and running total per bucket (NAV_PER_UNIT: one fund's NAV).",
        RootKind.ONE,
        target="Series",
        source="{etf_series_source}",
        args=(
            *_selection_args(),
            Arg(
                "measure",
                ETF_MEASURE,
                "The daily statistic to aggregate.",
                required=True,
                default="NET_CREATION_VALUE",
                shape=True,
            ),
            Arg("interval", INTERVAL, "Bucket size.", required=True, default="DAY"),
            FROM,
            TO,
            LAST_DAYS,
            Arg(
                "calendar",
                TRADING_CALENDAR,
                "The trading days the series and `lastTradingDays` count.",
                required=True,
                default="HONG_KONG",
                shape=True,
            ),
            IN_CURRENCY,
            Arg("sumAbove", DECIMAL, "Only the buckets whose sum exceeds this amount.", param="above"),
        ),
        prepare=_etf_series,
        fragments=_etf_series_sql,
        params=SELECTION_PARAMS,
        checks=(ETF_MISSING,),
        scope=READ_FLOWS,
    ),
    Root(
        "connectFlowTotals",
        "Stock Connect flows over a window per direction and channel, per direction and overall (GROUPING "
        "SETS), converted day by day. Default window: the last 20 days of `calendar`.",
        RootKind.LIST,
        target="ConnectFlowTotal",
        source=FLOW_TOTALS_SOURCE,
        where="{c}.trading_days > 0",
        args=(
            Arg("direction", CONNECT_DIRECTION, "Only this direction (default both).", shape=True),
            FROM,
            TO,
            LAST_DAYS,
            Arg(
                "calendar",
                TRADING_CALENDAR,
                "Default: the direction's Connect days (southbound if none).",
                shape=True,
            ),
            IN_CURRENCY,
        ),
        prepare=_flow_totals,
        fragments=_flow_totals_sql,
        order=(
            OrderKey("{t}.direction", nullable=True),
            OrderKey("{t}.channel", nullable=True),
        ),
        scope=READ_FLOWS,
    ),
    Root(
        "etfAggregates",
        "ETF statistics over a window grouped by ETF, issuer, index, theme, Connect direction or channel "
        "(net creations, creations, redemptions, turnover, AUM change), ranked by `orderBy` with ties broken "
        "by the "
        "group's key. Default window: the last 20 days of `calendar`.",
        RootKind.LIST,
        target="EtfGroupAggregate",
        source=AGGREGATES_SOURCE,
        args=(
            Arg(
                "groupBy",
                ETF_GROUPING,
                "What to group by.",
                required=True,
                default="ETF",
                shape=True,
                param="grouping",
            ),
            *_selection_args(),
            FROM,
            TO,
            LAST_DAYS,
            Arg(
                "calendar",
                TRADING_CALENDAR,
                "The trading days `lastTradingDays` counts.",
                required=True,
                default="HONG_KONG",
                shape=True,
            ),
            IN_CURRENCY,
            Arg(
                "orderBy",
                ETF_METRIC,
                "What to rank by.",
                required=True,
                default="NET_CREATION_VALUE",
                shape=True,
                param="metric",
            ),
            Arg("direction", SORT_DIRECTION, "DESC: largest first.", required=True, default="DESC"),
            Arg("top", INT, "Only the first N groups."),
        ),
        prepare=_aggregates,
        fragments=_aggregates_sql,
        params={**SELECTION_PARAMS, "ascending": "boolean"},
        checks=(ETF_MISSING,),
        scope=READ_FLOWS,
    ),
    Root(
        "indexMembershipChanges",
        "Every change of index membership effective in [from, to]: constituents added, removed or "
        "reweighted, "
        "with the weight before and after. The funds affected are each change's `index.etfs`.",
        RootKind.LIST,
        target="ConstituentChange",
        source=MEMBERSHIP_EVENTS,
        args=(
            Arg("from", DATE, "First effective date, inclusive.", required=True),
            Arg("to", DATE, "Last effective date, inclusive.", required=True),
            Arg("index", STRING, "Only this index (code)."),
            Arg("theme", STRING, "Only indices with this theme."),
            Arg(
                "kinds",
                MEMBERSHIP_CHANGE_KIND,
                "Only these kinds of change (default all).",
                many=True,
                when="{c}.kind = ANY({kinds})",
            ),
        ),
        prepare=_membership_events,
        order=(
            OrderKey("{t}.effective_date", type="date"),
            OrderKey("{t}.index_code"),
            OrderKey("CASE {t}.kind WHEN 'ADDED' THEN 0 WHEN 'REMOVED' THEN 1 ELSE 2 END", type="int"),
            OrderKey("abs({t}.weight_change)", descending=True, type="numeric"),
            OrderKey("{t}.security_mic"),
            OrderKey("{t}.security_local_code"),
        ),
        scope=READ_REFERENCE,
    ),
    Root(
        "lookThroughExposure",
        "A security's look-through exposure on `asOf` (default today): the indices holding it with its "
        "weight, "
        "the listed ETFs tracking them, and AUM x weight in `currency`.",
        RootKind.ONE,
        target="LookThroughExposure",
        source=LOOK_THROUGH_SOURCE,
        args=(
            Arg("security", STRING, "`MIC:local code`, e.g. `XKRX:000660`.", required=True),
            Arg("asOf", DATE, "Default today (Hong Kong).", today=True),
            IN_CURRENCY,
        ),
        prepare=_look_through,
        params={"mic": "text", "local": "text"},
        not_found="No security with code {security!r}",
        not_found_argument="security",
        scope=READ_FLOWS,
    ),
)

ENTITIES = (
    FX_USAGE,
    SERIES_BUCKET,
    SERIES,
    FLOW_SERIES,
    CONNECT_FLOW_TOTAL,
    ETF_GROUP_AGGREGATE,
    CONSTITUENT_CHANGE,
    ETF_LOOK_THROUGH,
    INDEX_LOOK_THROUGH,
    LOOK_THROUGH_EXPOSURE,
    ETF_CREATION_RANK,
)
