"""The strawberry types, generated from the model (``service/model``) through its catalog.

Every entity becomes an object type (Relay ``Node`` when it has a natural key), every to-many relation a
list field and a ``<name>Connection`` field, every list a ``<Entity>Filter`` and ``<Entity>Order`` input;
every Query root a field whose resolver asks the engine for its own sub-selection (the strawberry path:
documents the engine does not answer whole, such as one that also introspects). Nested fields read the
engine's JSON by response key; objects that mutations return (``ApiKey``) are read by attribute.

The classes live in the module ``schema.generated`` so that strawberry resolves their forward references.
"""

# Optional[...] rather than `X | None`: the generated annotations are forward references by name (strings).
# ruff: noqa: UP045

from __future__ import annotations

import enum
import inspect
import sys
import types
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Optional

import strawberry
from strawberry.types.unset import UNSET

from service.model import naming
from service.model.catalog import (
    Catalog,
    ListField,
    ObjectField,
    OrderChoice,
    RootField,
    operators,
)
from service.model.declare import NO_DEFAULT, Arg, EnumType, FieldType, RootKind, Scalar

MODULE = "schema.generated"

GENERIC_ARGS = {
    "filter": "Only the items that match (`and`/`or`/`not`, typed operators per field, across relations).",
    "orderBy": "Sort by these fields in turn (nulls last); the key is always added last to break ties.",
    "first": "Only the first N items.",
    "last": "Only the last N items.",
    "after": "Items after this cursor (an edge's `cursor`, or `pageInfo.endCursor`).",
    "before": "Items before this cursor (an edge's `cursor`, or `pageInfo.startCursor`).",
}

OPERATOR_DESCRIPTIONS = {
    "eq": "Equal to.",
    "in": "Equal to one of these.",
    "lt": "Less than.",
    "lte": "Less than or equal to.",
    "gt": "Greater than.",
    "gte": "Greater than or equal to.",
    "contains": "Contains this text, case-insensitive (`%` and `_` match themselves).",
    "startsWith": "Starts with this text, case-insensitive (`%` and `_` match themselves).",
    "isNull": "true: only where the field is null; false: only where it is not.",
    "has": "The list holds this value.",
    "hasAny": "The list holds at least one of these values.",
    "isEmpty": "true: only where the list is empty; false: only where it is not.",
}

# A field of a generated type: (name, annotation, description, arguments) and, when it is read otherwise
# than by _read, its reader.
Field = tuple[Any, ...]

_PYTHON = {
    Scalar.STRING: str,
    Scalar.INT: int,
    Scalar.BOOLEAN: bool,
    Scalar.DECIMAL: Decimal,
    Scalar.DATE: date,
    Scalar.DATETIME: datetime,
    Scalar.ID: strawberry.ID,
}


def _module() -> types.ModuleType:
    module = sys.modules.get(MODULE)
    if module is None:
        module = types.ModuleType(MODULE, "Strawberry types generated from the model (schema/build.py).")
        sys.modules[MODULE] = module
    return module


def _read(root: Any, info: strawberry.Info) -> Any:
    """A field's value: the engine's JSON by response key, or an object's attribute."""
    if isinstance(root, dict):
        return root.get(info.path.key)
    return getattr(root, _python_name(info.field_name), None)


def _python_name(name: str) -> str:
    out = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)
    return out


def _optional(of: Any) -> Any:
    return Optional[of]


def _list_of(of: Any) -> Any:
    return list[of]


def _annotated(of: Any, argument: Any) -> Any:
    return Annotated[of, argument]


def _members(python: type[enum.Enum]) -> Callable[[Any, strawberry.Info], Any]:
    """Reads an enum of the service's own by its members: the engine's JSON has their names, and
    strawberry serializes members (their values are the stored labels, not the names)."""

    def read(root: Any, info: strawberry.Info) -> Any:
        value = _read(root, info)
        if isinstance(value, python):
            return value
        if isinstance(value, str):
            return python[value]
        if isinstance(value, list):
            return [python[v] if isinstance(v, str) else v for v in value]
        return value

    return read


def _is_type_of(cls: Any, obj: Any, info: Any) -> bool:
    """Values are the engine's JSON (or, from mutations, objects read by attribute): always this type."""
    return True


