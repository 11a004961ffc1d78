# pg_cron runs brickcat.refresh_sweep() on the schedule brickcat.schedule_sweeps()
# created, and the worker carries the queued refreshes out against the
# simulator: expired data first, then stale data readers asked for, oldest
# first, never more calls than the background share of the quota, nothing
# fresh and nothing twice.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 40);
# 30 calls a day: the background share (0.6) is 18 calls.
my $node = BrickcatTest::new_node('cron', sim => $sim, cron => 1,
	conf => "cron.use_background_workers = on\nmax_worker_processes = 24\n"
	  . "brickcat.daily_quota = 30\nbrickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);

# 40 real part numbers: 10 expired, 10 stale (5 of them read lately), 20 fresh.
my @parts;
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no) = split /,/, $line;
	push @parts, $no if defined $no && $no =~ /^\d{4}[a-z]?$/ && @parts < 40;
}
close($fh);
is(scalar(@parts), 40, '40 real part numbers');
my @expired = @parts[0 .. 9];
my @stale = @parts[10 .. 19];
my @fresh = @parts[20 .. 39];
my @read = @stale[5 .. 9];

sub arr { return 'ARRAY[' . join(',', map { "'$_'" } @_) . ']'; }

$node->safe_psql('postgres', qq{
	INSERT INTO brickcat.item (item_type, item_no, fetched_at, origin)
	SELECT 'PART', no, now() - interval '60 days' - ord * interval '1 hour', 'import'
	  FROM unnest(@{[arr(@expired)]}) WITH ORDINALITY u(no, ord);
	INSERT INTO brickcat.item (item_type, item_no, fetched_at, origin)
	SELECT 'PART', no, now() - interval '30 days' - ord * interval '1 hour', 'import'
	  FROM unnest(@{[arr(@stale)]}) WITH ORDINALITY u(no, ord);
	INSERT INTO brickcat.item (item_type, item_no, fetched_at, origin)
	SELECT 'PART', no, now() - ord * interval '1 hour', 'import'
	  FROM unnest(@{[arr(@fresh)]}) WITH ORDINALITY u(no, ord);
	-- stored colors lists and price guides age as well
	INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
	SELECT 'PART', no, now() - interval '70 days' FROM unnest(@{[arr(@expired[0 .. 1])]}) no;
	INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition, fetched_at)
	SELECT 'PART', no, 0, 'sold', 'N', now() - interval '80 days' FROM unnest(@{[arr(@expired[0 .. 2])]}) no;
	SELECT brickcat.record_demand(@{[arr(@read)]});
});
$sim->reset;

# Every minute (pg_cron 1.4 has no seconds schedules).
is($node->safe_psql('postgres',
		q{SELECT string_agg(job_name || ' ' || job_schedule, ', ' ORDER BY job_name)
		    FROM brickcat.schedule_sweeps('* * * * *')}),
	'brickcat-prune 43 4 * * *, brickcat-reference-lists 17 3 * * 0, brickcat-sweep * * * * *',
	'schedule_sweeps created the three jobs');

# Wait for two sweeps to have run: the second one finds the budget spent.
$node->poll_query_until('postgres', q{
	SELECT count(*) >= 2 FROM cron.job_run_details r JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'brickcat-sweep' AND r.status IN ('succeeded', 'failed')}, 't')
  or die 'pg_cron did not run the sweep twice';
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
  or die 'the worker did not drain the queue';

is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT r.status, ',') FROM cron.job_run_details r JOIN cron.job j USING (jobid)
	 WHERE j.jobname = 'brickcat-sweep'}), 'succeeded', 'every sweep run succeeded');

# Expired: 10 items, 2 colors lists, 3 price guides = 15; then 3 of the 5 stale
# items readers asked for, oldest first: 18 = 0.6 * 30.
my $stats = $sim->stats;
is($stats->{total}, 18, 'the simulator saw exactly the background share: 18 calls');
my @want = ((map { "item:PART:$_" } @expired), "colors:PART:$expired[0]", "colors:PART:$expired[1]",
	(map { "price:PART:$_:0:sold:N" } @expired[0 .. 2]), (map { "item:PART:$_" } @read[2 .. 4]));
is_deeply([ sort grep { $stats->{by_key}{$_} } keys %{ $stats->{by_key} } ], [ sort @want ],
	'expired data first, then the oldest stale items readers asked for');
is_deeply([ grep { $stats->{by_key}{$_} != 1 } keys %{ $stats->{by_key} } ], [], 'each target fetched once');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE priority = 'background' AND outcome = 'ok') || '/' || count(*)
	  FROM brickcat.api_call}), '18/18', 'all 18 calls background and successful');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM brickcat.item
	 WHERE item_no = ANY (@{[arr(@expired, @read[2 .. 4])]}) AND origin = 'api'
	   AND brickcat.freshness(fetched_at) = 'fresh'}), '13', 'the refreshed items are fresh');
is($node->safe_psql('postgres', q{SELECT calls_24h FROM brickcat.quota}), '18', 'quota: 18 calls in 24 hours');

# More budget: the next minute's sweep takes the rest (stale, demanded first).
$node->append_conf('postgresql.conf', "brickcat.daily_quota = 5000\n");
$node->reload;
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM brickcat.item
	 WHERE brickcat.freshness(fetched_at) <> 'fresh'}) or die 'the rest was not refreshed';
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
  or die 'the worker did not drain the queue';
$stats = $sim->stats;
is($stats->{total}, 25, 'then the remaining 7 stale items, one call each');
is_deeply([ grep { /^item:/ && $stats->{by_key}{$_} } map { "item:PART:$_" } @fresh ], [],
	'fresh items were never fetched');

is($node->safe_psql('postgres', 'SELECT brickcat.unschedule_sweeps()'), '3', 'unscheduled');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname LIKE 'brickcat-%'}), '0',
	'no brickcat jobs left');

$node->stop;
$sim->stop;
done_testing();
