"""Benchmark of the three analytics questions at scale: EXPLAIN ANALYZE, then wrk load on a local uvicorn.

EXPLAIN (ANALYZE, BUFFERS) of the statements the service runs for each document (its compiled plan),
then req/s, p50 and p99 of the GraphQL documents under load
from wrk (bench/run.py's runner and bench/post.lua) against a uvicorn it starts on loopback, for each
query and concurrency (wrk connections).

    python -m bench.analytics --database-url postgresql://postgres@127.0.0.1:5432/cg_analytics_bench
    python -m bench.analytics --database-url ... --skip-explain --seconds 10 --concurrency 1,2,4,8 \\
        --only top,monthly,lookthrough --answer-cache off,on

Each query is checked once with a plain POST (HTTP 200, no ``errors``), then for each concurrency warmed
up for 2 s and timed for ``--seconds`` with ``min(2, connections)`` wrk threads. wrk is installed with
apt-get when missing and running as root. The load average printed before the load shows whether other
work shares the cores.

Run it on a copy of the scale database (``CREATE DATABASE x TEMPLATE cg_bench_scale``) migrated to head.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from service.db.pool import SESSION_SETTINGS

TOP_CREATIONS = """query TopCreations {
  etfAggregates(groupBy: ETF, lastTradingDays: 20, calendar: SOUTHBOUND_CONNECT, top: 20) {
    rank netCreationValue currency etf { code name }
  }
}"""

MONTHLY_SOUTHBOUND = """query MonthlySouthbound($from: Date!, $to: Date!) {
  flowSeries(direction: SOUTHBOUND, interval: MONTH, from: $from, to: $to) {
    buckets { periodStart sum avg min max runningTotal tradingDays }
  }
}"""

LOOK_THROUGH = """query LookThrough($security: String!, $asOf: Date!) {
  lookThroughExposure(security: $security, asOf: $asOf) {
    exposure etfCount
    indices { index { code } weightPct exposure etfs { etf { code } aum exposure } }
  }
}"""


async def _most_held_security(conn: asyncpg.Connection[Any]) -> tuple[int, str, date, date]:
    """The security with the most ETFs exposed to it today, and the data's first and last day."""
    row = await conn.fetchrow(
        """SELECT s.id, s.mic || ':' || s.local_code AS code
           FROM index_memberships m JOIN etfs e ON e.index_id = m.index_id
           JOIN securities s ON s.id = m.security_id
           WHERE m.effective_to IS NULL
           GROUP BY s.id ORDER BY count(DISTINCT e.id) DESC, s.id LIMIT 1"""
    )
    days = await conn.fetchrow(
        "SELECT min(trading_day), max(trading_day) FROM connect_daily_flows WHERE direction = 'SOUTHBOUND'"
    )
    assert row is not None and days is not None
    return row["id"], row["code"], days[0], days[1]


class _Recorder:
    """A database that runs each statement on ``conn`` and keeps it with its arguments."""

    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return await self.conn.fetchval(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return await self.conn.fetchrow(sql, *args)


async def explain(url: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the service runs for each document: the engine's one
    JSON-building statement per root field, on a connection with the service's session settings."""
    from schema.context import hong_kong_today
    from schema.schema import schema
    from service.auth.scopes import ALL
    from service.engine import Engine, Fallback, Limits

    cases = await _cases(url)
    conn = await asyncpg.connect(url, server_settings=SESSION_SETTINGS)  # as the service's pool
    try:
        engine = Engine(schema._schema, limits=Limits(max_page_size=100))
        for title, document, variables in cases.values():
            try:
                plan = engine.plan(document, None, frozenset(ALL), variables)
            except Fallback as reason:
                raise RuntimeError(f"{title}: the engine does not answer the document ({reason})") from None
            recorder = _Recorder(conn)
            for _ in range(3):  # warm the caches first
                recorder.statements.clear()
                await plan.run(recorder, variables, hong_kong_today())  # type: ignore[arg-type]
            for sql, args in recorder.statements:
                plan_rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
                print(f"\n### {title}\n")
                print("\n".join(r[0] for r in plan_rows))
    finally:
        await conn.close()


def _repo_root_on_path() -> None:
    """Make ``bench`` (bench/run.py: the wrk runner and bench/post.lua) importable from any directory."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)


async def _cases(url: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Title, document and variables of each query, by its ``--only`` name."""
    conn = await asyncpg.connect(url)
    try:
        _, code, first, last = await _most_held_security(conn)
    finally:
        await conn.close()
    return {
        "top": ("top 20 by net creations, last 20 Connect days", TOP_CREATIONS, {}),
        "monthly": (
            f"monthly southbound net buying {first}..{last}",
            MONTHLY_SOUTHBOUND,
            {"from": first.isoformat(), "to": last.isoformat()},
        ),
        "lookthrough": (
            f"look-through exposure of {code}",
            LOOK_THROUGH,
            {"security": code, "asOf": last.isoformat()},
        ),
    }


QUERIES = ("top", "monthly", "lookthrough")
WARM_UP_SECONDS = 2


@contextmanager
def _serving(url: str, port: int, answer_cache: bool) -> Iterator[str]:
    """A uvicorn (one worker, production settings) on loopback; yields its /graphql address."""
    _repo_root_on_path()
    from bench import run as bench

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "production",
        "API_KEY_SECRET": secrets.token_hex(16),
        "ANONYMOUS_RATE_PER_MINUTE": "1000000000",  # measure the queries, not the rate limiter
        "LOG_LEVEL": "WARNING",  # no log line per request
        "ANSWER_CACHE_ENTRIES": "512" if answer_cache else "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env,
    )  # fmt: skip
    try:
        for _ in range(100):  # uvicorn listens once the app's startup is done
            if server.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {server.returncode} before answering")
            if bench.port_answers(port):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"uvicorn does not answer on port {port} after 20 s")
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.terminate()
        server.wait(timeout=10)


