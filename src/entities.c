/*-------------------------------------------------------------------------
 *
 * entities.c
 *	  HTML character reference decoder for BrickLink names and descriptions.
 *
 * BrickLink returns names such as "Brick 1 x 2 &#40;Sticker&#41;" and
 * descriptions holding HTML.  This decoder turns them into plain UTF-8.
 * It never raises errors: anything it does not understand is copied
 * literally (or replaced by U+FFFD when it would be invalid UTF-8).
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "lib/stringinfo.h"

#include "entities.h"

#define BC_ENT_REPLACEMENT 0xFFFD
#define BC_ENT_MAX_NAME 32

typedef struct BcEntityName
{
	const char *name;
	uint32		cp;
} BcEntityName;

/* Named references: XML's five, all of Latin-1, and common typography. */
static const BcEntityName bc_entity_names[] = {
	{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
	{"AMP", '&'}, {"LT", '<'}, {"GT", '>'}, {"QUOT", '"'},
	{"nbsp", 160}, {"iexcl", 161}, {"cent", 162}, {"pound", 163},
	{"curren", 164}, {"yen", 165}, {"brvbar", 166}, {"sect", 167},
	{"uml", 168}, {"copy", 169}, {"ordf", 170}, {"laquo", 171},
	{"not", 172}, {"shy", 173}, {"reg", 174}, {"macr", 175},
	{"deg", 176}, {"plusmn", 177}, {"sup2", 178}, {"sup3", 179},
	{"acute", 180}, {"micro", 181}, {"para", 182}, {"middot", 183},
	{"cedil", 184}, {"sup1", 185}, {"ordm", 186}, {"raquo", 187},
	{"frac14", 188}, {"frac12", 189}, {"frac34", 190}, {"iquest", 191},
	{"Agrave", 192}, {"Aacute", 193}, {"Acirc", 194}, {"Atilde", 195},
	{"Auml", 196}, {"Aring", 197}, {"AElig", 198}, {"Ccedil", 199},
	{"Egrave", 200}, {"Eacute", 201}, {"Ecirc", 202}, {"Euml", 203},
	{"Igrave", 204}, {"Iacute", 205}, {"Icirc", 206}, {"Iuml", 207},
	{"ETH", 208}, {"Ntilde", 209}, {"Ograve", 210}, {"Oacute", 211},
	{"Ocirc", 212}, {"Otilde", 213}, {"Ouml", 214}, {"times", 215},
	{"Oslash", 216}, {"Ugrave", 217}, {"Uacute", 218}, {"Ucirc", 219},
	{"Uuml", 220}, {"Yacute", 221}, {"THORN", 222}, {"szlig", 223},
	{"agrave", 224}, {"aacute", 225}, {"acirc", 226}, {"atilde", 227},
	{"auml", 228}, {"aring", 229}, {"aelig", 230}, {"ccedil", 231},
	{"egrave", 232}, {"eacute", 233}, {"ecirc", 234}, {"euml", 235},
	{"igrave", 236}, {"iacute", 237}, {"icirc", 238}, {"iuml", 239},
	{"eth", 240}, {"ntilde", 241}, {"ograve", 242}, {"oacute", 243},
	{"ocirc", 244}, {"otilde", 245}, {"ouml", 246}, {"divide", 247},
	{"oslash", 248}, {"ugrave", 249}, {"uacute", 250}, {"ucirc", 251},
	{"uuml", 252}, {"yacute", 253}, {"thorn", 254}, {"yuml", 255},
	{"OElig", 0x152}, {"oelig", 0x153}, {"Scaron", 0x160}, {"scaron", 0x161},
	{"Yuml", 0x178}, {"fnof", 0x192}, {"circ", 0x2C6}, {"tilde", 0x2DC},
	{"ensp", 0x2002}, {"emsp", 0x2003}, {"thinsp", 0x2009},
	{"ndash", 0x2013}, {"mdash", 0x2014}, {"lsquo", 0x2018},
	{"rsquo", 0x2019}, {"sbquo", 0x201A}, {"ldquo", 0x201C},
	{"rdquo", 0x201D}, {"bdquo", 0x201E}, {"dagger", 0x2020},
	{"Dagger", 0x2021}, {"bull", 0x2022}, {"hellip", 0x2026},
	{"permil", 0x2030}, {"prime", 0x2032}, {"Prime", 0x2033},
	{"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"euro", 0x20AC},
	{"trade", 0x2122}, {"larr", 0x2190}, {"uarr", 0x2191},
	{"rarr", 0x2192}, {"darr", 0x2193}, {"harr", 0x2194},
	{"minus", 0x2212}, {"asymp", 0x2248}, {"ne", 0x2260}, {"le", 0x2264},
	{"ge", 0x2265}, {"infin", 0x221E}, {"frasl", 0x2044},
	{"alpha", 0x3B1}, {"beta", 0x3B2}, {"mu", 0x3BC}, {"pi", 0x3C0},
	{"Omega", 0x3A9}, {"loz", 0x25CA}, {"spades", 0x2660},
	{"clubs", 0x2663}, {"hearts", 0x2665}, {"diams", 0x2666},
};

/* Windows-1252 meaning of 0x80..0x9F (0 = undefined), as browsers apply it. */
static const uint16 bc_entity_cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* Output state: the buffer plus pending-whitespace bookkeeping for trim. */
typedef struct BcEntOut
{
	StringInfoData buf;
	bool		trim;
	bool		pending_space;
	bool		pending_newline;
} BcEntOut;

/*
 * bc_entities_is_space reports whether cp is ASCII whitespace.
 */
static inline bool
bc_entities_is_space(uint32 cp)
{
	return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
		cp == '\f' || cp == '\v';
}

/*
 * bc_entities_append_utf8 appends code point cp (assumed valid, non-zero)
 * to buf as UTF-8.
 */
static void
bc_entities_append_utf8(StringInfo buf, uint32 cp)
{
	char		tmp[4];
	int			n;

	if (cp < 0x80)
	{
		tmp[0] = (char) cp;
		n = 1;
	}
	else if (cp < 0x800)
	{
		tmp[0] = (char) (0xC0 | (cp >> 6));
		tmp[1] = (char) (0x80 | (cp & 0x3F));
		n = 2;
	}
	else if (cp < 0x10000)
	{
		tmp[0] = (char) (0xE0 | (cp >> 12));
		tmp[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		tmp[2] = (char) (0x80 | (cp & 0x3F));
		n = 3;
	}
	else
	{
		tmp[0] = (char) (0xF0 | (cp >> 18));
		tmp[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		tmp[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		tmp[3] = (char) (0x80 | (cp & 0x3F));
		n = 4;
	}
	appendBinaryStringInfo(buf, tmp, n);
}

/*
 * bc_entities_emit writes code point cp to the output, applying whitespace
 * collapsing and trimming when requested.
 */
static void
bc_entities_emit(BcEntOut *out, uint32 cp)
{
	if (cp == 0)
		cp = BC_ENT_REPLACEMENT;
	if (out->trim)
	{
		if (bc_entities_is_space(cp))
		{
			out->pending_space = true;
			if (cp == '\n')
				out->pending_newline = true;
			return;
		}
		if (out->pending_space && out->buf.len > 0)
			appendStringInfoChar(&out->buf, out->pending_newline ? '\n' : ' ');
		out->pending_space = false;
		out->pending_newline = false;
	}
	bc_entities_append_utf8(&out->buf, cp);
}

/*
 * bc_entities_utf8_next decodes one UTF-8 character at s[i..len) into *cp
 * and returns the number of bytes consumed; an invalid or truncated
 * sequence yields U+FFFD and consumes one byte.
 */
static int
bc_entities_utf8_next(const unsigned char *s, size_t len, size_t i, uint32 *cp)
{
	unsigned char c = s[i];
	int			need;
	uint32		v;
	uint32		min;
	int			k;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		need = 1;
		v = c & 0x1F;
		min = 0x80;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		need = 2;
		v = c & 0x0F;
		min = 0x800;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		need = 3;
		v = c & 0x07;
		min = 0x10000;
	}
	else
	{
		*cp = BC_ENT_REPLACEMENT;
		return 1;
	}
	if (len - i <= (size_t) need)
	{
		*cp = BC_ENT_REPLACEMENT;
		return 1;
	}
	for (k = 1; k <= need; k++)
	{
		unsigned char cc = s[i + k];

		if ((cc & 0xC0) != 0x80)
		{
			*cp = BC_ENT_REPLACEMENT;
			return 1;
		}
		v = (v << 6) | (cc & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
	{
		*cp = BC_ENT_REPLACEMENT;
		return 1;
	}
	*cp = v;
	return need + 1;
}

/*
 * bc_entities_numeric_cp maps the value of a numeric character reference
 * to the code point to emit.
 */
static uint32
bc_entities_numeric_cp(uint32 v)
{
	if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return BC_ENT_REPLACEMENT;
	if (v >= 0x80 && v <= 0x9F)
	{
		uint32		m = bc_entity_cp1252[v - 0x80];

		return m ? m : BC_ENT_REPLACEMENT;
	}
	if ((v < 0x20 && v != '\t' && v != '\n' && v != '\r') || v == 0x7F)
		return BC_ENT_REPLACEMENT;
	return v;
}

/*
 * bc_entities_parse_ref tries to parse a character reference at s[i] (which
 * is '&'); on success stores the code point in *cp and returns the number
 * of bytes consumed, else returns 0 (the '&' is then literal).
 */
static size_t
bc_entities_parse_ref(const char *s, size_t len, size_t i, uint32 *cp)
{
	size_t		j = i + 1;

	if (j >= len)
		return 0;

	if (s[j] == '#')
	{
		bool		hex = false;
		uint32		v = 0;
		size_t		digits = 0;

		j++;
		if (j < len && (s[j] == 'x' || s[j] == 'X'))
		{
			hex = true;
			j++;
		}
		while (j < len)
		{
			int			d;
			char		c = s[j];

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			/* saturate: anything above 0x10FFFF is invalid anyway */
			v = v * (hex ? 16 : 10) + d;
			if (v > 0x110000)
				v = 0x110000;
			digits++;
			j++;
		}
		if (digits == 0 || j >= len || s[j] != ';')
			return 0;
		*cp = bc_entities_numeric_cp(v);
		return j + 1 - i;
	}
	else
	{
		size_t		start = j;
		size_t		n;
		int			k;

		while (j < len && j - start <= BC_ENT_MAX_NAME &&
			   ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
				(s[j] >= '0' && s[j] <= '9')))
			j++;
		n = j - start;
		if (n == 0 || n > BC_ENT_MAX_NAME || j >= len || s[j] != ';')
			return 0;
		for (k = 0; k < (int) lengthof(bc_entity_names); k++)
		{
			const char *name = bc_entity_names[k].name;

			if (strlen(name) == n && memcmp(name, s + start, n) == 0)
			{
				*cp = bc_entity_names[k].cp;
				return j + 1 - i;
			}
		}
		return 0;
	}
}

/*
 * bc_entities_tag_breaks reports whether the tag whose body (between '<'
 * and '>') is s[0..n) should become a line break.
 */
static bool
bc_entities_tag_breaks(const char *s, size_t n)
{
	static const char *const breakers[] = {"br", "p", "div", "li", "tr"};
	char		name[8];
	size_t		i = 0;
	size_t		k = 0;
	int			b;

	if (i < n && s[i] == '/')
		i++;
	while (i < n && k < sizeof(name) - 1 &&
		   ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9')))
		name[k++] = pg_tolower((unsigned char) s[i++]);
	name[k] = '\0';
	/* name must end here: "<br/>", "<br >", "<p class=x>" but not "<pre>" */
	if (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				  (s[i] >= '0' && s[i] <= '9')))
		return false;
	for (b = 0; b < (int) lengthof(breakers); b++)
	{
		if (strcmp(name, breakers[b]) == 0)
			return true;
	}
	return false;
}

/*
 * bc_entities_decode decodes HTML character references (and optionally
 * strips tags and collapses whitespace) in s[0..len), returning a palloc'd
 * UTF-8 string; see entities.h for the exact rules.
 */
char *
bc_entities_decode(const char *s, size_t len, bool strip_tags, bool trim)
{
	BcEntOut	out;
	const unsigned char *us = (const unsigned char *) s;
	size_t		i = 0;
	bool		no_more_gt = false;

	if (s == NULL)
		len = 0;
	if (len > BC_ENTITIES_MAX_INPUT)
		len = BC_ENTITIES_MAX_INPUT;

	initStringInfo(&out.buf);
	out.trim = trim;
	out.pending_space = false;
	out.pending_newline = false;

	while (i < len)
	{
		unsigned char c = us[i];

		if (c == '&')
		{
			uint32		cp;
			size_t		n = bc_entities_parse_ref(s, len, i, &cp);

			if (n > 0)
			{
				bc_entities_emit(&out, cp);
				i += n;
				continue;
			}
			bc_entities_emit(&out, '&');
			i++;
			continue;
		}
		if (c == '<' && strip_tags && !no_more_gt && i + 1 < len)
		{
			unsigned char nc = us[i + 1];

			if ((nc >= 'a' && nc <= 'z') || (nc >= 'A' && nc <= 'Z') ||
				nc == '/' || nc == '!' || nc == '?')
			{
				const char *gt = memchr(s + i + 1, '>', len - i - 1);

				if (gt == NULL)
					no_more_gt = true;	/* keeps the scan linear */
				else
				{
					size_t		end = gt - s;

					if (bc_entities_tag_breaks(s + i + 1, end - i - 1))
						bc_entities_emit(&out, '\n');
					i = end + 1;
					continue;
				}
			}
		}
		if (c < 0x80)
		{
			bc_entities_emit(&out, c);
			i++;
		}
		else
		{
			uint32		cp;

			i += bc_entities_utf8_next(us, len, i, &cp);
			bc_entities_emit(&out, cp);
		}
	}
	return out.buf.data;
}
