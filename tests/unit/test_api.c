/*
 * Unit tests for the HTTP API: the handlers called with hand-built
 * requests against a real SQLite store in a temporary directory (wrapped
 * in an ops table that can be told to fail), then the same handlers behind
 * httpd on a loopback socket, spoken to by a raw HTTP/1.1 client; and the
 * table of endpoints against docs/api.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <jansson.h>

#include "loopback.h"
#include "daemon/api.h"
#include "daemon/api_page.h"
#include "core/catalog.h"
#include "core/config.h"
#include "daemon/httpd.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/store_internal.h"
#include "lib/redact.h"

/* ---- a store that can be told to fail ---------------------------------- */

struct wrap {
	struct store base;
	struct store *real;
	int fail_accept;
	int fail_read;
	int fail_ping;
};

static struct store *real_of(struct store *st)
{
	return ((struct wrap *)st)->real;
}

static void w_shutdown(struct store *st)
{
	store_shutdown(real_of(st));
}

static void w_close(struct store *st)
{
	store_close(real_of(st));
	free(st);
}

static int w_accept(struct store *st, const struct store_item *items,
		    size_t nr, struct store_accepted *out, struct errbuf *err)
{
	if (((struct wrap *)st)->fail_accept)
		return errbuf_set(err, HERALD_EIO, "disk I/O error (test)");
	return store_accept(real_of(st), items, nr, out, err);
}

static int w_get(struct store *st, int64_t id, struct store_record *out,
		 struct errbuf *err)
{
	if (((struct wrap *)st)->fail_read)
		return errbuf_set(err, HERALD_EIO, "disk I/O error (test)");
	return store_get(real_of(st), id, out, err);
}

static int w_list(struct store *st, const struct store_filter *f,
		  struct store_record **recs, size_t *nr, struct errbuf *err)
{
	if (((struct wrap *)st)->fail_read)
		return errbuf_set(err, HERALD_EIO, "disk I/O error (test)");
	return store_list(real_of(st), f, recs, nr, err);
}

static int w_load_pending(struct store *st, store_record_fn *fn, void *arg,
			  struct errbuf *err)
{
	return store_load_pending(real_of(st), fn, arg, err);
}

static int w_recover(struct store *st, size_t *nr, struct errbuf *err)
{
	return store_recover(real_of(st), nr, err);
}

static int w_counts(struct store *st, uint64_t counts[STORE_STATE_NR],
		    struct errbuf *err)
{
	return store_counts(real_of(st), counts, err);
}

static int w_requeue(struct store *st, int64_t id, struct errbuf *err)
{
	if (((struct wrap *)st)->fail_read)
		return errbuf_set(err, HERALD_EIO, "disk I/O error (test)");
	return store_requeue(real_of(st), id, err);
}

static int w_ping(struct store *st, struct errbuf *err)
{
	if (((struct wrap *)st)->fail_ping)
		return errbuf_set(err, HERALD_EIO, "the database is locked (test)");
	return store_ping(real_of(st), err);
}

static int w_apply(struct store *st, const struct store_update *ups, size_t nr,
		   struct errbuf *err)
{
	return store_apply(real_of(st), ups, nr, err);
}

static int w_story_get(struct store *st, const char *key,
		       struct store_story *out, struct errbuf *err)
{
	return store_story_get(real_of(st), key, out, err);
}

static int w_resolution_get(struct store *st, const char *provider,
			    const char *destination, double now,
			    char **channel_id, struct errbuf *err)
{
	return store_resolution_get(real_of(st), provider, destination, now,
				    channel_id, err);
}

static int w_resolution_put(struct store *st, const char *provider,
			    const char *destination, const char *channel_id,
			    double expires_at, struct errbuf *err)
{
	return store_resolution_put(real_of(st), provider, destination,
				    channel_id, expires_at, err);
}

static int w_prune(struct store *st, const struct store_prune_params *p,
		   struct store_prune_result *res, struct errbuf *err)
{
	return store_prune(real_of(st), p, res, err);
}

static void w_stats(struct store *st, struct store_stats *out)
{
	store_stats(real_of(st), out);
}

static int w_test_limit_pages(struct store *st, long pages, struct errbuf *err)
{
	return store_test_limit_pages(real_of(st), pages, err);
}

static const char *w_instance_id(struct store *st)
{
	return store_instance_id(real_of(st));
}

static int w_silence_add(struct store *st, struct silence *s,
			 struct errbuf *err)
{
	if (((struct wrap *)st)->fail_accept)
		return errbuf_set(err, HERALD_EIO, "disk full (test)");
	return store_silence_add(real_of(st), s, err);
}

static int w_silence_get(struct store *st, int64_t id, struct silence *out,
			 struct errbuf *err)
{
	if (((struct wrap *)st)->fail_read)
		return errbuf_set(err, HERALD_EIO, "disk gone (test)");
	return store_silence_get(real_of(st), id, out, err);
}

static int w_silence_list(struct store *st, double since,
			  struct silence **out, size_t *nr, struct errbuf *err)
{
	if (((struct wrap *)st)->fail_read)
		return errbuf_set(err, HERALD_EIO, "disk gone (test)");
	return store_silence_list(real_of(st), since, out, nr, err);
}

static int w_silence_end(struct store *st, int64_t id, double at,
			 struct errbuf *err)
{
	return store_silence_end(real_of(st), id, at, err);
}

static const struct store_ops wrap_ops = {
	.name = "wrap",
	.shutdown = w_shutdown,
	.close = w_close,
	.accept = w_accept,
	.get = w_get,
	.list = w_list,
	.load_pending = w_load_pending,
	.recover = w_recover,
	.counts = w_counts,
	.requeue = w_requeue,
	.ping = w_ping,
	.apply = w_apply,
	.story_get = w_story_get,
	.resolution_get = w_resolution_get,
	.resolution_put = w_resolution_put,
	.silence_add = w_silence_add,
	.silence_get = w_silence_get,
	.silence_list = w_silence_list,
	.silence_end = w_silence_end,
	.prune = w_prune,
	.stats = w_stats,
	.instance_id = w_instance_id,
	.test_limit_pages = w_test_limit_pages,
};

/* ---- the fixture -------------------------------------------------------- */

struct fixture {
	char dir[64];
	struct wrap *store;
	struct metrics metrics;
	struct api_routing routing;
	struct api_context ctx;
	pthread_mutex_t wake_lock;
	int64_t woken[64];
	size_t woken_nr;
	int not_ready;
	int log_fd;
	int silences_changed;
};

static void on_wake(void *arg, const int64_t *ids, size_t nr)
{
	struct fixture *f = arg;

	pthread_mutex_lock(&f->wake_lock);
	for (size_t i = 0; i < nr && f->woken_nr < 64; i++)
		f->woken[f->woken_nr++] = ids[i];
	pthread_mutex_unlock(&f->wake_lock);
}

static void on_silences(void *arg)
{
	((struct fixture *)arg)->silences_changed++;
}

static int on_ready(void *arg, struct strbuf *why)
{
	struct fixture *f = arg;

	if (f->not_ready) {
		strbuf_addstr(why, "slack rejected the token: invalid_auth");
		return 0;
	}
	return 1;
}

static const char catalog_yaml[] =
	"services:\n"
	"  - name: api\n"
	"    owner: backend\n"
	"    ownerIm: \"#backend\"\n";

/* A routing snapshot: Slack, a catalog, production mapped, and a default. */
static struct api_snapshot *snapshot(int with_default)
{
	struct config cfg;
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;

