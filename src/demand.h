/*-------------------------------------------------------------------------
 *
 * demand.h
 *	  Read demand: which items readers ask for, recorded cheaply on every
 *	  read and decayed over time, so that sweeps refresh read items first.
 *
 * bc_demand_record() only adds one to a counter in a backend-local hash
 * table (no I/O, no locks, no system call, no allocation once an item has
 * been seen).  The counts leave the backend with the first read of a
 * statement that starts brickcat.demand_flush_interval after the last
 * attempt, when the table fills up (16,384 items), and when the backend
 * exits.  Times are statement start times, so a long statement (a loop
 * calling get_item) passes its counts on only when its table fills.
 *
 * With brickcat preloaded and its worker running in this database, the
 * counts are handed to the worker through a shared table (one lock, no
 * write: reads in READ ONLY transactions count too).  The worker merges
 * them in its own table and writes them once its oldest unwritten counts
 * are brickcat.demand_write_interval old (or its table fills), so that an
 * item read many times costs one row update per interval.  A reading
 * backend never writes then: when the shared table is full (the worker is
 * behind), its counts wait in the backend until the next interval, and
 * reads of new items that find the backend's table full as well are not
 * counted, only counted as dropped (brickcat.demand_dropped()).
 *
 * Otherwise (no worker here, interval 0, brickcat.record_demand()) the
 * backend writes its counts itself.  Either way the write is one multi-row
 * upsert that applies exponential decay:
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
 *	  installed in this database (the counts wait for the next interval; a
 *	  full table stops taking new items until then);
 *	- it runs in a subtransaction as the owner of brickcat.item_demand (so a
 *	  brickcat_reader's read can record demand), with keys sorted (no
 *	  deadlocks between flushing backends) and lock_timeout at most 50 ms;
 *	  any error but a query cancel is swallowed, logged at DEBUG1, and the
 *	  counts are kept for the next attempt.
 * A backend's own flush becomes part of the reader's transaction: if that
 * transaction rolls back, the flushed counts are lost, which is acceptable
 * for a popularity signal (counts handed to the worker are not).  Counts
 * still in the worker or the shared table when the server stops are lost
 * (at most one write interval's worth), and so are counts of a backend that
 * exits without the worker taking them.
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
extern TimestampTz bc_demand_worker_next_write(void);

/* Reads not counted because every table that could hold them was full. */
extern int64 bc_demand_dropped_count(void);

/* Settings brickcat.demand_half_life, demand_threshold, demand_flush_interval. */
extern void bc_demand_init(void);

/* The shared table of pending counts, asked for and attached to by shmem.c. */
extern void bc_demand_shmem_request(void);
extern void bc_demand_shmem_attach(void);

#endif							/* BC_DEMAND_H */
