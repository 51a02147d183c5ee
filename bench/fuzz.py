"""`bench/fuzz`: the long fuzz run (issue 16): thousands of hostile requests against a production-mode server.

    bench/fuzz                                   # 3,000 requests over every class, own server on DATABASE_URL
    bench/fuzz --requests 20000 --seed 7         # longer, other cases
    bench/fuzz --url http://127.0.0.1:8000       # a server that is already running (production mode)
    bench/fuzz --classes ids,cursors

The database needs the migrations and the demo data (`connectgraph demo load`). Requests are the classes
of `tests/fuzz/cases.py` (the short run of `make test` uses the same); each answer must keep the rules
there: no 5xx, no INTERNAL_SERVER_ERROR, no leaked exception name, nothing slower than 2 s, and the server
must still answer afterwards. Findings that match a known failure (`tests/fuzz/known.py`, with its owner)
are listed apart; any other makes the exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter

from schema.schema import schema
from tests.fuzz.cases import classes, collect
from tests.fuzz.known import classify
from tests.fuzz.send import Report, answers_a_question, send
from tests.fuzz.server import Server


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=3000, help="in all, shared out over the classes")
    p.add_argument("--seed", type=int, default=20261130)
    p.add_argument("--classes", default="", help="comma-separated (default: all)")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--url", help="a running production-mode server (default: start one)")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = p.parse_args(argv)
    if not args.url and not args.database_url:
        p.error("give --url, or --database-url (or DATABASE_URL) for a server of its own")
    return args


async def run(args: argparse.Namespace) -> int:
    every = classes(schema._schema)
    chosen = [c.strip() for c in args.classes.split(",") if c.strip()] or list(every)
    unknown_classes = sorted(set(chosen) - set(every))
    if unknown_classes:
        print(f"unknown classes {unknown_classes}; choose from {','.join(every)}", file=sys.stderr)
        return 2
    per_class = max(1, args.requests // len(chosen))
    server = None if args.url else Server(args.database_url)

    async def answering() -> str:
        return str(args.url) if server is None else await server.answering()

    unknown_total = 0
    known_total: Counter[str] = Counter()
    sent = 0
    slowest = 0.0
    began = time.monotonic()
    try:
        for name in chosen:
            cases = collect(every[name], per_class, args.seed)
            base = await answering()
            report: Report = await send(base, cases, concurrency=args.concurrency)
            sent += report.sent
            slowest = max(slowest, report.slowest_s)
            owned = classify(report.findings)
            unknown = [finding for finding, known in owned if known is None]
            unknown_total += len(unknown)
            for _, known in owned:
                if known is not None:
                    known_total[f"{known.owner}: {known.what}"] += 1
            verdict = (
                "ok" if not report.findings else f"{len(unknown)} new, {len(owned) - len(unknown)} known"
            )
            print(
                f"{name:<14} {verdict}: {report.summary() if unknown else report.summary(limit=0)}",
                flush=True,
            )
        still = await answers_a_question(args.url or (server.base if server else ""))
    finally:
        if server is not None:
            server.stop()
    print(f"\n{sent} requests in {time.monotonic() - began:.0f} s, slowest {slowest:.2f} s")
    for what, n in known_total.most_common():
        print(f"  known ({n}): {what}")
    print(f"{unknown_total} findings outside the known failures; the server still answers: {still}")
    return 1 if unknown_total or not still else 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
