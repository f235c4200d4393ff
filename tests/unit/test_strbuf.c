/*
 * Unit tests for strbuf: growth, the hard cap, views and bounded parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_parse_long),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
