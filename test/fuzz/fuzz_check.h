/*-------------------------------------------------------------------------
 *
 * fuzz_check.h
 *	  Invariant checks shared by brickcat's libFuzzer harnesses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BRICKCAT_FUZZ_CHECK_H
#define BRICKCAT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/*
 * fuzz_check_utf8 aborts unless s (NULL allowed) is valid UTF-8 without
 * surrogates or overlongs (NUL-terminated, so it holds no NUL byte).
 */
static inline void
fuzz_check_utf8(const char *s, const char *what)
{
	const unsigned char *u = (const unsigned char *) s;

	if (s == NULL)
		return;
	while (*u)
	{
		unsigned char c = *u;
		int			need;
		unsigned int v;
		unsigned int min;
		int			k;

		if (c < 0x80)
		{
			u++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			need = 1;
			v = c & 0x1F;
			min = 0x80;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			need = 2;
			v = c & 0x0F;
			min = 0x800;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			need = 3;
			v = c & 0x07;
			min = 0x10000;
		}
		else
			goto bad;
		for (k = 1; k <= need; k++)
		{
			if ((u[k] & 0xC0) != 0x80)
				goto bad;
			v = (v << 6) | (u[k] & 0x3F);
		}
		if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			goto bad;
		u += need + 1;
	}
	return;
bad:
	fprintf(stderr, "invalid UTF-8 in %s\n", what);
	abort();
}

#endif							/* BRICKCAT_FUZZ_CHECK_H */
