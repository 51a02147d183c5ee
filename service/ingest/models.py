"""One pydantic model per file layout: a row as the publisher writes it, validated and typed.

Values arrive as text (CSV cells, or XLSX cells turned to text). The annotated types below accept what
publishers print: dates as YYYY-MM-DD, DD/MM/YYYY or YYYYMMDD; numbers with thousands separators;
flags as Y/N; blank cells as missing. Each model's ``record()`` is its row for the staging table, in
the column order of its target in ``service/repositories/ingest.py``; ``problems()`` lists the checks
that span several cells (AUM = NAV x units, buy + sell vs total) as (field, reason).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from service.demo.generate import (
    NORTHBOUND_DAILY_QUOTA_CNY,
    NORTHBOUND_SPLIT_UNPUBLISHED_FROM,
    SOUTHBOUND_DAILY_QUOTA_CNY,
)
from service.demo.reference import MIC_CURRENCY

Record = tuple[object, ...]

# HKEX prints 999,999,999 (RMB mil) as the daily quota balance when the quota is simply available.
QUOTA_SENTINEL = Decimal("999999999")
MILLION = Decimal(1_000_000)


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _required(value: Any) -> Any:
    value = _text(value)
    if value is None:
        raise ValueError("a value is required here")
    return value


def _day(value: Any) -> Any:
    value = _text(value)
    if not isinstance(value, str):
        return value
    try:  # the fast path (strptime costs microseconds a call)
        if len(value) == 10 and value[4] == "-":
            return date.fromisoformat(value)
        if len(value) == 10 and value[2] == "/" and value[5] == "/":
            return date(int(value[6:]), int(value[3:5]), int(value[:2]))
    except ValueError:
        raise ValueError("not a date (use YYYY-MM-DD or DD/MM/YYYY)") from None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def _number(value: Any) -> Any:
    value = _text(value)
    if isinstance(value, str):
        value = value.replace(",", "").removesuffix("%")
    return value


_FLAGS = {
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "n": False,
    "no": False,
    "false": False,
    "0": False,
}


def _flag(value: Any) -> Any:
    value = _text(value)
    if isinstance(value, str):
        try:
            return _FLAGS[value.casefold()]
        except KeyError:
            raise ValueError("not a flag (use Y or N)") from None
    return value


def _upper(value: Any) -> Any:
    value = _text(value)
    return value.upper() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_required)]
OptText = Annotated[str | None, BeforeValidator(_text)]
Day = Annotated[date, BeforeValidator(_day)]
OptDay = Annotated[date | None, BeforeValidator(_day)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Currency = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{3}$")]
Mic = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z0-9]{4}$")]
Country = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{2}$")]
Code = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[0-9A-Z]+$", max_length=12)]
Isin = Annotated[Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")] | None, BeforeValidator(_upper)]
Positive = Annotated[Annotated[int, Field(gt=0)] | None, BeforeValidator(_number)]
Slug = Annotated[str, BeforeValidator(_required), Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
IndexCode = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z0-9][A-Z0-9&-]*$")]


@dataclass(frozen=True, slots=True)
class Digits:
    """A numeric(digits, places) column's limits, checked in ``IngestRow.problems``.

    pydantic's own max_digits/decimal_places checks cost about 3 us per value (most of the etf-daily
    row's budget); this check reads the Decimal's tuple once.
    """

    digits: int
    places: int

    def problem(self, value: Decimal) -> str | None:
        _, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int):
            return "not a finite number"
        places = -exponent if exponent < 0 else 0
        whole = len(digits) - places if exponent < 0 else len(digits) + exponent
        if places > self.places and value != round(value, self.places):
            return f"more than {self.places} decimal places"
        if whole > self.digits - self.places:
            return f"more than {self.digits - self.places} digits before the decimal point"
        return None


def _num(*, digits: int, places: int, **bounds: Any) -> Any:
    return Annotated[Decimal, BeforeValidator(_number), Field(**bounds), Digits(digits, places)]


def _opt_num(*, digits: int, places: int, **bounds: Any) -> Any:
    # Bounds bind to the Decimal inside the union: None (a blank cell) is never compared.
    inner = Annotated[Decimal, Field(**bounds)]
    return Annotated[inner | None, BeforeValidator(_number), Digits(digits, places)]


def local_code(mic: str, code: str) -> str:
    """HKEX prints 700 or 00700: Hong Kong codes are five digits, zero-padded."""
    if mic == "XHKG" and code.isdigit() and len(code) < 5:
        return code.zfill(5)
    return code


class IngestRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    # Field carrying the row's trading day (for the load's first/last day), if any.
    day_field: ClassVar[str | None] = None
    _digits: ClassVar[tuple[tuple[str, Digits], ...] | None] = None

    @classmethod
    def digit_limits(cls) -> tuple[tuple[str, Digits], ...]:
        if cls.__dict__.get("_digits") is None:
            cls._digits = tuple(
                (name, marker)
                for name, info in cls.model_fields.items()
                for marker in info.metadata
                if isinstance(marker, Digits)
            )
        return cls._digits or ()

    def problems(self) -> Iterator[tuple[str, str]]:
        """Checks beyond one field's type: numeric precision here, cross-field rules in subclasses."""
        for name, limits in self.digit_limits():
            value = getattr(self, name)
            if value is not None:
                reason = limits.problem(value)
                if reason is not None:
                    yield name, reason

    def record(self) -> Record:
        raise NotImplementedError

    def row_day(self) -> date | None:
        return getattr(self, self.day_field) if self.day_field else None


