"""OpenTelemetry: a server span per request continuing the caller's trace, a client span per statement."""

from __future__ import annotations

import json

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.db.client import CountingDatabase
from service.settings import Settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_spans_continue_the_callers_trace(
    db: CountingDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(
        Settings(database_url=None, compiled_execution=False), database=db, span_exporter=exporter
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.post(
            "/graphql",
            json={"query": "query Indices { indices(first: 2) { totalCount } }", "operationName": "Indices"},
            headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
        )
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.name == "POST /graphql")
    statements = [s for s in spans if s.name.startswith("db.")]
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.attributes is not None
    assert server.attributes["graphql.operation.name"] == "Indices"
    assert server.attributes["http.response.status_code"] == 200
    assert statements and all(
        s.parent is not None and s.parent.span_id == server.context.span_id for s in statements
    )
    assert all(s.attributes is not None and str(s.attributes["db.statement"]).strip() for s in statements)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    request_line = [line for line in lines if line.get("event") == "request"][-1]
    assert request_line["trace_id"] == TRACE_ID


def test_tracing_is_off_by_default() -> None:
    from service.observability.tracing import setup_tracing

    assert setup_tracing(None, "connectgraph") is None
