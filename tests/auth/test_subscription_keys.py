"""Live updates check keys too: at connection_init, from its payload or the upgrade headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.app import create_app
from service.auth import service
from service.db.client import ConnectionDatabase
from service.settings import Settings
from tests.auth.conftest import SECRET

SUBSCRIBE = {"query": "subscription { dataLanded { dataset dataVersion } }"}


@pytest.fixture
def committed_key(database_url: str) -> Iterator[str]:
    """A key the app's own pool can see (committed), removed afterwards."""

    async def run(work: Any) -> Any:
        conn = await asyncpg.connect(database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    async def create(conn: Any) -> service.IssuedKey:
        return await service.create_key(
            ConnectionDatabase(conn), SECRET, name="live", scope_list=["read:flows"], rate_per_minute=60
        )

    issued = asyncio.run(run(create))
    yield issued.plaintext
    asyncio.run(run(lambda conn: conn.execute("DELETE FROM api_keys WHERE id = $1", issued.row.id)))


def _app(database_url: str) -> Any:
    return create_app(Settings(database_url=database_url, anonymous_scopes=[], api_key_secret=SECRET))


def test_a_connection_without_a_key_is_refused(database_url: str) -> None:
    with (
        TestClient(_app(database_url)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


@pytest.mark.parametrize("where", ["payload", "header"])
def test_a_key_in_the_payload_or_the_headers_is_accepted(
    database_url: str, committed_key: str, where: str
) -> None:
    payload = {"Authorization": f"Bearer {committed_key}"} if where == "payload" else {}
    headers = {"X-API-Key": committed_key} if where == "header" else {}
    with (
        TestClient(_app(database_url)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers=headers) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"  # subscribed, waiting for a load; no error
