"""Rollups by day: every fund's running totals in one row per day, and sums per group and day.

Rankings over a window read each fund's running totals at the window's last day and before its first.
They were rows of ``etf_flow_cumulative`` (one per fund and day: ~3,000 rows read per ranking at 1,500
funds); now they are one row per day, ``etf_day_totals``, holding every fund's running totals as arrays
ordered by fund id (a fund without a row on the day carries its latest totals), so a ranking reads two
rows. Series over a selection of funds read ``etf_group_days``: per day, native currency and group (all
funds, an issuer's, an index's) the sums of the day's fund figures, natively and converted by the money
rule into HKD, CNY, USD and KRW, with the rate applied.

Amounts are kept in cents as bigint (money is numeric everywhere else; here every amount is already
rounded to the cent, and sums of integers are what make the refresh and the reads fast); the statements
turn them back into numeric (``x * 0.01``) before answering. An amount beyond 92 quadrillion units
(cents in a bigint) makes the refresh fail rather than wrap.

``refresh_etf_rollups(since)`` rewrites both from ``since`` on (everything when null), carrying on from
the day before's totals, in the loader's transaction (``refresh_rollups`` in
service/repositories/analytics.py); a fund moving to another issuer or index moves its sums by trigger.

Revision ID: 0009_day_rollups
Revises: 0008_money_rule
Create Date: 2026-11-30 09:00
"""

import importlib.util
from pathlib import Path
from typing import Any

from alembic import op

revision = "0009_day_rollups"
down_revision = "0008_money_rule"
branch_labels = None
depends_on = None

TARGETS = ("hkd", "cny", "usd", "krw")


def _each(template: str, sep: str = ",\n    ") -> str:
    """``template`` once per target currency ({t}: hkd, {T}: HKD), joined by ``sep``."""
    return sep.join(template.format(t=t, T=t.upper()) for t in TARGETS)


def _running(name: str, value: str) -> tuple[str, str, str]:
    """A column of running sums of ``value`` (cents) carried on from ``b``."""
    return (name, "bigint", f"coalesce(b.{name}, 0) + coalesce(cents_sum({value}) OVER w, 0)")


def _amounts(suffix: str, column: str) -> list[tuple[str, str, str]]:
    """The day's AUM and the running net creations, creations and turnover in one currency."""
    return [
        (f"aum_{suffix}", "bigint", f"v.aum{column}"),
        _running(f"cum_ncv_{suffix}", f"v.ncv{column}"),
        _running(f"cum_creation_{suffix}", f"greatest(v.ncv{column}, 0)"),
        _running(f"cum_turnover_{suffix}", f"v.turnover{column}"),
    ]


# The array columns of etf_day_totals: name, element type, and the running value at a fund's row ``v``
# (its day's figures, converted, in cents) over the window ``w`` of its rows from ``since`` on, carrying
# on from ``b`` (its totals the day before ``since``; null before its first row).
_FUND: list[tuple[str, str, str]] = [
    ("last_day", "date", "v.trading_day"),
    ("currency", "char(3)", "v.currency"),
    ("cum_rows", "integer", "(coalesce(b.cum_rows, 0) + count(*) OVER w)::int"),
    # cum_rows of the first row of the current run of rows in one currency (a window is in one currency
    # when its last row's run started at or before its first row)
    (
        "run_start",
        "integer",
        "coalesce(max(CASE WHEN v.new_run THEN coalesce(b.cum_rows, 0) + v.k END) OVER w, b.run_start)::int",
    ),
    _running("cum_units", "v.units"),
    ("cum_turnover_rows", "integer", "(coalesce(b.cum_turnover_rows, 0) + count(v.turnover) OVER w)::int"),
    *_amounts("native", ""),
]
for _t in TARGETS:
    _FUND += [
        *_amounts(_t, f"_{_t}"),
        (
            f"cum_no_rate_{_t}",
            "integer",
            f"(coalesce(b.cum_no_rate_{_t}, 0) + count(*) FILTER (WHERE v.no_rate_{_t}) OVER w)::int",
        ),
    ]
_NAMES = [name for name, _, _ in _FUND]


def _list(template: str, sep: str = ", ") -> str:
    return sep.join(template.format(c=c) for c in _NAMES)


_TOTALS_TABLE = (
    "CREATE TABLE etf_day_totals (\n    trading_day date PRIMARY KEY,\n    etf_ids bigint[] NOT NULL,\n    "
    + ",\n    ".join(f"{name} {kind}[] NOT NULL" for name, kind, _ in _FUND)
    + "\n)"
)

