"""What every response says about itself: no server banner, no sniffing or framing, metrics kept in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.auth import service
from service.db.client import CountingDatabase
from service.settings import Settings

SECRET = "a-production-secret-for-tests"


def _client(app: Any, address: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.mark.parametrize("path", ["/graphql?query={__typename}", "/dashboard", "/healthz"])
async def test_responses_forbid_sniffing_and_framing(db: CountingDatabase, path: str) -> None:
    async with _client(create_app(Settings(database_url=None), database=db)) as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("address", "headers", "status"),
    [
        ("203.0.113.7", {}, 403),
        ("10.1.2.3", {}, 200),
        ("127.0.0.1", {}, 200),
        ("203.0.113.7", {"Authorization": "Bearer scrape-me"}, 200),
        ("203.0.113.7", {"Authorization": "Bearer wrong"}, 403),
    ],
    ids=["public address", "private network", "loopback", "token", "wrong token"],
)
async def test_production_metrics_are_for_allowed_networks_or_the_token(
    db: CountingDatabase, address: str, headers: dict[str, str], status: int
) -> None:
    settings = Settings(
        database_url=None, environment="production", api_key_secret=SECRET, metrics_token="scrape-me"
    )
    async with _client(create_app(settings, database=db), address) as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "connectgraph_" not in response.text


async def test_the_allowed_networks_are_a_setting(db: CountingDatabase) -> None:
    settings = Settings(
        database_url=None,
        environment="production",
        api_key_secret=SECRET,
        metrics_allowed_networks="203.0.113.0/24",
    )
    async with _client(create_app(settings, database=db), "203.0.113.7") as inside:
        allowed = await inside.get("/metrics")
    async with _client(create_app(settings, database=db), "10.1.2.3") as outside:
        refused = await outside.get("/metrics")
    assert (allowed.status_code, refused.status_code) == (200, 403)


async def test_a_request_log_line_names_the_key_prefix(
    db: CountingDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = await service.create_key(
        db, SECRET, name="logged", scope_list=["read:reference"], rate_per_minute=60
    )
    app = create_app(Settings(database_url=None, api_key_secret=SECRET), database=db)
    async with _client(app) as client:
        await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {issued.plaintext}"},
        )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    request = [line for line in lines if line.get("event") == "request"][-1]
    assert request["key"] == issued.row.prefix
    assert issued.plaintext not in json.dumps(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connectgraph_serve_sends_no_server_banner(database_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    command = [
        str(Path(sys.executable).parent / "connectgraph"),
        "serve",
        "--no-prepare",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    headers = dict(response.headers)
                break
            except OSError:
                assert server.poll() is None, "connectgraph serve exited"
                assert time.monotonic() < deadline, "connectgraph serve did not answer"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "server" not in {name.lower() for name in headers}
    assert headers["x-content-type-options"] == "nosniff"
