"""The rule the demo's southbound ETF Connect eligibility follows, stated once for the data and its test.

At each review, a Hong Kong ETF that is a candidate is judged on its six-month average daily AUM in HK$
(each day's AUM at that day's rate; the Hong Kong trading days from six months before the review up to
the day before it):

* not eligible, average at or above HK$550m: added (eligible);
* eligible, average below HK$450m: moved to the special list (sell-only: holders may only sell);
* on the special list, average at or above HK$550m: restored; below HK$450m: removed;
* otherwise nothing changes (the gap between the two thresholds keeps a fund from flapping).

The thresholds are the widened criteria effective 2024-07-22 (domain notes); the review days are that
day, then the Monday after the first Friday of March, June, September and December. A candidate is
listed on XHKG, physically replicated, neither leveraged nor inverse, listed six months before the
review, and an equity fund investing in Hong Kong or mainland shares: not the demo's gold, money-market
and US-equity funds (``NOT_CANDIDATES``). The grace of one review on the special list before removal
is the demo's assumption (illustrative, like the figures). The ETF Connect launch in July 2022 predates
the figures: its additions are the starting state, not recomputed.

``service/demo/data/figures/etf-seeds.csv`` gives the funds whose story needs it an AUM path that the
figure generator follows; ``tests/demo/test_story.py`` recomputes every southbound change from the
loaded AUM series with ``replay`` and compares it with the loaded eligibility.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

INCLUDE_HKD = Decimal(550_000_000)
EXCLUDE_HKD = Decimal(450_000_000)
WIDENED = date(2024, 7, 22)

# Hong Kong ETFs of the demo that are not equity funds on Hong Kong or mainland shares.
NOT_CANDIDATES: Mapping[str, str] = {
    "XHKG:02840": "a gold fund",
    "XHKG:03053": "a money-market fund",
    "XHKG:02834": "US equities (Nasdaq-100)",
    "XHKG:02814": "US equities (NYSE FANG+)",
}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day when it has no such day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def review_days(until: date) -> list[date]:
    """The widening, then the Monday after the first Friday of Mar/Jun/Sep/Dec, up to ``until``."""
    days = [WIDENED]
    for year in range(WIDENED.year, until.year + 1):
        for month in (3, 6, 9, 12):
            first = date(year, month, 1)
            friday = first + timedelta(days=(4 - first.weekday()) % 7)
            monday = friday + timedelta(days=3)
            if WIDENED < monday <= until:
                days.append(monday)
    return days


def window(review: date) -> tuple[date, date]:
    """[first, last] day whose AUM a review averages."""
    return months_before(review, 6), review - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Fund:
    key: str  # MIC:code
    listing_date: date
    delisting_date: date | None
    physical: bool
    leveraged_or_inverse: bool

    def candidate(self, review: date) -> bool:
        return (
            self.key.startswith("XHKG:")
            and self.key not in NOT_CANDIDATES
            and self.physical
            and not self.leveraged_or_inverse
            and self.listing_date <= months_before(review, 6)
            and (self.delisting_date is None or self.delisting_date > review)
        )


@dataclass(frozen=True, slots=True)
class Event:
    key: str
    day: date
    status: str | None  # ELIGIBLE, SELL_ONLY, or None (removed)
    average_hkd: Decimal


def average(series: Sequence[tuple[date, Decimal]], review: date) -> Decimal | None:
    """The six-month average daily AUM (HK$) before ``review``; None without figures in the window."""
    first, last = window(review)
    values = [aum for day, aum in series if first <= day <= last]
    return sum(values, Decimal(0)) / len(values) if values else None


def decide(status: str | None, avg: Decimal) -> str | None:
    """The status after a review: the rule of the module docstring."""
    if status is None and avg >= INCLUDE_HKD:
        return "ELIGIBLE"
    if status == "ELIGIBLE" and avg < EXCLUDE_HKD:
        return "SELL_ONLY"
    if status == "SELL_ONLY" and avg >= INCLUDE_HKD:
        return "ELIGIBLE"
    if status == "SELL_ONLY" and avg < EXCLUDE_HKD:
        return None
    return status


def replay(
    funds: Iterable[Fund],
    aum_hkd: Mapping[str, Sequence[tuple[date, Decimal]]],
    before: Mapping[str, str],
    until: date,
) -> list[Event]:
    """Every change the rule makes from the statuses ``before`` the first review (the launch's), given
    each fund's daily AUM in HK$, in review order."""
    status = dict(before)
    events: list[Event] = []
    for review in review_days(until):
        for fund in sorted(funds, key=lambda f: f.key):
            if not fund.candidate(review):
                continue
            avg = average(aum_hkd.get(fund.key, ()), review)
            if avg is None:
                continue
            after = decide(status.get(fund.key), avg)
            if after != status.get(fund.key):
                events.append(Event(fund.key, review, after, avg))
                if after is None:
                    status.pop(fund.key, None)
                else:
                    status[fund.key] = after
    return events
