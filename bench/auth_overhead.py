"""The cost of access control: the same simple query with keys, rate and document limits on, and off.

Two uvicorn servers on the same database, one worker each: ``checked`` requires an API key (looked up
and verified on every request), draws from the key's token bucket, and measures the document's
depth, aliases and cost; ``unchecked`` runs with ACCESS_CHECKS=false. wrk loads them in alternating
rounds and the ratio of requests/s is taken round by round, in one run.

    .venv/bin/python -m bench.auth_overhead [--rounds 5] [--duration 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench import run as bench

QUERY = '{ etf(code: "XHKG:02800") { code name issuer { shortName } } }'


def _ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    bench.fail(f"the server on port {port} did not come up")


def _create_key(url: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "API_KEY_SECRET": SECRET}
    done = subprocess.run(
        [
            str(bench.VENV_BIN / "connectgraph"),
            "keys",
            "create",
            "--name",
            f"bench-{os.getpid()}",
            "--scopes",
            "read:reference,read:flows",
            "--rate",
            "1000000000/min",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=bench.ROOT,
    )
    if done.returncode != 0:
        bench.fail(f"could not create a key: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


SECRET = "bench-only-key-secret-for-a-local-benchmark"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=bench.DEFAULT_URL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    bench.ensure_wrk()
    key = _create_key(args.database_url)
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENVIRONMENT")}
    common = {
        **base,
        "DATABASE_URL": args.database_url,
        "GRAPHIQL": "false",
        "API_KEY_SECRET": SECRET,
        "LOG_LEVEL": "warning",
    }
    servers = {
        "checked": (8021, {**common, "ANONYMOUS_SCOPES": ""}),
        "unchecked": (8022, {**common, "ACCESS_CHECKS": "false"}),
    }
    bench.LABEL.update({name: name for name in servers})
    procs = []
    body = bench.WORK / "auth_overhead.json"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_text(json.dumps({"query": QUERY}))
    try:
        for name, (port, env) in servers.items():
            cmd = [
                str(bench.VENV_BIN / "uvicorn"),
                "service.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ]
            log = (bench.WORK / f"{name}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    cmd, cwd=bench.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        for port, _ in servers.values():
            _ready(port)
        rounds: dict[str, list[bench.Round]] = {name: [] for name in servers}
        for name, (port, _) in servers.items():  # warm-up (and the first run compiles the document)
            bench_round(port, body, key if name == "checked" else None, 3, args.connections)
        for _ in range(args.rounds):
            for name, (port, _) in servers.items():
                rounds[name].append(
                    bench_round(
                        port, body, key if name == "checked" else None, args.duration, args.connections
                    )
                )
        ratios = [c.rps / u.rps for c, u in zip(rounds["checked"], rounds["unchecked"], strict=True)]
        print(f"query: {QUERY}")
        print(f"{'':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  errors")
        for name, taken in rounds.items():
            print(
                f"{name:10} {statistics.median(r.rps for r in taken):9.0f} "
                f"{statistics.median(r.p50_ms for r in taken):8.2f} "
                f"{statistics.median(r.p99_ms for r in taken):8.2f}  {sum(r.errors for r in taken)}"
            )
        print(
            f"checked/unchecked requests/s, median of {args.rounds} paired rounds: "
            f"{statistics.median(ratios):.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
    return 0


def bench_round(port: int, body: Path, key: str | None, seconds: int, connections: int) -> bench.Round:
    return bench.wrk(f"http://127.0.0.1:{port}/graphql", body, seconds, 2, connections, key=key)


if __name__ == "__main__":
    sys.exit(main())
