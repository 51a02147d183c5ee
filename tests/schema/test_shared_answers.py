"""Answers shared through Redis: one instance's answer serves another, one computation per key across
instances, and the cache answers alone (as before) while Redis is down."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

from schema.answers import HIT, MISS, SHARED_ERROR, SHARED_HIT, STORE, AnswerCache, Hit
from service.db.client import CountingDatabase
from service.shared_answers import RedisAnswers, redis_answers
from tests.schema.test_answer_cache import RANKING, RANKING_VARIABLES, VERSION_READ, ask, endpoint_of, serving

REDIS_URL = "redis://127.0.0.1:6379/0"
BODY = b'{"data":{"etf":{"code":"XHKG:02800"}}}'


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # the machine's Redis is part of the test environment
        pytest.fail(f"Redis at 127.0.0.1:6379 does not answer: {exc}")
    name = f"connectgraph:test:{os.getpid()}:{id(client)}:"
    yield name
    keys = [key async for key in client.scan_iter(match=name + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


class Instance:
    """One process's answer cache on the shared store, with what it recorded."""

    def __init__(self, prefix: str, *, lock_s: float = 5.0) -> None:
        self.store = RedisAnswers(redis.from_url(REDIS_URL), ttl_s=60, lock_s=lock_s, prefix=prefix)
        self.results: list[str] = []
        self.cache = AnswerCache(
            entries=8, max_bytes=4096, ttl_s=60, record=self.results.append, shared=self.store
        )

    async def close(self) -> None:
        await self.store.close()


def computing(calls: list[str], name: str, body: bytes | None = BODY, pause_s: float = 0.0) -> Any:
    async def compute() -> tuple[str, bytes | None]:
        calls.append(name)
        await asyncio.sleep(pause_s)
        return f"computed by {name}", body

    return compute


async def test_an_answer_computed_by_one_instance_serves_another(prefix: str) -> None:
    first, second = Instance(prefix), Instance(prefix)
    calls: list[str] = []
    try:
        # given an answer computed by the first instance
        assert await first.cache.answer("q1", 7, computing(calls, "first")) == "computed by first"
        # when the second asks for it, then again
        shared = await second.cache.answer("q1", 7, computing(calls, "second"))
        again = await second.cache.answer("q1", 7, computing(calls, "second"))
    finally:
        await first.close()
        await second.close()
    # then it is served from Redis once, then from the second's own memory; nobody computes it again
    assert shared == Hit(BODY) and again == Hit(BODY) and calls == ["first"]
    assert first.results == [MISS, STORE] and second.results == [SHARED_HIT, HIT]


async def test_another_data_version_is_another_answer(prefix: str) -> None:
    first, second = Instance(prefix), Instance(prefix)
    calls: list[str] = []
    try:
        await first.cache.answer("q1", 7, computing(calls, "first"))
        newer = await second.cache.answer("q1", 8, computing(calls, "second"))
    finally:
        await first.close()
        await second.close()
    assert newer == "computed by second" and calls == ["first", "second"]


async def test_instances_asking_at_once_share_one_computation(prefix: str) -> None:
    instances = [Instance(prefix) for _ in range(4)]
    calls: list[str] = []
    try:
        # when four instances (three requests each) miss the same answer at the same time
        answers = await asyncio.gather(
            *(
                instance.cache.answer("rank", 3, computing(calls, f"i{n}", pause_s=0.2))
                for n, instance in enumerate(instances)
                for _ in range(3)
            )
        )
    finally:
        for instance in instances:
            await instance.close()
    # then one of them computes it, and the eleven other requests get its answer
    assert len(calls) == 1
    assert sum(isinstance(a, Hit) for a in answers) == 11
    assert all(a == Hit(BODY) for a in answers if isinstance(a, Hit))


async def test_when_the_computing_instance_keeps_nothing_the_waiting_one_computes_its_own(
    prefix: str,
) -> None:
    first, second = Instance(prefix), Instance(prefix)
    calls: list[str] = []
    try:
        # given an answer with errors (nothing to keep) computed by the first while the second waits
        slow = asyncio.create_task(first.cache.answer("e", 1, computing(calls, "first", None, 0.2)))
        await asyncio.sleep(0.05)
        waiting = await second.cache.answer("e", 1, computing(calls, "second"))
        assert await slow == "computed by first"
    finally:
        await first.close()
        await second.close()
    # then the second, told so as the lock is released, computes its own
    assert waiting == "computed by second" and calls == ["first", "second"]


async def test_a_lock_left_by_a_dead_instance_holds_the_others_only_until_it_expires(prefix: str) -> None:
    dead, alive = Instance(prefix, lock_s=0.3), Instance(prefix, lock_s=0.3)
    calls: list[str] = []
    try:
        # given a lock taken by an instance that died before it published
        assert await dead.store.claim(5, "k") is not None
        # when another asks
        started = asyncio.get_running_loop().time()
        answer = await alive.cache.answer("k", 5, computing(calls, "alive"))
        waited = asyncio.get_running_loop().time() - started
    finally:
        await dead.close()
        await alive.close()
    # then it waits out the lock, then computes
    assert answer == "computed by alive" and 0.25 <= waited < 2.0


async def test_without_redis_the_cache_answers_alone_and_counts_the_failure() -> None:
    # given a shared store on a port where nothing listens
    store = redis_answers("redis://127.0.0.1:1/0", ttl_s=60, lock_s=1)
    results: list[str] = []
    cache = AnswerCache(entries=8, max_bytes=4096, ttl_s=60, record=results.append, shared=store)
    calls: list[str] = []
    try:
        first = await cache.answer("q", 1, computing(calls, "one"))
        second = await cache.answer("q", 1, computing(calls, "two"))
        other = await cache.answer("r", 1, computing(calls, "three"))
    finally:
        await store.close()
    # then answers are computed and kept in this process, and Redis is not asked again for a while
    assert first == "computed by one" and second == Hit(BODY) and other == "computed by three"
    assert results == [SHARED_ERROR, MISS, STORE, HIT, SHARED_ERROR, MISS, STORE]
    assert store.degraded


async def test_two_instances_of_the_app_share_answers_through_redis(db: CountingDatabase) -> None:
    async with (
        serving(db, redis_url=REDIS_URL) as (first, first_app),
        serving(db, redis_url=REDIS_URL) as (second, second_app),
    ):
        # given an answer computed by one instance (or found there, from an earlier run of this test)
        computed_here = await ask(first, RANKING, RANKING_VARIABLES)
        db.statements.clear()
        # when the other instance is asked the same
        shared = await ask(second, RANKING, RANKING_VARIABLES)
        for app in (first_app, second_app):
            await endpoint_of(app).answers.shared.close()
    # then it answers from Redis: the same bytes, and nothing but the data version read
    assert computed_here.status_code == 200 and shared.status_code == 200
    assert shared.headers["x-answer-cache"] == "hit" and shared.content == computed_here.content
    assert db.statements == [VERSION_READ]
