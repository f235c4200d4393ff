/*
 * Unit tests for event: every valid type/status pair, every kind of invalid
 * event with the exact message, arrays, limits, the JSON round trip and
 * correlation keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/event.h"
#include "inputs/event_json.h"
#include "lib/strbuf.h"

struct parsed {
	int ret;
	struct event *evs;
	size_t nr;
	struct errlist problems;
};

static void parse_len(struct parsed *p, const char *text, size_t len,
		      size_t max_events)
{
	p->problems = (struct errlist)ERRLIST_INIT;
	p->ret = event_parse_many(text, len, max_events, &p->evs, &p->nr,
				  &p->problems);
	if (p->ret) {
		assert_null(p->evs);
		assert_int_equal(p->nr, 0);
		assert_true(p->problems.nr > 0);
	} else {
		assert_non_null(p->evs);
		assert_int_equal(p->problems.nr, 0);
	}
}

static void parse(struct parsed *p, const char *text)
{
	parse_len(p, text, strlen(text), 0);
}

static void parsed_release(struct parsed *p)
{
	event_array_free(p->evs, p->nr);
	errlist_release(&p->problems);
}

/* Parses text, which must fail with code and exactly one problem, msg. */
static void expect_error(const char *text, int code, const char *msg)
{
	struct parsed p;

	parse(&p, text);
	if (p.ret != code || p.problems.nr != 1 || strcmp(p.problems.items[0], msg)) {
		for (size_t i = 0; i < p.problems.nr; i++)
			print_message("# got: %s\n", p.problems.items[i]);
		print_message("# for: %s\n", text);
	}
	assert_int_equal(p.ret, code);
	assert_int_equal(p.problems.nr, 1);
	assert_string_equal(p.problems.items[0], msg);
	parsed_release(&p);
}

static void expect_ok(const char *text, struct event *out)
{
	struct parsed p;

	parse(&p, text);
	for (size_t i = 0; i < p.problems.nr; i++)
		print_message("# unexpected: %s\n", p.problems.items[i]);
	assert_int_equal(p.ret, 0);
	assert_int_equal(p.nr, 1);
	if (out) {
		*out = p.evs[0];
		memset(&p.evs[0], 0, sizeof(p.evs[0]));
	}
	parsed_release(&p);
}

/* Every type with every status, built with the fields the type needs. */
static void test_type_status_matrix(void **state)
{
	static const char *const statuses[] = {
		"started", "succeeded", "failed", "progressing", "applied",
		"healthy", "unhealthy", "firing", "resolved",
	};
	static const char *const extra[EVENT_TYPE_NR] = {
		[EVENT_DEPLOY] = "\"app\": \"api\", \"env\": \"production\"",
		[EVENT_ROLLBACK] = "\"app\": \"api\", \"env\": \"production\"",
		[EVENT_DELETE] = "\"app\": \"api\"",
		[EVENT_GITOPS] = "\"env\": \"production\"",
		[EVENT_ALERT] = "\"app\": \"api\", \"alert\": {\"name\": \"OOMKilled\"}",
		[EVENT_MESSAGE] = "\"title\": \"hello\"",
	};
	int valid = 0;

	for (int t = 0; t < EVENT_TYPE_NR; t++) {
		for (size_t s = 0; s < sizeof(statuses) / sizeof(*statuses); s++) {
			enum event_status st;
			char text[256];
			struct parsed p;

			assert_int_equal(event_status_parse(statuses[s], &st), 0);
			snprintf(text, sizeof(text), "{\"type\": \"%s\", \"status\": "
				 "\"%s\", %s}", event_type_name((enum event_type)t),
				 statuses[s], extra[t]);
			parse(&p, text);
			if (event_status_valid((enum event_type)t, st)) {
				assert_int_equal(p.ret, 0);
				assert_int_equal(p.evs[0].type, t);
				assert_int_equal(p.evs[0].status, st);
				valid++;
			} else {
				assert_int_equal(p.ret, HERALD_EINVAL);
				assert_int_equal(p.problems.nr, 1);
				if (t == EVENT_MESSAGE)
					assert_string_equal(p.problems.items[0], "/status: a "
							    "message has no status; remove it");
				else
					assert_non_null(strstr(p.problems.items[0],
							       "/status: \""));
			}
			parsed_release(&p);
		}
	}
	/* 3 deploy + 3 rollback + 2 delete + 5 gitops + 2 alert */
	assert_int_equal(valid, 15);
	expect_ok("{\"type\": \"message\", \"title\": \"hi\"}", NULL);
	expect_ok("{\"type\": \"message\", \"status\": null, \"description\": \"d\"}",
		  NULL);
}

