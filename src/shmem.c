/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory and the on-demand request table.
 *
 * Readers that need data the cache does not have put the fetch target into a
 * bounded table here (one slot per target, so concurrent readers of the same
 * key share one request), set the worker's latch and sleep on a condition
 * variable.  The worker turns requests into committed queue jobs - so they
 * survive a reader's rollback - and marks the slot done when the job ends,
 * waking every reader.  A slot's generation changes when it is reused, so a
 * reader that slept through the reuse knows its request finished.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "demand.h"
#include "read.h"
#include "shmem.h"

BrickcatShared *bc_shared = NULL;
int			bc_max_requests = 1024;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static bool bc_wake_pending = false;
static bool bc_xact_callback_registered = false;

/*
 * bc_shmem_size returns the size of brickcat's shared memory segment.
 */
static Size
bc_shmem_size(void)
{
	return add_size(offsetof(BrickcatShared, slots),
					mul_size(sizeof(BcRequestSlot), bc_max_requests));
}

/*
 * bc_shmem_request_hook asks the postmaster for shared memory and locks: the
 * request table's, the demand table's and the item places table's.
 */
static void
bc_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(bc_shmem_size());
	RequestNamedLWLockTranche("brickcat", 1);
	bc_demand_shmem_request();
	bc_tidcache_shmem_request();
}

/*
 * bc_shmem_startup_hook creates or attaches to the shared state, the demand
 * table and the item places table.
 */
static void
bc_shmem_startup_hook(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	bc_shared = ShmemInitStruct("brickcat", bc_shmem_size(), &found);
	if (!found)
	{
		memset(bc_shared, 0, bc_shmem_size());
		bc_shared->lock = &(GetNamedLWLockTranche("brickcat"))->lock;
		bc_shared->nslots = bc_max_requests;
		bc_shared->breaker_state = BC_BREAKER_CLOSED;
		bc_shared->stats_reset_at = GetCurrentTimestamp();
		for (int i = 0; i < BC_STAT_COUNT; i++)
			pg_atomic_init_u64(&bc_shared->stat[i], 0);
		for (int i = 0; i < BC_UP_COUNT; i++)
			pg_atomic_init_u64(&bc_shared->upstream[i], 0);
		ConditionVariableInit(&bc_shared->done_cv);
	}
	bc_demand_shmem_attach();
	bc_tidcache_shmem_attach();
	LWLockRelease(AddinShmemInitLock);
}

/*
 * bc_shmem_init installs the shared memory hooks (preload only).
 */
void
bc_shmem_init(void)
{
	DefineCustomIntVariable("brickcat.max_pending_requests",
							"Size of the shared table of on-demand fetch requests.",
							"When it is full, readers fall back to the queue table.",
							&bc_max_requests, 1024, 16, 65536,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = bc_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = bc_shmem_startup_hook;
}

/*
 * bc_stat_add adds n to a cache counter (no-op without shared memory).
 */
void
bc_stat_add(BcStatCounter c, uint64 n)
{
	if (bc_shared)
		pg_atomic_fetch_add_u64(&bc_shared->stat[c], n);
}

/*
 * bc_upstream_add adds n to an upstream counter.
 */
void
bc_upstream_add(BcUpstreamCounter c, uint64 n)
{
	if (bc_shared)
		pg_atomic_fetch_add_u64(&bc_shared->upstream[c], n);
}

/*
 * bc_worker_running says whether a brickcat worker is attached and ready.
 */
bool
bc_worker_running(void)
{
	bool		running;

	if (bc_shared == NULL)
		return false;
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	running = bc_shared->worker_pid != 0 && bc_shared->worker_ready;
	LWLockRelease(bc_shared->lock);
	return running;
}

/*
 * bc_worker_wake sets the worker's latch so it looks for work now.
 */
void
bc_worker_wake(void)
{
	Latch	   *latch = NULL;

	if (bc_shared == NULL)
		return;
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	if (bc_shared->worker_pid != 0)
		latch = bc_shared->worker_latch;
	if (latch)
		SetLatch(latch);
	LWLockRelease(bc_shared->lock);
}

/*
 * bc_wake_xact_callback wakes the worker when a transaction that queued work
 * commits; an aborted transaction queued nothing and wakes no one.
 */
static void
bc_wake_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (bc_wake_pending)
				bc_worker_wake();
			bc_wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			bc_wake_pending = false;
			break;
		default:
			break;
	}
}

