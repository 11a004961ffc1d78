-- brickcat 1.0 -> 1.1
\echo Use "ALTER EXTENSION brickcat UPDATE TO '1.1'" to load this file. \quit

-------------------------------------------------------------------------------
-- Cache hits read one row: brickcat.item carries a copy of its known colors.
-------------------------------------------------------------------------------
ALTER TABLE brickcat.item ADD COLUMN colors_copy_fetched_at timestamptz,
                          ADD COLUMN color_ids_copy integer[];
COMMENT ON COLUMN brickcat.item.colors_copy_fetched_at IS
  'Copy of brickcat.item_color_set.colors_fetched_at, kept by triggers so that a cache hit reads one row; meaningful only when color_ids_copy is not NULL';
COMMENT ON COLUMN brickcat.item.color_ids_copy IS
  'Copy of brickcat.item_color_set.color_ids, kept by triggers; NULL when no copy is held (reads then look in item_color_set). A direct write is kept only if it equals item_color_set';

-- the copies of what is stored now (before the trigger that guards them)
UPDATE brickcat.item i
   SET colors_copy_fetched_at = s.colors_fetched_at, color_ids_copy = s.color_ids
  FROM brickcat.item_color_set s
 WHERE i.item_type = s.item_type AND i.item_no = s.item_no AND s.color_ids IS NOT NULL;

-- brickcat.item carries a copy of its item_color_set row (colors_fetched_at,
-- color_ids) so that a cache-hit get_item reads one row.  The copy is either
-- NULL (unknown: readers look in item_color_set) or equal to the
-- item_color_set row as of the writer's commit: changes to item_color_set
-- are copied by a deferred trigger, once per row and transaction.  Any other
-- write of the copy is checked against item_color_set (whose row it locks)
-- and kept only if it is right; a new key drops it.  The worker copies the
-- colors it already holds onto the items it inserts.
CREATE FUNCTION brickcat.item_color_copy() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    keep boolean;
BEGIN
    IF TG_TABLE_NAME = 'item' THEN
        IF TG_OP = 'INSERT' OR (NEW.item_type, NEW.item_no)
                               IS NOT DISTINCT FROM (OLD.item_type, OLD.item_no) THEN
            SELECT s.color_ids = NEW.color_ids_copy
                   AND s.colors_fetched_at IS NOT DISTINCT FROM NEW.colors_copy_fetched_at
              INTO keep
              FROM brickcat.item_color_set s
             WHERE s.item_type = NEW.item_type AND s.item_no = NEW.item_no
               FOR SHARE;
        END IF;
        IF NOT coalesce(keep, false) THEN
            NEW.colors_copy_fetched_at := NULL;
            NEW.color_ids_copy := NULL;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE brickcat.item SET colors_copy_fetched_at = NULL, color_ids_copy = NULL
         WHERE color_ids_copy IS NOT NULL;
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.item_type, OLD.item_no)
                            IS DISTINCT FROM (NEW.item_type, NEW.item_no)) THEN
        UPDATE brickcat.item i SET colors_copy_fetched_at = NULL, color_ids_copy = NULL
         WHERE i.item_type = OLD.item_type AND i.item_no = OLD.item_no
           AND i.color_ids_copy IS NOT NULL
           AND NOT EXISTS (SELECT FROM brickcat.item_color_set s
                            WHERE s.item_type = OLD.item_type AND s.item_no = OLD.item_no);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        -- copy the row as it is now (a later change in this transaction
        -- queued its own event, which then finds nothing to do)
        UPDATE brickcat.item i
           SET colors_copy_fetched_at = s.colors_fetched_at, color_ids_copy = s.color_ids
          FROM brickcat.item_color_set s
         WHERE s.item_type = NEW.item_type AND s.item_no = NEW.item_no
           AND i.item_type = s.item_type AND i.item_no = s.item_no
           AND (i.colors_copy_fetched_at IS DISTINCT FROM s.colors_fetched_at
                OR i.color_ids_copy IS DISTINCT FROM s.color_ids);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION brickcat.item_color_copy() IS
  'Trigger function: keeps brickcat.item.colors_copy_fetched_at and color_ids_copy equal to the item''s brickcat.item_color_set row, or NULL';
CREATE CONSTRAINT TRIGGER item_color_set_copy AFTER INSERT OR UPDATE OR DELETE
    ON brickcat.item_color_set DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION brickcat.item_color_copy();
COMMENT ON TRIGGER item_color_set_copy ON brickcat.item_color_set IS
  'Copies the known-colors row onto its brickcat.item row at commit';
CREATE TRIGGER item_color_set_copy_truncate AFTER TRUNCATE ON brickcat.item_color_set
    FOR EACH STATEMENT EXECUTE FUNCTION brickcat.item_color_copy();
COMMENT ON TRIGGER item_color_set_copy_truncate ON brickcat.item_color_set IS
  'Drops every item''s copy of its known colors when brickcat.item_color_set is truncated';
CREATE TRIGGER item_color_copy_insert BEFORE INSERT ON brickcat.item
    FOR EACH ROW WHEN (NEW.colors_copy_fetched_at IS NOT NULL OR NEW.color_ids_copy IS NOT NULL)
    EXECUTE FUNCTION brickcat.item_color_copy();
COMMENT ON TRIGGER item_color_copy_insert ON brickcat.item IS
  'A new item row keeps a copy of its known colors only if it is right';
CREATE TRIGGER item_color_copy_update BEFORE UPDATE ON brickcat.item
    FOR EACH ROW WHEN (NEW.color_ids_copy IS NOT NULL
                       AND ((NEW.item_type, NEW.item_no) IS DISTINCT FROM (OLD.item_type, OLD.item_no)
                            OR (pg_catalog.pg_trigger_depth() = 0
                                AND (NEW.colors_copy_fetched_at IS DISTINCT FROM OLD.colors_copy_fetched_at
                                     OR NEW.color_ids_copy IS DISTINCT FROM OLD.color_ids_copy))))
    EXECUTE FUNCTION brickcat.item_color_copy();
COMMENT ON TRIGGER item_color_copy_update ON brickcat.item IS
  'A direct write of the known-colors copy is kept only if it is right; a new key drops it';
CREATE FUNCTION brickcat.item_color_set_touched() RETURNS trigger
    AS 'MODULE_PATHNAME', 'bc_color_set_touched' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.item_color_set_touched() IS
  'Trigger function: reads in a transaction that wrote brickcat.item_color_set look there instead of at the item rows'' copies, which are brought up to date at commit';
CREATE TRIGGER item_color_set_touched BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON brickcat.item_color_set FOR EACH STATEMENT EXECUTE FUNCTION brickcat.item_color_set_touched();
COMMENT ON TRIGGER item_color_set_touched ON brickcat.item_color_set IS
  'Marks the transaction as one whose reads must not trust the item rows'' copies of their colors';
-- also when triggers are off for replication (session_replication_role =
-- replica): the copy must follow every change of item_color_set
ALTER TABLE brickcat.item_color_set ENABLE ALWAYS TRIGGER item_color_set_copy;
ALTER TABLE brickcat.item_color_set ENABLE ALWAYS TRIGGER item_color_set_copy_truncate;
ALTER TABLE brickcat.item_color_set ENABLE ALWAYS TRIGGER item_color_set_touched;

-- privileges of the new objects, as a fresh install grants them
SELECT brickcat.apply_access_rules();
