/*-------------------------------------------------------------------------
 *
 * import.c
 *	  brickcat.import_catalog(path, kind) and brickcat.import_staged(kind,
 *	  fetched_at): bulk import of BrickLink catalog downloads.
 *
 * The whole file is parsed first (import_parse.c), so a malformed file is
 * rejected before anything is written.  The rows are then applied in batches
 * of BC_IMPORT_BATCH through three prepared statements over unnest()ed
 * arrays: one classifies the batch against the catalog (new, changed,
 * unchanged, or newer in the catalog), one inserts the new rows, one updates
 * the changed ones.  The target table is locked in SHARE ROW EXCLUSIVE mode
 * for the duration, which lets readers through but keeps the worker's own
 * writes (and a second import) out until the import commits, so the
 * classification cannot go stale.  Everything runs in the caller's
 * transaction: an error anywhere leaves nothing half-imported.
 *
 * Imported rows get origin = 'import' and fetched_at = the file's date (the
 * server file's mtime, or the fetched_at argument for staged files), so the
 * sweeps refresh them in time.  A row whose catalog copy is newer (fetched
 * from the API, or imported from a newer file, after the file's date) is left
 * alone; values the file leaves unknown keep what the catalog has.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "decoration.h"
#include "import.h"

#define BC_IMPORT_BATCH 10000
#define BC_IMPORT_PROGRESS_MIN 10000	/* rows from which progress is reported */
#define BC_IMPORT_KEY_MAX 200

typedef enum BcRowFate
{
	BC_ROW_NEW = 0,
	BC_ROW_CHANGED,
	BC_ROW_TOUCH,				/* same data, older date: only the date moves */
	BC_ROW_UNCHANGED,
	BC_ROW_NEWER,				/* the catalog holds newer data: kept */
	BC_ROW_DUPLICATE			/* key repeated in the file: skipped */
} BcRowFate;

typedef struct BcImportCounts
{
	int64		inserted;
	int64		updated;
	int64		unchanged;
	int64		newer;
	int64		duplicates;
} BcImportCounts;

typedef struct BcImportPlans
{
	SPIPlanPtr	classify;
	SPIPlanPtr	insert;
	SPIPlanPtr	update;
	int			nargs;			/* fields + the timestamp */
} BcImportPlans;

typedef struct BcKeyEntry
{
	char		key[BC_IMPORT_KEY_MAX];
} BcKeyEntry;

/*
 * bc_import_kind_from_text maps the kind argument to a kind and, for item
 * files, the item type rows without one default to; -1 means detect.
 */
static int
bc_import_kind_from_text(const char *kind, const char **default_type)
{
	static const char *const plural[][2] = {
		{"parts", "PART"}, {"sets", "SET"}, {"minifigs", "MINIFIG"},
		{"minifigures", "MINIFIG"}, {"books", "BOOK"}, {"gear", "GEAR"},
		{"catalogs", "CATALOG"}, {"instructions", "INSTRUCTION"},
		{"original_boxes", "ORIGINAL_BOX"}, {"unsorted_lots", "UNSORTED_LOT"}
	};

	*default_type = NULL;
	if (kind == NULL)
		return -1;
	for (int k = 0; k < BC_IMPORT_KIND_COUNT; k++)
	{
		if (pg_strcasecmp(kind, bc_import_kinds[k].name) == 0)
		{
			if (k == BC_IMPORT_CODES)
				*default_type = "PART";
			return k;
		}
	}
	for (int i = 0; i < lengthof(plural); i++)
	{
		if (pg_strcasecmp(kind, plural[i][0]) == 0)
		{
			*default_type = plural[i][1];
			return BC_IMPORT_ITEMS;
		}
	}
	if ((*default_type = bc_import_type_from_letter(kind)) != NULL)
		return BC_IMPORT_ITEMS;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown kind of catalog file \"%s\"", kind),
			 errhint("Use colors, categories, itemtypes, items, codes, or an item type such as parts, sets or minifigs; NULL detects it.")));
	return -1;					/* keep compiler quiet */
}

