-- brickcat 1.1: the global catalog.
-- Pieces of the install script live in sql/install and are concatenated in
-- name order into sql/brickcat--1.1.sql by the Makefile.  A change to the
-- schema also goes into the update script from the previous version
-- (sql/brickcat--1.0--1.1.sql); test/t/070_upgrade.pl checks they agree.

\echo Use "CREATE EXTENSION brickcat" to load this file. \quit

COMMENT ON SCHEMA brickcat IS
  'brickcat: global LEGO catalog with BrickLink prices, served cache-first and refreshed within BrickLink''s quota by a background worker';

-------------------------------------------------------------------------------
-- Types
-------------------------------------------------------------------------------
CREATE TYPE brickcat.freshness AS ENUM ('fresh', 'stale', 'expired', 'missing');
COMMENT ON TYPE brickcat.freshness IS
  'How fresh cached data is: fresh (< brickcat.stale_after), stale (< brickcat.expire_after), expired, or missing (never fetched)';

CREATE TYPE brickcat.decoration AS ENUM ('plain', 'printed', 'sticker');
COMMENT ON TYPE brickcat.decoration IS
  'Whether a part is plain, printed (pattern) or carries a sticker';

CREATE TYPE brickcat.origin AS ENUM ('api', 'import');
COMMENT ON TYPE brickcat.origin IS
  'Where a catalog row came from: the BrickLink API or a catalog download import';

CREATE TYPE brickcat.priority AS ENUM ('interactive', 'on_demand', 'background');
COMMENT ON TYPE brickcat.priority IS
  'Fetch priority class: interactive (a reader is waiting), on_demand (a reader asked), background (sweeps)';

CREATE TYPE brickcat.job_kind AS ENUM ('item', 'colors', 'price', 'color_list', 'category_list');
COMMENT ON TYPE brickcat.job_kind IS
  'What a fetch job fetches: item metadata, its known colors, one price guide, the color list or the category list';

CREATE TYPE brickcat.job_state AS ENUM ('queued', 'running', 'done', 'failed');
COMMENT ON TYPE brickcat.job_state IS
  'State of a fetch job: queued, running (leased by the worker), done, or failed (with a reason)';

-------------------------------------------------------------------------------
-- Catalog tables (global: no tenant column anywhere)
-------------------------------------------------------------------------------
CREATE TABLE brickcat.item (
    item_type       text COLLATE "C" NOT NULL
                    CHECK (item_type IN ('PART', 'SET', 'MINIFIG', 'BOOK', 'GEAR', 'CATALOG',
                                         'INSTRUCTION', 'UNSORTED_LOT', 'ORIGINAL_BOX')),
    item_no         text COLLATE "C" NOT NULL CHECK (item_no <> '' AND length(item_no) <= 64),
    name            text,
    category_id     integer,
    alternate_no    text,
    image_url       text,
    thumbnail_url   text,
    weight          numeric CHECK (weight >= 0),
    dim_x           numeric CHECK (dim_x > 0),
    dim_y           numeric CHECK (dim_y > 0),
    dim_z           numeric CHECK (dim_z > 0),
    year_released   smallint,
    is_obsolete     boolean,
    decoration      brickcat.decoration NOT NULL DEFAULT 'plain',
    is_printed      boolean GENERATED ALWAYS AS (decoration = 'printed') STORED,
    description     text,
    language_code   text,
    fetched_at      timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    origin          brickcat.origin NOT NULL DEFAULT 'api',
    colors_copy_fetched_at timestamptz,
    color_ids_copy  integer[],
    PRIMARY KEY (item_type, item_no)
);
COMMENT ON TABLE brickcat.item IS
  'Catalog items (parts, sets, minifigs...) keyed by BrickLink type and number; names decoded, URLs https:, weights in grams, dimensions in studs';
