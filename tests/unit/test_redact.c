/*
 * Unit tests for redact: registered secrets, the per-call secret, URL
 * credentials, and the in-place form's cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/redact.h"

static int teardown(void **state)
{
	redact_clear_secrets();
	return 0;
}

/* redact(s, also) as a string; asserts the return value is hit. */
static void check(const char *s, const char *also, const char *want, int hit)
{
	struct strbuf out = STRBUF_INIT;

	assert_int_equal(redact(&out, s, strlen(s), also), hit);
	assert_string_equal(out.buf, want);
	assert_int_equal(redact_needed(s, strlen(s), also), hit);
	strbuf_release(&out);
}

static void test_secrets(void **state)
{
	check("nothing here", NULL, "nothing here", 0);
	redact_add_secret("xoxb-1-2");
	redact_add_secret("xoxb-1-2-3");
	redact_add_secret("");
	redact_add_secret(NULL);
	redact_add_secret("xoxb-1-2");
	check("a xoxb-1-2 b", NULL, "a … b", 1);
	check("xoxb-1-2-3xoxb-1-2", NULL, "……", 1);	/* the longest wins */
	check("xoxb-1-", NULL, "xoxb-1-", 0);
	check("Bearer other-token", "other-token", "Bearer …", 1);
	check("other-token", NULL, "other-token", 0);
	check("", "x", "", 0);
	redact_clear_secrets();
	check("a xoxb-1-2 b", NULL, "a xoxb-1-2 b", 0);
}

static void test_url_credentials(void **state)
{
	check("https://bot:pw@chat.example/api", NULL,
	      "https://bot:…@chat.example/api", 1);
	check("POST http://u:p%40s:s@127.0.0.1:8080/slack/api/x: refused", NULL,
	      "POST http://u:…@127.0.0.1:8080/slack/api/x: refused", 1);
	check("\"https://xoxb-token@h.example\"", NULL,
	      "\"https://…@h.example\"", 1);
	check("https://u:@h.example/", NULL, "https://u:@h.example/", 0);
	check("https://h.example/a@b", NULL, "https://h.example/a@b", 0);
	check("https://h.example mail jane@example.com", NULL,
	      "https://h.example mail jane@example.com", 0);
	check("a://b:c@d e://f:g@h", NULL, "a://b:…@d e://f:…@h", 1);
	check("://@", NULL, "://@", 0);
	check("x:", NULL, "x:", 0);
	/* A registered secret as the user name (found by fuzz_redact). */
	redact_add_secret("xoxb-1234-secret");
	check("https://xoxb-1234-secret:x-oauth-basic@github.com/o/r", NULL,
	      "https://…:…@github.com/o/r", 1);
}

static void test_inplace(void **state)
{
	char buf[32] = "GET https://u:secretpw@h/";
	char tiny[6] = "ab xy";

	assert_int_equal(redact_inplace(buf, sizeof(buf), NULL), 1);
	assert_string_equal(buf, "GET https://u:…@h/");
	assert_int_equal(redact_inplace(buf, sizeof(buf), NULL), 0);
	/* Cut to fit, never inside the mark. */
	assert_int_equal(redact_inplace(tiny, sizeof(tiny), "xy"), 1);
	assert_string_equal(tiny, "ab ");
	assert_int_equal(redact_inplace(tiny, 0, "x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_secrets, teardown),
		cmocka_unit_test_teardown(test_url_credentials, teardown),
		cmocka_unit_test_teardown(test_inplace, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
