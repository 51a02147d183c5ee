"""Stock Connect: daily flows per direction, ETF Connect eligibility on a date, and eligibility events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.arguments import check_positive, check_range
from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.model.common import BOOLEAN, DATE, DECIMAL, INT, STRING, as_of, from_arg, to_arg
from service.model.declare import Arg, Column, Context, Entity, OrderKey, Relation, Root, RootKind
from service.model.enums import (
    CHANGE_KIND,
    CONNECT_CHANNEL,
    CONNECT_DIRECTION,
    ELIGIBILITY_STATUS,
    REPORT_CURRENCY,
)
from service.repositories import flows

MAX_TRADING_DAYS = 10_000

CONNECT_FLOW_DAY = Entity(
    "ConnectFlowDay",
    "HKEX daily Stock Connect statistics for one direction and day (summed over both channels unless a "
    "channel was asked for).",
    source="",  # only through connectFlows
    key=(OrderKey("{t}.trading_day", type="date"),),
    series=True,
    fields=(
        Column("tradingDay", "{t}.trading_day", DATE, "The Connect trading day."),
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "Direction of the flow."),
        Column(
            "channel",
            "{t}.channel",
            CONNECT_CHANNEL,
            "The channel, or null when the figures sum both channels.",
            nullable=True,
        ),
        Column(
            "currency", "{t}.currency", STRING, "Currency of the amounts: HKD southbound, CNY northbound."
        ),
        Column("buyTurnover", "{t}.buy_turnover", DECIMAL, "Value bought.", nullable=True),
        Column("sellTurnover", "{t}.sell_turnover", DECIMAL, "Value sold.", nullable=True),
        Column("totalTurnover", "{t}.total_turnover", DECIMAL, "Value bought plus sold."),
        Column(
            "netBuy",
            "{t}.net_buy",
            DECIMAL,
            "Buy minus sell; null where the split is not published (northbound after 2024-08-19).",
            nullable=True,
        ),
        Column(
            "runningNetBuy",
            "{t}.running_net_buy",
            DECIMAL,
            "Net buying summed from the first day of the requested window to this day; null from the first "
            "day whose net buying is unknown on (`runningUnknownDays` > 0).",
            nullable=True,
        ),
        Column(
            "runningUnknownDays",
            "{t}.running_unknown_days",
            INT,
            "Days from the first day of the window to this one whose net buying is unknown (northbound "
            "after 2024-08-19, when HKEX stopped publishing the buy/sell split).",
        ),
        Column("tradeCount", "{t}.trade_count", INT, "Number of trades.", nullable=True),
        Column("etfTurnover", "{t}.etf_turnover", DECIMAL, "Turnover in ETFs.", nullable=True),
        Column(
            "quotaBalance",
            "{t}.quota_balance",
            DECIMAL,
            "Daily quota left at the close; null when HKEX reports it as available (unlimited).",
            nullable=True,
        ),
        Column(
            "quotaBalanceUnlimited",
            "{t}.quota_balance_unlimited",
            BOOLEAN,
            "HKEX printed its 'quota available' sentinel for this day.",
        ),
        Relation(
            "topStocks",
            "ConnectTopStock",
            "The day's ten most traded stocks of the channel (of each channel, by channel, when the figures "
            "sum both), by rank.",
            join="""{c}.trading_day = {p}.trading_day AND {c}.direction = {p}.direction::connect_direction
                    AND ({p}.channel IS NULL OR {c}.channel = {p}.channel::connect_channel)""",
            many=True,
            order=(OrderKey("{t}.channel", type="connect_channel"), OrderKey("{t}.rank", type="smallint")),
        ),
    ),
)

CONNECT_TOP_STOCK = Entity(
    "ConnectTopStock",
    "One of the ten most traded stocks of a Stock Connect channel and direction on a day (HKEX's daily "
    "statistics), amounts in full units of the channel's currency.",
    source="connect_top_stocks",
    key=(
        OrderKey("{t}.trading_day", type="date"),
        OrderKey("{t}.direction", type="connect_direction"),
        OrderKey("{t}.channel", type="connect_channel"),
        OrderKey("{t}.rank", type="smallint"),
    ),
    series=True,
    fields=(
        Column("tradingDay", "{t}.trading_day", DATE, "The Connect trading day."),
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "Southbound or northbound."),
        Column("channel", "{t}.channel", CONNECT_CHANNEL, "Shanghai or Shenzhen link."),
        Column("rank", "{t}.rank", INT, "1 for the most traded (by total turnover) of the channel that day."),
        Column(
            "currency", "{t}.currency", STRING, "Currency of the amounts: HKD southbound, CNY northbound."
        ),
        Column(
            "buyTurnover", "{t}.buy_turnover", DECIMAL, "Value bought through the channel.", nullable=True
        ),
        Column(
            "sellTurnover", "{t}.sell_turnover", DECIMAL, "Value sold through the channel.", nullable=True
        ),
        Column("totalTurnover", "{t}.total_turnover", DECIMAL, "Value bought plus sold."),
        Column(
            "netBuy",
            "{t}.net_buy",
            DECIMAL,
            "Buy minus sell; null where the split is not published.",
            nullable=True,
        ),
        Relation("security", "Security", "The stock.", join="{c}.id = {p}.security_id", sort=True),
    ),
)

SOUTHBOUND_STOCK_RANK = Entity(
    "SouthboundStockRank",
    "A stock's place in a ranking by southbound net buying (both channels) over a window, from the days "
    "it was in a channel's top ten.",
    source="",  # only through southboundTopStocks
    key=(OrderKey("{t}.rank", type="int"),),
    fields=(
        Column("rank", "{t}.rank", INT, "1 for the largest net buying; ties broken by the stock's code."),
        Column("currency", "{t}.currency", STRING, "Currency of the amounts."),
        Column(
            "netBuy",
            "{t}.net_buy",
            DECIMAL,
            "Net buying over both southbound channels on its top-ten days, each converted at its day's "
            "rate; null when a rate is missing.",
            nullable=True,
        ),
        Column("buyTurnover", "{t}.buy_turnover", DECIMAL, "Value bought, likewise.", nullable=True),
        Column("sellTurnover", "{t}.sell_turnover", DECIMAL, "Value sold, likewise.", nullable=True),
        Column("totalTurnover", "{t}.total_turnover", DECIMAL, "Value traded, likewise.", nullable=True),
        Column("topTenDays", "{t}.top_ten_days", INT, "Days in the window it was in a top ten."),
        Column(
            "topTenEntries",
            "{t}.top_ten_entries",
            INT,
            "Its entries in the window's top tens (a day in both channels' counts twice).",
        ),
        Column("firstTopTenDay", "{t}.first_top_ten_day", DATE, "Its first top-ten day in the window."),
        Column("lastTopTenDay", "{t}.last_top_ten_day", DATE, "Its last top-ten day in the window."),
        Column("windowFrom", "{t}.first_day", DATE, "First day of the window."),
        Column("windowTo", "{t}.last_day", DATE, "Last day of the window."),
        Relation("security", "Security", "The stock.", join="{c}.id = {p}.security_id", sort=True),
    ),
)

# Every change of a fund's status on a link: a period that begins (after a period with another status, or
# after none) and a period that ends with none following it.
ELIGIBILITY_EVENTS = """(WITH periods AS (
        SELECT c.etf_id, c.direction, c.channel, c.status, c.effective_from, c.effective_to, c.reason
        FROM connect_eligibility c WHERE c.direction = {direction}::connect_direction),
    events AS (
        SELECT p.etf_id, p.direction, p.channel, p.effective_from AS effective_date,
               b.status AS status_before, p.status AS status_after, p.reason
        FROM periods p
        LEFT JOIN periods b
          ON b.etf_id = p.etf_id AND b.channel = p.channel AND b.effective_to = p.effective_from
        UNION ALL
        SELECT p.etf_id, p.direction, p.channel, p.effective_to, p.status, NULL, NULL
        FROM periods p
        WHERE p.effective_to IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM periods n
            WHERE n.etf_id = p.etf_id AND n.channel = p.channel AND n.effective_from = p.effective_to))
    SELECT e.*, x.mic AS etf_mic, x.code AS etf_code,
           CASE WHEN e.status_before IS NULL THEN 'ADDED' WHEN e.status_after IS NULL THEN 'REMOVED'
                ELSE 'STATUS_CHANGED' END AS kind
    FROM events e JOIN etfs x ON x.id = e.etf_id
    WHERE e.status_before IS DISTINCT FROM e.status_after
      AND e.effective_date BETWEEN {from} AND {to})"""

ELIGIBILITY_CHANGE = Entity(
    "EligibilityChange",
    "A change of an ETF's Connect eligibility on one link, effective on a day.",
    source="",  # only through eligibilityChanges
    key=(
        OrderKey("{t}.effective_date", type="date"),
        OrderKey("{t}.etf_id", type="bigint"),
        OrderKey("{t}.channel", type="connect_channel"),
    ),
    fields=(
        Column("effectiveDate", "{t}.effective_date", DATE, "The day the change took effect."),
        Column("direction", "{t}.direction", CONNECT_DIRECTION, "Southbound or northbound."),
        Column("channel", "{t}.channel", CONNECT_CHANNEL, "The link."),
        Column("kind", "{t}.kind", CHANGE_KIND, "Added, removed, or status changed."),
        Column(
            "statusBefore",
            "{t}.status_before",
            ELIGIBILITY_STATUS,
            "Status the day before; null when the fund was not on the link.",
            nullable=True,
        ),
        Column(
            "statusAfter",
            "{t}.status_after",
            ELIGIBILITY_STATUS,
            "Status from that day; null when the fund left the link.",
            nullable=True,
        ),
        Column("reason", "{t}.reason", STRING, "Why, as published (null for removals).", nullable=True),
        Relation("etf", "Etf", "The fund.", join="{c}.id = {p}.etf_id", sort=True),
    ),
)


def _flows(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args.get("from"), args.get("to"))
    check_positive("lastTradingDays", args.get("lastTradingDays"), MAX_TRADING_DAYS)
    return {}


def _top_stocks(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args.get("from"), args.get("to"))
    check_positive("first", args.get("first"), context.max_page_size)
    return {}


def _events(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    check_range(args["from"], args["to"])
    return {}


DIRECTION = Arg(
    "direction",
    CONNECT_DIRECTION,
    "Southbound or northbound.",
    required=True,
    when="{c}.direction = {direction}",
)

ROOTS = (
    Root(
        "connectEligibility",
        "ETF Connect eligibility in force on `asOf` (default today), by ETF code.",
        RootKind.LIST,
        target="ConnectEligibility",
        args=(
            DIRECTION,
            as_of("Point in time; default today (Hong Kong).", when="{c}.period @> {asOf}"),
            Arg("channel", CONNECT_CHANNEL, "Only this link.", when="{c}.channel = {channel}"),
            Arg("status", ELIGIBILITY_STATUS, "Only this status.", when="{c}.status = {status}"),
        ),
        order=(
            OrderKey("{t}.etf_mic"),
            OrderKey("{t}.etf_code"),
            OrderKey("{t}.channel", type="connect_channel"),
        ),
        scope=READ_REFERENCE,
    ),
    Root(
        "eligibilityChanges",
        "Every change of ETF Connect eligibility effective in [from, to]: additions, removals and moves "
        "between the eligible and sell-only lists, by effective date.",
        RootKind.LIST,
        target="EligibilityChange",
        source=ELIGIBILITY_EVENTS,
        args=(
            Arg("direction", CONNECT_DIRECTION, "Southbound or northbound.", required=True),
            Arg("from", DATE, "First effective date, inclusive.", required=True),
            Arg("to", DATE, "Last effective date, inclusive.", required=True),
        ),
        prepare=_events,
        order=(
            OrderKey("{t}.effective_date", type="date"),
            OrderKey("{t}.etf_mic"),
            OrderKey("{t}.etf_code"),
            OrderKey("{t}.channel", type="connect_channel"),
        ),
        scope=READ_REFERENCE,
    ),
    Root(
        "connectFlows",
        "Daily Stock Connect flows of a direction (both channels summed unless `channel` is given), oldest "
        "first, with a running net total over the window.",
        RootKind.LIST,
        target="ConnectFlowDay",
        source="(" + flows.DAILY + ")",
        args=(
            Arg("direction", CONNECT_DIRECTION, "Southbound or northbound.", required=True),
            Arg("channel", CONNECT_CHANNEL, "One link; default both summed."),
            from_arg(),
            to_arg(),
            Arg("lastTradingDays", INT, "Only the latest N Connect days.", param="last"),
            Arg(
                "netBuyAbove",
                DECIMAL,
                "Only days whose net buying exceeds this amount.",
                param="net_buy_above",
            ),
        ),
        prepare=_flows,
        scope=READ_FLOWS,
    ),
    Root(
        "southboundTopStocks",
        "Stocks ranked by mainland investors' net buying through both southbound channels (Shanghai and "
        "Shenzhen) over a window, from HKEX's daily top-ten traded stocks: by default the latest day "
        "loaded, so 'which stocks did mainland investors buy most today'.",
        RootKind.LIST,
        target="SouthboundStockRank",
        source="(" + flows.TOP_STOCKS_BY_NET_BUY + ")",
        args=(
            Arg("from", DATE, "First day, inclusive (default: `to`)."),
            Arg("to", DATE, "Last day, inclusive (default: the latest day with a southbound top ten)."),
            Arg(
                "currency", REPORT_CURRENCY, "Report amounts in this currency.", required=True, default="HKD"
            ),
            Arg("first", INT, "How many stocks to rank.", required=True, default=10),
        ),
        prepare=_top_stocks,
        scope=READ_FLOWS,
    ),
)

ENTITIES = (CONNECT_FLOW_DAY, CONNECT_TOP_STOCK, SOUTHBOUND_STOCK_RANK, ELIGIBILITY_CHANGE)
