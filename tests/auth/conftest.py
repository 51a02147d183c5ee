"""Apps with chosen access settings, on the test's rolled-back connection, and keys made for a test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.auth import service
from service.db.client import CountingDatabase
from service.settings import Settings

SECRET = "test-secret-for-key-hashes"


def endpoint_of(app: Any) -> Any:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql" and hasattr(route.endpoint, "__self__"):
            return route.endpoint.__self__
    raise LookupError("no /graphql endpoint")


@pytest.fixture
def make_client(db: CountingDatabase) -> Callable[..., Any]:
    """``async with make_client(anonymous_scopes=[], ...) as (http, app)``: an app with those settings."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
        # No answer cache unless asked for: the tests count statements (test_answer_cache.py covers it).
        chosen: dict[str, Any] = {"answer_cache_entries": 0, **overrides}
        settings = Settings(database_url=None, api_key_secret=SECRET, **chosen)
        app = create_app(settings, database=db)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, app

    return make


@pytest.fixture
def make_key(db: CountingDatabase) -> Callable[..., Any]:
    async def make(name: str, scopes: list[str], rate: int = 600, **options: Any) -> service.IssuedKey:
        return await service.create_key(
            db, SECRET, name=name, scope_list=scopes, rate_per_minute=rate, **options
        )

    return make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
