"""Faults against real servers: the database stops and comes back, a statement runs past its timeout,
the pool is exhausted. Each ends in a fast SERVICE_UNAVAILABLE for the request concerned, never a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.app import create_app
from service.db.client import Database, PoolDatabase
from service.db.embedded import EmbeddedPostgres
from service.db.faults import Guard, PoolHealth
from service.db.pool import Planning, create_pool
from service.errors import Unavailable
from service.observability import metrics
from service.observability.request_id import current_request_id
from service.settings import Settings
from tests.conftest import migrate
from tests.ops.conftest import QUERY, serving


async def _until_ok(client: httpx.AsyncClient, within_s: float = 20.0) -> float:
    began = time.monotonic()
    while True:
        ready = await client.get("/readyz")
        answer = (await client.post("/graphql", json={"query": QUERY})).json()
        if ready.status_code == 200 and "errors" not in answer:
            return time.monotonic() - began
        assert time.monotonic() - began < within_s, (ready.text, answer)
        await asyncio.sleep(0.2)


async def test_the_database_stops_and_comes_back(tmp_path: Path) -> None:
    # given a service on a PostgreSQL of this test's own
    postgres = EmbeddedPostgres(tmp_path / "pg")
    url = postgres.start()
    try:
        await asyncio.to_thread(migrate, url, "upgrade", "head")
        async with serving(url) as (app, client):
            await _until_ok(client)
            # when the database stops (and the instance has heard it: until then the answers it holds
            # for the data version it knows are still right, and it serves them)
            await asyncio.to_thread(postgres.stop)
            deadline = time.monotonic() + 10
            while app.state.runtime.listener.connected:
                assert time.monotonic() < deadline, "LISTEN did not notice the stop"
                await asyncio.sleep(0.05)
            began = time.monotonic()
            answer = (await client.post("/graphql", json={"query": QUERY})).json()
            failed_in = time.monotonic() - began
            ready = await client.get("/readyz")
            # then requests fail fast and clearly, and readiness turns red
            assert answer["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert answer["errors"][0]["extensions"]["reason"] == "connection"
            assert failed_in < 3.0
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"]["code"] == "SERVICE_UNAVAILABLE"
            # when it comes back, the same process recovers by itself
            await asyncio.to_thread(postgres.start)
            await _until_ok(client)
            deadline = time.monotonic() + 20
            while not app.state.runtime.listener.connected:
                assert time.monotonic() < deadline, "LISTEN did not reconnect"
                await asyncio.sleep(0.1)
    finally:
        postgres.stop()


class SlowWhenAsked:
    """Runs ``pg_sleep`` before the statements of requests whose id starts with ``slow``."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner

    async def _maybe_sleep(self) -> None:
        if (current_request_id() or "").startswith("slow"):
            await self.inner.fetchval("SELECT pg_sleep(5)")

    async def fetch(self, sql: str, *args: Any) -> Any:
        await self._maybe_sleep()
        return await self.inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        await self._maybe_sleep()
        return await self.inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._maybe_sleep()
        return await self.inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self.inner.execute(sql, *args)

    def transaction(self) -> Any:
        return self.inner.transaction()


@pytest.fixture
async def pool_db(database_url: str) -> AsyncIterator[PoolDatabase]:
    pool = await create_pool(database_url, min_size=1, max_size=2, statement_timeout_ms=300)
    try:
        yield PoolDatabase(pool, acquire_timeout_s=0.5, statement_timeout_ms=300)
    finally:
        await pool.close()


