/*
 * engine_outcome: what the answer to a request does. Delivered, failed or
 * dead, retried later with backoff (or given up once older than
 * HERALD_MAX_AGE, or after HERALD_MAX_ATTEMPTS when that is set), a rate
 * limit that blocks the queue or every queue, a story whose message is
 * gone; each as store updates, attempt rows, metrics and log lines.
 * Credentials rejected pause the provider (and /readyz) until the auth
 * probe succeeds.
 *
 * Runs on the loop thread; engine_api_ready() on any thread.
 */
#include "daemon/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/metrics.h"

#define NONE_RETRY_AFTER_S 1.0

/* ---- readiness and the auth pause ---- */

static void pause_provider(struct engine *e, const struct delivery_result *r)
{
	struct log_line l;

	if (e->paused)
		return;
	e->paused = 1;
	e->stats.paused = 1;
	e->probe_delay = e->probe_base;
	e->probe_at = monotonic_now() + e->probe_delay;
	pthread_mutex_lock(&e->lock);
	e->ready_ok = 0;
	snprintf(e->ready_why, sizeof(e->ready_why), "%s rejected the token: "
		 "%s", e->pname, r->code);
	pthread_mutex_unlock(&e->lock);
	log_begin(&l, LOG_ERROR, "delivery paused: credentials rejected");
	log_str(&l, "provider", e->pname);
	log_str(&l, "code", r->code);
	log_str(&l, "error", r->message);
	log_str(&l, "hint", "fix NOTIFICATIONS_TOKEN and restart herald; "
		"herald probes the platform and resumes when it accepts the "
		"token");
	log_end(&l);
}

static void resume_provider(struct engine *e, const char *who)
{
	e->paused = 0;
	e->stats.paused = 0;
	pthread_mutex_lock(&e->lock);
	e->ready_ok = 1;
	e->ready_why[0] = '\0';
	pthread_mutex_unlock(&e->lock);
	log_event(LOG_INFO, "delivery resumed: credentials accepted",
		  "provider", e->pname, "identity", who, NULL);
	engine__qlist_splice(&e->ready, &e->paused_list);
}

void engine__probed(struct engine *e, struct job *j)
{
	struct log_line l;

	e->probing = 0;
	if (j->ret == 0) {
		resume_provider(e, j->out.buf);
		return;
	}
	e->probe_delay *= 2;
	if (e->probe_delay > e->probe_cap)
		e->probe_delay = e->probe_cap;
	e->probe_at = monotonic_now() + e->probe_delay;
	log_begin(&l, LOG_DEBUG, "auth probe failed");
	log_str(&l, "code", j->r.code);
	log_double(&l, "next_probe_s", e->probe_delay);
	log_end(&l);
}

int engine_api_ready(void *arg, struct strbuf *why)
{
	struct engine *e = arg;
	int ok;

	pthread_mutex_lock(&e->lock);
	ok = e->ready_ok;
	if (!ok && why)
		strbuf_addstr(why, e->ready_why);
	pthread_mutex_unlock(&e->lock);
	return ok;
}

/* ---- outcomes ---- */

static void log_attempt(struct engine *e, enum log_level level,
			const char *msg, const struct item *it, const char *dest,
			const char *state, const struct delivery_result *r)
{
	struct log_line l;

	if (!log_enabled(level))
		return;
	log_begin(&l, level, msg);
	log_int(&l, "notification", it->id);
	log_str(&l, "destination", dest);
	log_str(&l, "state", state);
	log_int(&l, "attempt", it->tries);
	if (r) {
		if (r->code[0])
			log_str(&l, "code", r->code);
		if (r->http_status)
			log_int(&l, "http_status", r->http_status);
		if (r->outcome != DELIVERY_OK && r->message[0])
			log_str(&l, "error", r->message);
	}
	log_end(&l);
}

