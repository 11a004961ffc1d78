-- brickcat 1.0: the global catalog.
-- Pieces of the install script live in sql/install and are concatenated in
-- name order into sql/brickcat--1.0.sql by the Makefile.

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
-------------------------------------------------------------------------------
-- Decoration: plain, printed or sticker (src/decoration.c)
-------------------------------------------------------------------------------
CREATE FUNCTION brickcat.decoration(item_no text, name text, category_name text)
    RETURNS brickcat.decoration
    AS 'MODULE_PATHNAME', 'bc_decoration_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.decoration(text, text, text) IS
  'plain, printed or sticker, from BrickLink numbering (pattern constants pb, px, p after a base number), the name (Sticker beats Pattern/Print) and the category (", Decorated", ", Decor."); NULL arguments are skipped, all NULL gives NULL';
-------------------------------------------------------------------------------
-- Core functions: clock, freshness, status
-------------------------------------------------------------------------------
CREATE FUNCTION brickcat.now() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'bc_now_sql' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.now() IS
  'now() as brickcat sees it: shifted by brickcat.clock_offset (zero outside simulations)';

CREATE FUNCTION brickcat.freshness(fetched_at timestamptz, as_of timestamptz DEFAULT now())
    RETURNS brickcat.freshness
    AS 'MODULE_PATHNAME', 'bc_freshness_sql' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.freshness(timestamptz, timestamptz) IS
  'Classifies data fetched at fetched_at: missing (NULL), fresh (age < brickcat.stale_after, or in the future), stale (< brickcat.expire_after) or expired';

CREATE FUNCTION brickcat.next_refresh_at(fetched_at timestamptz) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'bc_next_refresh_at_sql' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.next_refresh_at(timestamptz) IS
  'When data fetched at fetched_at stops being fresh (fetched_at + brickcat.stale_after); now for missing data';

