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

The request side (docs/adr/0028) is uvicorn's code with its steps made cheaper, in uvicorn's order: the
cycle is made as a ``_Cycle`` with its fields set in one place (uvicorn made a ``RequestResponseCycle``
from eleven keyword arguments, which we then turned into ours by assigning ``__class__``: that moves the
object's attributes into a dict, and every attribute the cycle read afterwards cost twice as much); a
scope is a copy of one made per connection; ``receive`` awaits the request's event only when it is not
set yet, and the keep-alive timer and the flow control are asked without a call when there is nothing
to do. The tests send the same requests to uvicorn's own protocol and to this one and compare the
scopes, the messages received and the bytes sent, and keep a digest of the uvicorn code replaced.

Everything else is uvicorn's: parsing, the headers, upgrades, the 400 answer, the access log, shutdown,
and ``send``'s rules (Content-Length kept to, chunked encoding when there is none, HEAD, 204 and 304
without a body, ``connection: close``).

Serve with it: ``uvicorn --http service.http_protocol:OneWriteProtocol`` (``connectgraph serve`` does).
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import Event
from contextvars import Context
from typing import Any
from urllib.parse import unquote

from httptools import HttpParserError, HttpParserUpgrade, parse_url
from uvicorn._types import ASGI3Application, ASGIReceiveEvent, HTTPRequestEvent
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, service_unavailable
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
_new = object.__new__


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
    and written with the first ``http.response.body`` (for HEAD, 204 and 304 too, with no body).
    ``OneWriteProtocol.on_headers_complete`` sets its fields (``RequestResponseCycle.__init__``'s)."""

    _head = b""

    async def receive(self) -> ASGIReceiveEvent:
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            if self.flow.read_paused:  # flow.resume_reading's own test, without its call
                self.flow.resume_reading()
            if not self.message_event.is_set():  # Event.wait returns at once when set: no coroutine then
                await self.message_event.wait()
            self.message_event.clear()
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        message: HTTPRequestEvent = {
            "type": "http.request",
            "body": bytes(self.body),
            "more_body": self.more_body,
        }
        self.body = bytearray()
        return message

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
    """uvicorn's httptools protocol with ``_Cycle`` for its cycles, and its request side at a smaller cost:
    each method here is uvicorn 0.54's, step for step (tests/ops/test_http_protocol.py keeps a digest of
    uvicorn's code, so a uvicorn that changes it fails there)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # What every request's scope starts from, in uvicorn's order of keys. The last four are set for each
        # request before the app sees its scope; listed here, the copy is made at the size a scope ends at
        # and does not grow its table. (A websocket upgrade's scope is not an app's: uvicorn's websocket
        # protocol makes its own.)
        self._scope_template: dict[str, Any] = {
            "type": "http",
            "asgi": None,
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "root_path": self.root_path,
            "headers": None,
            "state": None,
            "method": None,
            "path": None,
            "raw_path": None,
            "query_string": None,
        }
        self._on_response = self.on_response_complete
        self._discard = self.tasks.discard

    def data_received(self, data: bytes) -> None:
        if self.timeout_keep_alive_task is not None:  # _unset_keepalive_if_required
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        try:
            self.parser.feed_data(data)
        except HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        scope = self._scope_template.copy()
        scope["asgi"] = {"version": self.asgi_version, "spec_version": "2.3"}
        scope["headers"] = self.headers
        scope["state"] = self.app_state.copy()
        self.scope = scope  # type: ignore[assignment]

    def on_headers_complete(self) -> None:
        parser = self.parser
        scope = self.scope
        http_version = parser.get_http_version()
        scope["method"] = parser.get_method().decode("ascii")
        if http_version != "1.1":
            scope["http_version"] = http_version
        if parser.should_upgrade() and self._should_upgrade():
            return
        parsed_url = parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        if self.root_path:
            full_path = self.root_path + path
            raw_path = self.root_path.encode("ascii") + raw_path
        else:
            full_path = path
        scope["path"] = full_path
        scope["raw_path"] = raw_path
        scope["query_string"] = parsed_url.query or b""

        # Handle 503 responses when 'limit_concurrency' is exceeded.
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            app = service_unavailable
            message = "Exceeded concurrency limit."
            self.logger.warning(message)
        else:
            app = self.app

        # RequestResponseCycle.__init__'s fields, in its order, without its eleven keyword arguments.
        existing_cycle = self.cycle
        cycle = _new(_Cycle)
        cycle.scope = scope
        cycle.transport = self.transport
        cycle.flow = self.flow
        cycle.logger = self.logger
        cycle.access_logger = self.access_logger
        cycle.access_log = self.access_log
        cycle.default_headers = self.server_state.default_headers
        cycle.message_event = Event()
        cycle.on_response = self._on_response
        cycle.disconnected = False
        cycle.keep_alive = http_version != "1.0" and parser.should_keep_alive()
        cycle.waiting_for_100_continue = self.expect_100_continue
        cycle.body = bytearray()
        cycle.more_body = True
        cycle.response_started = False
        cycle.response_complete = False
        cycle.chunked_encoding = None
        cycle.expected_content_length = 0
        self.cycle = cycle
        if existing_cycle is None or existing_cycle.response_complete:
            self._start_asgi_task(cycle, app)
        else:
            # Pipelined HTTP requests need to be queued up.
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, app))

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        if self.config.reset_contextvars:
            task = self.loop.create_task(cycle.run_asgi(app), context=Context())
        else:
            task = self.loop.create_task(cycle.run_asgi(app))
        task.add_done_callback(self._discard)
        self.tasks.add(task)

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        cycle.body += body
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        cycle.more_body = False
        cycle.message_event.set()

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        if self.timeout_keep_alive_task is not None:  # _unset_keepalive_if_required
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        if self.flow.read_paused:  # flow.resume_reading's own test, without its call
            self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
