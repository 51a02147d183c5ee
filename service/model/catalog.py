"""What the model gives, by GraphQL name: every object, connection and edge type with its fields, every
Query field, every filter and ordering. The schema builder (``schema/build.py``) and the engine
(``service/engine``) both read the model through this one view, so they cannot disagree about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from service.model import naming
from service.model.declare import (
    Arg,
    Column,
    Entity,
    FieldType,
    Model,
    Relation,
    Root,
    RootKind,
    Scalar,
    Where,
)

LIST_ARGS = ("filter", "orderBy", "first", "last")
CONNECTION_ARGS = ("filter", "orderBy", "first", "last", "after", "before")

ID_FIELD = "id"


@dataclass(frozen=True, slots=True)
class ListField:
    """A field whose value is a list of an entity's rows (a plain list or a connection)."""

    name: str
    entity: Entity
    connection: bool
    args: tuple[Arg, ...]  # declared
    generic: tuple[str, ...]  # the generic list arguments it takes (filter, orderBy, first, ...)
    relation: Relation | None = None
    root: Root | None = None

    @property
    def scope(self) -> str | None:
        return self.relation.scope if self.relation else self.root.scope if self.root else None


@dataclass(frozen=True, slots=True)
class ObjectField:
    """A field of an entity's object type: ``kind`` is id, column, one, list or connection."""

    name: str
    kind: str
    column: Column | None = None
    relation: Relation | None = None
    rows: ListField | None = None

    @property
    def scope(self) -> str | None:
        if self.column is not None:
            return self.column.scope
        return self.relation.scope if self.relation is not None else None


@dataclass(frozen=True, slots=True)
class RootField:
    """A Query field: the root, and for list roots how its rows are read (``list``)."""

    name: str
    root: Root
    rows: ListField | None = None


@dataclass(frozen=True, slots=True)
class OrderChoice:
    """A value of ``<Entity>OrderField``: a sortable column, possibly through a to-one relation."""

    value: str
    column: Column
    relation: Relation | None = None

    @property
    def description(self) -> str:
        what = self.column.description.rstrip(".")
        if self.relation is None:
            return f"{self.column.name}: {what}."
        return f"{self.relation.name}.{self.column.name}: {what}."

    @property
    def scope(self) -> str | None:
        return self.relation.scope if self.relation is not None else self.column.scope

    @property
    def nullable(self) -> bool:
        return self.column.nullable or (self.relation is not None and self.relation.nullable)


@dataclass(frozen=True, slots=True)
class FilterField:
    """A field of ``<Entity>Filter``: ``kind`` is column, where, one (nested) or many (some/none/every)."""

    name: str
    kind: str
    column: Column | None = None
    where: Where | None = None
    relation: Relation | None = None

    @property
    def scope(self) -> str | None:
        if self.column is not None:
            return self.column.scope
        return self.relation.scope if self.relation is not None else None

    @property
    def operand(self) -> tuple[FieldType, bool]:
        """The type compared (and whether it is a list), for column and where filters."""
        if self.column is not None:
            return self.column.type, self.column.many
        assert self.where is not None
        return self.where.type, self.where.many


