/*-------------------------------------------------------------------------
 *
 * import_parse.c
 *	  Parsers for BrickLink catalog downloads: the flat XML shape
 *	  (<CATALOG><ITEM><TAG>text</TAG>...</ITEM>...</CATALOG>) and the
 *	  tab-delimited shape (one header line, no quoting, "?" for unknown).
 *
 * Both parsers work in one pass over the file held in memory and produce
 * rows of field values for one kind of file (colors, categories, item types,
 * items, codes).  Values are entity-decoded (XML's own entities, then once
 * more for BrickLink's HTML-encoded names, e.g. "&amp;#39;"), trimmed, and
 * "?" or empty becomes NULL.  Anything malformed raises an error naming the
 * line and the element or field, before a single row is written.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "import.h"

#define T(...) {__VA_ARGS__}

/* What each kind of download holds; order of fields = u.f0, u.f1, ... */
const BcImportKindDesc bc_import_kinds[BC_IMPORT_KIND_COUNT] = {
	{"colors", "color", 4, {
			{"color_id", "integer", NULL, BC_CHECK_INT, true, true, T("COLOR"), T("Color ID", "ColorID")},
			{"color_name", "text", NULL, BC_CHECK_TEXT, false, true, T("COLORNAME"), T("Color Name", "Name")},
			{"color_code", "text", NULL, BC_CHECK_TEXT, false, false, T("COLORRGB"), T("RGB", "Color RGB")},
			{"color_type", "text", NULL, BC_CHECK_TEXT, false, false, T("COLORTYPE"), T("Type", "Color Type")},
	}},
	{"categories", "category", 2, {
			{"category_id", "integer", NULL, BC_CHECK_INT, true, true, T("CATEGORY"), T("Category ID", "CategoryID")},
			{"category_name", "text", NULL, BC_CHECK_TEXT, false, true, T("CATEGORYNAME"), T("Category Name", "Name")},
	}},
	{"itemtypes", "item_type", 3, {
			{"type_code", "text", NULL, BC_CHECK_TEXT, true, true, T("ITEMTYPE"), T("Item Type ID", "Item Type", "Type")},
			{"type_name", "text", NULL, BC_CHECK_TEXT, false, true, T("ITEMTYPENAME"), T("Item Type Name", "Type Name", "Name")},
			{"item_type", "text", NULL, BC_CHECK_TEXT, false, false, T(NULL), T(NULL)},
	}},
	{"items", "item", 11, {
			{"item_type", "text", NULL, BC_CHECK_ITEMTYPE, true, true, T("ITEMTYPE"), T("Item Type", "Type")},
			{"item_no", "text", NULL, BC_CHECK_TEXT, true, true, T("ITEMID"), T("Number", "Item No", "Item Number", "ItemID")},
			{"name", "text", NULL, BC_CHECK_TEXT, false, false, T("ITEMNAME"), T("Name", "Item Name")},
			{"category_id", "integer", NULL, BC_CHECK_INT, false, false, T("CATEGORY"), T("Category ID", "CategoryID")},
			{"year_released", "smallint", NULL, BC_CHECK_INT, false, false, T("ITEMYEAR"), T("Year Released", "Year")},
			{"weight", "numeric", NULL, BC_CHECK_NUMBER, false, false, T("ITEMWEIGHT"), T("Weight (in Grams)", "Weight")},
			{"dim_x", "numeric", NULL, BC_CHECK_DIM, false, false, T("ITEMDIMX"), T("Dim X", "Dimension X")},
			{"dim_y", "numeric", NULL, BC_CHECK_DIM, false, false, T("ITEMDIMY"), T("Dim Y", "Dimension Y")},
			{"dim_z", "numeric", NULL, BC_CHECK_DIM, false, false, T("ITEMDIMZ"), T("Dim Z", "Dimension Z")},
			{NULL, NULL, NULL, BC_CHECK_DIMS, false, false, T(NULL), T("Dimensions")},
			{"decoration", "brickcat.decoration", NULL, BC_CHECK_TEXT, false, false, T(NULL), T(NULL)},
	}},
	{"codes", "item_code", 5, {
			{"item_type", "text", NULL, BC_CHECK_ITEMTYPE, false, true, T("ITEMTYPE"), T("Item Type", "Type")},
			{"item_no", "text", NULL, BC_CHECK_TEXT, false, true, T("ITEMID"), T("Item No", "Number", "Item Number", "ItemID")},
			{"color_name", "text", NULL, BC_CHECK_TEXT, false, false, T("COLOR", "COLORNAME"), T("Color", "Color Name")},
			{"element_id", "text", NULL, BC_CHECK_TEXT, true, true, T("CODENUM", "CODE"), T("Code", "Element ID", "Element")},
			{"color_id", "integer",
				"(SELECT c.color_id FROM brickcat.color c WHERE lower(c.color_name) = lower(u.f2) ORDER BY c.color_id LIMIT 1)",
			BC_CHECK_TEXT, false, false, T(NULL), T(NULL)},
	}},
};

