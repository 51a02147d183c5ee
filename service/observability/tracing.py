"""OpenTelemetry traces, off unless an OTLP endpoint is configured (``pip install 'connectgraph[otel]'``).

When on, the middleware opens a server span per HTTP request (continuing a caller's ``traceparent``),
``TracingDatabase`` adds a client span per SQL statement (the parameterised text, never the values),
and every log line carries ``trace_id``/``span_id``. The provider is the app's own, not the global
one, so two apps in one process (tests) never share exporters.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the database client logs through this package
    from service.db.client import Database, Record

MAX_STATEMENT_CHARS = 2000


@dataclass
class Tracing:
    tracer: Any
    provider: Any

    def shutdown(self) -> None:
        self.provider.shutdown()  # flushes the batch processor


def setup_tracing(
    endpoint: str | None, service_name: str, *, exporter: Any = None, environment: str = ""
) -> Tracing | None:
    """A tracer exporting to ``endpoint`` (OTLP over HTTP), or to ``exporter`` (tests); None when neither."""
    if endpoint is None and exporter is None:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # the extra is not installed: a configuration error, said plainly
        raise RuntimeError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
            "pip install 'connectgraph[otel]'"
        ) from exc
    attributes = {"service.name": service_name}
    if environment:
        attributes["deployment.environment"] = environment
    provider = TracerProvider(resource=Resource.create(attributes))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert endpoint is not None
        url = endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return Tracing(tracer=provider.get_tracer("connectgraph"), provider=provider)


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the active span, in hex, or None (also when OpenTelemetry is not loaded)."""
    if "opentelemetry.trace" not in sys.modules:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def extract_context(headers: Mapping[str, str]) -> Any:
    from opentelemetry.propagate import extract

    return extract(dict(headers))


class TracingDatabase:
    """A ``Database`` that wraps every statement in a client span."""

    def __init__(self, inner: Database, tracer: Any, *, pool: str = "primary") -> None:
        self.inner = inner
        self.tracer = tracer
        self.pool = pool

    def _span(self, operation: str, sql: str) -> Any:
        from opentelemetry.trace import SpanKind

        return self.tracer.start_as_current_span(
            f"db.{operation}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "postgresql",
                "db.operation": operation,
                "db.statement": sql.strip()[:MAX_STATEMENT_CHARS],
                "connectgraph.db.pool": self.pool,
            },
        )

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        with self._span("fetch", sql):
            return await self.inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        with self._span("fetchrow", sql):
            return await self.inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        with self._span("fetchval", sql):
            return await self.inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        with self._span("execute", sql):
            return await self.inner.execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        with self._span("transaction", "BEGIN"):
            async with self.inner.transaction() as tx:
                yield TracingDatabase(tx, self.tracer, pool=self.pool)
