/*
 * metrics: counters, gauges and histograms in the Prometheus text format.
 *
 * Two layers. A struct metric_registry holds metric families (a name, help
 * text, label names) and their series (one per combination of label
 * values); it is generic and knows the exposition format (0.0.4). A struct
 * metrics is herald's own set of families on a registry, with one function
 * per thing the daemon counts. Updates are thread-safe and may come from
 * any thread; families are registered before the registry is shared.
 */
#ifndef HERALD_METRICS_H
#define HERALD_METRICS_H

#include <stddef.h>

#include "lib/strbuf.h"

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

/* At most this many label names per family and series per family. */
#define METRIC_MAX_LABELS 4
#define METRIC_MAX_SERIES 10000

struct metric_registry;
struct metric;

struct metric_registry *metric_registry_new(void);
void metric_registry_free(struct metric_registry *reg);

/*
 * Registers a family; label names follow, ending with NULL. A family
 * without labels has its one series (at 0) from the start. Returns the
 * family, owned by the registry. Names are the caller's to get right
 * (they are constants); a bad call aborts.
 */
struct metric *metric_registry_counter(struct metric_registry *reg,
				       const char *name, const char *help, ...)
	__attribute__((sentinel));
struct metric *metric_registry_gauge(struct metric_registry *reg,
				     const char *name, const char *help, ...)
	__attribute__((sentinel));
/* buckets: upper bounds in increasing order; +Inf is implied. */
struct metric *metric_registry_histogram(struct metric_registry *reg,
					 const char *name, const char *help,
					 const double *buckets, size_t buckets_nr,
					 ...)
	__attribute__((sentinel));

/*
 * Updates the series with these label values (one per label name, in
 * order; NULL for a family without labels). Counters only go up: a
 * negative add is ignored. A series beyond METRIC_MAX_SERIES is dropped.
 */
void metric_add(struct metric *m, const char *const *values, double v);
void metric_set(struct metric *m, const char *const *values, double v);
void metric_observe(struct metric *m, const char *const *values, double v);
/* The current value of a counter or gauge series (0 when absent); tests. */
double metric_value(struct metric *m, const char *const *values);
/* The observation count of a histogram series; tests. */
unsigned long long metric_count(struct metric *m, const char *const *values);

#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__ })

/*
 * Appends the exposition of every family in registration order: # HELP
 * and # TYPE lines, then the series sorted by label values. Returns 0, or
 * -1 when out's cap was reached.
 */
int metric_registry_expose(struct metric_registry *reg, struct strbuf *out);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* herald's metrics. Every function accepts m == NULL and then does nothing. */
struct metrics {
	struct metric_registry *reg;
	struct metric *events_received;		/* {type,source} */
	struct metric *notifications;		/* {provider,state} */
	struct metric *delivery_attempts;	/* {provider,result} */
	struct metric *rate_limited;		/* {provider} */
	struct metric *resent;			/* {provider} */
	struct metric *digests;			/* {provider} */
	struct metric *digest_notifications;	/* {provider} */
	struct metric *state_write_failures;
	struct metric *queue_depth;
	struct metric *silences_active;
	struct metric *delivery_latency;	/* seconds, accepted→delivered */
	struct metric *http_requests;		/* {path,code} */
	struct metric *build_info;		/* {version} = 1 */
	struct metric *summaries;		/* weekly summaries stored */
	struct metric *summary_week;		/* the last one's YYYYWW */
	struct metric *summary_time;		/* and when, Unix seconds */
	struct metric *pruned_rows;		/* {table} */
	struct metric *prune_batch;		/* seconds, one write transaction */
	struct metric *prune_last_run;		/* Unix time of the last pass */
	struct metric *prune_last_duration;	/* seconds */
};

void metrics_init(struct metrics *m, const char *version);
void metrics_release(struct metrics *m);

void metrics_event_received(struct metrics *m, const char *type,
			    const char *source);
/* A notification reached state (queued, delivered, failed, dead, …). */
void metrics_notification(struct metrics *m, const char *provider,
			  const char *state);
/* result: a delivery outcome ("ok", "retry", "permanent", "auth"). */
void metrics_delivery_attempt(struct metrics *m, const char *provider,
			      const char *result);
void metrics_rate_limited(struct metrics *m, const char *provider);
/*
 * A digest was posted (edit 0) or edited (edit 1), delivering
 * notifications notifications; only a post counts as a digest sent.
 */
void metrics_digest(struct metrics *m, const char *provider, int edit,
		    size_t notifications);
/*
 * The HTTP client sent a request again, times times, on a new connection
 * after the reused one closed without an answer (http_response.resent).
 */
void metrics_request_resent(struct metrics *m, const char *provider,
			    int times);
/* A write of delivery states failed (the engine tries it again). */
void metrics_state_write_failed(struct metrics *m);
void metrics_queue_depth(struct metrics *m, double depth);
/* How many silences are active now. */
void metrics_silences_active(struct metrics *m, double n);
void metrics_delivery_latency(struct metrics *m, double seconds);
/* path: the route pattern ("/api/v1/notifications/{id}"), not the URL. */
void metrics_http_request(struct metrics *m, const char *path, int code);

/*
 * The weekly summary of ISO week year-Wweek is stored (fresh: now, not at
 * an earlier run) at Unix time at.
 */
void metrics_summary(struct metrics *m, int year, int week, int fresh,
		     double at);
/* Retention deleted rows rows of table (in one batch of write_s). */
void metrics_pruned(struct metrics *m, const char *table, double rows);
void metrics_prune_batch(struct metrics *m, double write_s);
/* A pass of retention ended at (Unix seconds) after seconds. */
void metrics_prune_pass(struct metrics *m, double at, double seconds);

int metrics_expose(struct metrics *m, struct strbuf *out);

#endif
