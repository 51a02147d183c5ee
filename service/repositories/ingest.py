"""The SQL of loads: a temporary staging table per load, checks on it, and set-based upserts into the tables.

Every statement runs on the caller's connection inside the load's transaction. Staging is a TEMP table
(``ON COMMIT DROP``, never WAL-logged) filled by COPY; checks report problems by staging line; the
upserts write only rows that differ (``ON CONFLICT ... DO UPDATE ... WHERE (...) IS DISTINCT FROM
(...)``) and count inserted and updated rows from ``RETURNING (xmax = 0)``; unchanged is the rest.
ETF daily figures (``merge_etf_daily``) are staged with their fund's id and written by a plain insert
of new keys and an update of the stored rows that differ, cheaper than ``ON CONFLICT`` at millions.
The statements are built from a ``TableSpec``, the statements' view of a table's declaration
(``service/ingest/tables.py``): table and column names come from the declarations, never from input.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from service.db.client import Connection

STAGE = "ingest_stage"


class DatabaseRefused(Exception):
    """PostgreSQL refused a statement of the load (a constraint, a lock timeout): the message says why."""


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn asyncpg's errors into ``DatabaseRefused`` (callers outside repositories never see asyncpg)."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        detail = f" ({exc.detail})" if getattr(exc, "detail", None) else ""
        raise DatabaseRefused(f"{str(exc).splitlines()[0]}{detail}") from None


@dataclass(frozen=True, slots=True)
class Ref:
    """Staged columns that name a row of another table by its natural key (written as its id).

    ``on`` pairs each staged column with the referenced table's column; ``id_column`` is the column
    written with the referenced row's id (None: only checked). A staged row whose reference is not
    loaded is an error naming ``field``: "no <noun> X is loaded (load <dataset> first)".
    """

    table: str
    on: tuple[tuple[str, str], ...]
    id_column: str | None
    noun: str
    dataset: str
    field: str


@dataclass(frozen=True, slots=True)
class TableSpec:
    """What the statements of one file's load need from its layout's declaration (``Line.spec``).

    ``staging`` is every staged column (after ``line``); ``written`` the staged columns written as they
    are, ``refs`` those written as ids (both only for the columns the file carries, ``present``);
    ``conflict`` the table's natural key; ``unique`` the keys a file must not repeat.
    """

    layout: str
    table: str
    staging: tuple[tuple[str, str], ...]
    written: tuple[str, ...]
    refs: tuple[Ref, ...]
    conflict: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...]
    keep_when_null: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    present: frozenset[str] = frozenset()

    @property
    def staged_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.staging)


KEY_LABELS: dict[tuple[str, ...], str] = {("etf_id", "trading_day"): "mic+code+trading_day"}


@dataclass(frozen=True, slots=True)
class Check:
    """A check of staged rows against the database: (line, value, reason) for each that fails."""

    field: str
    sql: str


def _isin_taken(table: str, code: str) -> Check:
    return Check(
        "isin",
        f"""SELECT s.line, s.isin, 'ISIN already belongs to ' || r.mic || ':' || r.{code}
        FROM {STAGE} s JOIN {table} r ON r.isin = s.isin
        WHERE (r.mic::text, r.{code}) <> (s.mic, s.{code})""",
    )


# Checks beyond references, by table.
CHECKS: dict[str, tuple[Check, ...]] = {
    "securities": (_isin_taken("securities", "local_code"),),
    "etfs": (
        _isin_taken("etfs", "code"),
        Check(
            "counters",
            f"""SELECT s.line, c.code, 'counter ' || s.mic || ':' || c.code || ' belongs to the fund '
                || e.mic || ':' || e.code
            FROM {STAGE} s CROSS JOIN unnest(s.counter_codes) AS c(code)
            JOIN etf_counters t ON t.mic = s.mic AND t.code = c.code
            JOIN etfs e ON e.id = t.etf_id
            WHERE (e.mic::text, e.code) <> (s.mic, s.code)""",
        ),
    ),
    "connect_daily_flows": (
        Check(
            "quota_balance",
            f"""SELECT s.line, s.trading_day::text,
                'no CNY/HKD rate on or before ' || s.trading_day || ' to state the RMB quota in HKD '
                || '(load fx first)'
            FROM {STAGE} s CROSS JOIN LATERAL fx_rate('CNY', 'HKD', s.trading_day) fx
            WHERE s.direction = 'SOUTHBOUND' AND fx.rate IS NULL""",
        ),
    ),
    "connect_top_stocks": (
        Check(
            "trading_day",
            f"""SELECT s.line, s.trading_day::text,
                'no Connect day ' || s.channel || ' ' || s.direction || ' ' || s.trading_day
                || ' is loaded (load connect-daily first: the flows file, then its top tens)'
            FROM {STAGE} s
            WHERE NOT EXISTS (SELECT 1 FROM connect_daily_flows f WHERE f.direction = s.direction
                              AND f.trading_day = s.trading_day AND f.channel = s.channel)""",
        ),
    ),
}

# Statements run on the staged rows before the upsert, by table.
PREPARE: dict[str, tuple[str, ...]] = {
    # HKEX states southbound quotas in RMB; a southbound row's amounts are HKD, at the day's CNY/HKD rate.
    "connect_daily_flows": (
        f"""UPDATE {STAGE} s
            SET daily_quota = round(s.daily_quota * fx.rate, 2),
                quota_balance = round(s.quota_balance * fx.rate, 2)
            FROM (SELECT DISTINCT trading_day FROM {STAGE} WHERE direction = 'SOUTHBOUND') d
            CROSS JOIN LATERAL fx_rate('CNY', 'HKD', d.trading_day) fx
            WHERE s.direction = 'SOUTHBOUND' AND s.trading_day = d.trading_day""",
    ),
}


def _ref_check(ref: Ref) -> Check:
    columns = [f"s.{staged}" for staged, _ in ref.on]
    shown = " || ':' || ".join(columns)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    matches = " AND ".join(f"r.{theirs} = s.{staged}" for staged, theirs in ref.on)
    return Check(
        ref.field,
        f"""SELECT s.line, s.{ref.field},
               'no {ref.noun} ' || {shown} || ' is loaded (load {ref.dataset} first)'
        FROM {STAGE} s WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {ref.table} r WHERE {matches})""",
    )


@dataclass(frozen=True, slots=True)
class WrittenDays:
    """Days a load inserted or changed, for alerts: southbound flow days (``SOUTHBOUND_DAYS``), or one
    fund's daily figures (``ETF_DAYS``, with the fund's id)."""

    kind: str
    etf_id: int | None
    days: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    analyzed: tuple[str, ...] = ()  # tables the write analysed already, in the load's transaction
    written: tuple[WrittenDays, ...] = ()  # what alerts announce (service/alerts)

    @property
    def changed(self) -> bool:
        return self.inserted + self.updated > 0


async def create_staging(conn: Connection, spec: TableSpec) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in spec.staging)
    # A second load in one outer transaction (the tests) finds the first one's table: replace it.
    await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
    await conn.execute(f"CREATE TEMP TABLE {STAGE} (line bigint NOT NULL, {columns}) ON COMMIT DROP")


async def drop_staging(conn: Connection) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")


async def copy_records(
    conn: Connection, spec: TableSpec, records: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]]
) -> None:
    await conn.copy_records_to_table(STAGE, records=records, columns=["line", *spec.staged_names])


async def analyze_staging(conn: Connection) -> None:
    # Temp tables are never auto-analysed: without statistics the planner guesses badly on big loads.
    await conn.execute(f"ANALYZE {STAGE}")


async def analyze(conn: Connection, tables: Iterable[str]) -> None:
    """ANALYZE the tables a load wrote, so the next statements plan with their new contents."""
    for table in tables:
        # Table names come from the declarations (service/ingest/tables.py), never from input.
        await conn.execute(f"ANALYZE {table}")


async def table_counts(conn: Connection, tables: Iterable[str]) -> dict[str, int]:
    """Rows per table (names from the caller's constants, never input)."""
    return {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for table in tables}


async def staged_count(conn: Connection) -> int:
    return int(await conn.fetchval(f"SELECT count(*) FROM {STAGE}"))


async def duplicate_keys(conn: Connection, keys: Sequence[tuple[str, ...]]) -> list[tuple[int, str, int]]:
    """(line, key columns, first line) for every line whose key an earlier line of the file holds."""
    found: list[tuple[int, str, int]] = []
    for key in keys:
        cols = ", ".join(key)
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in key)
        rows = await conn.fetch(
            f"""SELECT line, first_line FROM (
                    SELECT line, min(line) OVER (PARTITION BY {cols}) AS first_line,
                           count(*) OVER (PARTITION BY {cols}) AS n
                    FROM {STAGE} WHERE {not_null}) d
                WHERE n > 1 AND line <> first_line ORDER BY line"""
        )
        label = KEY_LABELS.get(key, "+".join(key))
        found += [(r["line"], label, r["first_line"]) for r in rows]
    return found


