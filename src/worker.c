/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The brickcat background worker: turns readers' requests into queue
 *	  jobs, claims due jobs within the quota, the circuit breaker and the
 *	  credential stop, sends them through the BrickLink client, and stores
 *	  the answers.
 *
 * Jobs are claimed and debited ahead of the free slots and their calls
 * logged a few ahead (worker_batch.c), so that a freed slot gets its next
 * call without waiting for a transaction.  Good answers are stored
 * brickcat.max_concurrency at a time, after the calls that replace them
 * have left (at once when a reader may wait for one, or after 50 ms); a
 * failed answer is stored, and what it taught (breaker, credentials,
 * throttling) applied, before anything more is sent.  The data of good
 * answers is written in one subtransaction (the items with one statement,
 * which also completes the answers' log rows and finishes their jobs), or,
 * when one of them is refused, each in its own, the log rows and jobs then
 * finished with one statement of their own.  Count before you call: the claim,
 * the quota debit and the call's log row are committed before the request
 * is sent, so a crash over-counts by the calls in flight and the jobs
 * claimed ahead, and never under-counts; it repeats at most the calls in
 * flight and the answers not yet stored (2 x brickcat.max_concurrency).
 * When there is nothing to do the worker sleeps on its latch until the
 * next job is due (backoff, limiter refusal, lease expiry) or the next
 * prune, running no queries; commits that queue work and readers' requests
 * set the latch.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "commands/extension.h"
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
#include "demand.h"
#include "quota.h"
#include "worker.h"
#include "worker_batch.h"

/* How often the worker looks again for a missing extension. */
#define BC_WORKER_EXTENSION_POLL_MS 10000
/* Longest sleep in libcurl while transfers run (latch and SIGTERM checks). */
#define BC_WORKER_POLL_MS 10
/* Requests taken from shared memory per round. */
#define BC_WORKER_COLLECT_MAX 64
/* Good answers are stored once this many times brickcat.max_concurrency wait... */
#define BC_WORKER_STORE_FACTOR 1
/* ... or the oldest has waited this long. */
#define BC_WORKER_STORE_WAIT_MS 50
/*
 * Calls are logged ahead of the free slots, up to this many times
 * brickcat.max_concurrency, once fewer than half that remain.
 */
#define BC_WORKER_LOG_AHEAD 2
/*
 * A call sent within this long of being logged keeps the logged time as its
 * started_at, so that completing its log row changes no indexed column and
 * stays on its page (a HOT update, without new index entries).
 */
#define BC_WORKER_SENT_SLACK_MS 10

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

/* The context to return to after a worker transaction (the loop's). */
static MemoryContext bc_worker_outer_cxt = NULL;

static const char *const bc_secret_settings[] = {
	"brickcat.consumer_key", "brickcat.consumer_secret",
	"brickcat.token_value", "brickcat.token_secret"
};

/* A finished call, classified, waiting to be stored. */
typedef struct BcWorkerAnswer
{
	BcCallResult res;			/* body copied into the answers' context */
	BcEnvelope	env;
	BcOutcome	outcome;
	bool		retryable;
	char	   *err;
	const char *meta_message;
	TimestampTz pause;			/* throttled: no calls until (real clock), or 0 */
} BcWorkerAnswer;

/* The worker's scheduling state. */
typedef struct BcWorkerState
{
	bool		queue_more;		/* the last claim was full: more may be due */
	bool		woken;			/* latch set: requests or new jobs */
	bool		look_ahead;		/* new work since the last claim: look past the batch */
	bool		release;		/* settings reloaded: put the batch back */
	TimestampTz next_due;		/* next job due / lease expiry (bc_now clock) */
	TimestampTz next_prune;
	MemoryContext loop_cxt;
	BcWorkerBatch *batch;		/* jobs claimed ahead (worker_batch.c) */
	BcWorkerAnswer *ans;		/* answers not yet stored */
	int			nans;
	TimestampTz ans_since;		/* when the oldest of them arrived (real clock) */
	MemoryContext ans_cxt;		/* their bodies and errors */
} BcWorkerState;

static void bc_worker_classify(BcWorkerAnswer *a);
static void bc_worker_learn(BcWorkerAnswer *ans, int n);
static void bc_worker_finish_ok(BcWorkerAnswer *ans, int n, TimestampTz now,
								BcWriterFinish *fin, BcCompletions *done);
static void bc_worker_store_answers(BcWorkerState *st, BcWorkerAnswer *ans, int n,
									BcCompletions *done);
static void bc_worker_store_alone(BcWorkerState *st, BcCallResult *res);
static void bc_worker_log_slow(BcWorkerAnswer *a);
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
	bc_worker_outer_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * bc_worker_commit commits the worker's transaction and returns to the
 * memory context that was current when it began (the commit would leave
 * TopMemoryContext current, where the loop's allocations would pile up).
 */
static void
bc_worker_commit(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	MemoryContextSwitchTo(bc_worker_outer_cxt);
}

/*
 * bc_worker_extension_ready says whether the brickcat extension exists in
 * the worker's database at the version this library works with, warning
 * once about any other version (the worker waits for ALTER EXTENSION).
 */
static bool
bc_worker_extension_ready(void)
{
	static char warned[NAMEDATALEN] = "";
	MemoryContext outer = CurrentMemoryContext;
	char		version[NAMEDATALEN] = "";
	bool		ready;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (OidIsValid(get_extension_oid("brickcat", true)))
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "brickcat: SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension"
						" WHERE extname = 'brickcat'", true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (v)
				strlcpy(version, v, sizeof(version));
		}
		PopActiveSnapshot();
		SPI_finish();
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(outer);

	ready = strcmp(version, BC_EXTENSION_VERSION) == 0;
	if (!ready && version[0] != '\0' && strcmp(warned, version) != 0)
	{
		ereport(WARNING,
				(errmsg("brickcat worker is waiting: extension brickcat is at version %s in database \"%s\", this library needs %s",
						version, bc_database, BC_EXTENSION_VERSION),
				 errhint("Run ALTER EXTENSION brickcat UPDATE in that database.")));
		strlcpy(warned, version, sizeof(warned));
	}
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
bc_worker_complete_all(BcCompletions *done)
{
	for (int i = 0; i < done->n; i++)
		bc_request_complete(done->c[i].target, done->c[i].ok, done->c[i].code,
							done->c[i].text);
	done->n = 0;
}

/*
 * bc_worker_add_completion records a reader notification for after commit.
 */
void
bc_worker_add_completion(BcCompletions *done, const char *target, bool ok,
						 const char *code, const char *text)
{
	BcCompletion *c;

	if (done->n == done->cap)
	{
		done->cap = Max(done->cap * 2, 16);
		done->c = done->c ? repalloc(done->c, sizeof(BcCompletion) * done->cap) :
			MemoryContextAlloc(done->cxt, sizeof(BcCompletion) * done->cap);
	}
	c = &done->c[done->n++];
	strlcpy(c->target, target, BC_TARGET_LEN);
	c->ok = ok;
	c->code = code;
	strlcpy(c->text, text ? text : "", BC_ERROR_TEXT_LEN);
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
bc_worker_collect(BcWorkerState *st, TimestampTz now, const char *blocked,
				  BcCompletions *done)
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
			bc_worker_add_completion(done, targets[i], false, "UPSTREAM_ERROR",
									 "invalid fetch target");
			continue;
		}
		if (bc_queue_not_found_cached(job.target, now))
		{
			bc_worker_add_completion(done, job.target, false, "NOT_FOUND",
									 "BrickLink does not know this item (negative cache)");
			continue;
		}
		job.priority = prios[i];
		(void) bc_queue_upsert(&job, &is_new);
		/* a job claimed ahead or in flight that a reader now waits for moves up */
		bc_batch_raise(st->batch, job.target, job.priority);
		bc_client_raise(job.target, job.priority);
		if (blocked)
			bc_worker_add_completion(done, job.target, false, blocked,
									 "fetching is paused; the job stays queued");
	}
}

