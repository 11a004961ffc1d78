-------------------------------------------------------------------------------
-- Roles and privileges (keep this piece LAST: it grants on everything above)
--
-- brickcat_reader  calls the read functions, reads the catalog and the views,
--                  and keeps its tenants' overlays (row-level security).
-- brickcat_admin   is a brickcat_reader that may also queue refreshes, define
--                  rate limits, import, schedule sweeps and manage tenant
--                  memberships: EXECUTE on every function not kept back.
-- PUBLIC           gets nothing: not even USAGE on schema brickcat.
--
-- Privileges are driven by brickcat.access_rule and a default per object
-- kind, so a function added by any install piece gets admin-only EXECUTE
-- unless the rule table says otherwise.  Roles are cluster-wide: created here
-- only when missing, NOLOGIN, and left in place by DROP EXTENSION.
-------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'brickcat_reader') THEN
        CREATE ROLE brickcat_reader NOLOGIN;
        COMMENT ON ROLE brickcat_reader IS
          'brickcat: may call the read functions, read the catalog and views, and keep its tenants'' overlays';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'brickcat_admin') THEN
        CREATE ROLE brickcat_admin NOLOGIN;
        COMMENT ON ROLE brickcat_admin IS
          'brickcat: everything brickcat_reader may, plus queueing refreshes, rate limits, imports, sweeps and tenant memberships';
    END IF;
    IF NOT pg_catalog.pg_has_role('brickcat_admin', 'brickcat_reader', 'MEMBER') THEN
        GRANT brickcat_reader TO brickcat_admin;
    END IF;
END
$$;

