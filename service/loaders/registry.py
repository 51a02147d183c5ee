"""Every loader of one request, built from that request's Database (never shared between requests).

Relationship keys: ``*_by_id`` load an entity by primary key; the others are named after the parent
key they batch on. Keys that carry arguments (``as_of``, date windows) are tuples; one statement runs
per distinct set of arguments.
"""

from __future__ import annotations

from datetime import date

from service.db.client import Database
from service.loaders.base import DataLoader
from service.loaders.batching import many_each, one_each, per_argument_set
from service.repositories import etfs, indices, managers, securities, stats
from service.repositories.etfs import (
    CounterRow,
    EligibilityRow,
    EtfRow,
    ExposureRow,
)
from service.repositories.indices import IndexLevelRow, IndexRow
from service.repositories.managers import LicenceRow, ManagerRow
from service.repositories.securities import MembershipRow, SecurityRow
from service.repositories.stats import AumPointRow, DailyStatRow, Interval

ConstituentKey = tuple[int, tuple[date, int | None]]
EligibilityKey = tuple[int, tuple[date | None, str | None]]
DailyKey = tuple[int, tuple[date | None, date | None, int | None]]
AumKey = tuple[int, tuple[Interval, str | None, date | None, date | None]]
LevelKey = tuple[int, tuple[date | None, date | None]]
AsOfKey = tuple[int, date | None]
ExposureKey = tuple[int, date]


