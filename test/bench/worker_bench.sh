#!/usr/bin/env bash
# Worker refresh throughput, end to end (claim, quota, sign, fetch, parse,
# upsert, log), against the BrickLink simulator, next to curl fetching the
# same URLs at the same concurrency in the same run: signed ahead of time
# (one fresh nonce each) and sent to the same simulator, which checks every
# signature (the fair baseline), and unsigned to a second simulator started
# with --no-auth (the cost of the simulator's OAuth check, which the worker
# cannot avoid, included in the ratio); then with 100 ms added
# upstream latency (ideal: 4 / 0.1 s = 40 items/s); and, with BENCH_LONG=1,
# the worker's private memory after 1,000 and after 100,000 fetches.  The
# simulator is warmed over the same URLs before anything is timed, and
# BENCH_ROUNDS rounds (default 3) alternate the worker and signed curl; the
# medians are compared, and the CPU each side and the simulator spent per
# call is reported next to them.
#
# On a machine with two or more CPUs the simulators run on one CPU and the
# client (the whole PostgreSQL cluster, or curl) on another (taskset), so that
# both sides are measured on the same footing: left to the scheduler, the
# client and the simulator shared cores as it pleased, and curl's rate moved
# between about 5,000 and 10,600 requests/s from one round to the next.
# BENCH_PIN=0 leaves placement to the scheduler.
#
# usage: test/bench/worker_bench.sh      (BENCH_ITEMS=20000 BENCH_LATENCY_ITEMS=800 BENCH_ROUNDS=3 BENCH_LONG=1 BENCH_PIN=0)
. "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT

items=${BENCH_ITEMS:-20000}
lat_items=${BENCH_LATENCY_ITEMS:-800}
csv="$BRICKCAT_DATA/bricklink/part_weights.csv"

bench_sim_start
auth_url=$BENCH_SIM_URL
# a second simulator without OAuth checks for the curl baseline
bench_run python3 "$BENCH_ROOT/test/simulator/bricklink_sim.py" --host 127.0.0.1 --port 0 \
    --port-file "$BENCH_DIR/sim2.port" --data-dir "$BRICKCAT_DATA" --quiet --no-auth \
    >"$BENCH_DIR/sim2.out" 2>&1 &
sim2_pid=$!
for _ in $(seq 1 100); do [ -s "$BENCH_DIR/sim2.port" ] && break; sleep 0.1; done
noauth_url="http://127.0.0.1:$(cat "$BENCH_DIR/sim2.port")/api/store/v1"
# stop_sims ends both simulators (runuser's python children included)
stop_sims() {
    local p
    for p in $sim2_pid ${BENCH_SIM_PID:-}; do
        kill $(pgrep -P "$p") "$p" 2>/dev/null || true
    done
}
trap 'stop_sims; bench_cleanup' EXIT

# the first two CPUs this script may use: clients on the first, simulators on the second
cpus=($(python3 -c "import os; print(*sorted(os.sched_getaffinity(0))[:2])"))
PIN=()
if [ "${BENCH_PIN:-1}" != 0 ] && [ "${#cpus[@]}" -ge 2 ] && command -v taskset >/dev/null; then
    PIN=(taskset -c "${cpus[0]}")
    for p in $BENCH_SIM_PID $sim2_pid $(pgrep -P "$sim2_pid"); do
        taskset -acp "${cpus[1]}" "$p" >/dev/null || echo "could not pin process $p" >&2
    done
    echo "pinned: clients on CPU ${cpus[0]}, simulators on CPU ${cpus[1]}" >&2
else
    echo "not pinned: the scheduler places clients and simulators" >&2
fi

