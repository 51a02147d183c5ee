"""The engine: every query document except introspection answered with one JSON-building SQL statement per
root field, from the model (``service/model``) and graphql-core only.

    engine = Engine(graphql_schema, limits=Limits(...))
    prepared = engine.prepare(document, operation)          # once per document and operation
    plan = engine.plan_prepared(prepared, scopes, variables)  # kept on it; raises Fallback
    answer = await plan.run(db, variables, today)           # Answer(body bytes, error codes)

(``engine.plan(query, operation_name, scopes, variables)`` does all three from the text, with caches of
its own.) The execution layer keeps the prepared operation on the door's document.

``plan.py`` plans (selection -> plan tree, scopes decided), ``sql.py`` writes all the SQL, ``run.py``
executes, ``cursors.py`` and ``ids.py`` read what clients send back. ``field(...)`` answers one root
field for the strawberry path (a document the engine cannot answer whole, e.g. one that also asks
for ``__schema``), with the same semantics.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputType,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    is_input_type,
    parse,
    type_from_ast,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails
from graphql.execution.values import VariableValues, get_variable_values
from graphql.pyutils import Undefined
from graphql.utilities.coerce_input_value import coerce_input_literal

from service.db.client import Database
from service.engine.plan import DocumentPlan, Planner, directive_variables
from service.engine.run import Answer, Bound, Limits, Runner
from service.errors import AppError
from service.model import MODEL
from service.model.catalog import Catalog
from service.model.declare import Model

__all__ = ["Answer", "Bound", "Engine", "Fallback", "Limits", "Plan"]

INTROSPECTION = frozenset({"__schema", "__type"})
BAD_USER_INPUT = "BAD_USER_INPUT"


class Fallback(Exception):
    """The document cannot be answered by the engine as a whole; ``reason`` is counted in /metrics."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Variable:
    """An operation's variable: its type, default (coerced) and whether a scalar's own parser reads it."""

    name: str
    type: GraphQLInputType
    default: Any
    non_null: bool
    scalar: GraphQLScalarType | GraphQLEnumType | None


@dataclass(eq=False)
class Prepared:
    """An operation worked out once: its fragments, the variables its directives read, its variables'
    types, why the engine would not answer it (``fallback``), and its plans by (scopes, directive values)."""

    operation: OperationDefinitionNode
    fragments: list[FragmentDefinitionNode]
    directive_variables: tuple[str, ...]
    fallback: str | None
    variables: tuple[_Variable, ...] = ()
    plans: OrderedDict[tuple[Any, ...], Plan] = field(default_factory=OrderedDict)


PLANS_PER_OPERATION = 16  # keys of different scopes, times directive values


class Plan:
    """A document planned for one key's scopes and directive values; ``run`` answers a request."""

    def __init__(
        self, engine: Engine, document: DocumentPlan, scopes: frozenset[str], prepared: Prepared
    ) -> None:
        self.engine = engine
        self.document = document
        self.scopes = scopes
        self.prepared = prepared

    async def run(
        self, db: Database, variables: Mapping[str, Any] | None, today: date, *, request_id: str | None = None
    ) -> Answer:
        coerced = self.engine.coerce(self.prepared, variables)
        if isinstance(coerced, list):
            errors = [_request_error(e) for e in coerced]
            return Answer(orjson.dumps({"errors": errors, "data": None}), [BAD_USER_INPUT] * len(errors))
        return await self.run_coerced(db, coerced, today, request_id=request_id)

    def run_coerced(
        self,
        db: Database,
        variables: VariableValues,
        today: date,
        *,
        request_id: str | None = None,
        bound: list[Bound] | None = None,
    ) -> Coroutine[Any, Any, Answer]:
        """The answer with variables already coerced (``engine.coerce``); ``bound``: this request's
        statements as ``bind`` gave them before. The runner's coroutine itself, not one awaiting it: a
        layer that only forwards costs a frame on the call and on every resume (docs/adr/0029)."""
        return self.engine.runner.run(
            self.document, db, variables, today, scopes=self.scopes, request_id=request_id, bound=bound
        )

    def bind(self, variables: VariableValues, today: date) -> list[Bound]:
        """Each root field's statement and arguments for these (coerced) variables and day."""
        return self.engine.runner.bind(self.document, variables, today, self.scopes)


