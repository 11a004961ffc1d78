-- brickcat.request_refresh: argument validation and queue semantics.
-- (No BrickLink credentials are configured here, so the worker leaves the
-- jobs queued and the results are deterministic.)
CREATE EXTENSION IF NOT EXISTS brickcat;
\set VERBOSITY default

-- defaults: item and colors, background priority
SELECT job_id > 0 AS has_id, target, job_priority, is_new
  FROM brickcat.request_refresh('3001');
-- the same targets again join the open jobs
SELECT target, job_priority, is_new FROM brickcat.request_refresh('3001');
-- a higher priority raises the open job's priority; a lower one does not lower it
SELECT target, job_priority, is_new FROM brickcat.request_refresh('3001', what => '{item}', priority => 'interactive');
SELECT target, job_priority, is_new FROM brickcat.request_refresh('3001', what => '{item}', priority => 'background');
SELECT target, priority, state, attempts FROM brickcat.fetch_queue ORDER BY job_id;

-- price guides, lists, case-insensitive type/guide/condition, duplicates folded
SELECT target, is_new FROM brickcat.request_refresh('973pb10c01', 'part',
    '{price:11:sold:N,price:11:SOLD:n,price:0:stock:U,color_list,category_list}', 'on_demand');
SELECT kind, item_type, item_no, color_id, guide_type, condition
  FROM brickcat.fetch_queue WHERE kind = 'price' ORDER BY job_id;
-- lists need no item number
SELECT target, is_new FROM brickcat.request_refresh(NULL, what => '{color_list}');
-- odd numbers are kept exactly
SELECT target FROM brickcat.request_refresh('a/b', 'SET', '{item}');
SELECT target FROM brickcat.request_refresh('3364-Da', 'PART', '{colors}');

-- a rolled-back request leaves no job
BEGIN;
SELECT count(*) FROM brickcat.request_refresh('3002');
ROLLBACK;
SELECT count(*) FROM brickcat.fetch_queue WHERE item_no = '3002';

-- bad arguments: clear errors with a hint (SQLSTATEs checked below)
SELECT * FROM brickcat.request_refresh(NULL);
SELECT * FROM brickcat.request_refresh('');
SELECT * FROM brickcat.request_refresh(repeat('x', 65));
SELECT * FROM brickcat.request_refresh(E'30\n01');
SELECT * FROM brickcat.request_refresh('3001', 'BRICK');
SELECT * FROM brickcat.request_refresh('3001', NULL);
SELECT * FROM brickcat.request_refresh('3001', 'PART', NULL);
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{item,NULL}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{{item},{colors}}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{images}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{price:11:sold}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{price:-1:sold:N}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{price:99999999999:sold:N}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{price:11:bought:N}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{price:11:sold:X}');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{item}', 'urgent');
SELECT * FROM brickcat.request_refresh('3001', 'PART', '{item}', NULL);
-- every one of them is SQLSTATE 22023 (invalid_parameter_value)
DO $$
DECLARE
    c text;
    n int := 0;
BEGIN
    FOREACH c IN ARRAY ARRAY[
        $q$NULL$q$, $q$''$q$, $q$repeat('x', 65)$q$, $q$E'30\n01'$q$, $q$'3001', 'BRICK'$q$,
        $q$'3001', NULL$q$, $q$'3001', 'PART', NULL$q$, $q$'3001', 'PART', '{}'$q$,
        $q$'3001', 'PART', '{item,NULL}'$q$, $q$'3001', 'PART', '{{item},{colors}}'$q$,
        $q$'3001', 'PART', '{images}'$q$, $q$'3001', 'PART', '{price:11:sold}'$q$,
        $q$'3001', 'PART', '{price:-1:sold:N}'$q$, $q$'3001', 'PART', '{price:11:bought:N}'$q$,
        $q$'3001', 'PART', '{price:11:sold:X}'$q$, $q$'3001', 'PART', '{item}', 'urgent'$q$,
        $q$'3001', 'PART', '{item}', NULL$q$]
    LOOP
        BEGIN
            EXECUTE 'SELECT brickcat.request_refresh(' || c || ')';
            RAISE NOTICE 'no error for %', c;
        EXCEPTION WHEN invalid_parameter_value THEN
            n := n + 1;
        END;
    END LOOP;
    RAISE NOTICE '% of 17 bad calls raised 22023', n;
END
$$;
-- nothing was queued by the failed calls
SELECT count(*) FROM brickcat.fetch_queue WHERE item_no IN ('', 'BRICK') OR target LIKE '%images%';

-- the call log starts empty and is readable
SELECT count(*) FROM brickcat.api_call;
-- only admins may queue refreshes
SELECT has_function_privilege('brickcat_reader', 'brickcat.request_refresh(text,text,text[],text)', 'EXECUTE') AS reader,
       has_function_privilege('brickcat_admin', 'brickcat.request_refresh(text,text,text[],text)', 'EXECUTE') AS admin;
-- the secret settings are hidden from pg_settings (GUC_NO_SHOW_ALL)
SELECT name, context FROM pg_settings WHERE name IN ('brickcat.consumer_key', 'brickcat.consumer_secret',
    'brickcat.token_value', 'brickcat.token_secret', 'brickcat.api_base_url') ORDER BY name;
DELETE FROM brickcat.fetch_queue;
