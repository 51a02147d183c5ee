"""Documents over a limit are refused before any SQL runs, saying which limit and by how much."""

from __future__ import annotations

from typing import Any

import pytest

DEEP = '{ etf(code: "XHKG:02800") { ' + "trackedIndex { etfs { " * 10 + "code" + " } }" * 10 + " } }"
ALIASES = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"
HUGE = """
{ etfs(first: 500) { edges { node {
    issuer { etfs { trackedIndex { constituents { security { exposedEtfs {
      etf { dailyStats(last: 10000) { aum } } } } } } } } } } } }
"""
# Costed at 50 rows a page before connections were costed by their `first` (7,600: under any budget).
PAGES_OF_10K = """
{ etfs(first: 500) { nodes { dailyStatsConnection(first: 10000) { nodes { aum navPerUnit } } } } }
"""
NESTED_10K = """
query ($n: Int!) { etf(code: "XHKG:02800") { dailyStats(last: $n) { tradingDay }
  trackedIndex { etfs { dailyStats(last: $n) { aum } } } } }
"""


@pytest.mark.parametrize(
    ("document", "variables", "limit"),
    [
        (DEEP, None, "depth"),
        (ALIASES, None, "aliases"),
        (HUGE, None, "cost"),
        (NESTED_10K, {"n": 10_000}, "cost"),
        (PAGES_OF_10K, None, "cost"),
    ],
    ids=[
        "20 levels deep",
        "1000 aliases",
        "10k x 10k nested rows",
        "sizes from variables",
        "connection pages",
    ],
)
async def test_over_a_limit_is_refused_before_any_sql(
    client: Any, db: Any, document: str, variables: Any, limit: str
) -> None:
    db.statements.clear()
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == limit
    assert error["extensions"]["value"] > error["extensions"]["maximum"]
    assert "over" in error["message"]
    assert db.statements == []


async def test_a_key_budget_lowers_the_limit(make_client: Any, make_key: Any) -> None:
    from tests.auth.conftest import bearer

    small = await make_key("small", ["read:reference", "read:flows"], max_cost=100)
    document = '{ etf(code: "XHKG:02800") { dailyStats(last: 200) { aum } } }'
    async with make_client(anonymous_scopes=["read:reference", "read:flows"]) as (http, _):
        anonymous = await http.post("/graphql", json={"query": document})
        limited = await http.post("/graphql", json={"query": document}, headers=bearer(small.plaintext))
    assert anonymous.status_code == 200
    assert limited.status_code == 400
    assert limited.json()["errors"][0]["extensions"]["maximum"] == 100


async def test_the_limits_follow_the_settings(make_client: Any) -> None:
    deep = '{ etf(code: "XHKG:02800") { trackedIndex { etfs { trackedIndex { code } } } } }'  # depth 5
    async with make_client(max_query_depth=4) as (strict, _):
        refused = await strict.post("/graphql", json={"query": deep})
    async with make_client(max_query_depth=20, max_query_tokens=100) as (lenient, _):
        allowed = await lenient.post("/graphql", json={"query": deep})
        tokens = await lenient.post("/graphql", json={"query": "{ " + "__typename " * 120 + "}"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["extensions"]["limit"] == "depth"
    assert allowed.status_code == 200 and "errors" not in allowed.json()
    assert (
        tokens.status_code == 400 and tokens.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    )
