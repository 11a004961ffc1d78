/*-------------------------------------------------------------------------
 *
 * json_map.c
 *	  Classify BrickLink API responses and map their JSON into C structs.
 *
 * BrickLink wraps every answer in {"meta":{...,"code":N},"data":...} and
 * the HTTP status says little: HTTP 200 may carry meta.code 401 or 500.
 * A gateway in front of the API answers overload with an HTML page.  This
 * module turns any byte string into a classified envelope and maps the
 * data of the catalog endpoints into C structs, strictly checking types.
 * It never raises errors: the background worker must survive any reply.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>

#include "lib/stringinfo.h"

#include "entities.h"
#include "mb/pg_wchar.h"

#include "json_map.h"

/* Longest meta.message / meta.description kept, in bytes. */
#define BC_JSON_MAX_META_TEXT 512

/*
 * bc_outcome_name returns the stable lowercase name of outcome o.
 */
const char *
bc_outcome_name(BcOutcome o)
{
	switch (o)
	{
		case BC_OUTCOME_OK:
			return "ok";
		case BC_OUTCOME_NOT_FOUND:
			return "not_found";
		case BC_OUTCOME_BAD_REQUEST:
			return "bad_request";
		case BC_OUTCOME_AUTH_ERROR:
			return "auth_error";
		case BC_OUTCOME_THROTTLED:
			return "throttled";
		case BC_OUTCOME_SERVER_ERROR:
			return "server_error";
		case BC_OUTCOME_TIMEOUT:
			return "timeout";
		case BC_OUTCOME_NETWORK_ERROR:
			return "network_error";
		case BC_OUTCOME_BAD_RESPONSE:
			return "bad_response";
	}
	return "unknown";
}

/*
 * bc_outcome_is_retryable reports whether an outcome is transient in
 * itself; bad_response returns false (see BcEnvelope.retryable).
 */
bool
bc_outcome_is_retryable(BcOutcome o)
{
	switch (o)
	{
		case BC_OUTCOME_THROTTLED:
		case BC_OUTCOME_SERVER_ERROR:
		case BC_OUTCOME_TIMEOUT:
		case BC_OUTCOME_NETWORK_ERROR:
			return true;
		default:
			return false;
	}
}

/*
 * bc_json_utf8_valid reports whether s[0..len) is valid UTF-8 (no
 * overlongs, no surrogates, nothing above U+10FFFF) without NUL bytes,
 * using PostgreSQL's own verifier.
 */
static bool
bc_json_utf8_valid(const char *s, size_t len)
{
	if (len > (size_t) PG_INT32_MAX)
		return false;
	return pg_encoding_verifymbstr(PG_UTF8, s, (int) len) == (int) len;
}

/*
 * bc_json_sanitize_text returns a palloc'd copy of s[0..len) that is valid
 * UTF-8, has control characters replaced by spaces, collapsed whitespace,
 * and at most BC_JSON_MAX_META_TEXT bytes (cut at a character boundary).
 */
static char *
bc_json_sanitize_text(const char *s, size_t len)
{
	char	   *t;
	size_t		n;
	size_t		i;

	if (len > 4 * BC_JSON_MAX_META_TEXT)
		len = 4 * BC_JSON_MAX_META_TEXT;
	t = bc_entities_decode(s, len, false, true);
	n = strlen(t);
	for (i = 0; i < n; i++)
	{
		if ((unsigned char) t[i] < 0x20 || t[i] == 0x7F)
			t[i] = ' ';
	}
	if (n > BC_JSON_MAX_META_TEXT)
	{
		n = BC_JSON_MAX_META_TEXT;
		while (n > 0 && ((unsigned char) t[n] & 0xC0) == 0x80)
			n--;
		t[n] = '\0';
	}
	return t;
}

/*
 * bc_json_decimal_text validates s[0..len) as ^[+-]?[0-9]+(\.[0-9]+)?$ of
 * at most BC_JSON_MAX_DECIMAL characters (after dropping a leading '+')
 * and returns a palloc'd copy without the '+', or NULL if invalid.
 */
char *
bc_json_decimal_text(const char *s, size_t len)
{
	size_t		i = 0;
	size_t		int_digits = 0;
	size_t		frac_digits = 0;

	if (s == NULL)
		return NULL;
	if (len > 0 && s[0] == '+')
	{
		s++;
		len--;
	}
	if (len == 0 || len > BC_JSON_MAX_DECIMAL)
		return NULL;
	if (s[0] == '-')
		i++;
	while (i < len && s[i] >= '0' && s[i] <= '9')
	{
		i++;
		int_digits++;
	}
	if (int_digits == 0)
		return NULL;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			i++;
			frac_digits++;
		}
		if (frac_digits == 0)
			return NULL;
	}
	if (i != len)
		return NULL;
	return pnstrdup(s, len);
}

