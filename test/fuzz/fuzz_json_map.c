/*-------------------------------------------------------------------------
 *
 * fuzz_json_map.c
 *	  libFuzzer harness for bc_json_parse_envelope and every mapper.
 *
 * The HTTP status is derived from the input length so that corpus files
 * can be plain response bodies.  Bodies classified as ok are fed to every
 * mapper; results are checked (valid UTF-8, decimals well-formed) and
 * freed, so LeakSanitizer sees any leak.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "json_map.h"
#include "fuzz_check.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int fuzz_statuses[8] = {200, 200, 200, 200, 429, 500, 503, 404};

/*
 * fuzz_check_decimal aborts unless d (NULL allowed) is valid decimal text.
 */
static void
fuzz_check_decimal(const char *d, const char *what)
{
	char	   *again;

	if (d == NULL)
		return;
	again = bc_json_decimal_text(d, strlen(d));
	if (again == NULL || strcmp(again, d) != 0 || d[0] == '+')
	{
		fprintf(stderr, "bad decimal in %s\n", what);
		abort();
	}
	pfree(again);
}

/*
 * fuzz_check_err aborts unless a failed mapper set an error and cleared
 * its result.
 */
static void
fuzz_check_err(bool ok, char *err, const void *out, const char *what)
{
	if (ok)
		return;
	if (err == NULL || out != NULL)
	{
		fprintf(stderr, "%s failed without error or with a partial result\n", what);
		abort();
	}
	fuzz_check_utf8(err, what);
	pfree(err);
}

/*
 * LLVMFuzzerTestOneInput classifies data[0..size) and maps it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size ? size : 1);
	BcEnvelope	env;

	memcpy(copy, data, size);
	bc_json_parse_envelope(copy, size, fuzz_statuses[size % 8], &env);
	fuzz_check_utf8(env.meta_message, "meta_message");
	fuzz_check_utf8(env.meta_description, "meta_description");
	if ((env.outcome == BC_OUTCOME_OK) != (env.error == NULL))
	{
		fprintf(stderr, "error text inconsistent with outcome\n");
		abort();
	}
	if (env.outcome == BC_OUTCOME_OK)
	{
		json_object *d = env.data;
		char	   *err = NULL;
		bool		ok;

		{
			BcItem		it;

			ok = bc_json_map_item(d, &it, &err);
			if (ok)
			{
				fuzz_check_utf8(it.no, "no");
				fuzz_check_utf8(it.name, "name");
				fuzz_check_utf8(it.description, "description");
				fuzz_check_utf8(it.image_url, "image_url");
				fuzz_check_decimal(it.weight, "weight");
				fuzz_check_decimal(it.dim_x, "dim_x");
				fuzz_check_decimal(it.dim_y, "dim_y");
				fuzz_check_decimal(it.dim_z, "dim_z");
			}
			fuzz_check_err(ok, err, it.no, "map_item");
			bc_json_item_free(&it);
		}
		{
			BcKnownColor *kc;
			int			n;

			err = NULL;
			ok = bc_json_map_known_colors(d, &kc, &n, &err);
			fuzz_check_err(ok, err, kc, "map_known_colors");
			if (kc)
				pfree(kc);
		}
		{
			BcPriceGuide pg;

			err = NULL;
			ok = bc_json_map_price_guide(d, &pg, &err);
			if (ok)
			{
				fuzz_check_decimal(pg.min_price, "min_price");
				fuzz_check_decimal(pg.max_price, "max_price");
				fuzz_check_decimal(pg.avg_price, "avg_price");
				fuzz_check_decimal(pg.qty_avg_price, "qty_avg_price");
				fuzz_check_utf8(pg.currency_code, "currency_code");
			}
			fuzz_check_err(ok, err, pg.min_price, "map_price_guide");
			bc_json_price_guide_free(&pg);
		}
		{
			BcColor    *c;
			int			n;
			int			i;

			err = NULL;
			ok = bc_json_map_colors(d, &c, &n, &err);
			for (i = 0; ok && i < n; i++)
				fuzz_check_utf8(c[i].color_name, "color_name");
			fuzz_check_err(ok, err, c, "map_colors");
			bc_json_colors_free(c, n);
		}
		{
			BcCategory *c;
			int			n;
			int			i;

			err = NULL;
			ok = bc_json_map_categories(d, &c, &n, &err);
			for (i = 0; ok && i < n; i++)
				fuzz_check_utf8(c[i].category_name, "category_name");
			fuzz_check_err(ok, err, c, "map_categories");
			bc_json_categories_free(c, n);
		}
	}
	bc_json_envelope_free(&env);
	free(copy);
	return 0;
}
