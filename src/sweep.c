/*-------------------------------------------------------------------------
 *
 * sweep.c
 *	  Refresh sweeps: queue background refreshes of stale and expired
 *	  catalog data within the background share of the BrickLink budget.
 *
 * A sweep walks tiers in order and queues oldest data first in each:
 *
 *	  demand strategy (default)        oldest strategy
 *	  1. expired, demanded             1. expired
 *	  2. expired, nobody reads it      2. stale
 *	  3. stale, demanded
 *	  4. stale, nobody reads it
 *
 * and in each tier the three datasets in turn: item metadata
 * (item.fetched_at), known-colors lists (item_color_set.colors_fetched_at)
 * and stored price guides (price_guide.fetched_at).  An item is demanded
 * while its decayed read score stays above brickcat.demand_threshold, i.e.
 * while item_demand.demanded_until lies ahead (see demand.h).
 *
 * Each step is one statement: an index range scan in fetched_at order with
 * anti-joins against open jobs (the partial unique index on fetch_queue),
 * recent not-found answers and, per tier, item_demand; LIMIT the budget
 * left; INSERT ... ON CONFLICT DO NOTHING into brickcat.fetch_queue.  Targets
 * BrickLink answered not-found for within brickcat.not_found_ttl are skipped;
 * data never fetched (fetched_at NULL) is left to on-demand reads, and data whose
 * last attempt failed waits brickcat.sweep_retry_after.
 *
 * The budget is what background work may still spend in the current 24-hour
 * window: background_share * daily_quota - calls of the last 24 hours (all
 * classes, since the class share is checked against all calls) - open jobs
 * (every open job will cost a call), and at most max_jobs.  Sweeps are
 * serialized by a transaction-level advisory lock, so overlapping runs do
 * not both spend the same budget.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "demand.h"
#include "freshness.h"
#include "shmem.h"
#include "worker.h"

/* Advisory lock key (two int4 halves) serializing sweeps: "bc" "sweep". */
#define BC_SWEEP_LOCK_KEY1	0x6263
#define BC_SWEEP_LOCK_KEY2	0x73776565

typedef enum BcSweepStrategy
{
	BC_SWEEP_DEMAND = 0,
	BC_SWEEP_OLDEST
} BcSweepStrategy;

static const struct config_enum_entry bc_sweep_strategy_options[] = {
	{"demand", BC_SWEEP_DEMAND, false},
	{"oldest", BC_SWEEP_OLDEST, false},
	{NULL, 0, false}
};

typedef enum BcSweepDemand
{
	BC_DEMAND_ANY = 0,			/* oldest strategy: no demand condition */
	BC_DEMAND_YES,
	BC_DEMAND_NO
} BcSweepDemand;

/* One dataset a sweep refreshes. */
typedef struct BcSweepDataset
{
	const char *prefix;			/* reason prefix */
	const char *kind;			/* brickcat.job_kind */
	const char *table;
	const char *ts;				/* timestamp column driving freshness */
	const char *target;			/* target key over alias x */
	const char *cols;			/* extra fetch_queue columns */
	const char *vals;			/* their values over alias x */
} BcSweepDataset;

static const BcSweepDataset bc_sweep_datasets[] = {
	{"", "item", "brickcat.item", "fetched_at",
		"'item:' || x.item_type || ':' || x.item_no", "", ""},
	{"colors_", "colors", "brickcat.item_color_set", "colors_fetched_at",
		"'colors:' || x.item_type || ':' || x.item_no", "", ""},
	{"price_", "price", "brickcat.price_guide", "fetched_at",
		"'price:' || x.item_type || ':' || x.item_no || ':' || x.color_id || ':' || "
		"x.guide_type || ':' || x.condition",
		", color_id, guide_type, condition", ", x.color_id, x.guide_type, x.condition"}
};

/* One tier: which freshness and which demand. */
typedef struct BcSweepTier
{
	bool		expired;		/* expired, else stale */
	BcSweepDemand demand;
} BcSweepTier;

static const BcSweepTier bc_sweep_demand_tiers[] = {
	{true, BC_DEMAND_YES}, {true, BC_DEMAND_NO},
	{false, BC_DEMAND_YES}, {false, BC_DEMAND_NO}
};
static const BcSweepTier bc_sweep_oldest_tiers[] = {
	{true, BC_DEMAND_ANY}, {false, BC_DEMAND_ANY}
};

/* The instants and limits one sweep works with. */
typedef struct BcSweepParams
{
	TimestampTz now;
	TimestampTz expire_cutoff;	/* older: expired */
	TimestampTz stale_cutoff;	/* older: stale */
	TimestampTz retry_cutoff;	/* failed attempts after it wait */
	TimestampTz not_found_cutoff;	/* not-found answers after it stand */
} BcSweepParams;

static int	bc_sweep_strategy = BC_SWEEP_DEMAND;
static BcIntervalGuc bc_sweep_retry_after = {"brickcat.sweep_retry_after", NULL,
	USECS_PER_DAY, 0, INT64CONST(3650) * USECS_PER_DAY, NULL};

BC_INTERVAL_GUC_HOOKS(bc_sweep_retry_after)

