"""Execution: an admitted document answered compiled (one statement per root field) or by strawberry.

A query may be answered from the answer cache (schema/answers.py) under its digest; otherwise the compiled
path answers if the document has a plan and the key holds every scope it needs; otherwise strawberry
executes it, and a document it ran cleanly is compiled for the next time (the plan cache).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError, OperationType

from schema.answers import AnswerCache, Hit
from schema.compiler import Compiler, Fallback, Plan
from schema.context import Context, hong_kong_today
from schema.door import Admitted
from schema.errors import BAD_USER_INPUT, INTERNAL, PARSE_FAILED, VALIDATION_FAILED, format_error
from service.auth.access import sha256_hex
from service.db.client import Database
from service.errors import AppError
from service.repositories import loads
from service.repositories.json_shapes import Limits

TOO_COMPLEX = "QUERY_TOO_COMPLEX"

_VALUE_ERROR_MARKERS = ("Expected value of type", "got invalid value", "cannot represent")
_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases", "tokens")


def _classify(error: GraphQLError) -> str | None:
    """Codes for errors raised before execution (they carry no original error)."""
    if error.original_error is not None:
        # A variable that does not coerce (a malformed Date, say) fails before execution, pathless.
        return BAD_USER_INPUT if not error.path and not isinstance(error.original_error, AppError) else None
    message = error.message
    if message.startswith("Syntax Error"):
        return PARSE_FAILED
    if any(marker in message for marker in _VALUE_ERROR_MARKERS):
        return BAD_USER_INPUT
    if any(marker in message for marker in _LIMIT_MARKERS):
        return TOO_COMPLEX
    return VALIDATION_FAILED


@dataclass
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


@dataclass(frozen=True)
class AnswerName:
    """The data version an answer was computed at and the digest naming it (GET ETag, cache key)."""

    version: int
    digest: str


class Executor:
    """``await executor.run(admitted, db, name)``: the answer, compiled, cached or by strawberry."""

    def __init__(
        self,
        schema: Any,
        *,
        mask_errors: bool,
        max_page_size: int,
        default_page_size: int,
        api_key_secret: str = "",
        compiled: bool = True,
        plan_cache_size: int = 1024,
        answers: AnswerCache | None = None,
    ) -> None:
        self.schema = schema
        self.mask_errors = mask_errors
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.api_key_secret = api_key_secret
        self.compiled = compiled
        self._compiler = Compiler(self.schema._schema)
        # (document, operation) -> its plan, or None when it must run on the reference executor.
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._plan_cache_size = plan_cache_size
        # Finished answers to queries, by digest (schema/answers.py); None or 0 entries: no cache.
        self.answers = answers if answers is not None and answers.enabled else None

    def cacheable(self, admitted: Admitted) -> bool:
        """Queries only (never mutations), and only those the data version covers."""
        document = admitted.parsed
        return (
            self.answers is not None
            and document is not None
            and not document.unversioned
            and admitted.operation_type() is OperationType.QUERY
        )

    async def name(self, admitted: Admitted, db: Database) -> AnswerName:
        """The answer's data version and digest: one statement, read where the answer will be computed
        (a replica's data and version agree). Raises Unavailable when the database does not answer."""
        version = await loads.data_version(db)
        return AnswerName(version, _digest(version, admitted))

    async def run(
        self, admitted: Admitted, db: Database, name: AnswerName | None, *, request_id: str | None = None
    ) -> Answer:
        """The answer, from the answer cache when ``name`` is given and the document may be cached."""
        if name is None or not self.cacheable(admitted):
            return await self._run(admitted, db, request_id)
        assert self.answers is not None

        async def compute() -> tuple[Answer, bytes | None]:
            answer = await self._run(admitted, db, request_id)
            return answer, answer.body if answer.clean else None

        answered = await self.answers.answer(name.digest, name.version, compute)
        if isinstance(answered, Hit):
            return Answer(answered.body, cached=True, cache="hit")
        answered.cache = "miss"
        return answered

    async def _run(self, admitted: Admitted, db: Database, request_id: str | None) -> Answer:
        """Compute the answer: compiled when there is a plan, else strawberry."""
        principal = admitted.principal
        name = admitted.operation_name
        query = admitted.query
        key = (query, name)
        plan = self._plans.get(key) if self.compiled else None
        if plan is not None and plan.scopes <= principal.scopes:
            limits_now = Limits(today=hong_kong_today(), max_page_size=self.max_page_size)
            try:
                body_bytes = await plan.run(self.schema._schema, db, admitted.variables, limits_now)
            except Fallback:
                pass
            else:
                return Answer(body_bytes, compiled=True, clean=True)
        context = Context.create(
            db,
            principal=principal,
            max_page_size=self.max_page_size,
            default_page_size=self.default_page_size,
            api_key_secret=self.api_key_secret,
        )
        result = await self.schema.execute(
            query, variable_values=admitted.variables, context_value=context, operation_name=name
        )
        body: dict[str, Any] = {}
        status = 200
        if result.errors:
            errors = []
            for error in result.errors:
                code = _classify(error)
                formatted = format_error(error, mask=self.mask_errors)
                if code is not None:
                    formatted["extensions"] = {"code": code}
                    if result.data is None and code != BAD_USER_INPUT:
                        status = 400
                elif self.mask_errors and request_id and formatted["extensions"]["code"] == INTERNAL:
                    formatted["extensions"]["requestId"] = request_id
                errors.append(formatted)
            body["errors"] = errors
        if result.data is not None or status == 200:
            body["data"] = result.data
        if self.compiled and not result.errors and key not in self._plans:
            self._remember(key, admitted)
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        clean = status == 200 and not result.errors
        return Answer(orjson.dumps(body), status, codes, clean=clean)

    def _remember(self, key: tuple[str, str | None], admitted: Admitted) -> None:
        """Compile a document once the reference executor has run it cleanly (so it has passed
        validation and every limit); later requests with it take the compiled path."""
        document = admitted.parsed
        plan = self._compiler.plan(document.document, admitted.operation_name) if document else None
        self._plans[key] = plan
        if len(self._plans) > self._plan_cache_size:
            self._plans.popitem(last=False)


def _digest(version: int, admitted: Admitted) -> str:
    """An answer changes with the data version, the day (``asOf`` defaults to today), the key's scopes
    and the request itself: a digest of exactly those names it, as the GET ETag and the cache key."""
    parts = [
        str(version),
        hong_kong_today().isoformat(),
        ",".join(sorted(admitted.principal.scopes)),
        admitted.query,
        orjson.dumps(admitted.variables, option=orjson.OPT_SORT_KEYS).decode(),
        admitted.operation_name or "",
    ]
    return sha256_hex("\x1f".join(parts))
