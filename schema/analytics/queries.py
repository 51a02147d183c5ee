"""AnalyticsQuery: series, totals, rankings, membership changes and look-through exposure, computed in SQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.analytics.enums import (
    EtfGrouping,
    EtfMeasure,
    EtfMetric,
    FlowMeasure,
    MembershipChangeKind,
    ReportCurrency,
    TradingCalendar,
    currency_code,
)
from schema.analytics.types import (
    ConnectFlowTotal,
    ConstituentChange,
    EtfGroupAggregate,
    EtfLookThrough,
    FlowSeries,
    FxUsage,
    IndexLookThrough,
    LookThroughExposure,
    Series,
    SeriesBucket,
)
from schema.context import Context
from schema.filters import parse_code
from schema.permissions import READ_FLOWS, READ_REFERENCE, requires
from schema.types.enums import ConnectChannel, ConnectDirection, Interval, SortDirection, enum_str
from service.arguments import check_page, check_range
from service.db.client import Database
from service.errors import BadInput, NotFound
from service.repositories import analytics as repo

Info = strawberry.Info[Context, None]

From = Annotated[date | None, strawberry.argument(name="from", description="First day, inclusive.")]
To = Annotated[
    date | None, strawberry.argument(description="Last day, inclusive (default: the latest day with data).")
]
LastDays = Annotated[
    int | None,
    strawberry.argument(description="Only the latest N trading days up to `to`, counted on the calendar."),
]
InCurrency = Annotated[
    ReportCurrency,
    strawberry.argument(description="Report amounts in this currency, each day at that day's rate."),
]
Etf = Annotated[str | None, strawberry.argument(description="One fund, by `MIC:code`.")]
Issuer = Annotated[str | None, strawberry.argument(description="Only the funds of this issuer (slug).")]
IndexCode = Annotated[str | None, strawberry.argument(description="Only funds tracking this index (code).")]
Theme = Annotated[str | None, strawberry.argument(description="Only funds whose index has this theme.")]

MAX_TRADING_DAYS = 10_000


def _check_days(last: int | None, start: date | None) -> None:
    if last is not None and not 0 < last <= MAX_TRADING_DAYS:
        raise BadInput(
            f"`lastTradingDays` must be in 1..{MAX_TRADING_DAYS} (got {last})", argument="lastTradingDays"
        )
    if last is not None and start is not None:
        raise BadInput("Give `from` or `lastTradingDays`, not both", argument="lastTradingDays")


async def _window(
    db: Database,
    calendar: repo.Calendar,
    source: repo.Source,
    start: date | None,
    end: date | None,
    last: int | None,
) -> tuple[date | None, date | None]:
    """[start, end] as given, or the window ``last`` counts on ``calendar`` (one statement, only then)."""
    check_range(start, end)
    _check_days(last, start)
    if last is None and (start is None or end is not None):
        return start, end
    window = await repo.resolve_window(db, calendar, source, start, end, last)
    return window.first_day, window.last_day


async def _selection(
    info: Info, etf: str | None, issuer: str | None, index: str | None, theme: str | None
) -> repo.EtfSelection:
    etf_id = None
    if etf is not None:
        etf_id = await info.context.loaders.etf_id_by_code.load(parse_code(etf))
        if etf_id is None:
            raise NotFound(f"No ETF with code {etf!r}", argument="etf")
    return repo.EtfSelection(
        etf_id=etf_id,
        issuer_slug=issuer.strip().lower() if issuer else None,
        index_code=index.strip().upper() if index else None,
        theme=theme.strip().lower() if theme else None,
    )


def _flow_source(direction: ConnectDirection) -> repo.Source:
    return repo.Source(enum_str(direction))


@strawberry.type(description="Flow analytics: windows, rankings, rollups, calendars and currencies.")
class AnalyticsQuery:
    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="Stock Connect flows of a direction per DAY, WEEK, MONTH or QUARTER: sum, average, "
        "min, max and running total per bucket, each day converted at its own FX rate. Closed days are "
        "absent; `lastTradingDays` counts the direction's Connect days.",
    )
    async def flow_series(
        self,
        info: Info,
        direction: ConnectDirection,
        channel: Annotated[
            ConnectChannel | None, strawberry.argument(description="One link; default both summed.")
        ] = None,
        measure: FlowMeasure = FlowMeasure.NET_BUY,
        interval: Interval = Interval.DAY,
        from_: From = None,
        to: To = None,
        last_trading_days: LastDays = None,
        currency: InCurrency = ReportCurrency.HKD,
        sum_above: Annotated[
            Decimal | None,
            strawberry.argument(
                description="Only the buckets whose sum exceeds this amount (in `currency`)."
            ),
        ] = None,
    ) -> FlowSeries:
        db = info.context.db
        calendar = repo.Calendar(enum_str(direction))
        start, end = await _window(db, calendar, _flow_source(direction), from_, to, last_trading_days)
        # A window counted on the calendar (``lastTradingDays``, or ``from`` without ``to``) may hold no
        # Connect day at all (``from`` after the latest data): then there is nothing to report.
        counted = last_trading_days is not None or (from_ is not None and to is None)
        rows = []
        if not counted or start is not None:
            rows = await repo.flow_series(
                db,
                enum_str(direction),
                enum_str(channel),
                repo.FlowMeasure(enum_str(measure)),
                enum_str(interval),
                start,
                end,
                currency_code(currency),
                sum_above,
            )
        return FlowSeries(
            interval=interval,
            window_from=rows[0].first_day if rows and start is None else start,
            window_to=rows[-1].last_day if rows and end is None else end,
            buckets=[SeriesBucket.from_row(r) for r in rows],
            direction=direction,
            channel=channel,
            measure=measure,
        )

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="A daily ETF statistic summed over the selected funds per DAY, WEEK, MONTH or "
        "QUARTER, with sum, average, min, max, first, last and running total per bucket.",
    )
    async def etf_series(
        self,
        info: Info,
        etf: Etf = None,
        issuer: Issuer = None,
        index: IndexCode = None,
        theme: Theme = None,
        measure: EtfMeasure = EtfMeasure.NET_CREATION_VALUE,
        interval: Interval = Interval.DAY,
        from_: From = None,
        to: To = None,
        last_trading_days: LastDays = None,
        calendar: TradingCalendar = TradingCalendar.HONG_KONG,
        currency: InCurrency = ReportCurrency.HKD,
        sum_above: Annotated[
            Decimal | None,
            strawberry.argument(description="Only the buckets whose sum exceeds this amount."),
        ] = None,
    ) -> Series:
        if from_ is None and last_trading_days is None:
            raise BadInput("Give `from` or `lastTradingDays`", argument="from")
        db = info.context.db
        selection = await _selection(info, etf, issuer, index, theme)
        start, end = await _window(
            db, repo.Calendar(enum_str(calendar)), repo.Source.ETF_STATS, from_, to, last_trading_days
        )
        rows = []
        if start is not None and end is not None:
            rows = await repo.etf_series(
                db,
                selection,
                repo.EtfMeasure(enum_str(measure)),
                enum_str(interval),
                repo.Calendar(enum_str(calendar)),
                start,
                end,
                currency_code(currency),
                sum_above,
            )
        return Series(
            interval=interval,
            window_from=start,
            window_to=end,
            buckets=[SeriesBucket.from_row(r) for r in rows],
        )

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="Stock Connect flows over a window per direction and channel, per direction and "
        "overall (GROUPING SETS), converted day by day. Default window: the last 20 days of `calendar`.",
    )
    async def connect_flow_totals(
        self,
        info: Info,
        direction: ConnectDirection | None = None,
        from_: From = None,
        to: To = None,
        last_trading_days: LastDays = None,
        calendar: Annotated[
            TradingCalendar | None,
            strawberry.argument(description="Default: the direction's Connect days (southbound if none)."),
        ] = None,
        currency: InCurrency = ReportCurrency.HKD,
    ) -> list[ConnectFlowTotal]:
        db = info.context.db
        cal = (
            repo.Calendar(enum_str(calendar))
            if calendar
            else repo.Calendar(enum_str(direction) or "SOUTHBOUND")
        )
        source = _flow_source(direction) if direction else repo.Source.SOUTHBOUND_FLOWS
        if from_ is None and last_trading_days is None:
            last_trading_days = 20
        start, end = await _window(db, cal, source, from_, to, last_trading_days)
        if start is None or end is None:
            return []
        rows = await repo.flow_totals(db, start, end, enum_str(direction), currency_code(currency))
        return [ConnectFlowTotal.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="ETF statistics over a window grouped by ETF, issuer, index, theme, Connect "
        "direction or channel (net creations, creations, redemptions, turnover, AUM change), ranked by "
        "`orderBy` with ties broken by the group's key. Default window: the last 20 days of `calendar`.",
    )
    async def etf_aggregates(
        self,
        info: Info,
        group_by: EtfGrouping = EtfGrouping.ETF,
        etf: Etf = None,
        issuer: Issuer = None,
        index: IndexCode = None,
        theme: Theme = None,
        from_: From = None,
        to: To = None,
        last_trading_days: LastDays = None,
        calendar: TradingCalendar = TradingCalendar.HONG_KONG,
        currency: InCurrency = ReportCurrency.HKD,
        order_by: EtfMetric = EtfMetric.NET_CREATION_VALUE,
        direction: Annotated[
            SortDirection, strawberry.argument(description="DESC: largest first.")
        ] = SortDirection.DESC,
        top: Annotated[int | None, strawberry.argument(description="Only the first N groups.")] = None,
    ) -> list[EtfGroupAggregate]:
        if top is not None and top <= 0:
            raise BadInput(f"`top` must be positive (got {top})", argument="top")
        check_page("top", top, info.context.max_page_size)
        db = info.context.db
        selection = await _selection(info, etf, issuer, index, theme)
        if from_ is None and last_trading_days is None:
            last_trading_days = 20
        start, end = await _window(
            db, repo.Calendar(enum_str(calendar)), repo.Source.ETF_STATS, from_, to, last_trading_days
        )
        if start is None or end is None:
            return []
        rows = await repo.group_aggregates(
            db,
            repo.Grouping(enum_str(group_by)),
            selection,
            start,
            end,
            currency_code(currency),
            repo.EtfMetric(enum_str(order_by)),
            enum_str(direction) == "ASC",
            top,
        )
        return [EtfGroupAggregate.from_row(r, group_by) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="Constituents whose index membership differs between two dates: added, removed or "
        "reweighted, with the old and new weight. The funds affected are each change's `index.etfs`.",
    )
    async def index_membership_changes(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First date.")],
        to: Annotated[date, strawberry.argument(description="Second date.")],
        index: IndexCode = None,
        theme: Annotated[str | None, strawberry.argument(description="Only indices with this theme.")] = None,
        kinds: Annotated[
            list[MembershipChangeKind] | None,
            strawberry.argument(description="Only these kinds of change (default all)."),
        ] = None,
    ) -> list[ConstituentChange]:
        check_range(from_, to)
        wanted = (
            [repo.MembershipChangeKind(enum_str(k)) for k in kinds]
            if kinds
            else list(repo.MembershipChangeKind)
        )
        rows = await repo.membership_changes(
            info.context.db,
            index.strip().upper() if index else None,
            theme.strip().lower() if theme else None,
            from_,
            to,
            wanted,
        )
        return [ConstituentChange.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="A security's look-through exposure on `asOf` (default today): the indices holding "
        "it with its weight, the listed ETFs tracking them, and AUM x weight in `currency`.",
    )
    async def look_through_exposure(
        self,
        info: Info,
        security: Annotated[str, strawberry.argument(description="`MIC:local code`, e.g. `XKRX:000660`.")],
        as_of: Annotated[date | None, strawberry.argument(description="Default today (Hong Kong).")] = None,
        currency: InCurrency = ReportCurrency.HKD,
    ) -> LookThroughExposure:
        row = await info.context.loaders.security_by_code.load(parse_code(security))
        if row is None:
            raise NotFound(f"No security with code {security!r}", argument="security")
        day = as_of or info.context.today
        lines = await repo.look_through(info.context.db, row.id, day, currency_code(currency))
        # Lines come total first, then each index followed by its funds: shape them, nothing to compute.
        total, indices = lines[0], []
        for line in lines[1:]:
            if line.etf_id is None:
                indices.append((line, list[EtfLookThrough]()))
            else:
                indices[-1][1].append(EtfLookThrough.from_row(line))
        return LookThroughExposure(
            as_of=day,
            currency=total.currency,
            etf_count=total.etf_count,
            aum=total.aum,
            exposure=total.exposure,
            fx=FxUsage.from_row(total),
            indices=[IndexLookThrough.from_row(line, etfs) for line, etfs in indices],
            security_row=row,
        )
