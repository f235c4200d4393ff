/*
 * Unit tests for the GitHub adapter: every fixture under
 * tests/inputs/github/ (payloads published by GitHub and octokit, and
 * variants of them, see SOURCES.md), every mapping rule, the headers
 * (X-GitHub-Event, X-GitHub-Delivery, Content-Type), and payloads that
 * are valid but odd (nulls, wrong types inside the shape, huge strings),
 * which must convert, and bodies that are not JSON or not the shape,
 * which must not. Every event produced is checked with event_from_json().
 *
 * The project root comes from argv[1] (meson passes it), else $HERALD_SRC,
 * else ".".
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
#include "inputs/github.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"

static const char *root = ".";

#define GUID "72d3162e-cc78-11e3-81ab-4c9367dc0958"
#define DEFAULT_EVENT "deployment_status"
#define DEFAULT_CTYPE "application/json"
#define NONE ((const char *)-1)	/* leave the header out */

/* What a request carries besides the body; NULL fields take defaults. */
struct opts {
	const char *event;	/* X-GitHub-Event */
	const char *delivery;	/* X-GitHub-Delivery */
	const char *ctype;	/* Content-Type */
	const char *app;	/* ?app= */
};

struct got {
	int ret;
	struct input_result r;
	struct errbuf err;
};

static int read_file(const char *path, struct strbuf *out)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	fclose(f);
	return 0;
}

static void fixture(const char *name, struct strbuf *out)
{
	struct strbuf path = STRBUF_INIT;

	strbuf_addf(&path, "%s/tests/inputs/github/%s", root, name);
	if (read_file(path.buf, out) < 0) {
		print_error("cannot read %s\n", path.buf);
		fail();
	}
	strbuf_release(&path);
}

static json_t *fixture_json(const char *name)
{
	struct strbuf text = STRBUF_INIT;
	json_t *j;

	fixture(name, &text);
	j = json_loadb(text.buf, text.len, 0, NULL);
	assert_non_null(j);
	strbuf_release(&text);
	return j;
}

static const char *pick(const char *given, const char *fallback)
{
	if (given == NONE)
		return NULL;
	return given ? given : fallback;
}

/* Every event must be one herald takes; a failed conversion has none. */
static void check_result(const struct got *g)
{
	if (g->ret) {
		assert_int_equal(g->ret, HERALD_EINVAL);
		assert_int_equal(json_array_size(g->r.events), 0);
		assert_true(g->err.msg[0] != '\0');
		assert_null(strchr(g->err.msg, '\n'));
		return;
	}
	for (size_t i = 0; i < json_array_size(g->r.events); i++) {
		struct event ev;
		struct errbuf err;

		if (event_from_json(&ev, json_array_get(g->r.events, i), "",
				    &err)) {
			char *dump = json_dumps(json_array_get(g->r.events, i),
						JSON_COMPACT);

			print_error("invalid event: %s\n  %.2000s\n", err.msg,
				    dump);
			free(dump);
			fail();
		}
		event_release(&ev);
	}
	for (size_t i = 0; i < g->r.ignored.nr; i++) {
		assert_true(g->r.ignored.items[i][0] != '\0');
		assert_null(strchr(g->r.ignored.items[i], '\n'));
	}
}

static void run_len(struct got *g, const char *body, size_t len,
		    const struct opts *o)
{
	static const struct opts defaults;
	struct input_param headers[3], query[1];
	struct input_request req = { 0 };
	size_t nh = 0, nq = 0;
	const char *v;

	if (!o)
		o = &defaults;
	if ((v = pick(o->event, DEFAULT_EVENT)))
		headers[nh++] = (struct input_param){ "X-GitHub-Event", v };
	if ((v = pick(o->delivery, GUID)))
		headers[nh++] = (struct input_param){ "X-GitHub-Delivery", v };
	if ((v = pick(o->ctype, DEFAULT_CTYPE)))
		headers[nh++] = (struct input_param){ "Content-Type", v };
	if (o->app && o->app != NONE)
		query[nq++] = (struct input_param){ "app", o->app };
	req.body = body;
	req.len = len;
	req.headers = headers;
	req.headers_nr = nh;
	req.query = query;
	req.query_nr = nq;
	req.now = 1700000000;
	input_result_init(&g->r);
	g->err.msg[0] = '\0';
	g->ret = github_convert(&req, &g->r, &g->err);
	check_result(g);
}

static void run(struct got *g, const char *body, const struct opts *o)
{
	run_len(g, body, strlen(body), o);
}

static void run_fixture(struct got *g, const char *name, const struct opts *o)
{
	struct strbuf text = STRBUF_INIT;

	fixture(name, &text);
	run_len(g, text.buf, text.len, o);
	strbuf_release(&text);
}

/* Converts j (dumped as GitHub would send it). */
static void run_json(struct got *g, const json_t *j, const struct opts *o)
{
	char *text = json_dumps(j, JSON_COMPACT);

	assert_non_null(text);
	run(g, text, o);
	free(text);
}

static void got_release(struct got *g)
{
	input_result_release(&g->r);
}

static const json_t *only_event(const struct got *g)
{
	if (g->ret)
		print_error("unexpected error: %s\n", g->err.msg);
	assert_int_equal(g->ret, 0);
	assert_int_equal(json_array_size(g->r.events), 1);
	return json_array_get(g->r.events, 0);
}

