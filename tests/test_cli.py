"""The `connectgraph` command line, run in-process by typer's CliRunner against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.cli_common import with_database
from tests.analytics.test_month_ends import DISAGREEING
from tests.conftest import scratch_name

SCRATCH_DB = scratch_name("cli_test")
UNREACHABLE = "postgresql://postgres:secret@127.0.0.1:1/x"

runner = CliRunner()


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetchval(url: str, sql: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    """An empty database of its own, dropped afterwards."""
    drop = f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)'
    asyncio.run(_admin(server_url, drop))
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{SCRATCH_DB}"'))
    try:
        yield with_database(server_url, SCRATCH_DB)
    finally:
        asyncio.run(_admin(server_url, drop))


def test_db_url_prints_database_url() -> None:
    # given
    url = "postgresql://someone@db.example:5432/connectgraph"

    # when
    result = runner.invoke(app, ["db-url"], env={"DATABASE_URL": url})

    # then
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == url


def test_migrate_upgrade_then_downgrade(scratch_url: str) -> None:
    # given an empty database
    env = {"DATABASE_URL": scratch_url}

    # when
    upgraded = runner.invoke(app, ["migrate", "upgrade", "head"], env=env)

    # then
    assert upgraded.exit_code == 0, upgraded.output
    assert asyncio.run(_fetchval(scratch_url, "SELECT version_num FROM alembic_version"))
    assert asyncio.run(_fetchval(scratch_url, "SELECT to_regclass('public.etfs')")) is not None

    # when
    downgraded = runner.invoke(app, ["migrate", "downgrade", "base"], env=env)

    # then
    assert downgraded.exit_code == 0, downgraded.output
    assert asyncio.run(_fetchval(scratch_url, "SELECT to_regclass('public.etfs')")) is None


def test_demo_load_only_into_an_empty_database_unless_forced(scratch_url: str) -> None:
    # given a migrated, empty database
    env = {"DATABASE_URL": scratch_url}
    assert runner.invoke(app, ["migrate"], env=env).exit_code == 0
    count_etfs = "SELECT count(*) FROM etfs"

    # when / then: loads once, then leaves the data alone
    first = runner.invoke(app, ["demo", "load"], env=env)
    assert first.exit_code == 0, first.output
    assert "Loaded the demo data" in first.output
    loaded = asyncio.run(_fetchval(scratch_url, count_etfs))
    assert loaded > 0

    second = runner.invoke(app, ["demo", "load"], env=env)
    assert second.exit_code == 0, second.output
    assert "already has data" in second.output

    # when / then: --force empties and reloads to the same data, keeps the API keys, and moves the
    # data version on (caches keyed on it must see new data)
    version = asyncio.run(_fetchval(scratch_url, "SELECT version FROM data_version"))
    keys = runner.invoke(
        app,
        ["keys", "create", "--name", "kept", "--scopes", "read:flows"],
        env={**env, "API_KEY_SECRET": "s"},
    )
    assert keys.exit_code == 0, keys.output
    forced = runner.invoke(app, ["demo", "load", "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert "Loaded the demo data" in forced.output
    assert asyncio.run(_fetchval(scratch_url, count_etfs)) == loaded
    assert asyncio.run(_fetchval(scratch_url, "SELECT count(*) FROM api_keys")) == 1
    assert asyncio.run(_fetchval(scratch_url, "SELECT version FROM data_version")) > version
    assert asyncio.run(_fetchval(scratch_url, DISAGREEING)) == 0  # the month ends rebuilt with the rest


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["serve", "--no-prepare"], ["demo", "load"]],
    ids=["migrate", "serve", "demo-load"],
)
def test_unreachable_database_is_one_clear_line(args: list[str]) -> None:
    # when
    result = runner.invoke(app, args, env={"DATABASE_URL": UNREACHABLE})

    # then
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Error: database not reachable at postgresql://postgres:***@127.0.0.1:1/x" in (result.output)
    assert "Traceback" not in result.output
    assert "secret" not in result.output


def test_production_requires_database_url() -> None:
    # given production and no DATABASE_URL (None removes it from the environment)
    env = {"ENVIRONMENT": "production", "DATABASE_URL": None, "API_KEY_SECRET": "a-production-secret"}

    # when
    result = runner.invoke(app, ["migrate"], env=env)

    # then: no embedded PostgreSQL in production
    assert result.exit_code == 1
    assert "DATABASE_URL is required in production" in result.output


def test_production_requires_an_api_key_secret() -> None:
    # given production without API_KEY_SECRET
    env = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/x",
        "API_KEY_SECRET": None,
    }

    # when
    result = runner.invoke(app, ["migrate"], env=env)

    # then
    assert result.exit_code == 1
    assert "API_KEY_SECRET must be set in production" in result.output
    assert "Traceback" not in result.output


def test_invalid_setting_is_one_clear_line() -> None:
    # when
    result = runner.invoke(app, ["db-url"], env={"PORT": "not-a-port"})

    # then
    assert result.exit_code == 1
    assert "Error: invalid setting PORT" in result.output
    assert "Traceback" not in result.output
