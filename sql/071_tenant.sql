-- Tenant overlays: two tenants, neither can read, insert, update or delete the
-- other's overlay rows, directly, through the view, or through any function.
-- Membership comes from brickcat.tenant_member, which only admins write.

-- Forced row-level security on both tables; the view runs as its caller.
SELECT relname, relrowsecurity, relforcerowsecurity
  FROM pg_class WHERE oid IN ('brickcat.tenant_item'::regclass, 'brickcat.tenant_member'::regclass)
 ORDER BY 1;
SELECT reloptions FROM pg_class WHERE oid = 'brickcat.my_items'::regclass;
-- No SECURITY DEFINER function touches the overlay tables (it would read them as its owner).
SELECT p.oid::regprocedure AS definer_touching_overlays
  FROM pg_proc p
 WHERE p.pronamespace = 'brickcat'::regnamespace AND p.prosecdef
   AND p.prosrc ~* 'tenant';

-- The global catalog: one item, shared by everybody.
INSERT INTO brickcat.category VALUES (5, 'Brick', 0, now(), 'import');
INSERT INTO brickcat.item (item_type, item_no, name, category_id, weight, fetched_at)
VALUES ('PART', '3001', 'Brick 2 x 4', 5, 2.32, now()),
       ('PART', '3003', 'Brick 2 x 2', 5, 1.17, now());

CREATE ROLE regress_tenant_a LOGIN IN ROLE brickcat_reader;
CREATE ROLE regress_tenant_a2 LOGIN IN ROLE regress_tenant_a;  -- acts for a through a group
CREATE ROLE regress_tenant_b LOGIN IN ROLE brickcat_reader;
CREATE ROLE regress_tenant_admin LOGIN IN ROLE brickcat_admin;
\set VERBOSITY terse

-- The admin manages memberships; a row naming a missing role grants nothing.
SET SESSION AUTHORIZATION regress_tenant_admin;
INSERT INTO brickcat.tenant_member (tenant, role_name) VALUES
    ('acme', 'regress_tenant_a'), ('bricko', 'regress_tenant_b'), ('ghost', 'regress_no_such_role');
SELECT tenant, role_name FROM brickcat.tenant_member ORDER BY 1;
SELECT brickcat.current_tenants() AS admin_tenants;
SELECT count(*) AS admin_sees_overlays FROM brickcat.tenant_item;

-- Tenant a keeps its overlays; it cannot write rows for b.
SET SESSION AUTHORIZATION regress_tenant_a;
SELECT brickcat.current_tenants() AS a_tenants;
INSERT INTO brickcat.tenant_item (tenant, item_type, item_no, notes, tags, sort_grid, sort_bin, attributes)
VALUES ('acme', 'PART', '3001', 'a''s note', '{bulk,red}', 'wall', 'A1', '{"min_qty": 50}'),
       ('acme', 'PART', '3710', 'not fetched yet', '{}', 'wall', 'A2', '{}');
INSERT INTO brickcat.tenant_item (tenant, item_type, item_no, notes)
VALUES ('bricko', 'PART', '3001', 'a writes into b');
INSERT INTO brickcat.tenant_member VALUES ('bricko', 'regress_tenant_a');
INSERT INTO brickcat.tenant_member VALUES ('acme', 'regress_tenant_b');
UPDATE brickcat.tenant_member SET role_name = 'regress_tenant_a' WHERE tenant = 'bricko';

-- Tenant b keeps its own.
SET SESSION AUTHORIZATION regress_tenant_b;
INSERT INTO brickcat.tenant_item (tenant, item_type, item_no, notes, tags, sort_grid, sort_bin)
VALUES ('bricko', 'PART', '3001', 'b''s secret note', '{sell}', 'shelf', 'B7'),
       ('bricko', 'PART', '3003', 'b only', '{}', 'shelf', 'B8');
SELECT tenant, role_name FROM brickcat.tenant_member ORDER BY 1;

