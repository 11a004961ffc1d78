/*-------------------------------------------------------------------------
 *
 * read_tidcache.c
 *	  A shared, lock-free table of where item rows live, so that a cache-hit
 *	  read can fetch the row without descending the primary key.
 *
 * Each slot is one 64-bit word: a 16-bit tag of the item key's hash and the
 * heap TID the primary-key index gave for the key (the root of the row's
 * HOT chain).  A key's hash picks a pair of slots (two-way set-associative).
 * Slots are read and written with single atomic 64-bit operations and no
 * lock: the table only says where to look, so a slot overwritten by another
 * backend, or left from another database or from before a TRUNCATE, costs
 * a miss and nothing else.  The read path fetches the TID under its snapshot,
 * following the HOT chain exactly as an index scan does, and keeps the row
 * only if it is visible and carries the key that was asked for.  Since the
 * primary key lets at most one version of a key be visible to an MVCC
 * snapshot, such a row is the one the index would have found; anything else
 * (the row was updated elsewhere, deleted, its line pointer reused, a tag
 * collision, a block beyond the end of the table) falls back to the index,
 * which then puts the right place in the table.  Reads under SERIALIZABLE
 * always use the index, whose predicate locks matter there.
 *
 * Being in shared memory, the table is warm for new connections too.  Its
 * size is brickcat.read_tid_cache slots (8 bytes each, set at server start;
 * 0 turns it off); without brickcat in shared_preload_libraries there is no
 * table and reads use the index.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "port/pg_bitutils.h"
#include "storage/itemptr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "read.h"

static int	bc_tidcache_size = 262144;
static pg_atomic_uint64 *bc_tidcache = NULL;
static uint64 bc_tidcache_mask = 0;
static uint32 bc_tidcache_turn = 0;

/*
 * bc_tidcache_slots is the number of slots the setting asks for: a power of
 * two, or 0.
 */
static uint32
bc_tidcache_slots(void)
{
	return bc_tidcache_size >= 2 ? pg_prevpower2_32((uint32) bc_tidcache_size) : 0;
}

/*
 * bc_tidcache_shmem_request asks for the table (from brickcat's
 * shmem_request_hook, shmem.c).
 */
void
bc_tidcache_shmem_request(void)
{
	RequestAddinShmemSpace(mul_size(bc_tidcache_slots(), sizeof(pg_atomic_uint64)));
}

/*
 * bc_tidcache_shmem_attach creates or attaches to the table (from brickcat's
 * shmem_startup_hook, shmem.c, which holds AddinShmemInitLock).
 */
void
bc_tidcache_shmem_attach(void)
{
	uint32		slots = bc_tidcache_slots();
	bool		found;

	if (slots == 0)
		return;
	bc_tidcache = ShmemInitStruct("brickcat item places",
								  mul_size(slots, sizeof(pg_atomic_uint64)), &found);
	if (!found)
	{
		for (uint32 i = 0; i < slots; i++)
			pg_atomic_init_u64(&bc_tidcache[i], 0);
	}
	bc_tidcache_mask = slots - 1;
}

/*
 * bc_tidcache_init registers brickcat.read_tid_cache (preload only: a
 * server-start setting cannot be defined later).
 */
void
bc_tidcache_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("brickcat.read_tid_cache",
							"Slots in the shared table of where item rows live (8 bytes each; 0 turns it off).",
							"A cache-hit read fetches the row at the remembered place, checked against its key and snapshot, instead of descending the primary key.  Rounded down to a power of two.",
							&bc_tidcache_size, 262144, 0, 1 << 26,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

/*
 * bc_tidcache_active says whether there is a table (brickcat preloaded and
 * brickcat.read_tid_cache not 0).
 */
bool
bc_tidcache_active(void)
{
	return bc_tidcache != NULL;
}

/*
 * bc_tidcache_hash hashes an item key (and the database, whose rows are
 * elsewhere).
 */
uint64
bc_tidcache_hash(const char *item_type, const char *item_no)
{
	uint64		h = hash_bytes_extended((const unsigned char *) item_no,
										strlen(item_no), MyDatabaseId);

	return h ^ hash_bytes_extended((const unsigned char *) item_type,
								   strlen(item_type), 1);
}

/*
 * bc_tidcache_word packs a tag and a TID into a slot's word; 0 is empty
 * (no TID has offset 0).
 */
static inline uint64
bc_tidcache_word(uint64 h, ItemPointer tid)
{
	return ((h >> 48) << 48) |
		((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

/*
 * bc_tidcache_pair returns the first of hash h's pair of slots, NULL when
 * there is no table.
 */
static inline pg_atomic_uint64 *
bc_tidcache_pair(uint64 h)
{
	if (bc_tidcache == NULL)
		return NULL;
	return &bc_tidcache[h & bc_tidcache_mask & ~(uint64) 1];
}

/*
 * bc_tidcache_get sets *tid to where the row of the key with hash h was
 * last found; false when the table does not know.
 */
bool
bc_tidcache_get(uint64 h, ItemPointer tid)
{
	pg_atomic_uint64 *pair = bc_tidcache_pair(h);

	if (pair == NULL)
		return false;
	for (int i = 0; i < 2; i++)
	{
		uint64		w = pg_atomic_read_u64(&pair[i]);

		if (w != 0 && (w >> 48) == (h >> 48))
		{
			ItemPointerSet(tid, (BlockNumber) ((w >> 16) & 0xFFFFFFFF),
						   (OffsetNumber) (w & 0xFFFF));
			return true;
		}
	}
	return false;
}

/*
 * bc_tidcache_put remembers tid as where the row of the key with hash h
 * lives: in the slot of its pair that has its tag, else an empty one, else
 * either, in turn.
 */
void
bc_tidcache_put(uint64 h, ItemPointer tid)
{
	pg_atomic_uint64 *pair = bc_tidcache_pair(h);
	uint64		w0,
				w1;
	int			i;

	if (pair == NULL)
		return;
	w0 = pg_atomic_read_u64(&pair[0]);
	w1 = pg_atomic_read_u64(&pair[1]);
	if (w0 == 0 || (w0 >> 48) == (h >> 48))
		i = 0;
	else if (w1 == 0 || (w1 >> 48) == (h >> 48))
		i = 1;
	else
		i = (int) (bc_tidcache_turn++ & 1);
	pg_atomic_write_u64(&pair[i], bc_tidcache_word(h, tid));
}

/*
 * bc_tidcache_forget drops what the table says about the key with hash h
 * when it still says tid (its row was not there).
 */
void
bc_tidcache_forget(uint64 h, ItemPointer tid)
{
	pg_atomic_uint64 *pair = bc_tidcache_pair(h);

	if (pair == NULL)
		return;
	for (int i = 0; i < 2; i++)
	{
		uint64		w = bc_tidcache_word(h, tid);

		(void) pg_atomic_compare_exchange_u64(&pair[i], &w, 0);
	}
}