CREATE FUNCTION brickcat.status(
    OUT preloaded boolean, OUT worker_running boolean, OUT worker_pid integer,
    OUT worker_started_at timestamptz, OUT worker_database text,
    OUT on_demand_fetching boolean, OUT detail text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_status_sql' LANGUAGE C STABLE;
COMMENT ON FUNCTION brickcat.status() IS
  'Whether brickcat is preloaded, whether its worker runs, and whether on-demand fetching works in this database (and why not)';

CREATE VIEW brickcat.status AS SELECT * FROM brickcat.status();
COMMENT ON VIEW brickcat.status IS
  'brickcat''s state at a glance: preload, worker, and whether on-demand fetching is on';

DO $$
BEGIN
    IF NOT (SELECT preloaded FROM brickcat.status()) THEN
        RAISE NOTICE 'brickcat is not in shared_preload_libraries: on-demand fetching is off'
            USING HINT = 'Add brickcat to shared_preload_libraries and restart the server; reads of cached data work meanwhile.';
    END IF;
END
$$;
-------------------------------------------------------------------------------
-- The background worker: queueing refreshes and the per-call log
-- (src/worker.c, src/queue.c, src/writer.c, src/bricklink_client.c)
-------------------------------------------------------------------------------
CREATE TABLE brickcat.api_call (
    call_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    duration_us  bigint,
    endpoint     brickcat.job_kind NOT NULL,
    target       text NOT NULL,
    job_id       bigint,
    attempt      integer,
    priority     brickcat.priority,
    http_status  integer,
    meta_code    integer,
    outcome      text CHECK (outcome IN ('ok', 'not_found', 'bad_request', 'auth_error',
                                         'throttled', 'server_error', 'timeout',
                                         'network_error', 'bad_response', 'interrupted')),
    bytes        bigint,
    error        text
) WITH (fillfactor = 50);
-- Each row is written before its call and completed when the answer arrives:
-- the free half of each page and no index on the columns completed keep that
-- update on the page (HOT), without new index entries.
COMMENT ON TABLE brickcat.api_call IS
  'One row per BrickLink call attempt, written before the call is sent and completed when it ends; pruned after brickcat.call_log_retention. Holds no secrets';
COMMENT ON COLUMN brickcat.api_call.started_at IS 'When the call was logged and sent (brickcat.now() clock)';
COMMENT ON COLUMN brickcat.api_call.duration_us IS 'How long the call took, in microseconds; NULL while in flight';
COMMENT ON COLUMN brickcat.api_call.endpoint IS 'What was fetched: item, colors, price, color_list or category_list';
COMMENT ON COLUMN brickcat.api_call.target IS 'The fetch target, e.g. item:PART:3001';
COMMENT ON COLUMN brickcat.api_call.job_id IS 'The brickcat.fetch_queue job the call was made for';
COMMENT ON COLUMN brickcat.api_call.attempt IS 'Attempt number of the job (1 for the first call)';
COMMENT ON COLUMN brickcat.api_call.http_status IS 'HTTP status; NULL when no HTTP answer arrived';
COMMENT ON COLUMN brickcat.api_call.meta_code IS 'BrickLink''s meta.code; NULL when the body had none';
COMMENT ON COLUMN brickcat.api_call.outcome IS
  'ok, not_found, bad_request, auth_error, throttled, server_error, timeout, network_error, bad_response, or interrupted (the worker exited mid-call); NULL while in flight';
COMMENT ON COLUMN brickcat.api_call.bytes IS 'Bytes of the response body received';
COMMENT ON COLUMN brickcat.api_call.error IS 'Why the call failed, secrets removed; NULL on success';
CREATE INDEX api_call_started_at_idx ON brickcat.api_call (started_at);
COMMENT ON INDEX brickcat.api_call_started_at_idx IS 'Pruning and time-range inspection of the call log';
CREATE INDEX api_call_target_idx ON brickcat.api_call (target);
COMMENT ON INDEX brickcat.api_call_target_idx IS 'Inspection of the calls made for one target';
COMMENT ON SEQUENCE brickcat.api_call_call_id_seq IS 'Call ids of brickcat.api_call';

CREATE INDEX fetch_queue_finished_idx ON brickcat.fetch_queue (finished_at)
    WHERE state IN ('done', 'failed');
COMMENT ON INDEX brickcat.fetch_queue_finished_idx IS 'Pruning of finished jobs';

CREATE FUNCTION brickcat.request_refresh(
    item_no   text,
    item_type text DEFAULT 'PART',
    what      text[] DEFAULT '{item,colors}',
    priority  text DEFAULT 'background')
    RETURNS TABLE (job_id bigint, target text, job_priority brickcat.priority, is_new boolean)
    AS 'MODULE_PATHNAME', 'bc_request_refresh_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.request_refresh(text, text, text[], text) IS
  'Queues refreshes of an item: what lists item, colors, price:<color_id>:<sold|stock>:<N|U>, color_list, category_list (item_no may be NULL for the lists alone); priority is interactive, on_demand or background. Joins an open job for the same target (raising its priority), wakes the worker when the transaction commits, and returns one row per target';
-------------------------------------------------------------------------------
-- Transactional rate limiting (src/ratelimit.c) and the BrickLink quota
-- budget (src/quota.c)
-------------------------------------------------------------------------------

-- General-purpose limiter: definitions and per-key state.
CREATE TABLE brickcat.rate_limit_def (
    name          text PRIMARY KEY CHECK (name <> '' AND length(name) <= 200),
    kind          text NOT NULL CHECK (kind IN ('token_bucket', 'fixed_window')),
    rate          integer NOT NULL CHECK (rate > 0),
    period        interval NOT NULL,
    period_us     bigint NOT NULL CHECK (period_us > 0),
    capacity      integer NOT NULL CHECK (capacity > 0),
    shards        integer NOT NULL CHECK (shards BETWEEN 1 AND 1024),
    max_reserved  integer NOT NULL CHECK (max_reserved >= 0),
    anchor_us     bigint NOT NULL CHECK (anchor_us >= 0 AND anchor_us < period_us),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE brickcat.rate_limit_def IS
  'Rate limit definitions (brickcat.define_rate_limit): kind, rate per period, capacity, shards and reservation bound; changes apply to the next call';
COMMENT ON COLUMN brickcat.rate_limit_def.period_us IS 'The period in microseconds (a month counts 30 days)';
COMMENT ON COLUMN brickcat.rate_limit_def.capacity IS 'Most tokens a bucket holds (token_bucket) or a window may accumulate with rollover (fixed_window)';
COMMENT ON COLUMN brickcat.rate_limit_def.max_reserved IS 'Most tokens that may be reserved ahead (debited before they exist) per key';
COMMENT ON COLUMN brickcat.rate_limit_def.anchor_us IS 'fixed_window: windows start at the Unix-2000 epoch + anchor_us + k * period_us';
SELECT pg_catalog.pg_extension_config_dump('brickcat.rate_limit_def', '');

CREATE FUNCTION brickcat.rate_limit_def_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'bc_rate_limit_def_changed' LANGUAGE C;
COMMENT ON FUNCTION brickcat.rate_limit_def_changed() IS
  'Trigger: makes every backend drop its cached rate limit definitions when brickcat.rate_limit_def changes';
CREATE TRIGGER rate_limit_def_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON brickcat.rate_limit_def
    FOR EACH STATEMENT EXECUTE FUNCTION brickcat.rate_limit_def_changed();
COMMENT ON TRIGGER rate_limit_def_changed ON brickcat.rate_limit_def IS
  'Invalidates the per-backend cache of rate limit definitions';

CREATE TABLE brickcat.rate_limit_state (
    name    text NOT NULL REFERENCES brickcat.rate_limit_def (name)
                ON DELETE CASCADE ON UPDATE CASCADE,
    key     text NOT NULL,
    shard   integer NOT NULL CHECK (shard >= 0),
    tokens  bigint NOT NULL,
    frac    bigint NOT NULL DEFAULT 0 CHECK (frac >= 0),
    stamp   timestamptz NOT NULL,
    PRIMARY KEY (name, key, shard)
) WITH (fillfactor = 50);
COMMENT ON TABLE brickcat.rate_limit_state IS
  'Per limit, key and shard: the token balance, serialized by row locks; a missing row means a full bucket';
COMMENT ON COLUMN brickcat.rate_limit_state.tokens IS 'Whole tokens available; negative while tokens are reserved ahead';
COMMENT ON COLUMN brickcat.rate_limit_state.frac IS 'token_bucket: the fraction of the next token, in units of 1/period_us (exact, never rounded)';
COMMENT ON COLUMN brickcat.rate_limit_state.stamp IS 'token_bucket: when the balance was last refilled; fixed_window: start of the window the balance belongs to';

CREATE FUNCTION brickcat.define_rate_limit(
    name text, kind text, rate integer, period interval,
    capacity integer DEFAULT NULL, shards integer DEFAULT 1,
    max_reserved integer DEFAULT NULL, window_start timestamptz DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p_us      bigint;
    cap       integer := coalesce(capacity, rate);
    nshards   integer := coalesce(shards, 1);
    mres      integer := coalesce(max_reserved, coalesce(capacity, rate));
    anchor    bigint;
    old       brickcat.rate_limit_def;
BEGIN
    IF name IS NULL OR name = '' OR length(name) > 200 THEN
        RAISE EXCEPTION 'rate limit name must be a non-empty text of at most 200 characters'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the limit after what it protects, e.g. ''api:login''.';
    END IF;
    IF kind IS NULL OR kind NOT IN ('token_bucket', 'fixed_window') THEN
        RAISE EXCEPTION 'unknown rate limit kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''token_bucket'' or ''fixed_window''.';
    END IF;
    IF rate IS NULL OR rate <= 0 THEN
        RAISE EXCEPTION 'rate must be a positive number of tokens per period, not %', coalesce(rate::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'To block all calls, use a long period instead.';
    END IF;
    IF period IS NULL THEN
        RAISE EXCEPTION 'period must not be NULL'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give an interval such as ''1 second'' or ''1 day''.';
    END IF;
    -- compared as numeric first: a huge interval must not overflow bigint
    IF extract(epoch FROM period) * 1000000 NOT BETWEEN 0.5 AND 3650::numeric * 86400 * 1000000 THEN
        RAISE EXCEPTION 'period must be between 1 microsecond and 3650 days, not %', period
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a positive interval such as ''1 second'' or ''1 day''.';
    END IF;
    p_us := (extract(epoch FROM period) * 1000000)::bigint;
    IF cap <= 0 THEN
        RAISE EXCEPTION 'capacity must be positive, not %', cap
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave capacity NULL to use the rate.';
    END IF;
    IF kind = 'fixed_window' AND cap < rate THEN
        RAISE EXCEPTION 'a fixed window''s capacity (%) must be at least its rate (%)', cap, rate
            USING ERRCODE = 'invalid_parameter_value', HINT = 'capacity bounds how much unused allowance rolls over; leave it NULL for no rollover.';
    END IF;
    IF nshards < 1 OR nshards > 1024 OR nshards > rate OR nshards > cap THEN
        RAISE EXCEPTION 'shards must be between 1 and 1024 and at most the rate and the capacity, not %', nshards
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Every shard needs at least one token of rate and of capacity.';
    END IF;
    IF mres < 0 THEN
        RAISE EXCEPTION 'max_reserved must not be negative, not %', mres
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use 0 to refuse every reservation, NULL for the capacity.';
    END IF;
    IF window_start IS NOT NULL AND kind <> 'fixed_window' THEN
        RAISE EXCEPTION 'window_start applies to fixed_window limits only'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave window_start NULL for a token bucket.';
    END IF;
    SELECT * INTO old FROM brickcat.rate_limit_def d WHERE d.name = define_rate_limit.name FOR UPDATE;
    IF window_start IS NOT NULL THEN
        anchor := (extract(epoch FROM window_start - '2000-01-01 00:00:00+00'::timestamptz) * 1000000)::bigint;
        anchor := (anchor % p_us + p_us) % p_us;
    ELSIF FOUND AND old.period_us = p_us THEN
        anchor := old.anchor_us;
    ELSE
        -- Random alignment, so that independent limiters do not reset together.
        anchor := floor(random() * p_us)::bigint;
    END IF;

    IF old.name IS NOT NULL THEN
        IF old.kind <> kind OR old.shards <> nshards THEN
            -- Balances of another kind or sharding cannot be carried over.
            DELETE FROM brickcat.rate_limit_state s WHERE s.name = old.name;
        ELSIF old.period_us <> p_us OR old.anchor_us <> anchor THEN
            -- Drop fractions measured in the old period (never grants more).
            UPDATE brickcat.rate_limit_state s SET frac = 0 WHERE s.name = old.name;
        END IF;
        UPDATE brickcat.rate_limit_def d
           SET kind = define_rate_limit.kind, rate = define_rate_limit.rate,
               period = define_rate_limit.period, period_us = p_us, capacity = cap,
               shards = nshards, max_reserved = mres,
               anchor_us = anchor,
               updated_at = now()
         WHERE d.name = old.name;
    ELSE
        INSERT INTO brickcat.rate_limit_def (name, kind, rate, period, period_us, capacity,
                                             shards, max_reserved, anchor_us)
        VALUES (name, kind, rate, period, p_us, cap, nshards, mres, anchor);
    END IF;
END
$$;
COMMENT ON FUNCTION brickcat.define_rate_limit(text, text, integer, interval, integer, integer, integer, timestamptz) IS
  'Creates or changes a rate limit: token_bucket (continuous refill of rate per period up to capacity) or fixed_window (rate per aligned window, unused allowance rolling over up to capacity), split over shards; max_reserved bounds reservations (default: the capacity); window_start aligns fixed windows (default: random within the period)';

CREATE FUNCTION brickcat.rate_limit(name text, key text DEFAULT '', count integer DEFAULT 1,
                                    reserve boolean DEFAULT false)
    RETURNS TABLE (ok boolean, retry_after interval)
    AS 'MODULE_PATHNAME', 'bc_rate_limit_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION brickcat.rate_limit(text, text, integer, boolean) IS
  'Takes count tokens of limit name for key in the caller''s transaction (a rollback returns them). Refused: ok is false, nothing is debited and retry_after says when to retry. With reserve the tokens are debited now (up to max_reserved ahead) and retry_after says when the caller may act. Call it in FROM: SELECT * FROM brickcat.rate_limit(...)';

CREATE FUNCTION brickcat.rate_limit_status(name text, key text DEFAULT '',
    OUT kind text, OUT available numeric, OUT capacity integer, OUT reserved bigint,
    OUT shards integer, OUT next_token_at timestamptz, OUT full_at timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_rate_limit_status_sql'
    LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.rate_limit_status(text, text) IS
  'State of a limit for a key now, without debiting: available tokens (exact, with the fraction of the next one), capacity, tokens reserved ahead, when the next whole token arrives (NULL when full) and when the bucket is full again';

CREATE FUNCTION brickcat.reset_rate_limit(name text, key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM 1 FROM brickcat.rate_limit_def d WHERE d.name = reset_rate_limit.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rate limit "%" does not exist', name
            USING ERRCODE = 'undefined_object', HINT = 'Define it with brickcat.define_rate_limit(); see brickcat.rate_limit_def.';
    END IF;
    DELETE FROM brickcat.rate_limit_state s
     WHERE s.name = reset_rate_limit.name AND (reset_rate_limit.key IS NULL OR s.key = reset_rate_limit.key);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION brickcat.reset_rate_limit(text, text) IS
  'Forgets the state of a limit for one key (all keys when key is NULL), so it starts full again; returns the number of shard rows removed';

CREATE FUNCTION brickcat.drop_rate_limit(name text) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (DELETE FROM brickcat.rate_limit_def d WHERE d.name = drop_rate_limit.name RETURNING 1)
    SELECT count(*) > 0 FROM d
$$;
COMMENT ON FUNCTION brickcat.drop_rate_limit(text) IS
  'Removes a rate limit and all its state; false when it did not exist';

-------------------------------------------------------------------------------
-- The BrickLink quota budget
-------------------------------------------------------------------------------
CREATE TABLE brickcat.quota_ledger (
    call_at   timestamptz NOT NULL,
    priority  brickcat.priority NOT NULL,
    calls     integer NOT NULL CHECK (calls > 0),
    target    text
);
COMMENT ON TABLE brickcat.quota_ledger IS
  'Every BrickLink call attempt (retries included), debited in a committed transaction before it is sent; pruned after 25 hours';
COMMENT ON COLUMN brickcat.quota_ledger.call_at IS 'When the call was debited (brickcat''s clock)';
COMMENT ON COLUMN brickcat.quota_ledger.calls IS 'Number of calls this debit covers';
COMMENT ON COLUMN brickcat.quota_ledger.target IS 'What the call fetches (fetch target key), for the record';
CREATE INDEX quota_ledger_call_at_idx ON brickcat.quota_ledger (call_at);
COMMENT ON INDEX brickcat.quota_ledger_call_at_idx IS 'Sliding-window arithmetic over the ledger';

CREATE TABLE brickcat.quota_state (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    horizon            timestamptz NOT NULL DEFAULT '-infinity',
    calls              bigint NOT NULL DEFAULT 0,
    interactive_calls  bigint NOT NULL DEFAULT 0,
    on_demand_calls    bigint NOT NULL DEFAULT 0,
    background_calls   bigint NOT NULL DEFAULT 0,
    pruned_at          timestamptz NOT NULL DEFAULT '-infinity'
);
COMMENT ON TABLE brickcat.quota_state IS
  'Running totals of the quota ledger at or after horizon (one row, locked by every debit so debits are serialized)';
COMMENT ON COLUMN brickcat.quota_state.horizon IS 'Ledger rows before this instant are no longer counted';
COMMENT ON COLUMN brickcat.quota_state.calls IS 'Calls in the ledger at or after horizon';
COMMENT ON COLUMN brickcat.quota_state.interactive_calls IS 'Of calls, those of class interactive';
COMMENT ON COLUMN brickcat.quota_state.on_demand_calls IS 'Of calls, those of class on_demand';
COMMENT ON COLUMN brickcat.quota_state.background_calls IS 'Of calls, those of class background';
COMMENT ON COLUMN brickcat.quota_state.pruned_at IS 'When old ledger rows were last deleted';
INSERT INTO brickcat.quota_state DEFAULT VALUES;

CREATE TABLE brickcat.quota_throttle (
    throttled_at  timestamptz NOT NULL,
    until         timestamptz NOT NULL
);
COMMENT ON TABLE brickcat.quota_throttle IS
  'Upstream throttling events (HTTP 429, meta.code 429, gateway page) and how long the client paused; pruned after 25 hours';
CREATE INDEX quota_throttle_at_idx ON brickcat.quota_throttle (throttled_at);
COMMENT ON INDEX brickcat.quota_throttle_at_idx IS 'Counting recent throttle events';

CREATE FUNCTION brickcat.quota_try_acquire(priority brickcat.priority DEFAULT 'interactive',
    ncalls integer DEFAULT 1, target text DEFAULT NULL,
    OUT ok boolean, OUT retry_at timestamptz, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_quota_try_acquire_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.quota_try_acquire(brickcat.priority, integer, text) IS
  'Debits ncalls BrickLink calls of a priority class in this transaction, as the worker does before each call; refused: ok is false, nothing is debited, retry_at says when it could succeed and reason is THROTTLED, QUOTA_EXHAUSTED, CLASS_SHARE or BURST. Superuser only: it spends real quota';
REVOKE ALL ON FUNCTION brickcat.quota_try_acquire(brickcat.priority, integer, text) FROM PUBLIC;

CREATE FUNCTION brickcat.quota_note_throttle(until timestamptz) RETURNS void
    AS 'MODULE_PATHNAME', 'bc_quota_note_throttle_sql'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.quota_note_throttle(timestamptz) IS
  'Records an upstream throttling event and pauses all BrickLink calls until the given time (at most 24 hours ahead), as the worker does on HTTP 429. Superuser only';
REVOKE ALL ON FUNCTION brickcat.quota_note_throttle(timestamptz) FROM PUBLIC;

CREATE FUNCTION brickcat.quota_status(
    OUT quota integer, OUT calls_24h bigint, OUT remaining bigint,
    OUT interactive_calls bigint, OUT on_demand_calls bigint, OUT background_calls bigint,
    OUT background_limit integer, OUT on_demand_limit integer, OUT reserved integer,
    OUT max_calls_per_second integer, OUT next_free_slot timestamptz,
    OUT throttled_until timestamptz, OUT throttle_events_24h bigint, OUT percent_used numeric)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_quota_status_sql'
    LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.quota_status() IS
  'The BrickLink budget now: see the view brickcat.quota';

CREATE VIEW brickcat.quota AS SELECT * FROM brickcat.quota_status();
COMMENT ON VIEW brickcat.quota IS
  'BrickLink budget over the last 24 hours (sliding): quota, calls, remaining, calls per class, class limits, calls reserved for readers (kept from background work), the next instant an interactive call may go out, throttle pause and events, percent used';
-------------------------------------------------------------------------------
-- The cache-first read API (src/read_*.c)
-------------------------------------------------------------------------------
CREATE TYPE brickcat.item_read AS (
    item_type       text,
    item_no         text,
    name            text,
    category_id     integer,
    alternate_no    text,
    image_url       text,
    thumbnail_url   text,
    weight          numeric,
    dim_x           numeric,
    dim_y           numeric,
    dim_z           numeric,
    year_released   smallint,
    is_obsolete     boolean,
    decoration      brickcat.decoration,
    is_printed      boolean,
    description     text,
    language_code   text,
    fetched_at      timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    origin          brickcat.origin,
    color_ids       integer[],
    freshness       brickcat.freshness,
    source          text,
    next_refresh_at timestamptz,
    error_code      text,
    error_message   text
);
COMMENT ON TYPE brickcat.item_read IS
  'A catalog item as the read API serves it: the columns of brickcat.item, the ids of its known colors (NULL until fetched), and the annotations freshness, source, next_refresh_at, error_code, error_message';

CREATE TYPE brickcat.price_read AS (
    item_type       text,
    item_no         text,
    color_id        integer,
    guide_type      text,
    condition       char(1),
    currency        char(3),
    min_price       numeric(12,4),
    max_price       numeric(12,4),
    avg_price       numeric(12,4),
    qty_avg_price   numeric(12,4),
    unit_quantity   integer,
    total_quantity  integer,
    has_sales       boolean,
    fetched_at      timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    freshness       brickcat.freshness,
    source          text,
    next_refresh_at timestamptz,
    error_code      text,
    error_message   text
);
COMMENT ON TYPE brickcat.price_read IS
  'A price guide as the read API serves it: the columns of brickcat.price_guide and the annotations';

CREATE TYPE brickcat.known_color_read AS (
    color_id        integer,
    color_name      text,
    rgb             text,
    quantity        integer,
    freshness       brickcat.freshness,
    source          text,
    fetched_at      timestamptz,
    next_refresh_at timestamptz,
    error_code      text,
    error_message   text
);
COMMENT ON TYPE brickcat.known_color_read IS
  'One known color of an item (id, name, hex RGB, BrickLink quantity) with the annotations of the item''s color list';

CREATE FUNCTION brickcat.get_item(item_no text, item_type text DEFAULT 'PART',
                                  wait interval DEFAULT NULL)
    RETURNS brickcat.item_read
    AS 'MODULE_PATHNAME', 'bc_get_item_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.get_item(text, text, interval) IS
  'Cache-first item lookup: fresh -> cache; stale -> served, refreshed in the background; expired or missing -> fetched on demand, waiting at most wait (NULL: brickcat.read_wait, 0: never block); says what it served in source/error_code';

CREATE FUNCTION brickcat.part(item_no text)
    RETURNS brickcat.item_read
    AS 'MODULE_PATHNAME', 'bc_part_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.part(text) IS
  'Shorthand for brickcat.get_item(item_no, ''PART'')';

CREATE FUNCTION brickcat.get_price(item_no text, color_id integer DEFAULT 0,
                                   guide_type text DEFAULT 'sold', condition text DEFAULT 'N',
                                   item_type text DEFAULT 'PART', wait interval DEFAULT NULL)
    RETURNS brickcat.price_read
    AS 'MODULE_PATHNAME', 'bc_get_price_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.get_price(text, integer, text, text, text, interval) IS
  'Cache-first price guide lookup (color 0 = all colors; guide_type sold|stock; condition N|U), with the same freshness rules and annotations as brickcat.get_item';

CREATE FUNCTION brickcat.get_known_colors(item_no text, item_type text DEFAULT 'PART',
                                          wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.known_color_read
    AS 'MODULE_PATHNAME', 'bc_get_known_colors_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION brickcat.get_known_colors(text, text, interval) IS
  'Cache-first list of the colors an item comes in: one row per color; a single row with NULL color columns when no color is known (see source and error_message)';

CREATE FUNCTION brickcat.get_items(item_nos text[], item_type text DEFAULT 'PART',
                                   wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.item_read
    AS 'MODULE_PATHNAME', 'bc_get_items_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.get_items(text[], text, interval) IS
  'Batch brickcat.get_item: one row per element in input order; every key needing a fetch is requested at once and the whole call waits at most wait';

CREATE FUNCTION brickcat.get_prices(item_nos text[], color_id integer DEFAULT 0,
                                    guide_type text DEFAULT 'sold', condition text DEFAULT 'N',
                                    item_type text DEFAULT 'PART', wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.price_read
    AS 'MODULE_PATHNAME', 'bc_get_prices_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.get_prices(text[], integer, text, text, text, interval) IS
  'Batch brickcat.get_price, one color for all items: one row per element in input order, waiting at most wait in total';

CREATE FUNCTION brickcat.get_prices(item_nos text[], color_ids integer[],
                                    guide_type text DEFAULT 'sold', condition text DEFAULT 'N',
                                    item_type text DEFAULT 'PART', wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.price_read
    AS 'MODULE_PATHNAME', 'bc_get_prices_colors_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.get_prices(text[], integer[], text, text, text, interval) IS
  'Batch brickcat.get_price with one color per item: color_ids[i] is the color of item_nos[i] (for inventories of lots)';

CREATE FUNCTION brickcat.validate_freshness(item_nos text[], item_type text DEFAULT 'PART')
    RETURNS TABLE (item_no text, dataset text, target text, freshness brickcat.freshness,
                   fetched_at timestamptz, next_refresh_at timestamptz, queued text,
                   note text)
    AS 'MODULE_PATHNAME', 'bc_validate_freshness_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.validate_freshness(text[], text) IS
  'Per item: freshness of its data, known colors and each stored price guide, when each is due, and the refresh it queued (background for stale, on_demand for expired or missing); never waits';
-------------------------------------------------------------------------------
-- Metrics (src/stats.c)
-------------------------------------------------------------------------------
CREATE FUNCTION brickcat.stat_cache(
    OUT hits bigint, OUT stale_served bigint, OUT fallbacks bigint, OUT pending bigint,
    OUT not_found bigint, OUT errors bigint, OUT upstream_served bigint,
    OUT coalesced_waits bigint, OUT memo_hits bigint, OUT waits bigint,
    OUT wait_time_ms double precision, OUT requests bigint, OUT request_overflow bigint,
    OUT stats_reset timestamptz)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_stat_cache_sql' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.stat_cache() IS
  'Read-path counters since brickcat.stats_reset() (shared memory; zero when brickcat is not preloaded)';

CREATE VIEW brickcat.stat_cache AS SELECT * FROM brickcat.stat_cache();
COMMENT ON VIEW brickcat.stat_cache IS
  'Reads served per source (hits = fresh from cache, stale, fallbacks, pending, not_found, errors, upstream), requests joined by concurrent readers (coalesced_waits), memo hits, waits and their total time, on-demand requests and those that overflowed into the queue table';

CREATE FUNCTION brickcat.stats_reset() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'bc_stats_reset_sql' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.stats_reset() IS
  'Zeroes brickcat''s cache and upstream counters; returns the reset time (brickcat_admin and superusers)';

CREATE FUNCTION brickcat.stat_freshness(
    OUT dataset text, OUT fresh bigint, OUT stale bigint, OUT expired bigint,
    OUT missing bigint, OUT total bigint)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ts  timestamptz := brickcat.now();
    stale_b timestamptz := now_ts - extract(epoch FROM current_setting('brickcat.stale_after')::interval)
                                    * interval '1 second';
    exp_b   timestamptz := now_ts - extract(epoch FROM current_setting('brickcat.expire_after')::interval)
                                    * interval '1 second';
BEGIN
    -- Counted by ranges of the timestamp (index scans on the freshness
    -- indexes), not by classifying every row.
    RETURN QUERY
    SELECT x.d, x.f, x.s, x.e, x.m, x.f + x.s + x.e + x.m FROM (SELECT 'item'::text,
           (SELECT count(*) FROM brickcat.item WHERE fetched_at > stale_b),
           (SELECT count(*) FROM brickcat.item WHERE fetched_at > exp_b AND fetched_at <= stale_b),
           (SELECT count(*) FROM brickcat.item WHERE fetched_at <= exp_b),
           (SELECT count(*) FROM brickcat.item WHERE fetched_at IS NULL),
           0) AS x(d, f, s, e, m, z);
    RETURN QUERY
    SELECT x.d, x.f, x.s, x.e, x.m, x.f + x.s + x.e + x.m FROM (SELECT 'colors'::text,
           (SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at > stale_b),
           (SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at > exp_b AND colors_fetched_at <= stale_b),
           (SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at <= exp_b),
           (SELECT count(*) FROM brickcat.item i
             WHERE NOT EXISTS (SELECT FROM brickcat.item_color_set s
                                WHERE s.item_type = i.item_type AND s.item_no = i.item_no
                                  AND s.colors_fetched_at IS NOT NULL)),
           0) AS x(d, f, s, e, m, z);
    RETURN QUERY
    SELECT x.d, x.f, x.s, x.e, x.m, x.f + x.s + x.e + x.m FROM (SELECT 'price'::text,
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at > stale_b),
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at > exp_b AND fetched_at <= stale_b),
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at <= exp_b),
           (SELECT count(*) FROM brickcat.price_guide WHERE fetched_at IS NULL),
           0) AS x(d, f, s, e, m, z);
END
$$;
COMMENT ON FUNCTION brickcat.stat_freshness() IS
  'How much of the catalog is fresh, stale, expired or missing, per dataset (item, colors, price)';

CREATE VIEW brickcat.stat_freshness AS SELECT * FROM brickcat.stat_freshness();
COMMENT ON VIEW brickcat.stat_freshness IS
  'How much of the catalog is fresh, stale, expired or missing per dataset; colors.missing counts catalog items whose color list was never fetched, price.missing guides with failed attempts only';

CREATE FUNCTION brickcat.upstream_state(
    OUT breaker_state text, OUT breaker_failures integer, OUT breaker_changed_at timestamptz,
    OUT throttled_until timestamptz, OUT auth_failed boolean, OUT throttles bigint,
    OUT backoffs bigint, OUT retries bigint, OUT breaker_opens bigint)
    RETURNS record
    AS 'MODULE_PATHNAME', 'bc_upstream_state_sql' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.upstream_state() IS
  'The worker''s view of BrickLink from shared memory: circuit breaker, throttle pause, rejected credentials, and throttle/backoff/retry/breaker counters since brickcat.stats_reset()';

CREATE VIEW brickcat.stat_upstream AS
SELECT s.*, u.breaker_state, u.throttled_until, u.auth_failed
  FROM (SELECT CASE WHEN grouping(c.endpoint) = 1 THEN 'all' ELSE c.endpoint::text END AS endpoint,
               count(*) AS calls,
               count(*) FILTER (WHERE c.outcome = 'ok') AS ok,
               count(*) FILTER (WHERE c.outcome = 'not_found') AS not_found,
               count(*) FILTER (WHERE c.outcome = 'throttled') AS throttled,
               count(*) FILTER (WHERE c.outcome NOT IN ('ok', 'not_found', 'throttled')) AS failed,
               count(*) FILTER (WHERE c.outcome IS NULL) AS in_flight,
               count(*) FILTER (WHERE c.attempt > 1) AS retries,
               round((percentile_cont(0.5) WITHIN GROUP (ORDER BY c.duration_us) / 1000)::numeric, 1) AS p50_ms,
               round((percentile_cont(0.95) WITHIN GROUP (ORDER BY c.duration_us) / 1000)::numeric, 1) AS p95_ms,
               round((percentile_cont(0.99) WITHIN GROUP (ORDER BY c.duration_us) / 1000)::numeric, 1) AS p99_ms,
               round((max(c.duration_us) / 1000.0)::numeric, 1) AS max_ms,
               min(c.started_at) AS since
          FROM brickcat.api_call c
         GROUP BY GROUPING SETS ((c.endpoint), ())) s
 CROSS JOIN brickcat.upstream_state() u;
COMMENT ON VIEW brickcat.stat_upstream IS
  'BrickLink calls per endpoint from the call log brickcat.api_call (outcomes, retries, latency percentiles), a total row ''all'', and the breaker/throttle/credential state';
-------------------------------------------------------------------------------
-- Bulk import of BrickLink catalog downloads (src/import.c, src/import_parse.c)
-------------------------------------------------------------------------------
CREATE TABLE brickcat.item_type (
    type_code   text PRIMARY KEY,
    type_name   text NOT NULL,
    item_type   text,
    fetched_at  timestamptz,
    origin      brickcat.origin NOT NULL DEFAULT 'import'
);
COMMENT ON TABLE brickcat.item_type IS
  'BrickLink item types from the catalog download: letter code (P), BrickLink''s name (Part) and the API''s type name (PART)';

CREATE TABLE brickcat.item_code (
    element_id  text PRIMARY KEY,
    item_type   text NOT NULL,
    item_no     text NOT NULL,
    color_name  text,
    color_id    integer,
    fetched_at  timestamptz,
    origin      brickcat.origin NOT NULL DEFAULT 'import'
);
COMMENT ON TABLE brickcat.item_code IS
  'LEGO element ids from BrickLink''s codes download: item, color (by name as BrickLink gives it, and its id when brickcat.color knows the name) and element id';
CREATE INDEX item_code_item_idx ON brickcat.item_code (item_type, item_no);
COMMENT ON INDEX brickcat.item_code_item_idx IS 'Element ids of an item';

CREATE FUNCTION brickcat.import_session() RETURNS text
    AS 'MODULE_PATHNAME', 'bc_import_session_sql' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.import_session() IS
  'Identifies this session in brickcat.import_staging (backend pid and start time, so a reused pid never sees old lines)';

CREATE UNLOGGED TABLE brickcat.import_staging (
    line_no  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session  text NOT NULL DEFAULT brickcat.import_session(),
    line     text
);
COMMENT ON TABLE brickcat.import_staging IS
  'Client-side imports: \copy brickcat.import_staging (line) FROM ''file'' WITH (FORMAT csv, DELIMITER E''\x1f'', QUOTE E''\x1e''), then SELECT * FROM brickcat.import_staged(); each session sees only its own lines';
COMMENT ON SEQUENCE brickcat.import_staging_line_no_seq IS 'Line order of brickcat.import_staging';
CREATE INDEX import_staging_session_idx ON brickcat.import_staging (session);
COMMENT ON INDEX brickcat.import_staging_session_idx IS 'A session''s staged lines';
ALTER TABLE brickcat.import_staging ENABLE ROW LEVEL SECURITY;
CREATE POLICY import_staging_own ON brickcat.import_staging
    USING (session = brickcat.import_session())
    WITH CHECK (session = brickcat.import_session());
COMMENT ON POLICY import_staging_own ON brickcat.import_staging IS 'A session sees and consumes only the lines it staged';
GRANT SELECT, INSERT, DELETE ON brickcat.import_staging TO PUBLIC;
GRANT USAGE ON SEQUENCE brickcat.import_staging_line_no_seq TO PUBLIC;

CREATE FUNCTION brickcat.import_catalog(path text, kind text DEFAULT NULL)
    RETURNS TABLE (kind text, inserted bigint, updated bigint, unchanged bigint, rejected bigint)
    AS 'MODULE_PATHNAME', 'bc_import_catalog_sql' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.import_catalog(text, text) IS
  'Imports a BrickLink catalog download (XML or tab-delimited: colors, categories, itemtypes, items, codes; kind detected when NULL, or parts/sets/minifigs... for item files without a type) from a server file, dated by its mtime; superusers and pg_read_server_files only. rejected = rows kept because the catalog holds newer data, or repeated in the file';

CREATE FUNCTION brickcat.import_staged(kind text DEFAULT NULL, fetched_at timestamptz DEFAULT NULL)
    RETURNS TABLE (kind text, inserted bigint, updated bigint, unchanged bigint, rejected bigint)
    AS 'MODULE_PATHNAME', 'bc_import_staged_sql' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.import_staged(text, timestamptz) IS
  'Imports the catalog download this session copied into brickcat.import_staging (and removes it), dated fetched_at (default: now); same formats and counts as brickcat.import_catalog';
-------------------------------------------------------------------------------
-- Read demand (src/demand.c), refresh sweeps (src/sweep.c), pruning and
-- their pg_cron schedule
-------------------------------------------------------------------------------
CREATE TABLE brickcat.item_demand (
    item_type       text COLLATE "C" NOT NULL,
    item_no         text COLLATE "C" NOT NULL,
    score           double precision NOT NULL CHECK (score >= 0),
    updated_at      timestamptz NOT NULL,
    demanded_until  timestamptz NOT NULL,
    PRIMARY KEY (item_type, item_no)
) WITH (fillfactor = 80);
COMMENT ON TABLE brickcat.item_demand IS
  'Read demand per item: reads counted by each backend, passed on about every brickcat.demand_flush_interval and written by brickcat''s worker about every brickcat.demand_write_interval (by the backend itself when the worker does not run in this database), decayed with half-life brickcat.demand_half_life; sweeps refresh demanded items first';
COMMENT ON COLUMN brickcat.item_demand.score IS
  'Decayed read count as of updated_at: each read adds 1, halved every brickcat.demand_half_life (see brickcat.demand for the score now)';
COMMENT ON COLUMN brickcat.item_demand.updated_at IS 'When score was last written (brickcat''s clock)';
COMMENT ON COLUMN brickcat.item_demand.demanded_until IS
  'When the decayed score falls below brickcat.demand_threshold (updated_at + half-life * log2(score / threshold)), computed when written; the item counts as demanded until then';
-- No index on demanded_until: every read's flush rewrites score, updated_at
-- and demanded_until, and with only the primary key indexed those updates are
-- HOT (fillfactor 80), about a third cheaper per row.  Sweeps probe the table
-- by primary key; only the periodic prune scans it.

CREATE FUNCTION brickcat.record_demand(item_nos text[], item_type text DEFAULT 'PART')
    RETURNS integer
    AS 'MODULE_PATHNAME', 'bc_record_demand_sql'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.record_demand(text[], text) IS
  'Counts one read of each item number (NULLs skipped) as the read functions do, and writes the counts to brickcat.item_demand now when this transaction may write (else with a later read); returns the number of reads counted';

CREATE FUNCTION brickcat.demand_score(score double precision, updated_at timestamptz)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'bc_demand_score_sql'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.demand_score(double precision, timestamptz) IS
  'A demand score written at updated_at, decayed to brickcat.now() with half-life brickcat.demand_half_life';

CREATE FUNCTION brickcat.demand_dropped()
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'bc_demand_dropped_sql'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.demand_dropped() IS
  'Reads not counted as demand since the server started (with brickcat preloaded; else in this session) because the reading backend''s table of pending counts was full while the worker could take no more (it was behind)';

CREATE VIEW brickcat.demand AS
    SELECT d.item_type, d.item_no,
           brickcat.demand_score(d.score, d.updated_at) AS score,
           d.demanded_until > brickcat.now() AS demanded,
           d.demanded_until, d.updated_at
      FROM brickcat.item_demand d;
COMMENT ON VIEW brickcat.demand IS
  'Read demand per item now: decayed score, whether sweeps treat the item as demanded, and until when';

CREATE FUNCTION brickcat.refresh_sweep(max_jobs integer DEFAULT NULL)
    RETURNS TABLE (reason text, jobs integer)
    AS 'MODULE_PATHNAME', 'bc_refresh_sweep_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.refresh_sweep(integer) IS
  'Queues background refreshes of expired, then stale item data, color lists and stored price guides (with brickcat.sweep_strategy = demand: demanded items first in each), oldest first, skipping open jobs, recent not-found answers and recent failures; at most max_jobs and the background share of the budget left in the last 24 hours minus open jobs. Returns the jobs queued per reason';

CREATE FUNCTION brickcat.sweep_queries(max_jobs integer DEFAULT 100)
    RETURNS TABLE (reason text, query text)
    AS 'MODULE_PATHNAME', 'bc_sweep_queries_sql'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.sweep_queries(integer) IS
  'The statements brickcat.refresh_sweep would run now, in order, each queueing at most max_jobs jobs: for EXPLAIN';

CREATE FUNCTION brickcat.refresh_reference_lists() RETURNS integer
    AS 'MODULE_PATHNAME', 'bc_refresh_reference_lists_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.refresh_reference_lists() IS
  'Queues background refreshes of the color list and the category list (unless already queued); returns how many jobs it queued';

CREATE FUNCTION brickcat.prune(older_than interval DEFAULT NULL)
    RETURNS TABLE (relation text, deleted bigint)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cutoff timestamptz;
    n bigint;
BEGIN
    older_than := coalesce(older_than, current_setting('brickcat.call_log_retention')::interval);
    IF older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval, not %', older_than
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give how much history to keep, e.g. ''14 days''; NULL keeps brickcat.call_log_retention.';
    END IF;
    cutoff := brickcat.now() - older_than;

    DELETE FROM brickcat.fetch_queue q
     WHERE q.state IN ('done', 'failed') AND coalesce(q.finished_at, q.enqueued_at) < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    relation := 'fetch_queue'; deleted := n; RETURN NEXT;

    DELETE FROM brickcat.api_call c WHERE c.started_at < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    relation := 'api_call'; deleted := n; RETURN NEXT;

    -- Not-found answers stop counting after brickcat.not_found_ttl.
    DELETE FROM brickcat.not_found nf
     WHERE nf.checked_at <= brickcat.now() - current_setting('brickcat.not_found_ttl')::interval;
    GET DIAGNOSTICS n = ROW_COUNT;
    relation := 'not_found'; deleted := n; RETURN NEXT;

    DELETE FROM brickcat.item_demand d WHERE d.demanded_until < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    relation := 'item_demand'; deleted := n; RETURN NEXT;
END
$$;
COMMENT ON FUNCTION brickcat.prune(interval) IS
  'Deletes finished fetch jobs, call log rows and demand that stopped counting before brickcat.now() - older_than (NULL: brickcat.call_log_retention), and not-found answers older than brickcat.not_found_ttl, as the worker does in passing; returns the rows deleted per relation';

-------------------------------------------------------------------------------
-- pg_cron schedule (pg_cron is optional: everything is called dynamically)
-------------------------------------------------------------------------------
CREATE FUNCTION brickcat.require_pg_cron() RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cron_db text := current_setting('cron.database_name', true);
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RETURN;
    END IF;
    IF cron_db IS NOT NULL AND cron_db <> '' AND cron_db <> current_database() THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('pg_cron runs in database "%s" (cron.database_name).', cron_db),
                  HINT = format('In database "%s", schedule the sweep with SELECT cron.schedule_in_database(''brickcat-sweep'', ''*/15 * * * *'', ''SELECT brickcat.refresh_sweep()'', %L);',
                                cron_db, current_database());
    END IF;
    RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = format('Install the postgresql-15-cron package, add pg_cron to shared_preload_libraries, set cron.database_name = %L, restart the server and run CREATE EXTENSION pg_cron in this database.',
                            current_database());
END
$$;
COMMENT ON FUNCTION brickcat.require_pg_cron() IS
  'Raises an error (SQLSTATE 55000) with a hint on how to install pg_cron unless the pg_cron extension is installed in this database';

CREATE FUNCTION brickcat.schedule_sweeps(schedule text DEFAULT '*/15 * * * *',
                                         reference_schedule text DEFAULT '17 3 * * 0',
                                         prune_schedule text DEFAULT '43 4 * * *')
    RETURNS TABLE (job_name text, job_schedule text, command text, jobid bigint)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM brickcat.require_pg_cron();
    FOR job_name, job_schedule, command IN
        SELECT * FROM (VALUES
            ('brickcat-sweep', schedule, 'SELECT brickcat.refresh_sweep()'),
            ('brickcat-reference-lists', reference_schedule, 'SELECT brickcat.refresh_reference_lists()'),
            ('brickcat-prune', prune_schedule, 'SELECT brickcat.prune()')) AS v
    LOOP
        IF job_schedule IS NULL OR btrim(job_schedule) = '' THEN
            RAISE EXCEPTION 'schedule of % must not be empty', job_name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give a cron schedule such as ''*/15 * * * *''; brickcat.unschedule_sweeps() removes the jobs.';
        END IF;
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING job_name, job_schedule, command;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION brickcat.schedule_sweeps(text, text, text) IS
  'Creates or updates the pg_cron jobs brickcat-sweep (brickcat.refresh_sweep(), default every 15 minutes), brickcat-reference-lists (color and category lists, weekly) and brickcat-prune (job history and call log, daily), run as the calling role; fails with a hint when pg_cron is not installed in this database';

CREATE FUNCTION brickcat.unschedule_sweeps() RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text;
    n integer := 0;
BEGIN
    PERFORM brickcat.require_pg_cron();
    FOR name IN EXECUTE
        'SELECT jobname FROM cron.job WHERE jobname = ANY ($1) AND username = current_user ORDER BY jobname'
        USING ARRAY['brickcat-sweep', 'brickcat-reference-lists', 'brickcat-prune']
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING name;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION brickcat.unschedule_sweeps() IS
  'Removes the pg_cron jobs brickcat.schedule_sweeps() created for the calling role; returns how many it removed';
-------------------------------------------------------------------------------
-- Tenant overlays: business-specific attributes on top of the global catalog
--
-- The catalog tables carry no tenant column.  A tenant's own data about an
-- item (notes, tags, where it is sorted, free-form attributes) lives in
-- brickcat.tenant_item, keyed by (tenant, item_type, item_no).  Which tenants
-- a role acts for comes from brickcat.tenant_member, which only brickcat_admin
-- writes.  Row-level security, forced so the table owner is bound too, lets a
-- role see and change only the overlay rows of tenants it is a member of
-- (pg_has_role ... 'MEMBER'); there is no setting a tenant could change to
-- switch tenants.  Privileges are granted in 90_security.sql.
-------------------------------------------------------------------------------
CREATE TABLE brickcat.tenant_member (
    tenant     text NOT NULL CHECK (tenant <> '' AND length(tenant) <= 63),
    role_name  name NOT NULL,
    PRIMARY KEY (tenant, role_name)
);
COMMENT ON TABLE brickcat.tenant_member IS
  'Which roles act for which tenant: members of role_name (pg_has_role MEMBER) see and write the tenant''s overlay rows; only brickcat_admin writes this table';
COMMENT ON COLUMN brickcat.tenant_member.role_name IS
  'A role (or group role); every role that is a member of it acts for the tenant. Rows naming a dropped role grant nothing';
CREATE INDEX tenant_member_role_idx ON brickcat.tenant_member (role_name);
COMMENT ON INDEX brickcat.tenant_member_role_idx IS 'Looks up the tenants of a role';

CREATE TABLE brickcat.tenant_item (
    tenant      text NOT NULL CHECK (tenant <> '' AND length(tenant) <= 63),
    item_type   text NOT NULL
                CHECK (item_type IN ('PART', 'SET', 'MINIFIG', 'BOOK', 'GEAR', 'CATALOG',
                                     'INSTRUCTION', 'UNSORTED_LOT', 'ORIGINAL_BOX')),
    item_no     text NOT NULL CHECK (item_no <> '' AND length(item_no) <= 64),
    notes       text,
    tags        text[] NOT NULL DEFAULT '{}' CHECK (array_position(tags, NULL) IS NULL),
    sort_grid   text,
    sort_bin    text,
    attributes  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, item_type, item_no)
);
COMMENT ON TABLE brickcat.tenant_item IS
  'A tenant''s overlay on a catalog item: notes, tags, sort grid and bin, free-form attributes; row-level security (forced) limits every role to the tenants it is a member of';
COMMENT ON COLUMN brickcat.tenant_item.tenant IS 'The tenant the row belongs to (see brickcat.tenant_member)';
COMMENT ON COLUMN brickcat.tenant_item.tags IS 'Free tags, e.g. {bulk,moc-42}; indexed for tags @> queries';
COMMENT ON COLUMN brickcat.tenant_item.sort_grid IS 'Sorting system or grid the tenant keeps the item in';
COMMENT ON COLUMN brickcat.tenant_item.sort_bin IS 'Bin or drawer within the grid';
COMMENT ON COLUMN brickcat.tenant_item.attributes IS 'Free-form attributes as a JSON object';
COMMENT ON COLUMN brickcat.tenant_item.updated_at IS 'Last change of the row, kept by a trigger';
CREATE INDEX tenant_item_tags_idx ON brickcat.tenant_item USING gin (tags);
COMMENT ON INDEX brickcat.tenant_item_tags_idx IS 'Finds a tenant''s items by tag (tags @> ARRAY[...])';
CREATE INDEX tenant_item_bin_idx ON brickcat.tenant_item (tenant, sort_grid, sort_bin);
COMMENT ON INDEX brickcat.tenant_item_bin_idx IS 'Lists what a tenant keeps in a grid or bin';

CREATE FUNCTION brickcat.tenant_item_touch() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION brickcat.tenant_item_touch() IS
  'Trigger: sets brickcat.tenant_item.updated_at on every update';
CREATE TRIGGER tenant_item_touch BEFORE UPDATE ON brickcat.tenant_item
    FOR EACH ROW EXECUTE FUNCTION brickcat.tenant_item_touch();
COMMENT ON TRIGGER tenant_item_touch ON brickcat.tenant_item IS 'Keeps updated_at current';

-- Security invoker on purpose: pg_has_role(current_user ...) must see the
-- calling role, which a SECURITY DEFINER function would replace by its owner.
CREATE FUNCTION brickcat.current_tenants() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(pg_catalog.array_agg(DISTINCT m.tenant ORDER BY m.tenant), '{}')
      FROM brickcat.tenant_member m
      JOIN pg_catalog.pg_roles r ON r.rolname = m.role_name
     WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
$$;
COMMENT ON FUNCTION brickcat.current_tenants() IS
  'The tenants the current role acts for: those with a brickcat.tenant_member row naming a role it is a member of';

ALTER TABLE brickcat.tenant_member ENABLE ROW LEVEL SECURITY;
ALTER TABLE brickcat.tenant_member FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_member_own ON brickcat.tenant_member FOR SELECT
    USING (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname = role_name
                      AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')));
COMMENT ON POLICY tenant_member_own ON brickcat.tenant_member IS
  'A role sees the memberships it holds itself (directly or through group roles)';
CREATE POLICY tenant_member_admin ON brickcat.tenant_member
    USING (pg_catalog.pg_has_role(current_user, 'brickcat_admin', 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(current_user, 'brickcat_admin', 'MEMBER'));
COMMENT ON POLICY tenant_member_admin ON brickcat.tenant_member IS
  'brickcat_admin sees and manages every membership';

ALTER TABLE brickcat.tenant_item ENABLE ROW LEVEL SECURITY;
ALTER TABLE brickcat.tenant_item FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_item_member ON brickcat.tenant_item
    USING (tenant = ANY ((SELECT brickcat.current_tenants())::text[]))
    WITH CHECK (tenant = ANY ((SELECT brickcat.current_tenants())::text[]));
COMMENT ON POLICY tenant_item_member ON brickcat.tenant_item IS
  'Rows of the tenants the current role is a member of, for reading and writing alike';

CREATE VIEW brickcat.my_items WITH (security_invoker = true) AS
SELECT o.tenant, o.item_type, o.item_no,
       i.name, i.category_id, c.category_name, i.weight, i.dim_x, i.dim_y, i.dim_z,
       i.decoration, i.is_obsolete, i.image_url,
       brickcat.freshness(i.fetched_at) AS freshness,
       o.notes, o.tags, o.sort_grid, o.sort_bin, o.attributes, o.updated_at
  FROM brickcat.tenant_item o
  LEFT JOIN brickcat.item i ON i.item_type = o.item_type AND i.item_no = o.item_no
  LEFT JOIN brickcat.category c ON c.category_id = i.category_id;
COMMENT ON VIEW brickcat.my_items IS
  'The current role''s tenant overlays joined with the global catalog (catalog columns NULL until the item is fetched); security_invoker, so row-level security applies to the caller';
-------------------------------------------------------------------------------
-- Roles and privileges (keep this piece LAST: it grants on everything above)
--
-- brickcat_reader  calls the read functions, reads the catalog and the views,
--                  and keeps its tenants' overlays (row-level security).
-- brickcat_admin   is a brickcat_reader that may also queue refreshes, define
--                  rate limits, import, schedule sweeps and manage tenant
--                  memberships: EXECUTE on every function not kept back.
-- PUBLIC           gets nothing: not even USAGE on schema brickcat.
--
-- Privileges are driven by brickcat.access_rule and a default per object
-- kind, so a function added by any install piece gets admin-only EXECUTE
-- unless the rule table says otherwise.  Roles are cluster-wide: created here
-- only when missing, NOLOGIN, and left in place by DROP EXTENSION.
-------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'brickcat_reader') THEN
        CREATE ROLE brickcat_reader NOLOGIN;
        COMMENT ON ROLE brickcat_reader IS
          'brickcat: may call the read functions, read the catalog and views, and keep its tenants'' overlays';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'brickcat_admin') THEN
        CREATE ROLE brickcat_admin NOLOGIN;
        COMMENT ON ROLE brickcat_admin IS
          'brickcat: everything brickcat_reader may, plus queueing refreshes, rate limits, imports, sweeps and tenant memberships';
    END IF;
    IF NOT pg_catalog.pg_has_role('brickcat_admin', 'brickcat_reader', 'MEMBER') THEN
        GRANT brickcat_reader TO brickcat_admin;
    END IF;
END
$$;

CREATE TABLE brickcat.access_rule (
    kind        text NOT NULL CHECK (kind IN ('routine', 'relation')),
    object_name text NOT NULL CHECK (object_name ~ '^[a-z][a-z0-9_]*$'),
    reader      text[] NOT NULL DEFAULT '{}'
                CHECK (reader <@ ARRAY['EXECUTE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'USAGE']),
    admin       text[] NOT NULL DEFAULT '{}'
                CHECK (admin <@ ARRAY['EXECUTE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'USAGE']),
    why         text NOT NULL,
    PRIMARY KEY (kind, object_name)
);
COMMENT ON TABLE brickcat.access_rule IS
  'Privileges of brickcat_reader and brickcat_admin (on top of the reader''s) on named brickcat objects, all overloads of a function alike; objects without a rule get the default of their kind (see brickcat.apply_access_rules)';
COMMENT ON COLUMN brickcat.access_rule.kind IS 'routine (functions, procedures, aggregates: all overloads) or relation (tables, views, sequences)';
COMMENT ON COLUMN brickcat.access_rule.reader IS 'Privileges granted to brickcat_reader (and through it to brickcat_admin)';
COMMENT ON COLUMN brickcat.access_rule.admin IS 'Privileges granted to brickcat_admin in addition';
COMMENT ON COLUMN brickcat.access_rule.why IS 'Why the object gets these privileges';

INSERT INTO brickcat.access_rule (kind, object_name, reader, admin, why) VALUES
    -- read API: what applications call
    ('routine',  'now',                '{EXECUTE}', '{}', 'read: the clock'),
    ('routine',  'freshness',          '{EXECUTE}', '{}', 'read: freshness classification'),
    ('routine',  'next_refresh_at',    '{EXECUTE}', '{}', 'read: freshness classification'),
    ('routine',  'status',             '{EXECUTE}', '{}', 'read: extension state'),
    ('routine',  'decoration',         '{EXECUTE}', '{}', 'read: decoration of a name'),
    ('routine',  'get_item',           '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_items',          '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_price',          '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_prices',         '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_known_colors',   '{EXECUTE}', '{}', 'read API'),
    ('routine',  'validate_freshness', '{EXECUTE}', '{}', 'read API'),
    ('routine',  'part',               '{EXECUTE}', '{}', 'read API'),
    ('routine',  'record_demand',      '{EXECUTE}', '{}', 'read: applications report reads they serve themselves'),
    ('routine',  'demand_score',       '{EXECUTE}', '{}', 'read: the view brickcat.demand calls it'),
    ('routine',  'demand_dropped',     '{EXECUTE}', '{}', 'metrics: reads not counted as demand'),
    ('routine',  'stat_cache',         '{EXECUTE}', '{}', 'metrics: behind the view brickcat.stat_cache'),
    ('routine',  'stat_freshness',     '{EXECUTE}', '{}', 'metrics: behind the view brickcat.stat_freshness'),
    ('routine',  'upstream_state',     '{EXECUTE}', '{}', 'metrics: behind the view brickcat.stat_upstream'),
    ('routine',  'current_tenants',    '{EXECUTE}', '{}', 'tenant overlays: the row-level security policy calls it as the caller'),
    -- tenant overlays: row-level security decides which rows
    ('relation', 'tenant_item',        '{SELECT,INSERT,UPDATE,DELETE}', '{}', 'tenant overlays, bound by forced row-level security'),
    ('relation', 'tenant_member',      '{SELECT}', '{INSERT,UPDATE,DELETE}', 'memberships: a role sees its own, only admins write'),
    -- owner only
    ('routine',  'apply_access_rules', '{}', '{}', 'grants privileges: superuser only'),
    ('relation', 'access_rule',        '{}', '{SELECT}', 'the rules themselves: admins may read them');

CREATE FUNCTION brickcat.apply_access_rules() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    g record;
BEGIN
    REVOKE ALL ON SCHEMA brickcat FROM PUBLIC;
    GRANT USAGE ON SCHEMA brickcat TO brickcat_reader;
    REVOKE ALL ON ALL ROUTINES IN SCHEMA brickcat FROM PUBLIC, brickcat_reader, brickcat_admin;
    REVOKE ALL ON ALL TABLES IN SCHEMA brickcat FROM PUBLIC, brickcat_reader, brickcat_admin;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA brickcat FROM PUBLIC, brickcat_reader, brickcat_admin;

    FOR o IN
        SELECT k.kind, k.ident,
               coalesce(r.reader, CASE WHEN k.kind = 'TABLE' THEN '{SELECT}'::text[]
                                       ELSE '{}'::text[] END) AS reader,
               coalesce(r.admin, CASE WHEN k.kind = 'ROUTINE' THEN '{EXECUTE}'::text[]
                                      WHEN k.kind = 'SEQUENCE' THEN '{USAGE,SELECT}'::text[]
                                      WHEN k.is_view THEN '{}'::text[]
                                      ELSE '{INSERT,UPDATE,DELETE}'::text[] END) AS admin,
               CASE k.kind WHEN 'ROUTINE' THEN '{EXECUTE}'::text[]
                           WHEN 'SEQUENCE' THEN '{USAGE,SELECT}'::text[]
                           ELSE '{SELECT,INSERT,UPDATE,DELETE}'::text[] END AS valid
          FROM (SELECT 'ROUTINE' AS kind, 'routine' AS rule_kind, p.proname::text AS name,
                       p.oid::regprocedure::text AS ident, false AS is_view
                  FROM pg_proc p
                 WHERE p.pronamespace = 'brickcat'::regnamespace
                UNION ALL
                SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, 'relation',
                       c.relname::text, c.oid::regclass::text, c.relkind IN ('v', 'm')
                  FROM pg_class c
                 WHERE c.relnamespace = 'brickcat'::regnamespace
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')) k
          LEFT JOIN brickcat.access_rule r ON r.kind = k.rule_kind AND r.object_name = k.name
    LOOP
        FOR g IN
            SELECT v.grantee, ARRAY(SELECT p FROM unnest(v.privs) p WHERE p = ANY (o.valid)) AS privs
              FROM (VALUES ('brickcat_reader', o.reader), ('brickcat_admin', o.admin)) v(grantee, privs)
        LOOP
            IF cardinality(g.privs) > 0 THEN
                EXECUTE format('GRANT %s ON %s %s TO %I', array_to_string(g.privs, ', '),
                               o.kind, o.ident, g.grantee);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION brickcat.apply_access_rules() IS
  'Re-grants every privilege in schema brickcat from brickcat.access_rule and the defaults (functions: admin EXECUTE; tables: reader SELECT, admin writes; views: reader SELECT; sequences: admin); PUBLIC gets nothing. Superuser only; upgrade scripts call it last';

SELECT brickcat.apply_access_rules();
