"""`connectgraph serve --workers N`: N processes answer, and /metrics reports all of them whichever answers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.ops.conftest import QUERY, sample
from tests.ops.processes import free_port, stop_group, wait_ready

CONNECTGRAPH = str(Path(sys.executable).parent / "connectgraph")
REQUESTS = 24
OURS = ("connectgraph_", "process_", "python_")


def _total(text: str, name: str) -> float:
    """The sum of every series of one metric in the exposition text."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.split(" ")[0] == name
    )


@pytest.mark.parametrize("workers", [1, 2])
async def test_every_worker_answers_and_each_scrape_reports_them_all(database_url: str, workers: int) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "ANSWER_CACHE_ENTRIES": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(  # noqa: ASYNC220 (started once; the test then talks to it over HTTP)
        [CONNECTGRAPH, "serve", "--no-prepare", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        await wait_ready(base, proc, within_s=60)
        # given every worker up (each one counts itself in connectgraph_workers once started)
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(100):
                if sample((await client.get(f"{base}/metrics")).text, "connectgraph_workers") == workers:
                    break
                await asyncio.sleep(0.1)

        # when queries arrive, each on a connection of its own (so the kernel spreads them over the workers)
        async def one() -> int:
            async with httpx.AsyncClient(timeout=10) as fresh:
                return (await fresh.post(f"{base}/graphql", json={"query": QUERY})).status_code

        statuses = await asyncio.gather(*(one() for _ in range(REQUESTS)))
        await asyncio.sleep(1.5)  # each worker copies its pool gauges every second
        scrapes = []
        for _ in range(6):
            async with httpx.AsyncClient(timeout=10) as fresh:
                scrapes.append((await fresh.get(f"{base}/metrics")).text)
    finally:
        stop_group(proc)
    assert statuses == [200] * REQUESTS
    # then every scrape, whichever worker answered it, counts every request and every worker
    for text in scrapes:
        assert sample(text, "connectgraph_workers") == workers
        # only ours and the process collectors' (one worker): nothing made at import, a probe say, shows up
        families = [line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE ")]
        assert families and all(name.startswith(OURS) for name in families), families
        assert _total(text, "connectgraph_graphql_requests_total") == REQUESTS
        assert _total(text, "connectgraph_graphql_request_duration_seconds_count") == REQUESTS
        assert sample(text, "connectgraph_db_pool_max_connections", pool="primary") == 10 * workers
        memory = [
            line for line in text.splitlines() if line.startswith("connectgraph_worker_resident_memory")
        ]
        assert len(memory) == workers and all(float(line.rsplit(" ", 1)[1]) > 10e6 for line in memory)
