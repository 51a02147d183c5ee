"""Seeded generators of the illustrative daily figures: calendars, Connect flows, ETF stats, levels, FX.

Determinism: every random stream is ``random.Random(f"{seed}:{purpose}")`` (string seeds hash with
SHA-512, not ``hash()``), iteration is over sequences in a fixed order, and the arithmetic is plain
float +-*/ (no libm calls such as exp/log/pow, whose last bit may differ across platforms) turned into
``Decimal`` by correctly rounded formatting. The same seed gives the same rows on any machine.

Rows are plain tuples in the column order of the ``*_COLUMNS`` constants, keyed by natural keys (an
index's code, an ETF's ``MIC:code``); ``service/ingest/generate.py`` writes them as publishers' files,
which the demo and ``connectgraph generate`` load through ``connectgraph load``'s path.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from service.demo.reference import Reference, etf_key

DEFAULT_SEED = 20261125
WINDOW_START = date(2024, 1, 2)
WINDOW_END = date(2026, 11, 20)
# Exchanges publish their holidays for the year ahead, so the demo's calendars run past its figures: to
# the end of the last year whose holidays are curated below ("the next Connect days" have an answer).
CALENDAR_END = date(2026, 12, 31)

Row = tuple[object, ...]

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
MILLI = Decimal("0.001")
_SQRT3 = 1.7320508075688772

# The columns of the generated rows, in order (the first four are their declarations' field names).
CALENDAR_COLUMNS = ("market", "day", "is_open", "is_half_day", "note")
EXCEPTION_COLUMNS = ("direction", "day", "is_connect_day", "reason")
FX_COLUMNS = ("base_currency", "quote_currency", "day", "rate", "source")
LEVEL_COLUMNS = ("index_code", "trading_day", "level")
FLOW_COLUMNS = (
    "channel",
    "direction",
    "trading_day",
    "currency",
    "buy_turnover",
    "sell_turnover",
    "total_turnover",
    "net_buy",
    "trade_count",
    "buy_trade_count",
    "sell_trade_count",
    "etf_turnover",
    "daily_quota",
    "quota_balance",
    "quota_balance_unlimited",
)
# A top-ten row: (channel, direction, day, rank, local code, name, buy, sell, total); buy and sell are
# None where the split is not published (northbound from 2024-08-19).
TOP_STOCK_COLUMNS = (
    "channel",
    "direction",
    "trading_day",
    "rank",
    "local_code",
    "stock_name",
    "buy_turnover",
    "sell_turnover",
    "total_turnover",
)
STATS_COLUMNS = (
    "etf_key",
    "trading_day",
    "currency",
    "nav_per_unit",
    "close_price",
    "shares_outstanding",
    "aum",
    "net_creation_units",
    "net_creation_value",
    "turnover",
    "southbound_holding_units",
)


def normal(rng: random.Random) -> float:
    """An approximately standard normal variate from four uniforms (Irwin-Hall): libm-free."""
    return (rng.random() + rng.random() + rng.random() + rng.random() - 2.0) * _SQRT3


def days_between(start: date, end: date) -> Iterator[date]:
    """Every calendar day in [start, end]."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


# --------------------------------------------------------------------------------------------------
# Calendars

_D = date

# Weekday closures of the Hong Kong exchange (general holidays), 2024-2026.
HK_HOLIDAYS: Mapping[date, str] = {
    _D(2024, 1, 1): "New Year's Day",
    _D(2024, 2, 12): "Lunar New Year (third day)",
    _D(2024, 2, 13): "Lunar New Year (fourth day)",
    _D(2024, 3, 29): "Good Friday",
    _D(2024, 4, 1): "Easter Monday",
    _D(2024, 4, 4): "Ching Ming Festival",
    _D(2024, 5, 1): "Labour Day",
    _D(2024, 5, 15): "Buddha's Birthday",
    _D(2024, 6, 10): "Tuen Ng Festival",
    _D(2024, 7, 1): "HKSAR Establishment Day",
    _D(2024, 9, 18): "Day following the Mid-Autumn Festival",
    _D(2024, 10, 1): "National Day",
    _D(2024, 10, 11): "Chung Yeung Festival",
    _D(2024, 12, 25): "Christmas Day",
    _D(2024, 12, 26): "First weekday after Christmas Day",
    _D(2025, 1, 1): "New Year's Day",
    _D(2025, 1, 29): "Lunar New Year's Day",
    _D(2025, 1, 30): "Lunar New Year (second day)",
    _D(2025, 1, 31): "Lunar New Year (third day)",
    _D(2025, 4, 4): "Ching Ming Festival",
    _D(2025, 4, 18): "Good Friday",
    _D(2025, 4, 21): "Easter Monday",
    _D(2025, 5, 1): "Labour Day",
    _D(2025, 5, 5): "Buddha's Birthday",
    _D(2025, 7, 1): "HKSAR Establishment Day",
    _D(2025, 10, 1): "National Day",
    _D(2025, 10, 7): "Day following the Mid-Autumn Festival",
    _D(2025, 10, 29): "Chung Yeung Festival",
    _D(2025, 12, 25): "Christmas Day",
    _D(2025, 12, 26): "First weekday after Christmas Day",
    _D(2026, 1, 1): "New Year's Day",
    _D(2026, 2, 17): "Lunar New Year's Day",
    _D(2026, 2, 18): "Lunar New Year (second day)",
    _D(2026, 2, 19): "Lunar New Year (third day)",
    _D(2026, 4, 3): "Good Friday",
    _D(2026, 4, 6): "Easter Monday",
    _D(2026, 4, 7): "Day following Ching Ming Festival",
    _D(2026, 5, 1): "Labour Day",
    _D(2026, 5, 25): "Day following Buddha's Birthday",
    _D(2026, 6, 19): "Tuen Ng Festival",
    _D(2026, 7, 1): "HKSAR Establishment Day",
    _D(2026, 10, 1): "National Day",
    _D(2026, 10, 19): "Day following Chung Yeung Festival",
    _D(2026, 12, 25): "Christmas Day",
}

