"""SQL for the ETF Connect eligibility screen: each fund's 6-month average daily AUM against the published
thresholds, the other criteria the data can check, and what a review on a date would do.

The rule (ETF Connect's widened criteria, effective 2024-07-22; domain notes):

* southbound: Hong Kong ETFs (XHKG); inclusion at a 6-month average daily AUM of HK$550m, exclusion
  below HK$450m; northbound: mainland ETFs (XSHG, XSHE); RMB 500m both ways (no separate exclusion
  threshold is published in the domain notes);
* the average is over the fund's days with figures from the same day six months before the review up to
  the day before it, each day's AUM converted at that day's rate to the link's currency and rounded to
  the cent (the money rule, ``money_at_rate``), to the cent;
* a candidate is listed on the link's exchanges six months before the review and still listed on it,
  physically replicated, neither leveraged nor inverse, and invests in the link's shares (Hong Kong or
  mainland shares southbound, mainland shares northbound: ``etfs.investment_focus``; unknown: not
  checked);
* not on the link and a candidate at or above the inclusion threshold: added; eligible and below the
  exclusion threshold: moved to the special list (sell-only); sell-only at or above the inclusion
  threshold: restored; sell-only below the exclusion threshold: removed (one review's grace: the demo's
  assumption, as ``service/demo/story.py`` states it); otherwise, or for a fund that is no candidate,
  nothing changes.

A fund's margin is its average minus the threshold that decides it (exclusion for an eligible fund,
inclusion for one not on the link, and for a sell-only fund inclusion when at or above it, else
exclusion), in the link's currency and in percent of the threshold.
"""

from __future__ import annotations

# Lines of the screen for ``{direction}`` on ``{review}``: one per fund on the link the day before the
# review (any channel) or meeting the criteria, with its average, margin and outcome. ``{averages}`` gives
# the funds' averages: ``averages (etf_id, days, last_day, average)``.
_SCREEN = """WITH rule AS (
        SELECT {review}::date AS review,
               ({review}::date - interval '6 months')::date AS first_day,
               {review}::date - 1 AS last_day,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN 'HKD' ELSE 'CNY' END::char(3) AS currency,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN 550000000 ELSE 500000000 END::numeric
                   AS inclusion,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN 450000000 ELSE 500000000 END::numeric
                   AS exclusion,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN ARRAY['XHKG'] ELSE ARRAY['XSHG', 'XSHE'] END
                   AS markets,
               CASE {direction}::text WHEN 'SOUTHBOUND' THEN ARRAY['HONG_KONG_EQUITY', 'MAINLAND_EQUITY']
                    ELSE ARRAY['MAINLAND_EQUITY'] END AS focus),
    status AS (
        -- On the link the day before the review: eligible on either channel, else sell-only.
        SELECT c.etf_id,
               CASE WHEN bool_or(c.status = 'ELIGIBLE') THEN 'ELIGIBLE' ELSE 'SELL_ONLY' END AS status
        FROM connect_eligibility c, rule r
        WHERE c.direction = {direction}::connect_direction AND c.period @> r.last_day
        GROUP BY c.etf_id),
    funds AS (
        SELECT e.id AS etf_id, e.mic || ':' || e.code AS etf_key, s.status,
               array_remove(ARRAY[
                   CASE WHEN e.mic <> ALL (r.markets) THEN 'LISTED_ON_THE_LINK' END,
                   CASE WHEN e.listing_date > r.first_day THEN 'LISTED_SIX_MONTHS' END,
                   CASE WHEN e.delisting_date <= r.review THEN 'STILL_LISTED' END,
                   CASE WHEN e.replication <> 'PHYSICAL' THEN 'PHYSICAL_REPLICATION' END,
                   CASE WHEN e.is_leveraged_inverse THEN 'NOT_LEVERAGED_OR_INVERSE' END,
                   CASE WHEN e.investment_focus <> ALL (r.focus) THEN 'INVESTMENT_FOCUS' END], NULL)
                   AS criteria_not_met
        FROM etfs e CROSS JOIN rule r LEFT JOIN status s ON s.etf_id = e.id
        WHERE s.status IS NOT NULL
           OR (e.mic = ANY (r.markets) AND e.listing_date <= r.first_day
               AND (e.delisting_date IS NULL OR e.delisting_date > r.review)
               AND e.replication = 'PHYSICAL' AND NOT e.is_leveraged_inverse
               AND (e.investment_focus IS NULL OR e.investment_focus = ANY (r.focus)))),
    {averages},
    judged AS MATERIALIZED (
        -- Each fund's average and threshold worked out once: every column below reads them (inlined, the
        -- average's division ran about ten times per fund).
        SELECT f.etf_id, f.etf_key, f.status, f.criteria_not_met, a.days, a.last_day, a.average,
               CASE WHEN f.status = 'ELIGIBLE' THEN r.exclusion
                    WHEN f.status = 'SELL_ONLY' AND a.average < r.inclusion THEN r.exclusion
                    ELSE r.inclusion END AS threshold
        FROM funds f CROSS JOIN rule r LEFT JOIN averages a ON a.etf_id = f.etf_id)
    SELECT j.*, j.average - j.threshold AS margin,
           CASE WHEN cardinality(j.criteria_not_met) > 0 OR j.average IS NULL THEN 'NO_CHANGE'
                WHEN j.status IS NULL AND j.average >= r.inclusion THEN 'ADD'
                WHEN j.status = 'ELIGIBLE' AND j.average < r.exclusion THEN 'MOVE_TO_SELL_ONLY'
                WHEN j.status = 'SELL_ONLY' AND j.average >= r.inclusion THEN 'RESTORE'
                WHEN j.status = 'SELL_ONLY' AND j.average < r.exclusion THEN 'REMOVE'
                ELSE 'NO_CHANGE' END AS outcome
    FROM judged j CROSS JOIN rule r"""

