"""What the outside may see: introspection per scope in production, masked errors, no key material."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from service.auth import keys
from tests.auth.conftest import SECRET, bearer

INTROSPECT = "{ __schema { queryType { name } } }"


async def test_production_introspection_is_for_the_configured_scopes(make_client: Any, make_key: Any) -> None:
    admin = await make_key("ops", ["admin", "read:reference"])
    reader = await make_key("reader", ["read:reference"])
    settings = {"environment": "production", "introspection_scopes": ["admin"], "anonymous_scopes": []}
    async with make_client(**settings) as (http, _):
        refused = await http.post("/graphql", json={"query": INTROSPECT}, headers=bearer(reader.plaintext))
        allowed = await http.post("/graphql", json={"query": INTROSPECT}, headers=bearer(admin.plaintext))
        typename = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers=bearer(reader.plaintext)
        )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN", "limit": "introspection"}
    assert allowed.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert typename.status_code == 200


async def test_development_lets_everyone_introspect(client: Any) -> None:
    response = await client.post("/graphql", json={"query": INTROSPECT})
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_a_key_never_appears_in_responses_or_logs(
    make_client: Any, make_key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await make_key("ops", ["admin"])
    created = 'mutation { createApiKey(name: "acme", scopes: ["read:reference"]) { secret key { prefix } } }'
    with caplog.at_level(logging.DEBUG):
        async with make_client(anonymous_scopes=[]) as (http, _):
            made = (
                await http.post("/graphql", json={"query": created}, headers=bearer(admin.plaintext))
            ).json()
            secret = made["data"]["createApiKey"]["secret"]
            used = await http.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(secret))
            listing = await http.post(
                "/graphql",
                json={"query": "{ apiKeys { name prefix scopes status requests } }"},
                headers=bearer(admin.plaintext),
            )
            bad = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers=bearer(secret[:-1] + "Z")
            )
    assert used.status_code == 200 and bad.status_code == 401
    hashes = [keys.digest(k, SECRET).hex() for k in (admin.plaintext, secret)]
    texts = [listing.text, bad.text, caplog.text]
    for text in texts:
        for value in [*hashes, admin.plaintext, secret[len("cg_xxxxxxxx_") :]]:
            assert value not in text
    assert {
        "name": "acme",
        "prefix": secret[:11],
        "scopes": ["read:reference"],
        "status": "ACTIVE",
        "requests": 0,
    } in listing.json()["data"]["apiKeys"]


async def test_usage_is_counted_per_key_and_visible_to_admins(
    make_client: Any, make_key: Any, db: Any
) -> None:
    from tests.auth.conftest import endpoint_of

    admin = await make_key("ops", ["admin"])
    partner = await make_key("partner", ["read:reference"], rate=2)
    async with make_client(anonymous_scopes=[]) as (http, app):
        for _ in range(3):
            await http.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(partner.plaintext))
        await endpoint_of(app).access.usage.flush(db)
        body = (
            await http.post(
                "/graphql",
                json={"query": "{ apiKeys { name requests rejected lastUsedAt } }"},
                headers=bearer(admin.plaintext),
            )
        ).json()
    usage = {k["name"]: k for k in body["data"]["apiKeys"]}
    assert (usage["partner"]["requests"], usage["partner"]["rejected"]) == (3, 1)
    assert usage["partner"]["lastUsedAt"] is not None


async def test_production_masks_unexpected_errors(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.engine import run

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection string postgresql://secret@db/internal")

    monkeypatch.setattr(run, "render", broken)
    settings = {"environment": "production", "anonymous_scopes": ["read:reference"]}
    async with make_client(**settings) as (http, _):
        response = await http.post("/graphql", json={"query": '{ manager(slug: "csop") { slug } }'})
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in response.text


async def test_cors_for_configured_frontend_origins_only(make_client: Any) -> None:
    preflight = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with make_client(cors_origins=["https://app.example.com"]) as (http, _):
        allowed = await http.options("/graphql", headers=preflight)
        other = await http.options("/graphql", headers={**preflight, "Origin": "https://evil.example"})
        simple = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://app.example.com"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers
    assert "RateLimit-Remaining" in simple.headers["access-control-expose-headers"]
