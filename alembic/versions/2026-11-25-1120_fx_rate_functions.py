"""FX conversion in SQL: fx_rate(from, to, day) with the latest rate on or before the day.

Amounts are stored in their native currency and converted at query time; rates cross through HKD,
and the answer carries the date of the rate used so that a response can say which rate it applied.

Revision ID: 0002_fx_rate_functions
Revises: 0001_initial
Create Date: 2026-11-25 11:20
"""

from alembic import op

revision = "0002_fx_rate_functions"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION hkd_rate(ccy char(3), on_day date, OUT rate numeric, OUT rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 1::numeric, on_day WHERE ccy = 'HKD'
    UNION ALL
    (SELECT r.rate, r.day FROM fx_rates r
     WHERE ccy <> 'HKD' AND r.base_currency = ccy AND r.quote_currency = 'HKD' AND r.day <= on_day
     ORDER BY r.day DESC LIMIT 1)
$$;
COMMENT ON FUNCTION hkd_rate IS 'HKD per unit of ccy on on_day: the latest published rate on or before it.';

CREATE FUNCTION fx_rate(from_ccy char(3), to_ccy char(3), on_day date,
                        OUT rate numeric, OUT rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN from_ccy = to_ccy THEN 1::numeric ELSE round(f.rate / t.rate, 10) END,
           CASE WHEN from_ccy = to_ccy THEN on_day
                WHEN f.rate IS NOT NULL AND t.rate IS NOT NULL THEN least(f.rate_day, t.rate_day) END
    FROM hkd_rate(from_ccy, on_day) f, hkd_rate(to_ccy, on_day) t
$$;
COMMENT ON FUNCTION fx_rate IS 'Units of to_ccy per unit of from_ccy on on_day (crossed through HKD), and the date of the oldest rate used.';

-- The same as row sets: PostgreSQL inlines these into the calling query (it cannot inline a function
-- returning one record), which makes a per-row conversion an index probe instead of a function call.
-- No row when a rate is missing: call them with LEFT JOIN LATERAL ... ON true.
CREATE FUNCTION hkd_rate_rows(ccy char(3), on_day date)
RETURNS TABLE (rate numeric, rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 1::numeric, on_day WHERE ccy = 'HKD'
    UNION ALL
    (SELECT r.rate, r.day FROM fx_rates r
     WHERE ccy <> 'HKD' AND r.base_currency = ccy AND r.quote_currency = 'HKD' AND r.day <= on_day
     ORDER BY r.day DESC LIMIT 1)
$$;

CREATE FUNCTION fx_rate_rows(from_ccy char(3), to_ccy char(3), on_day date)
RETURNS TABLE (rate numeric, rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN from_ccy = to_ccy THEN 1::numeric ELSE round(f.rate / t.rate, 10) END,
           CASE WHEN from_ccy = to_ccy THEN on_day ELSE least(f.rate_day, t.rate_day) END
    FROM hkd_rate_rows(from_ccy, on_day) f, hkd_rate_rows(to_ccy, on_day) t
$$;
COMMENT ON FUNCTION fx_rate_rows IS 'fx_rate() as an inlinable row set: one row, or none when a rate is missing.';
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS fx_rate_rows(char, char, date);
DROP FUNCTION IF EXISTS hkd_rate_rows(char, date);
DROP FUNCTION IF EXISTS fx_rate(char, char, date);
DROP FUNCTION IF EXISTS hkd_rate(char, date);
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
