/*
 * summary_job: the weekly summary from the store, and its scheduler in
 * herald serve.
 *
 * summary_job_collect() reads the events a week's summary needs from the
 * store and computes it (core/summary.h); `herald summary` prints that.
 * The scheduler, a small thread of its own (off the HTTP and delivery
 * paths), sleeps until the scheduled minute (HERALD_SUMMARY, in TZ), then
 * submits the summary of the week that just ended as a notification to
 * the default channel through the normal path: store_accept() with the
 * idempotency key "summary-YYYY-Www", then the engine is woken as the API
 * does. The key makes it exactly once per ISO week across restarts and
 * crashes: at start, a herald past this week's scheduled time submits the
 * last week's summary, which stores nothing when it is already there.
 * docs/summary.md describes it.
 */
#ifndef HERALD_SUMMARY_JOB_H
#define HERALD_SUMMARY_JOB_H

#include <jansson.h>
#include <time.h>

#include "core/summary.h"
#include "daemon/api.h"
#include "daemon/metrics.h"
#include "daemon/store.h"
#include "lib/errbuf.h"

/*
 * Computes week's summary into out (release with summary_release()) from
 * the events received from SUMMARY_LOOKBACK_S before the week's start to
 * SUMMARY_LATE_S after its end (store_walk_events()), each at its
 * timestamp, else when it was received. pairs as summary_compute().
 * HERALD_EIO when the store cannot be read (out then holds nothing).
 */
int summary_job_collect(struct store *st, struct summary_week week,
			const struct summary_pair *pairs, size_t pairs_nr,
			struct summary *out, struct errbuf *err);

/*
 * The stored event of s's summary (new reference): a "message" event with
 * the id "summary-YYYY-Www", a title, the plain text as its description,
 * the channel (NULL: none), and two members herald's event format does
 * not have (so no API client can send them): "summary", the JSON of
 * summary_to_json(), and "rendered", the message bodies {"slack",
 * "discord"} the engine posts as they are (summary_job_rendered()).
 */
json_t *summary_job_event(const struct summary *s, const char *channel);

/*
 * The message body stored for provider (its provider_kind_name(); the log
 * provider prints Slack's) when body, a stored event's JSON text, is a
 * summary (new reference), else NULL.
 */
json_t *summary_job_rendered(const char *body, const char *provider);

struct summary_job_options {
	struct store *store;
	/*
	 * The snapshot whose configuration gives the schedule and the pairs
	 * (read at start), and the default channel and provider (read when
	 * a summary is submitted, so SIGHUP's changes count).
	 */
	struct api_routing *routing;
	struct metrics *metrics;	/* may be NULL */
	api_wake_fn *wake;		/* engine_api_wake */
	void *wake_arg;
	time_t (*now)(void);		/* the clock; NULL: time() */
};

struct summary_job;

/*
 * Starts the scheduler thread when the configuration has a schedule
 * (*out NULL otherwise: nothing to do). HERALD_EIO when the thread cannot
 * start.
 */
int summary_job_start(struct summary_job **out,
		      const struct summary_job_options *opt,
		      struct errbuf *err);
/*
 * Builds week's summary and submits it. Returns 0 when it was stored now,
 * 1 when the week's summary was already stored (nothing done), or a
 * negative code with err set. The scheduler's step, for tests too.
 */
int summary_job_submit(struct summary_job *j, struct summary_week week,
		       struct errbuf *err);
/* Stops the thread (a summary being stored finishes first) and frees j. */
void summary_job_stop(struct summary_job *j);

#endif
