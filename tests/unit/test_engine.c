/*
 * Unit tests for the delivery engine, with a real store (SQLite in a
 * temporary directory) and a scripted provider: the provider's requests go
 * to a closed loopback port, and its parse_response() answers from a
 * script, so every outcome (delivered, retry, 429, permanent, auth, a
 * story's message gone) is exercised without a server. Loops are bounded
 * by iterations, not by time.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/api.h"
#include "inputs/event_json.h"
#include "daemon/engine.h"
#include "core/event.h"
#include "daemon/log.h"
#include "daemon/store_internal.h"

#define MAX_STEPS 16
#define MAX_ROUNDS 5000

struct step {
	enum delivery_outcome o;
	const char *code;
	long status;
	double retry_after;
};

struct fake {
	struct provider p;	/* first */
	struct step steps[MAX_STEPS];
	size_t nr, pos;
	int posts, updates, identifies, identify_ok, answers;
	char last_update_mid[64];
	char last_post_channel[64];
	char titles[512];	/* the titles posted, space-separated */
};

static int fake_post(struct provider *p, const char *channel_id,
		     const json_t *body, const char *nonce,
		     struct http_request *req, struct errbuf *err)
{
	struct fake *f = (struct fake *)p;

	f->posts++;
	snprintf(f->last_post_channel, sizeof(f->last_post_channel), "%s",
		 channel_id);
	{
		const char *text = json_string_value(json_object_get(body,
								     "text"));
		size_t len = strlen(f->titles);

		snprintf(f->titles + len, sizeof(f->titles) - len, "%s%s",
			 len ? " " : "", text ? text : "?");
	}
	assert_non_null(nonce);
	http_request_init(req, "POST", "http://127.0.0.1:1/post");
	return 0;
}

static int fake_update(struct provider *p, const char *channel_id,
		       const char *message_id, const json_t *body,
		       struct http_request *req, struct errbuf *err)
{
	struct fake *f = (struct fake *)p;

	f->updates++;
	snprintf(f->last_update_mid, sizeof(f->last_update_mid), "%s",
		 message_id);
	http_request_init(req, "POST", "http://127.0.0.1:1/update");
	return 0;
}

static void fake_parse(struct provider *p, const struct http_response *resp,
		       const char *dest_raw, struct delivery_result *out)
{
	struct fake *f = (struct fake *)p;
	struct step s = { DELIVERY_OK, NULL, 200, 0 };

	if (f->pos < f->nr)
		s = f->steps[f->pos++];
	f->answers++;
	delivery_result_set(out, s.o, s.code ? s.code : "", "scripted %s",
			    s.code ? s.code : "ok");
	out->http_status = s.status;
	out->retry_after_s = s.retry_after;
	if (s.o == DELIVERY_OK) {
		snprintf(out->channel_id, sizeof(out->channel_id), "C1");
		snprintf(out->message_id, sizeof(out->message_id), "m%d",
			 f->answers);
	}
}

static int fake_resolve(struct provider *p, struct http_client *c,
			const struct destination *d, struct strbuf *channel_id,
			struct delivery_result *out)
{
	if (!strcmp(d->target, "gone")) {
		delivery_result_set(out, DELIVERY_PERMANENT, "channel_not_found",
				    "no such channel");
		return HERALD_EPERM;
	}
	strbuf_addstr(channel_id, d->target);
	return 0;
}

static int fake_identify(struct provider *p, struct http_client *c,
			 struct strbuf *who, struct delivery_result *out)
{
	struct fake *f = (struct fake *)p;

	f->identifies++;
	if (f->identify_ok) {
		strbuf_addstr(who, "herald in Test");
		return 0;
	}
	delivery_result_set(out, DELIVERY_AUTH, "invalid_auth", "bad token");
	return HERALD_EAUTH;
}

static const struct provider_ops fake_ops = {
	.kind = PROVIDER_SLACK,
	.name = "slack",
	.post_request = fake_post,
	.update_request = fake_update,
	.parse_response = fake_parse,
	.resolve = fake_resolve,
	.identify = fake_identify,
};

struct env {
	char dir[256];
	char path[300];
	struct store *st;
	struct config cfg;
	struct fake fake;
	struct engine *e;
	FILE *out;
};

