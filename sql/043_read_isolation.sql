-- Under REPEATABLE READ and SERIALIZABLE the snapshot cannot see a fetch
-- that lands later, so reads never wait there: they request and answer.
SET timezone = 'UTC';
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT clock_timestamp() AS t0 \gset
SELECT item_no, name, source, freshness FROM brickcat.get_item('3003', wait => '3s');
SELECT source IN ('pending', 'error') AS pending_or_error, freshness
  FROM brickcat.get_item('3007', wait => '3s');
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1s' AS answered_at_once;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT clock_timestamp() AS t0 \gset
SELECT item_no, source IN ('fallback') AS fallback, source IN ('pending', 'error') AS pending_or_error
  FROM brickcat.get_items(ARRAY['3003', '3008'], wait => '3s');
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1s' AS answered_at_once;
COMMIT;
-- read-only transactions and functions work like any other read
BEGIN READ ONLY;
SELECT item_no, source FROM brickcat.get_item('3002');
SELECT source IN ('pending', 'error') AS pending_or_error FROM brickcat.get_item('3009', wait => '0');
COMMIT;
