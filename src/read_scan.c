/*-------------------------------------------------------------------------
 *
 * read_scan.c
 *	  Direct primary-key lookups of the cache tables for the read path.
 *
 * A cache hit must cost about as much as a primary-key SELECT, so reads do
 * not go through SPI: they open the tables and their primary-key indexes,
 * scan with index_beginscan/index_rescan under the caller's snapshot and copy
 * the row they find.  Table and index OIDs are looked up once per backend and
 * forgotten when a relcache invalidation touches one of them (for instance
 * when the extension is dropped and created again).  An item row is first
 * looked for where it was last found (read_tidcache.c), and the primary key
 * is descended only when it is not there.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "read.h"
#include "worker.h"

/* The tables the read path looks into. */
typedef enum BcRelId
{
	BC_REL_ITEM = 0,
	BC_REL_COLOR_SET,
	BC_REL_ITEM_COLOR,
	BC_REL_PRICE,
	BC_REL_COLOR,
	BC_REL_NOT_FOUND,
	BC_REL_COUNT
} BcRelId;

/* Per table: name, and the timestamp column that drives freshness. */
static const struct
{
	const char *relname;
	const char *stamp;
}			bc_rel_info[BC_REL_COUNT] =
{
	{"item", "fetched_at"},
	{"item_color_set", "colors_fetched_at"},
	{"item_color", "quantity"},
	{"price_guide", "fetched_at"},
	{"color", "color_code"},
	{"not_found", "checked_at"},
};

/* OIDs and column numbers resolved once per backend. */
typedef struct BcRelCache
{
	Oid			relid;
	Oid			indexid;
	AttrNumber	stamp_attno;
	AttrNumber	extra_attno;	/* price: currency; item_color: color_id;
								 * color: name; item_color_set: color_ids */
	AttrNumber	copy_at_attno;	/* item: colors_copy_fetched_at */
	AttrNumber	copy_ids_attno; /* item: color_ids_copy */
	AttrNumber	type_attno;		/* item: item_type */
	AttrNumber	no_attno;		/* item: item_no */
} BcRelCache;

static BcRelCache bc_rels[BC_REL_COUNT];
static TupleDesc bc_rel_descs[BC_REL_COUNT];
static bool bc_rels_valid = false;
uint64		bc_scan_generation = 0;
static bool bc_rels_callback = false;

/* item_color_set was written in this transaction: item copies may lag */
static bool bc_scan_color_set_touched = false;
static bool bc_scan_xact_callback = false;

/* One open table with its primary-key scan. */
typedef struct BcScanRel
{
	Relation	heap;
	Relation	index;			/* opened on the first index scan */
	IndexScanDesc scan;
	Snapshot	snap;
	TupleTableSlot *slot;
	IndexFetchTableData *fetch; /* fetches at remembered TIDs */
} BcScanRel;

struct BcScanner
{
	BcScanRel	rels[BC_REL_COUNT];
};

/*
 * bc_scan_relcache_cb forgets the resolved OIDs when one of brickcat's
 * tables (or every relation) is invalidated.
 */
static void
bc_scan_relcache_cb(Datum arg, Oid relid)
{
	if (!bc_rels_valid)
		return;
	for (int i = 0; i < BC_REL_COUNT; i++)
	{
		if (!OidIsValid(relid) ||
			bc_rels[i].relid == relid || bc_rels[i].indexid == relid)
		{
			bc_rels_valid = false;
			bc_scan_generation++;
			return;
		}
	}
}

/*
 * bc_scan_resolve looks up the OIDs of brickcat's cache tables, their
 * primary keys and the columns the read path needs.
 */
