"""The nine domain questions, each one request, with the exact answers from the demo data.

Each answer is pinned in tests/data/answers/<question>.json (regenerate after a deliberate change
to the demo data with ``UPDATE_ANSWERS=1 pytest tests/schema/test_questions.py``), and the facts a
user relies on are asserted explicitly below. Statement counts are asserted per question and must
not change when the answer has more rows.
"""

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.schema.examples import EXAMPLES, example

ANSWERS = Path(__file__).resolve().parents[1] / "data" / "answers"


@pytest.mark.parametrize(("name", "document", "variables"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
async def test_answer_matches_the_pinned_answer(gql: Any, name: str, document: str, variables: Any) -> None:
    body = await gql(document, variables)
    assert "errors" not in body
    path = ANSWERS / f"{name}.json"
    if os.environ.get("UPDATE_ANSWERS"):
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    assert body == json.loads(path.read_text())


async def test_q1_etf_with_issuer_index_and_its_ten_heaviest_constituents(gql: Any) -> None:
    document, variables = example("q1")
    etf = (await gql(document, variables))["data"]["etf"]
    assert (etf["code"], etf["issuer"]["slug"], etf["trackedIndex"]["code"]) == (
        "XHKG:03033",
        "csop",
        "HSTECH",
    )
    weights = [Decimal(c["weightPct"]) for c in etf["trackedIndex"]["constituents"]]
    assert len(weights) == 10
    assert weights == sorted(weights, reverse=True)
    assert max(weights) <= Decimal(8)  # Hang Seng TECH caps weights at 8%


async def test_q2_constituents_as_of_a_past_date_sum_to_100(gql: Any) -> None:
    document, variables = example("q2")
    index = (await gql(document, variables))["data"]["index"]
    weights = [Decimal(c["weightPct"]) for c in index["constituents"]]
    assert sum(weights) == Decimal("100.000000") == Decimal(index["totalWeightPct"])
    codes = {c["security"]["code"] for c in index["constituents"]}
    # The 2025-12-08 review removed CK Hutchison (00001's sibling 00003) and added SMIC (00981).
    assert "XHKG:00003" in codes and "XHKG:00981" not in codes

    today = (await gql(document, {"code": "HSI", "asOf": "2026-11-20"}))["data"]["index"]
    today_codes = {c["security"]["code"] for c in today["constituents"]}
    assert "XHKG:00981" in today_codes and "XHKG:00003" not in today_codes
    assert Decimal(today["totalWeightPct"]) == Decimal("100.000000")


async def test_q3_southbound_eligible_on_a_date_and_changes_between_two_dates(gql: Any) -> None:
    document, variables = example("q3")
    data = (await gql(document, variables))["data"]
    eligible = {e["etf"]["code"]: e["status"] for e in data["connectEligibility"]}
    assert {"XHKG:02800", "XHKG:02828", "XHKG:03033", "XHKG:03067"} <= set(eligible)  # the July 2022 four
    # Below HK$450m at the 2024-12-09 review: on the special list, then removed on 2025-03-10.
    assert eligible.pop("XHKG:03110") == "SELL_ONLY"
    assert set(eligible.values()) == {"ELIGIBLE"}
    added = {(c["etf"]["code"], c["channel"]) for c in data["eligibilityChanges"] if c["kind"] == "ADDED"}
    assert ("XHKG:03032", "SHANGHAI") in added and ("XHKG:03032", "SHENZHEN") in added

    removed = await gql(document, {"asOf": "2025-06-30", "from": "2025-01-02", "to": "2025-06-30"})
    assert "XHKG:03110" not in {e["etf"]["code"] for e in removed["data"]["connectEligibility"]}
    kinds = {(c["etf"]["code"], c["kind"]) for c in removed["data"]["eligibilityChanges"]}
    assert ("XHKG:03110", "REMOVED") in kinds and ("XHKG:02837", "STATUS_CHANGED") in kinds


async def test_q4_net_southbound_flow_per_day_with_running_total(gql: Any) -> None:
    document, variables = example("q4")
    days = (await gql(document, variables))["data"]["connectFlows"]
    assert len(days) == 20
    assert days[-1]["tradingDay"] == "2026-11-20"
    running = Decimal(0)
    for day in days:
        running += Decimal(day["netBuy"])
        assert Decimal(day["runningNetBuy"]) == running
        assert day["currency"] == "HKD"


async def test_q5_top_etfs_by_net_creations_filtered_by_theme(gql: Any) -> None:
    document, variables = example("q5")
    ranks = (await gql(document, variables))["data"]["topEtfsByNetCreation"]
    assert [r["rank"] for r in ranks] == list(range(1, len(ranks) + 1))
    values = [Decimal(r["netCreationValue"]) for r in ranks]
    assert values == sorted(values, reverse=True)
    assert ranks[0]["etf"]["code"] == "XHKG:03033"
    semis = await gql(document, {**variables, "theme": "semiconductor"})
    assert {r["etf"]["code"] for r in semis["data"]["topEtfsByNetCreation"]} == {"XHKG:03431", "XHKG:03432"}


async def test_q6_monthly_aum_history_in_another_currency(gql: Any) -> None:
    document, variables = example("q6")
    etf = (await gql(document, variables))["data"]["etf"]
    points = etf["aumHistory"]
    assert [p["periodStart"] for p in points] == [f"2026-{m:02d}-01" for m in range(1, 12)]
    for point in points:
        assert point["currency"] == "USD"
        assert point["fxRateDate"] <= point["tradingDay"]
    native = await gql(document, {**variables, "currency": "HKD"})
    for usd, hkd in zip(points, native["data"]["etf"]["aumHistory"], strict=True):
        assert Decimal(hkd["fxRate"]) == 1
        assert abs(Decimal(hkd["aum"]) * Decimal(usd["fxRate"]) - Decimal(usd["aum"])) <= Decimal("0.01")


async def test_q7_licensees_of_an_index_and_who_launched(gql: Any) -> None:
    document, variables = example("q7")
    licences = (await gql(document, variables))["data"]["index"]["licences"]
    by_manager = {lic["manager"]["slug"]: lic for lic in licences}
    assert len(by_manager) == 5
    assert all(lic["isIllustrative"] for lic in licences)
    launched = {slug for slug, lic in by_manager.items() if lic["hasLaunchedProduct"]}
    assert launched == {"samsung", "csop"}
    assert {slug for slug, lic in by_manager.items() if lic["status"] == "PRODUCT_LAUNCHED"} == launched
    assert [p["code"] for p in by_manager["samsung"]["products"]] == ["XHKG:03431"]


async def test_q8_days_above_twenty_billion_southbound(gql: Any) -> None:
    document, variables = example("q8")
    days = (await gql(document, variables))["data"]["connectFlows"]
    assert [d["tradingDay"] for d in days] == [
        "2025-01-21", "2025-02-21", "2025-03-11", "2025-04-09",
        "2025-08-01", "2025-09-23", "2025-10-20", "2025-12-24",
    ]  # fmt: skip
    record = next(d for d in days if d["tradingDay"] == "2025-04-09")
    assert Decimal(record["netBuy"]) == Decimal("35600000000.00")
    for day in days:
        assert Decimal(day["netBuy"]) == Decimal(day["buyTurnover"]) - Decimal(day["sellTurnover"])


async def test_q9_indices_holding_a_security_and_etfs_exposed_through_them(gql: Any) -> None:
    document, variables = example("q9")
    security = (await gql(document, variables))["data"]["security"]
    assert security["name"] == "SK Hynix"
    indices = {m["index"]["code"]: m for m in security["indexMemberships"]}
    assert set(indices) == {"HKEX-KRX-SEMI", "HKEX-TECH-USTECH100"}
    exposed = {e["code"] for m in security["indexMemberships"] for e in m["index"]["etfs"]}
    assert exposed == {"XHKG:03431", "XHKG:03432", "XHKG:03433", "XHKG:03434"}


# (question, variables that return more rows)
MORE_ROWS = [
    ("q1", {"code": "XHKG:02800"}),
    ("q2", {"code": "HKEX-TECH100", "asOf": "2026-11-20"}),
    ("q3", {"asOf": "2026-11-20", "from": "2022-01-01", "to": "2026-11-20"}),
    ("q4", {"days": 400, "to": None}),
    ("q5", {"from": "2024-01-02", "to": "2026-11-20", "theme": None}),
    ("q6", {"code": "XHKG:02800", "currency": "USD", "from": "2024-01-01", "to": "2026-11-20"}),
    ("q7", {"code": "HKEX-TECH-USTECH100"}),
    ("q8", {"threshold": "5000000000", "from": None, "to": None}),
    ("q9", {"code": "XHKG:00700"}),
]


@pytest.mark.parametrize(("prefix", "more"), MORE_ROWS, ids=[s[0] for s in MORE_ROWS])
async def test_one_statement_per_root_field_whatever_the_rows(
    reference_gql: Any, gql: Any, db: Any, prefix: str, more: dict[str, Any]
) -> None:
    document, variables = example(prefix)
    for run in (gql, reference_gql):  # the engine's path, and strawberry's (a root field at a time)
        small = await run(document, variables)
        small_count = len(db.statements)
        large = await run(document, more)
        assert "errors" not in small and "errors" not in large
        assert len(json.dumps(large)) > len(json.dumps(small)), "the variant must return more rows"
        assert len(db.statements) == small_count == len(large["data"])
