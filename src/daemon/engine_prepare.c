/*
 * engine_prepare: a queue's head on its way out. The loop dispatches it
 * (a struct flight) and hands the turn's flights to the preparer thread,
 * which reads the notification, renders it with the current routing
 * snapshot, picks a post or an edit of its story's message and builds the
 * HTTP request; the loop takes the prepared flights back, submits their
 * requests on the asynchronous client, marks them "sending" once they
 * have been in flight a while, and settles their answers. The preparer
 * also reads notifications handed in by id (loads), off the loop. The log
 * provider renders and prints on the loop at once.
 *
 * engine__preparer_main() and what it calls (prepare(), read_load(),
 * render(), head_record()) run on the preparer thread; the rest, and
 * render() and head_record() for the log provider, on the loop thread.
 */
#include "daemon/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/render.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/summary_job.h"
#include "inputs/event_json.h"

/* How long a request is in flight before the store shows it "sending". */
#define SENDING_MARK_S 0.1

/* ---- flights in progress ---- */

void engine__flight_free(struct flight *f)
{
	engine__members_free(f);
	free(f->cand);
	free(f->lines);
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

/* The list is in start order. */
void engine__mark_sending(struct engine *e, double now)
{
	struct flight *f;

	while ((f = e->unmarked) && f->mark_at <= now) {
		unmark_del(e, f);
		engine__update(e, STORE_UP_SENDING, f->id);
	}
}

/* A request slot is free again: a queue waiting for one may go. */
static void release_slot(struct engine *e)
{
	e->in_flight--;
	if (e->slot_wait.head)
		engine__make_ready(e, engine__qlist_pop(&e->slot_wait));
}

/*
 * The client sent f's request again on a new connection after the reused
 * one closed without an answer: the first send may have been posted, so
 * the message may show twice (Slack; Discord drops the repeat by its
 * nonce). Counted and logged: the duplicate bound in docs/delivery.md.
 */
static void note_resent(struct engine *e, const struct flight *f, int times)
{
	struct log_line l;

	metrics_request_resent(e->metrics, e->pname, times);
	log_begin(&l, LOG_WARN, "request sent again");
	log_int(&l, "notification", f->id);
	log_str(&l, "destination", f->rec.destination);
	log_str(&l, "request", f->edit ? "edit" : "post");
	log_int(&l, "times", times);
	log_str(&l, "hint", "a kept-alive connection closed before the "
		"answer and the HTTP client sent the request again on a new "
		"one; the platform may show the message twice");
	log_end(&l);
}

/* http_client's callback: the answer to f's request. */
static void on_done(void *arg, struct http_response *resp)
{
	struct flight *f = arg;
	struct engine *e = f->e;
	struct item *it = f->it;
	struct queue *q = it->q;
	struct delivery_result r;

	delivery_result_clear(&r);
	e->p->ops->parse_response(e->p, resp, f->rec.destination, &r);
	if (resp->resent)
		note_resent(e, f, resp->resent);
	unmark_del(e, f);
	q->inflight = NULL;
	release_slot(e);
	if (f->digest != FLIGHT_SINGLE)
		engine__digest_settle(e, f, &r, (long)(resp->elapsed_s * 1000));
	else
		engine__settle(e, it, f->rec.destination,
			       f->rec.correlation_key,
			       f->edit ? f->message_id : NULL, f->channel_id,
			       &r, (long)(resp->elapsed_s * 1000));
	engine__flight_free(f);
	engine__hold(e, q);
}

/* ---- reading and rendering ---- */

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

/*
 * What the story rules need of an event: when it happened (its timestamp,
 * else when it was accepted), its status rank, and whether it only edits;
 * and the active silence it matches, if any (which holds it back unless
 * it edits a message already posted).
 */
struct facts {
	double at;
	int rank;
	int edit_only;
	int64_t silence_id;
	char silence_why[200];
};

struct event *engine__stored_event(const struct store_record *rec)
{
	struct event *evs = NULL;
	size_t nr = 0;

	if (!rec->body || event_parse_many(rec->body, strlen(rec->body), 1,
					   &evs, &nr, NULL) < 0 || nr != 1) {
		event_array_free(evs, nr);
		return NULL;
	}
	return evs;
}

/*
 * Renders ev, or when it is NULL the event read back with rec; fills
 * facts (may be NULL).
 */
static json_t *render(struct engine *e, const struct store_record *rec,
		      const struct event *ev, struct delivery_result *r,
		      struct facts *facts)
{
	struct event *evs = NULL;
	size_t nr = 0;
	struct api_snapshot *snap;
	struct render_ctx ctx = { CONFIG_DEFAULT_COMMIT_URL, NULL };
	json_t *body;

	if (!ev && (body = summary_job_rendered(rec->body, provider_kind_name(
			e->p ? e->kind : PROVIDER_SLACK)))) {
		if (facts)
			*facts = (struct facts){ .at = rec->created_at };
		return body;
	}
	if (ev) {
		evs = (struct event *)ev;
		nr = 1;
	} else if ((evs = engine__stored_event(rec))) {
		nr = 1;
	} else {
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
	if (facts) {
		facts->at = evs[0].timestamp > 0 ? (double)evs[0].timestamp :
			    rec->created_at;
		facts->rank = event_status_rank(evs[0].status);
		facts->edit_only = evs[0].edit_only;
		facts->silence_id = engine__silenced(e, &evs[0],
						     rec->destination,
						     facts->silence_why,
						     sizeof(facts->silence_why));
	}
	body = render_for(e->p ? e->kind : PROVIDER_SLACK, &evs[0], &ctx);
	if (snap)
		api_snapshot_put(snap);
	if (!ev)
		event_array_free(evs, nr);
	return body;
}

void engine__send_log(struct engine *e, struct queue *q)
{
	struct facts facts = { 0, 0, 0, 0, "" };
	struct item *it = q->head;
	struct store_record rec;
	struct event *ev;
	struct delivery_result r;
	json_t *body;

	delivery_result_clear(&r);
	engine__take_cached(e, it, &rec, &ev);
	if (!rec.body && !ev) {
		store_record_release(&rec);
		if (head_record(e, it->id, &rec) < 0) {
			/* Gone from the store: nothing to deliver. */
			engine__remove_head(e, it);
			engine__make_ready(e, q);
			return;
		}
	}
	body = render(e, &rec, ev, &r, &facts);
	event_free(ev);
	if (body && facts.silence_id) {
		it->silence_id = facts.silence_id;
		engine__settle_quiet(e, it, rec.destination, STORE_SILENCED,
				     facts.silence_why);
		json_decref(body);
	} else if (body) {
		engine__print_log(e, it, &rec, body);
		json_decref(body);
	} else {
		it->tries++;
		engine__settle(e, it, rec.destination, rec.correlation_key,
			       NULL, "", &r, 0);
	}
	store_record_release(&rec);
	engine__make_ready(e, q);
}

/* ---- the preparer thread ---- */

/* A hash of the message body as it would be sent, in hex. */
static void body_hash(const json_t *body, char hex[17])
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	snprintf(hex, 17, "%016llx", (unsigned long long)
		 fnv1a(text ? text : "", FNV1A_BASIS));
	free(text);
}

/* Whether story's message is in dest, where this notification goes. */
static int story_here(const struct story *story, const char *dest)
{
	return story->destination && dest && !strcmp(story->destination, dest);
}

/*
 * Whether story's message is still open for edits: last written within
 * HERALD_STORY_WINDOW.
 */
static int story_open(struct engine *e, const struct story *story)
{
	return e->story_window <= 0 ||
	       store_now() - story->updated_at <= e->story_window;
}

static void settle_quiet(struct flight *f, enum store_state state,
			 const char *why)
{
	f->prep = PREP_SETTLED;
	f->quiet = state;
	snprintf(f->quiet_why, sizeof(f->quiet_why), "%s", why);
}

/*
 * The story rules for a story with a message where f goes: never
 * backwards (an event older than what the message shows, by time and
 * then status rank, is superseded, even once the story is closed: a new
 * message must not show the past either), and, while the message is
 * open, no edit that changes nothing. Returns whether f settled without a
 * request.
 */
static int story_rules(struct flight *f, const struct story *story, int open)
{
	const struct story_mark *now = &story->mark, *mine = &f->mark;

	if (mine->event_at < now->event_at ||
	    (mine->event_at == now->event_at && mine->rank < now->rank)) {
		settle_quiet(f, STORE_SUPERSEDED, "older than what its "
			     "story's message already shows");
		return 1;
	}
	if (open && now->hash[0] && !strcmp(now->hash, mine->hash)) {
		settle_quiet(f, STORE_UNCHANGED, "its story's message already "
			     "reads the same");
		return 1;
	}
	return 0;
}

/*
 * On the preparer thread: reads the notification, renders it, decides
 * between a post and an edit of its story's message, and builds the
 * request.
 */
static void prepare(struct engine *e, struct flight *f)
{
	struct facts facts = { 0, 0, 0, 0, "" };
	struct story *story;
	struct errbuf err;
	json_t *body;
	char nonce[26], ident[STORE_INSTANCE_ID_MAX + 32];
	char *chan = NULL, *msg = NULL;
	int ret, open, recheck = 0;

again:
	delivery_result_clear(&f->r);
	if (!f->rec.body && !f->ev) {
		store_record_release(&f->rec);
		if (head_record(e, f->id, &f->rec) < 0) {
			f->prep = PREP_GONE;
			return;
		}
	}
	if ((f->cand || recheck) && !f->digest_tried) {
		f->digest_tried = 1;
		recheck = 0;
		if (engine__digest_prepare(e, f))
			return;
	}
	body = render(e, &f->rec, f->ev, &f->r, &facts);
	free(f->rec.body);
	f->rec.body = NULL;
	event_free(f->ev);
	f->ev = NULL;
	if (!body) {
		f->prep = PREP_FAILED;
		return;
	}
	if (f->rec.correlation_key) {
		f->mark.event_at = facts.at;
		f->mark.rank = facts.rank;
		body_hash(body, f->mark.hash);
	}
	if (f->rec.correlation_key && !f->force_post) {
		pthread_mutex_lock(&e->story_lock);
		story = engine__story_find(e, f->rec.correlation_key);
		if (story && !story_here(story, f->rec.destination))
			story = NULL;
		open = story && story_open(e, story);
		/*
		 * A digest's story: engine__digest_prepare() decides (an edit
		 * of its line, or a message of its own: own_post).
		 */
		if (story && open && story->digest_id && !f->digest_tried)
			recheck = 1;
		else if (story && !story_rules(f, story, open) && open &&
			 !(f->own_post && story->digest_id)) {
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
	if (recheck) {
		json_decref(body);
		goto again;
	}
	if (f->edit && e->p->ops->update_request(e->p, chan, msg, body,
						 &f->req, &err) < 0) {
		struct log_line l;

		/*
		 * herald never refuses what the platform returned: an ID it
		 * cannot edit with gets a new message (or none, edit-only).
		 */
		log_begin(&l, LOG_WARN, "story message cannot be edited");
		log_int(&l, "notification", f->id);
		log_str(&l, "destination", f->rec.destination);
		log_str(&l, "error", err.msg);
		log_end(&l);
		http_request_release(&f->req);
		f->edit = 0;
		snprintf(f->channel_id, sizeof(f->channel_id), "%s", f->chan);
		f->message_id[0] = '\0';
	}
	if (f->prep != PREP_SETTLED && !f->edit && facts.edit_only)
		settle_quiet(f, STORE_SKIPPED, f->rec.correlation_key ?
			     "it only edits its story's message, and there is "
			     "no open message to edit" :
			     "it only edits a story's message, and it has no "
			     "story (no correlation key)");
	/* Silences hold back new messages; edits still go. */
	if (f->prep != PREP_SETTLED && !f->edit && facts.silence_id) {
		settle_quiet(f, STORE_SILENCED, facts.silence_why);
		f->silence_id = facts.silence_id;
	}
	if (f->prep == PREP_SETTLED) {
		json_decref(body);
		free(chan);
		free(msg);
		return;
	}
	ret = 0;
	if (!f->edit) {
		/* IDs restart in another database: its ID tells them apart. */
		snprintf(ident, sizeof(ident), "%s/n%lld",
			 store_instance_id(e->store), (long long)f->id);
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

void *engine__preparer_main(void *arg)
{
	struct engine *e = arg;
	struct preparer *pr = &e->pr;
	struct engine_worker *w = &pr->worker;

	pthread_setname_np(pthread_self(), "herald-prepare");
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct flight *f;
		int wake;

		while (!pr->todo && !pr->loads && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->quit)
			break;
		if (pr->loads) {
			struct load *ld = pr->loads;

			pr->loads = ld->next;
			if (!pr->loads)
				pr->loads_tail = NULL;
			pthread_mutex_unlock(&w->lock);

			read_load(e, ld);

			pthread_mutex_lock(&w->lock);
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
		pthread_mutex_unlock(&w->lock);

		prepare(e, f);

		pthread_mutex_lock(&w->lock);
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
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void engine__preparer_clear(struct engine *e)
{
	for (struct load *ld = e->pr.loads, *next; ld; ld = next) {
		next = ld->next;
		load_free(ld);
	}
	for (struct load *ld = e->pr.loaded, *next; ld; ld = next) {
		next = ld->next;
		load_free(ld);
	}
	e->pr.loads = e->pr.loads_tail = NULL;
	e->pr.loaded = e->pr.loaded_tail = NULL;
}

/* ---- the loop's side: handing out, taking back, submitting ---- */

void engine__hand_load(struct engine *e, int64_t *ids, size_t nr)
{
	struct preparer *pr = &e->pr;
	struct load *ld = xcalloc(1, sizeof(*ld));

	ld->ids = ids;
	ld->nr = nr;
	e->loading += nr;
	pthread_mutex_lock(&pr->worker.lock);
	if (pr->loads_tail)
		pr->loads_tail->next = ld;
	else
		pr->loads = ld;
	pr->loads_tail = ld;
	pthread_cond_signal(&pr->worker.cond);
	pthread_mutex_unlock(&pr->worker.lock);
}

void engine__dispatch(struct engine *e, struct queue *q, double now)
{
	struct flight *f = xcalloc(1, sizeof(*f));

	f->e = e;
	f->it = q->head;
	f->id = q->head->id;
	f->force_post = q->head->force_post;
	/* The record moves to the flight; a retry reads it again. */
	engine__take_cached(e, q->head, &f->rec, &f->ev);
	f->chan = xstrdup(q->channel_id ? q->channel_id : "");
	snprintf(f->channel_id, sizeof(f->channel_id), "%s", f->chan);
	engine__digest_offer(e, f, q, now);
	q->inflight = f;
	e->in_flight++;
	if (e->pout_tail)
		e->pout_tail->next = f;
	else
		e->pout = f;
	e->pout_tail = f;
}

void engine__hand_out(struct engine *e)
{
	struct preparer *pr = &e->pr;

	if (!e->pout)
		return;
	pthread_mutex_lock(&pr->worker.lock);
	if (pr->todo_tail)
		pr->todo_tail->next = e->pout;
	else
		pr->todo = e->pout;
	pr->todo_tail = e->pout_tail;
	pthread_cond_signal(&pr->worker.cond);
	pthread_mutex_unlock(&pr->worker.lock);
	e->pout = e->pout_tail = NULL;
}

/*
 * A head that made no request gives back the pacing tokens it took (its
 * queue's and the shared one): only requests count against the
 * platform's limits.
 */
static void give_back(struct engine *e, struct queue *q)
{
	struct pace_bucket *b[2] = { &q->bucket, &e->global };

	for (size_t i = 0; i < 2; i++)
		if (b[i]->rate > 0)
			b[i]->tokens = b[i]->tokens + 1.0 < b[i]->burst ?
				       b[i]->tokens + 1.0 : b[i]->burst;
}

/* A prepared head: submits its request, or settles why it cannot go. */
static void submit(struct engine *e, struct flight *f)
{
	struct item *it = f->it;
	struct queue *q = it->q;
	struct errbuf err;

	if (f->prep == PREP_READY && (e->draining || e->paused)) {
		/* No new request starts: the head waits its turn again. */
		give_back(e, q);
		q->inflight = NULL;
		release_slot(e);
		engine__flight_free(f);
		engine__make_ready(e, q);
		return;
	}
	it->mark = f->mark;
	if (f->prep == PREP_READY) {
		if (http_client_submit(e->client, &f->req, on_done, f,
				       &err) == 0) {
			http_request_release(&f->req);
			it->tries++;
			f->started = monotonic_now();
			f->mark_at = f->started + SENDING_MARK_S;
			unmark_add(e, f);
			return;
		}
		delivery_result_set(&f->r, DELIVERY_PERMANENT,
				    "invalid_request", "%s: %s",
				    f->rec.destination, err.msg);
		f->prep = PREP_FAILED;
	}
	give_back(e, q);
	q->inflight = NULL;
	release_slot(e);
	if (f->prep == PREP_GONE) {
		/* Gone from the store: nothing to deliver. */
		engine__remove_head(e, it);
	} else if (f->prep == PREP_SETTLED) {
		it->silence_id = f->silence_id;
		engine__settle_quiet(e, it, f->rec.destination, f->quiet,
				     f->quiet_why);
	} else {
		it->tries++;
		engine__settle(e, it, f->rec.destination,
			       f->rec.correlation_key, NULL, f->channel_id,
			       &f->r, 0);
	}
	engine__flight_free(f);
	engine__make_ready(e, q);
}

void engine__take_prepared(struct engine *e)
{
	struct preparer *pr = &e->pr;
	struct flight *list, *f;
	struct load *loads, *ld;

	if (!pr->worker.started)
		return;
	pthread_mutex_lock(&pr->worker.lock);
	list = pr->done;
	pr->done = pr->done_tail = NULL;
	loads = pr->loaded;
	pr->loaded = pr->loaded_tail = NULL;
	pthread_mutex_unlock(&pr->worker.lock);
	while ((ld = loads)) {
		loads = ld->next;
		for (size_t i = 0; i < ld->recs_nr; i++)
			engine__cache_record(e, engine__add_item(e,
					     &ld->recs[i]), &ld->recs[i], 1);
		e->loading -= ld->nr;
		load_free(ld);
	}
	while ((f = list)) {
		list = f->next;
		f->next = NULL;
		submit(e, f);
	}
}
