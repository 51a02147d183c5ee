"""FX as answers: the currencies a toggle offers and a pair's daily rates with their source, equal to the
rates the money rule converts at (expected values read from fx_rates and computed here)."""

from datetime import date
from decimal import Decimal
from typing import Any

FX = """
query Fx($base: Currency!, $quote: Currency!, $from: Date!, $to: Date!) {
  fxRates(base: $base, quote: $quote, from: $from, to: $to) {
    base quote from to crossedVia ratesFrom ratesTo sources
    rates { day rate rateDate publishedRate source }
  }
}"""

CURRENCIES = """
query ($asOf: Date) { currencies(asOf: $asOf) { code name hkdRate rateDate ratesFrom ratesTo sources } }"""


async def _into_hkd(conn: Any, ccy: str, day: str) -> Decimal:
    rate: Decimal = await conn.fetchval(
        "SELECT rate FROM fx_rates WHERE base_currency = $1 AND quote_currency = 'HKD' AND day = $2",
        ccy,
        date.fromisoformat(day),
    )
    return rate


async def test_currencies_for_a_toggle(gql: Any, conn: Any) -> None:
    usd = await _into_hkd(conn, "USD", "2026-11-20")

    body = await gql(CURRENCIES, {"asOf": "2026-11-30"})

    currencies = body["data"]["currencies"]
    assert [(c["code"], c["name"]) for c in currencies] == [
        ("HKD", "Hong Kong dollar"),
        ("CNY", "Renminbi"),
        ("USD", "US dollar"),
        ("KRW", "Korean won"),
    ]
    assert currencies[0] == {
        "code": "HKD",
        "name": "Hong Kong dollar",
        "hkdRate": "1",
        "rateDate": None,
        "ratesFrom": None,
        "ratesTo": None,
        "sources": [],
    }
    # the latest rate on or before a Monday after the figures end: Friday 20 November's
    assert (Decimal(currencies[2]["hkdRate"]), currencies[2]["rateDate"]) == (usd, "2026-11-20")
    assert {(c["ratesFrom"], c["ratesTo"]) for c in currencies[1:]} == {("2024-01-02", "2026-11-20")}
    assert {tuple(c["sources"]) for c in currencies[1:]} == {("illustrative",)}


async def test_a_stored_pair_is_the_stored_rate(gql: Any, conn: Any) -> None:
    expected = [await _into_hkd(conn, "USD", day) for day in ("2026-11-19", "2026-11-20")]

    body = await gql(FX, {"base": "USD", "quote": "HKD", "from": "2026-11-19", "to": "2026-11-22"})

    answer = body["data"]["fxRates"]
    assert [(r["day"], Decimal(r["rate"]), r["rateDate"]) for r in answer["rates"]] == [
        ("2026-11-19", expected[0], "2026-11-19"),
        ("2026-11-20", expected[1], "2026-11-20"),
    ]  # the weekend has no rate of its own, and none is made up
    assert answer["crossedVia"] is None
    assert [r["publishedRate"] for r in answer["rates"]] == [r["rate"] for r in answer["rates"]]
    assert (answer["ratesTo"], answer["sources"]) == ("2026-11-20", ["illustrative"])


async def test_inverse_and_cross_rates_are_the_ones_conversions_apply(gql: Any, conn: Any) -> None:
    usd, cny = await _into_hkd(conn, "USD", "2026-11-20"), await _into_hkd(conn, "CNY", "2026-11-20")
    published = await conn.fetchval(
        "SELECT rate FROM fx_rates WHERE base_currency = 'USD' AND quote_currency = 'CNY' AND day = '2026-11-20'"
    )

    inverse = (await gql(FX, {"base": "HKD", "quote": "USD", "from": "2026-11-20", "to": "2026-11-20"}))[
        "data"
    ]
    cross = (await gql(FX, {"base": "USD", "quote": "CNY", "from": "2026-11-20", "to": "2026-11-20"}))["data"]
    converted = await conn.fetchval("SELECT rate FROM money_convert(1, 'USD', 'CNY', '2026-11-20')")

    assert Decimal(inverse["fxRates"]["rates"][0]["rate"]) == round(1 / usd, 10)
    line = cross["fxRates"]["rates"][0]
    assert Decimal(line["rate"]) == round(usd / cny, 10) == converted
    assert Decimal(line["publishedRate"]) == published  # USD/CNY as published, beside the applied rate
    assert (cross["fxRates"]["crossedVia"], line["source"]) == ("HKD", "illustrative")


async def test_past_the_loaded_rates_nothing_is_listed(gql: Any) -> None:
    body = await gql(FX, {"base": "KRW", "quote": "HKD", "from": "2026-11-21", "to": "2026-12-31"})

    assert body["data"]["fxRates"]["rates"] == []
    assert body["data"]["fxRates"]["ratesTo"] == "2026-11-20"


async def test_a_pair_of_one_currency_is_refused(gql: Any) -> None:
    body = await gql(FX, {"base": "USD", "quote": "USD", "from": "2026-11-20", "to": "2026-11-20"})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "quote"
