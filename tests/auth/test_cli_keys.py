"""`connectgraph keys` and `connectgraph operations` against a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from service.auth import keys
from service.cli import app
from tests.conftest import _with_database, migrate, scratch_name

runner = CliRunner()
SECRET = "cli-test-secret"


@pytest.fixture(scope="module")
def keys_db(server_url: str) -> Iterator[str]:
    name = scratch_name("keys_cli")
    admin_url = _with_database(server_url, "postgres")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    migrate(url, "upgrade", "head")
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(url: str, *args: str) -> Any:
    return runner.invoke(app, list(args), env={"DATABASE_URL": url, "API_KEY_SECRET": SECRET})


def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_create_prints_the_key_once_and_stores_its_hash(keys_db: str) -> None:
    result = run(
        keys_db,
        "keys",
        "create",
        "--name",
        "acme",
        "--scopes",
        "read:reference,read:flows",
        "--rate",
        "600/min",
        "--expires",
        "2027-06-30",
    )
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip().splitlines()[-1]
    assert keys.split(plaintext) is not None
    [row] = fetch(
        keys_db,
        "SELECT name, prefix, secret_hash, scopes, rate_per_minute, expires_at FROM api_keys WHERE name = 'acme'",
    )
    assert bytes(row["secret_hash"]) == keys.digest(plaintext, SECRET)
    assert row["scopes"] == ["read:flows", "read:reference"] and row["rate_per_minute"] == 600
    assert row["expires_at"].date().isoformat() == "2027-07-01"  # valid through 2027-06-30

    listed = run(keys_db, "keys", "list")
    assert row["prefix"] in listed.stdout and plaintext not in listed.stdout


def test_rotate_then_revoke(keys_db: str) -> None:
    created = run(keys_db, "keys", "create", "--name", "beta", "--scopes", "read:reference")
    old_prefix = created.stdout.strip().splitlines()[-1][:11]
    rotated = run(keys_db, "keys", "rotate", "beta", "--grace-hours", "2")
    assert rotated.exit_code == 0, rotated.output
    new_prefix = rotated.stdout.strip().splitlines()[-1][:11]
    assert new_prefix != old_prefix
    revoked = run(keys_db, "keys", "revoke", new_prefix)
    assert revoked.exit_code == 0, revoked.output
    rows = {
        r["prefix"]: r
        for r in fetch(keys_db, "SELECT prefix, revoked_at, grace_until FROM api_keys WHERE name = 'beta'")
    }
    assert rows[old_prefix]["grace_until"] is not None and rows[old_prefix]["revoked_at"] is None
    assert rows[new_prefix]["revoked_at"] is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "create", "--name", "x", "--scopes", "write:everything"], "unknown scope"),
        (["keys", "create", "--name", "x", "--scopes", "read:flows", "--rate", "fast"], "must look like"),
        (
            ["keys", "create", "--name", "x", "--scopes", "read:flows", "--expires", "2020-01-01"],
            "in the past",
        ),
        (["keys", "revoke", "nobody"], "no API key"),
    ],
)
def test_bad_input_is_one_clear_line(keys_db: str, args: list[str], message: str) -> None:
    result = run(keys_db, *args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_operations_register_puts_files_on_the_allow_list(keys_db: str, tmp_path: Path) -> None:
    document = tmp_path / "Tracker.graphql"
    document.write_text('query Tracker { etf(code: "XHKG:02800") { code } }')
    result = run(keys_db, "operations", "register", str(document))
    assert result.exit_code == 0, result.output
    sha = result.stdout.split()[0]
    [row] = fetch(keys_db, f"SELECT operation_name, registered FROM persisted_queries WHERE sha256 = '{sha}'")
    assert (row["operation_name"], row["registered"]) == ("Tracker", True)