# The rows ``{rows}`` (a condition on ``s``) with their rates (looked up once per currency and day; LIMIT 1
# keeps the planner's estimates to one row per lookup) and their amounts in cents, natively and converted
# by the money rule: round(amount x rate x 100) cents is exactly cents(money_at_rate(amount, rate)) with
# one multiplication less per amount (millions of them), and a fund's own currency is itself.
_SOURCE = (
    """src AS MATERIALIZED (
        SELECT s.etf_id, s.trading_day, s.currency, s.net_creation_value AS ncv_n, s.turnover AS turnover_n,
               s.aum AS aum_n, s.net_creation_units::bigint AS units, cents(s.net_creation_value) AS ncv,
               cents(s.turnover) AS turnover, cents(s.aum) AS aum
        FROM etf_daily_stats s WHERE {rows}),
    rates AS MATERIALIZED (
        SELECT k.currency, k.trading_day, """
    + _each(
        "r_{t}.rate AS rate_{t}, r_{t}.rate_day AS rate_day_{t}, r_{t}.rate * 100 AS cents_rate_{t}", ", "
    )
    + """
        FROM (SELECT DISTINCT currency, trading_day FROM src) k
        """
    + _each(
        "LEFT JOIN LATERAL (SELECT * FROM fx_rate_rows(k.currency, '{T}', k.trading_day) LIMIT 1) r_{t} ON true",
        "\n        ",
    )
    + """),
    conv AS MATERIALIZED (
        SELECT r.etf_id, r.trading_day, r.currency, r.units, r.ncv, r.turnover, r.aum,
               """
    + _each(
        """x.rate_{t}, x.rate_day_{t},
               CASE WHEN r.currency = '{T}' THEN r.ncv ELSE round(r.ncv_n * x.cents_rate_{t})::bigint END AS ncv_{t},
               CASE WHEN r.currency = '{T}' THEN r.turnover
                    ELSE round(r.turnover_n * x.cents_rate_{t})::bigint END AS turnover_{t},
               CASE WHEN r.currency = '{T}' THEN r.aum ELSE round(r.aum_n * x.cents_rate_{t})::bigint END AS aum_{t},
               x.rate_{t} IS NULL AS no_rate_{t}""",
        ",\n               ",
    )
    + """
        FROM src r JOIN rates x ON x.currency = r.currency AND x.trading_day = r.trading_day)"""
)

# The sums of a group's fund-days, and those of groups added up (all funds from the issuers, a theme from
# its indices), as (column, sum of fund-days, sum of groups); the rate is that of the day and currency.
# (named as the measures of a series, so that a series statement names its column by its measure)
_GROUP_VALUES = [("rows", "count(*)::int", "sum(rows)::int")]
for _suffix in ("", *(f"_{t}" for t in TARGETS)):
    _GROUP_VALUES += [
        (f"{measure}{_suffix}", f"cents_sum(c.{source}{_suffix})", f"sum({measure}{_suffix})::bigint")
        for measure, source in (("net_creation_value", "ncv"), ("turnover", "turnover"), ("aum", "aum"))
    ]
_MIN_RATES = _each("min(rate_{t}) AS rate_{t}, min(rate_day_{t}) AS rate_day_{t}", ", ")


def _group_rows(source: str) -> str:
    """etf_group_days rows from ``source`` (trading_day, currency, kind, key, the values, the rates):
    one per day, currency and kind, its groups' values as arrays ordered by key."""
    return (
        "SELECT trading_day, currency, kind, array_agg(key), "
        + ", ".join(f"array_agg({name})" for name, _, _ in _GROUP_VALUES)
        + f", {_MIN_RATES}"
        + f"\n        FROM (SELECT * FROM ({source}) x ORDER BY trading_day, currency, kind, key) g"
        + "\n        GROUP BY trading_day, currency, kind"
    )


