/*-------------------------------------------------------------------------
 *
 * read_memo.c
 *	  The per-transaction memo of read answers.
 *
 * Within one transaction, a repeated read of the same key gets the answer the
 * first read got, without touching the tables or the worker again.  Answers
 * that carry data (cache, stale, upstream, fallback, not_found) are reused by
 * any later read; pending and error answers only by reads that would not wait
 * longer than the read that stored them, so a longer wait still gets its
 * chance.  The memo lives in TopTransactionContext and is forgotten at the end
 * of the transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "read.h"

static HTAB *bc_memo = NULL;
static bool bc_memo_callback = false;

/*
 * bc_memo_xact_cb forgets the memo when the transaction ends (its memory
 * goes with TopTransactionContext).
 */
static void
bc_memo_xact_cb(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			bc_memo = NULL;
			break;
		default:
			break;
	}
}

/*
 * bc_memo_lookup returns the memo entry for key if a read with wait_usec may
 * reuse it, counting a memo hit; NULL otherwise.
 */
BcMemoEntry *
bc_memo_lookup(const char *key, int64 wait_usec)
{
	BcMemoEntry *e;

	if (bc_memo == NULL)
		return NULL;
	e = hash_search(bc_memo, key, HASH_FIND, NULL);
	if (e == NULL || (!e->final && wait_usec > e->wait_usec))
		return NULL;
	bc_stat_add(BC_STAT_MEMO_HITS, 1);
	return e;
}

/*
 * bc_memo_store remembers the answer tuples for key until the end of the
 * transaction, replacing an earlier entry.
 */
void
bc_memo_store(const char *key, int64 wait_usec, bool final, HeapTuple *tuples,
			  int ntuples)
{
	MemoryContext old;
	BcMemoEntry *e;
	bool		found;

	if (!IsTransactionState())
		return;
	if (!bc_memo_callback)
	{
		RegisterXactCallback(bc_memo_xact_cb, NULL);
		bc_memo_callback = true;
	}
	if (bc_memo == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = BC_TARGET_LEN;
		ctl.entrysize = sizeof(BcMemoEntry);
		ctl.hcxt = TopTransactionContext;
		bc_memo = hash_create("brickcat read memo", 64, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	e = hash_search(bc_memo, key, HASH_ENTER, &found);
	old = MemoryContextSwitchTo(TopTransactionContext);
	if (found)
	{
		for (int i = 0; i < e->ntuples; i++)
			heap_freetuple(e->tuples[i]);
		if (e->tuples)
			pfree(e->tuples);
	}
	e->wait_usec = wait_usec;
	e->final = final;
	e->ntuples = ntuples;
	e->tuples = ntuples > 0 ? palloc(sizeof(HeapTuple) * ntuples) : NULL;
	for (int i = 0; i < ntuples; i++)
		e->tuples[i] = heap_copytuple(tuples[i]);
	MemoryContextSwitchTo(old);
}
