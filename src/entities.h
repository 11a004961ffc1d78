/*-------------------------------------------------------------------------
 *
 * entities.h
 *	  HTML character reference decoder for BrickLink names and descriptions.
 *
 * Pure C: compiles in the backend and as frontend code (-DFRONTEND).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BRICKCAT_ENTITIES_H
#define BRICKCAT_ENTITIES_H

/* Inputs longer than this are truncated (keeps the output below 1 GB). */
#define BC_ENTITIES_MAX_INPUT ((size_t) 256 * 1024 * 1024)

/*
 * Decode HTML character references in s[0..len) into a palloc'd,
 * NUL-terminated, valid UTF-8 string.
 *
 * - &#NN; &#xHH; and named references (&amp; &lt; &gt; &quot; &apos;
 *   &nbsp;, all Latin-1 names such as &eacute; &frac12; &deg; &times;
 *   &reg;, and common typographic ones such as &trade; &ndash; &hellip;)
 *   are decoded exactly once (so "&amp;#39;" gives "&#39;").
 * - Unknown, malformed or truncated references are kept literally.
 * - Numeric references to 0, surrogates, values > 0x10FFFF and control
 *   characters other than \t \n \r become U+FFFD; references to 0x80-0x9F
 *   are mapped through Windows-1252 as browsers do (undefined ones: U+FFFD).
 * - Invalid UTF-8 input bytes and literal NUL bytes become U+FFFD, so the
 *   output never contains NUL and is always valid UTF-8.
 * - strip_tags removes <...> tags; <br>, <br/>, <p>, </p>, <div>, </div>,
 *   <li> and <tr> become a newline.  A "<" not followed by a letter, "/",
 *   "!" or "?", or with no ">" after it, is kept literally.
 * - trim collapses each run of ASCII whitespace into one space (or one
 *   newline if the run contains a newline) and drops leading and trailing
 *   whitespace.
 *
 * Runs in time linear in len and never reads past s[len - 1].
 */
extern char *bc_entities_decode(const char *s, size_t len, bool strip_tags,
								bool trim);

#endif							/* BRICKCAT_ENTITIES_H */
