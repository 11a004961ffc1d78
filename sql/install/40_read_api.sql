-------------------------------------------------------------------------------
-- The cache-first read API (src/read_*.c)
-------------------------------------------------------------------------------
CREATE TYPE brickcat.item_read AS (
    item_type       text,
    item_no         text,
    name            text,
    category_id     integer,
    alternate_no    text,
    image_url       text,
    thumbnail_url   text,
    weight          numeric,
    dim_x           numeric,
    dim_y           numeric,
    dim_z           numeric,
    year_released   smallint,
    is_obsolete     boolean,
    decoration      brickcat.decoration,
    is_printed      boolean,
    description     text,
    language_code   text,
    fetched_at      timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    origin          brickcat.origin,
    color_ids       integer[],
    freshness       brickcat.freshness,
    source          text,
    next_refresh_at timestamptz,
    error_code      text,
    error_message   text
);
COMMENT ON TYPE brickcat.item_read IS
  'A catalog item as the read API serves it: the columns of brickcat.item, the ids of its known colors (NULL until fetched), and the annotations freshness, source, next_refresh_at, error_code, error_message';

CREATE TYPE brickcat.price_read AS (
    item_type       text,
    item_no         text,
    color_id        integer,
    guide_type      text,
    condition       char(1),
    currency        char(3),
    min_price       numeric(12,4),
    max_price       numeric(12,4),
    avg_price       numeric(12,4),
    qty_avg_price   numeric(12,4),
    unit_quantity   integer,
    total_quantity  integer,
    has_sales       boolean,
    fetched_at      timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    freshness       brickcat.freshness,
    source          text,
    next_refresh_at timestamptz,
    error_code      text,
    error_message   text
);
COMMENT ON TYPE brickcat.price_read IS
  'A price guide as the read API serves it: the columns of brickcat.price_guide and the annotations';

CREATE TYPE brickcat.known_color_read AS (
    color_id        integer,
    color_name      text,
    rgb             text,
    quantity        integer,
    freshness       brickcat.freshness,
    source          text,
    fetched_at      timestamptz,
    next_refresh_at timestamptz,
    error_code      text,
    error_message   text
);
COMMENT ON TYPE brickcat.known_color_read IS
  'One known color of an item (id, name, hex RGB, BrickLink quantity) with the annotations of the item''s color list';

CREATE FUNCTION brickcat.get_item(item_no text, item_type text DEFAULT 'PART',
                                  wait interval DEFAULT NULL)
    RETURNS brickcat.item_read
    AS 'MODULE_PATHNAME', 'bc_get_item_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.get_item(text, text, interval) IS
  'Cache-first item lookup: fresh -> cache; stale -> served, refreshed in the background; expired or missing -> fetched on demand, waiting at most wait (NULL: brickcat.read_wait, 0: never block); says what it served in source/error_code';

CREATE FUNCTION brickcat.part(item_no text)
    RETURNS brickcat.item_read
    AS 'MODULE_PATHNAME', 'bc_part_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.part(text) IS
  'Shorthand for brickcat.get_item(item_no, ''PART'')';

CREATE FUNCTION brickcat.get_price(item_no text, color_id integer DEFAULT 0,
                                   guide_type text DEFAULT 'sold', condition text DEFAULT 'N',
                                   item_type text DEFAULT 'PART', wait interval DEFAULT NULL)
    RETURNS brickcat.price_read
    AS 'MODULE_PATHNAME', 'bc_get_price_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION brickcat.get_price(text, integer, text, text, text, interval) IS
  'Cache-first price guide lookup (color 0 = all colors; guide_type sold|stock; condition N|U), with the same freshness rules and annotations as brickcat.get_item';

CREATE FUNCTION brickcat.get_known_colors(item_no text, item_type text DEFAULT 'PART',
                                          wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.known_color_read
    AS 'MODULE_PATHNAME', 'bc_get_known_colors_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION brickcat.get_known_colors(text, text, interval) IS
  'Cache-first list of the colors an item comes in: one row per color; a single row with NULL color columns when no color is known (see source and error_message)';

CREATE FUNCTION brickcat.get_items(item_nos text[], item_type text DEFAULT 'PART',
                                   wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.item_read
    AS 'MODULE_PATHNAME', 'bc_get_items_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.get_items(text[], text, interval) IS
  'Batch brickcat.get_item: one row per element in input order; every key needing a fetch is requested at once and the whole call waits at most wait';

CREATE FUNCTION brickcat.get_prices(item_nos text[], color_id integer DEFAULT 0,
                                    guide_type text DEFAULT 'sold', condition text DEFAULT 'N',
                                    item_type text DEFAULT 'PART', wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.price_read
    AS 'MODULE_PATHNAME', 'bc_get_prices_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.get_prices(text[], integer, text, text, text, interval) IS
  'Batch brickcat.get_price, one color for all items: one row per element in input order, waiting at most wait in total';

CREATE FUNCTION brickcat.get_prices(item_nos text[], color_ids integer[],
                                    guide_type text DEFAULT 'sold', condition text DEFAULT 'N',
                                    item_type text DEFAULT 'PART', wait interval DEFAULT NULL)
    RETURNS SETOF brickcat.price_read
    AS 'MODULE_PATHNAME', 'bc_get_prices_colors_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.get_prices(text[], integer[], text, text, text, interval) IS
  'Batch brickcat.get_price with one color per item: color_ids[i] is the color of item_nos[i] (for inventories of lots)';

CREATE FUNCTION brickcat.validate_freshness(item_nos text[], item_type text DEFAULT 'PART')
    RETURNS TABLE (item_no text, dataset text, target text, freshness brickcat.freshness,
                   fetched_at timestamptz, next_refresh_at timestamptz, queued text,
                   note text)
    AS 'MODULE_PATHNAME', 'bc_validate_freshness_sql' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION brickcat.validate_freshness(text[], text) IS
  'Per item: freshness of its data, known colors and each stored price guide, when each is due, and the refresh it queued (background for stale, on_demand for expired or missing); never waits';
