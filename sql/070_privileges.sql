-- Roles and privileges: brickcat_reader, brickcat_admin, nothing for PUBLIC,
-- and SECURITY DEFINER functions with a pinned search_path.  The checks list
-- violations, so they hold as install pieces add functions.

-- Both roles exist, cannot log in, and an admin is a reader too.
SELECT rolname, rolcanlogin, rolsuper, rolinherit
  FROM pg_roles WHERE rolname IN ('brickcat_reader', 'brickcat_admin') ORDER BY 1;
SELECT pg_has_role('brickcat_admin', 'brickcat_reader', 'MEMBER') AS admin_is_reader,
       pg_has_role('brickcat_reader', 'brickcat_admin', 'MEMBER') AS reader_is_admin;

-- Every SECURITY DEFINER function pins search_path to pg_catalog[, brickcat], pg_temp.
SELECT p.oid::regprocedure AS definer_without_pinned_search_path, p.proconfig
  FROM pg_proc p
 WHERE p.pronamespace = 'brickcat'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                    WHERE c ~ '^search_path=pg_catalog, (brickcat, )?pg_temp$');

-- PUBLIC holds nothing in schema brickcat: not the schema, no routine, no relation.
SELECT 'schema' AS kind, 'brickcat' AS object, a.privilege_type
  FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
 WHERE n.nspname = 'brickcat' AND a.grantee = 0
UNION ALL
SELECT 'routine', p.oid::regprocedure::text, a.privilege_type
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'brickcat'::regnamespace AND a.grantee = 0
UNION ALL
SELECT 'relation', c.oid::regclass::text, a.privilege_type
  FROM pg_class c,
       aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                c.relowner))) a
 WHERE c.relnamespace = 'brickcat'::regnamespace AND a.grantee = 0
 ORDER BY 1, 2;

-- brickcat_reader executes exactly the routines its allowlist names.
SELECT p.oid::regprocedure AS reader_executes_beyond_allowlist
  FROM pg_proc p
 WHERE p.pronamespace = 'brickcat'::regnamespace
   AND has_function_privilege('brickcat_reader', p.oid, 'EXECUTE')
   AND NOT EXISTS (SELECT 1 FROM brickcat.access_rule r
                    WHERE r.kind = 'routine' AND r.object_name = p.proname AND 'EXECUTE' = ANY (r.reader));
SELECT r.object_name AS allowlisted_but_not_executable
  FROM brickcat.access_rule r JOIN pg_proc p ON r.kind = 'routine' AND p.proname = r.object_name
 WHERE p.pronamespace = 'brickcat'::regnamespace AND 'EXECUTE' = ANY (r.reader)
   AND NOT has_function_privilege('brickcat_reader', p.oid, 'EXECUTE');

-- brickcat_admin executes every routine except those kept for the owner.
SELECT p.oid::regprocedure AS admin_cannot_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'brickcat'::regnamespace
   AND NOT has_function_privilege('brickcat_admin', p.oid, 'EXECUTE')
   AND NOT EXISTS (SELECT 1 FROM brickcat.access_rule r
                    WHERE r.kind = 'routine' AND r.object_name = p.proname AND r.reader = '{}' AND r.admin = '{}');
SELECT p.oid::regprocedure AS owner_only
  FROM pg_proc p JOIN brickcat.access_rule r ON r.kind = 'routine' AND r.object_name = p.proname
 WHERE p.pronamespace = 'brickcat'::regnamespace AND r.reader = '{}' AND r.admin = '{}'
   AND NOT has_function_privilege('brickcat_admin', p.oid, 'EXECUTE')
 ORDER BY 1;