	config_init(&cfg);
	cfg.provider = PROVIDER_SLACK;
	if (with_default)
		cfg.default_channel = xstrdup("#deploys");
	assert_int_equal(config_parse_mapping(&cfg, "production=#prod", NULL), 0);
	assert_int_equal(catalog_parse(&cat, catalog_yaml, strlen(catalog_yaml),
				       "catalog.yaml", NULL, &err), 0);
	return api_snapshot_new(&cfg, &cat);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct errbuf err;
	char path[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/herald-test-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/herald.db", f->dir);
	f->store = xcalloc(1, sizeof(*f->store));
	f->store->base.ops = &wrap_ops;
	if (store_open(&f->store->real, path, &err)) {
		print_error("store_open: %s\n", err.msg);
		fail();
	}
	metrics_init(&f->metrics, "test");
	api_routing_init(&f->routing, snapshot(1));
	pthread_mutex_init(&f->wake_lock, NULL);
	api_context_init(&f->ctx);
	f->ctx.store = &f->store->base;
	f->ctx.routing = &f->routing;
	f->ctx.wake = on_wake;
	f->ctx.wake_arg = f;
	f->ctx.ready = on_ready;
	f->ctx.ready_arg = f;
	f->ctx.silences = on_silences;
	f->ctx.silences_arg = f;
	f->ctx.metrics = &f->metrics;
	/* The log goes nowhere: the tests read results, not lines. */
	f->log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	log_set_fd(f->log_fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d;
	struct dirent *e;
	char path[400];

	store_close(&f->store->base);
	api_routing_release(&f->routing);
	metrics_release(&f->metrics);
	pthread_mutex_destroy(&f->wake_lock);
	log_set_fd(2);
	close(f->log_fd);
	d = opendir(f->dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- calling the handler ------------------------------------------------ */

struct answer {
	int status;
	json_t *json;		/* the body, when it is JSON */
	char *text;
	char *allow;
	char *retry_after;
	char *www_auth;
	char *content_type;
};

static void answer_release(struct answer *a)
{
	json_decref(a->json);
	free(a->text);
	free(a->allow);
	free(a->retry_after);
	free(a->www_auth);
	free(a->content_type);
	memset(a, 0, sizeof(*a));
}

/*
 * Calls the API. target may hold a query string; headers is a NULL-ended
 * list of name, value pairs (Content-Type defaults to application/json for
 * a body).
 */
static struct answer call(struct fixture *f, const char *method,
			  const char *target, const char *body, ...)
{
	struct httpd_request req;
	struct httpd_response resp;
	struct httpd_kv headers[8], query[8];
	char *copy = xstrdup(target), *q, *next;
	int has_type = 0;
	struct answer a;
	const char *name;
	va_list ap;

	memset(&req, 0, sizeof(req));
	memset(&a, 0, sizeof(a));
	req.method = method;
	req.path = copy;
	req.headers = headers;
	req.query = query;
	req.remote = "127.0.0.1";
	q = strchr(copy, '?');
	if (q) {
		*q++ = '\0';
		for (; q && *q; q = next) {
			char *eq;

			next = strchr(q, '&');
			if (next)
				*next++ = '\0';
			eq = strchr(q, '=');
			if (eq)
				*eq++ = '\0';
			query[req.query_nr].name = q;
			query[req.query_nr].value = eq ? eq : "";
			req.query_nr++;
		}
	}
	va_start(ap, body);
	while ((name = va_arg(ap, const char *))) {
		headers[req.headers_nr].name = name;
		headers[req.headers_nr].value = va_arg(ap, const char *);
		if (!strcasecmp(name, "Content-Type"))
			has_type = 1;
		req.headers_nr++;
	}
	va_end(ap);
	if (body && !has_type) {
		headers[req.headers_nr].name = "Content-Type";
		headers[req.headers_nr].value = "application/json";
		req.headers_nr++;
	}
	req.body = body ? body : "";
	req.body_len = body ? strlen(body) : 0;

	httpd_response_init(&resp);
	api_handle(&f->ctx, &req, &resp);
	a.status = resp.status;
	a.text = xstrndup(resp.body ? resp.body : "", resp.body_len);
	a.allow = xstrdup(httpd_response_header(&resp, "Allow"));
	a.retry_after = xstrdup(httpd_response_header(&resp, "Retry-After"));
	a.www_auth = xstrdup(httpd_response_header(&resp, "WWW-Authenticate"));
	a.content_type = xstrdup(resp.content_type);
	if (resp.content_type && !strcmp(resp.content_type, "application/json")) {
		a.json = json_loads(a.text, 0, NULL);
		assert_non_null(a.json);
		/* Every error is an object with an "error" sentence. */
		if (a.status >= 400)
			assert_true(json_is_string(json_object_get(a.json, "error")));
	}
	httpd_response_release(&resp);
	free(copy);
	return a;
}

#define POST(f, target, body, ...) call(f, "POST", target, body, ##__VA_ARGS__, NULL)
#define GET(f, target, ...) call(f, "GET", target, NULL, ##__VA_ARGS__, NULL)

static const char *str_at(json_t *j, const char *path0, size_t i,
			  const char *key)
{
	json_t *arr = json_object_get(j, path0);

	return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static json_int_t int_at(json_t *j, const char *path0, size_t i,
			 const char *key)
{
	json_t *arr = json_object_get(j, path0);

	return json_integer_value(json_object_get(json_array_get(arr, i), key));
}

static size_t list_count(struct fixture *f, const char *target)
{
	struct answer a = GET(f, target);
	size_t n;

	assert_int_equal(a.status, 200);
	n = json_array_size(json_object_get(a.json, "notifications"));
	answer_release(&a);
	return n;
}

static double http_count(struct fixture *f, const char *path, const char *code)
{
	return metric_value(f->metrics.http_requests, METRIC_LABELS(path, code));
}

#define DEPLOY(app, env) \
	"{\"type\": \"deploy\", \"status\": \"succeeded\", \"app\": \"" app \
	"\", \"env\": \"" env "\", \"sha\": \"abc1234\"}"

/* ---- the tests ---------------------------------------------------------- */

static void test_probes(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	a = GET(f, "/healthz");
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")),
			    "ok");
	answer_release(&a);

	a = GET(f, "/readyz");
	assert_int_equal(a.status, 200);
	answer_release(&a);

	f->not_ready = 1;
	a = GET(f, "/readyz");
	assert_int_equal(a.status, 503);
	assert_string_equal(json_string_value(json_object_get(a.json, "reason")),
			    "provider: slack rejected the token: invalid_auth");
	answer_release(&a);
	f->not_ready = 0;

	f->store->fail_ping = 1;
	a = GET(f, "/readyz");
	assert_int_equal(a.status, 503);
	assert_non_null(strstr(a.text, "store: the database is locked"));
	answer_release(&a);
	f->store->fail_ping = 0;

	a = GET(f, "/metrics");
	assert_int_equal(a.status, 200);
	assert_string_equal(a.content_type, METRICS_CONTENT_TYPE);
	assert_non_null(strstr(a.text, "herald_build_info{version=\"test\"} 1\n"));
	/* The earlier requests were counted, by route pattern. */
	assert_non_null(strstr(a.text, "herald_http_requests_total{path="
			       "\"/readyz\",code=\"503\"} 2\n"));
	answer_release(&a);

	a = call(f, "HEAD", "/healthz", NULL, NULL);
	assert_int_equal(a.status, 200);
	answer_release(&a);
}

static void test_accept_one(void **state)
{
	struct fixture *f = *state;
	struct answer a, g;
	json_int_t id;
	char target[64];

	a = POST(f, "/api/v1/events", DEPLOY("web", "staging"));
	assert_int_equal(a.status, 202);
	assert_int_equal(json_array_size(json_object_get(a.json, "accepted")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(
		json_object_get(a.json, "accepted"), 0), "event_id")));
	assert_string_equal(str_at(a.json, "accepted", 0, "destination"),
			    "#deploys");
	assert_string_equal(str_at(a.json, "accepted", 0, "kind"), "channel");
	assert_string_equal(str_at(a.json, "accepted", 0, "state"), "queued");
	assert_non_null(strstr(str_at(a.json, "accepted", 0, "reason"),
			       "default channel"));
	id = int_at(a.json, "accepted", 0, "notification_id");
	assert_true(id > 0);
	/* The engine was told. */
	assert_int_equal(f->woken_nr, 1);
	assert_int_equal(f->woken[0], id);
	answer_release(&a);

	/* Catalog and mapping routes. */
	a = POST(f, "/api/v1/events", "[" DEPLOY("api", "staging") ","
		 DEPLOY("web", "production") "]");
	assert_int_equal(a.status, 202);
	assert_string_equal(str_at(a.json, "accepted", 0, "destination"),
			    "#backend");
	assert_string_equal(str_at(a.json, "accepted", 1, "destination"),
			    "#prod");
	answer_release(&a);

	snprintf(target, sizeof(target), "/api/v1/notifications/%lld",
		 (long long)id);
	g = GET(f, target);
	assert_int_equal(g.status, 200);
	assert_int_equal(json_integer_value(json_object_get(g.json, "id")), id);
	assert_string_equal(json_string_value(json_object_get(g.json, "state")),
			    "queued");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(g.json, "event"), "app")), "web");
	answer_release(&g);

