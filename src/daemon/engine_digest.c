/*
 * engine_digest: digests (docs/delivery.md, "Digests"). When a
 * destination's queue is in a storm (more than HERALD_DIGEST_THRESHOLD new
 * posts waiting, or pacing holding them back longer than
 * HERALD_DIGEST_AFTER), its next request is one message listing them, one
 * line each, instead of a trickle. Later events of those stories edit
 * their lines of the digest while the storm lasts (many lines in one
 * edit), and post messages of their own once it is over. Edits of other
 * messages are never folded in: a digest ends where one waits, so they go
 * as edits, in order; and the story rules still judge every notification.
 *
 * The loop offers the ids behind a queue's head when the queue may be in
 * a storm (engine__digest_offer()); the preparer reads and judges them and
 * builds the one request (engine__digest_prepare()); the loop settles the
 * answer for all of them in one turn's updates, so one transaction
 * (engine__digest_settle()). engine__digest_prepare() and what it calls
 * run on the preparer thread; the rest on the loop thread.
 */
#include "daemon/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/render.h"
#include "delivery/provider.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/summary_job.h"

/* Ids offered at most: room to count a threshold and to pass quiet ones. */
#define CAND_MAX 1000

/* ---- the loop: the offer ---- */

void engine__digest_offer(struct engine *e, struct flight *f,
			  struct queue *q, double now)
{
	double blocked;
	size_t max, nr = 0;

	f->waiting = q->len;
	if (e->digest_threshold <= 0 || q->len < 2 || !e->p)
		return;
	blocked = q->blocked_until > now ? q->blocked_until - now : 0;
	/* Not due: the candidates matter only if the head edits a digest. */
	f->due = pace_digest_due(q->len, e->digest_threshold, e->digest_after,
				 pace_hold(&q->bucket, now, q->len, blocked));
	max = 2 * render_digest_capacity(e->kind);
	if ((size_t)e->digest_threshold + 1 > max)
		max = (size_t)e->digest_threshold + 1;
	if (max > CAND_MAX)
		max = CAND_MAX;
	f->cand = xcalloc(max, sizeof(*f->cand));
	for (struct item *it = q->head->next; it && nr < max; it = it->next)
		f->cand[nr++] = it->id;
	f->cand_nr = nr;
	f->bucket = q->bucket;
	f->bucket_now = now;
	f->blocked_s = blocked;
}

/* ---- the preparer: reading and judging ---- */

void engine__members_free(struct flight *f)
{
	for (size_t i = 0; i < f->members_nr; i++) {
		store_record_release(&f->members[i].rec);
		event_free(f->members[i].ev);
	}
	free(f->members);
	f->members = NULL;
	f->members_nr = 0;
}

/* Frees the members from keep on: they are not in the digest. */
static void members_cut(struct flight *f, size_t keep)
{
	for (size_t i = keep; i < f->members_nr; i++) {
		store_record_release(&f->members[i].rec);
		event_free(f->members[i].ev);
	}
	f->members_nr = keep;
}

static struct render_ctx ctx_of(struct api_snapshot *snap,
				const struct event *ev)
{
	struct render_ctx ctx = { CONFIG_DEFAULT_COMMIT_URL, NULL };

	if (snap && snap->cfg.commit_url)
		ctx.commit_url = snap->cfg.commit_url;
	if (snap && snap->has_catalog && ev->app)
		ctx.service = catalog_lookup(&snap->cat, ev->app);
	return ctx;
}

/* A hash of the message body as it would be sent, in hex. */
static void body_hash(const json_t *body, char hex[17])
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	snprintf(hex, 17, "%016llx", (unsigned long long)
		 fnv1a(text ? text : "", FNV1A_BASIS));
	free(text);
}

/* Reads notification id with its event; -1 when it cannot be read. */
static int read_event(struct engine *e, int64_t id, struct store_record *rec,
		      struct event **ev)
{
	struct errbuf err;
	json_t *summary;

	*ev = NULL;
	if (store_get(e->store, id, rec, &err) < 0)
		return -1;
	/* A weekly summary is a message of its own, never a line. */
	if (rec->body && (summary = summary_job_rendered(rec->body,
			provider_kind_name(e->kind)))) {
		json_decref(summary);
		return -1;
	}
	*ev = engine__stored_event(rec);
	if (!*ev)
		return -1;
	free(rec->body);
	rec->body = NULL;
	return 0;
}

