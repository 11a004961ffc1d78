/*-------------------------------------------------------------------------
 *
 * quota.c
 *	  The BrickLink call budget.
 *
 * BrickLink allows brickcat.daily_quota calls a day and publishes neither
 * when its day resets nor what it does past the limit, so brickcat keeps the
 * limit over ANY 24-hour window: every attempt is a row in
 * brickcat.quota_ledger, debited in a transaction the worker commits before
 * it sends the call, and a debit is granted only if the ledger rows of the
 * last 24 hours (inclusive) plus the debit stay within the limit.  Debits are
 * serialized by the row lock on brickcat.quota_state and stamped with the
 * clock read after that lock, so stamps grow in commit order and the check
 * at each debit covers every closed 24-hour interval ending there.
 *
 * quota_state keeps running totals (overall and per class) of the ledger
 * rows at or after its horizon; each debit moves the horizon to now - 24h
 * and subtracts the rows it passed, found through the call_at index, so a
 * check costs a few index probes whatever the ledger's size.  If the clock
 * moves backwards (brickcat.clock_offset) the totals are recounted.
 *
 * Priority classes share the budget: a class may debit while the calls of
 * the last 24 hours (all classes) stay within its share of the quota.  On
 * top, a burst limit allows at most brickcat.max_calls_per_second calls in
 * any one-second window, and an upstream throttling event pauses all calls.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "quota.h"
#include "ratelimit.h"

#define BC_QUOTA_WINDOW		(INT64CONST(24) * USECS_PER_HOUR)
#define BC_QUOTA_RETAIN		(INT64CONST(25) * USECS_PER_HOUR)
#define BC_QUOTA_PRUNE_EVERY (INT64CONST(10) * USECS_PER_MINUTE)
#define BC_QUOTA_WARN_PERCENT 80
#define BC_QUOTA_NCLASSES	3

int			bc_quota_daily = 5000;
int			bc_quota_max_per_second = 2;
double		bc_quota_background_share = 0.6;
double		bc_quota_on_demand_share = 0.9;

static const char *const bc_quota_class_names[BC_QUOTA_NCLASSES] = {
	"interactive", "on_demand", "background"
};

/* Throttle pause and warning flag when brickcat is not preloaded. */
static TimestampTz bc_quota_local_throttled_until = 0;
static bool bc_quota_local_warned = false;

static SPIPlanPtr bc_quota_lock_plan = NULL;
static SPIPlanPtr bc_quota_read_plan = NULL;
static SPIPlanPtr bc_quota_create_plan = NULL;
static SPIPlanPtr bc_quota_sum_plan = NULL;
static SPIPlanPtr bc_quota_oldest_plan = NULL;
static SPIPlanPtr bc_quota_recent_plan = NULL;
static SPIPlanPtr bc_quota_insert_plan = NULL;
static SPIPlanPtr bc_quota_insert_many_plan = NULL;
static SPIPlanPtr bc_quota_store_plan = NULL;
static SPIPlanPtr bc_quota_refund_plan = NULL;
static SPIPlanPtr bc_quota_prune_plan = NULL;
static SPIPlanPtr bc_quota_throttle_plan = NULL;
static SPIPlanPtr bc_quota_events_plan = NULL;

#define BC_QUOTA_STATE_SELECT \
	"SELECT horizon, calls, interactive_calls, on_demand_calls, background_calls, " \
	"pruned_at, ctid FROM brickcat.quota_state"

/* The running totals of brickcat.quota_state. */
typedef struct BcQuotaState
{
	TimestampTz horizon;		/* ledger rows before it are not counted */
	int64		calls;
	int64		by_class[BC_QUOTA_NCLASSES];
	TimestampTz pruned_at;
	ItemPointerData ctid;
	bool		exists;
} BcQuotaState;

static void bc_quota_store(BcQuotaState *st);
static void bc_quota_count(BcQuotaState *st, uint64 row, int col, int64 n);

/*
 * bc_quota_exec executes a kept plan, checking its result code.
 */
