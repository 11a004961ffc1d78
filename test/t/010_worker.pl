# The worker fetches and stores real part numbers field by field, with exact
# upstream call counts: item metadata, known colors and price guides for 60+
# real BrickLink numbers (plain, printed, stickered and odd ones), entities
# decoded, optional fields missing, guides without sales, the color and
# category lists; a rolled-back request_refresh fetches nothing; the
# negative cache keeps a 404 from being asked again.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use BrickcatTest;

my $sim = BrickcatTest::Simulator->start(seed => 7);
my $node = BrickcatTest::new_node('worker', sim => $sim,
	conf => "brickcat.max_calls_per_second = 0\n");
BrickcatTest::wait_for_worker($node);

# --- pick real part numbers: plain, printed (pb), stickered (stk), odd ---
my (@plain, @printed, @sticker, @odd);
open(my $fh, '<', BrickcatTest::data_dir() . '/bricklink/part_weights.csv') or die $!;
while (my $line = <$fh>)
{
	my ($no) = split /,/, $line;
	next unless defined $no && $no ne '';
	if ($no =~ /stk/) { push @sticker, $no if @sticker < 6; }
	elsif ($no =~ /[-.]/) { push @odd, $no if @odd < 12; }
	elsif ($no =~ /pb\d/) { push @printed, $no if @printed < 12; }
	elsif ($no =~ /^\d+[a-z]?$/) { push @plain, $no if @plain < 30; }
}
close($fh);
my %seen;
my @parts = grep { !$seen{$_}++ } (@plain, @printed, @sticker, @odd, '3364-Da', '973pb10c01');
cmp_ok(scalar(@parts), '>=', 50, scalar(@parts) . ' real part numbers');

sub q_lit { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

sub wait_idle_queue
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM brickcat.fetch_queue WHERE state IN ('queued', 'running')})
	  or die 'queue did not drain';
}

# --- queue everything in one transaction -------------------------------------
$sim->reset;
my $sql = "BEGIN;\n"
  . join('', map { "SELECT brickcat.request_refresh(" . q_lit($_)
		  . ", 'PART', '{item,colors,price:0:sold:N}');\n" } @parts)
  . "COMMIT;\n";
$node->safe_psql('postgres', $sql);
wait_idle_queue();

my $n = scalar(@parts);
is($node->safe_psql('postgres', q{SELECT state || ':' || count(*) FROM brickcat.fetch_queue GROUP BY state}),
	'done:' . (3 * $n), "all " . (3 * $n) . " jobs done");
my $stats = $sim->stats;
is($stats->{total}, 3 * $n, 'exactly one upstream call per target');
my @wrong = grep {
	my $p = $_;
	($stats->{by_key}{"item:PART:$p"} // 0) != 1 || ($stats->{by_key}{"colors:PART:$p"} // 0) != 1
	  || ($stats->{by_key}{"price:PART:$p:0:sold:N"} // 0) != 1
} @parts;
is_deeply(\@wrong, [], 'one call for each item, colors and price target');
is($node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE outcome = 'ok' AND http_status = 200 AND meta_code = 200
		                          AND duration_us >= 0 AND bytes > 0 AND attempt = 1
		                          AND priority = 'background' AND error IS NULL)
		   || '/' || count(*) FROM brickcat.api_call}),
	(3 * $n) . '/' . (3 * $n), 'one complete api_call row per call');

# --- expected rows from the simulator, compared field by field ----------------
my $expected = `python3 @{[BrickcatTest::project_root()]}/test/t/bc_expected.py @{[$sim->base_url]} @{[join ' ', map { "'$_'" } @parts]}`;
die "bc_expected.py failed" if $? != 0;
my $exp = decode_json($expected);
cmp_ok($exp->{flags}{entities}, '>', 0, "$exp->{flags}{entities} names arrive HTML-entity encoded");
cmp_ok($exp->{flags}{missing_optional}, '>', 0,
	"$exp->{flags}{missing_optional} items lack optional fields");
cmp_ok($exp->{flags}{no_sales}, '>', 0, "$exp->{flags}{no_sales} price guides without sales");
cmp_ok($exp->{flags}{string_quantities}, '>', 0, 'some color quantities arrive as strings');

