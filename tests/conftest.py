"""Test fixtures: a real PostgreSQL at Alembic head with demo data; each test in a rolled-back transaction.

The server is DATABASE_URL when it answers, else an embedded PostgreSQL in ``.pgdata-test``. The test
database ``connectgraph_test_<pid>`` is created for the session and dropped after it, so that
several runs can share one server; ``scratch_name()`` names other throwaway databases the same way.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.db.client import ConnectionDatabase, CountingDatabase
from service.db.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
TEST_DB = f"connectgraph_test_{os.getpid()}"


def scratch_name(purpose: str) -> str:
    """A database name of this test run alone (runs in parallel must not drop each other's)."""
    return f"connectgraph_{purpose}_{os.getpid()}"


def _with_database(url: str, database: str) -> str:
    scheme, _, rest = url.partition("://")
    auth_host, _, tail = rest.partition("/")
    _, q, query = tail.partition("?")
    return f"{scheme}://{auth_host}/{database}" + (f"?{query}" if q else "")


def admin(server_url: str, *statements: str) -> None:
    """Statements on the server's ``postgres`` database (CREATE and DROP DATABASE), from synchronous code."""

    async def run() -> None:
        conn = await asyncpg.connect(_with_database(server_url, "postgres"))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url and asyncio.run(_answers(url)):
        yield url
        return
    embedded = EmbeddedPostgres(ROOT / ".pgdata-test")
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def migrate(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh test database at Alembic head with the demo data loaded (committed once)."""

    admin(server_url, f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)', f'CREATE DATABASE "{TEST_DB}"')
    url = _with_database(server_url, TEST_DB)
    migrate(url, "upgrade", "head")

    async def load() -> None:
        from service.demo.load import load_demo

        conn = await asyncpg.connect(url)
        try:
            await load_demo(conn)
        finally:
            await conn.close()

    asyncio.run(load())
    yield url

    admin(server_url, f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """One connection whose outer transaction is rolled back: the code's own transactions are savepoints."""
    connection = await asyncpg.connect(database_url)
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


@pytest.fixture
async def db(conn: asyncpg.Connection[Any]) -> CountingDatabase:
    return CountingDatabase(ConnectionDatabase(conn))


def _client(db: CountingDatabase, *, compiled: bool) -> Any:
    import httpx

    from service.app import create_app
    from service.settings import Settings

    # No answer cache: these tests count each request's statements and change data without a load
    # (tests/schema/test_answer_cache.py covers the cache).
    settings = Settings(database_url=None, compiled_execution=compiled, answer_cache_entries=0)
    app = create_app(settings, database=db)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _runner(http: Any, db: CountingDatabase) -> Any:
    async def run(query: str, variables: dict[str, Any] | None = None, status: int = 200) -> Any:
        db.statements.clear()
        response = await http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == status, response.text
        return response.json()

    return run


@pytest.fixture
async def client(db: CountingDatabase) -> AsyncIterator[Any]:
    """An HTTP client for the app (compiled path on), every statement on the test's connection."""
    async with _client(db, compiled=True) as http:
        yield http


@pytest.fixture
async def reference_client(db: CountingDatabase) -> AsyncIterator[Any]:
    """The same app with the compiled path off: strawberry's executor answers everything."""
    async with _client(db, compiled=False) as http:
        yield http


@pytest.fixture
def gql(client: Any, db: CountingDatabase) -> Any:
    """POST a document with variables; returns the JSON body (asserting the status) and resets the count."""
    return _runner(client, db)


@pytest.fixture
def reference_gql(reference_client: Any, db: CountingDatabase) -> Any:
    return _runner(reference_client, db)