/* Detection order: the first kind whose required fields are all present. */
static const BcImportKind bc_detect_order[BC_IMPORT_KIND_COUNT] = {
	BC_IMPORT_CODES, BC_IMPORT_ITEMS, BC_IMPORT_ITEMTYPES, BC_IMPORT_COLORS,
	BC_IMPORT_CATEGORIES
};

/* BrickLink's item type letters and the API's type names. */
static const char *const bc_type_letters[][2] = {
	{"S", "SET"}, {"P", "PART"}, {"M", "MINIFIG"}, {"B", "BOOK"}, {"G", "GEAR"},
	{"C", "CATALOG"}, {"I", "INSTRUCTION"}, {"O", "ORIGINAL_BOX"}, {"U", "UNSORTED_LOT"}
};

/*
 * bc_tag_is says whether the tag name of length len is name.
 */
static inline bool
bc_tag_is(const char *tag, int len, const char *name)
{
	return strncmp(tag, name, len) == 0 && name[len] == '\0';
}

typedef struct BcParser
{
	char	   *p;				/* current position */
	char	   *end;
	int			line;			/* current line, 1-based */
	BcImportDoc *doc;
	const BcImportKindDesc *desc;
	const char *default_type;
	int			ncols;			/* tab: number of header columns */
	int		   *colmap;			/* tab: header column -> field, or -1 */
} BcParser;

/*
 * bc_import_type_from_letter maps a BrickLink type letter ("P") or an API
 * type name ("PART", any case) to the API name, or NULL.
 */
const char *
bc_import_type_from_letter(const char *s)
{
	for (int i = 0; i < lengthof(bc_type_letters); i++)
	{
		if (pg_strcasecmp(s, bc_type_letters[i][0]) == 0 ||
			pg_strcasecmp(s, bc_type_letters[i][1]) == 0)
			return bc_type_letters[i][1];
	}
	return NULL;
}

/*
 * bc_parse_entity decodes one entity at s (just after '&') into out,
 * returning the bytes consumed after '&' or 0 when it is not one.
 */
