"""The door: who asks (key, rate limit) and what (persisted query, allow-list, introspection, limits).

Every request passes, in order and before any of its own SQL: the key (401 UNAUTHENTICATED), the rate
limit (429 RATE_LIMITED with Retry-After), persisted-query resolution (PERSISTED_QUERY_NOT_FOUND),
the allow-list of an allow-list key (403 OPERATION_NOT_ALLOWED), introspection rights (403 FORBIDDEN),
and depth, alias and cost limits (400 QUERY_TOO_COMPLEX). ``Door.admit`` hands back the document to run
with its principal, or raises ``Refused`` carrying the answer to send instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import OperationType
from starlette.datastructures import Headers

from schema import limits
from schema.documents import Parsed, operation, parsed
from service.auth.access import Access, sha256_hex
from service.auth.principal import Principal
from service.auth.ratelimit import Decision
from service.auth.scopes import ALL as ALL_SCOPES
from service.db.client import Database
from service.errors import AppError, BadInput, Forbidden, RateLimited, Unauthenticated

BAD_REQUEST = "BAD_REQUEST"

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

# Everything allowed: the principal of every request when access checks are off (benchmarks only).
_UNCHECKED = Principal(scopes=frozenset(ALL_SCOPES), rate_per_minute=1, max_cost=1, client="unchecked")


@dataclass
class DocumentLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000


@dataclass
class GraphQLRequest:
    """One request as it passes the door: what was asked, by whom, and the headers to send back."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    read_only: bool
    headers: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None


@dataclass(frozen=True)
class Admitted:
    """A request the door let through: the document to run, for whom, and with what."""

    query: str
    principal: Principal
    variables: dict[str, Any] | None
    operation_name: str | None
    parsed: Parsed | None  # None: it does not parse (execution reports the syntax error)

    def operation_type(self) -> OperationType | None:
        chosen = operation(self.parsed.document, self.operation_name) if self.parsed is not None else None
        return chosen.operation if chosen is not None else None


class Refused(Exception):
    """A request answered before execution: the status, the GraphQL-shaped body and its codes."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        super().__init__(self.codes)
        self.status = status
        self.body = body
        self.headers = headers or {}


def request_error(message: str, code: str = BAD_REQUEST, status: int = 400) -> Refused:
    return Refused(status, {"errors": [{"message": message, "extensions": {"code": code}}]})


def refusal(error: AppError, headers: dict[str, str]) -> Refused:
    """The answer to an AppError raised before execution, with its status."""
    extensions = {"code": error.code, **{k: v for k, v in error.details.items() if v is not None}}
    body = {"errors": [{"message": error.message, "extensions": extensions}]}
    status = _DOOR_STATUS.get(error.code, 400)
    if isinstance(error, Unauthenticated):
        headers = {**headers, "WWW-Authenticate": 'Bearer realm="connectgraph"'}
    return Refused(status, body, headers)


def _apq_hash(asked: GraphQLRequest) -> str:
    persisted = (asked.extensions or {}).get("persistedQuery") or {}
    return str(persisted.get("sha256Hash", "")).lower()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Door:
    """``await door.admit(asked, headers, client, db)``: the document to run (``asked.principal`` set)."""

    def __init__(self, access: Access, schema: Any, document_limits: DocumentLimits | None = None) -> None:
        self.access = access
        self.schema = schema
        self.document_limits = document_limits or DocumentLimits()

    async def admit(self, asked: GraphQLRequest, headers: Headers, client: str, db: Database) -> Admitted:
        """Authenticate, rate-limit, resolve persisted queries, check allow-list and limits.

        Returns the document to run with its principal (also set on ``asked``); raises Refused for any
        refusal.
        """
        if not self.access.enabled:
            asked.principal = _UNCHECKED
            try:
                query = asked.query or await self.access.persisted_document(db, _apq_hash(asked))
                return self._admitted(asked, query, _UNCHECKED)
            except AppError as error:
                raise refusal(error, asked.headers) from None
        try:
            asked.principal = principal = await self.access.principal(db, headers, client)
        except Unauthenticated as error:
            raise refusal(error, asked.headers) from None
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
            admitted = self._admitted(asked, query, principal)
            if admitted.parsed is not None:
                self._check_document(admitted.parsed, asked, principal)
        except AppError as error:
            raise refusal(error, asked.headers) from None
        return admitted

    def _admitted(self, asked: GraphQLRequest, query: str, principal: Principal) -> Admitted:
        document = parsed(query, self.document_limits.max_tokens)
        return Admitted(query, principal, asked.variables, asked.operation_name, document)

    async def _document(self, db: Database, asked: GraphQLRequest) -> str:
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

    def _check_document(self, parsed: Parsed, asked: GraphQLRequest, principal: Principal) -> None:
        document = parsed.document
        if _has_nul(asked.variables) or "\x00" in (asked.query or "") or parsed.literal_nul:
            # PostgreSQL text cannot hold NUL: refuse it here rather than as a database error.
            raise BadInput("Strings must not contain NUL (U+0000) characters")
        chosen = operation(document, asked.operation_name)
        if chosen is not None and chosen.operation is OperationType.SUBSCRIPTION:
            raise request_error("Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql")
        if chosen is not None and asked.read_only and chosen.operation is not OperationType.QUERY:
            raise request_error("Mutations must be sent with POST", status=405)
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
