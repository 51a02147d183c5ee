"""The request id: taken from ``X-Request-ID`` when a proxy sent a sane one, else made here.

It lives in a context variable for the length of the request, so logs, masked errors and traces can
name it without being handed it; the middleware returns it as the ``X-Request-ID`` response header.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("connectgraph_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered, or None outside a request."""
    return _current.get()


def request_id_from(header: str | None) -> str:
    """The incoming id when it is short and plain (it ends up in logs), else a new one."""
    if header and _SANE.match(header):
        return header
    return os.urandom(16).hex()  # 128 random bits, as uuid4().hex gave, at a fraction of the cost


def set_request_id(value: str | None) -> object:
    """Set the id for the current context; returns a token for ``reset_request_id``."""
    return _current.set(value)


def reset_request_id(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
