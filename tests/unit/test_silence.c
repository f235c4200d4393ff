/*
 * Unit tests for silence: the request parser (every rule and its message),
 * durations, the glob matcher, matching notifications, and the JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/event.h"
#include "core/silence.h"

#define NOW 1796500000.0	/* 2026-12-05T19:46:40Z */

static int parse(struct silence *s, const char *text, struct errbuf *err)
{
	return silence_parse(s, text, strlen(text), NOW, err);
}

static void expect_error(const char *text, const char *needle)
{
	struct silence s;
	struct errbuf err;

	assert_int_equal(parse(&s, text, &err), HERALD_EINVAL);
	if (!strstr(err.msg, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
	/* Nothing is left to release. */
	assert_null(s.comment);
	assert_null(s.match[SILENCE_APP]);
}

static void test_parse_full(void **state)
{
	struct silence s;
	struct errbuf err;

	assert_int_equal(parse(&s, "{\"match\": {\"app\": \"api\", \"env\": "
			       "\"staging\", \"type\": \"alert\", \"alert\": "
			       "\"CrashLoop*\", \"object\": \"pod/api-?\", "
			       "\"status\": \"firing\", \"destination\": "
			       "\"#ops\"}, \"duration\": \"2h\", \"comment\": "
			       "\"maintenance\", \"created_by\": \"jane\"}",
			       &err), 0);
	assert_string_equal(s.match[SILENCE_APP], "api");
	assert_string_equal(s.match[SILENCE_ENV], "staging");
	assert_string_equal(s.match[SILENCE_TYPE], "alert");
	assert_string_equal(s.match[SILENCE_STATUS], "firing");
	assert_string_equal(s.match[SILENCE_ALERT], "CrashLoop*");
	assert_string_equal(s.match[SILENCE_OBJECT], "pod/api-?");
	assert_string_equal(s.match[SILENCE_DESTINATION], "#ops");
	assert_string_equal(s.comment, "maintenance");
	assert_string_equal(s.created_by, "jane");
	assert_true(s.starts_at == NOW && s.created_at == NOW);
	assert_true(s.ends_at == NOW + 7200);
	assert_true(s.ended_at == 0);
	silence_release(&s);
}

static void test_parse_ends_at(void **state)
{
	struct silence s;
	struct errbuf err;

		assert_int_equal(parse(&s, "{\"match\": {\"app\": \"api\"}, \"ends_at\":"
			       " \"2026-12-05T21:46:40+01:00\", \"comment\": "
			       "\"x\"}", &err), 0);
	assert_true(s.ends_at == NOW + 3600);
	assert_null(s.created_by);
	silence_release(&s);
}

/*
 * starts_at schedules it: pending until then, active from then, and a
 * duration counts from it. A start in the past is now.
 */
static void test_parse_starts_at(void **state)
{
	struct silence s;
	struct errbuf err;
	struct silence_subject subj = { { 0 } };

	/* NOW + 1 h */
	assert_int_equal(parse(&s, "{\"match\": {\"app\": \"api\"}, \"starts_at\":"
			       " \"2026-12-05T20:46:40Z\", \"duration\": \"2h\","
			       " \"comment\": \"window\"}", &err), 0);
	assert_true(s.starts_at == NOW + 3600);
	assert_true(s.ends_at == NOW + 3600 + 7200);
	assert_true(s.created_at == NOW);
	assert_string_equal(silence_state(&s, NOW), "pending");
	assert_false(silence_is_active(&s, NOW));
	subj.v[SILENCE_APP] = "api";
	assert_null(silence_find(&s, 1, &subj, NOW));
	assert_ptr_equal(silence_find(&s, 1, &subj, NOW + 3600), &s);
	assert_string_equal(silence_state(&s, NOW + 3600), "active");
	assert_string_equal(silence_state(&s, NOW + 3600 + 7200), "expired");
	s.ended_at = NOW + 60;		/* ended before it began */
	assert_string_equal(silence_state(&s, NOW + 120), "expired");
	assert_null(silence_find(&s, 1, &subj, NOW + 3600));
	silence_release(&s);

	/* In the past: from now. */
	assert_int_equal(parse(&s, "{\"match\": {\"app\": \"api\"}, \"starts_at\":"
			       " \"2026-12-01T00:00:00Z\", \"duration\": \"1h\","
			       " \"comment\": \"x\"}", &err), 0);
	assert_true(s.starts_at == NOW && s.ends_at == NOW + 3600);
	silence_release(&s);

	expect_error("{\"match\": {\"app\": \"api\"}, \"starts_at\": \"soon\","
		     " \"duration\": \"1h\", \"comment\": \"x\"}",
		     "starts_at \"soon\" is not an RFC 3339 time");
	expect_error("{\"match\": {\"app\": \"api\"}, \"starts_at\":"
		     " \"2027-02-01T00:00:00Z\", \"duration\": \"1h\","
		     " \"comment\": \"x\"}", "more than 30 days away");
	expect_error("{\"match\": {\"app\": \"api\"}, \"starts_at\":"
		     " \"2026-12-05T20:46:40Z\", \"ends_at\":"
		     " \"2026-12-05T20:00:00Z\", \"comment\": \"x\"}",
		     "is not after starts_at");
	(void)state;
}

static void test_parse_errors(void **state)
{
	expect_error("[1]", "expected a JSON object");
	expect_error("{\"match\": {\"app\": \"api\"}", "invalid JSON");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"2h\", "
		     "\"comment\": \"x\", \"until\": \"y\"}",
		     "unknown key \"until\": expected match, starts_at, ends_at, "
		     "duration, comment or created_by");
	expect_error("{\"duration\": \"2h\", \"comment\": \"x\"}",
		     "match is missing");
	expect_error("{\"match\": {}, \"duration\": \"2h\", \"comment\": \"x\"}",
		     "match is empty");
	expect_error("{\"match\": {\"application\": \"api\"}, \"duration\": "
		     "\"2h\", \"comment\": \"x\"}",
		     "unknown matcher \"application\": expected app, env, type, "
		     "status, alert, object or destination");
	expect_error("{\"match\": {\"app\": 3}, \"duration\": \"2h\", "
		     "\"comment\": \"x\"}", "match.app: expected a string");
	expect_error("{\"match\": {\"app\": \"\"}, \"duration\": \"2h\", "
		     "\"comment\": \"x\"}", "match.app is empty");
	expect_error("{\"match\": {\"type\": \"deploys\"}, \"duration\": \"2h\","
		     " \"comment\": \"x\"}", "\"deploys\" is not an event type");
	expect_error("{\"match\": {\"status\": \"ok\"}, \"duration\": \"2h\", "
		     "\"comment\": \"x\"}", "\"ok\" is not an event status");
	expect_error("{\"match\": {\"app\": \"a\\nb\"}, \"duration\": \"2h\", "
		     "\"comment\": \"x\"}", "control character");
	expect_error("{\"match\": {\"app\": \"api\"}, \"comment\": \"x\"}",
		     "no end: give ends_at");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"2h\", "
		     "\"ends_at\": \"2026-12-05T04:00:00Z\", \"comment\": \"x\"}",
		     "both ends_at and duration");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"31d\", "
		     "\"comment\": \"x\"}", "longer than 30 days");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"2 hours\","
		     " \"comment\": \"x\"}", "is not one");
	expect_error("{\"match\": {\"app\": \"api\"}, \"ends_at\": "
		     "\"2026-12-01T00:00:00Z\", \"comment\": \"x\"}",
		     "is not in the future");
	expect_error("{\"match\": {\"app\": \"api\"}, \"ends_at\": "
		     "\"2027-02-01T00:00:00Z\", \"comment\": \"x\"}",
		     "more than 30 days after the start");
	expect_error("{\"match\": {\"app\": \"api\"}, \"ends_at\": \"tomorrow\","
		     " \"comment\": \"x\"}", "not an RFC 3339 time");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"2h\"}",
		     "comment is missing");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"2h\", "
		     "\"comment\": \"\"}", "comment is missing");
	expect_error("{\"match\": {\"app\": \"api\"}, \"duration\": \"2h\", "
		     "\"comment\": \"x\", \"created_by\": 7}",
		     "created_by: expected a string");
}