static int
bc_parse_entity(const char *s, const char *end, char *out, int *outlen)
{
	static const char *const named[][2] = {
		{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}
	};
	const char *semi = memchr(s, ';', Min(end - s, 12));
	int			n;

	if (semi == NULL || semi == s)
		return 0;
	n = semi - s;
	if (s[0] == '#')
	{
		long		cp = 0;
		int			base = (n > 1 && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
		const char *d = s + (base == 16 ? 2 : 1);

		if (d >= semi)
			return 0;
		for (; d < semi; d++)
		{
			int			v;

			if (isdigit((unsigned char) *d))
				v = *d - '0';
			else if (base == 16 && isxdigit((unsigned char) *d))
				v = (tolower((unsigned char) *d) - 'a') + 10;
			else
				return 0;
			cp = cp * base + v;
			if (cp > 0x10FFFF)
				return 0;
		}
		if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		pg_unicode_to_server((pg_wchar) cp, (unsigned char *) out);
		*outlen = strlen(out);
		return n + 1;
	}
	for (int i = 0; i < lengthof(named); i++)
	{
		if (strlen(named[i][0]) == n && memcmp(s, named[i][0], n) == 0)
		{
			strcpy(out, named[i][1]);
			*outlen = strlen(out);
			return n + 1;
		}
	}
	return 0;
}

/*
 * bc_decode_value decodes the text of length len at s in place (the byte
 * after it is overwritten with the terminator): entities decoded, twice for
 * double-encoded names, blanks trimmed; empty and "?" become NULL.
 */
static char *
bc_decode_value(char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char) *s))
		s++, len--;
	while (len > 0 && isspace((unsigned char) s[len - 1]))
		len--;
	s[len] = '\0';
	if (len == 0 || (len == 1 && *s == '?'))
		return NULL;
	for (int pass = 0; pass < 2 && memchr(s, '&', len) != NULL; pass++)
	{
		const char *end = s + len;
		const char *in = s;
		char	   *o = s;

		/* a decoded entity is never longer than its text: in place is safe */
		while (in < end)
		{
			char		ent[8];
			int			elen;
			int			used;

			if (*in == '&' &&
				(used = bc_parse_entity(in + 1, end, ent, &elen)) > 0 &&
				elen <= used + 1)
			{
				memcpy(o, ent, elen);
				o += elen;
				in += used + 1;
			}
			else
				*o++ = *in++;
		}
		*o = '\0';
		len = o - s;
		while (len > 0 && isspace((unsigned char) s[len - 1]))
			s[--len] = '\0';
		while (len > 0 && isspace((unsigned char) *s))
			s++, len--;
	}
	return len ? s : NULL;
}

/*
 * bc_parse_error raises the error for a malformed file at the given line.
 */
static void
pg_attribute_noreturn()
bc_parse_error(int line, const char *fmt, const char *a, const char *b)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed BrickLink catalog file at line %d: %s", line,
					psprintf(fmt, a, b)),
			 errhint("The file must be a BrickLink catalog download (XML or tab-delimited) as BrickLink produces it; nothing was imported.")));
}

/*
 * bc_check_number says whether s is a non-negative decimal number.
 */
static bool
bc_check_number(const char *s)
{
	bool		digits = false;

	while (isdigit((unsigned char) *s))
		s++, digits = true;
	if (*s == '.')
		for (s++; isdigit((unsigned char) *s); s++)
			digits = true;
	return digits && *s == '\0';
}

/*
 * bc_check_field validates and normalizes the value of field f in place,
 * raising an error naming the element or column when it is malformed.
 */
static void
bc_check_field(BcParser *ps, char **row, int f, const char *where, int line)
{
	const BcImportField *fd = &ps->desc->fields[f];
	char	   *v = row[f];

	if (v == NULL)
		return;
	switch (fd->check)
	{
		case BC_CHECK_TEXT:
			break;
		case BC_CHECK_INT:
			{
				const char *d = v + (*v == '-');

				if (*d == '\0' || strspn(d, "0123456789") != strlen(d) || strlen(d) > 9)
					bc_parse_error(line, "%s is not an integer: \"%s\"", where, v);
				break;
			}
		case BC_CHECK_NUMBER:
		case BC_CHECK_DIM:
			if (!bc_check_number(v))
				bc_parse_error(line, "%s is not a number: \"%s\"", where, v);
			if (fd->check == BC_CHECK_DIM && strspn(v, "0.") == strlen(v))
				row[f] = NULL;	/* 0 means unknown */
			break;
		case BC_CHECK_ITEMTYPE:
			{
				const char *t = bc_import_type_from_letter(v);

				if (t == NULL)
					bc_parse_error(line, "%s is not a BrickLink item type: \"%s\"", where, v);
				row[f] = (char *) t;
				break;
			}
		case BC_CHECK_DIMS:
			{
				/* "2 x 4 x 1" into dim_x, dim_y, dim_z */
				char	   *copy = pstrdup(v);
				char	   *save = NULL;
				int			n = 0;

				for (char *tok = strtok_r(copy, "xX", &save); tok; tok = strtok_r(NULL, "xX", &save))
				{
					char	   *val = bc_decode_value(tok, strlen(tok));

					if (n >= 3)
						bc_parse_error(line, "%s has more than three dimensions: \"%s\"", where, v);
					row[BC_ITEM_F_DIMX + n] = val;
					bc_check_field(ps, row, BC_ITEM_F_DIMX + n, where, line);
					n++;
				}
				row[f] = NULL;
				break;
			}
	}
}

