"""Keyset pages on every list: first/after and last/before, pageInfo, totalCount only when asked, cursors
that survive inserts before them and refuse another filter or order, and an ETF list screen (latest NAV,
AUM and net creations as of a date, in a currency, filtered and sorted by them) in one request."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import orjson
import pytest

PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String, $order: [EtfOrder!], $filter: EtfFilter) {
  etfs(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter,
       asOf: "2026-11-20", currency: USD) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { code latest { aum } } }
  }
}"""

BY_AUM = [{"field": "LATEST_AUM", "direction": "DESC"}, {"field": "ISSUER_SHORT_NAME"}]


async def _pages(gql: Any, size: int, *, backward: bool = False, **variables: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        given = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        body = await gql(PAGE, {**variables, **given})
        assert "errors" not in body, body
        connection = body["data"]["etfs"]
        page = [e["node"]["code"] for e in connection["edges"]]
        pages.append(page)
        info = connection["pageInfo"]
        if page:
            edges = connection["edges"]
            assert (info["startCursor"], info["endCursor"]) == (edges[0]["cursor"], edges[-1]["cursor"])
        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        if not more:
            return pages[::-1] if backward else pages
        cursor = info["startCursor"] if backward else info["endCursor"]


async def test_pages_forward_and_backward_concatenate_to_the_whole_list(gql: Any) -> None:
    whole = (await gql(PAGE, {"first": 500, "order": BY_AUM}))["data"]["etfs"]
    codes = [e["node"]["code"] for e in whole["edges"]]
    aums = [Decimal(e["node"]["latest"]["aum"]) for e in whole["edges"] if e["node"]["latest"]]
    assert aums == sorted(aums, reverse=True) and len(codes) == whole["totalCount"] > 30
    forward = await _pages(gql, 7, order=BY_AUM)
    backward = await _pages(gql, 7, backward=True, order=BY_AUM)
    assert [c for page in forward for c in page] == codes
    assert [c for page in backward for c in page] == codes
    assert all(len(page) == 7 for page in forward[:-1])


async def test_a_cursor_stays_valid_when_rows_are_inserted_before_it(gql: Any, conn: Any) -> None:
    first = (await gql(PAGE, {"first": 5}))["data"]["etfs"]
    second = (await gql(PAGE, {"first": 5, "after": first["pageInfo"]["endCursor"]}))["data"]["etfs"]
    # a new fund sorting first (code order), inserted after the cursor was handed out
    await conn.execute(
        """INSERT INTO etfs (mic, code, name_en, issuer_id, listing_date, base_currency, replication)
           SELECT 'XHKG', '00001', 'First Fund', id, '2020-01-02', 'HKD', 'PHYSICAL' FROM asset_managers
           WHERE slug = 'csop'"""
    )
    again = (await gql(PAGE, {"first": 5, "after": first["pageInfo"]["endCursor"]}))["data"]["etfs"]
    assert again["edges"] == second["edges"]
    assert again["totalCount"] == second["totalCount"] + 1
    assert again["pageInfo"]["hasPreviousPage"] is True


async def test_a_cursor_of_another_filter_or_order_is_refused(gql: Any) -> None:
    page = (await gql(PAGE, {"first": 3, "order": BY_AUM}))["data"]["etfs"]
    cursor = page["pageInfo"]["endCursor"]
    other_order = await gql(PAGE, {"first": 3, "after": cursor})
    other_filter = await gql(
        PAGE, {"first": 3, "after": cursor, "order": BY_AUM, "filter": {"mic": {"eq": "XHKG"}}}
    )
    for body in (other_order, other_filter):
        assert body["data"] == {"etfs": None}
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
        assert body["errors"][0]["path"] == ["etfs"]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        _b64("offset:²"),
        _b64("offset:0"),
        _b64('["0000000000000000", "99999999999999999999999999"]'),
        _b64("[1, 2]"),
        _b64("{}"),
        "x" * 5000,
    ],
)
async def test_malformed_cursors_are_bad_user_input_naming_the_argument(gql: Any, cursor: str) -> None:
    for argument in ("after", "before"):
        body = await gql(PAGE, {"first" if argument == "after" else "last": 2, argument: cursor})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["argument"] == argument


async def test_a_forged_cursor_value_of_the_wrong_type_is_refused(gql: Any) -> None:
    page = (await gql(PAGE, {"first": 1}))["data"]["etfs"]
    fingerprint, *values = orjson.loads(base64.b64decode(page["pageInfo"]["endCursor"]))
    forged = _b64(orjson.dumps([fingerprint, *values[:-1], "not-a-number"]).decode())
    body = await gql(PAGE, {"first": 1, "after": forged})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


async def test_total_count_is_counted_only_when_asked_for(gql: Any, db: Any) -> None:
    await gql("{ etfs(first: 2) { edges { node { code } } } }")
    assert "count(*) FROM" not in db.statements[0]
    body = await gql("{ etfs(first: 2) { totalCount } }")
    assert "count(*) FROM" in db.statements[0] and "LIMIT" not in db.statements[0]
    assert body["data"]["etfs"]["totalCount"] > 30