/*
 * bc_import_sql_expr appends the SQL for field f's value over u.fN.
 */
static void
bc_import_sql_expr(StringInfo sql, const BcImportField *fd, int f)
{
	if (fd->expr)
		appendStringInfoString(sql, fd->expr);
	else
		appendStringInfo(sql, "u.f%d::%s", f, fd->sqltype);
}

/*
 * bc_import_sql_from appends "FROM unnest($1..$n) ... u(f0, ...)" with the
 * batch's arrays, optionally numbering the rows.
 */
static void
bc_import_sql_from(StringInfo sql, const BcImportKindDesc *d, bool ord)
{
	appendStringInfoString(sql, " FROM unnest(");
	for (int f = 0; f < d->nfields; f++)
		appendStringInfo(sql, "%s$%d", f ? ", " : "", f + 1);
	appendStringInfo(sql, ")%s AS u(", ord ? " WITH ORDINALITY" : "");
	for (int f = 0; f < d->nfields; f++)
		appendStringInfo(sql, "%sf%d", f ? ", " : "", f);
	appendStringInfoString(sql, ord ? ", ord)" : ")");
}

/*
 * bc_import_sql_keys appends the join of the target row t to u on the key.
 */
static void
bc_import_sql_keys(StringInfo sql, const BcImportKindDesc *d)
{
	bool		first = true;

	for (int f = 0; f < d->nfields; f++)
	{
		if (!d->fields[f].key)
			continue;
		appendStringInfo(sql, "%st.%s = ", first ? "" : " AND ", d->fields[f].column);
		bc_import_sql_expr(sql, &d->fields[f], f);
		first = false;
	}
}

/*
 * bc_import_prepare prepares the classify, insert and update statements of
 * a kind of file.
 */
static void
bc_import_prepare(const BcImportKindDesc *d, BcImportPlans *plans)
{
	Oid			argtypes[BC_IMPORT_MAX_FIELDS + 1];
	StringInfoData c,
				i,
				u;
	bool		first = true;
	int			ts;

	plans->nargs = d->nfields + 1;
	ts = d->nfields + 1;
	for (int f = 0; f < d->nfields; f++)
		argtypes[f] = TEXTARRAYOID;
	argtypes[d->nfields] = TIMESTAMPTZOID;

	initStringInfo(&c);
	initStringInfo(&i);
	initStringInfo(&u);
	appendStringInfo(&c, "SELECT u.ord, t.fetched_at > $%d, t.fetched_at IS NOT DISTINCT FROM $%d, ROW(",
					 ts, ts);
	appendStringInfo(&i, "INSERT INTO brickcat.%s (", d->table);
	appendStringInfo(&u, "UPDATE brickcat.%s t SET ", d->table);
	for (int f = 0; f < d->nfields; f++)
	{
		const BcImportField *fd = &d->fields[f];

		if (fd->column == NULL)
			continue;
		appendStringInfo(&i, "%s, ", fd->column);
		if (fd->key)
			continue;
		appendStringInfo(&c, "%st.%s", first ? "" : ", ", fd->column);
		appendStringInfo(&u, "%s = coalesce(", fd->column);
		bc_import_sql_expr(&u, fd, f);
		appendStringInfo(&u, ", t.%s), ", fd->column);
		first = false;
	}
	appendStringInfoString(&c, ") IS NOT DISTINCT FROM ROW(");
	first = true;
	for (int f = 0; f < d->nfields; f++)
	{
		const BcImportField *fd = &d->fields[f];

		if (fd->column == NULL || fd->key)
			continue;
		appendStringInfo(&c, "%scoalesce(", first ? "" : ", ");
		bc_import_sql_expr(&c, fd, f);
		appendStringInfo(&c, ", t.%s)", fd->column);
		first = false;
	}
	appendStringInfoString(&c, ")");
	bc_import_sql_from(&c, d, true);
	appendStringInfo(&c, " JOIN brickcat.%s t ON ", d->table);
	bc_import_sql_keys(&c, d);

	appendStringInfoString(&i, "fetched_at, origin) SELECT ");
	for (int f = 0; f < d->nfields; f++)
	{
		if (d->fields[f].column == NULL)
			continue;
		bc_import_sql_expr(&i, &d->fields[f], f);
		appendStringInfoString(&i, ", ");
	}
	appendStringInfo(&i, "$%d, 'import'", ts);
	bc_import_sql_from(&i, d, false);

	appendStringInfo(&u, "fetched_at = $%d, origin = 'import'", ts);
	bc_import_sql_from(&u, d, false);
	appendStringInfoString(&u, " WHERE ");
	bc_import_sql_keys(&u, d);

	plans->classify = SPI_prepare(c.data, plans->nargs, argtypes);
	plans->insert = SPI_prepare(i.data, plans->nargs, argtypes);
	plans->update = SPI_prepare(u.data, plans->nargs, argtypes);
	if (!plans->classify || !plans->insert || !plans->update)
		elog(ERROR, "brickcat import: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(plans->classify);
	SPI_keepplan(plans->insert);
	SPI_keepplan(plans->update);
}

/*
 * bc_import_args builds the statement arguments (one text[] per field, then
 * the timestamp) from the rows idx[0..n) of the document.
 */
static void
bc_import_args(BcImportDoc *doc, const BcImportKindDesc *d, const int *idx, int n,
			   TimestampTz ts, Datum *values)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int f = 0; f < d->nfields; f++)
	{
		for (int r = 0; r < n; r++)
		{
			char	   *v = doc->rows[idx[r]][f];

			nulls[r] = (v == NULL);
			elems[r] = v ? CStringGetTextDatum(v) : (Datum) 0;
		}
		values[f] = PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
													   TEXTOID, -1, false, TYPALIGN_INT));
	}
	values[d->nfields] = TimestampTzGetDatum(ts);
}

