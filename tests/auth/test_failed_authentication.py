"""Guessing keys costs the guesser: failures are rate-limited per address and wrong keys remembered briefly."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import bearer

QUERY = {"query": "{ __typename }"}
KEY_LOOKUP = "api_keys"


def lookups(db: Any) -> int:
    return sum(KEY_LOOKUP in sql for sql in db.statements)


async def test_an_address_that_keeps_failing_gets_429_without_lookups(make_client: Any, db: Any) -> None:
    async with make_client(auth_failures_per_minute=5) as (http, _):
        db.statements.clear()
        statuses = []
        for attempt in range(12):
            wrong = f"cg_{attempt:08d}_" + "x" * 43
            statuses.append((await http.post("/graphql", json=QUERY, headers=bearer(wrong))).status_code)
        refused = await http.post("/graphql", json=QUERY, headers=bearer("cg_99999999_" + "y" * 43))
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"] == "authentication"
    assert lookups(db) <= 6  # the refused attempts looked nothing up


async def test_a_wrong_key_sent_again_is_not_looked_up_again(
    make_client: Any, make_key: Any, db: Any
) -> None:
    real = await make_key("real", ["read:reference"])
    wrong = real.plaintext[:-4] + ("abcd" if not real.plaintext.endswith("abcd") else "efgh")
    async with make_client() as (http, _):
        db.statements.clear()
        answers = [await http.post("/graphql", json=QUERY, headers=bearer(wrong)) for _ in range(3)]
        good = await http.post("/graphql", json=QUERY, headers=bearer(real.plaintext))
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.json()["errors"][0]["message"] for a in answers}) == 1
    assert good.status_code == 200
    assert lookups(db) == 2  # the wrong key once, the right one once


async def test_other_addresses_and_anonymous_requests_are_unaffected(make_client: Any) -> None:
    async with make_client(auth_failures_per_minute=1) as (http, _):
        for _ in range(3):
            await http.post("/graphql", json=QUERY, headers=bearer("cg_00000000_" + "z" * 43))
        anonymous = await http.post("/graphql", json=QUERY)
    assert anonymous.status_code == 200
