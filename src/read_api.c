/*-------------------------------------------------------------------------
 *
 * read_api.c
 *	  The single-key read functions: brickcat.get_item, brickcat.part,
 *	  brickcat.get_price and brickcat.get_known_colors.
 *
 * Each checks its arguments (raising only for bad ones), answers from the
 * per-transaction memo when it can, otherwise runs the read engine
 * (read_core.c) and remembers the answer.  Upstream trouble never raises: it
 * shows in the source, error_code and error_message columns.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "demand.h"
#include "read.h"

/*
 * bc_api_not_null raises when argument argno is NULL.
 */
static void
bc_api_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("Only wait may be NULL (it then means brickcat.read_wait).")));
}

/*
 * bc_api_result_desc returns the (reference-counted) descriptor of the
 * function's composite result type; release it with ReleaseTupleDesc.
 */
static TupleDesc
bc_api_result_desc(FunctionCallInfo fcinfo)
{
	Oid			typid = get_fn_expr_rettype(fcinfo->flinfo);
	TupleDesc	desc;

	if (!OidIsValid(typid))
		typid = get_func_rettype(fcinfo->flinfo->fn_oid);
	desc = lookup_rowtype_tupdesc(typid, -1);
	return desc;
}

/* What the emit callback of a single read builds. */
typedef struct BcApiEmit
{
	TupleDesc	rdesc;
	HeapTuple	tuple;
} BcApiEmit;

/*
 * bc_api_item_emit builds a get_item row for a fresh hit straight from the
 * scan's slot.
 */
static void
bc_api_item_emit(void *arg, BcRead *leader)
{
	BcApiEmit  *e = arg;

	e->tuple = bc_result_item(e->rdesc, leader, leader + 1, bc_scan_item_desc());
}

/*
 * bc_api_get_item answers one get_item read: the item row, its known colors
 * and the annotations.
 */
static Datum
bc_api_get_item(FunctionCallInfo fcinfo, text *item_no, const char *item_type,
				int64 wait_usec)
{
	BcRead		reads[2];
	char		no[BC_READ_ITEM_NO_BUF];
	TupleDesc	rdesc;
	BcMemoEntry *memo;
	HeapTuple	tuple;
	Datum		result;
	BcApiEmit	emit;

	bc_read_item_no_arg(item_no, no);
	memset(reads, 0, sizeof(reads));
	bc_read_key_init(&reads[0].key, BC_DS_ITEM, item_type, no, 0, NULL, 0);
	bc_demand_record(item_type, no);
	rdesc = bc_api_result_desc(fcinfo);

	memo = bc_memo_lookup(reads[0].key.target, wait_usec);
	if (memo)
	{
		result = HeapTupleGetDatum(memo->tuples[0]);
		ReleaseTupleDesc(rdesc);
		return result;
	}

	reads[0].counted = true;
	bc_read_key_init(&reads[1].key, BC_DS_COLORS, item_type, no, 0, NULL, 0);
	reads[1].leader = &reads[0];
	emit.rdesc = rdesc;
	emit.tuple = NULL;
	bc_read_run(reads, 2, wait_usec, bc_api_item_emit, &emit);

	tuple = emit.tuple ? emit.tuple :
		bc_result_item(rdesc, &reads[0], &reads[1], bc_scan_item_desc());
	bc_memo_store(reads[0].key.target, wait_usec, reads[0].source,
				  &tuple, 1);
	result = HeapTupleGetDatum(tuple);
	ReleaseTupleDesc(rdesc);
	return result;
}

PG_FUNCTION_INFO_V1(bc_get_item_sql);

/*
 * bc_get_item_sql implements brickcat.get_item(item_no, item_type, wait).
 */
Datum
bc_get_item_sql(PG_FUNCTION_ARGS)
{
	bc_api_not_null(fcinfo, 0, "item_no");
	bc_api_not_null(fcinfo, 1, "item_type");
	return bc_api_get_item(fcinfo, PG_GETARG_TEXT_PP(0),
						   bc_read_item_type_arg(PG_GETARG_TEXT_PP(1)),
						   bc_read_wait_arg(fcinfo, 2));
}

PG_FUNCTION_INFO_V1(bc_part_sql);

/*
 * bc_part_sql implements brickcat.part(item_no): get_item of a PART with the
 * default wait.
 */
Datum
bc_part_sql(PG_FUNCTION_ARGS)
{
	bc_api_not_null(fcinfo, 0, "item_no");
	return bc_api_get_item(fcinfo, PG_GETARG_TEXT_PP(0), "PART",
						   bc_read_wait.usec);
}

PG_FUNCTION_INFO_V1(bc_get_price_sql);

/*
 * bc_get_price_sql implements brickcat.get_price(item_no, color_id,
 * guide_type, condition, item_type, wait).
 */
