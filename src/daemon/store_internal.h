/*
 * store_internal: what is behind store.h, for the store's backends and for
 * tests. The daemon (api.c, the engine, cmd_serve.c) and the benchmarks use
 * store.h alone.
 *
 * Writing a backend (SQLite in store_sqlite*.c today; PostgreSQL next):
 *
 *   - Define a struct whose first member is struct store, with ops pointing
 *     at a static struct store_ops in which every member is set (none may
 *     be NULL), and an open function, declared below, that returns it.
 *     store_open() (store.c) picks the backend by the path or URL: a new
 *     backend adds its test there.
 *   - Each op keeps the promises its store_*() function makes in store.h:
 *     durability (store_accept() and store_apply() return only after their
 *     transaction committed; all or nothing), idempotency keys, the error
 *     codes and messages, and the threading rules (any thread; several
 *     store_accept() callers at once; store_shutdown() and store_close()
 *     racing with store_accept()).
 *   - store.c does the checks and defaults every backend shares before it
 *     calls an op, as noted beside each op below; an op need not repeat
 *     them.
 *   - Results own their strings, allocated with malloc() (xstrdup() and
 *     friends): store.c's _release() and _array_free() functions free them.
 *     Times come from store_now().
 *   - State names (store_state_name()), the JSON form of a record and the
 *     one-update wrappers below are store.c's: not a backend's concern.
 *
 * tests/unit/test_store.c tests what every backend must do; docs/storage.md
 * describes the guarantees and the SQLite schema.
 */
#ifndef HERALD_STORE_INTERNAL_H
#define HERALD_STORE_INTERNAL_H

#include "daemon/store.h"

/* ---- the interface ---------------------------------------------------- */

struct store_ops {
	const char *name;			/* "sqlite" */
	/*
	 * store_shutdown(): fails the accepts not yet committed and every
	 * later one, lets a commit under way finish, stops the backend's
	 * threads. Idempotent.
	 */
	void (*shutdown)(struct store *st);
	/*
	 * store_close(): shutdown, waits for accept callers still inside,
	 * then frees everything. st is never NULL.
	 */
	void (*close)(struct store *st);
	/*
	 * store_accept(): nr is 1..STORE_ACCEPT_MAX (checked). Fills
	 * out[0..nr-1]; on error out holds nothing to release.
	 */
	int (*accept)(struct store *st, const struct store_item *items,
		      size_t nr, struct store_accepted *out,
		      struct errbuf *err);
	/* store_get(): HERALD_ENOENT for an unknown id. */
	int (*get)(struct store *st, int64_t id, struct store_record *out,
		   struct errbuf *err);
	/*
	 * store_list(): f is never NULL, f->limit is 1..STORE_LIST_MAX and
	 * f->state -1 or a valid state (store.c applies the defaults and
	 * checks).
	 */
	int (*list)(struct store *st, const struct store_filter *f,
		    struct store_record **recs, size_t *nr,
		    struct errbuf *err);
	/* store_load_pending(): fn runs with no backend lock held. */
	int (*load_pending)(struct store *st, store_record_fn *fn, void *arg,
			    struct errbuf *err);
	/*
	 * store_walk_events(): from < to (checked); fn runs with no backend
	 * lock held, and the walk must not hold up the other connections.
	 */
	int (*walk_events)(struct store *st, double from, double to,
			   store_event_fn *fn, void *arg, struct errbuf *err);
	/* store_recover(): nr is never NULL. */
	int (*recover)(struct store *st, size_t *nr, struct errbuf *err);
	/* store_counts(): sets every counts[] entry. */
	int (*counts)(struct store *st, uint64_t counts[STORE_STATE_NR],
		      struct errbuf *err);
	/* store_requeue(): HERALD_ENOENT, HERALD_EINVAL as documented. */
	int (*requeue)(struct store *st, int64_t id, struct errbuf *err);
	/* store_ping(): 0 when a write could start now, else HERALD_EIO. */
	int (*ping)(struct store *st, struct errbuf *err);
	/*
	 * store_apply(): nr >= 1, and every update already checked (a known
	 * kind, failed or dead for STORE_UP_FAILED, an outcome for an
	 * attempt, key, provider and destination for a story). One
	 * transaction, all or nothing.
	 */
	int (*apply)(struct store *st, const struct store_update *ups,
		     size_t nr, struct errbuf *err);
	/* store_story_get(): HERALD_ENOENT when the key has no story. */
	int (*story_get)(struct store *st, const char *correlation_key,
			 struct store_story *out, struct errbuf *err);
	/* store_digest_get(): HERALD_ENOENT when there is none. */
	int (*digest_get)(struct store *st, int64_t id,
			  struct store_digest *out, struct errbuf *err);
	/*
	 * store_resolution_get(): *channel_id is already NULL; HERALD_ENOENT
	 * when there is none or it expired before now.
	 */
	int (*resolution_get)(struct store *st, const char *provider,
			      const char *destination, double now,
			      char **channel_id, struct errbuf *err);
	/* store_resolution_put(): the strings are never NULL (checked). */
	int (*resolution_put)(struct store *st, const char *provider,
			      const char *destination, const char *channel_id,
			      double expires_at, struct errbuf *err);
	/* store_silence_add(): s is checked; sets s->id. */
	int (*silence_add)(struct store *st, struct silence *s,
			   struct errbuf *err);
	/* store_silence_get(): HERALD_ENOENT for an unknown id. */
	int (*silence_get)(struct store *st, int64_t id, struct silence *out,
			   struct errbuf *err);
	/* store_silence_list(): *out and *nr are already NULL and 0. */
	int (*silence_list)(struct store *st, double since,
			    struct silence **out, size_t *nr,
			    struct errbuf *err);
	/* store_silence_end(): HERALD_ENOENT, HERALD_EDUP as documented. */
	int (*silence_end)(struct store *st, int64_t id, double at,
			   struct errbuf *err);
	/*
	 * store_prune(): p->batch is at least 1 (store.c applies the
	 * default); res is already zeroed.
	 */
	int (*prune)(struct store *st, const struct store_prune_params *p,
		     struct store_prune_result *res, struct errbuf *err);
	/* store_stats(): out is already zeroed; set what the backend counts. */
	void (*stats)(struct store *st, struct store_stats *out);
	/*
	 * store_instance_id(): the database's ID, read when it was opened;
	 * never NULL.
	 */
	const char *(*instance_id)(struct store *st);
	/* store_test_limit_pages(): for tests only. */
	int (*test_limit_pages)(struct store *st, long pages,
				struct errbuf *err);
	/* store_test_fail_commits(): for tests only. */
	void (*test_fail_commits)(struct store *st, long n);
};

