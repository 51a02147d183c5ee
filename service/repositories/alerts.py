"""The figures alerts send: what one load wrote (``load_events``), read once an instance hears of the load.

``southbound_days`` gives the southbound days a load inserted or changed whose net buying (both channels,
each channel's day converted at its rate and rounded to the cent, then added: the money rule) is above a
threshold; ``etf_days`` the daily figures a load wrote for some funds. Each is one statement per load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from service.db.client import Database
from service.repositories.base import to_rows


@dataclass(frozen=True, slots=True)
class SouthboundDayRow:
    trading_day: date
    currency: str
    channels: int
    buy_turnover: Decimal | None
    sell_turnover: Decimal | None
    total_turnover: Decimal
    net_buy: Decimal


_SOUTHBOUND_DAYS = """
    SELECT f.trading_day, $3::text AS currency, count(*)::int AS channels,
           sum(money_at_rate(f.buy_turnover, r.rate)) AS buy_turnover,
           sum(money_at_rate(f.sell_turnover, r.rate)) AS sell_turnover,
           sum(money_at_rate(f.total_turnover, r.rate)) AS total_turnover,
           sum(money_at_rate(f.net_buy, r.rate)) AS net_buy
    FROM load_events e
    CROSS JOIN unnest(e.days) AS d(day)
    JOIN connect_daily_flows f ON f.direction = 'SOUTHBOUND' AND f.trading_day = d.day
    LEFT JOIN LATERAL fx_rate_rows(f.currency, $3::char(3), f.trading_day) r ON true
    WHERE e.load_id = $1 AND e.kind = 'SOUTHBOUND_DAYS'
    GROUP BY f.trading_day
    HAVING count(r.rate) = count(*) AND count(f.net_buy) = count(*)
       AND sum(money_at_rate(f.net_buy, r.rate)) > $2
    ORDER BY f.trading_day"""


async def southbound_days(
    db: Database, load_id: int, min_net_buy: Decimal, currency: str
) -> list[SouthboundDayRow]:
    """The load's southbound days with net buying above ``min_net_buy`` (in ``currency``), oldest first."""
    return to_rows(SouthboundDayRow, await db.fetch(_SOUTHBOUND_DAYS, load_id, min_net_buy, currency))


@dataclass(frozen=True, slots=True)
class EtfDayRow:
    code: str
    trading_day: date
    currency: str
    nav_per_unit: Decimal
    close_price: Decimal | None
    shares_outstanding: Decimal
    aum: Decimal
    net_creation_units: Decimal
    net_creation_value: Decimal
    turnover: Decimal | None


_ETF_DAYS = """
    SELECT x.mic || ':' || x.code AS code, s.trading_day, s.currency::text AS currency, s.nav_per_unit,
           s.close_price, s.shares_outstanding, s.aum, s.net_creation_units, s.net_creation_value,
           s.turnover
    FROM load_events e
    JOIN etfs x ON x.id = e.etf_id
    CROSS JOIN unnest(e.days) AS d(day)
    JOIN etf_daily_stats s ON s.etf_id = e.etf_id AND s.trading_day = d.day
    WHERE e.load_id = $1 AND e.kind = 'ETF_DAYS' AND e.etf_id = ANY($2::bigint[])
    ORDER BY x.mic, x.code, s.trading_day"""


async def etf_days(db: Database, load_id: int, etf_ids: list[int]) -> list[EtfDayRow]:
    """The daily figures the load wrote for these funds, by fund code then day."""
    return to_rows(EtfDayRow, await db.fetch(_ETF_DAYS, load_id, etf_ids))


_FUNDS = """
    SELECT q.code, coalesce(e.id, c.etf_id) AS etf_id
    FROM unnest($1::text[], $2::text[], $3::text[]) AS q(code, mic, local)
    LEFT JOIN etfs e ON e.mic = q.mic AND e.code = q.local
    LEFT JOIN etf_counters c ON c.mic = q.mic AND c.code = q.local"""


async def fund_ids(db: Database, codes: list[tuple[str, str, str]]) -> dict[str, int | None]:
    """Each ``(code as asked, MIC, local code)``'s fund id (a fund's code or a counter's), None if none."""
    rows = await db.fetch(_FUNDS, [c[0] for c in codes], [c[1] for c in codes], [c[2] for c in codes])
    return {r["code"]: r["etf_id"] for r in rows}