async def duplicate_keys_fast(conn: Connection, keys: Sequence[tuple[str, ...]]) -> bool:
    """True when the file repeats a key (one aggregate pass; the detailed listing only when it does)."""
    for key in keys:
        cols = ", ".join(key)
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in key)
        if await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {STAGE} WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)"
        ):
            return True
    return False


async def unknown_references(conn: Connection, spec: TableSpec) -> list[tuple[int, str, str, str]]:
    """(line, field, value, reason) for each staged row pointing at something not loaded (or taken)."""
    found: list[tuple[int, str, str, str]] = []
    for check in (*(_ref_check(ref) for ref in spec.refs), *CHECKS.get(spec.table, ())):
        for line, value, reason in await conn.fetch(check.sql + " ORDER BY 1"):
            found.append((line, check.field, "" if value is None else str(value), reason))
    return found


# The southbound days whose staged flows are new or differ from the stored ones (run before the upsert).
_SOUTHBOUND_DAYS_CHANGING = f"""
    SELECT DISTINCT s.trading_day FROM {STAGE} s
    LEFT JOIN connect_daily_flows f
      ON f.direction = s.direction AND f.trading_day = s.trading_day AND f.channel = s.channel
    WHERE s.direction = 'SOUTHBOUND'
      AND (f.trading_day IS NULL OR (f.buy_turnover, f.sell_turnover, f.total_turnover, f.net_buy,
           f.trade_count, f.etf_turnover) IS DISTINCT FROM (s.buy_turnover, s.sell_turnover,
           s.total_turnover, s.net_buy, s.trade_count, s.etf_turnover))
    ORDER BY 1"""