# A line's margin in percent of its threshold, over the line ``{t}``: worked out where lines are output
# (the page of a list), not for each of the ~1,000 funds a southbound review screens.
MARGIN_PCT = "round({t}.margin * 100 / {t}.threshold, 2)"


# The averages from the rollup etf_aum_totals (migration 0019): each fund's running AUM sum and count of
# days at the window's last day minus those before its first; two rows read, whatever the window. The
# rows' arrays are read side by side, element by element (as the rankings read etf_day_totals'): each day's
# arrays list every fund in id order, an earlier day's funds are the first ones of a later day's
# (``refresh_etf_rollups`` rebuilds every day otherwise), and etf_aum_totals keeps etf_day_totals' order; a
# fund missing from the earlier day (listed since) reads nulls there. Only the link's currency's arrays
# are read. (Unnesting all five arrays of both rows and joining them by fund id, with the average inlined
# into every column that reads it, cost c4's statement 2.6 of its 9.7 ms of CPU.)
_FROM_ROLLUP = """ends AS (
        SELECT (SELECT max(a.trading_day) FROM etf_aum_totals a WHERE a.trading_day <= r.last_day) AS hi,
               (SELECT max(a.trading_day) FROM etf_aum_totals a WHERE a.trading_day < r.first_day) AS lo
        FROM rule r),
    averages AS (
        SELECT u.etf_id, u.days - coalesce(u.days_before, 0) AS days,
               CASE WHEN u.days > coalesce(u.days_before, 0) THEN u.last_day END AS last_day,
               round((u.total - coalesce(u.total_before, 0)) * 0.01
                     / nullif(u.days - coalesce(u.days_before, 0), 0), 2) AS average
        FROM rule r CROSS JOIN ends e
        JOIN etf_aum_totals h ON h.trading_day = e.hi
        LEFT JOIN etf_day_totals t ON t.trading_day = e.hi
        LEFT JOIN etf_aum_totals l ON l.trading_day = e.lo,
        unnest(h.etf_ids,
               CASE r.currency WHEN 'HKD' THEN h.cum_aum_hkd ELSE h.cum_aum_cny END,
               CASE r.currency WHEN 'HKD' THEN h.cum_days_hkd ELSE h.cum_days_cny END,
               CASE r.currency WHEN 'HKD' THEN l.cum_aum_hkd ELSE l.cum_aum_cny END,
               CASE r.currency WHEN 'HKD' THEN l.cum_days_hkd ELSE l.cum_days_cny END,
               t.last_day) AS u (etf_id, total, days, total_before, days_before, last_day))"""

# The same averages from the fund-days (the reference the rollup is tested against): each day's AUM
# converted at its rate to the link's currency by the money rule, averaged over the days with a rate.
_FROM_DAYS = """rows AS MATERIALIZED (
        SELECT x.etf_id, x.trading_day AS day, x.currency, x.aum
        FROM funds f CROSS JOIN rule r
        JOIN etf_daily_stats x ON x.etf_id = f.etf_id AND x.trading_day BETWEEN r.first_day AND r.last_day),
    rates AS MATERIALIZED (
        SELECT k.currency, k.day, fx.rate
        FROM (SELECT DISTINCT currency, day FROM rows) k CROSS JOIN rule r
        LEFT JOIN LATERAL fx_rate_rows(k.currency, r.currency, k.day) fx ON true),
    averages AS (
        SELECT w.etf_id, count(x.rate)::int AS days, max(w.day) FILTER (WHERE x.rate IS NOT NULL) AS last_day,
               round(avg(money_at_rate(w.aum, x.rate)), 2) AS average
        FROM rows w JOIN rates x ON x.currency = w.currency AND x.day = w.day
        GROUP BY w.etf_id)"""

SCREEN = _SCREEN.replace("{averages}", _FROM_ROLLUP)
SCREEN_FROM_DAYS = _SCREEN.replace("{averages}", _FROM_DAYS)
