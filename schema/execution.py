"""Execution: an admitted document answered by the engine (one statement per root field) or by strawberry.

A query may be answered from the answer cache (schema/answers.py) under its digest; otherwise the engine
(``service/engine``) answers it whole, with the plan made for its operation, the key's scopes and the
values of the variables its directives read (kept on the document, schema/documents.py). Documents the
engine does not answer whole (one that also introspects, or every document when compiled execution is
off) and mutations run on strawberry, whose root data fields the engine answers one at a time; each such
query is a fallback, counted by reason in ``connectgraph_engine_fallbacks_total``. The door has parsed
and validated the document already: strawberry is handed the syntax tree (``PreparedDocument``) and
neither parses nor validates again.

Errors are classified by where they arise, never by their message: variables that do not coerce are
BAD_USER_INPUT (checked here before anything runs); an error during execution carries the code of the
domain error it wraps (``schema/errors.py``), and anything else is INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import orjson
from graphql import OperationType
from graphql.execution.values import VariableValues
from strawberry.extensions import SchemaExtension

from schema.answers import AnswerCache, Hit
from schema.context import Context, hong_kong_today
from schema.door import Admitted
from schema.errors import BAD_USER_INPUT, INTERNAL, coded, format_error
from service.auth.access import sha256_hex
from service.data_version import DataVersion
from service.db.client import Database
from service.engine import Bound, Engine, Fallback, Limits, Plan
from service.observability.metrics import record_fallback

UNAVAILABLE = "SERVICE_UNAVAILABLE"


class PreparedDocument(SchemaExtension):
    """Hands strawberry the document the door parsed and validated (``Context.document``), so that it
    neither parses nor validates again. Without one (subscriptions) strawberry does both itself."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context.context
        document = getattr(context, "document", None)
        if document is not None:
            self.execution_context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        if getattr(self.execution_context.context, "document", None) is not None:
            self.execution_context.pre_execution_errors = []  # validated at the door
        yield


@dataclass(slots=True)
class Answer:
    """What execution came to: the JSON body and its status; ``clean`` answers (200, no errors) may be
    kept by the answer cache, ``cache`` says whether it was asked (``hit``/``miss``) and how it went."""

    body: bytes
    status: int = 200
    error_codes: list[str] = field(default_factory=list)
    compiled: bool = False
    cached: bool = False
    clean: bool = False
    cache: str | None = None


@dataclass(slots=True)
class AnswerName:
    """The data version an answer was computed at and the digest naming it (GET ETag, cache key)."""

    version: int
    digest: str


