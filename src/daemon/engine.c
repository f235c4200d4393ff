/*
 * engine: per-destination queues, pacing, retries, stories and batched
 * store writes for `herald serve` (see engine.h and docs/delivery.md;
 * engine_internal.h describes the data and which file does what).
 *
 * This file is the loop: the inbox where other threads hand notifications
 * in, one turn of the loop (engine_run_once()), the pacing that decides
 * whether a queue's head may go now, and the engine's life cycle, which
 * starts and stops its three threads (resolver, preparer, writer). It runs
 * on the loop thread (the caller of engine_run_once()), but for
 * engine_enqueue(), engine_api_wake(), engine_api_queued() and
 * engine_wakeup(), which any thread may call.
 */
#include "daemon/engine_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/metrics.h"

/*
 * Requests in flight at most (each costs a connection and ~20 KB); more
 * destinations ready than this take turns.
 */
#define MAX_IN_FLIGHT 256
/*
 * Under load the changes of several turns share one transaction: they are
 * written once this many are waiting, once the oldest has waited
 * FLUSH_DELAY_S, or at once when nothing else could use the time (see
 * flush_due()).
 */
#define FLUSH_MAX_UPDATES 3000
#define FLUSH_DELAY_S 0.01

/* ---- the inbox ---- */

void engine_enqueue(struct engine *e, const int64_t *ids, size_t nr)
{
	if (!nr)
		return;
	pthread_mutex_lock(&e->lock);
	if (e->inbox_nr + nr > e->inbox_alloc) {
		while (e->inbox_nr + nr > e->inbox_alloc)
			e->inbox_alloc = e->inbox_alloc ?
				e->inbox_alloc * 2 : 256;
		e->inbox = xrealloc(e->inbox, e->inbox_alloc * sizeof(*ids));
	}
	memcpy(e->inbox + e->inbox_nr, ids, nr * sizeof(*ids));
	e->inbox_nr += nr;
	pthread_mutex_unlock(&e->lock);
	engine_wakeup(e);
}

void engine_api_wake(void *arg, const int64_t *ids, size_t nr)
{
	engine_enqueue(arg, ids, nr);
}

void engine_api_queued(void *arg, struct api_queued *qd, size_t nr)
{
	struct engine *e = arg;

	if (!nr)
		return;
	pthread_mutex_lock(&e->lock);
	if (e->qin_nr + nr > e->qin_alloc) {
		while (e->qin_nr + nr > e->qin_alloc)
			e->qin_alloc = e->qin_alloc ? e->qin_alloc * 2 : 256;
		e->qin = xrealloc(e->qin, e->qin_alloc * sizeof(*e->qin));
	}
	for (size_t i = 0; i < nr; i++) {
		e->qin[e->qin_nr++] = qd[i];
		memset(&qd[i], 0, sizeof(qd[i]));
	}
	pthread_mutex_unlock(&e->lock);
	engine_wakeup(e);
}

