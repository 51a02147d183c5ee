"""CPU per request of our server's Python, without sockets: `python -m bench.request_cpu BODY.json`.

The production app (``service.asgi:app``, built from the environment as uvicorn builds it) is called
directly as ASGI, ``--concurrency`` requests in flight, ``--requests`` in all after a warm-up; what the
process spends (``time.process_time``) divided by the requests is the cost of everything of ours per
request (door, execution, serialisation, logging, metrics, asyncpg's client side), with no HTTP parsing
and no socket writes. On a shared machine this is steadier than req/s: other work does not add to it.

    DATABASE_URL=... ENVIRONMENT=production API_KEY_SECRET=... ANONYMOUS_SCOPES=read:reference,read:flows \\
      ANONYMOUS_RATE_PER_MINUTE=1000000000 ANSWER_CACHE_ENTRIES=0 \\
      .venv/bin/python -m bench.request_cpu /tmp/q1.json --profile /tmp/q1.prof

``--profile FILE`` also writes cProfile's statistics of the timed requests (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
from pathlib import Path
from typing import Any

BENCH_ENV = {
    "ENVIRONMENT": "production",
    "GRAPHIQL": "false",
    "API_KEY_SECRET": "bench-only-key-secret-for-a-local-benchmark",
    "ANONYMOUS_SCOPES": "read:reference,read:flows",
    "ANONYMOUS_RATE_PER_MINUTE": "1000000000",
    "ANSWER_CACHE_ENTRIES": "0",
    "LOG_LEVEL": "INFO",
}


async def ask(app: Any, body: bytes) -> int:
    """One POST /graphql through the ASGI app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8011"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8011),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def main(args: argparse.Namespace) -> None:
    import os

    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    from service.asgi import app

    body = args.body_bytes
    async with app.router.lifespan_context(app):
        left = args.warmup

        async def worker(count: int) -> None:
            for _ in range(count):
                status = await ask(app, body)
                if status != 200:
                    raise SystemExit(f"HTTP {status}")

        per = max(left // args.concurrency, 1)
        await asyncio.gather(*(worker(per) for _ in range(args.concurrency)))
        per = max(args.requests // args.concurrency, 1)
        profile = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(worker(per) for _ in range(args.concurrency)))
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = per * args.concurrency
        print(f"{n} requests: {cpu / n * 1e6:.1f} us of CPU each, {n / wall:,.0f} req/s in process")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("body", help="a JSON request body file")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", help="write cProfile statistics of the timed requests here")
    arguments = parser.parse_args()
    arguments.body_bytes = Path(arguments.body).read_bytes()
    import uvloop  # the server's loop (uvicorn --loop uvloop), so that its costs are the ones measured

    uvloop.run(main(arguments))
