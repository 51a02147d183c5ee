"""One load: read a file, validate every row, stage it with COPY, upsert, record it, all in one transaction.

The flow (``load_file``):

1. hash the file (SHA-256, streamed); record the attempt as RUNNING in a transaction of its own (and
   mark attempts whose session died ABANDONED); the session asks the server to notice at once if the
   client goes away (``client_connection_check_interval``);
2. in the load's transaction: take the dataset's lock (saying whose lock it waits for, if it must);
   open the file, whose header row picks the layout (``service/ingest/tables.py``); stream rows through
   the layout's model into a TEMP staging table (COPY), collecting every error as file, line, column,
   value and reason;
3. check the staged rows against the database (unknown references, repeated keys, older snapshots);
4. any error rejects the file (nothing written) unless ``skip_invalid``: then the bad lines are left
   out and written to ``<file>.rejects.csv`` beside the input;
5. set-based upserts count rows inserted, updated and unchanged; a load that changed something
   refreshes the analytics rollup (etf-daily, fx), bumps the data version and NOTIFYs
   ``connectgraph_data``; the attempt's row gets its outcome;
6. after the commit, ANALYZE the tables written (unless the caller analyses after many loads).

ETF daily files (millions of rows) take their own path, ``_load_etf_daily``: plain lines are checked
without building a model and funds are resolved while reading; every other line goes through the model
as above. docs/ingest.md ("Speed and memory") explains it.

A rejected or failed load is recorded too, after the rollback, in a transaction of its own. Killing the
process at any point leaves the database as it was (PostgreSQL rolls the open transaction back when
the connection drops) and its attempt RUNNING, until the next load finds it abandoned.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.db.client import Connection
from service.ingest import eligibility
from service.ingest.cells import local_code
from service.ingest.daily import PlainDailyLines, aum_ok
from service.ingest.datasets import Dataset
from service.ingest.errors import MAX_LISTED_ERRORS, FileRejected, IngestError, LoadFailed, RowError
from service.ingest.layouts import dataset
from service.ingest.lines import Line, header_fields
from service.ingest.readers import Source, open_source, record_cells
from service.ingest.tables import (
    ConnectDailyLine,
    EligibilityChangeLine,
    EligibilityListLine,
    EtfDailyLine,
    MembershipLine,
)
from service.observability.logging import get_logger
from service.repositories import ingest as repo
from service.repositories import loads
from service.repositories.analytics import refresh_rollups

log = get_logger("connectgraph.ingest")

# progress(done, total, rows): done/total in bytes for CSV, in rows for XLSX.
Progress = Callable[[int, int, int], None]

COPY_CHUNK_ROWS = 2000  # lines of CSV per COPY message
DAILY_CHUNK_ROWS = 5000  # etf-daily lines per COPY message
PROGRESS_EVERY = 20_000
SHOW_PHASES_FROM_SECONDS = 5.0  # a summary says where the time went for loads this long
# How often the server checks that a load's client is still there while a statement runs.
CLIENT_CHECK_INTERVAL = "1s"
WEIGHT_TOLERANCE_PCT = 0.5
# Datasets whose tables the analytics rollup adds up: a load of them refreshes it (``refresh_rollups``),
# which writes these tables.
ROLLED_UP = (Dataset.ETF_DAILY, Dataset.FX)
# The last two by trigger (on etf_day_totals).
ROLLUP_TABLES = ("etf_day_totals", "etf_group_days", "etf_aum_totals", "etf_month_ends")
# Datasets whose tables' own triggers rewrite the groups' sums alone (a manager change moves a fund's days
# between issuers, migration 0022's refresh_etf_group_days), and the tables that writes.
REGROUPED = (Dataset.MANAGER_CHANGES,)
GROUP_TABLES = ("etf_group_days",)


@dataclass(frozen=True)
class LoadOptions:
    skip_invalid: bool = False
    illustrative: bool | None = None  # mark the dataset illustrative (True), real (False), or keep (None)
    link: str | None = None  # eligibility: the Connect link, when the file name does not say
    progress: Progress | None = None
    # ANALYZE the tables written once the load is in (off when the caller analyses after many loads).
    analyze: bool = True
    # Told when the load must wait for another load of the dataset (whose, since when), and when it may go.
    on_wait: Callable[[str], None] | None = None


@dataclass(frozen=True)
class LoadResult:
    dataset: str
    file: Path
    layout: str
    sha256: str
    status: str  # SUCCEEDED, or UNCHANGED when the load changed nothing
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    skipped: int
    first_day: date | None
    last_day: date | None
    data_version: int
    load_id: int
    seconds: float
    rejects_file: Path | None = None
    same_as_load: int | None = None  # an earlier load of the very same file
    phases: tuple[tuple[str, float], ...] = ()  # seconds by step of the etf-daily path, in order
    tables: tuple[str, ...] = ()  # the tables the load wrote (none when it changed nothing)

    def summary(self) -> str:
        days = f", days {self.first_day}..{self.last_day}" if self.first_day else ""
        text = (
            f"{self.file.name} -> {self.dataset} ({self.layout}): {self.rows_read} rows read, "
            f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.rejected} rejected, {self.skipped} skipped{days}; {self.seconds:.1f}s"
        )
        if self.status == "UNCHANGED":
            again = f" (same file as load #{self.same_as_load})" if self.same_as_load else ""
            text += f"\n  nothing changed{again}; data version stays {self.data_version}"
        else:
            text += f"\n  data version {self.data_version}"
        if self.rejects_file is not None:
            text += f"\n  rejected rows written to {self.rejects_file}"
        if self.phases and self.seconds >= SHOW_PHASES_FROM_SECONDS:
            text += "\n  " + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in self.phases)
        return text


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Tally:
    """Errors and counts of one pass over a file."""

    file: str
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    bad_lines: dict[int, list[str]] = field(default_factory=dict)
    read: int = 0
    skipped: int = 0
    first_day: date | None = None
    last_day: date | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds by step, for big loads

    def error(self, line: int, column: str, value: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(RowError(self.file, line, column, value, reason))
        self.bad_lines.setdefault(line, []).append(f"{column}: {reason} ({value!r})")

    def outcome(
        self,
        status: str,
        counts: repo.Counts | None = None,
        *,
        error: str | None = None,
        data_version: int | None = None,
    ) -> loads.Outcome:
        """The attempt's record: these counts (none written for a load that did not happen)."""
        counts = counts or repo.Counts()
        return loads.Outcome(
            rows_read=self.read,
            rows_inserted=counts.inserted,
            rows_updated=counts.updated,
            rows_unchanged=counts.unchanged,
            rows_rejected=len(self.bad_lines),
            rows_skipped=self.skipped,
            first_day=self.first_day,
            last_day=self.last_day,
            status=status,
            error=error,
            data_version=data_version,
        )

    def day(self, day: date | None) -> None:
        if day is None:
            return
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        if self.last_day is None or day > self.last_day:
            self.last_day = day


