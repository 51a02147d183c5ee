"""Verified keys remembered between requests, while every change to a key is heard at once.

Looking a key up costs a database round trip per request. Instead an instance remembers the keys it
has verified, and forgets one the moment PostgreSQL tells it the key changed: revoking or rotating
a key sends ``NOTIFY connectgraph_keys, '<prefix>'`` in the same transaction, and every instance
LISTENs for it (``service/db/listen.py``). The cache is used only while that LISTEN connection is up
(``live``); it is emptied on every reconnection, since changes may have been missed meanwhile; and an
entry lives at most ``ttl_s`` whatever happens. Expiry and grace periods are checked on every use.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from service.auth.principal import Principal

KEYS_CHANNEL = "connectgraph_keys"


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    principal: Principal
    valid_until: datetime | None  # the earlier of expiry and the end of a rotation's grace
    cached_at: float


@dataclass
class KeyCache:
    ttl_s: float = 60.0
    max_entries: int = 10_000
    live: Callable[[], bool] = field(default=lambda: False)
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def get(self, prefix: str, digest: bytes, now: datetime | None = None) -> Principal | None:
        if not self.live():
            return None
        entry = self._entries.get(prefix)
        if entry is None or time.monotonic() - entry.cached_at > self.ttl_s:
            return None
        if not hmac.compare_digest(entry.digest, digest):
            return None
        if entry.valid_until is not None and entry.valid_until <= (now or datetime.now(UTC)):
            self._entries.pop(prefix, None)
            return None
        return entry.principal

    def put(self, prefix: str, digest: bytes, principal: Principal, valid_until: datetime | None) -> None:
        if not self.live():
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[prefix] = _Entry(digest, principal, valid_until, time.monotonic())

    def forget(self, prefix: str) -> None:
        self._entries.pop(prefix.strip(), None)

    def clear(self) -> None:
        self._entries.clear()
