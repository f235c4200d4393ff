/*
 * store_sqlite_commit: group commit for the SQLite store.
 *
 * store_accept() queues its batch and sleeps; the committer thread takes
 * everything queued, writes it in one transaction (each batch inside its
 * own SAVEPOINT, so one refused batch does not sink the others), commits
 * once (one fsync) and wakes every caller with its own results.
 * store_apply() calls join the same rounds; a round of state changes only
 * commits with synchronous=NORMAL (no fsync of its own: the next accept's
 * fsync takes it to disk, and a power cut before that can only make a
 * message go out again; docs/storage.md). Between rounds the committer
 * runs the checkpoints: when the WAL is long, when the store has been idle
 * for IDLE_TRUNCATE_S (then it also truncates the WAL file, giving its
 * space back), and at once after a failed commit (which may have failed
 * for space). Shutdown and close stop the committer and wait for the
 * callers still inside. The SQL itself runs in store_sqlite.c. Also the
 * counters of the commits (store_stats()) and the commits a test makes
 * fail.
 */
#include "daemon/store_sqlite_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Past this, a checkpoint goes before the waiting accepts. */
#define CHECKPOINT_URGENT_PAGES 8000
/* Idle this long after a commit, the committer truncates the WAL. */
#define IDLE_TRUNCATE_S 1

static struct sqlite_store *sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

static void release_outs(struct accept_req *r)
{
	store_accepted_array_release(r->out, r->nr);
}

void sqlite_store__note_commit(struct sqlite_store *s, const char *why)
{
	pthread_mutex_lock(&s->lock);
	if (why) {
		s->failing = 1;
		snprintf(s->failing_why, sizeof(s->failing_why), "%s", why);
		s->want_truncate = 1;
		pthread_cond_signal(&s->wake);
	} else {
		s->failing = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Fails every request of the round not already refused on its own. */
static void fail_round(struct sqlite_store *s, struct accept_req *batch,
		       const char *why)
{
	sqlite_store__note_commit(s, why);
	for (struct accept_req *r = batch; r; r = r->next) {
		if (r->rc)
			continue;
		release_outs(r);
		r->rc = errbuf_set(r->err, HERALD_EIO,
				   "storing %s in %s failed: %s: check free disk space and the file's permissions",
				   r->ups ? "delivery states" : "events",
				   s->path, why);
	}
}

/* Undoes what the request wrote since SAVEPOINT batch, and ends it. */
static int rollback_batch(struct conn *c, struct errbuf *e)
{
	return sqlite_store__conn_exec(c, "ROLLBACK TO batch", e) ||
	       sqlite_store__conn_exec(c, "RELEASE batch", e);
}

/* The updates of a store_apply() call, inside the round's transaction. */
static int apply_ups(struct conn *c, struct accept_req *r)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < r->ups_nr; i++) {
		ret = sqlite_store__apply_one(c, &r->ups[i], r->err);
		if (ret)
			errbuf_prefix(r->err, "update %zu of notification %lld",
				      i, (long long)r->ups[i].id);
	}
	return ret;
}

/* One group commit: every queued request in one transaction. */
static void commit_round(struct sqlite_store *s, struct accept_req *batch)
{
	struct conn *c = &s->commit;
	double now = store_now();
	struct errbuf dberr;
	uint64_t calls = 0, items = 0, applies = 0;
	struct errbuf e;
	int states_only = 1, ret;

	for (struct accept_req *r = batch; r; r = r->next)
		states_only &= r->ups != NULL;
	pthread_mutex_lock(&c->lock);
	if (sqlite_store__conn_sync(c, states_only, &e)) {
		fail_round(s, batch, e.msg);
		goto unlock;
	}
	if (sqlite_store__write_begin(s, c, &e)) {
		fail_round(s, batch, sqlite_store__conn_errmsg(c));
		goto out;
	}
	for (struct accept_req *r = batch; r; r = r->next) {
		if (sqlite_store__conn_exec(c, "SAVEPOINT batch", &e))
			goto dbfail;
		if (r->ups) {
			/* Its own failure undoes only its own updates. */
			ret = apply_ups(c, r);
			if (ret) {
				r->rc = ret;
				if (rollback_batch(c, &e))
					goto dbfail;
				continue;
			}
			if (sqlite_store__conn_exec(c, "RELEASE batch", &e))
				goto dbfail;
			applies++;
			continue;
		}
		ret = sqlite_store__accept_items(c, r, now, &dberr);
		if (ret == HERALD_EINVAL) {
			r->rc = ret;
			release_outs(r);
			if (rollback_batch(c, &e))
				goto dbfail;
			continue;
		}
		if (ret) {
			fail_round(s, batch, dberr.msg);
			goto out;
		}
		if (sqlite_store__conn_exec(c, "RELEASE batch", &e))
			goto dbfail;
		calls++;
		items += r->nr;
	}
	if (sqlite_store__test_fail(s, NULL)) {
		fail_round(s, batch, "database or disk is full (a test's)");
		goto out;
	}
	if (sqlite_store__conn_exec(c, "COMMIT", &e))
		goto dbfail;
	sqlite_store__note_commit(s, NULL);
	if (calls)
		atomic_fetch_add(&s->accept_commits, 1);
	atomic_fetch_add(&s->apply_commits, applies);
	atomic_fetch_add(&s->accept_calls, calls);
	atomic_fetch_add(&s->accept_items, items);
	goto out;
dbfail:
	fail_round(s, batch, sqlite_store__conn_errmsg(c));
out:
	sqlite_store__write_end(s, c);
unlock:
	pthread_mutex_unlock(&c->lock);
}

