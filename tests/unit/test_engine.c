/*
 * Unit tests for the delivery engine, with a real store (SQLite in a
 * temporary directory) and a scripted provider: the provider's requests go
 * to a closed loopback port, and its parse_response() answers from a
 * script, so every outcome (delivered, retry, 429, permanent, auth, a
 * story's message gone) is exercised without a server. Loops are bounded
 * by iterations, not by time.
 *
 * The story rules (docs/delivery.md#stories) have tests of their own:
 * superseded, unchanged, skipped, the story window, edits the platform
 * refuses or the provider cannot build, and all of it across a restart of
 * the engine on the same store. So do silences: new messages held back,
 * edits let through, nothing replayed when one ends, across a restart.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/api.h"
#include "inputs/event_json.h"
#include "daemon/engine.h"
#include "core/event.h"
#include "core/silence.h"
#include "core/pace.h"
#include "daemon/log.h"
#include "daemon/store_internal.h"

#define MAX_STEPS 64
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
	int update_fail;	/* update_request() fails this many times */
	int update_failed;	/* and has failed this many */
	char last_update_mid[64];
	char last_post_channel[64];
	char first_nonce[26], last_nonce[26];	/* of the posts */
	char titles[512];	/* the titles posted, space-separated */
	char edits[512];	/* the texts edited in, "|"-separated */
};

/* Appends body's "text" to buf, after sep unless buf is empty. */
static void add_text(char *buf, size_t size, const char *sep,
		     const json_t *body)
{
	const char *text = json_string_value(json_object_get(body, "text"));
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? sep : "",
		 text ? text : "?");
}

static int fake_post(struct provider *p, const char *channel_id,
		     const json_t *body, const char *nonce,
		     struct http_request *req, struct errbuf *err)
{
	struct fake *f = (struct fake *)p;

	f->posts++;
	snprintf(f->last_post_channel, sizeof(f->last_post_channel), "%s",
		 channel_id);
	add_text(f->titles, sizeof(f->titles), " ", body);
	assert_non_null(nonce);
	assert_true(strlen(nonce) <= 25);
	if (!f->first_nonce[0])
		snprintf(f->first_nonce, sizeof(f->first_nonce), "%s", nonce);
	snprintf(f->last_nonce, sizeof(f->last_nonce), "%s", nonce);
	http_request_init(req, "POST", "http://127.0.0.1:1/post");
	return 0;
}

static int fake_update(struct provider *p, const char *channel_id,
		       const char *message_id, const json_t *body,
		       struct http_request *req, struct errbuf *err)
{
	struct fake *f = (struct fake *)p;