static void
bc_quota_exec(SPIPlanPtr plan, Datum *values, const char *nulls, int expected)
{
	int			rc = SPI_execute_plan(plan, values, nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "brickcat: quota query failed: %s", SPI_result_code_string(rc));
}

/*
 * bc_quota_int64 returns column col of result row row as an int64 (0 for NULL).
 */
static int64
bc_quota_int64(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * bc_quota_class_limit returns how many calls of the last 24 hours (all
 * classes together) leave room for class prio.
 */
static int64
bc_quota_class_limit(BcPriority prio)
{
	double		share = 1.0;

	if (prio == BC_PRIORITY_BACKGROUND)
		share = bc_quota_background_share;
	else if (prio == BC_PRIORITY_ON_DEMAND)
		share = bc_quota_on_demand_share;
	/* a tiny epsilon, so that 0.6 * 5000 is 3000 and not 2999 */
	return (int64) floor(share * bc_quota_daily + 1e-9);
}

/*
 * bc_quota_load reads the state row, locking it when lock is set; a missing
 * row is created (when locking) and recounted from the ledger.
 */
static void
bc_quota_load(BcQuotaState *st, bool lock)
{
	memset(st, 0, sizeof(*st));
	TIMESTAMP_NOBEGIN(st->horizon);
	TIMESTAMP_NOBEGIN(st->pruned_at);
	for (int attempt = 0; attempt < 2; attempt++)
	{
		if (lock)
			bc_quota_exec(bc_spi_plan(&bc_quota_lock_plan, BC_QUOTA_STATE_SELECT " FOR UPDATE",
									  0, NULL),
						  NULL, NULL, SPI_OK_SELECT);
		else
			bc_quota_exec(bc_spi_plan(&bc_quota_read_plan, BC_QUOTA_STATE_SELECT, 0, NULL),
						  NULL, NULL, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			bool		isnull;

			st->horizon = (TimestampTz) bc_quota_int64(0, 1);
			st->calls = bc_quota_int64(0, 2);
			for (int c = 0; c < BC_QUOTA_NCLASSES; c++)
				st->by_class[c] = bc_quota_int64(0, 3 + c);
			st->pruned_at = (TimestampTz) bc_quota_int64(0, 6);
			st->ctid = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0],
																	SPI_tuptable->tupdesc,
																	7, &isnull));
			st->exists = true;
			return;
		}
		if (!lock)
			return;
		bc_quota_exec(bc_spi_plan(&bc_quota_create_plan,
								  "INSERT INTO brickcat.quota_state DEFAULT VALUES ON CONFLICT DO NOTHING",
								  0, NULL),
					  NULL, NULL, SPI_OK_INSERT);
	}
	elog(ERROR, "brickcat: brickcat.quota_state has no row");
}

/*
 * bc_quota_sum adds sign times the ledger calls in [from, to) to the totals.
 */
static void
bc_quota_sum(BcQuotaState *st, TimestampTz from, TimestampTz to, int sign)
{
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2] = {TimestampTzGetDatum(from), TimestampTzGetDatum(to)};

	bc_quota_exec(bc_spi_plan(&bc_quota_sum_plan,
							  "SELECT priority::text, sum(calls)::bigint FROM brickcat.quota_ledger "
							  "WHERE call_at >= $1 AND call_at < $2 GROUP BY 1",
							  2, types),
				  values, NULL, SPI_OK_SELECT);
	for (uint64 row = 0; row < SPI_processed; row++)
		bc_quota_count(st, row, 1, bc_quota_int64(row, 2) * sign);
}

/*
 * bc_quota_count adds n calls to the totals, of the class whose label is
 * column col of result row row.
 */
static void
bc_quota_count(BcQuotaState *st, uint64 row, int col, int64 n)
{
	char	   *label = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	st->calls += n;
	for (int c = 0; c < BC_QUOTA_NCLASSES; c++)
		if (strcmp(label, bc_quota_class_names[c]) == 0)
			st->by_class[c] += n;
}

/*
 * bc_quota_advance moves the totals to the window ending at now: rows that
 * left the window are subtracted; if the clock went backwards (or the state
 * is new) the window is recounted from the ledger.
 */
