/*
 * engine_write: the engine's changes to the store. The loop gathers the
 * updates of its turns (with copies of the strings they point to) and
 * hands them to the writer thread as one batch, which it writes (joining
 * the store's group commit) while the loop goes on; the loop takes the
 * batch back once it is written, and only then lets the queues that
 * waited for it go on.
 *
 * A batch is done only once it is committed. When the write fails (disk
 * full, I/O error) the writer tries again, backing off from WRITE_RETRY_MIN
 * to WRITE_RETRY_MAX seconds, and keeps the batch meanwhile: the queues that
 * wait for it stay held, so nothing is posted whose state could not be kept
 * (after a restart it would be posted again). The failure is logged once,
 * counted in herald_state_write_failures_total, and /readyz says the store
 * cannot commit (the store reports that itself). Only at shutdown does the
 * writer give a failing batch up, and says how many states were lost.
 *
 * engine__writer_main() runs on the writer thread; the rest on the loop
 * thread (and engine_free()'s).
 */
#include "daemon/engine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "lib/redact.h"

#define WRITE_RETRY_MIN 0.1
#define WRITE_RETRY_MAX 5.0

/* Keeps copy (allocated) as long as this turn's updates; returns it. */
static const char *keep_copy(struct engine *e, char *copy)
{
	if (e->strs_nr == e->strs_alloc) {
		e->strs_alloc = e->strs_alloc ? e->strs_alloc * 2 : 64;
		e->strs = xrealloc(e->strs, e->strs_alloc * sizeof(*e->strs));
	}
	e->strs[e->strs_nr++] = copy;
	return copy;
}

const char *engine__keep(struct engine *e, const char *s)
{
	return s ? keep_copy(e, xstrdup(s)) : NULL;
}

const char *engine__keep_redacted(struct engine *e, const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	if (!s)
		return NULL;
	redact(&sb, s, strlen(s), NULL);
	return keep_copy(e, strbuf_detach(&sb, NULL));
}

struct store_update *engine__update(struct engine *e,
				    enum store_update_kind kind, int64_t id)
{
	struct store_update *u;

