"""SQL for asset managers (ETF issuers and index licensees) and their index licences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from service.db.client import Database
from service.repositories.base import (
    Page,
    PageRequest,
    SortDirection,
    fetch_page,
    order_sql,
    to_rows,
)

COLUMNS = "m.id, m.slug, m.legal_name, m.short_name, m.home_market, m.website"
LICENCE_COLUMNS = (
    "l.id, l.index_id, l.manager_id, l.licensed_on, l.status::text AS status, l.is_illustrative, l.notes"
)


@dataclass(frozen=True, slots=True)
class ManagerRow:
    id: int
    slug: str
    legal_name: str
    short_name: str
    home_market: str
    website: str | None


@dataclass(frozen=True, slots=True)
class LicenceRow:
    id: int
    index_id: int
    manager_id: int
    licensed_on: date
    status: str
    is_illustrative: bool
    notes: str | None


@dataclass(frozen=True, slots=True)
class ManagerFilter:
    home_market: str | None = None
    search: str | None = None


ORDER_COLUMNS = {"SLUG": "m.slug", "NAME": "m.short_name"}


async def by_ids(db: Database, ids: Sequence[int]) -> list[ManagerRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM asset_managers m WHERE m.id = ANY($1::bigint[])", ids)
    return to_rows(ManagerRow, records)


async def by_slugs(db: Database, slugs: Sequence[str]) -> list[ManagerRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM asset_managers m WHERE m.slug = ANY($1::text[])", slugs)
    return to_rows(ManagerRow, records)


async def page(
    db: Database, where: ManagerFilter, order: str, direction: SortDirection, window: PageRequest
) -> Page[ManagerRow]:
    sql = f"""
        SELECT {COLUMNS}, count(*) OVER () AS total
        FROM asset_managers m
        WHERE ($1::text IS NULL OR m.home_market = $1)
          AND ($2::text IS NULL OR m.short_name ILIKE '%' || $2 || '%'
                                OR m.legal_name ILIKE '%' || $2 || '%')
        {order_sql(ORDER_COLUMNS, order, direction, "m.id")}
        LIMIT $3 OFFSET $4"""
    return await fetch_page(db, ManagerRow, sql, where.home_market, where.search, page=window)


async def licences_by_ids(db: Database, ids: Sequence[int]) -> list[LicenceRow]:
    records = await db.fetch(
        f"SELECT {LICENCE_COLUMNS} FROM index_licences l WHERE l.id = ANY($1::bigint[])", ids
    )
    return to_rows(LicenceRow, records)


async def licences_of_indices(db: Database, index_ids: Sequence[int]) -> list[LicenceRow]:
    records = await db.fetch(
        f"""SELECT {LICENCE_COLUMNS} FROM index_licences l
            JOIN asset_managers m ON m.id = l.manager_id
            WHERE l.index_id = ANY($1::bigint[])
            ORDER BY l.index_id, l.licensed_on, m.slug""",
        index_ids,
    )
    return to_rows(LicenceRow, records)


async def licences_of_managers(db: Database, manager_ids: Sequence[int]) -> list[LicenceRow]:
    records = await db.fetch(
        f"""SELECT {LICENCE_COLUMNS} FROM index_licences l
            JOIN indices i ON i.id = l.index_id
            WHERE l.manager_id = ANY($1::bigint[])
            ORDER BY l.manager_id, l.licensed_on, i.code""",
        manager_ids,
    )
    return to_rows(LicenceRow, records)
