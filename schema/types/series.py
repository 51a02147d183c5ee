"""Time-series types: ETF daily statistics, AUM history points, index levels, Connect daily flows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from schema.types.enums import ConnectChannel, ConnectDirection
from service.repositories.flows import FlowDayRow
from service.repositories.indices import IndexLevelRow
from service.repositories.stats import AumPointRow, DailyStatRow


@strawberry.type(description="One trading day of an ETF: NAV, price, units, AUM and creations.")
class EtfDailyStat:
    trading_day: date = strawberry.field(description="Exchange-local trading date.")
    currency: str = strawberry.field(description="Currency of every amount on this row (ISO 4217).")
    nav_per_unit: Decimal = strawberry.field(description="Net asset value per unit.")
    close_price: Decimal | None = strawberry.field(description="Closing price of the primary counter.")
    shares_outstanding: Decimal = strawberry.field(description="Units in issue at the close.")
    aum: Decimal = strawberry.field(description="Assets under management: NAV per unit x units.")
    net_creation_units: Decimal = strawberry.field(
        description="Units created minus units redeemed on the day."
    )
    net_creation_value: Decimal = strawberry.field(description="Net creations valued at the day's NAV.")
    turnover: Decimal | None = strawberry.field(description="Value traded on the exchange.")
    southbound_holding_units: Decimal | None = strawberry.field(
        description="Units held by mainland investors through Southbound Connect, where published."
    )

    @classmethod
    def from_row(cls, row: DailyStatRow) -> EtfDailyStat:
        return cls(
            trading_day=row.trading_day,
            currency=row.currency,
            nav_per_unit=row.nav_per_unit,
            close_price=row.close_price,
            shares_outstanding=row.shares_outstanding,
            aum=row.aum,
            net_creation_units=row.net_creation_units,
            net_creation_value=row.net_creation_value,
            turnover=row.turnover,
            southbound_holding_units=row.southbound_holding_units,
        )


@strawberry.type(description="AUM at the end of one period, in the reporting currency.")
class AumPoint:
    period_start: date = strawberry.field(description="First calendar day of the period.")
    trading_day: date = strawberry.field(description="Last trading day of the period with data.")
    currency: str = strawberry.field(description="Currency of `aum`.")
    aum: Decimal | None = strawberry.field(
        description="AUM converted at the rate of `fxRateDate`; null when no rate is known."
    )
    native_currency: str = strawberry.field(description="The fund's own currency.")
    native_aum: Decimal = strawberry.field(description="AUM in the fund's own currency.")
    fx_rate: Decimal | None = strawberry.field(
        description="Units of `currency` per unit of `nativeCurrency` applied."
    )
    fx_rate_date: date | None = strawberry.field(
        description="Date of the rate applied: the trading day, or the latest earlier day with a rate."
    )

    @classmethod
    def from_row(cls, row: AumPointRow) -> AumPoint:
        return cls(
            period_start=row.period_start,
            trading_day=row.trading_day,
            currency=row.currency,
            aum=row.aum,
            native_currency=row.native_currency,
            native_aum=row.native_aum,
            fx_rate=row.fx_rate,
            fx_rate_date=row.fx_rate_date,
        )


@strawberry.type(description="An index's closing level on one trading day.")
class IndexLevel:
    trading_day: date = strawberry.field(description="Exchange-local trading date.")
    level: Decimal = strawberry.field(description="Closing level.")

    @classmethod
    def from_row(cls, row: IndexLevelRow) -> IndexLevel:
        return cls(trading_day=row.trading_day, level=row.level)


@strawberry.type(
    description="HKEX daily Stock Connect statistics for one direction and day "
    "(summed over both channels unless a channel was asked for)."
)
class ConnectFlowDay:
    trading_day: date = strawberry.field(description="The Connect trading day.")
    direction: ConnectDirection = strawberry.field(description="Direction of the flow.")
    channel: ConnectChannel | None = strawberry.field(
        description="The channel, or null when the figures sum both channels."
    )
    currency: str = strawberry.field(description="Currency of the amounts: HKD southbound, CNY northbound.")
    buy_turnover: Decimal | None = strawberry.field(description="Value bought.")
    sell_turnover: Decimal | None = strawberry.field(description="Value sold.")
    total_turnover: Decimal = strawberry.field(description="Value bought plus sold.")
    net_buy: Decimal | None = strawberry.field(
        description="Buy minus sell; null where the split is not published (northbound after 2024-08-19)."
    )
    running_net_buy: Decimal | None = strawberry.field(
        description="Net buying summed from the first day of the requested window to this day."
    )
    trade_count: int | None = strawberry.field(description="Number of trades.")
    etf_turnover: Decimal | None = strawberry.field(description="Turnover in ETFs.")
    quota_balance: Decimal | None = strawberry.field(
        description="Daily quota left at the close; null when HKEX reports it as available (unlimited)."
    )
    quota_balance_unlimited: bool = strawberry.field(
        description="HKEX printed its 'quota available' sentinel for this day."
    )

    @classmethod
    def from_row(cls, row: FlowDayRow) -> ConnectFlowDay:
        return cls(
            trading_day=row.trading_day,
            direction=ConnectDirection(row.direction),
            channel=ConnectChannel(row.channel) if row.channel else None,
            currency=row.currency,
            buy_turnover=row.buy_turnover,
            sell_turnover=row.sell_turnover,
            total_turnover=row.total_turnover,
            net_buy=row.net_buy,
            running_net_buy=row.running_net_buy,
            trade_count=row.trade_count,
            etf_turnover=row.etf_turnover,
            quota_balance=row.quota_balance,
            quota_balance_unlimited=row.quota_balance_unlimited,
        )
