"""Structured logs: one JSON line per request, with the request id that the response header carries."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from service.app import create_app
from service.db.client import CountingDatabase
from service.observability.logging import _timestamp
from service.observability.request_id import request_id_from
from service.settings import Settings


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_request_logs_one_json_line_with_its_request_id(
    db: CountingDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(Settings(database_url=None), database=db)
    async with _client(app) as client:
        response = await client.post(
            "/graphql",
            json={"query": "query Probe { __typename }", "operationName": "Probe"},
            headers={"X-Request-ID": "abc-123"},
        )
    assert response.headers["x-request-id"] == "abc-123"
    requests = [line for line in _lines(capsys.readouterr().out) if line["event"] == "request"]
    assert requests[-1] | {"duration_ms": 0, "timestamp": ""} == {
        "event": "request",
        "level": "info",
        "logger": "connectgraph.http",
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "operation": "Probe",
        "compiled": True,
        "request_id": "abc-123",
        "duration_ms": 0,
        "timestamp": "",
    }


async def test_the_request_line_keeps_its_order_and_its_figures(
    db: CountingDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(Settings(database_url=None), database=db)
    async with _client(app) as client:
        await client.post("/graphql", json={"query": "query Probe { __typename }", "operationName": "Probe"})
    raw = [text for text in capsys.readouterr().out.splitlines() if '"event":"request"' in text][-1]
    line = json.loads(raw)
    assert list(line) == [
        "method", "path", "status", "duration_ms", "operation", "compiled",
        "event", "level", "logger", "timestamp", "request_id",
    ]  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["timestamp"])
    assert isinstance(line["duration_ms"], float) and round(line["duration_ms"], 2) == line["duration_ms"]
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])


def test_timestamps_are_utc_to_the_microsecond_across_seconds() -> None:
    for _ in range(3):
        before = datetime.now(UTC)
        written = datetime.strptime(_timestamp(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        after = datetime.now(UTC)
        assert before - timedelta(microseconds=1) <= written <= after  # (the clock's own rounding)
        time.sleep(0.4)  # into the next second at least once


def test_made_request_ids_are_32_hex_digits_counted_up() -> None:
    ids = [request_id_from(None) for _ in range(3)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids)
    assert len({made[:16] for made in ids}) == 1
    assert [int(made[16:], 16) - int(ids[0][16:], 16) for made in ids] == [0, 1, 2]


async def test_an_unsafe_incoming_request_id_is_replaced(db: CountingDatabase) -> None:
    app = create_app(Settings(database_url=None), database=db)
    async with _client(app) as client:
        response = await client.get("/healthz", headers={"X-Request-ID": "no spaces\tor tabs"})
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0


class Broken:
    """A database whose every statement fails unexpectedly."""

    async def fetch(self, sql: str, *args: Any) -> Any:
        raise RuntimeError("boom: secret internals")

    fetchrow = fetchval = execute = fetch

    def transaction(self) -> Any:
        raise RuntimeError("boom")


async def test_masked_errors_name_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=None, environment="production", api_key_secret="s" * 40)
    app = create_app(settings, database=Broken())
    async with _client(app) as client:
        response = await client.post("/graphql", json={"query": "{ indices(first: 1) { totalCount } }"})
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert "secret internals" not in response.text
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    # the details are in the log, under the same request id
    logged = [line for line in _lines(capsys.readouterr().out) if line.get("level") == "error"]
    assert any(
        line.get("request_id") == response.headers["x-request-id"]
        and "secret internals" in line.get("exception", "")
        for line in logged
    )


async def _fails(request: Request) -> StreamingResponse:
    if request.query_params.get("when") == "before":
        raise RuntimeError("boom before the response")

    async def parts() -> Any:
        yield b"begun"
        raise RuntimeError("boom after the response began")

    return StreamingResponse(parts())


async def test_an_exception_escaping_a_route_is_a_json_500_or_reaches_the_server_once_begun(
    db: CountingDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(Settings(database_url=None), database=db)
    app.router.routes.append(Route("/fails", _fails))
    async with _client(app) as client:
        before = await client.get("/fails?when=before")
        with pytest.raises(RuntimeError, match="after the response began"):
            await client.get("/fails?when=after")
    assert before.status_code == 500 and before.headers["content-type"] == "application/json"
    error = before.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": before.headers["x-request-id"],
    }
    logged = [line for line in _lines(capsys.readouterr().out) if line.get("event") == "request"]
    assert [line["status"] for line in logged if line["path"] == "/fails"] == [500, 200]
