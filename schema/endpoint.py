"""GraphQL over HTTP for Starlette: POST/GET /graphql, GraphiQL, access control and stable error codes.

Every request passes, in order and before any of its own SQL: the key (401 UNAUTHENTICATED), the rate
limit (429 RATE_LIMITED with Retry-After), persisted-query resolution (PERSISTED_QUERY_NOT_FOUND),
the allow-list of an allow-list key (403 OPERATION_NOT_ALLOWED), introspection rights (403 FORBIDDEN),
and depth, alias and cost limits (400 QUERY_TOO_COMPLEX). Then a query may be answered from the answer
cache (schema/answers.py; ``X-Answer-Cache: hit`` or ``miss``); otherwise the compiled path answers if the
document has a plan and the key holds every scope it needs; otherwise strawberry executes it.

Status codes: 200 for any document that was executed (argument errors and FORBIDDEN fields included,
as GraphQL errors with ``extensions.code``); 400 for a body that is not JSON, a document that does not
parse or validate, or that is over a limit; 405 for other methods and for mutations over GET; 503
SERVICE_UNAVAILABLE when the data version (read for the ETag and the answer cache) cannot be read.
Nothing returns a traceback; in production unexpected errors are masked and carry the request id.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    Visitor,
    visit,
)
from graphql import parse as graphql_parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schema import limits
from schema.answers import AnswerCache, Hit
from schema.compiler import Compiler, Fallback, Plan
from schema.context import Context, hong_kong_today
from schema.errors import BAD_USER_INPUT, PARSE_FAILED, VALIDATION_FAILED, format_error
from schema.schema import schema as default_schema
from service.auth.access import Access, sha256_hex
from service.auth.principal import Principal
from service.auth.ratelimit import Decision
from service.auth.scopes import ALL as ALL_SCOPES
from service.db.client import Database
from service.errors import (
    AppError,
    BadInput,
    Forbidden,
    RateLimited,
    TooComplex,
    Unauthenticated,
    Unavailable,
)
from service.repositories import loads
from service.repositories.json_shapes import Limits
from service.web import graphiql_html

log = logging.getLogger("connectgraph.graphql")

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
CACHE_SECONDS = 60
ANSWER_CACHE_HEADER = "X-Answer-Cache"
TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_REQUEST = "BAD_REQUEST"

_VALUE_ERROR_MARKERS = ("Expected value of type", "got invalid value", "cannot represent")
_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases", "tokens")
# Status of an AppError raised at the door (before execution).
_DOOR_STATUS = {
    "UNAUTHENTICATED": 401,
    "RATE_LIMITED": 429,
    "OPERATION_NOT_ALLOWED": 403,
    "FORBIDDEN": 403,
    "QUERY_TOO_COMPLEX": 400,
    "PERSISTED_QUERY_NOT_FOUND": 200,  # the APQ protocol: the client then sends the document
    "BAD_USER_INPUT": 400,
    "SERVICE_UNAVAILABLE": 503,  # the data version could not be read
}
# Root fields whose answers change without the data version moving (service state: keys and their usage,
# the allow-list, load history, dataset freshness): a document that selects one is never cached.
_UNVERSIONED_FIELDS = frozenset({"apiKeys", "registeredOperations", "datasets", "dataLoads"})


@dataclass
class Outcome:
    """What a request came to, for observers (metrics, logs): one per /graphql request."""

    operation_name: str | None
    status: int
    error_codes: list[str]
    compiled: bool = False
    cached: bool = False
    duration_s: float = 0.0
    key_prefix: str | None = None


@dataclass
class DocumentLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000


@dataclass
class _Request:
    """One request as it passes the door: what was asked, by whom, and the headers to send back."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    read_only: bool
    headers: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None


class _Reply(Exception):
    """A response decided before execution."""

    def __init__(self, response: Response, codes: list[str]) -> None:
        super().__init__(codes)
        self.response = response
        self.codes = codes


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def _request_error(message: str, code: str = BAD_REQUEST, status: int = 400) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


