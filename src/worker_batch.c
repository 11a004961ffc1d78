/*-------------------------------------------------------------------------
 *
 * worker_batch.c
 *	  The worker's jobs claimed ahead.  A refill claims due jobs (leased, an
 *	  attempt counted) and debits the quota for all of them in the worker's
 *	  transaction; their calls are logged in brickcat.api_call a few at a
 *	  time, ahead of the free slots, in a committed transaction; the worker
 *	  then sends logged calls from memory as slots free up, without a
 *	  transaction of its own.  Claiming, debiting and logging thus cost one
 *	  statement per batch instead of per round.
 *
 * Claiming ahead of the free slots only happens without a burst limit
 * (brickcat.max_calls_per_second = 0: with one a call is debited when it
 * leaves) and while calls are quick: the batch holds what the slots send in
 * about BC_BATCH_HORIZON_MS at the average call duration, at most
 * BC_BATCH_FACTOR times brickcat.max_concurrency; a slow upstream (above
 * about 50 ms a call at 4 slots) keeps it to the free slots.  A batch that
 * still holds jobs BC_BATCH_MAX_AGE_MS after its last refill goes back to
 * the queue.  A job asked for with a better priority
 * than the batch's worst is claimed at once, in front of it; a job a reader
 * asks for again moves up within it.
 *
 * Jobs put back unsent (fetching paused, settings reloaded, batch too old)
 * get their debits back.  What a crash costs: the calls debited for jobs
 * claimed and not yet sent stay in the quota ledger (over-counting, never
 * under-counting): at most (BC_BATCH_FACTOR + 1) times
 * brickcat.max_concurrency.  Calls logged ahead
 * and not yet sent are closed as interrupted by the next worker, like the
 * calls in flight.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "common/pg_prng.h"
#include "utils/timestamp.h"

#include "quota.h"
#include "worker_batch.h"

/* The batch covers about this much sending at the average call duration. */
#define BC_BATCH_HORIZON_MS		100
/* A batch not refilled for this long goes back to the queue. */
#define BC_BATCH_MAX_AGE_MS		1000

/*
 * bc_batch_reset empties the batch (its jobs are not put back: use
 * bc_batch_release for that).
 */
void
bc_batch_reset(BcWorkerBatch *b)
{
	b->n = 0;
	b->call_us = 0;
	b->filled_at = 0;
}

/*
 * bc_batch_note_call feeds the duration of a finished call into the
 * average that sizes the batch.
 */
void
bc_batch_note_call(BcWorkerBatch *b, int64 duration_us)
{
	double		d = (double) Max(duration_us, 1);

	b->call_us = b->call_us > 0 ? 0.875 * b->call_us + 0.125 * d : d;
}

/*
 * bc_batch_stale says whether the batch still holds jobs
 * BC_BATCH_MAX_AGE_MS after its last refill.
 */
bool
bc_batch_stale(const BcWorkerBatch *b)
{
	return b->n > 0 &&
		GetCurrentTimestamp() - b->filled_at > BC_BATCH_MAX_AGE_MS * INT64CONST(1000);
}

/*
 * bc_batch_release puts every job of the batch back in the queue, due now,
 * without counting the attempt: their debits are refunded and the log rows
 * of calls logged ahead removed (none was sent); when code is set waiting
 * readers are told it.
 */
void
bc_batch_release(BcWorkerBatch *b, const char *code, const char *reason,
				 BcCompletions *done)
{
	TimestampTz now = bc_now();
	const char *targets[BC_BATCH_CAPACITY];

	for (int i = 0; i < b->n; i++)
		targets[i] = b->jobs[i].target;
	bc_quota_refund(b->n, targets, b->since);
	for (int i = 0; i < b->n; i++)
	{
		/* a call logged ahead and never sent was not made */
		if (b->jobs[i].call_id > 0)
			bc_writer_call_unsent(b->jobs[i].call_id);
		bc_queue_unclaim(&b->jobs[i], now, reason);
		if (code)
			bc_worker_add_completion(done, b->jobs[i].target, false, code,
									 "fetching is paused; the job stays queued");
	}
	b->n = 0;
}

/*
 * bc_batch_sort orders the batch by priority, keeping claim order within a
 * class (insertion sort: the batch is short and nearly sorted).
 */
static void
bc_batch_sort(BcWorkerBatch *b)
{
	for (int i = 1; i < b->n; i++)
	{
		BcJob		job = b->jobs[i];
		int			j = i;

		while (j > 0 && b->jobs[j - 1].priority > job.priority)
		{
			b->jobs[j] = b->jobs[j - 1];
			j--;
		}
		if (j != i)
			b->jobs[j] = job;
	}
}