# --- Reference data ---------------------------------------------------------------------------------


class IndexRow(IngestRow):
    code: IndexCode
    name: Text
    provider: Text
    currency: Currency
    base_date: OptDay = None
    base_value: _opt_num(digits=20, places=6, gt=0) = None  # type: ignore[valid-type]
    launch_date: OptDay = None
    weighting: OptText = None
    weight_cap_pct: _opt_num(digits=9, places=4, gt=0, le=100) = None  # type: ignore[valid-type]
    review_frequency: OptText = None
    rebalance_frequency: OptText = None
    constituent_count: Positive = None
    methodology_notes: OptText = None
    themes: OptText = None
    is_illustrative: Flag = False

    def record(self) -> Record:
        themes = [t.strip() for t in (self.themes or "").split("|") if t.strip()]
        return (
            self.code,
            self.name,
            self.provider,
            self.currency,
            self.base_date,
            self.base_value,
            self.launch_date,
            self.weighting,
            self.weight_cap_pct,
            self.review_frequency,
            self.rebalance_frequency,
            self.constituent_count,
            self.methodology_notes,
            themes,
            self.is_illustrative,
        )


class SecurityRow(IngestRow):
    mic: Mic
    local_code: Code
    isin: Isin = None
    name: Text
    sector: OptText = None
    country: Country
    currency: Currency

    def record(self) -> Record:
        code = local_code(self.mic, self.local_code)
        return (self.mic, code, self.isin, self.name, self.sector, self.country, self.currency)


class HkexSecurityRow(IngestRow):
    """A line of HKEX's List of Securities; only Category "Equity" lines are securities (others skip)."""

    stock_code: Code
    name: Text
    category: Text
    sub_category: OptText = None
    board_lot: Positive = None
    isin: Isin = None

    def is_equity(self) -> bool:
        return self.category.casefold() == "equity"

    def record(self) -> Record:
        # The list names no country: the ISIN's prefix is the issuer's domicile; HK when absent.
        country = self.isin[:2] if self.isin else "HK"
        return ("XHKG", local_code("XHKG", self.stock_code), self.isin, self.name, country, "HKD")


class MembershipRow(IngestRow):
    """An index provider's constituent-weight file: one line per constituent of a snapshot."""

    index_code: IndexCode
    effective_date: Day
    mic: Mic
    stock_code: Code
    isin: Isin = None
    name: OptText = None
    weight_pct: _num(digits=9, places=6, ge=0, le=100)  # type: ignore[valid-type]

    day_field: ClassVar[str | None] = "effective_date"

    def record(self) -> Record:
        return (
            self.index_code,
            self.effective_date,
            self.mic,
            local_code(self.mic, self.stock_code),
            self.weight_pct,
        )


class ManagerRow(IngestRow):
    slug: Slug
    legal_name: Text
    short_name: Text
    home_market: Country
    website: OptText = None

    def record(self) -> Record:
        return (self.slug, self.legal_name, self.short_name, self.home_market, self.website)


