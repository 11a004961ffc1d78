/*-------------------------------------------------------------------------
 *
 * decoration.c
 *	  brickcat.decoration(item_no, name, category_name): plain, printed or
 *	  sticker, derived from BrickLink's numbering, the name and the category.
 *
 * BrickLink numbers a decorated variant as base number + pattern constant +
 * sequence.  The rules, checked against the 69,833 real part numbers in
 * ../shared/data (see sql/010_decoration.sql):
 *
 *	 1. "pb" or "px" followed by a digit anywhere after the first character:
 *		BrickLink's own patterns (also stickered parts) and Peeron's
 *		(3070bpb01, 973pb10c01, 970c00pb0001, FTGpb001c01, x66px1).
 *	 2. "p" followed by a digit, when the base before it ends in a digit or in
 *		one letter right after a digit: LDraw's patterns (3070p01, 3626bp01).
 *		That rule keeps words that merely contain a "p" out: dup002,
 *		minesheep01, bp01.
 *	 3. "p", one to three lower-case letters, then a digit or an upper-case
 *		letter, on the same kind of base: the older Peeron theme codes
 *		(3039ps1, 3005ptE, 973pn1c01, 973psqc01).  Words such as 3137open,
 *		43853posa, 9221park or 3001special do not match.  Codes ending in
 *		letters only (973psm, 3626bpse) are left to the name.
 *
 * The name decides next: a word starting "sticker" ("(Sticker)", "Sticker
 * Sheet", "Stickered") makes it a sticker, which beats every printed
 * indication; a word starting "pattern" or "print" (BrickLink says Pattern,
 * LEGO and Rebrickable say Print) makes it printed.  So does a category whose
 * name ends ", Decorated" or ", Decor."; a category naming stickers makes it a
 * sticker.  Unknown (NULL) arguments are skipped; with all three NULL the
 * result is NULL.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "decoration.h"
#include "enumcache.h"

static const char *const bc_decoration_names[BC_DECO_COUNT] = {
	"plain", "printed", "sticker"
};

static BcEnumCache bc_decoration_enum =
BC_ENUMCACHE_INIT("decoration", bc_decoration_names, BC_DECO_COUNT);

/*
 * bc_deco_base_ok says whether the characters before position i form a base
 * number a pattern constant can follow: ending in a digit, or in one letter
 * right after a digit.
 */
static bool
bc_deco_base_ok(const char *s, size_t i)
{
	if (i == 0)
		return false;
	if (isdigit((unsigned char) s[i - 1]))
		return true;
	return i >= 2 && isalpha((unsigned char) s[i - 1]) &&
		isdigit((unsigned char) s[i - 2]);
}

/*
 * bc_decoration_number_is_printed says whether an item number carries a
 * pattern constant (rules 1 to 3 in the file header).
 */
bool
bc_decoration_number_is_printed(const char *no)
{
	size_t		len;

	if (no == NULL)
		return false;
	len = strlen(no);
	for (size_t i = 1; i + 1 < len; i++)
	{
		size_t		j;

		if (no[i] != 'p')
			continue;
		/* rule 1: pb / px + digit */
		if ((no[i + 1] == 'b' || no[i + 1] == 'x') && i + 2 < len &&
			isdigit((unsigned char) no[i + 2]))
			return true;
		if (!bc_deco_base_ok(no, i))
			continue;
		/* rule 2: p + digit */
		if (isdigit((unsigned char) no[i + 1]))
			return true;
		/* rule 3: p + 1..3 lower-case letters + digit or upper-case letter */
		for (j = i + 1; j < len && j - i <= 3 && islower((unsigned char) no[j]); j++)
			;
		if (j > i + 1 && j < len && j - i <= 4 &&
			(isdigit((unsigned char) no[j]) || isupper((unsigned char) no[j])))
			return true;
	}
	return false;
}

/*
 * bc_deco_has_word says whether text holds a word starting with prefix
 * (ASCII, case-insensitive), i.e. prefix preceded by a non-letter.
 */
static bool
bc_deco_has_word(const char *text, const char *prefix)
{
	size_t		plen = strlen(prefix);

	if (text == NULL)
		return false;
	for (const char *p = text; *p; p++)
	{
		if ((p == text || !isalpha((unsigned char) p[-1])) &&
			pg_strncasecmp(p, prefix, plen) == 0)
			return true;
	}
	return false;
}

/*
 * bc_deco_ends_with says whether text ends with suffix (case-insensitive),
 * ignoring trailing blanks.
 */
static bool
bc_deco_ends_with(const char *text, const char *suffix)
{
	size_t		len;
	size_t		slen = strlen(suffix);

	if (text == NULL)
		return false;
	len = strlen(text);
	while (len > 0 && isspace((unsigned char) text[len - 1]))
		len--;
	return len >= slen && pg_strncasecmp(text + len - slen, suffix, slen) == 0;
}

/*
 * bc_decoration_classify derives plain, printed or sticker from an item
 * number, a name and a category name, any of which may be NULL.
 */
BcDecoration
bc_decoration_classify(const char *item_no, const char *name,
					   const char *category_name)
{
	if (bc_deco_has_word(name, "sticker") ||
		bc_deco_has_word(category_name, "sticker"))
		return BC_DECO_STICKER;
	if (bc_decoration_number_is_printed(item_no) ||
		bc_deco_has_word(name, "pattern") ||
		bc_deco_has_word(name, "print") ||
		bc_deco_ends_with(category_name, ", Decorated") ||
		bc_deco_ends_with(category_name, ", Decor."))
		return BC_DECO_PRINTED;
	return BC_DECO_PLAIN;
}

/*
 * bc_decoration_name returns the label of a decoration class.
 */
const char *
bc_decoration_name(BcDecoration d)
{
	Assert(d >= 0 && d < BC_DECO_COUNT);
	return bc_decoration_names[d];
}

/*
 * bc_decoration_datum returns a decoration class as a brickcat.decoration
 * value.
 */
Datum
bc_decoration_datum(BcDecoration d)
{
	return bc_enumcache_datum(&bc_decoration_enum, d);
}

PG_FUNCTION_INFO_V1(bc_decoration_sql);

/*
 * bc_decoration_sql implements brickcat.decoration(item_no, name,
 * category_name); NULL only when all three are NULL.
 */
Datum
bc_decoration_sql(PG_FUNCTION_ARGS)
{
	char	   *arg[3] = {NULL, NULL, NULL};
	bool		any = false;

	for (int i = 0; i < 3; i++)
	{
		if (!PG_ARGISNULL(i))
		{
			arg[i] = text_to_cstring(PG_GETARG_TEXT_PP(i));
			any = true;
		}
	}
	if (!any)
		PG_RETURN_NULL();
	return bc_decoration_datum(bc_decoration_classify(arg[0], arg[1], arg[2]));
}
