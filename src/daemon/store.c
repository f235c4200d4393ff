/*
 * store: the generic half of the store interface.
 *
 * Picks the implementation for a path or URL, dispatches the store_*()
 * calls through struct store_ops (store_internal.h), and holds what every
 * implementation shares: state names, the one-update wrappers of
 * store_apply() that tests use, releasing results, and the JSON form of a
 * notification record.
 */
#include "daemon/store_internal.h"
#include "core/silence.h"
#include "lib/rfc3339.h"
#include "lib/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const state_names[STORE_STATE_NR] = {
	[STORE_QUEUED] = "queued",
	[STORE_SENDING] = "sending",
	[STORE_DELIVERED] = "delivered",
	[STORE_RETRYING] = "retrying",
	[STORE_FAILED] = "failed",
	[STORE_DEAD] = "dead",
	[STORE_SUPERSEDED] = "superseded",
	[STORE_UNCHANGED] = "unchanged",
	[STORE_SKIPPED] = "skipped",
	[STORE_SILENCED] = "silenced",
};

const char *store_state_name(enum store_state state)
{
	if ((unsigned)state >= STORE_STATE_NR)
		return "unknown";
	return state_names[state];
}

int store_state_parse(const char *name, enum store_state *out)
{
	if (!name)
		return -1;
	for (int i = 0; i < STORE_STATE_NR; i++) {
		if (!strcmp(name, state_names[i])) {
			*out = (enum store_state)i;
			return 0;
		}
	}
	return -1;
}

