#!/usr/bin/env bash
# Budget planner, proved by simulation: 90 simulated days of Zipf-distributed
# reads over 20,000 real part numbers with 5,000 calls a day, the sweep every
# simulated 15 minutes, demand-aware (brickcat.sweep_strategy = demand) and
# oldest-first side by side in two databases of one cluster.
#
# This is a faithful MODEL of the worker, not the end-to-end worker: queued
# jobs are carried out by setting the dataset's fetched_at to the simulated
# now, within the real quota (brickcat.quota_try_acquire); see
# test/bench/planner_sim.sql.  Also measures refresh_sweep() on a
# 100,000-item catalog.
#
# Settings (environment): SIM_DAYS (90), SIM_ITEMS (20000), SIM_READS (reads
# per simulated day, 20000), SIM_QUOTA (5000), SIM_ZIPF (1.0), SIM_SHIFT_DAY
# (45), SIM_SHIFT_ITEMS (100).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DAYS=${SIM_DAYS:-90}
ITEMS=${SIM_ITEMS:-20000}
READS=${SIM_READS:-20000}
QUOTA=${SIM_QUOTA:-5000}
ZIPF=${SIM_ZIPF:-1.0}
SHIFT_DAY=${SIM_SHIFT_DAY:-45}
SHIFT_ITEMS=${SIM_SHIFT_ITEMS:-100}

bench_cluster_start "$(printf 'brickcat.max_calls_per_second = 0\nbrickcat.daily_quota = %s\n' "$QUOTA")"
cp "$BENCH_ROOT/test/bench/planner_sim.sql" "$BENCH_DIR/planner_sim.sql"
chmod a+r "$BENCH_DIR/planner_sim.sql"

# --- refresh_sweep() on a 100,000-item catalog -------------------------------
bench_psql -q -d postgres -v data="$BRICKCAT_DATA" <<'SQL' >/dev/null
\set part_weights :data '/bricklink/part_weights.csv'
\set rb_parts :data '/rebrickable/parts.csv'
CREATE TABLE pw (no text, weight text);
COPY pw FROM :'part_weights' WITH (FORMAT csv);
CREATE TABLE rb (part_num text, name text, part_cat_id int, part_material text);
COPY rb FROM :'rb_parts' WITH (FORMAT csv, HEADER);
INSERT INTO brickcat.item (item_type, item_no, fetched_at, origin)
SELECT 'PART', no, now() - random() * interval '90 days', 'import'
  FROM (SELECT no FROM pw UNION SELECT part_num FROM rb) u WHERE length(no) <= 64 LIMIT 100000;
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
SELECT item_type, item_no, now() - random() * interval '90 days' FROM brickcat.item;
INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition, fetched_at)
SELECT item_type, item_no, 0, 'sold', 'N', now() - random() * interval '90 days' FROM brickcat.item;
SELECT brickcat.record_demand(array_agg(item_no)) FROM (SELECT item_no FROM brickcat.item ORDER BY random() LIMIT 20000) s;
ANALYZE;
SQL
sweep_ms() {
    # median of 5 full sweeps (3,000 jobs each), each rolled back
    for _ in 1 2 3 4 5; do
        bench_psql -qAt -d postgres -c "BEGIN" -c "SET LOCAL brickcat.sweep_strategy = $1" \
            -c "CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0" \
            -c "SELECT sum(jobs) FROM brickcat.refresh_sweep()" \
            -c "SELECT round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1) FROM t" -c "ROLLBACK" | tail -1
    done | sort -n | sed -n 3p
}
DEMAND_MS=$(sweep_ms demand)
OLDEST_MS=$(sweep_ms oldest)
echo "refresh_sweep() on 100,000 items (+100,000 colors lists, +100,000 price guides), 3,000 jobs queued: demand ${DEMAND_MS} ms, oldest ${OLDEST_MS} ms (median of 5)"

# --- the simulation, both strategies at once ---------------------------------
for s in demand oldest; do
    bench_psql -q -d postgres -c "CREATE DATABASE sim_$s"
    bench_psql -q -d "sim_$s" -v data="$BRICKCAT_DATA" <<SQL >/dev/null
CREATE EXTENSION brickcat;
ALTER DATABASE sim_$s SET brickcat.sweep_strategy = '$s';
CREATE TABLE sim_parts (no text, weight text);
\\set part_weights :data '/bricklink/part_weights.csv'
COPY sim_parts FROM :'part_weights' WITH (FORMAT csv);
\\i $BENCH_DIR/planner_sim.sql
CALL sim_seed($ITEMS, $ZIPF, 0.42);
SQL
done
start=$(date +%s)
for s in demand oldest; do
    bench_psql -q -d "sim_$s" -c "SET client_min_messages = error" \
        -c "CALL sim_run($DAYS, $READS, $SHIFT_DAY, $SHIFT_ITEMS)" &
done
wait
elapsed=$(( $(date +%s) - start ))

