"""The connection pool: asyncpg connections handed out from a list; codecs and session settings are set
once per connection when it opens."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import asyncpg

from service.observability.logging import get_logger

COMMAND_TIMEOUT_MARGIN_S = 5.0
SETTLE_TIMEOUT_S = 5.0  # a cancelled statement's acknowledgement, before its connection is dropped
log = get_logger("connectgraph.db")


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # jsonb/json come back as Python objects; the compiled path asks for ::text when it wants bytes.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+psycopg://``)."""
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        return scheme.split("+", 1)[0] + "://" + rest
    return url


# Session settings of every connection the service opens. JIT off: every statement here is meant to take
# milliseconds, and PostgreSQL's JIT, switched on by a cost estimate over jit_above_cost, spent 220 ms
# compiling the 20 ms ranking at full scale (docs/analytics-performance.md).
SESSION_SETTINGS = {"jit": "off"}
# Every statement the service sends is a prepared statement whose text is fixed per shape of the request
# (values are parameters): planned once, its generic plan, rather than a custom plan every execution, which
# PostgreSQL's own choice ("auto") keeps for statements with optional filters (``$1 IS NULL OR ...``).
# Planning was half the server time of the light questions (docs/adr/0019).
PlanCacheMode = Literal["force_generic_plan", "auto", "force_custom_plan"]
PLAN_CACHE_MODE: PlanCacheMode = "force_generic_plan"
# What PostgreSQL's planner takes a page fetched out of order to cost, against 1 for the next page in
# order. Its default, 4, prices a disk's seek; the service's data lives in memory (shared buffers and the
# page cache), where a page is a page. At 4, a to-one lookup by primary key in a small table (an index's
# row for each of a security's memberships) became a sequential scan of the whole table, run once per
# row (docs/adr/0020).
RANDOM_PAGE_COST = 1.1


@dataclass(frozen=True, slots=True)
class Planning:
    """The planner's settings on pooled connections (both measured, docs/adr/0019 and 0020)."""

    plan_cache_mode: PlanCacheMode = PLAN_CACHE_MODE
    random_page_cost: float = RANDOM_PAGE_COST


PLANNING = Planning()