static void
bc_scan_resolve(void)
{
	Oid			nsp;

	if (bc_rels_valid)
		return;
	if (!bc_rels_callback)
	{
		CacheRegisterRelcacheCallback(bc_scan_relcache_cb, (Datum) 0);
		bc_rels_callback = true;
	}
	nsp = get_namespace_oid("brickcat", true);
	for (int i = 0; i < BC_REL_COUNT; i++)
	{
		Oid			relid = OidIsValid(nsp) ?
		get_relname_relid(bc_rel_info[i].relname, nsp) : InvalidOid;
		Relation	rel;

		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table brickcat.%s does not exist", bc_rel_info[i].relname),
					 errhint("Run CREATE EXTENSION brickcat in this database.")));
		rel = table_open(relid, AccessShareLock);
		bc_rels[i].relid = relid;
		bc_rels[i].indexid = RelationGetPrimaryKeyIndex(rel);
		if (bc_rel_descs[i])
			FreeTupleDesc(bc_rel_descs[i]);
		bc_rel_descs[i] = NULL;
		if (i == BC_REL_ITEM || i == BC_REL_PRICE)
		{
			MemoryContext old = MemoryContextSwitchTo(CacheMemoryContext);

			bc_rel_descs[i] = CreateTupleDescCopy(RelationGetDescr(rel));
			MemoryContextSwitchTo(old);
		}
		table_close(rel, NoLock);
		if (!OidIsValid(bc_rels[i].indexid))
			elog(ERROR, "brickcat.%s has no primary key", bc_rel_info[i].relname);
		bc_rels[i].stamp_attno = get_attnum(relid, bc_rel_info[i].stamp);
		bc_rels[i].extra_attno = InvalidAttrNumber;
		if (i == BC_REL_PRICE)
			bc_rels[i].extra_attno = get_attnum(relid, "currency");
		else if (i == BC_REL_ITEM_COLOR)
			bc_rels[i].extra_attno = get_attnum(relid, "color_id");
		else if (i == BC_REL_COLOR)
			bc_rels[i].extra_attno = get_attnum(relid, "color_name");
		else if (i == BC_REL_COLOR_SET)
			bc_rels[i].extra_attno = get_attnum(relid, "color_ids");
		bc_rels[i].copy_at_attno = bc_rels[i].copy_ids_attno = InvalidAttrNumber;
		if (i == BC_REL_ITEM)
		{
			bc_rels[i].copy_at_attno = get_attnum(relid, "colors_copy_fetched_at");
			bc_rels[i].copy_ids_attno = get_attnum(relid, "color_ids_copy");
			bc_rels[i].type_attno = get_attnum(relid, "item_type");
			bc_rels[i].no_attno = get_attnum(relid, "item_no");
			if (bc_rels[i].type_attno == InvalidAttrNumber ||
				bc_rels[i].no_attno == InvalidAttrNumber)
				elog(ERROR, "brickcat.item lacks its key columns");
		}
		if (bc_rels[i].stamp_attno == InvalidAttrNumber ||
			(i != BC_REL_ITEM && i != BC_REL_NOT_FOUND &&
			 bc_rels[i].extra_attno == InvalidAttrNumber))
			elog(ERROR, "brickcat.%s lacks a column the read path needs",
				 bc_rel_info[i].relname);
	}
	bc_rels_valid = true;
}

/*
 * bc_scan_begin returns a scanner; tables are opened on first use.
 */
BcScanner *
bc_scan_begin(void)
{
	bc_scan_resolve();
	return palloc0(sizeof(BcScanner));
}

/*
 * bc_scan_end closes every scan and table the scanner opened; locks stay
 * until the end of the transaction, as for a plain SELECT.
 */
void
bc_scan_end(BcScanner *sc)
{
	for (int i = 0; i < BC_REL_COUNT; i++)
	{
		BcScanRel  *r = &sc->rels[i];

		if (r->scan)
			index_endscan(r->scan);
		if (r->fetch)
			table_index_fetch_end(r->fetch);
		if (r->slot)
			ExecDropSingleTupleTableSlot(r->slot);
		if (r->index)
			index_close(r->index, NoLock);
		if (r->heap)
			table_close(r->heap, NoLock);
	}
	pfree(sc);
}

/*
 * bc_scan_open opens table id for the scanner once.
 */
static BcScanRel *
bc_scan_open(BcScanner *sc, BcRelId id)
{
	BcScanRel  *r = &sc->rels[id];

	if (r->heap == NULL)
	{
		r->heap = table_open(bc_rels[id].relid, AccessShareLock);
		r->slot = table_slot_create(r->heap, NULL);
	}
	return r;
}

