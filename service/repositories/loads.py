"""Load history, the data version and data freshness: what was loaded, when, and how fresh each dataset is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from service.db.client import Connection, Database
from service.repositories.base import to_row, to_rows

NOTIFY_CHANNEL = "connectgraph_data"

# One lock key per dataset: two loads of one dataset queue instead of interleaving their upserts.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('connectgraph.load:' || $1))"


@dataclass(frozen=True, slots=True)
class LoadRow:
    id: int
    dataset: str
    file_name: str
    sha256: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rows_skipped: int
    first_day: date | None
    last_day: date | None
    started_at: datetime
    finished_at: datetime
    status: str
    error: str | None
    data_version: int | None


@dataclass(frozen=True, slots=True)
class NewLoad:
    dataset: str
    file_name: str
    sha256: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rows_skipped: int
    first_day: date | None
    last_day: date | None
    started_at: datetime
    status: str
    error: str | None = None
    data_version: int | None = None


@dataclass(frozen=True, slots=True)
class FreshnessRow:
    name: str
    description: str
    source: str
    is_illustrative: bool
    loaded_at: datetime
    latest_trading_day: date | None
    last_load_id: int | None
    successful_loads: int


_LOAD_COLUMNS = (
    "id, dataset, file_name, sha256, rows_read, rows_inserted, rows_updated, rows_unchanged, "
    "rows_rejected, rows_skipped, first_day, last_day, started_at, finished_at, status::text AS status, "
    "error, data_version"
)


async def lock_dataset(conn: Connection, dataset: str) -> None:
    await conn.execute(_LOCK, dataset)


async def record_load(conn: Connection, load: NewLoad) -> LoadRow:
    record = await conn.fetchrow(
        f"""INSERT INTO load_history (dataset, file_name, sha256, rows_read, rows_inserted, rows_updated,
                rows_unchanged, rows_rejected, rows_skipped, first_day, last_day, started_at,
                finished_at, status, error, data_version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, greatest(clock_timestamp(), $12),
                    $13::load_status, $14, $15)
            RETURNING {_LOAD_COLUMNS}""",
        load.dataset,
        load.file_name,
        load.sha256,
        load.rows_read,
        load.rows_inserted,
        load.rows_updated,
        load.rows_unchanged,
        load.rows_rejected,
        load.rows_skipped,
        load.first_day,
        load.last_day,
        load.started_at,
        load.status,
        load.error,
        load.data_version,
    )
    row = to_row(LoadRow, record)
    assert row is not None
    return row


async def bump_data_version(conn: Connection) -> int:
    """The next data version; the row lock queues concurrent loads' commits in version order."""
    return int(
        await conn.fetchval(
            "UPDATE data_version SET version = version + 1, changed_at = clock_timestamp() RETURNING version"
        )
    )


async def touch_dataset(conn: Connection, name: str, source: str, illustrative: bool | None) -> None:
    """Note the load in ``datasets``: a new dataset is real unless told otherwise, else its flag is kept."""
    await conn.execute(
        """INSERT INTO datasets (name, description, source, is_illustrative, loaded_at)
           VALUES ($1, $1 || ' loaded from files', $2, coalesce($3, false), now())
           ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source, loaded_at = now(),
               is_illustrative = coalesce($3, datasets.is_illustrative)""",
        name,
        source,
        illustrative,
    )


async def describe_dataset(
    conn: Connection, name: str, description: str, source: str, illustrative: bool
) -> None:
    """Say what a dataset holds and where it comes from (the demo and generated data describe theirs)."""
    await conn.execute(
        """INSERT INTO datasets (name, description, source, is_illustrative) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, source = EXCLUDED.source,
               is_illustrative = EXCLUDED.is_illustrative""",
        name,
        description,
        source,
        illustrative,
    )


async def notify(conn: Connection, payload: dict[str, Any]) -> None:
    """NOTIFY is transactional: listeners hear it when (and only if) the load commits."""
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, json.dumps(payload, sort_keys=True))


async def previous_success(conn: Connection, dataset: str, sha256: str) -> LoadRow | None:
    record = await conn.fetchrow(
        f"""SELECT {_LOAD_COLUMNS} FROM load_history
            WHERE dataset = $1 AND sha256 = $2 AND status IN ('SUCCEEDED', 'UNCHANGED')
            ORDER BY id DESC LIMIT 1""",
        dataset,
        sha256,
    )
    return to_row(LoadRow, record)


# --- Reads for the API (through the Database interface) ----------------------------------------------


async def current_data_version(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT version FROM data_version"))


async def data_version(db: Database) -> int:
    return int(await db.fetchval("SELECT version FROM data_version"))


async def freshness(db: Database) -> list[FreshnessRow]:
    """Every dataset with its latest trading day loaded from files and its last successful load."""
    records = await db.fetch(
        """SELECT d.name, d.description, d.source, d.is_illustrative, d.loaded_at,
                  h.latest_trading_day, h.last_load_id, coalesce(h.successful_loads, 0) AS successful_loads
           FROM datasets d
           LEFT JOIN LATERAL (
               SELECT max(l.last_day) AS latest_trading_day, max(l.id) AS last_load_id,
                      count(*) AS successful_loads
               FROM load_history l
               WHERE l.dataset = d.name AND l.status IN ('SUCCEEDED', 'UNCHANGED')
           ) h ON true
           ORDER BY d.name"""
    )
    return to_rows(FreshnessRow, records)


async def loads_by_id(db: Database, ids: list[int]) -> list[LoadRow]:
    records = await db.fetch(f"SELECT {_LOAD_COLUMNS} FROM load_history WHERE id = ANY($1::bigint[])", ids)
    return to_rows(LoadRow, records)


async def recent_loads(db: Database, *, dataset: str | None, limit: int) -> list[LoadRow]:
    records = await db.fetch(
        f"""SELECT {_LOAD_COLUMNS} FROM load_history
            WHERE $1::text IS NULL OR dataset = $1 ORDER BY id DESC LIMIT $2""",
        dataset,
        limit,
    )
    return to_rows(LoadRow, records)
