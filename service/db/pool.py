"""The asyncpg connection pool: codecs and session settings are set once per connection in init."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from service.observability.logging import get_logger

COMMAND_TIMEOUT_MARGIN_S = 5.0
log = get_logger("connectgraph.db")


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # jsonb/json come back as Python objects; the compiled path asks for ::text when it wants bytes.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _reset_connection(conn: asyncpg.Connection[Any]) -> None:
    """What a connection needs before it goes back to the pool: a rollback if a transaction was left
    open. asyncpg's default reset (UNLISTEN, advisory unlock, CLOSE ALL, RESET ALL) costs a round trip
    per request; pooled connections never LISTEN, lock or SET anything (the listener and loads use
    connections of their own), so that state cannot be there to reset."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+psycopg://``)."""
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        return scheme.split("+", 1)[0] + "://" + rest
    return url


# Session settings of every connection the service opens. JIT off: every statement here is meant to take
# milliseconds, and PostgreSQL's JIT, switched on by a cost estimate over jit_above_cost, spent 220 ms
# compiling the 20 ms ranking at full scale (docs/analytics-performance.md).
SESSION_SETTINGS = {"jit": "off"}


async def create_pool(
    url: str,
    *,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    connect_timeout_s: float = 5.0,
    application_name: str = "connectgraph",
) -> asyncpg.Pool[Any]:
    """A pool whose every connection has the statement timeout set by the server.

    ``connect_timeout_s`` bounds each (re)connection, and the client-side command timeout (the
    statement timeout plus a margin) bounds a statement whose server went silent (a network
    partition), where PostgreSQL's own timeout can never fire.
    """
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_reset_connection,
        timeout=connect_timeout_s,
        command_timeout=statement_timeout_ms / 1000 + COMMAND_TIMEOUT_MARGIN_S,
        server_settings={
            **SESSION_SETTINGS,
            "statement_timeout": str(statement_timeout_ms),
            "application_name": application_name,
        },
    )
    assert pool is not None
    return pool


async def create_pool_or_wait(
    url: str,
    *,
    min_size: int,
    max_size: int,
    statement_timeout_ms: int,
    connect_timeout_s: float = 5.0,
    application_name: str = "connectgraph",
) -> asyncpg.Pool[Any]:
    """``create_pool``, but a database that is down at start-up does not stop the service.

    The pool is then made empty (min_size 0, nothing opened): requests fail with SERVICE_UNAVAILABLE and
    /readyz stays red until the database answers, and from then on connections open on demand.
    """
    try:
        return await create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            statement_timeout_ms=statement_timeout_ms,
            connect_timeout_s=connect_timeout_s,
            application_name=application_name,
        )
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError) as exc:
        log.warning("database_unavailable_at_startup", error=f"{type(exc).__name__}: {exc}")
    return await create_pool(
        url,
        min_size=0,
        max_size=max_size,
        statement_timeout_ms=statement_timeout_ms,
        connect_timeout_s=connect_timeout_s,
        application_name=application_name,
    )
