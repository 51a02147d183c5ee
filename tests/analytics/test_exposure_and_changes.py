"""Look-through exposure (AUM x weight, in a reporting currency), index membership changes in a window
(every event, with its date), and the money rule's functions held equal to ``fx_rate()``."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

LOOK_THROUGH = """
query LookThrough($security: String!, $asOf: Date, $currency: ReportCurrency!) {
  lookThroughExposure(security: $security, asOf: $asOf, currency: $currency) {
    asOf currency etfCount aum exposure security { name }
    fx { fromCurrency toCurrency rate rateDate }
    indices {
      index { code } weightPct etfCount aum exposure
      etfs { etf { code } weightPct aumDay nativeCurrency nativeAum currency aum exposure fx { rate rateDate } }
    }
  }
}"""

CHANGES = """
query Changes($from: Date!, $to: Date!, $index: String, $kinds: [MembershipChangeKind!]) {
  indexMembershipChanges(from: $from, to: $to, index: $index, kinds: $kinds) {
    effectiveDate kind weightBefore weightAfter weightChange security { code } index { code etfs { code } }
  }
}"""


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


async def test_look_through_exposure_of_sk_hynix_in_usd(gql: Any, conn: Any, db: Any) -> None:
    # Given: the funds tracking an index that holds SK Hynix on the day, their AUM and the USD rate.
    rows = await conn.fetch(
        """SELECT i.code AS index_code, e.mic || ':' || e.code AS etf, m.weight_pct, s.aum, s.trading_day
           FROM securities x
           JOIN index_memberships m ON m.security_id = x.id
            AND m.effective_from <= '2026-11-20' AND (m.effective_to IS NULL OR m.effective_to > '2026-11-20')
           JOIN indices i ON i.id = m.index_id
           JOIN etfs e ON e.index_id = i.id
           JOIN etf_daily_stats s ON s.etf_id = e.id AND s.trading_day = '2026-11-20'
           WHERE x.mic = 'XKRX' AND x.local_code = '000660'"""
    )
    usd_hkd = await conn.fetchval(
        "SELECT rate FROM fx_rates WHERE base_currency = 'USD' AND quote_currency = 'HKD' AND day = '2026-11-20'"
    )
    rate = (Decimal(1) / usd_hkd).quantize(Decimal("1E-10"), rounding=ROUND_HALF_UP)

    # When
    body = await gql(LOOK_THROUGH, {"security": "XKRX:000660", "asOf": "2026-11-20", "currency": "USD"})

    # Then
    exposure = body["data"]["lookThroughExposure"]
    assert exposure["security"] == {"name": "SK Hynix"} and exposure["currency"] == "USD"
    lines = {e["etf"]["code"]: (i, e) for i in exposure["indices"] for e in i["etfs"]}
    assert set(lines) == {r["etf"] for r in rows} == {"XHKG:03431", "XHKG:03432", "XHKG:03433", "XHKG:03434"}
    for r in rows:
        index, line = lines[r["etf"]]
        assert index["index"]["code"] == r["index_code"] and Decimal(line["weightPct"]) == r["weight_pct"]
        assert line["aumDay"] == "2026-11-20" and Decimal(line["nativeAum"]) == r["aum"]
        assert Decimal(line["aum"]) == cents(r["aum"] * rate)
        assert Decimal(line["exposure"]) == cents(r["aum"] * rate * r["weight_pct"] / 100)
        assert line["fx"] == {"rate": str(rate), "rateDate": "2026-11-20"}
    for index in exposure["indices"]:
        assert Decimal(index["exposure"]) == sum(Decimal(e["exposure"]) for e in index["etfs"])
    assert Decimal(exposure["exposure"]) == sum(Decimal(i["exposure"]) for i in exposure["indices"])
    assert exposure["etfCount"] == 4
    exposures = [Decimal(i["exposure"]) for i in exposure["indices"]]
    assert exposures == sorted(exposures, reverse=True)
    # one statement for the root field, its indices and funds included
    assert len(db.statements) == 1


async def test_look_through_uses_the_latest_aum_on_or_before_the_date(gql: Any) -> None:
    # 2026-11-22 is a Sunday: the AUM is Friday's, converted at Friday's rate.
    body = await gql(LOOK_THROUGH, {"security": "XKRX:000660", "asOf": "2026-11-22", "currency": "HKD"})
    lines = [e for i in body["data"]["lookThroughExposure"]["indices"] for e in i["etfs"]]
    assert lines and all(e["aumDay"] == "2026-11-20" and e["fx"]["rate"] == "1" for e in lines)


async def test_a_security_held_by_no_index_has_an_empty_look_through(gql: Any, conn: Any) -> None:
    code = await conn.fetchval(
        """SELECT mic || ':' || local_code FROM securities s
           WHERE NOT EXISTS (SELECT FROM index_memberships m WHERE m.security_id = s.id) LIMIT 1"""
    )
    if code is None:  # every demo security is in some index: make one that is not
        await conn.execute(
            "INSERT INTO securities (mic, local_code, name, country, currency) VALUES ('XHKG', '99999', 'Nobody', 'HK', 'HKD')"
        )
        code = "XHKG:99999"
    body = await gql(LOOK_THROUGH, {"security": code, "asOf": "2026-11-20", "currency": "HKD"})
    exposure = body["data"]["lookThroughExposure"]
    assert (exposure["etfCount"], exposure["exposure"], exposure["indices"]) == (0, "0", [])


async def test_membership_changes_are_every_event_in_the_window(gql: Any, conn: Any) -> None:
    # Given: HSI membership on each date, read directly.
    async def weights(day: str) -> dict[str, Decimal]:
        rows = await conn.fetch(
            """SELECT s.mic || ':' || s.local_code AS code, m.weight_pct FROM index_memberships m
               JOIN indices i ON i.id = m.index_id JOIN securities s ON s.id = m.security_id
               WHERE i.code = 'HSI' AND m.effective_from <= $1::date
                 AND (m.effective_to IS NULL OR m.effective_to > $1::date)""",
            __import__("datetime").date.fromisoformat(day),
        )
        return {r["code"]: r["weight_pct"] for r in rows}

    before, after = await weights("2025-06-30"), await weights("2026-11-20")

    # When
    body = await gql(CHANGES, {"from": "2025-07-01", "to": "2026-11-20", "index": "HSI"})

    # Then: the events, replayed in order over the first date's weights, give the second date's
    events = body["data"]["indexMembershipChanges"]
    assert [e["effectiveDate"] for e in events] == sorted(e["effectiveDate"] for e in events)
    replayed = dict(before)
    for event in events:
        code = event["security"]["code"]
        old = replayed.get(code)
        assert (Decimal(event["weightBefore"]) if event["weightBefore"] else None) == old, event
        if event["kind"] == "REMOVED":
            assert event["weightAfter"] is None
            del replayed[code]
        else:
            assert event["kind"] == ("ADDED" if old is None else "REWEIGHTED")
            replayed[code] = Decimal(event["weightAfter"])
        new = Decimal(event["weightAfter"] or 0)
        assert Decimal(event["weightChange"]) == new - (old or Decimal(0))
        assert "2025-07-01" <= event["effectiveDate"] <= "2026-11-20"
    assert replayed == after
    added = {e["security"]["code"]: e for e in events if e["kind"] == "ADDED"}
    assert "XHKG:00981" in added and added["XHKG:00981"]["effectiveDate"] == "2025-12-08"
    assert {e["code"] for e in added["XHKG:00981"]["index"]["etfs"]} >= {"XHKG:02800"}
    assert any(e["security"]["code"] == "XHKG:00003" and e["kind"] == "REMOVED" for e in events)

    only_added = await gql(
        CHANGES, {"from": "2025-06-30", "to": "2026-11-20", "index": "HSI", "kinds": ["ADDED"]}
    )
    assert {c["kind"] for c in only_added["data"]["indexMembershipChanges"]} == {"ADDED"}


async def test_money_convert_applies_fx_rate_and_rounds_to_the_cent(conn: Any) -> None:
    # Every currency pair on a few days, holidays and a weekend included, both ways through HKD.
    rows = await conn.fetch(
        """SELECT k.currency, k.target, k.day, m.value, m.rate, m.rate_day, ref.rate AS ref_rate,
                  ref.rate_day AS ref_day, money_at_rate(123456.789, ref.rate) AS ref_value
           FROM (SELECT c::char(3) AS currency, t::char(3) AS target, d::date AS day
                 FROM unnest(ARRAY['HKD', 'CNY', 'USD', 'KRW']) c,
                      unnest(ARRAY['HKD', 'CNY', 'USD', 'KRW']) t,
                      unnest(ARRAY['2024-01-02', '2024-12-25', '2025-01-29', '2026-11-22', '2023-12-31']) d) k
           CROSS JOIN LATERAL fx_rate(k.currency, k.target, k.day) ref
           CROSS JOIN LATERAL money_convert(123456.789, k.currency, k.target, k.day) m"""
    )
    assert len(rows) == 4 * 4 * 5
    for r in rows:
        assert (r["rate"], r["rate_day"]) == (r["ref_rate"], r["ref_day"]), dict(r)
        expected = None if r["rate"] is None else cents(Decimal("123456.789") * r["rate"])
        assert r["value"] == r["ref_value"] == expected, dict(r)
    # Without a target the amount stays as it is; without a rate there is no value.
    native = await conn.fetchrow("SELECT * FROM money_convert(10.005, 'CNY', NULL, '2025-01-02')")
    assert (native["value"], native["rate"]) == (Decimal("10.01"), Decimal(1))
    missing = await conn.fetchrow("SELECT * FROM money_convert(10, 'CNY', 'USD', '1990-01-02')")
    assert tuple(missing) == (None, None, None)
