"""The Query root: lookups by natural key, Relay list connections and the analytical questions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from schema.context import Context
from schema.filters import (
    EtfFilter,
    EtfOrder,
    IndexFilter,
    IndexOrder,
    ManagerFilter,
    ManagerOrder,
    SecurityFilter,
    SecurityOrder,
    parse_code,
)
from schema.pagination import Connection, Window, connection
from schema.permissions import READ_FLOWS, READ_REFERENCE, requires
from schema.types.analytics import EligibilityChange, EtfCreationRank
from schema.types.enums import (
    ConnectChannel,
    ConnectDirection,
    Currency,
    EligibilityStatus,
    SortDirection,
    enum_str,
)
from schema.types.reference import ConnectEligibility, Etf, Index, Manager, Security
from schema.types.series import ConnectFlowDay
from service.arguments import check_positive, check_range
from service.errors import BadInput, NotFound
from service.repositories import etfs, flows, indices, managers, securities, stats
from service.repositories.base import Page, PageRequest
from service.repositories.base import SortDirection as RepoSort

Info = strawberry.Info[Context, None]

From = Annotated[date | None, strawberry.argument(name="from", description="First day, inclusive.")]
To = Annotated[date | None, strawberry.argument(description="Last day, inclusive.")]
First = Annotated[int | None, strawberry.argument(description="Page forward: at most N items.")]
After = Annotated[str | None, strawberry.argument(description="Items after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description="Page backward: at most N items.")]
Before = Annotated[str | None, strawberry.argument(description="Items before this cursor.")]


def _window(info: Info, first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    ctx = info.context
    return Window(first, after, last, before, default=ctx.default_page_size, maximum=ctx.max_page_size)


def _sort(direction: SortDirection) -> RepoSort:
    return RepoSort(enum_str(direction))


@strawberry.type(description="Hong Kong as the ETF gateway for mainland capital: start here.")
class Query:
    node: relay.Node | None = relay.node(
        description="Any object by its global `id`.", permission_classes=requires(READ_REFERENCE)
    )

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="One ETF by `MIC:code` of the fund or of any of its counters.",
    )
    async def etf(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="e.g. `XHKG:03033` or `XHKG:82800`.")],
    ) -> Etf | None:
        key = parse_code(code)
        etf_id = await info.context.loaders.etf_id_by_code.load(key)
        row = await info.context.loaders.etf_by_id.load(etf_id) if etf_id is not None else None
        if row is None:
            raise NotFound(f"No ETF with code {code!r}", argument="code")
        return Etf.from_row(row)

    @strawberry.field(permission_classes=requires(READ_REFERENCE), description="One index by code.")
    async def index(
        self, info: Info, code: Annotated[str, strawberry.argument(description="e.g. `HSI`.")]
    ) -> Index | None:
        row = await info.context.loaders.index_by_code.load(code.strip().upper())
        if row is None:
            raise NotFound(f"No index with code {code!r}", argument="code")
        return Index.from_row(row)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="One security by `MIC:local code` or by ISIN (give one).",
    )
    async def security(
        self,
        info: Info,
        code: Annotated[str | None, strawberry.argument(description="e.g. `XKRX:000660`.")] = None,
        isin: Annotated[str | None, strawberry.argument(description="e.g. `KR7000660001`.")] = None,
    ) -> Security | None:
        if (code is None) == (isin is None):
            raise BadInput("Give exactly one of `code` and `isin`", argument="code")
        if code is not None:
            row = await info.context.loaders.security_by_code.load(parse_code(code))
        else:
            assert isin is not None
            row = await info.context.loaders.security_by_isin.load(isin.strip().upper())
        if row is None:
            raise NotFound(
                f"No security with {'code' if code else 'ISIN'} {code or isin!r}",
                argument="code" if code else "isin",
            )
        return Security.from_row(row)

    @strawberry.field(permission_classes=requires(READ_REFERENCE), description="One asset manager by slug.")
    async def manager(
        self, info: Info, slug: Annotated[str, strawberry.argument(description="e.g. `csop`.")]
    ) -> Manager | None:
        row = await info.context.loaders.manager_by_slug.load(slug.strip().lower())
        if row is None:
            raise NotFound(f"No manager with slug {slug!r}", argument="slug")
        return Manager.from_row(row)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="ETFs, filtered and ordered, as a Relay connection.",
    )
    async def etfs(
        self,
        info: Info,
        filter: EtfFilter | None = None,
        order_by: EtfOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Etf] | None:
        f = filter or EtfFilter()
        where = etfs.EtfFilter(
            issuer_slug=f.issuer,
            index_code=f.index,
            theme=f.theme,
            mic=f.mic.upper() if f.mic else None,
            leveraged_inverse=f.leveraged_inverse,
            listed_on=f.listed_on,
            search=f.search,
        )
        field = enum_str(order_by.field) if order_by else "CODE"
        direction = _sort(order_by.direction) if order_by else RepoSort.ASC
        db = info.context.db

        async def fetch(request: PageRequest) -> Page[etfs.EtfRow]:
            return await etfs.page(db, where, field, direction, request)

        return await connection(_window(info, first, after, last, before), fetch, Etf.from_row)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="Indices, filtered and ordered, as a Relay connection.",
    )
    async def indices(
        self,
        info: Info,
        filter: IndexFilter | None = None,
        order_by: IndexOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Index] | None:
        f = filter or IndexFilter()
        where = indices.IndexFilter(provider=f.provider, theme=f.theme, currency=f.currency, search=f.search)
        field = enum_str(order_by.field) if order_by else "CODE"
        direction = _sort(order_by.direction) if order_by else RepoSort.ASC
        db = info.context.db

        async def fetch(request: PageRequest) -> Page[indices.IndexRow]:
            return await indices.page(db, where, field, direction, request)

        return await connection(_window(info, first, after, last, before), fetch, Index.from_row)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="Securities, filtered and ordered, as a Relay connection.",
    )
    async def securities(
        self,
        info: Info,
        filter: SecurityFilter | None = None,
        order_by: SecurityOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Security] | None:
        f = filter or SecurityFilter()
        where = securities.SecurityFilter(mic=f.mic, country=f.country, sector=f.sector, search=f.search)
        field = enum_str(order_by.field) if order_by else "CODE"
        direction = _sort(order_by.direction) if order_by else RepoSort.ASC
        db = info.context.db

        async def fetch(request: PageRequest) -> Page[securities.SecurityRow]:
            return await securities.page(db, where, field, direction, request)

        return await connection(_window(info, first, after, last, before), fetch, Security.from_row)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="Asset managers, filtered and ordered, as a Relay connection.",
    )
    async def managers(
        self,
        info: Info,
        filter: ManagerFilter | None = None,
        order_by: ManagerOrder | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Manager] | None:
        f = filter or ManagerFilter()
        where = managers.ManagerFilter(home_market=f.home_market, search=f.search)
        field = enum_str(order_by.field) if order_by else "SLUG"
        direction = _sort(order_by.direction) if order_by else RepoSort.ASC
        db = info.context.db

        async def fetch(request: PageRequest) -> Page[managers.ManagerRow]:
            return await managers.page(db, where, field, direction, request)

        return await connection(_window(info, first, after, last, before), fetch, Manager.from_row)

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="ETF Connect eligibility in force on `asOf` (default today), by ETF code.",
    )
    async def connect_eligibility(
        self,
        info: Info,
        direction: ConnectDirection,
        as_of: date | None = None,
        channel: ConnectChannel | None = None,
        status: EligibilityStatus | None = None,
    ) -> list[ConnectEligibility] | None:
        rows = await etfs.eligible_on(
            info.context.db,
            enum_str(direction),
            as_of or info.context.today,
            enum_str(channel),
            enum_str(status),
        )
        return [ConnectEligibility.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_REFERENCE),
        description="ETFs whose Connect eligibility differs between `from` and `to`, per channel.",
    )
    async def eligibility_changes(
        self,
        info: Info,
        direction: ConnectDirection,
        from_: Annotated[date, strawberry.argument(name="from", description="First date.")],
        to: Annotated[date, strawberry.argument(description="Second date.")],
    ) -> list[EligibilityChange] | None:
        check_range(from_, to)
        rows = await etfs.eligibility_changes(info.context.db, enum_str(direction), from_, to)
        return [EligibilityChange.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="Daily Stock Connect flows of a direction (both channels summed unless "
        "`channel` is given), oldest first, with a running net total over the window.",
    )
    async def connect_flows(
        self,
        info: Info,
        direction: ConnectDirection,
        channel: ConnectChannel | None = None,
        from_: From = None,
        to: To = None,
        last_trading_days: Annotated[
            int | None, strawberry.argument(description="Only the latest N Connect days.")
        ] = None,
        net_buy_above: Annotated[
            Decimal | None,
            strawberry.argument(description="Only days whose net buying exceeds this amount."),
        ] = None,
    ) -> list[ConnectFlowDay] | None:
        check_range(from_, to)
        check_positive("lastTradingDays", last_trading_days, 10_000)
        rows = await flows.daily(
            info.context.db,
            enum_str(direction),
            enum_str(channel),
            from_,
            to,
            last_trading_days,
            net_buy_above,
        )
        return [ConnectFlowDay.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="ETFs ranked by net creations over a window (default: the last 20 Hong Kong "
        "trading days), optionally by index theme, issuer or index; amounts in `currency`.",
    )
    async def top_etfs_by_net_creation(
        self,
        info: Info,
        from_: From = None,
        to: To = None,
        last_trading_days: Annotated[
            int | None, strawberry.argument(description="Window of the latest N trading days.")
        ] = None,
        theme: str | None = None,
        issuer: Annotated[str | None, strawberry.argument(description="Issuer slug.")] = None,
        index: Annotated[str | None, strawberry.argument(description="Index code.")] = None,
        currency: Currency = Currency.HKD,
        first: Annotated[int, strawberry.argument(description="How many to rank.")] = 20,
        direction: Annotated[
            SortDirection, strawberry.argument(description="DESC: largest creations first.")
        ] = SortDirection.DESC,
    ) -> list[EtfCreationRank] | None:
        check_range(from_, to)
        check_positive("first", first, info.context.max_page_size)
        check_positive("lastTradingDays", last_trading_days, 10_000)
        db = info.context.db
        if from_ is None:
            days = last_trading_days or 20
            from_ = await stats.trading_days_back(db, "XHKG", to, days)
            if from_ is None:
                return []
        end = to or info.context.today
        rows = await stats.top_by_net_creation(
            db,
            from_,
            end,
            enum_str(currency),
            theme,
            issuer,
            index,
            first,
            ascending=enum_str(direction) == "ASC",
        )
        return [EtfCreationRank.from_row(r) for r in rows]
