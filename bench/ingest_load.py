"""Measure the etf-daily load against a bare COPY of the same file: ``python -m bench.ingest_load``.

Generates the files at benchmark scale (``--etfs 1500 --years 8``: about 3 million ETF daily rows) into
``--out``, builds a fresh scratch database (``--database``, dropped and re-created), loads the reference
datasets, then in one run times:

* a bare ``COPY ... FROM STDIN (FORMAT csv)`` of the file into an unindexed table of the file's shape;
* the same COPY into a table shaped like ``etf_daily_stats`` (primary key on the file's key, checks);
* COPY of the same rows into ``etf_daily_stats`` itself (its primary key, covering index, foreign key
  and checks; the file's funds turned into ids beforehand, untimed), then emptied again;
* ``connectgraph load etf-daily FILE`` in a child process under ``/usr/bin/time -v`` (peak RSS): into
  the empty table (every row inserted), then the same file again (every row unchanged).

Every figure comes with the load averages when it was taken (the machine may be shared). Prints the
figures as JSON; the loader's own phases (read/check/stage, write, rollups and history) are in the
``summary``. docs/ingest.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from service.demo.scale import generate_files
from service.ingest.layouts import LOAD_ORDER
from service.ingest.tables import EtfDailyLine

_BARE = """
CREATE TABLE bench_bare (
    trading_day date, mic text, code text, currency text, nav_per_unit numeric, close_price numeric,
    shares_outstanding numeric, aum numeric, net_creation_units numeric, net_creation_value numeric,
    turnover numeric, southbound_holding_units numeric)"""
_SHAPED = """
CREATE TABLE bench_shaped (
    trading_day date NOT NULL, mic char(4) NOT NULL, code text NOT NULL, currency char(3) NOT NULL,
    nav_per_unit numeric(20, 6) NOT NULL CHECK (nav_per_unit > 0), close_price numeric(20, 6),
    shares_outstanding numeric(20, 0) NOT NULL, aum numeric(24, 2) NOT NULL,
    net_creation_units numeric(20, 0) NOT NULL, net_creation_value numeric(24, 2) NOT NULL,
    turnover numeric(24, 2), southbound_holding_units numeric(20, 0),
    PRIMARY KEY (mic, code, trading_day))"""


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server.rsplit("/", 1)[0] + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _copy(url: str, ddl: str, table: str, path: Path) -> float:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(ddl)
        await conn.execute("CHECKPOINT")
        began = time.monotonic()
        await conn.copy_to_table(table, source=path, format="csv", header=True)
        seconds = time.monotonic() - began
        await conn.execute(f"DROP TABLE {table}")
        return seconds
    finally:
        await conn.close()


# etf_daily_stats' columns as the loader writes them (the fund's id, then the declared columns).
_STATS_COLUMNS = ["etf_id", *EtfDailyLine.spec().written]


async def _etf_ids(url: str) -> dict[tuple[str, str], int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT mic::text, code, id FROM etfs")
        return {(r["mic"], r["code"]): r["id"] for r in rows}
    finally:
        await conn.close()


def _write_keyed(path: Path, keyed: Path, ids: dict[tuple[str, str], int]) -> None:
    """The file's rows as etf_daily_stats rows: the fund's id in place of its exchange and code."""
    with path.open() as source, keyed.open("w") as out:
        next(source)
        for line in source:
            day, mic, code, rest = line.split(",", 3)
            out.write(f"{ids[(mic, code)]},{day},{rest}")


async def _copy_into_table(url: str, keyed: Path) -> float:
    """COPY the rows into etf_daily_stats itself, from empty; emptied again afterwards."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE etf_daily_stats")
        await conn.execute("CHECKPOINT")
        began = time.monotonic()
        await conn.copy_to_table("etf_daily_stats", source=keyed, columns=_STATS_COLUMNS, format="csv")
        seconds = time.monotonic() - began
        await conn.execute("TRUNCATE etf_daily_stats")
        await conn.execute("VACUUM ANALYZE etf_daily_stats")
        await conn.execute("CHECKPOINT")
        return seconds
    finally:
        await conn.close()


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cli(url: str, *args: str, timed: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "service.cli", *args]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="cg_ingest_bench")
    parser.add_argument("--out", type=Path, default=Path("/tmp/cg_ingest"))
    parser.add_argument("--etfs", type=int, default=1500)
    parser.add_argument("--years", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="Keep files already generated in --out.")
    args = parser.parse_args()
    figures: dict[str, Any] = {}

    if not (args.reuse and (args.out / "manifest.json").exists()):
        began = time.monotonic()
        generate_files(args.out, etfs=args.etfs, years=args.years)
        figures["generate_s"] = round(time.monotonic() - began, 1)
    manifest = json.loads((args.out / "manifest.json").read_text())
    daily = next(f for f in manifest["files"] if f["dataset"] == "etf-daily")
    path = args.out / daily["file"]
    rows = int(daily["rows"])
    figures |= {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1)}

    asyncio.run(_admin(args.server, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
    asyncio.run(_admin(args.server, f'CREATE DATABASE "{args.database}"'))
    url = args.server.rsplit("/", 1)[0] + f"/{args.database}"
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    for f in sorted(manifest["files"], key=lambda f: LOAD_ORDER.index(f["dataset"])):
        if f["dataset"] != "etf-daily":
            run = _cli(url, "load", f["dataset"], str(args.out / f["file"]))
            if run.returncode:
                sys.exit(run.stderr)
    subprocess.run(["psql", url, "-qc", "CHECKPOINT"], check=False, capture_output=True)

    figures["load_average_before"] = _load_average()
    bare = asyncio.run(_copy(url, _BARE, "bench_bare", path))
    figures |= {"bare_copy_s": round(bare, 1), "bare_copy_rows_per_s": round(rows / bare)}
    figures["load_average_after_bare_copy"] = _load_average()
    shaped = asyncio.run(_copy(url, _SHAPED, "bench_shaped", path))
    figures |= {"shaped_copy_s": round(shaped, 1), "shaped_copy_rows_per_s": round(rows / shaped)}
    figures["load_average_after_shaped_copy"] = _load_average()
    keyed = args.out / "etf-daily.keyed.csv"
    _write_keyed(path, keyed, asyncio.run(_etf_ids(url)))
    real = asyncio.run(_copy_into_table(url, keyed))
    keyed.unlink()
    figures |= {"table_copy_s": round(real, 1), "table_copy_rows_per_s": round(rows / real)}
    figures["load_average_after_table_copy"] = _load_average()
    for name in ("load", "reload"):
        run = _cli(url, "load", "etf-daily", str(path), timed=True)
        if run.returncode:
            sys.exit(run.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
        took = re.search(r"; ([\d.]+)s\n", run.stdout)
        assert wall and rss and took, run.stderr
        load_s = float(took.group(1))
        figures |= {
            f"{name}_s": round(load_s, 1),
            f"{name}_rows_per_s": round(rows / load_s),
            f"{name}_ratio_to_bare_copy": round(bare / load_s, 3),
            f"{name}_ratio_to_shaped_copy": round(shaped / load_s, 3),
            f"{name}_ratio_to_table_copy": round(real / load_s, 3),
            f"{name}_process_wall": wall.group(0).split(": ", 1)[1],
            f"{name}_peak_rss_mb": round(int(rss.group(1)) / 1024, 1),
            f"{name}_load_average_after": _load_average(),
            f"{name}_summary": run.stdout.strip(),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
