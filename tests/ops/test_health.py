"""/healthz and /readyz: liveness always, readiness only with a reachable database at the migration head."""

from __future__ import annotations

from tests.ops.conftest import serving


async def test_healthz_answers_without_touching_the_database(server_url: str) -> None:
    # given an app on a database that was never migrated
    async with serving(server_url) as (_, client):
        # when
        response = await client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["draining"] is False


async def test_readyz_is_green_on_a_migrated_database(database_url: str) -> None:
    async with serving(database_url) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["revision"]


async def test_readyz_is_red_when_migrations_are_not_at_head(server_url: str) -> None:
    # given the server's `postgres` database, which has no alembic_version table
    async with serving(server_url) as (_, client):
        response = await client.get("/readyz")
    assert response.status_code == 503
    database = response.json()["checks"]["database"]
    assert database["ok"] is False
    assert "migration head" in database["error"]
    assert database["expected"]


async def test_readyz_checks_the_read_replica_too(database_url: str) -> None:
    # given a "replica" URL that points at the same database
    async with serving(database_url, database_read_url=database_url) as (app, client):
        response = await client.get("/readyz")
        graphql = await client.post("/graphql", json={"query": "{ indices(first: 1) { totalCount } }"})
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["database_read"]["ok"] is True
    assert "errors" not in graphql.json()
    assert set(app.state.runtime.databases) == {"primary", "read"}


async def test_readyz_is_red_while_draining(database_url: str) -> None:
    async with serving(database_url) as (app, client):
        app.state.runtime.lifecycle.draining = True
        ready = await client.get("/readyz")
        graphql = await client.post("/graphql", json={"query": "{ __typename }"})
        health = await client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["lifecycle"]["error"] == "shutting down"
    assert graphql.status_code == 503
    assert graphql.headers["retry-after"] == "1"
    assert graphql.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert health.status_code == 200