class _Rows:
    """Validated rows of a source: yields (line number, line); invalid rows go to the tally."""

    def __init__(self, source: Source, line: type[Line], tally: _Tally, progress: Progress | None) -> None:
        self.source = source
        self.line = line
        self.tally = tally
        self.progress = progress
        self.fields = [(i, f) for i, f in enumerate(header_fields(line, source.header)) if f is not None]
        self.present = frozenset(f for _, f in self.fields)

    def __iter__(self) -> Iterator[tuple[int, Line]]:
        tally = self.tally
        for line, cells in self.source.rows:
            tally.read += 1
            if self.progress is not None and tally.read % PROGRESS_EVERY == 0:
                self.progress(self.source.position(), self.source.size, tally.read)
            row = self.validate(line, cells)
            if row is not None:
                yield line, row
        if self.progress is not None:
            self.progress(self.source.size, self.source.size, tally.read)

    def validate(self, line: int, cells: list[str]) -> Line | None:
        """The row through its model and cross-cell checks; None (errors tallied) when it is invalid."""
        tally = self.tally
        column_of = self.line.column_of
        n = len(cells)
        data = {f: cells[i] for i, f in self.fields if i < n}
        try:
            row = self.line.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                name = str(err["loc"][0]) if err["loc"] else "?"
                tally.error(line, column_of(name), str(data.get(name, "")), err["msg"])
            return None
        bad = False
        for name, reason in row.problems():
            tally.error(line, column_of(name), str(data.get(name, "")), reason)
            bad = True
        if bad:
            return None
        tally.day(row.row_day())
        return row


