-- Within a transaction, repeated reads of a key whose answer involved the
-- upstream machinery (stale, fallback, pending, ...) come from the memo: the
-- same answer, no second request, counted as memo hits.  Fresh cache hits are
-- read again (as cheap as the memo, and they see the transaction's writes).
SELECT brickcat.stats_reset() IS NOT NULL AS reset;
BEGIN;
-- fresh: read again each time, sees the transaction's own update
SELECT item_no, name, source FROM brickcat.get_item('3001');
UPDATE brickcat.item SET name = 'Brick 2 x 4 (renamed)' WHERE item_no = '3001';
SELECT item_no, name, source FROM brickcat.get_item('3001');
-- stale: the second read is answered from the memo, even after a change
SELECT item_no, name, source FROM brickcat.get_item('3002');
SELECT requests AS requests_after_first FROM brickcat.stat_cache \gset
UPDATE brickcat.item SET name = 'Brick 2 x 3 (renamed)' WHERE item_no = '3002';
SELECT item_no, name, source FROM brickcat.get_item('3002');
SELECT item_no, name, source FROM brickcat.get_items(ARRAY['3001', '3002']);
SELECT requests = :requests_after_first AS no_new_request FROM brickcat.stat_cache;
-- expired with wait 0: fallback, then the same fallback from the memo
SELECT item_no, source FROM brickcat.get_item('3003', wait => '0');
SELECT item_no, source FROM brickcat.get_item('3003', wait => '0');
-- the stale price guide and the colors never fetched
SELECT item_no, avg_price, source FROM brickcat.get_price('3001', 5, 'stock', 'U');
SELECT item_no, avg_price, source FROM brickcat.get_price('3001', 5, 'stock', 'U');
SELECT count(*) FROM brickcat.get_known_colors('3003', wait => '0');
SELECT count(*) FROM brickcat.get_known_colors('3003', wait => '0');
SELECT hits, stale_served, fallbacks, memo_hits FROM brickcat.stat_cache;
COMMIT;
-- a new transaction reads the tables again
SELECT item_no, name, source FROM brickcat.get_item('3002');
-- a rolled back transaction forgets its memo too
BEGIN;
SELECT name, source FROM brickcat.get_item('3002');
ROLLBACK;
SELECT hits, stale_served, fallbacks, memo_hits FROM brickcat.stat_cache;
UPDATE brickcat.item SET name = 'Brick 2 x 4' WHERE item_no = '3001';
UPDATE brickcat.item SET name = 'Brick 2 x 3' WHERE item_no = '3002';

-- a pending answer is reused only by reads that would not wait longer
BEGIN;
SELECT source IN ('pending', 'error') AS pending_or_error FROM brickcat.get_item('3006', wait => '0');
SELECT memo_hits FROM brickcat.stat_cache;
SELECT source IN ('pending', 'error') AS pending_or_error FROM brickcat.get_item('3006', wait => '0');
SELECT memo_hits FROM brickcat.stat_cache;
COMMIT;
