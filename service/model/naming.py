"""Naming rules, in one place: entity -> type -> Connection, Edge, Filter, ListFilter, Order, OrderField.

``Etf`` gives ``EtfConnection``, ``EtfEdge``, ``EtfFilter`` (its fields, ``and``/``or``/``not``),
``EtfListFilter`` (``some``/``none``/``every`` over a to-many relation), ``EtfOrder`` (``{field, direction}``)
and ``EtfOrderField`` (``CODE``, ``ISSUER_SHORT_NAME``...). A to-many relation ``dailyStats`` also gives the
field ``dailyStatsConnection`` (PostGraphile's simplify naming, the other way round). Operators on a
scalar come in ``<Scalar>Filter`` (``StringFilter``, ``DateFilter``...), on an enum in ``<Enum>Filter``.
"""

from __future__ import annotations

import re

from service.model.declare import EnumType, FieldType, Scalar

PAGE_INFO = "PageInfo"
NODE = "Node"
SORT_DIRECTION = "SortDirection"
STRING_LIST_FILTER = "StringListFilter"

CONNECTION_SUFFIX = "Connection"


def connection_type(entity: str) -> str:
    return entity + "Connection"


def edge_type(entity: str) -> str:
    return entity + "Edge"


def filter_type(entity: str) -> str:
    return entity + "Filter"


def list_filter_type(entity: str) -> str:
    return entity + "ListFilter"


def order_type(entity: str) -> str:
    return entity + "Order"


def order_field_type(entity: str) -> str:
    return entity + "OrderField"


def connection_field(name: str) -> str:
    """The connection field of a to-many relation or list root: ``dailyStats`` -> ``dailyStatsConnection``."""
    return name + CONNECTION_SUFFIX


def operators_type(of: FieldType, many: bool = False) -> str:
    """The input type of the operators on a field of this type."""
    if many:
        return STRING_LIST_FILTER
    if isinstance(of, EnumType):
        return of.name + "Filter"
    return {Scalar.ID: "String"}.get(of, of.value) + "Filter"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).upper()


def order_value(field: str, relation: str | None = None) -> str:
    """``shortName`` -> ``SHORT_NAME``; through a relation ``issuer``: ``ISSUER_SHORT_NAME``."""
    return _snake(field) if relation is None else _snake(relation) + "_" + _snake(field)
