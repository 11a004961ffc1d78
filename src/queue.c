/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  The fetch queue: canonical targets, brickcat.request_refresh(), and the
 *	  worker's claim / finish / retry / lease operations on
 *	  brickcat.fetch_queue.
 *
 * A target names one upstream call: item:TYPE:NO, colors:TYPE:NO,
 * price:TYPE:NO:COLOR:sold|stock:N|U, color_list or category_list.  At most
 * one open (queued or running) job exists per target; queueing the same
 * target again joins it, raising its priority when the new request's is
 * higher.  The worker claims due jobs with FOR UPDATE SKIP LOCKED under a
 * lease; a job whose lease ran out (its worker died) is queued again.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bricklink_client.h"
#include "worker.h"

static const char *const bc_job_kind_names[BC_JOB_KIND_COUNT] = {
	"item", "colors", "price", "color_list", "category_list"
};

static const char *const bc_priority_names[] = {"interactive", "on_demand", "background"};

static const char *const bc_item_types[] = {
	"PART", "SET", "MINIFIG", "BOOK", "GEAR", "CATALOG", "INSTRUCTION",
	"UNSORTED_LOT", "ORIGINAL_BOX"
};

/* Kept plans of the worker's queue statements. */
static SPIPlanPtr bc_plan_upsert = NULL;
static SPIPlanPtr bc_plan_open_job = NULL;
static SPIPlanPtr bc_plan_claim = NULL;
static SPIPlanPtr bc_plan_unclaim = NULL;
static SPIPlanPtr bc_plan_finish = NULL;
static SPIPlanPtr bc_plan_retry = NULL;
static SPIPlanPtr bc_plan_next_due = NULL;
static SPIPlanPtr bc_plan_not_found = NULL;

/*
 * bc_job_kind_name returns the SQL label of a job kind.
 */
const char *
bc_job_kind_name(BcJobKind kind)
{
	return bc_job_kind_names[kind];
}

/*
 * bc_job_priority_name returns the SQL label of a priority class.
 */
const char *
bc_job_priority_name(BcPriority p)
{
	return bc_priority_names[p];
}

/*
 * bc_job_parse_priority looks a priority class up by its SQL label.
 */
bool
bc_job_parse_priority(const char *name, BcPriority *p)
{
	for (int i = 0; i < lengthof(bc_priority_names); i++)
	{
		if (strcmp(name, bc_priority_names[i]) == 0)
		{
			*p = (BcPriority) i;
			return true;
		}
	}
	return false;
}

/*
 * bc_job_make_target writes job's canonical target key into job->target.
 */
void
bc_job_make_target(BcJob *job)
{
	switch (job->kind)
	{
		case BC_JOB_ITEM:
		case BC_JOB_COLORS:
			snprintf(job->target, BC_TARGET_LEN, "%s:%s:%s",
					 bc_job_kind_names[job->kind], job->item_type, job->item_no);
			break;
		case BC_JOB_PRICE:
			snprintf(job->target, BC_TARGET_LEN, "price:%s:%s:%d:%s:%c",
					 job->item_type, job->item_no, job->color_id,
					 job->sold ? "sold" : "stock", job->condition);
			break;
		default:
			strlcpy(job->target, bc_job_kind_names[job->kind], BC_TARGET_LEN);
			break;
	}
}

/*
 * bc_job_valid_type says whether t is a BrickLink item type (upper case).
 */
static bool
bc_job_valid_type(const char *t)
{
	for (int i = 0; i < lengthof(bc_item_types); i++)
	{
		if (strcmp(t, bc_item_types[i]) == 0)
			return true;
	}
	return false;
}

/*
 * bc_job_parse_target fills job's kind and key fields from a target key;
 * false when it is not a valid target.
 */