/*
 * With s->lock held: waits for work, at most IDLE_TRUNCATE_S while the WAL
 * has commits not truncated yet. Returns 1 when that time passed idle.
 */
static int wait_for_work(struct sqlite_store *s)
{
	struct timespec ts;

	if (!s->wal_dirty) {
		pthread_cond_wait(&s->wake, &s->lock);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += IDLE_TRUNCATE_S;
	return pthread_cond_timedwait(&s->wake, &s->lock, &ts) == ETIMEDOUT &&
	       !s->head && !s->closing;
}

void *sqlite_store__committer_main(void *arg)
{
	struct sqlite_store *s = arg;
	struct accept_req *batch, *r, *next;

	pthread_setname_np(pthread_self(), "herald-commit");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		int idle = 0;

		while (!s->head && !s->closing && !s->want_truncate &&
		       s->wal_pages < CHECKPOINT_PAGES && !idle)
			idle = wait_for_work(s);
		if (s->closing)
			break;
		if (idle || s->want_truncate) {
			s->want_truncate = s->wal_dirty = s->wal_pages = 0;
			pthread_mutex_unlock(&s->lock);
			sqlite_store__checkpoint(s, 1);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (s->wal_pages >= (s->head ? CHECKPOINT_URGENT_PAGES :
				     CHECKPOINT_PAGES)) {
			s->wal_pages = 0;
			pthread_mutex_unlock(&s->lock);
			sqlite_store__checkpoint(s, 0);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (!s->head)
			continue;
		batch = s->head;
		s->head = NULL;
		s->tail = &s->head;
		pthread_mutex_unlock(&s->lock);

		commit_round(s, batch);

		/* Each caller of the round, and no one else, wakes up. */
		pthread_mutex_lock(&s->lock);
		for (r = batch; r; r = next) {
			next = r->next;
			r->done = 1;
			pthread_cond_signal(&r->cond);
		}
	}
	for (r = s->head; r; r = next) {
		next = r->next;
		r->rc = errbuf_set(r->err, HERALD_EIO,
				   "the store is shutting down: the %s not stored",
				   r->ups ? "delivery states were" :
				   "events were");
		r->done = 1;
		pthread_cond_signal(&r->cond);
	}
	s->head = NULL;
	s->tail = &s->head;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * With s->lock held (released on return): queues r for the committer's
 * next round and waits until it is done.
 */
static int wait_round(struct sqlite_store *s, struct accept_req *r)
{
	pthread_cond_init(&r->cond, NULL);
	s->active++;
	*s->tail = r;
	s->tail = &r->next;
	pthread_cond_signal(&s->wake);
	while (!r->done)
		pthread_cond_wait(&r->cond, &s->lock);
	if (--s->active == 0 && s->closing)
		pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&r->cond);
	return r->rc;
}

int sqlite_store__accept(struct store *st, const struct store_item *items,
			 size_t nr, struct store_accepted *out,
			 struct errbuf *err)
{
	struct sqlite_store *s = sq(st);
	struct accept_req req = { .items = items, .nr = nr, .out = out,
				  .err = err };

	memset(out, 0, nr * sizeof(*out));
	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->lock);
		return errbuf_set(err, HERALD_EIO,
				  "the store is shutting down: the events were not stored");
	}
	return wait_round(s, &req);
}

/*
 * After a failed commit: a small write of its own (the probe row in meta),
 * committed like an accept. Returns 0 when it was.
 */
int sqlite_store__probe_commit(struct sqlite_store *s, struct conn *c,
			       struct errbuf *err)
{
	int ret = sqlite_store__write_begin(s, c, err);

