-- pgTAP: the BrickLink budget (brickcat.quota_try_acquire, brickcat.quota):
-- exact sliding 24-hour window, class shares, burst limit, rollback,
-- throttle pause.  Debits are made far in the test clock's future, where the
-- worker's own debits (at the real time) are outside the window.
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET timezone = 'UTC';
\set QUIET off
SELECT plan(34);

-- acquire(priority, calls) debits one call at a time and returns how many
-- were granted.
CREATE FUNCTION pg_temp.acquire(prio brickcat.priority, calls integer) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    granted bigint := 0;
BEGIN
    FOR i IN 1 .. calls LOOP
        IF (SELECT ok FROM brickcat.quota_try_acquire(prio)) THEN
            granted := granted + 1;
        END IF;
    END LOOP;
    RETURN granted;
END
$$;

SET brickcat.daily_quota = 300;
SET brickcat.max_calls_per_second = 0;
SET brickcat.clock_offset = '1000 days';

-- A rolled-back debit is returned.
BEGIN;
SELECT is((SELECT ok FROM brickcat.quota_try_acquire('interactive', 5)), true, 'debit 5 in a transaction');
ROLLBACK;
SELECT is((SELECT calls_24h FROM brickcat.quota), 0::bigint, 'a rolled-back debit is returned');

-- Class shares: background stops at 60 %, on_demand at 90 %, interactive at 100 %.
SELECT is(pg_temp.acquire('background', 400), 180::bigint, 'background gets exactly 60 % of 300');
SELECT results_eq($$SELECT ok, reason FROM brickcat.quota_try_acquire('background')$$,
                  $$VALUES (false, 'CLASS_SHARE')$$, 'then background is refused for its share');
SET brickcat.clock_offset = '1000 days 12 hours';
SELECT is(pg_temp.acquire('on_demand', 400), 90::bigint, 'on_demand gets up to 90 % (the 80 % warning is logged once)');
SELECT is(pg_temp.acquire('interactive', 400), 30::bigint, 'interactive gets the rest: exactly 300 in all');
SELECT results_eq($$SELECT ok, reason, retry_at = (SELECT min(call_at) + interval '24 hours 0.000001 s'
                                                      FROM brickcat.quota_ledger WHERE call_at > now() + interval '999 days')
                      FROM brickcat.quota_try_acquire('interactive')$$,
                  $$VALUES (false, 'QUOTA_EXHAUSTED', true)$$,
                  'exhausted: retry the instant the oldest call leaves the 24-hour window');
SELECT results_eq($$SELECT quota, calls_24h, remaining, interactive_calls, on_demand_calls, background_calls,
                           background_limit, on_demand_limit, reserved, percent_used FROM brickcat.quota$$,
                  $$VALUES (300, 300::bigint, 0::bigint, 30::bigint, 90::bigint, 180::bigint, 180, 270, 120, 100.0)$$,
                  'brickcat.quota shows the budget used up, per class');
SELECT is((SELECT next_free_slot FROM brickcat.quota),
          (SELECT min(call_at) + interval '24 hours 0.000001 s' FROM brickcat.quota_ledger WHERE call_at > now() + interval '999 days'),
          'next free slot: when the oldest call leaves the window');
SELECT is((SELECT sum(calls) FROM brickcat.quota_ledger WHERE call_at > now() + interval '999 days'), 300::bigint,
          'the ledger holds one row per granted call');

