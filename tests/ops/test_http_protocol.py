"""The HTTP protocol the service is served with: uvicorn's httptools, each response's head and first body bytes
in one write, the request side written leaner (service/http_protocol.py). Real uvicorn, real sockets; the
writes are counted on the connection's own transport, and the same requests are sent to uvicorn's own
protocol to compare what each gives the app and sends back."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from operator import attrgetter
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http import flow_control, httptools_impl

from service.http_protocol import OneWriteProtocol
from tests.ops.processes import free_port

WRITES: list[bytes] = []
READING: list[str] = []  # the transports' pause_reading and resume_reading calls


class _Counted:
    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(data)
        self._transport.write(data)

    def pause_reading(self) -> None:
        READING.append("pause")
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        READING.append("resume")
        self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountingProtocol(OneWriteProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(_Counted(transport))  # the flow control's transport too


async def small(request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json", headers={"x-one": "1"})


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


async def stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


CONTEXT: ContextVar[str] = ContextVar("CONTEXT", default="fresh")


async def context(request: Request) -> Response:
    return Response(CONTEXT.get().encode())


async def sleep(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params["s"]))
    return Response(b"slept")


async def not_modified(request: Request) -> Response:
    return Response(status_code=304, headers={"etag": '"x"'})


class RawHeaders:
    """An ASGI app sending the headers its query string names (tests of the head's checks)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = {
            b"mixed": [(b"X-Mixed-Case", b"Kept"), (b"content-length", b"2")],
            b"injected": [(b"x-note", b"a\r\nset-cookie: stolen=1"), (b"content-length", b"2")],
            b"bad-name": [(b"x bad", b"1"), (b"content-length", b"2")],
            b"delete": [(b"x-note", b"a\x7f"), (b"content-length", b"2")],
            b"tab": [(b"x-note", b"a\tb\x80"), (b"content-length", b"2")],
            b"close": [(b"Connection", b"keep-alive, Close"), (b"content-length", b"2")],
            b"unsized": [],
        }[scope["query_string"]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})


APP = Starlette(
    routes=[
        Route("/small", small, methods=["GET", "HEAD"]),
        Route("/echo", echo, methods=["POST"]),
        Route("/stream", stream),
        Route("/same", not_modified),
        Route("/raw", RawHeaders()),
        Route("/context", context),
        Route("/sleep", sleep),
    ]
)


@asynccontextmanager
async def served(app: Any = APP, http: Any = CountingProtocol, **settings: Any) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=http, log_level="warning", **settings)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn says when it listens only through this flag
        if server.started:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("uvicorn did not start")
    try:
        yield port
    finally:
        server.should_exit = True
        try:  # a request that never ends fails the test instead of hanging it
            await asyncio.wait_for(asyncio.shield(task), timeout=10)
        except TimeoutError:
            server.force_exit = True
            await task
            raise AssertionError("uvicorn did not stop: a request never finished") from None


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {
        line.split(b":", 1)[0].lower(): line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")[1:]
        if b":" in line
    }
    if b"content-length" in headers:
        return head, await reader.readexactly(int(headers[b"content-length"]))
    if headers.get(b"transfer-encoding") == b"chunked":
        body = b""
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
        return head, body
    return head, b""