void engine_wakeup(struct engine *e)
{
	http_client_wakeup(e->client);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int has_id(const int64_t *ids, size_t nr, int64_t id)
{
	return bsearch(&id, ids, nr, sizeof(*ids), cmp_id) != NULL;
}

/*
 * Reads the notifications ids[0..nr-1] (sorted, within STORE_LIST_MAX of
 * each other) with one query, and queues them in id order. Returns -1
 * when the query failed.
 */
static int take_range(struct engine *e, const int64_t *ids, size_t nr)
{
	struct store_filter f = STORE_FILTER_INIT;
	struct store_record *recs = NULL;
	size_t n = 0;
	struct errbuf err;

	f.before = ids[nr - 1] + 1;
	f.limit = (size_t)(ids[nr - 1] - ids[0] + 1);
	if (store_list(e->store, &f, &recs, &n, &err) < 0)
		return -1;
	for (size_t i = n; i-- > 0;)	/* newest first: walk backwards */
		if (has_id(ids, nr, recs[i].id))
			engine__add_item(e, &recs[i]);
	store_record_array_free(recs, n);
	return 0;
}

static int cmp_queued(const void *a, const void *b)
{
	int64_t x = ((const struct api_queued *)a)->id;
	int64_t y = ((const struct api_queued *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * Takes notifications handed in by engine_api_queued() into their queues,
 * keeping their events while the cache has room.
 */
static void take_queued(struct engine *e, struct api_queued *qd, size_t nr)
{
	qsort(qd, nr, sizeof(*qd), cmp_queued);
	for (size_t i = 0; i < nr; i++) {
		struct store_record rec;

		memset(&rec, 0, sizeof(rec));
		rec.id = qd[i].id;
		rec.destination = qd[i].destination;
		rec.correlation_key = qd[i].correlation_key;
		rec.state = STORE_QUEUED;
		rec.created_at = qd[i].created_at;
		engine__cache_queued(e, engine__add_item(e, &rec), &qd[i]);
		api_queued_release(&qd[i]);
	}
	free(qd);
}

/* Takes what engine_enqueue() and engine_api_queued() handed in. */
static void take_inbox(struct engine *e)
{
	int64_t *ids;
	struct api_queued *qd;
	size_t nr, qd_nr, i = 0, keep_nr = 0;

	pthread_mutex_lock(&e->lock);
	ids = e->inbox;
	nr = e->inbox_nr;
	e->inbox = NULL;
	e->inbox_nr = e->inbox_alloc = 0;
	qd = e->qin;
	qd_nr = e->qin_nr;
	e->qin = NULL;
	e->qin_nr = e->qin_alloc = 0;
	pthread_mutex_unlock(&e->lock);
	if (qd_nr)
		take_queued(e, qd, qd_nr);
	else
		free(qd);
	if (!nr)
		return;
	qsort(ids, nr, sizeof(*ids), cmp_id);
	for (i = 0; i < nr; i++)	/* unique ids not held yet */
		if ((!keep_nr || ids[keep_nr - 1] != ids[i]) &&
		    !engine__find_item(e, ids[i]))
			ids[keep_nr++] = ids[i];
	if (e->pr.worker.started) {
		/* The preparer reads them; add_item() when they are back. */
		if (keep_nr)
			engine__hand_load(e, ids, keep_nr);
		else
			free(ids);
		return;
	}
	for (i = 0; i < keep_nr;) {
		size_t k = i;

		while (k + 1 < keep_nr && ids[k + 1] - ids[i] < STORE_LIST_MAX)
			k++;
		if (take_range(e, ids + i, k - i + 1) < 0) {
			for (size_t j = i; j <= k; j++) {
				struct store_record rec;
				struct errbuf err;

				if (store_get(e->store, ids[j], &rec, &err) < 0)
					continue;
				engine__add_item(e, &rec);
				store_record_release(&rec);
			}
		}
		i = k + 1;
	}
	free(ids);
}

static int inbox_waiting(struct engine *e)
{
	int n;

	pthread_mutex_lock(&e->lock);
	n = e->inbox_nr > 0 || e->qin_nr > 0;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* ---- pacing ---- */

/* Tries the head of a ready queue. */
static void try_queue(struct engine *e, struct queue *q, double now)
{
	struct item *it = q->head;
	double at, wait;

	if (!it || q->inflight)
		return;
	if (e->p && e->paused) {
		engine__qlist_push(&e->paused_list, q);
		return;
	}
	at = q->blocked_until > it->not_before ? q->blocked_until :
		it->not_before;
	if (at > now) {
		engine__wait_until(e, q, at);
		return;
	}
	if (!e->p) {
		engine__send_log(e, q);
		return;
	}
	if (!engine__have_channel(e, q))
		return;
	if (e->in_flight >= MAX_IN_FLIGHT) {
		engine__qlist_push(&e->slot_wait, q);
		return;
	}
	wait = pace_bucket_wait(&q->bucket, now);
	if (wait > 0) {
		engine__wait_until(e, q, now + wait);
		return;
	}
	if (e->global_blocked_until > now ||
	    pace_bucket_wait(&e->global, now) > 0) {
		engine__qlist_push(&e->parked, q);
		return;
	}
	pace_bucket_take(&q->bucket, now);
	pace_bucket_take(&e->global, now);
	engine__dispatch(e, q, now);
}

/* When the parked queues may try again (monotonic). */
static double parked_at(struct engine *e, double now)
{
	double at = now + pace_bucket_wait(&e->global, now);

	if (e->global_blocked_until > at)
		at = e->global_blocked_until;
	return at;
}

/* Moves queues whose time has come to the ready list. */
static void run_timers(struct engine *e, double now)
{
	const struct heap_entry *top;

	while ((top = heap_top(&e->timers)) && top->key <= now) {
		struct queue *q = top->data;
		double at = top->key;

		heap_pop(&e->timers);
		if (q->timer_at != at)
			continue;	/* superseded */
		q->timer_at = 0;
		engine__make_ready(e, q);
	}
	if (e->parked.head && parked_at(e, now) <= now)
		engine__qlist_splice(&e->ready, &e->parked);
}

/* ---- the loop ---- */

/* How long the loop may sleep, in ms, at most max_ms. */
static int sleep_ms(struct engine *e, double now, int max_ms)
{
	double until = now + max_ms / 1000.0;
	const struct heap_entry *top = heap_top(&e->timers);

	if (e->ready.head || inbox_waiting(e))
		return 0;
	if (!e->draining) {
		if (top && top->key < until)
			until = top->key;
		if (e->parked.head && parked_at(e, now) < until)
			until = parked_at(e, now);
		if (e->paused && !e->probing && e->probe_at < until)
			until = e->probe_at;
	}
	if (e->unmarked && e->unmarked->mark_at < until)
		until = e->unmarked->mark_at;
	/* While the writer is busy, it wakes the loop when it is done. */
	if (e->ups_nr && !e->writing && e->ups_first + FLUSH_DELAY_S < until)
		until = e->ups_first + FLUSH_DELAY_S;
	if (until <= now)
		return 0;
	return (int)ceil((until - now) * 1000.0);
}

/*
 * Whether to write the changes now. Under load (requests in flight, and
 * queues waiting for a free slot) they wait for company, for FLUSH_DELAY_S
 * at most: a bigger transaction costs less per change.
 */
static int flush_due(struct engine *e, double now)
{
	if (!e->ups_nr)
		return 0;
	return e->ups_nr >= FLUSH_MAX_UPDATES ||
	       now - e->ups_first >= FLUSH_DELAY_S || e->draining ||
	       !e->in_flight || !e->slot_wait.head;
}

void engine_run_once(struct engine *e, int max_wait_ms)
{
	double now = monotonic_now();
	struct queue *q;

	log_hold();		/* the turn's lines go out together */
	http_client_poll(e->client, sleep_ms(e, now, max_wait_ms));
	engine__take_written(e);
	take_inbox(e);
	engine__take_resolved(e);
	engine__take_prepared(e);
	if (!e->draining) {
		now = monotonic_now();
		if (e->paused && !e->probing && now >= e->probe_at)
			engine__probe(e);
		run_timers(e, now);
		while ((q = engine__qlist_pop(&e->ready)))
			try_queue(e, q, now);
	}
	engine__hand_out(e);
	now = monotonic_now();
	engine__mark_sending(e, now);
	if (flush_due(e, now))
		engine__hand_updates(e);
	if (!e->ups_nr)
		engine__qlist_splice(&e->ready, &e->held);
	if (e->wrote) {
		fflush(e->out);
		e->wrote = 0;
	}
	metrics_queue_depth(e->metrics, (double)e->pending);
	engine__silences_tick(e);
	log_flush();
}

void engine_drain(struct engine *e)
{
	e->draining = 1;
}

void engine_stats(struct engine *e, struct engine_stats *out)
{
	*out = e->stats;
	out->pending = e->pending + e->loading;
	out->unwritten = e->ups_nr + e->writing;
	out->in_flight = e->in_flight;
	out->destinations = e->queues.nr;
}

/* ---- life cycle ---- */

static void worker_init(struct engine_worker *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

/* Starts the worker's thread, fn(e). */
static int worker_start(struct engine_worker *w, void *(*fn)(void *),
			struct engine *e, const char *what,
			struct errbuf *err)
{
	if (pthread_create(&w->thread, NULL, fn, e))
		return errbuf_set(err, HERALD_EIO, "cannot start the %s thread",
				  what);
	w->started = 1;
	return 0;
}

/* Tells a started worker to quit and joins it. */
static void worker_stop(struct engine_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = 0;
}

static void worker_destroy(struct engine_worker *w)
{
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
}

int engine_new(struct engine **out, const struct engine_options *opt,
	       struct errbuf *err)
{
	const struct config *cfg = opt->cfg;
	struct http_client_options ho = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.request_timeout_ms = cfg->request_timeout_ms,
		.allow_insecure_http = cfg->allow_insecure_http,
	};
	struct engine *e = xcalloc(1, sizeof(*e));
	double grate;
	int ret;

	*out = NULL;
	e->store = opt->store;
	e->routing = opt->routing;
	e->metrics = opt->metrics;
	e->p = opt->provider;
	e->kind = e->p ? e->p->ops->kind : PROVIDER_LOG;
	e->pname = e->p ? e->p->ops->name : "log";
	e->out = opt->out ? opt->out : stdout;
	e->slack_rate = pace_rate_with_margin(cfg->slack_rate);
	e->slack_burst = cfg->slack_burst;
	e->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 0;
	e->max_age_s = cfg->max_age_s > 0 ? (double)cfg->max_age_s : 86400;
	e->story_window = cfg->story_window_s > 0 ?
			  (double)cfg->story_window_s : 86400;
	e->digest_threshold = cfg->digest_threshold > 0 ?
			      cfg->digest_threshold : 0;
	e->digest_after = cfg->digest_after_s > 0 ?
			  (double)cfg->digest_after_s : 30;
	e->backoff_base = opt->backoff_base_s > 0 ? opt->backoff_base_s : 1.0;
	e->backoff_cap = opt->backoff_cap_s > 0 ? opt->backoff_cap_s : 300.0;
	e->probe_base = opt->probe_base_s > 0 ? opt->probe_base_s : 5.0;
	e->probe_cap = opt->probe_cap_s > 0 ? opt->probe_cap_s : 300.0;
	grate = pace_rate_with_margin(e->kind == PROVIDER_SLACK ?
				      cfg->slack_workspace_rate :
				      e->kind == PROVIDER_DISCORD ?
				      cfg->discord_global_rate : 0);
	pace_bucket_init(&e->global, grate, grate, monotonic_now());
	e->ready_ok = 1;
	e->rng = random_seed();
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->story_lock, NULL);
	pthread_mutex_init(&e->silence_lock, NULL);
	e->silences_next_end = INFINITY;
	worker_init(&e->rs.worker);
	worker_init(&e->pr.worker);
	worker_init(&e->wr.worker);
	ret = http_client_new(&e->client, &ho, err);
	if (!ret && e->p)
		ret = http_client_new(&e->sync, &ho, err);
	if (!ret && e->p && http_client_check_url(e->client, e->p->api_url,
						   err) < 0)
		ret = HERALD_EINVAL;
	if (!ret && e->p)
		ret = worker_start(&e->rs.worker, engine__resolver_main, e,
				   "resolver", err);
	if (!ret && e->p)
		ret = worker_start(&e->pr.worker, engine__preparer_main, e,
				   "preparer", err);
	if (!ret && e->p)
		ret = worker_start(&e->wr.worker, engine__writer_main, e,
				   "writer", err);
	if (ret) {
		engine_free(e);
		return ret;
	}
	*out = e;
	return 0;
}

static int load_one(void *arg, const struct store_record *rec)
{
	struct engine *e = arg;
	struct item *it = engine__add_item(e, rec);

	if (e->pr.worker.started)
		engine__cache_record(e, it, (struct store_record *)rec, 0);
	return 0;
}

int engine_load(struct engine *e, size_t *recovered, size_t *pending,
		struct errbuf *err)
{
	size_t before = e->pending, rec_nr = 0;
	int ret;

	ret = store_recover(e->store, &rec_nr, err);
	if (!ret)
		ret = engine_silences_reload(e, err);
	if (!ret)
		ret = store_load_pending(e->store, load_one, e, err);
	if (recovered)
		*recovered = rec_nr;
	if (pending)
		*pending = e->pending - before;
	return ret;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	/* Waits for a provider call in progress (bounded by the timeouts). */
	worker_stop(&e->rs.worker);
	engine__resolver_clear(e);
	worker_destroy(&e->rs.worker);
	/* Heads it has not finished are freed with their queues. */
	worker_stop(&e->pr.worker);
	engine__preparer_clear(e);
	worker_destroy(&e->pr.worker);
	/* It writes the batch it has before it quits. */
	worker_stop(&e->wr.worker);
	engine__take_written(e);
	worker_destroy(&e->wr.worker);
	/* Requests abandoned in flight stay "sending" for the next start. */
	engine__mark_sending(e, INFINITY);
	engine__flush_updates(e);
	/* Abandons transfers in flight: their flights are freed here. */
	engine__queues_free(e);
	/* Freeing the client runs no callbacks: the flights are gone. */
	http_client_free(e->client);
	http_client_free(e->sync);
	engine__stories_clear(e);
	htab_release(&e->stories);
	htab_release(&e->queues);
	htab_release(&e->items);
	heap_release(&e->timers);
	free(e->ups);
	free(e->strs);
	free(e->inbox);
	for (size_t i = 0; i < e->qin_nr; i++)
		api_queued_release(&e->qin[i]);
	free(e->qin);
	engine__silences_clear(e);
	pthread_mutex_destroy(&e->silence_lock);
	pthread_mutex_destroy(&e->story_lock);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
