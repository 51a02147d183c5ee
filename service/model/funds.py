"""ETFs: identity, issuer, tracked index, counters, Connect eligibility, daily statistics, AUM history and
the latest figures; the `etf` lookup and the `etfs` list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.codes import parse_code
from service.model.common import (
    ACTIVE_ON,
    BOOLEAN,
    BY_ID,
    DATE,
    DECIMAL,
    ELIGIBILITY_ARGS,
    ELIGIBILITY_ORDER,
    ELIGIBILITY_PERIOD,
    FUND_LIST_ARGS,
    FUND_ORDER,
    STRING,
    as_of,
    from_arg,
    like_pattern,
    manager_on,
    to_arg,
    window,
)
from service.model.declare import (
    Arg,
    Column,
    Context,
    Entity,
    NodeKey,
    OrderKey,
    Relation,
    Root,
    RootKind,
    Where,
)
from service.model.enums import (
    CURRENCY,
    INTERVAL,
    INVESTMENT_FOCUS,
    REPLICATION,
    REPORT_CURRENCY,
)

# The AUM on the last trading day of each period, converted at that day's rate (`currency` null: native)
# by the money rule (``money_at_rate`` at ``fx_rate_rows``' rate, as ``money_convert``). The interval picks
# the rows (``_aum_points``), so that each statement's plan holds only its own.
AUM_HISTORY = """(SELECT p.etf_id, p.period_start, p.trading_day, p.currency AS native_currency,
        p.aum AS native_aum, coalesce({currency}, p.currency) AS currency,
        money_at_rate(p.aum, p.rate) AS aum, p.rate AS fx_rate, p.rate_day AS fx_rate_date
    FROM ({aum_points}) p)"""

# Days and weeks: the last of the fund's daily rows per period, each looking its rate up.
AUM_POINTS_BY_DAY = """SELECT d.*, fx.rate, fx.rate_day
    FROM (SELECT DISTINCT ON (date_trunc({interval}, s.trading_day))
                 s.etf_id, date_trunc({interval}, s.trading_day)::date AS period_start,
                 s.trading_day, s.currency, s.aum
          FROM etf_daily_stats s
          WHERE s.etf_id = {p}.id
            AND ({from}::date IS NULL OR s.trading_day >= {from})
            AND ({to}::date IS NULL OR s.trading_day <= {to})
          ORDER BY date_trunc({interval}, s.trading_day), s.trading_day DESC) d
    LEFT JOIN LATERAL fx_rate_rows(d.currency, coalesce({currency}::char(3), d.currency), d.trading_day) fx
        ON true"""

# Months, quarters and years: the last of the fund's month ends (``etf_month_ends``, migration 0021, which
# hold each reporting currency's rate) before the month of the window's last day with figures (``last``:
# the month end may lie after `to`), then that day itself with its rate looked up. 8 years of months are
# ~100 rows and one rate lookup instead of ~2,000 rows and ~100 lookups (ADR 0018).
AUM_POINTS_BY_MONTH = """SELECT DISTINCT ON (date_trunc({interval}, m.month))
           m.etf_id, date_trunc({interval}, m.month)::date AS period_start, m.trading_day, m.currency, m.aum,
           m.rate, m.rate_day
    FROM (SELECT x.etf_id, x.trading_day, x.currency, x.aum
          FROM etf_daily_stats x
          WHERE x.etf_id = {p}.id
            AND ({from}::date IS NULL OR x.trading_day >= {from})
            AND ({to}::date IS NULL OR x.trading_day <= {to})
          ORDER BY x.trading_day DESC LIMIT 1) last,
         LATERAL (SELECT e.etf_id, e.month, e.trading_day, e.currency, e.aum,
                         CASE WHEN {currency}::char(3) IS NULL THEN 1::numeric
                              WHEN {currency} = 'HKD' THEN e.hkd_rate
                              WHEN {currency} = 'CNY' THEN e.cny_rate
                              WHEN {currency} = 'USD' THEN e.usd_rate
                              WHEN {currency} = 'KRW' THEN e.krw_rate END AS rate,
                         CASE WHEN {currency}::char(3) IS NULL THEN e.trading_day
                              WHEN {currency} = 'HKD' THEN e.hkd_rate_day
                              WHEN {currency} = 'CNY' THEN e.cny_rate_day
                              WHEN {currency} = 'USD' THEN e.usd_rate_day
                              WHEN {currency} = 'KRW' THEN e.krw_rate_day END AS rate_day
                  FROM etf_month_ends e
                  WHERE e.etf_id = last.etf_id AND e.month < date_trunc('month', last.trading_day)
                    AND ({from}::date IS NULL OR e.trading_day >= {from})
                  UNION ALL
                  SELECT last.etf_id, date_trunc('month', last.trading_day)::date, last.trading_day,
                         last.currency, last.aum, fx.rate, fx.rate_day
                  FROM (SELECT) one
                  LEFT JOIN LATERAL fx_rate_rows(last.currency, coalesce({currency}::char(3), last.currency),
                                                 last.trading_day) fx ON true) m
    ORDER BY date_trunc({interval}, m.month), m.trading_day DESC"""


def _aum_points(shape: Mapping[str, Any]) -> Mapping[str, str]:
    by_day = INTERVAL.label(shape["interval"]) in ("day", "week")
    return {"aum_points": AUM_POINTS_BY_DAY if by_day else AUM_POINTS_BY_MONTH}


# The fund's latest daily row on or before `asOf`, its amounts converted at that day's rate by the money
# rule (``money_convert``, ``money_at_rate``: to the cent; the NAV per unit to 6 places).
LATEST = """(SELECT s.etf_id, s.trading_day, s.currency AS native_currency,
        coalesce({currency}, s.currency) AS currency, s.nav_per_unit AS native_nav_per_unit,
        s.aum AS native_aum, s.net_creation_value AS native_net_creation_value, s.net_creation_units,
        s.shares_outstanding, round(s.nav_per_unit * fx.rate, 6) AS nav_per_unit,
        fx.value AS aum, money_at_rate(s.net_creation_value, fx.rate) AS net_creation_value,
        fx.rate AS fx_rate, fx.rate_day AS fx_rate_date
    FROM (SELECT x.* FROM etf_daily_stats x WHERE x.etf_id = {p}.id AND x.trading_day <= {asOf}
          ORDER BY x.trading_day DESC LIMIT 1) s
    CROSS JOIN LATERAL money_convert(s.aum, s.currency, {currency}::char(3), s.trading_day) fx)"""

# A converted amount's own currency and AUM, and the rate applied (AUM points, latest figures).
CONVERSION = (
    Column("nativeCurrency", "{t}.native_currency", STRING, "The fund's own currency."),
    Column("nativeAum", "{t}.native_aum", DECIMAL, "AUM in the fund's own currency."),
    Column(
        "fxRate",
        "{t}.fx_rate",
        DECIMAL,
        "Units of `currency` per unit of `nativeCurrency` applied.",
        nullable=True,
    ),
    Column(
        "fxRateDate",
        "{t}.fx_rate_date",
        DATE,
        "Date of the rate applied: the trading day, or the latest earlier day with a rate.",
        nullable=True,
    ),
)

ETF = Entity(
    "Etf",
    "An exchange-traded fund, with its issuer, index, counters and daily data.",
    source="etfs",
    key=BY_ID,
    node=NodeKey(
        sql="{t}.mic || ':' || {t}.code",
        pattern=r"([A-Z0-9]{4}):([0-9A-Z]+)",
        lookup="{t}.mic = {k1} AND {t}.code = {k2}",
        example="Etf:XHKG:03033",
    ),
    fields=(
        Column("code", "{t}.mic || ':' || {t}.code", STRING, "Identity `MIC:code`, e.g. `XHKG:03033`."),
        Column("mic", "{t}.mic", STRING, "Market of the primary listing."),
        Column("localCode", "{t}.code", STRING, "Code on that market."),
        Column("isin", "{t}.isin", STRING, "ISIN, where known.", nullable=True),
        Column("name", "{t}.name_en", STRING, "English name."),
        Column("nameZh", "{t}.name_zh", STRING, "Chinese name.", nullable=True),
        Column("listingDate", "{t}.listing_date", DATE, "First trading day."),
        Column("delistingDate", "{t}.delisting_date", DATE, "Delisting date, if delisted.", nullable=True),
        Column("baseCurrency", "{t}.base_currency", STRING, "Currency of the NAV."),
        Column(
            "domicile", "{t}.domicile", STRING, "Country of the fund's domicile (ISO 3166).", nullable=True
        ),
        Column(
            "investmentFocus",
            "{t}.investment_focus",
            INVESTMENT_FOCUS,
            "What the fund invests in, as ETF Connect's eligibility criteria read it; null when unknown.",
            nullable=True,
        ),
        Column("replication", "{t}.replication", REPLICATION, "Physical or synthetic."),
        Column(
            "ongoingChargesPct",
            "{t}.ongoing_charges_pct",
            DECIMAL,
            "Ongoing charges, % a year.",
            nullable=True,
        ),
        Column("isLeveragedInverse", "{t}.is_leveraged_inverse", BOOLEAN, "A leveraged or inverse product."),
        Column(
            "leverageFactor",
            "{t}.leverage_factor",
            DECIMAL,
            "Daily leverage (2 = 2x long, -2 = 2x inverse); null for plain funds.",
            nullable=True,
        ),
        Relation(
            "issuer",
            "Manager",
            "The fund's manager on `asOf` (default: the `asOf` of the fund list this fund is in, else "
            "today); before the listing, the first manager (`managers` lists the history).",
            join="{c}.id = " + manager_on("{p}", "{asOf}"),
            args=(as_of("The day whose manager to give (default today, or the fund list's `asOf`)."),),
            inherit=("asOf",),
            sort=True,
        ),
        Relation(
            "managers",
            "ManagerPeriod",
            "Every manager the fund has had, with the period each ran it, oldest first.",
            join="{c}.etf_id = {p}.id",
            many=True,
            order=(OrderKey("{t}.effective_from", type="date"),),
        ),
        Relation(
            "trackedIndex",
            "Index",
            "The index the fund tracks, if any.",
            join="{c}.id = {p}.index_id",
            nullable=True,
            sort=True,
        ),
        Relation(
            "counters",
            "TradingCounter",
            "Trading counters, primary first.",
            join="{c}.etf_id = {p}.id",
            many=True,
            order=(OrderKey("{t}.is_primary", descending=True, type="boolean"), OrderKey("{t}.code")),
        ),
        Relation(
            "eligibility",
            "ConnectEligibility",
            "Connect eligibility periods in force on `asOf`, or the whole history when `asOf` is omitted.",
            join="{c}.etf_id = {p}.id",
            many=True,
            args=ELIGIBILITY_ARGS,
            order=ELIGIBILITY_ORDER,
        ),
        Relation(
            "dailyStats",
            "EtfDailyStat",
            "Daily statistics in [from, to], oldest first (`last: N` keeps the latest N).",
            join="{c}.etf_id = {p}.id",
            many=True,
            scope=READ_FLOWS,
            args=(
                from_arg(when="{c}.trading_day >= {from}"),
                to_arg(when="{c}.trading_day <= {to}"),
            ),
            prepare=window,
            filter=False,
        ),
        Relation(
            "aumHistory",
            "AumPoint",
            "AUM at the end of each period, converted at each day's FX rate (`currency: null` keeps the "
            "fund's own currency).",
            source=AUM_HISTORY,
            many=True,
            scope=READ_FLOWS,
            fragments=_aum_points,
            args=(
                Arg("interval", INTERVAL, "Period length.", required=True, default="MONTH", shape=True),
                Arg("currency", CURRENCY, "Report in this currency; null: the fund's own.", default="HKD"),
                from_arg(),
                to_arg(),
            ),
            prepare=window,
            filter=False,
        ),
        Relation(
            "latest",
            "EtfLatest",
            "The latest daily figures on or before `asOf`, amounts in `currency` (both default to the "
            "arguments of the fund list this fund is in, else today and HKD).",
            source=LATEST,
            nullable=True,
            scope=READ_FLOWS,
            args=(
                as_of("Day of the figures: the latest trading day on or before it (default today)."),
                Arg(
                    "currency",
                    REPORT_CURRENCY,
                    "Report amounts in this currency (default HKD).",
                    fallback="HKD",
                ),
            ),
            inherit=("asOf", "currency"),
            sort=True,
        ),
    ),
    wheres=(
        Where(
            "index",
            STRING,
            "Tracked index code, e.g. `HSI` (shorthand for `trackedIndex: {code: {eq: ...}}`).",
            "EXISTS (SELECT 1 FROM indices i WHERE i.id = {t}.index_id AND i.code = {value})",
        ),
        Where(
            "theme",
            STRING,
            "A theme of the tracked index, e.g. `semiconductor`.",
            "EXISTS (SELECT 1 FROM indices i WHERE i.id = {t}.index_id AND i.themes @> ARRAY[{value}])",
        ),
        Where(
            "leveragedInverse",
            BOOLEAN,
            "Only leveraged/inverse products (true) or only plain ones (false).",
            "{t}.is_leveraged_inverse = {value}",
        ),
        Where(
            "listedOn",
            DATE,
            "Only funds listed (and not delisted) on this date.",
            "({t}.listing_date <= {value} AND ({t}.delisting_date IS NULL OR {t}.delisting_date > {value}))",
        ),
        Where(
            "search",
            STRING,
            "Part of the English or Chinese name, or of the code, case-insensitive.",
            "({t}.name_en ILIKE {value} OR {t}.name_zh ILIKE {value} OR {t}.code ILIKE {value})",
            transform=like_pattern,
        ),
    ),
)

TRADING_COUNTER = Entity(
    "TradingCounter",
    "A trading counter of a fund (e.g. 02800 in HKD and 82800 in RMB).",
    source="etf_counters",
    key=BY_ID,
    fields=(
        Column("code", "{t}.mic || ':' || {t}.code", STRING, "`MIC:code` of the counter."),
        Column("mic", "{t}.mic", STRING, "Market of the counter."),
        Column("localCode", "{t}.code", STRING, "Code on that market."),
        Column("currency", "{t}.currency", STRING, "Trading currency of the counter."),
        Column("isPrimary", "{t}.is_primary", BOOLEAN, "The fund's main counter."),
    ),
)

# A period with its fund's code alongside, so that lists order by fund code cheaply.
CONNECT_ELIGIBILITY = Entity(
    "ConnectEligibility",
    "A period during which an ETF is tradable through Connect.",
    source="""(SELECT c.*, e.mic AS etf_mic, e.code AS etf_code
               FROM connect_eligibility c JOIN etfs e ON e.id = c.etf_id)""",
    key=BY_ID,
    fields=(
        *ELIGIBILITY_PERIOD,
        Column("reason", "{t}.reason", STRING, "Why the period began.", nullable=True),
        Relation("etf", "Etf", "The fund.", join="{c}.id = {p}.etf_id", sort=True),
    ),
    wheres=(ACTIVE_ON,),
)

MANAGER_PERIOD = Entity(
    "ManagerPeriod",
    "A period during which a manager ran a fund (from the fund's manager changes).",
    source="etf_manager_periods",
    key=(OrderKey("{t}.etf_id", type="bigint"), OrderKey("{t}.effective_from", type="date")),
    fields=(
        Column("effectiveFrom", "{t}.effective_from", DATE, "First day (the listing date for the first)."),
        Column(
            "effectiveTo",
            "{t}.effective_to",
            DATE,
            "Day the next manager took over (exclusive); null for the current manager.",
            nullable=True,
        ),
        Column("reason", "{t}.reason", STRING, "The published change that began the period.", nullable=True),
        Relation("manager", "Manager", "The manager.", join="{c}.id = {p}.manager_id", sort=True),
        Relation("etf", "Etf", "The fund.", join="{c}.id = {p}.etf_id", sort=True),
    ),
    wheres=(
        Where(
            "activeOn",
            DATE,
            "Only the period in force on this date.",
            "{t}.effective_from <= {value} AND ({t}.effective_to IS NULL OR {t}.effective_to > {value})",
        ),
    ),
)

ETF_DAILY_STAT = Entity(
    "EtfDailyStat",
    "One trading day of an ETF: NAV, price, units, AUM and creations.",
    source="etf_daily_stats",
    key=(OrderKey("{t}.trading_day", type="date"), OrderKey("{t}.etf_id", type="bigint")),
    series=True,
    fields=(
        Column("tradingDay", "{t}.trading_day", DATE, "Exchange-local trading date."),
        Column("currency", "{t}.currency", STRING, "Currency of every amount on this row (ISO 4217)."),
        Column("navPerUnit", "{t}.nav_per_unit", DECIMAL, "Net asset value per unit."),
        Column(
            "closePrice", "{t}.close_price", DECIMAL, "Closing price of the primary counter.", nullable=True
        ),
        Column("sharesOutstanding", "{t}.shares_outstanding", DECIMAL, "Units in issue at the close."),
        Column("aum", "{t}.aum", DECIMAL, "Assets under management: NAV per unit x units."),
        Column(
            "netCreationUnits",
            "{t}.net_creation_units",
            DECIMAL,
            "Units created minus units redeemed on the day.",
        ),
        Column(
            "netCreationValue", "{t}.net_creation_value", DECIMAL, "Net creations valued at the day's NAV."
        ),
        Column("turnover", "{t}.turnover", DECIMAL, "Value traded on the exchange.", nullable=True),
        Column(
            "southboundHoldingUnits",
            "{t}.southbound_holding_units",
            DECIMAL,
            "Units held by mainland investors through Southbound Connect, where published.",
            nullable=True,
        ),
    ),
)

AUM_POINT = Entity(
    "AumPoint",
    "AUM at the end of one period, in the reporting currency.",
    source="",  # only through Etf.aumHistory
    key=(OrderKey("{t}.period_start", type="date"),),
    series=True,
    fields=(
        Column("periodStart", "{t}.period_start", DATE, "First calendar day of the period."),
        Column("tradingDay", "{t}.trading_day", DATE, "Last trading day of the period with data."),
        Column("currency", "{t}.currency", STRING, "Currency of `aum`."),
        Column(
            "aum",
            "{t}.aum",
            DECIMAL,
            "AUM converted at the rate of `fxRateDate`; null when no rate is known.",
            nullable=True,
        ),
        *CONVERSION,
    ),
)

ETF_LATEST = Entity(
    "EtfLatest",
    "A fund's figures on its latest trading day on or before a date, amounts in a reporting currency "
    "(each converted at that day's rate).",
    source="",  # only through Etf.latest
    key=(OrderKey("{t}.trading_day", type="date"),),
    fields=(
        Column("tradingDay", "{t}.trading_day", DATE, "The trading day of the figures."),
        Column("currency", "{t}.currency", STRING, "Currency of the amounts."),
        Column(
            "navPerUnit",
            "{t}.nav_per_unit",
            DECIMAL,
            "Net asset value per unit, converted; null when no rate is known.",
            nullable=True,
        ),
        Column(
            "aum",
            "{t}.aum",
            DECIMAL,
            "Assets under management, converted; null without a rate.",
            nullable=True,
        ),
        Column(
            "netCreationValue",
            "{t}.net_creation_value",
            DECIMAL,
            "Net creations of the day, converted; null without a rate.",
            nullable=True,
        ),
        Column(
            "netCreationUnits", "{t}.net_creation_units", DECIMAL, "Units created minus redeemed on the day."
        ),
        Column("sharesOutstanding", "{t}.shares_outstanding", DECIMAL, "Units in issue at the close."),
        *CONVERSION,
    ),
)


def _code(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    mic, code = parse_code(args["code"])
    return {"mic": mic, "code": code}


ROOTS = (
    Root(
        "etf",
        "One ETF by `MIC:code` of the fund or of any of its counters (delisted funds too).",
        RootKind.ONE,
        target="Etf",
        where="""{c}.id = coalesce(
            (SELECT e.id FROM etfs e WHERE e.mic = {mic} AND e.code = {code}),
            (SELECT x.etf_id FROM etf_counters x WHERE x.mic = {mic} AND x.code = {code}))""",
        args=(Arg("code", STRING, "e.g. `XHKG:03033` or `XHKG:82800`.", required=True),),
        prepare=_code,
        params={"mic": "text"},
        scope=READ_REFERENCE,
        not_found="No ETF with code {code!r}",
        not_found_argument="code",
    ),
    Root(
        "etfs",
        "ETFs listed on `asOf` (default today), filtered and ordered, as a Relay connection.",
        RootKind.CONNECTION,
        target="Etf",
        args=FUND_LIST_ARGS,
        order=FUND_ORDER,
        scope=READ_REFERENCE,
    ),
)

ENTITIES = (ETF, TRADING_COUNTER, CONNECT_ELIGIBILITY, MANAGER_PERIOD, ETF_DAILY_STAT, AUM_POINT, ETF_LATEST)