static const char *field(const json_t *ev, const char *name)
{
	return json_string_value(json_object_get(ev, name));
}

static void expect_field(const json_t *ev, const char *name, const char *want)
{
	const char *have = field(ev, name);

	if (!want) {
		if (json_object_get(ev, name))
			print_error("%s: unexpected %s\n", name, have);
		assert_null(json_object_get(ev, name));
		return;
	}
	if (!have || strcmp(have, want))
		print_error("%s: have %s, want %s\n", name, have ? have : "(none)",
			    want);
	assert_non_null(have);
	assert_string_equal(have, want);
}

/* Whether some ignored note contains part. */
static int noted(const struct got *g, const char *part)
{
	for (size_t i = 0; i < g->r.ignored.nr; i++)
		if (strstr(g->r.ignored.items[i], part))
			return 1;
	return 0;
}

static void expect_note(const struct got *g, const char *part)
{
	if (!noted(g, part)) {
		for (size_t i = 0; i < g->r.ignored.nr; i++)
			print_message("# note: %s\n", g->r.ignored.items[i]);
		print_error("no note with: %s\n", part);
		fail();
	}
}

static void expect_no_notes(const struct got *g)
{
	for (size_t i = 0; i < g->r.ignored.nr; i++)
		print_message("# unexpected note: %s\n", g->r.ignored.items[i]);
	assert_int_equal(g->r.ignored.nr, 0);
}

/* A conversion to nothing, with exactly one note: note. */
static void expect_nothing(const struct got *g, const char *note)
{
	if (g->ret)
		print_error("unexpected error: %s\n", g->err.msg);
	assert_int_equal(g->ret, 0);
	assert_int_equal(json_array_size(g->r.events), 0);
	if (g->r.ignored.nr != 1 || strcmp(g->r.ignored.items[0], note)) {
		for (size_t i = 0; i < g->r.ignored.nr; i++)
			print_message("# note: %s\n", g->r.ignored.items[i]);
	}
	assert_int_equal(g->r.ignored.nr, 1);
	assert_string_equal(g->r.ignored.items[0], note);
}

static void expect_error(const struct got *g, const char *msg)
{
	assert_int_equal(g->ret, HERALD_EINVAL);
	assert_int_equal(json_array_size(g->r.events), 0);
	assert_string_equal(g->err.msg, msg);
}

/* Sets obj's member at a path of keys ("deployment_status", "state"). */
static void set_path(json_t *j, const char *a, const char *b, json_t *value)
{
	if (b)
		j = json_object_get(j, a);
	assert_true(json_is_object(j));
	if (value)
		json_object_set_new(j, b ? b : a, value);
	else
		json_object_del(j, b ? b : a);
}

/* ---- the fixtures ---- */

