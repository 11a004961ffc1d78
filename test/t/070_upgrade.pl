# ALTER EXTENSION brickcat UPDATE from every earlier version gives the same
# schema as a fresh CREATE EXTENSION (every object, column, index,
# constraint, trigger, function body, view, enum label, comment, privilege and
# seeded row), keeps the data, and leaves reads working; the worker waits
# for the update when its database has an earlier version.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use BrickcatTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = BrickcatTest::new_node('upgrade');

# fingerprint lists what a database's brickcat is made of, one line per fact.
sub fingerprint
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = 'brickcat'),
rels AS (SELECT c.* FROM pg_class c, ns WHERE c.relnamespace = ns.oid)
SELECT replace(x, E'\n', '\n') FROM (
  SELECT 'member ' || pg_describe_object(d.classid, d.objid, 0) || ' :: '
         || coalesce(obj_description(d.objid, d.classid::regclass::text), '-') AS x
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'brickcat' AND d.deptype = 'e'
  UNION ALL
  SELECT format('column %s.%s %s notnull=%s default=%s generated=%s collation=%s :: %s',
                c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, a.attcollation,
                col_description(c.oid, a.attnum))
    FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('relation %s kind=%s options=%s acl=%s', relname, relkind, reloptions, relacl)
    FROM rels
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN rels c ON c.oid = i.indrelid
  UNION ALL
  SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass,
                pg_get_constraintdef(co.oid))
    FROM pg_constraint co, ns WHERE co.connamespace = ns.oid
  UNION ALL
  SELECT format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_trigger t JOIN rels c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
  UNION ALL
  SELECT format('function %s acl=%s', pg_get_functiondef(p.oid), p.proacl)
    FROM pg_proc p, ns WHERE p.pronamespace = ns.oid AND p.prokind <> 'a'
  UNION ALL
  SELECT format('view %s: %s', relname, pg_get_viewdef(c.oid)) FROM rels c WHERE relkind IN ('v', 'm')
  UNION ALL
  SELECT format('enum %s: %s', en.enumtypid::regtype, string_agg(en.enumlabel, ',' ORDER BY en.enumsortorder))
    FROM pg_enum en JOIN pg_type ty ON ty.oid = en.enumtypid, ns
   WHERE ty.typnamespace = ns.oid GROUP BY en.enumtypid
  UNION ALL
  SELECT format('type %s acl=%s', ty.oid::regtype, ty.typacl) FROM pg_type ty, ns
   WHERE ty.typnamespace = ns.oid AND ty.typacl IS NOT NULL
  UNION ALL
  SELECT format('schema acl=%s', nspacl) FROM pg_namespace WHERE nspname = 'brickcat'
  UNION ALL
  SELECT format('config %s %s', extconfig::regclass[], extcondition)
    FROM pg_extension WHERE extname = 'brickcat'
  UNION ALL
  SELECT 'access_rule ' || r::text FROM brickcat.access_rule r
  UNION ALL
  SELECT 'rate_limit_def ' || r::text FROM brickcat.rate_limit_def r
  UNION ALL
  SELECT 'quota_state rows ' || count(*) FROM brickcat.quota_state
) f ORDER BY x COLLATE "C"});
}

# Every version this release can update from, as it shipped.
my @old = map { m{brickcat--([0-9.]+)\.sql$} ? $1 : () }
  glob(BrickcatTest::project_root() . '/sql/brickcat--*.sql');
my $current = $node->safe_psql('postgres',
	q{SELECT extversion FROM pg_extension WHERE extname = 'brickcat'});
@old = grep { $_ ne $current } @old;
ok(@old > 0, "earlier versions to update from: @old");
my $fresh = fingerprint('postgres');
cmp_ok(scalar(split /\n/, $fresh), '>', 500, 'the fresh schema is described in detail');

for my $v (@old)
{
	my $db = "from_$v";
	$db =~ s/\./_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION brickcat VERSION '$v'");

	# data as the old version keeps it: items with and without known colors
	$node->safe_psql($db, q{
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at) VALUES
  ('PART', '3001', 'Brick 2 x 4', brickcat.now() - interval '1 day'),
  ('PART', '3002', 'Brick 2 x 3', brickcat.now() - interval '1 day');
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', '3001', brickcat.now() - interval '1 day');
INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity)
VALUES ('PART', '3001', 5, 10), ('PART', '3001', 11, 2);
});
	my ($ret, $out, $err) = $node->psql($db, 'ALTER EXTENSION brickcat UPDATE');
	is($ret, 0, "ALTER EXTENSION brickcat UPDATE from $v") or diag($err);
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'brickcat'}),
		$current, "$v is now $current");

	my $upgraded = fingerprint($db);
	my %f = map { $_ => 1 } split /\n/, $fresh;
	my %u = map { $_ => 1 } split /\n/, $upgraded;
	my @missing = grep { !$u{$_} } sort keys %f;
	my @extra = grep { !$f{$_} } sort keys %u;
	ok(!@missing && !@extra, "updated from $v: the same schema as a fresh install")
	  or diag("only in a fresh install:\n  " . join("\n  ", @missing)
		  . "\nonly after the update:\n  " . join("\n  ", @extra));

	is($node->safe_psql($db, q{
SELECT string_agg(item_no || ':' || name || ':' || coalesce(color_ids::text, '-') || ':' || source,
                  ',' ORDER BY item_no)
  FROM brickcat.get_items(ARRAY['3001', '3002'], wait => '0')}),
		'3001:Brick 2 x 4:{5,11}:cache,3002:Brick 2 x 3:-:cache',
		"data kept, reads work after the update from $v");
	is($node->safe_psql($db, q{SELECT color_ids_copy FROM brickcat.item WHERE item_no = '3001'}),
		'{5,11}', "the update copied the known colors of the items stored before it");
}

# A worker whose database still has an earlier version waits, says why,
# and starts once the extension is updated.
my $old = $old[0];
my $w = BrickcatTest::new_node('waits', no_start => 1);
$w->start;
$w->safe_psql('postgres', "CREATE EXTENSION brickcat VERSION '$old'");
ok($w->wait_for_log(
		qr/brickcat worker is waiting: extension brickcat is at version \Q$old\E in database "postgres", this library needs \Q$current\E/),
	"the worker waits for the $old schema to be updated, and says so");
is($w->safe_psql('postgres', 'SELECT worker_running FROM brickcat.status'), 'f',
	'meanwhile it does not take work');
$w->safe_psql('postgres', q{
INSERT INTO brickcat.item (item_type, item_no, name, fetched_at)
VALUES ('PART', '3001', 'Brick 2 x 4', brickcat.now());
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
VALUES ('PART', '3001', brickcat.now());
INSERT INTO brickcat.item_color (item_type, item_no, color_id) VALUES ('PART', '3001', 5);
});
is($w->safe_psql('postgres', q{SELECT color_ids::text || ':' || source FROM brickcat.get_item('3001')}),
	'{5}:cache', "and reads of the $old schema still work");
$w->safe_psql('postgres', 'ALTER EXTENSION brickcat UPDATE');
ok($w->poll_query_until('postgres', 'SELECT worker_running FROM brickcat.status'),
	'after ALTER EXTENSION brickcat UPDATE the worker starts');
$w->stop;

done_testing();
