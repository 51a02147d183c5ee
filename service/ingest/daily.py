"""The etf-daily hot path: recognising the plain lines of a daily NAV file that need no model.

``PlainDailyLines`` is one regular expression built from the file's header: it matches the lines
``EtfDailyLine`` (``service/ingest/tables.py``) would accept exactly as written; the loader stages such a
line as it is (``aum_ok`` checks its cross-cell rule in floating point, beyond doubt). Every other line
goes through the model. docs/ingest.md ("How the etf-daily load goes") explains it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from service.ingest.cells import Digits, parse_day
from service.ingest.tables import DAILY_DIGITS, EtfDailyLine


def _plain_number(limits: Digits, *, signed: bool = False, positive: bool = False) -> str:
    """A number written plainly within ``limits`` (a leading zero only before the point: stricter)."""
    whole = limits.digits - limits.places
    places = rf"(?:\.[0-9]{{1,{limits.places}}})?" if limits.places else ""
    if positive:  # a non-zero digit first, or 0.<digits with a non-zero one>
        fraction = rf"|0\.(?=[0-9]{{0,{limits.places - 1}}}[1-9])[0-9]{{1,{limits.places}}}"
        return rf"(?:[1-9][0-9]{{0,{whole - 1}}}{places}{fraction if limits.places else ''})"
    return rf"{'-?' if signed else ''}[0-9]{{1,{whole}}}{places}"


# What a plain etf-daily cell may be, per field: each pattern accepts only text that EtfDailyLine accepts
# as is (no blanks to strip, no separators, upper case, within the column's precision and bounds).
# Required fields must be present; optional ones may be blank (NULL). Dates are checked by ``parse_day``.
_PLAIN_DAILY: dict[str, tuple[str, bool]] = {  # field -> (pattern, may be blank)
    "trading_day": (r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}/[0-9]{2}/[0-9]{4}", False),
    "mic": ("[A-Z0-9]{4}", False),
    "code": ("[0-9A-Z]{1,12}", False),
    "currency": ("[A-Z]{3}", False),
    "nav_per_unit": (_plain_number(DAILY_DIGITS["nav_per_unit"], positive=True), False),
    "close_price": (_plain_number(DAILY_DIGITS["close_price"], positive=True), True),
    "shares_outstanding": (_plain_number(DAILY_DIGITS["shares_outstanding"]), False),
    "aum": (_plain_number(DAILY_DIGITS["aum"]), False),
    "net_creation_units": (_plain_number(DAILY_DIGITS["net_creation_units"], signed=True), False),
    "net_creation_value": (_plain_number(DAILY_DIGITS["net_creation_value"], signed=True), False),
    "turnover": (_plain_number(DAILY_DIGITS["turnover"]), True),
    "southbound_holding_units": (_plain_number(DAILY_DIGITS["southbound_holding_units"]), True),
}
# The fields whose text the line check reads, in this order.
PLAIN_DAILY_READS = ("trading_day", "mic", "code", "nav_per_unit", "shares_outstanding", "aum")


class PlainDailyLines:
    """The etf-daily hot path: recognises the plain lines of a daily NAV file that EtfDailyLine would
    accept unchanged, without building a model.

    ``match(line)`` is one regular expression over the whole line (the header's columns in order,
    exactly as many cells, the file's line terminator), giving the cells the row checks need; the
    caller checks the date with ``day`` and the cross-cell rule with ``aum_ok``. A line that is not
    plain (blanks, separators, quotes, lower case, more digits than a column holds, an odd date or
    terminator...) is simply not matched: it goes through EtfDailyLine, which accepts or explains.
    So the model stays the definition of a valid row; this only recognises, conservatively, rows the
    model accepts as they are written (``tests/ingest/test_daily.py`` checks it against the model).
    """

    def __init__(self, fields: Sequence[str | None], newline: str) -> None:
        parts: list[str] = []
        group = 0
        groups: dict[str, int] = {}
        # A column without a plain pattern (one added to the declaration since): every line takes the
        # model's path, correct and slower, until a pattern is written for it.
        known = all(name is None or name in _PLAIN_DAILY for name in fields)
        for name in fields:
            if name is None or name not in _PLAIN_DAILY:
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
        required = {name for name, info in EtfDailyLine.model_fields.items() if info.is_required()}
        self.usable = known and present >= required
        self.groups = tuple(groups.get(name, 0) for name in PLAIN_DAILY_READS)
        self.pattern = re.compile(",".join(parts) + re.escape(newline), re.ASCII)
        self.fullmatch = self.pattern.fullmatch
        self._days: dict[str, date | None] = {}

    def day(self, text: str) -> date | None:
        """The date a plain date cell holds (as ``parse_day`` reads it), None when it is no date."""
        try:
            return self._days[text]
        except KeyError:
            pass
        try:
            day: date | None = parse_day(text)
        except ValueError:
            day = None
        if len(self._days) < 100_000:
            self._days[text] = day
        return day


def aum_ok(nav: str, units: str, aum: str) -> bool:
    """True when AUM = NAV x units holds (EtfDailyLine.problems) beyond doubt, in binary floating point.

    The margin covers the rounding of the conversions and of the arithmetic (each well under 1e-15 of
    the magnitudes involved); a row that does not pass here is checked exactly, in Decimal, by the model.
    """
    n = float(nav)
    u = float(units)
    a = float(aum)
    product = n * u
    tolerance = 0.01 + u * 1e-6
    return abs(a - product) + (a + product + tolerance) * 1e-15 < tolerance
