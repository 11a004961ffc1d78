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
