/*-------------------------------------------------------------------------
 *
 * enumcache.c
 *	  Label OIDs of brickcat enum types, looked up once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "enumcache.h"
#include "freshness.h"

static BcEnumCache *bc_enumcache_list = NULL;
static bool bc_enumcache_callback_registered = false;

/*
 * bc_enumcache_reset forgets every cached label OID when pg_type changes.
 */
static void
bc_enumcache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	for (BcEnumCache *c = bc_enumcache_list; c != NULL; c = c->next)
		c->valid = false;
}

/*
 * bc_enumcache_datum returns label number `label` of the cache's enum type as
 * a Datum, looking the labels up on first use.
 */
Datum
bc_enumcache_datum(BcEnumCache *cache, int label)
{
	Assert(label >= 0 && label < cache->nlabels &&
		   cache->nlabels <= BC_ENUMCACHE_MAX_LABELS);
	if (!cache->valid)
	{
		Oid			typoid = bc_type_oid(cache->typname);
		bool		listed = false;

		if (!bc_enumcache_callback_registered)
		{
			CacheRegisterSyscacheCallback(TYPEOID, bc_enumcache_reset, (Datum) 0);
			bc_enumcache_callback_registered = true;
		}
		for (BcEnumCache *c = bc_enumcache_list; c != NULL; c = c->next)
			listed |= (c == cache);
		if (!listed)
		{
			cache->next = bc_enumcache_list;
			bc_enumcache_list = cache;
		}
		for (int i = 0; i < cache->nlabels; i++)
		{
			Oid			oid = GetSysCacheOid2(ENUMTYPOIDNAME, Anum_pg_enum_oid,
											  ObjectIdGetDatum(typoid),
											  CStringGetDatum(cache->labels[i]));

			if (!OidIsValid(oid))
				elog(ERROR, "brickcat.%s has no label \"%s\"",
					 cache->typname, cache->labels[i]);
			cache->oids[i] = oid;
		}
		cache->valid = true;
	}
	return ObjectIdGetDatum(cache->oids[label]);
}
