# Crash safety beyond one job (011_worker_crash.pl covers a single call in
# flight): kill -9 of the worker in the middle of a batch, kill -9 of a
# backend waiting on a read, and an immediate shutdown of the whole server
# during a refresh storm of 2,000 jobs.  After each: every job is done
# exactly once or failed with a reason (none lost, none stuck), the quota
# ledger holds at least the calls the simulator saw and at most
# 5 x brickcat.max_concurrency more (calls debited but not yet sent), and no row
# is half-written.  The worker sends the next calls before it stores the
# answers that freed their slots, so a crash can lose up to
# brickcat.max_concurrency answers not yet stored on top of the calls in
# flight: at most twice max_concurrency targets are fetched again (each one
# debited again before it is resent).
#
# When calls are quick and there is no burst limit the worker claims and
# debits jobs ahead of the free slots (src/worker_batch.c: one claim and one
# debit per batch instead of per round, at most 5 x max_concurrency jobs)
# and logs up to 2 x max_concurrency calls ahead (they leave without waiting
# for a commit): a crash leaves those debited though never sent, so the
# ledger may exceed the simulator's count by the batch, and the calls logged
# ahead are closed as interrupted along with those in flight or answered and
# not stored (at most 4 x max_concurrency).
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use BrickcatTest;

my $CONC = 4;
my $sim = BrickcatTest::Simulator->start(seed => 61);
my $node = BrickcatTest::new_node('crashes', sim => $sim,
	conf => "restart_after_crash = on\n"
	  . "brickcat.max_concurrency = $CONC\n"
	  . "brickcat.daily_quota = 1000000\n"
	  . "brickcat.max_calls_per_second = 0\n"
	  . "brickcat.background_share = 1.0\n"
	  . "brickcat.request_timeout = '5s'\n");
BrickcatTest::wait_for_worker($node);

# --- 2,000+ real part numbers ------------------------------------------------------
my @parts;
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no) = split /,/, $line;
	push @parts, $no if defined $no && $no =~ /^[0-9a-z]+$/ && @parts < 2100;
}
close($fh);
die 'not enough part numbers' if @parts < 2100;

sub sql { my ($q) = @_; return $node->safe_psql('postgres', $q); }
sub in_array { return 'ARRAY[' . join(',', map { "'$_'" } @_) . ']'; }

# wait_for_sim waits until the simulator has seen at least n calls.
sub wait_for_sim
{
	my ($n) = @_;
	for (1 .. 600)
	{
		return 1 if $sim->count >= $n;
		usleep(50_000);
	}
	return 0;
}

