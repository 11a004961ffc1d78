/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The brickcat background worker: turns readers' requests into queue
 *	  jobs, claims due jobs within the quota, the circuit breaker and the
 *	  credential stop, sends them through the BrickLink client, and stores
 *	  each answer in its own transaction.
 *
 * Count before you call: the claim, the quota debit and the call's log row
 * are committed before the request is sent, so a crash over-counts by the
 * calls in flight and never under-counts.  When there is nothing to do the
 * worker sleeps on its latch until the next job is due (backoff, limiter
 * refusal, lease expiry) or the next prune, running no queries; commits
 * that queue work and readers' requests set the latch.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bricklink_client.h"
#include "quota.h"
#include "worker.h"

/* How often the worker looks again for a missing extension. */
#define BC_WORKER_EXTENSION_POLL_MS 10000
/* Longest sleep in libcurl while transfers run (latch and SIGTERM checks). */
#define BC_WORKER_POLL_MS 10
/* Requests taken from shared memory per round. */
#define BC_WORKER_COLLECT_MAX 64

int			bc_max_concurrency = 4;
char	   *bc_currency = NULL;

BcIntervalGuc bc_not_found_ttl = {"brickcat.not_found_ttl", NULL, 0,
	0, INT64CONST(3650) * USECS_PER_DAY, NULL};
BcIntervalGuc bc_call_log_retention = {"brickcat.call_log_retention", NULL, 0,
	USECS_PER_SEC, INT64CONST(3650) * USECS_PER_DAY, NULL};
BcIntervalGuc bc_log_min_upstream_duration = {"brickcat.log_min_upstream_duration", NULL, 0,
	-USECS_PER_SEC, INT64CONST(3600) * USECS_PER_SEC, NULL};
BcIntervalGuc bc_lease_duration = {"brickcat.lease_duration", NULL, 0,
	USECS_PER_SEC, INT64CONST(1) * USECS_PER_DAY, NULL};

BC_INTERVAL_GUC_HOOKS(bc_not_found_ttl)
BC_INTERVAL_GUC_HOOKS(bc_call_log_retention)
BC_INTERVAL_GUC_HOOKS(bc_log_min_upstream_duration)
BC_INTERVAL_GUC_HOOKS(bc_lease_duration)

static emit_log_hook_type prev_emit_log_hook = NULL;

/* The context of one worker loop iteration, current again after each commit. */
static MemoryContext bc_worker_loop_cxt = NULL;

static const char *const bc_secret_settings[] = {
	"brickcat.consumer_key", "brickcat.consumer_secret",
	"brickcat.token_value", "brickcat.token_secret"
};

/* The worker's scheduling state. */
typedef struct BcWorkerState
{
	bool		queue_more;		/* the last claim was full: more may be due */
	bool		woken;			/* latch set: requests or new jobs */
	TimestampTz next_due;		/* next job due / lease expiry (bc_now clock) */
	TimestampTz next_prune;
	MemoryContext loop_cxt;
} BcWorkerState;

/* What to tell waiting readers once a transaction has committed. */
typedef struct BcCompletion
{
	char		target[BC_TARGET_LEN];
	bool		ok;
	const char *code;
	char		text[BC_ERROR_TEXT_LEN];
} BcCompletion;

static void bc_worker_result(BcWorkerState *st, BcCallResult *res);
static const char *bc_worker_strcasestr(const char *haystack, const char *needle);

/*
 * bc_worker_error_code maps an outcome to the error code readers see
 * (NULL for ok).
 */
const char *
bc_worker_error_code(BcOutcome o)
{
	switch (o)
	{
		case BC_OUTCOME_OK:
			return NULL;
		case BC_OUTCOME_NOT_FOUND:
			return "NOT_FOUND";
		case BC_OUTCOME_AUTH_ERROR:
			return "AUTH_ERROR";
		case BC_OUTCOME_THROTTLED:
			return "THROTTLED";
		case BC_OUTCOME_TIMEOUT:
			return "TIMEOUT";
		case BC_OUTCOME_BAD_RESPONSE:
			return "BAD_RESPONSE";
		case BC_OUTCOME_BAD_REQUEST:
		case BC_OUTCOME_SERVER_ERROR:
		case BC_OUTCOME_NETWORK_ERROR:
		default:
			return "UPSTREAM_ERROR";
	}
}