def measure(
    url: str, port: int, only: list[str], concurrency: list[int], seconds: int, caches: list[str]
) -> None:
    _repo_root_on_path()
    from bench import run as bench

    bench.ensure_wrk()
    cases = asyncio.run(_cases(url))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average before the load: {load} ({os.cpu_count()} cores)")
    print(
        f"wrk, {WARM_UP_SECONDS} s warm-up then {seconds} s per query and concurrency, "
        "uvicorn (1 worker) on loopback; answer cache off: every answer computed, on: repeats from memory\n"
    )
    print(
        "| query | answer cache | concurrency | req/s | p50 ms | p99 ms | errors |\n"
        "|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(prefix="analytics_bench_") as tmp:
        for cache in caches:
            with _serving(url, port, answer_cache=cache == "on") as endpoint:
                bodies: dict[str, Path] = {}
                for name in only:
                    _, document, variables = cases[name]
                    body = json.dumps({"query": document, "variables": variables}).encode()
                    status, answer = bench.post(endpoint, body)
                    if status != 200 or b'"errors"' in answer:
                        raise RuntimeError(
                            f"{name} does not answer cleanly: HTTP {status}: "
                            + answer.decode(errors="replace")
                        )
                    bodies[name] = Path(tmp) / f"{name}.json"
                    bodies[name].write_bytes(body)
                for name in only:
                    for connections in concurrency:
                        threads = min(2, connections)
                        bench.wrk(endpoint, bodies[name], WARM_UP_SECONDS, threads, connections)
                        r = bench.wrk(endpoint, bodies[name], seconds, threads, connections)
                        print(
                            f"| {cases[name][0]} | {cache} | {connections} | {bench.fmt_rps(r.rps)} "
                            f"| {bench.fmt_ms(r.p50_ms)} | {bench.fmt_ms(r.p99_ms)} | {r.errors} |",
                            flush=True,
                        )


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"need one or more integers >= 1: {text!r}")
    return values


def _queries(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = sorted(set(names) - set(QUERIES))
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose from {','.join(QUERIES)}: {text!r}")
    return [q for q in QUERIES if q in names]


def _caches(text: str) -> list[str]:
    modes = [x.strip() for x in text.split(",") if x.strip()]
    if not modes or set(modes) - {"off", "on"}:
        raise argparse.ArgumentTypeError(f"choose from off,on: {text!r}")
    return list(dict.fromkeys(modes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--concurrency", type=_positive_ints, default=[1, 2, 4, 8], help="wrk connections, comma list"
    )
    parser.add_argument("--seconds", type=int, default=10, help="timed seconds per query and concurrency")
    parser.add_argument(
        "--only", type=_queries, default=list(QUERIES), help="comma list of " + ",".join(QUERIES)
    )
    parser.add_argument(
        "--answer-cache",
        type=_caches,
        default=["off"],
        help="comma list of off,on: computed answers, and/or repeats answered from memory",
    )
    parser.add_argument("--skip-explain", action="store_true")
    args = parser.parse_args()
    if not args.skip_explain:
        asyncio.run(explain(args.database_url))
    measure(args.database_url, args.port, args.only, args.concurrency, args.seconds, args.answer_cache)


if __name__ == "__main__":
    main()
