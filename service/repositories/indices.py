"""SQL for indices and their daily levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from service.db.client import Database
from service.repositories.base import (
    Page,
    PageRequest,
    SortDirection,
    fetch_page,
    order_sql,
    to_rows,
)

COLUMNS = """i.id, i.code, i.name, i.provider, i.currency, i.base_date, i.base_value, i.launch_date,
    i.weighting, i.weight_cap_pct, i.review_frequency, i.rebalance_frequency, i.constituent_count,
    i.methodology_notes, i.themes, i.is_illustrative"""


@dataclass(frozen=True, slots=True)
class IndexRow:
    id: int
    code: str
    name: str
    provider: str
    currency: str
    base_date: date | None
    base_value: Decimal | None
    launch_date: date | None
    weighting: str | None
    weight_cap_pct: Decimal | None
    review_frequency: str | None
    rebalance_frequency: str | None
    constituent_count: int | None
    methodology_notes: str | None
    themes: list[str]
    is_illustrative: bool


@dataclass(frozen=True, slots=True)
class IndexLevelRow:
    index_id: int
    trading_day: date
    level: Decimal


@dataclass(frozen=True, slots=True)
class IndexFilter:
    provider: str | None = None
    theme: str | None = None
    currency: str | None = None
    search: str | None = None


ORDER_COLUMNS = {"CODE": "i.code", "NAME": "i.name", "LAUNCH_DATE": "i.launch_date"}


async def by_ids(db: Database, ids: Sequence[int]) -> list[IndexRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM indices i WHERE i.id = ANY($1::bigint[])", ids)
    return to_rows(IndexRow, records)


async def by_codes(db: Database, codes: Sequence[str]) -> list[IndexRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM indices i WHERE i.code = ANY($1::text[])", codes)
    return to_rows(IndexRow, records)


async def page(
    db: Database, where: IndexFilter, order: str, direction: SortDirection, window: PageRequest
) -> Page[IndexRow]:
    sql = f"""
        SELECT {COLUMNS}, count(*) OVER () AS total
        FROM indices i
        WHERE ($1::text IS NULL OR i.provider = $1)
          AND ($2::text IS NULL OR i.themes @> ARRAY[$2::text])
          AND ($3::text IS NULL OR i.currency = $3)
          AND ($4::text IS NULL OR i.name ILIKE '%' || $4 || '%' OR i.code ILIKE '%' || $4 || '%')
        {order_sql(ORDER_COLUMNS, order, direction, "i.id")}
        LIMIT $5 OFFSET $6"""
    args = (where.provider, where.theme, where.currency, where.search)
    return await fetch_page(db, IndexRow, sql, *args, page=window)


async def levels(
    db: Database, index_ids: Sequence[int], start: date | None, end: date | None
) -> list[IndexLevelRow]:
    records = await db.fetch(
        """SELECT index_id, trading_day, level FROM index_levels
           WHERE index_id = ANY($1::bigint[])
             AND ($2::date IS NULL OR trading_day >= $2) AND ($3::date IS NULL OR trading_day <= $3)
           ORDER BY index_id, trading_day""",
        index_ids,
        start,
        end,
    )
    return to_rows(IndexLevelRow, records)
