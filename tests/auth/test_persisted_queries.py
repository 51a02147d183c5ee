"""Automatic persisted queries by sha256, and allow-list keys held to registered operations."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from service.repositories import api_keys
from tests.auth.conftest import bearer

DOCUMENT = 'query Tracker { etf(code: "XHKG:02800") { code name } }'
SHA = hashlib.sha256(DOCUMENT.encode()).hexdigest()
APQ = {"persistedQuery": {"version": 1, "sha256Hash": SHA}}


async def test_automatic_persisted_query_round_trip(client: Any, conn: Any) -> None:
    unknown = await client.post("/graphql", json={"extensions": APQ})
    registered = await client.post("/graphql", json={"query": DOCUMENT, "extensions": APQ})
    by_hash = await client.post("/graphql", json={"extensions": APQ})
    by_get = await client.get("/graphql", params={"extensions": json.dumps(APQ)})
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json() == by_hash.json() == by_get.json()
    assert by_hash.json()["data"]["etf"]["code"] == "XHKG:02800"
    row = await conn.fetchrow("SELECT document, registered FROM persisted_queries WHERE sha256 = $1", SHA)
    assert row["document"] == DOCUMENT and row["registered"] is False


async def test_a_hash_that_does_not_match_the_document_is_refused(client: Any) -> None:
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    response = await client.post("/graphql", json={"query": DOCUMENT, "extensions": wrong})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_allow_list_keys_run_registered_operations_only(
    make_client: Any, make_key: Any, db: Any
) -> None:
    partner = await make_key("partner", ["read:reference"], allow_list_only=True)
    other = '{ etf(code: "XHKG:02800") { isin } }'
    async with make_client(anonymous_scopes=[]) as (http, _):
        before = await http.post("/graphql", json={"query": DOCUMENT}, headers=bearer(partner.plaintext))
        await api_keys.save_persisted_query(db, SHA, DOCUMENT, "Tracker", registered=True)
        after = await http.post("/graphql", json={"query": DOCUMENT}, headers=bearer(partner.plaintext))
        by_hash = await http.post("/graphql", json={"extensions": APQ}, headers=bearer(partner.plaintext))
        unregistered = await http.post("/graphql", json={"query": other}, headers=bearer(partner.plaintext))
    assert before.status_code == 403
    assert before.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    assert after.status_code == 200 and by_hash.status_code == 200
    assert unregistered.status_code == 403


async def test_admins_register_operations_through_graphql(make_client: Any, make_key: Any) -> None:
    admin = await make_key("ops", ["admin"])
    mutation = (
        'mutation ($d: String!) { registerOperation(document: $d, operationName: "Tracker") { sha256 } }'
    )
    async with make_client(anonymous_scopes=[]) as (http, _):
        done = await http.post(
            "/graphql",
            json={"query": mutation, "variables": {"d": DOCUMENT}},
            headers=bearer(admin.plaintext),
        )
        listed = await http.post(
            "/graphql",
            json={"query": "{ registeredOperations { sha256 operationName } }"},
            headers=bearer(admin.plaintext),
        )
    assert done.json()["data"]["registerOperation"]["sha256"] == SHA
    assert {"sha256": SHA, "operationName": "Tracker"} in listed.json()["data"]["registeredOperations"]