# The groups' sums of ``conv`` (per day, native currency, issuer or index; all funds' sums the issuers'
# added) written to etf_group_days.
_GROUP_SUMS = (
    """sums AS MATERIALIZED (
        SELECT c.trading_day, c.currency,
               CASE WHEN GROUPING(e.issuer_id) = 0 THEN 'issuer' ELSE 'index' END AS kind,
               coalesce(CASE WHEN GROUPING(e.issuer_id) = 0 THEN e.issuer_id END, e.index_id)::text AS key,
               """
    + ", ".join(f"{fund} AS {name}" for name, fund, _ in _GROUP_VALUES)
    + ",\n               "
    + _each("min(c.rate_{t}) AS rate_{t}, min(c.rate_day_{t}) AS rate_day_{t}", ", ")
    + """
        FROM conv c JOIN etfs e ON e.id = c.etf_id
        GROUP BY c.trading_day, c.currency, GROUPING SETS ((e.issuer_id), (e.index_id))
        HAVING GROUPING(e.index_id) = 1 OR e.index_id IS NOT NULL),
    groups AS (
        INSERT INTO etf_group_days
        """
    + _group_rows(
        "SELECT * FROM sums UNION ALL SELECT trading_day, currency, 'all', '', "
        + ", ".join(total for _, _, total in _GROUP_VALUES)
        + f", {_MIN_RATES} FROM sums WHERE kind = 'issuer' GROUP BY trading_day, currency"
    )
    + """
        RETURNING 1)"""
)

_REFRESH = (
    """
    WITH base AS MATERIALIZED (
        SELECT p.* FROM etf_day_totals t,
             unnest(t.etf_ids, """
    + _list("t.{c}")
    + """) AS p (etf_id, """
    + _list("{c}")
    + """)
        WHERE t.trading_day = previous),
    """
    + _SOURCE.replace("{rows}", "since IS NULL OR s.trading_day >= since")
    + """,
    """
    + _GROUP_SUMS
    + """,
    days AS MATERIALIZED (
        SELECT day, (row_number() OVER (ORDER BY day))::int AS n
        FROM (SELECT DISTINCT trading_day AS day FROM src) d),
    ordered AS (
        -- Each row with its day's number, the next row's, and whether it starts a run of rows in
        -- another currency.
        SELECT c.*, d.n, row_number() OVER f AS k, lead(d.n) OVER f AS next_n,
               c.currency IS DISTINCT FROM coalesce(lag(c.currency) OVER f, b.currency) AS new_run
        FROM conv c JOIN days d ON d.day = c.trading_day LEFT JOIN base b ON b.etf_id = c.etf_id
        WINDOW f AS (PARTITION BY c.etf_id ORDER BY c.trading_day)),
    running AS MATERIALIZED (
        SELECT v.etf_id, v.trading_day, v.n, v.next_n,
               """
    + ",\n               ".join(f"{rule} AS {name}" for name, _, rule in _FUND)
    + """
        FROM ordered v LEFT JOIN base b ON b.etf_id = v.etf_id
        WINDOW w AS (PARTITION BY v.etf_id ORDER BY v.trading_day ROWS UNBOUNDED PRECEDING)),
    last_day AS (SELECT max(n) AS n FROM days),
    firsts AS (SELECT etf_id, min(n) AS n FROM running GROUP BY etf_id),
    spread AS (
        -- Every fund on every day (so that the arrays of all days line up): on the day of each of its
        -- rows its totals then; on days it has no row, its latest totals (carried); before its first
        -- row from since on, its totals the day before since (nulls if none).
        SELECT r.trading_day AS day, r.etf_id, """
    + _list("r.{c}")
    + """
        FROM running r
        UNION ALL
        SELECT d.day, r.etf_id, """
    + _list("r.{c}")
    + """
        FROM running r, last_day l, generate_series(r.n + 1, coalesce(r.next_n, l.n + 1) - 1) g (n), days d
        WHERE coalesce(r.next_n, l.n + 1) > r.n + 1 AND d.n = g.n
        UNION ALL
        SELECT d.day, e.id, """
    + _list("b.{c}")
    + """
        FROM etfs e
        LEFT JOIN base b ON b.etf_id = e.id
        LEFT JOIN firsts f ON f.etf_id = e.id
        CROSS JOIN last_day l
        CROSS JOIN generate_series(1, coalesce(f.n, l.n + 1) - 1) g (n)
        JOIN days d ON d.n = g.n)
    INSERT INTO etf_day_totals
    SELECT s.day, array_agg(s.etf_id), """
    + _list("array_agg(s.{c})")
    + """
    FROM (SELECT * FROM spread ORDER BY day, etf_id) s
    GROUP BY s.day;"""
)

_GROUP_COLUMNS = _each("""ncv_{t} bigint,
    turnover_{t} bigint,
    aum_{t} bigint,
    rate_{t} numeric,
    rate_day_{t} date""")


# --- Stock Connect flows per day, converted ------------------------------------------------------------

FLOW_MEASURES = ("net_buy", "buy_turnover", "sell_turnover", "total_turnover", "etf_turnover")
FLOW_SOURCES = (("connect_daily_flows", "trading_day"), ("fx_rates", "day"))


