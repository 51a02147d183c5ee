"""The request id: taken from ``X-Request-ID`` when a proxy sent a sane one, else made here.

It lives in a context variable for the length of the request, so logs, masked errors and traces can
name it without being handed it; the middleware returns it as the ``X-Request-ID`` response header.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from contextvars import ContextVar, Token

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("connectgraph_request_id", default=None)


# The context variable's own methods rather than functions that call them: every request asks for the
# id a few times (the middleware, the log line), and a Python call costs more than the lookup itself.
current_request_id: Callable[[], str | None] = _current.get
"""The id of the request being answered, or None outside a request."""
set_request_id: Callable[[str | None], Token[str | None]] = _current.set
"""Set the id for the current context; returns a token for ``reset_request_id``."""
reset_request_id: Callable[[Token[str | None]], None] = _current.reset


def request_id_from(header: str | None) -> str:
    """The incoming id when it is short and plain (it ends up in logs), else a new one."""
    if header and _SANE.match(header):
        return header
    # f"{n:016x}" at two thirds of the cost (the count starts below 2**32: it never needs a ninth byte)
    return _PROCESS + next(_COUNT).to_bytes(8, "big").hex()


# A made id: 64 random bits drawn once per process, then this process's request count. Unique across
# processes and instances as a random id is (32 hex digits, as uuid4().hex gave), without a system call
# for random bytes on every request.
_PROCESS = ""
_COUNT = itertools.count()


def _draw() -> None:
    global _PROCESS, _COUNT
    _PROCESS = os.urandom(8).hex()
    _COUNT = itertools.count(int.from_bytes(os.urandom(4), "big"))


_draw()
os.register_at_fork(after_in_child=_draw)  # a forked worker draws its own
