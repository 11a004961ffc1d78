/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The brickcat background worker: fetch jobs, the queue, the writer, the
 *	  retry policy and the shared circuit breaker, and their settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BC_WORKER_H
#define BC_WORKER_H

#include "brickcat.h"
#include "executor/spi.h"

#include "shmem.h"

/*
 * json-c's typedef json_object collides with PostgreSQL's SQL function
 * json_object() (utils/builtins.h): brickcat's C code calls json-c's type
 * bc_json_object_t instead.
 */
#define json_object bc_json_object_t
#include "json_map.h"
#undef json_object

/* Most answers the worker stores in one transaction. */
#define BC_WORKER_STORE_MAX		80

/* Longest item number accepted (characters, as brickcat.item checks). */
#define BC_ITEM_NO_MAX_CHARS	64
/* Bytes an item number may take in UTF-8 (4 per character), plus NUL. */
#define BC_ITEM_NO_BUF			(BC_ITEM_NO_MAX_CHARS * 4 + 1)
#define BC_ITEM_TYPE_BUF		16

/* What a job fetches; order matches the SQL enum brickcat.job_kind. */
typedef enum BcJobKind
{
	BC_JOB_ITEM = 0,
	BC_JOB_COLORS,
	BC_JOB_PRICE,
	BC_JOB_COLOR_LIST,
	BC_JOB_CATEGORY_LIST,
	BC_JOB_KIND_COUNT
} BcJobKind;

/* One fetch job as the worker handles it (a row of brickcat.fetch_queue). */
typedef struct BcJob
{
	int64		job_id;
	BcJobKind	kind;
	BcPriority	priority;
	int			attempt;		/* attempts including the current one */
	int64		call_id;		/* brickcat.api_call row of this attempt */
	TimestampTz logged_at;		/* when that row was written (its started_at) */
	int			color_id;		/* price only */
	bool		sold;			/* price only: guide_type sold (else stock) */
	char		condition;		/* price only: 'N' or 'U' */
	bool		not_in_negative_cache;	/* the claim saw no not_found row */
	char		item_type[BC_ITEM_TYPE_BUF];	/* item, colors, price */
	char		item_no[BC_ITEM_NO_BUF];
	char		target[BC_TARGET_LEN];
} BcJob;

/*
 * The calls answered OK whose log rows and jobs are finished together, with
 * the data of the answers when it holds items (writer.c).
 */
typedef struct BcWriterFinish
{
	int			n;
	int64		call_ids[BC_WORKER_STORE_MAX];
	int64		job_ids[BC_WORKER_STORE_MAX];
	TimestampTz sent_at[BC_WORKER_STORE_MAX];	/* started_at to record */
	int64		durations[BC_WORKER_STORE_MAX];
	int64		bytes[BC_WORKER_STORE_MAX];
	int			http_status[BC_WORKER_STORE_MAX];	/* 0: NULL */
	int			meta_codes[BC_WORKER_STORE_MAX];	/* 0: NULL */
	/* set when the item statement finished them too: */
	bool		done;
	int64		jobs_done;		/* job rows it updated */
	int64		calls_done;		/* log rows it updated */
} BcWriterFinish;

/* settings (worker.c) */
extern int	bc_max_concurrency;
extern BcIntervalGuc bc_not_found_ttl;
extern BcIntervalGuc bc_call_log_retention;
extern BcIntervalGuc bc_log_min_upstream_duration;
extern BcIntervalGuc bc_lease_duration;
extern char *bc_currency;

/* settings (breaker.c) */
extern BcIntervalGuc bc_retry_base;
extern BcIntervalGuc bc_retry_max_delay;
extern int	bc_retry_max_attempts;
extern int	bc_breaker_failure_threshold;
extern BcIntervalGuc bc_breaker_open_duration;

/* worker.c */
extern void bc_worker_init(void);
extern const char *bc_worker_error_code(BcOutcome o);
extern PGDLLEXPORT void bc_worker_main(Datum arg);

/* queue.c: targets and job rows */
extern const char *bc_job_kind_name(BcJobKind kind);
extern const char *bc_job_priority_name(BcPriority p);
extern bool bc_job_parse_target(const char *target, BcJob *job);
extern void bc_job_make_target(BcJob *job);
extern bool bc_job_parse_priority(const char *name, BcPriority *p);
extern void bc_queue_prepare(void);
extern int64 bc_queue_upsert(const BcJob *job, bool *is_new);
extern int	bc_queue_claim(BcJob *jobs, int max, BcPriority max_prio, TimestampTz now);
extern void bc_queue_unclaim(const BcJob *job, TimestampTz not_before,
							 const char *reason);
extern void bc_queue_finish(const BcJob *job, bool done, const char *outcome,
							const char *error, TimestampTz now);
extern void bc_queue_retry(const BcJob *job, TimestampTz not_before,
						   const char *outcome, const char *error);
extern int	bc_queue_reclaim_leases(TimestampTz now, bool all);
extern TimestampTz bc_queue_next_due(void);
extern bool bc_queue_not_found_cached(const char *target, TimestampTz now);
extern void bc_queue_prune(TimestampTz now);

/* writer.c: results into the catalog, the per-call log */
extern int64 bc_writer_call_begin(const BcJob *job, TimestampTz started_at);
extern void bc_writer_call_begin_many(BcJob *jobs, int n, TimestampTz started_at);
extern int	bc_writer_execute_by_key(SPIPlanPtr plan, Datum *values, const char *nulls);
extern void bc_writer_finish_ok_many(BcWriterFinish *fin, TimestampTz now);
extern void bc_writer_finish_check(const BcWriterFinish *fin);
extern void bc_writer_call_end(int64 call_id, TimestampTz sent_at, int64 duration_us,
							   int http_status, int meta_code, BcOutcome outcome,
							   int64 bytes, const char *error);
extern void bc_writer_calls_interrupted(void);
extern void bc_writer_call_unsent(int64 call_id);
extern bool bc_writer_store_many(const BcJob *const *jobs, bc_json_object_t *const *datas,
								 int n, TimestampTz now, BcWriterFinish *fin, int *failed,
								 char **err);
extern bool bc_writer_store(const BcJob *job, bc_json_object_t *data, TimestampTz now,
							char **err);
extern void bc_writer_store_failure(const BcJob *job, const char *error,
									TimestampTz now);
extern void bc_writer_store_not_found(const BcJob *job, TimestampTz now);

/* breaker.c: retry policy, circuit breaker, credential stop */
extern void bc_breaker_init(void);
extern int	bc_breaker_admit(TimestampTz now, TimestampTz *wait_until);
extern void bc_breaker_release_probe(void);
extern void bc_breaker_record(BcOutcome outcome, bool retryable);
extern TimestampTz bc_retry_backoff(int attempt, TimestampTz now);
extern void bc_auth_failed(const char *meta_message);
extern bool bc_auth_is_failed(void);
extern void bc_auth_reset(void);

#endif							/* BC_WORKER_H */
