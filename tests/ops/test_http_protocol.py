"""The HTTP protocol the service is served with: uvicorn's httptools, each response's head and first body bytes
in one write (service/http_protocol.py). Real uvicorn, real sockets; the writes are counted on the
connection's own transport."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from service.http_protocol import OneWriteProtocol
from tests.ops.processes import free_port

WRITES: list[bytes] = []


class _Counted:
    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(data)
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountingProtocol(OneWriteProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = _Counted(self.transport)  # type: ignore[assignment]


async def small(request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json", headers={"x-one": "1"})


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


async def stream(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


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
    ]
)


@asynccontextmanager
async def served() -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(APP, host="127.0.0.1", port=port, http=CountingProtocol, log_level="warning")
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
        await task


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


async def exchange(port: int, request: bytes) -> bytes:
    """Everything the server sends for one request, until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), timeout=0.5):
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
