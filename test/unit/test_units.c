/*-------------------------------------------------------------------------
 *
 * test_units.c
 *	  Unit tests (TAP output) for brickcat's oauth, entities and json_map
 *	  modules, built as frontend code against libpgcommon/libpgport.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <stdarg.h>

#include "lib/stringinfo.h"

#include "entities.h"
#include "json_map.h"
#include "oauth.h"

static int	tests_run = 0;
static int	tests_failed = 0;

/*
 * ok reports one TAP test result described by fmt.
 */
static void ok(bool cond, const char *fmt,...) pg_attribute_printf(2, 3);

static void
ok(bool cond, const char *fmt,...)
{
	va_list		ap;

	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tests_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * is_str reports a test comparing got with want (either may be NULL).
 */
static void
is_str(const char *got, const char *want, const char *desc)
{
	bool		same;

	if (got == NULL || want == NULL)
		same = (got == want);
	else
		same = (strcmp(got, want) == 0);
	ok(same, "%s", desc);
	if (!same)
		printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(NULL)",
			   want ? want : "(NULL)");
}

/*
 * is_int reports a test comparing integers got and want.
 */
static void
is_int(long long got, long long want, const char *desc)
{
	ok(got == want, "%s", desc);
	if (got != want)
		printf("#   got:  %lld\n#   want: %lld\n", got, want);
}

/*
 * free_if frees p when not NULL.
 */
static void
free_if(void *p)
{
	if (p)
		pfree(p);
}

/* ---------------------------------------------------------------- oauth */

/*
 * test_percent_encode checks RFC 3986 encoding of typical inputs.
 */
static void
test_percent_encode(void)
{
	static const struct
	{
		const char *in;
		const char *out;
	}			cases[] = {
		{"3364-Da", "3364-Da"},
		{"973pb10c01", "973pb10c01"},
		{"a b+c/\xc3\xa9", "a%20b%2Bc%2F%C3%A9"},
		{"10276-1", "10276-1"},
		{"~._-", "~._-"},
		{"!*'();:@&=+$,/?#[]", "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D"},
		{"%", "%25"},
		{"", ""},
	};
	int			i;

	for (i = 0; i < (int) lengthof(cases); i++)
	{
		StringInfoData buf;
		char		desc[128];

		initStringInfo(&buf);
		bc_oauth_percent_encode(&buf, cases[i].in, strlen(cases[i].in));
		snprintf(desc, sizeof(desc), "percent-encode case %d", i);
		is_str(buf.data, cases[i].out, desc);
		pfree(buf.data);
	}
	{
		StringInfoData buf;

		initStringInfo(&buf);
		bc_oauth_percent_encode(&buf, "a\0b\xff", 4);
		is_str(buf.data, "a%00b%FF", "percent-encode with NUL and 0xFF bytes");
		pfree(buf.data);
	}
}

/*
 * test_base_string checks the RFC 5849 section 3.4.1.1 example.
 */
static void
test_base_string(void)
{
	const char *keys[] = {"oauth_consumer_key", "oauth_token",
		"oauth_signature_method", "oauth_timestamp", "oauth_nonce"};
	const char *values[] = {"9djdj82h48djs9d2", "kkk9d7dh3k39sjv7",
		"HMAC-SHA1", "137131201", "7d8f3e4a"};
	char	   *b;

	/* query and body parameters of the RFC example, as one query string */
	b = bc_oauth_base_string("POST", "http://example.com/request",
							 "b5=%3D%253D&a3=a&c%40=&a2=r%20b&c2&a3=2+q",
							 5, keys, values);
	is_str(b, "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
		   "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key"
		   "%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method"
		   "%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7",
		   "RFC 5849 3.4.1.1 base string");
	free_if(b);

	b = bc_oauth_base_string("post", "HTTP://EXAMPLE.COM:80/r%20v/X", NULL, 0, NULL, NULL);
	is_str(b, "POST&http%3A%2F%2Fexample.com%2Fr%2520v%2FX&",
		   "URL normalization: lowercase scheme/host, port 80 dropped, path kept");
	free_if(b);

	b = bc_oauth_base_string("GET", "https://www.example.net:8080", "", 0, NULL, NULL);
	is_str(b, "GET&https%3A%2F%2Fwww.example.net%3A8080%2F&",
		   "URL normalization: non-default port kept, empty path is /");
	free_if(b);

	b = bc_oauth_base_string("GET", "https://Api.BrickLink.com:443/api/store/v1/colors", NULL, 0, NULL, NULL);
	is_str(b, "GET&https%3A%2F%2Fapi.bricklink.com%2Fapi%2Fstore%2Fv1%2Fcolors&",
		   "URL normalization: https default port 443 dropped");
	free_if(b);

	ok(bc_oauth_base_string("GET", "https://x/y?z=1", NULL, 0, NULL, NULL) == NULL,
	   "URL with query is rejected");
	ok(bc_oauth_base_string("GET", "x/y", NULL, 0, NULL, NULL) == NULL,
	   "URL without scheme is rejected");
	ok(bc_oauth_base_string("GET", "https://u:p@x/y", NULL, 0, NULL, NULL) == NULL,
	   "URL with userinfo is rejected");
	ok(bc_oauth_base_string("G T", "https://x/y", NULL, 0, NULL, NULL) == NULL,
	   "invalid method is rejected");

	b = bc_oauth_base_string("GET", "https://x/", "a=1&&b=%zz&=v", 0, NULL, NULL);
	is_str(b, "GET&https%3A%2F%2Fx%2F&%3Dv%26a%3D1%26b%3D%2525zz",
		   "query: empty pairs skipped, stray % kept literally, empty key");
	free_if(b);
}

