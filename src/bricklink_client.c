/*-------------------------------------------------------------------------
 *
 * bricklink_client.c
 *	  The BrickLink API client: one libcurl multi handle, at most
 *	  brickcat.max_concurrency transfers in flight over reused connections,
 *	  connect and total timeouts, TLS verification always on, http(s) only,
 *	  no redirects, the response size capped while it arrives, and an
 *	  OAuth 1.0a Authorization header (fresh nonce, current timestamp) signed
 *	  over the exact path and query that are sent.
 *
 * The worker drives it: bc_client_send starts a transfer, bc_client_wait
 * lets libcurl work for at most a few milliseconds (so the worker notices
 * its latch and SIGTERM promptly), bc_client_next_result hands back finished
 * transfers.  libcurl never raises a PostgreSQL error; this file raises
 * only for out-of-memory conditions at setup.
 *
 *-------------------------------------------------------------------------
 */
#include "brickcat.h"

#include <curl/curl.h>
#include <time.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "bricklink_client.h"
#include "oauth.h"

/* libcurl calls kept on one line each: fail setup loudly. */
#define BC_CURL_SETOPT(h, opt, val) \
	do { \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) \
			elog(ERROR, "brickcat: could not set libcurl option %s", #opt); \
	} while (0)

char	   *bc_api_base_url = NULL;
char	   *bc_consumer_key = NULL;
char	   *bc_consumer_secret = NULL;
char	   *bc_token_value = NULL;
char	   *bc_token_secret = NULL;
int			bc_max_response_bytes = 8 * 1024 * 1024;

BcIntervalGuc bc_request_timeout = {"brickcat.request_timeout", NULL, 0,
	100 * 1000, INT64CONST(3600) * USECS_PER_SEC, NULL};
BcIntervalGuc bc_connect_timeout = {"brickcat.connect_timeout", NULL, 0,
	100 * 1000, INT64CONST(600) * USECS_PER_SEC, NULL};

BC_INTERVAL_GUC_HOOKS(bc_request_timeout)
BC_INTERVAL_GUC_HOOKS(bc_connect_timeout)

/* One transfer slot: an easy handle reused call after call. */
typedef struct BcClientSlot
{
	bool		busy;			/* a transfer is running or unreleased */
	bool		finished;
	CURL	   *easy;
	struct curl_slist *headers;
	BcJob		job;
	TimestampTz started_at;
	TimestampTz started_clock;	/* real clock, for the duration */
	StringInfoData body;
	bool		oversize;
	int			sends;			/* times libcurl was about to send the request */
	int			retry_after_s;
	char		errbuf[CURL_ERROR_SIZE];
} BcClientSlot;

static CURLM *bc_multi = NULL;
static BcClientSlot bc_slots[BC_CLIENT_MAX_SLOTS];
static int	bc_nbusy = 0;
static int	bc_running = 0;		/* transfers libcurl still ran at its last pass */
static int	bc_last_result = -1;	/* slot handed out, released next call */
static MemoryContext bc_client_cxt = NULL;
static ResourceOwner bc_client_owner = NULL;	/* for the HMAC outside transactions */

/*
 * bc_client_init registers the client's settings: the base URL and the
 * OAuth credentials (superuser-only, hidden), timeouts and the size cap.
 */
