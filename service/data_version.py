"""The data version held in memory, moved by PostgreSQL's announcements instead of read per request.

Answers are named by the data version (GET ETags, the answer cache). Reading it costs a database round
trip per request, more than the rest of a cached answer. Every change of ``data_version`` sends
``NOTIFY connectgraph_version, '<version>'`` (a trigger, migration 0014) and each instance LISTENs on its
one LISTEN connection (``service/db/listen.py``), so it knows the version the moment a change commits.

The memory is trusted only while that connection is up (``live``): after every (re)connection it is
forgotten, since changes may have been missed, and the next request reads the version once. While the
connection is down every request reads it, as before. With a read replica the version is always read
where the answer is computed (the replica may lag the primary's announcement): ``live`` is never true.
"""

from __future__ import annotations

from collections.abc import Callable

from service.db.client import Database
from service.observability.logging import get_logger
from service.repositories import loads

VERSION_CHANNEL = "connectgraph_version"
log = get_logger("connectgraph.data_version")


class DataVersion:
    def __init__(self, live: Callable[[], bool] = lambda: False) -> None:
        self.live = live
        self._known: int | None = None
        self.reads = 0  # versions read from the database (tests and benchmarks)

    def known(self) -> int | None:
        """The data version from memory while announcements are heard, else None (``current`` reads it)."""
        known = self._known
        return known if known is not None and self.live() else None

    async def current(self, db: Database) -> int:
        """The data version: from memory while announcements are heard, else read from ``db``."""
        known = self.known()
        if known is not None:
            return known
        self.reads += 1
        version = await loads.data_version(db)
        if self.live():
            self._advance(version)
        return version

    def heard(self, payload: str) -> None:
        """A ``connectgraph_version`` notification."""
        try:
            version = int(payload)
        except ValueError:
            log.warning("data_version_ignored", payload=payload[:40])
            return
        self._advance(version)

    def forget(self) -> None:
        """On every (re)connection of the LISTEN connection: what happened meanwhile is unknown."""
        self._known = None

    def _advance(self, version: int) -> None:
        # Versions only grow; a late notice never moves it back.
        if self._known is None or version > self._known:
            self._known = version
