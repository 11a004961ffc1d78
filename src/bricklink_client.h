/*-------------------------------------------------------------------------
 *
 * bricklink_client.h
 *	  The BrickLink API client: libcurl multi transfers, at most
 *	  brickcat.max_concurrency in flight, each signed with OAuth 1.0a.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_BRICKLINK_CLIENT_H
#define BC_BRICKLINK_CLIENT_H

#include "worker.h"

/* Most transfers ever in flight (brickcat.max_concurrency's maximum). */
#define BC_CLIENT_MAX_SLOTS 16

/* The result of one finished transfer. */
typedef struct BcCallResult
{
	BcJob		job;			/* the job the call was made for */
	TimestampTz started_at;
	int64		duration_us;
	int			http_status;	/* 0: no HTTP answer */
	int			retry_after_s;	/* Retry-After seconds, -1 when absent */
	bool		transport_error;	/* no complete answer (see outcome) */
	BcOutcome	transport_outcome;	/* timeout, network_error or bad_response */
	const char *body;			/* valid until the next bc_client_* call */
	size_t		body_len;
	char		error[256];		/* transport error text, no secrets */
} BcCallResult;

/* settings */
extern char *bc_api_base_url;
extern char *bc_consumer_key;
extern char *bc_consumer_secret;
extern char *bc_token_value;
extern char *bc_token_secret;
extern BcIntervalGuc bc_request_timeout;
extern BcIntervalGuc bc_connect_timeout;
extern int	bc_max_response_bytes;

extern void bc_client_init(void);
extern void bc_client_start(void);
extern void bc_client_shutdown(void);
extern int	bc_client_in_flight(void);
extern int	bc_client_free_slots(void);
extern bool bc_client_send(const BcJob *job, TimestampTz started_at, char **err);
extern void bc_client_wait(int timeout_ms);
extern bool bc_client_next_result(BcCallResult *res);
extern void bc_client_release(void);
extern void bc_client_raise(const char *target, BcPriority prio);
extern void bc_client_abort_all(BcJob *jobs, int *njobs);
extern char *bc_client_build_path(const BcJob *job, char **query);
extern char *bc_client_redact(const char *text);

#endif							/* BC_BRICKLINK_CLIENT_H */