class LicenceRow(IngestRow):
    index_code: IndexCode
    manager_slug: Slug
    licensed_on: Day
    status: Annotated[Literal["SIGNED", "PRODUCT_LAUNCHED", "LAPSED"], BeforeValidator(_upper)]
    is_illustrative: Flag = False
    notes: OptText = None

    def record(self) -> Record:
        return (
            self.index_code,
            self.manager_slug,
            self.licensed_on,
            self.status,
            self.is_illustrative,
            self.notes,
        )


class EtfRow(IngestRow):
    mic: Mic
    code: Code
    isin: Isin = None
    name_en: Text
    name_zh: OptText = None
    issuer_slug: Slug
    index_code: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9&-]*$")] | None, BeforeValidator(_upper)
    ] = None
    listing_date: Day
    delisting_date: OptDay = None
    base_currency: Currency
    replication: Annotated[Literal["PHYSICAL", "SYNTHETIC"], BeforeValidator(_upper)]
    ongoing_charges_pct: _opt_num(digits=7, places=4, ge=0, lt=10) = None  # type: ignore[valid-type]
    leverage_factor: _opt_num(digits=5, places=2) = None  # type: ignore[valid-type]
    counters: OptText = None

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
        if counters[0][0] != self.fund_code:
            yield "counters", f"the first (primary) counter must be the fund's code {self.fund_code}"

    @property
    def fund_code(self) -> str:
        return local_code(self.mic, self.code)

    def counter_list(self) -> list[tuple[str, str]]:
        """[(code, currency)], primary first: "02800 HKD; 82800 CNY"; blank is the fund's code alone."""
        if not self.counters:
            return [(self.fund_code, MIC_CURRENCY.get(self.mic, self.base_currency))]
        out: list[tuple[str, str]] = []
        for part in self.counters.split(";"):
            bits = part.split()
            if len(bits) != 2 or not bits[0].isalnum() or len(bits[1]) != 3 or not bits[1].isalpha():
                raise ValueError(f"{part.strip()!r} is not 'CODE CCY' (e.g. '82800 CNY')")
            out.append((local_code(self.mic, bits[0].upper()), bits[1].upper()))
        if len({c for c, _ in out}) != len(out):
            raise ValueError("a counter is listed twice")
        return out

    def record(self) -> Record:
        counters = self.counter_list()
        factor = self.leverage_factor
        return (
            self.mic,
            self.fund_code,
            self.isin,
            self.name_en,
            self.name_zh,
            self.issuer_slug,
            self.index_code,
            self.listing_date,
            self.delisting_date,
            self.base_currency,
            self.replication,
            self.ongoing_charges_pct,
            factor,
            factor is not None and factor != 1,
            [c for c, _ in counters],
            [ccy for _, ccy in counters],
        )


# --- Eligibility (HKEX change files and full lists) ------------------------------------------------

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
    value = _required(value)
    if isinstance(value, str) and change_kind(value) is None:
        known = ", ".join(sorted({p.capitalize() for p, _ in CHANGE_KINDS}))
        raise ValueError(f"unknown change kind (known: {known})")
    return value


class EligibilityChangeRow(IngestRow):
    """A line of an HKEX change file: No., Effective Date, Stock Code, Stock Name, Change, Remarks."""

    no: Annotated[int | None, BeforeValidator(_number)] = None
    effective_date: Day
    stock_code: Code
    stock_name: OptText = None
    change: Annotated[str, BeforeValidator(_change)]
    remarks: OptText = None

    day_field: ClassVar[str | None] = "effective_date"

    @property
    def kind(self) -> ChangeKind:
        kind = change_kind(self.change)
        assert kind is not None  # validated
        return kind


class EligibilityListRow(IngestRow):
    """A line of an HKEX full list of eligible securities (the list's date is in its title rows)."""

    no: Annotated[int | None, BeforeValidator(_number)] = None
    stock_code: Code
    stock_name: OptText = None


# --- Daily figures ------------------------------------------------------------------------------------


# The etf-daily row is the hot path (millions of rows): its cells are cleaned by one "before" pass
# and its fields are plain core types whose bounds pydantic-core checks natively, without the
# per-field Python validators of the other layouts (about 4 us a row instead of about 30).
_DAILY_TEXT = ("mic", "code", "currency")
# numeric(precision, scale) of each etf_daily_stats column, checked on the text (cheaper than a Decimal).
_DAILY_DIGITS: dict[str, Digits] = {
    "nav_per_unit": Digits(20, 6),
    "close_price": Digits(20, 6),
    "shares_outstanding": Digits(20, 0),
    "aum": Digits(24, 2),
    "net_creation_units": Digits(20, 0),
    "net_creation_value": Digits(24, 2),
    "turnover": Digits(24, 2),
    "southbound_holding_units": Digits(20, 0),
}