bool
bc_job_parse_target(const char *target, BcJob *job)
{
	const char *p;
	const char *colon;
	size_t		len;

	memset(job, 0, sizeof(*job));
	if (strlen(target) >= BC_TARGET_LEN)
		return false;
	strlcpy(job->target, target, BC_TARGET_LEN);
	if (strcmp(target, "color_list") == 0)
	{
		job->kind = BC_JOB_COLOR_LIST;
		return true;
	}
	if (strcmp(target, "category_list") == 0)
	{
		job->kind = BC_JOB_CATEGORY_LIST;
		return true;
	}
	if (strncmp(target, "item:", 5) == 0)
		job->kind = BC_JOB_ITEM;
	else if (strncmp(target, "colors:", 7) == 0)
		job->kind = BC_JOB_COLORS;
	else if (strncmp(target, "price:", 6) == 0)
		job->kind = BC_JOB_PRICE;
	else
		return false;

	p = strchr(target, ':') + 1;
	colon = strchr(p, ':');
	if (colon == NULL || colon - p >= BC_ITEM_TYPE_BUF)
		return false;
	memcpy(job->item_type, p, colon - p);
	job->item_type[colon - p] = '\0';
	if (!bc_job_valid_type(job->item_type))
		return false;
	p = colon + 1;
	len = strlen(p);

	if (job->kind == BC_JOB_PRICE)
	{
		/* NO:COLOR:guide:cond, the number may itself hold colons */
		const char *c3 = strrchr(p, ':');
		const char *c2;
		const char *c1;
		char	   *end;
		long		color;

		if (c3 == NULL || c3 == p)
			return false;
		for (c2 = c3 - 1; c2 > p && *c2 != ':'; c2--)
			;
		if (c2 <= p)
			return false;
		for (c1 = c2 - 1; c1 > p && *c1 != ':'; c1--)
			;
		if (c1 <= p)
			return false;
		if (strcmp(c3 + 1, "N") == 0 || strcmp(c3 + 1, "U") == 0)
			job->condition = c3[1];
		else
			return false;
		if (c3 - c2 - 1 == 4 && strncmp(c2 + 1, "sold", 4) == 0)
			job->sold = true;
		else if (c3 - c2 - 1 == 5 && strncmp(c2 + 1, "stock", 5) == 0)
			job->sold = false;
		else
			return false;
		if (c2 - c1 - 1 < 1 || c2 - c1 - 1 > 10 || !isdigit((unsigned char) c1[1]))
			return false;
		errno = 0;
		color = strtol(c1 + 1, &end, 10);
		if (end != c2 || errno != 0 || color < 0 || color > PG_INT32_MAX)
			return false;
		job->color_id = (int) color;
		len = c1 - p;
	}
	if (len == 0 || len >= BC_ITEM_NO_BUF)
		return false;
	memcpy(job->item_no, p, len);
	job->item_no[len] = '\0';
	return true;
}

/*
 * bc_queue_plan returns a kept plan for sql, preparing it on first use.
 */
static SPIPlanPtr
bc_queue_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	if (*cache == NULL)
	{
		/* always generic: every statement here picks rows by an index */
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "brickcat: could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "brickcat: could not keep a plan");
		*cache = plan;
	}
	return *cache;
}

/*
 * bc_queue_text_or_null returns a text datum for s, or marks it null.
 */
static Datum
bc_queue_text_or_null(const char *s, char *null)
{
	if (s == NULL || s[0] == '\0')
	{
		*null = 'n';
		return (Datum) 0;
	}
	*null = ' ';
	return CStringGetTextDatum(s);
}

/*
 * bc_queue_upsert queues job (SPI connected, in a transaction) or joins the
 * open job for its target, raising that job's priority if job's is higher.
 * Returns the job id; *is_new tells whether a job was created.
 */
