"""SQL the operations endpoints run: the readiness ping, the migration revision, load statistics."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from service.db.client import Database
from service.repositories.base import to_rows


@dataclass(frozen=True, slots=True)
class LoadCountRow:
    dataset: str
    status: str
    loads: int
    last_success: float | None


async def ping(db: Database) -> bool:
    return bool(await db.fetchval("SELECT true"))


async def migration_revisions(db: Database) -> frozenset[str]:
    """The Alembic revisions the database is at (empty when it was never migrated)."""
    try:
        rows = await db.fetch("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return frozenset()
    return frozenset(row["version_num"] for row in rows)


async def load_counts(db: Database) -> list[LoadCountRow]:
    """Loads by dataset and status, with the time of the last successful one (empty before migration 0003)."""
    try:
        records = await db.fetch(
            """
            SELECT dataset, status::text AS status, count(*) AS loads,
                   (max(extract(epoch FROM finished_at)) FILTER (WHERE status = 'SUCCEEDED'))::float8
                       AS last_success
            FROM load_history
            GROUP BY dataset, status
            ORDER BY dataset, status
            """
        )
    except asyncpg.UndefinedTableError:
        return []
    return to_rows(LoadCountRow, records)


async def data_version(db: Database) -> int | None:
    try:
        version = await db.fetchval("SELECT version FROM data_version")
    except asyncpg.UndefinedTableError:
        return None
    return None if version is None else int(version)
