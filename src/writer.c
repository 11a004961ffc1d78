/*-------------------------------------------------------------------------
 *
 * writer.c
 *	  Stores what BrickLink answered: catalog rows mapped from the JSON, the
 *	  failure marks that leave the last good data as it was, the negative
 *	  cache, and the per-call log brickcat.api_call.
 *
 * Every function runs inside the worker's transaction with SPI connected;
 * the worker wraps each store in a subtransaction so that a value the
 * tables refuse becomes a bad_response, not a worker crash.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/timestamp.h"

#include "bricklink_client.h"
#include "worker.h"

#define BC_WRITER_MAX_ARGS 24

/* Kept plans, one per statement. */
typedef enum BcWriterStmt
{
	BC_W_CALL_BEGIN = 0,
	BC_W_CALL_BEGIN_MANY,
	BC_W_CALL_END,
	BC_W_CALL_END_OK_MANY,
	BC_W_CALL_UNSENT,
	BC_W_ITEM,
	BC_W_ITEM_FINISH,
	BC_W_COLORS_DELETE,
	BC_W_COLORS_INSERT,
	BC_W_COLOR_SET,
	BC_W_PRICE,
	BC_W_COLOR_LIST,
	BC_W_CATEGORY_LIST,
	BC_W_FAIL_ITEM,
	BC_W_FAIL_COLORS,
	BC_W_FAIL_PRICE,
	BC_W_NOT_FOUND,
	BC_W_FOUND,
	BC_W_COUNT
} BcWriterStmt;

typedef struct BcWriterSql
{
	const char *sql;
	int			nargs;
	Oid			types[BC_WRITER_MAX_ARGS];
} BcWriterSql;

#define T TEXTOID
#define I INT4OID
#define TS TIMESTAMPTZOID

/*
 * The item upsert: one row per element of the arrays $1..$15, stored at $16.
 * OFFSET 0 keeps the NOT EXISTS a probe of item's primary key for each row,
 * not a hash of all of item.  A new item gets the known colors stored before
 * it (the trigger checks them).
 */
#define BC_W_ITEM_SQL \
	"INSERT INTO brickcat.item AS i (item_type, item_no, name, category_id, alternate_no," \
	"  image_url, thumbnail_url, weight, dim_x, dim_y, dim_z, year_released, is_obsolete," \
	"  decoration, description, language_code, fetched_at, last_attempt_at, last_error, origin," \
	"  colors_copy_fetched_at, color_ids_copy)" \
	" SELECT t, no, nm, cat, alt, img, thumb, w::numeric, x::numeric, y::numeric, z::numeric," \
	"  yr::smallint, obs," \
	"  coalesce(brickcat.decoration(no, nm, (SELECT c.category_name FROM brickcat.category c" \
	"                                       WHERE c.category_id = cat)), 'plain')," \
	"  descr, lang, $16, $16, NULL, 'api', s.colors_fetched_at, s.color_ids" \
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::text[]," \
	"  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int4[], $13::bool[]," \
	"  $14::text[], $15::text[])" \
	"  u(t, no, nm, cat, alt, img, thumb, w, x, y, z, yr, obs, descr, lang)" \
	" LEFT JOIN LATERAL (SELECT s.colors_fetched_at, s.color_ids FROM brickcat.item_color_set s" \
	"                     WHERE s.item_type = u.t AND s.item_no = u.no AND NOT EXISTS" \
	"                      (SELECT FROM brickcat.item x WHERE x.item_type = u.t AND x.item_no = u.no" \
	"                        OFFSET 0)" \
	"                   ) s ON true" \
	" ON CONFLICT (item_type, item_no) DO UPDATE SET" \
	"  name = EXCLUDED.name, category_id = EXCLUDED.category_id," \
	"  alternate_no = EXCLUDED.alternate_no, image_url = EXCLUDED.image_url," \
	"  thumbnail_url = EXCLUDED.thumbnail_url, weight = EXCLUDED.weight," \
	"  dim_x = EXCLUDED.dim_x, dim_y = EXCLUDED.dim_y, dim_z = EXCLUDED.dim_z," \
	"  year_released = EXCLUDED.year_released, is_obsolete = EXCLUDED.is_obsolete," \
	"  decoration = EXCLUDED.decoration, description = EXCLUDED.description," \
	"  language_code = EXCLUDED.language_code, fetched_at = EXCLUDED.fetched_at," \
	"  last_attempt_at = EXCLUDED.last_attempt_at, last_error = NULL, origin = 'api'"

/*
 * The completion of calls answered OK: log rows picked by call id (C), with
 * durations D, HTTP status S, meta codes M, bytes B and started_at T (arrays
 * in C's order), and their jobs (J) finished as done at NOW.
 */