def _text_digits_problem(text: str, limits: Digits) -> str | None:
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


class EtfDailyRow(IngestRow):
    """A manager's daily NAV file: NAV per unit, units outstanding and AUM (fund size) per fund and day."""

    trading_day: date
    mic: Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$")]
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]+$", max_length=12)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    nav_per_unit: Annotated[Decimal, Field(gt=0)]
    close_price: Annotated[Decimal, Field(gt=0)] | None = None
    shares_outstanding: Annotated[Decimal, Field(ge=0)]
    aum: Annotated[Decimal, Field(ge=0)]
    net_creation_units: Decimal = Decimal(0)
    net_creation_value: Decimal = Decimal(0)
    turnover: Annotated[Decimal, Field(ge=0)] | None = None
    southbound_holding_units: Annotated[Decimal, Field(ge=0)] | None = None
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
            limits = _DAILY_DIGITS.get(name)
            if limits is not None:
                if "," in value:
                    value = value.replace(",", "")
                reason = _text_digits_problem(value, limits)
                if reason is not None:
                    precision.append((name, reason))
            out[name] = value
        day = out.get("trading_day")
        if day is not None:
            with suppress(ValueError):  # left as text: the field's own validation names it
                out["trading_day"] = _day(day)
        for name in _DAILY_TEXT:
            if name in out:
                out[name] = out[name].upper()
        if precision:
            out["precision"] = tuple(precision)
        return out

    day_field: ClassVar[str | None] = "trading_day"

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from self.precision
        units = self.shares_outstanding
        gap = abs(self.aum - self.nav_per_unit * units)
        if gap > Decimal("0.01") + units * Decimal("0.000001"):
            yield "aum", f"differs from NAV x units ({self.nav_per_unit * units}) by {gap}"

    def staging_values(self) -> dict[str, str]:
        """The row's values as text for the staging COPY, by field ("" is NULL; codes zero-padded)."""
        return {
            "trading_day": self.trading_day.isoformat(),
            "mic": self.mic,
            "code": local_code(self.mic, self.code),
            "currency": self.currency,
            "nav_per_unit": str(self.nav_per_unit),
            "close_price": _csv(self.close_price),
            "shares_outstanding": str(self.shares_outstanding),
            "aum": str(self.aum),
            "net_creation_units": str(self.net_creation_units),
            "net_creation_value": str(self.net_creation_value),
            "turnover": _csv(self.turnover),
            "southbound_holding_units": _csv(self.southbound_holding_units),
        }


