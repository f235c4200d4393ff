/*
 * store_sqlite: the store on a SQLite database file.
 *
 * The only file that includes <sqlite3.h>: every SQLite call is here.
 * store_sqlite_commit.c runs the group commit (the committer thread) and
 * store_sqlite_schema.c holds the SQL text; store_sqlite_internal.h has
 * what they share.
 *
 * The database runs in WAL mode with synchronous=FULL, so a COMMIT that
 * returned SQLITE_OK is on disk. Four connections, one per role, each
 * behind its own mutex:
 *
 *   commit   used by the committer thread only: group commit of accepts
 *   engine   store_apply(), pending loads, recovery, stories, resolutions
 *   api      reads for the HTTP API, requeue and the readiness ping
 *   prune    retention (store_sqlite_prune.c), synchronous=NORMAL
 *
 * Writers queue on one more mutex (wlock) around every write transaction,
 * so within the process a writer never meets SQLITE_BUSY and never sleeps
 * in SQLite's busy handler (which polls with sleeps of up to 100 ms); the
 * busy timeout remains for other processes. Lock order: a connection's
 * lock, then wlock. The engine connection commits with synchronous=NORMAL:
 * its state changes reach the disk with the next accept's fsync, and one
 * lost after a power cut only makes a message go out again.
 *
 * Checkpoints (copying the WAL into the database) run on the committer
 * thread, between commit rounds, holding the write lock: a commit on
 * any connection that leaves CHECKPOINT_PAGES or more in the WAL asks for
 * one (instead of SQLite's auto-checkpoint, which would run it inside that
 * commit, e.g. on the engine thread).
 *
 * Group commit: store_accept() queues its batch and sleeps; the committer
 * takes everything queued, writes it in one transaction (each batch inside
 * its own SAVEPOINT, so one refused batch does not sink the others), commits
 * once (one fsync) and wakes every caller with its own results
 * (store_sqlite_commit.c).
 *
 * The schema is an ordered array of migrations (store_sqlite_schema.c);
 * PRAGMA user_version counts how many have run. docs/storage.md describes
 * both.
 */
#include "daemon/store_sqlite_internal.h"
#include "lib/strbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 10000
/* The page size of a new database (see conn_configure()). */
#define PAGE_SIZE 2048
#define STR_(x) #x
#define STR(x) STR_(x)
#define PENDING_CHUNK 500
#define DEFAULT_MAX_PAGES 1073741823L

/* ---- connections ------------------------------------------------------ */

static struct sqlite_store *sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

void sqlite_store__conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

int sqlite_store__conn_open(struct conn *c, const char *path, struct errbuf *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX;
	int rc;

	struct stat st;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return errbuf_set(err, HERALD_EIO, "cannot open database %s: it is a directory: name a file, e.g. %s/herald.db", path, path);
	rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK)
		return errbuf_set(err, HERALD_EIO,
				  "cannot open database %s: %s: check that its directory exists and is writable",
				  path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	if (sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_NOTADB)
		return errbuf_set(err, HERALD_EIO, "cannot open database %s: the file is not a SQLite database: name a new file or herald's database, and move this one away if it is not yours", path);
	sqlite3_extended_result_codes(c->db, 0);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	return 0;
}

void sqlite_store__conn_close(struct conn *c)
{
	for (size_t i = 0; i < c->nr; i++)
		sqlite3_finalize(c->cache[i].stmt);
	c->nr = 0;
	if (c->db)
		sqlite3_close(c->db);
	c->db = NULL;
	pthread_mutex_destroy(&c->lock);
}

/*
 * The prepared statement for sql (one of the sqlite_store__sql_* arrays:
 * the cache compares pointers), reset and with no bindings. NULL on error
 * with err set.
 */
static sqlite3_stmt *conn_stmt(struct conn *c, const char *sql,
			       struct errbuf *err)
{
	sqlite3_stmt *stmt = NULL;

	for (size_t i = 0; i < c->nr; i++) {
		if (c->cache[i].sql == sql) {
			sqlite3_reset(c->cache[i].stmt);
			sqlite3_clear_bindings(c->cache[i].stmt);
			return c->cache[i].stmt;
		}
	}
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &stmt, NULL) != SQLITE_OK) {
		errbuf_set(err, HERALD_EIO, "database: %s", sqlite3_errmsg(c->db));
		return NULL;
	}
	if (c->nr < STMT_CACHE_SIZE) {
		c->cache[c->nr].sql = sql;
		c->cache[c->nr].stmt = stmt;
		c->nr++;
	}
	return stmt;
}

sqlite3_stmt *sqlite_store__conn_stmt(struct conn *c, const char *sql,
				      struct errbuf *err)
{
	return conn_stmt(c, sql, err);
}