static void env_open(struct env *v, int with_provider)
{
	const char *base = getenv("TMPDIR");
	struct engine_options eo;
	struct errbuf err;

	memset(v, 0, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "%s/herald-engine.XXXXXX",
		 base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(v->dir));
	snprintf(v->path, sizeof(v->path), "%s/h.db", v->dir);
	if (store_open(&v->st, v->path, &err) < 0)
		fail_msg("store_open: %s", err.msg);
	config_init(&v->cfg);
	v->cfg.slack_rate = 100;
	v->cfg.slack_burst = 1000;
	v->cfg.slack_workspace_rate = 0;
	v->cfg.max_attempts = 3;
	v->fake.p.ops = &fake_ops;
	v->fake.p.api_url = (char *)"http://127.0.0.1:1";
	v->out = tmpfile();
	assert_non_null(v->out);
	memset(&eo, 0, sizeof(eo));
	eo.store = v->st;
	eo.provider = with_provider ? &v->fake.p : NULL;
	eo.out = v->out;
	eo.cfg = &v->cfg;
	eo.backoff_base_s = 0.001;
	eo.backoff_cap_s = 0.002;
	eo.probe_base_s = 0.001;
	eo.probe_cap_s = 0.002;
	if (engine_new(&v->e, &eo, &err) < 0)
		fail_msg("engine_new: %s", err.msg);
}

static void env_close(struct env *v)
{
	char wal[320];

	engine_free(v->e);
	store_close(v->st);
	config_release(&v->cfg);
	fclose(v->out);
	unlink(v->path);
	snprintf(wal, sizeof(wal), "%s-wal", v->path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", v->path);
	unlink(wal);
	rmdir(v->dir);
}

static int64_t accept_one(struct env *v, const char *body, const char *dest,
			  const char *corr)
{
	struct store_item item = {
		.type = "message", .app = "api", .env = "prod", .body = body,
		.provider = "slack", .destination = dest,
		.dest_kind = "channel", .reason = "test",
		.correlation_key = corr, .state = STORE_QUEUED,
	};
	struct store_accepted acc;
	struct errbuf err;
	int64_t id;

	if (store_accept(v->st, &item, 1, &acc, &err) < 0)
		fail_msg("store_accept: %s", err.msg);
	id = acc.id;
	store_accepted_release(&acc);
	return id;
}

static int64_t accept_msg(struct env *v, const char *title, const char *dest,
			  const char *corr)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"type\":\"message\",\"title\":\"%s\"}",
		 title);
	return accept_one(v, body, dest, corr);
}

/* Runs the loop until nothing is held or in flight (bounded). */
static void run_idle(struct env *v)
{
	struct engine_stats s;

	for (int i = 0; i < MAX_ROUNDS; i++) {
		engine_run_once(v->e, 5);
		engine_stats(v->e, &s);
		if (!s.pending && !s.in_flight && !s.unwritten)
			return;
	}
	fail_msg("the engine did not become idle");
}

static enum store_state state_of(struct env *v, int64_t id, int *attempts,
				 char *code, size_t code_len)
{
	struct store_record rec;
	struct errbuf err;
	enum store_state s;

	if (store_get(v->st, id, &rec, &err) < 0)
		fail_msg("store_get: %s", err.msg);
	s = rec.state;
	if (attempts)
		*attempts = rec.attempts;
	if (code)
		snprintf(code, code_len, "%s", rec.last_error_code ?
			 rec.last_error_code : "");
	store_record_release(&rec);
	return s;
}

static char *message_of(struct env *v, int64_t id)
{
	struct store_record rec;
	struct errbuf err;
	char *mid;

	if (store_get(v->st, id, &rec, &err) < 0)
		fail_msg("store_get: %s", err.msg);
	mid = rec.message_id ? xstrdup(rec.message_id) : NULL;
	store_record_release(&rec);
	return mid;
}

