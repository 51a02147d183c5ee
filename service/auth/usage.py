"""Per-key usage (requests, rejected, last used), counted in memory and written in batches.

Counting per request would cost a write per request; instead the counters are flushed with one
statement every few seconds (and at shutdown), so admins see usage at most a few seconds late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from service.db.client import Database
from service.repositories import api_keys

log = logging.getLogger("connectgraph.usage")


@dataclass
class _Counts:
    requests: int = 0
    rejected: int = 0
    last_used: datetime | None = None


class UsageRecorder:
    def __init__(self) -> None:
        self._counts: dict[int, _Counts] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, key_id: int | None, *, rejected: bool) -> None:
        if key_id is None:
            return
        counts = self._counts.setdefault(key_id, _Counts())
        counts.requests += 1
        counts.rejected += int(rejected)
        counts.last_used = datetime.now(UTC)

    async def flush(self, db: Database) -> None:
        pending, self._counts = self._counts, {}
        if not pending:
            return
        ids = list(pending)
        try:
            await api_keys.record_usage(
                db,
                ids,
                [pending[i].requests for i in ids],
                [pending[i].rejected for i in ids],
                [pending[i].last_used or datetime.now(UTC) for i in ids],
            )
        except Exception:  # keep the counts for the next flush rather than lose them
            for key_id, counts in pending.items():
                merged = self._counts.setdefault(key_id, _Counts())
                merged.requests += counts.requests
                merged.rejected += counts.rejected
                merged.last_used = max(filter(None, (merged.last_used, counts.last_used)), default=None)
            log.warning("could not write API key usage; will retry", exc_info=True)

    def start(self, db: Database, every_s: float = 5.0) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every_s)
                await self.flush(db)

        if self._task is None:
            self._task = asyncio.create_task(loop())

    async def stop(self, db: Database) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush(db)
