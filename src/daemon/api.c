/*
 * api: the request handlers of herald serve.
 *
 * Every handler is a function from a struct httpd_request to a struct
 * httpd_response plus calls into the store; nothing here knows about
 * sockets. Each endpoint is one row of api_endpoints[] (at the end, with
 * dispatch()). The order of checks on a request is: endpoint, token
 * (unless the endpoint is public or checks credentials itself), method,
 * {id}, shutting down; then the handler's own: size, content type, the
 * body. Errors are JSON objects with an "error" sentence saying what is
 * wrong and what to do.
 *
 * POST /api/v1/events parses the whole batch, routes each event with the
 * current configuration snapshot, and hands the batch to store_accept() as
 * one transaction; the 202 goes out only after that returned 0.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "daemon/api.h"
#include "daemon/api_internal.h"
#include "daemon/api_page.h"
#include "inputs/event_json.h"
#include "core/event.h"
#include "lib/json_out.h"
#include "lib/redact.h"
#include "lib/text.h"
#include "daemon/log.h"
#include "core/route.h"

#define JSON_TYPE "application/json"
#define IDEM_KEY_MAX 200
#define QUERY_VALUE_MAX 256

#define API_PREFIX "/api/"

/* ---- the routing snapshot ------------------------------------------- */

void api_context_init(struct api_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	atomic_init(&ctx->shutting_down, 0);
}

void api_set_shutting_down(struct api_context *ctx)
{
	atomic_store(&ctx->shutting_down, 1);
}

struct api_snapshot *api_snapshot_new(struct config *cfg, struct catalog *cat)
{
	struct api_snapshot *s = xcalloc(1, sizeof(*s));

	s->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	s->cat = (struct catalog)CATALOG_INIT;
	if (cat) {
		s->cat = *cat;
		*cat = (struct catalog)CATALOG_INIT;
		s->has_catalog = 1;
	}
	atomic_init(&s->refs, 1);
	return s;
}

struct api_snapshot *api_snapshot_get(struct api_snapshot *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void api_snapshot_put(struct api_snapshot *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	config_release(&s->cfg);
	catalog_release(&s->cat);
	free(s);
}

void api_routing_init(struct api_routing *r, struct api_snapshot *first)
{
	pthread_mutex_init(&r->lock, NULL);
	r->cur = first;
}

struct api_snapshot *api_routing_current(struct api_routing *r)
{
	struct api_snapshot *s;

	if (!r)
		return NULL;
	pthread_mutex_lock(&r->lock);
	s = api_snapshot_get(r->cur);
	pthread_mutex_unlock(&r->lock);
	return s;
}

void api_routing_swap(struct api_routing *r, struct api_snapshot *next)
{
	struct api_snapshot *old;

	pthread_mutex_lock(&r->lock);
	old = r->cur;
	r->cur = next;
	pthread_mutex_unlock(&r->lock);
	api_snapshot_put(old);
}

void api_routing_release(struct api_routing *r)
{
	api_snapshot_put(r->cur);
	r->cur = NULL;
	pthread_mutex_destroy(&r->lock);
}

/* ---- responses --------------------------------------------------------- */

/* Redacts every string in j, in place: no answer carries a secret. */
static void redact_json(json_t *j)
{
	struct strbuf sb = STRBUF_INIT;
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, key, v)
			redact_json(v);
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			redact_json(v);
		break;
	case JSON_STRING:
		if (!redact_needed(json_string_value(j), json_string_length(j),
				   NULL))
			break;
		redact(&sb, json_string_value(j), json_string_length(j), NULL);
		if (json_string_setn(j, sb.buf, sb.len) < 0)
			json_string_set(j, REDACT_MARK);	/* cut a character */
		break;
	default:
		break;
	}
	strbuf_release(&sb);
}

/* Answers status with obj (stolen) as the body. */
void api__reply_json(struct httpd_response *resp, int status, json_t *obj)
{
	struct strbuf sb = STRBUF_INIT;
	char *text;
	size_t len;

	redact_json(obj);
	if (json_out(&sb, obj, JSON_OUT_ASCII) < 0) {
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "{\"error\": \"internal error: the answer "
			      "could not be written as JSON\"}");
		status = 500;
	}
	strbuf_addch(&sb, '\n');
	json_decref(obj);
	text = strbuf_detach(&sb, &len);
	httpd_response_set(resp, status, JSON_TYPE, text, len);
}

/*
 * Appends ,"name":value (or "name":value first in an object) with value
 * a JSON string, or null when NULL.
 */
static void add_json_member(struct strbuf *sb, const char *name,
			    const char *value, int comma)
{
	if (comma)
		strbuf_addch(sb, ',');
	strbuf_addch(sb, '"');
	strbuf_addstr(sb, name);
	strbuf_add(sb, "\":", 2);
	if (value)
		text_add_json_string(sb, value, strlen(value), 1);
	else
		strbuf_addstr(sb, "null");
}