# Hong Kong half days (morning session only).
HK_HALF_DAYS: Mapping[date, str] = {
    _D(2024, 2, 9): "Lunar New Year's Eve (half day)",
    _D(2024, 12, 24): "Christmas Eve (half day)",
    _D(2024, 12, 31): "New Year's Eve (half day)",
    _D(2025, 1, 28): "Lunar New Year's Eve (half day)",
    _D(2025, 12, 24): "Christmas Eve (half day)",
    _D(2025, 12, 31): "New Year's Eve (half day)",
    _D(2026, 2, 16): "Lunar New Year's Eve (half day)",
    _D(2026, 12, 24): "Christmas Eve (half day)",
    _D(2026, 12, 31): "New Year's Eve (half day)",
}


def _run(start: date, end: date, name: str) -> dict[date, str]:
    return {d: name for d in days_between(start, end) if d.weekday() < 5}


# Weekday closures of the Shanghai (and Shenzhen) exchanges, 2024-2026.
CN_HOLIDAYS: Mapping[date, str] = {
    _D(2024, 1, 1): "New Year's Day",
    **_run(_D(2024, 2, 9), _D(2024, 2, 16), "Spring Festival"),
    **_run(_D(2024, 4, 4), _D(2024, 4, 5), "Qingming Festival"),
    **_run(_D(2024, 5, 1), _D(2024, 5, 3), "Labour Day"),
    _D(2024, 6, 10): "Dragon Boat Festival",
    **_run(_D(2024, 9, 16), _D(2024, 9, 17), "Mid-Autumn Festival"),
    **_run(_D(2024, 10, 1), _D(2024, 10, 7), "National Day"),
    _D(2025, 1, 1): "New Year's Day",
    **_run(_D(2025, 1, 28), _D(2025, 2, 4), "Spring Festival"),
    _D(2025, 4, 4): "Qingming Festival",
    **_run(_D(2025, 5, 1), _D(2025, 5, 5), "Labour Day"),
    _D(2025, 6, 2): "Dragon Boat Festival",
    **_run(_D(2025, 10, 1), _D(2025, 10, 8), "National Day and Mid-Autumn Festival"),
    **_run(_D(2026, 1, 1), _D(2026, 1, 2), "New Year's Day"),
    **_run(_D(2026, 2, 16), _D(2026, 2, 23), "Spring Festival"),
    _D(2026, 4, 6): "Qingming Festival",
    **_run(_D(2026, 5, 1), _D(2026, 5, 5), "Labour Day"),
    _D(2026, 6, 19): "Dragon Boat Festival",
    _D(2026, 9, 25): "Mid-Autumn Festival",
    **_run(_D(2026, 10, 1), _D(2026, 10, 7), "National Day"),
}

# Mainland make-up working days: weekends on which offices work. The exchanges stay closed (they never
# trade on a Saturday or Sunday) and so does Connect; HKEX lists them as non-Connect days.
CN_MAKEUP_DAYS: Mapping[date, str] = {
    d: "Mainland make-up working day (exchanges and Connect closed)"
    for d in (
        _D(2024, 2, 4),
        _D(2024, 2, 18),
        _D(2024, 4, 7),
        _D(2024, 4, 28),
        _D(2024, 5, 11),
        _D(2024, 9, 14),
        _D(2024, 9, 29),
        _D(2024, 10, 12),
        _D(2025, 1, 26),
        _D(2025, 2, 8),
        _D(2025, 4, 27),
        _D(2025, 9, 28),
        _D(2025, 10, 11),
        _D(2026, 1, 4),
        _D(2026, 2, 14),
        _D(2026, 2, 28),
        _D(2026, 5, 9),
        _D(2026, 9, 20),
        _D(2026, 10, 10),
    )
}

_KNOWN_YEARS = (2024, 2025, 2026)


def _fixed_holiday(market: str, day: date) -> str | None:
    """Fixed-date closures for years outside the curated tables (benchmark windows reach back)."""
    md = (day.month, day.day)
    if md == (1, 1):
        return "New Year's Day"
    if md == (5, 1):
        return "Labour Day"
    if market == "XHKG":
        return {
            (7, 1): "HKSAR Establishment Day",
            (10, 1): "National Day",
            (12, 25): "Christmas Day",
            (12, 26): "First weekday after Christmas Day",
        }.get(md)
    if day.month == 10 and day.day <= 7:
        return "National Day"
    if md in ((5, 2), (5, 3)):
        return "Labour Day"
    return None


@dataclass(frozen=True, slots=True)
class CalendarDay:
    market: str
    day: date
    is_open: bool
    is_half_day: bool
    note: str | None

    def row(self) -> Row:
        return (self.market, self.day, self.is_open, self.is_half_day, self.note)


