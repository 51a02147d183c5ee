"""Facts of the markets that the file layouts encode: currencies by exchange, Connect quotas and sentinels."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

# The trading currency of each exchange (MIC) the data knows.
MIC_CURRENCY: Mapping[str, str] = {
    "XHKG": "HKD",
    "XSHG": "CNY",
    "XSHE": "CNY",
    "XNAS": "USD",
    "XNYS": "USD",
    "XKRX": "KRW",
    "XKOS": "KRW",
    "XTAI": "TWD",
    "XTKS": "JPY",
    "XAMS": "EUR",
}

# Stock Connect daily quotas per link (RMB).
SOUTHBOUND_DAILY_QUOTA_CNY = 42_000_000_000
NORTHBOUND_DAILY_QUOTA_CNY = 52_000_000_000
# HKEX stopped publishing the northbound buy/sell split (and so the net) from this day on.
NORTHBOUND_SPLIT_UNPUBLISHED_FROM = date(2024, 8, 19)
# HKEX prints 999,999,999 (RMB mil) as the daily quota balance when the quota is simply available.
QUOTA_SENTINEL = Decimal("999999999")