/*
 * bc_worker_wake_at_commit arranges for the worker to be woken when the
 * current transaction commits.
 */
void
bc_worker_wake_at_commit(void)
{
	if (!bc_xact_callback_registered)
	{
		RegisterXactCallback(bc_wake_xact_callback, NULL);
		bc_xact_callback_registered = true;
	}
	bc_wake_pending = true;
}

/*
 * bc_slot_find returns the slot holding an open request for target, or -1.
 * Caller holds the lock.
 */
static int
bc_slot_find(const char *target, uint32 hash, bool open_only)
{
	for (int i = 0; i < bc_shared->nslots; i++)
	{
		BcRequestSlot *s = &bc_shared->slots[i];

		if (s->state == BC_SLOT_FREE || s->hash != hash)
			continue;
		if (open_only && s->state == BC_SLOT_DONE)
			continue;
		if (strcmp(s->target, target) == 0)
			return i;
	}
	return -1;
}

/*
 * bc_request_submit asks the worker to fetch target, joining an open request
 * for the same target if there is one.  Returns slot -1 when there is no
 * shared memory or the table is full (the caller then queues the job itself).
 */
BcRequestHandle
bc_request_submit(const char *target, BcPriority priority)
{
	BcRequestHandle h = {-1, 0};
	uint32		hash;
	int			slot;

	if (bc_shared == NULL || strlen(target) >= BC_TARGET_LEN)
		return h;
	hash = hash_bytes((const unsigned char *) target, strlen(target));

	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	slot = bc_slot_find(target, hash, true);
	if (slot >= 0)
	{
		BcRequestSlot *s = &bc_shared->slots[slot];

		if (priority < s->priority)
		{
			s->priority = priority;
			/* let the worker see the upgrade */
			if (s->state == BC_SLOT_QUEUED)
				s->state = BC_SLOT_REQUESTED;
		}
		s->waiters++;
		pg_atomic_fetch_add_u64(&bc_shared->stat[BC_STAT_COALESCED], 1);
	}
	else
	{
		TimestampTz oldest = DT_NOEND;

		/* a free slot, else the longest-finished one */
		for (int i = 0; i < bc_shared->nslots; i++)
		{
			BcRequestSlot *s = &bc_shared->slots[i];

			if (s->state == BC_SLOT_FREE)
			{
				slot = i;
				break;
			}
			if (s->state == BC_SLOT_DONE && s->done_at < oldest)
			{
				oldest = s->done_at;
				slot = i;
			}
		}
		if (slot >= 0)
		{
			BcRequestSlot *s = &bc_shared->slots[slot];

			s->state = BC_SLOT_REQUESTED;
			s->priority = priority;
			s->generation++;
			s->hash = hash;
			s->requested_at = GetCurrentTimestamp();
			s->done_at = 0;
			s->waiters = 1;
			s->ok = false;
			s->error_code[0] = '\0';
			s->error_text[0] = '\0';
			strlcpy(s->target, target, BC_TARGET_LEN);
		}
	}
	if (slot >= 0)
	{
		h.slot = slot;
		h.generation = bc_shared->slots[slot].generation;
		pg_atomic_fetch_add_u64(&bc_shared->stat[BC_STAT_REQUESTS], 1);
	}
	else
		pg_atomic_fetch_add_u64(&bc_shared->stat[BC_STAT_REQUEST_OVERFLOW], 1);
	LWLockRelease(bc_shared->lock);

	if (slot >= 0)
		bc_worker_wake();
	return h;
}

/*
 * bc_request_poll says whether a submitted request has finished and, if so,
 * how.  A reused slot means it finished long ago: ok is then false with an
 * empty error code, and the caller re-reads the tables.
 */