def _measures(template: str, sep: str = ", ") -> str:
    return sep.join(template.format(m=m) for m in FLOW_MEASURES)


# Flow series buckets (week, month, quarter) per direction, channel, reporting currency and measure,
# aggregated as a series statement aggregates its days (service/repositories/analytics.py SERIES_TAIL):
# the days are the Connect days and the days with figures; a day without a figure is unknown.
_MEASURE_CASE = (
    "CASE m.measure " + " ".join(f"WHEN '{m}' THEN f.{{prefix}}{m}" for m in FLOW_MEASURES) + " END"
)

FLOW_BUCKETS = (
    """
CREATE TABLE connect_flow_buckets (
    direction connect_direction NOT NULL,
    channel text NOT NULL,
    target text NOT NULL,
    measure text NOT NULL,
    interval text NOT NULL CHECK (interval IN ('week', 'month', 'quarter')),
    period_start date NOT NULL,
    period_end date NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    trading_days integer NOT NULL,
    days_with_value integer NOT NULL,
    native_currency char(3),
    currency text,
    sum numeric,
    avg numeric,
    min numeric,
    max numeric,
    first numeric,
    last numeric,
    fx_min_rate numeric,
    fx_max_rate numeric,
    fx_first_rate_date date,
    fx_last_rate_date date,
    fx_days_on_earlier_rate integer NOT NULL,
    fx_days_without_rate integer NOT NULL,
    PRIMARY KEY (direction, channel, target, measure, interval, period_start)
);
COMMENT ON TABLE connect_flow_buckets IS 'Flow series buckets (week, month, quarter) per direction, channel, reporting currency and measure, aggregated from connect_flow_days and connect_days as a series aggregates its days; kept with connect_flow_days and by a trigger on connect_days.';

-- Recompute the buckets that hold since or later days (all when null): from each interval's period of since.
CREATE FUNCTION refresh_connect_flow_buckets(since date) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM connect_flow_buckets
    WHERE since IS NULL OR period_start >= date_trunc(interval, since::timestamp)::date;
    INSERT INTO connect_flow_buckets
    WITH start AS (
        -- the first day of the earliest bucket holding since
        SELECT least(date_trunc('week', since::timestamp), date_trunc('quarter', since::timestamp))::date AS day),
    measures AS (SELECT unnest(ARRAY['"""
    + "', '".join(FLOW_MEASURES)
    + """']) AS measure),
    keys AS (
        SELECT d.direction, c.channel, t.target, m.measure
        FROM unnest(ARRAY['SOUTHBOUND', 'NORTHBOUND']::connect_direction[]) d (direction),
             unnest(ARRAY['SHANGHAI', 'SHENZHEN', 'BOTH']) c (channel),
             unnest(ARRAY['NATIVE', 'HKD', 'CNY', 'USD', 'KRW']) t (target), measures m),
    figures AS (
        SELECT f.direction, f.channel, f.target, m.measure, f.trading_day AS day, f.currency,
               """
    + _MEASURE_CASE.replace("{prefix}", "native_")
    + """ AS native,
               """
    + _MEASURE_CASE.replace("{prefix}", "")
    + """ AS amount,
               f.rate, f.rate_day
        FROM connect_flow_days f CROSS JOIN measures m CROSS JOIN start s
        WHERE s.day IS NULL OR f.trading_day >= s.day),
    per_day AS (
        SELECT v.direction, v.channel, v.target, v.measure, v.day,
               CASE WHEN count(v.currency) = 0 OR count(v.amount) < count(v.currency)
                         OR (v.target = 'NATIVE' AND min(v.currency) <> max(v.currency)) THEN NULL
                    ELSE sum(v.amount) END AS value,
               CASE WHEN min(v.currency) = max(v.currency) THEN min(v.currency) END AS native_currency,
               min(v.rate) AS min_rate, max(v.rate) AS max_rate,
               min(v.rate_day) AS min_rate_day, max(v.rate_day) AS max_rate_day,
               bool_or(v.rate_day < v.day) AS on_earlier_rate,
               bool_or(v.native IS NOT NULL AND v.rate IS NULL) AS without_rate
        FROM (SELECT k.direction, k.channel, k.target, k.measure, c.day, NULL::bpchar AS currency,
                     NULL::numeric AS native, NULL::numeric AS amount, NULL::numeric AS rate, NULL::date AS rate_day
              FROM connect_days c JOIN keys k ON k.direction = c.direction CROSS JOIN start s
              WHERE s.day IS NULL OR c.day >= s.day
              UNION ALL
              SELECT * FROM figures) v
        GROUP BY v.direction, v.channel, v.target, v.measure, v.day),
    periods AS (
        SELECT p.*, i.interval, date_trunc(i.interval, p.day::timestamp)::date AS period_start
        FROM per_day p CROSS JOIN unnest(ARRAY['week', 'month', 'quarter']) i (interval))
    SELECT direction, channel, target, measure, interval, period_start,
           (period_start + CASE interval WHEN 'quarter' THEN interval '3 months'
                                         ELSE ('1 ' || interval)::interval END)::date - 1,
           min(day), max(day), count(*)::int, count(value)::int,
           CASE WHEN min(native_currency) = max(native_currency) THEN min(native_currency) END,
           CASE WHEN target <> 'NATIVE' THEN target
                WHEN min(native_currency) = max(native_currency) AND count(native_currency) = count(*)
                THEN min(native_currency) END,
           CASE WHEN count(value) = count(*) THEN sum(value) END, round(avg(value), 2), min(value), max(value),
           (array_agg(value ORDER BY day))[1], (array_agg(value ORDER BY day DESC))[1],
           min(min_rate), max(max_rate), min(min_rate_day), max(max_rate_day),
           count(*) FILTER (WHERE on_earlier_rate)::int, count(*) FILTER (WHERE without_rate)::int
    FROM periods
    WHERE since IS NULL OR period_start >= date_trunc(interval, since::timestamp)::date
    GROUP BY direction, channel, target, measure, interval, period_start;
$fn$;

-- Connect days move with the calendars (their own triggers): the buckets holding the days a statement
-- changed are recomputed.
CREATE FUNCTION connect_days_flow_buckets_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM refresh_connect_flow_buckets(NULL);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM refresh_connect_flow_buckets((SELECT min(day) FROM new_rows));
    ELSE
        PERFORM refresh_connect_flow_buckets((SELECT min(day) FROM old_rows));
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER connect_days_flow_buckets_insert AFTER INSERT ON connect_days
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION connect_days_flow_buckets_after_change();
CREATE TRIGGER connect_days_flow_buckets_delete AFTER DELETE ON connect_days
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION connect_days_flow_buckets_after_change();
CREATE TRIGGER connect_days_flow_buckets_truncate AFTER TRUNCATE ON connect_days
    FOR EACH STATEMENT EXECUTE FUNCTION connect_days_flow_buckets_after_change();
"""
)