/*
 * bc_worker_send sends the calls for the n logged jobs in send[].
 */
static void
bc_worker_send(BcWorkerState *st, BcJob *send, int nsend, TimestampTz now)
{
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
			bc_worker_store_alone(st, &res);
		}
	}
	/* the requests leave now */
	if (nsend > 0)
		bc_client_wait(0);
}

/*
 * bc_worker_answers_done forgets the answers just stored.
 */
static void
bc_worker_answers_done(BcWorkerState *st)
{
	for (int i = 0; i < st->nans; i++)
		bc_worker_log_slow(&st->ans[i]);
	st->nans = 0;
	MemoryContextReset(st->ans_cxt);
}

/*
 * bc_worker_breaker_closed says whether the circuit breaker is closed.
 */
static bool
bc_worker_breaker_closed(void)
{
	bool		closed;

	LWLockAcquire(bc_shared->lock, LW_SHARED);
	closed = bc_shared->breaker_state == BC_BREAKER_CLOSED;
	LWLockRelease(bc_shared->lock);
	return closed;
}

/*
 * bc_worker_must_learn says whether the answers waiting to be stored must be
 * looked at before anything more is sent: one failed (breaker, credentials,
 * throttling), or the circuit breaker is not closed (a probe's answer
 * closes it).
 */
