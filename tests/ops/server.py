"""The app plus a test-only route that holds a database connection: for tests that run a real uvicorn.

``uvicorn --factory tests.ops.server:build``; GET /_test/sleep?s=2 runs ``pg_sleep`` on the primary pool.
Nothing like it exists in the service: pg_sleep is not part of the API.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.app import create_app
from service.settings import Settings


def build() -> Starlette:
    app = create_app(Settings())

    async def sleep(request: Request) -> JSONResponse:
        seconds = float(request.query_params.get("s", "1"))
        await app.state.runtime.databases["primary"].fetchval("SELECT pg_sleep($1)", seconds)
        return JSONResponse({"slept": seconds})

    app.router.routes.insert(0, Route("/_test/sleep", sleep))
    return app