/*
 * {"error": the sentence} plus extra's members. The sentence is cleaned
 * (text_add_clean()), so bytes it quotes from the request that are not
 * UTF-8 become U+FFFD instead of losing the whole sentence.
 */
__attribute__((format(printf, 2, 0)))
static json_t *error_object(json_t *extra, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT, clean = STRBUF_INIT;
	json_t *obj = json_object();

	strbuf_vaddf(&sb, fmt, ap);
	text_add_clean(&clean, sb.buf, sb.len);
	json_object_set_new(obj, "error", json_stringn(clean.buf, clean.len));
	strbuf_release(&sb);
	strbuf_release(&clean);
	if (extra) {
		json_object_update(obj, extra);
		json_decref(extra);
	}
	return obj;
}

void api__reply_error(struct httpd_response *resp, int status, json_t *extra,
		      const char *fmt, ...)
{
	va_list ap;
	json_t *obj;

	va_start(ap, fmt);
	obj = error_object(extra, fmt, ap);
	va_end(ap);
	api__reply_json(resp, status, obj);
}

void api__reply_unavailable(struct httpd_response *resp, const char *why)
{
	char secs[16];

	snprintf(secs, sizeof(secs), "%d", API_RETRY_AFTER_S);
	api__reply_error(resp, 503, NULL, "%s", why);
	httpd_response_add_header(resp, "Retry-After", secs);
}

/* ---- routing and checks ------------------------------------------------- */

/* A notification ID: 1 to 2^63-1, decimal digits only. */
static int parse_id(const char *seg, size_t len, int64_t *out)
{
	char buf[24];
	long v;

	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, seg, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
	}
	if (parse_long(buf, 1, LONG_MAX, &v))
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* Compares in time that depends on the length of given only. */
int api__token_matches(const char *given, size_t given_len,
			 const char *want)
{
	size_t want_len = strlen(want);
	volatile unsigned char diff = (unsigned char)(given_len != want_len);

	for (size_t i = 0; i < given_len; i++)
		diff |= (unsigned char)(given[i] ^ want[i % want_len]);
	return diff == 0;
}

static int authorized(const struct api_context *ctx,
		      const struct httpd_request *req, int *malformed)
{
	const char *h = httpd_request_header(req, "Authorization");
	struct strview tok;

	*malformed = 0;
	if (!h)
		return 0;
	if (strncasecmp(h, "Bearer ", 7)) {
		*malformed = 1;
		return 0;
	}
	tok = strview_trim((struct strview){ h + 7, strlen(h + 7) });
	return tok.len && api__token_matches(tok.ptr, tok.len, ctx->api_token);
}

/* application/json, in any case, with or without parameters. */
int api__is_json_type(const char *ct)
{
	struct strview v;
	const char *semi;

	if (!ct)
		return 0;
	semi = strchr(ct, ';');
	v = strview_trim((struct strview){ ct, semi ? (size_t)(semi - ct)
						     : strlen(ct) });
	return v.len == strlen(JSON_TYPE) && !strncasecmp(v.ptr, JSON_TYPE, v.len);
}

/* 1 when a request with method given may call an endpoint for want. */
static int method_is(const char *given, const char *want)
{
	if (!strcmp(given, want))
		return 1;
	/* HEAD is GET without the body; microhttpd drops the body. */
	return !strcmp(want, "GET") && !strcmp(given, "HEAD");
}

/* ---- POST /api/v1/events ------------------------------------------------ */

/*
 * The idempotency key of event i: its id, else STORE_HEADER_KEY_PREFIX
 * and the header (+ "/i"), so that no event id matches a header's key.
 */
static char *idem_key(const struct event *ev, const char *header, int array,
		      size_t i)
{
	struct strbuf sb = STRBUF_INIT;

	if (ev->id)
		return xstrdup(ev->id);
	if (!header)
		return NULL;
	strbuf_addch(&sb, STORE_HEADER_KEY_PREFIX);
	strbuf_addstr(&sb, header);
	if (array)
		strbuf_addf(&sb, "/%zu", i);
	return strbuf_detach(&sb, NULL);
}

/* An idempotency key as the client knows it (NULL for none). */
static const char *key_shown(const char *key)
{
	return key && key[0] == STORE_HEADER_KEY_PREFIX ? key + 1 : key;
}

/* The record as the API shows it, with its event's key as in key_shown(). */
static json_t *record_json(struct store_record *rec)
{
	const char *shown = key_shown(rec->event_key);

	if (shown != rec->event_key)
		memmove(rec->event_key, shown, strlen(shown) + 1);
	return store_record_to_json(rec);
}

static int valid_idem_header(const char *h)
{
	size_t n = strlen(h);

	if (!n || n > IDEM_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e)
			return 0;
	}
	return 1;
}

