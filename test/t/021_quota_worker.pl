# The BrickLink budget with the real worker and the simulator: with
# brickcat.daily_quota = 300 and 1,000 queued jobs the simulator sees exactly
# 300 calls and brickcat.quota says 300; background work stops at its share
# of the quota while an interactive read still gets through.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

# 1,300 real BrickLink part numbers that have a known weight.
my @parts;
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no, $w) = split /,/, $line;
	chomp $w;
	next if $w eq '?' || $no !~ /^[0-9a-z]+$/;
	push @parts, $no;
	last if @parts == 1300;
}
close($fh);

my $sim = BrickcatTest::Simulator->start(seed => 21);

# request_refresh_all queues an item job for each part number.
sub request_refresh_all
{
	my ($node, $priority, @nos) = @_;
	my $arr = join(',', map { "'$_'" } @nos);
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM unnest(ARRAY[$arr]) AS n,"
		  . " LATERAL brickcat.request_refresh(n, 'PART', '{item}', '$priority')");
}

# settle waits until the simulator's call count has not moved for 3 s.
sub settle
{
	my ($min) = @_;
	my $last = -1;
	for (1 .. 240)
	{
		my $n = $sim->count;
		return $n if $n == $last && $n >= $min;
		$last = $n;
		sleep 3;
	}
	return $last;
}

# --- 1,000 interactive jobs, a quota of 300 ------------------------------------
my $node = BrickcatTest::new_node('quota', sim => $sim,
	conf => "brickcat.daily_quota = 300\nbrickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);
$sim->reset;

is(request_refresh_all($node, 'interactive', @parts[0 .. 999]), '1000', '1,000 jobs queued');
my $calls = settle(300);
is($calls, 300, 'the simulator saw exactly 300 calls');
is($node->safe_psql('postgres', 'SELECT calls_24h || \'/\' || remaining FROM brickcat.quota'),
	'300/0', 'brickcat.quota says 300 calls, none remaining');
is($node->safe_psql('postgres', 'SELECT count(*) FROM brickcat.quota_ledger'),
	'300', 'the ledger holds exactly the 300 calls');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'done'}), '300', '300 jobs done');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'queued' AND attempts = 0
	    AND not_before > now() AND reason LIKE 'waiting for quota%'}),
	'700', 'the other 700 wait for the quota without having counted an attempt');
sleep 3;
is($sim->count, 300, 'and no call goes out while the quota is used up');
my $read = $node->safe_psql('postgres',
	"SELECT source || '/' || error_code FROM brickcat.get_item('$parts[1100]', wait => '2s')");
is($read, 'error/QUOTA_EXHAUSTED', 'a reader is told the quota is exhausted, at once');
is($sim->count, 300, 'still 300 calls');
$node->stop;

# --- background stops at its share, an interactive read still gets through ---
$sim->reset;
my $node2 = BrickcatTest::new_node('share', sim => $sim,
	conf => "brickcat.daily_quota = 100\nbrickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node2);
is(request_refresh_all($node2, 'background', @parts[0 .. 199]), '200', '200 background jobs queued');
is(settle(60), 60, 'background work stops at 60 % of the quota: 60 calls');
is($node2->safe_psql('postgres', 'SELECT background_calls FROM brickcat.quota'),
	'60', 'brickcat.quota counts them as background');
my $item = $node2->safe_psql('postgres',
	"SELECT source || '/' || coalesce(error_code, '') FROM brickcat.get_item('$parts[1200]', wait => '10s')");
is($item, 'upstream/', 'an interactive read still gets through');
is($sim->count("item:PART:$parts[1200]"), 1, 'with one item call');
is($sim->count, 62, 'item and colors: 62 calls in all');
is($node2->safe_psql('postgres', 'SELECT calls_24h FROM brickcat.quota'), '62',
	'the ledger agrees with the simulator');
$node2->stop;

done_testing();
