/*-------------------------------------------------------------------------
 *
 * breaker.c
 *	  Resilience of the upstream client: exponential backoff with full
 *	  jitter for retryable failures, one circuit breaker in shared memory
 *	  (closed -> open after N consecutive retryable failures -> half-open
 *	  probe -> closed or open again), and the stop after BrickLink rejects
 *	  the credentials.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "common/pg_prng.h"
#include "utils/timestamp.h"

#include "worker.h"

BcIntervalGuc bc_retry_base = {"brickcat.retry_base", NULL, 0,
	1000, INT64CONST(3600) * USECS_PER_SEC, NULL};
BcIntervalGuc bc_retry_max_delay = {"brickcat.retry_max_delay", NULL, 0,
	1000, INT64CONST(7) * USECS_PER_DAY, NULL};
BcIntervalGuc bc_breaker_open_duration = {"brickcat.breaker_open_duration", NULL, 0,
	1000, INT64CONST(1) * USECS_PER_DAY, NULL};
int			bc_retry_max_attempts = 5;
int			bc_breaker_failure_threshold = 5;

BC_INTERVAL_GUC_HOOKS(bc_retry_base)
BC_INTERVAL_GUC_HOOKS(bc_retry_max_delay)
BC_INTERVAL_GUC_HOOKS(bc_breaker_open_duration)

static const char *const bc_breaker_names[] = {"closed", "open", "half_open"};

/*
 * bc_breaker_init registers the retry and circuit breaker settings.
 */