class Loaders:
    def __init__(self, db: Database) -> None:
        self.db = db
        d = db

        async def etf_by_id(keys: list[int]) -> list[EtfRow | None]:
            return one_each(keys, await etfs.by_ids(d, keys), lambda r: r.id)

        async def index_by_id(keys: list[int]) -> list[IndexRow | None]:
            return one_each(keys, await indices.by_ids(d, keys), lambda r: r.id)

        async def security_by_id(keys: list[int]) -> list[SecurityRow | None]:
            return one_each(keys, await securities.by_ids(d, keys), lambda r: r.id)

        async def manager_by_id(keys: list[int]) -> list[ManagerRow | None]:
            return one_each(keys, await managers.by_ids(d, keys), lambda r: r.id)

        async def licence_by_id(keys: list[int]) -> list[LicenceRow | None]:
            return one_each(keys, await managers.licences_by_ids(d, keys), lambda r: r.id)

        async def etf_id_by_code(keys: list[tuple[str, str]]) -> list[int | None]:
            found = {(m, c): i for m, c, i in await etfs.ids_by_counter_codes(d, keys)}
            return [found.get(k) for k in keys]

        async def index_by_code(keys: list[str]) -> list[IndexRow | None]:
            return one_each(keys, await indices.by_codes(d, keys), lambda r: r.code)

        async def security_by_code(keys: list[tuple[str, str]]) -> list[SecurityRow | None]:
            rows = await securities.by_codes(d, keys)
            return one_each(keys, rows, lambda r: (r.mic, r.local_code))

        async def security_by_isin(keys: list[str]) -> list[SecurityRow | None]:
            return one_each(keys, await securities.by_isins(d, keys), lambda r: r.isin or "")

        async def manager_by_slug(keys: list[str]) -> list[ManagerRow | None]:
            return one_each(keys, await managers.by_slugs(d, keys), lambda r: r.slug)

        async def constituents_by_index(keys: list[ConstituentKey]) -> list[list[MembershipRow]]:
            return await per_argument_set(
                keys,
                lambda ids, a: securities.constituents(d, ids, a[0], a[1]),
                lambda r: r.index_id,
            )

        async def memberships_by_security(keys: list[AsOfKey]) -> list[list[MembershipRow]]:
            return await per_argument_set(
                keys,
                lambda ids, as_of: securities.memberships_of_securities(d, ids, as_of),
                lambda r: r.security_id,
            )

        async def exposures_by_security(keys: list[ExposureKey]) -> list[list[ExposureRow]]:
            return await per_argument_set(
                keys, lambda ids, as_of: etfs.exposures(d, ids, as_of), lambda r: r.security_id
            )

        async def etfs_by_index(keys: list[int]) -> list[list[EtfRow]]:
            return many_each(keys, await etfs.by_indices(d, keys), lambda r: r.index_id or 0)

        async def etfs_by_issuer(keys: list[int]) -> list[list[EtfRow]]:
            return many_each(keys, await etfs.by_issuers(d, keys), lambda r: r.issuer_id)

        async def etfs_by_index_and_issuer(keys: list[tuple[int, int]]) -> list[list[EtfRow]]:
            rows = await etfs.by_index_and_issuer(d, keys)
            return many_each(keys, rows, lambda r: (r.index_id or 0, r.issuer_id))

        async def licences_by_index(keys: list[int]) -> list[list[LicenceRow]]:
            return many_each(keys, await managers.licences_of_indices(d, keys), lambda r: r.index_id)

        async def licences_by_manager(keys: list[int]) -> list[list[LicenceRow]]:
            rows = await managers.licences_of_managers(d, keys)
            return many_each(keys, rows, lambda r: r.manager_id)

        async def counters_by_etf(keys: list[int]) -> list[list[CounterRow]]:
            return many_each(keys, await etfs.counters_of(d, keys), lambda r: r.etf_id)

        async def eligibility_by_etf(keys: list[EligibilityKey]) -> list[list[EligibilityRow]]:
            return await per_argument_set(
                keys, lambda ids, a: etfs.eligibility_of(d, ids, a[0], a[1]), lambda r: r.etf_id
            )

        async def daily_stats_by_etf(keys: list[DailyKey]) -> list[list[DailyStatRow]]:
            return await per_argument_set(
                keys, lambda ids, a: stats.daily(d, ids, a[0], a[1], a[2]), lambda r: r.etf_id
            )

        async def aum_history_by_etf(keys: list[AumKey]) -> list[list[AumPointRow]]:
            return await per_argument_set(
                keys,
                lambda ids, a: stats.aum_history(d, ids, a[0], a[1], a[2], a[3]),
                lambda r: r.etf_id,
            )

        async def levels_by_index(keys: list[LevelKey]) -> list[list[IndexLevelRow]]:
            return await per_argument_set(
                keys, lambda ids, a: indices.levels(d, ids, a[0], a[1]), lambda r: r.index_id
            )

        self.etf_by_id = DataLoader(etf_by_id)
        self.index_by_id = DataLoader(index_by_id)
        self.security_by_id = DataLoader(security_by_id)
        self.manager_by_id = DataLoader(manager_by_id)
        self.licence_by_id = DataLoader(licence_by_id)
        self.etf_id_by_code = DataLoader(etf_id_by_code)
        self.index_by_code = DataLoader(index_by_code)
        self.security_by_code = DataLoader(security_by_code)
        self.security_by_isin = DataLoader(security_by_isin)
        self.manager_by_slug = DataLoader(manager_by_slug)
        self.constituents_by_index = DataLoader(constituents_by_index)
        self.memberships_by_security = DataLoader(memberships_by_security)
        self.exposures_by_security = DataLoader(exposures_by_security)
        self.etfs_by_index = DataLoader(etfs_by_index)
        self.etfs_by_issuer = DataLoader(etfs_by_issuer)
        self.etfs_by_index_and_issuer = DataLoader(etfs_by_index_and_issuer)
        self.licences_by_index = DataLoader(licences_by_index)
        self.licences_by_manager = DataLoader(licences_by_manager)
        self.counters_by_etf = DataLoader(counters_by_etf)
        self.eligibility_by_etf = DataLoader(eligibility_by_etf)
        self.daily_stats_by_etf = DataLoader(daily_stats_by_etf)
        self.aum_history_by_etf = DataLoader(aum_history_by_etf)
        self.levels_by_index = DataLoader(levels_by_index)