static bool
bc_worker_must_learn(BcWorkerState *st)
{
	for (int i = 0; i < st->nans; i++)
	{
		if (st->ans[i].outcome != BC_OUTCOME_OK)
			return true;
	}
	return st->nans > 0 && !bc_worker_breaker_closed();
}

/*
 * bc_worker_store_batch returns how many good answers are stored together.
 */
static int
bc_worker_store_batch(void)
{
	return Min(BC_WORKER_STORE_FACTOR * bc_max_concurrency, BC_WORKER_STORE_MAX);
}

/*
 * bc_worker_store_due says whether the good answers waiting to be stored
 * should be stored now: enough have gathered, the oldest has waited long
 * enough, one was asked for ahead of background work (a reader may wait
 * for it), readers asked for something (woken), or no call is in flight.
 */
static bool
bc_worker_store_due(BcWorkerState *st, bool woken)
{
	if (st->nans == 0)
		return false;
	if (woken || bc_client_in_flight() == 0 || st->nans >= bc_worker_store_batch() ||
		GetCurrentTimestamp() - st->ans_since >= BC_WORKER_STORE_WAIT_MS * INT64CONST(1000))
		return true;
	for (int i = 0; i < st->nans; i++)
	{
		if (st->ans[i].res.job.priority != BC_PRIORITY_BACKGROUND)
			return true;
	}
	return false;
}

/*
 * bc_worker_round fills the free transfer slots.  Without store_first,
 * calls already logged ahead are sent at once, and the round ends there
 * unless something needs the database.  Otherwise it runs one transaction:
 * with store_first it applies what the answers waiting to be stored taught
 * (breaker, credentials, throttling) and stores them; then it collects
 * readers' requests, puts the jobs claimed ahead back when fetching is
 * paused, refills them, logs the calls for the free slots and a few more
 * ahead; after the commit it tells waiting readers and sends the calls.
 */
