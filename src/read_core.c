/*-------------------------------------------------------------------------
 *
 * read_core.c
 *	  The read engine: argument checks, then for a set of keys read the cache,
 *	  classify freshness, request what needs fetching, wait once for all of
 *	  it within the caller's bound and decide what each key serves.
 *
 * fresh   -> cache.
 * stale   -> served now (stale), background refresh requested.
 * expired -> refreshed on demand; upstream if it lands within the wait,
 *            else the last-known-good row (fallback) with the reason.
 * missing -> fetched on demand; upstream if it lands, else pending, or
 *            not_found / error with an error code.
 * A fresh hit takes no shared-memory lock: it reads the tables with the
 * caller's snapshot and counts itself with one atomic add.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include "access/xact.h"
#include "common/int.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "read.h"
#include "worker.h"

BcIntervalGuc bc_read_wait = {"brickcat.read_wait", NULL, 2 * USECS_PER_SEC,
	0, BC_WAIT_MAX_USEC, NULL};
BcIntervalGuc bc_log_min_wait = {"brickcat.log_min_wait", NULL, -USECS_PER_SEC,
	-USECS_PER_SEC, BC_WAIT_MAX_USEC, NULL};

BC_INTERVAL_GUC_HOOKS(bc_read_wait)
BC_INTERVAL_GUC_HOOKS(bc_log_min_wait)

static const char *const bc_item_types[] = {
	"PART", "SET", "MINIFIG", "BOOK", "GEAR", "CATALOG", "INSTRUCTION",
	"UNSORTED_LOT", "ORIGINAL_BOX"
};

static const char *const bc_source_names[] = {
	"cache", "stale", "upstream", "fallback", "pending", "not_found", "error"
};

static const BcStatCounter bc_source_stats[] = {
	BC_STAT_HITS, BC_STAT_STALE_SERVED, BC_STAT_UPSTREAM_SERVED,
	BC_STAT_FALLBACKS, BC_STAT_PENDING, BC_STAT_NOT_FOUND, BC_STAT_ERRORS
};

/*
 * bc_read_source_name returns the SQL name of a source.
 */
const char *
bc_read_source_name(BcSource s)
{
	return bc_source_names[s];
}

/*
 * bc_read_arg_text copies a short text argument into buf (room for max
 * characters of 4 bytes), raising when it is longer than max characters.
 */
static void
bc_read_arg_text(text *t, const char *what, char *buf, int max)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	bool		too_long = len > max * 4 ||
		pg_mbstrlen_with_len(VARDATA_ANY(t), len) > max;

	if (too_long)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long (at most %d characters)", what, max),
				 errhint("BrickLink item numbers are short, such as '3001' or '6020-1'.")));
	memcpy(buf, VARDATA_ANY(t), len);
	buf[len] = '\0';
}

/*
 * bc_read_item_type_arg checks an item type (case-insensitively) and returns
 * its canonical upper-case name.
 */
const char *
bc_read_item_type_arg(text *t)
{
	char		buf[32];
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len < (int) sizeof(buf))
	{
		memcpy(buf, VARDATA_ANY(t), len);
		buf[len] = '\0';
		for (int i = 0; i < lengthof(bc_item_types); i++)
		{
			if (pg_strcasecmp(buf, bc_item_types[i]) == 0)
				return bc_item_types[i];
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid item_type \"%s\"",
					text_to_cstring(t)),
			 errhint("item_type is one of PART, SET, MINIFIG, BOOK, GEAR, CATALOG, INSTRUCTION, UNSORTED_LOT, ORIGINAL_BOX.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * bc_read_item_no_arg checks an item number (1 to 64 bytes, no control
 * characters) and copies it into dst.
 */
void
bc_read_item_no_arg(text *t, char *dst)
{
	bc_read_arg_text(t, "item_no", dst, BC_ITEM_NO_MAX);
	if (dst[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item_no must not be empty"),
				 errhint("Pass a BrickLink item number such as '3001'.")));
	for (const char *p = dst; *p; p++)
	{
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("item_no contains a control character"),
					 errhint("Pass a BrickLink item number such as '3001'.")));
	}
	if (dst[0] == ' ' || dst[strlen(dst) - 1] == ' ')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item_no \"%s\" begins or ends with a space", dst),
				 errdetail("No BrickLink item number does; BrickLink would answer that it does not know it."),
				 errhint("Trim it, for example with btrim().")));
	if (strcmp(dst, ".") == 0 || strcmp(dst, "..") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item_no must not be \".\" or \"..\""),
				 errdetail("A dot segment would change the path of the request to BrickLink."),
				 errhint("Pass a BrickLink item number such as '3001'.")));
}

