#!/usr/bin/env bash
# Bulk import benchmark: a 70,000-item Parts.xml in BrickLink's catalog
# download shape, built from the real part numbers and weights in
# ../shared/data (names from Rebrickable where the number is the same),
# imported with brickcat.import_catalog, against a plain COPY of the same rows
# into an unindexed copy of brickcat.item (and an indexed one) in the same run.
# Targets (issue 7): <= 10 s, and >= 0.5 x the speed of the unindexed COPY.
source "$(dirname "$0")/lib.sh"
bench_cluster_start

bench_run python3 - "$BRICKCAT_DATA" "$BENCH_DIR" <<'PY'
import csv, sys, html, random
data, out = sys.argv[1], sys.argv[2]
rng = random.Random(7)
names = {r['part_num']: r['name'] for r in csv.DictReader(open(data + '/rebrickable/parts.csv'))}
cats = [l.split('>')[1].split('<')[0] for l in open(data + '/bricklink/categories.xml') if '<CATEGORY>' in l]
xml = open(out + '/Parts.xml', 'w', newline='\r\n')
tsv = open(out + '/Parts.tsv', 'w')
xml.write('<?xml version="1.0" encoding="UTF-8"?>\n<CATALOG>\n')
n = 0
for line in open(data + '/bricklink/part_weights.csv'):
    no, w = line.strip().split(',')
    name = names.get(no, 'Part %s with Stud' % no)
    cat = rng.choice(cats)
    year = rng.randint(1958, 2024)
    dims = [rng.choice(['0.00', '1.00', '2.00', '4.00', '0.33']) for _ in range(3)]
    # BrickLink encodes names with HTML entities inside the XML
    ename = html.escape(html.escape(name, quote=True).replace('&#x27;', '&#39;'), quote=False)
    xml.write('   <ITEM>\n      <ITEMTYPE>P</ITEMTYPE>\n      <ITEMID>%s</ITEMID>\n'
              '      <ITEMNAME>%s</ITEMNAME>\n      <CATEGORY>%s</CATEGORY>\n'
              '      <ITEMYEAR>%d</ITEMYEAR>\n      <ITEMWEIGHT>%s</ITEMWEIGHT>\n'
              '      <ITEMDIMX>%s</ITEMDIMX>\n      <ITEMDIMY>%s</ITEMDIMY>\n      <ITEMDIMZ>%s</ITEMDIMZ>\n'
              '   </ITEM>\n' % (html.escape(no), ename, cat, year, w, *dims))
    esc = lambda s: s.replace('\\', '\\\\').replace('\t', '\\t')
    d = ['\\N' if x == '0.00' else x for x in dims]
    tsv.write('\t'.join(['PART', esc(no), esc(name), cat, str(year), '\\N' if w == '?' else w,
                         *d, 'plain', '2024-01-01 00:00:00+00', 'import']) + '\n')
    n += 1
xml.write('</CATALOG>\n')
print('items', n, file=sys.stderr)
PY
ls -l "$BENCH_DIR/Parts.xml" >&2

bench_psql -q -c "SELECT * FROM brickcat.import_catalog('$BRICKCAT_DATA/bricklink/categories.xml')" >/dev/null
cols="item_type, item_no, name, category_id, year_released, weight, dim_x, dim_y, dim_z, decoration, fetched_at, origin"
out=$(bench_psql -q <<SQL
CREATE TABLE bench_plain (LIKE brickcat.item);
CREATE TABLE bench_indexed (LIKE brickcat.item INCLUDING INDEXES);
CHECKPOINT;
\timing on
\o /dev/null
COPY bench_plain ($cols) FROM '$BENCH_DIR/Parts.tsv';
TRUNCATE bench_plain;
COPY bench_plain ($cols) FROM '$BENCH_DIR/Parts.tsv';
TRUNCATE bench_plain;
COPY bench_plain ($cols) FROM '$BENCH_DIR/Parts.tsv';
COPY bench_indexed ($cols) FROM '$BENCH_DIR/Parts.tsv';
TRUNCATE bench_indexed;
COPY bench_indexed ($cols) FROM '$BENCH_DIR/Parts.tsv';
SELECT * FROM brickcat.import_catalog('$BENCH_DIR/Parts.xml');
TRUNCATE brickcat.item;
SELECT * FROM brickcat.import_catalog('$BENCH_DIR/Parts.xml');
TRUNCATE brickcat.item;
SELECT * FROM brickcat.import_catalog('$BENCH_DIR/Parts.xml');
SELECT * FROM brickcat.import_catalog('$BENCH_DIR/Parts.xml');
SQL
)
echo "$out" >&2
times=($(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'))
# times: 3 plain COPY (with TRUNCATEs between), 2 indexed COPY, 3 imports into an empty catalog, a re-import
best() { printf '%s\n' "$@" | sort -g | head -1; }
copy_plain=$(best "${times[0]}" "${times[2]}" "${times[4]}")
copy_indexed=$(best "${times[5]}" "${times[7]}")
import=$(best "${times[8]}" "${times[10]}" "${times[12]}")
reimport=${times[13]}
bench_psql -At -c "SELECT 'check: ' || count(*) || ' items, ' || count(*) FILTER (WHERE decoration = 'printed') || ' printed' FROM brickcat.item" >&2
# Speeds as rows per second, so that ratio = import speed / COPY speed.
rps() { python3 -c "print('%.0f' % (69833 / (float('$1') / 1000)))"; }
bench_report "import 70k Parts.xml, rows/s (ms: $import)" "$(rps "$import")" \
    "COPY into unindexed item copy (ms: $copy_plain)" "$(rps "$copy_plain")" ">= 0.5, <= 10 s"
bench_report "import 70k Parts.xml, rows/s (ms: $import)" "$(rps "$import")" \
    "COPY into indexed item copy (ms: $copy_indexed)" "$(rps "$copy_indexed")" "(reference)"
bench_report "re-import unchanged 70k, rows/s (ms: $reimport)" "$(rps "$reimport")" \
    "COPY into unindexed item copy (ms: $copy_plain)" "$(rps "$copy_plain")" "(reference)"
