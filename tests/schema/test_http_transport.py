"""GraphQL over HTTP: GET caching by data version (ETag, 304), the GraphQL media type, compression."""

from __future__ import annotations

from typing import Any

import pytest

QUERY = '{ etf(code: "XHKG:02800") { code name } }'


async def test_get_answers_carry_an_etag_and_a_repeat_gets_304_without_running(client: Any, db: Any) -> None:
    first = await client.get("/graphql", params={"query": QUERY})
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert first.headers["cache-control"] == "public, max-age=60"
    db.statements.clear()
    again = await client.get("/graphql", params={"query": QUERY}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert db.statements == ["SELECT version FROM data_version"]  # nothing else ran


async def test_new_data_changes_the_etag(client: Any, conn: Any) -> None:
    first = await client.get("/graphql", params={"query": QUERY})
    await conn.execute("UPDATE data_version SET version = version + 1")
    after = await client.get(
        "/graphql", params={"query": QUERY}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]


async def test_variables_are_part_of_the_etag(client: Any) -> None:
    document = "query ($c: String!) { etf(code: $c) { code } }"
    one = await client.get("/graphql", params={"query": document, "variables": '{"c": "XHKG:02800"}'})
    two = await client.get("/graphql", params={"query": document, "variables": '{"c": "XHKG:03033"}'})
    assert one.headers["etag"] != two.headers["etag"]
    assert two.json()["data"]["etf"]["code"] == "XHKG:03033"


async def test_the_graphql_response_media_type_when_asked(client: Any) -> None:
    response = await client.post(
        "/graphql", json={"query": QUERY}, headers={"Accept": "application/graphql-response+json"}
    )
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    plain = await client.post("/graphql", json={"query": QUERY})
    assert plain.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
async def test_large_answers_are_compressed(client: Any, encoding: str) -> None:
    document = '{ index(code: "HSI") { constituents { weightPct security { code name sector } } } }'
    response = await client.post("/graphql", json={"query": document}, headers={"Accept-Encoding": encoding})
    assert response.headers["content-encoding"] == encoding
    assert len(response.json()["data"]["index"]["constituents"]) > 20  # httpx decodes it
    small = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept-Encoding": encoding}
    )
    assert "content-encoding" not in small.headers  # under 1 KiB: not worth it


async def test_a_subscription_over_http_is_a_clear_400(client: Any) -> None:
    response = await client.post("/graphql", json={"query": "subscription { dataLanded { dataset } }"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "WebSocket" in error["message"]