static void
bc_quota_advance(BcQuotaState *st, TimestampTz now)
{
	TimestampTz horizon = now - BC_QUOTA_WINDOW;

	if (TIMESTAMP_IS_NOBEGIN(st->horizon) || horizon < st->horizon)
	{
		TimestampTz end;

		TIMESTAMP_NOEND(end);
		st->calls = 0;
		memset(st->by_class, 0, sizeof(st->by_class));
		bc_quota_sum(st, horizon, end, 1);
	}
	else if (horizon > st->horizon)
		bc_quota_sum(st, st->horizon, horizon, -1);
	st->horizon = horizon;
}

/*
 * bc_quota_expiry returns when enough of the oldest calls in the window
 * have left it that excess more calls fit.
 */
static TimestampTz
bc_quota_expiry(const BcQuotaState *st, int64 excess, TimestampTz now)
{
	Oid			types[2] = {TIMESTAMPTZOID, INT8OID};
	Datum		values[2] = {TimestampTzGetDatum(st->horizon), Int64GetDatum(excess)};
	int64		freed = 0;

	bc_quota_exec(bc_spi_plan(&bc_quota_oldest_plan,
							  "SELECT call_at, calls::bigint FROM brickcat.quota_ledger "
							  "WHERE call_at >= $1 ORDER BY call_at LIMIT $2",
							  2, types),
				  values, NULL, SPI_OK_SELECT);
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		freed += bc_quota_int64(row, 2);
		if (freed >= excess)
			return (TimestampTz) bc_quota_int64(row, 1) + BC_QUOTA_WINDOW + 1;
	}
	/* the ledger lost rows (deleted by hand): be conservative */
	return now + BC_QUOTA_WINDOW;
}

/*
 * bc_quota_burst_wait returns 0 when n more calls fit the burst limit now,
 * otherwise when they will.
 */
static TimestampTz
bc_quota_burst_wait(int n, TimestampTz now)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(now - USECS_PER_SEC)};
	int64		recent = 0;
	int64		freed = 0;

	if (bc_quota_max_per_second <= 0)
		return 0;
	bc_quota_exec(bc_spi_plan(&bc_quota_recent_plan,
							  "SELECT call_at, calls::bigint FROM brickcat.quota_ledger "
							  "WHERE call_at > $1 ORDER BY call_at",
							  1, types),
				  values, NULL, SPI_OK_SELECT);
	for (uint64 row = 0; row < SPI_processed; row++)
		recent += bc_quota_int64(row, 2);
	/* a batch larger than the limit may go alone */
	if (recent == 0 || recent + n <= bc_quota_max_per_second)
		return 0;
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		freed += bc_quota_int64(row, 2);
		if (recent - freed + n <= bc_quota_max_per_second || freed == recent)
			return (TimestampTz) bc_quota_int64(row, 1) + USECS_PER_SEC;
	}
	return now + USECS_PER_SEC;
}

/*
 * bc_quota_evaluate says whether n calls of class prio fit the window and
 * the burst limit at now; if not, when they could and why.
 */
static bool
bc_quota_evaluate(const BcQuotaState *st, TimestampTz now, BcPriority prio, int n,
				  TimestampTz *retry_at, const char **reason)
{
	int64		limit = bc_quota_class_limit(prio);
	TimestampTz burst;

	if (st->calls + n > limit)
	{
		*reason = st->calls + n > bc_quota_daily ? "QUOTA_EXHAUSTED" : "CLASS_SHARE";
		if (n > limit)
			*retry_at = now + BC_QUOTA_WINDOW;	/* never fits: come back tomorrow */
		else
			*retry_at = bc_quota_expiry(st, st->calls + n - limit, now);
		return false;
	}
	burst = bc_quota_burst_wait(n, now);
	if (burst != 0)
	{
		*reason = "BURST";
		*retry_at = burst;
		return false;
	}
	return true;
}

/*
 * bc_quota_throttled_until returns until when upstream throttling pauses
 * all calls (0 when it does not).
 */