void
bc_client_init(void)
{
	const int	secret_flags = GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE;

	DefineCustomStringVariable("brickcat.api_base_url",
							   "Base URL of the BrickLink Store API.",
							   "Superuser only; set in postgresql.conf or with ALTER SYSTEM.",
							   &bc_api_base_url, "https://api.bricklink.com/api/store/v1",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("brickcat.consumer_key",
							   "BrickLink OAuth consumer key (secret).",
							   "Superuser only; never shown in logs or views.",
							   &bc_consumer_key, "", PGC_SIGHUP, secret_flags,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("brickcat.consumer_secret",
							   "BrickLink OAuth consumer secret (secret).",
							   "Superuser only; never shown in logs or views.",
							   &bc_consumer_secret, "", PGC_SIGHUP, secret_flags,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("brickcat.token_value",
							   "BrickLink OAuth access token (secret).",
							   "Superuser only; never shown in logs or views.",
							   &bc_token_value, "", PGC_SIGHUP, secret_flags,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("brickcat.token_secret",
							   "BrickLink OAuth access token secret (secret).",
							   "Superuser only; never shown in logs or views.",
							   &bc_token_secret, "", PGC_SIGHUP, secret_flags,
							   NULL, NULL, NULL);
	bc_define_interval_guc(&bc_request_timeout,
						   "Longest time one BrickLink call may take, connection included.",
						   NULL, "10s", PGC_SIGHUP, 0,
						   bc_request_timeout_check, bc_request_timeout_assign);
	bc_define_interval_guc(&bc_connect_timeout,
						   "Longest time to wait for a connection to BrickLink.",
						   NULL, "5s", PGC_SIGHUP, 0,
						   bc_connect_timeout_check, bc_connect_timeout_assign);
	DefineCustomIntVariable("brickcat.max_response_bytes",
							"Largest BrickLink response accepted; larger ones are a bad_response.",
							NULL, &bc_max_response_bytes, 8 * 1024 * 1024,
							1024, 256 * 1024 * 1024, PGC_SIGHUP, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

/*
 * bc_client_write_cb appends received body bytes, refusing (which aborts the
 * transfer) once the response would exceed brickcat.max_response_bytes.
 */
static size_t
bc_client_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	BcClientSlot *slot = (BcClientSlot *) userdata;
	size_t		n = size * nmemb;

	if ((size_t) slot->body.len + n > (size_t) bc_max_response_bytes)
	{
		slot->oversize = true;
		return 0;
	}
	/* enlargeStringInfo would raise on failure: stay below its limit */
	appendBinaryStringInfoNT(&slot->body, ptr, (int) n);
	return n;
}

/*
 * bc_client_prereq_cb lets the request go out once per call: libcurl
 * silently sends it again on a fresh connection when a reused one dies
 * before any answer, which BrickLink would count as a second call that the
 * quota ledger never debited.  Such a resend is aborted instead, and the
 * worker's own retry (debited first) takes over.
 */
static int
bc_client_prereq_cb(void *userdata, char *conn_primary_ip, char *conn_local_ip,
					int conn_primary_port, int conn_local_port)
{
	BcClientSlot *slot = (BcClientSlot *) userdata;

	return ++slot->sends > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/*
 * bc_client_header_cb picks the Retry-After header (delta seconds) out of
 * the response headers.
 */
static size_t
bc_client_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	BcClientSlot *slot = (BcClientSlot *) userdata;
	size_t		n = size * nitems;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 && pg_strncasecmp(buffer, name, sizeof(name) - 1) == 0)
	{
		size_t		i = sizeof(name) - 1;
		long		v = 0;
		bool		digits = false;

		while (i < n && (buffer[i] == ' ' || buffer[i] == '\t'))
			i++;
		while (i < n && buffer[i] >= '0' && buffer[i] <= '9' && v < 86400)
		{
			v = v * 10 + (buffer[i] - '0');
			digits = true;
			i++;
		}
		if (digits)
			slot->retry_after_s = (int) Min(v, 86400);
	}
	return n;
}

/*
 * bc_client_configure sets the options every call of a slot's new easy
 * handle shares: libcurl keeps them from one transfer to the next.
 */
static void
bc_client_configure(BcClientSlot *slot)
{
	CURL	   *h = slot->easy;

	BC_CURL_SETOPT(h, CURLOPT_HTTPGET, 1L);
	BC_CURL_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	BC_CURL_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	BC_CURL_SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	BC_CURL_SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	BC_CURL_SETOPT(h, CURLOPT_PATH_AS_IS, 1L);
	BC_CURL_SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	BC_CURL_SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	BC_CURL_SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	BC_CURL_SETOPT(h, CURLOPT_USERAGENT, "brickcat/1.0");
	BC_CURL_SETOPT(h, CURLOPT_WRITEFUNCTION, bc_client_write_cb);
	BC_CURL_SETOPT(h, CURLOPT_WRITEDATA, slot);
	BC_CURL_SETOPT(h, CURLOPT_HEADERFUNCTION, bc_client_header_cb);
	BC_CURL_SETOPT(h, CURLOPT_HEADERDATA, slot);
	BC_CURL_SETOPT(h, CURLOPT_ERRORBUFFER, slot->errbuf);
	BC_CURL_SETOPT(h, CURLOPT_PRIVATE, slot);
	BC_CURL_SETOPT(h, CURLOPT_PREREQFUNCTION, bc_client_prereq_cb);
	BC_CURL_SETOPT(h, CURLOPT_PREREQDATA, slot);
}

/*
 * bc_client_start creates the multi handle and one easy handle per slot.
 */
void
bc_client_start(void)
{
	if (bc_multi != NULL)
		return;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		elog(ERROR, "brickcat: could not initialize libcurl");
	bc_client_cxt = AllocSetContextCreate(TopMemoryContext, "brickcat client",
										  ALLOCSET_DEFAULT_SIZES);
	if (bc_client_owner == NULL)
		bc_client_owner = ResourceOwnerCreate(NULL, "brickcat client");
	bc_multi = curl_multi_init();
	if (bc_multi == NULL)
		elog(ERROR, "brickcat: could not create a libcurl multi handle");
	curl_multi_setopt(bc_multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) BC_CLIENT_MAX_SLOTS);
	curl_multi_setopt(bc_multi, CURLMOPT_MAXCONNECTS, (long) BC_CLIENT_MAX_SLOTS);
	for (int i = 0; i < BC_CLIENT_MAX_SLOTS; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(bc_client_cxt);

		memset(&bc_slots[i], 0, sizeof(BcClientSlot));
		initStringInfo(&bc_slots[i].body);
		MemoryContextSwitchTo(old);
		bc_slots[i].easy = curl_easy_init();
		if (bc_slots[i].easy == NULL)
			elog(ERROR, "brickcat: could not create a libcurl handle");
		bc_client_configure(&bc_slots[i]);
	}
	bc_nbusy = 0;
	bc_running = 0;
	bc_last_result = -1;
}

/*
 * bc_client_shutdown ends every transfer and frees libcurl's handles.
 */
void
bc_client_shutdown(void)
{
	if (bc_multi == NULL)
		return;
	for (int i = 0; i < BC_CLIENT_MAX_SLOTS; i++)
	{
		if (bc_slots[i].busy && !bc_slots[i].finished)
			curl_multi_remove_handle(bc_multi, bc_slots[i].easy);
		curl_easy_cleanup(bc_slots[i].easy);
		curl_slist_free_all(bc_slots[i].headers);
		bc_slots[i].easy = NULL;
		bc_slots[i].headers = NULL;
		bc_slots[i].busy = false;
	}
	curl_multi_cleanup(bc_multi);
	bc_multi = NULL;
	bc_nbusy = 0;
	bc_running = 0;
	MemoryContextDelete(bc_client_cxt);
	bc_client_cxt = NULL;
}

/*
 * bc_client_in_flight returns how many transfers are running or unreleased.
 */
int
bc_client_in_flight(void)
{
	return bc_nbusy;
}

/*
 * bc_client_free_slots returns how many more transfers may start now.
 */
int
bc_client_free_slots(void)
{
	int			limit = Min(bc_max_concurrency, BC_CLIENT_MAX_SLOTS);

	return Max(limit - bc_nbusy, 0);
}

/*
 * bc_client_build_path returns the API path for job (item numbers
 * percent-encoded per RFC 3986) and sets *query to its query string (or
 * NULL).  Both palloc'd.
 */
char *
bc_client_build_path(const BcJob *job, char **query)
{
	StringInfoData path;
	char		type_lc[BC_ITEM_TYPE_BUF];

	*query = NULL;
	initStringInfo(&path);
	switch (job->kind)
	{
		case BC_JOB_COLOR_LIST:
			appendStringInfoString(&path, "/colors");
			return path.data;
		case BC_JOB_CATEGORY_LIST:
			appendStringInfoString(&path, "/categories");
			return path.data;
		default:
			break;
	}
	for (int i = 0; i < BC_ITEM_TYPE_BUF; i++)
		type_lc[i] = pg_ascii_tolower((unsigned char) job->item_type[i]);
	appendStringInfo(&path, "/items/%s/", type_lc);
	bc_oauth_percent_encode(&path, job->item_no, strlen(job->item_no));
	if (job->kind == BC_JOB_COLORS)
		appendStringInfoString(&path, "/colors");
	else if (job->kind == BC_JOB_PRICE)
	{
		StringInfoData q;

		appendStringInfoString(&path, "/price");
		initStringInfo(&q);
		appendStringInfo(&q, "guide_type=%s&new_or_used=%c&color_id=%d&currency_code=",
						 job->sold ? "sold" : "stock", job->condition, job->color_id);
		bc_oauth_percent_encode(&q, bc_currency, strlen(bc_currency));
		*query = q.data;
	}
	return path.data;
}

/*
 * bc_client_redact returns text with every configured secret replaced by
 * "***", for error texts that quote what the server said.
 */
char *
bc_client_redact(const char *text)
{
	const char *secrets[4] = {bc_consumer_key, bc_consumer_secret,
	bc_token_value, bc_token_secret};
	char	   *out = pstrdup(text ? text : "");

	for (int i = 0; i < 4; i++)
	{
		const char *s = secrets[i];
		size_t		slen = s ? strlen(s) : 0;
		char	   *hit;

		if (slen < 4)
			continue;
		while ((hit = strstr(out, s)) != NULL)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			appendBinaryStringInfo(&buf, out, hit - out);
			appendStringInfoString(&buf, "***");
			appendStringInfoString(&buf, hit + slen);
			pfree(out);
			out = buf.data;
		}
	}
	return out;
}

/*
 * bc_client_prepare sets a slot's easy handle up for one call to url with
 * the given Authorization header, under the current timeouts and size cap.
 */
static void
bc_client_prepare(BcClientSlot *slot, const char *url, const char *auth)
{
	CURL	   *h = slot->easy;
	char	   *hdr;

	curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	hdr = psprintf("Authorization: %s", auth);
	slot->headers = curl_slist_append(slot->headers, hdr);
	/* the header holds a signature: do not leave copies around */
	explicit_bzero(hdr, strlen(hdr));
	pfree(hdr);
	slot->headers = curl_slist_append(slot->headers, "Accept: application/json");
	if (slot->headers == NULL)
		elog(ERROR, "brickcat: out of memory building request headers");

	BC_CURL_SETOPT(h, CURLOPT_URL, url);
	BC_CURL_SETOPT(h, CURLOPT_HTTPHEADER, slot->headers);
	BC_CURL_SETOPT(h, CURLOPT_TIMEOUT_MS, (long) Max(bc_request_timeout.usec / 1000, 1));
	BC_CURL_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long) Max(bc_connect_timeout.usec / 1000, 1));
	BC_CURL_SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) bc_max_response_bytes);
}

