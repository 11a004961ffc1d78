-- brickcat.stat_cache counts every read by what it served.
SELECT brickcat.stats_reset() IS NOT NULL AS reset;
SELECT hits, stale_served, fallbacks, memo_hits, waits, stats_reset > now() - interval '1 minute' AS reset_recently
  FROM brickcat.stat_cache;
SELECT source FROM brickcat.get_item('3001');
SELECT source FROM brickcat.get_item('3002');
SELECT source FROM brickcat.get_item('3003', wait => '0');
SELECT count(*) FROM brickcat.get_items(ARRAY['3001', '3001', '3002', '3010'], wait => '0');
SELECT hits, stale_served, fallbacks, pending + errors AS pending_or_error, memo_hits
  FROM brickcat.stat_cache;
-- stats_reset is for superusers (and those granted it)
SELECT has_function_privilege('public', 'brickcat.stats_reset()', 'execute') AS public_can_reset;
-- the views are documented and readable
SELECT count(*) FROM brickcat.stat_freshness;
-- upstream: per endpoint from the call log plus a total row, and the breaker
SELECT endpoint, calls >= 0 AS counted, breaker_state IS NOT NULL AS has_breaker
  FROM brickcat.stat_upstream WHERE endpoint = 'all';
SELECT breaker_state IN ('closed', 'open', 'half_open') AS breaker_known, auth_failed IS NOT NULL AS auth_known
  FROM brickcat.upstream_state();