static TimestampTz
bc_quota_throttled_until(void)
{
	TimestampTz until;

	if (bc_shared == NULL)
		return bc_quota_local_throttled_until;
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	until = bc_shared->throttled_until;
	LWLockRelease(bc_shared->lock);
	return until;
}

/*
 * bc_quota_check_warning logs a WARNING once when the calls of the last 24
 * hours cross 80 % of the quota, and re-arms when they drop below again.
 */
static void
bc_quota_check_warning(int64 calls)
{
	bool		high = calls * 100 >= (int64) bc_quota_daily * BC_QUOTA_WARN_PERCENT;
	bool		was;

	if (bc_shared)
	{
		LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
		was = bc_shared->quota_warned;
		bc_shared->quota_warned = high;
		LWLockRelease(bc_shared->lock);
	}
	else
	{
		was = bc_quota_local_warned;
		bc_quota_local_warned = high;
	}
	if (high && !was)
		ereport(WARNING,
				(errmsg("brickcat has used %lld of its %d BrickLink calls in the last 24 hours",
						(long long) calls, bc_quota_daily),
				 errdetail("Background refreshes stop at %d calls, on-demand fetches at %d.",
						   (int) bc_quota_class_limit(BC_PRIORITY_BACKGROUND),
						   (int) bc_quota_class_limit(BC_PRIORITY_ON_DEMAND)),
				 errhint("See SELECT * FROM brickcat.quota; raise brickcat.daily_quota only if BrickLink allows it.")));
}

/*
 * bc_quota_debit writes a granted debit: the ledger row, the new totals and,
 * every few minutes, the removal of ledger rows older than 25 hours.
 */
static void
bc_quota_debit(BcQuotaState *st, TimestampTz now, BcPriority prio, int n,
			   const char *const *targets, int ntargets)
{
	const char *target = ntargets == 1 ? targets[0] : NULL;
	Oid			itypes[4] = {TIMESTAMPTZOID, TEXTOID, INT4OID, TEXTOID};
	Datum		ivalues[4];
	char		inulls[4] = {' ', ' ', ' ', target ? ' ' : 'n'};

	ivalues[0] = TimestampTzGetDatum(now);
	ivalues[1] = CStringGetTextDatum(bc_quota_class_names[prio]);
	ivalues[2] = Int32GetDatum(n);
	ivalues[3] = target ? CStringGetTextDatum(target) : (Datum) 0;
	if (ntargets > 1)
	{
		/* one row per call, as if debited one by one */
		Datum	   *d = palloc(sizeof(Datum) * ntargets);

		Assert(ntargets == n);
		for (int i = 0; i < ntargets; i++)
			d[i] = CStringGetTextDatum(targets[i]);
		ivalues[3] = PointerGetDatum(construct_array(d, ntargets, TEXTOID, -1, false,
													 TYPALIGN_INT));
		itypes[3] = TEXTARRAYOID;
		if (bc_quota_insert_many_plan == NULL)
		{
			/* generic: unnest's row estimate would make it re-plan each time */
			SPIPlanPtr	plan = SPI_prepare_cursor("INSERT INTO brickcat.quota_ledger (call_at, priority, calls, target) "
												  "SELECT $1, $2::brickcat.priority, 1, t FROM unnest($4::text[]) t",
												  4, itypes, CURSOR_OPT_GENERIC_PLAN);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "brickcat: could not prepare the quota debit: %s",
					 SPI_result_code_string(SPI_result));
			bc_quota_insert_many_plan = plan;
		}
		bc_quota_exec(bc_quota_insert_many_plan, ivalues, NULL, SPI_OK_INSERT);
	}
	else
		bc_quota_exec(bc_spi_plan(&bc_quota_insert_plan,
								  "INSERT INTO brickcat.quota_ledger (call_at, priority, calls, target) "
								  "VALUES ($1, $2::brickcat.priority, $3, $4)",
								  4, itypes),
					  ivalues, inulls, SPI_OK_INSERT);
	st->calls += n;
	st->by_class[prio] += n;

	if (TIMESTAMP_IS_NOBEGIN(st->pruned_at) || now - st->pruned_at >= BC_QUOTA_PRUNE_EVERY ||
		now < st->pruned_at)
	{
		Oid			ptypes[1] = {TIMESTAMPTZOID};
		Datum		pvalues[1] = {TimestampTzGetDatum(Min(now - BC_QUOTA_RETAIN, st->horizon))};

		bc_quota_exec(bc_spi_plan(&bc_quota_prune_plan,
								  "WITH l AS (DELETE FROM brickcat.quota_ledger WHERE call_at < $1), "
								  "t AS (DELETE FROM brickcat.quota_throttle WHERE throttled_at < $1) "
								  "SELECT 1",
								  1, ptypes),
					  pvalues, NULL, SPI_OK_SELECT);
		st->pruned_at = now;
	}

	bc_quota_store(st);
}