static int body_is_array(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!strchr(" \t\r\n", body[i]))
			return body[i] == '[';
	}
	return 0;
}

json_t *api__problems_json(const struct errlist *problems)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < problems->nr; i++)
		json_array_append_new(arr, json_string(problems->items[i]));
	return arr;
}

/* What one event becomes before the store sees it. */
struct prepared {
	char *key;
	char *body;
	char *correlation;
	struct route route;
	char *bad_reason;	/* the reason when the configured destination is bad */
};

void api_queued_release(struct api_queued *q)
{
	free(q->destination);
	free(q->correlation_key);
	event_free(q->ev);
	memset(q, 0, sizeof(*q));
}

static void prepared_release(struct prepared *p)
{
	free(p->key);
	free(p->body);
	free(p->correlation);
	route_release(&p->route);
	free(p->bad_reason);
}

static void log_accepted(const struct prepared *p,
			 const struct store_accepted *a, const char *type)
{
	struct log_line l;

	log_begin(&l, LOG_INFO, a->existing ? "event repeated" : "event accepted");
	log_int(&l, "notification", a->id);
	if (p->key)
		log_str(&l, "event_id", key_shown(p->key));
	log_str(&l, "type", type);
	log_str(&l, "destination", a->destination);
	log_str(&l, "state", store_state_name(a->state));
	if (a->state == STORE_FAILED && !a->existing)
		log_str(&l, "reason", a->reason);
	log_end(&l);
}

static void log_refused(size_t nr, const char *why)
{
	struct log_line l;

	log_begin(&l, LOG_ERROR, "events refused: the store did not commit");
	log_int(&l, "events", (long long)nr);
	log_str(&l, "error", why);
	log_end(&l);
}