/*
 * bc_client_send signs and starts the call for job.  Returns false with
 * *err set (no secrets) when the request cannot be built, e.g. no
 * credentials are configured.
 */
bool
bc_client_send(const BcJob *job, TimestampTz started_at, char **err)
{
	BcClientSlot *slot = NULL;
	BcOAuthCredentials cred;
	char		nonce[BC_OAUTH_NONCE_LEN + 1];
	char	   *path;
	char	   *query;
	char	   *base;
	char	   *url;
	char	   *auth;
	char	   *autherr = NULL;
	size_t		blen;

	*err = NULL;
	for (int i = 0; i < BC_CLIENT_MAX_SLOTS; i++)
	{
		if (!bc_slots[i].busy)
		{
			slot = &bc_slots[i];
			break;
		}
	}
	if (slot == NULL)
		elog(ERROR, "brickcat: no free transfer slot");

	if (!bc_consumer_key[0] || !bc_consumer_secret[0] || !bc_token_value[0] ||
		!bc_token_secret[0])
	{
		*err = pstrdup("BrickLink credentials are not configured (brickcat.consumer_key, consumer_secret, token_value, token_secret)");
		return false;
	}
	if (pg_strncasecmp(bc_api_base_url, "http://", 7) != 0 &&
		pg_strncasecmp(bc_api_base_url, "https://", 8) != 0)
	{
		*err = pstrdup("brickcat.api_base_url must start with http:// or https://");
		return false;
	}
	if (strcmp(job->item_no, ".") == 0 || strcmp(job->item_no, "..") == 0)
	{
		/* a dot segment would be resolved away: another path, another resource */
		*err = pstrdup("item number \".\" or \"..\" cannot be sent as a path segment");
		return false;
	}
	if (!bc_oauth_make_nonce(nonce))
	{
		*err = pstrdup("could not generate a random nonce");
		return false;
	}

	/* base URL without a trailing slash, then the encoded path */
	base = pstrdup(bc_api_base_url);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		base[--blen] = '\0';
	path = bc_client_build_path(job, &query);
	url = psprintf("%s%s", base, path);

	cred.consumer_key = bc_consumer_key;
	cred.consumer_secret = bc_consumer_secret;
	cred.token_value = bc_token_value;
	cred.token_secret = bc_token_secret;
	/* the HMAC (OpenSSL) is tracked by a resource owner */
	{
		ResourceOwner save = CurrentResourceOwner;

		if (CurrentResourceOwner == NULL)
			CurrentResourceOwner = bc_client_owner;
		auth = bc_oauth_authorization_header(&cred, "GET", url, query,
											 (int64) time(NULL), nonce, &autherr);
		CurrentResourceOwner = save;
	}
	if (auth == NULL)
	{
		*err = psprintf("could not sign the request: %s",
						autherr ? autherr : "unknown error");
		return false;
	}
	if (query != NULL)
	{
		char	   *full = psprintf("%s?%s", url, query);

		pfree(url);
		url = full;
	}

	bc_client_prepare(slot, url, auth);
	explicit_bzero(auth, strlen(auth));
	pfree(auth);

	resetStringInfo(&slot->body);
	slot->oversize = false;
	slot->sends = 0;
	slot->retry_after_s = -1;
	slot->errbuf[0] = '\0';
	slot->job = *job;
	slot->started_at = started_at;
	slot->started_clock = GetCurrentTimestamp();
	slot->finished = false;

	if (curl_multi_add_handle(bc_multi, slot->easy) != CURLM_OK)
	{
		*err = pstrdup("libcurl refused the transfer");
		return false;
	}
	slot->busy = true;
	bc_nbusy++;
	bc_running++;
	return true;
}