#define BC_W_FINISH_CTES(C, D, S, M, B, J, NOW, T) \
	"done_jobs AS (UPDATE brickcat.fetch_queue" \
	"   SET state = 'done', lease_until = NULL, last_outcome = 'ok', last_error = NULL," \
	"       reason = NULL, finished_at = " NOW \
	" WHERE job_id = ANY (" J "::int8[]) RETURNING 1)," \
	" done_calls AS (UPDATE brickcat.api_call SET" \
	" duration_us = (" D "::int8[])[array_position(" C "::int8[], call_id)]," \
	" http_status = (" S "::int4[])[array_position(" C "::int8[], call_id)]," \
	" meta_code = (" M "::int4[])[array_position(" C "::int8[], call_id)]," \
	" outcome = 'ok', bytes = (" B "::int8[])[array_position(" C "::int8[], call_id)]," \
	" started_at = (" T "::timestamptz[])[array_position(" C "::int8[], call_id)]," \
	" error = NULL WHERE call_id = ANY (" C "::int8[]) RETURNING 1)"

/* Types of the arrays of BC_W_FINISH_CTES, in the order C, D, S, M, B, J. */
#define BC_W_FINISH_TYPES \
	INT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID

/* Types of BC_W_ITEM_SQL's arguments. */
#define BC_W_ITEM_TYPES \
	TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, \
	TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, \
	BOOLARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID

static const BcWriterSql bc_writer_sql[BC_W_COUNT] = {
	[BC_W_CALL_BEGIN] = {
		"INSERT INTO brickcat.api_call (started_at, endpoint, target, job_id, attempt, priority)"
		" VALUES ($1, $2::brickcat.job_kind, $3, $4, $5, $6::brickcat.priority)"
		" RETURNING call_id",
	6, {TS, T, T, INT8OID, I, T}},
	[BC_W_CALL_BEGIN_MANY] = {
		"INSERT INTO brickcat.api_call (started_at, endpoint, target, job_id, attempt, priority)"
		" SELECT $1, k::brickcat.job_kind, t, j, a, p::brickcat.priority"
		"   FROM unnest($2::text[], $3::text[], $4::int8[], $5::int4[], $6::text[]) u(k, t, j, a, p)"
		" RETURNING job_id, call_id",
	6, {TS, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID}},
	[BC_W_CALL_END] = {
		"UPDATE brickcat.api_call SET duration_us = $2, http_status = $3, meta_code = $4,"
		" outcome = $5, bytes = $6, error = $7, started_at = $8 WHERE call_id = $1",
	8, {INT8OID, INT8OID, I, I, T, INT8OID, T, TS}},
	/* rows picked by = ANY: run through bc_writer_execute_by_key */
	[BC_W_CALL_END_OK_MANY] = {
		"WITH " BC_W_FINISH_CTES("$2", "$3", "$4", "$5", "$6", "$7", "$1", "$8")
		" SELECT (SELECT count(*) FROM done_jobs), (SELECT count(*) FROM done_calls)",
	8, {TS, BC_W_FINISH_TYPES, TIMESTAMPTZARRAYOID}},
	[BC_W_CALL_UNSENT] = {
		"DELETE FROM brickcat.api_call WHERE call_id = $1 AND outcome IS NULL",
	1, {INT8OID}},
	/* run through bc_writer_execute_by_key, like the two below */
	[BC_W_ITEM] = {BC_W_ITEM_SQL, 16, {BC_W_ITEM_TYPES}},
	/* the items and the completion of all the calls stored with them */
	[BC_W_ITEM_FINISH] = {
		"WITH " BC_W_FINISH_CTES("$17", "$18", "$19", "$20", "$21", "$22", "$16", "$23")
		" " BC_W_ITEM_SQL
		" RETURNING (SELECT count(*) FROM done_jobs), (SELECT count(*) FROM done_calls)",
	23, {BC_W_ITEM_TYPES, BC_W_FINISH_TYPES, TIMESTAMPTZARRAYOID}},
	[BC_W_COLORS_DELETE] = {
		"DELETE FROM brickcat.item_color WHERE item_type = $1 AND item_no = $2",
	2, {T, T}},
	[BC_W_COLORS_INSERT] = {
		"INSERT INTO brickcat.item_color (item_type, item_no, color_id, quantity)"
		" SELECT $1, $2, c, q FROM unnest($3::int[], $4::int[]) u(c, q)"
		" ON CONFLICT (item_type, item_no, color_id) DO UPDATE SET quantity = EXCLUDED.quantity",
	4, {T, T, INT4ARRAYOID, INT4ARRAYOID}},
	[BC_W_COLOR_SET] = {
		"INSERT INTO brickcat.item_color_set (item_type, item_no, colors_fetched_at,"
		"  last_attempt_at, last_error) VALUES ($1, $2, $3, $3, NULL)"
		" ON CONFLICT (item_type, item_no) DO UPDATE SET"
		"  colors_fetched_at = EXCLUDED.colors_fetched_at,"
		"  last_attempt_at = EXCLUDED.last_attempt_at, last_error = NULL",
	3, {T, T, TS}},
	[BC_W_PRICE] = {
		"INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition,"
		"  currency, min_price, max_price, avg_price, qty_avg_price, unit_quantity,"
		"  total_quantity, fetched_at, last_attempt_at, last_error)"
		" VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::numeric, 0), coalesce($8::numeric, 0),"
		"  coalesce($9::numeric, 0), coalesce($10::numeric, 0), $11::bigint, $12::bigint,"
		"  $13, $13, NULL)"
		" ON CONFLICT (item_type, item_no, color_id, guide_type, condition, currency)"
		" DO UPDATE SET min_price = EXCLUDED.min_price, max_price = EXCLUDED.max_price,"
		"  avg_price = EXCLUDED.avg_price, qty_avg_price = EXCLUDED.qty_avg_price,"
		"  unit_quantity = EXCLUDED.unit_quantity, total_quantity = EXCLUDED.total_quantity,"
		"  fetched_at = EXCLUDED.fetched_at, last_attempt_at = EXCLUDED.last_attempt_at,"
		"  last_error = NULL",
	13, {T, T, I, T, T, T, T, T, T, T, INT8OID, INT8OID, TS}},
	[BC_W_COLOR_LIST] = {
		"INSERT INTO brickcat.color (color_id, color_name, color_code, color_type, fetched_at, origin)"
		" SELECT i, n, c, t, $5, 'api' FROM unnest($1::int[], $2::text[], $3::text[], $4::text[])"
		"   u(i, n, c, t)"
		" ON CONFLICT (color_id) DO UPDATE SET color_name = EXCLUDED.color_name,"
		"  color_code = EXCLUDED.color_code, color_type = EXCLUDED.color_type,"
		"  fetched_at = EXCLUDED.fetched_at, origin = 'api'",
	5, {INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TS}},
	[BC_W_CATEGORY_LIST] = {
		"INSERT INTO brickcat.category (category_id, category_name, parent_id, fetched_at, origin)"
		" SELECT i, n, p, $4, 'api' FROM unnest($1::int[], $2::text[], $3::int[]) u(i, n, p)"
		" ON CONFLICT (category_id) DO UPDATE SET category_name = EXCLUDED.category_name,"
		"  parent_id = EXCLUDED.parent_id, fetched_at = EXCLUDED.fetched_at, origin = 'api'",
	4, {INT4ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TS}},
	[BC_W_FAIL_ITEM] = {
		"UPDATE brickcat.item SET last_attempt_at = $3, last_error = $4"
		" WHERE item_type = $1 AND item_no = $2",
	4, {T, T, TS, T}},
	[BC_W_FAIL_COLORS] = {
		"INSERT INTO brickcat.item_color_set (item_type, item_no, last_attempt_at, last_error)"
		" VALUES ($1, $2, $3, $4)"
		" ON CONFLICT (item_type, item_no) DO UPDATE SET"
		"  last_attempt_at = EXCLUDED.last_attempt_at, last_error = EXCLUDED.last_error",
	4, {T, T, TS, T}},
	[BC_W_FAIL_PRICE] = {
		"INSERT INTO brickcat.price_guide (item_type, item_no, color_id, guide_type, condition,"
		"  currency, last_attempt_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
		" ON CONFLICT (item_type, item_no, color_id, guide_type, condition, currency)"
		" DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,"
		"  last_error = EXCLUDED.last_error",
	8, {T, T, I, T, T, T, TS, T}},
	[BC_W_NOT_FOUND] = {
		"INSERT INTO brickcat.not_found (target, checked_at) VALUES ($1, $2)"
		" ON CONFLICT (target) DO UPDATE SET checked_at = EXCLUDED.checked_at",
	2, {T, TS}},
	[BC_W_FOUND] = {
		"DELETE FROM brickcat.not_found WHERE target = $1",
	1, {T}},
};

