-- Within a transaction repeated reads of a key come from the memo: the same
-- answer, counted as memo hits, even after the row changes underneath.
SELECT brickcat.stats_reset() IS NOT NULL AS reset;
BEGIN;
SELECT item_no, name, source FROM brickcat.get_item('3001');
UPDATE brickcat.item SET name = 'Brick 2 x 4 (renamed)' WHERE item_no = '3001';
SELECT item_no, name, source FROM brickcat.get_item('3001');
SELECT item_no, name, source FROM brickcat.get_items(ARRAY['3001', '3002']);
SELECT item_no, avg_price, source FROM brickcat.get_price('3001');
SELECT item_no, avg_price, source FROM brickcat.get_price('3001');
SELECT count(*) FROM brickcat.get_known_colors('3001');
SELECT count(*) FROM brickcat.get_known_colors('3001');
SELECT hits, stale_served, memo_hits FROM brickcat.stat_cache;
COMMIT;
-- a new transaction reads the table again
SELECT item_no, name, source FROM brickcat.get_item('3001');
-- a rolled back transaction forgets its memo too
BEGIN;
SELECT name FROM brickcat.get_item('3002');
ROLLBACK;
SELECT hits, stale_served, memo_hits FROM brickcat.stat_cache;
UPDATE brickcat.item SET name = 'Brick 2 x 4' WHERE item_no = '3001';

-- a pending answer is reused only by reads that would not wait longer
BEGIN;
SELECT source IN ('pending', 'error') AS pending_or_error FROM brickcat.get_item('3006', wait => '0');
SELECT memo_hits FROM brickcat.stat_cache;
SELECT source IN ('pending', 'error') AS pending_or_error FROM brickcat.get_item('3006', wait => '0');
SELECT memo_hits FROM brickcat.stat_cache;
COMMIT;
