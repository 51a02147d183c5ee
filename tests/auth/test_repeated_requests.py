"""A request sent again is admitted from memory: its document is not parsed, measured or validated again,
and its statements are bound once a day; yet every time its key is checked, its rate limit drawn from,
and a caller of other scopes or limits gets an admission (and an answer) of its own."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schema import execution, transport
from schema.door import Door
from service.engine.run import Runner
from tests.auth.conftest import bearer, endpoint_of

MIXED = """
query Mixed($code: String!) {
  etf(code: $code) { code dailyStats(last: 2) { tradingDay aum } }
  connectFlows(direction: SOUTHBOUND, lastTradingDays: 2) { tradingDay netBuy }
}
"""
BODY = {"query": MIXED, "variables": {"code": "XHKG:02800"}}


async def test_a_repeated_request_is_admitted_once_yet_rate_limited_every_time(
    make_client: Any, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[str] = []
    prepare = Door._prepare

    def counting(self: Door, asked: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        prepared.append(query)
        return prepare(self, asked, query, *args, **kwargs)

    monkeypatch.setattr(Door, "_prepare", counting)
    issued = await make_key("two", ["read:reference", "read:flows"], rate=2)
    async with make_client(anonymous_scopes=[]) as (http, _):
        answers = [await http.post("/graphql", json=BODY, headers=bearer(issued.plaintext)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].json() == answers[1].json()
    assert answers[1].json()["data"]["etf"]["code"] == "XHKG:02800"
    assert prepared == [MIXED]  # parsed, measured and validated for the first request only


async def test_a_repeated_body_is_parsed_once_and_answered_alike(
    make_client: Any, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    loads = orjson.loads

    def counting(data: bytes) -> Any:
        parsed.append(data)
        return loads(data)

    monkeypatch.setattr(transport.orjson, "loads", counting)
    issued = await make_key("one", ["read:reference", "read:flows"], rate=3)
    body, shapeless = orjson.dumps(BODY), orjson.dumps({"query": 1})
    json = {"content-type": "application/json"}
    async with make_client(anonymous_scopes=[]) as (http, _):
        anonymous = await http.post("/graphql", content=body, headers=json)
        keyed = [
            await http.post("/graphql", content=body, headers={**json, **bearer(issued.plaintext)})
            for _ in range(4)
        ]
        refused = [await http.post("/graphql", content=shapeless, headers=json) for _ in range(2)]
    assert anonymous.status_code == 401  # the key is checked every time, the body read before or not
    assert [a.status_code for a in keyed] == [200, 200, 200, 429]
    assert keyed[0].json() == keyed[1].json() == keyed[2].json()
    assert [r.status_code for r in refused] == [400, 400] and refused[0].json() == refused[1].json()
    assert parsed.count(body) == 1 and parsed.count(shapeless) == 1


async def test_keys_of_other_scopes_do_not_share_an_admission(make_client: Any, make_key: Any) -> None:
    wide = await make_key("wide", ["read:reference", "read:flows"])
    narrow = await make_key("narrow", ["read:reference"])
    async with make_client(anonymous_scopes=[]) as (http, _):
        first = (await http.post("/graphql", json=BODY, headers=bearer(wide.plaintext))).json()
        refused = (await http.post("/graphql", json=BODY, headers=bearer(narrow.plaintext))).json()
        again = (await http.post("/graphql", json=BODY, headers=bearer(wide.plaintext))).json()
    assert "errors" not in first and first == again
    assert len(first["data"]["connectFlows"]) == 2
    assert refused["data"]["connectFlows"] is None
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"FORBIDDEN"}


async def test_a_key_revoked_after_its_request_was_admitted_is_refused(
    make_client: Any, make_key: Any, db: Any
) -> None:
    from service.auth import service

    issued = await make_key("gone", ["read:reference", "read:flows"])
    async with make_client(anonymous_scopes=[]) as (http, app):
        ok = await http.post("/graphql", json=BODY, headers=bearer(issued.plaintext))
        await service.revoke_key(db, "gone")
        endpoint_of(app).access.keys.clear()  # what the revocation's announcement does (LISTEN)
        refused = await http.post("/graphql", json=BODY, headers=bearer(issued.plaintext))
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_statements_are_bound_once_a_day_per_request(
    make_client: Any, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bound: list[int] = []
    bind = Runner.bind

    def counting(self: Runner, *args: Any) -> Any:
        bound.append(1)
        return bind(self, *args)

    monkeypatch.setattr(Runner, "bind", counting)
    issued = await make_key("days", ["read:reference", "read:flows"])
    other = {"query": MIXED, "variables": {"code": "XHKG:03033"}}
    async with make_client(anonymous_scopes=[]) as (http, _):
        ask = [BODY, BODY, other, BODY]
        answers = [
            (await http.post("/graphql", json=b, headers=bearer(issued.plaintext))).json() for b in ask
        ]
        assert len(bound) == 2  # BODY once, other once
        tomorrow = execution._Day.date.fromordinal(execution._Day.date.toordinal() + 1)
        monkeypatch.setattr(execution, "hong_kong_today", lambda: tomorrow)
        monkeypatch.setattr(execution._Day, "until", 0.0)
        await http.post("/graphql", json=BODY, headers=bearer(issued.plaintext))
    assert len(bound) == 3  # a new day binds again (``asOf`` defaults to today)
    assert answers[0] == answers[1] == answers[3]
    assert answers[2]["data"]["etf"]["code"] == "XHKG:03033"