/* Reads what the log provider wrote: the notification ids, in order. */
static size_t output_ids(struct env *v, int64_t *ids, size_t max)
{
	char line[8192];
	size_t n = 0;

	fflush(v->out);
	rewind(v->out);
	while (fgets(line, sizeof(line), v->out)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		assert_non_null(json_object_get(j, "body"));
		assert_true(json_is_string(json_object_get(j, "destination")));
		if (n < max)
			ids[n] = json_integer_value(json_object_get(j,
						   "notification_id"));
		n++;
		json_decref(j);
	}
	return n;
}

static void test_log_provider_in_order(void **state)
{
	struct env v;
	int64_t ids[8], out[8], a_order[8];
	struct engine_stats s;
	size_t n, pos_a = 0;

	env_open(&v, 0);
	ids[0] = accept_msg(&v, "a1", "#a", NULL);
	ids[1] = accept_msg(&v, "b1", "#b", NULL);
	ids[2] = accept_msg(&v, "a2", "#a", NULL);
	ids[3] = accept_msg(&v, "a3", "#a", NULL);
	engine_enqueue(v.e, ids, 4);
	engine_enqueue(v.e, ids, 4);	/* duplicates are ignored */
	run_idle(&v);
	n = output_ids(&v, out, 8);
	assert_int_equal(n, 4);
	/* Within #a, in accept order. */
	for (size_t i = 0; i < n; i++)
		if (out[i] != ids[1])
			a_order[pos_a++] = out[i];
	assert_int_equal(pos_a, 3);
	assert_true(a_order[0] == ids[0]);
	assert_true(a_order[1] == ids[2]);
	assert_true(a_order[2] == ids[3]);
	for (int i = 0; i < 4; i++)
		assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
				 STORE_DELIVERED);
	engine_stats(v.e, &s);
	assert_int_equal(s.delivered, 4);
	assert_int_equal(s.destinations, 2);
	/* A delivered id handed in again is not delivered twice. */
	engine_enqueue(v.e, ids, 1);
	run_idle(&v);
	assert_int_equal(output_ids(&v, out, 8), 4);
	env_close(&v);
}

/* What the API hands over for notification id: its event, parsed. */
static struct api_queued queued_msg(int64_t id, const char *title,
				    const char *dest)
{
	struct api_queued q = { .id = id, .created_at = store_now() };
	struct event *evs = NULL;
	size_t nr = 0;
	char body[128];

	snprintf(body, sizeof(body), "{\"type\":\"message\",\"title\":\"%s\"}",
		 title);
	assert_int_equal(event_parse_many(body, strlen(body), 1, &evs, &nr,
					  NULL), 0);
	q.ev = xmalloc(sizeof(*q.ev));
	*q.ev = evs[0];
	free(evs);
	q.destination = xstrdup(dest);
	return q;
}

/*
 * Events handed over by the API are delivered as handed (not read back),
 * in id order even when handed out of order, and never ahead of a request
 * already in flight.
 */
static void test_queued_handoff(void **state)
{
	struct api_queued q[4];
	int64_t ids[4];
	struct env v;

	env_open(&v, 1);
	for (int i = 0; i < 4; i++)
		ids[i] = accept_msg(&v, "stored", "#a", NULL);
	/* Two calls before a turn: sorted. */
	q[0] = queued_msg(ids[1], "n1", "#a");
	engine_api_queued(v.e, q, 1);
	q[0] = queued_msg(ids[0], "n0", "#a");
	engine_api_queued(v.e, q, 1);
	run_idle(&v);
	assert_string_equal(v.fake.titles, "n0 n1");

	/* n3 goes first; n2, handed later, comes right after it. */
	q[0] = queued_msg(ids[3], "n3", "#a");
	engine_api_queued(v.e, q, 1);
	engine_run_once(v.e, 0);
	q[0] = queued_msg(ids[2], "n2", "#a");
	engine_api_queued(v.e, q, 1);
	run_idle(&v);
	assert_string_equal(v.fake.titles, "n0 n1 n3 n2");
	for (int i = 0; i < 4; i++)
		assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
				 STORE_DELIVERED);
	assert_int_equal(v.fake.posts, 4);
	env_close(&v);
}

