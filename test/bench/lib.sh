# Shared helpers for brickcat benchmarks (source it from a test/bench/*.sh).
#
#   bench_cluster_start [extra postgresql.conf lines]   throwaway cluster, brickcat preloaded
#                                                       (then BENCH_EXTRA_CONF's lines, which win)
#   bench_sim_start [simulator args]                    simulator on a free loopback port
#   bench_psql -c 'SQL'                                 psql against the cluster
#   bench_report NAME VALUE BASELINE_NAME BASELINE TARGET   one result line
#   bench_cleanup                                       (installed as an EXIT trap)
#
# Results are printed as lines "BENCH|name|value|baseline name|baseline|ratio|target",
# which test/bench/run gathers into a table.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BENCH_BIN=$("$PG_CONFIG" --bindir)
BENCH_DIR=$(mktemp -d /tmp/brickcat-bench.XXXXXX)
BRICKCAT_DATA=${BRICKCAT_DATA:-$BENCH_ROOT/../shared/data}
BENCH_AS=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$BENCH_DIR"
    BENCH_AS=(runuser -u postgres --)
fi
BENCH_PORT=$((20000 + RANDOM % 20000))
BENCH_SIM_PID=""

# bench_run runs a command as the cluster's owner.
bench_run() { "${BENCH_AS[@]}" "$@"; }

# bench_cluster_start creates and starts a throwaway cluster with brickcat.
bench_cluster_start() {
    bench_run "$BENCH_BIN/initdb" -D "$BENCH_DIR/data" -U postgres --auth=trust >/dev/null
    bench_run tee -a "$BENCH_DIR/data/postgresql.conf" >/dev/null <<CONF
port = $BENCH_PORT
listen_addresses = ''
unix_socket_directories = '$BENCH_DIR'
shared_preload_libraries = 'brickcat'
brickcat.database = 'postgres'
max_connections = 100
shared_buffers = 512MB
fsync = off
synchronous_commit = off
${BENCH_SIM_URL:+brickcat.api_base_url = '$BENCH_SIM_URL'}
brickcat.consumer_key = 'test-consumer-key'
brickcat.consumer_secret = 'test-consumer-secret'
brickcat.token_value = 'test-token-value'
brickcat.token_secret = 'test-token-secret'
$*
${BENCH_EXTRA_CONF:-}
CONF
    bench_run "$BENCH_BIN/pg_ctl" -D "$BENCH_DIR/data" -w -l "$BENCH_DIR/server.log" start >/dev/null
    bench_psql -q -c 'CREATE EXTENSION brickcat'
}

# bench_sim_start starts the BrickLink simulator; sets BENCH_SIM_URL and BENCH_SIM_CTL.
bench_sim_start() {
    # through sh -c ... exec, so that the pid recorded is the simulator's own
    # (killing runuser would leave it running)
    bench_run sh -c 'echo $$ >"$0/sim.pid"; exec "$@"' "$BENCH_DIR" \
        python3 "$BENCH_ROOT/test/simulator/bricklink_sim.py" --host 127.0.0.1 --port 0 \
        --port-file "$BENCH_DIR/sim.port" --data-dir "$BRICKCAT_DATA" --quiet "$@" \
        >"$BENCH_DIR/sim.out" 2>&1 &
    for _ in $(seq 1 100); do [ -s "$BENCH_DIR/sim.pid" ] && break; sleep 0.05; done
    BENCH_SIM_PID=$(cat "$BENCH_DIR/sim.pid")
    for _ in $(seq 1 100); do [ -s "$BENCH_DIR/sim.port" ] && break; sleep 0.1; done
    BENCH_SIM_URL="http://127.0.0.1:$(cat "$BENCH_DIR/sim.port")/api/store/v1"
    BENCH_SIM_CTL="http://127.0.0.1:$(cat "$BENCH_DIR/sim.port")/_sim"
}

# bench_psql runs psql against the benchmark cluster.
bench_psql() { bench_run "$BENCH_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres -d postgres "$@"; }

# bench_pgbench runs pgbench against the benchmark cluster.
bench_pgbench() { bench_run "$BENCH_BIN/pgbench" -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres "$@" postgres; }

# bench_report prints one result line: name, value, baseline name, baseline, target.
bench_report() {
    local ratio
    ratio=$(python3 -c "import sys; b=float(sys.argv[2]); print('%.2f' % (float(sys.argv[1])/b if b else 0))" "$2" "$4")
    echo "BENCH|$1|$2|$3|$4|$ratio|$5"
}

# bench_cleanup stops the cluster and simulator and removes the temp dir.
bench_cleanup() {
    [ -f "$BENCH_DIR/data/postmaster.pid" ] && bench_run "$BENCH_BIN/pg_ctl" -D "$BENCH_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    [ -n "$BENCH_SIM_PID" ] && kill "$BENCH_SIM_PID" 2>/dev/null || true
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$BENCH_DIR"
}
trap bench_cleanup EXIT