static void
bc_worker_round(BcWorkerState *st, bool store_first)
{
	BcWorkerAnswer *ans = st->ans;
	int			nans = store_first ? st->nans : 0;
	BcJob		send[BC_CLIENT_MAX_SLOTS];
	BcCompletions done = {0};
	int			nsend = 0;
	int			want;
	int			admit = -1;
	TimestampTz now;
	TimestampTz until;
	const char *blocked = NULL;

	done.cxt = CurrentMemoryContext;
	now = bc_now();
	if (nans == 0)
	{
		bool		stale = bc_batch_stale(st->batch);
		int			logged;

		/*
		 * Calls logged ahead leave first, without a transaction, unless
		 * readers' requests may bring work of a better priority.
		 */
		blocked = bc_worker_blocked(now, &until);
		want = bc_client_free_slots();
		if (!blocked && !stale && !st->woken && !st->release && want > 0 &&
			bc_worker_breaker_closed())
		{
			nsend = bc_batch_take_logged(st->batch, send, want);
			bc_worker_send(st, send, nsend, now);
			want -= nsend;
		}
		/* the transaction tops the batch and its logged calls up ahead of need */
		logged = bc_batch_logged(st->batch);
		if (!blocked && !stale && !st->woken && !st->release &&
			!(want > 0 && (st->queue_more || st->batch->n > 0)) &&
			!(logged < (bc_max_concurrency + 1) / 2 &&
			  (st->queue_more || st->batch->n > logged)))
			return;
		nsend = 0;
	}

	bc_worker_begin(nans > 0 ? "brickcat: storing results" : "brickcat: claiming jobs");
	if (nans > 0)
	{
		bc_worker_learn(ans, nans);
		bc_worker_store_answers(st, ans, nans, &done);
	}

	/* what the answers taught (breaker, credentials, throttling) applies now */
	now = bc_now();
	blocked = bc_worker_blocked(now, &until);
	want = bc_client_free_slots();
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

	if (st->woken)
	{
		bc_worker_collect(st, now, blocked, &done);
		/* jobs queued just now are due at this transaction's start: claim them */
		now = Max(now, bc_statement_now());
		st->look_ahead = true;
	}
	st->woken = false;

	if (blocked || st->release || bc_batch_stale(st->batch))
	{
		/* the jobs claimed ahead wait in the queue, not in the worker */
		bc_batch_release(st->batch, blocked,
						 blocked ? psprintf("waiting: fetching is paused (%s)", blocked) :
						 "claimed ahead and not sent in time; queued again", &done);
		st->release = false;
	}
	if (!blocked && admit != 0)
	{
		/* no claiming ahead while the breaker probes */
		int			full = bc_batch_fill(st->batch, want, admit < 0 && bc_worker_breaker_closed(),
										 st->look_ahead, now, &st->next_due, &done);

		if (full >= 0)
			st->queue_more = (full == 1);
		st->look_ahead = false;
		/* the calls for the next free slots are logged ahead, unless probing */
		bc_batch_log(st->batch, admit > 0 ? want :
					 want + BC_WORKER_LOG_AHEAD * bc_max_concurrency, now);
		nsend = bc_batch_take_logged(st->batch, send, want);
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
	bc_worker_complete_all(&done);
	if (nans > 0)
		bc_worker_answers_done(st);

	bc_worker_send(st, send, nsend, now);
}

/* The arguments of one guarded store. */
typedef struct BcWorkerStoreArgs
{
	const BcJob *jobs[BC_WORKER_STORE_MAX];
	bc_json_object_t *datas[BC_WORKER_STORE_MAX];
	int			n;
	TimestampTz now;
	BcWriterFinish *fin;
	int		   *failed;
	char	  **err;
} BcWorkerStoreArgs;

/*
 * bc_worker_store_step stores the answers of a guarded store; see
 * bc_worker_store_guarded.
 */
static bool
bc_worker_store_step(void *arg)
{
	BcWorkerStoreArgs *a = (BcWorkerStoreArgs *) arg;

	return bc_writer_store_many(a->jobs, a->datas, a->n, a->now, a->fin, a->failed, a->err);
}

/*
 * bc_worker_store_guarded stores the answers in ans[] (all OK) in one
 * subtransaction, so that a value the catalog refuses becomes an error
 * message instead of an error; the statement storing items among them also
 * finishes the calls in fin, when given (fin->done tells whether it did).
 * When one cannot be stored nothing is stored (nor finished); *failed tells
 * which when its answer could not be mapped, *err why.
 */
static bool
bc_worker_store_guarded(BcWorkerAnswer **ans, int n, TimestampTz now, BcWriterFinish *fin,
						int *failed, char **err)
{
	BcWorkerStoreArgs a;
	ErrorData  *edata;
	bool		ok;

	for (int i = 0; i < n; i++)
	{
		a.jobs[i] = &ans[i]->res.job;
		a.datas[i] = ans[i]->env.data;
	}
	a.n = n;
	a.now = now;
	a.fin = fin;
	a.failed = failed;
	a.err = err;
	*failed = 0;
	ok = bc_subxact_run(bc_worker_store_step, &a, &edata);
	if (!ok && fin != NULL)
		fin->done = false;		/* rolled back with the rest */
	if (edata != NULL)
	{
		*err = psprintf("not stored: %s", edata->message);
		FreeErrorData(edata);
	}
	return ok;
}

/*
 * bc_worker_classify parses a finished call's answer and classifies it
 * (no database access).
 */
static void
bc_worker_classify(BcWorkerAnswer *a)
{
	BcCallResult *res = &a->res;

	memset(&a->env, 0, sizeof(a->env));
	a->err = NULL;
	a->meta_message = NULL;
	if (res->transport_error)
	{
		a->outcome = res->transport_outcome;
		a->retryable = bc_outcome_is_retryable(a->outcome);
		a->err = res->error;
	}
	else
	{
		BcEnvelope *env = &a->env;

		bc_json_parse_envelope(res->body, res->body_len, res->http_status, env);
		a->outcome = env->outcome;
		a->retryable = env->retryable || bc_outcome_is_retryable(a->outcome);
		a->meta_message = env->meta_message;
		if (a->outcome != BC_OUTCOME_OK)
			a->err = psprintf("%s%s%s", env->error ? env->error : bc_outcome_name(a->outcome),
							  (a->outcome != BC_OUTCOME_AUTH_ERROR && env->meta_description) ? ": " : "",
							  (a->outcome != BC_OUTCOME_AUTH_ERROR && env->meta_description) ?
							  env->meta_description : "");
	}
}

/*
 * bc_worker_store_ok stores the data of the OK answers among ans[]: all in
 * one subtransaction, whose item statement also finishes their calls (fin,
 * see bc_worker_finish_list; fin->done tells whether it did), or, when one
 * of them cannot be stored, each in its own, the ones refused becoming bad
 * responses.
 */
static void
bc_worker_store_ok(BcWorkerAnswer *ans, int n, TimestampTz now, BcWriterFinish *fin)
{
	BcWorkerAnswer *ok[BC_WORKER_STORE_MAX];
	int			nok = 0;
	int			failed;
	char	   *err = NULL;

	for (int i = 0; i < n; i++)
	{
		if (ans[i].outcome == BC_OUTCOME_OK)
			ok[nok++] = &ans[i];
	}
	if (nok == 0)
		return;
	if (bc_worker_store_guarded(ok, nok, now, fin, &failed, &err))
	{
		/* outside the subtransaction: a miscount is the worker's error */
		if (fin->done)
			bc_writer_finish_check(fin);
		return;
	}
	for (int i = 0; i < nok; i++)
	{
		/* one answer alone was tried just now */
		if (nok > 1 && bc_worker_store_guarded(&ok[i], 1, now, NULL, &failed, &err))
			continue;
		ok[i]->outcome = BC_OUTCOME_BAD_RESPONSE;
		ok[i]->retryable = false;
		ok[i]->err = err;
	}
}

/*
 * bc_worker_learn applies what finished calls taught before anything more
 * is sent: the circuit breaker counts them, an authentication error stops
 * fetching, and a throttled answer pauses all calls (recorded in the
 * current transaction).
 */
static void
bc_worker_learn(BcWorkerAnswer *ans, int n)
{
	TimestampTz now = bc_now();

	for (int i = 0; i < n; i++)
	{
		BcWorkerAnswer *a = &ans[i];
		BcJob	   *job = &a->res.job;

		a->pause = 0;
		if (a->outcome == BC_OUTCOME_AUTH_ERROR)
			bc_auth_failed(a->meta_message);
		else if (a->outcome == BC_OUTCOME_THROTTLED && a->retryable &&
				 job->attempt < bc_retry_max_attempts)
		{
			a->pause = a->res.retry_after_s >= 0 ?
				GetCurrentTimestamp() + (int64) a->res.retry_after_s * USECS_PER_SEC :
				GetCurrentTimestamp() + (bc_retry_backoff(job->attempt, now) - now);
			bc_quota_note_throttle(a->pause);
		}
		/* an answer that cannot be stored stays non-retryable: same count */
		bc_breaker_record(a->outcome, a->outcome != BC_OUTCOME_OK && a->retryable);
	}
}

/*
 * bc_worker_sent_at returns the started_at to record for a finished call:
 * when it was sent, or when it was logged if it left within
 * BC_WORKER_SENT_SLACK_MS of that.
 */
static TimestampTz
bc_worker_sent_at(const BcCallResult *res)
{
	TimestampTz logged = res->job.logged_at;

	if (logged != 0 && res->started_at >= logged &&
		res->started_at - logged < BC_WORKER_SENT_SLACK_MS * INT64CONST(1000))
		return logged;
	return res->started_at;
}

/*
 * bc_worker_finish_list puts the calls of the answers in ans[] that were
 * answered OK into fin, not finished yet.
 */
static void
bc_worker_finish_list(BcWorkerAnswer *ans, int n, BcWriterFinish *fin)
{
	fin->n = 0;
	fin->done = false;
	for (int i = 0; i < n; i++)
	{
		BcWorkerAnswer *a = &ans[i];
		int			k = fin->n;

		if (a->outcome != BC_OUTCOME_OK)
			continue;
		fin->call_ids[k] = a->res.job.call_id;
		fin->job_ids[k] = a->res.job.job_id;
		fin->sent_at[k] = bc_worker_sent_at(&a->res);
		fin->durations[k] = a->res.duration_us;
		fin->bytes[k] = (int64) a->res.body_len;
		fin->http_status[k] = a->res.http_status;
		fin->meta_codes[k] = a->env.meta_code;
		fin->n++;
	}
}

/*
 * bc_worker_finish_ok completes the call log rows and finishes the jobs of
 * the answers in ans[] that were stored OK, with one statement for all,
 * unless the statement storing them did (fin->done).
 */
static void
bc_worker_finish_ok(BcWorkerAnswer *ans, int n, TimestampTz now,
					BcWriterFinish *fin, BcCompletions *done)
{
	for (int i = 0; i < n; i++)
	{
		if (ans[i].outcome == BC_OUTCOME_OK)
			bc_worker_add_completion(done, ans[i].res.job.target, true, NULL, NULL);
	}
	if (fin->done)
		return;
	/* some answers may have become bad responses since fin was made */
	bc_worker_finish_list(ans, n, fin);
	if (fin->n > 0)
		bc_writer_finish_ok_many(fin, now);
}

/*
 * bc_worker_store_answers handles finished calls in the current
 * transaction: store the data or mark the failure, log each call, then
 * finish, retry or requeue each job; what to tell waiting readers after
 * the commit goes into done[].
 */
static void
bc_worker_store_answers(BcWorkerState *st, BcWorkerAnswer *ans, int n,
						BcCompletions *done)
{
	TimestampTz now = bc_now();
	BcWriterFinish fin;

	bc_worker_finish_list(ans, n, &fin);
	bc_worker_store_ok(ans, n, now, &fin);
	bc_worker_finish_ok(ans, n, now, &fin, done);
	for (int i = 0; i < n; i++)
	{
		BcWorkerAnswer *a = &ans[i];
		BcJob	   *job = &a->res.job;
		BcOutcome	outcome = a->outcome;
		const char *code = bc_worker_error_code(outcome);

		if (outcome == BC_OUTCOME_OK)
			continue;
		if (a->err)
			a->err = bc_client_redact(a->err);
		bc_writer_call_end(job->call_id, bc_worker_sent_at(&a->res), a->res.duration_us,
						   a->res.http_status, a->env.meta_code, outcome,
						   (int64) a->res.body_len, a->err);
		if (outcome == BC_OUTCOME_NOT_FOUND)
			bc_writer_store_not_found(job, now);
		else
			bc_writer_store_failure(job, psprintf("%s: %s", bc_outcome_name(outcome), a->err),
									now);

		if (outcome == BC_OUTCOME_AUTH_ERROR)
		{
			/* not the job's fault: it waits for working credentials */
			bc_queue_retry(job, now, bc_outcome_name(outcome), a->err);
		}
		else if (a->retryable && job->attempt < bc_retry_max_attempts)
		{
			TimestampTz at = bc_retry_backoff(job->attempt, now);

			if (a->pause != 0)
				at = Max(at, now + (a->pause - GetCurrentTimestamp()));
			bc_queue_retry(job, at, bc_outcome_name(outcome), a->err);
			bc_upstream_add(BC_UP_BACKOFFS, 1);
			st->next_due = Min(st->next_due, at);
		}
		else
			bc_queue_finish(job, false, bc_outcome_name(outcome), a->err, now);
		bc_worker_add_completion(done, job->target, false, code, a->err);
	}
	st->queue_more = true;
}

/*
 * bc_worker_log_slow logs a call that took at least
 * brickcat.log_min_upstream_duration, and frees the answer's JSON.
 */
static void
bc_worker_log_slow(BcWorkerAnswer *a)
{
	if (bc_log_min_upstream_duration.usec >= 0 &&
		a->res.duration_us >= bc_log_min_upstream_duration.usec)
		ereport(LOG,
				(errmsg("brickcat: BrickLink call for %s took %.3f ms (%s, HTTP %d)",
						a->res.job.target, a->res.duration_us / 1000.0,
						bc_outcome_name(a->outcome), a->res.http_status)));
	bc_json_envelope_free(&a->env);
}

/*
 * bc_worker_store_alone handles one finished call in its own transaction.
 */
static void
bc_worker_store_alone(BcWorkerState *st, BcCallResult *res)
{
	BcWorkerAnswer a;
	BcCompletions done = {0};

	done.cxt = CurrentMemoryContext;
	a.res = *res;
	bc_worker_classify(&a);
	bc_worker_begin("brickcat: storing a result");
	bc_worker_learn(&a, 1);
	bc_worker_store_answers(st, &a, 1, &done);
	bc_worker_commit();
	bc_worker_complete_all(&done);
	bc_worker_log_slow(&a);
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
	TimestampTz wake = Min(Min(st->next_due, st->next_prune),
						   bc_demand_worker_next_write());
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
	st.next_due = DT_NOEND;
	st.next_prune = DT_NOEND;
	st.batch = MemoryContextAlloc(TopMemoryContext, sizeof(BcWorkerBatch));
	bc_batch_reset(st.batch);
	st.ans = MemoryContextAllocZero(TopMemoryContext,
									sizeof(BcWorkerAnswer) * BC_WORKER_STORE_MAX);
	st.ans_cxt = AllocSetContextCreate(TopMemoryContext, "brickcat worker answers",
									   ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		MemoryContext cxt;
		TimestampTz now;
		bool		woken;

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
			st.release = st.batch->n > 0;
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
		cxt = MemoryContextSwitchTo(st.ans_cxt);
		while (st.nans < bc_worker_store_batch() &&
			   bc_client_next_result(&st.ans[st.nans].res))
		{
			BcCallResult *res = &st.ans[st.nans].res;

			if (res->body != NULL)
			{
				char	   *body = palloc(res->body_len + 1);

				memcpy(body, res->body, res->body_len);
				body[res->body_len] = '\0';
				res->body = body;
			}
			bc_worker_classify(&st.ans[st.nans]);
			bc_batch_note_call(st.batch, res->duration_us);
			if (st.nans++ == 0)
				st.ans_since = GetCurrentTimestamp();
		}
		bc_client_release();
		MemoryContextSwitchTo(cxt);

		now = bc_now();
		if (now >= st.next_prune)
			bc_worker_housekeeping(&st, now);
		/* read demand handed over by backends (demand.c), a few batches */
		for (int i = 0; i < 4 && bc_demand_worker_pending(); i++)
		{
			bc_worker_begin("brickcat: demand flush");
			(void) bc_demand_worker_flush();
			bc_worker_commit();
		}
		if (now >= st.next_due)
		{
			st.next_due = DT_NOEND;
			st.queue_more = true;
			st.look_ahead = true;
		}

		/*
		 * Good answers are stored in batches, after the calls that replace
		 * them have left; a failed one is looked at before anything more is
		 * sent.
		 */
		woken = st.woken;
		if (bc_worker_must_learn(&st))
			bc_worker_round(&st, true);
		else
		{
			if (st.woken || st.release ||
				((st.queue_more || st.batch->n > 0) && bc_client_free_slots() > 0))
				bc_worker_round(&st, false);
			if (bc_worker_store_due(&st, woken))
				bc_worker_round(&st, true);
		}
		CHECK_FOR_INTERRUPTS();

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
		else if (!st.woken && !st.release &&
				 !((st.queue_more || st.batch->n > 0) && bc_client_free_slots() > 0))
			bc_worker_sleep(&st, -1);
	}
}