/*
 * test_signature checks HMAC-SHA1 signatures against known vectors.
 */
static void
test_signature(void)
{
	const char *keys[] = {"oauth_consumer_key", "oauth_nonce",
		"oauth_signature_method", "oauth_timestamp", "oauth_token", "oauth_version"};
	const char *values[] = {"xvz1evFS4wEEPTGEFPHBog",
		"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", "HMAC-SHA1", "1318622958",
	"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", "1.0"};
	char	   *b;
	char	   *sig;
	char	   *err = NULL;

	/* the well-known example of Twitter's "Creating a signature" docs */
	b = bc_oauth_base_string("POST", "https://api.twitter.com/1.1/statuses/update.json",
							 "include_entities=true&status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21",
							 6, keys, values);
	is_str(b, "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521",
		   "Twitter example base string");
	sig = bc_oauth_sign(b, "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
						"LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE", &err);
	is_str(sig, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=", "Twitter example HMAC-SHA1 signature");
	free_if(b);
	free_if(sig);
	free_if(err);
}

/*
 * test_header checks the complete Authorization header for a BrickLink
 * request (vector computed with python3 hmac/hashlib/urllib.parse).
 */
static void
test_header(void)
{
	BcOAuthCredentials cred = {"CK1234", "c$ecret&x", "TOK/+=5678", "t s/ecret"};
	BcOAuthCredentials bad = {"CK1234", "SUPERSECRET", NULL, "TOKENSECRET"};
	char	   *h;
	char	   *err = NULL;
	char		nonce[BC_OAUTH_NONCE_LEN + 1];
	char		nonce2[BC_OAUTH_NONCE_LEN + 1];
	bool		hex = true;
	int			i;

	h = bc_oauth_authorization_header(&cred, "GET",
									  "https://api.bricklink.com/api/store/v1/items/part/3001/price",
									  "guide_type=sold&new_or_used=U&color_id=11",
									  INT64CONST(1700000000),
									  "0123456789abcdef0123456789abcdef", &err);
	is_str(h, "OAuth realm=\"\", oauth_consumer_key=\"CK1234\", oauth_token=\"TOK%2F%2B%3D5678\", "
		   "oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1700000000\", "
		   "oauth_nonce=\"0123456789abcdef0123456789abcdef\", oauth_version=\"1.0\", "
		   "oauth_signature=\"0buQRgt6dM10Oh1JZL6DW6Mnn3g%3D\"",
		   "Authorization header for a BrickLink price guide request");
	ok(err == NULL, "no error message on success");
	free_if(h);

	h = bc_oauth_authorization_header(&bad, "GET", "https://x/y", NULL, 1, "n", &err);
	ok(h == NULL && err != NULL, "incomplete credentials rejected");
	ok(err != NULL && strstr(err, "SUPERSECRET") == NULL &&
	   strstr(err, "TOKENSECRET") == NULL, "error message holds no secret");
	free_if(err);
	err = NULL;

	h = bc_oauth_authorization_header(&cred, "GET", "https://x/y?q=1", NULL, 1, "n", &err);
	ok(h == NULL && err != NULL && strstr(err, "ecret") == NULL,
	   "URL with query rejected with a secret-free message");
	free_if(err);
	err = NULL;

	h = bc_oauth_authorization_header(&cred, "GET", "https://x/y", NULL, 1, "", &err);
	ok(h == NULL && err != NULL, "empty nonce rejected");
	free_if(err);
	err = NULL;

	ok(bc_oauth_make_nonce(nonce) && bc_oauth_make_nonce(nonce2), "nonces generated");
	for (i = 0; i < BC_OAUTH_NONCE_LEN; i++)
	{
		if (!((nonce[i] >= '0' && nonce[i] <= '9') || (nonce[i] >= 'a' && nonce[i] <= 'f')))
			hex = false;
	}
	ok(strlen(nonce) == 32 && hex, "nonce is 32 hex chars");
	ok(strcmp(nonce, nonce2) != 0, "two nonces differ");
}

/* ------------------------------------------------------------- entities */

/*
 * test_entities checks the entity decoder against a table of cases.
 */
static void
test_entities(void)
{
	static const struct
	{
		const char *in;
		bool		strip;
		bool		trim;
		const char *out;
	}			cases[] = {
		{"Brick 1 x 2 &#40;Sticker&#41;", false, true, "Brick 1 x 2 (Sticker)"},
		{"&#x28;hex&#X29;", false, false, "(hex)"},
		{"Tom &amp; Jerry", false, false, "Tom & Jerry"},
		{"&lt;b&gt;", false, false, "<b>"},
		{"&quot;q&quot; &apos;a&apos; &#39;b&#39;", false, false, "\"q\" 'a' 'b'"},
		{"a&nbsp;b", false, false, "a\xc2\xa0" "b"},
		{"caf&eacute;", false, false, "caf\xc3\xa9"},
		{"1&frac12; studs", false, false, "1\xc2\xbd studs"},
		{"90&deg;", false, false, "90\xc2\xb0"},
		{"2 &times; 4", false, false, "2 \xc3\x97 4"},
		{"LEGO&reg; &trade; &copy;", false, false, "LEGO\xc2\xae \xe2\x84\xa2 \xc2\xa9"},
		{"&amp;#39;", false, false, "&#39;"},
		{"&amp;amp;", false, false, "&amp;"},
		{"&#4", false, false, "&#4"},
		{"&#", false, false, "&#"},
		{"&", false, false, "&"},
		{"&#x;", false, false, "&#x;"},
		{"&#;", false, false, "&#;"},
		{"&bogus;", false, false, "&bogus;"},
		{"&amp", false, false, "&amp"},
		{"AT&T", false, false, "AT&T"},
		{"&#0;", false, false, "\xef\xbf\xbd"},
		{"&#xD800;", false, false, "\xef\xbf\xbd"},
		{"&#x110000;", false, false, "\xef\xbf\xbd"},
		{"&#99999999999999999999;", false, false, "\xef\xbf\xbd"},
		{"&#1;&#x7f;", false, false, "\xef\xbf\xbd\xef\xbf\xbd"},
		{"a&#9;b&#10;c&#13;d", false, false, "a\tb\nc\rd"},
		{"&#150;", false, false, "\xe2\x80\x93"},
		{"&#x81;", false, false, "\xef\xbf\xbd"},
		{"&#x1F600;", false, false, "\xf0\x9f\x98\x80"},
		{"&#0000065;", false, false, "A"},
		{"  lots   of\t\tspace  ", false, true, "lots of space"},
		{"  keep   spaces  ", false, false, "  keep   spaces  "},
		{"line1<br>line2<br/>line3<BR />x", true, false, "line1\nline2\nline3\nx"},
		{"<p>Para one</p><p>Para two</p>", true, true, "Para one\nPara two"},
		{"<b>bold</b> and <i>it</i>", true, true, "bold and it"},
		{"a < b and c > d", true, false, "a < b and c > d"},
		{"1 <2", true, false, "1 <2"},
		{"x <a no end", true, false, "x <a no end"},
		{"&lt;br&gt;", true, false, "<br>"},
		{"<!-- c -->text", true, true, "text"},
		{"<pre>x</pre>", true, false, "x"},
		{"no <br> strip", false, false, "no <br> strip"},
		{"bad \xff byte", false, false, "bad \xef\xbf\xbd byte"},
		{"trunc \xc3", false, false, "trunc \xef\xbf\xbd"},
		{"overlong \xc0\xaf", false, false, "overlong \xef\xbf\xbd\xef\xbf\xbd"},
		{"surrogate \xed\xa0\x80", false, false, "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"&#32;&#32;x&#32;", false, true, "x"},
		{"", true, true, ""},
	};
	int			i;
	char	   *r;

	for (i = 0; i < (int) lengthof(cases); i++)
	{
		char		desc[160];

		r = bc_entities_decode(cases[i].in, strlen(cases[i].in),
							   cases[i].strip, cases[i].trim);
		snprintf(desc, sizeof(desc), "entities case %d: %.60s", i, cases[i].in);
		is_str(r, cases[i].out, desc);
		pfree(r);
	}

	/* embedded NUL becomes U+FFFD; len bounds reading */
	r = bc_entities_decode("a\0b", 3, false, false);
	ok(memcmp(r, "a\xef\xbf\xbd" "b", 6) == 0, "literal NUL becomes U+FFFD");
	pfree(r);
	r = bc_entities_decode("&#40;XYZ", 4, false, false);
	is_str(r, "&#40", "len cuts a reference: kept literally, no over-read");
	pfree(r);
	r = bc_entities_decode(NULL, 0, true, true);
	is_str(r, "", "NULL input gives empty string");
	pfree(r);
}

/* ------------------------------------------------------------- envelope */

/*
 * check_env parses body with http status and checks outcome/retryable.
 */
static void
check_env(const char *body, size_t len, int http, BcOutcome want,
		  bool want_retry, const char *desc)
{
	BcEnvelope	env;

	bc_json_parse_envelope(body, len, http, &env);
	ok(env.outcome == want && env.retryable == want_retry,
	   "envelope: %s -> %s%s", desc, bc_outcome_name(want),
	   want_retry ? " (retryable)" : "");
	if (env.outcome != want || env.retryable != want_retry)
		printf("#   got %s retryable=%d error=%s\n", bc_outcome_name(env.outcome),
			   env.retryable, env.error ? env.error : "(none)");
	bc_json_envelope_free(&env);
}

#define CHECK_ENV(body, http, want, retry, desc) \
	check_env(body, strlen(body), http, want, retry, desc)

/*
 * test_envelope checks the classification of BrickLink responses.
 */
static void
test_envelope(void)
{
	BcEnvelope	env;
	const char *okbody = "{\"meta\":{\"description\":\"OK\",\"message\":\"OK\",\"code\":200},"
	"\"data\":{\"no\":\"3001\",\"type\":\"PART\"}}";

	bc_json_parse_envelope(okbody, strlen(okbody), 200, &env);
	ok(env.outcome == BC_OUTCOME_OK && env.data != NULL && env.meta_code == 200 &&
	   env.error == NULL, "envelope: OK with data");
	is_str(env.meta_message, "OK", "envelope: meta.message kept");
	bc_json_envelope_free(&env);

	CHECK_ENV("{\"meta\":{\"description\":\"RESOURCE_NOT_FOUND\",\"message\":\"RESOURCE_NOT_FOUND\",\"code\":404}}",
			  200, BC_OUTCOME_NOT_FOUND, false, "meta.code 404");
	CHECK_ENV("{\"meta\":{\"description\":\"TOKEN_IP_MISMATCHED: consumer: X IP: 1.2.3.4\",\"message\":\"BAD_OAUTH_REQUEST\",\"code\":401}}",
			  200, BC_OUTCOME_AUTH_ERROR, false, "401 in HTTP 200");
	CHECK_ENV("{\"meta\":{\"description\":\"x\",\"message\":\"PERMISSION_DENIED\",\"code\":403}}",
			  200, BC_OUTCOME_AUTH_ERROR, false, "403");
	CHECK_ENV("{\"meta\":{\"description\":\"x\",\"message\":\"INTERNAL_SERVER_ERROR\",\"code\":500}}",
			  200, BC_OUTCOME_SERVER_ERROR, true, "500 in HTTP 200");
	CHECK_ENV("{\"meta\":{\"message\":\"INVALID_URI\",\"code\":400}}",
			  400, BC_OUTCOME_BAD_REQUEST, false, "400");
	CHECK_ENV("{\"meta\":{\"code\":415}}", 200, BC_OUTCOME_BAD_REQUEST, false, "415");
	CHECK_ENV("{\"meta\":{\"code\":429}}", 200, BC_OUTCOME_THROTTLED, true, "meta.code 429");
	CHECK_ENV("{\"meta\":{\"code\":204}}", 200, BC_OUTCOME_OK, false, "204 without data");
	CHECK_ENV("Too Many Requests", 429, BC_OUTCOME_THROTTLED, true, "HTTP 429 plain text");
	CHECK_ENV("", 429, BC_OUTCOME_THROTTLED, true, "HTTP 429 empty");
	CHECK_ENV("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
			  "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
			  "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			  503, BC_OUTCOME_THROTTLED, true, "nginx 503 HTML");
	CHECK_ENV("  <!DOCTYPE html><html><body>Bad Gateway</body></html>", 502,
			  BC_OUTCOME_SERVER_ERROR, true, "502 HTML");
	CHECK_ENV("<html><body>oops</body></html>", 200, BC_OUTCOME_SERVER_ERROR, true,
			  "HTML page with HTTP 200");
	CHECK_ENV("Service Unavailable", 503, BC_OUTCOME_THROTTLED, true, "HTTP 503 plain text");
	CHECK_ENV("Gateway Timeout", 504, BC_OUTCOME_SERVER_ERROR, true, "HTTP 504 plain text");
	CHECK_ENV("{\"meta\":{\"description\":\"OK\",\"message\":\"OK\",\"code\":200},\"data\":{\"no\":\"30",
			  200, BC_OUTCOME_BAD_RESPONSE, true, "truncated JSON");
	CHECK_ENV("", 200, BC_OUTCOME_BAD_RESPONSE, true, "empty body");
	CHECK_ENV(" \r\n ", 200, BC_OUTCOME_BAD_RESPONSE, true, "whitespace body");
	CHECK_ENV("{\"meta\":{\"code\":200}} garbage", 200, BC_OUTCOME_BAD_RESPONSE, true,
			  "trailing garbage");
	CHECK_ENV("{meta:}", 200, BC_OUTCOME_BAD_RESPONSE, true, "malformed JSON");
	CHECK_ENV("[1,2,3]", 200, BC_OUTCOME_BAD_RESPONSE, false, "non-object JSON");
	CHECK_ENV("\"str\"", 200, BC_OUTCOME_BAD_RESPONSE, false, "JSON string");
	CHECK_ENV("{\"data\":{}}", 200, BC_OUTCOME_BAD_RESPONSE, false, "no meta");
	CHECK_ENV("{\"meta\":[],\"data\":{}}", 200, BC_OUTCOME_BAD_RESPONSE, false, "meta not object");
	CHECK_ENV("{\"meta\":{\"code\":\"200\"}}", 200, BC_OUTCOME_BAD_RESPONSE, false, "meta.code as string");
	CHECK_ENV("{\"meta\":{\"code\":200.5}}", 200, BC_OUTCOME_BAD_RESPONSE, false, "meta.code as double");
	CHECK_ENV("{\"meta\":{\"message\":\"OK\"}}", 200, BC_OUTCOME_BAD_RESPONSE, false, "meta.code missing");
	CHECK_ENV("{\"meta\":{\"code\":99999999999}}", 200, BC_OUTCOME_BAD_RESPONSE, false, "meta.code huge");
	CHECK_ENV("{\"error\":\"busy\"}", 503, BC_OUTCOME_THROTTLED, true, "non-envelope JSON with HTTP 503");
	CHECK_ENV("{\"meta\":{\"code\":200}}\n", 200, BC_OUTCOME_OK, false, "trailing newline ok");
	CHECK_ENV("\xEF\xBB\xBF{\"meta\":{\"code\":200}}", 200, BC_OUTCOME_OK, false, "UTF-8 BOM ok");
	check_env("{\"meta\":{\"code\":200}}\0xx", 23, 200, BC_OUTCOME_BAD_RESPONSE, true,
			  "NUL byte in body");
	CHECK_ENV("{\"meta\":{\"code\":200,\"message\":\"\xff\"}}", 200, BC_OUTCOME_BAD_RESPONSE, true,
			  "invalid UTF-8 in JSON");
	{
		/* 40 nested arrays exceed the depth limit of 32 */
		char		deep[200];
		int			i;

		for (i = 0; i < 40; i++)
			deep[i] = '[';
		for (i = 40; i < 80; i++)
			deep[i] = ']';
		deep[80] = '\0';
		CHECK_ENV(deep, 200, BC_OUTCOME_BAD_RESPONSE, true, "nesting deeper than 32");
	}

	ok(strcmp(bc_outcome_name(BC_OUTCOME_NETWORK_ERROR), "network_error") == 0 &&
	   strcmp(bc_outcome_name(BC_OUTCOME_BAD_RESPONSE), "bad_response") == 0 &&
	   strcmp(bc_outcome_name(BC_OUTCOME_OK), "ok") == 0, "outcome names");
	ok(bc_outcome_is_retryable(BC_OUTCOME_TIMEOUT) &&
	   bc_outcome_is_retryable(BC_OUTCOME_THROTTLED) &&
	   !bc_outcome_is_retryable(BC_OUTCOME_NOT_FOUND) &&
	   !bc_outcome_is_retryable(BC_OUTCOME_AUTH_ERROR), "outcome retryability");
}

/* -------------------------------------------------------------- mappers */

/*
 * parse_data parses an envelope around data_json and returns it (caller
 * frees env); data is env->data.
 */
static json_object *
parse_data(BcEnvelope *env, const char *data_json)
{
	char	   *body = psprintf("{\"meta\":{\"description\":\"OK\",\"message\":\"OK\",\"code\":200},\"data\":%s}",
								data_json);

	bc_json_parse_envelope(body, strlen(body), 200, env);
	pfree(body);
	return env->data;
}

/*
 * expect_fail checks that mapper kind fails on data_json with an error
 * containing want_err.
 */
static void
expect_fail(const char *kind, const char *data_json, const char *want_err)
{
	BcEnvelope	env;
	json_object *d = parse_data(&env, data_json);
	char	   *err = NULL;
	bool		r = true;

	if (strcmp(kind, "item") == 0)
	{
		BcItem		it;

		r = bc_json_map_item(d, &it, &err);
		if (!r)
			ok(it.no == NULL && it.name == NULL, "item: no partial result on failure");
		bc_json_item_free(&it);
	}
	else if (strcmp(kind, "known_colors") == 0)
	{
		BcKnownColor *kc;
		int			n;

		r = bc_json_map_known_colors(d, &kc, &n, &err);
		free_if(kc);
	}
	else if (strcmp(kind, "price") == 0)
	{
		BcPriceGuide pg;

		r = bc_json_map_price_guide(d, &pg, &err);
		bc_json_price_guide_free(&pg);
	}
	else if (strcmp(kind, "colors") == 0)
	{
		BcColor    *c;
		int			n;

		r = bc_json_map_colors(d, &c, &n, &err);
		if (r)
			bc_json_colors_free(c, n);
	}
	else if (strcmp(kind, "categories") == 0)
	{
		BcCategory *c;
		int			n;

		r = bc_json_map_categories(d, &c, &n, &err);
		if (r)
			bc_json_categories_free(c, n);
	}
	ok(!r && err != NULL && strstr(err, want_err) != NULL,
	   "%s rejects %.50s", kind, data_json);
	if (r || err == NULL || strstr(err, want_err) == NULL)
		printf("#   err: %s (want %s)\n", err ? err : "(none)", want_err);
	free_if(err);
	bc_json_envelope_free(&env);
}

/*
 * test_item checks bc_json_map_item.
 */
static void
test_item(void)
{
	BcEnvelope	env;
	BcItem		it;
	char	   *err = NULL;
	json_object *d;

	d = parse_data(&env,
				   "{\"no\":\"3001\",\"name\":\"Brick 2 x 4 &#40;Old&#41; &amp; &#39;new&#39;\","
				   "\"type\":\"PART\",\"category_id\":5,\"alternate_no\":\"3001old\","
				   "\"image_url\":\"//img.bricklink.com/PL/3001.jpg\","
				   "\"thumbnail_url\":\"http://img.bricklink.com/P/5/3001.jpg\","
				   "\"weight\":\"2.32\",\"dim_x\":\"2.00\",\"dim_y\":\"4.00\",\"dim_z\":\"1.20\","
				   "\"year_released\":1954,\"description\":\"<p>Classic&nbsp;brick</p><br>x\","
				   "\"is_obsolete\":false,\"language_code\":\"\",\"unknown\":[1,{\"a\":2}]}");
	ok(bc_json_map_item(d, &it, &err), "item: all fields map");
	is_str(it.no, "3001", "item: no");
	is_str(it.type, "PART", "item: type");
	is_str(it.name, "Brick 2 x 4 (Old) & 'new'", "item: name entities decoded");
	is_str(it.alternate_no, "3001old", "item: alternate_no");
	is_str(it.image_url, "https://img.bricklink.com/PL/3001.jpg", "item: // URL gets https:");
	is_str(it.thumbnail_url, "http://img.bricklink.com/P/5/3001.jpg", "item: http:// URL kept");
	is_str(it.weight, "2.32", "item: weight text");
	is_str(it.dim_x, "2.00", "item: dim_x");
	is_str(it.dim_z, "1.20", "item: dim_z");
	is_str(it.description, "Classic\xc2\xa0" "brick\nx", "item: description decoded, tags stripped");
	is_str(it.language_code, NULL, "item: empty language_code is NULL");
	ok(it.has_category && it.category_id == 5, "item: category_id");
	ok(it.has_year && it.year_released == 1954, "item: year_released");
	ok(!it.is_obsolete, "item: is_obsolete");
	bc_json_item_free(&it);
	bc_json_envelope_free(&env);

	d = parse_data(&env, "{\"no\":\"973pb10c01\",\"type\":\"MINIFIG\",\"name\":null,"
				   "\"weight\":\"0.00\",\"dim_x\":\"0.00\",\"dim_y\":0,\"dim_z\":\"+0.000\","
				   "\"year_released\":0,\"category_id\":\"65\",\"is_obsolete\":true,"
				   "\"image_url\":\"\"}");
	ok(bc_json_map_item(d, &it, &err), "item: sparse item maps");
	ok(it.name == NULL && it.alternate_no == NULL && it.thumbnail_url == NULL &&
	   it.description == NULL && it.image_url == NULL, "item: missing/null/empty optionals are NULL");
	ok(it.weight == NULL && it.dim_x == NULL && it.dim_y == NULL && it.dim_z == NULL,
	   "item: zero weight and dims are NULL");
	ok(!it.has_year, "item: year 0 means unknown");
	ok(it.has_category && it.category_id == 65, "item: category_id as string");
	ok(it.is_obsolete, "item: is_obsolete true");
	bc_json_item_free(&it);
	bc_json_envelope_free(&env);

	d = parse_data(&env, "{\"no\":\"3001\",\"type\":\"PART\",\"weight\":1.25,\"dim_x\":\"+3.5\"}");
	ok(bc_json_map_item(d, &it, &err), "item: numeric weight accepted");
	is_str(it.weight, "1.25", "item: numeric weight keeps its digits");
	is_str(it.dim_x, "3.5", "item: leading + stripped");
	bc_json_item_free(&it);
	bc_json_envelope_free(&env);

	d = parse_data(&env, "{\"no\":\"3001\",\"type\":\"PART\",\"weight\":0.1000000000000000055511}");
	ok(!bc_json_map_item(d, &it, &err) && err && strstr(err, "invalid decimal"),
	   "item: over-long decimal rejected, not rounded");
	free_if(err);
	err = NULL;
	bc_json_envelope_free(&env);

	expect_fail("item", "[]", "data: expected object");
	expect_fail("item", "null", "data: missing");
	expect_fail("item", "{\"no\":3001,\"type\":\"PART\"}", "field no: expected string");
	expect_fail("item", "{\"type\":\"PART\"}", "field no: missing");
	expect_fail("item", "{\"no\":\"1\"}", "field type: missing");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"name\":[]}", "field name: expected string");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"weight\":true}", "field weight: expected string or number");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"weight\":\"2,32\"}", "field weight: invalid decimal");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"weight\":\"1e5\"}", "field weight: invalid decimal");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"weight\":1e5}", "field weight: invalid decimal");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"dim_x\":{}}", "field dim_x: expected string or number");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"category_id\":1.5}", "field category_id: expected integer");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"category_id\":\"abc\"}", "field category_id: expected integer");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"year_released\":3000000000}", "field year_released: integer out of range");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"is_obsolete\":\"maybe\"}", "field is_obsolete: expected boolean");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"image_url\":5}", "field image_url: expected string");
	expect_fail("item", "{\"no\":\"a\\u0000b\",\"type\":\"PART\"}", "field no: invalid UTF-8 or NUL byte");
	expect_fail("item", "{\"no\":\"1\",\"type\":\"PART\",\"description\":false}", "field description: expected string");
}

