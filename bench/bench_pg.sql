-- Functions that give PostGraphile the questions its generated schema cannot ask on its own:
-- point-in-time membership on a daterange, running totals, FX conversion and rankings. A PostGraphile
-- user would write exactly these (computed columns and custom queries); they live in their own schema,
-- bench_pg, created by `bench/run` only in the benchmark database, and mirror the SQL of
-- service/repositories/ statement for statement. Re-running this file replaces them.

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_pg CASCADE;
CREATE SCHEMA bench_pg;

-- Q1, Q2: members of an index on a date, heaviest first (ties by security code), as a computed
-- column `Index.constituents(asOf:)` that PostGraphile pages with `first:`.
CREATE FUNCTION bench_pg.indices_constituents(i public.indices, as_of date)
RETURNS SETOF public.index_memberships
LANGUAGE sql STABLE AS $$
    SELECT m.* FROM public.index_memberships m
    JOIN public.securities s ON s.id = m.security_id
    WHERE m.index_id = i.id AND m.period @> $2
    ORDER BY m.weight_pct DESC, s.mic, s.local_code
$$;

-- Q2: `Index.totalWeightPct(asOf:)`.
CREATE FUNCTION bench_pg.indices_total_weight_pct(i public.indices, as_of date)
RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(m.weight_pct), 0) FROM public.index_memberships m
    WHERE m.index_id = i.id AND m.period @> $2
$$;

-- Q3: eligibility periods in force on a date, by ETF code (root field `connectEligibilityOn`).
CREATE FUNCTION bench_pg.connect_eligibility_on(
    direction public.connect_direction, as_of date,
    channel public.connect_channel DEFAULT NULL, status public.eligibility_status DEFAULT NULL)
RETURNS SETOF public.connect_eligibility
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM public.connect_eligibility c
    JOIN public.etfs e ON e.id = c.etf_id
    WHERE c.direction = $1 AND c.period @> $2
      AND ($3 IS NULL OR c.channel = $3)
      AND ($4 IS NULL OR c.status = $4)
    ORDER BY e.mic, e.code, c.channel
$$;

-- Q3: every change of status on a link effective in [from, to] (a period that begins after a period with
-- another status or after none; a period that ends with none following it), by effective date, as our
-- eligibilityChanges lists them (issue 12: events, not two snapshots compared).
-- The composite type carries a foreign key smart tag so that `etf` is a real relation.
CREATE TYPE bench_pg.eligibility_change AS (
    etf_id bigint,
    channel public.connect_channel,
    effective_date date,
    kind text,
    status_before public.eligibility_status,
    status_after public.eligibility_status
);
COMMENT ON TYPE bench_pg.eligibility_change IS
    E'@foreignKey (etf_id) references public.etfs (id)|@fieldName etf';

CREATE FUNCTION bench_pg.eligibility_changes(direction public.connect_direction, from_day date, to_day date)
RETURNS SETOF bench_pg.eligibility_change
LANGUAGE sql STABLE AS $$
    WITH periods AS (
        SELECT etf_id, channel, status, effective_from, effective_to
        FROM public.connect_eligibility WHERE direction = $1),
    events AS (
        SELECT p.etf_id, p.channel, p.effective_from AS effective_date,
               b.status AS status_before, p.status AS status_after
        FROM periods p
        LEFT JOIN periods b
          ON b.etf_id = p.etf_id AND b.channel = p.channel AND b.effective_to = p.effective_from
        UNION ALL
        SELECT p.etf_id, p.channel, p.effective_to, p.status, NULL
        FROM periods p
        WHERE p.effective_to IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM periods n
            WHERE n.etf_id = p.etf_id AND n.channel = p.channel AND n.effective_from = p.effective_to))
    SELECT v.etf_id, v.channel, v.effective_date,
           CASE WHEN v.status_before IS NULL THEN 'ADDED' WHEN v.status_after IS NULL THEN 'REMOVED'
                ELSE 'STATUS_CHANGED' END,
           v.status_before, v.status_after
    FROM events v JOIN public.etfs e ON e.id = v.etf_id
    WHERE v.status_before IS DISTINCT FROM v.status_after
      AND v.effective_date BETWEEN $2 AND $3
    ORDER BY v.effective_date, e.mic, e.code, v.channel
$$;

-- Q4, Q8: daily Connect flows of a direction summed over channels, the latest `last_days` of the
-- window, with a running net total, then only days above `net_buy_above`.
CREATE TYPE bench_pg.flow_day AS (
    trading_day date,
    currency text,
    buy_turnover numeric,
    sell_turnover numeric,
    total_turnover numeric,
    net_buy numeric,
    trade_count integer,
    etf_turnover numeric,
    quota_balance numeric,
    quota_balance_unlimited boolean,
    running_net_buy numeric
);

