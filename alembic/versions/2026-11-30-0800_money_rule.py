"""The money rule as SQL functions: each recorded amount converted at its day's rate, rounded to the cent.

An amount is recorded on a day (a fund's day, a Stock Connect channel's day). Converted into a reporting
currency it is that amount x the day's rate (``fx_rate_rows()``: the latest rate on or before the day,
crossed through HKD), rounded to the cent; a total adds those rounded amounts, so a window's total is
exactly the sum of its days' and of its funds' or channels' figures in every currency.

* ``money_at_rate(amount, rate)``: the rounding, for statements that look a rate up once per
  (currency, day) and apply it to many rows (rankings over thousands of fund-days, the rollups).
* ``money_convert(amount, from_ccy, to_ccy, on_day)``: one amount, with the rate and its date; always
  one row (value and rate null when a rate is missing; ``to_ccy`` null keeps the amount unconverted).
  PostgreSQL inlines both into the calling statement, where a rate lookup is an index probe.

``fx_rate_rows()`` now answers rate 1 for a currency into itself on any day, as ``fx_rate()`` does (it
gave no row before that currency's first published rate).

Revision ID: 0008_money_rule
Revises: 0011_load_attempts
Create Date: 2026-11-30 08:00
"""

from alembic import op

revision = "0008_money_rule"
down_revision = "0011_load_attempts"
branch_labels = None
depends_on = None

# fx_rate_rows() of migration 0002 gave no row for a currency into itself before that currency's first rate
# into HKD (fx_rate() gives 1): the same currency is rate 1 on any day, without a lookup.
FX_RATE_ROWS = """
CREATE OR REPLACE FUNCTION fx_rate_rows(from_ccy char(3), to_ccy char(3), on_day date)
RETURNS TABLE (rate numeric, rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 1::numeric, on_day WHERE from_ccy = to_ccy
    UNION ALL
    SELECT round(f.rate / t.rate, 10), least(f.rate_day, t.rate_day)
    FROM hkd_rate_rows(from_ccy, on_day) f, hkd_rate_rows(to_ccy, on_day) t
    WHERE from_ccy <> to_ccy
$$;
"""

FX_RATE_ROWS_BEFORE = """
CREATE OR REPLACE FUNCTION fx_rate_rows(from_ccy char(3), to_ccy char(3), on_day date)
RETURNS TABLE (rate numeric, rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN from_ccy = to_ccy THEN 1::numeric ELSE round(f.rate / t.rate, 10) END,
           CASE WHEN from_ccy = to_ccy THEN on_day ELSE least(f.rate_day, t.rate_day) END
    FROM hkd_rate_rows(from_ccy, on_day) f, hkd_rate_rows(to_ccy, on_day) t
$$;
"""

UPGRADE = """
CREATE FUNCTION money_at_rate(amount numeric, rate numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT round(amount * rate, 2) $$;
COMMENT ON FUNCTION money_at_rate IS 'The money rule: an amount converted at a rate, rounded to the cent (totals add these).';

CREATE FUNCTION money_convert(amount numeric, from_ccy char(3), to_ccy char(3), on_day date)
RETURNS TABLE (value numeric, rate numeric, rate_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT money_at_rate(amount, r.rate), r.rate, r.rate_day
    FROM (SELECT) one
    LEFT JOIN LATERAL fx_rate_rows(from_ccy, coalesce(to_ccy, from_ccy), on_day) r ON true
$$;
COMMENT ON FUNCTION money_convert IS 'An amount of from_ccy recorded on on_day in to_ccy (null: unconverted), rounded to the cent, with the rate applied and its date; one row, nulls when no rate.';
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS money_convert(numeric, char, char, date);
DROP FUNCTION IF EXISTS money_at_rate(numeric, numeric);
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(FX_RATE_ROWS)
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
    op.execute(FX_RATE_ROWS_BEFORE)
