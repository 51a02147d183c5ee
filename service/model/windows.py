"""Trailing windows: per day, the sum and average of the latest N days of a calendar, for Stock Connect
flows (on the direction's Connect days) and for fund figures (on the fund's trading days); SQL in
``service/repositories/windows.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_range
from service.auth.scopes import READ_FLOWS
from service.errors import BadInput
from service.model.analytics import (
    ETF_LOOKUP,
    ETF_MISSING,
    FROM,
    IN_CURRENCY,
    LAST_DAYS,
    SELECTION_PARAMS,
    TO,
    WINDOW,
    _after_with,
    _check_days,
    _fx,
    _selection_args,
    etf_figures_selection,
)
from service.model.common import DATE, DECIMAL, INT, STRING
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Root, RootKind
from service.model.enums import (
    CONNECT_CHANNEL,
    CONNECT_DIRECTION,
    ETF_MEASURE,
    FLOW_MEASURE,
    TRADING_CALENDAR,
)
from service.repositories import analytics, windows

MAX_WINDOW = 2_500

TRAILING_DAY = Entity(
    "TrailingDay",
    "One day of a trailing window: the day's figure, and the sum and average over it and the N - 1 "
    "calendar days before it. A window holding a day whose figure is unknown has no sum nor average "
    "(never one over fewer days); `knownDays` says how many of its days had a figure.",
    source="",  # only through trailingFlows and trailingEtfFigures
    key=(OrderKey("{t}.day", type="date"),),
    series=True,
    fields=(
        Column("day", "{t}.day", DATE, "The trading day (the window's last)."),
        Column(
            "value",
            "{t}.value",
            DECIMAL,
            "The day's figure, converted at its own rate; null when unknown.",
            nullable=True,
        ),
        Column("windowFrom", "{t}.window_from", DATE, "First day of the day's window."),
        Column("windowSize", "{t}.window_size", INT, "N: the days a whole window has."),
        Column(
            "windowDays",
            "{t}.window_days",
            INT,
            "Calendar days in this window: N, fewer only where the calendar starts inside it.",
        ),
        Column("knownDays", "{t}.known_days", INT, "Days of the window with a figure."),
        Column(
            "unknownDays",
            "{t}.unknown_days",
            INT,
            "N minus `knownDays`: days of the window without a figure (or before the calendar's first).",
        ),
        Column("currency", "{t}.currency", STRING, "Currency of the amounts.", nullable=True),
        Column(
            "sum",
            "{t}.sum",
            DECIMAL,
            "Sum of the window's N daily figures; null unless all N are known (and addable).",
            nullable=True,
        ),
        Column(
            "avg",
            "{t}.avg",
            DECIMAL,
            "`sum` / N, to the cent; null when `sum` is.",
            nullable=True,
        ),
        _fx("The conversions applied to the window's days."),
    ),
)


def _window_size(args: Mapping[str, Any]) -> None:
    window = args["window"]
    if not 0 < window <= MAX_WINDOW:
        raise BadInput(f"`window` must be in 1..{MAX_WINDOW} (got {window})", argument="window")


def _trailing_flows(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    _window_size(args)
    check_range(args.get("from"), args.get("to"))
    _check_days(args)
    return {}


TRAILING_FLOWS_SOURCE = "(" + windows.FLOW_TRAILING + ")"

# The fund's own exchange's trading days (Hong Kong's for a selection of several funds): the mainland
# exchanges share the XSHG calendar.
FUND_CALENDAR = """SELECT day FROM trading_calendar
    WHERE is_open AND market = coalesce((SELECT CASE WHEN e.mic = 'XHKG' THEN 'XHKG' ELSE 'XSHG' END
                                         FROM etfs e WHERE e.id = (SELECT id FROM funds_pick)), 'XHKG')"""


def _etf_trailing_source(head: str) -> str:
    """The trailing figures over an ETF series' days (``head``: its CTEs from ``WITH``), the days shown
    being the window of ``from``/``to``/``lastTradingDays`` on the calendar."""
    shown = {"{from}": "(SELECT lo FROM look)", "{to}": "(SELECT shown_to FROM look)"}
    body = head
    for hole, value in shown.items():
        body = body.replace(hole, value)
    trailing = windows.TRAILING.replace("{shown_from}", "(SELECT shown_from FROM look)").replace(
        "{shown_to}", "(SELECT shown_to FROM look)"
    )
    return (
        "(WITH funds_pick AS (SELECT "
        + ETF_LOOKUP
        + " AS id),\n    "
        + WINDOW
        + """,
    look AS (
        SELECT """
        + windows.lookback("{calendar_days}", "w.lo")
        + """ AS lo, w.lo AS shown_from, w.hi AS shown_to
        FROM win w)"""
        + _after_with(body + trailing).replace("{etf}", "(SELECT id FROM funds_pick)")
        + ")"
    )


_ETF_TRAILING = {
    True: _etf_trailing_source(analytics.ETF_SERIES_HEAD),
    False: _etf_trailing_source(analytics.ETF_SERIES_FUND_DAYS_HEAD),
}


def _trailing_etf(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    _window_size(args)
    return etf_figures_selection(args)


def _trailing_etf_sql(shape: Mapping[str, Any]) -> Mapping[str, str]:
    measure = str(ETF_MEASURE.label(shape["measure"]))
    calendar = shape.get("calendar")
    days = (
        analytics.CALENDAR_DAYS[analytics.Calendar(str(TRADING_CALENDAR.label(calendar)))]
        if calendar
        else FUND_CALENDAR
    )
    return {
        "trailing_source": _ETF_TRAILING[measure in analytics.ROLLUP_MEASURES],
        "measure": measure,
        "calendar_days": days,
        "latest_day": analytics.LATEST_DAY[analytics.Source.ETF_STATS],
    }


WINDOW_SIZE = Arg("window", INT, "N: the days each window holds, the day itself included.", required=True)

ROOTS = (
    Root(
        "trailingFlows",
        "Stock Connect flows of a direction per Connect day with the sum and average of the trailing "
        "`window` Connect days (the day and the N - 1 before it, reaching back before `from`), each day "
        "converted at its own rate. E.g. the 20-Connect-day rolling southbound net buying.",
        RootKind.LIST,
        target="TrailingDay",
        source=TRAILING_FLOWS_SOURCE,
        args=(
            Arg("direction", CONNECT_DIRECTION, "Southbound or northbound.", required=True),
            Arg("channel", CONNECT_CHANNEL, "One link; default both summed."),
            Arg("measure", FLOW_MEASURE, "The daily figure.", required=True, default="NET_BUY"),
            WINDOW_SIZE,
            FROM,
            TO,
            Arg(
                "lastTradingDays",
                INT,
                "Only the latest N Connect days of the direction up to `to`.",
                param="last",
            ),
            IN_CURRENCY,
        ),
        prepare=_trailing_flows,
        scope=READ_FLOWS,
    ),
    Root(
        "trailingEtfFigures",
        "A daily ETF figure summed over the selected funds per trading day, with the sum and average of the "
        "trailing `window` trading days (the day and the N - 1 before it, reaching back before `from`), "
        "each fund-day converted at its own rate. For AUM and NAV per unit (levels) read `avg`.",
        RootKind.LIST,
        target="TrailingDay",
        source="{trailing_source}",
        args=(
            *_selection_args(),
            Arg(
                "measure",
                ETF_MEASURE,
                "The daily figure.",
                required=True,
                default="NET_CREATION_VALUE",
                shape=True,
            ),
            WINDOW_SIZE,
            FROM,
            TO,
            LAST_DAYS,
            Arg(
                "calendar",
                TRADING_CALENDAR,
                "The trading days the windows count; default the fund's own exchange's (Hong Kong's "
                "unless `etf` names a mainland fund).",
                shape=True,
            ),
            IN_CURRENCY,
        ),
        prepare=_trailing_etf,
        fragments=_trailing_etf_sql,
        params=SELECTION_PARAMS,
        checks=(ETF_MISSING,),
        scope=READ_FLOWS,
    ),
)

ENTITIES = (TRAILING_DAY,)