CREATE TABLE brickcat.access_rule (
    kind        text NOT NULL CHECK (kind IN ('routine', 'relation')),
    object_name text NOT NULL CHECK (object_name ~ '^[a-z][a-z0-9_]*$'),
    reader      text[] NOT NULL DEFAULT '{}'
                CHECK (reader <@ ARRAY['EXECUTE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'USAGE']),
    admin       text[] NOT NULL DEFAULT '{}'
                CHECK (admin <@ ARRAY['EXECUTE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'USAGE']),
    why         text NOT NULL,
    PRIMARY KEY (kind, object_name)
);
COMMENT ON TABLE brickcat.access_rule IS
  'Privileges of brickcat_reader and brickcat_admin (on top of the reader''s) on named brickcat objects, all overloads of a function alike; objects without a rule get the default of their kind (see brickcat.apply_access_rules)';
COMMENT ON COLUMN brickcat.access_rule.kind IS 'routine (functions, procedures, aggregates: all overloads) or relation (tables, views, sequences)';
COMMENT ON COLUMN brickcat.access_rule.reader IS 'Privileges granted to brickcat_reader (and through it to brickcat_admin)';
COMMENT ON COLUMN brickcat.access_rule.admin IS 'Privileges granted to brickcat_admin in addition';
COMMENT ON COLUMN brickcat.access_rule.why IS 'Why the object gets these privileges';

INSERT INTO brickcat.access_rule (kind, object_name, reader, admin, why) VALUES
    -- read API: what applications call
    ('routine',  'now',                '{EXECUTE}', '{}', 'read: the clock'),
    ('routine',  'freshness',          '{EXECUTE}', '{}', 'read: freshness classification'),
    ('routine',  'next_refresh_at',    '{EXECUTE}', '{}', 'read: freshness classification'),
    ('routine',  'status',             '{EXECUTE}', '{}', 'read: extension state'),
    ('routine',  'decoration',         '{EXECUTE}', '{}', 'read: decoration of a name'),
    ('routine',  'get_item',           '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_items',          '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_price',          '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_prices',         '{EXECUTE}', '{}', 'read API'),
    ('routine',  'get_known_colors',   '{EXECUTE}', '{}', 'read API'),
    ('routine',  'validate_freshness', '{EXECUTE}', '{}', 'read API'),
    ('routine',  'part',               '{EXECUTE}', '{}', 'read API'),
    ('routine',  'record_demand',      '{EXECUTE}', '{}', 'read: applications report reads they serve themselves'),
    ('routine',  'demand_score',       '{EXECUTE}', '{}', 'read: the view brickcat.demand calls it'),
    ('routine',  'demand_dropped',     '{EXECUTE}', '{}', 'metrics: reads not counted as demand'),
    ('routine',  'stat_cache',         '{EXECUTE}', '{}', 'metrics: behind the view brickcat.stat_cache'),
    ('routine',  'stat_freshness',     '{EXECUTE}', '{}', 'metrics: behind the view brickcat.stat_freshness'),
    ('routine',  'upstream_state',     '{EXECUTE}', '{}', 'metrics: behind the view brickcat.stat_upstream'),
    ('routine',  'current_tenants',    '{EXECUTE}', '{}', 'tenant overlays: the row-level security policy calls it as the caller'),
    -- tenant overlays: row-level security decides which rows
    ('relation', 'tenant_item',        '{SELECT,INSERT,UPDATE,DELETE}', '{}', 'tenant overlays, bound by forced row-level security'),
    ('relation', 'tenant_member',      '{SELECT}', '{INSERT,UPDATE,DELETE}', 'memberships: a role sees its own, only admins write'),
    -- owner only
    ('routine',  'apply_access_rules', '{}', '{}', 'grants privileges: superuser only'),
    ('relation', 'access_rule',        '{}', '{SELECT}', 'the rules themselves: admins may read them');

CREATE FUNCTION brickcat.apply_access_rules() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
    g record;
BEGIN
    REVOKE ALL ON SCHEMA brickcat FROM PUBLIC;
    GRANT USAGE ON SCHEMA brickcat TO brickcat_reader;
    REVOKE ALL ON ALL ROUTINES IN SCHEMA brickcat FROM PUBLIC, brickcat_reader, brickcat_admin;
    REVOKE ALL ON ALL TABLES IN SCHEMA brickcat FROM PUBLIC, brickcat_reader, brickcat_admin;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA brickcat FROM PUBLIC, brickcat_reader, brickcat_admin;

    FOR o IN
        SELECT k.kind, k.ident,
               coalesce(r.reader, CASE WHEN k.kind = 'TABLE' THEN '{SELECT}'::text[]
                                       ELSE '{}'::text[] END) AS reader,
               coalesce(r.admin, CASE WHEN k.kind = 'ROUTINE' THEN '{EXECUTE}'::text[]
                                      WHEN k.kind = 'SEQUENCE' THEN '{USAGE,SELECT}'::text[]
                                      WHEN k.is_view THEN '{}'::text[]
                                      ELSE '{INSERT,UPDATE,DELETE}'::text[] END) AS admin,
               CASE k.kind WHEN 'ROUTINE' THEN '{EXECUTE}'::text[]
                           WHEN 'SEQUENCE' THEN '{USAGE,SELECT}'::text[]
                           ELSE '{SELECT,INSERT,UPDATE,DELETE}'::text[] END AS valid
          FROM (SELECT 'ROUTINE' AS kind, 'routine' AS rule_kind, p.proname::text AS name,
                       p.oid::regprocedure::text AS ident, false AS is_view
                  FROM pg_proc p
                 WHERE p.pronamespace = 'brickcat'::regnamespace
                UNION ALL
                SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, 'relation',
                       c.relname::text, c.oid::regclass::text, c.relkind IN ('v', 'm')
                  FROM pg_class c
                 WHERE c.relnamespace = 'brickcat'::regnamespace
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')) k
          LEFT JOIN brickcat.access_rule r ON r.kind = k.rule_kind AND r.object_name = k.name
    LOOP
        FOR g IN
            SELECT v.grantee, ARRAY(SELECT p FROM unnest(v.privs) p WHERE p = ANY (o.valid)) AS privs
              FROM (VALUES ('brickcat_reader', o.reader), ('brickcat_admin', o.admin)) v(grantee, privs)
        LOOP
            IF cardinality(g.privs) > 0 THEN
                EXECUTE format('GRANT %s ON %s %s TO %I', array_to_string(g.privs, ', '),
                               o.kind, o.ident, g.grantee);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION brickcat.apply_access_rules() IS
  'Re-grants every privilege in schema brickcat from brickcat.access_rule and the defaults (functions: admin EXECUTE; tables: reader SELECT, admin writes; views: reader SELECT; sequences: admin); PUBLIC gets nothing. Superuser only; upgrade scripts call it last';

SELECT brickcat.apply_access_rules();
