"""The data model refuses bad data: overlapping periods, weights out of range, net != buy - sell."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pytest


async def _index_and_security(conn: asyncpg.Connection[Any]) -> tuple[int, int]:
    index_id = await conn.fetchval(
        "INSERT INTO indices (code, name, provider, currency) VALUES ('T-IDX', 'Test', 'T', 'HKD') "
        "RETURNING id"
    )
    security_id = await conn.fetchval(
        "INSERT INTO securities (mic, local_code, name, country, currency) "
        "VALUES ('XHKG', '99999', 'Test Co', 'HK', 'HKD') RETURNING id"
    )
    return index_id, security_id


async def test_overlapping_membership_periods_are_refused(conn: asyncpg.Connection[Any]) -> None:
    index_id, security_id = await _index_and_security(conn)
    insert = (
        "INSERT INTO index_memberships (index_id, security_id, weight_pct, effective_from, effective_to) "
        "VALUES ($1, $2, 5, $3::date, $4::date)"
    )
    await conn.execute(insert, index_id, security_id, date(2025, 1, 1), date(2025, 6, 1))
    await conn.execute(insert, index_id, security_id, date(2025, 6, 1), None)  # adjacent is fine
    with pytest.raises(asyncpg.ExclusionViolationError):
        await conn.execute(insert, index_id, security_id, date(2025, 3, 1), date(2025, 4, 1))


@pytest.mark.parametrize("weight", ["-0.5", "100.5"])
async def test_weights_must_lie_within_0_and_100(conn: asyncpg.Connection[Any], weight: str) -> None:
    index_id, security_id = await _index_and_security(conn)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO index_memberships (index_id, security_id, weight_pct, effective_from) "
            "VALUES ($1, $2, $3::numeric, '2025-01-01')",
            index_id,
            security_id,
            weight,
        )


async def test_net_buy_must_equal_buy_minus_sell(conn: asyncpg.Connection[Any]) -> None:
    insert = (
        "INSERT INTO connect_daily_flows (channel, direction, trading_day, currency, buy_turnover, "
        "sell_turnover, total_turnover, net_buy) "
        "VALUES ('SHANGHAI', 'SOUTHBOUND', '2030-01-02', 'HKD', 10, 4, 14, $1::numeric)"
    )
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():  # a savepoint, so the test's transaction stays usable
            await conn.execute(insert, "7")
    await conn.execute(insert, "6")
    assert (
        await conn.fetchval("SELECT net_buy FROM connect_daily_flows WHERE trading_day = '2030-01-02'") == 6
    )


async def test_overlapping_eligibility_periods_are_refused(conn: asyncpg.Connection[Any]) -> None:
    etf_id = await conn.fetchval("SELECT id FROM etfs ORDER BY id LIMIT 1")
    insert = (
        "INSERT INTO connect_eligibility (etf_id, direction, channel, effective_from, effective_to) "
        "VALUES ($1, 'NORTHBOUND', 'SHENZHEN', $2::date, $3::date)"
    )
    await conn.execute(insert, etf_id, date(2031, 1, 1), date(2031, 6, 1))
    with pytest.raises(asyncpg.ExclusionViolationError):
        await conn.execute(insert, etf_id, date(2031, 5, 1), None)


async def test_aum_must_be_nav_times_units(conn: asyncpg.Connection[Any]) -> None:
    etf_id = await conn.fetchval("SELECT id FROM etfs ORDER BY id LIMIT 1")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO etf_daily_stats (etf_id, trading_day, currency, nav_per_unit, "
            "shares_outstanding, aum) VALUES ($1, '2031-01-02', 'HKD', 10, 1000, 10500)",
            etf_id,
        )
