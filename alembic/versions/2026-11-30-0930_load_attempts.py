"""Every load attempt is recorded before its work: RUNNING, then its outcome, or ABANDONED when it died.

A load used to record itself in its own transaction when it committed (or after a rollback), so a
process killed mid-load left no trace although docs/ingest.md says every attempt is recorded. Now a
RUNNING row is committed first, with the session that runs the load (``backend_pid``); the load turns
it into SUCCEEDED, UNCHANGED, REJECTED or FAILED. A later load marks RUNNING rows whose session is gone
ABANDONED, with when it found them (``finished_at``) and why (``error``). A RUNNING row has no
``finished_at``. The enum is rebuilt (not ``ADD VALUE``) so the checks can name its new values in the
same transaction.

Revision ID: 0011_load_attempts
Revises: 0010_dataset_names
Create Date: 2026-11-30 09:30
"""

from alembic import op

revision = "0011_load_attempts"
down_revision = "0010_dataset_names"
branch_labels = None
depends_on = None

UPGRADE = """
-- The initial checks, by their generated names: finished_at >= started_at, and error iff it failed.
ALTER TABLE load_history DROP CONSTRAINT load_history_check1;
ALTER TABLE load_history DROP CONSTRAINT load_history_check2;
ALTER TYPE load_status RENAME TO load_status_old;
CREATE TYPE load_status AS ENUM ('RUNNING', 'SUCCEEDED', 'UNCHANGED', 'REJECTED', 'FAILED', 'ABANDONED');
ALTER TABLE load_history ALTER COLUMN status TYPE load_status USING status::text::load_status;
DROP TYPE load_status_old;

ALTER TABLE load_history
    ALTER COLUMN finished_at DROP NOT NULL,
    ADD COLUMN backend_pid integer,
    ADD CONSTRAINT load_history_finished CHECK (finished_at >= started_at),
    ADD CONSTRAINT load_history_running CHECK ((status = 'RUNNING') = (finished_at IS NULL)),
    ADD CONSTRAINT load_history_error
        CHECK ((status IN ('REJECTED', 'FAILED', 'ABANDONED')) = (error IS NOT NULL));
COMMENT ON COLUMN load_history.backend_pid IS
    'The server process of the session running the load: a RUNNING row whose session is gone was abandoned.';
CREATE INDEX load_history_running_idx ON load_history (id) WHERE status = 'RUNNING';
"""

DOWNGRADE = """
DROP INDEX load_history_running_idx;
ALTER TABLE load_history
    DROP CONSTRAINT load_history_error,
    DROP CONSTRAINT load_history_running,
    DROP CONSTRAINT load_history_finished,
    DROP COLUMN backend_pid;
-- The old states cannot say "running" or "abandoned": such attempts become failed ones.
UPDATE load_history SET status = 'FAILED', finished_at = coalesce(finished_at, greatest(now(), started_at)),
    error = coalesce(error, 'the load did not finish (recorded as running when downgraded)')
WHERE status IN ('RUNNING', 'ABANDONED');
ALTER TABLE load_history ALTER COLUMN finished_at SET NOT NULL;
ALTER TYPE load_status RENAME TO load_status_new;
CREATE TYPE load_status AS ENUM ('SUCCEEDED', 'UNCHANGED', 'REJECTED', 'FAILED');
ALTER TABLE load_history ALTER COLUMN status TYPE load_status USING status::text::load_status;
DROP TYPE load_status_new;
ALTER TABLE load_history
    ADD CONSTRAINT load_history_check1 CHECK (finished_at >= started_at),
    ADD CONSTRAINT load_history_check2 CHECK ((status IN ('REJECTED', 'FAILED')) = (error IS NOT NULL));
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
