"""/metrics: requests by operation, status and code, latency, pool usage, rate limits, loads, data version."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from schema.transport import Outcome
from service.db.client import CountingDatabase
from service.observability import metrics
from service.repositories import operations
from tests.ops.conftest import QUERY, sample, serving, total


async def test_requests_latency_and_pool_usage_are_exposed(database_url: str) -> None:
    async with serving(database_url) as (_, client):
        before = (await client.get("/metrics")).text
        ok = await client.post("/graphql", json={"query": QUERY, "operationName": "Indices"})
        bad = await client.post("/graphql", json={"query": "{ nope }"})
        response = await client.get("/metrics")
    assert ok.status_code == 200 and bad.status_code == 400
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    labels = {"operation": "Indices", "status": "200", "code": "none"}
    assert (
        sample(text, "connectgraph_graphql_requests_total", **labels)
        == (sample(before, "connectgraph_graphql_requests_total", **labels) or 0) + 1
    )
    assert sample(text, "connectgraph_graphql_requests_total", status="400", code="GRAPHQL_VALIDATION_FAILED")
    assert sample(text, "connectgraph_graphql_request_duration_seconds_count", operation="Indices")
    assert sample(text, "connectgraph_http_requests_total", route="/graphql", method="POST", status="200")
    assert sample(text, "connectgraph_db_pool_max_connections", pool="primary") == 4
    assert sample(text, "connectgraph_db_pool_connections", pool="primary", state="idle") is not None
    assert sample(text, "process_resident_memory_bytes")
    assert sample(text, "connectgraph_data_version") is not None  # read from the data_version table


async def test_load_history_becomes_loads_by_dataset_and_status(db: CountingDatabase) -> None:
    # given two loads recorded (in the test's rolled-back transaction; the demo's are there already)
    before = {(r.dataset, r.status): r.loads for r in await operations.load_counts(db)}
    await db.execute(
        """
        INSERT INTO load_history (dataset, file_name, sha256, started_at, finished_at, status, error, data_version)
        VALUES ('connect-daily', 'a.csv', repeat('a', 64), now(), now(), 'SUCCEEDED', NULL, 7),
               ('connect-daily', 'b.csv', repeat('b', 64), now(), now(), 'FAILED', 'bad row', NULL)
        """
    )
    await db.execute("UPDATE data_version SET version = 7")
    # when
    rows = await operations.load_counts(db)
    metrics.set_load_stats(
        metrics.LoadStats(
            loads={(r.dataset, r.status): r.loads for r in rows},
            last_success={r.dataset: r.last_success for r in rows if r.last_success is not None},
            data_version=await operations.data_version(db),
        )
    )
    # then
    text = metrics.render()[0].decode()
    succeeded = before.get(("connect-daily", "SUCCEEDED"), 0) + 1
    failed = before.get(("connect-daily", "FAILED"), 0) + 1
    assert (
        sample(text, "connectgraph_load_history_loads", dataset="connect-daily", status="SUCCEEDED")
        == succeeded
    )
    assert sample(text, "connectgraph_load_history_loads", dataset="connect-daily", status="FAILED") == failed
    assert sample(text, "connectgraph_data_last_load_timestamp_seconds", dataset="connect-daily")
    assert (sample(text, "connectgraph_data_version") or 0) >= 7


def test_rate_limit_rejections_are_counted_from_the_outcome() -> None:
    before = metrics.RATE_LIMITED.labels("anonymous", "memory")._value.get()
    metrics.observe_outcome(Outcome(operation_name=None, status=429, error_codes=["RATE_LIMITED"]))
    metrics.record_rate_limited("key", backend="redis")
    assert metrics.RATE_LIMITED.labels("anonymous", "memory")._value.get() == before + 1
    text = metrics.render()[0].decode()
    assert sample(text, "connectgraph_rate_limited_total", limit="key", backend="redis")


async def test_a_redis_fallback_is_counted_once_per_outage() -> None:
    class Limiter:
        up = False

        async def probe(self) -> bool:
            return self.up

    limiter = Limiter()
    metrics.record_rate_limit_backend("redis", up=True)  # whatever an earlier test left
    before = metrics.RATE_LIMIT_FALLBACKS.labels("redis")._value.get()
    await metrics.observe_limiter(limiter)
    await metrics.observe_limiter(limiter)
    assert metrics.RATE_LIMIT_FALLBACKS.labels("redis")._value.get() == before + 1
    assert metrics.RATE_LIMIT_BACKEND_UP.labels("redis")._value.get() == 0
    limiter.up = True
    await metrics.observe_limiter(limiter)
    assert metrics.RATE_LIMIT_BACKEND_UP.labels("redis")._value.get() == 1


def test_a_refusal_is_labelled_with_the_limiter_that_refused() -> None:
    before = metrics.RATE_LIMITED.labels("key", "redis")._value.get()
    refused = Outcome(operation_name=None, status=429, error_codes=["RATE_LIMITED"], key_prefix="cg_x")
    refused.rate_limit_backend = "redis"
    metrics.observe_outcome(refused)
    assert metrics.RATE_LIMITED.labels("key", "redis")._value.get() == before + 1


def test_operation_names_are_bounded() -> None:
    names = metrics._OperationNames(limit=2)
    assert [names.label(n) for n in ("A", "B", "C", "A", None, "bad name!")] == [
        "A",
        "B",
        "other",
        "A",
        "anonymous",
        "other",
    ]


def test_durations_tallied_read_as_if_observed_one_by_one() -> None:
    registry = CollectorRegistry()
    one = Histogram(
        "one_seconds", "one by one", ["route"], buckets=metrics.LATENCY_BUCKETS, registry=registry
    )
    tallied = Histogram(
        "tallied_seconds", "tallied", ["route"], buckets=metrics.LATENCY_BUCKETS, registry=registry
    )
    counted = Counter("counted", "tallied", ["route", "status"], registry=registry)
    moved = metrics.Moved(counted, (0, 1), tallied, (0,))
    values = [0.001, 0.0025, 0.003, 0.05, 0.0501, 0.7, 31.0, 0.0025]
    tally = metrics._Tally()
    for value in values:
        one.labels("/x").observe(value)
        tally.add((moved, "/x", 200), value)
    tally.flush()

    def read(name: str) -> list[tuple[str, float]]:
        family = next(f for f in registry.collect() if f.name == name)
        return [(s.name.removeprefix(name) + str(s.labels), s.value) for s in family.samples]

    assert read("tallied_seconds") == read("one_seconds")
    assert registry.get_sample_value("tallied_seconds_bucket", {"route": "/x", "le": "0.0025"}) == 3
    assert registry.get_sample_value("tallied_seconds_count", {"route": "/x"}) == len(values)
    assert registry.get_sample_value("counted_total", {"route": "/x", "status": "200"}) == len(values)
    # a second flush moves only what came since the first; another status is a series of its own
    tally.add((moved, "/x", 200), 0.004)
    tally.add((moved, "/x", 404), 0.004)
    tally.flush()
    assert registry.get_sample_value("tallied_seconds_count", {"route": "/x"}) == len(values) + 2
    assert registry.get_sample_value("tallied_seconds_bucket", {"route": "/x", "le": "0.005"}) == 6
    assert registry.get_sample_value("counted_total", {"route": "/x", "status": "200"}) == len(values) + 1
    assert registry.get_sample_value("counted_total", {"route": "/x", "status": "404"}) == 1


def test_a_counting_function_counts_by_label_value_until_the_flush() -> None:
    registry = CollectorRegistry()
    results = Counter("results", "counted", ["result"], registry=registry)
    count = metrics.counting(results)
    for result in ("hit", "hit", "miss"):
        count(result)
    assert registry.get_sample_value("results_total", {"result": "hit"}) is None  # not yet flushed
    metrics.TALLY.flush()
    count("hit")
    metrics.TALLY.flush()
    assert registry.get_sample_value("results_total", {"result": "hit"}) == 3
    assert registry.get_sample_value("results_total", {"result": "miss"}) == 1


async def test_every_request_is_counted_and_timed_once(database_url: str) -> None:
    # given a new app (its answer cache empty: the first request is computed, the rest are hits)
    series = {
        (
            "connectgraph_graphql_requests_total",
            "operation",
            "Indices",
            "status",
            "200",
            "code",
            "none",
        ): REPEATS,
        (
            "connectgraph_graphql_request_duration_seconds_count",
            "operation",
            "Indices",
            "path",
            "compiled",
        ): 1,
        (
            "connectgraph_graphql_request_duration_seconds_count",
            "operation",
            "Indices",
            "path",
            "cached",
        ): REPEATS - 1,
        (
            "connectgraph_graphql_request_duration_seconds_bucket",
            "operation",
            "Indices",
            "le",
            "+Inf",
        ): REPEATS,
        ("connectgraph_http_requests_total", "route", "/graphql", "method", "POST", "status", "200"): REPEATS,
        ("connectgraph_http_request_duration_seconds_count", "route", "/graphql"): REPEATS,
        ("connectgraph_answer_cache_total", "result", "hit"): REPEATS - 1,
        ("connectgraph_answer_cache_total", "result", "miss"): 1,
    }
    async with serving(database_url, answer_cache_entries=64) as (_, client):
        before = (await client.get("/metrics")).text
        # when the same query is asked N times
        statuses = [
            (await client.post("/graphql", json={"query": QUERY, "operationName": "Indices"})).status_code
            for _ in range(REPEATS)
        ]
        after = (await client.get("/metrics")).text
    # then each series moved by its number of requests, and the scrape itself is the one request in flight
    assert statuses == [200] * REPEATS

    def moved(name: str, *labels: str) -> float:
        named = dict(zip(labels[::2], labels[1::2], strict=True))
        return total(after, name, **named) - total(before, name, **named)

    assert {key: moved(*key) for key in series} == series
    assert sample(after, "connectgraph_http_requests_in_flight") == 1
    # the buckets are cumulative and end at the count
    buckets = [
        float(line.rsplit(" ", 1)[1])
        for line in after.splitlines()
        if line.startswith("connectgraph_http_request_duration_seconds_bucket{")
        and 'route="/graphql"' in line
    ]
    assert buckets == sorted(buckets)
    assert buckets[-1] == sample(after, "connectgraph_http_request_duration_seconds_count", route="/graphql")


REPEATS = 7
