/*-------------------------------------------------------------------------
 *
 * enumcache.h
 *	  Per-backend cache of the label OIDs of a brickcat enum type, reset
 *	  when pg_type changes (the extension may be dropped and created again).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_ENUMCACHE_H
#define BC_ENUMCACHE_H

#define BC_ENUMCACHE_MAX_LABELS 16

typedef struct BcEnumCache
{
	const char *typname;		/* type name in schema brickcat */
	const char *const *labels;	/* labels, in the C enum's order */
	int			nlabels;
	bool		valid;
	struct BcEnumCache *next;	/* registered caches, for invalidation */
	Oid			oids[BC_ENUMCACHE_MAX_LABELS];
} BcEnumCache;

#define BC_ENUMCACHE_INIT(typname, labels, n) {typname, labels, n, false, NULL, {0}}

extern Datum bc_enumcache_datum(BcEnumCache *cache, int label);

#endif							/* BC_ENUMCACHE_H */