COMMENT ON COLUMN brickcat.item.name IS 'Item name with HTML entities decoded';
COMMENT ON COLUMN brickcat.item.alternate_no IS 'Alternate BrickLink numbers, comma separated as BrickLink gives them';
COMMENT ON COLUMN brickcat.item.weight IS 'Weight in grams; NULL when unknown';
COMMENT ON COLUMN brickcat.item.dim_x IS 'Dimension x in studs; NULL when unknown';
COMMENT ON COLUMN brickcat.item.dim_y IS 'Dimension y in studs; NULL when unknown';
COMMENT ON COLUMN brickcat.item.dim_z IS 'Dimension z in studs (height); NULL when unknown';
COMMENT ON COLUMN brickcat.item.decoration IS 'plain, printed or sticker, derived by brickcat.decoration()';
COMMENT ON COLUMN brickcat.item.is_printed IS 'True when the part is printed (stickered parts are not printed)';
COMMENT ON COLUMN brickcat.item.fetched_at IS 'When the item data was last stored successfully; drives freshness';
COMMENT ON COLUMN brickcat.item.last_attempt_at IS 'When a fetch of this item was last attempted, successful or not';
COMMENT ON COLUMN brickcat.item.last_error IS 'Why the last attempt failed; NULL after a success';
COMMENT ON COLUMN brickcat.item.origin IS 'api or import: where the current data came from';
COMMENT ON COLUMN brickcat.item.colors_copy_fetched_at IS
  'Copy of brickcat.item_color_set.colors_fetched_at, kept by triggers so that a cache hit reads one row; meaningful only when color_ids_copy is not NULL';
COMMENT ON COLUMN brickcat.item.color_ids_copy IS
  'Copy of brickcat.item_color_set.color_ids, kept by triggers; NULL when no copy is held (reads then look in item_color_set). A direct write is kept only if it equals item_color_set';

-- Freshness scans: oldest first per dataset.
CREATE INDEX item_fetched_at_idx ON brickcat.item (fetched_at NULLS FIRST);
COMMENT ON INDEX brickcat.item_fetched_at_idx IS 'Freshness scans of item data, oldest first';
CREATE INDEX item_no_idx ON brickcat.item (item_no);
COMMENT ON INDEX brickcat.item_no_idx IS 'Lookup by number across item types';

CREATE TABLE brickcat.item_color_set (
    item_type         text COLLATE "C" NOT NULL,
    item_no           text COLLATE "C" NOT NULL,
    colors_fetched_at timestamptz,
    last_attempt_at   timestamptz,
    last_error        text,
    color_ids         integer[],
    PRIMARY KEY (item_type, item_no)
);
COMMENT ON TABLE brickcat.item_color_set IS
  'Per item: when its known-colors list was fetched (colors_fetched_at), so an empty list is told apart from one never fetched';
CREATE INDEX item_color_set_fetched_idx ON brickcat.item_color_set (colors_fetched_at NULLS FIRST);
COMMENT ON INDEX brickcat.item_color_set_fetched_idx IS 'Freshness scans of known-colors lists, oldest first';

CREATE TABLE brickcat.item_color (
    item_type  text COLLATE "C" NOT NULL,
    item_no    text COLLATE "C" NOT NULL,
    color_id   integer NOT NULL,
    quantity   integer,
    PRIMARY KEY (item_type, item_no, color_id)
);
COMMENT ON TABLE brickcat.item_color IS
  'The colors an item is known in, with BrickLink''s quantity; replaced as a whole on each refresh (see item_color_set for its timestamp)';

-- item_color_set.color_ids repeats the item's color ids so that a cache-hit
-- read finds an item's colors and their timestamp in one index probe.  The
-- triggers below keep it equal to brickcat.item_color for every writer.
COMMENT ON COLUMN brickcat.item_color_set.color_ids IS
  'The item''s color ids from brickcat.item_color in ascending order (empty when none), kept by triggers on both tables; read by get_item and get_items';

