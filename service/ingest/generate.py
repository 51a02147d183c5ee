"""Writing files in every loadable layout, from reference lines and generated figures.

A file's header and column order come from its table's declaration (``service/ingest/tables.py``): a
column the generator does not fill is written blank, so a column added to a declaration appears in
generated files at once. ``connectgraph generate`` (``service/demo/scale.py``) and the demo
(``service/demo/load.py``) write their files here; ``manifest.json`` lists a directory's files in load
order, so ``connectgraph load all DIR`` loads it. The ETF daily file is written while it is
generated: memory stays flat at any scale.
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

from service.demo.generate import (
    CALENDAR_COLUMNS,
    EXCEPTION_COLUMNS,
    FX_COLUMNS,
    LEVEL_COLUMNS,
    STATS_COLUMNS,
    TOP_STOCK_COLUMNS,
    Figures,
)
from service.demo.reference import LINKS, STOCK_LINKS, Reference
from service.ingest.datasets import Dataset
from service.ingest.layouts import LOAD_ORDER
from service.ingest.lines import Line, cell_text
from service.ingest.tables import (
    CalendarLine,
    ConnectDailyLine,
    ConnectExceptionLine,
    ConnectTopStockLine,
    EligibilityChangeLine,
    EtfDailyLine,
    EtfLine,
    FxLine,
    IndexLevelLine,
    IndexLine,
    LicenceLine,
    ManagerLine,
    MembershipLine,
    SecurityLine,
)

MANIFEST = "manifest.json"
MILLION = Decimal(1_000_000)
MARKET_OF = {
    ("SHANGHAI", "NORTHBOUND"): "SSE Northbound",
    ("SHANGHAI", "SOUTHBOUND"): "SSE Southbound",
    ("SHENZHEN", "NORTHBOUND"): "SZSE Northbound",
    ("SHENZHEN", "SOUTHBOUND"): "SZSE Southbound",
}


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    dataset: Dataset
    path: Path
    rows: int


def write_rows(path: Path, line: type[Line], fields: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write ``rows`` (values in ``fields`` order) as ``line``'s layout: its header, its column order,
    blank cells for the columns ``fields`` does not name. Returns the rows written."""
    declared = [name for name, _ in line.cols()]
    unknown = set(fields) - set(declared)
    if unknown:
        raise ValueError(f"{line.__name__} declares no field {sorted(unknown)}")
    where = [fields.index(name) if name in fields else -1 for name in declared]
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(line.header())
        for row in rows:
            writer.writerow([cell_text(row[i]) if i >= 0 else "" for i in where])
            n += 1
    return n


def write_lines(path: Path, line: type[Line], lines: Iterable[Line]) -> int:
    """Write parsed lines back as their layout."""
    fields = [name for name, _ in line.cols()]
    return write_rows(path, line, fields, ([getattr(item, name) for name in fields] for item in lines))


def write_reference(out: Path, ref: Reference) -> list[GeneratedFile]:
    """The reference datasets' files (eligibility: one HKEX change file per Connect link)."""
    files: list[GeneratedFile] = []

    def add(dataset: Dataset, name: str, line: type[Line], lines: Iterable[Line]) -> None:
        files.append(GeneratedFile(dataset, out / name, write_lines(out / name, line, lines)))

    add(Dataset.MANAGERS, "managers.csv", ManagerLine, ref.managers)
    add(Dataset.INDICES, "indices.csv", IndexLine, ref.indices)
    add(Dataset.SECURITIES, "securities.csv", SecurityLine, ref.securities)
    add(Dataset.MEMBERSHIPS, "memberships.csv", MembershipLine, ref.memberships)
    add(Dataset.LICENCES, "licences.csv", LicenceLine, ref.licences)
    add(Dataset.ETFS, "etfs.csv", EtfLine, ref.etfs)
    for link in LINKS:
        if ref.eligibility.get(link):
            name = f"eligibility-changes-{link}.csv"
            add(Dataset.ELIGIBILITY, name, EligibilityChangeLine, _numbered(ref.eligibility[link]))
    for link in STOCK_LINKS:  # the stocks' own (the top tens' southbound universe)
        if ref.stock_eligibility.get(link):
            name = f"eligibility-stocks-{link}.csv"
            add(Dataset.ELIGIBILITY, name, EligibilityChangeLine, _numbered(ref.stock_eligibility[link]))
    return files


def _numbered(lines: Sequence[EligibilityChangeLine]) -> list[EligibilityChangeLine]:
    """Change lines in date order, numbered from 1 as HKEX numbers them."""
    ordered = sorted(enumerate(lines), key=lambda item: (item[1].effective_date, item[0]))
    return [line.model_copy(update={"no": n}) for n, (_, line) in enumerate(ordered, 1)]


