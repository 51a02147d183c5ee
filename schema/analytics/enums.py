"""Enums of the analytics fields: reporting currency, calendars, measures, groupings and ranking metrics."""

from __future__ import annotations

from enum import Enum

import strawberry

from service.repositories import analytics as repo


@strawberry.enum(description="The currency amounts are reported in.")
class ReportCurrency(Enum):
    HKD = strawberry.enum_value("HKD", description="Hong Kong dollar (the default).")
    CNY = strawberry.enum_value("CNY", description="Renminbi.")
    USD = strawberry.enum_value("USD", description="US dollar.")
    KRW = strawberry.enum_value("KRW", description="Korean won.")
    NATIVE = strawberry.enum_value(
        "NATIVE",
        description="Each figure's own currency, unconverted; amounts that would add two currencies "
        "are null.",
    )


def currency_code(currency: ReportCurrency) -> str | None:
    """The ISO code to convert to, or None for the native currency."""
    return None if currency is ReportCurrency.NATIVE else str(currency.value)


@strawberry.enum(description="The trading days a window of `lastTradingDays` is counted on.")
class TradingCalendar(Enum):
    HONG_KONG = strawberry.enum_value(repo.Calendar.HONG_KONG.value, description="HKEX open days.")
    MAINLAND = strawberry.enum_value(
        repo.Calendar.MAINLAND.value, description="Shanghai (and Shenzhen) open days."
    )
    SOUTHBOUND_CONNECT = strawberry.enum_value(
        repo.Calendar.SOUTHBOUND_CONNECT.value,
        description="Southbound Connect days: Hong Kong and the mainland both open, with published "
        "exceptions (make-up weekend days are closed).",
    )
    NORTHBOUND_CONNECT = strawberry.enum_value(
        repo.Calendar.NORTHBOUND_CONNECT.value, description="Northbound Connect days."
    )


@strawberry.enum(description="A daily Stock Connect figure to aggregate.")
class FlowMeasure(Enum):
    NET_BUY = strawberry.enum_value(
        repo.FlowMeasure.NET_BUY.value,
        description="Buy minus sell turnover (not published northbound after 2024-08-19).",
    )
    BUY_TURNOVER = strawberry.enum_value(repo.FlowMeasure.BUY_TURNOVER.value, description="Value bought.")
    SELL_TURNOVER = strawberry.enum_value(repo.FlowMeasure.SELL_TURNOVER.value, description="Value sold.")
    TOTAL_TURNOVER = strawberry.enum_value(
        repo.FlowMeasure.TOTAL_TURNOVER.value, description="Value bought plus sold."
    )
    ETF_TURNOVER = strawberry.enum_value(
        repo.FlowMeasure.ETF_TURNOVER.value, description="Turnover in ETFs through Connect."
    )


@strawberry.enum(description="A daily ETF statistic to aggregate over the selected funds.")
class EtfMeasure(Enum):
    NET_CREATION_VALUE = strawberry.enum_value(
        repo.EtfMeasure.NET_CREATION_VALUE.value, description="Creations minus redemptions, in value."
    )
    TURNOVER = strawberry.enum_value(repo.EtfMeasure.TURNOVER.value, description="Value traded.")
    AUM = strawberry.enum_value(
        repo.EtfMeasure.AUM.value,
        description="Assets under management (a level: read a bucket's `last`, `min`, `max`, `avg`).",
    )


@strawberry.enum(description="What ETF figures are grouped by.")
class EtfGrouping(Enum):
    ETF = strawberry.enum_value(repo.Grouping.ETF.value, description="Each fund.")
    ISSUER = strawberry.enum_value(repo.Grouping.ISSUER.value, description="The fund's issuer.")
    INDEX = strawberry.enum_value(repo.Grouping.INDEX.value, description="The tracked index.")
    THEME = strawberry.enum_value(
        repo.Grouping.THEME.value,
        description="Each theme of the tracked index (a fund counts in every theme of its index).",
    )
    CONNECT_DIRECTION = strawberry.enum_value(
        repo.Grouping.CONNECT_DIRECTION.value,
        description="The Connect direction a fund was eligible for (or sell-only in) on each day; "
        "funds never eligible in the window are left out.",
    )
    CONNECT_CHANNEL = strawberry.enum_value(
        repo.Grouping.CONNECT_CHANNEL.value,
        description="Direction and channel of the fund's eligibility on each day (a fund eligible on "
        "both links counts in both).",
    )


@strawberry.enum(description="What a ranking of ETF groups orders by.")
class EtfMetric(Enum):
    NET_CREATION_VALUE = strawberry.enum_value(
        repo.EtfMetric.NET_CREATION_VALUE.value, description="Net creations."
    )
    CREATION_VALUE = strawberry.enum_value(
        repo.EtfMetric.CREATION_VALUE.value, description="Net creations of the days with creations."
    )
    REDEMPTION_VALUE = strawberry.enum_value(
        repo.EtfMetric.REDEMPTION_VALUE.value, description="Net redemptions of the days with redemptions."
    )
    TURNOVER = strawberry.enum_value(repo.EtfMetric.TURNOVER.value, description="Turnover.")
    AUM_CHANGE = strawberry.enum_value(repo.EtfMetric.AUM_CHANGE.value, description="AUM change.")
    AUM_END = strawberry.enum_value(repo.EtfMetric.AUM_END.value, description="AUM at the window's end.")


@strawberry.enum(description="How a constituent's membership differs between two dates.")
class MembershipChangeKind(Enum):
    ADDED = strawberry.enum_value(
        repo.MembershipChangeKind.ADDED.value,
        description="Not a member on the first date, one on the second.",
    )
    REMOVED = strawberry.enum_value(
        repo.MembershipChangeKind.REMOVED.value, description="A member on the first date, not on the second."
    )
    REWEIGHTED = strawberry.enum_value(
        repo.MembershipChangeKind.REWEIGHTED.value, description="A member on both dates, with another weight."
    )