/*
 * bc_sweep_literal renders a timestamp as a quoted SQL literal.
 */
static char *
bc_sweep_literal(TimestampTz t)
{
	return quote_literal_cstr(DatumGetCString(DirectFunctionCall1(timestamptz_out,
																  TimestampTzGetDatum(t))));
}

/*
 * bc_sweep_reason returns the reason a tier of a dataset is queued for,
 * e.g. "price_stale_demanded".
 */
static char *
bc_sweep_reason(const BcSweepDataset *ds, const BcSweepTier *tier)
{
	return psprintf("%s%s%s", ds->prefix, tier->expired ? "expired" : "stale",
					tier->demand == BC_DEMAND_YES ? "_demanded" : "");
}

/*
 * bc_sweep_query builds the statement that queues at most limit jobs of one
 * tier of one dataset and returns how many it queued.  The instants are
 * inlined as literals so that every run is planned for its own values.
 */
static char *
bc_sweep_query(const BcSweepDataset *ds, const BcSweepTier *tier,
			   const BcSweepParams *p, int64 limit)
{
	StringInfoData q;
	char	   *reason = bc_sweep_reason(ds, tier);

	initStringInfo(&q);
	appendStringInfo(&q,
					 "WITH c AS (SELECT %s AS target, x.item_type, x.item_no%s FROM %s x "
					 "WHERE x.%s < %s",
					 ds->target, ds->vals, ds->table, ds->ts,
					 bc_sweep_literal(tier->expired ? p->expire_cutoff : p->stale_cutoff));
	if (!tier->expired)
		appendStringInfo(&q, " AND x.%s >= %s", ds->ts, bc_sweep_literal(p->expire_cutoff));
	appendStringInfo(&q, " AND (x.last_attempt_at IS NULL OR x.last_attempt_at < %s)",
					 bc_sweep_literal(p->retry_cutoff));
	if (tier->demand != BC_DEMAND_ANY)
		appendStringInfo(&q,
						 " AND %sEXISTS (SELECT FROM brickcat.item_demand d "
						 "WHERE d.item_type = x.item_type AND d.item_no = x.item_no "
						 "AND d.demanded_until > %s)",
						 tier->demand == BC_DEMAND_NO ? "NOT " : "",
						 bc_sweep_literal(p->now));
	appendStringInfo(&q,
					 " AND NOT EXISTS (SELECT FROM brickcat.fetch_queue q "
					 "WHERE q.target = %s AND q.state IN ('queued', 'running'))"
					 " AND NOT EXISTS (SELECT FROM brickcat.not_found n "
					 "WHERE n.target = %s AND n.checked_at >= %s)"
					 " ORDER BY x.%s NULLS FIRST LIMIT " INT64_FORMAT "), "
					 "i AS (INSERT INTO brickcat.fetch_queue "
					 "(kind, target, item_type, item_no%s, priority, reason) "
					 "SELECT '%s', c.target, c.item_type, c.item_no%s, 'background', '%s' FROM c "
					 "ON CONFLICT (target) WHERE state IN ('queued', 'running') DO NOTHING "
					 "RETURNING 1) "
					 "SELECT count(*) FROM i",
					 ds->target, ds->target, bc_sweep_literal(p->not_found_cutoff),
					 ds->ts, limit, ds->cols, ds->kind,
					 ds->cols[0] ? ", c.color_id, c.guide_type, c.condition" : "",
					 reason);
	return q.data;
}

/*
 * bc_sweep_params computes the instants a sweep at brickcat.now() uses.
 */
static void
bc_sweep_params(BcSweepParams *p)
{
	p->now = bc_statement_now();
	p->stale_cutoff = p->now - bc_stale_after.usec;
	p->expire_cutoff = p->now - Max(bc_expire_after.usec, bc_stale_after.usec);
	p->retry_cutoff = p->now - bc_sweep_retry_after.usec;
	p->not_found_cutoff = p->now - bc_not_found_ttl.usec;
}

/*
 * bc_sweep_int64 runs a query returning one bigint and returns it.
 */
static int64
bc_sweep_int64(const char *sql)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute(sql, false, 0) < 0 || SPI_processed != 1)
		elog(ERROR, "brickcat: sweep query failed: %s", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * bc_sweep_budget returns how many jobs background work may still queue in
 * the current 24-hour window.  Caller is SPI-connected.
 */
static int64
bc_sweep_budget(void)
{
	int64		left = bc_sweep_int64("SELECT (background_limit - calls_24h)::bigint "
									  "FROM brickcat.quota_status()");
	int64		open = bc_sweep_int64("SELECT count(*) FROM brickcat.fetch_queue "
									  "WHERE state IN ('queued', 'running')");

	return Max(left - open, 0);
}

/*
 * bc_sweep_tiers returns the tiers of the configured strategy.
 */
static const BcSweepTier *
bc_sweep_tiers(int *ntiers)
{
	if (bc_sweep_strategy == BC_SWEEP_OLDEST)
	{
		*ntiers = lengthof(bc_sweep_oldest_tiers);
		return bc_sweep_oldest_tiers;
	}
	*ntiers = lengthof(bc_sweep_demand_tiers);
	return bc_sweep_demand_tiers;
}

/*
 * bc_sweep_check_max_jobs rejects a negative max_jobs.
 */
static int64
bc_sweep_max_jobs(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		return PG_INT64_MAX;
	if (PG_GETARG_INT32(0) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_jobs must not be negative, not %d", PG_GETARG_INT32(0)),
				 errhint("Leave max_jobs NULL to queue as much as the budget allows.")));
	return PG_GETARG_INT32(0);
}