static void test_names(void **state)
{
	enum event_type t;
	enum event_status s;

	assert_string_equal(event_type_name(EVENT_GITOPS), "gitops");
	assert_string_equal(event_status_name(EVENT_UNHEALTHY), "unhealthy");
	assert_int_equal(event_type_parse("rollback", &t), 0);
	assert_int_equal(t, EVENT_ROLLBACK);
	assert_int_equal(event_type_parse("Deploy", &t), -1);
	assert_int_equal(event_status_parse("none", &s), -1);
	assert_int_equal(event_status_parse("firing", &s), 0);
	assert_int_equal(s, EVENT_FIRING);
	assert_true(event_status_valid(EVENT_MESSAGE, EVENT_STATUS_NONE));
	assert_false(event_status_valid(EVENT_DEPLOY, EVENT_STATUS_NONE));
	assert_false(event_status_valid(EVENT_DELETE, EVENT_STARTED));
}

static void test_is_failure(void **state)
{
	struct event ev = EVENT_INIT;

	ev.status = EVENT_FAILED;
	assert_true(event_is_failure(&ev));
	ev.status = EVENT_UNHEALTHY;
	assert_true(event_is_failure(&ev));
	ev.status = EVENT_FIRING;
	assert_true(event_is_failure(&ev));
	ev.status = EVENT_SUCCEEDED;
	assert_false(event_is_failure(&ev));
	ev.status = EVENT_RESOLVED;
	assert_false(event_is_failure(&ev));
}

static void test_type_errors(void **state)
{
	expect_error("{\"status\": \"started\"}", HERALD_EINVAL,
		     "/type: missing; expected one of deploy, rollback, delete, "
		     "gitops, alert, message");
	expect_error("{\"type\": \"\"}", HERALD_EINVAL,
		     "/type: missing; expected one of deploy, rollback, delete, "
		     "gitops, alert, message");
	expect_error("{\"type\": \"deployment\"}", HERALD_EINVAL,
		     "/type: \"deployment\" is not an event type; expected one of "
		     "deploy, rollback, delete, gitops, alert, message");
	expect_error("{\"type\": 3}", HERALD_EINVAL,
		     "/type: expected a string, got a number");
	expect_error("{\"type\": \"what\", \"status\": \"started\"}", HERALD_EINVAL,
		     "/type: \"what\" is not an event type; expected one of "
		     "deploy, rollback, delete, gitops, alert, message");
}

static void test_status_errors(void **state)
{
	struct parsed p;

	expect_error("{\"type\": \"deploy\", \"status\": \"done\", \"app\": \"a\", "
		     "\"env\": \"e\"}", HERALD_EINVAL,
		     "/status: \"done\" is not a deploy status; expected started, "
		     "succeeded or failed");
	expect_error("{\"type\": \"alert\", \"status\": \"failed\", \"app\": \"a\", "
		     "\"alert\": {\"name\": \"x\"}}", HERALD_EINVAL,
		     "/status: \"failed\" is not an alert status; expected firing "
		     "or resolved");
	expect_error("{\"type\": \"delete\", \"status\": \"started\", \"app\": \"a\"}",
		     HERALD_EINVAL, "/status: \"started\" is not a delete status; "
		     "expected succeeded or failed");
	expect_error("{\"type\": \"gitops\", \"env\": \"e\"}", HERALD_EINVAL,
		     "/status: missing (required for gitops events); expected "
		     "progressing, applied, healthy, failed or unhealthy");
	expect_error("{\"type\": \"gitops\", \"status\": true, \"env\": \"e\"}",
		     HERALD_EINVAL, "/status: expected a string, got a boolean");
	expect_error("{\"type\": \"message\", \"status\": \"started\", \"title\": \"t\"}",
		     HERALD_EINVAL, "/status: a message has no status; remove it");

	/* An unknown type still gets its status checked. */
	parse(&p, "{\"type\": \"what\", \"status\": \"bogus\"}");
	assert_int_equal(p.problems.nr, 2);
	assert_string_equal(p.problems.items[1],
			    "/status: \"bogus\" is not an event status");
	parsed_release(&p);
}