static void test_load_recovers_sending(void **state)
{
	struct env v;
	struct errbuf err;
	size_t recovered = 0, pending = 0;
	int64_t a, b;

	env_open(&v, 0);
	a = accept_msg(&v, "one", "#a", NULL);
	b = accept_msg(&v, "two", "#a", NULL);
	assert_int_equal(store_mark_sending(v.st, a, store_now(), &err), 0);
	assert_int_equal(engine_load(v.e, &recovered, &pending, &err), 0);
	assert_int_equal(recovered, 1);
	assert_int_equal(pending, 2);
	run_idle(&v);
	assert_int_equal(state_of(&v, a, NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(state_of(&v, b, NULL, NULL, 0), STORE_DELIVERED);
	env_close(&v);
}

static void test_unreadable_event_fails(void **state)
{
	struct env v;
	char code[64];
	int64_t id;

	env_open(&v, 0);
	id = accept_one(&v, "{}", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	run_idle(&v);
	assert_int_equal(state_of(&v, id, NULL, code, sizeof(code)),
			 STORE_FAILED);
	assert_string_equal(code, "invalid_event");
	env_close(&v);
}

static void test_drain_starts_nothing(void **state)
{
	struct env v;
	struct engine_stats s;
	int64_t out[4], id;

	env_open(&v, 0);
	engine_drain(v.e);
	id = accept_msg(&v, "late", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	for (int i = 0; i < 5; i++)
		engine_run_once(v.e, 1);
	assert_int_equal(output_ids(&v, out, 4), 0);
	engine_stats(v.e, &s);
	assert_int_equal(s.pending, 1);
	assert_int_equal(state_of(&v, id, NULL, NULL, 0), STORE_QUEUED);
	env_close(&v);
}

static void test_story_is_edited(void **state)
{
	struct env v;
	struct store_story story;
	struct errbuf err;
	int64_t ids[2];
	char *m1, *m2;

	env_open(&v, 1);
	ids[0] = accept_msg(&v, "started", "#deploys", "k1");
	ids[1] = accept_msg(&v, "succeeded", "#deploys", "k1");
	engine_enqueue(v.e, ids, 2);
	run_idle(&v);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.last_post_channel, "deploys");
	m1 = message_of(&v, ids[0]);
	m2 = message_of(&v, ids[1]);
	assert_non_null(m1);
	assert_string_equal(v.fake.last_update_mid, m1);
	assert_string_equal(m1, m2);
	assert_int_equal(store_story_get(v.st, "k1", &story, &err), 0);
	assert_string_equal(story.message_id, m1);
	assert_string_equal(story.channel_id, "C1");
	store_story_release(&story);
	free(m1);
	free(m2);
	env_close(&v);
}

static void test_story_message_gone(void **state)
{
	struct env v;
	struct store_story old = {
		.provider = (char *)"slack", .destination = (char *)"#deploys",
		.channel_id = (char *)"C1", .message_id = (char *)"gone",
	};
	struct store_story story;
	struct errbuf err;
	int64_t id;

	env_open(&v, 1);
	assert_int_equal(store_story_put(v.st, "k2", &old, store_now(), &err),
			 0);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_PERMANENT,
						   "message_not_found", 200, 0 };
	id = accept_msg(&v, "later", "#deploys", "k2");
	engine_enqueue(v.e, &id, 1);
	run_idle(&v);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.last_update_mid, "gone");
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(state_of(&v, id, NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(store_story_get(v.st, "k2", &story, &err), 0);
	assert_string_not_equal(story.message_id, "gone");
	store_story_release(&story);
	env_close(&v);
}

static void test_retries_then_delivered(void **state)
{
	struct env v;
	int attempts = 0;
	int64_t id;

	env_open(&v, 1);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY, "http_500",
						   500, 0 };
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY, "network",
						   0, 0 };
	id = accept_msg(&v, "x", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	run_idle(&v);
	assert_int_equal(state_of(&v, id, &attempts, NULL, 0), STORE_DELIVERED);
	assert_int_equal(attempts, 3);
	env_close(&v);
}

static void test_retries_run_out(void **state)
{
	struct env v;
	struct engine_stats s;
	char code[64];
	int attempts = 0;
	int64_t id;

	env_open(&v, 1);
	for (int i = 0; i < 5; i++)
		v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY,
							   "http_503", 503, 0 };
	id = accept_msg(&v, "x", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	run_idle(&v);
	assert_int_equal(state_of(&v, id, &attempts, code, sizeof(code)),
			 STORE_DEAD);
	assert_int_equal(attempts, 3);	/* HERALD_MAX_ATTEMPTS */
	assert_string_equal(code, "http_503");
	engine_stats(v.e, &s);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.retried, 2);
	env_close(&v);
}

static void test_rate_limit_is_not_an_attempt(void **state)
{
	struct env v;
	struct engine_stats s;
	int attempts = 0;
	int64_t id;

	env_open(&v, 1);
	for (int i = 0; i < 4; i++)
		v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY,
			"ratelimited", 429, 0.001 };
	id = accept_msg(&v, "x", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	run_idle(&v);
	/* Four 429s with HERALD_MAX_ATTEMPTS 3, and still delivered. */
	assert_int_equal(state_of(&v, id, &attempts, NULL, 0), STORE_DELIVERED);
	assert_int_equal(attempts, 1);
	engine_stats(v.e, &s);
	assert_int_equal(s.rate_limited, 4);
	env_close(&v);
}

static void test_permanent_moves_on(void **state)
{
	struct env v;
	char code[64];
	int64_t ids[2];

	env_open(&v, 1);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_PERMANENT,
		"channel_not_found", 200, 0 };
	ids[0] = accept_msg(&v, "x", "#a", NULL);
	ids[1] = accept_msg(&v, "y", "#a", NULL);
	engine_enqueue(v.e, ids, 2);
	run_idle(&v);
	assert_int_equal(state_of(&v, ids[0], NULL, code, sizeof(code)),
			 STORE_FAILED);
	assert_string_equal(code, "channel_not_found");
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(v.fake.posts, 2);
	env_close(&v);
}

