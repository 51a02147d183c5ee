"""Cell types: what a publisher's cell may hold, as annotated types the line models are built from.

Values arrive as text (CSV cells, or XLSX cells turned to text). These types accept what publishers
print: dates as YYYY-MM-DD, DD/MM/YYYY or YYYYMMDD; numbers with thousands separators; flags as Y/N;
blank cells as missing. ``Digits`` marks a ``numeric(digits, places)`` column's limits (checked once
per row by ``Line.problems``, cheaper than pydantic's own decimal checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def required(value: Any) -> Any:
    value = blank_to_none(value)
    if value is None:
        raise ValueError("a value is required here")
    return value


def parse_day(value: Any) -> Any:
    value = blank_to_none(value)
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


def plain_number(value: Any) -> Any:
    value = blank_to_none(value)
    if isinstance(value, str):
        value = value.replace(",", "").removesuffix("%")
    return value


FLAGS = {
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "n": False,
    "no": False,
    "false": False,
    "0": False,
}


def parse_flag(value: Any) -> Any:
    value = blank_to_none(value)
    if isinstance(value, str):
        try:
            return FLAGS[value.casefold()]
        except KeyError:
            raise ValueError("not a flag (use Y or N)") from None
    return value


def upper_text(value: Any) -> Any:
    value = blank_to_none(value)
    return value.upper() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(required)]
OptText = Annotated[str | None, BeforeValidator(blank_to_none)]
Day = Annotated[date, BeforeValidator(parse_day)]
OptDay = Annotated[date | None, BeforeValidator(parse_day)]
Flag = Annotated[bool, BeforeValidator(parse_flag)]
Currency = Annotated[str, BeforeValidator(upper_text), Field(pattern=r"^[A-Z]{3}$")]
Mic = Annotated[str, BeforeValidator(upper_text), Field(pattern=r"^[A-Z0-9]{4}$")]
Country = Annotated[str, BeforeValidator(upper_text), Field(pattern=r"^[A-Z]{2}$")]
Code = Annotated[str, BeforeValidator(upper_text), Field(pattern=r"^[0-9A-Z]+$", max_length=12)]
Isin = Annotated[
    Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")] | None, BeforeValidator(upper_text)
]
Positive = Annotated[Annotated[int, Field(gt=0)] | None, BeforeValidator(plain_number)]
Slug = Annotated[str, BeforeValidator(required), Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
IndexCode = Annotated[str, BeforeValidator(upper_text), Field(pattern=r"^[A-Z0-9][A-Z0-9&-]*$")]
OptIndexCode = Annotated[
    Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9&-]*$")] | None, BeforeValidator(upper_text)
]
OptCountry = Annotated[Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None, BeforeValidator(upper_text)]
Count = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(plain_number)]


def pipe_list(value: Any) -> Any:
    """``a|b`` as ["a", "b"] (blank parts dropped; a blank cell is an empty list)."""
    value = blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    return value


Tags = Annotated[list[str], BeforeValidator(pipe_list)]


@dataclass(frozen=True, slots=True)
class Digits:
    """A numeric(digits, places) column's limits, checked in ``Line.problems``.

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


# Numbers as publishers print them ("1,234.5"); bounds and ``Digits`` are added per field.
Number = Annotated[Decimal, BeforeValidator(plain_number)]
OptNumber = Annotated[Decimal | None, BeforeValidator(plain_number)]
# Bounds must bind to the Decimal inside the union: None (a blank cell) is never compared.
OptPositiveNumber = Annotated[Annotated[Decimal, Field(gt=0)] | None, BeforeValidator(plain_number)]


def local_code(mic: str, code: str) -> str:
    """HKEX prints 700 or 00700: Hong Kong codes are five digits, zero-padded."""
    if mic == "XHKG" and code.isdigit() and len(code) < 5:
        return code.zfill(5)
    return code
