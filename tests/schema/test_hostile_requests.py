"""Requests that used to answer 500 or bloat the server: each is a clear 4xx with a GraphQL-shaped error."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import parse

from schema.limits import SATURATED, _Measurer, measure
from schema.schema import schema
from tests.auth.conftest import endpoint_of, make_client

__all__ = ["make_client"]  # a fixture

TWO_OPERATIONS = "query A { __typename } query B { etfs(first: 1) { totalCount } }"


def fragment_bomb(levels: int) -> str:
    """``query{...F0} fragment F0 on Query{...F1 ...F1} ... fragment Fn on Query{__typename}``: 2^levels
    fields once expanded, in under a kilobyte."""
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def assert_refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert "Traceback" not in response.text
    return error


async def test_a_fragment_bomb_is_measured_once_per_fragment_and_refused(client: Any, db: Any) -> None:
    # given a 22-level bomb: 4 million fields once expanded, 900 bytes written down
    document = fragment_bomb(22)
    assert len(document) < 1_000
    # when it is measured, each fragment is measured once
    measurer = _Measurer(schema._schema, {d.name.value: d for d in parse(document).definitions[1:]}, {})
    measured = measurer.fragment("F0")
    assert measurer.visits == 23
    assert measured is not None and measured.cost == 2**22
    # and the request is refused before any SQL
    db.statements.clear()
    began = time.perf_counter()
    response = await client.post("/graphql", json={"query": document})
    error = assert_refused(response, 400, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["limit"] == "repeats"  # 2^22 __typename once merged (the cost says the same)
    assert time.perf_counter() - began < 1.0  # was 5.2 s (the assertion above on visits is the real one)
    assert db.statements == []


def test_a_bomb_of_300_levels_saturates_instead_of_growing_without_end() -> None:
    document = parse(fragment_bomb(300), max_tokens=10_000)
    operation = document.definitions[0]
    measured = measure(schema._schema, document, operation, None)  # type: ignore[arg-type]
    assert measured.cost == SATURATED


async def test_a_fragment_cycle_is_refused_by_validation(client: Any) -> None:
    document = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    error = assert_refused(
        await client.post("/graphql", json={"query": document}), 400, "GRAPHQL_VALIDATION_FAILED"
    )
    assert "within itself" in error["message"]


async def test_depth_is_measured_through_an_interface(client: Any) -> None:
    # node(id:) returns the Node interface: its inline fragments count towards the depth too
    inner = "trackedIndex { etfs { " * 7 + "code" + " } }" * 7
    document = '{ node(id: "RXRmOjE=") { ... on Etf { ' + inner + " } } }"
    error = assert_refused(await client.post("/graphql", json={"query": document}), 400, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["limit"] == "depth"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": TWO_OPERATIONS, "operationName": "C"}, "Unknown operation named 'C'."),
        ({"query": TWO_OPERATIONS}, "Must provide operation name if query contains multiple operations."),
        ({"query": "fragment F on Query { __typename }"}, "The document has no operation to run."),
    ],
    ids=["unknown name", "two operations, no name", "no operation"],
)
async def test_an_operation_that_cannot_be_chosen_is_400(
    client: Any, params: dict[str, Any], message: str
) -> None:
    error = assert_refused(await client.post("/graphql", json=params), 400, "OPERATION_RESOLUTION_FAILURE")
    assert error["message"] == message


async def test_a_named_operation_of_two_runs(client: Any) -> None:
    response = await client.post("/graphql", json={"query": TWO_OPERATIONS, "operationName": "A"})
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_get_parameter_given_twice_is_400(client: Any) -> None:
    response = await client.get(
        "/graphql", params=[("query", TWO_OPERATIONS), ("operationName", "A"), ("operationName", "B")]
    )
    error = assert_refused(response, 400, "BAD_REQUEST")
    assert "operationName" in error["message"]


async def test_application_graphql_with_invalid_utf8_is_400(client: Any) -> None:
    response = await client.post(
        "/graphql", content=b"{ __typename \xff }", headers={"content-type": "application/graphql"}
    )
    error = assert_refused(response, 400, "BAD_REQUEST")
    assert "UTF-8" in error["message"]


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": None},
        {"persistedQuery": {"version": 1, "sha256Hash": "\x00" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "g" * 64}},
        {"persistedQuery": "abc"},
    ],
    ids=["null", "NUL characters", "not hexadecimal", "not an object"],
)
async def test_a_malformed_persisted_query_is_400(client: Any, db: Any, extensions: dict[str, Any]) -> None:
    db.statements.clear()
    response = await client.post("/graphql", json={"extensions": extensions})
    error = assert_refused(response, 400, "BAD_USER_INPUT")
    assert "sha256Hash" in error["message"]
    assert db.statements == []


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ dataLoads(last: 9223372036854775808) { id } }", None),
        ("query ($n: Int) { dataLoads(last: $n) { id } }", {"n": 9223372036854775808}),
        ("query ($n: Int) { dataLoads(last: $n) { id } }", {"n": 2**64}),
    ],
    ids=["literal", "variable 2^63", "variable 2^64"],
)
async def test_an_int_over_32_bits_is_bad_user_input_naming_it(
    client: Any, document: str, variables: Any
) -> None:
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    error = assert_refused(response, 200, "BAD_USER_INPUT")
    assert "32-bit" in error["message"]
    assert "Internal server error" not in error["message"]


async def test_a_document_over_the_size_cap_is_refused_unparsed(make_client: Any) -> None:
    document = "{ __typename " + " " * 2_000 + "}"
    async with make_client(max_query_bytes=1_000) as (http, _):
        response = await http.post("/graphql", json={"query": document})
    error = assert_refused(response, 400, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["limit"] == "bytes"


async def test_a_document_over_the_token_cap_is_refused(client: Any) -> None:
    document = "{ " + "__typename " * 5_000 + "}"
    error = assert_refused(await client.post("/graphql", json={"query": document}), 400, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["limit"] == "tokens"


async def test_a_body_over_the_cap_is_413_without_being_read(make_client: Any) -> None:
    async with make_client(max_body_bytes=2_048) as (http, _):
        big = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"x": "y" * 4_000}})
        small = await http.post("/graphql", json={"query": "{ __typename }"})
    error = assert_refused(big, 413, "PAYLOAD_TOO_LARGE")
    assert "2,048 bytes" in error["message"]
    assert small.status_code == 200


async def test_field_suggestions_only_for_those_who_may_introspect(make_client: Any) -> None:
    document = '{ etf(code: "XHKG:02800") { nam } }'
    async with make_client() as (http, _):
        development = await http.post("/graphql", json={"query": document})
    async with make_client(environment="production", introspection_scopes=["admin"]) as (http, _):
        production = await http.post("/graphql", json={"query": document})
    assert "Did you mean" in assert_refused(development, 400, "GRAPHQL_VALIDATION_FAILED")["message"]
    assert "Did you mean" not in assert_refused(production, 400, "GRAPHQL_VALIDATION_FAILED")["message"]


async def test_each_document_is_parsed_once(make_client: Any) -> None:
    async with make_client() as (http, app):
        documents = endpoint_of(app).door.documents
        before = documents.parses
        for _ in range(3):
            await http.post("/graphql", json={"query": "{ q1: __typename }"})
    assert documents.parses == before + 1


async def test_a_persisted_query_is_kept_only_within_the_caps(make_client: Any, db: Any) -> None:
    import hashlib

    async with make_client(max_query_bytes=1_000) as (http, _):
        for document, code in [
            ("{ __typename " + " " * 2_000 + "}", "QUERY_TOO_COMPLEX"),
            ("{ etf(", "GRAPHQL_PARSE_FAILED"),
        ]:
            sha256 = hashlib.sha256(document.encode()).hexdigest()
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
            db.statements.clear()
            response = await http.post("/graphql", json={"query": document, "extensions": extensions})
            assert_refused(response, 400, code)
            assert not any("persisted" in sql for sql in db.statements)


async def test_one_field_repeated_hundreds_of_times_is_refused_before_validation(client: Any) -> None:
    # validation compares fields of one response key pairwise: 400 copies took 1.3 s
    document = "{ " + " ".join(['etf(code: "XHKG:02800") { code }'] * 400) + " }"
    error = assert_refused(await client.post("/graphql", json={"query": document}), 400, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["limit"] == "repeats"  # checked before validation runs


async def test_hundreds_of_fragment_spreads_in_one_selection_set_are_refused(client: Any) -> None:
    count = 300
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(count))
    response = await client.post("/graphql", json={"query": f"query {{ {spreads} }} {fragments}"})
    assert assert_refused(response, 400, "QUERY_TOO_COMPLEX")["extensions"]["limit"] == "spreads"