/*
 * bc_finish_row checks a parsed row: required fields present, values
 * well-formed, the default item type filled in; then it is kept.
 */
static void
bc_finish_row(BcParser *ps, char **row, int line, bool xml)
{
	const BcImportKindDesc *d = ps->desc;
	BcImportDoc *doc = ps->doc;

	for (int f = 0; f < d->nfields; f++)
	{
		const BcImportField *fd = &d->fields[f];
		char		where[80];

		if (xml)
			snprintf(where, sizeof(where), "<%s>", fd->xml_tags[0] ? fd->xml_tags[0] : "?");
		else
			snprintf(where, sizeof(where), "column \"%s\"", fd->headers[0] ? fd->headers[0] : "?");
		if (row[f] == NULL && fd->check == BC_CHECK_ITEMTYPE)
		{
			row[f] = (char *) ps->default_type;
			if (row[f] == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("malformed BrickLink catalog file at line %d: %s is missing and no item type was given",
								line, where),
						 errhint("For a file of one item type pass it as the kind: 'parts', 'sets', 'minifigs', 'books', 'gear', 'catalogs', 'instructions', 'original_boxes' or 'unsorted_lots'.")));
		}
		if (row[f] == NULL && fd->required)
			bc_parse_error(line, "%s is missing or empty in this %s", where,
						   xml ? "<ITEM>" : "line");
		bc_check_field(ps, row, f, where, line);
	}
	if (doc->nrows >= doc->maxrows)
	{
		doc->maxrows *= 2;
		doc->rows = repalloc_huge(doc->rows, sizeof(char **) * doc->maxrows);
		doc->lines = repalloc_huge(doc->lines, sizeof(int) * doc->maxrows);
	}
	doc->lines[doc->nrows] = line;
	doc->rows[doc->nrows++] = row;
}

/*
 * bc_field_for_name returns the field of the kind named name in XML (tag) or
 * tab (header) form, or -1.
 */
static int
bc_field_for_name(const BcImportKindDesc *d, const char *name, int len, bool xml)
{
	for (int f = 0; f < d->nfields; f++)
	{
		const char *const *names = xml ? d->fields[f].xml_tags : d->fields[f].headers;

		for (int i = 0; i < BC_IMPORT_MAX_NAMES && names[i]; i++)
		{
			if (xml ? bc_tag_is(name, len, names[i]) :
				(pg_strncasecmp(names[i], name, len) == 0 && names[i][len] == '\0'))
				return f;
		}
	}
	return -1;
}

/*
 * bc_detect_kind returns the first kind (in detection order) all of whose
 * required fields appear among names, or -1.
 */
static int
bc_detect_kind(char **names, int n, bool xml)
{
	for (int k = 0; k < BC_IMPORT_KIND_COUNT; k++)
	{
		const BcImportKindDesc *d = &bc_import_kinds[bc_detect_order[k]];
		bool		all = true;

		for (int f = 0; f < d->nfields && all; f++)
		{
			bool		found = false;

			if (!d->fields[f].required || d->fields[f].check == BC_CHECK_ITEMTYPE)
				continue;
			for (int i = 0; i < n && !found; i++)
				found = bc_field_for_name(d, names[i], strlen(names[i]), xml) == f;
			all = found;
		}
		if (all)
			return bc_detect_order[k];
	}
	return -1;
}

