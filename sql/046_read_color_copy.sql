-- brickcat.item carries a copy of its item_color_set row (colors_copy_fetched_at,
-- color_ids_copy) so that a cache-hit get_item reads one row.  The copy is
-- NULL (reads then look in item_color_set) or equal to item_color_set as of
-- the last commit; a transaction that wrote item_color_set reads its own
-- changes there.  Reads here record no demand (060 counts demanded items).
SET brickcat.track_demand = off;
CREATE TEMP VIEW copy_wrong AS
SELECT i.item_no, i.color_ids_copy, s.color_ids
  FROM brickcat.item i
  LEFT JOIN brickcat.item_color_set s USING (item_type, item_no)
 WHERE i.item_no LIKE 'T046-%' AND i.color_ids_copy IS NOT NULL
   AND (s.item_no IS NULL OR i.color_ids_copy IS DISTINCT FROM s.color_ids
        OR i.colors_copy_fetched_at IS DISTINCT FROM s.colors_fetched_at);
CREATE TEMP VIEW copies AS
SELECT item_no, color_ids_copy, colors_copy_fetched_at IS NOT NULL AS stamped
  FROM brickcat.item WHERE item_no LIKE 'T046-%' ORDER BY item_no;

INSERT INTO brickcat.item (item_type, item_no, name, fetched_at)
VALUES ('PART', 'T046-1', 'Copy test 1', brickcat.now()),
       ('PART', 'T046-2', 'Copy test 2', brickcat.now());
-- colors stored after the item: copied at commit
BEGIN;
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', 'T046-1', brickcat.now()), ('PART', 'T046-2', NULL);
INSERT INTO brickcat.item_color (item_type, item_no, color_id)
VALUES ('PART', 'T046-1', 11), ('PART', 'T046-1', 5);
-- not copied yet: this transaction reads item_color_set
SELECT * FROM copies;
SELECT item_no, color_ids, source FROM brickcat.get_item('T046-1', wait => '0');
COMMIT;
SELECT * FROM copies;
SELECT * FROM copy_wrong;

-- colors stored before the item row: a new row keeps a copy only if it is
-- right (here it is not), and the read then looks in item_color_set
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', 'T046-3', brickcat.now());
INSERT INTO brickcat.item_color (item_type, item_no, color_id) VALUES ('PART', 'T046-3', 7);
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at, color_ids_copy,
                           colors_copy_fetched_at)
VALUES ('PART', 'T046-3', 'Copy test 3', brickcat.now(), '{1,2,3}', brickcat.now());
SELECT * FROM copies;
SELECT item_no, color_ids, source FROM brickcat.get_item('T046-3', wait => '0');

-- a worker-style refresh (replace the list, stamp the set row) in one
-- transaction: the copy follows once, at commit
BEGIN;
DELETE FROM brickcat.item_color WHERE item_no = 'T046-1';
INSERT INTO brickcat.item_color (item_type, item_no, color_id) VALUES ('PART', 'T046-1', 86);
UPDATE brickcat.item_color_set SET colors_fetched_at = brickcat.now()
 WHERE item_no IN ('T046-1', 'T046-3');
SELECT item_no, color_ids FROM brickcat.get_item('T046-1', wait => '0');
COMMIT;
SELECT * FROM copies;
SELECT * FROM copy_wrong;

-- reads take the colors from the copy (proved with a copy made wrong while
-- the trigger that guards it is off)
BEGIN;
ALTER TABLE brickcat.item DISABLE TRIGGER item_color_copy_update;
UPDATE brickcat.item SET color_ids_copy = '{4242}' WHERE item_no = 'T046-1';
SELECT item_no, color_ids FROM brickcat.get_item('T046-1');
SELECT item_no, color_ids FROM brickcat.get_items(ARRAY['T046-1']);
ROLLBACK;

-- a direct write of the copy is kept only if it is right; a new key drops it
UPDATE brickcat.item i SET color_ids_copy = NULL WHERE item_no = 'T046-3';
UPDATE brickcat.item i SET color_ids_copy = s.color_ids, colors_copy_fetched_at = s.colors_fetched_at
  FROM brickcat.item_color_set s WHERE (s.item_type, s.item_no) = (i.item_type, i.item_no)
   AND i.item_no = 'T046-3';
UPDATE brickcat.item SET color_ids_copy = '{4242}' WHERE item_no = 'T046-1';
UPDATE brickcat.item SET item_no = 'T046-2b' WHERE item_no = 'T046-2';
UPDATE brickcat.item SET name = 'Copy test 3, renamed' WHERE item_no = 'T046-3';
SELECT * FROM copies;
SELECT item_no, color_ids, source FROM brickcat.get_item('T046-1', wait => '0');

-- writes with triggers off for replication still keep the copy
UPDATE brickcat.item_color_set SET colors_fetched_at = brickcat.now() WHERE item_no = 'T046-1';
SET session_replication_role = replica;
UPDATE brickcat.item_color_set SET colors_fetched_at = NULL WHERE item_no = 'T046-1';
RESET session_replication_role;
SELECT * FROM copies;
SELECT * FROM copy_wrong;

-- deleting the set row drops the copy; TRUNCATE drops every copy
UPDATE brickcat.item_color_set SET colors_fetched_at = brickcat.now() WHERE item_no = 'T046-3';
DELETE FROM brickcat.item_color_set WHERE item_no = 'T046-1';
SELECT * FROM copies;
BEGIN;
TRUNCATE brickcat.item_color_set;
SELECT count(*) AS items_with_copies FROM brickcat.item WHERE color_ids_copy IS NOT NULL;
ROLLBACK;

DELETE FROM brickcat.item WHERE item_no LIKE 'T046-%';
DELETE FROM brickcat.item_color WHERE item_no LIKE 'T046-%';
DELETE FROM brickcat.item_color_set WHERE item_no LIKE 'T046-%';
