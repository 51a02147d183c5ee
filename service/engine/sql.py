"""All the SQL text the engine writes: one statement per root field that builds the field's JSON.

``render(plan, values)`` turns a root's plan into ``Rendered(sql, getters, checks)``. ``values`` are the
root's argument values per slot (after defaults); the text depends only on their shape (which filter
operators, which orderings, which optional arguments are given), and every value travels as a parameter
that a ``Getter`` reads from each request's values, so one rendering serves every request of that shape.

Shapes of the SQL:

- an object: ``row_to_json`` of a one-row select whose columns are named by the keys (compact text,
  ``{"k":v}``; ``json_build_object`` writes ``{"k" : v}``, 11 % more bytes), over a row alias;
  decimals as fixed-point text, date-times as ISO text in UTC, renamed enum labels mapped to their names;
- a to-one relation: ``(SELECT <object> FROM <rows> LIMIT 1)``, the object written as a list's items are;
- a list: ``json_agg`` over the rows with their sort keys (``_k0``...) computed once, ordered and limited;
  each row's object is the row of a ``LATERAL`` select the planner pulls up (``each_row``), not a
  subquery run per row;
- a connection: the page (``LIMIT n + 1`` after the keyset condition, numbered), ``json_agg`` of edges and
  nodes, ``pageInfo`` from the extra row and the cursors, ``count(*)`` only when ``totalCount`` is asked;
- filters: every comparison is two-valued (``coalesce(cond, false)``), so ``f`` and ``not: f`` partition
  a list; to-one relations by ``EXISTS``, to-many by ``EXISTS``/``NOT EXISTS`` (some/none/every).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.engine.plan import Conn, Many, Nodes, Obj, One, Part, RootPlan, Slot, Value
from service.model import naming
from service.model.catalog import Catalog, FilterField, OrderChoice
from service.model.common import like_pattern
from service.model.declare import (
    NO_DEFAULT,
    Arg,
    Check,
    Column,
    Entity,
    EnumType,
    FieldType,
    OrderKey,
    Relation,
    Root,
    RootKind,
    Scalar,
)

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_KEYS = 50  # json_build_object takes at most 100 arguments
MAX_KEY_BYTES = 63  # a longer column name is truncated by PostgreSQL (NAMEDATALEN - 1)


# --- getters: where each parameter's value comes from, per request ------------------------------------


@dataclass(frozen=True, slots=True)
class RunValues:
    """One request's values for one root: per slot the argument values (after defaults) and the prepared
    parameters, and the day."""

    values: Sequence[Mapping[str, Any]]
    params: Sequence[Mapping[str, Any]]
    today: Any


@dataclass(frozen=True, slots=True)
class Param:
    slot: int
    name: str

    def get(self, run: RunValues) -> Any:
        return run.params[self.slot].get(self.name)


@dataclass(frozen=True, slots=True)
class Leaf:
    """A value inside a filter argument, at ``path``."""

    slot: int
    path: tuple[str | int, ...]
    transform: Callable[[Any], Any] | None = None

    def get(self, run: RunValues) -> Any:
        value: Any = run.values[self.slot]["filter"]
        for step in self.path:
            value = value[step]
        return value if self.transform is None else self.transform(value)


@dataclass(frozen=True, slots=True)
class Const:
    value: Any

    def get(self, run: RunValues) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Today:
    def get(self, run: RunValues) -> Any:
        return run.today


Getter = Param | Leaf | Const | Today


@dataclass(frozen=True, slots=True)
class Rendered:
    sql: str
    getters: tuple[Getter, ...]
    checks: tuple[Check, ...]


def sql_value(of: FieldType, value: Any) -> Any:
    """An argument's value as its SQL parameter: enum names become the database's labels."""
    if value is None or not isinstance(of, EnumType):
        return value
    if isinstance(value, list):
        return [of.label(v) for v in value]
    return of.label(value)


def _sql_type(of: FieldType) -> str:
    return "text" if isinstance(of, EnumType) else of.sql_type


@dataclass(frozen=True, slots=True)
class _Key:
    """A sort key rendered over a row alias."""

    sql: str
    descending: bool
    type: str
    nullable: bool


@dataclass
class _Params:
    """Where a declaration's placeholders get their values: its slot, or (in filters and orderings, where
    the relation has no slot) its defaults and the arguments it inherits from the list."""

    args: tuple[Arg, ...]
    slot: Slot | None = None
    params: Mapping[str, str] | None = None
    fragments: Mapping[str, str] | None = None
    inherit_from: Slot | None = None
    inherit: tuple[str, ...] = ()


class Statement:
    def __init__(self, catalog: Catalog, values: Sequence[Mapping[str, Any]]) -> None:
        self.catalog = catalog
        self.values = values
        self.getters: list[Getter] = []
        self._bound: dict[tuple[Getter, str], str] = {}
        self._aliases = 0

    def alias(self, prefix: str = "t") -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def bind(self, getter: Getter, sql_type: str) -> str:
        key = (getter, sql_type)
        found = self._bound.get(key)
        if found is None:
            self.getters.append(getter)
            found = self._bound[key] = f"${len(self.getters)}::{sql_type}"
        return found

    # --- placeholders ------------------------------------------------------------------------------------

    def fill(self, text: str, aliases: Mapping[str, str], scope: _Params | None = None) -> str:
        if scope is not None and scope.fragments:
            fragments = scope.fragments
            for _ in range(3):  # fragments may hold fragments
                text = PLACEHOLDER.sub(lambda m: fragments.get(m[1], m[0]), text)

        def one(match: re.Match[str]) -> str:
            name = match[1]
            if name in aliases:
                return aliases[name]
            if scope is None:
                raise KeyError(f"no value for {{{name}}}")
            return self._resolve(scope, name)

        return PLACEHOLDER.sub(one, text)

    def _resolve(self, scope: _Params, name: str) -> str:
        for arg in scope.args:
            if arg.param_name != name:
                continue
            if scope.slot is not None:
                return self.bind(Param(scope.slot.index, name), arg.sql_type)
            source = scope.inherit_from
            if arg.name in scope.inherit and source is not None:
                for inherited in source.args:
                    if inherited.name == arg.name:
                        return self.bind(Param(source.index, inherited.param_name), arg.sql_type)
            if arg.today:
                return self.bind(Today(), "date")
            default = arg.default if arg.default is not NO_DEFAULT else arg.fallback
            default = None if default is NO_DEFAULT else sql_value(arg.type, default)
            return self.bind(Const(default), arg.sql_type)
        if scope.slot is not None and scope.params and name in scope.params:
            return self.bind(Param(scope.slot.index, name), scope.params[name])
        raise KeyError(f"no value for {{{name}}}")

    def _slot_params(self, slot: Slot | None, decl: Root | Relation | Column) -> _Params | None:
        if slot is None:
            if isinstance(decl, Relation) and decl.args:
                return _Params(decl.args)  # defaults
            return None
        fragments = None
        if slot.fragments is not None:
            values = self.values[slot.index]
            fragments = slot.fragments({a.name: values.get(a.name) for a in slot.args if a.shape})
        return _Params(slot.args, slot=slot, params=slot.params, fragments=fragments)

    # --- objects -----------------------------------------------------------------------------------------

    def obj(self, obj: Obj, t: str) -> str:
        return _json_object(self.pairs(obj, t))

    def pairs(self, obj: Obj, t: str) -> list[tuple[str, str]]:
        return [(item.key, self.item(item, t)) for item in obj.items]

    def each_row(self, pairs: _Pairs) -> tuple[str, str]:
        """A list's object per row: the expression to aggregate and a ``LATERAL`` item to join to the rows.

        The object is the row of a select in the ``FROM`` (a nested object, an edge's node, the row of a
        select in that select's ``FROM``), which the planner pulls up into the list's query, so that
        ``row_to_json`` of it writes the same text as ``_json_object`` without a subquery run per row:
        L3's statement (250 edges) cost 27 % less. A key too long for a column name keeps
        ``_json_object``."""
        select = self._row_select(pairs)
        if select is None:
            return _json_object(_flat(pairs)), ""
        e = self.alias("e")
        return f"row_to_json({e})", f" CROSS JOIN LATERAL ({select}) {e}"

    def _row_select(self, pairs: _Pairs) -> str | None:
        if not pairs or any(len(key.encode()) > MAX_KEY_BYTES for key, _ in pairs):
            return None
        columns, nested = [], []
        for key, value in pairs:
            if not isinstance(value, str):
                select = self._row_select(value)
                if select is None:
                    value = _json_object(_flat(value))
                else:
                    n = self.alias("n")
                    nested.append(f"({select}) {n}")
                    value = n
            columns.append(f'{value} AS "{key}"')
        return f"SELECT {', '.join(columns)}" + (f" FROM {', '.join(nested)}" if nested else "")

    def item(self, item: Value | One | Many | Conn, t: str) -> str:
        if isinstance(item, Value):
            return self.value(item, t)
        if isinstance(item, One):
            return self.one(item, t)
        if isinstance(item, Many):
            return self.many(item, t)
        return self.connection(item, t)

    def value(self, item: Value, t: str) -> str:
        if item.kind == "typename":
            return f"'{item.typename}'"
        if item.kind == "null":
            return "NULL"
        if item.kind == "id":
            assert item.entity is not None and item.entity.node is not None
            return f"('{item.entity.name}:' || {self.fill(item.entity.node.sql, {'t': t})})"
        column = item.column
        assert column is not None
        expr = self.fill(column.sql, {"t": t}, self._slot_params(item.slot, column))
        return _output(column.type, expr, column.many)

    def one(self, item: One, p: str) -> str:
        c = self.alias()
        target = self.catalog.entities[item.relation.target]
        scope = self._slot_params(item.slot, item.relation)
        rows = self.rows(target, item.relation, c, p, scope, whens=item.slot)
        return self.first_object(item.obj, c, rows)

    def first_object(self, obj: Obj, c: str, rows: str) -> str:
        """The object of the first of ``rows`` (``<source> AS c WHERE ...``), written as a list's items are
        (``each_row``): one subquery, not two."""
        body, each = self.each_row(self.pairs(obj, c))
        return f"(SELECT {body} FROM {_joined(rows, c, each)} LIMIT 1)"

    # --- rows ----------------------------------------------------------------------------------------------

    def rows(
        self,
        entity: Entity,
        decl: Relation | Root,
        c: str,
        p: str | None,
        scope: _Params | None,
        *,
        whens: Slot | None,
        conditions: Sequence[str] = (),
    ) -> str:
        """``<source> AS c WHERE ...``: the relation's (or root's) rows, related to ``p``."""
        source = decl.source or entity.source
        aliases = {"c": c} if p is None else {"c": c, "p": p}
        filled = self.fill(source, aliases, scope)
        from_ = filled if "{c}" in source else f"{filled} AS {c}"
        where = [self.fill(decl.join if isinstance(decl, Relation) else decl.where, aliases, scope)]
        if whens is not None:
            values = self.values[whens.index]
            for arg in decl.args:
                if arg.when is not None and values.get(arg.name) is not None:
                    where.append(self.fill(arg.when, aliases, scope))
        where += conditions
        kept = [w for w in where if w.strip() != "true"]
        return from_ + (" WHERE " + " AND ".join(kept) if kept else "")

    def _list_rows(
        self, slot: Slot, entity: Entity, decl: Relation | Root, c: str, p: str | None
    ) -> tuple[_Params | None, list[str]]:
        """The list's parameters and its filter condition (if any) over ``c``."""
        scope = self._slot_params(slot, decl)
        conditions = []
        given = self.values[slot.index].get("filter")
        if "filter" in slot.generic and given is not None:
            conditions.append(self.condition(given, entity, c, slot, (), inherit_from=slot))
        return scope, conditions

    # --- orderings -----------------------------------------------------------------------------------------

    def order_keys(self, slot: Slot, entity: Entity, decl: Relation | Root, c: str) -> list[_Key]:
        keys = []
        for kind in key_plan(self.catalog, slot, entity, decl, self.values[slot.index]):
            if isinstance(kind, OrderKey):
                keys.append(self._key(kind, c))
            else:
                choice, descending = kind
                keys.append(self._choice(choice, descending, c, slot))
        return keys

    def _key(self, key: OrderKey, t: str) -> _Key:
        return _Key(self.fill(key.sql, {"t": t}), key.descending, key.type, key.nullable)

    def _choice(self, choice: OrderChoice, descending: bool, c: str, slot: Slot) -> _Key:
        column = choice.column
        sql_type = _sql_type(column.type)
        if choice.relation is None:
            return _Key(
                _sortable(column, self.fill(column.sql, {"t": c})), descending, sql_type, column.nullable
            )
        relation = choice.relation
        x = self.alias("x")
        target = self.catalog.entities[relation.target]
        scope = _Params(relation.args, inherit_from=slot, inherit=relation.inherit) if relation.args else None
        rows = self.rows(target, relation, x, c, scope, whens=None)
        expr = f"(SELECT {_sortable(column, self.fill(column.sql, {'t': x}))} FROM {rows} LIMIT 1)"
        return _Key(expr, descending, sql_type, choice.nullable)

    # --- filters -------------------------------------------------------------------------------------------

    def condition(
        self,
        given: Mapping[str, Any],
        entity: Entity,
        t: str,
        slot: Slot,
        path: tuple[str | int, ...],
        inherit_from: Slot | None,
    ) -> str:
        fields = self.catalog.filter_fields(entity)
        parts: list[str] = []
        for name, value in given.items():
            if value is None:
                continue
            here = (*path, name)
            if name in ("and", "or"):
                subs = [
                    self.condition(v, entity, t, slot, (*here, i), inherit_from) for i, v in enumerate(value)
                ]
                joiner = " AND " if name == "and" else " OR "
                parts.append(
                    "(" + joiner.join(subs) + ")" if subs else ("true" if name == "and" else "false")
                )
            elif name == "not":
                parts.append("NOT " + self.condition(value, entity, t, slot, here, inherit_from))
            else:
                parts.append(self._filter_field(fields[name], value, t, slot, here, inherit_from))
        return "(" + " AND ".join(parts) + ")" if parts else "true"

    def _filter_field(
        self,
        ff: FilterField,
        value: Any,
        t: str,
        slot: Slot,
        path: tuple[str | int, ...],
        inherit_from: Slot | None,
    ) -> str:
        if ff.kind == "where":
            where = ff.where
            assert where is not None
            bound = self.bind(Leaf(slot.index, path, where.transform), _sql_type(where.type))
            return f"coalesce({self.fill(where.sql, {'t': t, 'value': bound})}, false)"
        if ff.kind == "column":
            assert ff.column is not None
            return self._operators(ff.column, value, t, slot, path)
        relation = ff.relation
        assert relation is not None
        target = self.catalog.entities[relation.target]
        x = self.alias("x")
        scope = None
        if relation.args:
            scope = _Params(relation.args, inherit_from=inherit_from, inherit=relation.inherit)

        def exists(condition: str) -> str:
            rows = self.rows(target, relation, x, t, scope, whens=None, conditions=[condition])
            return f"EXISTS (SELECT 1 FROM {rows})"

        if ff.kind == "one":
            return exists(self.condition(value, target, x, slot, path, None))
        parts = []
        for quantifier, sub_value in value.items():
            if sub_value is None:
                continue
            sub = self.condition(sub_value, target, x, slot, (*path, quantifier), None)
            if quantifier == "some":
                parts.append(exists(sub))
            elif quantifier == "none":
                parts.append("NOT " + exists(sub))
            else:  # every
                parts.append("NOT " + exists(f"NOT {sub}"))
        return "(" + " AND ".join(parts) + ")" if parts else "true"

    def _operators(
        self, column: Column, ops: Mapping[str, Any], t: str, slot: Slot, path: tuple[str | int, ...]
    ) -> str:
        expr = self.fill(column.sql, {"t": t})
        of = column.type
        enum = of if isinstance(of, EnumType) else None
        if enum is not None:
            expr = f"({expr})::text"
        base = _sql_type(of)
        to_label = (lambda v: sql_value(enum, v)) if enum is not None else None
        parts = []
        for op, value in ops.items():
            if value is None:
                continue
            leaf = (*path, op)
            if op == "isNull":
                parts.append(f"(({expr}) IS NULL) = {self.bind(Leaf(slot.index, leaf), 'boolean')}")
            elif op == "isEmpty":
                parts.append(f"(cardinality({expr}) = 0) = {self.bind(Leaf(slot.index, leaf), 'boolean')}")
            elif op == "has":
                parts.append(f"coalesce({expr} @> ARRAY[{self.bind(Leaf(slot.index, leaf), 'text')}], false)")
            elif op == "hasAny":
                parts.append(f"coalesce({expr} && {self.bind(Leaf(slot.index, leaf), 'text[]')}, false)")
            elif op in ("contains", "startsWith"):
                pattern = _CONTAINS if op == "contains" else _STARTS_WITH
                parts.append(
                    f"coalesce({expr} ILIKE {self.bind(Leaf(slot.index, leaf, pattern), 'text')}, false)"
                )
            elif op == "in":
                bound = self.bind(Leaf(slot.index, leaf, to_label), base + "[]")
                parts.append(f"coalesce({expr} = ANY({bound}), false)")
            else:
                bound = self.bind(Leaf(slot.index, leaf, to_label), base)
                parts.append(f"coalesce({expr} {_COMPARE[op]} {bound}, false)")
        return "(" + " AND ".join(parts) + ")" if parts else "true"

    # --- lists and connections ---------------------------------------------------------------------------

    def many(self, item: Many, p: str | None) -> str:
        lf, slot = item.rows, item.slot
        decl = lf.relation or lf.root
        assert decl is not None
        values = self.values[slot.index]
        c = self.alias()
        scope, conditions = self._list_rows(slot, lf.entity, decl, c, p)
        keys = self.order_keys(slot, lf.entity, decl, c)
        rows = self.rows(lf.entity, decl, c, p, scope, whens=slot, conditions=conditions)
        first = "first" in slot.generic and values.get("first") is not None
        last = "last" in slot.generic and values.get("last") is not None
        body, each = self.each_row(self.pairs(item.obj, c))
        if not first and not last:  # every row: aggregated in order straight from the rows
            rows = _joined(rows, c, each)
            return f"(SELECT coalesce(json_agg({body} ORDER BY {_order(keys)}), '[]'::json) FROM {rows})"
        # Only the first (last) N rows: limited in their order, their sort keys computed once.
        columns = ", ".join(f"{k.sql} AS _k{i}" for i, k in enumerate(keys))
        limit = self.bind(Param(slot.index, "__limit"), "int")
        inner = f"SELECT {c}.*, {columns} FROM {rows} ORDER BY {_order(keys, reverse=last)} LIMIT {limit}"
        outer = _order([_Key(f"{c}._k{i}", k.descending, k.type, k.nullable) for i, k in enumerate(keys)])
        return f"(SELECT coalesce(json_agg({body} ORDER BY {outer}), '[]'::json) FROM ({inner}) {c}{each})"

    def connection(self, item: Conn, p: str | None) -> str:
        lf, slot = item.rows, item.slot
        decl = lf.relation or lf.root
        assert decl is not None
        values = self.values[slot.index]
        backward = values.get("last") is not None
        after, before = values.get("after") is not None, values.get("before") is not None

        def base(alias: str, extra: Sequence[str] = ()) -> str:
            scope, conditions = self._list_rows(slot, lf.entity, decl, alias, p)
            return self.rows(lf.entity, decl, alias, p, scope, whens=slot, conditions=[*conditions, *extra])

        def total() -> str:
            return f"(SELECT count(*) FROM {base(self.alias())})"

        needs_page = any(part.kind not in ("totalCount", "__typename") for part in item.parts)
        if not needs_page:
            pairs = [
                (
                    part.key,
                    total() if part.kind == "totalCount" else f"'{naming.connection_type(lf.entity.name)}'",
                )
                for part in item.parts
            ]
            return _json_object(pairs)

        c = self.alias()
        keys = self.order_keys(slot, lf.entity, decl, c)
        cursor_keys = [_Key(f"{c}._k{i}", k.descending, k.type, k.nullable) for i, k in enumerate(keys)]
        # A sort key that is a subquery (the latest figures: a row lookup and a conversion) is computed
        # once per row, in a select the planner may not flatten (OFFSET 0), and the cursor's bounds and
        # the order read its column; written inline, the key ran once for the select, once for the order
        # and up to three times in each bound (L1: 11 requests/s against the statement's 3x).
        computed = any("SELECT" in k.sql for k in keys)
        bound_keys = cursor_keys if computed else keys
        bounds = []
        if after:
            bounds.append(self._keyset(bound_keys, slot, "after"))
        if before:
            bounds.append(self._keyset(bound_keys, slot, "before"))
        limit = self.bind(Param(slot.index, "__limit"), "int")
        columns = ", ".join(f"{k.sql} AS _k{i}" for i, k in enumerate(keys))
        if computed:
            keyed = f"SELECT {c}.*, {columns} FROM {base(c)} OFFSET 0"
            where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
            inner = (
                f"SELECT {c}.* FROM ({keyed}) {c}{where} "
                f"ORDER BY {_order(cursor_keys, reverse=backward)} LIMIT {limit} + 1"
            )
        else:
            inner = (
                f"SELECT {c}.*, {columns} FROM {base(c, bounds)} "
                f"ORDER BY {_order(keys, reverse=backward)} LIMIT {limit} + 1"
            )
        # The page's last row is the one numbered least(rows read, page size): counted once here, so that
        # its cursor (endCursor, or startCursor going backward) is built for that row alone. Picked out
        # by sorting every row's cursor instead, it cost L3's statement 30 % of its time.
        last = "startCursor" if backward else "endCursor"
        counted = any(
            part.kind == "pageInfo" and any(sub.kind == last for sub in part.parts) for part in item.parts
        )
        numbered = (
            f"SELECT {c}.*, row_number() OVER (ORDER BY {_order(cursor_keys, reverse=backward)}) AS _n"
            + (", count(*) OVER () AS _of" if counted else "")
            + f" FROM ({inner}) {c}"
        )
        cursors: list[str] = []

        def cursor() -> str:
            """The cursor of the row (bound only when a cursor is asked for)."""
            if not cursors:
                cursors.append(self._cursor(cursor_keys, slot))
            return cursors[0]

        def beyond(which: str) -> str:
            """Rows on the other side of the ``after``/``before`` cursor exist."""
            if values.get(which) is None:
                return "false"
            x = self.alias()
            condition = self._keyset(self.order_keys(slot, lf.entity, decl, x), slot, which)
            return f"EXISTS (SELECT 1 FROM {base(x, [f'NOT {condition}'])})"

        in_page = f"FILTER (WHERE {c}._n <= {limit})"
        ordered = _order(cursor_keys)
        pairs = []
        joined = ""
        for part in item.parts:
            if part.kind == "totalCount":
                pairs.append((part.key, total()))
            elif part.kind == "__typename":
                pairs.append((part.key, f"'{naming.connection_type(lf.entity.name)}'"))
            elif part.kind in ("nodes", "edges"):
                if part.kind == "nodes":
                    assert part.obj is not None
                    row: _Pairs = self.pairs(part.obj, c)
                else:
                    edge: list[tuple[str, str | _Pairs]] = []
                    for sub in part.parts:
                        if sub.kind == "cursor":
                            edge.append((sub.key, cursor()))
                        elif sub.kind == "node":
                            assert sub.obj is not None
                            edge.append((sub.key, self.pairs(sub.obj, c)))
                        else:
                            edge.append((sub.key, f"'{naming.edge_type(lf.entity.name)}'"))
                    row = edge
                body, each = self.each_row(row)
                joined += each
                agg = f"json_agg({body} ORDER BY {ordered}) {in_page}"
                pairs.append((part.key, f"coalesce({agg}, '[]'::json)"))
            else:  # pageInfo
                pairs.append((part.key, self._page_info(part, c, beyond, cursor, limit, backward)))
        return f"(SELECT {_json_object(pairs)} FROM ({numbered}) {c}{joined})"

    def _page_info(
        self,
        part: Part,
        c: str,
        beyond: Callable[[str], str],
        cursor: Callable[[], str],
        limit: str,
        backward: bool,
    ) -> str:
        def first_cursor() -> str:
            return f"min({cursor()}) FILTER (WHERE {c}._n = 1)"

        def last_cursor() -> str:
            return f"min({cursor()}) FILTER (WHERE {c}._n = least({c}._of, {limit}))"

        def more(other: str) -> str:
            return f"(count({c}._n) > {limit} OR {beyond(other)})"  # {c}'s rows: see _json_object

        fields: dict[str, Callable[[], str]] = {
            "hasNextPage": (lambda: beyond("before")) if backward else (lambda: more("before")),
            "hasPreviousPage": (lambda: more("after")) if backward else (lambda: beyond("after")),
            "startCursor": last_cursor if backward else first_cursor,
            "endCursor": first_cursor if backward else last_cursor,
            "__typename": lambda: f"'{naming.PAGE_INFO}'",
        }
        return _json_object([(sub.key, fields[sub.kind]()) for sub in part.parts])

    def _keyset(self, keys: list[_Key], slot: Slot, which: str) -> str:
        """The rows after (or before) the cursor's position in the order of ``keys``."""
        after = which == "after"
        values = [
            f"({self.bind(Param(slot.index, f'__{which}{i}'), 'text')})::{k.type}" for i, k in enumerate(keys)
        ]

        def beyond(key: _Key, value: str) -> str:
            op = ">" if (not key.descending) == after else "<"
            if not key.nullable:
                return f"{key.sql} {op} {value}"
            if after:
                return f"({value} IS NOT NULL AND ({key.sql} IS NULL OR {key.sql} {op} {value}))"
            return f"({key.sql} IS NOT NULL AND ({value} IS NULL OR {key.sql} {op} {value}))"

        def same(key: _Key, value: str) -> str:
            return f"{key.sql} IS NOT DISTINCT FROM {value}" if key.nullable else f"{key.sql} = {value}"

        expr = beyond(keys[-1], values[-1])
        for key, value in zip(reversed(keys[:-1]), reversed(values[:-1]), strict=True):
            expr = f"({beyond(key, value)} OR ({same(key, value)} AND {expr}))"
        if len(keys) > 1 and not keys[0].nullable:
            # The first key's bound on its own as well, which an index on it can start from: without it
            # the OR is a filter over every row before the cursor (L3, a fund's page 2: 250 rows read
            # and dropped; the statement 5.7 -> 3.6 ms).
            op = ">=" if (not keys[0].descending) == after else "<="
            expr = f"{keys[0].sql} {op} {values[0]} AND {expr}"
        return f"({expr})"

    def _cursor(self, keys: list[_Key], slot: Slot) -> str:
        fp = self.bind(Param(slot.index, "__fp"), "text")
        parts = ", ".join(f"{k.sql}::text" for k in keys)
        return (
            f"translate(encode(convert_to(json_build_array({fp}, {parts})::text, 'UTF8'), 'base64'), "
            "E'\\n', '')"
        )

    # --- relay ---------------------------------------------------------------------------------------------

    def nodes(self, item: Nodes) -> str:
        slot = item.slot
        if item.many:
            k = self.alias("k")
            ref = {name: f"{k}.{name}" for name in ("type", "k1", "k2", "legacy")}
        else:
            ref = {
                "type": self.bind(Param(slot.index, "type"), "text"),
                "k1": self.bind(Param(slot.index, "k1"), "text"),
                "k2": self.bind(Param(slot.index, "k2"), "text"),
                "legacy": self.bind(Param(slot.index, "legacy"), "bigint"),
            }
        cases = []
        for name, obj in item.objs.items():
            entity = obj.entity
            assert entity.node is not None
            c = self.alias()
            lookup = self.fill(entity.node.lookup, {"t": c, "k1": ref["k1"], "k2": ref["k2"]})
            legacy = ref["legacy"]
            cases.append(
                f"WHEN '{name}' THEN (SELECT {self.obj(obj, c)} FROM {entity.source} AS {c} "
                f"WHERE {c}.id = {legacy} OR ({legacy} IS NULL AND {lookup}) LIMIT 1)"
            )
        case = f"CASE {ref['type']} {' '.join(cases)} END"
        if not item.many:
            return case
        arrays = ", ".join(
            self.bind(Param(slot.index, name), sql_type)
            for name, sql_type in (
                ("types", "text[]"),
                ("k1s", "text[]"),
                ("k2s", "text[]"),
                ("legacies", "bigint[]"),
            )
        )
        return (
            f"(SELECT coalesce(json_agg({case} ORDER BY {k}.ord), '[]'::json) "
            f"FROM unnest({arrays}) WITH ORDINALITY AS {k} (type, k1, k2, legacy, ord))"
        )


