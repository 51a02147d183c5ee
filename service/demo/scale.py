"""The benchmark-scale generator: the demo's reference plus thousands of generated ETFs and years of days.

``scale_reference`` adds generated lines to the demo's (clearly synthetic: codes and names start with
"BENCH"/"Bench", ISINs carry a "Z" after the country code), deterministic for a seed.
``generate_files`` writes them and the seeded daily figures as files in the publishers' layouts
(``connectgraph generate``); ``load_scale`` (``connectgraph generate-scale``) loads such a directory
through the loader, as ``connectgraph load all`` would, then analyses the database.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from service.db.client import Connection
from service.demo.generate import WINDOW_END, IndexParams, build_figures, demo_index_params
from service.demo.load import DatabaseNotEmpty, describe_datasets, is_empty, written_tables
from service.demo.reference import EtfSeed, Reference, dataset_notes, demo_reference, etf_key
from service.ingest.generate import (
    GeneratedFile,
    in_load_order,
    read_manifest,
    write_figures,
    write_manifest,
    write_reference,
)
from service.ingest.loader import LoadOptions, load_file
from service.ingest.market import MIC_CURRENCY
from service.ingest.tables import (
    EligibilityChangeLine,
    EtfLine,
    IndexLine,
    LicenceLine,
    ManagerLine,
    MembershipLine,
    SecurityLine,
)
from service.repositories import ingest as repo

Progress = Callable[[str], None]
HUNDRED = Decimal("100.000000")
WEIGHT_STEP = Decimal("0.000001")

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
_HOME_MARKETS = ("HK", "HK", "CN", "CN", "US", "KR", "JP", "SG", "GB")


# --------------------------------------------------------------------------------------------------
# Weights and snapshots of generated indices


def capped_weights(scores: Sequence[tuple[str, float]], cap: Decimal | None) -> list[tuple[str, Decimal]]:
    """Weights proportional to ``scores``, no weight above ``cap``, rounded to 6 dp, summing to 100.

    Capped weights are redistributed proportionally among the others until none exceeds the cap; the
    rounding residue goes to the largest weight that can take it without breaking the cap.
    """
    if not scores:
        return []
    cap_f = float(cap) if cap is not None else 100.0
    if cap_f * len(scores) < 100.0:
        raise ValueError(f"{len(scores)} members cannot satisfy a {cap}% cap")
    raw = [max(s, 1e-9) for _, s in scores]
    capped = [False] * len(raw)
    weights = [0.0] * len(raw)
    while True:
        free = 100.0 - cap_f * sum(capped)
        free_score = sum(s for s, c in zip(raw, capped, strict=True) if not c)
        over = False
        for i, s in enumerate(raw):
            if capped[i]:
                weights[i] = cap_f
            else:
                weights[i] = free * s / free_score
                if weights[i] > cap_f:
                    over = True
        if not over:
            break
        for i, w in enumerate(weights):
            if not capped[i] and w > cap_f:
                capped[i] = True
    rounded = [(cap if capped[i] and cap is not None else Decimal(f"{w:.6f}")) for i, w in enumerate(weights)]
    residue = HUNDRED - sum(rounded, Decimal(0))
    if residue:
        order = sorted(range(len(rounded)), key=lambda i: (-rounded[i], i))
        for i in order:
            candidate = rounded[i] + residue
            if candidate >= 0 and (cap is None or candidate <= cap):
                rounded[i] = candidate
                break
        else:  # pragma: no cover - only with degenerate caps
            raise ValueError("cannot place the rounding residue within the cap")
    return [(key, w.quantize(WEIGHT_STEP)) for (key, _), w in zip(scores, rounded, strict=True)]


def isin_check_digit(body: str) -> int:
    """The ISIN check digit of the first 11 characters (letters as 10..35, then Luhn)."""
    digits = "".join(str(int(ch, 36)) for ch in body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class Rebalance:
    """A snapshot change: members added (with scores) and removed; the others' scores drift."""

    effective_from: date
    add: tuple[tuple[str, float], ...] = ()
    remove: tuple[str, ...] = ()


def membership_snapshots(
    index_code: str,
    cap: Decimal | None,
    base: Sequence[tuple[str, float]],
    start: date,
    rebalances: Sequence[Rebalance],
    securities: Mapping[str, SecurityLine],
) -> list[MembershipLine]:
    """The index's full constituent list on ``start`` and at each rebalance (a provider's snapshots);
    scores drift a little at each rebalance (seeded by name)."""
    snapshots: list[tuple[date, list[tuple[str, float]]]] = [(start, list(base))]
    current = list(base)
    for rb in rebalances:
        drift = random.Random(f"{index_code}:{rb.effective_from.isoformat()}")
        kept = [(k, s * (0.85 + 0.3 * drift.random())) for k, s in current if k not in rb.remove]
        current = kept + list(rb.add)
        snapshots.append((rb.effective_from, current))
    lines: list[MembershipLine] = []
    for effective_from, members in snapshots:
        for key, weight in sorted(capped_weights(members, cap)):
            security = securities[key]
            lines.append(
                MembershipLine(
                    index_code=index_code,
                    effective_from=effective_from,
                    mic=security.mic,
                    local_code=security.local_code,
                    isin=security.isin,
                    name=security.name,
                    weight_pct=weight,
                )
            )
    return lines