	if (f->update_fail > 0) {
		f->update_fail--;
		f->update_failed++;
		return errbuf_set(err, HERALD_EINVAL, "edit message: \"%s\" "
				  "is not a message ID", message_id);
	}
	f->updates++;
	snprintf(f->last_update_mid, sizeof(f->last_update_mid), "%s",
		 message_id);
	add_text(f->edits, sizeof(f->edits), "|", body);
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

/* Starts v's engine on v's store, with v's configuration. */
static void env_engine(struct env *v, int with_provider)
{
	struct engine_options eo;
	struct errbuf err;

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

static void env_open(struct env *v, int with_provider)
{
	const char *base = getenv("TMPDIR");
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
	env_engine(v, with_provider);
}

/*
 * Stops the engine and starts a new one on the same store, as a restart
 * of herald does (with story_window_s as HERALD_STORY_WINDOW when > 0).
 */
static void env_restart(struct env *v, long story_window_s)
{
	struct errbuf err;

	engine_free(v->e);
	v->e = NULL;
	if (story_window_s > 0)
		v->cfg.story_window_s = story_window_s;
	env_engine(v, 1);
	if (engine_load(v->e, NULL, NULL, &err) < 0)
		fail_msg("engine_load: %s", err.msg);
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

/*
 * A state write that fails (a full disk) is not taken as done: the writer
 * tries it again, and the destination posts nothing more until it is
 * committed, so a restart afterwards posts nothing twice.
 */
static void test_state_write_failure_holds(void **state)
{
	struct env v;
	int64_t ids[3];
	struct errbuf err;

	env_open(&v, 1);
	ids[0] = accept_msg(&v, "a1", "#a", NULL);
	ids[1] = accept_msg(&v, "a2", "#a", NULL);
	ids[2] = accept_msg(&v, "a3", "#a", NULL);
	store_test_fail_commits(v.st, 3);
	engine_enqueue(v.e, ids, 3);
	/* The writer waits 0.1, 0.2, then 0.4 s after the failures: within
	   that, #a has posted its first notification only. */
	for (int i = 0; i < 8; i++)
		engine_run_once(v.e, 5);
	assert_in_range(v.fake.posts, 0, 1);
	assert_int_not_equal(store_ping(v.st, &err), 0);
	assert_non_null(strstr(err.msg, "cannot commit"));
	run_idle(&v);
	assert_int_equal(v.fake.posts, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
				 STORE_DELIVERED);
	assert_int_equal(store_ping(v.st, &err), 0);
	env_restart(&v, 0);
	run_idle(&v);
	assert_int_equal(v.fake.posts, 3);
	env_close(&v);
}

/*
 * A stop while state writes keep failing does not wait for the disk: the
 * writer gives its batch up, and that notification goes out again after
 * the restart (what docs/storage.md says of this case).
 */
static void test_state_write_failure_at_stop(void **state)
{
	struct env v;
	int64_t id;

	env_open(&v, 1);
	id = accept_msg(&v, "a1", "#a", NULL);
	store_test_fail_commits(v.st, 1000000);
	engine_enqueue(v.e, &id, 1);
	for (int i = 0; i < MAX_ROUNDS && !v.fake.answers; i++)
		engine_run_once(v.e, 5);
	assert_int_equal(v.fake.answers, 1);
	engine_free(v.e);	/* returns although no write succeeds */
	v.e = NULL;
	assert_int_not_equal(state_of(&v, id, NULL, NULL, 0), STORE_DELIVERED);
	store_test_fail_commits(v.st, 0);
	env_restart(&v, 0);
	run_idle(&v);
	assert_int_equal(v.fake.answers, 2);
	assert_int_equal(state_of(&v, id, NULL, NULL, 0), STORE_DELIVERED);
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

/* HERALD_MAX_ATTEMPTS, when set (3 here), still ends the retries. */
static void test_retries_run_out(void **state)
{
	struct env v;
	struct engine_stats s;
	char code[64];
	int attempts = 0;
	int64_t id;

	env_open(&v, 1);
	assert_int_equal(v.cfg.max_attempts, 3);
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

/* Restarts v's engine with the default HERALD_MAX_ATTEMPTS (unset). */
static void env_default_attempts(struct env *v)
{
	struct config def;

	config_init(&def);
	v->cfg.max_attempts = def.max_attempts;
	config_release(&def);
	env_restart(v, 0);
}

/*
 * With the default configuration, attempts do not end the retries of a
 * temporary failure: 40 of them within HERALD_MAX_AGE, then delivered.
 */
static void test_retries_outlast_attempts(void **state)
{
	struct env v;
	struct engine_stats s;
	int attempts = 0;
	int64_t id;

	env_open(&v, 1);
	env_default_attempts(&v);
	for (int i = 0; i < 40; i++)
		v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY,
			i % 2 ? "http_503" : "network", i % 2 ? 503 : 0, 0 };
	id = accept_msg(&v, "x", "#a", NULL);
	engine_enqueue(v.e, &id, 1);
	run_idle(&v);
	assert_int_equal(state_of(&v, id, &attempts, NULL, 0), STORE_DELIVERED);
	assert_int_equal(attempts, 41);
	assert_int_equal(v.fake.posts, 41);
	engine_stats(v.e, &s);
	assert_int_equal(s.retried, 40);
	assert_int_equal(s.failed, 0);
	env_close(&v);
}

/*
 * A temporary failure of a notification older than HERALD_MAX_AGE ends
 * it dead, whatever its attempts: here at its first.
 */
static void test_retries_end_at_max_age(void **state)
{
	struct api_queued q;
	struct store_record rec;
	struct errbuf err;
	struct env v;
	int64_t id;

	env_open(&v, 1);
	env_default_attempts(&v);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY, "http_503",
						   503, 0 };
	id = accept_msg(&v, "old", "#a", NULL);
	q = queued_msg(id, "old", "#a");
	q.created_at = store_now() - (double)v.cfg.max_age_s - 60;
	engine_api_queued(v.e, &q, 1);
	run_idle(&v);
	assert_int_equal(store_get(v.st, id, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_DEAD);
	assert_int_equal(rec.attempts, 1);
	assert_string_equal(rec.last_error_code, "http_503");
	assert_non_null(strstr(rec.last_error, "HERALD_MAX_AGE"));
	store_record_release(&rec);
	assert_int_equal(v.fake.posts, 1);
	env_close(&v);
}

/*
 * Discord nonces differ between two databases for the same notification
 * ID, and stay the same for a notification's retries.
 */
static void test_nonce_per_database(void **state)
{
	struct env a, b;
	int64_t id_a, id_b;

	env_open(&a, 1);
	env_open(&b, 1);
	a.fake.steps[a.fake.nr++] = (struct step){ DELIVERY_RETRY, "http_500",
						   500, 0 };
	id_a = accept_msg(&a, "x", "#a", NULL);
	id_b = accept_msg(&b, "x", "#a", NULL);
	assert_true(id_a == 1 && id_b == 1);
	engine_enqueue(a.e, &id_a, 1);
	engine_enqueue(b.e, &id_b, 1);
	run_idle(&a);
	run_idle(&b);
	assert_int_equal(a.fake.posts, 2);
	assert_int_equal(b.fake.posts, 1);
	assert_string_equal(a.fake.first_nonce, a.fake.last_nonce);
	assert_true(a.fake.last_nonce[0] && b.fake.last_nonce[0]);
	assert_string_not_equal(a.fake.last_nonce, b.fake.last_nonce);
	env_close(&a);
	env_close(&b);
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

/* ---- the story rules ---- */

#define STARTED ":rocket: Rolling out api abc1234 to prod"
#define SUCCEEDED ":white_check_mark: api abc1234 is live on prod"
#define FAILED ":x: Rollout of api abc1234 to prod failed"

/* A day ago: the events' times are in the past, as webhooks' are. */
static time_t day_ago(void)
{
	return time(NULL) - 86400;
}

/*
 * The JSON of a deploy of api abc1234 to prod in status, at time at (0: no
 * timestamp), with extra JSON members (may be ""). Caller frees.
 */
static char *deploy_json(const char *status, time_t at, const char *extra)
{
	char when[64] = "", body[512];

	if (at) {
		struct tm tm;

		gmtime_r(&at, &tm);
		strftime(when, sizeof(when), ",\"timestamp\":\"%Y-%m-%dT%H:%M:%SZ\"",
			 &tm);
	}
	snprintf(body, sizeof(body), "{\"type\":\"deploy\",\"status\":\"%s\","
		 "\"app\":\"api\",\"env\":\"prod\",\"sha\":\"abc1234\"%s%s}",
		 status, when, extra);
	return xstrdup(body);
}

/* Accepts that deploy for story corr (NULL: none), to #deploys. */
static int64_t accept_deploy(struct env *v, const char *status, time_t at,
			     const char *extra, const char *corr)
{
	char *body = deploy_json(status, at, extra);
	int64_t id = accept_one(v, body, "#deploys", corr);

	free(body);
	return id;
}

/* Hands ids to the engine and runs it until it is idle. */
static void deliver(struct env *v, int64_t *ids, size_t nr)
{
	engine_enqueue(v->e, ids, nr);
	run_idle(v);
}

/* id settled without a request, in state want, which its code repeats. */
static void assert_quiet(struct env *v, int64_t id, enum store_state want)
{
	char code[64];

	assert_int_equal(state_of(v, id, NULL, code, sizeof(code)), want);
	assert_string_equal(code, store_state_name(want));
}

/* The message the stories table names for key (caller frees). */
static char *story_message(struct env *v, const char *key)
{
	struct store_story story;
	struct errbuf err;
	char *mid;

	if (store_story_get(v->st, key, &story, &err) < 0)
		fail_msg("store_story_get %s: %s", key, err.msg);
	assert_non_null(story.message_id);
	mid = xstrdup(story.message_id);
	store_story_release(&story);
	return mid;
}

/* Asserts that id was delivered as, or into, the message key names. */
static void assert_story_follows(struct env *v, const char *key, int64_t id)
{
	char *mid = message_of(v, id), *smid = story_message(v, key);

	assert_non_null(mid);
	assert_string_equal(smid, mid);
	free(mid);
	free(smid);
}

/*
 * A story for key whose message "old" in C1 was last written at
 * written_at and shows an event of time event_at and rank rank.
 */
static void put_story(struct env *v, const char *key, const char *old,
		      double written_at, double event_at, int rank)
{
	struct store_story s = {
		.provider = (char *)"slack", .destination = (char *)"#deploys",
		.channel_id = (char *)"C1", .message_id = (char *)old,
		.event_at = event_at, .rank = rank,
	};
	struct errbuf err;

	if (store_story_put(v->st, key, &s, written_at, &err) < 0)
		fail_msg("store_story_put: %s", err.msg);
}

/*
 * Never backwards: an event older than what its story's message shows (by
 * time, then by status rank at the same time) is superseded, and its
 * message keeps showing the newest.
 */
static void test_story_superseded(void **state)
{
	struct env v;
	struct store_story story;
	struct errbuf err;
	time_t t = day_ago();
	int64_t ids[8];

	env_open(&v, 1);
	ids[0] = accept_deploy(&v, "started", t, "", "k");
	ids[1] = accept_deploy(&v, "succeeded", t + 60, "", "k");
	ids[2] = accept_deploy(&v, "started", t + 30, "", "k");
	ids[3] = accept_deploy(&v, "started", t + 60, "", "k");
	ids[4] = accept_deploy(&v, "failed", t + 59, "", "k");
	deliver(&v, ids, 5);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.titles, STARTED);
	assert_string_equal(v.fake.edits, SUCCEEDED);
	assert_int_equal(state_of(&v, ids[0], NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	for (int i = 2; i < 5; i++)
		assert_quiet(&v, ids[i], STORE_SUPERSEDED);
	assert_int_equal(store_story_get(v.st, "k", &story, &err), 0);
	assert_int_equal(story.rank, 3);
	assert_true(story.event_at == (double)(t + 60));
	assert_non_null(story.body_hash);
	store_story_release(&story);

	/* The same time goes forward by rank; a later time whatever it is. */
	ids[5] = accept_deploy(&v, "started", t, "", "k2");
	ids[6] = accept_deploy(&v, "succeeded", t, "", "k2");
	ids[7] = accept_deploy(&v, "started", t + 1, "", "k2");
	deliver(&v, ids + 5, 3);
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(v.fake.updates, 3);
	assert_string_equal(v.fake.edits, SUCCEEDED "|" SUCCEEDED "|" STARTED);
	for (int i = 5; i < 8; i++)
		assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
				 STORE_DELIVERED);
	env_close(&v);
}

/* An event that would not change its story's message is unchanged. */
static void test_story_unchanged(void **state)
{
	struct env v;
	time_t t = day_ago();
	int64_t ids[7];

	env_open(&v, 1);
	ids[0] = accept_deploy(&v, "started", t, ",\"id\":\"e1\"", "k");
	ids[1] = accept_deploy(&v, "started", t, ",\"id\":\"e2\"", "k");
	ids[2] = accept_deploy(&v, "succeeded", t + 60, ",\"id\":\"e3\"", "k");
	ids[3] = accept_deploy(&v, "succeeded", t + 60, ",\"id\":\"e4\"", "k");
	/* Without a time: the time it was accepted, later each time. */
	ids[4] = accept_msg(&v, "hello", "#deploys", "m");
	ids[5] = accept_msg(&v, "hello", "#deploys", "m");
	ids[6] = accept_msg(&v, "bye", "#deploys", "m");
	deliver(&v, ids, 7);
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(v.fake.updates, 2);
	assert_string_equal(v.fake.titles, STARTED " hello");
	assert_string_equal(v.fake.edits, SUCCEEDED "|bye");
	assert_quiet(&v, ids[1], STORE_UNCHANGED);
	assert_quiet(&v, ids[3], STORE_UNCHANGED);
	assert_quiet(&v, ids[5], STORE_UNCHANGED);
	assert_int_equal(state_of(&v, ids[6], NULL, NULL, 0), STORE_DELIVERED);
	env_close(&v);
}

/* An edit-only event edits an open message, and never posts one. */
static void test_story_edit_only(void **state)
{
	struct env v;
	time_t t = day_ago();
	int64_t ids[4];
	char *m0, *m3;

	env_open(&v, 1);
	ids[0] = accept_deploy(&v, "succeeded", t, ",\"edit_only\":true",
			       "nothing-yet");
	ids[1] = accept_deploy(&v, "succeeded", t, ",\"edit_only\":true", NULL);
	deliver(&v, ids, 2);
	assert_quiet(&v, ids[0], STORE_SKIPPED);
	assert_quiet(&v, ids[1], STORE_SKIPPED);
	assert_int_equal(v.fake.posts + v.fake.updates + v.fake.answers, 0);

	ids[2] = accept_deploy(&v, "started", t, "", "k");
	ids[3] = accept_deploy(&v, "succeeded", t + 60, ",\"edit_only\":true",
			       "k");
	deliver(&v, ids + 2, 2);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.edits, SUCCEEDED);
	assert_int_equal(state_of(&v, ids[3], NULL, NULL, 0), STORE_DELIVERED);
	m0 = message_of(&v, ids[2]);
	m3 = message_of(&v, ids[3]);
	assert_string_equal(m0, m3);
	free(m0);
	free(m3);
	env_close(&v);
}

/*
 * HERALD_STORY_WINDOW after its message was last written, a story is
 * closed: an edit-only event is skipped, another posts a new message,
 * and the story follows that one (the default window, 24 h, with a
 * message written two days ago).
 */
static void test_story_window_closed(void **state)
{
	struct env v;
	time_t t = day_ago();
	int64_t ids[3];
	char *mid;

	env_open(&v, 1);
	put_story(&v, "k", "old", store_now() - 2 * 86400, (double)t, 1);
	ids[0] = accept_deploy(&v, "succeeded", t + 60, ",\"edit_only\":true",
			       "k");
	deliver(&v, ids, 1);
	assert_quiet(&v, ids[0], STORE_SKIPPED);
	assert_int_equal(v.fake.posts + v.fake.updates, 0);

	ids[1] = accept_deploy(&v, "succeeded", t + 60, "", "k");
	ids[2] = accept_deploy(&v, "failed", t + 120, ",\"edit_only\":true",
			       "k");
	deliver(&v, ids + 1, 2);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.titles, SUCCEEDED);
	assert_string_equal(v.fake.edits, FAILED);
	mid = message_of(&v, ids[1]);
	assert_string_not_equal(mid, "old");
	assert_string_equal(v.fake.last_update_mid, mid);
	assert_story_follows(&v, "k", ids[2]);
	free(mid);
	env_close(&v);
}

/*
 * Never backwards holds after the window too: a late event older than
 * what the closed story's message shows posts nothing.
 */
static void test_story_window_closed_still_never_backwards(void **state)
{
	struct env v;
	time_t t = day_ago();
	int64_t ids[2];

	env_open(&v, 1);
	put_story(&v, "k", "old", store_now() - 2 * 86400, (double)(t + 60),
		  3);
	ids[0] = accept_deploy(&v, "started", t, "", "k");
	deliver(&v, ids, 1);
	assert_quiet(&v, ids[0], STORE_SUPERSEDED);
	assert_int_equal(v.fake.posts + v.fake.updates, 0);

	ids[1] = accept_deploy(&v, "failed", t + 120, "", "k");
	deliver(&v, ids + 1, 1);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 0);
	assert_story_follows(&v, "k", ids[1]);
	env_close(&v);
}

/* A short HERALD_STORY_WINDOW runs out while the engine runs. */
static void test_story_window_runs_out(void **state)
{
	struct timespec wait = { 1, 300 * 1000 * 1000 };
	struct env v;
	int64_t ids[3];
	char *m0, *m1;

	env_open(&v, 1);
	env_restart(&v, 1);
	ids[0] = accept_msg(&v, "one", "#deploys", "k");
	deliver(&v, ids, 1);
	nanosleep(&wait, NULL);
	ids[1] = accept_msg(&v, "two", "#deploys", "k");
	ids[2] = accept_msg(&v, "three", "#deploys", "k");
	deliver(&v, ids + 1, 2);
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.titles, "one two");
	assert_string_equal(v.fake.edits, "three");
	m0 = message_of(&v, ids[0]);
	m1 = message_of(&v, ids[1]);
	assert_string_not_equal(m0, m1);
	assert_string_equal(v.fake.last_update_mid, m1);
	assert_story_follows(&v, "k", ids[2]);
	free(m0);
	free(m1);
	env_close(&v);
}

/*
 * Every code by which a platform refuses an edit (the message or its
 * channel is gone, or it cannot be edited any more) posts a new message,
 * not counted as an attempt, and the story follows it; another code fails
 * the notification and leaves the story alone.
 */
static void test_story_edit_refused(void **state)
{
	static const char *const codes[] = {
		"message_not_found", "cant_update_message",
		"edit_window_closed", "is_archived", "channel_not_found",
		"10003", "10008", "30046", "50005", "50083",
	};
	enum { NR = sizeof(codes) / sizeof(codes[0]) };
	struct env v;
	char key[16], old[16], code[64];
	int attempts;
	int64_t id;
	char *mid;

	env_open(&v, 1);
	for (int i = 0; i < NR; i++) {
		int posts = v.fake.posts, updates = v.fake.updates;

		snprintf(key, sizeof(key), "r%d", i);
		snprintf(old, sizeof(old), "old%d", i);
		put_story(&v, key, old, store_now(), 0, 0);
		v.fake.steps[v.fake.nr++] = (struct step){
			DELIVERY_PERMANENT, codes[i], 200, 0 };
		id = accept_msg(&v, codes[i], "#deploys", key);
		deliver(&v, &id, 1);
		assert_int_equal(v.fake.updates, updates + 1);
		assert_string_equal(v.fake.last_update_mid, old);
		if (v.fake.posts != posts + 1)
			fail_msg("%s: %d posts, expected %d", codes[i],
				 v.fake.posts - posts, 1);
		assert_int_equal(state_of(&v, id, &attempts, NULL, 0),
				 STORE_DELIVERED);
		assert_int_equal(attempts, 1);
		mid = message_of(&v, id);
		assert_string_not_equal(mid, old);
		assert_story_follows(&v, key, id);

		/* The next event edits the new message. */
		id = accept_msg(&v, "next", "#deploys", key);
		deliver(&v, &id, 1);
		assert_int_equal(v.fake.posts, posts + 1);
		assert_int_equal(v.fake.updates, updates + 2);
		assert_string_equal(v.fake.last_update_mid, mid);
		free(mid);
	}

	/* A refusal of an edit-only event's edit: nothing is posted. */
	put_story(&v, "eo", "old-eo", store_now(), 0, 0);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_PERMANENT,
						   "message_not_found", 200, 0 };
	id = accept_one(&v, "{\"type\":\"message\",\"title\":\"eo\","
			"\"edit_only\":true}", "#deploys", "eo");
	deliver(&v, &id, 1);
	assert_quiet(&v, id, STORE_SKIPPED);
	assert_int_equal(v.fake.posts, NR);