async def southbound_days_changing(conn: Connection) -> WrittenDays | None:
    """The southbound days the staged flows will insert or change (None when none)."""
    days = tuple(r[0] for r in await conn.fetch(_SOUTHBOUND_DAYS_CHANGING))
    return WrittenDays("SOUTHBOUND_DAYS", None, days) if days else None


async def drop_lines(conn: Connection, lines: Sequence[int]) -> int:
    """Remove these lines from staging; returns how many staged rows went."""
    return _count(await conn.execute(f"DELETE FROM {STAGE} WHERE line = ANY($1::bigint[])", list(lines)))


def upsert_statement(spec: TableSpec) -> str:
    """INSERT ... SELECT the staged rows ... ON CONFLICT (natural key) DO UPDATE only the rows whose
    values differ; returns (inserted, updated). References are written as the referenced rows' ids."""
    columns = list(spec.written)
    values = [f"s.{c}" for c in spec.written]
    joins: list[str] = []
    for n, ref in enumerate(spec.refs, 1):
        if ref.id_column is None:
            continue
        matches = " AND ".join(f"r{n}.{theirs} = s.{staged}" for staged, theirs in ref.on)
        # Unknown references were refused before: a LEFT JOIN only leaves NULL for a blank one.
        joins.append(f"LEFT JOIN {ref.table} r{n} ON {matches}")
        columns.append(ref.id_column)
        values.append(f"r{n}.id")
    updatable = [c for c in columns if c not in spec.conflict and c not in spec.fixed]

    def new(c: str) -> str:
        return f"coalesce(EXCLUDED.{c}, t.{c})" if c in spec.keep_when_null else f"EXCLUDED.{c}"

    if updatable:
        on_conflict = (
            f"DO UPDATE SET {', '.join(f'{c} = {new(c)}' for c in updatable)} "
            f"WHERE ({', '.join(f't.{c}' for c in updatable)}) "
            f"IS DISTINCT FROM ({', '.join(new(c) for c in updatable)})"
        )
    else:
        on_conflict = "DO NOTHING"
    return f"""
        WITH up AS (
            INSERT INTO {spec.table} AS t ({", ".join(columns)})
            SELECT {", ".join(values)} FROM {STAGE} s {" ".join(joins)}
            ON CONFLICT ({", ".join(spec.conflict)}) {on_conflict}
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
        FROM up"""


