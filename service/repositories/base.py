"""Shared pieces of the repositories: record-to-row mapping, pages and whitelisted orderings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Generic, TypeVar

from service.db.client import Record

R = TypeVar("R")


def to_rows(cls: type[R], records: Iterable[Record]) -> list[R]:
    """Map records onto a row dataclass by field name (extra columns, like window totals, are dropped)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return [cls(**{n: r[n] for n in names}) for r in records]


def to_row(cls: type[R], record: Record | None) -> R | None:
    return None if record is None else to_rows(cls, [record])[0]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A window of an ordered result: ``limit`` rows after skipping ``offset``."""

    limit: int
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    rows: list[R]
    total: int


class SortDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


def order_sql(columns: Mapping[str, str], field: str, direction: SortDirection, tiebreak: str) -> str:
    """ORDER BY from a whitelist: ``field`` picks a fixed SQL expression; never user text in SQL."""
    expr = columns[field]
    return f"ORDER BY {expr} {direction.value} NULLS LAST, {tiebreak} {direction.value}"


async def fetch_page(db: Any, cls: type[R], sql: str, *args: Any, page: PageRequest) -> Page[R]:
    """Run a statement whose last two parameters are LIMIT and OFFSET and whose rows carry ``total``.

    The statement is expected to compute ``count(*) OVER ()`` as ``total``; a page past the end has no
    rows to carry it, so only then is the count asked for separately.
    """
    records = await db.fetch(sql, *args, page.limit, page.offset)
    if records:
        return Page(to_rows(cls, records), int(records[0]["total"]))
    if page.offset == 0:
        return Page([], 0)
    records = await db.fetch(sql, *args, 1, 0)
    return Page([], int(records[0]["total"]) if records else 0)


def numbered(template: str, names: Sequence[str]) -> str:
    """A statement template with ``{name}`` placeholders, numbered ``$1..$n`` in ``names`` order.

    The same template serves the repository (positional parameters) and the compiled path (which
    numbers the placeholders within a larger statement).
    """
    sql = template
    for i, name in enumerate(names, start=1):
        sql = sql.replace("{" + name + "}", f"${i}")
    return sql
