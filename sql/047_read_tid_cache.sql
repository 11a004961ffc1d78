-- A cache-hit read fetches an item row where a read last found it (a shared
-- table of TIDs, brickcat.read_tid_cache) instead of descending the primary
-- key.  What it fetches there must be the row the index would have found:
-- visible to the read's snapshot and carrying the key asked for; anything
-- else falls back to the index.  Reads here record no demand.
SET brickcat.track_demand = off;
-- index scans of the primary key (counted per backend until the counts are
-- reported, which never happens inside a transaction block: compare within one)
CREATE TEMP VIEW pk_scans AS
SELECT pg_stat_get_xact_numscans('brickcat.item_pkey'::regclass) AS n;
CREATE FUNCTION pg_temp.show(no text)
    RETURNS TABLE (item_no text, name text, weight numeric, source text)
    LANGUAGE sql AS $$
SELECT item_no, name, weight,
       CASE WHEN source IN ('pending', 'error') THEN 'missing' ELSE source END
  FROM brickcat.get_item(no, wait => '0') $$;

INSERT INTO brickcat.item (item_type, item_no, name, weight, fetched_at)
SELECT 'PART', 'T047-' || g, 'TID test ' || g, g, brickcat.now()
  FROM generate_series(1, 300) g;
-- the first read descends the primary key and remembers where the row is
SELECT * FROM pg_temp.show('T047-1');

-- later reads of the same keys fetch the rows in place: no index scan
BEGIN;
SELECT n AS before FROM pk_scans \gset
SELECT * FROM pg_temp.show('T047-1');
SELECT * FROM pg_temp.show('T047-1');
SELECT n - :before AS pk_scans FROM pk_scans;
-- a key not seen yet is looked up once through the index
SELECT * FROM pg_temp.show('T047-2');
SELECT * FROM pg_temp.show('T047-2');
SELECT n - :before AS pk_scans FROM pk_scans;
COMMIT;

-- an update in place (HOT) and one that moves the row: the new version
UPDATE brickcat.item SET name = 'renamed' WHERE item_no = 'T047-1';
SELECT * FROM pg_temp.show('T047-1');
UPDATE brickcat.item SET weight = 99, fetched_at = brickcat.now() - interval '1 second'
 WHERE item_no = 'T047-1';
SELECT * FROM pg_temp.show('T047-1');
SELECT * FROM pg_temp.show('T047-1');

-- an uncommitted update is seen by its own transaction only
BEGIN;
UPDATE brickcat.item SET name = 'mine' WHERE item_no = 'T047-2';
SELECT * FROM pg_temp.show('T047-2');
ROLLBACK;
SELECT * FROM pg_temp.show('T047-2');

-- a deleted row is not served from where it was
SELECT * FROM pg_temp.show('T047-3');
DELETE FROM brickcat.item WHERE item_no = 'T047-3';
SELECT * FROM pg_temp.show('T047-3');

-- (snapshots taken before another session's change: read_tid_cache.spec)

-- rows removed by VACUUM and places taken by other rows, a rewritten and a
-- truncated table: never the wrong row, never an error
SELECT * FROM pg_temp.show('T047-5');
DELETE FROM brickcat.item WHERE item_no = 'T047-5';
VACUUM brickcat.item;
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at)
VALUES ('PART', 'T047-6b', 'took a place', brickcat.now());
SELECT * FROM pg_temp.show('T047-5');
SELECT * FROM pg_temp.show('T047-6b');
SELECT * FROM pg_temp.show('T047-7');
SELECT * FROM pg_temp.show('T047-4');
VACUUM FULL brickcat.item;
SELECT * FROM pg_temp.show('T047-7');
SELECT * FROM pg_temp.show('T047-300');
DELETE FROM brickcat.item WHERE item_no LIKE 'T047-%' AND item_no <> 'T047-8';
VACUUM brickcat.item;
SELECT * FROM pg_temp.show('T047-300');
SELECT * FROM pg_temp.show('T047-8');

-- SERIALIZABLE reads go through the index (its predicate locks matter)
SELECT * FROM pg_temp.show('T047-8');
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT n AS before FROM pk_scans \gset
SELECT * FROM pg_temp.show('T047-8');
SELECT * FROM pg_temp.show('T047-8');
SELECT n - :before AS pk_scans FROM pk_scans;
COMMIT;

-- the table's size is set at server start (here the default)
SHOW brickcat.read_tid_cache;
SET brickcat.read_tid_cache = 0;

-- get_items takes the same path
BEGIN;
SELECT n AS before FROM pk_scans \gset
SELECT item_no, name, source IN ('pending', 'error') AS missing
  FROM brickcat.get_items('{T047-8,T047-8,T047-9}', wait => '0');
SELECT n - :before AS pk_scans FROM pk_scans;
COMMIT;

-- the table is shared: a new connection finds a row in place at once
\c
SET brickcat.track_demand = off;
BEGIN;
SELECT pg_stat_get_xact_numscans('brickcat.item_pkey'::regclass) AS before \gset
SELECT item_no, name, source FROM brickcat.get_item('T047-8', wait => '0');
SELECT pg_stat_get_xact_numscans('brickcat.item_pkey'::regclass) - :before AS pk_scans;
COMMIT;

DELETE FROM brickcat.item WHERE item_no LIKE 'T047-%';
