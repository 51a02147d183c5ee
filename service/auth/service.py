"""Key management (create, list, revoke, rotate) and authentication of a request's credentials.

Used by the CLI (``connectgraph keys``) and by the admin GraphQL fields; both hold one Database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.auth import keys, scopes
from service.auth.principal import Principal
from service.db.client import Database
from service.errors import BadInput, Unauthenticated
from service.repositories import api_keys
from service.repositories.api_keys import ApiKeyRow

DEFAULT_GRACE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKeyRow
    plaintext: str  # shown once, never stored


def parse_rate(text: str) -> int:
    """``600/min``, ``10/s``, ``36000/h`` -> requests per minute."""
    count, _, unit = text.strip().partition("/")
    per = {"s": 1 / 60, "sec": 1 / 60, "second": 1 / 60, "min": 1, "minute": 1, "m": 1, "h": 60, "hour": 60}
    if not count.isdigit() or unit not in per or int(count) <= 0:
        raise BadInput(f"rate {text!r} must look like 600/min, 10/s or 36000/h", argument="rate")
    rate = int(count) / per[unit]
    if rate < 1 or rate != int(rate):
        raise BadInput(f"rate {text!r} must come to a whole number of requests per minute", argument="rate")
    return int(rate)


async def create_key(
    db: Database,
    secret: str,
    *,
    name: str,
    scope_list: list[str],
    rate_per_minute: int,
    expires_at: datetime | None = None,
    max_cost: int | None = None,
    allow_list_only: bool = False,
) -> IssuedKey:
    try:
        granted = scopes.parse(scope_list)
    except ValueError as exc:
        raise BadInput(str(exc), argument="scopes") from None
    if not granted:
        raise BadInput("a key needs at least one scope", argument="scopes")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise BadInput(f"expiry {expires_at.isoformat()} is in the past", argument="expires")
    new = keys.generate()
    row = await api_keys.create(
        db,
        name=name,
        prefix=new.prefix,
        secret_hash=keys.digest(new.plaintext, secret),
        scopes=granted,
        rate_per_minute=rate_per_minute,
        max_cost=max_cost,
        allow_list_only=allow_list_only,
        expires_at=expires_at,
    )
    return IssuedKey(row=row, plaintext=new.plaintext)


async def rotate_key(
    db: Database, secret: str, name_or_prefix: str, grace: timedelta = DEFAULT_GRACE
) -> IssuedKey:
    """A new key with the same name and rights; the old one keeps working for ``grace``."""
    async with db.transaction() as tx:
        old = await api_keys.find(tx, name_or_prefix)
        if old.revoked_at is not None:
            raise BadInput(f"key {old.prefix} is revoked; create a new one instead", argument="key")
        if old.grace_until is not None:
            raise BadInput(f"key {old.prefix} was already rotated", argument="key")
        await api_keys.start_grace(tx, old.id, datetime.now(UTC) + grace)
        issued = await create_key(
            tx,
            secret,
            name=old.name,
            scope_list=old.scopes,
            rate_per_minute=old.rate_per_minute,
            expires_at=old.expires_at,
            max_cost=old.max_cost,
            allow_list_only=old.allow_list_only,
        )
        await api_keys.mark_replaced(tx, old.id, issued.row.id)
        await api_keys.announce_change(tx, old.prefix)
    return issued


async def revoke_key(db: Database, name_or_prefix: str) -> ApiKeyRow:
    async with db.transaction() as tx:
        key = await api_keys.find(tx, name_or_prefix)
        revoked = await api_keys.revoke(tx, key.id)
        await api_keys.announce_change(tx, key.prefix)
    return revoked


def credentials(headers: Mapping[str, str]) -> str | None:
    """The key sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return headers.get("x-api-key", "").strip() or None


async def authenticate(
    db: Database, secret: str, plaintext: str, *, default_max_cost: int, now: datetime | None = None
) -> Principal:
    """The Principal of a key; any problem is UNAUTHENTICATED without saying which (no key oracle)."""
    principal, _ = await verify(db, secret, plaintext, default_max_cost=default_max_cost, now=now)
    return principal


async def verify(
    db: Database, secret: str, plaintext: str, *, default_max_cost: int, now: datetime | None = None
) -> tuple[Principal, datetime | None]:
    """``authenticate``, with the moment the key stops being valid (expiry or end of its grace)."""
    parts = keys.split(plaintext)
    if parts is None:
        raise Unauthenticated("The API key is malformed")
    row = await api_keys.by_prefix(db, parts[0])
    if row is None or not keys.matches(plaintext, row.secret_hash, secret):
        raise Unauthenticated("The API key is not valid")
    if not row.usable_at(now or datetime.now(UTC)):
        raise Unauthenticated(f"The API key {row.prefix} is revoked or expired")
    principal = Principal(
        scopes=frozenset(row.scopes),
        rate_per_minute=row.rate_per_minute,
        max_cost=row.max_cost or default_max_cost,
        key_id=row.id,
        key_prefix=row.prefix,
        key_name=row.name,
        allow_list_only=row.allow_list_only,
        client=row.prefix,
    )
    limits = [t for t in (row.expires_at, row.grace_until) if t is not None]
    return principal, min(limits) if limits else None
