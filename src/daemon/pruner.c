/*
 * pruner: the thread that runs retention in herald serve (pruner.h).
 *
 * Not niced: a batch holds the database's write lock, and a thread of low
 * priority descheduled while holding it would make the accepts wait behind
 * it. It stays out of their way instead by its short batches and by
 * pausing between them, at least PAUSE_MIN_S and four times as long as the
 * last batch took, so it holds the write lock a fifth of the time at most.
 */
#include "daemon/pruner.h"
#include "daemon/log.h"
#include "lib/clock.h"
#include "lib/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAUSE_MIN_S 0.05
#define PAUSE_FACTOR 4
#define TARGET_MS 10.0
#define BATCH_MIN 50

struct pruner {
	struct pruner_options o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	size_t batch;			/* the next batch's rows; 0: o.batch */
};

void pruner_params(const struct pruner_options *o, double now,
		   struct store_prune_params *out)
{
	long keep = o->retention_s;
	double window = o->story_window_s > 0 ? (double)o->story_window_s : 0;

	if (o->keep_at_least_s > keep)
		keep = o->keep_at_least_s;
	memset(out, 0, sizeof(*out));
	out->before = now - (double)keep;
	out->stories_before = out->before < now - window ? out->before :
			      now - window;
	out->now = now;
	out->batch = o->batch;
}

/* Waits up to seconds or until stopped (p NULL: no wait). 1: stopped. */
static int pause_for(struct pruner *p, double seconds)
{
	struct timespec ts;
	int stopped;

	if (!p)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->stopping &&
	       pthread_cond_timedwait(&p->wake, &p->lock, &ts) != ETIMEDOUT)
		;
	stopped = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stopped;
}

static void add_result(struct store_prune_result *sum,
		       const struct store_prune_result *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		size_t j;

		for (j = 0; j < sum->nr; j++)
			if (!strcmp(sum->tables[j].table, r->tables[i].table))
				break;
		if (j == sum->nr) {
			if (sum->nr == STORE_PRUNE_TABLES_MAX)
				continue;
			sum->tables[sum->nr++].table = r->tables[i].table;
		}
		sum->tables[j].rows += r->tables[i].rows;
	}
	sum->rows += r->rows;
}

/* The batch after one of size batch that held the lock for ms. */
static size_t next_batch(size_t batch, size_t max, double ms)
{
	if (ms > TARGET_MS && batch > BATCH_MIN)
		return batch / 2 > BATCH_MIN ? batch / 2 : BATCH_MIN;
	if (ms < TARGET_MS / 2 && batch < max)
		return batch * 2 < max ? batch * 2 : max;
	return batch;
}

/*
 * A pass; with p, pausing between batches, stopping when told, and
 * starting with the batch size the last pass ended with.
 */
static int pass(struct pruner *p, const struct pruner_options *o, double now,
		struct pruner_pass *out, struct errbuf *err)
{
	struct store_prune_params params;
	struct store_prune_result r;
	size_t max = o->batch ? o->batch : STORE_PRUNE_BATCH;
	double start = monotonic_now(), rest;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	pruner_params(o, now, &params);
	params.batch = p && p->batch ? p->batch : max;
	for (;;) {
		ret = store_prune(o->store, &params, &r, err);
		if (ret)
			break;
		out->batches++;
		add_result(&out->total, &r);
		if (r.write_ms > out->longest_batch_ms)
			out->longest_batch_ms = r.write_ms;
		metrics_prune_batch(o->metrics, r.write_ms / 1000);
		params.batch = next_batch(params.batch, max, r.write_ms);
		if (p)
			p->batch = params.batch;
		for (size_t i = 0; i < r.nr; i++)
			metrics_pruned(o->metrics, r.tables[i].table,
				       (double)r.tables[i].rows);
		if (!r.more)
			break;
		rest = r.write_ms * PAUSE_FACTOR / 1000;
		if (pause_for(p, rest > PAUSE_MIN_S ? rest : PAUSE_MIN_S))
			break;
	}
	out->seconds = monotonic_now() - start;
	return ret;
}

int pruner_pass(const struct pruner_options *o, double now,
		struct pruner_pass *out, struct errbuf *err)
{
	return pass(NULL, o, now, out, err);
}

/* Milliseconds to two decimals, for the log. */
static double ms2(double ms)
{
	return (double)(long long)(ms * 100 + 0.5) / 100;
}

static void log_pass(const struct pruner_pass *ps, int failed,
		     const struct errbuf *err)
{
	struct log_line l;

	if (failed) {
		log_event(LOG_ERROR, "pruning failed", "error", err->msg,
			  "then", "trying again at the next pass", NULL);
		return;
	}
	log_begin(&l, ps->total.rows ? LOG_INFO : LOG_DEBUG, "pruned");
	for (size_t i = 0; i < ps->total.nr; i++)
		log_int(&l, ps->total.tables[i].table,
			(long long)ps->total.tables[i].rows);
	log_int(&l, "batches", ps->batches);
	log_double(&l, "longest_batch_ms", ms2(ps->longest_batch_ms));
	log_double(&l, "duration_ms", ms2(ps->seconds * 1000));
	log_end(&l);
}

static void *pruner_main(void *arg)
{
	struct pruner *p = arg;
	struct pruner_pass ps;
	struct errbuf err;
	int failed;

	pthread_setname_np(pthread_self(), "herald-prune");
	if (pause_for(p, PRUNER_FIRST_S))
		return NULL;
	do {
		failed = pass(p, &p->o, store_now(), &ps, &err) < 0;
		log_pass(&ps, failed, &err);
		metrics_prune_pass(p->o.metrics, store_now(), ps.seconds);
	} while (!pause_for(p, PRUNER_INTERVAL_S));
	return NULL;
}

int pruner_start(struct pruner **out, const struct pruner_options *o,
		 struct errbuf *err)
{
	struct pruner *p;

	*out = NULL;
	if (o->retention_s <= 0)
		return 0;
	p = xcalloc(1, sizeof(*p));
	p->o = *o;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, pruner_main, p)) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return errbuf_set(err, HERALD_EIO,
				  "cannot start the retention thread");
	}
	*out = p;
	return 0;
}

void pruner_stop(struct pruner *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