def key_plan(
    catalog: Catalog, slot: Slot, entity: Entity, decl: Relation | Root, values: Mapping[str, Any]
) -> list[OrderKey | tuple[OrderChoice, bool]]:
    """A list's sort keys: the orderings asked for (or the declared default), then the entity's key."""
    chosen = values.get("orderBy") if "orderBy" in slot.generic else None
    keys: list[OrderKey | tuple[OrderChoice, bool]] = []
    if chosen:
        choices = catalog.order_choices(entity)
        keys += [(choices[pick["field"]], pick["direction"] == "DESC") for pick in chosen]
    else:
        keys += decl.order
    seen = {k.sql for k in keys if isinstance(k, OrderKey)}
    seen |= {k[0].column.sql for k in keys if not isinstance(k, OrderKey) and k[0].relation is None}
    keys += [k for k in entity.key if k.sql not in seen]
    return keys


def key_types(
    catalog: Catalog, slot: Slot, entity: Entity, decl: Relation | Root, values: Mapping[str, Any]
) -> list[str]:
    """The SQL types of a list's sort keys, in order (what its cursors carry)."""
    return [
        k.type if isinstance(k, OrderKey) else _sql_type(k[0].column.type)
        for k in key_plan(catalog, slot, entity, decl, values)
    ]


