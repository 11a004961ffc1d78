/*-------------------------------------------------------------------------
 *
 * ratelimit.c
 *	  brickcat.rate_limit(): a transactional rate limiter over tables.
 *
 * A limit (brickcat.rate_limit_def) is a token bucket or a fixed window,
 * split into shards that each own an exact share of the rate, the capacity
 * and the reservation bound, so the shards together never grant more than
 * the limit.  Each (limit, key, shard) has a row in brickcat.rate_limit_state
 * that callers lock with FOR UPDATE; the clock is read only after the lock is
 * held, so the order in which debits commit is the order of their times.  A
 * debit is an UPDATE in the caller's transaction: a rollback returns it.
 *
 * Token arithmetic is exact: a bucket holds whole tokens plus a fraction of
 * the next one counted in units of 1/period_us, and a refill after dt
 * microseconds adds rate * dt of those units, so no rounding ever happens and
 * a million calls drift by nothing.  Fixed windows start at anchor + k *
 * period; unused tokens roll over into the next window up to the capacity.
 *
 * With three or more shards a call looks at two random shards and takes from
 * the fuller one (power of two choices), combining both when neither holds
 * enough; a count larger than two shards can ever hold uses all shards.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "ratelimit.h"

#ifndef HAVE_INT128
#error "brickcat's rate limiter needs a 128-bit integer type"
#endif

/* Longest wait ever reported (about 3,000 years): beyond it, "never". */
#define BC_RL_MAX_WAIT	INT64CONST(100000000000000000)

/* A limit definition as the hot path needs it. */
typedef struct BcRlDef
{
	const char *name;
	bool		token_bucket;
	int64		rate;			/* tokens per period, whole limit */
	int64		period;			/* microseconds */
	int64		capacity;
	int			shards;
	int64		max_reserved;
	int64		anchor;			/* fixed windows start at anchor + k * period */
} BcRlDef;

/* One shard of one key: its share of the limit and its balance. */
typedef struct BcRlShard
{
	int			shard;
	int64		rate;
	int64		cap;
	int64		maxres;
	int64		tokens;			/* whole tokens; negative when reserved ahead */
	int64		frac;			/* token_bucket: 1/period units of the next token */
	TimestampTz stamp;			/* last refill / start of the current window */
	ItemPointerData ctid;
	int64		take;			/* debited by this call */
} BcRlShard;

/*
 * Definitions are cached per backend.  A statement trigger on
 * brickcat.rate_limit_def sends a relcache invalidation for the table at
 * commit, and the callback below then ages every cached entry out.
 */
#define BC_RL_NAME_KEYLEN 256

typedef struct BcRlCacheEntry
{
	char		name[BC_RL_NAME_KEYLEN];	/* hash key */
	uint64		generation;
	BcRlDef		def;
} BcRlCacheEntry;

static HTAB *bc_rl_cache = NULL;
static uint64 bc_rl_cache_generation = 1;
static Oid	bc_rl_def_relid = InvalidOid;

static SPIPlanPtr bc_rl_def_plan = NULL;

static void bc_rl_cache_store(const BcRlDef *def);
static SPIPlanPtr bc_rl_lock_plan = NULL;
static SPIPlanPtr bc_rl_read_plan = NULL;
static SPIPlanPtr bc_rl_insert_plan = NULL;
static SPIPlanPtr bc_rl_update_plan = NULL;

#define BC_RL_STATE_SELECT \
	"SELECT shard, tokens, frac, stamp, ctid FROM brickcat.rate_limit_state " \
	"WHERE name = $1 AND key = $2 AND shard = ANY ($3) ORDER BY shard"

/*
 * bc_spi_plan returns the kept SPI plan in *slot, preparing it on first use
 * in this backend.
 */
SPIPlanPtr
bc_spi_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

		if (plan == NULL)
			elog(ERROR, "brickcat: SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "brickcat: SPI_keepplan failed");
		*slot = plan;
	}
	return *slot;
}

/*
 * bc_usec_interval_datum returns a span in microseconds as an interval.
 */
Datum
bc_usec_interval_datum(int64 usec)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = usec;
	return IntervalPGetDatum(iv);
}

/*
 * bc_rl_run executes a kept plan and checks that it did what was expected.
 */
static void
bc_rl_run(SPIPlanPtr plan, Datum *values, int expected)
{
	int			rc = SPI_execute_plan(plan, values, NULL, false, 0);

	if (rc != expected)
		elog(ERROR, "brickcat: rate limiter query failed: %s",
			 SPI_result_code_string(rc));
}