#undef T
#undef I
#undef TS

static SPIPlanPtr bc_writer_plans[BC_W_COUNT];

static Datum bc_writer_array(Datum *d, bool *nulls, int n, Oid elem);

/* Arguments being assembled for one statement. */
typedef struct BcArgs
{
	int			n;
	Datum		values[BC_WRITER_MAX_ARGS];
	char		nulls[BC_WRITER_MAX_ARGS + 1];
} BcArgs;

/*
 * bc_args_reset empties an argument list.
 */
static void
bc_args_reset(BcArgs *a)
{
	a->n = 0;
	memset(a->nulls, ' ', BC_WRITER_MAX_ARGS);
	a->nulls[BC_WRITER_MAX_ARGS] = '\0';
}

/*
 * bc_args_text appends a text argument (NULL when s is NULL).
 */
static void
bc_args_text(BcArgs *a, const char *s)
{
	if (s == NULL)
		a->nulls[a->n] = 'n';
	else
		a->values[a->n] = CStringGetTextDatum(s);
	a->n++;
}

/*
 * bc_args_datum appends a datum argument, null when isnull.
 */
static void
bc_args_datum(BcArgs *a, Datum d, bool isnull)
{
	a->values[a->n] = d;
	if (isnull)
		a->nulls[a->n] = 'n';
	a->n++;
}

/*
 * bc_writer_plan returns statement stmt's kept plan, preparing it first.
 */
static SPIPlanPtr
bc_writer_plan(BcWriterStmt stmt)
{
	const BcWriterSql *s = &bc_writer_sql[stmt];

	if (bc_writer_plans[stmt] == NULL)
	{
		/*
		 * Generic plans: the planner would keep preferring custom plans for
		 * the statements over unnest($n), whose generic row estimate is
		 * high, and re-plan them at every call.
		 */
		SPIPlanPtr	plan = SPI_prepare_cursor(s->sql, s->nargs, (Oid *) s->types,
											  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "brickcat: could not prepare \"%s\": %s", s->sql,
				 SPI_result_code_string(SPI_result));
		bc_writer_plans[stmt] = plan;
	}
	return bc_writer_plans[stmt];
}