static void test_required_fields(void **state)
{
	struct parsed p;

	expect_error("{\"type\": \"deploy\", \"status\": \"started\", \"env\": \"e\"}",
		     HERALD_EINVAL, "/app: missing (required for deploy events)");
	expect_error("{\"type\": \"rollback\", \"status\": \"failed\", \"app\": \"a\"}",
		     HERALD_EINVAL, "/env: missing (required for rollback events)");
	expect_error("{\"type\": \"delete\", \"status\": \"failed\", \"app\": \"\"}",
		     HERALD_EINVAL, "/app: missing (required for delete events)");
	expect_error("{\"type\": \"gitops\", \"status\": \"applied\", \"env\": null}",
		     HERALD_EINVAL, "/env: missing (required for gitops events)");
	expect_error("{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"a\"}",
		     HERALD_EINVAL, "/alert: missing (required for alert events); "
		     "expected {\"name\": …}");
	expect_error("{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"a\", "
		     "\"alert\": {\"object\": \"default/x\"}}", HERALD_EINVAL,
		     "/alert/name: missing (required for alert events)");
	expect_error("{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"a\", "
		     "\"alert\": [1]}", HERALD_EINVAL,
		     "/alert: expected an object, got an array");
	expect_error("{\"type\": \"message\", \"title\": \"\", \"description\": null}",
		     HERALD_EINVAL, "/title: missing; a message needs a title or a "
		     "description");

	/* A wrong type is reported as such, not also as missing. */
	expect_error("{\"type\": \"deploy\", \"status\": \"started\", \"app\": 5, "
		     "\"env\": \"e\"}", HERALD_EINVAL,
		     "/app: expected a string, got a number");

	/* Every problem of one event is listed. */
	parse(&p, "{\"type\": \"deploy\", \"status\": \"nope\", \"app\": [], "
	      "\"url\": \"x\"}");
	assert_int_equal(p.ret, HERALD_EINVAL);
	assert_int_equal(p.problems.nr, 4);
	assert_string_equal(p.problems.items[0], "/status: \"nope\" is not a deploy "
			    "status; expected started, succeeded or failed");
	assert_string_equal(p.problems.items[1], "/app: expected a string, got an array");
	assert_string_equal(p.problems.items[2], "/url: \"x\" is not an http(s) URL");
	assert_string_equal(p.problems.items[3],
			    "/env: missing (required for deploy events)");
	parsed_release(&p);
}

#define DEPLOY "{\"type\": \"deploy\", \"status\": \"started\", \"app\": \"api\", " \
	"\"env\": \"production\", "

