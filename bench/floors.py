"""The two floors `bench/run` sets beside our figures: what the SQL costs alone, and what HTTP costs alone.

SQL floor: ``capture()`` asks our app a question (in this process, over ``httpx``'s ASGI transport, with the
production settings of the benchmark server and the answer cache off) on a pool of one connection, and
reads what that connection executed from PostgreSQL's log: the session sets ``log_min_duration_statement
= 0`` for itself, and each ``execute`` line of its backend (by pid) with its ``parameters`` line is one
statement; the parameters, logged as text, are turned into the Python values of the types PostgreSQL
infers for them (``prepare().get_parameters()``, then a cast on the server), so the replay binds what the
service bound. So the floor follows whatever plan or engine answers, whatever path it sends SQL by.
Where the log cannot be read (not Debian's layout, not root), the statements are recorded at the
``Database`` interface instead, which every statement of the service goes through; on the nine
questions both give the same texts and parameters. The question is asked until two answers in a row
send the same statements (the first runs the reference executor, later ones the compiled plan), and
all the last one sent is kept. ``replay()`` then runs them in order per request, ``concurrency``
requests in flight, over an asyncpg pool of ``pool_size`` connections made as the service makes its own
(``create_pool``: ``jit = off``, the same codecs), one pool acquisition per statement as
``PoolDatabase`` does.

HTTP floor: ``bench.floors:http_floor`` is a bare Starlette route answering every request with fixed
1.2 kB of JSON bytes, run by uvicorn under the same flags as our server: no GraphQL, no database, no
middleware.

Route floor: ``bench.floors:route_floor`` is the two together, the least any server on this stack can
spend on a question: a bare Starlette route, under our server's uvicorn flags, that finds the request's
body among the captured questions (``save_routes()``, the file named by ``ROUTE_FLOOR_STATEMENTS``), runs
its statements as ``replay()`` does (a pool made by ``create_pool``, one acquisition per statement) and
answers their JSON texts as ``{"data":{"r0":...}}``: no GraphQL, no access check, no log line, no metrics.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLOOR_BODY = b'{"data":{"floor":"' + b"x" * 1180 + b'"}}'  # 1,200 bytes, as a small answer of ours
FLOOR_POOL = 10  # the replays' pool: our DB_POOL_MAX_SIZE default
ROUTE_FLOOR_STATEMENTS = "ROUTE_FLOOR_STATEMENTS"  # the route floor's file of bodies and statements
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


async def capture(
    url: str, bodies: dict[str, bytes], *, log: Path | None = None, tries: int = 5
) -> tuple[dict[str, list[Statement]], str]:
    """The statements one request of each question sends (by name), once the service answers it steadily,
    and where they were read: PostgreSQL's log (``log``, when it can be read) or the ``Database`` interface.
    """
    import httpx

    from service.app import create_app
    from service.db.client import PoolDatabase
    from service.db.pool import create_pool
    from service.settings import Settings

    # One connection, so that one backend (one pid in the log) runs everything the app sends.
    pool = await create_pool(
        url, min_size=1, max_size=1, statement_timeout_ms=120_000, application_name="connectgraph-floor"
    )
    types = await create_pool(url, min_size=1, max_size=1, statement_timeout_ms=120_000)
    database = PoolDatabase(pool, name="primary", acquire_timeout_s=30, statement_timeout_ms=120_000)
    recording = _Recording(database)
    app = create_app(Settings(database_url=None, **CAPTURE_ENV), database=recording)
    server_log = None
    if log is not None and os.access(log, os.R_OK):
        await pool.execute("SET log_min_duration_statement = 0")  # this session only (superuser)
        server_log = _ServerLog(log, await pool.fetchval("SELECT pg_backend_pid()"))
    captured: dict[str, list[Statement]] = {}
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            for name, body in bodies.items():
                previous: list[str] | None = None
                for _ in range(tries):
                    recording.statements = []
                    mark = server_log.mark() if server_log else 0
                    answer = await client.post(
                        "/graphql", content=body, headers={"content-type": "application/json"}
                    )
                    if answer.status_code != 200 or answer.json().get("errors"):
                        raise RuntimeError(f"{name}: HTTP {answer.status_code} {answer.text[:300]}")
                    if server_log is None:
                        captured[name] = recording.statements
                    else:
                        await asyncio.sleep(0.2)  # the server writes its log as it goes
                        captured[name] = await _typed(types, server_log.executed_since(mark))
                    texts = [statement.sql for statement in captured[name]]
                    if texts == previous:
                        break
                    previous = texts
    finally:
        await pool.close()
        await types.close()
    return captured, "PostgreSQL's log" if server_log else "the Database interface"


def default_log(server_version_num: int) -> Path:
    """Where Debian's PostgreSQL (pg_ctlcluster) writes the main cluster's log."""
    return Path(f"/var/log/postgresql/postgresql-{server_version_num // 10000}-main.log")


# An entry of the log begins with log_line_prefix's '%m [%p] ': "2026-11-30 08:21:00.123 UTC [1234] ".
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] ", re.M)
_EXECUTE = re.compile(r"LOG:  duration: [\d.]+ ms  execute [^:]*: (.*)", re.S)
_PARAMETERS = re.compile(r"DETAIL:  parameters: (.*)", re.S)


class _ServerLog:
    """The statements one backend executed, read from the server's log (log_min_duration_statement = 0)."""

    def __init__(self, path: Path, pid: int) -> None:
        self.path = path
        self.pid = pid

    def mark(self) -> int:
        return self.path.stat().st_size

    def executed_since(self, mark: int) -> list[tuple[str, list[str | None]]]:
        """(statement text, parameters as the log prints them) of each execute, in order."""
        with self.path.open("rb") as log:
            log.seek(mark)
            text = log.read().decode("utf-8", "replace")
        starts = list(_ENTRY.finditer(text))
        executed: list[tuple[str, list[str | None]]] = []
        after_execute = False  # parameters are logged after parse, bind and execute alike: keep execute's
        for n, start in enumerate(starts):
            if int(start.group(1)) != self.pid:
                continue
            end = starts[n + 1].start() if n + 1 < len(starts) else len(text)
            message = text[start.end() : end].rstrip("\n")
            if (found := _EXECUTE.search(message)) is not None:
                executed.append((found.group(1).replace("\n\t", "\n"), []))
                after_execute = True
            elif (found := _PARAMETERS.search(message)) is not None and after_execute:
                executed[-1] = (executed[-1][0], _parameters(found.group(1)))
                after_execute = False
            else:
                after_execute = False
        return executed


