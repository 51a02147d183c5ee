"""Who is calling: a key (by id and prefix, never its secret) or an anonymous client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    scopes: frozenset[str]
    rate_per_minute: int
    max_cost: int
    key_id: int | None = None
    key_prefix: str | None = None
    key_name: str | None = None
    allow_list_only: bool = False
    client: str = "anonymous"

    @property
    def rate_key(self) -> str:
        """Whose bucket a request draws from: the key, or the anonymous client's address."""
        return f"key:{self.key_id}" if self.key_id is not None else f"anon:{self.client}"

    @property
    def policy(self) -> tuple[frozenset[str], int, bool]:
        """What decides how a document is admitted for this caller (scopes, cost limit, allow-list):
        callers of one policy are admitted alike, whoever they are."""
        return (self.scopes, self.max_cost, self.allow_list_only)

    def has(self, scope: str) -> bool:
        return scope in self.scopes
