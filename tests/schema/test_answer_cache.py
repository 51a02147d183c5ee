"""The answer cache: a repeated query is answered from memory (X-Answer-Cache: hit) until the data changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from schema.answers import AnswerCache, Hit
from service.app import create_app
from service.auth import service
from service.db.client import CountingDatabase, Database
from service.errors import Unavailable
from service.repositories import api_keys, loads
from service.settings import Settings
from tests.ops.conftest import sample, total
from tests.schema.examples import example

SECRET = "test-secret-for-key-hashes"
VERSION_READ = "SELECT version FROM data_version"
HEADER = "x-answer-cache"
RANKING, RANKING_VARIABLES = example("q5")
ETF = "query Etf($code: String!) { etf(code: $code) { code name } }"
TRACKER = {"code": "XHKG:02800"}
MISSING = {"code": "XHKG:99998"}


@asynccontextmanager
async def serving(database: Database, **overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An app with the default answer cache (unless overridden) on the test's connection."""
    app = create_app(Settings(database_url=None, api_key_secret=SECRET, **overrides), database=database)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, app


async def ask(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def bearer(key: service.IssuedKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.plaintext}"}


def endpoint_of(app: Any) -> Any:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql" and hasattr(route.endpoint, "__self__"):
            return route.endpoint.__self__
    raise LookupError("no /graphql endpoint")


def computed(db: CountingDatabase) -> list[str]:
    """The statements that computed an answer (everything but the data version read)."""
    return [s for s in db.statements if s != VERSION_READ]


async def test_a_repeated_ranking_is_answered_from_memory_with_only_the_version_read(
    db: CountingDatabase,
) -> None:
    async with serving(db) as (http, _):
        first = await ask(http, RANKING, RANKING_VARIABLES)
        assert computed(db), "the first answer is computed"
        db.statements.clear()
        second = await ask(http, RANKING, RANKING_VARIABLES)
    assert first.headers[HEADER] == "miss" and second.headers[HEADER] == "hit"
    assert second.status_code == 200 and second.headers["content-type"] == "application/json"
    assert second.content == first.content and first.json()["data"]["topEtfsByNetCreation"]
    assert db.statements == [VERSION_READ]  # nothing else ran


async def test_other_variables_or_an_operation_name_are_another_answer(db: CountingDatabase) -> None:
    async with serving(db) as (http, _):
        await ask(http, ETF, TRACKER)
        other = await ask(http, ETF, {"code": "XHKG:03033"})
        named = await http.post("/graphql", json={"query": ETF, "variables": TRACKER, "operationName": "Etf"})
        again = await ask(http, ETF, {"code": "XHKG:03033"})
    assert other.headers[HEADER] == "miss" and other.json()["data"]["etf"]["code"] == "XHKG:03033"
    assert named.headers[HEADER] == "miss"
    assert again.headers[HEADER] == "hit" and again.json() == other.json()


async def test_answers_are_kept_by_scopes_not_by_key(db: CountingDatabase) -> None:
    # given the anonymous scopes (read:reference, read:flows), a key with fewer and a key with the same
    fewer = await service.create_key(
        db, SECRET, name="fewer", scope_list=["read:reference"], rate_per_minute=60
    )
    same = await service.create_key(
        db, SECRET, name="same", scope_list=["read:flows", "read:reference"], rate_per_minute=60
    )
    async with serving(db) as (http, _):
        anonymous = await ask(http, ETF, TRACKER)
        with_fewer = await ask(http, ETF, TRACKER, bearer(fewer))
        with_same = await ask(http, ETF, TRACKER, bearer(same))
    assert anonymous.headers[HEADER] == "miss"
    assert with_fewer.headers[HEADER] == "miss"
    assert with_same.headers[HEADER] == "hit"
    assert anonymous.json() == with_fewer.json() == with_same.json()


async def test_a_load_moves_the_data_version_and_the_next_request_gets_the_new_data(
    db: CountingDatabase, conn: Any
) -> None:
    async with serving(db) as (http, _):
        before = await ask(http, ETF, TRACKER)
        # a change made outside a load is not seen: the data version says nothing changed
        await conn.execute("UPDATE etfs SET name_en = 'Tracker Fund (renamed)' WHERE code = '02800'")
        unchanged = await ask(http, ETF, TRACKER)
        # a load moves the data version in the transaction that changes the data
        await loads.bump_data_version(conn)
        after = await ask(http, ETF, TRACKER)
        again = await ask(http, ETF, TRACKER)
    assert unchanged.headers[HEADER] == "hit" and unchanged.json() == before.json()
    assert after.headers[HEADER] == "miss"
    assert after.json()["data"]["etf"]["name"] == "Tracker Fund (renamed)"
    assert again.headers[HEADER] == "hit" and again.json() == after.json()


async def test_an_answer_with_errors_is_not_kept(db: CountingDatabase) -> None:
    async with serving(db) as (http, _):
        first = await ask(http, ETF, MISSING)
        db.statements.clear()
        second = await ask(http, ETF, MISSING)
    assert second.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert first.headers[HEADER] == second.headers[HEADER] == "miss"
    assert computed(db), "the second request ran its SQL again"


async def test_a_document_that_does_not_validate_is_not_kept(db: CountingDatabase) -> None:
    async with serving(db) as (http, _):
        responses = [await ask(http, '{ etf(code: "XHKG:02800") { nope } }') for _ in range(2)]
    assert [r.status_code for r in responses] == [400, 400]
    assert responses[1].json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # refused at the door, before the cache is asked
    assert [HEADER in r.headers for r in responses] == [False, False]


async def test_zero_entries_turn_the_cache_off(db: CountingDatabase) -> None:
    async with serving(db, answer_cache_entries=0) as (http, _):
        await ask(http, ETF, TRACKER)
        db.statements.clear()
        second = await ask(http, ETF, TRACKER)
    assert second.status_code == 200 and HEADER not in second.headers
    assert computed(db) and VERSION_READ not in db.statements  # computed, and no version read either


async def test_a_mutation_is_never_cached(db: CountingDatabase) -> None:
    admin = await service.create_key(db, SECRET, name="ops", scope_list=["admin"], rate_per_minute=60)
    mutation = 'mutation { registerOperation(document: "{ __typename }") { sha256 } }'
    async with serving(db) as (http, _):
        first = await ask(http, mutation, headers=bearer(admin))
        db.statements.clear()
        second = await ask(http, mutation, headers=bearer(admin))
    assert first.json() == second.json() and "errors" not in second.json()
    assert HEADER not in first.headers and HEADER not in second.headers
    assert any("persisted_queries" in s for s in db.statements)  # the second one wrote again
    assert VERSION_READ not in db.statements


async def test_fields_the_data_version_does_not_cover_are_never_cached(
    db: CountingDatabase, conn: Any
) -> None:
    # given load history, which grows without moving the data version (an unchanged file, a failed load)
    query = "{ dataLoads(last: 5) { fileName status } }"
    async with serving(db) as (http, _):
        before = await ask(http, query)
        load_id = await loads.begin_load(conn, "etf-daily", "again.csv", "a" * 64, datetime.now(UTC))
        await loads.finish_load(conn, load_id, _unchanged())
        await loads.end_load(conn, load_id)
        after = await ask(http, query)
    assert HEADER not in before.headers and HEADER not in after.headers
    assert after.json()["data"]["dataLoads"][0] == {"fileName": "again.csv", "status": "UNCHANGED"}


def _unchanged() -> loads.Outcome:
    return loads.Outcome(
        rows_read=1,
        rows_inserted=0,
        rows_updated=0,
        rows_unchanged=1,
        rows_rejected=0,
        rows_skipped=0,
        first_day=None,
        last_day=None,
        status="UNCHANGED",
    )


async def test_rate_limits_apply_to_answers_from_memory_and_usage_is_counted(db: CountingDatabase) -> None:
    key = await service.create_key(db, SECRET, name="slow", scope_list=["read:reference"], rate_per_minute=2)
    async with serving(db, anonymous_scopes=[]) as (http, app):
        responses = [await ask(http, ETF, TRACKER, bearer(key)) for _ in range(3)]
        await endpoint_of(app).access.usage.flush(db)  # what the usage task does every few seconds
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers.get(HEADER) for r in responses] == ["miss", "hit", None]
    assert responses[1].headers["RateLimit-Remaining"] == "0"
    assert responses[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    row = next(k for k in await api_keys.all_keys(db) if k.name == "slow")
    assert (row.requests, row.rejected) == (3, 1)


async def test_a_keys_cost_budget_applies_to_answers_from_memory(db: CountingDatabase) -> None:
    # given two keys with the same scopes (so the same answers), one with a small cost budget
    scopes = ["read:reference", "read:flows"]
    ample = await service.create_key(db, SECRET, name="ample", scope_list=scopes, rate_per_minute=60)
    small = await service.create_key(
        db, SECRET, name="small", scope_list=scopes, rate_per_minute=60, max_cost=10
    )
    async with serving(db, anonymous_scopes=[]) as (http, _):
        first = await ask(http, RANKING, RANKING_VARIABLES, bearer(ample))
        refused = await ask(http, RANKING, RANKING_VARIABLES, bearer(small))
        again = await ask(http, RANKING, RANKING_VARIABLES, bearer(ample))
    assert first.headers[HEADER] == "miss" and again.headers[HEADER] == "hit"
    assert refused.status_code == 400 and HEADER not in refused.headers
    assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_an_answer_expires_after_answer_cache_seconds(db: CountingDatabase) -> None:
    now = [1000.0]
    async with serving(db, answer_cache_seconds=60) as (http, app):
        endpoint_of(app).answers.clock = lambda: now[0]
        await ask(http, ETF, TRACKER)
        now[0] += 59
        within = await ask(http, ETF, TRACKER)
        now[0] += 2
        after = await ask(http, ETF, TRACKER)
    assert (within.headers[HEADER], after.headers[HEADER]) == ("hit", "miss")


async def test_answers_over_the_size_limit_are_not_kept(db: CountingDatabase) -> None:
    async with serving(db, answer_cache_max_bytes=64) as (http, _):
        small = [await ask(http, "{ __typename }") for _ in range(2)]
        large = [await ask(http, RANKING, RANKING_VARIABLES) for _ in range(2)]
    assert len(small[0].content) <= 64 < len(large[0].content)
    assert [r.headers[HEADER] for r in small] == ["miss", "hit"]
    assert [r.headers[HEADER] for r in large] == ["miss", "miss"]


async def test_the_least_recently_used_answer_makes_room(db: CountingDatabase) -> None:
    async with serving(db, answer_cache_entries=2) as (http, _):
        for code in ("XHKG:02800", "XHKG:03033", "XHKG:02800", "XHKG:02828"):  # 03033 is the oldest now
            await ask(http, ETF, {"code": code})
        kept = await ask(http, ETF, TRACKER)
        evicted = await ask(http, ETF, {"code": "XHKG:03033"})
    assert (kept.headers[HEADER], evicted.headers[HEADER]) == ("hit", "miss")


async def test_get_answers_from_memory_keep_their_etag(db: CountingDatabase) -> None:
    params = {"query": ETF, "variables": '{"code": "XHKG:02800"}'}
    async with serving(db) as (http, _):
        first = await http.get("/graphql", params=params)
        second = await http.get("/graphql", params=params)
        unchanged = await http.get(
            "/graphql", params=params, headers={"If-None-Match": first.headers["etag"]}
        )
        posted = await ask(http, ETF, TRACKER)
    assert (first.headers[HEADER], second.headers[HEADER], posted.headers[HEADER]) == ("miss", "hit", "hit")
    assert second.headers["etag"] == first.headers["etag"] and second.content == first.content
    assert unchanged.status_code == 304


class Gate:
    """Holds every statement but the data version read until ``open`` is set; ``all_read`` is set once
    ``expected`` version reads are done."""

    def __init__(self, inner: CountingDatabase, expected: int) -> None:
        self.inner = inner
        self.expected = expected
        self.open = asyncio.Event()
        self.all_read = asyncio.Event()
        self.versions_read = 0

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        if sql != VERSION_READ:
            await self.open.wait()
        result = await getattr(self.inner, method)(sql, *args)
        if sql == VERSION_READ:
            self.versions_read += 1
            if self.versions_read == self.expected:
                self.all_read.set()
        return result

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._run("fetch", sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchrow", sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._run("execute", sql, args)

    def transaction(self) -> Any:
        return self.inner.transaction()


async def _together(db: CountingDatabase, variables: dict[str, Any], n: int) -> list[httpx.Response]:
    """``n`` identical requests, all past the version read before any of them computes."""
    gate = Gate(db, n)
    async with serving(gate) as (http, _):
        pending = [asyncio.create_task(ask(http, ETF, variables)) for _ in range(n)]
        # Each request goes on from its version read to the cache without pausing: once all are read,
        # the first is computing (held at the gate) and the others wait for it.
        async with asyncio.timeout(5):
            await gate.all_read.wait()
        gate.open.set()
        return await asyncio.gather(*pending)


async def _one_computation(db: CountingDatabase, variables: dict[str, Any]) -> list[str]:
    async with serving(db, answer_cache_entries=0) as (http, _):
        db.statements.clear()
        await ask(http, ETF, variables)
    return computed(db)


async def test_identical_requests_in_flight_share_one_computation(db: CountingDatabase) -> None:
    once = await _one_computation(db, TRACKER)
    db.statements.clear()
    responses = await _together(db, TRACKER, 4)
    assert sorted(r.headers[HEADER] for r in responses) == ["hit", "hit", "hit", "miss"]
    assert all(r.json() == responses[0].json() and r.status_code == 200 for r in responses)
    assert computed(db) == once


async def test_requests_waiting_on_an_answer_with_errors_compute_their_own(db: CountingDatabase) -> None:
    once = await _one_computation(db, MISSING)
    db.statements.clear()
    responses = await _together(db, MISSING, 3)
    assert [r.headers[HEADER] for r in responses] == ["miss"] * 3
    assert all(r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND" for r in responses)
    assert computed(db) == once * 3


async def test_hits_misses_and_stores_are_counted_in_metrics(db: CountingDatabase) -> None:
    name = "connectgraph_answer_cache_total"
    async with serving(db) as (http, _):
        before = (await http.get("/metrics")).text
        await ask(http, ETF, TRACKER)
        await ask(http, ETF, TRACKER)
        await ask(http, ETF, MISSING)
        after = (await http.get("/metrics")).text
    counted = {
        r: (sample(after, name, result=r) or 0.0) - (sample(before, name, result=r) or 0.0)
        for r in ("hit", "miss", "store", "skip")
    }
    assert counted == {"hit": 1, "miss": 2, "store": 1, "skip": 1}
    # the hit is timed as its own path, apart from the computed answers
    timed = "connectgraph_graphql_request_duration_seconds_count"
    assert total(after, timed, path="cached") - total(before, timed, path="cached") == 1


class VersionUnreadable:
    """A database that cannot be reached for the data version read."""

    def __init__(self, inner: CountingDatabase) -> None:
        self.inner = inner

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if sql == VERSION_READ:
            raise Unavailable("The database did not answer in time", reason="timeout")
        return await self.inner.fetchval(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_an_unreadable_data_version_is_a_503_service_unavailable(db: CountingDatabase) -> None:
    async with serving(VersionUnreadable(db)) as (http, _):
        response = await ask(http, ETF, TRACKER)
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE", "reason": "timeout"}
    assert computed(db) == []


async def test_when_the_shared_computation_fails_those_waiting_compute_their_own() -> None:
    # given a computation in flight that will fail, and two identical requests waiting for it
    cache = AnswerCache(entries=8, max_bytes=1024, ttl_s=60)
    release = asyncio.Event()
    calls: list[str] = []

    async def failing() -> tuple[str, bytes | None]:
        calls.append("first")
        await release.wait()
        raise RuntimeError("the database went away")

    async def working() -> tuple[str, bytes | None]:
        calls.append("waiter")
        return "computed", b'{"data":{}}'

    first = asyncio.create_task(cache.answer("k", 1, failing))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(cache.answer("k", 1, working)) for _ in range(2)]
    await asyncio.sleep(0)
    # when it fails
    release.set()
    results = await asyncio.gather(first, *waiters, return_exceptions=True)
    # then the first request sees its error, each waiter computes its own, and the answer is kept
    assert isinstance(results[0], RuntimeError)
    assert results[1:] == ["computed", "computed"] and calls == ["first", "waiter", "waiter"]
    assert await cache.answer("k", 1, working) == Hit(b'{"data":{}}')


async def test_a_cancelled_computation_does_not_leave_those_waiting_hanging() -> None:
    cache = AnswerCache(entries=8, max_bytes=1024, ttl_s=60)

    async def forever() -> tuple[str, bytes | None]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def quick() -> tuple[str, bytes | None]:
        return "computed", None

    first = asyncio.create_task(cache.answer("k", 1, forever))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.answer("k", 1, quick))
    await asyncio.sleep(0)
    first.cancel()  # the client went away
    async with asyncio.timeout(1):
        assert await waiter == "computed"
    assert first.cancelled()


async def test_answers_kept_are_bounded_in_bytes_in_all() -> None:
    # given room for 100 answers by count but 3 KB in all
    cache = AnswerCache(entries=100, max_bytes=2048, ttl_s=60, total_bytes=3000)
    body = b"x" * 1000

    async def compute() -> tuple[str, bytes | None]:
        return "computed", body

    for key in "abcd":
        await cache.answer(key, 1, compute)
    # then the oldest answer made room, and the three most recent are kept
    assert await cache.answer("a", 1, compute) == "computed"
    assert [await cache.answer(k, 1, compute) for k in "cd"] == [Hit(body), Hit(body)]
