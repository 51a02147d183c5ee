"""Analytics rollup: per ETF and trading day, running sums of the figures rankings add up.

``etf_flow_cumulative`` holds, for every row of ``etf_daily_stats``, the fund's running totals up to and
including that day: rows, net creation units, days with turnover, and net creation value, creations and
turnover both in the native currency and converted to HKD, CNY, USD and KRW (each day at its own rate from
``fx_rate()``, rounded to the cent, then added: the same figures the per-row SQL adds), the day's AUM in
each currency, and per target currency the days without a rate. A window's total per fund is then the
running total at its last day in the window minus the one before the window: two index probes per fund
instead of every fund-day's arithmetic.

``refresh_etf_flow_cumulative(since)`` recomputes the rows from ``since`` on (every row when null), carrying
on from each fund's last row before it; the loaders call it in the load's transaction after a change to
``etf_daily_stats`` or ``fx_rates``. This migration fills the table once.

Revision ID: 0005_analytics_rollups
Revises: 0004_api_keys
Create Date: 2026-11-25 13:00
"""

from alembic import op

revision = "0005_analytics_rollups"
down_revision = "0004_api_keys"
branch_labels = None
depends_on = None

TARGETS = ("hkd", "cny", "usd", "krw")


def _per_target(template: str, sep: str = ",\n    ") -> str:
    return sep.join(template.format(t=t, T=t.upper()) for t in TARGETS)


_SELECT_SEP = ",\n           "
_COLUMNS = _per_target("""aum_{t} numeric,
    cum_ncv_{t} numeric NOT NULL,
    cum_creation_{t} numeric NOT NULL,
    cum_turnover_{t} numeric NOT NULL,
    cum_no_rate_{t} integer NOT NULL""")
_BASE = _per_target("""c.cum_ncv_{t} AS b_ncv_{t}, c.cum_creation_{t} AS b_creation_{t},
                   c.cum_turnover_{t} AS b_turnover_{t}, c.cum_no_rate_{t} AS b_no_rate_{t}""")
_RATES = _per_target("(fx_rate(d.currency, '{T}', d.day)).rate AS rate_{t}")
_CONVERTED = _per_target("""round(s.net_creation_value * r.rate_{t}, 2) AS ncv_{t},
               round(s.turnover * r.rate_{t}, 2) AS turnover_{t},
               round(s.aum * r.rate_{t}, 2) AS aum_{t},
               (r.rate_{t} IS NULL)::int AS no_rate_{t}""")
_SUMS = _per_target(
    """v.aum_{t},
           coalesce(v.b_ncv_{t}, 0) + coalesce(sum(v.ncv_{t}) OVER w, 0),
           coalesce(v.b_creation_{t}, 0) + coalesce(sum(greatest(v.ncv_{t}, 0)) OVER w, 0),
           coalesce(v.b_turnover_{t}, 0) + coalesce(sum(v.turnover_{t}) OVER w, 0),
           (coalesce(v.b_no_rate_{t}, 0) + sum(v.no_rate_{t}) OVER w)::int""",
    _SELECT_SEP,
)


UPGRADE = f"""
CREATE TABLE etf_flow_cumulative (
    etf_id              bigint NOT NULL,
    trading_day         date NOT NULL,
    currency            char(3) NOT NULL,
    cum_rows            integer NOT NULL,
    -- cum_rows of the first row of the current run of rows in this currency (a window is in one currency
    -- when its last row's run started at or before its first row).
    run_start           integer NOT NULL,
    cum_units           numeric NOT NULL,
    cum_turnover_rows   integer NOT NULL,
    aum_native          numeric NOT NULL,
    cum_ncv_native      numeric NOT NULL,
    cum_creation_native numeric NOT NULL,
    cum_turnover_native numeric NOT NULL,
    {_COLUMNS},
    PRIMARY KEY (etf_id, trading_day)
);
COMMENT ON TABLE etf_flow_cumulative IS 'Running totals per ETF and day (analytics rollup); maintained by refresh_etf_flow_cumulative().';

CREATE FUNCTION refresh_etf_flow_cumulative(since date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    DELETE FROM etf_flow_cumulative WHERE since IS NULL OR trading_day >= since;
    INSERT INTO etf_flow_cumulative
    WITH base AS (
        -- Each fund's last row before ``since``: the totals to carry on from.
        SELECT e.id AS b_etf_id, b.*
        FROM etfs e
        JOIN LATERAL (
            SELECT c.currency AS b_currency, c.cum_rows AS b_rows, c.run_start AS b_run_start,
                   c.cum_units AS b_units, c.cum_turnover_rows AS b_turnover_rows,
                   c.cum_ncv_native AS b_ncv_native, c.cum_creation_native AS b_creation_native,
                   c.cum_turnover_native AS b_turnover_native,
                   {_BASE}
            FROM etf_flow_cumulative c
            WHERE since IS NOT NULL AND c.etf_id = e.id AND c.trading_day < since
            ORDER BY c.trading_day DESC LIMIT 1) b ON true),
    days AS (
        SELECT DISTINCT s.currency, s.trading_day AS day
        FROM etf_daily_stats s WHERE since IS NULL OR s.trading_day >= since),
    rates AS MATERIALIZED (
        -- One conversion per (currency, day), as fx_rate() gives it.
        SELECT d.currency, d.day,
               {_RATES}
        FROM days d),
    converted AS (
        SELECT s.etf_id, s.trading_day, s.currency, s.net_creation_units, s.turnover, s.aum,
               s.net_creation_value,
               {_CONVERTED},
               row_number() OVER w AS n,
               s.currency IS DISTINCT FROM coalesce(lag(s.currency) OVER w, b.b_currency) AS new_run,
               b.*
        FROM etf_daily_stats s
        JOIN rates r ON r.currency = s.currency AND r.day = s.trading_day
        LEFT JOIN base b ON b.b_etf_id = s.etf_id
        WHERE since IS NULL OR s.trading_day >= since
        WINDOW w AS (PARTITION BY s.etf_id ORDER BY s.trading_day))
    SELECT v.etf_id, v.trading_day, v.currency,
           (coalesce(v.b_rows, 0) + v.n)::int,
           coalesce(max(CASE WHEN v.new_run THEN coalesce(v.b_rows, 0) + v.n END) OVER w, v.b_run_start)::int,
           coalesce(v.b_units, 0) + sum(v.net_creation_units) OVER w,
           (coalesce(v.b_turnover_rows, 0) + count(v.turnover) OVER w)::int,
           v.aum,
           coalesce(v.b_ncv_native, 0) + sum(v.net_creation_value) OVER w,
           coalesce(v.b_creation_native, 0) + sum(greatest(v.net_creation_value, 0)) OVER w,
           coalesce(v.b_turnover_native, 0) + coalesce(sum(v.turnover) OVER w, 0),
           {_SUMS}
    FROM converted v
    WINDOW w AS (PARTITION BY v.etf_id ORDER BY v.trading_day ROWS UNBOUNDED PRECEDING);
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;
COMMENT ON FUNCTION refresh_etf_flow_cumulative IS 'Recompute etf_flow_cumulative from since on (all when null); returns the rows written.';

SELECT refresh_etf_flow_cumulative(NULL);
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS refresh_etf_flow_cumulative(date);
DROP TABLE IF EXISTS etf_flow_cumulative;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
