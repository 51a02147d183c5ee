"""Partner access: API keys (hashed), their usage, and persisted queries.

Only an HMAC-SHA256 of each key (with a server-side secret) is stored, with a short visible prefix
to find it by. A rotated key keeps working until ``grace_until``. Persisted queries serve automatic
persisted queries (any client) and the allow-list (``registered``) that allow-list keys are held to.

Revision ID: 0004_api_keys
Revises: 0003_load_history
Create Date: 2026-11-25 12:15
"""

from alembic import op

revision = "0004_api_keys"
down_revision = "0003_load_history"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE api_keys (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$'),
    prefix          text NOT NULL UNIQUE CHECK (prefix ~ '^cg_[a-z0-9]{8}$'),
    secret_hash     bytea NOT NULL CHECK (length(secret_hash) = 32),
    scopes          text[] NOT NULL CHECK (scopes <@ ARRAY['read:reference', 'read:flows', 'admin']),
    rate_per_minute integer NOT NULL CHECK (rate_per_minute > 0),
    max_cost        integer CHECK (max_cost > 0),
    allow_list_only boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    -- Set on the old key when it is rotated: it keeps working until then.
    grace_until     timestamptz,
    replaced_by     bigint REFERENCES api_keys (id),
    requests        bigint NOT NULL DEFAULT 0,
    rejected        bigint NOT NULL DEFAULT 0,
    last_used_at    timestamptz
);
-- One live key per name; a key being rotated out (grace_until set) gives its name to the new one.
CREATE UNIQUE INDEX api_keys_live_name_idx ON api_keys (name) WHERE revoked_at IS NULL AND grace_until IS NULL;

CREATE TABLE persisted_queries (
    sha256         char(64) PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    document       text NOT NULL,
    operation_name text,
    registered     boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS persisted_queries;
DROP TABLE IF EXISTS api_keys;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
