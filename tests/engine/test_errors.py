"""An error in one root field nulls that field only, with its error; the rest of the response is answered
(issue 12). Each kind: a missing scope, NOT_FOUND, BAD_USER_INPUT in a nested argument, a statement
timeout; and a field the key may not see inside a list is null at each place, each with its error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from service.app import create_app
from service.db.client import CountingDatabase
from service.db.faults import Guard, PoolHealth
from service.settings import Settings
from tests.engine.conftest import bearer

MIXED = """query ($security: String!) {
  etf(code: "XHKG:03033") { code }
  flowSeries(direction: SOUTHBOUND, interval: MONTH, from: "2025-01-01", to: "2025-03-31") { buckets { sum } }
  lookThroughExposure(security: $security) { etfCount }
  index(code: "HSI") { code }
}"""


async def test_a_key_without_the_flows_scope_loses_the_flows_fields_only(
    make_client: Any, make_key: Any
) -> None:
    issued = await make_key("ref", ["read:reference"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        response = await http.post(
            "/graphql",
            json={"query": MIXED, "variables": {"security": "XKRX:000660"}},
            headers=bearer(issued.plaintext),
        )
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {
        "etf": {"code": "XHKG:03033"},
        "flowSeries": None,
        "lookThroughExposure": None,
        "index": {"code": "HSI"},
    }
    assert {tuple(e["path"]): e["extensions"] for e in body["errors"]} == {
        ("flowSeries",): {"code": "FORBIDDEN", "scope": "read:flows"},
        ("lookThroughExposure",): {"code": "FORBIDDEN", "scope": "read:flows"},
    }


async def test_not_found_in_one_analytics_field_leaves_the_others(gql: Any, db: Any) -> None:
    body = await gql(MIXED, {"security": "XKRX:999999"})
    assert body["data"]["lookThroughExposure"] is None
    assert body["data"]["etf"] == {"code": "XHKG:03033"} and body["data"]["index"] == {"code": "HSI"}
    assert len(body["data"]["flowSeries"]["buckets"]) == 3
    assert [(e["path"], e["extensions"]) for e in body["errors"]] == [
        (["lookThroughExposure"], {"code": "NOT_FOUND", "argument": "security"})
    ]
    assert len(db.statements) == 4


async def test_a_nested_argument_error_is_reported_on_its_root_field(gql: Any, db: Any) -> None:
    query = """{ etf(code: "XHKG:02800") { dailyStats(from: "2025-02-01", to: "2025-01-01") { aum } }
                 index(code: "HSI") { code } }"""
    body = await gql(query)
    assert body["data"] == {"etf": None, "index": {"code": "HSI"}}
    error = body["errors"][0]
    assert error["path"] == ["etf"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "from", "field": "etf.dailyStats"}
    assert len(db.statements) == 1  # the failing root ran no SQL


class TimesOut:
    """A database on which statements containing ``marker`` run under a 1 ms statement timeout: the real
    PostgreSQL cancels them, and the driver's translation makes that SERVICE_UNAVAILABLE."""

    def __init__(self, inner: CountingDatabase, marker: str) -> None:
        self.inner = inner
        self.marker = marker
        self.statements = inner.statements
        self.lock = asyncio.Lock()  # one connection: the savepoint must not interleave with other roots

    async def _timed(self, method: str, sql: str, *args: Any) -> Any:
        async with self.lock:
            if self.marker not in sql:
                return await getattr(self.inner, method)(sql, *args)
            with Guard(PoolHealth("test"), statement_timeout_ms=1):
                async with self.inner.transaction() as tx:  # a savepoint inside the test's transaction
                    await tx.execute("SET LOCAL statement_timeout = '1ms'")
                    slow = "SELECT x.* FROM (" + sql + ") x, pg_sleep(0.05)"
                    return await getattr(tx, method)(slow, *args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchval", sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self.inner.execute(sql, *args)  # type: ignore[no-any-return]

    def transaction(self) -> Any:
        return self.inner.transaction()


@asynccontextmanager
async def _app(db: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=None, answer_cache_entries=0), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_a_statement_timeout_in_one_root_field_leaves_the_others(db: CountingDatabase) -> None:
    async with _app(TimesOut(db, "connect_daily_flows")) as http:
        response = await http.post(
            "/graphql", json={"query": MIXED, "variables": {"security": "XKRX:000660"}}
        )
    body = response.json()
    assert response.status_code == 200
    assert body["data"]["flowSeries"] is None
    assert body["data"]["etf"] == {"code": "XHKG:03033"} and body["data"]["index"] == {"code": "HSI"}
    assert body["data"]["lookThroughExposure"]["etfCount"] == 4
    [error] = body["errors"]
    assert error["path"] == ["flowSeries"]
    assert error["extensions"] == {
        "code": "SERVICE_UNAVAILABLE",
        "reason": "statement_timeout",
        "timeoutMs": 1,
    }


async def test_a_field_the_key_may_not_see_is_null_in_every_item(make_client: Any, make_key: Any) -> None:
    issued = await make_key("ref", ["read:reference"])
    query = '{ etfs(first: 3, filter: {mic: {eq: "XHKG"}}) { nodes { code dailyStats(last: 1) { aum } } } }'
    async with make_client(anonymous_scopes=[]) as (http, _):
        body = (await http.post("/graphql", json={"query": query}, headers=bearer(issued.plaintext))).json()
    nodes = body["data"]["etfs"]["nodes"]
    assert len(nodes) == 3 and all(n["dailyStats"] is None for n in nodes)
    assert [e["path"] for e in body["errors"]] == [["etfs", "nodes", i, "dailyStats"] for i in range(3)]
    assert {e["extensions"]["scope"] for e in body["errors"]} == {"read:flows"}


async def test_an_unexpected_error_while_binding_nulls_its_root_field_only(
    make_client: Any, make_key: Any, monkeypatch: Any
) -> None:
    from service.engine import run

    render = run.render

    def failing(catalog: Any, rp: Any, values: Any) -> Any:
        if rp.key == "index":
            raise RuntimeError("a bug while writing the statement")
        return render(catalog, rp, values)

    monkeypatch.setattr(run, "render", failing)
    issued = await make_key("all", ["read:reference", "read:flows"])
    document = '{ etf(code: "XHKG:03033") { code } index(code: "HSI") { code } }'
    async with make_client(anonymous_scopes=[]) as (http, _):
        answers = [
            await http.post("/graphql", json={"query": document}, headers=bearer(issued.plaintext))
            for _ in range(2)  # the second is admitted and bound from memory
        ]
    for response in answers:
        body = response.json()
        assert response.status_code == 200
        assert body["data"] == {"etf": {"code": "XHKG:03033"}, "index": None}
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (["index"], "INTERNAL_SERVER_ERROR")
        ]