/*
 * bc_import_batch applies rows idx[0..n) of the document: classify, insert
 * the new ones, update the changed ones, and count.
 */
static void
bc_import_batch(BcImportDoc *doc, const BcImportKindDesc *d, BcImportPlans *plans,
				int *idx, int n, TimestampTz ts, bool empty, BcImportCounts *counts)
{
	Datum		values[BC_IMPORT_MAX_FIELDS + 1];
	BcRowFate  *fate = palloc0(sizeof(BcRowFate) * n);
	int		   *sel = palloc(sizeof(int) * n);
	int			nsel;
	int			rc;

	/* into an empty table (first load) every row is new */
	if (!empty)
	{
		bc_import_args(doc, d, idx, n, ts, values);
		rc = SPI_execute_plan(plans->classify, values, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "brickcat import: classify failed: %s", SPI_result_code_string(rc));
	}
	for (uint64 i = 0; !empty && i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		ord = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		bool		newer = DatumGetBool(SPI_getbinval(tup, td, 2, &isnull)) && !isnull;
		bool		same_ts = DatumGetBool(SPI_getbinval(tup, td, 3, &isnull));
		bool		same = DatumGetBool(SPI_getbinval(tup, td, 4, &isnull));

		Assert(ord >= 1 && ord <= n);
		if (newer)
			fate[ord - 1] = BC_ROW_NEWER;
		else if (same)
			fate[ord - 1] = same_ts ? BC_ROW_UNCHANGED : BC_ROW_TOUCH;
		else
			fate[ord - 1] = BC_ROW_CHANGED;
	}
	if (!empty)
		SPI_freetuptable(SPI_tuptable);

	/* new rows */
	nsel = 0;
	for (int r = 0; r < n; r++)
		if (fate[r] == BC_ROW_NEW)
			sel[nsel++] = idx[r];
	if (nsel > 0)
	{
		bc_import_args(doc, d, sel, nsel, ts, values);
		rc = SPI_execute_plan(plans->insert, values, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "brickcat import: insert failed: %s", SPI_result_code_string(rc));
		counts->inserted += SPI_processed;
	}

	/* changed rows, and unchanged ones whose date moves forward */
	nsel = 0;
	for (int r = 0; r < n; r++)
	{
		if (fate[r] == BC_ROW_CHANGED || fate[r] == BC_ROW_TOUCH)
			sel[nsel++] = idx[r];
		counts->updated += (fate[r] == BC_ROW_CHANGED);
		counts->unchanged += (fate[r] == BC_ROW_UNCHANGED || fate[r] == BC_ROW_TOUCH);
		counts->newer += (fate[r] == BC_ROW_NEWER);
	}
	if (nsel > 0)
	{
		bc_import_args(doc, d, sel, nsel, ts, values);
		rc = SPI_execute_plan(plans->update, values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "brickcat import: update failed: %s", SPI_result_code_string(rc));
	}
}

