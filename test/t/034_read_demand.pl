# Read demand with brickcat preloaded: reading backends hand their counts to
# the worker through shared memory and the worker writes brickcat.item_demand,
# so reads never run the upsert themselves and reads in READ ONLY
# transactions count too.  brickcat.record_demand() still writes at once, and
# brickcat.demand_flush_interval = 0 still makes every read write its count.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 34);
my $node = BrickcatTest::new_node('demand', sim => $sim,
	conf => "brickcat.demand_flush_interval = '100ms'\n"
	  . "brickcat.demand_write_interval = '100ms'\n");
BrickcatTest::wait_for_worker($node);

sub q1 { my ($sql) = @_; return $node->safe_psql('postgres', $sql); }

q1("INSERT INTO brickcat.item (item_type, item_no, name, fetched_at)
    SELECT 'PART', n, 'Part ' || n, brickcat.now() FROM unnest(ARRAY['3001', '3002', '3003']) n");

# READ ONLY: this backend cannot write, the worker does
q1("BEGIN READ ONLY;
    SELECT source FROM brickcat.get_item('3001');
    SELECT source FROM brickcat.get_item('3001');
    SELECT count(*) FROM brickcat.get_items(ARRAY['3001', '3002']);
    SELECT pg_sleep(0.2);
    SELECT source FROM brickcat.get_item('3002');
    COMMIT;");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 2 AND sum(round(score)) = 5 FROM brickcat.item_demand"),
	'demand read in a READ ONLY transaction written by the worker');
is(q1("SELECT string_agg(item_no || '=' || round(score), ',' ORDER BY item_no)
         FROM brickcat.item_demand"),
	'3001=3,3002=2', 'each read counted once');

# the worker merges counts of several backends
q1("SELECT brickcat.get_item('3003')") for 1 .. 3;
q1("SELECT pg_sleep(0.2); SELECT brickcat.get_item('3003')");
ok($node->poll_query_until('postgres',
		"SELECT round(score) = 4 FROM brickcat.item_demand WHERE item_no = '3003'"),
	'counts of four backends merged');

# a loop in one statement counts every read; its counts reach the worker
# when the backend exits
q1("DO \$\$ BEGIN FOR i IN 1..500 LOOP
      PERFORM brickcat.get_item('3001');
    END LOOP; END \$\$");
ok($node->poll_query_until('postgres',
		"SELECT round(score) = 503 FROM brickcat.item_demand WHERE item_no = '3001'"),
	'reads of a long statement counted, handed over at exit');
is(q1("SELECT brickcat.demand_dropped()"), '0', 'no read dropped');

# the worker merges what it gets for brickcat.demand_write_interval
q1("ALTER SYSTEM SET brickcat.demand_write_interval = '5s'; SELECT pg_reload_conf()");
q1("SELECT pg_sleep(0.3)");
q1("SELECT brickcat.get_item('3002')") for 1 .. 3;
is(q1("SELECT pg_sleep(0.5); SELECT round(score) FROM brickcat.item_demand WHERE item_no = '3002'"),
	"\n2", 'not written before the write interval');
ok($node->poll_query_until('postgres',
		"SELECT round(score) = 5 FROM brickcat.item_demand WHERE item_no = '3002'"),
	'written after the write interval, merged');
q1("ALTER SYSTEM RESET brickcat.demand_write_interval; SELECT pg_reload_conf()");

# record_demand writes at once, in the caller's transaction
is(q1("BEGIN; SELECT brickcat.record_demand(ARRAY['4001']);
       SELECT round(score) FROM brickcat.item_demand WHERE item_no = '4001'; COMMIT;"),
	"1\n1", 'record_demand writes in the calling transaction');

# demand_flush_interval = 0: the reading backend writes each read itself
is(q1("SET brickcat.demand_flush_interval = 0;
       BEGIN; SELECT count(*) FROM brickcat.get_item('3002');
       SELECT round(score) FROM brickcat.item_demand WHERE item_no = '3002'; COMMIT;"),
	"1\n6", 'flush interval 0: written by the reader at once');

$node->stop;
$sim->stop;
done_testing();