/*
 * test_known_colors checks bc_json_map_known_colors.
 */
static void
test_known_colors(void)
{
	BcEnvelope	env;
	BcKnownColor *kc;
	int			n;
	char	   *err = NULL;
	json_object *d;

	d = parse_data(&env, "[{\"color_id\":11,\"quantity\":3},{\"color_id\":\"5\",\"quantity\":\"12\"},"
				   "{\"color_id\":86}]");
	ok(bc_json_map_known_colors(d, &kc, &n, &err) && n == 3, "known colors: 3 rows");
	ok(n == 3 && kc[0].color_id == 11 && kc[0].quantity == 3 &&
	   kc[1].color_id == 5 && kc[1].quantity == 12 &&
	   kc[2].color_id == 86 && kc[2].quantity == 0, "known colors: numbers and strings");
	free_if(kc);
	bc_json_envelope_free(&env);

	d = parse_data(&env, "[]");
	ok(bc_json_map_known_colors(d, &kc, &n, &err) && n == 0 && kc == NULL,
	   "known colors: empty list");
	bc_json_envelope_free(&env);

	expect_fail("known_colors", "{\"color_id\":1}", "data: expected array");
	expect_fail("known_colors", "[1]", "data[0]: expected object");
	expect_fail("known_colors", "[{\"color_id\":1},{\"quantity\":2}]", "data[1] field color_id: missing");
	expect_fail("known_colors", "[{\"color_id\":true}]", "data[0] field color_id: expected integer");
	expect_fail("known_colors", "[{\"color_id\":1,\"quantity\":\"3.5\"}]", "data[0] field quantity: expected integer");
}

