"""Argument checks shared by the resolvers and the compiled path, so both refuse the same input alike."""

from __future__ import annotations

from datetime import date

from service.errors import BadInput


def check_page(name: str, value: int | None, maximum: int) -> None:
    """A page size (`first`, `last`, ...): not negative, at most ``maximum``."""
    if value is None:
        return
    if value < 0:
        raise BadInput(f"`{name}` must not be negative (got {value})", argument=name)
    if value > maximum:
        raise BadInput(f"`{name}` is {value}; the largest page is {maximum}", argument=name, maximum=maximum)


def check_positive(name: str, value: int | None, maximum: int) -> None:
    """A count that must be at least 1 when given (`lastTradingDays`, a ranking's `first`)."""
    if value is not None and value <= 0:
        raise BadInput(f"`{name}` must be positive (got {value})", argument=name)
    check_page(name, value, maximum)


def check_range(start: date | None, end: date | None) -> None:
    """A `from`/`to` window that does not end before it starts."""
    if start is not None and end is not None and start > end:
        raise BadInput(f"`from` ({start}) is after `to` ({end})", argument="from")