async def load_file(
    conn: Connection, name: str, path: Path, options: LoadOptions | None = None
) -> LoadResult:
    """Load one file into dataset ``name`` on ``conn``.

    The attempt is recorded (RUNNING) in a transaction of its own before the work, which runs in
    another: inside a caller's transaction both are savepoints of it. See the module docstring.
    """
    options = options or LoadOptions()
    spec = dataset(name)
    if not await asyncio.to_thread(path.is_file):
        raise IngestError(f"{path}: no such file")
    started = datetime.now(UTC)
    began = time.monotonic()
    digest = await asyncio.to_thread(sha256_of, path)
    tally = _Tally(path.name)
    layout_name = "?"
    async with repo.database_errors():
        await loads.watch_client(conn, CLIENT_CHECK_INTERVAL)
        async with conn.transaction():
            load_id = await loads.begin_load(conn, spec.name, path.name, digest, started)
            await loads.mark_abandoned(conn, load_id)
    try:
        async with conn.transaction():
            await _lock(conn, spec.name, options.on_wait)
            # Day-first dates (DD/MM/YYYY) in COPY'd text read as HKEX writes them.
            await conn.execute("SET LOCAL datestyle = 'ISO, DMY'")
            layouts = [line.required_headers() for line in spec.layouts]
            with open_source(path, layouts) as (source, which):
                line = spec.layouts[which]
                layout_name = line.layout
                rows = _Rows(source, line, tally, options.progress)
                if line.dataset is Dataset.ELIGIBILITY:
                    counts = await _load_eligibility(conn, path, source, line, rows, tally, options)
                elif line is EtfDailyLine:
                    counts = await _load_etf_daily(conn, source, rows, tally, options)
                else:
                    counts = await _load_staged(conn, line, rows, tally, options)
            staged_at = time.monotonic()
            rejects = _write_rejects(path, line, tally) if tally.bad_lines else None
            written = line.writes() if counts.changed else ()
            async with repo.database_errors():
                if counts.changed and spec.dataset in ROLLED_UP:
                    # The analytics rollup hook: running totals from the first day loaded on are stale,
                    # recomputed in this load's transaction.
                    await refresh_rollups(conn, tally.first_day)
                    written += ROLLUP_TABLES
                elif counts.changed and spec.dataset in REGROUPED:
                    written += GROUP_TABLES
                previous = await loads.previous_success(conn, spec.name, digest)
                version = (
                    await loads.bump_data_version(conn)
                    if counts.changed
                    else await loads.current_data_version(conn)
                )
                status = "SUCCEEDED" if counts.changed else "UNCHANGED"
                await loads.mark_abandoned(conn, load_id)
                outcome = tally.outcome(status, counts, data_version=version if counts.changed else None)
                await loads.finish_load(conn, load_id, outcome)
                await loads.touch_dataset(
                    conn, spec.name, f"file {path.name} (sha256 {digest[:12]})", options.illustrative
                )
                if counts.changed:
                    await loads.record_written(conn, load_id, counts.written)
                    await loads.notify(
                        conn,
                        {
                            "dataset": spec.name,
                            "tradingDay": tally.last_day.isoformat() if tally.last_day else None,
                            "firstDay": tally.first_day.isoformat() if tally.first_day else None,
                            "dataVersion": version,
                            "loadId": load_id,
                            "written": len(counts.written),  # load_events rows, for alerts
                        },
                    )
    except FileRejected as exc:
        await _record_failure(conn, load_id, tally, "REJECTED", str(exc))
        raise
    except IngestError as exc:
        await _record_failure(conn, load_id, tally, "FAILED", str(exc))
        raise
    except repo.DatabaseRefused as exc:
        message = f"{path.name}: the database refused the load: {exc}"
        await _record_failure(conn, load_id, tally, "FAILED", message)
        raise LoadFailed(message) from None
    except Exception as exc:
        # A bug, or the connection lost: say so if the database can still hear it (else the next
        # load finds the attempt abandoned).
        with suppress(Exception):
            await _record_failure(conn, load_id, tally, "FAILED", f"{path.name}: {type(exc).__name__}: {exc}")
        raise
    finally:
        with suppress(repo.DatabaseRefused, OSError, asyncio.CancelledError):
            async with repo.database_errors():
                await loads.end_load(conn, load_id)
    if written and options.analyze:
        # The planner's statistics would miss what the load wrote until autovacuum (off on some
        # servers) analyses the tables: conversions and rankings then plan as if the tables were empty.
        # (A big etf-daily write analysed its table in the transaction already.)
        async with repo.database_errors():
            await repo.analyze(conn, [t for t in written if t not in counts.analyzed])
    return LoadResult(
        dataset=spec.name,
        file=path,
        layout=layout_name,
        sha256=digest,
        status=status,
        rows_read=tally.read,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=len(tally.bad_lines),
        skipped=tally.skipped,
        first_day=tally.first_day,
        last_day=tally.last_day,
        data_version=version,
        load_id=load_id,
        seconds=time.monotonic() - began,
        rejects_file=rejects,
        tables=written,
        same_as_load=previous.id if previous else None,
        phases=(*tally.phases.items(), ("rollups, history, commit", time.monotonic() - staged_at))
        if tally.phases
        else (),
    )


