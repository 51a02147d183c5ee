"""PoolDatabase's reads: a connection taken without waiting when one is idle and given back whatever
happens; a read whose connection broke in use tried once more on a fresh one, and nothing else retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from service.db.client import PoolDatabase
from service.db.pool import Pool
from service.errors import Unavailable

# Ends its own connection (as a server restart would) when run on the backend whose pid is $1.
ENDS_ITS_CONNECTION_ON = """
SELECT CASE WHEN pg_backend_pid() = $1::int THEN pg_terminate_backend(pg_backend_pid())::text
            ELSE 'fresh' END
"""
ENDS_ITS_CONNECTION = "SELECT pg_terminate_backend(pg_backend_pid())"


class Opened:
    """A pool's ``connect`` that counts the connections it opened."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.count = 0

    async def __call__(self) -> asyncpg.Connection[Any]:
        self.count += 1
        conn: asyncpg.Connection[Any] = await asyncpg.connect(self.url)
        return conn


@pytest.fixture
async def opened(database_url: str) -> AsyncIterator[tuple[Pool, Opened]]:
    connect = Opened(database_url)
    pool = Pool(connect, min_size=1, max_size=3)
    await pool.start()
    try:
        yield pool, connect
    finally:
        await pool.close()


async def test_a_read_finds_an_idle_connection_without_waiting_and_gives_it_back(
    opened: tuple[Pool, Opened],
) -> None:
    pool, connect = opened
    db = PoolDatabase(pool, acquire_timeout_s=1)
    assert await db.fetchval("SELECT 1") == 1
    row = await db.fetchrow("SELECT 2 AS two")
    assert row is not None and row["two"] == 2
    assert [r[0] for r in await db.fetch("SELECT generate_series(1, 3)")] == [1, 2, 3]
    assert connect.count == 1 and pool.get_size() == 1 and pool.get_idle_size() == 1


@pytest.mark.parametrize("kind", ["fetch", "fetchrow", "fetchval"])
async def test_a_read_whose_connection_broke_is_tried_once_more_on_a_fresh_one(
    opened: tuple[Pool, Opened], kind: str
) -> None:
    # given the pool's one idle connection, which the statement ends when it runs there
    pool, connect = opened
    pid = await pool.fetchval("SELECT pg_backend_pid()")
    db = PoolDatabase(pool, acquire_timeout_s=1)
    # when it is read
    answer = await getattr(db, kind)(ENDS_ITS_CONNECTION_ON, pid)
    # then it is answered on a fresh connection, and the broken one is dropped
    value = answer[0][0] if kind == "fetch" else answer[0] if kind == "fetchrow" else answer
    assert value == "fresh"
    assert connect.count == 2 and pool.get_size() == 1 and pool.get_idle_size() == 1
    assert not db.health.failing  # it failed, then served again


async def test_a_read_is_retried_once_only(opened: tuple[Pool, Opened]) -> None:
    pool, connect = opened
    db = PoolDatabase(pool, acquire_timeout_s=1)
    with pytest.raises(Unavailable) as raised:
        await db.fetchval(ENDS_ITS_CONNECTION)
    assert raised.value.details["reason"] == "connection"
    assert connect.count == 2  # the idle one, then one fresh one; not a third
    assert db.health.failing
    assert await db.fetchval("SELECT 1") == 1 and not db.health.failing


async def test_a_write_whose_connection_broke_is_not_retried(opened: tuple[Pool, Opened]) -> None:
    pool, connect = opened
    db = PoolDatabase(pool, acquire_timeout_s=1)
    with pytest.raises(Unavailable) as raised:
        await db.execute(ENDS_ITS_CONNECTION)
    assert raised.value.details["reason"] == "connection" and connect.count == 1


async def test_a_read_that_cannot_connect_is_not_retried() -> None:
    attempts = 0

    async def refused() -> asyncpg.Connection[Any]:
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError("connection refused")

    pool = Pool(refused, min_size=0, max_size=2)
    await pool.start()
    db = PoolDatabase(pool, acquire_timeout_s=1)
    with pytest.raises(Unavailable) as raised:
        await db.fetchval("SELECT 1")
    assert raised.value.details["reason"] == "connection" and attempts == 1
    assert pool.get_size() == 0


async def test_a_statement_past_its_timeout_is_not_retried(database_url: str) -> None:
    connect = Opened(database_url)

    async def with_timeout() -> asyncpg.Connection[Any]:
        conn = await connect()
        await conn.execute("SET statement_timeout = 100")
        return conn

    pool = Pool(with_timeout, min_size=1, max_size=2)
    await pool.start()
    try:
        db = PoolDatabase(pool, acquire_timeout_s=1, statement_timeout_ms=100)
        with pytest.raises(Unavailable) as raised:
            await db.fetchval("SELECT pg_sleep(5)")
        assert raised.value.details == {"reason": "statement_timeout", "timeoutMs": 100}
        assert connect.count == 1
        assert await db.fetchval("SELECT 1") == 1  # the same connection serves again
        assert connect.count == 1
    finally:
        await pool.close()


async def test_a_read_waits_in_line_at_most_the_acquire_timeout(opened: tuple[Pool, Opened]) -> None:
    # given every connection the pool may open in use
    pool, _ = opened
    db = PoolDatabase(pool, acquire_timeout_s=0.05)
    held = [await pool.take() for _ in range(3)]
    assert pool.take_now() is None
    # when a read comes, it waits, then fails as a timeout (not retried: it never had a connection)
    with pytest.raises(Unavailable) as raised:
        await db.fetchval("SELECT 1")
    assert raised.value.details["reason"] == "timeout"
    # and once one is given back, the next read has it
    pool.give(held.pop())
    assert await db.fetchval("SELECT 1") == 1
    for conn in held:
        pool.give(conn)
    assert pool.get_size() == 3 and pool.get_idle_size() == 3


async def test_a_cancelled_read_gives_its_connection_back(opened: tuple[Pool, Opened]) -> None:
    # given a read under way on the pool's one connection
    pool, connect = opened
    db = PoolDatabase(pool, acquire_timeout_s=1)
    task = asyncio.ensure_future(db.fetchval("SELECT pg_sleep(10)"))
    await asyncio.sleep(0.2)
    assert pool.get_idle_size() == 0
    # when its request is cancelled
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # then the connection comes back once the server has cancelled the statement, and serves again
    for _ in range(50):
        if pool.get_idle_size() == 1:
            break
        await asyncio.sleep(0.05)
    assert pool.get_size() == 1 and pool.get_idle_size() == 1 and connect.count == 1
    assert await db.fetchval("SELECT 1") == 1


async def test_take_now_skips_closed_connections_and_gives_none_while_closing(
    opened: tuple[Pool, Opened],
) -> None:
    pool, _ = opened
    conn = pool.take_now()
    assert conn is not None
    conn.terminate()
    pool.give(conn)  # closed: dropped
    assert pool.get_size() == 0 and pool.take_now() is None
    fresh = await pool.take()
    pool.give(fresh)
    await pool.close()
    assert pool.take_now() is None


async def test_a_read_that_fails_for_another_reason_raises_that_error_and_gives_its_connection_back(
    opened: tuple[Pool, Opened],
) -> None:
    pool, connect = opened
    db = PoolDatabase(pool, acquire_timeout_s=1)
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await db.fetchval("SELEC 1")
    assert connect.count == 1 and pool.get_idle_size() == 1 and not db.health.failing
