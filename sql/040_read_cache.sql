-- Cache paths of the read API, with rows put straight into the catalog at
-- chosen ages (fresh 1 day, stale 40 days, expired 90 days, imported but never
-- fetched).  Missing keys are read with wait => 0: whether the worker runs
-- (pending) or not (error WORKER_NOT_RUNNING), nothing blocks.
SET timezone = 'UTC';
INSERT INTO brickcat.item (item_type, item_no, name, category_id, weight, dim_x, dim_y, dim_z,
                           year_released, is_obsolete, description, fetched_at, origin) VALUES
  ('PART', '3001', 'Brick 2 x 4', 5, 2.32, 2, 4, 1.2, 1958, false, 'A classic', brickcat.now() - interval '1 day', 'api'),
  ('PART', '3002', 'Brick 2 x 3', 5, 1.71, 2, 3, 1.2, 1958, false, NULL, brickcat.now() - interval '40 days', 'api'),
  ('PART', '3003', 'Brick 2 x 2', 5, 1.17, 2, 2, 1.2, 1958, false, NULL, brickcat.now() - interval '90 days', 'api'),
  ('PART', '3004', 'Brick 1 x 2', 5, 0.8, 1, 2, 1.2, 1958, false, NULL, NULL, 'import'),
  ('SET',  '6020-1', 'Magic Flyers', 65, NULL, NULL, NULL, NULL, 1996, true, NULL, brickcat.now() - interval '2 days', 'api');
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at) VALUES
  ('PART', '3001', brickcat.now() - interval '1 day'),
  ('PART', '3002', brickcat.now() - interval '1 day'),
  ('PART', '3003', NULL);
INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity) VALUES
  ('PART', '3001', 1, 5120), ('PART', '3001', 5, 3310), ('PART', '3001', 11, 4400);
INSERT INTO brickcat.color (color_id, color_name, color_code, color_type) VALUES
  (1, 'White', 'FFFFFF', 'Solid'), (5, 'Red', 'C91A09', 'Solid');
INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition, currency,
                                  min_price, max_price, avg_price, qty_avg_price,
                                  unit_quantity, total_quantity, fetched_at) VALUES
  ('PART', '3001', 0, 'sold', 'N', 'USD', 0.01, 1.50, 0.12, 0.10, 812, 20400, brickcat.now() - interval '1 day'),
  ('PART', '3001', 5, 'stock', 'U', 'USD', 0.02, 0.90, 0.09, 0.07, 300, 9100, brickcat.now() - interval '45 days'),
  ('PART', '3001', 5, 'stock', 'U', 'EUR', 0.02, 0.80, 0.08, 0.06, 30, 910, brickcat.now() - interval '45 days');

-- fresh: every catalog column, color ids, annotations
SELECT item_type, item_no, name, category_id, weight, dim_x, dim_y, dim_z, year_released,
       is_obsolete, decoration, is_printed, description, origin, color_ids, freshness, source,
       error_code, error_message,
       fetched_at = (SELECT fetched_at FROM brickcat.item WHERE item_no = '3001') AS fetched_at_ok,
       next_refresh_at = fetched_at + interval '30 days' AS next_refresh_ok
  FROM brickcat.get_item('3001');
SELECT item_no, name, source FROM brickcat.part('3001');

-- the result has every column of brickcat.item, same names and types, in order
-- (but the item row's copy of its known colors, served as color_ids)
SELECT a.attname, a.atttypid::regtype
  FROM pg_attribute a
 WHERE a.attrelid = 'brickcat.item'::regclass AND a.attnum > 0 AND NOT a.attisdropped
   AND a.attname NOT IN ('colors_copy_fetched_at', 'color_ids_copy')
EXCEPT
SELECT a.attname, a.atttypid::regtype
  FROM pg_attribute a
 WHERE a.attrelid = 'brickcat.item_read'::regclass AND a.attnum > 0;

-- item types are case-insensitive and normalised
SELECT item_type, item_no, name, freshness, source FROM brickcat.get_item('6020-1', 'set');

-- stale: served now, a background refresh requested, nothing wrong
SELECT item_no, name, color_ids, freshness, source, error_code, error_message
  FROM brickcat.get_item('3002');

-- expired: with wait 0 the last-known-good row is served as fallback, with a reason
SELECT item_no, name, color_ids, freshness, source, error_message IS NOT NULL AS explained,
       error_message LIKE 'serving last-known-good data fetched at %' AS says_last_known_good
  FROM brickcat.get_item('3003', wait => '0');

-- imported but never fetched: data is served as fallback, freshness missing
SELECT item_no, name, origin, freshness, source, fetched_at, error_message LIKE 'serving data never refreshed%' AS says_why
  FROM brickcat.get_item('3004', wait => '0');

-- missing: no data, never blocks with wait 0
SELECT item_type, item_no, name, color_ids, freshness, source IN ('pending', 'error') AS pending_or_error,
       error_message IS NOT NULL AS explained
  FROM brickcat.get_item('3005', wait => '0');

-- known colors: one row per color, names and RGB from brickcat.color (11 is unknown there)
SELECT color_id, color_name, rgb, quantity, freshness, source, error_code
  FROM brickcat.get_known_colors('3001') ORDER BY color_id;
-- colors never fetched: one row with NULL color columns carrying the annotations
SELECT color_id, color_name, freshness, source IN ('pending', 'error') AS pending_or_error
  FROM brickcat.get_known_colors('3003', wait => '0');

-- prices: fresh sold guide, stale stock guide (USD preferred over EUR), missing guide
SELECT item_no, color_id, guide_type, condition, currency, min_price, avg_price, unit_quantity,
       has_sales, freshness, source, error_code
  FROM brickcat.get_price('3001');
SELECT item_no, color_id, guide_type, condition, currency, avg_price, freshness, source
  FROM brickcat.get_price('3001', 5, 'stock', 'u');
SELECT item_no, color_id, guide_type, condition, currency, freshness,
       source IN ('pending', 'error') AS pending_or_error
  FROM brickcat.get_price('3001', 11, 'sold', 'N', wait => '0');

-- batches: input order, duplicates answered once, missing keys marked
SELECT item_no, name, freshness, source IN ('cache', 'stale', 'fallback') AS has_data
  FROM brickcat.get_items(ARRAY['3003', '3001', '3002', '3001', '3999'], wait => '0');
SELECT count(*) FROM brickcat.get_items('{}');
SELECT item_no, color_id, guide_type, condition, currency, freshness, source IN ('cache', 'stale') AS cached
  FROM brickcat.get_prices(ARRAY['3001', '3002'], wait => '0');
SELECT item_no, color_id, guide_type, condition, avg_price, freshness
  FROM brickcat.get_prices(ARRAY['3001', '3001'], ARRAY[5, 0], 'stock', 'U', wait => '0');

-- validate_freshness: item, colors and each stored guide, with what was queued
SELECT item_no, dataset, target, freshness, queued,
       next_refresh_at = coalesce(fetched_at + interval '30 days', next_refresh_at) AS due_ok
  FROM brickcat.validate_freshness(ARRAY['3001', '3002', '3003', '3001'])
 ORDER BY item_no, dataset, target;

-- catalog freshness, counted by timestamp ranges
SELECT * FROM brickcat.stat_freshness ORDER BY dataset;
