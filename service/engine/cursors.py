"""Keyset cursors: base64 of ``[fingerprint, sort key values...]`` (built in SQL, read back here).

The values are the row's sort keys as text, so a cursor stays valid while rows are inserted before it.
The fingerprint is a digest of the list's filter, ordering and other arguments: a cursor presented to a
list asked differently is refused (BAD_USER_INPUT naming the argument), never read as a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

import orjson

from service.errors import BadInput

MAX_CURSOR_LENGTH = 2_000
MAX_INT = 2**63 - 1


def fingerprint(field: str, arguments: Mapping[str, Any]) -> str:
    """A short digest of what a list is (its field and arguments other than the page's)."""
    kept = {k: v for k, v in arguments.items() if k not in ("first", "last", "after", "before")}
    canonical = orjson.dumps([field, kept], default=_plain, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    raise TypeError(type(value).__name__)


def decode(cursor: Any, argument: str, expected: str, types: Sequence[str]) -> list[str | None]:
    """The sort key values of a cursor made for the list whose fingerprint is ``expected``, checked
    against the keys' SQL types (so a forged value cannot make the statement fail)."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise BadInput(f"`{argument}` is not a cursor of this list", argument=argument)
    try:
        parsed = orjson.loads(base64.b64decode(cursor.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeError, ValueError, orjson.JSONDecodeError):
        raise BadInput(f"`{argument}` {cursor!r} is not a valid cursor", argument=argument) from None
    if (
        not isinstance(parsed, list)
        or len(parsed) != len(types) + 1
        or not all(v is None or isinstance(v, str) for v in parsed)
    ):
        raise BadInput(f"`{argument}` {cursor!r} is not a cursor of this list", argument=argument)
    if parsed[0] != expected:
        raise BadInput(
            f"`{argument}` is a cursor of a list with another filter or order; ask again from the start",
            argument=argument,
        )
    values: list[str | None] = parsed[1:]
    for value, sql_type in zip(values, types, strict=True):
        if value is not None and not _valid(value, sql_type):
            raise BadInput(f"`{argument}` {cursor!r} is not a valid cursor", argument=argument)
    return values


def _valid(value: str, sql_type: str) -> bool:
    try:
        if sql_type in ("int", "bigint"):
            return value.isascii() and abs(int(value)) <= MAX_INT
        if sql_type == "numeric":
            number = Decimal(value)
            return number.is_finite() and len(number.as_tuple().digits) <= 40
        if sql_type == "date":
            date.fromisoformat(value)
            return True
        if sql_type == "timestamptz":
            datetime.fromisoformat(value)
            return True
        if sql_type == "boolean":
            return value in ("true", "false")
    except (ValueError, InvalidOperation):
        return False
    return "\x00" not in value
