"""Compiled-path shapes of the analytics answers (see ``json_shapes``): Connect flow series, rankings
and look-through.

The SQL is the repository's (``service/repositories/analytics.py``): the root sources wrap its statement
templates, whose ``{name}`` placeholders become the compiled statement's parameters. What the resolvers
check or look up first (a fund by code, Connect groupings, argument errors) is left to the reference
executor (``Uncompiled``), so the two paths can only answer alike; ``tests/schema/test_compiled.py`` holds
them equal. Registered into ``SHAPES`` and ``ROOTS`` on import (``json_shapes`` imports this module).
"""

from __future__ import annotations

from typing import Any

from service.arguments import check_range
from service.codes import parse_code
from service.repositories import analytics
from service.repositories.json_shapes import (
    ROOTS,
    SHAPES,
    ArgValues,
    Column,
    Limits,
    Relation,
    Shape,
    Uncompiled,
    _enum,
)

MAX_TRADING_DAYS = 10_000  # as schema/analytics/queries.py

# The FX details of a row carrying native_currency, currency and the FX_USAGE columns.
_FX = Relation(
    "FxUsage",
    many=False,
    source="""(SELECT {p}.native_currency, {p}.currency, {p}.fx_min_rate, {p}.fx_max_rate,
                      {p}.fx_first_rate_date, {p}.fx_last_rate_date, {p}.fx_days_on_earlier_rate,
                      {p}.fx_days_without_rate) {c}""",
)

SHAPES["FxUsage"] = Shape(
    node=None,
    fields={
        "fromCurrency": Column("{t}.native_currency"),
        "toCurrency": Column("{t}.currency"),
        "rate": Column("CASE WHEN {t}.fx_min_rate = {t}.fx_max_rate THEN {t}.fx_min_rate END", decimal=True),
        "rateDate": Column(
            "CASE WHEN {t}.fx_first_rate_date = {t}.fx_last_rate_date THEN {t}.fx_first_rate_date END"
        ),
        "minRate": Column("{t}.fx_min_rate", decimal=True),
        "maxRate": Column("{t}.fx_max_rate", decimal=True),
        "firstRateDate": Column("{t}.fx_first_rate_date"),
        "lastRateDate": Column("{t}.fx_last_rate_date"),
        "daysOnEarlierRate": Column("{t}.fx_days_on_earlier_rate"),
        "daysWithoutRate": Column("{t}.fx_days_without_rate"),
    },
)

SHAPES["EtfGroupAggregate"] = Shape(
    node=None,
    fields={
        "rank": Column("{t}.rank"),
        "groupBy": Column("{t}.group_by"),
        "key": Column("{t}.sort_key"),
        "theme": Column("{t}.theme"),
        "direction": Column("{t}.direction"),
        "channel": Column("{t}.channel"),
        "etfCount": Column("{t}.etf_count"),
        "tradingDays": Column("{t}.trading_days"),
        "firstDay": Column("{t}.first_day"),
        "lastDay": Column("{t}.last_day"),
        "currency": Column("{t}.currency"),
        "netCreationValue": Column("{t}.net_creation_value", decimal=True),
        "creationValue": Column("{t}.creation_value", decimal=True),
        "redemptionValue": Column("{t}.redemption_value", decimal=True),
        "netCreationUnits": Column("{t}.net_creation_units", decimal=True),
        "turnover": Column("{t}.turnover", decimal=True),
        "aumStart": Column("{t}.aum_start", decimal=True),
        "aumEnd": Column("{t}.aum_end", decimal=True),
        "aumChange": Column("{t}.aum_change", decimal=True),
        "fx": _FX,
        "etf": Relation("Etf", many=False, source="etfs {c} WHERE {c}.id = {p}.etf_id"),
        "issuer": Relation("Manager", many=False, source="asset_managers {c} WHERE {c}.id = {p}.issuer_id"),
        "index": Relation("Index", many=False, source="indices {c} WHERE {c}.id = {p}.index_id"),
    },
)

# Look-through lines travel from the root row to its indices and their funds as JSON (numbers keep their
# exact value and scale in jsonb), read back with these columns.
_FX_COLUMNS = """native_currency text, currency text, fx_min_rate numeric, fx_max_rate numeric,
    fx_first_rate_date date, fx_last_rate_date date, fx_days_on_earlier_rate int, fx_days_without_rate int"""

# A series' buckets travel from the root row as JSON, like the look-through lines below.
_BUCKET_COLUMNS = """period_start date, period_end date, first_day date, last_day date, trading_days int,
    days_with_value int, sum numeric, avg numeric, min numeric, max numeric, first numeric, last numeric,
    running_total numeric"""

