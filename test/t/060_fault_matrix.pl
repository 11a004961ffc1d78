# The fault matrix: for every kind of upstream failure the simulator can
# inject, the worker and the postmaster stay up, the last-known-good rows of
# a pre-fetched item (item, known colors, price guide) stay byte-identical,
# the call log records the right outcome class, readers get their answer
# within their wait with the right error_code, retries and the circuit
# breaker behave as configured, and the simulator saw exactly the calls the
# quota ledger debited.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use BrickcatTest;

my $MAX_ATTEMPTS = 3;
my $sim = BrickcatTest::Simulator->start(seed => 60);
my $node = BrickcatTest::new_node('faults', sim => $sim,
	conf => "brickcat.retry_base = '100ms'\n"
	  . "brickcat.retry_max_delay = '300ms'\n"
	  . "brickcat.retry_max_attempts = $MAX_ATTEMPTS\n"
	  . "brickcat.breaker_failure_threshold = 3\n"
	  . "brickcat.breaker_open_duration = '1s'\n"
	  . "brickcat.request_timeout = '1s'\n"
	  . "brickcat.connect_timeout = '1s'\n"
	  . "brickcat.max_response_bytes = '64kB'\n"
	  . "brickcat.daily_quota = 1000000\n"
	  . "brickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);
my $worker_pid = BrickcatTest::worker_pid($node);
my $pm_start = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# --- real part numbers: one pre-fetched item per case, a few spares -----------
my @parts;
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no) = split /,/, $line;
	push @parts, $no if defined $no && $no =~ /^3\d{3}$/ && @parts < 24;
}
close($fh);
die 'not enough part numbers' if @parts < 24;

sub sql { my ($q) = @_; return $node->safe_psql('postgres', $q); }

sub targets
{
	my ($no) = @_;
	return ("item:PART:$no", "colors:PART:$no", "price:PART:$no:0:sold:N");
}

sub in_list { return join(', ', map { "'$_'" } @_); }

# wait_idle waits until no job is queued or running.
sub wait_idle
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
	  or die 'the queue did not drain';
}

# snapshot returns the last-known-good rows of an item as text (everything
# but the failure bookkeeping last_attempt_at/last_error).
sub snapshot
{
	my ($no) = @_;
	return sql(qq{
SELECT (SELECT (name, category_id, alternate_no, image_url, thumbnail_url, weight, dim_x, dim_y,
                dim_z, year_released, is_obsolete, decoration, description, language_code,
                fetched_at, origin)::text
          FROM brickcat.item WHERE item_type = 'PART' AND item_no = '$no')
    || ' | ' || (SELECT colors_fetched_at::text FROM brickcat.item_color_set
                  WHERE item_type = 'PART' AND item_no = '$no')
    || ' | ' || (SELECT string_agg((color_id, quantity)::text, ',' ORDER BY color_id)
                   FROM brickcat.item_color WHERE item_type = 'PART' AND item_no = '$no')
    || ' | ' || (SELECT string_agg((color_id, guide_type, condition, currency, min_price, max_price,
                                    avg_price, qty_avg_price, unit_quantity, total_quantity,
                                    fetched_at)::text, ',')
                   FROM brickcat.price_guide WHERE item_type = 'PART' AND item_no = '$no')});
}

# read reads an item and its price guide as a reader whose clock says the
# data expired, so both are fetched on demand; returns the two answers
# "source/error_code" and the seconds each took.
sub read_expired
{
	my ($no, $wait) = @_;
	my $out = sql(qq{
SET brickcat.clock_offset = '61 days';
SELECT clock_timestamp() AS t0 \\gset
SELECT source || '/' || coalesce(error_code, '-'), extract(epoch FROM clock_timestamp() - :'t0')
  FROM brickcat.get_item('$no', wait => '$wait');
SELECT clock_timestamp() AS t1 \\gset
SELECT source || '/' || coalesce(error_code, '-'), extract(epoch FROM clock_timestamp() - :'t1')
  FROM brickcat.get_price('$no', wait => '$wait');});
	my @l = split /\n/, $out;
	my ($item, $ti) = split /\|/, $l[0];
	my ($price, $tp) = split /\|/, $l[1];
	return ($item, $ti, $price, $tp);
}

# log_since returns the server log written after offset.
sub log_since { my ($off) = @_; return slurp_file($node->logfile, $off); }