	assert_true(metric_value(f->metrics.events_received,
				 METRIC_LABELS("deploy", "api")) == 3);
	assert_true(metric_value(f->metrics.notifications,
				 METRIC_LABELS("slack", "queued")) == 3);
	assert_true(http_count(f, "/api/v1/events", "202") == 2);
	assert_true(http_count(f, "/api/v1/notifications/{id}", "200") == 1);
}

static void test_idempotency_by_id(void **state)
{
	struct fixture *f = *state;
	const char *ev = "{\"type\": \"deploy\", \"status\": \"started\", "
			 "\"app\": \"web\", \"env\": \"dev\", \"id\": \"run-42\"}";
	struct answer a, b;

	a = POST(f, "/api/v1/events", ev);
	assert_int_equal(a.status, 202);
	assert_string_equal(str_at(a.json, "accepted", 0, "event_id"), "run-42");
	assert_false(json_is_true(json_object_get(json_array_get(
		json_object_get(a.json, "accepted"), 0), "duplicate")));
	b = POST(f, "/api/v1/events", ev);
	assert_int_equal(b.status, 200);
	assert_int_equal(int_at(b.json, "accepted", 0, "notification_id"),
			 int_at(a.json, "accepted", 0, "notification_id"));
	assert_true(json_is_true(json_object_get(json_array_get(
		json_object_get(b.json, "accepted"), 0), "duplicate")));
	assert_string_equal(str_at(b.json, "accepted", 0, "destination"),
			    "#deploys");
	answer_release(&a);
	answer_release(&b);
	assert_int_equal(list_count(f, "/api/v1/notifications"), 1);
	/* Only the first woke the engine. */
	assert_int_equal(f->woken_nr, 1);
}

static void test_idempotency_by_header(void **state)
{
	struct fixture *f = *state;
	const char *batch = "[" DEPLOY("web", "dev") "," DEPLOY("web", "qa") "]";
	struct answer a, b, c;

	a = POST(f, "/api/v1/events", batch, "Idempotency-Key", "ci-7");
	assert_int_equal(a.status, 202);
	assert_string_equal(str_at(a.json, "accepted", 0, "event_id"), "ci-7/0");
	assert_string_equal(str_at(a.json, "accepted", 1, "event_id"), "ci-7/1");
	b = POST(f, "/api/v1/events", batch, "Idempotency-Key", "ci-7");
	assert_int_equal(b.status, 200);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(int_at(a.json, "accepted", i, "notification_id"),
				 int_at(b.json, "accepted", i, "notification_id"));
	/* A lone event uses the key as it is. */
	c = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Idempotency-Key",
		 "single-1");
	assert_int_equal(c.status, 202);
	assert_string_equal(str_at(c.json, "accepted", 0, "event_id"), "single-1");
	answer_release(&a);
	answer_release(&b);
	answer_release(&c);
	assert_int_equal(list_count(f, "/api/v1/notifications"), 3);

	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Idempotency-Key",
		 "has space");
	assert_int_equal(a.status, 400);
	answer_release(&a);
}

/* The "event" object's "id" of notification id, as GET shows it. */
static char *shown_event_id(struct fixture *f, json_int_t id)
{
	char target[64];
	struct answer g;
	char *out;

	snprintf(target, sizeof(target), "/api/v1/notifications/%lld",
		 (long long)id);
	g = GET(f, target);
	assert_int_equal(g.status, 200);
	out = xstrdup(json_string_value(json_object_get(
		json_object_get(g.json, "event"), "id")));
	answer_release(&g);
	return out;
}

/*
 * Event ids and keys made from Idempotency-Key are apart: an event with
 * id "ci-4242/0" does not swallow the first event of a batch sent later
 * with Idempotency-Key ci-4242, nor an id the key of a lone event.
 */
static void test_idempotency_namespaces(void **state)
{
	struct fixture *f = *state;
	const char *batch = "[" DEPLOY("web", "dev") "," DEPLOY("web", "qa") "]";
	struct answer a, b, c, d;
	char *shown;

	a = POST(f, "/api/v1/events", "{\"type\": \"deploy\", \"status\": "
		 "\"started\", \"app\": \"web\", \"env\": \"dev\", "
		 "\"id\": \"ci-4242/0\"}");
	assert_int_equal(a.status, 202);
	b = POST(f, "/api/v1/events", batch, "Idempotency-Key", "ci-4242");
	assert_int_equal(b.status, 202);
	assert_false(json_is_true(json_object_get(json_array_get(
		json_object_get(b.json, "accepted"), 0), "duplicate")));
	assert_true(int_at(b.json, "accepted", 0, "notification_id") !=
		    int_at(a.json, "accepted", 0, "notification_id"));
	/* Shown as before: the key the client sent, with its index. */
	assert_string_equal(str_at(b.json, "accepted", 0, "event_id"),
			    "ci-4242/0");
	shown = shown_event_id(f, int_at(b.json, "accepted", 0,
					 "notification_id"));
	assert_string_equal(shown, "ci-4242/0");
	free(shown);
	shown = shown_event_id(f, int_at(a.json, "accepted", 0,
					 "notification_id"));
	assert_string_equal(shown, "ci-4242/0");
	free(shown);
	answer_release(&b);
	/* The header's replay is still a duplicate. */
	b = POST(f, "/api/v1/events", batch, "Idempotency-Key", "ci-4242");
	assert_int_equal(b.status, 200);
	answer_release(&b);

	/* The other way round, with a lone event. */
	c = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Idempotency-Key",
		 "solo-1");
	assert_int_equal(c.status, 202);
	d = POST(f, "/api/v1/events", "{\"type\": \"deploy\", \"status\": "
		 "\"started\", \"app\": \"web\", \"env\": \"dev\", "
		 "\"id\": \"solo-1\"}");
	assert_int_equal(d.status, 202);
	assert_true(int_at(c.json, "accepted", 0, "notification_id") !=
		    int_at(d.json, "accepted", 0, "notification_id"));
	answer_release(&a);
	answer_release(&c);
	answer_release(&d);
	assert_int_equal(list_count(f, "/api/v1/notifications"), 5);
}

