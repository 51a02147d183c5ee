"""Alerts as subscriptions (issue 15): `connectgraph load` runs as a process, and subscribers over
graphql-transport-ws hear exactly the southbound days and fund figures each load wrote that match
their ask, with the figures; a day a load leaves unchanged is not sent again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.ingest.loader import load_file
from tests.auth.conftest import SECRET
from tests.conftest import ROOT, _with_database, migrate, scratch_name
from tests.ops.conftest import settings

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"
CLI = [sys.executable, "-m", "service.cli"]
FLOWS_HEADER = (
    "Date,Market,Trading Day,Total Turnover (mil),Buy Turnover (mil),Sell Turnover (mil),"
    "Total Trade Count,Buy Trade Count,Sell Trade Count,ETF Turnover (mil),Daily Quota Balance (RMB mil)"
)
DAILY_HEADER = "Date,Exchange,Stock Code,Currency,NAV per Unit,Closing Price,Units Outstanding,Fund Size"
SOUTHBOUND = """subscription ($min: Decimal!, $currency: ReportCurrency!) {
    southboundDayAlerts(minNetBuy: $min, currency: $currency) {
        tradingDay currency netBuy buyTurnover sellTurnover totalTurnover channels } }"""
FIGURES = """subscription ($codes: [String!]!) {
    etfFiguresAlerts(codes: $codes) { code tradingDay currency navPerUnit aum sharesOutstanding } }"""


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _receive(ws: Any, timeout: float = 30.0) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(ws.receive_json).result(timeout=timeout)


@pytest.fixture(scope="module")
def url(server_url: str) -> Iterator[str]:
    """A migrated scratch database with the sample references, FX and two funds (88888, 88887)."""
    name = scratch_name("alerts")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_with_database(server_url, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def references(url: str, tmp: Path) -> None:
        etfs = tmp / "etfs.csv"
        lines = (DATA / "etfs.csv").read_text().splitlines()
        etfs.write_text(
            "\n".join([*lines, lines[1].replace("88888", "88887").replace("88889", "88886")]) + "\n"
        )
        conn = await asyncpg.connect(url)
        try:
            for dataset, path in (
                ("managers", DATA / "managers.csv"),
                ("indices", DATA / "indices.csv"),
                ("etfs", etfs),
                ("fx", DATA / "fx.csv"),
            ):
                await load_file(conn, dataset, path)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    scratch = _with_database(server_url, name)
    try:
        migrate(scratch, "upgrade", "head")
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / name
        tmp.mkdir(exist_ok=True)
        asyncio.run(references(scratch, tmp))
        yield scratch
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _connect(client: TestClient) -> Any:
    ws = client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    return ws


def _started(app: Any, subscribers: int) -> None:
    runtime = app.state.runtime
    deadline = time.monotonic() + 10
    while not (runtime.events.subscribers == subscribers and runtime.listener.connected):
        assert time.monotonic() < deadline, "the subscriptions did not start"
        time.sleep(0.02)


def _flows(path: Path, *days: tuple[str, str, str]) -> Path:
    """A connect-daily file: per day (date, SSE southbound 'buy/sell', SZSE southbound 'buy/sell') in HK$
    millions, and the northbound blocks."""
    lines = [FLOWS_HEADER]
    for day, sse, szse in days:
        for market, split in (("SSE Southbound", sse), ("SZSE Southbound", szse)):
            buy, sell = (float(x) for x in split.split("/"))
            lines.append(f"{day},{market},Y,{buy + sell:.2f},{buy:.2f},{sell:.2f},10,6,4,1.00,41980.00")
        lines.append(f"{day},SSE Northbound,Y,200.00,,,20,,,2.00,999999999")
        lines.append(f"{day},SZSE Northbound,Y,150.00,,,15,,,2.00,999999999")
    path.write_text("\n".join(lines) + "\n")
    return path


def _alerts(messages: list[Any], field: str) -> list[Any]:
    assert all(m["type"] == "next" for m in messages), messages
    return [m["payload"]["data"][field] for m in messages]


def test_southbound_day_alerts_hear_exactly_the_matching_days_each_load_wrote(
    url: str, tmp_path: Path
) -> None:
    app = create_app(settings(url))
    with TestClient(app) as client, _connect(client) as big, _connect(client) as usd:
        for ws, op, variables in (
            (big, "big", {"min": "20000000", "currency": "HKD"}),
            (usd, "usd", {"min": "5000000", "currency": "USD"}),
        ):
            ws.send_json({"type": "connection_init"})
            assert _receive(ws)["type"] == "connection_ack"
            ws.send_json(
                {"id": op, "type": "subscribe", "payload": {"query": SOUTHBOUND, "variables": variables}}
            )
        _started(app, 2)

        # when a load writes two days: 2031-01-03 (net HK$40m) and 2031-01-06 (HK$15m)
        first = _flows(
            tmp_path / "flows-1.csv", ("2031-01-03", "60/40", "50/30"), ("2031-01-06", "30/20", "20/15")
        )
        assert _cli(url, "load", "connect-daily", str(first)).returncode == 0
        big_1, usd_1 = _receive(big), _receive(usd)
        # and the same days again, 2031-01-06 changed to HK$30m (2031-01-03 unchanged: not sent again)
        second = _flows(
            tmp_path / "flows-2.csv", ("2031-01-03", "60/40", "50/30"), ("2031-01-06", "40/20", "30/20")
        )
        assert _cli(url, "load", "connect-daily", str(second)).returncode == 0
        big_2 = _receive(big)
        # and a third load with a new day of HK$100m, which both hear
        third = _flows(tmp_path / "flows-3.csv", ("2031-01-07", "150/80", "90/60"))
        assert _cli(url, "load", "connect-daily", str(third)).returncode == 0
        big_3, usd_3 = _receive(big), _receive(usd)

    assert _alerts([big_1, big_2, big_3], "southboundDayAlerts") == [
        {
            "tradingDay": "2031-01-03",
            "currency": "HKD",
            "netBuy": "40000000.00",
            "buyTurnover": "110000000.00",
            "sellTurnover": "70000000.00",
            "totalTurnover": "180000000.00",
            "channels": 2,
        },
        {
            "tradingDay": "2031-01-06",
            "currency": "HKD",
            "netBuy": "30000000.00",
            "buyTurnover": "70000000.00",
            "sellTurnover": "40000000.00",
            "totalTurnover": "110000000.00",
            "channels": 2,
        },
        {
            "tradingDay": "2031-01-07",
            "currency": "HKD",
            "netBuy": "100000000.00",
            "buyTurnover": "240000000.00",
            "sellTurnover": "140000000.00",
            "totalTurnover": "380000000.00",
            "channels": 2,
        },
    ]
    # USD at 7.7812 HK$ (the latest rate on or before): each channel's day converted and rounded, then added;
    # 2031-01-06 (US$3.9m after the change) never reached US$5m.
    usd_days = _alerts([usd_1, usd_3], "southboundDayAlerts")
    assert [(a["tradingDay"], a["currency"], a["netBuy"]) for a in usd_days] == [
        ("2031-01-03", "USD", "5140595.28"),
        ("2031-01-07", "USD", "12851488.20"),
    ]


def test_etf_figures_alerts_hear_the_funds_days_each_load_wrote(url: str, tmp_path: Path) -> None:
    app = create_app(settings(url))
    with TestClient(app) as client, _connect(client) as one, _connect(client) as other:
        for ws, op, codes in ((one, "one", ["XHKG:88888"]), (other, "other", ["XHKG:88886"])):  # a counter
            ws.send_json({"type": "connection_init"})
            assert _receive(ws)["type"] == "connection_ack"
            ws.send_json(
                {"id": op, "type": "subscribe", "payload": {"query": FIGURES, "variables": {"codes": codes}}}
            )
        _started(app, 2)

        first = tmp_path / "daily-1.csv"
        first.write_text(
            f"{DAILY_HEADER}\n"
            "2031-01-03,XHKG,88888,HKD,10.5,10.5,1000000,10500000.00\n"
            "2031-01-06,XHKG,88888,HKD,10.6,10.6,1000000,10600000.00\n"
            "2031-01-03,XHKG,88887,HKD,20,20,500000,10000000.00\n"
        )
        assert _cli(url, "load", "etf-daily", str(first)).returncode == 0
        one_1 = [_receive(one), _receive(one)]
        other_1 = _receive(other)
        second = tmp_path / "daily-2.csv"
        second.write_text(
            f"{DAILY_HEADER}\n"
            "2031-01-03,XHKG,88888,HKD,10.5,10.5,1000000,10500000.00\n"
            "2031-01-06,XHKG,88888,HKD,10.7,10.7,1000000,10700000.00\n"
            "2031-01-07,XHKG,88887,HKD,21,21,500000,10500000.00\n"
        )
        assert _cli(url, "load", "etf-daily", str(second)).returncode == 0
        one_2 = _receive(one)
        other_2 = _receive(other)

    assert _alerts([*one_1, one_2], "etfFiguresAlerts") == [
        {
            "code": "XHKG:88888",
            "tradingDay": "2031-01-03",
            "currency": "HKD",
            "navPerUnit": "10.500000",
            "aum": "10500000.00",
            "sharesOutstanding": "1000000",
        },
        {
            "code": "XHKG:88888",
            "tradingDay": "2031-01-06",
            "currency": "HKD",
            "navPerUnit": "10.600000",
            "aum": "10600000.00",
            "sharesOutstanding": "1000000",
        },
        {
            "code": "XHKG:88888",
            "tradingDay": "2031-01-06",
            "currency": "HKD",
            "navPerUnit": "10.700000",
            "aum": "10700000.00",
            "sharesOutstanding": "1000000",
        },
    ]
    assert [(a["code"], a["tradingDay"]) for a in _alerts([other_1, other_2], "etfFiguresAlerts")] == [
        ("XHKG:88887", "2031-01-03"),
        ("XHKG:88887", "2031-01-07"),
    ]


def _first_error(app: Any, query: str, variables: dict[str, Any]) -> Any:
    with TestClient(app) as client, _connect(client) as ws:
        ws.send_json({"type": "connection_init"})
        assert _receive(ws)["type"] == "connection_ack"
        ws.send_json({"id": "x", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        message = _receive(ws)
    assert message["type"] == "next", message
    return message["payload"]["errors"][0]


def test_an_unknown_fund_is_not_found_naming_the_argument(url: str) -> None:
    error = _first_error(create_app(settings(url)), FIGURES, {"codes": ["XHKG:02800", "XHKG:77777"]})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["argument"] == "codes"


def test_alerts_need_the_flows_scope(url: str) -> None:
    app = create_app(settings(url, anonymous_scopes=["read:reference"], api_key_secret=SECRET))
    for query, variables in (
        (SOUTHBOUND, {"min": "1", "currency": "HKD"}),
        (FIGURES, {"codes": ["XHKG:88888"]}),
    ):
        error = _first_error(app, query, variables)
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["scope"] == "read:flows"
