"""The door: who asks (key, rate limit) and what (persisted query, allow-list, document, limits).

Every request passes, in order and before any of its own SQL: the key (401 UNAUTHENTICATED; repeated
failures from one address 429), the rate limit (429 RATE_LIMITED with Retry-After), persisted-query
resolution (PERSISTED_QUERY_NOT_FOUND), the allow-list of an allow-list key (403 OPERATION_NOT_ALLOWED),
the document's size, tokens and syntax (400 QUERY_TOO_COMPLEX, GRAPHQL_PARSE_FAILED), the operation to
run (400 OPERATION_RESOLUTION_FAILURE), introspection rights (403 FORBIDDEN), depth, alias and cost limits
(400 QUERY_TOO_COMPLEX) and validation (400 GRAPHQL_VALIDATION_FAILED, without field suggestions for keys
that may not introspect). ``Door.admit`` hands back the document to run with its principal, or raises
``Refused`` carrying the answer to send instead. Each document is worked out once (schema/documents.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import OperationDefinitionNode, OperationType

from schema import limits
from schema.documents import Document, DocumentError, Documents, Invalid
from service.auth.access import Access, sha256_hex
from service.auth.principal import Principal
from service.auth.scopes import ALL as ALL_SCOPES
from service.bounded import ByteLRU
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
    "SERVICE_UNAVAILABLE": 503,  # the database did not answer
}
# Seconds a client is asked to wait before retrying a 503.
RETRY_AFTER_UNAVAILABLE_S = 1

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# Everything allowed: the principal of every request when access checks are off (benchmarks only).
_UNCHECKED = Principal(scopes=frozenset(ALL_SCOPES), rate_per_minute=1, max_cost=1, client="unchecked")


@dataclass
class DocumentLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000
    max_bytes: int = 100_000  # of one document
    cache_bytes: int = 32 * 1024 * 1024  # of all the documents kept (schema/documents.py)


@dataclass(slots=True)
class GraphQLRequest:
    """One request as it passes the door: what was asked, by whom, and the headers to send back."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    read_only: bool
    headers: dict[str, str] = field(default_factory=dict)
    # The request's own bytes when they alone say what is asked (a POST body of one operation, a GET
    # query string): the door admits the same bytes for the same policy once (``Door.admitted``).
    raw: bytes | None = None
    principal: Principal | None = None
    rate_limit_backend: str | None = None  # the limiter that decided (memory or redis)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request the door let through: the document to run (parsed, valid, within limits), for whom,
    and with what; ``suggestions`` says whether its errors may suggest field names."""

    query: str
    principal: Principal
    variables: dict[str, Any] | None
    operation_name: str | None
    document: Document
    operation: OperationDefinitionNode
    suggestions: bool = True
    # What execution works out for this request once (its digest per data version and day, its bound
    # statements per day: schema/execution.py), kept for the request admitted again from memory.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)


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
    elif isinstance(error, RateLimited):
        headers = {**headers, "Retry-After": str(error.retry_after_s)}
    elif status == 503:
        headers = {**headers, "Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)}
    return Refused(status, body, headers)


def _apq_hash(asked: GraphQLRequest) -> str:
    persisted = (asked.extensions or {}).get("persistedQuery")
    sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise BadInput("`extensions.persistedQuery` needs a sha256Hash of 64 hexadecimal digits")
    return sha256.lower()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _document_refusal(error: DocumentError, headers: dict[str, str]) -> Refused:
    if isinstance(error, Invalid) and error.only_values:
        # Only literal values of the wrong form: answered as an argument error found while executing is.
        return Refused(200, {"errors": error.formatted(), "data": None}, headers)
    return Refused(400, {"errors": error.formatted()}, headers)


# Bytes of request text (and its admitted document's share) kept by ``Door.admitted``.
ADMITTED_CACHE_BYTES = 8 * 1024 * 1024


class Door:
    """``await door.admit(asked, headers, client, db)``: the document to run (``asked.principal`` set).

    Every request is authenticated and rate-limited. What follows (persisted query, allow-list, document,
    limits, validation) depends only on the request's bytes and the caller's policy (``Principal.policy``):
    a request whose bytes were admitted before for the same policy is admitted again from memory
    (``admitted``, bounded by bytes), without parsing its JSON's document, measuring or validating it."""

    def __init__(
        self,
        access: Access,
        schema: Any,
        document_limits: DocumentLimits | None = None,
        documents: Documents | None = None,
    ) -> None:
        self.access = access
        self.schema = schema
        self.document_limits = limits_ = document_limits or DocumentLimits()
        self.documents = documents or Documents(
            schema._schema,
            max_bytes=limits_.cache_bytes,
            max_tokens=limits_.max_tokens,
            max_document_bytes=limits_.max_bytes,
        )
        self.admitted: ByteLRU[tuple[bytes, Any], Admitted] = ByteLRU(ADMITTED_CACHE_BYTES)

    async def admit(
        self, asked: GraphQLRequest, headers: Mapping[str, str], client: str, db: Database
    ) -> Admitted:
        """Authenticate, rate-limit, resolve persisted queries, check allow-list, document and limits.

        Returns the document to run with its principal (also set on ``asked``); raises Refused for any
        refusal.
        """
        if not self.access.enabled:
            asked.principal = _UNCHECKED
            known = self._known(asked, _UNCHECKED)
            if known is not None:
                return known
            try:
                query = asked.query or await self.access.persisted_document(db, _apq_hash(asked))
                return self._keep(asked, self._prepare(asked, query, _UNCHECKED, checked=False))
            except AppError as error:
                raise refusal(error, asked.headers) from None
            except DocumentError as error:
                raise _document_refusal(error, asked.headers) from None
        try:
            asked.principal = principal = await self.access.principal(db, headers, client)
        except (Unauthenticated, RateLimited) as error:
            raise refusal(error, asked.headers) from None
        decision = self.access.admit_now(principal) or await self.access.admit(principal)
        asked.headers.update(decision.headers())
        asked.rate_limit_backend = decision.backend
        try:
            if not decision.allowed:
                raise RateLimited(
                    f"Rate limit of {decision.limit} requests a minute reached; "
                    f"retry in {decision.retry_after_s} s",
                    retry_after_s=decision.retry_after_s,
                )
            known = self._known(asked, principal)
            if known is not None:
                return known
            query = await self._document(db, asked)
            await self.access.check_allow_list(db, principal, query)
            return self._keep(asked, self._prepare(asked, query, principal, checked=True))
        except AppError as error:
            raise refusal(error, asked.headers) from None
        except DocumentError as error:
            raise _document_refusal(error, asked.headers) from None

    def _known(self, asked: GraphQLRequest, principal: Principal) -> Admitted | None:
        """The request admitted before from the same bytes for the same policy, now for ``principal``."""
        if asked.raw is None:
            return None
        known = self.admitted.get((asked.raw, principal.policy))
        if known is None or known.principal is principal:
            return known
        return replace(known, principal=principal)

    def _keep(self, asked: GraphQLRequest, admitted: Admitted) -> Admitted:
        if asked.raw is not None:
            charge = 2 * len(asked.raw) + admitted.document.charge  # it keeps the document alive too
            self.admitted.put((asked.raw, admitted.principal.policy), admitted, charge)
        return admitted

    def _prepare(self, asked: GraphQLRequest, query: str, principal: Principal, *, checked: bool) -> Admitted:
        """The document parsed, its operation chosen, checked against the limits and validated (each
        worked out once per document text, see schema/documents.py)."""
        document = self.documents.get(query)
        if _has_nul(asked.variables) or document.literal_nul:
            # PostgreSQL text cannot hold NUL: refuse it here rather than as a database error.
            raise BadInput("Strings must not contain NUL (U+0000) characters")
        operation = document.operation(asked.operation_name)
        if operation.operation is OperationType.SUBSCRIPTION:
            raise request_error("Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql")
        if asked.read_only and operation.operation is not OperationType.QUERY:
            raise request_error("Mutations must be sent with POST", status=405)
        suggestions = self.access.may_introspect(principal)
        if checked:
            if document.introspects and not suggestions:
                raise Forbidden("Introspection is not available to this key", limit="introspection")
            limits.check_repeats(document.repeats, document.spreads)
            limits.check(
                document.measure(self.schema._schema, operation, asked.variables),
                max_depth=self.document_limits.max_depth,
                max_aliases=self.document_limits.max_aliases,
                max_cost=principal.max_cost,
            )
        errors = document.validation_errors(self.schema._schema, suggestions=suggestions)
        if errors:
            raise Invalid(errors)
        return Admitted(
            query, principal, asked.variables, asked.operation_name, document, operation, suggestions
        )

    async def _document(self, db: Database, asked: GraphQLRequest) -> str:
        """The document, resolving automatic persisted queries (sha256Hash in ``extensions``)."""
        extensions = asked.extensions or {}
        if "persistedQuery" not in extensions:
            assert asked.query is not None
            return asked.query
        persisted = extensions["persistedQuery"]
        sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256) or persisted.get("version") != 1:
            raise BadInput(
                "`extensions.persistedQuery` needs version 1 and a sha256Hash of 64 hexadecimal digits",
                argument="persistedQuery",
            )
        if asked.query is None:
            return await self.access.persisted_document(db, sha256.lower())
        if sha256_hex(asked.query) != sha256.lower():
            raise BadInput("The sha256Hash does not match the document", argument="sha256Hash")
        self.documents.get(asked.query)  # only a document within the caps that parses is kept
        await self.access.persist(db, sha256.lower(), asked.query, asked.operation_name)
        return asked.query