void api__accept(struct api_context *ctx, struct event *evs, size_t nr,
		 const struct api_accept *o, struct httpd_response *resp)
{
	struct errlist problems = ERRLIST_INIT;
	size_t fresh = 0, wake_nr = 0;
	struct prepared *prep = NULL;
	struct store_item *items = NULL;
	struct store_accepted *acc = NULL;
	struct api_snapshot *snap = NULL;
	const struct config *cfg = NULL;
	const struct catalog *cat = NULL;
	const char *provider;
	int64_t *wake = NULL;
	struct api_queued *queued = NULL;
	struct strbuf out = STRBUF_INIT;	/* the answer's body */
	double now;
	struct errbuf err;
	int ret;

	snap = api_routing_current(ctx->routing);
	if (snap) {
		cfg = &snap->cfg;
		cat = snap->has_catalog ? &snap->cat : NULL;
	}
	provider = provider_kind_name(cfg ? cfg->provider : PROVIDER_LOG);
	prep = xcalloc(nr ? nr : 1, sizeof(*prep));
	items = xcalloc(nr ? nr : 1, sizeof(*items));
	for (size_t i = 0; i < nr; i++) {
		struct prepared *p = &prep[i];
		struct store_item *it = &items[i];
		struct strbuf body = STRBUF_INIT;

		p->route = (struct route)ROUTE_INIT;
		if (route_event(&p->route, &evs[i], cfg, cat, &err)) {
			if (evs[i].channel && o->strict_channel) {
				char ptr[32] = "";

				if (o->array)
					snprintf(ptr, sizeof(ptr), "/%zu", i);
				errlist_add(&problems, "%s/channel: %s", ptr,
					    err.msg);
				continue;
			}
			/* The configuration is at fault: keep the event. */
			p->bad_reason = xstrdup(err.msg);
		}
		p->key = idem_key(&evs[i], o->idem_header, o->array, i);
		strbuf_grow(&body, 512);
		event_write_json(&evs[i], &body);
		if (strbuf_overflowed(&body)) {
			strbuf_release(&body);
			errlist_add(&problems, "/%zu: the event does not fit the "
				    "store's size limit", i);
			continue;
		}
		p->body = strbuf_detach(&body, NULL);
		p->correlation = event_correlation_key(&evs[i]);

		it->idem_key = p->key;
		it->type = event_type_name(evs[i].type);
		it->status = evs[i].status == EVENT_STATUS_NONE ? NULL :
			     event_status_name(evs[i].status);
		it->app = evs[i].app;
		it->env = evs[i].env;
		it->body = p->body;
		it->provider = provider;
		it->correlation_key = p->correlation;
		if (p->bad_reason) {
			it->reason = p->bad_reason;
			it->state = STORE_FAILED;
			it->error_code = "bad_destination";
		} else if (p->route.source == ROUTE_UNROUTED) {
			it->reason = p->route.reason;
			it->state = STORE_FAILED;
			it->error_code = "unrouted";
		} else {
			it->destination = p->route.dest.raw;
			it->dest_kind = destination_kind_word(&p->route.dest);
			it->reason = p->route.reason;
			it->state = STORE_QUEUED;
		}
	}
	if (problems.nr) {
		json_t *extra = json_object();

		json_object_set_new(extra, "problems",
				    api__problems_json(&problems));
		api__reply_error(resp, 400, extra, "invalid events");
		goto out;
	}

	acc = xcalloc(nr ? nr : 1, sizeof(*acc));
	ret = nr ? store_accept(ctx->store, items, nr, acc, &err) : 0;
	if (ret) {
		free(acc);
		acc = NULL;
		log_refused(nr, err.msg);
		if (ret == HERALD_EINVAL)
			api__reply_error(resp, 400, NULL, "%s", err.msg);
		else
			api__reply_unavailable(resp, "the events were not "
					       "stored (the store could not "
					       "commit them): try again later");
		goto out;
	}

	strbuf_grow(&out, 64 + nr * 160);
	strbuf_addstr(&out, "{\"accepted\":[");
	wake = xcalloc(nr ? nr : 1, sizeof(*wake));
	queued = xcalloc(nr ? nr : 1, sizeof(*queued));
	now = store_now();
	log_hold();		/* one write for the batch's lines */
	for (size_t i = 0; i < nr; i++) {
		const struct store_accepted *a = &acc[i];

		strbuf_addstr(&out, i ? ",{" : "{");
		add_json_member(&out, "event_id", key_shown(prep[i].key), 0);
		strbuf_addf(&out, ",\"notification_id\":%lld",
			    (long long)a->id);
		add_json_member(&out, "destination", a->destination, 1);
		add_json_member(&out, "kind", a->dest_kind, 1);
		add_json_member(&out, "reason", a->reason, 1);
		add_json_member(&out, "state", store_state_name(a->state), 1);
		strbuf_addstr(&out, a->existing ? ",\"duplicate\":true}" :
			      ",\"duplicate\":false}");

		metrics_event_received(ctx->metrics, items[i].type, o->source);
		log_accepted(&prep[i], a, items[i].type);
		if (a->existing)
			continue;
		fresh++;
		metrics_notification(ctx->metrics, provider,
				     store_state_name(a->state));
		if (a->state != STORE_QUEUED)
			continue;
		wake[wake_nr] = a->id;
		if (ctx->queued) {
			struct api_queued *qd = &queued[wake_nr];

			qd->id = a->id;
			qd->created_at = now;
			qd->destination = a->destination ?
					  xstrdup(a->destination) : NULL;
			qd->correlation_key = prep[i].correlation;
			prep[i].correlation = NULL;
			qd->ev = xmalloc(sizeof(*qd->ev));
			*qd->ev = evs[i];
			memset(&evs[i], 0, sizeof(evs[i]));
		}
		wake_nr++;
	}
	log_flush();
	if (wake_nr && ctx->queued)
		ctx->queued(ctx->queued_arg, queued, wake_nr);
	else if (wake_nr && ctx->wake)
		ctx->wake(ctx->wake_arg, wake, wake_nr);
	strbuf_addch(&out, ']');
	if (o->ignored) {
		strbuf_addstr(&out, ",\"ignored\":[");
		for (size_t i = 0; i < o->ignored->nr; i++) {
			if (i)
				strbuf_addch(&out, ',');
			text_add_json_string(&out, o->ignored->items[i],
					     strlen(o->ignored->items[i]), 1);
		}
		strbuf_addch(&out, ']');
	}
	strbuf_addstr(&out, "}\n");
	if (strbuf_overflowed(&out)) {
		api__reply_error(resp, 500, NULL, "the answer does not fit in "
				 "memory; the events were stored");
	} else {
		size_t len;
		char *text = strbuf_detach(&out, &len);

		httpd_response_set(resp, fresh ? 202 : 200, JSON_TYPE, text,
				   len);
	}
out:
	strbuf_release(&out);
	if (acc)
		store_accepted_array_release(acc, nr);
	free(acc);
	for (size_t i = 0; prep && i < nr; i++)
		prepared_release(&prep[i]);
	free(prep);
	free(items);
	free(wake);
	for (size_t i = 0; queued && i < wake_nr; i++)
		api_queued_release(&queued[i]);
	free(queued);
	api_snapshot_put(snap);
	errlist_release(&problems);
}

/* 415, quoting the Content-Type given (bytes that are not text escaped). */
void api__reply_bad_type(struct httpd_response *resp, const char *ct)
{
	struct strbuf q = STRBUF_INIT;

	if (ct)
		text_add_quoted(&q, ct, strlen(ct), 100);
	api__reply_error(resp, 415, NULL, "Content-Type must be "
			 "application/json, not %s", ct ? q.buf : "missing");
	strbuf_release(&q);
}