	/* Not a refusal: the edit fails and the story stays. */
	put_story(&v, "p", "old-p", store_now(), 0, 0);
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_PERMANENT,
						   "msg_too_long", 200, 0 };
	id = accept_msg(&v, "too long", "#deploys", "p");
	deliver(&v, &id, 1);
	assert_int_equal(state_of(&v, id, NULL, code, sizeof(code)),
			 STORE_FAILED);
	assert_string_equal(code, "msg_too_long");
	assert_int_equal(v.fake.posts, NR);
	mid = story_message(&v, "p");
	assert_string_equal(mid, "old-p");
	free(mid);
	env_close(&v);
}

/*
 * When the provider cannot build an edit from the story's stored IDs, a
 * new message is posted (and the story follows it); an edit-only event
 * is skipped instead.
 */
static void test_story_edit_unbuildable(void **state)
{
	struct env v;
	int64_t ids[4];
	char *m0, *m1;

	env_open(&v, 1);
	ids[0] = accept_msg(&v, "one", "#deploys", "k");
	deliver(&v, ids, 1);
	v.fake.update_fail = 1;
	ids[1] = accept_msg(&v, "two", "#deploys", "k");
	ids[2] = accept_msg(&v, "three", "#deploys", "k");
	deliver(&v, ids + 1, 2);
	assert_int_equal(v.fake.update_failed, 1);
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(v.fake.updates, 1);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	m0 = message_of(&v, ids[0]);
	m1 = message_of(&v, ids[1]);
	assert_string_not_equal(m0, m1);
	assert_string_equal(v.fake.last_update_mid, m1);
	assert_story_follows(&v, "k", ids[2]);

	v.fake.update_fail = 1;
	ids[3] = accept_one(&v, "{\"type\":\"message\",\"title\":\"four\","
			    "\"edit_only\":true}", "#deploys", "k");
	deliver(&v, ids + 3, 1);
	assert_int_equal(v.fake.update_failed, 2);
	assert_quiet(&v, ids[3], STORE_SKIPPED);
	assert_int_equal(v.fake.posts, 2);
	assert_story_follows(&v, "k", ids[2]);
	free(m0);
	free(m1);
	env_close(&v);
}