/* Reads m and what its line will show; -1 when it cannot be read. */
static int member_read(struct engine *e, struct member *m,
		       struct api_snapshot *snap)
{
	struct render_ctx ctx;
	json_t *body;

	if (read_event(e, m->id, &m->rec, &m->ev) < 0)
		return -1;
	m->edit_only = m->ev->edit_only;
	if (m->rec.correlation_key) {
		ctx = ctx_of(snap, m->ev);
		m->mark.event_at = m->ev->timestamp > 0 ?
				   (double)m->ev->timestamp : m->rec.created_at;
		m->mark.rank = event_status_rank(m->ev->status);
		body = render_for(e->kind, m->ev, &ctx);
		body_hash(body, m->mark.hash);
		json_decref(body);
	}
	return 0;
}

static void quiet(struct member *m, enum store_state state, const char *why)
{
	m->kind = MEMBER_QUIET;
	m->quiet = state;
	snprintf(m->quiet_why, sizeof(m->quiet_why), "%s", why);
}

/*
 * What m would do on its own at dest: the story rules as
 * engine_prepare.c's prepare() applies them, and whether its story's
 * message is a digest.
 */
static void member_judge(struct engine *e, struct member *m, const char *dest,
			 int force_post)
{
	struct story *story;

	m->kind = MEMBER_POST;
	if (m->rec.correlation_key && !force_post) {
		pthread_mutex_lock(&e->story_lock);
		story = engine__story_find(e, m->rec.correlation_key);
		if (story && (!story->destination || !dest ||
			      strcmp(story->destination, dest)))
			story = NULL;
		if (story) {
			const struct story_mark *now = &story->mark;
			int open = e->story_window <= 0 ||
				   store_now() - story->updated_at <=
				   e->story_window;

			if (m->mark.event_at < now->event_at ||
			    (m->mark.event_at == now->event_at &&
			     m->mark.rank < now->rank))
				quiet(m, STORE_SUPERSEDED, "older than what its "
				      "story's message already shows");
			else if (open && now->hash[0] &&
				 !strcmp(now->hash, m->mark.hash))
				quiet(m, STORE_UNCHANGED, "its story's message "
				      "already reads the same");
			else if (open && story->digest_id) {
				m->kind = MEMBER_DIGEST;
				m->digest_id = story->digest_id;
				m->story_at = story->updated_at;
			} else if (open) {
				m->kind = MEMBER_EDIT;
			}
		}
		pthread_mutex_unlock(&e->story_lock);
	}
	if (m->kind == MEMBER_POST && m->edit_only)
		quiet(m, STORE_SKIPPED, m->rec.correlation_key ?
		      "it only edits its story's message, and there is no "
		      "open message to edit" :
		      "it only edits a story's message, and it has no story "
		      "(no correlation key)");
	/* A silence holds back new messages, so new lines too, not edits. */
	if (m->kind == MEMBER_POST && m->ev) {
		char why[sizeof(m->quiet_why)];
		int64_t sid = engine__silenced(e, m->ev, dest, why, sizeof(why));

		if (sid) {
			quiet(m, STORE_SILENCED, why);
			m->silence_id = sid;
		}
	}
}

/* Whether a member before i has the story key. */
static int key_before(const struct flight *f, size_t i, const char *key)
{
	for (size_t k = 0; k < i; k++)
		if (f->members[k].kind != MEMBER_QUIET &&
		    f->members[k].rec.correlation_key &&
		    !strcmp(f->members[k].rec.correlation_key, key))
			return 1;
	return 0;
}

static void lines_json(struct strbuf *sb, const int64_t *ids, size_t nr)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < nr; i++)
		strbuf_addf(sb, "%s%lld", i ? "," : "", (long long)ids[i]);
	strbuf_addch(sb, ']');
}

static void request_failed(struct flight *f, const char *what,
			   const struct errbuf *err)
{
	http_request_release(&f->req);
	delivery_result_set(&f->r, DELIVERY_PERMANENT, "invalid_request",
			    "%s: %s: %s", f->rec.destination, what, err->msg);
	f->prep = PREP_FAILED;
}

/*
 * A new digest of the head and the posts right behind it (and the quiet
 * ones among them), up to the platform's capacity: stops at an edit, a
 * second event of a story already listed, or an edit-only event. Returns
 * 0 (nothing built) for fewer than two lines.
 */