SHAPES["SeriesBucket"] = Shape(
    node=None,
    fields={
        "periodStart": Column("{t}.period_start"),
        "periodEnd": Column("{t}.period_end"),
        "firstDay": Column("{t}.first_day"),
        "lastDay": Column("{t}.last_day"),
        "tradingDays": Column("{t}.trading_days"),
        "daysWithValue": Column("{t}.days_with_value"),
        "currency": Column("{t}.currency"),
        "sum": Column("{t}.sum", decimal=True),
        "avg": Column("{t}.avg", decimal=True),
        "min": Column("{t}.min", decimal=True),
        "max": Column("{t}.max", decimal=True),
        "first": Column("{t}.first", decimal=True),
        "last": Column("{t}.last", decimal=True),
        "runningTotal": Column("{t}.running_total", decimal=True),
        "fx": _FX,
    },
)

SHAPES["FlowSeries"] = Shape(
    node=None,
    fields={
        "interval": Column("{t}.interval"),
        "windowFrom": Column("{t}.window_from"),
        "windowTo": Column("{t}.window_to"),
        "direction": Column("{t}.direction"),
        "channel": Column("{t}.channel"),
        "measure": Column("{t}.measure"),
        "buckets": Relation(
            "SeriesBucket",
            many=True,
            source=f"""jsonb_to_recordset({{p}}.buckets) AS {{c}} ({_BUCKET_COLUMNS}, {_FX_COLUMNS})""",
            order="{c}.period_start",
        ),
    },
)

SHAPES["EtfLookThrough"] = Shape(
    node=None,
    fields={
        "weightPct": Column("{t}.weight_pct", decimal=True),
        "aumDay": Column("{t}.aum_day"),
        "nativeCurrency": Column("{t}.native_currency"),
        "nativeAum": Column("{t}.native_aum", decimal=True),
        "currency": Column("{t}.currency"),
        "aum": Column("{t}.aum", decimal=True),
        "exposure": Column("{t}.exposure", decimal=True),
        "fx": _FX,
        "etf": Relation("Etf", many=False, source="etfs {c} WHERE {c}.id = {p}.etf_id"),
    },
)

SHAPES["IndexLookThrough"] = Shape(
    node=None,
    fields={
        "weightPct": Column("{t}.weight_pct", decimal=True),
        "etfCount": Column("{t}.etf_count"),
        "currency": Column("{t}.currency"),
        "aum": Column("{t}.aum", decimal=True),
        "exposure": Column("{t}.exposure", decimal=True),
        "fx": _FX,
        "etfs": Relation(
            "EtfLookThrough",
            many=True,
            source=f"""jsonb_to_recordset({{p}}.etfs) AS {{c}} (
                etf_id bigint, weight_pct numeric, aum_day date, native_aum numeric, aum numeric,
                exposure numeric, ord bigint, {_FX_COLUMNS})""",
            order="{c}.ord",
        ),
        "index": Relation("Index", many=False, source="indices {c} WHERE {c}.id = {p}.index_id"),
    },
)

SHAPES["LookThroughExposure"] = Shape(
    node=None,
    fields={
        "asOf": Column("{t}.as_of"),
        "currency": Column("{t}.currency"),
        "etfCount": Column("{t}.etf_count"),
        "aum": Column("{t}.aum", decimal=True),
        "exposure": Column("{t}.exposure", decimal=True),
        "fx": _FX,
        "indices": Relation(
            "IndexLookThrough",
            many=True,
            source=f"""jsonb_to_recordset({{p}}.index_lines) AS {{c}} (
                index_id bigint, weight_pct numeric, etf_count int, aum numeric, exposure numeric,
                etfs jsonb, ord bigint, {_FX_COLUMNS})""",
            order="{c}.ord",
        ),
        "security": Relation("Security", many=False, source="securities {c} WHERE {c}.id = {p}.security_id"),
    },
)


def _currency(args: ArgValues) -> str | None:
    value = _enum(args.get("currency"))
    return None if value in (None, "NATIVE") else str(value)


def _name(value: Any) -> str | None:
    """The GraphQL name of an enum argument (the answer names the enum value, not its label)."""
    return None if value is None else str(getattr(value, "name", value))


def _flow_series(args: ArgValues, limits: Limits) -> dict[str, Any]:
    start, end, last = args.get("from"), args.get("to"), args.get("lastTradingDays")
    check_range(start, end)
    if last is not None and (start is not None or not 0 < last <= MAX_TRADING_DAYS):
        raise Uncompiled("`lastTradingDays` is refused by the resolver")
    return {
        "direction": _enum(args["direction"]),
        "channel": _enum(args.get("channel")),
        "measure": _enum(args.get("measure")) or analytics.FlowMeasure.NET_BUY.value,
        "from": start,
        "to": end,
        "interval": _enum(args.get("interval")) or "day",
        "currency": _currency(args),
        "above": args.get("sumAbove"),
        "last": last,
        "interval_name": _name(args.get("interval")) or "DAY",
        "direction_name": _name(args["direction"]),
        "channel_name": _name(args.get("channel")),
        "measure_name": _name(args.get("measure")) or "NET_BUY",
    }


