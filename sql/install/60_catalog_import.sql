-------------------------------------------------------------------------------
-- Bulk import of BrickLink catalog downloads (src/import.c, src/import_parse.c)
-------------------------------------------------------------------------------
CREATE TABLE brickcat.item_type (
    type_code   text PRIMARY KEY,
    type_name   text NOT NULL,
    item_type   text,
    fetched_at  timestamptz,
    origin      brickcat.origin NOT NULL DEFAULT 'import'
);
COMMENT ON TABLE brickcat.item_type IS
  'BrickLink item types from the catalog download: letter code (P), BrickLink''s name (Part) and the API''s type name (PART)';

CREATE TABLE brickcat.item_code (
    element_id  text PRIMARY KEY,
    item_type   text NOT NULL,
    item_no     text NOT NULL,
    color_name  text,
    color_id    integer,
    fetched_at  timestamptz,
    origin      brickcat.origin NOT NULL DEFAULT 'import'
);
COMMENT ON TABLE brickcat.item_code IS
  'LEGO element ids from BrickLink''s codes download: item, color (by name as BrickLink gives it, and its id when brickcat.color knows the name) and element id';
CREATE INDEX item_code_item_idx ON brickcat.item_code (item_type, item_no);
COMMENT ON INDEX brickcat.item_code_item_idx IS 'Element ids of an item';

CREATE FUNCTION brickcat.import_session() RETURNS text
    AS 'MODULE_PATHNAME', 'bc_import_session_sql' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.import_session() IS
  'Identifies this session in brickcat.import_staging (backend pid and start time, so a reused pid never sees old lines)';

CREATE UNLOGGED TABLE brickcat.import_staging (
    line_no  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session  text NOT NULL DEFAULT brickcat.import_session(),
    line     text
);
COMMENT ON TABLE brickcat.import_staging IS
  'Client-side imports: \copy brickcat.import_staging (line) FROM ''file'' WITH (FORMAT csv, DELIMITER E''\x1f'', QUOTE E''\x1e''), then SELECT * FROM brickcat.import_staged(); each session sees only its own lines';
COMMENT ON SEQUENCE brickcat.import_staging_line_no_seq IS 'Line order of brickcat.import_staging';
CREATE INDEX import_staging_session_idx ON brickcat.import_staging (session);
COMMENT ON INDEX brickcat.import_staging_session_idx IS 'A session''s staged lines';
ALTER TABLE brickcat.import_staging ENABLE ROW LEVEL SECURITY;
CREATE POLICY import_staging_own ON brickcat.import_staging
    USING (session = brickcat.import_session())
    WITH CHECK (session = brickcat.import_session());
COMMENT ON POLICY import_staging_own ON brickcat.import_staging IS 'A session sees and consumes only the lines it staged';
GRANT SELECT, INSERT, DELETE ON brickcat.import_staging TO PUBLIC;
GRANT USAGE ON SEQUENCE brickcat.import_staging_line_no_seq TO PUBLIC;

CREATE FUNCTION brickcat.import_catalog(path text, kind text DEFAULT NULL)
    RETURNS TABLE (kind text, inserted bigint, updated bigint, unchanged bigint, rejected bigint)
    AS 'MODULE_PATHNAME', 'bc_import_catalog_sql' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.import_catalog(text, text) IS
  'Imports a BrickLink catalog download (XML or tab-delimited: colors, categories, itemtypes, items, codes; kind detected when NULL, or parts/sets/minifigs... for item files without a type) from a server file, dated by its mtime; superusers and pg_read_server_files only. rejected = rows kept because the catalog holds newer data, or repeated in the file';

CREATE FUNCTION brickcat.import_staged(kind text DEFAULT NULL, fetched_at timestamptz DEFAULT NULL)
    RETURNS TABLE (kind text, inserted bigint, updated bigint, unchanged bigint, rejected bigint)
    AS 'MODULE_PATHNAME', 'bc_import_staged_sql' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION brickcat.import_staged(text, timestamptz) IS
  'Imports the catalog download this session copied into brickcat.import_staging (and removes it), dated fetched_at (default: now); same formats and counts as brickcat.import_catalog';
