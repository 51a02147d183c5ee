"""The pool hands out at most max_size connections, waits in line with a timeout, and never hands on a
connection that is closed, inside a transaction or still cancelling a statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service.db.pool import Pool, create_pool


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    made = await create_pool(database_url, min_size=1, max_size=2, statement_timeout_ms=5_000)
    try:
        yield made
    finally:
        await made.close()


async def test_a_third_user_waits_for_one_of_two_connections(pool: Pool) -> None:
    # given both connections in use
    async with pool.acquire() as a, pool.acquire() as b:
        assert a is not b and pool.get_size() == 2 and pool.get_idle_size() == 0
        # when a third asks, it waits; with a timeout it gives up
        with pytest.raises(TimeoutError):
            async with pool.acquire(timeout=0.05):
                pass
        waiting = asyncio.ensure_future(pool.take())
        await asyncio.sleep(0.05)
        assert not waiting.done()
    # then a released connection goes to the one waiting
    third = await asyncio.wait_for(waiting, 1)
    assert third in (a, b) and await third.fetchval("SELECT 1") == 1
    pool.give(third)
    assert pool.get_size() == 2 and pool.get_idle_size() == 2


async def test_a_connection_left_in_a_transaction_is_rolled_back_before_it_is_handed_on(pool: Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (x int)")
    await asyncio.sleep(0.2)  # the rollback runs beside the request that gave it back
    async with pool.acquire() as again, pool.acquire() as other:
        assert conn in (again, other)
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None


async def test_a_closed_connection_is_dropped_and_its_place_freed(pool: Pool) -> None:
    async with pool.acquire() as conn:
        conn.terminate()
    assert pool.get_size() == 0
    async with pool.acquire() as fresh:
        assert fresh is not conn and await fresh.fetchval("SELECT 1") == 1


async def test_a_connection_whose_statement_was_cancelled_is_usable_again(pool: Pool) -> None:
    async def slow() -> None:
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_sleep(10)")

    task = asyncio.ensure_future(slow())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(3):  # whichever connection comes, it answers
        async with pool.acquire(timeout=5) as conn:
            assert await conn.fetchval("SELECT 1") == 1
