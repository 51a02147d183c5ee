"""Arguments and orderings several entities share: dates, windows, the fund-list arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_range
from service.model.declare import Arg, Column, Context, OrderKey, Relation, Scalar, Where
from service.model.enums import CONNECT_CHANNEL, CONNECT_DIRECTION, ELIGIBILITY_STATUS, REPORT_CURRENCY

DATE = Scalar.DATE
STRING = Scalar.STRING
INT = Scalar.INT
BOOLEAN = Scalar.BOOLEAN
DECIMAL = Scalar.DECIMAL
DATETIME = Scalar.DATETIME

BY_ID = (OrderKey("{t}.id", type="bigint"),)

# A Connect eligibility period's own fields and filter, alike for funds and stocks.
ELIGIBILITY_PERIOD = (
    Column("direction", "{t}.direction", CONNECT_DIRECTION, "Southbound or northbound."),
    Column("channel", "{t}.channel", CONNECT_CHANNEL, "Shanghai or Shenzhen link."),
    Column("status", "{t}.status", ELIGIBILITY_STATUS, "Eligible, or sell-only."),
    Column("effectiveFrom", "{t}.effective_from", DATE, "First day of the period."),
    Column(
        "effectiveTo",
        "{t}.effective_to",
        DATE,
        "Day the period ended (exclusive); null while current.",
        nullable=True,
    ),
)
ACTIVE_ON = Where("activeOn", DATE, "Only periods in force on this date.", "{t}.period @> {value}")
# The arguments and order of a fund's or a stock's list of its eligibility periods.
ELIGIBILITY_ARGS = (
    Arg("asOf", DATE, "Only the periods in force on this date.", when="{c}.period @> {asOf}"),
    Arg("direction", CONNECT_DIRECTION, "Only this direction.", when="{c}.direction = {direction}"),
)
ELIGIBILITY_ORDER = (
    OrderKey("{t}.effective_from", type="date"),
    OrderKey("{t}.direction", type="connect_direction"),
    OrderKey("{t}.channel", type="connect_channel"),
)


def like_pattern(value: Any, *, prefix: bool = False) -> str:
    """A case-insensitive LIKE pattern matching ``value`` literally (``%``, ``_`` and ``\\`` escaped)."""
    escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%" if prefix else "%" + escaped + "%"


def window(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    """`from`/`to` must not be the wrong way round."""
    check_range(args.get("from"), args.get("to"))
    return {}


def from_arg(description: str = "First day, inclusive.", when: str | None = None) -> Arg:
    return Arg("from", DATE, description, when=when)


def to_arg(description: str = "Last day, inclusive.", when: str | None = None) -> Arg:
    return Arg("to", DATE, description, when=when)


def as_of(description: str, when: str | None = None) -> Arg:
    return Arg("asOf", DATE, description, today=True, when=when)


# Every list of funds: listed on `asOf` (today by default) unless `includeDelisted`; `currency` and `asOf`
# are also what the funds' `latest` figures default to (and what filters and orderings on them use).
FUND_LIST_ARGS = (
    as_of(
        "Only funds listed on this date (default today in Hong Kong); also the day of the funds' `latest` "
        "figures.",
        when="{c}.listing_date <= {asOf}",
    ),
    Arg(
        "includeDelisted",
        BOOLEAN,
        "Also list the funds delisted on or before `asOf` (default false).",
        default=False,
        when="({includeDelisted} OR {c}.delisting_date IS NULL OR {c}.delisting_date > {asOf})",
    ),
    Arg(
        "currency",
        REPORT_CURRENCY,
        "Currency of the funds' `latest` figures, and of filters and orderings on them (default HKD).",
        default="HKD",
    ),
)

FUND_ORDER = (OrderKey("{t}.mic"), OrderKey("{t}.code"))


def manager_on(fund: str, day: str) -> str:
    """SQL for the id of the manager running ``fund`` (a row of ``etfs``) on ``day``: the new manager of
    its latest change on or before the day, else the previous manager of its first change (the manager
    from its listing), else the ETF master's manager. Two probes of the changes' key per fund.

    The database function ``etf_manager_on`` (migration 0022; the rollups and the analytics call it) states
    the same rule as a function, which the planner cannot inline (its body has subqueries); a test holds
    the two to the same answer for every fund around every change
    (tests/engine/test_manager_history.py)."""
    return f"""coalesce(
        (SELECT h.to_manager_id FROM etf_manager_changes h
         WHERE h.etf_id = {fund}.id AND h.effective_date <= {day} ORDER BY h.effective_date DESC LIMIT 1),
        (SELECT h.from_manager_id FROM etf_manager_changes h
         WHERE h.etf_id = {fund}.id ORDER BY h.effective_date LIMIT 1),
        {fund}.issuer_id)"""


def fund_list(name: str, description: str, join: str) -> Relation:
    """A to-many relation to the funds listed on its ``asOf`` (``Index.etfs``, licence ``products``...);
    ``join`` may read ``{asOf}``."""
    return Relation(name, "Etf", description, join=join, many=True, args=FUND_LIST_ARGS, order=FUND_ORDER)