static void test_batch_atomicity(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	json_t *problems;

	a = POST(f, "/api/v1/events", "[" DEPLOY("web", "dev") ","
		 "{\"type\": \"deploy\", \"status\": \"done\", \"app\": \"x\"},"
		 DEPLOY("web", "qa") ","
		 "{\"type\": \"rocket\"}]");
	assert_int_equal(a.status, 400);
	assert_string_equal(json_string_value(json_object_get(a.json, "error")),
			    "invalid events");
	problems = json_object_get(a.json, "problems");
	assert_true(json_array_size(problems) >= 2);
	assert_non_null(strstr(a.text, "\"/1/status: "));
	assert_non_null(strstr(a.text, "\"/3/type: "));
	assert_null(strstr(a.text, "\"/0/"));
	answer_release(&a);

	/* A bad destination in an event is the sender's problem too. */
	a = POST(f, "/api/v1/events", "[" DEPLOY("web", "dev") ","
		 "{\"type\": \"message\", \"title\": \"hi\", \"channel\": \"@\"}]");
	assert_int_equal(a.status, 400);
	assert_non_null(strstr(a.text, "\"/1/channel: "));
	answer_release(&a);

	a = POST(f, "/api/v1/events", "{\"type\": ");
	assert_int_equal(a.status, 400);
	answer_release(&a);

	assert_int_equal(list_count(f, "/api/v1/notifications"), 0);
	assert_int_equal(f->woken_nr, 0);
	assert_true(http_count(f, "/api/v1/events", "400") == 3);
}

static void test_limits_and_types(void **state)
{
	struct fixture *f = *state;
	struct httpd_request req;
	struct httpd_response resp;
	struct httpd_kv ct = { "Content-Type", "application/json" };
	struct strbuf many = STRBUF_INIT;
	struct answer a;

	/* httpd flags a body over the cap and reads none of it. */
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/api/v1/events";
	req.headers = &ct;
	req.headers_nr = 1;
	req.body = "";
	req.body_too_large = 1;
	httpd_response_init(&resp);
	api_handle(&f->ctx, &req, &resp);
	assert_int_equal(resp.status, 413);
	assert_non_null(strstr(resp.body, "1 MiB"));
	httpd_response_release(&resp);

	strbuf_addch(&many, '[');
	for (int i = 0; i <= API_MAX_EVENTS; i++)
		strbuf_addf(&many, "%s{\"type\":\"message\",\"title\":\"m\"}",
			    i ? "," : "");
	strbuf_addch(&many, ']');
	a = POST(f, "/api/v1/events", many.buf);
	assert_int_equal(a.status, 413);
	assert_non_null(strstr(a.text, "1001 events"));
	answer_release(&a);
	strbuf_release(&many);

	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Content-Type",
		 "text/plain");
	assert_int_equal(a.status, 415);
	answer_release(&a);
	a = call(f, "POST", "/api/v1/events", "", NULL);
	assert_true(a.status == 415 || a.status == 400);
	answer_release(&a);
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Content-Type",
		 "Application/JSON; charset=utf-8");
	assert_int_equal(a.status, 202);
	answer_release(&a);
}

/* An error sentence quoting bytes that are not UTF-8 is still a sentence. */
static void test_error_quotes_bad_bytes(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Content-Type",
		 "\xff\xfe/json");
	assert_int_equal(a.status, 415);
	assert_non_null(strstr(json_string_value(json_object_get(a.json,
		"error")), "not \"\\xff\\xfe/json\""));
	answer_release(&a);
}

/* A secret (or a URL's password) in what the store holds never leaves. */
static void test_answers_redacted(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	struct errbuf err;
	json_int_t id;
	char target[64];

	redact_add_secret("xoxb-echoed-4242");
	a = POST(f, "/api/v1/events", "{\"type\":\"message\",\"title\":"
		 "\"see https://bot:pw0rd@chat.example/x\"}");
	assert_int_equal(a.status, 202);
	id = int_at(a.json, "accepted", 0, "notification_id");
	answer_release(&a);
	assert_int_equal(store_mark_failed(f->store->real, id, STORE_FAILED,
					   "xoxb-echoed-4242",
					   "slack: xoxb-echoed-4242 for \"#deploys\"",
					   200, store_now(), &err), 0);
	snprintf(target, sizeof(target), "/api/v1/notifications/%lld",
		 (long long)id);
	a = GET(f, target);
	assert_int_equal(a.status, 200);
	assert_null(strstr(a.text, "xoxb-echoed-4242"));
	assert_null(strstr(a.text, "pw0rd"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		a.json, "last_error"), "code")), "\xe2\x80\xa6");
	assert_non_null(strstr(a.text, "https://bot:\\u2026@chat.example/x"));
	answer_release(&a);
	a = GET(f, "/api/v1/notifications?state=failed");
	assert_int_equal(a.status, 200);
	assert_null(strstr(a.text, "xoxb-echoed-4242"));
	assert_null(strstr(a.text, "pw0rd"));
	answer_release(&a);
	redact_clear_secrets();
}

static void test_auth(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	f->ctx.api_token = "s3cret-token";
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));
	assert_int_equal(a.status, 401);
	assert_string_equal(a.www_auth, "Bearer realm=\"herald\"");
	answer_release(&a);
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Authorization",
		 "Bearer s3cret-tokeN");
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.www_auth, "invalid_token"));
	answer_release(&a);
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Authorization",
		 "Bearer s3cret-token-and-more");
	assert_int_equal(a.status, 401);
	answer_release(&a);
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Authorization",
		 "Basic czNjcmV0LXRva2Vu");
	assert_int_equal(a.status, 401);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications");
	assert_int_equal(a.status, 401);
	answer_release(&a);
	/* Unknown API paths do not reveal themselves without the token. */
	a = GET(f, "/api/v1/secret");
	assert_int_equal(a.status, 401);
	answer_release(&a);

	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"), "Authorization",
		 "bearer s3cret-token");
	assert_int_equal(a.status, 202);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications", "Authorization", "Bearer s3cret-token");
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(json_object_get(a.json, "notifications")),
			 1);
	answer_release(&a);

	/* The probes need no token. */
	a = GET(f, "/healthz");
	assert_int_equal(a.status, 200);
	answer_release(&a);
	a = GET(f, "/metrics");
	assert_int_equal(a.status, 200);
	answer_release(&a);
	f->ctx.api_token = NULL;
}

static void test_methods_and_paths(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	a = GET(f, "/api/v1/events");
	assert_int_equal(a.status, 405);
	assert_string_equal(a.allow, "POST");
	answer_release(&a);
	a = call(f, "DELETE", "/api/v1/notifications", NULL, NULL);
	assert_int_equal(a.status, 405);
	assert_string_equal(a.allow, "GET, HEAD");
	answer_release(&a);
	a = POST(f, "/healthz", "{}");
	assert_int_equal(a.status, 405);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications/1/retry");
	assert_int_equal(a.status, 405);
	answer_release(&a);

	a = GET(f, "/nope");
	assert_int_equal(a.status, 404);
	assert_non_null(strstr(a.text, "no such endpoint"));
	answer_release(&a);
	a = GET(f, "/api/v1/events/");
	assert_int_equal(a.status, 404);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications/abc");
	assert_int_equal(a.status, 404);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications/0");
	assert_int_equal(a.status, 404);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications/99999999999999999999999");
	assert_int_equal(a.status, 404);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications/12345");
	assert_int_equal(a.status, 404);
	assert_non_null(strstr(a.text, "notification 12345 does not exist"));
	answer_release(&a);

	assert_true(http_count(f, "other", "404") == 2);
	assert_true(http_count(f, "/api/v1/notifications/{id}", "404") == 4);
	assert_string_equal(api_route_pattern("/api/v1/notifications/7/retry"),
			    "/api/v1/notifications/{id}/retry");
	assert_string_equal(api_route_pattern("/metrics"), "/metrics");
	assert_string_equal(api_route_pattern("/x/y"), "other");
}

