/*
 * Unit tests for utf8, herald's one UTF-8 decoder: validation, decoding,
 * the maximal invalid subsequences U+FFFD replaces, and a sweep that holds
 * it to the decoders it replaced (provider.c's and log.c's) on every
 * two-byte sequence and a spread of longer ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/utf8.h"

static void test_valid(void **state)
{
	static const char *const good[] = {
		"", "plain ASCII", "caf\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x9a\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xf4\x8f\xbf\xbf", "\xef\xbf\xbd",
	};
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xff", "\xfe", "\xe2\x82", "\xf0\x9f\x9a",
		"a\xc3", "\xc3\x28", "\xe2\x28\xa1",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(utf8_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(utf8_valid(bad[i], strlen(bad[i])));
	/* A NUL is valid UTF-8; the length decides, not the terminator. */
	assert_true(utf8_valid("a\0b", 3));
	assert_false(utf8_valid("a\0\xff", 3));
	assert_int_equal(utf8_valid_prefix("caf\xc3\xa9\xff!", 7), 5);
	assert_int_equal(utf8_valid_prefix("a\xe2\x82", 3), 1);
	assert_int_equal(utf8_valid_prefix("ok", 2), 2);
}

static void expect_char(const char *s, size_t len, size_t want_len,
			uint32_t want_cp)
{
	uint32_t cp = 0xdeadbeef;
	size_t bad;

	assert_int_equal(utf8_decode(s, len, &cp, &bad), want_len);
	assert_int_equal(cp, want_cp);
	assert_int_equal(utf8_char_len(s, len), want_len);
}

static void expect_bad(const char *s, size_t len, size_t want_bad)
{
	uint32_t cp;
	size_t bad = 99;

	assert_int_equal(utf8_decode(s, len, &cp, &bad), 0);
	assert_int_equal(bad, want_bad);
	assert_int_equal(utf8_char_len(s, len), 0);
	assert_int_equal(utf8_decode(s, len, NULL, NULL), 0);
}

static void test_decode(void **state)
{
	expect_char("A", 1, 1, 'A');
	expect_char("\0", 1, 1, 0);
	expect_char("\x7f", 1, 1, 0x7f);
	expect_char("\xc2\x80", 2, 2, 0x80);
	expect_char("\xc3\xa9tc", 4, 2, 0xe9);	/* the first character */
	expect_char("\xdf\xbf", 2, 2, 0x7ff);
	expect_char("\xe0\xa0\x80", 3, 3, 0x800);
	expect_char("\xe2\x80\xa6", 3, 3, 0x2026);
	expect_char("\xed\x9f\xbf", 3, 3, 0xd7ff);
	expect_char("\xee\x80\x80", 3, 3, 0xe000);
	expect_char("\xef\xbf\xbf", 3, 3, 0xffff);
	expect_char("\xf0\x90\x80\x80", 4, 4, 0x10000);
	expect_char("\xf0\x9f\x9a\x80", 4, 4, 0x1f680);
	expect_char("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);

	/* The maximal subparts of Unicode's Table 3-8 and its kin. */
	expect_bad("\x80", 1, 1);
	expect_bad("\xbf\x80", 2, 1);
	expect_bad("\xc0\x80", 2, 1);
	expect_bad("\xc1\xbf", 2, 1);
	expect_bad("\xf5\x80\x80\x80", 4, 1);
	expect_bad("\xff", 1, 1);
	expect_bad("\xc2", 1, 1);
	expect_bad("\xc2\x41", 2, 1);
	expect_bad("\xe1\x80", 2, 2);
	expect_bad("\xe1\x80\xc2", 3, 2);
	expect_bad("\xf1\x80\x80", 3, 3);
	expect_bad("\xf1\x80\x80\xe1", 4, 3);
	expect_bad("\xe0\x80\x80", 3, 1);	/* overlong */
	expect_bad("\xe0\x9f\xbf", 3, 1);
	expect_bad("\xf0\x8f\xbf\xbf", 4, 1);
	expect_bad("\xed\xa0\x80", 3, 1);	/* a surrogate */
	expect_bad("\xed\xbf\xbf", 3, 1);
	expect_bad("\xf4\x90\x80\x80", 4, 1);	/* past U+10FFFF */
	/* len, not the bytes after it, ends the character. */
	expect_bad("\xe2\x80\xa6", 2, 2);
	expect_bad("\xf0\x9f\x9a\x80", 3, 3);
}

/* Encodes cp (any scalar value) as UTF-8 into buf; returns the length. */
static size_t encode(uint32_t cp, char *buf)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | cp >> 18);
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Every scalar value decodes to itself, at the length it was encoded in. */
static void test_every_code_point(void **state)
{
	char buf[4];

	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		uint32_t got;
		size_t n;

		if (cp == 0xd800)
			cp = 0xe000;
		n = encode(cp, buf);
		if (utf8_decode(buf, n, &got, NULL) != n || got != cp)
			fail_msg("U+%04X does not decode to itself", cp);
	}
}

/* The decoder provider.c and log.c had, each a copy, before utf8.c. */
static size_t old_char_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xC2 || s[0] > 0xF4)
		return 0;
	len = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * Every first and second byte, with third and fourth bytes from each
 * boundary of the continuation ranges, at every length: utf8_char_len()
 * agrees with the old decoder byte for byte.
 */
static void test_same_as_before(void **state)
{
	static const unsigned char edges[] = {
		0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc2, 0xe0, 0xf0, 0xff,
	};
	const size_t ne = sizeof(edges);
	unsigned char s[4];

	for (unsigned ab = 0; ab < 0x10000; ab++) {
		s[0] = (unsigned char)(ab >> 8);
		s[1] = (unsigned char)ab;
		for (size_t cd = 0; cd < ne * ne; cd++) {
			s[2] = edges[cd / ne];
			s[3] = edges[cd % ne];
			for (size_t len = 1; len <= 4; len++) {
				if (utf8_char_len((const char *)s, len) ==
				    old_char_len(s, len))
					continue;
				fail_msg("%02x %02x %02x %02x, length %zu",
					 s[0], s[1], s[2], s[3], len);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_every_code_point),
		cmocka_unit_test(test_same_as_before),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
