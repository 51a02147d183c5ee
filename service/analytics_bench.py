"""Benchmark of the three analytics questions at scale: EXPLAIN ANALYZE of each statement, then p50/p99
latency of the GraphQL documents under concurrent load against a uvicorn it starts on loopback.

    python -m service.analytics_bench --database-url postgresql://postgres@127.0.0.1:5432/cg_analytics_bench

Run it on a copy of the scale database (``CREATE DATABASE x TEMPLATE cg_bench_scale``) migrated to head.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import date
from typing import Any

import asyncpg
import httpx

from service.repositories import analytics as repo
from service.repositories.base import numbered

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


# etf, issuer, index, theme, calendar, from, to, last, grouping, currency, metric, ascending, top
ROLLUP_ARGS = (
    None,
    None,
    None,
    None,
    "SOUTHBOUND",
    None,
    None,
    20,
    "ETF",
    "HKD",
    "net_creation_value",
    False,
    20,
)


async def explain(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        security_id, _, first, last = await _most_held_security(conn)
        window = await conn.fetchrow(
            f"""SELECT min(day), max(day) FROM ({repo.CALENDAR_DAYS[repo.Calendar.SOUTHBOUND_CONNECT]}
                AND day <= ({repo.LATEST_DAY[repo.Source.ETF_STATS]}) ORDER BY day DESC LIMIT 20) d"""
        )
        assert window is not None
        keys, join = repo.GROUP_KEYS[repo.Grouping.ETF]
        ranking = repo.GROUP_AGGREGATES.replace("{group_keys}", keys).replace("{group_join}", join)
        series = (repo.FLOW_SERIES_HEAD + repo.SERIES_TAIL).replace("{measure}", "net_buy")
        cases: list[tuple[str, str, tuple[Any, ...]]] = [
            (
                "top 20 ETFs by net creations over the last 20 Connect days (rollup, window inside)",
                numbered(repo.GROUP_AGGREGATES_ROLLUP, repo.GROUP_AGGREGATES_ROLLUP_PARAMS),
                ROLLUP_ARGS,
            ),
            (
                "top 20 ETFs by net creations over the last 20 Connect days (row path)",
                numbered(ranking.replace("{metric}", "net_creation_value"), repo.GROUP_AGGREGATES_PARAMS),
                (None, None, None, None, window[0], window[1], "HKD", False, 20),
            ),
            (
                "monthly southbound net buying over the whole history",
                numbered(series, repo.FLOW_SERIES_PARAMS),
                ("SOUTHBOUND", None, first, last, "month", "HKD", None),
            ),
            (
                "look-through exposure of one security across all ETFs",
                numbered(repo.LOOK_THROUGH, repo.LOOK_THROUGH_PARAMS),
                (security_id, last, "HKD"),
            ),
        ]
        for title, sql, args in cases:
            for _ in range(3):  # warm the cache first
                await conn.fetch(sql, *args)
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
            print(f"\n### {title}\n")
            print("\n".join(r[0] for r in plan))
    finally:
        await conn.close()


async def _load(
    base: str, document: str, variables: dict[str, Any], concurrency: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.post("/graphql", json={"query": document, "variables": variables})
                latencies.append(time.perf_counter() - start)
                body = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise RuntimeError(response.text[:500])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def measure(url: str, port: int, concurrency: int, seconds: float) -> None:
    conn = await asyncpg.connect(url)
    try:
        _, code, first, last = await _most_held_security(conn)
    finally:
        await conn.close()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "production",
        "API_KEY_SECRET": secrets.token_hex(16),
        "ANONYMOUS_RATE_PER_MINUTE": "1000000000",  # measure the queries, not the rate limiter
        "LOG_LEVEL": "WARNING",  # no log line per request
    }
    server = subprocess.Popen(  # noqa: ASYNC220 (started once, before the measured load)
        [sys.executable, "-m", "uvicorn", "service.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            for _ in range(100):
                try:
                    await probe.get("/graphql", headers={"accept": "application/json"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        cases = [
            ("top 20 by net creations, last 20 Connect days", TOP_CREATIONS, {}),
            (
                f"monthly southbound net buying {first}..{last}",
                MONTHLY_SOUTHBOUND,
                {"from": first.isoformat(), "to": last.isoformat()},
            ),
            (f"look-through exposure of {code}", LOOK_THROUGH, {"security": code, "asOf": last.isoformat()}),
        ]
        print(f"\nconcurrency {concurrency}, {seconds:g} s each, uvicorn (1 worker) on loopback\n")
        print("| query | requests | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
        for title, document, variables in cases:
            await _load(base, document, variables, concurrency, 2)  # warm-up
            latencies = await _load(base, document, variables, concurrency, seconds)
            print(
                f"| {title} | {len(latencies)} | {len(latencies) / seconds:.0f} "
                f"| {statistics.median(latencies) * 1000:.1f} | {_percentile(latencies, 0.99):.1f} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--skip-explain", action="store_true")
    args = parser.parse_args()
    if not args.skip_explain:
        asyncio.run(explain(args.database_url))
    asyncio.run(measure(args.database_url, args.port, args.concurrency, args.seconds))


if __name__ == "__main__":
    main()
