"""Admin mutations (scope ``admin``): create, revoke and rotate API keys, register operations. The keys and
the allow-list are read through the model (``service/model/operations.py``); what the mutations return is
read by the generated ``ApiKey`` and ``RegisteredOperation`` types by attribute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry

from schema.context import Context
from schema.generated import ApiKey, RegisteredOperation
from schema.permissions import ADMIN, requires
from service.auth import service
from service.auth.access import sha256_hex
from service.errors import BadInput
from service.repositories import api_keys
from service.repositories.api_keys import ApiKeyRow

Info = strawberry.Info[Context, None]


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    """A key as the generated ``ApiKey`` type reads it (by attribute), for what mutations return."""

    name: str
    prefix: str
    scopes: list[str]
    rate_per_minute: int
    max_cost: int | None
    allow_list_only: bool
    status: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    grace_until: datetime | None
    requests: int
    rejected: int
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKeyView:
        now = datetime.now(UTC)
        if row.revoked_at is not None:
            status = "REVOKED"
        elif row.expires_at is not None and row.expires_at <= now:
            status = "EXPIRED"
        elif row.grace_until is not None:
            status = "ROTATING" if row.grace_until > now else "EXPIRED"
        else:
            status = "ACTIVE"
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


@dataclass(frozen=True, slots=True)
class OperationView:
    """An operation as the generated ``RegisteredOperation`` type reads it."""

    sha256: str
    operation_name: str | None
    document: str


@strawberry.type(description="A new key: `secret` is shown this once and cannot be recovered.")
class IssuedApiKey:
    key: ApiKey = strawberry.field(description="The key's record.")
    secret: str = strawberry.field(description="The key itself, to send as `Authorization: Bearer ...`.")


@strawberry.type(description="Changes: admin only.")
class Mutation:
    @strawberry.mutation(
        description="Create an API key; its secret is returned once.", permission_classes=requires(ADMIN)
    )
    async def create_api_key(
        self,
        info: Info,
        name: Annotated[
            str, strawberry.argument(description="Who the key is for (letters, digits, ` ._-`).")
        ],
        scopes: Annotated[
            list[str], strawberry.argument(description="`read:reference`, `read:flows` and/or `admin`.")
        ],
        rate: Annotated[str, strawberry.argument(description="e.g. `600/min`, `10/s`.")] = "600/min",
        expires_at: Annotated[
            datetime | None, strawberry.argument(description="When it stops working (default never).")
        ] = None,
        max_cost: Annotated[
            int | None, strawberry.argument(description="Cost budget per document (default the service's).")
        ] = None,
        allow_list_only: Annotated[
            bool, strawberry.argument(description="May run registered operations only.")
        ] = False,
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
        return IssuedApiKey(key=ApiKeyView.from_row(issued.row), secret=issued.plaintext)

    @strawberry.mutation(
        description="Revoke a key by name or prefix, at once.", permission_classes=requires(ADMIN)
    )
    async def revoke_api_key(
        self, info: Info, key: Annotated[str, strawberry.argument(description="The key's name or prefix.")]
    ) -> ApiKey | None:
        return ApiKeyView.from_row(await service.revoke_key(info.context.db, key))

    @strawberry.mutation(
        description="Replace a key by a new one; the old one keeps working for `graceHours`.",
        permission_classes=requires(ADMIN),
    )
    async def rotate_api_key(
        self,
        info: Info,
        key: Annotated[str, strawberry.argument(description="The key's name or prefix.")],
        grace_hours: Annotated[
            int, strawberry.argument(description="Hours the old key keeps working (0..720).")
        ] = 24,
    ) -> IssuedApiKey | None:
        if not 0 <= grace_hours <= 24 * 30:
            raise BadInput("`graceHours` must be within 0..720", argument="graceHours")
        issued = await service.rotate_key(
            info.context.db, info.context.api_key_secret, key, timedelta(hours=grace_hours)
        )
        return IssuedApiKey(key=ApiKeyView.from_row(issued.row), secret=issued.plaintext)

    @strawberry.mutation(
        description="Put an operation on the allow-list (for allow-list keys).",
        permission_classes=requires(ADMIN),
    )
    async def register_operation(
        self,
        info: Info,
        document: Annotated[str, strawberry.argument(description="The GraphQL document to allow.")],
        operation_name: Annotated[
            str | None, strawberry.argument(description="Name of the operation in it.")
        ] = None,
    ) -> RegisteredOperation | None:
        sha256 = sha256_hex(document)
        await api_keys.save_persisted_query(
            info.context.db, sha256, document, operation_name, registered=True
        )
        return OperationView(sha256=sha256, operation_name=operation_name, document=document)