/*
 * bc_rl_col returns column col of result row row as a Datum (never NULL).
 */
static Datum
bc_rl_col(uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	if (isnull)
		elog(ERROR, "brickcat: unexpected NULL in rate limiter state");
	return d;
}

/*
 * bc_rl_share returns shard i's share of total split over n shards: the
 * remainder goes to the first shards, so the shares add up to total.
 */
static int64
bc_rl_share(int64 total, int n, int i)
{
	return total / n + (i < total % n ? 1 : 0);
}

/*
 * bc_rl_window_start returns the start of the fixed window containing t.
 */
static TimestampTz
bc_rl_window_start(const BcRlDef *def, TimestampTz t)
{
	int64		off = t - def->anchor;
	int64		k = off / def->period;

	if (off < 0 && off % def->period != 0)
		k--;
	return def->anchor + k * def->period;
}

/*
 * bc_rl_refill brings a shard's balance up to time now: exact continuous
 * refill for a token bucket, rollover into the current window for a fixed
 * window.  A clock that went backwards refills nothing.
 */
static void
bc_rl_refill(const BcRlDef *def, BcRlShard *s, TimestampTz now)
{
	if (s->tokens >= s->cap)
	{
		/* full, or the capacity was lowered */
		s->tokens = s->cap;
		s->frac = 0;
	}
	if (def->token_bucket)
	{
		if (now <= s->stamp)
			return;
		if (s->tokens < s->cap)
		{
			int128		add = (int128) s->rate * (now - s->stamp) + s->frac;
			int128		whole = add / def->period;

			if (whole >= s->cap - s->tokens)
			{
				s->tokens = s->cap;
				s->frac = 0;
			}
			else
			{
				s->tokens += (int64) whole;
				s->frac = (int64) (add % def->period);
			}
		}
		s->stamp = now;
	}
	else
	{
		TimestampTz w = bc_rl_window_start(def, now);

		if (w <= s->stamp)
			return;
		if (s->tokens < s->cap)
		{
			int64		windows = Max((w - s->stamp) / def->period, 1);
			int64		room = s->cap - s->tokens;

			if (windows >= (room + s->rate - 1) / s->rate)
				s->tokens = s->cap;
			else
				s->tokens += windows * s->rate;
		}
		s->stamp = w;
	}
}

/*
 * bc_rl_sum_at returns the whole tokens the shards hold together at time t.
 */
static int64
bc_rl_sum_at(const BcRlDef *def, const BcRlShard *s, int n, TimestampTz t)
{
	int64		sum = 0;

	for (int i = 0; i < n; i++)
	{
		BcRlShard	copy = s[i];

		bc_rl_refill(def, &copy, t);
		sum += copy.tokens;
	}
	return sum;
}

/*
 * bc_rl_full_wait returns how long a shard refilled up to now takes to be
 * full again.
 */
static int64
bc_rl_full_wait(const BcRlDef *def, const BcRlShard *s, TimestampTz now)
{
	int128		wait;

	if (s->tokens >= s->cap)
		return 0;
	if (def->token_bucket)
		wait = ((int128) (s->cap - s->tokens) * def->period - s->frac + s->rate - 1) / s->rate;
	else
	{
		int64		windows = (s->cap - s->tokens + s->rate - 1) / s->rate;

		wait = (int128) s->stamp + (int128) windows * def->period - now;
	}
	return (int64) Min(Max(wait, 0), (int128) BC_RL_MAX_WAIT);
}

/*
 * bc_rl_wait returns the shortest wait after now at which the shards,
 * refilled up to now, hold at least need whole tokens together; the balance
 * only grows with time, so a binary search over the wait finds it exactly.
 */
