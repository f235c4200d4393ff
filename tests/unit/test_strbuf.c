/*
 * Unit tests for strbuf: growth, the hard cap and its sticky overflow,
 * views and bounded parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/json_out.h"
#include "lib/strbuf.h"

static void test_add_and_detach(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;

	assert_string_equal(sb.buf, "");
	assert_int_equal(strbuf_addstr(&sb, "hello"), 0);
	assert_int_equal(strbuf_addch(&sb, ' '), 0);
	assert_int_equal(strbuf_addf(&sb, "%d-%s", 42, "x"), 0);
	assert_string_equal(sb.buf, "hello 42-x");
	assert_int_equal(sb.len, 10);
	s = strbuf_detach(&sb, &len);
	assert_string_equal(s, "hello 42-x");
	assert_int_equal(len, 10);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	free(s);
}

static void test_cap(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb, 8);
	assert_int_equal(strbuf_addstr(&sb, "12345678"), 0);
	assert_int_equal(strbuf_addch(&sb, '9'), -1);
	assert_int_equal(strbuf_addf(&sb, "%s", "x"), -1);
	assert_string_equal(sb.buf, "12345678");
	strbuf_release(&sb);
}

/*
 * Overflow is sticky: after the add that did not fit, every add does
 * nothing and returns -1, even one that would fit, so the buffer holds the
 * adds before it and one check at the end tells.
 */
static void test_sticky_overflow(void **state)
{
	struct strbuf sb;
	char *s;
	size_t len;

	strbuf_init(&sb, 8);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_addstr(&sb, "12345"), 0);
	assert_int_equal(strbuf_addstr(&sb, "6789"), -1);
	assert_true(strbuf_overflowed(&sb));
	assert_string_equal(sb.buf, "12345");
	assert_int_equal(strbuf_addch(&sb, '6'), -1);
	assert_int_equal(strbuf_addstr(&sb, "6"), -1);
	assert_int_equal(strbuf_add(&sb, "6", 1), -1);
	assert_int_equal(strbuf_add(&sb, "", 0), -1);
	assert_int_equal(strbuf_addf(&sb, "%d", 6), -1);
	assert_int_equal(strbuf_grow(&sb, 1), -1);
	assert_string_equal(sb.buf, "12345");
	assert_int_equal(sb.len, 5);
	assert_true(strbuf_overflowed(&sb));

	/* Trimming keeps the mark; reset clears it. */
	strbuf_trim(&sb);
	assert_true(strbuf_overflowed(&sb));
	strbuf_reset(&sb);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_addstr(&sb, "abc"), 0);
	assert_string_equal(sb.buf, "abc");

	/* An addf that does not fit marks it as an add does. */
	assert_int_equal(strbuf_addf(&sb, "%s", "defghi"), -1);
	assert_true(strbuf_overflowed(&sb));
	assert_string_equal(sb.buf, "abc");

	/* Detach and release clear it too (after the check they allow). */
	s = strbuf_detach(&sb, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	free(s);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(sb.max, 8);
	assert_int_equal(strbuf_addstr(&sb, "123456789"), -1);
	strbuf_release(&sb);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_addstr(&sb, "12345678"), 0);
	strbuf_release(&sb);
}

/* Cutting back to a length the caller chose clears the mark. */
static void test_setlen_clears_overflow(void **state)
{
	struct strbuf sb;
	size_t mark;

	strbuf_init(&sb, 10);
	strbuf_addstr(&sb, "a,b");
	/* An item that does not fit is dropped whole, and adding goes on. */
	mark = sb.len;
	strbuf_addch(&sb, ',');
	strbuf_addstr(&sb, "too long");
	assert_true(strbuf_overflowed(&sb));
	assert_string_equal(sb.buf, "a,b,");
	strbuf_setlen(&sb, mark);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_addstr(&sb, ",c"), 0);
	assert_string_equal(sb.buf, "a,b,c");

	/* Also when the item failed at once: nothing to cut, still cleared. */
	mark = sb.len;
	assert_int_equal(strbuf_addstr(&sb, "too long"), -1);
	strbuf_setlen(&sb, mark);
	assert_false(strbuf_overflowed(&sb));

	/* A "cut" past the end cuts nothing and keeps the mark. */
	assert_int_equal(strbuf_addstr(&sb, "too long"), -1);
	strbuf_setlen(&sb, sb.len + 1);
	assert_true(strbuf_overflowed(&sb));
	assert_string_equal(sb.buf, "a,b,c");
	strbuf_release(&sb);
}

