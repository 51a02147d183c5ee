"""The demo's eligibility follows from its figures: every southbound change recomputed from the AUM series."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeAlias

import asyncpg

from service.demo import story
from service.demo.generate import WINDOW_END

Conn: TypeAlias = "asyncpg.Connection[Any]"

# Each Hong Kong fund's daily AUM in HK$, at the day's rate.
AUM_HKD = """
SELECT e.mic || ':' || e.code AS key, s.trading_day, s.aum * fx.rate AS hkd
FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
CROSS JOIN LATERAL fx_rate(s.currency, 'HKD', s.trading_day) fx
WHERE e.mic = 'XHKG'
ORDER BY 1, 2
"""
FUNDS = """
SELECT mic || ':' || code AS key, listing_date, delisting_date, replication = 'PHYSICAL' AS physical,
       is_leveraged_inverse AS leveraged_or_inverse
FROM etfs
"""
PERIODS = """
SELECT e.mic || ':' || e.code AS key, c.channel::text, c.status::text, c.effective_from, c.effective_to,
       c.reason
FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id
WHERE c.direction = 'SOUTHBOUND'
ORDER BY 1, 2, c.effective_from
"""


def _events(periods: list[Any]) -> list[tuple[str, date, str | None]]:
    """Periods as changes: each period's start (its status), and each end no period follows (removal)."""
    events: list[tuple[str, date, str | None]] = []
    for i, p in enumerate(periods):
        before = periods[i - 1] if i and periods[i - 1]["key"] == p["key"] else None
        if before is None or before["effective_to"] != p["effective_from"] or before["status"] != p["status"]:
            events.append((p["key"], p["effective_from"], p["status"]))
        after = periods[i + 1] if i + 1 < len(periods) and periods[i + 1]["key"] == p["key"] else None
        if p["effective_to"] is not None and (after is None or after["effective_from"] != p["effective_to"]):
            events.append((p["key"], p["effective_to"], None))
    return sorted(events, key=lambda e: (e[1], e[0]))


async def test_every_southbound_change_follows_from_the_aum_series(conn: Conn) -> None:
    series: dict[str, list[tuple[date, Decimal]]] = {}
    for r in await conn.fetch(AUM_HKD):
        series.setdefault(r["key"], []).append((r["trading_day"], r["hkd"]))
    funds = [story.Fund(**dict(r)) for r in await conn.fetch(FUNDS)]
    periods = await conn.fetch(PERIODS)
    by_channel = {ch: [p for p in periods if p["channel"] == ch] for ch in ("SHANGHAI", "SHENZHEN")}
    launch = {
        p["key"]: p["status"]
        for p in by_channel["SHANGHAI"]
        if p["effective_from"] < story.WIDENED and (p["effective_to"] or date.max) >= story.WIDENED
    }

    recomputed = story.replay(funds, series, launch, WINDOW_END)

    loaded = [e for e in _events(by_channel["SHANGHAI"]) if e[1] >= story.WIDENED]
    assert [(e.key, e.day, e.status) for e in recomputed] == loaded
    assert _events(by_channel["SHENZHEN"]) == _events(by_channel["SHANGHAI"])  # both links move together
    # The events the issue names are among them.
    assert ("XHKG:03110", date(2025, 3, 10), None) in loaded
    assert ("XHKG:03110", date(2025, 9, 8), "ELIGIBLE") in loaded
    assert ("XHKG:02837", date(2025, 6, 9), "SELL_ONLY") in loaded
    # Before the widening, the figures only start the story: the launch's four were eligible.
    assert set(launch) == {"XHKG:02800", "XHKG:02828", "XHKG:03033", "XHKG:03067"}


async def test_reasons_agree_with_the_figures(conn: Conn) -> None:
    series: dict[str, list[tuple[date, Decimal]]] = {}
    for r in await conn.fetch(AUM_HKD):
        series.setdefault(r["key"], []).append((r["trading_day"], r["hkd"]))
    periods = [p for p in await conn.fetch(PERIODS) if p["effective_from"] >= story.WIDENED]

    assert periods
    for p in periods:
        avg = story.average(series[p["key"]], p["effective_from"])
        assert avg is not None, p
        if p["status"] == "SELL_ONLY":
            assert "below HK$450m" in p["reason"] and avg < story.EXCLUDE_HKD, (p, avg)
        else:
            assert "HK$550m" in p["reason"] and avg >= story.INCLUDE_HKD, (p, avg)


async def test_a_fund_eligible_since_the_widening_never_averaged_below_the_exclusion_while_eligible(
    conn: Conn,
) -> None:
    """The issue's check, inverted: a fund below HK$450m at a review is not left eligible after it."""
    series: dict[str, list[tuple[date, Decimal]]] = {}
    for r in await conn.fetch(AUM_HKD):
        series.setdefault(r["key"], []).append((r["trading_day"], r["hkd"]))
    periods = [p for p in await conn.fetch(PERIODS) if p["status"] == "ELIGIBLE"]

    for review in story.review_days(WINDOW_END):
        for p in periods:
            open_after = p["effective_from"] <= review < (p["effective_to"] or date.max)
            if open_after and p["effective_from"] < review:
                avg = story.average(series[p["key"]], review)
                assert avg is None or avg >= story.EXCLUDE_HKD, (p["key"], review, avg)


async def test_a_mainland_etf_tracking_a_hong_kong_index(conn: Conn) -> None:
    row = await conn.fetchrow(
        """SELECT e.name_en, i.code AS index_code, e.base_currency,
                  (SELECT count(*) FROM connect_eligibility c WHERE c.etf_id = e.id) AS periods,
                  (SELECT count(*) FROM etf_daily_stats s WHERE s.etf_id = e.id) AS days
           FROM etfs e JOIN indices i ON i.id = e.index_id WHERE e.mic = 'XSHE' AND e.code = '159823'"""
    )

    assert row is not None
    assert row["index_code"] == "HSI" and row["base_currency"] == "CNY"
    assert "illustrative" in row["name_en"]
    assert row["periods"] == 0  # a QDII fund on Hong Kong shares: not a northbound candidate
    assert row["days"] > 600


def test_review_days_are_mondays_after_the_first_friday() -> None:
    days = story.review_days(date(2026, 11, 20))

    assert days[:4] == [date(2024, 7, 22), date(2024, 9, 9), date(2024, 12, 9), date(2025, 3, 10)]
    assert date(2025, 6, 9) in days and date(2025, 9, 8) in days and days[-1] == date(2026, 9, 7)
    for day in days[1:]:
        friday = day - timedelta(days=3)
        assert day.weekday() == 0 and friday.day <= 7
