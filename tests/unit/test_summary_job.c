/*
 * Unit tests for summary_job against a real SQLite store: a week's
 * summary from stored events (timestamps, and when received), the
 * scheduler with an injected clock submitting last week's summary once at
 * start, a second submit of the same week storing nothing, the stored
 * event routed to the default channel, and the rendered bodies the engine
 * posts (only for a summary's body).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/store.h"
#include "daemon/summary_job.h"

struct fixture {
	char dir[256];
	char path[300];
	struct store *st;
	struct api_routing routing;
	int woken;
	int64_t woken_id;
};

/* Wednesday 2 December 2026 12:00 UTC, in 2026-W49. */
static time_t fixed_now(void)
{
	return 1796212800;
}

static void wake(void *arg, const int64_t *ids, size_t nr)
{
	struct fixture *f = arg;

	f->woken += (int)nr;
	f->woken_id = ids[0];
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct errbuf err;
	struct config cfg;

	setenv("TZ", "UTC", 1);
	snprintf(f->dir, sizeof(f->dir), "%s/herald-sj-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/herald.db", f->dir);
	if (store_open(&f->st, f->path, &err))
		fail_msg("store_open: %s", err.msg);
	config_init(&cfg);
	cfg.provider = PROVIDER_SLACK;
	cfg.default_channel = xstrdup("#deploys");
	cfg.summary = xstrdup("mon 09:00");
	api_routing_init(&f->routing, api_snapshot_new(&cfg, NULL));
	config_release(&cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[340];

	store_close(f->st);
	api_routing_release(&f->routing);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path,
			 (const char *[]){ "", "-wal", "-shm" }[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void accept_event(struct store *st, const char *type,
			 const char *body)
{
	struct store_item it = {
		.type = type, .body = body, .provider = "slack",
		.destination = "#deploys", .dest_kind = "channel",
		.reason = "test", .state = STORE_QUEUED,
	};
	struct store_accepted a;
	struct errbuf err;

	if (store_accept(st, &it, 1, &a, &err))
		fail_msg("store_accept: %s", err.msg);
	store_accepted_release(&a);
}

static void test_collect(void **state)
{
	struct fixture *f = *state;
	struct summary s;
	struct errbuf err;
	time_t now = time(NULL);
	struct summary_week w = summary_week_of(now);

	accept_event(f->st, "deploy", "{\"type\":\"deploy\",\"status\":"
		     "\"succeeded\",\"app\":\"api\",\"env\":\"production\","
		     "\"actor\":\"jane\",\"version\":\"v1\"}");
	accept_event(f->st, "deploy", "{\"type\":\"deploy\",\"status\":"
		     "\"failed\",\"app\":\"api\",\"env\":\"production\","
		     "\"actor\":\"jane\",\"version\":\"v2\"}");
	/* Stored now, but it happened in 2026-W48 by its timestamp. */
	accept_event(f->st, "rollback", "{\"type\":\"rollback\",\"status\":"
		     "\"succeeded\",\"app\":\"api\",\"env\":\"staging\","
		     "\"timestamp\":\"2026-11-25T10:00:00Z\"}");
	accept_event(f->st, "message", "{\"type\":\"message\",\"title\":"
		     "\"hello\"}");
	assert_int_equal(summary_job_collect(f->st, w, NULL, 0, &s, &err), 0);
	assert_int_equal(s.events, 3);
	assert_int_equal(s.envs_nr, 1);
	assert_int_equal(s.envs[0].deploys, 2);
	assert_int_equal(s.envs[0].failed, 1);
	assert_int_equal(s.deployers_nr, 1);
	assert_int_equal(s.deployers[0].deploys, 2);
	summary_release(&s);
	if (now < 1796688000) {	/* received before W48 ends + 7 days */
		assert_int_equal(summary_job_collect(f->st, (struct
				 summary_week){ 2026, 48 }, NULL, 0, &s, &err),
				 0);
		assert_int_equal(s.envs_nr, 1);
		assert_int_equal(s.envs[0].rollbacks, 1);
		summary_release(&s);
	}
}

static void test_scheduler_once(void **state)
{
	struct fixture *f = *state;
	struct summary_job_options o = {
		f->st, &f->routing, NULL, wake, f, fixed_now
	};
	struct summary_job *j = NULL;
	struct store_record *recs = NULL;
	struct store_filter filter = STORE_FILTER_INIT;
	struct errbuf err;
	size_t nr = 0;

	assert_int_equal(summary_job_start(&j, &o, &err), 0);
	assert_non_null(j);
	/* Past Monday 09:00 of W49: W48's summary at start. */
	for (int i = 0; i < 200 && !f->woken; i++)
		usleep(20000);
	assert_int_equal(f->woken, 1);
	assert_int_equal(summary_job_submit(j, (struct summary_week){ 2026,
						48 }, &err), 1);
	assert_int_equal(f->woken, 1);
	assert_int_equal(summary_job_submit(j, (struct summary_week){ 2026,
						47 }, &err), 0);
	assert_int_equal(f->woken, 2);
	summary_job_stop(j);

	assert_int_equal(store_list(f->st, &filter, &recs, &nr, &err), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(recs[1].event_key, "summary-2026-W48");
	assert_string_equal(recs[0].event_key, "summary-2026-W47");
	assert_string_equal(recs[1].destination, "#deploys");
	assert_string_equal(recs[1].type, "message");
	assert_int_equal(recs[1].state, STORE_QUEUED);
	store_record_array_free(recs, nr);
}

static void test_no_schedule(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	struct summary_job_options o = {
		f->st, &f->routing, NULL, wake, f, fixed_now
	};
	struct summary_job *j = (struct summary_job *)1;
	struct errbuf err;

	config_init(&cfg);
	api_routing_swap(&f->routing, api_snapshot_new(&cfg, NULL));
	config_release(&cfg);
	assert_int_equal(summary_job_start(&j, &o, &err), 0);
	assert_null(j);
	summary_job_stop(NULL);
}

static void test_rendered(void **state)
{
	struct summary s;
	json_t *ev, *body;
	char *text;

	(void)state;
	summary_compute(&s, (struct summary_week){ 2026, 48 }, NULL, 0, NULL,
			0);
	ev = summary_job_event(&s, "#deploys");
	assert_string_equal(json_string_value(json_object_get(ev, "id")),
			    "summary-2026-W48");
	assert_string_equal(json_string_value(json_object_get(ev, "channel")),
			    "#deploys");
	text = json_dumps(ev, JSON_COMPACT);
	body = summary_job_rendered(text, "slack");
	assert_non_null(json_object_get(body, "blocks"));
	json_decref(body);
	body = summary_job_rendered(text, "discord");
	assert_non_null(json_object_get(body, "embeds"));
	json_decref(body);
	body = summary_job_rendered(text, "log");
	assert_non_null(json_object_get(body, "blocks"));
	json_decref(body);
	free(text);
	json_decref(ev);
	assert_null(summary_job_rendered("{\"type\":\"message\",\"title\":"
					 "\"\\\"rendered\\\":{}\"}", "slack"));
	assert_null(summary_job_rendered(NULL, "slack"));
	summary_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scheduler_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_schedule, setup,
						teardown),
		cmocka_unit_test(test_rendered),
	};

	return cmocka_run_group_tests_name("summary_job", tests, NULL, NULL);
}
