"""Access control at the door: who is calling, may they call now, and may they run this document.

``Access`` is built once by create_app from the settings and used by the GraphQL endpoint for every
request, before any of the request's own SQL runs.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from service.auth import keys as key_format
from service.auth import scopes, service
from service.auth.keycache import KeyCache
from service.auth.principal import Principal
from service.auth.ratelimit import Decision, Limiter, LocalLimiter, redis_limiter
from service.auth.usage import UsageRecorder
from service.bounded import ByteLRU
from service.db.client import Database
from service.errors import NotAllowListed, PersistedQueryNotFound, RateLimited, Unauthenticated
from service.observability import metrics
from service.repositories import api_keys
from service.settings import Settings

log = logging.getLogger("connectgraph.access")

PERSISTED_CACHE_BYTES = 8 * 1024 * 1024


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@dataclass
class FailedAttempts:
    """Failed authentications, so that guessing keys costs the guesser rather than the database.

    Each failure draws from a bucket per client address (the shared limiter when there is Redis); once it
    is empty the address is refused with 429 for the time the bucket needs to refill, without any lookup.
    A wrong key is remembered for ``negative_ttl_s`` (by its HMAC digest), so sending it again costs no
    database round trip either.
    """

    per_minute: int = 30
    negative_ttl_s: float = 10.0
    max_entries: int = 10_000
    _blocked: dict[str, float] = field(default_factory=dict)  # client -> monotonic time it is let in again
    _wrong: dict[bytes, tuple[float, str]] = field(default_factory=dict)  # digest -> (until, message)

    def check(self, client: str) -> None:
        until = self._blocked.get(client)
        if until is None:
            return
        wait = until - time.monotonic()
        if wait <= 0:
            del self._blocked[client]
            return
        raise self._refusal(wait)

    def known_wrong(self, digest: bytes) -> str | None:
        entry = self._wrong.get(digest)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def remember_wrong(self, digest: bytes, message: str) -> None:
        if len(self._wrong) >= self.max_entries:
            self._wrong.clear()
        self._wrong[digest] = (time.monotonic() + self.negative_ttl_s, message)

    async def failed(
        self, limiter: Limiter, client: str, error: Unauthenticated
    ) -> Unauthenticated | RateLimited:
        """The error to raise for this failure: itself, or 429 once the address has failed too often."""
        decision = await limiter.take(f"auth-failures:{client}", self.per_minute)
        if decision.allowed:
            return error
        if len(self._blocked) >= self.max_entries:
            self._blocked.clear()
        self._blocked[client] = time.monotonic() + decision.retry_after_s
        return self._refusal(decision.retry_after_s)

    @staticmethod
    def _refusal(wait_s: float) -> RateLimited:
        seconds = max(1, math.ceil(wait_s))
        return RateLimited(
            f"Too many failed authentications from this address; retry in {seconds} s",
            retry_after_s=seconds,
            limit="authentication",
        )


@dataclass
class Access:
    secret: str
    anonymous_scopes: frozenset[str]
    anonymous_rate_per_minute: int
    default_max_cost: int
    introspection_scopes: frozenset[str] | None  # None: everyone may introspect (development)
    enabled: bool = True  # False only to measure the cost of the checks (never in production)
    limiter: Limiter = field(default_factory=LocalLimiter)
    usage: UsageRecorder = field(default_factory=UsageRecorder)
    keys: KeyCache = field(default_factory=KeyCache)
    failures: FailedAttempts = field(default_factory=FailedAttempts)
    # sha256 -> persisted document, bounded by bytes (documents are up to MAX_QUERY_BYTES each).
    _documents: ByteLRU[str, str] = field(default_factory=lambda: ByteLRU(PERSISTED_CACHE_BYTES))
    _registered: set[str] = field(default_factory=set)
    _anonymous: dict[str, Principal] = field(default_factory=dict)  # client address -> its principal

    async def principal(self, db: Database, headers: Mapping[str, str], client: str) -> Principal:
        plaintext = service.credentials(headers)
        if plaintext is None:
            if not self.anonymous_scopes:
                raise Unauthenticated(
                    "An API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"
                )
            known = self._anonymous.get(client)
            if known is None:
                if len(self._anonymous) >= 10_000:
                    self._anonymous.clear()
                known = self._anonymous[client] = Principal(
                    scopes=self.anonymous_scopes,
                    rate_per_minute=self.anonymous_rate_per_minute,
                    max_cost=self.default_max_cost,
                    client=client,
                )
            return known
        self.failures.check(client)
        parts = key_format.split(plaintext)
        if parts is None:
            raise await self.failures.failed(
                self.limiter, client, Unauthenticated("The API key is malformed")
            )
        digest = key_format.digest(plaintext, self.secret)
        cached = self.keys.get(parts[0], digest)
        if cached is not None:
            return cached
        wrong = self.failures.known_wrong(digest)
        if wrong is not None:
            raise await self.failures.failed(self.limiter, client, Unauthenticated(wrong))
        try:
            principal, valid_until = await service.verify(
                db, self.secret, plaintext, default_max_cost=self.default_max_cost
            )
        except Unauthenticated as error:
            self.failures.remember_wrong(digest, error.message)
            raise await self.failures.failed(self.limiter, client, error) from None
        self.keys.put(parts[0], digest, principal, valid_until)
        return principal

    async def admit(self, principal: Principal) -> Decision:
        return await self.limiter.take(principal.rate_key, principal.rate_per_minute)

    def admit_now(self, principal: Principal) -> Decision | None:
        """``admit`` when the limiter decides without awaiting (``Limiter.take_now``), else None."""
        return self.limiter.take_now(principal.rate_key, principal.rate_per_minute)

    def may_introspect(self, principal: Principal) -> bool:
        return self.introspection_scopes is None or bool(self.introspection_scopes & principal.scopes)

    async def persisted_document(self, db: Database, sha256: str) -> str:
        document = self._documents.get(sha256)
        if document is None:
            row = await api_keys.persisted_query(db, sha256)
            if row is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            document = self._remember(sha256, row.document)
        return document

    async def persist(self, db: Database, sha256: str, document: str, operation_name: str | None) -> None:
        if sha256 not in self._documents:
            await api_keys.save_persisted_query(db, sha256, document, operation_name, registered=False)
            self._remember(sha256, document)

    async def check_allow_list(self, db: Database, principal: Principal, document: str) -> None:
        if not principal.allow_list_only:
            return
        sha256 = sha256_hex(document)
        if sha256 in self._registered:
            return
        row = await api_keys.persisted_query(db, sha256)
        if row is None or not row.registered:
            raise NotAllowListed(
                f"This key may run registered operations only; {sha256[:12]}... is not registered",
                sha256=sha256,
            )
        self._registered.add(sha256)

    def _remember(self, sha256: str, document: str) -> str:
        self._documents.put(sha256, document, 2 * len(document) + 200)
        return document


def access_from_settings(settings: Settings) -> Access:
    """Keys, scopes and rate limits from the settings (Redis-backed limits when REDIS_URL is set)."""
    limiter: Limiter = LocalLimiter()
    if settings.redis_url:
        limiter = redis_limiter(settings.redis_url, on_state=_redis_state)
    return Access(
        secret=settings.api_key_secret.get_secret_value(),
        anonymous_scopes=frozenset(scopes.parse(settings.anonymous_scopes)),
        anonymous_rate_per_minute=settings.anonymous_rate_per_minute,
        default_max_cost=settings.max_query_cost,
        introspection_scopes=frozenset(settings.introspection_scopes) if settings.is_production else None,
        enabled=settings.access_checks,
        limiter=limiter,
        failures=FailedAttempts(per_minute=settings.auth_failures_per_minute),
    )


def _redis_state(up: bool) -> None:
    """Every change of the shared backend's state, as it happens (a fallback is counted once per outage)."""
    metrics.record_rate_limit_backend("redis", up=up)


def cors_middleware(origins: list[str]) -> list[Middleware]:
    """CORS for the configured frontend origins (none: no CORS headers, browsers stay same-origin)."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=[
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Retry-After",
                "ETag",
            ],
            max_age=600,
        )
    ]
