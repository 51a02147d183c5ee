"""bench/cpu.py: a round's CPU per request, by part, read from /proc."""

from __future__ import annotations

import subprocess
import sys

import asyncpg
import pytest

from bench import cpu

pytestmark = pytest.mark.skipif(not cpu.available(), reason="needs Linux's /proc")

SPIN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_every_process_of_the_servers_group_is_the_servers_time() -> None:
    # the leader only waits (as uvicorn's supervisor does); a worker it started spins
    group = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {SPIN!r}])\ntime.sleep(5)\n",
        ],
        start_new_session=True,
    )
    try:
        start = now = cpu.sample(group.pid)
        while sum(now.server.values()) - sum(start.server.values()) < 0.3 and now.at < start.at + 10:
            now = cpu.sample(group.pid)
        assert sum(now.server.values()) - sum(start.server.values()) >= 0.3
    finally:
        group.kill()
        group.wait()


def test_a_process_outside_the_group_is_the_loads_not_the_servers() -> None:
    group = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"], start_new_session=True)
    try:
        start = cpu.sample(group.pid)
        subprocess.run([sys.executable, "-c", SPIN], check=True)  # a waited child, as wrk is
        end = cpu.sample(group.pid)
    finally:
        group.kill()
        group.wait()
    assert sum(end.server.values()) - sum(start.server.values()) < 0.1
    assert end.load - start.load >= 0.3
    assert end.busy - start.busy >= 0.3


def test_a_share_is_per_request_and_the_rest_is_what_no_part_took() -> None:
    before = cpu.Sample(server={"7": 1.0}, postgres={"8": 2.0}, load=0.5, busy=10.0, at=100.0)
    after = cpu.Sample(server={"7": 1.5}, postgres={"8": 3.0}, load=0.6, busy=11.8, at=101.0)
    share = cpu.share(before, after, 1000)
    assert share is not None
    assert (round(share.server_us), round(share.postgres_us), round(share.load_us)) == (500, 1000, 100)
    assert round(share.rest_us) == 200  # 1.8 s busy, 1.6 s taken by the parts
    assert round(share.total_us) == 1800
    assert cpu.share(before, after, 0) is None


def test_a_process_that_ended_during_the_round_is_not_taken_off() -> None:
    # another client's idle connection, 4 s of CPU in its life, closed during the round; a new one
    # started and used 0.2 s; one alive throughout used 0.5 s
    before = {"100": 4.0, "200": 3.0}
    after = {"200": 3.5, "300": 0.2}
    assert round(cpu._gained(before, after), 6) == 0.7


async def test_a_statements_work_is_postgresqls_time(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        start = cpu.sample(None)
        await conn.fetchval("SELECT sum(x) FROM generate_series(1, 3000000) AS x")
        end = cpu.sample(None)  # the backend still open: its time is read from its process
    finally:
        await conn.close()
    assert cpu._gained(start.postgres, end.postgres) >= 0.1
    assert end.server == start.server == {}
