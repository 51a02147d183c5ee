"""Scalars whose wire format the schema fixes: Decimal is a plain decimal string, never exponent form;
Date and DateTime are ISO text. Each also accepts the text the engine's SQL already formatted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import strawberry

from service.errors import BadInput


def _serialize_decimal(value: Decimal | str) -> str:
    # asyncpg can hand back Decimal('9.2600E+8'); clients (and PostgreSQL's numeric::text) expect
    # '926000000'. Fixed-point keeps the value's scale: Decimal('12.500000') -> '12.500000'.
    return value if isinstance(value, str) else format(value, "f")


def _parse_decimal(value: object) -> Decimal:
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise BadInput(f"{value!r} is not a decimal number") from None
    if not parsed.is_finite():
        raise BadInput(f"{value!r} is not a finite decimal number")
    _, digits, exponent = parsed.as_tuple()
    # numeric(24, 2) and friends: anything beyond 40 significant digits or 10^±40 is no amount.
    if len(digits) > 40 or not -40 <= int(exponent) + len(digits) <= 40:
        raise BadInput(f"{value!r} is out of range for an amount")
    return parsed


def _serialize_date(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _parse_date(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO date")
    return date.fromisoformat(value)


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO date-time")
    return datetime.fromisoformat(value)


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number, sent as a string (e.g. "20000000000.00"): money is never a float.',
    serialize=_serialize_decimal,
    parse_value=_parse_decimal,
)

DateScalar = strawberry.scalar(
    name="Date",
    description="Date (isoformat)",
    serialize=_serialize_date,
    parse_value=_parse_date,
)

DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=_serialize_date,
    parse_value=_parse_datetime,
)

SCALARS = {Decimal: DecimalScalar, date: DateScalar, datetime: DateTimeScalar}