/*
 * bc_quota_store writes the running totals back to the locked state row.
 */
static void
bc_quota_store(BcQuotaState *st)
{
	Oid			stypes[7] = {TIDOID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID, INT8OID,
	TIMESTAMPTZOID};
	Datum		svalues[7];

	svalues[0] = PointerGetDatum(&st->ctid);
	svalues[1] = TimestampTzGetDatum(st->horizon);
	svalues[2] = Int64GetDatum(st->calls);
	for (int c = 0; c < BC_QUOTA_NCLASSES; c++)
		svalues[3 + c] = Int64GetDatum(st->by_class[c]);
	svalues[6] = TimestampTzGetDatum(st->pruned_at);
	bc_quota_exec(bc_spi_plan(&bc_quota_store_plan,
							  "UPDATE brickcat.quota_state SET horizon = $2, calls = $3, "
							  "interactive_calls = $4, on_demand_calls = $5, background_calls = $6, "
							  "pruned_at = $7 WHERE ctid = $1",
							  7, stypes),
				  svalues, NULL, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "brickcat: quota state row vanished while locked");
}

/*
 * bc_quota_refund gives back the debits of calls that were never sent:
 * for each of the n targets, its newest one-call ledger row debited at or
 * after since is removed and the totals adjusted, in the caller's
 * transaction.  Targets without such a row are skipped.
 */
void
bc_quota_refund(int n, const char *const *targets, TimestampTz since)
{
	BcQuotaState st;
	Oid			types[2] = {TEXTARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];
	Datum	   *d;

	if (n <= 0)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	bc_quota_load(&st, true);
	bc_quota_advance(&st, bc_now());
	d = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(targets[i]);
	values[0] = PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = TimestampTzGetDatum(since);
	bc_quota_exec(bc_spi_plan(&bc_quota_refund_plan,
							  "DELETE FROM brickcat.quota_ledger WHERE ctid = ANY (ARRAY("
							  "SELECT DISTINCT ON (target) ctid FROM brickcat.quota_ledger "
							  "WHERE call_at >= $2 AND target = ANY ($1) AND calls = 1 "
							  "ORDER BY target, call_at DESC)) RETURNING call_at, priority::text",
							  2, types),
				  values, NULL, SPI_OK_DELETE_RETURNING);
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		if ((TimestampTz) bc_quota_int64(row, 1) >= st.horizon)
			bc_quota_count(&st, row, 2, -1);
	}
	bc_quota_store(&st);
	SPI_finish();
}

/*
 * bc_quota_acquire debits ncalls calls of class prio in the caller's
 * transaction when the budget allows, with one ledger row, or one per call
 * when ntargets (then ncalls) is above one.
 */
