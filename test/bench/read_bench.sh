#!/usr/bin/env bash
# Read API benchmarks (issue 5), each next to its baseline in the same run:
#
#  1. cache-hit brickcat.get_item vs a plain primary-key SELECT of the same row
#     (pgbench, 2 clients, random keys over the 69,833 real part numbers):
#     statement throughput ratio, target >= 0.9.
#     Next to it, for reference, a SELECT of the same row with get_item's 27
#     columns (annotations computed in SQL): what the answer's shape costs.
#  2. brickcat.get_items over 500 cached keys vs a plain
#     SELECT ... WHERE item_no = ANY(...) over the same keys: time ratio,
#     target <= 1.5.
#  3. with 5 s of simulator latency: stale reads p99 (target <= 20 ms) and
#     missing reads with wait => 1s (target: back within wait + 50 ms).
#     These need brickcat's worker; without it they are reported as skipped.
#
# Each pgbench script first picks a random key (\gset), then runs the
# measured statement; the figures are pgbench's per-statement latencies of the
# measured statement (-r), so the key lookup is not counted.  Rounds alternate
# between the baseline and brickcat and the median of each is reported.
#
# usage: test/bench/read_bench.sh      (or: test/bench/run read)
#        BENCH_SECONDS=10 BENCH_ROUNDS=3 by default; READ_BENCH="hit batch slow"
#        picks the parts to run (all by default)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
PARTS=" ${READ_BENCH:-hit batch slow} "
want() { [[ "$PARTS" == *" $1 "* ]]; }

bench_sim_start --seed 1
bench_cluster_start "brickcat.log_min_wait = '-1'"
bench_psql -q -v data="$BRICKCAT_DATA" -f "$here/read_load.sql"

scripts="$BENCH_DIR/scripts"
bench_run mkdir -p "$scripts"
write() { bench_run tee "$scripts/$1" >/dev/null; }
write plain.sql <<'EOF'
\set id random(1, 69833)
SELECT no AS k FROM bench.keys WHERE id = :id \gset
SELECT * FROM brickcat.item WHERE item_type = 'PART' AND item_no = :k;
EOF
write get_item.sql <<'EOF'
\set id random(1, 69833)
SELECT no AS k FROM bench.keys WHERE id = :id \gset
SELECT * FROM brickcat.get_item(:k);
EOF
# the reference for what the answer's shape costs: the same 27 columns as
# get_item's row (the annotations computed in SQL for a fresh row), from the
# same primary-key SELECT
write shape.sql <<'EOF'
\set id random(1, 69833)
SELECT no AS k FROM bench.keys WHERE id = :id \gset
SELECT * FROM (SELECT item_type, item_no, name, category_id, alternate_no, image_url, thumbnail_url, weight, dim_x, dim_y, dim_z, year_released, is_obsolete, decoration, is_printed, description, language_code, fetched_at, last_attempt_at, last_error, origin, color_ids_copy AS color_ids, 'fresh'::brickcat.freshness AS freshness, 'cache'::text AS source, fetched_at + interval '30 days' AS next_refresh_at, NULL::text AS error_code, NULL::text AS error_message FROM brickcat.item WHERE item_type = 'PART' AND item_no = :k) r;
EOF
write plain_any.sql <<'EOF'
\set r random(0, 138)
SELECT array_agg(no)::text AS ks FROM bench.keys WHERE id % 139 = :r \gset
SELECT * FROM brickcat.item WHERE item_type = 'PART' AND item_no = ANY (:ks::text[]);
EOF
write get_items.sql <<'EOF'
\set r random(0, 138)
SELECT array_agg(no)::text AS ks FROM bench.keys WHERE id % 139 = :r \gset
SELECT * FROM brickcat.get_items(:ks::text[]);
EOF

# stmt_latency SCRIPT CLIENTS: per-statement latency (ms) of the script's last statement
stmt_latency() {
    bench_pgbench -n -M prepared -c "$2" -j "$2" -T "$SECONDS_PER_RUN" -r -f "$scripts/$1" \
        2>&1 | awk '/^ +[0-9.]+ +[0-9]+ +SELECT \*/ { v = $1 } END { print v }'
}
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

