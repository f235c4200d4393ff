/*
 * store_sqlite_internal: what the files of the SQLite store share.
 *
 *   store_sqlite.c         connections, statements, migrations, the
 *                          writes of a commit round, reads, updates; the
 *                          ops table and store_sqlite_open().
 *   store_sqlite_commit.c  group commit: the queue of store_accept() and
 *                          store_apply() calls, the committer thread and its
 *                          rounds, shutdown and close.
 *   store_sqlite_schema.c  the SQL text: the migrations, the statements and
 *                          what retention prunes (sqlite_store__prune_steps).
 *   store_sqlite_silences.c  silences: add, get, list, end, and reading
 *                          them from a database opened read-only.
 *   store_sqlite_stories.c stories, resolutions, and walking a time range
 *                          of events.
 *   store_sqlite_prune.c   retention: store_prune() in batches, through
 *                          sqlite_store__conn_run().
 *
 * Only these files include this header. SQLite's handles appear here
 * as incomplete struct types, so it does not need <sqlite3.h>.
 */
#ifndef HERALD_STORE_SQLITE_INTERNAL_H
#define HERALD_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store_internal.h"

struct sqlite3;
struct sqlite3_stmt;
struct strbuf;

#define STMT_CACHE_SIZE 32
/* A commit that leaves this many pages in the WAL asks for a checkpoint. */
#define CHECKPOINT_PAGES 4000

/* A connection, its lock and its prepared statements (keyed by SQL text). */
struct conn {
	struct sqlite3 *db;
	pthread_mutex_t lock;
	int sync_normal;		/* PRAGMA synchronous is NORMAL now */
	size_t nr;
	struct {
		const char *sql;
		struct sqlite3_stmt *stmt;
	} cache[STMT_CACHE_SIZE];
};

/*
 * A store_accept() call (items) or store_apply() call (ups) waiting for
 * the committer. Lives on its stack.
 */
struct accept_req {
	const struct store_item *items;
	size_t nr;
	struct store_accepted *out;
	struct errbuf *err;
	int rc;
	int done;
	struct accept_req *next;
	const struct store_update *ups;
	size_t ups_nr;
	pthread_cond_t cond;		/* signalled when done */
};

struct sqlite_store {
	struct store base;
	char *path;
	char instance_id[STORE_INSTANCE_ID_MAX + 1];	/* read at open */
	struct conn commit, engine, api;
	struct conn prune;		/* store_prune() only */
	pthread_mutex_t wlock;		/* held by the one writing connection */

	pthread_mutex_t lock;		/* the queue and the flags below */
	pthread_cond_t wake;		/* the committer waits for work */
	pthread_cond_t done;		/* close waits for the last caller */
	struct accept_req *head, **tail;
	int closing;
	int wal_pages;			/* in the WAL after the last commit */
	int wal_dirty;			/* committed since the last truncate */
	int want_truncate;		/* a commit failed: truncate the WAL */
	int failing;			/* the last commit failed */
	char failing_why[256];		/* and why, for /readyz */
	size_t active;			/* callers inside store_accept() */

	pthread_mutex_t shutdown_lock;
	pthread_t committer;
	int committer_started;

	atomic_uint_fast64_t accept_calls, accept_items, accept_commits;
	atomic_uint_fast64_t apply_commits;
	atomic_long test_fail;		/* store_test_fail_commits() */
};

/* ---- store_sqlite.c --------------------------------------------------- */

/* Runs SQL without results; HERALD_EIO with err saying what failed. */
int sqlite_store__conn_exec(struct conn *c, const char *sql,
			    struct errbuf *err);
/*
 * Runs one cached statement (sql: a static string; the cache compares
 * pointers) with its parameters ?1, ?2, … bound to params[0..nr-1] as
 * REAL. Returns 1 when it returned a row (*out: the row's first column as
 * a double, 0 for NULL), 0 when it did not (*out: the rows it inserted,
 * updated or deleted), or HERALD_EIO.
 */
int sqlite_store__conn_run(struct conn *c, const char *sql,
			   const double *params, int nr, double *out,
			   struct errbuf *err);
/* SQLite's text for the connection's last error. */
const char *sqlite_store__conn_errmsg(struct conn *c);
/*
 * BEGIN IMMEDIATE with the store's write lock taken; write_end() releases
 * it (also after a failed begin). c->lock must be held.
 */
int sqlite_store__write_begin(struct sqlite_store *s, struct conn *c,
			      struct errbuf *err);
/* Rolls back what is still open and releases the write lock. */
void sqlite_store__write_end(struct sqlite_store *s, struct conn *c);
/*
 * Writes one request's items, in order, inside the round's transaction:
 * an item checked only when the ones before it are written. Returns 0,
 * HERALD_EINVAL with r->err set, or HERALD_EIO with dberr set.
 */