	if (!ret)
		ret = sqlite_store__conn_exec(c,
			"INSERT OR REPLACE INTO meta (key, value)"
			" VALUES ('ready_probe', strftime('%s', 'now'))", err);
	if (!ret && sqlite_store__test_fail(s, err))
		ret = HERALD_EIO;
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
	sqlite_store__write_end(s, c);
	return ret;
}

/* store_apply() in a transaction of its own, on the engine's connection. */
static int apply_alone(struct sqlite_store *s, const struct store_update *ups,
		       size_t nr, struct errbuf *err)
{
	struct conn *c = &s->engine;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = sqlite_store__write_begin(s, c, err);
	for (size_t i = 0; !ret && i < nr; i++) {
		ret = sqlite_store__apply_one(c, &ups[i], err);
		if (ret)
			errbuf_prefix(err, "update %zu of notification %lld", i,
				      (long long)ups[i].id);
	}
	if (!ret && sqlite_store__test_fail(s, err))
		ret = HERALD_EIO;
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
	if (!ret)
		atomic_fetch_add(&s->apply_commits, 1);
	sqlite_store__note_commit(s, ret ? err->msg : NULL);
	sqlite_store__write_end(s, c);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/*
 * The updates join the committer's next round: one transaction, and one
 * write of the pages that accepts and updates share (the newest rows of
 * notifications and their indexes), instead of two. Alone when the
 * committer is not there (starting, closing).
 */
int sqlite_store__apply(struct store *st, const struct store_update *ups,
			size_t nr, struct errbuf *err)
{
	struct sqlite_store *s = sq(st);
	struct accept_req req;

	memset(&req, 0, sizeof(req));
	req.ups = ups;
	req.ups_nr = nr;
	req.err = err;
	pthread_mutex_lock(&s->lock);
	if (!s->committer_started || s->closing || !nr) {
		pthread_mutex_unlock(&s->lock);
		return apply_alone(s, ups, nr, err);
	}
	return wait_round(s, &req);
}

/* ---- statistics and the tests' failures ------------------------------- */

void sqlite_store__stats(struct store *st, struct store_stats *out)
{
	struct sqlite_store *s = sq(st);

	out->accept_calls = atomic_load(&s->accept_calls);
	out->accept_items = atomic_load(&s->accept_items);
	out->accept_commits = atomic_load(&s->accept_commits);
	out->apply_commits = atomic_load(&s->apply_commits);
}

int sqlite_store__test_fail(struct sqlite_store *s, struct errbuf *err)
{
	long n = atomic_load(&s->test_fail);

	while (n > 0 && !atomic_compare_exchange_weak(&s->test_fail, &n, n - 1))
		;
	if (n <= 0)
		return 0;
	if (err)
		errbuf_set(err, HERALD_EIO, "database or disk is full (a test's)");
	return 1;
}

void sqlite_store__test_fail_commits(struct store *st, long n)
{
	atomic_store(&sq(st)->test_fail, n);
}

void sqlite_store__shutdown(struct store *st)
{
	struct sqlite_store *s = sq(st);

	pthread_mutex_lock(&s->shutdown_lock);
	pthread_mutex_lock(&s->lock);
	s->closing = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->committer_started) {
		pthread_join(s->committer, NULL);
		s->committer_started = 0;
	}
	pthread_mutex_unlock(&s->shutdown_lock);
}

void sqlite_store__close(struct store *st)
{
	struct sqlite_store *s = sq(st);

	sqlite_store__shutdown(st);
	pthread_mutex_lock(&s->lock);
	while (s->active)
		pthread_cond_wait(&s->done, &s->lock);
	pthread_mutex_unlock(&s->lock);
	sqlite_store__free(s);
}

int sqlite_store__check_item(const struct store_item *it, size_t i,
			      struct accept_req *r)
{
	const char *missing = NULL;

	if (!it->type)
		missing = "type";
	else if (!it->body)
		missing = "body";
	else if (!it->provider)
		missing = "provider";
	else if (!it->reason)
		missing = "reason";
	if (missing)
		return errbuf_set(r->err, HERALD_EINVAL,
				  "event %zu: no %s to store", i, missing);
	if (it->state != STORE_QUEUED && it->state != STORE_FAILED)
		return errbuf_set(r->err, HERALD_EINVAL,
				  "event %zu: a new notification is queued or failed, not %s",
				  i, store_state_name(it->state));
	if (it->idem_key && strlen(it->idem_key) > STORE_IDEM_KEY_MAX)
		return errbuf_set(r->err, HERALD_EINVAL,
				  "event %zu: the idempotency key is %zu bytes long; at most %d are allowed",
				  i, strlen(it->idem_key), STORE_IDEM_KEY_MAX);
	return 0;
}