static void test_parse_limits(void **state)
{
	size_t n = SILENCE_BODY_MAX + 1;
	char *big = malloc(n);
	struct silence s;
	struct errbuf err;

	memset(big, ' ', n);
	assert_int_equal(silence_parse(&s, big, n, NOW, &err), HERALD_ELIMIT);
	free(big);
}

static void test_duration(void **state)
{
	struct errbuf err;
	long secs;

	assert_int_equal(silence_parse_duration("90s", &secs, &err), 0);
	assert_int_equal(secs, 90);
	assert_int_equal(silence_parse_duration("30m", &secs, &err), 0);
	assert_int_equal(secs, 1800);
	assert_int_equal(silence_parse_duration("1h30m", &secs, &err), 0);
	assert_int_equal(secs, 5400);
	assert_int_equal(silence_parse_duration("30d", &secs, &err), 0);
	assert_int_equal(secs, SILENCE_MAX_S);
	assert_int_equal(silence_parse_duration("0m", &secs, &err),
			 HERALD_EINVAL);
	assert_int_equal(silence_parse_duration("2", &secs, &err),
			 HERALD_EINVAL);
	assert_int_equal(silence_parse_duration("h", &secs, &err),
			 HERALD_EINVAL);
	assert_int_equal(silence_parse_duration("", &secs, &err),
			 HERALD_EINVAL);
	assert_int_equal(silence_parse_duration("-2h", &secs, &err),
			 HERALD_EINVAL);
	assert_int_equal(silence_parse_duration("999999999999d", &secs, &err),
			 HERALD_EINVAL);
}

