"""Every fund's last day with figures in each calendar month: that day's currency, AUM and rates.

``Etf.aumHistory`` (Q6) answers the AUM on the last trading day of each period. Monthly over 8 years that
was a DISTINCT ON over the fund's ~2,000 daily rows per request; ``etf_month_ends`` holds the ~100 month
ends instead, and quarters and years are the last of their months (ADR 0018). The month holding the
window's last day is read from the daily rows (the window may end before the month's last day). Each month
end carries the rate into each reporting currency on its day, as ``money_convert`` looks it up
(``fx_rate_rows``): a converted history then needs no rate lookup per period, which cost more than the
daily rows themselves once those were gone.

It is derived from ``etf_daily_stats`` and ``fx_rates`` and kept as ``etf_aum_totals`` is (migration 0019):
a statement trigger on ``etf_day_totals``, which ``refresh_etf_rollups(since)`` rewrites from the first
changed day in the transaction of every load that changed fund figures or rates, rewrites the months from
that day's month on; a TRUNCATE there empties it. So the loaders need no change.

Revision ID: 0021_etf_month_ends
Revises: 0020_search
Create Date: 2026-11-30 14:00
"""

from alembic import op

revision = "0021_etf_month_ends"
down_revision = "0020_search"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE etf_month_ends (
    etf_id bigint NOT NULL,
    month date NOT NULL,          -- first day of the calendar month
    trading_day date NOT NULL,    -- the fund's last day with figures in the month
    currency char(3) NOT NULL,    -- of that day's row
    aum numeric(24, 2) NOT NULL,  -- of that day's row
    -- fx_rate_rows(currency, X, trading_day) for each reporting currency X (null: no rate): the rate
    -- money_convert would apply, so that a converted history needs no rate lookup per period
    hkd_rate numeric, hkd_rate_day date,
    cny_rate numeric, cny_rate_day date,
    usd_rate numeric, usd_rate_day date,
    krw_rate numeric, krw_rate_day date,
    PRIMARY KEY (etf_id, month)
);
COMMENT ON TABLE etf_month_ends IS 'Each fund''s last day with figures in each calendar month, with its currency, AUM and the day''s rate into each reporting currency (rollup for Etf.aumHistory); kept from etf_daily_stats and fx_rates by a trigger on etf_day_totals.';

-- Rewrite etf_month_ends from the month of since on (every month when null), from etf_daily_stats; the
-- rates are looked up once per (currency, day), not per fund.
CREATE FUNCTION refresh_etf_month_ends(since date) RETURNS void
LANGUAGE sql
SET jit = off
SET work_mem = '256MB'
AS $fn$
    DELETE FROM etf_month_ends WHERE since IS NULL OR month >= date_trunc('month', since);
    INSERT INTO etf_month_ends
    WITH ends AS MATERIALIZED (
        SELECT DISTINCT ON (s.etf_id, date_trunc('month', s.trading_day))
               s.etf_id, date_trunc('month', s.trading_day)::date AS month, s.trading_day, s.currency, s.aum
        FROM etf_daily_stats s
        WHERE since IS NULL OR s.trading_day >= date_trunc('month', since)
        ORDER BY s.etf_id, date_trunc('month', s.trading_day), s.trading_day DESC),
    rates AS (
        SELECT k.currency, k.trading_day, hkd.rate AS hkd_rate, hkd.rate_day AS hkd_rate_day,
               cny.rate AS cny_rate, cny.rate_day AS cny_rate_day, usd.rate AS usd_rate,
               usd.rate_day AS usd_rate_day, krw.rate AS krw_rate, krw.rate_day AS krw_rate_day
        FROM (SELECT DISTINCT e.currency, e.trading_day FROM ends e) k
        LEFT JOIN LATERAL fx_rate_rows(k.currency, 'HKD', k.trading_day) hkd ON true
        LEFT JOIN LATERAL fx_rate_rows(k.currency, 'CNY', k.trading_day) cny ON true
        LEFT JOIN LATERAL fx_rate_rows(k.currency, 'USD', k.trading_day) usd ON true
        LEFT JOIN LATERAL fx_rate_rows(k.currency, 'KRW', k.trading_day) krw ON true)
    SELECT e.etf_id, e.month, e.trading_day, e.currency, e.aum, r.hkd_rate, r.hkd_rate_day, r.cny_rate,
           r.cny_rate_day, r.usd_rate, r.usd_rate_day, r.krw_rate, r.krw_rate_day
    FROM ends e JOIN rates r ON r.currency = e.currency AND r.trading_day = e.trading_day
    ORDER BY e.etf_id, e.month;
$fn$;

CREATE FUNCTION etf_month_ends_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- not TRUNCATE: a TRUNCATE naming both tables (demo load --force) still holds this one open
        DELETE FROM etf_month_ends;
    ELSE
        PERFORM refresh_etf_month_ends((SELECT min(trading_day) FROM new_days));
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER etf_day_totals_month_ends_insert AFTER INSERT ON etf_day_totals
    REFERENCING NEW TABLE AS new_days
    FOR EACH STATEMENT EXECUTE FUNCTION etf_month_ends_after_change();
CREATE TRIGGER etf_day_totals_month_ends_truncate AFTER TRUNCATE ON etf_day_totals
    FOR EACH STATEMENT EXECUTE FUNCTION etf_month_ends_after_change();

SELECT refresh_etf_month_ends(NULL);
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS etf_day_totals_month_ends_truncate ON etf_day_totals;
DROP TRIGGER IF EXISTS etf_day_totals_month_ends_insert ON etf_day_totals;
DROP FUNCTION IF EXISTS etf_month_ends_after_change();
DROP FUNCTION IF EXISTS refresh_etf_month_ends(date);
DROP TABLE IF EXISTS etf_month_ends;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