static void post_events(struct api_context *ctx,
			const struct httpd_request *req, int64_t id,
			struct httpd_response *resp)
{
	struct errlist problems = ERRLIST_INIT;
	struct event *evs = NULL;
	size_t nr = 0;
	const char *header = httpd_request_header(req, "Idempotency-Key");
	struct api_accept o = { .idem_header = header, .strict_channel = 1,
				.source = "api" };
	int ret;

	if (req->body_too_large || req->body_len > API_MAX_BODY) {
		api__reply_error(resp, 413, NULL, "the request body is over %u "
				 "bytes (1 MiB): send fewer events per request",
				 API_MAX_BODY);
		goto out;
	}
	if (!api__is_json_type(httpd_request_header(req, "Content-Type"))) {
		api__reply_bad_type(resp, httpd_request_header(req,
							       "Content-Type"));
		goto out;
	}
	if (header && !valid_idem_header(header)) {
		api__reply_error(resp, 400, NULL, "Idempotency-Key must be 1 to "
				 "%d visible ASCII characters without spaces",
				 IDEM_KEY_MAX);
		goto out;
	}
	o.array = body_is_array(req->body, req->body_len);
	ret = event_parse_many(req->body, req->body_len, API_MAX_EVENTS, &evs,
			       &nr, &problems);
	if (ret) {
		int status = ret == HERALD_ELIMIT ? 413 : 400;
		json_t *extra = json_object();

		json_object_set_new(extra, "problems",
				    api__problems_json(&problems));
		api__reply_error(resp, status, extra, "%s", status == 413 ?
				 "events over a limit" : "invalid events");
		goto out;
	}
	api__accept(ctx, evs, nr, &o, resp);
out:
	event_array_free(evs, nr);
	errlist_release(&problems);
}

/* ---- the delivery log --------------------------------------------------- */

static json_t *state_names_json(void)
{
	json_t *arr = json_array();

	for (int i = 0; i < STORE_STATE_NR; i++)
		json_array_append_new(arr, json_string(store_state_name(
			(enum store_state)i)));
	return arr;
}

static void list_notifications(struct api_context *ctx,
			       const struct httpd_request *req, int64_t id,
			       struct httpd_response *resp)
{
	static const char *const known[] = {
		"state", "app", "env", "limit", "before", NULL
	};
	struct store_filter f = STORE_FILTER_INIT;
	struct store_record *recs = NULL;
	size_t nr = 0;
	struct errbuf err;
	const char *v;
	json_t *list;
	long n;

	for (size_t i = 0; i < req->query_nr; i++) {
		const char *name = req->query[i].name;
		size_t k;

		for (k = 0; known[k] && strcmp(known[k], name); k++)
			;
		if (!known[k]) {
			api__reply_error(resp, 400, NULL, "unknown query parameter "
				    "\"%.64s\": use state, app, env, limit or "
				    "before", name);
			return;
		}
		if (strlen(req->query[i].value) > QUERY_VALUE_MAX) {
			api__reply_error(resp, 400, NULL, "query parameter %s is longer "
				    "than %d bytes", name, QUERY_VALUE_MAX);
			return;
		}
	}
	v = httpd_request_query(req, "state");
	if (v) {
		enum store_state st;

		if (store_state_parse(v, &st)) {
			json_t *extra = json_object();

			json_object_set_new(extra, "states", state_names_json());
			api__reply_error(resp, 400, extra, "state \"%.64s\" is not a "
				    "notification state: use queued, sending, "
				    "delivered, retrying, failed, dead, superseded, "
				    "unchanged, skipped or silenced", v);
			return;
		}
		f.state = (int)st;
	}
	v = httpd_request_query(req, "app");
	f.app = v && *v ? v : NULL;
	v = httpd_request_query(req, "env");
	f.env = v && *v ? v : NULL;
	f.limit = API_LIST_DEFAULT;
	v = httpd_request_query(req, "limit");
	if (v) {
		if (parse_long(v, 1, API_LIST_MAX, &n)) {
			api__reply_error(resp, 400, NULL, "limit \"%.64s\" is not a "
				    "number from 1 to %d", v, API_LIST_MAX);
			return;
		}
		f.limit = (size_t)n;
	}
	v = httpd_request_query(req, "before");
	if (v) {
		int64_t before;

		if (parse_id(v, strlen(v), &before)) {
			api__reply_error(resp, 400, NULL, "before \"%.64s\" is not a "
				    "notification ID (a positive integer): use "
				    "next_before from the previous page", v);
			return;
		}
		f.before = before;
	}
	if (store_list(ctx->store, &f, &recs, &nr, &err)) {
		log_event(LOG_ERROR, "delivery log unreadable", "error", err.msg,
			  NULL);
		api__reply_unavailable(resp, "the delivery log cannot be read now: "
				  "try again later");
		return;
	}
	list = json_array();
	for (size_t i = 0; i < nr; i++)
		json_array_append_new(list, record_json(&recs[i]));
	api__reply_json(resp, 200, json_pack("{s:o,s:o}", "notifications", list,
		"next_before", nr && nr == f.limit ? json_integer(recs[nr - 1].id)
						   : json_null()));
	store_record_array_free(recs, nr);
}