int64
bc_queue_upsert(const BcJob *job, bool *is_new)
{
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID,
	TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[9];
	char		nulls[10] = "         ";
	char		cond[2] = {job->condition, '\0'};
	bool		isnull;
	int			rc;
	SPIPlanPtr	plan;

	plan = bc_queue_plan(&bc_plan_upsert,
						 "INSERT INTO brickcat.fetch_queue AS q"
						 " (kind, target, item_type, item_no, color_id, guide_type, condition,"
						 "  priority, enqueued_at, not_before)"
						 " VALUES ($1::brickcat.job_kind, $2, $3, $4, $5, $6, $7,"
						 "  $8::brickcat.priority, $9, $9)"
						 " ON CONFLICT (target) WHERE state IN ('queued', 'running')"
						 " DO UPDATE SET priority = EXCLUDED.priority"
						 "  WHERE EXCLUDED.priority < q.priority"
						 " RETURNING job_id, (xmax = 0)",
						 9, types);
	values[0] = CStringGetTextDatum(bc_job_kind_names[job->kind]);
	values[1] = CStringGetTextDatum(job->target);
	values[2] = bc_queue_text_or_null(job->item_type, &nulls[2]);
	values[3] = bc_queue_text_or_null(job->item_no, &nulls[3]);
	values[4] = Int32GetDatum(job->color_id);
	if (job->kind == BC_JOB_PRICE)
	{
		values[5] = CStringGetTextDatum(job->sold ? "sold" : "stock");
		values[6] = CStringGetTextDatum(cond);
	}
	else
		nulls[4] = nulls[5] = nulls[6] = 'n';
	values[7] = CStringGetTextDatum(bc_priority_names[job->priority]);
	values[8] = TimestampTzGetDatum(bc_statement_now());

	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "brickcat: queueing %s failed: %s", job->target,
			 SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		*is_new = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 2, &isnull));
		return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	}

	/* joined an open job whose priority was already as high */
	*is_new = false;
	plan = bc_queue_plan(&bc_plan_open_job,
						 "SELECT job_id FROM brickcat.fetch_queue"
						 " WHERE target = $1 AND state IN ('queued', 'running')",
						 1, types + 1);
	rc = SPI_execute_plan(plan, values + 1, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "brickcat: open job for %s vanished", job->target);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * bc_queue_getstr copies text column col of the current SPI row into dst.
 */
static void
bc_queue_getstr(HeapTuple tup, TupleDesc desc, int col, char *dst, size_t size)
{
	char	   *s = SPI_getvalue(tup, desc, col);

	if (s == NULL)
		dst[0] = '\0';
	else
	{
		strlcpy(dst, s, size);
		pfree(s);
	}
}

/*
 * bc_queue_claim claims up to max due jobs of priority class max_prio or
 * better, best priority first, leasing them and counting an attempt;
 * returns how many it put into jobs.  Jobs whose target is in the negative
 * cache come back with call_id -1; those without any not_found row (fresh
 * or stale) are marked so.
 */
