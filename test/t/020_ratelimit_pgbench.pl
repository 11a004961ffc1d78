# Eight concurrent pgbench clients make 10,000 calls against a limit of 1,000:
# exactly 1,000 are granted, for a token bucket, a fixed window and a sharded
# bucket; and 10,000 concurrent debits of the BrickLink budget with
# brickcat.daily_quota = 1000 grant exactly 1,000.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BrickcatTest;

my $node = BrickcatTest::new_node('ratelimit', conf => "max_connections = 40\n");
$node->safe_psql('postgres', q{
	SELECT brickcat.define_rate_limit('pgb_tb', 'token_bucket', 1000, '3650 days');
	SELECT brickcat.define_rate_limit('pgb_fw', 'fixed_window', 1000, '3650 days',
	                                  window_start => now() - interval '1 day');
	SELECT brickcat.define_rate_limit('pgb_sh', 'token_bucket', 1000, '3650 days', shards => 8);
	CREATE TABLE granted (lim text, ok boolean);
});

my $opts = '--no-vacuum --client=8 --jobs=8 --transactions=1250';
for my $lim (qw(pgb_tb pgb_fw pgb_sh))
{
	$node->pgbench($opts, 0,
		[qr{processed: 10000/10000}], [qr{^$}],
		"$lim: 8 clients make 10,000 calls",
		{ "020_$lim" => "INSERT INTO granted SELECT '$lim', ok FROM brickcat.rate_limit('$lim');\n" });
	is($node->safe_psql('postgres',
			"SELECT count(*) FILTER (WHERE ok) || '/' || count(*) FROM granted WHERE lim = '$lim'"),
		'1000/10000', "$lim: exactly 1,000 of 10,000 calls granted");
}
is($node->safe_psql('postgres',
		"SELECT sum(tokens) FROM brickcat.rate_limit_state WHERE name = 'pgb_sh'"),
	'0', 'pgb_sh: every shard drained, none below zero');

# The BrickLink budget: the same race on brickcat.quota_try_acquire.
# Crossing 80 % of the quota logs exactly one WARNING, whichever client crosses.
$node->pgbench($opts, 0,
	[qr{processed: 10000/10000}],
	[qr{\AWARNING:  brickcat has used 800 of its 1000 BrickLink calls in the last 24 hours\n(?:(?:DETAIL|HINT):[^\n]*\n)*\z}],
	'8 clients make 10,000 quota debits; one 80 % warning',
	{ '020_quota' => "SET brickcat.daily_quota = 1000;\nSET brickcat.max_calls_per_second = 0;\n"
		  . "SELECT ok FROM brickcat.quota_try_acquire('interactive', 1, 'pgbench-target');\n" });
is($node->safe_psql('postgres', 'SELECT sum(calls) FROM brickcat.quota_ledger'),
	'1000', 'the ledger holds exactly 1,000 calls');
is($node->safe_psql('postgres', 'SET brickcat.daily_quota = 1000; SELECT calls_24h || \'/\' || remaining FROM brickcat.quota'),
	'1000/0', 'brickcat.quota counts 1,000 calls, none remaining');

$node->stop;
done_testing();