def _calendar_day(market: str, day: date) -> CalendarDay:
    known = day.year in _KNOWN_YEARS
    if market == "XHKG":
        holiday = HK_HOLIDAYS.get(day) if known else _fixed_holiday(market, day)
    else:
        holiday = CN_HOLIDAYS.get(day) if known else _fixed_holiday(market, day)
    if day.weekday() >= 5:
        note = CN_MAKEUP_DAYS.get(day) if market == "XSHG" else None
        return CalendarDay(market, day, False, False, note or "Weekend")
    if holiday is not None:
        return CalendarDay(market, day, False, False, holiday)
    if market == "XHKG" and day in HK_HALF_DAYS:
        return CalendarDay(market, day, True, True, HK_HALF_DAYS[day])
    return CalendarDay(market, day, True, False, None)


def trading_calendar(start: date, end: date, markets: Sequence[str] = ("XHKG", "XSHG")) -> list[CalendarDay]:
    """One row per market per calendar day in [start, end]."""
    return [_calendar_day(m, d) for m in markets for d in days_between(start, end)]


def connect_exceptions(start: date, end: date) -> list[Row]:
    """Published non-Connect days: the mainland make-up working days, both directions."""
    return [
        (direction, day, False, reason)
        for day, reason in sorted(CN_MAKEUP_DAYS.items())
        if start <= day <= end
        for direction in ("SOUTHBOUND", "NORTHBOUND")
    ]


def open_days(calendar: Sequence[CalendarDay], market: str) -> list[date]:
    return [c.day for c in calendar if c.market == market and c.is_open]


def connect_days(calendar: Sequence[CalendarDay], exceptions: Sequence[Row]) -> list[tuple[date, bool]]:
    """(day, is_half_day) when both XHKG and XSHG are open and no exception closes Connect."""
    hk = {c.day: c for c in calendar if c.market == "XHKG"}
    sh = {c.day: c for c in calendar if c.market == "XSHG"}
    closed = {row[1] for row in exceptions if row[2] is False}
    days: list[tuple[date, bool]] = []
    for day in sorted(hk):
        h, s = hk[day], sh.get(day)
        if h.is_open and s is not None and s.is_open and day not in closed:
            days.append((day, h.is_half_day))
    return days


# --------------------------------------------------------------------------------------------------
# FX

FX_SOURCE = "illustrative"


@dataclass(frozen=True, slots=True)
class FxSeries:
    """Dated rates by pair; ``on_or_before`` serves days when Hong Kong was closed."""

    rates: Mapping[tuple[str, str], Mapping[date, Decimal]]

    def on_or_before(self, base: str, quote: str, day: date) -> Decimal:
        series = self.rates[(base, quote)]
        probe = day
        for _ in range(30):
            if probe in series:
                return series[probe]
            probe -= timedelta(days=1)
        return series[min(series)]


def _mean_revert(
    rng: random.Random, x: float, mean: float, speed: float, vol: float, lo: float, hi: float
) -> float:
    x = x + speed * (mean - x) + vol * normal(rng)
    return min(max(x, lo), hi)


def fx_rates(hk_days: Sequence[date], seed: int) -> tuple[list[Row], FxSeries]:
    """USD/HKD, CNY/HKD, KRW/HKD and USD/CNY (1 base = rate quote) on Hong Kong open days."""
    rng = random.Random(f"{seed}:fx")
    usd, cny, krw = 7.81, 1.095, 0.0060
    rows: list[Row] = []
    rates: dict[tuple[str, str], dict[date, Decimal]] = {
        ("USD", "HKD"): {},
        ("CNY", "HKD"): {},
        ("KRW", "HKD"): {},
        ("USD", "CNY"): {},
    }
    for day in hk_days:
        usd = _mean_revert(rng, usd, 7.815, 0.05, 0.004, 7.7600, 7.8500)
        cny = _mean_revert(rng, cny, 1.085, 0.02, 0.0025, 1.0650, 1.1000)
        krw = _mean_revert(rng, krw, 0.00570, 0.02, 0.00003, 0.00550, 0.00590)
        usd_hkd = Decimal(f"{usd:.5f}")
        cny_hkd = Decimal(f"{cny:.5f}")
        krw_hkd = Decimal(f"{krw:.8f}")
        usd_cny = (usd_hkd / cny_hkd).quantize(Decimal("0.00001"), ROUND_HALF_UP)
        for pair, rate in (
            (("USD", "HKD"), usd_hkd),
            (("CNY", "HKD"), cny_hkd),
            (("KRW", "HKD"), krw_hkd),
            (("USD", "CNY"), usd_cny),
        ):
            rates[pair][day] = rate
            rows.append((pair[0], pair[1], day, rate, FX_SOURCE))
    return rows, FxSeries(rates)


# --------------------------------------------------------------------------------------------------
# Index levels


@dataclass(frozen=True, slots=True)
class IndexSeries:
    """How to draw one index's levels: from ``start_level`` on ``start_day`` on ``market``'s days."""

    code: str
    market: str
    start_day: date
    start_level: float
    annual_return: Mapping[int, float]
    vol: float
    anchors: Mapping[date, float] = field(default_factory=dict)