/* Runs SQL without results; HERALD_EIO with err saying what failed. */
int sqlite_store__conn_exec(struct conn *c, const char *sql,
			    struct errbuf *err)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return errbuf_set(err, HERALD_EIO, "database: %s: %s", sql,
				  sqlite3_errmsg(c->db));
	return 0;
}

const char *sqlite_store__conn_errmsg(struct conn *c)
{
	return sqlite3_errmsg(c->db);
}

static void conn_rollback(struct conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * BEGIN IMMEDIATE with the store's write lock taken;
 * sqlite_store__write_end() releases it (also after a failed begin).
 * c->lock must be held.
 */
int sqlite_store__write_begin(struct sqlite_store *s, struct conn *c,
			      struct errbuf *err)
{
	pthread_mutex_lock(&s->wlock);
	return sqlite_store__conn_exec(c, "BEGIN IMMEDIATE", err);
}

/* Rolls back what is still open and releases the write lock. */
void sqlite_store__write_end(struct sqlite_store *s, struct conn *c)
{
	conn_rollback(c);
	pthread_mutex_unlock(&s->wlock);
}

static int stmt_error(struct conn *c, sqlite3_stmt *stmt, struct errbuf *err)
{
	errbuf_set(err, HERALD_EIO, "database: %s", sqlite3_errmsg(c->db));
	sqlite3_reset(stmt);
	return HERALD_EIO;
}

/* Steps a statement that returns no rows and resets it. */
int sqlite_store__stmt_run(struct conn *c, sqlite3_stmt *stmt, struct errbuf *err)
{
	if (sqlite3_step(stmt) != SQLITE_DONE)
		return stmt_error(c, stmt, err);
	sqlite3_reset(stmt);
	return 0;
}

int sqlite_store__conn_run(struct conn *c, const char *sql,
			   const double *params, int nr, double *out,
			   struct errbuf *err)
{
	sqlite3_stmt *stmt = conn_stmt(c, sql, err);
	int n, rc;

	if (!stmt)
		return HERALD_EIO;
	n = sqlite3_bind_parameter_count(stmt);
	for (int i = 0; i < n && i < nr; i++)
		sqlite3_bind_double(stmt, i + 1, params[i]);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return stmt_error(c, stmt, err);
	*out = rc == SQLITE_ROW ? sqlite3_column_double(stmt, 0) :
	       (double)sqlite3_changes64(c->db);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW;
}

void sqlite_store__bind_str(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, i);
}

/* Binds 0 (or less) as NULL: "unset" times and statuses. */
static void bind_double_or_null(sqlite3_stmt *stmt, int i, double v)
{
	if (v > 0)
		sqlite3_bind_double(stmt, i, v);
	else
		sqlite3_bind_null(stmt, i);
}

static void bind_int_or_null(sqlite3_stmt *stmt, int i, long long v)
{
	if (v > 0)
		sqlite3_bind_int64(stmt, i, v);
	else
		sqlite3_bind_null(stmt, i);
}

char *sqlite_store__col_str(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);

	return s ? xstrdup((const char *)s) : NULL;
}

static enum store_state col_state(sqlite3_stmt *stmt, int i)
{
	enum store_state state = STORE_QUEUED;

	store_state_parse((const char *)sqlite3_column_text(stmt, i), &state);
	return state;
}

static void read_record(sqlite3_stmt *stmt, struct store_record *rec,
			int with_body)
{
	memset(rec, 0, sizeof(*rec));
	rec->id = sqlite3_column_int64(stmt, 0);
	rec->event_seq = sqlite3_column_int64(stmt, 1);
	rec->event_key = sqlite_store__col_str(stmt, 2);
	rec->type = sqlite_store__col_str(stmt, 3);
	rec->status = sqlite_store__col_str(stmt, 4);
	rec->app = sqlite_store__col_str(stmt, 5);
	rec->env = sqlite_store__col_str(stmt, 6);
	rec->provider = sqlite_store__col_str(stmt, 7);
	rec->destination = sqlite_store__col_str(stmt, 8);
	rec->dest_kind = sqlite_store__col_str(stmt, 9);
	rec->reason = sqlite_store__col_str(stmt, 10);
	rec->correlation_key = sqlite_store__col_str(stmt, 11);
	rec->state = col_state(stmt, 12);
	rec->attempts = sqlite3_column_int(stmt, 13);
	rec->next_attempt_at = sqlite3_column_double(stmt, 14);
	rec->last_error_code = sqlite_store__col_str(stmt, 15);
	rec->last_error = sqlite_store__col_str(stmt, 16);
	rec->http_status = sqlite3_column_int(stmt, 17);
	rec->channel_id = sqlite_store__col_str(stmt, 18);
	rec->message_id = sqlite_store__col_str(stmt, 19);
	rec->created_at = sqlite3_column_double(stmt, 20);
	rec->updated_at = sqlite3_column_double(stmt, 21);
	rec->delivered_at = sqlite3_column_double(stmt, 22);
	rec->silence_id = sqlite3_column_int64(stmt, 23);
	rec->digest_id = sqlite3_column_int64(stmt, 24);
	if (with_body)
		rec->body = sqlite_store__col_str(stmt, RECORD_BODY_COLUMN);
}

