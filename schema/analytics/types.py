"""Types of the analytics answers: series buckets, totals, grouped rankings, changes, look-through lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol

import strawberry

from schema.analytics.enums import EtfGrouping, FlowMeasure, MembershipChangeKind
from schema.context import Context
from schema.types.enums import ConnectChannel, ConnectDirection, Interval
from schema.types.reference import Etf, Index, Manager, Security, load_etf, load_index, load_security
from service.repositories.analytics import (
    BucketRow,
    ExposureLineRow,
    FlowTotalRow,
    GroupAggregateRow,
    MembershipChangeRow,
)
from service.repositories.securities import SecurityRow

Info = strawberry.Info[Context, None]


class _HasFx(Protocol):
    @property
    def native_currency(self) -> str | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def fx_min_rate(self) -> Decimal | None: ...
    @property
    def fx_max_rate(self) -> Decimal | None: ...
    @property
    def fx_first_rate_date(self) -> date | None: ...
    @property
    def fx_last_rate_date(self) -> date | None: ...
    @property
    def fx_days_on_earlier_rate(self) -> int: ...
    @property
    def fx_days_without_rate(self) -> int: ...


@strawberry.type(
    description="The FX conversion behind an answer: each day's amounts at that day's rate, or the "
    "latest earlier rate when the day has none."
)
class FxUsage:
    from_currency: str | None = strawberry.field(
        description="The figures' own currency; null when they come in several."
    )
    to_currency: str | None = strawberry.field(description="The reporting currency.")
    rate: Decimal | None = strawberry.field(
        description="Units of `toCurrency` per unit of `fromCurrency`, when one rate applied throughout."
    )
    rate_date: date | None = strawberry.field(description="Date of that rate, when one date applied.")
    min_rate: Decimal | None = strawberry.field(description="Lowest rate applied.")
    max_rate: Decimal | None = strawberry.field(description="Highest rate applied.")
    first_rate_date: date | None = strawberry.field(description="Date of the oldest rate applied.")
    last_rate_date: date | None = strawberry.field(description="Date of the newest rate applied.")
    days_on_earlier_rate: int = strawberry.field(
        description="Trading days with no rate of their own, converted at the latest earlier rate."
    )
    days_without_rate: int = strawberry.field(
        description="Trading days with figures but no rate at all (their amounts are null)."
    )

    @classmethod
    def from_row(cls, row: _HasFx) -> FxUsage:
        one_rate = row.fx_min_rate is not None and row.fx_min_rate == row.fx_max_rate
        one_date = row.fx_first_rate_date is not None and row.fx_first_rate_date == row.fx_last_rate_date
        return cls(
            from_currency=row.native_currency,
            to_currency=row.currency,
            rate=row.fx_min_rate if one_rate else None,
            rate_date=row.fx_first_rate_date if one_date else None,
            min_rate=row.fx_min_rate,
            max_rate=row.fx_max_rate,
            first_rate_date=row.fx_first_rate_date,
            last_rate_date=row.fx_last_rate_date,
            days_on_earlier_rate=row.fx_days_on_earlier_rate,
            days_without_rate=row.fx_days_without_rate,
        )


@strawberry.type(
    description="One bucket of a series: the trading days of a period that are in the window. A day "
    "the calendar has closed is absent; an open day without figures counts in `tradingDays` but not "
    "in `daysWithValue`."
)
class SeriesBucket:
    period_start: date = strawberry.field(description="First calendar day of the period.")
    period_end: date = strawberry.field(description="Last calendar day of the period.")
    first_day: date = strawberry.field(description="First trading day of the period in the window.")
    last_day: date = strawberry.field(description="Last trading day of the period in the window.")
    trading_days: int = strawberry.field(description="Trading days of the period in the window.")
    days_with_value: int = strawberry.field(description="Of those, the days with a figure.")
    currency: str | None = strawberry.field(description="Currency of the amounts.")
    sum: Decimal | None = strawberry.field(
        description="Sum of the daily amounts; null unless every trading day has one."
    )
    avg: Decimal | None = strawberry.field(description="Mean of the daily amounts there are, to the cent.")
    min: Decimal | None = strawberry.field(description="Smallest daily amount.")
    max: Decimal | None = strawberry.field(description="Largest daily amount.")
    first: Decimal | None = strawberry.field(description="Amount of the first trading day.")
    last: Decimal | None = strawberry.field(
        description="Amount of the last trading day (the closing level, for AUM)."
    )
    running_total: Decimal | None = strawberry.field(
        description="Sum of the buckets' sums from the window's first bucket to this one; null from a "
        "bucket without a sum on."
    )
    fx: FxUsage = strawberry.field(description="The conversion applied to this bucket's days.")

    @classmethod
    def from_row(cls, row: BucketRow) -> SeriesBucket:
        return cls(
            period_start=row.period_start,
            period_end=row.period_end,
            first_day=row.first_day,
            last_day=row.last_day,
            trading_days=row.trading_days,
            days_with_value=row.days_with_value,
            currency=row.currency,
            sum=row.sum,
            avg=row.avg,
            min=row.min,
            max=row.max,
            first=row.first,
            last=row.last,
            running_total=row.running_total,
            fx=FxUsage.from_row(row),
        )


@strawberry.type(description="A series of daily figures in buckets, with the window it covers.")
class Series:
    interval: Interval = strawberry.field(description="Bucket size.")
    window_from: date | None = strawberry.field(description="First day of the window (null: no data).")
    window_to: date | None = strawberry.field(description="Last day of the window (null: no data).")
    buckets: list[SeriesBucket] = strawberry.field(description="Buckets, oldest first.")


@strawberry.type(description="Stock Connect flows aggregated per bucket.")
class FlowSeries(Series):
    direction: ConnectDirection = strawberry.field(description="Direction of the flows.")
    channel: ConnectChannel | None = strawberry.field(description="The channel; null for both summed.")
    measure: FlowMeasure = strawberry.field(description="The daily figure aggregated.")


@strawberry.type(
    description="Connect flows over a window: per direction and channel, per direction (channel null) "
    "and overall (both null)."
)
class ConnectFlowTotal:
    direction: ConnectDirection | None = strawberry.field(description="Null on the overall line.")
    channel: ConnectChannel | None = strawberry.field(description="Null on direction and overall lines.")
    currency: str | None = strawberry.field(description="Currency of the amounts.")
    trading_days: int = strawberry.field(description="Days with figures.")
    first_day: date = strawberry.field(description="First day with figures.")
    last_day: date = strawberry.field(description="Last day with figures.")
    buy_turnover: Decimal | None = strawberry.field(
        description="Value bought; null when a day in the total lacks it."
    )
    sell_turnover: Decimal | None = strawberry.field(description="Value sold; null likewise.")
    total_turnover: Decimal | None = strawberry.field(description="Value bought plus sold.")
    net_buy: Decimal | None = strawberry.field(description="Buy minus sell; null likewise.")
    etf_turnover: Decimal | None = strawberry.field(description="ETF turnover.")
    fx: FxUsage = strawberry.field(description="The conversion applied.")

    @classmethod
    def from_row(cls, row: FlowTotalRow) -> ConnectFlowTotal:
        return cls(
            direction=ConnectDirection(row.direction) if row.direction else None,
            channel=ConnectChannel(row.channel) if row.channel else None,
            currency=row.currency,
            trading_days=row.trading_days,
            first_day=row.first_day,
            last_day=row.last_day,
            buy_turnover=row.buy_turnover,
            sell_turnover=row.sell_turnover,
            total_turnover=row.total_turnover,
            net_buy=row.net_buy,
            etf_turnover=row.etf_turnover,
            fx=FxUsage.from_row(row),
        )


@strawberry.type(
    description="ETF statistics of one group over a window, and its place in the ranking. Amounts "
    "that cannot be added up (two native currencies, or a missing rate) are null."
)
class EtfGroupAggregate:
    rank: int = strawberry.field(description="1 for the top; ties broken by `key` ascending.")
    group_by: EtfGrouping = strawberry.field(description="What the group is.")
    key: str | None = strawberry.field(
        description="The group's code: `MIC:code`, issuer slug, index code, theme, `DIRECTION` or "
        "`DIRECTION/CHANNEL`; null for funds without an index."
    )
    theme: str | None = strawberry.field(description="The theme, when grouped by theme.")
    direction: ConnectDirection | None = strawberry.field(description="When grouped by Connect.")
    channel: ConnectChannel | None = strawberry.field(description="When grouped by Connect channel.")
    etf_count: int = strawberry.field(description="Funds with figures in the group.")
    trading_days: int = strawberry.field(description="Days with figures.")
    first_day: date = strawberry.field(description="First day with figures.")
    last_day: date = strawberry.field(description="Last day with figures.")
    currency: str | None = strawberry.field(description="Currency of the amounts.")
    net_creation_value: Decimal | None = strawberry.field(description="Creations minus redemptions.")
    creation_value: Decimal | None = strawberry.field(
        description="Net creations summed over the fund-days with net creation."
    )
    redemption_value: Decimal | None = strawberry.field(
        description="Net redemptions (a positive amount) summed over the fund-days with net redemption."
    )
    net_creation_units: Decimal = strawberry.field(description="Units created minus redeemed.")
    turnover: Decimal | None = strawberry.field(description="Value traded, where published.")
    aum_start: Decimal | None = strawberry.field(
        description="AUM at the close of each fund's first day in the window, summed."
    )
    aum_end: Decimal | None = strawberry.field(
        description="AUM at the close of each fund's last day in the window, summed."
    )
    aum_change: Decimal | None = strawberry.field(description="`aumEnd` minus `aumStart`.")
    fx: FxUsage = strawberry.field(description="The conversion applied.")
    etf_id: strawberry.Private[int | None]
    issuer_id: strawberry.Private[int | None]
    index_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: GroupAggregateRow, group_by: EtfGrouping) -> EtfGroupAggregate:
        return cls(
            rank=row.rank,
            group_by=group_by,
            key=row.sort_key,
            theme=row.theme,
            direction=ConnectDirection(row.direction) if row.direction else None,
            channel=ConnectChannel(row.channel) if row.channel else None,
            etf_count=row.etf_count,
            trading_days=row.trading_days,
            first_day=row.first_day,
            last_day=row.last_day,
            currency=row.currency,
            net_creation_value=row.net_creation_value,
            creation_value=row.creation_value,
            redemption_value=row.redemption_value,
            net_creation_units=row.net_creation_units,
            turnover=row.turnover,
            aum_start=row.aum_start,
            aum_end=row.aum_end,
            aum_change=row.aum_change,
            fx=FxUsage.from_row(row),
            etf_id=row.etf_id,
            issuer_id=row.issuer_id,
            index_id=row.index_id,
        )

    @strawberry.field(description="The fund, when grouped by ETF.")
    async def etf(self, info: Info) -> Etf | None:
        if self.etf_id is None:
            return None
        row = await info.context.loaders.etf_by_id.load(self.etf_id)
        return Etf.from_row(row) if row else None

    @strawberry.field(description="The issuer, when grouped by issuer.")
    async def issuer(self, info: Info) -> Manager | None:
        if self.issuer_id is None:
            return None
        row = await info.context.loaders.manager_by_id.load(self.issuer_id)
        return Manager.from_row(row) if row else None

    @strawberry.field(description="The tracked index, when grouped by index.")
    async def index(self, info: Info) -> Index | None:
        if self.index_id is None:
            return None
        row = await info.context.loaders.index_by_id.load(self.index_id)
        return Index.from_row(row) if row else None


@strawberry.type(description="How one constituent's membership of an index differs between two dates.")
class ConstituentChange:
    kind: MembershipChangeKind = strawberry.field(description="Added, removed or reweighted.")
    weight_before: Decimal | None = strawberry.field(
        description="Weight on the first date, %; null when not a member then."
    )
    weight_after: Decimal | None = strawberry.field(
        description="Weight on the second date, %; null when not a member then."
    )
    weight_change: Decimal = strawberry.field(description="After minus before (absent counts as 0).")
    index_id: strawberry.Private[int]
    security_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: MembershipChangeRow) -> ConstituentChange:
        return cls(
            kind=MembershipChangeKind(row.kind),
            weight_before=row.weight_before,
            weight_after=row.weight_after,
            weight_change=row.weight_change,
            index_id=row.index_id,
            security_id=row.security_id,
        )

    @strawberry.field(description="The index (its `etfs` are the funds whose holdings change).")
    async def index(self, info: Info) -> Index:
        return await load_index(info, self.index_id)

    @strawberry.field(description="The constituent.")
    async def security(self, info: Info) -> Security:
        return await load_security(info, self.security_id)


@strawberry.type(description="One ETF's look-through exposure to a security: AUM x the index weight.")
class EtfLookThrough:
    weight_pct: Decimal = strawberry.field(description="The security's weight in the tracked index, %.")
    aum_day: date | None = strawberry.field(
        description="Day of the AUM used: the latest on or before the date asked; null when none."
    )
    native_currency: str | None = strawberry.field(description="The fund's own currency.")
    native_aum: Decimal | None = strawberry.field(description="AUM in the fund's own currency.")
    currency: str | None = strawberry.field(description="Currency of `aum` and `exposure`.")
    aum: Decimal | None = strawberry.field(description="AUM converted at the rate of `aumDay`.")
    exposure: Decimal | None = strawberry.field(description="AUM x weight / 100.")
    fx: FxUsage = strawberry.field(description="The conversion applied.")
    etf_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ExposureLineRow) -> EtfLookThrough:
        assert row.etf_id is not None and row.weight_pct is not None
        return cls(
            weight_pct=row.weight_pct,
            aum_day=row.aum_day,
            native_currency=row.native_currency,
            native_aum=row.native_aum,
            currency=row.currency,
            aum=row.aum,
            exposure=row.exposure,
            fx=FxUsage.from_row(row),
            etf_id=row.etf_id,
        )

    @strawberry.field(description="The fund.")
    async def etf(self, info: Info) -> Etf:
        return await load_etf(info, self.etf_id)


@strawberry.type(description="An index holding the security, and the funds exposed through it.")
class IndexLookThrough:
    weight_pct: Decimal = strawberry.field(description="The security's weight in the index, %.")
    etf_count: int = strawberry.field(description="Listed funds tracking the index.")
    currency: str | None = strawberry.field(description="Currency of `aum` and `exposure`.")
    aum: Decimal | None = strawberry.field(description="AUM of those funds.")
    exposure: Decimal | None = strawberry.field(description="Their look-through exposure, summed.")
    fx: FxUsage = strawberry.field(description="The conversion applied.")
    etfs: list[EtfLookThrough] = strawberry.field(description="The funds, largest exposure first.")
    index_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ExposureLineRow, etfs: list[EtfLookThrough]) -> IndexLookThrough:
        assert row.index_id is not None and row.weight_pct is not None
        return cls(
            weight_pct=row.weight_pct,
            etf_count=row.etf_count,
            currency=row.currency,
            aum=row.aum,
            exposure=row.exposure,
            fx=FxUsage.from_row(row),
            etfs=etfs,
            index_id=row.index_id,
        )

    @strawberry.field(description="The index.")
    async def index(self, info: Info) -> Index:
        return await load_index(info, self.index_id)


@strawberry.type(
    description="A security's look-through exposure on a date: indices holding it, ETFs tracking them."
)
class LookThroughExposure:
    as_of: date = strawberry.field(description="The date of the weights (and latest AUM on or before it).")
    currency: str | None = strawberry.field(description="Currency of `aum` and `exposure`.")
    etf_count: int = strawberry.field(description="Funds exposed.")
    aum: Decimal | None = strawberry.field(description="AUM of the exposed funds.")
    exposure: Decimal | None = strawberry.field(description="Total look-through exposure.")
    fx: FxUsage = strawberry.field(description="The conversion applied.")
    indices: list[IndexLookThrough] = strawberry.field(
        description="Indices holding the security, largest exposure first."
    )
    security_row: strawberry.Private[SecurityRow]

    @strawberry.field(description="The security.")
    def security(self) -> Security:
        return Security.from_row(self.security_row)
