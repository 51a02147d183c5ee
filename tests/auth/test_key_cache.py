"""Verified keys are remembered between requests, and forgotten the moment a key changes anywhere."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from starlette.testclient import TestClient

from service.app import create_app
from service.auth import service
from service.auth.keycache import KeyCache
from service.auth.principal import Principal
from service.db.client import ConnectionDatabase
from service.settings import Settings
from tests.auth.conftest import SECRET, endpoint_of

QUERY = {"query": "{ __typename }"}


def _on(url: str, work: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await work(ConnectionDatabase(conn))
        finally:
            await conn.close()

    return asyncio.run(run())


def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_revocation_elsewhere_reaches_every_cache(database_url: str) -> None:
    issued = _on(
        database_url,
        lambda db: service.create_key(
            db, SECRET, name="cached", scope_list=["read:reference"], rate_per_minute=1000
        ),
    )
    app = create_app(Settings(database_url=database_url, anonymous_scopes=[], api_key_secret=SECRET))
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    try:
        with TestClient(app) as client:
            runtime = app.state.runtime
            _until(lambda: runtime.listener.connected)
            cache = endpoint_of(app).access.keys
            assert client.post("/graphql", json=QUERY, headers=headers).status_code == 200
            assert cache.get(issued.row.prefix, _digest(issued.plaintext)) is not None  # remembered

            # when another process (the CLI, another instance) revokes the key
            _on(database_url, lambda db: service.revoke_key(db, "cached"))

            # then this instance forgets it as soon as PostgreSQL says so, and refuses the key
            _until(lambda: cache.get(issued.row.prefix, _digest(issued.plaintext)) is None)
            assert client.post("/graphql", json=QUERY, headers=headers).status_code == 401
    finally:
        _on(database_url, lambda db: db.execute("DELETE FROM api_keys WHERE id = $1", issued.row.id))


def _digest(plaintext: str) -> bytes:
    from service.auth import keys

    return keys.digest(plaintext, SECRET)


def test_the_cache_is_not_used_while_changes_cannot_be_heard() -> None:
    live = [True]
    cache = KeyCache(live=lambda: live[0])
    principal = Principal(scopes=frozenset({"read:reference"}), rate_per_minute=1, max_cost=1, key_id=1)
    cache.put("cg_abcdefgh", b"d" * 32, principal, None)
    assert cache.get("cg_abcdefgh", b"d" * 32) is principal
    assert cache.get("cg_abcdefgh", b"x" * 32) is None  # another secret with the same prefix
    live[0] = False
    assert cache.get("cg_abcdefgh", b"d" * 32) is None


def test_expiry_is_checked_on_every_use() -> None:
    from datetime import UTC, datetime, timedelta

    cache = KeyCache(live=lambda: True)
    principal = Principal(scopes=frozenset(), rate_per_minute=1, max_cost=1, key_id=1)
    cache.put("cg_abcdefgh", b"d" * 32, principal, datetime.now(UTC) + timedelta(seconds=1))
    assert cache.get("cg_abcdefgh", b"d" * 32, now=datetime.now(UTC)) is principal
    assert cache.get("cg_abcdefgh", b"d" * 32, now=datetime.now(UTC) + timedelta(seconds=2)) is None