BENCH_SIM_URL=$auth_url bench_cluster_start "brickcat.max_concurrency = 4
brickcat.daily_quota = 10000000
brickcat.max_calls_per_second = 0
brickcat.call_log_retention = '30 days'"
# the cluster's processes, and every backend they start, on the clients' CPU
if [ ${#PIN[@]} -gt 0 ]; then
    pm=$(head -n 1 "$BENCH_DIR/data/postmaster.pid")
    for p in $pm $(pgrep -P "$pm"); do taskset -acp "${cpus[0]}" "$p" >/dev/null || echo "could not pin process $p" >&2; done
fi

bench_psql -q -c "CREATE TABLE bench_parts (n serial, item_no text, weight text)"
bench_psql -q -c "\\copy bench_parts (item_no, weight) FROM '$csv' WITH (FORMAT csv)"

# queue_and_wait queues refreshes of parts [from, to] (what: $3) and prints
# the seconds from the first call to the last finished job.
queue_and_wait() {
    local from=$1 to=$2 what=$3
    bench_psql -q -c "TRUNCATE brickcat.api_call" \
        -c "SELECT count(*) FROM bench_parts p, brickcat.request_refresh(p.item_no, 'PART', '$what') WHERE p.n BETWEEN $from AND $to" >/dev/null
    while [ "$(bench_psql -Atc "SELECT count(*) FROM brickcat.fetch_queue WHERE state IN ('queued','running')")" != 0 ]; do
        sleep 0.2
    done
    bench_psql -Atc "SELECT round(extract(epoch FROM (SELECT max(finished_at) FROM brickcat.fetch_queue)
                                 - (SELECT min(started_at) FROM brickcat.api_call))::numeric, 3)"
}

worker_pid() { bench_psql -Atc "SELECT worker_pid FROM brickcat.status"; }
rss_anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

# cpu_ticks prints the CPU time (user + system, clock ticks) process $1 has used
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# per_call_us prints ticks $1 spread over $2 calls, in microseconds
per_call_us() { python3 -c "print(round($1 * 1e6 / $(getconf CLK_TCK) / $2))"; }

# curl_run runs curl over the config $1, 4 in parallel, prints req/s and
# leaves the HTTP status of each transfer in $1.codes and curl's CPU
# seconds (user + system) in $1.cpu
curl_run() {
    local t0 t1 TIMEFORMAT='%U %S'
    t0=$(date +%s.%N)
    { time "${PIN[@]}" curl -s --no-progress-meter --parallel --parallel-max 4 -K "$1" >"$1.codes"; } 2>"$1.time"
    t1=$(date +%s.%N)
    tail -n 1 "$1.time" | awk '{print $1 + $2}' >"$1.cpu"
    python3 -c "print(round($items / ($t1 - $t0), 1))"
}

# signed_cfg writes a curl config for parts 1..$items to $1, signed now (one
# fresh nonce each) for the simulator that checks signatures
signed_cfg() {
    bench_psql -Atc "SELECT item_no FROM bench_parts WHERE n <= $items ORDER BY n" |
        python3 "$BENCH_ROOT/test/bench/signed_curl_cfg.py" "$auth_url" >"$1"
}

# median prints the median of its arguments
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# --- throughput, no latency ------------------------------------------------------
# The simulator keeps the bodies it has built: one untimed pass over the same
# URLs first, so that the worker and curl both meet a warm simulator (without
# it the worker, timed first, paid for building every body).
signed_cfg "$BENCH_DIR/curl_warm.cfg"
curl -s --no-progress-meter --parallel --parallel-max 4 -K "$BENCH_DIR/curl_warm.cfg" >/dev/null
# rounds alternate the worker and curl; the medians are reported, with the
# CPU each side and the simulator spent per item (the machine's load moves
# throughput more than it moves these)
wrates=(); crates=(); wcpus=(); ccpus=(); wsims=(); csims=()
wpid=$(worker_pid)
for round in $(seq 1 "${BENCH_ROUNDS:-3}"); do
    bench_psql -q -c "TRUNCATE brickcat.fetch_queue, brickcat.item, brickcat.item_color_set"
    w0=$(cpu_ticks "$wpid"); s0=$(cpu_ticks "$BENCH_SIM_PID")
    secs=$(queue_and_wait 1 "$items" '{item}')
    wcpu=$(per_call_us $(($(cpu_ticks "$wpid") - w0)) "$items")
    wsim=$(per_call_us $(($(cpu_ticks "$BENCH_SIM_PID") - s0)) "$items")
    ok=$(bench_psql -Atc "SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'done'")
    rate=$(python3 -c "print(round($items / $secs, 1))")
    echo "round $round: worker: $items items in $secs s ($ok jobs done) = $rate items/s; CPU per item: worker $wcpu us, simulator $wsim us" >&2
    # curl over the same URLs, signed ahead of time (outside the timed part,
    # one fresh nonce each), against the same simulator; all must be answered 200
    signed_cfg "$BENCH_DIR/curl_signed.cfg"
    s0=$(cpu_ticks "$BENCH_SIM_PID")
    signed_rate=$(curl_run "$BENCH_DIR/curl_signed.cfg")
    csim=$(per_call_us $(($(cpu_ticks "$BENCH_SIM_PID") - s0)) "$items")
    ccpu=$(python3 -c "print(round($(cat "$BENCH_DIR/curl_signed.cfg.cpu") * 1e6 / $items))")
    ok200=$(grep -c '^200$' "$BENCH_DIR/curl_signed.cfg.codes" || true)
    echo "round $round: curl signed, same simulator: $ok200 of $items answered 200, $signed_rate req/s; CPU per request: curl $ccpu us, simulator $csim us" >&2
    [ "$ok200" = "$items" ] || { echo "the signed baseline was refused: $(sort "$BENCH_DIR/curl_signed.cfg.codes" | uniq -c)" >&2; exit 1; }
    wrates+=("$rate"); crates+=("$signed_rate"); wcpus+=("$wcpu"); ccpus+=("$ccpu")
    wsims+=("$wsim"); csims+=("$csim")
