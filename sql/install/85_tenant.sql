-------------------------------------------------------------------------------
-- Tenant overlays: business-specific attributes on top of the global catalog
--
-- The catalog tables carry no tenant column.  A tenant's own data about an
-- item (notes, tags, where it is sorted, free-form attributes) lives in
-- brickcat.tenant_item, keyed by (tenant, item_type, item_no).  Which tenants
-- a role acts for comes from brickcat.tenant_member, which only brickcat_admin
-- writes.  Row-level security, forced so the table owner is bound too, lets a
-- role see and change only the overlay rows of tenants it is a member of
-- (pg_has_role ... 'MEMBER'); there is no setting a tenant could change to
-- switch tenants.  Privileges are granted in 90_security.sql.
-------------------------------------------------------------------------------
CREATE TABLE brickcat.tenant_member (
    tenant     text NOT NULL CHECK (tenant <> '' AND length(tenant) <= 63),
    role_name  name NOT NULL,
    PRIMARY KEY (tenant, role_name)
);
COMMENT ON TABLE brickcat.tenant_member IS
  'Which roles act for which tenant: members of role_name (pg_has_role MEMBER) see and write the tenant''s overlay rows; only brickcat_admin writes this table';
COMMENT ON COLUMN brickcat.tenant_member.role_name IS
  'A role (or group role); every role that is a member of it acts for the tenant. Rows naming a dropped role grant nothing';
CREATE INDEX tenant_member_role_idx ON brickcat.tenant_member (role_name);
COMMENT ON INDEX brickcat.tenant_member_role_idx IS 'Looks up the tenants of a role';

CREATE TABLE brickcat.tenant_item (
    tenant      text NOT NULL CHECK (tenant <> '' AND length(tenant) <= 63),
    item_type   text NOT NULL
                CHECK (item_type IN ('PART', 'SET', 'MINIFIG', 'BOOK', 'GEAR', 'CATALOG',
                                     'INSTRUCTION', 'UNSORTED_LOT', 'ORIGINAL_BOX')),
    item_no     text NOT NULL CHECK (item_no <> '' AND length(item_no) <= 64),
    notes       text,
    tags        text[] NOT NULL DEFAULT '{}' CHECK (array_position(tags, NULL) IS NULL),
    sort_grid   text,
    sort_bin    text,
    attributes  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, item_type, item_no)
);
COMMENT ON TABLE brickcat.tenant_item IS
  'A tenant''s overlay on a catalog item: notes, tags, sort grid and bin, free-form attributes; row-level security (forced) limits every role to the tenants it is a member of';
COMMENT ON COLUMN brickcat.tenant_item.tenant IS 'The tenant the row belongs to (see brickcat.tenant_member)';
COMMENT ON COLUMN brickcat.tenant_item.tags IS 'Free tags, e.g. {bulk,moc-42}; indexed for tags @> queries';
COMMENT ON COLUMN brickcat.tenant_item.sort_grid IS 'Sorting system or grid the tenant keeps the item in';
COMMENT ON COLUMN brickcat.tenant_item.sort_bin IS 'Bin or drawer within the grid';
COMMENT ON COLUMN brickcat.tenant_item.attributes IS 'Free-form attributes as a JSON object';
COMMENT ON COLUMN brickcat.tenant_item.updated_at IS 'Last change of the row, kept by a trigger';
CREATE INDEX tenant_item_tags_idx ON brickcat.tenant_item USING gin (tags);
COMMENT ON INDEX brickcat.tenant_item_tags_idx IS 'Finds a tenant''s items by tag (tags @> ARRAY[...])';
CREATE INDEX tenant_item_bin_idx ON brickcat.tenant_item (tenant, sort_grid, sort_bin);
COMMENT ON INDEX brickcat.tenant_item_bin_idx IS 'Lists what a tenant keeps in a grid or bin';

CREATE FUNCTION brickcat.tenant_item_touch() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION brickcat.tenant_item_touch() IS
  'Trigger: sets brickcat.tenant_item.updated_at on every update';
CREATE TRIGGER tenant_item_touch BEFORE UPDATE ON brickcat.tenant_item
    FOR EACH ROW EXECUTE FUNCTION brickcat.tenant_item_touch();
COMMENT ON TRIGGER tenant_item_touch ON brickcat.tenant_item IS 'Keeps updated_at current';

-- Security invoker on purpose: pg_has_role(current_user ...) must see the
-- calling role, which a SECURITY DEFINER function would replace by its owner.
CREATE FUNCTION brickcat.current_tenants() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(pg_catalog.array_agg(DISTINCT m.tenant ORDER BY m.tenant), '{}')
      FROM brickcat.tenant_member m
      JOIN pg_catalog.pg_roles r ON r.rolname = m.role_name
     WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
$$;
COMMENT ON FUNCTION brickcat.current_tenants() IS
  'The tenants the current role acts for: those with a brickcat.tenant_member row naming a role it is a member of';

ALTER TABLE brickcat.tenant_member ENABLE ROW LEVEL SECURITY;
ALTER TABLE brickcat.tenant_member FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_member_own ON brickcat.tenant_member FOR SELECT
    USING (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname = role_name
                      AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')));
COMMENT ON POLICY tenant_member_own ON brickcat.tenant_member IS
  'A role sees the memberships it holds itself (directly or through group roles)';
CREATE POLICY tenant_member_admin ON brickcat.tenant_member
    USING (pg_catalog.pg_has_role(current_user, 'brickcat_admin', 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(current_user, 'brickcat_admin', 'MEMBER'));
COMMENT ON POLICY tenant_member_admin ON brickcat.tenant_member IS
  'brickcat_admin sees and manages every membership';

ALTER TABLE brickcat.tenant_item ENABLE ROW LEVEL SECURITY;
ALTER TABLE brickcat.tenant_item FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_item_member ON brickcat.tenant_item
    USING (tenant = ANY ((SELECT brickcat.current_tenants())::text[]))
    WITH CHECK (tenant = ANY ((SELECT brickcat.current_tenants())::text[]));
COMMENT ON POLICY tenant_item_member ON brickcat.tenant_item IS
  'Rows of the tenants the current role is a member of, for reading and writing alike';

CREATE VIEW brickcat.my_items WITH (security_invoker = true) AS
SELECT o.tenant, o.item_type, o.item_no,
       i.name, i.category_id, c.category_name, i.weight, i.dim_x, i.dim_y, i.dim_z,
       i.decoration, i.is_obsolete, i.image_url,
       brickcat.freshness(i.fetched_at) AS freshness,
       o.notes, o.tags, o.sort_grid, o.sort_bin, o.attributes, o.updated_at
  FROM brickcat.tenant_item o
  LEFT JOIN brickcat.item i ON i.item_type = o.item_type AND i.item_no = o.item_no
  LEFT JOIN brickcat.category c ON c.category_id = i.category_id;
COMMENT ON VIEW brickcat.my_items IS
  'The current role''s tenant overlays joined with the global catalog (catalog columns NULL until the item is fetched); security_invoker, so row-level security applies to the caller';
