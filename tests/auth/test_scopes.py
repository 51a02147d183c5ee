"""Scopes per field: a missing scope is FORBIDDEN for that field, naming it; the rest is answered."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import bearer

MIXED = """
{
  etf(code: "XHKG:02800") { code dailyStats(last: 2) { tradingDay aum } }
  connectFlows(direction: SOUTHBOUND, lastTradingDays: 2) { tradingDay netBuy }
}
"""


async def test_reference_key_sees_reference_and_is_refused_flows_by_name(
    make_client: Any, make_key: Any
) -> None:
    issued = await make_key("ref", ["read:reference"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        body = (await http.post("/graphql", json={"query": MIXED}, headers=bearer(issued.plaintext))).json()
    assert body["data"] == {"etf": {"code": "XHKG:02800", "dailyStats": None}, "connectFlows": None}
    forbidden = {tuple(e["path"]): e["extensions"] for e in body["errors"]}
    assert forbidden == {
        ("etf", "dailyStats"): {"code": "FORBIDDEN", "scope": "read:flows"},
        ("connectFlows",): {"code": "FORBIDDEN", "scope": "read:flows"},
    }


async def test_flows_key_is_refused_reference_data(make_client: Any, make_key: Any) -> None:
    issued = await make_key("flows", ["read:flows"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        body = (await http.post("/graphql", json={"query": MIXED}, headers=bearer(issued.plaintext))).json()
    assert body["data"]["etf"] is None
    assert len(body["data"]["connectFlows"]) == 2
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "read:reference"}


async def test_admin_fields_need_admin(make_client: Any, make_key: Any) -> None:
    reader = await make_key("reader", ["read:reference", "read:flows"])
    admin = await make_key("ops", ["admin"])
    query = "{ apiKeys { name prefix scopes } }"
    async with make_client(anonymous_scopes=["read:reference"]) as (http, _):
        anonymous = (await http.post("/graphql", json={"query": query})).json()
        refused = (
            await http.post("/graphql", json={"query": query}, headers=bearer(reader.plaintext))
        ).json()
        allowed = (await http.post("/graphql", json={"query": query}, headers=bearer(admin.plaintext))).json()
    for body in (anonymous, refused):
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "admin"}
    assert {k["name"] for k in allowed["data"]["apiKeys"]} == {"reader", "ops"}


async def test_the_compiled_path_never_serves_a_key_missing_a_scope(
    make_client: Any, make_key: Any, db: Any
) -> None:
    full = await make_key("full", ["read:reference", "read:flows"])
    partial = await make_key("partial", ["read:reference"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        for _ in range(2):  # the second request runs compiled
            ok = (await http.post("/graphql", json={"query": MIXED}, headers=bearer(full.plaintext))).json()
        db.statements.clear()
        compiled = await http.post("/graphql", json={"query": MIXED}, headers=bearer(full.plaintext))
        compiled_statements = len([s for s in db.statements if "api_keys" not in s])
        refused = (
            await http.post("/graphql", json={"query": MIXED}, headers=bearer(partial.plaintext))
        ).json()
    assert compiled.json() == ok and compiled_statements == 2  # one statement per root field
    assert refused["data"]["connectFlows"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_mutations_are_refused_over_get(make_client: Any, make_key: Any) -> None:
    admin = await make_key("ops", ["admin"])
    mutation = 'mutation { revokeApiKey(key: "ops") { status } }'
    async with make_client(anonymous_scopes=[]) as (http, _):
        response = await http.get("/graphql", params={"query": mutation}, headers=bearer(admin.plaintext))
        still_valid = await http.post(
            "/graphql", json={"query": "{ apiKeys { status } }"}, headers=bearer(admin.plaintext)
        )
    assert response.status_code == 405
    assert still_valid.json()["data"]["apiKeys"][0]["status"] == "ACTIVE"
