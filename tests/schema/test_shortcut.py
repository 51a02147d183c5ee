"""The shortcut to /graphql (no routing, CORS or compression when the request needs none) answers
exactly as the whole stack does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.conftest import make_client

__all__ = ["make_client"]  # a fixture

PLAIN = {"Accept-Encoding": "identity"}  # takes the shortcut
COMPRESSED = {"Accept-Encoding": "gzip"}  # takes the whole stack
# Headers that differ by design between the two (the stack compresses large bodies and says so).
VARYING = {"content-encoding", "content-length", "vary", "x-request-id", "ratelimit-remaining"}

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("POST", {"json": {"query": '{ etf(code: "XHKG:02800") { code name } }'}}),
    ("POST", {"json": {"query": '{ etf(code: "XHKG:99999") { code } }'}}),
    ("POST", {"json": {"query": "{ nope }"}}),
    ("POST", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("POST", {"json": [{"query": "{ __typename }"}, {"query": "{ dataVersion }"}]}),
    ("GET", {"params": {"query": "{ __typename }"}}),
]


@pytest.mark.parametrize(("method", "request_args"), REQUESTS, ids=lambda x: str(x)[:40])
async def test_both_paths_answer_the_same(
    make_client: Any, method: str, request_args: dict[str, Any]
) -> None:
    async with make_client() as (http, _):
        answers = []
        for extra in (PLAIN, COMPRESSED):
            args = {**request_args, "headers": {**request_args.get("headers", {}), **extra}}
            answers.append(await http.request(method, "/graphql", **args))
    plain, compressed = answers
    assert plain.status_code == compressed.status_code
    # (httpx decompresses; the first answer of a document is strawberry's, the next compiled: same JSON)
    assert plain.json() == compressed.json()
    same = {k: v for k, v in plain.headers.items() if k not in VARYING}
    assert same == {k: v for k, v in compressed.headers.items() if k not in VARYING}
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers["x-request-id"]


async def test_a_browser_request_still_gets_cors_headers(make_client: Any) -> None:
    origin = "https://app.example.com"
    async with make_client(cors_origins=[origin]) as (http, _):
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={**PLAIN, "Origin": origin}
        )
    assert response.headers["access-control-allow-origin"] == origin


async def test_a_conditional_get_takes_the_shortcut_too(make_client: Any) -> None:
    async with make_client() as (http, _):
        first = await http.get("/graphql", params={"query": "{ __typename }"}, headers=PLAIN)
        again = await http.get(
            "/graphql",
            params={"query": "{ __typename }"},
            headers={**PLAIN, "If-None-Match": first.headers["etag"]},
        )
    assert again.status_code == 304 and again.content == b""