static void test_field_errors(void **state)
{
	char text[2048];
	char longname[1002];

	expect_error(DEPLOY "\"url\": \"ftp://x\"}", HERALD_EINVAL,
		     "/url: \"ftp://x\" is not an http(s) URL");
	expect_error(DEPLOY "\"url\": \"https://\"}", HERALD_EINVAL,
		     "/url: \"https://\" is not an http(s) URL");
	expect_error(DEPLOY "\"url\": \"https://x.org/a b\"}", HERALD_EINVAL,
		     "/url: \"https://x.org/a b\" is not an http(s) URL");
	expect_error(DEPLOY "\"alert\": {\"url\": \"javascript:alert(1)\"}}",
		     HERALD_EINVAL,
		     "/alert/url: \"javascript:alert(1)\" is not an http(s) URL");
	expect_error(DEPLOY "\"actor\": false}", HERALD_EINVAL,
		     "/actor: expected a string, got a boolean");
	expect_error(DEPLOY "\"sha\": {}}", HERALD_EINVAL,
		     "/sha: expected a string, got an object");
	expect_error(DEPLOY "\"version\": 1.5}", HERALD_EINVAL,
		     "/version: expected a string, got a number");
	expect_error(DEPLOY "\"repository\": \"a/b\\nc\"}", HERALD_EINVAL,
		     "/repository: control character U+000A at byte 3; expected a "
		     "single line");
	expect_error(DEPLOY "\"channel\": \"#x\\u0085\"}", HERALD_EINVAL,
		     "/channel: control character U+0085 at byte 2; expected a "
		     "single line");
	expect_error(DEPLOY "\"gitops_sha\": \"\\u001f\"}", HERALD_EINVAL,
		     "/gitops_sha: control character U+001F at byte 0; expected a "
		     "single line");
	expect_error(DEPLOY "\"alert\": {\"object\": \"a\\tb\"}}", HERALD_EINVAL,
		     "/alert/object: control character U+0009 at byte 1; expected a "
		     "single line");
	expect_error(DEPLOY "\"id\": \"a b\"}", HERALD_EINVAL,
		     "/id: byte 1 is not printable ASCII; an id is printable ASCII "
		     "without spaces");
	expect_error(DEPLOY "\"id\": \"caf\\u00e9\"}", HERALD_EINVAL,
		     "/id: byte 3 is not printable ASCII; an id is printable ASCII "
		     "without spaces");
	expect_error(DEPLOY "\"timestamp\": \"yesterday\"}", HERALD_EINVAL,
		     "/timestamp: \"yesterday\" is not an RFC 3339 time; expected "
		     "e.g. 2026-11-26T10:00:00Z");
	expect_error(DEPLOY "\"timestamp\": \"2026-02-29T10:00:00Z\"}", HERALD_EINVAL,
		     "/timestamp: \"2026-02-29T10:00:00Z\" is not an RFC 3339 time; "
		     "expected e.g. 2026-11-26T10:00:00Z");
	expect_error(DEPLOY "\"timestamp\": \"2026-11-26T10:00:00\"}", HERALD_EINVAL,
		     "/timestamp: \"2026-11-26T10:00:00\" is not an RFC 3339 time; "
		     "expected e.g. 2026-11-26T10:00:00Z");
	expect_error(DEPLOY "\"timestamp\": \"1969-12-31T23:59:59Z\"}", HERALD_EINVAL,
		     "/timestamp: \"1969-12-31T23:59:59Z\" is not after 1970");
	expect_error(DEPLOY "\"timestamp\": 1700000000}", HERALD_EINVAL,
		     "/timestamp: expected a string, got a number");

	memset(longname, 'a', 1001);
	longname[1001] = '\0';
	snprintf(text, sizeof(text), DEPLOY "\"actor\": \"%s\"}", longname);
	expect_error(text, HERALD_EINVAL, "/actor: 1001 bytes long; at most 1000 allowed");
	longname[129] = '\0';
	snprintf(text, sizeof(text), DEPLOY "\"id\": \"%s\"}", longname);
	expect_error(text, HERALD_EINVAL, "/id: 129 bytes long; at most 128 allowed");
	longname[128] = '\0';
	snprintf(text, sizeof(text), DEPLOY "\"id\": \"%s\"}", longname);
	expect_ok(text, NULL);
	longname[257] = 'a';
	longname[257] = '\0';
	memset(longname, 'b', 257);
	snprintf(text, sizeof(text), DEPLOY "\"correlation\": \"%s\"}", longname);
	expect_error(text, HERALD_EINVAL,
		     "/correlation: 257 bytes long; at most 256 allowed");

	/* Quoted values are cut and escaped. */
	memset(longname, 'x', 100);
	longname[100] = '\0';
	snprintf(text, sizeof(text), DEPLOY "\"url\": \"ftp://\\\"%s\"}", longname);
	expect_error(text, HERALD_EINVAL, "/url: \"ftp://\\\"xxxxxxxxxxxxxxxxxxxxxxxx"
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\" is not an http(s) URL");
}

static void test_absent_and_ignored(void **state)
{
	struct event ev;

	expect_ok(DEPLOY "\"actor\": \"\", \"sha\": null, \"unknown\": {\"x\": [1]}, "
		  "\"alert\": null, \"title\": \"multi\\nline\\ttext\"}", &ev);
	assert_null(ev.actor);
	assert_null(ev.sha);
	assert_null(ev.alert_name);
	assert_string_equal(ev.title, "multi\nline\ttext");
	assert_string_equal(ev.app, "api");
	assert_int_equal(ev.timestamp, 0);
	event_release(&ev);
}

static void test_timestamps(void **state)
{
	struct event ev;

	expect_ok(DEPLOY "\"timestamp\": \"2026-11-26T10:00:00Z\"}", &ev);
	assert_int_equal(ev.timestamp, 1795687200);
	event_release(&ev);
	expect_ok(DEPLOY "\"timestamp\": \"2026-11-26T11:30:00.123456+01:30\"}", &ev);
	assert_int_equal(ev.timestamp, 1795687200);
	event_release(&ev);
	expect_ok(DEPLOY "\"timestamp\": \"2026-11-26t05:00:00-05:00\"}", &ev);
	assert_int_equal(ev.timestamp, 1795687200);
	event_release(&ev);
	expect_ok(DEPLOY "\"timestamp\": \"2024-02-29T00:00:00z\"}", &ev);
	assert_int_equal(ev.timestamp, 1709164800);
	event_release(&ev);
}

