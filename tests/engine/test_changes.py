"""Eligibility changes are every event in the window, with its effective date, kind and the status before
and after (issue 12), not a comparison of two snapshots."""

from __future__ import annotations

from typing import Any

CHANGES = """query ($from: Date!, $to: Date!) {
  eligibilityChanges(direction: SOUTHBOUND, from: $from, to: $to) {
    effectiveDate channel kind statusBefore statusAfter etf { code }
  }
}"""


async def test_2025_shows_removals_re_additions_and_moves_to_the_sell_only_list(gql: Any) -> None:
    body = await gql(CHANGES, {"from": "2025-01-01", "to": "2025-12-31"})
    events = {
        (e["etf"]["code"], e["effectiveDate"], e["channel"]): (e["kind"], e["statusBefore"], e["statusAfter"])
        for e in body["data"]["eligibilityChanges"]
    }
    for channel in ("SHANGHAI", "SHENZHEN"):
        # 03110 went on the special (sell-only) list at the 2024-12-09 review, then was removed.
        assert events[("XHKG:03110", "2025-03-10", channel)] == ("REMOVED", "SELL_ONLY", None)
        assert events[("XHKG:03110", "2025-09-08", channel)] == ("ADDED", None, "ELIGIBLE")
        assert events[("XHKG:02837", "2025-06-09", channel)] == ("STATUS_CHANGED", "ELIGIBLE", "SELL_ONLY")
        assert events[("XHKG:02837", "2025-09-08", channel)] == ("STATUS_CHANGED", "SELL_ONLY", "ELIGIBLE")
    dates = [e["effectiveDate"] for e in body["data"]["eligibilityChanges"]]
    assert dates == sorted(dates) and all("2025-01-01" <= d <= "2025-12-31" for d in dates)


async def test_events_replayed_from_one_date_give_the_other(gql: Any, conn: Any) -> None:
    async def on(day: str) -> dict[tuple[str, str], str]:
        rows = await conn.fetch(
            """SELECT e.mic || ':' || e.code AS code, c.channel::text AS channel, c.status::text AS status
               FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id
               WHERE c.direction = 'SOUTHBOUND' AND c.period @> $1::date""",
            __import__("datetime").date.fromisoformat(day),
        )
        return {(r["code"], r["channel"]): r["status"] for r in rows}

    state = await on("2023-12-31")
    body = await gql(CHANGES, {"from": "2024-01-01", "to": "2026-11-20"})
    for event in body["data"]["eligibilityChanges"]:
        key = (event["etf"]["code"], event["channel"])
        assert state.get(key) == event["statusBefore"]
        if event["statusAfter"] is None:
            del state[key]
        else:
            state[key] = event["statusAfter"]
    assert state == await on("2026-11-20")


async def test_a_window_the_wrong_way_round_is_bad_user_input(gql: Any) -> None:
    body = await gql(CHANGES, {"from": "2025-12-31", "to": "2025-01-01"})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "from"}
