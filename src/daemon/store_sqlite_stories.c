/*
 * store_sqlite_stories: the SQLite store's stories (the platform message
 * each correlation key edits), digests (one message for many
 * notifications), cached channel resolutions, and the walk over a time
 * range of events (the weekly summary's reads).
 */
#include "daemon/store_sqlite_internal.h"
#include "lib/strbuf.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static struct sqlite_store *sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

/* ---- stories and resolutions ----------------------------------------- */

int sqlite_store__story_get(struct store *st, const char *correlation_key,
			struct store_story *out, struct errbuf *err)
{
	struct conn *c = &sq(st)->engine;
	sqlite3_stmt *stmt;
	int ret = 0, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->lock);
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_story_get, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite_store__bind_str(stmt, 1, correlation_key);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->provider = sqlite_store__col_str(stmt, 0);
		out->destination = sqlite_store__col_str(stmt, 1);
		out->channel_id = sqlite_store__col_str(stmt, 2);
		out->message_id = sqlite_store__col_str(stmt, 3);
		out->first_notification_id = sqlite3_column_int64(stmt, 4);
		out->updated_at = sqlite3_column_double(stmt, 5);
		out->event_at = sqlite3_column_double(stmt, 6);
		out->rank = sqlite3_column_int(stmt, 7);
		out->body_hash = sqlite_store__col_str(stmt, 8);
		out->digest_id = sqlite3_column_int64(stmt, 9);
	} else if (rc == SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_ENOENT, "no story for this correlation key");
	} else {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
	}
	sqlite3_reset(stmt);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int sqlite_store__digest_get(struct store *st, int64_t id,
			 struct store_digest *out, struct errbuf *err)
{
	struct conn *c = &sq(st)->engine;
	sqlite3_stmt *stmt;
	int ret = 0, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->lock);
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_digest_get, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->id = id;
		out->provider = sqlite_store__col_str(stmt, 0);
		out->destination = sqlite_store__col_str(stmt, 1);
		out->channel_id = sqlite_store__col_str(stmt, 2);
		out->message_id = sqlite_store__col_str(stmt, 3);
		out->lines = sqlite_store__col_str(stmt, 4);
		out->created_at = sqlite3_column_double(stmt, 5);
		out->updated_at = sqlite3_column_double(stmt, 6);
	} else if (rc == SQLITE_DONE) {
		ret = errbuf_set(err, HERALD_ENOENT, "no digest %lld",
				 (long long)id);
	} else {
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
	}
	sqlite3_reset(stmt);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int sqlite_store__resolution_get(struct store *st, const char *provider,
			     const char *destination, double now,
			     char **channel_id, struct errbuf *err)
{
	struct conn *c = &sq(st)->engine;
	sqlite3_stmt *stmt;
	int ret = 0, rc;

	pthread_mutex_lock(&c->lock);
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_resolution_get, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite_store__bind_str(stmt, 1, provider);
	sqlite_store__bind_str(stmt, 2, destination);
	sqlite3_bind_double(stmt, 3, now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*channel_id = sqlite_store__col_str(stmt, 0);
	else if (rc == SQLITE_DONE)
		ret = errbuf_set(err, HERALD_ENOENT,
				 "no current resolution of %s on %s",
				 destination ? destination : "(null)",
				 provider ? provider : "(null)");
	else
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c->db));
	sqlite3_reset(stmt);
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int sqlite_store__resolution_put(struct store *st, const char *provider,
			     const char *destination, const char *channel_id,
			     double expires_at, struct errbuf *err)
{
	struct conn *c = &sq(st)->engine;
	sqlite3_stmt *stmt;
	int ret;

	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&sq(st)->wlock);
	stmt = sqlite_store__conn_stmt(c, sqlite_store__sql_resolution_put, err);
	if (!stmt) {
		ret = HERALD_EIO;
		goto out;
	}
	sqlite_store__bind_str(stmt, 1, provider);
	sqlite_store__bind_str(stmt, 2, destination);
	sqlite_store__bind_str(stmt, 3, channel_id);
	sqlite3_bind_double(stmt, 4, expires_at);
	ret = sqlite_store__stmt_run(c, stmt, err);
out:
	sqlite_store__write_end(sq(st), c);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* On a connection of its own: a long walk holds no other reader up. */
int sqlite_store__walk_events(struct store *st, double from, double to,
			  store_event_fn *fn, void *arg, struct errbuf *err)
{
	struct conn c;
	sqlite3_stmt *stmt = NULL;
	int ret, rc = SQLITE_DONE;

	sqlite_store__conn_init(&c);
	ret = sqlite_store__conn_open(&c, sq(st)->path, err);
	if (!ret && !(stmt = sqlite_store__conn_stmt(&c, sqlite_store__sql_events_between,
				       err)))
		ret = HERALD_EIO;
	if (stmt) {
		sqlite3_bind_double(stmt, 1, from);
		sqlite3_bind_double(stmt, 2, to);
	}
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_event ev = {
			sqlite3_column_int64(stmt, 0),
			(const char *)sqlite3_column_text(stmt, 1),
			(const char *)sqlite3_column_text(stmt, 2),
			sqlite3_column_double(stmt, 3),
		};

		ret = fn(arg, &ev);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = errbuf_set(err, HERALD_EIO, "database: %s",
				 sqlite3_errmsg(c.db));
	sqlite_store__conn_close(&c);
	return ret;
}
