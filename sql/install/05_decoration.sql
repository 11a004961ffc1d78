-------------------------------------------------------------------------------
-- Decoration: plain, printed or sticker (src/decoration.c)
-------------------------------------------------------------------------------
CREATE FUNCTION brickcat.decoration(item_no text, name text, category_name text)
    RETURNS brickcat.decoration
    AS 'MODULE_PATHNAME', 'bc_decoration_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION brickcat.decoration(text, text, text) IS
  'plain, printed or sticker, from BrickLink numbering (pattern constants pb, px, p after a base number), the name (Sticker beats Pattern/Print) and the category (", Decorated", ", Decor."); NULL arguments are skipped, all NULL gives NULL';
