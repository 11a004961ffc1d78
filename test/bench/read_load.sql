-- Loads the read benchmarks' catalog from the real data files: the 69,833
-- BrickLink part numbers with their weights, Rebrickable names where the
-- numbers match, known colors from Rebrickable elements mapped to BrickLink
-- color ids, and BrickLink's color list.  Rows are about 1.5 KB, like the
-- peers' figures in DESIGN.md (the description repeats the name).
-- usage: psql -v data=/path/to/shared/data -f read_load.sql
\set ON_ERROR_STOP 1
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TEMP TABLE w (no text, weight text);
CREATE TEMP TABLE rb (part_num text, name text, cat int, mat text);
CREATE TEMP TABLE el (element_id text, part_num text, color_id int, design_id text);
CREATE TEMP TABLE lc (material text, lego_id text, lego_name text, bl_id text, bl_name text,
                      ldraw_id text, ldraw_name text, peeron_name text, y1 text, y2 text,
                      hex text, rec text);
SELECT format('COPY w FROM %L CSV', :'data' || '/bricklink/part_weights.csv') AS c1,
       format('COPY rb FROM %L CSV HEADER', :'data' || '/rebrickable/parts.csv') AS c2,
       format('COPY el FROM %L CSV HEADER', :'data' || '/rebrickable/elements.csv') AS c3,
       format('COPY lc FROM %L CSV HEADER', :'data' || '/colors/legocolors.csv') AS c4 \gset
:c1;
:c2;
:c3;
:c4;

INSERT INTO brickcat.item (item_type, item_no, name, weight, image_url, thumbnail_url,
                           description, fetched_at)
SELECT DISTINCT ON (w.no) 'PART', w.no, n.name,
       CASE WHEN w.weight ~ '^[0-9]+(\.[0-9]+)?$' THEN w.weight::numeric END,
       'https://img.bricklink.com/ItemImage/PN/0/' || w.no || '.png',
       'https://img.bricklink.com/ItemImage/PT/0/' || w.no || '.t1.png',
       repeat(n.name || '. ', 1300 / length(n.name)),
       brickcat.now() - interval '1 day'
  FROM w LEFT JOIN rb ON rb.part_num = w.no,
       LATERAL (SELECT coalesce(rb.name, 'BrickLink part ' || w.no) AS name) n
 WHERE w.no <> '' AND length(w.no) <= 64
 ORDER BY w.no;
INSERT INTO brickcat.color (color_id, color_name, color_code)
SELECT DISTINCT ON (bl_id::int) bl_id::int, bl_name, ltrim(hex, '#')
  FROM lc WHERE bl_id ~ '^[0-9]+$'
 ORDER BY bl_id::int
ON CONFLICT (color_id) DO NOTHING;
INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at)
SELECT item_type, item_no, brickcat.now() - interval '1 day' FROM brickcat.item;
INSERT INTO brickcat.item_color (item_type, item_no, color_id)
SELECT DISTINCT 'PART', el.part_num, lc.bl_id::int
  FROM el JOIN lc ON lc.ldraw_id = el.color_id::text AND lc.bl_id ~ '^[0-9]+$'
  JOIN brickcat.item i ON i.item_type = 'PART' AND i.item_no = el.part_num;

-- integer ids for pgbench's random keys
CREATE TABLE bench.keys AS
SELECT row_number() OVER (ORDER BY item_no)::int AS id, item_no AS no FROM brickcat.item;
ALTER TABLE bench.keys ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SELECT count(*) AS items, round(avg(pg_column_size(i.*))) AS avg_row_bytes,
       (SELECT count(DISTINCT item_no) FROM brickcat.item_color) AS items_with_colors
  FROM brickcat.item i;