my $json = JSON::PP->new->canonical->encode($exp);
$json =~ s/\$j\$/\$ j\$/g;
my $cmp = $node->safe_psql('postgres', qq{
CREATE TEMP TABLE exp AS SELECT * FROM jsonb_to_recordset(\$j\$$json\$j\$::jsonb -> 'items') AS x(
    item_no text, name text, category_id int, alternate_no text, image_url text,
    thumbnail_url text, weight numeric, dim_x numeric, dim_y numeric, dim_z numeric,
    year_released int, is_obsolete boolean, description text, language_code text);
SELECT coalesce(string_agg(e.item_no || '.' || f.field, ', ' ORDER BY e.item_no, f.field), 'none')
  FROM exp e
  LEFT JOIN brickcat.item i ON i.item_type = 'PART' AND i.item_no = e.item_no,
  LATERAL (VALUES
    ('row', i.item_no IS NULL),
    ('name', i.name IS DISTINCT FROM e.name),
    ('category_id', i.category_id IS DISTINCT FROM e.category_id),
    ('alternate_no', i.alternate_no IS DISTINCT FROM e.alternate_no),
    ('image_url', i.image_url IS DISTINCT FROM e.image_url),
    ('thumbnail_url', i.thumbnail_url IS DISTINCT FROM e.thumbnail_url),
    ('weight', i.weight IS DISTINCT FROM e.weight),
    ('dim_x', i.dim_x IS DISTINCT FROM e.dim_x),
    ('dim_y', i.dim_y IS DISTINCT FROM e.dim_y),
    ('dim_z', i.dim_z IS DISTINCT FROM e.dim_z),
    ('year_released', i.year_released IS DISTINCT FROM e.year_released),
    ('is_obsolete', i.is_obsolete IS DISTINCT FROM e.is_obsolete),
    ('description', i.description IS DISTINCT FROM e.description),
    ('language_code', i.language_code IS DISTINCT FROM e.language_code),
    ('fetched_at', i.fetched_at IS NULL OR i.last_attempt_at IS DISTINCT FROM i.fetched_at),
    ('last_error', i.last_error IS NOT NULL),
    ('origin', i.origin <> 'api'),
    ('decoration', i.decoration IS DISTINCT FROM coalesce(brickcat.decoration(e.item_no, e.name,
        (SELECT category_name FROM brickcat.category c WHERE c.category_id = e.category_id)), 'plain'))
  ) f(field, differs)
 WHERE f.differs;
});
is($cmp, 'none', "every item field of $n parts matches what the simulator served");

is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.item WHERE name ~ '&(#[0-9]+|[a-z]+);'}),
	'0', 'no HTML entities left in stored names');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.item WHERE decoration = 'printed'}) > 0
	  && $node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.item WHERE decoration = 'sticker'}) > 0
	? 'yes' : 'no', 'yes', 'printed and stickered parts are classified');

my $colors_diff = $node->safe_psql('postgres', qq{
WITH e AS (SELECT * FROM jsonb_to_recordset(\$j\$$json\$j\$::jsonb -> 'colors')
                     AS x(item_no text, color_id int, quantity int)),
     s AS (SELECT item_no, color_id, quantity FROM brickcat.item_color WHERE item_type = 'PART')
SELECT (SELECT count(*) FROM (SELECT * FROM e EXCEPT SELECT * FROM s) a)
    || '/' || (SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT * FROM e) b)
    || '/' || (SELECT count(*) FROM e);
});
like($colors_diff, qr{^0/0/[1-9]}, "known colors match exactly ($colors_diff)");
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM brickcat.item_color_set WHERE colors_fetched_at IS NOT NULL AND last_error IS NULL}),
	$n, 'every known-colors set carries its fetch time');
# every item carries an exact copy of its known colors (read by get_item),
# whichever of the two was stored first
my ($copies, $wrong) = split /\|/, $node->safe_psql('postgres', q{
SELECT count(i.color_ids_copy),
       count(*) FILTER (WHERE i.color_ids_copy IS DISTINCT FROM s.color_ids
                           OR i.colors_copy_fetched_at IS DISTINCT FROM s.colors_fetched_at)
  FROM brickcat.item i JOIN brickcat.item_color_set s USING (item_type, item_no)
 WHERE i.color_ids_copy IS NOT NULL});
