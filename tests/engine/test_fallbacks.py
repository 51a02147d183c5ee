"""No example or benchmark document falls back to strawberry's executor: each is answered whole by the
engine, one statement per root field, and /metrics counts no fallback; plans are cached per directive
value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.analytics import LOOK_THROUGH, MONTHLY_SOUTHBOUND, TOP_CREATIONS
from tests.schema.examples import EXAMPLES

# The list questions of issue 13 (L1: page 3 by cursor; L2; L3: 250 days a page).
L1 = """query L1($after: String) {
  etfs(first: 50, after: $after, filter: {issuer: {slug: {in: ["csop", "global-x", "chinaamc"]}},
       trackedIndex: {themes: {has: "technology"}}}, orderBy: [{field: LATEST_AUM, direction: DESC}]) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { code name latest { aum } } } } }"""
L2 = """query L2($word: String!) {
  securities(first: 50, filter: {name: {contains: $word}}) { nodes { code name indexMemberships { index { code } } } } }"""
L3 = """query L3($code: String!, $after: String) {
  etf(code: $code) { dailyStatsConnection(first: 250, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { tradingDay navPerUnit aum netCreationValue } } } }"""

DOCUMENTS = [(name, document, variables) for name, document, variables in EXAMPLES] + [
    ("analytics: top creations", TOP_CREATIONS, {}),
    ("analytics: monthly southbound", MONTHLY_SOUTHBOUND, {"from": "2024-01-01", "to": "2026-11-20"}),
    ("analytics: look-through", LOOK_THROUGH, {"security": "XKRX:000660", "asOf": "2026-11-20"}),
    ("L1", L1, {"after": None}),
    ("L2", L2, {"word": "tech"}),
    ("L3", L3, {"code": "XHKG:02800", "after": None}),
]

# bench/run's own documents of the list questions, asked of the demo data (a cursor variable "@page:N"
# asked as the first page).
BENCH = Path(__file__).resolve().parents[2] / "bench"
_BENCH_VARIABLES = json.loads((BENCH / "variables.json").read_text())
DOCUMENTS += [
    (
        f"bench {path.stem}",
        path.read_text(),
        {
            k: None if str(v).startswith("@page:") else v
            for k, v in _BENCH_VARIABLES[path.stem]["ours"].items()
        },
    )
    for path in sorted((BENCH / "ours").glob("l*.graphql"))
]


async def _fallbacks(client: Any) -> float:
    text = (await client.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("connectgraph_engine_fallbacks_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize(("name", "document", "variables"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
async def test_no_example_or_benchmark_document_falls_back(
    client: Any, db: Any, name: str, document: str, variables: dict[str, Any]
) -> None:
    before = await _fallbacks(client)
    db.statements.clear()
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    assert len(db.statements) == len(body["data"])
    assert await _fallbacks(client) == before


async def test_page_three_of_l1_by_cursor(gql: Any) -> None:
    cursor = None
    for _ in range(2):
        page = (await gql(L1.replace("first: 50", "first: 2"), {"after": cursor}))["data"]["etfs"]
        cursor = page["pageInfo"]["endCursor"]
    third = (await gql(L1.replace("first: 50", "first: 2"), {"after": cursor}))["data"]["etfs"]
    whole = (await gql(L1, {"after": None}))["data"]["etfs"]
    assert [e["node"]["code"] for e in third["edges"]] == [e["node"]["code"] for e in whole["edges"]][4:6]


async def test_directives_bound_at_run_time_are_part_of_the_plan(client: Any, gql: Any) -> None:
    document = """query ($full: Boolean!) { etf(code: "XHKG:02800") { code name @include(if: $full)
                    issuer @skip(if: $full) { slug } } }"""
    full = (await gql(document, {"full": True}))["data"]["etf"]
    short = (await gql(document, {"full": False}))["data"]["etf"]
    assert full == {"code": "XHKG:02800", "name": full["name"]} and "issuer" not in full
    assert short == {"code": "XHKG:02800", "issuer": {"slug": "hang-seng-investment"}}
