/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  brickcat.stat_cache() and brickcat.stats_reset(): the read path's
 *	  shared-memory counters.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "shmem.h"

/* Columns of brickcat.stat_cache, in order, and the counter behind each. */
static const BcStatCounter bc_stats_columns[] = {
	BC_STAT_HITS, BC_STAT_STALE_SERVED, BC_STAT_FALLBACKS, BC_STAT_PENDING,
	BC_STAT_NOT_FOUND, BC_STAT_ERRORS, BC_STAT_UPSTREAM_SERVED,
	BC_STAT_COALESCED, BC_STAT_MEMO_HITS, BC_STAT_WAITS,
	BC_STAT_WAIT_TIME_US, BC_STAT_REQUESTS, BC_STAT_REQUEST_OVERFLOW
};

#define BC_STATS_NCOLS (lengthof(bc_stats_columns) + 1)

PG_FUNCTION_INFO_V1(bc_stat_cache_sql);

/*
 * bc_stat_cache_sql implements brickcat.stat_cache(): the cache counters
 * since the last reset (all zero when brickcat is not preloaded).
 */
Datum
bc_stat_cache_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[BC_STATS_NCOLS];
	bool		nulls[BC_STATS_NCOLS] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	for (int i = 0; i < lengthof(bc_stats_columns); i++)
	{
		uint64		v = bc_shared ?
		pg_atomic_read_u64(&bc_shared->stat[bc_stats_columns[i]]) : 0;

		if (bc_stats_columns[i] == BC_STAT_WAIT_TIME_US)
			values[i] = Float8GetDatum((double) v / 1000.0);
		else
			values[i] = Int64GetDatum((int64) v);
	}
	if (bc_shared)
	{
		LWLockAcquire(bc_shared->lock, LW_SHARED);
		values[BC_STATS_NCOLS - 1] = TimestampTzGetDatum(bc_shared->stats_reset_at);
		LWLockRelease(bc_shared->lock);
	}
	else
		nulls[BC_STATS_NCOLS - 1] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(bc_stats_reset_sql);

/*
 * bc_stats_reset_sql implements brickcat.stats_reset(): zeroes the cache and
 * upstream counters and returns the reset time.
 */
Datum
bc_stats_reset_sql(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTimestamp();

	if (bc_shared == NULL)
		PG_RETURN_NULL();
	for (int i = 0; i < BC_STAT_COUNT; i++)
		pg_atomic_write_u64(&bc_shared->stat[i], 0);
	for (int i = 0; i < BC_UP_COUNT; i++)
		pg_atomic_write_u64(&bc_shared->upstream[i], 0);
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	bc_shared->stats_reset_at = now;
	LWLockRelease(bc_shared->lock);
	PG_RETURN_TIMESTAMPTZ(now);
}

static const char *const bc_breaker_names[] = {"closed", "open", "half_open"};

PG_FUNCTION_INFO_V1(bc_upstream_state_sql);

/*
 * bc_upstream_state_sql implements brickcat.upstream_state(): the circuit
 * breaker, throttle and credential state the worker keeps in shared memory,
 * and its upstream counters (NULLs when brickcat is not preloaded).
 */
Datum
bc_upstream_state_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (bc_shared == NULL)
	{
		memset(nulls, true, sizeof(nulls));
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	values[0] = CStringGetTextDatum(bc_breaker_names[bc_shared->breaker_state]);
	values[1] = Int32GetDatum(bc_shared->breaker_failures);
	values[2] = TimestampTzGetDatum(bc_shared->breaker_changed_at);
	nulls[2] = bc_shared->breaker_changed_at == 0;
	values[3] = TimestampTzGetDatum(bc_shared->throttled_until);
	nulls[3] = bc_shared->throttled_until == 0;
	values[4] = BoolGetDatum(bc_shared->auth_failed);
	LWLockRelease(bc_shared->lock);
	values[5] = Int64GetDatum(pg_atomic_read_u64(&bc_shared->upstream[BC_UP_THROTTLES]));
	values[6] = Int64GetDatum(pg_atomic_read_u64(&bc_shared->upstream[BC_UP_BACKOFFS]));
	values[7] = Int64GetDatum(pg_atomic_read_u64(&bc_shared->upstream[BC_UP_RETRIES]));
	values[8] = Int64GetDatum(pg_atomic_read_u64(&bc_shared->upstream[BC_UP_BREAKER_OPENS]));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
