"""Documents worked out once: parsed, validated and measured, cached by the hash of their text.

``Documents.get(text)`` refuses a document over the size cap before reading it and stops the parser at
the token cap, then keeps the result under the SHA-256 of the text in a cache bounded by bytes
(``service/bounded.py``), so 10,000 distinct large documents cost no more memory than a few.
A ``Document`` carries what every later request with the same text would otherwise recompute: its
operations, whether it introspects, selects unversioned fields or holds a NUL, its validation errors
(with and without field suggestions), its measures per operation and page sizes, and its plans.

What can be wrong with a document, each its own type (never told apart by message text):

    DocumentError               a GraphQL-shaped refusal with a stable code, status 400
    ├── ParseFailed             GRAPHQL_PARSE_FAILED: not GraphQL
    ├── Invalid                 GRAPHQL_VALIDATION_FAILED: does not validate against the schema, except
    │                           literal values of the wrong form (``BadValue``): BAD_USER_INPUT, status 200
    └── OperationUnresolved     OPERATION_RESOLUTION_FAILURE: operationName unknown, or needed and missing
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValuesOfCorrectTypeRule,
    Visitor,
    specified_rules,
    validate,
    visit,
)
from graphql.language.parser import Parser
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.errors import BAD_USER_INPUT, PARSE_FAILED, VALIDATION_FAILED, coded
from schema.limits import Measure, measure
from service.bounded import ByteLRU
from service.errors import TooComplex

OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
# Root fields whose answers change without the data version moving (service state: keys and their usage,
# the allow-list, load history, dataset freshness): a document that selects one is never cached.
UNVERSIONED_FIELDS = frozenset({"apiKeys", "registeredOperations", "datasets", "dataLoads"})


class BadValue(GraphQLError):
    """A literal argument value the argument's type refuses (a malformed date, an Int over 32 bits): the
    client's input rather than the document's shape, reported as BAD_USER_INPUT."""


class _ValuesOfCorrectType(ValuesOfCorrectTypeRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(
            BadValue(
                error.message, error.nodes, error.source, error.positions, error.path, error.original_error
            )
        )


# The rules strawberry validates with (graphql-core's and its own two), literal values told apart.
RULES = (
    *(_ValuesOfCorrectType if rule is ValuesOfCorrectTypeRule else rule for rule in specified_rules),
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)
# What one parsed token costs to keep (syntax tree and locations), measured with tracemalloc: ~380 B.
BYTES_PER_TOKEN = 400
_MEASURES_PER_DOCUMENT = 16
# A repeated leaf field (no selection set) is cheap for validation to compare: five count as one repeat.
LEAF_WEIGHT = 5


class DocumentError(Exception):
    """A document refused before execution: its GraphQL errors, each with ``extensions.code``."""

    code = VALIDATION_FAILED

    def __init__(self, errors: Sequence[GraphQLError]) -> None:
        super().__init__(errors[0].message if errors else self.code)
        self.errors = list(errors)

    def formatted(self) -> list[dict[str, Any]]:
        return [
            coded(error, BAD_USER_INPUT if isinstance(error, BadValue) else self.code)
            for error in self.errors
        ]

    @property
    def only_values(self) -> bool:
        """Every error is a literal value the client got wrong (answered as BAD_USER_INPUT, status 200)."""
        return all(isinstance(error, BadValue) for error in self.errors)


class ParseFailed(DocumentError):
    code = PARSE_FAILED


class Invalid(DocumentError):
    code = VALIDATION_FAILED


class OperationUnresolved(DocumentError):
    code = OPERATION_RESOLUTION_FAILURE


@dataclass(eq=False)
class Document:
    """One document text, parsed (``node``) or not (``syntax``), and everything learnt about it since."""

    key: str  # SHA-256 of the text, hex
    text: str
    node: DocumentNode | None
    syntax: GraphQLError | None = None
    over_tokens: bool = False  # the parser stopped at the token cap
    operations: dict[str, OperationDefinitionNode] = field(default_factory=dict)
    anonymous: list[OperationDefinitionNode] = field(default_factory=list)
    literal_nul: bool = False
    introspects: bool = False
    unversioned: bool = False
    repeats: int = 0  # the most fields sharing one response key in a selection set (leaves count 1/5)
    spreads: int = 0  # the most fragment spreads in a selection set
    charge: int = 0
    _errors: dict[bool, list[GraphQLError]] = field(default_factory=dict)
    _measures: dict[tuple[Any, ...], Measure] = field(default_factory=dict)
    # Whatever execution keeps per operation (its plan), by operation name.
    plans: dict[str | None, Any] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode:
        """The operation to run (GraphQL's GetOperation), else OperationUnresolved."""
        if name is not None:
            chosen = self.operations.get(name)
            if chosen is None:
                raise OperationUnresolved([GraphQLError(f"Unknown operation named '{name}'.")])
            return chosen
        count = len(self.operations) + len(self.anonymous)
        if count == 1:
            return self.anonymous[0] if self.anonymous else next(iter(self.operations.values()))
        if count == 0:
            raise OperationUnresolved([GraphQLError("The document has no operation to run.")])
        raise OperationUnresolved(
            [GraphQLError("Must provide operation name if query contains multiple operations.")]
        )

    def validation_errors(self, schema: GraphQLSchema, *, suggestions: bool) -> list[GraphQLError]:
        """graphql-core's validation, run once per document (and per suggestions setting when invalid)."""
        known = self._errors.get(suggestions)
        if known is None:
            if self._errors.get(not suggestions) == []:  # valid either way
                return []
            assert self.node is not None
            known = validate(schema, self.node, RULES, hide_suggestions=not suggestions)
            self._errors[suggestions] = known
        return known

    def measure(
        self, schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
    ) -> Measure:
        """Depth, aliases and cost, kept per operation and integer variables (page sizes)."""
        sizes = tuple(
            sorted(
                (k, v) for k, v in (variables or {}).items() if isinstance(v, int) and not isinstance(v, bool)
            )
        )
        key = (operation.name.value if operation.name else None, sizes)
        known = self._measures.get(key)
        if known is None:
            assert self.node is not None
            known = measure(schema, self.node, operation, variables)
            if len(self._measures) >= _MEASURES_PER_DOCUMENT:
                self._measures.clear()
            self._measures[key] = known
        return known


class Documents:
    """``documents.get(text) -> Document``: parsed at most once while it stays in the cache."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        max_tokens: int = 4_000,
        max_document_bytes: int = 100_000,
    ) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        self.max_document_bytes = max_document_bytes
        self._cache: ByteLRU[str, Document] = ByteLRU(max_bytes)
        self.parses = 0  # documents parsed (cache misses), for tests and benchmarks

    def check_size(self, text: str) -> bytes:
        """The document's UTF-8 bytes; TooComplex when they are over the size cap (checked before
        anything reads the document)."""
        encoded = None if len(text) > self.max_document_bytes else text.encode("utf-8", "surrogatepass")
        if encoded is None or len(encoded) > self.max_document_bytes:
            raise TooComplex(
                f"The document is over {self.max_document_bytes:,} bytes; the limit is "
                f"{self.max_document_bytes:,}",
                limit="bytes",
                maximum=self.max_document_bytes,
            )
        return encoded

    def get(self, text: str) -> Document:
        """The document; TooComplex over the size or token cap; ParseFailed when it is not GraphQL."""
        key = hashlib.sha256(self.check_size(text)).hexdigest()
        document = self._cache.get(key)
        if document is None:
            document = self._parse(key, text)
            self._cache.put(key, document, document.charge)
        if document.syntax is not None:
            if document.over_tokens:
                raise TooComplex(
                    f"The document has more than {self.max_tokens} tokens; the limit is {self.max_tokens}",
                    limit="tokens",
                    maximum=self.max_tokens,
                )
            raise ParseFailed([document.syntax])
        return document

    def _parse(self, key: str, text: str) -> Document:
        self.parses += 1
        parser = Parser(text, max_tokens=self.max_tokens)
        try:
            node = parser.parse_document()
        except GraphQLSyntaxError as error:
            over = parser.token_count >= self.max_tokens
            return Document(key, text, None, syntax=error, over_tokens=over, charge=2 * len(text) + 1024)
        tokens = parser.token_count
        document = Document(key, text, node, charge=2 * len(text) + BYTES_PER_TOKEN * tokens + 1024)
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    document.anonymous.append(definition)
                else:
                    document.operations.setdefault(definition.name.value, definition)
        facts = _facts(node)
        (
            document.literal_nul,
            document.introspects,
            document.unversioned,
            document.repeats,
            document.spreads,
        ) = facts
        return document


class _Repeats:
    """Fields sharing one response key in a selection set once fragments merge into it, and the spreads
    it holds: graphql-core's validation compares both pairwise. Each named fragment's keys are counted
    once (memoised), so a fragment bomb costs one pass; counts saturate instead of growing past 2^levels."""

    CEILING = 1_000_000

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._memo: dict[str, dict[str, int]] = {}
        self._open: set[str] = set()

    def keys(self, selection_set: SelectionSetNode) -> tuple[dict[str, int], int]:
        """Fields per response key (an object field's key is marked with a leading "{": those cost the
        most to compare) and the fragment spreads, in this selection set with its fragments merged in."""
        counts: dict[str, int] = {}
        spreads = 0
        for selection in selection_set.selections:
            inner: dict[str, int]
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                if selection.selection_set is not None:
                    key = "{" + key
                counts[key] = min(counts.get(key, 0) + 1, self.CEILING)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner, inner_spreads = self.keys(selection.selection_set)
                spreads += inner_spreads
            elif isinstance(selection, FragmentSpreadNode):
                spreads += 1
                inner = self.fragment(selection.name.value)
            else:
                continue
            for key, count in inner.items():
                counts[key] = min(counts.get(key, 0) + count, self.CEILING)
        return counts, spreads

    def fragment(self, name: str) -> dict[str, int]:
        known = self._memo.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:  # unknown or cyclic: validation reports it
            return {}
        self._open.add(name)
        try:
            counts = self.keys(fragment.selection_set)[0]
        finally:
            self._open.discard(name)
        self._memo[name] = counts
        return counts


def _facts(node: DocumentNode) -> tuple[bool, bool, bool, int, int]:
    """In one pass: a NUL in a string literal, ``__schema``/``__type`` anywhere (``__typename`` is
    plain data), a field the data version does not cover (fragments included), and the most fields
    sharing one response key and the most fragment spreads in one selection set."""
    facts = {"nul": False, "introspects": False, "unversioned": False}
    repeats = spreads = 0
    counter = _Repeats({d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)})

    class Finder(Visitor):
        def enter_selection_set(self, selection_set: SelectionSetNode, *_: Any) -> None:
            nonlocal repeats, spreads
            counts, here = counter.keys(selection_set)
            objects = max((c for k, c in counts.items() if k.startswith("{")), default=0)
            leaves = max((c for k, c in counts.items() if not k.startswith("{")), default=0)
            repeats = max(repeats, objects, -(-leaves // LEAF_WEIGHT))
            spreads = max(spreads, here)

        def enter_field(self, field: FieldNode, *_: Any) -> None:
            name = field.name.value
            if name in ("__schema", "__type"):
                facts["introspects"] = True
            elif name in UNVERSIONED_FIELDS:
                facts["unversioned"] = True

        def enter_string_value(self, value: StringValueNode, *_: Any) -> None:
            if "\x00" in value.value:
                facts["nul"] = True

    visit(node, Finder())
    return facts["nul"], facts["introspects"], facts["unversioned"], repeats, spreads
