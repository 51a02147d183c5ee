"""The demo data set as a user sees it: point-in-time weights, flows, eligibility, exact AUM, determinism."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any, TypeAlias

import asyncpg
import pytest

from service.demo.generate import DEFAULT_SEED, build_figures
from service.demo.load import DatabaseNotEmpty, load_demo
from service.demo.reference import demo_reference
from service.demo.scale import isin_check_digit, load_scale
from tests.conftest import _with_database, migrate, scratch_name

Conn: TypeAlias = "asyncpg.Connection[Any]"

TABLES = (
    "datasets",
    "indices",
    "index_levels",
    "securities",
    "index_memberships",
    "asset_managers",
    "index_licences",
    "etfs",
    "etf_counters",
    "connect_eligibility",
    "etf_daily_stats",
    "connect_daily_flows",
    "trading_calendar",
    "connect_calendar_exceptions",
    "fx_rates",
)

WEIGHTS_AS_OF = """
SELECT i.code, sum(m.weight_pct) AS total, max(m.weight_pct) AS top, i.weight_cap_pct AS cap
FROM index_memberships m JOIN indices i ON i.id = m.index_id
WHERE m.period @> $1::date
GROUP BY i.code, i.weight_cap_pct
"""

CONSTITUENTS_AS_OF = """
SELECT s.mic || ':' || s.local_code AS key
FROM index_memberships m
JOIN indices i ON i.id = m.index_id
JOIN securities s ON s.id = m.security_id
WHERE i.code = $1 AND m.period @> $2::date
"""

SOUTHBOUND_NET_BY_DAY = """
SELECT trading_day, sum(net_buy) AS net
FROM connect_daily_flows WHERE direction = 'SOUTHBOUND'
GROUP BY trading_day
"""

ELIGIBILITY_OF = """
SELECT c.status::text, c.effective_from, c.effective_to, c.reason
FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id
WHERE e.mic = $1 AND e.code = $2 AND c.direction = 'SOUTHBOUND' AND c.channel = 'SHANGHAI'
ORDER BY c.effective_from
"""

ELIGIBLE_SOUTHBOUND_ON = """
SELECT e.code FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id
WHERE c.direction = 'SOUTHBOUND' AND c.status = 'ELIGIBLE' AND c.period @> $1::date
GROUP BY e.code
"""


async def _counts(conn: Conn) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.mark.parametrize(
    "as_of",
    [date(2024, 6, 28), date(2025, 6, 30), date(2025, 12, 8), date(2026, 4, 13), date(2026, 11, 20)],
)
async def test_weights_sum_to_100_within_each_cap(conn: Conn, as_of: date) -> None:
    rows = await conn.fetch(WEIGHTS_AS_OF, as_of)

    assert rows
    for row in rows:
        assert abs(row["total"] - Decimal(100)) <= Decimal("0.000001"), (row["code"], as_of)
        if row["cap"] is not None:
            assert row["top"] <= row["cap"], (row["code"], as_of)


async def test_every_index_has_constituents_today(conn: Conn) -> None:
    rows = await conn.fetch(WEIGHTS_AS_OF, date(2026, 11, 20))

    assert {r["code"] for r in rows} == {i.code for i in demo_reference().indices}


async def test_hang_seng_rebalance_changes_constituents(conn: Conn) -> None:
    before = {r["key"] for r in await conn.fetch(CONSTITUENTS_AS_OF, "HSI", date(2025, 6, 30))}
    after = {r["key"] for r in await conn.fetch(CONSTITUENTS_AS_OF, "HSI", date(2026, 11, 20))}

    assert "XHKG:00981" in after - before  # SMIC added on 2025-12-08
    assert "XHKG:00003" in before - after  # removed on 2025-12-08
    assert "XHKG:00700" in before & after


async def test_sk_hynix_is_in_both_april_2026_indices(conn: Conn) -> None:
    codes = await conn.fetch(
        """
        SELECT DISTINCT i.code FROM index_memberships m
        JOIN indices i ON i.id = m.index_id JOIN securities s ON s.id = m.security_id
        WHERE s.mic = 'XKRX' AND s.local_code = '000660' AND m.period @> date '2026-11-20'
        """
    )

    assert {r["code"] for r in codes} == {"HKEX-KRX-SEMI", "HKEX-TECH-USTECH100"}


async def test_at_least_five_southbound_days_above_20bn(conn: Conn) -> None:
    by_day = {r["trading_day"]: r["net"] for r in await conn.fetch(SOUTHBOUND_NET_BY_DAY)}

    big = [d for d, net in by_day.items() if net > Decimal("20e9")]
    assert len(big) >= 5
    assert by_day[date(2025, 4, 9)] == Decimal("35600000000.00")  # the record day
    assert max(by_day.values()) == by_day[date(2025, 4, 9)]


async def test_southbound_yearly_totals_look_like_reality(conn: Conn) -> None:
    rows = await conn.fetch(
        "SELECT extract(year FROM day)::int AS y, sum(net) AS net FROM ("
        + SOUTHBOUND_NET_BY_DAY.replace("trading_day, sum", "trading_day AS day, sum")
        + ") d GROUP BY 1"
    )
    totals = {r["y"]: r["net"] for r in rows}

    assert abs(totals[2024] - Decimal("807.9e9")) < Decimal("8e9")
    assert abs(totals[2025] - Decimal("1404.8e9")) < Decimal("14e9")


async def test_flow_rows_are_consistent(conn: Conn) -> None:
    bad = await conn.fetchval(
        """
        SELECT count(*) FROM connect_daily_flows
        WHERE (direction = 'SOUTHBOUND' AND (net_buy IS NULL OR currency <> 'HKD'
                                             OR total_turnover <> buy_turnover + sell_turnover))
           OR (direction = 'NORTHBOUND' AND currency <> 'CNY')
           OR (direction = 'NORTHBOUND' AND trading_day >= date '2024-08-19'
               AND (net_buy IS NOT NULL OR NOT quota_balance_unlimited))
           OR (direction = 'NORTHBOUND' AND trading_day < date '2024-08-19' AND net_buy IS NULL)
        """
    )
    unmatched = await conn.fetchval(
        """
        SELECT count(*) FROM (SELECT DISTINCT direction, trading_day FROM connect_daily_flows) f
        FULL JOIN (SELECT * FROM connect_days WHERE day <= (SELECT max(trading_day) FROM connect_daily_flows)) c
          ON c.direction = f.direction AND c.day = f.trading_day
        WHERE c.day IS NULL OR f.trading_day IS NULL
        """
    )
    # The calendars run on past the figures (to the end of 2026, as the exchanges publish them ahead).
    calendar_end = await conn.fetchval("SELECT max(day) FROM connect_days")

    assert bad == 0
    assert unmatched == 0  # flows exist exactly on Connect days up to the latest, four rows each
    assert calendar_end == date(2026, 12, 31)


async def test_an_etf_sold_only_then_removed_and_re_added(conn: Conn) -> None:
    periods = await conn.fetch(ELIGIBILITY_OF, "XHKG", "03110")
    eligible = {
        d: {r["code"] for r in await conn.fetch(ELIGIBLE_SOUTHBOUND_ON, d)}
        for d in (date(2024, 11, 29), date(2025, 6, 30), date(2025, 10, 2))
    }

    assert [(p["status"], p["effective_from"], p["effective_to"]) for p in periods] == [
        ("ELIGIBLE", date(2024, 7, 22), date(2024, 12, 9)),
        ("SELL_ONLY", date(2024, 12, 9), date(2025, 3, 10)),  # one review on the special list
        ("ELIGIBLE", date(2025, 9, 8), None),  # removed on 2025-03-10, re-added
    ]
    assert all(p["reason"] for p in periods)
    assert "03110" in eligible[date(2024, 11, 29)]
    assert "03110" not in eligible[date(2025, 6, 30)]
    assert "03110" in eligible[date(2025, 10, 2)]


async def test_sell_only_period_and_original_four(conn: Conn) -> None:
    periods = await conn.fetch(ELIGIBILITY_OF, "XHKG", "02837")
    launch = {r["code"] for r in await conn.fetch(ELIGIBLE_SOUTHBOUND_ON, date(2022, 7, 4))}

    assert [p["status"] for p in periods] == ["ELIGIBLE", "SELL_ONLY", "ELIGIBLE"]
    assert launch == {"02800", "02828", "03033", "03067"}


async def test_no_leveraged_or_inverse_etf_is_connect_eligible(conn: Conn) -> None:
    count = await conn.fetchval(
        "SELECT count(*) FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id "
        "WHERE e.is_leveraged_inverse"
    )

    assert count == 0


async def test_aum_is_nav_times_units_and_creations_are_unit_changes(conn: Conn) -> None:
    bad = await conn.fetchval(
        """
        SELECT count(*) FROM (
            SELECT aum, nav_per_unit, shares_outstanding, net_creation_units, net_creation_value,
                   shares_outstanding - lag(shares_outstanding) OVER w AS change
            FROM etf_daily_stats WINDOW w AS (PARTITION BY etf_id ORDER BY trading_day)
        ) s
        WHERE aum <> round(nav_per_unit * shares_outstanding, 2)
           OR net_creation_value <> round(net_creation_units * nav_per_unit, 2)
           OR net_creation_units <> change
        """
    )
    rows = await conn.fetchval("SELECT count(*) FROM etf_daily_stats")

    assert rows > 20_000
    assert bad == 0


async def test_stats_only_on_open_days_between_listing_and_delisting(conn: Conn) -> None:
    bad = await conn.fetchval(
        """
        SELECT count(*) FROM etf_daily_stats s
        JOIN etfs e ON e.id = s.etf_id
        JOIN trading_calendar c
          ON c.market = CASE WHEN e.mic = 'XHKG' THEN 'XHKG' ELSE 'XSHG' END AND c.day = s.trading_day
        WHERE NOT c.is_open OR s.trading_day < e.listing_date
           OR s.trading_day >= coalesce(e.delisting_date, 'infinity')
           OR s.currency <> e.base_currency
        """
    )

    assert bad == 0


async def test_licences_match_launched_products(conn: Conn) -> None:
    rows = await conn.fetch(
        """
        SELECT a.slug, l.status::text, l.is_illustrative,
               EXISTS (SELECT 1 FROM etfs e
                       WHERE e.index_id = l.index_id AND e.issuer_id = l.manager_id) AS has_etf
        FROM index_licences l
        JOIN indices i ON i.id = l.index_id JOIN asset_managers a ON a.id = l.manager_id
        WHERE i.code = 'HKEX-KRX-SEMI'
        """
    )
    mismatched = await conn.fetchval(
        """
        SELECT count(*) FROM index_licences l
        WHERE (l.status = 'PRODUCT_LAUNCHED') <> EXISTS (
            SELECT 1 FROM etfs e WHERE e.index_id = l.index_id AND e.issuer_id = l.manager_id)
        """
    )

    assert len(rows) == 5
    assert all(r["is_illustrative"] for r in rows)
    assert {r["slug"] for r in rows if r["has_etf"]} == {"samsung", "csop"}
    assert {r["status"] for r in rows} == {"SIGNED", "PRODUCT_LAUNCHED", "LAPSED"}
    assert mismatched == 0


async def test_every_etf_has_its_own_primary_counter(conn: Conn) -> None:
    missing = await conn.fetchval(
        """
        SELECT count(*) FROM etfs e WHERE NOT EXISTS (
            SELECT 1 FROM etf_counters c
            WHERE c.etf_id = e.id AND c.is_primary AND c.mic = e.mic AND c.code = e.code)
        """
    )
    rmb = await conn.fetchval(
        "SELECT e.code FROM etf_counters c JOIN etfs e ON e.id = c.etf_id WHERE c.code = '82800'"
    )

    assert missing == 0
    assert rmb == "02800"


async def test_figures_are_labelled_illustrative(conn: Conn) -> None:
    rows = await conn.fetch(
        "SELECT name, source FROM datasets WHERE name IN "
        "('etf-daily', 'connect-daily', 'index-levels', 'fx') AND is_illustrative"
    )

    assert len(rows) == 4
    assert all(f"seed {DEFAULT_SEED}" in r["source"] for r in rows)


async def test_load_demo_again_returns_false_and_changes_nothing(conn: Conn) -> None:
    before = await _counts(conn)

    loaded = await load_demo(conn)

    assert loaded is False
    assert await _counts(conn) == before


def test_reference_isins_are_valid_and_unique() -> None:
    ref = demo_reference()
    isins = [s.isin for s in ref.securities if s.isin] + [e.isin for e in ref.etfs if e.isin]

    assert len(isins) == len(set(isins))
    for isin in isins:
        assert isin_check_digit(isin[:11]) == int(isin[11]), isin


def _generate(seed: int) -> tuple[list[Any], list[Any]]:
    figures = build_figures(demo_reference(), seed=seed)
    tables = [figures.calendar, figures.exceptions, figures.fx, figures.levels, figures.flows]
    return tables, list(figures.stats())


def test_generation_is_deterministic() -> None:
    first, second, other = _generate(DEFAULT_SEED), _generate(DEFAULT_SEED), _generate(1)

    assert first == second
    assert first[1] != other[1]
    assert first[0][4] != other[0][4]


def test_generation_is_pinned_across_machines() -> None:
    """A digest of the default seed's figures: it changes only when the generator is changed on
    purpose (then update it), never between machines or Python runs."""
    tables, stats = _generate(DEFAULT_SEED)

    digest = hashlib.sha256(repr((tables, stats)).encode()).hexdigest()

    assert digest == PINNED_DIGEST


PINNED_DIGEST = "9604876dcb3a427dd9bc3e42cd7edcbbfa67d84dd08a48465b63524c8cfc3051"


async def test_load_scale_on_a_tiny_scale(server_url: str) -> None:
    name = scratch_name("scale_test")
    url = _with_database(server_url, name)
    admin = await asyncpg.connect(_with_database(server_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        migrate(url, "upgrade", "head")
        conn = await asyncpg.connect(url)
        try:
            counts = await load_scale(conn, etfs=20, securities=60, years=1)

            assert counts["etfs"] == len(demo_reference().etfs) + 20
            assert counts["securities"] == len(demo_reference().securities) + 60
            assert counts == {t: n for t, n in (await _counts(conn)).items() if t != "datasets"}
            assert counts["etf_daily_stats"] > 20 * 200
            weights = await conn.fetch(WEIGHTS_AS_OF, date(2026, 6, 30))
            assert len(weights) == counts["indices"]
            assert all(abs(w["total"] - 100) <= Decimal("0.000001") for w in weights)
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM etf_daily_stats "
                    "WHERE aum <> round(nav_per_unit * shares_outstanding, 2)"
                )
                == 0
            )
            with pytest.raises(DatabaseNotEmpty):
                await load_scale(conn, etfs=20, securities=60, years=1)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_loading_the_demo_data_moves_the_data_version(conn: asyncpg.Connection[Any]) -> None:
    # the session's database was empty and then got the demo data: caches keyed on version 0 are stale
    assert await conn.fetchval("SELECT version FROM data_version") >= 1
