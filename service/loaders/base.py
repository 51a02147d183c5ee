"""A small DataLoader: keys asked for in the same event-loop tick are fetched by one batch call.

Each loader is created per request (no cross-request cache) and returns results in key order, with
``None`` (or an empty list for to-many relationships) for keys that match nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_DISPATCH_TICKS = 4

BatchFn = Callable[[Sequence[K]], Awaitable[Sequence[V]]]


class DataLoader(Generic[K, V]):
    def __init__(self, batch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        self._batch = batch
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._queue: list[K] = []
        self._tasks: set[asyncio.Task[None]] = set()  # keep a reference until each batch is done

    def load(self, key: K) -> asyncio.Future[V]:
        future = self._cache.get(key)
        if future is not None:
            return future
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._cache[key] = future
        if not self._queue:
            self._schedule(loop, _DISPATCH_TICKS)
        self._queue.append(key)
        return future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return list(await asyncio.gather(*(self.load(k) for k in keys)))

    def _schedule(self, loop: asyncio.AbstractEventLoop, ticks: int) -> None:
        # Wait a few loop iterations, not one: sibling resolvers reach their ``load`` through chains
        # of awaits of different lengths, and one tick would split their keys into several batches.
        if ticks <= 1:
            loop.call_soon(self._dispatch)
        else:
            loop.call_soon(self._schedule, loop, ticks - 1)

    def _dispatch(self) -> None:
        keys, self._queue = self._queue, []
        task = asyncio.ensure_future(self._run(keys))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, keys: list[K]) -> None:
        try:
            values = await self._batch(keys)
            if len(values) != len(keys):
                raise RuntimeError(f"batch returned {len(values)} values for {len(keys)} keys")
        except BaseException as exc:  # every waiting resolver must hear of the failure
            for key in keys:
                fut = self._cache.pop(key)
                if not fut.done():
                    fut.set_exception(exc)
            return
        for key, value in zip(keys, values, strict=True):
            fut = self._cache[key]
            if not fut.done():
                fut.set_result(value)