async def test_nested_time_series_page_by_keyset_with_the_series_page_size(gql: Any, conn: Any) -> None:
    query = """query ($after: String, $first: Int) { etf(code: "XHKG:02800") {
        dailyStatsConnection(first: $first, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { tradingDay } } } } }"""
    days: list[str] = []
    cursor = None
    while True:
        connection = (await gql(query, {"first": 250, "after": cursor}))["data"]["etf"][
            "dailyStatsConnection"
        ]
        days += [e["node"]["tradingDay"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        cursor = connection["pageInfo"]["endCursor"]
    rows = await conn.fetch(
        """SELECT s.trading_day::text AS day FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '02800' ORDER BY s.trading_day"""
    )
    assert days == [r["day"] for r in rows] and len(days) == connection["totalCount"] > 500
    too_big = await gql(query, {"first": 10_001})
    assert too_big["data"] == {"etf": None}
    assert too_big["errors"][0]["path"] == ["etf"]
    assert too_big["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "argument": "first",
        "maximum": 10_000,
        "field": "etf.dailyStatsConnection",
    }


async def test_first_and_last_on_plain_lists(gql: Any) -> None:
    query = """{ index(code: "HSI") { top: constituents(first: 3) { weightPct }
                 bottom: constituents(last: 2) { weightPct } all: constituents { weightPct } } }"""
    index = (await gql(query))["data"]["index"]
    assert index["top"] == index["all"][:3] and index["bottom"] == index["all"][-2:]


LIST_SCREEN = """
query ($asOf: Date!, $currency: ReportCurrency!) {
  etfs(asOf: $asOf, currency: $currency, first: 10,
       filter: {issuer: {slug: {in: ["csop", "global-x", "hang-seng-investment"]}}, latest: {aum: {gt: "1000000"}}},
       orderBy: [{field: LATEST_NET_CREATION_VALUE, direction: DESC}]) {
    nodes { code latest { tradingDay currency navPerUnit aum netCreationValue fxRate } }
  }
}"""


async def test_an_etf_list_screen_with_latest_figures_in_a_currency(gql: Any, conn: Any) -> None:
    body = await gql(LIST_SCREEN, {"asOf": "2026-11-18", "currency": "USD"})
    nodes = body["data"]["etfs"]["nodes"]
    rows = await conn.fetch(
        """SELECT e.mic || ':' || e.code AS code, s.trading_day::text AS day, s.nav_per_unit, s.aum,
                  s.net_creation_value, fx.rate
           FROM etfs e JOIN asset_managers m ON m.id = e.issuer_id
           JOIN LATERAL (SELECT * FROM etf_daily_stats x WHERE x.etf_id = e.id AND x.trading_day <= '2026-11-18'
                         ORDER BY x.trading_day DESC LIMIT 1) s ON true
           LEFT JOIN LATERAL fx_rate_rows(s.currency, 'USD', s.trading_day) fx ON true
           WHERE m.slug IN ('csop', 'global-x', 'hang-seng-investment') AND e.listing_date <= '2026-11-18'
             AND (e.delisting_date IS NULL OR e.delisting_date > '2026-11-18')
             AND round(s.aum * fx.rate, 2) > 1000000
           ORDER BY round(s.net_creation_value * fx.rate, 2) DESC, e.id LIMIT 10"""
    )
    assert [n["code"] for n in nodes] == [r["code"] for r in rows]
    for node, row in zip(nodes, rows, strict=True):
        latest = node["latest"]
        assert (latest["tradingDay"], latest["currency"]) == ("2026-11-18", "USD")
        assert Decimal(latest["aum"]) == round(row["aum"] * row["rate"], 2)
        assert Decimal(latest["netCreationValue"]) == round(row["net_creation_value"] * row["rate"], 2)
        assert Decimal(latest["navPerUnit"]) == round(row["nav_per_unit"] * row["rate"], 6)
        assert Decimal(latest["fxRate"]) == row["rate"]
    # the same fund outside the list: its own arguments, else today and HKD
    single = await gql(
        '{ etf(code: "XHKG:02800") { usd: latest(asOf: "2026-11-18", currency: USD) { aum } hkd: latest { currency } } }'
    )
    assert single["data"]["etf"]["hkd"]["currency"] == "HKD"


LONG = "a" * 70  # longer than a column name may be (63 bytes)
OBJECTS_IN_LISTS = f"""{{
  index(code: "HSTECH") {{
    code
    etfs(first: 3) {{ code {LONG}: name issuer {{ slug }} manager: issuer {{ {LONG}: slug }} }}
    all: etfs {{ code }}
    etfsConnection(first: 2) {{
      edges {{ cursor node {{ code {LONG}: name }} }}
      nodes {{ code shortName: name }}
      pageInfo {{ endCursor }}
    }}
    long: etfsConnection(first: 2) {{ edges {{ {LONG}: cursor node {{ code }} }} }}
  }}
}}"""


async def test_list_items_are_written_as_the_reference_writes_them(gql: Any, reference_gql: Any) -> None:
    # Each list item's object (and a to-one relation's) is the row of a select joined to its rows; a key
    # too long for a column name is written another way. Both give the reference executor's answer.
    body = await gql(OBJECTS_IN_LISTS)

    assert "errors" not in body, body
    index = body["data"]["index"]
    assert len(index["etfs"]) == 3 and index["etfs"][0][LONG] and index["etfs"][0]["issuer"]["slug"]
    assert index["etfs"][0]["manager"][LONG] == index["etfs"][0]["issuer"]["slug"]
    assert len(index["all"]) > 3
    assert index["etfsConnection"]["edges"][1]["cursor"] == index["etfsConnection"]["pageInfo"]["endCursor"]
    assert [e["node"]["code"] for e in index["etfsConnection"]["edges"]] == [
        n["code"] for n in index["etfsConnection"]["nodes"]
    ]
    assert index["long"]["edges"][0][LONG]
    assert orjson.dumps(body) == orjson.dumps(await reference_gql(OBJECTS_IN_LISTS))