static void get_notification(struct api_context *ctx,
			     const struct httpd_request *req, int64_t id,
			     struct httpd_response *resp)
{
	struct store_record rec;
	struct errbuf err;
	int ret;

	memset(&rec, 0, sizeof(rec));
	ret = store_get(ctx->store, id, &rec, &err);
	if (ret == HERALD_ENOENT) {
		api__reply_error(resp, 404, NULL, "notification %" PRId64 " does not "
			    "exist", id);
		return;
	}
	if (ret) {
		log_event(LOG_ERROR, "delivery log unreadable", "error", err.msg,
			  NULL);
		api__reply_unavailable(resp, "the delivery log cannot be read now: "
				  "try again later");
		return;
	}
	api__reply_json(resp, 200, record_json(&rec));
	store_record_release(&rec);
}

static void retry_notification(struct api_context *ctx,
			       const struct httpd_request *req, int64_t id,
			       struct httpd_response *resp)
{
	struct store_record rec;
	struct errbuf err;
	struct log_line l;
	int ret;

	memset(&rec, 0, sizeof(rec));
	ret = store_get(ctx->store, id, &rec, &err);
	if (!ret && !rec.destination && (rec.state == STORE_FAILED ||
					 rec.state == STORE_DEAD)) {
		/* Queued again it would have nowhere to go. */
		api__reply_error(resp, 409, json_pack("{s:s}", "state",
						 store_state_name(rec.state)),
			    "notification %" PRId64 " has no destination (%s): fix "
			    "the routing, then send the event again with a new "
			    "idempotency key", id, rec.reason ? rec.reason :
			    "unrouted");
		store_record_release(&rec);
		return;
	}
	store_record_release(&rec);
	if (ret && ret != HERALD_ENOENT) {
		log_event(LOG_ERROR, "delivery log unreadable", "error", err.msg,
			  NULL);
		api__reply_unavailable(resp, "the retry was not stored: try again "
				  "later");
		return;
	}
	ret = store_requeue(ctx->store, id, &err);
	if (ret == HERALD_ENOENT) {
		api__reply_error(resp, 404, NULL, "notification %" PRId64 " does not "
			    "exist", id);
		return;
	}
	if (ret == HERALD_EINVAL) {
		json_t *extra = json_object();

		if (!store_get(ctx->store, id, &rec, NULL)) {
			json_object_set_new(extra, "state", json_string(
				store_state_name(rec.state)));
			store_record_release(&rec);
		}
		api__reply_error(resp, 409, extra, "%s", err.msg);
		return;
	}
	if (ret) {
		log_event(LOG_ERROR, "retry not stored", "error", err.msg, NULL);
		api__reply_unavailable(resp, "the retry was not stored: try again "
				  "later");
		return;
	}
	ret = store_get(ctx->store, id, &rec, &err);
	if (ctx->wake)
		ctx->wake(ctx->wake_arg, &id, 1);
	if (ret) {
		api__reply_unavailable(resp, "the notification was queued again but "
				  "cannot be read back now");
		return;
	}
	metrics_notification(ctx->metrics, rec.provider, "queued");
	log_begin(&l, LOG_INFO, "retry requested");
	log_int(&l, "notification", id);
	log_str(&l, "destination", rec.destination);
	log_str(&l, "state", store_state_name(rec.state));
	log_end(&l);
	api__reply_json(resp, 200, record_json(&rec));
	store_record_release(&rec);
}

/* ---- probes ------------------------------------------------------------- */

static void healthz(struct api_context *ctx, const struct httpd_request *req,
		    int64_t id, struct httpd_response *resp)
{
	api__reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz(struct api_context *ctx, const struct httpd_request *req,
		   int64_t id, struct httpd_response *resp)
{
	struct strbuf why = STRBUF_INIT;
	struct errbuf err;

	if (atomic_load(&ctx->shutting_down)) {
		strbuf_addstr(&why, "shutting down");
	} else if (!ctx->store || store_ping(ctx->store, &err)) {
		strbuf_addf(&why, "store: %s", ctx->store ? err.msg :
			    "not open");
	} else if (ctx->ready && !ctx->ready(ctx->ready_arg, &why)) {
		struct strbuf tmp = STRBUF_INIT;

		strbuf_addf(&tmp, "provider: %s", why.len ? why.buf :
			    "credentials rejected");
		strbuf_release(&why);
		why = tmp;
	}
	if (why.len)
		api__reply_json(resp, 503, json_pack("{s:s,s:s,s:s+}", "status",
						"not ready", "reason", why.buf,
						"error", "not ready: ", why.buf));
	else
		api__reply_json(resp, 200, json_pack("{s:s}", "status", "ready"));
	strbuf_release(&why);
}

static void metrics_page(struct api_context *ctx,
			 const struct httpd_request *req, int64_t id,
			 struct httpd_response *resp)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len;
	char *text;

	if (metrics_expose(ctx->metrics, &sb)) {
		strbuf_release(&sb);
		api__reply_error(resp, 500, NULL, "the metrics do not fit in memory");
		return;
	}
	text = strbuf_detach(&sb, &len);
	httpd_response_set(resp, 200, METRICS_CONTENT_TYPE, text, len);
}