static int digest_post(struct engine *e, struct flight *f,
		       struct api_snapshot *snap)
{
	size_t cap = render_digest_capacity(e->kind), lines = 0, used = 0, k;
	const struct event **evs;
	struct render_ctx *ctxs;
	int64_t *ids;
	struct strbuf sb = STRBUF_INIT;
	char nonce[26], ident[STORE_INSTANCE_ID_MAX + 80];
	struct errbuf err;
	json_t *body;
	int ret;

	for (size_t i = 0; i < f->members_nr; i++) {
		struct member *m = &f->members[i];

		if (m->kind == MEMBER_QUIET) {
			used = i + 1;
			continue;
		}
		if (m->kind != MEMBER_POST || lines == cap ||
		    (m->rec.correlation_key &&
		     key_before(f, i, m->rec.correlation_key)))
			break;
		lines++;
		used = i + 1;
	}
	if (lines < 2)
		return 0;
	members_cut(f, used);
	evs = xcalloc(lines, sizeof(*evs));
	ctxs = xcalloc(lines, sizeof(*ctxs));
	ids = xcalloc(lines, sizeof(*ids));
	k = 0;
	for (size_t i = 0; i < f->members_nr; i++) {
		if (f->members[i].kind != MEMBER_POST)
			continue;
		evs[k] = f->members[i].ev;
		ctxs[k] = ctx_of(snap, evs[k]);
		ids[k++] = f->members[i].id;
	}
	body = render_digest(e->kind, evs, ctxs, lines,
			     f->waiting > used ? f->waiting - used : 0);
	lines_json(&sb, ids, lines);
	f->lines = strbuf_detach(&sb, NULL);
	f->lines_nr = lines;
	f->digest = FLIGHT_DIGEST_POST;
	f->digest_id = f->members[0].id;
	f->mark = f->members[0].mark;
	/*
	 * The same digest again (a crash before its answer was written) has
	 * the same nonce; a different one, another.
	 */
	snprintf(ident, sizeof(ident), "%s/d%lld-%lld-%zu",
		 store_instance_id(e->store), (long long)ids[0],
		 (long long)ids[lines - 1], lines);
	provider_nonce(ident, nonce);
	ret = e->p->ops->post_request(e->p, f->chan, body, nonce, &f->req,
				      &err);
	json_decref(body);
	free(evs);
	free(ctxs);
	free(ids);
	if (ret < 0)
		request_failed(f, "digest", &err);
	else
		f->prep = PREP_READY;
	return 1;
}

/* The ids of a digest's lines, from its JSON. */
static size_t parse_lines(const char *text, int64_t **ids)
{
	json_t *arr = text ? json_loads(text, 0, NULL) : NULL;
	size_t nr = 0;

	*ids = NULL;
	if (json_is_array(arr) && json_array_size(arr)) {
		*ids = xcalloc(json_array_size(arr), sizeof(**ids));
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *v = json_array_get(arr, i);

			if (json_is_integer(v) && json_integer_value(v) > 0)
				(*ids)[nr++] = json_integer_value(v);
		}
	}
	json_decref(arr);
	return nr;
}

/*
 * An edit of the head's digest: the head's line, and while the storm lasts
 * the lines of the same digest's stories right behind it, updated in one
 * request. Returns 0 (nothing built) when the digest cannot be edited:
 * the head then posts a message of its own.
 */
static int digest_edit(struct engine *e, struct flight *f,
		       struct api_snapshot *snap, int storm)
{
	int64_t d = f->members[0].digest_id, *ids = NULL;
	struct store_digest dg;
	struct errbuf err;
	struct store_record *recs;
	struct event **own, *evs_line;
	const struct event **evs;
	struct render_ctx *ctxs;
	struct strbuf sb = STRBUF_INIT;
	size_t used = 1, nr, shown = 0, extra = 0;
	json_t *body;
	int ret;