/*
 * bc_scan_rel returns table id's open scan positioned on keys under snap,
 * opening the table or restarting the scan as needed.
 */
static BcScanRel *
bc_scan_rel(BcScanner *sc, BcRelId id, Snapshot snap, ScanKey keys, int nkeys)
{
	BcScanRel  *r = bc_scan_open(sc, id);

	if (r->index == NULL)
		r->index = index_open(bc_rels[id].indexid, AccessShareLock);
	if (r->scan && r->snap != snap)
	{
		index_endscan(r->scan);
		r->scan = NULL;
	}
	if (r->scan == NULL)
	{
		r->scan = index_beginscan(r->heap, r->index, snap, nkeys, 0);
		r->snap = snap;
	}
	for (int i = 0; i < nkeys; i++)
		keys[i].sk_collation = r->index->rd_indcollation[i];
	index_rescan(r->scan, keys, nkeys, NULL, 0);
	return r;
}

/*
 * bc_scan_key_text sets up an equality key on a text index column.
 */
static void
bc_scan_key_text(ScanKey key, int attno, const char *value)
{
	ScanKeyEntryInitialize(key, 0, attno, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_TEXTEQ, PointerGetDatum(cstring_to_text(value)));
}

/*
 * bc_scan_item_keys sets up the (item_type, item_no) prefix every cache
 * table's primary key starts with.
 */
static void
bc_scan_item_keys(ScanKey keys, const char *item_type, const char *item_no)
{
	bc_scan_key_text(&keys[0], 1, item_type);
	bc_scan_key_text(&keys[1], 2, item_no);
}

/*
 * bc_scan_stamp_at reads the freshness timestamp in column attno of the row
 * in slot; the row counts as found when always_found or once fetched.
 */
static void
bc_scan_stamp_at(TupleTableSlot *slot, AttrNumber attno, bool always_found,
				 BcCached *out)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attno, &isnull);

	out->found = always_found || !isnull;
	out->fetched_isnull = isnull;
	out->fetched_at = isnull ? 0 : DatumGetTimestampTz(d);
}

/*
 * bc_scan_stamp reads the freshness timestamp of the row in slot.
 */
static void
bc_scan_stamp(TupleTableSlot *slot, BcRelId id, BcCached *out)
{
	/* an item row is data even if never fetched (catalog import); a color
	 * list or price guide only once it was fetched */
	bc_scan_stamp_at(slot, bc_rels[id].stamp_attno, id == BC_REL_ITEM, out);
}

/*
 * bc_scan_color_ids fills out's color list from an array of color ids
 * (item_color_set.color_ids or the item row's copy of it); false when the
 * array is unusable.
 */
static bool
bc_scan_color_ids(Datum d, BcCached *out)
{
	ArrayType  *arr;
	int32	   *ids;
	int			n;

	arr = DatumGetArrayTypeP(d);
	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID)
		return false;
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	ids = (int32 *) ARR_DATA_PTR(arr);
	out->colors = palloc(sizeof(BcColorEntry) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		out->colors[i].color_id = ids[i];
		out->colors[i].quantity = 0;
		out->colors[i].quantity_isnull = true;
	}
	out->ncolors = n;
	if ((Pointer) arr != DatumGetPointer(d))
		pfree(arr);
	return true;
}

/*
 * bc_scan_colors reads an item's known-colors timestamp and list: the ids
 * from item_color_set alone unless the key wants quantities.
 */