static void test_store_refuses(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	struct errbuf err;

	f->store->fail_accept = 1;
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));
	assert_int_equal(a.status, 503);
	assert_string_equal(a.retry_after, "5");
	answer_release(&a);
	f->store->fail_accept = 0;
	assert_int_equal(f->woken_nr, 0);
	assert_true(metric_value(f->metrics.events_received,
				 METRIC_LABELS("deploy", "api")) == 0);

	f->store->fail_read = 1;
	a = GET(f, "/api/v1/notifications");
	assert_int_equal(a.status, 503);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications/1");
	assert_int_equal(a.status, 503);
	answer_release(&a);
	f->store->fail_read = 0;

	/* The real store, with its database made too small to grow. */
	assert_int_equal(store_test_limit_pages(f->store->real, 1, &err), 0);
	{
		struct strbuf big = STRBUF_INIT;

		strbuf_addstr(&big, "[");
		for (int i = 0; i < 200; i++)
			strbuf_addf(&big, "%s{\"type\": \"message\", \"title\": "
				    "\"filler %d to make the database grow past "
				    "its limit\"}", i ? "," : "", i);
		strbuf_addstr(&big, "]");
		a = POST(f, "/api/v1/events", big.buf);
		assert_int_equal(a.status, 503);
		answer_release(&a);
		strbuf_release(&big);
	}

	/* Shutting down: the API refuses, health still answers. */
	api_set_shutting_down(&f->ctx);
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));
	assert_int_equal(a.status, 503);
	assert_non_null(a.retry_after);
	answer_release(&a);
	a = GET(f, "/readyz");
	assert_int_equal(a.status, 503);
	assert_non_null(strstr(a.text, "shutting down"));
	answer_release(&a);
	a = GET(f, "/healthz");
	assert_int_equal(a.status, 200);
	answer_release(&a);
	assert_int_equal(f->woken_nr, 0);
}

static void test_store_closed(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	/* After store_shutdown() accept fails: never a 2xx. */
	store_shutdown(f->store->real);
	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));
	assert_int_equal(a.status, 503);
	answer_release(&a);
	assert_int_equal(f->woken_nr, 0);
}

static void test_unrouted(void **state)
{
	struct fixture *f = *state;
	struct answer a, g;
	char target[64];
	json_t *err;

	/* A reload (SIGHUP) drops the default channel. */
	api_routing_swap(&f->routing, snapshot(0));
	a = POST(f, "/api/v1/events", DEPLOY("web", "staging"));
	assert_int_equal(a.status, 202);
	assert_string_equal(str_at(a.json, "accepted", 0, "state"), "failed");
	assert_true(json_is_null(json_object_get(json_array_get(
		json_object_get(a.json, "accepted"), 0), "destination")));
	assert_non_null(strstr(str_at(a.json, "accepted", 0, "reason"),
			       "unrouted"));
	assert_int_equal(f->woken_nr, 0);

	snprintf(target, sizeof(target), "/api/v1/notifications/%lld",
		 (long long)int_at(a.json, "accepted", 0, "notification_id"));
	g = GET(f, target);
	assert_int_equal(g.status, 200);
	err = json_object_get(g.json, "last_error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
			    "unrouted");
	answer_release(&g);
	answer_release(&a);
	assert_true(metric_value(f->metrics.notifications,
				 METRIC_LABELS("slack", "failed")) == 1);
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	struct answer a, b;
	json_t *list;
	char target[96];
	json_int_t prev;

	for (int i = 0; i < 3; i++) {
		a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));
		assert_int_equal(a.status, 202);
		answer_release(&a);
	}
	a = POST(f, "/api/v1/events", "[" DEPLOY("api", "dev") ","
		 DEPLOY("api", "production") "]");
	answer_release(&a);

	assert_int_equal(list_count(f, "/api/v1/notifications"), 5);
	assert_int_equal(list_count(f, "/api/v1/notifications?app=api"), 2);
	assert_int_equal(list_count(f, "/api/v1/notifications?app=api&env=dev"), 1);
	assert_int_equal(list_count(f, "/api/v1/notifications?state=queued"), 5);
	assert_int_equal(list_count(f, "/api/v1/notifications?state=failed"), 0);

	/* Newest first, in pages. */
	a = GET(f, "/api/v1/notifications?limit=2");
	list = json_object_get(a.json, "notifications");
	assert_int_equal(json_array_size(list), 2);
	prev = json_integer_value(json_object_get(json_array_get(list, 0), "id"));
	assert_true(prev > json_integer_value(json_object_get(
		json_array_get(list, 1), "id")));
	assert_true(json_is_integer(json_object_get(a.json, "next_before")));
	snprintf(target, sizeof(target), "/api/v1/notifications?limit=2&before=%lld",
		 (long long)json_integer_value(json_object_get(a.json,
							       "next_before")));
	b = GET(f, target);
	assert_int_equal(json_array_size(json_object_get(b.json, "notifications")),
			 2);
	assert_true(json_integer_value(json_object_get(json_array_get(
		json_object_get(b.json, "notifications"), 0), "id")) <
		json_integer_value(json_object_get(a.json, "next_before")));
	answer_release(&a);
	answer_release(&b);
	a = GET(f, "/api/v1/notifications?limit=10");
	assert_true(json_is_null(json_object_get(a.json, "next_before")));
	answer_release(&a);

	a = GET(f, "/api/v1/notifications?state=lost");
	assert_int_equal(a.status, 400);
	assert_int_equal(json_array_size(json_object_get(a.json, "states")),
			 STORE_STATE_NR);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications?limit=0");
	assert_int_equal(a.status, 400);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications?limit=1001");
	assert_int_equal(a.status, 400);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications?limit=2x");
	assert_int_equal(a.status, 400);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications?before=-3");
	assert_int_equal(a.status, 400);
	answer_release(&a);
	a = GET(f, "/api/v1/notifications?stat=queued");
	assert_int_equal(a.status, 400);
	assert_non_null(strstr(a.text, "unknown query parameter"));
	answer_release(&a);
}

static void test_retry(void **state)
{
	struct fixture *f = *state;
	struct answer a, r;
	char target[96];
	json_int_t queued, failed;
	struct errbuf err;

	a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));
	queued = int_at(a.json, "accepted", 0, "notification_id");
	answer_release(&a);

	snprintf(target, sizeof(target), "/api/v1/notifications/%lld/retry",
		 (long long)queued);
	r = POST(f, target, NULL);
	assert_int_equal(r.status, 409);
	assert_string_equal(json_string_value(json_object_get(r.json, "state")),
			    "queued");
	answer_release(&r);

	/* Make it dead, as the engine would after the last attempt. */
	assert_int_equal(store_mark_failed(f->store->real, queued, STORE_DEAD,
					   "http_503", "Slack kept failing", 503,
					   store_now(), &err), 0);
	f->woken_nr = 0;
	r = POST(f, target, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "state")),
			    "queued");
	assert_int_equal(f->woken_nr, 1);
	assert_int_equal(f->woken[0], queued);
	answer_release(&r);

	/* An unrouted one has nowhere to go: it must be sent again. */
	api_routing_swap(&f->routing, snapshot(0));
	a = POST(f, "/api/v1/events", DEPLOY("web", "staging"));
	failed = int_at(a.json, "accepted", 0, "notification_id");
	answer_release(&a);
	snprintf(target, sizeof(target), "/api/v1/notifications/%lld/retry",
		 (long long)failed);
	f->woken_nr = 0;
	r = POST(f, target, NULL);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.text, "has no destination"));
	assert_string_equal(json_string_value(json_object_get(r.json, "state")),
			    "failed");
	assert_int_equal(f->woken_nr, 0);
	answer_release(&r);

	r = POST(f, "/api/v1/notifications/987654/retry", NULL);
	assert_int_equal(r.status, 404);
	answer_release(&r);
	assert_true(http_count(f, "/api/v1/notifications/{id}/retry", "200") == 1);
	assert_true(http_count(f, "/api/v1/notifications/{id}/retry", "409") == 2);
}

