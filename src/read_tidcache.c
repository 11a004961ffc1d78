/*-------------------------------------------------------------------------
 *
 * read_tidcache.c
 *	  A backend-local, direct-mapped cache of where item rows live, so that a
 *	  cache-hit read can fetch the row without descending the primary key.
 *
 * Each slot holds the heap TID the primary-key index gave for an item key
 * (the root of the row's HOT chain) and a 16-bit tag of the key's hash.  The
 * cache only says where to look: the read path fetches the TID under its
 * snapshot, following the HOT chain exactly as an index scan does, and keeps
 * the row only if it is visible and carries the key that was asked for.
 * Since the primary key lets at most one version of a key be visible to a
 * snapshot, such a row is the one the index would have found; anything else
 * (the row was updated elsewhere, deleted, its line pointer reused, a tag
 * collision, a block beyond the end of the table) is a miss that falls back
 * to the index.  The cache is emptied when brickcat.item or its primary key
 * is invalidated (TRUNCATE, VACUUM FULL, DDL), and it is not used under
 * SERIALIZABLE, where the index scan's predicate locks matter.
 *
 * The cache starts small and grows (emptied) by four times whenever half as
 * many rows as it has slots were looked up through the index since it last
 * grew, up to brickcat.read_tid_cache slots (8 bytes each; 0 turns it off).
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "common/hashfn.h"
#include "port/pg_bitutils.h"
#include "storage/itemptr.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "read.h"

/* One slot: the key's tag and the TID of its row's HOT chain root. */
typedef struct BcTidSlot
{
	uint16		tag;
	ItemPointerData tid;		/* offset 0: empty */
} BcTidSlot;

#define BC_TIDCACHE_FIRST_SLOTS 4096

static int	bc_tidcache_size = 262144;
static BcTidSlot *bc_tidcache = NULL;
static uint32 bc_tidcache_mask = 0;
static uint32 bc_tidcache_puts = 0;	/* since the cache was made */
static uint64 bc_tidcache_generation = 0;

/*
 * bc_tidcache_init registers brickcat.read_tid_cache.
 */
void
bc_tidcache_init(void)
{
	DefineCustomIntVariable("brickcat.read_tid_cache",
							"Most slots in each backend's cache of where item rows live (8 bytes each; 0 turns it off).",
							"A cache-hit read fetches the row at the remembered place, checked against its key and snapshot, instead of descending the primary key.  The cache grows as rows are looked up, up to this many slots (rounded down to a power of two).",
							&bc_tidcache_size, 262144, 0, 1 << 24,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

/*
 * bc_tidcache_make allocates an empty cache of the given number of slots;
 * false when there is no memory for it (the cache is then off).
 */
static bool
bc_tidcache_make(uint32 slots)
{
	if (bc_tidcache != NULL)
		pfree(bc_tidcache);
	bc_tidcache = MemoryContextAllocExtended(TopMemoryContext,
											 sizeof(BcTidSlot) * (Size) slots,
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO |
											 MCXT_ALLOC_NO_OOM);
	bc_tidcache_mask = bc_tidcache != NULL ? slots - 1 : 0;
	bc_tidcache_puts = 0;
	bc_tidcache_generation = bc_scan_generation;
	return bc_tidcache != NULL;
}

/*
 * bc_tidcache_ready makes sure the cache fits the setting and the current
 * generation of the read path's relations; false when the cache is off.
 */
static bool
bc_tidcache_ready(void)
{
	uint32		most = bc_tidcache_size >= 2 ? pg_prevpower2_32((uint32) bc_tidcache_size) : 0;

	if (most == 0)
	{
		if (bc_tidcache != NULL)
			pfree(bc_tidcache);
		bc_tidcache = NULL;
		return false;
	}
	if (bc_tidcache == NULL || bc_tidcache_mask + 1 > most)
		return bc_tidcache_make(Min(most, BC_TIDCACHE_FIRST_SLOTS));
	if (bc_tidcache_generation != bc_scan_generation)
	{
		memset(bc_tidcache, 0, sizeof(BcTidSlot) * ((Size) bc_tidcache_mask + 1));
		bc_tidcache_puts = 0;
		bc_tidcache_generation = bc_scan_generation;
	}
	return true;
}

/*
 * bc_tidcache_hash hashes an item key.
 */
uint64
bc_tidcache_hash(const char *item_type, const char *item_no)
{
	uint64		h = hash_bytes_extended((const unsigned char *) item_no,
										strlen(item_no), 0);

	return h ^ hash_bytes_extended((const unsigned char *) item_type,
								   strlen(item_type), 1);
}

/*
 * bc_tidcache_get sets *tid to where the row of the key with hash h was
 * last found; false when the cache does not know.
 */
bool
bc_tidcache_get(uint64 h, ItemPointer tid)
{
	BcTidSlot  *s;

	if (!bc_tidcache_ready())
		return false;
	s = &bc_tidcache[h & bc_tidcache_mask];
	if (s->tag != (uint16) (h >> 48) ||
		!OffsetNumberIsValid(ItemPointerGetOffsetNumberNoCheck(&s->tid)))
		return false;
	ItemPointerCopy(&s->tid, tid);
	return true;
}

/*
 * bc_tidcache_put remembers tid as where the row of the key with hash h
 * lives.
 */
void
bc_tidcache_put(uint64 h, ItemPointer tid)
{
	BcTidSlot  *s;

	if (!bc_tidcache_ready())
		return;
	if (++bc_tidcache_puts > (bc_tidcache_mask + 1) / 2 &&
		bc_tidcache_mask + 1 < pg_prevpower2_32((uint32) bc_tidcache_size) &&
		!bc_tidcache_make(Min((bc_tidcache_mask + 1) * 4,
							  pg_prevpower2_32((uint32) bc_tidcache_size))))
		return;
	s = &bc_tidcache[h & bc_tidcache_mask];
	s->tag = (uint16) (h >> 48);
	ItemPointerCopy(tid, &s->tid);
}

/*
 * bc_tidcache_forget drops what the cache says about the key with hash h
 * (its row was not where the cache said).
 */
void
bc_tidcache_forget(uint64 h)
{
	if (bc_tidcache == NULL)
		return;
	memset(&bc_tidcache[h & bc_tidcache_mask], 0, sizeof(BcTidSlot));
}