def _csv(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _plain_number(limits: Digits, *, signed: bool = False, positive: bool = False) -> str:
    """A number written plainly within ``limits`` (a leading zero only before the point: stricter)."""
    whole = limits.digits - limits.places
    places = rf"(?:\.[0-9]{{1,{limits.places}}})?" if limits.places else ""
    if positive:  # a non-zero digit first, or 0.<digits with a non-zero one>
        fraction = rf"|0\.(?=[0-9]{{0,{limits.places - 1}}}[1-9])[0-9]{{1,{limits.places}}}"
        return rf"(?:[1-9][0-9]{{0,{whole - 1}}}{places}{fraction if limits.places else ''})"
    return rf"{'-?' if signed else ''}[0-9]{{1,{whole}}}{places}"


# What a plain etf-daily cell may be, per field: each pattern accepts only text that EtfDailyRow accepts
# as is (no blanks to strip, no separators, upper case, within the column's precision and bounds).
# Required fields must be present; optional ones may be blank (NULL). Dates are checked by ``_day``.
_PLAIN_DAILY: dict[str, tuple[str, bool]] = {  # field -> (pattern, may be blank)
    "trading_day": (r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4}", False),
    "mic": ("[A-Z0-9]{4}", False),
    "code": ("[0-9A-Z]{1,12}", False),
    "currency": ("[A-Z]{3}", False),
    "nav_per_unit": (_plain_number(_DAILY_DIGITS["nav_per_unit"], positive=True), False),
    "close_price": (_plain_number(_DAILY_DIGITS["close_price"], positive=True), True),
    "shares_outstanding": (_plain_number(_DAILY_DIGITS["shares_outstanding"]), False),
    "aum": (_plain_number(_DAILY_DIGITS["aum"]), False),
    "net_creation_units": (_plain_number(_DAILY_DIGITS["net_creation_units"], signed=True), False),
    "net_creation_value": (_plain_number(_DAILY_DIGITS["net_creation_value"], signed=True), False),
    "turnover": (_plain_number(_DAILY_DIGITS["turnover"]), True),
    "southbound_holding_units": (_plain_number(_DAILY_DIGITS["southbound_holding_units"]), True),
}
# The fields whose text the line check reads, in this order.
PLAIN_DAILY_READS = ("trading_day", "mic", "code", "nav_per_unit", "shares_outstanding", "aum")


class PlainDailyLines:
    """The etf-daily hot path: recognises the plain lines of a daily NAV file that EtfDailyRow would
    accept unchanged, without building a model.

    ``match(line)`` is one regular expression over the whole line (the header's columns in order,
    exactly as many cells, the file's line terminator), giving the cells the row checks need; the
    caller checks the date with ``day`` and the cross-cell rule with ``aum_ok``. A line that is not
    plain (blanks, separators, quotes, lower case, more digits than a column holds, an odd date or
    terminator...) is simply not matched: it goes through EtfDailyRow, which accepts or explains.
    So the model stays the definition of a valid row; this only recognises, conservatively, rows the
    model accepts as they are written (``tests/ingest/test_daily.py`` checks it against the model).
    """

    def __init__(self, fields: Sequence[str | None], newline: str) -> None:
        parts: list[str] = []
        group = 0
        groups: dict[str, int] = {}
        for name in fields:
            if name is None:
                parts.append('[^,"\r\n]*')
                continue
            pattern, blank = _PLAIN_DAILY[name]
            if name in PLAIN_DAILY_READS:
                group += 1
                groups[name] = group
                parts.append(f"({pattern})")
            else:
                parts.append(f"(?:{pattern}){'?' if blank else ''}")
        present = {name for name in fields if name is not None}
        # A file without a column the model requires is all errors: its lines take the model's path. (A
        # file without the net creation columns is plain: staging fills in the model's default, 0.)
        required = {name for name, info in EtfDailyRow.model_fields.items() if info.is_required()}
        self.usable = present >= required
        self.groups = tuple(groups.get(name, 0) for name in PLAIN_DAILY_READS)
        self.pattern = re.compile(",".join(parts) + re.escape(newline), re.ASCII)
        self.fullmatch = self.pattern.fullmatch
        self._days: dict[str, date | None] = {}

    def day(self, text: str) -> date | None:
        """The date a plain date cell holds (as ``_day`` reads it), None when it is no date."""
        try:
            return self._days[text]
        except KeyError:
            pass
        try:
            day: date | None = _day(text)
        except ValueError:
            day = None
        if len(self._days) < 100_000:
            self._days[text] = day
        return day


def aum_ok(nav: str, units: str, aum: str) -> bool:
    """True when AUM = NAV x units holds (EtfDailyRow.problems) beyond doubt, in binary floating point.

    The margin covers the rounding of the conversions and of the arithmetic (each well under 1e-15 of
    the magnitudes involved); a row that does not pass here is checked exactly, in Decimal, by the model.
    """
    n = float(nav)
    u = float(units)
    a = float(aum)
    product = n * u
    tolerance = 0.01 + u * 1e-6
    return abs(a - product) + (a + product + tolerance) * 1e-15 < tolerance


Market = Literal["SSE Northbound", "SSE Southbound", "SZSE Northbound", "SZSE Southbound"]
MARKETS: dict[str, tuple[str, str]] = {
    "sse northbound": ("SHANGHAI", "NORTHBOUND"),
    "sse southbound": ("SHANGHAI", "SOUTHBOUND"),
    "szse northbound": ("SHENZHEN", "NORTHBOUND"),
    "szse southbound": ("SHENZHEN", "SOUTHBOUND"),
}


def _market(value: Any) -> Any:
    value = _required(value)
    if isinstance(value, str) and " ".join(value.casefold().split()) not in MARKETS:
        raise ValueError("not one of SSE Northbound, SSE Southbound, SZSE Northbound, SZSE Southbound")
    return " ".join(value.casefold().split()) if isinstance(value, str) else value


Millions = Annotated[Annotated[Decimal, Field(ge=0)] | None, BeforeValidator(_number), Digits(20, 4)]
Count = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_number)]