/*
 * test_price_guide checks bc_json_map_price_guide.
 */
static void
test_price_guide(void)
{
	BcEnvelope	env;
	BcPriceGuide pg;
	char	   *err = NULL;
	json_object *d;

	d = parse_data(&env,
				   "{\"item\":{\"no\":\"3001\",\"type\":\"PART\"},\"new_or_used\":\"N\","
				   "\"currency_code\":\"USD\",\"min_price\":\"0.0825\",\"max_price\":\"1.5000\","
				   "\"avg_price\":\"0.2137\",\"qty_avg_price\":0.1999,\"unit_quantity\":\"120\","
				   "\"total_quantity\":5000,\"price_detail\":[{\"quantity\":10,\"unit_price\":\"0.0825\","
				   "\"shipping_available\":true},{\"qunatity\":\"4\",\"unit_price\":\"1.5000\"}]}");
	ok(bc_json_map_price_guide(d, &pg, &err), "price guide maps");
	is_str(pg.item_no, "3001", "price: item.no");
	is_str(pg.item_type, "PART", "price: item.type");
	is_str(pg.new_or_used, "N", "price: new_or_used");
	is_str(pg.currency_code, "USD", "price: currency");
	is_str(pg.min_price, "0.0825", "price: 4-decimal string kept exactly");
	is_str(pg.max_price, "1.5000", "price: trailing zeros kept");
	is_str(pg.qty_avg_price, "0.1999", "price: JSON number kept digit for digit");
	is_int(pg.unit_quantity, 120, "price: unit_quantity from string");
	is_int(pg.total_quantity, 5000, "price: total_quantity");
	is_int(pg.n_details, 2, "price: detail rows incl. misspelt qunatity");
	ok(!pg.no_sales, "price: has sales");
	bc_json_price_guide_free(&pg);
	bc_json_envelope_free(&env);

	d = parse_data(&env,
				   "{\"item\":{\"no\":\"3001pb999\",\"type\":\"PART\"},\"new_or_used\":\"U\","
				   "\"currency_code\":\"EUR\",\"min_price\":\"0.0000\",\"max_price\":\"0.0000\","
				   "\"avg_price\":\"0.0000\",\"qty_avg_price\":\"0.0000\",\"unit_quantity\":0,"
				   "\"total_quantity\":0,\"price_detail\":[]}");
	ok(bc_json_map_price_guide(d, &pg, &err), "price: no-sales maps");
	ok(pg.no_sales && pg.n_details == 0, "price: no_sales flag");
	is_str(pg.avg_price, "0.0000", "price: zero price kept as text");
	bc_json_price_guide_free(&pg);
	bc_json_envelope_free(&env);

	expect_fail("price", "[]", "data: expected object");
	expect_fail("price", "{\"item\":\"3001\"}", "field item: expected object");
	expect_fail("price", "{\"item\":{\"no\":1}}", "item.field no: expected string");
	expect_fail("price", "{\"min_price\":[]}", "field min_price: expected string or number");
	expect_fail("price", "{\"avg_price\":\"-\"}", "field avg_price: invalid decimal");
	expect_fail("price", "{\"avg_price\":\"123456789012345678901\"}", "field avg_price: invalid decimal");
	expect_fail("price", "{\"avg_price\":\"1.\"}", "field avg_price: invalid decimal");
	expect_fail("price", "{\"unit_quantity\":1.5}", "field unit_quantity: expected integer");
	expect_fail("price", "{\"total_quantity\":\"x\"}", "field total_quantity: expected integer");
	expect_fail("price", "{\"price_detail\":{}}", "field price_detail: expected array");
	expect_fail("price", "{\"price_detail\":[3]}", "price_detail[0]: expected object");
	expect_fail("price", "{\"price_detail\":[{\"qunatity\":\"x\"}]}", "price_detail[0] field qunatity: expected integer");
	expect_fail("price", "{\"price_detail\":[{\"unit_price\":null},{\"unit_price\":true}]}", "price_detail[1] field unit_price: expected string or number");
	expect_fail("price", "{\"currency_code\":1}", "field currency_code: expected string");
}

