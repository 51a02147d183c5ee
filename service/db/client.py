"""The one small interface all SQL goes through: ``Database`` (fetch, fetchrow, fetchval, transaction).

Two drivers implement it. ``PoolDatabase`` takes a pool connection per statement, so DataLoaders that
fire together run in parallel (asyncpg refuses two queries at once on one connection). ``ConnectionDatabase``
runs everything on one connection, serialised by a lock: the tests use it inside a rolled-back transaction,
and a unit of work that writes uses it to hold one connection for its whole transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.db.faults import CONNECTION, PoolHealth, unavailable_on_failure
from service.db.pool import Pool
from service.errors import Unavailable

Record = asyncpg.Record
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
else:
    Connection = asyncpg.Connection | PoolConnectionProxy


class Database(Protocol):
    async def fetch(self, sql: str, *args: Any) -> list[Record]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Record | None: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> str: ...
    def transaction(self) -> Any:
        """An async context manager yielding a ``Database`` bound to one connection in a transaction."""
        ...


class PoolDatabase:
    """Takes a pool connection per statement; availability failures become ``Unavailable`` (faults.py).

    Waiting for a free connection is bounded by ``acquire_timeout_s``. A read that finds its connection
    broken (the server restarted since it was opened) is tried once more on a fresh one: reads are
    idempotent, and that is what lets the service recover from a database restart without errors.
    Writes (``execute``, transactions) are never retried.
    """

    def __init__(
        self,
        pool: Pool,
        *,
        name: str = "primary",
        acquire_timeout_s: float | None = None,
        statement_timeout_ms: int | None = None,
    ) -> None:
        self.pool = pool
        self.name = name
        self.acquire_timeout_s = acquire_timeout_s
        self.statement_timeout_ms = statement_timeout_ms
        self.health = PoolHealth(name)

    def _guard(self) -> Any:
        return unavailable_on_failure(self.health, statement_timeout_ms=self.statement_timeout_ms)

    async def _read(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        for attempt in (1, 2):
            acquired = False
            try:
                with self._guard():
                    async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
                        acquired = True
                        return await getattr(conn, method)(sql, *args)
            except Unavailable as exc:
                # Retry only a connection that broke in use; a failure to connect is final (fail fast).
                if attempt == 2 or not acquired or exc.details.get("reason") != CONNECTION:
                    raise
        raise AssertionError("unreachable")

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        rows: list[Record] = await self._read("fetch", sql, args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        row: Record | None = await self._read("fetchrow", sql, args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._read("fetchval", sql, args)

    async def execute(self, sql: str, *args: Any) -> str:
        with self._guard():
            async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
                return await conn.execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ConnectionDatabase]:
        with self._guard():
            async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn, conn.transaction():
                yield ConnectionDatabase(conn)


class ConnectionDatabase:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        async with self._lock:
            return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        async with self._lock:
            return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._lock:
            return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self._lock:
            return await self.conn.execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ConnectionDatabase]:
        # Nested inside an outer transaction this is a savepoint (the tests rely on that).
        async with self.conn.transaction():
            yield self


class CountingDatabase:
    """Wraps a Database and records every statement: the N+1 tests assert on ``statements``."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner
        self.statements: list[str] = []

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        self.statements.append(sql)
        return await self.inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        self.statements.append(sql)
        return await self.inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append(sql)
        return await self.inner.execute(sql, *args)

    def transaction(self) -> Any:
        return self.inner.transaction()


def as_list(values: Sequence[Any]) -> list[Any]:
    """asyncpg wants a list for array parameters."""
    return list(values)
