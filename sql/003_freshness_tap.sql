-- pgTAP: freshness classification properties over many generated ages.
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET timezone = 'UTC';
\set QUIET off
SELECT plan(12);

SELECT has_type('brickcat', 'freshness', 'type brickcat.freshness exists');
SELECT enum_has_labels('brickcat', 'freshness', ARRAY['fresh', 'stale', 'expired', 'missing'],
                       'freshness labels in order');
SELECT function_returns('brickcat', 'freshness', ARRAY['timestamp with time zone', 'timestamp with time zone'],
                        'brickcat.freshness', 'freshness() returns brickcat.freshness');
SELECT is(brickcat.freshness(now() - interval '30 days'), 'stale', 'exactly 30 days ago is stale');
SELECT is(brickcat.freshness(now() - interval '60 days'), 'expired', 'exactly 60 days ago is expired');
SELECT is(brickcat.freshness(NULL::timestamptz), 'missing', 'never fetched is missing');

-- Every age from -5 to 100 days in 7-hour steps agrees with the definition.
SELECT is(count(*), 0::bigint, 'classification matches the windows for 364 ages')
  FROM generate_series(-120, 2400, 7) AS h,
       LATERAL (SELECT '2026-06-01 00:00+00'::timestamptz - make_interval(hours => h) AS f) x
 WHERE brickcat.freshness(f, '2026-06-01 00:00+00') IS DISTINCT FROM
       CASE WHEN h < 30 * 24 THEN 'fresh'
            WHEN h < 60 * 24 THEN 'stale'
            ELSE 'expired' END::brickcat.freshness;

-- Monotone: older data is never fresher.
SELECT is(count(*), 0::bigint, 'freshness never improves with age')
  FROM (SELECT brickcat.freshness('2026-06-01 00:00+00'::timestamptz - make_interval(mins => m),
                                  '2026-06-01 00:00+00') AS f,
               lag(brickcat.freshness('2026-06-01 00:00+00'::timestamptz - make_interval(mins => m),
                                      '2026-06-01 00:00+00')) OVER (ORDER BY m) AS prev
          FROM generate_series(0, 100 * 24 * 60, 97) AS m) s
 WHERE f < prev;

SELECT is(brickcat.next_refresh_at('2026-06-01 00:00+00'), '2026-07-01 00:00+00'::timestamptz,
          'next refresh is fetched_at + stale_after');
SELECT throws_ok($$SET brickcat.expire_after = '1 day'$$, '22023', NULL,
                 'expire_after below stale_after is refused');
SELECT lives_ok($$SET brickcat.stale_after = '1 hour'$$, 'a shorter stale window is accepted');
SELECT is(brickcat.freshness(now() - interval '2 hours'), 'stale', 'the new window applies at once');

SELECT * FROM finish();
