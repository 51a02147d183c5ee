"""Search: pg_trgm for typo-tolerant names, Chinese names on indices and securities, an index's market.

``search(text:)`` ranks ETFs, indices, securities and managers by how their codes and names match what
was typed (ADR 0015). Names are matched as substrings (``ILIKE``, in both Chinese scripts) and, for typos,
by trigram word similarity: the GIN trigram indexes serve both. Indices and securities gain ``name_zh``
(ETFs have had it since 0001); indices gain ``market``, the market whose listed securities they cover
(``HK`` for the Hang Seng indices), so that "mainland ETFs tracking Hong Kong indices" is one filter.

Revision ID: 0020_search
Revises: 0017_load_events
Create Date: 2026-11-30 13:00
"""

from alembic import op

revision = "0020_search"
down_revision = "0017_load_events"
branch_labels = None
depends_on = None

# (index name, table, column): every name search reads.
TRIGRAM_INDEXES = (
    ("etfs_name_en_trgm_idx", "etfs", "name_en"),
    ("etfs_name_zh_trgm_idx", "etfs", "name_zh"),
    ("indices_name_trgm_idx", "indices", "name"),
    ("indices_name_zh_trgm_idx", "indices", "name_zh"),
    ("securities_name_trgm_idx", "securities", "name"),
    ("securities_name_zh_trgm_idx", "securities", "name_zh"),
    ("asset_managers_short_name_trgm_idx", "asset_managers", "short_name"),
    ("asset_managers_legal_name_trgm_idx", "asset_managers", "legal_name"),
)

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- The planner prices pg_trgm's word-similarity operators (<% and %>) as cheap as =, so on tables of a
-- few thousand names it filters every row with them (some 25 us each) instead of reading the trigram
-- index: priced near what they cost, the index is chosen (tracker fnd at 2.7M-row scale: 49 -> 31 ms).
ALTER FUNCTION word_similarity_op(text, text) COST 1000;
ALTER FUNCTION word_similarity_commutator_op(text, text) COST 1000;

ALTER TABLE indices ADD COLUMN name_zh text CHECK (name_zh <> '');
ALTER TABLE indices ADD COLUMN market char(2) CHECK (market ~ '^[A-Z]{2}$');
COMMENT ON COLUMN indices.market IS
    'Market whose listed securities the index covers (ISO 3166 alpha-2); null when it spans several.';
ALTER TABLE securities ADD COLUMN name_zh text CHECK (name_zh <> '');
CREATE INDEX indices_market_idx ON indices (market);
""" + "".join(
    f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops);\n"
    for name, table, column in TRIGRAM_INDEXES
)

DOWNGRADE = (
    "".join(f"DROP INDEX IF EXISTS {name};\n" for name, _, _ in TRIGRAM_INDEXES)
    + """
DROP INDEX IF EXISTS indices_market_idx;
ALTER TABLE securities DROP COLUMN IF EXISTS name_zh;
ALTER TABLE indices DROP COLUMN IF EXISTS market;
ALTER TABLE indices DROP COLUMN IF EXISTS name_zh;
DROP EXTENSION IF EXISTS pg_trgm;
"""
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
