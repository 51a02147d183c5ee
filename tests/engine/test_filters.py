"""Filters on every list: and/or/not, typed operators, text search with LIKE wildcards taken literally, and
conditions across relations (to-one by nesting, to-many with some/none/every); each checked against the
tables read directly."""

from __future__ import annotations

from typing import Any

from tests.engine.conftest import bearer

ETFS = """
query ($filter: EtfFilter, $asOf: Date) {
  etfs(filter: $filter, first: 500, asOf: $asOf, includeDelisted: true) { totalCount nodes { code } }
}"""


async def _codes(gql: Any, filter: Any, as_of: str = "2026-11-20") -> list[str]:
    body = await gql(ETFS, {"filter": filter, "asOf": as_of})
    assert "errors" not in body, body
    nodes = body["data"]["etfs"]["nodes"]
    assert body["data"]["etfs"]["totalCount"] == len(nodes)
    return [n["code"] for n in nodes]


async def _expected(conn: Any, where: str, *args: Any) -> list[str]:
    rows = await conn.fetch(
        f"""SELECT e.mic || ':' || e.code AS code FROM etfs e
            JOIN asset_managers m ON m.id = e.issuer_id LEFT JOIN indices i ON i.id = e.index_id
            WHERE e.listing_date <= '2026-11-20' AND ({where}) ORDER BY e.mic, e.code""",
        *args,
    )
    return [r["code"] for r in rows]


async def test_issuer_in_a_list_and_theme_of_the_tracked_index(gql: Any, conn: Any) -> None:
    # ETFs whose issuer is CSOP or Global X and whose tracked index has the theme "technology"
    filter = {
        "issuer": {"slug": {"in": ["csop", "global-x"]}},
        "trackedIndex": {"themes": {"has": "technology"}},
    }
    expected = await _expected(conn, "m.slug IN ('csop', 'global-x') AND 'technology' = ANY(i.themes)")
    assert expected and await _codes(gql, filter) == expected


async def test_issuers_home_market_and_index_theme_across_relations(gql: Any, conn: Any) -> None:
    # ETFs whose issuer's home market is HK and whose tracked index has the theme "semiconductor"
    filter = {"issuer": {"homeMarket": {"eq": "HK"}}, "trackedIndex": {"themes": {"has": "semiconductor"}}}
    expected = await _expected(conn, "m.home_market = 'HK' AND 'semiconductor' = ANY(i.themes)")
    assert expected == ["XHKG:03432"]
    assert await _codes(gql, filter) == expected


async def test_some_southbound_eligibility_period_covering_a_date(gql: Any, conn: Any) -> None:
    filter = {"eligibility": {"some": {"direction": {"eq": "SOUTHBOUND"}, "activeOn": "2025-06-30"}}}
    expected = await _expected(
        conn,
        """EXISTS (SELECT 1 FROM connect_eligibility c WHERE c.etf_id = e.id
                   AND c.direction = 'SOUTHBOUND' AND c.period @> '2025-06-30'::date)""",
    )
    assert "XHKG:02837" in expected and "XHKG:03110" not in expected  # 03110 was off the list then
    assert await _codes(gql, filter) == expected


async def test_indices_with_none_of_their_constituents_in_korea(gql: Any, conn: Any) -> None:
    query = """{ indices(filter: {constituents: {none: {security: {country: {eq: "KR"}}}}}) {
                   nodes { code } } }"""
    body = await gql(query)
    rows = await conn.fetch(
        """SELECT i.code FROM indices i WHERE NOT EXISTS (
               SELECT 1 FROM index_memberships m JOIN securities s ON s.id = m.security_id
               WHERE m.index_id = i.id AND s.country = 'KR') ORDER BY i.code"""
    )
    codes = [n["code"] for n in body["data"]["indices"]["nodes"]]
    assert codes == [r["code"] for r in rows]
    assert "HKEX-KRX-SEMI" not in codes and "HSI" in codes


async def test_and_or_not_and_ranges(gql: Any, conn: Any) -> None:
    filter = {
        "or": [
            {"ongoingChargesPct": {"lt": "0.2"}},
            {"and": [{"listingDate": {"gte": "2026-01-01"}}, {"not": {"mic": {"eq": "XHKG"}}}]},
        ]
    }
    expected = await _expected(
        conn,
        "e.ongoing_charges_pct < 0.2 OR (e.listing_date >= '2026-01-01' AND NOT e.mic = 'XHKG')",
    )
    assert await _codes(gql, filter) == expected


async def test_a_filter_and_its_negation_partition_the_list_nulls_included(gql: Any) -> None:
    everything = await _codes(gql, None)
    for filter in (
        {"leverageFactor": {"gt": "1"}},  # null for plain funds: neither side may lose them
        {"isin": {"startsWith": "HK"}},
        {"trackedIndex": {"code": {"eq": "HSI"}}},
        {"counters": {"every": {"currency": {"eq": "HKD"}}}},
    ):
        inside = await _codes(gql, filter)
        outside = await _codes(gql, {"not": filter})
        assert sorted(inside + outside) == sorted(everything), filter
        assert not set(inside) & set(outside)


async def test_text_search_is_case_insensitive_and_takes_wildcards_literally(gql: Any, conn: Any) -> None:
    assert await _codes(gql, {"name": {"contains": "hang seng tech"}}) == await _expected(
        conn, "e.name_en ILIKE '%hang seng tech%'"
    )
    assert await _codes(gql, {"name": {"contains": "%"}}) == []  # no name holds a percent sign
    assert await _codes(gql, {"name": {"startsWith": "_"}}) == []
    assert await _codes(gql, {"search": "a_b"}) == []


async def test_operators_on_enums_dates_and_null(gql: Any, conn: Any) -> None:
    assert await _codes(gql, {"replication": {"in": ["SYNTHETIC"]}}) == await _expected(
        conn, "e.replication = 'SYNTHETIC'"
    )
    assert await _codes(gql, {"delistingDate": {"isNull": False}}) == ["XHKG:02833"]
    assert await _codes(gql, {"nameZh": {"isNull": True}}) == await _expected(conn, "e.name_zh IS NULL")


async def test_nested_lists_take_filters_too(gql: Any) -> None:
    query = """{ etf(code: "XHKG:02800") {
        counters(filter: {currency: {eq: "CNY"}}) { code }
        dailyStats(filter: {aum: {gt: "0"}, tradingDay: {gte: "2026-11-16", lte: "2026-11-20"}}) { tradingDay }
        eligibility(filter: {channel: {eq: SHENZHEN}}) { channel } } }"""
    etf = (await gql(query))["data"]["etf"]
    assert [c["code"] for c in etf["counters"]] == ["XHKG:82800"]
    assert [d["tradingDay"] for d in etf["dailyStats"]] == [f"2026-11-{d}" for d in range(16, 21)]
    assert {e["channel"] for e in etf["eligibility"]} == {"SHENZHEN"}


async def test_filtering_on_figures_needs_the_flows_scope(make_client: Any, make_key: Any) -> None:
    issued = await make_key("ref", ["read:reference"])
    query = '{ etfs(filter: {latest: {aum: {gt: "1"}}}) { totalCount } index(code: "HSI") { code } }'
    async with make_client(anonymous_scopes=[]) as (http, _):
        body = (await http.post("/graphql", json={"query": query}, headers=bearer(issued.plaintext))).json()
    assert body["data"] == {"etfs": None, "index": {"code": "HSI"}}
    assert body["errors"][0]["extensions"] == {
        "code": "FORBIDDEN",
        "scope": "read:flows",
        "argument": "filter",
    }
