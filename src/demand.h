/*-------------------------------------------------------------------------
 *
 * demand.h
 *	  Read demand: which items readers ask for, recorded cheaply on every
 *	  read and decayed over time, so that sweeps refresh read items first.
 *
 * bc_demand_record() only adds one to a counter in a backend-local hash
 * table (no I/O, no locks, no allocation once an item has been seen).  The
 * counts leave the backend at most once per brickcat.demand_flush_interval,
 * with the first read after the interval.  With brickcat preloaded and its
 * worker running in this database, they are handed to the worker through a
 * shared table (one lock, no write: reads in READ ONLY transactions count
 * too) and the worker writes them, merged across backends; otherwise, when
 * the shared table is full, with an interval of 0, and for
 * brickcat.record_demand(), the backend writes them itself.  Either way the
 * write is one multi-row upsert that applies exponential decay:
 *
 *		score = score * 2^(-(now - updated_at) / brickcat.demand_half_life) + n
 *
 * and stores demanded_until, the instant the decayed score falls below
 * brickcat.demand_threshold, which sweeps check by primary key.  The column
 * is not indexed, so the flush's updates are HOT (see 65_sweep.sql).
 *
 * A backend's own flush never makes a read fail or wait long:
 *	- it is skipped silently on a hot standby, in a read-only transaction,
 *	  in parallel mode, outside a transaction and when the extension is not
 *	  installed in this database (the counts wait for a later read; a full
 *	  table stops taking new items until then);
 *	- it runs in a subtransaction as the owner of brickcat.item_demand (so a
 *	  brickcat_reader's read can record demand), with keys sorted (no
 *	  deadlocks between flushing backends) and lock_timeout at most 50 ms;
 *	  any error but a query cancel is swallowed, logged at DEBUG1, and the
 *	  counts are kept for the next attempt.
 * A backend's own flush becomes part of the reader's transaction: if that
 * transaction rolls back, the flushed counts are lost, which is acceptable
 * for a popularity signal (counts handed to the worker are not).  Counts of
 * a backend that exits before its next flush are lost too (at most one
 * flush interval's worth), and so are counts still in the shared table when
 * the server stops.
 *
 * Callers (the read API) may call bc_demand_record() inside their own SPI
 * connection, but not while they iterate over an SPI result they still
 * need: a flush runs its own SPI connection and subtransaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_DEMAND_H
#define BC_DEMAND_H

#include "brickcat.h"

extern BcIntervalGuc bc_demand_half_life;
extern double bc_demand_threshold;

/* Counts one read of an item; flushes when the flush interval has passed. */
extern void bc_demand_record(const char *item_type, const char *item_no);

/*
 * Flushes the backend's counts now if writing is possible here; returns the
 * number of items written (0 when skipped or nothing was pending).
 */
extern int	bc_demand_flush(void);

/*
 * The worker's part (brickcat preloaded): whether backends handed counts
 * over, and writing them in the worker's open transaction.
 */
extern bool bc_demand_worker_pending(void);
extern int	bc_demand_worker_flush(void);

/* Settings brickcat.demand_half_life, demand_threshold, demand_flush_interval. */
extern void bc_demand_init(void);

#endif							/* BC_DEMAND_H */