/*
 * bc_json_decimal_is_zero reports whether validated decimal text d is zero.
 */
static bool
bc_json_decimal_is_zero(const char *d)
{
	for (; *d; d++)
	{
		if (*d >= '1' && *d <= '9')
			return false;
	}
	return true;
}

/*
 * bc_json_is_ws reports whether c is JSON whitespace.
 */
static inline bool
bc_json_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * bc_json_looks_html reports whether body[0..len) is an HTML page: its first
 * non-whitespace byte is '<' or it contains "<html" (any case).
 */
static bool
bc_json_looks_html(const char *body, size_t len)
{
	size_t		i = 0;

	while (i < len && bc_json_is_ws(body[i]))
		i++;
	if (i < len && body[i] == '<')
		return true;
	for (; i + 5 <= len; i++)
	{
		if (body[i] == '<' && pg_strncasecmp(body + i + 1, "html", 4) == 0)
			return true;
	}
	return false;
}

/*
 * bc_json_set_outcome records outcome o, its retryability and a fixed
 * reason text in env.
 */
static void
bc_json_set_outcome(BcEnvelope *env, BcOutcome o, bool retryable,
					const char *reason)
{
	env->outcome = o;
	env->retryable = retryable;
	if (env->error)
		pfree(env->error);
	env->error = reason ? pstrdup(reason) : NULL;
}

/*
 * bc_json_classify_unparsable classifies a body that is not JSON (or is
 * truncated, malformed or empty) using the HTTP status and HTML sniffing.
 */
static void
bc_json_classify_unparsable(BcEnvelope *env, const char *body, size_t len,
							const char *reason)
{
	int			st = env->http_status;

	if (st == 429)
		bc_json_set_outcome(env, BC_OUTCOME_THROTTLED, true,
							"HTTP 429 with a non-JSON body");
	else if (len > 0 && bc_json_looks_html(body, len))
	{
		if (st == 503)
			bc_json_set_outcome(env, BC_OUTCOME_THROTTLED, true,
								"HTML page from the gateway (HTTP 503)");
		else
			bc_json_set_outcome(env, BC_OUTCOME_SERVER_ERROR, true,
								"HTML page instead of JSON");
	}
	else if (st == 503)
		bc_json_set_outcome(env, BC_OUTCOME_THROTTLED, true,
							"HTTP 503 with a non-JSON body");
	else if (st >= 500 && st <= 599)
		bc_json_set_outcome(env, BC_OUTCOME_SERVER_ERROR, true,
							"HTTP 5xx with a non-JSON body");
	else
		bc_json_set_outcome(env, BC_OUTCOME_BAD_RESPONSE, true, reason);
}

/*
 * bc_json_classify_shape handles well-formed JSON that is not a BrickLink
 * envelope: throttling/server errors by HTTP status, else a permanent
 * bad_response with the given reason.
 */
static void
bc_json_classify_shape(BcEnvelope *env, const char *reason)
{
	int			st = env->http_status;

	if (st == 429 || st == 503)
		bc_json_set_outcome(env, BC_OUTCOME_THROTTLED, true, reason);
	else if (st >= 500 && st <= 599)
		bc_json_set_outcome(env, BC_OUTCOME_SERVER_ERROR, true, reason);
	else
		bc_json_set_outcome(env, BC_OUTCOME_BAD_RESPONSE, false, reason);
}

/*
 * bc_json_outcome_for_code maps a BrickLink meta.code to an outcome.
 */
static BcOutcome
bc_json_outcome_for_code(int64 code)
{
	switch (code)
	{
		case 200:
		case 201:
		case 204:
			return BC_OUTCOME_OK;
		case 404:
			return BC_OUTCOME_NOT_FOUND;
		case 400:
		case 405:
		case 415:
		case 422:
			return BC_OUTCOME_BAD_REQUEST;
		case 401:
		case 403:
			return BC_OUTCOME_AUTH_ERROR;
		case 429:
			return BC_OUTCOME_THROTTLED;
		default:
			break;
	}
	if (code >= 500 && code <= 599)
		return BC_OUTCOME_SERVER_ERROR;
	if (code >= 400 && code <= 499)
		return BC_OUTCOME_BAD_REQUEST;
	return BC_OUTCOME_BAD_RESPONSE;
}