# A document of one root field is answered without gathering (docs/adr/0029): each way such a root can
# end, on its own.

ONE_FLOW = '{ flowSeries(direction: SOUTHBOUND, interval: MONTH, from: "2025-01-01", to: "2025-03-31") { buckets { sum } } }'


async def test_one_root_field_whose_check_fails_is_not_found(gql: Any) -> None:
    document = "query ($security: String!) { lookThroughExposure(security: $security) { etfCount } }"
    body = await gql(document, {"security": "XKRX:999999"})
    assert body["data"] == {"lookThroughExposure": None}
    assert [(e["path"], e["extensions"]) for e in body["errors"]] == [
        (["lookThroughExposure"], {"code": "NOT_FOUND", "argument": "security"})
    ]
    body = await gql(document, {"security": "XKRX:000660"})
    assert body["data"]["lookThroughExposure"]["etfCount"] == 4 and "errors" not in body


async def test_one_root_field_that_finds_nothing_is_not_found(gql: Any) -> None:
    body = await gql('{ etf(code: "XHKG:99999") { code } }')
    assert body["data"] == {"etf": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["etf"], "NOT_FOUND")]


async def test_one_root_field_whose_statement_times_out_is_a_503(db: CountingDatabase) -> None:
    async with _app(TimesOut(db, "connect_daily_flows")) as http:
        response = await http.post("/graphql", json={"query": ONE_FLOW})
    body = response.json()
    assert response.status_code == 503  # nothing answered: the whole request is unavailable
    assert body["data"] == {"flowSeries": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["flowSeries"], "SERVICE_UNAVAILABLE")
    ]


class Fails:
    """A database whose reads fail as a bug would (not a domain error)."""

    def __init__(self, inner: CountingDatabase) -> None:
        self.inner = inner

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        raise RuntimeError("a bug under the statement")

    async def fetchval(self, sql: str, *args: Any) -> Any:
        raise RuntimeError("a bug under the statement")

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self.inner.fetch(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self.inner.execute(sql, *args)  # type: ignore[no-any-return]

    def transaction(self) -> Any:
        return self.inner.transaction()


async def test_one_root_field_whose_statement_fails_unexpectedly_is_null_and_internal(
    db: CountingDatabase,
) -> None:
    async with _app(Fails(db)) as http:
        response = await http.post("/graphql", json={"query": '{ etf(code: "XHKG:03033") { code } }'})
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"etf": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["etf"], "INTERNAL_SERVER_ERROR")
    ]
