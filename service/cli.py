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
import re
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
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from pydantic import ValidationError

from service.auth.cli import keys_app, operations_app
from service.db.embedded import EmbeddedPostgres
from service.db.pool import asyncpg_dsn
from service.ingest.datasets import Dataset
from service.settings import Settings

APP_DATABASE = "connectgraph"
ASGI_APP = "service.asgi:app"
CONNECT_TIMEOUT_S = 5.0

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


class CliError(Exception):
    """An expected failure: its message is printed on one line and the command exits with 1."""


def _say(message: str) -> None:
    # Progress goes to stderr so that stdout stays clean for `db-url` and friends.
    typer.echo(message, err=True)


@contextmanager
def _expected_errors() -> Iterator[None]:
    """Turn the failures a user can cause or fix into one line and exit code 1."""
    try:
        yield
    except CliError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        _fail(f"invalid setting {where.upper()}: {first['msg']}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


def _load_settings() -> Settings:
    with _expected_errors():
        return Settings()
    raise AssertionError("unreachable")  # _expected_errors exits on failure


# --- URLs ----------------------------------------------------------------------------------------


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database (query parameters such as host= kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise CliError(f"the URL names no database: {redact(url)}")
    return name


# --- Database administration (the few statements the CLI itself runs) ----------------------------

_DATABASE_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)"
_QUOTE_IDENT = "SELECT quote_ident($1)"
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
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


async def _connect(url: str) -> asyncpg.Connection[Any]:
    try:
        return await asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise CliError(f"database not reachable at {redact(url)} ({reason})") from None
    except asyncpg.InvalidCatalogNameError:
        raise CliError(f"database does not exist: {redact(url)}") from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise CliError(f"cannot connect to {redact(url)}: {exc}") from None


async def _check_reachable(url: str) -> None:
    conn = await _connect(url)
    await conn.close()


async def _ensure_database(url: str) -> bool:
    """Create the database the URL names when it is missing; True when it was created."""
    name = database_name(url)
    if not _SAFE_NAME.match(name):
        raise CliError(f"refusing to create a database named {name!r}: use letters, digits and _")
    admin = await _connect(with_database(url, "postgres"))
    try:
        if await admin.fetchval(_DATABASE_EXISTS, name):
            return False
        quoted = await admin.fetchval(_QUOTE_IDENT, name)
        # CREATE DATABASE takes no parameters; the name is checked above and quoted by the server.
        await admin.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await admin.close()


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


# --- Which database -------------------------------------------------------------------------------


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The URL to use: DATABASE_URL, or the embedded server's ``connectgraph`` database.

    The embedded server is stopped on the way out; its data stays in ``pgdata_dir`` for next time.
    Another process that holds it (``make run`` in a second terminal) keeps it running.
    """
    if settings.database_url is not None:
        yield settings.database_url
        return
    if settings.is_production:
        raise CliError("DATABASE_URL is required in production (no embedded PostgreSQL)")
    embedded = EmbeddedPostgres(settings.pgdata_dir)
    try:
        _say(f"Starting the embedded PostgreSQL (data in {settings.pgdata_dir}) ...")
        try:
            server_url = embedded.start()
        except Exception as exc:  # initdb/pg_ctl failures: the reason is in the server log
            raise CliError(
                f"the embedded PostgreSQL did not start ({exc}); see {settings.pgdata_dir}/log"
            ) from None
        url = with_database(server_url, APP_DATABASE)
        if asyncio.run(_ensure_database(url)):
            _say(f"Created database {APP_DATABASE!r}.")
        yield url
    finally:
        embedded.stop()


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
            _say(f"  {message}")


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

    conn = await _connect(url)
    try:
        if not force:
            return await load_demo(conn)
        # One transaction: a failed reload leaves the old data in place.
        async with conn.transaction():
            count = await _truncate_data(conn)
            _say(f"Emptied {count} tables.")
            return await load_demo(conn)
    finally:
        await conn.close()


def _report_demo(loaded: bool) -> None:
    if loaded:
        _say("Loaded the demo data.")
    else:
        _say("The database already has data; demo data not loaded (`connectgraph demo load --force`)")


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

    settings = _load_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    # Ctrl-C raises KeyboardInterrupt; SIGTERM and SIGHUP (terminal closed) take the same path, so
    # the embedded PostgreSQL is always stopped. uvicorn swaps in its own handlers while it serves.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _hangup)
    with _expected_errors():
        try:
            with _database(settings) as url:
                if prepare:
                    _say("Migrating to head ...")
                    migrate_database(url, "upgrade", "head")
                    if settings.is_production:
                        _say("Production: demo data is never loaded automatically.")
                    else:
                        _report_demo(asyncio.run(_load_demo(url, force=False)))
                else:
                    asyncio.run(_check_reachable(url))
                # uvicorn imports the app (in each worker): the URL travels in the environment.
                os.environ["DATABASE_URL"] = url
                if workers > 1 and not reload:
                    _share_metrics()
                _say(f"GraphQL: http://{host}:{port}/graphql  (database {redact(url)})")
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
    _say("Stopped.")


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
    settings = _load_settings()
    target = revision or ("head" if action is MigrateAction.UPGRADE else "-1")
    with _expected_errors(), _database(settings) as url:
        _say(f"alembic {action.value} {target} on {redact(url)}")
        migrate_database(url, action.value, target)
        _say("Done.")


@demo_app.command("load")
def demo_load(
    force: Annotated[
        bool, typer.Option(help="Empty every data table first (one transaction), then reload.")
    ] = False,
) -> None:
    """Load the demo data into an empty database."""
    settings = _load_settings()
    with _expected_errors(), _database(settings) as url:
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
    settings = _load_settings()
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    with _expected_errors(), _database(settings) as url:
        if settings.database_url is not None and asyncio.run(_ensure_database(url)):
            _say(f"Created database {database_name(url)!r}.")
        migrate_database(url, "upgrade", "head")
        started = time.monotonic()
        counts = asyncio.run(_generate(url, etfs=etfs, securities=securities, years=years, seed=seed))
        for table, count in counts.items():
            typer.echo(f"{table}: {count}")
        _say(f"Generated in {time.monotonic() - started:.1f}s.")


async def _generate(url: str, *, etfs: int, securities: int, years: int, seed: int) -> dict[str, int]:
    from service.demo.scale import load_scale

    conn = await _connect(url)
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
        yield _say
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
    settings = _load_settings()
    with _expected_errors(), _database(settings) as url:
        typer.echo(url)


@app.command("db-stop")
def db_stop(
    pgdata_dir: Annotated[Path | None, typer.Option(help="Data folder [default: PGDATA_DIR].")] = None,
) -> None:
    """Stop the embedded PostgreSQL whose data is in PGDATA_DIR, if it is running."""
    folder = pgdata_dir or _load_settings().pgdata_dir
    pid_file = folder / "postmaster.pid"
    if not pid_file.is_file():
        _say(f"No embedded PostgreSQL running in {folder}.")
        return
    pid = int(pid_file.read_text().split()[0])
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not _alive(pid) or (cmdline.exists() and b"postgres" not in cmdline.read_bytes()):
        _say(f"No embedded PostgreSQL running in {folder} (stale postmaster.pid).")
        return
    os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast shutdown"
    deadline = time.monotonic() + 30
    while _alive(pid):
        if time.monotonic() > deadline:
            _fail(f"PostgreSQL (pid {pid}) did not stop within 30s")
        time.sleep(0.2)
    # The wheel counts the processes holding the server in this file; after a stop none does, and a
    # PID left by a killed process would otherwise keep later runs from stopping the server.
    (folder / ".handle_pids.json").unlink(missing_ok=True)
    _say(f"Stopped the embedded PostgreSQL in {folder}.")


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

    settings = _load_settings()
    with _expected_errors():
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
        with _database(settings) as url:
            failed = asyncio.run(_load_files(url, plan, skip_invalid, link, illustrative))
    if failed:
        _fail(f"{failed} of {len(plan)} file(s) not loaded")


async def _load_files(
    url: str, plan: list[tuple[str, Path]], skip_invalid: bool, link: str | None, illustrative: bool | None
) -> int:
    from service.ingest.errors import IngestError
    from service.ingest.loader import LoadOptions, load_file

    conn = await _connect(url)
    failed = 0
    try:
        for name, path in plan:
            with _load_progress(path) as progress:
                options = LoadOptions(skip_invalid, illustrative, link, progress, on_wait=_say)
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
    files = generate_files(out, etfs=etfs, years=years, seed=seed, securities=securities, progress=_say)
    for f in files:
        typer.echo(f"{f.dataset}\t{f.path}\t{f.rows}")
    _say(f"Wrote {len(files)} files to {out} in {time.monotonic() - started:.1f}s.")


if __name__ == "__main__":
    app()
