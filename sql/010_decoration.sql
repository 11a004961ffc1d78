-- brickcat.decoration(item_no, name, category_name): plain / printed / sticker
-- from BrickLink numbering, the name and the category, over real data.
\getenv data BRICKCAT_DATA
\set part_weights :data '/bricklink/part_weights.csv'
\set rb_parts :data '/rebrickable/parts.csv'
\set categories :data '/bricklink/categories.xml'

CREATE TEMP TABLE pw (item_no text PRIMARY KEY, weight text);
COPY pw FROM :'part_weights' WITH (FORMAT csv);
CREATE TEMP TABLE rb (part_num text, name text, part_cat_id int, part_material text);
COPY rb FROM :'rb_parts' WITH (FORMAT csv, HEADER);

-- All 69,833 real BrickLink part numbers, by number alone.
SELECT count(*) AS part_numbers FROM pw;
SELECT brickcat.decoration(item_no, NULL, NULL) AS by_number, count(*)
  FROM pw GROUP BY 1 ORDER BY 1;

-- Which pattern constant made a number printed (the rest is plain).
SELECT CASE WHEN item_no ~ '.p[bx][0-9]' THEN 'pb/px + digit'
            WHEN item_no ~ '([0-9]|[0-9][A-Za-z])p[0-9]' THEN 'p + digit'
            ELSE 'p + theme letters' END AS rule, count(*)
  FROM pw WHERE brickcat.decoration(item_no, NULL, NULL) = 'printed'
 GROUP BY 1 ORDER BY 1;

-- Numbers containing a "p" that are not patterns stay plain.
SELECT count(*) AS plain_with_p FROM pw
 WHERE item_no LIKE '%p%' AND brickcat.decoration(item_no, NULL, NULL) = 'plain';

-- The 7,610 numbers Rebrickable shares with BrickLink, with Rebrickable's
-- names (which say "Print" and "(Sticker)"): number and name together.
SELECT brickcat.decoration(pw.item_no, NULL, NULL) AS by_number,
       brickcat.decoration(pw.item_no, rb.name, NULL) AS with_name, count(*)
  FROM pw JOIN rb ON rb.part_num = pw.item_no
 GROUP BY 1, 2 ORDER BY 1, 2;

-- Every Rebrickable name saying "(Sticker)" is a sticker, whatever the number.
SELECT brickcat.decoration(part_num, name, NULL) AS sticker_named, count(*)
  FROM rb WHERE name LIKE '%(Sticker)%' GROUP BY 1;

-- Real BrickLink category names (entities as in the file): decorated ones.
CREATE TEMP TABLE cat_lines (line text);
COPY cat_lines FROM :'categories' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e');
CREATE TEMP TABLE cat AS
SELECT replace(substring(line FROM '<CATEGORYNAME>(.*)</CATEGORYNAME>'), '&amp;', '&') AS category_name
  FROM cat_lines WHERE line LIKE '%<CATEGORYNAME>%';
SELECT count(*) AS categories FROM cat;
SELECT brickcat.decoration(NULL, NULL, category_name) AS by_category, count(*)
  FROM cat GROUP BY 1 ORDER BY 1;
SELECT category_name FROM cat
 WHERE brickcat.decoration(NULL, NULL, category_name) = 'sticker' ORDER BY 1;