# An ETF's counters become exactly those its line lists (the first is the primary one); a file without
# the counters column gives new funds their primary counter and leaves the others' as they are.
_COUNTERS_WANTED = f"""
    WITH wanted AS (
        SELECT e.id AS etf_id, e.mic, c.code, c.currency, c.ord = 1 AS is_primary
        FROM {STAGE} s JOIN etfs e ON e.mic = s.mic AND e.code = s.code
        CROSS JOIN LATERAL unnest(s.counter_codes, s.counter_currencies)
             WITH ORDINALITY AS c(code, currency, ord)
    )"""
_COUNTERS_DELETE = f"""{_COUNTERS_WANTED}
    DELETE FROM etf_counters t
    WHERE t.etf_id IN (SELECT etf_id FROM wanted)
      AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.etf_id = t.etf_id AND w.mic = t.mic
                      AND w.code = t.code AND w.currency = t.currency AND w.is_primary = t.is_primary)"""
_COUNTERS_INSERT = f"""{_COUNTERS_WANTED}
    INSERT INTO etf_counters (etf_id, mic, code, currency, is_primary)
    SELECT etf_id, mic, code, currency, is_primary FROM wanted w
    WHERE $1 OR NOT EXISTS (SELECT 1 FROM etf_counters t WHERE t.etf_id = w.etf_id)
    ON CONFLICT (mic, code) DO NOTHING"""


def _count(status: str) -> int:
    return int(status.split()[-1])


async def upsert(conn: Connection, spec: TableSpec) -> Counts:
    """Write the staged rows into their table; (inserted, updated, unchanged) by staged row."""
    if spec.table == "index_memberships":
        return await _apply_memberships(conn)
    staged = await staged_count(conn)
    for statement in PREPARE.get(spec.table, ()):
        await conn.execute(statement)
    row = await conn.fetchrow(upsert_statement(spec))
    assert row is not None
    inserted, updated = int(row["inserted"]), int(row["updated"])
    if spec.table == "etfs":
        listed = "counters" in spec.present
        changed = _count(await conn.execute(_COUNTERS_DELETE)) if listed else 0
        changed += _count(await conn.execute(_COUNTERS_INSERT, listed))
        # A changed counter is a changed fund (counted as updated when its line was otherwise unchanged).
        if changed and not (inserted + updated):
            updated = 1
    return Counts(inserted, updated, staged - inserted - updated)


# --- ETF daily statistics: millions of rows, staged with their fund's id ---------------------------------