/*
 * bc_batch_raise gives a claimed job a reader asked for again the better
 * priority it was asked with.
 */
void
bc_batch_raise(BcWorkerBatch *b, const char *target, BcPriority prio)
{
	for (int i = 0; i < b->n; i++)
	{
		if (b->jobs[i].priority > prio && strcmp(b->jobs[i].target, target) == 0)
		{
			b->jobs[i].priority = prio;
			bc_batch_sort(b);
			return;
		}
	}
}

/*
 * bc_batch_refused puts back a claimed job the limiter refused: not an
 * attempt, due again when the limiter allows it.  A burst refusal clears
 * within a second, so waiting readers keep waiting; anything else is
 * reported to them.
 */
static void
bc_batch_refused(const BcJob *job, TimestampTz retry_at, const char *reason,
				 TimestampTz now, TimestampTz *next_due, BcCompletions *done)
{
	bool		burst = reason && strcmp(reason, "BURST") == 0;
	int64		jitter = burst ? 50 * 1000 : USECS_PER_SEC;
	TimestampTz at = Max(retry_at, now) +
	(int64) (pg_prng_double(&pg_global_prng_state) * jitter);

	bc_queue_unclaim(job, at, psprintf("waiting for quota: %s", reason ? reason : "refused"));
	*next_due = Min(*next_due, at);
	if (!burst)
		bc_worker_add_completion(done, job->target, false,
								 (reason && strcmp(reason, "THROTTLED") == 0) ?
								 "THROTTLED" : "QUOTA_EXHAUSTED",
								 "the BrickLink call budget does not allow the call now");
}

/*
 * bc_batch_debit debits the quota for the claimed jobs in jobs[] (in claim
 * order); jobs the limiter refuses go back to the queue.  Consecutive jobs
 * of one class are debited together when that cannot change the limiter's
 * answer; a refused group is retried job by job, so each job gets the
 * answer it would get alone.  Returns how many jobs remain in jobs[].
 */
static int
bc_batch_debit(BcJob *jobs, int n, TimestampTz now, TimestampTz *next_due,
			   BcCompletions *done)
{
	bool		granted[BC_BATCH_CAPACITY];
	const char *targets[BC_BATCH_CAPACITY];
	int			nkept = 0;

	for (int i = 0; i < n;)
	{
		int			g = 0;
		TimestampTz retry_at = 0;
		const char *reason = NULL;

		while (i + g < n && jobs[i + g].priority == jobs[i].priority &&
			   (g < bc_quota_max_per_second || bc_quota_max_per_second <= 0))
		{
			targets[g] = jobs[i + g].target;
			g++;
		}
		if (g > 1 && bc_quota_try_acquire_many(jobs[i].priority, g, targets,
											   &retry_at, &reason))
		{
			for (int j = 0; j < g; j++)
				granted[i + j] = true;
			i += g;
			continue;
		}
		for (int j = i; j < i + g; j++)
		{
			granted[j] = bc_quota_try_acquire(jobs[j].priority, 1, jobs[j].target,
											  &retry_at, &reason);
			if (!granted[j])
				bc_batch_refused(&jobs[j], retry_at, reason, now, next_due, done);
		}
		i += g;
	}
	for (int i = 0; i < n; i++)
	{
		if (granted[i])
			jobs[nkept++] = jobs[i];
	}
	return nkept;
}

/*
 * bc_batch_claim claims up to max due jobs of priority prio or better into
 * the batch, finishing those the negative cache answers and debiting the
 * quota for the rest; returns how many rows the claim returned.
 */
static int
bc_batch_claim(BcWorkerBatch *b, int max, BcPriority prio, TimestampTz now,
			   TimestampTz *next_due, BcCompletions *done)
{
	BcJob	   *jobs = &b->jobs[b->n];
	int			nclaimed;
	int			nkept = 0;

	max = Min(max, BC_BATCH_CAPACITY - b->n);
	if (max <= 0)
		return 0;
	nclaimed = bc_queue_claim(jobs, max, prio, now);
	for (int i = 0; i < nclaimed; i++)
	{
		BcJob	   *job = &jobs[i];

		if (job->call_id < 0)
		{
			/* the negative cache answers without a call */
			job->attempt--;
			bc_queue_finish(job, false, "not_found",
							"BrickLink answered RESOURCE_NOT_FOUND recently (negative cache)",
							now);
			bc_worker_add_completion(done, job->target, false, "NOT_FOUND",
									 "BrickLink does not know this item (negative cache)");
			continue;
		}
		jobs[nkept++] = *job;
	}
	if (nkept > 0)
		nkept = bc_batch_debit(jobs, nkept, now, next_due, done);
	/* the debits are stamped at or after now: a refund looks from there */
	if (nkept > 0)
		b->since = b->n == 0 ? now : Min(b->since, now);
	b->n += nkept;
	return nclaimed;
}