# breaker_close makes sure the breaker is closed again after a case: a
# successful call (the half-open probe) closes it.
sub breaker_close
{
	my ($off) = @_;
	my @moves = log_since($off) =~ /circuit breaker \w+ -> (\w+)/g;
	return if !@moves || $moves[-1] eq 'closed';
	sql(q{SELECT brickcat.request_refresh('3001', what => '{item}')});
	wait_idle();
	$node->wait_for_log(qr/circuit breaker half_open -> closed/, $off);
}

# --- pre-fetch every item: item, known colors, price guide ---------------------
sql("SELECT brickcat.request_refresh(p, what => '{item,colors,price:0:sold:N}') FROM unnest(ARRAY["
	  . in_list(@parts) . "]) p");
wait_idle();
is(sql(q{SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*) FROM brickcat.fetch_queue}),
	(3 * @parts) . '/' . (3 * @parts), 'all items pre-fetched');

# The matrix.  outcome: the api_call outcome class; code: the readers'
# error_code; retry: whether it is retried up to retry_max_attempts.
my @cases = (
	{ name => 'latency beyond request_timeout', fault => { kind => 'latency', ms => 2500 },
	  outcome => 'timeout', code => 'TIMEOUT', retry => 1 },
	{ name => 'hang', fault => { kind => 'hang' },
	  outcome => 'timeout', code => 'TIMEOUT', retry => 1 },
	{ name => 'connection reset', fault => { kind => 'reset' },
	  outcome => 'network_error', code => 'UPSTREAM_ERROR', retry => 1 },
	{ name => 'truncated body', fault => { kind => 'truncate' },
	  outcome => 'network_error', code => 'UPSTREAM_ERROR', retry => 1 },
	{ name => 'malformed JSON', fault => { kind => 'malformed_json' },
	  outcome => 'bad_response', code => 'BAD_RESPONSE', retry => 1 },
	{ name => 'wrong JSON types', fault => { kind => 'wrong_types' },
	  outcome => 'bad_response', code => 'BAD_RESPONSE', retry => 0 },
	{ name => 'gateway HTML 503', fault => { kind => 'gateway_503' },
	  outcome => 'throttled', code => 'THROTTLED', retry => 1 },
	{ name => 'HTTP 500', fault => { kind => 'http_500' },
	  outcome => 'server_error', code => 'UPSTREAM_ERROR', retry => 1, breaker_read => 1 },
	{ name => 'meta.code 500 in HTTP 200', fault => { kind => 'meta_500' },
	  outcome => 'server_error', code => 'UPSTREAM_ERROR', retry => 1 },
	{ name => 'HTTP 429 with Retry-After', fault => { kind => 'throttle_429', retry_after => 1 },
	  outcome => 'throttled', code => 'THROTTLED', retry => 1, retry_after => 1 },
	{ name => 'body over max_response_bytes', fault => { kind => 'oversize', bytes => 200_000 },
	  outcome => 'bad_response', code => 'BAD_RESPONSE', retry => 0 },
	{ name => '401 bad signature', fault => { kind => 'bad_auth' },
	  outcome => 'auth_error', code => 'AUTH_ERROR', retry => 0, auth => 1 },
	{ name => '404 deleted item', delete => 1,
	  outcome => 'not_found', code => 'NOT_FOUND', retry => 0 },
);