/*
 * bc_import_keep_unique returns the indexes of the rows whose key has not
 * appeared earlier in the file, counting the repeats.
 */
static int *
bc_import_keep_unique(BcImportDoc *doc, const BcImportKindDesc *d, int *n,
					  BcImportCounts *counts)
{
	HASHCTL		ctl = {0};
	HTAB	   *seen;
	int		   *idx = palloc(sizeof(int) * Max(doc->nrows, 1));
	int			k = 0;

	ctl.keysize = BC_IMPORT_KEY_MAX;
	ctl.entrysize = sizeof(BcKeyEntry);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("brickcat import keys", Max(doc->nrows, 16), &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int r = 0; r < doc->nrows; r++)
	{
		char		key[BC_IMPORT_KEY_MAX];
		size_t		len = 0;
		bool		found;

		for (int f = 0; f < d->nfields; f++)
		{
			const char *v = doc->rows[r][f];

			if (!d->fields[f].key)
				continue;
			if (len + strlen(v) + 2 > sizeof(key))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("malformed BrickLink catalog file at line %d: key \"%.40s...\" is too long",
								doc->lines[r], v)));
			len += snprintf(key + len, sizeof(key) - len, "%s\x1f", v);
		}
		hash_search(seen, key, HASH_ENTER, &found);
		if (found)
		{
			if (counts->duplicates++ == 0)
				ereport(NOTICE,
						(errmsg("line %d repeats a key seen earlier in the file; the first occurrence is kept",
								doc->lines[r])));
			continue;
		}
		idx[k++] = r;
	}
	hash_destroy(seen);
	*n = k;
	return idx;
}

/*
 * bc_import_fill computes the values the importer derives itself: item
 * decoration (number, name, category name) and item type API names.
 */
