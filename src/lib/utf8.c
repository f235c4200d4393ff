/*
 * utf8: decoding and validating UTF-8, for text.c's cleaning and escaping,
 * the delivery results' clean-up and the log's quoting alike.
 */
#include "lib/utf8.h"

size_t utf8_decode(const char *s, size_t len, uint32_t *cp, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, bad_unused;
	uint32_t v, cp_unused;

	if (!cp)
		cp = &cp_unused;
	if (!bad)
		bad = &bad_unused;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* > U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= len || p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		v = v << 6 | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	return need + 1;
}

size_t utf8_char_len(const char *s, size_t len)
{
	return utf8_decode(s, len, NULL, NULL);
}

size_t utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, NULL, NULL);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

int utf8_valid(const char *s, size_t len)
{
	return utf8_valid_prefix(s, len) == len;
}
