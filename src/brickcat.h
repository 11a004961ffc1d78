/*-------------------------------------------------------------------------
 *
 * brickcat.h
 *	  Declarations shared by every brickcat module: module entry points,
 *	  the test clock and the interval-setting helper.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BRICKCAT_H
#define BRICKCAT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/guc.h"

/*
 * BC_EXTENSION_VERSION, the version of the extension's SQL objects this
 * library works with (the worker waits for it), is brickcat.control's
 * default_version, passed in by the Makefile.
 */
#ifndef BC_EXTENSION_VERSION
#error "BC_EXTENSION_VERSION must be defined (the Makefile takes it from brickcat.control)"
#endif

/* PostgreSQL 15's headers do not declare the module entry point. */
extern void _PG_init(void);

/* True when the library was loaded from shared_preload_libraries. */
extern bool bc_preloaded;

/* Name of the database the background worker connects to. */
extern char *bc_database;

/*
 * Interval-valued settings are strings ("30 days", "10s", "250ms") parsed with
 * PostgreSQL's own interval parser and kept as microseconds.
 */
typedef struct BcIntervalGuc
{
	const char *name;			/* full setting name, e.g. brickcat.stale_after */
	char	   *text;			/* the GUC's string variable */
	int64		usec;			/* parsed value, maintained by the assign hook */
	int64		min_usec;		/* smallest accepted value (inclusive) */
	int64		max_usec;		/* largest accepted value (inclusive) */
	/* optional extra validation; sets GUC_check_errdetail and returns false */
	bool		(*cross_check) (int64 usec, GucSource source);
} BcIntervalGuc;

/*
 * BC_INTERVAL_GUC_HOOKS(var) defines var_check and var_assign, the hooks that
 * keep var.usec in step with var.text; use it at file scope next to var.
 */
#define BC_INTERVAL_GUC_HOOKS(var) \
static bool \
var##_check(char **newval, void **extra, GucSource source) \
{ \
	return bc_interval_check(&(var), newval, extra, source); \
} \
static void \
var##_assign(const char *newval, void *extra) \
{ \
	bc_interval_assign(&(var), extra); \
}

extern bool bc_interval_check(BcIntervalGuc *guc, char **newval, void **extra,
							  GucSource source);
extern void bc_interval_assign(BcIntervalGuc *guc, void *extra);
extern void bc_define_interval_guc(BcIntervalGuc *guc, const char *short_desc,
								   const char *long_desc, const char *boot_value,
								   GucContext context, int flags,
								   GucStringCheckHook check_hook,
								   GucStringAssignHook assign_hook);
extern bool bc_parse_interval_usec(const char *text, int64 *usec);
extern char *bc_format_usec(int64 usec);

/* Test clock: the real clock shifted by brickcat.clock_offset. */
extern BcIntervalGuc bc_clock_offset;
extern TimestampTz bc_now(void);
extern TimestampTz bc_statement_now(void);

/*
 * subxact.c: run a step in an internal subtransaction, kept when it returns
 * true, rolled back when it returns false or raises (the error is returned).
 */
typedef bool (*BcSubxactStep) (void *arg);
extern bool bc_subxact_run(BcSubxactStep step, void *arg, ErrorData **error);

/* Module initialisers called from _PG_init. */
extern void bc_guc_init(void);
extern void bc_freshness_init(void);
extern void bc_read_init(void);
extern void bc_shmem_init(void);
extern void bc_sweep_init(void);

#endif							/* BRICKCAT_H */