-- The window slides: at 24 h + 1 min the 180 background calls have left it.
SET brickcat.clock_offset = '1000 days 23 hours 59 minutes';
SELECT is(pg_temp.acquire('interactive', 10), 0::bigint, 'a minute before the first calls expire: nothing');
SET brickcat.clock_offset = '1001 days 00:01';
SELECT is((SELECT calls_24h FROM brickcat.quota), 120::bigint, 'a day later only the later 120 calls count');
SELECT is(pg_temp.acquire('background', 400), 60::bigint, 'background may again use up to its share: 60 more');
SELECT is(pg_temp.acquire('interactive', 400), 120::bigint, 'and interactive the rest: 300 in the last 24 hours');
SET brickcat.clock_offset = '1001 days 12:00:30';
SELECT is((SELECT calls_24h FROM brickcat.quota), 180::bigint, 'half a day later the 120 calls of day one noon left');
SELECT is(pg_temp.acquire('interactive', 400), 120::bigint, 'exactly as many calls as left the window are granted');
SELECT is((SELECT max(n) FROM (
             SELECT (SELECT sum(calls) FROM brickcat.quota_ledger l2
                      WHERE l2.call_at BETWEEN l1.call_at AND l1.call_at + interval '24 hours') AS n
               FROM brickcat.quota_ledger l1 WHERE l1.call_at > now() + interval '999 days') w),
          300::bigint, 'no 24-hour interval of the ledger holds more than the quota');
SELECT is((SELECT background_calls FROM brickcat.quota), 60::bigint, 'calls per class follow the window');

-- Burst limit: at most brickcat.max_calls_per_second in any second.
SET brickcat.max_calls_per_second = 2;
SET brickcat.clock_offset = '1100 days';
SELECT is(pg_temp.acquire('interactive', 5), 2::bigint, 'two calls in the same second');
SELECT results_eq($$SELECT ok, reason, retry_at - brickcat.now() BETWEEN interval '0' AND interval '1 s'
                      FROM brickcat.quota_try_acquire('interactive')$$,
                  $$VALUES (false, 'BURST', true)$$, 'the third waits for the second to end');
SET brickcat.clock_offset = '1100 days 1.5 s';
SELECT is(pg_temp.acquire('interactive', 5), 2::bigint, 'a second and a half later two more');
SELECT is((SELECT ok FROM brickcat.quota_try_acquire('interactive', 3)), false,
          'a batch above the burst limit waits for an empty second');
SET brickcat.clock_offset = '1100 days 3 s';
SELECT is((SELECT ok FROM brickcat.quota_try_acquire('interactive', 3)), true, 'and then goes alone');
SET brickcat.max_calls_per_second = 0;

-- Throttling pauses every class (a short real-time pause: the worker shares it).
RESET brickcat.clock_offset;
SELECT lives_ok($$SELECT brickcat.quota_note_throttle(clock_timestamp() + interval '2 s')$$, 'note a throttle');
SELECT results_eq($$SELECT ok, reason FROM brickcat.quota_try_acquire('interactive')$$,
                  $$VALUES (false, 'THROTTLED')$$, 'while paused every call is refused');
SELECT ok(throttled_until > clock_timestamp() AND throttle_events_24h >= 1, 'brickcat.quota shows the pause and the event')
  FROM brickcat.quota;
SET brickcat.clock_offset = '1200 days';
SELECT is((SELECT ok FROM brickcat.quota_try_acquire('interactive')), true, 'after the pause calls go out again');
SELECT is((SELECT reason FROM brickcat.quota_try_acquire('interactive')), NULL, 'granted calls have no reason');

-- Arguments.
SELECT throws_ok($$SELECT * FROM brickcat.quota_try_acquire('interactive', 0)$$, '22023',
                 'ncalls must be positive, not 0', 'ncalls 0');
SELECT throws_ok($$SELECT * FROM brickcat.quota_try_acquire(NULL)$$, '22004', NULL, 'NULL priority');
SELECT throws_ok($$SELECT * FROM brickcat.quota_try_acquire('urgent')$$, '22P02', NULL, 'unknown class');
SELECT is((SELECT quota FROM brickcat.quota), 300, 'brickcat.daily_quota sets the quota');
SELECT is(has_function_privilege('public', 'brickcat.quota_try_acquire(brickcat.priority, integer, text)', 'EXECUTE'),
          false, 'PUBLIC may not spend quota');

-- Leave no future debits behind for the worker.
RESET brickcat.clock_offset;
DELETE FROM brickcat.quota_ledger WHERE call_at > now() + interval '1 hour';
UPDATE brickcat.quota_state SET horizon = '-infinity';
SELECT is((SELECT calls_24h FROM brickcat.quota) < 300, true, 'the test''s debits are gone');

SELECT * FROM finish();
