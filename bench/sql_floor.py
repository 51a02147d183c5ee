"""The SQL floor of the analytics rankings and windows (issue 14), and of the nine questions.

The statements the service sends for each document are captured and replayed by ``bench.floors``
(``capture()``: asked of the app in this process, read from PostgreSQL's log or the Database interface;
``replay()``: asyncpg at ``concurrency`` requests in flight over a pool made as the service's, ``jit =
off``). This module only names the analytics documents and prints a table of their floors.

    .venv/bin/python -m bench.sql_floor                       # the analytics cases, 3 rounds x 10 s
    .venv/bin/python -m bench.sql_floor --only q5,aggregates --rounds 1 --seconds 5
    .venv/bin/python -m bench.sql_floor --only q1,q2,q3,q4,q5,q6,q7,q8,q9   # the nine questions

Only ratios taken in one run mean anything on a shared machine; the load average is printed with them.
To compare two versions of the code in one run, save one version's statements and replay them beside the
other's (statements are pickled ``(sql, args)`` tuples per case; only load files you wrote yourself):

    .venv/bin/python -m bench.sql_floor --only aggregates,flow_series --save /tmp/main.pickle   # on main
    .venv/bin/python -m bench.sql_floor --only aggregates,flow_series --with main=/tmp/main.pickle
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import statistics
from pathlib import Path
from typing import Any

from bench import floors
from bench.run import DEFAULT_URL

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "schema" / "examples"


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


def body(name: str) -> bytes:
    """The POST body of a case."""
    document, variables = case(name)
    return json.dumps({"query": document, "variables": variables}).encode()


def saved(path: Path) -> dict[str, list[floors.Statement]]:
    """Statements written by ``--save``: per case, ``(sql, args)`` tuples."""
    with path.open("rb") as file:
        cases: dict[str, list[tuple[str, tuple[Any, ...]]]] = pickle.load(file)  # our own file (--save)
    return {
        name: [floors.Statement(sql, tuple(args)) for sql, args in statements]
        for name, statements in cases.items()
    }


async def _main(args: argparse.Namespace) -> None:
    names = args.only.split(",") if args.only else list(ANALYTICS)
    captured, source = await floors.capture(args.database_url, {name: body(name) for name in names})
    if args.save:
        with args.save.open("wb") as file:
            pickle.dump({n: [(s.sql, s.args) for s in captured[n]] for n in names}, file)
    versions = [(label, saved(Path(path))) for label, _, path in (w.partition("=") for w in args.with_)]
    asked = list(names)
    for label, statements in versions:  # replayed beside this version's, as "name (label)"
        for name in asked:
            if name in statements:
                captured[f"{name} ({label})"] = statements[name]
                names.append(f"{name} ({label})")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"SQL floor on {args.database_url.rsplit('/', 1)[-1]} (statements read from {source}): "
          f"concurrency {args.concurrency}, pool {args.pool}, {args.rounds} x {args.seconds} s; "
          f"load average before: {load}")  # fmt: skip
    results: dict[str, list[floors.Replay]] = {name: [] for name in names}
    for _ in range(args.rounds):  # rounds interleave the cases, so that a busy moment hits all alike
        for name in names:
            results[name].append(
                await floors.replay(
                    args.database_url,
                    captured[name],
                    concurrency=args.concurrency,
                    pool_size=args.pool,
                    seconds=args.seconds,
                )
            )
    print("\n| case | statements | req/s (median) | p50 ms | p99 ms | rounds req/s |")
    print("|---|---|---|---|---|---|")
    for name in names:
        runs = results[name]
        print(
            f"| {name} | {len(captured[name])} | {statistics.median(r.rps for r in runs):,.1f} | "
            f"{statistics.median(r.p50_ms for r in runs):.1f} | "
            f"{statistics.median(r.p99_ms for r in runs):.1f} | "
            + ", ".join(f"{r.rps:.1f}" for r in runs)
            + " |"
        )
    for label, _ in versions:
        print(f"\n| case | this / {label} (req/s, medians) |\n|---|---|")
        for name in asked:
            if f"{name} ({label})" in results:
                ours = statistics.median(r.rps for r in results[name])
                theirs = statistics.median(r.rps for r in results[f"{name} ({label})"])
                print(f"| {name} | {ours / theirs:.2f}x |")
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
    parser.add_argument("--save", type=Path, help="also write the captured statements to this file")
    parser.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="LABEL=FILE",
        help="replay another version's statements (written by --save) in the same rounds",
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