/*
 * bc_writer_exec runs statement stmt with args, returning SPI's code.
 */
static int
bc_writer_exec(BcWriterStmt stmt, BcArgs *a)
{
	const BcWriterSql *s = &bc_writer_sql[stmt];
	int			rc;

	Assert(a->n == s->nargs);
	rc = SPI_execute_plan(bc_writer_plan(stmt), a->values, a->nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "brickcat: \"%s\" failed: %s", s->sql, SPI_result_code_string(rc));
	return rc;
}

/*
 * bc_writer_plan_made says whether every statement of a kept plan has its
 * generic plan made and still valid, so that running it plans nothing.
 */
static bool
bc_writer_plan_made(SPIPlanPtr plan)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);

		if (!ps->is_valid || ps->gplan == NULL || !ps->gplan->is_valid ||
			TransactionIdIsValid(ps->gplan->saved_xmin))
			return false;
	}
	return true;
}

/*
 * bc_writer_execute_by_key runs a kept plan that picks a handful of rows by
 * key ("key = ANY ($1)", or a join on a primary key) with sequential and
 * bitmap scans, hash and merge joins disabled, so that the plan it gets (a
 * generic one is kept for good) probes the keys' indexes row by row even
 * when it was made while the tables were small: a sequential scan of a grown
 * queue or call log for a handful of rows would cost more than all else a
 * round does, and setting up a hash table or a bitmap for four rows costs
 * more than probing them.  The settings only matter when the plan is made:
 * a generic plan already made and still valid runs without them (setting and
 * restoring four settings costs about as much as the statement's key probes).
 */
int
bc_writer_execute_by_key(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	static const char *const off[] = {
		"enable_seqscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin"
	};
	int			nestlevel;
	int			rc;

	if (bc_writer_plan_made(plan))
		return SPI_execute_plan(plan, values, nulls, false, 0);
	nestlevel = NewGUCNestLevel();
	for (int i = 0; i < lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	AtEOXact_GUC(true, nestlevel);
	return rc;
}

/*
 * bc_writer_call_begin logs the start of a call in brickcat.api_call and
 * returns the row's id.
 */
int64
bc_writer_call_begin(const BcJob *job, TimestampTz started_at)
{
	BcArgs		a;
	bool		isnull;

	bc_args_reset(&a);
	bc_args_datum(&a, TimestampTzGetDatum(started_at), false);
	bc_args_text(&a, bc_job_kind_name(job->kind));
	bc_args_text(&a, job->target);
	bc_args_datum(&a, Int64GetDatum(job->job_id), false);
	bc_args_datum(&a, Int32GetDatum(job->attempt), false);
	bc_args_text(&a, bc_job_priority_name(job->priority));
	if (bc_writer_exec(BC_W_CALL_BEGIN, &a) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "brickcat: logging a call failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * bc_writer_call_begin_many logs the start of n calls in brickcat.api_call
 * with one statement, setting each job's call_id.
 */
void
bc_writer_call_begin_many(BcJob *jobs, int n, TimestampTz started_at)
{
	BcArgs		a;
	Datum	   *kinds;
	Datum	   *targets;
	Datum	   *ids;
	Datum	   *attempts;
	Datum	   *prios;

	if (n <= 1)
	{
		if (n == 1)
		{
			jobs[0].call_id = bc_writer_call_begin(&jobs[0], started_at);
			jobs[0].logged_at = started_at;
		}
		return;
	}
	kinds = palloc(sizeof(Datum) * n);
	targets = palloc(sizeof(Datum) * n);
	ids = palloc(sizeof(Datum) * n);
	attempts = palloc(sizeof(Datum) * n);
	prios = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		kinds[i] = CStringGetTextDatum(bc_job_kind_name(jobs[i].kind));
		targets[i] = CStringGetTextDatum(jobs[i].target);
		ids[i] = Int64GetDatum(jobs[i].job_id);
		attempts[i] = Int32GetDatum(jobs[i].attempt);
		prios[i] = CStringGetTextDatum(bc_job_priority_name(jobs[i].priority));
	}
	bc_args_reset(&a);
	bc_args_datum(&a, TimestampTzGetDatum(started_at), false);
	bc_args_datum(&a, PointerGetDatum(construct_array(kinds, n, TEXTOID, -1, false,
													  TYPALIGN_INT)), false);
	bc_args_datum(&a, PointerGetDatum(construct_array(targets, n, TEXTOID, -1, false,
													  TYPALIGN_INT)), false);
	bc_args_datum(&a, PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64),
													  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)), false);
	bc_args_datum(&a, PointerGetDatum(construct_array(attempts, n, INT4OID, sizeof(int32),
													  true, TYPALIGN_INT)), false);
	bc_args_datum(&a, PointerGetDatum(construct_array(prios, n, TEXTOID, -1, false,
													  TYPALIGN_INT)), false);
	if (bc_writer_exec(BC_W_CALL_BEGIN_MANY, &a) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != (uint64) n)
		elog(ERROR, "brickcat: logging calls failed");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
														 SPI_tuptable->tupdesc, 1, &isnull));
		int64		call_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
														  SPI_tuptable->tupdesc, 2, &isnull));

		for (int i = 0; i < n; i++)
		{
			if (jobs[i].job_id == job_id)
			{
				jobs[i].call_id = call_id;
				jobs[i].logged_at = started_at;
			}
		}
	}
}

