"""The JSON shape of each GraphQL type in SQL, for the compiled path (one statement per root field).

Each object type maps its fields to SQL over a row alias ``{t}``: a column expression, or a
relationship whose ``source`` is a FROM clause that yields the child rows as alias ``{c}`` (``{p}`` is
the parent's alias). Arguments appear as ``{argName}`` and become typed parameters; ``prepare`` turns
the GraphQL argument values into the parameter values (defaults, checks) exactly as the resolvers do.
The compiled path must answer what the resolvers answer: a differential test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.arguments import check_page, check_positive, check_range
from service.codes import parse_code
from service.errors import BadInput
from service.repositories import etfs, flows, stats

ArgValues = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Limits:
    today: date
    max_page_size: int


Prepare = Callable[[ArgValues, Limits], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Column:
    """A value computed from the row. ``decimal`` ones are sent as strings, like strawberry's Decimal."""

    sql: str
    decimal: bool = False
    args: Mapping[str, str] = field(default_factory=dict)  # argument -> SQL type
    prepare: Prepare | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    target: str
    many: bool
    source: str
    order: str = ""
    args: Mapping[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None


Field = Column | Relation


@dataclass(frozen=True, slots=True)
class Shape:
    node: str | None  # Relay type name when the type has a global id
    fields: Mapping[str, Field]


def node_id(type_name: str) -> Column:
    # strawberry's GlobalID: base64 of "TypeName:id".
    return Column(f"encode(convert_to('{type_name}:' || {{t}}.id, 'UTF8'), 'base64')")


def _as_of_today(args: ArgValues, limits: Limits) -> dict[str, Any]:
    return {"asOf": args.get("asOf") or limits.today}


def _constituents(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_page("first", args.get("first"), limits.max_page_size)
    return {"asOf": args.get("asOf") or limits.today, "first": args.get("first")}


def _memberships(args: ArgValues, limits: Limits) -> dict[str, Any]:
    return {"asOf": None if args.get("history") else (args.get("asOf") or limits.today)}


def _window(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_range(args.get("from"), args.get("to"))
    return {"from": args.get("from"), "to": args.get("to")}


def _daily(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_range(args.get("from"), args.get("to"))
    check_page("last", args.get("last"), limits.max_page_size * 20)
    return {"from": args.get("from"), "to": args.get("to"), "last": args.get("last")}


def _enum(value: Any) -> Any:
    return None if value is None else getattr(value, "value", value)


def _eligibility(args: ArgValues, limits: Limits) -> dict[str, Any]:
    return {"asOf": args.get("asOf"), "direction": _enum(args.get("direction"))}


def _aum(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_range(args.get("from"), args.get("to"))
    return {
        "interval": _enum(args.get("interval")),
        "currency": _enum(args.get("currency")),
        "from": args.get("from"),
        "to": args.get("to"),
    }


ETF_BY_PARENT = "etfs {c}"

SHAPES: dict[str, Shape] = {
    "Index": Shape(
        node="Index",
        fields={
            "id": node_id("Index"),
            "code": Column("{t}.code"),
            "name": Column("{t}.name"),
            "provider": Column("{t}.provider"),
            "currency": Column("{t}.currency"),
            "baseDate": Column("{t}.base_date"),
            "baseValue": Column("{t}.base_value", decimal=True),
            "launchDate": Column("{t}.launch_date"),
            "weighting": Column("{t}.weighting"),
            "weightCapPct": Column("{t}.weight_cap_pct", decimal=True),
            "reviewFrequency": Column("{t}.review_frequency"),
            "rebalanceFrequency": Column("{t}.rebalance_frequency"),
            "constituentCount": Column("{t}.constituent_count"),
            "methodologyNotes": Column("{t}.methodology_notes"),
            "themes": Column("{t}.themes"),
            "isIllustrative": Column("{t}.is_illustrative"),
            "totalWeightPct": Column(
                "(SELECT coalesce(sum(w.weight_pct), 0) FROM index_memberships w"
                " WHERE w.index_id = {t}.id AND w.period @> {asOf})",
                decimal=True,
                args={"asOf": "date"},
                prepare=_as_of_today,
            ),
            "constituents": Relation(
                "Constituent",
                many=True,
                source="""(SELECT m.*,
                        row_number() OVER (ORDER BY m.weight_pct DESC, s.mic, s.local_code) AS rank
                    FROM index_memberships m JOIN securities s ON s.id = m.security_id
                    WHERE m.index_id = {p}.id AND m.period @> {asOf}) {c}
                    WHERE {first} IS NULL OR {c}.rank <= {first}""",
                order="{c}.rank",
                args={"asOf": "date", "first": "int"},
                prepare=_constituents,
            ),
            "etfs": Relation(
                "Etf", many=True, source="etfs {c} WHERE {c}.index_id = {p}.id", order="{c}.mic, {c}.code"
            ),
            "licences": Relation(
                "Licence",
                many=True,
                source="""(SELECT l.*, m.slug AS manager_slug FROM index_licences l
                    JOIN asset_managers m ON m.id = l.manager_id WHERE l.index_id = {p}.id) {c}""",
                order="{c}.licensed_on, {c}.manager_slug",
            ),
            "levels": Relation(
                "IndexLevel",
                many=True,
                source="""index_levels {c} WHERE {c}.index_id = {p}.id
                    AND ({from} IS NULL OR {c}.trading_day >= {from})
                    AND ({to} IS NULL OR {c}.trading_day <= {to})""",
                order="{c}.trading_day",
                args={"from": "date", "to": "date"},
                prepare=_window,
            ),
        },
    ),
    "IndexLevel": Shape(
        node=None,
        fields={"tradingDay": Column("{t}.trading_day"), "level": Column("{t}.level", decimal=True)},
    ),
    "Constituent": Shape(
        node=None,
        fields={
            "weightPct": Column("{t}.weight_pct", decimal=True),
            "effectiveFrom": Column("{t}.effective_from"),
            "effectiveTo": Column("{t}.effective_to"),
            "security": Relation(
                "Security", many=False, source="securities {c} WHERE {c}.id = {p}.security_id"
            ),
            "index": Relation("Index", many=False, source="indices {c} WHERE {c}.id = {p}.index_id"),
        },
    ),
    "Security": Shape(
        node="Security",
        fields={
            "id": node_id("Security"),
            "code": Column("{t}.mic || ':' || {t}.local_code"),
            "mic": Column("{t}.mic"),
            "localCode": Column("{t}.local_code"),
            "isin": Column("{t}.isin"),
            "name": Column("{t}.name"),
            "sector": Column("{t}.sector"),
            "country": Column("{t}.country"),
            "currency": Column("{t}.currency"),
            "indexMemberships": Relation(
                "Constituent",
                many=True,
                source="""index_memberships {c} WHERE {c}.security_id = {p}.id
                    AND ({asOf} IS NULL OR {c}.period @> {asOf})""",
                order="{c}.weight_pct DESC, {c}.index_id, {c}.effective_from",
                args={"asOf": "date"},
                prepare=_memberships,
            ),
            "exposedEtfs": Relation(
                "EtfExposure",
                many=True,
                source="""(SELECT m.weight_pct, m.index_id, e.id AS etf_id, e.mic, e.code
                    FROM index_memberships m JOIN etfs e ON e.index_id = m.index_id
                    WHERE m.security_id = {p}.id AND m.period @> {asOf}
                      AND e.listing_date <= {asOf}
                      AND (e.delisting_date IS NULL OR e.delisting_date > {asOf})) {c}""",
                order="{c}.weight_pct DESC, {c}.mic, {c}.code",
                args={"asOf": "date"},
                prepare=_as_of_today,
            ),
        },
    ),
    "EtfExposure": Shape(
        node=None,
        fields={
            "weightPct": Column("{t}.weight_pct", decimal=True),
            "etf": Relation("Etf", many=False, source="etfs {c} WHERE {c}.id = {p}.etf_id"),
            "index": Relation("Index", many=False, source="indices {c} WHERE {c}.id = {p}.index_id"),
        },
    ),
    "Manager": Shape(
        node="Manager",
        fields={
            "id": node_id("Manager"),
            "slug": Column("{t}.slug"),
            "legalName": Column("{t}.legal_name"),
            "shortName": Column("{t}.short_name"),
            "homeMarket": Column("{t}.home_market"),
            "website": Column("{t}.website"),
            "etfs": Relation(
                "Etf", many=True, source="etfs {c} WHERE {c}.issuer_id = {p}.id", order="{c}.mic, {c}.code"
            ),
            "licences": Relation(
                "Licence",
                many=True,
                source="""(SELECT l.*, i.code AS index_code FROM index_licences l
                    JOIN indices i ON i.id = l.index_id WHERE l.manager_id = {p}.id) {c}""",
                order="{c}.licensed_on, {c}.index_code",
            ),
        },
    ),
    "Licence": Shape(
        node="Licence",
        fields={
            "id": node_id("Licence"),
            "licensedOn": Column("{t}.licensed_on"),
            "status": Column("{t}.status"),
            "isIllustrative": Column("{t}.is_illustrative"),
            "notes": Column("{t}.notes"),
            "index": Relation("Index", many=False, source="indices {c} WHERE {c}.id = {p}.index_id"),
            "manager": Relation(
                "Manager", many=False, source="asset_managers {c} WHERE {c}.id = {p}.manager_id"
            ),
            "products": Relation(
                "Etf",
                many=True,
                source="etfs {c} WHERE {c}.index_id = {p}.index_id AND {c}.issuer_id = {p}.manager_id",
                order="{c}.mic, {c}.code",
            ),
            "hasLaunchedProduct": Column(
                "EXISTS (SELECT 1 FROM etfs x"
                " WHERE x.index_id = {t}.index_id AND x.issuer_id = {t}.manager_id)"
            ),
        },
    ),
    "TradingCounter": Shape(
        node=None,
        fields={
            "code": Column("{t}.mic || ':' || {t}.code"),
            "mic": Column("{t}.mic"),
            "localCode": Column("{t}.code"),
            "currency": Column("{t}.currency"),
            "isPrimary": Column("{t}.is_primary"),
        },
    ),
    "ConnectEligibility": Shape(
        node=None,
        fields={
            "direction": Column("{t}.direction"),
            "channel": Column("{t}.channel"),
            "status": Column("{t}.status"),
            "effectiveFrom": Column("{t}.effective_from"),
            "effectiveTo": Column("{t}.effective_to"),
            "reason": Column("{t}.reason"),
            "etf": Relation("Etf", many=False, source="etfs {c} WHERE {c}.id = {p}.etf_id"),
        },
    ),
    "Etf": Shape(
        node="Etf",
        fields={
            "id": node_id("Etf"),
            "code": Column("{t}.mic || ':' || {t}.code"),
            "mic": Column("{t}.mic"),
            "localCode": Column("{t}.code"),
            "isin": Column("{t}.isin"),
            "name": Column("{t}.name_en"),
            "nameZh": Column("{t}.name_zh"),
            "listingDate": Column("{t}.listing_date"),
            "delistingDate": Column("{t}.delisting_date"),
            "baseCurrency": Column("{t}.base_currency"),
            "replication": Column("{t}.replication"),
            "ongoingChargesPct": Column("{t}.ongoing_charges_pct", decimal=True),
            "isLeveragedInverse": Column("{t}.is_leveraged_inverse"),
            "leverageFactor": Column("{t}.leverage_factor", decimal=True),
            "issuer": Relation(
                "Manager", many=False, source="asset_managers {c} WHERE {c}.id = {p}.issuer_id"
            ),
            "trackedIndex": Relation("Index", many=False, source="indices {c} WHERE {c}.id = {p}.index_id"),
            "counters": Relation(
                "TradingCounter",
                many=True,
                source="etf_counters {c} WHERE {c}.etf_id = {p}.id",
                order="{c}.is_primary DESC, {c}.code",
            ),
            "eligibility": Relation(
                "ConnectEligibility",
                many=True,
                source="""connect_eligibility {c} WHERE {c}.etf_id = {p}.id
                    AND ({asOf} IS NULL OR {c}.period @> {asOf})
                    AND ({direction} IS NULL OR {c}.direction = {direction})""",
                order="{c}.effective_from, {c}.direction, {c}.channel",
                args={"asOf": "date", "direction": "connect_direction"},
                prepare=_eligibility,
            ),
            "dailyStats": Relation(
                "EtfDailyStat",
                many=True,
                source="""(SELECT * FROM etf_daily_stats x WHERE x.etf_id = {p}.id
                    AND ({from} IS NULL OR x.trading_day >= {from})
                    AND ({to} IS NULL OR x.trading_day <= {to})
                    ORDER BY x.trading_day DESC LIMIT {last}) {c}""",
                order="{c}.trading_day",
                args={"from": "date", "to": "date", "last": "int"},
                prepare=_daily,
            ),
            "aumHistory": Relation(
                "AumPoint",
                many=True,
                source="""(SELECT p.period_start, p.trading_day, p.currency AS native_currency,
                        p.aum AS native_aum, coalesce({currency}::text, p.currency) AS currency,
                        round(p.aum * fx.rate, 2) AS aum, fx.rate AS fx_rate, fx.rate_day AS fx_rate_date
                    FROM (SELECT DISTINCT ON (date_trunc({interval}, s.trading_day))
                                 date_trunc({interval}, s.trading_day)::date AS period_start,
                                 s.trading_day, s.currency, s.aum
                          FROM etf_daily_stats s
                          WHERE s.etf_id = {p}.id
                            AND ({from} IS NULL OR s.trading_day >= {from})
                            AND ({to} IS NULL OR s.trading_day <= {to})
                          ORDER BY date_trunc({interval}, s.trading_day), s.trading_day DESC) p
                    LEFT JOIN LATERAL fx_rate_rows(
                        p.currency, coalesce({currency}::text, p.currency)::char(3), p.trading_day
                    ) fx ON true) {c}""",
                order="{c}.period_start",
                args={"interval": "text", "currency": "text", "from": "date", "to": "date"},
                prepare=_aum,
            ),
        },
    ),
    "EtfDailyStat": Shape(
        node=None,
        fields={
            "tradingDay": Column("{t}.trading_day"),
            "currency": Column("{t}.currency"),
            "navPerUnit": Column("{t}.nav_per_unit", decimal=True),
            "closePrice": Column("{t}.close_price", decimal=True),
            "sharesOutstanding": Column("{t}.shares_outstanding", decimal=True),
            "aum": Column("{t}.aum", decimal=True),
            "netCreationUnits": Column("{t}.net_creation_units", decimal=True),
            "netCreationValue": Column("{t}.net_creation_value", decimal=True),
            "turnover": Column("{t}.turnover", decimal=True),
            "southboundHoldingUnits": Column("{t}.southbound_holding_units", decimal=True),
        },
    ),
    "AumPoint": Shape(
        node=None,
        fields={
            "periodStart": Column("{t}.period_start"),
            "tradingDay": Column("{t}.trading_day"),
            "currency": Column("{t}.currency"),
            "aum": Column("{t}.aum", decimal=True),
            "nativeCurrency": Column("{t}.native_currency"),
            "nativeAum": Column("{t}.native_aum", decimal=True),
            "fxRate": Column("{t}.fx_rate", decimal=True),
            "fxRateDate": Column("{t}.fx_rate_date"),
        },
    ),
}


class Uncompiled(Exception):
    """Raised by a ``prepare`` when these argument values are left to the reference executor."""


def _code(args: ArgValues, limits: Limits) -> dict[str, Any]:
    mic, code = parse_code(args["code"])
    return {"mic": mic, "code": code}


def _security(args: ArgValues, limits: Limits) -> dict[str, Any]:
    code, isin = args.get("code"), args.get("isin")
    if (code is None) == (isin is None):
        raise BadInput("Give exactly one of `code` and `isin`", argument="code")
    mic, local = parse_code(code) if code is not None else (None, None)
    return {"mic": mic, "local": local, "isin": isin.strip().upper() if isin else None}


def _flows(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_range(args.get("from"), args.get("to"))
    check_positive("lastTradingDays", args.get("lastTradingDays"), 10_000)
    return {
        "direction": _enum(args["direction"]),
        "channel": _enum(args.get("channel")),
        "from": args.get("from"),
        "to": args.get("to"),
        "last": args.get("lastTradingDays"),
        "net_buy_above": args.get("netBuyAbove"),
    }


def _top(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_range(args.get("from"), args.get("to"))
    check_positive("first", args.get("first"), limits.max_page_size)
    check_positive("lastTradingDays", args.get("lastTradingDays"), 10_000)
    if args.get("from") is None:
        raise Uncompiled("the window is counted in trading days first")
    return {
        "from": args["from"],
        "to": args.get("to") or limits.today,
        "currency": _enum(args.get("currency")),
        "theme": args.get("theme"),
        "issuer": args.get("issuer"),
        "index": args.get("index"),
        "first": args.get("first"),
        "ascending": _enum(args.get("direction")) == "ASC",
    }


def _eligible_on(args: ArgValues, limits: Limits) -> dict[str, Any]:
    return {
        "direction": _enum(args["direction"]),
        "asOf": args.get("asOf") or limits.today,
        "channel": _enum(args.get("channel")),
        "status": _enum(args.get("status")),
    }


def _changes(args: ArgValues, limits: Limits) -> dict[str, Any]:
    check_range(args["from"], args["to"])
    return {"direction": _enum(args["direction"]), "from": args["from"], "to": args["to"]}


SHAPES["ConnectFlowDay"] = Shape(
    node=None,
    fields={
        "tradingDay": Column("{t}.trading_day"),
        "direction": Column("{t}.direction"),
        "channel": Column("{t}.channel"),
        "currency": Column("{t}.currency"),
        "buyTurnover": Column("{t}.buy_turnover", decimal=True),
        "sellTurnover": Column("{t}.sell_turnover", decimal=True),
        "totalTurnover": Column("{t}.total_turnover", decimal=True),
        "netBuy": Column("{t}.net_buy", decimal=True),
        "runningNetBuy": Column("{t}.running_net_buy", decimal=True),
        "tradeCount": Column("{t}.trade_count"),
        "etfTurnover": Column("{t}.etf_turnover", decimal=True),
        "quotaBalance": Column("{t}.quota_balance", decimal=True),
        "quotaBalanceUnlimited": Column("{t}.quota_balance_unlimited"),
    },
)
SHAPES["EtfCreationRank"] = Shape(
    node=None,
    fields={
        "rank": Column("{t}.rank"),
        "currency": Column("{t}.currency"),
        "netCreationValue": Column("{t}.net_creation_value", decimal=True),
        "netCreationUnits": Column("{t}.net_creation_units", decimal=True),
        "tradingDays": Column("{t}.trading_days"),
        "firstDay": Column("{t}.first_day"),
        "lastDay": Column("{t}.last_day"),
        "etf": Relation("Etf", many=False, source="etfs {c} WHERE {c}.id = {p}.etf_id"),
    },
)
SHAPES["EligibilityChange"] = Shape(
    node=None,
    fields={
        "channel": Column("{t}.channel"),
        "kind": Column(
            "CASE WHEN {t}.status_before IS NULL THEN 'ADDED' WHEN {t}.status_after IS NULL "
            "THEN 'REMOVED' ELSE 'STATUS_CHANGED' END"
        ),
        "statusBefore": Column("{t}.status_before"),
        "statusAfter": Column("{t}.status_after"),
        "etf": Relation("Etf", many=False, source="etfs {c} WHERE {c}.id = {p}.etf_id"),
    },
)

# Root fields: the same relationship form, with no parent row.
ROOTS: dict[str, Relation] = {
    "etf": Relation(
        "Etf",
        many=False,
        source="""etfs {c} WHERE {c}.id = coalesce(
            (SELECT e.id FROM etfs e WHERE e.mic = {mic} AND e.code = {code}),
            (SELECT x.etf_id FROM etf_counters x WHERE x.mic = {mic} AND x.code = {code}))""",
        args={"mic": "text", "code": "text"},
        prepare=_code,
    ),
    "index": Relation(
        "Index",
        many=False,
        source="indices {c} WHERE {c}.code = {code}",
        args={"code": "text"},
        prepare=lambda args, limits: {"code": args["code"].strip().upper()},
    ),
    "security": Relation(
        "Security",
        many=False,
        source="""securities {c}
            WHERE ({mic} IS NULL OR ({c}.mic = {mic} AND {c}.local_code = {local}))
              AND ({isin} IS NULL OR {c}.isin = {isin})""",
        args={"mic": "text", "local": "text", "isin": "text"},
        prepare=_security,
    ),
    "manager": Relation(
        "Manager",
        many=False,
        source="asset_managers {c} WHERE {c}.slug = {slug}",
        args={"slug": "text"},
        prepare=lambda args, limits: {"slug": args["slug"].strip().lower()},
    ),
    "connectFlows": Relation(
        "ConnectFlowDay",
        many=True,
        source="(" + flows.DAILY + ") {c}",
        order="{c}.trading_day",
        args={
            "direction": "connect_direction",
            "channel": "connect_channel",
            "from": "date",
            "to": "date",
            "last": "int",
            "net_buy_above": "numeric",
        },
        prepare=_flows,
    ),
    "topEtfsByNetCreation": Relation(
        "EtfCreationRank",
        many=True,
        source="(" + stats.TOP_BY_NET_CREATION + ") {c}",
        order="{c}.rank",
        args={
            "from": "date",
            "to": "date",
            "currency": "text",
            "theme": "text",
            "issuer": "text",
            "index": "text",
            "first": "int",
            "ascending": "boolean",
        },
        prepare=_top,
    ),
    "connectEligibility": Relation(
        "ConnectEligibility",
        many=True,
        source="(" + etfs.ELIGIBLE_ON + ") {c}",
        order="{c}.etf_mic, {c}.etf_code, {c}.channel",
        args={
            "direction": "connect_direction",
            "asOf": "date",
            "channel": "connect_channel",
            "status": "eligibility_status",
        },
        prepare=_eligible_on,
    ),
    "eligibilityChanges": Relation(
        "EligibilityChange",
        many=True,
        source="(" + etfs.ELIGIBILITY_CHANGES + ") {c}",
        order="{c}.etf_mic, {c}.etf_code, {c}.channel",
        args={"direction": "connect_direction", "from": "date", "to": "date"},
        prepare=_changes,
    ),
}

# The analytics shapes register themselves into SHAPES and ROOTS.
from service.repositories import json_shapes_analytics  # noqa: E402, F401