async def test_a_slow_query_hits_the_statement_timeout_and_others_are_unaffected(
    pool_db: PoolDatabase,
) -> None:
    app = create_app(Settings(database_url=None, compiled_execution=False), database=SlowWhenAsked(pool_db))
    timeouts = metrics.DB_UNAVAILABLE.labels("primary", "statement_timeout")._value.get()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        began = time.monotonic()
        slow, fast = await asyncio.gather(
            client.post("/graphql", json={"query": QUERY}, headers={"X-Request-ID": "slow-1"}),
            client.post("/graphql", json={"query": QUERY}, headers={"X-Request-ID": "fast-1"}),
        )
        elapsed = time.monotonic() - began
    error = slow.json()["errors"][0]
    assert error["extensions"] == {
        "code": "SERVICE_UNAVAILABLE",
        "reason": "statement_timeout",
        "timeoutMs": 300,
    } | ({"requestId": "slow-1"} if "requestId" in error["extensions"] else {})
    assert "statement timeout" in error["message"]
    assert "errors" not in fast.json() and fast.json()["data"]["indices"]["totalCount"] > 0
    assert elapsed < 3.0  # cancelled at 300 ms, not after pg_sleep's 5 s
    assert metrics.DB_UNAVAILABLE.labels("primary", "statement_timeout")._value.get() == timeouts + 1


async def test_an_exhausted_pool_fails_fast(pool_db: PoolDatabase) -> None:
    # given both pool connections busy
    async with pool_db.pool.acquire(), pool_db.pool.acquire():
        began = time.monotonic()
        with pytest.raises(Unavailable) as raised:
            await pool_db.fetchval("SELECT 1")
    assert raised.value.details["reason"] == "timeout"
    assert time.monotonic() - began < 2.0
    assert await pool_db.fetchval("SELECT 1") == 1  # and it serves again once a connection is free


async def test_the_service_starts_while_the_database_is_down(tmp_path: Path) -> None:
    # a URL whose socket directory has no server: start-up must not fail, readiness is red
    url = f"postgresql://postgres@/postgres?host={tmp_path}"
    async with serving(url) as (_, client):
        ready = await client.get("/readyz")
        healthy = await client.get("/healthz")
        answer = (await client.post("/graphql", json={"query": QUERY})).json()
    assert ready.status_code == 503
    assert healthy.status_code == 200
    assert answer["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_pool_connections_run_without_jit(pool_db: PoolDatabase) -> None:
    # JIT compiling took ten times the run time of the ranking at full scale (see SESSION_SETTINGS)
    assert await pool_db.fetchval("SHOW jit") == "off"
    assert await pool_db.fetchval("SHOW statement_timeout") == "300ms"


async def test_pool_connections_plan_for_data_in_memory(pool_db: PoolDatabase, database_url: str) -> None:
    # generic plans, and an out-of-order page priced as held in memory (docs/adr/0019, 0020)
    assert await pool_db.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    assert await pool_db.fetchval("SHOW random_page_cost") == "1.1"
    planning = Planning(plan_cache_mode="auto", random_page_cost=4)  # DB_PLAN_CACHE_MODE, DB_RANDOM_PAGE_COST
    pool = await create_pool(
        database_url, min_size=1, max_size=1, statement_timeout_ms=300, planning=planning
    )
    try:
        assert await pool.fetchval("SHOW plan_cache_mode") == "auto"
        assert await pool.fetchval("SHOW random_page_cost") == "4"
    finally:
        await pool.close()


def test_a_protocol_left_in_a_broken_state_is_unavailable() -> None:
    # asyncpg's "cannot switch to state 12", seen 1 in 303 requests while the database stopped
    with pytest.raises(Unavailable) as raised, Guard(PoolHealth("primary")):
        raise asyncpg.InternalClientError("cannot switch to state 12")
    assert raised.value.details["reason"] == "connection"


class DownForData:
    """The database as it is while stopping: every statement fails (the data version, then the data)."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner

    async def _down(self) -> Any:
        raise Unavailable("The database is unavailable; try again shortly.", reason="connection")

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._down()

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._down()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._down()

    async def execute(self, sql: str, *args: Any) -> str:
        return str(await self._down())

    def transaction(self) -> Any:
        return self.inner.transaction()


@pytest.mark.parametrize("cache", [0, 64], ids=["no answer cache", "answer cache"])
async def test_an_unavailable_database_is_a_503_with_retry_after(pool_db: PoolDatabase, cache: int) -> None:
    settings = Settings(database_url=None, answer_cache_entries=cache)
    app = create_app(settings, database=DownForData(pool_db))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
