"""Relay: global ids from natural keys (stable across rebuilds), old base64 ids still resolving, node and
nodes with inline fragments on the Node interface, and malformed ids refused as BAD_USER_INPUT."""

from __future__ import annotations

import base64
from typing import Any

import pytest

NODE = """query ($id: ID!) { node(id: $id) { __typename id
    ... on Etf { code issuer { id } } ... on Index { code } ... on Security { name }
    ... on Manager { slug } ... on Licence { status manager { slug } index { code } } } }"""

NODES = """query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Etf { code } ... on Index { code } } }"""


@pytest.mark.parametrize(
    ("global_id", "typename", "field", "value"),
    [
        ("Etf:XHKG:03033", "Etf", "code", "XHKG:03033"),
        ("Index:HSI", "Index", "code", "HSI"),
        ("Security:XKRX:000660", "Security", "name", "SK Hynix"),
        ("Manager:csop", "Manager", "slug", "csop"),
    ],
)
async def test_ids_are_readable_natural_keys(
    gql: Any, global_id: str, typename: str, field: str, value: str
) -> None:
    node = (await gql(NODE, {"id": global_id}))["data"]["node"]
    assert (node["__typename"], node["id"], node[field]) == (typename, global_id, value)


async def test_a_licence_id_names_its_index_and_manager(gql: Any) -> None:
    licences = (await gql('{ index(code: "HKEX-KRX-SEMI") { licences { id manager { slug } } } }'))["data"]
    first = licences["index"]["licences"][0]
    assert first["id"] == f"Licence:HKEX-KRX-SEMI:{first['manager']['slug']}"
    node = (await gql(NODE, {"id": first["id"]}))["data"]["node"]
    assert (node["index"]["code"], node["manager"]["slug"]) == ("HKEX-KRX-SEMI", first["manager"]["slug"])


async def test_old_base64_ids_of_internal_numbers_still_resolve(gql: Any, conn: Any) -> None:
    etf_id = await conn.fetchval("SELECT id FROM etfs WHERE code = '03033'")
    old = base64.b64encode(f"Etf:{etf_id}".encode()).decode()
    node = (await gql(NODE, {"id": old}))["data"]["node"]
    assert (node["code"], node["id"]) == ("XHKG:03033", "Etf:XHKG:03033")


async def test_nodes_answers_in_order_with_null_for_unknown_ids(gql: Any) -> None:
    ids = ["Index:HSI", "Etf:XHKG:02800", "Index:NOPE", "Etf:XHKG:03033"]
    nodes = (await gql(NODES, {"ids": ids}))["data"]["nodes"]
    assert [n and n.get("code") for n in nodes] == ["HSI", "XHKG:02800", None, "XHKG:03033"]


async def test_an_unknown_id_of_a_known_type_is_null_without_error(gql: Any) -> None:
    assert await gql(NODE, {"id": "Etf:XHKG:99999"}) == {"data": {"node": None}}


@pytest.mark.parametrize(
    "bad",
    [
        "abc",
        "Node:1",
        "PageInfo:1",
        "Etf:²",
        "Etf:99999999999999999999",
        base64.b64encode(b"Etf:99999999999999999999").decode(),
        "Etf:XHKG",
        "",
        "Etf:" + "9" * 500,
    ],
)
async def test_malformed_ids_are_bad_user_input_naming_the_argument(gql: Any, bad: str) -> None:
    body = await gql(NODE, {"id": bad})
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "id"
    many = await gql(NODES, {"ids": ["Index:HSI", bad]})
    assert many["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "ids"}


async def test_ids_of_every_type_round_trip_through_node(gql: Any) -> None:
    listing = await gql(
        """{ etfs(first: 3) { nodes { id issuer { id licences { id } } trackedIndex { id } } }
             securities(first: 3) { nodes { id } } }"""
    )
    ids = []
    for etf in listing["data"]["etfs"]["nodes"]:
        ids += [etf["id"], etf["issuer"]["id"]] + ([etf["trackedIndex"]["id"]] if etf["trackedIndex"] else [])
        ids += [lic["id"] for lic in etf["issuer"]["licences"]]
    ids += [s["id"] for s in listing["data"]["securities"]["nodes"]]
    nodes = (await gql(NODES, {"ids": ids}))["data"]["nodes"]
    assert [n["id"] for n in nodes] == ids