async def _lock(conn: Connection, dataset_name: str, on_wait: Callable[[str], None] | None) -> None:
    """Take the dataset's load lock; when another load holds it, say whose and since when, then wait."""
    async with repo.database_errors():
        if await loads.try_lock_dataset(conn, dataset_name):
            return
        holder = await loads.dataset_lock_holder(conn, dataset_name)
        message = waiting_message(dataset_name, holder)
        log.info("load_waiting", dataset=dataset_name, message=message)
        if on_wait is not None:
            on_wait(message)
        waited = time.monotonic()
        await loads.lock_dataset(conn, dataset_name)
        if on_wait is not None:
            on_wait(f"{dataset_name}: got the load lock after {time.monotonic() - waited:.1f}s")


def waiting_message(dataset_name: str, holder: loads.LockHolder | None) -> str:
    if holder is None:
        return f"{dataset_name}: waiting for another load of this dataset to finish"
    since = f" since {holder.since:%Y-%m-%d %H:%M:%S %Z}" if holder.since else ""
    if holder.load_id is not None:
        started = f", started {holder.started_at:%H:%M:%S %Z}" if holder.started_at else ""
        who = f"load #{holder.load_id} ({holder.file_name}{started}, server process {holder.pid})"
    else:
        who = f"server process {holder.pid} (not a recorded load)"
    return f"{dataset_name}: waiting for the dataset's load lock, held{since} by {who}"


async def _record_failure(conn: Connection, load_id: int, tally: _Tally, status: str, error: str) -> None:
    """The attempt's outcome after its work rolled back, in a transaction of its own."""
    async with repo.database_errors(), conn.transaction():
        await loads.mark_abandoned(conn, load_id)
        await loads.finish_load(conn, load_id, tally.outcome(status, error=error[:4000]))


def _reject_or_keep(tally: _Tally, options: LoadOptions) -> None:
    if tally.error_count and not options.skip_invalid:
        raise FileRejected(tally.file, tally.errors, tally.error_count)