async def test_each_small_response_is_one_write_and_keep_alive_still_works() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        WRITES.clear()
        answers = []
        for _ in range(3):
            writer.write(b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
            answers.append(await read_response(reader))
        writer.write(b"HEAD /small HTTP/1.1\r\nHost: t\r\n\r\n")
        head_only = await reader.readuntil(b"\r\n\r\n")
        writer.write(b"GET /same HTTP/1.1\r\nHost: t\r\n\r\n")
        unchanged = await reader.readuntil(b"\r\n\r\n")
        writer.close()
    assert [body for _, body in answers] == [b'{"ok":true}'] * 3
    assert all(head.startswith(b"HTTP/1.1 200 OK\r\n") and b"x-one: 1" in head for head, _ in answers)
    assert head_only.startswith(b"HTTP/1.1 200 OK") and unchanged.startswith(b"HTTP/1.1 304")
    assert len(WRITES) == 5  # one per response: head and body together
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK") and WRITES[0].endswith(b'{"ok":true}')


async def test_a_streamed_response_sends_its_head_with_the_first_part() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        WRITES.clear()
        writer.write(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        head, body = await read_response(reader)
        writer.close()
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b"one,two,three"
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK") and WRITES[0].endswith(b"4\r\none,\r\n")


async def test_100_continue_is_not_held_back() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        writer.write(b"hello")
        head, body = await read_response(reader)
        writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b"hello"


async def exchange(port: int, request: bytes, quiet: float = 0.5) -> bytes:
    """Everything the server sends for one request, until it closes or goes quiet after its first bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=quiet if received else 5):
            received += chunk
    except TimeoutError:
        pass
    writer.close()
    return received


async def test_header_names_are_sent_in_lower_case_and_a_missing_length_means_chunked() -> None:
    async with served() as port:
        mixed = await exchange(port, b"GET /raw?mixed HTTP/1.1\r\nHost: t\r\n\r\n")
        again = await exchange(port, b"GET /raw?mixed HTTP/1.1\r\nHost: t\r\n\r\n")
        unsized = await exchange(port, b"GET /raw?unsized HTTP/1.1\r\nHost: t\r\n\r\n")
    assert b"\r\nx-mixed-case: Kept\r\n" in mixed and mixed.endswith(b"\r\n\r\nok")
    assert again == mixed.replace(mixed.split(b"date: ")[1][:29], again.split(b"date: ")[1][:29])
    assert b"\r\ntransfer-encoding: chunked\r\n" in unsized and unsized.endswith(b"2\r\nok\r\n0\r\n\r\n")


async def test_a_header_that_would_inject_a_line_or_is_misnamed_sends_nothing() -> None:
    async with served() as port:
        injected = await exchange(port, b"GET /raw?injected HTTP/1.1\r\nHost: t\r\n\r\n")
        bad_name = await exchange(port, b"GET /raw?bad-name HTTP/1.1\r\nHost: t\r\n\r\n")
        delete = await exchange(port, b"GET /raw?delete HTTP/1.1\r\nHost: t\r\n\r\n")
        tab = await exchange(port, b"GET /raw?tab HTTP/1.1\r\nHost: t\r\n\r\n")
        after = await exchange(port, b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
    assert injected == b"" and bad_name == b"" and delete == b""  # the connection closed, no head sent
    assert b"\r\nx-note: a\tb\x80\r\n" in tab  # a tab and bytes over 0x7f are allowed, as uvicorn allows them
    assert after.startswith(b"HTTP/1.1 200 OK")


async def test_an_app_saying_connection_close_closes_the_connection() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /raw?close HTTP/1.1\r\nHost: t\r\n\r\n")
        received = await asyncio.wait_for(reader.read(), timeout=5)  # to the end: the server closed
        writer.close()
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"\r\n\r\nok")
    assert b"\r\nconnection: keep-alive, Close\r\n" in received


async def test_the_access_line_is_the_same_and_is_worked_out_only_when_its_logger_writes() -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    access = logging.getLogger("uvicorn.access")
    keep, level = Keep(), access.level
    async with served() as port:
        access.addHandler(keep)  # before the connections: uvicorn asks for handlers once per connection
        try:
            access.setLevel(logging.INFO)
            await exchange(port, b"GET /small?a=%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\n")
            access.setLevel(logging.WARNING)
            await exchange(port, b"GET /small?b=2 HTTP/1.1\r\nHost: t\r\n\r\n")
        finally:
            access.removeHandler(keep)
            access.setLevel(level)
    assert len(lines) == 1
    assert lines[0].startswith("127.0.0.1:") and lines[0].endswith(' - "GET /small?a=%C3%A9 HTTP/1.1" 200')


class Recorder:
    """An ASGI app keeping each request's scope and the messages ``receive`` gave it. It reads the body to
    its end (except for a path ending ``/unread``), waits first for a path with ``/slow``, answers
    ``<path> <body length>``, and accepts and closes a websocket."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.received: list[list[dict[str, Any]]] = []
        self.done = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # its state is what each request's scope["state"] is a copy of
            await receive()
            scope["state"]["kept"] = "by the lifespan"
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            self.received.append([await receive()])
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        if "/slow" in scope["path"]:
            await asyncio.sleep(0.2)
        messages: list[dict[str, Any]] = []
        while not scope["path"].endswith("/unread") and len(messages) < 100:
            messages.append(await receive())
            if messages[-1]["type"] == "http.disconnect" or not messages[-1]["more_body"]:
                break
        self.received.append(messages)
        self.done.set()
        scope.get("state", {})["changed"] = "by a request"  # not seen by the next request
        answer = f"{scope['path']} {sum(len(m.get('body', b'')) for m in messages)}".encode()
        length = str(len(answer)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]})
        await send({"type": "http.response.body", "body": answer})


def _comparable(scope: dict[str, Any]) -> list[tuple[str, Any, type]]:
    """A scope's keys in order, values and their types; the two servers' ports are left out."""
    ports = {"server": scope["server"][0], "client": scope["client"][0]}
    return [(key, ports.get(key, value), type(value)) for key, value in scope.items()]


