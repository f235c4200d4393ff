/*
 * store_sqlite_silences: the silences table of the SQLite store.
 *
 * Adding and ending a silence are small write transactions of their own
 * on the API connection, committed with synchronous=FULL like an accept,
 * so a 201 means the silence is on disk. Reads use the same connection.
 * The silenced state of a notification is written with the engine's other
 * changes (sqlite_store__apply_silenced(), inside store_apply()).
 * store_sqlite_silence_peek() reads the active silences of a database
 * file opened read-only, for herald route.
 */
#include "daemon/store_sqlite_internal.h"
#include "core/silence.h"
#include "lib/strbuf.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct sqlite_store *sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

static void bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, i);
}

static char *col_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);

	return s ? xstrdup((const char *)s) : NULL;
}

/* A row of SILENCE_COLUMNS into out (zeroed first). */
static int read_silence(sqlite3_stmt *stmt, struct silence *out,
			struct errbuf *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(stmt, 0);
	ret = silence_matchers_load(out, (const char *)sqlite3_column_text(stmt,
					1), err);
	if (ret)
		errbuf_prefix(err, "silence %lld", (long long)out->id);
	out->starts_at = sqlite3_column_double(stmt, 2);
	out->ends_at = sqlite3_column_double(stmt, 3);
	out->ended_at = sqlite3_column_double(stmt, 4);
	out->comment = col_text(stmt, 5);
	out->created_by = col_text(stmt, 6);
	out->created_at = sqlite3_column_double(stmt, 7);
	out->silenced = sqlite3_column_int64(stmt, 8);
	return ret;
}

int sqlite_store__apply_silenced(struct conn *c, const struct store_update *u,
				 struct errbuf *err)
{
	sqlite3_stmt *stmt;

	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_up_silenced, err);
	if (!stmt)
		return HERALD_EIO;
	sqlite3_bind_int64(stmt, 1, u->id);
	sqlite3_bind_double(stmt, 2, u->at);
	sqlite3_bind_int64(stmt, 3, u->silence_id);
	sqlite3_bind_int(stmt, 4, u->attempts);
	bind_text(stmt, 5, u->code);
	bind_text(stmt, 6, u->msg);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		errbuf_set(err, HERALD_EIO, "database: %s",
			   sqlite3_errmsg(c->db));
		sqlite3_reset(stmt);
		return HERALD_EIO;
	}
	sqlite3_reset(stmt);
	return 0;
}

int sqlite_store__silence_add(struct store *st, struct silence *s,
			      struct errbuf *err)
{
	struct sqlite_store *q = sq(st);
	struct conn *c = &q->api;
	char *matchers = silence_matchers_dump(s);
	sqlite3_stmt *stmt;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = sqlite_store__write_begin(q, c, err);
	if (ret)
		goto out;
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_silence_add, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	bind_text(stmt, 1, matchers);
	sqlite3_bind_double(stmt, 2, s->starts_at);
	sqlite3_bind_double(stmt, 3, s->ends_at);
	bind_text(stmt, 4, s->comment);
	bind_text(stmt, 5, s->created_by);
	sqlite3_bind_double(stmt, 6, s->created_at);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
		sqlite3_reset(stmt);
		goto out;
	}
	sqlite3_reset(stmt);
	s->id = sqlite3_last_insert_rowid(c->db);
	if (sqlite_store__test_fail(q, err))
		ret = HERALD_EIO;
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
	sqlite_store__note_commit(q, ret ? err->msg : NULL);
out:
	sqlite_store__write_end(q, c);
	pthread_mutex_unlock(&c->lock);
	free(matchers);
	if (ret)
		s->id = 0;
	return ret;
}

int sqlite_store__silence_get(struct store *st, int64_t id,
			      struct silence *out, struct errbuf *err)
{
	struct conn *c = &sq(st)->api;
	sqlite3_stmt *stmt;
	int ret = 0, rc;

