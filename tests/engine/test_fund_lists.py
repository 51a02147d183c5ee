"""Every list of funds lists the funds listed on its as-of date (today in Hong Kong by default), with an
explicit way to include delisted ones; a lookup by code still finds a delisted fund (issue 12: 02833 was
delisted on 2022-09-19)."""

from __future__ import annotations

from typing import Any

DELISTED = "XHKG:02833"


def _codes(etfs: list[dict[str, Any]]) -> set[str]:
    return {e["code"] for e in etfs}


async def test_index_manager_licence_and_root_lists_leave_out_delisted_funds(gql: Any) -> None:
    query = """query ($asOf: Date, $all: Boolean) {
      index(code: "HSI") { etfs(asOf: $asOf, includeDelisted: $all) { code } }
      manager(slug: "hang-seng-investment") { etfs(asOf: $asOf, includeDelisted: $all) { code } }
      etfs(first: 500, asOf: $asOf, includeDelisted: $all) { nodes { code } }
    }"""
    today = (await gql(query, {}))["data"]
    assert DELISTED not in _codes(today["index"]["etfs"])
    assert DELISTED not in _codes(today["etfs"]["nodes"])
    everything = (await gql(query, {"all": True}))["data"]
    assert DELISTED in _codes(everything["index"]["etfs"])
    assert DELISTED in _codes(everything["etfs"]["nodes"])
    back_then = (await gql(query, {"asOf": "2022-01-03"}))["data"]
    assert DELISTED in _codes(back_then["index"]["etfs"])
    assert "XHKG:03431" not in _codes(back_then["etfs"]["nodes"])  # listed in 2026
    assert DELISTED not in _codes(today["manager"]["etfs"])  # its issuer: Hang Seng Investment
    assert DELISTED in _codes(everything["manager"]["etfs"])


async def test_licence_products_are_the_listed_funds(gql: Any) -> None:
    query = """{ index(code: "HKEX-KRX-SEMI") { licences { manager { slug }
        now: products { code } before: products(asOf: "2026-06-01") { code } } } }"""
    licences = {lic["manager"]["slug"]: lic for lic in (await gql(query))["data"]["index"]["licences"]}
    assert _codes(licences["samsung"]["now"]) == {"XHKG:03431"}
    assert licences["samsung"]["before"] == []  # 03431 listed on 2026-06-15


async def test_a_delisted_fund_is_found_by_code_with_its_delisting_date(gql: Any) -> None:
    body = await gql(f'{{ etf(code: "{DELISTED}") {{ code delistingDate }} }}')
    assert body["data"]["etf"] == {"code": DELISTED, "delistingDate": "2022-09-19"}