async def _load_staged(
    conn: Connection, layout: type[Line], rows: _Rows, tally: _Tally, options: LoadOptions
) -> repo.Counts:
    spec = layout.spec(rows.present)
    await repo.create_staging(conn, spec)
    weights: dict[tuple[str, date], tuple[float, list[int]]] = {}

    def valid() -> Iterator[tuple[int, Line]]:
        for line, row in rows:
            if row.skipped():
                tally.skipped += 1
                continue
            if isinstance(row, MembershipLine):
                total, lines = weights.get((row.index_code, row.effective_from), (0.0, []))
                lines.append(line)
                weights[(row.index_code, row.effective_from)] = (total + float(row.weight_pct), lines)
            yield line, row

    # Once the file is known to be rejected, rows are still validated (to list every error) but not sent.
    def sending() -> bool:
        return options.skip_invalid or tally.error_count == 0

    async with repo.database_errors():

        async def records() -> AsyncIterator[tuple[Any, ...]]:
            for line, row in valid():
                if sending():
                    yield (line, *row.record())

        await repo.copy_records(conn, spec, records())

        for (index_code, day), (total, lines) in weights.items():
            if abs(total - 100.0) > WEIGHT_TOLERANCE_PCT:
                for line in lines:
                    tally.error(
                        line,
                        layout.column_of("weight_pct"),
                        "",
                        f"the weights of {index_code} on {day} sum to {total:.4f}%, not 100%",
                    )
        _reject_or_keep(tally, options)
        staged = await repo.staged_count(conn)
        if staged > 10_000:
            await repo.analyze_staging(conn)
        if await repo.duplicate_keys_fast(conn, spec.unique):
            for line, key, first in await repo.duplicate_keys(conn, spec.unique):
                tally.error(line, key, "", f"repeats the key of line {first}")
        for line, name, value, reason in await repo.unknown_references(conn, spec):
            tally.error(line, layout.column_of(name), value, reason)
        if layout is MembershipLine:
            for line, index_code, day, later in await repo.later_snapshots(conn):
                tally.error(
                    line,
                    layout.column_of("effective_from"),
                    day.isoformat(),
                    f"a later snapshot of {index_code} ({later}) is already loaded; "
                    "load snapshots in date order",
                )
        _reject_or_keep(tally, options)
        if tally.bad_lines:
            await repo.drop_lines(conn, sorted(tally.bad_lines))
        # Alerts announce the southbound days the flows change: read before the write.
        changing = await repo.southbound_days_changing(conn) if layout is ConnectDailyLine else None
        counts = await repo.upsert(conn, spec)
        if changing is not None:
            counts = dataclasses.replace(counts, written=(changing,))
        await repo.drop_staging(conn)
    return counts


