/*-------------------------------------------------------------------------
 *
 * fuzz_entities.c
 *	  libFuzzer harness for bc_entities_decode.
 *
 * Runs the decoder with every combination of strip_tags and trim on a
 * heap copy of exactly the input bytes (so ASan catches any over-read)
 * and checks that the output is valid UTF-8 without NUL bytes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "entities.h"
#include "fuzz_check.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput decodes data[0..size) four ways and checks the
 * output invariants.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size ? size : 1);
	int			flags;

	memcpy(copy, data, size);
	for (flags = 0; flags < 4; flags++)
	{
		bool		strip = (flags & 1) != 0;
		bool		trim = (flags & 2) != 0;
		char	   *out = bc_entities_decode(copy, size, strip, trim);
		size_t		n = strlen(out);

		fuzz_check_utf8(out, "entities output");
		if (trim && n > 0 && (out[0] == ' ' || out[0] == '\n' ||
							  out[n - 1] == ' ' || out[n - 1] == '\n'))
		{
			fprintf(stderr, "trim left leading/trailing whitespace\n");
			abort();
		}
		/* worst case: each input byte becomes U+FFFD (3 bytes) */
		if (n > 3 * size)
		{
			fprintf(stderr, "output larger than 3x input\n");
			abort();
		}
		pfree(out);
	}
	free(copy);
	return 0;
}
