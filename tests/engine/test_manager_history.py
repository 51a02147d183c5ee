"""Manager history (issue 15): a fund's manager on a date, its managers with periods, and a manager's funds
on a date, on the demo's Tracker Fund of Hong Kong (State Street Global Advisors Asia until 2022-09-18,
Hang Seng Investment Management from 2022-09-19)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.db.client import CountingDatabase
from service.ingest.errors import FileRejected
from service.ingest.loader import load_file
from service.model.common import manager_on
from tests.schema.examples import example

TRACKER = "XHKG:02800"
SSGA = {"slug": "state-street", "legalName": "State Street Global Advisors Asia Limited"}
HSIM = {"slug": "hang-seng-investment", "legalName": "Hang Seng Investment Management Limited"}
CHANGE = (
    "Manager of the Tracker Fund of Hong Kong changed from State Street Global Advisors Asia to "
    "Hang Seng Investment Management"
)


async def test_who_managed_the_tracker_fund_before_september_2022(gql: Any, db: CountingDatabase) -> None:
    document, variables = example("manager_history")

    body = await gql(document, variables)

    assert body == {
        "data": {
            "etf": {
                "code": TRACKER,
                "name": "Tracker Fund of Hong Kong",
                "managerThen": SSGA,
                "managerNow": HSIM,
                "managers": [
                    {
                        "effectiveFrom": "1999-11-12",
                        "effectiveTo": "2022-09-19",
                        "reason": None,
                        "manager": SSGA,
                    },
                    {"effectiveFrom": "2022-09-19", "effectiveTo": None, "reason": CHANGE, "manager": HSIM},
                ],
            }
        }
    }
    assert len(db.statements) == 1


@pytest.mark.parametrize(
    ("as_of", "slug"),
    [
        ("1990-01-01", "state-street"),  # before the listing: the first manager
        ("1999-11-12", "state-street"),
        ("2022-09-18", "state-street"),
        ("2022-09-19", "hang-seng-investment"),  # the change's effective date
        ("2026-11-20", "hang-seng-investment"),
    ],
)
async def test_the_issuer_on_a_date_follows_the_changes(gql: Any, as_of: str, slug: str) -> None:
    body = await gql(f'{{ etf(code: "{TRACKER}") {{ issuer(asOf: "{as_of}") {{ slug }} }} }}')
    assert body["data"]["etf"]["issuer"]["slug"] == slug


async def test_a_fund_without_changes_has_one_period_from_its_listing(gql: Any) -> None:
    body = await gql(
        '{ etf(code: "XHKG:02840") { managers { effectiveFrom effectiveTo manager { slug } } } }'
    )
    assert body["data"]["etf"]["managers"] == [
        {"effectiveFrom": "2008-10-31", "effectiveTo": None, "manager": {"slug": "state-street"}}
    ]


async def test_a_managers_funds_on_a_date_follow_the_history(gql: Any, db: CountingDatabase) -> None:
    query = """query ($asOf: Date) {
      ssga: manager(slug: "state-street") { etfs(asOf: $asOf) { code } }
      hsim: manager(slug: "hang-seng-investment") { etfs(asOf: $asOf) { code } }
    }"""

    before = (await gql(query, {"asOf": "2022-09-16"}))["data"]
    statements_before = len(db.statements)
    after = (await gql(query, {"asOf": "2022-09-19"}))["data"]

    ssga_before = {e["code"] for e in before["ssga"]["etfs"]}
    ssga_after = {e["code"] for e in after["ssga"]["etfs"]}
    hsim_before = {e["code"] for e in before["hsim"]["etfs"]}
    hsim_after = {e["code"] for e in after["hsim"]["etfs"]}
    assert ssga_before == {TRACKER, "XHKG:02840"}
    assert ssga_after == {"XHKG:02840"}
    assert TRACKER not in hsim_before and TRACKER in hsim_after
    # 02833 (Hang Seng Index ETF) was delisted on the day of the change, into the Tracker Fund.
    assert "XHKG:02833" in hsim_before and "XHKG:02833" not in hsim_after
    assert statements_before == len(db.statements) == 2  # one per root field, however many funds


async def test_fund_lists_give_each_fund_its_manager_on_the_lists_date(
    gql: Any, db: CountingDatabase
) -> None:
    query = """query ($asOf: Date) { etfs(first: 500, asOf: $asOf, filter: {issuer: {slug: {eq: "state-street"}}},
        orderBy: [{field: ISSUER_SHORT_NAME}]) { nodes { code issuer { slug } } } }"""

    then = (await gql(query, {"asOf": "2022-01-03"}))["data"]["etfs"]["nodes"]
    now = (await gql(query, {"asOf": "2026-11-20"}))["data"]["etfs"]["nodes"]

    assert then == [
        {"code": TRACKER, "issuer": {"slug": "state-street"}},
        {"code": "XHKG:02840", "issuer": {"slug": "state-street"}},
    ]
    assert now == [{"code": "XHKG:02840", "issuer": {"slug": "state-street"}}]
    assert len(db.statements) == 1


async def test_the_same_answers_on_the_reference_executor(gql: Any, reference_gql: Any) -> None:
    document, variables = example("manager_history")
    assert await reference_gql(document, variables) == await gql(document, variables)


async def test_a_change_to_the_same_manager_is_rejected_naming_the_column(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    path = tmp_path / "manager-changes.csv"
    path.write_text(
        "Exchange,Stock Code,Effective Date,Previous Manager ID,New Manager ID,Notes\n"
        "XHKG,02840,2024-01-03,csop,csop,\n"
    )

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "manager-changes", path)

    assert [(e.line, e.column, e.reason) for e in caught.value.errors] == [
        (2, "New Manager ID", "must differ from the previous manager")
    ]


async def test_a_change_naming_an_unknown_manager_is_rejected(
    conn: asyncpg.Connection[Any], tmp_path: Path
) -> None:
    path = tmp_path / "manager-changes.csv"
    path.write_text(
        "Exchange,Stock Code,Effective Date,Previous Manager ID,New Manager ID,Notes\n"
        "XHKG,2840,2024-01-02,state-street,nobody-am,\n"
    )

    with pytest.raises(FileRejected) as caught:
        await load_file(conn, "manager-changes", path)

    [error] = caught.value.errors
    assert (error.line, error.column, error.value) == (2, "New Manager ID", "nobody-am")
    assert "no manager nobody-am is loaded" in error.reason


async def test_a_loaded_change_moves_the_fund(
    conn: asyncpg.Connection[Any], gql: Any, tmp_path: Path
) -> None:
    path = tmp_path / "manager-changes.csv"
    path.write_text(
        "Exchange,Stock Code,Effective Date,Previous Manager ID,New Manager ID,Notes\n"
        "XHKG,2840,2025-03-03,state-street,csop,illustrative\n"
    )

    result = await load_file(conn, "manager-changes", path)

    assert (result.inserted, result.first_day) == (1, date(2025, 3, 3))
    body = await gql(
        '{ etf(code: "XHKG:02840") { managers { effectiveFrom effectiveTo manager { slug } } } }'
    )
    assert body["data"]["etf"]["managers"] == [
        {"effectiveFrom": "2008-10-31", "effectiveTo": "2025-03-03", "manager": {"slug": "state-street"}},
        {"effectiveFrom": "2025-03-03", "effectiveTo": None, "manager": {"slug": "csop"}},
    ]
    # The load moved the fund's days from the change on to CSOP in the rankings (the rollup refreshed).
    for slug, first, last in (
        ("state-street", "2025-02-24", "2025-02-28"),
        ("csop", "2025-03-03", "2025-03-07"),
    ):
        ranked = await gql(
            f"""{{ etfAggregates(groupBy: ETF, from: "2025-02-24", to: "2025-03-07", issuer: "{slug}") {{
                     key firstDay lastDay }} }}"""
        )
        (fund,) = [r for r in ranked["data"]["etfAggregates"] if r["key"] == "XHKG:02840"]
        assert (fund["firstDay"], fund["lastDay"]) == (first, last), slug


async def test_the_models_rule_and_the_databases_agree_on_every_day(conn: Any) -> None:
    # The rule is written twice: inline in the model (``manager_on``, probes the planner can see) and as
    # the function ``etf_manager_on`` (migration 0022), which the rollups and the analytics read. Given:
    # the Tracker Fund's change, and 03053 away from CSOP to Global X and back.
    await conn.execute(
        """INSERT INTO etf_manager_changes (etf_id, effective_date, from_manager_id, to_manager_id)
           SELECT e.id, d.day, (SELECT id FROM asset_managers WHERE slug = d.from_slug),
                  (SELECT id FROM asset_managers WHERE slug = d.to_slug)
           FROM etfs e, (VALUES ('2025-10-02'::date, 'csop', 'global-x'), ('2025-10-07', 'global-x', 'csop'))
                        d (day, from_slug, to_slug)
           WHERE e.code = '03053'"""
    )

    # When: every fund's manager on each day around each change, both ways.
    rows = await conn.fetch(
        f"""SELECT e.code, d.day::date, {manager_on("e", "d.day::date")} AS model,
                   etf_manager_on(e.id, d.day::date) AS database
            FROM etfs e
            CROSS JOIN (SELECT DISTINCT c.effective_date + k AS day
                        FROM etf_manager_changes c, generate_series(-2, 2) k
                        UNION ALL VALUES ('2000-01-01'::date), ('2099-12-31')) d"""
    )

    # Then
    assert len(rows) > 500  # ~40 funds, 17 days
    assert [r for r in rows if r["model"] != r["database"]] == []
    assert {r["database"] for r in rows if r["code"] == "03053"} == set(
        await conn.fetchval("SELECT array_agg(id) FROM asset_managers WHERE slug IN ('csop', 'global-x')")
    )
