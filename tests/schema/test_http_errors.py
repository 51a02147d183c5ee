"""Bad input gets a GraphQL error with a stable code; nothing answers with a 500 or a traceback."""

from typing import Any

import pytest

ETF = "query ($code: String!) { etf(code: $code) { code } }"


async def test_unknown_etf_code_is_not_found(gql: Any) -> None:
    body = await gql(ETF, {"code": "XHKG:99998"})
    assert body["data"] == {"etf": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["etf"]


async def test_malformed_code_is_bad_user_input(gql: Any) -> None:
    body = await gql(ETF, {"code": "03033"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_date_variable_is_bad_user_input(gql: Any) -> None:
    query = 'query ($d: Date!) { index(code: "HSI") { constituents(asOf: $d) { weightPct } } }'
    body = await gql(query, {"d": "2025-02-30"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_date_literal_is_bad_user_input(gql: Any) -> None:
    body = await gql('{ index(code: "HSI") { constituents(asOf: "yesterday") { weightPct } } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_page_size_over_the_limit_is_refused_before_any_sql(gql: Any, db: Any) -> None:
    body = await gql("{ etfs(first: 100000) { totalCount } }")
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first", "maximum": 500}
    assert db.statements == []


@pytest.mark.parametrize("cursor", ["not-a-cursor", "b2Zmc2V0Oi0x", "", "YWJj"])
async def test_bad_cursor_is_bad_user_input(gql: Any, cursor: str) -> None:
    body = await gql("query ($c: String) { etfs(after: $c) { totalCount } }", {"c": cursor})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_from_after_to_is_bad_user_input(gql: Any) -> None:
    body = await gql(
        '{ connectFlows(direction: SOUTHBOUND, from: "2025-02-01", to: "2025-01-01") { tradingDay } }'
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_document_is_400_with_a_graphql_error(client: Any) -> None:
    response = await client.post("/graphql", json={"query": "{ etf(code: "})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_unknown_field_is_400_validation_failed(client: Any) -> None:
    response = await client.post("/graphql", json={"query": '{ etf(code: "XHKG:02800") { aum } }'})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"query": 42}', b'{"query": "{ __typename }", "variables": 3}']
)
async def test_malformed_json_body_is_400_with_a_graphql_error(client: Any, body: bytes) -> None:
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_too_deep_a_document_is_refused_before_any_sql(client: Any, db: Any) -> None:
    query = '{ etf(code: "XHKG:02800") { ' + "trackedIndex { etfs { " * 8 + "code" + " } }" * 8 + " } }"
    db.statements.clear()
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert db.statements == []


async def test_get_serves_queries_and_graphiql(client: Any) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
