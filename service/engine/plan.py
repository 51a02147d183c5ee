"""Planning: a validated operation, the key's scopes and the directive variables' values become a plan tree
over the model, one ``RootPlan`` per root field (graphql-core's ``collect_fields`` semantics: fragments,
inline fragments on interfaces, merged fields, aliases, ``@include``/``@skip``).

A field the key may not see is planned as ``null`` with a FORBIDDEN error (``Denied``); a root field it may
not see is ``refused`` and runs no statement. Every field with arguments gets a ``Slot``: its argument
values are read per request (``run.py``); what the SQL looks like depends only on their shape (``sql.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Undefined
from graphql.type.definition import is_required_argument
from graphql.utilities.coerce_input_value import coerce_default_value, coerce_input_literal

from service.model import naming
from service.model.catalog import Catalog, ListField, ObjectField, RootField
from service.model.declare import Arg, Column, Entity, Fragments, Prepare, Relation, Root, RootKind

TYPENAME = "__typename"
# Where an object of an interface type carries its type in the strawberry path (never sent to clients).
NODE_TYPE_KEY = "__node_type"


def plain(value: Any) -> Any:
    """Argument values as the model reads them: enum members by name, input objects as dicts."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class ArgReader:
    """A field's argument values per request, read as graphql-core's ``get_argument_values`` would: literal
    values and defaults coerced once, variables looked up; arguments whose value nests a variable (inside
    a list or an input object) make the whole field go through ``get_argument_values``."""

    def __init__(self, field_def: GraphQLField, node: FieldNode) -> None:
        self.field_def = field_def
        self.node = node
        given = {a.name.value: a.value for a in node.arguments or ()}
        self.fixed: dict[str, Any] = {}
        self.variables: list[tuple[str, str, bool, Any]] = []  # (argument, variable, required, default)
        self.general = False
        for name, arg_def in field_def.args.items():
            value = given.get(name)
            default = coerce_default_value(arg_def) if arg_def.default_value is not Undefined else Undefined
            if value is None:
                if default is not Undefined:
                    self.fixed[name] = default
            elif isinstance(value, VariableNode):
                self.variables.append((name, value.name.value, is_required_argument(arg_def), default))
            elif _has_variable(value):
                self.general = True
            else:
                self.fixed[name] = coerce_input_literal(value, arg_def.type)
        self.static = not self.variables and not self.general

    def read(self, variables: VariableValues) -> dict[str, Any]:
        if self.general:
            return get_argument_values(self.field_def, self.node, variables)
        values = dict(self.fixed)
        coerced = variables.coerced
        for name, variable, required, default in self.variables:
            if variable in coerced:
                values[name] = coerced[variable]
            elif required:  # not provided at run time: graphql-core's own error
                return get_argument_values(self.field_def, self.node, variables)
            elif default is not Undefined:
                values[name] = default
        return values


@dataclass(eq=False)
class Slot:
    """A field with arguments: how to read and prepare them per request."""

    index: int
    field_def: GraphQLField
    node: FieldNode
    name: str  # the field's path by name, e.g. "etf.dailyStatsConnection" (for errors)
    args: tuple[Arg, ...]
    generic: tuple[str, ...] = ()
    entity: Entity | None = None  # the rows the generic arguments apply to
    prepare: Prepare | None = None
    fragments: Fragments | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    connection: bool = False
    parent: Slot | None = None  # the list whose arguments `inherit` reads
    inherit: tuple[str, ...] = ()
    static: dict[str, Any] | None = None  # the argument values when no variable is involved
    root: bool = False  # the root field's own arguments
    decl: Root | Relation | Column | None = None  # what declared the field
    reader: ArgReader | None = None
    static_plain: dict[str, Any] = field(default_factory=dict)  # ``static`` as the model reads it

    @property
    def series(self) -> bool:
        return self.entity is not None and self.entity.series


@dataclass(eq=False)
class Value:
    """A leaf: a column, the Relay id, a type name, or null (a field the key may not see)."""

    key: str
    kind: str  # column | id | typename | null
    column: Column | None = None
    entity: Entity | None = None
    slot: Slot | None = None
    typename: str = ""