int
bc_queue_claim(BcJob *jobs, int max, BcPriority max_prio, TimestampTz now)
{
	Oid			types[4] = {TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4];
	SPIPlanPtr	plan;
	int			rc;
	int			n = 0;
	TimestampTz cutoff = now - bc_not_found_ttl.usec;

	plan = bc_queue_plan(&bc_plan_claim,
						 "WITH c AS ("
						 "  SELECT job_id FROM brickcat.fetch_queue"
						 "   WHERE state = 'queued' AND not_before <= $1"
						 "     AND priority <= $4::brickcat.priority"
						 "   ORDER BY priority, not_before, job_id"
						 "   LIMIT $2 FOR UPDATE SKIP LOCKED)"
						 " UPDATE brickcat.fetch_queue q"
						 "    SET state = 'running', attempts = q.attempts + 1,"
						 "        lease_until = $3, reason = NULL"
						 "   FROM c WHERE q.job_id = c.job_id"
						 " RETURNING q.job_id, q.kind::text, q.target, q.priority::text,"
						 "  q.attempts,"
						 "  (SELECT nf.checked_at FROM brickcat.not_found nf WHERE nf.target = q.target)",
						 4, types);
	values[0] = TimestampTzGetDatum(now);
	values[1] = Int32GetDatum(max);
	/* a lease always outlasts the longest call */
	values[2] = TimestampTzGetDatum(now + Max(bc_lease_duration.usec,
											  bc_request_timeout.usec + USECS_PER_MINUTE));
	values[3] = CStringGetTextDatum(bc_priority_names[max_prio]);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "brickcat: claiming jobs failed: %s", SPI_result_code_string(rc));

	for (uint64 i = 0; i < SPI_processed && n < max; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		BcJob	   *job = &jobs[n];
		char		target[BC_TARGET_LEN];
		char		prio[32];
		bool		isnull;
		int64		job_id;
		int			attempts;
		bool		listed;
		TimestampTz checked_at;

		job_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		bc_queue_getstr(tup, desc, 3, target, sizeof(target));
		bc_queue_getstr(tup, desc, 4, prio, sizeof(prio));
		attempts = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		checked_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
		listed = !isnull;
		if (!bc_job_parse_target(target, job))
		{
			/* cannot happen for jobs queued through brickcat's functions */
			job->job_id = job_id;
			strlcpy(job->target, target, BC_TARGET_LEN);
			job->attempt = attempts;
			bc_queue_finish(job, false, "bad_request", "invalid target", now);
			continue;
		}
		job->job_id = job_id;
		job->attempt = attempts;
		job->call_id = (listed && checked_at > cutoff) ? -1 : 0;
		/* only the worker adds not_found rows, and it holds this target's job */
		job->not_in_negative_cache = !listed;
		if (!bc_job_parse_priority(prio, &job->priority))
			job->priority = BC_PRIORITY_BACKGROUND;
		n++;
	}
	return n;
}

/*
 * bc_queue_unclaim puts a claimed job back without counting the attempt
 * (the limiter refused the call), due again at not_before.
 */
void
bc_queue_unclaim(const BcJob *job, TimestampTz not_before, const char *reason)
{
	Oid			types[3] = {INT8OID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	int			rc;

	plan = bc_queue_plan(&bc_plan_unclaim,
						 "UPDATE brickcat.fetch_queue"
						 "   SET state = 'queued', attempts = greatest(attempts - 1, 0),"
						 "       lease_until = NULL, not_before = $2, reason = $3"
						 " WHERE job_id = $1",
						 3, types);
	values[0] = Int64GetDatum(job->job_id);
	values[1] = TimestampTzGetDatum(not_before);
	values[2] = CStringGetTextDatum(reason);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "brickcat: putting job back failed: %s", SPI_result_code_string(rc));
}

/*
 * bc_queue_finish ends a job as done or failed, recording the outcome of
 * its last attempt; a failed job's reason is outcome and error.
 */
void
bc_queue_finish(const BcJob *job, bool done, const char *outcome,
				const char *error, TimestampTz now)
{
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[6];
	char		nulls[7] = "      ";
	SPIPlanPtr	plan;
	int			rc;

	plan = bc_queue_plan(&bc_plan_finish,
						 "UPDATE brickcat.fetch_queue"
						 "   SET state = $2::brickcat.job_state, lease_until = NULL,"
						 "       last_outcome = $3, last_error = $4, reason = $5,"
						 "       finished_at = $6"
						 " WHERE job_id = $1",
						 6, types);
	values[0] = Int64GetDatum(job->job_id);
	values[1] = CStringGetTextDatum(done ? "done" : "failed");
	values[2] = bc_queue_text_or_null(outcome, &nulls[2]);
	values[3] = bc_queue_text_or_null(done ? NULL : error, &nulls[3]);
	if (done)
		nulls[4] = 'n';
	else
		values[4] = CStringGetTextDatum(psprintf("%s after %d attempt%s%s%s",
												 outcome, job->attempt,
												 job->attempt == 1 ? "" : "s",
												 error ? ": " : "", error ? error : ""));
	values[5] = TimestampTzGetDatum(now);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "brickcat: finishing job failed: %s", SPI_result_code_string(rc));
}