# Real shocks worth seeing: the sell-off of 7 April 2025 (HSI -13.2%, HSTECH -17.2%, CSI 300 -7.1%).
_APRIL_7 = date(2025, 4, 7)
DEMO_INDEX_PARAMS: Mapping[str, tuple[str, date | None, float, Mapping[int, float], float, float]] = {
    # code: (market, start day or None for the window start, start level, annual returns, vol, 7 Apr)
    "HSI": ("XHKG", None, 16800.0, {2024: 0.177, 2025: 0.278, 2026: 0.06}, 0.014, -0.132),
    "HSTECH": ("XHKG", None, 3750.0, {2024: 0.18, 2025: 0.23, 2026: 0.02}, 0.021, -0.172),
    "HSBIO": ("XHKG", None, 5200.0, {2024: -0.10, 2025: 0.83, 2026: 0.05}, 0.024, -0.12),
    "CSI300": ("XSHG", None, 3400.0, {2024: 0.146, 2025: 0.18, 2026: 0.08}, 0.011, -0.071),
    "HKEX-TECH100": ("XHKG", None, 4600.0, {2024: 0.15, 2025: 0.30, 2026: 0.05}, 0.019, -0.16),
    "HKEX-KRX-SEMI": ("XHKG", date(2025, 12, 31), 1000.0, {2026: 0.35}, 0.022, 0.0),
    "HKEX-TECH-USTECH100": ("XHKG", date(2025, 12, 31), 1000.0, {2026: 0.15}, 0.015, 0.0),
}


def _returns_for_year(
    rng: random.Random, n: int, target: float, vol: float, fixed: Mapping[int, float]
) -> list[float]:
    """n daily returns compounding to about (1 + target), fixed positions kept as given."""
    rets = [fixed[i] if i in fixed else vol * normal(rng) for i in range(n)]
    free = [i for i in range(n) if i not in fixed]
    if not free:
        return rets
    for _ in range(3):  # nudge the free days so the year compounds to the target (no libm needed)
        growth = 1.0
        for r in rets:
            growth *= 1.0 + r
        shift = ((1.0 + target) / growth - 1.0) / len(free)
        for i in free:
            rets[i] += shift
    return [max(r, -0.5) for r in rets]


def index_levels(
    series: Sequence[IndexSeries], days_by_market: Mapping[str, Sequence[date]], seed: int
) -> dict[str, list[tuple[date, Decimal]]]:
    """Levels per index code: a random walk with yearly drift targets and anchored shock days."""
    out: dict[str, list[tuple[date, Decimal]]] = {}
    for spec in series:
        rng = random.Random(f"{seed}:index:{spec.code}")
        days = [d for d in days_by_market[spec.market] if d >= spec.start_day]
        by_year: dict[int, list[date]] = {}
        for d in days:
            by_year.setdefault(d.year, []).append(d)
        level = spec.start_level
        rows: list[tuple[date, Decimal]] = []
        first = True
        for year in sorted(by_year):
            year_days = by_year[year]
            fixed = {i: spec.anchors[d] for i, d in enumerate(year_days) if d in spec.anchors}
            if first:
                fixed[0] = 0.0  # the start day carries the start level
            target = spec.annual_return.get(year, 0.05) * len(year_days) / 250.0
            for d, r in zip(
                year_days, _returns_for_year(rng, len(year_days), target, spec.vol, fixed), strict=True
            ):
                level *= 1.0 + r
                rows.append((d, Decimal(f"{level:.6f}")))
            first = False
        out[spec.code] = rows
    return out


def level_rows(levels: Mapping[str, Sequence[tuple[date, Decimal]]]) -> list[Row]:
    return [(code, d, lvl) for code in sorted(levels) for d, lvl in levels[code]]


@dataclass(frozen=True, slots=True)
class LevelLookup:
    """An index's level on or before any day (forward-filled across its market's closed days)."""

    first_day: date
    levels: Mapping[date, float]

    @classmethod
    def build(cls, rows: Sequence[tuple[date, Decimal]], end: date) -> LevelLookup | None:
        if not rows:
            return None
        by_day = {d: float(v) for d, v in rows}
        filled: dict[date, float] = {}
        last = by_day[rows[0][0]]
        for d in days_between(rows[0][0], end):
            last = by_day.get(d, last)
            filled[d] = last
        return cls(rows[0][0], filled)

    def at(self, day: date) -> float | None:
        return self.levels.get(day)


# --------------------------------------------------------------------------------------------------
# Connect daily flows

SOUTHBOUND_DAILY_QUOTA_CNY = 42_000_000_000
NORTHBOUND_DAILY_QUOTA_CNY = 52_000_000_000
# HKEX stopped publishing the northbound buy/sell split (and so the net) from this day on.
NORTHBOUND_SPLIT_UNPUBLISHED_FROM = date(2024, 8, 19)

# Real yearly southbound net buying (HK$) the generated days are scaled to; 2026 is illustrative.
SOUTHBOUND_NET_TARGETS: Mapping[int, float] = {2024: 807.9e9, 2025: 1404.8e9, 2026: 1150.0e9}
# The record day (HK$35.6bn on 9 April 2025).
SOUTHBOUND_NET_ANCHORS: Mapping[date, float] = {date(2025, 4, 9): 35.6e9}
SOUTHBOUND_SPIKES_2025 = 7  # further generated days above HK$20bn in 2025

_SB_TURNOVER = {2024: 50e9, 2025: 105e9, 2026: 115e9}
_NB_TURNOVER = {2024: 120e9, 2025: 180e9, 2026: 200e9}