/*
 * bc_read_guide_type_arg checks a price guide type: sold or stock.
 */
const char *
bc_read_guide_type_arg(text *t)
{
	char		buf[8];
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len < (int) sizeof(buf))
	{
		memcpy(buf, VARDATA_ANY(t), len);
		buf[len] = '\0';
		if (pg_strcasecmp(buf, "sold") == 0)
			return "sold";
		if (pg_strcasecmp(buf, "stock") == 0)
			return "stock";
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid guide_type \"%s\"", text_to_cstring(t)),
			 errhint("guide_type is 'sold' (last six months of sales) or 'stock' (for sale now).")));
	return NULL;
}

/*
 * bc_read_condition_arg checks a condition: N (new) or U (used).
 */
char
bc_read_condition_arg(text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	char		c = len == 1 ? pg_toupper((unsigned char) VARDATA_ANY(t)[0]) : '\0';

	if (c != 'N' && c != 'U')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid condition \"%s\"", text_to_cstring(t)),
				 errhint("condition is 'N' (new) or 'U' (used).")));
	return c;
}

/*
 * bc_read_color_arg checks a color id (0 means all colors).
 */
int32
bc_read_color_arg(int32 color_id)
{
	if (color_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid color_id %d", color_id),
				 errhint("color_id is a BrickLink color id, or 0 for all colors.")));
	return color_id;
}

/*
 * bc_read_wait_arg returns argument argno as a wait in microseconds:
 * brickcat.read_wait when NULL, and an error when negative or absurd.
 */
int64
bc_read_wait_arg(FunctionCallInfo fcinfo, int argno)
{
	Interval   *iv;
	int64		usec;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return bc_read_wait.usec;
	iv = PG_GETARG_INTERVAL_P(argno);
	usec = iv->time + ((int64) iv->month * DAYS_PER_MONTH + iv->day) * USECS_PER_DAY;
	if (usec < 0 || usec > BC_WAIT_MAX_USEC ||
		Abs(iv->month) > 12 || Abs(iv->day) > 366)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("wait must be between 0 and 1 hour"),
				 errhint("Pass NULL for brickcat.read_wait, 0 to never block, or a short interval such as '2s'.")));
	return usec;
}

/*
 * bc_read_key_init fills key and computes its fetch target.
 */
void
bc_read_key_init(BcKey *key, BcDataset ds, const char *item_type,
				 const char *item_no, int32 color_id, const char *guide_type,
				 char condition)
{
	key->ds = ds;
	key->item_type = item_type;
	strlcpy(key->item_no, item_no, sizeof(key->item_no));
	key->color_id = color_id;
	key->guide_type = guide_type;
	key->condition = condition;
	key->with_quantity = false;
	switch (ds)
	{
		case BC_DS_ITEM:
			snprintf(key->target, BC_READ_TARGET_LEN, "item:%s:%s", item_type, item_no);
			break;
		case BC_DS_COLORS:
			snprintf(key->target, BC_READ_TARGET_LEN, "colors:%s:%s", item_type, item_no);
			break;
		case BC_DS_PRICE:
			snprintf(key->target, BC_READ_TARGET_LEN, "price:%s:%s:%d:%s:%c",
					 item_type, item_no, color_id, guide_type, condition);
			break;
	}
}

/*
 * bc_read_not_found_since returns the oldest "not found" answer still
 * trusted: now minus brickcat.not_found_ttl.
 */
static TimestampTz
bc_read_not_found_since(TimestampTz now)
{
	return now - bc_not_found_ttl.usec;
}

/*
 * bc_read_retry_at returns when a "not found" answer given at checked_at
 * expires, and BrickLink is asked again.
 */
static TimestampTz
bc_read_retry_at(TimestampTz checked_at)
{
	TimestampTz result;

	if (pg_add_s64_overflow(checked_at, bc_not_found_ttl.usec, &result) ||
		!IS_VALID_TIMESTAMP(result))
		TIMESTAMP_NOEND(result);
	return result;
}

/*
 * bc_read_next_refresh_at returns when r's data is due for a refresh: when
 * it stops being fresh, now for missing data, and for a target BrickLink
 * does not know, when that answer expires.
 */
TimestampTz
bc_read_next_refresh_at(const BcRead *r)
{
	if (r->source == BC_SRC_NOT_FOUND && r->retry_at != 0)
		return r->retry_at;
	return bc_next_refresh_at(r->data.fetched_at, r->data.fetched_isnull, bc_now());
}

