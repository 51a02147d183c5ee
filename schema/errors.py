"""Domain errors to GraphQL errors with a stable ``extensions.code``; shared argument checks."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from service.errors import AppError

# Codes for errors that do not come from a domain error.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"


def error_code(error: GraphQLError) -> str:
    """The stable code of an error raised during execution: the domain error's it wraps, if any."""
    original = error.original_error
    if isinstance(original, AppError):
        return original.code
    code = (error.extensions or {}).get("code")
    if original is None and isinstance(code, str):
        return code
    # Anything else that went wrong while executing is the server's to answer for.
    return INTERNAL


def coded(error: GraphQLError, code: str) -> dict[str, Any]:
    """An error found before execution (syntax, validation, variables) as sent: message, locations, code."""
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    out["extensions"] = {"code": code}
    return out


def format_error(error: GraphQLError, *, mask: bool) -> dict[str, Any]:
    """The error as sent to clients: internals are masked when ``mask`` is set."""
    code = error_code(error)
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    extensions["code"] = code
    original = error.original_error
    if isinstance(original, AppError):
        extensions.update({k: v for k, v in original.details.items() if _plain(v)})
    out: dict[str, Any] = {"message": formatted["message"]}
    if code == INTERNAL and mask:
        out["message"] = "Internal server error"
    if "locations" in formatted:
        out["locations"] = formatted["locations"]
    if "path" in formatted:
        out["path"] = formatted["path"]
    out["extensions"] = extensions
    return out


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