/* ---- the endpoints ------------------------------------------------------ */

const struct api_endpoint api_endpoints[] = {
	{ "GET", "/healthz", healthz, API_PUBLIC | API_WHILE_STOPPING },
	{ "GET", "/readyz", readyz, API_PUBLIC | API_WHILE_STOPPING },
	{ "GET", "/metrics", metrics_page, API_PUBLIC | API_WHILE_STOPPING },
	/* The delivery page (api_page.c): it holds no data, its script calls
	   the API with the token. */
	{ "GET", "/", api_page_handle, API_PUBLIC | API_WHILE_STOPPING },
	{ "GET", "/app.js", api_page_handle, API_PUBLIC | API_WHILE_STOPPING },
	{ "GET", "/app.css", api_page_handle, API_PUBLIC | API_WHILE_STOPPING },
	{ "GET", "/favicon.svg", api_page_handle,
	  API_PUBLIC | API_WHILE_STOPPING },
	{ "POST", "/api/v1/events", post_events, 0 },
	{ "GET", "/api/v1/notifications", list_notifications, 0 },
	{ "GET", "/api/v1/notifications/{id}", get_notification, 0 },
	{ "POST", "/api/v1/notifications/{id}/retry", retry_notification, 0 },
	/* Silences (api_silences.c). */
	{ "POST", "/api/v1/silences", api__silence_add, 0 },
	{ "GET", "/api/v1/silences", api__silence_list, 0 },
	{ "GET", "/api/v1/silences/{id}", api__silence_get, 0 },
	{ "DELETE", "/api/v1/silences/{id}", api__silence_end, 0 },
	{ "POST", "/api/v1/hooks/flux", api__hook_flux, API_OWN_AUTH },
	{ "POST", "/api/flux-events", api__hook_flux, API_OWN_AUTH },
	{ "POST", "/api/v1/hooks/alertmanager", api__hook_alertmanager,
	  API_OWN_AUTH },
	{ "POST", "/api/v1/hooks/github", api__hook_github, API_OWN_AUTH },
};

const size_t api_endpoints_nr =
	sizeof(api_endpoints) / sizeof(api_endpoints[0]);

/*
 * 1 when path fits pattern; a {...} in the pattern takes one non-empty
 * segment, which goes to *param.
 */
static int path_matches(const char *pattern, const char *path,
			struct strview *param)
{
	const char *p = pattern, *s = path;

	while (*p) {
		if (*p == '{') {
			size_t len = strcspn(s, "/");

			if (!len)
				return 0;
			*param = (struct strview){ s, len };
			s += len;
			p += strcspn(p, "}");
			if (*p)
				p++;
		} else if (*p++ != *s++) {
			return 0;
		}
	}
	return !*s;
}

/*
 * The endpoint for req: the one whose pattern fits the path and whose
 * method is req's, else the first whose pattern fits (to answer 405), else
 * NULL. *param is the {id} segment of the path, if any.
 */
static const struct api_endpoint *find_endpoint(const char *method,
						const char *path,
						struct strview *param)
{
	const struct api_endpoint *found = NULL;

	*param = (struct strview){ NULL, 0 };
	if (!path)
		return NULL;
	for (size_t i = 0; i < api_endpoints_nr; i++) {
		const struct api_endpoint *e = &api_endpoints[i];
		struct strview v = { NULL, 0 };

		if (!path_matches(e->pattern, path, &v))
			continue;
		if (method && method_is(method, e->method)) {
			*param = v;
			return e;
		}
		if (!found) {
			found = e;
			*param = v;
		}
	}
	return found;
}

const char *api_route_pattern(const char *path)
{
	struct strview param;
	const struct api_endpoint *e = find_endpoint(NULL, path, &param);

	return e ? e->pattern : "other";
}

/* 405, naming every method the endpoint's path allows. */
static void reply_bad_method(const struct httpd_request *req,
			     const struct api_endpoint *e,
			     struct httpd_response *resp)
{
	struct strbuf allow = STRBUF_INIT, use = STRBUF_INIT;
	struct strview param;

