"""The vocabulary the model is declared in: entities, their columns and relations, Query roots, enums.

A field is written once, here: its GraphQL name, description and type, its SQL over the row alias
``{t}``, whether it filters and sorts, the arguments it takes and the scope a key needs to see it. The
GraphQL schema (``schema/build.py``), the SQL (``service/engine/sql.py``), the filter and ordering inputs
and the Relay ids all derive from these declarations; naming rules live in ``naming.py``.

SQL placeholders: ``{t}`` the row, ``{c}`` a relation's child rows, ``{p}`` their parent row, and
``{name}`` the parameter ``name`` (an argument, or a value a ``prepare`` step derives), each typed by its
argument or by ``params``. Nothing here runs SQL: the engine renders and runs it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


class Scalar(enum.Enum):
    """The GraphQL scalars of the model, with the SQL type their values travel as."""

    STRING = "String"
    INT = "Int"
    BOOLEAN = "Boolean"
    DECIMAL = "Decimal"
    DATE = "Date"
    DATETIME = "DateTime"
    ID = "ID"

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self]


_SQL_TYPES = {
    Scalar.STRING: "text",
    Scalar.INT: "int",
    Scalar.BOOLEAN: "boolean",
    Scalar.DECIMAL: "numeric",
    Scalar.DATE: "date",
    Scalar.DATETIME: "timestamptz",
    Scalar.ID: "text",
}


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str
    description: str
    sql: str | None = None  # the database's label, when it is not the GraphQL name ("": SQL NULL)

    @property
    def label(self) -> str | None:
        if self.sql is None:
            return self.name
        return self.sql or None


@dataclass(frozen=True, slots=True)
class EnumType:
    """A GraphQL enum; its values travel to SQL as their labels (``sql_type``: the PostgreSQL type)."""

    name: str
    description: str
    values: tuple[EnumValue, ...]
    sql_type: str = "text"
    # The Python enum the service already names these values with (its members' names are the GraphQL
    # names): the schema's enum is built on it, so other parts of the schema (a subscription) share it.
    python: type[enum.Enum] | None = None

    def label(self, name: str) -> str | None:
        for value in self.values:
            if value.name == name:
                return value.label
        raise KeyError(f"{self.name}.{name}")

    @property
    def renamed(self) -> bool:
        """Whether some label differs from its GraphQL name (the SQL then maps labels back)."""
        return any(v.sql is not None and v.sql != v.name for v in self.values)


FieldType = Scalar | EnumType


@dataclass(frozen=True, slots=True)
class Context:
    """What a ``prepare`` step may use besides the arguments."""

    today: date
    max_page_size: int


# prepare(arguments, context) -> parameters: checks the arguments (raising service.errors.BadInput) and
# derives the SQL parameters. Arguments come by GraphQL name, enums as their GraphQL names, `today`
# defaults applied; what it returns is added to (and overrides) the arguments' own parameters.
Prepare = Callable[[Mapping[str, Any], Context], Mapping[str, Any]]

# fragments(shape arguments) -> SQL text per placeholder: fixed SQL chosen by the values of the arguments
# declared ``shape=True`` (never user text: the choices are the model's own strings).
Fragments = Callable[[Mapping[str, Any]], Mapping[str, str]]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True, slots=True)
class Arg:
    """An argument: GraphQL name, type and description; ``when`` is a SQL condition on the rows ``{c}``
    (or ``{t}``) added when the value is given, with the value as ``{param}``."""

    name: str
    type: FieldType
    description: str
    required: bool = False
    default: Any = NO_DEFAULT  # the GraphQL default (enum values by name)
    many: bool = False  # a list of the type
    today: bool = False  # absent or null means today in Hong Kong
    fallback: Any = NO_DEFAULT  # the value when neither given nor inherited (not a GraphQL default)
    when: str | None = None
    param: str | None = None  # the SQL parameter's name (default: the argument's)
    shape: bool = False  # the value picks SQL text: plans are rendered per value

    @property
    def param_name(self) -> str:
        return self.param or self.name

    @property
    def sql_type(self) -> str:
        base = self.type.sql_type
        return base + "[]" if self.many else base


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One key of an ordering: SQL over ``{t}``, its direction, and its SQL type (to read cursors back)."""

    sql: str
    descending: bool = False
    type: str = "text"
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    """A scalar (or enum) field. With ``args`` it is computed per call and neither filters nor sorts."""

    name: str
    sql: str
    type: FieldType
    description: str
    nullable: bool = False
    many: bool = False  # a list of the scalar (never null, nor its items)
    scope: str | None = None
    args: tuple[Arg, ...] = ()
    filter: bool = True
    sort: bool = True
    prepare: Prepare | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def filterable(self) -> bool:
        return self.filter and not self.args

    @property
    def sortable(self) -> bool:
        return self.sort and not self.args and not self.many


