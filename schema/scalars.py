"""Scalars whose wire format the schema fixes: Decimal is a plain decimal string, never exponent form."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import strawberry

from service.errors import BadInput


def _serialize(value: Decimal) -> str:
    # asyncpg can hand back Decimal('9.2600E+8'); clients (and PostgreSQL's numeric::text) expect
    # '926000000'. Fixed-point keeps the value's scale: Decimal('12.500000') -> '12.500000'.
    return format(value, "f")


def _parse(value: object) -> Decimal:
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


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number, sent as a string (e.g. "20000000000.00"): money is never a float.',
    serialize=_serialize,
    parse_value=_parse,
)