@dataclass(eq=False)
class Obj:
    entity: Entity
    items: list[Item]


@dataclass(eq=False)
class One:
    key: str
    relation: Relation
    slot: Slot | None
    obj: Obj


@dataclass(eq=False)
class Many:
    """A plain list of an entity's rows."""

    key: str
    rows: ListField
    slot: Slot
    obj: Obj


@dataclass(eq=False)
class Part:
    """A selection on a connection, an edge or a page info: ``kind`` is the field's name."""

    key: str
    kind: str
    obj: Obj | None = None
    parts: list[Part] = field(default_factory=list)


@dataclass(eq=False)
class Conn:
    key: str
    rows: ListField
    slot: Slot
    parts: list[Part]


@dataclass(eq=False)
class Nodes:
    """``node``/``nodes``: an object per possible type, picked by the id's type."""

    key: str
    many: bool
    slot: Slot
    objs: dict[str, Obj]


Item = Value | One | Many | Conn


@dataclass(frozen=True, slots=True)
class Denied:
    """A field planned as null because the key lacks ``scope``: where (``*`` for list items) and why."""

    path: tuple[str, ...]
    scope: str
    line: int
    column: int


@dataclass(eq=False)
class RootPlan:
    key: str
    root_field: RootField
    node: FieldNode
    slot: Slot | None
    item: Obj | Many | Conn | Nodes | None  # None: a VALUE root
    slots: list[Slot]
    denied: list[Denied]
    refused: str | None = None  # the scope the key lacks for the root field itself
    renders: dict[Any, Any] = field(default_factory=dict)  # shape -> rendered statement (sql.py)

    @property
    def root(self) -> Root:
        return self.root_field.root


@dataclass(frozen=True, slots=True)
class Constant:
    """A root field answered without SQL: ``__typename``."""

    key: str
    text: str


@dataclass(eq=False)
class DocumentPlan:
    operation: OperationDefinitionNode
    roots: list[RootPlan | Constant]


def directive_variables(
    operation: OperationDefinitionNode, fragments: list[FragmentDefinitionNode]
) -> list[str]:
    """The variables that ``@include``/``@skip`` read anywhere in the operation (its plan depends on them)."""
    names: list[str] = []

    def visit(node: Any) -> None:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in ("include", "skip"):
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode) and argument.value.name.value not in names:
                        names.append(argument.value.name.value)
        selection_set = getattr(node, "selection_set", None)
        for selection in selection_set.selections if selection_set else ():
            visit(selection)

    visit(operation)
    for fragment in fragments:
        visit(fragment)
    return names


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False


class Planner:
    """``planner.plan(operation, fragments, scopes, directive_values)`` -> DocumentPlan."""

    def __init__(self, catalog: Catalog, schema: GraphQLSchema) -> None:
        self.catalog = catalog
        self.schema = schema

    def plan(
        self,
        operation: OperationDefinitionNode,
        fragments: list[FragmentDefinitionNode],
        scopes: frozenset[str],
        directive_values: Mapping[str, Any],
    ) -> DocumentPlan:
        details = {f.name.value: FragmentDetails(f) for f in fragments}
        variables = VariableValues({}, dict(directive_values))
        query = self.schema.query_type
        assert query is not None
        grouped = collect_fields(self.schema, details, variables, query, operation).grouped_field_set
        roots: list[RootPlan | Constant] = []
        for key, fields in grouped.items():
            if fields[0].node.name.value == TYPENAME:
                roots.append(Constant(key, f'"{query.name}"'))
            else:
                roots.append(_RootPlanner(self, details, variables, operation, scopes).root(key, fields))
        return DocumentPlan(operation, roots)

    def plan_root(
        self,
        key: str,
        fields: list[FieldDetails],
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        scopes: frozenset[str],
        variables: VariableValues,
    ) -> RootPlan:
        """One root field alone, for the strawberry path (objects of interfaces carry their type)."""
        return _RootPlanner(self, fragments, variables, operation, scopes, tag_types=True).root(key, fields)


