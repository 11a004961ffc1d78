/*-------------------------------------------------------------------------
 *
 * read_result.c
 *	  Building the rows reads return: catalog columns copied from the cached
 *	  row, key columns from the request when nothing is cached, and the
 *	  annotations (freshness, source, fetched_at, next_refresh_at,
 *	  error_code, error_message).
 *
 * Result columns are matched to table columns by name once per backend (a
 * layout); building a row is then a deform of the cached tuple and one
 * heap_form_tuple.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "read.h"

/* What fills a result column. */
typedef enum BcColKind
{
	BC_COL_NULL = 0,			/* always NULL */
	BC_COL_DATA,				/* a column of the cached row */
	BC_COL_ITEM_TYPE,
	BC_COL_ITEM_NO,
	BC_COL_COLOR_ID,
	BC_COL_GUIDE_TYPE,
	BC_COL_CONDITION,
	BC_COL_COLOR_IDS,
	BC_COL_FRESHNESS,
	BC_COL_SOURCE,
	BC_COL_FETCHED_AT,
	BC_COL_NEXT_REFRESH,
	BC_COL_ERROR_CODE,
	BC_COL_ERROR_MESSAGE,
	BC_COL_COLOR_NAME,
	BC_COL_RGB,
	BC_COL_QUANTITY
} BcColKind;

static const char *const bc_col_names[] = {
	NULL, NULL, "item_type", "item_no", "color_id", "guide_type", "condition",
	"color_ids", "freshness", "source", "fetched_at", "next_refresh_at",
	"error_code", "error_message", "color_name", "rgb", "quantity"
};

#define BC_LAYOUT_MAXCOLS 64
#define BC_LAYOUT_SLOTS 4

/* How to fill each column of one result type from one table's rows. */
typedef struct BcLayout
{
	Oid			typid;
	int			natts;
	int			src_natts;
	uint64		generation;
	bool		valid;
	uint8		kind[BC_LAYOUT_MAXCOLS];
	AttrNumber	src_attno[BC_LAYOUT_MAXCOLS];	/* 0: not in the table */
} BcLayout;

static BcLayout bc_layouts[BC_LAYOUT_SLOTS];

/*
 * bc_layout_get returns the layout for result descriptor rdesc filled from
 * rows of sdesc (NULL: no table row), building it on first use.
 */
static BcLayout *
bc_layout_get(TupleDesc rdesc, TupleDesc sdesc)
{
	BcLayout   *l = NULL;
	int			src_natts = sdesc ? sdesc->natts : 0;

	for (int i = 0; i < BC_LAYOUT_SLOTS; i++)
	{
		BcLayout   *c = &bc_layouts[i];

		if (c->valid && c->typid == rdesc->tdtypeid && c->natts == rdesc->natts &&
			c->src_natts == src_natts && c->generation == bc_scan_generation)
			return c;
		if (l == NULL && (!c->valid || c->generation != bc_scan_generation ||
						  c->typid == rdesc->tdtypeid))
			l = c;
	}
	if (l == NULL)
		l = &bc_layouts[0];
	if (rdesc->natts > BC_LAYOUT_MAXCOLS)
		elog(ERROR, "brickcat: result type has too many columns");

	l->valid = false;
	for (int i = 0; i < rdesc->natts; i++)
	{
		Form_pg_attribute ra = TupleDescAttr(rdesc, i);
		const char *name = NameStr(ra->attname);

		l->kind[i] = BC_COL_NULL;
		l->src_attno[i] = 0;
		if (ra->attisdropped)
			continue;
		for (int k = BC_COL_ITEM_TYPE; k <= BC_COL_QUANTITY; k++)
		{
			if (strcmp(name, bc_col_names[k]) == 0)
				l->kind[i] = k;
		}
		for (int j = 0; j < src_natts; j++)
		{
			Form_pg_attribute sa = TupleDescAttr(sdesc, j);

			if (sa->attisdropped || strcmp(NameStr(sa->attname), name) != 0)
				continue;
			if (sa->atttypid != ra->atttypid)
				elog(ERROR, "brickcat: result column \"%s\" does not match the table's type",
					 name);
			l->src_attno[i] = j + 1;
			if (l->kind[i] == BC_COL_NULL)
				l->kind[i] = BC_COL_DATA;
		}
	}
	l->typid = rdesc->tdtypeid;
	l->natts = rdesc->natts;
	l->src_natts = src_natts;
	l->generation = bc_scan_generation;
	l->valid = true;
	return l;
}