/*
 * bc_read_negative says whether the negative cache holds r's target, or the
 * item it belongs to, as not found; if so it sets r->retry_at.
 */
static bool
bc_read_negative(BcScanner *sc, BcRead *r, TimestampTz now)
{
	TimestampTz since = bc_read_not_found_since(now);
	TimestampTz checked_at;
	char		item_target[BC_READ_TARGET_LEN];
	bool		found;

	found = bc_scan_not_found(sc, r->key.target, since, GetActiveSnapshot(),
							  &checked_at);
	if (!found && r->key.ds != BC_DS_ITEM)
	{
		snprintf(item_target, sizeof(item_target), "item:%s:%s",
				 r->key.item_type, r->key.item_no);
		found = bc_scan_not_found(sc, item_target, since, GetActiveSnapshot(),
								  &checked_at);
	}
	if (found)
		r->retry_at = bc_read_retry_at(checked_at);
	return found;
}

/*
 * bc_read_blocked_text explains a blocking error code to a person.
 */
static const char *
bc_read_blocked_text(const char *code)
{
	if (strcmp(code, "READ_ONLY") == 0)
		return "this server is a hot standby: brickcat cannot refresh data here; the primary refreshes it";
	if (strcmp(code, "WORKER_NOT_RUNNING") == 0)
		return bc_shared == NULL ?
			"brickcat is not in shared_preload_libraries, so nothing fetches on demand" :
			"the brickcat worker is not running for this database (see brickcat.status)";
	if (strcmp(code, "AUTH_ERROR") == 0)
		return "BrickLink rejected brickcat's credentials; fetching is stopped until they are fixed";
	if (strcmp(code, "BREAKER_OPEN") == 0)
		return "BrickLink is failing and the circuit breaker is open; the request is kept for later";
	if (strcmp(code, "THROTTLED") == 0)
		return "BrickLink is throttling brickcat; the request is kept for later";
	return code;
}

/*
 * bc_read_plan decides, for every read that is not fresh, what to request
 * and whether to wait; leaders are planned before the reads that follow them.
 */
static void
bc_read_plan(BcScanner *sc, BcRead *reads, int nreads, int64 wait_usec,
			 TimestampTz now)
{
	bool		can_request;
	const char *blocked = bc_request_blocked(&can_request);
	bool		xact_snapshot = IsolationUsesXactSnapshot();

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < nreads; i++)
		{
			BcRead	   *r = &reads[i];
			bool		will_wait;

			if ((pass == 0) != (r->leader == NULL))
				continue;
			if (r->freshness == BC_STALE)
			{
				if (can_request)
					bc_read_submit(r, BC_PRIORITY_BACKGROUND);
				else
					r->blocked = blocked;
				continue;
			}
			if (!r->needs_fetch)
				continue;
			if (r->freshness == BC_MISSING && bc_read_negative(sc, r, now))
			{
				r->source = BC_SRC_NOT_FOUND;
				r->needs_fetch = false;
				continue;
			}
			r->blocked = blocked;
			if (!can_request)
				continue;
			will_wait = wait_usec > 0 && !xact_snapshot && blocked == NULL &&
				(r->leader == NULL || r->leader->waiting);
			bc_read_submit(r, will_wait ? BC_PRIORITY_INTERACTIVE : BC_PRIORITY_ON_DEMAND);
			r->waiting = will_wait && r->handle.slot >= 0;
		}
	}
}

/*
 * bc_read_describe_wait renders a wait bound for messages.
 */
static char *
bc_read_describe_wait(int64 wait_usec)
{
	return wait_usec == 0 ? pstrdup("wait = 0") :
		psprintf("within %.3g s", (double) wait_usec / USECS_PER_SEC);
}

/*
 * bc_read_decide sets the source, error code and message of a read that was
 * not a fresh hit, from its request's outcome.
 */