class Executor:
    """``executor.stored(name) or await executor.run(admitted, db, name)``: the answer, from the answer
    cache, else compiled or by strawberry. ``name`` is given only for a document ``cacheable`` says the
    answer cache may keep; None: computed and not kept."""

    def __init__(
        self,
        schema: Any,
        *,
        mask_errors: bool,
        max_page_size: int,
        default_page_size: int,
        max_series_page_size: int = 10_000,
        api_key_secret: str = "",
        compiled: bool = True,
        answers: AnswerCache | None = None,
        versions: DataVersion | None = None,
    ) -> None:
        self.schema = schema
        self.mask_errors = mask_errors
        self.api_key_secret = api_key_secret
        self.compiled = compiled
        self.engine = Engine(
            self.schema._schema,
            limits=Limits(max_page_size, default_page_size, max_series_page_size),
            mask_errors=mask_errors,
        )
        # Finished answers to queries, by digest (schema/answers.py); None or 0 entries: no cache.
        self.answers = answers if answers is not None and answers.enabled else None
        # The data version, from memory while LISTEN hears its changes (service/data_version.py).
        self.versions = versions or DataVersion()

    def cacheable(self, admitted: Admitted) -> bool:
        """Queries only (never mutations), and only those the data version covers."""
        return (
            self.answers is not None
            and not admitted.document.unversioned
            and admitted.operation.operation is OperationType.QUERY
        )

    async def name(self, admitted: Admitted, db: Database) -> AnswerName:
        """The answer's data version and digest. The version comes from memory while announcements are
        heard, else it is read where the answer will be computed (a replica's data and version agree);
        Unavailable when that read fails."""
        return self._named(admitted, await self.versions.current(db))

    def name_now(self, admitted: Admitted) -> AnswerName | None:
        """``name`` without a coroutine while the version is known in memory, else None."""
        version = self.versions.known()
        return None if version is None else self._named(admitted, version)

    def _named(self, admitted: Admitted, version: int) -> AnswerName:
        day = _today()
        key = ("digest", version, day)
        digest = admitted.memo.get(key)
        if digest is None:
            digest = remember(admitted.memo, key, _digest(version, day, admitted))
        return AnswerName(version, digest)

    def stored(self, name: AnswerName) -> Answer | None:
        """The answer the answer cache keeps under ``name`` (a hit), else None: ``run`` then. Without a
        coroutine, so that a hit costs none."""
        assert self.answers is not None
        body = self.answers.stored(name.digest, name.version)
        return None if body is None else Answer(body, cached=True, cache="hit")

    def run(
        self, admitted: Admitted, db: Database, name: AnswerName | None, *, request_id: str | None = None
    ) -> Coroutine[Any, Any, Answer]:
        """The answer once ``stored`` found none: computed, and kept by the answer cache under ``name``
        when it is given (an identical request in flight shares it). Without a name, ``_run``'s coroutine
        itself: a layer that would only await it costs a frame on the call and every resume."""
        if name is None:
            return self._run(admitted, db, request_id)
        return self._kept(admitted, db, name, request_id)

    async def _kept(
        self, admitted: Admitted, db: Database, name: AnswerName, request_id: str | None
    ) -> Answer:
        """The answer computed once for all requests in flight under ``name``, and kept."""
        assert self.answers is not None

        async def compute() -> tuple[Answer, bytes | None]:
            answer = await self._run(admitted, db, request_id)
            return answer, answer.body if answer.clean else None

        answered = await self.answers.missed(name.digest, name.version, compute)
        if isinstance(answered, Hit):
            return Answer(answered.body, cached=True, cache="hit")
        answered.cache = "miss"
        return answered

    async def _run(self, admitted: Admitted, db: Database, request_id: str | None) -> Answer:
        """Compute the answer: the engine's for a query it answers whole, else strawberry's. The engine's
        statements are bound once per day for a request admitted again from memory (``Admitted.memo``)."""
        today = _today_date()
        key = ("bound", today)
        kept = admitted.memo.get(key)
        if kept is None:
            compiled = self._compile(admitted, today)
            if isinstance(compiled, Answer):
                return compiled
            if not isinstance(compiled, tuple):  # not the engine's: strawberry's (a fallback, or a mutation)
                if compiled is not None:
                    record_fallback(compiled)
                return await self._strawberry(admitted, db, request_id)
            kept = remember(admitted.memo, key, compiled)
        plan, coerced, bound = kept
        answer = await plan.run_coerced(db, coerced, today, request_id=request_id, bound=bound)
        # Nothing answered because the database did not: the whole request is unavailable (503).
        status = 503 if UNAVAILABLE in answer.error_codes and not answer.answered else 200
        return Answer(answer.body, status, answer.error_codes, compiled=True, clean=not answer.error_codes)

    def _compile(
        self, admitted: Admitted, today: date
    ) -> tuple[Plan, VariableValues, list[Bound]] | Answer | str | None:
        """The engine's plan, the coerced variables and the bound statements; or the answer to variables
        that do not coerce; or, for a document the engine does not answer, why (None: a mutation)."""
        operation = admitted.operation
        plan: Plan | None = None
        fallback = None
        if operation.operation is OperationType.QUERY:
            if not self.compiled:
                fallback = "disabled"
            else:
                try:
                    plan = self._plan(admitted)
                except Fallback as reason:
                    fallback = reason.reason
        hide = not admitted.suggestions
        coerced = (
            self.engine.coerce(plan.prepared, admitted.variables, hide_suggestions=hide)
            if plan is not None
            else self.engine.variables(operation, admitted.variables, hide_suggestions=hide)
        )
        if isinstance(coerced, list):  # the client's variables: nothing runs
            refusals = [coded(error, BAD_USER_INPUT) for error in coerced]
            return Answer(
                orjson.dumps({"errors": refusals, "data": None}), 200, [BAD_USER_INPUT] * len(refusals)
            )
        if plan is None:
            return fallback
        return plan, coerced, plan.bind(coerced, today)

    def _plan(self, admitted: Admitted) -> Plan:
        """The engine's plan for the operation, the key's scopes and the values of the variables its
        directives read; the prepared operation (with its plans) is kept on the door's document."""
        document = admitted.document
        assert document.node is not None
        prepared = document.plans.get(admitted.operation_name)
        if prepared is None:
            prepared = document.plans[admitted.operation_name] = self.engine.prepare(
                document.node, admitted.operation
            )
        return self.engine.plan_prepared(prepared, admitted.principal.scopes, admitted.variables)

    async def _strawberry(self, admitted: Admitted, db: Database, request_id: str | None) -> Answer:
        """strawberry's executor (its root data fields answered by the engine one at a time)."""
        context = Context(
            db,
            principal=admitted.principal,
            engine=self.engine,
            request_id=request_id,
            api_key_secret=self.api_key_secret,
            document=admitted.document.node,
        )
        result = await self.schema.execute(
            admitted.query,
            variable_values=admitted.variables,
            context_value=context,
            operation_name=admitted.operation_name,
        )
        body: dict[str, Any] = {}
        errors = []
        for error in result.errors or ():
            formatted = format_error(error, mask=self.mask_errors)
            if self.mask_errors and request_id and formatted["extensions"]["code"] == INTERNAL:
                formatted["extensions"]["requestId"] = request_id
            errors.append(formatted)
        errors += context.errors
        codes = [e["extensions"]["code"] for e in errors]
        if errors:
            body["errors"] = errors
        body["data"] = result.data
        # Nothing answered because the database did not: the whole request is unavailable (503).
        answered = any(value is not None for value in (result.data or {}).values())
        status = 503 if UNAVAILABLE in codes and not answered else 200
        return Answer(orjson.dumps(body), status, codes, clean=not errors)