static void
bc_scan_colors(BcScanner *sc, const BcKey *key, Snapshot snap, BcCached *out)
{
	ScanKeyData keys[2];
	BcScanRel  *r;
	int			cap = 16;

	bc_scan_item_keys(keys, key->item_type, key->item_no);
	r = bc_scan_rel(sc, BC_REL_COLOR_SET, snap, keys, 2);
	if (!index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
		return;
	bc_scan_stamp(r->slot, BC_REL_COLOR_SET, out);
	if (!key->with_quantity)
	{
		bool		isnull;
		Datum		d = slot_getattr(r->slot, bc_rels[BC_REL_COLOR_SET].extra_attno,
									 &isnull);

		if (!isnull && bc_scan_color_ids(d, out))
			return;
	}

	bc_scan_item_keys(keys, key->item_type, key->item_no);
	r = bc_scan_rel(sc, BC_REL_ITEM_COLOR, snap, keys, 2);
	out->colors = palloc(sizeof(BcColorEntry) * cap);
	while (index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
	{
		BcColorEntry *e;
		bool		isnull;

		if (out->ncolors == cap)
		{
			cap *= 2;
			out->colors = repalloc(out->colors, sizeof(BcColorEntry) * cap);
		}
		e = &out->colors[out->ncolors++];
		e->color_id = DatumGetInt32(slot_getattr(r->slot,
												 bc_rels[BC_REL_ITEM_COLOR].extra_attno,
												 &isnull));
		e->quantity = DatumGetInt32(slot_getattr(r->slot,
												 bc_rels[BC_REL_ITEM_COLOR].stamp_attno,
												 &e->quantity_isnull));
	}
}

/*
 * bc_scan_xact_cb forgets at the end of a transaction that it wrote
 * item_color_set.
 */
static void
bc_scan_xact_cb(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		bc_scan_color_set_touched = false;
}

PG_FUNCTION_INFO_V1(bc_color_set_touched);

/*
 * bc_color_set_touched is a statement trigger on item_color_set: the
 * transaction's reads stop trusting the item rows' copies of their colors,
 * which the deferred copy trigger brings up to date only at commit.
 */
Datum
bc_color_set_touched(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("brickcat.item_color_set_touched() must be called as a trigger")));
	if (!bc_scan_xact_callback)
	{
		RegisterXactCallback(bc_scan_xact_cb, NULL);
		bc_scan_xact_callback = true;
	}
	bc_scan_color_set_touched = true;
	return PointerGetDatum(NULL);
}

/*
 * bc_scan_colors_copy reads an item's known colors from the copy its item
 * row carries (the row in slot, just found by an item lookup), sparing the
 * item_color_set probe; false when there is no usable copy.
 */
bool
bc_scan_colors_copy(TupleTableSlot *slot, BcCached *out)
{
	bool		isnull;
	Datum		ids;

	if (bc_scan_color_set_touched ||
		bc_rels[BC_REL_ITEM].copy_ids_attno == InvalidAttrNumber ||
		bc_rels[BC_REL_ITEM].copy_at_attno == InvalidAttrNumber)
		return false;
	ids = slot_getattr(slot, bc_rels[BC_REL_ITEM].copy_ids_attno, &isnull);
	if (isnull)
		return false;
	memset(out, 0, sizeof(BcCached));
	/* as for the item_color_set row: known only once fetched */
	bc_scan_stamp_at(slot, bc_rels[BC_REL_ITEM].copy_at_attno, false, out);
	if (bc_scan_color_ids(ids, out))
		return true;
	memset(out, 0, sizeof(BcCached));
	out->fetched_isnull = true;
	return false;
}

/*
 * bc_scan_price reads one price guide, preferring brickcat.currency when
 * several currencies are stored.
 */
static void
bc_scan_price(BcScanner *sc, const BcKey *key, Snapshot snap, BcCached *out)
{
	ScanKeyData keys[5];
	BcScanRel  *r;
	char		cond[2] = {key->condition, '\0'};

	bc_scan_item_keys(keys, key->item_type, key->item_no);
	ScanKeyEntryInitialize(&keys[2], 0, 3, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_INT4EQ, Int32GetDatum(key->color_id));
	bc_scan_key_text(&keys[3], 4, key->guide_type);
	ScanKeyEntryInitialize(&keys[4], 0, 5, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_BPCHAREQ,
						   PointerGetDatum(cstring_to_text(cond)));
	r = bc_scan_rel(sc, BC_REL_PRICE, snap, keys, 5);
	while (index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
	{
		bool		isnull;
		Datum		cur = slot_getattr(r->slot, bc_rels[BC_REL_PRICE].extra_attno, &isnull);
		bool		usd = !isnull && bc_currency != NULL &&
			strncmp(VARDATA_ANY(DatumGetPointer(cur)), bc_currency, 3) == 0;

		if (out->tuple == NULL || usd)
		{
			if (out->tuple)
				heap_freetuple(out->tuple);
			out->tuple = ExecCopySlotHeapTuple(r->slot);
			bc_scan_stamp(r->slot, BC_REL_PRICE, out);
		}
		if (usd)
			break;
	}
}

/*
 * bc_scan_text_is says whether column attno of the row in slot is the text
 * value.
 */
static bool
bc_scan_text_is(TupleTableSlot *slot, AttrNumber attno, const char *value)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attno, &isnull);
	text	   *t;
	size_t		len = strlen(value);
	bool		same;

	if (isnull)
		return false;
	t = DatumGetTextPP(d);
	same = VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), value, len) == 0;
	if ((Pointer) t != DatumGetPointer(d))
		pfree(t);
	return same;
}

