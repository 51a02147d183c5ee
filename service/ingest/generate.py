"""``connectgraph generate``: files in every loadable layout, at any scale, deterministic by seed.

The rows come from the demo generators (``service/demo``): the demo reference data plus the
benchmark-scale reference (``scale_reference``) and the seeded daily figures (``build_figures``),
written in the publishers' layouts of ``service/ingest/layouts.py``. ``manifest.json`` lists the files
in load order, so ``connectgraph load all DIR`` loads a generated directory into an empty database.
Every figure is illustrative (the manifest says so, and loading it marks the datasets illustrative).
The ETF daily file is written while it is generated: memory stays flat at any scale.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.demo.generate import build_figures
from service.demo.reference import EligibilityRef, Reference
from service.demo.scale import scale_reference, scale_window
from service.ingest.layouts import LOAD_ORDER, layout

MANIFEST = "manifest.json"
MILLION = Decimal(1_000_000)
CENT = Decimal("0.01")
LINK_OF = {
    ("SOUTHBOUND", "SHANGHAI"): "sse-southbound",
    ("SOUTHBOUND", "SHENZHEN"): "szse-southbound",
    ("NORTHBOUND", "SHANGHAI"): "sse-northbound",
    ("NORTHBOUND", "SHENZHEN"): "szse-northbound",
}
MARKET_OF = {
    ("SHANGHAI", "NORTHBOUND"): "SSE Northbound",
    ("SHANGHAI", "SOUTHBOUND"): "SSE Southbound",
    ("SHENZHEN", "NORTHBOUND"): "SZSE Northbound",
    ("SHENZHEN", "SOUTHBOUND"): "SZSE Southbound",
}


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    dataset: str
    path: Path
    rows: int


def _header(dataset: str, layout_name: str) -> list[str]:
    return layout(layout_name).header()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(v) for v in row])
            n += 1
    return n


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
    say = progress or (lambda _message: None)
    start, end = scale_window(years)
    scaled = scale_reference(etfs=etfs, securities=securities or 2 * etfs, seed=seed, start=start, end=end)
    ref = scaled.reference
    index_ids = {i.code: n for n, i in enumerate(ref.indices, 1)}
    etf_ids = {e.key: n for n, e in enumerate(ref.etfs, 1)}
    figures = build_figures(
        ref, index_ids, etf_ids, seed=seed, start=start, end=end, index_params=scaled.index_params
    )
    files: list[GeneratedFile] = []

    def add(dataset: str, name: str, layout: str, rows: Iterable[Sequence[object]]) -> None:
        path = out / name
        files.append(GeneratedFile(dataset, path, _write(path, _header(dataset, layout), rows)))
        say(f"{name}: {files[-1].rows:,} rows")

    add("managers", "managers.csv", "managers", _managers(ref))
    add("indices", "indices.csv", "index-master", _indices(ref))
    add("securities", "securities.csv", "security-master", _securities(ref))
    add("memberships", "memberships.csv", "constituent-weights", _memberships(ref))
    add("licences", "licences.csv", "index-licences", _licences(ref))
    add("etfs", "etfs.csv", "etf-master", _etfs(ref))
    by_link: dict[str, list[EligibilityRef]] = defaultdict(list)
    for e in ref.eligibility:
        by_link[LINK_OF[(e.direction, e.channel)]].append(e)
    for link in sorted(by_link):
        add(
            "eligibility",
            f"eligibility-changes-{link}.csv",
            "hkex-eligibility-changes",
            _eligibility_changes(by_link[link]),
        )
    add("calendar", "calendar.csv", "trading-calendar", figures.calendar)
    add("calendar", "calendar-connect-exceptions.csv", "connect-calendar-exceptions", figures.exceptions)
    add("fx", "fx.csv", "fx-rates", ([b, q, d, r, s] for b, q, d, r, s in figures.fx))
    cny_hkd: dict[date, Decimal] = {
        row[2]: row[3]  # type: ignore[misc]
        for row in figures.fx
        if row[0] == "CNY" and row[1] == "HKD"
    }
    add(
        "connect-daily",
        "connect-daily.csv",
        "hkex-stock-connect-daily",
        _connect_daily(figures.flows, cny_hkd, start, end),
    )
    key_of = {n: ref_key.split(":", 1) for ref_key, n in etf_ids.items()}
    add("etf-daily", "etf-daily.csv", "manager-daily-nav", _etf_daily(figures.stats(), key_of))

    order = {name.value: i for i, name in enumerate(LOAD_ORDER)}
    files.sort(key=lambda f: order[f.dataset])  # stable: files of one dataset keep their order
    manifest: dict[str, Any] = {
        "generator": "connectgraph generate",
        "seed": seed,
        "etfs": etfs,
        "years": years,
        "window": [start.isoformat(), end.isoformat()],
        "illustrative": True,
        "files": [{"dataset": f.dataset, "file": f.path.name, "rows": f.rows} for f in files],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return files


def read_manifest(directory: Path) -> tuple[list[tuple[str, Path]], bool]:
    """The (dataset, file) pairs of a generated directory in load order, and whether it is illustrative."""
    data = json.loads((directory / MANIFEST).read_text())
    return [(f["dataset"], directory / f["file"]) for f in data["files"]], bool(data.get("illustrative"))


def _managers(ref: Reference) -> Iterable[Sequence[object]]:
    for m in ref.managers:
        yield m.slug, m.legal_name, m.short_name, m.home_market, m.website


def _indices(ref: Reference) -> Iterable[Sequence[object]]:
    for i in ref.indices:
        yield (
            i.code,
            i.name,
            i.provider,
            i.currency,
            i.base_date,
            i.base_value,
            i.launch_date,
            i.weighting,
            i.weight_cap_pct,
            i.review_frequency,
            i.rebalance_frequency,
            i.constituent_count,
            i.methodology_notes,
            "|".join(i.themes),
            i.is_illustrative,
        )


def _securities(ref: Reference) -> Iterable[Sequence[object]]:
    for s in ref.securities:
        yield s.mic, s.local_code, s.isin, s.name, s.sector, s.country, s.currency


def _memberships(ref: Reference) -> Iterable[Sequence[object]]:
    """Each index's full constituent list on every date its membership changes (a provider's snapshots)."""
    by_index: dict[str, list[Any]] = defaultdict(list)
    for m in ref.memberships:
        by_index[m.index_code].append(m)
    names = {s.key: (s.isin, s.name) for s in ref.securities}
    for code in sorted(by_index):
        periods = by_index[code]
        days = sorted(
            {p.effective_from for p in periods} | {p.effective_to for p in periods if p.effective_to}
        )
        for day in days:
            for p in sorted(periods, key=lambda p: p.security_key):
                if p.effective_from <= day and (p.effective_to is None or day < p.effective_to):
                    mic, local = p.security_key.split(":", 1)
                    isin, name = names[p.security_key]
                    yield code, day, mic, local, isin, name, p.weight_pct


def _licences(ref: Reference) -> Iterable[Sequence[object]]:
    for lic in ref.licences:
        yield lic.index_code, lic.manager_slug, lic.licensed_on, lic.status, lic.is_illustrative, lic.notes


def _etfs(ref: Reference) -> Iterable[Sequence[object]]:
    counters: dict[str, list[Any]] = defaultdict(list)
    for c in ref.counters:
        counters[c.etf_key].append(c)
    for e in ref.etfs:
        listed = sorted(counters[e.key], key=lambda c: not c.is_primary)
        yield (
            e.mic,
            e.code,
            e.isin,
            e.name_en,
            e.name_zh,
            e.issuer_slug,
            e.index_code,
            e.listing_date,
            e.delisting_date,
            e.base_currency,
            e.replication,
            e.ongoing_charges_pct,
            e.leverage_factor,
            "; ".join(f"{c.code} {c.currency}" for c in listed),
        )


def _eligibility_changes(periods: Sequence[EligibilityRef]) -> Iterable[Sequence[object]]:
    """Periods back into HKEX change lines: additions, transfers to/from the special list, removals."""
    by_etf: dict[str, list[EligibilityRef]] = defaultdict(list)
    for p in periods:
        by_etf[p.etf_key].append(p)
    lines: list[tuple[date, str, int, str, str]] = []

    def line(day: date, code: str, change: str, remarks: str) -> None:
        lines.append((day, code, len(lines), change, remarks))

    special = "the List of Special SEHK Securities"
    for key, history in by_etf.items():
        history.sort(key=lambda p: p.effective_from)
        code = key.split(":", 1)[1]
        for i, p in enumerate(history):
            before = history[i - 1] if i > 0 and history[i - 1].effective_to == p.effective_from else None
            if before is None:
                line(p.effective_from, code, "Addition", p.reason)
                if p.status == "SELL_ONLY":
                    line(p.effective_from, code, f"Transfer to {special}", "")
            elif before.status != p.status:
                change = f"Transfer to {special}" if p.status == "SELL_ONLY" else f"Transfer from {special}"
                line(p.effective_from, code, change, p.reason)
            after = history[i + 1] if i + 1 < len(history) else None
            if p.effective_to is not None and (after is None or after.effective_from != p.effective_to):
                line(p.effective_to, code, "Removal", "")
    lines.sort()
    for n, (day, code, _, change, remarks) in enumerate(lines, 1):
        yield n, day.strftime("%d/%m/%Y"), code, "", change, remarks


def _millions(amount: Decimal | None) -> str:
    return "" if amount is None else f"{(amount / MILLION).quantize(CENT):,}"


def _connect_daily(
    flows: Sequence[tuple[Any, ...]], cny_hkd: dict[date, Decimal], start: date, end: date
) -> Iterable[Sequence[object]]:
    trading = {row[2] for row in flows}
    by_day: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
    for row in flows:
        by_day[row[2]].append(row)
    day = start
    while day <= end:
        if day in trading:
            for row in sorted(by_day[day], key=lambda r: (r[0], r[1])):
                (
                    channel,
                    direction,
                    _,
                    _,
                    buy,
                    sell,
                    total,
                    _,
                    trades,
                    buys,
                    sells,
                    etf,
                    _,
                    balance,
                    unlimited,
                ) = row
                if unlimited:
                    quota = "999,999,999"
                elif direction == "SOUTHBOUND":
                    quota = _millions(balance / cny_hkd[day])  # HKEX states the quota in RMB
                else:
                    quota = _millions(balance)
                yield (
                    day,
                    MARKET_OF[(channel, direction)],
                    "Y",
                    _millions(total),
                    _millions(buy),
                    _millions(sell),
                    trades,
                    buys,
                    sells,
                    _millions(etf),
                    quota,
                )
        elif day.weekday() < 5:
            for market in MARKET_OF.values():
                yield day, market, "N", "", "", "", "", "", "", "", ""
        day += timedelta(days=1)


def _etf_daily(stats: Iterable[tuple[Any, ...]], key_of: dict[int, list[str]]) -> Iterable[Sequence[object]]:
    for etf_id, day, currency, nav, close, units, aum, net_units, net_value, turnover, holding in stats:
        mic, code = key_of[etf_id]
        yield day, mic, code, currency, nav, close, units, aum, net_units, net_value, turnover, holding
