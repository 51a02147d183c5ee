"""The enums of the model: GraphQL names, descriptions, and the database labels they stand for."""

from __future__ import annotations

from service.ingest.datasets import Dataset
from service.model.declare import EnumType, EnumValue

V = EnumValue

CONNECT_DIRECTION = EnumType(
    "ConnectDirection",
    "Which way a Stock Connect trade crosses the border.",
    (
        V("SOUTHBOUND", "Mainland investors buying Hong Kong-listed securities."),
        V("NORTHBOUND", "Hong Kong and international investors buying mainland securities."),
    ),
    sql_type="connect_direction",
)

CONNECT_CHANNEL = EnumType(
    "ConnectChannel",
    "The mainland exchange at the other end of the link.",
    (
        V("SHANGHAI", "Shanghai-Hong Kong Stock Connect."),
        V("SHENZHEN", "Shenzhen-Hong Kong Stock Connect."),
    ),
    sql_type="connect_channel",
)

ELIGIBILITY_STATUS = EnumType(
    "EligibilityStatus",
    "What Connect investors may do with an eligible security.",
    (
        V("ELIGIBLE", "May be bought and sold."),
        V("SELL_ONLY", "On the special list: existing holdings may only be sold."),
    ),
    sql_type="eligibility_status",
)

ELIGIBILITY_OUTCOME = EnumType(
    "EligibilityOutcome",
    "What an ETF Connect review would do to a fund, by the published rule.",
    (
        V("ADD", "Not on the link, meets the criteria, average at or above the inclusion threshold: added."),
        V("MOVE_TO_SELL_ONLY", "Eligible, average below the exclusion threshold: moved to the special list."),
        V("RESTORE", "Sell-only, average back at or above the inclusion threshold: eligible again."),
        V("REMOVE", "Sell-only, average still below the exclusion threshold: removed from the link."),
        V("NO_CHANGE", "Nothing changes (between the thresholds, or not a candidate)."),
    ),
)

INVESTMENT_FOCUS = EnumType(
    "InvestmentFocus",
    "What a fund invests in, as the ETF Connect eligibility criteria read it.",
    (
        V("HONG_KONG_EQUITY", "Shares listed in Hong Kong."),
        V("MAINLAND_EQUITY", "Shares listed in Shanghai or Shenzhen."),
        V("OTHER_EQUITY", "Shares of other markets (or several, e.g. Korean chipmakers, US technology)."),
        V("BOND", "Bonds."),
        V("COMMODITY", "A commodity (e.g. gold)."),
        V("MONEY_MARKET", "Money-market instruments."),
    ),
)

LICENCE_STATUS = EnumType(
    "LicenceStatus",
    "Where an index licence stands.",
    (
        V("SIGNED", "Licensed; no product launched yet."),
        V("PRODUCT_LAUNCHED", "The licensee has listed a product on the index."),
        V("LAPSED", "The licence has ended."),
    ),
    sql_type="licence_status",
)

REPLICATION = EnumType(
    "Replication",
    "How an ETF obtains its index exposure.",
    (
        V("PHYSICAL", "Holds the index securities."),
        V("SYNTHETIC", "Uses swaps or futures."),
    ),
    sql_type="replication_method",
)

INTERVAL = EnumType(
    "Interval",
    "Bucket size of a time series.",
    (
        V("DAY", "Each trading day.", "day"),
        V("WEEK", "ISO weeks, starting Monday.", "week"),
        V("MONTH", "Calendar months.", "month"),
        V("QUARTER", "Calendar quarters.", "quarter"),
        V("YEAR", "Calendar years.", "year"),
    ),
)

CURRENCY = EnumType(
    "Currency",
    "A currency amounts can be reported in.",
    (
        V("HKD", "Hong Kong dollar (the default)."),
        V("CNY", "Renminbi."),
        V("USD", "US dollar."),
        V("KRW", "Korean won."),
    ),
)

REPORT_CURRENCY = EnumType(
    "ReportCurrency",
    "The currency amounts are reported in.",
    (
        V("HKD", "Hong Kong dollar (the default)."),
        V("CNY", "Renminbi."),
        V("USD", "US dollar."),
        V("KRW", "Korean won."),
        V(
            "NATIVE",
            "Each figure's own currency, unconverted; amounts that would add two currencies are null.",
            "",
        ),
    ),
)

SORT_DIRECTION = EnumType(
    "SortDirection",
    "Sort direction.",
    (
        V("ASC", "Smallest (earliest, first in the alphabet) first; nulls last."),
        V("DESC", "Largest (latest, last in the alphabet) first; nulls last."),
    ),
)

CHANGE_KIND = EnumType(
    "ChangeKind",
    "What a change of Connect eligibility amounts to.",
    (
        V("ADDED", "The fund became tradable on the link (it was not the day before)."),
        V("REMOVED", "The fund stopped being tradable on the link."),
        V("STATUS_CHANGED", "The fund stayed on the link with another status (eligible or sell-only)."),
    ),
)

TRADING_CALENDAR = EnumType(
    "TradingCalendar",
    "The trading days a window of `lastTradingDays` is counted on.",
    (
        V("HONG_KONG", "HKEX open days.", "XHKG"),
        V("MAINLAND", "Shanghai (and Shenzhen) open days.", "XSHG"),
        V(
            "SOUTHBOUND_CONNECT",
            "Southbound Connect days: Hong Kong and the mainland both open, with published exceptions "
            "(make-up weekend days are closed).",
            "SOUTHBOUND",
        ),
        V("NORTHBOUND_CONNECT", "Northbound Connect days.", "NORTHBOUND"),
    ),
)

