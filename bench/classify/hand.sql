-- Hand-written DuckDB SQL: features → RFM quintile scores → ABC classes → lifecycle stage.
--
-- The same definitions as tierwise.analytics (rfm.py, abc.py, lifecycle.py, features.py), written
-- the way a DuckDB expert would tune them for this job:
--   * customer ids are zero-padded digits, so they are cast to BIGINT once and every join,
--     group and tie-break is on integers (string order = numeric order);
--   * money in integer cents (BIGINT) — the DECIMAL(18,2) amount is read as its cents;
--   * RFM: the score is floor(p·5/N)+1 for the position p in the order (value worst → best,
--     customer id ascending).  Pack (oriented value, id) into one BIGINT; the four bin edges are
--     quantile_disc of that key at 0.2 … 0.8 (a selection, not a sort; DuckDB's discrete
--     quantile with a DECIMAL fraction is exact integer arithmetic: element ceil(q·N) − 1, the
--     last key of the lower bin), and the score is 1 + the number of edges below the key;
--   * ABC: a running sum over the distinct cent values (largest first) finds, for each bound,
--     the one tie group the bound falls in and how many of its members (by id) are inside;
--     a customer's class is then a pair of comparisons, no join and no per-customer rank;
--   * last gap between purchase days: the per-customer list of the two largest distinct
--     purchase days, from a (customer, day) pre-aggregation that the COUNT(DISTINCT day)
--     needs anyway.
-- Placeholders: {txn}, {cust} (Parquet file lists), {asof} (day number of the as-of date),
-- {asof_end} (timestamp literal of the next midnight), {out} (result Parquet).

