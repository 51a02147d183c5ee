"""Execution: a plan run with one request's variables, one statement per root field, PostgreSQL's JSON text
spliced into the response bytes.

Per root field: read each slot's argument values (defaults, inherited list arguments, today), check them
and derive the SQL parameters (``BadInput`` and ``Forbidden`` end the root field here, before any SQL),
pick the statement rendered for their shape (rendering it the first time), run it. An error nulls its
root field only: the error's ``path`` is the root's key, and for an argument of a nested field its
``extensions.field`` names that field. Fields the key may not see are null with a FORBIDDEN error at
each place they would have been (found in the answer when they sit inside lists).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError
from graphql.execution.values import VariableValues, get_argument_values

from service.arguments import check_page
from service.db.client import Database
from service.engine import cursors, ids
from service.engine.plan import Constant, Denied, DocumentPlan, RootPlan, Slot, plain
from service.engine.sql import Rendered, RunValues, key_types, render, sql_value
from service.errors import AppError, BadInput, Forbidden, NotFound
from service.model.catalog import Catalog, FilterField
from service.model.declare import NO_DEFAULT, Context, Entity, Relation, Root

log = logging.getLogger("connectgraph.engine")

INTERNAL = "INTERNAL_SERVER_ERROR"
MAX_SHAPES = 64  # statements kept per root field of a plan (one per shape of its arguments)


@dataclass(frozen=True, slots=True)
class Limits:
    """Page sizes: the largest ``first``/``last``, the default page, the largest page of a time series."""

    max_page_size: int = 500
    default_page_size: int = 50
    max_series_page_size: int = 10_000


@dataclass(slots=True)
class Bound:
    """A root field bound for one request: its statement and arguments, or its ``answer`` already."""

    rp: RootPlan | Constant
    rendered: Rendered | None = None
    arguments: list[Any] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    answer: tuple[str, list[dict[str, Any]]] | None = None
    failure: Exception | None = None  # an unexpected error while binding: INTERNAL when run


@dataclass
class Answer:
    """A response body, the codes of its errors (for metrics and logs), and whether any root field was
    answered (not: the whole request failed, e.g. the database was unavailable)."""

    body: bytes
    error_codes: list[str] = field(default_factory=list)
    answered: bool = True


def _location(node: FieldNode) -> list[dict[str, int]] | None:
    if node.loc is None:
        return None
    where = node.loc.source.get_location(node.loc.start)
    return [{"line": where.line, "column": where.column}]


def error_entry(
    error: AppError | None,
    path: Sequence[str | int],
    node: FieldNode | None,
    *,
    code: str | None = None,
    message: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An error as GraphQL sends it: message, locations, path, ``extensions.code`` and details."""
    extensions: dict[str, Any] = {"code": code or (error.code if error else INTERNAL)}
    if error is not None:
        extensions.update({k: v for k, v in error.details.items() if isinstance(v, str | int | float | bool)})
    if extra:
        extensions.update(extra)
    entry: dict[str, Any] = {"message": message or (error.message if error else "Internal server error")}
    locations = _location(node) if node is not None else None
    if locations:
        entry["locations"] = locations
    entry["path"] = list(path)
    entry["extensions"] = extensions
    return entry