#define POSTERS 4
#define POSTS 10

static void *poster(void *arg)
{
	struct fixture *f = arg;
	long ok = 0;

	for (int i = 0; i < POSTS; i++) {
		struct answer a = POST(f, "/api/v1/events", DEPLOY("web", "dev"));

		ok += a.status == 202;
		answer_release(&a);
	}
	return (void *)(intptr_t)ok;
}

static void test_concurrent_posts(void **state)
{
	struct fixture *f = *state;
	pthread_t t[POSTERS];
	long total = 0;

	for (int i = 0; i < POSTERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, poster, f), 0);
	for (int i = 0; i < POSTERS; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		total += (long)(intptr_t)ret;
	}
	assert_int_equal(total, POSTERS * POSTS);
	assert_int_equal(list_count(f, "/api/v1/notifications?limit=1000"),
			 POSTERS * POSTS);
	assert_true(metric_value(f->metrics.events_received,
				 METRIC_LABELS("deploy", "api")) ==
		    POSTERS * POSTS);
}

static void test_check_listen(void **state)
{
	struct config cfg;
	struct errbuf err;
	int beyond;

	config_init(&cfg);
	free(cfg.listen);
	cfg.listen = xstrdup("127.0.0.1:8080");
	assert_int_equal(api_check_listen(&cfg, NULL, &err), 0);
	free(cfg.listen);
	cfg.listen = xstrdup("[::1]:8080");
	assert_int_equal(api_check_listen(&cfg, NULL, &err), 0);
	free(cfg.listen);
	cfg.listen = xstrdup("localhost:8080");
	assert_int_equal(api_check_listen(&cfg, NULL, &err), 0);
	free(cfg.listen);
	cfg.listen = xstrdup("0.0.0.0:8080");
	assert_int_equal(api_check_listen(&cfg, NULL, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "HERALD_API_TOKEN or HERALD_API_TOKEN_FILE"));
	assert_non_null(strstr(err.msg, "HERALD_INSECURE=1"));
	cfg.insecure = 1;
	assert_int_equal(api_check_listen(&cfg, NULL, &err), 0);
	cfg.insecure = 0;
	cfg.api_token = xstrdup("t");
	beyond = 0;
	assert_int_equal(api_check_listen(&cfg, &beyond, &err), 0);
	assert_int_equal(beyond, 1);
	free(cfg.listen);
	cfg.listen = xstrdup("127.0.0.1:8080");
	assert_int_equal(api_check_listen(&cfg, &beyond, &err), 0);
	assert_int_equal(beyond, 0);
	config_release(&cfg);
}

/* ---- over a socket ------------------------------------------------------ */

static void test_socket(void **state)
{
	struct fixture *f = *state;
	struct httpd_options opt = { .listen = "127.0.0.1:0" };
	struct httpd *h;
	struct errbuf err;
	int port, slow[6], fd;
	char *ans, req[512];
	const char *body = DEPLOY("web", "dev");

	assert_int_equal(httpd_start(&h, &opt, api_handle, &f->ctx, &err), 0);
	port = httpd_port(h);
	assert_true(port > 0);

	ans = roundtrip(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
			"Connection: close\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 200 ", 13));
	assert_non_null(strstr(ans, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(ans, "{\"status\":\"ok\"}"));
	free(ans);

	/* Idle clients (more than the server has threads) block nobody. */
	for (int i = 0; i < 6; i++) {
		slow[i] = dial(port);
		assert_true(slow[i] >= 0);
	}
	send_all(slow[0], "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n", 39);

	snprintf(req, sizeof(req), "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s", strlen(body), body);
	ans = roundtrip(port, req);
	assert_true(!strncmp(ans, "HTTP/1.1 202 ", 13));
	assert_non_null(strstr(ans, "\"destination\":\"#deploys\""));
	free(ans);

	/* 2 MiB announced: 413 before any of the body is sent. */
	ans = roundtrip(port, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n"
			"Content-Type: application/json\r\n"
			"Content-Length: 2097152\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 413 ", 13));
	assert_non_null(strstr(ans, "1 MiB"));
	free(ans);

	ans = roundtrip(port, "GET /api/v1/notifications?state=queued&limit=5 "
			"HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 200 ", 13));
	assert_non_null(strstr(ans, "\"notifications\":[{"));
	free(ans);

	ans = roundtrip(port, "PUT /api/v1/events HTTP/1.1\r\nHost: x\r\n"
			"Content-Length: 0\r\nConnection: close\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 405 ", 13));
	assert_non_null(strstr(ans, "Allow: POST\r\n"));
	free(ans);

	for (int i = 0; i < 6; i++)
		close(slow[i]);

	/* Quiesced: no new connections. */
	httpd_quiesce(h);
	httpd_quiesce(h);
	fd = dial(port);
	assert_int_equal(fd, -1);
	httpd_stop(h);
	assert_true(http_count(f, "/api/v1/events", "413") == 1);
}

