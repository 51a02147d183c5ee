"""Rollup rows by day: an index on ``etf_flow_cumulative (trading_day, etf_id)``.

A ranking over a window needs every fund's running totals at the window's last day and at the day before
it. Most funds have a row on exactly those days, so they are read as two ranges of this index instead of
two probes of the primary key per fund (3,000 probes at 1,500 funds); only the funds without a row on the
day are probed (``service/repositories/analytics.py``, ``_totals_at``).

Revision ID: 0006_rollup_day_index
Revises: 0005_analytics_rollups
Create Date: 2026-11-25 14:00
"""

from alembic import op

revision = "0006_rollup_day_index"
down_revision = "0005_analytics_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        "CREATE INDEX IF NOT EXISTS etf_flow_cumulative_day_idx ON etf_flow_cumulative (trading_day, etf_id)"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("DROP INDEX IF EXISTS etf_flow_cumulative_day_idx")
