"""The error tree of the service; every error carries a stable ``code`` that clients can rely on.

    AppError                 base; code INTERNAL_SERVER_ERROR
    ├── NotFound             NOT_FOUND: a natural key or global id that matches nothing
    ├── BadInput             BAD_USER_INPUT: an argument that is malformed or out of range
    ├── Forbidden            FORBIDDEN: the caller may not see this
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


class Forbidden(AppError):
    code = "FORBIDDEN"


class Unavailable(AppError):
    code = "SERVICE_UNAVAILABLE"
