"""Securities (index constituents) and the funds exposed to them through the indices they track."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.codes import parse_code
from service.errors import BadInput
from service.model.common import (
    ACTIVE_ON,
    BOOLEAN,
    BY_ID,
    DECIMAL,
    ELIGIBILITY_ARGS,
    ELIGIBILITY_ORDER,
    ELIGIBILITY_PERIOD,
    STRING,
    as_of,
    from_arg,
    like_pattern,
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
from service.model.enums import CONNECT_DIRECTION

SECURITY = Entity(
    "Security",
    "A listed security that can be an index constituent.",
    source="securities",
    key=BY_ID,
    node=NodeKey(
        sql="{t}.mic || ':' || {t}.local_code",
        pattern=r"([A-Z0-9]{4}):([^:\s]+)",
        lookup="{t}.mic = {k1} AND {t}.local_code = {k2}",
        example="Security:XKRX:000660",
    ),
    fields=(
        Column(
            "code",
            "{t}.mic || ':' || {t}.local_code",
            STRING,
            "Identity `MIC:local code`, e.g. `XKRX:000660`.",
        ),
        Column("mic", "{t}.mic", STRING, "ISO 10383 market identifier of the listing."),
        Column("localCode", "{t}.local_code", STRING, "Code on that market."),
        Column("isin", "{t}.isin", STRING, "ISIN, where known.", nullable=True),
        Column("name", "{t}.name", STRING, "Issuer's name."),
        Column("nameZh", "{t}.name_zh", STRING, "Issuer's Chinese name, where known.", nullable=True),
        Column("sector", "{t}.sector", STRING, "Sector.", nullable=True),
        Column("country", "{t}.country", STRING, "Country of the issuer (ISO 3166 alpha-2)."),
        Column("currency", "{t}.currency", STRING, "Trading currency."),
        Relation(
            "connectEligibility",
            "StockConnectEligibility",
            "The stock's own Stock Connect eligibility periods in force on `asOf`, or the whole history "
            "when `asOf` is omitted.",
            join="{c}.security_id = {p}.id",
            many=True,
            args=ELIGIBILITY_ARGS,
            order=ELIGIBILITY_ORDER,
        ),
        Relation(
            "connectTopTenDays",
            "ConnectTopStock",
            "The days the stock was among a Stock Connect channel's ten most traded, in [from, to], oldest "
            "first (`last: N` keeps the latest N).",
            join="{c}.security_id = {p}.id",
            many=True,
            scope=READ_FLOWS,
            args=(
                Arg(
                    "direction", CONNECT_DIRECTION, "Only this direction.", when="{c}.direction = {direction}"
                ),
                from_arg(when="{c}.trading_day >= {from}"),
                to_arg(when="{c}.trading_day <= {to}"),
            ),
            prepare=window,
            filter=False,
        ),
        Relation(
            "indexMemberships",
            "Constituent",
            "Indices holding this security on `asOf` (default today), heaviest first; pass `history: true` "
            "for every period.",
            join="{c}.security_id = {p}.id",
            many=True,
            args=(
                as_of("Point in time; default today (Hong Kong)."),
                Arg(
                    "history",
                    BOOLEAN,
                    "Every period, whatever `asOf` (default false).",
                    default=False,
                    when="({history} OR {c}.period @> {asOf})",
                ),
            ),
            order=(
                OrderKey("{t}.weight_pct", descending=True, type="numeric"),
                OrderKey("{t}.index_id", type="bigint"),
                OrderKey("{t}.effective_from", type="date"),
            ),
        ),
        Relation(
            "exposedEtfs",
            "EtfExposure",
            "ETFs exposed to this security on `asOf` through the indices they track.",
            join="{c}.security_id = {p}.id",
            many=True,
            args=(
                as_of(
                    "Point in time; default today (Hong Kong).",
                    when="{c}.period @> {asOf} AND {c}.listing_date <= {asOf}"
                    " AND ({c}.delisting_date IS NULL OR {c}.delisting_date > {asOf})",
                ),
            ),
            order=(
                OrderKey("{t}.weight_pct", descending=True, type="numeric"),
                OrderKey("{t}.mic"),
                OrderKey("{t}.code"),
            ),
        ),
    ),
    wheres=(
        Where(
            "search",
            STRING,
            "Part of the name (English or Chinese), or the local code, case-insensitive.",
            "({t}.name ILIKE {value} OR {t}.name_zh ILIKE {value} OR {t}.local_code ILIKE {value})",
            transform=like_pattern,
        ),
    ),
)

# A membership joined with each fund tracking the index: one row per (membership, fund).
ETF_EXPOSURE = Entity(
    "EtfExposure",
    "An ETF's exposure to a security through the index it tracks.",
    source="""(SELECT m.id AS membership_id, m.security_id, m.index_id, m.weight_pct, m.period,
                      e.id AS etf_id, e.mic, e.code, e.listing_date, e.delisting_date
               FROM index_memberships m JOIN etfs e ON e.index_id = m.index_id)""",
    key=(OrderKey("{t}.membership_id", type="bigint"), OrderKey("{t}.etf_id", type="bigint")),
    fields=(
        Column("weightPct", "{t}.weight_pct", DECIMAL, "The security's weight in the index, %."),
        Relation("etf", "Etf", "The exposed fund.", join="{c}.id = {p}.etf_id", sort=True),
        Relation(
            "index", "Index", "The index that carries the exposure.", join="{c}.id = {p}.index_id", sort=True
        ),
    ),
)


def _security(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    code, isin = args.get("code"), args.get("isin")
    if (code is None) == (isin is None):
        raise BadInput("Give exactly one of `code` and `isin`", argument="code")
    mic, local = parse_code(code) if code is not None else (None, None)
    return {
        "mic": mic,
        "local": local,
        "isin": isin.strip().upper() if isin is not None else None,
        "what": "code" if code is not None else "ISIN",
        "given": code if code is not None else isin,
        "argument": "code" if code is not None else "isin",
    }


ROOTS = (
    Root(
        "security",
        "One security by `MIC:local code` or by ISIN (give one).",
        RootKind.ONE,
        target="Security",
        where="""({mic}::text IS NULL OR ({c}.mic = {mic} AND {c}.local_code = {local}))
                 AND ({isin}::text IS NULL OR {c}.isin = {isin})""",
        args=(
            Arg("code", STRING, "e.g. `XKRX:000660`."),
            Arg("isin", STRING, "e.g. `KR7000660001`."),
        ),
        prepare=_security,
        params={"mic": "text", "local": "text"},
        scope=READ_REFERENCE,
        not_found="No security with {what} {given!r}",
        not_found_argument="{argument}",
    ),
    Root(
        "securities",
        "Securities, filtered and ordered, as a Relay connection.",
        RootKind.CONNECTION,
        target="Security",
        order=(OrderKey("{t}.mic"), OrderKey("{t}.local_code")),
        scope=READ_REFERENCE,
    ),
)

STOCK_CONNECT_ELIGIBILITY = Entity(
    "StockConnectEligibility",
    "A period during which a stock is tradable through Stock Connect (eligible, or sell-only on the "
    "special list).",
    source="security_connect_eligibility",
    key=BY_ID,
    fields=(
        *ELIGIBILITY_PERIOD,
        Column("reason", "{t}.reason", STRING, "Why the period began, as published.", nullable=True),
        Relation("security", "Security", "The stock.", join="{c}.id = {p}.security_id", sort=True),
    ),
    wheres=(ACTIVE_ON,),
)

ENTITIES = (SECURITY, ETF_EXPOSURE, STOCK_CONNECT_ELIGIBILITY)
