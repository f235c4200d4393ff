/*
 * Unit tests for json_out: the same bytes as jansson's json_dumps() with
 * JSON_COMPACT (and JSON_ENSURE_ASCII), for every kind of value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/json_out.h"

static void expect_as_jansson(const json_t *j)
{
	for (int ascii = 0; ascii <= 1; ascii++) {
		struct strbuf sb = STRBUF_INIT;
		char *want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT |
					(ascii ? JSON_ENSURE_ASCII : 0));

		assert_non_null(want);
		assert_int_equal(json_out(&sb, j, ascii ? JSON_OUT_ASCII : 0), 0);
		assert_string_equal(sb.buf, want);
		free(want);
		strbuf_release(&sb);
	}
}

static void test_values(void **state)
{
	json_t *j = json_pack("{s:s, s:i, s:I, s:b, s:b, s:n, s:f, s:[], s:{},"
			      " s:[s, i, {s:[s, s]}]}",
			      "text", "Deploy \"api\" <!channel> caf\xc3\xa9 \xf0\x9f\x9a\x80\n",
			      "n", -42, "big", (json_int_t)9007199254740993LL,
			      "yes", 1, "no", 0, "nothing",
			      "ratio", 0.25, "empty", "obj",
			      "blocks", "a\tb", 7, "fields", "x/y", "\x01\x1f");

	assert_non_null(j);
	expect_as_jansson(j);
	json_decref(j);

	/* Lone values, and keys in the order they were set. */
	j = json_string("");
	expect_as_jansson(j);
	json_decref(j);
	j = json_real(1e300);
	expect_as_jansson(j);
	json_decref(j);
	j = json_object();
	json_object_set_new(j, "z\xc3\xa9", json_integer(1));
	json_object_set_new(j, "a", json_integer(2));
	json_object_set_new(j, "channel", json_string("C0123"));
	expect_as_jansson(j);
	json_decref(j);
}

static void test_invalid_utf8(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j = json_stringn_nocheck("bad \xff", 5);

	assert_int_equal(json_out(&sb, j, 0), -1);
	json_decref(j);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_invalid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
