"""SQL for securities (index constituents) and their index memberships over time."""

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

COLUMNS = "s.id, s.mic, s.local_code, s.isin, s.name, s.sector, s.country, s.currency"
MEMBERSHIP_COLUMNS = "m.id, m.index_id, m.security_id, m.weight_pct, m.effective_from, m.effective_to"


@dataclass(frozen=True, slots=True)
class SecurityRow:
    id: int
    mic: str
    local_code: str
    isin: str | None
    name: str
    sector: str | None
    country: str
    currency: str


@dataclass(frozen=True, slots=True)
class MembershipRow:
    id: int
    index_id: int
    security_id: int
    weight_pct: Decimal
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True, slots=True)
class SecurityFilter:
    mic: str | None = None
    country: str | None = None
    sector: str | None = None
    search: str | None = None


ORDER_COLUMNS = {"CODE": "s.mic || ':' || s.local_code", "NAME": "s.name"}


async def by_ids(db: Database, ids: Sequence[int]) -> list[SecurityRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM securities s WHERE s.id = ANY($1::bigint[])", ids)
    return to_rows(SecurityRow, records)


async def by_codes(db: Database, codes: Sequence[tuple[str, str]]) -> list[SecurityRow]:
    """Securities by (MIC, local code)."""
    records = await db.fetch(
        f"""SELECT {COLUMNS} FROM securities s
            JOIN unnest($1::text[], $2::text[]) k (mic, local_code)
              ON s.mic = k.mic AND s.local_code = k.local_code""",
        [c[0] for c in codes],
        [c[1] for c in codes],
    )
    return to_rows(SecurityRow, records)


async def by_isins(db: Database, isins: Sequence[str]) -> list[SecurityRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM securities s WHERE s.isin = ANY($1::text[])", isins)
    return to_rows(SecurityRow, records)


async def page(
    db: Database, where: SecurityFilter, order: str, direction: SortDirection, window: PageRequest
) -> Page[SecurityRow]:
    sql = f"""
        SELECT {COLUMNS}, count(*) OVER () AS total
        FROM securities s
        WHERE ($1::text IS NULL OR s.mic = $1)
          AND ($2::text IS NULL OR s.country = $2)
          AND ($3::text IS NULL OR s.sector = $3)
          AND ($4::text IS NULL OR s.name ILIKE '%' || $4 || '%' OR s.local_code = $4)
        {order_sql(ORDER_COLUMNS, order, direction, "s.id")}
        LIMIT $5 OFFSET $6"""
    args = (where.mic, where.country, where.sector, where.search)
    return await fetch_page(db, SecurityRow, sql, *args, page=window)


async def constituents(
    db: Database, index_ids: Sequence[int], as_of: date, first: int | None
) -> list[MembershipRow]:
    """Members of each index on ``as_of``, heaviest first, at most ``first`` per index."""
    records = await db.fetch(
        f"""SELECT * FROM (
                SELECT {MEMBERSHIP_COLUMNS},
                       row_number() OVER (PARTITION BY m.index_id
                                          ORDER BY m.weight_pct DESC, s.mic, s.local_code) AS rank
                FROM index_memberships m JOIN securities s ON s.id = m.security_id
                WHERE m.index_id = ANY($1::bigint[]) AND m.period @> $2::date
            ) ranked
            WHERE $3::int IS NULL OR rank <= $3
            ORDER BY index_id, rank""",
        index_ids,
        as_of,
        first,
    )
    return to_rows(MembershipRow, records)


async def memberships_of_securities(
    db: Database, security_ids: Sequence[int], as_of: date | None
) -> list[MembershipRow]:
    """Index memberships of each security on ``as_of`` (every period when None), heaviest first."""
    records = await db.fetch(
        f"""SELECT {MEMBERSHIP_COLUMNS} FROM index_memberships m
            WHERE m.security_id = ANY($1::bigint[])
              AND ($2::date IS NULL OR m.period @> $2::date)
            ORDER BY m.security_id, m.weight_pct DESC, m.index_id, m.effective_from""",
        security_ids,
        as_of,
    )
    return to_rows(MembershipRow, records)


async def membership_history(
    db: Database, index_ids: Sequence[int], security_id_filter: int | None
) -> list[MembershipRow]:
    records = await db.fetch(
        f"""SELECT {MEMBERSHIP_COLUMNS} FROM index_memberships m
            WHERE m.index_id = ANY($1::bigint[])
              AND ($2::bigint IS NULL OR m.security_id = $2)
            ORDER BY m.index_id, m.effective_from, m.weight_pct DESC""",
        index_ids,
        security_id_filter,
    )
    return to_rows(MembershipRow, records)
