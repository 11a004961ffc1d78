# Retries and the circuit breaker: retryable failures are retried with
# backoff up to brickcat.retry_max_attempts, then the job fails with its
# reason; non-retryable answers are not retried and leave the last good data
# byte-identical; consecutive failures open the shared breaker, which sends
# nothing until one half-open probe succeeds.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 13);
my $node = BrickcatTest::new_node('retry', sim => $sim,
	conf => "brickcat.retry_base = '100ms'\n"
	  . "brickcat.retry_max_delay = '300ms'\n"
	  . "brickcat.retry_max_attempts = 3\n"
	  . "brickcat.breaker_failure_threshold = 3\n"
	  . "brickcat.breaker_open_duration = '4s'\n"
	  . "brickcat.request_timeout = '1s'\n");
BrickcatTest::wait_for_worker($node);

sub wait_idle_queue
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
	  or die 'queue did not drain';
}

sub job { my ($t) = @_;
	return $node->safe_psql('postgres',
		"SELECT state || '/' || attempts || '/' || coalesce(last_outcome, '') FROM brickcat.fetch_queue WHERE target = '$t' ORDER BY job_id DESC LIMIT 1");
}
sub outcomes { my ($t) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(outcome, ',' ORDER BY call_id) FROM brickcat.api_call WHERE target = '$t'");
}

# --- two failures, then success ----------------------------------------------------
$sim->reset;
$sim->faults({ key => 'item:PART:3001', kind => 'http_500', count => 2 });
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3001', what => '{item}')});
wait_idle_queue();
is($sim->count('item:PART:3001'), 3, 'HTTP 500 twice: three calls');
is(job('item:PART:3001'), 'done/3/ok', 'the job is done after three attempts');
is(outcomes('item:PART:3001'), 'server_error,server_error,ok', 'each attempt logged');
is($node->safe_psql('postgres', q{SELECT last_error IS NULL AND fetched_at IS NOT NULL FROM brickcat.item WHERE item_no = '3001'}),
	't', 'the item is stored and its error cleared');

# --- a gateway page and a timeout are retried too ------------------------------
$sim->reset;
$sim->faults({ key => 'item:PART:3002', kind => 'gateway_503', count => 1 },
	{ key => 'colors:PART:3002', kind => 'latency', ms => 2000, count => 1 });
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3002')});
wait_idle_queue();
is(outcomes('item:PART:3002'), 'throttled,ok', 'gateway HTML page: throttled, then retried');
is(outcomes('colors:PART:3002'), 'timeout,ok', 'a call beyond request_timeout: timeout, then retried');

# --- non-retryable: wrong types leave the last good data as it was -----------------
my $cols = q{name, category_id, alternate_no, image_url, thumbnail_url, weight, dim_x, dim_y,
             dim_z, year_released, is_obsolete, decoration, description, language_code, fetched_at, origin};
my $good = $node->safe_psql('postgres', "SELECT ($cols)::text FROM brickcat.item WHERE item_no = '3001'");
$sim->reset;
$sim->faults({ key => 'item:PART:3001', kind => 'wrong_types' });
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3001', what => '{item}')});
wait_idle_queue();
is($sim->count('item:PART:3001'), 1, 'wrong JSON types: one call, not retried');
is(job('item:PART:3001'), 'failed/1/bad_response', 'the job fails as bad_response');
is($node->safe_psql('postgres', "SELECT ($cols)::text FROM brickcat.item WHERE item_no = '3001'"),
	$good, 'the last good data is byte-identical');
like($node->safe_psql('postgres', q{SELECT last_error FROM brickcat.item WHERE item_no = '3001'}),
	qr/^bad_response: /, 'the failure is recorded in last_error');
like($node->safe_psql('postgres', q{SELECT reason FROM brickcat.fetch_queue WHERE target = 'item:PART:3001' ORDER BY job_id DESC LIMIT 1}),
	qr/^bad_response after 1 attempt: /, 'the job says why it failed');

# --- persistent failure: max attempts, then failed; the breaker opens -----------------
$sim->reset;
$sim->faults({ key => 'item:PART:3003', kind => 'meta_500' });
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3003', what => '{item}')});
wait_idle_queue();
is($sim->count('item:PART:3003'), 3, 'meta.code 500 in HTTP 200: retry_max_attempts calls');
like($node->safe_psql('postgres', q{SELECT state || ': ' || reason FROM brickcat.fetch_queue WHERE target = 'item:PART:3003'}),
	qr/^failed: server_error after 3 attempts/, 'then the job fails with its reason');
like(slurp_file($node->logfile), qr/circuit breaker closed -> open after 3 consecutive failures/,
	'three consecutive failures open the breaker');

# while open nothing is sent
$sim->faults();
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3004', what => '{item}')});
sleep(1);
is($sim->count('item:PART:3004'), 0, 'nothing is sent while the breaker is open');
wait_idle_queue();
is($sim->count('item:PART:3004'), 1, 'after breaker_open_duration one probe goes out');
like(slurp_file($node->logfile), qr/circuit breaker half_open -> closed/, 'its success closes the breaker');

$node->stop;
done_testing();