class Runner:
    """Runs plans: the catalog, the limits and how unexpected errors are shown (masked in production)."""

    def __init__(self, catalog: Catalog, limits: Limits, *, mask_errors: bool = False) -> None:
        self.catalog = catalog
        self.limits = limits
        self.mask_errors = mask_errors
        self.nodes = {e.name: e for e in catalog.nodes}

    async def run(
        self,
        plan: DocumentPlan,
        db: Database,
        variables: VariableValues,
        today: date,
        *,
        scopes: frozenset[str],
        request_id: str | None = None,
        bound: list[Bound] | None = None,
    ) -> Answer:
        """The answer: each root field bound to its statement (``bind``; ``bound`` when the caller kept
        this request's from an earlier time) and run."""
        if bound is None:
            bound = self.bind(plan, variables, today, scopes)
        # Root fields run concurrently (each on its own pool connection); one needs no gathering, nor the
        # lists and generators that put several together.
        if len(bound) == 1:
            only = bound[0]
            text, errors = await self.execute(only, db, request_id)
            body = b'{"data":{' + f'"{only.rp.key}":{text}'.encode() + b"}}"
            answered = text != "null"
        else:
            results = await asyncio.gather(*(self.execute(b, db, request_id) for b in bound))
            errors = [e for _, root_errors in results for e in root_errors]
            data = ",".join(f'"{b.rp.key}":{text}' for b, (text, _) in zip(bound, results, strict=True))
            body = b'{"data":{' + data.encode() + b"}}"
            answered = any(text != "null" for text, _ in results)
        if errors:
            body = b'{"errors":' + orjson.dumps(errors) + b"," + body[1:]
        return Answer(body, [e["extensions"]["code"] for e in errors] if errors else [], answered)

    def bind(
        self, plan: DocumentPlan, variables: VariableValues, today: date, scopes: frozenset[str]
    ) -> list[Bound]:
        """Each root field's statement with its arguments, or its answer when no statement is needed
        (a constant, a refused field, an argument error). The same plan, variables, day and scopes bind
        alike: a caller may keep the result for the same request."""
        return [self._bind(rp, variables, today, scopes) for rp in plan.roots]

    def _bind(
        self, rp: RootPlan | Constant, variables: VariableValues, today: date, scopes: frozenset[str]
    ) -> Bound:
        if isinstance(rp, Constant):
            return Bound(rp, answer=(rp.text, []))
        if rp.refused is not None:
            forbidden = Forbidden(
                f"This field needs the `{rp.refused}` scope, which the API key does not have",
                scope=rp.refused,
            )
            return Bound(rp, answer=("null", [error_entry(forbidden, [rp.key], rp.node)]))
        try:
            values, params = self.prepare(rp, variables, today, scopes)
        except _ArgumentError as failed:
            extra = None if failed.slot.root else {"field": failed.slot.name}
            return Bound(rp, answer=("null", [error_entry(failed.error, [rp.key], rp.node, extra=extra)]))
        try:
            shape = _shape(rp, values)
            rendered = rp.renders.get(shape)
            if rendered is None:
                rendered = render(self.catalog, rp, values)
                if len(rp.renders) < MAX_SHAPES:
                    rp.renders[shape] = rendered
            run = RunValues(values, params, today)
            arguments = [g.get(run) for g in rendered.getters]
        except AppError as error:
            return Bound(rp, answer=("null", [error_entry(error, [rp.key], rp.node)]))
        except Exception as error:
            return Bound(rp, failure=error)
        return Bound(rp, rendered, arguments, values, params)

    async def execute(
        self, bound: Bound, db: Database, request_id: str | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """The root field's JSON text and its errors."""
        if bound.answer is not None:
            return bound.answer
        rp, rendered = bound.rp, bound.rendered
        assert isinstance(rp, RootPlan)
        if bound.failure is not None:
            return self._unexpected(rp, bound.failure, request_id)
        assert rendered is not None
        try:
            if rendered.checks:
                row = await db.fetchrow(rendered.sql, *bound.arguments)
                assert row is not None
                text, problem = row[0], row[1]
                if problem is not None:
                    check = rendered.checks[problem]
                    message = check.message.format(**_names(rp, bound.values, bound.params))
                    return "null", [
                        error_entry(NotFound(message, argument=check.argument), [rp.key], rp.node)
                    ]
            else:
                text = await db.fetchval(rendered.sql, *bound.arguments)
        except AppError as error:
            return "null", [error_entry(error, [rp.key], rp.node)]
        except Exception as error:
            return self._unexpected(rp, error, request_id)
        if text is None:
            root = rp.root
            if root.not_found is not None:
                names = _names(rp, bound.values, bound.params)
                message = root.not_found.format(**names)
                argument = (root.not_found_argument or "").format(**names) or None
                return "null", [error_entry(NotFound(message, argument=argument), [rp.key], rp.node)]
            return "null", self._denied(rp, None)
        return text, self._denied(rp, text) if rp.denied else []  # most roots deny nothing: no call

    def _unexpected(
        self, rp: RootPlan, error: Exception, request_id: str | None
    ) -> tuple[str, list[dict[str, Any]]]:
        """A root field that failed unexpectedly (binding or running it): logged, null, INTERNAL."""
        log.error("unexpected error in root field %s", rp.key, exc_info=error)
        extra = {"requestId": request_id} if self.mask_errors and request_id else None
        message = "Internal server error" if self.mask_errors else "The field could not be answered"
        return "null", [error_entry(None, [rp.key], rp.node, code=INTERNAL, message=message, extra=extra)]

    # --- denied fields -----------------------------------------------------------------------------------

    def _denied(self, rp: RootPlan, text: str | None) -> list[dict[str, Any]]:
        if not rp.denied or text is None:
            return []
        data = orjson.loads(text)
        errors = []
        for denied in rp.denied:
            for path in _paths(data, denied.path[1:], (rp.key,)):
                errors.append(_forbidden(denied, path))
        return errors

    # --- arguments ---------------------------------------------------------------------------------------

    def prepare(
        self, rp: RootPlan, variables: VariableValues, today: date, scopes: frozenset[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Each slot's argument values (after defaults) and SQL parameters, in slot order."""
        values: list[dict[str, Any]] = []
        params: list[dict[str, Any]] = []
        context = Context(today, self.limits.max_page_size)
        for slot in rp.slots:
            try:
                if slot.static is not None:
                    raw = slot.static_plain
                elif slot.reader is not None:
                    raw = slot.reader.read(variables)
                else:
                    raw = get_argument_values(slot.field_def, slot.node, variables)
                given = dict(raw) if slot.static is not None else {k: plain(v) for k, v in raw.items()}
                if slot.parent is not None:
                    inherited = values[slot.parent.index]
                    for name in slot.inherit:
                        if given.get(name) is None and inherited.get(name) is not None:
                            given[name] = inherited[name]
                for arg in slot.args:
                    if given.get(arg.name) is None:
                        if arg.today:
                            given[arg.name] = today
                        elif arg.fallback is not NO_DEFAULT:
                            given[arg.name] = arg.fallback
                prepared: dict[str, Any] = {
                    a.param_name: sql_value(a.type, given.get(a.name)) for a in slot.args
                }
                if slot.prepare is not None:
                    prepared.update(slot.prepare(given, context))
                if slot.generic:
                    self._generic(rp, slot, given, prepared, scopes)
                if rp.root.kind.value in ("node", "nodes") and slot.root:
                    prepared.update(self._ids(given))
            except AppError as error:
                raise _ArgumentError(slot, error) from None
            except GraphQLError as error:
                raise _ArgumentError(slot, BadInput(error.message)) from None
            values.append(given)
            params.append(prepared)
        return values, params

    def _generic(
        self,
        rp: RootPlan,
        slot: Slot,
        given: dict[str, Any],
        prepared: dict[str, Any],
        scopes: frozenset[str],
    ) -> None:
        entity = slot.entity
        assert entity is not None
        maximum = self.limits.max_series_page_size if slot.series else self.limits.max_page_size
        first, last = given.get("first"), given.get("last")
        if "first" in slot.generic:
            check_page("first", first, maximum)
        if "last" in slot.generic:
            check_page("last", last, maximum)
        if first is not None and last is not None and "first" in slot.generic and "last" in slot.generic:
            raise BadInput("Pass `first` or `last`, not both", argument="last")
        if "filter" in slot.generic and given.get("filter") is not None:
            self._filter_scopes(entity, given["filter"], scopes)
        for pick in given.get("orderBy") or () if "orderBy" in slot.generic else ():
            choice = self.catalog.order_choices(entity)[pick["field"]]
            if choice.scope is not None and choice.scope not in scopes:
                raise _needs(f"Ordering by {pick['field']}", choice.scope, "orderBy")
        if slot.connection:
            prepared["__limit"] = (
                first
                if first is not None
                else last
                if last is not None
                else min(self.limits.default_page_size, maximum)
            )
        else:
            prepared["__limit"] = first if first is not None else last
        if slot.connection:
            fp = cursors.fingerprint(slot.name, given)
            prepared["__fp"] = fp
            decl = slot.decl
            assert isinstance(decl, Relation | Root)
            types = key_types(self.catalog, slot, entity, decl, given)
            for which in ("after", "before"):
                if given.get(which) is not None:
                    decoded = cursors.decode(given[which], which, fp, types)
                    for i, value in enumerate(decoded):
                        prepared[f"__{which}{i}"] = value

    def _filter_scopes(self, entity: Entity, given: Mapping[str, Any], scopes: frozenset[str]) -> None:
        fields = self.catalog.filter_fields(entity)
        for name, value in given.items():
            if value is None:
                continue
            if name in ("and", "or"):
                for sub in value:
                    self._filter_scopes(entity, sub, scopes)
            elif name == "not":
                self._filter_scopes(entity, value, scopes)
            else:
                ff: FilterField = fields[name]
                if ff.scope is not None and ff.scope not in scopes:
                    raise _needs(f"Filtering on `{name}`", ff.scope, "filter")
                if ff.relation is not None:
                    target = self.catalog.entities[ff.relation.target]
                    subs = [value] if ff.kind == "one" else [v for v in value.values() if v is not None]
                    for sub in subs:
                        self._filter_scopes(target, sub, scopes)

    def _ids(self, given: Mapping[str, Any]) -> dict[str, Any]:
        if "ids" in given:
            refs = [ids.parse(v, self.nodes, "ids") for v in given["ids"]]
            if len(refs) > self.limits.max_page_size:
                raise BadInput(
                    f"`ids` has {len(refs)} ids; at most {self.limits.max_page_size}",
                    argument="ids",
                    maximum=self.limits.max_page_size,
                )
            return {
                "types": [r.type for r in refs],
                "k1s": [r.keys[0] if r.keys else None for r in refs],
                "k2s": [r.keys[1] if len(r.keys) > 1 else None for r in refs],
                "legacies": [r.legacy for r in refs],
            }
        ref = ids.parse(given["id"], self.nodes, "id")
        return {
            "type": ref.type,
            "k1": ref.keys[0] if ref.keys else None,
            "k2": ref.keys[1] if len(ref.keys) > 1 else None,
            "legacy": ref.legacy,
        }


def _needs(what: str, scope: str, argument: str) -> Forbidden:
    return Forbidden(
        f"{what} needs the `{scope}` scope, which the API key does not have", scope=scope, argument=argument
    )


class _ArgumentError(Exception):
    def __init__(self, slot: Slot, error: AppError) -> None:
        super().__init__(error.message)
        self.slot = slot
        self.error = error


def _names(
    rp: RootPlan, values: Sequence[Mapping[str, Any]], params: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The root's arguments and parameters by name, for its NOT_FOUND messages."""
    if rp.slot is None:
        return {}
    return {**params[rp.slot.index], **values[rp.slot.index]}


def _shape(rp: RootPlan, values: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
    """What the root's SQL text depends on in its argument values."""
    parts: list[Any] = []
    for slot, given in zip(rp.slots, values, strict=True):
        for arg in slot.args:
            value = given.get(arg.name)
            if arg.shape:
                parts.append(tuple(value) if isinstance(value, list) else value)
            elif arg.when is not None:
                parts.append(value is None)
        for name in slot.generic:
            value = given.get(name)
            if name == "filter":
                parts.append(_filter_shape(value))
            elif name == "orderBy":
                parts.append(tuple((p["field"], p["direction"]) for p in value) if value else None)
            else:
                parts.append(value is None)
    return tuple(parts)


def _filter_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, _filter_shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_filter_shape(v) for v in value) if value and isinstance(value[0], dict) else "L"
    return None if value is None else "v"


def _paths(data: Any, rest: tuple[str, ...], here: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    """The concrete paths of a denied field: ``*`` steps into every item of a list."""
    if not rest:
        return [here]
    if data is None:
        return []
    step = rest[0]
    if step == "*":
        if not isinstance(data, list):
            return []
        return [p for i, item in enumerate(data) for p in _paths(item, rest[1:], (*here, i))]
    if not isinstance(data, dict):
        return []
    if len(rest) == 1:
        return [(*here, step)] if step in data else []
    return _paths(data.get(step), rest[1:], (*here, step))


def _forbidden(denied: Denied, path: tuple[str | int, ...]) -> dict[str, Any]:
    return {
        "message": f"This field needs the `{denied.scope}` scope, which the API key does not have",
        "locations": [{"line": denied.line, "column": denied.column}],
        "path": list(path),
        "extensions": {"code": "FORBIDDEN", "scope": denied.scope},
    }
