-- item_color_set.color_ids repeats brickcat.item_color so that get_item and
-- get_items read an item's colors in one probe.  Triggers keep it right for
-- every writer; a row whose color_ids is NULL (triggers bypassed) is read
-- from item_color instead.  Everything here is rolled back (and the reads
-- record no demand, which the worker would keep: 060 counts demanded items).
SET brickcat.track_demand = off;
BEGIN;
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at)
VALUES ('PART', 'T045-1', 'Colors test', brickcat.now()),
       ('PART', 'T045-2', 'Colors test 2', brickcat.now());

-- colors written before the set row: the set row picks them up
INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity)
VALUES ('PART', 'T045-1', 11, 4), ('PART', 'T045-1', 5, 2), ('PART', 'T045-1', 86, NULL);
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', 'T045-1', brickcat.now());
SELECT item_no, color_ids FROM brickcat.item_color_set WHERE item_no LIKE 'T045-%';

-- set row first (empty list), then colors, then changes of every kind
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', 'T045-2', brickcat.now());
SELECT item_no, color_ids FROM brickcat.item_color_set WHERE item_no = 'T045-2';
INSERT INTO brickcat.item_color (item_type, item_no, color_id) VALUES ('PART', 'T045-2', 3);
DELETE FROM brickcat.item_color WHERE item_no = 'T045-1' AND color_id = 11;
UPDATE brickcat.item_color SET color_id = 1 WHERE item_no = 'T045-1' AND color_id = 86;
SELECT item_no, color_ids FROM brickcat.item_color_set WHERE item_no LIKE 'T045-%' ORDER BY 1;

-- a worker-style refresh: replace the list, then stamp the set row
DELETE FROM brickcat.item_color WHERE item_no = 'T045-2';
INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity)
VALUES ('PART', 'T045-2', 7, 1), ('PART', 'T045-2', 2, 1);
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', 'T045-2', brickcat.now())
ON CONFLICT (item_type, item_no) DO UPDATE SET colors_fetched_at = excluded.colors_fetched_at;

-- a wrong value written by hand is corrected
UPDATE brickcat.item_color_set SET color_ids = '{999}' WHERE item_no = 'T045-2';
SELECT item_no, color_ids FROM brickcat.item_color_set WHERE item_no LIKE 'T045-%' ORDER BY 1;

-- what the reads return: ids from the set row, quantities from item_color
SELECT item_no, color_ids, source FROM brickcat.get_item('T045-1');
SELECT item_no, color_ids, source FROM brickcat.get_items(ARRAY['T045-2', 'T045-1', 'T045-2']);
SELECT color_id, quantity FROM brickcat.get_known_colors('T045-1') ORDER BY 1;

-- color_ids NULL (triggers bypassed): the reads fall back to item_color
SET session_replication_role = replica;
UPDATE brickcat.item_color_set SET color_ids = NULL WHERE item_no = 'T045-1';
INSERT INTO brickcat.item_color (item_type, item_no, color_id) VALUES ('PART', 'T045-1', 9);
RESET session_replication_role;
SELECT item_no, color_ids, source FROM brickcat.get_item('T045-1');

-- every set row agrees with item_color
SELECT count(*) AS disagreeing
  FROM brickcat.item_color_set s
 WHERE s.color_ids IS NOT NULL
   AND s.color_ids <> ARRAY(SELECT c.color_id FROM brickcat.item_color c
                             WHERE (c.item_type, c.item_no) = (s.item_type, s.item_no)
                             ORDER BY 1);

-- TRUNCATE empties every list
TRUNCATE brickcat.item_color;
SELECT item_no, color_ids FROM brickcat.item_color_set WHERE item_no LIKE 'T045-%' ORDER BY 1;
ROLLBACK;
