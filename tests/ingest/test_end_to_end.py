"""The CLI end to end on a scratch database: generate, load a directory, NOTIFY, exit codes, kill mid-load."""

from __future__ import annotations

import asyncio
import filecmp
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.demo.scale import generate_files
from service.ingest.loader import load_file
from tests.conftest import ROOT, _with_database, migrate, scratch_name
from tests.ops.conftest import settings as ops_settings

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"
CLI = [sys.executable, "-m", "service.cli"]
TINY = {"etfs": 3, "years": 1, "seed": 11, "securities": 6}


def _cli(url: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate_files(
        out, etfs=TINY["etfs"], years=TINY["years"], seed=TINY["seed"], securities=TINY["securities"]
    )
    return out


@pytest.fixture(scope="module")
def loaded(server_url: str, generated: Path) -> Iterator[tuple[str, subprocess.CompletedProcess[str]]]:
    """An empty migrated scratch database into which `connectgraph load all` loaded the generated files."""
    name = scratch_name("ingest")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_with_database(server_url, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        migrate(url, "upgrade", "head")
        yield url, _cli(url, "load", "all", str(generated), timeout=120)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_generate_is_deterministic_by_seed(generated: Path, tmp_path: Path) -> None:
    generate_files(
        tmp_path, etfs=TINY["etfs"], years=TINY["years"], seed=TINY["seed"], securities=TINY["securities"]
    )
    names = sorted(p.name for p in generated.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(generated, tmp_path, names, shallow=False)
    assert mismatch == [] and errors == []


async def test_a_generated_directory_loads_into_an_empty_database(
    loaded: tuple[str, subprocess.CompletedProcess[str]], generated: Path
) -> None:
    url, run = loaded
    assert run.returncode == 0, run.stderr
    manifest = json.loads((generated / "manifest.json").read_text())
    assert len(run.stdout.strip().splitlines()) >= len(manifest["files"])  # a summary per file, no bar
    conn = await asyncpg.connect(url)
    try:
        rows = {f["file"]: f["rows"] for f in manifest["files"]}
        assert await conn.fetchval("SELECT count(*) FROM etf_daily_stats") == rows["etf-daily.csv"]
        assert await conn.fetchval("SELECT count(*) FROM etfs") == rows["etfs.csv"]
        assert await conn.fetchval("SELECT count(*) FROM fx_rates") == rows["fx.csv"]
        assert await conn.fetchval("SELECT count(*) FROM load_history WHERE status = 'SUCCEEDED'") == len(
            manifest["files"]
        )
        assert await conn.fetchval("SELECT bool_and(is_illustrative) FROM datasets")
        # Every eligibility period of the generator's reference came back from the change files.
        assert await conn.fetchval("SELECT count(*) FROM connect_eligibility") > 0
    finally:
        await conn.close()


async def test_a_load_that_changes_data_notifies_listeners(
    loaded: tuple[str, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    url, _ = loaded
    heard: list[str] = []
    listener = await asyncpg.connect(url)
    await listener.add_listener("connectgraph_data", lambda *args: heard.append(args[3]))
    conn = await asyncpg.connect(url)
    try:
        source = tmp_path / "fx.csv"
        source.write_text("Base Currency,Quote Currency,Date,Rate,Source\nUSD,HKD,2030-01-02,7.80,HKMA\n")
        result = await load_file(conn, "fx", source)
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
        await listener.close()
    assert [json.loads(p) for p in heard] == [
        {
            "dataset": "fx",
            "tradingDay": "2030-01-02",
            "firstDay": "2030-01-02",
            "dataVersion": result.data_version,
            "loadId": result.load_id,
        }
    ]


def _receive(ws: Any, timeout: float = 20.0) -> Any:
    """The next message of a test WebSocket, or a failure after ``timeout`` seconds."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(ws.receive_json).result(timeout=timeout)


def test_data_landed_fires_for_the_dataset_a_real_load_names(
    loaded: tuple[str, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """dataLanded(dataset: CONNECT_DAILY) hears a `connectgraph load connect-daily` run as a process,
    and a subscription to another dataset does not."""
    url, _ = loaded
    flows = tmp_path / "connect-daily.csv"
    header = (
        "Date,Market,Trading Day,Total Turnover (mil),Buy Turnover (mil),Sell Turnover (mil),"
        "Total Trade Count,Buy Trade Count,Sell Trade Count,ETF Turnover (mil),Daily Quota Balance (RMB mil)"
    )
    blocks = [
        "2031-01-03,SSE Southbound,Y,100.00,60.00,40.00,10,6,4,1.00,41980.00",
        "2031-01-03,SZSE Southbound,Y,80.00,50.00,30.00,8,5,3,1.00,41980.00",
        "2031-01-03,SSE Northbound,Y,200.00,,,20,,,2.00,999999999",
        "2031-01-03,SZSE Northbound,Y,150.00,,,15,,,2.00,999999999",
    ]
    flows.write_text("\n".join([header, *blocks]) + "\n")
    fx = tmp_path / "fx.csv"
    fx.write_text("Base Currency,Quote Currency,Date,Rate,Source\nUSD,HKD,2031-01-03,7.80,HKMA\n")
    subscribe = (
        "subscription Landed($dataset: Dataset) { dataLanded(dataset: $dataset) { dataset tradingDay } }"
    )
    app = create_app(ops_settings(url))
    with TestClient(app) as client:
        runtime = app.state.runtime
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init"})
            assert _receive(ws)["type"] == "connection_ack"
            for op_id, name in (("flows", "CONNECT_DAILY"), ("rates", "FX")):
                payload = {"query": subscribe, "variables": {"dataset": name}}
                ws.send_json({"id": op_id, "type": "subscribe", "payload": payload})
            deadline = time.monotonic() + 10
            while not (runtime.events.subscribers == 2 and runtime.listener.connected):
                assert time.monotonic() < deadline, "the subscriptions did not start"
                time.sleep(0.02)

            run = _cli(url, "load", "connect-daily", str(flows), timeout=60)
            assert run.returncode == 0, run.stderr
            heard = _receive(ws)
            run = _cli(url, "load", "fx", str(fx), timeout=60)
            assert run.returncode == 0, run.stderr
            then = _receive(ws)

    assert (heard["id"], heard["payload"]["data"]["dataLanded"]) == (
        "flows",
        {"dataset": "CONNECT_DAILY", "tradingDay": "2031-01-03"},
    )
    assert (then["id"], then["payload"]["data"]["dataLanded"]) == (
        "rates",
        {"dataset": "FX", "tradingDay": "2031-01-03"},
    )


def test_the_cli_lists_bad_rows_and_exits_non_zero(
    loaded: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    url, _ = loaded
    run = _cli(url, "load", "etf-daily", str(DATA / "etf-daily-bad.csv"), timeout=60)
    assert run.returncode == 1
    assert "etf-daily-bad.csv:3: NAV per Unit = 'abc'" in run.stderr
    assert "etf-daily-bad.csv:4: Fund Size" in run.stderr
    assert "1 of 1 file(s) not loaded" in run.stderr


# What the killed load is running when it is killed: its COPY into staging, or the write into the table.
KILL_DURING = {
    "staging": "COPY %ingest_stage%",
    "writing": "INSERT INTO etf_daily_stats%",
}


@pytest.mark.parametrize("phase", list(KILL_DURING))
async def test_killing_a_load_midway_leaves_the_database_as_it_was(
    loaded: tuple[str, subprocess.CompletedProcess[str]], generated: Path, tmp_path: Path, phase: str
) -> None:
    url, _ = loaded
    # A bigger file: the generated days several times over, shifted so that every row is new.
    lines = (generated / "etf-daily.csv").read_text().splitlines()
    big = tmp_path / "etf-daily-big.csv"
    with big.open("w") as f:
        f.write(lines[0] + "\n")
        for year in range(2031, 2041):
            for line in lines[1:]:
                f.write(str(year) + line[4:] + "\n")
    state = (
        "SELECT (SELECT count(*) FROM etf_daily_stats), (SELECT count(*) FROM load_history), "
        "(SELECT version FROM data_version)"
    )
    conn = await asyncpg.connect(url)
    try:
        before = tuple(await conn.fetchrow(state) or ())
        env = {**os.environ, "DATABASE_URL": url}
        proc = await asyncio.create_subprocess_exec(*CLI, "load", "etf-daily", str(big), cwd=ROOT, env=env)
        seen = None
        deadline = time.monotonic() + 60
        while seen is None and proc.returncode is None and time.monotonic() < deadline:
            seen = await conn.fetchval(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE $1",
                KILL_DURING[phase],
            )
            await asyncio.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        assert seen is not None, f"the load finished before it could be killed while {phase}"
        # The server notices the dropped connection and rolls its transaction back.
        for _ in range(100):
            if not await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND query ILIKE '%ingest_stage%'"
            ):
                break
            await asyncio.sleep(0.05)
        assert tuple(await conn.fetchrow(state) or ()) == before
    finally:
        await conn.close()