FLOWS = (
    """
CREATE TABLE connect_flow_days (
    direction connect_direction NOT NULL,
    channel text NOT NULL CHECK (channel IN ('SHANGHAI', 'SHENZHEN', 'BOTH')),
    target text NOT NULL CHECK (target IN ('NATIVE', 'HKD', 'CNY', 'USD', 'KRW')),
    trading_day date NOT NULL,
    currency char(3) NOT NULL,
    """
    + _measures("native_{m} numeric", ",\n    ")
    + """,
    """
    + _measures("{m} numeric", ",\n    ")
    + """,
    rate numeric,
    rate_day date,
    PRIMARY KEY (direction, channel, target, trading_day, currency)
);
COMMENT ON TABLE connect_flow_days IS 'Stock Connect flows per direction, channel (or BOTH), reporting currency (or NATIVE) and day: each channel''s day converted by the money rule, then added; both channels must report for BOTH to have a figure. Kept by triggers on connect_daily_flows and fx_rates.';

-- Recompute connect_flow_days from since on (every day when null).
CREATE FUNCTION refresh_connect_flow_days(since date) RETURNS void LANGUAGE sql AS $$
    DELETE FROM connect_flow_days WHERE since IS NULL OR trading_day >= since;
    INSERT INTO connect_flow_days
    WITH flows AS MATERIALIZED (
        SELECT f.direction, f.channel::text AS channel, f.trading_day, f.currency, """
    + _measures("f.{m}")
    + """
        FROM connect_daily_flows f WHERE since IS NULL OR f.trading_day >= since),
    rates AS MATERIALIZED (
        -- Once per currency, day and reporting currency (NATIVE: the currency itself, at 1).
        SELECT k.currency, k.trading_day, t.target, r.rate, r.rate_day
        FROM (SELECT DISTINCT currency, trading_day FROM flows) k
        CROSS JOIN unnest(ARRAY['NATIVE', 'HKD', 'CNY', 'USD', 'KRW']) t (target)
        LEFT JOIN LATERAL (
            SELECT * FROM fx_rate_rows(k.currency, CASE WHEN t.target = 'NATIVE' THEN k.currency
                                                        ELSE t.target END::char(3), k.trading_day)
            LIMIT 1) r ON true),
    converted AS MATERIALIZED (
        SELECT f.*, x.target, x.rate, x.rate_day, """
    + _measures("money_at_rate(f.{m}, x.rate) AS c_{m}")
    + """
        FROM flows f JOIN rates x ON x.currency = f.currency AND x.trading_day = f.trading_day)
    SELECT direction, channel, target, trading_day, currency, """
    + _measures("{m}")
    + ", "
    + _measures("c_{m}")
    + """, rate, rate_day
    FROM converted
    UNION ALL
    SELECT direction, 'BOTH', target, trading_day, currency, """
    + _measures("CASE WHEN count({m}) = 2 THEN sum({m}) END")
    + ", "
    + _measures("CASE WHEN count({m}) = 2 THEN sum(c_{m}) END")
    + """, min(rate), min(rate_day)
    FROM converted
    GROUP BY direction, target, trading_day, currency;
    SELECT refresh_connect_flow_buckets(since);
$$;

"""
    + "".join(
        f"""
-- Statement triggers on {table}: from the first day a statement touched (every day after a TRUNCATE).
CREATE FUNCTION {table}_flow_days_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM refresh_connect_flow_days(NULL);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM refresh_connect_flow_days((SELECT min({day}) FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_connect_flow_days((SELECT min({day}) FROM old_rows));
    ELSE
        PERFORM refresh_connect_flow_days(least((SELECT min({day}) FROM old_rows),
                                                (SELECT min({day}) FROM new_rows)));
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER {table}_flow_days_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_flow_days_after_change();
CREATE TRIGGER {table}_flow_days_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_flow_days_after_change();
CREATE TRIGGER {table}_flow_days_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_flow_days_after_change();
CREATE TRIGGER {table}_flow_days_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_flow_days_after_change();
"""
        for table, day in FLOW_SOURCES
    )
    + """
SELECT refresh_connect_flow_days(NULL);
"""
)
FLOWS_DOWN = (
    "".join(
        f"DROP TRIGGER IF EXISTS {table}_flow_days_{event} ON {table};\n"
        for table, _ in FLOW_SOURCES
        for event in ("insert", "update", "delete", "truncate")
    )
    + "".join(f"DROP FUNCTION IF EXISTS {table}_flow_days_after_change();\n" for table, _ in FLOW_SOURCES)
    + """DROP FUNCTION IF EXISTS refresh_connect_flow_days(date);
DROP TABLE IF EXISTS connect_flow_days;
DROP TRIGGER IF EXISTS connect_days_flow_buckets_insert ON connect_days;
DROP TRIGGER IF EXISTS connect_days_flow_buckets_delete ON connect_days;
DROP TRIGGER IF EXISTS connect_days_flow_buckets_truncate ON connect_days;
DROP FUNCTION IF EXISTS connect_days_flow_buckets_after_change();
DROP FUNCTION IF EXISTS refresh_connect_flow_buckets(date);
DROP TABLE IF EXISTS connect_flow_buckets;
"""
)