def _aggregates(args: ArgValues, limits: Limits) -> dict[str, Any]:
    grouping = _enum(args.get("groupBy")) or analytics.Grouping.ETF.value
    if grouping not in {g.value for g in analytics.ROLLUP_GROUPINGS}:
        raise Uncompiled("Connect groupings are counted per fund-day")
    if args.get("etf") is not None:
        raise Uncompiled("the fund is looked up by code first")
    top, last = args.get("top"), args.get("lastTradingDays")
    start, end = args.get("from"), args.get("to")
    if top is not None and not 0 < top <= limits.max_page_size:
        raise Uncompiled("`top` is refused by the resolver")
    if last is not None and (start is not None or not 0 < last <= MAX_TRADING_DAYS):
        raise Uncompiled("`lastTradingDays` is refused by the resolver")
    if start is not None and end is not None and start > end:
        raise Uncompiled("the window is refused by the resolver")
    if start is None and last is None:
        last = 20
    currency = _currency(args)
    if currency is not None and currency not in analytics.ROLLUP_CURRENCIES:
        raise Uncompiled("no rollup in this currency")
    issuer, index, theme = args.get("issuer"), args.get("index"), args.get("theme")
    return {
        "etf": None,
        "issuer": issuer.strip().lower() if issuer else None,
        "index": index.strip().upper() if index else None,
        "theme": theme.strip().lower() if theme else None,
        "calendar": _enum(args.get("calendar")) or analytics.Calendar.HONG_KONG.value,
        "from": start,
        "to": end,
        "last": last,
        "grouping": grouping,
        "currency": currency,
        "metric": _enum(args.get("orderBy")) or analytics.EtfMetric.NET_CREATION_VALUE.value,
        "ascending": _enum(args.get("direction")) == "ASC",
        "top": top,
    }


def _look_through(args: ArgValues, limits: Limits) -> dict[str, Any]:
    mic, local = parse_code(args["security"])
    return {"mic": mic, "local": local, "asOf": args.get("asOf") or limits.today, "currency": _currency(args)}


ROOTS["etfAggregates"] = Relation(
    "EtfGroupAggregate",
    many=True,
    source="(" + analytics.GROUP_AGGREGATES_ROLLUP + ") {c}",
    order="{c}.rank",
    args={
        "etf": "bigint",
        "issuer": "text",
        "index": "text",
        "theme": "text",
        "calendar": "text",
        "from": "date",
        "to": "date",
        "last": "int",
        "grouping": "text",
        "currency": "text",
        "metric": "text",
        "ascending": "boolean",
        "top": "int",
    },
    prepare=_aggregates,
)

# The lines are computed once; the root row is the total, carrying its indices (each with its funds).
LOOK_THROUGH_ROOT = (
    """(WITH security AS (
            SELECT s.id FROM securities s WHERE s.mic = {mic} AND s.local_code = {local}),
        lines AS MATERIALIZED ("""
    + analytics.LOOK_THROUGH.replace("{security}", "(SELECT id FROM security)")
    + """)
        SELECT t.*, {asOf} AS as_of, s.id AS security_id,
               (SELECT coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object('etfs', (
                           SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.ord), '[]'::jsonb) FROM lines e
                           WHERE e.index_id = i.index_id AND e.etf_id IS NOT NULL)) ORDER BY i.ord),
                           '[]'::jsonb)
                FROM lines i WHERE i.etf_id IS NULL AND NOT i.is_total) AS index_lines
        FROM security s JOIN lines t ON t.is_total) {c}"""
)

ROOTS["lookThroughExposure"] = Relation(
    "LookThroughExposure",
    many=False,
    source=LOOK_THROUGH_ROOT,
    args={"mic": "text", "local": "text", "asOf": "date", "currency": "text"},
    prepare=_look_through,
)

# The window is computed once and the buckets over it once; the root row carries them with the window it
# reports: the one counted on the Connect days (as the resolver's), else from/to or the kept buckets' ends.
FLOW_SERIES_ROOT = (
    "(WITH "
    + analytics.FLOW_BOUNDS
    + """,
           series AS MATERIALIZED (WITH """
    + analytics.FLOW_SERIES_BODY
    + """)
        SELECT {interval_name} AS interval, {direction_name} AS direction, {channel_name} AS channel,
               {measure_name} AS measure,
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
               (SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.period_start), '[]'::jsonb) FROM series s)
                   AS buckets
        FROM bounds b) {c}"""
)

ROOTS["flowSeries"] = Relation(
    "FlowSeries",
    many=False,
    source=FLOW_SERIES_ROOT,
    args={
        "direction": "text",
        "channel": "text",
        "measure": "text",
        "from": "date",
        "to": "date",
        "interval": "text",
        "currency": "text",
        "above": "numeric",
        "last": "int",
        "interval_name": "text",
        "direction_name": "text",
        "channel_name": "text",
        "measure_name": "text",
    },
    prepare=_flow_series,
)
