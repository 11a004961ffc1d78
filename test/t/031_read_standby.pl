# Reads on a hot standby (a real streaming replica): they serve what the
# replica has, never write or request anything, and say that refreshing is
# not possible there (error code READ_ONLY when there is nothing to serve).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 31);
my $primary = BrickcatTest::new_node('primary', sim => $sim, allows_streaming => 1);
BrickcatTest::wait_for_worker($primary);

$primary->safe_psql('postgres', q{
INSERT INTO brickcat.item (item_type, item_no, name, weight, fetched_at) VALUES
  ('PART', '3001', 'Brick 2 x 4', 2.32, brickcat.now() - interval '1 day'),
  ('PART', '3002', 'Brick 2 x 3', 1.71, brickcat.now() - interval '40 days'),
  ('PART', '3003', 'Brick 2 x 2', 1.17, brickcat.now() - interval '90 days');
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
SELECT item_type, item_no, fetched_at FROM brickcat.item;
INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity) VALUES ('PART', '3001', 5, 10);
INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition, avg_price, unit_quantity, fetched_at)
VALUES ('PART', '3001', 0, 'sold', 'N', 0.12, 800, brickcat.now() - interval '1 day');
});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'a streaming replica');

$sim->reset;
sub read_one
{
	my ($sql) = @_;
	return $standby->safe_psql('postgres', $sql);
}

is(read_one(q{SELECT name || '|' || color_ids::text || '|' || source || '|' || freshness
                  || '|' || coalesce(error_code, '') || '|' || coalesce(error_message, '')
                FROM brickcat.get_item('3001')}),
	'Brick 2 x 4|{5}|cache|fresh||', 'fresh: served from the replica, all well');
like(read_one(q{SELECT source || '|' || coalesce(error_code, '') || '|' || error_message
                  FROM brickcat.get_item('3002')}),
	qr/^stale\|\|stale data served; background refresh not possible: this server is a hot standby/,
	'stale: served, saying it cannot be refreshed here');
like(read_one(q{SELECT name || '|' || source || '|' || error_code || '|' || error_message
                  FROM brickcat.get_item('3003', wait => '5s')}),
	qr/^Brick 2 x 2\|fallback\|READ_ONLY\|serving last-known-good data .*hot standby/,
	'expired: last-known-good data, READ_ONLY');
my $t0 = time;
like(read_one(q{SELECT source || '|' || freshness || '|' || error_code
                  FROM brickcat.get_item('3004', wait => '5s')}),
	qr/^error\|missing\|READ_ONLY$/, 'missing: error READ_ONLY');
cmp_ok(time - $t0, '<', 3, 'without waiting');
is(read_one(q{SELECT source FROM brickcat.get_price('3001')}), 'cache', 'prices too');
is(read_one(q{SELECT string_agg(item_no || ':' || source, ',' ORDER BY item_no)
                FROM brickcat.get_items(ARRAY['3001', '3002', '3003', '3004'], wait => '1s')}),
	'3001:cache,3002:stale,3003:fallback,3004:error', 'a batch');
is(read_one(q{SELECT count(*) FILTER (WHERE queued IS NOT NULL)
                FROM brickcat.validate_freshness(ARRAY['3001', '3002', '3003', '3004'])}),
	0, 'validate_freshness queues nothing on a standby');
is(read_one(q{SELECT (SELECT count(*) FROM brickcat.stat_freshness) || '/' || (SELECT count(*) FROM brickcat.stat_cache)}),
	'3/1', 'the metrics views work there');

is(join(',', map { $sim->count("item:PART:$_") + $sim->count("colors:PART:$_") } 3002 .. 3004),
	'0,0,0', 'nothing was fetched for the standby\'s reads');
is($primary->safe_psql('postgres', q{SELECT count(*) FROM brickcat.fetch_queue}), 0,
	'the primary got no job from the standby');

done_testing();
