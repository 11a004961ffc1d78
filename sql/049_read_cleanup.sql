-- Removes the rows the read API tests (040-048) put into the shared catalog,
-- so later tests start from an empty catalog.
DELETE FROM brickcat.item WHERE item_no IN ('3001', '3002', '3003', '3004', '6020-1');
DELETE FROM brickcat.item_color_set WHERE item_no IN ('3001', '3002', '3003');
DELETE FROM brickcat.item_color WHERE item_no = '3001';
DELETE FROM brickcat.price_guide WHERE item_no = '3001';
DELETE FROM brickcat.color WHERE color_id IN (1, 5);
SELECT (SELECT count(*) FROM brickcat.item) AS items,
       (SELECT count(*) FROM brickcat.price_guide) AS prices;