@dataclass(frozen=True, slots=True)
class Where:
    """A filter field that is not a column (a shorthand such as ``search``, or ``activeOn`` for periods):
    ``sql`` is a condition over ``{t}`` with the value as ``{value}``."""

    name: str
    type: FieldType
    description: str
    sql: str
    many: bool = False
    transform: Callable[[Any], Any] | None = None  # the value as the SQL parameter (e.g. a LIKE pattern)


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation to another entity. Its rows are the target's source (or ``source``, which may use
    ``{p}`` and the arguments) as ``{c}``, related to the parent ``{p}`` by ``join``.

    A to-many relation gives a list field named ``name`` and a connection field ``<name>Connection``;
    ``order`` is its default ordering (the target's key is always appended). ``inherit`` names arguments
    that, when not given, take the value of the same argument of the list the parent row is in.
    """

    name: str
    target: str
    description: str
    join: str = "true"
    source: str | None = None
    many: bool = False
    nullable: bool = False
    scope: str | None = None
    args: tuple[Arg, ...] = ()
    order: tuple[OrderKey, ...] = ()
    prepare: Prepare | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    fragments: Fragments | None = None
    filter: bool = True  # to-one: nested filter; to-many: some/none/every
    sort: bool = False  # to-one: the target's sortable columns join the parent's orderings
    list_field: bool = True
    connection: bool = True
    inherit: tuple[str, ...] = ()


Field = Column | Relation


@dataclass(frozen=True, slots=True)
class NodeKey:
    """How a Relay id names a row: ``Type:<natural key>``. ``sql`` builds the natural key over ``{t}``;
    ``pattern`` matches it back (its groups are ``{k1}``, ``{k2}``... of ``lookup``, a condition on
    ``{t}``)."""

    sql: str
    pattern: str
    lookup: str
    example: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A GraphQL object type over a SQL ``FROM`` item; ``key`` is its unique ordering (the tie-break of
    every list); ``series`` entities page up to the larger ``max_series_page_size``."""

    name: str
    description: str
    source: str
    key: tuple[OrderKey, ...]
    fields: tuple[Field, ...]
    node: NodeKey | None = None
    series: bool = False
    wheres: tuple[Where, ...] = ()

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name}.{name}")


class RootKind(enum.Enum):
    ONE = "one"  # one row (null when there is none)
    LIST = "list"  # a list field and a <name>Connection field
    CONNECTION = "connection"  # a connection field only
    VALUE = "value"  # a scalar
    NODE = "node"  # Relay: one object by global id
    NODES = "nodes"  # Relay: objects by global ids, in order


@dataclass(frozen=True, slots=True)
class Check:
    """A condition, evaluated in the root's statement, under which the answer is NOT_FOUND instead."""

    sql: str
    message: str  # formatted with the arguments, e.g. "No ETF with code {etf!r}"
    argument: str


@dataclass(frozen=True, slots=True)
class Root:
    """A Query field. ``where`` is a condition on the target's rows ``{c}``; ``source`` replaces the
    target's source; a ``VALUE`` root is the scalar ``sql``. ``not_found`` makes a missing ``ONE`` row a
    NOT_FOUND error (formatted with the arguments) instead of a plain null."""

    name: str
    description: str
    kind: RootKind
    target: str | None = None
    type: FieldType | None = None
    sql: str = ""
    where: str = "true"
    source: str | None = None
    args: tuple[Arg, ...] = ()
    prepare: Prepare | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    fragments: Fragments | None = None
    scope: str | None = None
    order: tuple[OrderKey, ...] = ()
    not_found: str | None = None
    not_found_argument: str | None = None
    checks: tuple[Check, ...] = ()
    versioned: bool = True  # False: the answer changes without the data version (never cached)


@dataclass(frozen=True, slots=True)
class Model:
    entities: tuple[Entity, ...]
    roots: tuple[Root, ...]
    enums: tuple[EnumType, ...]

    def entity(self, name: str) -> Entity:
        for candidate in self.entities:
            if candidate.name == name:
                return candidate
        raise KeyError(name)