static void
bc_import_fill(BcImportDoc *doc)
{
	if (doc->kind == BC_IMPORT_ITEMTYPES)
	{
		for (int r = 0; r < doc->nrows; r++)
		{
			const char *t = bc_import_type_from_letter(doc->rows[r][BC_ITEMTYPE_F_CODE]);

			doc->rows[r][BC_ITEMTYPE_F_TYPE] = (char *) t;
		}
	}
	else if (doc->kind == BC_IMPORT_ITEMS)
	{
		HASHCTL		ctl = {0};
		HTAB	   *cats;
		typedef struct
		{
			int32		id;
			char	   *name;
		}			CatEntry;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(CatEntry);
		ctl.hcxt = CurrentMemoryContext;
		cats = hash_create("brickcat import categories", 2048, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		if (SPI_execute("SELECT category_id, category_name FROM brickcat.category", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "brickcat import: reading brickcat.category failed");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int32		id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			CatEntry   *e = hash_search(cats, &id, HASH_ENTER, NULL);

			e->name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		}
		for (int r = 0; r < doc->nrows; r++)
		{
			char	  **row = doc->rows[r];
			const char *catname = NULL;

			if (row[BC_ITEM_F_CATEGORY])
			{
				int32		id = pg_strtoint32(row[BC_ITEM_F_CATEGORY]);
				CatEntry   *e = hash_search(cats, &id, HASH_FIND, NULL);

				catname = e ? e->name : NULL;
			}
			row[BC_ITEM_F_DECORATION] = (char *)
				bc_decoration_name(bc_decoration_classify(row[BC_ITEM_F_NO],
														  row[BC_ITEM_F_NAME], catname));
		}
	}
}

/*
 * bc_import_run parses buf and applies it to the catalog inside an SPI
 * connection, filling in the counts and returning the kind of file.
 */
static int
bc_import_run(char *buf, size_t len, const char *kindtext, TimestampTz ts,
			  BcImportCounts *counts)
{
	const char *default_type;
	int			kind = bc_import_kind_from_text(kindtext, &default_type);
	BcImportDoc *doc;
	const BcImportKindDesc *d;
	BcImportPlans plans;
	MemoryContext batchcxt;
	MemoryContext oldcxt;
	int		   *idx;
	int			n;
	int			next_pct = 10;
	bool		empty;

	doc = bc_import_parse(buf, len, kind, default_type);
	d = &bc_import_kinds[doc->kind];
	bc_import_fill(doc);
	idx = bc_import_keep_unique(doc, d, &n, counts);

	if (SPI_execute(psprintf("LOCK TABLE brickcat.%s IN SHARE ROW EXCLUSIVE MODE", d->table),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "brickcat import: could not lock brickcat.%s", d->table);
	bc_import_prepare(d, &plans);
	if (SPI_execute(psprintf("SELECT 1 FROM brickcat.%s LIMIT 1", d->table), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "brickcat import: could not read brickcat.%s", d->table);
	empty = (SPI_processed == 0);

	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "brickcat import batch",
									 ALLOCSET_DEFAULT_SIZES);
	for (int start = 0; start < n; start += BC_IMPORT_BATCH)
	{
		int			m = Min(BC_IMPORT_BATCH, n - start);

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(batchcxt);
		bc_import_batch(doc, d, &plans, idx + start, m, ts, empty, counts);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(batchcxt);
		if (n >= BC_IMPORT_PROGRESS_MIN)
		{
			int			pct = (int) ((int64) (start + m) * 100 / n);

			if (pct >= next_pct)
			{
				ereport(NOTICE,
						(errmsg("brickcat import of %s: %d%% (%d of %d rows)",
								d->name, pct, start + m, n)));
				next_pct = pct - pct % 10 + 10;
			}
		}
	}
	MemoryContextDelete(batchcxt);
	SPI_freeplan(plans.classify);
	SPI_freeplan(plans.insert);
	SPI_freeplan(plans.update);

	if (counts->newer > 0)
		ereport(NOTICE,
				(errmsg_plural("%lld row was kept as it is because the catalog holds newer data than the file",
							   "%lld rows were kept as they are because the catalog holds newer data than the file",
							   counts->newer, (long long) counts->newer),
				 errdetail("The file is dated %s; these rows were fetched from the API or imported later.",
						   timestamptz_to_str(ts))));
	return doc->kind;
}

/*
 * bc_import_result forms the result row: kind, inserted, updated,
 * unchanged, rejected (kept because newer in the catalog, or repeated).
 */
static Datum
bc_import_result(FunctionCallInfo fcinfo, const char *kind, BcImportCounts *c)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(kind);
	values[1] = Int64GetDatum(c->inserted);
	values[2] = Int64GetDatum(c->updated);
	values[3] = Int64GetDatum(c->unchanged);
	values[4] = Int64GetDatum(c->newer + c->duplicates);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * bc_import_apply runs an import of buf inside its own SPI connection and
 * memory context and returns the result row.
 */
static Datum
bc_import_apply(FunctionCallInfo fcinfo, char *buf, size_t len,
				const char *kindtext, TimestampTz ts)
{
	BcImportCounts counts = {0};
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "brickcat import",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt;
	int			kind;
	Datum		result;

	SPI_connect();
	oldcxt = MemoryContextSwitchTo(cxt);
	kind = bc_import_run(buf, len, kindtext, ts, &counts);
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
	MemoryContextDelete(cxt);
	result = bc_import_result(fcinfo, bc_import_kinds[kind].name, &counts);
	return result;
}

PG_FUNCTION_INFO_V1(bc_import_catalog_sql);

/*
 * bc_import_catalog_sql implements brickcat.import_catalog(path, kind): a
 * server-side file, readable by superusers and pg_read_server_files members,
 * dated by its modification time.
 */
Datum
bc_import_catalog_sql(PG_FUNCTION_ARGS)
{
	char	   *path;
	char	   *kind = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	struct stat st;
	FILE	   *fp;
	char	   *buf;
	char	   *conv;
	size_t		got;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be NULL")));
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to import a catalog file from the server's file system"),
				 errdetail("Only superusers and members of pg_read_server_files may read server files."),
				 errhint("From psql, load the file with \\copy brickcat.import_staging (line) FROM 'file' WITH (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e') and then call brickcat.import_staged().")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strlen(path) >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path is too long (%zu bytes; at most %d)", strlen(path), MAXPGPATH - 1)));
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	if (S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a directory", path)));
	if ((uint64) st.st_size >= MaxAllocHugeSize / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("file \"%s\" is too large to import", path)));
	fp = AllocateFile(path, PG_BINARY_R);
	if (fp == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));
	buf = palloc_extended(st.st_size + 1, MCXT_ALLOC_HUGE);
	got = fread(buf, 1, st.st_size, fp);
	if (ferror(fp) || got != (size_t) st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	FreeFile(fp);
	buf[got] = '\0';
	conv = pg_any_to_server(buf, got, PG_UTF8);
	PG_RETURN_DATUM(bc_import_apply(fcinfo, conv, strlen(conv), kind,
									time_t_to_timestamptz(st.st_mtime)));
}

PG_FUNCTION_INFO_V1(bc_import_session_sql);

/*
 * bc_import_session_sql implements brickcat.import_session(): this backend's
 * pid and start time, which no later backend can share.
 */
Datum
bc_import_session_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%d@" INT64_FORMAT, MyProcPid,
											  (int64) MyStartTimestamp)));
}