/* Reserving more than the cap allows fails, but is no failed add. */
static void test_grow_does_not_mark(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	assert_false(strbuf_overflowed(&sb));
	strbuf_init(&sb, 8);
	assert_int_equal(strbuf_grow(&sb, 9), -1);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_addstr(&sb, "12345678"), 0);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_grow(&sb, 1), -1);
	assert_false(strbuf_overflowed(&sb));
	assert_int_equal(strbuf_add(&sb, "", 0), 0);
	assert_int_equal(strbuf_addch(&sb, '9'), -1);
	assert_true(strbuf_overflowed(&sb));
	strbuf_release(&sb);
}

/*
 * json_out() answers -1 for a body that went over its cap, so the senders'
 * one check of its result also catches a cut-off body. (Here rather than
 * in test_json_out.c because it is about the sticky mark.)
 */
static void test_json_out_overflow(void **state)
{
	static const char want[] = "{\"text\":\"hello\",\"n\":[1,2]}";
	struct strbuf sb;
	json_t *j = json_pack("{s:s, s:[i, i]}", "text", "hello", "n", 1, 2);

	strbuf_init(&sb, sizeof(want) - 1);
	assert_int_equal(json_out(&sb, j, 0), 0);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
	for (size_t cap = 1; cap < sizeof(want) - 1; cap++) {
		strbuf_init(&sb, cap);
		assert_int_equal(json_out(&sb, j, 0), -1);
		assert_true(strbuf_overflowed(&sb));
		strbuf_release(&sb);
	}
	json_decref(j);

	/* A buffer that overflowed before the call fails it too. */
	strbuf_init(&sb, 4);
	assert_int_equal(strbuf_addstr(&sb, "too long"), -1);
	j = json_integer(1);
	assert_int_equal(json_out(&sb, j, 0), -1);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
	json_decref(j);
}

static void test_growth(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < 10000; i++)
		assert_int_equal(strbuf_addch(&sb, (char)('a' + i % 26)), 0);
	assert_int_equal(sb.len, 10000);
	assert_int_equal(sb.buf[9999], 'a' + 9999 % 26);
	assert_int_equal(sb.buf[10000], '\0');
	strbuf_setlen(&sb, 3);
	assert_string_equal(sb.buf, "abc");
	strbuf_release(&sb);

	/* Room made ahead is used without growing again, within the cap. */
	strbuf_init(&sb, 5000);
	assert_int_equal(strbuf_grow(&sb, 4000), 0);
	{
		size_t alloc = sb.alloc;
		char *buf = sb.buf;

		assert_true(alloc > 4000);
		for (int i = 0; i < 4000; i++)
			assert_int_equal(strbuf_addch(&sb, 'x'), 0);
		assert_int_equal(sb.alloc, alloc);
		assert_ptr_equal(sb.buf, buf);
	}
	assert_int_equal(strbuf_grow(&sb, 1001), -1);
	assert_int_equal(sb.len, 4000);
	strbuf_release(&sb);
}

static void test_trim(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct strview v = strview_trim(STRVIEW("  a b \t"));

	assert_int_equal(v.len, 3);
	assert_true(strview_eq(v, "a b"));
	strbuf_addstr(&sb, " \n x \n");
	strbuf_trim(&sb);
	assert_string_equal(sb.buf, "x");
	strbuf_release(&sb);
}

static void test_parse_long(void **state)
{
	long v = 0;
	double d = 0;

	assert_int_equal(parse_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_long("101", 0, 100, &v), -1);
	assert_int_equal(parse_long("-1", 0, 100, &v), -1);
	assert_int_equal(parse_long("4x", 0, 100, &v), -1);
	assert_int_equal(parse_long(" 4", 0, 100, &v), -1);
	assert_int_equal(parse_long("", 0, 100, &v), -1);
	assert_int_equal(parse_long("99999999999999999999999", 0, 100, &v), -1);
	assert_int_equal(parse_double("1.5", 0, 10, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(parse_double("nan", 0, 10, &d), -1);
	assert_int_equal(parse_double("11", 0, 10, &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_detach),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_sticky_overflow),
		cmocka_unit_test(test_setlen_clears_overflow),
		cmocka_unit_test(test_grow_does_not_mark),
		cmocka_unit_test(test_json_out_overflow),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_parse_long),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
