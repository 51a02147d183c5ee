"""A real read replica: a private primary and its streaming standby (``pg_basebackup -R``) on this machine,
queries served from the standby (DATABASE_READ_URL), what a client sees while the standby lags a load, and
what happens when the standby stops and comes back.

Skipped where PostgreSQL's server binaries (``/usr/lib/postgresql/*/bin``) are missing. As root, the servers
run as the ``postgres`` user. Each server has its own port and temporary folder, removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.repositories import loads
from tests.conftest import migrate
from tests.ops.conftest import serving
from tests.ops.processes import free_port

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"), key=lambda p: int(p.parts[-3]))
pytestmark = pytest.mark.skipif(not BINARIES, reason="PostgreSQL's server binaries are not installed")
BIN = BINARIES[-1].parent if BINARIES else Path()
ETF = 'query Tracker { dataVersion etf(code: "XHKG:02800") { code name } }'


def _run(*cmd: str) -> None:
    """As the postgres user when this runs as root (PostgreSQL refuses to run as root)."""
    user = "postgres" if os.geteuid() == 0 else None
    done = subprocess.run([str(BIN / cmd[0]), *cmd[1:]], capture_output=True, text=True, user=user)
    assert done.returncode == 0, f"{cmd[0]}: {done.stderr[-1500:]}"


@dataclass
class Server:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        _run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="connectgraph-replica-"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    return folder


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Server, Server]]:
    """A primary with the demo data, and a standby streaming from it."""
    primary, standby = Server(_folder(), free_port()), Server(_folder(), free_port())
    try:
        _run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        primary.start()
        asyncio.run(_fill(primary))
        _run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
             "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        standby.start()
        yield primary, standby
    finally:
        for server in (standby, primary):
            if server.running():
                server.stop()
            shutil.rmtree(server.folder, ignore_errors=True)


async def _fill(primary: Server) -> None:
    admin = await asyncpg.connect(primary.url())
    await admin.execute("CREATE DATABASE connectgraph")
    await admin.close()
    migrate(primary.url("connectgraph"), "upgrade", "head")
    from service.demo.load import load_demo

    conn = await asyncpg.connect(primary.url("connectgraph"))
    try:
        await load_demo(conn)
    finally:
        await conn.close()


@pytest.fixture
async def app_on_replica(cluster: tuple[Server, Server]) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    primary, standby = cluster
    if not standby.running():
        standby.start()
    async with serving(
        primary.url("connectgraph"),
        database_read_url=standby.url("connectgraph"),
        answer_cache_entries=512,
        db_pool_min_size=1,
    ) as (app, client):
        yield app, client


async def _caught_up(primary: Server, standby: Server, within_s: float = 20.0) -> None:
    """Wait until the standby has replayed everything the primary has written."""
    source = await asyncpg.connect(primary.url("connectgraph"))
    replica = await asyncpg.connect(standby.url("connectgraph"))
    try:
        target = await source.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + within_s
        while await replica.fetchval("SELECT pg_last_wal_replay_lsn() < $1::pg_lsn", target):
            assert time.monotonic() < deadline, "the standby did not catch up"
            await asyncio.sleep(0.05)
    finally:
        await source.close()
        await replica.close()


async def _a_load(primary: Server, name: str) -> int:
    """What a load does: change data and move the data version in one transaction; the new version."""
    conn = await asyncpg.connect(primary.url("connectgraph"))
    try:
        async with conn.transaction():
            await conn.execute("UPDATE etfs SET name_en = $1 WHERE code = '02800'", name)
            return await loads.bump_data_version(conn)
    finally:
        await conn.close()


async def _get(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/graphql", params={"query": ETF})


@pytest.fixture
async def replica(
    cluster: tuple[Server, Server], app_on_replica: tuple[Any, httpx.AsyncClient]
) -> tuple[Server, Server, httpx.AsyncClient]:
    """The primary, the standby (caught up) and a client of the app reading from the standby."""
    primary, standby = cluster
    await _caught_up(primary, standby)
    return primary, standby, app_on_replica[1]


async def test_queries_are_read_from_the_standby(replica: tuple[Server, Server, httpx.AsyncClient]) -> None:
    _, standby, client = replica
    response = await client.post("/graphql", json={"query": ETF})
    ready = await client.get("/readyz")
    conn = await asyncpg.connect(standby.url("connectgraph"))
    try:
        readers = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'connectgraph-read'"
        )
        in_recovery = await conn.fetchval("SELECT pg_is_in_recovery()")
    finally:
        await conn.close()
    assert response.status_code == 200 and response.json()["data"]["etf"]["code"] == "XHKG:02800"
    assert in_recovery and readers >= 1
    assert ready.status_code == 200 and ready.json()["checks"]["database_read"]["ok"] is True


async def test_while_the_standby_lags_a_load_clients_see_the_previous_version_whole(
    replica: tuple[Server, Server, httpx.AsyncClient],
) -> None:
    primary, standby, client = replica
    before = await _get(client)
    conn = await asyncpg.connect(standby.url("connectgraph"))
    try:
        # given a standby that stops replaying (as it would behind a long query or a slow disk)
        await conn.execute("SELECT pg_wal_replay_pause()")
        # when a load lands on the primary
        landed = await _a_load(primary, "Tracker Fund (after the load)")
        lagging = await _get(client)
        revalidated = await client.get(
            "/graphql", params={"query": ETF}, headers={"If-None-Match": before.headers["etag"]}
        )
        # and once the standby replays it
        await conn.execute("SELECT pg_wal_replay_resume()")
    finally:
        await conn.close()
    await _caught_up(primary, standby)
    after = await _get(client)
    # then while it lags, clients see the version before the load and its data, under the same ETag
    old = before.json()["data"]
    assert old["dataVersion"] == landed - 1
    assert lagging.json() == before.json() and lagging.headers["etag"] == before.headers["etag"]
    assert revalidated.status_code == 304
    # and once it has caught up, the new version and its data, under a new ETag
    new = after.json()["data"]
    assert new["dataVersion"] == landed and new["etf"]["name"] == "Tracker Fund (after the load)"
    assert after.headers["etag"] != before.headers["etag"]


async def test_when_the_standby_stops_queries_fail_fast_and_readiness_says_why(
    replica: tuple[Server, Server, httpx.AsyncClient],
) -> None:
    primary, standby, client = replica
    assert (await client.post("/graphql", json={"query": ETF})).status_code == 200
    # when the standby stops
    standby.stop()
    started = time.monotonic()
    failed = await client.post("/graphql", json={"query": ETF})
    took = time.monotonic() - started
    ready = await client.get("/readyz")
    health = await client.get("/healthz")
    # then queries fail fast with SERVICE_UNAVAILABLE and the instance is not ready (the primary still is)
    assert failed.status_code == 503, failed.text
    assert failed.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert took < 3.0
    checks = ready.json()["checks"]
    assert ready.status_code == 503 and checks["database"]["ok"] and not checks["database_read"]["ok"]
    assert health.status_code == 200
    # and when it comes back, queries are answered again without a restart
    standby.start()
    await _caught_up(primary, standby)
    deadline = time.monotonic() + 20
    while (again := await client.post("/graphql", json={"query": ETF})).status_code != 200:
        assert time.monotonic() < deadline, again.text
        await asyncio.sleep(0.2)
    assert again.json()["data"]["etf"]["code"] == "XHKG:02800"
    assert (await client.get("/readyz")).status_code == 200