-- A reader writes no table but the overlay table (bound by row-level security),
-- and reads every view.
SELECT c.oid::regclass AS reader_may_write
  FROM pg_class c
 WHERE c.relnamespace = 'brickcat'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND has_table_privilege('brickcat_reader', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
 ORDER BY 1;
SELECT c.oid::regclass AS view_reader_cannot_read
  FROM pg_class c
 WHERE c.relnamespace = 'brickcat'::regnamespace AND c.relkind IN ('v', 'm')
   AND NOT has_table_privilege('brickcat_reader', c.oid, 'SELECT');
-- Nobody but the owner may TRUNCATE (it would skip row-level security).
SELECT c.oid::regclass AS truncatable, r.rolname
  FROM pg_class c CROSS JOIN pg_roles r
 WHERE c.relnamespace = 'brickcat'::regnamespace AND c.relkind IN ('r', 'p')
   AND r.rolname IN ('brickcat_reader', 'brickcat_admin')
   AND has_table_privilege(r.oid, c.oid, 'TRUNCATE');

-- What the roles can do, as roles that use them.
CREATE ROLE regress_app LOGIN IN ROLE brickcat_reader;
CREATE ROLE regress_ops LOGIN IN ROLE brickcat_admin;
CREATE ROLE regress_nobody LOGIN;
\set VERBOSITY terse
SET ROLE regress_nobody;
SELECT brickcat.freshness(NULL);
SELECT * FROM brickcat.status;
SELECT count(*) FROM brickcat.item;
SET ROLE regress_app;
SELECT brickcat.freshness(NULL) AS reader_reads;
SELECT preloaded FROM brickcat.status;
SELECT count(*) >= 0 AS reader_reads_catalog FROM brickcat.item;
INSERT INTO brickcat.item (item_type, item_no) VALUES ('PART', '3001');
DELETE FROM brickcat.fetch_queue;
SELECT brickcat.apply_access_rules();
SELECT * FROM brickcat.access_rule;
INSERT INTO brickcat.tenant_member VALUES ('regress_t', 'regress_app');
SET brickcat.clock_offset = '1 day';
SET ROLE regress_ops;
SELECT count(*) > 0 AS admin_reads_rules FROM brickcat.access_rule;
SELECT brickcat.freshness(NULL) AS admin_reads;
SELECT brickcat.apply_access_rules();
UPDATE brickcat.access_rule SET reader = '{EXECUTE}';
TRUNCATE brickcat.fetch_queue;
RESET ROLE;
\set VERBOSITY default

-- Re-applying the rules changes nothing; a new routine gets admin-only EXECUTE.
CREATE TEMP TABLE acl_before AS
SELECT c.oid::regclass::text AS obj, c.relacl::text AS acl FROM pg_class c
 WHERE c.relnamespace = 'brickcat'::regnamespace
UNION ALL
SELECT p.oid::regprocedure::text, p.proacl::text FROM pg_proc p
 WHERE p.pronamespace = 'brickcat'::regnamespace;
SELECT brickcat.apply_access_rules();
SELECT b.obj AS acl_changed
  FROM acl_before b
  LEFT JOIN (SELECT c.oid::regclass::text AS obj, c.relacl::text AS acl FROM pg_class c
              WHERE c.relnamespace = 'brickcat'::regnamespace
             UNION ALL
             SELECT p.oid::regprocedure::text, p.proacl::text FROM pg_proc p
              WHERE p.pronamespace = 'brickcat'::regnamespace) a USING (obj)
 WHERE a.acl IS DISTINCT FROM b.acl;

CREATE FUNCTION brickcat.regress_new_admin_thing(int) RETURNS int
    LANGUAGE sql IMMUTABLE AS 'SELECT $1';
SELECT brickcat.apply_access_rules();
SELECT has_function_privilege('brickcat_admin', 'brickcat.regress_new_admin_thing(int)', 'EXECUTE') AS admin,
       has_function_privilege('brickcat_reader', 'brickcat.regress_new_admin_thing(int)', 'EXECUTE') AS reader,
       has_function_privilege('regress_nobody', 'brickcat.regress_new_admin_thing(int)', 'EXECUTE') AS nobody;
DROP FUNCTION brickcat.regress_new_admin_thing(int);

-- A SECURITY DEFINER function without a pinned search_path is caught.
CREATE FUNCTION brickcat.regress_unpinned() RETURNS int
    LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
SELECT p.oid::regprocedure AS definer_without_pinned_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'brickcat'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                    WHERE c ~ '^search_path=pg_catalog, (brickcat, )?pg_temp$');
DROP FUNCTION brickcat.regress_unpinned();

DROP ROLE regress_app, regress_ops, regress_nobody;
