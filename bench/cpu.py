"""Where a benchmark round's CPU goes: the server's processes, PostgreSQL's, the load generator's and
the rest of the machine, read from /proc around the round.

On a machine where the server, PostgreSQL and wrk share the cores, req/s alone does not say which of
them is the limit, nor where a second worker moves it. Dividing each part's CPU time in the round by
the requests answered does: a part whose time per request stays put while req/s stays put is not what
a change relieved, and a machine busy near 100 % is the limit whatever the parts are.

- **server**: every process of the server's process group (``bench/run`` starts each server in a
  session of its own, so uvicorn's supervisor and all its workers, or the Node process);
- **PostgreSQL**: every process named ``postgres`` (the backends of all pools, and the cluster's own);
- **load**: wrk (the child process that ran the round), or for the SQL floor the replay, which runs in
  ``bench/run``'s own process;
- **rest**: what the machine spent besides (``/proc/stat``, all cores, not idle): the kernel's work
  charged to no process, and anything else running.

Linux only (``/proc``); elsewhere ``available()`` is false and nothing is read.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def available() -> bool:
    return (PROC / "stat").is_file()


def _stat_fields(pid: str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
    index 0 is the state, 2 the process group, 11 and 12 user and system ticks."""
    try:
        text = (PROC / pid / "stat").read_text()
    except OSError:  # gone since the listing
        return None
    return text[text.rfind(")") + 2 :].split()


def _comm(pid: str) -> str:
    try:
        return (PROC / pid / "comm").read_text().strip()
    except OSError:
        return ""


def _busy_seconds() -> float:
    """All cores' non-idle time since boot: user, nice, system, irq, softirq and steal."""
    with (PROC / "stat").open() as stat:
        ticks = [int(x) for x in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / _TICK


@dataclass(frozen=True)
class Sample:
    """CPU seconds used so far: by each process of the server and of PostgreSQL (by pid), by the load,
    by the whole machine; and when they were read."""

    server: dict[str, float]
    postgres: dict[str, float]
    load: float
    busy: float
    at: float


def _gained(before: dict[str, float], after: dict[str, float]) -> float:
    """The CPU the processes alive at ``after`` used since ``before`` (one started in between counts from
    0). One that ended in between is left out, never subtracted: its last figures cannot be read, and
    taking its whole life off the sum made PostgreSQL's share of a round too small whenever another
    client's idle connections closed during it (node-postgres closes them after 10 s)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def sample(server_group: int | None, *, load_is_self: bool = False) -> Sample:
    """The parts' CPU seconds now. ``server_group``: the server's process group (None: no server);
    ``load_is_self``: the load runs in this process (the SQL floor's replay), else in waited children."""
    server: dict[str, float] = {}
    postgres: dict[str, float] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        fields = None
        if server_group is not None:
            fields = _stat_fields(entry.name)
            if fields is not None and int(fields[2]) == server_group:
                server[entry.name] = (int(fields[11]) + int(fields[12])) / _TICK
                continue
        if _comm(entry.name) == "postgres":
            fields = fields or _stat_fields(entry.name)
            if fields is not None:
                postgres[entry.name] = (int(fields[11]) + int(fields[12])) / _TICK
    who = resource.RUSAGE_SELF if load_is_self else resource.RUSAGE_CHILDREN
    usage = resource.getrusage(who)
    return Sample(server, postgres, usage.ru_utime + usage.ru_stime, _busy_seconds(), time.monotonic())


@dataclass(frozen=True)
class Share:
    """One round's CPU per request (microseconds) by part, and how busy the machine's cores were."""

    server_us: float
    postgres_us: float
    load_us: float
    rest_us: float
    busy_pct: float

    @property
    def total_us(self) -> float:
        return self.server_us + self.postgres_us + self.load_us + self.rest_us


def share(before: Sample, after: Sample, requests: int) -> Share | None:
    """CPU per request between two samples (None when nothing was answered)."""
    if requests <= 0:
        return None
    per = 1e6 / requests
    server = _gained(before.server, after.server) * per
    postgres = _gained(before.postgres, after.postgres) * per
    load = (after.load - before.load) * per
    busy = after.busy - before.busy
    wall = after.at - before.at
    cores = os.cpu_count() or 1
    return Share(
        server_us=server,
        postgres_us=postgres,
        load_us=load,
        rest_us=max(busy * per - server - postgres - load, 0.0),
        busy_pct=100 * busy / (wall * cores) if wall > 0 else 0.0,
    )
