"""API keys: sent as Bearer or X-API-Key, stored hashed, refused at once when revoked or expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.auth import keys
from tests.auth.conftest import SECRET, bearer

ETF = '{ etf(code: "XHKG:02800") { code } }'


async def test_a_key_works_as_bearer_or_x_api_key(make_client: Any, make_key: Any) -> None:
    issued = await make_key("acme", ["read:reference"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        by_bearer = await http.post("/graphql", json={"query": ETF}, headers=bearer(issued.plaintext))
        by_header = await http.post("/graphql", json={"query": ETF}, headers={"X-API-Key": issued.plaintext})
    assert by_bearer.json() == by_header.json() == {"data": {"etf": {"code": "XHKG:02800"}}}


async def test_no_key_is_unauthenticated_when_anonymous_access_is_off(make_client: Any) -> None:
    async with make_client(anonymous_scopes=[]) as (http, _):
        response = await http.post("/graphql", json={"query": ETF})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_only_a_hash_is_stored(conn: Any, make_key: Any) -> None:
    issued = await make_key("acme", ["read:reference"])
    stored = await conn.fetchrow("SELECT prefix, secret_hash FROM api_keys WHERE id = $1", issued.row.id)
    assert issued.plaintext.startswith(stored["prefix"] + "_")
    assert stored["secret_hash"] == keys.digest(issued.plaintext, SECRET)
    assert issued.plaintext.encode() not in bytes(stored["secret_hash"])
    everything = await conn.fetchval("SELECT string_agg(t::text, '') FROM api_keys t")
    assert issued.plaintext.split("_")[-1] not in everything


async def test_a_revoked_key_is_refused_at_once(make_client: Any, make_key: Any, db: Any) -> None:
    issued = await make_key("acme", ["read:reference"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        before = await http.post("/graphql", json={"query": ETF}, headers=bearer(issued.plaintext))
        from service.auth import service

        await service.revoke_key(db, "acme")
        after = await http.post("/graphql", json={"query": ETF}, headers=bearer(issued.plaintext))
    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_expired_key_is_refused(make_client: Any, make_key: Any, conn: Any) -> None:
    issued = await make_key("acme", ["read:reference"], expires_at=datetime.now(UTC) + timedelta(days=1))
    await conn.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", issued.row.id
    )
    async with make_client(anonymous_scopes=[]) as (http, _):
        response = await http.post("/graphql", json={"query": ETF}, headers=bearer(issued.plaintext))
    assert response.status_code == 401


async def test_a_wrong_or_malformed_key_is_refused(make_client: Any, make_key: Any) -> None:
    issued = await make_key("acme", ["read:reference"])
    forged = issued.plaintext[:-4] + ("AAAA" if not issued.plaintext.endswith("AAAA") else "BBBB")
    async with make_client(anonymous_scopes=[]) as (http, _):
        for key in (forged, "cg_nothere1_" + "x" * 43, "hello", "Bearer"):
            response = await http.post("/graphql", json={"query": ETF}, headers=bearer(key))
            assert response.status_code == 401, key


async def test_rotation_keeps_the_old_key_working_through_the_grace_period(
    make_client: Any, make_key: Any, db: Any, conn: Any
) -> None:
    from service.auth import service

    old = await make_key("acme", ["read:reference"])
    new = await service.rotate_key(db, SECRET, "acme", timedelta(hours=1))
    async with make_client(anonymous_scopes=[]) as (http, _):
        both = [
            await http.post("/graphql", json={"query": ETF}, headers=bearer(k))
            for k in (old.plaintext, new.plaintext)
        ]
        await conn.execute(
            "UPDATE api_keys SET grace_until = now() - interval '1 second' WHERE id = $1", old.row.id
        )
        after_grace = await http.post("/graphql", json={"query": ETF}, headers=bearer(old.plaintext))
        still_new = await http.post("/graphql", json={"query": ETF}, headers=bearer(new.plaintext))
    assert [r.status_code for r in both] == [200, 200]
    assert after_grace.status_code == 401
    assert still_new.status_code == 200
    assert new.row.name == "acme" and new.row.scopes == ["read:reference"]