/* ---- opening and migrations ------------------------------------------ */

/* Sets a PRAGMA that answers with a value, checking the answer. */
static int pragma_expect(struct conn *c, const char *sql, const char *want,
			 struct errbuf *err)
{
	sqlite3_stmt *stmt = NULL;
	const char *got;
	int ret = 0;

	if (sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		ret = errbuf_set(err, HERALD_EIO, "database: %s: %s", sql,
				 sqlite3_errmsg(c->db));
		goto out;
	}
	got = (const char *)sqlite3_column_text(stmt, 0);
	if (!got || strcasecmp(got, want))
		ret = errbuf_set(err, HERALD_EIO,
				 "database: %s answered %s, expected %s", sql,
				 got ? got : "nothing", want);
out:
	sqlite3_finalize(stmt);
	return ret;
}

/* sync: "FULL", or "NORMAL" for a connection whose commits may be lost. */
static int conn_configure(struct conn *c, const char *path, const char *sync,
			  struct errbuf *err)
{
	char sql[160];
	int ret;

	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s;"
		 "PRAGMA foreign_keys = ON;"
		 "PRAGMA journal_size_limit = 67108864", sync);
	/*
	 * For a new database only (later it is a no-op): most pages a
	 * commit changes are index pages changed by a row or two, and the
	 * commit writes each whole to the WAL; 2 KiB pages halve that
	 * (about 8% less CPU than 4 KiB at 10,000 events/s).
	 */
	ret = sqlite_store__conn_exec(c, "PRAGMA page_size = " STR(PAGE_SIZE),
				      err);
	if (!ret)
		ret = pragma_expect(c, "PRAGMA journal_mode = WAL", "wal", err);
	if (!ret)
		ret = sqlite_store__conn_exec(c, sql, err);
	if (ret)
		errbuf_prefix(err, "%s", path);
	return ret;
}

static int user_version(struct conn *c, int *version, struct errbuf *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret = 0;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &stmt,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW)
		ret = errbuf_set(err, HERALD_EIO,
				 "database: cannot read its schema version: %s",
				 sqlite3_errmsg(c->db));
	else
		*version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return ret;
}

/*
 * Runs the migrations the database lacks, all in one transaction. Foreign
 * keys are off meanwhile, as SQLite's procedure for rebuilding a table
 * asks (a pragma that a transaction cannot change).
 */
static int migrate(struct sqlite_store *s, struct errbuf *err)
{
	struct conn *c = &s->commit;
	char sql[64];
	int version = 0, ret;

	ret = sqlite_store__conn_exec(c, "PRAGMA foreign_keys = OFF", err);
	if (ret)
		return ret;
	ret = sqlite_store__write_begin(s, c, err);
	if (ret)
		goto out;
	ret = user_version(c, &version, err);
	if (ret)
		goto out;
	if (version > STORE_SCHEMA_VERSION) {
		ret = errbuf_set(err, HERALD_EIO,
				 "database %s has schema version %d, newer than this herald's %d: it was written by a newer herald; run that version or restore a backup",
				 s->path, version, STORE_SCHEMA_VERSION);
		goto out;
	}
	for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(c->db, sqlite_store__migrations[v], NULL, NULL,
				 NULL) != SQLITE_OK) {
			ret = errbuf_set(err, HERALD_EIO,
					 "database %s: migrating to schema version %d failed: %s",
					 s->path, v + 1, sqlite3_errmsg(c->db));
			goto out;
		}
	}
	if (version < STORE_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 STORE_SCHEMA_VERSION);
		ret = sqlite_store__conn_exec(c, sql, err);
		if (ret)
			goto out;
	}
	ret = sqlite_store__conn_exec(c, "COMMIT", err);
out:
	sqlite_store__write_end(s, c);
	if (sqlite_store__conn_exec(c, "PRAGMA foreign_keys = ON",
				    ret ? NULL : err) && !ret)
		ret = HERALD_EIO;
	return ret;
}

