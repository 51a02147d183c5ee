"""Indices, their daily levels and their constituents (memberships over periods, with weights)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.scopes import READ_FLOWS, READ_REFERENCE
from service.model.common import (
    BOOLEAN,
    BY_ID,
    DATE,
    DECIMAL,
    INT,
    STRING,
    as_of,
    from_arg,
    fund_list,
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

INDEX = Entity(
    "Index",
    "A market index: its methodology, constituents, levels, licences and trackers.",
    source="indices",
    key=BY_ID,
    node=NodeKey(
        sql="{t}.code", pattern=r"([A-Z0-9][A-Z0-9&-]*)", lookup="{t}.code = {k1}", example="Index:HSI"
    ),
    fields=(
        Column("code", "{t}.code", STRING, "Identity, e.g. `HSI`, `HKEX-KRX-SEMI`."),
        Column("name", "{t}.name", STRING, "Full name."),
        Column("nameZh", "{t}.name_zh", STRING, "Chinese name, where known.", nullable=True),
        Column("provider", "{t}.provider", STRING, "Index provider, e.g. Hang Seng Indexes, HKEX."),
        Column(
            "market",
            "{t}.market",
            STRING,
            "Market whose listed securities the index covers (ISO 3166 alpha-2: `HK` for the Hang Seng "
            "indices, `CN` for CSI 300); null when it spans several.",
            nullable=True,
        ),
        Column("currency", "{t}.currency", STRING, "Currency of the index levels."),
        Column("baseDate", "{t}.base_date", DATE, "Date of the base value.", nullable=True),
        Column("baseValue", "{t}.base_value", DECIMAL, "Level on the base date.", nullable=True),
        Column("launchDate", "{t}.launch_date", DATE, "Date the index was launched.", nullable=True),
        Column(
            "weighting",
            "{t}.weighting",
            STRING,
            "Weighting method, e.g. free-float market cap.",
            nullable=True,
        ),
        Column(
            "weightCapPct", "{t}.weight_cap_pct", DECIMAL, "Cap on a constituent's weight, %.", nullable=True
        ),
        Column(
            "reviewFrequency",
            "{t}.review_frequency",
            STRING,
            "How often constituents are reviewed.",
            nullable=True,
        ),
        Column(
            "rebalanceFrequency",
            "{t}.rebalance_frequency",
            STRING,
            "How often weights are rebalanced.",
            nullable=True,
        ),
        Column(
            "constituentCount",
            "{t}.constituent_count",
            INT,
            "Number of constituents by methodology (the data may hold a subset).",
            nullable=True,
        ),
        Column(
            "methodologyNotes", "{t}.methodology_notes", STRING, "Further methodology notes.", nullable=True
        ),
        Column("themes", "{t}.themes", STRING, "Theme tags, e.g. `semiconductor`, `technology`.", many=True),
        Column(
            "isIllustrative",
            "{t}.is_illustrative",
            BOOLEAN,
            "True when facts about this index are illustrative rather than published.",
        ),
        Column(
            "totalWeightPct",
            "(SELECT coalesce(sum(w.weight_pct), 0) FROM index_memberships w"
            " WHERE w.index_id = {t}.id AND w.period @> {asOf})",
            DECIMAL,
            "Sum of constituent weights on `asOf`, % (about 100).",
            args=(as_of("Point in time; default today (Hong Kong)."),),
        ),
        Relation(
            "constituents",
            "Constituent",
            "Members on `asOf` (default today), heaviest first.",
            join="{c}.index_id = {p}.id",
            many=True,
            args=(as_of("Point in time; default today (Hong Kong).", when="{c}.period @> {asOf}"),),
            order=(
                OrderKey("{t}.weight_pct", descending=True, type="numeric"),
                OrderKey("{t}.security_mic"),
                OrderKey("{t}.security_local_code"),
            ),
        ),
        fund_list(
            "etfs", "Funds tracking this index, listed on `asOf` (default today).", "{c}.index_id = {p}.id"
        ),
        Relation(
            "licences",
            "Licence",
            "Managers licensed to build products on this index.",
            join="{c}.index_id = {p}.id",
            many=True,
            order=(
                OrderKey("{t}.licensed_on", type="date"),
                OrderKey("(SELECT m.slug FROM asset_managers m WHERE m.id = {t}.manager_id)"),
            ),
        ),
        Relation(
            "levels",
            "IndexLevel",
            "Daily closing levels in [from, to], oldest first.",
            join="{c}.index_id = {p}.id",
            many=True,
            scope=READ_FLOWS,
            args=(
                from_arg(when="{c}.trading_day >= {from}"),
                to_arg(when="{c}.trading_day <= {to}"),
            ),
            prepare=window,
            filter=False,
        ),
    ),
    wheres=(
        Where(
            "theme",
            STRING,
            "A theme tag, e.g. `semiconductor` (shorthand for `themes: {has: ...}`).",
            "{t}.themes @> ARRAY[{value}]",
        ),
        Where(
            "search",
            STRING,
            "Part of the name (English or Chinese) or code, case-insensitive.",
            "({t}.name ILIKE {value} OR {t}.name_zh ILIKE {value} OR {t}.code ILIKE {value})",
            transform=like_pattern,
        ),
    ),
)

INDEX_LEVEL = Entity(
    "IndexLevel",
    "An index's closing level on one trading day.",
    source="index_levels",
    key=(OrderKey("{t}.trading_day", type="date"), OrderKey("{t}.index_id", type="bigint")),
    series=True,
    fields=(
        Column("tradingDay", "{t}.trading_day", DATE, "Exchange-local trading date."),
        Column("level", "{t}.level", DECIMAL, "Closing level."),
    ),
)

# A membership with its security's identity alongside, so that lists order by security code cheaply.
CONSTITUENT = Entity(
    "Constituent",
    "A security's membership of an index over a period, with its weight.",
    source="""(SELECT m.*, s.mic AS security_mic, s.local_code AS security_local_code
               FROM index_memberships m JOIN securities s ON s.id = m.security_id)""",
    key=BY_ID,
    fields=(
        Column("weightPct", "{t}.weight_pct", DECIMAL, "Weight in the index, %."),
        Column("effectiveFrom", "{t}.effective_from", DATE, "First day of the period."),
        Column(
            "effectiveTo",
            "{t}.effective_to",
            DATE,
            "Day the period ended (exclusive); null while current.",
            nullable=True,
        ),
        Relation("security", "Security", "The member security.", join="{c}.id = {p}.security_id", sort=True),
        Relation("index", "Index", "The index.", join="{c}.id = {p}.index_id", sort=True),
    ),
    wheres=(Where("activeOn", DATE, "Only periods in force on this date.", "{t}.period @> {value}"),),
)


def _code(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    return {"code": args["code"].strip().upper()}


ROOTS = (
    Root(
        "index",
        "One index by code.",
        RootKind.ONE,
        target="Index",
        where="{c}.code = {code}",
        args=(Arg("code", STRING, "e.g. `HSI`.", required=True),),
        prepare=_code,
        scope=READ_REFERENCE,
        not_found="No index with code {code!r}",
        not_found_argument="code",
    ),
    Root(
        "indices",
        "Indices, filtered and ordered, as a Relay connection.",
        RootKind.CONNECTION,
        target="Index",
        order=(OrderKey("{t}.code"),),
        scope=READ_REFERENCE,
    ),
)

ENTITIES = (INDEX, INDEX_LEVEL, CONSTITUENT)