/*
 * test_colors_categories checks bc_json_map_colors and
 * bc_json_map_categories.
 */
static void
test_colors_categories(void)
{
	BcEnvelope	env;
	BcColor    *c;
	BcCategory *cat;
	int			n;
	char	   *err = NULL;
	json_object *d;

	d = parse_data(&env, "[{\"color_id\":86,\"color_name\":\"Light Bluish Gray\",\"color_code\":\"afb5c7\","
				   "\"color_type\":\"Solid\"},{\"color_id\":\"1\",\"color_name\":\"White\"}]");
	ok(bc_json_map_colors(d, &c, &n, &err) && n == 2, "colors: list maps");
	ok(n == 2 && c[0].color_id == 86 && strcmp(c[0].color_code, "afb5c7") == 0 &&
	   strcmp(c[0].color_type, "Solid") == 0 && c[1].color_id == 1 &&
	   c[1].color_code == NULL, "colors: fields");
	bc_json_colors_free(c, n);
	bc_json_envelope_free(&env);

	d = parse_data(&env, "{\"color_id\":11,\"color_name\":\"Black\",\"color_code\":\"212121\",\"color_type\":\"Solid\"}");
	ok(bc_json_map_colors(d, &c, &n, &err) && n == 1 && c[0].color_id == 11 &&
	   strcmp(c[0].color_name, "Black") == 0, "colors: single object (/colors/{id})");
	bc_json_colors_free(c, n);
	bc_json_envelope_free(&env);

	expect_fail("colors", "[{\"color_id\":1},{\"color_name\":\"x\"}]", "data[1] field color_id: missing");
	expect_fail("colors", "[{\"color_id\":1,\"color_code\":11}]", "data[0] field color_code: expected string");
	expect_fail("colors", "\"x\"", "data: expected array or object");
	expect_fail("colors", "[{\"color_id\":1,\"color_name\":\"A\"},{\"color_id\":2,\"color_name\":5}]",
				"data[1] field color_name: expected string");

	d = parse_data(&env, "[{\"category_id\":5,\"category_name\":\"Brick\",\"parent_id\":0},"
				   "{\"category_id\":\"26\",\"category_name\":\"Plate, Round &amp; Dish\"}]");
	ok(bc_json_map_categories(d, &cat, &n, &err) && n == 2, "categories: list maps");
	ok(n == 2 && cat[0].category_id == 5 && cat[0].parent_id == 0 &&
	   cat[1].category_id == 26 && strcmp(cat[1].category_name, "Plate, Round & Dish") == 0,
	   "categories: fields, names decoded");
	bc_json_categories_free(cat, n);
	bc_json_envelope_free(&env);

	d = parse_data(&env, "{\"category_id\":5,\"category_name\":\"Brick\",\"parent_id\":0}");
	ok(bc_json_map_categories(d, &cat, &n, &err) && n == 1, "categories: single object");
	bc_json_categories_free(cat, n);
	bc_json_envelope_free(&env);

	expect_fail("categories", "[{\"category_name\":\"x\"}]", "data[0] field category_id: missing");
	expect_fail("categories", "[{\"category_id\":1,\"parent_id\":\"root\"}]", "data[0] field parent_id: expected integer");
	expect_fail("categories", "5", "data: expected array or object");
}

