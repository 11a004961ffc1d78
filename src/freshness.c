/*-------------------------------------------------------------------------
 *
 * freshness.c
 *	  Freshness classification: fresh, stale, expired or missing, computed
 *	  from a timestamp at read time and never stored.
 *
 * A row is fresh while its age is below brickcat.stale_after, stale until
 * brickcat.expire_after, expired from then on, and missing when it was never
 * fetched.  Timestamps in the future (clock skew) are fresh.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "enumcache.h"
#include "freshness.h"

static bool bc_stale_after_cross(int64 usec, GucSource source);
static bool bc_expire_after_cross(int64 usec, GucSource source);

BcIntervalGuc bc_stale_after = {"brickcat.stale_after", NULL,
	INT64CONST(30) * USECS_PER_DAY, 1, INT64CONST(36500) * USECS_PER_DAY,
bc_stale_after_cross};
BcIntervalGuc bc_expire_after = {"brickcat.expire_after", NULL,
	INT64CONST(60) * USECS_PER_DAY, 1, INT64CONST(36500) * USECS_PER_DAY,
bc_expire_after_cross};

BC_INTERVAL_GUC_HOOKS(bc_stale_after)
BC_INTERVAL_GUC_HOOKS(bc_expire_after)

static const char *const bc_freshness_names[BC_FRESHNESS_COUNT] = {
	"fresh", "stale", "expired", "missing"
};

/* Label OIDs of brickcat.freshness, looked up once per backend. */
static BcEnumCache bc_freshness_enum =
BC_ENUMCACHE_INIT("freshness", bc_freshness_names, BC_FRESHNESS_COUNT);

/*
 * bc_freshness_cross_applies says whether the stale/expire ordering can be
 * checked for a value coming from this source: values read from
 * postgresql.conf arrive one at a time, so the pair is checked when used.
 */
static bool
bc_freshness_cross_applies(GucSource source)
{
	return source > PGC_S_FILE;
}

/*
 * bc_stale_after_cross rejects a stale_after that is not below expire_after.
 */
static bool
bc_stale_after_cross(int64 usec, GucSource source)
{
	if (bc_freshness_cross_applies(source) && usec >= bc_expire_after.usec)
	{
		GUC_check_errdetail("brickcat.stale_after must be less than brickcat.expire_after (%s).",
							bc_format_usec(bc_expire_after.usec));
		GUC_check_errhint("Raise brickcat.expire_after first.");
		return false;
	}
	return true;
}

/*
 * bc_expire_after_cross rejects an expire_after that is not above stale_after.
 */
static bool
bc_expire_after_cross(int64 usec, GucSource source)
{
	if (bc_freshness_cross_applies(source) && usec <= bc_stale_after.usec)
	{
		GUC_check_errdetail("brickcat.expire_after must be greater than brickcat.stale_after (%s).",
							bc_format_usec(bc_stale_after.usec));
		GUC_check_errhint("Lower brickcat.stale_after first.");
		return false;
	}
	return true;
}

/*
 * bc_freshness_classify says how fresh data fetched at fetched_at is at as_of.
 */
BcFreshness
bc_freshness_classify(TimestampTz fetched_at, bool fetched_isnull,
					  TimestampTz as_of)
{
	int64		age;
	int64		stale = bc_stale_after.usec;
	int64		expire = Max(bc_expire_after.usec, stale);

	if (fetched_isnull)
		return BC_MISSING;
	if (TIMESTAMP_IS_NOEND(fetched_at) || TIMESTAMP_IS_NOBEGIN(as_of))
		return BC_FRESH;
	if (TIMESTAMP_IS_NOBEGIN(fetched_at) || TIMESTAMP_IS_NOEND(as_of))
		return BC_EXPIRED;
	if (pg_sub_s64_overflow(as_of, fetched_at, &age))
		return (as_of > fetched_at) ? BC_EXPIRED : BC_FRESH;
	if (age < stale)
		return BC_FRESH;
	if (age < expire)
		return BC_STALE;
	return BC_EXPIRED;
}

/*
 * bc_next_refresh_at returns when data fetched at fetched_at stops being
 * fresh; missing data is due now.
 */
TimestampTz
bc_next_refresh_at(TimestampTz fetched_at, bool fetched_isnull, TimestampTz now)
{
	TimestampTz result;

	if (fetched_isnull)
		return now;
	if (TIMESTAMP_NOT_FINITE(fetched_at))
		return fetched_at;
	if (pg_add_s64_overflow(fetched_at, bc_stale_after.usec, &result) ||
		!IS_VALID_TIMESTAMP(result))
		TIMESTAMP_NOEND(result);
	return result;
}

/*
 * bc_freshness_name returns the label of a freshness state.
 */
const char *
bc_freshness_name(BcFreshness f)
{
	Assert(f >= 0 && f < BC_FRESHNESS_COUNT);
	return bc_freshness_names[f];
}

/*
 * bc_type_oid returns the OID of a type in the brickcat schema.
 */
Oid
bc_type_oid(const char *typname)
{
	Oid			nsp = get_namespace_oid("brickcat", true);
	Oid			typoid = InvalidOid;

	if (OidIsValid(nsp))
		typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								 CStringGetDatum(typname),
								 ObjectIdGetDatum(nsp));
	if (!OidIsValid(typoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type brickcat.%s does not exist", typname),
				 errhint("Run CREATE EXTENSION brickcat in this database.")));
	return typoid;
}

/*
 * bc_freshness_datum returns a freshness state as a brickcat.freshness value.
 */
Datum
bc_freshness_datum(BcFreshness f)
{
	return bc_enumcache_datum(&bc_freshness_enum, f);
}

PG_FUNCTION_INFO_V1(bc_freshness_sql);

/*
 * bc_freshness_sql implements brickcat.freshness(fetched_at, as_of).
 */
Datum
bc_freshness_sql(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = PG_ARGISNULL(1) ? bc_statement_now() : PG_GETARG_TIMESTAMPTZ(1);
	BcFreshness f;

	f = bc_freshness_classify(PG_ARGISNULL(0) ? 0 : PG_GETARG_TIMESTAMPTZ(0),
							  PG_ARGISNULL(0), as_of);
	return bc_freshness_datum(f);
}

PG_FUNCTION_INFO_V1(bc_next_refresh_at_sql);

/*
 * bc_next_refresh_at_sql implements brickcat.next_refresh_at(fetched_at).
 */
Datum
bc_next_refresh_at_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(bc_next_refresh_at(PG_ARGISNULL(0) ? 0 : PG_GETARG_TIMESTAMPTZ(0),
											 PG_ARGISNULL(0),
											 bc_statement_now()));
}

/*
 * bc_freshness_init registers the freshness windows.
 */
void
bc_freshness_init(void)
{
	bc_define_interval_guc(&bc_stale_after,
						   "Age from which cached data is stale (served, refreshed in the background).",
						   NULL, "30 days", PGC_USERSET, 0,
						   bc_stale_after_check, bc_stale_after_assign);
	bc_define_interval_guc(&bc_expire_after,
						   "Age from which cached data is expired (refreshed on demand before serving).",
						   "Must be greater than brickcat.stale_after.",
						   "60 days", PGC_USERSET, 0,
						   bc_expire_after_check, bc_expire_after_assign);
}