REQUESTS = {
    "a query string and mixed-case headers": b"GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: t\r\nX-Mixed: A\r\n\r\n",
    "a percent-encoded path": b"GET /caf%C3%A9/%2F%20x?q HTTP/1.1\r\nHost: t\r\n\r\n",
    "HTTP/1.0": b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "Connection: close": b"POST /close HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    "a chunked body": b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n2\r\n!!\r\n0\r\n\r\n",
    "pipelined": b"GET /1/slow HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    "100-continue": b"POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi",
    "100-continue, body unread": b"POST /unread HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    "an unsupported upgrade": b"GET /u HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    "a websocket": (
        b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ),
    "an absolute URL": b"GET http://example.com/abs?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "a bad header": b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
    "a path not in ASCII": b"GET /\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n",
}


@pytest.mark.parametrize("settings", [{}, {"root_path": "/api"}], ids=["no root path", "a root path"])
async def test_the_app_gets_and_the_client_receives_what_uvicorns_own_protocol_gives(
    settings: dict[str, Any],
) -> None:
    seen = {}
    for http in ("httptools", OneWriteProtocol):  # uvicorn's own protocol, then ours
        app = Recorder()
        async with served(app, http, lifespan="off", date_header=False, **settings) as port:
            answers = [await exchange(port, request, quiet=0.3) for request in REQUESTS.values()]
        seen[http] = dict(zip(REQUESTS, answers, strict=True)), app.scopes, app.received
    (answers, scopes, received), (their_answers, their_scopes, their_received) = seen.values()
    for name, answer in answers.items():
        assert answer == their_answers[name], name
    assert [_comparable(scope) for scope in scopes] == [_comparable(scope) for scope in their_scopes]
    assert received == their_received
    root = settings.get("root_path", "")
    scope = next(scope for scope in scopes if scope["raw_path"].endswith(b"%20x"))
    assert scope["path"] == f"{root}/caf\u00e9// x" and scope["root_path"] == root  # unquoted once
    assert scope["raw_path"] == f"{root}/caf%C3%A9/%2F%20x".encode() and scope["query_string"] == b"q"
    assert answers["pipelined"].index(b"/1/slow 0") < answers["pipelined"].index(b"/2 2")
    assert answers["100-continue"].startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert b"100 Continue" not in answers["100-continue, body unread"]
    assert answers["a websocket"].startswith(b"HTTP/1.1 101 Switching Protocols")
    assert answers["a bad header"].startswith(b"HTTP/1.1 400 Bad Request")