/* Reads the database's instance ID (schema version 4) into s. */
static int read_instance_id(struct sqlite_store *s, struct errbuf *err)
{
	struct conn *c = &s->commit;
	sqlite3_stmt *stmt = NULL;
	const char *id;
	int ret = 0, rc;

	rc = sqlite3_prepare_v2(c->db, sqlite_store__sql_instance_id, -1,
				&stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_EIO, "database %s: %s", s->path,
				 sqlite3_errmsg(c->db));
		goto out;
	}
	id = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) :
	     NULL;
	if (!id || !*id || strlen(id) > STORE_INSTANCE_ID_MAX) {
		ret = errbuf_set(err, HERALD_EIO,
				 "database %s has no valid instance_id in its meta table (was it edited by hand?): restore a backup",
				 s->path);
		goto out;
	}
	snprintf(s->instance_id, sizeof(s->instance_id), "%s", id);
out:
	sqlite3_finalize(stmt);
	return ret;
}

/* ---- accepting: the writes of a commit round ------------------------- */

/*
 * Steps a statement of item i. An item-level refusal (a constraint: the
 * batch is bad) returns HERALD_EINVAL with r->err set; a database failure
 * (the round is lost) HERALD_EIO with dberr set to SQLite's text.
 */
static int step_item(struct conn *c, sqlite3_stmt *stmt, size_t i,
		     struct accept_req *r, struct errbuf *dberr)
{
	int rc = sqlite3_step(stmt), ret = 0;

	switch (rc & 0xff) {
	case SQLITE_DONE:
		break;
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		ret = errbuf_set(r->err, HERALD_EINVAL,
				 "event %zu: the store refused it: %s", i,
				 sqlite3_errmsg(c->db));
		break;
	default:
		ret = errbuf_set(dberr, HERALD_EIO, "%s", sqlite3_errmsg(c->db));
		break;
	}
	sqlite3_reset(stmt);
	return ret;
}

/* Answers an item whose key is known with the event's first notification. */
static int accept_existing(struct conn *c, int64_t seq, size_t i,
			   struct accept_req *r, struct errbuf *dberr)
{
	struct store_accepted *a = &r->out[i];
	sqlite3_stmt *stmt;
	int rc;

	stmt = conn_stmt(c, sqlite_store__sql_first_notification, dberr);
	if (!stmt)
		return HERALD_EIO;
	sqlite3_bind_int64(stmt, 1, seq);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			errbuf_set(dberr, HERALD_EIO,
				   "event %lld has no notification", (long long)seq);
		else
			errbuf_set(dberr, HERALD_EIO, "%s", sqlite3_errmsg(c->db));
		sqlite3_reset(stmt);
		return HERALD_EIO;
	}
	a->id = sqlite3_column_int64(stmt, 0);
	a->existing = 1;
	a->state = col_state(stmt, 1);
	a->destination = sqlite_store__col_str(stmt, 2);
	a->dest_kind = sqlite_store__col_str(stmt, 3);
	a->reason = sqlite_store__col_str(stmt, 4);
	sqlite3_reset(stmt);
	return 0;
}

/* Sets *seq to the event with this key; returns 0, 1 when none, or EIO. */
static int find_event(struct conn *c, const char *idem_key, int64_t *seq,
		      struct errbuf *dberr)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = conn_stmt(c, sqlite_store__sql_event_by_key, dberr);
	if (!stmt)
		return HERALD_EIO;
	sqlite_store__bind_str(stmt, 1, idem_key);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(stmt, 0);
	else if (rc != SQLITE_DONE)
		errbuf_set(dberr, HERALD_EIO, "%s", sqlite3_errmsg(c->db));
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : HERALD_EIO;
}

/*
 * Writes one request's items, in order, inside the round's transaction:
 * an item checked only when the ones before it are written. Returns 0,
 * HERALD_EINVAL with r->err set, or HERALD_EIO with dberr set.
 */