def _request_error(error: GraphQLError) -> dict[str, Any]:
    formatted = dict(error.formatted)
    formatted["extensions"] = {"code": BAD_USER_INPUT}
    return formatted


class Engine:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        limits: Limits | None = None,
        model: Model = MODEL,
        plan_cache_size: int = 1024,
        mask_errors: bool = False,
    ) -> None:
        self.schema = schema
        self.catalog = Catalog(model)
        self.planner = Planner(self.catalog, schema)
        self.limits = limits or Limits()
        self.runner = Runner(self.catalog, self.limits, mask_errors=mask_errors)
        self._plan_cache_size = plan_cache_size
        # ``plan``'s cache, by document text and operation name (a parsed document hashes by walking its
        # whole tree); the execution layer keeps each Prepared on its own document instead.
        self._prepared: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()

    # --- documents ---------------------------------------------------------------------------------------

    def prepare(self, document: DocumentNode, operation: OperationDefinitionNode) -> Prepared:
        """What the engine works out once about a (validated) document's operation."""
        fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        fallback = None
        if operation.operation is not OperationType.QUERY:
            fallback = operation.operation.value
        elif any(s.name.value in INTROSPECTION for s in _root_selections(operation, fragments)):
            fallback = "introspection"
        names = tuple(directive_variables(operation, fragments))
        return Prepared(operation, fragments, names, fallback, self._variables_of(operation))

    def _variables_of(self, operation: OperationDefinitionNode) -> tuple[_Variable, ...]:
        out = []
        for definition in operation.variable_definitions or ():
            of = type_from_ast(self.schema, definition.type)
            if of is None or not is_input_type(of):
                return ()  # validation reports it
            named = of.of_type if isinstance(of, GraphQLNonNull) else of
            default = Undefined
            if definition.default_value is not None:
                default = coerce_input_literal(definition.default_value, of)
            scalar = named if isinstance(named, GraphQLScalarType | GraphQLEnumType) else None
            out.append(
                _Variable(definition.variable.name.value, of, default, isinstance(of, GraphQLNonNull), scalar)
            )
        return tuple(out)

    def coerce(
        self, prepared: Prepared, given: Mapping[str, Any] | None, *, hide_suggestions: bool = False
    ) -> VariableValues | list[GraphQLError]:
        """The request's variables coerced: each scalar by its own parser, graphql-core's coercion for
        anything else and for every error (so the messages are its own)."""
        given = given or {}
        coerced: dict[str, Any] = {}

        def general() -> VariableValues | list[GraphQLError]:
            return self.variables(prepared.operation, given, hide_suggestions=hide_suggestions)

        for variable in prepared.variables:
            if variable.scalar is None:
                return general()
            if variable.name in given:
                value = given[variable.name]
                if value is None:
                    if variable.non_null:
                        return general()
                    coerced[variable.name] = None
                    continue
                try:
                    parsed = variable.scalar.parse_value(value)
                except Exception:
                    return general()
                if parsed is Undefined:
                    return general()
                coerced[variable.name] = parsed
            elif variable.default is not Undefined:
                coerced[variable.name] = variable.default
            elif variable.non_null:
                return general()
        return VariableValues({}, coerced)

    # --- plans -------------------------------------------------------------------------------------------

    def plan(
        self,
        query: str,
        operation_name: str | None,
        scopes: frozenset[str],
        variables: Mapping[str, Any] | None,
        *,
        document: DocumentNode | None = None,
    ) -> Plan:
        """The plan of a validated query document from its text (the document parsed unless given)."""
        key = (query, operation_name)
        prepared = self._prepared.get(key)
        if prepared is None:
            node = document if document is not None else parse(query)
            operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
            if operation_name is not None:
                operations = [o for o in operations if o.name and o.name.value == operation_name]
            if len(operations) != 1:
                raise Fallback("operation")
            prepared = self._prepared[key] = self.prepare(node, operations[0])
            if len(self._prepared) > self._plan_cache_size:
                self._prepared.popitem(last=False)
        return self.plan_prepared(prepared, scopes, variables)

    def plan_prepared(
        self, prepared: Prepared, scopes: frozenset[str], variables: Mapping[str, Any] | None
    ) -> Plan:
        """The operation's plan for a key's scopes and the values of the variables its directives read,
        kept on ``prepared``; Fallback when the engine does not answer it whole."""
        if prepared.fallback is not None:
            raise Fallback(prepared.fallback)
        given = variables or {}
        directives = tuple((name, given.get(name)) for name in prepared.directive_variables)
        key = (scopes, directives)
        plan = prepared.plans.get(key)
        if plan is not None:
            return plan
        values = self.variables(prepared.operation, given) if directives else None
        if isinstance(values, list):  # the variables do not coerce: running the plan reports it
            return Plan(self, DocumentPlan(prepared.operation, []), scopes, prepared)
        directive_values = {} if values is None else {n: values.coerced.get(n) for n, _ in directives}
        document_plan = self.planner.plan(prepared.operation, prepared.fragments, scopes, directive_values)
        plan = prepared.plans[key] = Plan(self, document_plan, scopes, prepared)
        if len(prepared.plans) > PLANS_PER_OPERATION:
            prepared.plans.popitem(last=False)
        return plan

    def variables(
        self,
        operation: OperationDefinitionNode,
        given: Mapping[str, Any] | None,
        *,
        hide_suggestions: bool = False,
    ) -> VariableValues | list[GraphQLError]:
        """graphql-core's coercion of the variables (its errors are the ones clients see)."""
        definitions = operation.variable_definitions or ()
        if not definitions:
            return VariableValues({}, {})
        return get_variable_values(
            self.schema, definitions, dict(given or {}), hide_suggestions=hide_suggestions
        )

    # --- the strawberry path -----------------------------------------------------------------------------

    async def field(
        self,
        info: Any,
        db: Database,
        scopes: frozenset[str],
        today: date,
        *,
        request_id: str | None = None,
    ) -> tuple[Any, list[dict[str, Any]]]:
        """One root field for strawberry's executor (``info`` is graphql-core's resolve info): its value as
        Python data and the errors inside it. An error of the root field itself is raised (``AppError``)."""
        fragments = {name: FragmentDetails(f) for name, f in info.fragments.items()}
        details = [FieldDetails(node, None) for node in info.field_nodes]
        key = info.path.key
        variables = info.variable_values
        if not isinstance(variables, VariableValues):  # the coerced values alone, as some executors give
            variables = VariableValues({}, dict(variables))
        plan = self.planner.plan_root(key, details, info.operation, fragments, scopes, variables)
        bound = self.runner.bind(DocumentPlan(info.operation, [plan]), variables, today, scopes)[0]
        text, errors = await self.runner.execute(bound, db, request_id)
        own = [e for e in errors if e["path"] == [key]]
        if own:
            raise _RootError(own[0])
        return orjson.loads(text), errors


class _RootError(AppError):
    """A root field's own error, raised to strawberry with its code and details."""

    def __init__(self, entry: dict[str, Any]) -> None:
        extensions = dict(entry["extensions"])
        self.code = extensions.pop("code")
        super().__init__(entry["message"], **extensions)


def _root_selections(
    operation: OperationDefinitionNode, fragments: list[FragmentDefinitionNode]
) -> list[Any]:
    """The root level's field selections, through fragments (introspection can only be asked there)."""
    by_name = {f.name.value: f for f in fragments}
    found: list[Any] = []
    todo: list[Any] = list(operation.selection_set.selections)
    seen: set[str] = set()
    while todo:
        selection = todo.pop()
        kind = selection.kind
        if kind == "field":
            found.append(selection)
        elif kind == "inline_fragment":
            todo.extend(selection.selection_set.selections)
        elif kind == "fragment_spread" and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = by_name.get(selection.name.value)
            if fragment is not None:
                todo.extend(fragment.selection_set.selections)
    return found
