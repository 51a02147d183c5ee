"""SQL for trailing windows: per day, the sum and average of the latest N days of a calendar (Connect
days for flows, trading days for fund figures), from the same daily figures as the series.

A day's figure is what a DAY bucket of ``flowSeries``/``etfSeries`` holds (``SERIES_PER_DAY``: each
channel's or fund's amount converted at its day's rate and rounded to the cent, then added; null when
unknown). A window is the day and the N - 1 calendar days before it, reaching back before the first day
shown, so the first day shown has a whole window. The rule of running totals (issue 12) applies: a sum
or average over a window holding an unknown day is null, never one over fewer days; ``known_days`` says
how many of the window's N days had a figure (days before the calendar's first count as unknown). The
trailing figures are window functions over the days (``ROWS BETWEEN N - 1 PRECEDING``): one pass, one
sort, whatever N.
"""

from __future__ import annotations

from service.repositories.analytics import (
    FLOW_AMOUNT,
    FLOW_BOUNDS,
    FLOW_NATIVE,
    SERIES_PER_DAY,
)

# The trailing figures of ``per_day`` (SERIES_PER_DAY's CTE), for the days in [{shown_from}, {shown_to}].
TRAILING = (
    SERIES_PER_DAY
    + """,
           windowed AS (
               SELECT p.day, p.value, min(p.day) OVER w AS window_from,
                      count(*) OVER w AS window_days, count(p.value) OVER w AS known_days,
                      sum(p.value) OVER w AS window_sum, max(scale(p.value)) OVER w AS places,
                      CASE WHEN min(p.native_currency) OVER w = max(p.native_currency) OVER w
                           THEN min(p.native_currency) OVER w END AS native_currency,
                      min(p.min_rate) OVER w AS fx_min_rate, max(p.max_rate) OVER w AS fx_max_rate,
                      min(p.min_rate_day) OVER w AS fx_first_rate_date,
                      max(p.max_rate_day) OVER w AS fx_last_rate_date,
                      count(*) FILTER (WHERE p.on_earlier_rate) OVER w AS fx_days_on_earlier_rate,
                      count(*) FILTER (WHERE p.without_rate) OVER w AS fx_days_without_rate
               FROM per_day p
               WINDOW w AS (ORDER BY p.day ROWS BETWEEN {window}::int - 1 PRECEDING AND CURRENT ROW))
           SELECT t.day, t.value, t.window_from, {window}::int AS window_size, t.window_days::int,
                  t.known_days::int, ({window}::int - t.known_days)::int AS unknown_days,
                  -- a whole window of known days in one currency (any, once converted), else null
                  CASE WHEN t.known_days = {window}::int
                            AND ({currency}::text IS NOT NULL OR t.native_currency IS NOT NULL)
                       THEN t.window_sum END AS sum,
                  CASE WHEN t.known_days = {window}::int
                            AND ({currency}::text IS NOT NULL OR t.native_currency IS NOT NULL)
                       THEN round(t.window_sum / {window}::int, greatest(2, t.places)) END AS avg,
                  t.native_currency, coalesce({currency}::text, t.native_currency) AS currency,
                  t.fx_min_rate, t.fx_max_rate, t.fx_first_rate_date, t.fx_last_rate_date,
                  t.fx_days_on_earlier_rate::int, t.fx_days_without_rate::int
           FROM windowed t
           WHERE t.day BETWEEN {shown_from} AND {shown_to}"""
)


def lookback(calendar_days: str, lo: str) -> str:
    """The first day of the window of the day ``lo``: N - 1 open days of ``calendar_days`` before it."""
    return f"""coalesce((SELECT min(d.day) FROM (
                          SELECT c.day FROM ({calendar_days}) c WHERE c.day < {lo}
                          ORDER BY c.day DESC LIMIT {{window}}::int - 1) d), {lo})"""


_CONNECT_DAYS = "SELECT day FROM connect_days WHERE direction = {direction}::connect_direction"

# Trailing flows of a direction (and channel) over the days of ``bounds`` (FLOW_BOUNDS: from/to, or the
# latest N Connect days), each day's window reaching back on the direction's Connect days. The days are
# read from ``connect_flow_days`` (each channel's day converted by the money rule, channels added).
FLOW_TRAILING = (
    "WITH "
    + FLOW_BOUNDS
    + """,
           look AS (
               SELECT """
    + lookback(_CONNECT_DAYS, "b.lo")
    + """ AS lo, b.lo AS shown_from, b.hi AS shown_to
               FROM bounds b),
           cal AS (
               SELECT c.day FROM connect_days c, look b
               WHERE c.direction = {direction}::connect_direction AND c.day BETWEEN b.lo AND b.shown_to),
           daily AS (
               SELECT f.trading_day AS day, f.currency, """
    + FLOW_NATIVE
    + """ AS native, """
    + FLOW_AMOUNT
    + """ AS amount,
                      f.rate, f.rate_day
               FROM connect_flow_days f, look b
               WHERE f.direction = {direction}::connect_direction
                 AND f.channel = coalesce({channel}::text, 'BOTH')
                 AND f.target = coalesce({currency}::text, 'NATIVE')
                 AND f.trading_day BETWEEN b.lo AND b.shown_to)"""
    + TRAILING.replace("{shown_from}", "(SELECT shown_from FROM look)").replace(
        "{shown_to}", "(SELECT shown_to FROM look)"
    )
)
