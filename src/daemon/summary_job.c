/*
 * summary_job: reads a week's events from the store into a summary, makes
 * the summary's stored event, and runs the scheduler thread that submits
 * it once per ISO week. The thread wakes at the scheduled time, and at
 * least every RECHECK_S, so a changed wall clock or a failed submit is
 * seen again soon; it remembers the last week it submitted, and the
 * idempotency key "summary-YYYY-Www" covers restarts.
 */
#include "daemon/summary_job.h"
#include "core/route.h"
#include "daemon/log.h"
#include "inputs/event_json.h"
#include "lib/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RECHECK_S 60

/* ---- collecting ------------------------------------------------------ */

struct collected {
	struct event *events;		/* parsed, for their strings */
	char **stories;
	struct summary_event *evs;
	size_t nr, alloc;
};

static void collected_release(struct collected *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		event_release(&c->events[i]);
		free(c->stories[i]);
	}
	free(c->events);
	free(c->stories);
	free(c->evs);
}

/* What the summary counts: the rest is only counted as an event. */
static int summed_type(const char *type)
{
	return !strcmp(type, "deploy") || !strcmp(type, "rollback") ||
	       !strcmp(type, "alert");
}

static int collect_one(void *arg, const struct store_event *se)
{
	struct collected *c = arg;
	struct event *parsed = NULL, *ev;
	struct summary_event *sv;
	size_t n = 0;

	if (!strcmp(se->type, "message") && strstr(se->body, "\"rendered\":"))
		return 0;	/* a summary itself */

	if (c->nr == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 256;
		c->events = xrealloc(c->events, c->alloc * sizeof(*c->events));
		c->stories = xrealloc(c->stories,
				      c->alloc * sizeof(*c->stories));
		c->evs = xrealloc(c->evs, c->alloc * sizeof(*c->evs));
	}
	ev = &c->events[c->nr];
	memset(ev, 0, sizeof(*ev));
	if (summed_type(se->type) &&
	    event_parse_many(se->body, strlen(se->body), 1, &parsed, &n,
			     NULL) == 0 && n == 1) {
		*ev = parsed[0];
		free(parsed);
	} else {
		event_array_free(parsed, n);
		ev->type = EVENT_MESSAGE;
	}
	c->stories[c->nr] = event_correlation_key(ev);
	sv = &c->evs[c->nr];
	*sv = (struct summary_event){
		ev->type, ev->status, ev->app, ev->env, ev->actor,
		ev->version ? ev->version : ev->sha, c->stories[c->nr],
		ev->timestamp > 0 ? ev->timestamp : (time_t)se->received_at,
	};
	c->nr++;
	return 0;
}

int summary_job_collect(struct store *st, struct summary_week week,
			const struct summary_pair *pairs, size_t pairs_nr,
			struct summary *out, struct errbuf *err)
{
	struct collected c = { 0 };
	time_t start, end;
	int ret;

	summary_week_bounds(week, &start, &end);
	ret = store_walk_events(st, (double)(start - SUMMARY_LOOKBACK_S),
				(double)(end + SUMMARY_LATE_S), collect_one, &c,
				err);
	if (!ret)
		summary_compute(out, week, c.evs, c.nr, pairs, pairs_nr);
	collected_release(&c);
	return ret;
}

/* ---- the stored event ------------------------------------------------ */

json_t *summary_job_event(const struct summary *s, const char *channel)
{
	char name[SUMMARY_WEEK_NAME_MAX];
	struct strbuf sb = STRBUF_INIT;
	json_t *ev;

	summary_week_name(&s->week, name);
	summary_render_text(s, &sb);
	ev = json_pack("{s:s, s:s+, s:s+, s:s, s:o, s:{s:o, s:o}}",
		       "type", "message",
		       "id", SUMMARY_KEY_PREFIX, name,
		       "title", "Weekly summary ", name,
		       "description", sb.buf,
		       "summary", summary_to_json(s),
		       "rendered",
		       "slack", summary_render_slack(s),
		       "discord", summary_render_discord(s));
	if (channel)
		json_object_set_new(ev, "channel", json_string(channel));
	strbuf_release(&sb);
	return ev;
}

json_t *summary_job_rendered(const char *body, const char *provider)
{
	json_t *root, *rendered, *out = NULL;

	/* A key, not text inside a string, where '"' would be escaped. */
	if (!body || !strstr(body, "\"rendered\":"))
		return NULL;
	root = json_loads(body, 0, NULL);
	rendered = json_object_get(json_object_get(root, "rendered"),
				   strcmp(provider, "discord") ? "slack" :
				   "discord");
	if (json_is_object(rendered))
		out = json_incref(rendered);
	json_decref(root);
	return out;
}

/* ---- the scheduler --------------------------------------------------- */

struct summary_job {
	struct summary_job_options opt;
	struct summary_schedule sched;
	struct summary_pair *pairs;
	size_t pairs_nr;
	struct summary_week last;	/* the last week submitted */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

static time_t job_now(const struct summary_job *j)
{
	return j->opt.now ? j->opt.now() : time(NULL);
}

int summary_job_submit(struct summary_job *j, struct summary_week week,
		       struct errbuf *err)
{
	struct api_snapshot *snap = api_routing_current(j->opt.routing);
	const struct config *cfg = snap ? &snap->cfg : NULL;
	struct summary s;
	struct event ev = EVENT_INIT;
	struct route r = ROUTE_INIT;
	struct store_item it = { 0 };
	struct store_accepted acc;
	char name[SUMMARY_WEEK_NAME_MAX];
	char *body = NULL, *key = NULL;
	json_t *event = NULL;
	int ret;