CREATE FUNCTION brickcat.item_color_sync() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE brickcat.item_color_set SET color_ids = '{}' WHERE color_ids IS DISTINCT FROM '{}';
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'item_color_set' THEN
        NEW.color_ids := ARRAY(SELECT c.color_id FROM brickcat.item_color c
                                WHERE c.item_type = NEW.item_type AND c.item_no = NEW.item_no
                                ORDER BY c.color_id);
        RETURN NEW;
    END IF;
    -- A statement on item_color: mark the lists of the items it touched; the
    -- row trigger above (UPDATE OF color_ids) computes each list once.
    EXECUTE 'UPDATE brickcat.item_color_set s SET color_ids = NULL'
         || ' WHERE (s.item_type, s.item_no) IN ('
         || CASE TG_OP
                WHEN 'INSERT' THEN 'SELECT item_type, item_no FROM bc_new_rows'
                WHEN 'DELETE' THEN 'SELECT item_type, item_no FROM bc_old_rows'
                ELSE 'SELECT item_type, item_no FROM bc_new_rows'
                     ' UNION SELECT item_type, item_no FROM bc_old_rows'
            END || ')';
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION brickcat.item_color_sync() IS
  'Trigger function: keeps brickcat.item_color_set.color_ids equal to the item''s rows in brickcat.item_color';
CREATE TRIGGER item_color_set_color_ids BEFORE INSERT OR UPDATE OF item_type, item_no, color_ids
    ON brickcat.item_color_set FOR EACH ROW EXECUTE FUNCTION brickcat.item_color_sync();
COMMENT ON TRIGGER item_color_set_color_ids ON brickcat.item_color_set IS
  'Fills color_ids from brickcat.item_color when a row is added or its key changes';
CREATE TRIGGER item_color_ids_insert AFTER INSERT ON brickcat.item_color
    REFERENCING NEW TABLE AS bc_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brickcat.item_color_sync();
COMMENT ON TRIGGER item_color_ids_insert ON brickcat.item_color IS
  'Updates item_color_set.color_ids of the items whose colors were added';
CREATE TRIGGER item_color_ids_update AFTER UPDATE ON brickcat.item_color
    REFERENCING NEW TABLE AS bc_new_rows OLD TABLE AS bc_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brickcat.item_color_sync();
COMMENT ON TRIGGER item_color_ids_update ON brickcat.item_color IS
  'Updates item_color_set.color_ids of the items whose colors changed';
CREATE TRIGGER item_color_ids_delete AFTER DELETE ON brickcat.item_color
    REFERENCING OLD TABLE AS bc_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brickcat.item_color_sync();
COMMENT ON TRIGGER item_color_ids_delete ON brickcat.item_color IS
  'Updates item_color_set.color_ids of the items whose colors were removed';
CREATE TRIGGER item_color_ids_truncate AFTER TRUNCATE ON brickcat.item_color
    FOR EACH STATEMENT EXECUTE FUNCTION brickcat.item_color_sync();
COMMENT ON TRIGGER item_color_ids_truncate ON brickcat.item_color IS
  'Empties item_color_set.color_ids when brickcat.item_color is truncated';

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

CREATE TABLE brickcat.price_guide (
    item_type       text COLLATE "C" NOT NULL,
    item_no         text COLLATE "C" NOT NULL,
    color_id        integer NOT NULL DEFAULT 0 CHECK (color_id >= 0),
    guide_type      text NOT NULL CHECK (guide_type IN ('sold', 'stock')),
    condition       char(1) NOT NULL CHECK (condition IN ('N', 'U')),
    currency        char(3) NOT NULL DEFAULT 'USD',
    min_price       numeric(12,4),
    max_price       numeric(12,4),
    avg_price       numeric(12,4),
    qty_avg_price   numeric(12,4),
    unit_quantity   integer,
    total_quantity  integer,
    has_sales       boolean GENERATED ALWAYS AS (unit_quantity > 0) STORED,
    fetched_at      timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    PRIMARY KEY (item_type, item_no, color_id, guide_type, condition, currency)
);
COMMENT ON TABLE brickcat.price_guide IS
  'BrickLink price guides per item, color (0 = all colors), guide (sold: last 6 months, stock: for sale now), condition and currency';
COMMENT ON COLUMN brickcat.price_guide.unit_quantity IS 'Number of lots (stock) or sales (sold)';
COMMENT ON COLUMN brickcat.price_guide.total_quantity IS 'Number of pieces';
COMMENT ON COLUMN brickcat.price_guide.has_sales IS 'False for a fetched guide with no sales or lots; NULL when never fetched';
COMMENT ON COLUMN brickcat.price_guide.fetched_at IS 'When the guide was last stored; NULL when only failed attempts exist';
CREATE INDEX price_guide_fetched_idx ON brickcat.price_guide (fetched_at NULLS FIRST);
COMMENT ON INDEX brickcat.price_guide_fetched_idx IS 'Freshness scans of price guides, oldest first';

