/*-------------------------------------------------------------------------
 *
 * import.h
 *	  Bulk import of BrickLink catalog downloads (XML and tab-delimited):
 *	  what each kind of file holds, and the parsed rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_IMPORT_H
#define BC_IMPORT_H

#define BC_IMPORT_MAX_FIELDS 12
#define BC_IMPORT_MAX_NAMES 4

typedef enum BcImportKind
{
	BC_IMPORT_COLORS = 0,
	BC_IMPORT_CATEGORIES,
	BC_IMPORT_ITEMTYPES,
	BC_IMPORT_ITEMS,
	BC_IMPORT_CODES,
	BC_IMPORT_KIND_COUNT
} BcImportKind;

/* How a field's text is checked before it reaches SQL. */
typedef enum BcFieldCheck
{
	BC_CHECK_TEXT,				/* any text */
	BC_CHECK_INT,				/* integer */
	BC_CHECK_NUMBER,			/* non-negative decimal */
	BC_CHECK_DIM,				/* non-negative decimal, 0 meaning unknown */
	BC_CHECK_ITEMTYPE,			/* BrickLink type letter or API type name */
	BC_CHECK_DIMS				/* "X x Y x Z" (tab files): split into dims */
} BcFieldCheck;

typedef struct BcImportField
{
	const char *column;			/* column of the target table (NULL: parse only) */
	const char *sqltype;		/* SQL type the text is cast to */
	const char *expr;			/* SQL computing the value from u.fN (NULL: u.fN::sqltype) */
	BcFieldCheck check;
	bool		key;			/* part of the target table's key */
	bool		required;		/* a row without it is malformed */
	const char *xml_tags[BC_IMPORT_MAX_NAMES];	/* XML element names */
	const char *headers[BC_IMPORT_MAX_NAMES];	/* tab file header names */
} BcImportField;

typedef struct BcImportKindDesc
{
	const char *name;			/* colors, categories, itemtypes, items, codes */
	const char *table;			/* target table in schema brickcat */
	int			nfields;
	BcImportField fields[BC_IMPORT_MAX_FIELDS];
} BcImportKindDesc;

extern const BcImportKindDesc bc_import_kinds[BC_IMPORT_KIND_COUNT];

/* Field numbers of the items kind that the importer fills in itself. */
#define BC_ITEM_F_TYPE 0
#define BC_ITEM_F_NO 1
#define BC_ITEM_F_NAME 2
#define BC_ITEM_F_CATEGORY 3
#define BC_ITEM_F_DIMX 6
#define BC_ITEM_F_DIMS 9
#define BC_ITEM_F_DECORATION 10
#define BC_ITEMTYPE_F_CODE 0
#define BC_ITEMTYPE_F_TYPE 2

/* A parsed file: rows of field values (NULL = absent or unknown). */
typedef struct BcImportDoc
{
	BcImportKind kind;
	const char *format;			/* "xml" or "tab" */
	int			nrows;
	int			maxrows;
	char	 ***rows;			/* rows[i][field] */
	int		   *lines;			/* line each row starts on */
} BcImportDoc;

/*
 * Parses a whole file.  kind < 0 means detect it; default_type is the item
 * type for item files that carry none (NULL: such files are rejected).
 */
extern BcImportDoc *bc_import_parse(char *buf, size_t len, int kind,
									const char *default_type);
extern const char *bc_import_type_from_letter(const char *s);

#endif							/* BC_IMPORT_H */