report() {
    bench_psql -qAt -F'|' -d "sim_$1" <<'SQL'
WITH t AS (SELECT freshness, sum(n) AS n FROM sim_reads GROUP BY freshness),
     a AS (SELECT sum(n) AS total FROM t),
     c AS (SELECT date_trunc('day', at) AS d, count(*) AS n,
                  count(*) FILTER (WHERE priority = 'on_demand') AS od FROM sim_calls GROUP BY 1),
     w AS (SELECT max(n) AS max24 FROM (SELECT count(*) OVER (ORDER BY at RANGE BETWEEN interval '24 hours' PRECEDING AND CURRENT ROW) AS n FROM sim_calls) x),
     nw AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS med, max(h) AS mx,
                   count(*) FILTER (WHERE h IS NULL) AS never, count(*) AS k
              FROM (SELECT extract(epoch FROM first_fresh_at - (SELECT value::timestamptz FROM sim_meta WHERE key = 'shift_at')) / 3600 AS h
                      FROM sim_newly) z)
SELECT round(100.0 * coalesce((SELECT n FROM t WHERE freshness = 'fresh'), 0) / total, 2),
       round(100.0 * coalesce((SELECT n FROM t WHERE freshness = 'stale'), 0) / total, 2),
       round(100.0 * coalesce((SELECT n FROM t WHERE freshness = 'expired'), 0) / total, 2),
       round(100.0 * coalesce((SELECT n FROM t WHERE freshness = 'missing'), 0) / total, 2),
       total,
       (SELECT round(avg(n)) FROM c), (SELECT max(n) FROM c), (SELECT max24 FROM w),
       (SELECT round(avg(od)) FROM c),
       round(med::numeric, 1), round(mx::numeric, 1), never, k,
       -- last 30 days only: the steady state
       (SELECT round(100.0 * sum(n) FILTER (WHERE freshness IN ('fresh', 'stale')) / sum(n), 2)
          FROM sim_reads WHERE day >= (SELECT max(day) - 29 FROM sim_reads)),
       (SELECT round(100.0 * sum(n) FILTER (WHERE freshness = 'fresh') / sum(n), 2)
          FROM sim_reads WHERE day >= (SELECT max(day) - 29 FROM sim_reads))
  FROM a, nw
SQL
}
daily() {
    bench_psql -qAt -F' ' -d "sim_$1" -c "
SELECT r.day, round(100.0 * sum(n) FILTER (WHERE freshness = 'fresh') / sum(n), 1),
       round(100.0 * sum(n) FILTER (WHERE freshness IN ('fresh', 'stale')) / sum(n), 1),
       (SELECT count(*) FROM sim_calls c WHERE c.at >= (SELECT min(at) FROM sim_calls) + r.day * interval '1 day'
                                        AND c.at < (SELECT min(at) FROM sim_calls) + (r.day + 1) * interval '1 day')
  FROM sim_reads r GROUP BY r.day HAVING r.day % 10 = 0 OR r.day = $SHIFT_DAY ORDER BY r.day"
}

echo
echo "Planner simulation: $DAYS simulated days in ${elapsed}s, $ITEMS real part numbers (x 6 datasets: item,"
echo "colors, 4 price guides = $((ITEMS * 6)) targets, seeded fetched 0-90 days ago), $READS Zipf($ZIPF) reads/day,"
echo "daily_quota $QUOTA (background share 0.6), sweep every 15 simulated minutes; at day $SHIFT_DAY, $SHIFT_ITEMS"
echo "tail items become popular (ranks 11-$((10 + SHIFT_ITEMS)))."
echo "MODEL: the worker is simulated by marking queued jobs done (fetched_at = simulated now) within the real"
echo "quota (brickcat.quota_try_acquire); reads are classified as the read API would, not served by get_item."
echo
printf '%-8s %7s %7s %8s %8s %9s %10s %9s %10s %8s %12s %12s %12s\n' strategy fresh% stale% expired% missing% \
    reads calls/day max/day max/24h od/day new:med_h new:max_h "last30 cache%"
for s in demand oldest; do
    IFS='|' read -r fr st ex mi tot cpd cmax c24 od med mx never k l30 l30f <<<"$(report $s)"
    printf '%-8s %7s %7s %8s %8s %9s %10s %9s %10s %8s %12s %12s %12s\n' $s $fr $st $ex $mi $tot $cpd $cmax $c24 $od \
        "$med" "$mx ($never/$k never)" "$l30 (fresh $l30f)"
    eval "R_$s=\"$fr $st $ex $mi $c24 $l30 $l30f $med\""
done
echo
for s in demand oldest; do
    echo "$s: day, fresh % of reads, answered from cache %, calls that day"
    daily $s | sed 's/^/    /'
done

read -r dfr dst dex dmi d24 dl30 dl30f dmed <<<"$R_demand"
read -r ofr ost oex omi o24 ol30 ol30f omed <<<"$R_oldest"
dcache=$(python3 -c "print(round($dfr + $dst, 2))")
ocache=$(python3 -c "print(round($ofr + $ost, 2))")
bench_report "planner: reads answered from cache % (demand)" "$dcache" "oldest-first" "$ocache" ">= 95 and better than oldest-first"
bench_report "planner: reads answered fresh % (demand)" "$dfr" "oldest-first" "$ofr" "better than oldest-first"
bench_report "planner: max calls in any 24 h (demand)" "$d24" "daily_quota" "$QUOTA" "<= quota"
bench_report "planner: max calls in any 24 h (oldest)" "$o24" "daily_quota" "$QUOTA" "<= quota"
bench_report "refresh_sweep 100k items, 3000 jobs (ms)" "$DEMAND_MS" "oldest strategy" "$OLDEST_MS" "< 100 ms"
