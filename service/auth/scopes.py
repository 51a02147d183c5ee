"""The scopes a key can hold, and what each opens."""

from __future__ import annotations

READ_REFERENCE = "read:reference"  # indices, constituents, ETFs, managers, licences, eligibility
READ_FLOWS = "read:flows"  # daily flows, ETF statistics, index levels, analytics
ADMIN = "admin"  # keys and usage

ALL = (READ_REFERENCE, READ_FLOWS, ADMIN)


def parse(values: str | list[str]) -> list[str]:
    """Scopes from ``read:reference,read:flows`` or a list; unknown scopes are refused."""
    items = values.split(",") if isinstance(values, str) else values
    scopes = sorted({item.strip() for item in items if item.strip()})
    unknown = [s for s in scopes if s not in ALL]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(ALL)}")
    return scopes
