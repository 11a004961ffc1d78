# The cache-first read API end to end against the simulator and the worker:
# every source value, stale -> background refresh -> served, expired with a
# failing upstream -> byte-identical last-known-good data, 50 concurrent
# readers of one missing part -> one upstream call, a rolled-back reader's
# request is still fetched, a reader in an open READ COMMITTED transaction
# sees the fetched row, a batch of 500 real part numbers, cancel and
# statement_timeout during a wait, and slow reads in the log.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 30);
my $node = BrickcatTest::new_node('read',
	sim => $sim,
	conf => "brickcat.log_min_wait = '1ms'\nmax_connections = 80\n"
	  . "brickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);

# real part numbers, in file order
my @parts;
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no) = split /,/, $line;
	push @parts, $no if defined $no && $no =~ /^[0-9a-z]+$/;
}
close($fh);
cmp_ok(scalar(@parts), '>', 1000, 'real part numbers loaded');

sub q1 { my ($sql) = @_; return $node->safe_psql('postgres', $sql); }

sub item_cols
{
	my ($no, $wait) = @_;
	return q1("SELECT source || '|' || freshness || '|' || coalesce(error_code, '') || '|'
	                  || coalesce(name, '') || '|' || coalesce(color_ids::text, '')
	             FROM brickcat.get_item('$no', wait => '$wait')");
}

# --- missing -> upstream: item and colors fetched once, then cache ------------
my $p = shift @parts;
$sim->reset;
my ($src, $fresh, $code, $name, $colors) = split /\|/, item_cols($p, '10s'), -1;
is($src, 'upstream', "missing $p fetched within the wait: upstream");
is($fresh, 'fresh', 'and fresh');
is($code, '', 'no error code');
isnt($name, '', "name '$name' served");
isnt($colors, '', "known colors $colors served");
is($sim->count("item:PART:$p"), 1, 'one item call');
is($sim->count("colors:PART:$p"), 1, 'one colors call');
($src) = split /\|/, item_cols($p, '10s');
is($src, 'cache', 'read again: cache');
is($sim->count("item:PART:$p"), 1, 'no further call for a fresh row');
ok($node->log_contains(qr/brickcat: read waited [0-9.]+ ms for 2 fetches \(item:PART:\Q$p\E/),
	'the wait longer than brickcat.log_min_wait is logged');

# --- stale -> served at once, refreshed in the background, then cache --------
q1("UPDATE brickcat.item SET fetched_at = brickcat.now() - interval '40 days' WHERE item_no = '$p'");
my $t0 = time;
($src, $fresh, $code) = split /\|/, item_cols($p, '10s'), -1;
my $took = time - $t0;
is("$src/$fresh/$code", 'stale/stale/', 'stale row served as stale, no error');
cmp_ok($took, '<', 1, 'without waiting');
$node->poll_query_until('postgres',
	"SELECT fetched_at > brickcat.now() - interval '1 hour' FROM brickcat.item WHERE item_no = '$p'")
  or die 'background refresh did not land';
is($sim->count("item:PART:$p"), 2, 'refreshed with one more item call');
is(q1("SELECT priority FROM brickcat.api_call WHERE target = 'item:PART:$p' ORDER BY call_id DESC LIMIT 1"),
	'background', 'at background priority');
($src) = split /\|/, item_cols($p, '10s');
is($src, 'cache', 'after the refresh: cache');

# --- expired while BrickLink fails -> byte-identical last-known-good ---------
my $catalog_cols = q1(q{SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = 'brickcat.item'::regclass AND attnum > 0 AND NOT attisdropped
   AND attname NOT IN ('last_attempt_at', 'last_error', 'colors_copy_fetched_at', 'color_ids_copy')});
q1("UPDATE brickcat.item SET fetched_at = brickcat.now() - interval '90 days' WHERE item_no = '$p'");
my $before = q1("SELECT ($catalog_cols)::text FROM brickcat.item WHERE item_no = '$p'");
$sim->faults({ endpoint => 'item', kind => 'http_500' });
my $fallback = q1("SELECT source || '|' || (error_code IS NOT NULL) || '|' || error_message
                     FROM brickcat.get_item('$p', wait => '2s')");
like($fallback, qr/^fallback\|true\|serving last-known-good data fetched at /,
	'expired row with a failing upstream: fallback with a reason');
my $served = q1("SELECT ($catalog_cols)::text FROM brickcat.get_item('$p', wait => '0')");
is($served, $before, 'the fallback is byte-identical to the last good row');
cmp_ok($sim->count("item:PART:$p"), '>=', 3, 'a refresh was attempted');
$sim->faults();

# --- not_found, then the negative cache asks BrickLink nothing ---------------
($src, $fresh, $code) = split /\|/, item_cols('zz-no-such-part', '10s'), -1;
is("$src/$fresh/$code", 'not_found/missing/NOT_FOUND', 'unknown part: not_found');
my $calls = $sim->count('item:PART:zz-no-such-part');
($src, $fresh, $code) = split /\|/, item_cols('zz-no-such-part', '10s'), -1;
is("$src/$code", 'not_found/NOT_FOUND', 'again: not_found');
is($sim->count('item:PART:zz-no-such-part'), $calls, 'from the negative cache, no call');
# next_refresh_at says when BrickLink is asked again: when the not-found answer expires
is(q1(q{SELECT r.next_refresh_at = nf.checked_at + current_setting('brickcat.not_found_ttl')::interval
          FROM brickcat.get_item('zz-no-such-part', wait => '0') r,
               brickcat.not_found nf WHERE nf.target = 'item:PART:zz-no-such-part'}),
	't', 'not_found from the negative cache: next_refresh_at is checked_at + not_found_ttl');
is(q1(q{SELECT source || '|' || (next_refresh_at = (SELECT checked_at FROM brickcat.not_found
                                                     WHERE target IN ('colors:PART:zz-no-such-part',
                                                                      'item:PART:zz-no-such-part')
                                                     ORDER BY target LIMIT 1) + interval '7 days')
          FROM brickcat.get_known_colors('zz-no-such-part', wait => '0')}),
	'not_found|true', 'its colors too (their own not-found answer, else the item\'s)');
is(q1(q{SELECT string_agg(v.dataset || ':' || (v.next_refresh_at = nf.checked_at + interval '7 days'), ',' ORDER BY v.dataset)
          FROM brickcat.validate_freshness(ARRAY['zz-no-such-part']) v
          JOIN brickcat.not_found nf ON nf.target = v.target}),
	'colors:true,item:true', 'validate_freshness says the same');
is(q1(q{SELECT source || '|' || (next_refresh_at BETWEEN brickcat.now() + interval '7 days'
                                                    AND brickcat.now() + interval '7 days 10 seconds')
          FROM brickcat.get_item('zz-no-such-part-2', wait => '10s')}),
	'not_found|true', 'not_found answered during the wait: next_refresh_at about not_found_ttl from now');

# --- error: BrickLink fails for a missing part -------------------------------
$p = shift @parts;
$sim->faults({ endpoint => 'item', kind => 'meta_500' });
($src, $fresh, $code) = split /\|/, item_cols($p, '5s'), -1;
ok(($src eq 'error' && $code ne '') || $src eq 'pending',
	"missing part while BrickLink fails: $src $code");
$sim->faults();

# --- pending: slow upstream, the wait ends first ------------------------------
$p = shift @parts;
$sim->control('POST', 'config', { latency_ms => 3000 });
$t0 = time;
($src, $fresh, $code) = split /\|/, item_cols($p, '300ms'), -1;
$took = time - $t0;
is("$src/$fresh/$code", 'pending/missing/', 'slow upstream: pending, no error code');
cmp_ok($took, '<', 0.3 + 0.25, sprintf('answered after %.0f ms (wait 300 ms)', $took * 1000));
$t0 = time;
($src) = split /\|/, item_cols($p, '0');
cmp_ok(time - $t0, '<', 0.25, "wait 0 never blocks ($src)");
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM brickcat.item WHERE item_no = '$p'")
  or die 'pending fetch did not land';
($src) = split /\|/, item_cols($p, '0');
is($src, 'cache', 'the pending fetch landed: cache');

# --- cancel and statement_timeout during a wait -------------------------------
$p = shift @parts;
$t0 = time;
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '500ms'; SELECT * FROM brickcat.get_item('$p', wait => '20s')");
$took = time - $t0;
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout ends the wait');
cmp_ok($took, '<', 3, sprintf('after %.1f s', $took));
$p = shift @parts;
my $bg = $node->background_psql('postgres');
$bg->query_until(qr/started/, "\\echo started\nSELECT source FROM brickcat.get_item('$p', wait => '20s');\n");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%get_item(''$p''%' AND wait_event_type = 'Extension'")
  or die 'reader is not waiting';
$t0 = time;
q1("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%get_item(''$p''%' AND pid <> pg_backend_pid()");
# psql stops on the error (ON_ERROR_STOP), so quitting may find it gone
eval { $bg->quit; };
cmp_ok(time - $t0, '<', 3, 'pg_cancel_backend interrupts the wait');
ok($node->log_contains(qr/canceling statement due to user request/), 'the reader was canceled');
$sim->control('POST', 'config', { latency_ms => 0 });

# --- a rolled-back reader's request is still fetched --------------------------
$p = shift @parts;
q1("BEGIN; SELECT source FROM brickcat.get_item('$p', wait => '0'); ROLLBACK;");
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM brickcat.item WHERE item_no = '$p'")
  or die 'rolled-back request was not fetched';
pass("the request of a rolled-back reader fetched $p");

# --- a reader in an open READ COMMITTED transaction sees the fetched row ------
$p = shift @parts;
my $rc = q1("BEGIN; SELECT count(*) FROM brickcat.item;
             SELECT source || '/' || (name IS NOT NULL) FROM brickcat.get_item('$p', wait => '10s');
             SELECT count(*) FROM brickcat.item WHERE item_no = '$p'; COMMIT;");
like($rc, qr/^\d+\nupstream\/true\n1$/, 'upstream inside an open READ COMMITTED transaction');
# ... and REPEATABLE READ answers at once, saying why
$p = shift @parts;
my $rr = q1("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;
             SELECT source || '|' || error_message FROM brickcat.get_item('$p', wait => '10s'); COMMIT;");
like($rr, qr/pending\|.*REPEATABLE READ/, 'REPEATABLE READ: pending, with the reason');

# --- 50 concurrent readers of one missing part share one upstream call -------
$p = shift @parts;
$sim->reset;
$sim->control('POST', 'config', { latency_ms => 1000 });
q1('SELECT brickcat.stats_reset()');
my $script = PostgreSQL::Test::Utils::tempdir() . '/same.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"SELECT source FROM brickcat.get_item('$p', wait => '20s');\n");
my ($pgb_out, $pgb_err) = run_pgbench(50, $script);
like($pgb_out, qr/number of transactions actually processed: 50\/50/, '50 readers ran')
  or diag($pgb_err);
is($sim->count("item:PART:$p"), 1, '50 concurrent readers: exactly one item call');
is($sim->count("colors:PART:$p"), 1, 'and one colors call');
my ($upstream, $coalesced) = split /\|/,
  q1('SELECT upstream_served || \'|\' || coalesced_waits FROM brickcat.stat_cache');
is($upstream, 50, 'all 50 were served upstream data');
cmp_ok($coalesced, '>=', 49 * 2, "$coalesced requests joined an open one");
$sim->control('POST', 'config', { latency_ms => 0 });

# --- a batch of 500 real part numbers -----------------------------------------
my @batch = splice(@parts, 0, 500);
my $arr = "ARRAY['" . join("','", @batch) . "']";
$sim->reset;
$t0 = time;
my $res = q1("SELECT count(*) || '|' || count(*) FILTER (WHERE source = 'upstream')
                || '|' || bool_and(g.item_no = ($arr)[g.ordinality])
                FROM brickcat.get_items($arr, wait => '60s') WITH ORDINALITY AS g") =~ s/\s//gr;
$took = time - $t0;
my ($count, $nup, $ordered) = split /\|/, $res;
is($count, 500, '500 rows');
is($ordered, 'true', 'in input order');
is($nup, 500, sprintf('all 500 missing parts fetched within the wait, in %.1f s', $took));
cmp_ok($took, '<', 62, 'the whole batch waited at most its wait');
my $stats = $sim->stats;
my @twice = grep { ($stats->{by_key}{"item:PART:$_"} // 0) > 1 } @batch;
is_deeply(\@twice, [], 'no part was fetched twice');
$node->poll_query_until('postgres',
	"SELECT count(*) = 500 FROM brickcat.item WHERE item_no = ANY ($arr)")
  or die 'batch did not land';
$res = q1("SELECT count(*) FILTER (WHERE source = 'cache') FROM brickcat.get_items($arr, wait => '0')");
is($res, 500, 'read again: all 500 from the cache');

done_testing();

# run_pgbench runs script once in each of n concurrent sessions.
sub run_pgbench
{
	my ($n, $file) = @_;
	my ($stdout, $stderr);
	IPC::Run::run(
		[
			'pgbench', '-n', '-c', $n, '-j', 4, '-t', 1, '-f', $file,
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$stdout, '2>', \$stderr);
	return ($stdout, $stderr);
}