/*
 * bc_client_wait lets libcurl work, first sleeping at most timeout_ms for
 * socket activity or one of libcurl's timers when transfers are running
 * (poll returns at once when an answer is already waiting, which is cheaper
 * than a pass over every transfer before it).
 */
void
bc_client_wait(int timeout_ms)
{
	int			numfds = 0;

	if (bc_multi == NULL)
		return;
	if (timeout_ms > 0 && bc_running > 0)
		curl_multi_poll(bc_multi, NULL, 0, timeout_ms, &numfds);
	curl_multi_perform(bc_multi, &bc_running);
}

/*
 * bc_client_slot_release makes a finished slot available again.
 */
static void
bc_client_slot_release(int i)
{
	BcClientSlot *slot = &bc_slots[i];

	if (!slot->busy)
		return;
	slot->busy = false;
	slot->finished = false;
	/* keep the buffer from a rare huge answer from lingering */
	if (slot->body.maxlen > 1024 * 1024)
	{
		MemoryContext old = MemoryContextSwitchTo(bc_client_cxt);

		pfree(slot->body.data);
		initStringInfo(&slot->body);
		MemoryContextSwitchTo(old);
	}
	bc_nbusy--;
}

/*
 * bc_client_release releases the slot of the result handed out last.
 */
void
bc_client_release(void)
{
	if (bc_last_result >= 0)
		bc_client_slot_release(bc_last_result);
	bc_last_result = -1;
}

