"""Initial data model: indices, securities, memberships, managers, licences, ETFs, Connect, calendars, FX.

Every entity of docs/domain: money is numeric, periods are [from, to) date ranges protected by
exclusion constraints, and the indexes match the point-in-time and time-series queries served.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25 10:40
"""

from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TYPE connect_direction AS ENUM ('SOUTHBOUND', 'NORTHBOUND');
CREATE TYPE connect_channel AS ENUM ('SHANGHAI', 'SHENZHEN');
CREATE TYPE eligibility_status AS ENUM ('ELIGIBLE', 'SELL_ONLY');
CREATE TYPE licence_status AS ENUM ('SIGNED', 'PRODUCT_LAUNCHED', 'LAPSED');
CREATE TYPE replication_method AS ENUM ('PHYSICAL', 'SYNTHETIC');

-- Where each dataset comes from, and whether its figures are illustrative (generated) or real.
CREATE TABLE datasets (
    name            text PRIMARY KEY,
    description     text NOT NULL,
    source          text NOT NULL,
    is_illustrative boolean NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE indices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9&-]*$'),
    name                text NOT NULL,
    provider            text NOT NULL,
    currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    base_date           date,
    base_value          numeric(20, 6) CHECK (base_value > 0),
    launch_date         date,
    weighting           text,
    weight_cap_pct      numeric(9, 4) CHECK (weight_cap_pct > 0 AND weight_cap_pct <= 100),
    review_frequency    text,
    rebalance_frequency text,
    constituent_count   integer CHECK (constituent_count > 0),
    methodology_notes   text,
    themes              text[] NOT NULL DEFAULT '{}',
    is_illustrative     boolean NOT NULL DEFAULT false
);
CREATE INDEX indices_themes_idx ON indices USING gin (themes);
CREATE INDEX indices_provider_idx ON indices (provider);

CREATE TABLE index_levels (
    index_id    bigint NOT NULL REFERENCES indices (id) ON DELETE CASCADE,
    trading_day date NOT NULL,
    level       numeric(20, 6) NOT NULL CHECK (level > 0),
    PRIMARY KEY (index_id, trading_day)
);

CREATE TABLE securities (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mic        char(4) NOT NULL CHECK (mic ~ '^[A-Z0-9]{4}$'),
    local_code text NOT NULL CHECK (local_code <> ''),
    isin       char(12) UNIQUE CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
    name       text NOT NULL,
    sector     text,
    country    char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    currency   char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    UNIQUE (mic, local_code)
);
CREATE INDEX securities_name_idx ON securities (lower(name) text_pattern_ops);

-- Point in time: a security is in an index over [effective_from, effective_to).
CREATE TABLE index_memberships (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    index_id       bigint NOT NULL REFERENCES indices (id) ON DELETE CASCADE,
    security_id    bigint NOT NULL REFERENCES securities (id) ON DELETE RESTRICT,
    weight_pct     numeric(9, 6) NOT NULL CHECK (weight_pct >= 0 AND weight_pct <= 100),
    effective_from date NOT NULL,
    effective_to   date CHECK (effective_to > effective_from),
    period         daterange GENERATED ALWAYS AS (daterange(effective_from, effective_to, '[)')) STORED,
    CONSTRAINT index_memberships_no_overlap
        EXCLUDE USING gist (index_id WITH =, security_id WITH =, period WITH &&)
);
CREATE INDEX index_memberships_index_period_idx ON index_memberships USING gist (index_id, period);
CREATE INDEX index_memberships_security_period_idx ON index_memberships USING gist (security_id, period);

CREATE TABLE asset_managers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    legal_name      text NOT NULL,
    short_name      text NOT NULL,
    home_market     char(2) NOT NULL CHECK (home_market ~ '^[A-Z]{2}$'),
    website         text
);

CREATE TABLE index_licences (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    index_id        bigint NOT NULL REFERENCES indices (id) ON DELETE CASCADE,
    manager_id      bigint NOT NULL REFERENCES asset_managers (id) ON DELETE CASCADE,
    licensed_on     date NOT NULL,
    status          licence_status NOT NULL,
    is_illustrative boolean NOT NULL DEFAULT false,
    notes           text,
    UNIQUE (index_id, manager_id)
);
CREATE INDEX index_licences_manager_idx ON index_licences (manager_id);

