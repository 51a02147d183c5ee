"""uvicorn's httptools protocol, writing each response's head and its first body bytes together.

uvicorn writes the status line and headers when the app sends ``http.response.start`` and the body when it
sends ``http.response.body``: two writes, two system calls and two TCP segments for every response that
fits in one. Under load the writes were the largest item of the server's profile (a third of its CPU on a
light question). ``OneWriteProtocol`` holds the head until the body's first write and sends both as one;
everything else is uvicorn's (parsing, keep-alive, flow control, pipelining, 100-continue, upgrades).

Serve with it: ``uvicorn --http service.http_protocol:OneWriteProtocol`` (``connectgraph serve`` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "service.http_protocol:OneWriteProtocol"


class _OneWrite:
    """A response cycle's view of the connection: the first write after its response started (the head)
    is held and sent with the next write (the body), or when the response completes without one (HEAD),
    or before the connection is closed."""

    __slots__ = ("_cycle", "_held", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._held = b""
        self._started = False

    def write(self, data: bytes) -> None:
        if not self._started and self._cycle.response_started:
            self._started = True  # this is the head: wait for the body
            self._held = data
            return
        if self._held:
            data, self._held = self._held + data, b""
        self._transport.write(data)

    def flush(self) -> None:
        """Send what is held: a response that ended without a body write (HEAD)."""
        if self._held:
            self._transport.write(self._held)
            self._held = b""

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # a cycle made just now
            one = _OneWrite(self.transport, cycle)
            cycle.transport = one  # type: ignore[assignment]
            finished = cycle.on_response

            def on_response() -> None:  # the response is complete: nothing may stay held
                one.flush()
                finished()

            cycle.on_response = on_response