static int64
bc_rl_wait(const BcRlDef *def, const BcRlShard *s, int n, int64 need,
		   TimestampTz now)
{
	int64		lo = 0;
	int64		hi = 0;

	for (int i = 0; i < n; i++)
		hi = Max(hi, bc_rl_full_wait(def, &s[i], now));
	if (bc_rl_sum_at(def, s, n, now) >= need)
		return 0;
	if (bc_rl_sum_at(def, s, n, now + hi) < need)
		return BC_RL_MAX_WAIT;
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (bc_rl_sum_at(def, s, n, now + mid) >= need)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * bc_rl_load_def reads a limit's definition; an unknown name is an error.
 */
static void
bc_rl_load_def(text *name, BcRlDef *def)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {PointerGetDatum(name)};

	bc_rl_run(bc_spi_plan(&bc_rl_def_plan,
						  "SELECT kind = 'token_bucket', rate, period_us, capacity, shards, "
						  "max_reserved, anchor_us FROM brickcat.rate_limit_def WHERE name = $1",
						  1, types),
			  values, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("rate limit \"%s\" does not exist", text_to_cstring(name)),
				 errhint("Define it with brickcat.define_rate_limit(); brickcat.rate_limit_def lists the limits.")));
	def->name = text_to_cstring(name);
	def->token_bucket = DatumGetBool(bc_rl_col(0, 1));
	def->rate = DatumGetInt32(bc_rl_col(0, 2));
	def->period = DatumGetInt64(bc_rl_col(0, 3));
	def->capacity = DatumGetInt32(bc_rl_col(0, 4));
	def->shards = DatumGetInt32(bc_rl_col(0, 5));
	def->max_reserved = DatumGetInt32(bc_rl_col(0, 6));
	def->anchor = DatumGetInt64(bc_rl_col(0, 7));
	if (def->rate <= 0 || def->period <= 0 || def->capacity <= 0 ||
		def->shards < 1 || def->shards > def->rate || def->shards > def->capacity)
		elog(ERROR, "brickcat: rate limit \"%s\" has an invalid definition", def->name);
	bc_rl_cache_store(def);
}

/*
 * bc_rl_cache_invalidate ages out every cached definition when the relcache
 * entry of brickcat.rate_limit_def (or every entry) is invalidated.
 */
static void
bc_rl_cache_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == bc_rl_def_relid)
		bc_rl_cache_generation++;
}

/*
 * bc_rl_cache_store remembers a definition just read from the table.
 */
static void
bc_rl_cache_store(const BcRlDef *def)
{
	BcRlCacheEntry *e;
	bool		found;

	/* the table is looked up each time: the extension may have been re-created */
	bc_rl_def_relid = get_relname_relid("rate_limit_def", get_namespace_oid("brickcat", false));
	if (strlen(def->name) >= BC_RL_NAME_KEYLEN)
		return;
	if (bc_rl_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = BC_RL_NAME_KEYLEN;
		ctl.entrysize = sizeof(BcRlCacheEntry);
		bc_rl_cache = hash_create("brickcat rate limit definitions", 16, &ctl,
								  HASH_ELEM | HASH_STRINGS);
		CacheRegisterRelcacheCallback(bc_rl_cache_invalidate, (Datum) 0);
	}
	e = hash_search(bc_rl_cache, def->name, HASH_ENTER, &found);
	e->def = *def;
	e->def.name = e->name;
	e->generation = bc_rl_cache_generation;
}

/*
 * bc_rl_get_def returns a limit's definition, from the backend's cache when
 * it is current, otherwise from the table.
 */
static void
bc_rl_get_def(text *name, BcRlDef *def)
{
	if (bc_rl_cache != NULL && VARSIZE_ANY_EXHDR(name) < BC_RL_NAME_KEYLEN)
	{
		char		key[BC_RL_NAME_KEYLEN];
		BcRlCacheEntry *e;

		text_to_cstring_buffer(name, key, sizeof(key));
		e = hash_search(bc_rl_cache, key, HASH_FIND, NULL);
		if (e != NULL && e->generation == bc_rl_cache_generation)
		{
			*def = e->def;
			return;
		}
	}
	bc_rl_load_def(name, def);
}

/*
 * bc_rl_init_shard sets shard i of a key to its share of the limit and the
 * balance of a key never seen: a full bucket, or one window's allowance.
 */
static void
bc_rl_init_shard(const BcRlDef *def, BcRlShard *s, int i, TimestampTz now)
{
	memset(s, 0, sizeof(*s));
	s->shard = i;
	s->rate = bc_rl_share(def->rate, def->shards, i);
	s->cap = bc_rl_share(def->capacity, def->shards, i);
	s->maxres = bc_rl_share(def->max_reserved, def->shards, i);
	s->tokens = def->token_bucket ? s->cap : s->rate;
	s->stamp = def->token_bucket ? now : bc_rl_window_start(def, now);
}

/*
 * bc_rl_shard_array returns the shard numbers of s as an int4[] datum.
 */
static Datum
bc_rl_shard_array(const BcRlShard *s, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(s[i].shard);
	return PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
}

