"""No N+1: one statement per root field, whatever the document's depth and the rows returned."""

from typing import Any

WIDE = """
query ($n: Int!, $k: Int!) {
  etfs(first: $n) {
    edges { node {
      code
      issuer { slug licences { status index { code } } etfs { code } }
      trackedIndex { code constituents(first: $k) { weightPct security { code indexMemberships { weightPct index { code } } } } }
      counters { code }
      eligibility { status channel }
      dailyStats(last: $k) { tradingDay aum }
    } }
  }
}
"""


async def test_statement_count_does_not_grow_with_rows(gql: Any, reference_gql: Any, db: Any) -> None:
    for run in (gql, reference_gql):  # the engine's path, and strawberry's
        small = await run(WIDE, {"n": 2, "k": 2})
        assert "errors" not in small
        small_count = len(db.statements)
        large = await run(WIDE, {"n": 25, "k": 10})
        assert "errors" not in large
        assert len(large["data"]["etfs"]["edges"]) > len(small["data"]["etfs"]["edges"])
        # One statement for the root field, whatever its depth and the number of rows.
        assert len(db.statements) == small_count == 1


async def test_node_resolves_global_ids_of_every_type_in_one_batch_per_type(gql: Any, db: Any) -> None:
    listing = await gql("{ etfs(first: 3) { edges { node { id issuer { id } trackedIndex { id } } } } }")
    ids = []
    for edge in listing["data"]["etfs"]["edges"]:
        node = edge["node"]
        ids += [node["id"], node["issuer"]["id"]]
    query = "query ($id: ID!) { node(id: $id) { __typename id } }"
    for global_id in ids:
        body = await gql(query, {"id": global_id})
        assert body["data"]["node"]["id"] == global_id


async def test_node_with_an_unknown_id_is_null(gql: Any) -> None:
    body = await gql("query ($id: ID!) { node(id: $id) { id } }", {"id": "RXRmOjk5OTk5OTk="})  # Etf:9999999
    assert body == {"data": {"node": None}}


async def test_node_with_a_malformed_id_is_an_error(gql: Any) -> None:
    body = await gql("query ($id: ID!) { node(id: $id) { id } }", {"id": "not-base64"})
    assert body["data"] == {"node": None}
    assert body["errors"], body
