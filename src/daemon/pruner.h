/*
 * pruner: retention (HERALD_RETENTION) in herald serve.
 *
 * A thread of its own that, a few seconds after start and then every
 * minute, deletes what the retention no longer keeps with store_prune(),
 * batch after batch with a pause between them, so the accepts' group
 * commit waits for one short batch at most. One info line per pass that
 * deleted anything (debug otherwise), and the herald_pruned_rows_total,
 * herald_prune_batch_seconds and herald_prune_last_* metrics.
 * docs/storage.md says what is kept and for how long.
 */
#ifndef HERALD_PRUNER_H
#define HERALD_PRUNER_H

#include "daemon/metrics.h"
#include "daemon/store.h"
#include "lib/errbuf.h"

/* Between passes, and before the first one after start (seconds). */
#define PRUNER_INTERVAL_S 60
#define PRUNER_FIRST_S 2

struct pruner_options {
	struct store *store;		/* the caller's; outlives the pruner */
	struct metrics *metrics;	/* may be NULL */
	long retention_s;		/* HERALD_RETENTION; 0: keep everything */
	long story_window_s;		/* HERALD_STORY_WINDOW */
	/*
	 * Another reader's need, kept even under a shorter retention: e.g.
	 * the weekly summary reads events 22 days back. 0: none.
	 */
	long keep_at_least_s;
	size_t batch;			/* rows per table and batch; 0: default */
};

/* What one pass deleted (pruner_pass()). */
struct pruner_pass {
	struct store_prune_result total;	/* the sum of the batches */
	unsigned batches;
	double longest_batch_ms;		/* write transaction */
	double seconds;				/* the pass, pauses included */
};

struct pruner;

/*
 * Starts the thread; with o->retention_s 0 there is none and *out is NULL
 * (pruner_stop(NULL) is a no-op). HERALD_EIO when it cannot start.
 */
int pruner_start(struct pruner **out, const struct pruner_options *o,
		 struct errbuf *err);
/* Stops the thread (a batch under way finishes first) and frees p. */
void pruner_stop(struct pruner *p);

/*
 * The cutoffs of a pass at now: finished notifications last changed before
 * now - max(retention, keep_at_least) go, and stories last written before
 * both that and the story window.
 */
void pruner_params(const struct pruner_options *o, double now,
		   struct store_prune_params *out);

/*
 * One pass on the caller's thread, without pauses: every batch until
 * nothing is left to delete (tests, and the thread's work). Fills *out.
 */
int pruner_pass(const struct pruner_options *o, double now,
		struct pruner_pass *out, struct errbuf *err);

#endif