def render(catalog: Catalog, plan: RootPlan, values: Sequence[Mapping[str, Any]]) -> Rendered:
    """The root's statement for these argument values (the caller keeps it per shape)."""
    st = Statement(catalog, values)
    root = plan.root
    item = plan.item
    scope = st._slot_params(plan.slot, root)
    if root.kind is RootKind.VALUE:
        assert root.type is not None
        expr = f"to_json({_output(root.type, st.fill(root.sql, {}, scope), False)})"
    elif isinstance(item, Many):
        expr = st.many(item, None)
    elif isinstance(item, Conn):
        expr = st.connection(item, None)
    elif isinstance(item, Nodes):
        expr = st.nodes(item)
    else:
        assert isinstance(item, Obj)
        c = st.alias()
        rows = st.rows(item.entity, root, c, None, scope, whens=plan.slot)
        expr = st.first_object(item, c, rows)
    sql = f"SELECT ({expr})::text"
    if root.checks:
        whens = " ".join(
            f"WHEN {st.fill(check.sql, {}, scope)} THEN {i}" for i, check in enumerate(root.checks)
        )
        sql += f", CASE {whens} END"
    return Rendered(sql, tuple(st.getters), root.checks)


# --- helpers ---------------------------------------------------------------------------------------------

_COMPARE = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _contains(value: Any) -> str:
    return like_pattern(value)