static int has_prefix_icase(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

int store_open(struct store **out, const char *path_or_url, struct errbuf *err)
{
	*out = NULL;
	if (!path_or_url || !*path_or_url)
		return errbuf_set(err, HERALD_EINVAL,
				  "HERALD_DATABASE is empty: set it to a SQLite file path");
	if (has_prefix_icase(path_or_url, "postgres://") ||
	    has_prefix_icase(path_or_url, "postgresql://"))
		return errbuf_set(err, HERALD_EINVAL,
				  "PostgreSQL support is not available yet; set HERALD_DATABASE to a SQLite file path");
	return store_sqlite_open(out, path_or_url, err);
}

void store_shutdown(struct store *st)
{
	if (st)
		st->ops->shutdown(st);
}

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

int store_accept(struct store *st, const struct store_item *items, size_t nr,
		 struct store_accepted *out, struct errbuf *err)
{
	if (nr == 0 || nr > STORE_ACCEPT_MAX)
		return errbuf_set(err, HERALD_ELIMIT,
				  "a batch holds 1 to %d events, not %zu",
				  STORE_ACCEPT_MAX, nr);
	return st->ops->accept(st, items, nr, out, err);
}

int store_walk_events(struct store *st, double from, double to,
		      store_event_fn *fn, void *arg, struct errbuf *err)
{
	if (!(from < to))
		return errbuf_set(err, HERALD_EINVAL, "an empty time range: "
				  "from %.3f is not before to %.3f", from, to);
	return st->ops->walk_events(st, from, to, fn, arg, err);
}

int store_get(struct store *st, int64_t id, struct store_record *out,
	      struct errbuf *err)
{
	return st->ops->get(st, id, out, err);
}

int store_list(struct store *st, const struct store_filter *f,
	       struct store_record **recs, size_t *nr, struct errbuf *err)
{
	struct store_filter copy = STORE_FILTER_INIT;

	if (f)
		copy = *f;
	if (!copy.limit)
		copy.limit = STORE_LIST_DEFAULT;
	if (copy.limit > STORE_LIST_MAX)
		copy.limit = STORE_LIST_MAX;
	if (copy.state >= STORE_STATE_NR || copy.state < -1)
		return errbuf_set(err, HERALD_EINVAL,
				  "unknown notification state %d", copy.state);
	return st->ops->list(st, &copy, recs, nr, err);
}

int store_load_pending(struct store *st, store_record_fn *fn, void *arg,
		       struct errbuf *err)
{
	return st->ops->load_pending(st, fn, arg, err);
}

int store_recover(struct store *st, size_t *nr, struct errbuf *err)
{
	size_t dummy;

	return st->ops->recover(st, nr ? nr : &dummy, err);
}

int store_counts(struct store *st, uint64_t counts[STORE_STATE_NR],
		 struct errbuf *err)
{
	return st->ops->counts(st, counts, err);
}

int store_requeue(struct store *st, int64_t id, struct errbuf *err)
{
	return st->ops->requeue(st, id, err);
}

int store_ping(struct store *st, struct errbuf *err)
{
	return st->ops->ping(st, err);
}

const char *store_instance_id(struct store *st)
{
	return st->ops->instance_id(st);
}

int store_apply(struct store *st, const struct store_update *ups, size_t nr,
		struct errbuf *err)
{
	for (size_t i = 0; i < nr; i++) {
		const struct store_update *u = &ups[i];

		if ((unsigned)u->kind > STORE_UP_DIGEST)
			return errbuf_set(err, HERALD_EINVAL,
					  "update %zu: unknown kind %d", i,
					  (int)u->kind);
		if (u->kind == STORE_UP_FAILED && u->state != STORE_FAILED &&
		    u->state != STORE_DEAD &&
		    (u->state < STORE_SUPERSEDED || u->state >= STORE_STATE_NR))
			return errbuf_set(err, HERALD_EINVAL,
					  "update %zu: notification %lld can only end as failed, dead, superseded, unchanged, skipped or silenced, not %s",
					  i, (long long)u->id,
					  store_state_name(u->state));
		if (u->kind == STORE_UP_STORY &&
		    (!u->correlation_key || !u->provider || !u->destination))
			return errbuf_set(err, HERALD_EINVAL,
					  "update %zu: a story needs a correlation key, provider and destination",
					  i);
		if (u->kind == STORE_UP_FAILED && u->state == STORE_SILENCED &&
		    u->silence_id <= 0)
			return errbuf_set(err, HERALD_EINVAL,
					  "update %zu: notification %lld is silenced by no silence",
					  i, (long long)u->id);
		if (u->kind == STORE_UP_DIGEST &&
		    (u->id <= 0 || !u->provider || !u->destination ||
		     !u->lines))
			return errbuf_set(err, HERALD_EINVAL,
					  "update %zu: a digest needs an id, provider, destination and lines",
					  i);
		if (u->kind == STORE_UP_ATTEMPT && !u->outcome)
			return errbuf_set(err, HERALD_EINVAL,
					  "update %zu: an attempt needs an outcome",
					  i);
	}
	if (!nr)
		return 0;
	return st->ops->apply(st, ups, nr, err);
}

int store_mark_sending(struct store *st, int64_t id, double at,
		       struct errbuf *err)
{
	struct store_update u = { .kind = STORE_UP_SENDING, .id = id, .at = at };

	return store_apply(st, &u, 1, err);
}

int store_mark_delivered(struct store *st, int64_t id, const char *channel_id,
			 const char *message_id, double at, struct errbuf *err)
{
	struct store_update u = {
		.kind = STORE_UP_DELIVERED, .id = id, .at = at,
		.channel_id = channel_id, .message_id = message_id,
	};

	return store_apply(st, &u, 1, err);
}

int store_mark_retrying(struct store *st, int64_t id, int attempts,
			double next_at, const char *code, const char *msg,
			int http_status, double at, struct errbuf *err)
{
	struct store_update u = {
		.kind = STORE_UP_RETRYING, .id = id, .at = at,
		.attempts = attempts, .next_at = next_at, .code = code,
		.msg = msg, .http_status = http_status,
	};

	return store_apply(st, &u, 1, err);
}

int store_mark_failed(struct store *st, int64_t id, enum store_state state,
		      const char *code, const char *msg, int http_status,
		      double at, struct errbuf *err)
{
	struct store_update u = {
		.kind = STORE_UP_FAILED, .id = id, .at = at, .state = state,
		.code = code, .msg = msg, .http_status = http_status,
	};

	return store_apply(st, &u, 1, err);
}

int store_record_attempt(struct store *st, int64_t id, int attempt, double at,
			 const char *outcome, const char *code,
			 int http_status, long duration_ms, struct errbuf *err)
{
	struct store_update u = {
		.kind = STORE_UP_ATTEMPT, .id = id, .attempts = attempt,
		.at = at, .outcome = outcome, .code = code,
		.http_status = http_status, .duration_ms = duration_ms,
	};

	return store_apply(st, &u, 1, err);
}

int store_story_get(struct store *st, const char *correlation_key,
		    struct store_story *out, struct errbuf *err)
{
	return st->ops->story_get(st, correlation_key, out, err);
}

int store_digest_get(struct store *st, int64_t id, struct store_digest *out,
		     struct errbuf *err)
{
	return st->ops->digest_get(st, id, out, err);
}

void store_digest_release(struct store_digest *d)
{
	free(d->provider);
	free(d->destination);
	free(d->channel_id);
	free(d->message_id);
	free(d->lines);
	memset(d, 0, sizeof(*d));
}

int store_story_put(struct store *st, const char *correlation_key,
		    const struct store_story *s, double at, struct errbuf *err)
{
	struct store_update u = {
		.kind = STORE_UP_STORY, .id = s->first_notification_id,
		.at = at, .correlation_key = correlation_key,
		.provider = s->provider, .destination = s->destination,
		.channel_id = s->channel_id, .message_id = s->message_id,
		.event_at = s->event_at, .rank = s->rank,
		.body_hash = s->body_hash, .digest_id = s->digest_id,
	};

	return store_apply(st, &u, 1, err);
}

int store_resolution_get(struct store *st, const char *provider,
			 const char *destination, double now,
			 char **channel_id, struct errbuf *err)
{
	*channel_id = NULL;
	return st->ops->resolution_get(st, provider, destination, now,
				       channel_id, err);
}

int store_resolution_put(struct store *st, const char *provider,
			 const char *destination, const char *channel_id,
			 double expires_at, struct errbuf *err)
{
	if (!provider || !destination || !channel_id)
		return errbuf_set(err, HERALD_EINVAL,
				  "a resolution needs a provider, destination and channel ID");
	return st->ops->resolution_put(st, provider, destination, channel_id,
				       expires_at, err);
}

int store_silence_add(struct store *st, struct silence *s,
		      struct errbuf *err)
{
	int n = 0;

	for (int i = 0; i < SILENCE_FIELD_NR; i++)
		n += s->match[i] != NULL;
	if (!n || !s->comment || s->ends_at <= 0)
		return errbuf_set(err, HERALD_EINVAL,
				  "a silence needs a matcher, a comment and an end");
	return st->ops->silence_add(st, s, err);
}

int store_silence_get(struct store *st, int64_t id, struct silence *out,
		      struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	return st->ops->silence_get(st, id, out, err);
}

int store_silence_list(struct store *st, double since, struct silence **out,
		       size_t *nr, struct errbuf *err)
{
	*out = NULL;
	*nr = 0;
	return st->ops->silence_list(st, since, out, nr, err);
}

int store_silence_end(struct store *st, int64_t id, double at,
		      struct errbuf *err)
{
	return st->ops->silence_end(st, id, at, err);
}

int store_silence_peek(const char *path_or_url, double now,
		       struct silence **out, size_t *nr, struct errbuf *err)
{
	*out = NULL;
	*nr = 0;
	if (!path_or_url || !*path_or_url ||
	    has_prefix_icase(path_or_url, "postgres://") ||
	    has_prefix_icase(path_or_url, "postgresql://"))
		return errbuf_set(err, HERALD_ENOENT,
				  "no SQLite database to read silences from");
	return store_sqlite_silence_peek(path_or_url, now, out, nr, err);
}

int store_prune(struct store *st, const struct store_prune_params *p,
		struct store_prune_result *res, struct errbuf *err)
{
	struct store_prune_params q = *p;

	memset(res, 0, sizeof(*res));
	if (!q.batch)
		q.batch = STORE_PRUNE_BATCH;
	return st->ops->prune(st, &q, res, err);
}

void store_stats(struct store *st, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	st->ops->stats(st, out);
}

int store_test_limit_pages(struct store *st, long pages, struct errbuf *err)
{
	return st->ops->test_limit_pages(st, pages, err);
}

void store_test_fail_commits(struct store *st, long n)
{
	st->ops->test_fail_commits(st, n);
}

double store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void store_accepted_release(struct store_accepted *a)
{
	free(a->destination);
	free(a->dest_kind);
	free(a->reason);
	memset(a, 0, sizeof(*a));
}

void store_accepted_array_release(struct store_accepted *a, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		store_accepted_release(&a[i]);
}

void store_record_release(struct store_record *rec)
{
	free(rec->event_key);
	free(rec->type);
	free(rec->status);
	free(rec->app);
	free(rec->env);
	free(rec->body);
	free(rec->provider);
	free(rec->destination);
	free(rec->dest_kind);
	free(rec->reason);
	free(rec->correlation_key);
	free(rec->last_error_code);
	free(rec->last_error);
	free(rec->channel_id);
	free(rec->message_id);
	memset(rec, 0, sizeof(*rec));
}

void store_record_array_free(struct store_record *recs, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		store_record_release(&recs[i]);
	free(recs);
}

void store_story_release(struct store_story *s)
{
	free(s->provider);
	free(s->destination);
	free(s->channel_id);
	free(s->message_id);
	free(s->body_hash);
	memset(s, 0, sizeof(*s));
}

/* "2024-05-01T12:00:00.123Z", or null for an unset time. */
static json_t *time_json(double t)
{
	char buf[RFC3339_BUF];

	if (t <= 0 || !rfc3339_format(t, buf))
		return json_null();
	return json_string(buf);
}

static json_t *str_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *store_record_to_json(const struct store_record *rec)
{
	json_t *ev, *obj, *err = json_null();

	ev = json_object();
	json_object_set_new(ev, "id", str_json(rec->event_key));
	json_object_set_new(ev, "type", str_json(rec->type));
	json_object_set_new(ev, "status", str_json(rec->status));
	json_object_set_new(ev, "app", str_json(rec->app));
	json_object_set_new(ev, "env", str_json(rec->env));
	if (rec->body) {
		json_t *body = json_loads(rec->body, JSON_DECODE_ANY, NULL);

		json_object_set_new(ev, "body", body ? body : json_string(rec->body));
	}

	if (rec->last_error_code || rec->last_error || rec->http_status) {
		err = json_object();
		json_object_set_new(err, "code", str_json(rec->last_error_code));
		json_object_set_new(err, "message", str_json(rec->last_error));
		json_object_set_new(err, "http_status",
				    rec->http_status ? json_integer(rec->http_status)
						     : json_null());
	}

	obj = json_object();
	json_object_set_new(obj, "id", json_integer(rec->id));
	json_object_set_new(obj, "event", ev);
	json_object_set_new(obj, "provider", str_json(rec->provider));
	json_object_set_new(obj, "destination", str_json(rec->destination));
	json_object_set_new(obj, "kind", str_json(rec->dest_kind));
	json_object_set_new(obj, "reason", str_json(rec->reason));
	json_object_set_new(obj, "correlation_key", str_json(rec->correlation_key));
	json_object_set_new(obj, "state", json_string(store_state_name(rec->state)));
	json_object_set_new(obj, "attempts", json_integer(rec->attempts));
	json_object_set_new(obj, "next_attempt_at", time_json(rec->next_attempt_at));
	json_object_set_new(obj, "last_error", err);
	json_object_set_new(obj, "channel_id", str_json(rec->channel_id));
	json_object_set_new(obj, "message_id", str_json(rec->message_id));
	json_object_set_new(obj, "digest_id", rec->digest_id ?
			    json_integer(rec->digest_id) : json_null());
	json_object_set_new(obj, "created_at", time_json(rec->created_at));
	json_object_set_new(obj, "updated_at", time_json(rec->updated_at));
	json_object_set_new(obj, "delivered_at", time_json(rec->delivered_at));
	json_object_set_new(obj, "silence_id", rec->silence_id > 0 ?
			    json_integer(rec->silence_id) : json_null());
	return obj;
}
