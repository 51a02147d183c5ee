"""The engine answers a whole document exactly as strawberry's executor does when it asks the engine for
one root field at a time (the path of documents that also introspect): same data, same errors, the
engine's path in one statement per root field."""

from typing import Any

import pytest

from tests.ops.conftest import sample
from tests.schema.examples import EXAMPLES

MORE = [
    (
        "aliases, fragments and __typename",
        """
        query ($code: String!) {
          fund: etf(code: $code) {
            __typename id ...Names
            boss: issuer { __typename id slug ... on Manager { legalName } }
            trackedIndex { id code themes isIllustrative weightCapPct
              top3: constituents(first: 3) { weightPct security { id isin sector } index { code } }
              everyone: constituents { effectiveFrom } }
            counters { code localCode currency isPrimary }
          }
        }
        fragment Names on Etf { code name nameZh localCode mic isin listingDate delistingDate
          baseCurrency replication ongoingChargesPct isLeveragedInverse leverageFactor }
        """,
        {"code": "XHKG:02800"},
    ),
    (
        "every relationship of a manager and its licences",
        """
        { managers: manager(slug: "csop") { slug shortName homeMarket website
            etfs { code eligibility { direction channel status effectiveFrom effectiveTo reason etf { code } } }
            licences { licensedOn status notes index { code } manager { slug } products { code } hasLaunchedProduct } } }
        """,
        {},
    ),
    (
        "time series with windows and currencies",
        """
        query ($code: String!) {
          etf(code: $code) {
            dailyStats(last: 5) { tradingDay currency navPerUnit closePrice sharesOutstanding aum
              netCreationUnits netCreationValue turnover southboundHoldingUnits }
            window: dailyStats(from: "2025-03-01", to: "2025-03-10") { tradingDay aum }
            native: aumHistory(interval: QUARTER, currency: null) { periodStart aum currency fxRate }
            krw: aumHistory(interval: WEEK, currency: KRW, from: "2026-10-01") { aum fxRate fxRateDate }
            trackedIndex { levels(from: "2026-11-01") { tradingDay level } totalWeightPct }
          }
        }
        """,
        {"code": "XHKG:02800"},
    ),
    (
        "security memberships and exposure, with history",
        """
        { security(code: "XHKG:00700") { code name
            now: indexMemberships { weightPct index { code } }
            all: indexMemberships(history: true) { weightPct effectiveFrom effectiveTo index { code } }
            past: indexMemberships(asOf: "2025-01-02") { weightPct }
            exposedEtfs { weightPct etf { code } index { code } } } }
        """,
        {},
    ),
    (
        "flows in both directions and by channel",
        """
        { south: connectFlows(direction: SOUTHBOUND, channel: SHENZHEN, from: "2025-04-01", to: "2025-04-30") {
            tradingDay direction channel currency buyTurnover sellTurnover totalTurnover netBuy runningNetBuy
            tradeCount etfTurnover quotaBalance quotaBalanceUnlimited }
          north: connectFlows(direction: NORTHBOUND, lastTradingDays: 10) { tradingDay netBuy totalTurnover
            quotaBalance quotaBalanceUnlimited } }
        """,
        {},
    ),
    (
        "rankings and eligibility lookups",
        """
        { up: topEtfsByNetCreation(from: "2026-01-01", to: "2026-06-30", first: 5, currency: USD) {
            rank currency netCreationValue netCreationUnits tradingDays firstDay lastDay etf { code } }
          down: topEtfsByNetCreation(from: "2026-01-01", to: "2026-06-30", first: 5, direction: ASC) {
            rank netCreationValue etf { code } }
          byIssuer: topEtfsByNetCreation(from: "2025-01-01", to: "2025-12-31", issuer: "csop") { rank etf { code } }
          north: connectEligibility(direction: NORTHBOUND, asOf: "2025-06-30") { channel status etf { code } }
          sellOnly: connectEligibility(direction: SOUTHBOUND, asOf: "2025-06-30", status: SELL_ONLY) { etf { code } }
          changes: eligibilityChanges(direction: NORTHBOUND, from: "2022-01-01", to: "2026-11-20") {
            channel kind statusBefore statusAfter etf { code } } }
        """,
        {},
    ),
    (
        "analytics rankings on the rollup, windows counted on calendars",
        """
        { top: etfAggregates(groupBy: ETF, lastTradingDays: 20, calendar: SOUTHBOUND_CONNECT, top: 20) {
            rank groupBy key netCreationValue creationValue redemptionValue netCreationUnits turnover
            aumStart aumEnd aumChange currency etfCount tradingDays firstDay lastDay theme direction channel
            fx { fromCurrency toCurrency rate rateDate minRate maxRate firstRateDate lastRateDate
                 daysOnEarlierRate daysWithoutRate }
            etf { code name } issuer { slug } index { code } }
          byIssuer: etfAggregates(groupBy: ISSUER, from: "2026-07-01", to: "2026-09-30", currency: CNY,
                                  orderBy: AUM_CHANGE) { rank key aumStart aumEnd aumChange issuer { shortName } }
          byTheme: etfAggregates(groupBy: THEME, lastTradingDays: 60, orderBy: TURNOVER, direction: ASC) {
            rank key theme turnover etfCount }
          byIndex: etfAggregates(groupBy: INDEX, from: "2025-01-02", currency: NATIVE, top: 5) {
            rank key currency netCreationValue fx { fromCurrency rate } index { code } }
          krw: etfAggregates(from: "2025-12-01", to: "2025-12-31", currency: KRW, orderBy: REDEMPTION_VALUE,
                             issuer: "csop") { rank key redemptionValue fx { minRate maxRate } }
          aumChange: etfAggregates(from: "2025-09-22", to: "2025-10-10", currency: USD, orderBy: AUM_CHANGE,
                                   top: 8) { rank key aumStart aumEnd aumChange fx { minRate maxRate } }
          aumEnd: etfAggregates(lastTradingDays: 5, currency: NATIVE, orderBy: AUM_END, direction: ASC,
                                theme: "semiconductor") { rank key currency aumEnd fx { rate } }
          turnover: etfAggregates(from: "2025-01-02", to: "2025-01-31", orderBy: TURNOVER, index: "HSI") {
            rank key turnover tradingDays firstDay lastDay }
          creations: etfAggregates(lastTradingDays: 60, currency: CNY, orderBy: CREATION_VALUE, top: 3) {
            rank key creationValue redemptionValue netCreationValue } }
        """,
        {},
    ),
    (
        "Connect flow series: intervals, measures, channels, currencies, gaps and thresholds",
        """
        fragment all on SeriesBucket {
          periodStart periodEnd firstDay lastDay tradingDays daysWithValue currency
          sum avg min max first last runningTotal
          fx { fromCurrency toCurrency rate rateDate minRate maxRate firstRateDate lastRateDate
               daysOnEarlierRate daysWithoutRate } }
        query ($from: Date!, $to: Date!) {
          monthly: flowSeries(direction: SOUTHBOUND, interval: MONTH, from: $from, to: $to) {
            interval windowFrom windowTo direction channel measure buckets { ...all } }
          daily: flowSeries(direction: SOUTHBOUND, channel: SHENZHEN, measure: BUY_TURNOVER, from: "2025-01-24",
                            to: "2025-02-06", currency: USD) { windowFrom windowTo buckets { ...all } }
          north: flowSeries(direction: NORTHBOUND, interval: QUARTER, from: "2024-01-01", to: "2025-06-30",
                            currency: NATIVE) { measure buckets { ...all } }
          weekly: flowSeries(direction: SOUTHBOUND, interval: WEEK, measure: TOTAL_TURNOVER, currency: CNY) {
            interval windowFrom windowTo buckets { periodStart sum runningTotal fx { rate daysOnEarlierRate } } }
          above: flowSeries(direction: SOUTHBOUND, from: "2025-01-01", to: "2025-12-31",
                            sumAbove: "20000000000") { windowFrom windowTo buckets { firstDay sum } }
          none: flowSeries(direction: SOUTHBOUND, from: "2030-01-01", to: "2030-01-31") {
            windowFrom windowTo buckets { sum } } }
        """,
        {"from": "2024-01-01", "to": "2026-11-20"},
    ),
    (
        "Connect flow series over windows counted on the Connect days",
        """
        fragment some on SeriesBucket { periodStart firstDay lastDay tradingDays daysWithValue sum runningTotal
                                        fx { rate daysOnEarlierRate } }
        query ($last: Int!) {
          last20: flowSeries(direction: SOUTHBOUND, lastTradingDays: $last, to: "2025-02-10") {
            windowFrom windowTo buckets { ...some } }
          latest: flowSeries(direction: NORTHBOUND, interval: WEEK, lastTradingDays: 30, currency: USD) {
            windowFrom windowTo buckets { ...some } }
          since: flowSeries(direction: SOUTHBOUND, interval: MONTH, from: "2026-06-15") {
            windowFrom windowTo buckets { ...some } }
          after: flowSeries(direction: SOUTHBOUND, from: "2031-01-01") { windowFrom windowTo buckets { sum } }
          filtered: flowSeries(direction: SOUTHBOUND, lastTradingDays: 60, sumAbove: "1000000000000000") {
            windowFrom windowTo buckets { sum } } }
        """,
        {"last": 20},
    ),
    (
        "look-through exposure in several currencies",
        """
        query ($security: String!) {
          usd: lookThroughExposure(security: $security, asOf: "2026-11-20", currency: USD) {
            asOf currency etfCount aum exposure fx { toCurrency minRate maxRate daysOnEarlierRate }
            security { code name }
            indices { weightPct etfCount currency aum exposure fx { fromCurrency rate rateDate }
              index { code } etfs { weightPct aumDay nativeCurrency nativeAum currency aum exposure
                fx { rate rateDate daysOnEarlierRate } etf { code name } } } }
          hkd: lookThroughExposure(security: $security, asOf: "2025-06-30") { exposure indices { etfs { aum } } }
          native: lookThroughExposure(security: "XHKG:00700", currency: NATIVE) {
            currency aum exposure indices { currency aum etfs { currency aum } } } }
        """,
        {"security": "XKRX:000660"},
    ),
    (
        "connections: pages, cursors, page info, total, type names, nested connections",
        """
        query ($after: String) {
          etfs(first: 3, after: $after, orderBy: [{field: ISSUER_SHORT_NAME}, {field: NAME, direction: DESC}],
               filter: {or: [{mic: {eq: "XHKG"}}, {trackedIndex: {themes: {has: "china-a"}}}]}) {
            __typename totalCount
            pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
            edges { __typename cursor node { code issuer { shortName }
              dailyStatsConnection(last: 2) { edges { cursor node { tradingDay aum } } pageInfo { hasPreviousPage } }
              countersConnection { totalCount nodes { code } } } }
            nodes { name }
          }
          back: indices(last: 2, orderBy: {field: LAUNCH_DATE, direction: DESC}) { nodes { code launchDate } }
        }
        """,
        {"after": None},
    ),
    (
        "relay: node and nodes with inline fragments on the interface, fragments, directives",
        """
        query ($ids: [ID!]!, $withName: Boolean!, $skipCode: Boolean!) {
          one: node(id: "Etf:XHKG:03033") { __typename id ...on Etf { code name @include(if: $withName) } }
          many: nodes(ids: $ids) {
            __typename id
            ... on Etf { code @skip(if: $skipCode) trackedIndex { ...Idx } }
            ... on Index { ...Idx }
            ... on Manager { slug shortName }
            ... on Security { code sector }
            ... on Licence { status index { code } }
          }
        }
        fragment Idx on Index { code name }
        """,
        {
            "ids": [
                "Index:HSI",
                "Manager:csop",
                "Etf:XHKG:02800",
                "Security:XKRX:000660",
                "Licence:HSI:nope",
            ],
            "withName": True,
            "skipCode": False,
        },
    ),
    (
        "aliases of one field with different arguments, merged fields, the latest figures",
        """
        {
          a: etfs(first: 2, currency: USD, orderBy: {field: LATEST_AUM, direction: DESC}) {
            nodes { code latest { aum currency } } }
          b: etfs(first: 2, currency: NATIVE, orderBy: {field: LATEST_AUM, direction: DESC}) {
            nodes { code latest { aum currency } code } nodes { name } }
          hk: index(code: "HSI") { now: constituents(first: 2) { weightPct } then: constituents(first: 2, asOf: "2025-01-02") { weightPct } }
          changes: indexMembershipChanges(from: "2025-01-01", to: "2025-12-31", index: "HSTECH", kinds: [ADDED, REMOVED]) {
            effectiveDate kind weightBefore weightAfter security { code } }
          events: eligibilityChanges(direction: NORTHBOUND, from: "2022-01-01", to: "2026-11-20") {
            effectiveDate kind channel statusBefore statusAfter reason etf { code } }
        }
        """,
        {},
    ),
    (
        "service state and the connection variants of computed lists",
        """
        { dataVersion datasets { name isIllustrative lastLoad { id } }
          dataLoads(last: 3) { id dataset }
          flows: connectFlowsConnection(direction: SOUTHBOUND, from: "2025-04-01", to: "2025-04-30", first: 5,
                                        orderBy: {field: NET_BUY, direction: DESC}) {
            totalCount edges { cursor node { tradingDay netBuy } } } }
        """,
        {},
    ),
    (
        "the loader's datasets as an enum (stored as `etf-daily`), in arguments, filters and answers",
        """
        query ($dataset: Dataset) {
          dataLoads(dataset: $dataset, last: 2) { dataset status finishedAt }
          datasets(filter: {name: {in: [FX, ETF_DAILY]}}, orderBy: {field: NAME, direction: DESC}) { name }
          fx: dataLoads(dataset: FX, last: 1) { dataset } }
        """,
        {"dataset": "ETF_DAILY"},
    ),
]

