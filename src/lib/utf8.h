/*
 * utf8: herald's one UTF-8 decoder. Valid means well-formed as Unicode
 * defines it (its Table 3-7): no overlong forms, no surrogates (U+D800 to
 * U+DFFF), nothing past U+10FFFF. Pure; no allocation.
 */
#ifndef HERALD_UTF8_H
#define HERALD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the character at s[0..len), len > 0. Returns its length in bytes
 * (1 to 4) with *cp its code point, or 0 when it is not valid, with *bad
 * the length of the maximal invalid subsequence there (1 to 3: what one
 * U+FFFD replaces, as Unicode recommends). cp and bad may be NULL.
 */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp, size_t *bad);

/* The length in bytes of the valid character at s[0..len) (len > 0), or 0. */
size_t utf8_char_len(const char *s, size_t len);

/* Whether s[0..len) is valid UTF-8. */
int utf8_valid(const char *s, size_t len);

/*
 * The length of the longest valid UTF-8 prefix of s[0..len): the offset of
 * the first bad byte, or len when all of it is valid.
 */
size_t utf8_valid_prefix(const char *s, size_t len);

#endif
