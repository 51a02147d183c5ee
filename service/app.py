"""create_app(settings) -> Starlette: the lifespan owns the pools and the LISTEN connection; the routes are
/graphql (HTTP and WebSocket), /healthz, /readyz and /metrics; shutdown drains before it closes the pools.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from types import FrameType
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette_compress import CompressMiddleware

from service.auth.access import access_from_settings, cors_middleware
from service.auth.keycache import KEYS_CHANNEL
from service.data_version import VERSION_CHANNEL, DataVersion
from service.db.client import Database, PoolDatabase
from service.db.listen import DataListener
from service.db.pool import Planning, create_pool_or_wait
from service.events import DataEvents, DataLanded
from service.health import Health, expected_heads
from service.observability import metrics
from service.observability.exposure import MetricsAccess
from service.observability.logging import configure_logging, get_logger
from service.observability.middleware import Lifecycle, OperationsMiddleware, remember_outcome
from service.observability.tracing import Tracing, TracingDatabase, setup_tracing
from service.repositories import operations
from service.settings import Settings
from service.shared_answers import RedisAnswers, redis_answers

log = get_logger("connectgraph")

POOL_CLOSE_TIMEOUT_S = 10.0
METRICS_DB_TIMEOUT_S = 1.0
JSON = "application/json"
METRICS_REFUSED = orjson.dumps(
    {"errors": [{"message": "Metrics are not served to this client", "extensions": {"code": "FORBIDDEN"}}]}
)
# The answer cache's results (schema/answers.py: hit, miss, store, skip), on the metrics registry.
ANSWER_CACHE = Counter(
    f"{metrics.PREFIX}_answer_cache_total",
    "Answer cache results: hit and miss per query looked up; store and skip per answer computed on a miss.",
    ["result"],
    registry=metrics.REGISTRY,
)


def _version() -> str:
    try:
        return version("connectgraph")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class Runtime:
    """What the lifespan opens: the databases (by role), the listener, the lifecycle flag."""

    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    events: DataEvents = field(default_factory=DataEvents)
    databases: dict[str, Database] = field(default_factory=dict)
    listener: DataListener | None = None

    @property
    def reads(self) -> Database:
        """The Database GraphQL queries use: the replica when there is one."""
        return self.databases.get("read") or self.databases["primary"]


def create_app(
    settings: Settings, *, database: Database | None = None, span_exporter: Any = None
) -> Starlette:
    """The ASGI app. ``database`` (tests) replaces the pools the lifespan would otherwise open, and
    ``span_exporter`` (tests) turns tracing on with that exporter instead of OTLP."""
    # The composition root is the one place where the service meets the GraphQL surface.
    from schema.answers import RESULTS, AnswerCache
    from schema.door import DocumentLimits
    from schema.subscriptions import SubscriptionApp
    from schema.transport import GraphQLEndpoint, Shortcut

    configure_logging(settings.log_level, settings.log_format)
    tracing = setup_tracing(
        settings.otel_exporter_otlp_endpoint,
        settings.otel_service_name,
        exporter=span_exporter,
        environment=settings.environment.value,
    )
    runtime = Runtime()
    if database is not None:
        runtime.databases["primary"] = _traced(database, tracing, "primary")

    def data_landed(event: DataLanded) -> None:
        metrics.record_data_landed(event.dataset, event.data_version)
        runtime.events.publish(event)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics.DRAINING.set(0)
        if database is not None:
            try:
                yield
            finally:
                runtime.events.close()
            return
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set (`connectgraph serve` starts one for you)")
        restore_signals = _drain_on_signal(runtime.lifecycle, settings.shutdown_drain_s)
        pools = await _open_pools(settings, runtime, tracing)
        keys = endpoint.access.keys

        def connected() -> None:  # whatever was announced while disconnected is unknown
            keys.clear()
            versions.forget()

        runtime.listener = DataListener(
            settings.database_url,
            data_landed,
            connect_timeout_s=settings.db_connect_timeout_s,
            also={KEYS_CHANNEL: keys.forget, VERSION_CHANNEL: versions.heard},
            on_connected=connected,
        )
        keys.live = lambda: runtime.listener is not None and runtime.listener.connected
        if not settings.database_read_url:  # a replica may lag the announcements: read it there
            versions.live = keys.live
        runtime.listener.start()
        await endpoint.startup(runtime.databases["primary"])
        metrics.worker_started()
        # Several workers: each copies its pools and memory into the shared gauges (any may answer /metrics).
        refresher = asyncio.create_task(metrics.refresh_every()) if metrics.MULTIPROCESS_DIR else None
        log.info("started", version=_version(), pools=sorted(pools), read_replica="read" in pools)
        try:
            yield
        finally:
            runtime.lifecycle.draining = True
            metrics.DRAINING.set(1)
            if refresher is not None:
                refresher.cancel()
            restore_signals()
            runtime.events.close()
            await endpoint.shutdown(runtime.databases["primary"])
            if shared is not None:
                await shared.close()
            await runtime.listener.stop()
            for name, pool in pools.items():
                metrics.POOLS.forget(name)
                try:
                    await asyncio.wait_for(pool.close(), timeout=POOL_CLOSE_TIMEOUT_S)
                except TimeoutError:
                    pool.terminate()
            if tracing is not None:
                tracing.shutdown()
            metrics.worker_stopped()
            log.info("stopped", pools_closed=sorted(pools))

    def read_database() -> Database:
        return runtime.reads

    versions = DataVersion()  # live once the LISTEN connection is up (lifespan)
    for result in RESULTS:  # every series from 0; counted through the tally (metrics.TALLY)
        ANSWER_CACHE.labels(result)
    shared = _shared_answers(settings, _schema_digest())
    answers = AnswerCache(
        entries=settings.answer_cache_entries,
        max_bytes=settings.answer_cache_max_bytes,
        total_bytes=settings.answer_cache_total_bytes,
        ttl_s=settings.answer_cache_seconds,
        record=metrics.counting(ANSWER_CACHE),
        shared=shared,
    )
    endpoint = GraphQLEndpoint(
        read_database,
        mask_errors=settings.is_production,
        graphiql=settings.graphiql,
        max_page_size=settings.max_page_size,
        max_series_page_size=settings.max_series_page_size,
        default_page_size=settings.default_page_size,
        compiled=settings.compiled_execution,
        observers=[metrics.observe_outcome, remember_outcome],
        access=access_from_settings(settings),
        primary_database=lambda: runtime.databases["primary"],
        document_limits=DocumentLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_tokens=settings.max_query_tokens,
            max_bytes=settings.max_query_bytes,
            cache_bytes=settings.document_cache_bytes,
        ),
        max_body_bytes=settings.max_body_bytes,
        max_batch_size=settings.max_batch_size,
        versions=versions,
        answers=answers,
    )
    health = Health(
        lifecycle=runtime.lifecycle,
        databases=lambda: dict(runtime.databases),
        heads=expected_heads(),
        timeout_s=settings.readiness_timeout_s,
        listener=lambda: None if runtime.listener is None else runtime.listener.connected,
    )

    async def healthz(request: Request) -> Response:
        body = {"status": "ok", "version": _version(), "draining": runtime.lifecycle.draining}
        return Response(orjson.dumps(body), media_type=JSON)

    async def readyz(request: Request) -> Response:
        readiness = await health.readiness()
        return Response(
            orjson.dumps(readiness.body()), status_code=200 if readiness.ready else 503, media_type=JSON
        )

    metrics_access = MetricsAccess.build(
        production=settings.is_production,
        networks=settings.metrics_allowed_networks,
        token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
    )

    async def metrics_endpoint(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not metrics_access.allows(client, request.headers.get("authorization")):
            return Response(METRICS_REFUSED, status_code=403, media_type=JSON)
        await metrics.observe_limiter(endpoint.access.limiter)
        primary = runtime.databases.get("primary")
        if primary is not None:
            await _refresh_load_stats(primary)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
        WebSocketRoute(
            "/graphql",
            SubscriptionApp(
                endpoint.schema,
                runtime.events,
                access=endpoint.access,
                database=lambda: runtime.databases["primary"],
            ),
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if settings.metrics_enabled:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    from service.web import web_routes  # /static (GraphiQL's and the dashboard's bundles), /dashboard

    routes.extend(web_routes())
    app = _App(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(OperationsMiddleware, lifecycle=runtime.lifecycle, tracing=tracing),
            # /graphql past routing, CORS and compression when the request needs neither (same answers).
            Middleware(Shortcut, endpoint=endpoint, cors=bool(settings.cors_origins)),
            *cors_middleware(settings.cors_origins),
            # gzip, brotli or zstd by Accept-Encoding, for bodies over 1 KiB.
            Middleware(CompressMiddleware, minimum_size=1024),
        ],
    )
    app.state.runtime = runtime
    return app


class _App(Starlette):
    """Starlette without its outermost ``ServerErrorMiddleware``: ``OperationsMiddleware``, next inside it,
    answers every exception of an HTTP request itself (the JSON 500 naming the request id) and re-raises
    only once the response has begun, where Starlette's layer re-raised it too; websockets and the lifespan
    it passed on untouched. So it never answered anything, and cost a coroutine per request and per
    message sent."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if isinstance(stack, ServerErrorMiddleware) and stack.handler is None and not stack.debug:
            return stack.app
        return stack