/*
 * bc_result_key_datum returns a key column's value from the request.
 */
static Datum
bc_result_key_datum(BcColKind kind, const BcKey *key)
{
	char		cond[2] = {key->condition, '\0'};

	switch (kind)
	{
		case BC_COL_ITEM_TYPE:
			return CStringGetTextDatum(key->item_type);
		case BC_COL_ITEM_NO:
			return CStringGetTextDatum(key->item_no);
		case BC_COL_COLOR_ID:
			return Int32GetDatum(key->color_id);
		case BC_COL_GUIDE_TYPE:
			return CStringGetTextDatum(key->guide_type);
		case BC_COL_CONDITION:
			return CStringGetTextDatum(cond);
		default:
			return (Datum) 0;
	}
}

/*
 * bc_result_color_ids returns a read's known colors as an int[].
 */
static Datum
bc_result_color_ids(const BcRead *colors)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(colors->data.ncolors, 1));

	for (int i = 0; i < colors->data.ncolors; i++)
		ids[i] = Int32GetDatum(colors->data.colors[i].color_id);
	return PointerGetDatum(construct_array(ids, colors->data.ncolors, INT4OID,
										   sizeof(int32), true, TYPALIGN_INT));
}

/*
 * bc_result_fill fills one result row from layout l: r's cached row
 * (deformed into svalues), its annotations, and for color rows the entry.
 */
static void
bc_result_fill(BcLayout *l, BcRead *r, BcRead *colors, Datum *svalues,
			   bool *snulls, Datum *values, bool *nulls)
{
	bool		have_src = svalues != NULL;

	for (int i = 0; i < l->natts; i++)
	{
		BcColKind	kind = l->kind[i];

		nulls[i] = false;
		if (have_src && l->src_attno[i] > 0 && kind != BC_COL_FETCHED_AT)
		{
			values[i] = svalues[l->src_attno[i] - 1];
			nulls[i] = snulls[l->src_attno[i] - 1];
			continue;
		}
		switch (kind)
		{
			case BC_COL_ITEM_TYPE:
			case BC_COL_ITEM_NO:
			case BC_COL_COLOR_ID:
			case BC_COL_GUIDE_TYPE:
			case BC_COL_CONDITION:
				values[i] = bc_result_key_datum(kind, &r->key);
				break;
			case BC_COL_COLOR_IDS:
				if (colors && colors->data.found && !colors->data.fetched_isnull)
					values[i] = bc_result_color_ids(colors);
				else
					nulls[i] = true;
				break;
			case BC_COL_FRESHNESS:
				values[i] = bc_freshness_datum(r->freshness);
				break;
			case BC_COL_SOURCE:
				values[i] = CStringGetTextDatum(bc_read_source_name(r->source));
				break;
			case BC_COL_FETCHED_AT:
				values[i] = TimestampTzGetDatum(r->data.fetched_at);
				nulls[i] = r->data.fetched_isnull;
				break;
			case BC_COL_NEXT_REFRESH:
				values[i] = TimestampTzGetDatum(bc_read_next_refresh_at(r));
				break;
			case BC_COL_ERROR_CODE:
				nulls[i] = r->error_code == NULL;
				if (r->error_code)
					values[i] = CStringGetTextDatum(r->error_code);
				break;
			case BC_COL_ERROR_MESSAGE:
				nulls[i] = r->error_message == NULL;
				if (r->error_message)
					values[i] = CStringGetTextDatum(r->error_message);
				break;
			default:
				nulls[i] = true;
				break;
		}
	}
}