-- 1. features (one row per customer of the customers table)
CREATE OR REPLACE TEMP TABLE hf AS
WITH t AS (
    SELECT customer_id::BIGINT AS cid, epoch_us(txn_time) // 86400000000 AS day,
           (amount * 100)::BIGINT AS cents
    FROM read_parquet({txn})
    WHERE txn_time < {asof_end}
), daily AS (            -- one row per customer and day
    SELECT cid, day, sum(cents) AS cents, bool_or(cents > 0) AS buy
    FROM t GROUP BY cid, day
), cf AS (
    SELECT cid,
           count(*) FILTER (WHERE buy) AS purchase_days,
           min(day) FILTER (WHERE buy) AS first_day,
           max(day, 2) FILTER (WHERE buy) AS last_two,
           sum(cents) AS cents
    FROM daily GROUP BY cid
)
SELECT c.cid, c.open_date,
       coalesce(cf.purchase_days, 0) AS purchase_days,
       coalesce(cf.cents, 0) AS cents,
       {asof} - cf.last_two[1] AS recency_days,
       cf.last_two[1] - cf.first_day AS t_x,
       {asof} - cf.first_day AS "T",
       {asof} - coalesce(epoch_us(c.open_date::TIMESTAMP) // 86400000000, cf.first_day) AS tenure_days,
       cf.last_two[1] - cf.last_two[2] AS last_gap_days
FROM (SELECT customer_id::BIGINT AS cid, open_date FROM read_parquet({cust})) AS c
LEFT JOIN cf USING (cid);

-- 2. RFM edges and ABC cut-offs (tiny tables)
CREATE OR REPLACE TEMP TABLE rfm_edges AS
SELECT quantile_disc(((1048575 - recency_days) << 27) | cid, [0.2, 0.4, 0.6, 0.8]) AS er,
       quantile_disc((purchase_days::BIGINT << 27) | cid, [0.2, 0.4, 0.6, 0.8]) AS ef,
       quantile_disc(((cents + 34359738368) << 27) | cid, [0.2, 0.4, 0.6, 0.8]) AS em
FROM hf WHERE purchase_days > 0;

CREATE OR REPLACE TEMP TABLE abc_cuts AS
WITH g AS (
    SELECT cents AS c, count(*) AS cnt FROM hf WHERE cents > 0 GROUP BY cents
), r AS (
    SELECT c, cnt, sum(c * cnt) OVER (ORDER BY c DESC ROWS UNBOUNDED PRECEDING) - c * cnt AS before,
           sum(c * cnt) OVER () AS total
    FROM g
), b AS (
    SELECT * FROM (VALUES (0, 80), (1, 95)) AS v(k, pct)
)
-- per bound: the group where 100·cumulative first exceeds pct·total (the largest such value) and
-- how many of its members, by id, are still inside the bound
SELECT b.k, max(r.c) AS c, arg_max((b.pct * r.total - 100 * r.before) // (100 * r.c), r.c)::BIGINT AS m
FROM b JOIN r ON 100 * (r.before + r.c * r.cnt) > b.pct * r.total
GROUP BY b.k;

-- the id of the last member inside the bound (-1: none of the group)
CREATE OR REPLACE TEMP TABLE abc_cut_ids AS
SELECT x.k, x.c, coalesce(y.cid, -1) AS cid_cut
FROM abc_cuts AS x
LEFT JOIN (SELECT a.k, h.cid FROM hf AS h JOIN abc_cuts AS a ON h.cents = a.c
           QUALIFY row_number() OVER (PARTITION BY a.k ORDER BY h.cid) = a.m) AS y USING (k);

-- the packed keys need: ids < 2^27, 0 ≤ recency < 2^20, |cents| < 2^35
SELECT CASE WHEN max(cid) >= 134217728 OR min(recency_days) < 0 OR max(recency_days) >= 1048576
                 OR max(abs(cents)) >= 34359738368 THEN error('hand.sql: packed keys out of range') END
FROM hf;

-- 3. per-customer result
COPY (
    WITH e AS (SELECT * FROM rfm_edges),
         a AS (SELECT max(c) FILTER (WHERE k = 0) AS ca, max(cid_cut) FILTER (WHERE k = 0) AS ia,
                      max(c) FILTER (WHERE k = 1) AS cb, max(cid_cut) FILTER (WHERE k = 1) AS ib FROM abc_cut_ids)
    SELECT lpad(cid::VARCHAR, 10, '0') AS customer_id,
           CASE WHEN purchase_days > 0 THEN 1 + (kr > e.er[1])::INT + (kr > e.er[2])::INT + (kr > e.er[3])::INT
                                              + (kr > e.er[4])::INT END AS r_score,
           CASE WHEN purchase_days > 0 THEN 1 + (kf > e.ef[1])::INT + (kf > e.ef[2])::INT + (kf > e.ef[3])::INT
                                              + (kf > e.ef[4])::INT END AS f_score,
           CASE WHEN purchase_days > 0 THEN 1 + (km > e.em[1])::INT + (km > e.em[2])::INT + (km > e.em[3])::INT
                                              + (km > e.em[4])::INT END AS m_score,
           CASE WHEN cents > 0 AND (cents > coalesce(a.ca, -1) OR (cents = a.ca AND cid <= a.ia)) THEN 'A'
                WHEN cents > 0 AND (cents > coalesce(a.cb, -1) OR (cents = a.cb AND cid <= a.ib)) THEN 'B'
                ELSE 'C' END AS abc_class,
           CASE WHEN purchase_days = 0 THEN 'prospect'
                WHEN "T" <= 90 THEN 'new'
                WHEN recency_days > 365 THEN 'churned'
                WHEN CASE WHEN purchase_days > 1
                          THEN recency_days > greatest(t_x / (purchase_days - 1) * 2.0, 60.0)
                          ELSE recency_days > 180 END THEN 'at_risk'
                WHEN coalesce(last_gap_days, 0) > 365 THEN 'won_back'
                WHEN purchase_days >= 4 AND tenure_days >= 365 THEN 'loyal'
                ELSE 'growing' END AS lifecycle
    FROM (SELECT *, ((1048575 - recency_days) << 27) | cid AS kr, (purchase_days::BIGINT << 27) | cid AS kf,
                 ((cents + 34359738368) << 27) | cid AS km
          FROM hf) AS h, e, a
) TO {out} (FORMAT parquet);
