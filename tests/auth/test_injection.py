"""Injection strings in every string argument come back as data or a clean error, never as SQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

from schema.schema import schema
from tests.auth.conftest import bearer

PAYLOADS = [
    "'; DROP TABLE etfs; --",
    "XHKG:02800' OR '1'='1",
    "%' UNION SELECT secret_hash FROM api_keys --",
    "$1::text); DELETE FROM api_keys; --",
    "\\x00\u0000nul",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ' \" ` ;",
]
SAMPLES = {
    "Date": "2025-06-30",
    "Decimal": "1000",
    "Int": 1,
    "Boolean": True,
    "DateTime": "2030-01-01T00:00:00Z",
}
CLEAN_CODES = {"BAD_USER_INPUT", "NOT_FOUND", "FORBIDDEN", "GRAPHQL_VALIDATION_FAILED"}


def _value(gtype: Any, payload: str, depth: int = 0) -> Any:
    """The payload in every string of the value; input objects (filters nest) two levels deep."""
    if isinstance(gtype, GraphQLNonNull):
        return _value(gtype.of_type, payload, depth)
    if isinstance(gtype, GraphQLList):
        return [_value(gtype.of_type, payload, depth)]
    if isinstance(gtype, GraphQLEnumType):
        return next(iter(gtype.values))
    if isinstance(gtype, GraphQLInputObjectType):
        return {
            name: _value(f.type, payload, depth + 1)
            for name, f in gtype.fields.items()
            if isinstance(f.type, GraphQLNonNull) or depth < 2 or not _nested(f.type)
        }
    assert isinstance(gtype, GraphQLScalarType)
    return payload if gtype.name in {"String", "ID"} else SAMPLES[gtype.name]


def _nested(gtype: Any) -> bool:
    return isinstance(get_named_type(gtype), GraphQLInputObjectType)


def _has_string(gtype: Any, seen: frozenset[str] = frozenset()) -> bool:
    named = get_named_type(gtype)
    if isinstance(named, GraphQLInputObjectType):
        if named.name in seen:
            return False
        return any(_has_string(f.type, seen | {named.name}) for f in named.fields.values())
    return isinstance(named, GraphQLScalarType) and named.name in {"String", "ID"}


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for kind, root in (("query", schema._schema.query_type), ("mutation", schema._schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            if any(_has_string(arg.type) for arg in field.args.values()):
                named = get_named_type(field.type)
                selection = " { __typename }" if isinstance(named, GraphQLObjectType) else ""
                cases.append((kind, name, selection))
    return cases


CASES = _cases()


def test_every_string_argument_is_covered() -> None:
    names = {name for _, name, _ in CASES}
    assert {"etf", "index", "security", "manager", "etfs", "createApiKey", "registerOperation"} <= names


@pytest.mark.parametrize(("kind", "name", "selection"), CASES, ids=[c[1] for c in CASES])
async def test_injection_strings_are_data_or_a_clean_error(
    make_client: Any, make_key: Any, conn: Any, kind: str, name: str, selection: str
) -> None:
    root = schema._schema.query_type if kind == "query" else schema._schema.mutation_type
    assert root is not None
    field = root.fields[name]
    admin = await make_key("ops", ["admin", "read:reference", "read:flows"])
    tables_before = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    keys_before = await conn.fetchval("SELECT count(*) FROM api_keys")
    async with make_client(anonymous_scopes=[]) as (http, _):
        for payload in PAYLOADS:
            variables = {
                arg: _value(a.type, payload)
                for arg, a in field.args.items()
                if _has_string(a.type) or isinstance(a.type, GraphQLNonNull)
            }
            declared = ", ".join(f"${arg}: {field.args[arg].type}" for arg in variables)
            passed = ", ".join(f"{arg}: ${arg}" for arg in variables)
            document = f"{kind} ({declared}) {{ {name}({passed}){selection} }}"
            response = await http.post(
                "/graphql", json={"query": document, "variables": variables}, headers=bearer(admin.plaintext)
            )
            assert response.status_code in (200, 400), response.text
            for error in response.json().get("errors", []):
                assert error["extensions"]["code"] in CLEAN_CODES, json.dumps(error)
    assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == tables_before
    assert await conn.fetchval("SELECT count(*) FROM etfs") == 40
    assert await conn.fetchval("SELECT count(*) FROM api_keys") >= keys_before
