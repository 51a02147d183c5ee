"""One LISTEN connection per process for data-landed events, reconnecting by itself.

It is a connection of its own, outside the pool (a pooled connection would lose its LISTEN when
released). When the connection drops (database restart, failover) it reconnects with capped backoff;
a NOTIFY sent while it was away is not replayed, so subscribers should re-read ``dataVersion`` when
they reconnect. A keepalive query notices half-open connections that no error would reveal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg

from service.db.pool import asyncpg_dsn
from service.events import CHANNEL, DataLanded, parse_payload
from service.observability.logging import get_logger
from service.observability.metrics import LISTENER_UP

log = get_logger("connectgraph.listen")


class DataListener:
    def __init__(
        self,
        url: str,
        on_event: Callable[[DataLanded], None],
        *,
        connect_timeout_s: float = 5.0,
        keepalive_s: float = 15.0,
        max_backoff_s: float = 30.0,
        channel: str = CHANNEL,
        also: dict[str, Callable[[str], None]] | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.dsn = asyncpg_dsn(url)
        self.on_event = on_event
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.max_backoff_s = max_backoff_s
        self.channel = channel
        # More channels on the same connection (e.g. API key changes), each with its handler, and a
        # hook run on every (re)connection: whatever was missed while disconnected is unknown.
        self.also = dict(also or {})
        self.on_connected = on_connected
        self.connected = False
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection[Any] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="connectgraph-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        event = parse_payload(str(payload))
        if event is not None:
            log.info(
                "data_landed",
                dataset=event.dataset,
                trading_day=str(event.trading_day) if event.trading_day else None,
                data_version=event.data_version,
            )
            self.on_event(event)

    async def _run(self) -> None:
        backoff = 0.5
        reported_down = False
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout_s)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not reported_down:
                    log.warning(
                        "listen_connect_failed", channel=self.channel, error=str(exc), retry_s=backoff
                    )
                    reported_down = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            self._conn = conn
            try:
                await self._listen(conn)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("listen_connection_lost", channel=self.channel, error=str(exc))
            finally:
                self._set_connected(False)
                self._conn = None
                conn.terminate()
            backoff = 0.5
            reported_down = True

    async def _listen(self, conn: asyncpg.Connection[Any]) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self.channel, self._notified)
        for channel, handler in self.also.items():
            await conn.add_listener(channel, _plain(handler))
        if self.on_connected is not None:
            self.on_connected()
        self._set_connected(True)
        log.info("listen_connected", channel=self.channel)
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), timeout=self.keepalive_s)
            except TimeoutError:
                await conn.execute("SELECT 1", timeout=self.connect_timeout_s)
        log.warning("listen_connection_lost", channel=self.channel, error="connection closed")

    def _set_connected(self, value: bool) -> None:
        self.connected = value
        LISTENER_UP.set(1 if value else 0)


def _plain(handler: Callable[[str], None]) -> Callable[[Any, int, str, object], None]:
    def notified(conn: Any, pid: int, channel: str, payload: object) -> None:
        handler(str(payload))

    return notified
