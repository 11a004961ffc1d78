/*-------------------------------------------------------------------------
 *
 * read_batch.c
 *	  Batch reads (brickcat.get_items, brickcat.get_prices) and
 *	  brickcat.validate_freshness.
 *
 * A batch looks every key up once (duplicates share one read), requests all
 * the fetches it needs at once and waits at most `wait` in total for all of
 * them; rows come back in the order of the input array.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "demand.h"
#include "read.h"

/* One distinct key of a batch and where its answer comes from. */
typedef struct BcBatchKey
{
	char		target[BC_READ_TARGET_LEN];	/* hash key */
	int			read;			/* index of its first read, or -1 (memo) */
	int			last;			/* last input position asking for it */
	bool		owned;			/* tuple is ours to free */
	HeapTuple	tuple;			/* the answer row, once known */
} BcBatchKey;

/*
 * A batch in progress.  Answers go into the result in input order as soon as
 * every earlier position is answered, so a batch of fresh keys streams its
 * rows out while it reads and keeps no copies.
 */
typedef struct BcBatch
{
	ReturnSetInfo *rsinfo;
	bool		items;			/* get_items (else get_prices) */
	int64		wait_usec;
	HTAB	   *keys;
	BcBatchKey **order;			/* per input position */
	int			n;
	int			next;			/* first position not yet output */
	BcBatchKey **uniq;			/* per distinct key read, by BcRead.tag */
	int			nuniq;
	BcRead	   *reads;
	int			nreads;
} BcBatch;

/*
 * bc_batch_array deconstructs a one-dimensional array argument with no NULL
 * elements and at most BC_BATCH_MAX of them.
 */
static int
bc_batch_array(ArrayType *arr, const char *what, Oid elemtype, Datum **elems)
{
	bool	   *nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > BC_BATCH_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements; a batch takes at most %d", what, n, BC_BATCH_MAX),
				 errhint("Split the lookup into several calls.")));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL (element %d)", what, i + 1)));
	}
	return n;
}

/*
 * bc_batch_keys creates the hash of a batch's distinct keys.
 */
