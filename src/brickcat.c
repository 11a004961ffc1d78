/*-------------------------------------------------------------------------
 *
 * brickcat.c
 *	  Module entry point: settings, shared memory and the background worker
 *	  are set up here; everything else lives in its own file.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "demand.h"
#include "quota.h"
#include "shmem.h"
#include "worker.h"

PG_MODULE_MAGIC;

bool		bc_preloaded = false;

/*
 * _PG_init registers brickcat's settings and, when loaded from
 * shared_preload_libraries, its shared memory and background worker.
 */
void
_PG_init(void)
{
	bc_preloaded = process_shared_preload_libraries_in_progress;

	bc_guc_init();
	bc_freshness_init();
	bc_quota_init();
	bc_demand_init();
	bc_sweep_init();
	bc_read_init();
	if (bc_preloaded)
		bc_shmem_init();
	bc_worker_init();

	MarkGUCPrefixReserved("brickcat");
}

PG_FUNCTION_INFO_V1(bc_status_sql);

/*
 * bc_status_sql implements brickcat.status(): whether brickcat is preloaded,
 * whether its worker runs, and what that means for on-demand fetching.
 */
Datum
bc_status_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	bool		running = false;
	pid_t		pid = 0;
	TimestampTz started = 0;
	const char *fetching;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (bc_shared)
	{
		LWLockAcquire(bc_shared->lock, LW_SHARED);
		pid = bc_shared->worker_pid;
		running = pid != 0 && bc_shared->worker_ready;
		started = bc_shared->worker_started_at;
		LWLockRelease(bc_shared->lock);
	}

	if (!bc_preloaded || bc_shared == NULL)
		fetching = "off: brickcat is not in shared_preload_libraries; add it and restart the server";
	else if (strcmp(bc_database, get_database_name(MyDatabaseId)) != 0)
		fetching = psprintf("off in this database: the worker serves database \"%s\" (brickcat.database)",
							bc_database);
	else if (!running)
		fetching = "off: the brickcat worker is not running (it restarts automatically; see the server log)";
	else
		fetching = "on";

	values[0] = BoolGetDatum(bc_preloaded && bc_shared != NULL);
	values[1] = BoolGetDatum(running);
	if (pid != 0)
		values[2] = Int32GetDatum(pid);
	else
		nulls[2] = true;
	if (pid != 0 && started != 0)
		values[3] = TimestampTzGetDatum(started);
	else
		nulls[3] = true;
	values[4] = CStringGetTextDatum(bc_database);
	values[5] = BoolGetDatum(strcmp(fetching, "on") == 0);
	values[6] = CStringGetTextDatum(fetching);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
