"""search(text:, kinds:): every code form, names with typos, Chinese in either script, wildcards taken
literally, one statement per request; and the ETF filter that makes "mainland ETFs tracking Hong Kong
indices" one request. Expected answers are the demo data's, written out."""

from typing import Any

import pytest

SEARCH = """
query Search($text: String!, $kinds: [SearchKind!], $first: Int) {
  search(text: $text, kinds: $kinds, first: $first) { kind score matchedOn code name nameZh }
}"""


async def _hits(gql: Any, text: str, **variables: Any) -> list[dict[str, Any]]:
    body = await gql(SEARCH, {"text": text, **variables})
    assert "errors" not in body, body
    hits: list[dict[str, Any]] = body["data"]["search"]
    return hits


def _codes(hits: list[dict[str, Any]]) -> list[str]:
    return [h["code"] for h in hits]


@pytest.mark.parametrize("text", ["03033", "3033", "XHKG:03033", "xhkg:3033", "3033.HK", " 03033 "])
async def test_every_code_form_finds_the_fund_first(gql: Any, text: str) -> None:
    hits = await _hits(gql, text)

    assert hits[0] == {
        "kind": "ETF",
        "score": "1.000",
        "matchedOn": "CODE",
        "code": "XHKG:03033",
        "name": "CSOP Hang Seng TECH Index ETF",
        "nameZh": "南方東英恒生科技指數ETF",
    }


async def test_counter_codes_isins_and_other_markets(gql: Any) -> None:
    counter = await _hits(gql, "82800")
    isin = await _hits(gql, "HK2800008867")
    security_isin = await _hits(gql, "KR7000660001")
    mainland = await _hits(gql, "513010.SH")
    index = await _hits(gql, "hstech")

    assert [(h["code"], h["matchedOn"], h["score"]) for h in counter] == [("XHKG:02800", "COUNTER", "1.000")]
    assert [(h["code"], h["matchedOn"]) for h in isin] == [("XHKG:02800", "ISIN")]
    assert [(h["code"], h["matchedOn"]) for h in security_isin] == [("XKRX:000660", "ISIN")]
    assert [(h["code"], h["matchedOn"]) for h in mainland] == [("XSHG:513010", "CODE")]
    assert (index[0]["kind"], index[0]["code"], index[0]["score"]) == ("INDEX", "HSTECH", "1.000")


async def test_english_words_with_typos(gql: Any) -> None:
    tracker = await _hits(gql, "tracker fnd")
    samsung = await _hits(gql, "samsng electronics", first=1)
    tech = await _hits(gql, "hang seng tecnology", kinds=["INDEX"])

    assert [(h["code"], h["matchedOn"]) for h in tracker] == [("XHKG:02800", "NAME")]
    assert _codes(samsung) == ["XKRX:005930"]
    assert _codes(tech)[0] == "HSTECH"
    assert all(0.2 <= float(h["score"]) < 0.6 for h in tracker + samsung + tech)  # the typo band


async def test_simplified_text_finds_traditional_names(gql: Any) -> None:
    hits = await _hits(gql, "半导体")

    assert [(h["kind"], h["code"], h["matchedOn"]) for h in hits] == [
        ("SECURITY", "XKRX:042700", "NAME_ZH"),  # 韓美半導體: a tie, broken by the shorter name
        ("SECURITY", "XHKG:01347", "NAME_ZH"),  # 華虹半導體
        ("SECURITY", "XNAS:AMD", "NAME_ZH"),  # 超微半導體
        ("INDEX", "HKEX-KRX-SEMI", "NAME_ZH"),  # 港交所韓交所半導體指數
        ("ETF", "XHKG:03431", "NAME_ZH"),
        ("ETF", "XHKG:03432", "NAME_ZH"),
    ]