static void test_socket_chunked_too_large(void **state)
{
	struct fixture *f = *state;
	struct httpd_options opt = { .listen = "127.0.0.1:0", .max_body = 1024 };
	struct httpd *h;
	struct errbuf err;
	struct strbuf req = STRBUF_INIT;
	char chunk[600];
	char *ans;

	assert_int_equal(httpd_start(&h, &opt, api_handle, &f->ctx, &err), 0);
	memset(chunk, ' ', sizeof(chunk));
	strbuf_addstr(&req, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n"
		      "Content-Type: application/json\r\n"
		      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	for (int i = 0; i < 4; i++) {
		strbuf_addf(&req, "%zx\r\n", sizeof(chunk));
		strbuf_add(&req, chunk, sizeof(chunk));
		strbuf_addstr(&req, "\r\n");
	}
	strbuf_addstr(&req, "0\r\n\r\n");
	ans = roundtrip(httpd_port(h), req.buf);
	assert_true(!strncmp(ans, "HTTP/1.1 413 ", 13));
	free(ans);
	strbuf_release(&req);
	httpd_stop(h);
}

static void test_listen_errors(void **state)
{
	struct fixture *f = *state;
	struct httpd_options opt = { .listen = "127.0.0.1:0" };
	struct httpd *h, *h2;
	struct errbuf err;
	char where[64];

	assert_int_equal(httpd_start(&h, &opt, api_handle, &f->ctx, &err), 0);
	snprintf(where, sizeof(where), "127.0.0.1:%d", httpd_port(h));
	opt.listen = where;
	assert_int_equal(httpd_start(&h2, &opt, api_handle, &f->ctx, &err),
			 HERALD_EIO);
	assert_non_null(strstr(err.msg, where));
	assert_non_null(strstr(err.msg, "in use"));
	httpd_stop(h);

	opt.listen = "127.0.0.1";
	assert_int_equal(httpd_start(&h2, &opt, api_handle, &f->ctx, &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "no port"));
	opt.listen = "127.0.0.1:99999";
	assert_int_equal(httpd_start(&h2, &opt, api_handle, &f->ctx, &err),
			 HERALD_EINVAL);

	/* IPv6 loopback, where the machine has it. */
	opt.listen = "[::1]:0";
	if (!httpd_start(&h2, &opt, api_handle, &f->ctx, &err)) {
		assert_true(httpd_port(h2) > 0);
		httpd_stop(h2);
	}
}

/* ---- the delivery page -------------------------------------------------- */

/*
 * One request for a file of the page (method, path, and an Authorization
 * header or NULL), answered into resp (release it).
 */
static void page_call(struct fixture *f, const char *method, const char *path,
		      const char *auth, struct httpd_response *resp)
{
	struct httpd_request req;
	struct httpd_kv h = { "Authorization", auth };

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.headers = &h;
	req.headers_nr = auth ? 1 : 0;
	req.body = "";
	req.remote = "127.0.0.1";
	httpd_response_init(resp);
	api_handle(&f->ctx, &req, resp);
}

/* The security headers every file of the page carries. */
static void assert_page_headers(const struct httpd_response *resp)
{
	assert_string_equal(httpd_response_header(resp, "Content-Security-Policy"),
			    "default-src 'none'; script-src 'self'; "
			    "style-src 'self'; connect-src 'self'; "
			    "img-src 'self'; base-uri 'none'; "
			    "form-action 'none'; frame-ancestors 'none'");
	assert_string_equal(httpd_response_header(resp,
				"X-Content-Type-Options"), "nosniff");
	assert_string_equal(httpd_response_header(resp, "Referrer-Policy"),
			    "no-referrer");
	assert_string_equal(httpd_response_header(resp, "Cache-Control"),
			    "no-cache");
}

/* 1 when the body of resp contains s. */
static int body_has(const struct httpd_response *resp, const char *s)
{
	return resp->body && memmem(resp->body, resp->body_len, s,
				    strlen(s)) != NULL;
}

/*
 * GET / and its two files: 200 with their types and the security headers,
 * without a token even when the API needs one; HEAD too; other methods
 * 405. The page loads only its own files (no inline script or style, no
 * other origin), and its script never writes HTML.
 */
static void test_page(void **state)
{
	static const struct {
		const char *path, *type, *has;
	} files[] = {
		{ "/", "text/html; charset=utf-8", "<script src=\"/app.js\"" },
		{ "/app.js", "text/javascript; charset=utf-8", "textContent" },
		{ "/app.css", "text/css; charset=utf-8", ".state-failed" },
		{ "/favicon.svg", "image/svg+xml", "<svg xmlns=" },
	};
	struct fixture *f = *state;
	struct httpd_response resp;

	for (int with_token = 0; with_token < 2; with_token++) {
		f->ctx.api_token = with_token ? "s3cret-token" : NULL;
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			page_call(f, "GET", files[i].path, NULL, &resp);
			assert_int_equal(resp.status, 200);
			assert_string_equal(resp.content_type, files[i].type);
			assert_page_headers(&resp);
			assert_true(body_has(&resp, files[i].has));
			assert_int_equal(resp.body[resp.body_len], '\0');
			assert_int_equal(strlen(resp.body), resp.body_len);
			/* Nothing from another origin, no HTML from data (the
			   SVG's xmlns is a name, not a request). */
			if (strcmp(files[i].path, "/favicon.svg"))
				assert_false(body_has(&resp, "http://"));
			assert_false(body_has(&resp, "https://"));
			assert_false(body_has(&resp, "innerHTML"));
			assert_false(body_has(&resp, "outerHTML"));
			assert_false(body_has(&resp, "insertAdjacentHTML"));
			assert_false(body_has(&resp, "document.write"));
			assert_false(body_has(&resp, "eval("));
			httpd_response_release(&resp);
		}
		/* A wrong token does not matter either: the page asks. */
		page_call(f, "GET", "/", "Bearer wrong", &resp);
		assert_int_equal(resp.status, 200);
		httpd_response_release(&resp);
	}
	f->ctx.api_token = NULL;

	/* The HTML has no inline script or style for the CSP to refuse. */
	page_call(f, "GET", "/", NULL, &resp);
	assert_false(body_has(&resp, "<script>"));
	assert_false(body_has(&resp, "<style"));
	assert_false(body_has(&resp, " style="));
	assert_false(body_has(&resp, " onclick="));
	assert_true(body_has(&resp, "<link rel=\"stylesheet\" href=\"/app.css\">"));
	httpd_response_release(&resp);

	page_call(f, "HEAD", "/app.js", NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_page_headers(&resp);
	httpd_response_release(&resp);

	page_call(f, "POST", "/", NULL, &resp);
	assert_int_equal(resp.status, 405);
	assert_string_equal(httpd_response_header(&resp, "Allow"), "GET, HEAD");
	httpd_response_release(&resp);

	/* Still served while herald shuts down (the API then answers 503). */
	api_set_shutting_down(&f->ctx);
	page_call(f, "GET", "/", NULL, &resp);
	assert_int_equal(resp.status, 200);
	httpd_response_release(&resp);

	assert_string_equal(api_route_pattern("/"), "/");
	assert_string_equal(api_route_pattern("/app.css"), "/app.css");
	assert_string_equal(api_route_pattern("/index.html"), "other");
	assert_null(api_page_find("/index.html"));
	assert_null(api_page_find(NULL));
	assert_non_null(api_page_find("/app.js"));

	/* Every embedded file has a row in api_endpoints[], and back. */
	for (size_t i = 0; i < api_page_files_nr; i++) {
		size_t k;

		for (k = 0; k < api_endpoints_nr; k++)
			if (!strcmp(api_endpoints[k].pattern,
				    api_page_files[i].path))
				break;
		assert_true(k < api_endpoints_nr);
		assert_ptr_equal(api_endpoints[k].handler, api_page_handle);
		assert_true(api_endpoints[k].flags & API_PUBLIC);
	}
	for (size_t k = 0; k < api_endpoints_nr; k++)
		if (api_endpoints[k].handler == api_page_handle)
			assert_non_null(api_page_find(api_endpoints[k].pattern));

	/* Called for a path it has no file for, the handler says 404. */
	{
		struct httpd_request req;

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = "/nothing.js";
		httpd_response_init(&resp);
		api_page_handle(&f->ctx, &req, 0, &resp);
		assert_int_equal(resp.status, 404);
		httpd_response_release(&resp);
	}
}

/* The project root, for docs/api.md: argv[1], else $HERALD_SRC, else ".". */
static const char *root = ".";

/* The line after the one at p, or NULL after the last. */
static const char *next_line(const char *p)
{
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

/* 1 when a "## " heading of text names "METHOD pattern". */
static int doc_heading(const char *text, const char *method,
		       const char *pattern)
{
	char want[256];
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "%s %s", method, pattern);
	for (const char *p = text; p; p = next_line(p)) {
		size_t len = strcspn(p, "\n");
		const char *at;

		if (strncmp(p, "## ", 3))
			continue;
		at = memmem(p, len, want, n);
		if (at && (at + n == p + len || at[n] == ','))
			return 1;
	}
	return 0;
}

/*
 * docs/api.md lists the endpoints of api_endpoints[] in its table, each
 * with a section, and no others.
 */
static void test_documented(void **state)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	size_t rows = 0;
	FILE *f;
	char buf[4096];
	size_t n;

	strbuf_addf(&path, "%s/docs/api.md", root);
	f = fopen(path.buf, "r");
	if (!f)
		fail_msg("cannot read %s", path.buf);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&text, buf, n);
	fclose(f);

	for (size_t i = 0; i < api_endpoints_nr; i++) {
		const struct api_endpoint *e = &api_endpoints[i];

		if (!doc_heading(text.buf, e->method, e->pattern))
			fail_msg("docs/api.md has no section \"## %s %s\"",
				 e->method, e->pattern);
	}
	/* The table: "| METHOD | `pattern` | what it does |". */
	for (const char *p = text.buf; p; p = next_line(p)) {
		char method[16], pattern[128];
		size_t i;

		if (sscanf(p, "| %15[A-Z] | `%127[^`]` |", method, pattern) != 2)
			continue;
		rows++;
		for (i = 0; i < api_endpoints_nr; i++)
			if (!strcmp(api_endpoints[i].method, method) &&
			    !strcmp(api_endpoints[i].pattern, pattern))
				break;
		if (i == api_endpoints_nr)
			fail_msg("docs/api.md lists %s %s, which api_endpoints[] "
				 "does not have", method, pattern);
	}
	if (rows != api_endpoints_nr)
		fail_msg("docs/api.md lists %zu endpoints, api_endpoints[] has "
			 "%zu", rows, api_endpoints_nr);
	strbuf_release(&path);
	strbuf_release(&text);
}

