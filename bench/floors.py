"""The two floors `bench/run` sets beside our figures: what the SQL costs alone, and what HTTP costs alone.

SQL floor: ``capture()`` asks our app a question (in this process, over ``httpx``'s ASGI transport, with the
production settings of the benchmark server and the answer cache off) through a ``Database`` that records
every statement and its parameters on the way to a real pool. Everything the service sends goes through
that interface (``service.db.client.Database``), so the capture follows whatever plan or engine answers.
The question is asked until two answers in a row send the same statements (the first runs the reference
executor, later ones the compiled plan), and the last request's statements are kept: the data version
read included, since a request of ours sends it too. ``replay()`` then runs them in order per request,
``concurrency`` requests in flight, over an asyncpg pool of ``pool_size`` connections made as the service
makes its own (``create_pool``: ``jit = off``, the same codecs), one pool acquisition per statement as
``PoolDatabase`` does.

HTTP floor: ``bench.floors:http_floor`` is a bare Starlette route answering every request with fixed
1.2 kB of JSON bytes, run by uvicorn under the same flags as our server: no GraphQL, no database, no
middleware.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

FLOOR_BODY = b'{"data":{"floor":"' + b"x" * 1180 + b'"}}'  # 1,200 bytes, as a small answer of ours
CAPTURE_ENV: dict[str, Any] = {
    "environment": "production",
    "api_key_secret": "bench-only-key-secret-for-a-local-benchmark",
    "anonymous_rate_per_minute": 1_000_000_000,
    "answer_cache_entries": 0,
    "graphiql": False,
    "log_level": "WARNING",  # no request lines from the capture in the benchmark's output
}


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    args: tuple[Any, ...]


class _Recording:
    """A ``Database`` that keeps every statement (text and parameters) and hands it on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.statements: list[Statement] = []

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.statements.append(Statement(sql, args))
        return await self.inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.statements.append(Statement(sql, args))
        return await self.inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append(Statement(sql, args))
        return await self.inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append(Statement(sql, args))
        result: str = await self.inner.execute(sql, *args)
        return result

    def transaction(self) -> Any:
        return self.inner.transaction()


async def capture(url: str, bodies: dict[str, bytes], *, tries: int = 5) -> dict[str, list[Statement]]:
    """The statements one request of each question sends (by name), once the service answers it steadily."""
    import httpx

    from service.app import create_app
    from service.db.client import PoolDatabase
    from service.db.pool import create_pool
    from service.settings import Settings

    pool = await create_pool(url, min_size=1, max_size=4, statement_timeout_ms=120_000)
    database = PoolDatabase(pool, name="primary", acquire_timeout_s=30, statement_timeout_ms=120_000)
    recording = _Recording(database)
    app = create_app(Settings(database_url=None, **CAPTURE_ENV), database=recording)
    captured: dict[str, list[Statement]] = {}
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            for name, body in bodies.items():
                previous: list[Statement] | None = None
                for _ in range(tries):
                    recording.statements = []
                    answer = await client.post(
                        "/graphql", content=body, headers={"content-type": "application/json"}
                    )
                    if answer.status_code != 200 or answer.json().get("errors"):
                        raise RuntimeError(f"{name}: HTTP {answer.status_code} {answer.text[:300]}")
                    if previous is not None and [s.sql for s in previous] == [
                        s.sql for s in recording.statements
                    ]:
                        break
                    previous = recording.statements
                captured[name] = recording.statements
    finally:
        await pool.close()
    return captured


@dataclass(frozen=True, slots=True)
class Replay:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def replay(
    url: str,
    statements: list[Statement],
    *,
    concurrency: int = 16,
    pool_size: int = 10,
    seconds: float = 10.0,
    warmup: float = 2.0,
) -> Replay:
    """Requests/s and latency of ``statements`` run in order per request, ``concurrency`` at once."""
    from service.db.pool import create_pool

    pool = await create_pool(url, min_size=pool_size, max_size=pool_size, statement_timeout_ms=120_000)
    latencies: list[float] = []
    elapsed = 0.0
    try:

        async def request() -> None:
            for s in statements:
                async with pool.acquire() as conn:
                    await conn.fetch(s.sql, *s.args)

        async def worker(until: float, keep: bool) -> None:
            while (started := time.perf_counter()) < until:
                await request()
                if keep:
                    latencies.append(time.perf_counter() - started)

        for duration, keep in ((warmup, False), (seconds, True)):
            began = time.perf_counter()
            await asyncio.gather(*(worker(began + duration, keep) for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
    finally:
        await pool.close()
    latencies.sort()
    if not latencies:
        return Replay(0, elapsed, 0.0, 0.0)
    return Replay(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    )


def _http_floor_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def answer(request: Request) -> Response:
        await request.body()  # read as any server must
        return Response(FLOOR_BODY, media_type="application/json")

    return Starlette(routes=[Route("/graphql", answer, methods=["GET", "POST"])])


# `uvicorn bench.floors:http_floor` (bench/run starts it with our server's flags).
http_floor = _http_floor_app()
