/*-------------------------------------------------------------------------
 *
 * demand.c
 *	  Read demand: counted in a backend-local hash on every read, flushed
 *	  every few seconds into brickcat.item_demand with exponential decay.
 *
 * See demand.h for the contract the read path relies on.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "demand.h"
#include "ratelimit.h"
#include "shmem.h"

#define BC_DEMAND_TYPE_LEN		16	/* longest type is UNSORTED_LOT */
#define BC_DEMAND_NO_LEN		65	/* item numbers are at most 64 bytes */
#define BC_DEMAND_MAX_ENTRIES	16384	/* distinct items pending per backend */
#define BC_DEMAND_WORKER_MAX_ENTRIES 131072	/* distinct items the worker merges */
#define BC_DEMAND_LOCK_TIMEOUT_MS 50

typedef struct BcDemandKey
{
	char		item_type[BC_DEMAND_TYPE_LEN];
	char		item_no[BC_DEMAND_NO_LEN];
} BcDemandKey;

typedef struct BcDemandEntry
{
	BcDemandKey key;			/* hash key: must be first */
	double		count;
} BcDemandEntry;

BcIntervalGuc bc_demand_half_life = {"brickcat.demand_half_life", NULL,
	INT64CONST(7) * USECS_PER_DAY, USECS_PER_MINUTE, INT64CONST(3650) * USECS_PER_DAY, NULL};
static BcIntervalGuc bc_demand_flush_interval = {"brickcat.demand_flush_interval", NULL,
	INT64CONST(5) * USECS_PER_SEC, 0, USECS_PER_HOUR, NULL};
double		bc_demand_threshold = 0.5;
static bool bc_demand_track = true;
static BcIntervalGuc bc_demand_write_interval = {"brickcat.demand_write_interval", NULL,
	INT64CONST(30) * USECS_PER_SEC, 0, USECS_PER_HOUR, NULL};

BC_INTERVAL_GUC_HOOKS(bc_demand_half_life)
BC_INTERVAL_GUC_HOOKS(bc_demand_flush_interval)
BC_INTERVAL_GUC_HOOKS(bc_demand_write_interval)

static HTAB *bc_demand_hash = NULL;
static int	bc_demand_max_entries = BC_DEMAND_MAX_ENTRIES;

/*
 * The last flush or hand-over attempt, as the start time of the statement
 * that made it (so a long statement, such as a loop calling get_item, makes
 * at most one attempt on the interval), and whether it left counts behind
 * (then the next attempt waits for the interval even when the table is full).
 */
static TimestampTz bc_demand_last_flush = 0;
static bool bc_demand_stuck = false;
static int64 bc_demand_dropped_local = 0;	/* without the shared table */

/* When the worker's oldest unwritten counts reached it (brickcat's clock). */
static TimestampTz bc_demand_worker_since = 0;
static SPIPlanPtr bc_demand_plan = NULL;

/*
 * With brickcat preloaded, backends of the worker's database hand their
 * counts to a shared table instead of writing them, and the worker writes
 * them: a read never waits for the upsert, counts from every backend are
 * merged before they are written, and reads in read-only transactions count
 * too.  When the shared table is full, a backend writes its counts itself.
 */
#define BC_DEMAND_SHARED_MAX	32768	/* distinct items pending for the worker */

typedef struct BcDemandShared
{
	LWLock	   *lock;
	int			nentries;		/* entries in the shared table */
	pg_atomic_uint64 dropped;	/* reads not counted: every table was full */
} BcDemandShared;

static BcDemandShared *bc_demand_shared = NULL;
static HTAB *bc_demand_shared_hash = NULL;
static int	bc_demand_in_worker_db = -1;	/* -1: not checked yet */

static const char *const bc_demand_item_types[] = {
	"PART", "SET", "MINIFIG", "BOOK", "GEAR", "CATALOG", "INSTRUCTION",
	"UNSORTED_LOT", "ORIGINAL_BOX"
};

/* New decayed score of an upserted row: d is the stored row, u the counts. */
#define BC_DEMAND_NEW_SCORE \
	"(d.score * power(2::float8, -greatest(extract(epoch FROM $4 - d.updated_at)::float8, 0) / $5) " \
	"+ excluded.score)"

/*
 * The flush: one multi-row upsert, rows in key order.  demanded_until is the
 * instant the decayed score falls below the threshold:
 * updated_at + half_life * log2(score / threshold).
 */