bool
bc_request_poll(BcRequestHandle h, bool *ok, char *error_code, char *error_text)
{
	bool		done = true;
	BcRequestSlot *s;

	*ok = false;
	error_code[0] = '\0';
	error_text[0] = '\0';
	if (bc_shared == NULL || h.slot < 0)
		return true;

	s = &bc_shared->slots[h.slot];
	LWLockAcquire(bc_shared->lock, LW_SHARED);
	if (s->generation == h.generation)
	{
		if (s->state == BC_SLOT_DONE)
		{
			*ok = s->ok;
			strlcpy(error_code, s->error_code, BC_ERROR_CODE_LEN);
			strlcpy(error_text, s->error_text, BC_ERROR_TEXT_LEN);
		}
		else
			done = false;
	}
	LWLockRelease(bc_shared->lock);
	return done;
}

/*
 * bc_request_collect hands the worker up to max requests it has not queued
 * yet, marking them queued.  Returns how many.
 */
int
bc_request_collect(char (*targets)[BC_TARGET_LEN], BcPriority *priorities, int max)
{
	int			n = 0;

	if (bc_shared == NULL)
		return 0;
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < bc_shared->nslots && n < max; i++)
	{
		BcRequestSlot *s = &bc_shared->slots[i];

		if (s->state != BC_SLOT_REQUESTED)
			continue;
		strlcpy(targets[n], s->target, BC_TARGET_LEN);
		priorities[n] = s->priority;
		s->state = BC_SLOT_QUEUED;
		n++;
	}
	LWLockRelease(bc_shared->lock);
	return n;
}

/*
 * bc_request_complete marks the open request for target done and wakes all
 * readers.  Does nothing when no reader asked for target.
 */
void
bc_request_complete(const char *target, bool ok, const char *error_code,
					const char *error_text)
{
	uint32		hash;
	int			slot;

	if (bc_shared == NULL)
		return;
	hash = hash_bytes((const unsigned char *) target, strlen(target));
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	slot = bc_slot_find(target, hash, true);
	if (slot >= 0)
	{
		BcRequestSlot *s = &bc_shared->slots[slot];

		s->state = BC_SLOT_DONE;
		s->done_at = GetCurrentTimestamp();
		s->ok = ok;
		strlcpy(s->error_code, error_code ? error_code : "", BC_ERROR_CODE_LEN);
		strlcpy(s->error_text, error_text ? error_text : "", BC_ERROR_TEXT_LEN);
	}
	LWLockRelease(bc_shared->lock);
	if (slot >= 0)
		ConditionVariableBroadcast(&bc_shared->done_cv);
}

/*
 * bc_request_requeue_all hands every queued request back to the worker, for
 * a worker that starts after another one died.
 */
void
bc_request_requeue_all(void)
{
	if (bc_shared == NULL)
		return;
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < bc_shared->nslots; i++)
	{
		if (bc_shared->slots[i].state == BC_SLOT_QUEUED)
			bc_shared->slots[i].state = BC_SLOT_REQUESTED;
	}
	LWLockRelease(bc_shared->lock);
}

/*
 * bc_worker_attach records the calling process as the brickcat worker.
 */
void
bc_worker_attach(void)
{
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	bc_shared->worker_pid = MyProcPid;
	bc_shared->worker_latch = MyLatch;
	bc_shared->worker_started_at = GetCurrentTimestamp();
	bc_shared->worker_ready = false;
	LWLockRelease(bc_shared->lock);
	before_shmem_exit(bc_worker_detach, (Datum) 0);
	bc_request_requeue_all();
}

/*
 * bc_worker_detach clears the worker's registration as it exits.
 */
void
bc_worker_detach(int code, Datum arg)
{
	LWLockAcquire(bc_shared->lock, LW_EXCLUSIVE);
	if (bc_shared->worker_pid == MyProcPid)
	{
		bc_shared->worker_pid = 0;
		bc_shared->worker_latch = NULL;
		bc_shared->worker_ready = false;
	}
	LWLockRelease(bc_shared->lock);
}
