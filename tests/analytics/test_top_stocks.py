"""The day's top-10 traded stocks per Stock Connect channel (issue 15): per day and channel, per security,
the southbound net-buying ranking over both channels, and stocks' own eligibility, on the demo data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.db.client import CountingDatabase
from service.ingest.errors import FileRejected
from service.ingest.loader import load_file
from tests.schema.examples import example

LAST_DAY = "2026-11-20"  # the demo's latest Connect day

# The ranking by hand: each top-ten row converted at its day's rate, rounded to the cent, then added.
RANKING = """
    SELECT s.mic || ':' || s.local_code AS code,
           sum(round(t.net_buy * r.rate, 2)) AS net_buy, sum(round(t.buy_turnover * r.rate, 2)) AS buy,
           count(*) AS entries
    FROM connect_top_stocks t JOIN securities s ON s.id = t.security_id
    CROSS JOIN LATERAL fx_rate_rows('HKD', $3::char(3), t.trading_day) r
    WHERE t.direction = 'SOUTHBOUND' AND t.trading_day BETWEEN $1 AND $2
    GROUP BY 1 ORDER BY 2 DESC, 1"""


async def test_which_stocks_mainland_investors_bought_most_today(
    gql: Any, db: CountingDatabase, conn: asyncpg.Connection[Any]
) -> None:
    document, variables = example("southbound_top_stocks")

    ranks = (await gql(document, variables))["data"]["southboundTopStocks"]

    expected = await conn.fetch(RANKING, _day(LAST_DAY), _day(LAST_DAY), "HKD")
    assert [(r["security"]["code"], Decimal(r["netBuy"])) for r in ranks] == [
        (e["code"], e["net_buy"]) for e in expected[:5]
    ]
    assert [r["rank"] for r in ranks] == [1, 2, 3, 4, 5]
    assert {(r["windowFrom"], r["windowTo"], r["currency"]) for r in ranks} == {(LAST_DAY, LAST_DAY, "HKD")}
    assert ranks[0]["security"] == {"code": "XHKG:00883", "name": "CNOOC"}
    assert len(db.statements) == 1


async def test_a_window_in_another_currency_converts_each_day_at_its_rate(
    gql: Any, conn: asyncpg.Connection[Any]
) -> None:
    query = """{ southboundTopStocks(from: "2026-11-02", to: "2026-11-20", currency: USD, first: 3) {
        rank security { code } netBuy buyTurnover topTenEntries currency } }"""

    ranks = (await gql(query))["data"]["southboundTopStocks"]

    expected = await conn.fetch(RANKING, _day("2026-11-02"), _day("2026-11-20"), "USD")
    assert [
        (r["security"]["code"], Decimal(r["netBuy"]), Decimal(r["buyTurnover"]), r["topTenEntries"])
        for r in ranks
    ] == [(e["code"], e["net_buy"], e["buy"], e["entries"]) for e in expected[:3]]
    assert {r["currency"] for r in ranks} == {"USD"}


async def test_a_days_top_ten_per_channel_on_the_flow_day(gql: Any, db: CountingDatabase) -> None:
    query = f"""{{ connectFlows(direction: SOUTHBOUND, to: "{LAST_DAY}", lastTradingDays: 1) {{
        buyTurnover sellTurnover topStocks(first: 20) {{ channel rank totalTurnover buyTurnover netBuy security {{ code }} }} }} }}"""

    [day] = (await gql(query))["data"]["connectFlows"]

    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in day["topStocks"]:
        by_channel.setdefault(row["channel"], []).append(row)
    assert sorted(by_channel) == ["SHANGHAI", "SHENZHEN"]
    for rows in by_channel.values():
        assert [r["rank"] for r in rows] == list(range(1, 11))
        totals = [Decimal(r["totalTurnover"]) for r in rows]
        assert totals == sorted(totals, reverse=True)
    assert by_channel["SHANGHAI"][0]["security"]["code"] == "XHKG:00700"
    assert sum(Decimal(r["buyTurnover"]) for r in day["topStocks"]) < Decimal(day["buyTurnover"])
    assert len(db.statements) == 1


async def test_the_days_a_stock_was_in_a_top_ten(
    gql: Any, db: CountingDatabase, conn: asyncpg.Connection[Any]
) -> None:
    query = """{ securities(first: 100, filter: {mic: {eq: "XHKG"}}) { nodes { code
        connectTopTenDays(direction: SOUTHBOUND, from: "2026-11-01", to: "2026-11-20") { tradingDay channel rank } } } }"""

    nodes = (await gql(query))["data"]["securities"]["nodes"]

    counts = {n["code"]: len(n["connectTopTenDays"]) for n in nodes}
    expected = dict(
        await conn.fetch(
            """SELECT s.mic || ':' || s.local_code, count(*) FROM connect_top_stocks t
               JOIN securities s ON s.id = t.security_id
               WHERE t.direction = 'SOUTHBOUND' AND t.trading_day BETWEEN '2026-11-01' AND '2026-11-20'
               GROUP BY 1"""
        )
    )
    assert {code: n for code, n in counts.items() if n} == expected
    assert expected["XHKG:00700"] == 2 * 15  # every Connect day of the window, in both channels
    assert len(db.statements) == 1  # one statement, however many securities


async def test_a_stocks_own_southbound_eligibility_periods(gql: Any) -> None:
    query = """{ security(code: "XHKG:00027") {
        all: connectEligibility(direction: SOUTHBOUND) { channel status effectiveFrom effectiveTo }
        then: connectEligibility(asOf: "2025-06-30") { channel status } } }"""

    security = (await gql(query))["data"]["security"]

    shanghai = [p for p in security["all"] if p["channel"] == "SHANGHAI"]
    assert shanghai == [
        {
            "channel": "SHANGHAI",
            "status": "ELIGIBLE",
            "effectiveFrom": "2014-11-17",
            "effectiveTo": "2025-03-10",
        },
        {
            "channel": "SHANGHAI",
            "status": "SELL_ONLY",
            "effectiveFrom": "2025-03-10",
            "effectiveTo": "2025-09-08",
        },
        {"channel": "SHANGHAI", "status": "ELIGIBLE", "effectiveFrom": "2025-09-08", "effectiveTo": None},
    ]
    assert security["then"] == [
        {"channel": "SHANGHAI", "status": "SELL_ONLY"},
        {"channel": "SHENZHEN", "status": "SELL_ONLY"},
    ]


async def test_a_sell_only_stock_only_sells_in_the_demos_top_tens(conn: asyncpg.Connection[Any]) -> None:
    rows = await conn.fetch(
        """SELECT t.buy_turnover FROM connect_top_stocks t
           JOIN security_connect_eligibility e ON e.security_id = t.security_id AND e.channel = t.channel
            AND e.direction = t.direction AND e.period @> t.trading_day
           WHERE e.status = 'SELL_ONLY'"""
    )
    assert rows and {r["buy_turnover"] for r in rows} == {Decimal(0)}
    outside = await conn.fetchval(
        """SELECT count(*) FROM connect_top_stocks t WHERE t.direction = 'SOUTHBOUND' AND NOT EXISTS (
             SELECT 1 FROM security_connect_eligibility e WHERE e.security_id = t.security_id
              AND e.channel = t.channel AND e.direction = t.direction AND e.period @> t.trading_day)"""
    )
    assert outside == 0


async def test_bad_top_ten_lines_are_rejected_naming_file_line_and_column(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    path = tmp_path / "connect-top10.csv"
    path.write_text(
        "Date,Market,Rank,Stock Code,Stock Name,Buy Turnover,Sell Turnover,Total Turnover\n"
        "20/11/2026,SSE Southbound,1,00700,TENCENT,100,50,160\n"
        "20/11/2026,SSE Southbound,11,00700,TENCENT,100,50,150\n"
        "20/11/2026,SSE Southbound,2,00700,TENCENT,,,150\n"
    )

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "connect-daily", path)

    errors = {(e.line, e.column) for e in caught.value.errors}
    assert errors == {(2, "Total Turnover"), (3, "Rank"), (4, "Buy Turnover")}


async def test_a_top_ten_needs_its_days_statistics_and_its_stock(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    path = tmp_path / "connect-top10.csv"
    path.write_text(
        "Date,Market,Rank,Stock Code,Stock Name,Buy Turnover,Sell Turnover,Total Turnover\n"
        "21/11/2026,SSE Southbound,1,00700,TENCENT,100,50,150\n"
        "20/11/2026,SZSE Southbound,1,99998,NOBODY,100,50,150\n"
    )

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "connect-daily", path)

    errors = {(e.line, e.column): e.reason for e in caught.value.errors}
    assert set(errors) == {(2, "Date"), (3, "Stock Code")}
    assert "load connect-daily first" in errors[(2, "Date")]
    assert "no security XHKG:99998 is loaded" in errors[(3, "Stock Code")]


def _day(iso: str) -> Any:
    from datetime import date

    return date.fromisoformat(iso)