class SchemaBuilder:
    """``SchemaBuilder(catalog).query(resolve_root)`` -> the generated Query type (and every type it uses)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.module = _module()
        self.enums: dict[str, Any] = {}
        self.sort_direction: Any = None
        self.node: Any = None
        self.page_info: Any = None
        self.types: dict[str, Any] = {}

    # --- names in the module -----------------------------------------------------------------------------

    def _put(self, name: str, value: Any) -> Any:
        setattr(self.module, name, value)
        self.types[name] = value
        return value

    def _python(self, of: FieldType) -> Any:
        if isinstance(of, EnumType):
            return self.enums[of.name]
        return _PYTHON[of]

    # --- enums, interfaces, shared types -----------------------------------------------------------------

    def build_enums(self) -> None:
        for declared in self.catalog.model.enums:
            values = [(v.name, v.description) for v in declared.values]
            if declared.python is not None:
                self.enums[declared.name] = self._on(
                    declared.python, declared.name, declared.description, values
                )
            else:
                self.enums[declared.name] = self._enum(declared.name, declared.description, values)
        self.sort_direction = self.enums[naming.SORT_DIRECTION]

    def _enum(self, name: str, description: str, values: list[tuple[str, str]]) -> Any:
        members = {v: strawberry.enum_value(v, description=d) for v, d in values}
        python = enum.Enum(name, members)  # type: ignore[misc]
        python.__module__ = MODULE
        return self._put(name, strawberry.enum(python, description=description))

    def _on(self, python: type[enum.Enum], name: str, description: str, values: list[tuple[str, str]]) -> Any:
        """The service's own enum made the schema's (once: the schema may be built again in a process)."""
        if [m.name for m in python] != [v for v, _ in values]:
            raise ValueError(f"enum {name}: the model's values are not {python.__name__}'s members")
        if not hasattr(python, "__strawberry_definition__"):
            strawberry.enum(python, name=name, description=description)
            described = dict(values)
            for value in python.__strawberry_definition__.values:  # type: ignore[attr-defined]
                value.description = described[python(value.value).name]
        return self._put(name, python)

    def build_shared(self) -> None:
        def resolve_type(cls: Any, obj: Any, *args: Any, **kwargs: Any) -> str:
            from service.engine.plan import NODE_TYPE_KEY

            return str(obj[NODE_TYPE_KEY])

        node = type(
            naming.NODE,
            (),
            {
                "__module__": MODULE,
                "__annotations__": {"id": strawberry.ID},
                "id": strawberry.field(
                    description="The global id: `Type:natural key`, e.g. `Etf:XHKG:03033` (stable across "
                    "rebuilds)."
                ),
                "resolve_type": classmethod(resolve_type),
            },
        )
        self.node = self._put(
            naming.NODE, strawberry.interface(node, description="An object with a Relay global id.")
        )
        page_info = self._object(
            naming.PAGE_INFO,
            "Where a page sits in the whole list.",
            [
                ("hasNextPage", bool, "More items follow this page.", ()),
                ("hasPreviousPage", bool, "Items precede this page.", ()),
                ("startCursor", _optional(str), "Cursor of the first edge.", ()),
                ("endCursor", _optional(str), "Cursor of the last edge.", ()),
            ],
        )
        self.page_info = page_info

    # --- objects -----------------------------------------------------------------------------------------

    def build_objects(self) -> None:
        for entity in self.catalog.model.entities:
            fields = [self._field(of) for of in self.catalog.objects[entity.name].values()]
            bases = (self.node,) if entity.node is not None else ()
            self._object(entity.name, entity.description, fields, bases)
        for name, entity in self.catalog.connections.items():
            edge = naming.edge_type(entity.name)
            self._object(
                edge,
                "An item of a connection with its cursor.",
                [
                    ("cursor", str, "Opaque position of this item; pass to after/before.", ()),
                    ("node", entity.name, "The item.", ()),
                ],
            )
            self._object(
                name,
                "A page of a list, with the list's total size.",
                [
                    (
                        "totalCount",
                        int,
                        "Number of items in the whole list (counted only when asked for).",
                        (),
                    ),
                    ("pageInfo", naming.PAGE_INFO, "Where this page sits.", ()),
                    ("edges", _list_of(edge), "The items of this page with cursors.", ()),
                    ("nodes", _list_of(entity.name), "The items of this page, without cursors.", ()),
                ],
            )

    def _field(self, of: ObjectField) -> Field:
        scoped = of.scope is not None
        if of.kind == "id":
            return ("id", strawberry.ID, "The global id: `Type:natural key` (stable across rebuilds).", ())
        if of.column is not None:
            column = of.column
            annotation = self._python(column.type)
            if column.many:
                annotation = _list_of(annotation)
            if column.nullable or scoped:
                annotation = _optional(annotation)
            field: Field = (column.name, annotation, column.description, self._args(column.args))
            if isinstance(column.type, EnumType) and column.type.python is not None:
                return (*field, _members(column.type.python))
            return field
        relation = of.relation
        assert relation is not None
        if of.rows is None:
            annotation = relation.target
            if relation.nullable or scoped:
                annotation = _optional(annotation)
            return (of.name, annotation, relation.description, self._args(relation.args))
        return (
            of.name,
            self._list_type(of.rows, optional=scoped),
            relation.description,
            self._list_args(of.rows),
        )

    def _list_type(self, lf: ListField, *, optional: bool) -> Any:
        annotation: Any = (
            naming.connection_type(lf.entity.name) if lf.connection else _list_of(lf.entity.name)
        )
        return _optional(annotation) if optional else annotation

    def _args(self, args: tuple[Arg, ...]) -> tuple[tuple[str, Any, Any, str], ...]:
        out = []
        for arg in args:
            annotation = self._python(arg.type)
            if arg.many:
                annotation = _list_of(annotation)
            default: Any = UNSET
            if arg.default is not NO_DEFAULT:
                default = self._default(arg.type, arg.default)
            if not arg.required:
                annotation = _optional(annotation)
            out.append((arg.name, annotation, default, arg.description))
        return tuple(out)

    def _default(self, of: FieldType, value: Any) -> Any:
        if isinstance(of, EnumType):
            return self.enums[of.name][value]
        return value

    def _list_args(self, lf: ListField) -> tuple[tuple[str, Any, Any, str], ...]:
        out = list(self._args(lf.args))
        entity = lf.entity.name
        for name in lf.generic:
            if name == "filter":
                out.append((name, _optional(naming.filter_type(entity)), UNSET, GENERIC_ARGS[name]))
            elif name == "orderBy":
                out.append((name, _optional(_list_of(naming.order_type(entity))), UNSET, GENERIC_ARGS[name]))
            elif name in ("first", "last"):
                out.append((name, _optional(int), UNSET, GENERIC_ARGS[name]))
            else:
                out.append((name, _optional(str), UNSET, GENERIC_ARGS[name]))
        return tuple(out)

    def _object(
        self,
        name: str,
        description: str,
        fields: list[Field],
        bases: tuple[type, ...] = (),
        resolver: Callable[..., Any] = _read,
    ) -> Any:
        namespace: dict[str, Any] = {"__module__": MODULE, "__annotations__": {}}
        for field_name, annotation, field_description, args, *own in fields:
            python = _python_name(field_name)
            namespace["__annotations__"][python] = annotation
            namespace[python] = strawberry.field(
                name=field_name,
                description=field_description,
                resolver=_resolver(own[0] if own else resolver, args, annotation),
            )
        namespace["is_type_of"] = classmethod(_is_type_of)
        cls = type(name, bases, namespace)
        return self._put(name, strawberry.type(cls, name=name, description=description))

    # --- inputs ------------------------------------------------------------------------------------------

    def build_inputs(self) -> None:
        for of, many in self.catalog.operand_types:
            self._operators(of, many)
        for entity in self.catalog.filtered:
            fields: list[tuple[str, Any, str]] = [
                ("and", _optional(_list_of(naming.filter_type(entity.name))), "Every one of these holds."),
                ("or", _optional(_list_of(naming.filter_type(entity.name))), "At least one of these holds."),
                ("not", _optional(naming.filter_type(entity.name)), "This does not hold."),
            ]
            for ff in self.catalog.filter_fields(entity).values():
                if ff.kind == "column":
                    of, many = ff.operand
                    assert ff.column is not None
                    annotation: Any = naming.operators_type(of, many)
                    fields.append((ff.name, _optional(annotation), ff.column.description))
                elif ff.kind == "where":
                    assert ff.where is not None
                    fields.append((ff.name, _optional(self._python(ff.where.type)), ff.where.description))
                else:
                    relation = ff.relation
                    assert relation is not None
                    target = (
                        naming.filter_type(relation.target)
                        if ff.kind == "one"
                        else naming.list_filter_type(relation.target)
                    )
                    what = "related" if ff.kind == "one" else "related rows (any period: see `activeOn`)"
                    fields.append(
                        (ff.name, _optional(target), f"{relation.description.rstrip('.')}: {what}.")
                    )
            self._input(
                naming.filter_type(entity.name),
                f"Conditions on {entity.name} items; every condition given must hold.",
                fields,
            )
        for entity in self.catalog.many_filtered:
            filter_name = naming.filter_type(entity.name)
            self._input(
                naming.list_filter_type(entity.name),
                f"Conditions on a list of related {entity.name} items.",
                [
                    ("some", _optional(filter_name), "At least one related item matches."),
                    ("none", _optional(filter_name), "No related item matches."),
                    (
                        "every",
                        _optional(filter_name),
                        "Every related item matches (true when there are none).",
                    ),
                ],
            )
        for entity in self.catalog.ordered:
            choices = self.catalog.order_choices(entity)
            order_field = self._enum(
                naming.order_field_type(entity.name),
                f"What a list of {entity.name} items can be sorted by.",
                [(c.value, _order_description(c)) for c in choices.values()],
            )
            self._input(
                naming.order_type(entity.name),
                f"One sort key of a list of {entity.name} items.",
                [
                    ("field", order_field, "What to sort by."),
                    ("direction", self.sort_direction, "Ascending (default) or descending."),
                ],
                defaults={"direction": self.sort_direction["ASC"]},
            )

    def _operators(self, of: FieldType, many: bool) -> None:
        name = naming.operators_type(of, many)
        python = str if many else self._python(of)
        fields: list[tuple[str, Any, str]] = []
        for op in operators(of, many):
            if op in ("in", "hasAny"):
                annotation: Any = _optional(_list_of(python))
            elif op in ("isNull", "isEmpty"):
                annotation = _optional(bool)
            else:
                annotation = _optional(python)
            fields.append((op, annotation, OPERATOR_DESCRIPTIONS[op]))
        what = "a list of strings" if many else (of.name if isinstance(of, EnumType) else of.value)
        self._input(name, f"Operators on {what}; every operator given must hold.", fields)

    def _input(
        self,
        name: str,
        description: str,
        fields: list[tuple[str, Any, str]],
        defaults: dict[str, Any] | None = None,
    ) -> Any:
        namespace: dict[str, Any] = {"__module__": MODULE, "__annotations__": {}}
        for field_name, annotation, field_description in fields:
            python = _python_name(field_name) + ("_" if field_name in ("and", "or", "not", "in") else "")
            namespace["__annotations__"][python] = annotation
            default = (defaults or {}).get(field_name, UNSET)
            namespace[python] = strawberry.field(
                name=field_name, description=field_description, default=default
            )
        cls = type(name, (), namespace)
        return self._put(name, strawberry.input(cls, name=name, description=description))

    # --- the Query type ----------------------------------------------------------------------------------

    def build(self, resolve_root: Callable[..., Any], description: str) -> Any:
        """Every type of the model, and the Query type (its fields resolved by ``resolve_root``)."""
        self.build_enums()
        self.build_shared()
        self.build_inputs()
        self.build_objects()
        return self.query(resolve_root, description)

    def query(self, resolve_root: Callable[..., Any], description: str) -> Any:
        fields = []
        for rf in self.catalog.roots.values():
            fields.append((rf.name, self._root_type(rf), rf.root.description, self._root_args(rf)))
        return self._object("Query", description, fields, resolver=resolve_root)

    def _root_type(self, rf: RootField) -> Any:
        root = rf.root
        if rf.rows is not None:
            return self._list_type(rf.rows, optional=True)
        if root.kind is RootKind.VALUE:
            assert root.type is not None
            return _optional(self._python(root.type))
        if root.kind is RootKind.NODE:
            return _optional(naming.NODE)
        if root.kind is RootKind.NODES:
            return _optional(_list_of(_optional(naming.NODE)))
        return _optional(root.target)

    def _root_args(self, rf: RootField) -> tuple[tuple[str, Any, Any, str], ...]:
        return self._list_args(rf.rows) if rf.rows is not None else self._args(rf.root.args)


def _order_description(choice: OrderChoice) -> str:
    return choice.description


def _resolver(
    read: Callable[..., Any], args: tuple[tuple[str, Any, Any, str], ...], returns: Any
) -> Callable[..., Any]:
    """A resolver with ``args`` in its signature (they make the field's arguments; the engine reads
    them from the document itself), calling ``read(root, info)``."""
    if inspect.iscoroutinefunction(read):

        async def resolve(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
            return await read(root, info)

        fn: Callable[..., Any] = resolve
    else:

        def resolve_sync(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
            return read(root, info)

        fn = resolve_sync
    parameters = [
        inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Any),
        inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info),
    ]
    annotations: dict[str, Any] = {"root": Any, "info": strawberry.Info}
    for name, annotation, default, description in args:
        python = _python_name(name) + ("_" if name in ("from", "in") else "")
        typed = _annotated(annotation, strawberry.argument(name=name, description=description))
        parameters.append(
            inspect.Parameter(python, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=typed)
        )
        annotations[python] = typed
    annotations["return"] = returns
    fn.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = annotations
    fn.__module__ = MODULE
    return fn
