/*
 * engine: per-destination queues, pacing, retries, stories and batched
 * store writes for `herald serve` (see engine.h and docs/delivery.md).
 *
 * Data: every notification the engine holds is a small struct item, found
 * by id in a hash table and linked into its destination's struct queue.
 * A queue is "ready" (on e->ready) when its head may be tried; a queue
 * that must wait for its own time (backoff, 429, its token bucket) sits in
 * the timer heap; one that waits for a shared limit (the Slack workspace
 * or Discord global bucket) is parked on e->parked until that limit has a
 * token; one that waits for the provider to be trusted again is parked on
 * e->paused. A queue whose destination needs a lookup (a DM channel, a
 * Discord channel name) waits for the resolver thread. So a waiting queue
 * never blocks another, and no step scans all queues or all
 * notifications.
 *
 * Pipeline: when a queue's head may go, the loop hands it (as a struct
 * flight, which also marks the queue busy, so one request per destination
 * still holds) to the preparer thread, which reads the event, renders it,
 * picks post or edit and builds the HTTP request; the loop then submits
 * the ready requests. So the loop's thread only moves requests and
 * answers, and the second core does the rendering. A request is marked
 * "sending" in the store once it has been in flight for SENDING_MARK_S;
 * one answered sooner goes straight to its outcome (a crash meanwhile
 * leaves it "queued", which the next start sends again just the same).
 * Notifications just accepted come from the API with their events parsed
 * (engine_api_queued()), kept in a bounded cache so an event is neither
 * read back nor parsed again; others (a retry, the cache full) are read
 * from the store by the preparer.
 *
 * Writes: the loop gathers the store changes of its turns and hands them
 * to the writer thread, which writes them (joining the store's group
 * commit) while the loop goes on; under load the changes of several turns
 * share one transaction. A queue whose outcome is not committed yet waits
 * for it (hold()), so a crash still repeats at most the one request per
 * destination that was in flight.
 */
#include "daemon/engine.h"
#include "inputs/event_json.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/api.h"
#include "core/event.h"
#include "daemon/log.h"
#include "core/pace.h"
#include "core/render.h"
#include "core/route.h"

#define STORY_CACHE_MAX 50000
#define RESOLUTION_TTL_S (24.0 * 3600)
#define NONE_RETRY_AFTER_S 1.0
/*
 * Requests in flight at most (each costs a connection and ~20 KB); more
 * destinations ready than this take turns.
 */
#define MAX_IN_FLIGHT 256
/* How long a request is in flight before the store shows it "sending". */
#define SENDING_MARK_S 0.1
/*
 * Under load the changes of several turns share one transaction: they are
 * written once this many are waiting, once the oldest has waited
 * FLUSH_DELAY_S, or at once when nothing else could use the time (see
 * flush_due()).
 */
#define FLUSH_MAX_UPDATES 3000
#define FLUSH_DELAY_S 0.01
/*
 * Notifications read with their event (just handed in, or loaded at
 * start) keep what sending needs, up to this many bytes in all, so the
 * event is read once; beyond it they are read again when their turn comes.
 */
#define RECORD_CACHE_BYTES (8u << 20)

/* ---- intrusive hash table ---------------------------------------------- */

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb;
	size_t nr;
};

typedef int hnode_eq_fn(const struct hnode *n, const void *key);

