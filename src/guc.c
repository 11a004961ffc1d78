/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Interval-valued settings and the brickcat test clock.
 *
 * Durations are configured the way people write them ("30 days", "10s",
 * "250 ms", ISO 8601 "P30D") and parsed with PostgreSQL's own interval
 * parser, which reports problems by return code, so a check hook can reject a
 * bad value without throwing.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "common/int.h"
#include "utils/datetime.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/* Longest interval text accepted; far beyond anything sensible. */
#define BC_INTERVAL_TEXT_MAX 63

char	   *bc_database = NULL;

BcIntervalGuc bc_clock_offset = {"brickcat.clock_offset", NULL, 0,
	-INT64CONST(3650) * USECS_PER_DAY, INT64CONST(3650) * USECS_PER_DAY, NULL};

/*
 * bc_parse_interval_usec parses an interval literal into microseconds,
 * returning false instead of raising when it is not a valid interval.
 */
bool
bc_parse_interval_usec(const char *text, int64 *usec)
{
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_itm_in itm_in;
	Interval	span;
	int64		days;
	int64		result;
	char		copy[BC_INTERVAL_TEXT_MAX + 1];

	if (text == NULL || strlen(text) > BC_INTERVAL_TEXT_MAX)
		return false;
	strlcpy(copy, text, sizeof(copy));

	memset(&itm_in, 0, sizeof(itm_in));
	if (ParseDateTime(copy, workbuf, sizeof(workbuf), field, ftype,
					  MAXDATEFIELDS, &nf) != 0 ||
		DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE,
					   &dtype, &itm_in) != 0)
	{
		memset(&itm_in, 0, sizeof(itm_in));
		strlcpy(copy, text, sizeof(copy));
		if (DecodeISO8601Interval(copy, &dtype, &itm_in) != 0)
			return false;
	}
	if (dtype != DTK_DELTA || itmin2interval(&itm_in, &span) != 0)
		return false;

	/* A month counts as 30 days, as in interval comparison. */
	if (pg_mul_s64_overflow((int64) span.month, DAYS_PER_MONTH, &days) ||
		pg_add_s64_overflow(days, (int64) span.day, &days) ||
		pg_mul_s64_overflow(days, USECS_PER_DAY, &result) ||
		pg_add_s64_overflow(result, span.time, &result))
		return false;
	*usec = result;
	return true;
}

/*
 * bc_format_usec renders microseconds as interval text such as "30 days",
 * "00:00:10" or "2 days 01:30:00", whatever the session's IntervalStyle.
 */
char *
bc_format_usec(int64 usec)
{
	StringInfoData buf;
	uint64		u;
	int64		days;
	int64		rest;

	initStringInfo(&buf);
	if (usec < 0)
		appendStringInfoChar(&buf, '-');
	u = (usec < 0) ? -(uint64) usec : (uint64) usec;
	days = u / USECS_PER_DAY;
	rest = u % USECS_PER_DAY;
	if (days > 0)
		appendStringInfo(&buf, "%lld day%s", (long long) days, days == 1 ? "" : "s");
	if (rest > 0 || days == 0)
	{
		if (days > 0)
			appendStringInfoChar(&buf, ' ');
		appendStringInfo(&buf, "%02lld:%02lld:%02lld",
						 (long long) (rest / USECS_PER_HOUR),
						 (long long) (rest % USECS_PER_HOUR / USECS_PER_MINUTE),
						 (long long) (rest % USECS_PER_MINUTE / USECS_PER_SEC));
		if (rest % USECS_PER_SEC)
			appendStringInfo(&buf, ".%06lld", (long long) (rest % USECS_PER_SEC));
	}
	return buf.data;
}

/*
 * bc_interval_check validates a new value for an interval setting: it must
 * parse, lie within the setting's range and pass its cross-check.  The parsed
 * microseconds travel to the assign hook in *extra.
 */
bool
bc_interval_check(BcIntervalGuc *guc, char **newval, void **extra,
				  GucSource source)
{
	int64		usec;
	int64	   *parsed;

	if (*newval == NULL)
		return true;
	if (!bc_parse_interval_usec(*newval, &usec))
	{
		GUC_check_errdetail("\"%s\" is not a valid interval.", *newval);
		GUC_check_errhint("Use an interval such as '30 days', '10s' or '250ms'.");
		return false;
	}
	if (usec < guc->min_usec || usec > guc->max_usec)
	{
		GUC_check_errdetail("%s must be between %s and %s.", guc->name,
							bc_format_usec(guc->min_usec),
							bc_format_usec(guc->max_usec));
		return false;
	}
	if (guc->cross_check && !guc->cross_check(usec, source))
		return false;

	/* GUC frees extra with free() in PostgreSQL 15. */
	parsed = malloc(sizeof(int64));
	if (parsed == NULL)
		return false;
	*parsed = usec;
	*extra = parsed;
	return true;
}

/*
 * bc_interval_assign stores the microseconds the check hook parsed.
 */
void
bc_interval_assign(BcIntervalGuc *guc, void *extra)
{
	if (extra != NULL)
		guc->usec = *(int64 *) extra;
}

/*
 * bc_define_interval_guc registers an interval setting backed by guc.
 */
void
bc_define_interval_guc(BcIntervalGuc *guc, const char *short_desc,
					   const char *long_desc, const char *boot_value,
					   GucContext context, int flags,
					   GucStringCheckHook check_hook,
					   GucStringAssignHook assign_hook)
{
	if (!bc_parse_interval_usec(boot_value, &guc->usec))
		elog(ERROR, "invalid boot value for %s", guc->name);
	DefineCustomStringVariable(guc->name, short_desc, long_desc, &guc->text,
							   boot_value, context, flags,
							   check_hook, assign_hook, NULL);
}

BC_INTERVAL_GUC_HOOKS(bc_clock_offset)

/*
 * bc_now returns the current time as brickcat sees it: the wall clock plus
 * brickcat.clock_offset, which simulations use to run days in minutes.
 */
TimestampTz
bc_now(void)
{
	return GetCurrentTimestamp() + bc_clock_offset.usec;
}

/*
 * bc_statement_now returns the transaction start time shifted by the test
 * clock offset: brickcat.now(), the same as now() when no offset is set.
 */
TimestampTz
bc_statement_now(void)
{
	return GetCurrentTransactionStartTimestamp() + bc_clock_offset.usec;
}

PG_FUNCTION_INFO_V1(bc_now_sql);

/*
 * bc_now_sql implements brickcat.now(): now() shifted by the test clock.
 */
Datum
bc_now_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(bc_statement_now());
}

/*
 * bc_guc_init registers the settings that belong to no single module.
 */
void
bc_guc_init(void)
{
	/*
	 * PostgreSQL refuses (FATAL) to create a PGC_POSTMASTER setting in a
	 * library loaded after startup; without preloading there is no worker
	 * and the setting is only informative, so it is reloadable there.
	 */
	DefineCustomStringVariable("brickcat.database",
							   "Database the brickcat background worker connects to.",
							   "The worker serves the brickcat extension installed in this database.",
							   &bc_database, "postgres",
							   bc_preloaded ? PGC_POSTMASTER : PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	bc_define_interval_guc(&bc_clock_offset,
						   "Shifts brickcat's clock (testing and simulation only).",
						   "Added to the wall clock wherever brickcat reads the time; "
						   "lets a simulation run days in minutes.  Superuser only.",
						   "0", PGC_SUSET, GUC_NOT_IN_SAMPLE,
						   bc_clock_offset_check, bc_clock_offset_assign);
}
