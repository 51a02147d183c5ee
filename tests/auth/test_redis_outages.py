"""Redis going away and coming back, through a TCP proxy this test can cut: limits stay within the key's
rate, and the metrics say what happened when it happened."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from service.auth.ratelimit import RedisLimiter
from service.observability import metrics

REDIS = ("127.0.0.1", 6379)


class Cuttable:
    """A TCP proxy to Redis: ``cut()`` closes the listener and every connection; ``restore()`` listens again."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*REDIS)
        self._writers += [writer, upstream_writer]

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))


@pytest.fixture
async def proxy() -> AsyncIterator[Cuttable]:
    cuttable = Cuttable()
    await cuttable.restore()
    yield cuttable
    with contextlib.suppress(Exception):
        await cuttable.cut()


def limiter_through(proxy: Cuttable, states: list[bool]) -> RedisLimiter:
    client = redis.from_url(
        f"redis://127.0.0.1:{proxy.port}/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    return RedisLimiter(
        client,
        retry_after_s=0.0,
        on_state=states.append,
        prefix="connectgraph:test:outage:",
        probe_after_s=0.0,
    )


async def test_a_key_never_gets_a_fresh_bucket_when_the_backend_changes(proxy: Cuttable) -> None:
    key = f"key:{id(proxy)}"
    limiter = limiter_through(proxy, [])
    # 4 a minute: three through Redis, then Redis goes away
    assert [(await limiter.take(key, 4)).allowed for _ in range(3)] == [True] * 3
    await proxy.cut()
    during = [await limiter.take(key, 4) for _ in range(3)]
    assert [d.allowed for d in during] == [True, False, False]  # the one token left, not a fresh four
    assert {d.backend for d in during} == {"memory"}
    # Redis is back: its bucket still holds the token spent in-process meanwhile
    await proxy.restore()
    after = await limiter.take(key, 4)
    assert (after.allowed, after.backend) == (False, "redis")
    await limiter.close()


async def test_each_outage_is_counted_and_the_gauge_follows_redis_without_requests(proxy: Cuttable) -> None:
    states: list[bool] = []
    limiter = limiter_through(proxy, states)
    metrics.record_rate_limit_backend("redis", up=True)  # whatever an earlier test left
    before = metrics.RATE_LIMIT_FALLBACKS.labels("redis")._value.get()

    async def scrape() -> float:
        await metrics.observe_limiter(limiter)
        value: float = metrics.RATE_LIMIT_BACKEND_UP.labels("redis")._value.get()
        return value

    assert await scrape() == 1
    for _ in range(2):  # two outages, each noticed by a scrape alone, then by a request
        await proxy.cut()
        assert await scrape() == 0
        assert (await limiter.take("key:gauge", 60)).backend == "memory"
        await proxy.restore()
        assert await scrape() == 1
    assert states == [True, False, True, False, True]
    assert metrics.RATE_LIMIT_FALLBACKS.labels("redis")._value.get() == before + 2
    await limiter.close()


async def test_the_limiter_reports_its_backend_in_each_decision(proxy: Cuttable) -> None:
    limiter = limiter_through(proxy, [])
    decision = await limiter.take("key:label", 1)
    refused = await limiter.take("key:label", 1)
    await limiter.close()
    assert (decision.backend, refused.allowed, refused.backend) == ("redis", False, "redis")
