"""Arguments and orderings several entities share: dates, windows, the fund-list arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_range
from service.model.declare import Arg, Context, OrderKey, Relation, Scalar
from service.model.enums import REPORT_CURRENCY

DATE = Scalar.DATE
STRING = Scalar.STRING
INT = Scalar.INT
BOOLEAN = Scalar.BOOLEAN
DECIMAL = Scalar.DECIMAL
DATETIME = Scalar.DATETIME

BY_ID = (OrderKey("{t}.id", type="bigint"),)


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


def fund_list(name: str, description: str, join: str) -> Relation:
    """A to-many relation to the funds listed on its ``asOf`` (``Index.etfs``, licence ``products``...)."""
    return Relation(name, "Etf", description, join=join, many=True, args=FUND_LIST_ARGS, order=FUND_ORDER)