@dataclass(frozen=True, slots=True)
class DailyStatements:
    """The statements of an etf-daily load, for the columns its declaration writes."""

    existing: str
    update: str
    insert_all: str
    insert_new: str
    all_days: str  # each fund's staged days (when none is stored)
    changing_days: str  # each fund's staged days that are new or differ


@functools.cache
def daily_statements(spec: TableSpec) -> DailyStatements:
    written = ["etf_id", *spec.written]
    values = ", ".join(written)
    compared = [c for c in written if c not in ("etf_id", "trading_day")]
    stored = ", ".join(f"t.{c}" for c in compared)
    staged = ", ".join(f"s.{c}" for c in compared)
    differs = f"({stored}) IS DISTINCT FROM ({staged})"
    insert_all = f"INSERT INTO {spec.table} ({values}) SELECT {values} FROM {STAGE}"
    return DailyStatements(
        # Staged rows whose key is stored already, and how many of them differ (the day range lets the
        # planner probe the day index when the stored days around the file's are few).
        existing=f"""
            SELECT count(*) AS existing, count(*) FILTER (WHERE {differs}) AS differing
            FROM {STAGE} s JOIN {spec.table} t ON t.etf_id = s.etf_id AND t.trading_day = s.trading_day
            WHERE t.trading_day BETWEEN $1 AND $2""",
        update=f"""
            UPDATE {spec.table} t SET {", ".join(f"{c} = s.{c}" for c in compared)}
            FROM {STAGE} s
            WHERE t.etf_id = s.etf_id AND t.trading_day = s.trading_day AND t.trading_day BETWEEN $1 AND $2
              AND {differs}""",
        insert_all=insert_all,
        all_days=f"""SELECT etf_id, array_agg(trading_day ORDER BY trading_day) AS days FROM {STAGE}
            GROUP BY etf_id ORDER BY etf_id""",
        changing_days=f"""
            SELECT s.etf_id, array_agg(s.trading_day ORDER BY s.trading_day) AS days
            FROM {STAGE} s LEFT JOIN {spec.table} t
              ON t.etf_id = s.etf_id AND t.trading_day = s.trading_day AND t.trading_day BETWEEN $1 AND $2
            WHERE t.etf_id IS NULL OR {differs}
            GROUP BY s.etf_id ORDER BY s.etf_id""",
        insert_new=f"""{insert_all} s
            WHERE NOT EXISTS (SELECT 1 FROM {spec.table} t
                              WHERE t.etf_id = s.etf_id AND t.trading_day = s.trading_day)""",
    )


# A big load sorts and hashes millions of staged rows against the table: memory for that, this load only.
BIG_MERGE_ROWS = 100_000
BIG_MERGE_WORK_MEM = "128MB"


async def etf_keys(conn: Connection) -> dict[tuple[str, str], int]:
    """Every loaded fund's id by (MIC, code): etf-daily rows are resolved while the file is read."""
    return {(r["mic"], r["code"]): r["id"] for r in await conn.fetch("SELECT mic::text, code, id FROM etfs")}


def daily_staging_columns(header_fields: Sequence[str | None]) -> list[str]:
    """COPY columns of an etf-daily file: line, the fund's id, then one per header column, in order
    (columns the layout does not use land in ``unused_<n>``)."""
    return [
        "line",
        "etf_id",
        *(name if name is not None else f"unused_{i}" for i, name in enumerate(header_fields, start=1)),
    ]


async def create_daily_staging(
    conn: Connection, spec: TableSpec, header_fields: Sequence[str | None], defaults: Mapping[str, str]
) -> list[str]:
    """The staging table of an etf-daily file; returns its COPY columns. A column the file lacks
    stays NULL, or takes its ``defaults`` (SQL literals: the model's defaults)."""
    columns = [
        f"{name} {kind}" + (f" DEFAULT {defaults[name]}" if name in defaults else "")
        for name, kind in spec.staging
    ]
    columns += [f"unused_{i} text" for i, name in enumerate(header_fields, start=1) if name is None]
    await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
    await conn.execute(
        f"CREATE TEMP TABLE {STAGE} (line bigint NOT NULL, {', '.join(columns)}) ON COMMIT DROP"
    )
    return daily_staging_columns(header_fields)


