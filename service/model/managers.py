"""Asset managers (ETF issuers and index licensees) and the index licences they hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.scopes import READ_REFERENCE
from service.model.common import BOOLEAN, BY_ID, DATE, STRING, fund_list, like_pattern, manager_on
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
from service.model.enums import LICENCE_STATUS

# A licence's index code and manager slug: its Relay id and its orderings.
LICENCE_INDEX_CODE = "(SELECT i.code FROM indices i WHERE i.id = {t}.index_id)"
LICENCE_MANAGER_SLUG = "(SELECT m.slug FROM asset_managers m WHERE m.id = {t}.manager_id)"

MANAGER = Entity(
    "Manager",
    "An asset manager: ETF issuer and index licensee.",
    source="asset_managers",
    key=BY_ID,
    node=NodeKey(
        sql="{t}.slug",
        pattern=r"([a-z0-9]+(?:-[a-z0-9]+)*)",
        lookup="{t}.slug = {k1}",
        example="Manager:csop",
    ),
    fields=(
        Column("slug", "{t}.slug", STRING, "Identity, e.g. `csop`."),
        Column("legalName", "{t}.legal_name", STRING, "Legal name."),
        Column("shortName", "{t}.short_name", STRING, "Name in common use."),
        Column("homeMarket", "{t}.home_market", STRING, "Home market (ISO 3166 alpha-2)."),
        Column("website", "{t}.website", STRING, "Website.", nullable=True),
        fund_list(
            "etfs",
            "Funds this manager runs on `asOf` (default today), among those listed that day: a fund "
            "follows its manager history (`Etf.managers`).",
            "{p}.id = " + manager_on("{c}", "{asOf}"),
        ),
        Relation(
            "licences",
            "Licence",
            "Index licences this manager holds.",
            join="{c}.manager_id = {p}.id",
            many=True,
            order=(OrderKey("{t}.licensed_on", type="date"), OrderKey(LICENCE_INDEX_CODE)),
        ),
    ),
    wheres=(
        Where(
            "search",
            STRING,
            "Part of the short or legal name, case-insensitive.",
            "({t}.short_name ILIKE {value} OR {t}.legal_name ILIKE {value})",
            transform=like_pattern,
        ),
    ),
)

LICENCE = Entity(
    "Licence",
    "A licence granted by an index provider to an asset manager.",
    source="index_licences",
    key=BY_ID,
    node=NodeKey(
        sql=LICENCE_INDEX_CODE + " || ':' || " + LICENCE_MANAGER_SLUG,
        pattern=r"([A-Z0-9][A-Z0-9&-]*):([a-z0-9]+(?:-[a-z0-9]+)*)",
        lookup="{t}.index_id = (SELECT i.id FROM indices i WHERE i.code = {k1})"
        " AND {t}.manager_id = (SELECT m.id FROM asset_managers m WHERE m.slug = {k2})",
        example="Licence:HKEX-KRX-SEMI:csop",
    ),
    fields=(
        Column("licensedOn", "{t}.licensed_on", DATE, "Date the licence was granted or announced."),
        Column("status", "{t}.status", LICENCE_STATUS, "Signed, product launched, or lapsed."),
        Column(
            "isIllustrative",
            "{t}.is_illustrative",
            BOOLEAN,
            "True when the licensee is illustrative (not named in published sources).",
        ),
        Column("notes", "{t}.notes", STRING, "Notes on the licence.", nullable=True),
        Relation("index", "Index", "The licensed index.", join="{c}.id = {p}.index_id", sort=True),
        Relation("manager", "Manager", "The licensee.", join="{c}.id = {p}.manager_id", sort=True),
        fund_list(
            "products",
            "Funds the licensee lists on the index, listed on `asOf` (default today).",
            "{c}.index_id = {p}.index_id AND {c}.issuer_id = {p}.manager_id",
        ),
        Column(
            "hasLaunchedProduct",
            "EXISTS (SELECT 1 FROM etfs x WHERE x.index_id = {t}.index_id AND x.issuer_id = {t}.manager_id)",
            BOOLEAN,
            "The licensee has listed at least one fund on the index (delisted ones included).",
        ),
    ),
)


def _slug(args: Mapping[str, Any], context: Context) -> Mapping[str, Any]:
    return {"slug": args["slug"].strip().lower()}


ROOTS = (
    Root(
        "manager",
        "One asset manager by slug.",
        RootKind.ONE,
        target="Manager",
        where="{c}.slug = {slug}",
        args=(Arg("slug", STRING, "e.g. `csop`.", required=True),),
        prepare=_slug,
        scope=READ_REFERENCE,
        not_found="No manager with slug {slug!r}",
        not_found_argument="slug",
    ),
    Root(
        "managers",
        "Asset managers, filtered and ordered, as a Relay connection.",
        RootKind.CONNECTION,
        target="Manager",
        order=(OrderKey("{t}.slug"),),
        scope=READ_REFERENCE,
    ),
)

ENTITIES = (MANAGER, LICENCE)
