"""Apollo-style batching: an array of operations in, an array of answers out, each entry at the door."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import bearer, make_client, make_key

__all__ = ["make_client", "make_key"]  # fixtures

ETF = 'query Etf { etf(code: "XHKG:02800") { code } }'
FLOWS = "query Flows { connectFlows(direction: SOUTHBOUND, lastTradingDays: 2) { tradingDay } }"


async def test_a_batch_answers_each_entry_in_order(client: Any) -> None:
    response = await client.post(
        "/graphql",
        json=[{"query": ETF}, {"query": "{ nope }"}, {"query": FLOWS, "operationName": "Flows"}],
    )
    assert response.status_code == 200
    first, second, third = response.json()
    assert first == {"data": {"etf": {"code": "XHKG:02800"}}}
    assert second["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(third["data"]["connectFlows"]) == 2


async def test_each_entry_draws_from_the_rate_limit(make_client: Any, make_key: Any) -> None:
    issued = await make_key("batcher", ["read:reference"], rate=3)
    async with make_client(anonymous_scopes=[]) as (http, _):
        response = await http.post("/graphql", json=[{"query": ETF}] * 4, headers=bearer(issued.plaintext))
    answers = response.json()
    assert ["errors" in answer for answer in answers].count(True) == 1
    refused = next(answer for answer in answers if "errors" in answer)
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert response.headers["RateLimit-Limit"] == "3"


async def test_each_entry_meets_the_limits(client: Any) -> None:
    deep = '{ etf(code: "XHKG:02800") { ' + "trackedIndex { etfs { " * 8 + "code" + " } }" * 8 + " } }"
    response = await client.post("/graphql", json=[{"query": ETF}, {"query": deep}])
    ok, refused = response.json()
    assert "errors" not in ok
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_batch_over_the_cap_is_refused_whole(make_client: Any, db: Any) -> None:
    async with make_client(max_batch_size=3) as (http, _):
        db.statements.clear()
        response = await http.post("/graphql", json=[{"query": ETF}] * 4)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "at most 3" in error["message"]
    assert db.statements == []


async def test_batching_can_be_turned_off_and_says_so(make_client: Any) -> None:
    async with make_client(max_batch_size=0) as (http, _):
        response = await http.post("/graphql", json=[{"query": ETF}])
    assert response.status_code == 400
    assert "Batching is not enabled" in response.json()["errors"][0]["message"]


async def test_an_empty_batch_or_a_non_object_entry_is_400(client: Any) -> None:
    for body in ([], [{"query": ETF}, 3]):
        response = await client.post("/graphql", json=body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
