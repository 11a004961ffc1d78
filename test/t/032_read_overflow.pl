# When the shared request table is full, reads fall back to queueing jobs in
# brickcat.fetch_queue in their own transaction (woken at commit) instead of
# failing: every part is still fetched, once.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 32);
my $node = BrickcatTest::new_node('overflow',
	sim => $sim,
	conf => "brickcat.max_pending_requests = 16\nbrickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);

my @parts;
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no) = split /,/, $line;
	push @parts, $no if defined $no && $no =~ /^[0-9]+[a-z]?$/ && @parts < 40;
}
close($fh);
my $arr = "ARRAY['" . join("','", @parts) . "']";

# slow answers keep the 16 slots busy while the batch asks for 80 targets
$sim->control('POST', 'config', { latency_ms => 500 });
$node->safe_psql('postgres', 'SELECT brickcat.stats_reset()');
is($node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE source = 'pending') FROM brickcat.get_items($arr, wait => '0')"),
	40, 'wait 0: all 40 pending');
my ($requests, $overflow) = split /\|/,
  $node->safe_psql('postgres', q{SELECT requests || '|' || request_overflow FROM brickcat.stat_cache});
cmp_ok($overflow, '>', 0, "$overflow requests overflowed into the queue table ($requests in shared memory)");
is($requests + $overflow, 80, 'every item and colors target was requested');
cmp_ok($node->safe_psql('postgres',
		q{SELECT count(*) FROM brickcat.fetch_queue WHERE reason = 'read: request table full'}),
	'>', 0, 'the overflow jobs are in brickcat.fetch_queue');

$node->poll_query_until('postgres',
	"SELECT count(*) = 40 FROM brickcat.item WHERE item_type = 'PART' AND item_no = ANY ($arr)")
  or die 'overflowed requests were not fetched';
$node->poll_query_until('postgres',
	"SELECT count(*) = 40 FROM brickcat.item_color_set WHERE item_no = ANY ($arr) AND colors_fetched_at IS NOT NULL")
  or die 'overflowed colors were not fetched';
pass('all 40 items and their colors were fetched');
my $stats = $sim->stats;
my @twice = grep { ($stats->{by_key}{"item:PART:$_"} // 0) != 1 } @parts;
is_deeply(\@twice, [], 'each item exactly once');
is($node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE source = 'cache') FROM brickcat.get_items($arr, wait => '0')"),
	40, 'then all 40 from the cache');

done_testing();