# stmt_compare NAME BASE_SCRIPT SCRIPT CLIENTS -> sets BASE_MS and OURS_MS (medians)
stmt_compare() {
    local base=() ours=()
    stmt_latency "$2" "$4" >/dev/null       # warm-up
    stmt_latency "$3" "$4" >/dev/null
    for _ in $(seq 1 "$ROUNDS"); do
        base+=("$(stmt_latency "$2" "$4")")
        ours+=("$(stmt_latency "$3" "$4")")
    done
    echo "$1: baseline ms ${base[*]} / brickcat ms ${ours[*]}" >&2
    BASE_MS=$(median "${base[@]}")
    OURS_MS=$(median "${ours[@]}")
}

# 1. cache hits, throughput = clients / statement latency
if want hit; then
stmt_compare "cache hit" plain.sql get_item.sql 2
bench_report "get_item cache hit (stmt/s, 2 clients)" \
    "$(python3 -c "print(round(2000/$OURS_MS))")" "plain PK SELECT (stmt/s)" \
    "$(python3 -c "print(round(2000/$BASE_MS))")" ">= 0.9"
# reference: get_item against the same row shape from plain SQL
stmt_compare "same row shape" shape.sql get_item.sql 2
bench_report "get_item cache hit (stmt/s, 2 clients)" \
    "$(python3 -c "print(round(2000/$OURS_MS))")" "same 27 columns from SQL (stmt/s)" \
    "$(python3 -c "print(round(2000/$BASE_MS))")" "(reference)"
bench_psql -Atc "SELECT 'stat_cache: hits=' || hits || ' memo_hits=' || memo_hits || ' requests=' || requests FROM brickcat.stat_cache" >&2
fi

# 2. batch of 500 cached keys: time per call
if want batch; then
stmt_compare "batch of 500" plain_any.sql get_items.sql 1
bench_report "get_items 500 cached keys (ms)" "$OURS_MS" "SELECT ... = ANY(500 keys) (ms)" "$BASE_MS" "<= 1.5"
fi
want slow || exit 0

# 3. slow upstream: needs the worker
if [ "$(bench_psql -Atc 'SELECT worker_running FROM brickcat.status')" != "t" ]; then
    sleep 3
fi
if [ "$(bench_psql -Atc 'SELECT worker_running FROM brickcat.status')" != "t" ]; then
    echo "slow-upstream benchmarks skipped: brickcat's worker is not running" >&2
    exit 0
fi
curl -s -XPOST "$BENCH_SIM_CTL/config" -d '{"latency_ms": 5000}' >/dev/null
# 2,000 stale items: served at once, refreshed in the background
bench_psql -q -c "UPDATE brickcat.item SET fetched_at = brickcat.now() - interval '40 days'
                   WHERE item_no IN (SELECT no FROM bench.keys WHERE id <= 2000)"
write stale.sql <<'EOF'
\set id random(1, 2000)
SELECT * FROM brickcat.get_item((SELECT no FROM bench.keys WHERE id = :id));
EOF
bench_run rm -f "$BENCH_DIR"/pgbench_log.*
(cd "$BENCH_DIR" && bench_pgbench -n -M prepared -c 2 -j 2 -T 5 -l -f "$scripts/stale.sql" >/dev/null 2>&1)
p99=$(cat "$BENCH_DIR"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -n |
      awk '{ a[NR] = $1 } END { print a[int(NR * 0.99)] }')
bench_report "stale get_item p99 (ms), upstream 5 s" "$p99" "target (ms)" 20 "value <= baseline"

# 20 missing items read one after another with wait 1 s: each must answer by 1.05 s
bench_psql -q -c "DELETE FROM brickcat.item WHERE item_no IN (SELECT no FROM bench.keys WHERE id > 69800)"
worst=$(bench_psql -qAt <<'EOF'
CREATE TEMP TABLE t (ms float8, source text);
DO $$
DECLARE k text; t0 timestamptz; s text;
BEGIN
    FOR k IN SELECT no FROM bench.keys WHERE id > 69800 ORDER BY id LIMIT 20 LOOP
        t0 := clock_timestamp();
        SELECT source INTO s FROM brickcat.get_item(k, wait => '1s');
        INSERT INTO t VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000, s);
    END LOOP;
END $$;
SELECT round(max(ms)::numeric, 1) FROM t;
EOF
)
bench_report "missing get_item wait 1s, worst of 20 (ms)" "$worst" "wait + 50 ms" 1050 "value <= baseline"