is("$copies/$wrong", "$n/0", "every item carries an exact copy of its known colors");

my $price_diff = $node->safe_psql('postgres', qq{
WITH e AS (SELECT * FROM jsonb_to_recordset(\$j\$$json\$j\$::jsonb -> 'prices')
           AS x(item_no text, min_price numeric, max_price numeric, avg_price numeric,
                qty_avg_price numeric, unit_quantity int, total_quantity int))
SELECT coalesce(string_agg(e.item_no, ', '), 'none')
  FROM e LEFT JOIN brickcat.price_guide p
    ON p.item_type = 'PART' AND p.item_no = e.item_no AND p.color_id = 0
   AND p.guide_type = 'sold' AND p.condition = 'N' AND p.currency = 'USD'
 WHERE p.item_no IS NULL
    OR (p.min_price, p.max_price, p.avg_price, p.qty_avg_price, p.unit_quantity, p.total_quantity)
       IS DISTINCT FROM (e.min_price, e.max_price, e.avg_price, e.qty_avg_price, e.unit_quantity, e.total_quantity)
    OR p.has_sales IS DISTINCT FROM (e.unit_quantity > 0)
    OR p.fetched_at IS NULL;
});
is($price_diff, 'none', 'price guides match exactly, guides without sales stored with zeros');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM brickcat.price_guide WHERE NOT has_sales AND min_price = 0 AND avg_price = 0}),
	$exp->{flags}{no_sales}, 'guides without sales: has_sales false, zeros');

# --- color and category lists --------------------------------------------------
$sim->reset;
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh(NULL, what => '{color_list,category_list}')});
wait_idle_queue();
is($sim->count('color_list') . '/' . $sim->count('category_list'), '1/1', 'one call per list');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.color WHERE fetched_at IS NOT NULL}),
	'>', 100, 'color list stored');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.category WHERE fetched_at IS NOT NULL}),
	'>', 100, 'category list stored');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.category WHERE category_name ~ '&(#[0-9]+|[a-z]+);'}),
	'0', 'category names decoded');

# --- a rolled-back request fetches nothing ---------------------------------------
$sim->reset;
$node->safe_psql('postgres', q{BEGIN; SELECT brickcat.request_refresh('3003', 'PART', '{item}', 'interactive'); ROLLBACK;});
sleep(2);
is($sim->count('item:PART:3003'), 0, 'rolled-back request_refresh: nothing fetched');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.fetch_queue WHERE target = 'item:PART:3003'}),
	'0', 'rolled-back request_refresh: no job');
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('3003', 'PART', '{item}', 'interactive')});
wait_idle_queue();
is($sim->count('item:PART:3003'), 1, 'the same request committed: fetched once');

# --- refreshing again replaces data; 404s go to the negative cache -----------------
$sim->reset;
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('no-such-part-xyz', 'PART', '{item}')});
wait_idle_queue();
is($sim->count('item:PART:no-such-part-xyz'), 1, '404: one call');
is($node->safe_psql('postgres',
		q{SELECT state || '/' || last_outcome || '/' || attempts FROM brickcat.fetch_queue WHERE target = 'item:PART:no-such-part-xyz'}),
	'failed/not_found/1', '404: job failed, not retried');
is($node->safe_psql('postgres', q{SELECT count(*) FROM brickcat.not_found WHERE target = 'item:PART:no-such-part-xyz'}),
	'1', '404: remembered in the negative cache');
$node->safe_psql('postgres', q{SELECT brickcat.request_refresh('no-such-part-xyz', 'PART', '{item}')});
wait_idle_queue();
is($sim->count('item:PART:no-such-part-xyz'), 1, '404: not asked again within not_found_ttl');
is($node->safe_psql('postgres', q{SELECT outcome || ':' || count(*) FROM brickcat.api_call WHERE target = 'item:PART:no-such-part-xyz' GROUP BY outcome}),
	'not_found:1', '404: one api_call row with outcome not_found');

$node->stop;
done_testing();