/*
 * What a story's message shows is in the store: after a restart, a late
 * event is still superseded, a repeat still unchanged, and a newer
 * edit-only event still edits the first message.
 */
static void test_story_marks_survive_restart(void **state)
{
	struct env v;
	time_t t = day_ago();
	int64_t ids[5];

	env_open(&v, 1);
	ids[0] = accept_deploy(&v, "started", t, "", "k");
	ids[1] = accept_deploy(&v, "succeeded", t + 60, "", "k");
	deliver(&v, ids, 2);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);

	env_restart(&v, 0);
	ids[2] = accept_deploy(&v, "started", t + 30, "", "k");
	ids[3] = accept_deploy(&v, "succeeded", t + 60, ",\"id\":\"again\"",
			       "k");
	ids[4] = accept_deploy(&v, "failed", t + 120, ",\"edit_only\":true",
			       "k");
	deliver(&v, ids + 2, 3);
	assert_quiet(&v, ids[2], STORE_SUPERSEDED);
	assert_quiet(&v, ids[3], STORE_UNCHANGED);
	assert_int_equal(state_of(&v, ids[4], NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 2);
	assert_string_equal(v.fake.edits, SUCCEEDED "|" FAILED);
	assert_story_follows(&v, "k", ids[0]);
	assert_story_follows(&v, "k", ids[4]);
	env_close(&v);
}