def _digest(version: int, day: str, admitted: Admitted) -> str:
    """An answer changes with the data version, the day (``asOf`` defaults to today), the key's scopes
    and the request itself: a digest of exactly those names it, as the GET ETag and the cache key."""
    parts = [
        str(version),
        day,
        _scopes_text(admitted.principal.scopes),
        admitted.document.key,
        orjson.dumps(admitted.variables, option=orjson.OPT_SORT_KEYS).decode(),
        admitted.operation_name or "",
    ]
    return sha256_hex("\x1f".join(parts))


T = TypeVar("T")


def remember(memo: dict[Any, Any], key: Any, value: T) -> T:
    """Keep ``value`` in a request's memo (a few days' and versions' worth)."""
    if len(memo) >= 8:
        memo.clear()
    memo[key] = value
    return value


class _Day:
    """Today's date in Hong Kong, worked out again at most once a second."""

    until = 0.0
    date = date.min
    text = ""


def _today_date() -> date:
    now = time.monotonic()
    if now >= _Day.until:
        today = hong_kong_today()
        _Day.until, _Day.date, _Day.text = now + 1.0, today, today.isoformat()
    return _Day.date


def _today() -> str:
    _today_date()
    return _Day.text


@functools.cache
def _scopes_text(scopes: frozenset[str]) -> str:
    return ",".join(sorted(scopes))