Datum
bc_get_price_sql(PG_FUNCTION_ARGS)
{
	BcRead		read;
	char		no[BC_READ_ITEM_NO_BUF];
	TupleDesc	rdesc;
	BcMemoEntry *memo;
	HeapTuple	tuple;
	Datum		result;
	int64		wait_usec;

	bc_api_not_null(fcinfo, 0, "item_no");
	bc_api_not_null(fcinfo, 1, "color_id");
	bc_api_not_null(fcinfo, 2, "guide_type");
	bc_api_not_null(fcinfo, 3, "condition");
	bc_api_not_null(fcinfo, 4, "item_type");
	bc_read_item_no_arg(PG_GETARG_TEXT_PP(0), no);
	memset(&read, 0, sizeof(read));
	bc_read_key_init(&read.key, BC_DS_PRICE,
					 bc_read_item_type_arg(PG_GETARG_TEXT_PP(4)), no,
					 bc_read_color_arg(PG_GETARG_INT32(1)),
					 bc_read_guide_type_arg(PG_GETARG_TEXT_PP(2)),
					 bc_read_condition_arg(PG_GETARG_TEXT_PP(3)));
	wait_usec = bc_read_wait_arg(fcinfo, 5);
	bc_demand_record(read.key.item_type, no);
	rdesc = bc_api_result_desc(fcinfo);

	memo = bc_memo_lookup(read.key.target, wait_usec);
	if (memo)
	{
		result = HeapTupleGetDatum(memo->tuples[0]);
		ReleaseTupleDesc(rdesc);
		return result;
	}
	read.counted = true;
	bc_read_run(&read, 1, wait_usec, NULL, NULL);
	tuple = bc_result_price(rdesc, &read, bc_scan_price_desc());
	bc_memo_store(read.key.target, wait_usec, read.source, &tuple, 1);
	result = HeapTupleGetDatum(tuple);
	ReleaseTupleDesc(rdesc);
	return result;
}

/*
 * bc_api_color_rows builds the get_known_colors rows of a colors read: one
 * per known color, or a single row of annotations when none is known.
 */
static HeapTuple *
bc_api_color_rows(TupleDesc rdesc, BcRead *r, int *ntuples)
{
	int			n = r->data.ncolors;
	HeapTuple  *tuples = palloc(sizeof(HeapTuple) * Max(n, 1));
	BcScanner  *sc;

	if (n == 0)
	{
		tuples[0] = bc_result_color(rdesc, r, -1, (Datum) 0, true, (Datum) 0, true);
		*ntuples = 1;
		return tuples;
	}
	sc = bc_scan_begin();
	for (int i = 0; i < n; i++)
	{
		Datum		name = (Datum) 0;
		Datum		rgb = (Datum) 0;
		bool		rgb_isnull = true;
		bool		known;

		known = bc_scan_color_info(sc, r->data.colors[i].color_id,
								   GetActiveSnapshot(), &name, &rgb, &rgb_isnull);
		tuples[i] = bc_result_color(rdesc, r, i, name, !known, rgb, rgb_isnull);
	}
	bc_scan_end(sc);
	*ntuples = n;
	return tuples;
}

PG_FUNCTION_INFO_V1(bc_get_known_colors_sql);

/*
 * bc_get_known_colors_sql implements brickcat.get_known_colors(item_no,
 * item_type, wait): one row per known color with the annotations.
 */
Datum
bc_get_known_colors_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BcRead		read;
	char		no[BC_READ_ITEM_NO_BUF];
	BcMemoEntry *memo;
	HeapTuple  *tuples;
	int			ntuples;
	int64		wait_usec;

	bc_api_not_null(fcinfo, 0, "item_no");
	bc_api_not_null(fcinfo, 1, "item_type");
	bc_read_item_no_arg(PG_GETARG_TEXT_PP(0), no);
	memset(&read, 0, sizeof(read));
	bc_read_key_init(&read.key, BC_DS_COLORS,
					 bc_read_item_type_arg(PG_GETARG_TEXT_PP(1)), no, 0, NULL, 0);
	read.key.with_quantity = true;
	wait_usec = bc_read_wait_arg(fcinfo, 2);
	InitMaterializedSRF(fcinfo, 0);
	bc_demand_record(read.key.item_type, no);

	memo = bc_memo_lookup(read.key.target, wait_usec);
	if (memo)
	{
		tuples = memo->tuples;
		ntuples = memo->ntuples;
	}
	else
	{
		read.counted = true;
		bc_read_run(&read, 1, wait_usec, NULL, NULL);
		tuples = bc_api_color_rows(rsinfo->setDesc, &read, &ntuples);
		bc_memo_store(read.key.target, wait_usec, read.source, tuples, ntuples);
	}
	for (int i = 0; i < ntuples; i++)
		tuplestore_puttuple(rsinfo->setResult, tuples[i]);
	return (Datum) 0;
}