CREATE FUNCTION bench_pg.connect_flows(
    direction public.connect_direction, channel public.connect_channel DEFAULT NULL,
    from_day date DEFAULT NULL, to_day date DEFAULT NULL, last_days integer DEFAULT NULL,
    net_buy_above numeric DEFAULT NULL)
RETURNS SETOF bench_pg.flow_day
LANGUAGE sql STABLE AS $$
    WITH days AS (
        SELECT f.trading_day, min(f.currency)::text AS currency,
               CASE WHEN count(f.buy_turnover) = count(*) THEN sum(f.buy_turnover) END AS buy_turnover,
               CASE WHEN count(f.sell_turnover) = count(*) THEN sum(f.sell_turnover) END AS sell_turnover,
               sum(f.total_turnover) AS total_turnover,
               CASE WHEN count(f.net_buy) = count(*) THEN sum(f.net_buy) END AS net_buy,
               CASE WHEN count(f.trade_count) = count(*) THEN sum(f.trade_count)::int END AS trade_count,
               CASE WHEN count(f.etf_turnover) = count(*) THEN sum(f.etf_turnover) END AS etf_turnover,
               CASE WHEN bool_or(f.quota_balance_unlimited) OR count(f.quota_balance) < count(*)
                    THEN NULL ELSE sum(f.quota_balance) END AS quota_balance,
               bool_or(f.quota_balance_unlimited) AS quota_balance_unlimited
        FROM public.connect_daily_flows f
        WHERE f.direction = $1
          AND ($2 IS NULL OR f.channel = $2)
          AND ($3 IS NULL OR f.trading_day >= $3)
          AND ($4 IS NULL OR f.trading_day <= $4)
        GROUP BY f.trading_day
        ORDER BY f.trading_day DESC
        LIMIT $5),
    windowed AS (
        -- null from the first day whose net is unknown on, as the service answers
        SELECT d.*, CASE WHEN count(d.net_buy) OVER w = count(*) OVER w THEN sum(d.net_buy) OVER w END
                        AS running_net_buy
        FROM days d WINDOW w AS (ORDER BY d.trading_day ROWS UNBOUNDED PRECEDING))
    SELECT w.trading_day, w.currency, w.buy_turnover, w.sell_turnover, w.total_turnover, w.net_buy,
           w.trade_count, w.etf_turnover, w.quota_balance, w.quota_balance_unlimited, w.running_net_buy
    FROM windowed w
    WHERE $6 IS NULL OR w.net_buy > $6
    ORDER BY w.trading_day
$$;

