"""The file layouts each dataset accepts: publisher column names mapped onto the row models' fields.

A dataset may accept several layouts (securities: HKEX's List of Securities or a plain table); the
reader picks the one whose required columns all appear in the header row. Column names compare
case- and whitespace-insensitively. docs/ingest.md documents every layout with a sample file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from service.ingest.errors import UnknownDataset
from service.ingest.models import (
    CalendarRow,
    ConnectDailyRow,
    ConnectExceptionRow,
    EligibilityChangeRow,
    EligibilityListRow,
    EtfDailyRow,
    EtfRow,
    FxRow,
    HkexSecurityRow,
    IndexRow,
    IngestRow,
    LicenceRow,
    ManagerRow,
    MembershipRow,
    SecurityRow,
)
from service.ingest.readers import header_key


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    columns: Mapping[str, str]  # the publisher's column name -> the model's field
    model: type[IngestRow]
    target: str  # the staging table + upsert in service/repositories/ingest.py

    @cached_property
    def required(self) -> frozenset[str]:
        """Header keys that must be present: the columns of required model fields."""
        fields = self.model.model_fields
        return frozenset(header_key(col) for col, f in self.columns.items() if fields[f].is_required())

    def column_of(self, field: str) -> str:
        for col, f in self.columns.items():
            if f == field:
                return col
        return field


@dataclass(frozen=True)
class Dataset:
    name: str  # as typed on the command line
    table: str  # the table it fills; also its name in the ``datasets`` table and the load history
    layouts: tuple[Layout, ...]


def _layout(
    layout_name: str, description: str, model: type[IngestRow], target: str, /, **columns: str
) -> Layout:
    # Keyword names are the model fields; values the publisher's column names.
    return Layout(layout_name, description, {col: field for field, col in columns.items()}, model, target)


DATASETS: Mapping[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "indices",
            "indices",
            (
                _layout(
                    "index-master",
                    "Index master data, one line per index",
                    IndexRow,
                    "indices",
                    code="Index Code",
                    name="Index Name",
                    provider="Provider",
                    currency="Currency",
                    base_date="Base Date",
                    base_value="Base Value",
                    launch_date="Launch Date",
                    weighting="Weighting",
                    weight_cap_pct="Weight Cap (%)",
                    review_frequency="Review Frequency",
                    rebalance_frequency="Rebalance Frequency",
                    constituent_count="Number of Constituents",
                    methodology_notes="Methodology Notes",
                    themes="Themes",
                    is_illustrative="Illustrative",
                ),
            ),
        ),
        Dataset(
            "securities",
            "securities",
            (
                _layout(
                    "hkex-list-of-securities",
                    "HKEX List of Securities (XLSX: two title rows, headers on row 3)",
                    HkexSecurityRow,
                    "securities_hkex",
                    stock_code="Stock Code",
                    name="Name of Securities",
                    category="Category",
                    sub_category="Sub-Category",
                    board_lot="Board Lot",
                    isin="ISIN",
                ),
                _layout(
                    "security-master",
                    "Securities of any exchange, one line per MIC and local code",
                    SecurityRow,
                    "securities",
                    mic="MIC",
                    local_code="Local Code",
                    isin="ISIN",
                    name="Name",
                    sector="Sector",
                    country="Country",
                    currency="Currency",
                ),
            ),
        ),
        Dataset(
            "memberships",
            "index_memberships",
            (
                _layout(
                    "constituent-weights",
                    "An index provider's constituent-weight file: the full constituent list per index "
                    "and effective date",
                    MembershipRow,
                    "memberships",
                    index_code="Index Code",
                    effective_date="Effective Date",
                    mic="Exchange",
                    stock_code="Stock Code",
                    isin="ISIN",
                    name="Constituent Name",
                    weight_pct="Weighting (%)",
                ),
            ),
        ),
        Dataset(
            "managers",
            "asset_managers",
            (
                _layout(
                    "managers",
                    "Asset managers (ETF issuers, index licensees)",
                    ManagerRow,
                    "managers",
                    slug="Manager ID",
                    legal_name="Legal Name",
                    short_name="Short Name",
                    home_market="Home Market",
                    website="Website",
                ),
            ),
        ),
        Dataset(
            "licences",
            "index_licences",
            (
                _layout(
                    "index-licences",
                    "Index licences granted to managers",
                    LicenceRow,
                    "licences",
                    index_code="Index Code",
                    manager_slug="Manager ID",
                    licensed_on="Licensed On",
                    status="Status",
                    is_illustrative="Illustrative",
                    notes="Notes",
                ),
            ),
        ),
        Dataset(
            "etfs",
            "etfs",
            (
                _layout(
                    "etf-master",
                    "Listed funds with issuer, tracked index and trading counters",
                    EtfRow,
                    "etfs",
                    mic="Exchange",
                    code="Stock Code",
                    isin="ISIN",
                    name_en="Fund Name (English)",
                    name_zh="Fund Name (Chinese)",
                    issuer_slug="Manager ID",
                    index_code="Index Code",
                    listing_date="Listing Date",
                    delisting_date="Delisting Date",
                    base_currency="Base Currency",
                    replication="Replication",
                    ongoing_charges_pct="Ongoing Charges (%)",
                    leverage_factor="Leverage Factor",
                    counters="Trading Counters",
                ),
            ),
        ),
        Dataset(
            "eligibility",
            "connect_eligibility",
            (
                _layout(
                    "hkex-eligibility-changes",
                    "HKEX change file of a Connect link's eligible securities",
                    EligibilityChangeRow,
                    "eligibility_changes",
                    no="No.",
                    effective_date="Effective Date",
                    stock_code="Stock Code",
                    stock_name="Stock Name",
                    change="Change",
                    remarks="Remarks",
                ),
                _layout(
                    "hkex-eligible-list",
                    "HKEX full list of a Connect link's eligible securities ('Updated as at' title row)",
                    EligibilityListRow,
                    "eligibility_list",
                    no="No.",
                    stock_code="Stock Code",
                    stock_name="Stock Name",
                ),
            ),
        ),
        Dataset(
            "etf-daily",
            "etf_daily_stats",
            (
                _layout(
                    "manager-daily-nav",
                    "A manager's daily NAV / units / AUM file",
                    EtfDailyRow,
                    "etf_daily",
                    trading_day="Date",
                    mic="Exchange",
                    code="Stock Code",
                    currency="Currency",
                    nav_per_unit="NAV per Unit",
                    close_price="Closing Price",
                    shares_outstanding="Units Outstanding",
                    aum="Fund Size",
                    net_creation_units="Net Creation/Redemption Units",
                    net_creation_value="Net Creation/Redemption Value",
                    turnover="Turnover",
                    southbound_holding_units="Southbound Holding Units",
                ),
            ),
        ),
        Dataset(
            "connect-daily",
            "connect_daily_flows",
            (
                _layout(
                    "hkex-stock-connect-daily",
                    "HKEX daily Stock Connect statistics, one line per block (SSE/SZSE x "
                    "Northbound/Southbound) and day",
                    ConnectDailyRow,
                    "connect_daily",
                    trading_day="Date",
                    market="Market",
                    is_trading_day="Trading Day",
                    total_turnover="Total Turnover (mil)",
                    buy_turnover="Buy Turnover (mil)",
                    sell_turnover="Sell Turnover (mil)",
                    trade_count="Total Trade Count",
                    buy_trade_count="Buy Trade Count",
                    sell_trade_count="Sell Trade Count",
                    etf_turnover="ETF Turnover (mil)",
                    quota_balance="Daily Quota Balance (RMB mil)",
                ),
            ),
        ),
        Dataset(
            "calendar",
            "trading_calendar",
            (
                _layout(
                    "trading-calendar",
                    "Exchange trading days",
                    CalendarRow,
                    "calendar",
                    market="Market",
                    day="Date",
                    is_open="Open",
                    is_half_day="Half Day",
                    note="Note",
                ),
                _layout(
                    "connect-calendar-exceptions",
                    "Published exceptions to 'a Connect day is one when both markets are open'",
                    ConnectExceptionRow,
                    "connect_exceptions",
                    direction="Direction",
                    day="Date",
                    is_connect_day="Connect Day",
                    reason="Reason",
                ),
            ),
        ),
        Dataset(
            "fx",
            "fx_rates",
            (
                _layout(
                    "fx-rates",
                    "Daily exchange rates (units of quote currency per unit of base currency)",
                    FxRow,
                    "fx",
                    base_currency="Base Currency",
                    quote_currency="Quote Currency",
                    day="Date",
                    rate="Rate",
                    source="Source",
                ),
            ),
        ),
    )
}

# The order in which a directory of files (``connectgraph generate``) must be loaded.
LOAD_ORDER: tuple[str, ...] = (
    "managers",
    "indices",
    "securities",
    "memberships",
    "licences",
    "etfs",
    "eligibility",
    "calendar",
    "fx",
    "connect-daily",
    "etf-daily",
)


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownDataset(f"unknown dataset {name!r} (one of: {', '.join(DATASETS)})") from None
