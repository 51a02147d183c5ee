"""Datasets are named as the loader names them (``etf-daily``), not after their tables (``etf_daily_stats``).

``datasets.name`` and ``load_history.dataset`` held table names while ``connectgraph load`` and the
``dataLanded`` subscription used dataset names, so a subscription to ``connect-daily`` never fired. One
name per dataset now (``service/ingest/datasets.py``); this renames the stored rows. Index levels, loaded
with the demo until now, become the ``index-levels`` dataset.

Revision ID: 0010_dataset_names
Revises: 0014_data_version_notify
Create Date: 2026-11-30 09:00
"""

from alembic import op

revision = "0010_dataset_names"
down_revision = "0014_data_version_notify"
branch_labels = None
depends_on = None

# (table name, dataset name)
RENAMES = (
    ("asset_managers", "managers"),
    ("index_memberships", "memberships"),
    ("index_licences", "licences"),
    ("connect_eligibility", "eligibility"),
    ("trading_calendar", "calendar"),
    ("fx_rates", "fx"),
    ("index_levels", "index-levels"),
    ("connect_daily_flows", "connect-daily"),
    ("etf_daily_stats", "etf-daily"),
)


def _rename(pairs: tuple[tuple[str, str], ...]) -> None:
    for old, new in pairs:
        # Fixed literals of this migration, not input.
        op.execute(f"UPDATE datasets SET name = '{new}' WHERE name = '{old}'")
        op.execute(f"UPDATE load_history SET dataset = '{new}' WHERE dataset = '{old}'")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    _rename(RENAMES)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    _rename(tuple((new, old) for old, new in RENAMES))
