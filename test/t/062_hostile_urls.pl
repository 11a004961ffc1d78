# Hostile item numbers never reach anything but the configured base URL:
# "../", "%2F", "?x=", "#", "@", backslashes, spaces, Unicode and SQL-looking
# text are percent-encoded into one path segment, so the simulator sees each
# as the literal item number (its stats key), never another path, query or
# host; numbers that are only dots are refused before any call.
use strict;
use warnings;

use Encode qw(encode_utf8);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 62);
my $node = BrickcatTest::new_node('urls', sim => $sim, conf => "brickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);

sub sql { my ($q) = @_; return $node->safe_psql('postgres', $q); }
sub lit { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

my @hostile = ('../3001', '../../colors', '3001/../../categories', '%2F3001', '3001%2F..%2Fcolors',
	'3001?x=1', '3001?guide_type=sold', '3001#frag', '@127.0.0.2', 'x@evil.example:80/3001',
	'..\\..\\3001', '3001 x', 'a/b', 'ünïcødé€', "3001'; DROP TABLE brickcat.item; --",
	'3001%00', './3001', '3001/.');
my @exists = ('3001 x', 'a/b');    # made-up parts the simulator knows

$sim->reset;
sql('SELECT count(*) FROM (VALUES ' . join(', ', map { '(' . lit($_) . ')' } @hostile)
	  . ") v(no), LATERAL brickcat.request_refresh(v.no, 'PART', '{item,colors,price:0:sold:N}')");
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
  or die 'queue did not drain';

my $st = $sim->stats;
# keys as UTF-8 bytes, like the item numbers in this file
$st->{by_key} = { map { encode_utf8($_) => $st->{by_key}{$_} } keys %{ $st->{by_key} } };
my @other = grep { !/^(item|colors|price):PART:/ } keys %{ $st->{by_key} };
is(join(' ', @other), '', 'no call reached another endpoint (no other:*, color_list, category_list keys)');
is($st->{total}, 3 * @hostile, 'one call per target, ' . (3 * @hostile) . ' in all');
my @wrong = grep {
	my $no = $_;
	($st->{by_key}{"item:PART:$no"} // 0) != 1 || ($st->{by_key}{"colors:PART:$no"} // 0) != 1
	  || ($st->{by_key}{"price:PART:$no:0:sold:N"} // 0) != 1
} @hostile;
is(join(' | ', @wrong), '', 'the simulator saw every hostile number as the literal item number');
is(sql('SELECT sum(calls) FROM brickcat.quota_ledger'), $st->{total}, 'simulator calls = quota ledger debits');

is(sql(q{SELECT string_agg(item_no, ' | ' ORDER BY item_no) FROM brickcat.item WHERE fetched_at IS NOT NULL}),
	join(' | ', sort @exists), 'the made-up parts with a space and a slash were stored under their numbers');
is(sql(q{SELECT count(*) FROM brickcat.fetch_queue WHERE state = 'failed' AND last_outcome = 'not_found'}),
	3 * (@hostile - @exists), 'every other number is a plain 404 (not_found)');
is(sql(q{SELECT count(*) FROM brickcat.item}), scalar(@exists) + 0, 'nothing else was written to the catalog')
  or diag(sql('SELECT string_agg(item_no, E\'\n\') FROM brickcat.item'));

# numbers that are only dots would be resolved away as path segments
$sim->reset;
for my $dots ('.', '..')
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT * FROM brickcat.request_refresh(" . lit($dots) . ", 'PART', '{item,colors}')");
	like($err, qr/ERROR:.*item_no/, "request_refresh('$dots') is refused");
	($rc, $out, $err) = $node->psql('postgres', "SELECT source FROM brickcat.get_item(" . lit($dots) . ", wait => '1s')");
	like($err, qr/ERROR:.*item_no/, "get_item('$dots') is refused");
}
sleep(1);
is($sim->count, 0, 'no call was sent for them');

# even a job that bypasses the checks (queued by hand) is not sent
$sim->reset;
sql(q{INSERT INTO brickcat.fetch_queue (kind, target, item_type, item_no) VALUES ('item', 'item:PART:..', 'PART', '..')});
sql(q{SELECT brickcat.request_refresh('3001', what => '{item}')});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
  or die 'queue did not drain';
is(sql(q{SELECT state || '/' || last_outcome FROM brickcat.fetch_queue WHERE target = 'item:PART:..'}),
	'failed/bad_request', 'a hand-queued ".." job fails as bad_request');
is(join(',', sort keys %{ $sim->stats->{by_key} }), 'item:PART:3001', 'and only the real job reached the simulator');

$node->stop;
done_testing();
