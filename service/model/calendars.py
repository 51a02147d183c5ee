"""Trading and Connect calendars as answers: the days of a range, the next N open days, the previous one.

Every answer covers only the days the loaded calendar holds, and says so: ``knownFrom``/``knownTo`` are the
loaded range, ``complete`` is false when the question reaches past it (or into a gap), and no day is
made up from weekdays (docs/adr/0015-calendars-fx-and-search.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_positive, check_range
from service.auth.scopes import READ_REFERENCE
from service.errors import BadInput
from service.model.common import BOOLEAN, DATE, INT, STRING
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Relation, Root, RootKind
from service.model.enums import TRADING_CALENDAR

MAX_RANGE_DAYS = 3_660  # ten years of calendar days in one calendarDays answer
MAX_COUNT = 500  # open days in one nextTradingDays answer

# --- the rows of each calendar: (day, is_open, is_half_day, note) ---------------------------------------


def _market_rows(mic: str) -> str:
    return f"SELECT c.day, c.is_open, c.is_half_day, c.note FROM trading_calendar c WHERE c.market = '{mic}'"


def _connect_rows(direction: str) -> str:
    """A Connect direction's days: open as ``connect_days`` has them (migration 0007's rule), with why a
    day is closed: the published exception, else the market(s) closed; half days are Hong Kong's."""
    return f"""SELECT hk.day, cd.day IS NOT NULL AS is_open,
           cd.day IS NOT NULL AND hk.is_half_day AS is_half_day,
           CASE WHEN x.day IS NOT NULL THEN x.reason
                WHEN NOT hk.is_open AND NOT sh.is_open AND hk.note IS NOT DISTINCT FROM sh.note THEN hk.note
                ELSE nullif(concat_ws('; ',
                    CASE WHEN NOT hk.is_open OR hk.is_half_day
                         THEN 'Hong Kong: ' || coalesce(hk.note, 'closed') END,
                    CASE WHEN NOT sh.is_open THEN 'Mainland: ' || coalesce(sh.note, 'closed') END), '')
           END AS note
    FROM trading_calendar hk
    JOIN trading_calendar sh ON sh.market = 'XSHG' AND sh.day = hk.day
    LEFT JOIN connect_days cd ON cd.direction = '{direction}' AND cd.day = hk.day
    LEFT JOIN connect_calendar_exceptions x ON x.direction = '{direction}' AND x.day = hk.day
    WHERE hk.market = 'XHKG'"""


def _market_bounds(mic: str) -> str:
    return f"SELECT min(day) AS lo, max(day) AS hi FROM trading_calendar WHERE market = '{mic}'"


# A Connect day needs both calendars: the range both hold.
_CONNECT_BOUNDS = f"""SELECT greatest(h.lo, s.lo) AS lo, least(h.hi, s.hi) AS hi
    FROM ({_market_bounds("XHKG")}) h, ({_market_bounds("XSHG")}) s"""

CALENDAR_ROWS = {
    "XHKG": _market_rows("XHKG"),
    "XSHG": _market_rows("XSHG"),
    "SOUTHBOUND": _connect_rows("SOUTHBOUND"),
    "NORTHBOUND": _connect_rows("NORTHBOUND"),
}
CALENDAR_BOUNDS = {
    "XHKG": _market_bounds("XHKG"),
    "XSHG": _market_bounds("XSHG"),
    "SOUTHBOUND": _CONNECT_BOUNDS,
    "NORTHBOUND": _CONNECT_BOUNDS,
}


def _calendar_sql(shape: Mapping[str, Any]) -> Mapping[str, str]:
    label = str(TRADING_CALENDAR.label(shape["market"]))
    return {"calendar_rows": CALENDAR_ROWS[label], "calendar_bounds": CALENDAR_BOUNDS[label]}


# --- entities ----------------------------------------------------------------------------------------------