def _starts_with(value: Any) -> str:
    return like_pattern(value, prefix=True)


_CONTAINS: Callable[[Any], Any] = _contains
_STARTS_WITH: Callable[[Any], Any] = _starts_with


# An object's keys and values; a value that is not text is a nested object (an edge's node).
_Pairs = Sequence[tuple[str, "str | _Pairs"]]


def _joined(rows: str, c: str, each: str) -> str:
    """``rows`` (``<source> AS c WHERE ...``) with ``each`` (a ``LATERAL`` item) joined to them, wrapped
    in a select so that the join comes before the condition (the planner flattens it)."""
    return f"(SELECT {c}.* FROM {rows}) {c}{each}" if each else rows


def _flat(pairs: _Pairs) -> list[tuple[str, str]]:
    """``pairs`` with each nested object written by ``_json_object``."""
    return [(key, value if isinstance(value, str) else _json_object(_flat(value))) for key, value in pairs]


def _json_object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object of ``pairs`` in their order, as compact text: ``row_to_json`` writes ``{"k":v,...}``
    at the same cost in PostgreSQL as ``json_build_object``, which writes ``{"k" : v, ...}`` (docs/adr/0016).
    An aggregate among the expressions must name a column of the row it aggregates (``count(c._n)``, not
    ``count(*)``), so that it belongs to that row's query and not to this one-row select. A key longer
    than a column name may be (GraphQL aliases may be) falls back to ``json_build_object``."""
    if not pairs:
        return "'{}'::json"
    if any(len(key.encode()) > MAX_KEY_BYTES for key, _ in pairs) and len(pairs) <= MAX_KEYS:
        return "json_build_object(" + ", ".join(f"'{key}', {expr}" for key, expr in pairs) + ")"
    columns = ", ".join(f'{expr} AS "{key}"' for key, expr in pairs)
    return f"(SELECT row_to_json(o) FROM (SELECT {columns}) o)"


def _output(of: FieldType, expr: str, many: bool) -> str:
    """A value as the schema's serializers would write it."""
    if many:
        return expr
    if of is Scalar.DECIMAL or of is Scalar.ID:
        return f"({expr})::text"
    if of is Scalar.DATETIME:
        return f"((to_json(({expr}) AT TIME ZONE 'UTC') #>> '{{}}') || '+00:00')"
    if isinstance(of, EnumType) and of.renamed:
        branches = " ".join(f"WHEN '{v.label}' THEN '{v.name}'" for v in of.values if v.label is not None)
        return f"(CASE ({expr})::text {branches} END)"
    return expr


def _sortable(column: Column, expr: str) -> str:
    """Enums sort (and compare in cursors) by their labels as text."""
    return f"({expr})::text" if isinstance(column.type, EnumType) else expr


def _order(keys: Sequence[_Key], reverse: bool = False) -> str:
    parts = []
    for key in keys:
        descending = key.descending != reverse
        direction = "DESC" if descending else "ASC"
        if key.nullable:
            direction += " NULLS FIRST" if reverse else " NULLS LAST"
        parts.append(f"{key.sql} {direction}")
    return ", ".join(parts)