/*
 * bc_kind_unknown raises the error for a file whose kind cannot be detected.
 */
static void
pg_attribute_noreturn()
bc_kind_unknown(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("cannot tell what kind of BrickLink catalog file this is"),
			 errdetail("%s of colors, categories, item types, items or codes.", what),
			 errhint("Pass kind => 'colors', 'categories', 'itemtypes', 'items' or 'codes'.")));
}

/*
 * bc_xml_skip skips blanks, comments, processing instructions and a DOCTYPE,
 * counting lines.
 */
static void
bc_xml_skip(BcParser *ps)
{
	for (;;)
	{
		while (ps->p < ps->end && isspace((unsigned char) *ps->p))
		{
			if (*ps->p == '\n')
				ps->line++;
			ps->p++;
		}
		if (ps->end - ps->p >= 2 && ps->p[0] == '<' && (ps->p[1] == '?' || ps->p[1] == '!'))
		{
			const char *close = ps->p[1] == '?' ? "?>" : (strncmp(ps->p, "<!--", 4) == 0 ? "-->" : ">");
			char	   *e = ps->p + 2;

			while (e < ps->end && strncmp(e, close, strlen(close)) != 0)
			{
				if (*e == '\n')
					ps->line++;
				e++;
			}
			if (e >= ps->end)
				bc_parse_error(ps->line, "%s%s is not closed", "", ps->p[1] == '?' ? "<?...?>" : "<!...>");
			ps->p = e + strlen(close);
			continue;
		}
		return;
	}
}

/*
 * bc_xml_tag reads a tag at the current position ("<NAME>", "</NAME>" or
 * "<NAME/>") and returns its name (not terminated, *namelen long, in the
 * buffer); *kind is '<', '/' or 'e' (empty).
 */
static char *
bc_xml_tag(BcParser *ps, char *kind, int *namelen)
{
	char	   *s;
	char	   *n;

	if (ps->p >= ps->end)
		bc_parse_error(ps->line, "the file ends before </CATALOG>%s%s", "", "");
	if (*ps->p != '<')
		bc_parse_error(ps->line, "unexpected text \"%s\"%s",
					   pnstrdup(ps->p, Min(ps->end - ps->p, 20)), " (expected an element)");
	s = ps->p + 1;
	*kind = '<';
	if (s < ps->end && *s == '/')
		*kind = '/', s++;
	n = s;
	while (s < ps->end && (isalnum((unsigned char) *s) || *s == '_' || *s == '-' || *s == '.'))
		s++;
	if (s == n || s >= ps->end)
		bc_parse_error(ps->line, "malformed element \"%s\"%s", pnstrdup(ps->p, Min(ps->end - ps->p, 20)), "");
	*namelen = s - n;
	if (*kind == '<' && *s == '/' && s + 1 < ps->end && s[1] == '>')
	{
		*kind = 'e';
		s++;
	}
	if (*s != '>')
		bc_parse_error(ps->line, "element <%s> has unexpected content \"%s\"", pnstrdup(n, *namelen),
					   pnstrdup(s, Min(ps->end - s, 20)));
	ps->p = s + 1;
	return n;
}

/*
 * bc_xml_item parses one <ITEM> (its start tag already read) into a new row,
 * or, when names is given, just collects its element names (for detection).
 */
