"""The answer cache: finished JSON answers to queries, kept in memory by a digest of all they depend on.

The endpoint names an answer by a digest of the data version, the Hong Kong date, the key's scopes, the
document, its variables and its operation name (``GraphQLEndpoint._digest``, which also gives the GET
ETag). Data only changes with a load, and a load moves the data version, so a stored answer is right for
as long as its key is asked for; ``ttl_s`` bounds how long one is kept all the same, in case a change
ever failed to move the version. The cache is an LRU of at most ``entries`` answers of at most
``max_bytes`` each and ``total_bytes`` in all, per process.

Identical misses in flight share one computation (single flight): the first computes, the others wait for
it and get its answer as a hit. When it ends without a storable answer (it raised, was cancelled, had
errors, or was too large), each of those waiting computes its own answer, as if it had come alone: an
answer with errors may name its own request id, and the error may have been transient.

With a ``shared`` store (``service.shared_answers.RedisAnswers``, when ``REDIS_URL`` is set), a miss in this
process asks the store next, so an answer computed by one worker or instance serves the others; and the
single flight spans them: the first to miss claims the answer's lock in Redis and computes, the others
wait for what it publishes. While Redis fails, the cache answers from this process alone, as without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from service.shared_answers import SharedUnavailable

R = TypeVar("R")

# What ``record`` is told, once per event: an answer served from memory (``HIT``, waiting for an identical
# request in flight included), one looked up and not found (``MISS``), and what became of a computed
# answer: kept (``STORE``) or not, having errors or being too large (``SKIP``).
HIT = "hit"
MISS = "miss"
STORE = "store"
SKIP = "skip"
# With a shared store: an answer another worker or instance computed (``SHARED_HIT``, counted instead of
# ``MISS``), and a shared store that failed, so that this process answered alone (``SHARED_ERROR``).
SHARED_HIT = "shared_hit"
SHARED_ERROR = "shared_error"
RESULTS = (HIT, MISS, STORE, SKIP, SHARED_HIT, SHARED_ERROR)


class SharedStore(Protocol):
    """Answers kept for every process (``service.shared_answers.RedisAnswers``); each method raises
    ``SharedUnavailable`` when the store fails."""

    async def get(self, version: int, digest: str) -> bytes | None: ...

    async def claim(self, version: int, digest: str) -> str | None: ...

    async def wait(self, version: int, digest: str) -> bytes | None: ...

    async def publish(self, version: int, digest: str, token: str, body: bytes | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Hit:
    """An answer served from the cache: the JSON body exactly as it was first sent."""

    body: bytes


@dataclass(frozen=True, slots=True)
class _Entry:
    body: bytes
    expires_at: float


class AnswerCache:
    """``await cache.answer(key, version, compute)``: the stored answer, else ``compute()``'s (stored
    when it hands back bytes to keep); ``stored`` then ``missed`` are its two halves. ``entries=0`` turns
    the cache off (``enabled`` is False)."""

    def __init__(
        self,
        *,
        entries: int,
        max_bytes: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        record: Callable[[str], None] = lambda result: None,
        shared: SharedStore | None = None,
        total_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self.total_bytes = total_bytes
        self._bytes = 0
        self.ttl_s = ttl_s
        self.clock = clock
        self.record = record
        self._answers: OrderedDict[str, _Entry] = OrderedDict()
        # key -> the body its computation in flight will share (None: nothing to share).
        self._flights: dict[str, asyncio.Future[bytes | None]] = {}
        self._version: int | None = None
        self.shared = shared

    @property
    def enabled(self) -> bool:
        return self.entries > 0

    async def answer(
        self, key: str, version: int, compute: Callable[[], Awaitable[tuple[R, bytes | None]]]
    ) -> Hit | R:
        """A ``Hit`` for a stored (or shared) answer, else what ``compute()`` returns first.

        ``compute()`` returns its result and the bytes to keep: None when the answer must not be kept.
        """
        stored = self.stored(key, version)
        if stored is not None:
            return Hit(stored)
        return await self.missed(key, version, compute)

    def stored(self, key: str, version: int) -> bytes | None:
        """The answer kept under ``key`` (counted as a hit), else None (nothing counted): the first half
        of ``answer``, without a coroutine, so that a hit costs none."""
        self._forget_older_than(version)
        body = self._get(key)
        if body is not None:
            self.record(HIT)
        return body

    async def missed(
        self, key: str, version: int, compute: Callable[[], Awaitable[tuple[R, bytes | None]]]
    ) -> Hit | R:
        """The second half of ``answer``, once ``stored`` found nothing: an identical request in flight
        shares its answer, else the shared store's, else ``compute()``'s."""
        flight = self._flights.get(key)
        if flight is not None:
            # shield: a waiter that is cancelled (its client went away) must not cancel the shared result.
            shared = await asyncio.shield(flight)
            if shared is not None:
                self.record(HIT)
                return Hit(shared)
            self.record(MISS)
            result, body = await compute()
            self._put(key, body)
            return result
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        kept: bytes | None = None
        try:
            if self.shared is None:
                self.record(MISS)
                result, body = await compute()
                kept = self._put(key, body)
                return result
            answered, kept = await self._shared_answer(self.shared, key, version, compute)
            return answered
        finally:
            # Raised or cancelled too: those waiting are released (with nothing to share, they compute).
            del self._flights[key]
            flight.set_result(kept)

    async def _shared_answer(
        self,
        shared: SharedStore,
        key: str,
        version: int,
        compute: Callable[[], Awaitable[tuple[R, bytes | None]]],
    ) -> tuple[Hit | R, bytes | None]:
        """Another process's answer, else this one's, computed by one process at a time; returns it and
        the bytes kept here."""
        token: str | None = None
        try:
            body = await shared.get(version, key)
            if body is None:
                token = await shared.claim(version, key)
                if token is None:  # another process computes it: wait for what it publishes
                    body = await shared.wait(version, key)
            if body is not None:
                self.record(SHARED_HIT)
                return Hit(body), self._keep(key, body)
        except SharedUnavailable:
            self.record(SHARED_ERROR)
        self.record(MISS)
        kept: bytes | None = None
        try:
            result, computed = await compute()
            kept = self._put(key, computed)
            return result, kept
        finally:
            if token is not None:  # raised or cancelled too: release the lock, so the others go on
                with contextlib.suppress(SharedUnavailable):
                    await shared.publish(version, key, token, kept)

    def _forget_older_than(self, version: int) -> None:
        """Once a newer data version is seen, every answer kept so far is unreachable: free them now."""
        if self._version is None or version > self._version:
            if self._version is not None:
                self._answers.clear()
                self._bytes = 0
            self._version = version

    def _get(self, key: str) -> bytes | None:
        entry = self._answers.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self.clock():
            del self._answers[key]
            self._bytes -= len(entry.body)
            return None
        self._answers.move_to_end(key)
        return entry.body

    def _put(self, key: str, body: bytes | None) -> bytes | None:
        """Keep ``body`` (evicting the least recently used) when it may be kept; returns what was kept."""
        if body is None or len(body) > self.max_bytes:
            self.record(SKIP)
            return None
        self.record(STORE)
        return self._keep(key, body)

    def _keep(self, key: str, body: bytes) -> bytes:
        old = self._answers.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._answers[key] = _Entry(body, self.clock() + self.ttl_s)
        self._bytes += len(body)
        while len(self._answers) > self.entries or self._bytes > self.total_bytes:
            _, dropped = self._answers.popitem(last=False)
            self._bytes -= len(dropped.body)
        return body