-- Specific cases: real numbers from the data (in_data shows it), BrickLink-
-- and Rebrickable-style names, real category names.
CREATE TEMP TABLE cases (item_no text, name text, category_name text, expected brickcat.decoration);
INSERT INTO cases VALUES
  -- BrickLink's own constant pb
  ('3068bpb0001', NULL, NULL, 'printed'),
  ('973pb0010c01', NULL, NULL, 'printed'),
  ('970c00pb0001', NULL, NULL, 'printed'),
  ('4760c01pb01', NULL, NULL, 'printed'),
  ('FTGpb001c01', NULL, NULL, 'printed'),
  ('Mx1022Apb001', NULL, NULL, 'printed'),
  ('bb0190pb01', NULL, NULL, 'printed'),
  ('wargpb01', NULL, NULL, 'printed'),
  ('crssprt02pb38a', NULL, NULL, 'printed'),
  ('3001oldpb01', NULL, NULL, 'printed'),
  ('48452cx1pb01', NULL, NULL, 'printed'),
  ('clikits016pb01', NULL, NULL, 'printed'),
  ('dupcat1pb01', NULL, NULL, 'printed'),
  -- Peeron's px and theme codes
  ('3626bpx100', NULL, NULL, 'printed'),
  ('x66px1', NULL, NULL, 'printed'),
  ('3005ptE', NULL, NULL, 'printed'),
  ('3039ps1', NULL, NULL, 'printed'),
  ('973pn1c01', NULL, NULL, 'printed'),
  ('973psqc01', NULL, NULL, 'printed'),
  -- LDraw's p
  ('3070bp01', NULL, NULL, 'printed'),
  ('3626bp01', NULL, NULL, 'printed'),
  ('10p01', NULL, NULL, 'printed'),
  ('2335p01', NULL, NULL, 'printed'),
  -- plain bases, and a "p" that is part of a word
  ('3001', NULL, NULL, 'plain'),
  ('3626b', NULL, NULL, 'plain'),
  ('973', NULL, NULL, 'plain'),
  ('3070b', NULL, NULL, 'plain'),
  ('dup002', NULL, NULL, 'plain'),
  ('dupbp01', NULL, NULL, 'plain'),
  ('minesheep01', NULL, NULL, 'plain'),
  ('bp01', NULL, NULL, 'plain'),
  ('mcnep1', NULL, NULL, 'plain'),
  ('spa0001', NULL, NULL, 'plain'),
  ('pri016', NULL, NULL, 'plain'),
  ('3137open', NULL, NULL, 'plain'),
  ('43853posa', NULL, NULL, 'plain'),
  ('9221park', NULL, NULL, 'plain'),
  ('3001special', NULL, NULL, 'plain'),
  ('23229pack', NULL, NULL, 'plain'),
  ('1079polarbear', NULL, NULL, 'plain'),
  -- theme codes ending in letters are left to the name
  ('973psm', NULL, NULL, 'plain'),
  ('973psm', 'Torso Space Futuron Pattern', NULL, 'printed'),
  -- names: Sticker beats Pattern and the number
  ('3001', 'Brick 2 x 4', NULL, 'plain'),
  ('3069bpb0001', 'Tile 1 x 2 with Groove with Gauges Pattern (Sticker) - Set 6990', 'Tile, Decorated', 'sticker'),
  ('4695', 'Sticker Sheet for Set 377-1', 'Sticker Sheet', 'sticker'),
  ('11203pr0025', 'Tile Special 2 x 2 Inverted with King Boo, Barcode print (Sticker)', NULL, 'sticker'),
  ('973p4q', 'Torso Castle Forestman Green Corset and Necklace Original Bright Print (Maiden)', NULL, 'printed'),
  ('64800pb01c02', 'Creature, Tauntaun [Complete Assembly]', NULL, 'printed'),
  ('14306', 'Sail, Scalloped, 18 x 34 Triangular with Winged Edge and Dark Brown Print', NULL, 'printed'),
  ('3068b', 'Tile 2 x 2 with Groove with Black Fingerprint', NULL, 'plain'),
  ('3068b', 'Tile 2 x 2 with Groove, PRINTED', NULL, 'printed'),
  -- categories
  ('3245c', 'Brick 1 x 2 x 2 with Inside Stud Holder', 'Brick, Decorated', 'printed'),
  ('3245c', NULL, 'Minifigure, Torso Assembly, Decor.', 'printed'),
  ('3245c', NULL, 'Window, Glass & Shutter, Decorated ', 'printed'),
  ('3245c', NULL, 'Stickered Assembly', 'sticker'),
  ('3245c', NULL, 'Brick', 'plain'),
  ('3245c', NULL, 'Decoration', 'plain'),
  -- NULL tolerance
  (NULL, 'Tile 1 x 1 with Pattern', NULL, 'printed'),
  (NULL, NULL, 'Slope, Decorated', 'printed'),
  ('', '', '', 'plain'),
  (NULL, NULL, NULL, NULL);

SELECT c.item_no, left(c.name, 40) AS name, c.category_name,
       brickcat.decoration(c.item_no, c.name, c.category_name) AS result,
       brickcat.decoration(c.item_no, c.name, c.category_name) IS NOT DISTINCT FROM c.expected AS ok,
       EXISTS (SELECT 1 FROM pw WHERE pw.item_no = c.item_no) AS in_data
  FROM cases c;
SELECT count(*) AS cases, count(*) FILTER (WHERE brickcat.decoration(item_no, name, category_name)
                                            IS DISTINCT FROM expected) AS wrong
  FROM cases;

-- Declared immutable and parallel safe, usable in an index expression.
SELECT provolatile, proparallel, proisstrict FROM pg_proc
 WHERE oid = 'brickcat.decoration(text, text, text)'::regprocedure;
CREATE TEMP TABLE deco_idx (no text);
CREATE INDEX ON deco_idx (brickcat.decoration(no, NULL, NULL));