int sqlite_store__accept_items(struct conn *c, struct accept_req *r,
			       double now, struct errbuf *dberr)
{
	sqlite3_stmt *stmt;
	int ret;

	for (size_t i = 0; i < r->nr; i++) {
		const struct store_item *it = &r->items[i];
		struct store_accepted *a = &r->out[i];
		int64_t seq = 0;

		ret = sqlite_store__check_item(it, i, r);
		if (ret)
			return ret;
		if (it->idem_key) {
			ret = find_event(c, it->idem_key, &seq, dberr);
			if (ret < 0)
				return ret;
			if (ret == 0) {
				ret = accept_existing(c, seq, i, r, dberr);
				if (ret)
					return ret;
				continue;
			}
		}

		stmt = conn_stmt(c, sqlite_store__sql_insert_event, dberr);
		if (!stmt)
			return HERALD_EIO;
		sqlite_store__bind_str(stmt, 1, it->idem_key);
		sqlite_store__bind_str(stmt, 2, it->type);
		sqlite_store__bind_str(stmt, 3, it->status);
		sqlite_store__bind_str(stmt, 4, it->app);
		sqlite_store__bind_str(stmt, 5, it->env);
		sqlite_store__bind_str(stmt, 6, it->body);
		sqlite3_bind_double(stmt, 7, now);
		ret = step_item(c, stmt, i, r, dberr);
		if (ret)
			return ret;
		seq = sqlite3_last_insert_rowid(c->db);

		stmt = conn_stmt(c, sqlite_store__sql_insert_notification,
				 dberr);
		if (!stmt)
			return HERALD_EIO;
		sqlite3_bind_int64(stmt, 1, seq);
		sqlite_store__bind_str(stmt, 2, it->provider);
		sqlite_store__bind_str(stmt, 3, it->destination);
		sqlite_store__bind_str(stmt, 4, it->dest_kind);
		sqlite_store__bind_str(stmt, 5, it->reason);
		sqlite_store__bind_str(stmt, 6, it->correlation_key);
		sqlite_store__bind_str(stmt, 7, store_state_name(it->state));
		if (it->state == STORE_FAILED) {
			sqlite_store__bind_str(stmt, 8, it->error_code ? it->error_code : "unrouted");
			sqlite_store__bind_str(stmt, 9, it->reason);
		}
		sqlite3_bind_double(stmt, 10, now);
		ret = step_item(c, stmt, i, r, dberr);
		if (ret)
			return ret;

		a->id = sqlite3_last_insert_rowid(c->db);
		a->existing = 0;
		a->state = it->state;
		a->destination = xstrdup(it->destination);
		a->dest_kind = xstrdup(it->dest_kind);
		a->reason = xstrdup(it->reason);
	}
	return 0;
}

/* sqlite3_wal_hook(): after every commit, on the committing thread. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sqlite_store *s = arg;

	pthread_mutex_lock(&s->lock);
	s->wal_pages = pages;
	s->wal_dirty = 1;
	if (pages >= CHECKPOINT_PAGES)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return SQLITE_OK;
}

void sqlite_store__checkpoint(struct sqlite_store *s, int truncate)
{
	struct conn *c = &s->commit;

	/*
	 * With the write lock held no commit slips in, so the checkpoint
	 * copies the whole WAL and the next writer starts it over; without,
	 * under steady writes it is never complete and the WAL only grows.
	 * TRUNCATE would wait for readers in the busy handler, holding the
	 * write lock all that time: it does not wait here.
	 */
	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&s->wlock);
	if (truncate) {
		sqlite3_busy_timeout(c->db, 0);
		sqlite3_wal_checkpoint_v2(c->db, NULL,
					  SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	} else {
		sqlite3_wal_checkpoint_v2(c->db, NULL,
					  SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	pthread_mutex_unlock(&s->wlock);
	pthread_mutex_unlock(&c->lock);
}

int sqlite_store__conn_sync(struct conn *c, int normal, struct errbuf *err)
{
	int ret;

	if (!c->sync_normal == !normal)
		return 0;
	ret = sqlite_store__conn_exec(c, normal ? "PRAGMA synchronous = NORMAL" :
				      "PRAGMA synchronous = FULL", err);
	if (!ret)
		c->sync_normal = !!normal;
	return ret;
}

/* ---- reads ------------------------------------------------------------ */

static int sq_get(struct store *st, int64_t id, struct store_record *out,
		  struct errbuf *err)
{
	struct conn *c = &sq(st)->api;
	sqlite3_stmt *stmt;
	int ret = 0, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->lock);
	stmt = conn_stmt(c, sqlite_store__sql_get, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		read_record(stmt, out, 1);
	else if (rc == SQLITE_DONE)
		ret = errbuf_set(err, HERALD_ENOENT,
				 "notification %lld does not exist", (long long)id);
	else
		ret = stmt_error(c, stmt, err);
	sqlite3_reset(stmt);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int sq_list(struct store *st, const struct store_filter *f,
		   struct store_record **recs, size_t *nr, struct errbuf *err)
{
	struct conn *c = &sq(st)->api;
	struct strbuf sql = STRBUF_INIT;
	struct store_record *out = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t n = 0;
	int ret = 0, rc, i = 1;

	*recs = NULL;
	*nr = 0;
	sqlite_store__list_sql(&sql, f);

	pthread_mutex_lock(&c->lock);
	if (sqlite3_prepare_v2(c->db, sql.buf, -1, &stmt, NULL) != SQLITE_OK) {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
		goto out;
	}
	if (f->state >= 0)
		sqlite_store__bind_str(stmt, i++, store_state_name((enum store_state)f->state));
	if (f->app)
		sqlite_store__bind_str(stmt, i++, f->app);
	if (f->env)
		sqlite_store__bind_str(stmt, i++, f->env);
	if (f->before > 0)
		sqlite3_bind_int64(stmt, i++, f->before);
	sqlite3_bind_int64(stmt, i, (sqlite3_int64)f->limit);

	out = xcalloc(f->limit ? f->limit : 1, sizeof(*out));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < f->limit)
		read_record(stmt, &out[n++], 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
		store_record_array_free(out, n);
		goto out;
	}
	if (n) {
		*recs = out;
		*nr = n;
	} else {
		free(out);
	}
out:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&c->lock);
	strbuf_release(&sql);
	return ret;
}

static int sq_load_pending(struct store *st, store_record_fn *fn, void *arg,
			   struct errbuf *err)
{
	struct conn *c = &sq(st)->engine;
	struct store_record *chunk = xcalloc(PENDING_CHUNK, sizeof(*chunk));
	int64_t after = 0;
	size_t n;
	int ret = 0, rc;

	do {
		sqlite3_stmt *stmt;

		n = 0;
		pthread_mutex_lock(&c->lock);
		stmt = conn_stmt(c, sqlite_store__sql_pending, err);
		if (!stmt) {
			pthread_mutex_unlock(&c->lock);
			ret = HERALD_EIO;
			goto out;
		}
		sqlite3_bind_int64(stmt, 1, after);
		sqlite3_bind_int(stmt, 2, PENDING_CHUNK);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < PENDING_CHUNK)
			read_record(stmt, &chunk[n++], 1);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			ret = errbuf_set(err, HERALD_EIO, "database: %s",
					 sqlite3_errmsg(c->db));
		sqlite3_reset(stmt);
		pthread_mutex_unlock(&c->lock);

		/* Callbacks run unlocked: they may call the store. */
		for (size_t i = 0; i < n; i++) {
			if (!ret)
				ret = fn(arg, &chunk[i]);
			after = chunk[i].id;
			store_record_release(&chunk[i]);
		}
	} while (!ret && n == PENDING_CHUNK);
out:
	free(chunk);
	return ret;
}

