"""The asyncpg connection pool: codecs and session settings are set once per connection in init."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # jsonb/json come back as Python objects; the compiled path asks for ::text when it wants bytes.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+psycopg://``)."""
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        return scheme.split("+", 1)[0] + "://" + rest
    return url


async def create_pool(
    url: str, *, min_size: int, max_size: int, statement_timeout_ms: int
) -> asyncpg.Pool[Any]:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={
            "statement_timeout": str(statement_timeout_ms),
            "application_name": "connectgraph",
        },
    )
    assert pool is not None
    return pool