/*
 * bc_writer_call_end completes a call's log row with how it went and when
 * it was sent (it may have been logged a little ahead).
 */
void
bc_writer_call_end(int64 call_id, TimestampTz sent_at, int64 duration_us, int http_status,
				   int meta_code, BcOutcome outcome, int64 bytes, const char *error)
{
	BcArgs		a;

	bc_args_reset(&a);
	bc_args_datum(&a, Int64GetDatum(call_id), false);
	bc_args_datum(&a, Int64GetDatum(duration_us), false);
	bc_args_datum(&a, Int32GetDatum(http_status), http_status == 0);
	bc_args_datum(&a, Int32GetDatum(meta_code), meta_code == 0);
	bc_args_text(&a, bc_outcome_name(outcome));
	bc_args_datum(&a, Int64GetDatum(bytes), false);
	bc_args_text(&a, error);
	bc_args_datum(&a, TimestampTzGetDatum(sent_at), false);
	bc_writer_exec(BC_W_CALL_END, &a);
}

/*
 * bc_writer_call_unsent removes the log row of a call logged ahead that
 * was never sent (its job went back to the queue).
 */
void
bc_writer_call_unsent(int64 call_id)
{
	BcArgs		a;

	bc_args_reset(&a);
	bc_args_datum(&a, Int64GetDatum(call_id), false);
	bc_writer_exec(BC_W_CALL_UNSENT, &a);
}

/*
 * bc_writer_int8_array builds an int8[] datum from n values.
 */
static Datum
bc_writer_int8_array(const int64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/*
 * bc_writer_finish_run appends fin's arrays (C, D, S, M, B, J, then T, of
 * BC_W_FINISH_CTES; a zero meta code or HTTP status is NULL) to a's
 * arguments, runs stmt, which must answer rc, and reads how many job and log
 * rows it updated into fin (columns 1 and 2 of its first row).
 */
static void
bc_writer_finish_run(BcWriterStmt stmt, BcArgs *a, int rc, BcWriterFinish *fin)
{
	int			n = fin->n;
	Datum		st[BC_WORKER_STORE_MAX];
	Datum		mc[BC_WORKER_STORE_MAX];
	Datum		sent[BC_WORKER_STORE_MAX];
	bool		stnull[BC_WORKER_STORE_MAX];
	bool		mcnull[BC_WORKER_STORE_MAX];
	bool		isnull;

	for (int i = 0; i < n; i++)
	{
		st[i] = Int32GetDatum(fin->http_status[i]);
		stnull[i] = fin->http_status[i] == 0;
		mc[i] = Int32GetDatum(fin->meta_codes[i]);
		mcnull[i] = fin->meta_codes[i] == 0;
		sent[i] = TimestampTzGetDatum(fin->sent_at[i]);
	}
	bc_args_datum(a, bc_writer_int8_array(fin->call_ids, n), false);
	bc_args_datum(a, bc_writer_int8_array(fin->durations, n), false);
	bc_args_datum(a, bc_writer_array(st, stnull, n, INT4OID), false);
	bc_args_datum(a, bc_writer_array(mc, mcnull, n, INT4OID), false);
	bc_args_datum(a, bc_writer_int8_array(fin->bytes, n), false);
	bc_args_datum(a, bc_writer_int8_array(fin->job_ids, n), false);
	bc_args_datum(a, bc_writer_array(sent, NULL, n, TIMESTAMPTZOID), false);
	if (bc_writer_execute_by_key(bc_writer_plan(stmt), a->values, a->nulls) != rc)
		elog(ERROR, "brickcat: finishing jobs answered OK failed");
	fin->done = true;
	fin->jobs_done = -1;
	fin->calls_done = -1;
	if (SPI_processed < 1 || SPI_tuptable == NULL)
		return;
	fin->jobs_done = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));
	fin->calls_done = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * bc_writer_finish_check raises an error unless every log row and job of
 * fin was finished.
 */
void
bc_writer_finish_check(const BcWriterFinish *fin)
{
	if (fin->jobs_done != fin->n || fin->calls_done != fin->n)
		elog(ERROR, "brickcat: finishing jobs answered OK failed");
}

/*
 * bc_writer_finish_ok_many completes the log rows of the calls in fin,
 * answered OK (with when each was sent), and finishes their jobs as done,
 * with one statement.
 */
void
bc_writer_finish_ok_many(BcWriterFinish *fin, TimestampTz now)
{
	BcArgs		a;

	bc_args_reset(&a);
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	bc_writer_finish_run(BC_W_CALL_END_OK_MANY, &a, SPI_OK_SELECT, fin);
	bc_writer_finish_check(fin);
}

/*
 * bc_writer_calls_interrupted closes the log rows of calls that never got
 * an answer because a worker exited mid-call.
 */