def _door_error(error: AppError, headers: dict[str, str]) -> _Reply:
    extensions = {"code": error.code, **{k: v for k, v in error.details.items() if v is not None}}
    body = {"errors": [{"message": error.message, "extensions": extensions}]}
    status = _DOOR_STATUS.get(error.code, 400)
    if isinstance(error, Unauthenticated):
        headers = {**headers, "WWW-Authenticate": 'Bearer realm="connectgraph"'}
    return _Reply(_json(body, status, headers), [error.code])


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


@dataclass(frozen=True)
class _Parsed:
    """A parsed document with the facts the door checks, worked out once per document text."""

    document: DocumentNode
    literal_nul: bool
    introspects: bool
    unversioned: bool


@lru_cache(maxsize=1024)
def _parsed(query: str, max_tokens: int = 4_000) -> _Parsed | None:
    document = _parse(query, max_tokens)
    if document is None:
        return None
    return _Parsed(document, _literal_nul(document), _introspects(document), _unversioned(document))


def _parse(query: str, max_tokens: int = 4_000) -> DocumentNode | None:
    """The parsed document (cached), None for a syntax error (strawberry reports it, with its location).

    The parser stops after ``max_tokens`` tokens, so a huge document costs no more than that.
    """
    try:
        return graphql_parse(query, max_tokens=max_tokens)
    except GraphQLSyntaxError as error:
        if "tokens" in error.message and "more than" in error.message:
            raise TooComplex(
                f"The document has more than {max_tokens} tokens; the limit is {max_tokens}",
                limit="tokens",
                maximum=max_tokens,
            ) from None
        return None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        operations = [o for o in operations if o.name and o.name.value == name]
    return operations[0] if len(operations) == 1 else None


def _introspects(document: DocumentNode) -> bool:
    """Whether the document asks for ``__schema`` or ``__type`` (``__typename`` is plain data)."""
    stack = [d.selection_set for d in document.definitions if hasattr(d, "selection_set")]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            name = getattr(getattr(selection, "name", None), "value", None)
            if name in {"__schema", "__type"}:
                return True
            stack.append(getattr(selection, "selection_set", None))
    return False


def _unversioned(document: DocumentNode) -> bool:
    """Whether the document selects anywhere (fragments too) a field the data version does not cover."""
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            nonlocal found
            found = found or node.name.value in _UNVERSIONED_FIELDS

    visit(document, Finder())
    return found


# Everything allowed: the principal of every request when access checks are off (benchmarks only).
_UNCHECKED = Principal(scopes=frozenset(ALL_SCOPES), rate_per_minute=1, max_cost=1, client="unchecked")


def _apq_hash(asked: _Request) -> str:
    persisted = (asked.extensions or {}).get("persistedQuery") or {}
    return str(persisted.get("sha256Hash", "")).lower()


def _etags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _literal_nul(document: DocumentNode) -> bool:
    """A ``"\\u0000"`` escape in a string literal of the document."""
    found = False

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            nonlocal found
            found = found or "\x00" in node.value

    visit(document, Finder())
    return found


