/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  brickcat's shared memory: the worker's latch, the bounded table of
 *	  on-demand fetch requests readers wait on, cache counters, the upstream
 *	  circuit breaker and throttle state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_SHMEM_H
#define BC_SHMEM_H

#include "brickcat.h"

#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* Longest fetch target key, e.g. "price:PART:973pb10c01:11:sold:N". */
#define BC_TARGET_LEN		128
#define BC_ERROR_CODE_LEN	32
#define BC_ERROR_TEXT_LEN	160

/* Priority classes; order matches the SQL enum brickcat.priority. */
typedef enum BcPriority
{
	BC_PRIORITY_INTERACTIVE = 0,
	BC_PRIORITY_ON_DEMAND,
	BC_PRIORITY_BACKGROUND
} BcPriority;

typedef enum BcSlotState
{
	BC_SLOT_FREE = 0,
	BC_SLOT_REQUESTED,			/* submitted by a reader, not yet queued */
	BC_SLOT_QUEUED,				/* the worker has a committed job for it */
	BC_SLOT_DONE				/* finished; outcome below */
} BcSlotState;

/* One on-demand request, shared by every reader of the same target. */
typedef struct BcRequestSlot
{
	BcSlotState state;
	BcPriority	priority;
	uint64		generation;		/* changes whenever the slot is reused */
	uint32		hash;			/* hash of target, to skip strcmp */
	TimestampTz requested_at;
	TimestampTz done_at;
	int			waiters;		/* readers that joined this request */
	bool		ok;				/* done: data was stored */
	char		error_code[BC_ERROR_CODE_LEN];	/* done and !ok: e.g. TIMEOUT */
	char		error_text[BC_ERROR_TEXT_LEN];
	char		target[BC_TARGET_LEN];
} BcRequestSlot;

/* A reader's handle on a submitted request. */
typedef struct BcRequestHandle
{
	int			slot;			/* -1: not submitted (table full, no worker) */
	uint64		generation;
} BcRequestHandle;

/* Cache counters shown by brickcat.stat_cache. */
typedef enum BcStatCounter
{
	BC_STAT_HITS = 0,
	BC_STAT_STALE_SERVED,
	BC_STAT_FALLBACKS,
	BC_STAT_PENDING,
	BC_STAT_NOT_FOUND,
	BC_STAT_ERRORS,
	BC_STAT_UPSTREAM_SERVED,
	BC_STAT_COALESCED,
	BC_STAT_MEMO_HITS,
	BC_STAT_WAITS,
	BC_STAT_WAIT_TIME_US,
	BC_STAT_REQUESTS,
	BC_STAT_REQUEST_OVERFLOW,
	BC_STAT_COUNT
} BcStatCounter;

/* Upstream counters shown by brickcat.stat_upstream. */
typedef enum BcUpstreamCounter
{
	BC_UP_THROTTLES = 0,
	BC_UP_BACKOFFS,
	BC_UP_RETRIES,
	BC_UP_BREAKER_OPENS,
	BC_UP_COUNT
} BcUpstreamCounter;

typedef enum BcBreakerState
{
	BC_BREAKER_CLOSED = 0,
	BC_BREAKER_OPEN,
	BC_BREAKER_HALF_OPEN
} BcBreakerState;

typedef struct BrickcatShared
{
	LWLock	   *lock;			/* protects everything not atomic below */

	/* the background worker */
	pid_t		worker_pid;		/* 0 when not running */
	Latch	   *worker_latch;
	TimestampTz worker_started_at;
	bool		worker_ready;	/* connected, extension present */

	/* upstream state, owned by the worker, read by everyone */
	BcBreakerState breaker_state;
	int			breaker_failures;	/* consecutive retryable failures */
	TimestampTz breaker_changed_at;
	bool		breaker_probe_in_flight;
	TimestampTz throttled_until;	/* whole-client pause after throttling */
	bool		auth_failed;	/* credentials rejected: fetching stopped */
	TimestampTz auth_failed_at;
	bool		quota_warned;	/* the 80 % warning was logged */

	pg_atomic_uint64 stat[BC_STAT_COUNT];
	pg_atomic_uint64 upstream[BC_UP_COUNT];
	TimestampTz stats_reset_at;

	/* readers wait here for any request to finish */
	ConditionVariable done_cv;

	int			nslots;
	BcRequestSlot slots[FLEXIBLE_ARRAY_MEMBER];
} BrickcatShared;

extern BrickcatShared *bc_shared;
extern int	bc_max_requests;

extern void bc_shmem_request(void);
extern void bc_shmem_startup(void);

extern void bc_stat_add(BcStatCounter c, uint64 n);
extern void bc_upstream_add(BcUpstreamCounter c, uint64 n);

/* reader side */
extern bool bc_worker_running(void);
extern void bc_worker_wake(void);
extern void bc_worker_wake_at_commit(void);
extern BcRequestHandle bc_request_submit(const char *target, BcPriority priority);
extern bool bc_request_poll(BcRequestHandle h, bool *ok, char *error_code,
							char *error_text);

/* worker side */
extern int	bc_request_collect(char (*targets)[BC_TARGET_LEN], BcPriority *priorities,
							   int max);
extern void bc_request_complete(const char *target, bool ok, const char *error_code,
								const char *error_text);
extern void bc_request_requeue_all(void);
extern void bc_worker_attach(void);
extern void bc_worker_detach(int code, Datum arg);

#endif							/* BC_SHMEM_H */