/*
 * bc_json_meta_text returns a sanitized copy of string member key of meta,
 * or NULL if it is absent or not a string.
 */
static char *
bc_json_meta_text(json_object *meta, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(meta, key, &v) ||
		!json_object_is_type(v, json_type_string))
		return NULL;
	return bc_json_sanitize_text(json_object_get_string(v),
								 (size_t) json_object_get_string_len(v));
}

/*
 * bc_json_parse_envelope parses and classifies a BrickLink response body
 * received with HTTP status http_status into *env.
 */
void
bc_json_parse_envelope(const char *body, size_t len, int http_status,
					   BcEnvelope *env)
{
	json_tokener *tok;
	json_object *root;
	json_object *meta;
	json_object *code;
	enum json_tokener_error jerr;
	size_t		i;
	size_t		end;
	int64		c;
	char		buf[64];

	memset(env, 0, sizeof(BcEnvelope));
	env->http_status = http_status;

	if (body == NULL)
		len = 0;
	if (len > BC_JSON_MAX_BODY)
	{
		bc_json_set_outcome(env, BC_OUTCOME_BAD_RESPONSE, false,
							"response body too large");
		return;
	}

	/* skip whitespace and a UTF-8 byte order mark */
	i = 0;
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && bc_json_is_ws(body[i]))
		i++;
	if (i == len)
	{
		bc_json_classify_unparsable(env, body, len, "empty response body");
		return;
	}
	if (memchr(body, '\0', len) != NULL)
	{
		bc_json_classify_unparsable(env, body, len, "NUL byte in response body");
		return;
	}

	tok = json_tokener_new_ex(BC_JSON_MAX_DEPTH);
	if (tok == NULL)
	{
		bc_json_set_outcome(env, BC_OUTCOME_BAD_RESPONSE, true,
							"out of memory creating JSON parser");
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body + i, (int) (len - i));
	jerr = json_tokener_get_error(tok);
	end = i + json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (root == NULL)
	{
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			bc_json_classify_unparsable(env, body, len, "truncated JSON");
		else if (jerr == json_tokener_error_depth)
			bc_json_classify_unparsable(env, body, len, "JSON nested too deeply");
		else
			bc_json_classify_unparsable(env, body, len, "malformed JSON");
		return;
	}
	while (end < len && bc_json_is_ws(body[end]))
		end++;
	if (end < len)
	{
		json_object_put(root);
		bc_json_classify_unparsable(env, body, len, "trailing data after JSON");
		return;
	}

	env->root = root;
	if (!json_object_is_type(root, json_type_object))
	{
		bc_json_classify_shape(env, "JSON body is not an object");
		return;
	}
	if (!json_object_object_get_ex(root, "meta", &meta) || meta == NULL)
	{
		bc_json_classify_shape(env, "envelope has no meta object");
		return;
	}
	if (!json_object_is_type(meta, json_type_object))
	{
		bc_json_classify_shape(env, "meta is not an object");
		return;
	}
	if (!json_object_object_get_ex(meta, "code", &code) || code == NULL)
	{
		bc_json_classify_shape(env, "meta.code is missing");
		return;
	}
	if (!json_object_is_type(code, json_type_int))
	{
		bc_json_classify_shape(env, "meta.code is not an integer");
		return;
	}
	c = json_object_get_int64(code);
	if (c < 0 || c > 9999)
	{
		bc_json_classify_shape(env, "meta.code is out of range");
		return;
	}
	env->meta_code = (int) c;
	env->meta_message = bc_json_meta_text(meta, "message");
	env->meta_description = bc_json_meta_text(meta, "description");

	env->outcome = bc_json_outcome_for_code(c);
	if (env->outcome == BC_OUTCOME_OK)
	{
		json_object *data;

		env->retryable = false;
		if (json_object_object_get_ex(root, "data", &data))
			env->data = data;	/* NULL for JSON null */
		return;
	}
	snprintf(buf, sizeof(buf), "BrickLink meta.code %d", (int) c);
	bc_json_set_outcome(env, env->outcome,
						bc_outcome_is_retryable(env->outcome), buf);
}

/*
 * bc_json_envelope_free releases everything bc_json_parse_envelope
 * allocated and zeroes *env.
 */
void
bc_json_envelope_free(BcEnvelope *env)
{
	if (env == NULL)
		return;
	if (env->root)
		json_object_put(env->root);
	if (env->meta_message)
		pfree(env->meta_message);
	if (env->meta_description)
		pfree(env->meta_description);
	if (env->error)
		pfree(env->error);
	memset(env, 0, sizeof(BcEnvelope));
}