/*
 * A notification the story rules settle makes no request, and takes no
 * pacing token: with a bucket of two tokens that does not refill, a post,
 * six repeats and an edit all go.
 */
static void test_story_rules_take_no_token(void **state)
{
	struct env v;
	int64_t ids[8];

	env_open(&v, 1);
	v.cfg.slack_rate = 0.0001;
	v.cfg.slack_burst = 2;
	env_restart(&v, 0);
	ids[0] = accept_msg(&v, "one", "#deploys", "k");
	for (int i = 1; i < 7; i++)
		ids[i] = accept_msg(&v, "one", "#deploys", "k");
	ids[7] = accept_msg(&v, "two", "#deploys", "k");
	deliver(&v, ids, 8);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	for (int i = 1; i < 7; i++)
		assert_quiet(&v, ids[i], STORE_UNCHANGED);
	assert_int_equal(state_of(&v, ids[7], NULL, NULL, 0), STORE_DELIVERED);
	env_close(&v);
}

/* What the API hands over for notification id of story corr. */
static struct api_queued queued_event(int64_t id, const char *body,
				      const char *corr)
{
	struct api_queued q = { .id = id, .created_at = store_now() };
	struct event *evs = NULL;
	size_t nr = 0;

	assert_int_equal(event_parse_many(body, strlen(body), 1, &evs, &nr,
					  NULL), 0);
	q.ev = xmalloc(sizeof(*q.ev));
	*q.ev = evs[0];
	free(evs);
	q.destination = xstrdup("#deploys");
	q.correlation_key = xstrdup(corr);
	return q;
}

/*
 * An event without a time is as old as when it was accepted, whether the
 * engine has it from the API, from its cache or from the store (a retry
 * reads it back).
 */
static void test_story_time_when_accepted(void **state)
{
	struct api_queued q;
	struct env v;
	time_t t = day_ago();
	int64_t ids[6];
	char *body;

	env_open(&v, 1);
	/* Timed a day ago, then handed over untimed: it is newer. */
	ids[0] = accept_deploy(&v, "started", t, "", "k");
	deliver(&v, ids, 1);
	body = deploy_json("succeeded", 0, "");
	ids[1] = accept_one(&v, body, "#deploys", "k");
	q = queued_event(ids[1], body, "k");
	free(body);
	engine_api_queued(v.e, &q, 1);
	run_idle(&v);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	assert_string_equal(v.fake.edits, SUCCEEDED);

	/* Sent untimed (after a retry), then a timed event a day old. */
	v.fake.steps[v.fake.nr++] = (struct step){ DELIVERY_RETRY, "http_500",
						   500, 0 };
	ids[2] = accept_msg(&v, "now", "#deploys", "k2");
	deliver(&v, ids + 2, 1);
	ids[3] = accept_deploy(&v, "succeeded", t, "", "k2");
	deliver(&v, ids + 3, 1);
	assert_quiet(&v, ids[3], STORE_SUPERSEDED);

	/* ... and an untimed one handed over after it: newer. */
	body = xstrdup("{\"type\":\"message\",\"title\":\"later\"}");
	ids[4] = accept_one(&v, body, "#deploys", "k2");
	q = queued_event(ids[4], body, "k2");
	free(body);
	engine_api_queued(v.e, &q, 1);
	run_idle(&v);
	assert_int_equal(state_of(&v, ids[4], NULL, NULL, 0), STORE_DELIVERED);

	/* Sent untimed from the cache, then a timed event a day old. */
	ids[5] = accept_msg(&v, "fresh", "#deploys", "k3");
	deliver(&v, ids + 5, 1);
	ids[5] = accept_deploy(&v, "failed", t, "", "k3");
	deliver(&v, ids + 5, 1);
	assert_quiet(&v, ids[5], STORE_SUPERSEDED);
	env_close(&v);
}