def _southbound_nets(days: Sequence[date], rng: random.Random) -> dict[date, float]:
    """Net southbound buying per day (both channels, HK$) with real yearly totals and spikes."""
    nets: dict[date, float] = {}
    fixed: set[date] = set()
    for d in days:
        mean = {2024: 3.3e9, 2025: 5.5e9, 2026: 4.8e9}.get(d.year, 1.5e9)
        sd = {2024: 3.0e9, 2025: 4.5e9, 2026: 4.0e9}.get(d.year, 2.0e9)
        nets[d] = min(max(mean + sd * normal(rng), -15e9), 17e9)
    for d, value in SOUTHBOUND_NET_ANCHORS.items():
        if d in nets:
            nets[d] = value
            fixed.add(d)
    candidates = [d for d in days if d.year == 2025 and d not in fixed]
    if len(candidates) >= SOUTHBOUND_SPIKES_2025:
        for d in rng.sample(candidates, SOUTHBOUND_SPIKES_2025):
            nets[d] = 20.5e9 + 9e9 * rng.random()
            fixed.add(d)
    for year, target in SOUTHBOUND_NET_TARGETS.items():
        # Scale only years the window covers (nearly) whole; 2026's target is year-to-date.
        year_days = [d for d in days if d.year == year]
        free = [d for d in year_days if d not in fixed]
        if not free or year_days[0] > date(year, 1, 10) or year_days[-1] < date(year, 11, 1):
            continue
        shift = (target - sum(nets[d] for d in year_days)) / len(free)
        for d in free:
            nets[d] = min(nets[d] + shift, 19.5e9)
    return nets


def _cents(value: float) -> int:
    return round(value * 100.0)


