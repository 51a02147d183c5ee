"""What each load wrote, for alerts: the southbound days and each fund's days (issue 15).

Alerts (``southboundDayAlerts``, ``etfFiguresAlerts``) tell subscribers about exactly the days a load
wrote, with their figures. The loader records them here in its transaction (only rows it inserted or
changed), and its NOTIFY says how many records it left; each instance reads a load's records once it
hears of it. One row per kind and fund, the days as an array (a history load of a fund is one row).

Revision ID: 0017_load_events
Revises: 0016_connect_top_stocks
Create Date: 2026-11-30 12:20
"""

from alembic import op

revision = "0017_load_events"
down_revision = "0016_connect_top_stocks"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE load_events (
    load_id bigint NOT NULL REFERENCES load_history (id) ON DELETE CASCADE,
    kind    text NOT NULL CHECK (kind IN ('SOUTHBOUND_DAYS', 'ETF_DAYS')),
    etf_id  bigint REFERENCES etfs (id) ON DELETE CASCADE,
    days    date[] NOT NULL CHECK (cardinality(days) > 0),
    CHECK ((kind = 'ETF_DAYS') = (etf_id IS NOT NULL))
);
CREATE INDEX load_events_load_idx ON load_events (load_id, kind);
COMMENT ON TABLE load_events IS
    'The days a load inserted or changed: southbound flow days, and each fund''s daily figures (alerts).';
"""

DOWNGRADE = """
DROP TABLE load_events;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