async def copy_lines(conn: Connection, columns: Sequence[str], source: AsyncIterable[bytes]) -> None:
    """COPY CSV text (no header, unquoted; an empty cell is NULL) into the staging table as it comes."""
    await conn.copy_to_table(STAGE, source=source, columns=list(columns), format="csv")


async def merge_etf_daily(
    conn: Connection, spec: TableSpec, staged: int, first_day: date, last_day: date
) -> Counts:
    """Write the staged daily rows into etf_daily_stats; (inserted, updated, unchanged) by staged row.

    The common case, rows of days not loaded yet, is one plain INSERT ... SELECT (no conflict handling,
    no comparisons). When some keys are stored already, those rows are compared and only the ones that
    differ are updated, then the rest are inserted. Keys never repeat in staging (checked before), and
    two loads of the dataset never run at once (the advisory lock), so nothing can come in between.
    """
    if staged == 0:
        return Counts()
    statements = daily_statements(spec)
    if staged >= BIG_MERGE_ROWS:
        await conn.execute("SELECT set_config('work_mem', $1, true)", BIG_MERGE_WORK_MEM)
    found = await conn.fetchrow(statements.existing, first_day, last_day)
    assert found is not None
    existing, differing = int(found["existing"]), int(found["differing"])
    # What alerts will announce: each fund's days that are new or differ (every staged day when none is
    # stored yet), read before the write.
    changing = statements.all_days if existing == 0 else statements.changing_days
    written = tuple(
        WrittenDays("ETF_DAYS", r["etf_id"], tuple(r["days"]))
        for r in await conn.fetch(changing, *(() if existing == 0 else (first_day, last_day)))
    )
    if existing == 0:
        inserted = _count(await conn.execute(statements.insert_all))
        updated = 0
    else:
        await analyze_staging(conn)
        updated = _count(await conn.execute(statements.update, first_day, last_day)) if differing else 0
        inserted = _count(await conn.execute(statements.insert_new)) if existing < staged else 0
    analyzed: tuple[str, ...] = ()
    if inserted >= BIG_MERGE_ROWS:
        # Autovacuum would analyse the table only after the commit: the rest of this load (the
        # analytics rollup) and the next one would plan with statistics that miss these rows.
        await analyze(conn, [spec.table])
        analyzed = (spec.table,)
    return Counts(inserted, updated, staged - inserted - updated, analyzed, written)


# --- Index memberships: snapshots close and open periods ----------------------------------------------

# Snapshots older than the index's latest loaded period are history: refused unless they match it
# exactly (so reloading a file of snapshots is a no-op).
_LATER_SNAPSHOT = f"""
    WITH snap AS (
        SELECT s.index_code, s.effective_from AS day, min(s.line) AS line, i.id AS index_id
        FROM {STAGE} s JOIN indices i ON i.code = s.index_code
        GROUP BY s.index_code, s.effective_from, i.id),
    stale AS (
        SELECT snap.*, l.latest FROM snap
        CROSS JOIN LATERAL (SELECT max(m.effective_from) AS latest FROM index_memberships m
                            WHERE m.index_id = snap.index_id) l
        WHERE l.latest > snap.day),
    staged AS (
        SELECT s.index_code, s.effective_from AS day, sec.id AS security_id, s.weight_pct
        FROM {STAGE} s JOIN securities sec ON sec.mic = s.mic AND sec.local_code = s.local_code)
    SELECT st.line, st.index_code, st.day, st.latest FROM stale st
    WHERE EXISTS (
            SELECT 1 FROM staged g WHERE g.index_code = st.index_code AND g.day = st.day
              AND NOT EXISTS (SELECT 1 FROM index_memberships m
                              WHERE m.index_id = st.index_id AND m.security_id = g.security_id
                                AND m.period @> st.day AND m.weight_pct = g.weight_pct))
       OR EXISTS (
            SELECT 1 FROM index_memberships m
            WHERE m.index_id = st.index_id AND m.period @> st.day
              AND NOT EXISTS (SELECT 1 FROM staged g WHERE g.index_code = st.index_code
                              AND g.day = st.day AND g.security_id = m.security_id))
    ORDER BY 1"""

