"""The SQL floor of a GraphQL document: the statements the service sends for it, replayed by asyncpg.

``capture()`` returns the statements (SQL text and parameters) the service runs for a document: those of
its compiled plan when it has one, else those strawberry's executor sends through the resolvers (a
recording ``Database``). ``replay()`` sends them again and again over a pool made as the service makes
its own (``service.db.pool.create_pool``: ``jit = off``, the same codecs), ``concurrency`` requests in
flight, each request running its document's statements in order, and gives requests/s and latencies.

    .venv/bin/python -m bench.sql_floor                       # the analytics cases, 3 rounds x 10 s
    .venv/bin/python -m bench.sql_floor --only q5,aggregates --rounds 1 --seconds 5
    .venv/bin/python -m bench.sql_floor --only q1,q2,q3,q4,q5,q6,q7,q8,q9   # the nine questions

Only ratios taken in one run mean anything on a shared machine; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "schema" / "examples"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cg_bench_scale"


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Capture:
    statements: list[Statement]
    compiled: bool  # True when the compiled plan answered; False when strawberry's executor did


class _Recorder:
    """A ``service.db.client.Database`` that runs each statement on one connection and keeps it."""

    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn
        self.statements: list[Statement] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append(Statement(sql, args))
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.statements.append(Statement(sql, args))
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append(Statement(sql, args))
        return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append(Statement(sql, args))
        return await self.conn.execute(sql, *args)

    def transaction(self) -> Any:
        raise NotImplementedError("queries do not open transactions")


async def capture(
    conn: asyncpg.Connection[Any],
    document: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> Capture:
    """The statements the service sends for ``document``, as a key holding every scope would have it.

    ``conn`` should carry the service's session settings (``service.db.pool.SESSION_SETTINGS``); the
    statements are run once on it to be recorded, and the answer must have no errors.
    """
    from graphql import parse

    from schema.compiler import Compiler, Fallback
    from schema.context import Context, hong_kong_today
    from schema.schema import schema
    from service.auth.principal import Principal
    from service.auth.scopes import ADMIN, READ_FLOWS, READ_REFERENCE
    from service.repositories.json_shapes import Limits

    recorder = _Recorder(conn)
    plan = Compiler(schema._schema).plan(parse(document), operation_name)
    if plan is not None:
        try:
            await plan.run(schema._schema, recorder, variables, Limits(hong_kong_today(), 500))  # type: ignore[arg-type]
            return Capture(recorder.statements, compiled=True)
        except Fallback:
            recorder.statements.clear()
    principal = Principal(
        scopes=frozenset({ADMIN, READ_FLOWS, READ_REFERENCE}), rate_per_minute=10**9, max_cost=10**9
    )
    context = Context.create(recorder, principal=principal, max_page_size=500, default_page_size=50)  # type: ignore[arg-type]
    result = await schema.execute(
        document, variable_values=variables, context_value=context, operation_name=operation_name
    )
    if result.errors:
        raise RuntimeError(f"the document answers with errors: {result.errors}")
    return Capture(recorder.statements, compiled=False)


@dataclass(frozen=True, slots=True)
class Replay:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def replay(
    url: str,
    statements: list[Statement],
    *,
    concurrency: int = 16,
    pool_size: int = 10,
    seconds: float = 10.0,
    warmup: float = 2.0,
) -> Replay:
    """Requests/s and latency of ``statements`` run in order per request, ``concurrency`` at once."""
    from service.db.pool import create_pool

    pool = await create_pool(url, min_size=pool_size, max_size=pool_size, statement_timeout_ms=120_000)
    latencies: list[float] = []
    try:

        async def request() -> None:
            for s in statements:
                async with pool.acquire() as conn:
                    await conn.fetch(s.sql, *s.args)

        async def worker(until: float, keep: bool) -> None:
            while (started := time.perf_counter()) < until:
                await request()
                if keep:
                    latencies.append(time.perf_counter() - started)

        for duration, keep in ((warmup, False), (seconds, True)):
            began = time.perf_counter()
            await asyncio.gather(*(worker(began + duration, keep) for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
    finally:
        await pool.close()
    latencies.sort()
    return Replay(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    )


# The documents of the rankings and windows (issue 14), by name; the nine questions are q1 ... q9.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "aggregates": (
        """{ etfAggregates(groupBy: ETF, lastTradingDays: 20, calendar: SOUTHBOUND_CONNECT, top: 20) {
               rank netCreationValue currency etf { code name } } }""",
        {},
    ),
    "aggregates_usd_theme": (
        """{ etfAggregates(groupBy: THEME, from: "2026-07-01", to: "2026-09-30", currency: USD,
                           orderBy: TURNOVER) {
               rank key netCreationValue creationValue turnover aumChange etfCount
               fx { minRate maxRate daysOnEarlierRate } } }""",
        {},
    ),
    "etf_series": (
        """{ etfSeries(theme: "technology", measure: NET_CREATION_VALUE, interval: MONTH,
                       from: "2024-11-20", to: "2026-11-20", currency: USD) {
               buckets { periodStart sum avg min max runningTotal tradingDays } } }""",
        {},
    ),
    "flow_series": (
        """{ flowSeries(direction: SOUTHBOUND, interval: MONTH, from: "2018-11-21", to: "2026-11-20") {
               buckets { periodStart sum avg min max runningTotal tradingDays } } }""",
        {},
    ),
    "flow_series_usd": (
        """{ flowSeries(direction: SOUTHBOUND, interval: MONTH, from: "2024-01-01", to: "2025-12-31",
                        currency: USD) {
               buckets { periodStart sum avg min max runningTotal tradingDays } } }""",
        {},
    ),
}
ANALYTICS = ("q5", *CASES)


def case(name: str) -> tuple[str, dict[str, Any]]:
    """A document and its variables: one of CASES, or ``qN`` of schema/examples with its variables."""
    if name in CASES:
        return CASES[name]
    [path] = EXAMPLES.glob(f"{name}_*.graphql")
    variables = json.loads((EXAMPLES / "variables.json").read_text())[path.stem]
    return path.read_text(), variables


async def _main(args: argparse.Namespace) -> None:
    from service.db.pool import SESSION_SETTINGS

    names = args.only.split(",") if args.only else list(ANALYTICS)
    conn = await asyncpg.connect(args.database_url, server_settings=SESSION_SETTINGS)
    try:
        captured = {name: await capture(conn, *case(name)) for name in names}
    finally:
        await conn.close()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"SQL floor on {args.database_url.rsplit('/', 1)[-1]}: concurrency {args.concurrency}, pool "
          f"{args.pool}, {args.rounds} x {args.seconds} s; load average before: {load}")  # fmt: skip
    results: dict[str, list[Replay]] = {name: [] for name in names}
    for _ in range(args.rounds):  # rounds interleave the cases, so that a busy moment hits all alike
        for name in names:
            results[name].append(
                await replay(
                    args.database_url,
                    captured[name].statements,
                    concurrency=args.concurrency,
                    pool_size=args.pool,
                    seconds=args.seconds,
                )
            )
    print("\n| case | statements | path | req/s (median) | p50 ms | p99 ms | rounds req/s |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        runs = results[name]
        print(
            f"| {name} | {len(captured[name].statements)} | "
            f"{'compiled' if captured[name].compiled else 'resolvers'} | "
            f"{statistics.median(r.rate for r in runs):,.1f} | "
            f"{statistics.median(r.p50_ms for r in runs):.1f} | "
            f"{statistics.median(r.p99_ms for r in runs):.1f} | "
            + ", ".join(f"{r.rate:.1f}" for r in runs)
            + " |"
        )
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--only", help=f"comma-separated cases: {', '.join(ANALYTICS)}, q1 ... q9")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pool", type=int, default=10)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