CREATE TABLE etfs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mic                 char(4) NOT NULL CHECK (mic ~ '^[A-Z0-9]{4}$'),
    code                text NOT NULL CHECK (code ~ '^[0-9A-Z]+$'),
    isin                char(12) UNIQUE CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
    name_en             text NOT NULL,
    name_zh             text,
    issuer_id           bigint NOT NULL REFERENCES asset_managers (id) ON DELETE RESTRICT,
    index_id            bigint REFERENCES indices (id) ON DELETE SET NULL,
    listing_date        date NOT NULL,
    delisting_date      date CHECK (delisting_date > listing_date),
    base_currency       char(3) NOT NULL CHECK (base_currency ~ '^[A-Z]{3}$'),
    replication         replication_method NOT NULL,
    ongoing_charges_pct numeric(7, 4) CHECK (ongoing_charges_pct >= 0 AND ongoing_charges_pct < 10),
    is_leveraged_inverse boolean NOT NULL DEFAULT false,
    leverage_factor     numeric(5, 2) CHECK (leverage_factor <> 0),
    UNIQUE (mic, code),
    CHECK (is_leveraged_inverse = (leverage_factor IS NOT NULL AND leverage_factor <> 1))
);
CREATE INDEX etfs_issuer_idx ON etfs (issuer_id);
CREATE INDEX etfs_index_idx ON etfs (index_id);

-- Trading counters of one fund (e.g. 02800 in HKD, 82800 in RMB).
CREATE TABLE etf_counters (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    etf_id     bigint NOT NULL REFERENCES etfs (id) ON DELETE CASCADE,
    mic        char(4) NOT NULL,
    code       text NOT NULL CHECK (code ~ '^[0-9A-Z]+$'),
    currency   char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    is_primary boolean NOT NULL DEFAULT false,
    UNIQUE (mic, code)
);
CREATE INDEX etf_counters_etf_idx ON etf_counters (etf_id);
CREATE UNIQUE INDEX etf_counters_one_primary ON etf_counters (etf_id) WHERE is_primary;

-- ETF Connect eligibility: an ETF can be added, moved to sell-only, removed and re-added.
CREATE TABLE connect_eligibility (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    etf_id         bigint NOT NULL REFERENCES etfs (id) ON DELETE CASCADE,
    direction      connect_direction NOT NULL,
    channel        connect_channel NOT NULL,
    status         eligibility_status NOT NULL DEFAULT 'ELIGIBLE',
    effective_from date NOT NULL,
    effective_to   date CHECK (effective_to > effective_from),
    reason         text,
    period         daterange GENERATED ALWAYS AS (daterange(effective_from, effective_to, '[)')) STORED,
    CONSTRAINT connect_eligibility_no_overlap
        EXCLUDE USING gist (etf_id WITH =, direction WITH =, channel WITH =, period WITH &&)
);
CREATE INDEX connect_eligibility_direction_period_idx
    ON connect_eligibility USING gist (direction, period);

CREATE TABLE etf_daily_stats (
    etf_id                bigint NOT NULL REFERENCES etfs (id) ON DELETE CASCADE,
    trading_day           date NOT NULL,
    currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    nav_per_unit          numeric(20, 6) NOT NULL CHECK (nav_per_unit > 0),
    close_price           numeric(20, 6) CHECK (close_price > 0),
    shares_outstanding    numeric(20, 0) NOT NULL CHECK (shares_outstanding >= 0),
    aum                   numeric(24, 2) NOT NULL CHECK (aum >= 0),
    net_creation_units    numeric(20, 0) NOT NULL DEFAULT 0,
    net_creation_value    numeric(24, 2) NOT NULL DEFAULT 0,
    turnover              numeric(24, 2) CHECK (turnover >= 0),
    southbound_holding_units numeric(20, 0) CHECK (southbound_holding_units >= 0),
    PRIMARY KEY (etf_id, trading_day),
    -- AUM is NAV x units, to the cent (with a cent of slack per 10^6 units for rounding of the NAV).
    CONSTRAINT etf_daily_stats_aum_is_nav_times_units
        CHECK (abs(aum - nav_per_unit * shares_outstanding) <= 0.01 + shares_outstanding * 0.000001)
);
CREATE INDEX etf_daily_stats_day_idx ON etf_daily_stats (trading_day, etf_id)
    INCLUDE (net_creation_value, aum);

