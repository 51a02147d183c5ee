"""GraphQL over HTTP for Starlette: POST/GET /graphql, GraphiQL, and errors with stable codes.

Status codes: 200 for any document that was executed (argument errors included, as GraphQL errors
with ``extensions.code``); 400 for a body that is not JSON, a document that does not parse or does
not validate against the schema; 405 for other methods. Nothing returns a traceback.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from schema.compiler import Compiler, Fallback, Plan
from schema.context import Context, hong_kong_today
from schema.errors import BAD_USER_INPUT, PARSE_FAILED, VALIDATION_FAILED, format_error
from schema.schema import schema as default_schema
from service.db.client import Database
from service.errors import AppError
from service.repositories.json_shapes import Limits

log = logging.getLogger("connectgraph.graphql")

JSON = "application/json"
TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_REQUEST = "BAD_REQUEST"

_VALUE_ERROR_MARKERS = ("Expected value of type", "got invalid value", "cannot represent")
_LIMIT_MARKERS = ("exceeds maximum operation depth", "aliases", "tokens")


@dataclass
class Outcome:
    """What a request came to, for observers (metrics, logs): one per /graphql request."""

    operation_name: str | None
    status: int
    error_codes: list[str]
    compiled: bool = False
    duration_s: float = 0.0


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def _request_error(message: str, code: str = BAD_REQUEST, status: int = 400) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


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
        schema: Any = None,
        compiled: bool = True,
        plan_cache_size: int = 1024,
        observers: Sequence[Callable[[Outcome], None]] = (),
    ) -> None:
        self.database = database
        self.mask_errors = mask_errors
        self.graphiql = graphiql
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.schema = schema or default_schema
        self._ide_html = get_graphql_ide_html("graphiql") if graphiql else ""
        self.compiled = compiled
        self._compiler = Compiler(self.schema._schema)
        # (document, operation) -> its plan, or None when it must run on the reference executor.
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._plan_cache_size = plan_cache_size
        self.observers = list(observers)

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            if "query" not in request.query_params:
                if self.graphiql and "text/html" in request.headers.get("accept", ""):
                    return HTMLResponse(self._ide_html)
                return _request_error("GET needs a `query` parameter")
            return await self._get(request)
        if request.method == "POST":
            return await self._post(request)
        return _request_error("Use GET or POST", status=405)

    async def _get(self, request: Request) -> Response:
        params = request.query_params
        variables: Any = None
        if params.get("variables"):
            try:
                variables = orjson.loads(params["variables"])
            except orjson.JSONDecodeError:
                return _request_error("`variables` is not valid JSON")
        return await self.execute(
            request, params["query"], variables, params.get("operationName"), allow_mutation=False
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
            request, payload.get("query"), payload.get("variables"), payload.get("operationName")
        )

    async def execute(
        self,
        request: Request,
        query: Any,
        variables: Any,
        operation_name: Any,
        *,
        allow_mutation: bool = True,
    ) -> Response:
        started = time.perf_counter()
        response, outcome = await self._execute(request, query, variables, operation_name)
        outcome.duration_s = time.perf_counter() - started
        for observe in self.observers:
            observe(outcome)
        return response

    async def _execute(
        self, request: Request, query: Any, variables: Any, operation_name: Any
    ) -> tuple[Response, Outcome]:
        name = operation_name if isinstance(operation_name, str) else None
        outcome = Outcome(operation_name=name, status=400, error_codes=[BAD_REQUEST])
        if not isinstance(query, str) or not query.strip():
            return _request_error("`query` must be a non-empty string"), outcome
        if variables is not None and not isinstance(variables, dict):
            return _request_error("`variables` must be a JSON object"), outcome
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error("`operationName` must be a string"), outcome
        db = self.database(request)
        key = (query, operation_name)
        plan = self._plans.get(key) if self.compiled else None
        if plan is not None:
            limits = Limits(today=hong_kong_today(), max_page_size=self.max_page_size)
            try:
                body_bytes = await plan.run(self.schema._schema, db, variables, limits)
            except Fallback:
                pass
            else:
                ok = Outcome(operation_name=name, status=200, error_codes=[], compiled=True)
                return Response(body_bytes, media_type=JSON), ok
        context = Context.create(
            db,
            max_page_size=self.max_page_size,
            default_page_size=self.default_page_size,
        )
        context.request = request
        result = await self.schema.execute(
            query, variable_values=variables, context_value=context, operation_name=operation_name
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
                errors.append(formatted)
            body["errors"] = errors
        if result.data is not None or status == 200:
            body["data"] = result.data
        if self.compiled and not result.errors and key not in self._plans:
            self._remember(key, query, operation_name)
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        return _json(body, status), Outcome(operation_name=name, status=status, error_codes=codes)

    def _remember(self, key: tuple[str, str | None], query: str, operation_name: str | None) -> None:
        """Compile a document once the reference executor has run it cleanly (so it has passed
        validation and every limit); later requests with it take the compiled path."""
        self._plans[key] = self._compiler.plan(parse(query), operation_name)
        if len(self._plans) > self._plan_cache_size:
            self._plans.popitem(last=False)