	if (store_digest_get(e->store, d, &dg, &err) < 0 || !dg.channel_id ||
	    !dg.message_id) {
		store_digest_release(&dg);
		return 0;
	}
	for (size_t i = 1; storm && i < f->members_nr; i++) {
		struct member *m = &f->members[i];

		if (m->kind == MEMBER_QUIET) {
			used = i + 1;
			continue;
		}
		if (m->kind != MEMBER_DIGEST || m->digest_id != d ||
		    key_before(f, i, m->rec.correlation_key))
			break;
		used = i + 1;
	}
	members_cut(f, used);
	nr = parse_lines(dg.lines, &ids);
	/* A member whose line is missing gets one at the end. */
	ids = xrealloc(ids, (nr + used) * sizeof(*ids));
	recs = xcalloc(nr + used, sizeof(*recs));
	own = xcalloc(nr + used, sizeof(*own));
	evs = xcalloc(nr + used, sizeof(*evs));
	ctxs = xcalloc(nr + used, sizeof(*ctxs));
	for (size_t i = 0; i < nr; i++) {
		if (read_event(e, ids[i], &recs[i], &evs_line) < 0) {
			store_record_release(&recs[i]);
			continue;
		}
		own[i] = evs_line;
		evs[i] = evs_line;
	}
	for (size_t k = 0; k < used; k++) {
		struct member *m = &f->members[k];
		size_t i;

		if (m->kind != MEMBER_DIGEST)
			continue;
		for (i = 0; i < nr + extra; i++)
			if (recs[i].correlation_key &&
			    !strcmp(recs[i].correlation_key,
				    m->rec.correlation_key))
				break;
		if (i == nr + extra) {
			extra++;
			recs[i].correlation_key =
				xstrdup(m->rec.correlation_key);
		}
		ids[i] = m->id;
		evs[i] = m->ev;
	}
	/* The lines that can be read, in order. */
	for (size_t i = 0; i < nr + extra; i++) {
		if (!evs[i])
			continue;
		evs[shown] = evs[i];
		ctxs[shown] = ctx_of(snap, evs[i]);
		ids[shown++] = ids[i];
	}
	ret = -1;
	if (shown) {
		body = render_digest(e->kind, evs, ctxs, shown, 0);
		ret = e->p->ops->update_request(e->p, dg.channel_id,
						dg.message_id, body, &f->req,
						&err);
		json_decref(body);
	}
	for (size_t i = 0; i < nr + extra; i++) {
		store_record_release(&recs[i]);
		event_free(own[i]);
	}
	free(recs);
	free(own);
	free(evs);
	free(ctxs);
	if (ret < 0) {
		struct log_line l;

		log_begin(&l, LOG_WARN, "digest cannot be edited");
		log_int(&l, "notification", f->id);
		log_int(&l, "digest", d);
		log_str(&l, "destination", f->rec.destination);
		log_str(&l, "error", shown ? err.msg : "no line can be read");
		log_end(&l);
		http_request_release(&f->req);
		store_digest_release(&dg);
		free(ids);
		return 0;
	}
	lines_json(&sb, ids, shown);
	free(ids);
	f->lines = strbuf_detach(&sb, NULL);
	f->lines_nr = shown;
	f->digest = FLIGHT_DIGEST_EDIT;
	f->digest_id = d;
	f->edit = 1;
	f->mark = f->members[0].mark;
	snprintf(f->channel_id, sizeof(f->channel_id), "%s", dg.channel_id);
	snprintf(f->message_id, sizeof(f->message_id), "%s", dg.message_id);
	store_digest_release(&dg);
	f->prep = PREP_READY;
	return 1;
}

int engine__digest_prepare(struct engine *e, struct flight *f)
{
	struct api_snapshot *snap = e->routing ?
				    api_routing_current(e->routing) : NULL;
	size_t n = f->cand_nr + 1, posts = 0;
	struct member *head;
	int storm, lasting, ret = 0;

	f->members = xcalloc(n, sizeof(*f->members));
	for (size_t i = 0; i < n; i++) {
		struct member *m = &f->members[i];

		m->id = i ? f->cand[i - 1] : f->id;
		f->members_nr = i + 1;
		if (member_read(e, m, snap) < 0) {
			/* It goes alone, as the head of its own turn. */
			m->kind = MEMBER_UNREADABLE;
			break;
		}
		member_judge(e, m, f->rec.destination, !i && f->force_post);
		if (m->kind == MEMBER_POST || m->kind == MEMBER_DIGEST)
			posts++;
		/* No storm, and the head edits no digest: it goes alone. */
		if (!i && !f->due && m->kind != MEMBER_DIGEST)
			break;
	}
	head = &f->members[0];
	storm = f->due && pace_digest_due(posts, e->digest_threshold,
					  e->digest_after,
					  pace_hold(&f->bucket, f->bucket_now,
						    posts, f->blocked_s));
	/*
	 * The storm that made a digest lasts while the destination is in a
	 * storm, or the digest was written less than HERALD_DIGEST_AFTER ago
	 * (the tail of the storm edits it too).
	 */
	lasting = storm || (head->kind == MEMBER_DIGEST &&
			    store_now() - head->story_at <= e->digest_after);
	if (head->kind == MEMBER_DIGEST && (lasting || head->edit_only))
		ret = digest_edit(e, f, snap, lasting);
	else if (head->kind == MEMBER_POST && storm)
		ret = digest_post(e, f, snap);
	if (!ret && head->kind == MEMBER_DIGEST)
		f->own_post = 1;
	if (!ret)
		engine__members_free(f);
	if (snap)
		api_snapshot_put(snap);
	return ret;
}

