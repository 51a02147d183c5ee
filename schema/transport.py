"""GraphQL over HTTP for Starlette: POST/GET /graphql, GraphiQL, status codes and response encoding.

A request is read from its method, content type and body (or query string), passed through the door
(schema/door.py: key, limits, persisted queries -> a principal and the document) and answered by execution
(schema/execution.py: compiled, cached or strawberry). GET answers carry an ETag (the answer's digest) and a
matching ``If-None-Match`` gets 304 without running; cached answers say ``X-Answer-Cache: hit`` or ``miss``.

Status codes: 200 for any document that was executed (argument errors and FORBIDDEN fields included,
as GraphQL errors with ``extensions.code``); 400 for a body that is not JSON, a document that does not
parse or validate, or that is over a limit; 405 for other methods and for mutations over GET; 503
SERVICE_UNAVAILABLE when the data version (read for the ETag and the answer cache) cannot be read.
Nothing returns a traceback; in production unexpected errors are masked and carry the request id.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import OperationType
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from schema.answers import AnswerCache
from schema.door import (
    BAD_REQUEST,
    RETRY_AFTER_UNAVAILABLE_S,
    Admitted,
    DocumentLimits,
    Door,
    GraphQLRequest,
    Refused,
    refusal,
    request_error,
)
from schema.execution import AnswerName, Executor
from schema.schema import schema as default_schema
from service.auth.access import Access
from service.auth.principal import Principal
from service.bounded import ByteLRU
from service.data_version import DataVersion
from service.db.client import Database
from service.errors import Unavailable
from service.web import graphiql_html

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
CACHE_SECONDS = 60
ANSWER_CACHE_HEADER = "X-Answer-Cache"
TOO_LARGE = "PAYLOAD_TOO_LARGE"
_GET_PARAMETERS = ("query", "variables", "operationName", "extensions")
# Bytes of POST bodies (and what they hold) kept by ``GraphQLEndpoint._post``.
BODIES_CACHE_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class Outcome:
    """What a request came to, for observers (metrics, logs): one per /graphql request."""

    operation_name: str | None
    status: int
    error_codes: list[str]
    compiled: bool = False
    cached: bool = False
    duration_s: float = 0.0
    key_prefix: str | None = None
    rate_limit_backend: str | None = None  # the limiter that decided: memory or redis


class _Incoming:
    """The request as the endpoint reads it: its scope, with the headers in a plain dict (read once;
    Starlette's ``Headers`` scans the list at every lookup); Starlette's ``Request`` only when asked for
    (a GET's query parameters, a Response sent as it is)."""

    __slots__ = ("_request", "headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive, request: Request | None = None) -> None:
        self.scope = scope
        self.receive = receive
        self._request = request
        self.headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}

    @property
    def request(self) -> Request:
        if self._request is None:
            self._request = Request(self.scope, self.receive)
        return self._request


@dataclass(slots=True)
class _Reply:
    """One operation's answer before it becomes a response: status, JSON body and headers."""

    status: int
    body: bytes
    headers: dict[str, str]


def _etags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def _cache_headers(principal: Principal, etag: str) -> dict[str, str]:
    scope = "private" if principal.key_id is not None else "public"
    return {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age={CACHE_SECONDS}",
        "Vary": "Accept, Accept-Encoding, Authorization, X-API-Key",
    }


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


class GraphQLEndpoint:
    """The /graphql endpoint (``handle``); ``database`` gives the Database queries read (``primary_database``:
    the one keys and mutations use, the same by default)."""

    def __init__(
        self,
        database: Callable[[], Database],
        *,
        mask_errors: bool,
        graphiql: bool,
        max_page_size: int,
        default_page_size: int,
        access: Access,
        max_series_page_size: int = 10_000,
        document_limits: DocumentLimits | None = None,
        schema: Any = None,
        compiled: bool = True,
        max_body_bytes: int = 1_048_576,
        max_batch_size: int = 10,
        versions: DataVersion | None = None,
        observers: Sequence[Callable[[Outcome], None]] = (),
        primary_database: Callable[[], Database] | None = None,
        answers: AnswerCache | None = None,
    ) -> None:
        self.database = database
        # Keys and admin writes use the primary (a replica could lag behind a revocation).
        self.primary_database = primary_database or database
        self.schema = schema or default_schema
        self.graphiql = graphiql
        self._ide_html = graphiql_html() if graphiql else ""
        self.door = Door(access, self.schema, document_limits)
        self.executor = Executor(
            self.schema,
            mask_errors=mask_errors,
            max_page_size=max_page_size,
            default_page_size=default_page_size,
            max_series_page_size=max_series_page_size,
            api_key_secret=access.secret,
            compiled=compiled,
            answers=answers,
            versions=versions,
        )
        self.max_body_bytes = max_body_bytes
        # A POST body of one operation read before, by its bytes: what it asks (query, variables,
        # operationName, extensions), so that it is not parsed again. Clients send the same few bodies
        # over and over, as the door's memory of admitted requests assumes too.
        self._bodies: ByteLRU[bytes, tuple[Any, Any, Any, Any]] = ByteLRU(BODIES_CACHE_BYTES)
        self.max_batch_size = max_batch_size
        self.observers = list(observers)

    @property
    def access(self) -> Access:
        return self.door.access

    @property
    def answers(self) -> AnswerCache | None:
        return self.executor.answers

    async def handle(self, request: Request) -> Response:
        """The Starlette endpoint of the /graphql route (requests the Shortcut does not take)."""
        incoming = _Incoming(request.scope, request.receive, request)
        reply = await self.dispatch(incoming)
        if isinstance(reply, Response):
            return reply
        reply = self._finish(incoming, reply)
        if reply.status == 304:
            return Response(status_code=304, headers=reply.headers)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The same answer as ``handle``, sent as raw ASGI messages (the Shortcut's way, no Response)."""
        incoming = _Incoming(scope, receive)
        reply = await self.dispatch(incoming)
        if isinstance(reply, Response):
            await reply(scope, receive, send)
            return
        reply = self._finish(incoming, reply)
        raw = [(_header_name(name), value.encode("latin-1")) for name, value in reply.headers.items()]
        if reply.status == 304:
            await send({"type": "http.response.start", "status": 304, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return
        raw.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        await send({"type": "http.response.body", "body": reply.body})

    async def dispatch(self, incoming: _Incoming) -> _Reply | Response:
        method = incoming.scope["method"]
        if method == "GET":
            request = incoming.request
            if "query" not in request.query_params and "extensions" not in request.query_params:
                if self.graphiql and "text/html" in incoming.headers.get("accept", ""):
                    return HTMLResponse(self._ide_html)
                return _refusal_reply(request_error("GET needs a `query` parameter"))
            return await self._get(incoming)
        if method == "POST":
            return await self._post(incoming)
        return _refusal_reply(request_error("Use GET or POST", status=405))

    def _finish(self, incoming: _Incoming, reply: _Reply) -> _Reply:
        """Headers every answer gets: the media type asked for, Retry-After on a 503."""
        if reply.status == 304:
            return reply
        if reply.status == 503 and "Retry-After" not in reply.headers:
            reply.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
        # GraphQL over HTTP: the GraphQL media type when the client asks for it, else JSON.
        accept = incoming.headers.get("accept", "")
        reply.headers["content-type"] = (
            GRAPHQL_RESPONSE + "; charset=utf-8" if GRAPHQL_RESPONSE in accept else JSON
        )
        return reply

    async def _get(self, incoming: _Incoming) -> _Reply:
        params = incoming.request.query_params
        repeated = sorted({k for k in _GET_PARAMETERS if len(params.getlist(k)) > 1})
        if repeated:
            return _refusal_reply(request_error(f"`{repeated[0]}` is given more than once"))
        decoded: dict[str, Any] = {}
        for name in ("variables", "extensions"):
            if params.get(name):
                try:
                    decoded[name] = orjson.loads(params[name])
                except orjson.JSONDecodeError:
                    return _refusal_reply(request_error(f"`{name}` is not valid JSON"))
        return await self._reply(
            incoming,
            params.get("query"),
            decoded.get("variables"),
            params.get("operationName"),
            decoded.get("extensions"),
            True,
            b"G" + incoming.scope["query_string"],
        )

    async def _post(self, incoming: _Incoming) -> _Reply:
        content_type = incoming.headers.get("content-type", "")
        body = await self._body(incoming)
        if body is None:
            refused = request_error(
                f"The request body is over {self.max_body_bytes:,} bytes", code=TOO_LARGE, status=413
            )
            refused.headers["Connection"] = "close"
            return _refusal_reply(refused)
        if content_type.startswith("application/graphql"):
            try:
                text = body.decode()
            except UnicodeDecodeError:
                return _refusal_reply(request_error("The request body is not valid UTF-8"))
            return await self._reply(incoming, text, None, None, None, False)
        raw = b"P" + body
        asked = self._bodies.get(raw)
        if asked is None:
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                return _refusal_reply(request_error("The request body is not valid JSON"))
            if isinstance(payload, list):
                return await self._batch(incoming, payload)
            if not isinstance(payload, dict):
                return _refusal_reply(
                    request_error("The request body must be a JSON object (or an array of them)")
                )
            asked = (
                payload.get("query"),
                payload.get("variables"),
                payload.get("operationName"),
                payload.get("extensions"),
            )
            self._bodies.put(raw, asked, 3 * len(raw) + 200)  # the bytes, and the values parsed from them
        return await self._reply(incoming, *asked, False, raw)

    async def _batch(self, incoming: _Incoming, entries: list[Any]) -> _Reply:
        """Apollo-style batching: an array of requests in, an array of their answers out, in order. Each
        entry passes the door on its own (it draws from the rate limit and meets every limit as a single
        request would); the array answers 200 whatever each entry came to, with each entry's errors."""
        if self.max_batch_size == 0:
            return _refusal_reply(
                request_error("Batching is not enabled here: send one operation per request")
            )
        if not entries:
            return _refusal_reply(request_error("The batch is empty"))
        if len(entries) > self.max_batch_size:
            return _refusal_reply(
                request_error(
                    f"A batch holds at most {self.max_batch_size} operations; this one has {len(entries)}"
                )
            )
        if not all(isinstance(entry, dict) for entry in entries):
            return _refusal_reply(request_error("Each entry of a batch must be a JSON object"))
        replies = await asyncio.gather(
            *(
                self._reply(
                    incoming,
                    entry.get("query"),
                    entry.get("variables"),
                    entry.get("operationName"),
                    entry.get("extensions"),
                    False,
                )
                for entry in entries
            )
        )
        headers: dict[str, str] = {}
        for reply in replies:
            headers.update(reply.headers)
        headers.pop(ANSWER_CACHE_HEADER, None)
        return _Reply(200, b"[" + b",".join(reply.body for reply in replies) + b"]", headers)

    async def _body(self, incoming: _Incoming) -> bytes | None:
        """The body, read no further than ``max_body_bytes`` (None when it is larger)."""
        declared = incoming.headers.get("content-length", "")
        receive = incoming.receive
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _reply(
        self,
        incoming: _Incoming,
        query: Any,
        variables: Any,
        operation_name: Any,
        extensions: Any,
        read_only: bool,
        raw: bytes | None = None,
    ) -> _Reply:
        """One operation's answer (a single request, or one entry of a batch), observed once; ``raw``: the
        bytes that alone say what is asked (see ``GraphQLRequest.raw``)."""
        started = time.perf_counter()
        name = operation_name if isinstance(operation_name, str) else None
        shape = _check_shape(query, variables, operation_name, extensions)
        if shape is not None:
            reply = _refusal_reply(request_error(shape))
            outcome = Outcome(operation_name=name, status=400, error_codes=[BAD_REQUEST])
        else:
            asked = GraphQLRequest(query, variables, name, extensions, read_only, raw=raw)
            try:
                reply, outcome = await self._answer(incoming, asked)
            except Refused as refused:
                reply = _refusal_reply(refused)
                outcome = Outcome(operation_name=name, status=refused.status, error_codes=refused.codes)
            principal = asked.principal
            if principal is not None:
                outcome.key_prefix = principal.key_prefix
                self.door.access.usage.record(principal.key_id, rejected=reply.status >= 400)
            outcome.rate_limit_backend = asked.rate_limit_backend
            reply.headers.update(asked.headers)
        outcome.duration_s = time.perf_counter() - started
        for observe in self.observers:
            observe(outcome)
        return reply

    async def _answer(self, incoming: _Incoming, asked: GraphQLRequest) -> tuple[_Reply, Outcome]:
        primary = self.primary_database()
        peer = incoming.scope.get("client")
        client = peer[0] if peer else "unknown"
        admitted = await self.door.admit(asked, incoming.headers, client, primary)
        # Mutations write: they run on the primary; queries on the read replica when there is one. (Asked
        # for only when needed: an answer named and found in memory reads no database.)
        writes = admitted.operation.operation is OperationType.MUTATION
        db: Database | None = primary if writes else None
        name: AnswerName | None = None
        cacheable = self.executor.cacheable(admitted)
        if asked.read_only or cacheable:
            name = self.executor.name_now(admitted)
            if name is None:
                db = self._reads(db)
                name = await self._name(admitted, db, asked)
        if asked.read_only and name is not None:
            etag = 'W/"' + name.digest[:32] + '"'
            asked.headers.update(_cache_headers(admitted.principal, etag))
            if etag in _etags(incoming.headers.get("if-none-match", "")):
                return _Reply(304, b"", {}), Outcome(
                    operation_name=asked.operation_name, status=304, error_codes=[]
                )
        # The answer cache is given the name only for a document it may keep (an ETag names any query).
        kept = name if cacheable else None
        answer = None if kept is None else self.executor.stored(kept)
        if answer is None:
            request_id = incoming.scope.get("state", {}).get("request_id")
            answer = await self.executor.run(admitted, self._reads(db), kept, request_id=request_id)
        if answer.cache is not None:
            asked.headers[ANSWER_CACHE_HEADER] = answer.cache
        outcome = Outcome(
            operation_name=asked.operation_name,
            status=answer.status,
            error_codes=answer.error_codes,
            compiled=answer.compiled,
            cached=answer.cached,
        )
        return _Reply(answer.status, answer.body, {}), outcome

    def _reads(self, db: Database | None) -> Database:
        """The database this request's statements go to: the one chosen (the primary, for a mutation),
        else the read database, asked for only here, once a statement is due."""
        return self.database() if db is None else db

    async def _name(self, admitted: Admitted, db: Database, asked: GraphQLRequest) -> AnswerName:
        """The answer's name; when the database does not answer, the request ends here with its
        SERVICE_UNAVAILABLE (503), as it would have on its first statement."""
        try:
            return await self.executor.name(admitted, db)
        except Unavailable as error:
            raise refusal(error, asked.headers) from None

    async def startup(self, db: Database) -> None:
        self.access.usage.start(db)

    async def shutdown(self, db: Database) -> None:
        await self.access.usage.stop(db)
        close = getattr(self.access.limiter, "close", None)
        if close is not None:
            await close()


class Shortcut:
    """ASGI middleware: a GET or POST to /graphql goes straight to the endpoint, past routing and the
    middleware that would do nothing for it: compression when the client accepts no encoding, CORS when
    it sends no ``Origin`` (or none is configured). Everything else, and those requests when they do ask
    for either, takes the whole stack. The endpoint answers the same either way; what is skipped is
    Starlette's per-request machinery, a third of the time of an answer served from memory."""

    def __init__(self, app: ASGIApp, *, endpoint: GraphQLEndpoint, cors: bool) -> None:
        self.app = app
        self.endpoint = endpoint
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and scope["method"] in ("GET", "POST")
            and self._plain(scope["headers"])
        ):
            await self.endpoint.respond(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _plain(self, headers: list[tuple[bytes, bytes]]) -> bool:
        for name, value in headers:
            if name == b"accept-encoding" and any(coding in value for coding in _ENCODINGS):
                return False
            if name == b"origin" and self.cors:
                return False
        return True


# What the compression middleware answers in (starlette_compress: zstd, brotli, gzip).
_ENCODINGS = (b"gzip", b"br", b"zstd")


@functools.lru_cache(maxsize=256)
def _header_name(name: str) -> bytes:
    """A response header's name as ASGI sends it (lower case bytes); the names are few."""
    return name.lower().encode("latin-1")


def _refusal_reply(refused: Refused) -> _Reply:
    return _Reply(refused.status, orjson.dumps(refused.body), dict(refused.headers))
