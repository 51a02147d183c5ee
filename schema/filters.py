"""Filter and ordering inputs of the list fields, and parsing of natural-key arguments."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from schema.types.enums import SortDirection
from service.codes import parse_code

__all__ = ["parse_code"]


@strawberry.enum(description="Orderings of the ETF list.")
class EtfOrderField(Enum):
    CODE = "CODE"
    NAME = "NAME"
    LISTING_DATE = "LISTING_DATE"
    ONGOING_CHARGES = "ONGOING_CHARGES"


@strawberry.input(description="Sort the ETF list.")
class EtfOrder:
    field: EtfOrderField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Order.")


@strawberry.input(description="Narrow the ETF list; every given condition must hold.")
class EtfFilter:
    issuer: str | None = strawberry.field(default=None, description="Issuer's slug, e.g. `csop`.")
    index: str | None = strawberry.field(default=None, description="Tracked index code, e.g. `HSI`.")
    theme: str | None = strawberry.field(
        default=None, description="A theme of the tracked index, e.g. `semiconductor`."
    )
    mic: str | None = strawberry.field(default=None, description="Listing market, e.g. `XHKG`.")
    leveraged_inverse: bool | None = strawberry.field(
        default=None,
        description="Only leveraged/inverse products (true) or only plain ones (false).",
    )
    listed_on: date | None = strawberry.field(
        default=None, description="Only funds listed (and not delisted) on this date."
    )
    search: str | None = strawberry.field(
        default=None, description="Part of the English or Chinese name, or the exact code."
    )


@strawberry.enum(description="Orderings of the index list.")
class IndexOrderField(Enum):
    CODE = "CODE"
    NAME = "NAME"
    LAUNCH_DATE = "LAUNCH_DATE"


@strawberry.input(description="Sort the index list.")
class IndexOrder:
    field: IndexOrderField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Order.")


@strawberry.input(description="Narrow the index list.")
class IndexFilter:
    provider: str | None = strawberry.field(default=None, description="Index provider.")
    theme: str | None = strawberry.field(default=None, description="A theme tag.")
    currency: str | None = strawberry.field(default=None, description="Currency of the levels.")
    search: str | None = strawberry.field(default=None, description="Part of the name or code.")


@strawberry.enum(description="Orderings of the security list.")
class SecurityOrderField(Enum):
    CODE = "CODE"
    NAME = "NAME"


@strawberry.input(description="Sort the security list.")
class SecurityOrder:
    field: SecurityOrderField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Order.")


@strawberry.input(description="Narrow the security list.")
class SecurityFilter:
    mic: str | None = strawberry.field(default=None, description="Listing market, e.g. `XKRX`.")
    country: str | None = strawberry.field(default=None, description="Issuer country (ISO-2).")
    sector: str | None = strawberry.field(default=None, description="Sector.")
    search: str | None = strawberry.field(default=None, description="Part of the name, or local code.")


@strawberry.enum(description="Orderings of the manager list.")
class ManagerOrderField(Enum):
    SLUG = "SLUG"
    NAME = "NAME"


@strawberry.input(description="Sort the manager list.")
class ManagerOrder:
    field: ManagerOrderField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Order.")


@strawberry.input(description="Narrow the manager list.")
class ManagerFilter:
    home_market: str | None = strawberry.field(default=None, description="Home market (ISO-2).")
    search: str | None = strawberry.field(default=None, description="Part of the name.")
