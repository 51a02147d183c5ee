"""A fund's investment focus: what it holds, as the ETF Connect eligibility criteria read it.

Southbound ETF Connect takes Hong Kong ETFs investing in Hong Kong or mainland shares; northbound takes
mainland ETFs on mainland shares. Nothing else the service stores says so (a gold fund, a money-market
fund and a Nasdaq-100 fund are all physical, unleveraged Hong Kong ETFs), so the eligibility screen
reads it here. Nullable: unknown means the criterion is not checked.

Revision ID: 0018_etf_investment_focus
Revises: 0015_manager_periods
Create Date: 2026-11-30 11:00
"""

from alembic import op

revision = "0018_etf_investment_focus"
down_revision = "0015_manager_periods"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        """ALTER TABLE etfs ADD COLUMN investment_focus text CHECK (investment_focus IN (
               'HONG_KONG_EQUITY', 'MAINLAND_EQUITY', 'OTHER_EQUITY', 'BOND', 'COMMODITY', 'MONEY_MARKET'))"""
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("ALTER TABLE etfs DROP COLUMN investment_focus")
