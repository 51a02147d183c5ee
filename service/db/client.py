"""The one small interface all SQL goes through: ``Database`` (fetch, fetchrow, fetchval, transaction).

Two drivers implement it. ``PoolDatabase`` takes a pool connection per statement, so DataLoaders that
fire together run in parallel (asyncpg refuses two queries at once on one connection). ``ConnectionDatabase``
runs everything on one connection, serialised by a lock: the tests use it inside a rolled-back transaction,
and a unit of work that writes uses it to hold one connection for its whole transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.db.faults import CONNECTION, Guard, PoolHealth
from service.db.pool import Pool

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
        # One guard for every statement: it keeps nothing per use (faults.py).
        self._guarded = Guard(self.health, statement_timeout_ms=statement_timeout_ms)

    # A read runs with nothing between it and asyncpg but ``_read``'s one coroutine (the pool's
    # ``take_now``, a ``finally`` giving the connection back, a ``try`` whose ``except`` runs only on a
    # failure), not a retry loop, an async context manager and a generator (docs/adr/0029): ``fetch``,
    # ``fetchrow`` and ``fetchval`` hand back its coroutine rather than a frame of their own awaiting it.
    # The guard's rules (faults.py) apply as in ``with self._guarded`` for the writes. A read whose
    # connection broke in use is tried once more by ``_again``; one that could not get a connection
    # (``conn`` still None) is not.

    def fetch(self, sql: str, *args: Any) -> Coroutine[Any, Any, list[Record]]:
        return self._read("fetch", sql, args)

    def fetchrow(self, sql: str, *args: Any) -> Coroutine[Any, Any, Record | None]:
        return self._read("fetchrow", sql, args)

    def fetchval(self, sql: str, *args: Any) -> Coroutine[Any, Any, Any]:
        return self._read("fetchval", sql, args)

    async def _read(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        pool = self.pool
        conn = None
        try:
            conn = pool.take_now()
            if conn is None:
                conn = await pool.take(self.acquire_timeout_s)
            try:
                answer = await getattr(conn, method)(sql, *args)
            finally:
                pool.give(conn)
        except Exception as exc:
            self._retry_or_raise(exc, conn is not None)
        else:
            if self.health.failing:
                self.health.succeeded()
            return answer
        return await self._again(method, sql, args)

    def _retry_or_raise(self, error: Exception, acquired: bool) -> None:
        """A read that failed: raise ``Unavailable`` for a fault of availability (faults.py), else the
        error as it is; return (to try once more) only when a connection acquired broke in use."""
        unavailable = self._guarded.unavailable(error)
        if unavailable is None:
            raise error
        if not acquired or unavailable.details.get("reason") != CONNECTION:
            raise unavailable from error

    async def _again(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        """The second and last try of a read whose connection broke: on a fresh connection, not retried."""
        with self._guarded:
            async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
                return await getattr(conn, method)(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        with self._guarded:
            async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
                return await conn.execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ConnectionDatabase]:
        with self._guarded:
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