void engine__attempt_row(struct engine *e, struct item *it,
			 const char *outcome, const struct delivery_result *r,
			 long duration_ms)
{
	struct store_update *u = engine__update(e, STORE_UP_ATTEMPT, it->id);

	u->attempts = it->tries;
	u->outcome = outcome;
	u->code = r && r->code[0] ? engine__keep_redacted(e, r->code) : NULL;
	u->http_status = r ? (int)r->http_status : 0;
	u->duration_ms = duration_ms;
	e->stats.attempts++;
	metrics_delivery_attempt(e->metrics, e->pname, outcome);
}

static void delivered(struct engine *e, struct item *it, const char *dest,
		      const char *channel_id, const char *message_id,
		      int http_status, int64_t digest_id)
{
	struct store_update *u = engine__update(e, STORE_UP_DELIVERED, it->id);
	double now = store_now();

	u->digest_id = digest_id;
	u->channel_id = engine__keep(e, channel_id);
	u->message_id = engine__keep(e, message_id);
	u->attempts = it->attempts;
	u->http_status = http_status;
	e->stats.delivered++;
	metrics_notification(e->metrics, e->pname, "delivered");
	if (it->created_at > 0 && now >= it->created_at)
		metrics_delivery_latency(e->metrics, now - it->created_at);
	engine__remove_head(e, it);
}

static void failed(struct engine *e, struct item *it, const char *dest,
		   enum store_state state, const char *code, const char *msg,
		   int http_status)
{
	struct store_update *u = engine__update(e, STORE_UP_FAILED, it->id);
	struct log_line l;

	u->state = state;
	u->attempts = it->attempts;
	u->code = engine__keep_redacted(e, code);
	u->msg = engine__keep_redacted(e, msg);
	u->http_status = http_status;
	e->stats.failed++;
	metrics_notification(e->metrics, e->pname, store_state_name(state));
	log_begin(&l, LOG_ERROR, state == STORE_DEAD ? "gave up" : "failed");
	log_int(&l, "notification", it->id);
	log_str(&l, "destination", dest);
	log_str(&l, "state", store_state_name(state));
	log_int(&l, "attempt", it->tries);
	log_str(&l, "code", code);
	if (http_status)
		log_int(&l, "http_status", http_status);
	log_str(&l, "error", msg);
	log_end(&l);
	engine__remove_head(e, it);
}

/*
 * A retryable failure of the queue's head: wait seconds, however many
 * attempts it took, unless the next try would come after HERALD_MAX_AGE
 * (or HERALD_MAX_ATTEMPTS, when set, is reached): then it is dead.
 */
static void retry_later(struct engine *e, struct item *it, const char *dest,
			const struct delivery_result *r, double wait)
{
	struct store_update *u;
	double now = monotonic_now();

	if (e->max_attempts > 0 && it->attempts >= e->max_attempts) {
		char msg[700];

		snprintf(msg, sizeof(msg), "gave up after %d attempts "
			 "(HERALD_MAX_ATTEMPTS): %s", it->attempts, r->message);
		failed(e, it, dest, STORE_DEAD, r->code, msg,
		       (int)r->http_status);
		return;
	}
	if (store_now() + wait - it->created_at > e->max_age_s) {
		char msg[700];

		snprintf(msg, sizeof(msg), "gave up: older than HERALD_MAX_AGE "
			 "(%.0f s): %s", e->max_age_s, r->message);
		failed(e, it, dest, STORE_DEAD, r->code, msg,
		       (int)r->http_status);
		return;
	}
	log_attempt(e, LOG_WARN, "retrying", it, dest, "retrying", r);
	e->stats.retried++;
	it->not_before = now + wait;
	u = engine__update(e, STORE_UP_RETRYING, it->id);
	u->attempts = it->attempts;
	u->next_at = store_now() + wait;
	u->code = engine__keep_redacted(e, r->code);
	u->msg = engine__keep_redacted(e, r->message);
	u->http_status = (int)r->http_status;
	metrics_notification(e->metrics, e->pname, "retrying");
}

