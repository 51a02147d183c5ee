"""dataLanded over graphql-transport-ws, fed by the loader's NOTIFY on connectgraph_data."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from starlette.testclient import TestClient

from service.app import create_app
from service.events import CHANNEL, DataEvents, DataLanded, parse_payload
from service.ingest.datasets import Dataset
from service.observability import metrics
from tests.ops.conftest import settings

SUBSCRIBE = "subscription Landed($dataset: Dataset) { dataLanded(dataset: $dataset) { dataset tradingDay dataVersion } }"


def _notify(url: str, *payloads: str) -> None:
    async def send() -> None:
        conn = await asyncpg.connect(url)
        try:
            for payload in payloads:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        finally:
            await conn.close()

    asyncio.run(send())


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _subscribe(ws: Any, op_id: str, variables: dict[str, Any]) -> None:
    ws.send_json({"id": op_id, "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}})


def test_every_subscriber_hears_every_load(database_url: str) -> None:
    app = create_app(settings(database_url))
    with TestClient(app) as client:
        runtime = app.state.runtime
        with (
            client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as first,
            client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as second,
        ):
            for ws in (first, second):
                ws.send_json({"type": "connection_init"})
                assert ws.receive_json()["type"] == "connection_ack"
            _subscribe(first, "all", {})
            _subscribe(second, "fx", {"dataset": "FX"})
            _until(lambda: runtime.events.subscribers == 2 and runtime.listener.connected)
            # when the loader announces two loads (and something that is not an event)
            _notify(
                database_url,
                json.dumps({"dataset": "connect-daily", "tradingDay": "2026-11-24", "dataVersion": 41}),
                "not json",
                json.dumps({"dataset": "fx", "tradingDay": None, "dataVersion": 42}),
            )
            # then the first hears both, the second only fx
            heard = [first.receive_json(), first.receive_json()]
            assert [m["payload"]["data"]["dataLanded"] for m in heard] == [
                {"dataset": "CONNECT_DAILY", "tradingDay": "2026-11-24", "dataVersion": 41},
                {"dataset": "FX", "tradingDay": None, "dataVersion": 42},
            ]
            assert second.receive_json() == {
                "id": "fx",
                "type": "next",
                "payload": {"data": {"dataLanded": {"dataset": "FX", "tradingDay": None, "dataVersion": 42}}},
            }
            first.send_json({"id": "all", "type": "complete"})
            _until(lambda: runtime.events.subscribers == 1)


async def test_a_slow_subscriber_loses_the_oldest_events_not_memory() -> None:
    events = DataEvents(queue_size=2)
    stream = events.subscribe()
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the subscriber is registered once it waits
    dropped = metrics.EVENTS_DROPPED._value.get()
    for version in (1, 2, 3, 4):
        events.publish(DataLanded(Dataset.FX, None, version))
    received = [await pending, await anext(stream)]
    events.close()
    rest = [event async for event in stream]
    assert [e.data_version for e in received + rest] == [3, 4]
    assert metrics.EVENTS_DROPPED._value.get() == dropped + 2
    assert events.subscribers == 0


def test_malformed_payloads_are_ignored() -> None:
    assert parse_payload('{"dataset": ""}') is None
    assert parse_payload('{"dataset": "fx_rates"}') is None  # a table's name, not a dataset's
    assert parse_payload('{"dataset": "fx", "dataVersion": "7"}') is None
    assert parse_payload('{"dataset": "fx"}') == DataLanded(Dataset.FX, None, None)