/*
 * bc_scan_block_exists says whether block blkno of rel exists, asking the
 * kernel only when it lies beyond the size smgr last saw.
 */
static bool
bc_scan_block_exists(Relation rel, BlockNumber blkno)
{
	BlockNumber known = RelationGetSmgr(rel)->smgr_cached_nblocks[MAIN_FORKNUM];

	if (known != InvalidBlockNumber && blkno < known)
		return true;
	return blkno < RelationGetNumberOfBlocks(rel);
}

/*
 * bc_scan_item_at fetches into the item scan's slot the version of the row
 * at tid (a HOT chain's root) that snap sees, if there is one and it is the
 * item key's row.
 */
static bool
bc_scan_item_at(BcScanRel *r, ItemPointer tid, Snapshot snap, const BcKey *key)
{
	ItemPointerData at = *tid;
	bool		call_again = false;
	bool		all_dead = false;

	/*
	 * A remembered place may lie beyond the end of a table truncated since.
	 * The size smgr last saw is a safe bound: a truncation makes every other
	 * backend close the relation's smgr entry (forgetting the size) before
	 * the lock it holds is released, and this read holds its lock.
	 */
	if (!bc_scan_block_exists(r->heap, ItemPointerGetBlockNumber(&at)))
		return false;
	if (r->fetch == NULL)
		r->fetch = table_index_fetch_begin(r->heap);
	if (!table_index_fetch_tuple(r->fetch, &at, snap, r->slot, &call_again, &all_dead))
		return false;
	return bc_scan_text_is(r->slot, bc_rels[BC_REL_ITEM].no_attno, key->item_no) &&
		bc_scan_text_is(r->slot, bc_rels[BC_REL_ITEM].type_attno, key->item_type);
}

/*
 * bc_scan_item finds an item row: where it was last found if it is still
 * there (with the shared table of places, MVCC snapshots, outside
 * SERIALIZABLE, whose index scans take predicate locks), else through the
 * primary key, remembering where.
 */
static void
bc_scan_item(BcScanner *sc, const BcKey *key, Snapshot snap, BcCached *out)
{
	ScanKeyData keys[2];
	BcScanRel  *r;
	ItemPointer tid;
	ItemPointerData at;
	bool		remember = bc_tidcache_active() && IsMVCCSnapshot(snap) &&
		!IsolationIsSerializable();
	uint64		h = 0;

	if (remember)
	{
		h = bc_tidcache_hash(key->item_type, key->item_no);
		if (bc_tidcache_get(h, &at))
		{
			r = bc_scan_open(sc, BC_REL_ITEM);
			if (bc_scan_item_at(r, &at, snap, key))
			{
				out->slot = r->slot;
				bc_scan_stamp(r->slot, BC_REL_ITEM, out);
				return;
			}
			ExecClearTuple(r->slot);
			bc_tidcache_forget(h, &at);
		}
	}

	bc_scan_item_keys(keys, key->item_type, key->item_no);
	r = bc_scan_rel(sc, BC_REL_ITEM, snap, keys, 2);
	while ((tid = index_getnext_tid(r->scan, ForwardScanDirection)) != NULL)
	{
		/* the index's TID is the chain's root; the fetch moves it along */
		at = *tid;
		if (index_fetch_heap(r->scan, r->slot))
		{
			if (remember)
				bc_tidcache_put(h, &at);
			out->slot = r->slot;
			bc_scan_stamp(r->slot, BC_REL_ITEM, out);
			return;
		}
	}
}