static int is_rate_limit(const struct delivery_result *r)
{
	return r->http_status == 429 || !strcmp(r->code, "ratelimited") ||
	       !strcmp(r->code, "rate_limited");
}

/*
 * Whether the platform refused to edit the story's message in a way that a
 * new message mends: the message is gone or cannot be edited any more, or
 * its channel was archived or deleted (Slack's codes, and Discord's 10003
 * unknown channel, 10008 unknown message, 30046 too many edits of an old
 * message, 50005 another author's message, 50083 archived thread).
 */
int engine__edit_refused(const struct delivery_result *r)
{
	static const char *const codes[] = {
		"message_not_found", "cant_update_message",
		"edit_window_closed", "is_archived", "channel_not_found",
		"10003", "10008", "30046", "50005", "50083", NULL,
	};

	for (size_t i = 0; codes[i]; i++)
		if (!strcmp(r->code, codes[i]))
			return 1;
	return 0;
}

/* Records what the story's message now shows. */
static void story_written(struct engine *e, struct item *it, const char *corr,
			  const char *dest, const char *channel_id,
			  const char *message_id, int64_t digest_id)
{
	struct store_update *u = engine__update(e, STORE_UP_STORY, it->id);

	u->digest_id = digest_id;
	u->correlation_key = engine__keep(e, corr);
	u->provider = e->pname;
	u->destination = engine__keep(e, dest);
	u->channel_id = engine__keep(e, channel_id);
	u->message_id = engine__keep(e, message_id);
	u->event_at = it->mark.event_at;
	u->rank = it->mark.rank;
	u->body_hash = it->mark.hash[0] ? engine__keep(e, it->mark.hash) : NULL;
	pthread_mutex_lock(&e->story_lock);
	engine__story_set(e, corr, dest, channel_id, message_id, store_now(),
			  &it->mark, digest_id);
	pthread_mutex_unlock(&e->story_lock);
}

void engine__settle_quiet(struct engine *e, struct item *it,
			  const char *dest, enum store_state state,
			  const char *why)
{
	struct store_update *u = engine__update(e, STORE_UP_FAILED, it->id);
	struct log_line l;

	u->state = state;
	u->attempts = it->attempts;
	u->code = store_state_name(state);
	u->msg = engine__keep_redacted(e, why);
	if (state == STORE_SILENCED)
		u->silence_id = it->silence_id;
	metrics_notification(e->metrics, e->pname, store_state_name(state));
	log_begin(&l, LOG_INFO, "not sent");
	log_int(&l, "notification", it->id);
	log_str(&l, "destination", dest);
	log_str(&l, "state", store_state_name(state));
	if (state == STORE_SILENCED)
		log_int(&l, "silence", it->silence_id);
	log_str(&l, "reason", why);
	log_end(&l);
	engine__remove_head(e, it);
}

