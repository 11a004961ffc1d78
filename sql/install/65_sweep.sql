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
