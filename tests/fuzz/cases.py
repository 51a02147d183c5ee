"""Hostile and malformed requests, by class, and the rules every answer must keep.

Each class is a Hypothesis strategy of ``Case`` (one HTTP request). ``schema`` and ``schema_broken`` come
from the GraphQL schema itself (hypothesis-graphql: valid documents, and documents with one violation);
the others are written by hand from what broke before (issue 16): bodies, headers, ids, cursors and big
numbers, fragment and alias bombs, operation names. ``collect(strategy, n, seed)`` draws ``n`` cases
without sending anything, so the same cases serve the short run in ``make test`` and ``bench/fuzz``.

``verdict(case, status, body, seconds)`` names what an answer did wrong, or None: a 5xx, an
INTERNAL_SERVER_ERROR, a leaked exception name or stack trace, or more than ``SLOW_S`` seconds.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import graphql
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries

SLOW_S = 2.0
JSON_TYPE = {"content-type": "application/json"}
# Exception class names and traces that must never reach a client (GraphQL's own words do not match).
LEAK = re.compile(r"Traceback|File \"/|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|asyncpg|psycopg|strawberry\.")
FAULTS = ("5xx", "INTERNAL_SERVER_ERROR", "leaked", "slow", "no answer")
# A server may answer an oversized body early and close: the client then fails while still sending.
LARGE_BODY = 1 << 20
CLOSED_EARLY = (b"ReadError", b"WriteError", b"RemoteProtocolError")


@dataclass(frozen=True)
class Case:
    """One request: what it is (``klass``, ``note``) and how to send it."""

    klass: str
    note: str
    method: str = "POST"
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_TYPE))
    body: bytes | None = None

    def describe(self) -> str:
        shown = (self.body or b"")[:300].decode("utf-8", "replace")
        return f"[{self.klass}] {self.note}: {self.method} /graphql?{self.query_string[:200]} {shown}"


def post(klass: str, note: str, payload: Any, headers: dict[str, str] | None = None) -> Case:
    return Case(klass, note, headers={**JSON_TYPE, **(headers or {})}, body=json.dumps(payload).encode())


def ask(klass: str, note: str, query: str, variables: Any = None, **extra: Any) -> Case:
    payload: dict[str, Any] = {"query": query, **extra}
    if variables is not None:
        payload["variables"] = variables
    return post(klass, note, payload)


def get(klass: str, note: str, params: dict[str, str] | list[tuple[str, str]]) -> Case:
    return Case(klass, note, method="GET", headers={}, query_string=urlencode(params))


def verdict(case: Case, status: int | None, body: bytes, seconds: float) -> str | None:
    """What the answer did wrong (one of ``FAULTS``, with details), or None when it is acceptable."""
    if status is None:
        if len(case.body or b"") > LARGE_BODY and body.startswith(CLOSED_EARLY):
            return None  # refused before the client finished sending (an early 413 and close): fine
        return "no answer: " + body.decode("utf-8", "replace")[:200]
    if status >= 500:
        return f"5xx: HTTP {status} {body[:200].decode('utf-8', 'replace')}"
    text = body.decode("utf-8", "replace")
    if "INTERNAL_SERVER_ERROR" in text or "Internal server error" in text:
        return f"INTERNAL_SERVER_ERROR: {text[:300]}"
    leaked = LEAK.search(_messages(text))
    if leaked:
        return f"leaked: {leaked.group(0)!r} in {text[:300]}"
    if seconds > SLOW_S:
        return f"slow: {seconds:.2f} s"
    return None


def _messages(text: str) -> str:
    """The error messages and extensions of a GraphQL answer (data may legitimately hold any word)."""
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if not isinstance(payload, dict):
        return text
    return json.dumps(payload.get("errors", []))


# --- from the schema -------------------------------------------------------------------------------


def _scalars() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    junk = st.text(min_size=0, max_size=12).map(nodes.String)
    return {
        "Date": st.one_of(st.dates().map(lambda d: nodes.String(d.isoformat())), junk),
        "DateTime": st.one_of(st.datetimes().map(lambda d: nodes.String(d.isoformat() + "Z")), junk),
        "Decimal": st.one_of(
            st.decimals(allow_nan=False, allow_infinity=False, places=2).map(lambda d: nodes.String(str(d))),
            junk,
        ),
    }


def schema_documents(sdl: graphql.GraphQLSchema, mode: Mode) -> st.SearchStrategy[Case]:
    klass = "schema" if mode is Mode.POSITIVE else "schema_broken"
    documents = queries(sdl, custom_scalars=_scalars(), mode=mode)
    return documents.map(lambda query: ask(klass, "generated", query))


# --- by hand ---------------------------------------------------------------------------------------

HUGE = 2**64
INT64_OVER = 9223372036854775808
SMALL_QUERY = "{ __typename }"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def bodies() -> st.SearchStrategy[Case]:
    fixed = [
        Case("bodies", "empty body", body=b""),
        Case("bodies", "not JSON", body=b"{query"),
        Case("bodies", "a JSON string", body=b'"{ __typename }"'),
        Case("bodies", "a JSON number", body=b"42"),
        Case("bodies", "null", body=b"null"),
        Case("bodies", "deeply nested arrays", body=b"[" * 50_000 + b"]" * 50_000),
        Case("bodies", "deeply nested objects", body=b'{"a":' * 20_000 + b"1" + b"}" * 20_000),
        Case(
            "bodies", "a 3 MB query string", body=json.dumps({"query": "{" + " " * 3_000_000 + "}"}).encode()
        ),
        Case("bodies", "invalid UTF-8 JSON", body=b'{"query": "{ \xff\xfe }"}'),
        Case(
            "bodies",
            "application/graphql, invalid UTF-8",
            headers={"content-type": "application/graphql"},
            body=b"{ \xff\xfe __typename }",
        ),
        Case(
            "bodies", "application/graphql, empty", headers={"content-type": "application/graphql"}, body=b""
        ),
        Case("bodies", "no content type", headers={}, body=b'{"query": "{ __typename }"}'),
        Case("bodies", "text/plain", headers={"content-type": "text/plain"}, body=b"{ __typename }"),
        Case(
            "bodies",
            "form encoded",
            headers={"content-type": "application/x-www-form-urlencoded"},
            body=b"query=%7B__typename%7D",
        ),
        Case(
            "bodies",
            "multipart",
            headers={"content-type": "multipart/form-data; boundary=x"},
            body=b"--x\r\nContent-Disposition: form-data; name=query\r\n\r\n{__typename}\r\n--x--",
        ),
        post("bodies", "query is a number", {"query": 1}),
        post("bodies", "query is a list", {"query": [SMALL_QUERY]}),
        post("bodies", "variables a string", {"query": SMALL_QUERY, "variables": "{}"}),
        post("bodies", "variables a list", {"query": SMALL_QUERY, "variables": [1]}),
        post("bodies", "operationName a number", {"query": SMALL_QUERY, "operationName": 7}),
        post("bodies", "extensions a string", {"query": SMALL_QUERY, "extensions": "x"}),
        post("bodies", "persistedQuery null", {"extensions": {"persistedQuery": None}}),
        post("bodies", "persistedQuery a string", {"extensions": {"persistedQuery": "x"}}),
        post(
            "bodies",
            "sha256Hash of NULs",
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "\x00" * 64}}},
        ),
        post(
            "bodies",
            "sha256Hash not hex",
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "z" * 64}}},
        ),
        post(
            "bodies",
            "unknown hash",
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
        ),
        post(
            "bodies", "version 2", {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}}
        ),
        post("bodies", "an empty batch", []),
        post("bodies", "a batch of junk", [1, "x", None, {"query": 2}]),
        post("bodies", "a batch of 200", [{"query": SMALL_QUERY}] * 200),
        post("bodies", "NUL in the query", {"query": '{ etf(code: "\x00") { code } }'}),
        post(
            "bodies",
            "NUL in a variable",
            {"query": "query($c: String!) { etf(code: $c) { code } }", "variables": {"c": "XHKG:\x00"}},
        ),
        Case("bodies", "GET without query", method="GET", headers={}),
        get("bodies", "GET variables not JSON", {"query": SMALL_QUERY, "variables": "{"}),
        get("bodies", "GET a mutation", {"query": "mutation { __typename }"}),
        Case("bodies", "PUT", method="PUT", body=b'{"query": "{ __typename }"}'),
        Case("bodies", "DELETE", method="DELETE", headers={}),
    ]
    junk_json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
    return st.one_of(
        st.sampled_from(fixed),
        st.binary(max_size=300).map(lambda raw: Case("bodies", "random bytes", body=raw)),
        junk_json.map(lambda value: post("bodies", "random JSON", value)),
        st.dictionaries(
            st.sampled_from(["query", "variables", "operationName", "extensions"]), junk_json, max_size=4
        ).map(lambda value: post("bodies", "random fields", value)),
    )


VISIBLE = "".join(chr(c) for c in range(0x20, 0x7F))


def headers() -> st.SearchStrategy[Case]:
    names = [
        "authorization",
        "x-api-key",
        "accept",
        "content-type",
        "x-request-id",
        "if-none-match",
        "accept-encoding",
        "origin",
        "x-forwarded-for",
        "cookie",
    ]
    fixed_values = [
        "",
        "Bearer",
        "Bearer cg_",
        "Bearer cg_" + "a" * 5000,
        "Basic dXNlcjpwYXNz",
        "cg_\tx",
        "*/*;q=abc",
        "application/graphql-response+json;q=2",
        "gzip;q=-1, br;q=1e9, zstd",
        'W/"", *, W/',
        "null",
        "../../etc/passwd",
        "a" * 7000,
    ]
    value = st.one_of(
        st.sampled_from(fixed_values),
        # What an HTTP client can send: visible ASCII, no whitespace around it.
        st.text(alphabet=VISIBLE, max_size=60).map(str.strip),
    )
    return st.builds(
        lambda pairs: Case(
            "headers",
            f"{sorted(pairs)}"[:200],
            headers={**JSON_TYPE, **pairs},
            body=json.dumps({"query": SMALL_QUERY}).encode(),
        ),
        st.dictionaries(st.sampled_from(names), value, min_size=1, max_size=3),
    )


# Relay ids and cursors the engine must refuse as BAD_USER_INPUT naming the argument (issue 16).
BAD_IDS = [
    "",
    "abc",
    "Foo:1",
    _b64("Foo:1"),
    _b64("Node:1"),
    _b64("PageInfo:1"),
    _b64("Etf:²"),
    _b64("Etf:99999999999999999999"),
    _b64("Etf:-1"),
    _b64("Etf:"),
    _b64(":"),
    "Etf:XHKG:99999",
    "=" * 10,
    "%%%",
    "\u202e",
    "x" * 5000,
    _b64("Etf:1" * 1000),
]
BAD_CURSORS = [
    "",
    "abc",
    "%%%",
    _b64("offset:²"),
    _b64("offset:9223372036854775808"),
    _b64("offset:-5"),
    _b64("offset:"),
    _b64("offset:1e9"),
    _b64("x" * 3000),
    "=" * 7,
    "\u0660",
]
CONNECTIONS = ["etfs", "indices", "securities", "managers"]


def ids() -> st.SearchStrategy[Case]:
    by_literal = st.sampled_from(BAD_IDS).map(
        lambda bad: ask(
            "ids", f"node(id: {bad[:40]!r})", "query($id: ID!) { node(id: $id) { __typename } }", {"id": bad}
        )
    )
    random_ids = st.text(max_size=40).map(
        lambda bad: ask("ids", "random id", "query($id: ID!) { node(id: $id) { id } }", {"id": bad})
    )
    base64_ids = st.tuples(
        st.sampled_from(["Etf", "Index", "Security", "Manager", "Node", "Licence", "X"]), st.text(max_size=20)
    ).map(
        lambda pair: ask(
            "ids",
            f"base64 {pair}",
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": _b64(f"{pair[0]}:{pair[1]}")},
        )
    )
    return st.one_of(by_literal, random_ids, base64_ids)


def cursors() -> st.SearchStrategy[Case]:
    def page(root: str, argument: str, value: Any) -> Case:
        query = (
            f"query($v: {'Int' if argument in ('first', 'last') else 'String'}) "
            f"{{ {root}({argument}: $v) {{ totalCount pageInfo {{ hasNextPage }} }} }}"
        )
        return ask("cursors", f"{root}({argument}: {str(value)[:40]!r})", query, {"v": value})

    return st.one_of(
        st.builds(
            page,
            st.sampled_from(CONNECTIONS),
            st.sampled_from(["after", "before"]),
            st.one_of(st.sampled_from(BAD_CURSORS), st.text(max_size=30)),
        ),
        st.builds(
            page,
            st.sampled_from(CONNECTIONS),
            st.sampled_from(["first", "last"]),
            st.sampled_from([-1, 0, 2**31 - 1, 2**31, INT64_OVER, HUGE, -HUGE]),
        ),
    )


def numbers() -> st.SearchStrategy[Case]:
    """Integers past what Int, int64 or the cost figure can hold, as literals and as variables."""
    values = st.sampled_from([2**31, INT64_OVER, HUGE, -HUGE, 10**100])
    return st.one_of(
        values.map(
            lambda n: ask("numbers", f"dataLoads(last: {n})", f"{{ dataLoads(last: {n}) {{ status }} }}")
        ),
        values.map(
            lambda n: ask(
                "numbers", f"$last = {n}", "query($n: Int) { dataLoads(last: $n) { status } }", {"n": n}
            )
        ),
        values.map(lambda n: ask("numbers", f"first: {n}", f"{{ etfs(first: {n}) {{ totalCount }} }}")),
        st.floats(allow_nan=False).map(
            lambda f: ask(
                "numbers", f"$n = {f}", "query($n: Int) { etfs(first: $n) { totalCount } }", {"n": f}
            )
        ),
    )


def _fragment_bomb(depth: int) -> str:
    parts = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(depth)]
    return "query { ...F0 } " + " ".join(parts) + f" fragment F{depth} on Query {{ __typename }}"


def bombs() -> st.SearchStrategy[Case]:
    def fragments(depth: int) -> Case:
        return ask("bombs", f"fragment bomb, {depth} levels", _fragment_bomb(depth))

    def aliases(count: int) -> Case:
        fields = " ".join(f"a{i}: etfs(first: 500) {{ totalCount }}" for i in range(count))
        return ask("bombs", f"{count} aliases", f"{{ {fields} }}")

    def deep(depth: int) -> Case:
        inner = "code"
        for _ in range(depth):
            inner = f"trackedIndex {{ etfs {{ {inner} }} }}"
        return ask("bombs", f"depth {depth}", f'{{ etf(code: "XHKG:02800") {{ {inner} }} }}')

    fixed = [
        ask(
            "bombs",
            "a fragment cycle",
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        ),
        ask("bombs", "a fragment on itself", "query { ...A } fragment A on Query { ...A }"),
        ask("bombs", "unknown fragment", "query { ...Nope }"),
        ask("bombs", "10,000 fields", "{ " + "__typename " * 10_000 + "}"),
        ask("bombs", "directives x 1000", "{ __typename " + "@include(if: true) " * 1000 + "}"),
        ask(
            "bombs", "a 4,000-token list", "{ etfs(filter: {codes: [" + '"a",' * 4000 + "]}) { totalCount } }"
        ),
        ask(
            "bombs",
            "nested lists of variables",
            "query($v: [[[[Int]]]]) { __typename }",
            {"v": [[[[1] * 100] * 100] * 10]},
        ),
    ]
    return st.one_of(
        st.sampled_from(fixed),
        st.integers(min_value=8, max_value=300).map(fragments),
        st.integers(min_value=20, max_value=2000).map(aliases),
        st.integers(min_value=5, max_value=60).map(deep),
    )


def operations() -> st.SearchStrategy[Case]:
    two = "query A { __typename } query B { __typename }"
    fixed = [
        ask("operations", "unknown operationName", SMALL_QUERY, operationName="Nope"),
        ask("operations", "two operations, no name", two),
        ask("operations", "two operations, unknown name", two, operationName="C"),
        ask("operations", "operationName empty", two, operationName=""),
        ask("operations", "a subscription over HTTP", "subscription { dataLanded { dataset } }"),
        ask("operations", "an anonymous and a named one", "{ __typename } query A { __typename }"),
        ask("operations", "introspection in production", "{ __schema { types { name } } }"),
        ask("operations", "a field suggestion", '{ etff(code: "XHKG:02800") { code } }'),
        get(
            "operations",
            "two operationName GET parameters",
            [("query", two), ("operationName", "A"), ("operationName", "B")],
        ),
        get("operations", "GET unknown operationName", {"query": SMALL_QUERY, "operationName": "X"}),
    ]
    return st.one_of(
        st.sampled_from(fixed),
        st.text(max_size=30).map(
            lambda name: ask("operations", "random operationName", two, operationName=name)
        ),
    )


def hand_written() -> dict[str, Callable[[], st.SearchStrategy[Case]]]:
    return {
        "bodies": bodies,
        "headers": headers,
        "ids": ids,
        "cursors": cursors,
        "numbers": numbers,
        "bombs": bombs,
        "operations": operations,
    }


def classes(sdl: graphql.GraphQLSchema) -> dict[str, st.SearchStrategy[Case]]:
    """Every class by name."""
    found = {
        "schema": schema_documents(sdl, Mode.POSITIVE),
        "schema_broken": schema_documents(sdl, Mode.NEGATIVE),
    }
    found.update({name: make() for name, make in hand_written().items()})
    return found


def collect(strategy: st.SearchStrategy[Case], n: int, seed: int) -> list[Case]:
    """``n`` cases drawn from ``strategy`` (fewer when it has fewer distinct ones), reproducibly by seed."""
    drawn: list[Case] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(case: Case) -> None:
        drawn.append(case)

    from hypothesis import seed as with_seed

    with_seed(seed)(draw)()
    return drawn
