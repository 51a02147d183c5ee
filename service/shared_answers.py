"""Answers shared by every worker and instance through Redis, with a lock per answer for single flight.

``RedisAnswers`` is the store behind ``schema.answers.AnswerCache`` when ``REDIS_URL`` is set. An answer is
kept under ``{prefix}{data version}:{digest}`` for ``ttl_s``; the worker that computes it first holds
``{prefix}{data version}:{digest}:lock`` (``SET NX PX``, a random token, released by a script that checks
the token), and the others poll until the answer or the end of the lock. Every Redis failure raises
``SharedUnavailable`` and marks the store down for ``retry_after_s``, during which the cache answers from
this process alone: Redis can slow answers down by at most one socket timeout per retry period.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

log = logging.getLogger("connectgraph.answers")

# KEYS[1] the answer, KEYS[2] its lock; ARGV: token, the body ("" when there is none to keep), ttl ms.
# The answer is written and the lock released in one step, and only by the lock's holder, so a waiter
# that sees the lock gone reads the answer in the same poll.
_PUBLISH = """
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
"""
PREFIX = "connectgraph:answer:"
FIRST_POLL_S = 0.002
LONGEST_POLL_S = 0.05


class SharedUnavailable(Exception):
    """Redis did not answer (or is resting after a failure): answer from this process alone."""


class RedisAnswers:
    """``get``, ``claim``, ``wait`` and ``publish`` answers in Redis, by data version and digest."""

    def __init__(
        self,
        client: Any,
        *,
        ttl_s: float,
        lock_s: float,
        retry_after_s: float = 5.0,
        prefix: str = PREFIX,
    ) -> None:
        self._client = client
        self._publish = client.register_script(_PUBLISH)
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.lock_s = lock_s
        self._retry_after_s = retry_after_s
        self._prefix = prefix
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def _key(self, version: int, digest: str) -> str:
        return f"{self._prefix}{version}:{digest}"

    async def get(self, version: int, digest: str) -> bytes | None:
        body: bytes | None = await self._call(self._client.get(self._key(version, digest)))
        return body

    async def claim(self, version: int, digest: str) -> str | None:
        """A token when this process is to compute the answer; None when another already is."""
        token = secrets.token_hex(8)
        lock = self._key(version, digest) + ":lock"
        taken = await self._call(self._client.set(lock, token, nx=True, px=int(self.lock_s * 1000)))
        return token if taken else None

    async def wait(self, version: int, digest: str) -> bytes | None:
        """The answer once its holder publishes it; None when the lock ends without one (the holder
        failed, kept nothing, or ran past the lock): the caller then computes its own."""
        key = self._key(version, digest)
        deadline = time.monotonic() + self.lock_s
        pause = FIRST_POLL_S
        while True:
            body, holder = await self._call(self._client.mget(key, key + ":lock"))
            if body is not None:
                return bytes(body)
            if holder is None or time.monotonic() >= deadline:
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_POLL_S)

    async def publish(self, version: int, digest: str, token: str, body: bytes | None) -> None:
        """Keep ``body`` (when there is one) and release the lock, if this token still holds it."""
        key = self._key(version, digest)
        await self._call(self._publish(keys=[key, key + ":lock"], args=[token, body or b"", self.ttl_ms]))

    async def _call(self, pending: Any) -> Any:
        if self.degraded:
            pending.close()  # the coroutine was built for nothing: close it unawaited, quietly
            raise SharedUnavailable("resting after a failure")
        try:
            return await pending
        except Exception as exc:  # any Redis failure: answer from this process for a while
            self._down_until = time.monotonic() + self._retry_after_s
            log.warning("redis answer cache unavailable, answering from this process: %s", exc)
            raise SharedUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self._client.aclose()


def redis_answers(url: str, *, ttl_s: float, lock_s: float, prefix: str = PREFIX) -> RedisAnswers:
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return RedisAnswers(client, ttl_s=ttl_s, lock_s=lock_s, prefix=prefix)
