"""Instructions per request through the whole server, by callgrind: `python -m bench.instructions BODY`.

The request's bytes go into uvicorn's own protocol (``service.http_protocol.OneWriteProtocol``, httptools)
on a transport that keeps what is written, in front of the production app (``service.asgi:app``, with its
lifespan: pools, LISTEN, the answer cache), so everything the server process runs for a request is there:
HTTP parsing, the middleware, the door, execution, the log line, metrics, the response head. Only the
system calls (socket reads and writes) and the event loop's polling are not.

The process runs under ``valgrind --tool=callgrind`` with counting off; it is switched on
(``callgrind_control -i on``) around ``--requests`` requests made after a warm-up, one after the other.
Instructions do not move with what else the machine is doing, where req/s on a shared 2-core machine
moves by 10-20 % from one round to the next: an A/B of two checkouts shows a 2 % change.

    bench/run --prepare                          # once: the database and bench/.work/bodies/ours_q1.json
    .venv/bin/python -m bench.instructions bench/.work/bodies/ours_q1.json --env ANSWER_CACHE_ENTRIES=512
    .venv/bin/python -m bench.instructions bench/.work/bodies/ours_q1.json --app bench.floors:http_floor

The first prints the instructions of an answer-cache hit; the second those of the HTTP floor's route.
Under valgrind the process runs about 80 times slower: a few thousand requests take a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from bench.request_cpu import BENCH_ENV
from bench.run import DEFAULT_URL

_UNDER_VALGRIND = "CONNECTGRAPH_UNDER_CALLGRIND"
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


class _Transport:
    """A connection's transport that keeps what the server writes and says when a response began."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.wrote: asyncio.Future[None] | None = None
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)
        if self.wrote is not None and not self.wrote.done():
            self.wrote.set_result(None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8011), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _request(body: bytes) -> bytes:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:8011\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _count(on: bool) -> None:
    """Switch callgrind's counting for this process (nothing outside valgrind)."""
    if os.environ.get(_UNDER_VALGRIND):
        flag = "on" if on else "off"
        subprocess.run(["callgrind_control", "-i", flag, str(os.getpid())], capture_output=True, check=True)


async def _serve(app_path: str, body: bytes, warmup: int, requests: int, sink: TextIO) -> None:
    from uvicorn.config import Config
    from uvicorn.lifespan.on import LifespanOn
    from uvicorn.server import ServerState

    from service.http_protocol import OneWriteProtocol

    config = Config(
        app_path, http=OneWriteProtocol, access_log=False, server_header=False, log_level="warning"
    )
    config.load()
    lifespan = LifespanOn(config)
    await lifespan.startup()
    loop = asyncio.get_running_loop()
    transport = _Transport()
    protocol = OneWriteProtocol(config, ServerState(), {}, _loop=loop)
    protocol.connection_made(transport)  # type: ignore[arg-type]
    request = _request(body)

    async def one() -> None:
        transport.wrote = loop.create_future()
        transport.written.clear()
        protocol.data_received(request)
        await transport.wrote
        for task in list(protocol.tasks):  # the request's task, to its end (the log line, the metrics)
            await task

    await one()
    status = b"".join(transport.written).split(b"\r\n", 1)[0]
    if status != b"HTTP/1.1 200 OK":
        raise SystemExit(f"the server answered {status.decode(errors='replace')!r}")
    with contextlib.redirect_stdout(sink):  # the request log lines: written, not kept
        for _ in range(warmup):
            await one()
        _count(True)
        for _ in range(requests):
            await one()
        _count(False)
    await lifespan.shutdown()


def _measure(args: argparse.Namespace) -> int:
    """Run this module again under callgrind and print the instructions per request."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is missing: apt-get install -y valgrind", file=sys.stderr)
        return 2
    env = {**os.environ, **BENCH_ENV, "DATABASE_URL": args.database_url, _UNDER_VALGRIND: "1"}
    env.update(dict(pair.split("=", 1) for pair in args.env))
    with tempfile.TemporaryDirectory() as folder:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={Path(folder) / 'callgrind.out'}",
            sys.executable,
            "-m",
            "bench.instructions",
            *sys.argv[1:],
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        print(done.stdout[-2000:] + done.stderr[-2000:], file=sys.stderr)
        return done.returncode or 1
    per = int(found.group(1)) / args.requests
    print(f"{args.app}: {per:,.0f} instructions per request ({args.requests:,} requests, callgrind)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("body", help="a JSON request body file (bench/.work/bodies/ours_q1.json)")
    parser.add_argument("--requests", type=int, default=2000, help="requests counted")
    parser.add_argument("--warmup", type=int, default=500, help="requests before counting")
    parser.add_argument("--app", default="service.asgi:app", help="the ASGI app (bench.floors:http_floor)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server, repeatable")
    args = parser.parse_args()
    if not os.environ.get(_UNDER_VALGRIND):
        return _measure(args)
    import uvloop

    with open(os.devnull, "w") as sink:
        uvloop.run(_serve(args.app, Path(args.body).read_bytes(), args.warmup, args.requests, sink))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
