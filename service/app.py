"""create_app(settings) -> Starlette: the lifespan owns the pool; /graphql serves the API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from service.db.client import Database, PoolDatabase
from service.db.pool import create_pool
from service.settings import Settings

log = logging.getLogger("connectgraph")


def create_app(settings: Settings, *, database: Database | None = None) -> Starlette:
    """The ASGI app. ``database`` (tests) replaces the pool the lifespan would otherwise open."""
    # The composition root is the one place where the service meets the GraphQL surface.
    from schema.endpoint import GraphQLEndpoint

    state: dict[str, Database] = {}
    if database is not None:
        state["db"] = database

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if database is not None:
            yield
            return
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set (`connectgraph serve` starts one for you)")
        pool = await create_pool(
            settings.database_url,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        state["db"] = PoolDatabase(pool)
        try:
            yield
        finally:
            await pool.close()

    def request_database(request: Request) -> Database:
        return state["db"]

    endpoint = GraphQLEndpoint(
        request_database,
        mask_errors=settings.is_production,
        graphiql=settings.graphiql,
        max_page_size=settings.max_page_size,
        default_page_size=settings.default_page_size,
        compiled=settings.compiled_execution,
    )
    routes = [Route("/graphql", endpoint.handle, methods=["GET", "POST"])]
    return Starlette(routes=routes, lifespan=lifespan)