/* The common head of every implementation's store. */
struct store {
	const struct store_ops *ops;
};

/* ---- the backends ----------------------------------------------------- */

/* The SQLite implementation (store_sqlite*.c); store_open() picks it. */
int store_sqlite_open(struct store **out, const char *path,
		      struct errbuf *err);
/*
 * store_silence_peek() of a SQLite file: opened read-only, never created
 * or migrated.
 */
int store_sqlite_silence_peek(const char *path, double now,
			      struct silence **out, size_t *nr,
			      struct errbuf *err);
/* The SQLite schema version this herald writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 8

/* ---- for tests -------------------------------------------------------- */

/* One-update wrappers of store_apply(). */
int store_mark_sending(struct store *st, int64_t id, double at,
		       struct errbuf *err);
int store_mark_delivered(struct store *st, int64_t id, const char *channel_id,
			 const char *message_id, double at, struct errbuf *err);
int store_mark_retrying(struct store *st, int64_t id, int attempts,
			double next_at, const char *code, const char *msg,
			int http_status, double at, struct errbuf *err);
/* state: STORE_FAILED or STORE_DEAD. */
int store_mark_failed(struct store *st, int64_t id, enum store_state state,
		      const char *code, const char *msg, int http_status,
		      double at, struct errbuf *err);
int store_record_attempt(struct store *st, int64_t id, int attempt, double at,
			 const char *outcome, const char *code,
			 int http_status, long duration_ms, struct errbuf *err);
/* Upsert; the same as a STORE_UP_STORY update. */
int store_story_put(struct store *st, const char *correlation_key,
		    const struct store_story *s, double at, struct errbuf *err);

/*
 * Limits the committer's database to this many pages (SQLite
 * max_page_count; 0 or less: no limit again), so a test can make commits
 * fail as on a full disk.
 */
int store_test_limit_pages(struct store *st, long pages, struct errbuf *err);
/*
 * Makes the next n commits (of accepts, state changes and the readiness
 * probe) fail as on a full disk, whatever they would change, so a test can
 * fail state writes, which seldom grow the database.
 */
void store_test_fail_commits(struct store *st, long n);

#endif