static HTAB *
bc_batch_keys(int n)
{
	HASHCTL		ctl;

	ctl.keysize = BC_READ_TARGET_LEN;
	ctl.entrysize = sizeof(BcBatchKey);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("brickcat batch keys", Max(n, 8), &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * bc_batch_start sets up a batch of n input keys, nper reads per key.
 */
static void
bc_batch_start(BcBatch *b, FunctionCallInfo fcinfo, int n, int nper, bool items,
			   int64 wait_usec)
{
	b->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	b->items = items;
	b->wait_usec = wait_usec;
	b->keys = bc_batch_keys(n);
	b->order = palloc(sizeof(BcBatchKey *) * Max(n, 1));
	b->n = 0;
	b->next = 0;
	b->uniq = palloc(sizeof(BcBatchKey *) * Max(n, 1));
	b->nuniq = 0;
	b->reads = palloc(sizeof(BcRead) * Max(nper * n, 1));
	b->nreads = 0;
}

/*
 * bc_batch_add registers the next input key: a memo answer, or new reads
 * (nper of them: the key and its followers) appended to the batch.  Returns
 * the first new read, or NULL when the key needs none.
 */
static BcRead *
bc_batch_add(BcBatch *b, const BcKey *key, int nper)
{
	bool		found;
	BcBatchKey *k = hash_search(b->keys, key->target, HASH_ENTER, &found);
	BcMemoEntry *memo;
	BcRead	   *r;

	b->order[b->n] = k;
	k->last = b->n++;
	if (found)
		return NULL;
	bc_demand_record(key->item_type, key->item_no);
	k->tuple = NULL;
	k->owned = false;
	k->read = -1;
	memo = bc_memo_lookup(key->target, b->wait_usec);
	if (memo)
	{
		k->tuple = memo->tuples[0];
		return NULL;
	}
	k->read = b->nreads;
	r = &b->reads[b->nreads];
	memset(r, 0, sizeof(BcRead) * nper);
	r->key = *key;
	r->counted = true;
	r->tag = b->nuniq;
	b->uniq[b->nuniq++] = k;
	b->nreads += nper;
	return r;
}

/*
 * bc_batch_flush outputs the answers of the positions that are ready, in
 * input order, freeing each answer after its last position.
 */
static void
bc_batch_flush(BcBatch *b)
{
	while (b->next < b->n && b->order[b->next]->tuple != NULL)
	{
		BcBatchKey *k = b->order[b->next];

		tuplestore_puttuple(b->rsinfo->setResult, k->tuple);
		if (k->last == b->next && k->owned)
		{
			heap_freetuple(k->tuple);
			k->owned = false;
		}
		b->next++;
	}
}

/*
 * bc_batch_answer builds the answer row of a read and remembers it.
 */
static void
bc_batch_answer(BcBatch *b, BcRead *r)
{
	BcBatchKey *k = b->uniq[r->tag];
	TupleDesc	rdesc = b->rsinfo->setDesc;

	k->tuple = b->items ?
		bc_result_item(rdesc, r, r + 1, bc_scan_item_desc()) :
		bc_result_price(rdesc, r, bc_scan_price_desc());
	k->owned = true;
	bc_memo_store(k->target, b->wait_usec, r->source, &k->tuple, 1);
	if (r->data.tuple)
		heap_freetuple(r->data.tuple);
	r->data.tuple = NULL;
}

/*
 * bc_batch_emit is the read engine's callback for keys answered fresh from
 * the cache while it reads: answer, then output what is ready.
 */
static void
bc_batch_emit(void *arg, BcRead *leader)
{
	BcBatch    *b = arg;

	bc_batch_answer(b, leader);
	bc_batch_flush(b);
}

/*
 * bc_batch_finish runs the reads of a batch and outputs every answer.
 */
static void
bc_batch_finish(BcBatch *b)
{
	bc_batch_flush(b);
	if (b->nreads > 0)
		bc_read_run(b->reads, b->nreads, b->wait_usec, bc_batch_emit, b);
	for (int i = 0; i < b->nuniq; i++)
	{
		BcRead	   *r = &b->reads[b->uniq[i]->read];

		if (!r->emitted)
			bc_batch_answer(b, r);
	}
	bc_batch_flush(b);
}

PG_FUNCTION_INFO_V1(bc_get_items_sql);

/*
 * bc_get_items_sql implements brickcat.get_items(item_nos, item_type, wait).
 */
Datum
bc_get_items_sql(PG_FUNCTION_ARGS)
{
	Datum	   *elems;
	int			n;
	const char *item_type;
	int64		wait_usec;
	BcBatch		b;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_nos and item_type must not be NULL")));
	n = bc_batch_array(PG_GETARG_ARRAYTYPE_P(0), "item_nos", TEXTOID, &elems);
	item_type = bc_read_item_type_arg(PG_GETARG_TEXT_PP(1));
	wait_usec = bc_read_wait_arg(fcinfo, 2);
	InitMaterializedSRF(fcinfo, 0);

	bc_batch_start(&b, fcinfo, n, 2, true, wait_usec);
	for (int i = 0; i < n; i++)
	{
		BcKey		key;
		char		no[BC_READ_ITEM_NO_BUF];
		BcRead	   *r;

		bc_read_item_no_arg(DatumGetTextPP(elems[i]), no);
		bc_read_key_init(&key, BC_DS_ITEM, item_type, no, 0, NULL, 0);
		r = bc_batch_add(&b, &key, 2);
		if (r)
		{
			bc_read_key_init(&r[1].key, BC_DS_COLORS, item_type, no, 0, NULL, 0);
			r[1].leader = r;
		}
	}
	bc_batch_finish(&b);
	return (Datum) 0;
}

/*
 * bc_batch_prices answers get_prices for item_nos with either one color for
 * all (color_ids NULL) or one color per item.
 */
static Datum
bc_batch_prices(FunctionCallInfo fcinfo, int32 color_id, ArrayType *color_ids)
{
	Datum	   *elems;
	Datum	   *colors = NULL;
	int			n;
	const char *guide_type;
	const char *item_type;
	char		condition;
	int64		wait_usec;
	BcBatch		b;

	for (int i = 0; i < 5; i++)
	{
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("only wait may be NULL in brickcat.get_prices")));
	}
	n = bc_batch_array(PG_GETARG_ARRAYTYPE_P(0), "item_nos", TEXTOID, &elems);
	if (color_ids &&
		bc_batch_array(color_ids, "color_ids", INT4OID, &colors) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("color_ids must have as many elements as item_nos"),
				 errhint("color_ids[i] is the color of item_nos[i].")));
	guide_type = bc_read_guide_type_arg(PG_GETARG_TEXT_PP(2));
	condition = bc_read_condition_arg(PG_GETARG_TEXT_PP(3));
	item_type = bc_read_item_type_arg(PG_GETARG_TEXT_PP(4));
	wait_usec = bc_read_wait_arg(fcinfo, 5);
	InitMaterializedSRF(fcinfo, 0);

	bc_batch_start(&b, fcinfo, n, 1, false, wait_usec);
	for (int i = 0; i < n; i++)
	{
		BcKey		key;
		char		no[BC_READ_ITEM_NO_BUF];

		bc_read_item_no_arg(DatumGetTextPP(elems[i]), no);
		bc_read_key_init(&key, BC_DS_PRICE, item_type, no,
						 bc_read_color_arg(colors ? DatumGetInt32(colors[i]) : color_id),
						 guide_type, condition);
		(void) bc_batch_add(&b, &key, 1);
	}
	bc_batch_finish(&b);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bc_get_prices_sql);

/*
 * bc_get_prices_sql implements brickcat.get_prices(item_nos, color_id, ...).
 */
Datum
bc_get_prices_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("color_id must not be NULL")));
	return bc_batch_prices(fcinfo, PG_GETARG_INT32(1), NULL);
}