/*
 * bc_batch_fill makes sure the batch holds jobs for want free slots when
 * any are due, and, when ahead allows it and calls are quick, for the next
 * round too: when it holds fewer it is refilled, up to what the slots send
 * in BC_BATCH_HORIZON_MS.  With look_ahead (new work was queued or came
 * due) jobs of a better priority than the batch's worst are claimed in
 * front of it.  Runs in the worker's
 * transaction.  Returns -1 when nothing was claimed, 0 when a claim came
 * back short (nothing more is due), 1 when it came back full.
 */
int
bc_batch_fill(BcWorkerBatch *b, int want, bool ahead, bool look_ahead, TimestampTz now,
			  TimestampTz *next_due, BcCompletions *done)
{
	int			result = -1;
	int			limit = Min(BC_BATCH_FACTOR * bc_max_concurrency,
							BC_BATCH_CAPACITY - BC_CLIENT_MAX_SLOTS);
	int			low = want;
	int			target = want;

	/*
	 * Claim ahead only without a burst limit (a call is then debited when it
	 * leaves) and when the slots send more than a round's worth in
	 * BC_BATCH_HORIZON_MS at the average call duration.
	 */
	if (ahead && bc_quota_max_per_second <= 0 && b->call_us > 0)
	{
		double		calls = bc_max_concurrency * BC_BATCH_HORIZON_MS * 1000.0 / b->call_us;

		if (calls >= want + bc_max_concurrency)
		{
			low = want + bc_max_concurrency;
			target = (int) Min(calls, (double) Max(limit, low));
		}
	}

	if (look_ahead && b->n > 0 && b->jobs[b->n - 1].priority > BC_PRIORITY_INTERACTIVE)
	{
		int			ask = Max(want, 1);
		int			got = bc_batch_claim(b, ask, b->jobs[b->n - 1].priority - 1,
										 now, next_due, done);

		bc_batch_sort(b);
		/* a short claim here says nothing about the worse classes */
		if (got == ask)
			result = 1;
	}
	if (b->n < low)
	{
		int			ask = target - b->n;
		int			got;

		got = bc_batch_claim(b, ask, BC_PRIORITY_BACKGROUND, now, next_due, done);
		bc_batch_sort(b);
		b->filled_at = GetCurrentTimestamp();
		result = got == ask ? 1 : 0;
	}
	return result;
}

/*
 * bc_batch_logged returns how many jobs at the front of the batch have
 * their calls logged already.
 */
int
bc_batch_logged(const BcWorkerBatch *b)
{
	int			n = 0;

	while (n < b->n && b->jobs[n].call_id > 0)
		n++;
	return n;
}

/*
 * bc_batch_log logs the calls of the first n jobs of the batch (those not
 * logged yet) in brickcat.api_call, with one statement.
 */
void
bc_batch_log(BcWorkerBatch *b, int n, TimestampTz now)
{
	BcJob		jobs[BC_BATCH_CAPACITY];
	int			where[BC_BATCH_CAPACITY];
	int			nlog = 0;

	n = Min(n, b->n);
	for (int i = 0; i < n; i++)
	{
		if (b->jobs[i].call_id > 0)
			continue;
		where[nlog] = i;
		jobs[nlog++] = b->jobs[i];
	}
	if (nlog == 0)
		return;
	bc_writer_call_begin_many(jobs, nlog, now);
	for (int i = 0; i < nlog; i++)
	{
		b->jobs[where[i]].call_id = jobs[i].call_id;
		b->jobs[where[i]].logged_at = jobs[i].logged_at;
	}
}

/*
 * bc_batch_take_logged moves up to want jobs whose calls are logged, best
 * priority first, from the batch into send[]; returns how many.
 */
int
bc_batch_take_logged(BcWorkerBatch *b, BcJob *send, int want)
{
	int			n = Min(want, bc_batch_logged(b));

	memcpy(send, b->jobs, sizeof(BcJob) * n);
	memmove(b->jobs, b->jobs + n, sizeof(BcJob) * (b->n - n));
	b->n -= n;
	return n;
}
