/*-------------------------------------------------------------------------
 *
 * read_request.c
 *	  On-demand fetch requests from readers, and the bounded wait for them.
 *
 * A reader that needs data hands the fetch target to the worker through the
 * shared request table (src/shmem.c): requests live outside the reader's
 * transaction, so they survive its rollback, and readers of the same target
 * share one request.  When the table is full the job goes into
 * brickcat.fetch_queue in the reader's transaction instead and the worker is
 * woken at commit.  Waiting sleeps on the table's condition variable until
 * every awaited request is done or the reader's wait runs out; interrupts
 * (cancel, statement_timeout) are served while sleeping.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "read.h"

/* Longest sleep between nudges of the worker while readers wait. */
#define BC_READ_NUDGE_MS	100

/* Whether the worker serves this backend's database: -1 unknown. */
static int	bc_request_db_served = -1;

static const char *const bc_priority_names[] = {"interactive", "on_demand", "background"};

static const char *const bc_dataset_kinds[] = {"item", "colors", "price"};

/*
 * bc_priority_name returns the SQL name of a priority class.
 */
const char *
bc_priority_name(BcPriority p)
{
	return bc_priority_names[p];
}

/*
 * bc_request_db_ok says whether brickcat's worker serves the current
 * database (it connects to brickcat.database only).
 */
static bool
bc_request_db_ok(void)
{
	if (bc_request_db_served < 0)
	{
		char	   *db = get_database_name(MyDatabaseId);

		bc_request_db_served = (db != NULL && bc_database != NULL &&
								strcmp(db, bc_database) == 0) ? 1 : 0;
	}
	return bc_request_db_served == 1;
}

/*
 * bc_request_blocked says why on-demand fetching cannot be awaited now, as
 * an error code (NULL when it can), and sets *can_request when a request can
 * still be recorded for later.
 */
const char *
bc_request_blocked(bool *can_request)
{
	const char *code = NULL;
	TimestampTz now;

	*can_request = false;
	if (RecoveryInProgress())
		return "READ_ONLY";
	if (bc_shared == NULL || !bc_request_db_ok())
		return "WORKER_NOT_RUNNING";

	*can_request = true;
	now = GetCurrentTimestamp();
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	if (bc_shared->worker_pid == 0 || !bc_shared->worker_ready)
		code = "WORKER_NOT_RUNNING";
	else if (bc_shared->auth_failed)
		code = "AUTH_ERROR";
	else if (bc_shared->breaker_state == BC_BREAKER_OPEN)
		code = "BREAKER_OPEN";
	else if (bc_shared->throttled_until > now)
		code = "THROTTLED";
	LWLockRelease(bc_shared->lock);
	return code;
}

/*
 * bc_read_enqueue puts r's fetch into brickcat.fetch_queue in the caller's
 * transaction (the request table is full); false when the transaction is
 * read-only.
 */
static bool
bc_read_enqueue(BcRead *r, BcPriority priority)
{
	Oid			argtypes[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, TEXTOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	char		cond[2] = {r->key.condition, '\0'};
	int			rc;

	if (XactReadOnly)
		return false;
	values[0] = CStringGetTextDatum(bc_dataset_kinds[r->key.ds]);
	values[1] = CStringGetTextDatum(r->key.target);
	values[2] = CStringGetTextDatum(r->key.item_type);
	values[3] = CStringGetTextDatum(r->key.item_no);
	values[4] = Int32GetDatum(r->key.color_id);
	if (r->key.ds == BC_DS_PRICE)
	{
		values[5] = CStringGetTextDatum(r->key.guide_type);
		values[6] = CStringGetTextDatum(cond);
	}
	else
		nulls[4] = nulls[5] = nulls[6] = 'n';
	values[7] = CStringGetTextDatum(bc_priority_names[priority]);

	SPI_connect();
	rc = SPI_execute_with_args("INSERT INTO brickcat.fetch_queue"
							   " (kind, target, item_type, item_no, color_id, guide_type,"
							   "  condition, priority, reason)"
							   " VALUES ($1::brickcat.job_kind, $2, $3, $4, $5, $6, $7,"
							   "  $8::brickcat.priority, 'read: request table full')"
							   " ON CONFLICT (target) WHERE state IN ('queued', 'running')"
							   " DO NOTHING",
							   8, argtypes, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "brickcat: queueing %s failed: %s", r->key.target,
			 SPI_result_code_string(rc));
	SPI_finish();
	bc_worker_wake_at_commit();
	return true;
}

/*
 * bc_read_submit asks the worker to fetch r's target at priority, through
 * the shared request table or, when it is full, the queue table.
 */
void
bc_read_submit(BcRead *r, BcPriority priority)
{
	r->handle = bc_request_submit(r->key.target, priority);
	if (r->handle.slot >= 0 || bc_read_enqueue(r, priority))
	{
		r->requested = true;
		r->queued = bc_priority_names[priority];
	}
}

/*
 * bc_read_poll records the outcome of r's request if it has finished.
 */
static bool
bc_read_poll(BcRead *r)
{
	if (!r->done)
		r->done = bc_request_poll(r->handle, &r->done_ok, r->done_code,
								  r->done_text);
	return r->done;
}

/*
 * bc_read_wait_all sleeps until every awaited request in reads is done or
 * wait_usec has passed, and returns how long it waited.  Whenever it wakes
 * with requests still open it sets the worker's latch again: the worker takes
 * a bounded number of requests per round, and a large batch must not wait
 * for some other event to wake it.
 */
int64
bc_read_wait_all(BcRead *reads, int nreads, int64 wait_usec)
{
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz deadline = start + wait_usec;
	TimestampTz now = start;
	bool		nudge = false;

	ConditionVariablePrepareToSleep(&bc_shared->done_cv);
	for (;;)
	{
		bool		pending = false;

		for (int i = 0; i < nreads; i++)
		{
			if (reads[i].waiting && !bc_read_poll(&reads[i]))
				pending = true;
		}
		now = GetCurrentTimestamp();
		if (!pending || now >= deadline)
			break;
		if (nudge)
			bc_worker_wake();
		nudge = true;
		(void) ConditionVariableTimedSleep(&bc_shared->done_cv,
										   Min((long) ((deadline - now + 999) / 1000),
											   BC_READ_NUDGE_MS),
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return now - start;
}