static bool
bc_quota_acquire(BcPriority prio, int ncalls, const char *const *targets, int ntargets,
				 TimestampTz *retry_at, const char **reason)
{
	BcQuotaState st;
	TimestampTz now = bc_now();
	TimestampTz until = bc_quota_throttled_until();
	bool		ok;

	if (ncalls <= 0 || prio < 0 || prio >= BC_QUOTA_NCLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid quota debit of %d calls of class %d", ncalls, (int) prio),
				 errhint("Debit one or more calls of class interactive, on_demand or background.")));
	if (!IsTransactionState())
		elog(ERROR, "brickcat: bc_quota_try_acquire called outside a transaction");
	*retry_at = now;
	*reason = NULL;
	if (now < until)
	{
		*retry_at = until;
		*reason = "THROTTLED";
		return false;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	bc_quota_load(&st, true);
	/* the clock is read once the lock is held: stamps grow in commit order */
	now = bc_now();
	bc_quota_advance(&st, now);
	ok = bc_quota_evaluate(&st, now, prio, ncalls, retry_at, reason);
	if (ok)
	{
		bc_quota_debit(&st, now, prio, ncalls, targets, ntargets);
		*retry_at = now;
	}
	bc_quota_check_warning(st.calls);
	SPI_finish();
	return ok;
}

/*
 * bc_quota_try_acquire debits ncalls calls of class prio in the caller's
 * transaction when the budget allows; see quota.h.
 */
bool
bc_quota_try_acquire(BcPriority prio, int ncalls, const char *target,
					 TimestampTz *retry_at, const char **reason)
{
	return bc_quota_acquire(prio, ncalls, &target, 1, retry_at, reason);
}

/*
 * bc_quota_try_acquire_many debits one call of class prio for each of the
 * n targets, all or none; see quota.h.
 */
bool
bc_quota_try_acquire_many(BcPriority prio, int n, const char *const *targets,
						  TimestampTz *retry_at, const char **reason)
{
	return bc_quota_acquire(prio, n, targets, n, retry_at, reason);
}

/*
 * bc_quota_note_throttle pauses all calls until `until` and records the
 * event; see quota.h.
 */
void
bc_quota_note_throttle(TimestampTz until)
{
	TimestampTz now = bc_now();

	until = Min(until, now + BC_QUOTA_WINDOW);
	if (bc_shared)
	{
		LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
		bc_shared->throttled_until = Max(bc_shared->throttled_until, until);
		LWLockRelease(bc_shared->lock);
	}
	else
		bc_quota_local_throttled_until = Max(bc_quota_local_throttled_until, until);
	bc_upstream_add(BC_UP_THROTTLES, 1);
	ereport(LOG,
			(errmsg("brickcat: BrickLink throttled the client; no calls until %s",
					timestamptz_to_str(until))));

	if (IsTransactionState())
	{
		Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		values[2] = {TimestampTzGetDatum(now), TimestampTzGetDatum(until)};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "brickcat: SPI_connect failed");
		bc_quota_exec(bc_spi_plan(&bc_quota_throttle_plan,
								  "INSERT INTO brickcat.quota_throttle (throttled_at, until) VALUES ($1, $2)",
								  2, types),
					  values, NULL, SPI_OK_INSERT);
		SPI_finish();
	}
}

/*
 * bc_quota_priority_arg returns the class named by a brickcat.priority value.
 */
static BcPriority
bc_quota_priority_arg(Datum label)
{
	char	   *name = DatumGetCString(DirectFunctionCall1(enum_out, label));

	for (int c = 0; c < BC_QUOTA_NCLASSES; c++)
		if (strcmp(name, bc_quota_class_names[c]) == 0)
			return (BcPriority) c;
	elog(ERROR, "brickcat: unknown priority \"%s\"", name);
	return BC_PRIORITY_INTERACTIVE;		/* keep the compiler quiet */
}

PG_FUNCTION_INFO_V1(bc_quota_try_acquire_sql);

/*
 * bc_quota_try_acquire_sql implements brickcat.quota_try_acquire(priority,
 * ncalls, target).
 */
