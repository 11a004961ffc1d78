/*-------------------------------------------------------------------------
 *
 * oauth.c
 *	  OAuth 1.0a HMAC-SHA1 request signing (RFC 5849) for BrickLink.
 *
 * BrickLink uses the "simpler flow": the user registers a consumer and is
 * issued an access token directly, so all we ever do is sign requests.
 * The module never raises errors (the background worker must survive any
 * input); failures come back as NULL/false plus a fixed, palloc'd message
 * that never contains key material.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#include "utils/resowner.h"
#endif

#include "common/base64.h"
#include "common/hmac.h"
#include "common/sha1.h"
#include "lib/stringinfo.h"

#include "oauth.h"

/* One query or oauth parameter, already percent-encoded. */
typedef struct BcOAuthParam
{
	char	   *key;
	char	   *value;
} BcOAuthParam;

static const char bc_oauth_hex_upper[] = "0123456789ABCDEF";

/*
 * bc_oauth_is_unreserved reports whether c is an RFC 3986 unreserved
 * character (ALPHA / DIGIT / "-" / "." / "_" / "~").
 */
static inline bool
bc_oauth_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * bc_oauth_percent_encode appends s[0..len) to buf, percent-encoding every
 * byte that is not unreserved as %XX with uppercase hex digits.
 */
void
bc_oauth_percent_encode(StringInfo buf, const char *s, size_t len)
{
	size_t		i = 0;

	/* runs of unreserved bytes are copied whole */
	while (i < len)
	{
		size_t		run = i;
		unsigned char c;

		while (run < len && bc_oauth_is_unreserved((unsigned char) s[run]))
			run++;
		if (run > i)
			appendBinaryStringInfo(buf, s + i, (int) (run - i));
		if (run == len)
			break;
		c = (unsigned char) s[run];
		appendStringInfoChar(buf, '%');
		appendStringInfoChar(buf, bc_oauth_hex_upper[c >> 4]);
		appendStringInfoChar(buf, bc_oauth_hex_upper[c & 0x0F]);
		i = run + 1;
	}
}

/*
 * bc_oauth_hexval returns the value of hex digit c, or -1 if c is not one.
 */
static int
bc_oauth_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * bc_oauth_form_decode appends the application/x-www-form-urlencoded
 * decoding of s[0..len) to buf: "+" becomes a space, valid %XX becomes the
 * byte, and a stray "%" is kept literally.
 */
static void
bc_oauth_form_decode(StringInfo buf, const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		char		c = s[i];

		if (c == '+')
		{
			appendStringInfoChar(buf, ' ');
			i++;
		}
		else if (c == '%' && i + 2 < len &&
				 bc_oauth_hexval(s[i + 1]) >= 0 && bc_oauth_hexval(s[i + 2]) >= 0)
		{
			appendStringInfoChar(buf, (char) ((bc_oauth_hexval(s[i + 1]) << 4) |
											  bc_oauth_hexval(s[i + 2])));
			i += 3;
		}
		else
		{
			appendStringInfoChar(buf, c);
			i++;
		}
	}
}

/*
 * bc_oauth_encode_copy returns a palloc'd percent-encoded copy of s[0..len).
 */
static char *
bc_oauth_encode_copy(const char *s, size_t len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	bc_oauth_percent_encode(&buf, s, len);
	return buf.data;
}

/*
 * bc_oauth_param_cmp orders encoded parameters by key, then by value, using
 * byte-wise comparison as RFC 5849 section 3.4.1.3.2 requires.
 */
static int
bc_oauth_param_cmp(const void *a, const void *b)
{
	const BcOAuthParam *pa = (const BcOAuthParam *) a;
	const BcOAuthParam *pb = (const BcOAuthParam *) b;
	int			r;

	r = strcmp(pa->key, pb->key);
	if (r != 0)
		return r;
	return strcmp(pa->value, pb->value);
}

/*
 * bc_oauth_normalize_url appends the RFC 5849 section 3.4.1.2 base string
 * URI of url to buf (lowercase scheme and host, default port dropped, path
 * kept as is, "/" if empty); returns false if url is not of the form
 * scheme://host[:port][/path] without query, fragment or userinfo.
 */
