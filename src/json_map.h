/*-------------------------------------------------------------------------
 *
 * json_map.h
 *	  Classify BrickLink API responses and map their JSON into C structs.
 *
 * Pure C: compiles in the backend and as frontend code (-DFRONTEND).
 * Never raises errors.  Every string in a result is palloc'd; numeric
 * values that PostgreSQL stores as numeric are kept as validated decimal
 * text so that no float rounding ever happens.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BRICKCAT_JSON_MAP_H
#define BRICKCAT_JSON_MAP_H

#include <json-c/json.h>

/* Bodies larger than this are bad_response without being parsed. */
#define BC_JSON_MAX_BODY ((size_t) 64 * 1024 * 1024)
/* Maximum JSON nesting depth accepted by the tokener. */
#define BC_JSON_MAX_DEPTH 32
/* Maximum length of a decimal text value (after dropping a leading '+'). */
#define BC_JSON_MAX_DECIMAL 20

typedef enum BcOutcome
{
	BC_OUTCOME_OK,
	BC_OUTCOME_NOT_FOUND,
	BC_OUTCOME_BAD_REQUEST,
	BC_OUTCOME_AUTH_ERROR,
	BC_OUTCOME_THROTTLED,
	BC_OUTCOME_SERVER_ERROR,
	BC_OUTCOME_TIMEOUT,
	BC_OUTCOME_NETWORK_ERROR,
	BC_OUTCOME_BAD_RESPONSE
} BcOutcome;

/* "ok", "not_found", ..., "bad_response"; "unknown" for anything else. */
extern const char *bc_outcome_name(BcOutcome o);

/*
 * True for throttled, server_error, timeout and network_error.  For
 * bad_response the answer depends on the cause (malformed/truncated body:
 * retryable; well-formed JSON of the wrong shape: not), so this returns
 * false and BcEnvelope.retryable carries the precise answer.
 */
extern bool bc_outcome_is_retryable(BcOutcome o);

typedef struct BcEnvelope
{
	BcOutcome	outcome;
	int			http_status;
	int			meta_code;		/* 0 if no envelope was found */
	char	   *meta_message;	/* sanitized, NULL if absent */
	char	   *meta_description;	/* sanitized, NULL if absent */
	json_object *root;			/* owned; NULL if not parsed */
	json_object *data;			/* borrowed from root; NULL if absent */
	char	   *error;			/* short fixed reason, NULL when ok */
	bool		retryable;
} BcEnvelope;

/*
 * Parse body[0..len) received with the given HTTP status and classify it
 * (by meta.code, not by HTTP status).  Always fills *env; check
 * env->outcome.  Free with bc_json_envelope_free.
 */
extern void bc_json_parse_envelope(const char *body, size_t len,
								   int http_status, BcEnvelope *env);
extern void bc_json_envelope_free(BcEnvelope *env);

typedef struct BcItem
{
	char	   *no;				/* required */
	char	   *type;			/* required */
	char	   *name;			/* entities decoded, trimmed; NULL if missing */
	char	   *alternate_no;
	char	   *image_url;		/* "//x" -> "https://x"; NULL if missing/empty */
	char	   *thumbnail_url;	/* same rules */
	char	   *description;	/* entities decoded, tags stripped, trimmed */
	char	   *language_code;
	char	   *weight;			/* decimal text; NULL if missing or zero */
	char	   *dim_x;			/* decimal text; NULL if missing or zero */
	char	   *dim_y;
	char	   *dim_z;
	int			category_id;
	bool		has_category;	/* false if missing or 0 */
	int			year_released;
	bool		has_year;		/* false if missing or 0 */
	bool		is_obsolete;	/* false if missing */
} BcItem;

typedef struct BcKnownColor
{
	int			color_id;
	int			quantity;		/* 0 if missing */
} BcKnownColor;

typedef struct BcPriceGuide
{
	char	   *item_no;		/* item.no, NULL if missing */
	char	   *item_type;		/* item.type, NULL if missing */
	char	   *new_or_used;
	char	   *currency_code;
	char	   *min_price;		/* decimal text, NULL if missing */
	char	   *max_price;
	char	   *avg_price;
	char	   *qty_avg_price;
	int64		unit_quantity;	/* 0 if missing */
	int64		total_quantity; /* 0 if missing */
	int			n_details;		/* rows in price_detail (validated) */
	bool		no_sales;		/* all prices and quantities zero/missing */
} BcPriceGuide;

typedef struct BcColor
{
	int			color_id;
	char	   *color_name;		/* entities decoded, trimmed */
	char	   *color_code;
	char	   *color_type;
} BcColor;

typedef struct BcCategory
{
	int			category_id;
	char	   *category_name;	/* entities decoded, trimmed */
	int			parent_id;		/* 0 at the root or if missing */
} BcCategory;

/*
 * Mappers: true on success; on any wrong type return false with *err set
 * to a palloc'd precise message (e.g. "field weight: expected string or
 * number") and *out zeroed: never a partial result.
 */
extern bool bc_json_map_item(json_object *data, BcItem *out, char **err);
extern bool bc_json_map_known_colors(json_object *data, BcKnownColor **out,
									 int *n, char **err);
extern bool bc_json_map_price_guide(json_object *data, BcPriceGuide *out,
									char **err);
extern bool bc_json_map_colors(json_object *data, BcColor **out, int *n,
							   char **err);
extern bool bc_json_map_categories(json_object *data, BcCategory **out,
								   int *n, char **err);

/* Release what the mappers allocated (safe on zeroed structs / NULL). */
extern void bc_json_item_free(BcItem *item);
extern void bc_json_price_guide_free(BcPriceGuide *pg);
extern void bc_json_colors_free(BcColor *colors, int n);
extern void bc_json_categories_free(BcCategory *cats, int n);

/*
 * Validate a decimal string ^[+-]?[0-9]+(\.[0-9]+)?$ (at most
 * BC_JSON_MAX_DECIMAL chars once a leading '+' is dropped); returns a
 * palloc'd copy without the '+', or NULL.  Exposed for tests and callers.
 */
extern char *bc_json_decimal_text(const char *s, size_t len);

#endif							/* BRICKCAT_JSON_MAP_H */
