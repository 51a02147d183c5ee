"""ETF Connect eligibility from HKEX change files and full lists: the periods each change closes and opens.

A change file says, per line, that from an effective date a code is added (eligible), removed, moved to
the special list (sell-only: buy orders suspended) or back. Changes apply per ETF in date order to the
periods already loaded; the result is planned here, in Python (files hold hundreds of lines), and
written set-based by ``service/repositories/ingest.py``. A change that matches the state already
loaded is unchanged, so reloading a file changes nothing. A change older than the latest period of
its ETF on that link is refused: history is appended, not rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from service.repositories.ingest import PeriodRow

Outcome = Literal["inserted", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    direction: str
    channel: str
    mic: str  # where the listed codes trade


LINKS: Mapping[str, Link] = {
    link.name: link
    for link in (
        Link("sse-southbound", "SOUTHBOUND", "SHANGHAI", "XHKG"),
        Link("szse-southbound", "SOUTHBOUND", "SHENZHEN", "XHKG"),
        Link("sse-northbound", "NORTHBOUND", "SHANGHAI", "XSHG"),
        Link("szse-northbound", "NORTHBOUND", "SHENZHEN", "XSHE"),
    )
}


def link_from_name(file_name: str) -> Link | None:
    """The link a file is for, from a token in its name: ``...sse-southbound...`` (``_`` works too)."""
    flat = re.sub(r"[^a-z]+", "-", file_name.lower())
    found = [link for name, link in LINKS.items() if f"-{name}-" in f"-{flat}-"]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class Change:
    line: int
    etf_id: int
    day: date
    status: str | None  # ELIGIBLE, SELL_ONLY, or None for a removal
    reason: str


@dataclass
class _Period:
    id: int | None
    status: str
    effective_from: date
    effective_to: date | None
    reason: str | None
    original: tuple[str, date | None] | None = None  # (status, effective_to) as loaded
    deleted: bool = False

    def contains(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass
class Plan:
    deleted: list[int] = field(default_factory=list)
    updated: list[tuple[int, date | None, str]] = field(default_factory=list)
    inserted: list[tuple[int, str, date, date | None, str | None]] = field(default_factory=list)
    outcomes: list[tuple[int, Outcome]] = field(
        default_factory=list
    )  # (line, outcome); line 0: a list's removal
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def changed(self) -> bool:
        return bool(self.deleted or self.updated or self.inserted)


def plan(periods: Iterable[PeriodRow], changes: Sequence[Change]) -> Plan:
    """Apply ``changes`` (any order; applied by day, then line) to the loaded ``periods``."""
    by_etf: dict[int, list[_Period]] = {}
    for p in periods:
        by_etf.setdefault(p.etf_id, []).append(
            _Period(p.id, p.status, p.effective_from, p.effective_to, p.reason, (p.status, p.effective_to))
        )
    result = Plan()
    for change in sorted(changes, key=lambda c: (c.day, c.line)):
        history = [p for p in by_etf.setdefault(change.etf_id, []) if not p.deleted]
        current = next((p for p in history if p.contains(change.day)), None)
        if (current.status if current else None) == change.status:
            result.outcomes.append((change.line, "unchanged"))
            continue
        later = [p.effective_from for p in history if p.effective_from > change.day]
        if later:
            result.errors.append(
                (change.line, f"a later change (effective {max(later)}) is already loaded for this ETF")
            )
            continue
        outcome: Outcome = "inserted" if current is None else "updated"
        # A status change keeps the end already loaded; an addition is open-ended.
        ends = current.effective_to if current is not None else None
        opens = change.status
        if current is not None and current.effective_from == change.day:
            # The period began that very day: it takes the new status, or goes.
            if change.status is None:
                current.deleted = True
            else:
                current.status, current.reason = change.status, change.reason
            opens = None
        elif current is not None:
            current.effective_to = change.day
        if opens is not None:
            by_etf[change.etf_id].append(_Period(None, opens, change.day, ends, change.reason))
        result.outcomes.append((change.line, outcome))

    for etf_id, planned in by_etf.items():
        for q in planned:
            if q.id is None:
                if not q.deleted:
                    result.inserted.append((etf_id, q.status, q.effective_from, q.effective_to, q.reason))
            elif q.deleted:
                result.deleted.append(q.id)
            elif q.original != (q.status, q.effective_to):
                result.updated.append((q.id, q.effective_to, q.status))
    return result


def list_changes(
    periods: Iterable[PeriodRow], listed: Mapping[int, int], day: date, reason: str
) -> list[Change]:
    """A full list as of ``day`` as changes: listed ETFs become eligible; eligible ones not listed leave.

    ``listed`` maps ETF id to its line. ETFs on the special (sell-only) list are not on the main list
    and are left as they are.
    """
    changes = [Change(line, etf_id, day, "ELIGIBLE", reason) for etf_id, line in listed.items()]
    for p in periods:
        open_on_day = p.effective_from <= day and (p.effective_to is None or day < p.effective_to)
        if p.etf_id not in listed and p.status == "ELIGIBLE" and open_on_day:
            changes.append(Change(0, p.etf_id, day, None, reason))
    return changes
