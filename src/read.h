/*-------------------------------------------------------------------------
 *
 * read.h
 *	  The cache-first read path: keys, cached rows, the read engine that
 *	  classifies, requests, waits and decides what each read serves, and the
 *	  per-transaction memo.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_READ_H
#define BC_READ_H

#include "brickcat.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/snapshot.h"

#include "freshness.h"
#include "shmem.h"

/* Longest item number accepted, in characters (as the catalog's CHECK). */
#define BC_ITEM_NO_MAX		64
/* Bytes an item number may take (4 per character in UTF-8), plus NUL. */
#define BC_READ_ITEM_NO_BUF	(BC_ITEM_NO_MAX * 4 + 1)
/*
 * Room for any fetch target the read path builds.  Targets longer than the
 * shared request table's BC_TARGET_LEN go through the queue table.
 */
#define BC_READ_TARGET_LEN	(BC_READ_ITEM_NO_BUF + 64)
/* Most keys one batch call accepts. */
#define BC_BATCH_MAX		10000
/* Longest wait a read may ask for, in microseconds (one hour). */
#define BC_WAIT_MAX_USEC	(INT64CONST(3600) * USECS_PER_SEC)

/* The datasets a read can ask for, each with its own timestamp. */
typedef enum BcDataset
{
	BC_DS_ITEM = 0,
	BC_DS_COLORS,
	BC_DS_PRICE
} BcDataset;

/* What a read served; names are the SQL "source" values. */
typedef enum BcSource
{
	BC_SRC_CACHE = 0,
	BC_SRC_STALE,
	BC_SRC_UPSTREAM,
	BC_SRC_FALLBACK,
	BC_SRC_PENDING,
	BC_SRC_NOT_FOUND,
	BC_SRC_ERROR
} BcSource;

/* One cache key: a dataset of one item (and, for prices, one guide). */
typedef struct BcKey
{
	BcDataset	ds;
	const char *item_type;		/* normalised, points into a static list */
	char		item_no[BC_READ_ITEM_NO_BUF];
	int32		color_id;		/* prices only */
	const char *guide_type;		/* prices only: "sold" or "stock" */
	char		condition;		/* prices only: 'N' or 'U' */
	bool		with_quantity;	/* colors only: read quantities too */
	char		target[BC_READ_TARGET_LEN];	/* fetch target, e.g. item:PART:3001 */
} BcKey;

/* One known color of an item. */
typedef struct BcColorEntry
{
	int32		color_id;
	int32		quantity;
	bool		quantity_isnull;
} BcColorEntry;

/* What the cache holds for a key. */
typedef struct BcCached
{
	bool		found;			/* a row exists (maybe never fetched) */
	bool		fetched_isnull;
	TimestampTz fetched_at;
	HeapTuple	tuple;			/* item or price row copy; NULL for colors */
	struct TupleTableSlot *slot;	/* the item row in the scan's slot: valid
									 * only until the next lookup */
	int			ncolors;		/* colors only */
	BcColorEntry *colors;
} BcCached;

/* One read in flight: its key, what the cache had and what is served. */
typedef struct BcRead
{
	BcKey		key;
	struct BcRead *leader;		/* waits only when this read waits; follows
								 * it directly in the array */
	bool		counted;		/* counts in brickcat.stat_cache */
	int			tag;			/* for the caller */
	bool		emitted;		/* answered by the emit callback */

	BcCached	data;
	BcFreshness freshness;
	BcSource	source;
	const char *error_code;		/* static text or NULL */
	char	   *error_message;	/* palloc'd or NULL */

	/* request state */
	bool		needs_fetch;	/* expired or missing: asks on demand */
	bool		requested;		/* submitted to the worker (slot or queue) */
	bool		waiting;		/* the caller waits for it */
	const char *blocked;		/* why no wait/fetch is possible, or NULL */
	BcRequestHandle handle;
	bool		done;
	bool		done_ok;
	char		done_code[BC_ERROR_CODE_LEN];
	char		done_text[BC_ERROR_TEXT_LEN];
	const char *queued;			/* priority name queued, or NULL */
	TimestampTz retry_at;		/* not found: when BrickLink is asked again, or 0 */
} BcRead;

