"""The container image, proven: built from docker/Dockerfile, run as non-root against this machine's
PostgreSQL, migrated by the one-shot command, answering with two workers (WORKERS=2, both in /metrics),
healthy, and draining on SIGTERM.

Skipped when no Docker engine answers. Where no registry is reachable, the image is built on the local base
``connectgraph-base:bookworm`` (``docker/base-image``; ``.ci/run`` builds it); ``CONNECTGRAPH_BASE_IMAGE``
names another. The container shares the host's network, so that it reaches the PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import ROOT, _with_database, admin, scratch_name
from tests.ops.processes import free_port

LOCAL_BASE = "connectgraph-base:bookworm"
DEFAULT_BASE = "python:3.11-slim"
GRACE_S = 30
QUERY = "{ indices(first: 1) { totalCount } }"
SHUTDOWN_DRAIN_S = 5  # the 503 window between SIGTERM and the server no longer accepting


def _docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return _docker("version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


pytestmark = pytest.mark.skipif(not _engine_answers(), reason="no Docker engine answers (start dockerd)")


def _base_image() -> str | None:
    """The base image to build on: CONNECTGRAPH_BASE_IMAGE, the local one when built, else the default."""
    chosen = os.environ.get("CONNECTGRAPH_BASE_IMAGE")
    if chosen:
        return chosen
    if _docker("image", "inspect", LOCAL_BASE, check=False).returncode == 0:
        return LOCAL_BASE
    # The Dockerfile's own default, python:3.11-slim, when a registry gives it.
    try:
        pulled = _docker("pull", "-q", DEFAULT_BASE, check=False, timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        pulled = False
    if not pulled:
        pytest.skip(
            f"no base image: {LOCAL_BASE} is not built (docker/base-image) and {DEFAULT_BASE} cannot be pulled"
        )
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    tag = f"connectgraph:test-{os.getpid()}"
    base = _base_image()
    build = ["build", "-f", "docker/Dockerfile", "-t", tag, "--quiet"]
    if base:
        build += ["--build-arg", f"BASE_IMAGE={base}"]
    done = subprocess.run(["docker", *build, "."], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    yield tag
    _docker("image", "rm", tag, check=False)  # the tag only: the layers stay cached for the next build


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    name = scratch_name("container")
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    yield _with_database(server_url, name)
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(url: str, port: int) -> list[str]:
    settings = {
        "DATABASE_URL": url,
        "API_KEY_SECRET": "container-test-secret-not-for-production",
        "PORT": str(port),
        "SHUTDOWN_DRAIN_S": str(SHUTDOWN_DRAIN_S),
        "GRACEFUL_TIMEOUT_S": "20",
        "WORKERS": "2",  # the image runs two worker processes; /metrics reports both
    }
    return [part for name, value in settings.items() for part in ("-e", f"{name}={value}")]


def _state(name: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(_docker("inspect", "-f", "{{json .State}}", name).stdout)
    return state


def _wait(what: str, ready: Any, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if ready():
                return
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {within_s:.0f} s")


def _first_refusal(base: str, within_s: float) -> httpx.Response:
    """The first answer to a lock-free document once the server drains (each answer before it is a 200)."""
    deadline = time.monotonic() + within_s
    while True:
        answer = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, timeout=5)
        if answer.status_code != 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_the_image_migrates_serves_two_workers_as_non_root_is_healthy_and_drains_on_sigterm(
    image: str, empty_database: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    name = f"connectgraph-test-{os.getpid()}"
    host = ["--network", "host"]
    # given a database migrated by the image's one-shot command
    migrated = _docker("run", "--rm", *host, *_env(empty_database, port), image,
                       "connectgraph", "migrate", "upgrade", "head", check=False)  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    assert "Running upgrade" in migrated.stderr
    try:
        # when the image runs with its own command (a shorter health interval, to keep the test short)
        _docker("run", "-d", "--name", name, *host, *_env(empty_database, port),
                "--health-interval", "1s", "--health-start-period", "20s", image)  # fmt: skip
        with httpx.Client(base_url=base, timeout=10) as client:
            _wait("/readyz 200", lambda: client.get("/readyz").status_code == 200, 60)
            answer = client.post("/graphql", json={"query": QUERY})
            _wait("both workers", lambda: "connectgraph_workers 2.0" in client.get("/metrics").text, 20)
            _wait("healthy", lambda: _state(name)["Health"]["Status"] == "healthy", 30)
        # then it answers, from a process that is not root
        assert answer.status_code == 200 and answer.json() == {"data": {"indices": {"totalCount": 0}}}
        uid = _docker("exec", name, "sh", "-c", "grep '^Uid:' /proc/1/status").stdout.split()[1]
        assert uid == "10001"

        # given a request in flight (it waits for a lock this test holds)
        with psycopg.connect(empty_database, autocommit=False) as lock:
            lock.execute("LOCK TABLE indices IN ACCESS EXCLUSIVE MODE")
            in_flight: dict[str, httpx.Response] = {}
            asking = threading.Thread(
                target=lambda: in_flight.update(
                    r=httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30)
                )
            )
            asking.start()
            time.sleep(0.5)
            # when the container is stopped (SIGTERM, then SIGKILL after the grace period)
            stopped_at = time.monotonic()
            stopping = threading.Thread(target=_docker, args=("stop", "--time", str(GRACE_S), name))
            stopping.start()
            # `docker stop` delivers SIGTERM when it gets to it (slowly on a busy machine): ask, with a
            # document that does not wait for the lock, until the answer is the drain's 503.
            refused = _first_refusal(base, within_s=15)
            lock.rollback()  # the request in flight goes on
        asking.join(timeout=30)
        stopping.join(timeout=GRACE_S + 10)
        took = time.monotonic() - stopped_at
        state = _state(name)
        logs = _docker("logs", name).stdout + _docker("logs", name).stderr
    finally:
        _docker("rm", "-f", name, check=False)
    # then new requests were refused, the one in flight finished, and it exited by itself within the grace
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert in_flight["r"].status_code == 200, in_flight["r"].text
    assert in_flight["r"].json() == {"data": {"indices": {"totalCount": 0}}}
    assert took < GRACE_S - 5, f"took {took:.1f} s"
    assert state["ExitCode"] != 137 and not state["OOMKilled"], state
    events = [json.loads(line)["event"] for line in logs.splitlines() if line.startswith("{")]
    assert "shutdown_draining" in events and "stopped" in events