# --------------------------------------------------------------------------------------------------
# The generated reference


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


def _counters(mic: str, code: str, extra: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{c} {ccy}" for c, ccy in ((code, MIC_CURRENCY[mic]), *extra))


def scale_reference(*, etfs: int, securities: int, seed: int, start: date, end: date) -> ScaleReference:
    """The demo reference plus generated securities, indices, memberships, managers, ETFs and more."""
    rng = random.Random(f"{seed}:scale")
    demo = demo_reference()
    n_indices = max(3, min(150, etfs // 10))
    n_managers = max(3, min(45, etfs // 30))

    # Securities
    counters = [0] * len(_SECURITY_MARKETS)
    gen_securities: list[SecurityLine] = []
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
            SecurityLine(
                mic=mic,
                local_code=local,
                name=name,
                sector=_SECTORS[rng.randrange(len(_SECTORS))],
                country="CN" if mic in ("XSHG", "XSHE") else cc,
                currency=MIC_CURRENCY[mic],
                isin=body + str(isin_check_digit(body)),
            )
        )
    by_key = {f"{s.mic}:{s.local_code}": s for s in (*demo.securities, *gen_securities)}
    pool = list(by_key)

    # Indices, their levels' parameters and memberships
    params = demo_index_params()
    gen_indices: list[IndexLine] = []
    gen_memberships: list[MembershipLine] = []
    for i in range(n_indices):
        themes = _THEMES[rng.randrange(len(_THEMES))]
        currency = "CNY" if "china-a" in themes else ("USD" if "us" in themes else "HKD")
        cap = (None, Decimal("8"), Decimal("10"), Decimal("12"), Decimal("15"))[rng.randrange(5)]
        code = f"BENCH-{themes[0].upper()}-{i + 1:03d}"
        members = 20 + rng.randrange(81)
        gen_indices.append(
            IndexLine(
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
                themes=list(themes),
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
        gen_memberships += membership_snapshots(
            code,
            cap,
            base,
            start - timedelta(days=30),
            [Rebalance(rebalance_day, add=((chosen[members], 50.0),), remove=(chosen[0],))],
            by_key,
        )

    # Managers
    gen_managers = [
        ManagerLine(
            slug=f"bench-manager-{i + 1:03d}",
            legal_name=f"Bench Asset Management {i + 1:03d} Limited",
            short_name=f"Bench AM {i + 1:03d}",
            home_market=_HOME_MARKETS[rng.randrange(len(_HOME_MARKETS))],
        )
        for i in range(n_managers)
    ]
    slugs = [m.slug for m in demo.managers] + [m.slug for m in gen_managers]

    # ETFs, counters, eligibility (as HKEX change lines per link), seeds for their figures
    gen_etfs: list[EtfLine] = []
    seeds: dict[str, EtfSeed] = {}
    changes: dict[str, list[EligibilityChangeLine]] = {}

    def change(link: str, day: date, code: str, kind: str, remarks: str = "") -> None:
        changes.setdefault(link, []).append(
            EligibilityChangeLine(effective_date=day, stock_code=code, change=kind, remarks=remarks or None)
        )

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
        extra: list[tuple[str, str]] = []
        if hk and rng.random() < 0.15:
            extra.append(("8" + code, "CNY"))
        if hk and rng.random() < 0.05:
            extra.append(("9" + code, "USD"))
        etf = EtfLine(
            mic=mic,
            code=code,
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
            counters=_counters(mic, code, extra),
        )
        gen_etfs.append(etf)
        seeds[etf_key(etf)] = EtfSeed(nav=nav, aum=aum)
        if index is not None:
            pair = (index.code, issuer)
            launched[pair] = min(launched.get(pair, listed), listed)
        if leveraged or delisted is not None:
            continue
        if hk and rng.random() < 0.3:
            since = max(listed + timedelta(days=180), date(2022, 7, 4), start)
            until = since + timedelta(days=200 + rng.randrange(400)) if rng.random() < 0.1 else None
            for link in ("sse-southbound", "szse-southbound"):
                change(link, since, code, "Addition", "bench: added")
                if until is not None:
                    change(link, until, code, "Removal")
                    change(link, until + timedelta(days=182), code, "Addition", "bench: re-added")
        elif not hk and rng.random() < 0.4:
            since = max(listed + timedelta(days=180), date(2022, 7, 4))
            change(
                "sse-northbound" if mic == "XSHG" else "szse-northbound",
                since,
                code,
                "Addition",
                "bench: added",
            )

    # Licences: one PRODUCT_LAUNCHED per (index, issuer) with an ETF, plus a few SIGNED/LAPSED.
    gen_licences = [
        LicenceLine(
            index_code=code,
            manager_slug=slug,
            licensed_on=on,
            status="PRODUCT_LAUNCHED",
            is_illustrative=True,
            notes="bench",
        )
        for (code, slug), on in sorted(launched.items())
    ]
    for index in gen_indices:
        for _ in range(rng.randrange(3)):
            slug = slugs[rng.randrange(len(slugs))]
            if (index.code, slug) in launched:
                continue
            status = "SIGNED" if rng.random() < 0.7 else "LAPSED"
            launched[(index.code, slug)] = end
            gen_licences.append(
                LicenceLine(
                    index_code=index.code,
                    manager_slug=slug,
                    licensed_on=end - timedelta(days=90),
                    status=status,
                    is_illustrative=True,
                    notes="bench",
                )
            )

    generated = Reference(
        managers=tuple(gen_managers),
        indices=tuple(gen_indices),
        securities=tuple(gen_securities),
        memberships=tuple(gen_memberships),
        licences=tuple(gen_licences),
        etfs=tuple(gen_etfs),
        eligibility={link: tuple(lines) for link, lines in changes.items()},
        seeds=seeds,
    )
    return ScaleReference(demo.extend(generated), params)


def scale_window(years: int, end: date = WINDOW_END) -> tuple[date, date]:
    """[start, end] covering ``years`` years up to the demo window's end."""
    return date(end.year - years, end.month, end.day) + timedelta(days=1), end


# --------------------------------------------------------------------------------------------------
# Files and loading


def generate_files(
    out: Path,
    *,
    etfs: int,
    years: int,
    seed: int = 7,
    securities: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[GeneratedFile]:
    """Write every dataset's files and the manifest into ``out``; return the files in load order."""
    out.mkdir(parents=True, exist_ok=True)
    start, end = scale_window(years)
    scaled = scale_reference(etfs=etfs, securities=securities or 2 * etfs, seed=seed, start=start, end=end)
    files = write_reference(out, scaled.reference)
    if progress is not None:
        for f in files:
            progress(f"{f.path.name}: {f.rows:,} rows")
    figures = build_figures(
        scaled.reference, seed=seed, start=start, end=end, index_params=scaled.index_params
    )
    files += write_figures(out, figures, start, end, progress)
    files = in_load_order(files)
    write_manifest(
        out,
        files,
        generator="connectgraph generate",
        seed=seed,
        etfs=etfs,
        years=years,
        window=[start.isoformat(), end.isoformat()],
    )
    return files


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

    ``etfs`` and ``securities`` are the numbers generated on top of the demo reference data. The files
    ``generate_files`` writes are loaded through the loader (each in its transaction, as ``connectgraph
    load all DIR`` would), the datasets described, then the database is analysed.
    """
    if not await is_empty(conn):
        raise DatabaseNotEmpty(int(await conn.fetchval("SELECT count(*) FROM indices")))
    began = time.monotonic()

    def say(message: str) -> None:
        if progress is not None:
            progress(f"[{time.monotonic() - began:6.1f}s] {message}")

    with tempfile.TemporaryDirectory(prefix="connectgraph-scale-") as tmp:
        generate_files(Path(tmp), etfs=etfs, years=years, seed=seed, securities=securities, progress=say)
        plan, _ = read_manifest(Path(tmp))
        results = []
        for name, path in plan:
            result = await load_file(conn, name, path, LoadOptions(illustrative=True, analyze=False))
            say(result.summary().splitlines()[0])
            results.append(result)
    note = f" Benchmark scale: {etfs} generated ETFs over {years} years (BENCH-* rows are synthetic)."
    await describe_datasets(conn, dataset_notes(seed), note)
    await repo.analyze(conn, written_tables(results))
    say("analyzed")
    return await repo.table_counts(conn, COUNTED)


# Tables ``load_scale`` reports.
COUNTED = (
    "asset_managers",
    "connect_calendar_exceptions",
    "connect_daily_flows",
    "connect_eligibility",
    "etf_counters",
    "etf_daily_stats",
    "etfs",
    "fx_rates",
    "index_levels",
    "index_licences",
    "index_memberships",
    "indices",
    "securities",
    "trading_calendar",
)
