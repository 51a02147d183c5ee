"""The compiled path: a plain-data operation becomes one SQL statement per root field returning JSON.

``Compiler.plan(document, operation)`` walks the validated selection set once and builds, for every
root field, a statement of nested ``json_build_object`` / ``json_agg`` subqueries from the shapes in
``service/repositories/json_shapes.py``; the plan is cached by the caller. ``Plan.run`` coerces the
variables, prepares each field's arguments exactly as the resolvers do, runs the statements and
splices PostgreSQL's JSON text into the response bytes, with no per-field work in Python.

Anything the compiler does not cover (interfaces, connections, directives, introspection, merged
fields) makes ``plan`` return None; anything a run cannot answer the same way (an argument error, a
missing object behind a non-null root field) raises ``Fallback``. Both go to strawberry's executor,
the reference that a differential test holds this path equal to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import get_argument_values, get_variable_values

from schema.permissions import scopes_of
from service.db.client import Database
from service.errors import AppError
from service.repositories.json_shapes import (
    ROOTS,
    SHAPES,
    Column,
    Limits,
    Relation,
    Uncompiled,
)

MAX_KEYS = 50  # json_build_object takes at most 100 arguments


class Unsupported(Exception):
    """The document uses something the compiler does not translate."""


class Fallback(Exception):
    """This run must go to the reference executor (its answer is an error, or not plain data)."""


@dataclass
class _FieldArgs:
    field_def: GraphQLField
    node: FieldNode
    prepare: Callable[[Mapping[str, Any], Limits], dict[str, Any]] | None


@dataclass
class _Root:
    key: str
    sql: str
    params: list[tuple[int, str]]  # (index into Plan.field_args, prepared argument name)
    non_null: bool


@dataclass
class Plan:
    operation: OperationDefinitionNode
    roots: list[_Root]
    field_args: list[_FieldArgs] = field(default_factory=list)
    scopes: frozenset[str] = frozenset()  # every scope a key needs to take this path

    async def run(
        self, schema: GraphQLSchema, db: Database, variables: Mapping[str, Any] | None, limits: Limits
    ) -> bytes:
        coerced = get_variable_values(
            schema, self.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            raise Fallback("variables do not coerce")
        prepared: list[dict[str, Any]] = []
        try:
            for spec in self.field_args:
                raw = get_argument_values(spec.field_def, spec.node, coerced)
                prepared.append(spec.prepare(raw, limits) if spec.prepare else dict(raw))
        except (AppError, Uncompiled) as exc:
            raise Fallback(str(exc)) from exc

        async def one(root: _Root) -> str | None:
            values = [prepared[i][name] for i, name in root.params]
            text: str | None = await db.fetchval(root.sql, *values)
            return text

        texts = await asyncio.gather(*(one(root) for root in self.roots))
        parts = []
        for root, text in zip(self.roots, texts, strict=True):
            if text is None:
                if root.non_null:
                    raise Fallback(f"{root.key} is null")
                text = "null"
            parts.append(f'"{root.key}":{text}')
        return ('{"data":{' + ",".join(parts) + "}}").encode()


class _Builder:
    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.field_args: list[_FieldArgs] = []
        self.params: list[tuple[int, str]] = []
        self._param_index: dict[tuple[int, str], int] = {}
        self._aliases = 0
        self.scopes: set[str] = set()

    def require(self, field_def: GraphQLField) -> None:
        """Note the scopes the field's permission classes demand (read from the strawberry field)."""
        definition = (field_def.extensions or {}).get("strawberry-definition")
        self.scopes |= scopes_of(getattr(definition, "permission_classes", None))

    def alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"

    def param(self, field_index: int, name: str, sql_type: str) -> str:
        key = (field_index, name)
        if key not in self._param_index:
            self.params.append(key)
            self._param_index[key] = len(self.params)
        return f"${self._param_index[key]}::{sql_type}"

    def bind(
        self, text: str, field_def: GraphQLField, node: FieldNode, args: Mapping[str, str], prepare: Any
    ) -> str:
        """Replace ``{arg}`` placeholders with parameters; the arguments are prepared at run time."""
        if not args and not node.arguments:
            return text
        index = len(self.field_args)
        self.field_args.append(_FieldArgs(field_def, node, prepare))
        for name, sql_type in args.items():
            text = text.replace("{" + name + "}", self.param(index, name, sql_type))
        return text

    def fields(self, type_: GraphQLObjectType, selection_set: SelectionSetNode) -> list[FieldNode]:
        out: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("directives")
            if isinstance(selection, FieldNode):
                out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != type_.name:
                    raise Unsupported("fragment on another type")
                out += self.fields(type_, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if fragment.type_condition.name.value != type_.name:
                    raise Unsupported("fragment on another type")
                out += self.fields(type_, fragment.selection_set)
        keys = [(f.alias or f.name).value for f in out]
        if len(keys) != len(set(keys)):
            raise Unsupported("merged fields")
        if len(keys) > MAX_KEYS:
            raise Unsupported("too many fields for one JSON object")
        return out

    def object(self, type_: GraphQLObjectType, selection_set: SelectionSetNode, alias: str) -> str:
        shape = SHAPES.get(type_.name)
        if shape is None:
            raise Unsupported(f"type {type_.name}")
        pairs: list[str] = []
        for node in self.fields(type_, selection_set):
            key = (node.alias or node.name).value
            name = node.name.value
            if name == "__typename":
                pairs.append(f"'{key}', '{type_.name}'")
                continue
            spec = shape.fields.get(name)
            field_def = type_.fields.get(name)
            if spec is None or field_def is None:
                raise Unsupported(f"{type_.name}.{name}")
            self.require(field_def)
            if isinstance(spec, Column):
                sql = spec.sql.replace("{t}", alias)
                sql = self.bind(sql, field_def, node, spec.args, spec.prepare)
                if spec.decimal:
                    sql = f"({sql})::text"
                pairs.append(f"'{key}', {sql}")
            else:
                pairs.append(f"'{key}', {self.relation(spec, field_def, node, alias)}")
        return "json_build_object(" + ", ".join(pairs) + ")"

    def relation(self, spec: Relation, field_def: GraphQLField, node: FieldNode, parent: str | None) -> str:
        target = self.schema.get_type(spec.target)
        if not isinstance(target, GraphQLObjectType) or node.selection_set is None:
            raise Unsupported(f"relation to {spec.target}")
        child = self.alias()
        source = spec.source.replace("{c}", child)
        if parent is not None:
            source = source.replace("{p}", parent)
        source = self.bind(source, field_def, node, spec.args, spec.prepare)
        obj = self.object(target, node.selection_set, child)
        if spec.many:
            order = f" ORDER BY {spec.order.replace('{c}', child)}" if spec.order else ""
            return f"(SELECT coalesce(json_agg({obj}{order}), '[]'::json) FROM {source})"
        return f"(SELECT {obj} FROM {source} LIMIT 1)"


class Compiler:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema

    def plan(self, document: DocumentNode, operation_name: str | None) -> Plan | None:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
            return None
        operation = operations[0]
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        query_type = self.schema.query_type
        assert query_type is not None
        roots: list[_Root] = []
        field_args: list[_FieldArgs] = []
        scopes: set[str] = set()
        try:
            top = _Builder(self.schema, fragments)
            for node in top.fields(query_type, operation.selection_set):
                # Each root is its own statement, numbering its own parameters.
                builder = _Builder(self.schema, fragments)
                builder.field_args = field_args
                key = (node.alias or node.name).value
                name = node.name.value
                spec = ROOTS.get(name)
                field_def = query_type.fields.get(name)
                if spec is None or field_def is None:
                    raise Unsupported(name)
                builder.require(field_def)
                expr = builder.relation(spec, field_def, node, None)
                scopes |= builder.scopes
                roots.append(
                    _Root(
                        key=key,
                        sql=f"SELECT ({expr})::text",
                        params=builder.params,
                        # Every to-one root raises NOT_FOUND in the reference executor when its
                        # object is missing: the compiled path leaves those answers to it.
                        non_null=not spec.many,
                    )
                )
        except Unsupported:
            return None
        return Plan(operation=operation, roots=roots, field_args=field_args, scopes=frozenset(scopes))
