"""The model: one declaration per entity (``declare.py`` is the vocabulary, ``naming.py`` the naming rules).

``MODEL`` lists every entity, every Query root (in the order the schema shows them) and every enum;
``check(MODEL)`` (run by the tests) holds it together: names resolve, scoped fields are nullable, every
description is written, every SQL placeholder is an argument or a declared parameter.
"""

from __future__ import annotations

from service.auth.scopes import READ_REFERENCE
from service.model import (
    analytics,
    calendars,
    eligibility,
    flows,
    funds,
    fx,
    indices,
    managers,
    operations,
    search,
    securities,
    windows,
)
from service.model.declare import Arg, Model, Root, RootKind, Scalar
from service.model.enums import ENUMS

RELAY = (
    Root(
        "node",
        "Any object by its Relay global id (`Etf:XHKG:03033`, `Index:HSI`, `Security:XKRX:000660`, "
        "`Manager:csop`, `Licence:HSI:hang-seng`; older base64 ids still resolve); null when none has it.",
        RootKind.NODE,
        args=(Arg("id", Scalar.ID, "The global id of the object.", required=True),),
        scope=READ_REFERENCE,
    ),
    Root(
        "nodes",
        "Objects by their Relay global ids, in the order asked (null where none has the id).",
        RootKind.NODES,
        args=(
            Arg(
                "ids", Scalar.ID, "The global ids (at most the largest page size).", required=True, many=True
            ),
        ),
        scope=READ_REFERENCE,
    ),
)


def _by_name(roots: tuple[Root, ...], *names: str) -> tuple[Root, ...]:
    found = {root.name: root for root in roots}
    return tuple(found[name] for name in names)


_ALL_ROOTS = (
    *funds.ROOTS,
    *indices.ROOTS,
    *securities.ROOTS,
    *managers.ROOTS,
    *flows.ROOTS,
    *analytics.ROOTS,
    *windows.ROOTS,
    *calendars.ROOTS,
    *fx.ROOTS,
    *eligibility.ROOTS,
    *search.ROOTS,
    *operations.ROOTS,
)

MODEL = Model(
    entities=(
        *indices.ENTITIES,
        *securities.ENTITIES,
        *managers.ENTITIES,
        *funds.ENTITIES,
        *flows.ENTITIES,
        *analytics.ENTITIES,
        *windows.ENTITIES,
        *calendars.ENTITIES,
        *fx.ENTITIES,
        *eligibility.ENTITIES,
        *search.ENTITIES,
        *operations.ENTITIES,
    ),
    roots=(
        *RELAY,
        *_by_name(
            _ALL_ROOTS,
            "etf",
            "index",
            "security",
            "manager",
            "etfs",
            "indices",
            "securities",
            "managers",
            "search",
            "connectEligibility",
            "eligibilityChanges",
            "connectEligibilityScreen",
            "connectFlows",
            "southboundTopStocks",
            "topEtfsByNetCreation",
            "flowSeries",
            "etfSeries",
            "trailingFlows",
            "trailingEtfFigures",
            "connectFlowTotals",
            "etfAggregates",
            "indexMembershipChanges",
            "lookThroughExposure",
            "calendarDays",
            "nextTradingDays",
            "previousTradingDay",
            "currencies",
            "fxRates",
            "apiKeys",
            "registeredOperations",
            "dataVersion",
            "datasets",
            "dataLoads",
        ),
    ),
    enums=ENUMS,
)

assert len(MODEL.roots) == len(_ALL_ROOTS) + len(RELAY), "every root is placed in MODEL.roots"