static void test_top_level(void **state)
{
	struct parsed p;

	expect_error("\"deploy\"", HERALD_EINVAL,
		     "expected an event object or an array of events, got a string");
	expect_error("42", HERALD_EINVAL,
		     "expected an event object or an array of events, got a number");
	expect_error("  \n", HERALD_EINVAL, "no event: the text is empty; expected an "
		     "event object or an array of events");
	expect_error("[]", HERALD_EINVAL, "expected at least one event, got an empty array");
	expect_error("[1]", HERALD_EINVAL, "/0: expected an object, got a number");
	expect_error("{\"type\": \"deploy\",}", HERALD_EINVAL,
		     "invalid JSON at line 1, column 19: string or '}' expected near '}'");

	/* max_events */
	parse_len(&p, "[{\"type\":\"message\",\"title\":\"a\"},"
		  "{\"type\":\"message\",\"title\":\"b\"}]", 63, 1);
	assert_int_equal(p.ret, HERALD_ELIMIT);
	assert_string_equal(p.problems.items[0], "2 events in one request; at most 1 "
			    "allowed: split the batch");
	parsed_release(&p);
	parse_len(&p, "[{\"type\":\"message\",\"title\":\"a\"},"
		  "{\"type\":\"message\",\"title\":\"b\"}]", 63, 2);
	assert_int_equal(p.ret, 0);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.evs[1].title, "b");
	parsed_release(&p);

	/* NULL problems list is allowed. */
	{
		struct event *evs = (struct event *)1;
		size_t nr = 7;

		assert_int_equal(event_parse_many("[]", 2, 0, &evs, &nr, NULL),
				 HERALD_EINVAL);
		assert_null(evs);
		assert_int_equal(nr, 0);
	}
}

static void test_array_reports_all(void **state)
{
	struct parsed p;

	parse(&p, "[\n"
	      " {\"type\": \"deploy\", \"status\": \"done\", \"app\": \"a\", \"env\": \"e\"},\n"
	      " {\"type\": \"message\", \"title\": \"fine\"},\n"
	      " \"oops\",\n"
	      " {\"type\": \"deploy\", \"status\": \"started\", \"app\": \"a\"},\n"
	      " {\"type\": \"gitops\", \"status\": \"healthy\", \"env\": \"e\", "
	      "\"url\": \"file:///etc/passwd\"}\n"
	      "]");
	assert_int_equal(p.ret, HERALD_EINVAL);
	assert_int_equal(p.problems.nr, 4);
	assert_string_equal(p.problems.items[0], "/0/status: \"done\" is not a deploy "
			    "status; expected started, succeeded or failed");
	assert_string_equal(p.problems.items[1], "/2: expected an object, got a string");
	assert_string_equal(p.problems.items[2],
			    "/3/env: missing (required for deploy events)");
	assert_string_equal(p.problems.items[3],
			    "/4/url: \"file:///etc/passwd\" is not an http(s) URL");
	parsed_release(&p);

	parse(&p, "[{\"type\": \"message\", \"title\": \"a\"}, "
	      "{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"api\", "
	      "\"alert\": {\"name\": \"CrashLoopBackOff\"}}]");
	assert_int_equal(p.ret, 0);
	assert_int_equal(p.nr, 2);
	assert_int_equal(p.evs[0].type, EVENT_MESSAGE);
	assert_string_equal(p.evs[1].alert_name, "CrashLoopBackOff");
	parsed_release(&p);
}

/* A channel's syntax is part of the event, so a batch reports it too. */
static void test_channel_syntax(void **state)
{
	struct parsed p;

	parse(&p, "[{\"type\": \"message\", \"title\": \"a\", "
	      "\"channel\": \"# bad channel\"}, "
	      "{\"type\": \"rocket\"}, "
	      "{\"type\": \"message\", \"title\": \"c\", \"channel\": \"@\"}]");
	assert_int_equal(p.ret, HERALD_EINVAL);
	assert_int_equal(p.problems.nr, 3);
	assert_string_equal(p.problems.items[0], "/0/channel: \"# bad channel\": "
			    "a channel name cannot contain white space");
	assert_true(strncmp(p.problems.items[1], "/1/type: ", 9) == 0);
	assert_true(strncmp(p.problems.items[2], "/2/channel: \"@\": ", 17) == 0);
	parsed_release(&p);

	parse(&p, "[{\"type\": \"message\", \"title\": \"a\", \"channel\": \"#deploys\"}, "
	      "{\"type\": \"message\", \"title\": \"b\", \"channel\": \"C0123ABCD\"}, "
	      "{\"type\": \"message\", \"title\": \"c\", "
	      "\"channel\": \"1180000000000000201\"}, "
	      "{\"type\": \"message\", \"title\": \"d\", \"channel\": \"@jane@example.com\"}]");
	assert_int_equal(p.ret, 0);
	assert_int_equal(p.nr, 4);
	assert_string_equal(p.evs[3].channel, "@jane@example.com");
	parsed_release(&p);
}