done
rate=$(median "${wrates[@]}")
signed_rate=$(median "${crates[@]}")
bench_report "worker refresh, $items items (items/s, median)" "$rate" "curl signed, same sim (req/s)" "$signed_rate" ">= 0.8"
bench_report "worker CPU per item (us, median)" "$(median "${wcpus[@]}")" "curl CPU per request (us)" "$(median "${ccpus[@]}")" "(info)"
bench_report "simulator CPU per worker call (us, median)" "$(median "${wsims[@]}")" "per curl request (us)" "$(median "${csims[@]}")" "(info)"

# curl over the same URLs, unsigned, against the no-auth simulator
bench_psql -Atc "SELECT 'url = \"$noauth_url/items/part/' || replace(replace(item_no, '%', '%25'), '/', '%2F') || '\"' || E'\noutput = \"/dev/null\"'
                   FROM bench_parts WHERE n <= $items ORDER BY n" >"$BENCH_DIR/curl.cfg"
# (warmed first, like the other simulator)
curl -s --no-progress-meter --parallel --parallel-max 4 -K "$BENCH_DIR/curl.cfg" >/dev/null
curl_rate=$(curl_run "$BENCH_DIR/curl.cfg")
echo "curl unsigned, --no-auth simulator: $curl_rate req/s" >&2
bench_report "worker refresh, $items items (items/s)" "$rate" "curl unsigned, no-auth sim (req/s)" "$curl_rate" "(info)"

# --- throughput with 100 ms upstream latency ---------------------------------------
curl -s -X POST -d '{"latency_ms": 100}' "${BENCH_SIM_URL%/api/store/v1}/_sim/config" >/dev/null
from=$((items + 1)); to=$((items + lat_items))
secs=$(queue_and_wait "$from" "$to" '{item}')
rate=$(python3 -c "print(round($lat_items / $secs, 1))")
echo "worker with 100 ms latency: $lat_items items in $secs s = $rate items/s" >&2
bench_report "worker refresh, 100 ms latency (items/s)" "$rate" "ideal 4 / 0.1 s" "40" ">= 0.9"
curl -s -X POST -d '{"latency_ms": 0}' "${BENCH_SIM_URL%/api/store/v1}/_sim/config" >/dev/null

# --- memory after 1,000 and 100,000 fetches -------------------------------------------
if [ -n "${BENCH_LONG:-}" ]; then
    bench_psql -q -c "TRUNCATE brickcat.fetch_queue, brickcat.item, brickcat.item_color, brickcat.item_color_set"
    pid=$(worker_pid)
    queue_and_wait 1 1000 '{item}' >/dev/null
    rss1=$(rss_anon_kb "$pid")
    queue_and_wait 1001 69833 '{item}' >/dev/null
    queue_and_wait 1 30167 '{colors}' >/dev/null
    rss2=$(rss_anon_kb "$pid")
    [ "$(worker_pid)" = "$pid" ] || echo "worker restarted during the run!" >&2
    total=$(bench_psql -Atc "SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'done'")
    echo "worker RssAnon: $rss1 kB after 1,000 fetches, $rss2 kB after $total" >&2
    bench_report "worker RssAnon growth 1k -> 100k fetches (kB)" "$((rss2 - rss1))" "limit" "10240" "<= 1.0"
fi
