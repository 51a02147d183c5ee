"""SQL for ETFs, their trading counters and their Connect eligibility periods."""

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
    numbered,
    order_sql,
    to_rows,
)

COLUMNS = """e.id, e.mic, e.code, e.isin, e.name_en, e.name_zh, e.issuer_id, e.index_id,
    e.listing_date, e.delisting_date, e.base_currency, e.replication::text AS replication,
    e.ongoing_charges_pct, e.is_leveraged_inverse, e.leverage_factor"""
ELIGIBILITY_COLUMNS = """c.id, c.etf_id, c.direction::text AS direction, c.channel::text AS channel,
    c.status::text AS status, c.effective_from, c.effective_to, c.reason"""


@dataclass(frozen=True, slots=True)
class EtfRow:
    id: int
    mic: str
    code: str
    isin: str | None
    name_en: str
    name_zh: str | None
    issuer_id: int
    index_id: int | None
    listing_date: date
    delisting_date: date | None
    base_currency: str
    replication: str
    ongoing_charges_pct: Decimal | None
    is_leveraged_inverse: bool
    leverage_factor: Decimal | None


@dataclass(frozen=True, slots=True)
class CounterRow:
    id: int
    etf_id: int
    mic: str
    code: str
    currency: str
    is_primary: bool


@dataclass(frozen=True, slots=True)
class EligibilityRow:
    id: int
    etf_id: int
    direction: str
    channel: str
    status: str
    effective_from: date
    effective_to: date | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class EligibilityChangeRow:
    etf_id: int
    channel: str
    status_before: str | None
    status_after: str | None


@dataclass(frozen=True, slots=True)
class ExposureRow:
    security_id: int
    etf_id: int
    index_id: int
    weight_pct: Decimal


@dataclass(frozen=True, slots=True)
class EtfFilter:
    issuer_slug: str | None = None
    index_code: str | None = None
    theme: str | None = None
    mic: str | None = None
    leveraged_inverse: bool | None = None
    listed_on: date | None = None
    search: str | None = None


ORDER_COLUMNS = {
    "CODE": "e.mic || ':' || e.code",
    "NAME": "e.name_en",
    "LISTING_DATE": "e.listing_date",
    "ONGOING_CHARGES": "e.ongoing_charges_pct",
}


async def by_ids(db: Database, ids: Sequence[int]) -> list[EtfRow]:
    records = await db.fetch(f"SELECT {COLUMNS} FROM etfs e WHERE e.id = ANY($1::bigint[])", ids)
    return to_rows(EtfRow, records)


