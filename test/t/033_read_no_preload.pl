# Without shared_preload_libraries the read API still serves the cache: fresh
# and stale rows as usual, expired rows as fallback and missing ones as error
# WORKER_NOT_RUNNING, at once, with nothing requested or queued.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->start;
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION brickcat');
is($ret, 0, 'the extension installs and loads without preloading') or diag($err);

$node->safe_psql('postgres', q{
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at) VALUES
  ('PART', '3001', 'Brick 2 x 4', brickcat.now() - interval '1 day'),
  ('PART', '3002', 'Brick 2 x 3', brickcat.now() - interval '40 days'),
  ('PART', '3003', 'Brick 2 x 2', brickcat.now() - interval '90 days');
});
my $t0 = time;
is($node->safe_psql('postgres', q{
SELECT string_agg(item_no || ':' || source || ':' || coalesce(error_code, '-'), ',' ORDER BY item_no)
  FROM brickcat.get_items(ARRAY['3001', '3002', '3003', '3004'], wait => '5s')}),
	'3001:cache:-,3002:stale:-,3003:fallback:WORKER_NOT_RUNNING,3004:error:WORKER_NOT_RUNNING',
	'cache, stale, fallback and error WORKER_NOT_RUNNING');
cmp_ok(time - $t0, '<', 3, 'without waiting');
like($node->safe_psql('postgres', q{SELECT error_message FROM brickcat.get_item('3004')}),
	qr/not in shared_preload_libraries/, 'the message says why');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.fetch_queue}), 0, 'nothing queued');
is($node->safe_psql('postgres', q{SELECT hits || '/' || coalesce(stats_reset::text, 'none') FROM brickcat.stat_cache}),
	'0/none', 'no shared counters without preloading');
done_testing();