static void test_from_json_pointer(void **state)
{
	json_t *obj = json_pack("{s:s, s:s, s:s}", "type", "deploy", "status",
				"started", "app", "api");
	json_t *num = json_integer(1);
	struct event ev;
	struct errbuf err;

	assert_int_equal(event_from_json(&ev, obj, "/3", &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "/3/env: missing (required for deploy events)");
	assert_null(ev.app);
	json_object_set_new(obj, "env", json_string("production"));
	assert_int_equal(event_from_json(&ev, obj, "", &err), 0);
	assert_string_equal(ev.env, "production");
	event_release(&ev);

	/* Only the first problem goes to err. */
	json_object_set_new(obj, "app", json_integer(1));
	json_object_set_new(obj, "env", json_integer(2));
	assert_int_equal(event_from_json(&ev, obj, "", &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "/app: expected a string, got a number");

	/* Strings jansson was told not to check are checked here. */
	json_object_set_new(obj, "app", json_stringn_nocheck("a\xff", 2));
	json_object_set_new(obj, "env", json_stringn("a\0b", 3));
	assert_int_equal(event_from_json(&ev, obj, "", &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "/app: invalid UTF-8 at byte 1 of the value");
	json_object_set_new(obj, "app", json_string("api"));
	assert_int_equal(event_from_json(&ev, obj, "", &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "/env: contains a NUL character");

	assert_int_equal(event_from_json(&ev, num, "", &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "expected an event object, got a number");
	assert_int_equal(event_from_json(&ev, num, "/1", &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "/1: expected an object, got a number");
	json_decref(obj);
	json_decref(num);
}

static void test_depth(void **state)
{
	size_t n = 100000;
	char *bomb = malloc(n);
	struct strbuf sb = STRBUF_INIT;
	struct parsed p;

	assert_non_null(bomb);
	memset(bomb, '[', n);
	parse_len(&p, bomb, n, 0);
	assert_int_equal(p.ret, HERALD_ELIMIT);
	assert_string_equal(p.problems.items[0], "nesting deeper than 32 levels at byte 32");
	parsed_release(&p);

	for (int i = 0; i < 50000; i++)
		strbuf_addstr(&sb, "{\"a\":");
	parse_len(&p, sb.buf, sb.len, 0);
	assert_int_equal(p.ret, HERALD_ELIMIT);
	parsed_release(&p);

	/* 32 levels are fine; brackets inside strings do not count. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "{\"type\": \"message\", \"title\": \"[[[[{{{{\\\"[[[\", \"x\": ");
	for (int i = 0; i < 31; i++)
		strbuf_addch(&sb, '[');
	for (int i = 0; i < 31; i++)
		strbuf_addch(&sb, ']');
	strbuf_addch(&sb, '}');
	expect_ok(sb.buf, NULL);
	strbuf_setlen(&sb, sb.len - 63);
	for (int i = 0; i < 32; i++)
		strbuf_addch(&sb, '[');
	for (int i = 0; i < 32; i++)
		strbuf_addch(&sb, ']');
	strbuf_addch(&sb, '}');
	parse_len(&p, sb.buf, sb.len, 0);
	assert_int_equal(p.ret, HERALD_ELIMIT);
	parsed_release(&p);
	strbuf_release(&sb);
	free(bomb);
}

static void test_size_limit(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct parsed p;
	size_t head;

	strbuf_addstr(&sb, "{\"type\": \"message\", \"description\": \"");
	head = sb.len;
	while (sb.len < EVENT_MAX_BYTES - 2)
		strbuf_addch(&sb, 'x');
	strbuf_addstr(&sb, "\"}");
	assert_int_equal(sb.len, EVENT_MAX_BYTES);
	expect_ok(sb.buf, NULL);

	strbuf_setlen(&sb, sb.len - 2);
	strbuf_addstr(&sb, "x\"}");
	parse_len(&p, sb.buf, sb.len, 0);
	assert_int_equal(p.ret, HERALD_ELIMIT);
	assert_string_equal(p.problems.items[0],
			    "the event is 262145 bytes; at most 262144 (256 KiB) allowed");
	parsed_release(&p);

	/* In an array the bound is per event. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "[{\"type\":\"message\",\"title\":\"a\"},"
		      "{\"type\":\"message\",\"description\":\"");
	for (size_t i = 0; i < EVENT_MAX_BYTES; i++)
		strbuf_addch(&sb, 'y');
	strbuf_addstr(&sb, "\"},{\"type\":\"message\"}]");
	parse_len(&p, sb.buf, sb.len, 0);
	assert_int_equal(p.ret, HERALD_ELIMIT);
	assert_int_equal(p.problems.nr, 2);
	assert_string_equal(p.problems.items[0], "/1: the event is 262179 bytes; at "
			    "most 262144 (256 KiB) allowed");
	assert_string_equal(p.problems.items[1], "/2/title: missing; a message needs "
			    "a title or a description");
	parsed_release(&p);
	(void)head;
	strbuf_release(&sb);
}

static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xc3", "\xe2\x82",
	};
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(text, sizeof(text), "{\"type\": \"message\", \"title\": \"%s\"}",
			 bad[i]);
		expect_error(text, HERALD_EINVAL, "invalid UTF-8 at byte 30");
	}
	expect_ok("{\"type\": \"message\", \"title\": \"caf\xc3\xa9 \xe2\x82\xac "
		  "\xf0\x9f\x9a\x80\"}", NULL);
	expect_error("{\"type\": \"message\", \"title\": \"\\ud800\"}", HERALD_EINVAL,
		     "invalid JSON at line 1, column 37 (/title): invalid Unicode "
		     "'\\uD800' near '\"\\ud800\"'");
	expect_error("{\"type\": \"message\", \"title\": \"a\\u0000b\"}", HERALD_EINVAL,
		     "/title: \\u0000 is not allowed in strings");
}

static void test_duplicate_keys(void **state)
{
	expect_error("{\"type\": \"message\", \"title\": \"a\", \"title\": \"b\"}",
		     HERALD_EINVAL, "/title: duplicate key; give each field once");
	expect_error("[{\"type\": \"message\", \"title\": \"a\"},\n"
		     " {\"type\": \"alert\", \"alert\": {\"name\": \"x\", \"a/b\": 1, "
		     "\"a/b\": 2}}]", HERALD_EINVAL,
		     "/1/alert/a~1b: duplicate key; give each field once");
}

static void test_round_trip(void **state)
{
	static const char *const text =
		"{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"api\", "
		"\"env\": \"production\", \"actor\": \"policy\", "
		"\"repository\": \"acme/api\", \"sha\": \"0123abc\", "
		"\"version\": \"v1.2.3\", \"url\": \"https://ci.example.com/b/1\", "
		"\"gitops_repository\": \"acme/gitops\", \"gitops_sha\": \"fff000\", "
		"\"title\": \"Pod \\\"crash\\\" <!here>\", "
		"\"description\": \"line 1\\nline 2 \xe2\x9c\x93\", "
		"\"alert\": {\"name\": \"CrashLoopBackOff\", \"object\": "
		"\"default/api-6d9f-xk2p\", \"url\": \"http://grafana.local/d/x?a=1&b=2\"}, "
		"\"channel\": \"#ops\", \"id\": \"evt-42\", \"correlation\": \"story-1\", "
		"\"timestamp\": \"2026-11-26T10:00:00.5+02:00\"}";
	struct event a, b;
	json_t *j;
	char *dump;
	struct errbuf err;

	expect_ok(text, &a);
	j = event_to_json(&a);
	assert_non_null(j);
	assert_int_equal(event_from_json(&b, j, "", &err), 0);
	assert_int_equal(a.type, b.type);
	assert_int_equal(a.status, b.status);
#define SAME(f) assert_string_equal(a.f, b.f)
	SAME(app); SAME(env); SAME(actor); SAME(repository); SAME(sha);
	SAME(version); SAME(url); SAME(gitops_repository); SAME(gitops_sha);
	SAME(title); SAME(description); SAME(alert_name); SAME(alert_object);
	SAME(alert_url); SAME(channel); SAME(id); SAME(correlation);
#undef SAME
	assert_int_equal(a.timestamp, b.timestamp);
	assert_string_equal(json_string_value(json_object_get(j, "timestamp")),
			    "2026-11-26T08:00:00Z");
	dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(dump);
	free(dump);
	json_decref(j);
	event_release(&a);
	event_release(&b);

	/* A minimal message round-trips to the same minimal JSON. */
	expect_ok("{\"type\": \"message\", \"description\": \"d\"}", &a);
	j = event_to_json(&a);
	dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"description\":\"d\",\"type\":\"message\"}");
	free(dump);
	assert_int_equal(event_from_json(&b, j, "", &err), 0);
	assert_null(b.title);
	assert_int_equal(b.status, EVENT_STATUS_NONE);
	json_decref(j);
	event_release(&a);
	event_release(&b);
}

/* event_write_json() writes what jansson writes of event_to_json(). */
static void expect_written_as_jansson(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	struct event ev;
	json_t *j;
	char *dump;

	expect_ok(text, &ev);
	j = event_to_json(&ev);
	dump = json_dumps(j, JSON_COMPACT);
	event_write_json(&ev, &sb);
	assert_string_equal(sb.buf, dump);
	free(dump);
	json_decref(j);
	strbuf_release(&sb);
	event_release(&ev);
}

static void test_write_json(void **state)
{
	expect_written_as_jansson("{\"type\": \"message\", \"description\": \"d\"}");
	expect_written_as_jansson(
		"{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"api\","
		" \"env\": \"prod\", \"title\": \"Pod \\\"crash\\\" <!here> \\\\ /\","
		" \"description\": \"tab\\there\\nline\\r\\b\\f \\u0001\\u001f\\u007f"
		" \xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80\","
		" \"alert\": {\"name\": \"Crash\", \"object\": \"default/x\"},"
		" \"correlation\": \"c1\", \"timestamp\": \"2026-11-26T10:00:00Z\"}");
	expect_written_as_jansson(
		"{\"type\": \"deploy\", \"status\": \"succeeded\", \"app\": \"api\","
		" \"env\": \"production\", \"actor\": \"jane\", \"repository\": \"acme/api\","
		" \"sha\": \"0123abc\", \"version\": \"v1\", \"url\": \"https://ci/b/1\","
		" \"gitops_repository\": \"acme/gitops\", \"gitops_sha\": \"fff\","
		" \"alert\": {\"name\": \"n\", \"url\": \"https://g/d\"},"
		" \"channel\": \"#ops\", \"id\": \"evt-42\"}");
}

static void expect_key(const char *text, const char *key)
{
	struct event ev;
	char *got;

	expect_ok(text, &ev);
	got = event_correlation_key(&ev);
	if (!key) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, key);
	}
	free(got);
	event_release(&ev);
}

static void test_correlation_keys(void **state)
{
	expect_key(DEPLOY "\"sha\": \"abc\", \"version\": \"v1\"}",
		   "deploy\x1f" "api\x1f" "production\x1f" "abc");
	expect_key(DEPLOY "\"version\": \"v1\"}",
		   "deploy\x1f" "api\x1f" "production\x1f" "v1");
	expect_key(DEPLOY "\"actor\": \"x\"}", NULL);
	expect_key("{\"type\": \"rollback\", \"status\": \"started\", \"app\": \"api\", "
		   "\"env\": \"production\", \"sha\": \"abc\"}",
		   "rollback\x1f" "api\x1f" "production\x1f" "abc");
	expect_key("{\"type\": \"gitops\", \"status\": \"applied\", \"env\": \"staging\", "
		   "\"gitops_sha\": \"f00\"}", "gitops\x1f" "staging\x1f" "f00");
	expect_key("{\"type\": \"gitops\", \"status\": \"applied\", \"env\": \"staging\"}",
		   NULL);
	expect_key("{\"type\": \"alert\", \"status\": \"resolved\", \"app\": \"api\", "
		   "\"env\": \"prod\", \"alert\": {\"name\": \"OOMKilled\", "
		   "\"object\": \"default/api-1\"}}",
		   "alert\x1f" "api\x1f" "prod\x1f" "OOMKilled\x1f" "default/api-1");
	expect_key("{\"type\": \"alert\", \"status\": \"firing\", \"app\": \"api\", "
		   "\"alert\": {\"name\": \"OOMKilled\"}}",
		   "alert\x1f" "api\x1f" "\x1f" "OOMKilled\x1f");
	expect_key("{\"type\": \"delete\", \"status\": \"succeeded\", \"app\": \"api\"}",
		   NULL);
	expect_key("{\"type\": \"message\", \"title\": \"t\"}", NULL);
	expect_key("{\"type\": \"message\", \"title\": \"t\", \"correlation\": \"r-1\"}",
		   "c\x1f" "r-1");
	expect_key(DEPLOY "\"sha\": \"abc\", \"correlation\": \"r-1\"}", "c\x1f" "r-1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_status_matrix),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_write_json),
		cmocka_unit_test(test_is_failure),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_status_errors),
		cmocka_unit_test(test_required_fields),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_absent_and_ignored),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_array_reports_all),
		cmocka_unit_test(test_channel_syntax),
		cmocka_unit_test(test_from_json_pointer),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_correlation_keys),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
