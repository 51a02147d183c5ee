"""Liveness and readiness: ``/healthz`` says the process answers, ``/readyz`` that it can serve.

Ready means: not shutting down, the primary database (and the read replica, when configured) answers
``SELECT true`` within ``READINESS_TIMEOUT_S``, and the database is at the Alembic head this build
expects. The LISTEN connection for subscriptions is reported but never makes the instance unready:
queries are served without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.db.client import Database
from service.errors import AppError
from service.observability.middleware import Lifecycle
from service.repositories import operations


def expected_heads(script_location: Path | None = None) -> frozenset[str] | None:
    """The head revision(s) of the Alembic scripts shipped with this build, None when they are absent."""
    from alembic.script import ScriptDirectory

    candidates = [script_location] if script_location else _script_locations()
    for candidate in candidates:
        if candidate is not None and (candidate / "env.py").is_file():
            return frozenset(ScriptDirectory(str(candidate)).get_heads())
    return None


def _script_locations() -> list[Path | None]:
    # An editable install keeps alembic/ next to the packages; the Docker image has it in the cwd.
    return [Path(__file__).resolve().parent.parent / "alembic", Path.cwd() / "alembic"]


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "unavailable", "checks": self.checks}


class Health:
    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        databases: Callable[[], dict[str, Database]],
        heads: frozenset[str] | None,
        timeout_s: float,
        listener: Callable[[], bool | None] = lambda: None,
    ) -> None:
        self.lifecycle = lifecycle
        self.databases = databases
        self.heads = heads
        self.timeout_s = timeout_s
        self.listener = listener

    async def readiness(self) -> Readiness:
        result = Readiness(ready=True)
        if self.lifecycle.draining:
            result.ready = False
            result.checks["lifecycle"] = {"ok": False, "error": "shutting down"}
        databases = self.databases()
        if not databases:
            result.ready = False
            result.checks["database"] = {"ok": False, "error": "not started"}
        for name, db in databases.items():
            check = await self._check(self._database(db, migrations=name == "primary"))
            result.checks["database" if name == "primary" else f"database_{name}"] = check
            result.ready = result.ready and check["ok"]
        listening = self.listener()
        if listening is not None:
            result.checks["data_listener"] = {"ok": listening, "affects_readiness": False}
        return result

    async def _check(self, probe: Any) -> dict[str, Any]:
        try:
            return dict(await asyncio.wait_for(probe, timeout=self.timeout_s))
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {self.timeout_s:g}s"}
        except AppError as exc:
            return {"ok": False, "error": exc.message, "code": exc.code}
        except Exception as exc:  # a probe reports what broke; it never fails itself
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    async def _database(self, db: Database, *, migrations: bool) -> dict[str, Any]:
        started = asyncio.get_running_loop().time()
        await operations.ping(db)
        check: dict[str, Any] = {"ok": True}
        if migrations:
            current = await operations.migration_revisions(db)
            check["revision"] = sorted(current)
            if self.heads is None:
                check.update(ok=False, error="the Alembic scripts of this build were not found")
            elif current != self.heads:
                check.update(
                    ok=False,
                    error="database is not at the migration head (run `connectgraph migrate`)",
                    expected=sorted(self.heads),
                )
        check["latency_ms"] = round((asyncio.get_running_loop().time() - started) * 1000, 1)
        return check
