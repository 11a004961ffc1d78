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