static bool
bc_oauth_normalize_url(StringInfo buf, const char *url)
{
	const char *p;
	const char *scheme_end;
	const char *host_start;
	const char *host_end;
	const char *auth_end;
	const char *port_start = NULL;
	long		port = -1;
	bool		is_http;
	bool		is_https;
	const char *q;

	if (url == NULL || *url == '\0')
		return false;
	if (strchr(url, '?') != NULL || strchr(url, '#') != NULL)
		return false;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	p = url;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		   (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		return false;
	scheme_end = p;
	host_start = p + 3;

	auth_end = host_start;
	while (*auth_end != '\0' && *auth_end != '/')
		auth_end++;
	if (auth_end == host_start)
		return false;
	for (q = host_start; q < auth_end; q++)
	{
		unsigned char c = (unsigned char) *q;

		if (c == '@' || c <= ' ' || c >= 0x7F)
			return false;
	}

	if (*host_start == '[')
	{
		host_end = memchr(host_start, ']', auth_end - host_start);
		if (host_end == NULL)
			return false;
		host_end++;
		if (host_end < auth_end && *host_end != ':')
			return false;
	}
	else
	{
		host_end = memchr(host_start, ':', auth_end - host_start);
		if (host_end == NULL)
			host_end = auth_end;
	}
	if (host_end == host_start)
		return false;

	if (host_end < auth_end)
	{
		/* ":" port; an empty port means the default */
		port_start = host_end + 1;
		if (port_start < auth_end)
		{
			port = 0;
			for (q = port_start; q < auth_end; q++)
			{
				if (*q < '0' || *q > '9')
					return false;
				port = port * 10 + (*q - '0');
				if (port > 65535)
					return false;
			}
		}
	}

	for (q = url; q < scheme_end; q++)
		appendStringInfoChar(buf, pg_tolower((unsigned char) *q));
	appendStringInfoString(buf, "://");
	for (q = host_start; q < host_end; q++)
		appendStringInfoChar(buf, pg_tolower((unsigned char) *q));

	is_http = (scheme_end - url == 4 && pg_strncasecmp(url, "http", 4) == 0);
	is_https = (scheme_end - url == 5 && pg_strncasecmp(url, "https", 5) == 0);
	if (port >= 0 && !(is_http && port == 80) && !(is_https && port == 443))
		appendStringInfo(buf, ":%ld", port);

	if (*auth_end == '\0')
		appendStringInfoChar(buf, '/');
	else
		appendStringInfoString(buf, auth_end);
	return true;
}

/*
 * bc_oauth_base_string builds the RFC 5849 signature base string from the
 * method, the URL, the query string as sent and nparams extra parameters.
 */
char *
bc_oauth_base_string(const char *method, const char *url, const char *query,
					 int nparams, const char *const *keys,
					 const char *const *values)
{
	StringInfoData out;
	StringInfoData uri;
	StringInfoData plist;
	StringInfoData tmp;
	BcOAuthParam *params;
	int			nalloc;
	int			n = 0;
	int			i;
	const char *m;

	if (method == NULL || *method == '\0' || nparams < 0)
		return NULL;
	for (m = method; *m; m++)
	{
		if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z')))
			return NULL;
	}

	initStringInfo(&uri);
	if (!bc_oauth_normalize_url(&uri, url))
	{
		pfree(uri.data);
		return NULL;
	}

	/* count query pairs to size the parameter array */
	nalloc = nparams + 1;
	if (query != NULL)
	{
		const char *c;

		for (c = query; *c; c++)
		{
			if (*c == '&')
				nalloc++;
		}
	}
	params = palloc(sizeof(BcOAuthParam) * nalloc);

	initStringInfo(&tmp);
	if (query != NULL)
	{
		const char *c = query;

		while (*c != '\0')
		{
			const char *end = strchr(c, '&');
			const char *eq;
			size_t		plen;

			if (end == NULL)
				end = c + strlen(c);
			plen = end - c;
			if (plen > 0)
			{
				eq = memchr(c, '=', plen);
				resetStringInfo(&tmp);
				bc_oauth_form_decode(&tmp, c, eq ? (size_t) (eq - c) : plen);
				params[n].key = bc_oauth_encode_copy(tmp.data, tmp.len);
				resetStringInfo(&tmp);
				if (eq != NULL)
					bc_oauth_form_decode(&tmp, eq + 1, end - (eq + 1));
				params[n].value = bc_oauth_encode_copy(tmp.data, tmp.len);
				n++;
			}
			c = (*end == '&') ? end + 1 : end;
		}
	}
	pfree(tmp.data);

	for (i = 0; i < nparams; i++)
	{
		const char *k = keys[i] ? keys[i] : "";
		const char *v = values[i] ? values[i] : "";

		params[n].key = bc_oauth_encode_copy(k, strlen(k));
		params[n].value = bc_oauth_encode_copy(v, strlen(v));
		n++;
	}

	qsort(params, n, sizeof(BcOAuthParam), bc_oauth_param_cmp);

	initStringInfo(&plist);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&plist, '&');
		appendStringInfoString(&plist, params[i].key);
		appendStringInfoChar(&plist, '=');
		appendStringInfoString(&plist, params[i].value);
		pfree(params[i].key);
		pfree(params[i].value);
	}
	pfree(params);

	initStringInfo(&out);
	for (m = method; *m; m++)
		appendStringInfoChar(&out, pg_toupper((unsigned char) *m));
	appendStringInfoChar(&out, '&');
	bc_oauth_percent_encode(&out, uri.data, uri.len);
	appendStringInfoChar(&out, '&');
	bc_oauth_percent_encode(&out, plist.data, plist.len);

	pfree(uri.data);
	pfree(plist.data);
	return out.data;
}