def _shared_answers(settings: Settings, namespace: str) -> RedisAnswers | None:
    """With REDIS_URL and the answer cache on, answers shared by every worker and instance of the same
    schema (``namespace``: during a rolling deploy, two schemas never share answers)."""
    if not settings.redis_url or settings.answer_cache_entries == 0:
        return None
    # A computation holds its lock for at most the statement timeout (plus a margin): past it, those
    # waiting compute their own answer.
    lock_s = settings.db_statement_timeout_ms / 1000 + 2.0
    return redis_answers(
        settings.redis_url,
        ttl_s=settings.answer_cache_seconds,
        lock_s=lock_s,
        prefix=f"connectgraph:answer:{namespace}:",
    )


def _schema_digest() -> str:
    from schema.schema import schema

    return hashlib.sha256(schema.as_str().encode()).hexdigest()[:12]


def _traced(db: Database, tracing: Tracing | None, pool: str) -> Database:
    return db if tracing is None else TracingDatabase(db, tracing.tracer, pool=pool)


async def _open_pools(settings: Settings, runtime: Runtime, tracing: Tracing | None) -> dict[str, Any]:
    """The primary pool, and the read pool when DATABASE_READ_URL is set; each watched by /metrics."""
    urls = {"primary": settings.database_url}
    if settings.database_read_url:
        urls["read"] = settings.database_read_url
    pools: dict[str, Any] = {}
    for name, url in urls.items():
        assert url is not None
        pool = await create_pool_or_wait(
            url,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            connect_timeout_s=settings.db_connect_timeout_s,
            application_name=f"connectgraph-{name}",
            planning=Planning(settings.db_plan_cache_mode, settings.db_random_page_cost),
        )
        pools[name] = pool
        runtime.databases[name] = _traced(
            PoolDatabase(
                pool,
                name=name,
                acquire_timeout_s=settings.db_acquire_timeout_s,
                statement_timeout_ms=settings.db_statement_timeout_ms,
            ),
            tracing,
            name,
        )
        metrics.POOLS.watch(name, _usage(pool))
    return pools