/*
 * bc_rl_create_key inserts the state rows of a key seen for the first time
 * (all its shards, each with its initial balance); rows that a concurrent
 * transaction created first are left alone.
 */
static void
bc_rl_create_key(const BcRlDef *def, text *key, TimestampTz now)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT4ARRAYOID, INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[5];
	Datum	   *tokens = palloc(sizeof(Datum) * def->shards);
	BcRlShard  *all = palloc(sizeof(BcRlShard) * def->shards);

	for (int i = 0; i < def->shards; i++)
	{
		bc_rl_init_shard(def, &all[i], i, now);
		tokens[i] = Int64GetDatum(all[i].tokens);
	}
	values[0] = CStringGetTextDatum(def->name);
	values[1] = PointerGetDatum(key);
	values[2] = bc_rl_shard_array(all, def->shards);
	values[3] = PointerGetDatum(construct_array(tokens, def->shards, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	/* the token bucket starts full at now; a window's stamp is its start */
	values[4] = TimestampTzGetDatum(def->token_bucket ? now : bc_rl_window_start(def, now));
	bc_rl_run(bc_spi_plan(&bc_rl_insert_plan,
						  "INSERT INTO brickcat.rate_limit_state (name, key, shard, tokens, frac, stamp) "
						  "SELECT $1, $2, s, t, 0, $5 FROM unnest($3, $4) AS u(s, t) "
						  "ON CONFLICT DO NOTHING",
						  5, types),
			  values, SPI_OK_INSERT);
}

/*
 * bc_rl_fetch reads (and with lock, locks in shard order) the state rows of
 * the shards in s, which must be sorted by shard.  Returns false when some
 * rows do not exist yet; the shards found are filled in.
 */
static bool
bc_rl_fetch(const BcRlDef *def, text *key, BcRlShard *s, int n, bool lock)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4ARRAYOID};
	Datum		values[3];
	SPIPlanPtr	plan;
	int			j = 0;

	values[0] = CStringGetTextDatum(def->name);
	values[1] = PointerGetDatum(key);
	values[2] = bc_rl_shard_array(s, n);
	if (lock)
		plan = bc_spi_plan(&bc_rl_lock_plan, BC_RL_STATE_SELECT " FOR UPDATE", 3, types);
	else
		plan = bc_spi_plan(&bc_rl_read_plan, BC_RL_STATE_SELECT, 3, types);
	bc_rl_run(plan, values, SPI_OK_SELECT);

	for (uint64 row = 0; row < SPI_processed; row++)
	{
		int			shard = DatumGetInt32(bc_rl_col(row, 1));

		while (j < n && s[j].shard < shard)
			j++;
		if (j == n || s[j].shard != shard)
			continue;
		s[j].tokens = DatumGetInt64(bc_rl_col(row, 2));
		s[j].frac = DatumGetInt64(bc_rl_col(row, 3));
		s[j].stamp = DatumGetTimestampTz(bc_rl_col(row, 4));
		s[j].ctid = *(ItemPointer) DatumGetPointer(bc_rl_col(row, 5));
		if (s[j].frac >= def->period)
			s[j].frac = def->period - 1;	/* period shortened */
	}
	return SPI_processed == (uint64) n;
}

/*
 * bc_rl_candidates picks the shards a call may take from, sorted by shard:
 * all of them when there are at most two or when count exceeds what two
 * shards can hold, otherwise two distinct random shards.
 */
static BcRlShard *
bc_rl_candidates(const BcRlDef *def, int64 count, TimestampTz now, int *n)
{
	BcRlShard  *s = palloc(sizeof(BcRlShard) * def->shards);

	if (def->shards >= 3)
	{
		int			a = (int) pg_prng_uint64_range(&pg_global_prng_state, 0, def->shards - 1);
		int			b = (int) pg_prng_uint64_range(&pg_global_prng_state, 0, def->shards - 2);

		if (b >= a)
			b++;
		bc_rl_init_shard(def, &s[0], Min(a, b), now);
		bc_rl_init_shard(def, &s[1], Max(a, b), now);
		if (count <= s[0].cap + s[1].cap)
		{
			*n = 2;
			return s;
		}
	}
	for (int i = 0; i < def->shards; i++)
		bc_rl_init_shard(def, &s[i], i, now);
	*n = def->shards;
	return s;
}

/*
 * bc_rl_order sorts the indexes of shards by key descending (the fuller
 * first).  Shard counts are small, so insertion sort does.
 */