class _RootPlanner:
    def __init__(
        self,
        planner: Planner,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        operation: OperationDefinitionNode,
        scopes: frozenset[str],
        *,
        tag_types: bool = False,
    ) -> None:
        self.catalog = planner.catalog
        self.schema = planner.schema
        self.fragments = fragments
        self.variables = variables
        self.operation = operation
        self.scopes = scopes
        self.tag_types = tag_types
        self.slots: list[Slot] = []
        self.denied: list[Denied] = []

    # --- roots -------------------------------------------------------------------------------------------

    def root(self, key: str, fields: list[FieldDetails]) -> RootPlan:
        node = fields[0].node
        name = node.name.value
        query = self.schema.query_type
        assert query is not None
        if name == TYPENAME:
            raise LookupError("__typename at the root is answered by the caller")
        rf = self.catalog.roots[name]
        root = rf.root
        field_def = query.fields[name]
        plan = RootPlan(key, rf, node, None, None, self.slots, self.denied)
        if root.scope is not None and root.scope not in self.scopes:
            plan.refused = root.scope
            return plan
        if rf.rows is not None:
            plan.item = self._list(key, rf.rows, field_def, fields, (key,), name, parent=None, root=True)
            plan.slot = plan.item.slot
            return plan
        if root.args:
            plan.slot = self._slot(
                field_def, node, name, root.args, prepare=root.prepare, decl=root, root=True
            )
        if root.kind is RootKind.ONE:
            entity = self.catalog.entities[root.target or ""]
            plan.item = self._obj(entity, fields, (key,), name, parent=None)
        elif root.kind in (RootKind.NODE, RootKind.NODES):
            assert plan.slot is not None
            many = root.kind is RootKind.NODES
            path = (key, "*") if many else (key,)
            objs = {e.name: self._obj(e, fields, path, name, parent=None) for e in self.catalog.nodes}
            plan.item = Nodes(key, many, plan.slot, objs)
        return plan

    # --- objects -----------------------------------------------------------------------------------------

    def _obj(
        self,
        entity: Entity,
        fields: list[FieldDetails],
        path: tuple[str, ...],
        name: str,
        parent: Slot | None,
    ) -> Obj:
        gtype = self.schema.get_type(entity.name)
        assert isinstance(gtype, GraphQLObjectType)
        grouped = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, gtype, fields
        ).grouped_field_set
        described = self.catalog.objects[entity.name]
        items: list[Item] = []
        if self.tag_types and entity.node is not None:
            items.append(Value(NODE_TYPE_KEY, "typename", typename=entity.name))
        for key, subfields in grouped.items():
            node = subfields[0].node
            field_name = node.name.value
            if field_name == TYPENAME:
                items.append(Value(key, "typename", typename=entity.name))
                continue
            of = described[field_name]
            if of.scope is not None and of.scope not in self.scopes:
                self._deny((*path, key), of.scope, node)
                items.append(Value(key, "null"))
                continue
            items.append(
                self._field(entity, gtype.fields[field_name], of, key, subfields, path, name, parent)
            )
        return Obj(entity, items)

    def _field(
        self,
        entity: Entity,
        field_def: GraphQLField,
        of: ObjectField,
        key: str,
        fields: list[FieldDetails],
        path: tuple[str, ...],
        name: str,
        parent: Slot | None,
    ) -> Item:
        node = fields[0].node
        here = f"{name}.{of.name}"
        if of.kind == "id":
            return Value(key, "id", entity=entity)
        if of.column is not None:
            column = of.column
            slot = None
            if column.args:
                slot = self._slot(field_def, node, here, column.args, prepare=column.prepare, decl=column)
            return Value(key, "column", column=column, slot=slot)
        if of.rows is not None:
            return self._list(key, of.rows, field_def, fields, (*path, key), here, parent=parent)
        relation = of.relation
        assert relation is not None
        slot = None
        if relation.args:
            slot = self._slot(
                field_def,
                node,
                here,
                relation.args,
                prepare=relation.prepare,
                decl=relation,
                parent=parent if relation.inherit else None,
                inherit=relation.inherit,
            )
        target = self.catalog.entities[relation.target]
        return One(key, relation, slot, self._obj(target, fields, (*path, key), here, parent=None))

    def _list(
        self,
        key: str,
        lf: ListField,
        field_def: GraphQLField,
        fields: list[FieldDetails],
        path: tuple[str, ...],
        name: str,
        parent: Slot | None,
        root: bool = False,
    ) -> Many | Conn:
        decl: Relation | Root | None = lf.relation or lf.root
        assert decl is not None
        slot = self._slot(
            field_def,
            fields[0].node,
            name,
            lf.args,
            prepare=decl.prepare,
            decl=decl,
            generic=lf.generic,
            entity=lf.entity,
            connection=lf.connection,
            root=root,
        )
        if not lf.connection:
            return Many(key, lf, slot, self._obj(lf.entity, fields, (*path, "*"), name, parent=slot))
        return Conn(key, lf, slot, self._connection(lf.entity, fields, path, name, slot))

    def _connection(
        self, entity: Entity, fields: list[FieldDetails], path: tuple[str, ...], name: str, slot: Slot
    ) -> list[Part]:
        parts: list[Part] = []
        for key, subfields in self._sub(naming.connection_type(entity.name), fields).items():
            kind = subfields[0].node.name.value
            if kind == "edges":
                edge_parts = []
                for edge_key, edge_fields in self._sub(naming.edge_type(entity.name), subfields).items():
                    edge_kind = edge_fields[0].node.name.value
                    obj = None
                    if edge_kind == "node":
                        obj = self._obj(entity, edge_fields, (*path, key, "*", edge_key), name, parent=slot)
                    edge_parts.append(Part(edge_key, edge_kind, obj))
                parts.append(Part(key, kind, parts=edge_parts))
            elif kind == "nodes":
                parts.append(
                    Part(key, kind, self._obj(entity, subfields, (*path, key, "*"), name, parent=slot))
                )
            elif kind == "pageInfo":
                page = [
                    Part(k, f[0].node.name.value) for k, f in self._sub(naming.PAGE_INFO, subfields).items()
                ]
                parts.append(Part(key, kind, parts=page))
            else:  # totalCount, __typename
                parts.append(Part(key, kind))
        return parts

    def _sub(self, type_name: str, fields: list[FieldDetails]) -> dict[str, list[FieldDetails]]:
        gtype = self.schema.get_type(type_name)
        assert isinstance(gtype, GraphQLObjectType)
        return collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, gtype, fields
        ).grouped_field_set

    # --- slots and denials -------------------------------------------------------------------------------

    def _slot(
        self,
        field_def: GraphQLField,
        node: FieldNode,
        name: str,
        args: tuple[Arg, ...],
        *,
        prepare: Prepare | None,
        decl: Root | Relation | Column,
        generic: tuple[str, ...] = (),
        entity: Entity | None = None,
        connection: bool = False,
        parent: Slot | None = None,
        inherit: tuple[str, ...] = (),
        root: bool = False,
    ) -> Slot:
        slot = Slot(
            index=len(self.slots),
            field_def=field_def,
            node=node,
            name=name,
            args=args,
            generic=generic,
            entity=entity,
            prepare=prepare,
            fragments=getattr(decl, "fragments", None),
            params=decl.params,
            connection=connection,
            parent=parent,
            inherit=inherit,
            root=root,
            decl=decl,
        )
        slot.reader = ArgReader(field_def, node)
        if slot.reader.static:
            slot.static = get_argument_values(field_def, node)
            slot.static_plain = {k: plain(v) for k, v in slot.static.items()}
        self.slots.append(slot)
        return slot

    def _deny(self, path: tuple[str, ...], scope: str, node: FieldNode) -> None:
        location = node.loc.source.get_location(node.loc.start) if node.loc else None
        line, column = (location.line, location.column) if location else (0, 0)
        self.denied.append(Denied(path, scope, line, column))


def named_type(field_def: GraphQLField) -> str:
    return get_named_type(field_def.type).name
