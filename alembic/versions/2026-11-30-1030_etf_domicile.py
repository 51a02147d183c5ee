"""A fund's domicile: the country whose law the fund is constituted under (ISO 3166-1 alpha-2).

Nullable, no default: adding it rewrites nothing, and files without the column leave it as stored.

Revision ID: 0024_etf_domicile
Revises: 0009_day_rollups
Create Date: 2026-11-30 10:30
"""

from alembic import op

revision = "0024_etf_domicile"
down_revision = "0009_day_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("ALTER TABLE etfs ADD COLUMN domicile char(2) CHECK (domicile ~ '^[A-Z]{2}$')")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("ALTER TABLE etfs DROP COLUMN domicile")
