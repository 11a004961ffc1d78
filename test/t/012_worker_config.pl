# The worker at rest and under configuration changes: an idle worker runs no
# queries and burns no CPU for a minute; SIGHUP makes the next calls go to a
# new base URL; credentials BrickLink rejects produce one auth_error call and
# a stop instead of a retry storm, and fetching resumes after a reload with
# good credentials; no secret reaches the server log.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 12);
my $sim2 = BrickcatTest::Simulator->start(seed => 12);
my $node = BrickcatTest::new_node('config', sim => $sim);
BrickcatTest::wait_for_worker($node);

sub wait_idle_queue
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
	  or die 'queue did not drain';
}

# cpu_ticks returns utime + stime of a process.
sub cpu_ticks
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return -1;
	my @f = split / /, (split /\) /, scalar <$fh>)[1];
	close($fh);
	return $f[11] + $f[12];
}

# --- idle: no queries, no CPU for a minute -------------------------------------
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3001')});
wait_idle_queue();
sleep(1);
my $pid = BrickcatTest::worker_pid($node);
my $act_sql = qq{SELECT state || '|' || coalesce(query_start::text, '') || '|' || state_change
                   FROM pg_stat_activity WHERE pid = $pid};
my $before = $node->safe_psql('postgres', $act_sql);
my $ticks = cpu_ticks($pid);
like($before, qr/^idle\|/, 'the idle worker is shown idle in pg_stat_activity');
sleep(60);
is($node->safe_psql('postgres', $act_sql), $before, 'no query ran in 60 s (pg_stat_activity unchanged)');
cmp_ok(cpu_ticks($pid) - $ticks, '<=', 1, 'no CPU used in 60 s');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.api_call}), '2', 'no call made while idle');

# --- SIGHUP: a new base URL applies to the next calls ---------------------------
$sim->reset;
$sim2->reset;
my $url2 = $sim2->base_url;
$node->safe_psql('postgres', "ALTER SYSTEM SET brickcat.api_base_url = '$url2'");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
sleep(1);
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3002', what => '{item}')});
wait_idle_queue();
is($sim2->count('item:PART:3002') . '/' . $sim->count('item:PART:3002'), '1/0',
	'after SIGHUP the call goes to the new base URL');
is($node->safe_psql('postgres', q{SELECT state FROM brickcat.fetch_queue WHERE target = 'item:PART:3002'}),
	'done', 'and succeeds');
is(BrickcatTest::worker_pid($node), $pid, 'the worker was not restarted for it');

# --- wrong signature: one auth_error call, no retry storm -------------------------
$sim2->reset;
$node->safe_psql('postgres', q{ALTER SYSTEM SET brickcat.token_secret = 'BCWRONG-secret-4f1e'});
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
sleep(1);
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3003', what => '{item}')});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM brickcat.api_call WHERE target = 'item:PART:3003' AND outcome IS NOT NULL})
  or die 'no auth_error call';
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh(x, what => '{item}') FROM unnest('{3004,3005,3006}'::text[]) x});
sleep(5);
is($sim2->count, 1, 'exactly one call with the wrong signature (no retry storm)');
is($node->safe_psql('postgres',
		q{SELECT outcome || '/' || meta_code FROM brickcat.api_call WHERE target = 'item:PART:3003'}),
	'auth_error/401', 'the call is logged as auth_error');
is($node->safe_psql('postgres', q{SELECT state || '/' || last_outcome FROM brickcat.fetch_queue WHERE target = 'item:PART:3003'}),
	'queued/auth_error', 'the job waits for good credentials');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'queued'}),
	'4', 'later jobs wait too');
like(slurp_file($node->logfile), qr/BrickLink rejected the OAuth credentials/, 'the stop is logged loudly');

# good credentials again: fetching resumes
$node->safe_psql('postgres', q{ALTER SYSTEM SET brickcat.token_secret = 'test-token-secret'});
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
wait_idle_queue();
is($sim2->count, 5, 'after the reload the four waiting jobs are fetched');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT state::text, ',') FROM brickcat.fetch_queue}),
	'done', 'every job done');

my $log = slurp_file($node->logfile);
unlike($log, qr/BCWRONG-secret|test-token-secret|test-consumer-secret/, 'no secret in the server log');
like($log, qr/parameter "brickcat.token_secret" changed \(value not logged\)/,
	'the reload message for a secret is redacted');

$node->stop;
done_testing();