FLOW_MEASURE = EnumType(
    "FlowMeasure",
    "A daily Stock Connect figure to aggregate.",
    (
        V("NET_BUY", "Buy minus sell turnover (not published northbound after 2024-08-19).", "net_buy"),
        V("BUY_TURNOVER", "Value bought.", "buy_turnover"),
        V("SELL_TURNOVER", "Value sold.", "sell_turnover"),
        V("TOTAL_TURNOVER", "Value bought plus sold.", "total_turnover"),
        V("ETF_TURNOVER", "Turnover in ETFs through Connect.", "etf_turnover"),
    ),
)

ETF_MEASURE = EnumType(
    "EtfMeasure",
    "A daily ETF statistic to aggregate over the selected funds.",
    (
        V("NET_CREATION_VALUE", "Creations minus redemptions, in value.", "net_creation_value"),
        V("TURNOVER", "Value traded.", "turnover"),
        V(
            "AUM",
            "Assets under management (a level: read a bucket's `last`, `min`, `max`, `avg`).",
            "aum",
        ),
        V(
            "NAV_PER_UNIT",
            "Net asset value per unit of one fund (a level: read a bucket's `first`, `last`, `avg`); "
            "`NATIVE` gives it as published (6 places), a reporting currency at the day's rate, to the cent.",
            "nav_per_unit",
        ),
    ),
)

ETF_GROUPING = EnumType(
    "EtfGrouping",
    "What ETF figures are grouped by.",
    (
        V("ETF", "Each fund."),
        V(
            "ISSUER",
            "The fund's issuer on each day: a fund whose manager changed in the window counts in both "
            "managers, each with its days.",
        ),
        V("INDEX", "The tracked index."),
        V("THEME", "Each theme of the tracked index (a fund counts in every theme of its index)."),
        V(
            "CONNECT_DIRECTION",
            "The Connect direction a fund was eligible for (or sell-only in) on each day; funds never "
            "eligible in the window are left out.",
        ),
        V(
            "CONNECT_CHANNEL",
            "Direction and channel of the fund's eligibility on each day (a fund eligible on both links "
            "counts in both).",
        ),
    ),
)

ETF_METRIC = EnumType(
    "EtfMetric",
    "What a ranking of ETF groups orders by.",
    (
        V("NET_CREATION_VALUE", "Net creations.", "net_creation_value"),
        V("CREATION_VALUE", "Net creations of the days with creations.", "creation_value"),
        V("REDEMPTION_VALUE", "Net redemptions of the days with redemptions.", "redemption_value"),
        V("TURNOVER", "Turnover.", "turnover"),
        V("AUM_CHANGE", "AUM change.", "aum_change"),
        V("AUM_END", "AUM at the window's end.", "aum_end"),
    ),
)

MEMBERSHIP_CHANGE_KIND = EnumType(
    "MembershipChangeKind",
    "How a constituent's membership of an index changed.",
    (
        V("ADDED", "The security joined the index (it was not a member the day before)."),
        V("REMOVED", "The security left the index."),
        V("REWEIGHTED", "The security stayed a member with another weight."),
    ),
)

API_KEY_STATUS = EnumType(
    "ApiKeyStatus",
    "Whether a key can be used now.",
    (
        V("ACTIVE", "In use: neither expired, revoked nor replaced."),
        V("ROTATING", "Replaced; valid until its grace period ends."),
        V("EXPIRED", "Past its expiry date, or its grace period after rotation."),
        V("REVOKED", "Revoked by an admin: refused at once."),
    ),
)

# The loader's datasets (service/ingest/datasets.py): GraphQL names are its members' names, the stored
# names (`load_history.dataset`, `datasets.name`) their values.
DATASET = EnumType(
    "Dataset",
    "A dataset loads fill; `connectgraph load` names it in lower case with dashes (`ETF_DAILY` is "
    "`etf-daily`).",
    tuple(V(d.name, d.description, sql=d.value) for d in Dataset),
    python=Dataset,
)

SEARCH_KIND = EnumType(
    "SearchKind",
    "What a search result is.",
    (
        V("ETF", "A listed fund."),
        V("INDEX", "A market index."),
        V("SECURITY", "A security (index constituent)."),
        V("MANAGER", "An asset manager."),
    ),
)

SEARCH_MATCH = EnumType(
    "SearchMatch",
    "What in a result matched the text.",
    (
        V(
            "CODE",
            "Its code (a fund's or security's local code, with or without market; an index code; a slug).",
        ),
        V("COUNTER", "A trading counter's code of the fund (e.g. 82800 for 02800)."),
        V("ISIN", "Its ISIN."),
        V("NAME", "Its English (or only) name, whole, in part, or resembling the text."),
        V("NAME_ZH", "Its Chinese name, in either script."),
    ),
)

ENUMS = (
    CONNECT_DIRECTION,
    CONNECT_CHANNEL,
    ELIGIBILITY_STATUS,
    ELIGIBILITY_OUTCOME,
    INVESTMENT_FOCUS,
    LICENCE_STATUS,
    REPLICATION,
    INTERVAL,
    CURRENCY,
    REPORT_CURRENCY,
    SORT_DIRECTION,
    CHANGE_KIND,
    TRADING_CALENDAR,
    FLOW_MEASURE,
    ETF_MEASURE,
    ETF_GROUPING,
    ETF_METRIC,
    MEMBERSHIP_CHANGE_KIND,
    API_KEY_STATUS,
    DATASET,
    SEARCH_KIND,
    SEARCH_MATCH,
)