async def _load_etf_daily(
    conn: Connection, source: Source, rows: _Rows, tally: _Tally, options: LoadOptions
) -> repo.Counts:
    """A manager's daily NAV file (millions of rows in a history): the loader's hot path.

    Each line is read once. A plain line (``PlainDailyLines``: the model would take it as written) of
    a loaded fund, with a real date and AUM = NAV x units beyond doubt, goes to COPY as it is, after
    its line number and its fund's id: no model, no Decimal, PostgreSQL parses the numbers. Every
    other line goes through EtfDailyLine like the rows of any layout (so its errors read the same) and
    is staged from the model's values. Unknown funds are found here, by line. While each fund's days
    arrive in increasing order (a daily file; a history sorted by fund or by day) no key can repeat, so
    staging is searched for repeated keys only when they do not. etf_daily_stats is written only after
    every line has been read and checked.
    """
    began = time.monotonic()
    layout = EtfDailyLine
    spec = layout.spec()
    # A column named twice: the later one counts (as in ``_Rows``); the earlier is not used.
    fields = header_fields(layout, source.header)
    # A column the file lacks takes the model's default (net creations: 0), else stays NULL.
    defaults = {
        name: repr(str(info.default))
        for name, info in layout.model_fields.items()
        if name not in rows.present and isinstance(info.default, Decimal)
    }
    async with repo.database_errors():
        funds = {key: str(etf_id) for key, etf_id in (await repo.etf_keys(conn)).items()}
        columns = await repo.create_daily_staging(conn, spec, fields, defaults)
    plain = PlainDailyLines(fields, source.newline)
    newline = source.newline
    code_column = layout.column_of("code")
    latest: dict[str, date] = {}  # each fund's latest day so far
    in_order = True
    staged = 0
    read = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal in_order, staged, read
        fullmatch = plain.fullmatch if plain.usable else None
        groups = plain.groups
        day_of = plain.day
        progress = options.progress
        send = True  # once the file is known to be rejected, rows are still checked but not sent
        batch: list[str] = []
        first: date | None = None
        last: date | None = None
        try:
            for line, record in source.records:
                if fullmatch is not None and type(record) is str:
                    match = fullmatch(record)
                    if match is not None:
                        day_text, mic, code, nav, units, aum = match.group(*groups)
                        day = day_of(day_text)
                        etf = funds.get((mic, code))
                        if day is not None and etf is not None and aum_ok(nav, units, aum):
                            read += 1
                            previous = latest.get(etf)
                            if previous is not None and day <= previous:
                                in_order = False
                            latest[etf] = day
                            if first is None or day < first:
                                first = day
                            if last is None or day > last:
                                last = day
                            if send:
                                batch.append(f"{line},{etf},{record}")
                                if len(batch) >= DAILY_CHUNK_ROWS:
                                    staged += len(batch)
                                    yield "".join(batch).encode()
                                    batch = []
                            if progress is not None and read % PROGRESS_EVERY == 0:
                                progress(source.position(), source.size, read)
                            continue
                cells = record_cells(record)
                if not any(cells):
                    continue  # blank lines are not rows
                read += 1
                if progress is not None and read % PROGRESS_EVERY == 0:
                    progress(source.position(), source.size, read)
                row = rows.validate(line, cells)
                if row is None:
                    send = options.skip_invalid
                    continue
                assert isinstance(row, EtfDailyLine)
                values = row.staging_values()
                etf = funds.get((values["mic"], values["code"]))
                if etf is None:
                    reason = f"no ETF {values['mic']}:{values['code']} is loaded (load etfs first)"
                    tally.error(line, code_column, values["code"], reason)
                    send = options.skip_invalid
                    continue
                funds[(row.mic, row.code)] = etf  # the code as this file writes it (700 for 00700)
                previous = latest.get(etf)
                if previous is not None and row.trading_day <= previous:
                    in_order = False
                latest[etf] = row.trading_day
                if send:
                    cells = [values[name] if name is not None else "" for name in fields]
                    batch.append(f"{line},{etf},{','.join(cells)}{newline}")
            if batch and send:
                staged += len(batch)
                yield "".join(batch).encode()
        finally:
            tally.read = read
            tally.day(first)
            tally.day(last)
        if progress is not None:
            progress(source.size, source.size, read)

    async with repo.database_errors():
        await repo.copy_lines(conn, columns, chunks())
        tally.phases["read, check, stage"] = time.monotonic() - began
        _reject_or_keep(tally, options)
        began = time.monotonic()
        if not in_order and await repo.duplicate_keys_fast(conn, spec.unique):
            repeated = await repo.duplicate_keys(conn, spec.unique)
            for line, key, first_line in repeated:
                tally.error(line, key, "", f"repeats the key of line {first_line}")
            _reject_or_keep(tally, options)
            staged -= await repo.drop_lines(conn, [line for line, _, _ in repeated])
        if staged:
            assert tally.first_day is not None and tally.last_day is not None
            counts = await repo.merge_etf_daily(conn, spec, staged, tally.first_day, tally.last_day)
        else:
            counts = repo.Counts()
        await repo.drop_staging(conn)
        tally.phases["write etf_daily_stats"] = time.monotonic() - began
    return counts