UPGRADE = (
    """
CREATE AGGREGATE cents_sum (bigint) (SFUNC = int8pl, STYPE = bigint, PARALLEL = SAFE);
COMMENT ON AGGREGATE cents_sum (bigint) IS 'The sum of amounts in cents, as a bigint (an overflow is an error).';

CREATE FUNCTION cents(amount numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (amount * 100)::bigint $$;
COMMENT ON FUNCTION cents IS 'An amount rounded to the cent, in cents.';

"""
    + _TOTALS_TABLE
    + """;
"""
    + "".join(
        f"ALTER TABLE etf_day_totals ALTER COLUMN {name} SET STORAGE EXTERNAL;\n"
        for name in ["etf_ids", *_NAMES]
    )
    + """-- (uncompressed: sums of cents hardly compress, and a ranking reads them at once)
COMMENT ON TABLE etf_day_totals IS 'Every fund''s running totals up to each day (amounts in cents), as arrays ordered by fund id (analytics rollup); kept by refresh_etf_rollups().';

CREATE TABLE etf_group_days (
    trading_day date NOT NULL,
    currency char(3) NOT NULL,
    kind text NOT NULL CHECK (kind IN ('all', 'issuer', 'index', 'theme')),
    keys text[] NOT NULL,  -- the issuers' or the indices' ids, the themes; '' for all funds
    """
    + ",\n    ".join(
        f"{name} {'integer' if name == 'rows' else 'bigint'}[] NOT NULL" for name, _, _ in _GROUP_VALUES
    )
    + """,
    """
    + _each("rate_{t} numeric,\n    rate_day_{t} date")
    + """,
    PRIMARY KEY (kind, trading_day, currency)
);
COMMENT ON TABLE etf_group_days IS 'Per day, native currency and kind of group (all funds, issuers, indices, themes) the sums of each group''s fund-days in cents, natively and converted by the money rule, as arrays by group key (analytics rollup); kept by refresh_etf_rollups().';

-- A theme's sums are those of the indices carrying it (a fund is in every theme of its index), from
-- ``since`` on (every day when null).
CREATE FUNCTION refresh_etf_group_themes(since date) RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM etf_group_days WHERE kind = 'theme' AND (since IS NULL OR trading_day >= since);
    INSERT INTO etf_group_days
    """
    + _group_rows(
        "SELECT g.trading_day, g.currency, 'theme' AS kind, t.theme AS key, "
        + ", ".join(f"{total} AS {name}" for name, _, total in _GROUP_VALUES)
        + f", {_MIN_RATES} FROM (SELECT x.trading_day, x.currency, u.*, "
        + _each("x.rate_{t}, x.rate_day_{t}", ", ")
        + " FROM etf_group_days x, unnest(x.keys, "
        + ", ".join(f"x.{name}" for name, _, _ in _GROUP_VALUES)
        + ") u (key, "
        + ", ".join(name for name, _, _ in _GROUP_VALUES)
        + ") WHERE x.kind = 'index' AND (since IS NULL OR x.trading_day >= since)) g"
        + " JOIN indices i ON i.id = g.key::bigint CROSS JOIN LATERAL unnest(i.themes) t (theme)"
        + " GROUP BY g.trading_day, g.currency, t.theme"
    )
    + """;
$fn$;

-- An index's themes changing: the sums of the themes it left and joined.
CREATE FUNCTION index_themes_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.themes IS DISTINCT FROM n.themes) THEN
        PERFORM refresh_etf_group_themes(NULL);
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER indices_themes_update AFTER UPDATE ON indices
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION index_themes_after_change();

CREATE FUNCTION refresh_etf_rollups(since date) RETURNS bigint
LANGUAGE plpgsql
SET jit = off
SET work_mem = '1GB'
AS $fn$
DECLARE
    previous date;
    funds bigint[];
    written bigint;
BEGIN
    -- Each day's arrays list every fund by id; a day carries on from the day before only if that day's
    -- funds are still the first ones (funds are only ever added, with higher ids); else all is rebuilt.
    SELECT t.trading_day, t.etf_ids INTO previous, funds FROM etf_day_totals t
    WHERE t.trading_day < since ORDER BY t.trading_day DESC LIMIT 1;
    IF funds IS DISTINCT FROM (SELECT (array_agg(e.id ORDER BY e.id))[1:cardinality(funds)] FROM etfs e) THEN
        since := NULL;
        previous := NULL;
    END IF;
    DELETE FROM etf_day_totals WHERE since IS NULL OR trading_day >= since;
    DELETE FROM etf_group_days WHERE since IS NULL OR trading_day >= since;
"""
    + _REFRESH
    + """
    GET DIAGNOSTICS written = ROW_COUNT;
    PERFORM refresh_etf_group_themes(since);
    RETURN written;
END
$fn$;
-- A fund moving to another issuer or index moves its sums between groups: the rollups are rebuilt (the
-- groups' arrays of every day change; a rare event).
CREATE FUNCTION etf_groups_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id
               WHERE o.issuer_id IS DISTINCT FROM n.issuer_id OR o.index_id IS DISTINCT FROM n.index_id) THEN
        PERFORM refresh_etf_rollups(NULL);
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER etfs_groups_update AFTER UPDATE ON etfs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION etf_groups_after_change();

COMMENT ON FUNCTION refresh_etf_rollups IS 'Recompute the ETF rollups (etf_day_totals, etf_group_days) from since on (all when null); returns the days written.';

-- Every fund's keys as arrays in fund-id order, lined up with etf_day_totals' arrays: a ranking reads
-- them in the same unnest as the totals, instead of looking 1,500 funds up one by one.
CREATE TABLE etf_fund_keys (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    etf_ids bigint[] NOT NULL,
    codes text[] NOT NULL,         -- MIC:code
    issuer_ids bigint[] NOT NULL,
    issuer_slugs text[] NOT NULL,
    index_ids bigint[] NOT NULL,   -- null elements: no index
    index_codes text[] NOT NULL,
    themes text[] NOT NULL         -- the index's themes joined by '|' ('' without)
);
COMMENT ON TABLE etf_fund_keys IS 'Every fund''s keys (code, issuer, index, themes) as arrays in fund-id order, lined up with etf_day_totals; kept by triggers on etfs, asset_managers and indices.';

CREATE FUNCTION refresh_etf_fund_keys() RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM etf_fund_keys;
    INSERT INTO etf_fund_keys
    SELECT true, coalesce(array_agg(e.id ORDER BY e.id), '{}'),
           coalesce(array_agg(e.mic || ':' || e.code ORDER BY e.id), '{}'),
           coalesce(array_agg(e.issuer_id ORDER BY e.id), '{}'), coalesce(array_agg(m.slug ORDER BY e.id), '{}'),
           coalesce(array_agg(e.index_id ORDER BY e.id), '{}'), coalesce(array_agg(i.code ORDER BY e.id), '{}'),
           coalesce(array_agg(coalesce(array_to_string(i.themes, '|'), '') ORDER BY e.id), '{}')
    FROM etfs e
    JOIN asset_managers m ON m.id = e.issuer_id
    LEFT JOIN indices i ON i.id = e.index_id
    HAVING count(*) > 0;  -- no row without funds (an empty database stays empty)
$fn$;

CREATE FUNCTION etf_fund_keys_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM refresh_etf_fund_keys();
    RETURN NULL;
END
$fn$;
"""
    + "".join(
        f"""CREATE TRIGGER {table}_fund_keys AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION etf_fund_keys_after_change();
"""
        for table in ("etfs", "asset_managers", "indices")
    )
    + """
-- A deleted fund leaves the funds of the earlier days' arrays: they are rebuilt at once.
CREATE FUNCTION etf_rollups_after_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM refresh_etf_rollups(NULL);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER etfs_rollups_delete AFTER DELETE ON etfs
    FOR EACH STATEMENT EXECUTE FUNCTION etf_rollups_after_delete();

SELECT refresh_etf_fund_keys();

DROP FUNCTION refresh_etf_flow_cumulative(date);
DROP TABLE etf_flow_cumulative;

SELECT refresh_etf_rollups(NULL);
"""
)