#define BC_DEMAND_UPSERT \
	"INSERT INTO brickcat.item_demand AS d (item_type, item_no, score, updated_at, demanded_until) " \
	"SELECT u.t, u.n, u.c, $4, $4 + make_interval(secs => $5 * ln(u.c / $6) / ln(2::float8)) " \
	"FROM unnest($1::text[], $2::text[], $3::float8[]) AS u(t, n, c) " \
	"ON CONFLICT (item_type, item_no) DO UPDATE SET " \
	"score = " BC_DEMAND_NEW_SCORE ", updated_at = $4, " \
	"demanded_until = $4 + make_interval(secs => $5 * ln(" BC_DEMAND_NEW_SCORE " / $6) / ln(2::float8))"

/*
 * bc_demand_key_cmp orders pending entries by key, so that concurrent
 * flushes lock rows in the same order and cannot deadlock.
 */
static int
bc_demand_key_cmp(const void *a, const void *b)
{
	const BcDemandEntry *ea = *(BcDemandEntry *const *) a;
	const BcDemandEntry *eb = *(BcDemandEntry *const *) b;
	int			c = strcmp(ea->key.item_type, eb->key.item_type);

	return c != 0 ? c : strcmp(ea->key.item_no, eb->key.item_no);
}

static void bc_demand_at_exit(int code, Datum arg);

/*
 * bc_demand_key_hash hashes the strings of a key (not the padding after
 * them, which is not cleared).
 */
static uint32
bc_demand_key_hash(const void *key, Size keysize)
{
	const BcDemandKey *k = (const BcDemandKey *) key;

	return hash_combine(hash_bytes((const unsigned char *) k->item_no, strlen(k->item_no)),
						(uint32) (unsigned char) k->item_type[0]);
}

/*
 * bc_demand_key_match compares the strings of two keys; 0 when equal.
 */
static int
bc_demand_key_match(const void *a, const void *b, Size keysize)
{
	const BcDemandKey *ka = (const BcDemandKey *) a;
	const BcDemandKey *kb = (const BcDemandKey *) b;

	return strcmp(ka->item_no, kb->item_no) != 0 ||
		strcmp(ka->item_type, kb->item_type) != 0;
}

/*
 * bc_demand_hash_create creates the backend-local table of pending counts.
 */
static void
bc_demand_hash_create(void)
{
	static bool exit_hooked = false;
	HASHCTL		ctl;

	if (!exit_hooked && bc_demand_shared != NULL && !IsBackgroundWorker)
	{
		before_shmem_exit(bc_demand_at_exit, (Datum) 0);
		exit_hooked = true;
	}

	ctl.keysize = sizeof(BcDemandKey);
	ctl.entrysize = sizeof(BcDemandEntry);
	ctl.hash = bc_demand_key_hash;
	ctl.match = bc_demand_key_match;
	bc_demand_hash = hash_create("brickcat demand", 256, &ctl,
								 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE);
}

/*
 * bc_demand_add adds n reads of an item to the pending counts; false when the
 * key is not a valid item key or the table is full.
 */
static bool
bc_demand_add(const char *item_type, const char *item_no, double n)
{
	BcDemandKey key;
	BcDemandEntry *e;
	bool		found;
	size_t		tlen = strlen(item_type);
	size_t		nlen = strlen(item_no);

	if (tlen == 0 || tlen >= BC_DEMAND_TYPE_LEN || nlen == 0 || nlen >= BC_DEMAND_NO_LEN)
		return false;
	if (bc_demand_hash == NULL)
		bc_demand_hash_create();
	memcpy(key.item_type, item_type, tlen + 1);
	memcpy(key.item_no, item_no, nlen + 1);
	e = hash_search(bc_demand_hash, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		if (hash_get_num_entries(bc_demand_hash) >= bc_demand_max_entries)
			return false;
		e = hash_search(bc_demand_hash, &key, HASH_ENTER, &found);
		e->count = 0;
	}
	e->count += n;
	return true;
}

/*
 * bc_demand_can_write says whether a flush may write here and now, and finds
 * the owner of brickcat.item_demand to write as.
 */
static bool
bc_demand_can_write(Oid *owner)
{
	Oid			nsp;
	Oid			relid;
	HeapTuple	tup;

	if (!IsTransactionState() || RecoveryInProgress() || XactReadOnly ||
		IsInParallelMode())
		return false;
	nsp = get_namespace_oid("brickcat", true);
	if (!OidIsValid(nsp))
		return false;
	relid = get_relname_relid("item_demand", nsp);
	if (!OidIsValid(relid))
		return false;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	*owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return true;
}