	summary_week_name(&week, name);
	ret = summary_job_collect(j->opt.store, week, j->pairs, j->pairs_nr,
				  &s, err);
	if (ret < 0)
		goto out_snap;
	ev.type = EVENT_MESSAGE;
	ev.title = name;
	ev.channel = cfg ? cfg->default_channel : NULL;
	route_event(&r, &ev, cfg, NULL, err);
	event = summary_job_event(&s, ev.channel);
	body = json_dumps(event, JSON_COMPACT);
	key = xstrdup(json_string_value(json_object_get(event, "id")));
	it.idem_key = key;
	it.type = "message";
	it.body = body;
	it.provider = provider_kind_name(cfg ? cfg->provider : PROVIDER_LOG);
	it.reason = r.reason ? r.reason : "weekly summary";
	if (r.source == ROUTE_UNROUTED || !r.dest.raw) {
		it.state = STORE_FAILED;
		it.error_code = "unrouted";
	} else {
		it.destination = r.dest.raw;
		it.dest_kind = destination_kind_word(&r.dest);
		it.state = STORE_QUEUED;
	}
	ret = store_accept(j->opt.store, &it, 1, &acc, err);
	if (ret < 0)
		goto out;
	ret = acc.existing;
	if (!acc.existing) {
		metrics_notification(j->opt.metrics, it.provider,
				     store_state_name(acc.state));
		if (acc.state == STORE_QUEUED && j->opt.wake)
			j->opt.wake(j->opt.wake_arg, &acc.id, 1);
	}
	metrics_summary(j->opt.metrics, week.year, week.week, !acc.existing,
			(double)job_now(j));
	log_event(acc.existing ? LOG_DEBUG : LOG_INFO, acc.existing ?
		  "weekly summary already stored" : "weekly summary submitted",
		  "week", name, "destination", it.destination ?
		  it.destination : "(unrouted)", "state",
		  store_state_name(acc.state), NULL);
	store_accepted_release(&acc);
out:
	summary_release(&s);
	json_decref(event);
	free(body);
	free(key);
	route_release(&r);
out_snap:
	if (snap)
		api_snapshot_put(snap);
	return ret;
}

static void *job_main(void *arg)
{
	struct summary_job *j = arg;

	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		struct summary_week due;
		struct timespec until = { 0, 0 };
		time_t now = job_now(j), next;

		if (summary_due(&j->sched, now, &due, &next) &&
		    (due.year != j->last.year || due.week != j->last.week)) {
			struct errbuf err;
			int ret;

			pthread_mutex_unlock(&j->lock);
			ret = summary_job_submit(j, due, &err);
			pthread_mutex_lock(&j->lock);
			if (ret >= 0) {
				j->last = due;
			} else {
				char name[SUMMARY_WEEK_NAME_MAX];

				summary_week_name(&due, name);
				log_event(LOG_ERROR, "weekly summary failed",
					  "week", name, "error", err.msg,
					  "then", "tried again in a minute",
					  NULL);
				next = now + RECHECK_S;
			}
		}
		if (next > now + RECHECK_S || next <= now)
			next = now + RECHECK_S;
		/* The condition waits on the wall clock, like the schedule. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += next - now;
		if (!j->stop)
			pthread_cond_timedwait(&j->cond, &j->lock, &until);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int summary_job_start(struct summary_job **out,
		      const struct summary_job_options *opt,
		      struct errbuf *err)
{
	struct api_snapshot *snap = api_routing_current(opt->routing);
	struct errlist problems = ERRLIST_INIT;
	struct summary_job *j;
	char when[SUMMARY_WEEK_NAME_MAX];

	*out = NULL;
	if (!snap)
		return 0;
	j = xcalloc(1, sizeof(*j));
	j->opt = *opt;
	j->sched = summary_schedule_of(&snap->cfg);
	summary_pairs_parse("HERALD_SUMMARY_ENVS", snap->cfg.summary_envs,
			    &j->pairs, &j->pairs_nr, &problems);
	if (j->sched.enabled && !snap->cfg.default_channel &&
	    snap->cfg.provider != PROVIDER_LOG)
		log_event(LOG_WARN, "NOTIFICATIONS_DEFAULT_CHANNEL is not set: "
			  "the weekly summary has nowhere to go and is "
			  "recorded as unrouted", NULL);
	api_snapshot_put(snap);
	errlist_release(&problems);
	if (!j->sched.enabled) {
		summary_pairs_free(j->pairs, j->pairs_nr);
		free(j);
		return 0;
	}
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	if (pthread_create(&j->thread, NULL, job_main, j)) {
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		summary_pairs_free(j->pairs, j->pairs_nr);
		free(j);
		return errbuf_set(err, HERALD_EIO, "cannot start the weekly "
				  "summary's thread: %s", strerror(errno));
	}
	summary_schedule_name(&j->sched, when);
	log_event(LOG_INFO, "weekly summary scheduled", "when", when, NULL);
	*out = j;
	return 0;
}

void summary_job_stop(struct summary_job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = 1;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	summary_pairs_free(j->pairs, j->pairs_nr);
	free(j);
}