void engine__settle(struct engine *e, struct item *it, const char *dest,
		    const char *corr, const char *edit, const char *channel,
		    const struct delivery_result *r, long duration_ms)
{
	struct queue *q = it->q;
	struct log_line l;
	double now = monotonic_now();

	if (r->rl.known && r->rl.bucket[0])
		snprintf(q->bucket_id, sizeof(q->bucket_id), "%s", r->rl.bucket);
	if (r->rl.known && r->rl.remaining == 0 && r->rl.reset_after_s > 0 &&
	    now + r->rl.reset_after_s > q->blocked_until)
		q->blocked_until = now + r->rl.reset_after_s;
	switch (r->outcome) {
	case DELIVERY_OK:
		it->attempts++;
		engine__attempt_row(e, it, "ok", r, duration_ms);
		log_attempt(e, LOG_INFO, edit ? "edited" : "delivered", it,
			    dest, "delivered", r);
		if (edit) {
			e->stats.edits++;
			if (corr)
				story_written(e, it, corr, dest, channel, edit,
					      0);
			delivered(e, it, dest, channel, edit, 0, 0);
			return;
		}
		if (corr && r->message_id[0])
			story_written(e, it, corr, dest, r->channel_id[0] ?
				      r->channel_id : channel, r->message_id,
				      0);
		delivered(e, it, dest, r->channel_id[0] ? r->channel_id :
			  channel, r->message_id, 0, 0);
		return;
	case DELIVERY_RETRY:
		if (is_rate_limit(r)) {
			double wait = r->retry_after_s > 0 ? r->retry_after_s :
				NONE_RETRY_AFTER_S;

			engine__attempt_row(e, it, "retry", r, duration_ms);
			e->stats.rate_limited++;
			metrics_rate_limited(e->metrics, e->pname);
			log_begin(&l, LOG_WARN, "rate limited");
			log_str(&l, "provider", e->pname);
			log_int(&l, "notification", it->id);
			log_str(&l, "destination", dest);
			log_double(&l, "retry_after", wait);
			if (r->rl.global)
				log_bool(&l, "global", 1);
			if (q->bucket_id[0])
				log_str(&l, "bucket", q->bucket_id);
			log_end(&l);
			if (r->rl.global)
				e->global_blocked_until = now + wait;
			else if (now + wait > q->blocked_until)
				q->blocked_until = now + wait;
			return;
		}
		it->attempts++;
		engine__attempt_row(e, it, "retry", r, duration_ms);
		retry_later(e, it, dest, r, pace_retry_delay(it->attempts,
			    r->retry_after_s, e->backoff_base, e->backoff_cap,
			    random_unit(&e->rng)));
		return;
	case DELIVERY_AUTH:
		engine__attempt_row(e, it, "auth", r, duration_ms);
		log_attempt(e, LOG_WARN, "credentials rejected", it, dest,
			    "queued", r);
		pause_provider(e, r);
		return;
	case DELIVERY_PERMANENT:
		if (edit && engine__edit_refused(r)) {
			engine__attempt_row(e, it, "retry", r, duration_ms);
			log_attempt(e, LOG_WARN, "story message cannot be "
				    "edited; posting a new one", it, dest,
				    "queued", r);
			pthread_mutex_lock(&e->story_lock);
			engine__story_set(e, corr, NULL, NULL, NULL, 0, NULL,
					  0);
			pthread_mutex_unlock(&e->story_lock);
			it->force_post = 1;
			return;
		}
		it->attempts++;
		engine__attempt_row(e, it, "permanent", r, duration_ms);
		free(q->channel_id);
		q->channel_id = NULL;
		failed(e, it, dest, STORE_FAILED, r->code, r->message,
		       (int)r->http_status);
		return;
	}
}

void engine__print_log(struct engine *e, struct item *it,
		       const struct store_record *rec, json_t *body)
{
	json_t *line = json_object();
	char *text;

	json_object_set_new(line, "notification_id", json_integer(it->id));
	json_object_set_new(line, "destination", json_string(rec->destination));
	json_object_set(line, "body", body);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text) {
		fputs(text, e->out);
		fputc('\n', e->out);
		e->wrote = 1;
	}
	free(text);
	json_decref(line);
	it->tries++;
	it->attempts++;
	engine__attempt_row(e, it, "ok", NULL, 0);
	log_attempt(e, LOG_DEBUG, "delivered", it, rec->destination,
		    "delivered", NULL);
	delivered(e, it, rec->destination, NULL, NULL, 0, 0);
}

void engine__delivered(struct engine *e, struct item *it, const char *dest,
		       const char *corr, const char *channel,
		       const char *message_id, int64_t digest_id)
{
	if (corr && message_id && message_id[0])
		story_written(e, it, corr, dest, channel, message_id,
			      digest_id);
	delivered(e, it, dest, channel, message_id, 0, digest_id);
}
