"""The ETF Connect eligibility screen: for a review date and direction, each fund's 6-month average daily
AUM against the published thresholds and criteria, the funds at risk of exclusion and the candidates for
inclusion with their margins; the rule and its SQL in ``service/repositories/eligibility.py``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from service.auth.scopes import READ_FLOWS
from service.errors import BadInput
from service.model.common import DATE, DECIMAL, INT, STRING
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Relation, Root, RootKind
from service.model.enums import (
    CONNECT_DIRECTION,
    ELIGIBILITY_OUTCOME,
    ELIGIBILITY_STATUS,
)
from service.repositories import eligibility

WIDENED = date(2024, 7, 22)


def next_review(day: date) -> date:
    """The first review on or after ``day``: the Monday after the first Friday of Mar/Jun/Sep/Dec."""
    for year in (day.year, day.year + 1):
        for month in (3, 6, 9, 12):
            first = date(year, month, 1)
            monday = first + timedelta(days=(4 - first.weekday()) % 7 + 3)
            if monday >= day:
                return monday
    raise AssertionError("unreachable")


_LINE_COLUMNS = """etf_id bigint, etf_key text, status text, criteria_not_met text[], days int,
    last_day date, average numeric, threshold numeric, margin numeric, outcome text, ord bigint"""
_LINE_RECORD = [c.split() for c in _LINE_COLUMNS.split(",")]


def _lines(name: str, column: str, description: str) -> Relation:
    return Relation(
        name,
        "EligibilityScreenLine",
        description,
        source=f"unnest({{p}}.{column}) AS {{c}} ({_LINE_COLUMNS})",
        many=True,
    )


ELIGIBILITY_SCREEN_LINE = Entity(
    "EligibilityScreenLine",
    "One fund screened for a review: its 6-month average daily AUM, the threshold that decides it, the "
    "margin, and what the review would do.",
    source="",  # only through connectEligibilityScreen
    key=(OrderKey("{t}.ord", type="bigint"),),
    fields=(
        Column(
            "status",
            "{t}.status",
            ELIGIBILITY_STATUS,
            "Status on the link the day before the review (either channel); null when not on it.",
            nullable=True,
        ),
        Column("outcome", "{t}.outcome", ELIGIBILITY_OUTCOME, "What the review would do by the rule."),
        Column(
            "averageAum",
            "{t}.average",
            DECIMAL,
            "Average daily AUM over the fund's days with figures in the window, each day at its rate in the "
            "link's currency, to the cent; null without figures.",
            nullable=True,
        ),
        Column("tradingDays", "coalesce({t}.days, 0)", INT, "Days with figures averaged."),
        Column("lastDay", "{t}.last_day", DATE, "Last day averaged.", nullable=True),
        Column(
            "threshold",
            "{t}.threshold",
            DECIMAL,
            "The threshold that decides the fund: exclusion for an eligible fund, inclusion for one not on "
            "the link; for a sell-only fund inclusion when at or above it, else exclusion.",
        ),
        Column(
            "margin",
            "{t}.margin",
            DECIMAL,
            "Average minus threshold (negative: below it), in the link's currency.",
            nullable=True,
        ),
        Column("marginPct", eligibility.MARGIN_PCT, DECIMAL, "Margin in % of the threshold.", nullable=True),
        Column(
            "criteriaNotMet",
            "{t}.criteria_not_met",
            STRING,
            "Criteria other than AUM the fund fails (`LISTED_ON_THE_LINK`, `LISTED_SIX_MONTHS`, "
            "`STILL_LISTED`, `PHYSICAL_REPLICATION`, `NOT_LEVERAGED_OR_INVERSE`, `INVESTMENT_FOCUS`); such a "
            "fund is no candidate and a review leaves it as it is.",
            many=True,
        ),
        Relation("etf", "Etf", "The fund.", join="{c}.id = {p}.etf_id", sort=True),
    ),
)

ELIGIBILITY_SCREEN = Entity(
    "EligibilityScreen",
    "An ETF Connect eligibility review screened ahead: thresholds, funds at risk of exclusion, candidates "
    "for inclusion, and every fund screened.",
    source="",  # only through connectEligibilityScreen
    key=(OrderKey("{t}.review_date", type="date"),),
    fields=(
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "The link."),
        Column("reviewDate", "{t}.review_date", DATE, "The review's effective date."),
        Column("windowFrom", "{t}.window_from", DATE, "First day averaged: six months before the review."),
        Column("windowTo", "{t}.window_to", DATE, "Last day averaged: the day before the review."),
        Column("currency", "{t}.currency", STRING, "Currency of the averages and thresholds."),
        Column("inclusionThreshold", "{t}.inclusion", DECIMAL, "Average needed to be added (or restored)."),
        Column(
            "exclusionThreshold",
            "{t}.exclusion",
            DECIMAL,
            "Average below which an eligible fund moves to the special list (a sell-only one is removed).",
        ),
        _lines(
            "atRisk",
            "at_risk",
            "Funds the review would move to the special list or remove, lowest margin first.",
        ),
        _lines("candidates", "candidates", "Funds the review would add or restore, highest margin first."),
        _lines(
            "funds",
            "funds",
            "Every fund screened (on the link, or meeting the criteria), lowest margin first.",
        ),
    ),
)

# A list of lines in ``{order}`` (``ord`` their place) as an array of records, read back by ``unnest`` with
# ``_LINE_COLUMNS``: the list's page, and only it, becomes JSON in the fields' SQL. (As JSON, every line of
# every list asked for was written out and parsed back before ``first`` kept 20: 2.8 of c4's 12.6 ms of CPU.)
_LINES = (
    "(SELECT array_agg(ROW("
    + ", ".join(f"l.{name}::{kind}" for name, kind in _LINE_RECORD)
    + """) ORDER BY l.ord)
                FROM (SELECT s.*, row_number() OVER (ORDER BY {order}, s.etf_key) AS ord
                      FROM lines s WHERE {where}) l)"""
)

SCREEN_SOURCE = (
    """(WITH lines AS MATERIALIZED ("""
    + eligibility.SCREEN
    + """)
        SELECT {direction}::text AS direction, {review}::date AS review_date,
               ({review}::date - interval '6 months')::date AS window_from, {review}::date - 1 AS window_to,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN 'HKD' ELSE 'CNY' END AS currency,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN 550000000 ELSE 500000000 END::numeric
                   AS inclusion,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN 450000000 ELSE 500000000 END::numeric
                   AS exclusion,
               """
    + _LINES.format(order="s.margin", where="s.outcome IN ('MOVE_TO_SELL_ONLY', 'REMOVE')")
    + """ AS at_risk,
               """
    + _LINES.format(order="s.margin DESC", where="s.outcome IN ('ADD', 'RESTORE')")
    + """ AS candidates,
               """
    + _LINES.format(order="s.margin NULLS LAST", where="true")
    + """ AS funds)"""
)


def _screen(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    review = args.get("reviewDate") or next_review(context.today)
    if review < WIDENED:
        raise BadInput(
            f"`reviewDate` must be on or after {WIDENED} (the criteria the screen applies; got {review})",
            argument="reviewDate",
        )
    return {"review": review}


ROOTS = (
    Root(
        "connectEligibilityScreen",
        "ETF Connect eligibility screened for a review: each fund's 6-month average daily AUM against the "
        "thresholds (southbound: HK$550m inclusion, HK$450m exclusion; northbound: RMB 500m), the other "
        "criteria the data can check (listed on the link's exchanges six months before, physical, not "
        "leveraged or inverse, investing in the link's shares), the funds at risk of exclusion, the "
        "candidates for inclusion, and each one's margin in amount and percent, with its current status.",
        RootKind.ONE,
        target="EligibilityScreen",
        source=SCREEN_SOURCE,
        args=(
            Arg("direction", CONNECT_DIRECTION, "Southbound or northbound.", required=True),
            Arg(
                "reviewDate",
                DATE,
                "The review's effective date (default: the next review from today, the Monday after the "
                "first Friday of March, June, September or December); from 2024-07-22. A review ahead of the "
                "data averages the days there are.",
            ),
        ),
        prepare=_screen,
        params={"review": "date"},
        scope=READ_FLOWS,
    ),
)

ENTITIES = (ELIGIBILITY_SCREEN_LINE, ELIGIBILITY_SCREEN)
