"""An issuer's sums are those of the fund-days it managed: the rollup groups by the manager of the day.

``etf_group_days`` (migration 0009) added each day's fund figures per issuer by the ETF master's manager
(``etfs.issuer_id``), the fund's manager today: the Tracker Fund's days before 2022-09-19, when State
Street Global Advisors Asia ran it, counted to Hang Seng Investment Management. Now a fund-day counts
to the manager running the fund that day (``etf_manager_on``: the new manager of the fund's latest change
on or before the day, else the previous manager of its first change, else the ETF master's manager),
as the rankings and series statements count it (service/repositories/analytics.py).

Only funds with a change (a handful) look their manager up; the others keep the ETF master's manager, so
a refresh costs no more than before. A change loaded, edited or deleted refreshes the rollups from its
effective date on, in the same transaction (a statement trigger on ``etf_manager_changes``).

Revision ID: 0022_manager_of_the_day
Revises: 0021_etf_month_ends
Create Date: 2026-12-01 09:00
"""

import importlib.util
from pathlib import Path
from typing import Any

from alembic import op

revision = "0022_manager_of_the_day"
down_revision = "0021_etf_month_ends"
branch_labels = None
depends_on = None


def _landed(file_name: str) -> Any:
    """A migration that landed before this one, as a module (its generated SQL is rewritten here)."""
    path = Path(__file__).with_name(file_name)
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refresh_function() -> str:
    """``CREATE FUNCTION refresh_etf_rollups`` as migration 0009 made it."""
    upgrade = _landed("2026-11-30-0900_day_rollups.py").UPGRADE
    start = upgrade.index("CREATE FUNCTION refresh_etf_rollups(")
    end = upgrade.index("$fn$;", start) + len("$fn$;")
    return upgrade[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


# The groups' sums join each converted fund-day ``c`` to its fund ``e``; ``e.issuer_id`` becomes the
# manager of the day (a hashed lookup of the funds with changes per row, a function call for theirs).
_BY_MASTER = "FROM conv c JOIN etfs e ON e.id = c.etf_id\n"
_BY_DAY = """FROM conv c JOIN etfs x ON x.id = c.etf_id
        CROSS JOIN LATERAL (
            SELECT x.index_id,
                   CASE WHEN x.id IN (SELECT h.etf_id FROM etf_manager_changes h)
                        THEN etf_manager_on(x.id, c.trading_day) ELSE x.issuer_id END AS issuer_id) e
"""


def _grouped_by_day() -> str:
    function = _refresh_function()
    assert function.count(_BY_MASTER) == 1, "migration 0009's refresh no longer joins the funds this way"
    return function.replace(_BY_MASTER, _BY_DAY)


UPGRADE = (
    """
CREATE FUNCTION etf_manager_on(fund bigint, day date) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT coalesce(
        (SELECT h.to_manager_id FROM etf_manager_changes h
         WHERE h.etf_id = fund AND h.effective_date <= day ORDER BY h.effective_date DESC LIMIT 1),
        (SELECT h.from_manager_id FROM etf_manager_changes h WHERE h.etf_id = fund
         ORDER BY h.effective_date LIMIT 1),
        (SELECT e.issuer_id FROM etfs e WHERE e.id = fund))
$fn$;
COMMENT ON FUNCTION etf_manager_on IS 'The manager running the fund on the day: the new manager of its latest change on or before the day, else the previous manager of its first change, else the ETF master''s manager.';

"""
    + _grouped_by_day()
    + """

-- A change of a fund's manager moves the fund's days from its effective date on between the issuers.
CREATE FUNCTION etf_manager_changes_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_etf_rollups((SELECT min(effective_date) FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_etf_rollups((SELECT min(effective_date) FROM old_rows));
    ELSE
        PERFORM refresh_etf_rollups(least((SELECT min(effective_date) FROM old_rows),
                                          (SELECT min(effective_date) FROM new_rows)));
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER etf_manager_changes_insert AFTER INSERT ON etf_manager_changes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION etf_manager_changes_after_change();
CREATE TRIGGER etf_manager_changes_update AFTER UPDATE ON etf_manager_changes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION etf_manager_changes_after_change();
CREATE TRIGGER etf_manager_changes_delete AFTER DELETE ON etf_manager_changes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION etf_manager_changes_after_change();

SELECT refresh_etf_rollups((SELECT min(effective_date) FROM etf_manager_changes))
WHERE EXISTS (SELECT FROM etf_manager_changes);
"""
)

DOWNGRADE = (
    """
DROP TRIGGER IF EXISTS etf_manager_changes_insert ON etf_manager_changes;
DROP TRIGGER IF EXISTS etf_manager_changes_update ON etf_manager_changes;
DROP TRIGGER IF EXISTS etf_manager_changes_delete ON etf_manager_changes;
DROP FUNCTION IF EXISTS etf_manager_changes_after_change();
"""
    + _refresh_function()
    + """
DROP FUNCTION IF EXISTS etf_manager_on(bigint, date);
SELECT refresh_etf_rollups((SELECT min(effective_date) FROM etf_manager_changes))
WHERE EXISTS (SELECT FROM etf_manager_changes);
"""
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
