"""uvicorn's httptools protocol, with a response cycle that writes each response's head and its first body
bytes together and builds the head at a smaller cost.

uvicorn writes the status line and headers when the app sends ``http.response.start`` and the body when it
sends ``http.response.body``: two writes, two system calls and two TCP segments for every response that
fits in one. Under load the writes were the largest item of the server's profile (a third of its CPU on a
light question). ``OneWriteProtocol``'s cycle holds the head until the body's first message and sends
both as one.

uvicorn also checks every header's name and value with a regular expression search each and lower-cases
every name: about 3,300 instructions a header. An answer from the answer cache has ten (the date, the
rate limit's three, the request id, the security headers...; a GET also has ETag, Cache-Control and Vary).
The cycle here makes the same checks with the same errors, but it checks and lower-cases a header name
once per process (the names are few) and checks all of a response's values at once.

Everything else is uvicorn's: parsing, keep-alive, flow control, pipelining, 100-continue, upgrades, the
access log, and ``send``'s rules (Content-Length kept to, chunked encoding when there is none, HEAD, 204
and 304 without a body, ``connection: close``).

Serve with it: ``uvicorn --http service.http_protocol:OneWriteProtocol`` (``connectgraph serve`` does).
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

PROTOCOL = "service.http_protocol:OneWriteProtocol"

# What a header name means to the cycle besides being written.
_PLAIN, _LENGTH, _ENCODING, _CONNECTION = 0, 1, 2, 3
_MEANINGS = {b"content-length": _LENGTH, b"transfer-encoding": _ENCODING, b"connection": _CONNECTION}
# The bytes uvicorn's HEADER_VALUE_RE refuses in a value, deleted by ``bytes.translate``: a value that
# loses any had one. A table lookup per byte, where the search cost five times as much.
_FORBIDDEN_IN_VALUES = bytes(b for b in range(256) if HEADER_VALUE_RE.fullmatch(bytes([b])))
_NAMES_KEPT = 1024  # header names remembered checked (an app making names up cannot grow this further)
_names: dict[bytes, tuple[bytes, int]] = {}


def _name(name: bytes) -> tuple[bytes, int]:
    """A header name checked once: its line's start (lower case, with ``: ``) and what it means."""
    if HEADER_RE.search(name):
        raise RuntimeError("Invalid HTTP header name.")
    lowered = name.lower()
    known = (lowered + b": ", _MEANINGS.get(lowered, _PLAIN))
    if len(_names) < _NAMES_KEPT:
        _names[name] = known
    return known


class _Cycle(RequestResponseCycle):
    """uvicorn's request/response cycle with its ``send``: the head is built at ``http.response.start``
    and written with the first ``http.response.body`` (for HEAD, 204 and 304 too, with no body)."""

    _head = b""

    async def send(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.start', but got '{message['type']}'."
                )
            self.response_started = True
            self.waiting_for_100_continue = False
            status_code = message["status"]
            # uvicorn works out the line's arguments before ``info`` finds its level off (configure_logging
            # sets uvicorn.access to WARNING): asked first, the same lines are written at less cost.
            if self.access_log and self.access_logger.isEnabledFor(logging.INFO):
                self.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d',
                    get_client_addr(self.scope),
                    self.scope["method"],
                    get_path_with_query_string(self.scope),
                    self.scope["http_version"],
                    status_code,
                )
            self._head = self._build_head(status_code, [*self.default_headers, *message.get("headers", ())])
        elif not self.response_complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.body', but got '{message['type']}'."
                )
            body = message.get("body", b"")
            more_body = message.get("more_body", False)
            data, self._head = self._head, b""
            if self.scope["method"] == "HEAD":
                self.expected_content_length = 0
            elif self.chunked_encoding:
                if body:
                    data += b"%x\r\n%b\r\n" % (len(body), body)
                if not more_body:
                    data += b"0\r\n\r\n"
            else:
                if len(body) > self.expected_content_length:
                    raise RuntimeError("Response content longer than Content-Length")
                self.expected_content_length -= len(body)
                data += body
            if data:
                self.transport.write(data)
            if not more_body:
                if self.expected_content_length != 0:
                    raise RuntimeError("Response content shorter than Content-Length")
                self.response_complete = True
                self.message_event.set()
                if not self.keep_alive:
                    self.transport.close()
                self.on_response()
        else:
            raise RuntimeError(
                f"Unexpected ASGI message '{message['type']}' sent, after response already completed."
            )

    def _build_head(self, status_code: int, headers: list[tuple[bytes, bytes]]) -> bytes:
        content = [STATUS_LINE[status_code]]
        has_connection_close = False
        for name, value in headers:
            start, meaning = _names.get(name) or _name(name)
            if meaning:
                if meaning == _LENGTH:
                    if self.chunked_encoding is None:
                        self.expected_content_length = int(value.decode())
                        self.chunked_encoding = False
                elif meaning == _ENCODING:
                    if value.lower() == b"chunked":
                        self.expected_content_length = 0
                        self.chunked_encoding = True
                elif b"close" in [token.lower().strip() for token in value.split(b",")]:
                    self.keep_alive = False
                    has_connection_close = True
            content += (start, value, b"\r\n")
        values = b"".join(content[2::3])  # every value, checked at once
        if len(values.translate(None, _FORBIDDEN_IN_VALUES)) != len(values):
            raise RuntimeError("Invalid HTTP header value.")
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status_code not in (204, 304):
            self.chunked_encoding = True  # neither Content-Length nor Transfer-Encoding was given
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        return b"".join(content)


class OneWriteProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if type(cycle) is RequestResponseCycle:  # the cycle uvicorn made just now: ours instead
            cycle.__class__ = _Cycle
