"""The cost of a document counts a connection's `edges` and `nodes` by its `first`/`last`, not by a
fixed estimate."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, parse

from schema.limits import measure
from schema.schema import schema


def cost(document: str, variables: dict[str, Any] | None = None) -> int:
    node = parse(document)
    operation = node.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return measure(schema._schema, node, operation, variables).cost  # type: ignore[arg-type]


def test_edges_count_by_the_connections_first() -> None:
    # etfs (1) + edges x page (each edge 1 + node 1 + code 1)
    assert cost("{ etfs(first: 5) { edges { node { code } } } }") == 1 + 5 * 3
    assert cost("{ etfs(first: 500) { edges { node { code } } } }") == 1 + 500 * 3
    assert cost("{ etfs(last: 7) { nodes { code } } }") == 1 + 7 * 2


def test_a_connection_without_a_page_size_counts_the_default_page() -> None:
    assert cost("{ etfs { edges { node { code } } totalCount } }") == 1 + 50 * 3 + 1


def test_page_sizes_come_from_variables() -> None:
    document = "query ($n: Int) { etfs(first: $n) { nodes { code } } }"
    assert cost(document, {"n": 250}) == 1 + 250 * 2
    assert cost(document, {"n": None}) == 1 + 50 * 2


def test_nested_connections_multiply() -> None:
    document = """{ etfs(first: 20) { nodes { dailyStatsConnection(first: 250) { nodes { aum } } } } }"""
    # etfs 1 + 20 x (node 1 + connection 1 + 250 x (node 1 + aum 1))
    assert cost(document) == 1 + 20 * (1 + 1 + 250 * 2)


def test_a_fragment_on_a_connection_counts_by_each_connections_page() -> None:
    document = """{ a: etfs(first: 2) { ...Page } b: etfs(first: 300) { ...Page } }
                  fragment Page on EtfConnection { nodes { code } }"""
    assert cost(document) == (1 + 2 * 2) + (1 + 300 * 2)
