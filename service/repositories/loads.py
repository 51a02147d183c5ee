"""Load history, the data version and data freshness: what was loaded, when, and how fresh each dataset is.

Every load attempt is a ``load_history`` row from its start: RUNNING (committed before the work, with
the session that runs it), then its outcome. The session holds an advisory lock on its attempt for as
long as it runs, so a RUNNING row whose lock nobody holds belongs to a load that died (a killed
process, a lost connection): the next load marks it ABANDONED. Loads of one dataset queue on another
advisory lock; a load that has to wait can say who holds it and since when.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from service.db.client import Connection, Database
from service.repositories.base import to_row, to_rows
from service.repositories.ingest import WrittenDays

NOTIFY_CHANNEL = "connectgraph_data"

# Advisory lock classes (the first of the two keys): a dataset's loads queue on (DATASET, hash of its
# name) for their transaction; a running attempt holds (ATTEMPT, its id) for its session's life.
DATASET_LOCK = 2026113001
ATTEMPT_LOCK = 2026113002
_DATASET_KEY = "hashtext('connectgraph.load:' || $1)"


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
    finished_at: datetime | None  # None while RUNNING
    status: str
    error: str | None
    data_version: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a load attempt ended: its counts and status (SUCCEEDED, UNCHANGED, REJECTED or FAILED)."""

    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rows_skipped: int
    first_day: date | None
    last_day: date | None
    status: str
    error: str | None = None
    data_version: int | None = None


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The session holding a dataset's load lock, and the load it runs (when it recorded one)."""

    pid: int
    since: datetime | None  # when its transaction began (the lock is taken at its start)
    load_id: int | None
    file_name: str | None
    started_at: datetime | None


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


async def try_lock_dataset(conn: Connection, dataset: str) -> bool:
    """Take the dataset's load lock for this transaction if it is free; False when another load holds it."""
    return bool(
        await conn.fetchval(f"SELECT pg_try_advisory_xact_lock({DATASET_LOCK}, {_DATASET_KEY})", dataset)
    )


async def lock_dataset(conn: Connection, dataset: str) -> None:
    """Take the dataset's load lock for this transaction, waiting for the load that holds it."""
    await conn.execute(f"SELECT pg_advisory_xact_lock({DATASET_LOCK}, {_DATASET_KEY})", dataset)


async def dataset_lock_holder(conn: Connection, dataset: str) -> LockHolder | None:
    """Who holds the dataset's load lock: the session, since when, and its running load if recorded."""
    record = await conn.fetchrow(
        f"""SELECT l.pid, a.xact_start AS since, h.id AS load_id, h.file_name, h.started_at
            FROM pg_locks l
            LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            LEFT JOIN LATERAL (SELECT id, file_name, started_at FROM load_history
                               WHERE status = 'RUNNING' AND backend_pid = l.pid
                               ORDER BY id DESC LIMIT 1) h ON true
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = {DATASET_LOCK}::oid AND l.objid = {_DATASET_KEY}::oid
            LIMIT 1""",
        dataset,
    )
    return to_row(LockHolder, record)


async def begin_load(
    conn: Connection, dataset: str, file_name: str, sha256: str, started_at: datetime
) -> int:
    """Record a RUNNING attempt of this session and hold its lock until ``end_load``; returns its id."""
    load_id = int(
        await conn.fetchval(
            """INSERT INTO load_history (dataset, file_name, sha256, started_at, status, backend_pid)
               VALUES ($1, $2, $3, $4, 'RUNNING', pg_backend_pid()) RETURNING id""",
            dataset,
            file_name,
            sha256,
            started_at,
        )
    )
    await conn.execute(f"SELECT pg_advisory_lock({ATTEMPT_LOCK}, $1::int)", load_id)
    return load_id


async def end_load(conn: Connection, load_id: int) -> None:
    """Release the attempt's lock (its row says how it ended)."""
    await conn.execute(f"SELECT pg_advisory_unlock({ATTEMPT_LOCK}, $1::int)", load_id)


async def mark_abandoned(conn: Connection, found_by: int) -> list[int]:
    """Mark RUNNING attempts whose session is gone (nobody holds their lock) ABANDONED; their ids."""
    rows = await conn.fetch(
        f"""UPDATE load_history h
            SET status = 'ABANDONED', finished_at = greatest(clock_timestamp(), started_at),
                error = 'abandoned: the session that ran it (server process '
                        || coalesce(backend_pid::text, '?') || ') ended before the load finished '
                        || '(killed or disconnected); nothing it did was kept. Found by load #'
                        || $1::bigint || '.'
            WHERE h.status = 'RUNNING' AND h.id <> $1::bigint
              AND NOT EXISTS (
                  SELECT 1 FROM pg_locks l
                  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                    AND l.classid = {ATTEMPT_LOCK}::oid AND l.objid = h.id::int::oid)
            RETURNING h.id""",
        found_by,
    )
    return sorted(r["id"] for r in rows)


async def finish_load(conn: Connection, load_id: int, outcome: Outcome) -> LoadRow:
    """Record how the attempt ended."""
    record = await conn.fetchrow(
        f"""UPDATE load_history SET rows_read = $2, rows_inserted = $3, rows_updated = $4,
                rows_unchanged = $5, rows_rejected = $6, rows_skipped = $7, first_day = $8, last_day = $9,
                status = $10::load_status, error = $11, data_version = $12,
                finished_at = greatest(clock_timestamp(), started_at)
            WHERE id = $1
            RETURNING {_LOAD_COLUMNS}""",
        load_id,
        outcome.rows_read,
        outcome.rows_inserted,
        outcome.rows_updated,
        outcome.rows_unchanged,
        outcome.rows_rejected,
        outcome.rows_skipped,
        outcome.first_day,
        outcome.last_day,
        outcome.status,
        outcome.error,
        outcome.data_version,
    )
    row = to_row(LoadRow, record)
    assert row is not None
    return row


async def watch_client(conn: Connection, interval: str) -> None:
    """Have the server check that this session's client is still there every ``interval`` while a
    statement runs, so a killed load stops (and frees its locks) at once, not when it would finish."""
    await conn.execute("SELECT set_config('client_connection_check_interval', $1, false)", interval)


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


async def record_written(conn: Connection, load_id: int, written: Sequence[WrittenDays]) -> None:
    """What the load inserted or changed, for alerts (``load_events``), in the load's transaction."""
    if not written:
        return
    await conn.execute(
        """INSERT INTO load_events (load_id, kind, etf_id, days)
           SELECT $1, w.kind, w.etf_id, w.days::date[]
           FROM unnest($2::text[], $3::bigint[], $4::text[]) AS w(kind, etf_id, days)""",
        load_id,
        [w.kind for w in written],
        [w.etf_id for w in written],
        # Arrays of arrays of different lengths cannot travel as date[][]: each as its array literal.
        ["{" + ",".join(d.isoformat() for d in w.days) + "}" for w in written],
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