static void
bc_read_decide(BcRead *r, TimestampTz old_fetched, bool old_isnull,
			   int64 wait_usec, TimestampTz now)
{
	const char *code = NULL;
	const char *why;

	/* new data landed while we waited */
	if (r->waiting && r->data.found && !r->data.fetched_isnull &&
		(old_isnull || r->data.fetched_at > old_fetched))
	{
		r->source = BC_SRC_UPSTREAM;
		r->freshness = bc_freshness_classify(r->data.fetched_at, false, now);
		return;
	}
	if (r->freshness == BC_FRESH)
	{
		r->source = BC_SRC_CACHE;
		return;
	}
	if (r->freshness == BC_STALE)
	{
		r->source = BC_SRC_STALE;
		if (r->blocked)
			r->error_message = psprintf("stale data served; background refresh not possible: %s",
										bc_read_blocked_text(r->blocked));
		return;
	}

	if (r->source == BC_SRC_NOT_FOUND)
	{
		code = "NOT_FOUND";
		why = psprintf("BrickLink does not know %s (negative cache, brickcat.not_found_ttl)",
					   r->key.target);
	}
	else if (r->done && !r->done_ok && r->done_code[0] != '\0')
	{
		code = pstrdup(r->done_code);
		why = psprintf("fetching %s failed: %s", r->key.target,
					   r->done_text[0] ? r->done_text : r->done_code);
	}
	else if (r->blocked)
	{
		code = r->blocked;
		why = psprintf("%s%s", bc_read_blocked_text(r->blocked),
					   r->requested ? " (fetch requested)" : "");
	}
	else if (!r->requested)
		why = "the fetch could not be requested in a read-only transaction";
	else if (IsolationUsesXactSnapshot())
		why = psprintf("fetch of %s requested; this transaction's snapshot (REPEATABLE READ or SERIALIZABLE) cannot see its result: read again in a new transaction",
					   r->key.target);
	else if (r->waiting)
	{
		code = "TIMEOUT";
		why = psprintf("fetch of %s requested; not done %s", r->key.target,
					   bc_read_describe_wait(wait_usec));
	}
	else
		why = psprintf("fetch of %s requested (%s%s)", r->key.target,
					   r->handle.slot < 0 ? "queued, " : "",
					   bc_read_describe_wait(wait_usec));

	if (r->data.found)
	{
		r->source = BC_SRC_FALLBACK;
		r->error_code = code;
		r->error_message = r->data.fetched_isnull ?
			psprintf("serving data never refreshed from BrickLink: %s", why) :
			psprintf("serving last-known-good data fetched at %s: %s",
					 timestamptz_to_str(r->data.fetched_at), why);
		return;
	}
	r->error_message = (char *) why;
	if (code && strcmp(code, "NOT_FOUND") == 0)
	{
		r->source = BC_SRC_NOT_FOUND;
		/* answered just now: the negative cache holds it from about now */
		if (r->retry_at == 0)
			r->retry_at = bc_read_retry_at(bc_now());
	}
	else if (code && strcmp(code, "TIMEOUT") != 0)
		r->source = BC_SRC_ERROR;
	else
		r->source = BC_SRC_PENDING;
	r->error_code = r->source == BC_SRC_PENDING ? NULL : code;
}

/*
 * bc_read_log_wait logs a wait longer than brickcat.log_min_wait.
 */
static void
bc_read_log_wait(BcRead *reads, int nreads, int64 waited)
{
	int			nwait = 0;
	int			nlanded = 0;
	const char *first = NULL;

	if (bc_log_min_wait.usec < 0 || waited < bc_log_min_wait.usec)
		return;
	for (int i = 0; i < nreads; i++)
	{
		if (!reads[i].waiting)
			continue;
		nwait++;
		if (reads[i].source == BC_SRC_UPSTREAM)
			nlanded++;
		if (first == NULL)
			first = reads[i].key.target;
	}
	ereport(LOG,
			(errmsg("brickcat: read waited %.1f ms for %d fetch%s (%s%s), %d landed",
					(double) waited / 1000.0, nwait, nwait == 1 ? "" : "es",
					first ? first : "", nwait > 1 ? ", ..." : "", nlanded)));
}

/*
 * bc_read_lookup_all looks every read up under snap.  A group (a leader and
 * the reads that follow it) found entirely fresh is answered at once through
 * emit while its row is still in the scan's slot; other rows are copied for
 * later.  Returns whether any read still needs the slow path.
 */