Datum
bc_quota_try_acquire_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {0};
	TimestampTz retry_at;
	const char *reason;
	bool		ok;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("priority and ncalls must not be NULL"),
				 errhint("Leave them out to debit one interactive call.")));
	if (PG_GETARG_INT32(1) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ncalls must be positive, not %d", PG_GETARG_INT32(1)),
				 errhint("ncalls is the number of BrickLink calls to debit, usually 1.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	ok = bc_quota_try_acquire(bc_quota_priority_arg(PG_GETARG_DATUM(0)), PG_GETARG_INT32(1),
							  PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
							  &retry_at, &reason);
	values[0] = BoolGetDatum(ok);
	values[1] = TimestampTzGetDatum(retry_at);
	nulls[2] = reason == NULL;
	if (reason)
		values[2] = CStringGetTextDatum(reason);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(bc_quota_note_throttle_sql);

/*
 * bc_quota_note_throttle_sql implements brickcat.quota_note_throttle(until).
 */
Datum
bc_quota_note_throttle_sql(PG_FUNCTION_ARGS)
{
	bc_quota_note_throttle(PG_GETARG_TIMESTAMPTZ(0));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(bc_quota_status_sql);

/*
 * bc_quota_status_sql implements brickcat.quota_status(), the row of the view
 * brickcat.quota, computed without locking.
 */
Datum
bc_quota_status_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[14];
	bool		nulls[14] = {0};
	BcQuotaState st;
	TimestampTz now;
	TimestampTz next;
	TimestampTz until = bc_quota_throttled_until();
	const char *reason;
	int64		events;
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		args[1];
	char		percent[32];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	bc_quota_load(&st, false);
	now = bc_now();
	bc_quota_advance(&st, now);
	if (bc_quota_evaluate(&st, now, BC_PRIORITY_INTERACTIVE, 1, &next, &reason))
		next = now;
	next = Max(next, until);
	args[0] = TimestampTzGetDatum(now - BC_QUOTA_WINDOW);
	bc_quota_exec(bc_spi_plan(&bc_quota_events_plan,
							  "SELECT count(*) FROM brickcat.quota_throttle WHERE throttled_at >= $1",
							  1, types),
				  args, NULL, SPI_OK_SELECT);
	events = bc_quota_int64(0, 1);
	SPI_finish();

	values[0] = Int32GetDatum(bc_quota_daily);
	values[1] = Int64GetDatum(st.calls);
	values[2] = Int64GetDatum(Max(bc_quota_daily - st.calls, 0));
	for (int c = 0; c < BC_QUOTA_NCLASSES; c++)
		values[3 + c] = Int64GetDatum(st.by_class[c]);
	values[6] = Int32GetDatum((int32) bc_quota_class_limit(BC_PRIORITY_BACKGROUND));
	values[7] = Int32GetDatum((int32) bc_quota_class_limit(BC_PRIORITY_ON_DEMAND));
	values[8] = Int32GetDatum(bc_quota_daily - (int32) bc_quota_class_limit(BC_PRIORITY_BACKGROUND));
	values[9] = Int32GetDatum(bc_quota_max_per_second);
	values[10] = TimestampTzGetDatum(next);
	nulls[11] = until <= now;
	values[11] = TimestampTzGetDatum(until);
	values[12] = Int64GetDatum(events);
	snprintf(percent, sizeof(percent), "%.1f",
			 bc_quota_daily > 0 ? (double) st.calls * 100.0 / bc_quota_daily : 100.0);
	values[13] = DirectFunctionCall3(numeric_in, CStringGetDatum(percent),
									 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * bc_quota_init registers the budget's settings.
 */
void
bc_quota_init(void)
{
	DefineCustomIntVariable("brickcat.daily_quota",
							"BrickLink calls allowed in any 24-hour window.",
							"Counts every attempt, retries included; holds over any "
							"24 hours, whenever BrickLink's day starts.",
							&bc_quota_daily, 5000, 0, 10000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("brickcat.max_calls_per_second",
							"BrickLink calls allowed in any one-second window (0: no burst limit).",
							NULL, &bc_quota_max_per_second, 2, 0, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("brickcat.background_share",
							 "Share of brickcat.daily_quota background refreshes may use.",
							 "Background work stops once the last 24 hours used this share "
							 "of the quota, keeping the rest for readers.",
							 &bc_quota_background_share, 0.6, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("brickcat.on_demand_share",
							 "Share of brickcat.daily_quota on-demand fetches may use.",
							 "On-demand fetches stop once the last 24 hours used this share "
							 "of the quota; interactive reads may use all of it.",
							 &bc_quota_on_demand_share, 0.9, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}
