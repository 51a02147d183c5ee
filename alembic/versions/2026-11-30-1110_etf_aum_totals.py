"""Every fund's running sum of daily AUM (HK$ and RMB, by the money rule) in one row per day.

The ETF Connect eligibility screen averages each fund's daily AUM over six months: at 1,500 funds that is
~190,000 fund-days to read and convert per review. ``etf_aum_totals`` holds, per day, every fund's AUM
summed over its days with figures up to that day (in cents, each day converted at its rate and rounded to
the cent, as ``etf_day_totals.aum_hkd``/``aum_cny`` hold it) and how many such days, as arrays by fund
id; a six-month average is then the difference of two rows.

It is derived from ``etf_day_totals`` (whose arrays already hold each day's converted AUM and the fund's
last day with figures) by a statement trigger: every insert there (``refresh_etf_rollups`` deletes and
rewrites the days from its first changed day) rewrites the days from the first inserted one, carrying on
from the day before; a TRUNCATE there empties it. So the loaders need no change, and a write that refreshes the
ETF rollups refreshes this one in the same transaction.

Revision ID: 0019_etf_aum_totals
Revises: 0018_etf_investment_focus
Create Date: 2026-11-30 11:10
"""

from alembic import op

revision = "0019_etf_aum_totals"
down_revision = "0018_etf_investment_focus"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE etf_aum_totals (
    trading_day date PRIMARY KEY,
    etf_ids bigint[] NOT NULL,
    cum_aum_hkd bigint[] NOT NULL,   -- cents (0 before the fund's first day with figures)
    cum_days_hkd integer[] NOT NULL, -- days with a converted AUM so far
    cum_aum_cny bigint[] NOT NULL,
    cum_days_cny integer[] NOT NULL
);
ALTER TABLE etf_aum_totals ALTER COLUMN etf_ids SET STORAGE EXTERNAL;
ALTER TABLE etf_aum_totals ALTER COLUMN cum_aum_hkd SET STORAGE EXTERNAL;
ALTER TABLE etf_aum_totals ALTER COLUMN cum_days_hkd SET STORAGE EXTERNAL;
ALTER TABLE etf_aum_totals ALTER COLUMN cum_aum_cny SET STORAGE EXTERNAL;
ALTER TABLE etf_aum_totals ALTER COLUMN cum_days_cny SET STORAGE EXTERNAL;
COMMENT ON TABLE etf_aum_totals IS 'Every fund''s daily AUM in HKD and CNY (cents, money rule) summed over its days with figures up to each day, and the count of those days, as arrays by fund id (analytics rollup for the eligibility screen); kept from etf_day_totals by trigger.';

-- Rewrite etf_aum_totals from since on (every day when null), from etf_day_totals.
CREATE FUNCTION refresh_etf_aum_totals(since date) RETURNS void
LANGUAGE sql
SET jit = off
AS $fn$
    DELETE FROM etf_aum_totals WHERE since IS NULL OR trading_day >= since;
    INSERT INTO etf_aum_totals
    WITH base AS (
        -- the totals the day before since
        SELECT u.* FROM etf_aum_totals a,
             unnest(a.etf_ids, a.cum_aum_hkd, a.cum_days_hkd, a.cum_aum_cny, a.cum_days_cny)
                 AS u (etf_id, hkd, days_hkd, cny, days_cny)
        WHERE a.trading_day = (SELECT max(trading_day) FROM etf_aum_totals)),
    cells AS (
        -- each fund's day: its converted AUM when it has figures that day (not a carried value)
        SELECT t.trading_day, u.etf_id, u.n,
               CASE WHEN u.last_day = t.trading_day THEN u.aum_hkd END AS hkd,
               CASE WHEN u.last_day = t.trading_day THEN u.aum_cny END AS cny
        FROM etf_day_totals t,
             unnest(t.etf_ids, t.aum_hkd, t.aum_cny, t.last_day) WITH ORDINALITY
                 AS u (etf_id, aum_hkd, aum_cny, last_day, n)
        WHERE since IS NULL OR t.trading_day >= since),
    running AS (
        SELECT c.trading_day, c.n, c.etf_id,
               coalesce(b.hkd, 0) + coalesce(sum(c.hkd) OVER w, 0) AS hkd,
               coalesce(b.days_hkd, 0) + count(c.hkd) OVER w AS days_hkd,
               coalesce(b.cny, 0) + coalesce(sum(c.cny) OVER w, 0) AS cny,
               coalesce(b.days_cny, 0) + count(c.cny) OVER w AS days_cny
        FROM cells c LEFT JOIN base b ON b.etf_id = c.etf_id
        WINDOW w AS (PARTITION BY c.etf_id ORDER BY c.trading_day ROWS UNBOUNDED PRECEDING))
    SELECT r.trading_day, array_agg(r.etf_id ORDER BY r.n), array_agg(r.hkd ORDER BY r.n),
           array_agg(r.days_hkd::int ORDER BY r.n), array_agg(r.cny ORDER BY r.n),
           array_agg(r.days_cny::int ORDER BY r.n)
    FROM running r
    GROUP BY r.trading_day;
$fn$;

CREATE FUNCTION etf_aum_totals_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- not TRUNCATE: a TRUNCATE naming both tables (demo load --force) still holds this one open
        DELETE FROM etf_aum_totals;
    ELSE
        PERFORM refresh_etf_aum_totals((SELECT min(trading_day) FROM new_days));
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER etf_day_totals_aum_insert AFTER INSERT ON etf_day_totals
    REFERENCING NEW TABLE AS new_days
    FOR EACH STATEMENT EXECUTE FUNCTION etf_aum_totals_after_change();
CREATE TRIGGER etf_day_totals_aum_truncate AFTER TRUNCATE ON etf_day_totals
    FOR EACH STATEMENT EXECUTE FUNCTION etf_aum_totals_after_change();

SELECT refresh_etf_aum_totals(NULL);
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS etf_day_totals_aum_truncate ON etf_day_totals;
DROP TRIGGER IF EXISTS etf_day_totals_aum_insert ON etf_day_totals;
DROP FUNCTION IF EXISTS etf_aum_totals_after_change();
DROP FUNCTION IF EXISTS refresh_etf_aum_totals(date);
DROP TABLE IF EXISTS etf_aum_totals;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
