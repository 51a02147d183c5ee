"""Every kind of load ends by analysing the tables it wrote (on a fresh database, autovacuum or not)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import ROOT, _with_database, admin, migrate, scratch_name

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"
CLI = [sys.executable, "-m", "service.cli"]

# When each table was last analysed by a command (autoanalyze has a column of its own).
ANALYZED = "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = 'public'"


@pytest.fixture
def fresh(server_url: str) -> Iterator[str]:
    """A database just migrated to head: nothing in it has been analysed."""
    name = scratch_name("analyze_test")
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    try:
        migrate(url, "upgrade", "head")
        yield url
    finally:
        admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _analyzed(url: str, tables: set[str]) -> set[str]:
    """The tables among ``tables`` that have been analysed (statistics are reported asynchronously)."""

    async def read() -> set[str]:
        conn = await asyncpg.connect(url)
        try:
            return {r["relname"] for r in await conn.fetch(ANALYZED) if r["last_analyze"] is not None}
        finally:
            await conn.close()

    deadline = time.monotonic() + 10
    while True:
        found = asyncio.run(read()) & tables
        if found == tables or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


FIGURES = {"etf_daily_stats", "connect_daily_flows", "fx_rates", "index_levels", "trading_calendar"}
REFERENCE = {"indices", "securities", "index_memberships", "asset_managers", "index_licences", "etfs"}
DERIVED = {
    "etf_counters",
    "connect_eligibility",
    "connect_days",
    "etf_day_totals",
    "etf_group_days",
    "etf_aum_totals",
    "etf_month_ends",
    "etf_fund_keys",
    "connect_flow_days",
    "connect_flow_buckets",
}


def test_connectgraph_load_analyses_what_it_wrote(fresh: str) -> None:
    assert _analyzed(fresh, {"asset_managers"} | FIGURES) == set()

    run = _cli(fresh, "load", "managers", str(DATA / "managers.csv"))

    assert run.returncode == 0, run.stderr
    assert _analyzed(fresh, {"asset_managers"}) == {"asset_managers"}
    assert _analyzed(fresh, FIGURES) == set()  # only what the load wrote


def test_demo_load_analyses_every_table_it_filled(fresh: str) -> None:
    run = _cli(fresh, "demo", "load")

    assert run.returncode == 0, run.stderr
    tables = FIGURES | REFERENCE | DERIVED | {"connect_calendar_exceptions"}
    assert _analyzed(fresh, tables) == tables


def test_generate_scale_analyses_every_table_it_filled(fresh: str) -> None:
    run = _cli(fresh, "generate-scale", "--etfs", "3", "--securities", "6", "--years", "1")

    assert run.returncode == 0, run.stderr
    tables = FIGURES | REFERENCE | DERIVED | {"connect_calendar_exceptions"}
    assert _analyzed(fresh, tables) == tables