static char **
bc_xml_item(BcParser *ps, char **names, int *nnames)
{
	char	  **row = names ? NULL : palloc0(sizeof(char *) * ps->desc->nfields);
	int			start = ps->line;

	for (;;)
	{
		char		kind;
		int			len;
		char	   *tag;
		char	   *text;
		char	   *text_end;
		int			f;

		bc_xml_skip(ps);
		tag = bc_xml_tag(ps, &kind, &len);
		if (kind == '/')
		{
			if (!bc_tag_is(tag, len, "ITEM"))
				bc_parse_error(ps->line, "</%s> closes an element that is not open (expected </ITEM>)%s",
							   pnstrdup(tag, len), "");
			break;
		}
		text = text_end = ps->p;
		if (kind == '<')
		{
			while (ps->p < ps->end && *ps->p != '<')
			{
				if (*ps->p == '\n')
					ps->line++;
				ps->p++;
			}
			text_end = ps->p;
			if (ps->end - ps->p < len + 3 || ps->p[1] != '/' ||
				strncmp(ps->p + 2, tag, len) != 0 || ps->p[2 + len] != '>')
				bc_parse_error(ps->line, "element <%s> is not closed by </%s>",
							   pnstrdup(tag, len), pnstrdup(tag, len));
			ps->p += len + 3;
		}
		if (names)
		{
			if (*nnames < 64)
				names[(*nnames)++] = pnstrdup(tag, len);
			continue;
		}
		f = bc_field_for_name(ps->desc, tag, len, true);
		if (f < 0)
			continue;			/* a field brickcat does not keep */
		if (row[f] != NULL)
			bc_parse_error(ps->line, "element <%s> appears twice in one <ITEM>%s", pnstrdup(tag, len), "");
		if (kind == '<')
			row[f] = bc_decode_value(text, text_end - text);
	}
	if (row)
		bc_finish_row(ps, row, start, true);
	return row;
}

/*
 * bc_parse_xml parses a whole XML download: <CATALOG> with <ITEM>s.
 */
static void
bc_parse_xml(BcParser *ps, int kind)
{
	char		tk;
	int			len;
	char	   *tag;
	char	   *body;
	int			body_line;

	bc_xml_skip(ps);
	tag = bc_xml_tag(ps, &tk, &len);
	if (tk != '<' || !bc_tag_is(tag, len, "CATALOG"))
		bc_parse_error(ps->line, "the root element is <%s>, not <CATALOG>%s", pnstrdup(tag, len), "");
	body = ps->p;
	body_line = ps->line;

	if (kind < 0)
	{
		char	   *names[64];
		int			n = 0;

		bc_xml_skip(ps);
		if (ps->p < ps->end && strncmp(ps->p, "<ITEM>", 6) == 0)
		{
			ps->p += 6;
			bc_xml_item(ps, names, &n);
		}
		kind = bc_detect_kind(names, n, true);
		if (kind < 0)
			bc_kind_unknown("The first <ITEM> has none of the element sets");
		ps->p = body;
		ps->line = body_line;
	}
	ps->doc->kind = kind;
	ps->desc = &bc_import_kinds[kind];

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		bc_xml_skip(ps);
		tag = bc_xml_tag(ps, &tk, &len);
		if (tk == '/' && bc_tag_is(tag, len, "CATALOG"))
			break;
		if (tk != '<' || !bc_tag_is(tag, len, "ITEM"))
			bc_parse_error(ps->line, "unexpected element <%s%s> in <CATALOG> (expected <ITEM>)",
						   tk == '/' ? "/" : "", pnstrdup(tag, len));
		bc_xml_item(ps, NULL, NULL);
	}
	bc_xml_skip(ps);
	if (ps->p < ps->end)
		bc_parse_error(ps->line, "unexpected content after </CATALOG>: \"%s\"%s",
					   pnstrdup(ps->p, Min(ps->end - ps->p, 20)), "");
}

/*
 * bc_tab_line returns the next line (without its line end) and advances, or
 * NULL at the end of the file.
 */
static char *
bc_tab_line(BcParser *ps, size_t *len)
{
	char	   *s = ps->p;
	char	   *nl;

	if (s >= ps->end)
		return NULL;
	nl = memchr(s, '\n', ps->end - s);
	if (nl == NULL)
		nl = ps->end;
	ps->p = nl < ps->end ? nl + 1 : nl;
	ps->line++;					/* now the number of the line returned */
	*len = nl - s;
	if (*len > 0 && s[*len - 1] == '\r')
		(*len)--;
	return s;
}