my $spare = 0;
for my $i (0 .. $#cases)
{
	my $c = $cases[$i];
	my $no = $parts[$i];
	my @t = targets($no);
	my $name = $c->{name};

	my $before = snapshot($no);
	like($before, qr/^\(.+\) \| \S.+ \| \(.+\) \| \(.+\)$/s, "$name: item $no has item, colors and price rows");
	$sim->reset;
	sql('SELECT brickcat.stats_reset()');
	my $ledger0 = sql('SELECT sum(calls) FROM brickcat.quota_ledger');
	my $calls0 = sql('SELECT coalesce(max(call_id), 0) FROM brickcat.api_call');
	my $viewcalls0 = sql(q{SELECT calls FROM brickcat.stat_upstream WHERE endpoint = 'all'});
	my $logoff = -s $node->logfile;
	if ($c->{delete})
	{
		$sim->control('DELETE', "items/part/$no");
	}
	else
	{
		$sim->faults(map { { key => $_, %{ $c->{fault} } } } @t);
	}

	# readers get their answer within their wait, with the failure's code
	my ($item, $ti, $price, $tp) = read_expired($no, '3s');
	is($item, "fallback/$c->{code}", "$name: get_item serves the last good row with $c->{code}");
	# by the second read, retries of the first may have opened the breaker
	my $also = $c->{retry} ? '|BREAKER_OPEN' : '';
	like($price, qr{^fallback/($c->{code}$also)$},
		"$name: get_price serves the last good row with $c->{code}" . ($also ? ' (or BREAKER_OPEN)' : ''));
	ok($ti < 3.3 && $tp < 3.3, sprintf("$name: reads answered within their wait (%.2f s, %.2f s)", $ti, $tp));

	if ($c->{auth})
	{
		# fetching stops: nothing more is sent, readers are told at once
		my $n = $sim->count;
		my ($i2, $t2) = read_expired($parts[-1 - $spare++], '3s');
		is($i2, 'fallback/AUTH_ERROR', "$name: later reads answer AUTH_ERROR");
		ok($t2 < 0.5, sprintf("$name: without waiting (%.2f s)", $t2));
		sleep(1);
		is($sim->count, $n, "$name: no call is sent after the credentials were rejected");
		is(sql("SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'queued' AND target IN ("
				  . in_list(@t) . ")"), '3', "$name: the jobs wait for working credentials");
		is(snapshot($no), $before, "$name: last-known-good rows byte-identical");
		like(log_since($logoff), qr/WARNING:.*rejected the OAuth credentials/, "$name: said loudly in the log");
		my $auth_calls = sql(q{SELECT count(*) FROM brickcat.api_call WHERE outcome = 'auth_error' AND call_id > } . $calls0);
		ok($auth_calls >= 1 && $auth_calls <= 3 && $auth_calls == $n,
			"$name: $auth_calls call(s) sent (those in flight when the first answer came), each logged as auth_error");
		is($sim->count, sql('SELECT sum(calls) FROM brickcat.quota_ledger') - $ledger0,
			"$name: simulator calls = quota ledger debits");
		$sim->faults();
		sql('SELECT pg_reload_conf()');
		wait_idle();
		is(sql("SELECT string_agg(DISTINCT state || '/' || last_outcome, ',') FROM brickcat.fetch_queue WHERE target IN ("
				  . in_list(@t) . ")"), 'done/ok', "$name: after a reload the jobs are fetched");
		next;
	}

	wait_idle();
	is(snapshot($no), $before, "$name: last-known-good rows byte-identical");

	my $tries = $c->{retry} ? $MAX_ATTEMPTS : 1;
	my $logged = sql(qq{SELECT string_agg(x, ' ') FROM (
  SELECT target || '=' || string_agg(outcome, ',' ORDER BY call_id) x FROM brickcat.api_call
   WHERE call_id > $calls0 AND target IN (@{[in_list(@t)]}) GROUP BY target ORDER BY target) s});
	is($logged, join(' ', map { "$_=" . join(',', ($c->{outcome}) x $tries) } sort @t),
		"$name: $tries call(s) per target, each logged as $c->{outcome}");
	my $reason = $c->{outcome} eq 'not_found' ? 'not_found' : "$c->{outcome} after $tries attempt";
	is(sql("SELECT string_agg(DISTINCT state || '/' || attempts || '/' || substr(reason, 1, "
			  . length($reason) . "), ',') FROM brickcat.fetch_queue WHERE target IN (" . in_list(@t) . ')'),
		"failed/$tries/$reason", "$name: jobs failed after $tries attempt(s) with their reason");
	is(sql("SELECT count(*) FROM brickcat.item WHERE item_no = '$no' AND last_error LIKE '$c->{outcome}%'"),
		'1', "$name: the failure is recorded in item.last_error");

	is($sim->count, 3 * $tries, "$name: the simulator saw " . (3 * $tries) . ' calls');
	is($sim->count, sql('SELECT sum(calls) FROM brickcat.quota_ledger') - $ledger0,
		"$name: simulator calls = quota ledger debits");
	is(sql(q{SELECT calls FROM brickcat.stat_upstream WHERE endpoint = 'all'}) - $viewcalls0, $sim->count,
		"$name: brickcat.stat_upstream counts the same calls");

	# retries and breaker transitions in the shared counters
	my ($opens, $backoffs, $retries) = split /\|/,
	  sql('SELECT breaker_opens, backoffs, retries FROM brickcat.upstream_state()');
	my $again = 3 * ($tries - 1);
	is("$backoffs/$retries", "$again/$again", "$name: $again backoffs and $again retries counted");
	if ($c->{retry}) { cmp_ok($opens, '>=', 2, "$name: the breaker opened $opens times (first failures, failed probes)"); }
	else { is($opens, '0', "$name: the breaker never opened"); }

	my $log = log_since($logoff);
	if ($c->{retry})
	{
		like($log, qr/circuit breaker closed -> open after 3 consecutive failures/,
			"$name: three consecutive failures open the breaker");
		like($log, qr/circuit breaker open -> half_open.*circuit breaker half_open -> open/s,
			"$name: a failed half-open probe opens it again");
	}
	else
	{
		unlike($log, qr/circuit breaker \w+ -> open/, "$name: the breaker stays closed");
	}
	if ($c->{retry_after})
	{
		my $gaps = sql(qq{SELECT string_agg(round(extract(epoch FROM started_at - prev)::numeric, 1)::text, ',')
  FROM (SELECT started_at, lag(started_at) OVER (ORDER BY call_id) prev FROM brickcat.api_call
         WHERE call_id > $calls0 AND target = 'item:PART:$no') s WHERE prev IS NOT NULL});
		ok(!grep({ $_ < 0.95 } split /,/, $gaps), "$name: retries wait for Retry-After ($gaps s)");
	}
	if ($c->{breaker_read})
	{
		# while the breaker is open a reader is answered at once, and nothing is sent
		my $other = $parts[-1 - $spare++];
		my $n = $sim->count;
		is(sql('SELECT breaker_state FROM brickcat.upstream_state()'), 'open',
			"$name: brickcat.upstream_state shows the breaker open");
		my ($i2, $t2) = read_expired($other, '2s');
		is($i2, 'fallback/BREAKER_OPEN', "$name: with the breaker open reads answer BREAKER_OPEN");
		ok($t2 < 0.5, sprintf("$name: without waiting (%.2f s)", $t2));
		is($sim->count, $n, "$name: nothing was sent for it while open");
		$sim->faults();
		wait_idle();
		like(log_since($logoff), qr/circuit breaker half_open -> closed/,
			"$name: the queued read's fetch is the probe that closes the breaker");
		is(sql("SELECT count(*) FROM brickcat.api_call WHERE call_id > $calls0 AND target = 'item:PART:$other'"),
			'1', "$name: the deferred read was fetched once, after the breaker closed");
	}
	$sim->faults();
	breaker_close($logoff);
	is(sql('SELECT breaker_state FROM brickcat.stat_upstream LIMIT 1'), 'closed',
		"$name: stat_upstream shows the breaker closed again");
}

# --- refusal above N concurrent connections ---------------------------------------
{
	my $name = 'refusal above 2 concurrent connections';
	my @nos = @parts[13 .. 18];
	$sim->reset;
	my $ledger0 = sql('SELECT sum(calls) FROM brickcat.quota_ledger');
	my $calls0 = sql('SELECT coalesce(max(call_id), 0) FROM brickcat.api_call');
	my $jobs0 = sql('SELECT max(job_id) FROM brickcat.fetch_queue');
	my $logoff = -s $node->logfile;
	$sim->faults({ kind => 'max_concurrency', limit => 2 }, { kind => 'latency', ms => 200 });
	sql("SELECT brickcat.request_refresh(p, what => '{item,colors,price:0:sold:N}') FROM unnest(ARRAY["
		  . in_list(@nos) . "]) p");
	wait_idle();
	my $st = $sim->stats;
	cmp_ok($st->{refused}, '>', 0, "$name: the simulator refused $st->{refused} calls");
	is(sql("SELECT count(*) FROM brickcat.api_call WHERE call_id > $calls0 AND outcome = 'network_error'"),
		$st->{refused}, "$name: each refusal logged as network_error");
	is(sql("SELECT count(*) FROM brickcat.fetch_queue WHERE job_id > $jobs0 AND (state = 'done' OR (state = 'failed' AND reason LIKE 'network_error after $MAX_ATTEMPTS attempts%'))"),
		3 * @nos, "$name: all " . (3 * @nos) . " jobs done, or failed after $MAX_ATTEMPTS attempts with its reason");
	is($st->{total}, sql('SELECT sum(calls) FROM brickcat.quota_ledger') - $ledger0,
		"$name: simulator calls = quota ledger debits");
	is($st->{total}, sql("SELECT count(*) FROM brickcat.api_call WHERE call_id > $calls0"),
		"$name: one api_call row per call");
	$sim->faults();
	breaker_close($logoff);
}

# --- the worker and the postmaster survived everything ------------------------------
is(BrickcatTest::worker_pid($node), $worker_pid, 'the worker never restarted');
is(sql('SELECT pg_postmaster_start_time()'), $pm_start, 'the postmaster never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* exited with exit code|PANIC/,
	'no process crashed');
is(sql(q{SELECT count(*) FROM brickcat.item WHERE fetched_at IS NOT NULL AND name IS NULL}), '0',
	'no half-written item row');

$node->stop;
done_testing();