# wait_settled waits (up to 3 minutes) until no job is queued or running.
sub wait_settled
{
	my $ok = 0;
	for (1 .. 1800)
	{
		# the server may still be restarting: errors just mean "not yet"
		my ($rc, $out) = $node->psql('postgres',
			q{SELECT count(*) FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')});
		if ($rc == 0 && $out eq '0') { $ok = 1; last; }
		usleep(100_000);
	}
	return $ok;
}

# check_after verifies the invariants after a crash for the jobs queued
# after job id $jobs0 and the calls made since the simulator's reset.
sub check_after
{
	my ($name, $jobs0, $ledger0, $ntargets) = @_;
	ok(wait_settled(), "$name: no job left queued or running");
	is(sql(qq{SELECT count(DISTINCT target) || '/' || count(*) FILTER (WHERE state = 'done')
	                  || '/' || count(*) FILTER (WHERE state = 'failed' AND coalesce(reason, '') = '')
	            FROM brickcat.fetch_queue WHERE job_id > $jobs0}),
		"$ntargets/$ntargets/0", "$name: each of the $ntargets targets done exactly once, none lost");
	my $sim_total = $sim->count;
	my $ledger = sql('SELECT sum(calls) FROM brickcat.quota_ledger') - $ledger0;
	ok($ledger >= $sim_total && $ledger - $sim_total <= 5 * $CONC,
		"$name: quota ledger $ledger >= simulator $sim_total, by at most 5 x $CONC more (claimed ahead, not sent)");
	is(sql(q{SELECT count(*) FROM brickcat.api_call WHERE outcome IS NULL}), '0',
		"$name: no call left open in the call log");
	# a job claimed ahead and never sent does not count that attempt
	is(sql(q{SELECT count(*) FROM brickcat.api_call c WHERE c.attempt > 1
	           AND NOT EXISTS (SELECT FROM brickcat.api_call p
	                            WHERE p.job_id = c.job_id AND p.attempt = c.attempt - 1)}),
		'0', "$name: every attempt after the first follows a logged call of its job");
	is(sql(q{SELECT count(*) FROM brickcat.item WHERE fetched_at IS NOT NULL
	           AND (name IS NULL OR category_id IS NULL OR origin IS NULL)}),
		'0', "$name: no half-written item row");
	is(sql(q{SELECT count(*) FROM brickcat.item_color c WHERE NOT EXISTS (
	           SELECT FROM brickcat.item_color_set s WHERE s.item_type = c.item_type
	              AND s.item_no = c.item_no AND s.colors_fetched_at IS NOT NULL)}),
		'0', "$name: every stored color belongs to a fetched color set");
	is(sql(q{SELECT count(*) FROM brickcat.price_guide WHERE fetched_at IS NOT NULL AND unit_quantity IS NULL}),
		'0', "$name: no half-written price guide");
	return;
}

# colors_match compares the stored known colors of some items with the
# simulator's (uncounted) view of them.
sub colors_match
{
	my ($name, @nos) = @_;
	my @bad;
	for my $no (@nos)
	{
		my $want = $sim->control('GET', "items/part/$no");
		my $exp = join(',', map { "$_->{color_id}:$_->{quantity}" }
			  sort { $a->{color_id} <=> $b->{color_id} } @{ $want->{colors} });
		my $got = sql(qq{SELECT string_agg(color_id || ':' || quantity, ',' ORDER BY color_id)
		                   FROM brickcat.item_color WHERE item_type = 'PART' AND item_no = '$no'});
		push @bad, $no if $got ne $exp;
	}
	is(join(' ', @bad), '', "$name: stored known colors of " . scalar(@nos) . ' items are complete sets');
	return;
}

# --- 1. kill -9 the worker mid-batch -------------------------------------------------
{
	my $name = 'kill -9 worker mid-batch';
	my @nos = @parts[0 .. 39];
	$sim->reset;
	$sim->faults({ kind => 'latency', ms => 400 });
	my $jobs0 = sql('SELECT coalesce(max(job_id), 0) FROM brickcat.fetch_queue');
	my $ledger0 = sql('SELECT coalesce(sum(calls), 0) FROM brickcat.quota_ledger');
	sql("SELECT brickcat.request_refresh(p, what => '{item,colors}') FROM unnest(" . in_array(@nos) . ') p');
	ok(wait_for_sim(20), "$name: the batch is under way");
	my $pid = BrickcatTest::worker_pid($node);
	my $running = sql(q{SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'running'});
	kill 'KILL', $pid;
	$node->poll_query_until('postgres', "SELECT worker_running AND worker_pid <> $pid FROM brickcat.status")
	  or die 'worker did not come back';
	cmp_ok($running, '>', 0, "$name: $running jobs were leased when it died");
	check_after($name, $jobs0, $ledger0, 2 * @nos);
	cmp_ok(sql(q{SELECT count(*) FROM brickcat.api_call WHERE outcome = 'interrupted'}), '<=', 4 * $CONC,
		"$name: at most 4 x $CONC calls (in flight, answered and not stored, or logged ahead) logged as interrupted");
	my $st = $sim->stats;
	is(scalar(grep { ($st->{by_key}{"item:PART:$_"} // 0) < 1 || ($st->{by_key}{"colors:PART:$_"} // 0) < 1 } @nos),
		0, "$name: every target was fetched");
	cmp_ok($st->{total} - 2 * @nos, '<=', 2 * $CONC, "$name: at most 2 x $CONC targets fetched twice");
	colors_match($name, @nos[0 .. 19]);
	$sim->faults();
}

# --- 2. kill -9 a backend waiting on a read -----------------------------------------
{
	my $name = 'kill -9 a waiting reader';
	my $no = $parts[100];
	$sim->reset;
	$sim->faults({ key => "item:PART:$no", kind => 'hang', count => 1 });
	my $jobs0 = sql('SELECT coalesce(max(job_id), 0) FROM brickcat.fetch_queue');
	my $ledger0 = sql('SELECT coalesce(sum(calls), 0) FROM brickcat.quota_ledger');
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-At', '-d', $node->connstr('postgres'),
		  '-c', "SELECT source FROM brickcat.get_item('$no', wait => '60s')" ],
		'>', \$out, '2>', \$err);
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%brickcat.get_item(%' AND pid <> pg_backend_pid()})
	  or die 'reader did not start';
	for (1 .. 200) { last if $sim->count("item:PART:$no") >= 1; usleep(50_000); }
	is($sim->count("item:PART:$no"), 1, "$name: its fetch hangs upstream");
	my $rpid = sql(q{SELECT pid FROM pg_stat_activity WHERE query LIKE '%brickcat.get_item(%' AND pid <> pg_backend_pid()});
	my $wpid = BrickcatTest::worker_pid($node);
	kill 'KILL', $rpid;
	$h->finish;
	isnt($?, 0, "$name: the reader's connection is gone");
	$node->poll_query_until('postgres', "SELECT worker_running AND worker_pid <> $wpid FROM brickcat.status")
	  or die 'worker did not come back';
	check_after($name, $jobs0, $ledger0, 2);
	is($sim->count("item:PART:$no"), 2, "$name: the hung call was made again once after the restart");
	my $t = sql(qq{SELECT source || '/' || (name IS NOT NULL) FROM brickcat.get_item('$no', wait => '0')});
	is($t, 'cache/true', "$name: a new reader finds the item in the cache");
	$sim->faults();
}

# --- 3. immediate shutdown during a refresh storm of 2,000 jobs -------------------------
{
	my $name = 'immediate shutdown in a storm';
	my @nos = @parts[200 .. 1199];
	$sim->reset;
	my $jobs0 = sql('SELECT coalesce(max(job_id), 0) FROM brickcat.fetch_queue');
	my $ledger0 = sql('SELECT coalesce(sum(calls), 0) FROM brickcat.quota_ledger');
	sql("SELECT count(*) FROM unnest(" . in_array(@nos) . ") p, LATERAL brickcat.request_refresh(p, what => '{item,colors}')");
	is(sql("SELECT count(*) FROM brickcat.fetch_queue WHERE job_id > $jobs0"), '2000', "$name: 2,000 jobs queued");
	ok(wait_for_sim(400), "$name: the storm is under way");
	$node->stop('immediate');
	my $at_stop = $sim->count;
	$node->start;
	BrickcatTest::wait_for_worker($node);
	cmp_ok($at_stop, '<', 2000, "$name: stopped after $at_stop of 2,000 calls");
	check_after($name, $jobs0, $ledger0, 2000);
	my $st = $sim->stats;
	is(scalar(grep { ($st->{by_key}{"item:PART:$_"} // 0) < 1 || ($st->{by_key}{"colors:PART:$_"} // 0) < 1 } @nos),
		0, "$name: every target was fetched");
	cmp_ok($st->{total} - 2000, '<=', 2 * $CONC, "$name: at most 2 x $CONC targets fetched twice");
	is(sql("SELECT count(*) FROM brickcat.item WHERE item_no = ANY (" . in_array(@nos) . ") AND fetched_at IS NOT NULL"),
		'1000', "$name: all 1,000 items stored");
	colors_match($name, @nos[0 .. 9], @nos[-10 .. -1]);
}

$node->stop;
done_testing();
