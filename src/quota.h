/*-------------------------------------------------------------------------
 *
 * quota.h
 *	  The BrickLink call budget: a sliding 24-hour window over a ledger of
 *	  debits, class shares, a burst limit and the upstream-throttle pause.
 *
 * Both functions must be called inside a transaction (the worker's own,
 * which it commits BEFORE sending the call).  They open their own nested SPI
 * connection, so the caller may or may not be SPI-connected.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_QUOTA_H
#define BC_QUOTA_H

#include "shmem.h"				/* BcPriority */

extern int	bc_quota_daily;
extern int	bc_quota_max_per_second;
extern double bc_quota_background_share;
extern double bc_quota_on_demand_share;

/*
 * bc_quota_try_acquire debits ncalls for class prio in the caller's
 * transaction if the sliding 24-hour window, the class share (background
 * 0.6, on_demand 0.9, interactive 1.0 of brickcat.daily_quota) and the burst
 * limit (brickcat.max_calls_per_second) allow it; otherwise debits nothing,
 * sets *retry_at to the earliest time it could succeed and *reason to a short
 * static code ("THROTTLED", "QUOTA_EXHAUSTED", "CLASS_SHARE", "BURST"), and
 * returns false.  Never raises for quota reasons.
 */
extern bool bc_quota_try_acquire(BcPriority prio, int ncalls, const char *target,
								 TimestampTz *retry_at, const char **reason);

/*
 * bc_quota_note_throttle records an upstream throttling event (429, gateway
 * page) and pauses the whole client until `until` (at most 24 hours ahead):
 * bc_shared->throttled_until, the counter upstream[BC_UP_THROTTLES] and a row
 * in brickcat.quota_throttle.
 */
/*
 * bc_quota_try_acquire_many debits one call of class prio for each of the
 * n targets (a ledger row each) in the caller's transaction, all or none:
 * granted only when the n calls fit the window, the class share and the
 * burst limit together.
 */
extern bool bc_quota_try_acquire_many(BcPriority prio, int n, const char *const *targets,
									  TimestampTz *retry_at, const char **reason);

/*
 * bc_quota_refund gives back, in the caller's transaction, the debits of
 * calls to the n targets that were debited at or after since and never
 * sent (the newest one-call ledger row of each).
 */
extern void bc_quota_refund(int n, const char *const *targets, TimestampTz since);

extern void bc_quota_note_throttle(TimestampTz until);

/* Settings brickcat.daily_quota, max_calls_per_second, background_share, on_demand_share. */
extern void bc_quota_init(void);

#endif							/* BC_QUOTA_H */
