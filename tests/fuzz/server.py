"""A production-mode server for the fuzzer (uvicorn as in production, one process group of its own)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.fuzz.send import answers
from tests.ops.processes import free_port, stop_group, wait_ready


def production_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "production",
        "API_KEY_SECRET": "fuzz-only-key-secret-for-a-local-test",
        "ANONYMOUS_RATE_PER_MINUTE": "100000000",  # the fuzzer is one client: fuzz the API, not the limiter
        "LOG_LEVEL": "ERROR",
        "GRAPHIQL": "false",
    }


def start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.asgi:app", "--port", str(port), "--loop", "uvloop",
         "--http", "httptools", "--no-access-log"],
        cwd=ROOT, env=production_env(database_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


class Server:
    """A production-mode server for the fuzzer, started again when an earlier class left it blocked."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    async def answering(self) -> str:
        if self.proc is None or self.proc.poll() is not None or not await answers(self.base):
            self.stop()
            port = free_port()
            self.proc = start_server(self.database_url, port)
            self.base = f"http://127.0.0.1:{port}"
            await wait_ready(self.base, self.proc, within_s=60)
        return self.base

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
