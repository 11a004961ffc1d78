-- What test/quickstart shows once the cluster is up.
\pset footer off
-- give a just-started worker a moment to attach (after ALTER EXTENSION ...
-- UPDATE it starts on its next look at the extension, within 10 s)
\set QUIET on
DO $$
BEGIN
    FOR i IN 1 .. 150 LOOP
        EXIT WHEN (SELECT worker_running FROM brickcat.status);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
\set QUIET off
\echo '== brickcat status'
SELECT preloaded, worker_running, worker_database, on_demand_fetching FROM brickcat.status;
\echo '== seed the color and category lists from BrickLink catalog downloads (first run only)'
\set colors :data '/bricklink/colors.xml'
\set categories :data '/bricklink/categories.xml'
SELECT NOT EXISTS (SELECT FROM brickcat.color) AS seed_colors,
       NOT EXISTS (SELECT FROM brickcat.category) AS seed_categories \gset
\if :seed_colors
SELECT * FROM brickcat.import_catalog(:'colors');
\else
\echo '(colors already seeded)'
\endif
\if :seed_categories
SELECT * FROM brickcat.import_catalog(:'categories');
\else
\echo '(categories already seeded)'
\endif
\echo '== part 3001, first read: fetched on demand from BrickLink (source upstream; cache on later runs)'
SELECT item_no, name, weight, source, freshness, error_code FROM brickcat.part('3001');
\echo '== part 3001 again: served from the cache'
SELECT item_no, name, weight, source, freshness, next_refresh_at::date FROM brickcat.part('3001');
\echo '== its known colors'
SELECT color_id, color_name, quantity, source FROM brickcat.get_known_colors('3001') LIMIT 5;
\echo '== a price guide (sold, new, all colors)'
SELECT item_no, avg_price, unit_quantity, source FROM brickcat.get_price('3001', wait => '3s');
\echo '== the BrickLink budget'
SELECT quota, calls_24h, remaining, percent_used FROM brickcat.quota;
