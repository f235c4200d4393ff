/*
 * engine_resolve: the resolver thread, which makes the provider's
 * synchronous calls (resolve() for a destination's channel ID, identify()
 * for the auth probe) so a lookup that waits on the network for seconds
 * never stalls the loop, and the loop's side of it: asking (a queue whose
 * destination has no channel ID yet), and taking the answers back.
 *
 * engine__resolver_main() runs on the resolver thread; the rest on the
 * loop thread.
 */
#include "daemon/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#define RESOLUTION_TTL_S (24.0 * 3600)

static void job_free(struct job *j)
{
	destination_release(&j->d);
	strbuf_release(&j->out);
	free(j);
}

void *engine__resolver_main(void *arg)
{
	struct engine *e = arg;
	struct resolver *rs = &e->rs;
	struct engine_worker *w = &rs->worker;

	pthread_setname_np(pthread_self(), "herald-resolve");
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct job *j;

		while (!rs->todo && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->quit)
			break;
		j = rs->todo;
		rs->todo = j->next;
		if (!rs->todo)
			rs->todo_tail = NULL;
		pthread_mutex_unlock(&w->lock);

		delivery_result_clear(&j->r);
		if (j->kind == JOB_RESOLVE)
			j->ret = e->p->ops->resolve(e->p, e->sync, &j->d,
						    &j->out, &j->r);
		else
			j->ret = e->p->ops->identify(e->p, e->sync, &j->out,
						     &j->r);

		pthread_mutex_lock(&w->lock);
		j->next = rs->done;
		rs->done = j;
		engine_wakeup(e);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void engine__resolver_clear(struct engine *e)
{
	for (struct job *j = e->rs.todo, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (struct job *j = e->rs.done, *next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	e->rs.todo = e->rs.todo_tail = e->rs.done = NULL;
}

static void submit_job(struct engine *e, struct job *j)
{
	struct resolver *rs = &e->rs;

	strbuf_init(&j->out, 0);
	pthread_mutex_lock(&rs->worker.lock);
	j->next = NULL;
	if (rs->todo_tail)
		rs->todo_tail->next = j;
	else
		rs->todo = j;
	rs->todo_tail = j;
	pthread_cond_signal(&rs->worker.cond);
	pthread_mutex_unlock(&rs->worker.lock);
}

void engine__probe(struct engine *e)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_IDENTIFY;
	e->probing = 1;
	submit_job(e, j);
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
		engine__settle(e, it, q->dest, NULL, NULL, "", &j->r, 0);
	}
	engine__make_ready(e, q);
}

void engine__take_resolved(struct engine *e)
{
	struct job *list, *next;

	if (!e->p)
		return;
	pthread_mutex_lock(&e->rs.worker.lock);
	list = e->rs.done;
	e->rs.done = NULL;
	pthread_mutex_unlock(&e->rs.worker.lock);
	/* The list is newest first; the order does not matter. */
	for (; list; list = next) {
		next = list->next;
		if (list->kind == JOB_RESOLVE)
			resolved(e, list);
		else
			engine__probed(e, list);
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

int engine__have_channel(struct engine *e, struct queue *q)
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
		engine__settle(e, q->head, q->dest, NULL, NULL, "", &r, 0);
		engine__make_ready(e, q);
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