async def _load_eligibility(
    conn: Connection,
    path: Path,
    source: Source,
    layout: type[Line],
    rows: _Rows,
    tally: _Tally,
    options: LoadOptions,
) -> repo.Counts:
    """Change files and full lists are small (hundreds of lines): planned in memory, written set-based."""
    link = eligibility.LINKS.get(options.link or "") or eligibility.link_from_name(path.name)
    if link is None:
        raise IngestError(
            f"{path.name}: which Connect link is this file for? Put one of "
            f"{', '.join(eligibility.LINKS)} in the file name or pass --link"
        )
    parsed = list(rows)
    codes = sorted({local_code(link.mic, r.stock_code) for _, r in parsed if hasattr(r, "stock_code")})
    whole_list = layout is EligibilityListLine
    async with repo.database_errors():
        # A code is a fund's (ETF Connect) or else a stock's: each holder has its own periods.
        ids = {"etf": await repo.etf_ids(conn, link.mic, codes)}
        ids["security"] = await repo.security_ids(conn, link.mic, [c for c in codes if c not in ids["etf"]])
        existing = {
            holder: await repo.eligibility_periods(
                conn, holder, link.direction, link.channel, None if whole_list else list(found.values())
            )
            for holder, found in ids.items()
        }
    code_column = layout.column_of("stock_code")
    changes: dict[str, list[eligibility.Change]] = {holder: [] for holder in ids}
    listed: dict[str, dict[int, int]] = {holder: {} for holder in ids}
    as_at = source.as_at() if whole_list else None
    if whole_list and as_at is None:
        raise IngestError(f"{path.name}: a full list needs an 'Updated as at DD/MM/YYYY' title row")
    tally.day(as_at)
    for line, row in parsed:
        assert isinstance(row, EligibilityChangeLine | EligibilityListLine)
        code = local_code(link.mic, row.stock_code)
        holder = next((h for h, found in ids.items() if code in found), None)
        if holder is None:
            tally.error(line, code_column, row.stock_code, f"no ETF or security {link.mic}:{code} is loaded")
            continue
        if isinstance(row, EligibilityListLine):
            listed[holder][ids[holder][code]] = line
            continue
        kind = row.kind
        if kind == "IGNORE":
            tally.skipped += 1  # code and name changes: the identity is kept elsewhere
            continue
        status = {"ADD": "ELIGIBLE", "ELIGIBLE": "ELIGIBLE", "SELL_ONLY": "SELL_ONLY", "REMOVE": None}[kind]
        reason = row.change + (f" ({row.remarks})" if row.remarks else "")
        change = eligibility.Change(line, ids[holder][code], row.effective_date, status, reason)
        changes[holder].append(change)
    if as_at is not None:
        reason = f"{path.name}: list as at {as_at}"
        changes = {h: eligibility.list_changes(existing[h], listed[h], as_at, reason) for h in ids}
    results = {holder: eligibility.plan(existing[holder], changes[holder]) for holder in ids}
    for result in results.values():
        for line, reason in result.errors:
            tally.error(line, layout.column_of("effective_date"), "", reason)
    _reject_or_keep(tally, options)
    async with repo.database_errors():
        for holder, result in results.items():
            await repo.apply_eligibility(
                conn, holder, link.direction, link.channel, result.deleted, result.updated, result.inserted
            )
    outcomes = [o for result in results.values() for o in result.outcomes]
    by_line = [o for line, o in outcomes if line > 0]
    removals = sum(1 for line, o in outcomes if line == 0 and o != "unchanged")
    return repo.Counts(
        by_line.count("inserted"), by_line.count("updated") + removals, by_line.count("unchanged")
    )


def _write_rejects(path: Path, layout: type[Line], tally: _Tally) -> Path:
    """``<file>.rejects.csv`` beside the input: each rejected line, why, and its original cells."""
    out = path.with_name(f"{path.stem}.rejects.csv")
    with open_source(path, [layout.required_headers()]) as (source, _), out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Line", "Errors", *source.header])
        for line, cells in source.rows:
            reasons = tally.bad_lines.get(line)
            if reasons:
                writer.writerow([line, "; ".join(reasons), *cells])
    return out
