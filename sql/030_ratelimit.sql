-- pgTAP: brickcat.rate_limit arithmetic (token bucket, fixed window, shards,
-- reservations, rollback) and argument errors.  Time is moved with the test
-- clock brickcat.clock_offset; the wall clock advances by milliseconds during
-- the test, so waits are checked to the millisecond they can drift by.
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET timezone = 'UTC';
\set QUIET off
SELECT plan(50);

-- take(name, key, calls, reserve) calls brickcat.rate_limit calls times, one
-- token each, and returns how many calls were granted.
CREATE FUNCTION pg_temp.take(lim text, k text, calls integer, res boolean DEFAULT false)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    granted bigint := 0;
BEGIN
    FOR i IN 1 .. calls LOOP
        IF (SELECT ok FROM brickcat.rate_limit(lim, k, 1, res)) THEN
            granted := granted + 1;
        END IF;
    END LOOP;
    RETURN granted;
END
$$;

-- take_each does the same with one transaction per call, as applications do,
-- and records the number granted in take_result.
CREATE TABLE pg_temp.take_result (granted bigint);
CREATE PROCEDURE pg_temp.take_each(lim text, k text, calls integer, res boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    granted bigint := 0;
BEGIN
    FOR i IN 1 .. calls LOOP
        IF (SELECT ok FROM brickcat.rate_limit(lim, k, 1, res)) THEN
            granted := granted + 1;
        END IF;
        COMMIT;
    END LOOP;
    INSERT INTO pg_temp.take_result VALUES (granted);
END
$$;

-- Token bucket: 1 token a second, capacity 5.
SELECT lives_ok($$SELECT brickcat.define_rate_limit('tb', 'token_bucket', 10, '10 seconds', 5)$$,
                'define a token bucket');
SELECT is((SELECT available FROM brickcat.rate_limit_status('tb', 'a')), 5::numeric, 'a new key starts full');
SELECT is((SELECT next_token_at FROM brickcat.rate_limit_status('tb', 'a')), NULL, 'a full bucket has no next token');
SELECT is((SELECT ok FROM brickcat.rate_limit('tb', 'a', 5)), true, 'the whole capacity can be taken at once');
SELECT results_eq($$SELECT ok, retry_after > '0.9 s' AND retry_after <= '1 s' FROM brickcat.rate_limit('tb', 'a')$$,
                  $$VALUES (false, true)$$, 'empty: refused, retry after one token period');
SELECT is((SELECT ok FROM brickcat.rate_limit('tb', 'b')), true, 'keys are independent');

SET brickcat.clock_offset = '2.5 s';
SELECT is((SELECT ok FROM brickcat.rate_limit('tb', 'a', 2)), true, '2.5 s later two tokens are there');
SELECT results_eq($$SELECT ok, retry_after > '0.4 s' AND retry_after <= '0.5 s' FROM brickcat.rate_limit('tb', 'a')$$,
                  $$VALUES (false, true)$$, 'the half token left means half a period to wait');
SELECT ok(available >= 0.5 AND available < 0.6, 'status shows the fraction of the next token')
  FROM brickcat.rate_limit_status('tb', 'a');
SELECT ok(tokens = 0 AND frac >= 5000000 AND frac < 6000000,
          'the fraction is kept exactly, in 1/period_us units')
  FROM brickcat.rate_limit_state WHERE name = 'tb' AND key = 'a';

SET brickcat.clock_offset = '1 hour';
SELECT is((SELECT available FROM brickcat.rate_limit_status('tb', 'a')), 5::numeric, 'refill stops at the capacity');

-- Rollback returns the debit.
BEGIN;
SELECT is((SELECT ok FROM brickcat.rate_limit('tb', 'a', 4)), true, 'debit 4 in a transaction');
ROLLBACK;
SELECT is((SELECT available FROM brickcat.rate_limit_status('tb', 'a')), 5::numeric, 'a rolled-back debit is returned');

-- Reservations: debited now, bounded by max_reserved (default: the capacity).
SELECT is((SELECT ok FROM brickcat.rate_limit('tb', 'a', 5)), true, 'drain the bucket');
SELECT results_eq($$SELECT ok, retry_after > '1.9 s' AND retry_after <= '2 s' FROM brickcat.rate_limit('tb', 'a', 2, true)$$,
                  $$VALUES (true, true)$$, 'reserve 2: granted now, act in 2 s');
SELECT results_eq($$SELECT ok, retry_after > '4.9 s' AND retry_after <= '5 s' FROM brickcat.rate_limit('tb', 'a', 3, true)$$,
                  $$VALUES (true, true)$$, 'the next reservation queues behind it: act in 5 s');
SELECT results_eq($$SELECT ok, retry_after > '0.9 s' AND retry_after <= '1 s' FROM brickcat.rate_limit('tb', 'a', 1, true)$$,
                  $$VALUES (false, true)$$, 'beyond max_reserved: refused, retry when one more fits');
SELECT is((SELECT reserved FROM brickcat.rate_limit_status('tb', 'a')), 5::bigint, 'a refused reservation debits nothing');
SELECT results_eq($$SELECT ok FROM brickcat.rate_limit('tb', 'a')$$, $$VALUES (false)$$,
                  'without reserve, reserved tokens are not there');
SET brickcat.clock_offset = '1 hour 6 s';
SELECT is((SELECT floor(available) FROM brickcat.rate_limit_status('tb', 'a')), 1::numeric, 'reservations are paid off by the refill');

-- Exactness: 100,000 debits with a refill of 7 tokens per 3 s (an endless
-- fraction) keep tokens * period + frac = rate * elapsed - debits * period.
SELECT lives_ok($$SELECT brickcat.define_rate_limit('exact', 'token_bucket', 7, '3 seconds', 2147483647,
                                                    max_reserved => 2147483647)$$, 'define a slow bucket');
SELECT is((SELECT ok FROM brickcat.rate_limit('exact', '', 2147483647)), true, 'drain it');
CREATE TEMP TABLE exact_start AS SELECT stamp FROM brickcat.rate_limit_state WHERE name = 'exact';
SET synchronous_commit = off;
CALL pg_temp.take_each('exact', '', 100000, true);
SELECT is(granted, 100000::bigint, '100,000 reserved debits granted, one transaction each') FROM pg_temp.take_result;
RESET synchronous_commit;
SELECT is(s.tokens::numeric * 3000000 + s.frac,
          7 * (extract(epoch FROM s.stamp - e.stamp) * 1000000) - 100000::numeric * 3000000,
          'no drift: the balance equals the exact refill minus the debits')
  FROM brickcat.rate_limit_state s, exact_start e WHERE s.name = 'exact';

-- Fixed window: 3 per minute, windows starting 10 s before now, rollover up to 5.
RESET brickcat.clock_offset;
SELECT lives_ok($$SELECT brickcat.define_rate_limit('fw', 'fixed_window', 3, '1 minute', 5,
                                                    window_start => brickcat.now() - interval '10 s')$$,
                'define a fixed window aligned 10 s ago');
SELECT is((SELECT ok FROM brickcat.rate_limit('fw', 'k', 3)), true, 'a new key gets one window''s allowance');
SELECT results_eq($$SELECT ok, retry_after > '49 s' AND retry_after <= '50 s' FROM brickcat.rate_limit('fw', 'k')$$,
                  $$VALUES (false, true)$$, 'exhausted: retry when the window ends, 50 s on');
SET brickcat.clock_offset = '49 s';
SELECT results_eq($$SELECT ok, retry_after > '0 s' AND retry_after <= '1 s' FROM brickcat.rate_limit('fw', 'k')$$,
                  $$VALUES (false, true)$$, 'a second before the edge: still refused');
SET brickcat.clock_offset = '51 s';
SELECT is((SELECT ok FROM brickcat.rate_limit('fw', 'k', 3)), true, 'a second after the edge: a new window');
SELECT is((SELECT ok FROM brickcat.rate_limit('fw', 'k')), false, 'and it holds 3 only');
SET brickcat.clock_offset = '171 s';
SELECT is((SELECT available FROM brickcat.rate_limit_status('fw', 'k')), 5::numeric,
          'two unused windows roll over, up to the capacity');
SELECT is((SELECT ok FROM brickcat.rate_limit('fw', 'k', 5)), true, 'the rolled-over allowance can be used');
SELECT results_eq($$SELECT ok, retry_after > '118 s' AND retry_after <= '119 s' FROM brickcat.rate_limit('fw', 'k', 4)$$,
                  $$VALUES (false, true)$$, 'four tokens need two more windows: retry at the end of the next one');
RESET brickcat.clock_offset;

-- Shards: 100 a day over 4 shards of 25; never more than 100 granted.
SELECT lives_ok($$SELECT brickcat.define_rate_limit('sh', 'token_bucket', 100, '1 day', shards => 4)$$,
                'define a sharded limit');
SELECT is(pg_temp.take('sh', 'x', 400), 100::bigint, 'single debits over 4 shards: exactly the limit granted');
SELECT is((SELECT sum(tokens) FROM brickcat.rate_limit_state WHERE name = 'sh' AND key = 'x'), 0::numeric,
          'every shard drained');
SELECT is((SELECT ok FROM brickcat.rate_limit('sh', 'y', 60)), true, 'a count above two shards combines all shards');
SELECT is((SELECT floor(available) FROM brickcat.rate_limit_status('sh', 'y')), 40::numeric, 'and took exactly 60');

-- Resetting and errors.
SELECT is(brickcat.reset_rate_limit('sh', 'x'), 4::bigint, 'reset removes the key''s shard rows');
SELECT is((SELECT available FROM brickcat.rate_limit_status('sh', 'x')), 100::numeric, 'a reset key is full');
SELECT throws_ok($$SELECT * FROM brickcat.rate_limit('nope')$$, '42704',
                 'rate limit "nope" does not exist', 'unknown limit');
SELECT throws_ok($$SELECT * FROM brickcat.rate_limit('tb', 'a', 0)$$, '22023',
                 'count must be positive, not 0', 'count 0');
SELECT throws_ok($$SELECT * FROM brickcat.rate_limit('tb', 'a', 6)$$, '22023',
                 'count 6 exceeds the capacity 5 of rate limit "tb"', 'count above the capacity');
SELECT throws_ok($$SELECT * FROM brickcat.rate_limit(NULL)$$, '22004', NULL, 'NULL name');
SELECT throws_ok($$SELECT brickcat.define_rate_limit('bad', 'token_bucket', -1, '1 s')$$, '22023',
                 'rate must be a positive number of tokens per period, not -1', 'negative rate');
SELECT throws_ok($$SELECT brickcat.define_rate_limit('bad', 'token_bucket', 1, '0 s')$$, '22023', NULL, 'zero period');
SELECT throws_ok($$SELECT brickcat.define_rate_limit('bad', 'leaky', 1, '1 s')$$, '22023',
                 'unknown rate limit kind "leaky"', 'unknown kind');
SELECT throws_ok($$SELECT brickcat.define_rate_limit('bad', 'token_bucket', 3, '1 s', shards => 4)$$, '22023', NULL,
                 'more shards than tokens');
SELECT throws_ok($$SELECT brickcat.define_rate_limit('bad', 'fixed_window', 3, '1 s', 2)$$, '22023', NULL,
                 'a fixed window smaller than its rate');
SELECT throws_ok($$SELECT brickcat.reset_rate_limit('nope')$$, '42704', NULL, 'reset of an unknown limit');

SELECT * FROM finish();
