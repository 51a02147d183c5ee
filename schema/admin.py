"""Admin fields (scope ``admin``): API keys and their usage, and the operations allow-list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated

import strawberry

from schema.context import Context
from schema.permissions import ADMIN, requires
from service.auth import service
from service.auth.access import sha256_hex
from service.errors import BadInput
from service.repositories import api_keys
from service.repositories.api_keys import ApiKeyRow, PersistedQueryRow

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Whether a key can be used now.")
class ApiKeyStatus(Enum):
    ACTIVE = "ACTIVE"
    ROTATING = strawberry.enum_value("ROTATING", description="Replaced; valid until its grace period ends.")
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


@strawberry.type(description="An API key as admins see it: never its secret or hash.")
class ApiKey:
    name: str = strawberry.field(description="Who the key is for.")
    prefix: str = strawberry.field(description="The key's visible first characters (`cg_xxxxxxxx`).")
    scopes: list[str] = strawberry.field(description="What the key may read or do.")
    rate_per_minute: int = strawberry.field(description="Requests a minute (token bucket).")
    max_cost: int | None = strawberry.field(description="Cost budget per document; null: the default.")
    allow_list_only: bool = strawberry.field(description="May run registered operations only.")
    status: ApiKeyStatus = strawberry.field(description="Whether it can be used now.")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(description="When it stops working.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked.")
    grace_until: datetime | None = strawberry.field(description="End of its grace period after rotation.")
    requests: int = strawberry.field(description="Requests made with it (updated every few seconds).")
    rejected: int = strawberry.field(description="Of those, refused (rate limit, limits, allow-list).")
    last_used_at: datetime | None = strawberry.field(description="When it was last used.")

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        now = datetime.now(UTC)
        if row.revoked_at is not None:
            status = ApiKeyStatus.REVOKED
        elif row.expires_at is not None and row.expires_at <= now:
            status = ApiKeyStatus.EXPIRED
        elif row.grace_until is not None:
            status = ApiKeyStatus.ROTATING if row.grace_until > now else ApiKeyStatus.EXPIRED
        else:
            status = ApiKeyStatus.ACTIVE
        return cls(
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            rate_per_minute=row.rate_per_minute,
            max_cost=row.max_cost,
            allow_list_only=row.allow_list_only,
            status=status,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            grace_until=row.grace_until,
            requests=row.requests,
            rejected=row.rejected,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="A new key: `secret` is shown this once and cannot be recovered.")
class IssuedApiKey:
    key: ApiKey = strawberry.field(description="The key's record.")
    secret: str = strawberry.field(description="The key itself, to send as `Authorization: Bearer ...`.")


@strawberry.type(description="An operation on the allow-list.")
class RegisteredOperation:
    sha256: str = strawberry.field(description="SHA-256 of the document (the persisted-query hash).")
    operation_name: str | None = strawberry.field(description="Name of the operation.")
    document: str = strawberry.field(description="The GraphQL document.")

    @classmethod
    def from_row(cls, row: PersistedQueryRow) -> RegisteredOperation:
        return cls(sha256=row.sha256, operation_name=row.operation_name, document=row.document)


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Every API key with its usage (admin).", permission_classes=requires(ADMIN))
    async def api_keys(self, info: Info) -> list[ApiKey] | None:
        return [ApiKey.from_row(r) for r in await api_keys.all_keys(info.context.db)]

    @strawberry.field(description="The operations allow-list (admin).", permission_classes=requires(ADMIN))
    async def registered_operations(self, info: Info) -> list[RegisteredOperation] | None:
        rows = await api_keys.registered_queries(info.context.db)
        return [RegisteredOperation.from_row(r) for r in rows]


@strawberry.type(description="Changes: admin only.")
class Mutation:
    @strawberry.mutation(
        description="Create an API key; its secret is returned once.", permission_classes=requires(ADMIN)
    )
    async def create_api_key(
        self,
        info: Info,
        name: str,
        scopes: list[str],
        rate: Annotated[str, strawberry.argument(description="e.g. `600/min`, `10/s`.")] = "600/min",
        expires_at: datetime | None = None,
        max_cost: int | None = None,
        allow_list_only: bool = False,
    ) -> IssuedApiKey | None:
        issued = await service.create_key(
            info.context.db,
            info.context.api_key_secret,
            name=name,
            scope_list=scopes,
            rate_per_minute=service.parse_rate(rate),
            expires_at=expires_at,
            max_cost=max_cost,
            allow_list_only=allow_list_only,
        )
        return IssuedApiKey(key=ApiKey.from_row(issued.row), secret=issued.plaintext)

    @strawberry.mutation(
        description="Revoke a key by name or prefix, at once.", permission_classes=requires(ADMIN)
    )
    async def revoke_api_key(self, info: Info, key: str) -> ApiKey | None:
        return ApiKey.from_row(await service.revoke_key(info.context.db, key))

    @strawberry.mutation(
        description="Replace a key by a new one; the old one keeps working for `graceHours`.",
        permission_classes=requires(ADMIN),
    )
    async def rotate_api_key(self, info: Info, key: str, grace_hours: int = 24) -> IssuedApiKey | None:
        if not 0 <= grace_hours <= 24 * 30:
            raise BadInput("`graceHours` must be within 0..720", argument="graceHours")
        issued = await service.rotate_key(
            info.context.db, info.context.api_key_secret, key, timedelta(hours=grace_hours)
        )
        return IssuedApiKey(key=ApiKey.from_row(issued.row), secret=issued.plaintext)

    @strawberry.mutation(
        description="Put an operation on the allow-list (for allow-list keys).",
        permission_classes=requires(ADMIN),
    )
    async def register_operation(
        self, info: Info, document: str, operation_name: str | None = None
    ) -> RegisteredOperation | None:
        sha256 = sha256_hex(document)
        await api_keys.save_persisted_query(
            info.context.db, sha256, document, operation_name, registered=True
        )
        return RegisteredOperation(sha256=sha256, operation_name=operation_name, document=document)