/*
 * bc_tab_split splits a line at tabs into fields, returning their number.
 */
static int
bc_tab_split(char *s, size_t len, char **fields, size_t *lens, int max)
{
	int			n = 0;
	char	   *start = s;

	for (size_t i = 0; i <= len; i++)
	{
		if (i == len || s[i] == '\t')
		{
			if (n < max)
			{
				fields[n] = start;
				lens[n] = s + i - start;
			}
			n++;
			start = s + i + 1;
		}
	}
	return n;
}

/*
 * bc_parse_tab parses a whole tab-delimited download: a header line naming
 * the columns, then one row per line.
 */
static void
bc_parse_tab(BcParser *ps, int kind)
{
	char	   *hdr;
	size_t		len;
	char	   *cols[64];
	size_t		lens[64];
	char	   *names[64];
	int			n;

	do
		hdr = bc_tab_line(ps, &len);
	while (hdr && len == 0);
	if (hdr == NULL)
		bc_parse_error(ps->line, "the file is empty%s%s", "", "");
	n = bc_tab_split(hdr, len, cols, lens, 64);
	if (n > 64)
		bc_parse_error(ps->line, "the header has more than 64 columns%s%s", "", "");
	for (int i = 0; i < n; i++)
	{
		names[i] = bc_decode_value(cols[i], lens[i]);
		if (names[i] == NULL)
			names[i] = "";
	}
	if (kind < 0)
	{
		kind = bc_detect_kind(names, n, false);
		if (kind < 0)
			bc_kind_unknown("The header line names none of the column sets");
	}
	ps->doc->kind = kind;
	ps->desc = &bc_import_kinds[kind];
	ps->ncols = n;
	ps->colmap = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
		ps->colmap[i] = bc_field_for_name(ps->desc, names[i], strlen(names[i]), false);

	for (;;)
	{
		char	   *s = bc_tab_line(ps, &len);
		char	  **row;
		int			m;

		CHECK_FOR_INTERRUPTS();
		if (s == NULL)
			break;
		if (len == 0)
			continue;
		m = bc_tab_split(s, len, cols, lens, 64);
		if (m != n)
			bc_parse_error(ps->line, "%s tab-separated fields where the header has %s",
						   psprintf("%d", m), psprintf("%d", n));
		row = palloc0(sizeof(char *) * ps->desc->nfields);
		for (int i = 0; i < n; i++)
		{
			int			f = ps->colmap[i];

			if (f >= 0 && row[f] == NULL)
				row[f] = bc_decode_value(cols[i], lens[i]);
		}
		bc_finish_row(ps, row, ps->line, false);
	}
}

/*
 * bc_import_parse parses a whole BrickLink catalog file held in buf (in the
 * server encoding), detecting XML or tab-delimited and, when kind < 0, the
 * kind of file.
 */
BcImportDoc *
bc_import_parse(char *buf, size_t len, int kind, const char *default_type)
{
	BcParser	ps = {0};
	BcImportDoc *doc = palloc0(sizeof(BcImportDoc));
	char	   *s = buf;

	doc->maxrows = 1024;
	doc->rows = palloc(sizeof(char **) * doc->maxrows);
	doc->lines = palloc(sizeof(int) * doc->maxrows);
	ps.p = buf;
	ps.end = buf + len;
	ps.line = 1;
	ps.doc = doc;
	ps.default_type = default_type;

	/* skip a UTF-8 byte order mark */
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		ps.p += 3, s += 3;
	while (s < ps.end && isspace((unsigned char) *s))
		s++;
	if (s < ps.end && *s == '<')
	{
		doc->format = "xml";
		bc_parse_xml(&ps, kind);
	}
	else
	{
		doc->format = "tab";
		ps.line = 0;			/* bc_tab_line counts the line it returns */
		bc_parse_tab(&ps, kind);
	}
	return doc;
}