/* ---- silences ---- */

/* Stores a silence of matcher for an hour and has the engine apply it. */
static int64_t add_silence(struct env *v, const char *matcher)
{
	struct silence s = SILENCE_INIT;
	struct errbuf err;
	int64_t id;

	assert_int_equal(silence_set_matcher(&s, matcher, &err), 0);
	s.starts_at = s.created_at = store_now();
	s.ends_at = s.starts_at + 3600;
	s.comment = xstrdup("maintenance");
	if (store_silence_add(v->st, &s, &err) < 0)
		fail_msg("store_silence_add: %s", err.msg);
	id = s.id;
	silence_release(&s);
	if (engine_silences_reload(v->e, &err) < 0)
		fail_msg("engine_silences_reload: %s", err.msg);
	return id;
}

/* id was silenced by silence sid, and its reason says so. */
static void assert_silenced(struct env *v, int64_t id, int64_t sid)
{
	struct store_record rec;
	struct errbuf err;
	char want[64];

	assert_quiet(v, id, STORE_SILENCED);
	if (store_get(v->st, id, &rec, &err) < 0)
		fail_msg("store_get: %s", err.msg);
	assert_int_equal(rec.silence_id, sid);
	snprintf(want, sizeof(want), "silenced by silence %lld (\"maintenance\")",
		 (long long)sid);
	assert_string_equal(rec.last_error, want);
	assert_int_equal(rec.attempts, 0);
	store_record_release(&rec);
}

static int64_t accept_app(struct env *v, const char *app, const char *corr)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"type\":\"deploy\",\"status\":"
		 "\"started\",\"app\":\"%s\",\"env\":\"prod\",\"sha\":"
		 "\"abc1234\"}", app);
	return accept_one(v, body, "#deploys", corr);
}

/*
 * A matching notification is settled as silenced, with its silence, and
 * not posted; others post. Ending the silence replays nothing; later
 * events post again.
 */
static void test_silence_holds_new_messages(void **state)
{
	struct env v;
	struct errbuf err;
	int64_t ids[3], sid;

	env_open(&v, 1);
	sid = add_silence(&v, "app=api");
	ids[0] = accept_app(&v, "api", "k1");
	ids[1] = accept_app(&v, "web", "k2");
	deliver(&v, ids, 2);
	assert_int_equal(v.fake.posts, 1);
	assert_silenced(&v, ids[0], sid);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);

	assert_int_equal(store_silence_end(v.st, sid, store_now(), &err), 0);
	assert_int_equal(engine_silences_reload(v.e, &err), 0);
	ids[2] = accept_app(&v, "api", "k3");
	deliver(&v, &ids[2], 1);
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(state_of(&v, ids[2], NULL, NULL, 0), STORE_DELIVERED);
	assert_silenced(&v, ids[0], sid);
	env_close(&v);
}

/*
 * A story posted before the silence still gets its success edited in
 * during it; a new story is silenced, and so is its success (no message
 * to edit), which posts nothing either.
 */
static void test_silence_lets_edits_through(void **state)
{
	struct env v;
	int64_t ids[4], sid;

	env_open(&v, 1);
	ids[0] = accept_deploy(&v, "started", 0, "", "k1");
	deliver(&v, ids, 1);
	assert_int_equal(v.fake.posts, 1);
	sid = add_silence(&v, "app=api");
	ids[1] = accept_deploy(&v, "succeeded", 0, "", "k1");
	deliver(&v, &ids[1], 1);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_int_equal(state_of(&v, ids[1], NULL, NULL, 0), STORE_DELIVERED);
	assert_story_follows(&v, "k1", ids[1]);

	ids[2] = accept_deploy(&v, "started", 0, "", "k9");
	ids[3] = accept_deploy(&v, "succeeded", 0, "", "k9");
	deliver(&v, &ids[2], 2);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_silenced(&v, ids[2], sid);
	assert_silenced(&v, ids[3], sid);
	env_close(&v);
}

/* The engine reads the silences at start: they hold across a restart. */
static void test_silence_survives_restart(void **state)
{
	struct env v;
	int64_t id, sid;

	env_open(&v, 1);
	sid = add_silence(&v, "env=prod");
	env_restart(&v, 0);
	id = accept_app(&v, "db", "k1");
	deliver(&v, &id, 1);
	assert_int_equal(v.fake.posts, 0);
	assert_silenced(&v, id, sid);
	env_close(&v);
}

/* The log provider prints nothing for a silenced notification. */
static void test_silence_log_provider(void **state)
{
	struct env v;
	int64_t ids[2], out[4], sid;

	env_open(&v, 0);
	sid = add_silence(&v, "type=deploy");
	ids[0] = accept_app(&v, "api", NULL);
	ids[1] = accept_msg(&v, "hello", "#deploys", NULL);
	deliver(&v, ids, 2);
	assert_int_equal(output_ids(&v, out, 4), 1);
	assert_int_equal(out[0], ids[1]);
	assert_silenced(&v, ids[0], sid);
	env_close(&v);
}

/* ---- digests (docs/delivery.md, "Digests") ---- */

