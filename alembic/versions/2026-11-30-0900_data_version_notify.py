"""Every change of the data version is announced: NOTIFY connectgraph_version, '<version>'.

Each instance holds the data version in memory (for ETags and the answer cache) instead of reading it on
every request, and moves it when PostgreSQL announces a change. A trigger rather than the writers: every
path that moves the version (a load, the demo loader, an UPDATE by hand) announces it, in its own
transaction, so the notice goes out only if the change commits.

Revision ID: 0014_data_version_notify
Revises: 0007_connect_days_table
Create Date: 2026-11-30 09:00
"""

from alembic import op

revision = "0014_data_version_notify"
down_revision = "0007_connect_days_table"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION announce_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('connectgraph_version', NEW.version::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER data_version_announced
    AFTER INSERT OR UPDATE OF version ON data_version
    FOR EACH ROW WHEN (NEW.version IS NOT NULL)
    EXECUTE FUNCTION announce_data_version();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS data_version_announced ON data_version;
DROP FUNCTION IF EXISTS announce_data_version();
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