class GraphQLEndpoint:
    """The /graphql endpoint (``handle``); ``database`` gives each request its Database."""

    def __init__(
        self,
        database: Callable[[Request], Database],
        *,
        mask_errors: bool,
        graphiql: bool,
        max_page_size: int,
        default_page_size: int,
        access: Access,
        document_limits: DocumentLimits | None = None,
        schema: Any = None,
        compiled: bool = True,
        plan_cache_size: int = 1024,
        observers: Sequence[Callable[[Outcome], None]] = (),
        primary_database: Callable[[Request], Database] | None = None,
        answers: AnswerCache | None = None,
    ) -> None:
        self.database = database
        # Keys and admin writes use the primary (a replica could lag behind a revocation).
        self.primary_database = primary_database or database
        self.mask_errors = mask_errors
        self.graphiql = graphiql
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.access = access
        self.document_limits = document_limits or DocumentLimits()
        self.schema = schema or default_schema
        self._ide_html = graphiql_html() if graphiql else ""
        self.compiled = compiled
        self._compiler = Compiler(self.schema._schema)
        # (document, operation) -> its plan, or None when it must run on the reference executor.
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._plan_cache_size = plan_cache_size
        self.observers = list(observers)
        # Finished answers to queries, by digest (schema/answers.py); None or 0 entries: no cache.
        self.answers = answers if answers is not None and answers.enabled else None

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            if "query" not in request.query_params and "extensions" not in request.query_params:
                if self.graphiql and "text/html" in request.headers.get("accept", ""):
                    return HTMLResponse(self._ide_html)
                return _request_error("GET needs a `query` parameter")
            return await self._get(request)
        if request.method == "POST":
            return await self._post(request)
        return _request_error("Use GET or POST", status=405)

    async def _get(self, request: Request) -> Response:
        params = request.query_params
        decoded: dict[str, Any] = {}
        for name in ("variables", "extensions"):
            if params.get(name):
                try:
                    decoded[name] = orjson.loads(params[name])
                except orjson.JSONDecodeError:
                    return _request_error(f"`{name}` is not valid JSON")
        return await self.execute(
            request,
            params.get("query"),
            decoded.get("variables"),
            params.get("operationName"),
            extensions=decoded.get("extensions"),
            read_only=True,
        )

    async def _post(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        body = await request.body()
        if content_type.startswith("application/graphql"):
            return await self.execute(request, body.decode(), None, None)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _request_error("The request body is not valid JSON")
        if not isinstance(payload, dict):
            return _request_error("The request body must be a JSON object")
        return await self.execute(
            request,
            payload.get("query"),
            payload.get("variables"),
            payload.get("operationName"),
            extensions=payload.get("extensions"),
        )

    async def execute(
        self,
        request: Request,
        query: Any,
        variables: Any,
        operation_name: Any,
        *,
        extensions: Any = None,
        read_only: bool = False,
    ) -> Response:
        started = time.perf_counter()
        name = operation_name if isinstance(operation_name, str) else None
        outcome = Outcome(operation_name=name, status=400, error_codes=[BAD_REQUEST])
        shape_error = self._check_shape(query, variables, operation_name, extensions)
        if shape_error is not None:
            response = _request_error(shape_error)
        else:
            asked = _Request(query, variables, name, extensions, read_only)
            try:
                response, outcome = await self._answer(request, asked)
            except _Reply as reply:
                response = reply.response
                outcome = Outcome(operation_name=name, status=response.status_code, error_codes=reply.codes)
            principal = asked.principal
            if principal is not None:
                outcome.key_prefix = principal.key_prefix
                self.access.usage.record(principal.key_id, rejected=response.status_code >= 400)
            response.headers.update(asked.headers)
        if GRAPHQL_RESPONSE in request.headers.get("accept", "") and response.media_type == JSON:
            # GraphQL over HTTP: the client asked for the GraphQL media type.
            response.headers["content-type"] = GRAPHQL_RESPONSE + "; charset=utf-8"
        outcome.duration_s = time.perf_counter() - started
        for observe in self.observers:
            observe(outcome)
        return response

    @staticmethod
    def _check_shape(query: Any, variables: Any, operation_name: Any, extensions: Any) -> str | None:
        if query is not None and (not isinstance(query, str) or not query.strip()):
            return "`query` must be a non-empty string"
        if query is None and not (isinstance(extensions, dict) and "persistedQuery" in extensions):
            return "`query` must be a non-empty string"
        if variables is not None and not isinstance(variables, dict):
            return "`variables` must be a JSON object"
        if operation_name is not None and not isinstance(operation_name, str):
            return "`operationName` must be a string"
        if extensions is not None and not isinstance(extensions, dict):
            return "`extensions` must be a JSON object"
        return None

    async def _door(self, request: Request, db: Database, asked: _Request) -> str:
        """Authenticate, rate-limit, resolve persisted queries, check allow-list and limits.

        Returns the document to run; raises _Reply for any refusal.
        """
        if not self.access.enabled:
            asked.principal = _UNCHECKED
            return asked.query or await self.access.persisted_document(db, _apq_hash(asked))
        client = request.client.host if request.client else "unknown"
        try:
            asked.principal = principal = await self.access.principal(db, request.headers, client)
        except Unauthenticated as error:
            raise _door_error(error, asked.headers) from None
        decision: Decision = await self.access.admit(principal)
        asked.headers.update(decision.headers())
        try:
            if not decision.allowed:
                raise RateLimited(
                    f"Rate limit of {decision.limit} requests a minute reached; "
                    f"retry in {decision.retry_after_s} s",
                    retry_after_s=decision.retry_after_s,
                )
            query = await self._document(db, asked)
            await self.access.check_allow_list(db, principal, query)
            parsed = _parsed(query, self.document_limits.max_tokens)
            if parsed is not None:
                self._check_document(parsed, asked, principal)
        except AppError as error:
            raise _door_error(error, asked.headers) from None
        return query

    async def _document(self, db: Database, asked: _Request) -> str:
        """The document, resolving automatic persisted queries (sha256Hash in ``extensions``)."""
        persisted = (asked.extensions or {}).get("persistedQuery")
        if persisted is None:
            assert asked.query is not None
            return asked.query
        sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(sha256, str) or len(sha256) != 64 or persisted.get("version") != 1:
            raise BadInput("`extensions.persistedQuery` needs version 1 and a sha256Hash")
        if asked.query is None:
            return await self.access.persisted_document(db, sha256.lower())
        if sha256_hex(asked.query) != sha256.lower():
            raise BadInput("The sha256Hash does not match the document", argument="sha256Hash")
        await self.access.persist(db, sha256.lower(), asked.query, asked.operation_name)
        return asked.query

    def _check_document(self, parsed: _Parsed, asked: _Request, principal: Principal) -> None:
        document = parsed.document
        if _has_nul(asked.variables) or "\x00" in (asked.query or "") or parsed.literal_nul:
            # PostgreSQL text cannot hold NUL: refuse it here rather than as a database error.
            raise BadInput("Strings must not contain NUL (U+0000) characters")
        operation = _operation(document, asked.operation_name)
        if operation is not None and operation.operation is OperationType.SUBSCRIPTION:
            refusal = _request_error(
                "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql"
            )
            raise _Reply(refusal, [BAD_REQUEST])
        if operation is not None and asked.read_only and operation.operation is not OperationType.QUERY:
            raise _Reply(
                _request_error("Mutations must be sent with POST", status=405, code=BAD_REQUEST),
                [BAD_REQUEST],
            )
        if parsed.introspects and not self.access.may_introspect(principal):
            raise Forbidden("Introspection is not available to this key", limit="introspection")
        measured = limits.measure(self.schema._schema, document, asked.operation_name, asked.variables)
        if measured is not None:
            limits.check(
                measured,
                max_depth=self.document_limits.max_depth,
                max_aliases=self.document_limits.max_aliases,
                max_cost=principal.max_cost,
            )

    async def _answer(self, request: Request, asked: _Request) -> tuple[Response, Outcome]:
        primary = self.primary_database(request)
        query = await self._door(request, primary, asked)
        principal = asked.principal
        assert principal is not None
        operation = None
        parsed = _parsed(query, self.document_limits.max_tokens)
        if parsed is not None:
            operation = _operation(parsed.document, asked.operation_name)
        # Mutations write: they run on the primary; queries on the read replica when there is one.
        writes = operation is not None and operation.operation is OperationType.MUTATION
        db = primary if writes else self.database(request)
        # Queries only (never mutations), and only those the data version covers.
        cacheable = (
            parsed is not None
            and not parsed.unversioned
            and operation is not None
            and operation.operation is OperationType.QUERY
        )
        answers = self.answers if cacheable else None
        if answers is None and not asked.read_only:
            response, outcome, _ = await self._run(request, asked, db, query)
            return response, outcome
        # One statement, read where the answer will be computed (a replica's data and version agree).
        version = await self._data_version(db, asked)
        digest = self._digest(version, asked, principal, query)
        if asked.read_only:
            etag = 'W/"' + digest[:32] + '"'
            asked.headers.update(self._cache_headers(principal, etag))
            if etag in _etags(request.headers.get("if-none-match", "")):
                return Response(status_code=304), Outcome(
                    operation_name=asked.operation_name, status=304, error_codes=[]
                )
        if answers is None:
            response, outcome, _ = await self._run(request, asked, db, query)
            return response, outcome

        async def compute() -> tuple[tuple[Response, Outcome], bytes | None]:
            response, outcome, clean = await self._run(request, asked, db, query)
            return (response, outcome), bytes(response.body) if clean else None

        answered = await answers.answer(digest, version, compute)
        if isinstance(answered, Hit):
            asked.headers[ANSWER_CACHE_HEADER] = "hit"
            hit = Outcome(operation_name=asked.operation_name, status=200, error_codes=[], cached=True)
            return Response(answered.body, media_type=JSON), hit
        asked.headers[ANSWER_CACHE_HEADER] = "miss"
        return answered

    async def _run(
        self, request: Request, asked: _Request, db: Database, query: str
    ) -> tuple[Response, Outcome, bool]:
        """Compute the answer: compiled when there is a plan, else strawberry. The flag says it is clean
        (HTTP 200 without errors), the only kind of answer the answer cache keeps."""
        principal = asked.principal
        assert principal is not None
        name = asked.operation_name
        key = (query, name)
        plan = self._plans.get(key) if self.compiled else None
        if plan is not None and plan.scopes <= principal.scopes:
            limits_now = Limits(today=hong_kong_today(), max_page_size=self.max_page_size)
            try:
                body_bytes = await plan.run(self.schema._schema, db, asked.variables, limits_now)
            except Fallback:
                pass
            else:
                ok = Outcome(operation_name=name, status=200, error_codes=[], compiled=True)
                return Response(body_bytes, media_type=JSON), ok, True
        context = Context.create(
            db,
            principal=principal,
            max_page_size=self.max_page_size,
            default_page_size=self.default_page_size,
            api_key_secret=self.access.secret,
        )
        context.request = request
        result = await self.schema.execute(
            query, variable_values=asked.variables, context_value=context, operation_name=name
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
                elif self.mask_errors and formatted["extensions"]["code"] == "INTERNAL_SERVER_ERROR":
                    request_id = getattr(request.state, "request_id", None)
                    if request_id:
                        formatted["extensions"]["requestId"] = request_id
                errors.append(formatted)
            body["errors"] = errors
        if result.data is not None or status == 200:
            body["data"] = result.data
        if self.compiled and not result.errors and key not in self._plans:
            self._remember(key, query, name)
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        clean = status == 200 and not result.errors
        return _json(body, status), Outcome(operation_name=name, status=status, error_codes=codes), clean

    def _remember(self, key: tuple[str, str | None], query: str, operation_name: str | None) -> None:
        """Compile a document once the reference executor has run it cleanly (so it has passed
        validation and every limit); later requests with it take the compiled path."""
        parsed = _parsed(query, self.document_limits.max_tokens)
        self._plans[key] = self._compiler.plan(parsed.document, operation_name) if parsed else None
        if len(self._plans) > self._plan_cache_size:
            self._plans.popitem(last=False)

    @staticmethod
    async def _data_version(db: Database, asked: _Request) -> int:
        """The data version; when the database does not answer, the request ends here with its
        SERVICE_UNAVAILABLE (503), as it would have on its first statement."""
        try:
            return await loads.data_version(db)
        except Unavailable as error:
            raise _door_error(error, asked.headers) from None

    @staticmethod
    def _digest(version: int, asked: _Request, principal: Principal, query: str) -> str:
        """An answer changes with the data version, the day (``asOf`` defaults to today), the key's scopes
        and the request itself: a digest of exactly those names it, as the GET ETag and the cache key."""
        parts = [
            str(version),
            hong_kong_today().isoformat(),
            ",".join(sorted(principal.scopes)),
            query,
            orjson.dumps(asked.variables, option=orjson.OPT_SORT_KEYS).decode(),
            asked.operation_name or "",
        ]
        return sha256_hex("\x1f".join(parts))

    @staticmethod
    def _cache_headers(principal: Principal, etag: str) -> dict[str, str]:
        scope = "private" if principal.key_id is not None else "public"
        return {
            "ETag": etag,
            "Cache-Control": f"{scope}, max-age={CACHE_SECONDS}",
            "Vary": "Accept, Accept-Encoding, Authorization, X-API-Key",
        }

    async def startup(self, db: Database) -> None:
        self.access.usage.start(db)

    async def shutdown(self, db: Database) -> None:
        await self.access.usage.stop(db)
        close = getattr(self.access.limiter, "close", None)
        if close is not None:
            await close()