static void test_glob(void **state)
{
	assert_true(silence_glob_match("api", "api"));
	assert_false(silence_glob_match("api", "api2"));
	assert_false(silence_glob_match("api", "API"));
	assert_true(silence_glob_match("*", ""));
	assert_true(silence_glob_match("*", "anything"));
	assert_true(silence_glob_match("CrashLoop*", "CrashLoopBackOff"));
	assert_false(silence_glob_match("CrashLoop*", "Crash"));
	assert_true(silence_glob_match("*-api", "billing-api"));
	assert_true(silence_glob_match("a*b*c", "aXXbYYbc"));
	assert_false(silence_glob_match("a*b*c", "aXXbYYb"));
	assert_true(silence_glob_match("pod/api-?", "pod/api-1"));
	assert_false(silence_glob_match("pod/api-?", "pod/api-12"));
	assert_true(silence_glob_match("caf?", "café"));	/* one character */
	assert_false(silence_glob_match("?", ""));
	assert_true(silence_glob_match("**a**", "bab"));
	/* No exponential blow-up. */
	assert_false(silence_glob_match("*a*a*a*a*a*a*a*a*a*b",
					"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_match(void **state)
{
	struct silence set[2] = { SILENCE_INIT, SILENCE_INIT };
	struct event ev = EVENT_INIT;
	struct silence_subject subj;
	struct errbuf err;

	ev.type = EVENT_ALERT;
	ev.status = EVENT_FIRING;
	ev.app = "api";
	ev.env = "staging";
	ev.alert_name = "CrashLoopBackOff";
	ev.alert_object = "pod/api-1";
	silence_subject_of(&subj, &ev, "#ops");

	set[0].id = 1;
	assert_int_equal(silence_set_matcher(&set[0], "app=web", &err), 0);
	set[1].id = 2;
	assert_int_equal(silence_set_matcher(&set[1], "app=api", &err), 0);
	assert_int_equal(silence_set_matcher(&set[1], "alert=CrashLoop*",
					     &err), 0);
	set[0].ends_at = set[1].ends_at = NOW + 60;
	set[0].starts_at = set[1].starts_at = NOW - 60;

	assert_ptr_equal(silence_find(set, 2, &subj, NOW), &set[1]);
	/* Expired by time, or ended early: no longer matches. */
	assert_null(silence_find(set, 2, &subj, NOW + 60));
	set[1].ended_at = NOW - 1;
	assert_null(silence_find(set, 2, &subj, NOW));
	set[1].ended_at = 0;

	/* A field the notification lacks matches only "*". */
	ev.alert_name = NULL;
	silence_subject_of(&subj, &ev, "#ops");
	assert_null(silence_find(set, 2, &subj, NOW));
	assert_int_equal(silence_set_matcher(&set[1], "alert=*", &err), 0);
	assert_ptr_equal(silence_find(set, 2, &subj, NOW), &set[1]);

	assert_int_equal(silence_set_matcher(&set[1], "destination=#deploys",
					     &err), 0);
	assert_null(silence_find(set, 2, &subj, NOW));

	assert_int_equal(silence_set_matcher(&set[0], "app", &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "no name=value"));
	assert_int_equal(silence_set_matcher(&set[0], "ap=x", &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "unknown name \"ap\""));
	silence_release(&set[0]);
	silence_release(&set[1]);
}

static void test_json(void **state)
{
	struct silence s, back = SILENCE_INIT;
	struct errbuf err;
	char reason[200];
	json_t *j;
	char *text;

	assert_int_equal(parse(&s, "{\"match\": {\"env\": \"prod\", \"app\": "
			       "\"api\"}, \"duration\": \"1h\", \"comment\": "
			       "\"deploy freeze\\nsee INC-1\"}", &err), 0);
	s.id = 7;
	j = silence_to_json(&s, NOW);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
		"{\"comment\":\"deploy freeze\\nsee INC-1\",\"created_at\":"
		"\"2026-12-05T19:46:40.000Z\",\"created_by\":null,\"ended_at\":"
		"null,\"ends_at\":\"2026-12-05T20:46:40.000Z\",\"id\":7,"
		"\"match\":{\"app\":\"api\",\"env\":\"prod\"},\"silenced\":0,"
		"\"starts_at\":\"2026-12-05T19:46:40.000Z\",\"state\":\"active\"}");
	free(text);
	json_decref(j);
	j = silence_to_json(&s, NOW + 3600);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
			    "expired");
	json_decref(j);

	text = silence_matchers_dump(&s);
	assert_string_equal(text, "{\"app\":\"api\",\"env\":\"prod\"}");
	assert_int_equal(silence_matchers_load(&back, text, &err), 0);
	assert_string_equal(back.match[SILENCE_APP], "api");
	assert_string_equal(back.match[SILENCE_ENV], "prod");
	assert_null(back.match[SILENCE_TYPE]);
	assert_int_equal(silence_matchers_load(&back, "{\"x\":\"y\"}", &err),
			 HERALD_EINVAL);
	free(text);

	silence_reason(&s, reason, sizeof(reason));
	assert_string_equal(reason,
			    "silenced by silence 7 (\"deploy freeze see INC-1\")");
	silence_release(&back);
	silence_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_ends_at),
		cmocka_unit_test(test_parse_starts_at),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests_name("silence", tests, NULL, NULL);
}
