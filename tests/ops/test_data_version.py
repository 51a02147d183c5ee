"""The data version in memory: moved by NOTIFY while LISTEN is up, read per request while it is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from tests.auth.conftest import endpoint_of
from tests.conftest import _with_database, admin, migrate, scratch_name
from tests.ops.conftest import serving

PROBE = {"query": "{ __typename }"}


@pytest.fixture(scope="module")
def version_url(server_url: str) -> Iterator[str]:
    """A migrated database of this module's own: the tests commit changes of the data version."""
    name = scratch_name("version")
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    migrate(url, "upgrade", "head")
    yield url
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bump(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE data_version SET version = version + 1")
    finally:
        await conn.close()


async def etag(client: Any) -> str:
    response = await client.get("/graphql", params=PROBE)
    assert response.status_code == 200
    return str(response.headers["etag"])


async def until(condition: Any, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not await condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_while_listen_is_up_no_request_reads_the_version(version_url: str) -> None:
    async with serving(version_url) as (app, client):
        listener = app.state.runtime.listener

        async def connected() -> bool:
            return bool(listener.connected)

        await until(connected)
        versions = endpoint_of(app).executor.versions
        first = await etag(client)
        reads = versions.reads
        assert [await etag(client) for _ in range(5)] == [first] * 5
        assert versions.reads == reads  # from memory
        # a change committed elsewhere is announced, and moves the version here
        await bump(version_url)

        async def moved() -> bool:
            return await etag(client) != first

        await until(moved)
        assert versions.reads == reads


async def test_while_listen_is_down_every_request_reads_it(version_url: str) -> None:
    async with serving(version_url) as (app, client):
        await app.state.runtime.listener.stop()
        assert not app.state.runtime.listener.connected
        versions = endpoint_of(app).executor.versions
        first = await etag(client)
        reads = versions.reads
        await etag(client)
        assert versions.reads == reads + 1
        await bump(version_url)
        assert await etag(client) != first  # at once, without any announcement