/*
 * bc_scan_lookup reads what the cache holds for key under snap into out.
 */
void
bc_scan_lookup(BcScanner *sc, const BcKey *key, Snapshot snap, BcCached *out)
{
	memset(out, 0, sizeof(BcCached));
	out->fetched_isnull = true;
	switch (key->ds)
	{
		case BC_DS_ITEM:
			bc_scan_item(sc, key, snap, out);
			break;
		case BC_DS_COLORS:
			bc_scan_colors(sc, key, snap, out);
			break;
		case BC_DS_PRICE:
			bc_scan_price(sc, key, snap, out);
			break;
	}
}

/*
 * bc_scan_materialize copies the row a lookup left in the scan's slot, so it
 * outlives the next lookup.
 */
void
bc_scan_materialize(BcCached *c)
{
	if (c->slot && c->tuple == NULL)
		c->tuple = ExecCopySlotHeapTuple(c->slot);
	c->slot = NULL;
}

/*
 * bc_scan_not_found says whether BrickLink answered "not found" for target
 * at or after since (the negative cache), and sets *checked_at to when it did.
 */
bool
bc_scan_not_found(BcScanner *sc, const char *target, TimestampTz since,
				  Snapshot snap, TimestampTz *checked_at)
{
	ScanKeyData key;
	BcScanRel  *r;
	bool		isnull;
	Datum		d;

	bc_scan_key_text(&key, 1, target);
	r = bc_scan_rel(sc, BC_REL_NOT_FOUND, snap, &key, 1);
	if (!index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
		return false;
	d = slot_getattr(r->slot, bc_rels[BC_REL_NOT_FOUND].stamp_attno, &isnull);
	if (isnull || DatumGetTimestampTz(d) < since)
		return false;
	*checked_at = DatumGetTimestampTz(d);
	return true;
}

/*
 * bc_scan_color_info reads a color's name and RGB code; false when the
 * color list does not know the id.
 */
bool
bc_scan_color_info(BcScanner *sc, int32 color_id, Snapshot snap,
				   Datum *name, Datum *rgb, bool *rgb_isnull)
{
	ScanKeyData key;
	BcScanRel  *r;
	bool		isnull;

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_INT4EQ, Int32GetDatum(color_id));
	r = bc_scan_rel(sc, BC_REL_COLOR, snap, &key, 1);
	if (!index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
		return false;
	*name = datumCopy(slot_getattr(r->slot, bc_rels[BC_REL_COLOR].extra_attno, &isnull),
					  false, -1);
	*rgb = slot_getattr(r->slot, bc_rels[BC_REL_COLOR].stamp_attno, rgb_isnull);
	if (!*rgb_isnull)
		*rgb = datumCopy(*rgb, false, -1);
	return true;
}

/*
 * bc_scan_price_guides calls cb for every stored price guide of an item.
 */
void
bc_scan_price_guides(BcScanner *sc, const char *item_type, const char *item_no,
					 Snapshot snap,
					 void (*cb) (void *arg, HeapTuple tup, TupleDesc desc),
					 void *arg)
{
	ScanKeyData keys[2];
	BcScanRel  *r;

	bc_scan_item_keys(keys, item_type, item_no);
	r = bc_scan_rel(sc, BC_REL_PRICE, snap, keys, 2);
	while (index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
	{
		HeapTuple	tup = ExecCopySlotHeapTuple(r->slot);

		cb(arg, tup, RelationGetDescr(r->heap));
	}
}

/*
 * bc_scan_item_desc returns brickcat.item's tuple descriptor (a copy kept
 * until the table changes).
 */
TupleDesc
bc_scan_item_desc(void)
{
	bc_scan_resolve();
	return bc_rel_descs[BC_REL_ITEM];
}

/*
 * bc_scan_price_desc returns brickcat.price_guide's tuple descriptor.
 */
TupleDesc
bc_scan_price_desc(void)
{
	bc_scan_resolve();
	return bc_rel_descs[BC_REL_PRICE];
}
