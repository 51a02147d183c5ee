"""Checks on a document before it runs: depth, aliases and estimated cost against the key's budget.

The cost is the number of objects the document may return, summed over its selections: each list
field multiplies by its page size (``first``/``last``/``lastTradingDays`` when given, else the
field's estimate below). Rejections say which limit and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from service.errors import TooComplex

# Rows a list field may return when the document does not bound it.
DEFAULT_LIST_SIZE = 50
LIST_SIZES: Mapping[str, int] = {
    "Index.constituents": 100,
    "Security.indexMemberships": 20,
    "Security.exposedEtfs": 100,
    "Etf.dailyStats": 2_500,
    "Etf.aumHistory": 120,
    "Etf.eligibility": 10,
    "Etf.counters": 3,
    "Index.levels": 2_500,
    "Index.etfs": 50,
    "Index.licences": 20,
    "Manager.etfs": 100,
    "Manager.licences": 20,
    "Licence.products": 5,
    "Query.connectFlows": 2_500,
    "Query.connectEligibility": 200,
    "Query.eligibilityChanges": 200,
    "Query.connectFlowTotals": 7,
    "Query.etfAggregates": 1_500,
    "Query.indexMembershipChanges": 200,
    "Series.buckets": 120,
    "FlowSeries.buckets": 120,
    "LookThroughExposure.indices": 20,
    "IndexLookThrough.etfs": 50,
}
SIZE_ARGUMENTS = ("first", "last", "lastTradingDays")


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int
    cost: int


def _size(field: FieldNode, variables: Mapping[str, Any], default: int) -> int:
    for argument in field.arguments or ():
        if argument.name.value not in SIZE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(int(value.value), 0)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            if isinstance(given, int) and not isinstance(given, bool):
                return max(given, 0)
    return default


def _is_list(field_def: GraphQLField) -> bool:
    field_type = field_def.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> Measure | None:
    """Depth, aliases and cost of the operation; None when the operation cannot be chosen."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    values = dict(variables or {})
    aliases = 0
    max_depth = 0

    def walk(
        parent: GraphQLObjectType, selections: SelectionSetNode, depth: int, seen: frozenset[str]
    ) -> int:
        nonlocal aliases, max_depth
        max_depth = max(max_depth, depth)
        cost = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases += 1
                field_def = parent.fields.get(selection.name.value)
                if field_def is None:
                    continue
                size = 1
                if _is_list(field_def):
                    default = LIST_SIZES.get(f"{parent.name}.{selection.name.value}", DEFAULT_LIST_SIZE)
                    size = _size(selection, values, default)
                child = get_named_type(field_def.type)
                inner = 0
                if selection.selection_set is not None and isinstance(child, GraphQLObjectType):
                    inner = walk(child, selection.selection_set, depth + 1, seen)
                cost += size * (1 + inner)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = schema.get_type(condition.name.value) if condition else parent
                if isinstance(target, GraphQLObjectType):
                    cost += walk(target, selection.selection_set, depth, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:  # cycles are the validator's to report
                    continue
                target = schema.get_type(fragment.type_condition.name.value)
                if isinstance(target, GraphQLObjectType):
                    cost += walk(target, fragment.selection_set, depth, seen | {name})
        return cost

    cost = walk(root, operation.selection_set, 1, frozenset())
    return Measure(depth=max_depth, aliases=aliases, cost=cost)


def check(measured: Measure, *, max_depth: int, max_aliases: int, max_cost: int) -> None:
    if measured.depth > max_depth:
        raise TooComplex(
            f"The document is {measured.depth} levels deep; the limit is {max_depth} "
            f"({measured.depth - max_depth} over)",
            limit="depth",
            value=measured.depth,
            maximum=max_depth,
        )
    if measured.aliases > max_aliases:
        raise TooComplex(
            f"The document has {measured.aliases} aliases; the limit is {max_aliases} "
            f"({measured.aliases - max_aliases} over)",
            limit="aliases",
            value=measured.aliases,
            maximum=max_aliases,
        )
    if measured.cost > max_cost:
        raise TooComplex(
            f"The document's estimated cost is {measured.cost:,} (rows x selections); this key's budget "
            f"is {max_cost:,} ({measured.cost / max_cost:.1f}x over). Ask for smaller pages.",
            limit="cost",
            value=measured.cost,
            maximum=max_cost,
        )
