"""GraphQL enums; their values are the database's enum labels."""

from __future__ import annotations

from enum import Enum
from typing import overload

import strawberry


@overload
def enum_str(member: Enum) -> str: ...
@overload
def enum_str(member: None) -> None: ...
def enum_str(member: Enum | None) -> str | None:
    """The database label of an enum member (``None`` stays ``None``)."""
    return None if member is None else str(member.value)


@strawberry.enum(description="Which way a Stock Connect trade crosses the border.")
class ConnectDirection(Enum):
    SOUTHBOUND = strawberry.enum_value(
        "SOUTHBOUND", description="Mainland investors buying Hong Kong-listed securities."
    )
    NORTHBOUND = strawberry.enum_value(
        "NORTHBOUND",
        description="Hong Kong and international investors buying mainland securities.",
    )


@strawberry.enum(description="The mainland exchange at the other end of the link.")
class ConnectChannel(Enum):
    SHANGHAI = strawberry.enum_value("SHANGHAI", description="Shanghai-Hong Kong Stock Connect.")
    SHENZHEN = strawberry.enum_value("SHENZHEN", description="Shenzhen-Hong Kong Stock Connect.")


@strawberry.enum(description="What Connect investors may do with an eligible security.")
class EligibilityStatus(Enum):
    ELIGIBLE = strawberry.enum_value("ELIGIBLE", description="May be bought and sold.")
    SELL_ONLY = strawberry.enum_value(
        "SELL_ONLY", description="On the special list: existing holdings may only be sold."
    )


@strawberry.enum(description="Where an index licence stands.")
class LicenceStatus(Enum):
    SIGNED = strawberry.enum_value("SIGNED", description="Licensed; no product launched yet.")
    PRODUCT_LAUNCHED = strawberry.enum_value(
        "PRODUCT_LAUNCHED", description="The licensee has listed a product on the index."
    )
    LAPSED = strawberry.enum_value("LAPSED", description="The licence has ended.")


@strawberry.enum(description="How an ETF obtains its index exposure.")
class Replication(Enum):
    PHYSICAL = strawberry.enum_value("PHYSICAL", description="Holds the index securities.")
    SYNTHETIC = strawberry.enum_value("SYNTHETIC", description="Uses swaps or futures.")


@strawberry.enum(description="Bucket size of a time series.")
class Interval(Enum):
    DAY = strawberry.enum_value("day", description="Each trading day.")
    WEEK = strawberry.enum_value("week", description="ISO weeks, starting Monday.")
    MONTH = strawberry.enum_value("month", description="Calendar months.")
    QUARTER = strawberry.enum_value("quarter", description="Calendar quarters.")


@strawberry.enum(description="A currency amounts can be reported in.")
class Currency(Enum):
    HKD = strawberry.enum_value("HKD", description="Hong Kong dollar (the default).")
    CNY = strawberry.enum_value("CNY", description="Renminbi.")
    USD = strawberry.enum_value("USD", description="US dollar.")
    KRW = strawberry.enum_value("KRW", description="Korean won.")


@strawberry.enum(description="Sort direction.")
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="What an eligibility change between two dates amounts to.")
class ChangeKind(Enum):
    ADDED = strawberry.enum_value(
        "ADDED", description="Not eligible on the first date, eligible on the second."
    )
    REMOVED = strawberry.enum_value("REMOVED", description="Eligible on the first date, not on the second.")
    STATUS_CHANGED = strawberry.enum_value(
        "STATUS_CHANGED", description="Eligible on both dates with a different status."
    )