async def test_each_request_gets_its_own_copy_of_the_lifespans_state() -> None:
    app = Recorder()
    async with served(app) as port:
        twice = await exchange(port, b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert twice.endswith(b"/2 0")
    first, second = (scope["state"] for scope in app.scopes)
    assert first == second == {"kept": "by the lifespan", "changed": "by a request"} and first is not second


async def test_a_connection_idle_past_the_keep_alive_timeout_is_closed_and_a_request_stops_the_wait() -> None:
    loop = asyncio.get_running_loop()
    async with served(timeout_keep_alive=1) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for path in (b"/small", b"/small", b"/sleep?s=1.2"):  # 0.6 s apart; the last longer than the timeout
            writer.write(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path)
            answers.append(await asyncio.wait_for(read_response(reader), timeout=5))
            await asyncio.sleep(0.6)
        idle_from = loop.time()
        rest = await asyncio.wait_for(reader.read(), timeout=5)  # to the end: the server closed
        idle = loop.time() - idle_from
        writer.close()
    assert [body for _, body in answers] == [b'{"ok":true}', b'{"ok":true}', b"slept"]
    assert rest == b"" and idle < 1.0


async def test_pipelined_requests_wait_their_turn_with_reading_paused_and_reading_resumes_after() -> None:
    app = Recorder()
    READING.clear()
    async with served(app, lifespan="off") as port:  # the app reads neither body: only the protocol resumes
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /1/slow/unread HTTP/1.1\r\nHost: t\r\n\r\nGET /2/unread HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        answers = [await asyncio.wait_for(read_response(reader), timeout=5) for _ in range(2)]
        writer.write(b"GET /3 HTTP/1.1\r\nHost: t\r\n\r\n")
        answers.append(await asyncio.wait_for(read_response(reader), timeout=5))
        writer.close()
    assert [body for _, body in answers] == [b"/1/slow/unread 0", b"/2/unread 0", b"/3 0"]
    assert READING == [
        "pause",
        "resume",
    ]  # the second request queued, then started when the first was answered


async def test_a_client_gone_in_the_middle_of_a_body_is_an_http_disconnect_to_the_app() -> None:
    app = Recorder()
    async with served(app, lifespan="off") as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /partial HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello")
        await asyncio.sleep(0.2)  # the first half read by the server
        writer.close()
        await asyncio.wait_for(app.done.wait(), timeout=5)
    assert app.received == [
        [{"type": "http.request", "body": b"hello", "more_body": True}, {"type": "http.disconnect"}]
    ]


async def test_past_limit_concurrency_a_request_is_answered_503_and_its_connection_closed() -> None:
    request = b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n"
    async with served(limit_concurrency=2) as port:
        alone = await exchange(port, request)
        _, other = await asyncio.open_connection("127.0.0.1", port)  # two connections: at the limit
        crowded = await exchange(port, request)
        other.close()
    assert alone.startswith(b"HTTP/1.1 200 OK")
    assert crowded.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nconnection: close\r\n" in crowded and crowded.endswith(b"\r\n\r\nService Unavailable")


async def test_a_body_past_the_high_water_mark_pauses_reading_until_the_app_reads_it() -> None:
    app = Recorder()
    READING.clear()
    async with served(app, lifespan="off") as port:  # /slow: the app waits before reading
        answer = await exchange(
            port, b"POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\n\r\n" + b"x" * 300_000
        )
    assert answer.endswith(b"/slow 300000")
    assert (
        READING[0] == "pause"
        and READING.count("pause") == READING.count("resume")
        and READING[-1] == "resume"
    )
    assert len(app.received[0]) > 1 and all(message["more_body"] for message in app.received[0][:-1])


async def test_reset_contextvars_starts_each_request_in_a_fresh_context() -> None:
    token = CONTEXT.set("the server's")
    try:
        async with served(reset_contextvars=True) as port:
            fresh = await exchange(port, b"GET /context HTTP/1.1\r\nHost: t\r\n\r\n")
        async with served() as port:
            inherited = await exchange(port, b"GET /context HTTP/1.1\r\nHost: t\r\n\r\n")
    finally:
        CONTEXT.reset(token)
    assert fresh.endswith(b"\r\n\r\nfresh") and inherited.endswith(b"\r\n\r\nthe server's")


async def test_an_upgrade_the_server_cannot_make_is_warned_of_and_answered_as_http() -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    upgrade = b"GET /small HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n"
    errors, keep = logging.getLogger("uvicorn.error"), Keep()
    try:  # the handler added once uvicorn has configured its loggers, which drops their handlers
        async with served() as port:
            errors.addHandler(keep)
            h2c = await exchange(port, upgrade % b"h2c")
        async with served(ws="none") as port:
            errors.addHandler(keep)
            websocket = await exchange(port, upgrade % b"websocket")
    finally:
        errors.removeHandler(keep)
    assert h2c.startswith(b"HTTP/1.1 200 OK") and websocket.startswith(b"HTTP/1.1 200 OK")
    assert [line for line in lines if "upgrade" in line.lower() or "WebSocket" in line] == [
        "Unsupported upgrade request.",
        "Unsupported upgrade request.",
        "No supported WebSocket library detected. Please use \"pip install 'uvicorn[standard]'\", or install "
        "'websockets' or 'wsproto' manually.",
    ]


# The code of uvicorn 0.54 (and of asyncio) that service/http_protocol.py replaces or repeats, by a digest of
# its source. A version that changed any of it fails here: read the new code against ours, then update.
REPLACED = {
    "httptools_impl.HttpToolsProtocol.__init__": "4f08999410347141",
    "httptools_impl.HttpToolsProtocol.connection_made": "6efb565ff3d36b91",
    "httptools_impl.HttpToolsProtocol.data_received": "010a7ae59a5d3b1a",
    "httptools_impl.HttpToolsProtocol._unset_keepalive_if_required": "00a6a4e47214e68e",
    "httptools_impl.HttpToolsProtocol.on_message_begin": "96d377fdc7c2baef",
    "httptools_impl.HttpToolsProtocol.on_headers_complete": "1ea8589acfad92d8",
    "httptools_impl.HttpToolsProtocol._start_asgi_task": "9c08c2571ae9b038",
    "httptools_impl.HttpToolsProtocol.on_body": "dba9c32aeba35b6a",
    "httptools_impl.HttpToolsProtocol.on_message_complete": "1fbad42dc31fc01f",
    "httptools_impl.HttpToolsProtocol.on_response_complete": "64e254f28e389e76",
    "httptools_impl.RequestResponseCycle.__init__": "4d2f220910c33c12",
    "httptools_impl.RequestResponseCycle.receive": "8124ae006be71184",
    "httptools_impl.RequestResponseCycle.send": "abdd8601b326a8da",
    "flow_control.FlowControl.resume_reading": "a0429d30857e8488",
    "asyncio.Event.wait": "7660274eafce06d9",
}


def test_the_code_the_protocol_replaces_is_the_code_it_was_written_against() -> None:
    modules = {"httptools_impl": httptools_impl, "flow_control": flow_control, "asyncio": asyncio}
    digests = {}
    for name in REPLACED:
        module, _, path = name.partition(".")
        source = inspect.getsource(attrgetter(path)(modules[module]))
        digests[name] = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert digests == REPLACED
    assert not hasattr(httptools_impl.RequestResponseCycle, "__slots__")  # its objects made by object.__new__