-- a sees only its own rows, directly, through the view and through COPY.
SET SESSION AUTHORIZATION regress_tenant_a;
SELECT tenant, item_no, notes, tags FROM brickcat.tenant_item ORDER BY 1, 2;
SELECT tenant, item_no, name, category_name, freshness, notes, sort_grid, sort_bin, attributes
  FROM brickcat.my_items ORDER BY 1, 2;
SELECT count(*) AS a_sees_b FROM brickcat.tenant_item WHERE tenant = 'bricko';
SELECT count(*) AS a_sees_b_in_view FROM brickcat.my_items WHERE notes LIKE 'b%';
COPY brickcat.tenant_item (tenant, item_no) TO STDOUT;
SELECT tenant, role_name FROM brickcat.tenant_member ORDER BY 1;
-- ... and cannot change or delete b's rows, nor move its own rows to b.
UPDATE brickcat.tenant_item SET notes = 'a was here' WHERE tenant = 'bricko' RETURNING *;
DELETE FROM brickcat.tenant_item WHERE tenant = 'bricko' RETURNING *;
UPDATE brickcat.tenant_item SET tenant = 'bricko' WHERE item_no = '3710';
INSERT INTO brickcat.tenant_item (tenant, item_type, item_no) VALUES ('acme', 'PART', '3001')
    ON CONFLICT (tenant, item_type, item_no) DO UPDATE SET tenant = 'bricko';
TRUNCATE brickcat.tenant_item;
-- A setting does not switch tenants; neither does SET ROLE to a role a is not.
SELECT set_config('app.tenant', 'bricko', false) IS NOT NULL AS set_app_tenant;
SELECT count(*) AS a_sees_b_after_setting FROM brickcat.tenant_item WHERE tenant = 'bricko';
SET ROLE regress_tenant_b;
-- a member of a's group acts for a, and only for a.
SET SESSION AUTHORIZATION regress_tenant_a2;
SELECT tenant, item_no FROM brickcat.my_items ORDER BY 1, 2;
-- a can change its own rows; updated_at moves.
SET SESSION AUTHORIZATION regress_tenant_a;
UPDATE brickcat.tenant_item SET notes = 'a''s new note', tags = tags || 'checked'::text
 WHERE item_no = '3001' RETURNING tenant, notes, tags, updated_at >= created_at AS touched;

-- b still has its two rows, untouched.
SET SESSION AUTHORIZATION regress_tenant_b;
SELECT tenant, item_no, notes FROM brickcat.tenant_item ORDER BY 1, 2;
SELECT count(*) AS b_sees_a FROM brickcat.my_items WHERE tenant = 'acme';
DELETE FROM brickcat.tenant_item WHERE tenant = 'acme' RETURNING *;

-- Removing a's membership takes its rows out of its sight at once.
SET SESSION AUTHORIZATION regress_tenant_admin;
DELETE FROM brickcat.tenant_member WHERE role_name = 'regress_tenant_a';
SET SESSION AUTHORIZATION regress_tenant_a;
SELECT count(*) AS a_rows_after_removal FROM brickcat.tenant_item;
SELECT brickcat.current_tenants() AS a_tenants_after_removal;
RESET SESSION AUTHORIZATION;

-- Forced row-level security binds a table owner that is not a superuser.
CREATE ROLE regress_overlay_owner IN ROLE brickcat_reader;
ALTER TABLE brickcat.tenant_item OWNER TO regress_overlay_owner;
SET ROLE regress_overlay_owner;
SELECT count(*) AS owner_sees FROM brickcat.tenant_item;
RESET ROLE;
ALTER TABLE brickcat.tenant_item OWNER TO CURRENT_USER;
-- A superuser sees everything.
SELECT tenant, count(*) FROM brickcat.tenant_item GROUP BY 1 ORDER BY 1;
\set VERBOSITY default

DELETE FROM brickcat.tenant_item;
DELETE FROM brickcat.tenant_member;
DELETE FROM brickcat.item WHERE item_no IN ('3001', '3003');
DELETE FROM brickcat.category WHERE category_id = 5;
DROP ROLE regress_tenant_a2, regress_tenant_a, regress_tenant_b, regress_tenant_admin,
          regress_overlay_owner;