def _split_flow(total: float, net: float) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(buy, sell, total, net) in exact cents with net = buy - sell and total = buy + sell."""
    net_c = _cents(net)
    total_c = max(_cents(total), abs(net_c))
    buy_c = (total_c + net_c) // 2
    sell_c = buy_c - net_c
    return (
        Decimal(buy_c) / 100,
        Decimal(sell_c) / 100,
        Decimal(buy_c + sell_c) / 100,
        Decimal(net_c) / 100,
    )


def connect_flows(days: Sequence[tuple[date, bool]], fx: FxSeries, seed: int) -> list[Row]:
    """Rows for both directions x both channels on each Connect day.

    Southbound rows are in HKD; their daily quota (RMB 42bn per link) and balance are stored as the
    HKD equivalent at the day's CNY/HKD rate, so every amount of a row is in the row's currency.
    Balance = quota - buy + sell (HKEX's definition, before order-level adjustments). Northbound rows
    are in CNY: quota RMB 52bn; from 2024-08-19 buy/sell/net are NULL (not published) and the
    balance is the "quota available" sentinel (quota_balance_unlimited, balance NULL).
    """
    rng = random.Random(f"{seed}:flows")
    sb_nets = _southbound_nets([d for d, _ in days], rng)
    rows: list[Row] = []
    for day, half in days:
        session = 0.5 if half else 1.0
        cny_hkd = fx.on_or_before("CNY", "HKD", day)
        sb_quota = (SOUTHBOUND_DAILY_QUOTA_CNY * cny_hkd).quantize(CENT)
        net = sb_nets[day]
        sh_share = 0.52 + 0.16 * rng.random()
        sb_turnover = _SB_TURNOVER.get(day.year, 35e9) * (0.75 + 0.5 * rng.random()) * session
        for channel, share in (("SHANGHAI", sh_share), ("SHENZHEN", 1.0 - sh_share)):
            ch_net = net * share
            ch_total = max(sb_turnover * (share + 0.04 * normal(rng) * share), 2.4 * abs(ch_net) + 5e8)
            buy, sell, total, net_d = _split_flow(ch_total, ch_net)
            trades = int(float(total) / (62_000.0 + 8_000.0 * rng.random()))
            buy_trades = int(trades * float(buy / total)) if total else 0
            etf = money(float(total) * (0.008 + 0.02 * rng.random()))
            rows.append(
                (
                    channel,
                    "SOUTHBOUND",
                    day,
                    "HKD",
                    buy,
                    sell,
                    total,
                    net_d,
                    trades,
                    buy_trades,
                    trades - buy_trades,
                    etf,
                    sb_quota,
                    sb_quota - net_d,
                    False,
                )
            )
        nb_turnover = _NB_TURNOVER.get(day.year, 90e9) * (0.75 + 0.5 * rng.random()) * session
        published = day < NORTHBOUND_SPLIT_UNPUBLISHED_FROM
        nb_quota = Decimal(NORTHBOUND_DAILY_QUOTA_CNY).quantize(CENT)
        for channel, share in (("SHANGHAI", 0.47), ("SHENZHEN", 0.53)):
            ch_total = nb_turnover * share * (0.9 + 0.2 * rng.random())
            ch_net = 2.5e9 * normal(rng) * session
            buy, sell, total, net_d = _split_flow(ch_total, ch_net)
            trades = int(float(total) / (55_000.0 + 10_000.0 * rng.random()))
            etf = money(float(total) * (0.004 + 0.01 * rng.random()))
            if published:
                buy_trades = int(trades * float(buy / total)) if total else 0
                rows.append(
                    (
                        channel,
                        "NORTHBOUND",
                        day,
                        "CNY",
                        buy,
                        sell,
                        total,
                        net_d,
                        trades,
                        buy_trades,
                        trades - buy_trades,
                        etf,
                        nb_quota,
                        nb_quota - net_d,
                        False,
                    )
                )
            else:
                rows.append(
                    (
                        channel,
                        "NORTHBOUND",
                        day,
                        "CNY",
                        None,
                        None,
                        total,
                        None,
                        trades,
                        None,
                        None,
                        etf,
                        nb_quota,
                        None,
                        True,
                    )
                )
    return rows


# --------------------------------------------------------------------------------------------------
# The day's top-ten traded stocks per Connect block

TOP_TEN_SHARE = 0.30  # the ten most traded stocks' part of a block's turnover
# How much mainland investors favour a stock (relative turnover); the others weigh 1.
TOP_TEN_FAVOURITES: Mapping[str, float] = {
    "XHKG:00700": 6.0,
    "XHKG:09988": 5.0,
    "XHKG:03690": 4.0,
    "XHKG:01810": 4.0,
    "XHKG:00981": 3.0,
    "XHKG:00939": 2.5,
    "XHKG:00883": 2.5,
    "XHKG:01211": 2.0,
    "XHKG:00005": 2.0,
    "XHKG:01299": 1.5,
}


@dataclass(frozen=True, slots=True)
class Stock:
    """A stock that can be in a top ten: its code, name and, southbound, its status by period."""

    code: str
    name: str
    periods: tuple[tuple[date, date | None, str], ...] = ()  # (from, to, status); empty: always eligible

    def status(self, day: date) -> str | None:
        if not self.periods:
            return "ELIGIBLE"
        for start, end, status in self.periods:
            if start <= day and (end is None or day < end):
                return status
        return None


def stock_universe(reference: Reference) -> dict[tuple[str, str], list[Stock]]:
    """The stocks each (channel, direction) can trade: southbound, the stocks with eligibility periods on
    the link (the demo's stock eligibility files); northbound, every Shanghai or Shenzhen security."""
    names = {(s.mic, s.local_code): s.name for s in reference.securities}
    out: dict[tuple[str, str], list[Stock]] = {
        ("SHANGHAI", "NORTHBOUND"): [Stock(c, n) for (m, c), n in sorted(names.items()) if m == "XSHG"],
        ("SHENZHEN", "NORTHBOUND"): [Stock(c, n) for (m, c), n in sorted(names.items()) if m == "XSHE"],
    }
    for link, channel in (("sse-southbound", "SHANGHAI"), ("szse-southbound", "SHENZHEN")):
        periods: dict[str, list[tuple[date, date | None, str]]] = {}
        for line in sorted(reference.stock_eligibility.get(link, ()), key=lambda x: x.effective_date):
            history = periods.setdefault(line.stock_code, [])
            if history and history[-1][1] is None:
                start, _, status = history[-1]
                history[-1] = (start, line.effective_date, status)
            kind = line.kind
            if kind in ("ADD", "ELIGIBLE"):
                history.append((line.effective_date, None, "ELIGIBLE"))
            elif kind == "SELL_ONLY":
                history.append((line.effective_date, None, "SELL_ONLY"))
        out[(channel, "SOUTHBOUND")] = [
            Stock(code, names[("XHKG", code)], tuple(history))
            for code, history in sorted(periods.items())
            if ("XHKG", code) in names
        ]
    return out


def _whole(value: float) -> Decimal:
    return Decimal(round(value))


def connect_top_stocks(
    flows: Sequence[Row], universe: Mapping[tuple[str, str], Sequence[Stock]], seed: int
) -> list[Row]:
    """Each block's ten most traded stocks (full units), consistent with its flow row: together about 30%
    of the block's turnover, their buys and sells within the block's, buying tilted as the block's net;
    a sell-only stock only sells. A block with fewer than ten tradable stocks gets none."""
    rng = random.Random(f"{seed}:top-stocks")
    rows: list[Row] = []
    for flow in flows:
        channel, direction, day = flow[0], flow[1], flow[2]
        assert isinstance(day, date)
        block_buy, block_total, block_net = flow[4], flow[6], flow[7]
        mic = "XHKG" if direction == "SOUTHBOUND" else ("XSHG" if channel == "SHANGHAI" else "XSHE")
        tradable = [
            (s, st) for s in universe.get((str(channel), str(direction)), ()) if (st := s.status(day))
        ]
        if len(tradable) < 10:
            continue
        keyed = sorted(
            (
                (TOP_TEN_FAVOURITES.get(f"{mic}:{s.code}", 1.0) * (0.5 + rng.random()), s.code, s, status)
                for s, status in tradable
            ),
            key=lambda k: (-k[0], k[1]),
        )[:10]
        weights = sum(k[0] for k in keyed)
        total = float(block_total)  # type: ignore[arg-type]
        tilt = float(block_net) / total if block_net is not None and total else 0.0  # type: ignore[arg-type]
        for rank, (weight, _, stock, status) in enumerate(keyed, 1):
            stock_total = _whole(total * TOP_TEN_SHARE * weight / weights)
            if block_buy is None:
                buy = sell = None
            elif status == "SELL_ONLY":
                buy, sell = Decimal(0), stock_total
            else:
                share = min(max(0.5 + 0.5 * tilt + 0.12 * normal(rng), 0.05), 0.95)
                buy = _whole(float(stock_total) * share)
                sell = stock_total - buy
            rows.append((channel, direction, day, rank, stock.code, stock.name, buy, sell, stock_total))
    return rows


# --------------------------------------------------------------------------------------------------
# ETF daily statistics


@dataclass(frozen=True, slots=True)
class EtfSeries:
    """What drives one ETF's daily figures; ``key`` (mic:code) seeds its random stream."""

    key: str
    currency: str
    listing_date: date
    delisting_date: date | None
    nav0: float
    units0: int
    creation_unit: int
    leverage: float = 1.0
    levels: LevelLookup | None = None
    southbound_from: date | None = None
    flow_bias: float = 0.0
    turnover_ratio: float = 0.01
    # (day, fraction of units) creations forced on given days, e.g. the April 2025 "national team" buying
    shocks: Mapping[date, float] = field(default_factory=dict)
    # The own walk's daily drift and volatility when no index drives the NAV (None: drawn at random)
    own_drift: float | None = None
    own_vol: float | None = None
    # (day, AUM in the fund's currency) its creations and redemptions follow, straight lines between
    # the days (the demo's eligibility story, service/demo/story.py); before and after: a free walk.
    aum_path: tuple[tuple[date, float], ...] = ()


# The share of the gap to its AUM path a fund closes each day, in whole creation units.
PATH_PULL = 0.12


def on_path(path: Sequence[tuple[date, float]], day: date) -> float | None:
    """The path's value on ``day``: straight lines between its days; None outside them (a free walk)."""
    if day < path[0][0] or day > path[-1][0]:
        return None
    for (d0, v0), (d1, v1) in itertools.pairwise(path):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days
    return path[-1][1]


def creation_unit_for(units: float) -> int:
    for size in (1_000_000, 500_000, 200_000, 100_000, 50_000):
        if units / size >= 2_000:
            return size
    return 10_000


def etf_stats(spec: EtfSeries, days: Sequence[date], seed: int) -> Iterator[Row]:
    """One row per open day in [listing, delisting) from ``days`` (the ETF market's open days).

    NAV follows the tracked index (times the leverage) plus tracking noise, or its own walk; units
    move by whole creation units; aum = round(nav x units, 2) and net_creation_value =
    round(net units x nav, 2) exactly, so the table's CHECK holds to the cent.
    """
    rng = random.Random(f"{seed}:etf:{spec.key}")
    nav = spec.nav0
    cu = spec.creation_unit
    new_listing = days and spec.listing_date >= days[0]
    prev_units = 0 if new_listing else spec.units0
    units = spec.units0
    prev_level: float | None = None
    since_listing = 0
    sb_from = spec.southbound_from
    drift_draw, vol_draw = rng.random(), rng.random()
    own_drift = spec.own_drift if spec.own_drift is not None else 0.0002 + 0.0003 * drift_draw
    own_vol = spec.own_vol if spec.own_vol is not None else 0.004 + 0.012 * vol_draw
    for day in days:
        if day < spec.listing_date:
            continue
        if spec.delisting_date is not None and day >= spec.delisting_date:
            break
        level = spec.levels.at(day) if spec.levels is not None else None
        if since_listing > 0 or not new_listing:
            if level is not None and prev_level is not None:
                r = spec.leverage * (level / prev_level - 1.0) + 0.0004 * normal(rng)
            else:
                r = spec.leverage * (own_drift + own_vol * normal(rng))
            nav = max(nav * (1.0 + r), 0.01)
            if rng.random() < 0.35:
                up = rng.random() < 0.5 + spec.flow_bias
                pct = 0.0004 + 0.004 * rng.random()
                step = max(1, int(units * pct / cu)) * cu
                units = units + step if up else max(units - step, cu)
            shock = spec.shocks.get(day)
            if shock:
                units += max(1, int(units * shock / cu)) * cu
            target = on_path(spec.aum_path, day) if spec.aum_path else None
            if target is not None:
                gap = target / nav - units
                units = max(units + int(gap * PATH_PULL / cu) * cu, cu)
        prev_level = level
        since_listing += 1
        nav_d = Decimal(f"{nav:.6f}")
        close = Decimal(f"{nav * (1.0 + 0.0015 * normal(rng)):.3f}")
        if close <= 0:
            close = MILLI
        units_d = Decimal(units)
        net_units = units - prev_units
        volume = units * spec.turnover_ratio * (0.3 + 1.4 * rng.random())
        holding: Decimal | None = None
        if sb_from is not None and day >= sb_from:
            age = (day - sb_from).days
            frac = min(0.02 + 0.28 * age / 900.0, 0.32) * (0.97 + 0.06 * rng.random())
            holding = Decimal(int(units * frac))
        yield (
            spec.key,
            day,
            spec.currency,
            nav_d,
            close,
            units_d,
            (nav_d * units_d).quantize(CENT, ROUND_HALF_UP),
            Decimal(net_units),
            (nav_d * net_units).quantize(CENT, ROUND_HALF_UP),
            money(volume * float(close)),
            holding,
        )
        prev_units = units


# --------------------------------------------------------------------------------------------------
# Putting it together


@dataclass(frozen=True, slots=True)
class IndexParams:
    market: str
    start_day: date | None  # None: the window start
    start_level: float
    annual_return: Mapping[int, float]
    vol: float
    anchors: Mapping[date, float] = field(default_factory=dict)


def demo_index_params() -> dict[str, IndexParams]:
    return {
        code: IndexParams(market, start, level, returns, vol, {_APRIL_7: shock} if shock else {})
        for code, (market, start, level, returns, vol, shock) in DEMO_INDEX_PARAMS.items()
    }


# The April 2025 sell-off: mainland CSI 300 ETFs saw record creations ("national team" buying).
_CSI300_SHOCKS: Mapping[date, float] = {date(2025, 4, 7): 0.05, date(2025, 4, 8): 0.03}


def etf_market(mic: str) -> str:
    """The calendar an ETF trades on: XHKG, or XSHG for both mainland exchanges."""
    return "XHKG" if mic == "XHKG" else "XSHG"


@dataclass(frozen=True, slots=True)
class Figures:
    """The generated rows of one data set; the big ETF table is produced lazily by ``stats``."""

    seed: int
    calendar: list[Row]
    exceptions: list[Row]
    fx: list[Row]
    levels: list[Row]
    flows: list[Row]
    top_stocks: list[Row]
    etf_series: list[EtfSeries]
    days_by_market: Mapping[str, Sequence[date]]
    fx_series: FxSeries

    def stats(self) -> Iterator[Row]:
        for spec in self.etf_series:
            market = etf_market(spec.key.split(":", 1)[0])
            yield from etf_stats(spec, self.days_by_market[market], self.seed)


def _hkd_rate(fx: FxSeries, currency: str, day: date) -> float:
    return float(fx.on_or_before(currency, "HKD", day))


def southbound_since(reference: Reference) -> dict[str, date]:
    """Each ETF's first southbound eligibility (from the change files): when southbound holdings begin."""
    since: dict[str, date] = {}
    for link, lines in reference.eligibility.items():
        if not link.endswith("southbound"):
            continue
        for line in lines:
            if line.kind == "ADD":
                key = f"XHKG:{line.stock_code}"
                since[key] = min(since.get(key, line.effective_date), line.effective_date)
    return since


def build_figures(
    reference: Reference,
    *,
    seed: int = DEFAULT_SEED,
    start: date = WINDOW_START,
    end: date = WINDOW_END,
    index_params: Mapping[str, IndexParams] | None = None,
    calendar_end: date | None = None,
) -> Figures:
    """Every generated row for ``reference`` over [start, end]; the calendars run on to ``calendar_end``."""
    params = index_params if index_params is not None else demo_index_params()
    calendar = trading_calendar(start, end)
    exceptions = connect_exceptions(start, end)
    published_end = max(end, calendar_end or end)
    ahead = trading_calendar(end + timedelta(days=1), published_end)
    days_by_market = {m: open_days(calendar, m) for m in ("XHKG", "XSHG")}
    fx_rows, fx = fx_rates(days_by_market["XHKG"], seed)
    codes = {i.code for i in reference.indices}
    series = [
        IndexSeries(
            code,
            p.market,
            p.start_day or start,
            p.start_level,
            p.annual_return,
            p.vol,
            p.anchors,
        )
        for code, p in params.items()
        if code in codes
    ]
    levels = index_levels(series, days_by_market, seed)
    lookups = {code: LevelLookup.build(rows, end) for code, rows in levels.items()}
    flows = connect_flows(connect_days(calendar, exceptions), fx, seed)

    southbound_from = southbound_since(reference)
    etf_series: list[EtfSeries] = []
    for etf in reference.etfs:
        if etf.delisting_date is not None and etf.delisting_date <= start:
            continue
        key = etf_key(etf)
        seed_of = reference.seeds[key]
        units0 = seed_of.aum / seed_of.nav
        cu = creation_unit_for(units0)
        leverage = float(etf.leverage_factor) if etf.leverage_factor is not None else 1.0
        sb = southbound_from.get(key)
        bias = 0.02 + (0.08 if sb is not None else 0.0)
        if etf.mic != "XHKG" and etf.index_code in ("HSTECH", "HSBIO", "HKEX-TECH100"):
            bias += 0.05  # mainland money into Hong Kong exposure
        if leverage != 1.0:
            bias = 0.0
        # The path is in HK$: in the fund's currency at each of its days' rate.
        hkd_per_unit: Callable[[date], float] = (
            (lambda day: 1.0)
            if etf.base_currency == "HKD"
            else functools.partial(_hkd_rate, fx, etf.base_currency)
        )
        etf_series.append(
            EtfSeries(
                key=key,
                currency=etf.base_currency,
                listing_date=etf.listing_date,
                delisting_date=etf.delisting_date,
                nav0=seed_of.nav,
                units0=max(int(units0 / cu), 1) * cu,
                creation_unit=cu,
                leverage=leverage,
                levels=lookups.get(etf.index_code) if etf.index_code else None,
                southbound_from=sb,
                flow_bias=bias,
                turnover_ratio=0.08 if leverage != 1.0 else (0.02 if etf.mic != "XHKG" else 0.008),
                shocks=_CSI300_SHOCKS if etf.mic != "XHKG" and etf.index_code == "CSI300" else {},
                # A money-market fund accrues about 4% a year with hardly any volatility.
                own_drift=0.00016 if "Money Market" in etf.name_en else None,
                own_vol=0.00003 if "Money Market" in etf.name_en else None,
                aum_path=tuple((day, hkd / hkd_per_unit(day)) for day, hkd in seed_of.path),
            )
        )
    return Figures(
        seed=seed,
        calendar=[c.row() for c in (*calendar, *ahead)],
        exceptions=connect_exceptions(start, published_end),
        fx=fx_rows,
        levels=level_rows(levels),
        flows=flows,
        top_stocks=connect_top_stocks(flows, stock_universe(reference), seed),
        etf_series=etf_series,
        days_by_market=days_by_market,
        fx_series=fx,
    )
