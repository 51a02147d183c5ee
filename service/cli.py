"""`connectgraph`, the command line: serve, migrate, demo load, generate-scale, load, generate, db-*.

Settings are read once per command (``Settings()`` here) and passed down. With no DATABASE_URL the
commands use the embedded PostgreSQL in ``pgdata_dir`` (database ``connectgraph``), except in
production, where DATABASE_URL is required. Expected failures (an unreachable database, a bad
argument) end with a one-line ``Error: ...`` on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import asyncpg
import typer

from service.auth.cli import keys_app, operations_app
from service.cli_common import (
    CliError,
    connect,
    database_for,
    database_name,
    ensure_database,
    expected_errors,
    fail,
    load_settings,
    redact,
    say,
)
from service.ingest.datasets import Dataset

ASGI_APP = "service.asgi:app"

app = typer.Typer(
    name="connectgraph",
    help="ConnectGraph: a GraphQL data service over PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(help="The bundled demo data set.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(keys_app, name="keys")
app.add_typer(operations_app, name="operations")


# --- Database administration (the few statements the CLI itself runs) ----------------------------

# Data tables: every ordinary table in public except Alembic's bookkeeping; names come back quoted.
# Market data only: the service's own state (keys, their usage, persisted queries, load history and
# the data version, which must keep counting up for caches) survives a demo reload.
_DATA_TABLES = """
SELECT format('%I.%I', schemaname, tablename)
FROM pg_tables
WHERE schemaname = 'public'
  AND tablename NOT IN ('alembic_version', 'api_keys', 'persisted_queries', 'load_history', 'data_version')
ORDER BY tablename
"""


async def _check_reachable(url: str) -> None:
    conn = await connect(url)
    await conn.close()


async def _data_tables(conn: asyncpg.Connection[Any]) -> list[str]:
    return [row[0] for row in await conn.fetch(_DATA_TABLES)]


async def _is_empty(conn: asyncpg.Connection[Any]) -> bool:
    for table in await _data_tables(conn):
        # The table names are quoted by format('%I') on the server.
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            return False
    return True


async def _truncate_data(conn: asyncpg.Connection[Any]) -> int:
    tables = await _data_tables(conn)
    if tables:
        await conn.execute(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return len(tables)


# --- Migrations and demo data ---------------------------------------------------------------------


def _alembic_ini() -> Path:
    # An editable install finds alembic.ini next to the package; the Docker image keeps it in cwd.
    for candidate in (
        Path(__file__).resolve().parent.parent / "alembic.ini",
        Path.cwd() / "alembic.ini",
    ):
        if candidate.is_file():
            return candidate
    raise CliError("alembic.ini not found (run from the repository root)")


class _MigrationSteps(logging.Handler):
    """Shows Alembic's "Running upgrade a -> b" lines (env.py configures no logging)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running "):
            say(f"  {message}")


def _show_migration_steps() -> None:
    migration_log = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(h, _MigrationSteps) for h in migration_log.handlers):
        migration_log.addHandler(_MigrationSteps())
    migration_log.setLevel(logging.INFO)


def migrate_database(url: str, action: str, revision: str) -> None:
    """Run ``alembic upgrade|downgrade REVISION`` in this process against ``url``."""
    from alembic.config import Config
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from alembic import command

    asyncio.run(_check_reachable(url))
    # env.py reads `-x url=...` before DATABASE_URL.
    config = Config(str(_alembic_ini()), cmd_opts=Namespace(x=[f"url={url}"]))
    _show_migration_steps()
    try:
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    except CommandError as exc:
        raise CliError(f"alembic {action} {revision}: {exc}") from None
    except SQLAlchemyError as exc:
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CliError(f"alembic {action} {revision} failed: {first_line}") from None


