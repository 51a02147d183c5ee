"""A document parsed once: its syntax tree and the facts the door and execution check, cached by text."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    StringValueNode,
    Visitor,
    visit,
)
from graphql import parse as graphql_parse

from service.errors import TooComplex

# Root fields whose answers change without the data version moving (service state: keys and their usage,
# the allow-list, load history, dataset freshness): a document that selects one is never cached.
UNVERSIONED_FIELDS = frozenset({"apiKeys", "registeredOperations", "datasets", "dataLoads"})


@dataclass(frozen=True)
class Parsed:
    """A parsed document with the facts the door checks, worked out once per document text."""

    document: DocumentNode
    literal_nul: bool
    introspects: bool
    unversioned: bool


@lru_cache(maxsize=1024)
def parsed(query: str, max_tokens: int = 4_000) -> Parsed | None:
    document = _parse(query, max_tokens)
    if document is None:
        return None
    return Parsed(document, _literal_nul(document), _introspects(document), _unversioned(document))


def _parse(query: str, max_tokens: int = 4_000) -> DocumentNode | None:
    """The parsed document (cached), None for a syntax error (strawberry reports it, with its location).

    The parser stops after ``max_tokens`` tokens, so a huge document costs no more than that.
    """
    try:
        return graphql_parse(query, max_tokens=max_tokens)
    except GraphQLSyntaxError as error:
        if "tokens" in error.message and "more than" in error.message:
            raise TooComplex(
                f"The document has more than {max_tokens} tokens; the limit is {max_tokens}",
                limit="tokens",
                maximum=max_tokens,
            ) from None
        return None


def operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        operations = [o for o in operations if o.name and o.name.value == name]
    return operations[0] if len(operations) == 1 else None


def _introspects(document: DocumentNode) -> bool:
    """Whether the document asks for ``__schema`` or ``__type`` (``__typename`` is plain data)."""
    stack = [d.selection_set for d in document.definitions if hasattr(d, "selection_set")]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            name = getattr(getattr(selection, "name", None), "value", None)
            if name in {"__schema", "__type"}:
                return True
            stack.append(getattr(selection, "selection_set", None))
    return False


def _unversioned(document: DocumentNode) -> bool:
    """Whether the document selects anywhere (fragments too) a field the data version does not cover."""
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            nonlocal found
            found = found or node.name.value in UNVERSIONED_FIELDS

    visit(document, Finder())
    return found


def _literal_nul(document: DocumentNode) -> bool:
    """A ``"\\u0000"`` escape in a string literal of the document."""
    found = False

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            nonlocal found
            found = found or "\x00" in node.value

    visit(document, Finder())
    return found
