"""What every command of the command line shares: an expected failure printed as one line (exit code 1),
the settings read once, and the database a command works on (``DATABASE_URL``, or the embedded server's
``connectgraph`` database, created on first use)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from pydantic import ValidationError

from service.db.embedded import EmbeddedPostgres
from service.db.pool import asyncpg_dsn
from service.settings import Settings

APP_DATABASE = "connectgraph"
CONNECT_TIMEOUT_S = 5.0


class CliError(Exception):
    """An expected failure: its message is printed on one line and the command exits with 1."""


def say(message: str) -> None:
    # Progress goes to stderr so that stdout stays clean for `db-url` and friends.
    typer.echo(message, err=True)


@contextmanager
def expected_errors() -> Iterator[None]:
    """Turn the failures a user can cause or fix into one line and exit code 1."""
    try:
        yield
    except CliError as exc:
        fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"invalid setting {where.upper()}: {first['msg']}")


def fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


def load_settings() -> Settings:
    with expected_errors():
        return Settings()
    raise AssertionError("unreachable")  # expected_errors exits on failure


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


# --- Database administration (the statements these commands run) ----------------------------

_DATABASE_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)"
_QUOTE_IDENT = "SELECT quote_ident($1)"
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


async def connect(url: str) -> asyncpg.Connection[Any]:
    try:
        return await asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise CliError(f"database not reachable at {redact(url)} ({reason})") from None
    except asyncpg.InvalidCatalogNameError:
        raise CliError(f"database does not exist: {redact(url)}") from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise CliError(f"cannot connect to {redact(url)}: {exc}") from None


async def ensure_database(url: str) -> bool:
    """Create the database the URL names when it is missing; True when it was created."""
    name = database_name(url)
    if not _SAFE_NAME.match(name):
        raise CliError(f"refusing to create a database named {name!r}: use letters, digits and _")
    admin = await connect(with_database(url, "postgres"))
    try:
        if await admin.fetchval(_DATABASE_EXISTS, name):
            return False
        quoted = await admin.fetchval(_QUOTE_IDENT, name)
        # CREATE DATABASE takes no parameters; the name is checked above and quoted by the server.
        await admin.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await admin.close()


# --- Which database -------------------------------------------------------------------------------


@contextmanager
def database_for(settings: Settings) -> Iterator[str]:
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
        say(f"Starting the embedded PostgreSQL (data in {settings.pgdata_dir}) ...")
        try:
            server_url = embedded.start()
        except Exception as exc:  # initdb/pg_ctl failures: the reason is in the server log
            raise CliError(
                f"the embedded PostgreSQL did not start ({exc}); see {settings.pgdata_dir}/log"
            ) from None
        url = with_database(server_url, APP_DATABASE)
        if asyncio.run(ensure_database(url)):
            say(f"Created database {APP_DATABASE!r}.")
        yield url
    finally:
        embedded.stop()
