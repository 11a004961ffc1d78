#!/usr/bin/env bash
# Worker memory benchmark (issue 6): the brickcat worker's resident memory
# (from /proc/<pid>/status, pid from brickcat.status) while it handles
# 100,000 BrickLink responses, about 10% of them faults (resets, truncated
# bodies, HTTP and meta 500s, malformed JSON, wrong JSON types, oversize
# bodies), stays flat: growth between 1,000 and 100,000 responses.
# Target: growth < 10 MB of private memory (RssAnon: what a leak would
# grow).  VmRSS is reported too; it also counts the shared buffers the
# worker has touched (RssShmem), which grow with the tables up to
# shared_buffers and are not the worker's own memory.
#
# usage: test/bench/memory_bench.sh     (BENCH_RESPONSES=100000 by default;
#        BENCH_TIMEOUT=1800 seconds at most)
source "$(dirname "$0")/lib.sh"
responses=${BENCH_RESPONSES:-100000}
deadline=$((SECONDS + ${BENCH_TIMEOUT:-1800}))
bench_sim_start
bench_cluster_start "brickcat.daily_quota = 10000000
brickcat.max_calls_per_second = 0
brickcat.background_share = 1.0
brickcat.retry_base = '10ms'
brickcat.retry_max_delay = '50ms'
brickcat.retry_max_attempts = 3
brickcat.breaker_failure_threshold = 1000
brickcat.request_timeout = '2s'
brickcat.max_response_bytes = '256kB'"

sim_stat() { curl -s "$BENCH_SIM_CTL/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
rss_kb() { awk -v f="${2:-VmRSS}:" '$1 == f {print $2}' "/proc/$1/status"; }

# ~10% faults of every kind that returns (no hangs or long pauses)
curl -s -XPOST "$BENCH_SIM_CTL/faults" -d '{"faults":[
  {"kind":"reset","rate":0.015},
  {"kind":"truncate","rate":0.015},
  {"kind":"http_500","rate":0.015},
  {"kind":"meta_500","rate":0.015},
  {"kind":"malformed_json","rate":0.015},
  {"kind":"wrong_types","rate":0.015},
  {"kind":"oversize","bytes":300000,"rate":0.01}]}' >/dev/null

# jobs: item and known colors of real part numbers, enough for $responses calls
nparts=$(( (responses + 1) / 2 ))
awk -F, -v max="$nparts" '$1 != "" && n < max { print $1; n++ }' \
    "$BRICKCAT_DATA/bricklink/part_weights.csv" >"$BENCH_DIR/parts.txt"
have=$(wc -l <"$BENCH_DIR/parts.txt")
chmod 644 "$BENCH_DIR/parts.txt"
bench_psql -q <<SQL
CREATE TEMP TABLE p (no text);
\\copy p FROM '$BENCH_DIR/parts.txt'
SELECT count(*) FROM p, LATERAL brickcat.request_refresh(p.no, 'PART', '{item,colors}');
SQL
jobs=$((2 * have))
pid=$(bench_psql -Atc 'SELECT worker_pid FROM brickcat.status')
echo "worker pid $pid, $jobs jobs queued, RSS at start $(rss_kb "$pid") kB" >&2

t0=$SECONDS
rss_1k=""
max_anon=0
while :; do
    n=$(sim_stat total)
    a=$(rss_kb "$pid" RssAnon)
    [ "$a" -gt "$max_anon" ] && max_anon=$a
    if [ -z "$rss_1k" ] && [ "$n" -ge 1000 ]; then
        rss_1k=$(rss_kb "$pid"); anon_1k=$a; n_1k=$n
    fi
    open=$(bench_psql -Atc "SELECT count(*) FROM brickcat.fetch_queue WHERE state IN ('queued','running')")
    if [ "$n" -ge "$responses" ] || [ "$open" -eq 0 ] || [ $SECONDS -ge $deadline ]; then break; fi
    if [ -z "$rss_1k" ]; then sleep 0.1; else sleep 1; fi
done
elapsed=$((SECONDS - t0))
rss_end=$(rss_kb "$pid")
anon_end=$(rss_kb "$pid" RssAnon)
pid_end=$(bench_psql -Atc 'SELECT worker_pid FROM brickcat.status')
faults=$(sim_stat faults_fired)
echo "responses $n in ${elapsed}s ($((n / (elapsed > 0 ? elapsed : 1)))/s), faults fired $faults," \
     "after $n_1k: VmRSS ${rss_1k} kB RssAnon ${anon_1k} kB; after $n: VmRSS ${rss_end} kB" \
     "RssAnon ${anon_end} kB (max ${max_anon} kB); worker pid $pid -> $pid_end" >&2
bench_psql -c "SELECT outcome, count(*) FROM brickcat.api_call GROUP BY 1 ORDER BY 2 DESC" >&2
[ "$pid" = "$pid_end" ] || { echo "the worker restarted" >&2; exit 1; }

bench_report "worker RssAnon growth 1k->${n} responses (kB)" "$((anon_end - anon_1k))" \
    "RssAnon after 1k responses (kB)" "$anon_1k" "< 10240 kB growth"
bench_report "worker RssAnon max over the run (kB)" "$max_anon" "RssAnon after 1k responses (kB)" "$anon_1k" "flat"
bench_report "worker VmRSS growth 1k->${n} responses (kB)" "$((rss_end - rss_1k))" \
    "VmRSS after 1k responses (kB)" "$rss_1k" "shared buffers touched included"
bench_report "worker responses per second (10% faults)" "$((n / (elapsed > 0 ? elapsed : 1)))" \
    "responses" "$n" "informational"