/* ---- the loop: the answer ---- */

void engine__digest_settle(struct engine *e, struct flight *f,
			   const struct delivery_result *r, long duration_ms)
{
	struct item *it = f->it;
	struct queue *q = it->q;
	const char *dest = f->rec.destination, *channel, *message;
	int edit = f->digest == FLIGHT_DIGEST_EDIT;
	struct store_update *u;
	struct log_line l;
	size_t n = 0;

	if (r->outcome == DELIVERY_PERMANENT && edit &&
	    engine__edit_refused(r)) {
		engine__attempt_row(e, it, "retry", r, duration_ms);
		log_begin(&l, LOG_WARN, "digest message cannot be edited; its "
			  "stories post new messages");
		log_int(&l, "notification", it->id);
		log_int(&l, "digest", f->digest_id);
		log_str(&l, "destination", dest);
		log_str(&l, "code", r->code);
		log_end(&l);
		pthread_mutex_lock(&e->story_lock);
		for (size_t i = 0; i < f->members_nr; i++)
			if (f->members[i].kind == MEMBER_DIGEST)
				engine__story_set(e,
					f->members[i].rec.correlation_key,
					NULL, NULL, NULL, 0, NULL, 0);
		pthread_mutex_unlock(&e->story_lock);
		return;
	}
	if (r->outcome != DELIVERY_OK) {
		/* Nothing was posted: the head's outcome; the rest wait. */
		engine__settle(e, it, dest, f->rec.correlation_key,
			       edit ? f->message_id : NULL, f->channel_id, r,
			       duration_ms);
		return;
	}
	if (r->rl.known && r->rl.bucket[0])
		snprintf(q->bucket_id, sizeof(q->bucket_id), "%s", r->rl.bucket);
	if (r->rl.known && r->rl.remaining == 0 && r->rl.reset_after_s > 0 &&
	    monotonic_now() + r->rl.reset_after_s > q->blocked_until)
		q->blocked_until = monotonic_now() + r->rl.reset_after_s;
	channel = edit || !r->channel_id[0] ? f->channel_id : r->channel_id;
	message = edit ? f->message_id : r->message_id;
	u = engine__update(e, STORE_UP_DIGEST, f->digest_id);
	u->provider = e->pname;
	u->destination = engine__keep(e, dest);
	u->channel_id = engine__keep(e, channel);
	u->message_id = engine__keep(e, message);
	u->lines = engine__keep(e, f->lines);
	for (size_t i = 0; i < f->members_nr; i++) {
		struct member *m = &f->members[i];
		struct item *mi = q->head;

		if (!mi || mi->id != m->id) {
			/* Cannot happen: the queue was busy meanwhile. */
			log_event(LOG_ERROR, "digest member is not at the head "
				  "of its queue", "destination", dest, NULL);
			break;
		}
		if (m->kind == MEMBER_QUIET) {
			mi->silence_id = m->silence_id;
			engine__settle_quiet(e, mi, dest, m->quiet,
					     m->quiet_why);
			continue;
		}
		if (i)
			mi->tries++;
		mi->attempts++;
		engine__attempt_row(e, mi, "ok", r, duration_ms);
		mi->mark = m->mark;
		engine__delivered(e, mi, dest, m->rec.correlation_key, channel,
				  message, f->digest_id);
		n++;
	}
	if (edit)
		e->stats.edits++;
	metrics_digest(e->metrics, e->pname, edit, n);
	log_begin(&l, LOG_INFO, edit ? "digest edited" : "digest posted");
	log_int(&l, "digest", f->digest_id);
	log_str(&l, "destination", dest);
	log_int(&l, "notifications", (long long)n);
	log_int(&l, "lines", (long long)f->lines_nr);
	log_end(&l);
}