CALENDAR_DAY = Entity(
    "CalendarDay",
    "One calendar day of a market or a Connect direction: open or closed, half day, and why.",
    source="",  # only through the days of a calendar answer
    key=(OrderKey("{t}.day", type="date"),),
    series=True,
    fields=(
        Column("day", "{t}.day", DATE, "The date (exchange-local)."),
        Column("isOpen", "{t}.is_open", BOOLEAN, "Trading (or Connect trading) takes place."),
        Column(
            "isHalfDay",
            "{t}.is_half_day",
            BOOLEAN,
            "Open for the morning session only (Hong Kong half days; a Connect day on one).",
        ),
        Column(
            "isWeekend",
            "{t}.is_weekend",
            BOOLEAN,
            "A Saturday or Sunday (a closed weekday is a holiday).",
        ),
        Column(
            "note",
            "{t}.note",
            STRING,
            "Why the day is closed or short: the holiday, the market closed, or the published Connect "
            "exception (e.g. a mainland make-up working day).",
            nullable=True,
        ),
    ),
)

_DAY_COLUMNS = "day date, is_open boolean, is_half_day boolean, is_weekend boolean, note text"


def _days(description: str) -> Relation:
    return Relation(
        "days",
        "CalendarDay",
        description,
        source=f"jsonb_to_recordset({{p}}.days) AS {{c}} ({_DAY_COLUMNS})",
        many=True,
    )


_MARKET = Column("market", "{t}.market", TRADING_CALENDAR, "The market or Connect direction asked about.")
_KNOWN = (
    Column(
        "knownFrom",
        "{t}.known_from",
        DATE,
        "First day the loaded calendar holds (null: none loaded).",
        nullable=True,
    ),
    Column(
        "knownTo",
        "{t}.known_to",
        DATE,
        "Last day the loaded calendar holds: nothing is said about later days.",
        nullable=True,
    ),
)

CALENDAR_RANGE = Entity(
    "CalendarRange",
    "The days of a market or Connect direction in a date range, as far as the loaded calendar holds them.",
    source="",  # only through calendarDays
    key=(OrderKey("{t}.from_day", type="date"),),
    fields=(
        _MARKET,
        Column("from", "{t}.from_day", DATE, "First day asked about."),
        Column("to", "{t}.to_day", DATE, "Last day asked about."),
        *_KNOWN,
        Column(
            "complete",
            "{t}.unknown_days = 0",
            BOOLEAN,
            "Every day of the range is in the loaded calendar; false: `unknownDays` are not answered.",
        ),
        Column(
            "unknownDays",
            "{t}.unknown_days",
            INT,
            "Days of the range the loaded calendar does not hold (absent from `days`).",
        ),
        Column("openDays", "{t}.open_days", INT, "Open days in the range (half days included)."),
        Column("halfDays", "{t}.half_days", INT, "Half days in the range."),
        Column(
            "holidays",
            "{t}.holidays",
            INT,
            "Weekdays in the range that are closed (holidays, non-Connect days).",
        ),
        _days("Every known day of the range, oldest first (filter `isOpen` for trading days)."),
    ),
)

TRADING_DAYS = Entity(
    "TradingDays",
    "Open days counted from a date, as far as the loaded calendar holds them without a gap.",
    source="",  # only through nextTradingDays and previousTradingDay
    key=(OrderKey("{t}.reference_day", type="date"),),
    fields=(
        _MARKET,
        Column("reference", "{t}.reference_day", DATE, "The day counted from (not itself included)."),
        Column("requested", "{t}.requested", INT, "How many open days were asked for."),
        Column(
            "complete",
            "{t}.found = {t}.requested",
            BOOLEAN,
            "All of them were found; false: the loaded calendar ends (or has a gap) before them.",
        ),
        Column(
            "nearest",
            "{t}.nearest",
            DATE,
            "The open day nearest to `reference` (null: none known).",
            nullable=True,
        ),
        *_KNOWN,
        _days("The open days found, nearest first."),
    ),
)

# --- sources -----------------------------------------------------------------------------------------------

_ROW_COLUMNS = "r.day, r.is_open, r.is_half_day, extract(isodow FROM r.day) >= 6 AS is_weekend, r.note"

RANGE_SOURCE = f"""(WITH rows AS MATERIALIZED (
            SELECT {_ROW_COLUMNS} FROM ({{calendar_rows}}) r WHERE r.day BETWEEN {{from}} AND {{to}})
        SELECT {{market}}::text AS market, {{from}}::date AS from_day, {{to}}::date AS to_day,
               b.lo AS known_from, b.hi AS known_to,
               ({{to}}::date - {{from}}::date + 1) - (SELECT count(*) FROM rows) AS unknown_days,
               (SELECT count(*) FROM rows WHERE is_open) AS open_days,
               (SELECT count(*) FROM rows WHERE is_half_day) AS half_days,
               (SELECT count(*) FROM rows WHERE NOT is_open AND NOT is_weekend) AS holidays,
               (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.day), '[]'::jsonb) FROM rows r) AS days
        FROM ({{calendar_bounds}}) b)"""