def _parameters(text: str) -> list[str | None]:
    """``$1 = 'a''b', $2 = NULL`` -> ["a'b", None]."""
    values: list[str | None] = []
    position = 0
    while (found := re.compile(r"\$\d+ = ").match(text, position)) is not None:
        position = found.end()
        if text.startswith("NULL", position):
            values.append(None)
            position += 4
        else:
            position += 1  # the opening quote
            value = []
            while True:
                quote = text.index("'", position)
                value.append(text[position:quote])
                if text.startswith("''", quote):
                    value.append("'")
                    position = quote + 2
                else:
                    position = quote + 1
                    break
            values.append("".join(value))
        if text.startswith(", ", position):
            position += 2
    return values


async def _typed(pool: Any, executed: list[tuple[str, list[str | None]]]) -> list[Statement]:
    """Each statement with its parameters as the Python values of the types PostgreSQL infers for them."""
    statements = []
    async with pool.acquire() as conn:
        for sql, texts in executed:
            kinds = (await conn.prepare(sql)).get_parameters()
            args = []
            for kind, text in zip(kinds, texts, strict=True):
                type_name = await conn.fetchval("SELECT format_type($1::oid, NULL)", kind.oid)
                # type_name comes from the server's catalogue, never from a request.
                args.append(await conn.fetchval(f"SELECT $1::text::{type_name}", text))
            statements.append(Statement(sql, tuple(args)))
    return statements


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
    pool_size: int = FLOOR_POOL,
    seconds: float = 10.0,
    warmup: float = 2.0,
    mark: Callable[[], None] | None = None,
) -> Replay:
    """Requests/s and latency of ``statements`` run in order per request, ``concurrency`` at once;
    ``mark`` is called as the timed part begins and as it ends (the pool still open)."""
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
            if keep and mark is not None:
                mark()
            began = time.perf_counter()
            await asyncio.gather(*(worker(began + duration, keep) for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
        if mark is not None:
            mark()
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


def save_routes(path: Path, routes: dict[bytes, list[Statement]]) -> None:
    """Write the route floor's questions: each request body with the statements our server sent for it."""
    with path.open("wb") as file:
        pickle.dump(routes, file)


def _load_routes(path: Path) -> dict[bytes, list[Statement]]:
    with path.open("rb") as file:
        routes: dict[bytes, list[Statement]] = pickle.load(file)  # save_routes' own file
    return routes


def _route_floor_app() -> Any:
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from service.db.pool import create_pool

    routes: dict[bytes, list[Statement]] = {}
    pools: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        routes.update(_load_routes(Path(os.environ[ROUTE_FLOOR_STATEMENTS])))  # before serving
        url, size = os.environ["DATABASE_URL"], FLOOR_POOL
        pools.append(await create_pool(url, min_size=size, max_size=size, statement_timeout_ms=120_000))
        try:
            yield
        finally:
            await pools[0].close()

    async def answer(request: Request) -> Response:
        statements = routes.get(await request.body())
        if statements is None:  # bench/run's readiness probe, or a question that was not captured
            return Response(b'{"data":{"__typename":"Query"}}', media_type="application/json")
        pool = pools[0]
        texts = []
        for s in statements:
            async with pool.acquire() as conn:
                texts.append(await conn.fetchval(s.sql, *s.args))
        fields = b",".join(b'"r%d":%s' % (n, text.encode()) for n, text in enumerate(texts))
        return Response(b'{"data":{' + fields + b"}}", media_type="application/json")

    return Starlette(routes=[Route("/graphql", answer, methods=["POST"])], lifespan=lifespan)


# `uvicorn bench.floors:route_floor` (bench/run starts it with our server's flags, once the statements
# are captured).
route_floor = _route_floor_app()
