"""Helpers for the operations tests: an app with its real lifespan (pools, LISTEN) and an HTTP client on it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from service.app import create_app
from service.settings import Settings

QUERY = "query Indices { indices(first: 1) { totalCount } }"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in the exposition text, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def total(text: str, name: str, **labels: str) -> float:
    """The sum of every series of one metric whose labels include ``labels`` (0 when there is none)."""
    found = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(have.get(k) == v for k, v in labels.items()):
            found += float(line.rsplit(" ", 1)[1])
    return found


def settings(url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": url,
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "db_connect_timeout_s": 1.0,
        "db_acquire_timeout_s": 1.0,
        "readiness_timeout_s": 1.0,
    }
    return Settings(**{**base, **overrides})


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan around an in-process HTTP client."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


@asynccontextmanager
async def serving(url: str, **overrides: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings(url, **overrides))
    async with running(app) as client:
        yield app, client
