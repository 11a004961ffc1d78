-- Budget planner simulation (loaded by test/bench/planner_bench.sh into a
-- database the brickcat worker does not serve).
--
-- A faithful MODEL, not the end-to-end worker: simulated time is driven with
-- brickcat.clock_offset in 15-minute steps; every call is debited through the
-- real quota (brickcat.quota_try_acquire: sliding 24 hours, class shares),
-- the sweep is the real brickcat.refresh_sweep() and demand the real
-- brickcat.record_demand(); what the worker would fetch is "fetched" by
-- setting the dataset's fetched_at to the simulated now.
--
-- Each step: Zipf-distributed reads of item metadata, known colors or one of
-- four price guides are classified fresh / stale / expired / missing, as the
-- read API would:
--   fresh          served from cache
--   stale          served from cache, a background refresh queued
--   expired/missing an on-demand fetch (one per target, shared by readers),
--                  if the on_demand class share allows it
-- then the sweep runs, then the queued jobs are carried out in the worker's
-- claim order (priority, not_before, job_id) while the quota allows.
SET client_min_messages = warning;

CREATE TABLE sim_rank (item_no text COLLATE "C" PRIMARY KEY, rank integer NOT NULL, cum double precision NOT NULL);
CREATE TABLE sim_reads (day integer, freshness text, kind text, n bigint);
CREATE TABLE sim_calls (at timestamptz NOT NULL, priority text NOT NULL);
CREATE TABLE sim_newly (item_no text COLLATE "C" PRIMARY KEY, first_fresh_at timestamptz);
CREATE TABLE sim_meta (key text PRIMARY KEY, value text);

-- sim_seed imports n real part numbers with every dataset (item, colors, four
-- price guides) fetched at a time spread evenly over the last 90 days, and
-- gives them a Zipf(s) popularity in a random order.
CREATE PROCEDURE sim_seed(n integer, s double precision, seed double precision)
LANGUAGE plpgsql AS $$
DECLARE
    h double precision;
BEGIN
    PERFORM setseed(seed);
    CREATE TEMP TABLE pick AS
        SELECT no, row_number() OVER (ORDER BY random()) AS rn
          FROM (SELECT DISTINCT no FROM sim_parts WHERE no <> '' AND length(no) <= 64) p;
    DELETE FROM pick WHERE rn > n;
    INSERT INTO brickcat.item (item_type, item_no, fetched_at, origin)
    SELECT 'PART', no, brickcat.now() - random() * interval '90 days', 'import' FROM pick;
    INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
    SELECT 'PART', no, brickcat.now() - random() * interval '90 days' FROM pick;
    INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition, fetched_at)
    SELECT 'PART', no, 0, g, c, brickcat.now() - random() * interval '90 days'
      FROM pick, (VALUES ('sold'), ('stock')) g(g), (VALUES ('N'), ('U')) c(c);
    -- popularity: rank r has weight 1 / r^s, ranks in a random order
    SELECT sum(1 / power(rn, s)) INTO h FROM pick;
    INSERT INTO sim_rank (item_no, rank, cum)
    SELECT no, rn, sum(1 / power(rn, s)) OVER (ORDER BY rn) / h
      FROM (SELECT no, row_number() OVER (ORDER BY random()) AS rn FROM pick) r;
    CREATE INDEX ON sim_rank (cum);
    DROP TABLE pick;
    ANALYZE;
END
$$;

-- sim_shift makes k items from the unpopular tail popular: they take the
-- popularity ranks 11 .. 10 + k, whose items move to the tail.
CREATE PROCEDURE sim_shift(k integer)
LANGUAGE plpgsql AS $$
DECLARE
    total integer := (SELECT count(*) FROM sim_rank);