int sqlite_store__accept_items(struct conn *c, struct accept_req *r,
			       double now, struct errbuf *dberr);
/* One update, inside the caller's transaction. */
int sqlite_store__apply_one(struct conn *c, const struct store_update *u,
			    struct errbuf *err);
/*
 * Copies the WAL into the database, holding the write lock; with truncate,
 * also empties the WAL file (giving its space back), unless a reader is
 * still using it (then it tries again next time: it does not wait).
 */
void sqlite_store__checkpoint(struct sqlite_store *s, int truncate);
/*
 * Sets PRAGMA synchronous on c to NORMAL (normal != 0) or FULL unless it
 * is already; c->lock held, outside a transaction.
 */
int sqlite_store__conn_sync(struct conn *c, int normal, struct errbuf *err);
/* Closes the connections and frees s; the committer must have stopped. */
void sqlite_store__free(struct sqlite_store *s);

/*
 * The prepared statement for sql (one of the sqlite_store__sql_* arrays:
 * the cache compares pointers), reset and with no bindings. NULL on error
 * with err set.
 */
struct sqlite3_stmt *sqlite_store__conn_stmt(struct conn *c, const char *sql,
					     struct errbuf *err);
/* A connection: init, open (HERALD_EIO with err set), close and release. */
void sqlite_store__conn_init(struct conn *c);
int sqlite_store__conn_open(struct conn *c, const char *path,
			    struct errbuf *err);
void sqlite_store__conn_close(struct conn *c);
/* Steps a statement that returns no rows and resets it. */
int sqlite_store__stmt_run(struct conn *c, struct sqlite3_stmt *stmt,
			   struct errbuf *err);
/* Binds s as text (SQLITE_STATIC), or NULL. */
void sqlite_store__bind_str(struct sqlite3_stmt *stmt, int i, const char *s);
/* Column i as a new string (caller frees), or NULL. */
char *sqlite_store__col_str(struct sqlite3_stmt *stmt, int i);

/* ---- store_sqlite_stories.c ------------------------------------------- */

/* The ops of the same names: see struct store_ops. */
int sqlite_store__story_get(struct store *st, const char *correlation_key,
			    struct store_story *out, struct errbuf *err);
int sqlite_store__digest_get(struct store *st, int64_t id,
			     struct store_digest *out, struct errbuf *err);
int sqlite_store__resolution_get(struct store *st, const char *provider,
				 const char *destination, double now,
				 char **channel_id, struct errbuf *err);
int sqlite_store__resolution_put(struct store *st, const char *provider,
				 const char *destination,
				 const char *channel_id, double expires_at,
				 struct errbuf *err);
int sqlite_store__walk_events(struct store *st, double from, double to,
			      store_event_fn *fn, void *arg,
			      struct errbuf *err);

/* ---- store_sqlite_silences.c ------------------------------------------ */

/* The ops of the same names: see struct store_ops. */
int sqlite_store__silence_add(struct store *st, struct silence *s,
			      struct errbuf *err);
int sqlite_store__silence_get(struct store *st, int64_t id,
			      struct silence *out, struct errbuf *err);
int sqlite_store__silence_list(struct store *st, double since,
			       struct silence **out, size_t *nr,
			       struct errbuf *err);
int sqlite_store__silence_end(struct store *st, int64_t id, double at,
			      struct errbuf *err);
/* A STORE_SILENCED update, inside the caller's transaction. */
int sqlite_store__apply_silenced(struct conn *c, const struct store_update *u,
				 struct errbuf *err);

/* ---- store_sqlite_commit.c -------------------------------------------- */

/* The ops stats and test_fail_commits: see struct store_ops. */
void sqlite_store__stats(struct store *st, struct store_stats *out);
void sqlite_store__test_fail_commits(struct store *st, long n);
/*
 * A write that commits (store_ping() while commits fail): 0 when the
 * database takes writes again. Callers hold c->lock.
 */
int sqlite_store__probe_commit(struct sqlite_store *s, struct conn *c,
			       struct errbuf *err);

/*
 * Records how a commit ended: why NULL for committed, else what failed.
 * A failure makes store_ping() try a write of its own until one succeeds,
 * and asks the committer to truncate the WAL.
 */
void sqlite_store__note_commit(struct sqlite_store *s, const char *why);
/* The committer thread (pthread_create() start routine; arg: the store). */
void *sqlite_store__committer_main(void *arg);
/* The ops of the same names: see struct store_ops. */
int sqlite_store__accept(struct store *st, const struct store_item *items,
			 size_t nr, struct store_accepted *out,
			 struct errbuf *err);
int sqlite_store__apply(struct store *st, const struct store_update *ups,
			size_t nr, struct errbuf *err);
