"""The outermost ASGI middleware: request id, access log, HTTP metrics, traces, draining and last-resort 500s.

Every HTTP response carries ``X-Request-ID``. Once shutdown has begun (``Lifecycle.draining``), requests
other than the probes are refused with 503, ``Retry-After: 1`` and ``Connection: close``, so clients and
load balancers move to another instance while the requests already running finish. An exception that
escapes the app becomes a JSON 500 naming the request id (the traceback goes to the log only).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.logging import get_logger, log_line
from service.observability.metrics import TALLY, OutcomeLike, observe_http
from service.observability.request_id import (
    HEADER,
    current_request_id,
    request_id_from,
    reset_request_id,
    set_request_id,
)
from service.observability.tracing import Tracing, extract_context

log = get_logger("connectgraph.http")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
# On every response: no MIME sniffing, and no page of ours inside another site's frame (clickjacking).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)
ROUTES = frozenset({"/graphql", *PROBES})
_ROUTES = {route: route for route in ROUTES}  # a metrics label: the path when it is a route, else "other"
_HEADER_BYTES = HEADER.encode()


class Lifecycle:
    """Where the process is in its life: ``draining`` turns true when shutdown begins."""

    def __init__(self) -> None:
        self.draining = False


class RequestInfo:
    """Filled in while the request runs: the GraphQL endpoint's Outcome, for the access log. (A plain
    class: made with no ``__init__`` to run, and ``outcome`` reads the class's None until it is set.)"""

    outcome: OutcomeLike | None = None


_request_info: ContextVar[RequestInfo | None] = ContextVar("connectgraph_request_info", default=None)


def remember_outcome(outcome: OutcomeLike) -> None:
    """An observer for ``GraphQLEndpoint(observers=...)``: hands the Outcome to the access log line."""
    info = _request_info.get()
    if info is not None:
        info.outcome = outcome


def error_body(message: str, code: str) -> bytes:
    """A GraphQL-shaped error body naming the request id."""
    extensions = {"code": code, "requestId": current_request_id()}
    return orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})


class OperationsMiddleware:
    def __init__(self, app: ASGIApp, *, lifecycle: Lifecycle, tracing: Tracing | None = None) -> None:
        self.app = app
        self.lifecycle = lifecycle
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == _HEADER_BYTES:
                incoming = value.decode("latin-1")
                break
        token = set_request_id(request_id_from(incoming))
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
            elif self.tracing is None:
                await self._http(scope, receive, send, span=None)
            else:
                await self._traced(scope, receive, send, Headers(scope=scope))
        finally:
            reset_request_id(token)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        from opentelemetry.trace import SpanKind

        assert self.tracing is not None
        route = _ROUTES.get(scope["path"], "other")
        with self.tracing.tracer.start_as_current_span(
            f"{scope['method']} {route}",
            context=extract_context(headers),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": scope["method"],
                "http.route": route,
                "url.path": scope["path"],
                "connectgraph.request_id": current_request_id() or "",
            },
        ) as span:
            await self._http(scope, receive, send, span=span)

    async def _http(self, scope: Scope, receive: Receive, send: Send, *, span: Any) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        route = _ROUTES.get(path, "other")
        request_id = current_request_id() or ""
        id_bytes = request_id.encode("latin-1")
        info = RequestInfo()
        info_token = _request_info.set(info)
        # The GraphQL endpoint names the request id in masked errors (request.state.request_id).
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False
        begun = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                # No app sets these headers: appended, not searched for and replaced.
                message["headers"] = [
                    *message.get("headers", ()),
                    (_HEADER_BYTES, id_bytes),
                    *SECURITY_HEADERS,
                ]
            await send(message)

        TALLY.in_flight += 1
        try:
            if self.lifecycle.draining and path not in PROBES:
                await _send_json(
                    send_with_id,
                    503,
                    error_body("The service is shutting down; retry the request.", "SERVICE_UNAVAILABLE"),
                    extra=[(b"retry-after", b"1"), (b"connection", b"close")],
                )
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=method, path=path)
            if started:
                raise
            await _send_json(send_with_id, 500, error_body("Internal server error", "INTERNAL_SERVER_ERROR"))
        finally:
            TALLY.in_flight -= 1
            _request_info.reset(info_token)
            duration = time.perf_counter() - begun
            observe_http(route, method, status, duration)
            self._log(method, path, status, duration, info.outcome)
            if span is not None:
                _annotate(span, status, info.outcome)

    def _log(self, method: str, path: str, status: int, duration: float, outcome: OutcomeLike | None) -> None:
        fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": status,
            # round(duration * 1000, 2), at half its cost (the same figures: rounding to an integer is cheap)
            "duration_ms": round(duration * 100_000) / 100,
        }
        if outcome is not None:
            fields["operation"] = outcome.operation_name
            fields["compiled"] = outcome.compiled
            key_prefix = getattr(outcome, "key_prefix", None)
            if key_prefix:
                fields["key"] = key_prefix  # the visible prefix only, never the key
            if outcome.error_codes:
                fields["error_codes"] = outcome.error_codes
        level = logging.DEBUG if path in PROBES and status < 500 else logging.INFO
        log_line(log, "connectgraph.http", level, "request", fields)


async def _send_json(
    send: Send, status: int, body: bytes, *, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def _annotate(span: Any, status: int, outcome: OutcomeLike | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("http.response.status_code", status)
    if outcome is not None:
        if outcome.operation_name:
            span.set_attribute("graphql.operation.name", outcome.operation_name)
        span.set_attribute("connectgraph.compiled", outcome.compiled)
        if outcome.error_codes:
            span.set_attribute("connectgraph.error_codes", outcome.error_codes)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