def _usage(pool: Any) -> Callable[[], metrics.PoolUsage]:
    return lambda: metrics.PoolUsage(
        size=pool.get_size(), idle=pool.get_idle_size(), max_size=pool.get_max_size()
    )


async def _refresh_load_stats(db: Database) -> None:
    """Loads and the data version from the database, for /metrics; the last values stay when it is down."""

    async def read() -> metrics.LoadStats:
        rows = await operations.load_counts(db)
        return metrics.LoadStats(
            loads={(r.dataset, r.status): r.loads for r in rows},
            last_success={r.dataset: r.last_success for r in rows if r.last_success is not None},
            data_version=await operations.data_version(db),
        )

    try:
        metrics.set_load_stats(await asyncio.wait_for(read(), timeout=METRICS_DB_TIMEOUT_S))
    except Exception as exc:  # /metrics answers even when the database does not
        log.debug("load_stats_unavailable", error=f"{type(exc).__name__}: {exc}")


def _drain_on_signal(lifecycle: Lifecycle, drain_s: float) -> Callable[[], None]:
    """Wrap the server's SIGTERM/SIGINT handlers: the first signal marks the process draining (503s,
    /readyz red) and, after ``drain_s``, hands over to the server's own shutdown (which stops accepting,
    lets in-flight requests finish, then runs the lifespan shutdown). Returns a function that restores
    the handlers. Signals can only be handled in the main thread; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    originals: dict[int, Any] = {}

    def wrap(previous: Callable[[int, FrameType | None], Any]) -> Callable[[int, FrameType | None], None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            first = not lifecycle.draining
            lifecycle.draining = True
            metrics.DRAINING.set(1)
            if first and drain_s > 0:
                log.info("shutdown_draining", signal=signal.Signals(signum).name, drain_s=drain_s)
                # call_soon_threadsafe wakes the loop; call_later then waits out the drain period.
                loop.call_soon_threadsafe(loop.call_later, drain_s, previous, signum, None)
            else:
                log.info("shutdown_begun", signal=signal.Signals(signum).name)
                previous(signum, frame)

        return handler

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if callable(previous):
            originals[sig] = previous
            signal.signal(sig, wrap(previous))

    def restore() -> None:
        for sig, previous in originals.items():
            signal.signal(sig, previous)

    return restore
