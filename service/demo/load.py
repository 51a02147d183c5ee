"""Loading the demo data set into an empty migrated database, in one transaction.

Reference rows go in with ``INSERT ... SELECT FROM unnest(...) RETURNING id, <natural key>`` (one
statement per table) so natural keys map to generated ids; the generated daily figures go in with
``COPY`` (``copy_records_to_table``). Everything runs on the one connection the caller holds, inside
one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import asyncpg

from service.demo.generate import (
    CALENDAR_COLUMNS,
    DEFAULT_SEED,
    EXCEPTION_COLUMNS,
    FLOW_COLUMNS,
    FX_COLUMNS,
    LEVEL_COLUMNS,
    STATS_COLUMNS,
    Figures,
    Row,
    build_figures,
)
from service.demo.reference import DEMO_REFERENCE, DatasetRef, Reference, datasets
from service.repositories.analytics import refresh_rollups
from service.repositories.loads import bump_data_version

Connection: TypeAlias = "asyncpg.Connection[Any]"
Progress = Callable[[str], None]

# Serialises concurrent loaders (two app instances starting at once): both wait, one loads.
_LOCK_KEY = 2026_1125_0001


class DatabaseNotEmpty(Exception):
    """The target database already holds indices; generators only fill empty databases."""

    def __init__(self, indices: int) -> None:
        super().__init__(f"the database already holds {indices} indices")
        self.indices = indices


@dataclass(frozen=True, slots=True)
class Ids:
    """Generated ids by natural key."""

    indices: dict[str, int]
    securities: dict[str, int]
    managers: dict[str, int]
    etfs: dict[str, int]


async def is_empty(conn: Connection) -> bool:
    """True when no index exists yet (the demo and the generator load indices first)."""
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM indices)")


async def load_demo(conn: Connection, *, seed: int = DEFAULT_SEED) -> bool:
    """Load the demo data set if the database is empty; True if loaded, False (no change) if not."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        if not await is_empty(conn):
            return False
        ids = await insert_reference(conn, DEMO_REFERENCE, datasets(seed))
        figures = build_figures(DEMO_REFERENCE, ids.indices, ids.etfs, seed=seed)
        await copy_figures(conn, figures)
        await refresh_rollups(conn, None)
        # New data: caches keyed on the data version (GET ETags, clients) must see it change.
        await bump_data_version(conn)
    return True


