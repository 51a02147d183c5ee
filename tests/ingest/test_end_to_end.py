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
from service.repositories import loads
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
            "written": 0,  # fx writes nothing alerts announce (load_events)
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
ATTEMPTS = (
    "SELECT id, status::text, backend_pid, finished_at, error FROM load_history WHERE id > $1 ORDER BY id"
)
STATE = "SELECT (SELECT count(*) FROM etf_daily_stats), (SELECT version FROM data_version)"


def _big_daily_file(generated: Path, tmp_path: Path, first_year: int) -> Path:
    """The generated days ten times over, shifted so that every row is new."""
    lines = (generated / "etf-daily.csv").read_text().splitlines()
    big = tmp_path / "etf-daily-big.csv"
    with big.open("w") as f:
        f.write(lines[0] + "\n")
        for year in range(first_year, first_year + 10):
            for line in lines[1:]:
                f.write(str(year) + line[4:] + "\n")
    return big


def _fx_file(tmp_path: Path, day: str) -> Path:
    path = tmp_path / f"fx-{day}.csv"
    path.write_text(f"Base Currency,Quote Currency,Date,Rate,Source\nUSD,HKD,{day},7.80,HKMA\n")
    return path


async def _start(url: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "DATABASE_URL": url}
    return await asyncio.create_subprocess_exec(
        *CLI, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def _active(
    conn: asyncpg.Connection[Any], pattern: str, proc: asyncio.subprocess.Process
) -> int | None:
    """The server process running a statement like ``pattern`` for another session, while ``proc`` runs."""
    deadline = time.monotonic() + 60
    while proc.returncode is None and time.monotonic() < deadline:
        pid = await conn.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE $1",
            pattern,
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.005)
    return None


async def _gone(conn: asyncpg.Connection[Any], pid: int, within: float) -> float | None:
    """Seconds until server process ``pid`` has ended, or None if it still runs after ``within``."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", pid):
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    return None


@pytest.mark.parametrize("phase", list(KILL_DURING))
async def test_a_load_killed_midway_is_recorded_undone_and_then_found_abandoned(
    loaded: tuple[str, subprocess.CompletedProcess[str]], generated: Path, tmp_path: Path, phase: str
) -> None:
    url, _ = loaded
    big = _big_daily_file(generated, tmp_path, 2031)
    conn = await asyncpg.connect(url)
    try:
        before = tuple(await conn.fetchrow(STATE) or ())
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM load_history")
        proc = await _start(url, "load", "etf-daily", str(big))
        pid = await _active(conn, KILL_DURING[phase], proc)
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        assert pid is not None, f"the load finished before it could be killed while {phase}"

        # the attempt was recorded before its work began, with the session that ran it
        [attempt] = await conn.fetch(ATTEMPTS, last)
        assert (attempt["status"], attempt["backend_pid"], attempt["finished_at"]) == ("RUNNING", pid, None)
        # the server ends the orphaned session and rolls its transaction back: nothing was written
        assert await _gone(conn, pid, 10) is not None
        assert tuple(await conn.fetchrow(STATE) or ()) == before

        # when a later load runs, it finds the attempt abandoned and says when and by whom
        day = {"staging": "2032-01-05", "writing": "2032-01-06"}[phase]
        run = _cli(url, "load", "fx", str(_fx_file(tmp_path, day)), timeout=60)
        assert run.returncode == 0, run.stderr
        killed, later = await conn.fetch(ATTEMPTS, last)
        assert killed["status"] == "ABANDONED" and killed["finished_at"] is not None
        assert f"Found by load #{later['id']}" in killed["error"] and str(pid) in killed["error"]
        assert later["status"] == "SUCCEEDED"
    finally:
        await conn.close()


async def test_a_load_killed_while_it_waits_for_the_lock_stops_at_once(
    loaded: tuple[str, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """Without client_connection_check_interval the orphan would wait on, and take the lock when it
    came free: a killed load would block its dataset's next load for as long as the lock was held."""
    url, _ = loaded
    holder = await asyncpg.connect(url)
    conn = await asyncpg.connect(url)
    try:
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM load_history")
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext('connectgraph.load:fx'))", loads.DATASET_LOCK
        )
        holder_pid = await holder.fetchval("SELECT pg_backend_pid()")
        proc = await _start(url, "load", "fx", str(_fx_file(tmp_path, "2033-01-05")))
        assert proc.stderr is not None
        said = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        # the waiting load says what it waits for: whose lock, since when
        assert said.startswith("fx: waiting for the dataset's load lock, held since "), said
        assert f"by server process {holder_pid} (not a recorded load)" in said
        [attempt] = await conn.fetch(ATTEMPTS, last)
        assert attempt["status"] == "RUNNING"
        waiting = "SELECT wait_event FROM pg_stat_activity WHERE pid = $1"
        for _ in range(200):  # its statement is waiting on the lock, not yet about to
            if await conn.fetchval(waiting, attempt["backend_pid"]) == "advisory":
                break
            await asyncio.sleep(0.01)

        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
        stopped = await _gone(conn, attempt["backend_pid"], 10)
        await transaction.rollback()

        assert stopped is not None and stopped < 5, f"the orphaned load waited on for {stopped}s"
    finally:
        await holder.close()
        await conn.close()


async def test_a_load_that_waits_names_the_load_it_waits_for(
    loaded: tuple[str, subprocess.CompletedProcess[str]], generated: Path, tmp_path: Path
) -> None:
    url, _ = loaded
    big = _big_daily_file(generated, tmp_path, 2043)
    small = tmp_path / "etf-daily-small.csv"
    lines = (generated / "etf-daily.csv").read_text().splitlines()
    small.write_text(lines[0] + "\n" + "2060" + lines[1][4:] + "\n")
    conn = await asyncpg.connect(url)
    try:
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM load_history")
        first = await _start(url, "load", "etf-daily", str(big))
        assert await _active(conn, KILL_DURING["staging"], first) is not None
        second = await _start(url, "load", "etf-daily", str(small))
        _, said = await asyncio.wait_for(second.communicate(), 120)
        await asyncio.wait_for(first.wait(), 120)
        big_load, small_load = await conn.fetch(ATTEMPTS, last)
    finally:
        await conn.close()

    assert first.returncode == 0 and second.returncode == 0, said
    assert (big_load["status"], small_load["status"]) == ("SUCCEEDED", "SUCCEEDED")
    waiting = said.decode().splitlines()[0]
    assert waiting.startswith("etf-daily: waiting for the dataset's load lock, held since ")
    assert f"by load #{big_load['id']} (etf-daily-big.csv, started " in waiting
    assert f"server process {big_load['backend_pid']})" in waiting
    assert "etf-daily: got the load lock after " in said.decode()