/*
 * bc_oauth_sign returns base64(HMAC-SHA1(enc(consumer_secret) & enc(token_secret),
 * base_string)), or NULL with *errmsg set if the HMAC computation fails.
 */
char *
bc_oauth_sign(const char *base_string, const char *consumer_secret,
			  const char *token_secret, char **errmsg)
{
	StringInfoData key;
	pg_hmac_ctx *ctx;
	uint8		digest[SHA1_DIGEST_LENGTH];
	char	   *b64;
	int			b64len;
	bool		ok;

	if (errmsg)
		*errmsg = NULL;
	if (base_string == NULL || consumer_secret == NULL || token_secret == NULL)
	{
		if (errmsg)
			*errmsg = pstrdup("missing input for signature");
		return NULL;
	}

#ifndef FRONTEND
	/* the OpenSSL HMAC implementation registers itself with the resource owner */
	if (CurrentResourceOwner == NULL)
	{
		if (errmsg)
			*errmsg = pstrdup("HMAC needs a current resource owner");
		return NULL;
	}
#endif

	initStringInfo(&key);
	bc_oauth_percent_encode(&key, consumer_secret, strlen(consumer_secret));
	appendStringInfoChar(&key, '&');
	bc_oauth_percent_encode(&key, token_secret, strlen(token_secret));

	ctx = pg_hmac_create(PG_SHA1);
	if (ctx == NULL)
	{
		explicit_bzero(key.data, key.len);
		pfree(key.data);
		if (errmsg)
			*errmsg = pstrdup("could not create HMAC context");
		return NULL;
	}
	ok = (pg_hmac_init(ctx, (const uint8 *) key.data, key.len) == 0 &&
		  pg_hmac_update(ctx, (const uint8 *) base_string, strlen(base_string)) == 0 &&
		  pg_hmac_final(ctx, digest, sizeof(digest)) == 0);
	pg_hmac_free(ctx);
	explicit_bzero(key.data, key.len);
	pfree(key.data);
	if (!ok)
	{
		if (errmsg)
			*errmsg = pstrdup("HMAC-SHA1 computation failed");
		return NULL;
	}

	b64 = palloc(pg_b64_enc_len(sizeof(digest)) + 1);
	b64len = pg_b64_encode((const char *) digest, sizeof(digest), b64,
						   pg_b64_enc_len(sizeof(digest)));
	if (b64len < 0)
	{
		pfree(b64);
		if (errmsg)
			*errmsg = pstrdup("base64 encoding failed");
		return NULL;
	}
	b64[b64len] = '\0';
	return b64;
}

