"""The day's top-10 traded stocks per Connect channel, and stocks' own Connect eligibility (issue 15).

HKEX's daily Stock Connect statistics carry, per block (SSE/SZSE x Northbound/Southbound), the day's ten
most traded stocks with buy, sell and total turnover in full units of the block's currency.
``connect_top_stocks`` holds them, one row per block, day and rank, each naming a loaded security and
its block's row of ``connect_daily_flows`` (a top ten comes with its day's statistics). Northbound buy
and sell may be blank, so net buying is null there.

``security_connect_eligibility`` gives stocks the eligibility periods ETFs have in
``connect_eligibility`` (eligible, or sell-only on the special list), from the same HKEX change files
and full lists.

Revision ID: 0016_connect_top_stocks
Revises: 0019_etf_aum_totals
Create Date: 2026-11-30 12:10
"""

from alembic import op

revision = "0016_connect_top_stocks"
down_revision = "0019_etf_aum_totals"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE connect_top_stocks (
    channel        connect_channel NOT NULL,
    direction      connect_direction NOT NULL,
    trading_day    date NOT NULL,
    rank           smallint NOT NULL CHECK (rank BETWEEN 1 AND 10),
    security_id    bigint NOT NULL REFERENCES securities (id) ON DELETE RESTRICT,
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    buy_turnover   numeric(24, 2) CHECK (buy_turnover >= 0),
    sell_turnover  numeric(24, 2) CHECK (sell_turnover >= 0),
    total_turnover numeric(24, 2) NOT NULL CHECK (total_turnover >= 0),
    net_buy        numeric(24, 2) GENERATED ALWAYS AS (buy_turnover - sell_turnover) STORED,
    PRIMARY KEY (direction, trading_day, channel, rank),
    UNIQUE (direction, trading_day, channel, security_id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (direction, trading_day, channel)
        REFERENCES connect_daily_flows (direction, trading_day, channel) ON DELETE CASCADE
);
CREATE INDEX connect_top_stocks_security_idx ON connect_top_stocks (security_id, trading_day);
COMMENT ON TABLE connect_top_stocks IS
    'HKEX daily Stock Connect statistics: the ten most traded stocks per block and day (full units).';

CREATE TABLE security_connect_eligibility (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    security_id    bigint NOT NULL REFERENCES securities (id) ON DELETE CASCADE,
    direction      connect_direction NOT NULL,
    channel        connect_channel NOT NULL,
    status         eligibility_status NOT NULL DEFAULT 'ELIGIBLE',
    effective_from date NOT NULL,
    effective_to   date CHECK (effective_to > effective_from),
    reason         text,
    period         daterange GENERATED ALWAYS AS (daterange(effective_from, effective_to, '[)')) STORED,
    CONSTRAINT security_connect_eligibility_no_overlap
        EXCLUDE USING gist (security_id WITH =, direction WITH =, channel WITH =, period WITH &&)
);
CREATE INDEX security_connect_eligibility_direction_period_idx
    ON security_connect_eligibility USING gist (direction, period);
"""

DOWNGRADE = """
DROP TABLE security_connect_eligibility;
DROP TABLE connect_top_stocks;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