void
bc_breaker_init(void)
{
	bc_define_interval_guc(&bc_retry_base,
						   "First retry delay; each further retry may wait up to twice as long.",
						   "The delay before retry n is random in [0, min(retry_max_delay, retry_base * 2^n)].",
						   "1s", PGC_SIGHUP, 0, bc_retry_base_check, bc_retry_base_assign);
	bc_define_interval_guc(&bc_retry_max_delay,
						   "Longest delay before a retry.", NULL,
						   "10min", PGC_SIGHUP, 0,
						   bc_retry_max_delay_check, bc_retry_max_delay_assign);
	DefineCustomIntVariable("brickcat.retry_max_attempts",
							"Attempts per job before it fails (retryable outcomes only).",
							NULL, &bc_retry_max_attempts, 5, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("brickcat.breaker_failure_threshold",
							"Consecutive retryable failures that open the circuit breaker.",
							NULL, &bc_breaker_failure_threshold, 5, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	bc_define_interval_guc(&bc_breaker_open_duration,
						   "How long an open circuit breaker sends nothing before one probe.",
						   NULL, "60s", PGC_SIGHUP, 0,
						   bc_breaker_open_duration_check, bc_breaker_open_duration_assign);
}

/*
 * bc_retry_backoff returns when attempt number `attempt` (1-based, the one
 * that just failed) may be retried: now plus a random delay in
 * [0, min(retry_max_delay, retry_base * 2^attempt)] (full jitter).
 */
TimestampTz
bc_retry_backoff(int attempt, TimestampTz now)
{
	int64		cap = bc_retry_base.usec;

	for (int i = 0; i < attempt && cap < bc_retry_max_delay.usec; i++)
		cap *= 2;
	cap = Min(cap, bc_retry_max_delay.usec);
	return now + (int64) (pg_prng_double(&pg_global_prng_state) * (double) cap);
}

/*
 * bc_breaker_set changes the breaker's state (lock held), logging and
 * counting the transition.
 */
static void
bc_breaker_set(BcBreakerState to, TimestampTz now)
{
	BcBreakerState from = bc_shared->breaker_state;

	if (from == to)
		return;
	bc_shared->breaker_state = to;
	bc_shared->breaker_changed_at = now;
	if (to == BC_BREAKER_OPEN)
		pg_atomic_fetch_add_u64(&bc_shared->upstream[BC_UP_BREAKER_OPENS], 1);
	ereport(LOG,
			(errmsg("brickcat: circuit breaker %s -> %s after %d consecutive failure%s",
					bc_breaker_names[from], bc_breaker_names[to],
					bc_shared->breaker_failures,
					bc_shared->breaker_failures == 1 ? "" : "s"),
			 to == BC_BREAKER_OPEN ?
			 errdetail("Nothing is sent to BrickLink for %s; then one probe call decides.",
					   bc_format_usec(bc_breaker_open_duration.usec)) : 0));
}

/*
 * bc_breaker_admit returns how many calls may start now: unlimited (-1)
 * when the breaker is closed, 1 for the probe when it turns half-open, 0
 * while it is open (setting *wait_until to when it turns half-open).
 */
int
bc_breaker_admit(TimestampTz now, TimestampTz *wait_until)
{
	int			admit = -1;

	*wait_until = DT_NOEND;
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	if (bc_shared->breaker_state == BC_BREAKER_OPEN)
	{
		TimestampTz reopen = bc_shared->breaker_changed_at + bc_breaker_open_duration.usec;

		if (now >= reopen)
			bc_breaker_set(BC_BREAKER_HALF_OPEN, now);
		else
		{
			*wait_until = reopen;
			admit = 0;
		}
	}
	if (bc_shared->breaker_state == BC_BREAKER_HALF_OPEN)
	{
		admit = bc_shared->breaker_probe_in_flight ? 0 : 1;
		bc_shared->breaker_probe_in_flight = true;
	}
	LWLockRelease(bc_shared->lock);
	return admit;
}

/*
 * bc_breaker_release_probe gives the half-open probe back unused (the
 * limiter refused it or no job was due).
 */
void
bc_breaker_release_probe(void)
{
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	bc_shared->breaker_probe_in_flight = false;
	LWLockRelease(bc_shared->lock);
}

/*
 * bc_breaker_record feeds one call's outcome to the breaker: a retryable
 * failure counts towards opening it (and re-opens a half-open one); any
 * answer from BrickLink itself closes it.  Credential errors leave it.
 */
void
bc_breaker_record(BcOutcome outcome, bool retryable)
{
	TimestampTz now = GetCurrentTimestamp();

	if (outcome == BC_OUTCOME_AUTH_ERROR)
		return;
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	if (retryable)
	{
		bc_shared->breaker_failures++;
		if (bc_shared->breaker_state == BC_BREAKER_HALF_OPEN ||
			(bc_shared->breaker_state == BC_BREAKER_CLOSED &&
			 bc_shared->breaker_failures >= bc_breaker_failure_threshold))
			bc_breaker_set(BC_BREAKER_OPEN, now);
	}
	else
	{
		bc_shared->breaker_failures = 0;
		if (bc_shared->breaker_state == BC_BREAKER_HALF_OPEN)
			bc_breaker_set(BC_BREAKER_CLOSED, now);
	}
	if (bc_shared->breaker_state != BC_BREAKER_HALF_OPEN)
		bc_shared->breaker_probe_in_flight = false;
	LWLockRelease(bc_shared->lock);
}

/*
 * bc_auth_failed stops fetching after BrickLink rejected the credentials,
 * and says so loudly (without the credentials) once.
 */
void
bc_auth_failed(const char *meta_message)
{
	bool		first;

	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	first = !bc_shared->auth_failed;
	bc_shared->auth_failed = true;
	bc_shared->auth_failed_at = GetCurrentTimestamp();
	LWLockRelease(bc_shared->lock);
	if (first)
		ereport(WARNING,
				(errmsg("brickcat: BrickLink rejected the OAuth credentials (%s); fetching is stopped",
						meta_message ? meta_message : "authentication error"),
				 errdetail("No further calls are sent, so the daily quota is not burnt on failures."),
				 errhint("Check brickcat.consumer_key, consumer_secret, token_value, token_secret "
						 "and the IP address the token is bound to, then reload the configuration "
						 "(SELECT pg_reload_conf()).")));
}

/*
 * bc_auth_is_failed says whether fetching is stopped for bad credentials.
 */
bool
bc_auth_is_failed(void)
{
	bool		failed;

	LWLockAcquire(bc_shared->lock, LW_SHARED);
	failed = bc_shared->auth_failed;
	LWLockRelease(bc_shared->lock);
	return failed;
}

/*
 * bc_auth_reset resumes fetching after the configuration was reloaded.
 */
void
bc_auth_reset(void)
{
	bool		was;

	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	was = bc_shared->auth_failed;
	bc_shared->auth_failed = false;
	LWLockRelease(bc_shared->lock);
	if (was)
		ereport(LOG, (errmsg("brickcat: configuration reloaded; fetching resumes with the new credentials")));
}