static uint64_t hash_id(int64_t id)
{
	uint64_t x = (uint64_t)id;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void htab_grow(struct htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct hnode **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

static struct hnode *htab_find(const struct htab *t, uint64_t hash,
			       hnode_eq_fn *eq, const void *key)
{
	if (!t->nb)
		return NULL;
	for (struct hnode *n = t->b[hash & (t->nb - 1)]; n; n = n->next)
		if (n->hash == hash && eq(n, key))
			return n;
	return NULL;
}

static void htab_add(struct htab *t, struct hnode *n, uint64_t hash)
{
	if (t->nr >= t->nb)
		htab_grow(t);
	n->hash = hash;
	n->next = t->b[hash & (t->nb - 1)];
	t->b[hash & (t->nb - 1)] = n;
	t->nr++;
}

static void htab_del(struct htab *t, struct hnode *n)
{
	struct hnode **pp = &t->b[n->hash & (t->nb - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->nr--;
			return;
		}
	}
}

/* ---- the engine's data -------------------------------------------------- */

struct queue;

/* A notification the engine holds. node must stay first. */
struct item {
	struct hnode node;
	int64_t id;
	struct item *next;		/* in its queue */
	struct queue *q;
	double created_at;		/* wall clock */
	double not_before;		/* monotonic; 0: now */
	int attempts;			/* counted toward HERALD_MAX_ATTEMPTS */
	int tries;			/* requests made, for attempt rows */
	int force_post;			/* its story's message is gone */
	struct store_record *rec;	/* cached: body, destination and
					   correlation key; or NULL */
	struct event *ev;		/* cached: the event as accepted, in
					   place of rec's body; or NULL */
	size_t rec_bytes;		/* of rec and ev */
};

/* One destination's FIFO. node must stay first. */
struct queue {
	struct hnode node;
	char *dest;
	struct item *head, *tail;
	size_t len;
	struct flight *inflight;
	double blocked_until;		/* monotonic */
	struct pace_bucket bucket;
	char *channel_id;		/* resolved, or NULL */
	int resolving;			/* a resolver job is out for it */
	char bucket_id[64];		/* Discord X-RateLimit-Bucket */
	struct queue *link;		/* in e->ready, e->parked or e->paused */
	int listed;
	double timer_at;		/* in the heap at this time; 0: not */
};

/* A story's message, or a known absence (message_id NULL). */
struct story {
	struct hnode node;
	char *key;
	char *destination;
	char *channel_id;
	char *message_id;
};

enum prep_state {
	PREP_READY,		/* req is built */
	PREP_GONE,		/* the notification cannot be read */
	PREP_FAILED,		/* r says why */
};

/*
 * A request being prepared (by the preparer thread) or in flight. While it
 * exists, it is its queue's inflight. The preparer writes rec, edit,
 * message_id, req, r and prep; the loop reads them once it is back.
 */
struct flight {
	struct engine *e;
	struct item *it;
	struct flight *next;		/* in the preparer's lists */
	struct flight *mprev, *mnext;	/* in e->unmarked */
	int64_t id;
	int force_post;
	char *chan;			/* the queue's channel ID */
	struct store_record rec;	/* without body */
	struct event *ev;		/* the event, when it was cached */
	int edit;
	enum prep_state prep;
	struct http_request req;
	struct delivery_result r;
	char channel_id[64];		/* the resolved channel */
	char message_id[64];		/* the story's message, for an edit */
	double started;			/* monotonic */
	double mark_at;			/* due to be marked "sending" */
	int unmarked;			/* in e->unmarked */
};

/* Notifications just handed in, for the preparer to read from the store. */
struct load {
	struct load *next;
	int64_t *ids;			/* sorted, unique */
	size_t nr;
	struct store_record *recs;	/* what was read, in id order */
	size_t recs_nr;
};

/* The thread that prepares requests (see the top of the file). */
struct preparer {
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct flight *todo, *todo_tail;
	struct flight *done, *done_tail;
	struct load *loads, *loads_tail;
	struct load *loaded, *loaded_tail;
	int quit;
};

/*
 * The thread that writes the loop's state changes to the store, so the
 * loop goes on moving requests while a transaction is written. It has
 * one batch at a time; the loop gathers the next meanwhile.
 */
struct writer {
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store_update *ups;	/* the batch, or NULL */
	size_t ups_nr;
	char **strs;			/* the strings it points to */
	size_t strs_nr;
	int done;			/* written: the loop takes it back */
	int quit;
};

struct timer {
	double at;
	struct queue *q;
};

/*
 * Work for the resolver thread: the provider's synchronous calls, which
 * may wait on the network for seconds, so they never stall the loop.
 */
enum job_kind {
	JOB_RESOLVE,		/* the channel ID of q's destination */
	JOB_IDENTIFY,		/* the auth probe */
};

struct job {
	struct job *next;
	enum job_kind kind;
	struct queue *q;
	struct destination d;
	int ret;
	struct strbuf out;		/* channel ID, or who the bot is */
	struct delivery_result r;
};

struct resolver {
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *todo, *todo_tail;
	struct job *done;
	int quit;
};

struct qlist {
	struct queue *head, *tail;
};

struct engine {
	struct store *store;
	struct api_routing *routing;
	struct metrics *metrics;
	struct provider *p;
	enum provider_kind kind;
	const char *pname;
	FILE *out;
	int wrote;

	struct http_client *client;	/* asynchronous: deliveries */
	struct http_client *sync;	/* resolve() and identify() */
	struct resolver rs;		/* the thread that calls them */
	int probing;			/* an identify job is out */
	struct preparer pr;
	struct writer wr;
	size_t writing;			/* updates the writer has; 0: idle */
	struct flight *pout, *pout_tail;	/* for the preparer, this turn */
	struct flight *unmarked, *unmarked_tail;	/* not "sending" yet */

	double slack_rate, slack_burst;
	long max_attempts;
	double max_age_s;
	double backoff_base, backoff_cap, probe_base, probe_cap;

	struct htab items;
	struct htab queues;
	struct htab stories;		/* under story_lock */
	pthread_mutex_t story_lock;
	size_t pending;
	size_t cache_bytes;		/* of the items' cached records */
	size_t loading;			/* ids in loads not taken back yet */
	size_t in_flight;

	struct qlist ready, parked, paused_list;
	struct qlist slot_wait;		/* ready, but MAX_IN_FLIGHT reached */
	struct qlist held;		/* answered; wait for the commit */
	struct qlist held_writing;	/* the same, being written */
	struct timer *heap;
	size_t heap_nr, heap_alloc;

	struct pace_bucket global;	/* workspace or Discord global */
	double global_blocked_until;

	/* Auth pause. */
	int paused;
	double probe_at;
	double probe_delay;

	int draining;

	/* Updates of this iteration and the strings they point to. */
	struct store_update *ups;
	size_t ups_nr, ups_alloc;
	double ups_first;		/* monotonic, of ups[0] */
	char **strs;
	size_t strs_nr, strs_alloc;

	struct engine_stats stats;
	uint64_t rng;

	/* Shared with other threads. */
	pthread_mutex_t lock;
	int64_t *inbox;
	size_t inbox_nr, inbox_alloc;
	struct api_queued *qin;		/* engine_api_queued() */
	size_t qin_nr, qin_alloc;
	int ready_ok;			/* 0 while paused */
	char ready_why[512];
};

static double mono_now(void)
{
	return monotonic_now();
}

static double random_unit(struct engine *e)
{
	uint64_t x = e->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* ---- lists and timers --------------------------------------------------- */

static void qlist_push(struct qlist *l, struct queue *q)
{
	q->link = NULL;
	if (l->tail)
		l->tail->link = q;
	else
		l->head = q;
	l->tail = q;
	q->listed = 1;
}

static struct queue *qlist_pop(struct qlist *l)
{
	struct queue *q = l->head;

	if (!q)
		return NULL;
	l->head = q->link;
	if (!l->head)
		l->tail = NULL;
	q->link = NULL;
	q->listed = 0;
	return q;
}

/* Moves every queue of from to the end of to. */
static void qlist_splice(struct qlist *to, struct qlist *from)
{
	if (!from->head)
		return;
	if (to->tail)
		to->tail->link = from->head;
	else
		to->head = from->head;
	to->tail = from->tail;
	from->head = from->tail = NULL;
}

static void heap_swap(struct engine *e, size_t a, size_t b)
{
	struct timer t = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = t;
}

static void heap_push(struct engine *e, double at, struct queue *q)
{
	size_t i;

	if (e->heap_nr == e->heap_alloc) {
		e->heap_alloc = e->heap_alloc ? e->heap_alloc * 2 : 64;
		e->heap = xrealloc(e->heap, e->heap_alloc * sizeof(*e->heap));
	}
	i = e->heap_nr++;
	e->heap[i].at = at;
	e->heap[i].q = q;
	while (i && e->heap[(i - 1) / 2].at > e->heap[i].at) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_pop(struct engine *e)
{
	size_t i = 0;

	e->heap[0] = e->heap[--e->heap_nr];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < e->heap_nr && e->heap[l].at < e->heap[m].at)
			m = l;
		if (r < e->heap_nr && e->heap[r].at < e->heap[m].at)
			m = r;
		if (m == i)
			break;
		heap_swap(e, i, m);
		i = m;
	}
}

/* The queue's head may be tried now. */
static void make_ready(struct engine *e, struct queue *q)
{
	if (q->listed || q->inflight || !q->head)
		return;
	q->timer_at = 0;
	qlist_push(&e->ready, q);
}

/*
 * The queue's head has its answer: the queue goes on once that outcome is
 * committed, so a crash repeats at most the one request per destination
 * that was in flight.
 */
static void hold(struct engine *e, struct queue *q)
{
	if (q->listed || q->inflight || !q->head)
		return;
	q->timer_at = 0;
	qlist_push(&e->held, q);
}

/* The queue waits until at (monotonic). */
static void wait_until(struct engine *e, struct queue *q, double at)
{
	q->timer_at = at;
	heap_push(e, at, q);
}

/* ---- batched store updates ----------------------------------------------- */

static const char *keep(struct engine *e, const char *s)
{
	char *copy;

	if (!s)
		return NULL;
	copy = xstrdup(s);
	if (e->strs_nr == e->strs_alloc) {
		e->strs_alloc = e->strs_alloc ? e->strs_alloc * 2 : 64;
		e->strs = xrealloc(e->strs, e->strs_alloc * sizeof(*e->strs));
	}
	e->strs[e->strs_nr++] = copy;
	return copy;
}

static struct store_update *update(struct engine *e,
				   enum store_update_kind kind, int64_t id)
{
	struct store_update *u;

	if (e->ups_nr == e->ups_alloc) {
		e->ups_alloc = e->ups_alloc ? e->ups_alloc * 2 : 64;
		e->ups = xrealloc(e->ups, e->ups_alloc * sizeof(*e->ups));
	}
	if (!e->ups_nr)
		e->ups_first = mono_now();
	u = &e->ups[e->ups_nr++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->id = id;
	u->at = store_now();
	return u;
}

static void apply(struct engine *e, const struct store_update *ups,
		  size_t nr)
{
	struct errbuf err;

	if (nr && store_apply(e->store, ups, nr, &err) < 0) {
		struct log_line l;

		log_begin(&l, LOG_ERROR, "store write failed");
		log_int(&l, "updates", (long long)nr);
		log_str(&l, "error", err.msg);
		log_end(&l);
	}
}

static void free_strs(char **strs, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(strs[i]);
}

/* Writes the changes gathered so far, on this thread. */
static void flush_updates(struct engine *e)
{
	apply(e, e->ups, e->ups_nr);
	free_strs(e->strs, e->strs_nr);
	e->strs_nr = 0;
	e->ups_nr = 0;
}

static void *writer_main(void *arg)
{
	struct engine *e = arg;
	struct writer *w = &e->wr;

	pthread_setname_np(pthread_self(), "herald-write");
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!(w->ups && !w->done) && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->ups || w->done)
			break;		/* quit, with nothing left to write */
		pthread_mutex_unlock(&w->lock);
		apply(e, w->ups, w->ups_nr);
		pthread_mutex_lock(&w->lock);
		w->done = 1;
		engine_wakeup(e);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * Hands the changes gathered so far to the writer, with the queues that
 * wait for them; when it is still busy, they wait for the next turn.
 * Without a writer they are written at once.
 */
static void hand_updates(struct engine *e)
{
	struct writer *w = &e->wr;

	if (!w->started) {
		flush_updates(e);
		return;
	}
	if (e->writing || !e->ups_nr)
		return;
	pthread_mutex_lock(&w->lock);
	w->ups = e->ups;
	w->ups_nr = e->ups_nr;
	w->strs = e->strs;
	w->strs_nr = e->strs_nr;
	w->done = 0;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	e->writing = e->ups_nr;
	e->ups = NULL;
	e->ups_nr = e->ups_alloc = 0;
	e->strs = NULL;
	e->strs_nr = e->strs_alloc = 0;
	qlist_splice(&e->held_writing, &e->held);
}

/*
 * Takes back the writer's batch once it is written: the queues that
 * waited for it may go on.
 */
static void take_written(struct engine *e)
{
	struct writer *w = &e->wr;
	struct store_update *ups;
	char **strs;
	size_t strs_nr;

	if (!e->writing)
		return;
	pthread_mutex_lock(&w->lock);
	if (!w->done) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	ups = w->ups;
	strs = w->strs;
	strs_nr = w->strs_nr;
	w->ups = NULL;
	w->strs = NULL;
	w->ups_nr = w->strs_nr = 0;
	w->done = 0;
	pthread_mutex_unlock(&w->lock);
	free(ups);
	free_strs(strs, strs_nr);
	free(strs);
	e->writing = 0;
	qlist_splice(&e->ready, &e->held_writing);
}

/* ---- items and queues ------------------------------------------------------ */

static int item_eq(const struct hnode *n, const void *key)
{
	return ((const struct item *)n)->id == *(const int64_t *)key;
}

static int queue_eq(const struct hnode *n, const void *key)
{
	return !strcmp(((const struct queue *)n)->dest, key);
}

static int story_eq(const struct hnode *n, const void *key)
{
	return !strcmp(((const struct story *)n)->key, key);
}

static struct item *find_item(struct engine *e, int64_t id)
{
	return (struct item *)htab_find(&e->items, hash_id(id), item_eq, &id);
}

static struct queue *get_queue(struct engine *e, const char *dest)
{
	uint64_t h = fnv1a(dest, FNV1A_BASIS);
	struct queue *q = (struct queue *)htab_find(&e->queues, h, queue_eq,
						     dest);

	if (q)
		return q;
	q = xcalloc(1, sizeof(*q));
	q->dest = xstrdup(dest);
	pace_bucket_init(&q->bucket, e->kind == PROVIDER_SLACK ?
			 e->slack_rate : 0, e->slack_burst, mono_now());
	htab_add(&e->queues, &q->node, h);
	e->stats.destinations++;
	return q;
}

static void cache_drop(struct engine *e, struct item *it)
{
	if (!it->rec)
		return;
	store_record_release(it->rec);
	free(it->rec);
	it->rec = NULL;
	event_free(it->ev);
	it->ev = NULL;
	e->cache_bytes -= it->rec_bytes;
	it->rec_bytes = 0;
}

/*
 * Keeps the body, destination and correlation key of rec (which has its
 * body) with it, while the cache has room. take says the strings may be
 * taken from rec (they are then NULL in rec).
 */
static void cache_record(struct engine *e, struct item *it,
			 struct store_record *rec, int take)
{
	struct store_record *c;
	size_t bytes;

	if (!it || !rec->body || !rec->destination)
		return;
	bytes = sizeof(*c) + 64 + strlen(rec->body) +
		strlen(rec->destination) +
		(rec->correlation_key ? strlen(rec->correlation_key) : 0);
	if (e->cache_bytes + bytes > RECORD_CACHE_BYTES)
		return;
	c = xcalloc(1, sizeof(*c));
	c->id = rec->id;
	if (take) {
		c->body = rec->body;
		c->destination = rec->destination;
		c->correlation_key = rec->correlation_key;
		rec->body = rec->destination = rec->correlation_key = NULL;
	} else {
		c->body = xstrdup(rec->body);
		c->destination = xstrdup(rec->destination);
		c->correlation_key = rec->correlation_key ?
			xstrdup(rec->correlation_key) : NULL;
	}
	it->rec = c;
	it->rec_bytes = bytes;
	e->cache_bytes += bytes;
}

/*
 * Keeps the event, destination and correlation key of a notification
 * just accepted (taken from qd) with it, while the cache has room.
 */
static void cache_queued(struct engine *e, struct item *it,
			 struct api_queued *qd)
{
	struct store_record *c;
	size_t bytes;

	if (!it || !qd->ev || !qd->destination)
		return;
	bytes = sizeof(*c) + 64 + event_memory(qd->ev) +
		strlen(qd->destination) +
		(qd->correlation_key ? strlen(qd->correlation_key) : 0);
	if (e->cache_bytes + bytes > RECORD_CACHE_BYTES)
		return;
	c = xcalloc(1, sizeof(*c));
	c->id = qd->id;
	c->destination = qd->destination;
	c->correlation_key = qd->correlation_key;
	it->ev = qd->ev;
	qd->destination = qd->correlation_key = NULL;
	qd->ev = NULL;
	it->rec = c;
	it->rec_bytes = bytes;
	e->cache_bytes += bytes;
}

/*
 * Moves what the cache holds of it to *rec and *ev (zeroed and NULL when
 * nothing is cached).
 */
static void take_cached(struct engine *e, struct item *it,
			struct store_record *rec, struct event **ev)
{
	memset(rec, 0, sizeof(*rec));
	*ev = it->ev;
	it->ev = NULL;
	if (!it->rec)
		return;
	*rec = *it->rec;
	free(it->rec);
	it->rec = NULL;
	e->cache_bytes -= it->rec_bytes;
	it->rec_bytes = 0;
}

/*
 * Takes a pending notification into its queue (rec stays the caller's).
 * Returns the new item, or NULL when it was not taken.
 */
static struct item *add_item(struct engine *e, const struct store_record *rec)
{
	struct item *it;
	struct queue *q;
	double now_wall;

	if (!rec->destination || find_item(e, rec->id))
		return NULL;
	if (rec->state != STORE_QUEUED && rec->state != STORE_SENDING &&
	    rec->state != STORE_RETRYING)
		return NULL;
	q = get_queue(e, rec->destination);
	it = xcalloc(1, sizeof(*it));
	it->id = rec->id;
	it->q = q;
	it->created_at = rec->created_at;
	it->attempts = rec->attempts;
	it->tries = rec->attempts;
	now_wall = store_now();
	if (rec->state == STORE_RETRYING && rec->next_attempt_at > now_wall)
		it->not_before = mono_now() + (rec->next_attempt_at - now_wall);
	htab_add(&e->items, &it->node, hash_id(it->id));
	if (!q->tail || q->tail->id < it->id) {
		if (q->tail)
			q->tail->next = it;
		else
			q->head = it;
		q->tail = it;
	} else {
		/*
		 * Handed in late (requests answered out of order): its
		 * place by id, never before a head in flight.
		 */
		struct item **pp = &q->head;

		if (q->inflight)
			pp = &q->head->next;
		while (*pp && (*pp)->id < it->id)
			pp = &(*pp)->next;
		it->next = *pp;
		*pp = it;
	}
	q->len++;
	e->pending++;
	if (q->head == it)
		make_ready(e, q);
	return it;
}

/* Removes the head of its queue (the item is done) and frees it. */
static void remove_head(struct engine *e, struct item *it)
{
	struct queue *q = it->q;

	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	e->pending--;
	htab_del(&e->items, &it->node);
	cache_drop(e, it);
	free(it);
}

/* ---- stories ------------------------------------------------------------------ */

static void story_free(struct story *s)
{
	free(s->key);
	free(s->destination);
	free(s->channel_id);
	free(s->message_id);
	free(s);
}

static void stories_clear(struct engine *e)
{
	for (size_t i = 0; i < e->stories.nb; i++) {
		struct hnode *n = e->stories.b[i], *next;

		for (; n; n = next) {
			next = n->next;
			story_free((struct story *)n);
		}
		e->stories.b[i] = NULL;
	}
	e->stories.nr = 0;
}

static struct story *story_set(struct engine *e, const char *key,
			       const char *dest, const char *channel_id,
			       const char *message_id)
{
	uint64_t h = fnv1a(key, FNV1A_BASIS);
	struct story *s = (struct story *)htab_find(&e->stories, h, story_eq,
						     key);

	if (!s) {
		if (e->stories.nr >= STORY_CACHE_MAX)
			stories_clear(e);
		s = xcalloc(1, sizeof(*s));
		s->key = xstrdup(key);
		htab_add(&e->stories, &s->node, h);
	}
	free(s->destination);
	free(s->channel_id);
	free(s->message_id);
	s->destination = xstrdup(dest);
	s->channel_id = xstrdup(channel_id);
	s->message_id = xstrdup(message_id);
	return s;
}

/* The story's message for key, or NULL when there is none to edit. */
static struct story *story_find(struct engine *e, const char *key)
{
	struct story *s = (struct story *)htab_find(&e->stories, fnv1a(key, FNV1A_BASIS),
						     story_eq, key);
	struct store_story st;
	struct errbuf err;

	if (!s) {
		memset(&st, 0, sizeof(st));
		if (store_story_get(e->store, key, &st, &err) == 0 &&
		    st.provider && !strcmp(st.provider, e->pname))
			s = story_set(e, key, st.destination, st.channel_id,
				      st.message_id);
		else
			s = story_set(e, key, NULL, NULL, NULL);
		store_story_release(&st);
	}
	return s->message_id && s->channel_id ? s : NULL;
}

/* ---- readiness and the auth pause ------------------------------------------ */

static void pause_provider(struct engine *e, const struct delivery_result *r)
{
	struct log_line l;

	if (e->paused)
		return;
	e->paused = 1;
	e->stats.paused = 1;
	e->probe_delay = e->probe_base;
	e->probe_at = mono_now() + e->probe_delay;
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
	qlist_splice(&e->ready, &e->paused_list);
}

static void submit_job(struct engine *e, struct job *j);

static void probe(struct engine *e)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_IDENTIFY;
	e->probing = 1;
	submit_job(e, j);
}

static void probed(struct engine *e, struct job *j)
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
	e->probe_at = mono_now() + e->probe_delay;
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

/* ---- outcomes ---------------------------------------------------------------- */

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

static void attempt_row(struct engine *e, struct item *it,
			const char *outcome, const struct delivery_result *r,
			long duration_ms)
{
	struct store_update *u = update(e, STORE_UP_ATTEMPT, it->id);

	u->attempts = it->tries;
	u->outcome = outcome;
	u->code = r && r->code[0] ? keep(e, r->code) : NULL;
	u->http_status = r ? (int)r->http_status : 0;
	u->duration_ms = duration_ms;
	e->stats.attempts++;
	metrics_delivery_attempt(e->metrics, e->pname, outcome);
}

static void delivered(struct engine *e, struct item *it, const char *dest,
		      const char *channel_id, const char *message_id,
		      int http_status)
{
	struct store_update *u = update(e, STORE_UP_DELIVERED, it->id);
	double now = store_now();

	u->channel_id = keep(e, channel_id);
	u->message_id = keep(e, message_id);
	u->attempts = it->attempts;
	u->http_status = http_status;
	e->stats.delivered++;
	metrics_notification(e->metrics, e->pname, "delivered");
	if (it->created_at > 0 && now >= it->created_at)
		metrics_delivery_latency(e->metrics, now - it->created_at);
	remove_head(e, it);
}

static void failed(struct engine *e, struct item *it, const char *dest,
		   enum store_state state, const char *code, const char *msg,
		   int http_status)
{
	struct store_update *u = update(e, STORE_UP_FAILED, it->id);
	struct log_line l;

	u->state = state;
	u->attempts = it->attempts;
	u->code = keep(e, code);
	u->msg = keep(e, msg);
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
	remove_head(e, it);
}

/*
 * A retryable failure of the queue's head: wait seconds (or give up after
 * HERALD_MAX_ATTEMPTS or HERALD_MAX_AGE).
 */
static void retry_later(struct engine *e, struct item *it, const char *dest,
			const struct delivery_result *r, double wait)
{
	struct store_update *u;
	double now = mono_now();

	if (it->attempts >= e->max_attempts) {
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
	u = update(e, STORE_UP_RETRYING, it->id);
	u->attempts = it->attempts;
	u->next_at = store_now() + wait;
	u->code = keep(e, r->code);
	u->msg = keep(e, r->message);
	u->http_status = (int)r->http_status;
	metrics_notification(e->metrics, e->pname, "retrying");
}

static int is_rate_limit(const struct delivery_result *r)
{
	return r->http_status == 429 || !strcmp(r->code, "ratelimited") ||
	       !strcmp(r->code, "rate_limited");
}

static int is_message_gone(const struct delivery_result *r)
{
	return !strcmp(r->code, "message_not_found") ||
	       !strcmp(r->code, "10008");
}

/* The outcome of the queue head's request. */
static void settle(struct engine *e, struct item *it, const char *dest,
		   const char *corr, const char *edit, const char *channel,
		   const struct delivery_result *r, long duration_ms)
{
	struct queue *q = it->q;
	struct log_line l;
	double now = mono_now();

	if (r->rl.known && r->rl.bucket[0])
		snprintf(q->bucket_id, sizeof(q->bucket_id), "%s", r->rl.bucket);
	if (r->rl.known && r->rl.remaining == 0 && r->rl.reset_after_s > 0 &&
	    now + r->rl.reset_after_s > q->blocked_until)
		q->blocked_until = now + r->rl.reset_after_s;
	switch (r->outcome) {
	case DELIVERY_OK:
		it->attempts++;
		attempt_row(e, it, "ok", r, duration_ms);
		log_attempt(e, LOG_INFO, edit ? "edited" : "delivered", it,
			    dest, "delivered", r);
		if (edit) {
			e->stats.edits++;
			delivered(e, it, dest, channel, edit, 0);
			return;
		}
		if (corr && r->message_id[0]) {
			struct store_update *u = update(e, STORE_UP_STORY,
							 it->id);

			u->correlation_key = keep(e, corr);
			u->provider = e->pname;
			u->destination = keep(e, dest);
			u->channel_id = keep(e, r->channel_id[0] ?
					     r->channel_id : channel);
			u->message_id = keep(e, r->message_id);
			pthread_mutex_lock(&e->story_lock);
			story_set(e, corr, dest, u->channel_id, r->message_id);
			pthread_mutex_unlock(&e->story_lock);
		}
		delivered(e, it, dest, r->channel_id[0] ? r->channel_id :
			  channel, r->message_id, 0);
		return;
	case DELIVERY_RETRY:
		if (is_rate_limit(r)) {
			double wait = r->retry_after_s > 0 ? r->retry_after_s :
				NONE_RETRY_AFTER_S;

			attempt_row(e, it, "retry", r, duration_ms);
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
		attempt_row(e, it, "retry", r, duration_ms);
		retry_later(e, it, dest, r, pace_retry_delay(it->attempts,
			    r->retry_after_s, e->backoff_base, e->backoff_cap,
			    random_unit(e)));
		return;
	case DELIVERY_AUTH:
		attempt_row(e, it, "auth", r, duration_ms);
		log_attempt(e, LOG_WARN, "credentials rejected", it, dest,
			    "queued", r);
		pause_provider(e, r);
		return;
	case DELIVERY_PERMANENT:
		if (edit && is_message_gone(r)) {
			attempt_row(e, it, "retry", r, duration_ms);
			log_attempt(e, LOG_WARN, "story message gone; posting "
				    "a new one", it, dest, "queued", r);
			pthread_mutex_lock(&e->story_lock);
			story_set(e, corr, NULL, NULL, NULL);
			pthread_mutex_unlock(&e->story_lock);
			it->force_post = 1;
			return;
		}
		it->attempts++;
		attempt_row(e, it, "permanent", r, duration_ms);
		free(q->channel_id);
		q->channel_id = NULL;
		failed(e, it, dest, STORE_FAILED, r->code, r->message,
		       (int)r->http_status);
		return;
	}
}

/* ---- sending -------------------------------------------------------------------- */

static void flight_free(struct flight *f)
{
	store_record_release(&f->rec);
	event_free(f->ev);
	http_request_release(&f->req);
	free(f->chan);
	free(f);
}

/* Takes f off the list of requests not marked "sending" yet. */
static void unmark_del(struct engine *e, struct flight *f)
{
	if (!f->unmarked)
		return;
	if (f->mprev)
		f->mprev->mnext = f->mnext;
	else
		e->unmarked = f->mnext;
	if (f->mnext)
		f->mnext->mprev = f->mprev;
	else
		e->unmarked_tail = f->mprev;
	f->mprev = f->mnext = NULL;
	f->unmarked = 0;
}

static void unmark_add(struct engine *e, struct flight *f)
{
	f->mnext = NULL;
	f->mprev = e->unmarked_tail;
	if (e->unmarked_tail)
		e->unmarked_tail->mnext = f;
	else
		e->unmarked = f;
	e->unmarked_tail = f;
	f->unmarked = 1;
}

/*
 * Marks "sending" the requests in flight since SENDING_MARK_S before now
 * (all of them when now is INFINITY). The list is in start order.
 */
static void mark_sending(struct engine *e, double now)
{
	struct flight *f;

	while ((f = e->unmarked) && f->mark_at <= now) {
		unmark_del(e, f);
		update(e, STORE_UP_SENDING, f->id);
	}
}

static void on_done(void *arg, struct http_response *resp)
{
	struct flight *f = arg;
	struct engine *e = f->e;
	struct item *it = f->it;
	struct queue *q = it->q;
	struct delivery_result r;

	delivery_result_clear(&r);
	e->p->ops->parse_response(e->p, resp, f->rec.destination, &r);
	unmark_del(e, f);
	q->inflight = NULL;
	e->in_flight--;
	if (e->slot_wait.head)
		make_ready(e, qlist_pop(&e->slot_wait));
	settle(e, it, f->rec.destination, f->rec.correlation_key,
	       f->edit ? f->message_id : NULL, f->channel_id, &r,
	       (long)(resp->elapsed_s * 1000));
	flight_free(f);
	hold(e, q);
}

/* Loads a notification's record with its event body. */
static int head_record(struct engine *e, int64_t id, struct store_record *rec)
{
	struct errbuf err;
	int ret;

	ret = store_get(e->store, id, rec, &err);
	if (ret < 0 && ret != HERALD_ENOENT)
		log_event(LOG_ERROR, "cannot read a notification", "error",
			  err.msg, NULL);
	return ret;
}

/* Renders ev, or when it is NULL the event read back with rec. */
static json_t *render(struct engine *e, const struct store_record *rec,
		      const struct event *ev, struct delivery_result *r)
{
	struct event *evs = NULL;
	size_t nr = 0;
	struct api_snapshot *snap;
	struct render_ctx ctx = { CONFIG_DEFAULT_COMMIT_URL, NULL };
	json_t *body;

	if (ev) {
		evs = (struct event *)ev;
		nr = 1;
	} else if (!rec->body ||
		   event_parse_many(rec->body, strlen(rec->body), 1, &evs, &nr,
				    NULL) < 0 || nr != 1) {
		event_array_free(evs, nr);
		delivery_result_set(r, DELIVERY_PERMANENT, "invalid_event",
				    "the stored event cannot be read back; "
				    "send it again");
		return NULL;
	}
	snap = e->routing ? api_routing_current(e->routing) : NULL;
	if (snap) {
		if (snap->cfg.commit_url)
			ctx.commit_url = snap->cfg.commit_url;
		if (snap->has_catalog && evs[0].app)
			ctx.service = catalog_lookup(&snap->cat, evs[0].app);
	}
	body = render_for(e->p ? e->kind : PROVIDER_SLACK, &evs[0], &ctx);
	if (snap)
		api_snapshot_put(snap);
	if (!ev)
		event_array_free(evs, nr);
	return body;
}

/* The log provider: print the body and count it delivered. */
static void print_log(struct engine *e, struct item *it,
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
	attempt_row(e, it, "ok", NULL, 0);
	log_attempt(e, LOG_DEBUG, "delivered", it, rec->destination,
		    "delivered", NULL);
	delivered(e, it, rec->destination, NULL, NULL, 0);
}

/* ---- the resolver thread ---------------------------------------------------- */

static void job_free(struct job *j)
{
	destination_release(&j->d);
	strbuf_release(&j->out);
	free(j);
}

static void *resolver_main(void *arg)
{
	struct engine *e = arg;
	struct resolver *rs = &e->rs;

	pthread_setname_np(pthread_self(), "herald-resolve");
	pthread_mutex_lock(&rs->lock);
	for (;;) {
		struct job *j;

		while (!rs->todo && !rs->quit)
			pthread_cond_wait(&rs->cond, &rs->lock);
		if (rs->quit)
			break;
		j = rs->todo;
		rs->todo = j->next;
		if (!rs->todo)
			rs->todo_tail = NULL;
		pthread_mutex_unlock(&rs->lock);

		delivery_result_clear(&j->r);
		if (j->kind == JOB_RESOLVE)
			j->ret = e->p->ops->resolve(e->p, e->sync, &j->d,
						    &j->out, &j->r);
		else
			j->ret = e->p->ops->identify(e->p, e->sync, &j->out,
						     &j->r);

		pthread_mutex_lock(&rs->lock);
		j->next = rs->done;
		rs->done = j;
		engine_wakeup(e);
	}
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

static void submit_job(struct engine *e, struct job *j)
{
	struct resolver *rs = &e->rs;

	strbuf_init(&j->out, 0);
	pthread_mutex_lock(&rs->lock);
	j->next = NULL;
	if (rs->todo_tail)
		rs->todo_tail->next = j;
	else
		rs->todo = j;
	rs->todo_tail = j;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
}

/* A resolution came back: the queue may go on, or its head fails. */
static void resolved(struct engine *e, struct job *j)
{
	struct queue *q = j->q;
	struct item *it = q->head;
	struct errbuf err;

	q->resolving = 0;
	if (j->ret == 0 && j->out.len) {
		free(q->channel_id);
		q->channel_id = xstrdup(j->out.buf);
		if (j->d.kind != DEST_CHANNEL_ID &&
		    strcmp(q->channel_id, j->d.raw) &&
		    strcmp(q->channel_id, j->d.target))
			store_resolution_put(e->store, e->pname, q->dest,
					     q->channel_id,
					     store_now() + RESOLUTION_TTL_S,
					     &err);
	} else if (it && !q->inflight) {
		if (j->r.outcome == DELIVERY_OK)
			delivery_result_set(&j->r, DELIVERY_RETRY, "resolve",
					    "%s: could not be resolved", q->dest);
		it->tries++;
		settle(e, it, q->dest, NULL, NULL, "", &j->r, 0);
	}
	make_ready(e, q);
}

static void take_resolved(struct engine *e)
{
	struct job *list, *next;

	if (!e->p)
		return;
	pthread_mutex_lock(&e->rs.lock);
	list = e->rs.done;
	e->rs.done = NULL;
	pthread_mutex_unlock(&e->rs.lock);
	/* The list is newest first; the order does not matter. */
	for (; list; list = next) {
		next = list->next;
		if (list->kind == JOB_RESOLVE)
			resolved(e, list);
		else
			probed(e, list);
		job_free(list);
	}
}

/*
 * Destinations the provider's resolve() turns into a channel without a
 * request and without touching its caches (a channel ID anywhere, a
 * channel name on Slack), so the loop may call it itself instead of
 * waiting behind the resolver thread's lookups.
 */
static int resolves_locally(const struct engine *e,
			    const struct destination *d)
{
	return d->kind == DEST_CHANNEL_ID ||
	       (e->kind == PROVIDER_SLACK && d->kind == DEST_CHANNEL_NAME);
}

/*
 * Whether the queue's destination has its channel ID (cached in the
 * queue, or persisted in the store). When not, asks the resolver thread
 * for it, or fails the head for a destination that cannot be parsed, and
 * returns 0: the queue is tried again when the answer is in.
 */
static int have_channel(struct engine *e, struct queue *q)
{
	struct destination d;
	struct delivery_result r;
	struct errbuf err;
	char *stored = NULL;
	struct job *j;

	if (q->channel_id)
		return 1;
	if (q->resolving)
		return 0;
	if (destination_parse(&d, q->dest, e->kind, &err) < 0) {
		delivery_result_clear(&r);
		delivery_result_set(&r, DELIVERY_PERMANENT,
				    "invalid_destination", "%s", err.msg);
		q->head->tries++;
		settle(e, q->head, q->dest, NULL, NULL, "", &r, 0);
		make_ready(e, q);
		return 0;
	}
	if (resolves_locally(e, &d)) {
		struct strbuf chan = STRBUF_INIT;

		delivery_result_clear(&r);
		if (e->p->ops->resolve(e->p, NULL, &d, &chan, &r) == 0 &&
		    chan.len) {
			q->channel_id = strbuf_detach(&chan, NULL);
			destination_release(&d);
			return 1;
		}
		strbuf_release(&chan);
	}
	if (d.kind != DEST_CHANNEL_ID &&
	    store_resolution_get(e->store, e->pname, q->dest, store_now(),
				 &stored, &err) == 0) {
		q->channel_id = stored;
		destination_release(&d);
		return 1;
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_RESOLVE;
	j->q = q;
	j->d = d;
	q->resolving = 1;
	submit_job(e, j);
	return 0;
}

/* The log provider: renders the head and prints it, at once. */
static void send_log(struct engine *e, struct queue *q)
{
	struct item *it = q->head;
	struct store_record rec;
	struct event *ev;
	struct delivery_result r;
	json_t *body;

	delivery_result_clear(&r);
	take_cached(e, it, &rec, &ev);
	if (!rec.body && !ev) {
		store_record_release(&rec);
		if (head_record(e, it->id, &rec) < 0) {
			/* Gone from the store: nothing to deliver. */
			remove_head(e, it);
			make_ready(e, q);
			return;
		}
	}
	body = render(e, &rec, ev, &r);
	event_free(ev);
	if (body) {
		print_log(e, it, &rec, body);
		json_decref(body);
	} else {
		it->tries++;
		settle(e, it, rec.destination, rec.correlation_key, NULL, "",
		       &r, 0);
	}
	store_record_release(&rec);
	make_ready(e, q);
}

/*
 * On the preparer thread: reads the notification, renders it, decides
 * between a post and an edit of its story's message, and builds the
 * request.
 */
static void prepare(struct engine *e, struct flight *f)
{
	struct story *story;
	struct errbuf err;
	json_t *body;
	char nonce[26], ident[32];
	char *chan = NULL, *msg = NULL;
	int ret;

	delivery_result_clear(&f->r);
	if (!f->rec.body && !f->ev) {
		store_record_release(&f->rec);
		if (head_record(e, f->id, &f->rec) < 0) {
			f->prep = PREP_GONE;
			return;
		}
	}
	body = render(e, &f->rec, f->ev, &f->r);
	free(f->rec.body);
	f->rec.body = NULL;
	event_free(f->ev);
	f->ev = NULL;
	if (!body) {
		f->prep = PREP_FAILED;
		return;
	}
	if (f->rec.correlation_key && !f->force_post) {
		pthread_mutex_lock(&e->story_lock);
		story = story_find(e, f->rec.correlation_key);
		if (story && story->destination && f->rec.destination &&
		    !strcmp(story->destination, f->rec.destination)) {
			f->edit = 1;
			snprintf(f->channel_id, sizeof(f->channel_id), "%s",
				 story->channel_id);
			snprintf(f->message_id, sizeof(f->message_id), "%s",
				 story->message_id);
			chan = xstrdup(story->channel_id);
			msg = xstrdup(story->message_id);
		}
		pthread_mutex_unlock(&e->story_lock);
	}
	if (f->edit) {
		ret = e->p->ops->update_request(e->p, chan, msg, body, &f->req,
						&err);
	} else {
		snprintf(ident, sizeof(ident), "n%lld", (long long)f->id);
		provider_nonce(ident, nonce);
		ret = e->p->ops->post_request(e->p, f->chan, body, nonce,
					      &f->req, &err);
	}
	json_decref(body);
	free(chan);
	free(msg);
	if (ret < 0) {
		http_request_release(&f->req);
		delivery_result_set(&f->r, DELIVERY_PERMANENT,
				    "invalid_request", "%s: %s",
				    f->rec.destination, err.msg);
		f->prep = PREP_FAILED;
		return;
	}
	f->prep = PREP_READY;
}


/* Moves the record *from into the load's results. */
static void load_keep(struct load *ld, struct store_record *from)
{
	ld->recs[ld->recs_nr++] = *from;
	memset(from, 0, sizeof(*from));
}

/*
 * On the preparer thread: reads the notifications of a load with their
 * events (the loop keeps what fits in its record cache).
 */
static void read_load(struct engine *e, struct load *ld)
{
	ld->recs = xcalloc(ld->nr ? ld->nr : 1, sizeof(*ld->recs));
	for (size_t i = 0; i < ld->nr; i++) {
		struct store_record rec;
		struct errbuf err;

		if (store_get(e->store, ld->ids[i], &rec, &err) < 0)
			continue;
		load_keep(ld, &rec);
	}
}

static void load_free(struct load *ld)
{
	store_record_array_free(ld->recs, ld->recs_nr);
	free(ld->ids);
	free(ld);
}

static void *preparer_main(void *arg)
{
	struct engine *e = arg;
	struct preparer *pr = &e->pr;

	pthread_setname_np(pthread_self(), "herald-prepare");
	pthread_mutex_lock(&pr->lock);
	for (;;) {
		struct flight *f;
		int wake;

		while (!pr->todo && !pr->loads && !pr->quit)
			pthread_cond_wait(&pr->cond, &pr->lock);
		if (pr->quit)
			break;
		if (pr->loads) {
			struct load *ld = pr->loads;

			pr->loads = ld->next;
			if (!pr->loads)
				pr->loads_tail = NULL;
			pthread_mutex_unlock(&pr->lock);

			read_load(e, ld);

			pthread_mutex_lock(&pr->lock);
			ld->next = NULL;
			wake = !pr->loaded;
			if (pr->loaded_tail)
				pr->loaded_tail->next = ld;
			else
				pr->loaded = ld;
			pr->loaded_tail = ld;
			if (wake)
				engine_wakeup(e);
			continue;
		}
		f = pr->todo;
		pr->todo = f->next;
		if (!pr->todo)
			pr->todo_tail = NULL;
		pthread_mutex_unlock(&pr->lock);

		prepare(e, f);

		pthread_mutex_lock(&pr->lock);
		f->next = NULL;
		wake = !pr->done;
		if (pr->done_tail)
			pr->done_tail->next = f;
		else
			pr->done = f;
		pr->done_tail = f;
		/* The loop takes the whole list: one wakeup per batch. */
		if (wake)
			engine_wakeup(e);
	}
	pthread_mutex_unlock(&pr->lock);
	return NULL;
}

/*
 * The queue's head goes (its turn has come and the pacing allows it): it
 * is handed to the preparer at the end of the turn, and the queue is busy
 * until its request is answered.
 */
static void dispatch(struct engine *e, struct queue *q)
{
	struct flight *f = xcalloc(1, sizeof(*f));

	f->e = e;
	f->it = q->head;
	f->id = q->head->id;
	f->force_post = q->head->force_post;
	/* The record moves to the flight; a retry reads it again. */
	take_cached(e, q->head, &f->rec, &f->ev);
	f->chan = xstrdup(q->channel_id ? q->channel_id : "");
	snprintf(f->channel_id, sizeof(f->channel_id), "%s", f->chan);
	q->inflight = f;
	e->in_flight++;
	if (e->pout_tail)
		e->pout_tail->next = f;
	else
		e->pout = f;
	e->pout_tail = f;
}

/* Gives the preparer the heads dispatched this turn. */
static void hand_out(struct engine *e)
{
	struct preparer *pr = &e->pr;

	if (!e->pout)
		return;
	pthread_mutex_lock(&pr->lock);
	if (pr->todo_tail)
		pr->todo_tail->next = e->pout;
	else
		pr->todo = e->pout;
	pr->todo_tail = e->pout_tail;
	pthread_cond_signal(&pr->cond);
	pthread_mutex_unlock(&pr->lock);
	e->pout = e->pout_tail = NULL;
}

/* A request slot is free again: a queue waiting for one may go. */
static void release_slot(struct engine *e)
{
	e->in_flight--;
	if (e->slot_wait.head)
		make_ready(e, qlist_pop(&e->slot_wait));
}

/* A prepared head: submits its request, or settles why it cannot go. */
static void submit(struct engine *e, struct flight *f)
{
	struct item *it = f->it;
	struct queue *q = it->q;
	struct errbuf err;

	if (f->prep == PREP_READY && (e->draining || e->paused)) {
		/* No new request starts: the head waits its turn again. */
		q->inflight = NULL;
		release_slot(e);
		flight_free(f);
		make_ready(e, q);
		return;
	}
	if (f->prep == PREP_READY) {
		if (http_client_submit(e->client, &f->req, on_done, f,
				       &err) == 0) {
			http_request_release(&f->req);
			it->tries++;
			f->started = mono_now();
			f->mark_at = f->started + SENDING_MARK_S;
			unmark_add(e, f);
			return;
		}
		delivery_result_set(&f->r, DELIVERY_PERMANENT,
				    "invalid_request", "%s: %s",
				    f->rec.destination, err.msg);
		f->prep = PREP_FAILED;
	}
	q->inflight = NULL;
	release_slot(e);
	if (f->prep == PREP_GONE) {
		/* Gone from the store: nothing to deliver. */
		remove_head(e, it);
	} else {
		it->tries++;
		settle(e, it, f->rec.destination, f->rec.correlation_key, NULL,
		       f->channel_id, &f->r, 0);
	}
	flight_free(f);
	make_ready(e, q);
}

/* Takes the heads the preparer has finished, in the order it did them. */
static void take_prepared(struct engine *e)
{
	struct flight *list, *f;

	struct load *loads, *ld;

	if (!e->pr.started)
		return;
	pthread_mutex_lock(&e->pr.lock);
	list = e->pr.done;
	e->pr.done = e->pr.done_tail = NULL;
	loads = e->pr.loaded;
	e->pr.loaded = e->pr.loaded_tail = NULL;
	pthread_mutex_unlock(&e->pr.lock);
	while ((ld = loads)) {
		loads = ld->next;
		for (size_t i = 0; i < ld->recs_nr; i++)
			cache_record(e, add_item(e, &ld->recs[i]),
				     &ld->recs[i], 1);
		e->loading -= ld->nr;
		load_free(ld);
	}
	while ((f = list)) {
		list = f->next;
		f->next = NULL;
		submit(e, f);
	}
}

/* Tries the head of a ready queue. */
static void try_queue(struct engine *e, struct queue *q, double now)
{
	struct item *it = q->head;
	double at, wait;

	if (!it || q->inflight)
		return;
	if (e->p && e->paused) {
		qlist_push(&e->paused_list, q);
		return;
	}
	at = q->blocked_until > it->not_before ? q->blocked_until :
		it->not_before;
	if (at > now) {
		wait_until(e, q, at);
		return;
	}
	if (!e->p) {
		send_log(e, q);
		return;
	}
	if (!have_channel(e, q))
		return;
	if (e->in_flight >= MAX_IN_FLIGHT) {
		qlist_push(&e->slot_wait, q);
		return;
	}
	wait = pace_bucket_wait(&q->bucket, now);
	if (wait > 0) {
		wait_until(e, q, now + wait);
		return;
	}
	if (e->global_blocked_until > now ||
	    pace_bucket_wait(&e->global, now) > 0) {
		qlist_push(&e->parked, q);
		return;
	}
	pace_bucket_take(&q->bucket, now);
	pace_bucket_take(&e->global, now);
	dispatch(e, q);
}

/* When the parked queues may try again (monotonic), or 0. */
static double parked_at(struct engine *e, double now)
{
	double at = now + pace_bucket_wait(&e->global, now);

	if (e->global_blocked_until > at)
		at = e->global_blocked_until;
	return at;
}

/* ---- the inbox and the loop -------------------------------------------------------- */

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
			add_item(e, &recs[i]);
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
		cache_queued(e, add_item(e, &rec), &qd[i]);
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
		    !find_item(e, ids[i]))
			ids[keep_nr++] = ids[i];
	if (e->pr.started) {
		/* The preparer reads them; add_item() when they are back. */
		struct load *ld;

		if (!keep_nr) {
			free(ids);
			return;
		}
		ld = xcalloc(1, sizeof(*ld));
		ld->ids = ids;
		ld->nr = keep_nr;
		e->loading += keep_nr;
		pthread_mutex_lock(&e->pr.lock);
		if (e->pr.loads_tail)
			e->pr.loads_tail->next = ld;
		else
			e->pr.loads = ld;
		e->pr.loads_tail = ld;
		pthread_cond_signal(&e->pr.cond);
		pthread_mutex_unlock(&e->pr.lock);
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
				add_item(e, &rec);
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

/* Moves queues whose time has come to the ready list. */
static void run_timers(struct engine *e, double now)
{
	while (e->heap_nr && e->heap[0].at <= now) {
		struct queue *q = e->heap[0].q;
		double at = e->heap[0].at;

		heap_pop(e);
		if (q->timer_at != at)
			continue;	/* superseded */
		q->timer_at = 0;
		make_ready(e, q);
	}
	if (e->parked.head && parked_at(e, now) <= now)
		qlist_splice(&e->ready, &e->parked);
}

/* How long the loop may sleep, in ms, at most max_ms. */
static int sleep_ms(struct engine *e, double now, int max_ms)
{
	double until = now + max_ms / 1000.0;

	if (e->ready.head || inbox_waiting(e))
		return 0;
	if (!e->draining) {
		if (e->heap_nr && e->heap[0].at < until)
			until = e->heap[0].at;
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
	double now = mono_now();
	struct queue *q;

	log_hold();		/* the turn's lines go out together */
	http_client_poll(e->client, sleep_ms(e, now, max_wait_ms));
	take_written(e);
	take_inbox(e);
	take_resolved(e);
	take_prepared(e);
	if (!e->draining) {
		now = mono_now();
		if (e->paused && !e->probing && now >= e->probe_at)
			probe(e);
		run_timers(e, now);
		while ((q = qlist_pop(&e->ready)))
			try_queue(e, q, now);
	}
	hand_out(e);
	now = mono_now();
	mark_sending(e, now);
	if (flush_due(e, now))
		hand_updates(e);
	if (!e->ups_nr)
		qlist_splice(&e->ready, &e->held);
	if (e->wrote) {
		fflush(e->out);
		e->wrote = 0;
	}
	metrics_queue_depth(e->metrics, (double)e->pending);
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

/* ---- life cycle -------------------------------------------------------------------- */

/* Starts one of the engine's threads (fn(e)) and sets *started. */
static int start_worker(struct engine *e, pthread_t *thread, int *started,
			void *(*fn)(void *), const char *what,
			struct errbuf *err)
{
	if (pthread_create(thread, NULL, fn, e))
		return errbuf_set(err, HERALD_EIO, "cannot start the %s thread",
				  what);
	*started = 1;
	return 0;
}

/* Tells a thread waiting on cond to quit (under lock) and joins it. */
static void stop_worker(pthread_t thread, pthread_mutex_t *lock,
			pthread_cond_t *cond, int *quit)
{
	pthread_mutex_lock(lock);
	*quit = 1;
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(lock);
	pthread_join(thread, NULL);
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
	e->slack_rate = cfg->slack_rate;
	e->slack_burst = cfg->slack_burst;
	e->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 1;
	e->max_age_s = cfg->max_age_s > 0 ? (double)cfg->max_age_s : 86400;
	e->backoff_base = opt->backoff_base_s > 0 ? opt->backoff_base_s : 1.0;
	e->backoff_cap = opt->backoff_cap_s > 0 ? opt->backoff_cap_s : 300.0;
	e->probe_base = opt->probe_base_s > 0 ? opt->probe_base_s : 5.0;
	e->probe_cap = opt->probe_cap_s > 0 ? opt->probe_cap_s : 300.0;
	grate = e->kind == PROVIDER_SLACK ? cfg->slack_workspace_rate :
		e->kind == PROVIDER_DISCORD ? cfg->discord_global_rate : 0;
	pace_bucket_init(&e->global, grate, grate, mono_now());
	e->ready_ok = 1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->story_lock, NULL);
	pthread_mutex_init(&e->pr.lock, NULL);
	pthread_cond_init(&e->pr.cond, NULL);
	if (getrandom(&e->rng, sizeof(e->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(e->rng))
		e->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL;
	e->rng |= 1;
	ret = http_client_new(&e->client, &ho, err);
	if (!ret && e->p)
		ret = http_client_new(&e->sync, &ho, err);
	if (!ret && e->p && http_client_check_url(e->client, e->p->api_url,
						   err) < 0)
		ret = HERALD_EINVAL;
	pthread_mutex_init(&e->rs.lock, NULL);
	pthread_cond_init(&e->rs.cond, NULL);
	pthread_mutex_init(&e->wr.lock, NULL);
	pthread_cond_init(&e->wr.cond, NULL);
	if (!ret && e->p)
		ret = start_worker(e, &e->rs.thread, &e->rs.started,
				   resolver_main, "resolver", err);
	if (!ret && e->p)
		ret = start_worker(e, &e->pr.thread, &e->pr.started,
				   preparer_main, "preparer", err);
	if (!ret && e->p)
		ret = start_worker(e, &e->wr.thread, &e->wr.started,
				   writer_main, "writer", err);
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
	struct item *it = add_item(e, rec);

	if (e->pr.started)
		cache_record(e, it, (struct store_record *)rec, 0);
	return 0;
}

int engine_load(struct engine *e, size_t *recovered, size_t *pending,
		struct errbuf *err)
{
	size_t before = e->pending, rec_nr = 0;
	int ret;

	ret = store_recover(e->store, &rec_nr, err);
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
	if (e->rs.started)
		stop_worker(e->rs.thread, &e->rs.lock, &e->rs.cond, &e->rs.quit);
	for (struct job *j = e->rs.todo, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (struct job *j = e->rs.done, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	pthread_mutex_destroy(&e->rs.lock);
	pthread_cond_destroy(&e->rs.cond);
	/* Heads it has not finished are freed with their queues. */
	if (e->pr.started)
		stop_worker(e->pr.thread, &e->pr.lock, &e->pr.cond, &e->pr.quit);
	for (struct load *ld = e->pr.loads, *next; ld; ld = next) {
		next = ld->next;
		load_free(ld);
	}
	for (struct load *ld = e->pr.loaded, *next; ld; ld = next) {
		next = ld->next;
		load_free(ld);
	}
	pthread_mutex_destroy(&e->pr.lock);
	pthread_cond_destroy(&e->pr.cond);
	if (e->wr.started) {
		/* It writes the batch it has before it quits. */
		stop_worker(e->wr.thread, &e->wr.lock, &e->wr.cond, &e->wr.quit);
		e->wr.started = 0;
		take_written(e);
	}
	pthread_mutex_destroy(&e->wr.lock);
	pthread_cond_destroy(&e->wr.cond);
	/* Requests abandoned in flight stay "sending" for the next start. */
	mark_sending(e, INFINITY);
	flush_updates(e);
	/* Abandon transfers in flight: their flights are freed below. */
	for (size_t i = 0; i < e->queues.nb; i++) {
		struct hnode *n = e->queues.b[i], *next;

		for (; n; n = next) {
			struct queue *q = (struct queue *)n;

			next = n->next;
			while (q->head)
				remove_head(e, q->head);
			if (q->inflight)
				flight_free(q->inflight);
			free(q->channel_id);
			free(q->dest);
			free(q);
		}
	}
	/* Freeing the client runs no callbacks: the flights are gone. */
	http_client_free(e->client);
	http_client_free(e->sync);
	stories_clear(e);
	free(e->stories.b);
	free(e->queues.b);
	free(e->items.b);
	free(e->heap);
	free(e->ups);
	free(e->strs);
	free(e->inbox);
	for (size_t i = 0; i < e->qin_nr; i++)
		api_queued_release(&e->qin[i]);
	free(e->qin);
	pthread_mutex_destroy(&e->story_lock);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
