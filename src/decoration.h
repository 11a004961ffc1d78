/*-------------------------------------------------------------------------
 *
 * decoration.h
 *	  Plain, printed or stickered: derived from a BrickLink item number, its
 *	  name and its category name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_DECORATION_H
#define BC_DECORATION_H

typedef enum BcDecoration
{
	BC_DECO_PLAIN = 0,
	BC_DECO_PRINTED,
	BC_DECO_STICKER,
	BC_DECO_COUNT
} BcDecoration;

/* Any argument may be NULL; the others still decide. */
extern BcDecoration bc_decoration_classify(const char *item_no, const char *name,
										   const char *category_name);
extern bool bc_decoration_number_is_printed(const char *item_no);
extern const char *bc_decoration_name(BcDecoration d);
extern Datum bc_decoration_datum(BcDecoration d);

#endif							/* BC_DECORATION_H */
