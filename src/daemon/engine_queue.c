/*
 * engine_queue: the engine's data (see engine_internal.h). Items found by
 * id, one FIFO queue per destination, the lists and the timer heap a
 * queue waits on, the bounded cache of records and events that spares
 * reading them back, and the story cache (a story's message, to edit).
 *
 * Runs on the loop thread, but for the story cache, which the preparer
 * thread reads too (both under e->story_lock).
 */
#include "daemon/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"

#define STORY_CACHE_MAX 50000
/*
 * Notifications read with their event (just handed in, or loaded at
 * start) keep what sending needs, up to this many bytes in all, so the
 * event is read once; beyond it they are read again when their turn comes.
 */
#define RECORD_CACHE_BYTES (8u << 20)

/* ---- lists and timers ---- */

void engine__qlist_push(struct qlist *l, struct queue *q)
{
	q->link = NULL;
	if (l->tail)
		l->tail->link = q;
	else
		l->head = q;
	l->tail = q;
	q->listed = 1;
}

struct queue *engine__qlist_pop(struct qlist *l)
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

void engine__qlist_splice(struct qlist *to, struct qlist *from)
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

void engine__make_ready(struct engine *e, struct queue *q)
{
	if (q->listed || q->inflight || !q->head)
		return;
	q->timer_at = 0;
	engine__qlist_push(&e->ready, q);
}

void engine__hold(struct engine *e, struct queue *q)
{
	if (q->listed || q->inflight || !q->head)
		return;
	q->timer_at = 0;
	engine__qlist_push(&e->held, q);
}

void engine__wait_until(struct engine *e, struct queue *q, double at)
{
	q->timer_at = at;
	heap_push(&e->timers, at, q);
}

/* ---- items and queues ---- */

static int item_eq(const struct hnode *n, const void *key)
{
	return ((const struct item *)n)->id == *(const int64_t *)key;
}

static int queue_eq(const struct hnode *n, const void *key)
{
	return !strcmp(((const struct queue *)n)->dest, key);
}

struct item *engine__find_item(struct engine *e, int64_t id)
{
	return (struct item *)htab_find(&e->items, htab_hash_id(id), item_eq,
					&id);
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
			 e->slack_rate : 0, e->slack_burst, monotonic_now());
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

void engine__cache_record(struct engine *e, struct item *it,
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
	c->created_at = rec->created_at;
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

void engine__cache_queued(struct engine *e, struct item *it,
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
	c->created_at = qd->created_at;
	c->destination = qd->destination;
	c->correlation_key = qd->correlation_key;
	it->ev = qd->ev;
	qd->destination = qd->correlation_key = NULL;
	qd->ev = NULL;
	it->rec = c;
	it->rec_bytes = bytes;
	e->cache_bytes += bytes;
}

void engine__take_cached(struct engine *e, struct item *it,
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

struct item *engine__add_item(struct engine *e, const struct store_record *rec)
{
	struct item *it;
	struct queue *q;
	double now_wall;

	if (!rec->destination || engine__find_item(e, rec->id))
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
		it->not_before = monotonic_now() +
			(rec->next_attempt_at - now_wall);
	htab_add(&e->items, &it->node, htab_hash_id(it->id));
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
		engine__make_ready(e, q);
	return it;
}

void engine__remove_head(struct engine *e, struct item *it)
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

void engine__queues_free(struct engine *e)
{
	struct hnode *n = htab_take_all(&e->queues), *next;

	for (; n; n = next) {
		struct queue *q = (struct queue *)n;

		next = n->next;
		while (q->head)
			engine__remove_head(e, q->head);
		if (q->inflight)
			engine__flight_free(q->inflight);
		free(q->channel_id);
		free(q->dest);
		free(q);
	}
}

/* ---- stories ---- */

static int story_eq(const struct hnode *n, const void *key)
{
	return !strcmp(((const struct story *)n)->key, key);
}

static void story_free(struct story *s)
{
	free(s->key);
	free(s->destination);
	free(s->channel_id);
	free(s->message_id);
	free(s);
}

void engine__stories_clear(struct engine *e)
{
	struct hnode *n = htab_take_all(&e->stories), *next;

	for (; n; n = next) {
		next = n->next;
		story_free((struct story *)n);
	}
}

struct story *engine__story_set(struct engine *e, const char *key,
				const char *dest, const char *channel_id,
				const char *message_id, double updated_at,
				const struct story_mark *mark, int64_t digest_id)
{
	uint64_t h = fnv1a(key, FNV1A_BASIS);
	struct story *s = (struct story *)htab_find(&e->stories, h, story_eq,
						     key);

	if (!s) {
		if (e->stories.nr >= STORY_CACHE_MAX)
			engine__stories_clear(e);
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
	s->updated_at = updated_at;
	s->digest_id = digest_id;
	if (mark)
		s->mark = *mark;
	else
		memset(&s->mark, 0, sizeof(s->mark));
	return s;
}

struct story *engine__story_find(struct engine *e, const char *key)
{
	struct story *s = (struct story *)htab_find(&e->stories,
						     fnv1a(key, FNV1A_BASIS),
						     story_eq, key);
	struct store_story st;
	struct errbuf err;

	if (!s) {
		memset(&st, 0, sizeof(st));
		if (store_story_get(e->store, key, &st, &err) == 0 &&
		    st.provider && !strcmp(st.provider, e->pname)) {
			struct story_mark mark = {
				.event_at = st.event_at, .rank = st.rank,
			};

			if (st.body_hash)
				snprintf(mark.hash, sizeof(mark.hash), "%s",
					 st.body_hash);
			s = engine__story_set(e, key, st.destination,
					      st.channel_id, st.message_id,
					      st.updated_at, &mark,
					      st.digest_id);
		} else {
			s = engine__story_set(e, key, NULL, NULL, NULL, 0, NULL,
					      0);
		}
		store_story_release(&st);
	}
	return s->message_id && s->channel_id ? s : NULL;
}
