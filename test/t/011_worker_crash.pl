# Crash safety of the worker: a job whose call is in flight when the worker
# is killed (kill -9: the postmaster restarts everything) is fetched again
# exactly once; SIGTERM stops the worker promptly even mid-transfer.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 11);
my $node = BrickcatTest::new_node('crash', sim => $sim, conf => "restart_after_crash = on\n");
BrickcatTest::wait_for_worker($node);

# wait_for_sim waits until the simulator has seen n calls for key.
sub wait_for_sim
{
	my ($key, $n) = @_;
	for (1 .. 300)
	{
		return 1 if $sim->count($key) >= $n;
		usleep(50_000);
	}
	return 0;
}

# --- kill -9 with a call in flight ------------------------------------------
$sim->reset;
$sim->faults({ key => 'item:PART:3001', kind => 'latency', ms => 5000, count => 1 });
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3001', 'PART', '{item}')});
ok(wait_for_sim('item:PART:3001', 1), 'the call is in flight');
is($node->safe_psql('postgres', q{SELECT state || '/' || attempts FROM brickcat.fetch_queue WHERE target = 'item:PART:3001'}),
	'running/1', 'the job is leased');
my $pid = BrickcatTest::worker_pid($node);
kill 'KILL', $pid;
# the postmaster restarts all processes; wait until a new worker serves
$node->poll_query_until('postgres',
	"SELECT worker_running AND worker_pid <> $pid FROM brickcat.status")
  or die 'worker did not come back';
$node->poll_query_until('postgres',
	q{SELECT state = 'done' FROM brickcat.fetch_queue WHERE target = 'item:PART:3001'})
  or die 'job not redone';
sleep(6);    # the slow first call would have answered by now
is($sim->count('item:PART:3001'), 2, 'the leased job was fetched again exactly once');
is($node->safe_psql('postgres', q{SELECT attempts FROM brickcat.fetch_queue WHERE target = 'item:PART:3001'}),
	'2', 'both attempts counted');
is($node->safe_psql('postgres',
		q{SELECT string_agg(outcome, ',' ORDER BY call_id) FROM brickcat.api_call WHERE target = 'item:PART:3001'}),
	'interrupted,ok', 'the interrupted call is logged as such');
is($node->safe_psql('postgres', q{SELECT fetched_at IS NOT NULL FROM brickcat.item WHERE item_no = '3001'}),
	't', 'the item was stored');

# --- SIGTERM mid-transfer ------------------------------------------------------
$sim->reset;
$sim->faults({ key => 'item:PART:3002', kind => 'hang', ms => 8000, count => 1 });
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3002', 'PART', '{item}')});
ok(wait_for_sim('item:PART:3002', 1), 'a call hangs');
$pid = BrickcatTest::worker_pid($node);
my $t0 = time();
kill 'TERM', $pid;
my $gone = 0;
for (1 .. 100)
{
	if (!kill(0, $pid)) { $gone = 1; last; }
	usleep(20_000);
}
my $took = time() - $t0;
ok($gone && $took < 1.5, sprintf('SIGTERM stops the worker mid-transfer in %.2f s', $took));
$node->poll_query_until('postgres',
	"SELECT worker_running AND worker_pid <> $pid FROM brickcat.status")
  or die 'worker did not restart';
$node->poll_query_until('postgres',
	q{SELECT state = 'done' FROM brickcat.fetch_queue WHERE target = 'item:PART:3002'})
  or die 'job not redone after SIGTERM';
is($sim->count('item:PART:3002'), 2, 'the hung call was redone exactly once after the restart');

$node->stop;
done_testing();
