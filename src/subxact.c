/*-------------------------------------------------------------------------
 *
 * subxact.c
 *	  Guarded steps: work run in an internal subtransaction whose failure
 *	  becomes a value instead of aborting the caller's transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

/*
 * bc_subxact_run runs step(arg) in an internal subtransaction that is kept
 * when the step returns true and rolled back when it returns false or raises;
 * a raised error is caught, copied into the caller's memory context and
 * returned in *error (NULL otherwise).  Rolling back also restores settings,
 * the user id and the security context the step changed.
 */
bool
bc_subxact_run(BcSubxactStep step, void *arg, ErrorData **error)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = false;

	*error = NULL;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		ok = step(arg);
		if (ok)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		*error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return ok;
}
