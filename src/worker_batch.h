/*-------------------------------------------------------------------------
 *
 * worker_batch.h
 *	  The worker's claimed-ahead jobs: claimed and debited together, sent
 *	  from memory as transfer slots free up.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_WORKER_BATCH_H
#define BC_WORKER_BATCH_H

#include "worker.h"
#include "bricklink_client.h"

/* At most this many times brickcat.max_concurrency jobs are claimed ahead. */
#define BC_BATCH_FACTOR		4
/* Room for claimed jobs: a full batch plus one priority claim. */
#define BC_BATCH_CAPACITY	((BC_BATCH_FACTOR + 1) * BC_CLIENT_MAX_SLOTS)

/* What to tell waiting readers once a transaction has committed. */
typedef struct BcCompletion
{
	char		target[BC_TARGET_LEN];
	bool		ok;
	const char *code;
	char		text[BC_ERROR_TEXT_LEN];
} BcCompletion;

/* Readers' notifications collected during one worker transaction. */
typedef struct BcCompletions
{
	BcCompletion *c;
	int			n;
	int			cap;
	MemoryContext cxt;			/* outlives the transaction */
} BcCompletions;

/* Jobs the worker has claimed (leased, debited) and not yet sent. */
typedef struct BcWorkerBatch
{
	BcJob		jobs[BC_BATCH_CAPACITY];	/* best priority first */
	int			n;
	double		call_us;		/* moving average of call durations */
	TimestampTz since;			/* no job in it was debited before (bc_now clock) */
	TimestampTz filled_at;		/* last refill (real clock) */
} BcWorkerBatch;

/* worker.c */
extern void bc_worker_add_completion(BcCompletions *done, const char *target, bool ok,
									 const char *code, const char *text);

/* worker_batch.c */
extern void bc_batch_reset(BcWorkerBatch *b);
extern void bc_batch_note_call(BcWorkerBatch *b, int64 duration_us);
extern bool bc_batch_stale(const BcWorkerBatch *b);
extern void bc_batch_release(BcWorkerBatch *b, const char *code, const char *reason,
							 BcCompletions *done);
extern void bc_batch_raise(BcWorkerBatch *b, const char *target, BcPriority prio);
extern int	bc_batch_fill(BcWorkerBatch *b, int want, bool ahead, bool look_ahead,
						  TimestampTz now, TimestampTz *next_due, BcCompletions *done);
extern int	bc_batch_logged(const BcWorkerBatch *b);
extern void bc_batch_log(BcWorkerBatch *b, int n, TimestampTz now);
extern int	bc_batch_take_logged(BcWorkerBatch *b, BcJob *send, int want);

#endif							/* BC_WORKER_BATCH_H */
