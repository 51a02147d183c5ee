"""A least-recently-used map bounded by the bytes its entries are charged, not by their number.

Documents sent by clients differ in size by four orders of magnitude: a cache of "1,024 documents" can
hold a few kilobytes or a gigabyte. ``ByteLRU`` charges every entry what it costs to keep (the caller
says how much) and drops the least recently used until the total fits ``max_bytes``; an entry larger
than a quarter of the budget is not kept at all, so one request cannot flush everything else.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, charge: int) -> bool:
        """Keep ``value`` charged ``charge`` bytes; False when it is too large to keep."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        if charge > self.max_bytes // 4:
            return False
        self._entries[key] = (value, charge)
        self.bytes += charge
        while self.bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped
        return True

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