async def test_either_script_finds_both_listings(gql: Any) -> None:
    simplified = await _hits(gql, "中芯国际")
    traditional = await _hits(gql, "中芯國際")
    index = await _hits(gql, "恒生科技指数", kinds=["INDEX"])

    both = [("XHKG:00981", "中芯國際"), ("XSHG:688981", "中芯国际")]
    assert sorted((h["code"], h["nameZh"]) for h in simplified) == both
    assert sorted((h["code"], h["nameZh"]) for h in traditional) == both
    assert {h["score"] for h in simplified} == {"0.950"}  # the whole name, in either script
    assert [(h["code"], h["nameZh"], h["score"]) for h in index] == [("HSTECH", "恒生科技指數", "0.950")]


@pytest.mark.parametrize("text", ["_", "%", "50%", "\\"])
async def test_like_wildcards_match_themselves(gql: Any, text: str) -> None:
    assert await _hits(gql, text) == []


async def test_kinds_and_relevance_order(gql: Any) -> None:
    managers = await _hits(gql, "hang seng", kinds=["MANAGER"])
    everything = await _hits(gql, "csop", first=3)

    assert [(h["code"], h["matchedOn"]) for h in managers] == [("hang-seng-investment", "NAME")]
    assert everything[0] == {
        "kind": "MANAGER",
        "score": "1.000",
        "matchedOn": "CODE",
        "code": "csop",
        "name": "CSOP",
        "nameZh": None,
    }
    scores = [float(h["score"]) for h in everything]
    assert scores == sorted(scores, reverse=True)


async def test_the_objects_come_in_the_same_statement(gql: Any, db: Any) -> None:
    body = await gql(
        """{ search(text: "csop", first: 2) {
               kind manager { legalName etfs(first: 1) { code } } etf { code issuer { slug } trackedIndex { code } }
               index { code } security { code } } }"""
    )

    first, second = body["data"]["search"]
    assert first["manager"]["legalName"] == "CSOP Asset Management Limited"
    assert (first["etf"], first["index"], first["security"]) == (None, None, None)
    assert second["etf"]["issuer"]["slug"] == "csop"
    assert second["manager"] is None
    assert len(db.statements) == 1


@pytest.mark.parametrize("text", ["", "   ", "x" * 101])
async def test_blank_or_long_text_is_refused(gql: Any, text: str) -> None:
    body = await gql(SEARCH, {"text": text})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "text"


MAINLAND_ON_HK = """
query ($asOf: Date) {
  etfs(asOf: $asOf, filter: {mic: {in: ["XSHG", "XSHE"]}, trackedIndex: {market: {eq: "HK"}}}, first: 50) {
    edges { node { code trackedIndex { code provider market } } }
  }
}"""


async def test_mainland_etfs_tracking_hong_kong_indices_in_one_request(gql: Any) -> None:
    body = await gql(MAINLAND_ON_HK, {"asOf": "2026-11-20"})

    funds = [(e["node"]["code"], e["node"]["trackedIndex"]["code"]) for e in body["data"]["etfs"]["edges"]]
    assert funds == [
        ("XSHE:159132", "HSBIO"),
        ("XSHE:159823", "HSI"),
        ("XSHE:159892", "HSBIO"),
        ("XSHG:513010", "HSTECH"),
        ("XSHG:513130", "HSTECH"),
        ("XSHG:513180", "HSTECH"),
        ("XSHG:520980", "HKEX-TECH100"),
    ]


async def test_chinese_names_and_market_on_indices_and_securities(gql: Any) -> None:
    body = await gql(
        """{ index(code: "HSI") { nameZh market }
             security(code: "XHKG:00700") { nameZh }
             securities(filter: {search: "海力士"}) { edges { node { code } } } }"""
    )

    assert body["data"]["index"] == {"nameZh": "恒生指數", "market": "HK"}
    assert body["data"]["security"] == {"nameZh": "騰訊控股"}
    assert body["data"]["securities"]["edges"] == [{"node": {"code": "XKRX:000660"}}]
