/*
 * tmpdb: what the store's unit tests (test_store, test_store_silences)
 * share: a database in a mkdtemp directory of its own, removed at the end,
 * the store opened on it, and SQL run beside the store on a connection of
 * its own (to read what was written, or to craft an old state). Include
 * after <cmocka.h>: failures are cmocka assertions. Each test file gets
 * its own static copies.
 */
#ifndef HERALD_TEST_TMPDB_H
#define HERALD_TEST_TMPDB_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/store_internal.h"

struct tmpdb {
	char dir[256];
	char path[300];
};

static inline void tmpdb_make(struct tmpdb *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/herald-store-XXXXXX",
		 base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/herald.db", t->dir);
}

static inline void tmpdb_remove(struct tmpdb *t)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[340];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(t->dir), 0);
}

/* The store at path, or the test fails. */
static inline struct store *open_ok(const char *path)
{
	struct store *st = NULL;
	struct errbuf err = { "" };

	if (store_open(&st, path, &err))
		fail_msg("store_open: %s", err.msg);
	assert_non_null(st);
	return st;
}

/* One integer from SQL run on a separate connection. */
static inline long long query_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	long long v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* Runs SQL on a separate connection (the store closed): a crafted state. */
static inline void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

#endif
