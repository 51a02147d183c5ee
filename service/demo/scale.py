"""The benchmark-scale generator: the demo reference data plus thousands of generated ETFs and years of days.

Generated rows are clearly synthetic (codes and names start with "BENCH"/"Bench", ISINs carry a "Z"
after the country code) and deterministic for a seed. The big table (``etf_daily_stats``) is streamed
into one COPY while it is generated, so the server ingests on one core while Python generates on the
other.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from service.demo.generate import WINDOW_END, IndexParams, build_figures, demo_index_params
from service.demo.load import DatabaseNotEmpty, copy_figures, insert_reference, is_empty
from service.demo.reference import (
    DEMO_REFERENCE,
    MIC_CURRENCY,
    Channel,
    CounterRef,
    DatasetRef,
    EligibilityRef,
    EtfRef,
    IndexRef,
    LicenceRef,
    LicenceStatus,
    ManagerRef,
    MembershipRef,
    Rebalance,
    Reference,
    SecurityRef,
    datasets,
    isin_check_digit,
    membership_history,
)
from service.repositories.analytics import refresh_rollups

if TYPE_CHECKING:
    import asyncpg

Connection: TypeAlias = "asyncpg.Connection[Any]"
Progress = Callable[[str], None]

_THEMES: tuple[tuple[str, ...], ...] = (
    ("semiconductor", "technology"),
    ("technology",),
    ("biotech", "healthcare"),
    ("broad-market",),
    ("broad-market", "china-a"),
    ("technology", "us"),
    ("semiconductor", "technology", "korea"),
    ("dividend",),
    ("ev", "technology"),
    ("consumer",),
    ("financials",),
    ("healthcare",),
)
_PROVIDERS = ("HKEX", "Hang Seng Indexes Company", "China Securities Index", "FTSE Russell", "MSCI")
_SECTORS = (
    "Information Technology",
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Financials",
    "Health Care",
    "Industrials",
    "Materials",
    "Energy",
    "Utilities",
    "Real Estate",
)
_WORDS_A = (
    "Harbour",
    "Pearl",
    "Jade",
    "Summit",
    "Dragon",
    "Golden",
    "Orient",
    "Lotus",
    "Silver",
    "Crown",
    "Victoria",
    "Kowloon",
    "Bauhinia",
    "Lion",
    "Phoenix",
    "Crystal",
)
_WORDS_B = (
    "Micro",
    "Semicon",
    "Bio",
    "Motors",
    "Digital",
    "Power",
    "Health",
    "Networks",
    "Foods",
    "Logistics",
    "Materials",
    "Capital",
    "Robotics",
    "Cloud",
    "Pharma",
    "Energy",
)
_WORDS_C = ("Holdings", "Group", "Technology", "International", "Limited", "Corporation")
# Generated securities: (mic, ISIN country, first local code, code width); codes avoid the demo's.
_SECURITY_MARKETS: tuple[tuple[str, str, int, int, float], ...] = (
    ("XHKG", "HK", 30000, 5, 0.40),
    ("XSHG", "CN", 605000, 6, 0.20),
    ("XSHE", "CN", 301500, 6, 0.15),
    ("XNAS", "US", 0, 0, 0.15),
    ("XKRX", "KR", 900000, 6, 0.10),
)
_CHANNELS: tuple[Channel, ...] = ("SHANGHAI", "SHENZHEN")
_HOME_MARKETS = ("HK", "HK", "CN", "CN", "US", "KR", "JP", "SG", "GB")


@dataclass(frozen=True, slots=True)
class ScaleReference:
    reference: Reference
    index_params: dict[str, IndexParams]


def _pick(rng: random.Random, weighted: tuple[tuple[str, str, int, int, float], ...]) -> int:
    x = rng.random()
    for i, item in enumerate(weighted):
        x -= item[4]
        if x < 0:
            return i
    return len(weighted) - 1


def scale_reference(*, etfs: int, securities: int, seed: int, start: date, end: date) -> ScaleReference:
    """The demo reference plus generated securities, indices, memberships, managers, ETFs and more."""
    rng = random.Random(f"{seed}:scale")
    demo = DEMO_REFERENCE
    n_indices = max(3, min(150, etfs // 10))
    n_managers = max(3, min(45, etfs // 30))

    # Securities
    counters = [0] * len(_SECURITY_MARKETS)
    gen_securities: list[SecurityRef] = []
    for n in range(securities):
        m = _pick(rng, _SECURITY_MARKETS)
        mic, cc, first, width, _ = _SECURITY_MARKETS[m]
        local = f"B{counters[m]:04d}" if width == 0 else f"{first + counters[m]:0{width}d}"
        counters[m] += 1
        body = f"{cc}Z{n:08d}"
        name = (
            f"{_WORDS_A[rng.randrange(len(_WORDS_A))]} {_WORDS_B[rng.randrange(len(_WORDS_B))]} "
            f"{_WORDS_C[rng.randrange(len(_WORDS_C))]} (bench {n})"
        )
        gen_securities.append(
            SecurityRef(
                mic,
                local,
                name,
                _SECTORS[rng.randrange(len(_SECTORS))],
                "CN" if mic in ("XSHG", "XSHE") else cc,
                MIC_CURRENCY[mic],
                body + str(isin_check_digit(body)),
            )
        )
    pool = [s.key for s in demo.securities] + [s.key for s in gen_securities]

    # Indices, their levels' parameters and memberships
    params = demo_index_params()
    gen_indices: list[IndexRef] = []
    gen_memberships: list[MembershipRef] = []
    for i in range(n_indices):
        themes = _THEMES[rng.randrange(len(_THEMES))]
        currency = "CNY" if "china-a" in themes else ("USD" if "us" in themes else "HKD")
        cap = (None, Decimal("8"), Decimal("10"), Decimal("12"), Decimal("15"))[rng.randrange(5)]
        code = f"BENCH-{themes[0].upper()}-{i + 1:03d}"
        members = 20 + rng.randrange(81)
        gen_indices.append(
            IndexRef(
                code=code,
                name=f"Bench {themes[0].replace('-', ' ').title()} Index {i + 1:03d}",
                provider=_PROVIDERS[rng.randrange(len(_PROVIDERS))],
                currency=currency,
                base_date=date(2014, 12, 31),
                base_value=Decimal("1000"),
                launch_date=date(2015 + rng.randrange(8), 1 + rng.randrange(12), 1),
                weighting="free-float market capitalisation",
                weight_cap_pct=cap,
                review_frequency="semi-annual",
                rebalance_frequency="quarterly",
                constituent_count=members,
                methodology_notes="generated for benchmarks; illustrative",
                themes=themes,
                is_illustrative=True,
            )
        )
        params[code] = IndexParams(
            market="XSHG" if currency == "CNY" else "XHKG",
            start_day=None,
            start_level=1000.0 + 19000.0 * rng.random(),
            annual_return={y: -0.2 + 0.55 * rng.random() for y in range(start.year, end.year + 1)},
            vol=0.008 + 0.017 * rng.random(),
        )
        chosen = rng.sample(pool, members + 3)
        base: list[tuple[str, float]] = []
        for key in chosen[:members]:
            u = rng.random()
            base.append((key, 1.0 + 999.0 * u * u * u))  # a few large names, many small ones
        span = (end - start).days
        rebalance_day = start + timedelta(days=span // 3 + rng.randrange(max(span // 3, 1)))
        rebalance_day -= timedelta(days=rebalance_day.weekday())  # a Monday
        gen_memberships += membership_history(
            code,
            cap,
            base,
            start - timedelta(days=30),
            [Rebalance(rebalance_day, add=((chosen[members], 50.0),), remove=(chosen[0],))],
        )

    # Managers
    gen_managers = [
        ManagerRef(
            f"bench-manager-{i + 1:03d}",
            f"Bench Asset Management {i + 1:03d} Limited",
            f"Bench AM {i + 1:03d}",
            _HOME_MARKETS[rng.randrange(len(_HOME_MARKETS))],
            None,
        )
        for i in range(n_managers)
    ]
    slugs = [m.slug for m in demo.managers] + [m.slug for m in gen_managers]

    # ETFs, counters, eligibility
    gen_etfs: list[EtfRef] = []
    gen_counters: list[CounterRef] = []
    gen_eligibility: list[EligibilityRef] = []
    launched: dict[tuple[str, str], date] = {}
    span_days = (end - start).days
    for i in range(etfs):
        index = gen_indices[rng.randrange(n_indices)] if rng.random() < 0.85 else None
        hk = rng.random() < 0.75
        mic = "XHKG" if hk else ("XSHG" if rng.random() < 0.6 else "XSHE")
        code = str(10000 + i) if hk and i < 20000 else str((560000 if mic == "XSHG" else 180000) + i)
        leveraged = hk and rng.random() < 0.05
        factor = ("2", "-1", "-2")[rng.randrange(3)] if leveraged else None
        if rng.random() < 0.8:
            listed = start - timedelta(days=1 + rng.randrange(8 * 365))
        else:
            listed = start + timedelta(days=rng.randrange(max(span_days - 30, 1)))
        delisted = None
        if rng.random() < 0.03:
            delisted = max(listed, start) + timedelta(days=60 + rng.randrange(max(span_days // 2, 1)))
            if delisted >= end:
                delisted = None
        base_ccy = "CNY" if not hk else ("HKD", "HKD", "HKD", "HKD", "USD", "CNY")[rng.randrange(6)]
        issuer = slugs[rng.randrange(len(slugs))]
        u = rng.random()
        aum = 5e7 + 2e10 * u * u * u
        nav = (1.0 + 99.0 * rng.random()) if hk else (0.5 + 4.5 * rng.random())
        label = index.name.replace(" Index", "") if index else "Multi-Asset"
        etf = EtfRef(
            mic=mic,
            code=code,
            isin=None,
            name_en=f"Bench {label} ETF {i + 1}",
            name_zh=f"基準ETF{i + 1}",
            issuer_slug=issuer,
            index_code=index.code if index else None,
            listing_date=listed,
            delisting_date=delisted,
            base_currency=base_ccy,
            replication="SYNTHETIC" if leveraged or rng.random() < 0.08 else "PHYSICAL",
            ongoing_charges_pct=Decimal(f"{0.05 + 1.15 * rng.random():.4f}"),
            leverage_factor=Decimal(factor) if factor else None,
            nav_hint=nav,
            aum_hint=aum,
        )
        gen_etfs.append(etf)
        gen_counters.append(CounterRef(etf.key, mic, code, MIC_CURRENCY[mic], True))
        if hk and rng.random() < 0.15:
            gen_counters.append(CounterRef(etf.key, "XHKG", "8" + code, "CNY", False))
        if hk and rng.random() < 0.05:
            gen_counters.append(CounterRef(etf.key, "XHKG", "9" + code, "USD", False))
        if index is not None:
            pair = (index.code, issuer)
            launched[pair] = min(launched.get(pair, listed), listed)
        if leveraged or delisted is not None:
            continue
        if hk and rng.random() < 0.3:
            since = max(listed + timedelta(days=180), date(2022, 7, 4), start)
            until = since + timedelta(days=200 + rng.randrange(400)) if rng.random() < 0.1 else None
            for ch in _CHANNELS:
                gen_eligibility.append(
                    EligibilityRef(etf.key, "SOUTHBOUND", ch, "ELIGIBLE", since, until, "bench: added")
                )
                if until is not None:
                    gen_eligibility.append(
                        EligibilityRef(
                            etf.key,
                            "SOUTHBOUND",
                            ch,
                            "ELIGIBLE",
                            until + timedelta(days=182),
                            None,
                            "bench: re-added",
                        )
                    )
        elif not hk and rng.random() < 0.4:
            since = max(listed + timedelta(days=180), date(2022, 7, 4))
            gen_eligibility.append(
                EligibilityRef(
                    etf.key,
                    "NORTHBOUND",
                    "SHANGHAI" if mic == "XSHG" else "SHENZHEN",
                    "ELIGIBLE",
                    since,
                    None,
                    "bench: added",
                )
            )

    # Licences: one PRODUCT_LAUNCHED per (index, issuer) with an ETF, plus a few SIGNED/LAPSED.
    gen_licences = [
        LicenceRef(code, slug, on, "PRODUCT_LAUNCHED", True, "bench")
        for (code, slug), on in sorted(launched.items())
    ]
    for index in gen_indices:
        for _ in range(rng.randrange(3)):
            slug = slugs[rng.randrange(len(slugs))]
            if (index.code, slug) in launched:
                continue
            status: LicenceStatus = "SIGNED" if rng.random() < 0.7 else "LAPSED"
            launched[(index.code, slug)] = end
            gen_licences.append(LicenceRef(index.code, slug, end - timedelta(days=90), status, True, "bench"))

    reference = Reference(
        indices=demo.indices + tuple(gen_indices),
        securities=demo.securities + tuple(gen_securities),
        memberships=demo.memberships + tuple(gen_memberships),
        managers=demo.managers + tuple(gen_managers),
        licences=demo.licences + tuple(gen_licences),
        etfs=demo.etfs + tuple(gen_etfs),
        counters=demo.counters + tuple(gen_counters),
        eligibility=demo.eligibility + tuple(gen_eligibility),
    )
    return ScaleReference(reference, params)


def scale_window(years: int, end: date = WINDOW_END) -> tuple[date, date]:
    """[start, end] covering ``years`` years up to the demo window's end."""
    return date(end.year - years, end.month, end.day) + timedelta(days=1), end