CREATE TABLE brickcat.color (
    color_id    integer PRIMARY KEY,
    color_name  text NOT NULL,
    color_code  text,
    color_type  text,
    fetched_at  timestamptz,
    origin      brickcat.origin NOT NULL DEFAULT 'api'
);
COMMENT ON TABLE brickcat.color IS 'BrickLink colors, keyed by id (names change over time); color_code is hex RGB without #';

CREATE TABLE brickcat.category (
    category_id   integer PRIMARY KEY,
    category_name text NOT NULL,
    parent_id     integer NOT NULL DEFAULT 0,
    fetched_at    timestamptz,
    origin        brickcat.origin NOT NULL DEFAULT 'api'
);
COMMENT ON TABLE brickcat.category IS 'BrickLink categories (names decoded); parent_id 0 at the root';

CREATE TABLE brickcat.not_found (
    target      text COLLATE "C" PRIMARY KEY,
    checked_at  timestamptz NOT NULL
);
COMMENT ON TABLE brickcat.not_found IS
  'Negative cache: fetch targets BrickLink answered RESOURCE_NOT_FOUND for; not asked again until brickcat.not_found_ttl passes';

-------------------------------------------------------------------------------
-- The fetch queue
-------------------------------------------------------------------------------
CREATE TABLE brickcat.fetch_queue (
    job_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         brickcat.job_kind NOT NULL,
    target       text COLLATE "C" NOT NULL,
    item_type    text COLLATE "C",
    item_no      text COLLATE "C",
    color_id     integer,
    guide_type   text,
    condition    char(1),
    priority     brickcat.priority NOT NULL DEFAULT 'background',
    state        brickcat.job_state NOT NULL DEFAULT 'queued',
    reason       text,
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    not_before   timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    lease_until  timestamptz,
    last_outcome text,
    last_error   text,
    finished_at  timestamptz
);
COMMENT ON TABLE brickcat.fetch_queue IS
  'Fetch jobs for the background worker: at most one open (queued or running) job per target; claimed with FOR UPDATE SKIP LOCKED under a lease';
COMMENT ON COLUMN brickcat.fetch_queue.target IS
  'Canonical key of what to fetch: item:TYPE:NO, colors:TYPE:NO, price:TYPE:NO:COLOR:sold|stock:N|U, color_list, category_list';
COMMENT ON COLUMN brickcat.fetch_queue.not_before IS 'The job is not started before this time (backoff, limiter refusals)';
COMMENT ON COLUMN brickcat.fetch_queue.lease_until IS 'A running job whose lease has passed is taken up again (its worker died)';
COMMENT ON COLUMN brickcat.fetch_queue.reason IS 'Why the job is in its state: what queued it (a sweep reason, read: request table full...) until the worker claims it, why it waits again (quota refusal, lease expired), why it failed; NULL while running and once done';
CREATE UNIQUE INDEX fetch_queue_open_target_idx ON brickcat.fetch_queue (target)
    WHERE state IN ('queued', 'running');
COMMENT ON INDEX brickcat.fetch_queue_open_target_idx IS 'At most one open job per target';
CREATE INDEX fetch_queue_claim_idx ON brickcat.fetch_queue (priority, not_before, job_id)
    WHERE state = 'queued';
COMMENT ON INDEX brickcat.fetch_queue_claim_idx IS 'Claim order: priority class, then due time, then age';
CREATE INDEX fetch_queue_lease_idx ON brickcat.fetch_queue (lease_until)
    WHERE state = 'running';
COMMENT ON INDEX brickcat.fetch_queue_lease_idx IS 'Finds running jobs whose lease has expired';
COMMENT ON SEQUENCE brickcat.fetch_queue_job_id_seq IS 'Job ids of brickcat.fetch_queue';