void
bc_writer_calls_interrupted(void)
{
	if (SPI_execute("UPDATE brickcat.api_call SET outcome = 'interrupted',"
					" error = 'the worker exited before the answer arrived'"
					" WHERE outcome IS NULL", false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "brickcat: closing interrupted calls failed");
}

/*
 * bc_writer_decimal checks that a mapped decimal is not negative, as the
 * catalog's constraints require.
 */
static const char *
bc_writer_nonnegative(const char *field, const char *value, char **err)
{
	if (value != NULL && value[0] == '-' && *err == NULL)
		*err = psprintf("field %s: negative value %s", field, value);
	return value;
}

/* Columns of BC_W_ITEM passed as arrays, one element per item. */
#define BC_WRITER_ITEM_COLS 15

/*
 * bc_writer_array builds a one-dimensional array of n datums of type elem
 * (NULL elements where nulls says so).
 */
static Datum
bc_writer_array(Datum *d, bool *nulls, int n, Oid elem)
{
	int16		len;
	bool		byval;
	char		align;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elem, &len, &byval, &align);
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, elem, len, byval, align));
}

/*
 * bc_writer_item_row maps one item answer into row i of the column arrays;
 * false with *err set when it cannot be stored.
 */
static bool
bc_writer_item_row(const BcJob *job, bc_json_object_t *data, Datum cols[][BC_WORKER_STORE_MAX],
				   bool nulls[][BC_WORKER_STORE_MAX], int i, char **err)
{
	BcItem		it;
	const char *text[BC_WRITER_ITEM_COLS] = {0};
	int			c;

	if (!bc_json_map_item(data, &it, err))
		return false;
	text[0] = job->item_type;
	text[1] = job->item_no;
	text[2] = it.name;
	text[4] = it.alternate_no && it.alternate_no[0] ? it.alternate_no : NULL;
	text[5] = it.image_url;
	text[6] = it.thumbnail_url;
	text[7] = bc_writer_nonnegative("weight", it.weight, err);
	text[8] = bc_writer_nonnegative("dim_x", it.dim_x, err);
	text[9] = bc_writer_nonnegative("dim_y", it.dim_y, err);
	text[10] = bc_writer_nonnegative("dim_z", it.dim_z, err);
	text[13] = it.description && it.description[0] ? it.description : NULL;
	text[14] = it.language_code && it.language_code[0] ? it.language_code : NULL;
	if (it.has_year && (it.year_released < 1900 || it.year_released > 2200) && *err == NULL)
		*err = psprintf("field year_released: implausible year %d", it.year_released);
	for (c = 0; c < BC_WRITER_ITEM_COLS; c++)
	{
		nulls[c][i] = text[c] == NULL;
		cols[c][i] = text[c] ? CStringGetTextDatum(text[c]) : (Datum) 0;
	}
	cols[3][i] = Int32GetDatum(it.category_id);
	nulls[3][i] = !it.has_category;
	cols[11][i] = Int32GetDatum(it.year_released);
	nulls[11][i] = !it.has_year;
	cols[12][i] = BoolGetDatum(it.is_obsolete);
	nulls[12][i] = false;
	bc_json_item_free(&it);
	return *err == NULL;
}

/*
 * bc_writer_items stores the metadata of n items with one statement, which
 * also finishes the calls in fin when it is not NULL (their counts are left
 * in it for bc_writer_finish_check); when one answer cannot be mapped
 * nothing is written, *failed tells which and *err why.
 */
static bool
bc_writer_items(const BcJob *const *jobs, bc_json_object_t *const *datas, int n,
				TimestampTz now, BcWriterFinish *fin, int *failed, char **err)
{
	static const Oid elem[BC_WRITER_ITEM_COLS] = {
		TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, INT4OID, BOOLOID, TEXTOID, TEXTOID
	};
	Datum		cols[BC_WRITER_ITEM_COLS][BC_WORKER_STORE_MAX];
	bool		nulls[BC_WRITER_ITEM_COLS][BC_WORKER_STORE_MAX];
	BcArgs		a;

	Assert(n <= BC_WORKER_STORE_MAX);
	for (int i = 0; i < n; i++)
	{
		if (!bc_writer_item_row(jobs[i], datas[i], cols, nulls, i, err))
		{
			*failed = i;
			return false;
		}
	}
	bc_args_reset(&a);
	for (int c = 0; c < BC_WRITER_ITEM_COLS; c++)
		bc_args_datum(&a, bc_writer_array(cols[c], nulls[c], n, elem[c]), false);
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	if (fin == NULL)
	{
		if (bc_writer_execute_by_key(bc_writer_plan(BC_W_ITEM), a.values,
									 a.nulls) != SPI_OK_INSERT)
			elog(ERROR, "brickcat: storing items failed");
		return true;
	}
	bc_writer_finish_run(BC_W_ITEM_FINISH, &a, SPI_OK_INSERT_RETURNING, fin);
	return true;
}

/*
 * bc_writer_int_array builds an int4[] datum from n values.
 */
static Datum
bc_writer_int_array(const int *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int32GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/*
 * bc_writer_text_array builds a text[] datum from n strings (NULLs kept).
 */
static Datum
bc_writer_text_array(char **v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		nulls[i] = (v[i] == NULL);
		d[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(v[i]);
	}
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false,
											  TYPALIGN_INT));
}

/*
 * bc_writer_colors replaces an item's known colors as a whole.
 */
