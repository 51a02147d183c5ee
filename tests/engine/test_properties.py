"""Properties of the engine on the demo data, over generated documents and arguments (hypothesis):

- documents generated from the schema (hypothesis-graphql, bounded depth) never answer INTERNAL_SERVER_ERROR;
- a filter's result equals the whole list filtered in Python, and ``f`` and ``not: f`` partition the list;
- pages (forward and backward, any size, any ordering) concatenate to the unpaged list, and every page's
  ``totalCount`` is the number of items over all pages.

Filters and orderings are drawn from the model's catalog (every filterable column, to-one relations, to-many
relations with some/none/every), with values taken from the data itself so that they match something. The
default run is short; ``HYPOTHESIS_PROFILE=long`` runs many more examples.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    IntValueNode,
    NameNode,
    SelectionSetNode,
    StringValueNode,
    print_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from schema.schema import schema
from service.model import MODEL
from service.model.catalog import Catalog, FilterField, operators
from service.model.declare import NO_DEFAULT, Column, Entity, EnumType, Relation, Scalar

settings.register_profile(
    "default",
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

CATALOG = Catalog(MODEL)
MAX_DEPTH = 5
MAX_PAGES = 25  # pages walked per example (larger pages for longer lists)


@pytest.fixture
async def fast(db: Any) -> AsyncIterator[Any]:
    """POST a document to an app without keys or rate limits (these tests send many requests)."""
    import httpx

    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings(database_url=None, answer_cache_entries=0, access_checks=False), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:

        async def run(query: str, variables: dict[str, Any] | None = None) -> Any:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            assert response.status_code == 200, response.text
            return response.json()

        yield run


# --- lists the properties run on ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    entity: str
    field: str
    args: str  # fixed arguments of the list


LISTINGS = [
    Listing("Etf", "etfs", 'asOf: "2026-11-20", includeDelisted: true'),
    Listing("Security", "securities", ""),
    Listing("Index", "indices", ""),
    Listing("Manager", "managers", ""),
    Listing(
        "ConnectFlowDay",
        "connectFlowsConnection",
        'direction: SOUTHBOUND, from: "2025-01-01", to: "2025-04-30"',
    ),
]


def _raw(relation: Relation) -> bool:
    """A relation whose list field, without arguments, holds every related row (what filters look at)."""
    return all(not (a.when and (a.today or a.default is not NO_DEFAULT)) for a in relation.args)


def _columns(entity: Entity) -> list[Column]:
    return [f.column for f in CATALOG.filter_fields(entity).values() if f.kind == "column" and f.column]


def _relations(entity: Entity) -> list[FilterField]:
    return [
        f
        for f in CATALOG.filter_fields(entity).values()
        if f.relation is not None and f.relation.scope is None and _raw(f.relation) and not f.relation.args
    ]


def _selection(entity: Entity, depth: int = 0) -> str:
    parts = [c.name for c in _columns(entity) if c.scope is None]
    if depth == 0:
        for ff in _relations(entity):
            assert ff.relation is not None
            target = CATALOG.entities[ff.relation.target]
            parts.append(f"{ff.name} {{ {_selection(target, 1)} }}")
    return " ".join(parts)


_ROWS: dict[str, list[dict[str, Any]]] = {}


async def _rows(gql: Any, listing: Listing) -> list[dict[str, Any]]:
    """The whole list (first: the series page size) with every filterable value, fetched once."""
    if listing.entity not in _ROWS:
        entity = CATALOG.entities[listing.entity]
        args = ", ".join(a for a in (listing.args, "first: 10000" if entity.series else "first: 500") if a)
        body = await gql(f"{{ {listing.field}({args}) {{ totalCount nodes {{ {_selection(entity)} }} }} }}")
        assert "errors" not in body, body
        _ROWS[listing.entity] = body["data"][listing.field]["nodes"]
    return _ROWS[listing.entity]


# --- filters: generated from the catalog, evaluated in Python ------------------------------------------


def _values(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [r[name] for r in rows if r.get(name) is not None]


def _operand(column: Column, rows: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    seen = _values(rows, column.name)
    if column.many:
        seen = [v for vs in seen for v in vs] or ["x"]
    if column.type is Scalar.BOOLEAN:
        return st.booleans()
    if isinstance(column.type, EnumType):
        return st.sampled_from([v.name for v in column.type.values])
    if not seen:
        return st.just(
            "0" if column.type is Scalar.DECIMAL else "2025-01-01" if column.type is Scalar.DATE else "x"
        )
    if column.type in (Scalar.STRING, Scalar.ID) and not column.many:
        whole = st.sampled_from(seen)
        return st.one_of(whole, whole.flatmap(lambda s: st.integers(0, len(s)).map(lambda i: s[i : i + 3])))
    return st.sampled_from(seen)


def _leaf(column: Column, rows: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    ops = [o for o in operators(column.type, column.many)]
    value = _operand(column, rows)

    def one(op: str) -> st.SearchStrategy[dict[str, Any]]:
        if op in ("isNull", "isEmpty"):
            return st.booleans().map(lambda v: {op: v})
        if op in ("in", "hasAny"):
            return st.lists(value, min_size=0, max_size=3).map(lambda v: {op: v})
        return value.map(lambda v: {op: v})

    return st.sampled_from(ops).flatmap(one)


def filters(entity: Entity, rows: list[dict[str, Any]], depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    columns = [c for c in _columns(entity) if c.scope is None]
    leaves = [st.tuples(st.just(c.name), _leaf(c, rows)) for c in columns]
    if depth == 2:
        for ff in _relations(entity):
            relation = ff.relation
            assert relation is not None
            target = CATALOG.entities[relation.target]
            nested = [r for row in rows for r in _related(row, relation.name)]
            sub = filters(target, nested, 0)
            if ff.kind == "one":
                leaves.append(st.tuples(st.just(ff.name), sub))
            else:
                quantified = st.dictionaries(
                    st.sampled_from(["some", "none", "every"]), sub, min_size=1, max_size=1
                )
                leaves.append(st.tuples(st.just(ff.name), quantified))
    base = st.lists(st.one_of(leaves), min_size=1, max_size=2).map(dict)
    if depth <= 0:
        return base
    inner = filters(entity, rows, depth - 1)
    return st.one_of(
        base,
        st.lists(inner, max_size=2).map(lambda fs: {"and": fs}),
        st.lists(inner, max_size=2).map(lambda fs: {"or": fs}),
        inner.map(lambda f: {"not": f}),
    )


def _related(row: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = row.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _comparable(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.type is Scalar.DECIMAL:
        return Decimal(value)
    if column.type is Scalar.DATE:
        return date.fromisoformat(value)
    if column.type is Scalar.DATETIME:
        return datetime.fromisoformat(value)
    return value


def _test(column: Column, op: str, given: Any, value: Any) -> bool:
    if op == "isNull":
        return (value is None) == given
    if op == "isEmpty":
        return (len(value) == 0) == given
    if op == "has":
        return given in value
    if op == "hasAny":
        return any(v in value for v in given)
    if value is None:
        return False
    if op == "contains":
        return given.lower() in value.lower()
    if op == "startsWith":
        return value.lower().startswith(given.lower())
    have = _comparable(column, value)
    if op == "in":
        return have in [_comparable(column, g) for g in given]
    want = _comparable(column, given)
    return {
        "eq": have == want,
        "lt": have < want,
        "lte": have <= want,
        "gt": have > want,
        "gte": have >= want,
    }[op]


def matches(entity: Entity, row: dict[str, Any], condition: dict[str, Any]) -> bool:
    fields = CATALOG.filter_fields(entity)
    for name, value in condition.items():
        if name == "and":
            ok = all(matches(entity, row, c) for c in value)
        elif name == "or":
            ok = any(matches(entity, row, c) for c in value)
        elif name == "not":
            ok = not matches(entity, row, value)
        else:
            ff = fields[name]
            if ff.kind == "column":
                assert ff.column is not None
                ok = all(_test(ff.column, op, v, row.get(name)) for op, v in value.items())
            else:
                assert ff.relation is not None
                target = CATALOG.entities[ff.relation.target]
                related = _related(row, name)
                if ff.kind == "one":
                    ok = bool(related) and matches(target, related[0], value)
                else:
                    ((quantifier, sub),) = value.items()
                    hits = [matches(target, r, sub) for r in related]
                    ok = (
                        any(hits)
                        if quantifier == "some"
                        else not any(hits)
                        if quantifier == "none"
                        else all(hits)
                    )
        if not ok:
            return False
    return True


def _key(listing: Listing, row: dict[str, Any]) -> Any:
    entity = CATALOG.entities[listing.entity]
    return tuple(str(row.get(c.name)) for c in _columns(entity) if not c.many)


async def _filtered(gql: Any, listing: Listing, condition: dict[str, Any]) -> list[dict[str, Any]]:
    entity = CATALOG.entities[listing.entity]
    name = {"Etf": "EtfFilter"}.get(listing.entity, f"{listing.entity}Filter")
    args = ", ".join(
        a for a in (listing.args, "first: 10000" if entity.series else "first: 500", "filter: $f") if a
    )
    document = (
        f"query ($f: {name}) {{ {listing.field}({args}) {{ totalCount nodes {{ {_selection(entity)} }} }} }}"
    )
    body = await gql(document, {"f": condition})
    assert "errors" not in body, (condition, body)
    connection = body["data"][listing.field]
    assert connection["totalCount"] == len(connection["nodes"])
    return list(connection["nodes"])


@pytest.mark.parametrize("listing", LISTINGS, ids=[x.entity for x in LISTINGS])
@given(data=st.data())
async def test_a_filter_equals_the_list_filtered_in_python_and_not_partitions_it(
    fast: Any, listing: Listing, data: st.DataObject
) -> None:
    gql = fast
    rows = await _rows(gql, listing)
    entity = CATALOG.entities[listing.entity]
    condition = data.draw(filters(entity, rows))
    inside = await _filtered(gql, listing, condition)
    outside = await _filtered(gql, listing, {"not": condition})
    expected = [r for r in rows if matches(entity, r, condition)]
    assert sorted(map(str, inside)) == sorted(map(str, expected)), condition
    assert sorted(map(str, inside + outside)) == sorted(map(str, rows))
    assert not {str(r) for r in inside} & {str(r) for r in outside}


# --- pages -----------------------------------------------------------------------------------------------


def orderings(entity: Entity) -> st.SearchStrategy[list[dict[str, str]]]:
    choices = [c for c in CATALOG.order_choices(entity).values() if c.scope is None]
    pick = st.fixed_dictionaries(
        {"field": st.sampled_from([c.value for c in choices]), "direction": st.sampled_from(["ASC", "DESC"])}
    )
    return st.lists(pick, max_size=3)


PAGE = """query ($first: Int, $after: String, $last: Int, $before: String, $order: [{order}!], $f: {filter}) {{
  {field}({args}first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $f) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {selection} }} }} }} }}"""


@pytest.mark.parametrize("listing", LISTINGS, ids=[x.entity for x in LISTINGS])
@given(data=st.data())
async def test_pages_concatenate_to_the_unpaged_list_both_ways(
    fast: Any, listing: Listing, data: st.DataObject
) -> None:
    gql = fast
    rows = await _rows(gql, listing)
    entity = CATALOG.entities[listing.entity]
    order = data.draw(orderings(entity))
    condition = data.draw(st.one_of(st.none(), filters(entity, rows, 0)))
    size = data.draw(st.integers(1, 12))
    document = PAGE.format(
        order=f"{entity.name}Order",
        filter=f"{entity.name}Filter",
        field=listing.field,
        args=f"{listing.args}, " if listing.args else "",
        selection=_selection(entity, 1),
    )
    whole_size = 10_000 if entity.series else 500
    whole = await gql(document, {"first": whole_size, "order": order, "f": condition})
    assert "errors" not in whole, whole
    expected = [e["node"] for e in whole["data"][listing.field]["edges"]]
    total = whole["data"][listing.field]["totalCount"]
    assert total == len(expected)
    size = max(size, math.ceil(total / MAX_PAGES))
    for backward in (False, True):
        seen: list[dict[str, Any]] = []
        cursor = None
        for _ in range(len(expected) // size + 2):
            given = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
            body = await gql(document, {**given, "order": order, "f": condition})
            assert "errors" not in body, body
            connection = body["data"][listing.field]
            assert connection["totalCount"] == total
            page = [e["node"] for e in connection["edges"]]
            assert len(page) <= size
            seen = page + seen if backward else seen + page
            info = connection["pageInfo"]
            if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
                break
            cursor = info["startCursor"] if backward else info["endCursor"]
        assert seen == expected, (order, condition, size, backward)


# --- generated documents ---------------------------------------------------------------------------------


def _string(values: list[str]) -> st.SearchStrategy[StringValueNode]:
    return st.sampled_from(values).map(lambda v: StringValueNode(value=v))


SCALARS = {
    "Date": _string(["2022-07-04", "2025-01-02", "2025-06-30", "2026-11-20", "1999-01-01"]),
    "DateTime": _string(["2026-11-20T00:00:00+00:00"]),
    "Decimal": _string(["0", "1000000", "-5.5", "20000000000"]),
}
SAFE_ROOTS = [
    "node",
    "nodes",
    "etf",
    "index",
    "security",
    "manager",
    "etfs",
    "indices",
    "securities",
    "managers",
    "connectEligibility",
    "eligibilityChanges",
    "connectFlows",
    "connectFlowsConnection",
    "topEtfsByNetCreation",
    "indexMembershipChanges",
    "dataVersion",
    "datasets",
    "dataLoads",
]


def _bounded(node: Any, depth: int = 0) -> Any:
    """The document with its depth bounded (deeper objects keep only ``__typename``) and page sizes kept
    small (the point is the answer's kind, not its size)."""
    if isinstance(node, DocumentNode):
        return DocumentNode(definitions=tuple(_bounded(d) for d in node.definitions))
    selection_set = getattr(node, "selection_set", None)
    if isinstance(node, FieldNode):
        arguments = tuple(
            ArgumentNode(name=a.name, value=IntValueNode(value="7"))
            if isinstance(a.value, IntValueNode) and abs(int(a.value.value)) > 50
            else a
            for a in node.arguments or ()
        )
        if selection_set is not None and depth >= MAX_DEPTH:
            typename = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
            selection_set = SelectionSetNode(selections=(typename,))
        elif selection_set is not None:
            selection_set = SelectionSetNode(
                selections=tuple(_bounded(s, depth + 1) for s in selection_set.selections)
            )
        return FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=arguments,
            directives=node.directives,
            selection_set=selection_set,
        )
    if selection_set is not None:  # the operation, inline fragments
        selections = tuple(_bounded(s, depth) for s in selection_set.selections)
        return dataclasses.replace(node, selection_set=SelectionSetNode(selections=selections))
    return node


@given(
    document=queries(
        schema._schema,
        fields=SAFE_ROOTS,
        custom_scalars=SCALARS,
        print_ast=lambda d: d,
        allow_x00=False,
    )
)
async def test_generated_documents_never_answer_an_internal_error(fast: Any, document: Any) -> None:
    body = await fast(print_ast(_bounded(document)))
    for error in body.get("errors", []):
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (print_ast(document), error)
