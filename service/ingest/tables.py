"""Every loadable table, declared once: the publisher's columns, their types and checks, keys and references.

Each class is one file layout of a dataset (``service/ingest/lines.py`` says how a declaration is read).
Its fields are the cells of a line: ``Col("Header")`` names the publisher's column, the annotated type
validates the cell and gives the staging column's type, and ``problems()`` adds the checks that span
cells. Staging, the COPY, the duplicate and reference checks, the upsert, the layouts the reader
matches, ``connectgraph generate``'s files and the demo data files all derive from these classes.

Adding a loadable column to a table is one line here (see CONTRIBUTING.md, "Adding a field"), as
``domicile: Annotated[OptCountry, Col("Domicile")] = None`` is in ``EtfLine``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from service.ingest.cells import (
    Code,
    Count,
    Country,
    Currency,
    Day,
    Digits,
    Flag,
    IndexCode,
    Isin,
    Mic,
    Number,
    OptCountry,
    OptDay,
    OptIndexCode,
    OptNumber,
    OptPositiveNumber,
    OptText,
    Positive,
    Slug,
    Tags,
    Text,
    local_code,
    parse_day,
    plain_number,
    required,
    upper_text,
)
from service.ingest.datasets import Dataset
from service.ingest.lines import Col, Derived, Line
from service.ingest.market import (
    MIC_CURRENCY,
    NORTHBOUND_DAILY_QUOTA_CNY,
    NORTHBOUND_SPLIT_UNPUBLISHED_FROM,
    QUOTA_SENTINEL,
    SOUTHBOUND_DAILY_QUOTA_CNY,
)
from service.repositories.ingest import Ref, TableSpec

MILLION = Decimal(1_000_000)


def _index(field: str, id_column: str | None) -> Ref:
    return Ref("indices", ((field, "code"),), id_column, "index", "indices", field)


def _manager(field: str, id_column: str | None) -> Ref:
    return Ref("asset_managers", ((field, "slug"),), id_column, "manager", "managers", field)


# --- Reference data ---------------------------------------------------------------------------------


class ManagerLine(Line):
    dataset = Dataset.MANAGERS
    layout = "managers"
    about = "Asset managers (ETF issuers, index licensees)"
    table = "asset_managers"
    key = ("slug",)
    also_writes = ("etf_fund_keys",)  # kept by triggers

    slug: Annotated[Slug, Col("Manager ID")]
    legal_name: Annotated[Text, Col("Legal Name")]
    short_name: Annotated[Text, Col("Short Name")]
    home_market: Annotated[Country, Col("Home Market")]
    website: Annotated[OptText, Col("Website")] = None


class IndexLine(Line):
    dataset = Dataset.INDICES
    layout = "index-master"
    about = "Index master data, one line per index"
    table = "indices"
    key = ("code",)
    also_writes = ("etf_fund_keys", "etf_group_days")  # kept by triggers (funds' keys, themes' sums)

    code: Annotated[IndexCode, Col("Index Code")]
    name: Annotated[Text, Col("Index Name")]
    name_zh: Annotated[OptText, Col("Index Name (Chinese)")] = None
    provider: Annotated[Text, Col("Provider")]
    market: Annotated[OptCountry, Col("Market")] = None
    currency: Annotated[Currency, Col("Currency")]
    base_date: Annotated[OptDay, Col("Base Date")] = None
    base_value: Annotated[OptPositiveNumber, Digits(20, 6), Col("Base Value")] = None
    launch_date: Annotated[OptDay, Col("Launch Date")] = None
    weighting: Annotated[OptText, Col("Weighting")] = None
    weight_cap_pct: Annotated[
        Annotated[Decimal, Field(gt=0, le=100)] | None,
        BeforeValidator(plain_number),
        Digits(9, 4),
        Col("Weight Cap (%)"),
    ] = None
    review_frequency: Annotated[OptText, Col("Review Frequency")] = None
    rebalance_frequency: Annotated[OptText, Col("Rebalance Frequency")] = None
    constituent_count: Annotated[Positive, Col("Number of Constituents", sql="integer")] = None
    methodology_notes: Annotated[OptText, Col("Methodology Notes")] = None
    themes: Annotated[Tags, Col("Themes")] = Field(default_factory=list)
    is_illustrative: Annotated[Flag, Col("Illustrative")] = False


class SecurityLine(Line):
    dataset = Dataset.SECURITIES
    layout = "security-master"
    about = "Securities of any exchange, one line per MIC and local code"
    table = "securities"
    key = ("mic", "local_code")
    unique = (("isin",),)
    keep_when_null = ("isin", "sector", "name_zh")
    padded = ("local_code",)

    mic: Annotated[Mic, Col("MIC")]
    local_code: Annotated[Code, Col("Local Code")]
    isin: Annotated[Isin, Col("ISIN")] = None
    name: Annotated[Text, Col("Name")]
    name_zh: Annotated[OptText, Col("Name (Chinese)")] = None
    sector: Annotated[OptText, Col("Sector")] = None
    country: Annotated[Country, Col("Country")]
    currency: Annotated[Currency, Col("Currency")]


class HkexSecurityLine(Line):
    """A line of HKEX's List of Securities; only Category "Equity" lines are securities (others skip).

    The list names neither sector nor country: the ISIN's prefix is the issuer's domicile (HK when
    absent), set when the security is new; an update changes the name and ISIN only.
    """

    dataset = Dataset.SECURITIES
    layout = "hkex-list-of-securities"
    about = "HKEX List of Securities (XLSX: two title rows, headers on row 3)"
    table = "securities"
    key = ("mic", "local_code")
    unique = (("isin",),)
    derived = (Derived("mic", "text"), Derived("country", "text"), Derived("currency", "text"))
    keep_when_null = ("isin",)
    fixed = ("country", "currency")
    padded = ("local_code",)
    padded_mic = "XHKG"

    local_code: Annotated[Code, Col("Stock Code")]
    name: Annotated[Text, Col("Name of Securities")]
    category: Annotated[Text, Col("Category", staged=False)]
    sub_category: Annotated[OptText, Col("Sub-Category", staged=False)] = None
    board_lot: Annotated[Positive, Col("Board Lot", staged=False)] = None
    isin: Annotated[Isin, Col("ISIN")] = None

    @property
    def mic(self) -> str:
        return "XHKG"

    @property
    def country(self) -> str:
        return self.isin[:2] if self.isin else "HK"

    @property
    def currency(self) -> str:
        return "HKD"

    def skipped(self) -> bool:
        return self.category.casefold() != "equity"  # ETPs, warrants, bonds...: not constituents


class MembershipLine(Line):
    """An index provider's constituent-weight file: one line per constituent of a snapshot.

    Each (index, effective date) group is the full constituent list from that date; snapshots close
    and open periods (``service/repositories/ingest.py``, memberships).
    """

    dataset = Dataset.MEMBERSHIPS
    layout = "constituent-weights"
    about = (
        "An index provider's constituent-weight file: the full constituent list per index and effective date"
    )
    table = "index_memberships"
    key = ("index_code", "effective_from", "mic", "local_code")
    refs = (
        _index("index_code", None),
        Ref(
            "securities",
            (("mic", "mic"), ("local_code", "local_code")),
            None,
            "security",
            "securities",
            "local_code",
        ),
    )
    day_field = "effective_from"
    padded = ("local_code",)

    index_code: Annotated[IndexCode, Col("Index Code")]
    effective_from: Annotated[Day, Col("Effective Date")]
    mic: Annotated[Mic, Col("Exchange")]
    local_code: Annotated[Code, Col("Stock Code")]
    isin: Annotated[Isin, Col("ISIN", staged=False)] = None
    name: Annotated[OptText, Col("Constituent Name", staged=False)] = None
    weight_pct: Annotated[Number, Field(ge=0, le=100), Digits(9, 6), Col("Weighting (%)")]


class LicenceLine(Line):
    dataset = Dataset.LICENCES
    layout = "index-licences"
    about = "Index licences granted to managers"
    table = "index_licences"
    key = ("index_code", "manager_slug")
    refs = (_index("index_code", "index_id"), _manager("manager_slug", "manager_id"))

    index_code: Annotated[IndexCode, Col("Index Code")]
    manager_slug: Annotated[Slug, Col("Manager ID")]
    licensed_on: Annotated[Day, Col("Licensed On")]
    status: Annotated[
        Literal["SIGNED", "PRODUCT_LAUNCHED", "LAPSED"],
        BeforeValidator(upper_text),
        Col("Status", sql="licence_status"),
    ]
    is_illustrative: Annotated[Flag, Col("Illustrative")] = False
    notes: Annotated[OptText, Col("Notes")] = None


class EtfLine(Line):
    dataset = Dataset.ETFS
    layout = "etf-master"
    about = "Listed funds with issuer, tracked index and trading counters"
    table = "etfs"
    key = ("mic", "code")
    unique = (("isin",),)
    refs = (_manager("issuer_slug", "issuer_id"), _index("index_code", "index_id"))
    derived = (
        Derived("is_leveraged_inverse", "boolean", needs=("leverage_factor",)),
        # The counters are written by a statement of their own (etf_counters).
        Derived("counter_codes", "text[]", written=False),
        Derived("counter_currencies", "text[]", written=False),
    )
    also_writes = ("etf_counters", "etf_fund_keys")  # the funds' keys: kept by triggers on etfs
    padded = ("code",)

    mic: Annotated[Mic, Col("Exchange")]
    code: Annotated[Code, Col("Stock Code")]
    isin: Annotated[Isin, Col("ISIN")] = None
    name_en: Annotated[Text, Col("Fund Name (English)")]
    name_zh: Annotated[OptText, Col("Fund Name (Chinese)")] = None
    issuer_slug: Annotated[Slug, Col("Manager ID")]
    index_code: Annotated[OptIndexCode, Col("Index Code")] = None
    listing_date: Annotated[Day, Col("Listing Date")]
    delisting_date: Annotated[OptDay, Col("Delisting Date")] = None
    base_currency: Annotated[Currency, Col("Base Currency")]
    domicile: Annotated[OptCountry, Col("Domicile")] = None
    # What the fund holds, as ETF Connect's eligibility criteria read it (blank: unknown).
    investment_focus: Annotated[
        Literal["HONG_KONG_EQUITY", "MAINLAND_EQUITY", "OTHER_EQUITY", "BOND", "COMMODITY", "MONEY_MARKET"]
        | None,
        BeforeValidator(upper_text),
        Col("Investment Focus"),
    ] = None
    replication: Annotated[
        Literal["PHYSICAL", "SYNTHETIC"],
        BeforeValidator(upper_text),
        Col("Replication", sql="replication_method"),
    ]
    ongoing_charges_pct: Annotated[
        Annotated[Decimal, Field(ge=0, lt=10)] | None,
        BeforeValidator(plain_number),
        Digits(7, 4),
        Col("Ongoing Charges (%)"),
    ] = None
    leverage_factor: Annotated[OptNumber, Digits(5, 2), Col("Leverage Factor")] = None
    # "02800 HKD; 82800 CNY": the first is the primary counter; blank is the fund's code alone.
    counters: Annotated[OptText, Col("Trading Counters", staged=False)] = None

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if self.delisting_date is not None and self.delisting_date <= self.listing_date:
            yield "delisting_date", "must be after the listing date"
        if self.leverage_factor == 0:
            yield "leverage_factor", "must not be 0"
        try:
            counters = self.counter_list()
        except ValueError as exc:
            yield "counters", str(exc)
            return
        if counters[0][0] != self.code:
            yield "counters", f"the first (primary) counter must be the fund's code {self.code}"

    def counter_list(self) -> list[tuple[str, str]]:
        """[(code, currency)], primary first."""
        if not self.counters:
            return [(self.code, MIC_CURRENCY.get(self.mic, self.base_currency))]
        out: list[tuple[str, str]] = []
        for part in self.counters.split(";"):
            bits = part.split()
            if len(bits) != 2 or not bits[0].isalnum() or len(bits[1]) != 3 or not bits[1].isalpha():
                raise ValueError(f"{part.strip()!r} is not 'CODE CCY' (e.g. '82800 CNY')")
            out.append((local_code(self.mic, bits[0].upper()), bits[1].upper()))
        if len({c for c, _ in out}) != len(out):
            raise ValueError("a counter is listed twice")
        return out

    @property
    def is_leveraged_inverse(self) -> bool:
        return self.leverage_factor is not None and self.leverage_factor != 1

    @property
    def counter_codes(self) -> list[str]:
        return [code for code, _ in self.counter_list()]

    @property
    def counter_currencies(self) -> list[str]:
        return [currency for _, currency in self.counter_list()]


class ManagerChangeLine(Line):
    """A change of a fund's manager: from the effective date the new manager runs the fund.

    The periods follow (``etf_manager_periods``): the previous manager of a fund's first change runs it
    from its listing, each change's new manager until the next change. The ETF master's Manager ID
    stays the fund's current manager.
    """

    dataset = Dataset.MANAGER_CHANGES
    layout = "fund-manager-changes"
    about = "Changes of a fund's manager (fund, effective date, previous and new manager)"
    table = "etf_manager_changes"
    key = ("mic", "code", "effective_date")
    refs = (
        Ref("etfs", (("mic", "mic"), ("code", "code")), "etf_id", "ETF", "etfs", "code"),
        _manager("from_manager_slug", "from_manager_id"),
        _manager("to_manager_slug", "to_manager_id"),
    )
    day_field = "effective_date"
    padded = ("code",)

    mic: Annotated[Mic, Col("Exchange")]
    code: Annotated[Code, Col("Stock Code")]
    effective_date: Annotated[Day, Col("Effective Date")]
    from_manager_slug: Annotated[Slug, Col("Previous Manager ID")]
    to_manager_slug: Annotated[Slug, Col("New Manager ID")]
    reason: Annotated[OptText, Col("Notes")] = None

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if self.from_manager_slug == self.to_manager_slug:
            yield "to_manager_slug", "must differ from the previous manager"


# --- Eligibility (HKEX change files and full lists: planned in service/ingest/eligibility.py) -------

ChangeKind = Literal["ADD", "REMOVE", "SELL_ONLY", "ELIGIBLE", "IGNORE"]

# HKEX's wording in the "Change" column, matched on lower-cased prefixes.
CHANGE_KINDS: tuple[tuple[str, ChangeKind], ...] = (
    ("addition", "ADD"),
    ("removal", "REMOVE"),
    ("transfer to the list of special", "SELL_ONLY"),
    ("transfer to list of special", "SELL_ONLY"),
    ("transfer to special", "SELL_ONLY"),
    ("buy orders suspended", "SELL_ONLY"),
    ("buy suspended", "SELL_ONLY"),
    ("transfer from the list of special", "ELIGIBLE"),
    ("transfer from list of special", "ELIGIBLE"),
    ("transfer from special", "ELIGIBLE"),
    ("buy orders resumed", "ELIGIBLE"),
    ("buy resumed", "ELIGIBLE"),
    ("stock code change", "IGNORE"),
    ("code change", "IGNORE"),
    ("stock name change", "IGNORE"),
    ("name change", "IGNORE"),
)


def change_kind(text: str) -> ChangeKind | None:
    lowered = " ".join(text.casefold().split())
    for prefix, kind in CHANGE_KINDS:
        if lowered.startswith(prefix):
            return kind
    return None


def _change(value: Any) -> Any:
    value = required(value)
    if isinstance(value, str) and change_kind(value) is None:
        known = ", ".join(sorted({p.capitalize() for p, _ in CHANGE_KINDS}))
        raise ValueError(f"unknown change kind (known: {known})")
    return value


class EligibilityChangeLine(Line):
    """A line of an HKEX change file: No., Effective Date, Stock Code, Stock Name, Change, Remarks."""

    dataset = Dataset.ELIGIBILITY
    layout = "hkex-eligibility-changes"
    about = "HKEX change file of a Connect link's eligible securities"
    table = "connect_eligibility"
    also_writes = ("security_connect_eligibility",)  # the stocks' lines
    day_field = "effective_date"

    no: Annotated[int | None, BeforeValidator(plain_number), Col("No.")] = None
    effective_date: Annotated[Day, Col("Effective Date")]
    stock_code: Annotated[Code, Col("Stock Code")]
    stock_name: Annotated[OptText, Col("Stock Name")] = None
    change: Annotated[str, BeforeValidator(_change), Col("Change")]
    remarks: Annotated[OptText, Col("Remarks")] = None

    @property
    def kind(self) -> ChangeKind:
        kind = change_kind(self.change)
        assert kind is not None  # validated
        return kind


class EligibilityListLine(Line):
    """A line of an HKEX full list of eligible securities (the list's date is in its title rows)."""

    dataset = Dataset.ELIGIBILITY
    layout = "hkex-eligible-list"
    about = "HKEX full list of a Connect link's eligible securities ('Updated as at' title row)"
    table = "connect_eligibility"
    also_writes = ("security_connect_eligibility",)  # the stocks' lines

    no: Annotated[int | None, BeforeValidator(plain_number), Col("No.")] = None
    stock_code: Annotated[Code, Col("Stock Code")]
    stock_name: Annotated[OptText, Col("Stock Name")] = None


# --- Calendars and FX ---------------------------------------------------------------------------------


class CalendarLine(Line):
    dataset = Dataset.CALENDAR
    layout = "trading-calendar"
    about = "Exchange trading days"
    table = "trading_calendar"
    key = ("market", "day")
    also_writes = ("connect_days", "connect_flow_buckets")  # kept by triggers on the calendars
    day_field = "day"

    market: Annotated[Mic, Col("Market")]
    day: Annotated[Day, Col("Date")]
    is_open: Annotated[Flag, Col("Open")]
    is_half_day: Annotated[Flag, Col("Half Day")] = False
    note: Annotated[OptText, Col("Note")] = None

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if self.is_half_day and not self.is_open:
            yield "is_half_day", "a closed day cannot be a half day"


class ConnectExceptionLine(Line):
    dataset = Dataset.CALENDAR
    layout = "connect-calendar-exceptions"
    about = "Published exceptions to 'a Connect day is one when both markets are open'"
    table = "connect_calendar_exceptions"
    key = ("direction", "day")
    also_writes = ("connect_days", "connect_flow_buckets")
    day_field = "day"

    direction: Annotated[
        Literal["SOUTHBOUND", "NORTHBOUND"],
        BeforeValidator(upper_text),
        Col("Direction", sql="connect_direction"),
    ]
    day: Annotated[Day, Col("Date")]
    is_connect_day: Annotated[Flag, Col("Connect Day")]
    reason: Annotated[Text, Col("Reason")]


class FxLine(Line):
    dataset = Dataset.FX
    layout = "fx-rates"
    about = "Daily exchange rates (units of quote currency per unit of base currency)"
    table = "fx_rates"
    key = ("base_currency", "quote_currency", "day")
    also_writes = ("connect_flow_days", "connect_flow_buckets")  # converted flows: kept by triggers
    day_field = "day"

    base_currency: Annotated[Currency, Col("Base Currency")]
    quote_currency: Annotated[Currency, Col("Quote Currency")]
    day: Annotated[Day, Col("Date")]
    rate: Annotated[Number, Field(gt=0), Digits(20, 10), Col("Rate")]
    source: Annotated[Text, Col("Source")]

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if self.base_currency == self.quote_currency:
            yield "quote_currency", "must differ from the base currency"


# --- Daily figures ------------------------------------------------------------------------------------


class IndexLevelLine(Line):
    dataset = Dataset.INDEX_LEVELS
    layout = "index-levels"
    about = "An index provider's daily closing levels, one line per index and day"
    table = "index_levels"
    key = ("index_code", "trading_day")
    refs = (_index("index_code", "index_id"),)
    day_field = "trading_day"

    index_code: Annotated[IndexCode, Col("Index Code")]
    trading_day: Annotated[Day, Col("Date")]
    level: Annotated[Number, Field(gt=0), Digits(20, 6), Col("Level")]


MARKETS: dict[str, tuple[str, str]] = {
    "sse northbound": ("SHANGHAI", "NORTHBOUND"),
    "sse southbound": ("SHANGHAI", "SOUTHBOUND"),
    "szse northbound": ("SHENZHEN", "NORTHBOUND"),
    "szse southbound": ("SHENZHEN", "SOUTHBOUND"),
}


def _market(value: Any) -> Any:
    value = required(value)
    if isinstance(value, str) and " ".join(value.casefold().split()) not in MARKETS:
        raise ValueError("not one of SSE Northbound, SSE Southbound, SZSE Northbound, SZSE Southbound")
    return " ".join(value.casefold().split()) if isinstance(value, str) else value


# HKEX prints millions to two places; up to ten are kept (a file generated to the cent: the demo's).
Millions = Annotated[Annotated[Decimal, Field(ge=0)] | None, BeforeValidator(plain_number), Digits(26, 10)]


def _full(millions: Decimal | None) -> Decimal | None:
    return None if millions is None else (millions * MILLION).quantize(Decimal("0.01"))


class ConnectDailyLine(Line):
    """One block of HKEX's daily Stock Connect statistics (amounts in millions of the block's currency).

    Staged in full units of the row's currency (HKD southbound, CNY northbound); the RMB quota of a
    southbound row is turned into HKD at the day's rate when written.
    """

    dataset = Dataset.CONNECT_DAILY
    layout = "hkex-stock-connect-daily"
    about = (
        "HKEX daily Stock Connect statistics, one line per block (SSE/SZSE x Northbound/Southbound) and day"
    )
    table = "connect_daily_flows"
    key = ("channel", "direction", "trading_day")
    also_writes = ("connect_flow_days", "connect_flow_buckets")  # kept by triggers on the flows
    derived = (
        Derived("channel", "connect_channel"),
        Derived("direction", "connect_direction"),
        Derived("currency", "text"),
        Derived("buy_turnover", "numeric"),
        Derived("sell_turnover", "numeric"),
        Derived("total_turnover", "numeric"),
        Derived("net_buy", "numeric"),
        Derived("etf_turnover", "numeric"),
        Derived("daily_quota", "numeric"),
        Derived("quota_balance", "numeric"),
        Derived("quota_balance_unlimited", "boolean"),
    )
    day_field = "trading_day"

    trading_day: Annotated[Day, Col("Date")]
    market: Annotated[str, BeforeValidator(_market), Col("Market", staged=False)]
    is_trading_day: Annotated[Flag, Col("Trading Day", staged=False)]
    total_mil: Annotated[Millions, Col("Total Turnover (mil)", staged=False)] = None
    buy_mil: Annotated[Millions, Col("Buy Turnover (mil)", staged=False)] = None
    sell_mil: Annotated[Millions, Col("Sell Turnover (mil)", staged=False)] = None
    trade_count: Annotated[Count, Col("Total Trade Count", sql="integer")] = None
    buy_trade_count: Annotated[Count, Col("Buy Trade Count", sql="integer")] = None
    sell_trade_count: Annotated[Count, Col("Sell Trade Count", sql="integer")] = None
    etf_mil: Annotated[Millions, Col("ETF Turnover (mil)", staged=False)] = None
    quota_balance_mil: Annotated[
        OptNumber, Digits(26, 10), Col("Daily Quota Balance (RMB mil)", staged=False)
    ] = None

    def skipped(self) -> bool:
        return not self.is_trading_day  # the block says the link did not trade that day

    @property
    def channel(self) -> str:
        return MARKETS[self.market][0]

    @property
    def direction(self) -> str:
        return MARKETS[self.market][1]

    @property
    def currency(self) -> str:
        return "HKD" if self.direction == "SOUTHBOUND" else "CNY"

    @property
    def buy_turnover(self) -> Decimal | None:
        return _full(self.buy_mil)

    @property
    def sell_turnover(self) -> Decimal | None:
        return _full(self.sell_mil)

    @property
    def total_turnover(self) -> Decimal | None:
        return _full(self.total_mil)

    @property
    def net_buy(self) -> Decimal | None:
        buy, sell = self.buy_turnover, self.sell_turnover
        return buy - sell if buy is not None and sell is not None else None

    @property
    def etf_turnover(self) -> Decimal | None:
        return _full(self.etf_mil)

    @property
    def daily_quota(self) -> Decimal:
        """In RMB (written in HKD for a southbound row)."""
        return Decimal(
            SOUTHBOUND_DAILY_QUOTA_CNY if self.direction == "SOUTHBOUND" else NORTHBOUND_DAILY_QUOTA_CNY
        )

    @property
    def quota_balance_unlimited(self) -> bool:
        return bool(self.quota_balance_mil == QUOTA_SENTINEL)

    @property
    def quota_balance(self) -> Decimal | None:
        """In RMB (written in HKD for a southbound row, to the cent after the conversion); None for
        HKEX's "quota available" sentinel."""
        if self.quota_balance_unlimited or self.quota_balance_mil is None:
            return None
        return self.quota_balance_mil * MILLION

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if not self.is_trading_day:
            return
        if self.total_mil is None:
            yield "total_mil", "required on a trading day"
            return
        split_published = self.direction == "SOUTHBOUND" or (
            self.trading_day < NORTHBOUND_SPLIT_UNPUBLISHED_FROM
        )
        if split_published:
            for name in ("buy_mil", "sell_mil"):
                if getattr(self, name) is None:
                    yield name, "required (the buy/sell split is published for this block and day)"
        if (self.buy_mil is None) != (self.sell_mil is None):
            yield "buy_mil", "buy and sell turnover come together or not at all"
        elif self.buy_mil is not None and self.sell_mil is not None:
            # HKEX rounds each figure to HK$/RMB 0.01 million: allow the rounding of three figures.
            gap = abs(self.buy_mil + self.sell_mil - self.total_mil)
            if gap > Decimal("0.03"):
                yield "total_mil", f"differs from buy + sell by {gap} million"


class ConnectTopStockLine(Line):
    """One of the day's ten most traded stocks of a block of HKEX's daily Stock Connect statistics.

    The same page as ``ConnectDailyLine`` (same Date and Market cells), one line per block, day and rank;
    turnovers in full units of the block's currency (HK$ southbound, RMB northbound). The stock must be a
    loaded security (XHKG southbound, XSHG/XSHE northbound) and the block's day a loaded flow row.
    """

    dataset = Dataset.CONNECT_DAILY
    layout = "hkex-stock-connect-top10"
    about = "HKEX daily Stock Connect statistics: each block's top 10 traded stocks, one line per rank"
    table = "connect_top_stocks"
    key = ("channel", "direction", "trading_day", "rank")
    unique = (("channel", "direction", "trading_day", "local_code"),)
    refs = (
        Ref(
            "securities",
            (("mic", "mic"), ("local_code", "local_code")),
            "security_id",
            "security",
            "securities",
            "local_code",
        ),
    )  # the block's day: checked in service/repositories/ingest.py (CHECKS)
    derived = (
        Derived("channel", "connect_channel"),
        Derived("direction", "connect_direction"),
        Derived("mic", "text", written=False),  # the security's exchange, for its reference
        Derived("currency", "text"),
    )
    day_field = "trading_day"
    padded = ("local_code",)
    padded_mic = "XHKG"  # mainland codes have six digits: padding to five leaves them as they are

    trading_day: Annotated[Day, Col("Date")]
    market: Annotated[str, BeforeValidator(_market), Col("Market", staged=False)]
    rank: Annotated[int, Field(ge=1, le=10), BeforeValidator(plain_number), Col("Rank", sql="smallint")]
    local_code: Annotated[Code, Col("Stock Code")]
    stock_name: Annotated[OptText, Col("Stock Name", staged=False)] = None
    buy_turnover: Annotated[
        Annotated[Decimal, Field(ge=0)] | None,
        BeforeValidator(plain_number),
        Digits(24, 2),
        Col("Buy Turnover"),
    ] = None
    sell_turnover: Annotated[
        Annotated[Decimal, Field(ge=0)] | None,
        BeforeValidator(plain_number),
        Digits(24, 2),
        Col("Sell Turnover"),
    ] = None
    total_turnover: Annotated[
        Decimal, Field(ge=0), BeforeValidator(plain_number), Digits(24, 2), Col("Total Turnover")
    ]

    @property
    def channel(self) -> str:
        return MARKETS[self.market][0]

    @property
    def direction(self) -> str:
        return MARKETS[self.market][1]

    @classmethod
    def spec(cls, present: frozenset[str] | None = None) -> TableSpec:
        # The security's exchange is derived from the block, never a column of the file: its reference
        # holds whenever the file has the stock code.
        return super().spec(None if present is None else present | {"mic"})

    @property
    def mic(self) -> str:
        if self.direction == "SOUTHBOUND":
            return "XHKG"
        return "XSHG" if self.channel == "SHANGHAI" else "XSHE"

    @property
    def currency(self) -> str:
        return "HKD" if self.direction == "SOUTHBOUND" else "CNY"

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        buy, sell = self.buy_turnover, self.sell_turnover
        if (buy is None) != (sell is None):
            yield "buy_turnover", "buy and sell turnover come together or not at all"
        elif buy is None and self.direction == "SOUTHBOUND":
            yield "buy_turnover", "required southbound"
        elif buy is not None and sell is not None and abs(buy + sell - self.total_turnover) > 1:
            yield "total_turnover", f"differs from buy + sell ({buy + sell})"


# The etf-daily line is the hot path (millions of rows): its cells are cleaned by one "before" pass and
# its fields are plain core types whose bounds pydantic-core checks natively, without the per-field
# Python validators of the other layouts (about 4 us a line instead of about 30). Most lines of a file
# do not even get here: ``service/ingest/daily.py`` recognises plain lines the model would accept as
# written and stages them as they are.
_DAILY_TEXT = ("mic", "code", "currency")


def text_digits_problem(text: str, limits: Digits) -> str | None:
    """``Digits.problem`` on a number's text (cheaper than making a Decimal of it)."""
    body = text[1:] if text[:1] in "+-" else text
    if "e" in body or "E" in body:
        try:
            return limits.problem(Decimal(text))
        except InvalidOperation:
            return None  # not a number: the field's own validation says so
    whole, _, fraction = body.partition(".")
    if len(fraction) > limits.places and fraction[limits.places :].strip("0"):
        return f"more than {limits.places} decimal places"
    if len(whole.lstrip("0")) > limits.digits - limits.places:
        return f"more than {limits.digits - limits.places} digits before the decimal point"
    return None


class EtfDailyLine(Line):
    """A manager's daily NAV file: NAV per unit, units outstanding and AUM (fund size) per fund and day."""

    dataset = Dataset.ETF_DAILY
    layout = "manager-daily-nav"
    about = "A manager's daily NAV / units / AUM file"
    table = "etf_daily_stats"
    key = ("etf_id", "trading_day")  # the fund's id is staged beside the line (resolved while reading)
    # Resolved while the file is read (service/ingest/loader.py), written as etf_id.
    refs = (Ref("etfs", (("mic", "mic"), ("code", "code")), "etf_id", "ETF", "etfs", "code"),)
    derived = (Derived("etf_id", "bigint", written=False),)
    day_field = "trading_day"

    trading_day: Annotated[date, Col("Date")]
    mic: Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$"), Col("Exchange")]
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]+$", max_length=12), Col("Stock Code")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$"), Col("Currency")]
    nav_per_unit: Annotated[Decimal, Field(gt=0), Digits(20, 6), Col("NAV per Unit")]
    close_price: Annotated[Annotated[Decimal, Field(gt=0)] | None, Digits(20, 6), Col("Closing Price")] = None
    shares_outstanding: Annotated[Decimal, Field(ge=0), Digits(20, 0), Col("Units Outstanding")]
    aum: Annotated[Decimal, Field(ge=0), Digits(24, 2), Col("Fund Size")]
    net_creation_units: Annotated[Decimal, Digits(20, 0), Col("Net Creation/Redemption Units")] = Decimal(0)
    net_creation_value: Annotated[Decimal, Digits(24, 2), Col("Net Creation/Redemption Value")] = Decimal(0)
    turnover: Annotated[Annotated[Decimal, Field(ge=0)] | None, Digits(24, 2), Col("Turnover")] = None
    southbound_holding_units: Annotated[
        Annotated[Decimal, Field(ge=0)] | None, Digits(20, 0), Col("Southbound Holding Units")
    ] = None
    # Precision problems found by the "before" pass on the text, reported by problems().
    precision: tuple[tuple[str, str], ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        """Blank cells are missing; numbers lose thousands separators; codes are upper case; dates parse."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        precision: list[tuple[str, str]] = []
        for name, value in data.items():
            value = value.strip()
            if not value:
                continue
            limits = DAILY_DIGITS.get(name)
            if limits is not None:
                if "," in value:
                    value = value.replace(",", "")
                reason = text_digits_problem(value, limits)
                if reason is not None:
                    precision.append((name, reason))
            out[name] = value
        day = out.get("trading_day")
        if day is not None:
            with suppress(ValueError):  # left as text: the field's own validation names it
                out["trading_day"] = parse_day(day)
        for name in _DAILY_TEXT:
            if name in out:
                out[name] = out[name].upper()
        if precision:
            out["precision"] = tuple(precision)
        return out

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from self.precision
        units = self.shares_outstanding
        gap = abs(self.aum - self.nav_per_unit * units)
        if gap > Decimal("0.01") + units * Decimal("0.000001"):
            yield "aum", f"differs from NAV x units ({self.nav_per_unit * units}) by {gap}"

    def staging_values(self) -> dict[str, str]:
        """The line's staged values as text for the COPY, by field ("" is NULL; codes zero-padded)."""
        values = {name: "" if (v := getattr(self, name)) is None else str(v) for name, _ in self.cols()}
        values["trading_day"] = self.trading_day.isoformat()
        values["code"] = local_code(self.mic, self.code)
        return values


# numeric(precision, scale) of each etf_daily_stats column, checked on the text.
DAILY_DIGITS: dict[str, Digits] = dict(EtfDailyLine.digit_limits())
