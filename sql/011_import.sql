-- Bulk import of BrickLink catalog downloads: the real files as they are,
-- the staged (client-side) route, XML and tab-delimited, counts, dates,
-- newer API data kept, malformed files rejected whole.
\getenv data BRICKCAT_DATA
\set colors :data '/bricklink/colors.xml'
\set categories :data '/bricklink/categories.xml'
\set itemtypes :data '/bricklink/itemtypes.xml'
SET timezone = 'UTC';

-- The real downloads import as they are, kind detected.
SELECT * FROM brickcat.import_catalog(:'colors');
SELECT * FROM brickcat.import_catalog(:'categories');
SELECT * FROM brickcat.import_catalog(:'itemtypes', 'itemtypes');
-- Again: nothing changes.
SELECT * FROM brickcat.import_catalog(:'categories');

-- Dated by the file, marked as imported, entities decoded, "" is unknown.
SELECT count(*) AS colors, count(DISTINCT fetched_at) AS dates,
       bool_and(origin = 'import') AS imported,
       bool_and(fetched_at = (pg_stat_file(:'colors')).modification) AS file_date
  FROM brickcat.color;
SELECT color_id, color_name, color_code, color_type FROM brickcat.color
 WHERE color_id IN (0, 1, 11, 12) ORDER BY 1;
SELECT category_id, category_name FROM brickcat.category
 WHERE category_name ~ '[&''"<>]' ORDER BY 1 LIMIT 6;
SELECT count(*) FILTER (WHERE category_name ~ '&[a-z#0-9]+;') AS undecoded FROM brickcat.category;
SELECT type_code, type_name, item_type, origin,
       fetched_at = (pg_stat_file(:'itemtypes')).modification AS file_date
  FROM brickcat.item_type ORDER BY type_code;

-- Items through the staged route (what \copy fills), dated by a parameter.
INSERT INTO brickcat.import_staging (line) VALUES
  ('<?xml version="1.0" encoding="UTF-8"?>'), ('<CATALOG>'),
  ('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3001</ITEMID><ITEMNAME>Brick 2 x 4</ITEMNAME><CATEGORY>5</CATEGORY>'),
  ('<ITEMYEAR>1958</ITEMYEAR><ITEMWEIGHT>2.32</ITEMWEIGHT><ITEMDIMX>2.00</ITEMDIMX><ITEMDIMY>4.00</ITEMDIMY><ITEMDIMZ>1.00</ITEMDIMZ></ITEM>'),
  ('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3068bpb0001</ITEMID><ITEMNAME>  Tile 2 x 2 with &amp;#39;POLICE&amp;#39; Pattern  </ITEMNAME><CATEGORY>37</CATEGORY><ITEMYEAR>?</ITEMYEAR><ITEMWEIGHT>?</ITEMWEIGHT><ITEMDIMX>0.00</ITEMDIMX></ITEM>'),
  ('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3069bpb0002</ITEMID><ITEMNAME>Tile 1 x 2 with Gauges Pattern (Sticker)</ITEMNAME><CATEGORY>37</CATEGORY></ITEM>'),
  ('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3245c</ITEMID><ITEMNAME>Brick 1 x 2 x 2 with &lt;Stud&gt; Holder</ITEMNAME><CATEGORY>5</CATEGORY><ITEMWEIGHT/></ITEM>'),
  ('<ITEM><ITEMTYPE>S</ITEMTYPE><ITEMID>10276-1</ITEMID><ITEMNAME>Colosseum</ITEMNAME><CATEGORY>65</CATEGORY><ITEMYEAR>2020</ITEMYEAR></ITEM>'),
  ('</CATALOG>');
SELECT * FROM brickcat.import_staged(fetched_at => '2026-01-15 00:00:00+00');
SELECT count(*) AS staged_left FROM brickcat.import_staging;
SELECT item_type, item_no, name, category_id, year_released, weight, dim_x, dim_y, dim_z,
       decoration, is_printed, origin, fetched_at
  FROM brickcat.item ORDER BY 1, 2;

-- A later file updates what changed and keeps what it leaves unknown; a row
-- fetched from the API after the file's date is left alone.
UPDATE brickcat.item SET origin = 'api', fetched_at = '2026-03-01', name = 'Colosseum (API)'
 WHERE item_no = '10276-1';
INSERT INTO brickcat.import_staging (line) VALUES
  (E'Category ID\tCategory Name\tNumber\tName\tYear Released\tWeight (in Grams)\tDimensions'),
  (E'5\tBrick\t3001\tBrick 2 x 4\t1958\t2.32\t2 x 4 x 1'),
  (E'37\tTile, Decorated\t3068bpb0001\tTile 2 x 2 with ''POLICE'' Pattern\t?\t1.2\t?'),
  (E'5\tBrick\t3245c\tBrick 1 x 2 x 2 with Inside Stud Holder\t?\t?\t?'),
  (E'5\tBrick\t3245c\tBrick 1 x 2 x 2 repeated\t?\t?\t?'),
  (E'5\tBrick\t3004\tBrick 1 x 2\t1958\t0.8\t1 x 2 x 1');
SELECT * FROM brickcat.import_staged('parts', '2026-02-01 00:00:00+00');
INSERT INTO brickcat.import_staging (line) VALUES
  (E'Item Type\tNumber\tName'), (E'S\t10276-1\tColosseum');
SELECT * FROM brickcat.import_staged(NULL, '2026-02-01 00:00:00+00');
SELECT item_type, item_no, name, year_released, weight, dim_x, dim_y, dim_z, decoration, origin, fetched_at
  FROM brickcat.item ORDER BY 1, 2;

