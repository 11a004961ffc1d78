/*-------------------------------------------------------------------------
 *
 * ratelimit.h
 *	  The general-purpose transactional rate limiter (token bucket and fixed
 *	  window over tables) and the SPI helper it shares with the quota budget.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_RATELIMIT_H
#define BC_RATELIMIT_H

#include "brickcat.h"

#include "executor/spi.h"

/*
 * bc_spi_plan returns the kept SPI plan in *slot, preparing it on first use
 * in this backend.  The caller must be SPI-connected.
 */
extern SPIPlanPtr bc_spi_plan(SPIPlanPtr *slot, const char *sql, int nargs,
							  Oid *argtypes);

/* Interval datum of a span in microseconds. */
extern Datum bc_usec_interval_datum(int64 usec);

#endif							/* BC_RATELIMIT_H */
