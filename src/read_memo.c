/*-------------------------------------------------------------------------
 *
 * read_memo.c
 *	  The per-transaction memo of read answers.
 *
 * Within one transaction, a repeated read of a key whose answer involved the
 * upstream machinery (stale, upstream, fallback, pending, not_found, error)
 * gets the answer the first read got, without requesting, waiting or touching
 * the tables again.  Answers that carry data are reused by any later read;
 * pending and error answers only by reads that would not wait longer than the
 * read that stored them, so a longer wait still gets its chance.  Fresh cache
 * hits are not remembered: reading the row again costs no more than a memo
 * entry would, and sees the transaction's own changes.  The memo lives in
 * TopTransactionContext and is forgotten at the end of the transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "utils/memutils.h"

#include "read.h"

/* Most answers one transaction remembers; later reads just read again. */
#define BC_MEMO_MAX_ENTRIES 100000

/*
 * The memo is a small open-addressing hash table allocated in
 * TopTransactionContext on first use: cheaper to set up than a dynahash for
 * the common transaction that reads one key.
 */
typedef struct BcMemo
{
	int			size;			/* power of two */
	int			used;
	uint32	   *hashes;
	BcMemoEntry **entries;
} BcMemo;

static BcMemo *bc_memo = NULL;
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
 * bc_memo_find returns the slot of key in the memo: where it is, or the
 * empty slot where it would go.
 */
static int
bc_memo_find(const char *key, uint32 hash)
{
	int			mask = bc_memo->size - 1;
	int			i = hash & mask;

	while (bc_memo->entries[i] != NULL)
	{
		if (bc_memo->hashes[i] == hash && strcmp(bc_memo->entries[i]->key, key) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

/*
 * bc_memo_grow creates the memo, or doubles it when it is half full.
 */
static void
bc_memo_grow(void)
{
	BcMemo	   *old = bc_memo;
	int			size = old ? old->size * 2 : 64;

	bc_memo = MemoryContextAllocZero(TopTransactionContext, sizeof(BcMemo));
	bc_memo->size = size;
	bc_memo->hashes = MemoryContextAllocZero(TopTransactionContext, sizeof(uint32) * size);
	bc_memo->entries = MemoryContextAllocZero(TopTransactionContext,
											  sizeof(BcMemoEntry *) * size);
	if (old == NULL)
		return;
	for (int i = 0; i < old->size; i++)
	{
		if (old->entries[i])
		{
			int			j = bc_memo_find(old->entries[i]->key, old->hashes[i]);

			bc_memo->hashes[j] = old->hashes[i];
			bc_memo->entries[j] = old->entries[i];
		}
	}
	bc_memo->used = old->used;
	pfree(old->hashes);
	pfree(old->entries);
	pfree(old);
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
	e = bc_memo->entries[bc_memo_find(key, hash_bytes((const unsigned char *) key,
													   strlen(key)))];
	if (e == NULL || (!e->final && wait_usec > e->wait_usec))
		return NULL;
	bc_stat_add(BC_STAT_MEMO_HITS, 1);
	return e;
}

/*
 * bc_memo_store remembers the answer tuples for key until the end of the
 * transaction, replacing an earlier entry; fresh cache hits are not kept.
 */
void
bc_memo_store(const char *key, int64 wait_usec, BcSource source,
			  HeapTuple *tuples, int ntuples)
{
	MemoryContext old;
	BcMemoEntry *e;
	uint32		hash = hash_bytes((const unsigned char *) key, strlen(key));
	int			slot;

	if (source == BC_SRC_CACHE || !IsTransactionState())
		return;
	if (!bc_memo_callback)
	{
		RegisterXactCallback(bc_memo_xact_cb, NULL);
		bc_memo_callback = true;
	}
	if (bc_memo == NULL || bc_memo->used * 2 >= bc_memo->size)
	{
		if (bc_memo && bc_memo->used >= BC_MEMO_MAX_ENTRIES)
			return;
		bc_memo_grow();
	}
	slot = bc_memo_find(key, hash);
	old = MemoryContextSwitchTo(TopTransactionContext);
	e = bc_memo->entries[slot];
	if (e == NULL)
	{
		e = palloc(sizeof(BcMemoEntry));
		strlcpy(e->key, key, sizeof(e->key));
		bc_memo->entries[slot] = e;
		bc_memo->hashes[slot] = hash;
		bc_memo->used++;
	}
	else
	{
		for (int i = 0; i < e->ntuples; i++)
			heap_freetuple(e->tuples[i]);
		if (e->tuples)
			pfree(e->tuples);
	}
	e->wait_usec = wait_usec;
	e->final = source != BC_SRC_PENDING && source != BC_SRC_ERROR;
	e->ntuples = ntuples;
	e->tuples = ntuples > 0 ? palloc(sizeof(HeapTuple) * ntuples) : NULL;
	for (int i = 0; i < ntuples; i++)
		e->tuples[i] = heap_copytuple(tuples[i]);
	MemoryContextSwitchTo(old);
}