	for (size_t i = 0; i < api_endpoints_nr; i++) {
		const char *m = api_endpoints[i].method;

		if (!path_matches(api_endpoints[i].pattern, req->path, &param))
			continue;
		strbuf_addf(&use, "%s%s", use.len ? " or " : "", m);
		strbuf_addf(&allow, "%s%s", allow.len ? ", " : "", m);
		if (!strcmp(m, "GET"))
			strbuf_addstr(&allow, ", HEAD");
	}
	api__reply_error(resp, 405, NULL, "%s is not allowed on %s: use %s",
		    req->method ? req->method : "(none)", e->pattern, use.buf);
	httpd_response_add_header(resp, "Allow", allow.buf);
	strbuf_release(&allow);
	strbuf_release(&use);
}

static void reply_unauthorized(const struct httpd_request *req,
			       struct httpd_response *resp)
{
	api__reply_error(resp, 401, NULL, "a valid API token is required: send "
		    "\"Authorization: Bearer <token>\" with the value of "
		    "HERALD_API_TOKEN");
	httpd_response_add_header(resp, "WWW-Authenticate",
		httpd_request_header(req, "Authorization") ?
		"Bearer realm=\"herald\", error=\"invalid_token\"" :
		"Bearer realm=\"herald\"");
}

/*
 * The bearer token is checked for the endpoints that neither are public
 * nor check credentials themselves, and for every unknown path under
 * /api/, so that the API's paths cannot be probed without it.
 */
static int needs_token(const struct api_context *ctx,
		       const struct api_endpoint *e, const char *path)
{
	if (!ctx->api_token || !*ctx->api_token)
		return 0;
	if (e)
		return !(e->flags & (API_PUBLIC | API_OWN_AUTH));
	return !strncmp(path, API_PREFIX, strlen(API_PREFIX));
}

static void dispatch(struct api_context *ctx, const struct httpd_request *req,
		     const struct api_endpoint *e, struct strview param,
		     struct httpd_response *resp)
{
	const char *path = req->path ? req->path : "";
	int64_t id = 0;
	int malformed;

	if (needs_token(ctx, e, path) && !authorized(ctx, req, &malformed)) {
		reply_unauthorized(req, resp);
		return;
	}
	if (!e) {
		api__reply_error(resp, 404, NULL, "no such endpoint: %.200s (see "
			    "docs/api.md for the endpoints)", path);
		return;
	}
	if (!req->method || !method_is(req->method, e->method)) {
		reply_bad_method(req, e, resp);
		return;
	}
	if (param.ptr && parse_id(param.ptr, param.len, &id)) {
		api__reply_error(resp, 404, NULL, "\"%.*s\" is not a %s ID "
			    "(a positive integer)",
			    (int)(param.len > 64 ? 64 : param.len), param.ptr,
			    strstr(e->pattern, "/silences/") ? "silence" :
			    "notification");
		return;
	}
	if (!(e->flags & API_WHILE_STOPPING) &&
	    atomic_load(&ctx->shutting_down)) {
		api__reply_unavailable(resp, "herald is shutting down: send the "
				  "request to another instance or try again "
				  "later");
		return;
	}
	e->handler(ctx, req, id, resp);
}

void api_handle(void *arg, const struct httpd_request *req,
		struct httpd_response *resp)
{
	struct api_context *ctx = arg;
	struct strview param;
	const struct api_endpoint *e;

	e = find_endpoint(req->method, req->path, &param);
	dispatch(ctx, req, e, param, resp);
	if (!resp->status)
		api__reply_error(resp, 500, NULL, "internal error: no answer");
	metrics_http_request(ctx->metrics, e ? e->pattern : "other",
			     resp->status);
	if (log_enabled(LOG_DEBUG)) {
		struct log_line l;

		log_begin(&l, LOG_DEBUG, "http request");
		log_str(&l, "method", req->method);
		log_str(&l, "path", req->path);
		log_int(&l, "status", resp->status);
		log_str(&l, "remote", req->remote);
		log_end(&l);
	}
}

/* ---- start-up policy ---------------------------------------------------- */

int api_check_listen(const struct config *cfg, int *beyond_loopback,
		     struct errbuf *err)
{
	const char *where = cfg->listen ? cfg->listen : CONFIG_DEFAULT_LISTEN;
	int loopback = 0, ret;

	ret = httpd_listen_is_loopback(where, &loopback, err);
	if (ret)
		return ret;
	if (beyond_loopback)
		*beyond_loopback = !loopback;
	if (loopback || (cfg->api_token && *cfg->api_token) || cfg->insecure)
		return 0;
	return errbuf_set(err, HERALD_EINVAL, "HERALD_LISTEN is %s, which is "
			  "reachable from other hosts, and the API has no token: "
			  "anyone who can connect could post to your channels. "
			  "Set HERALD_API_TOKEN or HERALD_API_TOKEN_FILE, listen on "
			  "127.0.0.1, or set HERALD_INSECURE=1 to allow it anyway",
			  where);
}
