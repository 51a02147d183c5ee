"""Fixtures of the frontend tests: the Node project in clients/ (installed, types generated) and the
service running for real (uvicorn in a subprocess, on a free port, over the session's test database).

Node and npm are optional for a Python developer: without them these tests are skipped, with the
reason. With them, nothing here is skipped silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
STARTUP_TIMEOUT_S = 30.0


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run npm in clients/, failing the test with npm's output when it fails."""
    result = subprocess.run(
        ["npm", "--no-fund", "--no-audit", *args],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"npm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _installed() -> bool:
    """node_modules is there and was installed from the current lockfile."""
    marker = CLIENTS / "node_modules" / ".package-lock.json"
    lock = CLIENTS / "package-lock.json"
    return marker.is_file() and marker.stat().st_mtime >= lock.stat().st_mtime


@pytest.fixture(scope="session")
def clients() -> Path:
    """clients/ with its packages installed (`npm ci`, skipped when node_modules is current, so this
    works offline) and the TypeScript types generated from schema/schema.graphql."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not on PATH: the TypeScript client is not checked")
    if not _installed():
        npm("ci", "--prefer-offline")
    npm("run", "codegen")
    return CLIENTS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/graphql?query=%7B__typename%7D", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the service did not answer within {STARTUP_TIMEOUT_S:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service (uvicorn, as deployed) on a free port over the test database; its base URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("live-server") / "uvicorn.log"
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
