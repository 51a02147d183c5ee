"""The error tree of the service; every error carries a stable ``code`` that clients can rely on.

    AppError                 base; code INTERNAL_SERVER_ERROR
    ├── NotFound             NOT_FOUND: a natural key or global id that matches nothing
    ├── BadInput             BAD_USER_INPUT: an argument that is malformed or out of range
    ├── Unauthenticated      UNAUTHENTICATED: no key where one is required, or a bad, revoked or expired key
    ├── Forbidden            FORBIDDEN: the caller's key lacks a scope this needs
    ├── RateLimited          RATE_LIMITED: the key's request budget is spent for now (retry_after_s)
    ├── TooComplex           QUERY_TOO_COMPLEX: the document exceeds a depth, alias, token or cost limit
    ├── PersistedQueryNotFound   PERSISTED_QUERY_NOT_FOUND: a hash the server does not know
    ├── NotAllowListed       OPERATION_NOT_ALLOWED: the key may run registered operations only
    └── Unavailable          SERVICE_UNAVAILABLE: the database cannot be reached in time

``schema/errors.py`` turns these into GraphQL errors with ``extensions.code`` at the API boundary.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(AppError):
    code = "NOT_FOUND"


class BadInput(AppError):
    code = "BAD_USER_INPUT"


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class RateLimited(AppError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_s: int, **details: Any) -> None:
        super().__init__(message, retryAfterSeconds=retry_after_s, **details)
        self.retry_after_s = retry_after_s


class TooComplex(AppError):
    code = "QUERY_TOO_COMPLEX"


class PersistedQueryNotFound(AppError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class NotAllowListed(AppError):
    code = "OPERATION_NOT_ALLOWED"


class Unavailable(AppError):
    code = "SERVICE_UNAVAILABLE"