typedef struct BcStagedLine
{
	int64		line_no;
	uint64		pos;
} BcStagedLine;

/*
 * bc_staged_line_cmp orders staged lines by their line number.
 */
static int
bc_staged_line_cmp(const void *a, const void *b)
{
	int64		x = ((const BcStagedLine *) a)->line_no;
	int64		y = ((const BcStagedLine *) b)->line_no;

	return (x > y) - (x < y);
}

PG_FUNCTION_INFO_V1(bc_import_staged_sql);

/*
 * bc_import_staged_sql implements brickcat.import_staged(kind, fetched_at):
 * the lines this session copied into brickcat.import_staging, consumed.
 */
Datum
bc_import_staged_sql(PG_FUNCTION_ARGS)
{
	char	   *kind = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz ts = PG_ARGISNULL(1) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(1);
	StringInfoData buf;
	uint64		nlines;

	initStringInfo(&buf);
	SPI_connect();
	if (SPI_execute("DELETE FROM brickcat.import_staging WHERE session = brickcat.import_session() "
					"RETURNING line_no, line", false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "brickcat import: reading brickcat.import_staging failed");
	nlines = SPI_processed;
	if (nlines > 0)
	{
		BcStagedLine *lines = palloc(sizeof(BcStagedLine) * nlines);

		/* DELETE ... RETURNING gives no order: put the lines back in order */
		for (uint64 i = 0; i < nlines; i++)
		{
			bool		isnull;

			lines[i].line_no = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
			lines[i].pos = i;
		}
		qsort(lines, nlines, sizeof(BcStagedLine), bc_staged_line_cmp);
		for (uint64 i = 0; i < nlines; i++)
		{
			char	   *line = SPI_getvalue(SPI_tuptable->vals[lines[i].pos],
											SPI_tuptable->tupdesc, 2);

			if (line)
				appendStringInfoString(&buf, line);
			appendStringInfoChar(&buf, '\n');
		}
	}
	SPI_finish();
	if (nlines == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA),
				 errmsg("nothing is staged for import in this session"),
				 errhint("Load the file first: \\copy brickcat.import_staging (line) FROM 'file' WITH (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')")));
	PG_RETURN_DATUM(bc_import_apply(fcinfo, buf.data, buf.len, kind, ts));
}
