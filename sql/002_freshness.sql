-- Freshness classification at the boundaries, with default and custom windows.
SET timezone = 'UTC';
SHOW brickcat.stale_after;
SHOW brickcat.expire_after;

SELECT brickcat.freshness(now() - interval '30 days') AS thirty_days_is_stale;

WITH t(label, fetched) AS (VALUES
    ('never fetched',        NULL::timestamptz),
    ('just now',             '2026-06-01 12:00:00+00'),
    ('29d 23:59:59',         '2026-06-01 12:00:00+00'::timestamptz - interval '29 days 23:59:59'),
    ('30d exactly',          '2026-06-01 12:00:00+00'::timestamptz - interval '30 days'),
    ('30d 00:00:01',         '2026-06-01 12:00:00+00'::timestamptz - interval '30 days 1 second'),
    ('59d 23:59:59',         '2026-06-01 12:00:00+00'::timestamptz - interval '59 days 23:59:59'),
    ('60d exactly',          '2026-06-01 12:00:00+00'::timestamptz - interval '60 days'),
    ('60d 00:00:01',         '2026-06-01 12:00:00+00'::timestamptz - interval '60 days 1 second'),
    ('one second ahead',     '2026-06-01 12:00:01+00'),
    ('a year ahead (skew)',  '2027-06-01 12:00:00+00'),
    ('infinity',             'infinity'),
    ('-infinity',            '-infinity'),
    ('ancient',              '4713-01-01 00:00:00+00 BC'))
SELECT label, brickcat.freshness(fetched, '2026-06-01 12:00:00+00') AS freshness
  FROM t;

-- as_of at the infinities
SELECT brickcat.freshness('2026-01-01', 'infinity') AS as_of_infinity,
       brickcat.freshness('2026-01-01', '-infinity') AS as_of_minus_infinity,
       brickcat.freshness(NULL, 'infinity') AS null_is_missing;

-- next_refresh_at: when the row stops being fresh; now for missing data
SELECT brickcat.next_refresh_at('2026-06-01 12:00:00+00') AS next_refresh,
       brickcat.next_refresh_at(NULL) = now() AS missing_is_due_now,
       brickcat.next_refresh_at('infinity') AS never,
       brickcat.next_refresh_at('294276-12-20 00:00:00+00') AS overflow_is_never;

-- Custom windows, per session, with the same one-second boundaries.
SET brickcat.stale_after = '7 days';
SET brickcat.expire_after = '14 days';
SELECT brickcat.freshness('2026-06-01 12:00:00+00'::timestamptz - d, '2026-06-01 12:00:00+00') AS f, d
  FROM unnest(ARRAY['6 days 23:59:59', '7 days', '13 days 23:59:59', '14 days']::interval[]) AS d;
SET brickcat.stale_after = '90 min';
SET brickcat.expire_after = 'PT2H';
SELECT brickcat.freshness(now() - interval '89 minutes') AS f89,
       brickcat.freshness(now() - interval '90 minutes') AS f90,
       brickcat.freshness(now() - interval '2 hours') AS f120;
RESET brickcat.stale_after;
RESET brickcat.expire_after;

-- Bad windows are refused with a clear error.
SET brickcat.stale_after = '60 days';
SET brickcat.expire_after = '30 days';
SET brickcat.expire_after = '0';
SET brickcat.stale_after = '-1 day';
SET brickcat.stale_after = 'soon';
SET brickcat.stale_after = '';
SHOW brickcat.stale_after;

-- Freshness is computed, never stored: the same row changes class with time.
CREATE TEMP TABLE f AS SELECT now() - interval '29 days' AS fetched_at;
SELECT brickcat.freshness(fetched_at) AS today,
       brickcat.freshness(fetched_at, now() + interval '1 day') AS tomorrow,
       brickcat.freshness(fetched_at, now() + interval '31 days') AS next_month
  FROM f;
