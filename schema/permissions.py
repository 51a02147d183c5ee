"""Scope checks on fields: ``permission_classes=requires(READ_FLOWS)``.

A field a key may not see resolves to null with a FORBIDDEN error naming the scope; the rest of the
response is answered. The compiled path reads the same permission classes at plan time
(``scopes_of``), so a document runs compiled only for keys that hold every scope it needs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.permission import BasePermission

from service.auth.scopes import ADMIN, READ_FLOWS, READ_REFERENCE
from service.errors import Forbidden

__all__ = ["ADMIN", "READ_FLOWS", "READ_REFERENCE", "requires", "scopes_of"]


class ScopePermission(BasePermission):
    scope: str = ""

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        if info.context.principal.has(self.scope):
            return True
        raise Forbidden(
            f"This field needs the `{self.scope}` scope, which the API key does not have",
            scope=self.scope,
        )


@cache
def _permission(scope: str) -> type[ScopePermission]:
    name = "Requires" + "".join(part.title() for part in scope.replace(":", "_").split("_"))
    return type(name, (ScopePermission,), {"scope": scope, "message": f"needs scope {scope}"})


def requires(scope: str) -> list[type[BasePermission]]:
    return [_permission(scope)]


def scopes_of(permission_classes: list[type[BasePermission]] | None) -> set[str]:
    return {p.scope for p in permission_classes or [] if issubclass(p, ScopePermission)}