/* The decision: more than the threshold, or held back too long. */
static void test_digest_decision(void **state)
{
	struct pace_bucket b;

	assert_false(pace_digest_due(11, 0, 30, 1000));	/* off */
	assert_false(pace_digest_due(1, 10, 30, 1000));	/* one post */
	assert_false(pace_digest_due(10, 10, 30, 0));
	assert_true(pace_digest_due(11, 10, 30, 0));
	assert_false(pace_digest_due(5, 10, 30, 30));
	assert_true(pace_digest_due(5, 10, 30, 30.5));

	/* 0.9/s with 3 tokens: the 30th post waits (30 - 3) / 0.9 s. */
	pace_bucket_init(&b, 0.9, 3, 100);
	assert_true(pace_hold(&b, 100, 3, 0) == 0);
	assert_true(fabs(pace_hold(&b, 100, 30, 0) - 30.0) < 1e-6);
	assert_true(fabs(pace_hold(&b, 100, 30, 5) - 35.0) < 1e-6);
	/* Without a rate (Discord's buckets): only a block still to come. */
	pace_bucket_init(&b, 0, 0, 100);
	assert_true(pace_hold(&b, 100, 500, 2) == 2);
}

static int64_t digest_of(struct env *v, int64_t id)
{
	struct store_record rec;
	struct errbuf err;
	int64_t d;

	if (store_get(v->st, id, &rec, &err) < 0)
		fail_msg("store_get: %s", err.msg);
	d = rec.digest_id;
	store_record_release(&rec);
	return d;
}

/* A storm (25 > 10 waiting) is one digest request for all of them. */
static void test_digest_storm(void **state)
{
	struct env v;
	int64_t ids[25];
	char title[32];
	char *mid;

	env_open(&v, 1);
	for (int i = 0; i < 25; i++) {
		snprintf(title, sizeof(title), "m%02d", i);
		ids[i] = accept_msg(&v, title, "#deploys", NULL);
	}
	deliver(&v, ids, 25);
	assert_int_equal(v.fake.posts, 1);
	assert_non_null(strstr(v.fake.titles, "Digest: 25 notifications"));
	assert_non_null(strstr(v.fake.titles, "m00"));
	assert_non_null(strstr(v.fake.titles, "m24"));
	mid = message_of(&v, ids[0]);
	for (int i = 0; i < 25; i++) {
		char *m = message_of(&v, ids[i]);

		assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
				 STORE_DELIVERED);
		assert_int_equal(digest_of(&v, ids[i]), ids[0]);
		assert_string_equal(m, mid);
		free(m);
	}
	free(mid);
	env_close(&v);
}

/*
 * A silence holds back new lines as it holds back new messages: in a storm
 * the silenced notifications settle as silenced, with their silence, and
 * the digest lists only the others.
 */
static void test_digest_leaves_out_silenced(void **state)
{
	struct env v;
	int64_t ids[24], sid;
	char app[32];

	env_open(&v, 1);
	sid = add_silence(&v, "app=quiet*");
	for (int i = 0; i < 24; i++) {
		snprintf(app, sizeof(app), i % 4 ? "loud%02d" : "quiet%02d", i);
		ids[i] = accept_app(&v, app, NULL);
	}
	deliver(&v, ids, 24);
	assert_int_equal(v.fake.posts, 1);
	assert_non_null(strstr(v.fake.titles, "loud01"));
	assert_null(strstr(v.fake.titles, "quiet"));
	for (int i = 0; i < 24; i++) {
		if (i % 4) {
			assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
					 STORE_DELIVERED);
			assert_int_equal(digest_of(&v, ids[i]), ids[1]);
		} else {
			assert_silenced(&v, ids[i], sid);
			assert_int_equal(digest_of(&v, ids[i]), 0);
		}
	}
	env_close(&v);
}

/*
 * A weekly summary is a message of its own even in a storm: the digest
 * before it stops at it, and it is posted as stored.
 */
static void test_digest_leaves_out_summary(void **state)
{
	struct env v;
	int64_t ids[41];
	char title[32];

	env_open(&v, 1);
	for (int i = 0; i < 41; i++) {
		snprintf(title, sizeof(title), "m%02d", i);
		ids[i] = i == 20 ?
			accept_one(&v, "{\"type\":\"message\",\"id\":"
				   "\"summary-2026-W48\",\"title\":\"Week\","
				   "\"rendered\":{\"slack\":{\"text\":"
				   "\"WEEKLY\"},\"discord\":{\"content\":"
				   "\"WEEKLY\"}}}", "#deploys", NULL) :
			accept_msg(&v, title, "#deploys", NULL);
	}
	deliver(&v, ids, 41);
	assert_non_null(strstr(v.fake.titles, " WEEKLY "));
	assert_int_equal(state_of(&v, ids[20], NULL, NULL, 0), STORE_DELIVERED);
	assert_int_equal(digest_of(&v, ids[20]), 0);
	assert_int_equal(digest_of(&v, ids[0]), ids[0]);
	assert_int_equal(digest_of(&v, ids[19]), ids[0]);
	for (int i = 0; i < 41; i++)
		assert_int_equal(state_of(&v, ids[i], NULL, NULL, 0),
				 STORE_DELIVERED);
	env_close(&v);
}

/* Under the threshold, and not held back: a message each. */
static void test_digest_calm(void **state)
{
	struct env v;
	int64_t ids[10];

	env_open(&v, 1);
	for (int i = 0; i < 10; i++)
		ids[i] = accept_msg(&v, "calm", "#deploys", NULL);
	deliver(&v, ids, 10);
	assert_int_equal(v.fake.posts, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(digest_of(&v, ids[i]), 0);
	env_close(&v);
}

/* HERALD_DIGEST_THRESHOLD=0: never, however long the queue. */
static void test_digest_off(void **state)
{
	struct env v;
	int64_t ids[30];

	env_open(&v, 1);
	v.cfg.digest_threshold = 0;
	env_restart(&v, 0);
	for (int i = 0; i < 30; i++)
		ids[i] = accept_msg(&v, "x", "#deploys", NULL);
	deliver(&v, ids, 30);
	assert_int_equal(v.fake.posts, 30);
	env_close(&v);
}

/*
 * An edit of a message already posted is never folded into a digest: it
 * goes as an edit, in its place in the queue; the posts after it make the
 * digest.
 */
static void test_digest_edits_not_folded(void **state)
{
	struct env v;
	int64_t ids[16], first;

	env_open(&v, 1);
	first = accept_msg(&v, "one", "#deploys", "k");
	deliver(&v, &first, 1);
	assert_int_equal(v.fake.posts, 1);
	ids[0] = accept_msg(&v, "two", "#deploys", "k");
	for (int i = 1; i < 16; i++)
		ids[i] = accept_msg(&v, "new", "#deploys", NULL);
	deliver(&v, ids, 16);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.edits, "two");
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(digest_of(&v, ids[0]), 0);
	for (int i = 1; i < 16; i++)
		assert_int_equal(digest_of(&v, ids[i]), ids[1]);
	env_close(&v);
}

