"""The Prometheus metrics of one process, on a registry of its own, rendered by ``GET /metrics``.

Other parts of the service record through the functions here (``observe_outcome``, ``record_rate_limited``,
``record_rate_limit_backend``, ...) rather than touching the metric objects, so label names stay in one place.
Label values that clients choose (operation names) are bounded: past ``MAX_OPERATION_NAMES`` distinct
names, new ones are counted as ``other`` so a client cannot blow up the number of series.

With several worker processes (``connectgraph serve --workers N``), ``PROMETHEUS_MULTIPROC_DIR`` names a
folder where every worker writes its values (prometheus_client's multiprocess mode), and a scrape, whichever
worker answers it, reads all of them: counters and histograms add up, and each gauge says how its workers'
values combine (``multiprocess_mode``: ``livesum`` for what is in use now, ``max`` for the data version...).
Values read from live objects (pools, memory) are copied into gauges every ``REFRESH_S`` by each worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

PREFIX = "connectgraph"
MAX_OPERATION_NAMES = 200
ANONYMOUS = "anonymous"
OTHER = "other"
NO_ERROR = "none"
RATE_LIMITED_CODE = "RATE_LIMITED"
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
# Seconds: the compiled path answers in a few ms, the executor in tens; the statement timeout caps the top.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Read once, at import: prometheus_client chooses where values live (memory or files) the same way.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
REFRESH_S = 1.0

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: they double the output and no dashboard reads them
REGISTRY = CollectorRegistry(auto_describe=True)
if MULTIPROCESS_DIR is None:
    # One process: its own figures. With several, a scrape would see only the worker that answers it,
    # so the per-worker gauges below replace them.
    ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes, process_cpu_seconds_total, ...
    PlatformCollector(registry=REGISTRY)
    GCCollector(registry=REGISTRY)

GRAPHQL_REQUESTS = Counter(
    f"{PREFIX}_graphql_requests_total",
    "GraphQL requests by operation name, HTTP status and first error code (none when clean).",
    ["operation", "status", "code"],
    registry=REGISTRY,
)
GRAPHQL_ERRORS = Counter(
    f"{PREFIX}_graphql_errors_total",
    "GraphQL errors returned, by extensions.code (a request may return several).",
    ["code"],
    registry=REGISTRY,
)
GRAPHQL_DURATION = Histogram(
    f"{PREFIX}_graphql_request_duration_seconds",
    "Time to answer a GraphQL request, by operation name and execution path (compiled or executor).",
    ["operation", "path"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests_total",
    "HTTP requests by route, method and status (every route, /graphql included).",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
HTTP_IN_FLIGHT = Gauge(
    f"{PREFIX}_http_requests_in_flight",
    "HTTP requests being answered now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DB_UNAVAILABLE = Counter(
    f"{PREFIX}_db_unavailable_total",
    "Statements that ended in SERVICE_UNAVAILABLE, by reason (connection, timeout, statement_timeout).",
    ["pool", "reason"],
    registry=REGISTRY,
)
ENGINE_FALLBACKS = Counter(
    f"{PREFIX}_engine_fallbacks_total",
    "Query documents the engine did not answer whole, run on strawberry's executor instead, by reason "
    "(introspection: the document also introspects; disabled: compiled execution is off).",
    ["reason"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    f"{PREFIX}_rate_limited_total",
    "Requests refused with HTTP 429 by a rate limit, by limit (e.g. key, anonymous) and backend.",
    ["limit", "backend"],
    registry=REGISTRY,
)
RATE_LIMIT_BACKEND_UP = Gauge(
    f"{PREFIX}_rate_limit_backend_up",
    "1 when the shared rate-limit backend (Redis) answers; 0 while limits fall back to in-process.",
    ["backend"],
    registry=REGISTRY,
    multiprocess_mode="livemin",
)
RATE_LIMIT_FALLBACKS = Counter(
    f"{PREFIX}_rate_limit_fallbacks_total",
    "Times the rate limiter fell back from the shared backend to in-process limits.",
    ["backend"],
    registry=REGISTRY,
)
LOADS = Counter(
    f"{PREFIX}_data_loads_total",
    "Successful data loads this instance heard of (LISTEN connectgraph_data), by dataset.",
    ["dataset"],
    registry=REGISTRY,
)
LOAD_HISTORY = Gauge(
    f"{PREFIX}_load_history_loads",
    "Loads recorded in load_history, by dataset and status (read from the database at scrape time).",
    ["dataset", "status"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
DATA_VERSION = Gauge(
    f"{PREFIX}_data_version",
    "The data version (bumped by every load that changes data), as last read or heard.",
    registry=REGISTRY,
    multiprocess_mode="max",
)
LAST_LOAD = Gauge(
    f"{PREFIX}_data_last_load_timestamp_seconds",
    "Unix time of the last successful load of each dataset (from load_history).",
    ["dataset"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
LISTENER_UP = Gauge(
    f"{PREFIX}_data_listener_up",
    "1 while this instance's LISTEN connection for data-landed events is open (the least of the workers).",
    registry=REGISTRY,
    multiprocess_mode="livemin",
)
SUBSCRIPTIONS = Gauge(
    f"{PREFIX}_subscriptions_active",
    "Open dataLanded subscriptions.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
EVENTS_DROPPED = Counter(
    f"{PREFIX}_subscription_events_dropped_total",
    "Data-landed events dropped for a subscriber that did not keep up.",
    registry=REGISTRY,
)
DRAINING = Gauge(
    f"{PREFIX}_draining",
    "1 once shutdown has begun (new requests get 503).",
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
WORKERS = Gauge(
    f"{PREFIX}_workers",
    "Worker processes serving (1 per live worker, added up).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
WORKER_MEMORY = Gauge(
    f"{PREFIX}_worker_resident_memory_bytes",
    "Resident memory of each worker process (label pid with several workers).",
    registry=REGISTRY,
    multiprocess_mode="liveall",
)
POOL_CONNECTIONS = Gauge(
    f"{PREFIX}_db_pool_connections",
    "Open pool connections by state (in_use, idle), all workers added up.",
    ["pool", "state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    f"{PREFIX}_db_pool_max_connections",
    "Most connections the pools may open, all workers added up.",
    ["pool"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


class OutcomeLike(Protocol):
    """What ``schema.transport.Outcome`` carries (the service does not import the schema)."""

    operation_name: str | None
    status: int
    error_codes: list[str]
    compiled: bool
    cached: bool
    duration_s: float


class _OperationNames:
    """The operation names seen so far, capped: the rest are ``other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if name in self._seen:  # checked when first seen
            return name
        if not _OPERATION_NAME.match(name):
            return OTHER
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(name)
        return name