async def ids_by_counter_codes(db: Database, codes: Sequence[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(MIC, code, etf id) for each code that is a fund's own code or one of its trading counters."""
    records = await db.fetch(
        """SELECT k.mic, k.code, coalesce(e.id, c.etf_id) AS etf_id
           FROM unnest($1::text[], $2::text[]) k (mic, code)
           LEFT JOIN etfs e ON e.mic = k.mic AND e.code = k.code
           LEFT JOIN etf_counters c ON c.mic = k.mic AND c.code = k.code
           WHERE coalesce(e.id, c.etf_id) IS NOT NULL""",
        [c[0] for c in codes],
        [c[1] for c in codes],
    )
    return [(r["mic"], r["code"], r["etf_id"]) for r in records]


async def by_issuers(db: Database, manager_ids: Sequence[int]) -> list[EtfRow]:
    records = await db.fetch(
        f"""SELECT {COLUMNS} FROM etfs e WHERE e.issuer_id = ANY($1::bigint[])
            ORDER BY e.issuer_id, e.mic, e.code""",
        manager_ids,
    )
    return to_rows(EtfRow, records)


async def by_indices(db: Database, index_ids: Sequence[int]) -> list[EtfRow]:
    records = await db.fetch(
        f"""SELECT {COLUMNS} FROM etfs e WHERE e.index_id = ANY($1::bigint[])
            ORDER BY e.index_id, e.mic, e.code""",
        index_ids,
    )
    return to_rows(EtfRow, records)


async def by_index_and_issuer(db: Database, pairs: Sequence[tuple[int, int]]) -> list[EtfRow]:
    """ETFs built by a manager on an index: the products a licence has led to."""
    records = await db.fetch(
        f"""SELECT {COLUMNS} FROM etfs e
            JOIN unnest($1::bigint[], $2::bigint[]) k (index_id, issuer_id)
              ON e.index_id = k.index_id AND e.issuer_id = k.issuer_id
            ORDER BY e.index_id, e.issuer_id, e.mic, e.code""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return to_rows(EtfRow, records)


async def page(
    db: Database, where: EtfFilter, order: str, direction: SortDirection, window: PageRequest
) -> Page[EtfRow]:
    sql = f"""
        SELECT {COLUMNS}, count(*) OVER () AS total
        FROM etfs e
        LEFT JOIN indices i ON i.id = e.index_id
        JOIN asset_managers m ON m.id = e.issuer_id
        WHERE ($1::text IS NULL OR m.slug = $1)
          AND ($2::text IS NULL OR i.code = $2)
          AND ($3::text IS NULL OR i.themes @> ARRAY[$3::text])
          AND ($4::text IS NULL OR e.mic = $4)
          AND ($5::boolean IS NULL OR e.is_leveraged_inverse = $5)
          AND ($6::date IS NULL OR (e.listing_date <= $6
                                    AND (e.delisting_date IS NULL OR e.delisting_date > $6)))
          AND ($7::text IS NULL OR e.name_en ILIKE '%' || $7 || '%' OR e.name_zh LIKE '%' || $7 || '%'
               OR e.code = $7)
        {order_sql(ORDER_COLUMNS, order, direction, "e.id")}
        LIMIT $8 OFFSET $9"""
    args = (
        where.issuer_slug,
        where.index_code,
        where.theme,
        where.mic,
        where.leveraged_inverse,
        where.listed_on,
        where.search,
    )
    return await fetch_page(db, EtfRow, sql, *args, page=window)


async def counters_of(db: Database, etf_ids: Sequence[int]) -> list[CounterRow]:
    records = await db.fetch(
        """SELECT id, etf_id, mic, code, currency, is_primary FROM etf_counters
           WHERE etf_id = ANY($1::bigint[]) ORDER BY etf_id, is_primary DESC, code""",
        etf_ids,
    )
    return to_rows(CounterRow, records)


async def eligibility_of(
    db: Database, etf_ids: Sequence[int], as_of: date | None, direction: str | None
) -> list[EligibilityRow]:
    """Eligibility periods of each ETF: those in force on ``as_of``, or the whole history when None."""
    records = await db.fetch(
        f"""SELECT {ELIGIBILITY_COLUMNS} FROM connect_eligibility c
            WHERE c.etf_id = ANY($1::bigint[])
              AND ($2::date IS NULL OR c.period @> $2::date)
              AND ($3::connect_direction IS NULL OR c.direction = $3::connect_direction)
            ORDER BY c.etf_id, c.effective_from, c.direction, c.channel""",
        etf_ids,
        as_of,
        direction,
    )
    return to_rows(EligibilityRow, records)


ELIGIBLE_ON = (
    "SELECT "
    + ELIGIBILITY_COLUMNS
    + """, e.mic AS etf_mic, e.code AS etf_code FROM connect_eligibility c
            JOIN etfs e ON e.id = c.etf_id
            WHERE c.direction = {direction}::connect_direction AND c.period @> {asOf}::date
              AND ({channel}::connect_channel IS NULL OR c.channel = {channel}::connect_channel)
              AND ({status}::eligibility_status IS NULL OR c.status = {status}::eligibility_status)
            ORDER BY e.mic, e.code, c.channel"""
)
ELIGIBLE_ON_PARAMS = ("direction", "asOf", "channel", "status")


async def eligible_on(
    db: Database, direction: str, as_of: date, channel: str | None, status: str | None
) -> list[EligibilityRow]:
    """Every eligibility period in force on a date for a direction, ordered by ETF code."""
    records = await db.fetch(numbered(ELIGIBLE_ON, ELIGIBLE_ON_PARAMS), direction, as_of, channel, status)
    return to_rows(EligibilityRow, records)


ELIGIBILITY_CHANGES = """WITH before AS (
               SELECT etf_id, channel, status FROM connect_eligibility
               WHERE direction = {direction}::connect_direction AND period @> {from}::date),
           after AS (
               SELECT etf_id, channel, status FROM connect_eligibility
               WHERE direction = {direction}::connect_direction AND period @> {to}::date)
           SELECT coalesce(b.etf_id, a.etf_id) AS etf_id, coalesce(b.channel, a.channel)::text AS channel,
                  b.status::text AS status_before, a.status::text AS status_after,
                  e.mic AS etf_mic, e.code AS etf_code
           FROM before b FULL JOIN after a USING (etf_id, channel)
           JOIN etfs e ON e.id = coalesce(b.etf_id, a.etf_id)
           WHERE b.status IS DISTINCT FROM a.status
           ORDER BY e.mic, e.code, 2"""
ELIGIBILITY_CHANGES_PARAMS = ("direction", "from", "to")


async def eligibility_changes(
    db: Database, direction: str, start: date, end: date
) -> list[EligibilityChangeRow]:
    """Per ETF and channel, the status on ``start`` against the status on ``end`` where they differ."""
    records = await db.fetch(numbered(ELIGIBILITY_CHANGES, ELIGIBILITY_CHANGES_PARAMS), direction, start, end)
    return to_rows(EligibilityChangeRow, records)


async def exposures(db: Database, security_ids: Sequence[int], as_of: date) -> list[ExposureRow]:
    """ETFs exposed to each security through the indices they track, with the index weight on ``as_of``."""
    records = await db.fetch(
        """SELECT m.security_id, e.id AS etf_id, m.index_id, m.weight_pct
           FROM index_memberships m
           JOIN etfs e ON e.index_id = m.index_id
           WHERE m.security_id = ANY($1::bigint[]) AND m.period @> $2::date
             AND e.listing_date <= $2 AND (e.delisting_date IS NULL OR e.delisting_date > $2)
           ORDER BY m.security_id, m.weight_pct DESC, e.mic, e.code""",
        security_ids,
        as_of,
    )
    return to_rows(ExposureRow, records)