@dataclass
class Catalog:
    model: Model
    entities: dict[str, Entity] = field(init=False)
    objects: dict[str, dict[str, ObjectField]] = field(init=False)
    connections: dict[str, Entity] = field(init=False)
    edges: dict[str, Entity] = field(init=False)
    roots: dict[str, RootField] = field(init=False)

    def __post_init__(self) -> None:
        self.entities = {e.name: e for e in self.model.entities}
        self.objects = {e.name: self._object(e) for e in self.model.entities}
        self.roots = {}
        for root in self.model.roots:
            for field_ in self._root_fields(root):
                self.roots[field_.name] = field_
        listed = [f.rows for fields in self.objects.values() for f in fields.values() if f.rows is not None]
        listed += [r.rows for r in self.roots.values() if r.rows is not None]
        connected = {lf.entity.name for lf in listed if lf.connection}
        self.connections = {naming.connection_type(n): self.entities[n] for n in sorted(connected)}
        self.edges = {naming.edge_type(n): self.entities[n] for n in sorted(connected)}
        self._listed = listed

    # --- fields ------------------------------------------------------------------------------------------

    def _object(self, entity: Entity) -> dict[str, ObjectField]:
        fields: dict[str, ObjectField] = {}
        if entity.node is not None:
            fields[ID_FIELD] = ObjectField(ID_FIELD, "id")
        for decl in entity.fields:
            if isinstance(decl, Column):
                fields[decl.name] = ObjectField(decl.name, "column", column=decl)
            elif not decl.many:
                fields[decl.name] = ObjectField(decl.name, "one", relation=decl)
            else:
                target = self.entities[decl.target]
                if decl.list_field:
                    lf = self._list(decl.name, target, decl.args, False, relation=decl)
                    fields[decl.name] = ObjectField(decl.name, "list", relation=decl, rows=lf)
                if decl.connection:
                    name = naming.connection_field(decl.name)
                    lf = self._list(name, target, decl.args, True, relation=decl)
                    fields[name] = ObjectField(name, "connection", relation=decl, rows=lf)
        return fields

    def _list(
        self,
        name: str,
        entity: Entity,
        args: tuple[Arg, ...],
        connection: bool,
        *,
        relation: Relation | None = None,
        root: Root | None = None,
    ) -> ListField:
        declared = {a.name for a in args}
        generic = tuple(
            a
            for a in (CONNECTION_ARGS if connection else LIST_ARGS)
            if a not in declared and (a != "orderBy" or self.order_choices(entity))
        )
        return ListField(name, entity, connection, args, generic, relation=relation, root=root)

    def _root_fields(self, root: Root) -> list[RootField]:
        if root.kind is RootKind.LIST:
            entity = self.entities[root.target or ""]
            out = [RootField(root.name, root, self._list(root.name, entity, root.args, False, root=root))]
            if not {a.name for a in root.args} & set(CONNECTION_ARGS):
                name = naming.connection_field(root.name)
                out.append(RootField(name, root, self._list(name, entity, root.args, True, root=root)))
            return out
        if root.kind is RootKind.CONNECTION:
            entity = self.entities[root.target or ""]
            return [RootField(root.name, root, self._list(root.name, entity, root.args, True, root=root))]
        return [RootField(root.name, root)]

    # --- filters and orderings ---------------------------------------------------------------------------

    def order_choices(self, entity: Entity) -> dict[str, OrderChoice]:
        return self._orders.get(entity.name) or self._order_choices(entity)

    @cached_property
    def _orders(self) -> dict[str, dict[str, OrderChoice]]:
        return {e.name: self._order_choices(e) for e in self.model.entities}

    def _order_choices(self, entity: Entity) -> dict[str, OrderChoice]:
        choices: dict[str, OrderChoice] = {}
        for decl in entity.fields:
            if isinstance(decl, Column) and decl.sortable:
                value = naming.order_value(decl.name)
                choices[value] = OrderChoice(value, decl)
        for decl in entity.fields:
            if isinstance(decl, Relation) and decl.sort and not decl.many:
                target = self.entities[decl.target]
                for column in target.fields:
                    if isinstance(column, Column) and column.sortable:
                        value = naming.order_value(column.name, decl.name)
                        choices[value] = OrderChoice(value, column, decl)
        return choices

    def filter_fields(self, entity: Entity) -> dict[str, FilterField]:
        fields: dict[str, FilterField] = {}
        for decl in entity.fields:
            if isinstance(decl, Column):
                if decl.filterable:
                    fields[decl.name] = FilterField(decl.name, "column", column=decl)
            elif decl.filter:
                fields[decl.name] = FilterField(decl.name, "many" if decl.many else "one", relation=decl)
        for where in entity.wheres:
            fields[where.name] = FilterField(where.name, "where", where=where)
        return fields

    @cached_property
    def filtered(self) -> list[Entity]:
        """Entities with a ``<Entity>Filter`` input: those listed anywhere, and what their filters reach."""
        names: list[str] = []
        todo = [lf.entity.name for lf in self._listed if "filter" in lf.generic]
        while todo:
            name = todo.pop(0)
            if name in names:
                continue
            names.append(name)
            for ff in self.filter_fields(self.entities[name]).values():
                if ff.relation is not None:
                    todo.append(ff.relation.target)
        return [self.entities[n] for n in sorted(names)]

    @cached_property
    def many_filtered(self) -> list[Entity]:
        """Entities with a ``<Entity>ListFilter`` input (the target of a to-many relation filter)."""
        names = {
            ff.relation.target
            for entity in self.filtered
            for ff in self.filter_fields(entity).values()
            if ff.kind == "many" and ff.relation is not None
        }
        return [self.entities[n] for n in sorted(names)]

    @cached_property
    def ordered(self) -> list[Entity]:
        names = {lf.entity.name for lf in self._listed if "orderBy" in lf.generic}
        return [self.entities[n] for n in sorted(names)]

    @cached_property
    def operand_types(self) -> list[tuple[FieldType, bool]]:
        """Every (type, list) a filter compares, once: the operator inputs to generate."""
        seen: dict[str, tuple[FieldType, bool]] = {}
        for entity in self.filtered:
            for ff in self.filter_fields(entity).values():
                if ff.kind in ("column", "where"):
                    of, many = ff.operand
                    if ff.kind == "column":
                        seen.setdefault(naming.operators_type(of, many), (of, many))
        return [seen[k] for k in sorted(seen)]

    def is_node(self, entity: Entity) -> bool:
        return entity.node is not None

    @property
    def nodes(self) -> list[Entity]:
        return [e for e in self.model.entities if e.node is not None]


def operators(of: FieldType, many: bool) -> tuple[str, ...]:
    """The operators a filter offers on a field of this type."""
    if many:
        return ("has", "hasAny", "isEmpty")
    if of in (Scalar.STRING, Scalar.ID):
        return ("eq", "in", "contains", "startsWith", "isNull")
    if of in (Scalar.INT, Scalar.DECIMAL, Scalar.DATE, Scalar.DATETIME):
        return ("eq", "in", "lt", "lte", "gt", "gte", "isNull")
    if of is Scalar.BOOLEAN:
        return ("eq", "isNull")
    return ("eq", "in", "isNull")  # enums
