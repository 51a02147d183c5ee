"""Per-key rate limits: a token bucket per key (or per anonymous client address).

``LocalLimiter`` keeps buckets in this process. ``RedisLimiter`` keeps them in Redis (one Lua script,
atomic) so that every instance draws from the same bucket; when Redis fails it falls back to the
local buckets, says so in the log and through ``on_state`` (once per outage, and once when Redis is
back), and tries Redis again after a pause. Each Redis answer is mirrored into the local bucket, and
Redis is told the local count (it keeps the smaller), so neither side starts a key on a fresh bucket
when the backend changes: a key never gets more than its limit around an outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("connectgraph.ratelimit")


@dataclass(slots=True)  # not frozen: one is made per request, and a frozen dataclass is slower to make
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the bucket is full again
    retry_after_s: int  # seconds until one request is allowed (0 when allowed)
    backend: str = "memory"  # where the bucket was kept: memory (this process) or redis

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s)
        return out


class Limiter(Protocol):
    async def take(self, key: str, rate_per_minute: int) -> Decision: ...

    def take_now(self, key: str, rate_per_minute: int) -> Decision | None:
        """``take``, when it is decided in this process without awaiting; None when it must be awaited."""
        ...


def _decide(tokens: float, rate_per_minute: int, allowed: bool, backend: str = "memory") -> Decision:
    per_second = rate_per_minute / 60.0
    missing = rate_per_minute - tokens
    return Decision(
        allowed=allowed,
        limit=rate_per_minute,
        remaining=max(int(tokens), 0),
        reset_s=math.ceil(missing / per_second) if missing > 0 else 0,
        retry_after_s=0 if allowed else max(1, math.ceil((1 - tokens) / per_second)),
        backend=backend,
    )


class LocalLimiter:
    """Buckets in this process; full buckets are forgotten when there are many, to bound memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._max = max_buckets

    def tokens(self, key: str, rate_per_minute: int) -> float | None:
        """The tokens the key's bucket holds now (None when it has no bucket here)."""
        known = self._buckets.get(key)
        if known is None:
            return None
        tokens, updated = known
        return min(float(rate_per_minute), tokens + (self._clock() - updated) * rate_per_minute / 60.0)

    def set(self, key: str, tokens: float) -> None:
        """Mirror a bucket kept elsewhere (Redis), so that a fallback continues from it."""
        self._buckets[key] = (tokens, self._clock())

    async def take(self, key: str, rate_per_minute: int) -> Decision:
        return self.take_now(key, rate_per_minute)

    def take_now(self, key: str, rate_per_minute: int) -> Decision:
        """``take`` without a coroutine: the bucket is in this process, nothing is awaited."""
        now = self._clock()
        tokens, updated = self._buckets.get(key, (float(rate_per_minute), now))
        tokens = min(float(rate_per_minute), tokens + (now - updated) * rate_per_minute / 60.0)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max:
            self._forget_full(now)
        return _decide(tokens, rate_per_minute, allowed)

    def _forget_full(self, now: float) -> None:
        # Any bucket refills completely within a minute (capacity = rate, refill = rate per 60 s),
        # so one untouched for longer is full: forgetting it changes no decision.
        for key, (_, updated) in list(self._buckets.items()):
            if now - updated > 60.0:
                del self._buckets[key]


# KEYS[1] bucket; ARGV: capacity, refill per second, now (seconds, float), the caller's own count of the
# bucket (-1: none). Returns {allowed, tokens*1000}.
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local known = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * refill)
if known >= 0 then
  tokens = math.min(tokens, known)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / refill) + 60)
return {allowed, math.floor(tokens * 1000)}
"""


class RedisLimiter:
    """Buckets shared through Redis, with the local buckets as the fallback when Redis fails."""

    def __init__(
        self,
        client: Any,
        *,
        fallback: LocalLimiter | None = None,
        retry_after_s: float = 5.0,
        on_state: Callable[[bool], None] | None = None,
        prefix: str = "connectgraph:ratelimit:",
        probe_after_s: float = 5.0,
    ) -> None:
        self._client = client
        self._script = client.register_script(_TOKEN_BUCKET)
        self._fallback = fallback or LocalLimiter()
        self._retry_after_s = retry_after_s
        self._retry_at = 0.0
        self._heard_at = float("-inf")
        self._probe_after_s = probe_after_s
        self._on_state = on_state
        self._prefix = prefix
        self.up: bool | None = None  # None until Redis has answered or failed once

    @property
    def degraded(self) -> bool:
        """True while limits are kept in this process because Redis failed."""
        return self.up is False

    def take_now(self, key: str, rate_per_minute: int) -> Decision | None:
        """The local buckets' decision while Redis is down and not yet to be tried again, else None."""
        if self.up is False and time.monotonic() < self._retry_at:
            return self._fallback.take_now(key, rate_per_minute)
        return None

    async def take(self, key: str, rate_per_minute: int) -> Decision:
        decided = self.take_now(key, rate_per_minute)  # Redis down and not yet due a retry: local buckets
        if decided is not None:
            return decided
        known = self._fallback.tokens(key, rate_per_minute)
        try:
            allowed, milli_tokens = await self._script(
                keys=[self._prefix + key],
                args=[rate_per_minute, rate_per_minute / 60.0, time.time(), -1 if known is None else known],
            )
        except Exception as exc:  # any Redis failure: keep serving on local buckets
            self._down(exc)
            return await self._fallback.take(key, rate_per_minute)
        self._answered()
        tokens = int(milli_tokens) / 1000.0
        self._fallback.set(key, tokens)
        return _decide(tokens, rate_per_minute, bool(allowed), "redis")

    async def probe(self) -> bool | None:
        """Whether Redis answers, asking it (PING) when nothing was heard from it lately: /metrics calls
        this, so that the backend's state is true even when no request has needed a bucket."""
        if time.monotonic() - self._heard_at >= self._probe_after_s:
            try:
                await self._client.ping()
            except Exception as exc:
                self._down(exc)
            else:
                self._answered()
        return self.up

    def _down(self, exc: Exception) -> None:
        self._heard_at = time.monotonic()
        self._retry_at = self._heard_at + self._retry_after_s
        if self.up is not False:
            self.up = False
            log.warning("redis rate limiter unavailable, using in-process limits: %s", exc)
            if self._on_state is not None:
                self._on_state(False)

    def _answered(self) -> None:
        self._heard_at = time.monotonic()
        if self.up is not True:
            if self.up is False:
                log.warning("redis rate limiter answers again; limits are shared again")
            self.up = True
            if self._on_state is not None:
                self._on_state(True)

    async def close(self) -> None:
        await self._client.aclose()


def redis_limiter(url: str, on_state: Callable[[bool], None] | None = None) -> RedisLimiter:
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return RedisLimiter(client, on_state=on_state)