PG_FUNCTION_INFO_V1(bc_refresh_sweep_sql);

/*
 * bc_refresh_sweep_sql implements brickcat.refresh_sweep(max_jobs): queues
 * background refreshes tier by tier within the budget and returns one row
 * per reason that queued jobs.
 */
Datum
bc_refresh_sweep_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		max_jobs = bc_sweep_max_jobs(fcinfo);
	BcSweepParams p;
	const BcSweepTier *tiers;
	int			ntiers;
	int64		budget;
	int64		total = 0;

	InitMaterializedSRF(fcinfo, 0);
	DirectFunctionCall2(pg_advisory_xact_lock_int4,
						Int32GetDatum(BC_SWEEP_LOCK_KEY1), Int32GetDatum(BC_SWEEP_LOCK_KEY2));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	bc_sweep_params(&p);
	budget = Min(bc_sweep_budget(), max_jobs);
	tiers = bc_sweep_tiers(&ntiers);
	for (int t = 0; t < ntiers && budget > 0; t++)
	{
		for (int d = 0; d < lengthof(bc_sweep_datasets) && budget > 0; d++)
		{
			const BcSweepDataset *ds = &bc_sweep_datasets[d];
			int64		n;

			CHECK_FOR_INTERRUPTS();
			n = bc_sweep_int64(bc_sweep_query(ds, &tiers[t], &p, budget));
			if (n > 0)
			{
				Datum		values[2];
				bool		nulls[2] = {false, false};

				values[0] = CStringGetTextDatum(bc_sweep_reason(ds, &tiers[t]));
				values[1] = Int32GetDatum((int32) n);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				budget -= n;
				total += n;
			}
		}
	}
	SPI_finish();

	ereport(DEBUG1,
			(errmsg("brickcat: sweep queued " INT64_FORMAT " jobs", total)));
	if (total > 0)
		bc_worker_wake_at_commit();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bc_sweep_queries_sql);

/*
 * bc_sweep_queries_sql implements brickcat.sweep_queries(max_jobs): the
 * statements a sweep would run now, in order, for EXPLAIN.
 */
Datum
bc_sweep_queries_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		max_jobs = bc_sweep_max_jobs(fcinfo);
	BcSweepParams p;
	const BcSweepTier *tiers;
	int			ntiers;

	InitMaterializedSRF(fcinfo, 0);
	bc_sweep_params(&p);
	tiers = bc_sweep_tiers(&ntiers);
	for (int t = 0; t < ntiers; t++)
	{
		for (int d = 0; d < lengthof(bc_sweep_datasets); d++)
		{
			Datum		values[2];
			bool		nulls[2] = {false, false};

			values[0] = CStringGetTextDatum(bc_sweep_reason(&bc_sweep_datasets[d], &tiers[t]));
			values[1] = CStringGetTextDatum(bc_sweep_query(&bc_sweep_datasets[d], &tiers[t],
														   &p, Min(max_jobs, PG_INT32_MAX)));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bc_refresh_reference_lists_sql);

/*
 * bc_refresh_reference_lists_sql implements
 * brickcat.refresh_reference_lists(): queues background refreshes of the
 * color and category lists unless already open; returns how many it queued.
 */
Datum
bc_refresh_reference_lists_sql(PG_FUNCTION_ARGS)
{
	int64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	n = bc_sweep_int64("WITH i AS (INSERT INTO brickcat.fetch_queue (kind, target, priority, reason) "
					   "VALUES ('color_list', 'color_list', 'background', 'reference_lists'), "
					   "('category_list', 'category_list', 'background', 'reference_lists') "
					   "ON CONFLICT (target) WHERE state IN ('queued', 'running') DO NOTHING "
					   "RETURNING 1) SELECT count(*) FROM i");
	SPI_finish();
	if (n > 0)
		bc_worker_wake_at_commit();
	PG_RETURN_INT32((int32) n);
}

/*
 * bc_sweep_init registers the sweep settings.
 */
void
bc_sweep_init(void)
{
	DefineCustomEnumVariable("brickcat.sweep_strategy",
							 "How refresh sweeps order their work: demand or oldest.",
							 "demand: expired before stale, and within each, items readers "
							 "asked for recently first; oldest: expired before stale, oldest "
							 "first, ignoring demand.",
							 &bc_sweep_strategy, BC_SWEEP_DEMAND, bc_sweep_strategy_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	bc_define_interval_guc(&bc_sweep_retry_after,
						   "How long sweeps leave data alone after a failed refresh attempt.",
						   NULL, "1 day", PGC_SUSET, 0,
						   bc_sweep_retry_after_check, bc_sweep_retry_after_assign);
}