static void
bc_rl_order(const BcRlShard *s, int n, bool by_headroom, int *order)
{
	for (int i = 0; i < n; i++)
	{
		int			j = i;
		int64		ki = s[i].tokens + (by_headroom ? s[i].maxres : 0);

		while (j > 0 && s[order[j - 1]].tokens + (by_headroom ? s[order[j - 1]].maxres : 0) < ki)
		{
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}

/*
 * bc_rl_debit takes up to *left tokens from the shards in order, never
 * bringing a shard below floor (0, or -maxres when reserving).
 */
static void
bc_rl_debit(BcRlShard *s, int n, const int *order, bool reserve, int64 *left)
{
	for (int k = 0; k < n && *left > 0; k++)
	{
		BcRlShard  *sh = &s[order[k]];
		int64		floor = reserve ? -sh->maxres : 0;
		int64		t = Min(*left, Max(sh->tokens - floor, 0));

		sh->tokens -= t;
		sh->take += t;
		*left -= t;
	}
}

/*
 * bc_rl_take grants count tokens from the refilled shards or says how long
 * to wait; with reserve it may debit tokens not yet there (up to each
 * shard's reservation bound) and *wait then says when the caller may act.
 */
static bool
bc_rl_take(const BcRlDef *def, BcRlShard *s, int n, int64 count, bool reserve,
		   TimestampTz now, int64 *wait)
{
	int		   *order = palloc(sizeof(int) * n);
	int64		avail = 0;
	int64		headroom = 0;
	int64		reservable = 0;
	int64		left = count;

	for (int i = 0; i < n; i++)
	{
		avail += Max(s[i].tokens, 0);
		headroom += Max(s[i].tokens + s[i].maxres, 0);
		reservable += s[i].maxres;
	}

	bc_rl_order(s, n, false, order);
	if (avail >= count)
	{
		bc_rl_debit(s, n, order, false, &left);
		*wait = 0;
		return true;
	}
	if (!reserve)
	{
		*wait = bc_rl_wait(def, s, n, count, now);
		return false;
	}
	if (headroom < count)
	{
		*wait = bc_rl_wait(def, s, n, count - reservable, now);
		return false;
	}

	/* the tokens that exist first, then debts on the shards with most room */
	bc_rl_debit(s, n, order, false, &left);
	bc_rl_order(s, n, true, order);
	bc_rl_debit(s, n, order, true, &left);
	Assert(left == 0);
	*wait = 0;
	for (int i = 0; i < n; i++)
		if (s[i].take > 0)
			*wait = Max(*wait, bc_rl_wait(def, &s[i], 1, 0, now));
	return true;
}

/*
 * bc_rl_store writes a debited shard's new balance.
 */
static void
bc_rl_store(const BcRlShard *s)
{
	Oid			types[4] = {TIDOID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[4];

	values[0] = PointerGetDatum(&s->ctid);
	values[1] = Int64GetDatum(s->tokens);
	values[2] = Int64GetDatum(s->frac);
	values[3] = TimestampTzGetDatum(s->stamp);
	bc_rl_run(bc_spi_plan(&bc_rl_update_plan,
						  "UPDATE brickcat.rate_limit_state SET tokens = $2, frac = $3, stamp = $4 "
						  "WHERE ctid = $1",
						  4, types),
			  values, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "brickcat: rate limit state row vanished while locked");
}

/*
 * bc_rl_require_arg raises the error for a NULL argument.
 */
static void
bc_rl_require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("Leave the argument out to use its default.")));
}

PG_FUNCTION_INFO_V1(bc_rate_limit_sql);

/*
 * bc_rate_limit_sql implements brickcat.rate_limit(name, key, count,
 * reserve): takes count tokens for key in the caller's transaction.
 */