/* ---- silences ----------------------------------------------------------- */

#define SILENCE_BODY \
	"{\"match\": {\"app\": \"api\", \"alert\": \"CrashLoop*\"}, " \
	"\"duration\": \"2h\", \"comment\": \"INC-231\", \"created_by\": " \
	"\"jane\"}"

static size_t silences_listed(struct fixture *f, const char *target)
{
	struct answer a = GET(f, target);
	size_t n;

	assert_int_equal(a.status, 200);
	n = json_array_size(json_object_get(a.json, "silences"));
	answer_release(&a);
	return n;
}

static void test_silences(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	char target[64];
	json_int_t id;
	json_t *m;

	a = POST(f, "/api/v1/silences", SILENCE_BODY);
	assert_int_equal(a.status, 201);
	id = json_integer_value(json_object_get(a.json, "id"));
	assert_true(id > 0);
	assert_string_equal(json_string_value(json_object_get(a.json, "state")),
			    "active");
	m = json_object_get(a.json, "match");
	assert_string_equal(json_string_value(json_object_get(m, "app")), "api");
	assert_string_equal(json_string_value(json_object_get(m, "alert")),
			    "CrashLoop*");
	assert_int_equal(json_object_size(m), 2);
	assert_string_equal(json_string_value(json_object_get(a.json,
				"created_by")), "jane");
	assert_true(json_is_null(json_object_get(a.json, "ended_at")));
	answer_release(&a);
	assert_int_equal(f->silences_changed, 1);

	snprintf(target, sizeof(target), "/api/v1/silences/%lld", (long long)id);
	a = GET(f, target);
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json,
				"comment")), "INC-231");
	answer_release(&a);
	assert_int_equal(silences_listed(f, "/api/v1/silences"), 1);
	assert_int_equal(silences_listed(f, "/api/v1/silences?state=active"), 1);
	assert_int_equal(silences_listed(f, "/api/v1/silences?state=expired"),
			 0);

	/* Ending it: expired, listed as such; again: no change, still 200. */
	a = call(f, "DELETE", target, NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json, "state")),
			    "expired");
	assert_true(json_is_string(json_object_get(a.json, "ended_at")));
	answer_release(&a);
	assert_int_equal(f->silences_changed, 2);
	a = call(f, "DELETE", target, NULL, NULL);
	assert_int_equal(a.status, 200);
	answer_release(&a);
	assert_int_equal(f->silences_changed, 2);
	assert_int_equal(silences_listed(f, "/api/v1/silences?state=active"), 0);
	assert_int_equal(silences_listed(f, "/api/v1/silences?state=expired"),
			 1);

	a = call(f, "DELETE", "/api/v1/silences/999", NULL, NULL);
	assert_int_equal(a.status, 404);
	assert_non_null(strstr(json_string_value(json_object_get(a.json,
				"error")), "silence 999 does not exist"));
	answer_release(&a);
	a = GET(f, "/api/v1/silences/abc");
	assert_int_equal(a.status, 404);
	assert_non_null(strstr(a.text, "is not a silence ID"));
	answer_release(&a);
	a = GET(f, "/api/v1/silences?state=later");
	assert_int_equal(a.status, 400);
	answer_release(&a);
	a = call(f, "PUT", "/api/v1/silences", "{}", NULL);
	assert_int_equal(a.status, 405);
	assert_non_null(strstr(a.allow, "POST"));
	answer_release(&a);
}

static void test_silence_invalid(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	a = POST(f, "/api/v1/silences", "{\"match\": {\"app\": \"api\"}, "
		 "\"duration\": \"2h\"}");
	assert_int_equal(a.status, 400);
	assert_non_null(strstr(json_string_value(json_object_get(a.json,
				"error")), "invalid silence: comment is missing"));
	answer_release(&a);
	a = POST(f, "/api/v1/silences", "{\"match\": {\"ap\": \"api\"}, "
		 "\"duration\": \"2h\", \"comment\": \"x\"}");
	assert_int_equal(a.status, 400);
	assert_non_null(strstr(a.text, "unknown matcher"));
	answer_release(&a);
	a = POST(f, "/api/v1/silences", "{\"match\": {\"app\": \"api\"}, "
		 "\"duration\": \"90d\", \"comment\": \"x\"}");
	assert_int_equal(a.status, 400);
	assert_non_null(strstr(a.text, "30 days"));
	answer_release(&a);
	a = POST(f, "/api/v1/silences", SILENCE_BODY, "Content-Type",
		 "text/plain");
	assert_int_equal(a.status, 415);
	answer_release(&a);
	/* Nothing was stored, and the engine was not asked to reload. */
	assert_int_equal(silences_listed(f, "/api/v1/silences"), 0);
	assert_int_equal(f->silences_changed, 0);

	f->store->fail_accept = 1;
	a = POST(f, "/api/v1/silences", SILENCE_BODY);
	f->store->fail_accept = 0;
	assert_int_equal(a.status, 503);
	assert_non_null(a.retry_after);
	answer_release(&a);
	f->store->fail_read = 1;
	a = GET(f, "/api/v1/silences");
	f->store->fail_read = 0;
	assert_int_equal(a.status, 503);
	answer_release(&a);
	assert_int_equal(silences_listed(f, "/api/v1/silences"), 0);
}

static void test_silences_need_the_token(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	f->ctx.api_token = "s3cret";
	a = POST(f, "/api/v1/silences", SILENCE_BODY);
	assert_int_equal(a.status, 401);
	answer_release(&a);
	a = call(f, "DELETE", "/api/v1/silences/1", NULL, NULL);
	assert_int_equal(a.status, 401);
	answer_release(&a);
	a = POST(f, "/api/v1/silences", SILENCE_BODY, "Authorization",
		 "Bearer s3cret");
	assert_int_equal(a.status, 201);
	answer_release(&a);
	f->ctx.api_token = NULL;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_probes),
		T(test_accept_one),
		T(test_idempotency_by_id),
		T(test_idempotency_by_header),
		T(test_idempotency_namespaces),
		T(test_batch_atomicity),
		T(test_limits_and_types),
		T(test_error_quotes_bad_bytes),
		T(test_answers_redacted),
		T(test_auth),
		T(test_methods_and_paths),
		T(test_store_refuses),
		T(test_store_closed),
		T(test_unrouted),
		T(test_list),
		T(test_retry),
		T(test_silences),
		T(test_silence_invalid),
		T(test_silences_need_the_token),
		T(test_page),
		T(test_concurrent_posts),
		cmocka_unit_test(test_check_listen),
		T(test_socket),
		T(test_socket_chunked_too_large),
		T(test_listen_errors),
		cmocka_unit_test(test_documented),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