/*
 * bc_demand_write runs the upsert for the pending entries, in the caller's
 * (sub)transaction, as the current user.
 */
static void
bc_demand_write(BcDemandEntry **entries, int n)
{
	Datum	   *types = palloc(sizeof(Datum) * n);
	Datum	   *nos = palloc(sizeof(Datum) * n);
	Datum	   *counts = palloc(sizeof(Datum) * n);
	Oid			argtypes[6] = {TEXTARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID,
	TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID};
	Datum		values[6];
	int			rc;

	for (int i = 0; i < n; i++)
	{
		types[i] = CStringGetTextDatum(entries[i]->key.item_type);
		nos[i] = CStringGetTextDatum(entries[i]->key.item_no);
		counts[i] = Float8GetDatum(entries[i]->count);
	}
	values[0] = PointerGetDatum(construct_array(types, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(nos, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(counts, n, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = TimestampTzGetDatum(bc_now());
	values[4] = Float8GetDatum((double) bc_demand_half_life.usec / USECS_PER_SEC);
	values[5] = Float8GetDatum(bc_demand_threshold);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	rc = SPI_execute_plan(bc_spi_plan(&bc_demand_plan, BC_DEMAND_UPSERT, 6, argtypes),
						  values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "brickcat: demand flush failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/* The arguments of one guarded demand write. */
typedef struct BcDemandWriteArgs
{
	BcDemandEntry **entries;
	int			n;
	Oid			owner;
} BcDemandWriteArgs;

/*
 * bc_demand_write_step writes the pending counts as the owner of
 * brickcat.item_demand with a short lock timeout; an error rolls back its
 * subtransaction, which also restores the user id and the setting.
 */
static bool
bc_demand_write_step(void *arg)
{
	BcDemandWriteArgs *a = (BcDemandWriteArgs *) arg;
	int			nest = NewGUCNestLevel();
	Oid			save_uid;
	int			save_sec;

	GetUserIdAndSecContext(&save_uid, &save_sec);
	SetUserIdAndSecContext(a->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (LockTimeout == 0 || LockTimeout > BC_DEMAND_LOCK_TIMEOUT_MS)
		(void) set_config_option("lock_timeout", CppAsString2(BC_DEMAND_LOCK_TIMEOUT_MS),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	bc_demand_write(a->entries, a->n);
	AtEOXact_GUC(true, nest);
	SetUserIdAndSecContext(save_uid, save_sec);
	return true;
}

/*
 * bc_demand_flush writes the pending counts in a subtransaction, as the
 * owner of brickcat.item_demand, swallowing any error but a cancel; see
 * demand.h.
 */
int
bc_demand_flush(void)
{
	HASH_SEQ_STATUS seq;
	BcDemandWriteArgs a;
	BcDemandEntry *e;
	ErrorData  *edata;
	bool		ok;

	bc_demand_last_flush = GetCurrentStatementStartTimestamp();
	if (bc_demand_hash == NULL || hash_get_num_entries(bc_demand_hash) == 0)
		return 0;
	if (!bc_demand_can_write(&a.owner))
		return 0;

	a.entries = palloc(sizeof(BcDemandEntry *) * hash_get_num_entries(bc_demand_hash));
	a.n = 0;
	hash_seq_init(&seq, bc_demand_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		a.entries[a.n++] = e;
	qsort(a.entries, a.n, sizeof(BcDemandEntry *), bc_demand_key_cmp);

	ok = bc_subxact_run(bc_demand_write_step, &a, &edata);
	pfree(a.entries);
	if (edata != NULL)
	{
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(DEBUG1,
				(errmsg("brickcat: demand flush skipped: %s", edata->message)));
		FreeErrorData(edata);
	}
	if (!ok)
		return 0;
	hash_destroy(bc_demand_hash);
	bc_demand_hash = NULL;
	return a.n;
}

/*
 * bc_demand_shmem_size is the size of the shared table of pending counts.
 */
static Size
bc_demand_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(BcDemandShared)),
					hash_estimate_size(BC_DEMAND_SHARED_MAX, sizeof(BcDemandEntry)));
}

/*
 * bc_demand_shmem_request asks for the shared table and its lock (from
 * brickcat's shmem_request_hook, shmem.c).
 */
void
bc_demand_shmem_request(void)
{
	RequestAddinShmemSpace(bc_demand_shmem_size());
	RequestNamedLWLockTranche("brickcat demand", 1);
}

/*
 * bc_demand_shmem_attach creates or attaches to the shared table (from
 * brickcat's shmem_startup_hook, shmem.c, which holds AddinShmemInitLock).
 */
void
bc_demand_shmem_attach(void)
{
	HASHCTL		ctl;
	bool		found;

	bc_demand_shared = ShmemInitStruct("brickcat demand", sizeof(BcDemandShared), &found);
	if (!found)
	{
		bc_demand_shared->lock = &(GetNamedLWLockTranche("brickcat demand"))->lock;
		bc_demand_shared->nentries = 0;
		pg_atomic_init_u64(&bc_demand_shared->dropped, 0);
	}
	ctl.keysize = sizeof(BcDemandKey);
	ctl.entrysize = sizeof(BcDemandEntry);
	ctl.hash = bc_demand_key_hash;
	ctl.match = bc_demand_key_match;
	bc_demand_shared_hash = ShmemInitHash("brickcat demand counts", BC_DEMAND_SHARED_MAX,
										  BC_DEMAND_SHARED_MAX, &ctl,
										  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
										  HASH_FIXED_SIZE);
}

/*
 * bc_demand_worker_writes says whether this backend's counts may go to the
 * worker: brickcat preloaded, its worker running, and in this database.
 */
static bool
bc_demand_worker_writes(void)
{
	if (bc_demand_shared == NULL || IsBackgroundWorker || !bc_worker_running())
		return false;
	if (bc_demand_in_worker_db < 0)
	{
		char	   *db = get_database_name(MyDatabaseId);

		bc_demand_in_worker_db = db != NULL && bc_database != NULL &&
			strcmp(db, bc_database) == 0;
	}
	return bc_demand_in_worker_db == 1;
}

/*
 * bc_demand_handoff moves the backend's pending counts into the shared
 * table for the worker and wakes it; true when none is left behind (false
 * also when the worker cannot take them).
 */
static bool
bc_demand_handoff(void)
{
	HASH_SEQ_STATUS seq;
	BcDemandEntry *e;
	bool		moved = false;

	if (!bc_demand_worker_writes())
		return false;
	if (bc_demand_hash == NULL)
		return true;
	LWLockAcquire(bc_demand_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, bc_demand_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		bool		found;
		BcDemandEntry *s = hash_search(bc_demand_shared_hash, &e->key,
									   HASH_ENTER_NULL, &found);

		if (s == NULL)
		{
			hash_seq_term(&seq);	/* full: the rest stays here */
			break;
		}
		if (!found)
		{
			s->count = 0;
			bc_demand_shared->nentries++;
		}
		s->count += e->count;
		(void) hash_search(bc_demand_hash, &e->key, HASH_REMOVE, NULL);
		moved = true;
	}
	LWLockRelease(bc_demand_shared->lock);
	if (moved)
		bc_worker_wake();
	return hash_get_num_entries(bc_demand_hash) == 0;
}

/*
 * bc_demand_at_exit hands a backend's pending counts to the worker when the
 * backend exits, if it already knows that the worker takes them (no catalog
 * access here).
 */
static void
bc_demand_at_exit(int code, Datum arg)
{
	if (bc_demand_in_worker_db == 1 && bc_demand_hash != NULL &&
		hash_get_num_entries(bc_demand_hash) > 0 &&
		!LWLockHeldByMe(bc_demand_shared->lock))
		(void) bc_demand_handoff();
}

/*
 * bc_demand_worker_flush is the worker's part: take the counts backends
 * handed over, merging them into the worker's own table, and write that
 * table (in the worker's open transaction) when its oldest unwritten counts
 * are brickcat.demand_write_interval old, or when it or the shared table
 * overflows; returns the number of items written.
 */
int
bc_demand_worker_flush(void)
{
	HASH_SEQ_STATUS seq;
	BcDemandEntry *e;
	TimestampTz now;
	int			room;
	bool		left;
	int			n;

	if (bc_demand_shared == NULL)
		return 0;
	bc_demand_max_entries = BC_DEMAND_WORKER_MAX_ENTRIES;
	room = bc_demand_max_entries -
		(bc_demand_hash ? (int) hash_get_num_entries(bc_demand_hash) : 0);
	LWLockAcquire(bc_demand_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, bc_demand_shared_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (room == 0)
		{
			hash_seq_term(&seq);
			break;
		}
		if (bc_demand_add(e->key.item_type, e->key.item_no, e->count))
			room--;
		(void) hash_search(bc_demand_shared_hash, &e->key, HASH_REMOVE, NULL);
		bc_demand_shared->nentries--;
	}
	left = bc_demand_shared->nentries > 0;
	LWLockRelease(bc_demand_shared->lock);

	if (bc_demand_hash == NULL || hash_get_num_entries(bc_demand_hash) == 0)
		return 0;
	now = bc_now();
	if (bc_demand_worker_since == 0 || now < bc_demand_worker_since)
		bc_demand_worker_since = now;
	if (!left && room > 0 && now < bc_demand_worker_next_write())
		return 0;
	n = bc_demand_flush();
	/* written: nothing waits; failed: the counts wait one more interval */
	bc_demand_worker_since = bc_demand_hash != NULL ? now : 0;
	return n;
}

/*
 * bc_demand_worker_next_write is when the worker should write the counts it
 * merged, DT_NOEND when it holds none.
 */
TimestampTz
bc_demand_worker_next_write(void)
{
	if (bc_demand_hash == NULL || hash_get_num_entries(bc_demand_hash) == 0 ||
		bc_demand_worker_since == 0)
		return DT_NOEND;
	return bc_demand_worker_since + bc_demand_write_interval.usec;
}

/*
 * bc_demand_worker_pending says whether backends handed counts over or the
 * worker's own counts are due to be written.
 */
bool
bc_demand_worker_pending(void)
{
	bool		pending;

	if (bc_demand_shared == NULL)
		return false;
	LWLockAcquire(bc_demand_shared->lock, LW_SHARED);
	pending = bc_demand_shared->nentries > 0;
	LWLockRelease(bc_demand_shared->lock);
	return pending || bc_now() >= bc_demand_worker_next_write();
}

/*
 * bc_demand_dropped_count returns the number of reads not counted because
 * every table that could hold them was full.
 */
int64
bc_demand_dropped_count(void)
{
	if (bc_demand_shared == NULL)
		return bc_demand_dropped_local;
	return (int64) pg_atomic_read_u64(&bc_demand_shared->dropped);
}

/*
 * bc_demand_pass_on hands the backend's counts to the worker, or writes them
 * when the worker cannot take them (or the interval is 0), and notes whether
 * counts were left behind.  A reading backend never writes when the worker
 * takes its counts: when the shared table is full they wait here for the
 * next interval.
 */
static void
bc_demand_pass_on(TimestampTz now)
{
	bc_demand_last_flush = now;
	if (bc_demand_flush_interval.usec > 0 && bc_demand_worker_writes())
		(void) bc_demand_handoff();
	else
		(void) bc_demand_flush();
	bc_demand_stuck = bc_demand_hash != NULL && hash_get_num_entries(bc_demand_hash) > 0;
}

/*
 * bc_demand_full says whether the backend's table of pending counts is full.
 */
static inline bool
bc_demand_full(void)
{
	return bc_demand_hash != NULL &&
		hash_get_num_entries(bc_demand_hash) >= bc_demand_max_entries;
}

/*
 * bc_demand_record counts one read of an item, and passes the backend's
 * counts on when brickcat.demand_flush_interval has passed since the last
 * attempt or the table is full; see demand.h.
 */
void
bc_demand_record(const char *item_type, const char *item_no)
{
	TimestampTz now;
	bool		added;

	if (!bc_demand_track || item_type == NULL || item_no == NULL)
		return;
	if (RecoveryInProgress())
		return;					/* a standby can never flush */
	added = bc_demand_add(item_type, item_no, 1.0);
	if (!added && !bc_demand_full())
		return;					/* not an item key */

	/* the statement's start time costs no system call */
	now = GetCurrentStatementStartTimestamp();
	if (now - bc_demand_last_flush >= bc_demand_flush_interval.usec ||
		now < bc_demand_last_flush ||
		(bc_demand_full() && !bc_demand_stuck))
	{
		bc_demand_pass_on(now);
		if (!added)
			added = bc_demand_add(item_type, item_no, 1.0);
	}
	if (!added)
	{
		if (bc_demand_shared != NULL)
			pg_atomic_fetch_add_u64(&bc_demand_shared->dropped, 1);
		else
			bc_demand_dropped_local++;
	}
}

/*
 * bc_demand_check_type raises an error unless item_type is a BrickLink item
 * type.
 */
static void
bc_demand_check_type(const char *item_type)
{
	for (int i = 0; i < lengthof(bc_demand_item_types); i++)
		if (strcmp(item_type, bc_demand_item_types[i]) == 0)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown item type \"%s\"", item_type),
			 errhint("Use PART, SET, MINIFIG, BOOK, GEAR, CATALOG, INSTRUCTION, UNSORTED_LOT or ORIGINAL_BOX.")));
}

PG_FUNCTION_INFO_V1(bc_record_demand_sql);

/*
 * bc_record_demand_sql implements brickcat.record_demand(item_nos, item_type):
 * one read per element (NULLs skipped), flushed at once when writing is
 * possible here; returns the number of reads recorded.
 */
Datum
bc_record_demand_sql(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	char	   *item_type = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			recorded = 0;

	bc_demand_check_type(item_type);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("item_nos must be a one-dimensional array"),
				 errhint("Pass item numbers as ARRAY['3001', '3020'].")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	for (int i = 0; i < nelems; i++)
	{
		char	   *no;

		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			continue;
		no = TextDatumGetCString(elems[i]);
		if (no[0] == '\0' || strlen(no) >= BC_DEMAND_NO_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid item number \"%.70s\"", no),
					 errhint("Item numbers are 1 to 64 bytes long.")));
		if (!bc_demand_add(item_type, no, 1.0))
		{
			/* the table is full: write it out and try again */
			(void) bc_demand_flush();
			if (!bc_demand_add(item_type, no, 1.0))
				continue;
		}
		recorded++;
	}
	(void) bc_demand_flush();
	PG_RETURN_INT32(recorded);
}

PG_FUNCTION_INFO_V1(bc_demand_dropped_sql);

/*
 * bc_demand_dropped_sql implements brickcat.demand_dropped().
 */
Datum
bc_demand_dropped_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(bc_demand_dropped_count());
}