static void test_every_fixture(void **state)
{
	static const struct {
		const char *name, *event;
		size_t events;
	} fixtures[] = {
		{ "octokit-success.json", "deployment_status", 1 },
		{ "octokit-with-installation.json", "deployment_status", 1 },
		{ "octokit-gh-pages-in-progress.json", "deployment_status", 1 },
		{ "octokit-ghes-35.json", "deployment_status", 1 },
		{ "developer-2015.json", "deployment_status", 1 },
		{ "derived-payload-string.json", "deployment_status", 1 },
		{ "derived-null-creator.json", "deployment_status", 1 },
		{ "derived-inactive.json", "deployment_status", 0 },
		{ "derived-rollback-failure.json", "deployment_status", 1 },
		{ "derived-error-env-in-deployment.json", "deployment_status", 1 },
		{ "derived-waiting.json", "deployment_status", 1 },
		{ "octokit-ping.json", "ping", 0 },
		{ "developer-ping-2015.json", "ping", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(*fixtures); i++) {
		struct got g;

		/* With the header GitHub sends, then without: by shape. */
		run_fixture(&g, fixtures[i].name,
			    &(struct opts){ .event = fixtures[i].event });
		assert_int_equal(g.ret, 0);
		assert_int_equal(json_array_size(g.r.events), fixtures[i].events);
		got_release(&g);
		run_fixture(&g, fixtures[i].name, &(struct opts){ .event = NONE });
		assert_int_equal(g.ret, 0);
		assert_int_equal(json_array_size(g.r.events), fixtures[i].events);
		got_release(&g);
		/* Without X-GitHub-Delivery too. */
		run_fixture(&g, fixtures[i].name,
			    &(struct opts){ .event = fixtures[i].event,
					    .delivery = NONE });
		assert_int_equal(g.ret, 0);
		got_release(&g);
	}
}

static void test_octokit_success(void **state)
{
	struct got g;
	const json_t *ev;

	(void)state;
	run_fixture(&g, "octokit-success.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "type", "deploy");
	expect_field(ev, "status", "succeeded");
	expect_field(ev, "app", "Hello-World");
	expect_field(ev, "env", "production");
	expect_field(ev, "actor", "Codertocat");
	expect_field(ev, "repository", "Codertocat/Hello-World");
	expect_field(ev, "sha", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
	expect_field(ev, "version", NULL);
	expect_field(ev, "url", NULL);		/* target_url is "" */
	expect_field(ev, "description", NULL);	/* "" */
	expect_field(ev, "timestamp", "2019-05-15T15:20:55Z");
	expect_field(ev, "correlation", "github:Codertocat/Hello-World#145988746");
	expect_field(ev, "id", "github:" GUID);
	expect_field(ev, "channel", NULL);
	assert_null(json_object_get(ev, "edit_only"));
	expect_no_notes(&g);
	got_release(&g);

	/* installation and organization change nothing. */
	run_fixture(&g, "octokit-with-installation.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "status", "succeeded");
	expect_field(ev, "correlation", "github:Codertocat/Hello-World#145988746");
	expect_no_notes(&g);
	got_release(&g);
}

/* A GitHub Pages deployment made by an Actions workflow. */
static void test_gh_pages_in_progress(void **state)
{
	struct got g;
	const json_t *ev;

	(void)state;
	run_fixture(&g, "octokit-gh-pages-in-progress.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "type", "deploy");
	expect_field(ev, "status", "started");
	expect_field(ev, "app", "Hello-World");
	expect_field(ev, "env", "github-pages");
	expect_field(ev, "actor", "Codertocat");	/* the bot's sender */
	expect_field(ev, "sha", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
	expect_field(ev, "url", "https://github.com/CorsixTH/CorsixTH/runs/"
		     "4687056418?check_suite_focus=true");
	expect_field(ev, "timestamp", "2022-01-03T01:28:40Z");
	expect_field(ev, "correlation", "github:Codertocat/Hello-World#145988746");
	expect_no_notes(&g);
	got_release(&g);
}

/* 2015: no action, no environment in the status, null URL and text. */
static void test_developer_2015(void **state)
{
	struct got g;
	const json_t *ev;

	(void)state;
	run_fixture(&g, "developer-2015.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "status", "succeeded");
	expect_field(ev, "app", "public-repo");
	expect_field(ev, "env", "production");	/* deployment.environment */
	expect_field(ev, "actor", "baxterthehacker");
	expect_field(ev, "repository", "baxterthehacker/public-repo");
	expect_field(ev, "sha", "9049f1265b7d61be4a8904a9a27120d2064dab3b");
	expect_field(ev, "url", NULL);
	expect_field(ev, "description", NULL);
	expect_field(ev, "timestamp", "2015-05-05T23:40:39Z");
	expect_field(ev, "correlation", "github:baxterthehacker/public-repo#710692");
	expect_no_notes(&g);
	got_release(&g);
}

/* GitHub Enterprise Server 3.5: no "action". */
static void test_ghes(void **state)
{
	struct got g;
	const json_t *ev;

	(void)state;
	run_fixture(&g, "octokit-ghes-35.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "status", "succeeded");
	expect_field(ev, "sha", "78a96099c3f442d7f6e8d1a7d07090091993e65a");
	expect_field(ev, "correlation", "github:Codertocat/Hello-World#2");
	expect_field(ev, "timestamp", "2019-05-15T19:38:21Z");
	expect_no_notes(&g);
	got_release(&g);
}

static void test_derived_fixtures(void **state)
{
	struct got g;
	const json_t *ev;

	(void)state;
	/* payload a string holding JSON; a numeric version. */
	run_fixture(&g, "derived-payload-string.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "status", "started");
	expect_field(ev, "app", "webapp");
	expect_field(ev, "version", "42");
	expect_no_notes(&g);
	got_release(&g);

	/* null creators and payload: the sender acted. */
	run_fixture(&g, "derived-null-creator.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "actor", "Codertocat");
	expect_field(ev, "app", "Hello-World");
	expect_no_notes(&g);
	got_release(&g);

	run_fixture(&g, "derived-inactive.json", NULL);
	expect_nothing(&g, "/deployment_status/state: inactive (a later "
		       "deployment to \"production\" replaced this one, or the "
		       "environment was removed): no message");
	got_release(&g);

	run_fixture(&g, "derived-rollback-failure.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "type", "rollback");
	expect_field(ev, "status", "failed");
	expect_field(ev, "app", "api");
	expect_field(ev, "version", "v1.4.1");
	expect_field(ev, "description", "Health check failed after 2m0s");
	expect_field(ev, "url", "https://github.com/Codertocat/Hello-World/"
		     "actions/runs/42");
	expect_no_notes(&g);
	got_release(&g);

	run_fixture(&g, "derived-error-env-in-deployment.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "type", "deploy");
	expect_field(ev, "status", "failed");
	expect_field(ev, "env", "staging");
	expect_field(ev, "description", "Deployment could not start: no runner");
	expect_no_notes(&g);
	got_release(&g);

	run_fixture(&g, "derived-waiting.json", NULL);
	ev = only_event(&g);
	expect_field(ev, "status", "started");
	expect_field(ev, "url", "https://hello-world.example.com");
	expect_field(ev, "description", "Waiting for the environment's "
		     "protection rules (a required review or a wait timer)");
	expect_no_notes(&g);
	got_release(&g);
}

/* ---- headers ---- */

static void test_ping_and_other_events(void **state)
{
	struct strbuf note = STRBUF_INIT;
	char name[100];
	struct got g;

	(void)state;
	run_fixture(&g, "octokit-ping.json", &(struct opts){ .event = "ping" });
	expect_nothing(&g, "ping: the webhook is set up");
	got_release(&g);
	/* A ping is not parsed: any body will do. */
	run(&g, "", &(struct opts){ .event = "ping" });
	expect_nothing(&g, "ping: the webhook is set up");
	got_release(&g);
	/* Without the header, by its shape (zen and hook_id). */
	run_fixture(&g, "developer-ping-2015.json", &(struct opts){ .event = NONE });
	expect_nothing(&g, "ping: the webhook is set up");
	got_release(&g);

	run_fixture(&g, "octokit-success.json", &(struct opts){ .event = "push" });
	expect_nothing(&g, "X-GitHub-Event \"push\" is not handled: herald "
		       "reads deployment_status (subscribe the webhook to "
		       "\"Deployment statuses\" only)");
	got_release(&g);
	run(&g, "{}", &(struct opts){ .event = "deployment" });
	expect_nothing(&g, "X-GitHub-Event \"deployment\" is not handled: "
		       "herald reads deployment_status (subscribe the webhook "
		       "to \"Deployment statuses\" only)");
	got_release(&g);
	/* A header value is quoted as printable ASCII, cut short. */
	run(&g, "{}", &(struct opts){ .event = "x\ty\xc3\xa9" });
	expect_nothing(&g, "X-GitHub-Event \"x?y??\" is not handled: herald "
		       "reads deployment_status (subscribe the webhook to "
		       "\"Deployment statuses\" only)");
	got_release(&g);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	run(&g, "{}", &(struct opts){ .event = name });
	name[64] = '\0';
	strbuf_addf(&note, "X-GitHub-Event \"%s...\" is not handled: herald "
		    "reads deployment_status (subscribe the webhook to "
		    "\"Deployment statuses\" only)", name);
	expect_nothing(&g, note.buf);
	got_release(&g);
	strbuf_release(&note);
	/* An empty header counts as absent. */
	run_fixture(&g, "octokit-success.json", &(struct opts){ .event = "" });
	only_event(&g);
	got_release(&g);
}

/* Header names compare ignoring case, as HTTP says. */
static void test_header_case(void **state)
{
	struct input_param headers[] = {
		{ "x-github-event", "deployment_status" },
		{ "X-GITHUB-DELIVERY", "abc-123" },
	};
	struct input_request req = { 0 };
	struct strbuf text = STRBUF_INIT;
	struct got g;

	(void)state;
	fixture("octokit-success.json", &text);
	g.err.msg[0] = '\0';
	req.body = text.buf;
	req.len = text.len;
	req.headers = headers;
	req.headers_nr = 2;
	input_result_init(&g.r);
	g.ret = github_convert(&req, &g.r, &g.err);
	check_result(&g);
	expect_field(only_event(&g), "id", "github:abc-123");
	got_release(&g);
	strbuf_release(&text);
}

static void test_form_encoded(void **state)
{
	static const char msg[] = "the GitHub webhook sends form data: set its "
		"Content type to application/json";
	struct got g;

	(void)state;
	run(&g, "payload=%7B%22zen%22%3A%22hi%22%7D", &(struct opts){
		.ctype = "application/x-www-form-urlencoded" });
	expect_error(&g, msg);
	got_release(&g);
	/*
	 * Not by the content type alone: a JSON body that came with a form
	 * type (curl -d) is JSON.
	 */
	run_fixture(&g, "octokit-success.json", &(struct opts){
		.ctype = " Application/X-WWW-Form-Urlencoded; charset=utf-8" });
	assert_int_equal(g.ret, 0);
	got_release(&g);
	/* By the body alone. */
	run(&g, "payload=%7B%7D", &(struct opts){ .ctype = NONE });
	expect_error(&g, msg);
	got_release(&g);
	/* Even for a ping: the webhook is misconfigured for every event. */
	run(&g, "payload=%7B%7D", &(struct opts){ .event = "ping",
		.ctype = "application/x-www-form-urlencoded" });
	expect_error(&g, msg);
	got_release(&g);
}

static void test_not_json(void **state)
{
	struct got g;

	(void)state;
	run(&g, "{\"deployment_status\": ", NULL);
	assert_int_equal(g.ret, HERALD_EINVAL);
	assert_non_null(strstr(g.err.msg, "the body is not JSON (line 1, column"));
	assert_non_null(strstr(g.err.msg, "expected a GitHub webhook payload "
			       "(content type application/json)"));
	got_release(&g);
	run(&g, "", NULL);
	assert_int_equal(g.ret, HERALD_EINVAL);
	assert_non_null(strstr(g.err.msg, "the body is not JSON"));
	got_release(&g);
	run_len(&g, NULL, 0, NULL);
	assert_int_equal(g.ret, HERALD_EINVAL);
	got_release(&g);
	/* Invalid UTF-8, a NUL byte: quoted as ASCII in the message. */
	run(&g, "{\"a\": \"\xff\"}", NULL);
	assert_int_equal(g.ret, HERALD_EINVAL);
	for (const char *p = g.err.msg; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	got_release(&g);
	run_len(&g, "{\"a\"\0: 1}", 9, NULL);
	assert_int_equal(g.ret, HERALD_EINVAL);
	got_release(&g);
}

static void test_wrong_shape(void **state)
{
	static const char expected[] = "; expected the body GitHub sends for "
		"the \"Deployment statuses\" event";
	struct strbuf msg = STRBUF_INIT;
	struct got g;
	json_t *j;

	(void)state;
	run(&g, "[]", NULL);
	strbuf_addf(&msg, "not a GitHub deployment_status payload: the body is "
		    "an array, not an object%s", expected);
	expect_error(&g, msg.buf);
	got_release(&g);

	run(&g, "\"deployment_status\"", &(struct opts){ .event = NONE });
	strbuf_reset(&msg);
	strbuf_addf(&msg, "not a GitHub deployment_status payload: the body is "
		    "a string, not an object%s", expected);
	expect_error(&g, msg.buf);
	got_release(&g);

	/* A push payload sent without the header, or with a wrong one. */
	run(&g, "{\"ref\": \"refs/heads/main\", \"commits\": []}",
	    &(struct opts){ .event = NONE });
	strbuf_reset(&msg);
	strbuf_addf(&msg, "not a GitHub deployment_status payload: no "
		    "\"deployment_status\" object%s", expected);
	expect_error(&g, msg.buf);
	got_release(&g);
	run(&g, "{\"zen\": \"x\", \"hook_id\": 1}", NULL);
	expect_error(&g, msg.buf);	/* a ping body, said to be a status */
	got_release(&g);

	run(&g, "{\"deployment_status\": \"success\", \"deployment\": {}}", NULL);
	strbuf_reset(&msg);
	strbuf_addf(&msg, "not a GitHub deployment_status payload: "
		    "\"deployment_status\" is a string%s", expected);
	expect_error(&g, msg.buf);
	got_release(&g);

	j = fixture_json("octokit-success.json");
	set_path(j, "deployment", NULL, NULL);
	run_json(&g, j, NULL);
	strbuf_reset(&msg);
	strbuf_addf(&msg, "not a GitHub deployment_status payload: no "
		    "\"deployment\" object%s", expected);
	expect_error(&g, msg.buf);
	got_release(&g);
	set_path(j, "deployment", NULL, json_integer(7));
	run_json(&g, j, NULL);
	strbuf_reset(&msg);
	strbuf_addf(&msg, "not a GitHub deployment_status payload: "
		    "\"deployment\" is a number%s", expected);
	expect_error(&g, msg.buf);
	got_release(&g);
	json_decref(j);

	/* The smallest shape is enough, with a note for what is missing. */
	run(&g, "{\"deployment_status\": {\"state\": \"success\"}, "
	    "\"deployment\": {}}", &(struct opts){ .app = "api" });
	{
		const json_t *ev = only_event(&g);

		expect_field(ev, "app", "api");
		expect_field(ev, "env", "production");
		expect_field(ev, "correlation", NULL);
	}
	expect_note(&g, "/deployment/environment: missing: GitHub's default, "
		    "production, used");
	got_release(&g);
	strbuf_release(&msg);
}

/* ---- the mapping ---- */

static void expect_state(const char *state_name, const char *status)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	set_path(j, "deployment_status", "state", json_string(state_name));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "status", status);
	got_release(&g);
	json_decref(j);
}

static void test_states(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	expect_state("pending", "started");
	expect_state("queued", "started");
	expect_state("waiting", "started");
	expect_state("in_progress", "started");
	expect_state("success", "succeeded");
	expect_state("failure", "failed");
	expect_state("error", "failed");

	set_path(j, "deployment_status", "state", json_string("exploded"));
	run_json(&g, j, NULL);
	expect_nothing(&g, "/deployment_status/state: \"exploded\" is not a "
		       "state herald knows; expected pending, queued, waiting, "
		       "in_progress, success, failure, error or inactive: no "
		       "message");
	got_release(&g);
	set_path(j, "deployment_status", "state", json_string("SUCCESS"));
	run_json(&g, j, NULL);
	assert_int_equal(json_array_size(g.r.events), 0);
	got_release(&g);
	set_path(j, "deployment_status", "state", json_integer(1));
	run_json(&g, j, NULL);
	expect_nothing(&g, "/deployment_status/state: a number; expected a "
		       "state such as in_progress or success: nothing to "
		       "report");
	got_release(&g);
	set_path(j, "deployment_status", "state", NULL);
	run_json(&g, j, NULL);
	expect_nothing(&g, "/deployment_status/state: missing; expected a "
		       "state such as in_progress or success: nothing to "
		       "report");
	got_release(&g);

	/* Another action than created: not ours to guess. */
	set_path(j, "deployment_status", "state", json_string("success"));
	set_path(j, "action", NULL, json_string("deleted"));
	run_json(&g, j, NULL);
	expect_nothing(&g, "/action: \"deleted\" is not handled: herald reads "
		       "created");
	got_release(&g);
	json_decref(j);
}

static void expect_task(const char *task, const char *type)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	set_path(j, "deployment", "task", task ? json_string(task) : NULL);
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "type", type);
	got_release(&g);
	json_decref(j);
}

static void test_task(void **state)
{
	(void)state;
	expect_task("deploy", "deploy");
	expect_task("deploy:migrations", "deploy");
	expect_task(NULL, "deploy");
	expect_task("roll", "deploy");
	expect_task("redeploy-rollback", "deploy");
	expect_task("rollback", "rollback");
	expect_task("rollback:production", "rollback");
	expect_task("Rollback", "rollback");
}

static void test_app(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	/* payload.app › ?app= › repository.name */
	set_path(j, "deployment", "payload", json_pack("{s:s}", "app", "billing"));
	run_json(&g, j, &(struct opts){ .app = "from-query" });
	expect_field(only_event(&g), "app", "billing");
	got_release(&g);
	set_path(j, "deployment", "payload", json_object());
	run_json(&g, j, &(struct opts){ .app = "from-query" });
	expect_field(only_event(&g), "app", "from-query");
	expect_no_notes(&g);
	got_release(&g);
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "app", "Hello-World");
	got_release(&g);
	/* A payload string holding an object; blank values fall through. */
	set_path(j, "deployment", "payload",
		 json_string("{\"app\": \"web\", \"version\": \"2.0\"}"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "app", "web");
	expect_field(only_event(&g), "version", "2.0");
	got_release(&g);
	set_path(j, "deployment", "payload", json_pack("{s:s}", "app", " \t"));
	run_json(&g, j, &(struct opts){ .app = " " });
	expect_field(only_event(&g), "app", "Hello-World");
	got_release(&g);
	/* Of another type: noted, not used. */
	set_path(j, "deployment", "payload", json_pack("{s:i}", "app", 5));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "app", "Hello-World");
	expect_note(&g, "/deployment/payload/app: a number, not a string: not "
		    "used");
	got_release(&g);
	set_path(j, "deployment", "payload", json_string("not json"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "app", "Hello-World");
	expect_note(&g, "/deployment/payload: a string that is not a JSON "
		    "object: app and version not read from it");
	got_release(&g);
	set_path(j, "deployment", "payload", json_string("[1]"));
	run_json(&g, j, NULL);
	expect_note(&g, "/deployment/payload: a string that is not a JSON object");
	got_release(&g);
	set_path(j, "deployment", "payload", json_string(""));
	run_json(&g, j, NULL);
	expect_no_notes(&g);
	got_release(&g);
	set_path(j, "deployment", "payload", json_pack("[s]", "app"));
	run_json(&g, j, NULL);
	expect_note(&g, "/deployment/payload: an array, not an object: app and "
		    "version not read from it");
	got_release(&g);
	/* A query value that is not UTF-8 is not used. */
	set_path(j, "deployment", "payload", json_null());
	run_json(&g, j, &(struct opts){ .app = "ap\xffp" });
	expect_field(only_event(&g), "app", "Hello-World");
	expect_note(&g, "?app=: not valid UTF-8: not used");
	got_release(&g);
	/* Control characters become spaces. */
	run_json(&g, j, &(struct opts){ .app = "a\tb\nc" });
	expect_field(only_event(&g), "app", "a b c");
	got_release(&g);
	/* No app anywhere: nothing to report, said so. */
	set_path(j, "repository", NULL, NULL);
	run_json(&g, j, NULL);
	assert_int_equal(json_array_size(g.r.events), 0);
	expect_note(&g, "no app: the payload has no repository name; give "
		    "deployment.payload.app or ?app= in the webhook URL: "
		    "nothing to report");
	got_release(&g);
	run_json(&g, j, &(struct opts){ .app = "api" });
	{
		const json_t *ev = only_event(&g);

		expect_field(ev, "app", "api");
		expect_field(ev, "repository", NULL);
		expect_field(ev, "correlation", "github:#145988746");
	}
	got_release(&g);
	json_decref(j);
}

static void test_env(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	set_path(j, "deployment_status", "environment", json_string("staging"));
	set_path(j, "deployment", "environment", json_string("production"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "env", "staging");
	got_release(&g);
	set_path(j, "deployment_status", "environment", json_string(""));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "env", "production");
	expect_no_notes(&g);
	got_release(&g);
	set_path(j, "deployment_status", "environment", json_integer(3));
	set_path(j, "deployment", "environment", NULL);
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "env", "production");
	expect_note(&g, "/deployment/environment: missing: GitHub's default, "
		    "production, used");
	got_release(&g);
	json_decref(j);
}

static void test_actor(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	set_path(j, "deployment", "creator", json_pack("{s:s}", "login", "dep"));
	set_path(j, "deployment_status", "creator",
		 json_pack("{s:s}", "login", "status"));
	set_path(j, "sender", NULL, json_pack("{s:s}", "login", "sender"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", "dep");
	got_release(&g);
	set_path(j, "deployment", "creator", json_null());
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", "status");
	got_release(&g);
	set_path(j, "deployment_status", "creator", json_pack("{s:i}", "login", 1));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", "sender");
	got_release(&g);
	set_path(j, "sender", NULL, json_string("x"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", NULL);
	got_release(&g);
	/* People before bots, by type or by name; a bot when no one else. */
	set_path(j, "deployment", "creator",
		 json_pack("{s:s, s:s}", "login", "deployer", "type", "Bot"));
	set_path(j, "deployment_status", "creator",
		 json_pack("{s:s}", "login", "github-actions[bot]"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", "deployer");
	got_release(&g);
	set_path(j, "sender", NULL, json_pack("{s:s, s:s}", "login", "jane",
					      "type", "User"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", "jane");
	got_release(&g);
	set_path(j, "deployment_status", "creator",
		 json_pack("{s:s}", "login", "ann"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "actor", "ann");
	got_release(&g);
	json_decref(j);
}

static void test_version(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	set_path(j, "deployment", "payload", json_pack("{s:s}", "version", "v1.4.2"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "version", "v1.4.2");
	got_release(&g);
	set_path(j, "deployment", "payload", json_pack("{s:I}", "version",
						       (json_int_t)20260101));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "version", "20260101");
	got_release(&g);
	set_path(j, "deployment", "payload", json_pack("{s:f}", "version", 1.5));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "version", "1.5");
	got_release(&g);
	set_path(j, "deployment", "payload", json_pack("{s:b}", "version", 1));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "version", NULL);
	expect_note(&g, "/deployment/payload/version: a boolean, not a string "
		    "or a number: not used");
	got_release(&g);
	set_path(j, "deployment", "payload", json_pack("{s:n}", "version"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "version", NULL);
	expect_no_notes(&g);
	got_release(&g);
	json_decref(j);
}

static void test_url(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	set_path(j, "deployment_status", "log_url", json_string("https://ci/log"));
	set_path(j, "deployment_status", "target_url", json_string("https://ci/target"));
	set_path(j, "deployment_status", "environment_url",
		 json_string("https://app.example.com"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "url", "https://ci/log");
	got_release(&g);
	set_path(j, "deployment_status", "log_url", json_string(""));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "url", "https://ci/target");
	got_release(&g);
	set_path(j, "deployment_status", "target_url", json_null());
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "url", "https://app.example.com");
	expect_no_notes(&g);
	got_release(&g);
	/* Not http(s), no host, white space, a C1 control: noted, skipped. */
	set_path(j, "deployment_status", "log_url", json_string("ftp://ci/log"));
	set_path(j, "deployment_status", "target_url", json_string("https://"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "url", "https://app.example.com");
	expect_note(&g, "/deployment_status/log_url: not an absolute http(s) URL");
	expect_note(&g, "/deployment_status/target_url: not an absolute http(s) "
		    "URL with a host: left out");
	got_release(&g);
	set_path(j, "deployment_status", "log_url",
		 json_string("https://ci/a b"));
	set_path(j, "deployment_status", "target_url",
		 json_string("https://ci/\xc2\x85"));
	set_path(j, "deployment_status", "environment_url",
		 json_string("http:///path"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "url", NULL);
	assert_int_equal(g.r.ignored.nr, 3);
	got_release(&g);
	/* log_url sets target_url too: one note for the same bad URL. */
	set_path(j, "deployment_status", "log_url", json_string("x"));
	set_path(j, "deployment_status", "target_url", json_string("x"));
	set_path(j, "deployment_status", "environment_url", json_string(""));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "url", NULL);
	assert_int_equal(g.r.ignored.nr, 1);
	got_release(&g);
	json_decref(j);
}

static void test_description(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	size_t big = 300 * 1024;
	char *text = malloc(big + 1);
	struct got g;

	(void)state;
	assert_non_null(text);
	set_path(j, "deployment_status", "state", json_string("failure"));
	set_path(j, "deployment_status", "description",
		 json_string("line 1\nline 2\ttab\x01"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "description", "line 1\nline 2\ttab ");
	got_release(&g);
	set_path(j, "deployment_status", "description", json_string(" \n "));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "description", NULL);
	got_release(&g);
	/* Over herald's limit: shortened, noted, valid. */
	memset(text, 'x', big);
	text[big] = '\0';
	set_path(j, "deployment_status", "description", json_string(text));
	run_json(&g, j, NULL);
	assert_true(strlen(field(only_event(&g), "description")) < big);
	expect_note(&g, "/deployment_status/description: 307200 bytes, "
		    "shortened to");
	got_release(&g);
	/* A waiting status with its own description keeps it. */
	set_path(j, "deployment_status", "state", json_string("waiting"));
	set_path(j, "deployment_status", "description", json_string("Needs Ann"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "description", "Needs Ann");
	got_release(&g);
	free(text);
	json_decref(j);
}

static void test_timestamp(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	struct got g;

	(void)state;
	set_path(j, "deployment_status", "updated_at", NULL);
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "timestamp", "2019-05-15T15:20:55Z");
	got_release(&g);
	set_path(j, "deployment_status", "created_at",
		 json_string("2024-02-29T23:59:59.123+01:00"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "timestamp", "2024-02-29T23:59:59.123+01:00");
	got_release(&g);
	set_path(j, "deployment_status", "updated_at", json_string("yesterday"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "timestamp", NULL);
	expect_note(&g, "/deployment_status/updated_at: \"yesterday\" is not an "
		    "RFC 3339 time: left out");
	got_release(&g);
	set_path(j, "deployment_status", "updated_at",
		 json_string("1969-12-31T23:59:59Z"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "timestamp", NULL);
	got_release(&g);
	set_path(j, "deployment_status", "updated_at", json_integer(1557933655));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "timestamp", "2024-02-29T23:59:59.123+01:00");
	got_release(&g);
	json_decref(j);
}

static void test_correlation(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	char *longname = malloc(400);
	const char *c;
	struct got g;

	(void)state;
	assert_non_null(longname);
	set_path(j, "deployment", "id", json_string("abc"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "correlation", "github:Codertocat/Hello-World#abc");
	got_release(&g);
	set_path(j, "deployment", "id", NULL);
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "correlation", NULL);
	got_release(&g);
	/* Too long, or not one line: hashed to a key that fits. */
	memset(longname, 'n', 399);
	longname[399] = '\0';
	set_path(j, "deployment", "id", json_integer(9));
	set_path(j, "repository", "full_name", json_string(longname));
	run_json(&g, j, NULL);
	c = field(only_event(&g), "correlation");
	assert_int_equal(strlen(c), strlen("github:") + 64);
	assert_memory_equal(c, "github:", 7);
	got_release(&g);
	set_path(j, "repository", "full_name", json_string("a/b\x7f"));
	run_json(&g, j, NULL);
	c = field(only_event(&g), "correlation");
	assert_int_equal(strlen(c), strlen("github:") + 64);
	got_release(&g);
	/* Unicode is one line. */
	set_path(j, "repository", "full_name", json_string("\xc3\xa9quipe/api"));
	run_json(&g, j, NULL);
	expect_field(only_event(&g), "correlation", "github:\xc3\xa9quipe/api#9");
	got_release(&g);
	free(longname);
	json_decref(j);
}

static void test_id(void **state)
{
	struct strbuf text = STRBUF_INIT;
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], want[80], longid[200];
	const char *a;
	struct got g, g2;

	(void)state;
	fixture("octokit-success.json", &text);
	/* A redelivery has the same GUID: the same id, a duplicate. */
	run_len(&g, text.buf, text.len, &(struct opts){ .delivery = "d-1" });
	run_len(&g2, text.buf, text.len, &(struct opts){ .delivery = "d-1" });
	expect_field(only_event(&g), "id", "github:d-1");
	expect_field(only_event(&g2), "id", "github:d-1");
	got_release(&g);
	got_release(&g2);
	/* No header: the body's SHA-256. */
	run_len(&g, text.buf, text.len, &(struct opts){ .delivery = NONE });
	sha2(SHA2_256, text.buf, text.len, digest);
	hex_encode(digest, sizeof(digest), hex);
	snprintf(want, sizeof(want), "github:%s", hex);
	expect_field(only_event(&g), "id", want);
	got_release(&g);
	/* A header that is not fit as it is: hashed, the same each time. */
	run_len(&g, text.buf, text.len, &(struct opts){ .delivery = "a b" });
	a = field(only_event(&g), "id");
	assert_int_equal(strlen(a), strlen("github:") + 64);
	run_len(&g2, text.buf, text.len, &(struct opts){ .delivery = "a b" });
	expect_field(only_event(&g2), "id", a);
	got_release(&g);
	got_release(&g2);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	run_len(&g, text.buf, text.len, &(struct opts){ .delivery = longid });
	assert_true(strlen(field(only_event(&g), "id")) <= EVENT_ID_MAX);
	got_release(&g);
	/* 121 bytes of GUID fit exactly ("github:" is 7). */
	longid[EVENT_ID_MAX - 7] = '\0';
	run_len(&g, text.buf, text.len, &(struct opts){ .delivery = longid });
	assert_int_equal(strlen(field(only_event(&g), "id")), EVENT_ID_MAX);
	assert_memory_equal(field(only_event(&g), "id"), "github:xxx", 10);
	got_release(&g);
	run_len(&g, text.buf, text.len, &(struct opts){ .delivery = "\xc3\xa9" });
	assert_int_equal(strlen(field(only_event(&g), "id")), 7 + 64);
	got_release(&g);
	strbuf_release(&text);
}

/* Huge single-line values are cut to herald's limits, with a note. */
static void test_huge_strings(void **state)
{
	json_t *j = fixture_json("octokit-success.json");
	char *big = malloc(5001);
	const json_t *ev;
	struct got g;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 5000);
	big[5000] = '\0';
	set_path(j, "deployment", "payload",
		 json_pack("{s:s, s:s}", "app", big, "version", big));
	set_path(j, "deployment_status", "environment", json_string(big));
	set_path(j, "deployment", "sha", json_string(big));
	set_path(j, "repository", "full_name", json_string(big));
	set_path(j, "deployment", "creator", json_pack("{s:s}", "login", big));
	run_json(&g, j, NULL);
	ev = only_event(&g);
	assert_true(strlen(field(ev, "app")) <= EVENT_LINE_MAX);
	assert_true(strlen(field(ev, "env")) <= EVENT_LINE_MAX);
	assert_true(strlen(field(ev, "sha")) <= EVENT_LINE_MAX);
	assert_true(strlen(field(ev, "version")) <= EVENT_LINE_MAX);
	assert_true(strlen(field(ev, "actor")) <= EVENT_LINE_MAX);
	assert_true(strlen(field(ev, "repository")) <= EVENT_LINE_MAX);
	assert_true(strlen(field(ev, "correlation")) <= EVENT_CORRELATION_MAX);
	expect_note(&g, "/deployment/payload/app: 5000 bytes, shortened to");
	expect_note(&g, "/deployment_status/environment: 5000 bytes, shortened to");
	expect_note(&g, "/repository/full_name: 5000 bytes, shortened to");
	got_release(&g);
	free(big);
	json_decref(j);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_octokit_success),
		cmocka_unit_test(test_gh_pages_in_progress),
		cmocka_unit_test(test_developer_2015),
		cmocka_unit_test(test_ghes),
		cmocka_unit_test(test_derived_fixtures),
		cmocka_unit_test(test_ping_and_other_events),
		cmocka_unit_test(test_header_case),
		cmocka_unit_test(test_form_encoded),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_wrong_shape),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_task),
		cmocka_unit_test(test_app),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_actor),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_correlation),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_huge_strings),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("github", tests, NULL, NULL);
}