/* settings */
extern BcIntervalGuc bc_read_wait;
extern BcIntervalGuc bc_log_min_wait;

/* read_core.c: arguments, the engine and result annotations */
extern void bc_read_init(void);
extern const char *bc_read_item_type_arg(text *t);
extern void bc_read_item_no_arg(text *t, char *dst);
extern const char *bc_read_guide_type_arg(text *t);
extern char bc_read_condition_arg(text *t);
extern int32 bc_read_color_arg(int32 color_id);
extern int64 bc_read_wait_arg(FunctionCallInfo fcinfo, int argno);
extern void bc_read_key_init(BcKey *key, BcDataset ds, const char *item_type,
							 const char *item_no, int32 color_id,
							 const char *guide_type, char condition);
typedef void (*BcReadEmit) (void *arg, BcRead *leader);
extern void bc_read_run(BcRead *reads, int nreads, int64 wait_usec,
						BcReadEmit emit, void *arg);
extern const char *bc_read_source_name(BcSource s);
extern TimestampTz bc_read_next_refresh_at(const BcRead *r);

/* read_scan.c: direct index lookups of the cache tables */
typedef struct BcScanner BcScanner;
extern uint64 bc_scan_generation;
extern BcScanner *bc_scan_begin(void);
extern void bc_scan_end(BcScanner *sc);
extern void bc_scan_lookup(BcScanner *sc, const BcKey *key, Snapshot snap,
						   BcCached *out);
extern void bc_scan_materialize(BcCached *c);
extern bool bc_scan_colors_copy(struct TupleTableSlot *slot, BcCached *out);
extern bool bc_scan_not_found(BcScanner *sc, const char *target,
							  TimestampTz since, Snapshot snap,
							  TimestampTz *checked_at);
extern bool bc_scan_color_info(BcScanner *sc, int32 color_id, Snapshot snap,
							   Datum *name, Datum *rgb, bool *rgb_isnull);
extern void bc_scan_price_guides(BcScanner *sc, const char *item_type,
								 const char *item_no, Snapshot snap,
								 void (*cb) (void *arg, HeapTuple tup, TupleDesc desc),
								 void *arg);
extern TupleDesc bc_scan_item_desc(void);
extern TupleDesc bc_scan_price_desc(void);

/* read_tidcache.c: where item rows live, shared by every backend */
extern void bc_tidcache_init(void);
extern void bc_tidcache_shmem_request(void);
extern void bc_tidcache_shmem_attach(void);
extern bool bc_tidcache_active(void);
extern uint64 bc_tidcache_hash(const char *item_type, const char *item_no);
extern bool bc_tidcache_get(uint64 h, ItemPointer tid);
extern void bc_tidcache_put(uint64 h, ItemPointer tid);
extern void bc_tidcache_forget(uint64 h, ItemPointer tid);

/* read_request.c: on-demand requests and bounded waits */
extern const char *bc_request_blocked(bool *can_request);
extern void bc_read_submit(BcRead *r, BcPriority priority);
extern int64 bc_read_wait_all(BcRead *reads, int nreads, int64 wait_usec);
extern const char *bc_priority_name(BcPriority p);

/* read_memo.c: the per-transaction memo */
typedef struct BcMemoEntry
{
	char		key[BC_READ_TARGET_LEN];
	int64		wait_usec;		/* wait of the read that stored it */
	bool		final;			/* data-bearing answer, good for any wait */
	int			ntuples;
	HeapTuple  *tuples;
} BcMemoEntry;

extern BcMemoEntry *bc_memo_lookup(const char *key, int64 wait_usec);
extern void bc_memo_store(const char *key, int64 wait_usec, BcSource source,
						  HeapTuple *tuples, int ntuples);

/* read_result.c: building result rows */
extern HeapTuple bc_result_item(TupleDesc rdesc, BcRead *item, BcRead *colors,
								TupleDesc idesc);
extern HeapTuple bc_result_price(TupleDesc rdesc, BcRead *price, TupleDesc pdesc);
extern HeapTuple bc_result_color(TupleDesc rdesc, BcRead *colors, int idx,
								 Datum name, bool name_isnull, Datum rgb,
								 bool rgb_isnull);

#endif							/* BC_READ_H */