async def _load_demo(url: str, *, force: bool) -> bool:
    from service.demo.load import load_demo

    conn = await connect(url)
    try:
        if not force:
            return await load_demo(conn)
        # One transaction: a failed reload leaves the old data in place.
        async with conn.transaction():
            count = await _truncate_data(conn)
            say(f"Emptied {count} tables.")
            return await load_demo(conn)
    finally:
        await conn.close()


def _report_demo(loaded: bool) -> None:
    if loaded:
        say("Loaded the demo data.")
    else:
        say("The database already has data; demo data not loaded (`connectgraph demo load --force`)")


# --- Commands -------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def _hangup(signum: int, frame: FrameType | None) -> None:
    # Whoever handles SIGTERM right now (uvicorn while serving, _interrupt otherwise) shuts down.
    signal.raise_signal(signal.SIGTERM)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind [default: HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: PORT].")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes [default: WORKERS].")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    prepare: Annotated[
        bool,
        typer.Option(help="Migrate to head first, and load the demo data into an empty database."),
    ] = True,
    graceful_timeout: Annotated[
        int | None,
        typer.Option(
            min=1, help="On shutdown, seconds in-flight requests may take [default: GRACEFUL_TIMEOUT_S]."
        ),
    ] = None,
) -> None:
    """Serve GraphQL (and GraphiQL) at http://HOST:PORT/graphql."""
    import uvicorn

    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    # Ctrl-C raises KeyboardInterrupt; SIGTERM and SIGHUP (terminal closed) take the same path, so
    # the embedded PostgreSQL is always stopped. uvicorn swaps in its own handlers while it serves.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _hangup)
    with expected_errors():
        try:
            with database_for(settings) as url:
                if prepare:
                    say("Migrating to head ...")
                    migrate_database(url, "upgrade", "head")
                    if settings.is_production:
                        say("Production: demo data is never loaded automatically.")
                    else:
                        _report_demo(asyncio.run(_load_demo(url, force=False)))
                else:
                    asyncio.run(_check_reachable(url))
                # uvicorn imports the app (in each worker): the URL travels in the environment.
                os.environ["DATABASE_URL"] = url
                if workers > 1 and not reload:
                    _share_metrics()
                say(f"GraphQL: http://{host}:{port}/graphql  (database {redact(url)})")
                root = Path(__file__).resolve().parent.parent
                uvicorn.run(
                    ASGI_APP,
                    host=host,
                    port=port,
                    workers=None if reload else workers,
                    reload=reload,
                    reload_dirs=[str(root / "service"), str(root / "schema")] if reload else None,
                    loop="auto",  # uvloop when installed (uvicorn[standard])
                    http=_http_protocol(),
                    timeout_graceful_shutdown=graceful_timeout or settings.graceful_timeout_s,
                    server_header=False,  # no "server: uvicorn" banner
                )
        except KeyboardInterrupt:
            pass
    say("Stopped.")


def _http_protocol() -> str:
    """httptools with one write per response (service/http_protocol.py), else uvicorn's choice."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "auto"
    from service.http_protocol import PROTOCOL

    return PROTOCOL


def _share_metrics() -> None:
    """Several workers write their metrics into one folder that /metrics reads whole (prometheus_client's
    multiprocess mode): PROMETHEUS_MULTIPROC_DIR when set, else a new temporary folder. Files left by an
    earlier run would add its counts to this one's, so the folder is emptied first."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        folder = tempfile.mkdtemp(prefix="connectgraph-metrics-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