class ConnectDailyRow(IngestRow):
    """One block of HKEX's daily Stock Connect statistics (amounts in millions of the block's currency)."""

    trading_day: Day
    market: Annotated[str, BeforeValidator(_market)]
    is_trading_day: Flag
    total_turnover: Millions = None
    buy_turnover: Millions = None
    sell_turnover: Millions = None
    trade_count: Count = None
    buy_trade_count: Count = None
    sell_trade_count: Count = None
    etf_turnover: Millions = None
    quota_balance: _opt_num(digits=20, places=4) = None  # type: ignore[valid-type]

    day_field: ClassVar[str | None] = "trading_day"

    @property
    def channel(self) -> str:
        return MARKETS[self.market][0]

    @property
    def direction(self) -> str:
        return MARKETS[self.market][1]

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if not self.is_trading_day:
            return
        if self.total_turnover is None:
            yield "total_turnover", "required on a trading day"
            return
        split_published = self.direction == "SOUTHBOUND" or (
            self.trading_day < NORTHBOUND_SPLIT_UNPUBLISHED_FROM
        )
        if split_published:
            for name in ("buy_turnover", "sell_turnover"):
                if getattr(self, name) is None:
                    yield name, "required (the buy/sell split is published for this block and day)"
        if (self.buy_turnover is None) != (self.sell_turnover is None):
            yield "buy_turnover", "buy and sell turnover come together or not at all"
        elif self.buy_turnover is not None and self.sell_turnover is not None:
            # HKEX rounds each figure to HK$/RMB 0.01 million: allow the rounding of three figures.
            gap = abs(self.buy_turnover + self.sell_turnover - self.total_turnover)
            if gap > Decimal("0.03"):
                yield "total_turnover", f"differs from buy + sell by {gap} million"

    def record(self) -> Record:
        unlimited = self.quota_balance == QUOTA_SENTINEL
        buy = _full(self.buy_turnover)
        sell = _full(self.sell_turnover)
        quota = SOUTHBOUND_DAILY_QUOTA_CNY if self.direction == "SOUTHBOUND" else NORTHBOUND_DAILY_QUOTA_CNY
        return (
            self.channel,
            self.direction,
            self.trading_day,
            "HKD" if self.direction == "SOUTHBOUND" else "CNY",
            buy,
            sell,
            _full(self.total_turnover),
            buy - sell if buy is not None and sell is not None else None,
            self.trade_count,
            self.buy_trade_count,
            self.sell_trade_count,
            _full(self.etf_turnover),
            Decimal(quota),
            None if unlimited else _full(self.quota_balance),
            unlimited,
        )


def _full(millions: Decimal | None) -> Decimal | None:
    return None if millions is None else (millions * MILLION).quantize(Decimal("0.01"))


class CalendarRow(IngestRow):
    market: Mic
    day: Day
    is_open: Flag
    is_half_day: Flag = False
    note: OptText = None

    day_field: ClassVar[str | None] = "day"

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if self.is_half_day and not self.is_open:
            yield "is_half_day", "a closed day cannot be a half day"

    def record(self) -> Record:
        return (self.market, self.day, self.is_open, self.is_half_day, self.note)


class ConnectExceptionRow(IngestRow):
    direction: Annotated[Literal["SOUTHBOUND", "NORTHBOUND"], BeforeValidator(_upper)]
    day: Day
    is_connect_day: Flag
    reason: Text

    day_field: ClassVar[str | None] = "day"

    def record(self) -> Record:
        return (self.direction, self.day, self.is_connect_day, self.reason)


class FxRow(IngestRow):
    base_currency: Currency
    quote_currency: Currency
    day: Day
    rate: _num(digits=20, places=10, gt=0)  # type: ignore[valid-type]
    source: Text

    day_field: ClassVar[str | None] = "day"

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        if self.base_currency == self.quote_currency:
            yield "quote_currency", "must differ from the base currency"

    def record(self) -> Record:
        return (self.base_currency, self.quote_currency, self.day, self.rate, self.source)
