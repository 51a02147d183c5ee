"""Soak the per-document caches: 10,000 distinct maximum-size documents must leave RSS within 2x warm.

    .venv/bin/python bench/soak_documents.py --database-url postgresql://postgres@127.0.0.1:5432/door_soak

It starts one uvicorn worker of the service (development settings, default limits) on loopback against a
migrated database, warms it with the nine example operations, then sends distinct documents as large as
the limits allow, in three kinds that each reach a different cache:

    tokens    valid, just under MAX_QUERY_TOKENS: parsed, validated, measured, executed, answer cached
    bytes     valid, just under MAX_QUERY_BYTES (one long comment): parsed and kept, charged by size
    invalid   just under MAX_QUERY_TOKENS with an unknown field: parsed, refused by validation

Every kind is a new text each time (an operation name and a number make it distinct); ``--mix`` weighs
them (default 1 tokens : 8 bytes : 1 invalid: a token-sized document costs the server ~0.5 s of CPU to
parse, validate and run, a bytes-sized one ~50 ms). It prints the server's resident memory (psutil) after
start, after warming and every 1,000 documents, the ratio of the last to the warm figure, and exits 1
when that ratio is over ``--max-ratio`` (2.0).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from graphql.language.parser import Parser

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# One ETF with every scalar field of it, its issuer, its index (and their funds), counters and eligibility:
# about 130 tokens. Thirty aliased copies (MAX_QUERY_ALIASES) come to the token cap, within every other
# limit (depth, cost, repeated fields).
ETF_FIELDS = (
    "id code mic localCode isin name nameZh listingDate delistingDate baseCurrency replication "
    "ongoingChargesPct isLeveragedInverse leverageFactor"
)
ETF = (
    f'etf(code: "XHKG:02800") {{ {ETF_FIELDS} '
    f"issuer {{ id slug legalName shortName homeMarket website etfs {{ {ETF_FIELDS} }} "
    "licences { id licensedOn status isIllustrative notes hasLaunchedProduct index { id code name } } } "
    "trackedIndex { id code name provider currency baseDate baseValue launchDate weighting weightCapPct "
    f"reviewFrequency rebalanceFrequency constituentCount themes isIllustrative etfs {{ {ETF_FIELDS} }} "
    "licences { id licensedOn status notes manager { id slug shortName } products { id code name } } } "
    "counters { code mic localCode currency isPrimary } "
    "eligibility { direction channel status effectiveFrom effectiveTo reason } }"
)
ALIASES = 30


def _tokens(text: str) -> int:
    parser = Parser(text, max_tokens=None)
    parser.parse_document()
    return parser.token_count


@functools.cache
def _copies(max_tokens: int) -> str:
    """As many aliased copies as fit under the token cap (all 30 under the default 4,000)."""
    copies = [f"a{i}: {ETF}" for i in range(ALIASES)]
    while _tokens(f"query Tokens0 {{ {' '.join(copies)} nope0 }}") >= max_tokens:
        copies.pop()
    return " ".join(copies)


def document(kind: str, n: int, *, max_tokens: int, max_bytes: int) -> str:
    """A distinct document of the given kind, as large as the limits allow."""
    if kind == "bytes":
        comment = f"# soak {n} " + "x" * (max_bytes - 200)
        return f"{comment}\nquery Bytes{n} {{ __typename }}"
    unknown = f" nope{n}" if kind == "invalid" else ""
    return f"query Tokens{n} {{ {_copies(max_tokens)}{unknown} }}"


def examples() -> list[tuple[str, dict[str, object]]]:
    folder = ROOT / "schema" / "examples"
    variables = json.loads((folder / "variables.json").read_text())
    return [(path.read_text(), variables.get(path.stem, {})) for path in sorted(folder.glob("*.graphql"))]


async def send_all(
    client: httpx.AsyncClient, bodies: list[dict[str, object]], concurrency: int
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            response = await client.post("/graphql", json=body)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def soak(args: argparse.Namespace) -> int:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "LOG_LEVEL": "WARNING",
        "ENVIRONMENT": "development",
    }
    command = [
        sys.executable, "-m", "uvicorn", "service.asgi:app", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: ASYNC220 (started once, waited for below)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    print("the server did not start", file=sys.stderr)
                    return 2
                await asyncio.sleep(0.2)
            process = psutil.Process(server.pid)

            def rss() -> float:
                return float(process.memory_info().rss) / MB

            print(f"{'after':<24} {'RSS MiB':>8}  statuses")
            print(f"{'start':<24} {rss():8.1f}")
            warm_bodies = [{"query": q, "variables": v} for q, v in examples()] * args.warm_rounds
            statuses = await send_all(client, warm_bodies, args.concurrency)
            # One document of each kind, so that every code path has run before the warm figure.
            limits = {"max_tokens": args.max_tokens, "max_bytes": args.max_bytes}
            kinds = ("tokens", "bytes", "invalid")
            weights = dict(part.split(":") for part in args.mix.split(","))
            cycle = [kind for kind in kinds for _ in range(int(weights.get(kind, 0)))]
            await send_all(client, [{"query": document(k, 10**9, **limits)} for k in kinds], 1)
            warm = rss()
            print(f"{'warm':<24} {warm:8.1f}  {statuses}")
            sent = 0
            last = warm
            began = time.monotonic()
            while sent < args.documents:
                batch = min(1_000, args.documents - sent)
                bodies = [
                    {"query": document(cycle[(sent + i) % len(cycle)], sent + i, **limits)}
                    for i in range(batch)
                ]
                statuses = await send_all(client, bodies, args.concurrency)
                sent += batch
                last = rss()
                print(f"{f'{sent:,} documents':<24} {last:8.1f}  {statuses}")
            elapsed = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    ratio = last / warm
    print(
        f"\n{args.documents:,} distinct documents in {elapsed:.0f} s: RSS {warm:.1f} -> {last:.1f} MiB, "
        f"{ratio:.2f}x warm (limit {args.max_ratio:.1f}x)"
    )
    return 0 if ratio <= args.max_ratio else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a migrated database")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warm-rounds", type=int, default=20, help="rounds of the nine examples")
    parser.add_argument("--max-tokens", type=int, default=4_000, help="the server's MAX_QUERY_TOKENS")
    parser.add_argument("--max-bytes", type=int, default=100_000, help="the server's MAX_QUERY_BYTES")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument("--mix", default="tokens:1,bytes:8,invalid:1", help="weights of the three kinds")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    raise SystemExit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
