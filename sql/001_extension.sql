-- The extension installs into schema brickcat with everything documented.
CREATE EXTENSION brickcat;
SELECT extname, extversion, nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'brickcat';
SELECT preloaded, worker_database FROM brickcat.status;

-- No tenant column anywhere in the global catalog.
SELECT count(*) AS tenant_columns
  FROM information_schema.columns
 WHERE table_schema = 'brickcat' AND column_name LIKE '%tenant%'
   AND table_name IN ('item', 'item_color', 'item_color_set', 'price_guide', 'color', 'category');

-- Every object of the extension carries a comment.
SELECT pg_describe_object(d.classid, d.objid, 0) AS undocumented
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'brickcat')
   AND d.deptype = 'e'
   AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
 ORDER BY 1;