async def insert_reference(conn: Connection, ref: Reference, dataset_rows: Iterable[DatasetRef]) -> Ids:
    """Insert every reference table of ``ref``; return the generated ids by natural key."""
    await conn.executemany(
        "INSERT INTO datasets (name, description, source, is_illustrative) VALUES ($1, $2, $3, $4)",
        [(d.name, d.description, d.source, d.is_illustrative) for d in dataset_rows],
    )
    index_rows = await conn.fetch(
        """
        INSERT INTO indices (code, name, provider, currency, base_date, base_value, launch_date,
                             weighting, weight_cap_pct, review_frequency, rebalance_frequency,
                             constituent_count, methodology_notes, themes, is_illustrative)
        SELECT code, name, provider, currency, base_date, base_value, launch_date, weighting,
               weight_cap_pct, review_frequency, rebalance_frequency, constituent_count,
               methodology_notes, string_to_array(themes, '|'), is_illustrative
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::numeric[],
                    $7::date[], $8::text[], $9::numeric[], $10::text[], $11::text[], $12::int[],
                    $13::text[], $14::text[], $15::bool[])
             AS u(code, name, provider, currency, base_date, base_value, launch_date, weighting,
                  weight_cap_pct, review_frequency, rebalance_frequency, constituent_count,
                  methodology_notes, themes, is_illustrative)
        RETURNING id, code
        """,
        *_columns(
            (
                i.code,
                i.name,
                i.provider,
                i.currency,
                i.base_date,
                i.base_value,
                i.launch_date,
                i.weighting,
                i.weight_cap_pct,
                i.review_frequency,
                i.rebalance_frequency,
                i.constituent_count,
                i.methodology_notes,
                "|".join(i.themes),
                i.is_illustrative,
            )
            for i in ref.indices
        ),
    )
    index_ids = {r["code"]: r["id"] for r in index_rows}

    security_rows = await conn.fetch(
        """
        INSERT INTO securities (mic, local_code, isin, name, sector, country, currency)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[])
        RETURNING id, mic, local_code
        """,
        *_columns(
            ((s.mic, s.local_code, s.isin, s.name, s.sector, s.country, s.currency)) for s in ref.securities
        ),
    )
    security_ids = {f"{r['mic']}:{r['local_code']}": r["id"] for r in security_rows}

    await conn.copy_records_to_table(
        "index_memberships",
        records=[
            (
                index_ids[m.index_code],
                security_ids[m.security_key],
                m.weight_pct,
                m.effective_from,
                m.effective_to,
            )
            for m in ref.memberships
        ],
        columns=("index_id", "security_id", "weight_pct", "effective_from", "effective_to"),
    )

    manager_rows = await conn.fetch(
        """
        INSERT INTO asset_managers (slug, legal_name, short_name, home_market, website)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
        RETURNING id, slug
        """,
        *_columns((m.slug, m.legal_name, m.short_name, m.home_market, m.website) for m in ref.managers),
    )
    manager_ids = {r["slug"]: r["id"] for r in manager_rows}

    await conn.executemany(
        """
        INSERT INTO index_licences (index_id, manager_id, licensed_on, status, is_illustrative, notes)
        VALUES ($1, $2, $3, $4::licence_status, $5, $6)
        """,
        [
            (
                index_ids[lic.index_code],
                manager_ids[lic.manager_slug],
                lic.licensed_on,
                lic.status,
                lic.is_illustrative,
                lic.notes,
            )
            for lic in ref.licences
        ],
    )

    etf_rows = await conn.fetch(
        """
        INSERT INTO etfs (mic, code, isin, name_en, name_zh, issuer_id, index_id, listing_date,
                          delisting_date, base_currency, replication, ongoing_charges_pct,
                          is_leveraged_inverse, leverage_factor)
        SELECT mic, code, isin, name_en, name_zh, issuer_id, index_id, listing_date, delisting_date,
               base_currency, replication::replication_method, ongoing_charges_pct,
               is_leveraged_inverse, leverage_factor
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                    $7::bigint[], $8::date[], $9::date[], $10::text[], $11::text[],
                    $12::numeric[], $13::bool[], $14::numeric[])
             AS u(mic, code, isin, name_en, name_zh, issuer_id, index_id, listing_date,
                  delisting_date, base_currency, replication, ongoing_charges_pct,
                  is_leveraged_inverse, leverage_factor)
        RETURNING id, mic, code
        """,
        *_columns(
            (
                e.mic,
                e.code,
                e.isin,
                e.name_en,
                e.name_zh,
                manager_ids[e.issuer_slug],
                index_ids[e.index_code] if e.index_code is not None else None,
                e.listing_date,
                e.delisting_date,
                e.base_currency,
                e.replication,
                e.ongoing_charges_pct,
                e.is_leveraged_inverse,
                e.leverage_factor,
            )
            for e in ref.etfs
        ),
    )
    etf_ids = {f"{r['mic']}:{r['code']}": r["id"] for r in etf_rows}

    await conn.copy_records_to_table(
        "etf_counters",
        records=[(etf_ids[c.etf_key], c.mic, c.code, c.currency, c.is_primary) for c in ref.counters],
        columns=("etf_id", "mic", "code", "currency", "is_primary"),
    )
    await conn.executemany(
        """
        INSERT INTO connect_eligibility (etf_id, direction, channel, status, effective_from,
                                         effective_to, reason)
        VALUES ($1, $2::connect_direction, $3::connect_channel, $4::eligibility_status, $5, $6, $7)
        """,
        [
            (
                etf_ids[e.etf_key],
                e.direction,
                e.channel,
                e.status,
                e.effective_from,
                e.effective_to,
                e.reason,
            )
            for e in ref.eligibility
        ],
    )
    return Ids(index_ids, security_ids, manager_ids, etf_ids)


def _columns(rows: Iterable[tuple[object, ...]]) -> list[list[object]]:
    """Rows to column arrays, the shape ``unnest($1, $2, ...)`` takes."""
    return [list(column) for column in zip(*rows, strict=True)]


async def _stream(rows: Iterator[Row], every: int = 20_000) -> AsyncIterator[Row]:
    """Rows as an async iterator, so COPY sends while the generator still runs (the server works in
    parallel on the other core)."""
    for n, row in enumerate(rows, 1):
        yield row
        if n % every == 0:
            await asyncio.sleep(0)


async def copy_figures(
    conn: Connection, figures: Figures, progress: Progress | None = None
) -> dict[str, int]:
    """COPY every generated table; return the row counts."""
    counts: dict[str, int] = {}

    async def copy(table: str, rows: list[Row], columns: tuple[str, ...]) -> None:
        await conn.copy_records_to_table(table, records=rows, columns=columns)
        counts[table] = len(rows)
        if progress is not None:
            progress(f"{table}: {len(rows):,} rows")

    await copy("trading_calendar", figures.calendar, CALENDAR_COLUMNS)
    await copy("connect_calendar_exceptions", figures.exceptions, EXCEPTION_COLUMNS)
    await copy("fx_rates", figures.fx, FX_COLUMNS)
    await copy("index_levels", figures.levels, LEVEL_COLUMNS)
    await copy("connect_daily_flows", figures.flows, FLOW_COLUMNS)
    status = await conn.copy_records_to_table(
        "etf_daily_stats", records=_stream(figures.stats()), columns=STATS_COLUMNS
    )
    counts["etf_daily_stats"] = int(status.split()[-1])
    if progress is not None:
        progress(f"etf_daily_stats: {counts['etf_daily_stats']:,} rows")
    return counts