PG_FUNCTION_INFO_V1(bc_get_prices_colors_sql);

/*
 * bc_get_prices_colors_sql implements brickcat.get_prices(item_nos,
 * color_ids, ...): color_ids[i] is the color of item_nos[i].
 */
Datum
bc_get_prices_colors_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("color_ids must not be NULL")));
	return bc_batch_prices(fcinfo, 0, PG_GETARG_ARRAYTYPE_P(1));
}

/* validate_freshness: collects the stored price guides of one item. */
typedef struct BcGuideList
{
	BcRead	   *reads;
	int			nreads;
	int			cap;
	const char *item_type;
	const char *item_no;
} BcGuideList;

/*
 * bc_validate_guide_cb adds one stored price guide to the list of reads.
 */
static void
bc_validate_guide_cb(void *arg, HeapTuple tup, TupleDesc desc)
{
	BcGuideList *gl = arg;
	bool		isnull;
	int32		color_id;
	char	   *guide_type;
	char	   *cond;

	color_id = DatumGetInt32(heap_getattr(tup, 3, desc, &isnull));
	guide_type = TextDatumGetCString(heap_getattr(tup, 4, desc, &isnull));
	cond = TextDatumGetCString(heap_getattr(tup, 5, desc, &isnull));
	heap_freetuple(tup);
	if (gl->nreads == gl->cap)
	{
		gl->cap *= 2;
		gl->reads = repalloc(gl->reads, sizeof(BcRead) * gl->cap);
	}
	memset(&gl->reads[gl->nreads], 0, sizeof(BcRead));
	bc_read_key_init(&gl->reads[gl->nreads].key, BC_DS_PRICE, gl->item_type,
					 gl->item_no, color_id,
					 strcmp(guide_type, "stock") == 0 ? "stock" : "sold",
					 cond[0] == 'U' ? 'U' : 'N');
	/* one read per guide, whatever the currency */
	for (int i = 2; i < gl->nreads; i++)
	{
		if (strcmp(gl->reads[i].key.target, gl->reads[gl->nreads].key.target) == 0)
			return;
	}
	gl->nreads++;
}

PG_FUNCTION_INFO_V1(bc_validate_freshness_sql);

/*
 * bc_validate_freshness_sql implements brickcat.validate_freshness(item_nos,
 * item_type): per item the freshness of its data, colors and each stored
 * price guide, and the refresh it queued (background for stale, on demand
 * for expired or missing).
 */
Datum
bc_validate_freshness_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *elems;
	int			n;
	const char *item_type;
	HTAB	   *seen;
	BcGuideList gl;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_nos and item_type must not be NULL")));
	n = bc_batch_array(PG_GETARG_ARRAYTYPE_P(0), "item_nos", TEXTOID, &elems);
	item_type = bc_read_item_type_arg(PG_GETARG_TEXT_PP(1));
	InitMaterializedSRF(fcinfo, 0);
	seen = bc_batch_keys(n);

	gl.cap = 8;
	gl.reads = palloc(sizeof(BcRead) * gl.cap);
	for (int i = 0; i < n; i++)
	{
		char		no[BC_READ_ITEM_NO_BUF];
		BcKey		key;
		bool		found;
		BcScanner  *sc;

		bc_read_item_no_arg(DatumGetTextPP(elems[i]), no);
		bc_read_key_init(&key, BC_DS_ITEM, item_type, no, 0, NULL, 0);
		hash_search(seen, key.target, HASH_ENTER, &found);
		if (found)
			continue;

		memset(gl.reads, 0, sizeof(BcRead) * 2);
		gl.reads[0].key = key;
		bc_read_key_init(&gl.reads[1].key, BC_DS_COLORS, item_type, no, 0, NULL, 0);
		gl.nreads = 2;
		gl.item_type = item_type;
		gl.item_no = no;
		sc = bc_scan_begin();
		bc_scan_price_guides(sc, item_type, no, GetActiveSnapshot(),
							 bc_validate_guide_cb, &gl);
		bc_scan_end(sc);

		bc_read_run(gl.reads, gl.nreads, 0, NULL, NULL);
		for (int j = 0; j < gl.nreads; j++)
		{
			BcRead	   *r = &gl.reads[j];
			Datum		values[8];
			bool		nulls[8] = {0};
			static const char *const ds_names[] = {"item", "colors", "price"};

			values[0] = CStringGetTextDatum(no);
			values[1] = CStringGetTextDatum(ds_names[r->key.ds]);
			values[2] = CStringGetTextDatum(r->key.target);
			values[3] = bc_freshness_datum(r->freshness);
			values[4] = TimestampTzGetDatum(r->data.fetched_at);
			nulls[4] = r->data.fetched_isnull;
			values[5] = TimestampTzGetDatum(bc_read_next_refresh_at(r));
			nulls[6] = r->queued == NULL;
			if (r->queued)
				values[6] = CStringGetTextDatum(r->queued);
			nulls[7] = r->error_message == NULL;
			if (r->error_message)
				values[7] = CStringGetTextDatum(r->error_message);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
