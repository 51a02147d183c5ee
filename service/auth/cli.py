"""`connectgraph keys ...` and `connectgraph operations ...`: API keys and the allow-list from a shell.

A new key is printed once, on stdout (everything else goes to stderr), and only its hash is stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from service.auth import service
from service.auth.access import sha256_hex
from service.cli_common import CliError, connect, database_for, expected_errors, load_settings
from service.db.client import ConnectionDatabase
from service.errors import AppError
from service.repositories import api_keys

T = TypeVar("T")

keys_app = typer.Typer(help="API keys: create, list, revoke, rotate.", no_args_is_help=True)
operations_app = typer.Typer(help="The operations allow-list (for allow-list keys).", no_args_is_help=True)


def _run(work: Callable[[ConnectionDatabase, str], Awaitable[T]]) -> T:
    """Run ``work(db, secret)`` on the service's database; expected failures become one line."""
    settings = load_settings()
    with expected_errors(), database_for(settings) as url:

        async def main() -> T:
            conn = await connect(url)
            try:
                return await work(ConnectionDatabase(conn), settings.api_key_secret.get_secret_value())
            finally:
                await conn.close()

        try:
            return asyncio.run(main())
        except AppError as exc:
            raise CliError(exc.message) from None
    raise AssertionError("unreachable")


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)  # valid through that day


def _row(row: api_keys.ApiKeyRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes,
        "rate_per_minute": row.rate_per_minute,
        "allow_list_only": row.allow_list_only,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "grace_until": row.grace_until.isoformat() if row.grace_until else None,
        "requests": row.requests,
        "rejected": row.rejected,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. acme.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read:reference,read:flows,admin.")],
    rate: Annotated[str, typer.Option(help="Rate limit, e.g. 600/min or 10/s.")] = "600/min",
    expires: Annotated[str | None, typer.Option(help="Last valid day, YYYY-MM-DD.")] = None,
    max_cost: Annotated[int | None, typer.Option(help="Cost budget per document.")] = None,
    allow_list_only: Annotated[bool, typer.Option(help="Only registered operations.")] = False,
) -> None:
    """Create a key and print it once."""
    expires_at = _expiry(expires)

    async def work(db: ConnectionDatabase, secret: str) -> service.IssuedKey:
        return await service.create_key(
            db,
            secret,
            name=name,
            scope_list=scopes.split(","),
            rate_per_minute=service.parse_rate(rate),
            expires_at=expires_at,
            max_cost=max_cost,
            allow_list_only=allow_list_only,
        )

    issued = _run(work)
    typer.echo(f"Created key {issued.row.prefix} for {name} ({', '.join(issued.row.scopes)}).", err=True)
    typer.echo("Store it now: it is shown this once.", err=True)
    typer.echo(issued.plaintext)


@keys_app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """Every key with its status and usage (never a secret)."""

    async def work(db: ConnectionDatabase, secret: str) -> list[api_keys.ApiKeyRow]:
        return await api_keys.all_keys(db)

    rows = _run(work)
    for row in rows:
        if as_json:
            typer.echo(json.dumps(_row(row)))
            continue
        state = "revoked" if row.revoked_at else ("rotating" if row.grace_until else "active")
        if row.expires_at and row.expires_at <= datetime.now(UTC):
            state = "expired"
        typer.echo(
            f"{row.prefix}  {row.name:<20} {state:<8} {','.join(row.scopes):<32} "
            f"{row.rate_per_minute}/min  requests={row.requests} rejected={row.rejected}"
        )


@keys_app.command("revoke")
def revoke(key: Annotated[str, typer.Argument(help="The key's name or prefix.")]) -> None:
    """Revoke a key: refused from the next request on."""

    async def work(db: ConnectionDatabase, secret: str) -> api_keys.ApiKeyRow:
        return await service.revoke_key(db, key)

    row = _run(work)
    typer.echo(f"Revoked {row.prefix} ({row.name}).", err=True)


@keys_app.command("rotate")
def rotate(
    key: Annotated[str, typer.Argument(help="The key's name or prefix.")],
    grace_hours: Annotated[int, typer.Option(help="How long the old key keeps working.")] = 24,
) -> None:
    """Issue a replacement key; the old one keeps working for the grace period."""

    async def work(db: ConnectionDatabase, secret: str) -> service.IssuedKey:
        return await service.rotate_key(db, secret, key, timedelta(hours=grace_hours))

    issued = _run(work)
    typer.echo(
        f"Rotated {key}: new key {issued.row.prefix}; the old one works for {grace_hours} h.", err=True
    )
    typer.echo(issued.plaintext)


@operations_app.command("register")
def register(files: Annotated[list[Path], typer.Argument(help="GraphQL documents (.graphql).")]) -> None:
    """Put documents on the allow-list; prints each one's sha256 (its persisted-query hash)."""
    documents = []
    for path in files:
        try:
            documents.append((path, path.read_text()))
        except OSError as exc:
            raise typer.BadParameter(f"{path}: {exc.strerror}") from None

    async def work(db: ConnectionDatabase, secret: str) -> list[tuple[Path, str]]:
        done = []
        for path, document in documents:
            sha256 = sha256_hex(document)
            await api_keys.save_persisted_query(db, sha256, document, path.stem, registered=True)
            done.append((path, sha256))
        return done

    for path, sha256 in _run(work):
        typer.echo(f"{sha256}  {path}")