class Pool:
    """asyncpg connections for one database, at most ``max_size``, handed out with nothing between a
    statement and its connection but a list (docs/adr/0016).

    asyncpg's own pool spent more CPU taking and giving back a connection than the statement it ran
    (a task and a timeout per release, an inactivity timer per acquisition: 76 us against 18 us for
    ``SELECT 1``). Here acquiring is a ``pop`` from the idle list (opening a connection while under
    ``max_size``; else waiting in line, bounded by ``timeout``, ``TimeoutError`` as asyncpg's pool
    raises) and releasing hands the connection to the first in line or back to the list. A connection
    that closed (the server restarted, or it was terminated) is dropped and its place freed; one left
    in a transaction is rolled back, and one whose statement was cancelled waits for the cancellation,
    before it is handed out again. Pooled connections never LISTEN, lock or SET anything (the listener
    and loads use connections of their own), so there is nothing else to reset.
    """

    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection[Any]]], *, min_size: int, max_size: int
    ) -> None:
        self._connect = connect
        self._min_size = min_size
        self._max_size = max_size
        self._idle: list[asyncpg.Connection[Any]] = []
        self._waiters: deque[asyncio.Future[asyncpg.Connection[Any]]] = deque()
        self._size = 0  # open or opening
        self._closing = False
        self._chores: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop it was started in

    async def start(self) -> None:
        """Open ``min_size`` connections; if one fails, none stays open."""
        self._loop = asyncio.get_running_loop()
        opened = await asyncio.gather(
            *(self._connect() for _ in range(self._min_size)), return_exceptions=True
        )
        failed = [c for c in opened if isinstance(c, BaseException)]
        if failed:
            for conn in opened:
                if not isinstance(conn, BaseException):
                    conn.terminate()
            raise failed[0]
        self._idle.extend(c for c in opened if not isinstance(c, BaseException))
        self._size = len(self._idle)

    def acquire(self, timeout: float | None = None) -> _Acquired:
        """``async with pool.acquire(timeout=...) as conn``: a connection for the block."""
        return _Acquired(self, timeout)

    def take_now(self) -> asyncpg.Connection[Any] | None:
        """An idle open connection without waiting, else None: then ``take``. Without a coroutine, so that
        a statement that finds a connection free costs none for it (docs/adr/0029); the user gives it back
        with ``give`` in a ``finally``."""
        idle = self._idle
        while idle and not self._closing:
            conn = idle.pop()
            if not conn.is_closed():
                return conn
            self._size -= 1
        return None

    async def take(self, wait_s: float | None = None) -> asyncpg.Connection[Any]:
        """A connection: an idle one, else a new one while under ``max_size``, else the first given back
        to those in line, waiting at most ``wait_s`` (``TimeoutError``)."""
        if self._closing:
            raise asyncpg.InterfaceError("the pool is closed")
        conn = self.take_now()
        if conn is not None:
            return conn
        if self._size < self._max_size:
            self._size += 1
            try:
                return await self._connect()
            except BaseException:
                self._size -= 1
                raise
        # In line. The wait's bound is a timer that fails the waiter (asyncio.timeout would cost a context
        # manager, a task lookup and the loop asked for again, a getpid system call, per wait); a waiter
        # already handed a connection is not failed, and a failed one is skipped by ``_hand_over``.
        loop = self._loop or asyncio.get_running_loop()
        waiter: asyncio.Future[asyncpg.Connection[Any]] = loop.create_future()
        self._waiters.append(waiter)
        expiry = None if wait_s is None else loop.call_later(wait_s, _expire, waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give(waiter.result())  # handed over just as the wait ended: pass it on
            waiter.cancel()
            raise
        finally:
            if expiry is not None:
                expiry.cancel()

    def give(self, conn: asyncpg.Connection[Any]) -> None:
        """A connection back from its user."""
        if conn.is_closed():
            self._size -= 1
            self._chore(self._open_for_waiter())
        elif conn.is_in_transaction() or _cancelling(conn):
            self._chore(self._settle(conn))
        elif self._closing:
            self._size -= 1
            conn.terminate()
        else:
            self._hand_over(conn)

    def _hand_over(self, conn: asyncpg.Connection[Any]) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _chore(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _settle(self, conn: asyncpg.Connection[Any]) -> None:
        """Wait for a cancelled statement to end, roll back an open transaction, then hand it on."""
        try:
            if _cancelling(conn):
                # bounded: on timeout asyncpg terminates the connection and raises
                await conn._protocol._wait_for_cancellation(SETTLE_TIMEOUT_S)  # type: ignore[attr-defined]
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
        except Exception:  # whatever went wrong, this connection is not to be trusted
            conn.terminate()
        self.give(conn)

    async def _open_for_waiter(self) -> None:
        """A connection closed while requests wait: open one in its place for the first of them."""
        if not self._waiters or self._closing or self._size >= self._max_size:
            return
        self._size += 1
        try:
            conn = await self._connect()
        except Exception as exc:
            self._size -= 1
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(exc)
                    break
            return
        self._hand_over(conn)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(sql, *args)

    def get_size(self) -> int:
        return self._size

    def get_idle_size(self) -> int:
        return len(self._idle)

    def get_max_size(self) -> int:
        return self._max_size

    async def close(self) -> None:
        """Close the idle connections; those in use close as they come back."""
        self._closing = True
        idle, self._idle = self._idle, []
        self._size -= len(idle)
        await asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True)
        for waiter in self._waiters:
            waiter.cancel()

    def terminate(self) -> None:
        self._closing = True
        idle, self._idle = self._idle, []
        self._size -= len(idle)
        for conn in idle:
            conn.terminate()


def _expire(waiter: asyncio.Future[Any]) -> None:
    """A wait in line ran out: TimeoutError, as asyncpg's pool raises, unless it was served first."""
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _cancelling(conn: asyncpg.Connection[Any]) -> bool:
    """A statement of this connection was cancelled and the server has not answered yet: the test
    asyncpg's pool makes (asyncpg 0.32) before it hands the connection on."""
    return bool(conn._protocol._is_cancelling())  # type: ignore[attr-defined]


class _Acquired:
    __slots__ = ("conn", "pool", "timeout")

    def __init__(self, pool: Pool, timeout: float | None) -> None:
        self.pool = pool
        self.timeout = timeout
        self.conn: asyncpg.Connection[Any] | None = None

    async def __aenter__(self) -> asyncpg.Connection[Any]:
        self.conn = await self.pool.take(self.timeout)
        return self.conn

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.pool.give(conn)


async def create_pool(
    url: str,
    *,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    connect_timeout_s: float = 5.0,
    application_name: str = "connectgraph",
    planning: Planning = PLANNING,
) -> Pool:
    """A pool whose every connection has the statement timeout set by the server.

    ``connect_timeout_s`` bounds each (re)connection, and the client-side command timeout (the
    statement timeout plus a margin) bounds a statement whose server went silent (a network
    partition), where PostgreSQL's own timeout can never fire.
    """
    dsn = asyncpg_dsn(url)
    settings = {
        **SESSION_SETTINGS,
        "statement_timeout": str(statement_timeout_ms),
        "application_name": application_name,
        "plan_cache_mode": planning.plan_cache_mode,
        "random_page_cost": str(planning.random_page_cost),
    }

    async def connect() -> asyncpg.Connection[Any]:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(
            dsn,
            timeout=connect_timeout_s,
            command_timeout=statement_timeout_ms / 1000 + COMMAND_TIMEOUT_MARGIN_S,
            server_settings=settings,
        )
        try:
            async with asyncio.timeout(connect_timeout_s):  # the codecs' type lookups, bounded too
                await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    pool = Pool(connect, min_size=min_size, max_size=max_size)
    await pool.start()
    return pool


async def create_pool_or_wait(
    url: str,
    *,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    connect_timeout_s: float = 5.0,
    application_name: str = "connectgraph",
    planning: Planning = PLANNING,
) -> Pool:
    """``create_pool``, but a database that is down at start-up does not stop the service.

    The pool is then made empty (min_size 0, nothing opened): requests fail with SERVICE_UNAVAILABLE and
    /readyz stays red until the database answers, and from then on connections open on demand.
    """
    try:
        return await create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            statement_timeout_ms=statement_timeout_ms,
            connect_timeout_s=connect_timeout_s,
            application_name=application_name,
            planning=planning,
        )
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError) as exc:
        log.warning("database_unavailable_at_startup", error=f"{type(exc).__name__}: {exc}")
    return await create_pool(
        url,
        min_size=0,
        max_size=max_size,
        statement_timeout_ms=statement_timeout_ms,
        connect_timeout_s=connect_timeout_s,
        application_name=application_name,
        planning=planning,
    )
