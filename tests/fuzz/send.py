"""Send fuzz cases to a running server and keep every answer that breaks a rule (``cases.verdict``)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.fuzz.cases import Case, verdict

TIMEOUT_S = 5.0
HEALTH_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Finding:
    case: Case
    fault: str


@dataclass
class Report:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    slowest_s: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    # Set when the server stopped answering /healthz after a request timed out: the rest was not sent.
    stopped_answering: Case | None = None

    def summary(self, limit: int = 12) -> str:
        lines = [f"{self.sent} requests, statuses {dict(sorted(self.statuses.items()))}, "
                 f"slowest {self.slowest_s:.2f} s, {len(self.findings)} findings"]  # fmt: skip
        if self.stopped_answering is not None:
            lines.append(f"  the server stopped answering after {self.stopped_answering.describe()[:200]}")
        kinds = Counter((f.case.klass, f.fault.split(":")[0]) for f in self.findings)
        lines += [f"  {klass} / {fault}: {n}" for (klass, fault), n in kinds.most_common()]
        seen: set[tuple[str, str]] = set()
        for finding in self.findings:
            kind = (finding.case.klass, finding.case.note)
            if kind in seen or len(seen) >= limit:
                continue
            seen.add(kind)
            lines.append(f"  - {finding.fault[:240]}\n      {finding.case.describe()[:300]}")
        return "\n".join(lines)


async def send(base_url: str, cases: list[Case], *, concurrency: int = 4) -> Report:
    """Every case once, ``concurrency`` at a time; each on the same kept-alive client pool."""
    report = Report()
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_S, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty() and report.stopped_answering is None:
                case = queue.get_nowait()
                status, body, seconds = await _one(client, case)
                report.sent += 1
                if status is not None:
                    report.statuses[status] += 1
                report.slowest_s = max(report.slowest_s, seconds)
                fault = verdict(case, status, body, seconds)
                if fault is not None:
                    report.findings.append(Finding(case, fault))
                if status is None and not await answers(base_url):
                    # A blocked server would make each further request wait out its timeout.
                    report.stopped_answering = case

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return report


async def _one(client: httpx.AsyncClient, case: Case) -> tuple[int | None, bytes, float]:
    url = "/graphql" + (f"?{case.query_string}" if case.query_string else "")
    started = time.perf_counter()
    try:
        response = await client.request(case.method, url, headers=case.headers, content=case.body)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}".encode(), time.perf_counter() - started
    return response.status_code, response.content, time.perf_counter() - started


async def answers(base_url: str) -> bool:
    """Whether /healthz answers promptly (on a connection of its own)."""
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=HEALTH_TIMEOUT_S) as client:
            return (await client.get("/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def answers_a_question(base: str) -> bool:
    """Whether the server answers a real question rightly."""
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            etf = await client.post("/graphql", json={"query": '{ etf(code: "XHKG:02800") { code } }'})
    except httpx.HTTPError:
        return False
    return bool(etf.json() == {"data": {"etf": {"code": "XHKG:02800"}}})
