/*-------------------------------------------------------------------------
 *
 * freshness.h
 *	  Freshness classification of cached catalog data.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_FRESHNESS_H
#define BC_FRESHNESS_H

#include "brickcat.h"

/* Order matches the SQL enum brickcat.freshness. */
typedef enum BcFreshness
{
	BC_FRESH = 0,
	BC_STALE,
	BC_EXPIRED,
	BC_MISSING
} BcFreshness;

#define BC_FRESHNESS_COUNT 4

extern BcIntervalGuc bc_stale_after;
extern BcIntervalGuc bc_expire_after;

extern BcFreshness bc_freshness_classify(TimestampTz fetched_at, bool fetched_isnull,
										 TimestampTz as_of);
extern TimestampTz bc_next_refresh_at(TimestampTz fetched_at, bool fetched_isnull,
									  TimestampTz now);
extern const char *bc_freshness_name(BcFreshness f);
extern Datum bc_freshness_datum(BcFreshness f);
extern Oid	bc_type_oid(const char *typname);

#endif							/* BC_FRESHNESS_H */
