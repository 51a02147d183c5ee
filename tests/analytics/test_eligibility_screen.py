"""The ETF Connect eligibility screen (issue 15, capability 4): exact answers on the demo data, and at every
review the screen predicts exactly the southbound changes the demo's eligibility records."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.demo import story
from service.demo.generate import WINDOW_END
from service.model.eligibility import next_review
from service.repositories import eligibility as repo
from service.repositories.base import numbered
from tests.demo.test_story import PERIODS, _events

SCREEN = """
query Screen($direction: ConnectDirection!, $review: Date) {
  connectEligibilityScreen(direction: $direction, reviewDate: $review) {
    direction reviewDate windowFrom windowTo currency inclusionThreshold exclusionThreshold
    atRisk { ...line }
    candidates { ...line }
    funds { ...line }
  }
}
fragment line on EligibilityScreenLine {
  etf { code } status outcome averageAum tradingDays lastDay threshold margin marginPct criteriaNotMet
}"""

AFTER = {"ADD": "ELIGIBLE", "RESTORE": "ELIGIBLE", "MOVE_TO_SELL_ONLY": "SELL_ONLY", "REMOVE": None}


async def test_the_screen_before_each_review_predicts_exactly_the_recorded_changes(
    gql: Any, conn: Any
) -> None:
    # given the southbound changes the demo records (both links move together), from the widening on
    periods = [p for p in await conn.fetch(PERIODS) if p["channel"] == "SHANGHAI"]
    recorded = [e for e in _events(periods) if e[1] >= story.WIDENED]

    # when each review is screened
    predicted = []
    for review in story.review_days(WINDOW_END):
        body = await gql(SCREEN, {"direction": "SOUTHBOUND", "review": review.isoformat()})
        screen = body["data"]["connectEligibilityScreen"]
        lines = screen["atRisk"] + screen["candidates"]
        predicted += [(line["etf"]["code"], review, AFTER[line["outcome"]]) for line in lines]
        # every fund the review moves is in `funds` too, and nothing else in it moves
        moved = {line["etf"]["code"] for line in screen["funds"] if line["outcome"] != "NO_CHANGE"}
        assert moved == {line["etf"]["code"] for line in lines}

    # then the screen agrees with every recorded change, and only with those
    assert sorted(predicted, key=lambda e: (e[1], e[0])) == recorded
    assert ("XHKG:03110", date(2025, 3, 10), None) in predicted
    assert ("XHKG:02837", date(2025, 9, 8), "ELIGIBLE") in predicted


async def test_the_june_2025_review_puts_02837_at_risk_with_its_margin(gql: Any, conn: Any, db: Any) -> None:
    body = await gql(SCREEN, {"direction": "SOUTHBOUND", "review": "2025-06-09"})
    assert len(db.statements) == 1
    screen = body["data"]["connectEligibilityScreen"]
    assert {k: screen[k] for k in ("direction", "reviewDate", "windowFrom", "windowTo", "currency")} == {
        "direction": "SOUTHBOUND", "reviewDate": "2025-06-09", "windowFrom": "2024-12-09",
        "windowTo": "2025-06-08", "currency": "HKD",
    }  # fmt: skip
    assert (screen["inclusionThreshold"], screen["exclusionThreshold"]) == ("550000000", "450000000")
    assert screen["candidates"] == []
    assert screen["atRisk"] == [
        {"etf": {"code": "XHKG:02837"}, "status": "ELIGIBLE", "outcome": "MOVE_TO_SELL_ONLY",
         "averageAum": "361245733.43", "tradingDays": 119, "lastDay": "2025-06-06",
         "threshold": "450000000", "margin": "-88754266.57", "marginPct": "-19.72", "criteriaNotMet": []},
    ]  # fmt: skip

    # the average is the fund's days' AUM, each converted by the money rule, averaged to the cent
    rows = await conn.fetch(
        """SELECT round(s.aum * (fx_rate(s.currency, 'HKD', s.trading_day)).rate, 2) AS hkd
           FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
           WHERE e.code = '02837' AND s.trading_day BETWEEN '2024-12-09' AND '2025-06-08'"""
    )
    average = sum(r["hkd"] for r in rows) / len(rows)
    assert Decimal("361245733.43") == average.quantize(Decimal("0.01"), ROUND_HALF_UP)


async def test_a_sell_only_fund_back_above_inclusion_is_a_candidate(gql: Any) -> None:
    body = await gql(SCREEN, {"direction": "SOUTHBOUND", "review": "2025-09-08"})
    screen = body["data"]["connectEligibilityScreen"]
    candidates = {c["etf"]["code"]: (c["status"], c["outcome"]) for c in screen["candidates"]}
    assert candidates == {"XHKG:02837": ("SELL_ONLY", "RESTORE"), "XHKG:03110": (None, "ADD")}
    margins = [Decimal(c["margin"]) for c in screen["candidates"]]
    assert margins == sorted(margins, reverse=True) and all(m >= 0 for m in margins)
    for line in screen["candidates"]:
        assert line["threshold"] == "550000000"
        assert Decimal(line["marginPct"]) == (Decimal(line["margin"]) * 100 / 550000000).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )


async def test_funds_that_fail_a_criterion_are_no_candidates(gql: Any) -> None:
    body = await gql(SCREEN, {"direction": "SOUTHBOUND", "review": "2026-09-07"})
    funds = {f["etf"]["code"]: f for f in body["data"]["connectEligibilityScreen"]["funds"]}
    # gold, money-market and US-equity funds (far above HK$550m), the synthetic leveraged and inverse
    # products, the delisted 02833, the mainland funds, and funds on other markets' shares are not screened
    for code in ("XHKG:02840", "XHKG:03053", "XHKG:02834", "XHKG:02814", "XHKG:07226", "XHKG:07552",
                 "XHKG:02833", "XSHG:510300", "XHKG:03431", "XHKG:03433"):  # fmt: skip
        assert code not in funds, code
    # the funds on the link all are, and the ones below the inclusion threshold that meet the criteria
    assert {"XHKG:02800", "XHKG:02828", "XHKG:03033", "XHKG:03067", "XHKG:03110", "XHKG:02801"} <= set(funds)
    assert all(f["criteriaNotMet"] == [] for f in funds.values())


async def test_northbound_screens_mainland_funds_in_renminbi(gql: Any) -> None:
    body = await gql(SCREEN, {"direction": "NORTHBOUND", "review": "2026-12-07"})
    screen = body["data"]["connectEligibilityScreen"]
    assert (screen["currency"], screen["inclusionThreshold"], screen["exclusionThreshold"]) == (
        "CNY",
        "500000000",
        "500000000",
    )
    assert screen["atRisk"] == [] and screen["candidates"] == []
    assert {f["etf"]["code"] for f in screen["funds"]} == {
        "XSHG:510300", "XSHG:510310", "XSHG:510330", "XSHG:588000", "XSHE:159915", "XSHE:159919",
    }  # fmt: skip
    # QDII funds on Hong Kong shares are not northbound candidates (investment focus)
    assert all(f["status"] == "ELIGIBLE" for f in screen["funds"])


async def test_a_review_before_the_widened_criteria_is_refused(gql: Any) -> None:
    body = await gql(SCREEN, {"direction": "SOUTHBOUND", "review": "2024-06-03"})
    assert body["data"]["connectEligibilityScreen"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["argument"] == "reviewDate"


def test_the_next_review_is_the_monday_after_the_first_friday_of_the_quarters_last_month() -> None:
    assert next_review(date(2026, 11, 30)) == date(2026, 12, 7)
    assert next_review(date(2026, 12, 8)) == date(2027, 3, 8)
    assert next_review(date(2025, 9, 8)) == date(2025, 9, 8)
    assert all(next_review(day) == day for day in story.review_days(WINDOW_END)[1:])


async def test_etfs_carry_their_investment_focus(gql: Any) -> None:
    body = await gql('{ gold: etf(code: "XHKG:02840") { investmentFocus } a50: etf(code: "XHKG:02822") '
                     '{ investmentFocus } }')  # fmt: skip
    assert body["data"] == {
        "gold": {"investmentFocus": "COMMODITY"},
        "a50": {"investmentFocus": "MAINLAND_EQUITY"},
    }


async def test_the_rollup_gives_the_averages_the_fund_days_give(conn: Any) -> None:
    reviews = [*story.review_days(WINDOW_END), date(2026, 12, 7)]
    for direction in ("SOUTHBOUND", "NORTHBOUND"):
        for review in reviews:
            args = (review, direction)
            rolled = await conn.fetch(numbered(repo.SCREEN, ("review", "direction")) + " ORDER BY 2", *args)
            days = await conn.fetch(
                numbered(repo.SCREEN_FROM_DAYS, ("review", "direction")) + " ORDER BY 2", *args
            )
            assert [dict(r) for r in rolled] == [dict(r) for r in days], (direction, review)
            assert any(r["average"] is not None for r in rolled)


async def test_the_rollup_follows_a_refresh_of_the_etf_rollups(conn: Any) -> None:
    # given 02837's figures of 2025-06-06 gone, and the ETF rollups refreshed from that day as a load does
    await conn.execute(
        """DELETE FROM etf_daily_stats s USING etfs e
           WHERE e.id = s.etf_id AND e.code = '02837' AND s.trading_day = '2025-06-06'"""
    )
    await conn.execute("SELECT refresh_etf_rollups('2025-06-06')")

    # then the screen's average is over one day less, as the fund-days say
    args = (date(2025, 6, 9), "SOUTHBOUND")
    rolled = await conn.fetch(numbered(repo.SCREEN, ("review", "direction")) + " ORDER BY 2", *args)
    days = await conn.fetch(numbered(repo.SCREEN_FROM_DAYS, ("review", "direction")) + " ORDER BY 2", *args)
    assert [dict(r) for r in rolled] == [dict(r) for r in days]
    line = next(r for r in rolled if r["etf_key"] == "XHKG:02837")
    assert (line["days"], line["last_day"]) == (118, date(2025, 6, 5))


async def test_a_fund_missing_from_the_rollups_first_day_is_averaged_from_its_own_days(conn: Any) -> None:
    # given a new fund (the highest id) with figures from 2025-01-02 on, and the ETF rollups refreshed from
    # that day as a load does: the days before it keep their arrays, one fund shorter
    fund = await conn.fetchval(
        """INSERT INTO etfs (mic, code, name_en, issuer_id, listing_date, base_currency, replication)
           SELECT 'XHKG', '09999', 'New Fund', id, '2024-06-03', 'HKD', 'PHYSICAL' FROM asset_managers
           WHERE slug = 'csop' RETURNING id"""
    )
    await conn.execute(
        """INSERT INTO etf_daily_stats (etf_id, trading_day, currency, nav_per_unit, shares_outstanding, aum)
           SELECT $1, s.trading_day, 'HKD', 10, 60000000 + n, (60000000 + n) * 10
           FROM (SELECT s.trading_day, row_number() OVER (ORDER BY s.trading_day) AS n
                 FROM etf_daily_stats s JOIN etfs e ON e.id = s.etf_id
                 WHERE e.code = '02800' AND s.trading_day BETWEEN '2025-01-02' AND '2025-06-06') s""",
        fund,
    )
    await conn.execute("SELECT refresh_etf_rollups('2025-01-02')")
    sizes = await conn.fetch(
        """SELECT cardinality(etf_ids) AS funds FROM etf_aum_totals
           WHERE trading_day IN ((SELECT max(trading_day) FROM etf_aum_totals WHERE trading_day < '2024-12-09'),
                                 (SELECT max(trading_day) FROM etf_aum_totals WHERE trading_day < '2025-06-09'))
           ORDER BY trading_day"""
    )
    assert sizes[0]["funds"] + 1 == sizes[1]["funds"]

    # when the June 2025 review is screened from the rollup and from the fund-days
    args = (date(2025, 6, 9), "SOUTHBOUND")
    rolled = await conn.fetch(numbered(repo.SCREEN, ("review", "direction")) + " ORDER BY 2", *args)
    days = await conn.fetch(numbered(repo.SCREEN_FROM_DAYS, ("review", "direction")) + " ORDER BY 2", *args)

    # then they agree, and the new fund is averaged over its own days only
    assert [dict(r) for r in rolled] == [dict(r) for r in days]
    line = next(r for r in rolled if r["etf_id"] == fund)
    count = await conn.fetchval("SELECT count(*) FROM etf_daily_stats WHERE etf_id = $1", fund)
    assert (line["days"], line["outcome"]) == (count, "ADD")
    assert line["average"] == (600_000_000 + 10 * Decimal(count + 1) / 2).quantize(Decimal("0.01"))


PAGE = """
query Page($review: Date, $first: Int, $after: String, $last: Int, $before: String) {
  connectEligibilityScreen(direction: SOUTHBOUND, reviewDate: $review) {
    fundsConnection(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges { cursor node { etf { code } outcome margin marginPct criteriaNotMet } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""

WHOLE = """
query Whole($review: Date) {
  connectEligibilityScreen(direction: SOUTHBOUND, reviewDate: $review) {
    funds { ...line }
    firstFunds: funds(first: 2) { ...line }
    lastFunds: funds(last: 2) { ...line }
    fundsConnection(first: 1) { totalCount }
    atRisk { ...line }
    atRiskConnection(first: 1) { totalCount }
    candidates { ...line }
    candidatesConnection(first: 1) { totalCount }
    byPct: funds(orderBy: [{field: MARGIN_PCT, direction: DESC}]) { ...line }
    below: funds(filter: {marginPct: {lt: 0}}) { ...line }
  }
}
fragment line on EligibilityScreenLine { etf { code } outcome margin marginPct criteriaNotMet }"""


async def _pages(gql: Any, review: str, size: int, total: int, *, backward: bool = False) -> list[Any]:
    """The screen's funds, a page of ``size`` lines at a time (from the end when ``backward``)."""
    pages: list[list[Any]] = []
    cursor = None
    while True:
        args = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        page = (await gql(PAGE, {"review": review, **args}))["data"]["connectEligibilityScreen"]
        connection = page["fundsConnection"]
        assert connection["totalCount"] == total  # every page counts the whole list
        pages.append([edge["node"] for edge in connection["edges"]])
        if not connection["pageInfo"]["hasPreviousPage" if backward else "hasNextPage"]:
            break
        cursor = connection["pageInfo"]["startCursor" if backward else "endCursor"]
    assert all(len(page) == size for page in pages[:-1])
    return [line for page in (pages[::-1] if backward else pages) for line in page]


async def test_pages_of_the_screens_lists_make_up_the_whole_lists(gql: Any) -> None:
    for review in ("2025-06-09", "2025-09-08", "2026-09-07"):
        # given every list of a review, whole
        screen = (await gql(WHOLE, {"review": review}))["data"]["connectEligibilityScreen"]
        funds = screen["funds"]
        assert len(funds) > 3

        # then pages of three lines, forward and backward, make up the whole list
        assert await _pages(gql, review, 3, len(funds)) == funds
        assert await _pages(gql, review, 3, len(funds), backward=True) == funds
        # the first and last N are the list's, and each list counts all its lines whatever the page
        assert (screen["firstFunds"], screen["lastFunds"]) == (funds[:2], funds[-2:])
        for name in ("funds", "atRisk", "candidates"):
            assert screen[f"{name}Connection"]["totalCount"] == len(screen[name])
        # the margin in percent (worked out per line output) orders and filters the lines
        pcts = [line["marginPct"] for line in screen["byPct"]]
        known = [Decimal(pct) for pct in pcts if pct is not None]
        assert known == sorted(known, reverse=True) and pcts[len(known) :] == [None] * (
            len(pcts) - len(known)
        )
        below = [line for line in funds if line["marginPct"] is not None and Decimal(line["marginPct"]) < 0]
        assert screen["below"] == below