async def load_scale(
    conn: Connection,
    *,
    etfs: int = 1500,
    securities: int = 3000,
    years: int = 8,
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an EMPTY migrated database at benchmark scale; return row counts per table.

    ``etfs`` and ``securities`` are the numbers generated on top of the demo reference data. One
    transaction (synchronous_commit off: a crash loses the load, never corrupts it), then ANALYZE.
    """
    if not await is_empty(conn):
        raise DatabaseNotEmpty(int(await conn.fetchval("SELECT count(*) FROM indices")))
    began = time.monotonic()

    def say(message: str) -> None:
        if progress is not None:
            progress(f"[{time.monotonic() - began:6.1f}s] {message}")

    start, end = scale_window(years)
    scaled = scale_reference(etfs=etfs, securities=securities, seed=seed, start=start, end=end)
    ref = scaled.reference
    say(f"reference generated: {len(ref.etfs):,} ETFs, {len(ref.securities):,} securities")
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        ids = await insert_reference(conn, ref, _scale_datasets(seed, etfs, years))
        say("reference rows inserted")
        figures = build_figures(
            ref, ids.indices, ids.etfs, seed=seed, start=start, end=end, index_params=scaled.index_params
        )
        counts = await copy_figures(conn, figures, say)
        say("etf_daily_stats rolled up: " + f"{await refresh_rollups(conn, None):,} rows")
    await conn.execute("ANALYZE")
    say("analyzed")
    counts |= {
        "indices": len(ref.indices),
        "securities": len(ref.securities),
        "index_memberships": len(ref.memberships),
        "asset_managers": len(ref.managers),
        "index_licences": len(ref.licences),
        "etfs": len(ref.etfs),
        "etf_counters": len(ref.counters),
        "connect_eligibility": len(ref.eligibility),
    }
    return dict(sorted(counts.items()))


def _scale_datasets(seed: int, etfs: int, years: int) -> list[DatasetRef]:
    note = f" Benchmark scale: {etfs} generated ETFs over {years} years (BENCH-* rows are synthetic)."
    return [DatasetRef(d.name, d.description + note, d.source, d.is_illustrative) for d in datasets(seed)]