/*
 * test_decimal checks bc_json_decimal_text directly.
 */
static void
test_decimal(void)
{
	static const struct
	{
		const char *in;
		const char *out;
	}			cases[] = {
		{"0.0825", "0.0825"}, {"+1.50", "1.50"}, {"-2", "-2"}, {"007", "007"},
		{"", NULL}, {"+", NULL}, {"-.5", NULL}, {".5", NULL}, {"5.", NULL},
		{"1.2.3", NULL}, {" 1", NULL}, {"1e3", NULL}, {"++1", NULL},
		{"12345678901234567890", "12345678901234567890"},
		{"123456789012345678901", NULL}, {"NaN", NULL},
	};
	int			i;

	for (i = 0; i < (int) lengthof(cases); i++)
	{
		char	   *r = bc_json_decimal_text(cases[i].in, strlen(cases[i].in));
		char		desc[64];

		snprintf(desc, sizeof(desc), "decimal '%s'", cases[i].in);
		is_str(r, cases[i].out, desc);
		free_if(r);
	}
}

/*
 * main runs every test group and exits non-zero if any test failed.
 */
int
main(void)
{
	test_percent_encode();
	test_base_string();
	test_signature();
	test_header();
	test_entities();
	test_envelope();
	test_decimal();
	test_item();
	test_known_colors();
	test_price_guide();
	test_colors_categories();

	printf("1..%d\n", tests_run);
	if (tests_failed > 0)
		printf("# %d of %d tests failed\n", tests_failed, tests_run);
	return tests_failed > 0 ? 1 : 0;
}
