"""Load history and the data version: every file load is recorded, and each load that changes data bumps a counter.

`load_history` keeps one row per attempted load (dataset, file, SHA-256, rows by outcome, timings, status);
successful loads are written inside the load's own transaction, failed ones afterwards in a transaction of
their own. `data_version` is a single row bumped by the load transaction itself, so it is transactional and
grows in commit order: clients and caches key on it.

Revision ID: 0003_load_history
Revises: 0002_fx_rate_functions
Create Date: 2026-11-25 12:00
"""

from alembic import op

revision = "0003_load_history"
down_revision = "0002_fx_rate_functions"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TYPE load_status AS ENUM ('SUCCEEDED', 'UNCHANGED', 'REJECTED', 'FAILED');

CREATE TABLE load_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset         text NOT NULL,
    file_name       text NOT NULL,
    sha256          char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    rows_read       bigint NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
    rows_inserted   bigint NOT NULL DEFAULT 0 CHECK (rows_inserted >= 0),
    rows_updated    bigint NOT NULL DEFAULT 0 CHECK (rows_updated >= 0),
    rows_unchanged  bigint NOT NULL DEFAULT 0 CHECK (rows_unchanged >= 0),
    rows_rejected   bigint NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
    -- Rows the file carries but the dataset does not take (a non-trading-day block, an equity line).
    rows_skipped    bigint NOT NULL DEFAULT 0 CHECK (rows_skipped >= 0),
    first_day       date,
    last_day        date CHECK (last_day >= first_day),
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL CHECK (finished_at >= started_at),
    status          load_status NOT NULL,
    error           text,
    -- The data version this load produced (NULL when it changed nothing or failed).
    data_version    bigint,
    CHECK ((status IN ('REJECTED', 'FAILED')) = (error IS NOT NULL))
);
CREATE INDEX load_history_dataset_idx ON load_history (dataset, finished_at DESC);
CREATE INDEX load_history_sha256_idx ON load_history (sha256);

CREATE TABLE data_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL CHECK (version >= 0),
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO data_version (version) VALUES (0);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS data_version, load_history;
DROP TYPE IF EXISTS load_status;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
