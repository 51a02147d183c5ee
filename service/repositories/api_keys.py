"""SQL for API keys (hashes only), their usage counters, and persisted queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from service.db.client import Database
from service.errors import BadInput, NotFound
from service.repositories.base import to_row, to_rows

COLUMNS = """k.id, k.name, k.prefix, k.secret_hash, k.scopes, k.rate_per_minute, k.max_cost,
    k.allow_list_only, k.created_at, k.expires_at, k.revoked_at, k.grace_until, k.replaced_by,
    k.requests, k.rejected, k.last_used_at"""


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: int
    name: str
    prefix: str
    secret_hash: bytes
    scopes: list[str]
    rate_per_minute: int
    max_cost: int | None
    allow_list_only: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    grace_until: datetime | None
    replaced_by: int | None
    requests: int
    rejected: int
    last_used_at: datetime | None

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return not (self.grace_until is not None and self.grace_until <= now)


@dataclass(frozen=True, slots=True)
class PersistedQueryRow:
    sha256: str
    document: str
    operation_name: str | None
    registered: bool


async def create(
    db: Database,
    *,
    name: str,
    prefix: str,
    secret_hash: bytes,
    scopes: Sequence[str],
    rate_per_minute: int,
    max_cost: int | None,
    allow_list_only: bool,
    expires_at: datetime | None,
) -> ApiKeyRow:
    try:
        record = await db.fetchrow(
            f"""INSERT INTO api_keys AS k (name, prefix, secret_hash, scopes, rate_per_minute, max_cost,
                                          allow_list_only, expires_at)
                VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8)
                RETURNING {COLUMNS}""",
            name,
            prefix,
            secret_hash,
            list(scopes),
            rate_per_minute,
            max_cost,
            allow_list_only,
            expires_at,
        )
    except asyncpg.UniqueViolationError:
        raise BadInput(f"a live key is already named {name!r}", argument="name") from None
    except asyncpg.CheckViolationError as exc:
        raise BadInput(
            f"cannot create key {name!r}: {exc.constraint_name} refused it", argument="name"
        ) from None
    row = to_row(ApiKeyRow, record)
    assert row is not None
    return row


async def by_prefix(db: Database, prefix: str) -> ApiKeyRow | None:
    return to_row(
        ApiKeyRow, await db.fetchrow(f"SELECT {COLUMNS} FROM api_keys k WHERE k.prefix = $1", prefix)
    )


async def find(db: Database, name_or_prefix: str) -> ApiKeyRow:
    """The live key with this name, or the key with this prefix."""
    record = await db.fetchrow(
        f"""SELECT {COLUMNS} FROM api_keys k
            WHERE k.prefix = $1 OR (k.name = $1 AND k.revoked_at IS NULL AND k.grace_until IS NULL)
            ORDER BY k.prefix = $1 DESC LIMIT 1""",
        name_or_prefix,
    )
    row = to_row(ApiKeyRow, record)
    if row is None:
        raise NotFound(f"no API key named or prefixed {name_or_prefix!r}", argument="key")
    return row


async def all_keys(db: Database) -> list[ApiKeyRow]:
    return to_rows(ApiKeyRow, await db.fetch(f"SELECT {COLUMNS} FROM api_keys k ORDER BY k.created_at, k.id"))


async def revoke(db: Database, key_id: int) -> ApiKeyRow:
    record = await db.fetchrow(
        f"""UPDATE api_keys AS k SET revoked_at = coalesce(k.revoked_at, now())
            WHERE k.id = $1 RETURNING {COLUMNS}""",
        key_id,
    )
    row = to_row(ApiKeyRow, record)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    return row


async def start_grace(db: Database, key_id: int, grace_until: datetime) -> None:
    """The key stays valid until ``grace_until`` and gives up its name to its replacement."""
    await db.execute("UPDATE api_keys SET grace_until = $2 WHERE id = $1", key_id, grace_until)


async def mark_replaced(db: Database, old_id: int, new_id: int) -> None:
    await db.execute("UPDATE api_keys SET replaced_by = $2 WHERE id = $1", old_id, new_id)


async def record_usage(
    db: Database,
    key_ids: Sequence[int],
    requests: Sequence[int],
    rejected: Sequence[int],
    last_used: Sequence[datetime],
) -> None:
    """Add batched counters to several keys in one statement."""
    await db.execute(
        """UPDATE api_keys k SET requests = k.requests + u.requests, rejected = k.rejected + u.rejected,
               last_used_at = greatest(k.last_used_at, u.last_used)
           FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[])
                u (id, requests, rejected, last_used)
           WHERE k.id = u.id""",
        list(key_ids),
        list(requests),
        list(rejected),
        list(last_used),
    )


async def persisted_query(db: Database, sha256: str) -> PersistedQueryRow | None:
    record = await db.fetchrow(
        "SELECT sha256, document, operation_name, registered FROM persisted_queries WHERE sha256 = $1", sha256
    )
    return to_row(PersistedQueryRow, record)


async def save_persisted_query(
    db: Database, sha256: str, document: str, operation_name: str | None, *, registered: bool
) -> None:
    """Store a document under its hash; registering (the allow-list) is never undone by a later save."""
    await db.execute(
        """INSERT INTO persisted_queries (sha256, document, operation_name, registered)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (sha256) DO UPDATE
           SET registered = persisted_queries.registered OR excluded.registered""",
        sha256,
        document,
        operation_name,
        registered,
    )


async def registered_queries(db: Database) -> list[PersistedQueryRow]:
    records = await db.fetch(
        "SELECT sha256, document, operation_name, registered FROM persisted_queries WHERE registered "
        "ORDER BY operation_name, sha256"
    )
    return to_rows(PersistedQueryRow, records)


async def announce_change(db: Database, prefix: str) -> None:
    """Tell every instance a key changed (delivered when the transaction commits)."""
    await db.execute("SELECT pg_notify('connectgraph_keys', $1)", prefix)
