-- Reads raise only for bad arguments, with SQLSTATE 22023 (or 22004 for
-- NULLs, 54000 for oversized batches) and a hint.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; hint text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg || coalesce(' | HINT: ' || nullif(hint, ''), '');
END
$$;
SELECT pg_temp.try(q) FROM (VALUES
  ($$SELECT brickcat.get_item('3001', 'BRICK')$$),
  ($$SELECT brickcat.get_item('3001', '')$$),
  ($$SELECT brickcat.get_item('')$$),
  ($$SELECT brickcat.get_item(repeat('x', 65))$$),
  ($$SELECT brickcat.get_item(E'30\n01')$$),
  ($$SELECT brickcat.get_item(NULL)$$),
  ($$SELECT brickcat.get_item('3001', NULL)$$),
  ($$SELECT brickcat.get_item('3001', wait => '-1s')$$),
  ($$SELECT brickcat.get_item('3001', wait => '2 hours')$$),
  ($$SELECT brickcat.get_item('3001', wait => '1 year')$$),
  ($$SELECT brickcat.get_price('3001', -1)$$),
  ($$SELECT brickcat.get_price('3001', 0, 'sales')$$),
  ($$SELECT brickcat.get_price('3001', 0, 'sold', 'X')$$),
  ($$SELECT brickcat.get_price('3001', 0, 'sold', 'NU')$$),
  ($$SELECT brickcat.get_price('3001', NULL)$$),
  ($$SELECT brickcat.get_known_colors('3001', 'TRAIN')$$),
  ($$SELECT brickcat.get_items(ARRAY['3001', NULL])$$),
  ($$SELECT brickcat.get_items(ARRAY[['3001'], ['3002']])$$),
  ($$SELECT brickcat.get_items(array_fill('3001'::text, ARRAY[10001]))$$),
  ($$SELECT brickcat.get_items(NULL)$$),
  ($$SELECT brickcat.get_prices(ARRAY['3001', '3002'], ARRAY[1])$$),
  ($$SELECT brickcat.get_prices(ARRAY['3001'], ARRAY[NULL::int])$$),
  ($$SELECT brickcat.get_prices(ARRAY['3001'], -5)$$),
  ($$SELECT brickcat.validate_freshness(ARRAY['3001'], 'part ')$$),
  ($$SELECT brickcat.part(NULL)$$)
) AS t(q);

-- accepted spellings
SELECT pg_temp.try(q) FROM (VALUES
  ($$SELECT brickcat.get_item('3001', 'Part', wait => '0')$$),
  ($$SELECT brickcat.get_item('3001', wait => '1 hour')$$),
  ($$SELECT brickcat.get_price('3001', 0, 'STOCK', 'u', 'PART', '0')$$),
  ($$SELECT brickcat.get_items(array_fill('3001'::text, ARRAY[10000]), wait => '0')$$),
  ($$SELECT brickcat.get_prices('{3001}', '{5}'::int[], wait => '0')$$),
  ($$SELECT brickcat.get_item(repeat(U&'\00E9', 64), wait => '0')$$)
) AS t(q);
-- 64 characters is the limit, however many bytes they take
SELECT pg_temp.try($$SELECT brickcat.get_item(repeat(U&'\00E9', 65), wait => '0')$$);

-- brickcat.read_wait: the default wait, checked like every interval setting
SHOW brickcat.read_wait;
SET brickcat.read_wait = '250ms';
SHOW brickcat.read_wait;
SET brickcat.read_wait = '-1s';
SET brickcat.read_wait = 'soon';
RESET brickcat.read_wait;
SHOW brickcat.log_min_wait;
