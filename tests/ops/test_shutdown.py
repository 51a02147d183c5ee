"""Graceful shutdown of a real uvicorn: in-flight requests finish, new ones get 503, the pool closes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import httpx

from tests.conftest import ROOT
from tests.ops.processes import free_port, wait_ready


async def test_sigterm_drains_finishes_in_flight_and_closes_the_pool(database_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "SHUTDOWN_DRAIN_S": "1", "LOG_FORMAT": "json"}
    proc = subprocess.Popen(  # noqa: ASYNC220 (started once; the test then talks to it over HTTP)
        [sys.executable, "-m", "uvicorn", "--factory", "tests.ops.server:build", "--port", str(port),
         "--timeout-graceful-shutdown", "10"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await wait_ready(base, proc)
        async with httpx.AsyncClient(timeout=10) as slow_client, httpx.AsyncClient(timeout=5) as client:
            # given a request in flight
            in_flight = asyncio.create_task(slow_client.get(f"{base}/_test/sleep", params={"s": "2"}))
            await asyncio.sleep(0.5)
            # when the server is told to stop
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            # then new requests are refused with 503 and readiness is red, while the request in flight finishes
            refused = await client.post(f"{base}/graphql", json={"query": "{ __typename }"})
            ready = await client.get(f"{base}/readyz")
            finished = await in_flight
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert ready.status_code == 503
        assert finished.status_code == 200 and finished.json() == {"slept": 2.0}
        # uvicorn re-raises the SIGTERM it handled once it is done, so the exit is "terminated by SIGTERM"
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout is not None
    events = [json.loads(line) for line in proc.stdout.read().decode().splitlines() if line.startswith("{")]
    stopped = [e for e in events if e["event"] == "stopped"]
    assert stopped and stopped[0]["pools_closed"] == ["primary"]
    assert any(e["event"] == "shutdown_draining" and e["signal"] == "SIGTERM" for e in events)