static bool
bc_read_lookup_all(BcScanner *sc, BcRead *reads, int nreads, Snapshot snap,
				   TimestampTz now, BcReadEmit emit, void *arg)
{
	bool		slow = false;
	int			group = 0;
	bool		group_fresh = true;

	for (int i = 0; i < nreads; i++)
	{
		BcRead	   *r = &reads[i];

		/* an item's colors come from its row's copy when it has one */
		if (r->leader == NULL || r->leader->key.ds != BC_DS_ITEM ||
			r->key.ds != BC_DS_COLORS || r->key.with_quantity ||
			r->leader->data.slot == NULL ||
			!bc_scan_colors_copy(r->leader->data.slot, &r->data))
			bc_scan_lookup(sc, &r->key, snap, &r->data);
		r->freshness = bc_freshness_classify(r->data.fetched_at,
											 r->data.fetched_isnull, now);
		r->needs_fetch = r->freshness >= BC_EXPIRED;
		r->source = BC_SRC_CACHE;
		group_fresh &= r->freshness == BC_FRESH;

		/* the group ends where the next leader starts */
		if (i + 1 < nreads && reads[i + 1].leader != NULL)
			continue;
		for (int j = group; j <= i; j++)
		{
			if (group_fresh && emit)
			{
				reads[j].emitted = true;
				if (reads[j].counted)
					bc_stat_add(BC_STAT_HITS, 1);
			}
		}
		if (group_fresh && emit)
			emit(arg, &reads[group]);
		for (int j = group; j <= i; j++)
		{
			if (reads[j].emitted)
				reads[j].data.slot = NULL;
			else
				bc_scan_materialize(&reads[j].data);
		}
		slow |= !group_fresh;
		group = i + 1;
		group_fresh = true;
	}
	return slow;
}

/*
 * bc_read_run answers every read in reads: one cache lookup each, then at
 * most one wait for all the fetches they need, bounded by wait_usec.  Reads
 * answered fresh from the cache go to emit (when given) during the lookup;
 * the caller builds results for the others afterwards.
 */
void
bc_read_run(BcRead *reads, int nreads, int64 wait_usec, BcReadEmit emit,
			void *arg)
{
	BcScanner  *sc = bc_scan_begin();
	Snapshot	snap = GetActiveSnapshot();
	TimestampTz now = bc_now();
	bool		any_waiting = false;
	int64		waited = 0;
	TimestampTz *old_fetched;
	bool	   *old_isnull;

	if (!bc_read_lookup_all(sc, reads, nreads, snap, now, emit, arg))
	{
		bc_scan_end(sc);
		for (int i = 0; i < nreads; i++)
		{
			if (reads[i].counted && !reads[i].emitted)
				bc_stat_add(BC_STAT_HITS, 1);
		}
		return;
	}

	bc_read_plan(sc, reads, nreads, wait_usec, now);
	old_fetched = palloc(sizeof(TimestampTz) * nreads);
	old_isnull = palloc(sizeof(bool) * nreads);
	for (int i = 0; i < nreads; i++)
	{
		old_fetched[i] = reads[i].data.fetched_at;
		old_isnull[i] = reads[i].data.fetched_isnull;
		any_waiting |= reads[i].waiting;
	}

	if (any_waiting)
	{
		Snapshot	latest;

		waited = bc_read_wait_all(reads, nreads, wait_usec);
		bc_stat_add(BC_STAT_WAITS, 1);
		bc_stat_add(BC_STAT_WAIT_TIME_US, waited);

		/* READ COMMITTED: look again with a snapshot that sees the fetch */
		latest = RegisterSnapshot(GetLatestSnapshot());
		for (int i = 0; i < nreads; i++)
		{
			BcRead	   *r = &reads[i];

			if (!r->waiting)
				continue;
			if (r->data.tuple)
				heap_freetuple(r->data.tuple);
			bc_scan_lookup(sc, &r->key, latest, &r->data);
			bc_scan_materialize(&r->data);
			if (!r->data.found && !old_isnull[i])
			{
				/* the row vanished meanwhile: nothing to fall back to */
				r->freshness = BC_MISSING;
			}
		}
		UnregisterSnapshot(latest);
		now = bc_now();
	}
	bc_scan_end(sc);

	for (int i = 0; i < nreads; i++)
	{
		BcRead	   *r = &reads[i];

		if (r->emitted)
			continue;
		bc_read_decide(r, old_fetched[i], old_isnull[i], wait_usec, now);
		if (r->counted)
			bc_stat_add(bc_source_stats[r->source], 1);
	}
	if (any_waiting)
		bc_read_log_wait(reads, nreads, waited);
}

/*
 * bc_read_init registers the read path's settings.
 */
void
bc_read_init(void)
{
	bc_define_interval_guc(&bc_read_wait,
						   "How long a read waits for an on-demand fetch when its wait argument is NULL.",
						   "0 never blocks.  Reads that do not get their data in time answer pending or fall back to last-known-good data.",
						   "2s", PGC_USERSET, 0,
						   bc_read_wait_check, bc_read_wait_assign);
	bc_define_interval_guc(&bc_log_min_wait,
						   "Logs reads that waited at least this long for on-demand fetches.",
						   "-1 (any negative value) turns the log off; 0 logs every wait.",
						   "-1", PGC_SUSET, 0,
						   bc_log_min_wait_check, bc_log_min_wait_assign);
	bc_tidcache_init();
}