/*
 * bc_result_form forms a row and flattens toasted values, so the row stays
 * valid after the table row it came from is gone.
 */
static HeapTuple
bc_result_form(TupleDesc rdesc, Datum *values, bool *nulls)
{
	HeapTuple	t = heap_form_tuple(rdesc, values, nulls);

	if (HeapTupleHasExternal(t))
	{
		HeapTuple	flat = toast_flatten_tuple(t, rdesc);

		heap_freetuple(t);
		t = flat;
	}
	return t;
}

/*
 * bc_result_row builds a result row for r from its cached row (of sdesc).
 */
static HeapTuple
bc_result_row(TupleDesc rdesc, BcRead *r, BcRead *colors, TupleDesc sdesc)
{
	BcLayout   *l = bc_layout_get(rdesc, sdesc);
	Datum		values[BC_LAYOUT_MAXCOLS];
	bool		nulls[BC_LAYOUT_MAXCOLS];
	Datum	   *svalues = NULL;
	bool	   *snulls = NULL;
	HeapTuple	tuple;

	if (r->data.tuple)
	{
		svalues = palloc(sizeof(Datum) * sdesc->natts);
		snulls = palloc(sizeof(bool) * sdesc->natts);
		heap_deform_tuple(r->data.tuple, sdesc, svalues, snulls);
	}
	else if (r->data.slot)
	{
		/* straight from the scan's slot: no copy of the row */
		slot_getallattrs(r->data.slot);
		bc_result_fill(l, r, colors, r->data.slot->tts_values,
					   r->data.slot->tts_isnull, values, nulls);
		return bc_result_form(rdesc, values, nulls);
	}
	bc_result_fill(l, r, colors, svalues, snulls, values, nulls);
	tuple = bc_result_form(rdesc, values, nulls);
	if (svalues)
	{
		pfree(svalues);
		pfree(snulls);
	}
	return tuple;
}

/*
 * bc_result_item builds a get_item row from the item read and its colors.
 */
HeapTuple
bc_result_item(TupleDesc rdesc, BcRead *item, BcRead *colors, TupleDesc idesc)
{
	return bc_result_row(rdesc, item, colors, idesc);
}

/*
 * bc_result_price builds a get_price row.
 */
HeapTuple
bc_result_price(TupleDesc rdesc, BcRead *price, TupleDesc pdesc)
{
	return bc_result_row(rdesc, price, NULL, pdesc);
}

/*
 * bc_result_color builds one get_known_colors row: entry idx of the list
 * (-1 for the single row that carries only the annotations).
 */
HeapTuple
bc_result_color(TupleDesc rdesc, BcRead *colors, int idx, Datum name,
				bool name_isnull, Datum rgb, bool rgb_isnull)
{
	BcLayout   *l = bc_layout_get(rdesc, NULL);
	Datum		values[BC_LAYOUT_MAXCOLS];
	bool		nulls[BC_LAYOUT_MAXCOLS];

	bc_result_fill(l, colors, NULL, NULL, NULL, values, nulls);
	for (int i = 0; i < l->natts; i++)
	{
		BcColorEntry *e = idx >= 0 ? &colors->data.colors[idx] : NULL;

		switch (l->kind[i])
		{
			case BC_COL_COLOR_ID:
				values[i] = e ? Int32GetDatum(e->color_id) : (Datum) 0;
				nulls[i] = e == NULL;
				break;
			case BC_COL_COLOR_NAME:
				values[i] = name;
				nulls[i] = e == NULL || name_isnull;
				break;
			case BC_COL_RGB:
				values[i] = rgb;
				nulls[i] = e == NULL || rgb_isnull;
				break;
			case BC_COL_QUANTITY:
				values[i] = e ? Int32GetDatum(e->quantity) : (Datum) 0;
				nulls[i] = e == NULL || e->quantity_isnull;
				break;
			default:
				break;
		}
	}
	return bc_result_form(rdesc, values, nulls);
}