-- Codes: item, color name, element id; the color id is found by name.
INSERT INTO brickcat.import_staging (line) VALUES
  ('<CATALOG><ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3001</ITEMID><COLOR>White</COLOR><CODENUM>300101</CODENUM></ITEM>'),
  ('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3001</ITEMID><COLOR>Bright Pink</COLOR><CODENUM>6313254</CODENUM></ITEM>'),
  ('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>3001</ITEMID><COLOR>No Such Color</COLOR><CODENUM>999</CODENUM></ITEM></CATALOG>');
SELECT * FROM brickcat.import_staged();
SELECT element_id, item_type, item_no, color_name, color_id, origin, fetched_at BETWEEN now() - interval '1 hour' AND now() AS dated_at_import
  FROM brickcat.item_code ORDER BY element_id;

-- Malformed files are rejected with the line and element, nothing imported.
CREATE FUNCTION pg_temp.try(lines text[], kind text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO brickcat.import_staging (line) SELECT unnest(lines);
    PERFORM brickcat.import_staged(kind);
    RETURN 'imported';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.try(ARRAY['<CATALOG>', '<ITEM><ITEMID>9999</ITEMID><ITEMTYPE>P</ITEMTYPE></ITEM>', '<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>9998</ITEMID><ITEMNAME>x</ITEM>', '</CATALOG>']);
SELECT pg_temp.try(ARRAY['<CATALOG>', '<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>9999</ITEMID></ITEM>', '<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>9998</ITEMID><ITEMWEIGHT>heavy</ITEMWEIGHT></ITEM>', '</CATALOG>']);
SELECT pg_temp.try(ARRAY['<CATALOG>', '<ITEM><ITEMTYPE>Q</ITEMTYPE><ITEMID>9999</ITEMID></ITEM>', '</CATALOG>']);
SELECT pg_temp.try(ARRAY['<CATALOG>', '<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>9999</ITEMID></ITEM>']);
SELECT pg_temp.try(ARRAY['<CATALOG>', '<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMNAME>no number</ITEMNAME></ITEM>', '</CATALOG>'], 'items');
SELECT pg_temp.try(ARRAY['<INVENTORY>', '</INVENTORY>']);
SELECT pg_temp.try(ARRAY['<CATALOG><ITEM><FOO>1</FOO></ITEM></CATALOG>']);
SELECT pg_temp.try(ARRAY['<CATALOG></CATALOG> trailing'], 'colors');
SELECT pg_temp.try(ARRAY['<CATALOG>', '<ITEM><COLOR>1</COLOR><COLORNAME>White</COLORNAME>', '<COLORRGB>FFF</COLORRGB></ITEM>', '<ITEM><COLOR>2</COLOR><COLORNAME>Tan</COLORNAME><COLORNAME>Tan</COLORNAME></ITEM>', '</CATALOG>']);
SELECT pg_temp.try(ARRAY[E'Number\tName', E'9999\tok', E'9998\ttoo\tmany'], 'parts');
SELECT pg_temp.try(ARRAY[E'Number\tName', E'9999\tok'], NULL);
SELECT pg_temp.try(ARRAY[E'Color ID\tColor Name', E'x1\tWhite'], NULL);
SELECT pg_temp.try(ARRAY[E'Number\tName', E'9999\tok'], 'bricks');
SELECT count(*) AS items_9999 FROM brickcat.item WHERE item_no IN ('9999', '9998');
SELECT count(*) AS staged_left FROM brickcat.import_staging;
SELECT * FROM brickcat.import_staged();

-- Progress is reported for long files (every 10 % or so).
INSERT INTO brickcat.import_staging (line)
SELECT '<CATALOG>' UNION ALL
SELECT * FROM (SELECT format('<ITEM><ITEMTYPE>P</ITEMTYPE><ITEMID>gen%s</ITEMID><ITEMNAME>Generated %s</ITEMNAME></ITEM>', g, g)
                 FROM generate_series(1, 25000) g ORDER BY g) s
UNION ALL SELECT '</CATALOG>';
SELECT * FROM brickcat.import_staged();

-- Importing is for brickcat_admin; server files also need superuser or
-- pg_read_server_files; staging is per session.
CREATE ROLE regress_importer;
SET ROLE regress_importer;
-- (terse: the error position would quote the data path, which differs by machine)
\set VERBOSITY terse
SELECT * FROM brickcat.import_catalog(:'colors');
\set VERBOSITY default
RESET ROLE;
GRANT brickcat_admin TO regress_importer;
SET ROLE regress_importer;
SELECT * FROM brickcat.import_catalog(:'colors');
INSERT INTO brickcat.import_staging (line) VALUES ('<CATALOG></CATALOG>');
SELECT count(*) AS own_lines FROM brickcat.import_staging;
RESET ROLE;
SELECT count(*) AS lines_visible_to_superuser FROM brickcat.import_staging;
DELETE FROM brickcat.import_staging;
GRANT pg_read_server_files TO regress_importer;
SET ROLE regress_importer;
SELECT * FROM brickcat.import_catalog(:'colors');
RESET ROLE;
REVOKE pg_read_server_files FROM regress_importer;
REVOKE brickcat_admin FROM regress_importer;
DROP ROLE regress_importer;
SELECT * FROM brickcat.import_catalog('/nonexistent/Parts.xml');

-- Leave the catalog empty for the tests that follow.
TRUNCATE brickcat.item, brickcat.item_code, brickcat.color, brickcat.category;