/*
 * Later events of stories that went out in a digest edit the digest's
 * lines, all of them in one edit, while the storm lasts (and in its tail,
 * within HERALD_DIGEST_AFTER of the digest); once it is over, such an event
 * posts a message of its own, which its story follows. All of it across a
 * restart.
 */
static void test_digest_story_edits(void **state)
{
	struct env v;
	int64_t a[12], b[12], c;
	char key[16], title[16];
	char *mid, *m;

	env_open(&v, 1);
	for (int i = 0; i < 12; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(title, sizeof(title), "a%d", i);
		a[i] = accept_msg(&v, title, "#deploys", key);
	}
	deliver(&v, a, 12);
	assert_int_equal(v.fake.posts, 1);
	mid = message_of(&v, a[0]);
	env_restart(&v, 0);
	for (int i = 0; i < 12; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(title, sizeof(title), "b%d", i);
		b[i] = accept_msg(&v, title, "#deploys", key);
	}
	deliver(&v, b, 12);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 1);
	assert_string_equal(v.fake.last_update_mid, mid);
	assert_non_null(strstr(v.fake.edits, "b0"));
	assert_non_null(strstr(v.fake.edits, "b11"));
	assert_null(strstr(v.fake.edits, "a5"));
	for (int i = 0; i < 12; i++) {
		assert_int_equal(digest_of(&v, b[i]), a[0]);
		m = message_of(&v, b[i]);
		assert_string_equal(m, mid);
		free(m);
	}
	/* The storm's tail (within HERALD_DIGEST_AFTER): it edits its line. */
	c = accept_msg(&v, "c3", "#deploys", "k3");
	deliver(&v, &c, 1);
	assert_int_equal(v.fake.posts, 1);
	assert_int_equal(v.fake.updates, 2);
	assert_int_equal(digest_of(&v, c), a[0]);
	/* Calm again: a message of its own, and the story follows it. */
	v.cfg.digest_after_s = 1;
	env_restart(&v, 0);
	usleep(1200 * 1000);
	c = accept_msg(&v, "d3", "#deploys", "k3");
	deliver(&v, &c, 1);
	assert_int_equal(v.fake.posts, 2);
	assert_int_equal(v.fake.updates, 2);
	assert_int_equal(digest_of(&v, c), 0);
	m = story_message(&v, "k3");
	assert_string_not_equal(m, mid);
	free(m);
	free(mid);
	env_close(&v);
}

int main(void)
{
	int devnull;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_provider_in_order),
		cmocka_unit_test(test_state_write_failure_holds),
		cmocka_unit_test(test_state_write_failure_at_stop),
		cmocka_unit_test(test_queued_handoff),
		cmocka_unit_test(test_load_recovers_sending),
		cmocka_unit_test(test_unreadable_event_fails),
		cmocka_unit_test(test_drain_starts_nothing),
		cmocka_unit_test(test_story_is_edited),
		cmocka_unit_test(test_story_message_gone),
		cmocka_unit_test(test_retries_then_delivered),
		cmocka_unit_test(test_retries_run_out),
		cmocka_unit_test(test_rate_limit_is_not_an_attempt),
		cmocka_unit_test(test_retries_outlast_attempts),
		cmocka_unit_test(test_retries_end_at_max_age),
		cmocka_unit_test(test_nonce_per_database),
		cmocka_unit_test(test_permanent_moves_on),
		cmocka_unit_test(test_auth_pauses_then_resumes),
		cmocka_unit_test(test_lookup_failure_is_one_destinations),
		cmocka_unit_test(test_many_destinations_keep_order),
		cmocka_unit_test(test_drain_stops_prepared_request),
		cmocka_unit_test(test_story_superseded),
		cmocka_unit_test(test_story_unchanged),
		cmocka_unit_test(test_story_edit_only),
		cmocka_unit_test(test_story_window_closed),
		cmocka_unit_test(test_story_window_closed_still_never_backwards),
		cmocka_unit_test(test_story_window_runs_out),
		cmocka_unit_test(test_story_edit_refused),
		cmocka_unit_test(test_story_edit_unbuildable),
		cmocka_unit_test(test_story_marks_survive_restart),
		cmocka_unit_test(test_story_time_when_accepted),
		cmocka_unit_test(test_story_rules_take_no_token),
		cmocka_unit_test(test_silence_holds_new_messages),
		cmocka_unit_test(test_silence_lets_edits_through),
		cmocka_unit_test(test_silence_survives_restart),
		cmocka_unit_test(test_silence_log_provider),
		cmocka_unit_test(test_digest_decision),
		cmocka_unit_test(test_digest_storm),
		cmocka_unit_test(test_digest_leaves_out_silenced),
		cmocka_unit_test(test_digest_leaves_out_summary),
		cmocka_unit_test(test_digest_calm),
		cmocka_unit_test(test_digest_off),
		cmocka_unit_test(test_digest_edits_not_folded),
		cmocka_unit_test(test_digest_story_edits),
	};

	/* The engine's log lines are not what these tests check. */
	devnull = getenv("ENGINE_LOG") ? 2 : open("/dev/null", O_WRONLY);
	if (devnull >= 0)
		log_set_fd(devnull);
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