	if (e->ups_nr == e->ups_alloc) {
		e->ups_alloc = e->ups_alloc ? e->ups_alloc * 2 : 64;
		e->ups = xrealloc(e->ups, e->ups_alloc * sizeof(*e->ups));
	}
	if (!e->ups_nr)
		e->ups_first = monotonic_now();
	u = &e->ups[e->ups_nr++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->id = id;
	u->at = store_now();
	return u;
}

static int apply(struct engine *e, const struct store_update *ups,
		 size_t nr, struct errbuf *err)
{
	return nr ? store_apply(e->store, ups, nr, err) : 0;
}

static void log_write_failed(size_t nr, const char *why, const char *what)
{
	struct log_line l;

	log_begin(&l, LOG_ERROR, "store write failed");
	log_int(&l, "updates", (long long)nr);
	log_str(&l, "error", why);
	log_str(&l, "then", what);
	log_end(&l);
}

static void free_strs(char **strs, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(strs[i]);
}

void engine__flush_updates(struct engine *e)
{
	struct errbuf err;

	/* Without a writer thread: at start-up, in tests, and at shutdown. */
	if (apply(e, e->ups, e->ups_nr, &err) < 0) {
		metrics_state_write_failed(e->metrics);
		log_write_failed(e->ups_nr, err.msg,
				 "given up: those notifications may be posted again after a restart");
	}
	free_strs(e->strs, e->strs_nr);
	e->strs_nr = 0;
	e->ups_nr = 0;
}

/*
 * Sleeps (on the writer's lock, held) for up to delay seconds, or until
 * asked to quit.
 */
static void writer_sleep(struct engine_worker *w, double delay)
{
	struct timespec ts;
	double whole;

	clock_gettime(CLOCK_REALTIME, &ts);
	delay += ts.tv_nsec / 1e9;
	whole = (double)(long)delay;
	ts.tv_sec += (time_t)whole;
	ts.tv_nsec = (long)((delay - whole) * 1e9);
	while (!w->quit &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT)
		;
}

/*
 * Writes the batch, trying again until it is committed or the engine
 * stops. Called without the writer's lock.
 */
static void write_batch(struct engine *e, struct writer *wr)
{
	struct engine_worker *w = &wr->worker;
	double delay = WRITE_RETRY_MIN;
	struct errbuf err;
	long failures = 0;
	int quit;

	for (;;) {
		if (!apply(e, wr->ups, wr->ups_nr, &err))
			break;
		metrics_state_write_failed(e->metrics);
		pthread_mutex_lock(&w->lock);
		quit = w->quit;
		pthread_mutex_unlock(&w->lock);
		if (quit) {
			log_write_failed(wr->ups_nr, err.msg,
					 "given up at shutdown: those notifications may be posted again after a restart");
			return;
		}
		if (!failures++)
			log_write_failed(wr->ups_nr, err.msg,
					 "trying again; their destinations wait until it is written");
		pthread_mutex_lock(&w->lock);
		writer_sleep(w, delay);
		pthread_mutex_unlock(&w->lock);
		delay = delay * 2 < WRITE_RETRY_MAX ? delay * 2 : WRITE_RETRY_MAX;
	}
	if (failures) {
		struct log_line l;

		log_begin(&l, LOG_INFO, "store write succeeded again");
		log_int(&l, "updates", (long long)wr->ups_nr);
		log_int(&l, "failures", failures);
		log_end(&l);
	}
}

void *engine__writer_main(void *arg)
{
	struct engine *e = arg;
	struct writer *wr = &e->wr;
	struct engine_worker *w = &wr->worker;

	pthread_setname_np(pthread_self(), "herald-write");
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!(wr->ups && !wr->done) && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!wr->ups || wr->done)
			break;		/* quit, with nothing left to write */
		pthread_mutex_unlock(&w->lock);
		write_batch(e, wr);
		pthread_mutex_lock(&w->lock);
		wr->done = 1;
		engine_wakeup(e);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void engine__hand_updates(struct engine *e)
{
	struct writer *wr = &e->wr;

	if (!wr->worker.started) {
		engine__flush_updates(e);
		return;
	}
	if (e->writing || !e->ups_nr)
		return;
	pthread_mutex_lock(&wr->worker.lock);
	wr->ups = e->ups;
	wr->ups_nr = e->ups_nr;
	wr->strs = e->strs;
	wr->strs_nr = e->strs_nr;
	wr->done = 0;
	pthread_cond_signal(&wr->worker.cond);
	pthread_mutex_unlock(&wr->worker.lock);
	e->writing = e->ups_nr;
	e->ups = NULL;
	e->ups_nr = e->ups_alloc = 0;
	e->strs = NULL;
	e->strs_nr = e->strs_alloc = 0;
	engine__qlist_splice(&e->held_writing, &e->held);
}

void engine__take_written(struct engine *e)
{
	struct writer *wr = &e->wr;
	struct store_update *ups;
	char **strs;
	size_t strs_nr;

	if (!e->writing)
		return;
	pthread_mutex_lock(&wr->worker.lock);
	if (!wr->done) {
		pthread_mutex_unlock(&wr->worker.lock);
		return;
	}
	ups = wr->ups;
	strs = wr->strs;
	strs_nr = wr->strs_nr;
	wr->ups = NULL;
	wr->strs = NULL;
	wr->ups_nr = wr->strs_nr = 0;
	wr->done = 0;
	pthread_mutex_unlock(&wr->worker.lock);
	free(ups);
	free_strs(strs, strs_nr);
	free(strs);
	e->writing = 0;
	engine__qlist_splice(&e->ready, &e->held_writing);
}