static int sq_recover(struct store *st, size_t *nr, struct errbuf *err)
{
	struct sqlite_store *s = sq(st);
	struct conn *c = &s->engine;
	sqlite3_stmt *stmt;
	int ret;

	*nr = 0;
	pthread_mutex_lock(&c->lock);
	ret = sqlite_store__write_begin(s, c, err);
	if (ret)
		goto out;
	stmt = conn_stmt(c, sqlite_store__sql_recover, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_double(stmt, 1, store_now());
	ret = sqlite_store__stmt_run(c, stmt, err);
	if (!ret)
		*nr = (size_t)sqlite3_changes(c->db);
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
out:
	sqlite_store__write_end(s, c);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int sq_counts(struct store *st, uint64_t counts[STORE_STATE_NR],
		     struct errbuf *err)
{
	struct conn *c = &sq(st)->api;
	sqlite3_stmt *stmt;
	enum store_state state;
	int ret = 0, rc;

	memset(counts, 0, STORE_STATE_NR * sizeof(*counts));
	pthread_mutex_lock(&c->lock);
	stmt = conn_stmt(c, sqlite_store__sql_counts, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!store_state_parse((const char *)sqlite3_column_text(stmt, 0),
				       &state))
			counts[state] = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	if (rc != SQLITE_DONE)
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
	sqlite3_reset(stmt);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int sq_requeue(struct store *st, int64_t id, struct errbuf *err)
{
	struct sqlite_store *s = sq(st);
	struct conn *c = &s->api;
	sqlite3_stmt *stmt;
	enum store_state state;
	int ret, rc;

	pthread_mutex_lock(&c->lock);
	ret = sqlite_store__write_begin(s, c, err);
	if (ret)
		goto out;
	stmt = conn_stmt(c, sqlite_store__sql_state_of, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(stmt);
		ret = errbuf_set(err, HERALD_ENOENT,
				 "notification %lld does not exist", (long long)id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = stmt_error(c, stmt, err);
		goto out;
	}
	state = col_state(stmt, 0);
	sqlite3_reset(stmt);
	if (state != STORE_FAILED && state != STORE_DEAD) {
		ret = errbuf_set(err, HERALD_EINVAL,
				 "notification %lld is %s; only failed or dead notifications can be retried",
				 (long long)id, store_state_name(state));
		goto out;
	}
	stmt = conn_stmt(c, sqlite_store__sql_requeue, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_double(stmt, 2, store_now());
	ret = sqlite_store__stmt_run(c, stmt, err);
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
out:
	sqlite_store__write_end(s, c);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int sq_ping(struct store *st, struct errbuf *err)
{
	struct sqlite_store *s = sq(st);
	struct conn *c = &s->api;
	char why[sizeof(s->failing_why)];
	struct errbuf probe;
	int failing, ret = 0;

	pthread_mutex_lock(&s->lock);
	failing = s->failing;
	memcpy(why, s->failing_why, sizeof(why));
	pthread_mutex_unlock(&s->lock);

	pthread_mutex_lock(&c->lock);
	if (failing) {
		if (!sqlite_store__probe_commit(s, c, &probe))
			sqlite_store__note_commit(s, NULL);
		else
			ret = errbuf_set(err, HERALD_EIO,
					 "database %s cannot commit: %s: check free disk space and the file's permissions",
					 s->path, why);
		goto out;
	}
	pthread_mutex_lock(&s->wlock);
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		ret = errbuf_set(err, HERALD_EIO, "database %s is not writable: %s",
				 s->path, sqlite3_errmsg(c->db));
	sqlite_store__write_end(s, c);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- engine updates --------------------------------------------------- */

int sqlite_store__apply_one(struct conn *c, const struct store_update *u,
			    struct errbuf *err)
{
	static const char *const sql[] = {
		[STORE_UP_SENDING] = sqlite_store__sql_up_sending,
		[STORE_UP_DELIVERED] = sqlite_store__sql_up_delivered,
		[STORE_UP_RETRYING] = sqlite_store__sql_up_problem,
		[STORE_UP_FAILED] = sqlite_store__sql_up_problem,
		[STORE_UP_ATTEMPT] = sqlite_store__sql_up_attempt,
		[STORE_UP_STORY] = sqlite_store__sql_up_story,
		[STORE_UP_DIGEST] = sqlite_store__sql_up_digest,
	};
	sqlite3_stmt *stmt;

	if (u->kind == STORE_UP_FAILED && u->state == STORE_SILENCED)
		return sqlite_store__apply_silenced(c, u, err);
	if ((unsigned)u->kind >= sizeof(sql) / sizeof(*sql))
		return errbuf_set(err, HERALD_EINVAL, "unknown update kind %d",
				  (int)u->kind);
	stmt = conn_stmt(c, sql[u->kind], err);
	if (!stmt)
		return HERALD_EIO;
	switch (u->kind) {
	case STORE_UP_SENDING:
		sqlite3_bind_int64(stmt, 1, u->id);
		sqlite3_bind_double(stmt, 2, u->at);
		break;
	case STORE_UP_DELIVERED:
		sqlite3_bind_int64(stmt, 1, u->id);
		sqlite3_bind_double(stmt, 2, u->at);
		sqlite_store__bind_str(stmt, 3, u->channel_id);
		sqlite_store__bind_str(stmt, 4, u->message_id);
		sqlite3_bind_int(stmt, 5, u->attempts);
		bind_int_or_null(stmt, 6, u->http_status);
		bind_int_or_null(stmt, 7, u->digest_id);
		break;
	case STORE_UP_RETRYING:
	case STORE_UP_FAILED:
		sqlite3_bind_int64(stmt, 1, u->id);
		sqlite3_bind_double(stmt, 2, u->at);
		sqlite_store__bind_str(stmt, 3, store_state_name(u->kind == STORE_UP_RETRYING ?
						   STORE_RETRYING : u->state));
		sqlite3_bind_int(stmt, 4, u->attempts);
		bind_double_or_null(stmt, 5,
				    u->kind == STORE_UP_RETRYING ? u->next_at : 0);
		sqlite_store__bind_str(stmt, 6, u->code);
		sqlite_store__bind_str(stmt, 7, u->msg);
		bind_int_or_null(stmt, 8, u->http_status);
		break;
	case STORE_UP_ATTEMPT:
		sqlite3_bind_int64(stmt, 1, u->id);
		sqlite3_bind_int(stmt, 2, u->attempts);
		sqlite3_bind_double(stmt, 3, u->at);
		sqlite_store__bind_str(stmt, 4, u->outcome);
		sqlite_store__bind_str(stmt, 5, u->code);
		bind_int_or_null(stmt, 6, u->http_status);
		sqlite3_bind_int64(stmt, 7, u->duration_ms);
		break;
	case STORE_UP_STORY:
		sqlite_store__bind_str(stmt, 1, u->correlation_key);
		sqlite_store__bind_str(stmt, 2, u->provider);
		sqlite_store__bind_str(stmt, 3, u->destination);
		sqlite_store__bind_str(stmt, 4, u->channel_id);
		sqlite_store__bind_str(stmt, 5, u->message_id);
		bind_int_or_null(stmt, 6, u->id);
		sqlite3_bind_double(stmt, 7, u->at);
		sqlite3_bind_double(stmt, 8, u->event_at);
		sqlite3_bind_int(stmt, 9, u->rank);
		sqlite_store__bind_str(stmt, 10, u->body_hash);
		bind_int_or_null(stmt, 11, u->digest_id);
		break;
	case STORE_UP_DIGEST:
		sqlite3_bind_int64(stmt, 1, u->id);
		sqlite_store__bind_str(stmt, 2, u->provider);
		sqlite_store__bind_str(stmt, 3, u->destination);
		sqlite_store__bind_str(stmt, 4, u->channel_id);
		sqlite_store__bind_str(stmt, 5, u->message_id);
		sqlite_store__bind_str(stmt, 6, u->lines);
		sqlite3_bind_double(stmt, 7, u->at);
		break;
	}
	return sqlite_store__stmt_run(c, stmt, err);
}

/* ---- statistics, tests, lifecycle ------------------------------------- */

static const char *sq_instance_id(struct store *st)
{
	return sq(st)->instance_id;
}

static int sq_test_limit_pages(struct store *st, long pages,
			       struct errbuf *err)
{
	struct conn *c = &sq(st)->commit;
	char sql[64];
	int ret;

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld",
		 pages > 0 ? pages : DEFAULT_MAX_PAGES);
	pthread_mutex_lock(&c->lock);
	ret = sqlite_store__conn_exec(c, sql, err);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void sqlite_store__free(struct sqlite_store *s)
{
	sqlite_store__conn_close(&s->prune);
	sqlite_store__conn_close(&s->api);
	sqlite_store__conn_close(&s->engine);
	sqlite_store__conn_close(&s->commit);
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->shutdown_lock);
	pthread_mutex_destroy(&s->wlock);
	free(s->path);
	free(s);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.shutdown = sqlite_store__shutdown,
	.close = sqlite_store__close,
	.accept = sqlite_store__accept,
	.get = sq_get,
	.list = sq_list,
	.load_pending = sq_load_pending,
	.walk_events = sqlite_store__walk_events,
	.recover = sq_recover,
	.counts = sq_counts,
	.requeue = sq_requeue,
	.ping = sq_ping,
	.apply = sqlite_store__apply,
	.story_get = sqlite_store__story_get,
	.digest_get = sqlite_store__digest_get,
	.resolution_get = sqlite_store__resolution_get,
	.resolution_put = sqlite_store__resolution_put,
	.silence_add = sqlite_store__silence_add,
	.silence_get = sqlite_store__silence_get,
	.silence_list = sqlite_store__silence_list,
	.silence_end = sqlite_store__silence_end,
	.prune = sqlite_store__prune,
	.stats = sqlite_store__stats,
	.instance_id = sq_instance_id,
	.test_limit_pages = sq_test_limit_pages,
	.test_fail_commits = sqlite_store__test_fail_commits,
};

int store_sqlite_open(struct store **out, const char *path,
		      struct errbuf *err)
{
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	s->base.ops = &sqlite_ops;
	s->path = xstrdup(path);
	s->tail = &s->head;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->shutdown_lock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->done, NULL);
	atomic_init(&s->accept_calls, 0);
	atomic_init(&s->accept_items, 0);
	atomic_init(&s->accept_commits, 0);
	atomic_init(&s->apply_commits, 0);

	sqlite_store__conn_init(&s->commit);
	sqlite_store__conn_init(&s->engine);
	sqlite_store__conn_init(&s->api);
	sqlite_store__conn_init(&s->prune);

	ret = sqlite_store__conn_open(&s->commit, path, err);
	if (!ret)
		ret = conn_configure(&s->commit, path, "FULL", err);
	if (!ret)
		ret = migrate(s, err);
	if (!ret)
		ret = read_instance_id(s, err);
	if (!ret)
		ret = sqlite_store__conn_open(&s->engine, path, err);
	if (!ret)
		ret = conn_configure(&s->engine, path, "NORMAL", err);
	s->engine.sync_normal = 1;
	if (!ret)
		ret = sqlite_store__conn_open(&s->api, path, err);
	if (!ret)
		ret = conn_configure(&s->api, path, "FULL", err);
	if (!ret)
		ret = sqlite_store__conn_open(&s->prune, path, err);
	if (!ret)
		ret = conn_configure(&s->prune, path, "NORMAL", err);
	s->prune.sync_normal = 1;
	if (ret)
		goto fail;
	sqlite3_wal_hook(s->commit.db, on_wal_commit, s);
	sqlite3_wal_hook(s->engine.db, on_wal_commit, s);
	sqlite3_wal_hook(s->api.db, on_wal_commit, s);
	sqlite3_wal_hook(s->prune.db, on_wal_commit, s);
	if (pthread_create(&s->committer, NULL,
			   sqlite_store__committer_main, s)) {
		ret = errbuf_set(err, HERALD_EIO,
				 "database %s: cannot start the committer thread",
				 path);
		goto fail;
	}
	s->committer_started = 1;
	*out = &s->base;
	return 0;
fail:
	sqlite_store__free(s);
	return ret;
}
