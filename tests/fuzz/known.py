"""Failures the fuzzer knows of, each with the engineer fixing it (issue 16); a finding that matches one is
expected until its fix lands, any other fails the test. Delete an entry once its fix is on main."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.fuzz.send import Finding


@dataclass(frozen=True)
class Known:
    owner: str
    what: str
    matches: Callable[[Finding], bool]


def _document(finding: Finding) -> str:
    return (finding.case.body or b"").decode("utf-8", "replace") + finding.case.query_string


def _internal(finding: Finding) -> bool:
    return finding.fault.startswith(("INTERNAL_SERVER_ERROR", "5xx"))


KNOWN: list[Known] = []


def owner_of(finding: Finding) -> Known | None:
    return next((known for known in KNOWN if known.matches(finding)), None)


def classify(findings: list[Finding]) -> list[tuple[Finding, Known | None]]:
    """Each finding with the known failure it is, if any. A request that blocks the server also makes the
    requests sent beside it slow or unanswered: those count as the same failure."""
    owned = [(finding, owner_of(finding)) for finding in findings]
    blocking = next((known for _, known in owned if known is not None and "block" in known.what), None)
    if blocking is None:
        return owned
    return [
        (finding, known if known or not finding.fault.startswith(("slow", "no answer")) else blocking)
        for finding, known in owned
    ]