DOWNGRADE = """
DROP TRIGGER IF EXISTS etfs_rollups_delete ON etfs;
DROP FUNCTION IF EXISTS etf_rollups_after_delete();
DROP TRIGGER IF EXISTS etfs_fund_keys ON etfs;
DROP TRIGGER IF EXISTS asset_managers_fund_keys ON asset_managers;
DROP TRIGGER IF EXISTS indices_fund_keys ON indices;
DROP FUNCTION IF EXISTS etf_fund_keys_after_change();
DROP FUNCTION IF EXISTS refresh_etf_fund_keys();
DROP TABLE IF EXISTS etf_fund_keys;
DROP TRIGGER IF EXISTS indices_themes_update ON indices;
DROP FUNCTION IF EXISTS index_themes_after_change();
DROP TRIGGER IF EXISTS etfs_groups_update ON etfs;
DROP FUNCTION IF EXISTS etf_groups_after_change();
DROP FUNCTION IF EXISTS refresh_etf_rollups(date);
DROP FUNCTION IF EXISTS refresh_etf_group_themes(date);
DROP TABLE IF EXISTS etf_group_days;
DROP TABLE IF EXISTS etf_day_totals;
DROP FUNCTION IF EXISTS cents(numeric);
DROP AGGREGATE IF EXISTS cents_sum(bigint);
"""


def _landed(file_name: str) -> Any:
    """A migration that landed before this one, as a module (to rebuild what this one drops)."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)
    # The buckets' function reads connect_flow_days, whose refresh calls it: create it unchecked first.
    op.execute("SET LOCAL check_function_bodies = off")
    op.execute(FLOW_BUCKETS)
    op.execute("SET LOCAL check_function_bodies = on")
    op.execute(FLOWS)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(FLOWS_DOWN)
    op.execute(DOWNGRADE)
    # etf_flow_cumulative as migrations 0005 and 0006 made it, filled again.
    op.execute(_landed("2026-11-25-1300_analytics_rollups.py").UPGRADE)
    op.execute("CREATE INDEX etf_flow_cumulative_day_idx ON etf_flow_cumulative (trading_day, etf_id)")