def write_figures(
    out: Path, figures: Figures, start: date, end: date, say: Callable[[str], None] | None = None
) -> list[GeneratedFile]:
    """The generated daily figures' files: calendars, FX, index levels, Connect flows, ETF figures."""
    files: list[GeneratedFile] = []

    def add(
        dataset: Dataset, name: str, line: type[Line], fields: Sequence[str], rows: Iterable[Sequence[object]]
    ) -> None:
        files.append(GeneratedFile(dataset, out / name, write_rows(out / name, line, fields, rows)))
        if say is not None:
            say(f"{name}: {files[-1].rows:,} rows")

    # Calendar, exception, FX and level rows come in their declarations' field order.
    add(Dataset.CALENDAR, "calendar.csv", CalendarLine, CALENDAR_COLUMNS, figures.calendar)
    add(
        Dataset.CALENDAR,
        "calendar-connect-exceptions.csv",
        ConnectExceptionLine,
        EXCEPTION_COLUMNS,
        figures.exceptions,
    )
    add(Dataset.FX, "fx.csv", FxLine, FX_COLUMNS, figures.fx)
    add(Dataset.INDEX_LEVELS, "index-levels.csv", IndexLevelLine, LEVEL_COLUMNS, figures.levels)
    cny_hkd: dict[date, Decimal] = {
        row[2]: row[3]  # type: ignore[misc]
        for row in figures.fx
        if row[0] == "CNY" and row[1] == "HKD"
    }
    add(
        Dataset.CONNECT_DAILY,
        "connect-daily.csv",
        ConnectDailyLine,
        CONNECT_DAILY_FIELDS,
        _connect_daily(figures.flows, cny_hkd, start, end),
    )
    if figures.top_stocks:  # a reference with fewer than ten stocks a block can trade has none
        add(
            Dataset.CONNECT_DAILY,
            "connect-top10.csv",
            ConnectTopStockLine,
            CONNECT_TOP_FIELDS,
            _connect_top(figures.top_stocks),
        )
    add(Dataset.ETF_DAILY, "etf-daily.csv", EtfDailyLine, ETF_DAILY_FIELDS, _etf_daily(figures.stats()))
    return files


def in_load_order(files: Iterable[GeneratedFile]) -> list[GeneratedFile]:
    """Files sorted by their dataset's place in the load order (stable within a dataset)."""
    order = {name: i for i, name in enumerate(LOAD_ORDER)}
    return sorted(files, key=lambda f: order[f.dataset])


def write_manifest(out: Path, files: Sequence[GeneratedFile], **about: Any) -> None:
    manifest: dict[str, Any] = {
        **about,
        "illustrative": True,
        "files": [{"dataset": f.dataset.value, "file": f.path.name, "rows": f.rows} for f in files],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(directory: Path) -> tuple[list[tuple[str, Path]], bool]:
    """The (dataset, file) pairs of a generated directory in load order, and whether it is illustrative."""
    data = json.loads((directory / MANIFEST).read_text())
    return [(f["dataset"], directory / f["file"]) for f in data["files"]], bool(data.get("illustrative"))


# Generated amounts are exact to the cent; in millions that takes up to ten decimal places (an RMB
# quota balance converted from HK$ is rounded there, close enough to convert back to the same cents).
MILLIONTH_CENT = Decimal("0.0000000001")


def _millions(amount: Decimal | None) -> str:
    return "" if amount is None else f"{(amount / MILLION).quantize(MILLIONTH_CENT).normalize():,f}"


CONNECT_DAILY_FIELDS = (
    "trading_day",
    "market",
    "is_trading_day",
    "total_mil",
    "buy_mil",
    "sell_mil",
    "trade_count",
    "buy_trade_count",
    "sell_trade_count",
    "etf_mil",
    "quota_balance_mil",
)


def _connect_daily(
    flows: Sequence[tuple[Any, ...]], cny_hkd: dict[date, Decimal], start: date, end: date
) -> Iterable[Sequence[object]]:
    """HKEX's blocks, in millions; weekdays without Connect trading as blocks flagged N."""
    by_day: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
    for row in flows:
        by_day[row[2]].append(row)
    day = start
    while day <= end:
        if day in by_day:
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


CONNECT_TOP_FIELDS = (
    "trading_day",
    "market",
    "rank",
    "local_code",
    "stock_name",
    "buy_turnover",
    "sell_turnover",
    "total_turnover",
)


def _connect_top(rows: Sequence[tuple[Any, ...]]) -> Iterable[Sequence[object]]:
    """HKEX's top-ten lines: the block's name, full units."""
    fields = {name: i for i, name in enumerate(TOP_STOCK_COLUMNS)}
    for row in rows:
        market = MARKET_OF[(row[fields["channel"]], row[fields["direction"]])]
        yield (row[fields["trading_day"]], market, *row[fields["rank"] :])


# A stats row's columns with its fund's key as the file's exchange and code.
ETF_DAILY_FIELDS = ("trading_day", "mic", "code", *STATS_COLUMNS[2:])


def _etf_daily(stats: Iterable[tuple[Any, ...]]) -> Iterable[Sequence[object]]:
    for key, day, currency, nav, close, units, aum, net_units, net_value, turnover, holding in stats:
        mic, code = key.split(":", 1)
        yield day, mic, code, currency, nav, close, units, aum, net_units, net_value, turnover, holding