_operation_names = _OperationNames(MAX_OPERATION_NAMES)
_backend_lock = threading.Lock()


# Children of labelled metrics by their label values: ``labels()`` takes a lock and builds a key each
# time, a noticeable part of a request answered from memory. Label values are bounded (operation names
# are capped, statuses and codes are few), so this stays small.
_children: dict[tuple[object, ...], object] = {}


def _child(metric: Counter | Histogram, *values: str) -> Any:
    key = (metric, *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


@dataclass(frozen=True, slots=True, eq=False)
class Moved:
    """A counter and a histogram that every event of one kind moves together (a request: counted by its
    labels and timed by some of them). An event is its values in order; ``counter_labels`` and
    ``histogram_labels`` say which of them label each metric. (``eq=False``: hashed by identity, as it
    is hashed in every event's key; a generated ``__hash__`` would hash all four fields each time.)"""

    counter: Counter
    counter_labels: tuple[int, ...]
    histogram: Histogram
    histogram_labels: tuple[int, ...]

    def flush(self, values: tuple[Any, ...], row: list[float]) -> None:
        """Move one row of ``_Tally`` (the events with these values) into the two metrics."""
        _child(self.counter, *(str(values[i]) for i in self.counter_labels)).inc(row[0])
        histogram = _child(self.histogram, *(str(values[i]) for i in self.histogram_labels))
        histogram._sum.inc(row[1])
        for bucket, count in zip(histogram._buckets, row[2:], strict=True):
            if count:
                bucket.inc(count)


# route, method, status; and a GraphQL request's operation, status, first error code, path.
HTTP = Moved(HTTP_REQUESTS, (0, 1, 2), HTTP_DURATION, (0,))
GRAPHQL = Moved(GRAPHQL_REQUESTS, (0, 1, 2), GRAPHQL_DURATION, (0, 3))


class _Tally:
    """The series every request moves (requests by labels, durations, requests in flight, the answer
    cache's results), kept as plain numbers and moved into their Prometheus metrics by ``flush``: before
    every scrape (``render``) and every ``REFRESH_S`` in each worker when there are several. Prometheus'
    own updates take a lock and a labels lookup per call, a seventh of the time of an answer served from
    memory; here an event is one dictionary lookup and three additions.

    ``rows`` holds, per ``(Moved, *values)``, the count of those events, the sum of their durations, then
    how many fell in each of ``LATENCY_BUCKETS`` (the first bound at or above the duration, as
    ``Histogram.observe`` finds it; the last is +Inf). ``counted`` holds, per counter, a count per label
    value. What ``flush`` moves grows with the number of series, not with the number of requests."""

    def __init__(self) -> None:
        self.rows: dict[tuple[Any, ...], list[float]] = {}
        self.counted: dict[Counter, dict[str, list[int]]] = {}
        self.in_flight = 0

    def add(self, event: tuple[Any, ...], seconds: float) -> None:
        """One event, ``(Moved, *values)``, that took ``seconds``."""
        row = self.rows.get(event)
        if row is None:
            row = self.rows[event] = [0.0] * (len(LATENCY_BUCKETS) + 3)
        row[0] += 1
        row[1] += seconds
        row[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def flush(self) -> None:
        rows, self.rows = self.rows, {}
        for (moved, *values), row in rows.items():
            moved.flush(values, row)
        for counter, cells in self.counted.items():
            for value, cell in cells.items():
                if cell[0]:
                    _child(counter, value).inc(cell[0])
                    cell[0] = 0
        HTTP_IN_FLIGHT.set(self.in_flight)


def _check_layout() -> None:
    """The bucket bounds ``Moved.flush`` writes by (``LATENCY_BUCKETS``, then +Inf), checked once at
    import. That a tallied histogram reads as one observed value by value is a test's
    (``tests/ops/test_metrics.py``), run against the prometheus_client versions pyproject.toml admits.
    The probe has a label and no child, so it makes no value (in multiprocess mode a value is an entry
    in the workers' files, which every scrape would report)."""
    probe = Histogram("layout_probe_seconds", "", ["probe"], buckets=LATENCY_BUCKETS, registry=None)
    if probe._upper_bounds != [*LATENCY_BUCKETS, float("inf")]:
        raise RuntimeError("prometheus_client keeps histograms otherwise than Moved.flush writes them")


_check_layout()
TALLY = _Tally()


def observe_outcome(outcome: OutcomeLike) -> None:
    """An observer for ``GraphQLEndpoint(observers=...)``: one call per /graphql request."""
    operation = _operation_names.label(outcome.operation_name)
    codes = outcome.error_codes
    if codes:
        for error_code in codes:
            _child(GRAPHQL_ERRORS, error_code).inc()
        if RATE_LIMITED_CODE in codes:
            limit = "key" if getattr(outcome, "key_prefix", None) else "anonymous"
            # The limiter that refused this request, not the backend's state at some other moment.
            record_rate_limited(limit, getattr(outcome, "rate_limit_backend", None) or "memory")
    path = "cached" if outcome.cached else "compiled" if outcome.compiled else "executor"
    TALLY.add((GRAPHQL, operation, outcome.status, codes[0] if codes else NO_ERROR, path), outcome.duration_s)


def observe_http(route: str, method: str, status: int, duration_s: float) -> None:
    TALLY.add((HTTP, route, method, status), duration_s)


def counting(counter: Counter) -> Callable[[str], None]:
    """A function that counts one for ``counter``'s series with the label value it is given, through the
    tally (a counter with one label, moved by every request, such as the answer cache's results)."""
    cells = TALLY.counted.setdefault(counter, {})

    def count(value: str) -> None:
        cell = cells.get(value)
        if cell is None:
            cell = cells[value] = [0]
        cell[0] += 1

    return count


def record_unavailable(pool: str, reason: str) -> None:
    DB_UNAVAILABLE.labels(pool, reason).inc()


def record_fallback(reason: str) -> None:
    ENGINE_FALLBACKS.labels(reason).inc()


def record_rate_limited(limit: str, backend: str = "memory") -> None:
    """Call once per request refused with 429: ``record_rate_limited("key", backend="redis")``."""
    RATE_LIMITED.labels(limit, backend).inc()


_backend_up: dict[str, bool] = {}
_data_version = 0


def record_rate_limit_backend(backend: str, *, up: bool) -> None:
    """Call on every change of the shared backend's state, as it happens (``up=False``: a fallback,
    counted once per outage however many requests it refuses) and at scrape time."""
    with _backend_lock:
        if not up and _backend_up.get(backend, True):  # count the transition, not every refused call
            RATE_LIMIT_FALLBACKS.labels(backend).inc()
        _backend_up[backend] = up
        RATE_LIMIT_BACKEND_UP.labels(backend).set(1 if up else 0)


async def observe_limiter(limiter: object) -> None:
    """At scrape time: a limiter with a shared backend is asked whether it answers (``probe``)."""
    probe = getattr(limiter, "probe", None)
    if probe is None:
        return
    up = await probe()
    if isinstance(up, bool):
        record_rate_limit_backend("redis", up=up)


def _set_data_version(version: int) -> None:
    global _data_version
    # Versions only grow; a late event or a read from a lagging replica must not move the gauge back.
    if version > _data_version:
        _data_version = version
        DATA_VERSION.set(version)


def record_data_landed(dataset: str, data_version: int | None) -> None:
    LOADS.labels(dataset).inc()
    if data_version is not None:
        _set_data_version(data_version)


@dataclass(frozen=True)
class LoadStats:
    """load_history and data_version as read at scrape time."""

    loads: dict[tuple[str, str], int]
    last_success: dict[str, float]
    data_version: int | None


def set_load_stats(stats: LoadStats) -> None:
    for (dataset, status), count in stats.loads.items():
        LOAD_HISTORY.labels(dataset, status).set(count)
    for dataset, timestamp in stats.last_success.items():
        LAST_LOAD.labels(dataset).set(timestamp)
    if stats.data_version is not None:
        _set_data_version(stats.data_version)


@dataclass(frozen=True)
class PoolUsage:
    size: int
    idle: int
    max_size: int


class Pools:
    """This process's live pools (``pool``: primary, read), copied into the pool gauges by ``refresh``."""

    def __init__(self) -> None:
        self._pools: dict[str, Callable[[], PoolUsage]] = {}

    def watch(self, name: str, usage: Callable[[], PoolUsage]) -> None:
        self._pools[name] = usage

    def forget(self, name: str) -> None:
        self._pools.pop(name, None)
        for state in ("in_use", "idle"):
            with contextlib.suppress(KeyError):
                POOL_CONNECTIONS.remove(name, state)
        with contextlib.suppress(KeyError):
            POOL_MAX.remove(name)

    def refresh(self) -> None:
        for name, usage in list(self._pools.items()):
            now = usage()
            POOL_CONNECTIONS.labels(name, "in_use").set(now.size - now.idle)
            POOL_CONNECTIONS.labels(name, "idle").set(now.idle)
            POOL_MAX.labels(name).set(now.max_size)


POOLS = Pools()


def _resident_bytes() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return None


def refresh() -> None:
    """Copy what is read from live objects (pools, memory) into their gauges: at scrape time in the
    worker that answers, and every ``REFRESH_S`` in each worker when there are several; with them the
    per-request series kept since the last time (``TALLY``)."""
    TALLY.flush()
    POOLS.refresh()
    resident = _resident_bytes()
    if resident is not None:
        WORKER_MEMORY.set(resident)


def worker_started() -> None:
    WORKERS.set(1)
    refresh()


async def refresh_every(seconds: float = REFRESH_S) -> None:
    """Run by each worker while it serves (several workers only): the others' scrapes see its pools."""
    while True:
        refresh()
        await asyncio.sleep(seconds)


def worker_stopped() -> None:
    """A worker that exits takes its live gauges (pools, in flight, memory) out of the sums."""
    WORKERS.set(0)
    TALLY.flush()
    if MULTIPROCESS_DIR is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: this process's, or every worker's in multiprocess mode."""
    refresh()
    if MULTIPROCESS_DIR is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