class MigrateAction(StrEnum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"


@app.command()
def migrate(
    action: Annotated[MigrateAction, typer.Argument()] = MigrateAction.UPGRADE,
    revision: Annotated[
        str | None,
        typer.Argument(help="Target revision [default: head for upgrade, -1 for downgrade]."),
    ] = None,
) -> None:
    """Apply (upgrade) or revert (downgrade) migrations."""
    settings = load_settings()
    target = revision or ("head" if action is MigrateAction.UPGRADE else "-1")
    with expected_errors(), database_for(settings) as url:
        say(f"alembic {action.value} {target} on {redact(url)}")
        migrate_database(url, action.value, target)
        say("Done.")


@demo_app.command("load")
def demo_load(
    force: Annotated[
        bool, typer.Option(help="Empty every data table first (one transaction), then reload.")
    ] = False,
) -> None:
    """Load the demo data into an empty database."""
    settings = load_settings()
    with expected_errors(), database_for(settings) as url:
        _report_demo(asyncio.run(_load_demo(url, force=force)))


@app.command("generate-scale")
def generate_scale(
    etfs: Annotated[int, typer.Option(min=1)] = 1500,
    securities: Annotated[int, typer.Option(min=1)] = 3000,
    years: Annotated[int, typer.Option(min=1)] = 8,
    seed: Annotated[int, typer.Option()] = 7,
    database_url: Annotated[
        str | None,
        typer.Option(help="Target database; created when missing [default: DATABASE_URL]."),
    ] = None,
) -> None:
    """Generate a large synthetic data set (for benchmarks) into an empty, migrated database."""
    settings = load_settings()
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    with expected_errors(), database_for(settings) as url:
        if settings.database_url is not None and asyncio.run(ensure_database(url)):
            say(f"Created database {database_name(url)!r}.")
        migrate_database(url, "upgrade", "head")
        started = time.monotonic()
        counts = asyncio.run(_generate(url, etfs=etfs, securities=securities, years=years, seed=seed))
        for table, count in counts.items():
            typer.echo(f"{table}: {count}")
        say(f"Generated in {time.monotonic() - started:.1f}s.")


async def _generate(url: str, *, etfs: int, securities: int, years: int, seed: int) -> dict[str, int]:
    from service.demo.scale import load_scale

    conn = await connect(url)
    try:
        if not await _is_empty(conn):
            raise CliError(f"{redact(url)} already has data: generate-scale needs an empty database")
        with _progress() as progress:
            return await load_scale(
                conn, etfs=etfs, securities=securities, years=years, seed=seed, progress=progress
            )
    finally:
        await conn.close()


@contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    """A ``progress(message)`` callback: a rich spinner and log on a terminal, plain lines otherwise."""
    if not sys.stderr.isatty():
        yield say
        return

    from rich.console import Console

    console = Console(stderr=True)
    with console.status("Generating ...") as status:

        def show(message: str) -> None:
            console.log(message)
            status.update(message)

        yield show


@app.command("db-url")
def db_url() -> None:
    """Print the database URL the service would use (e.g. `psql "$(connectgraph db-url)"`).

    With the embedded PostgreSQL the server runs only while `make run` (or this command) does.
    """
    settings = load_settings()
    with expected_errors(), database_for(settings) as url:
        typer.echo(url)


@app.command("db-stop")
def db_stop(
    pgdata_dir: Annotated[Path | None, typer.Option(help="Data folder [default: PGDATA_DIR].")] = None,
) -> None:
    """Stop the embedded PostgreSQL whose data is in PGDATA_DIR, if it is running."""
    folder = pgdata_dir or load_settings().pgdata_dir
    pid_file = folder / "postmaster.pid"
    if not pid_file.is_file():
        say(f"No embedded PostgreSQL running in {folder}.")
        return
    pid = int(pid_file.read_text().split()[0])
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not _alive(pid) or (cmdline.exists() and b"postgres" not in cmdline.read_bytes()):
        say(f"No embedded PostgreSQL running in {folder} (stale postmaster.pid).")
        return
    os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast shutdown"
    deadline = time.monotonic() + 30
    while _alive(pid):
        if time.monotonic() > deadline:
            fail(f"PostgreSQL (pid {pid}) did not stop within 30s")
        time.sleep(0.2)
    # The wheel counts the processes holding the server in this file; after a stop none does, and a
    # PID left by a killed process would otherwise keep later runs from stopping the server.
    (folder / ".handle_pids.json").unlink(missing_ok=True)
    say(f"Stopped the embedded PostgreSQL in {folder}.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- Loading files (service/ingest) ----------------------------------------------------------------


@app.command()
def load(
    dataset: Annotated[
        str,
        typer.Argument(
            help=f"{', '.join(Dataset)}; or `all` with the directory `connectgraph generate` wrote."
        ),
    ],
    files: Annotated[list[Path], typer.Argument(help="CSV or XLSX files, loaded in the order given.")],
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Load the valid rows; write the rejected ones to FILE.rejects.csv beside FILE."),
    ] = False,
    link: Annotated[
        str | None,
        typer.Option(
            help="eligibility: sse-southbound, szse-southbound, sse-northbound or szse-northbound "
            "[default: from the file name]."
        ),
    ] = None,
    illustrative: Annotated[
        bool | None,
        typer.Option("--illustrative/--real", help="Mark the dataset's figures illustrative, or real."),
    ] = None,
) -> None:
    """Load publishers' files: each file is validated, then loaded in one transaction (all or nothing)."""
    from service.ingest.errors import IngestError
    from service.ingest.generate import read_manifest
    from service.ingest.layouts import dataset as dataset_spec

    settings = load_settings()
    with expected_errors():
        if dataset == "all":
            if len(files) != 1 or not files[0].is_dir():
                raise CliError("`load all` takes one directory written by `connectgraph generate`")
            try:
                plan, from_generator = read_manifest(files[0])
            except (OSError, ValueError, KeyError) as exc:
                raise CliError(f"{files[0]}: no readable manifest.json ({exc})") from None
            illustrative = True if illustrative is None and from_generator else illustrative
        else:
            try:
                dataset_spec(dataset)
            except IngestError as exc:
                raise CliError(str(exc)) from None
            plan = [(dataset, f) for f in files]
        with database_for(settings) as url:
            failed = asyncio.run(_load_files(url, plan, skip_invalid, link, illustrative))
    if failed:
        fail(f"{failed} of {len(plan)} file(s) not loaded")


async def _load_files(
    url: str, plan: list[tuple[str, Path]], skip_invalid: bool, link: str | None, illustrative: bool | None
) -> int:
    from service.ingest.errors import IngestError
    from service.ingest.loader import LoadOptions, load_file

    conn = await connect(url)
    failed = 0
    try:
        for name, path in plan:
            with _load_progress(path) as progress:
                options = LoadOptions(skip_invalid, illustrative, link, progress, on_wait=say)
                try:
                    result = await load_file(conn, name, path, options)
                except IngestError as exc:
                    failed += 1
                    typer.echo(f"Error: {exc}", err=True)
                    continue
            typer.echo(result.summary())
    finally:
        await conn.close()
    return failed


@contextmanager
def _load_progress(path: Path) -> Iterator[Callable[[int, int, int], None] | None]:
    """A rich progress bar on a terminal; nothing otherwise (the summary line says it all)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[rows]:,} rows"))
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(path.name, total=None, rows=0)

        def show(done: int, total: int, rows: int) -> None:
            bar.update(task, completed=done, total=total or None, rows=rows)

        yield show


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory to write the files into (created if missing).")],
    etfs: Annotated[int, typer.Option(min=1, help="Generated ETFs on top of the demo's.")] = 2000,
    years: Annotated[int, typer.Option(min=1, help="Years of trading days up to the demo window's end.")] = 8,
    securities: Annotated[
        int | None, typer.Option(min=1, help="Generated securities [default: 2 x ETFs].")
    ] = None,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Write illustrative files in every loadable layout, deterministic by seed (`load all DIR`)."""
    from service.demo.scale import generate_files

    started = time.monotonic()
    files = generate_files(out, etfs=etfs, years=years, seed=seed, securities=securities, progress=say)
    for f in files:
        typer.echo(f"{f.dataset}\t{f.path}\t{f.rows}")
    say(f"Wrote {len(files)} files to {out} in {time.monotonic() - started:.1f}s.")


if __name__ == "__main__":
    app()