CASES = [(name, doc, variables) for name, doc, variables in EXAMPLES] + MORE


@pytest.mark.parametrize(("name", "document", "variables"), CASES, ids=[c[0] for c in CASES])
async def test_the_engine_answers_as_strawberry_does(
    client: Any, reference_client: Any, db: Any, name: str, document: str, variables: dict[str, Any]
) -> None:
    payload = {"query": document, "variables": variables}
    db.statements.clear()
    reference = await reference_client.post("/graphql", json=payload)
    assert reference.status_code == 200
    assert "errors" not in reference.json(), reference.json()

    db.statements.clear()
    compiled = await client.post("/graphql", json=payload)

    assert compiled.json() == reference.json()
    roots = len(compiled.json()["data"])
    assert len(db.statements) == roots, "the engine runs one statement per root field"


async def test_datasets_are_named_by_the_enum_and_stored_by_the_loaders_names(client: Any) -> None:
    document = next(doc for name, doc, _ in MORE if name.startswith("the loader's datasets"))
    data = (
        await client.post("/graphql", json={"query": document, "variables": {"dataset": "ETF_DAILY"}})
    ).json()["data"]
    assert data["dataLoads"] and {load["dataset"] for load in data["dataLoads"]} == {"ETF_DAILY"}
    assert [d["name"] for d in data["datasets"]] == [
        "FX",
        "ETF_DAILY",
    ]  # by the stored names ("fx"), descending
    assert data["fx"] == [{"dataset": "FX"}]