PG_FUNCTION_INFO_V1(bc_demand_score_sql);

/*
 * bc_demand_score_sql implements brickcat.demand_score(score, updated_at):
 * a stored score decayed to brickcat.now().
 */
Datum
bc_demand_score_sql(PG_FUNCTION_ARGS)
{
	double		score = PG_GETARG_FLOAT8(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz now = bc_statement_now();
	double		elapsed;

	if (TIMESTAMP_NOT_FINITE(at))
		PG_RETURN_FLOAT8(TIMESTAMP_IS_NOBEGIN(at) ? 0.0 : score);
	elapsed = Max((double) (now - at), 0.0) / (double) bc_demand_half_life.usec;
	PG_RETURN_FLOAT8(score * pow(2.0, -elapsed));
}

/*
 * bc_demand_init registers the demand settings.
 */
void
bc_demand_init(void)
{
	DefineCustomBoolVariable("brickcat.track_demand",
							 "Records which items readers ask for, so that sweeps refresh them first.",
							 NULL, &bc_demand_track, true, PGC_SUSET, 0, NULL, NULL, NULL);
	bc_define_interval_guc(&bc_demand_half_life,
						   "Half-life of the recorded read demand of an item.",
						   "A read counts 1 now, 0.5 one half-life later, and so on.",
						   "7 days", PGC_SUSET, 0,
						   bc_demand_half_life_check, bc_demand_half_life_assign);
	DefineCustomRealVariable("brickcat.demand_threshold",
							 "Decayed demand score from which an item counts as demanded by sweeps.",
							 "The default 0.5 keeps an item read once demanded for one half-life.",
							 &bc_demand_threshold, 0.5, 1e-6, 1e9,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	bc_define_interval_guc(&bc_demand_flush_interval,
						   "How often a backend passes the read demand it counted on to brickcat.item_demand.",
						   "The worker writes it when it runs in this database; 0 makes every read write its count itself.",
						   "5s", PGC_USERSET, 0,
						   bc_demand_flush_interval_check, bc_demand_flush_interval_assign);
	bc_define_interval_guc(&bc_demand_write_interval,
						   "How long brickcat's worker merges the read demand backends pass on before writing it.",
						   "Longer merges more reads of the same item into one row update; 0 writes as soon as counts arrive.",
						   "30s", PGC_SIGHUP, 0,
						   bc_demand_write_interval_check, bc_demand_write_interval_assign);
}
