"""An issuer's sums are those of the fund-days it managed: the rollup groups by the manager of the day.

``etf_group_days`` (migration 0009) added each day's fund figures per issuer by the ETF master's manager
(``etfs.issuer_id``), the fund's manager today: the Tracker Fund's days before 2022-09-19, when State
Street Global Advisors Asia ran it, counted to Hang Seng Investment Management. Now a fund-day counts
to the manager running the fund that day (``etf_manager_on``: the new manager of the fund's latest change
on or before the day, else the previous manager of its first change, else the ETF master's manager),
as the rankings and series statements count it (service/repositories/analytics.py).

Only funds with a change (a handful) look their manager up; the others keep the ETF master's manager, so
a refresh costs no more than before.

A fund's manager changing moves its days between the issuers' sums, and nothing else: the funds' running
totals (``etf_day_totals``) do not depend on the manager. ``refresh_etf_group_days(since)`` rewrites only
the groups' sums, from the same generated statement as ``refresh_etf_rollups``. Its callers:
- a change loaded, edited or deleted (a statement trigger on ``etf_manager_changes``), from its effective
  date on, or from the fund's first figures when the change is (or was) the fund's first, whose previous
  manager runs the fund before it;
- a fund moved to another issuer or index in the ETF master (the trigger of migration 0009, which rebuilt
  every rollup).
On the 2.7M-row benchmark database, a fund's first change (its days from 2018 on move) rewrites the
groups' sums in 31 s; every rollup from 2018 on (``refresh_etf_rollups``) takes about 95 s.

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


def _by_day(sql: str) -> str:
    assert sql.count(_BY_MASTER) == 1, "migration 0009's refresh no longer joins the funds this way"
    return sql.replace(_BY_MASTER, _BY_DAY)


def _group_days_function() -> str:
    """``refresh_etf_group_days(since)``: migration 0009's group sums alone, from its generated SQL."""
    rollups = _landed("2026-11-30-0900_day_rollups.py")
    source = rollups._SOURCE.replace("{rows}", "since IS NULL OR s.trading_day >= since")
    return (
        """CREATE FUNCTION refresh_etf_group_days(since date) RETURNS bigint
LANGUAGE plpgsql
SET jit = off
SET work_mem = '1GB'
AS $fn$
DECLARE
    written bigint;
BEGIN
    DELETE FROM etf_group_days WHERE since IS NULL OR trading_day >= since;
    WITH """
        + source
        + """,
    """
        + _by_day(rollups._GROUP_SUMS)
        + """
    SELECT count(*) INTO written FROM groups;
    PERFORM refresh_etf_group_themes(since);
    RETURN written;
END
$fn$;
COMMENT ON FUNCTION refresh_etf_group_days IS 'Recompute etf_group_days (the groups'' sums) from since on (all when null); returns the rows written.';"""
    )


def _groups_after_change(refresh: str) -> str:
    """Migration 0009's trigger function on ``etfs``: a fund moved to another issuer or index calls
    ``refresh(NULL)``."""
    return f"""CREATE OR REPLACE FUNCTION etf_groups_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id
               WHERE o.issuer_id IS DISTINCT FROM n.issuer_id OR o.index_id IS DISTINCT FROM n.index_id) THEN
        PERFORM {refresh}(NULL);
    END IF;
    RETURN NULL;
END
$fn$;"""


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
    + _by_day(_refresh_function())
    + """

"""
    + _group_days_function()
    + """

-- The first day whose manager a change of the fund's manager effective on ``day`` decides: the day, or the
-- fund's first day with figures when no earlier change of the fund is stored (its previous manager runs
-- the fund before it); null when the fund has no figures from then on.
CREATE FUNCTION etf_manager_change_since(fund bigint, day date) RETURNS date
LANGUAGE sql STABLE AS $fn$
    SELECT CASE WHEN EXISTS (SELECT FROM etf_manager_changes c WHERE c.etf_id = fund AND c.effective_date < day)
                THEN (SELECT min(s.trading_day) FROM etf_daily_stats s WHERE s.etf_id = fund AND s.trading_day >= day)
                ELSE (SELECT min(s.trading_day) FROM etf_daily_stats s WHERE s.etf_id = fund) END
$fn$;

-- A change of a fund's manager moves the fund's days between the issuers' sums.
CREATE FUNCTION etf_manager_changes_after_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    since date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        since := (SELECT min(etf_manager_change_since(r.etf_id, r.effective_date)) FROM new_rows r);
    ELSIF TG_OP = 'DELETE' THEN
        since := (SELECT min(etf_manager_change_since(r.etf_id, r.effective_date)) FROM old_rows r);
    ELSE  -- the rows whose fund, day or managers changed (not only their notes), before and after
        since := (SELECT min(least(etf_manager_change_since(o.etf_id, o.effective_date),
                                   etf_manager_change_since(n.etf_id, n.effective_date)))
                  FROM old_rows o JOIN new_rows n ON n.id = o.id
                  WHERE (o.etf_id, o.effective_date, o.from_manager_id, o.to_manager_id)
                        IS DISTINCT FROM (n.etf_id, n.effective_date, n.from_manager_id, n.to_manager_id));
    END IF;
    IF since IS NOT NULL THEN
        PERFORM refresh_etf_group_days(since);
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

-- A fund moved to another issuer or index in the ETF master: the groups' sums alone are rebuilt.
"""
    + _groups_after_change("refresh_etf_group_days")
    + """
SELECT refresh_etf_group_days(NULL) WHERE EXISTS (SELECT FROM etf_manager_changes);
"""
)

DOWNGRADE = (
    """
DROP TRIGGER IF EXISTS etf_manager_changes_insert ON etf_manager_changes;
DROP TRIGGER IF EXISTS etf_manager_changes_update ON etf_manager_changes;
DROP TRIGGER IF EXISTS etf_manager_changes_delete ON etf_manager_changes;
DROP FUNCTION IF EXISTS etf_manager_changes_after_change();
DROP FUNCTION IF EXISTS etf_manager_change_since(bigint, date);
"""
    + _groups_after_change("refresh_etf_rollups")
    + """
DROP FUNCTION IF EXISTS refresh_etf_group_days(date);
"""
    + _refresh_function()
    + """
SELECT refresh_etf_rollups(NULL) WHERE EXISTS (SELECT FROM etf_manager_changes);
DROP FUNCTION IF EXISTS etf_manager_on(bigint, date);
"""
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