/*
 * bc_oauth_append_header_param appends ", name=\"enc(value)\"" (without the
 * leading comma for the first parameter) to buf.
 */
static void
bc_oauth_append_header_param(StringInfo buf, const char *name, const char *value)
{
	appendStringInfoString(buf, ", ");
	appendStringInfoString(buf, name);
	appendStringInfoString(buf, "=\"");
	bc_oauth_percent_encode(buf, value, strlen(value));
	appendStringInfoChar(buf, '"');
}

/*
 * bc_oauth_authorization_header signs a request and returns the complete
 * Authorization header value, or NULL with *errmsg set.
 */
char *
bc_oauth_authorization_header(const BcOAuthCredentials *cred,
							  const char *method, const char *url,
							  const char *query, int64 timestamp,
							  const char *nonce, char **errmsg)
{
	const char *keys[6];
	const char *values[6];
	char		tsbuf[32];
	char	   *base;
	char	   *sig;
	char	   *err = NULL;
	StringInfoData hdr;

	if (errmsg)
		*errmsg = NULL;
	if (cred == NULL || cred->consumer_key == NULL || cred->consumer_secret == NULL ||
		cred->token_value == NULL || cred->token_secret == NULL ||
		cred->consumer_key[0] == '\0' || cred->token_value[0] == '\0')
	{
		if (errmsg)
			*errmsg = pstrdup("OAuth credentials are incomplete");
		return NULL;
	}
	if (nonce == NULL || nonce[0] == '\0')
	{
		if (errmsg)
			*errmsg = pstrdup("OAuth nonce is empty");
		return NULL;
	}
	if (timestamp < 0)
	{
		if (errmsg)
			*errmsg = pstrdup("OAuth timestamp is negative");
		return NULL;
	}
	snprintf(tsbuf, sizeof(tsbuf), INT64_FORMAT, timestamp);

	keys[0] = "oauth_consumer_key";
	values[0] = cred->consumer_key;
	keys[1] = "oauth_token";
	values[1] = cred->token_value;
	keys[2] = "oauth_signature_method";
	values[2] = "HMAC-SHA1";
	keys[3] = "oauth_timestamp";
	values[3] = tsbuf;
	keys[4] = "oauth_nonce";
	values[4] = nonce;
	keys[5] = "oauth_version";
	values[5] = "1.0";

	base = bc_oauth_base_string(method, url, query, 6, keys, values);
	if (base == NULL)
	{
		if (errmsg)
			*errmsg = pstrdup("invalid HTTP method or URL for OAuth signing");
		return NULL;
	}

	sig = bc_oauth_sign(base, cred->consumer_secret, cred->token_secret, &err);
	pfree(base);
	if (sig == NULL)
	{
		if (errmsg)
			*errmsg = err;
		else if (err)
			pfree(err);
		return NULL;
	}

	initStringInfo(&hdr);
	appendStringInfoString(&hdr, "OAuth realm=\"\"");
	bc_oauth_append_header_param(&hdr, "oauth_consumer_key", cred->consumer_key);
	bc_oauth_append_header_param(&hdr, "oauth_token", cred->token_value);
	bc_oauth_append_header_param(&hdr, "oauth_signature_method", "HMAC-SHA1");
	bc_oauth_append_header_param(&hdr, "oauth_timestamp", tsbuf);
	bc_oauth_append_header_param(&hdr, "oauth_nonce", nonce);
	bc_oauth_append_header_param(&hdr, "oauth_version", "1.0");
	bc_oauth_append_header_param(&hdr, "oauth_signature", sig);
	pfree(sig);
	return hdr.data;
}

/*
 * bc_oauth_make_nonce fills out with 32 lowercase hex characters from
 * pg_strong_random plus a NUL; returns false if the random source fails.
 */
bool
bc_oauth_make_nonce(char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8		raw[BC_OAUTH_NONCE_LEN / 2];
	int			i;

	if (!pg_strong_random(raw, sizeof(raw)))
	{
		out[0] = '\0';
		return false;
	}
	for (i = 0; i < (int) sizeof(raw); i++)
	{
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0F];
	}
	out[BC_OAUTH_NONCE_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return true;
}
