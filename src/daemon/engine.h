/*
 * engine: the delivery loop of `herald serve`.
 *
 * The engine owns delivery. It keeps one FIFO queue per destination in
 * memory (only ids and timing; event bodies are read from the store when a
 * notification's turn comes), sends at most one request per destination at
 * a time, so order within a destination holds, and drives any number of
 * destinations at once on http_client's multi interface. It renders at
 * delivery time from the stored event with the current routing snapshot,
 * edits a story's message instead of posting a new one, paces requests to
 * the platforms' limits, retries with backoff, pauses the provider when
 * its credentials are rejected, and writes every change to the store in
 * batches (docs/delivery.md describes the behaviour).
 *
 * Threads: everything runs on the thread that calls engine_run_once(),
 * except engine_enqueue(), engine_wakeup(), engine_api_wake(),
 * engine_api_queued() and engine_api_ready(), which any thread may call.
 * With a platform provider the engine has three threads of its own: the
 * resolver, for the provider's synchronous calls (resolve() and
 * identify()), so a slow lookup never stalls the loop; the preparer, which
 * prepares requests (reads the event from the store, renders it, calls
 * post_request() or update_request()), so the loop's thread only moves
 * requests and reads answers (parse_response()); and the writer, which
 * writes the loop's state changes to the store while the loop goes on. A
 * provider's request builders must therefore not touch state its other
 * calls change.
 */
#ifndef HERALD_ENGINE_H
#define HERALD_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/api.h"
#include "core/config.h"
#include "lib/errbuf.h"
#include "daemon/metrics.h"
#include "delivery/provider.h"
#include "daemon/store.h"
#include "lib/strbuf.h"

struct engine_options {
	struct store *store;
	struct api_routing *routing;	/* commit URL and catalog */
	struct metrics *metrics;	/* may be NULL */
	/*
	 * The platform, or NULL for the log provider: each notification is
	 * then rendered (Slack shape) and written to out as one JSON line
	 * {"notification_id", "destination", "body"}, and counts as
	 * delivered. The engine does not take ownership.
	 */
	struct provider *provider;
	FILE *out;			/* NULL: stdout */
	/*
	 * Pacing, retries and HTTP settings: slack_rate, slack_burst,
	 * slack_workspace_rate, discord_global_rate, max_attempts (0: no
	 * limit), max_age_s, connect/request timeouts, allow_insecure_http.
	 * Read during engine_new() only.
	 */
	const struct config *cfg;
	double backoff_base_s;		/* 0: 1 s */
	double backoff_cap_s;		/* 0: 300 s */
	double probe_base_s;		/* auth probe backoff; 0: 5 s */
	double probe_cap_s;		/* 0: 300 s */
};

/* What the engine did since it started. */
struct engine_stats {
	uint64_t delivered;
	uint64_t failed;		/* failed and dead */
	uint64_t retried;		/* retryable failures */
	uint64_t rate_limited;		/* 429 answers */
	uint64_t attempts;		/* requests sent (and log lines) */
	uint64_t edits;			/* deliveries that edited a story */
	size_t pending;			/* notifications held (queued,
					   waiting or in flight) */
	size_t in_flight;
	size_t unwritten;		/* state changes not in the store yet */
	size_t destinations;
	int paused;			/* the provider's credentials failed */
};

struct engine;

/* Creates an engine (no I/O yet). Free with engine_free(). */
int engine_new(struct engine **out, const struct engine_options *opt,
	       struct errbuf *err);
/*
 * Crash recovery and loading: store_recover() (sending → queued), then
 * every pending notification into its queue. *recovered and *pending
 * (either may be NULL) say how many.
 */
int engine_load(struct engine *e, size_t *recovered, size_t *pending,
		struct errbuf *err);
/*
 * Hands the engine notifications to deliver (just accepted, or queued
 * again by a retry). Ids it already holds are ignored. Thread-safe; wakes
 * the loop.
 */
void engine_enqueue(struct engine *e, const int64_t *ids, size_t nr);
/* Makes a waiting engine_run_once() return soon. Thread-safe. */
void engine_wakeup(struct engine *e);
/*
 * One iteration of the loop: waits up to max_wait_ms (less when a timer is
 * due sooner, not at all when work is waiting) for transfers, then takes
 * in new notifications, starts what may start, and writes the changes to
 * the store in one transaction.
 */
void engine_run_once(struct engine *e, int max_wait_ms);
/*
 * Shutdown: from now on no new request starts; requests in flight finish
 * (keep calling engine_run_once() until engine_stats().in_flight is 0 or
 * the grace period is over). Notifications not delivered stay in the
 * store for the next start.
 */
void engine_drain(struct engine *e);
void engine_stats(struct engine *e, struct engine_stats *out);
/*
 * Frees the engine. Transfers still in flight are abandoned: their
 * notifications stay "sending" in the store and go back to the queue at
 * the next start.
 */
void engine_free(struct engine *e);

/* api_wake_fn: arg is the engine. */
void engine_api_wake(void *arg, const int64_t *ids, size_t nr);
/*
 * api_queued_fn: arg is the engine. Like engine_api_wake(), but the engine
 * keeps the events (within its cache), so it need not read them back.
 */
struct api_queued;
void engine_api_queued(void *arg, struct api_queued *qd, size_t nr);
/*
 * Reads the silences in effect from the store and applies them from now
 * on, in place of those the engine had (engine_load() does it too).
 * Thread-safe.
 */
int engine_silences_reload(struct engine *e, struct errbuf *err);
/* api_silences_fn: arg is the engine; engine_silences_reload(), logged. */
void engine_api_silences(void *arg);
/* api_ready_fn: 0 with why while the provider is paused. */
int engine_api_ready(void *arg, struct strbuf *why);

#endif
