"""Database failures turned into ``service.errors.Unavailable`` once, at the driver boundary.

A request that cannot get an answer from PostgreSQL in time fails fast with ``SERVICE_UNAVAILABLE``
and a ``reason`` the client and the metrics can tell apart:

    connection          the server is down, restarting, refusing connections, or the link broke
    timeout             no pool connection came free (or could be opened) within ``DB_ACQUIRE_TIMEOUT_S``,
                        or the server went silent past the client-side command timeout
    statement_timeout   the statement ran past ``DB_STATEMENT_TIMEOUT_MS`` and PostgreSQL cancelled it
"""

from __future__ import annotations

from types import TracebackType

import asyncpg

from service.errors import Unavailable
from service.observability.logging import get_logger
from service.observability.metrics import record_unavailable

log = get_logger("connectgraph.db")

CONNECTION = "connection"
TIMEOUT = "timeout"
STATEMENT_TIMEOUT = "statement_timeout"

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, no route, the Unix socket gone
    asyncpg.PostgresConnectionError,  # the connection died mid-statement, or could not be made
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


class PoolHealth:
    """Logs the moments a pool loses and regains its database, not every failed statement."""

    def __init__(self, pool: str) -> None:
        self.pool = pool
        self.failing = False

    def failed(self, reason: str, error: BaseException) -> None:
        record_unavailable(self.pool, reason)
        if reason in (CONNECTION, TIMEOUT) and not self.failing:
            self.failing = True
            log.warning("database_unavailable", pool=self.pool, error=_describe(error))

    def succeeded(self) -> None:
        if self.failing:
            self.failing = False
            log.info("database_available", pool=self.pool)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip().rstrip(":")


def classify(error: BaseException) -> str | None:
    """The Unavailable reason for a driver error, or None when it is not a fault of availability."""
    if isinstance(error, asyncpg.QueryCanceledError):
        return STATEMENT_TIMEOUT
    if isinstance(error, TimeoutError):  # before OSError, of which it is a subclass
        # A client-side timeout: waiting for a connection, connecting, or the server went silent.
        return TIMEOUT
    if isinstance(error, _CONNECTION_ERRORS):
        return CONNECTION
    if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
        return CONNECTION
    if isinstance(error, asyncpg.InternalClientError):
        # The protocol lost its state as the server went away mid-statement ("cannot switch to state 12").
        return CONNECTION
    return None


_MESSAGES = {
    CONNECTION: "The database is unavailable; try again shortly.",
    TIMEOUT: "The database did not answer in time (busy or unreachable); try again shortly.",
    STATEMENT_TIMEOUT: "The query ran longer than the statement timeout and was cancelled.",
}


class Guard:
    """``with guard:`` re-raises availability failures inside the block as ``Unavailable`` (with the
    pool's ``PoolHealth`` told), anything else as it is; a block that ends well tells the health so.

    A class rather than a ``@contextmanager`` generator: it holds nothing per use, so one guard serves
    every statement of a pool, and entering and leaving it costs two plain calls, not a generator made,
    started and finished per statement. The pool's reads do without even those: they call ``unavailable``
    from an ``except`` and tell the health themselves (service/db/client.py, docs/adr/0029).
    """

    __slots__ = ("health", "statement_timeout_ms")

    def __init__(self, health: PoolHealth, *, statement_timeout_ms: int | None = None) -> None:
        self.health = health
        self.statement_timeout_ms = statement_timeout_ms

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None:
            self.health.succeeded()
            return
        # Only ``Exception``: cancellation and the like pass as they are (as an ``except Exception`` would).
        if isinstance(error, Exception):
            unavailable = self.unavailable(error)
            if unavailable is not None:
                raise unavailable from error

    def unavailable(self, error: Exception) -> Unavailable | None:
        """The ``Unavailable`` to raise for ``error`` (the health told), or None to raise it as it is."""
        if isinstance(error, Unavailable):
            return None
        reason = classify(error)
        if reason is None:
            return None
        self.health.failed(reason, error)
        details: dict[str, str | int] = {"reason": reason}
        if reason == STATEMENT_TIMEOUT and self.statement_timeout_ms is not None:
            details["timeoutMs"] = self.statement_timeout_ms
        return Unavailable(_MESSAGES[reason], **details)