-- Q5: ETFs ranked by net creations over [from, to], each day converted to `currency` and rounded to
-- the cent, then added (the service's money rule).
CREATE TYPE bench_pg.creation_rank AS (
    rank integer,
    etf_id bigint,
    currency text,
    net_creation_value numeric,
    net_creation_units numeric,
    trading_days integer,
    first_day date,
    last_day date
);
COMMENT ON TYPE bench_pg.creation_rank IS
    E'@foreignKey (etf_id) references public.etfs (id)|@fieldName etf';

CREATE FUNCTION bench_pg.top_etfs_by_net_creation(
    from_day date, to_day date, theme text DEFAULT NULL, issuer text DEFAULT NULL,
    index_code text DEFAULT NULL, currency text DEFAULT 'HKD', first_n integer DEFAULT 20,
    ascending boolean DEFAULT false)
RETURNS SETOF bench_pg.creation_rank
LANGUAGE sql STABLE AS $$
    WITH funds AS (
        SELECT e.id FROM public.etfs e
        JOIN public.asset_managers m ON m.id = e.issuer_id
        LEFT JOIN public.indices i ON i.id = e.index_id
        WHERE ($3 IS NULL OR i.themes @> ARRAY[$3])
          AND ($4 IS NULL OR m.slug = $4)
          AND ($5 IS NULL OR i.code = $5)),
    rows AS (
        SELECT s.etf_id, s.trading_day, s.currency, s.net_creation_value, s.net_creation_units
        FROM public.etf_daily_stats s JOIN funds f ON f.id = s.etf_id
        WHERE s.trading_day BETWEEN $1 AND $2),
    rates AS MATERIALIZED (
        SELECT k.currency, k.trading_day, fx.rate
        FROM (SELECT DISTINCT currency, trading_day FROM rows) k
        LEFT JOIN LATERAL public.fx_rate_rows(k.currency, $6::char(3), k.trading_day) fx ON true),
    totals AS (
        SELECT r.etf_id, $6 AS currency,
               sum(round(r.net_creation_value * x.rate, 2)) AS net_creation_value,
               sum(r.net_creation_units) AS net_creation_units,
               count(*)::int AS trading_days, min(r.trading_day) AS first_day,
               max(r.trading_day) AS last_day
        FROM rows r JOIN rates x USING (currency, trading_day)
        GROUP BY r.etf_id)
    SELECT (row_number() OVER (
                ORDER BY CASE WHEN $8 THEN t.net_creation_value END ASC,
                         CASE WHEN NOT $8 THEN t.net_creation_value END DESC,
                         e.mic, e.code))::int AS rank,
           t.etf_id, t.currency, t.net_creation_value, t.net_creation_units, t.trading_days,
           t.first_day, t.last_day
    FROM totals t JOIN public.etfs e ON e.id = t.etf_id
    ORDER BY rank
    LIMIT $7
$$;

-- Q6: AUM on the last trading day of each period, converted at that day's rate, as a computed
-- column `Etf.aumHistory(interval:, currency:, fromDay:, toDay:)`.
CREATE TYPE bench_pg.aum_point AS (
    period_start date,
    trading_day date,
    native_currency text,
    native_aum numeric,
    currency text,
    aum numeric,
    fx_rate numeric,
    fx_rate_date date
);

CREATE FUNCTION bench_pg.etfs_aum_history(
    e public.etfs, "interval" text DEFAULT 'month', currency text DEFAULT 'HKD',
    from_day date DEFAULT NULL, to_day date DEFAULT NULL)
RETURNS SETOF bench_pg.aum_point
LANGUAGE sql STABLE AS $$
    SELECT p.period_start, p.trading_day, p.currency::text, p.aum,
           coalesce($3, p.currency::text), round(p.aum * fx.rate, 2), fx.rate, fx.rate_day
    FROM (
        SELECT DISTINCT ON (date_trunc($2, s.trading_day))
               date_trunc($2, s.trading_day)::date AS period_start, s.trading_day, s.currency, s.aum
        FROM public.etf_daily_stats s
        WHERE s.etf_id = e.id
          AND ($4 IS NULL OR s.trading_day >= $4)
          AND ($5 IS NULL OR s.trading_day <= $5)
        ORDER BY date_trunc($2, s.trading_day), s.trading_day DESC
    ) p
    LEFT JOIN LATERAL public.fx_rate_rows(p.currency, coalesce($3, p.currency::text)::char(3),
                                          p.trading_day) fx ON true
    ORDER BY p.period_start
$$;

-- Q7: licences on an index in licence order (amber orders only by indexed columns, so the order
-- of our service, licence date then manager slug, needs a computed column `Index.licences`).
CREATE FUNCTION bench_pg.indices_licences(i public.indices)
RETURNS SETOF public.index_licences
LANGUAGE sql STABLE AS $$
    SELECT l.* FROM public.index_licences l
    JOIN public.asset_managers m ON m.id = l.manager_id
    WHERE l.index_id = i.id
    ORDER BY l.licensed_on, m.slug
$$;

-- Q7: the funds a licensee lists on the licensed index, and whether there is at least one.
CREATE FUNCTION bench_pg.index_licences_products(l public.index_licences)
RETURNS SETOF public.etfs
LANGUAGE sql STABLE AS $$
    SELECT e.* FROM public.etfs e
    WHERE e.index_id = l.index_id AND e.issuer_id = l.manager_id
    ORDER BY e.mic, e.code
$$;

CREATE FUNCTION bench_pg.index_licences_has_launched_product(l public.index_licences)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM public.etfs e
                   WHERE e.index_id = l.index_id AND e.issuer_id = l.manager_id)
$$;

-- Q9: indices holding a security on a date, heaviest first (`Security.memberships(asOf:)`).
CREATE FUNCTION bench_pg.securities_memberships(s public.securities, as_of date)
RETURNS SETOF public.index_memberships
LANGUAGE sql STABLE AS $$
    SELECT m.* FROM public.index_memberships m
    WHERE m.security_id = s.id AND m.period @> $2
    ORDER BY m.weight_pct DESC, m.index_id, m.effective_from
$$;

-- L1: a fund's AUM on its latest day on or before today in Hong Kong, in HKD by the money rule, as a
-- computed column the list can be sorted and filtered by (`orderBy: LATEST_AUM_DESC`). A sortable
-- computed column takes no argument but the row, so the day and the currency are fixed here; ours
-- takes them as the list's `asOf` and `currency` (defaults: the same).
CREATE FUNCTION bench_pg.etfs_latest_aum(e public.etfs)
RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT fx.value
    FROM (SELECT s.aum, s.currency, s.trading_day FROM public.etf_daily_stats s
          WHERE s.etf_id = e.id AND s.trading_day <= (now() AT TIME ZONE 'Asia/Hong_Kong')::date
          ORDER BY s.trading_day DESC LIMIT 1) s
    CROSS JOIN LATERAL public.money_convert(s.aum, s.currency, 'HKD'::char(3), s.trading_day) fx
$$;
COMMENT ON FUNCTION bench_pg.etfs_latest_aum(public.etfs) IS '@behavior +orderBy +filterBy';
