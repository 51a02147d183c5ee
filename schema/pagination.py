"""Relay connections: cursors, page windows from first/after/last/before, and the generic types."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from service.arguments import check_page
from service.errors import BadInput
from service.repositories.base import Page, PageRequest

T = TypeVar("T")
R = TypeVar("R")

_PREFIX = "offset:"


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"Invalid cursor {cursor!r}", argument="cursor") from None
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise BadInput(f"Invalid cursor {cursor!r}", argument="cursor")
    return int(text[len(_PREFIX) :])


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item; pass to after/before.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, with the list's total size.")
class Connection(Generic[T]):
    total_count: int = strawberry.field(description="Number of items in the whole list.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")
    edges: list[Edge[T]] = strawberry.field(description="The items of this page with cursors.")

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


class Window:
    """Turns Relay arguments into an offset window; ``last`` without ``before`` needs the total."""

    def __init__(
        self,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        *,
        default: int,
        maximum: int,
    ) -> None:
        check_page("first", first, maximum)
        check_page("last", last, maximum)
        if first is not None and last is not None:
            raise BadInput("Pass `first` or `last`, not both", argument="last")
        self.start = decode_cursor(after) + 1 if after is not None else 0
        self.stop = decode_cursor(before) if before is not None else None
        self.first = first if first is not None or last is not None else default
        self.last = last

    @property
    def needs_total_first(self) -> bool:
        return self.last is not None and self.stop is None

    def request(self, total: int | None = None) -> PageRequest:
        start, stop = self.start, self.stop
        if stop is None and total is not None:
            stop = total
        if self.last is not None:
            assert stop is not None
            start = max(start, stop - self.last)
        limit = (stop - start) if stop is not None else None
        if self.first is not None:
            limit = self.first if limit is None else min(limit, self.first)
        return PageRequest(limit=max(limit or 0, 0), offset=start)


def build_connection(page: Page[R], request: PageRequest, node: Callable[[R], T]) -> Connection[T]:
    edges = [
        Edge(cursor=encode_cursor(request.offset + i), node=node(row)) for i, row in enumerate(page.rows)
    ]
    return Connection(
        total_count=page.total,
        page_info=PageInfo(
            has_next_page=request.offset + len(edges) < page.total,
            has_previous_page=request.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        edges=edges,
    )


async def connection(
    window: Window,
    fetch: Callable[[PageRequest], Awaitable[Page[R]]],
    node: Callable[[R], T],
) -> Connection[T]:
    """Fetch the page a window asks for (``last`` without ``before`` first learns the total)."""
    total = None
    if window.needs_total_first:
        total = (await fetch(PageRequest(limit=1, offset=0))).total
    request = window.request(total)
    page = await fetch(request)
    return build_connection(page, request, node)
