"""The SQL of loads: a temporary staging table per load, checks on it, and set-based upserts into the tables.

Every statement runs on the caller's connection inside the load's transaction. Staging is a TEMP table
(``ON COMMIT DROP``, never WAL-logged) filled by COPY; checks report problems by staging line; the
upserts write only rows that differ (``ON CONFLICT ... DO UPDATE ... WHERE (...) IS DISTINCT FROM
(...)``) and count inserted and updated rows from ``RETURNING (xmax = 0)``; unchanged is the rest.
ETF daily figures (``merge_etf_daily``) are staged with their fund's id and written by a plain insert
of new keys and an update of the stored rows that differ, cheaper than ``ON CONFLICT`` at millions.
Table and column names below are fixed identifiers of this module, never input.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
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


# Staging columns per target (after ``line bigint``), in the order of the models' ``record()``.
STAGING: dict[str, tuple[tuple[str, str], ...]] = {
    "indices": (
        ("code", "text"),
        ("name", "text"),
        ("provider", "text"),
        ("currency", "text"),
        ("base_date", "date"),
        ("base_value", "numeric"),
        ("launch_date", "date"),
        ("weighting", "text"),
        ("weight_cap_pct", "numeric"),
        ("review_frequency", "text"),
        ("rebalance_frequency", "text"),
        ("constituent_count", "integer"),
        ("methodology_notes", "text"),
        ("themes", "text[]"),
        ("is_illustrative", "boolean"),
    ),
    "securities": (
        ("mic", "text"),
        ("local_code", "text"),
        ("isin", "text"),
        ("name", "text"),
        ("sector", "text"),
        ("country", "text"),
        ("currency", "text"),
    ),
    "securities_hkex": (
        ("mic", "text"),
        ("local_code", "text"),
        ("isin", "text"),
        ("name", "text"),
        ("country", "text"),
        ("currency", "text"),
    ),
    "memberships": (
        ("index_code", "text"),
        ("effective_from", "date"),
        ("mic", "text"),
        ("local_code", "text"),
        ("weight_pct", "numeric"),
    ),
    "managers": (
        ("slug", "text"),
        ("legal_name", "text"),
        ("short_name", "text"),
        ("home_market", "text"),
        ("website", "text"),
    ),
    "licences": (
        ("index_code", "text"),
        ("manager_slug", "text"),
        ("licensed_on", "date"),
        ("status", "licence_status"),
        ("is_illustrative", "boolean"),
        ("notes", "text"),
    ),
    "etfs": (
        ("mic", "text"),
        ("code", "text"),
        ("isin", "text"),
        ("name_en", "text"),
        ("name_zh", "text"),
        ("issuer_slug", "text"),
        ("index_code", "text"),
        ("listing_date", "date"),
        ("delisting_date", "date"),
        ("base_currency", "text"),
        ("replication", "replication_method"),
        ("ongoing_charges_pct", "numeric"),
        ("leverage_factor", "numeric"),
        ("is_leveraged_inverse", "boolean"),
        ("counter_codes", "text[]"),
        ("counter_currencies", "text[]"),
    ),
    "etf_daily": (
        ("etf_id", "bigint"),
        ("trading_day", "date"),
        ("mic", "text"),
        ("code", "text"),
        ("currency", "text"),
        ("nav_per_unit", "numeric"),
        ("close_price", "numeric"),
        ("shares_outstanding", "numeric"),
        ("aum", "numeric"),
        ("net_creation_units", "numeric"),
        ("net_creation_value", "numeric"),
        ("turnover", "numeric"),
        ("southbound_holding_units", "numeric"),
    ),
    "connect_daily": (
        ("channel", "connect_channel"),
        ("direction", "connect_direction"),
        ("trading_day", "date"),
        ("currency", "text"),
        ("buy_turnover", "numeric"),
        ("sell_turnover", "numeric"),
        ("total_turnover", "numeric"),
        ("net_buy", "numeric"),
        ("trade_count", "integer"),
        ("buy_trade_count", "integer"),
        ("sell_trade_count", "integer"),
        ("etf_turnover", "numeric"),
        ("daily_quota", "numeric"),
        ("quota_balance", "numeric"),
        ("quota_balance_unlimited", "boolean"),
    ),
    "calendar": (
        ("market", "text"),
        ("day", "date"),
        ("is_open", "boolean"),
        ("is_half_day", "boolean"),
        ("note", "text"),
    ),
    "connect_exceptions": (
        ("direction", "connect_direction"),
        ("day", "date"),
        ("is_connect_day", "boolean"),
        ("reason", "text"),
    ),
    "fx": (
        ("base_currency", "text"),
        ("quote_currency", "text"),
        ("day", "date"),
        ("rate", "numeric"),
        ("source", "text"),
    ),
}

# The natural keys a file must not repeat (each a tuple of staging columns; NULLs never collide).
# etf-daily rows are staged with their fund's id (resolved while reading): the key as a reader knows it.
KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "indices": (("code",),),
    "securities": (("mic", "local_code"), ("isin",)),
    "securities_hkex": (("mic", "local_code"), ("isin",)),
    "memberships": (("index_code", "effective_from", "mic", "local_code"),),
    "managers": (("slug",),),
    "licences": (("index_code", "manager_slug"),),
    "etfs": (("mic", "code"), ("isin",)),
    "etf_daily": (("etf_id", "trading_day"),),
    "connect_daily": (("channel", "direction", "trading_day"),),
    "calendar": (("market", "day"),),
    "connect_exceptions": (("direction", "day"),),
    "fx": (("base_currency", "quote_currency", "day"),),
}


KEY_LABELS: dict[tuple[str, ...], str] = {("etf_id", "trading_day"): "mic+code+trading_day"}


@dataclass(frozen=True, slots=True)
class Reference:
    """A check that staged rows point at loaded rows: (line, value, reason) for each that does not."""

    field: str
    sql: str


_MISSING_INDEX = Reference(
    "index_code",
    f"""SELECT s.line, s.index_code, 'no index ' || s.index_code || ' is loaded (load indices first)'
    FROM {STAGE} s WHERE s.index_code IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM indices r WHERE r.code = s.index_code)""",
)
_MISSING_MANAGER = Reference(
    "{field}",
    f"""SELECT s.line, s.{{col}}, 'no manager ' || s.{{col}} || ' is loaded (load managers first)'
    FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM asset_managers r WHERE r.slug = s.{{col}})""",
)


def _manager(field: str, col: str) -> Reference:
    return Reference(field, _MISSING_MANAGER.sql.format(col=col))


def _isin_taken(table: str, code: str) -> Reference:
    return Reference(
        "isin",
        f"""SELECT s.line, s.isin, 'ISIN already belongs to ' || r.mic || ':' || r.{code}
        FROM {STAGE} s JOIN {table} r ON r.isin = s.isin
        WHERE (r.mic::text, r.{code}) <> (s.mic, s.{"local_code" if table == "securities" else "code"})""",
    )


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "securities": (_isin_taken("securities", "local_code"),),
    "securities_hkex": (_isin_taken("securities", "local_code"),),
    "memberships": (
        _MISSING_INDEX,
        Reference(
            "stock_code",
            f"""SELECT s.line, s.local_code,
                'no security ' || s.mic || ':' || s.local_code || ' is loaded (load securities first)'
            FROM {STAGE} s WHERE NOT EXISTS (
                SELECT 1 FROM securities r WHERE r.mic = s.mic AND r.local_code = s.local_code)""",
        ),
    ),
    "licences": (_MISSING_INDEX, _manager("manager_slug", "manager_slug")),
    "etfs": (
        _manager("issuer_slug", "issuer_slug"),
        _MISSING_INDEX,
        _isin_taken("etfs", "code"),
        Reference(
            "counters",
            f"""SELECT s.line, c.code, 'counter ' || s.mic || ':' || c.code || ' belongs to the fund '
                || e.mic || ':' || e.code
            FROM {STAGE} s CROSS JOIN unnest(s.counter_codes) AS c(code)
            JOIN etf_counters t ON t.mic = s.mic AND t.code = c.code
            JOIN etfs e ON e.id = t.etf_id
            WHERE (e.mic::text, e.code) <> (s.mic, s.code)""",
        ),
    ),
    "connect_daily": (
        Reference(
            "quota_balance",
            f"""SELECT s.line, s.trading_day::text,
                'no CNY/HKD rate on or before ' || s.trading_day || ' to state the RMB quota in HKD '
                || '(load fx first)'
            FROM {STAGE} s CROSS JOIN LATERAL fx_rate('CNY', 'HKD', s.trading_day) fx
            WHERE s.direction = 'SOUTHBOUND' AND fx.rate IS NULL""",
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return self.inserted + self.updated > 0


def staging_columns(target: str) -> tuple[str, ...]:
    return ("line", *(name for name, _ in STAGING[target]))


async def create_staging(conn: Connection, target: str) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in STAGING[target])
    # A second load in one outer transaction (the tests) finds the first one's table: replace it.
    await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
    await conn.execute(f"CREATE TEMP TABLE {STAGE} (line bigint NOT NULL, {columns}) ON COMMIT DROP")


async def drop_staging(conn: Connection) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")


async def copy_records(
    conn: Connection, target: str, records: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]]
) -> None:
    await conn.copy_records_to_table(STAGE, records=records, columns=list(staging_columns(target)))


async def analyze_staging(conn: Connection) -> None:
    # Temp tables are never auto-analysed: without statistics the planner guesses badly on big loads.
    await conn.execute(f"ANALYZE {STAGE}")


async def staged_count(conn: Connection) -> int:
    return int(await conn.fetchval(f"SELECT count(*) FROM {STAGE}"))


async def duplicate_keys(conn: Connection, target: str) -> list[tuple[int, str, int]]:
    """(line, key columns, first line) for every line whose key an earlier line of the file holds."""
    found: list[tuple[int, str, int]] = []
    for key in KEYS[target]:
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


async def duplicate_keys_fast(conn: Connection, target: str) -> bool:
    """True when the file repeats a key (one aggregate pass; the detailed listing only when it does)."""
    for key in KEYS[target]:
        cols = ", ".join(key)
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in key)
        if await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {STAGE} WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)"
        ):
            return True
    return False


async def unknown_references(conn: Connection, target: str) -> list[tuple[int, str, str, str]]:
    """(line, field, value, reason) for each staged row pointing at something not loaded."""
    found: list[tuple[int, str, str, str]] = []
    for ref in REFERENCES.get(target, ()):
        for line, value, reason in await conn.fetch(ref.sql + " ORDER BY 1"):
            found.append((line, ref.field, "" if value is None else str(value), reason))
    return found


async def drop_lines(conn: Connection, lines: Sequence[int]) -> int:
    """Remove these lines from staging; returns how many staged rows went."""
    return _count(await conn.execute(f"DELETE FROM {STAGE} WHERE line = ANY($1::bigint[])", list(lines)))


def _upsert(
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    select: str,
    *,
    keep_when_null: Sequence[str] = (),
    fixed: Sequence[str] = (),
) -> str:
    """INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE only when a value differs; returns counts."""
    updatable = [c for c in columns if c not in key and c not in fixed]

    def new(c: str) -> str:
        return f"coalesce(EXCLUDED.{c}, t.{c})" if c in keep_when_null else f"EXCLUDED.{c}"

    sets = ", ".join(f"{c} = {new(c)}" for c in updatable)
    old = ", ".join(f"t.{c}" for c in updatable)
    new_values = ", ".join(new(c) for c in updatable)
    return f"""
        WITH up AS (
            INSERT INTO {table} AS t ({", ".join(columns)})
            {select}
            ON CONFLICT ({", ".join(key)}) DO UPDATE SET {sets}
            WHERE ({old}) IS DISTINCT FROM ({new_values})
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
        FROM up"""


_INDEX_COLS = [name for name, _ in STAGING["indices"]]
_SECURITY_COLS = [name for name, _ in STAGING["securities"]]
_HKEX_SECURITY_COLS = [name for name, _ in STAGING["securities_hkex"]]
_MANAGER_COLS = [name for name, _ in STAGING["managers"]]
_FLOW_COLS = [name for name, _ in STAGING["connect_daily"]]
_CALENDAR_COLS = [name for name, _ in STAGING["calendar"]]
_EXCEPTION_COLS = [name for name, _ in STAGING["connect_exceptions"]]
_FX_COLS = [name for name, _ in STAGING["fx"]]
_STATS_COLS = [
    "etf_id",
    "trading_day",
    "currency",
    "nav_per_unit",
    "close_price",
    "shares_outstanding",
    "aum",
    "net_creation_units",
    "net_creation_value",
    "turnover",
    "southbound_holding_units",
]
_ETF_COLS = [
    "mic",
    "code",
    "isin",
    "name_en",
    "name_zh",
    "issuer_id",
    "index_id",
    "listing_date",
    "delisting_date",
    "base_currency",
    "replication",
    "ongoing_charges_pct",
    "is_leveraged_inverse",
    "leverage_factor",
]

UPSERTS: dict[str, str] = {
    "indices": _upsert("indices", _INDEX_COLS, ["code"], f"SELECT {', '.join(_INDEX_COLS)} FROM {STAGE}"),
    "securities": _upsert(
        "securities",
        _SECURITY_COLS,
        ["mic", "local_code"],
        f"SELECT {', '.join(_SECURITY_COLS)} FROM {STAGE}",
        keep_when_null=["isin", "sector"],
    ),
    # HKEX's list names neither sector nor country: an update changes the name and ISIN only.
    "securities_hkex": _upsert(
        "securities",
        _HKEX_SECURITY_COLS,
        ["mic", "local_code"],
        f"SELECT {', '.join(_HKEX_SECURITY_COLS)} FROM {STAGE}",
        keep_when_null=["isin"],
        fixed=["country", "currency"],
    ),
    "managers": _upsert(
        "asset_managers", _MANAGER_COLS, ["slug"], f"SELECT {', '.join(_MANAGER_COLS)} FROM {STAGE}"
    ),
    "licences": _upsert(
        "index_licences",
        ["index_id", "manager_id", "licensed_on", "status", "is_illustrative", "notes"],
        ["index_id", "manager_id"],
        f"""SELECT i.id, m.id, s.licensed_on, s.status, s.is_illustrative, s.notes
            FROM {STAGE} s JOIN indices i ON i.code = s.index_code
            JOIN asset_managers m ON m.slug = s.manager_slug""",
    ),
    "etfs": _upsert(
        "etfs",
        _ETF_COLS,
        ["mic", "code"],
        f"""SELECT s.mic, s.code, s.isin, s.name_en, s.name_zh, m.id, i.id, s.listing_date,
                   s.delisting_date, s.base_currency, s.replication, s.ongoing_charges_pct,
                   s.is_leveraged_inverse, s.leverage_factor
            FROM {STAGE} s JOIN asset_managers m ON m.slug = s.issuer_slug
            LEFT JOIN indices i ON i.code = s.index_code""",
    ),
    # Southbound quotas are RMB; the row's amounts are HKD, at the day's CNY/HKD rate (as the demo).
    "connect_daily": _upsert(
        "connect_daily_flows",
        _FLOW_COLS,
        ["direction", "trading_day", "channel"],
        f"""SELECT s.channel, s.direction, s.trading_day, s.currency, s.buy_turnover, s.sell_turnover,
                   s.total_turnover, s.net_buy, s.trade_count, s.buy_trade_count, s.sell_trade_count,
                   s.etf_turnover,
                   CASE WHEN s.direction = 'SOUTHBOUND' THEN round(s.daily_quota * fx.rate, 2)
                        ELSE s.daily_quota END,
                   CASE WHEN s.direction = 'SOUTHBOUND' THEN round(s.quota_balance * fx.rate, 2)
                        ELSE s.quota_balance END,
                   s.quota_balance_unlimited
            FROM {STAGE} s CROSS JOIN LATERAL fx_rate('CNY', 'HKD', s.trading_day) fx""",
    ),
    "calendar": _upsert(
        "trading_calendar",
        _CALENDAR_COLS,
        ["market", "day"],
        f"SELECT {', '.join(_CALENDAR_COLS)} FROM {STAGE}",
    ),
    "connect_exceptions": _upsert(
        "connect_calendar_exceptions",
        _EXCEPTION_COLS,
        ["direction", "day"],
        f"SELECT {', '.join(_EXCEPTION_COLS)} FROM {STAGE}",
    ),
    "fx": _upsert(
        "fx_rates",
        _FX_COLS,
        ["base_currency", "quote_currency", "day"],
        f"SELECT {', '.join(_FX_COLS)} FROM {STAGE}",
    ),
}

# An ETF's counters become exactly those its line lists (the first is the primary one).
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
    SELECT etf_id, mic, code, currency, is_primary FROM wanted
    ON CONFLICT (mic, code) DO NOTHING"""


def _count(status: str) -> int:
    return int(status.split()[-1])


async def upsert(conn: Connection, target: str) -> Counts:
    """Write the staged rows into their table; (inserted, updated, unchanged) by staged row."""
    if target == "memberships":
        return await _apply_memberships(conn)
    staged = await staged_count(conn)
    row = await conn.fetchrow(UPSERTS[target])
    assert row is not None
    inserted, updated = int(row["inserted"]), int(row["updated"])
    if target == "etfs":
        # A changed counter is a changed fund (counted as updated when its line was otherwise unchanged).
        changed = _count(await conn.execute(_COUNTERS_DELETE)) + _count(await conn.execute(_COUNTERS_INSERT))
        if changed and not (inserted + updated):
            updated = 1
    return Counts(inserted, updated, staged - inserted - updated)


# --- ETF daily statistics: millions of rows, staged with their fund's id ---------------------------------

_DAILY_VALUES = ", ".join(_STATS_COLS)
_DAILY_COMPARED = [c for c in _STATS_COLS if c not in ("etf_id", "trading_day")]
_DAILY_DIFFERS = (
    f"({', '.join(f't.{c}' for c in _DAILY_COMPARED)}) "
    f"IS DISTINCT FROM ({', '.join(f's.{c}' for c in _DAILY_COMPARED)})"
)
# Staged rows whose key is stored already, and how many of them differ (the day range lets the planner
# probe the day index when the stored days around the file's are few).
_DAILY_EXISTING = f"""
    SELECT count(*) AS existing, count(*) FILTER (WHERE {_DAILY_DIFFERS}) AS differing
    FROM {STAGE} s JOIN etf_daily_stats t ON t.etf_id = s.etf_id AND t.trading_day = s.trading_day
    WHERE t.trading_day BETWEEN $1 AND $2"""
_DAILY_UPDATE = f"""
    UPDATE etf_daily_stats t SET {", ".join(f"{c} = s.{c}" for c in _DAILY_COMPARED)}
    FROM {STAGE} s
    WHERE t.etf_id = s.etf_id AND t.trading_day = s.trading_day AND t.trading_day BETWEEN $1 AND $2
      AND {_DAILY_DIFFERS}"""
_DAILY_INSERT_ALL = f"INSERT INTO etf_daily_stats ({_DAILY_VALUES}) SELECT {_DAILY_VALUES} FROM {STAGE}"
_DAILY_INSERT_NEW = f"""{_DAILY_INSERT_ALL} s
    WHERE NOT EXISTS (SELECT 1 FROM etf_daily_stats t
                      WHERE t.etf_id = s.etf_id AND t.trading_day = s.trading_day)"""
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


async def create_daily_staging(conn: Connection, header_fields: Sequence[str | None]) -> list[str]:
    """The staging table of an etf-daily file; returns its COPY columns. A column the file lacks
    stays NULL, or 0 for net creations (as the model's defaults)."""
    columns = [
        f"{name} {kind}" + (" DEFAULT 0" if name.startswith("net_creation") else "")
        for name, kind in STAGING["etf_daily"]
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


async def merge_etf_daily(conn: Connection, staged: int, first_day: date, last_day: date) -> Counts:
    """Write the staged daily rows into etf_daily_stats; (inserted, updated, unchanged) by staged row.

    The common case, rows of days not loaded yet, is one plain INSERT ... SELECT (no conflict handling,
    no comparisons). When some keys are stored already, those rows are compared and only the ones that
    differ are updated, then the rest are inserted. Keys never repeat in staging (checked before), and
    two loads of the dataset never run at once (the advisory lock), so nothing can come in between.
    """
    if staged == 0:
        return Counts()
    if staged >= BIG_MERGE_ROWS:
        await conn.execute("SELECT set_config('work_mem', $1, true)", BIG_MERGE_WORK_MEM)
    found = await conn.fetchrow(_DAILY_EXISTING, first_day, last_day)
    assert found is not None
    existing, differing = int(found["existing"]), int(found["differing"])
    if existing == 0:
        inserted = _count(await conn.execute(_DAILY_INSERT_ALL))
        updated = 0
    else:
        await analyze_staging(conn)
        updated = _count(await conn.execute(_DAILY_UPDATE, first_day, last_day)) if differing else 0
        inserted = _count(await conn.execute(_DAILY_INSERT_NEW)) if existing < staged else 0
    if inserted >= BIG_MERGE_ROWS:
        # Autovacuum would analyse the table only after the commit: the rest of this load (the
        # analytics rollup) and the next one would plan with statistics that miss these rows.
        await conn.execute("ANALYZE etf_daily_stats")
    return Counts(inserted, updated, staged - inserted - updated)


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
    return [(r["line"], r["index_code"], r["effective_from"], r["later"]) for r in rows]


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


@dataclass(frozen=True, slots=True)
class PeriodRow:
    id: int
    etf_id: int
    status: str
    effective_from: date
    effective_to: date | None
    reason: str | None


async def etf_ids(conn: Connection, mic: str, codes: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT code, id FROM etfs WHERE mic = $1 AND code = ANY($2::text[])", mic, list(codes)
    )
    return {r["code"]: r["id"] for r in rows}


async def security_codes(conn: Connection, mic: str, codes: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT local_code FROM securities WHERE mic = $1 AND local_code = ANY($2::text[])", mic, list(codes)
    )
    return {r["local_code"] for r in rows}


async def eligibility_periods(
    conn: Connection, direction: str, channel: str, etf_ids: Sequence[int] | None
) -> list[PeriodRow]:
    """The link's periods, for the given ETFs (None: every ETF), oldest first."""
    rows = await conn.fetch(
        """SELECT id, etf_id, status::text AS status, effective_from, effective_to, reason
           FROM connect_eligibility
           WHERE direction = $1::connect_direction AND channel = $2::connect_channel
             AND ($3::bigint[] IS NULL OR etf_id = ANY($3::bigint[]))
           ORDER BY etf_id, effective_from""",
        direction,
        channel,
        None if etf_ids is None else list(etf_ids),
    )
    return [PeriodRow(**dict(r)) for r in rows]


async def apply_eligibility(
    conn: Connection,
    direction: str,
    channel: str,
    deleted: Sequence[int],
    updated: Sequence[tuple[int, date | None, str]],
    inserted: Sequence[tuple[int, str, date, date | None, str | None]],
) -> None:
    """Delete, then update (id, effective_to, status), then insert (etf, status, from, to, reason)."""
    if deleted:
        await conn.execute("DELETE FROM connect_eligibility WHERE id = ANY($1::bigint[])", list(deleted))
    if updated:
        await conn.execute(
            """UPDATE connect_eligibility c SET effective_to = u.effective_to,
                      status = u.status::eligibility_status
               FROM unnest($1::bigint[], $2::date[], $3::text[]) AS u(id, effective_to, status)
               WHERE c.id = u.id""",
            [u[0] for u in updated],
            [u[1] for u in updated],
            [u[2] for u in updated],
        )
    if inserted:
        await conn.execute(
            """INSERT INTO connect_eligibility (etf_id, direction, channel, status, effective_from,
                                               effective_to, reason)
               SELECT u.etf_id, $1::connect_direction, $2::connect_channel, u.status::eligibility_status,
                      u.effective_from, u.effective_to, u.reason
               FROM unnest($3::bigint[], $4::text[], $5::date[], $6::date[], $7::text[])
                    AS u(etf_id, status, effective_from, effective_to, reason)""",
            direction,
            channel,
            [i[0] for i in inserted],
            [i[1] for i in inserted],
            [i[2] for i in inserted],
            [i[3] for i in inserted],
            [i[4] for i in inserted],
        )
