"""Manager history: a fund's manager changes, and the periods each manager ran the fund (issue 15).

A fund's manager changes over time (the Tracker Fund of Hong Kong moved from State Street Global
Advisors Asia to Hang Seng Investment Management on 2022-09-19). ``etf_manager_changes`` holds the
published changes (fund, effective date, previous and new manager); ``etf_manager_periods`` is the
view of the periods they imply: the previous manager of a fund's first change from its listing, each
new manager from its change to the next one. A fund without changes has one period, its manager in the
ETF master (``etfs.issuer_id``) from its listing. ``etfs.issuer_id`` stays the current manager.

Revision ID: 0015_manager_periods
Revises: 0024_etf_domicile
Create Date: 2026-11-30 12:00
"""

from alembic import op

revision = "0015_manager_periods"
down_revision = "0024_etf_domicile"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE etf_manager_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    etf_id          bigint NOT NULL REFERENCES etfs (id) ON DELETE CASCADE,
    effective_date  date NOT NULL,
    from_manager_id bigint NOT NULL REFERENCES asset_managers (id) ON DELETE RESTRICT,
    to_manager_id   bigint NOT NULL REFERENCES asset_managers (id) ON DELETE RESTRICT,
    reason          text,
    UNIQUE (etf_id, effective_date),
    CHECK (from_manager_id <> to_manager_id)
);
CREATE INDEX etf_manager_changes_from_idx ON etf_manager_changes (from_manager_id);
CREATE INDEX etf_manager_changes_to_idx ON etf_manager_changes (to_manager_id);
COMMENT ON TABLE etf_manager_changes IS
    'Published changes of a fund''s manager: from effective_date on, to_manager_id runs the fund.';

-- Every fund's manager periods [effective_from, effective_to): one per fund without changes; with
-- changes, the first change's previous manager from the listing, then each change's new manager.
CREATE VIEW etf_manager_periods AS
SELECT e.id AS etf_id, e.issuer_id AS manager_id, e.listing_date AS effective_from,
       NULL::date AS effective_to, NULL::text AS reason
FROM etfs e
WHERE NOT EXISTS (SELECT 1 FROM etf_manager_changes c WHERE c.etf_id = e.id)
UNION ALL
SELECT e.id, f.from_manager_id, e.listing_date, f.effective_date, NULL
FROM etfs e
JOIN LATERAL (SELECT c.from_manager_id, c.effective_date FROM etf_manager_changes c
              WHERE c.etf_id = e.id ORDER BY c.effective_date LIMIT 1) f ON f.effective_date > e.listing_date
UNION ALL
SELECT c.etf_id, c.to_manager_id, c.effective_date,
       lead(c.effective_date) OVER (PARTITION BY c.etf_id ORDER BY c.effective_date), c.reason
FROM etf_manager_changes c;
"""

DOWNGRADE = """
DROP VIEW etf_manager_periods;
DROP TABLE etf_manager_changes;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