BEGIN
    CREATE TEMP TABLE swap AS
        SELECT t.item_no AS tail_no, t.rank AS tail_rank, h.item_no AS head_no, h.rank AS head_rank, h.cum AS head_cum,
               t.cum AS tail_cum
          FROM (SELECT item_no, rank, cum, row_number() OVER (ORDER BY rank) AS i FROM sim_rank
                 WHERE rank > total - k) t
          JOIN (SELECT item_no, rank, cum, row_number() OVER (ORDER BY rank) AS i FROM sim_rank
                 WHERE rank BETWEEN 11 AND 10 + k) h USING (i);
    UPDATE sim_rank r SET item_no = s.tail_no || '#' FROM swap s WHERE r.item_no = s.head_no;
    UPDATE sim_rank r SET item_no = s.head_no FROM swap s WHERE r.item_no = s.tail_no;
    UPDATE sim_rank r SET item_no = s.tail_no FROM swap s WHERE r.item_no = s.tail_no || '#';
    INSERT INTO sim_newly (item_no) SELECT tail_no FROM swap;
    DROP TABLE swap;
END
$$;

-- sim_fetched sets a target's dataset to fetched at t, as a successful fetch.
CREATE FUNCTION sim_fetched(kind text, no text, guide text, cond text, t timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF kind = 'item' THEN
        UPDATE brickcat.item SET fetched_at = t, last_attempt_at = t, origin = 'api'
         WHERE item_type = 'PART' AND item_no = no;
    ELSIF kind = 'colors' THEN
        UPDATE brickcat.item_color_set SET colors_fetched_at = t, last_attempt_at = t
         WHERE item_type = 'PART' AND item_no = no;
    ELSIF kind = 'price' THEN
        UPDATE brickcat.price_guide SET fetched_at = t, last_attempt_at = t
         WHERE item_type = 'PART' AND item_no = no AND color_id = 0 AND guide_type = guide AND condition = cond;
    END IF;
END
$$;

-- sim_step simulates one step of reads, a sweep and the worker.
CREATE FUNCTION sim_step(day integer, nreads integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    now_ timestamptz := brickcat.now();
    r record;
    ok boolean;
BEGIN
    -- reads: 40 % item metadata, 20 % known colors, 40 % one of four guides
    CREATE TEMP TABLE IF NOT EXISTS step_reads (item_no text COLLATE "C", kind text, guide text, cond text,
                                                fetched_at timestamptz, f text);
    TRUNCATE step_reads;
    INSERT INTO step_reads (item_no, kind, guide, cond)
    SELECT (SELECT item_no FROM sim_rank WHERE cum >= u ORDER BY cum LIMIT 1),
           CASE WHEN k < 0.4 THEN 'item' WHEN k < 0.6 THEN 'colors' ELSE 'price' END,
           CASE WHEN k < 0.8 THEN 'sold' ELSE 'stock' END,
           CASE WHEN (k * 100)::int % 2 = 0 THEN 'N' ELSE 'U' END
      FROM (SELECT random() AS u, random() AS k FROM generate_series(1, nreads)) g;
    UPDATE step_reads s SET fetched_at = i.fetched_at FROM brickcat.item i
     WHERE s.kind = 'item' AND i.item_type = 'PART' AND i.item_no = s.item_no;
    UPDATE step_reads s SET fetched_at = c.colors_fetched_at FROM brickcat.item_color_set c
     WHERE s.kind = 'colors' AND c.item_type = 'PART' AND c.item_no = s.item_no;
    UPDATE step_reads s SET fetched_at = p.fetched_at FROM brickcat.price_guide p
     WHERE s.kind = 'price' AND p.item_type = 'PART' AND p.item_no = s.item_no AND p.color_id = 0
       AND p.guide_type = s.guide AND p.condition = s.cond;
    UPDATE step_reads SET f = brickcat.freshness(fetched_at, now_)::text;
    INSERT INTO sim_reads SELECT day, f, kind, count(*) FROM step_reads GROUP BY f, kind;
    PERFORM brickcat.record_demand(array_agg(item_no)) FROM step_reads;

    -- stale: served, a background refresh queued (as the read API does)
    INSERT INTO brickcat.fetch_queue (kind, target, item_type, item_no, color_id, guide_type, condition,
                                      priority, reason)
    SELECT DISTINCT s.kind::brickcat.job_kind,
           CASE s.kind WHEN 'item' THEN 'item:PART:' || s.item_no
                       WHEN 'colors' THEN 'colors:PART:' || s.item_no
                       ELSE 'price:PART:' || s.item_no || ':0:' || s.guide || ':' || s.cond END,
           'PART', s.item_no, CASE WHEN s.kind = 'price' THEN 0 END,
           CASE WHEN s.kind = 'price' THEN s.guide END, CASE WHEN s.kind = 'price' THEN s.cond END,
           'background'::brickcat.priority, 'read_stale'
      FROM step_reads s WHERE s.f = 'stale'
    ON CONFLICT (target) WHERE state IN ('queued', 'running') DO NOTHING;

    -- expired or missing: one on-demand fetch per target, if the quota allows
    FOR r IN SELECT DISTINCT kind, item_no, guide, cond FROM step_reads WHERE f IN ('expired', 'missing') LOOP
        SELECT q.ok INTO ok FROM brickcat.quota_try_acquire('on_demand', 1, NULL) q;
        IF ok THEN
            INSERT INTO sim_calls VALUES (brickcat.now(), 'on_demand');
            PERFORM sim_fetched(r.kind, r.item_no, r.guide, r.cond, now_);
        END IF;
    END LOOP;

    -- the sweep, then the worker: claim order, while the quota allows
    PERFORM brickcat.refresh_sweep();
    FOR r IN SELECT job_id, kind::text AS kind, item_no, guide_type, condition::text AS cond, priority
               FROM brickcat.fetch_queue WHERE state = 'queued'
              ORDER BY priority, not_before, job_id LOOP
        SELECT q.ok INTO ok FROM brickcat.quota_try_acquire(r.priority, 1, NULL) q;
        EXIT WHEN NOT ok;
        INSERT INTO sim_calls VALUES (brickcat.now(), r.priority::text);
        PERFORM sim_fetched(r.kind, r.item_no, r.guide_type, r.cond, now_);
        UPDATE brickcat.fetch_queue SET state = 'done', finished_at = now_ WHERE job_id = r.job_id;
    END LOOP;

    -- newly popular items: when all six of their datasets are fresh
    UPDATE sim_newly n SET first_fresh_at = now_
     WHERE n.first_fresh_at IS NULL
       AND EXISTS (SELECT FROM sim_meta WHERE key = 'shift_at')
       AND (SELECT brickcat.freshness(fetched_at, now_) = 'fresh' FROM brickcat.item
             WHERE item_type = 'PART' AND item_no = n.item_no)
       AND (SELECT brickcat.freshness(colors_fetched_at, now_) = 'fresh' FROM brickcat.item_color_set
             WHERE item_type = 'PART' AND item_no = n.item_no)
       AND (SELECT bool_and(brickcat.freshness(fetched_at, now_) = 'fresh') FROM brickcat.price_guide
             WHERE item_type = 'PART' AND item_no = n.item_no);
END
$$;

-- sim_run simulates days days of 96 fifteen-minute steps, shifting
-- popularity at shift_day; commits once per simulated day.
CREATE PROCEDURE sim_run(days integer, reads_per_day integer, shift_day integer, shift_items integer)
LANGUAGE plpgsql AS $$
DECLARE
    per_step integer := greatest(1, reads_per_day / 96);
BEGIN
    FOR d IN 0 .. days - 1 LOOP
        IF d = shift_day THEN
            CALL sim_shift(shift_items);
            INSERT INTO sim_meta VALUES ('shift_at', brickcat.now()::text);
        END IF;
        FOR s IN 0 .. 95 LOOP
            PERFORM set_config('brickcat.clock_offset',
                               ((d * 96 + s) * 15)::text || ' minutes', false);
            PERFORM sim_step(d, per_step);
        END LOOP;
        DELETE FROM brickcat.fetch_queue WHERE state = 'done';
        COMMIT;
    END LOOP;
END
$$;