-- HKEX daily Stock Connect statistics, one row per channel x direction x trading day.
-- Northbound buy/sell split is not published after 2024-08-19, so buy, sell and net are nullable.
CREATE TABLE connect_daily_flows (
    channel            connect_channel NOT NULL,
    direction          connect_direction NOT NULL,
    trading_day        date NOT NULL,
    currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    buy_turnover       numeric(24, 2) CHECK (buy_turnover >= 0),
    sell_turnover      numeric(24, 2) CHECK (sell_turnover >= 0),
    total_turnover     numeric(24, 2) NOT NULL CHECK (total_turnover >= 0),
    net_buy            numeric(24, 2),
    trade_count        integer CHECK (trade_count >= 0),
    buy_trade_count    integer CHECK (buy_trade_count >= 0),
    sell_trade_count   integer CHECK (sell_trade_count >= 0),
    etf_turnover       numeric(24, 2) CHECK (etf_turnover >= 0),
    daily_quota        numeric(24, 2) CHECK (daily_quota > 0),
    quota_balance      numeric(24, 2),
    -- HKEX prints 999,999,999 for "quota available": stored as this flag, never as a number.
    quota_balance_unlimited boolean NOT NULL DEFAULT false,
    PRIMARY KEY (direction, trading_day, channel),
    CONSTRAINT connect_daily_flows_net_is_buy_minus_sell
        CHECK (net_buy IS NULL OR buy_turnover IS NULL OR sell_turnover IS NULL
               OR net_buy = buy_turnover - sell_turnover),
    CONSTRAINT connect_daily_flows_quota_sentinel
        CHECK (NOT quota_balance_unlimited OR quota_balance IS NULL)
);

CREATE TABLE trading_calendar (
    market      char(4) NOT NULL CHECK (market ~ '^[A-Z0-9]{4}$'),
    day         date NOT NULL,
    is_open     boolean NOT NULL,
    is_half_day boolean NOT NULL DEFAULT false,
    note        text,
    PRIMARY KEY (market, day),
    CHECK (is_open OR NOT is_half_day)
);

-- Published exceptions to "a Connect day is one when both ends are open".
CREATE TABLE connect_calendar_exceptions (
    direction       connect_direction NOT NULL,
    day             date NOT NULL,
    is_connect_day  boolean NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (direction, day)
);

CREATE TABLE fx_rates (
    base_currency  char(3) NOT NULL CHECK (base_currency ~ '^[A-Z]{3}$'),
    quote_currency char(3) NOT NULL CHECK (quote_currency ~ '^[A-Z]{3}$'),
    day            date NOT NULL,
    rate           numeric(20, 10) NOT NULL CHECK (rate > 0),
    source         text NOT NULL,
    PRIMARY KEY (base_currency, quote_currency, day),
    CHECK (base_currency <> quote_currency)
);

-- A day is a Connect day for a direction when both markets are open, unless an exception says otherwise.
CREATE VIEW connect_days AS
SELECT d.direction, hk.day
FROM trading_calendar hk
JOIN trading_calendar sh ON sh.market = 'XSHG' AND sh.day = hk.day
CROSS JOIN (VALUES ('SOUTHBOUND'::connect_direction), ('NORTHBOUND'::connect_direction)) d (direction)
LEFT JOIN connect_calendar_exceptions x ON x.direction = d.direction AND x.day = hk.day
WHERE hk.market = 'XHKG'
  AND coalesce(x.is_connect_day, hk.is_open AND sh.is_open);
"""

DOWNGRADE = """
DROP VIEW IF EXISTS connect_days;
DROP TABLE IF EXISTS fx_rates, connect_calendar_exceptions, trading_calendar, connect_daily_flows,
    etf_daily_stats, connect_eligibility, etf_counters, etfs, index_licences, asset_managers,
    index_memberships, securities, index_levels, indices, datasets;
DROP TYPE IF EXISTS replication_method, licence_status, eligibility_status, connect_channel,
    connect_direction;
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(DOWNGRADE)