/*
 * bc_worker_log_hook keeps the OAuth secrets out of the server log: the
 * postmaster logs 'parameter "x" changed to "value"' when the configuration
 * is reloaded, and statement logging would print ALTER SYSTEM SET x = '...'.
 * Such messages are replaced, any statement naming a secret setting is kept
 * out of the log, and any other message quoting a secret's value has it
 * masked.  Other messages about these settings (permission errors, for
 * instance) keep their text.
 */
static void
bc_worker_log_hook(ErrorData *edata)
{
	if (edata->message != NULL && bc_worker_strcasestr(edata->message, "brickcat.") != NULL)
	{
		for (int i = 0; i < lengthof(bc_secret_settings); i++)
		{
			const char *name = bc_secret_settings[i];

			if (bc_worker_strcasestr(edata->message, name) == NULL)
				continue;
			if (strncmp(edata->message, "parameter \"", 11) == 0 &&
				strstr(edata->message, "\" changed to \"") != NULL)
				edata->message = psprintf("parameter \"%s\" changed (value not logged)",
										  name);
			else if (strncmp(edata->message, "statement: ", 11) == 0 ||
					 strncmp(edata->message, "duration: ", 10) == 0 ||
					 strncmp(edata->message, "execute ", 8) == 0)
				edata->message = psprintf("statement naming %s withheld (it may hold the secret)",
										  name);
			edata->hide_stmt = true;
			break;
		}
	}
	if (edata->message != NULL)
		edata->message = bc_client_redact(edata->message);
	if (edata->detail != NULL)
		edata->detail = bc_client_redact(edata->detail);
	if (edata->detail_log != NULL)
		edata->detail_log = bc_client_redact(edata->detail_log);
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * bc_worker_strcasestr finds needle in haystack ignoring ASCII case.
 */
static const char *
bc_worker_strcasestr(const char *haystack, const char *needle)
{
	size_t		n = strlen(needle);

	for (const char *h = haystack; *h; h++)
	{
		if (pg_strncasecmp(h, needle, n) == 0)
			return h;
	}
	return NULL;
}

/*
 * bc_worker_init registers the worker's settings and, when brickcat is
 * preloaded, the background worker and the log hook.
 */
void
bc_worker_init(void)
{
	BackgroundWorker worker;

	bc_client_init();
	bc_breaker_init();
	DefineCustomIntVariable("brickcat.max_concurrency",
							"Most BrickLink calls in flight at once.",
							"BrickLink drops clients above 4-5 concurrent connections.",
							&bc_max_concurrency, 4, 1, BC_CLIENT_MAX_SLOTS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("brickcat.currency",
							   "Currency of the price guides brickcat fetches (ISO 4217 code).",
							   NULL, &bc_currency, "USD", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	bc_define_interval_guc(&bc_not_found_ttl,
						   "How long a target BrickLink does not know is not asked again.",
						   NULL, "7 days", PGC_SIGHUP, 0,
						   bc_not_found_ttl_check, bc_not_found_ttl_assign);
	bc_define_interval_guc(&bc_call_log_retention,
						   "How long brickcat.api_call rows and finished jobs are kept.",
						   NULL, "7 days", PGC_SIGHUP, 0,
						   bc_call_log_retention_check, bc_call_log_retention_assign);
	bc_define_interval_guc(&bc_log_min_upstream_duration,
						   "BrickLink calls taking at least this long are logged; -1 turns it off.",
						   NULL, "-1", PGC_SIGHUP, 0,
						   bc_log_min_upstream_duration_check,
						   bc_log_min_upstream_duration_assign);
	bc_define_interval_guc(&bc_lease_duration,
						   "How long a claimed job stays with the worker before it is taken up again.",
						   "A job whose worker died is fetched again after its lease.",
						   "5min", PGC_SIGHUP, 0,
						   bc_lease_duration_check, bc_lease_duration_assign);

	if (!bc_preloaded)
		return;

	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = bc_worker_log_hook;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "brickcat", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "bc_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "brickcat worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "brickcat worker", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * bc_worker_begin starts a worker transaction with SPI connected.
 */
static void
bc_worker_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * bc_worker_commit commits the worker's transaction.
 */
static void
bc_worker_commit(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	/* the commit leaves TopMemoryContext current: allocate in the loop's */
	if (bc_worker_loop_cxt)
		MemoryContextSwitchTo(bc_worker_loop_cxt);
}

/*
 * bc_worker_extension_ready says whether the brickcat extension exists in
 * the worker's database.
 */
static bool
bc_worker_extension_ready(void)
{
	bool		ready;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	ready = OidIsValid(get_extension_oid("brickcat", true));
	CommitTransactionCommand();
	if (bc_worker_loop_cxt)
		MemoryContextSwitchTo(bc_worker_loop_cxt);
	return ready;
}

/*
 * bc_worker_set_ready publishes whether the worker can fetch.
 */
static void
bc_worker_set_ready(bool ready)
{
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	bc_shared->worker_ready = ready;
	LWLockRelease(bc_shared->lock);
}

/*
 * bc_worker_complete_all tells waiting readers the outcomes collected while
 * the transaction ran (call after commit, so they find the rows).
 */
static void
bc_worker_complete_all(BcCompletion *c, int n)
{
	for (int i = 0; i < n; i++)
		bc_request_complete(c[i].target, c[i].ok, c[i].code, c[i].text);
}

/*
 * bc_worker_add_completion records a reader notification for after commit.
 */
static void
bc_worker_add_completion(BcCompletion *c, int *n, const char *target, bool ok,
						 const char *code, const char *text)
{
	strlcpy(c[*n].target, target, BC_TARGET_LEN);
	c[*n].ok = ok;
	c[*n].code = code;
	strlcpy(c[*n].text, text ? text : "", BC_ERROR_TEXT_LEN);
	(*n)++;
}

/*
 * bc_worker_blocked returns the reader error code that keeps the worker
 * from sending anything now (NULL when it may send), and when that may
 * change.
 */
static const char *
bc_worker_blocked(TimestampTz now, TimestampTz *until)
{
	TimestampTz throttled;

	*until = DT_NOEND;
	if (bc_auth_is_failed())
		return "AUTH_ERROR";
	if (!bc_consumer_key[0] || !bc_consumer_secret[0] || !bc_token_value[0] ||
		!bc_token_secret[0])
	{
		bc_auth_failed("credentials are not configured");
		return "AUTH_ERROR";
	}
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	throttled = bc_shared->throttled_until;
	if (bc_shared->breaker_state == BC_BREAKER_OPEN)
		*until = bc_shared->breaker_changed_at + bc_breaker_open_duration.usec;
	LWLockRelease(bc_shared->lock);
	if (*until != DT_NOEND && GetCurrentTimestamp() < *until)
		return "BREAKER_OPEN";
	*until = DT_NOEND;
	/* throttled_until is on the real clock */
	if (throttled > GetCurrentTimestamp())
	{
		*until = now + (throttled - GetCurrentTimestamp());
		return "THROTTLED";
	}
	return NULL;
}

/*
 * bc_worker_collect turns readers' requests in shared memory into queue
 * jobs (in the current transaction); requests that cannot be served now
 * are completed right away through done[].
 */
static void
bc_worker_collect(TimestampTz now, const char *blocked, BcCompletion *done, int *ndone)
{
	char		targets[BC_WORKER_COLLECT_MAX][BC_TARGET_LEN];
	BcPriority	prios[BC_WORKER_COLLECT_MAX];
	int			n;

	n = bc_request_collect(targets, prios, BC_WORKER_COLLECT_MAX);
	for (int i = 0; i < n; i++)
	{
		BcJob		job;
		bool		is_new;

		if (!bc_job_parse_target(targets[i], &job))
		{
			bc_worker_add_completion(done, ndone, targets[i], false, "UPSTREAM_ERROR",
									 "invalid fetch target");
			continue;
		}
		if (bc_queue_not_found_cached(job.target, now))
		{
			bc_worker_add_completion(done, ndone, job.target, false, "NOT_FOUND",
									 "BrickLink does not know this item (negative cache)");
			continue;
		}
		job.priority = prios[i];
		(void) bc_queue_upsert(&job, &is_new);
		if (blocked)
			bc_worker_add_completion(done, ndone, job.target, false, blocked,
									 "fetching is paused; the job stays queued");
	}
}

/*
 * bc_worker_round collects requests and, when calls may be sent, claims
 * due jobs, debits the quota and logs each call, all in one committed
 * transaction; then sends the calls.
 */
static void
bc_worker_round(BcWorkerState *st)
{
	BcJob		jobs[BC_CLIENT_MAX_SLOTS];
	BcJob		send[BC_CLIENT_MAX_SLOTS];
	BcCompletion done[BC_WORKER_COLLECT_MAX + BC_CLIENT_MAX_SLOTS];
	int			ndone = 0;
	int			nsend = 0;
	int			want = bc_client_free_slots();
	int			admit = -1;
	int			nclaimed = 0;
	TimestampTz now = bc_now();
	TimestampTz until;
	const char *blocked = bc_worker_blocked(now, &until);

	if (!blocked && want > 0)
	{
		TimestampTz reopen;

		admit = bc_breaker_admit(GetCurrentTimestamp(), &reopen);
		if (admit == 0)
		{
			blocked = "BREAKER_OPEN";
			until = reopen == DT_NOEND ? DT_NOEND : now + (reopen - GetCurrentTimestamp());
		}
		else if (admit > 0)
			want = Min(want, admit);
	}

	bc_worker_begin("brickcat: claiming jobs");
	if (st->woken)
	{
		bc_worker_collect(now, blocked, done, &ndone);
		/* jobs queued just now are due at this transaction's start: claim them */
		now = Max(now, bc_statement_now());
	}
	st->woken = false;

	if (!blocked && want > 0)
	{
		nclaimed = bc_queue_claim(jobs, want, now);
		st->queue_more = (nclaimed == want);
		for (int i = 0; i < nclaimed; i++)
		{
			BcJob	   *job = &jobs[i];
			TimestampTz retry_at = 0;
			const char *reason = NULL;

			if (job->call_id < 0)
			{
				/* the negative cache answers without a call */
				job->attempt--;
				bc_queue_finish(job, false, "not_found",
								"BrickLink answered RESOURCE_NOT_FOUND recently (negative cache)",
								now);
				bc_worker_add_completion(done, &ndone, job->target, false, "NOT_FOUND",
										 "BrickLink does not know this item (negative cache)");
				continue;
			}
			if (!bc_quota_try_acquire(job->priority, 1, job->target, &retry_at, &reason))
			{
				/*
				 * Not an attempt: back to the queue until the limiter allows
				 * it.  A burst refusal clears within a second, so waiting
				 * readers keep waiting; anything else is reported to them.
				 */
				bool		burst = reason && strcmp(reason, "BURST") == 0;
				int64		jitter = burst ? 50 * 1000 : USECS_PER_SEC;
				TimestampTz at = Max(retry_at, now) +
				(int64) (pg_prng_double(&pg_global_prng_state) * jitter);

				bc_queue_unclaim(job, at, psprintf("waiting for quota: %s",
												   reason ? reason : "refused"));
				st->next_due = Min(st->next_due, at);
				if (!burst)
					bc_worker_add_completion(done, &ndone, job->target, false,
											 (reason && strcmp(reason, "THROTTLED") == 0) ?
											 "THROTTLED" : "QUOTA_EXHAUSTED",
											 "the BrickLink call budget does not allow the call now");
				continue;
			}
			job->call_id = bc_writer_call_begin(job, now);
			send[nsend++] = *job;
		}
	}
	if (blocked)
		st->queue_more = false;
	if (!st->queue_more)
	{
		/* recomputed from the table, which holds every backoff and deferral */
		st->next_due = bc_queue_next_due();
		if (blocked && until != DT_NOEND)
			st->next_due = Max(st->next_due, until);
	}
	if (admit > 0 && nsend == 0)
		bc_breaker_release_probe();
	bc_worker_commit();
	bc_worker_complete_all(done, ndone);

	if (nsend > 0)
		pgstat_report_activity(STATE_RUNNING, "brickcat: waiting for BrickLink");
	for (int i = 0; i < nsend; i++)
	{
		char	   *err = NULL;

		if (send[i].attempt > 1)
			bc_upstream_add(BC_UP_RETRIES, 1);
		if (!bc_client_send(&send[i], now, &err))
		{
			BcCallResult res;

			/* nothing was sent: record it as a failed call of our own making */
			memset(&res, 0, sizeof(res));
			res.job = send[i];
			res.started_at = now;
			res.retry_after_s = -1;
			res.transport_error = true;
			res.transport_outcome = BC_OUTCOME_BAD_REQUEST;
			strlcpy(res.error, err, sizeof(res.error));
			bc_worker_result(st, &res);
		}
	}
}

/*
 * bc_worker_store_guarded stores an answer in a subtransaction, so that a
 * value the catalog refuses becomes an error message instead of an error.
 */
static bool
bc_worker_store_guarded(const BcJob *job, bc_json_object_t *data, TimestampTz now, char **err)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		ok = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		ok = bc_writer_store(job, data, now, err);
		if (ok)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		*err = psprintf("not stored: %s", edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * bc_worker_result handles one finished call in its own transaction:
 * classify, store or mark the failure, log the call, then finish, retry or
 * requeue the job, and tell waiting readers after the commit.
 */
static void
bc_worker_result(BcWorkerState *st, BcCallResult *res)
{
	BcEnvelope	env;
	BcJob	   *job = &res->job;
	BcOutcome	outcome;
	bool		retryable;
	char	   *err = NULL;
	const char *meta_message = NULL;
	BcCompletion done[1];
	int			ndone = 0;
	TimestampTz now;

	memset(&env, 0, sizeof(env));
	if (res->transport_error)
	{
		outcome = res->transport_outcome;
		retryable = bc_outcome_is_retryable(outcome);
		err = res->error;
	}
	else
	{
		bc_json_parse_envelope(res->body, res->body_len, res->http_status, &env);
		outcome = env.outcome;
		retryable = env.retryable || bc_outcome_is_retryable(outcome);
		meta_message = env.meta_message;
		if (outcome != BC_OUTCOME_OK)
			err = psprintf("%s%s%s", env.error ? env.error : bc_outcome_name(outcome),
						   (outcome != BC_OUTCOME_AUTH_ERROR && env.meta_description) ? ": " : "",
						   (outcome != BC_OUTCOME_AUTH_ERROR && env.meta_description) ?
						   env.meta_description : "");
	}

	bc_worker_begin("brickcat: storing a result");
	now = bc_now();
	if (outcome == BC_OUTCOME_OK &&
		!bc_worker_store_guarded(job, env.data, now, &err))
	{
		outcome = BC_OUTCOME_BAD_RESPONSE;
		retryable = false;
	}
	if (err)
		err = bc_client_redact(err);
	bc_writer_call_end(job->call_id, res->duration_us, res->http_status, env.meta_code,
					   outcome, (int64) res->body_len, err);

	if (outcome == BC_OUTCOME_OK)
	{
		bc_queue_finish(job, true, "ok", NULL, now);
		bc_worker_add_completion(done, &ndone, job->target, true, NULL, NULL);
	}
	else
	{
		const char *code = bc_worker_error_code(outcome);

		if (outcome == BC_OUTCOME_NOT_FOUND)
			bc_writer_store_not_found(job, now);
		else
			bc_writer_store_failure(job, psprintf("%s: %s", bc_outcome_name(outcome), err),
									now);

		if (outcome == BC_OUTCOME_AUTH_ERROR)
		{
			/* not the job's fault: it waits for working credentials */
			bc_auth_failed(meta_message);
			bc_queue_retry(job, now, bc_outcome_name(outcome), err);
		}
		else if (retryable && job->attempt < bc_retry_max_attempts)
		{
			TimestampTz at = bc_retry_backoff(job->attempt, now);

			if (outcome == BC_OUTCOME_THROTTLED)
			{
				TimestampTz pause = res->retry_after_s >= 0 ?
				GetCurrentTimestamp() + (int64) res->retry_after_s * USECS_PER_SEC :
				GetCurrentTimestamp() + (bc_retry_backoff(job->attempt, now) - now);

				bc_quota_note_throttle(pause);
				at = Max(at, now + (pause - GetCurrentTimestamp()));
			}
			bc_queue_retry(job, at, bc_outcome_name(outcome), err);
			bc_upstream_add(BC_UP_BACKOFFS, 1);
			st->next_due = Min(st->next_due, at);
		}
		else
			bc_queue_finish(job, false, bc_outcome_name(outcome), err, now);
		bc_worker_add_completion(done, &ndone, job->target, false, code, err);
	}
	bc_breaker_record(outcome, outcome != BC_OUTCOME_OK && retryable);
	bc_worker_commit();
	st->queue_more = true;
	bc_worker_complete_all(done, ndone);
	bc_json_envelope_free(&env);

	if (bc_log_min_upstream_duration.usec >= 0 &&
		res->duration_us >= bc_log_min_upstream_duration.usec)
		ereport(LOG,
				(errmsg("brickcat: BrickLink call for %s took %.3f ms (%s, HTTP %d)",
						job->target, res->duration_us / 1000.0, bc_outcome_name(outcome),
						res->http_status)));
}

/*
 * bc_worker_startup readies the queue for a new worker: calls a previous
 * worker left unanswered are closed, its leased jobs queued again, and old
 * rows pruned.
 */
static void
bc_worker_startup(BcWorkerState *st)
{
	int			n;

	bc_worker_begin("brickcat: starting");
	bc_writer_calls_interrupted();
	n = bc_queue_reclaim_leases(bc_now(), true);
	bc_queue_prune(bc_now());
	bc_worker_commit();
	if (n > 0)
		ereport(LOG, (errmsg("brickcat: %d job%s a previous worker had claimed queued again",
							 n, n == 1 ? "" : "s")));
	st->next_prune = bc_now() + Min(USECS_PER_DAY,
									Max(bc_call_log_retention.usec / 24, USECS_PER_MINUTE));
	st->queue_more = true;
	st->woken = true;
	st->next_due = DT_NOEND;
}

/*
 * bc_worker_housekeeping reclaims expired leases and prunes old rows when
 * their time has come.
 */
static void
bc_worker_housekeeping(BcWorkerState *st, TimestampTz now)
{
	bc_worker_begin("brickcat: housekeeping");
	(void) bc_queue_reclaim_leases(now, false);
	if (now >= st->next_prune)
	{
		bc_queue_prune(now);
		st->next_prune = now + Min(USECS_PER_DAY,
								   Max(bc_call_log_retention.usec / 24, USECS_PER_MINUTE));
	}
	bc_worker_commit();
	st->queue_more = true;
}

/*
 * bc_worker_sleep waits on the latch until woken or the next due time.
 */
static void
bc_worker_sleep(BcWorkerState *st, long max_ms)
{
	TimestampTz wake = Min(st->next_due, st->next_prune);
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
	long		ms = -1;
	int			rc;

	if (wake != DT_NOEND)
	{
		ms = (long) Max((wake - bc_now() + 999) / 1000, 0);
		events |= WL_TIMEOUT;
	}
	if (max_ms >= 0)
	{
		ms = ms < 0 ? max_ms : Min(ms, max_ms);
		events |= WL_TIMEOUT;
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(true);
	rc = WaitLatch(MyLatch, events, ms, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		st->woken = true;
	}
}

/*
 * bc_worker_main is the background worker's entry point.
 */
void
bc_worker_main(Datum arg)
{
	BcWorkerState st;
	bool		ready = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	bc_worker_attach();
	BackgroundWorkerInitializeConnection(bc_database, NULL, 0);
	pgstat_report_appname("brickcat worker");
	bc_client_start();
	before_shmem_exit((pg_on_exit_callback) bc_client_shutdown, (Datum) 0);

	memset(&st, 0, sizeof(st));
	st.loop_cxt = AllocSetContextCreate(TopMemoryContext, "brickcat worker loop",
										ALLOCSET_DEFAULT_SIZES);
	bc_worker_loop_cxt = st.loop_cxt;
	st.next_due = DT_NOEND;
	st.next_prune = DT_NOEND;

	for (;;)
	{
		BcCallResult res;
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(st.loop_cxt);
		MemoryContextSwitchTo(st.loop_cxt);

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			bc_auth_reset();
			st.woken = true;
			st.queue_more = true;
		}

		if (!ready)
		{
			if (!bc_worker_extension_ready())
			{
				bc_worker_sleep(&st, BC_WORKER_EXTENSION_POLL_MS);
				continue;
			}
			bc_worker_startup(&st);
			bc_worker_set_ready(true);
			ready = true;
			ereport(LOG, (errmsg("brickcat worker started in database \"%s\"", bc_database)));
		}

		/* finished calls first: they free slots */
		while (bc_client_next_result(&res))
		{
			bc_worker_result(&st, &res);
			bc_client_release();
			CHECK_FOR_INTERRUPTS();
		}

		now = bc_now();
		if (now >= st.next_prune)
			bc_worker_housekeeping(&st, now);
		if (now >= st.next_due)
		{
			st.next_due = DT_NOEND;
			st.queue_more = true;
		}

		if (st.woken || (st.queue_more && bc_client_free_slots() > 0))
			bc_worker_round(&st);

		if (bc_client_in_flight() > 0)
		{
			bc_client_wait(BC_WORKER_POLL_MS);
			if (MyLatch->is_set)
			{
				ResetLatch(MyLatch);
				st.woken = true;
			}
			if (!PostmasterIsAlive())
				proc_exit(1);
		}
		else if (!st.woken && !(st.queue_more && bc_client_free_slots() > 0))
			bc_worker_sleep(&st, -1);
	}
}
