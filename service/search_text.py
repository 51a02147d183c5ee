"""What a search box's text can stand for: the code forms it may be, and its Chinese in both scripts.

``code_forms("3033")`` gives the local codes a typed number may mean (HKEX pads to five digits, the
mainland and Korean exchanges to six); ``XHKG:03033`` and ``3033.HK`` name the market too. Chinese text
is matched in both scripts by converting the query (OpenCC), not the stored names: a name stored
traditional (半導體) is found by simplified text (半导体) and the other way round (ADR 0015).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import opencc

# Exchange suffixes as data vendors write them (3033.HK, 510300.SH, 159915.SZ, 005930.KS).
SUFFIX_MICS = {
    "HK": "XHKG",
    "SH": "XSHG",
    "SS": "XSHG",
    "SZ": "XSHE",
    "KS": "XKRX",
    "KQ": "XKOS",
    "T": "XTKS",
}

_WITH_MIC = re.compile(r"^([A-Z0-9]{4}):([0-9A-Z.]+)$")
_WITH_SUFFIX = re.compile(r"^([0-9A-Z]+)\.([A-Z]{1,2})$")
_CODE = re.compile(r"^[0-9A-Z]{1,12}$")
_ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True, slots=True)
class CodeForms:
    """The local codes ``codes`` (on market ``mic`` when the text names one) and an ISIN, if it is one."""

    mic: str | None
    codes: tuple[str, ...]
    isin: str | None


def code_forms(text: str) -> CodeForms:
    value = re.sub(r"\s+", "", text).upper()
    mic: str | None = None
    if match := _WITH_MIC.match(value):
        mic, value = match.group(1), match.group(2)
    elif (match := _WITH_SUFFIX.match(value)) and match.group(2) in SUFFIX_MICS:
        mic, value = SUFFIX_MICS[match.group(2)], match.group(1)
    if not _CODE.match(value):
        return CodeForms(None, (), None)
    codes = [value]
    if value.isdigit():
        codes += [value.zfill(5), value.zfill(6)]
    isin = value if mic is None and _ISIN.match(value) else None
    return CodeForms(mic, tuple(dict.fromkeys(codes)), isin)


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def both_scripts(text: str) -> tuple[str, ...]:
    """``text`` and its simplified, traditional and Hong Kong traditional forms (no duplicates); text
    without Chinese characters is returned alone."""
    if not _HAN.search(text):
        return (text,)
    forms = (text, *(_converter(config).convert(text) for config in ("t2s", "s2t", "s2hk")))
    return tuple(dict.fromkeys(forms))