static bool
bc_writer_colors(const BcJob *job, bc_json_object_t *data, TimestampTz now, char **err)
{
	BcKnownColor *kc = NULL;
	int			n = 0;
	int		   *ids;
	int		   *qty;
	BcArgs		a;

	if (!bc_json_map_known_colors(data, &kc, &n, err))
		return false;
	ids = palloc(sizeof(int) * Max(n, 1));
	qty = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ids[i] = kc[i].color_id;
		qty[i] = kc[i].quantity;
	}
	bc_args_reset(&a);
	bc_args_text(&a, job->item_type);
	bc_args_text(&a, job->item_no);
	bc_writer_exec(BC_W_COLORS_DELETE, &a);
	if (n > 0)
	{
		bc_args_datum(&a, bc_writer_int_array(ids, n), false);
		bc_args_datum(&a, bc_writer_int_array(qty, n), false);
		bc_writer_exec(BC_W_COLORS_INSERT, &a);
		a.n = 2;
	}
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	bc_writer_exec(BC_W_COLOR_SET, &a);
	if (kc)
		pfree(kc);
	return true;
}

/*
 * bc_writer_price stores one price guide; a guide without sales is stored
 * with zeros.
 */
static bool
bc_writer_price(const BcJob *job, bc_json_object_t *data, TimestampTz now, char **err)
{
	BcPriceGuide pg;
	BcArgs		a;
	char		cond[2] = {job->condition, '\0'};

	if (!bc_json_map_price_guide(data, &pg, err))
		return false;
	if ((pg.unit_quantity < 0 || pg.unit_quantity > PG_INT32_MAX ||
		 pg.total_quantity < 0 || pg.total_quantity > PG_INT32_MAX))
	{
		*err = psprintf("price guide quantities out of range");
		bc_json_price_guide_free(&pg);
		return false;
	}
	bc_args_reset(&a);
	bc_args_text(&a, job->item_type);
	bc_args_text(&a, job->item_no);
	bc_args_datum(&a, Int32GetDatum(job->color_id), false);
	bc_args_text(&a, job->sold ? "sold" : "stock");
	bc_args_text(&a, cond);
	bc_args_text(&a, bc_currency);
	bc_args_text(&a, bc_writer_nonnegative("min_price", pg.min_price, err));
	bc_args_text(&a, bc_writer_nonnegative("max_price", pg.max_price, err));
	bc_args_text(&a, bc_writer_nonnegative("avg_price", pg.avg_price, err));
	bc_args_text(&a, bc_writer_nonnegative("qty_avg_price", pg.qty_avg_price, err));
	bc_args_datum(&a, Int64GetDatum(pg.unit_quantity), false);
	bc_args_datum(&a, Int64GetDatum(pg.total_quantity), false);
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	if (*err == NULL && pg.currency_code != NULL && pg.currency_code[0] &&
		pg_strcasecmp(pg.currency_code, bc_currency) != 0)
		*err = psprintf("price guide in %s, asked for %s", pg.currency_code, bc_currency);
	if (*err == NULL)
		bc_writer_exec(BC_W_PRICE, &a);
	bc_json_price_guide_free(&pg);
	return *err == NULL;
}

/*
 * bc_writer_color_list upserts BrickLink's color list.
 */
static bool
bc_writer_color_list(bc_json_object_t *data, TimestampTz now, char **err)
{
	BcColor    *c = NULL;
	int			n = 0;
	int		   *ids;
	char	  **names;
	char	  **codes;
	char	  **types;
	BcArgs		a;

	if (!bc_json_map_colors(data, &c, &n, err))
		return false;
	ids = palloc(sizeof(int) * Max(n, 1));
	names = palloc(sizeof(char *) * Max(n, 1));
	codes = palloc(sizeof(char *) * Max(n, 1));
	types = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ids[i] = c[i].color_id;
		names[i] = c[i].color_name ? c[i].color_name : "";
		codes[i] = c[i].color_code && c[i].color_code[0] ? c[i].color_code : NULL;
		types[i] = c[i].color_type && c[i].color_type[0] ? c[i].color_type : NULL;
	}
	bc_args_reset(&a);
	bc_args_datum(&a, bc_writer_int_array(ids, n), false);
	bc_args_datum(&a, bc_writer_text_array(names, n), false);
	bc_args_datum(&a, bc_writer_text_array(codes, n), false);
	bc_args_datum(&a, bc_writer_text_array(types, n), false);
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	bc_writer_exec(BC_W_COLOR_LIST, &a);
	bc_json_colors_free(c, n);
	return true;
}

/*
 * bc_writer_category_list upserts BrickLink's category list.
 */
static bool
bc_writer_category_list(bc_json_object_t *data, TimestampTz now, char **err)
{
	BcCategory *c = NULL;
	int			n = 0;
	int		   *ids;
	int		   *parents;
	char	  **names;
	BcArgs		a;

	if (!bc_json_map_categories(data, &c, &n, err))
		return false;
	ids = palloc(sizeof(int) * Max(n, 1));
	parents = palloc(sizeof(int) * Max(n, 1));
	names = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ids[i] = c[i].category_id;
		parents[i] = c[i].parent_id;
		names[i] = c[i].category_name ? c[i].category_name : "";
	}
	bc_args_reset(&a);
	bc_args_datum(&a, bc_writer_int_array(ids, n), false);
	bc_args_datum(&a, bc_writer_text_array(names, n), false);
	bc_args_datum(&a, bc_writer_int_array(parents, n), false);
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	bc_writer_exec(BC_W_CATEGORY_LIST, &a);
	bc_json_categories_free(c, n);
	return true;
}

