"""Connect days as a table kept by triggers, instead of a view joining the two markets' calendars.

A Connect day (both Hong Kong and the mainland open, unless an exception says otherwise) was a view over
``trading_calendar`` twice and ``connect_calendar_exceptions``: every ``lastTradingDays: N`` window and
every flow series joined all 2,922 days of each calendar to count back N of them (2 to 6 ms of a 20 to
30 ms statement at full scale). The table holds the same rows, with a primary key that reads them in
order; statement triggers on both source tables recompute the days a statement touched (all days after
a TRUNCATE), in the same transaction, so no writer has to remember it.

Revision ID: 0007_connect_days_table
Revises: 0006_rollup_day_index
Create Date: 2026-11-29 06:00
"""

from alembic import op

revision = "0007_connect_days_table"
down_revision = "0006_rollup_day_index"
branch_labels = None
depends_on = None

# The rule, as the view had it.
CONNECT_DAYS = """
    SELECT d.direction, hk.day
    FROM trading_calendar hk
    JOIN trading_calendar sh ON sh.market = 'XSHG' AND sh.day = hk.day
    CROSS JOIN (VALUES ('SOUTHBOUND'::connect_direction), ('NORTHBOUND'::connect_direction)) d (direction)
    LEFT JOIN connect_calendar_exceptions x ON x.direction = d.direction AND x.day = hk.day
    WHERE hk.market = 'XHKG'
      AND coalesce(x.is_connect_day, hk.is_open AND sh.is_open)"""

SOURCES = ("trading_calendar", "connect_calendar_exceptions")

UPGRADE = (
    f"""
DROP VIEW connect_days;

CREATE TABLE connect_days (
    direction connect_direction NOT NULL,
    day date NOT NULL,
    PRIMARY KEY (direction, day)
);
COMMENT ON TABLE connect_days IS
    'Days on which Connect trades in each direction: derived from trading_calendar and '
    'connect_calendar_exceptions by triggers; never written directly.';

-- Recompute the Connect days among ``days`` (every day when NULL) from the calendars.
CREATE FUNCTION refresh_connect_days(days date[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM connect_days WHERE days IS NULL OR day = ANY (days);
    INSERT INTO connect_days (direction, day)
    SELECT c.direction, c.day FROM ({CONNECT_DAYS}) c
    WHERE days IS NULL OR c.day = ANY (days);
$$;

-- Statement trigger: the days in the statement's transition tables (all days after a TRUNCATE).
CREATE FUNCTION connect_days_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM refresh_connect_days(NULL);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM refresh_connect_days(ARRAY(SELECT DISTINCT day FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_connect_days(ARRAY(SELECT DISTINCT day FROM old_rows));
    ELSE
        PERFORM refresh_connect_days(ARRAY(SELECT day FROM old_rows UNION SELECT day FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;
"""
    + "".join(
        f"""
CREATE TRIGGER {table}_connect_days_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION connect_days_after_change();
CREATE TRIGGER {table}_connect_days_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION connect_days_after_change();
CREATE TRIGGER {table}_connect_days_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION connect_days_after_change();
CREATE TRIGGER {table}_connect_days_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION connect_days_after_change();
"""
        for table in SOURCES
    )
    + """
SELECT refresh_connect_days(NULL);
"""
)

DOWNGRADE = (
    "".join(
        f"DROP TRIGGER IF EXISTS {table}_connect_days_{event} ON {table};\n"
        for table in SOURCES
        for event in ("insert", "update", "delete", "truncate")
    )
    + f"""
DROP FUNCTION IF EXISTS connect_days_after_change();
DROP FUNCTION IF EXISTS refresh_connect_days(date[]);
DROP TABLE IF EXISTS connect_days;
CREATE VIEW connect_days AS{CONNECT_DAYS};
"""
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
