"""Helpers that turn a batch of keys into one statement per distinct set of arguments, in key order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
A = TypeVar("A", bound=Hashable)
R = TypeVar("R")


def one_each(keys: Sequence[K], rows: Iterable[R], key_of: Callable[[R], K]) -> list[R | None]:
    """To-one: the row for each key, or None."""
    found = {key_of(r): r for r in rows}
    return [found.get(k) for k in keys]


def many_each(keys: Sequence[K], rows: Iterable[R], key_of: Callable[[R], K]) -> list[list[R]]:
    """To-many: the rows of each key, in the order the statement returned them."""
    found: dict[K, list[R]] = defaultdict(list)
    for r in rows:
        found[key_of(r)].append(r)
    return [found.get(k, []) for k in keys]


async def per_argument_set(
    keys: Sequence[tuple[int, A]],
    fetch: Callable[[list[int], A], Awaitable[list[R]]],
    id_of: Callable[[R], int],
) -> list[list[R]]:
    """Keys are (parent id, arguments): one fetch per distinct arguments, with all its parent ids."""
    groups: dict[A, list[int]] = defaultdict(list)
    for parent_id, args in keys:
        groups[args].append(parent_id)
    by_key: dict[tuple[int, Any], list[R]] = {}
    for args, ids in groups.items():
        rows = await fetch(sorted(set(ids)), args)
        for parent_id, bucket in zip(ids, many_each(ids, rows, id_of), strict=True):
            by_key[(parent_id, args)] = bucket
    return [by_key[k] for k in keys]