def _counted(step: str) -> str:
    """Open days after (``step`` 1) or before (-1) ``{reference}``: the known days are numbered from it,
    and only those with no unknown day in between (day = reference + n x step) count."""
    order, beyond = ("", ">") if step == "1" else (" DESC", "<")
    return f"""(WITH known AS (
            SELECT {_ROW_COLUMNS}, row_number() OVER (ORDER BY r.day{order}) AS n
            FROM ({{calendar_rows}}) r
            WHERE r.day {beyond} {{reference}}),
        picked AS MATERIALIZED (
            SELECT k.day, k.is_open, k.is_half_day, k.is_weekend, k.note FROM known k
            WHERE k.day = {{reference}}::date + {step} * k.n::int AND k.is_open
            ORDER BY k.day{order} LIMIT {{count}})
        SELECT {{market}}::text AS market, {{reference}}::date AS reference_day, {{count}}::int AS requested,
               (SELECT count(*) FROM picked) AS found,
               (SELECT p.day FROM picked p ORDER BY p.day{order} LIMIT 1) AS nearest,
               b.lo AS known_from, b.hi AS known_to,
               (SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.day{order}), '[]'::jsonb) FROM picked p)
                   AS days
        FROM ({{calendar_bounds}}) b)"""


def _range(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    start, end = args["from"], args["to"]
    check_range(start, end)
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadInput(
            f"The range is at most {MAX_RANGE_DAYS} days (got {(end - start).days + 1})", argument="to"
        )
    return {}


def _next(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_positive("count", args["count"], MAX_COUNT)
    return {"reference": args["after"]}


def _previous(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    return {"reference": args["before"], "count": 1}


MARKET = Arg(
    "market",
    TRADING_CALENDAR,
    "Whose days: Hong Kong, the mainland, or a Connect direction (both markets open, with the published "
    "exceptions).",
    required=True,
    default="HONG_KONG",
    shape=True,
)

ROOTS = (
    Root(
        "calendarDays",
        "The days of a market or Connect direction in [from, to]: open days, half days, holidays and why, "
        "as far as the loaded calendar goes (`complete`, `knownTo`).",
        RootKind.ONE,
        target="CalendarRange",
        source=RANGE_SOURCE,
        args=(
            MARKET,
            Arg("from", DATE, "First day, inclusive.", required=True),
            Arg("to", DATE, f"Last day, inclusive (at most {MAX_RANGE_DAYS} days in all).", required=True),
        ),
        prepare=_range,
        fragments=_calendar_sql,
        scope=READ_REFERENCE,
    ),
    Root(
        "nextTradingDays",
        "The next `count` open days of a market or Connect direction after a day (default today), e.g. the "
        "next five Connect days; fewer, with `complete: false`, where the loaded calendar ends.",
        RootKind.ONE,
        target="TradingDays",
        source=_counted("1"),
        args=(
            MARKET,
            Arg("after", DATE, "Count from the day after this one (default today in Hong Kong).", today=True),
            Arg("count", INT, f"How many open days (1 to {MAX_COUNT}).", required=True, default=5),
        ),
        prepare=_next,
        fragments=_calendar_sql,
        params={"reference": "date"},
        scope=READ_REFERENCE,
    ),
    Root(
        "previousTradingDay",
        "The latest open day of a market or Connect direction before a day (default today), as `nearest`; "
        "null with `complete: false` when the loaded calendar does not reach back to it without a gap.",
        RootKind.ONE,
        target="TradingDays",
        source=_counted("-1"),
        args=(
            MARKET,
            Arg("before", DATE, "The day before which to look (default today in Hong Kong).", today=True),
        ),
        prepare=_previous,
        fragments=_calendar_sql,
        params={"reference": "date", "count": "int"},
        scope=READ_REFERENCE,
    ),
)

ENTITIES = (CALENDAR_DAY, CALENDAR_RANGE, TRADING_DAYS)