Datum
bc_rate_limit_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *name;
	text	   *key;
	int32		count;
	bool		reserve;
	BcRlDef		def;
	BcRlShard  *s;
	int			n;
	TimestampTz now;
	bool		ok;
	int64		wait;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	bc_rl_require_arg(fcinfo, 0, "rate limit name");
	bc_rl_require_arg(fcinfo, 1, "key");
	bc_rl_require_arg(fcinfo, 2, "count");
	bc_rl_require_arg(fcinfo, 3, "reserve");
	name = PG_GETARG_TEXT_PP(0);
	key = PG_GETARG_TEXT_PP(1);
	count = PG_GETARG_INT32(2);
	reserve = PG_GETARG_BOOL(3);
	if (count <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must be positive, not %d", count),
				 errhint("count is the number of tokens the call takes, usually 1.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	bc_rl_get_def(name, &def);
	if (count > def.capacity)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count %d exceeds the capacity %lld of rate limit \"%s\"",
						count, (long long) def.capacity, def.name),
				 errhint("Such a call could never be granted; raise the capacity with brickcat.define_rate_limit().")));

	s = bc_rl_candidates(&def, count, bc_now(), &n);
	if (!bc_rl_fetch(&def, key, s, n, true))
	{
		/* a new key, or a definition changed since it was cached */
		int			shards = def.shards;

		bc_rl_load_def(name, &def);
		if (def.shards != shards)
			s = bc_rl_candidates(&def, count, bc_now(), &n);
		bc_rl_create_key(&def, key, bc_now());
		if (!bc_rl_fetch(&def, key, s, n, true))
			elog(ERROR, "brickcat: rate limit \"%s\" lost its state rows", def.name);
	}

	/* the clock is read once the rows are locked: debits commit in time order */
	now = bc_now();
	for (int i = 0; i < n; i++)
		bc_rl_refill(&def, &s[i], now);
	ok = bc_rl_take(&def, s, n, count, reserve, now, &wait);
	if (ok)
		for (int i = 0; i < n; i++)
			if (s[i].take > 0)
				bc_rl_store(&s[i]);
	SPI_finish();

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	values[0] = BoolGetDatum(ok);
	values[1] = bc_usec_interval_datum(wait);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bc_rate_limit_status_sql);

/*
 * bc_rate_limit_status_sql implements brickcat.rate_limit_status(name, key):
 * the balance of a key now, computed without locking or debiting.
 */
Datum
bc_rate_limit_status_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	BcRlDef		def;
	BcRlShard  *s;
	TimestampTz now;
	int64		tokens = 0;
	int64		frac = 0;
	int64		reserved = 0;
	int64		next_wait;
	int64		full_wait;
	Datum		values[7];
	bool		nulls[7] = {0};
	Numeric		available;

	bc_rl_require_arg(fcinfo, 0, "rate limit name");
	bc_rl_require_arg(fcinfo, 1, "key");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "brickcat: SPI_connect failed");
	bc_rl_load_def(PG_GETARG_TEXT_PP(0), &def);
	now = bc_now();
	s = palloc(sizeof(BcRlShard) * def.shards);
	for (int i = 0; i < def.shards; i++)
		bc_rl_init_shard(&def, &s[i], i, now);
	(void) bc_rl_fetch(&def, PG_GETARG_TEXT_PP(1), s, def.shards, false);
	for (int i = 0; i < def.shards; i++)
	{
		bc_rl_refill(&def, &s[i], now);
		tokens += s[i].tokens;
		frac += s[i].frac;
		reserved += Max(-s[i].tokens, 0);
	}
	next_wait = tokens >= def.capacity ? -1 : bc_rl_wait(&def, s, def.shards, tokens + 1, now);
	full_wait = bc_rl_wait(&def, s, def.shards, def.capacity, now);
	SPI_finish();			/* frees s */

	available = int64_to_numeric(tokens);
	if (frac > 0)
	{
		Datum		fraction = DirectFunctionCall2(numeric_div,
												   NumericGetDatum(int64_to_numeric(frac)),
												   NumericGetDatum(int64_to_numeric(def.period)));

		available = DatumGetNumeric(DirectFunctionCall1(numeric_trim_scale,
														DirectFunctionCall2(numeric_add,
																			NumericGetDatum(available),
																			fraction)));
	}

	values[0] = CStringGetTextDatum(def.token_bucket ? "token_bucket" : "fixed_window");
	values[1] = NumericGetDatum(available);
	values[2] = Int32GetDatum((int32) def.capacity);
	values[3] = Int64GetDatum(reserved);
	values[4] = Int32GetDatum(def.shards);
	nulls[5] = next_wait < 0;
	values[5] = TimestampTzGetDatum(now + Max(next_wait, 0));
	values[6] = TimestampTzGetDatum(now + full_wait);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(bc_rate_limit_def_changed);

/*
 * bc_rate_limit_def_changed is the statement trigger on
 * brickcat.rate_limit_def: it makes every backend drop its cached
 * definitions once the change commits.
 */
Datum
bc_rate_limit_def_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("brickcat.rate_limit_def_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