/*
 * bc_client_classify_transport turns a libcurl error into an outcome.
 */
static BcOutcome
bc_client_classify_transport(BcClientSlot *slot, CURLcode rc)
{
	if (slot->oversize || rc == CURLE_FILESIZE_EXCEEDED)
		return BC_OUTCOME_BAD_RESPONSE;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return BC_OUTCOME_TIMEOUT;
	return BC_OUTCOME_NETWORK_ERROR;
}

/*
 * bc_client_next_result fills *res with a finished transfer and returns
 * true, or returns false when none has finished.  The previous result's
 * slot is released first; res->body stays valid until the next call.
 */
bool
bc_client_next_result(BcCallResult *res)
{
	CURLMsg    *msg;
	int			left = 0;

	bc_client_release();
	if (bc_multi == NULL)
		return false;
	while ((msg = curl_multi_info_read(bc_multi, &left)) != NULL)
	{
		BcClientSlot *slot = NULL;
		CURLcode	rc;
		long		status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(bc_multi, msg->easy_handle);
		if (slot == NULL)
			continue;
		slot->finished = true;
		bc_last_result = slot - bc_slots;

		memset(res, 0, sizeof(*res));
		res->job = slot->job;
		res->started_at = slot->started_at;
		res->duration_us = GetCurrentTimestamp() - slot->started_clock;
		res->http_status = (int) status;
		res->retry_after_s = slot->retry_after_s;
		res->body = slot->body.data;
		res->body_len = slot->body.len;
		if (rc != CURLE_OK)
		{
			res->transport_error = true;
			res->transport_outcome = bc_client_classify_transport(slot, rc);
			if (res->transport_outcome == BC_OUTCOME_BAD_RESPONSE)
				snprintf(res->error, sizeof(res->error),
						 "response larger than brickcat.max_response_bytes (%d bytes)",
						 bc_max_response_bytes);
			else if (slot->sends > 1)
				snprintf(res->error, sizeof(res->error),
						 "connection lost before an answer (not resent: the call was counted once)");
			else
				snprintf(res->error, sizeof(res->error), "%s",
						 slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc));
		}
		return true;
	}
	return false;
}

/*
 * bc_client_raise gives the call in flight for target (if any) the better
 * priority prio: a reader now waits for its answer.
 */
void
bc_client_raise(const char *target, BcPriority prio)
{
	for (int i = 0; i < BC_CLIENT_MAX_SLOTS; i++)
	{
		BcClientSlot *slot = &bc_slots[i];

		if (slot->busy && slot->job.priority > prio && strcmp(slot->job.target, target) == 0)
			slot->job.priority = prio;
	}
}

/*
 * bc_client_abort_all stops every running transfer and returns their jobs
 * in jobs (room for BC_CLIENT_MAX_SLOTS), e.g. at shutdown.
 */
void
bc_client_abort_all(BcJob *jobs, int *njobs)
{
	*njobs = 0;
	bc_client_release();
	if (bc_multi == NULL)
		return;
	for (int i = 0; i < BC_CLIENT_MAX_SLOTS; i++)
	{
		BcClientSlot *slot = &bc_slots[i];

		if (!slot->busy)
			continue;
		if (!slot->finished)
			curl_multi_remove_handle(bc_multi, slot->easy);
		jobs[(*njobs)++] = slot->job;
		slot->finished = true;
		bc_client_slot_release(i);
	}
	bc_running = 0;
}
