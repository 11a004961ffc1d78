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