	pthread_mutex_lock(&c->lock);
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_silence_get, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		ret = read_silence(stmt, out, err);
	else if (rc == SQLITE_DONE)
		ret = errbuf_set(err, HERALD_ENOENT,
				 "silence %lld does not exist", (long long)id);
	else
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
	sqlite3_reset(stmt);
	if (ret)
		silence_release(out);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* Steps stmt (bound) to the end, collecting its silences. */
static int collect(sqlite3 *db, sqlite3_stmt *stmt, struct silence **out,
		   size_t *nr, struct errbuf *err)
{
	struct silence *arr = NULL;
	size_t n = 0, alloc = 0;
	int ret = 0, rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			arr = xrealloc(arr, alloc * sizeof(*arr));
		}
		if (read_silence(stmt, &arr[n], NULL)) {
			/* Edited by hand: skipped rather than matching all. */
			silence_release(&arr[n]);
			continue;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(db));
		silence_array_free(arr, n);
		return ret;
	}
	*out = n ? arr : NULL;
	*nr = n;
	if (!n)
		free(arr);
	return 0;
}

int sqlite_store__silence_list(struct store *st, double since,
			       struct silence **out, size_t *nr,
			       struct errbuf *err)
{
	struct conn *c = &sq(st)->api;
	sqlite3_stmt *stmt;
	int ret;

	pthread_mutex_lock(&c->lock);
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_silence_list, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_double(stmt, 1, since);
	ret = collect(c->db, stmt, out, nr, err);
	sqlite3_reset(stmt);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int sqlite_store__silence_end(struct store *st, int64_t id, double at,
			      struct errbuf *err)
{
	struct sqlite_store *q = sq(st);
	struct conn *c = &q->api;
	sqlite3_stmt *stmt;
	int ret, rc, changed = 0;

	pthread_mutex_lock(&c->lock);
	ret = sqlite_store__write_begin(q, c, err);
	if (ret)
		goto out;
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_silence_end, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_double(stmt, 2, at);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
		sqlite3_reset(stmt);
		goto out;
	}
	sqlite3_reset(stmt);
	changed = sqlite3_changes(c->db);
	if (!changed) {
		stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_silence_get,
					       err);
		if (!stmt) {
			ret = HERALD_EIO;
			goto out;
		}
		sqlite3_bind_int64(stmt, 1, id);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc == SQLITE_DONE)
			ret = errbuf_set(err, HERALD_ENOENT,
					 "silence %lld does not exist",
					 (long long)id);
		else if (rc == SQLITE_ROW)
			ret = errbuf_set(err, HERALD_EDUP,
					 "silence %lld has already ended",
					 (long long)id);
		else
			ret = errbuf_set(err, HERALD_EIO, "database: %s",
					 sqlite3_errmsg(c->db));
		goto out;
	}
	if (sqlite_store__test_fail(q, err))
		ret = HERALD_EIO;
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
	sqlite_store__note_commit(q, ret ? err->msg : NULL);
out:
	sqlite_store__write_end(q, c);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int store_sqlite_silence_peek(const char *path, double now,
			      struct silence **out, size_t *nr,
			      struct errbuf *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	struct stat sb;
	int ret;

	*out = NULL;
	*nr = 0;
	if (stat(path, &sb) || !S_ISREG(sb.st_mode))
		return errbuf_set(err, HERALD_ENOENT,
				  "database %s does not exist", path);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ret = errbuf_set(err, HERALD_EIO, "cannot open database %s: %s",
				 path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, sqlite_store__sql_silence_list, -1, &stmt,
			       NULL) != SQLITE_OK) {
		const char *why = sqlite3_errmsg(db);

		ret = errbuf_set(err, strstr(why, "no such table") ?
				 HERALD_ENOENT : HERALD_EIO,
				 "database %s: %s", path, why);
		goto out;
	}
	sqlite3_bind_double(stmt, 1, now);
	ret = collect(db, stmt, out, nr, err);
	if (ret)
		errbuf_prefix(err, "database %s", path);
out:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return ret;
}
