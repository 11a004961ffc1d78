-------------------------------------------------------------------------------
-- Metrics (src/stats.c)
-------------------------------------------------------------------------------
CREATE FUNCTION brickcat.stat_cache(
    OUT hits bigint, OUT stale_served bigint, OUT fallbacks bigint, OUT pending bigint,
    OUT not_found bigint, OUT errors bigint, OUT upstream_served bigint,
    OUT coalesced_waits bigint, OUT memo_hits bigint, OUT waits bigint,
    OUT wait_time_ms double precision, OUT requests bigint, OUT request_overflow bigint,
    OUT stats_reset timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_stat_cache_sql' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.stat_cache() IS
  'Read-path counters since brickcat.stats_reset() (shared memory; zero when brickcat is not preloaded)';

CREATE VIEW brickcat.stat_cache AS SELECT * FROM brickcat.stat_cache();
COMMENT ON VIEW brickcat.stat_cache IS
  'Reads served per source (hits = fresh from cache, stale, fallbacks, pending, not_found, errors, upstream), requests joined by concurrent readers (coalesced_waits), memo hits, waits and their total time, on-demand requests and those that overflowed into the queue table';

CREATE FUNCTION brickcat.stats_reset() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'bc_stats_reset_sql' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.stats_reset() IS
  'Zeroes brickcat''s cache and upstream counters; returns the reset time (brickcat_admin and superusers)';

CREATE FUNCTION brickcat.stat_freshness(
    OUT dataset text, OUT fresh bigint, OUT stale bigint, OUT expired bigint,
    OUT missing bigint, OUT total bigint)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ts  timestamptz := brickcat.now();
    stale_b timestamptz := now_ts - extract(epoch FROM current_setting('brickcat.stale_after')::interval)
                                    * interval '1 second';
    exp_b   timestamptz := now_ts - extract(epoch FROM current_setting('brickcat.expire_after')::interval)
                                    * interval '1 second';
BEGIN
    -- Counted by ranges of the timestamp (index scans on the freshness
    -- indexes), not by classifying every row.
    RETURN QUERY
    SELECT x.d, x.f, x.s, x.e, x.m, x.f + x.s + x.e + x.m FROM (SELECT 'item'::text,
           (SELECT count(*) FROM brickcat.item WHERE fetched_at > stale_b),
           (SELECT count(*) FROM brickcat.item WHERE fetched_at > exp_b AND fetched_at <= stale_b),
           (SELECT count(*) FROM brickcat.item WHERE fetched_at <= exp_b),
           (SELECT count(*) FROM brickcat.item WHERE fetched_at IS NULL),
           0) AS x(d, f, s, e, m, z);
    RETURN QUERY
    SELECT x.d, x.f, x.s, x.e, x.m, x.f + x.s + x.e + x.m FROM (SELECT 'colors'::text,
           (SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at > stale_b),
           (SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at > exp_b AND colors_fetched_at <= stale_b),
           (SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at <= exp_b),
           (SELECT count(*) FROM brickcat.item i
             WHERE NOT EXISTS (SELECT FROM brickcat.item_color_set s
                                WHERE s.item_type = i.item_type AND s.item_no = i.item_no
                                  AND s.colors_fetched_at IS NOT NULL)),
           0) AS x(d, f, s, e, m, z);
    RETURN QUERY
    SELECT x.d, x.f, x.s, x.e, x.m, x.f + x.s + x.e + x.m FROM (SELECT 'price'::text,
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at > stale_b),
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at > exp_b AND fetched_at <= stale_b),
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at <= exp_b),
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at IS NULL),
           0) AS x(d, f, s, e, m, z);
END
$$;
COMMENT ON FUNCTION brickcat.stat_freshness() IS
  'How much of the catalog is fresh, stale, expired or missing, per dataset (item, colors, price)';

CREATE VIEW brickcat.stat_freshness AS SELECT * FROM brickcat.stat_freshness();
COMMENT ON VIEW brickcat.stat_freshness IS
  'How much of the catalog is fresh, stale, expired or missing per dataset; colors.missing counts catalog items whose color list was never fetched, price.missing guides with failed attempts only';

CREATE FUNCTION brickcat.upstream_state(
    OUT breaker_state text, OUT breaker_failures integer, OUT breaker_changed_at timestamptz,
    OUT throttled_until timestamptz, OUT auth_failed boolean, OUT throttles bigint,
    OUT backoffs bigint, OUT retries bigint, OUT breaker_opens bigint)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_upstream_state_sql' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.upstream_state() IS
  'The worker''s view of BrickLink from shared memory: circuit breaker, throttle pause, rejected credentials, and throttle/backoff/retry/breaker counters since brickcat.stats_reset()';

CREATE VIEW brickcat.stat_upstream AS
SELECT s.*, u.breaker_state, u.throttled_until, u.auth_failed
  FROM (SELECT CASE WHEN grouping(c.endpoint) = 1 THEN 'all' ELSE c.endpoint::text END AS endpoint,
               count(*) AS calls,
               count(*) FILTER (WHERE c.outcome = 'ok') AS ok,
               count(*) FILTER (WHERE c.outcome = 'not_found') AS not_found,
               count(*) FILTER (WHERE c.outcome = 'throttled') AS throttled,
               count(*) FILTER (WHERE c.outcome NOT IN ('ok', 'not_found', 'throttled')) AS failed,
               count(*) FILTER (WHERE c.outcome IS NULL) AS in_flight,
               count(*) FILTER (WHERE c.attempt > 1) AS retries,
               round((percentile_cont(0.5) WITHIN GROUP (ORDER BY c.duration_us) / 1000)::numeric, 1) AS p50_ms,
               round((percentile_cont(0.95) WITHIN GROUP (ORDER BY c.duration_us) / 1000)::numeric, 1) AS p95_ms,
               round((percentile_cont(0.99) WITHIN GROUP (ORDER BY c.duration_us) / 1000)::numeric, 1) AS p99_ms,
               round((max(c.duration_us) / 1000.0)::numeric, 1) AS max_ms,
               min(c.started_at) AS since
          FROM brickcat.api_call c
         GROUP BY GROUPING SETS ((c.endpoint), ())) s
 CROSS JOIN brickcat.upstream_state() u;
COMMENT ON VIEW brickcat.stat_upstream IS
  'BrickLink calls per endpoint from the call log brickcat.api_call (outcomes, retries, latency percentiles), a total row ''all'', and the breaker/throttle/credential state';
