"""Do conversions cost the same on a database nobody has analysed? Converted and HKD fields, timed.

Builds ``analytics_fresh`` the way a newcomer's database starts: migrated to head and filled with the demo
data, with no table statistics at all (autovacuum is off on these machines, and a fresh embedded
PostgreSQL has not analysed yet). The demo is loaded into a scratch database first (``analytics_fresh_src``;
loads may end with ANALYZE there), and only its rows are copied into the migrated ``analytics_fresh``
(``pg_dump --data-only``: COPY statements, no ANALYZE), so the copy has rows but no statistics, whatever
the loaders do. Then it times, on a connection with the service's settings, the statements the service
sends for each document (``bench.floors.capture``), and prints the medians and the converted/HKD ratio.

    .venv/bin/python -m bench.fresh_plans            # exits 1 when a converted series costs over 3x HKD
    .venv/bin/python -m bench.fresh_plans --keep     # leave analytics_fresh for EXPLAIN

Issue 12's case: monthly southbound flows over 2024-2025 took ~10 s in USD against 73 ms in HKD, because
the planner, with no statistics, put the per-day FX lookups on the inner side of a nested loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench import floors

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"
FRESH = "analytics_fresh"
SOURCE = "analytics_fresh_src"
LIMIT = 3.0  # a converted series may cost at most this many times the HKD one

FLOW_SERIES = """{ flowSeries(direction: SOUTHBOUND, interval: MONTH, from: "2024-01-01", to: "2025-12-31",
                               currency: %s) { buckets { periodStart sum avg min max runningTotal } } }"""
ETF_SERIES = """{ etfSeries(interval: MONTH, from: "2024-01-01", to: "2025-12-31", currency: %s) {
                      buckets { periodStart sum runningTotal } } }"""
AGGREGATES = """{ etfAggregates(groupBy: ISSUER, from: "2024-01-01", to: "2025-12-31", currency: %s) {
                      key netCreationValue aumChange } }"""
TOTALS = """{ connectFlowTotals(from: "2024-01-01", to: "2025-12-31", currency: %s) { netBuy } }"""

# (name, document with a %s for the currency); the first is the checked one.
CASES = [("flowSeries MONTH 2024-2025", FLOW_SERIES), ("etfSeries MONTH 2024-2025", ETF_SERIES),
         ("etfAggregates ISSUER 2024-2025", AGGREGATES), ("connectFlowTotals 2024-2025", TOTALS)]  # fmt: skip


def _run(cmd: list[str], **kwargs: Any) -> None:
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)


def _psql(database: str, sql: str) -> None:
    _run(["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{SERVER}/{database}", "-c", sql])


def _recreate(name: str) -> None:
    _psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')
    _psql("postgres", f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{name}"}
    _run([str(Path(sys.executable).parent / "alembic"), "upgrade", "head"], env=env, capture_output=True)


def build() -> None:
    """``analytics_fresh``: migrated, the demo's rows, no statistics."""
    _recreate(SOURCE)
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{SOURCE}"}
    _run([str(Path(sys.executable).parent / "connectgraph"), "demo", "load"], env=env, capture_output=True)
    _recreate(FRESH)
    # Rows the migrations seed (the data version, the rollups' empty rows) come with the copy.
    _psql(
        FRESH,
        """SET session_replication_role = replica;  -- no trigger refills a derived table
        DO $$ BEGIN
               EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', tablename), ', ') || ' CASCADE'
                        FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version');
           END $$""",
    )
    dump = subprocess.Popen(
        ["pg_dump", "--data-only", "--disable-triggers", "--exclude-table-data=alembic_version",
         f"{SERVER}/{SOURCE}"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    restore = ["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{SERVER}/{FRESH}"]
    _run(restore, stdin=dump.stdout, stdout=subprocess.DEVNULL)
    if dump.wait() != 0:
        raise RuntimeError("pg_dump failed")
    _psql("postgres", f'DROP DATABASE "{SOURCE}"')


async def _time(conn: asyncpg.Connection[Any], statements: list[floors.Statement], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        for s in statements:
            await conn.fetch(s.sql, *s.args)
        times.append(1000 * (time.perf_counter() - began))
    return times


async def measure(runs: int) -> float:
    from service.db.pool import SESSION_SETTINGS

    conn = await asyncpg.connect(
        f"{SERVER}/{FRESH}", server_settings={**SESSION_SETTINGS, "statement_timeout": "120000"}
    )
    try:
        analysed = await conn.fetchval("SELECT count(*) FROM pg_stats WHERE schemaname = 'public'")
        rows = await conn.fetchval("SELECT count(*) FROM etf_daily_stats")
        print(f"{FRESH}: {rows:,} ETF daily rows, {analysed} column statistics (0: never analysed)\n")
        print("| field | HKD ms | USD ms | USD / HKD | first run HKD, USD ms |")
        print("|---|---|---|---|---|")
        checked = 0.0
        for name, document in CASES:
            medians = []
            firsts = []
            for currency in ("HKD", "USD"):
                request = json.dumps({"query": document % currency}).encode()
                captured, _ = await floors.capture(f"{SERVER}/{FRESH}", {name: request})
                statements = captured[name]
                times = await _time(conn, statements, runs)
                medians.append(statistics.median(times))
                firsts.append(times[0])
            ratio = medians[1] / medians[0]
            checked = checked or ratio
            print(f"| {name} | {medians[0]:.1f} | {medians[1]:.1f} | {ratio:.2f} | "
                  f"{firsts[0]:.1f}, {firsts[1]:.1f} |")  # fmt: skip
        return checked
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per field and currency (median)")
    parser.add_argument("--keep", action="store_true", help=f"leave {FRESH} in place afterwards")
    args = parser.parse_args()
    build()
    try:
        ratio = asyncio.run(measure(args.runs))
    finally:
        if not args.keep:
            _psql("postgres", f'DROP DATABASE IF EXISTS "{FRESH}"')
    verdict = "ok" if ratio <= LIMIT else "TOO SLOW"
    print(f"\nflowSeries USD / HKD on an unanalysed database: {ratio:.2f} (limit {LIMIT}): {verdict}")
    sys.exit(0 if ratio <= LIMIT else 1)


if __name__ == "__main__":
    main()
