"""Checks on a document before it runs: depth, aliases and estimated cost against the key's budget.

The cost is the number of objects the document may return, summed over its selections: each list
field multiplies by its page size (``first``/``last``/``lastTradingDays`` when given, else the
field's estimate below). A connection's ``edges`` and ``nodes`` multiply by the connection's own
``first``/``last`` (else the engine's default page, 50). Rejections say which limit and by how much.
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
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
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
    "Query.trailingFlows": 250,
    "Query.trailingEtfFigures": 250,
    "Series.buckets": 120,
    "FlowSeries.buckets": 120,
    "LookThroughExposure.indices": 20,
    "IndexLookThrough.etfs": 50,
}
SIZE_ARGUMENTS = ("first", "last", "lastTradingDays")
# The lists of a Relay connection, paged by the arguments of the field that returns the connection.
PAGE_LISTS = ("edges", "nodes")
# Fields sharing one response key (fragments merged in), and fragment spreads, in one selection set:
# validation compares them pairwise (400 copies of one field took 1.3 s to validate, 69 fragments of one
# field with a wide selection 0.9 s, 10 of them 0.08 s); no screen needs as many. A leaf field (no
# selection set) is cheap to compare and counts as a fifth (schema/documents.py), so 50 fragments may each
# select `id`.
MAX_REPEATS = 10
MAX_SPREADS = 50


# Largest figure a measure reports: a fragment bomb's cost grows as 2^levels, and the refusal must still
# say it in JSON (a 64-bit integer); anything beyond this is "over any budget" anyway.
SATURATED = 2**53
# Page sizes a document can ask for: an Int outside 32 bits never passes validation or coercion (which
# report it naming the argument), so it does not count as a page size here.
_MAX_INT = 2**31 - 1


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
        given: Any = None
        if isinstance(value, IntValueNode):
            given = int(value.value)
        elif isinstance(value, VariableNode):
            given = variables.get(value.name.value)
        if isinstance(given, int) and not isinstance(given, bool) and -_MAX_INT - 1 <= given <= _MAX_INT:
            return max(given, 0)
    return default


def _is_list(field_def: GraphQLField) -> bool:
    field_type = field_def.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _is_connection(named: GraphQLNamedType) -> bool:
    return (
        isinstance(named, GraphQLObjectType) and named.name.endswith("Connection") and "edges" in named.fields
    )


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATED)


class _Measurer:
    """Depth, aliases and cost of selection sets, each named fragment measured once (memoised): a
    fragment spread twice at each of 22 levels costs 22 measurements, not 2^22. A fragment that spreads
    itself (directly or not) counts as empty here; validation refuses the cycle."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._memo: dict[tuple[str, int | None], Measure] = {}
        self._open: set[str] = set()
        self.visits = 0  # selection sets measured: the work done, for tests

    def selections(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, page: int | None = None
    ) -> Measure:
        """The measure of a selection set: depth counts nested selection sets (this one is 1). ``page``:
        the page size of the connection this is the selection set of."""
        self.visits += 1
        depth, aliases, cost = 1, 0, 0
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        for selection in selection_set.selections:
            inner: Measure | None = None
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases = _add(aliases, 1)
                if selection.name.value == "__typename":
                    cost = _add(cost, 1)
                    continue
                field_def = fields.get(selection.name.value)
                if field_def is None:
                    continue  # unknown fields are validation's to report
                size = 1
                if page is not None and selection.name.value in PAGE_LISTS:
                    size = page
                elif _is_list(field_def):
                    default = LIST_SIZES.get(f"{parent.name}.{selection.name.value}", DEFAULT_LIST_SIZE)
                    size = _size(selection, self.variables, default)
                child = get_named_type(field_def.type)
                paged = _size(selection, self.variables, DEFAULT_LIST_SIZE) if _is_connection(child) else None
                below = 0
                if selection.selection_set is not None:
                    inner = self.selections(child, selection.selection_set, paged)
                    depth = max(depth, 1 + inner.depth)
                    aliases = _add(aliases, inner.aliases)
                    below = inner.cost
                cost = _add(cost, min(size * (1 + below), SATURATED))
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is None:
                    continue
                inner = self.selections(target, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value, page)
            if inner is not None:
                depth = max(depth, inner.depth)
                aliases = _add(aliases, inner.aliases)
                cost = _add(cost, inner.cost)
        return Measure(depth, aliases, cost)

    def fragment(self, name: str, page: int | None = None) -> Measure | None:
        known = self._memo.get((name, page))
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            return None
        target = self.schema.get_type(fragment.type_condition.name.value)
        if target is None:
            return None
        self._open.add(name)
        try:
            measured = self.selections(target, fragment.selection_set, page)
        finally:
            self._open.discard(name)
        self._memo[(name, page)] = measured
        return measured


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> Measure:
    """Depth, aliases and cost of the operation, in time linear in the document's size."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Measure(1, 0, 0)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Measurer(schema, fragments, dict(variables or {})).selections(root, operation.selection_set)


def check_repeats(repeats: int, spreads: int) -> None:
    """Refuse selection sets whose validation would cost the square of their size."""
    if spreads > MAX_SPREADS:
        raise TooComplex(
            f"A selection set spreads {spreads} fragments; the limit is {MAX_SPREADS}",
            limit="spreads",
            value=spreads,
            maximum=MAX_SPREADS,
        )
    if repeats > MAX_REPEATS:
        raise TooComplex(
            f"A selection set asks for one field {repeats} times; the limit is {MAX_REPEATS}",
            limit="repeats",
            value=repeats,
            maximum=MAX_REPEATS,
        )


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
