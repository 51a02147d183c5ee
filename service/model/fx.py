"""FX as answers: the currencies amounts can be reported in, and a pair's daily rates with their source.

The rate of a pair on a day is the one every conversion applies (``fx_rate_rows``, migration 0002: each
currency's latest rate into HKD on or before the day, crossed through HKD), so a currency toggle shows
what the amounts it switches were converted at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_range
from service.auth.scopes import READ_REFERENCE
from service.errors import BadInput
from service.model.common import DATE, DECIMAL, STRING
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Relation, Root, RootKind
from service.model.enums import CURRENCY

MAX_RANGE_DAYS = 3_660

# The reporting currencies' names, in the order a toggle lists them (HKD first: the default).
CURRENCY_NAMES = {
    "HKD": "Hong Kong dollar",
    "CNY": "Renminbi",
    "USD": "US dollar",
    "KRW": "Korean won",
}
assert set(CURRENCY_NAMES) == {v.name for v in CURRENCY.values}, "a name for every reporting currency"

# One currency's rates into HKD: the pairs conversions cross through.
_INTO_HKD = "r.quote_currency = 'HKD' AND r.base_currency = {ccy}"

CURRENCY_INFO = Entity(
    "CurrencyInfo",
    "A currency amounts can be reported in, with its latest rate into HKD and the range of its rates.",
    source="",  # only through currencies
    key=(OrderKey("{t}.ord", type="int"),),
    fields=(
        Column("code", "{t}.code", CURRENCY, "ISO 4217 code, as the `currency` arguments take it."),
        Column("name", "{t}.name", STRING, "English name."),
        Column(
            "hkdRate",
            "{t}.hkd_rate",
            DECIMAL,
            "HKD per unit on `asOf`: the latest rate on or before it (1 for HKD; null: none loaded).",
            nullable=True,
        ),
        Column(
            "rateDate",
            "{t}.rate_day",
            DATE,
            "Date of `hkdRate` (null for HKD and when none is loaded).",
            nullable=True,
        ),
        Column("ratesFrom", "{t}.rates_from", DATE, "First day with a rate into HKD.", nullable=True),
        Column(
            "ratesTo",
            "{t}.rates_to",
            DATE,
            "Last day with a rate into HKD: later days convert at it.",
            nullable=True,
        ),
        Column("sources", "{t}.sources", STRING, "Where its rates come from.", many=True),
    ),
)


def _currencies_source() -> str:
    values = ", ".join(
        f"('{code}', '{name}', {ord_})" for ord_, (code, name) in enumerate(CURRENCY_NAMES.items(), start=1)
    )
    into_hkd = _INTO_HKD.replace("{ccy}", "v.code")
    return f"""(SELECT v.code, v.name, v.ord,
               CASE WHEN v.code = 'HKD' THEN 1::numeric ELSE l.rate END AS hkd_rate, l.day AS rate_day,
               s.rates_from, s.rates_to, coalesce(s.sources, ARRAY[]::text[]) AS sources
        FROM (VALUES {values}) v (code, name, ord)
        LEFT JOIN LATERAL (SELECT r.rate, r.day FROM fx_rates r WHERE {into_hkd} AND r.day <= {{asOf}}
                           ORDER BY r.day DESC LIMIT 1) l ON true
        LEFT JOIN LATERAL (SELECT min(r.day) AS rates_from, max(r.day) AS rates_to,
                                  array_agg(DISTINCT r.source ORDER BY r.source) AS sources
                           FROM fx_rates r WHERE {into_hkd}) s ON true)"""


FX_RATE = Entity(
    "FxRate",
    "A pair's rate on a day a rate was published for it (for either currency, crossing through HKD).",
    source="",  # only through fxRates
    key=(OrderKey("{t}.day", type="date"),),
    series=True,
    fields=(
        Column("day", "{t}.day", DATE, "The day."),
        Column(
            "rate",
            "{t}.rate",
            DECIMAL,
            "Units of `quote` per unit of `base` that conversions apply on this day (null: no rate yet).",
            nullable=True,
        ),
        Column(
            "rateDate",
            "{t}.rate_day",
            DATE,
            "Date of the oldest published rate behind `rate` (earlier than `day` when a currency had none "
            "that day).",
            nullable=True,
        ),
        Column(
            "publishedRate",
            "{t}.published_rate",
            DECIMAL,
            "The rate published for exactly this pair on this day, where the source has one (e.g. USD/CNY); "
            "conversions use `rate`.",
            nullable=True,
        ),
        Column("source", "{t}.source", STRING, "Where the rates behind `rate` come from.", nullable=True),
    ),
)

FX_RATES = Entity(
    "FxRates",
    "A currency pair's daily rates over a range, with their sources.",
    source="",  # only through fxRates
    key=(OrderKey("{t}.from_day", type="date"),),
    fields=(
        Column("base", "{t}.base", CURRENCY, "The currency priced."),
        Column("quote", "{t}.quote", CURRENCY, "The currency it is priced in."),
        Column("from", "{t}.from_day", DATE, "First day asked about."),
        Column("to", "{t}.to_day", DATE, "Last day asked about."),
        Column(
            "crossedVia",
            "CASE WHEN {t}.base <> 'HKD' AND {t}.quote <> 'HKD' THEN 'HKD' END",
            STRING,
            "`HKD` when the rate is crossed through HKD (neither currency is HKD); null otherwise.",
            nullable=True,
        ),
        Column(
            "ratesFrom",
            "{t}.rates_from",
            DATE,
            "First day on which every currency of the pair has a rate (null: never).",
            nullable=True,
        ),
        Column(
            "ratesTo",
            "{t}.rates_to",
            DATE,
            "Last day a rate was published for the pair: nothing is listed after it, and conversions of "
            "later days use the latest earlier rate.",
            nullable=True,
        ),
        Column("sources", "{t}.sources", STRING, "Where the rates in the range come from.", many=True),
        Relation(
            "rates",
            "FxRate",
            "The days of the range on which a rate was published, oldest first.",
            source="jsonb_to_recordset({p}.rates) AS {c} (day date, rate numeric, rate_day date, "
            "published_rate numeric, source text)",
            many=True,
        ),
    ),
)

# A leg: the latest rate into HKD of one currency of the pair on or before a day ({day}).
_LEG_SOURCE = """(SELECT r.source FROM fx_rates r WHERE {into_hkd} AND r.day <= {day}
                  ORDER BY r.day DESC LIMIT 1)"""


def _leg(ccy: str) -> str:
    return _LEG_SOURCE.replace("{into_hkd}", _INTO_HKD.replace("{ccy}", ccy)).replace("{day}", "d.day")


FX_RATES_SOURCE = (
    """(WITH legs AS (SELECT c.ccy FROM (VALUES ({base}::text), ({quote}::text)) c (ccy)
                  WHERE c.ccy <> 'HKD'),
        days AS (SELECT DISTINCT r.day FROM fx_rates r JOIN legs g ON r.base_currency = g.ccy
                 WHERE r.quote_currency = 'HKD' AND r.day BETWEEN {from} AND {to}),
        rates AS MATERIALIZED (
            SELECT d.day, fx.rate, fx.rate_day,
                   (SELECT p.rate FROM fx_rates p
                    WHERE p.base_currency = {base} AND p.quote_currency = {quote} AND p.day = d.day)
                       AS published_rate,
                   (SELECT string_agg(DISTINCT l.source, '; ') FROM ("""
    + _leg("{base}")
    + " UNION ALL "
    + _leg("{quote}")
    + """) l) AS source
            FROM days d LEFT JOIN LATERAL fx_rate_rows({base}::char(3), {quote}::char(3), d.day) fx ON true),
        bounds AS (SELECT max(b.lo) AS lo, min(b.hi) AS hi, max(b.hi) AS last
                   FROM legs g CROSS JOIN LATERAL (
                       SELECT min(r.day) AS lo, max(r.day) AS hi FROM fx_rates r
                       WHERE r.quote_currency = 'HKD' AND r.base_currency = g.ccy) b)
        SELECT {base}::text AS base, {quote}::text AS quote, {from}::date AS from_day, {to}::date AS to_day,
               b.lo AS rates_from, b.last AS rates_to,
               (SELECT coalesce(array_agg(DISTINCT r.source ORDER BY r.source), ARRAY[]::text[])
                FROM fx_rates r JOIN legs g ON r.base_currency = g.ccy
                WHERE r.quote_currency = 'HKD' AND r.day BETWEEN {from} AND {to}) AS sources,
               (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.day), '[]'::jsonb) FROM rates x) AS rates
        FROM bounds b)"""
)


def _fx_rates(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    if args["base"] == args["quote"]:
        raise BadInput(f"`quote` must differ from `base` (both {args['base']})", argument="quote")
    start, end = args["from"], args["to"]
    check_range(start, end)
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadInput(
            f"The range is at most {MAX_RANGE_DAYS} days (got {(end - start).days + 1})", argument="to"
        )
    return {}


ROOTS = (
    Root(
        "currencies",
        "The currencies amounts can be reported in (HKD first, the default), with their latest rate into "
        "HKD on `asOf` and the range of their rates: what a currency toggle needs.",
        RootKind.LIST,
        target="CurrencyInfo",
        source=_currencies_source(),
        args=(Arg("asOf", DATE, "Day of `hkdRate` (default today in Hong Kong).", today=True),),
        order=(OrderKey("{t}.ord", type="int"),),
        scope=READ_REFERENCE,
    ),
    Root(
        "fxRates",
        "A currency pair's rate on each day of [from, to] with a published rate, as conversions apply it "
        "(crossed through HKD), with its source.",
        RootKind.ONE,
        target="FxRates",
        source=FX_RATES_SOURCE,
        args=(
            Arg("base", CURRENCY, "The currency priced, e.g. USD.", required=True),
            Arg("quote", CURRENCY, "The currency it is priced in.", required=True, default="HKD"),
            Arg("from", DATE, "First day, inclusive.", required=True),
            Arg("to", DATE, f"Last day, inclusive (at most {MAX_RANGE_DAYS} days in all).", required=True),
        ),
        prepare=_fx_rates,
        scope=READ_REFERENCE,
    ),
)

ENTITIES = (CURRENCY_INFO, FX_RATE, FX_RATES)
