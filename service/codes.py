"""Parsing of the natural keys clients send: ``MIC:code`` for ETFs, counters and securities."""

from __future__ import annotations

import re

from service.errors import BadInput

_CODE = re.compile(r"^([A-Z0-9]{4}):([0-9A-Z]+)$")


def parse_code(value: str, argument: str = "code") -> tuple[str, str]:
    """``XHKG:03033`` -> (``XHKG``, ``03033``)."""
    match = _CODE.match(value.strip().upper())
    if match is None:
        raise BadInput(
            f"`{argument}` must look like MIC:CODE (e.g. XHKG:03033), got {value!r}",
            argument=argument,
        )
    return match.group(1), match.group(2)