static void test_auth_pauses_then_resumes(void **state)
{
	struct env v;
	struct strbuf why = STRBUF_INIT;
	struct engine_stats s;
	int64_t ids[2];
	int i;

	env_open(&v, 1);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_AUTH,
		"invalid_auth", 200, 0 };
	ids[0] = accept_msg(&v, "x", "#a", NULL);
	ids[1] = accept_msg(&v, "y", "#b", NULL);
	engine_enqueue(v.e, ids, 1);
	for (i = 0; i < MAX_ROUNDS && !v.fake.identifies; i++)
		engine_run_once(v.e, 5);
	assert_true(v.fake.identifies >= 1);
	assert_int_equal(engine_api_ready(v.e, &why), 0);
	assert_non_null(strstr(why.buf, "invalid_auth"));
	engine_stats(v.e, &s);
	assert_int_equal(s.paused, 1);
	/* While paused nothing is sent, to any destination. */
	engine_enqueue(v.e, ids + 1, 1);
	for (i = 0; i < 20; i++)
		engine_run_once(v.e, 1);
	assert_int_equal(v.fake.posts, 1);
	assert_int_not_equal(state_of(&v, ids[0], NULL, NULL, 0), STORE_FAILED);
	v.fake.identify_ok = 1;
	run_idle(&v);
	assert_int_equal(state_of(&v, ids[0], NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	strbuf_reset(&why);
	assert_int_equal(engine_api_ready(v.e, &why), 1);
	strbuf_release(&why);
	env_close(&v);
}

static void test_lookup_failure_is_one_destinations(void **state)
{
	struct env v;
	char code[64];
	int64_t ids[3];

	env_open(&v, 1);
	ids[0] = accept_msg(&v, "x", "#gone", NULL);
	ids[1] = accept_msg(&v, "y", "#here", NULL);
	ids[2] = accept_msg(&v, "z", "#gone", NULL);
	engine_enqueue(v.e, ids, 3);
	run_idle(&v);
	assert_int_equal(state_of(&v, ids[0], NULL, code, sizeof(code)),
			 STORE_FAILED);
	assert_string_equal(code, "channel_not_found");
	assert_int_equal(state_of(&v, ids[2], NULL, NULL, 0), STORE_FAILED);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	assert_string_equal(v.fake.last_post_channel, "here");
	assert_int_equal(v.fake.posts, 1);
	env_close(&v);
}

/*
 * More destinations than requests may be in flight at once, several
 * notifications each: every one is delivered, each destination's in the
 * order accepted (the scripted answers number the messages m1, m2, … in
 * the order they come back).
 */
static void test_many_destinations_keep_order(void **state)
{
	enum { DESTS = 150, PER = 3, NR = DESTS * PER };
	struct store_item items[NR];
	struct store_accepted acc[NR];
	char dests[DESTS][16], bodies[NR][64];
	int64_t ids[NR];
	struct engine_stats s;
	struct errbuf err;
	struct env v;

	env_open(&v, 1);
	memset(items, 0, sizeof(items));
	for (int i = 0; i < NR; i++) {
		int d = i % DESTS;

		snprintf(dests[d], sizeof(dests[d]), "#d%d", d);
		snprintf(bodies[i], sizeof(bodies[i]),
			 "{\"type\":\"message\",\"title\":\"n%d\"}", i);
		items[i] = (struct store_item){
			.type = "message", .app = "api", .env = "prod",
			.body = bodies[i], .provider = "slack",
			.destination = dests[d], .dest_kind = "channel",
			.reason = "test", .state = STORE_QUEUED,
		};
	}
	if (store_accept(v.st, items, NR, acc, &err) < 0)
		fail_msg("store_accept: %s", err.msg);
	for (int i = 0; i < NR; i++)
		ids[i] = acc[i].id;
	store_accepted_array_release(acc, NR);
	engine_enqueue(v.e, ids, NR);
	run_idle(&v);
	assert_int_equal(v.fake.posts, NR);
	engine_stats(v.e, &s);
	assert_int_equal(s.delivered, NR);
	assert_int_equal(s.destinations, DESTS);
	for (int d = 0; d < DESTS; d++) {
		long prev = 0;

		for (int r = 0; r < PER; r++) {
			int64_t id = ids[r * DESTS + d];
			char *mid = message_of(&v, id);
			long n;

			assert_int_equal(state_of(&v, id, NULL, NULL, 0),
					 STORE_DELIVERED);
			assert_non_null(mid);
			assert_true(mid[0] == 'm');
			n = strtol(mid + 1, NULL, 10);
			assert_true(n > prev);
			prev = n;
			free(mid);
		}
	}
	env_close(&v);
}

/*
 * A request prepared but not yet sent when the drain begins is not sent:
 * the notification stays queued for the next start.
 */
static void test_drain_stops_prepared_request(void **state)
{
	struct env v;
	struct engine_stats s;
	int64_t id;

	env_open(&v, 1);
	id = accept_msg(&v, "x", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	/* Takes it in and hands it to the preparer; nothing is sent yet. */
	engine_run_once(v.e, 0);
	engine_drain(v.e);
	for (int i = 0; i < MAX_ROUNDS; i++) {
		engine_run_once(v.e, 5);
		engine_stats(v.e, &s);
		if (!s.in_flight)
			break;
	}
	engine_stats(v.e, &s);
	assert_int_equal(s.in_flight, 0);
	assert_int_equal(s.pending, 1);
	assert_int_equal(v.fake.answers, 0);
	assert_int_equal(state_of(&v, id, NULL, NULL, 0), STORE_QUEUED);
	env_close(&v);
}

int main(void)
{
	int devnull;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_provider_in_order),
		cmocka_unit_test(test_queued_handoff),
		cmocka_unit_test(test_load_recovers_sending),
		cmocka_unit_test(test_unreadable_event_fails),
		cmocka_unit_test(test_drain_starts_nothing),
		cmocka_unit_test(test_story_is_edited),
		cmocka_unit_test(test_story_message_gone),
		cmocka_unit_test(test_retries_then_delivered),
		cmocka_unit_test(test_retries_run_out),
		cmocka_unit_test(test_rate_limit_is_not_an_attempt),
		cmocka_unit_test(test_permanent_moves_on),
		cmocka_unit_test(test_auth_pauses_then_resumes),
		cmocka_unit_test(test_lookup_failure_is_one_destinations),
		cmocka_unit_test(test_many_destinations_keep_order),
		cmocka_unit_test(test_drain_stops_prepared_request),
	};

	/* The engine's log lines are not what these tests check. */
	devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0)
		log_set_fd(devnull);
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