/* ----------------------------------------------------------------
 * Field accessors.  prefix is "" or e.g. "data[3] "; field names are
 * compile-time constants, so error texts never echo response data.
 * ----------------------------------------------------------------
 */

/*
 * bc_json_fail sets *err to "<prefix>field <key>: <what>" and returns false.
 */
static bool
bc_json_fail(char **err, const char *prefix, const char *key, const char *what)
{
	if (err)
		*err = psprintf("%sfield %s: %s", prefix, key, what);
	return false;
}

/*
 * bc_json_member returns member key of obj, or NULL if absent or JSON null.
 */
static json_object *
bc_json_member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/*
 * bc_json_get_string stores a palloc'd copy of string member key in *out
 * (NULL if missing, or if empty and empty_is_null); fails on other types,
 * invalid UTF-8 or NUL bytes.
 */
static bool
bc_json_get_string(json_object *obj, const char *prefix, const char *key,
				   bool empty_is_null, char **out, char **err)
{
	json_object *v = bc_json_member(obj, key);
	const char *s;
	size_t		len;

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return bc_json_fail(err, prefix, key, "expected string");
	s = json_object_get_string(v);
	len = (size_t) json_object_get_string_len(v);
	if (!bc_json_utf8_valid(s, len))
		return bc_json_fail(err, prefix, key, "invalid UTF-8 or NUL byte");
	if (len == 0 && empty_is_null)
		return true;
	*out = pnstrdup(s, len);
	return true;
}

/*
 * bc_json_get_text stores in *out the entity-decoded (optionally
 * tag-stripped), trimmed text of string member key; NULL if missing or
 * empty after decoding.
 */
static bool
bc_json_get_text(json_object *obj, const char *prefix, const char *key,
				 bool strip_tags, char **out, char **err)
{
	json_object *v = bc_json_member(obj, key);
	char	   *t;

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return bc_json_fail(err, prefix, key, "expected string");
	t = bc_entities_decode(json_object_get_string(v),
						   (size_t) json_object_get_string_len(v),
						   strip_tags, true);
	if (t[0] == '\0')
		pfree(t);
	else
		*out = t;
	return true;
}

/*
 * bc_json_get_url stores the normalized URL of string member key in *out:
 * "//host/x" becomes "https://host/x", other forms are kept; NULL if
 * missing or empty.
 */
static bool
bc_json_get_url(json_object *obj, const char *prefix, const char *key,
				char **out, char **err)
{
	char	   *s;

	if (!bc_json_get_string(obj, prefix, key, true, &s, err))
		return false;
	if (s != NULL && s[0] == '/' && s[1] == '/')
	{
		*out = psprintf("https:%s", s);
		pfree(s);
	}
	else
		*out = s;
	return true;
}

/*
 * bc_json_get_decimal stores validated decimal text of member key (a string
 * or a JSON number, kept digit for digit) in *out; NULL if missing or "".
 */
static bool
bc_json_get_decimal(json_object *obj, const char *prefix, const char *key,
					char **out, char **err)
{
	json_object *v = bc_json_member(obj, key);
	const char *s;
	size_t		len;

	*out = NULL;
	if (v == NULL)
		return true;
	switch (json_object_get_type(v))
	{
		case json_type_string:
			s = json_object_get_string(v);
			len = (size_t) json_object_get_string_len(v);
			if (len == 0)
				return true;
			break;
		case json_type_int:
		case json_type_double:
			/* the tokener keeps the original text of numbers */
			s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
			len = strlen(s);
			break;
		default:
			return bc_json_fail(err, prefix, key, "expected string or number");
	}
	*out = bc_json_decimal_text(s, len);
	if (*out == NULL)
		return bc_json_fail(err, prefix, key, "invalid decimal");
	return true;
}

/*
 * bc_json_parse_int64_text parses s[0..len) as ^[+-]?[0-9]+$ into *out;
 * false on syntax error or int64 overflow.
 */
