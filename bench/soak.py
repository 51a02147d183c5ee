"""Soak and throughput runs against a local instance: ``python -m bench.soak``.

Two modes, both bounded in time and in requests:

    --max      closed loop: ``--concurrency`` clients send back to back; prints the requests per second
               the server sustained (the "maximum throughput" the soak rate is a fraction of)
    --rate N   open loop: N requests per second on a fixed schedule whatever the latency (so a slow
               server shows up as latency, not as a lower rate), at most ``--concurrency`` in flight

The requests cycle through the nine example operations (``schema/examples/``) with their variables,
plus the data-freshness probe ``{ __typename }``. Each minute (``--report-every``) it prints requests,
errors, p50/p99/max latency and the server's resident memory (read from ``/metrics``:
``process_resident_memory_bytes``); at the end, the totals as one JSON object (``--json-out`` keeps it).
An error is anything but HTTP 200 with no ``errors`` in the body, or a transport failure. Needs httpx
(installed with ``connectgraph[dev]``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import re
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

MAX_DURATION_S = 3600.0
MAX_RATE = 5000.0
MAX_CONCURRENCY = 256
MAX_REQUESTS = 5_000_000
KEEPALIVE_EXPIRY_S = 2.0


_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)", re.MULTILINE)


@dataclass(frozen=True)
class Operation:
    name: str
    query: str
    variables: dict[str, Any]

    @property
    def operation_name(self) -> str | None:
        """The document's first operation name (so the server's metrics are per operation)."""
        match = _OPERATION_NAME.search(self.query)
        return match.group(1) if match else None


def example_operations() -> list[Operation]:
    """The example operations shipped with the schema package, with their demo variables."""
    examples = files("schema") / "examples"
    variables: dict[str, Any] = json.loads((examples / "variables.json").read_text())
    operations = []
    for entry in sorted(examples.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".graphql"):
            stem = entry.name.removesuffix(".graphql")
            operations.append(Operation(stem, entry.read_text(), variables.get(stem, {})))
    operations.append(Operation("typename", "{ __typename }", {}))
    return operations


def check_loopback(url: str) -> None:
    """Refuse any target that is not this machine: the tool generates load."""
    host = urlsplit(url).hostname
    if host is None:
        raise SystemExit(f"soak: no host in {url!r}")
    addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"soak: {host} is not a loopback address; this tool only targets this machine")


@dataclass
class Window:
    """Latencies and errors of one reporting period."""

    started: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: dict[str, int] = field(default_factory=dict)

    def add(self, latency: float, error: str | None) -> None:
        self.latencies.append(latency)
        if error is not None:
            self.errors += 1
            self.error_samples[error] = self.error_samples.get(error, 0) + 1


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(window: Window, elapsed_s: float, rss: int | None) -> dict[str, Any]:
    n = len(window.latencies)
    return {
        "requests": n,
        "errors": window.errors,
        "rps": round(n / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        "p50_ms": round(percentile(window.latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(window.latencies, 99) * 1000, 2),
        "max_ms": round(max(window.latencies, default=0.0) * 1000, 2),
        "rss_mb": None if rss is None else round(rss / 2**20, 1),
        "error_samples": dict(sorted(window.error_samples.items(), key=lambda kv: -kv[1])[:5]),
    }


async def server_rss(client: Any, metrics_url: str) -> int | None:
    try:
        response = await client.get(metrics_url, timeout=5.0)
    except Exception:
        return None
    for line in response.text.splitlines():
        if line.startswith("process_resident_memory_bytes "):
            return int(float(line.split()[1]))
    return None


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url: str = args.url
        self.metrics_url = args.metrics_url or self.url.rsplit("/", 1)[0] + "/metrics"
        self.operations = example_operations()
        self.sent = 0
        self.total = Window(time.monotonic())
        self.window = Window(time.monotonic())
        self.minutes: list[dict[str, Any]] = []
        self.late = 0

    def _next(self) -> Operation:
        operation = self.operations[self.sent % len(self.operations)]
        self.sent += 1
        return operation

    async def _one(self, client: Any, operation: Operation) -> None:
        began = time.perf_counter()
        error: str | None = None
        try:
            response = await client.post(
                self.url,
                json={
                    "query": operation.query,
                    "variables": operation.variables,
                    "operationName": operation.operation_name,
                },
                timeout=self.args.timeout,
            )
            if response.status_code != 200:
                error = f"HTTP {response.status_code}"
            else:
                body = response.json()
                if body.get("errors"):
                    error = body["errors"][0].get("extensions", {}).get("code", "GRAPHQL_ERROR")
        except Exception as exc:  # transport failures are errors too
            error = type(exc).__name__
        latency = time.perf_counter() - began
        self.total.add(latency, error)
        self.window.add(latency, error)

    async def _closed_loop(self, client: Any, deadline: float) -> None:
        async def worker() -> None:
            while time.monotonic() < deadline and self.sent < self.args.max_requests:
                await self._one(client, self._next())

        await asyncio.gather(*(worker() for _ in range(self.args.concurrency)))

    async def _open_loop(self, client: Any, deadline: float) -> None:
        interval = 1.0 / self.args.rate
        slots = asyncio.Semaphore(self.args.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        next_at = time.monotonic()

        async def run(operation: Operation) -> None:
            try:
                await self._one(client, operation)
            finally:
                slots.release()

        while time.monotonic() < deadline and self.sent < self.args.max_requests:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if slots.locked():
                self.late += 1  # every slot busy: the server is not keeping up with the rate
            await slots.acquire()
            task = asyncio.create_task(run(self._next()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    async def _reporter(self, client: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.args.report_every)
            now = time.monotonic()
            window, self.window = self.window, Window(now)
            if not window.latencies and stop.is_set():
                break
            row = summary(window, now - window.started, await server_rss(client, self.metrics_url))
            row["minute"] = len(self.minutes) + 1
            row["load_avg_1m"] = round(os.getloadavg()[0], 2)  # the machine may be shared
            self.minutes.append(row)
            print(json.dumps(row), flush=True)

    async def run(self) -> dict[str, Any]:
        import httpx

        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them from its side:
        # reusing a connection the server is closing at that very moment fails with a ReadError.
        limits = httpx.Limits(
            max_connections=self.args.concurrency,
            max_keepalive_connections=self.args.concurrency,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        )
        async with httpx.AsyncClient(limits=limits) as client:
            rss_start = await server_rss(client, self.metrics_url)
            began = time.monotonic()
            deadline = began + self.args.duration
            stop = asyncio.Event()
            reporter = asyncio.create_task(self._reporter(client, stop))
            if self.args.max:
                await self._closed_loop(client, deadline)
            else:
                await self._open_loop(client, deadline)
            elapsed = time.monotonic() - began
            stop.set()
            await reporter
            rss_end = await server_rss(client, self.metrics_url)
        result = summary(self.total, elapsed, rss_end)
        result.update(
            mode="max" if self.args.max else "rate",
            target_rps=None if self.args.max else self.args.rate,
            concurrency=self.args.concurrency,
            duration_s=round(elapsed, 1),
            late_schedule_slots=self.late,
            rss_start_mb=None if rss_start is None else round(rss_start / 2**20, 1),
            rss_end_mb=None if rss_end is None else round(rss_end / 2**20, 1),
            rss_growth_pct=(
                None
                if not rss_start or rss_end is None
                else round((rss_end - rss_start) / rss_start * 100, 1)
            ),
            per_minute=self.minutes,
        )
        return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000/graphql", help="The /graphql URL (loopback only)."
    )
    parser.add_argument(
        "--metrics-url", default=None, help="Where to read the server's RSS [URL's /metrics]."
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--max", action="store_true", help="Closed loop: measure the maximum throughput.")
    mode.add_argument("--rate", type=float, help="Open loop at this many requests per second.")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds to run (at most 3600).")
    parser.add_argument("--concurrency", type=int, default=16, help="Most requests in flight (at most 256).")
    parser.add_argument(
        "--max-requests", type=int, default=MAX_REQUESTS, help="Stop after this many requests."
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="Per-request timeout in seconds.")
    parser.add_argument("--report-every", type=float, default=60.0, help="Seconds per reported window.")
    parser.add_argument("--json-out", default=None, help="Also write the final JSON summary to this file.")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S:g}]")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be in 1..{MAX_CONCURRENCY}")
    if args.rate is not None and not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate must be in (0, {MAX_RATE:g}]")
    if not 1 <= args.max_requests <= MAX_REQUESTS:
        parser.error(f"--max-requests must be in 1..{MAX_REQUESTS}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    check_loopback(args.url)
    check_loopback(args.metrics_url or args.url)
    try:
        import httpx  # noqa: F401
    except ImportError:
        print("soak: needs httpx (pip install 'connectgraph[dev]')", file=sys.stderr)
        return 2
    result = asyncio.run(Soak(args).run())
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        with open(args.json_out, "w") as out:
            out.write(text + "\n")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