_WANT = f"""
    want AS (
        SELECT i.id AS index_id, sec.id AS security_id, s.weight_pct
        FROM {STAGE} s JOIN indices i ON i.code = s.index_code
        JOIN securities sec ON sec.mic = s.mic AND sec.local_code = s.local_code
        WHERE s.effective_from = $1),
    cur AS (
        SELECT m.id, m.index_id, m.security_id, m.weight_pct, m.effective_from
        FROM index_memberships m
        WHERE m.index_id IN (SELECT index_id FROM want) AND m.period @> $1::date)"""

_MEMBERSHIP_COUNTS = f"""
    WITH {_WANT}
    SELECT count(*) FILTER (WHERE c.id IS NULL) AS inserted,
           count(*) FILTER (WHERE c.id IS NOT NULL AND c.weight_pct <> w.weight_pct) AS updated,
           count(*) FILTER (WHERE c.weight_pct = w.weight_pct) AS unchanged,
           (SELECT count(*) FROM cur WHERE NOT EXISTS (
                SELECT 1 FROM want w2 WHERE (w2.index_id, w2.security_id) = (cur.index_id, cur.security_id)
           )) AS closed
    FROM want w LEFT JOIN cur c ON (c.index_id, c.security_id) = (w.index_id, w.security_id)"""

# A period that began on the snapshot's own date and no longer matches is replaced, not closed.
_MEMBERSHIP_DELETE = f"""
    WITH {_WANT}
    DELETE FROM index_memberships m USING cur c
    WHERE m.id = c.id AND c.effective_from = $1
      AND NOT EXISTS (SELECT 1 FROM want w WHERE (w.index_id, w.security_id, w.weight_pct)
                      = (c.index_id, c.security_id, c.weight_pct))"""
_MEMBERSHIP_CLOSE = f"""
    WITH {_WANT}
    UPDATE index_memberships m SET effective_to = $1 FROM cur c
    WHERE m.id = c.id AND c.effective_from < $1
      AND NOT EXISTS (SELECT 1 FROM want w WHERE (w.index_id, w.security_id, w.weight_pct)
                      = (c.index_id, c.security_id, c.weight_pct))"""
_MEMBERSHIP_OPEN = f"""
    WITH {_WANT}
    INSERT INTO index_memberships (index_id, security_id, weight_pct, effective_from)
    SELECT w.index_id, w.security_id, w.weight_pct, $1 FROM want w
    WHERE NOT EXISTS (SELECT 1 FROM index_memberships m WHERE m.index_id = w.index_id
                      AND m.security_id = w.security_id AND m.period @> $1::date)"""


async def later_snapshots(conn: Connection) -> list[tuple[int, str, date, date]]:
    """(line, index code, snapshot date, later date) for snapshots older than one already loaded."""
    rows = await conn.fetch(_LATER_SNAPSHOT)
    return [(r["line"], r["index_code"], r["day"], r["latest"]) for r in rows]


async def _apply_memberships(conn: Connection) -> Counts:
    days = [r[0] for r in await conn.fetch(f"SELECT DISTINCT effective_from FROM {STAGE} ORDER BY 1")]
    inserted = updated = unchanged = 0
    for day in days:  # snapshots apply in date order; each is set-based
        row = await conn.fetchrow(_MEMBERSHIP_COUNTS, day)
        assert row is not None
        inserted += row["inserted"]
        updated += row["updated"] + row["closed"]
        unchanged += row["unchanged"]
        await conn.execute(_MEMBERSHIP_DELETE, day)
        await conn.execute(_MEMBERSHIP_CLOSE, day)
        await conn.execute(_MEMBERSHIP_OPEN, day)
    return Counts(inserted, updated, unchanged)