/*
 * bc_queue_retry puts a job whose attempt failed back in the queue, due at
 * not_before.
 */
void
bc_queue_retry(const BcJob *job, TimestampTz not_before, const char *outcome,
			   const char *error)
{
	Oid			types[4] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[5] = "    ";
	SPIPlanPtr	plan;
	int			rc;

	plan = bc_queue_plan(&bc_plan_retry,
						 "UPDATE brickcat.fetch_queue"
						 "   SET state = 'queued', lease_until = NULL, not_before = $2,"
						 "       last_outcome = $3, last_error = $4"
						 " WHERE job_id = $1",
						 4, types);
	values[0] = Int64GetDatum(job->job_id);
	values[1] = TimestampTzGetDatum(not_before);
	values[2] = CStringGetTextDatum(outcome);
	values[3] = bc_queue_text_or_null(error, &nulls[3]);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "brickcat: requeueing job failed: %s", SPI_result_code_string(rc));
}

/*
 * bc_queue_reclaim_leases queues running jobs again whose lease expired
 * (all running jobs when all is set: their worker is gone), failing those
 * that used up their attempts.  A job whose current attempt has no call log
 * row was claimed ahead and never sent: that attempt is not counted.
 * Returns how many it touched.
 */
int
bc_queue_reclaim_leases(TimestampTz now, bool all)
{
	Oid			types[3] = {TIMESTAMPTZOID, BOOLOID, INT4OID};
	Datum		values[3];
	int			rc;

	values[0] = TimestampTzGetDatum(now);
	values[1] = BoolGetDatum(all);
	values[2] = Int32GetDatum(bc_retry_max_attempts);
	rc = SPI_execute_with_args("UPDATE brickcat.fetch_queue q"
							   "   SET state = CASE WHEN s.n >= $3 THEN 'failed'"
							   "                    ELSE 'queued' END::brickcat.job_state,"
							   "       attempts = s.n,"
							   "       finished_at = CASE WHEN s.n >= $3 THEN $1 END,"
							   "       reason = CASE WHEN s.n >= $3"
							   "         THEN 'interrupted after ' || s.n || ' attempts: worker exited mid-call'"
							   "         WHEN s.sent THEN 'lease expired: worker exited mid-call; taken up again'"
							   "         ELSE 'lease expired: worker exited before sending the call; taken up again' END,"
							   "       last_outcome = CASE WHEN s.sent"
							   "         THEN coalesce(q.last_outcome, 'interrupted') ELSE q.last_outcome END,"
							   "       lease_until = NULL"
							   "  FROM (SELECT j.job_id, e.sent,"
							   "               j.attempts - CASE WHEN e.sent THEN 0 ELSE 1 END AS n"
							   "          FROM brickcat.fetch_queue j,"
							   "       LATERAL (SELECT EXISTS (SELECT FROM brickcat.api_call c"
							   "                 WHERE c.target = j.target AND c.job_id = j.job_id"
							   "                   AND c.attempt = j.attempts) AS sent) e"
							   "         WHERE j.state = 'running' AND ($2 OR j.lease_until < $1)) s"
							   " WHERE q.job_id = s.job_id",
							   3, types, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "brickcat: reclaiming leases failed: %s", SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * bc_queue_next_due returns when the next queued job is due, DT_NOEND when
 * none is queued.  It runs read-write so that it sees jobs queued earlier in
 * the same transaction (a read-only SPI call keeps the older snapshot).  Leases are not waited for: the only worker holds every
 * running job, and those of a worker that died are taken up when its
 * successor starts (and by housekeeping).
 */
TimestampTz
bc_queue_next_due(void)
{
	SPIPlanPtr	plan;
	bool		isnull;
	Datum		d;
	int			rc;

	plan = bc_queue_plan(&bc_plan_next_due,
						 "SELECT min((SELECT q.not_before FROM brickcat.fetch_queue q"
						 "             WHERE q.state = 'queued' AND q.priority = p"
						 "             ORDER BY q.not_before LIMIT 1))"
						 "  FROM unnest(enum_range(NULL::brickcat.priority)) p",
						 0, NULL);
	rc = SPI_execute_plan(plan, NULL, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "brickcat: reading the queue failed: %s", SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? DT_NOEND : DatumGetTimestampTz(d);
}

/*
 * bc_queue_not_found_cached says whether BrickLink answered not found for
 * target within brickcat.not_found_ttl.
 */
bool
bc_queue_not_found_cached(const char *target, TimestampTz now)
{
	Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		values[2];
	SPIPlanPtr	plan;
	int			rc;

	plan = bc_queue_plan(&bc_plan_not_found,
						 "SELECT FROM brickcat.not_found WHERE target = $1 AND checked_at > $2",
						 2, types);
	values[0] = CStringGetTextDatum(target);
	values[1] = TimestampTzGetDatum(now - bc_not_found_ttl.usec);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "brickcat: reading the negative cache failed");
	return SPI_processed > 0;
}

/*
 * bc_queue_prune deletes finished jobs, call log rows and negative-cache
 * entries older than their retention.
 */
void
bc_queue_prune(TimestampTz now)
{
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];

	values[0] = TimestampTzGetDatum(now - bc_call_log_retention.usec);
	values[1] = TimestampTzGetDatum(now - bc_not_found_ttl.usec);
	if (SPI_execute_with_args("DELETE FROM brickcat.api_call WHERE started_at < $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("DELETE FROM brickcat.fetch_queue"
							  " WHERE state IN ('done', 'failed') AND finished_at < $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("DELETE FROM brickcat.not_found WHERE checked_at <= $1",
							  1, types + 1, values + 1, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "brickcat: pruning failed");
}

/*
 * bc_queue_bad_arg raises the error for an invalid request_refresh argument.
 */
static void
bc_queue_bad_arg(const char *msg, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
}

/*
 * bc_queue_parse_what turns one element of request_refresh's what into the
 * kind and price fields of job.
 */
static void
bc_queue_parse_what(const char *w, BcJob *job)
{
	const char *hint = "Use item, colors, color_list, category_list or price:<color_id>:<sold|stock>:<N|U>, e.g. price:11:sold:N.";

	if (strcmp(w, "item") == 0)
		job->kind = BC_JOB_ITEM;
	else if (strcmp(w, "colors") == 0)
		job->kind = BC_JOB_COLORS;
	else if (strcmp(w, "color_list") == 0)
		job->kind = BC_JOB_COLOR_LIST;
	else if (strcmp(w, "category_list") == 0)
		job->kind = BC_JOB_CATEGORY_LIST;
	else if (pg_strncasecmp(w, "price:", 6) == 0)
	{
		char	   *copy = pstrdup(w + 6);
		char	   *color = copy;
		char	   *guide = strchr(copy, ':');
		char	   *cond = guide ? strchr(guide + 1, ':') : NULL;
		char	   *end;
		long		c;

		if (guide == NULL || cond == NULL || strchr(cond + 1, ':') != NULL)
			bc_queue_bad_arg(psprintf("invalid price guide \"%s\"", w), NULL, hint);
		*guide++ = '\0';
		*cond++ = '\0';
		errno = 0;
		c = strtol(color, &end, 10);
		if (*color == '\0' || !isdigit((unsigned char) *color) || *end != '\0' ||
			errno != 0 || c < 0 || c > PG_INT32_MAX)
			bc_queue_bad_arg(psprintf("invalid color id in \"%s\"", w),
							 "The color id must be a BrickLink color id, 0 for all colors.",
							 hint);
		job->kind = BC_JOB_PRICE;
		job->color_id = (int) c;
		if (pg_strcasecmp(guide, "sold") == 0)
			job->sold = true;
		else if (pg_strcasecmp(guide, "stock") == 0)
			job->sold = false;
		else
			bc_queue_bad_arg(psprintf("invalid guide type in \"%s\"", w),
							 "The guide type is sold (last 6 months) or stock (for sale now).",
							 hint);
		if (pg_strcasecmp(cond, "N") == 0)
			job->condition = 'N';
		else if (pg_strcasecmp(cond, "U") == 0)
			job->condition = 'U';
		else
			bc_queue_bad_arg(psprintf("invalid condition in \"%s\"", w),
							 "The condition is N (new) or U (used).", hint);
	}
	else
		bc_queue_bad_arg(psprintf("unknown refresh target \"%s\"", w), NULL, hint);
}

/*
 * bc_queue_check_item validates and normalizes request_refresh's item
 * number and type into job.
 */
static void
bc_queue_check_item(text *item_no, text *item_type, BcJob *job)
{
	char	   *no;
	char	   *type;

	if (item_type == NULL)
		bc_queue_bad_arg("item_type must not be NULL", NULL,
						 "Use PART, SET, MINIFIG, BOOK, GEAR, CATALOG, INSTRUCTION, UNSORTED_LOT or ORIGINAL_BOX.");
	type = text_to_cstring(item_type);
	for (char *c = type; *c; c++)
		*c = pg_ascii_toupper((unsigned char) *c);
	if (strlen(type) >= BC_ITEM_TYPE_BUF || !bc_job_valid_type(type))
		bc_queue_bad_arg(psprintf("invalid item type \"%s\"", text_to_cstring(item_type)),
						 NULL,
						 "Use PART, SET, MINIFIG, BOOK, GEAR, CATALOG, INSTRUCTION, UNSORTED_LOT or ORIGINAL_BOX.");
	strlcpy(job->item_type, type, BC_ITEM_TYPE_BUF);

	if (item_no == NULL)
		bc_queue_bad_arg("item_no must not be NULL", NULL,
						 "Give a BrickLink item number such as '3001'; only color_list and category_list need none.");
	no = text_to_cstring(item_no);
	if (no[0] == '\0')
		bc_queue_bad_arg("item_no must not be empty", NULL,
						 "Give a BrickLink item number such as '3001'.");
	if (pg_mbstrlen(no) > BC_ITEM_NO_MAX_CHARS || strlen(no) >= BC_ITEM_NO_BUF)
		bc_queue_bad_arg("item_no is too long", "BrickLink item numbers have at most 64 characters.",
						 "Give a BrickLink item number such as '3001'.");
	for (const unsigned char *c = (const unsigned char *) no; *c; c++)
	{
		if (*c < 0x20 || *c == 0x7f)
			bc_queue_bad_arg("item_no contains control characters", NULL,
							 "Give a BrickLink item number such as '3001'.");
	}
	if (no[0] == ' ' || no[strlen(no) - 1] == ' ')
		bc_queue_bad_arg(psprintf("item_no \"%s\" begins or ends with a space", no),
						 "No BrickLink item number does; BrickLink would answer that it does not know it.",
						 "Trim it, for example with btrim().");
	if (strcmp(no, ".") == 0 || strcmp(no, "..") == 0)
		bc_queue_bad_arg("item_no must not be \".\" or \"..\"",
						 "A dot segment would change the path of the request to BrickLink.",
						 "Give a BrickLink item number such as '3001'.");
	strlcpy(job->item_no, no, BC_ITEM_NO_BUF);
}

PG_FUNCTION_INFO_V1(bc_request_refresh_sql);

/*
 * bc_request_refresh_sql implements brickcat.request_refresh(item_no,
 * item_type, what, priority): queues one job per element of what (joining
 * open jobs for the same target) and wakes the worker when the transaction
 * commits.  Returns one row per target.
 */
Datum
bc_request_refresh_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *item_no = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	text	   *item_type = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	ArrayType  *what;
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	BcPriority	priority;
	BcJob	   *jobs;
	int			njobs = 0;
	bool		item_checked = false;

	if (PG_ARGISNULL(3) ||
		!bc_job_parse_priority(text_to_cstring(PG_GETARG_TEXT_PP(3)), &priority))
		bc_queue_bad_arg(PG_ARGISNULL(3) ? "priority must not be NULL" :
						 psprintf("invalid priority \"%s\"", text_to_cstring(PG_GETARG_TEXT_PP(3))),
						 NULL, "Use interactive, on_demand or background.");
	if (PG_ARGISNULL(2))
		bc_queue_bad_arg("what must not be NULL", NULL,
						 "Use an array such as '{item,colors}' or '{price:11:sold:N}'.");
	what = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(what) > 1)
		bc_queue_bad_arg("what must be a one-dimensional array", NULL,
						 "Use an array such as '{item,colors}'.");
	deconstruct_array(what, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &nelems);
	if (nelems == 0)
		bc_queue_bad_arg("what must not be empty", NULL,
						 "Use an array such as '{item,colors}' or '{price:11:sold:N}'.");
	if (nelems > 1000)
		bc_queue_bad_arg("too many refresh targets", "At most 1000 elements are accepted per call.",
						 "Split the request.");

	jobs = palloc0(sizeof(BcJob) * nelems);
	for (int i = 0; i < nelems; i++)
	{
		BcJob	   *job = &jobs[njobs];
		bool		dup = false;

		if (enulls[i])
			bc_queue_bad_arg("what must not contain NULL", NULL,
							 "Use an array such as '{item,colors}'.");
		bc_queue_parse_what(TextDatumGetCString(elems[i]), job);
		job->priority = priority;
		if (job->kind == BC_JOB_ITEM || job->kind == BC_JOB_COLORS || job->kind == BC_JOB_PRICE)
		{
			BcJob		key;

			if (!item_checked)
			{
				memset(&key, 0, sizeof(key));
				bc_queue_check_item(item_no, item_type, &key);
				item_checked = true;
				strlcpy(jobs[0].item_type, key.item_type, BC_ITEM_TYPE_BUF);
				strlcpy(jobs[0].item_no, key.item_no, BC_ITEM_NO_BUF);
			}
			if (job != &jobs[0])
			{
				strlcpy(job->item_type, jobs[0].item_type, BC_ITEM_TYPE_BUF);
				strlcpy(job->item_no, jobs[0].item_no, BC_ITEM_NO_BUF);
			}
		}
		else
		{
			job->item_type[0] = '\0';
			job->item_no[0] = '\0';
		}
		bc_job_make_target(job);
		if (strlen(job->target) >= BC_TARGET_LEN - 1)
			bc_queue_bad_arg("item_no is too long for a fetch target", NULL,
							 "Give a BrickLink item number such as '3001'.");
		for (int j = 0; j < njobs; j++)
			dup |= strcmp(jobs[j].target, job->target) == 0;
		if (!dup)
			njobs++;
	}

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	for (int i = 0; i < njobs; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {0};
		bool		is_new;
		int			rc;
		Oid			argtypes[1] = {INT8OID};

		values[0] = Int64GetDatum(bc_queue_upsert(&jobs[i], &is_new));
		/* report the open job's priority, which may be higher than asked */
		rc = SPI_execute_with_args("SELECT priority FROM brickcat.fetch_queue WHERE job_id = $1",
								   1, argtypes, values, NULL, false, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "brickcat: queued job vanished");
		values[1] = CStringGetTextDatum(jobs[i].target);
		values[2] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
								  &nulls[2]);
		values[3] = BoolGetDatum(is_new);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	bc_worker_wake_at_commit();
	return (Datum) 0;
}
