/*-------------------------------------------------------------------------
 *
 * oauth.h
 *	  OAuth 1.0a HMAC-SHA1 request signing (RFC 5849) for BrickLink's
 *	  "simpler flow": consumer key/secret plus a pre-issued access token.
 *
 * Pure C: compiles in the backend and as frontend code (-DFRONTEND).
 * Never raises errors; failures are reported by return value and a
 * palloc'd message that never contains secrets.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BRICKCAT_OAUTH_H
#define BRICKCAT_OAUTH_H

#include "lib/stringinfo.h"

/* Length of a nonce produced by bc_oauth_make_nonce, without the NUL. */
#define BC_OAUTH_NONCE_LEN 32

typedef struct BcOAuthCredentials
{
	const char *consumer_key;
	const char *consumer_secret;
	const char *token_value;
	const char *token_secret;
} BcOAuthCredentials;

/* Percent-encode s[0..len) per RFC 3986 into buf (appends). */
extern void bc_oauth_percent_encode(StringInfo buf, const char *s, size_t len);

/*
 * Build the Authorization header value ("OAuth realm=\"\", oauth_...") for
 * method + url (scheme://host[:port]/path, no query) + query exactly as sent
 * (may be NULL or empty; its k=v pairs are form-decoded then re-encoded for
 * the base string).  Returns a palloc'd string, or NULL with *errmsg set to
 * a palloc'd fixed message.
 */
extern char *bc_oauth_authorization_header(const BcOAuthCredentials *cred,
										   const char *method,
										   const char *url,
										   const char *query,
										   int64 timestamp,
										   const char *nonce,
										   char **errmsg);

/* Generate a fresh nonce: 32 lowercase hex chars + NUL into out (>= 33 bytes). */
extern bool bc_oauth_make_nonce(char *out);

/*
 * Build the signature base string from method, url, query (as above) and
 * nparams extra (oauth_*) parameters given unencoded.  Returns a palloc'd
 * string, or NULL if the method or URL is invalid.
 */
extern char *bc_oauth_base_string(const char *method, const char *url,
								  const char *query, int nparams,
								  const char *const *keys,
								  const char *const *values);

/*
 * Compute base64(HMAC-SHA1(key, text)) for key = enc(consumer_secret) &
 * enc(token_secret).  Returns palloc'd string or NULL with *errmsg set.
 * Exposed for tests.
 */
extern char *bc_oauth_sign(const char *base_string, const char *consumer_secret,
						   const char *token_secret, char **errmsg);

#endif							/* BRICKCAT_OAUTH_H */
