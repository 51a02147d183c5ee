"""Reference entities: indices, securities, memberships, managers, licences, ETFs, eligibility."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import strawberry
from strawberry import relay

from schema.context import Context
from schema.permissions import READ_FLOWS, requires
from schema.types.enums import (
    ConnectChannel,
    ConnectDirection,
    Currency,
    EligibilityStatus,
    Interval,
    LicenceStatus,
    Replication,
    enum_str,
)
from schema.types.series import AumPoint, EtfDailyStat, IndexLevel
from service.arguments import check_page, check_range
from service.loaders.base import DataLoader
from service.repositories.etfs import CounterRow, EligibilityRow, EtfRow, ExposureRow
from service.repositories.indices import IndexRow
from service.repositories.managers import LicenceRow, ManagerRow
from service.repositories.securities import MembershipRow, SecurityRow
from service.repositories.stats import Interval as RepoInterval

Info = strawberry.Info[Context, None]


def _ids(node_ids: Iterable[str]) -> list[int | None]:
    return [int(i) if i.isdigit() else None for i in node_ids]


async def _nodes(loader: DataLoader[int, Any], node_ids: Iterable[str], wrap: Any) -> list[Any]:
    ids = _ids(node_ids)
    rows = await loader.load_many([i for i in ids if i is not None])
    found = {r.id: r for r in rows if r is not None}
    return [wrap(found[i]) if i in found else None for i in ids]


@strawberry.type(description="A market index: its methodology, constituents, levels, licences and trackers.")
class Index(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Identity, e.g. `HSI`, `HKEX-KRX-SEMI`.")
    name: str = strawberry.field(description="Full name.")
    provider: str = strawberry.field(description="Index provider, e.g. Hang Seng Indexes, HKEX.")
    currency: str = strawberry.field(description="Currency of the index levels.")
    base_date: date | None = strawberry.field(description="Date of the base value.")
    base_value: Decimal | None = strawberry.field(description="Level on the base date.")
    launch_date: date | None = strawberry.field(description="Date the index was launched.")
    weighting: str | None = strawberry.field(description="Weighting method, e.g. free-float market cap.")
    weight_cap_pct: Decimal | None = strawberry.field(description="Cap on a constituent's weight, %.")
    review_frequency: str | None = strawberry.field(description="How often constituents are reviewed.")
    rebalance_frequency: str | None = strawberry.field(description="How often weights are rebalanced.")
    constituent_count: int | None = strawberry.field(
        description="Number of constituents by methodology (the data may hold a subset)."
    )
    methodology_notes: str | None = strawberry.field(description="Further methodology notes.")
    themes: list[str] = strawberry.field(description="Theme tags, e.g. `semiconductor`, `technology`.")
    is_illustrative: bool = strawberry.field(
        description="True when facts about this index are illustrative rather than published."
    )

    @classmethod
    def from_row(cls, row: IndexRow) -> Index:
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            provider=row.provider,
            currency=row.currency,
            base_date=row.base_date,
            base_value=row.base_value,
            launch_date=row.launch_date,
            weighting=row.weighting,
            weight_cap_pct=row.weight_cap_pct,
            review_frequency=row.review_frequency,
            rebalance_frequency=row.rebalance_frequency,
            constituent_count=row.constituent_count,
            methodology_notes=row.methodology_notes,
            themes=list(row.themes),
            is_illustrative=row.is_illustrative,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Index | None]:
        return await _nodes(info.context.loaders.index_by_id, node_ids, cls.from_row)

    @strawberry.field(description="Members on `asOf` (default today), heaviest first.")
    async def constituents(
        self,
        info: Info,
        as_of: Annotated[
            date | None,
            strawberry.argument(description="Point in time; default today (Hong Kong)."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Only the heaviest N members.")] = None,
    ) -> list[Constituent]:
        check_page("first", first, info.context.max_page_size)
        key = (self.id, (as_of or info.context.today, first))
        rows = await info.context.loaders.constituents_by_index.load(key)
        return [Constituent.from_row(r) for r in rows]

    @strawberry.field(description="Sum of constituent weights on `asOf`, % (about 100).")
    async def total_weight_pct(self, info: Info, as_of: date | None = None) -> Decimal:
        key = (self.id, (as_of or info.context.today, None))
        rows = await info.context.loaders.constituents_by_index.load(key)
        return sum((r.weight_pct for r in rows), Decimal(0))

    @strawberry.field(description="Listed funds that track this index.")
    async def etfs(self, info: Info) -> list[Etf]:
        rows = await info.context.loaders.etfs_by_index.load(self.id)
        return [Etf.from_row(r) for r in rows]

    @strawberry.field(description="Managers licensed to build products on this index.")
    async def licences(self, info: Info) -> list[Licence]:
        rows = await info.context.loaders.licences_by_index.load(self.id)
        return [Licence.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS), description="Daily closing levels in [from, to]."
    )
    async def levels(
        self,
        info: Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> list[IndexLevel] | None:
        check_range(from_, to)
        rows = await info.context.loaders.levels_by_index.load((self.id, (from_, to)))
        return [IndexLevel.from_row(r) for r in rows]


@strawberry.type(description="A security's membership of an index over a period, with its weight.")
class Constituent:
    weight_pct: Decimal = strawberry.field(description="Weight in the index, %.")
    effective_from: date = strawberry.field(description="First day of the period.")
    effective_to: date | None = strawberry.field(
        description="Day the period ended (exclusive); null while current."
    )
    index_id: strawberry.Private[int]
    security_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: MembershipRow) -> Constituent:
        return cls(
            weight_pct=row.weight_pct,
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            index_id=row.index_id,
            security_id=row.security_id,
        )

    @strawberry.field(description="The member security.")
    async def security(self, info: Info) -> Security:
        return await load_security(info, self.security_id)

    @strawberry.field(description="The index.")
    async def index(self, info: Info) -> Index:
        return await load_index(info, self.index_id)


@strawberry.type(description="A listed security that can be an index constituent.")
class Security(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Identity `MIC:local code`, e.g. `XKRX:000660`.")
    mic: str = strawberry.field(description="ISO 10383 market identifier of the listing.")
    local_code: str = strawberry.field(description="Code on that market.")
    isin: str | None = strawberry.field(description="ISIN, where known.")
    name: str = strawberry.field(description="Issuer's name.")
    sector: str | None = strawberry.field(description="Sector.")
    country: str = strawberry.field(description="Country of the issuer (ISO 3166 alpha-2).")
    currency: str = strawberry.field(description="Trading currency.")

    @classmethod
    def from_row(cls, row: SecurityRow) -> Security:
        return cls(
            id=row.id,
            code=f"{row.mic}:{row.local_code}",
            mic=row.mic,
            local_code=row.local_code,
            isin=row.isin,
            name=row.name,
            sector=row.sector,
            country=row.country,
            currency=row.currency,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Security | None]:
        return await _nodes(info.context.loaders.security_by_id, node_ids, cls.from_row)

    @strawberry.field(
        description="Indices holding this security on `asOf` (default today), heaviest first; "
        "pass `history: true` for every period."
    )
    async def index_memberships(
        self, info: Info, as_of: date | None = None, history: bool = False
    ) -> list[Constituent]:
        key = (self.id, None if history else (as_of or info.context.today))
        rows = await info.context.loaders.memberships_by_security.load(key)
        return [Constituent.from_row(r) for r in rows]

    @strawberry.field(description="ETFs exposed to this security on `asOf` through the indices they track.")
    async def exposed_etfs(self, info: Info, as_of: date | None = None) -> list[EtfExposure]:
        rows = await info.context.loaders.exposures_by_security.load((self.id, as_of or info.context.today))
        return [EtfExposure.from_row(r) for r in rows]


@strawberry.type(description="An ETF's exposure to a security through the index it tracks.")
class EtfExposure:
    weight_pct: Decimal = strawberry.field(description="The security's weight in the index, %.")
    etf_id: strawberry.Private[int]
    index_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ExposureRow) -> EtfExposure:
        return cls(weight_pct=row.weight_pct, etf_id=row.etf_id, index_id=row.index_id)

    @strawberry.field(description="The exposed fund.")
    async def etf(self, info: Info) -> Etf:
        return await load_etf(info, self.etf_id)

    @strawberry.field(description="The index that carries the exposure.")
    async def index(self, info: Info) -> Index:
        return await load_index(info, self.index_id)


@strawberry.type(description="An asset manager: ETF issuer and index licensee.")
class Manager(relay.Node):
    id: relay.NodeID[int]
    slug: str = strawberry.field(description="Identity, e.g. `csop`.")
    legal_name: str = strawberry.field(description="Legal name.")
    short_name: str = strawberry.field(description="Name in common use.")
    home_market: str = strawberry.field(description="Home market (ISO 3166 alpha-2).")
    website: str | None = strawberry.field(description="Website.")

    @classmethod
    def from_row(cls, row: ManagerRow) -> Manager:
        return cls(
            id=row.id,
            slug=row.slug,
            legal_name=row.legal_name,
            short_name=row.short_name,
            home_market=row.home_market,
            website=row.website,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Manager | None]:
        return await _nodes(info.context.loaders.manager_by_id, node_ids, cls.from_row)

    @strawberry.field(description="Funds this manager issues.")
    async def etfs(self, info: Info) -> list[Etf]:
        rows = await info.context.loaders.etfs_by_issuer.load(self.id)
        return [Etf.from_row(r) for r in rows]

    @strawberry.field(description="Index licences this manager holds.")
    async def licences(self, info: Info) -> list[Licence]:
        rows = await info.context.loaders.licences_by_manager.load(self.id)
        return [Licence.from_row(r) for r in rows]


@strawberry.type(description="A licence granted by an index provider to an asset manager.")
class Licence(relay.Node):
    id: relay.NodeID[int]
    licensed_on: date = strawberry.field(description="Date the licence was granted or announced.")
    status: LicenceStatus = strawberry.field(description="Signed, product launched, or lapsed.")
    is_illustrative: bool = strawberry.field(
        description="True when the licensee is illustrative (not named in published sources)."
    )
    notes: str | None = strawberry.field(description="Notes on the licence.")
    index_id: strawberry.Private[int]
    manager_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: LicenceRow) -> Licence:
        return cls(
            id=row.id,
            licensed_on=row.licensed_on,
            status=LicenceStatus(row.status),
            is_illustrative=row.is_illustrative,
            notes=row.notes,
            index_id=row.index_id,
            manager_id=row.manager_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Licence | None]:
        return await _nodes(info.context.loaders.licence_by_id, node_ids, cls.from_row)

    @strawberry.field(description="The licensed index.")
    async def index(self, info: Info) -> Index:
        return await load_index(info, self.index_id)

    @strawberry.field(description="The licensee.")
    async def manager(self, info: Info) -> Manager:
        return await load_manager(info, self.manager_id)

    @strawberry.field(description="Funds the licensee lists on the index.")
    async def products(self, info: Info) -> list[Etf]:
        rows = await info.context.loaders.etfs_by_index_and_issuer.load((self.index_id, self.manager_id))
        return [Etf.from_row(r) for r in rows]

    @strawberry.field(description="The licensee has listed at least one fund on the index.")
    async def has_launched_product(self, info: Info) -> bool:
        return bool(await self.products(info))


@strawberry.type(description="A trading counter of a fund (e.g. 02800 in HKD and 82800 in RMB).")
class TradingCounter:
    code: str = strawberry.field(description="`MIC:code` of the counter.")
    mic: str = strawberry.field(description="Market of the counter.")
    local_code: str = strawberry.field(description="Code on that market.")
    currency: str = strawberry.field(description="Trading currency of the counter.")
    is_primary: bool = strawberry.field(description="The fund's main counter.")

    @classmethod
    def from_row(cls, row: CounterRow) -> TradingCounter:
        return cls(
            code=f"{row.mic}:{row.code}",
            mic=row.mic,
            local_code=row.code,
            currency=row.currency,
            is_primary=row.is_primary,
        )


@strawberry.type(description="A period during which an ETF is tradable through Connect.")
class ConnectEligibility:
    direction: ConnectDirection = strawberry.field(description="Southbound or northbound.")
    channel: ConnectChannel = strawberry.field(description="Shanghai or Shenzhen link.")
    status: EligibilityStatus = strawberry.field(description="Eligible, or sell-only.")
    effective_from: date = strawberry.field(description="First day of the period.")
    effective_to: date | None = strawberry.field(
        description="Day the period ended (exclusive); null while current."
    )
    reason: str | None = strawberry.field(description="Why the period began.")
    etf_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: EligibilityRow) -> ConnectEligibility:
        return cls(
            direction=ConnectDirection(row.direction),
            channel=ConnectChannel(row.channel),
            status=EligibilityStatus(row.status),
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            reason=row.reason,
            etf_id=row.etf_id,
        )

    @strawberry.field(description="The fund.")
    async def etf(self, info: Info) -> Etf:
        return await load_etf(info, self.etf_id)


@strawberry.type(description="An exchange-traded fund, with its issuer, index, counters and daily data.")
class Etf(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Identity `MIC:code`, e.g. `XHKG:03033`.")
    mic: str = strawberry.field(description="Market of the primary listing.")
    local_code: str = strawberry.field(description="Code on that market.")
    isin: str | None = strawberry.field(description="ISIN, where known.")
    name: str = strawberry.field(description="English name.")
    name_zh: str | None = strawberry.field(description="Chinese name.")
    listing_date: date = strawberry.field(description="First trading day.")
    delisting_date: date | None = strawberry.field(description="Delisting date, if delisted.")
    base_currency: str = strawberry.field(description="Currency of the NAV.")
    replication: Replication = strawberry.field(description="Physical or synthetic.")
    ongoing_charges_pct: Decimal | None = strawberry.field(description="Ongoing charges, % a year.")
    is_leveraged_inverse: bool = strawberry.field(description="A leveraged or inverse product.")
    leverage_factor: Decimal | None = strawberry.field(
        description="Daily leverage (2 = 2x long, -2 = 2x inverse); null for plain funds."
    )
    issuer_id: strawberry.Private[int]
    index_id: strawberry.Private[int | None]

    KIND: ClassVar[str] = "Etf"

    @classmethod
    def from_row(cls, row: EtfRow) -> Etf:
        return cls(
            id=row.id,
            code=f"{row.mic}:{row.code}",
            mic=row.mic,
            local_code=row.code,
            isin=row.isin,
            name=row.name_en,
            name_zh=row.name_zh,
            listing_date=row.listing_date,
            delisting_date=row.delisting_date,
            base_currency=row.base_currency,
            replication=Replication(row.replication),
            ongoing_charges_pct=row.ongoing_charges_pct,
            is_leveraged_inverse=row.is_leveraged_inverse,
            leverage_factor=row.leverage_factor,
            issuer_id=row.issuer_id,
            index_id=row.index_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Etf | None]:
        return await _nodes(info.context.loaders.etf_by_id, node_ids, cls.from_row)

    @strawberry.field(description="The fund's manager.")
    async def issuer(self, info: Info) -> Manager:
        return await load_manager(info, self.issuer_id)

    @strawberry.field(description="The index the fund tracks, if any.")
    async def tracked_index(self, info: Info) -> Index | None:
        if self.index_id is None:
            return None
        row = await info.context.loaders.index_by_id.load(self.index_id)
        return Index.from_row(row) if row else None

    @strawberry.field(description="Trading counters, primary first.")
    async def counters(self, info: Info) -> list[TradingCounter]:
        rows = await info.context.loaders.counters_by_etf.load(self.id)
        return [TradingCounter.from_row(r) for r in rows]

    @strawberry.field(
        description="Connect eligibility periods in force on `asOf`, or the whole history when "
        "`asOf` is omitted."
    )
    async def eligibility(
        self,
        info: Info,
        as_of: date | None = None,
        direction: ConnectDirection | None = None,
    ) -> list[ConnectEligibility]:
        key = (self.id, (as_of, enum_str(direction)))
        rows = await info.context.loaders.eligibility_by_etf.load(key)
        return [ConnectEligibility.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="Daily statistics in [from, to], oldest first; `last` keeps only the latest N.",
    )
    async def daily_stats(
        self,
        info: Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        last: Annotated[int | None, strawberry.argument(description="Latest N trading days.")] = None,
    ) -> list[EtfDailyStat] | None:
        check_range(from_, to)
        check_page("last", last, info.context.max_page_size * 20)
        rows = await info.context.loaders.daily_stats_by_etf.load((self.id, (from_, to, last)))
        return [EtfDailyStat.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=requires(READ_FLOWS),
        description="AUM at the end of each period, converted at each day's FX rate "
        "(`currency: null` keeps the fund's own currency).",
    )
    async def aum_history(
        self,
        info: Info,
        interval: Interval = Interval.MONTH,
        currency: Currency | None = Currency.HKD,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> list[AumPoint] | None:
        check_range(from_, to)
        key = (
            self.id,
            (RepoInterval(enum_str(interval)), enum_str(currency), from_, to),
        )
        rows = await info.context.loaders.aum_history_by_etf.load(key)
        return [AumPoint.from_row(r) for r in rows]


async def load_etf(info: Info, etf_id: int) -> Etf:
    """The ETF a row refers to (a foreign key: it exists)."""
    row = await info.context.loaders.etf_by_id.load(etf_id)
    assert row is not None
    return Etf.from_row(row)


async def load_index(info: Info, index_id: int) -> Index:
    """The index a row refers to (a foreign key: it exists)."""
    row = await info.context.loaders.index_by_id.load(index_id)
    assert row is not None
    return Index.from_row(row)


async def load_security(info: Info, security_id: int) -> Security:
    """The security a row refers to (a foreign key: it exists)."""
    row = await info.context.loaders.security_by_id.load(security_id)
    assert row is not None
    return Security.from_row(row)


async def load_manager(info: Info, manager_id: int) -> Manager:
    """The manager a row refers to (a foreign key: it exists)."""
    row = await info.context.loaders.manager_by_id.load(manager_id)
    assert row is not None
    return Manager.from_row(row)
