"""Data-landed events: what the loader announces after each successful load, fanned out in process.

The loader sends ``NOTIFY connectgraph_data, '{"dataset": ..., "tradingDay": ..., "dataVersion": ...}'``
in its load transaction (so the notice goes out only if the load commits); each instance holds one
LISTEN connection (``service/db/listen.py``) and hands every event to ``DataEvents``, which gives each
subscriber a bounded queue of its own. A subscriber that falls ``queue_size`` events behind loses the
oldest (counted in ``connectgraph_subscription_events_dropped_total``) rather than holding memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.ingest.datasets import Dataset
from service.observability.logging import get_logger
from service.observability.metrics import EVENTS_DROPPED, SUBSCRIPTIONS

CHANNEL = "connectgraph_data"
log = get_logger("connectgraph.events")


@dataclass(frozen=True, slots=True)
class DataLanded:
    dataset: Dataset
    trading_day: date | None
    data_version: int | None
    load_id: int | None = None
    written: int = 0  # the load's rows in ``load_events`` (what alerts announce)


def parse_payload(payload: str) -> DataLanded | None:
    """The event in a NOTIFY payload, or None (logged) when it is not one."""
    try:
        body: Any = json.loads(payload)
        dataset = Dataset.named(body["dataset"]) if isinstance(body["dataset"], str) else None
        if dataset is None:
            raise ValueError(f"dataset must be one of {', '.join(Dataset)}")
        day = body.get("tradingDay")
        version = body.get("dataVersion")
        load_id = body.get("loadId")
        written = body.get("written", 0)
        for name, value in (("dataVersion", version), ("loadId", load_id), ("written", written)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer")
        return DataLanded(
            dataset=dataset,
            trading_day=None if day is None else date.fromisoformat(day),
            data_version=version,
            load_id=load_id,
            written=written or 0,
        )
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("data_event_ignored", channel=CHANNEL, payload=payload[:200], error=str(exc))
        return None


class DataEvents:
    """In-process fan-out: ``publish`` never blocks; each ``subscribe()`` iterator has its own queue."""

    def __init__(self, queue_size: int = 64) -> None:
        self.queue_size = queue_size
        self._queues: set[asyncio.Queue[DataLanded | None]] = set()
        self._closed = False

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: DataLanded) -> None:
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
                EVENTS_DROPPED.inc()
            queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[DataLanded]:
        """Every event published from now on, until ``close()`` (shutdown) or the consumer stops."""
        if self._closed:
            return
        queue: asyncio.Queue[DataLanded | None] = asyncio.Queue(maxsize=self.queue_size)
        self._queues.add(queue)
        SUBSCRIPTIONS.inc()
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.discard(queue)
            SUBSCRIPTIONS.dec()

    def close(self) -> None:
        """End every subscription (their streams complete normally)."""
        self._closed = True
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
