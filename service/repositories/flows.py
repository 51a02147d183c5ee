"""SQL for HKEX daily Stock Connect flows: per-day totals over channels with running totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from service.db.client import Database
from service.repositories.base import numbered, to_rows

DAILY = """WITH days AS (
               SELECT f.trading_day, min(f.currency) AS currency,
                      CASE WHEN count(f.buy_turnover) = count(*) THEN sum(f.buy_turnover) END
                          AS buy_turnover,
                      CASE WHEN count(f.sell_turnover) = count(*) THEN sum(f.sell_turnover) END
                          AS sell_turnover,
                      sum(f.total_turnover) AS total_turnover,
                      CASE WHEN count(f.net_buy) = count(*) THEN sum(f.net_buy) END AS net_buy,
                      CASE WHEN count(f.trade_count) = count(*) THEN sum(f.trade_count)::int END
                          AS trade_count,
                      CASE WHEN count(f.etf_turnover) = count(*) THEN sum(f.etf_turnover) END
                          AS etf_turnover,
                      CASE WHEN bool_or(f.quota_balance_unlimited) OR count(f.quota_balance) < count(*)
                           THEN NULL ELSE sum(f.quota_balance) END AS quota_balance,
                      bool_or(f.quota_balance_unlimited) AS quota_balance_unlimited
               FROM connect_daily_flows f
               WHERE f.direction = {direction}::connect_direction
                 AND ({channel}::connect_channel IS NULL OR f.channel = {channel}::connect_channel)
                 AND ({from}::date IS NULL OR f.trading_day >= {from})
                 AND ({to}::date IS NULL OR f.trading_day <= {to})
               GROUP BY f.trading_day
               ORDER BY f.trading_day DESC
               LIMIT {last}),
           windowed AS (
               -- A running total over an unknown day is unknown from that day on (never a sum that skips it).
               SELECT d.*,
                      CASE WHEN count(d.net_buy) OVER w = count(*) OVER w THEN sum(d.net_buy) OVER w END
                          AS running_net_buy,
                      (count(*) OVER w - count(d.net_buy) OVER w)::int AS running_unknown_days
               FROM days d
               WINDOW w AS (ORDER BY d.trading_day ROWS UNBOUNDED PRECEDING))
           SELECT {direction}::text AS direction, {channel}::text AS channel, w.*
           FROM windowed w
           WHERE {net_buy_above}::numeric IS NULL OR w.net_buy > {net_buy_above}
           ORDER BY w.trading_day"""
DAILY_PARAMS = ("direction", "channel", "from", "to", "last", "net_buy_above")

# Stocks ranked by net buying over both southbound channels' top tens in a window (default: the latest day
# with a top ten): each row converted at its day's rate and rounded to the cent (the money rule), then
# added; a stock counts only on the days it was in a channel's top ten (HKEX publishes nothing else).
# The window bounds the rows read too: through ``days`` alone, the plan read every day's top ten (39k
# rows at benchmark scale, 11 ms) to keep one day's (0.5 ms).
TOP_STOCKS_BY_NET_BUY = """WITH win AS (
            SELECT coalesce({from}::date, d.last_day) AS first_day, d.last_day
            FROM (SELECT coalesce({to}::date, (SELECT max(t.trading_day) FROM connect_top_stocks t
                                               WHERE t.direction = 'SOUTHBOUND')) AS last_day) d),
        days AS MATERIALIZED (
            SELECT x.trading_day, r.rate
            FROM (SELECT DISTINCT t.trading_day FROM connect_top_stocks t, win w
                  WHERE t.direction = 'SOUTHBOUND' AND t.trading_day BETWEEN w.first_day AND w.last_day) x
            LEFT JOIN LATERAL fx_rate_rows('HKD', {currency}::char(3), x.trading_day) r ON true),
        stocks AS (
            SELECT t.security_id,
                   CASE WHEN count(d.rate) = count(*) THEN sum(money_at_rate(t.net_buy, d.rate)) END
                       AS net_buy,
                   CASE WHEN count(d.rate) = count(*) THEN sum(money_at_rate(t.buy_turnover, d.rate)) END
                       AS buy_turnover,
                   CASE WHEN count(d.rate) = count(*) THEN sum(money_at_rate(t.sell_turnover, d.rate)) END
                       AS sell_turnover,
                   CASE WHEN count(d.rate) = count(*) THEN sum(money_at_rate(t.total_turnover, d.rate)) END
                       AS total_turnover,
                   count(DISTINCT t.trading_day)::int AS top_ten_days,
                   count(*)::int AS top_ten_entries,
                   min(t.trading_day) AS first_top_ten_day,
                   max(t.trading_day) AS last_top_ten_day
            FROM connect_top_stocks t JOIN days d ON d.trading_day = t.trading_day CROSS JOIN win w
            WHERE t.direction = 'SOUTHBOUND' AND t.trading_day BETWEEN w.first_day AND w.last_day
            GROUP BY t.security_id)
        SELECT (row_number() OVER (ORDER BY p.net_buy DESC NULLS LAST, s.mic, s.local_code))::int AS rank,
               p.*, {currency}::text AS currency, w.first_day, w.last_day
        FROM stocks p JOIN securities s ON s.id = p.security_id CROSS JOIN win w
        ORDER BY rank
        LIMIT {first}"""


@dataclass(frozen=True, slots=True)
class FlowDayRow:
    direction: str
    channel: str | None
    trading_day: date
    currency: str
    buy_turnover: Decimal | None
    sell_turnover: Decimal | None
    total_turnover: Decimal
    net_buy: Decimal | None
    trade_count: int | None
    etf_turnover: Decimal | None
    quota_balance: Decimal | None
    quota_balance_unlimited: bool
    running_net_buy: Decimal | None
    running_unknown_days: int


async def daily(
    db: Database,
    direction: str,
    channel: str | None,
    start: date | None,
    end: date | None,
    last: int | None,
    net_buy_above: Decimal | None,
) -> list[FlowDayRow]:
    """Daily flows of a direction, summed over both channels unless ``channel`` is given.

    The window is [start, end], or its latest ``last`` Connect days; the running net total starts at
    the window's first day, and ``net_buy_above`` then keeps only the days above it. A net that is not
    published for a channel (northbound after 2024-08-19) makes the day's net unknown (null), never 0,
    and the running total null from that day on; ``running_unknown_days`` counts those days so far.
    """
    records = await db.fetch(
        numbered(DAILY, DAILY_PARAMS), direction, channel, start, end, last, net_buy_above
    )
    return to_rows(FlowDayRow, records)
