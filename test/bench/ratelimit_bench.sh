#!/usr/bin/env bash
# Rate limiter benchmark (issue 4): brickcat.rate_limit calls per second under
# 2 pgbench clients, one key and sharded (8 shards, two locked per call), as a
# ratio to a plain single-row "UPDATE ... SET n = n + 1" measured in the same
# run (the floor cost of a transactional counter).  Target: ratio >= 0.5.
# Also the cost of one BrickLink budget check + debit (bc_quota_try_acquire)
# with 5,000 calls in the ledger's window.  Target: well under 1 ms.
#
# usage: test/bench/ratelimit_bench.sh      (BENCH_SECONDS=10 by default)
source "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}
bench_cluster_start

bench_psql -q <<'SQL'
CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint NOT NULL) WITH (fillfactor = 50);
INSERT INTO bench_counter VALUES (1, 0);
-- never empty during the run: the limiter's full path (lock, refill, debit, write)
SELECT brickcat.define_rate_limit('bench_one', 'token_bucket', 2000000000, '1 second');
SELECT brickcat.define_rate_limit('bench_sharded', 'token_bucket', 2000000000, '1 second', shards => 8);
SQL
echo 'UPDATE bench_counter SET n = n + 1 WHERE id = 1;' >"$BENCH_DIR/update.sql"
echo "SELECT ok FROM brickcat.rate_limit('bench_one');" >"$BENCH_DIR/one.sql"
echo "SELECT ok FROM brickcat.rate_limit('bench_sharded');" >"$BENCH_DIR/sharded.sql"
cat >"$BENCH_DIR/quota.sql" <<'SQL'
SET brickcat.daily_quota = 10000000;
SET brickcat.max_calls_per_second = 0;
SELECT ok FROM brickcat.quota_try_acquire('background', 1, 'bench-target');
SQL
chmod 644 "$BENCH_DIR"/*.sql

# tps runs a pgbench script with 2 clients and prints its transactions per second.
tps() {
    bench_pgbench --no-vacuum -M prepared --client="${2:-2}" --jobs="${2:-2}" --time="$secs" \
        --file="$1" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

update_tps=$(tps "$BENCH_DIR/update.sql")
one_tps=$(tps "$BENCH_DIR/one.sql")
sharded_tps=$(tps "$BENCH_DIR/sharded.sql")
update_tps2=$(tps "$BENCH_DIR/update.sql")
base=$(python3 -c "import sys; print('%.0f' % ((float(sys.argv[1]) + float(sys.argv[2])) / 2))" "$update_tps" "$update_tps2")

# The budget check: 5,000 calls spread over the last 24 hours, then one
# client debiting one call per transaction (three statements, two of them SETs).
bench_psql -q -c "INSERT INTO brickcat.quota_ledger (call_at, priority, calls, target)
                  SELECT now() - g * interval '17 s', 'background', 1, 'item:PART:' || g
                    FROM generate_series(1, 5000) g;
                  UPDATE brickcat.quota_state SET horizon = '-infinity';"
quota_tps=$(tps "$BENCH_DIR/quota.sql" 1)
quota_ms=$(python3 -c "import sys; print('%.3f' % (1000.0 / float(sys.argv[1])))" "$quota_tps")
ledger=$(bench_psql -At -c "SELECT count(*) FROM brickcat.quota_ledger")

echo "plain UPDATE n = n + 1 (mean of two runs): $update_tps / $update_tps2 tps"
echo "rate_limit one key: $one_tps tps; sharded (8): $sharded_tps tps"
echo "quota_try_acquire: $quota_tps tps, $quota_ms ms per debit transaction (ledger now $ledger rows)"
bench_report "rate_limit one key, 2 clients (tps)" "$one_tps" "UPDATE n = n + 1 (tps)" "$base" ">= 0.5"
bench_report "rate_limit 8 shards, 2 clients (tps)" "$sharded_tps" "UPDATE n = n + 1 (tps)" "$base" ">= 0.5"
bench_report "quota debit, 1 client (ms/transaction)" "$quota_ms" "1 ms" "1" "< 1 ms"