ERRORS = [
    ("an unknown code", "query ($code: String!) { etf(code: $code) { code } }", {"code": "XHKG:99997"}),
    ("a malformed code", "query ($code: String!) { etf(code: $code) { code } }", {"code": "2800"}),
    (
        "a nested argument",
        '{ etf(code: "XHKG:02800") { code dailyStats(from: "2025-02-01", to: "2025-01-01") { aum } } }',
        {},
    ),
    ("a page too large", "{ etfs(first: 100000) { totalCount } indices(first: 1) { nodes { code } } }", {}),
    ("a bad id", '{ node(id: "Node:1") { id } }', {}),
]


@pytest.mark.parametrize(("name", "document", "variables"), ERRORS, ids=[e[0] for e in ERRORS])
async def test_errors_are_the_same_on_both_paths(
    client: Any, reference_client: Any, name: str, document: str, variables: dict[str, Any]
) -> None:
    payload = {"query": document, "variables": variables}
    reference = (await reference_client.post("/graphql", json=payload)).json()
    compiled = (await client.post("/graphql", json=payload)).json()
    assert compiled["data"] == reference["data"]
    assert [(e["path"], e["extensions"]) for e in compiled["errors"]] == [
        (e["path"], e["extensions"]) for e in reference["errors"]
    ]


async def test_a_document_that_also_introspects_runs_on_strawberry_and_is_counted(
    client: Any, db: Any
) -> None:
    async def fallbacks() -> float:
        text = (await client.get("/metrics")).text
        return sample(text, "connectgraph_engine_fallbacks_total", reason="introspection") or 0.0

    document = (
        "{ etfs(first: 2) { totalCount edges { cursor node { code } } } __schema { queryType { name } } }"
    )
    before = await fallbacks()
    for _ in range(2):
        db.statements.clear()
        response = await client.post("/graphql", json={"query": document})
        body = response.json()
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
        assert len(body["data"]["etfs"]["edges"]) == 2
        assert len(db.statements) == 1  # the engine still answers the data, one statement
    assert await fallbacks() == before + 2
