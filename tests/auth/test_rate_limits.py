"""Per-key rate limits with RateLimit-* headers, 429 and Retry-After; shared through Redis."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from service.auth.ratelimit import LocalLimiter, RedisLimiter, redis_limiter
from tests.auth.conftest import bearer, endpoint_of

QUERY = "{ __typename }"


async def test_the_fourth_request_of_a_3_per_minute_key_is_429(make_client: Any, make_key: Any) -> None:
    issued = await make_key("slow", ["read:reference"], rate=3)
    async with make_client(anonymous_scopes=[]) as (http, _):
        responses = [
            await http.post("/graphql", json={"query": QUERY}, headers=bearer(issued.plaintext))
            for _ in range(4)
        ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert responses[0].headers["RateLimit-Limit"] == "3"
    refused = responses[-1]
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfterSeconds"] == int(refused.headers["Retry-After"])


async def test_keys_do_not_share_buckets(make_client: Any, make_key: Any) -> None:
    one = await make_key("one", ["read:reference"], rate=1)
    two = await make_key("two", ["read:reference"], rate=1)
    async with make_client(anonymous_scopes=[]) as (http, _):
        first = await http.post("/graphql", json={"query": QUERY}, headers=bearer(one.plaintext))
        second = await http.post("/graphql", json={"query": QUERY}, headers=bearer(two.plaintext))
        again = await http.post("/graphql", json={"query": QUERY}, headers=bearer(one.plaintext))
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


async def test_token_bucket_refills_with_time() -> None:
    now = [1000.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    assert [(await limiter.take("k", 60)).allowed for _ in range(61)].count(False) == 1
    now[0] += 1.0  # 60 a minute: one token a second
    assert (await limiter.take("k", 60)).allowed
    assert not (await limiter.take("k", 60)).allowed


@pytest.fixture
async def redis_url() -> Any:
    import redis.asyncio as redis

    client = redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except Exception as exc:  # the machine's Redis is part of the test environment
        pytest.fail(f"Redis at 127.0.0.1:6379 does not answer: {exc}")
    await client.delete(*[k async for k in client.scan_iter("connectgraph:test:*")] or ["none"])
    await client.aclose()
    return "redis://127.0.0.1:6379/0"


async def test_instances_share_one_bucket_through_redis(redis_url: str) -> None:
    import redis.asyncio as redis

    first = RedisLimiter(redis.from_url(redis_url), prefix="connectgraph:test:")
    second = RedisLimiter(redis.from_url(redis_url), prefix="connectgraph:test:")
    decisions = [await (first if i % 2 else second).take("key:shared", 4) for i in range(5)]
    await first.close()
    await second.close()
    assert [d.allowed for d in decisions] == [True, True, True, True, False]
    assert not first.degraded


async def test_two_instances_share_a_keys_bucket_over_http_through_redis(
    make_client: Any, make_key: Any, redis_url: str
) -> None:
    import redis.asyncio as redis

    issued = await make_key("shared", ["read:reference"], rate=2)
    client = redis.from_url(redis_url)
    await client.delete(f"connectgraph:ratelimit:key:{issued.row.id}")  # a bucket an earlier run left
    await client.aclose()
    async with (
        make_client(anonymous_scopes=[], redis_url=redis_url) as (one, _),
        make_client(anonymous_scopes=[], redis_url=redis_url) as (two, _),
    ):
        responses = [
            await (one if i % 2 else two).post(
                "/graphql", json={"query": QUERY}, headers=bearer(issued.plaintext)
            )
            for i in range(3)
        ]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]


async def test_redis_going_away_falls_back_to_local_limits_and_says_so(
    make_client: Any, make_key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    issued = await make_key("acme", ["read:reference"], rate=2)
    async with make_client(anonymous_scopes=[], redis_url="redis://127.0.0.1:1/0") as (http, app):
        limiter = endpoint_of(app).access.limiter
        assert isinstance(limiter, RedisLimiter)
        with caplog.at_level(logging.WARNING):
            responses = [
                await http.post("/graphql", json={"query": QUERY}, headers=bearer(issued.plaintext))
                for _ in range(3)
            ]
    assert [r.status_code for r in responses] == [200, 200, 429]  # still limited, in process
    assert limiter.degraded
    assert any("in-process" in r.getMessage() for r in caplog.records)


async def test_redis_limiter_factory_reads_the_url() -> None:
    limiter = redis_limiter("redis://127.0.0.1:6379/0")
    decision = await limiter.take("connectgraph-factory-check", 100)
    await limiter.close()
    assert decision.allowed and decision.limit == 100
