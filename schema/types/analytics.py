"""Derived answers: eligibility changes between two dates and ETF rankings by net creations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from schema.context import Context
from schema.permissions import READ_REFERENCE, requires
from schema.types.enums import ChangeKind, ConnectChannel, EligibilityStatus
from schema.types.reference import Etf, load_etf
from service.repositories.etfs import EligibilityChangeRow
from service.repositories.stats import CreationRankRow

Info = strawberry.Info[Context, None]


@strawberry.type(description="How an ETF's Connect eligibility on one channel differs between two dates.")
class EligibilityChange:
    channel: ConnectChannel = strawberry.field(description="The link.")
    kind: ChangeKind = strawberry.field(description="Added, removed, or status changed.")
    status_before: EligibilityStatus | None = strawberry.field(
        description="Status on the first date; null when not eligible then."
    )
    status_after: EligibilityStatus | None = strawberry.field(
        description="Status on the second date; null when not eligible then."
    )
    etf_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: EligibilityChangeRow) -> EligibilityChange:
        if row.status_before is None:
            kind = ChangeKind.ADDED
        elif row.status_after is None:
            kind = ChangeKind.REMOVED
        else:
            kind = ChangeKind.STATUS_CHANGED
        return cls(
            channel=ConnectChannel(row.channel),
            kind=kind,
            status_before=EligibilityStatus(row.status_before) if row.status_before else None,
            status_after=EligibilityStatus(row.status_after) if row.status_after else None,
            etf_id=row.etf_id,
        )

    @strawberry.field(description="The fund.")
    async def etf(self, info: Info) -> Etf:
        return await load_etf(info, self.etf_id)


@strawberry.type(description="An ETF's place in a ranking by net creations over a window.")
class EtfCreationRank:
    rank: int = strawberry.field(description="1 for the top; ties broken by ETF code.")
    currency: str = strawberry.field(description="Currency of `netCreationValue`.")
    net_creation_value: Decimal = strawberry.field(
        description="Net creations over the window, each day converted at that day's rate."
    )
    net_creation_units: Decimal = strawberry.field(description="Net units created over the window.")
    trading_days: int = strawberry.field(description="Trading days with data in the window.")
    first_day: date = strawberry.field(description="First trading day counted.")
    last_day: date = strawberry.field(description="Last trading day counted.")
    etf_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: CreationRankRow) -> EtfCreationRank:
        return cls(
            rank=row.rank,
            currency=row.currency,
            net_creation_value=row.net_creation_value,
            net_creation_units=row.net_creation_units,
            trading_days=row.trading_days,
            first_day=row.first_day,
            last_day=row.last_day,
            etf_id=row.etf_id,
        )

    @strawberry.field(description="The fund (reference data).", permission_classes=requires(READ_REFERENCE))
    async def etf(self, info: Info) -> Etf | None:
        return await load_etf(info, self.etf_id)