/*
 * bc_writer_found drops a stale negative-cache entry of job's target once
 * BrickLink knows it.
 */
static void
bc_writer_found(const BcJob *job)
{
	BcArgs		a;

	if (job->not_in_negative_cache)
		return;
	bc_args_reset(&a);
	bc_args_text(&a, job->target);
	bc_writer_exec(BC_W_FOUND, &a);
}

/*
 * bc_writer_store maps data (the envelope's "data") for job and stores it;
 * false with *err set when the JSON does not have the expected shape, in
 * which case nothing was written.
 */
bool
bc_writer_store(const BcJob *job, bc_json_object_t *data, TimestampTz now, char **err)
{
	bool		ok = false;
	int			failed;

	*err = NULL;
	switch (job->kind)
	{
		case BC_JOB_ITEM:
			ok = bc_writer_items(&job, &data, 1, now, NULL, &failed, err);
			break;
		case BC_JOB_COLORS:
			ok = bc_writer_colors(job, data, now, err);
			break;
		case BC_JOB_PRICE:
			ok = bc_writer_price(job, data, now, err);
			break;
		case BC_JOB_COLOR_LIST:
			ok = bc_writer_color_list(data, now, err);
			break;
		case BC_JOB_CATEGORY_LIST:
			ok = bc_writer_category_list(data, now, err);
			break;
		default:
			*err = pstrdup("unknown job kind");
	}
	if (ok)
		bc_writer_found(job);
	return ok;
}

/*
 * bc_writer_store_many stores the data of n answers, the items among them
 * with one statement, which also finishes the calls in fin when fin is not
 * NULL and there are items (fin->done then tells so, and the caller checks
 * the counts with bc_writer_finish_check); false when one cannot be mapped
 * (*failed tells which, *err why), in which case the caller rolls back what
 * was written.
 */
bool
bc_writer_store_many(const BcJob *const *jobs, bc_json_object_t *const *datas, int n,
					 TimestampTz now, BcWriterFinish *fin, int *failed, char **err)
{
	const BcJob *ijobs[BC_WORKER_STORE_MAX];
	bc_json_object_t *idatas[BC_WORKER_STORE_MAX];
	int			where[BC_WORKER_STORE_MAX];
	int			nitems = 0;

	*err = NULL;
	for (int i = 0; i < n; i++)
	{
		if (jobs[i]->kind == BC_JOB_ITEM)
		{
			ijobs[nitems] = jobs[i];
			idatas[nitems] = datas[i];
			where[nitems++] = i;
		}
		else if (!bc_writer_store(jobs[i], datas[i], now, err))
		{
			*failed = i;
			return false;
		}
	}
	if (nitems > 0 && !bc_writer_items(ijobs, idatas, nitems, now, fin, failed, err))
	{
		*failed = where[*failed];
		return false;
	}
	for (int i = 0; i < nitems; i++)
		bc_writer_found(ijobs[i]);
	return true;
}

/*
 * bc_writer_store_failure marks the rows job refreshes with the failed
 * attempt, leaving their data as it was.
 */
void
bc_writer_store_failure(const BcJob *job, const char *error, TimestampTz now)
{
	BcArgs		a;
	char		cond[2] = {job->condition, '\0'};

	bc_args_reset(&a);
	bc_args_text(&a, job->item_type);
	bc_args_text(&a, job->item_no);
	switch (job->kind)
	{
		case BC_JOB_ITEM:
		case BC_JOB_COLORS:
			bc_args_datum(&a, TimestampTzGetDatum(now), false);
			bc_args_text(&a, error);
			bc_writer_exec(job->kind == BC_JOB_ITEM ? BC_W_FAIL_ITEM : BC_W_FAIL_COLORS, &a);
			break;
		case BC_JOB_PRICE:
			bc_args_datum(&a, Int32GetDatum(job->color_id), false);
			bc_args_text(&a, job->sold ? "sold" : "stock");
			bc_args_text(&a, cond);
			bc_args_text(&a, bc_currency);
			bc_args_datum(&a, TimestampTzGetDatum(now), false);
			bc_args_text(&a, error);
			bc_writer_exec(BC_W_FAIL_PRICE, &a);
			break;
		default:
			/* the color and category lists carry no per-row status */
			break;
	}
}

/*
 * bc_writer_store_not_found remembers that BrickLink does not know job's
 * target (negative cache) and marks the failed attempt.
 */
void
bc_writer_store_not_found(const BcJob *job, TimestampTz now)
{
	BcArgs		a;

	bc_args_reset(&a);
	bc_args_text(&a, job->target);
	bc_args_datum(&a, TimestampTzGetDatum(now), false);
	bc_writer_exec(BC_W_NOT_FOUND, &a);
	bc_writer_store_failure(job, "not_found: RESOURCE_NOT_FOUND", now);
}