static bool
bc_json_parse_int64_text(const char *s, size_t len, int64 *out)
{
	size_t		i = 0;
	bool		neg = false;
	uint64		v = 0;

	if (len > 0 && (s[0] == '+' || s[0] == '-'))
	{
		neg = (s[0] == '-');
		i++;
	}
	if (i == len)
		return false;
	for (; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (PG_UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (!neg && v > (uint64) PG_INT64_MAX)
		return false;
	if (neg && v > (uint64) PG_INT64_MAX + 1)
		return false;
	*out = neg ? (int64) (0 - v) : (int64) v;
	return true;
}

/*
 * bc_json_get_integer stores integer member key (JSON integer, integral
 * JSON number or numeric string) in *out, checking [min, max]; *present is
 * false (and *out 0) if it is missing, null or "".
 */
static bool
bc_json_get_integer(json_object *obj, const char *prefix, const char *key,
					int64 min, int64 max, bool *present, int64 *out,
					char **err)
{
	json_object *v = bc_json_member(obj, key);
	int64		val;

	*present = false;
	*out = 0;
	if (v == NULL)
		return true;
	switch (json_object_get_type(v))
	{
		case json_type_int:
			val = json_object_get_int64(v);
			/* values beyond int64 are clamped by json-c */
			if (val == PG_INT64_MAX || val == PG_INT64_MIN)
				return bc_json_fail(err, prefix, key, "integer out of range");
			break;
		case json_type_double:
			{
				double		d = json_object_get_double(v);

				if (!isfinite(d) || floor(d) != d)
					return bc_json_fail(err, prefix, key, "expected integer");
				if (d < (double) min || d > (double) max)
					return bc_json_fail(err, prefix, key, "integer out of range");
				val = (int64) d;
				break;
			}
		case json_type_string:
			{
				const char *s = json_object_get_string(v);
				size_t		len = (size_t) json_object_get_string_len(v);

				if (len == 0)
					return true;
				if (len > 40 || !bc_json_parse_int64_text(s, len, &val))
					return bc_json_fail(err, prefix, key, "expected integer");
				break;
			}
		default:
			return bc_json_fail(err, prefix, key, "expected integer");
	}
	if (val < min || val > max)
		return bc_json_fail(err, prefix, key, "integer out of range");
	*present = true;
	*out = val;
	return true;
}

/*
 * bc_json_get_int32 is bc_json_get_integer restricted to int32 range.
 */
static bool
bc_json_get_int32(json_object *obj, const char *prefix, const char *key,
				  bool *present, int *out, char **err)
{
	int64		v;

	if (!bc_json_get_integer(obj, prefix, key, PG_INT32_MIN, PG_INT32_MAX,
							 present, &v, err))
		return false;
	*out = (int) v;
	return true;
}

/*
 * bc_json_get_bool stores boolean member key (JSON boolean, integer 0/1 or
 * string "true"/"false") in *out; false if missing.
 */
static bool
bc_json_get_bool(json_object *obj, const char *prefix, const char *key,
				 bool *out, char **err)
{
	json_object *v = bc_json_member(obj, key);

	*out = false;
	if (v == NULL)
		return true;
	switch (json_object_get_type(v))
	{
		case json_type_boolean:
			*out = json_object_get_boolean(v) ? true : false;
			return true;
		case json_type_int:
			{
				int64		i = json_object_get_int64(v);

				if (i != 0 && i != 1)
					return bc_json_fail(err, prefix, key, "expected boolean");
				*out = (i == 1);
				return true;
			}
		case json_type_string:
			{
				const char *s = json_object_get_string(v);

				if (strcmp(s, "true") == 0)
					*out = true;
				else if (strcmp(s, "false") != 0)
					return bc_json_fail(err, prefix, key, "expected boolean");
				return true;
			}
		default:
			return bc_json_fail(err, prefix, key, "expected boolean");
	}
}

/*
 * bc_json_pfree_if frees p when it is not NULL.
 */
static inline void
bc_json_pfree_if(void *p)
{
	if (p)
		pfree(p);
}

/* ----------------------------------------------------------------
 * Mappers
 * ----------------------------------------------------------------
 */

/*
 * bc_json_item_free releases the strings of an item and zeroes it.
 */
void
bc_json_item_free(BcItem *item)
{
	if (item == NULL)
		return;
	bc_json_pfree_if(item->no);
	bc_json_pfree_if(item->type);
	bc_json_pfree_if(item->name);
	bc_json_pfree_if(item->alternate_no);
	bc_json_pfree_if(item->image_url);
	bc_json_pfree_if(item->thumbnail_url);
	bc_json_pfree_if(item->description);
	bc_json_pfree_if(item->language_code);
	bc_json_pfree_if(item->weight);
	bc_json_pfree_if(item->dim_x);
	bc_json_pfree_if(item->dim_y);
	bc_json_pfree_if(item->dim_z);
	memset(item, 0, sizeof(BcItem));
}

/*
 * bc_json_zero_to_null frees and clears *d when it holds a zero decimal.
 */
static void
bc_json_zero_to_null(char **d)
{
	if (*d != NULL && bc_json_decimal_is_zero(*d))
	{
		pfree(*d);
		*d = NULL;
	}
}

/*
 * bc_json_require_object fails with "<what>: expected object" unless data
 * is a JSON object.
 */
static bool
bc_json_require_object(json_object *data, const char *what, char **err)
{
	if (data == NULL)
	{
		if (err)
			*err = psprintf("%s: missing", what);
		return false;
	}
	if (!json_object_is_type(data, json_type_object))
	{
		if (err)
			*err = psprintf("%s: expected object", what);
		return false;
	}
	return true;
}

/*
 * bc_json_map_item maps the data of /items/{type}/{no} into *out.
 */
bool
bc_json_map_item(json_object *data, BcItem *out, char **err)
{
	memset(out, 0, sizeof(BcItem));
	if (err)
		*err = NULL;
	if (!bc_json_require_object(data, "data", err))
		return false;

	if (!bc_json_get_string(data, "", "no", true, &out->no, err) ||
		!bc_json_get_string(data, "", "type", true, &out->type, err) ||
		!bc_json_get_text(data, "", "name", false, &out->name, err) ||
		!bc_json_get_string(data, "", "alternate_no", true, &out->alternate_no, err) ||
		!bc_json_get_url(data, "", "image_url", &out->image_url, err) ||
		!bc_json_get_url(data, "", "thumbnail_url", &out->thumbnail_url, err) ||
		!bc_json_get_text(data, "", "description", true, &out->description, err) ||
		!bc_json_get_string(data, "", "language_code", true, &out->language_code, err) ||
		!bc_json_get_decimal(data, "", "weight", &out->weight, err) ||
		!bc_json_get_decimal(data, "", "dim_x", &out->dim_x, err) ||
		!bc_json_get_decimal(data, "", "dim_y", &out->dim_y, err) ||
		!bc_json_get_decimal(data, "", "dim_z", &out->dim_z, err) ||
		!bc_json_get_int32(data, "", "category_id", &out->has_category,
						   &out->category_id, err) ||
		!bc_json_get_int32(data, "", "year_released", &out->has_year,
						   &out->year_released, err) ||
		!bc_json_get_bool(data, "", "is_obsolete", &out->is_obsolete, err))
	{
		bc_json_item_free(out);
		return false;
	}
	if (out->no == NULL || out->type == NULL)
	{
		bc_json_fail(err, "", out->no == NULL ? "no" : "type", "missing");
		bc_json_item_free(out);
		return false;
	}
	bc_json_zero_to_null(&out->weight);
	bc_json_zero_to_null(&out->dim_x);
	bc_json_zero_to_null(&out->dim_y);
	bc_json_zero_to_null(&out->dim_z);
	if (out->has_category && out->category_id == 0)
		out->has_category = false;
	if (out->has_year && out->year_released == 0)
		out->has_year = false;
	return true;
}

/*
 * bc_json_require_list returns the rows of data: its elements if it is an
 * array, or data itself as one row if allow_single and it is an object.
 */
static bool
bc_json_require_list(json_object *data, bool allow_single, size_t *count,
					 char **err)
{
	if (data == NULL)
	{
		if (err)
			*err = pstrdup("data: missing");
		return false;
	}
	if (json_object_is_type(data, json_type_array))
	{
		*count = json_object_array_length(data);
		if (*count > (size_t) PG_INT32_MAX / 64)
		{
			if (err)
				*err = pstrdup("data: too many rows");
			return false;
		}
		return true;
	}
	if (allow_single && json_object_is_type(data, json_type_object))
	{
		*count = 1;
		return true;
	}
	if (err)
		*err = pstrdup(allow_single ? "data: expected array or object" :
					   "data: expected array");
	return false;
}

/*
 * bc_json_row returns row i of data (data itself when it is an object) and
 * fails with "data[i]: expected object" for non-object rows.
 */
static json_object *
bc_json_row(json_object *data, size_t i, char *prefix, size_t prefixlen,
			char **err)
{
	json_object *row;

	if (json_object_is_type(data, json_type_object))
	{
		prefix[0] = '\0';
		return data;
	}
	row = json_object_array_get_idx(data, i);
	snprintf(prefix, prefixlen, "data[%zu] ", i);
	if (row == NULL || !json_object_is_type(row, json_type_object))
	{
		if (err)
			*err = psprintf("data[%zu]: expected object", i);
		return NULL;
	}
	return row;
}

/*
 * bc_json_map_known_colors maps the data of /items/{type}/{no}/colors
 * (a list of {color_id, quantity}) into a palloc'd array.
 */
bool
bc_json_map_known_colors(json_object *data, BcKnownColor **out, int *n,
						 char **err)
{
	size_t		count;
	size_t		i;
	BcKnownColor *arr;
	char		prefix[48];

	*out = NULL;
	*n = 0;
	if (err)
		*err = NULL;
	if (!bc_json_require_list(data, false, &count, err))
		return false;
	if (count == 0)
		return true;
	arr = palloc0(sizeof(BcKnownColor) * count);
	for (i = 0; i < count; i++)
	{
		json_object *row = bc_json_row(data, i, prefix, sizeof(prefix), err);
		bool		present;
		bool		qpresent;

		if (row == NULL ||
			!bc_json_get_int32(row, prefix, "color_id", &present,
							   &arr[i].color_id, err) ||
			!bc_json_get_int32(row, prefix, "quantity", &qpresent,
							   &arr[i].quantity, err))
		{
			pfree(arr);
			return false;
		}
		if (!present)
		{
			bc_json_fail(err, prefix, "color_id", "missing");
			pfree(arr);
			return false;
		}
	}
	*out = arr;
	*n = (int) count;
	return true;
}

/*
 * bc_json_price_guide_free releases the strings of a price guide and
 * zeroes it.
 */
void
bc_json_price_guide_free(BcPriceGuide *pg)
{
	if (pg == NULL)
		return;
	bc_json_pfree_if(pg->item_no);
	bc_json_pfree_if(pg->item_type);
	bc_json_pfree_if(pg->new_or_used);
	bc_json_pfree_if(pg->currency_code);
	bc_json_pfree_if(pg->min_price);
	bc_json_pfree_if(pg->max_price);
	bc_json_pfree_if(pg->avg_price);
	bc_json_pfree_if(pg->qty_avg_price);
	memset(pg, 0, sizeof(BcPriceGuide));
}

/*
 * bc_json_check_price_detail validates the rows of price_detail (quantity
 * or misspelt qunatity, unit_price) and stores their number in *n.
 */
static bool
bc_json_check_price_detail(json_object *data, int *n, char **err)
{
	json_object *pd = bc_json_member(data, "price_detail");
	size_t		count;
	size_t		i;

	*n = 0;
	if (pd == NULL)
		return true;
	if (!json_object_is_type(pd, json_type_array))
		return bc_json_fail(err, "", "price_detail", "expected array");
	count = json_object_array_length(pd);
	if (count > (size_t) PG_INT32_MAX)
		return bc_json_fail(err, "", "price_detail", "too many rows");
	for (i = 0; i < count; i++)
	{
		json_object *row = json_object_array_get_idx(pd, i);
		char		prefix[64];
		bool		present;
		int			q;
		char	   *price;

		snprintf(prefix, sizeof(prefix), "price_detail[%zu] ", i);
		if (row == NULL || !json_object_is_type(row, json_type_object))
		{
			if (err)
				*err = psprintf("price_detail[%zu]: expected object", i);
			return false;
		}
		if (!bc_json_get_int32(row, prefix, "quantity", &present, &q, err) ||
			!bc_json_get_int32(row, prefix, "qunatity", &present, &q, err) ||
			!bc_json_get_decimal(row, prefix, "unit_price", &price, err))
			return false;
		bc_json_pfree_if(price);
	}
	*n = (int) count;
	return true;
}

/*
 * bc_json_map_price_guide maps the data of /items/{type}/{no}/price.
 */
bool
bc_json_map_price_guide(json_object *data, BcPriceGuide *out, char **err)
{
	json_object *item;
	bool		p1;
	bool		p2;

	memset(out, 0, sizeof(BcPriceGuide));
	if (err)
		*err = NULL;
	if (!bc_json_require_object(data, "data", err))
		return false;

	item = bc_json_member(data, "item");
	if (item != NULL && !json_object_is_type(item, json_type_object))
		return bc_json_fail(err, "", "item", "expected object");

	if ((item != NULL &&
		 (!bc_json_get_string(item, "item.", "no", true, &out->item_no, err) ||
		  !bc_json_get_string(item, "item.", "type", true, &out->item_type, err))) ||
		!bc_json_get_string(data, "", "new_or_used", true, &out->new_or_used, err) ||
		!bc_json_get_string(data, "", "currency_code", true, &out->currency_code, err) ||
		!bc_json_get_decimal(data, "", "min_price", &out->min_price, err) ||
		!bc_json_get_decimal(data, "", "max_price", &out->max_price, err) ||
		!bc_json_get_decimal(data, "", "avg_price", &out->avg_price, err) ||
		!bc_json_get_decimal(data, "", "qty_avg_price", &out->qty_avg_price, err) ||
		!bc_json_get_integer(data, "", "unit_quantity", PG_INT64_MIN + 1,
							 PG_INT64_MAX - 1, &p1, &out->unit_quantity, err) ||
		!bc_json_get_integer(data, "", "total_quantity", PG_INT64_MIN + 1,
							 PG_INT64_MAX - 1, &p2, &out->total_quantity, err) ||
		!bc_json_check_price_detail(data, &out->n_details, err))
	{
		bc_json_price_guide_free(out);
		return false;
	}

	out->no_sales =
		(out->min_price == NULL || bc_json_decimal_is_zero(out->min_price)) &&
		(out->max_price == NULL || bc_json_decimal_is_zero(out->max_price)) &&
		(out->avg_price == NULL || bc_json_decimal_is_zero(out->avg_price)) &&
		(out->qty_avg_price == NULL || bc_json_decimal_is_zero(out->qty_avg_price)) &&
		out->unit_quantity == 0 && out->total_quantity == 0;
	return true;
}

/*
 * bc_json_colors_free releases an array of n colors from bc_json_map_colors.
 */
void
bc_json_colors_free(BcColor *colors, int n)
{
	int			i;

	if (colors == NULL)
		return;
	for (i = 0; i < n; i++)
	{
		bc_json_pfree_if(colors[i].color_name);
		bc_json_pfree_if(colors[i].color_code);
		bc_json_pfree_if(colors[i].color_type);
	}
	pfree(colors);
}

/*
 * bc_json_map_colors maps the data of /colors (array) or /colors/{id}
 * (single object) into a palloc'd array.
 */
bool
bc_json_map_colors(json_object *data, BcColor **out, int *n, char **err)
{
	size_t		count;
	size_t		i;
	BcColor    *arr;
	char		prefix[48];

	*out = NULL;
	*n = 0;
	if (err)
		*err = NULL;
	if (!bc_json_require_list(data, true, &count, err))
		return false;
	if (count == 0)
		return true;
	arr = palloc0(sizeof(BcColor) * count);
	for (i = 0; i < count; i++)
	{
		json_object *row = bc_json_row(data, i, prefix, sizeof(prefix), err);
		bool		present = false;

		if (row == NULL ||
			!bc_json_get_int32(row, prefix, "color_id", &present,
							   &arr[i].color_id, err) ||
			!bc_json_get_text(row, prefix, "color_name", false,
							  &arr[i].color_name, err) ||
			!bc_json_get_string(row, prefix, "color_code", true,
								&arr[i].color_code, err) ||
			!bc_json_get_string(row, prefix, "color_type", true,
								&arr[i].color_type, err) ||
			(!present && !bc_json_fail(err, prefix, "color_id", "missing")))
		{
			bc_json_colors_free(arr, (int) i + 1);
			return false;
		}
	}
	*out = arr;
	*n = (int) count;
	return true;
}

/*
 * bc_json_categories_free releases an array of n categories.
 */
void
bc_json_categories_free(BcCategory *cats, int n)
{
	int			i;

	if (cats == NULL)
		return;
	for (i = 0; i < n; i++)
		bc_json_pfree_if(cats[i].category_name);
	pfree(cats);
}

/*
 * bc_json_map_categories maps the data of /categories (array) or
 * /categories/{id} (single object) into a palloc'd array.
 */
bool
bc_json_map_categories(json_object *data, BcCategory **out, int *n,
					   char **err)
{
	size_t		count;
	size_t		i;
	BcCategory *arr;
	char		prefix[48];

	*out = NULL;
	*n = 0;
	if (err)
		*err = NULL;
	if (!bc_json_require_list(data, true, &count, err))
		return false;
	if (count == 0)
		return true;
	arr = palloc0(sizeof(BcCategory) * count);
	for (i = 0; i < count; i++)
	{
		json_object *row = bc_json_row(data, i, prefix, sizeof(prefix), err);
		bool		present = false;
		bool		ppresent;

		if (row == NULL ||
			!bc_json_get_int32(row, prefix, "category_id", &present,
							   &arr[i].category_id, err) ||
			!bc_json_get_text(row, prefix, "category_name", false,
							  &arr[i].category_name, err) ||
			!bc_json_get_int32(row, prefix, "parent_id", &ppresent,
							   &arr[i].parent_id, err) ||
			(!present && !bc_json_fail(err, prefix, "category_id", "missing")))
		{
			bc_json_categories_free(arr, (int) i + 1);
			return false;
		}
	}
	*out = arr;
	*n = (int) count;
	return true;
}