void sqlite_store__shutdown(struct store *st);
void sqlite_store__close(struct store *st);
/* Checks what the schema cannot: HERALD_EINVAL with r->err set. */
int sqlite_store__check_item(const struct store_item *it, size_t i,
			     struct accept_req *r);
/*
 * Whether store_test_fail_commits() asks this commit to fail; if so, err
 * (may be NULL) says so as SQLite would.
 */
int sqlite_store__test_fail(struct sqlite_store *s, struct errbuf *err);

/* ---- store_sqlite_prune.c --------------------------------------------- */

/* The op prune: see struct store_ops. */
int sqlite_store__prune(struct store *st, const struct store_prune_params *p,
			struct store_prune_result *res, struct errbuf *err);

/* ---- store_sqlite_schema.c -------------------------------------------- */

/*
 * The schema: an ordered array of STORE_SCHEMA_VERSION migrations, each
 * SQL text for sqlite3_exec(). PRAGMA user_version counts how many have
 * run.
 */
extern const char *const sqlite_store__migrations[];

/*
 * What retention deletes, and how: one step per row, run in order by
 * sqlite_store__prune(), each a statement for sqlite_store__conn_run()
 * with ?1 the cutoff of finished notifications (store_prune_params.before),
 * ?2 the batch (rows per table), ?3 stories_before, ?4 now, ?5 the first
 * notification id created at or after ?1 (no notification below it is
 * younger: ids grow with time). The steps with
 * select set run first, outside the write transaction (reads that fill
 * temp tables, without holding up the accepts); the others run in one
 * short write transaction, and the rows they change count as deleted from
 * table (NULL: not counted). A new table is pruned by adding its rows; a
 * row must delete at most ?2 rows and keep what rows of other tables still
 * refer to (foreign keys are on). Ends with a row whose sql is NULL.
 */
struct sqlite_prune_step {
	const char *table;
	int select;
	const char *sql;
};

extern const struct sqlite_prune_step sqlite_store__prune_steps[];
/*
 * For ?5: the lowest and the highest notification id, and the created_at
 * of the first notification at or after id ?1.
 */
extern const char sqlite_store__sql_prune_min_id[];
extern const char sqlite_store__sql_prune_max_id[];
extern const char sqlite_store__sql_prune_created_at[];

/*
 * The columns of a notification record, in the order read_record() reads
 * them, and the one after them (the event body) when selected.
 */
#define RECORD_COLUMNS \
	"n.id, n.event_seq, e.idem_key, e.type, e.status, e.app, e.env," \
	" n.provider, n.destination, n.dest_kind, n.reason," \
	" n.correlation_key, n.state, n.attempts, n.next_attempt_at," \
	" n.last_error_code, n.last_error, n.http_status, n.channel_id," \
	" n.message_id, n.created_at, n.updated_at, n.delivered_at," \
	" n.silence_id, n.digest_id"
#define RECORD_FROM \
	" FROM notifications n JOIN events e ON e.seq = n.event_seq"
#define RECORD_BODY_COLUMN 25

/*
 * The statements. The statement cache compares pointers, so always pass
 * these arrays themselves, never a copy of their text.
 */
extern const char sqlite_store__sql_event_by_key[];
extern const char sqlite_store__sql_first_notification[];
extern const char sqlite_store__sql_insert_event[];
extern const char sqlite_store__sql_insert_notification[];
extern const char sqlite_store__sql_get[];
extern const char sqlite_store__sql_pending[];
extern const char sqlite_store__sql_events_between[];
extern const char sqlite_store__sql_recover[];
extern const char sqlite_store__sql_counts[];
extern const char sqlite_store__sql_state_of[];
extern const char sqlite_store__sql_requeue[];
extern const char sqlite_store__sql_up_sending[];
extern const char sqlite_store__sql_up_delivered[];
extern const char sqlite_store__sql_up_problem[];
extern const char sqlite_store__sql_up_attempt[];
extern const char sqlite_store__sql_up_story[];
extern const char sqlite_store__sql_story_get[];
extern const char sqlite_store__sql_up_digest[];
extern const char sqlite_store__sql_digest_get[];
extern const char sqlite_store__sql_resolution_get[];
extern const char sqlite_store__sql_resolution_put[];
extern const char sqlite_store__sql_instance_id[];
extern const char sqlite_store__sql_up_silenced[];
extern const char sqlite_store__sql_silence_add[];
extern const char sqlite_store__sql_silence_get[];
extern const char sqlite_store__sql_silence_list[];
extern const char sqlite_store__sql_silence_end[];

/*
 * Appends store_list()'s SELECT for f (limit already capped) to sql. Its
 * parameters, in order: the state name when f->state >= 0, f->app when
 * set, f->env when set, f->before when > 0, then the limit.
 */
void sqlite_store__list_sql(struct strbuf *sql, const struct store_filter *f);

#endif