# --- Connect eligibility: periods computed by service/ingest/eligibility.py ---------------------------


# Whose eligibility a link's periods are: ETFs' (ETF Connect) or stocks' (the holder's table and id column;
# fixed names, never input).
ELIGIBILITY_HOLDERS: dict[str, tuple[str, str]] = {
    "etf": ("connect_eligibility", "etf_id"),
    "security": ("security_connect_eligibility", "security_id"),
}


@dataclass(frozen=True, slots=True)
class PeriodRow:
    id: int
    etf_id: int  # the holder's id: a fund's, or a stock's for the "security" holder
    status: str
    effective_from: date
    effective_to: date | None
    reason: str | None


async def etf_ids(conn: Connection, mic: str, codes: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT code, id FROM etfs WHERE mic = $1 AND code = ANY($2::text[])", mic, list(codes)
    )
    return {r["code"]: r["id"] for r in rows}


async def security_ids(conn: Connection, mic: str, codes: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT local_code, id FROM securities WHERE mic = $1 AND local_code = ANY($2::text[])",
        mic,
        list(codes),
    )
    return {r["local_code"]: r["id"] for r in rows}


async def eligibility_periods(
    conn: Connection, holder: str, direction: str, channel: str, ids: Sequence[int] | None
) -> list[PeriodRow]:
    """The link's periods of the holder's rows with these ids (None: every row), oldest first."""
    table, id_column = ELIGIBILITY_HOLDERS[holder]
    rows = await conn.fetch(
        f"""SELECT id, {id_column} AS etf_id, status::text AS status, effective_from, effective_to, reason
           FROM {table}
           WHERE direction = $1::connect_direction AND channel = $2::connect_channel
             AND ($3::bigint[] IS NULL OR {id_column} = ANY($3::bigint[]))
           ORDER BY {id_column}, effective_from""",
        direction,
        channel,
        None if ids is None else list(ids),
    )
    return [PeriodRow(**dict(r)) for r in rows]


async def apply_eligibility(
    conn: Connection,
    holder: str,
    direction: str,
    channel: str,
    deleted: Sequence[int],
    updated: Sequence[tuple[int, date | None, str]],
    inserted: Sequence[tuple[int, str, date, date | None, str | None]],
) -> None:
    """Delete, then update (id, effective_to, status), then insert (holder id, status, from, to, reason)."""
    table, id_column = ELIGIBILITY_HOLDERS[holder]
    if deleted:
        await conn.execute(f"DELETE FROM {table} WHERE id = ANY($1::bigint[])", list(deleted))
    if updated:
        await conn.execute(
            f"""UPDATE {table} c SET effective_to = u.effective_to, status = u.status::eligibility_status
               FROM unnest($1::bigint[], $2::date[], $3::text[]) AS u(id, effective_to, status)
               WHERE c.id = u.id""",
            [u[0] for u in updated],
            [u[1] for u in updated],
            [u[2] for u in updated],
        )
    if inserted:
        await conn.execute(
            f"""INSERT INTO {table} ({id_column}, direction, channel, status, effective_from, effective_to,
                                    reason)
               SELECT u.holder_id, $1::connect_direction, $2::connect_channel, u.status::eligibility_status,
                      u.effective_from, u.effective_to, u.reason
               FROM unnest($3::bigint[], $4::text[], $5::date[], $6::date[], $7::text[])
                    AS u(holder_id, status, effective_from, effective_to, reason)""",
            direction,
            channel,
            [i[0] for i in inserted],
            [i[1] for i in inserted],
            [i[2] for i in inserted],
            [i[3] for i in inserted],
            [i[4] for i in inserted],
        )
