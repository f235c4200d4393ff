/*
 * Unit tests for the store on SQLite: migrations, accept with idempotency
 * and all-or-nothing batches, group commit under concurrency, the delivery
 * states, requeue, stories, resolutions, crash recovery and shutdown.
 * Every test works in its own mkdtemp directory, removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/pruner.h"
#include "daemon/store_internal.h"
#include "lib/strbuf.h"
#include "tmpdb.h"

/* A routed deploy event with this key (NULL: none). */
static struct store_item item(const char *key, const char *app, const char *env)
{
	struct store_item it = {
		.idem_key = key,
		.type = "deploy",
		.status = "succeeded",
		.app = app,
		.env = env,
		.body = "{\"type\":\"deploy\",\"status\":\"succeeded\"}",
		.provider = "slack",
		.destination = "#deploys",
		.dest_kind = "channel",
		.reason = "default channel",
		.correlation_key = NULL,
		.state = STORE_QUEUED,
	};
	return it;
}

static int64_t accept_one(struct store *st, const struct store_item *it)
{
	struct store_accepted a;
	struct errbuf err = { "" };
	int64_t id;

	if (store_accept(st, it, 1, &a, &err))
		fail_msg("store_accept: %s", err.msg);
	id = a.id;
	store_accepted_release(&a);
	return id;
}

static enum store_state state_of(struct store *st, int64_t id)
{
	struct store_record rec;
	enum store_state state;

	assert_int_equal(store_get(st, id, &rec, NULL), 0);
	state = rec.state;
	store_record_release(&rec);
	return state;
}

static uint64_t total(struct store *st)
{
	uint64_t counts[STORE_STATE_NR], sum = 0;

	assert_int_equal(store_counts(st, counts, NULL), 0);
	for (int i = 0; i < STORE_STATE_NR; i++)
		sum += counts[i];
	return sum;
}

static void test_state_names(void **state)
{
	enum store_state s;

	for (int i = 0; i < STORE_STATE_NR; i++) {
		assert_int_equal(store_state_parse(store_state_name(i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(store_state_name(STORE_DEAD), "dead");
	assert_int_equal(store_state_parse("done", &s), -1);
	assert_int_equal(store_state_parse(NULL, &s), -1);
}

static void test_open_migrates(void **state)
{
	struct tmpdb t;
	struct store *st;

	tmpdb_make(&t);
	st = open_ok(t.path);
	store_close(st);
	assert_int_equal(query_int(t.path, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(query_int(t.path,
				   "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
				   " ('events', 'notifications', 'stories', 'resolutions', 'attempts')"),
			 5);
	assert_int_equal(query_int(t.path, "PRAGMA page_size"), 2048);
	/* Reopening an up-to-date database changes nothing. */
	st = open_ok(t.path);
	assert_int_equal(total(st), 0);
	assert_int_equal(store_ping(st, NULL), 0);
	store_close(st);
	assert_int_equal(query_int(t.path, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	tmpdb_remove(&t);
}

/* What a version 5 database lacks: silences (version 6). */
/* What migration 8 adds (digests), but stories.digest_id. */
#define UNDO_V8 \
	"DROP INDEX notifications_digest;" \
	"DROP INDEX stories_digest;" \
	"DROP TABLE digests;" \
	"ALTER TABLE notifications DROP COLUMN digest_id;"
#define UNDO_V6 \
	"DROP TABLE silences;" \
	"DROP INDEX notifications_silence;" \
	"ALTER TABLE notifications DROP COLUMN silence_id;"

/* A version 1 database (stories with a rowid) keeps its stories. */
static void test_migrate_from_1(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_story story;
	struct errbuf err = { "" };

	tmpdb_make(&t);
	st = open_ok(t.path);
	store_close(st);
	exec_sql(t.path, UNDO_V8 UNDO_V6
		"DROP TABLE stories;"
		"CREATE TABLE stories (correlation_key TEXT PRIMARY KEY,"
		"  provider TEXT NOT NULL, destination TEXT NOT NULL,"
		"  channel_id TEXT, message_id TEXT, first_notification_id INTEGER,"
		"  updated_at REAL NOT NULL);"
		"INSERT INTO stories VALUES ('deploy/api/prod/abc', 'slack',"
		"  '#deploys', 'C0123', '1700000000.000100', 7, 1700000000);"
		"CREATE INDEX notifications_correlation ON"
		"  notifications(correlation_key) WHERE correlation_key IS NOT NULL;"
		"PRAGMA user_version = 1;");

	st = open_ok(t.path);
	assert_int_equal(store_story_get(st, "deploy/api/prod/abc", &story,
					 &err), 0);
	assert_string_equal(story.channel_id, "C0123");
	assert_string_equal(story.message_id, "1700000000.000100");
	assert_int_equal(story.first_notification_id, 7);
	store_story_release(&story);
	store_close(st);
	assert_int_equal(query_int(t.path, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(query_int(t.path,
				   "SELECT count(*) FROM sqlite_master WHERE name ="
				   " 'notifications_correlation'"), 0);
	assert_int_equal(query_int(t.path,
				   "SELECT count(*) FROM sqlite_master WHERE name ="
				   " 'stories' AND sql LIKE '%WITHOUT ROWID'"), 1);
	tmpdb_remove(&t);
}

/* 32 lowercase hex digits: 128 random bits. */
static void assert_instance_id(const char *id)
{
	assert_non_null(id);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
}

/*
 * Every database has a random instance ID of its own, made when it is
 * created and kept across reopening.
 */
static void test_instance_id(void **state)
{
	struct tmpdb t, u;
	struct store *st, *other;
	char first[64];

	tmpdb_make(&t);
	tmpdb_make(&u);
	st = open_ok(t.path);
	assert_instance_id(store_instance_id(st));
	snprintf(first, sizeof(first), "%s", store_instance_id(st));
	other = open_ok(u.path);
	assert_instance_id(store_instance_id(other));
	assert_string_not_equal(store_instance_id(other), first);
	store_close(other);
	store_close(st);

	st = open_ok(t.path);
	assert_string_equal(store_instance_id(st), first);
	store_close(st);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM meta"
				   " WHERE key = 'instance_id'"), 1);
	tmpdb_remove(&u);
	tmpdb_remove(&t);
}

/* The idempotency key of notification id, as stored. */
static char *stored_key(struct store *st, int64_t id)
{
	struct store_record rec;
	char *key;

	assert_int_equal(store_get(st, id, &rec, NULL), 0);
	key = rec.event_key ? xstrdup(rec.event_key) : NULL;
	store_record_release(&rec);
	return key;
}

/*
 * A version 3 database gets an instance ID, and its keys made from an
 * Idempotency-Key header (the event body has no such id) are set apart
 * from event ids with STORE_HEADER_KEY_PREFIX.
 */
static void test_migrate_from_3(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it;
	int64_t by_header, by_id, bad_body;
	char *key;

	tmpdb_make(&t);
	st = open_ok(t.path);
	it = item("ci-7/0", "api", "production");
	by_header = accept_one(st, &it);
	it = item("ci-7/1", "api", "production");
	it.body = "{\"type\":\"deploy\",\"id\":\"ci-7/1\"}";
	by_id = accept_one(st, &it);
	it = item("raw", "api", "production");
	it.body = "not JSON";
	bad_body = accept_one(st, &it);
	store_close(st);
	exec_sql(t.path, UNDO_V8 UNDO_V6
		 "ALTER TABLE stories DROP COLUMN digest_id;"
		 "DROP TABLE meta; PRAGMA user_version = 3;");

	st = open_ok(t.path);
	assert_instance_id(store_instance_id(st));
	key = stored_key(st, by_header);
	assert_non_null(key);
	assert_true(key[0] == STORE_HEADER_KEY_PREFIX);
	assert_string_equal(key + 1, "ci-7/0");
	free(key);
	key = stored_key(st, by_id);
	assert_string_equal(key, "ci-7/1");
	free(key);
	/* A body that cannot be read keeps its key as it was. */
	key = stored_key(st, bad_body);
	assert_string_equal(key, "raw");
	free(key);
	store_close(st);
	assert_int_equal(query_int(t.path, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	tmpdb_remove(&t);
}

static void test_open_wal(void **state)
{
	struct tmpdb t;
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *stmt;

	tmpdb_make(&t);
	st = open_ok(t.path);
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
					    &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	store_close(st);
	tmpdb_remove(&t);
}

static void test_newer_schema_refused(void **state)
{
	struct tmpdb t;
	struct store *st = NULL;
	struct errbuf err = { "" };

	tmpdb_make(&t);
	st = open_ok(t.path);
	store_close(st);
	exec_sql(t.path, "PRAGMA user_version = 99");

	st = NULL;
	assert_int_equal(store_open(&st, t.path, &err), HERALD_EIO);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 99"));
	assert_non_null(strstr(err.msg, "newer"));
	assert_non_null(strstr(err.msg, t.path));
	/* Refusing left it alone. */
	assert_int_equal(query_int(t.path, "PRAGMA user_version"), 99);
	tmpdb_remove(&t);
}

static void test_open_errors(void **state)
{
	struct store *st = NULL;
	struct errbuf err = { "" };

	assert_int_equal(store_open(&st, "postgres://herald@db/herald", &err),
			 HERALD_EINVAL);
	assert_null(st);
	assert_string_equal(err.msg,
			    "PostgreSQL support is not available yet; set HERALD_DATABASE to a SQLite file path");
	assert_int_equal(store_open(&st, "postgresql://db/herald", &err),
			 HERALD_EINVAL);
	assert_int_equal(store_open(&st, "", &err), HERALD_EINVAL);
	assert_int_equal(store_open(&st, "/nonexistent-herald-dir/x/herald.db",
				    &err), HERALD_EIO);
	assert_null(st);
	assert_non_null(strstr(err.msg, "/nonexistent-herald-dir/x/herald.db"));
	store_close(NULL);
}

static void test_accept_and_get(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item items[2];
	struct store_accepted out[2];
	struct store_record rec;
	struct errbuf err = { "" };
	json_t *js;
	uint64_t counts[STORE_STATE_NR];

	tmpdb_make(&t);
	st = open_ok(t.path);
	items[0] = item("ev-1", "api", "production");
	items[0].correlation_key = "deploy\x1f" "api\x1f" "production\x1f" "abc";
	items[1] = item("ev-2", "web", "staging");
	items[1].destination = NULL;
	items[1].dest_kind = NULL;
	items[1].reason = "no route: web has no owner IM and staging no mapping";
	items[1].state = STORE_FAILED;

	assert_int_equal(store_accept(st, items, 2, out, &err), 0);
	assert_true(out[0].id > 0);
	assert_true(out[1].id > out[0].id);
	assert_false(out[0].existing);
	assert_int_equal(out[0].state, STORE_QUEUED);
	assert_string_equal(out[0].destination, "#deploys");
	assert_string_equal(out[0].dest_kind, "channel");
	assert_string_equal(out[0].reason, "default channel");
	assert_int_equal(out[1].state, STORE_FAILED);
	assert_null(out[1].destination);

	assert_int_equal(store_get(st, out[0].id, &rec, &err), 0);
	assert_int_equal(rec.id, out[0].id);
	assert_string_equal(rec.event_key, "ev-1");
	assert_string_equal(rec.type, "deploy");
	assert_string_equal(rec.status, "succeeded");
	assert_string_equal(rec.app, "api");
	assert_string_equal(rec.env, "production");
	assert_string_equal(rec.body, items[0].body);
	assert_string_equal(rec.provider, "slack");
	assert_string_equal(rec.destination, "#deploys");
	assert_string_equal(rec.correlation_key, items[0].correlation_key);
	assert_int_equal(rec.state, STORE_QUEUED);
	assert_int_equal(rec.attempts, 0);
	assert_null(rec.last_error_code);
	assert_true(rec.created_at > 1.6e9);
	assert_true(rec.delivered_at == 0);

	js = store_record_to_json(&rec);
	assert_int_equal(json_integer_value(json_object_get(js, "id")), rec.id);
	assert_string_equal(json_string_value(json_object_get(js, "state")), "queued");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(js, "event"), "app")), "api");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(js, "event"), "body"), "type")), "deploy");
	assert_true(json_is_null(json_object_get(js, "last_error")));
	assert_true(json_is_null(json_object_get(js, "delivered_at")));
	assert_int_equal(strlen(json_string_value(json_object_get(js, "created_at"))),
			 strlen("2024-05-01T12:00:00.123Z"));
	json_decref(js);
	store_record_release(&rec);

	assert_int_equal(store_get(st, out[1].id, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_FAILED);
	assert_null(rec.destination);
	assert_string_equal(rec.last_error_code, "unrouted");
	assert_string_equal(rec.last_error, items[1].reason);
	js = store_record_to_json(&rec);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(js, "last_error"), "code")), "unrouted");
	json_decref(js);
	store_record_release(&rec);

	assert_int_equal(store_get(st, 9999, &rec, &err), HERALD_ENOENT);
	assert_string_equal(err.msg, "notification 9999 does not exist");

	assert_int_equal(store_counts(st, counts, &err), 0);
	assert_int_equal(counts[STORE_QUEUED], 1);
	assert_int_equal(counts[STORE_FAILED], 1);
	assert_int_equal(counts[STORE_DELIVERED], 0);

	store_accepted_array_release(out, 2);
	store_close(st);
	tmpdb_remove(&t);
}

static void test_record_json_times(void **state)
{
	struct store_record rec = { 0 };
	json_t *js;

	rec.id = 7;
	rec.state = STORE_RETRYING;
	rec.created_at = 1714564800.1234;	/* 2024-05-01T12:00:00.123Z */
	rec.next_attempt_at = 1714564801.9999;
	rec.http_status = 429;
	rec.last_error_code = (char *)"rate_limited";
	js = store_record_to_json(&rec);
	assert_string_equal(json_string_value(json_object_get(js, "created_at")),
			    "2024-05-01T12:00:00.123Z");
	assert_string_equal(json_string_value(json_object_get(js, "next_attempt_at")),
			    "2024-05-01T12:00:02.000Z");
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(js, "last_error"), "http_status")), 429);
	assert_true(json_is_null(json_object_get(js, "destination")));
	assert_null(json_object_get(json_object_get(js, "event"), "body"));
	json_decref(js);
}

static void test_list_filters(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_filter f = STORE_FILTER_INIT;
	struct store_record *recs;
	struct errbuf err = { "" };
	int64_t ids[10];
	size_t nr, seen = 0;
	char key[16];

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < 10; i++) {
		struct store_item it;

		snprintf(key, sizeof(key), "k%d", i);
		it = item(key, i % 2 ? "web" : "api",
			  i < 5 ? "production" : "staging");
		ids[i] = accept_one(st, &it);
	}
	assert_int_equal(store_mark_failed(st, ids[3], STORE_FAILED,
					   "channel_not_found", "no such channel",
					   200, store_now(), &err), 0);
	assert_int_equal(store_mark_failed(st, ids[8], STORE_FAILED,
					   "channel_not_found", "no such channel",
					   200, store_now(), &err), 0);

	assert_int_equal(store_list(st, NULL, &recs, &nr, &err), 0);
	assert_int_equal(nr, 10);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(recs[i].id, ids[9 - i]);
		assert_null(recs[i].body);
	}
	store_record_array_free(recs, nr);

	f.state = STORE_FAILED;
	assert_int_equal(store_list(st, &f, &recs, &nr, &err), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(recs[0].id, ids[8]);
	assert_int_equal(recs[1].id, ids[3]);
	assert_string_equal(recs[0].last_error_code, "channel_not_found");
	store_record_array_free(recs, nr);

	f.state = -1;
	f.app = "web";
	f.env = "production";
	assert_int_equal(store_list(st, &f, &recs, &nr, &err), 0);
	assert_int_equal(nr, 2);		/* k1, k3 */
	assert_int_equal(recs[0].id, ids[3]);
	assert_int_equal(recs[1].id, ids[1]);
	assert_string_equal(recs[0].app, "web");
	store_record_array_free(recs, nr);

	f.app = "nobody";
	f.env = NULL;
	assert_int_equal(store_list(st, &f, &recs, &nr, &err), 0);
	assert_int_equal(nr, 0);
	assert_null(recs);

	/* Pages of 3 through the cursor see every one exactly once. */
	f = (struct store_filter)STORE_FILTER_INIT;
	f.limit = 3;
	do {
		assert_int_equal(store_list(st, &f, &recs, &nr, &err), 0);
		assert_true(nr <= 3);
		for (size_t i = 0; i < nr; i++)
			assert_int_equal(recs[i].id, ids[9 - seen - i]);
		seen += nr;
		if (nr)
			f.before = recs[nr - 1].id;
		store_record_array_free(recs, nr);
	} while (nr == 3);
	assert_int_equal(seen, 10);

	f = (struct store_filter)STORE_FILTER_INIT;
	f.limit = 100000;
	assert_int_equal(store_list(st, &f, &recs, &nr, &err), 0);
	assert_int_equal(nr, 10);
	store_record_array_free(recs, nr);
	f.state = 42;
	assert_int_equal(store_list(st, &f, &recs, &nr, &err), HERALD_EINVAL);

	store_close(st);
	tmpdb_remove(&t);
}

static void test_idempotency(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item items[3];
	struct store_accepted out[3];
	struct errbuf err = { "" };
	int64_t first;

	tmpdb_make(&t);
	st = open_ok(t.path);
	items[0] = item("same", "api", "production");
	first = accept_one(st, &items[0]);

	/* Same key, different routing: the first answer, nothing stored. */
	items[0].destination = "#elsewhere";
	items[0].reason = "owner IM";
	assert_int_equal(store_accept(st, items, 1, out, &err), 0);
	assert_true(out[0].existing);
	assert_int_equal(out[0].id, first);
	assert_string_equal(out[0].destination, "#deploys");
	assert_string_equal(out[0].reason, "default channel");
	assert_int_equal(out[0].state, STORE_QUEUED);
	store_accepted_release(&out[0]);
	assert_int_equal(total(st), 1);

	/* The existing answer reports the current state. */
	assert_int_equal(store_mark_delivered(st, first, "C1", "1.2", store_now(),
					      &err), 0);
	assert_int_equal(store_accept(st, items, 1, out, &err), 0);
	assert_true(out[0].existing);
	assert_int_equal(out[0].state, STORE_DELIVERED);
	store_accepted_release(&out[0]);

	/* Twice in one batch: the second is the first's. */
	items[0] = item("dup", "api", "production");
	items[1] = item("dup", "api", "production");
	items[2] = item(NULL, "api", "production");
	assert_int_equal(store_accept(st, items, 3, out, &err), 0);
	assert_false(out[0].existing);
	assert_true(out[1].existing);
	assert_int_equal(out[1].id, out[0].id);
	assert_false(out[2].existing);
	store_accepted_array_release(out, 3);

	/* Without a key there is no deduplication. */
	accept_one(st, &items[2]);
	assert_int_equal(total(st), 4);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM events"), 4);

	store_close(st);
	tmpdb_remove(&t);
}

static void test_batch_all_or_nothing(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item items[3];
	struct store_accepted out[3];
	struct errbuf err = { "" };
	char *longkey = xmalloc(STORE_IDEM_KEY_MAX + 2);
	struct store_stats stats;

	memset(longkey, 'k', STORE_IDEM_KEY_MAX + 1);
	longkey[STORE_IDEM_KEY_MAX + 1] = '\0';
	tmpdb_make(&t);
	st = open_ok(t.path);

	/* Items 0 and 1 are written before item 2 is refused. */
	items[0] = item("a", "api", "production");
	items[1] = item("b", "api", "production");
	items[2] = item(longkey, "api", "production");
	assert_int_equal(store_accept(st, items, 3, out, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "event 2"));
	assert_int_equal(total(st), 0);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM events"), 0);

	items[2] = item("c", "api", "production");
	items[2].body = NULL;
	assert_int_equal(store_accept(st, items, 3, out, &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "event 2: no body to store");
	items[2] = item("c", "api", "production");
	items[2].state = STORE_DELIVERED;
	assert_int_equal(store_accept(st, items, 3, out, &err), HERALD_EINVAL);
	assert_int_equal(total(st), 0);

	/* The keys were not kept either: now they are new. */
	items[2].state = STORE_QUEUED;
	assert_int_equal(store_accept(st, items, 3, out, &err), 0);
	for (int i = 0; i < 3; i++)
		assert_false(out[i].existing);
	store_accepted_array_release(out, 3);
	assert_int_equal(total(st), 3);

	assert_int_equal(store_accept(st, items, 0, out, &err), HERALD_ELIMIT);
	assert_int_equal(store_accept(st, items, STORE_ACCEPT_MAX + 1, out, &err),
			 HERALD_ELIMIT);
	store_stats(st, &stats);
	assert_int_equal(stats.accept_calls, 1);
	assert_int_equal(stats.accept_items, 3);

	store_close(st);
	tmpdb_remove(&t);
	free(longkey);
}

static void test_commit_failure(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it;
	struct store_accepted out;
	struct errbuf err = { "" };
	struct strbuf big = STRBUF_INIT;

	tmpdb_make(&t);
	st = open_ok(t.path);
	it = item("small", "api", "production");
	accept_one(st, &it);

	/* A full disk: the database may not grow. */
	strbuf_addch(&big, '"');
	for (int i = 0; i < 200000; i++)
		strbuf_addch(&big, 'x');
	strbuf_addch(&big, '"');
	assert_int_equal(store_test_limit_pages(st, 1, &err), 0);
	it = item("big", "api", "production");
	it.body = big.buf;
	assert_int_equal(store_accept(st, &it, 1, &out, &err), HERALD_EIO);
	assert_non_null(strstr(err.msg, "full"));
	assert_non_null(strstr(err.msg, t.path));
	assert_int_equal(total(st), 1);

	/* Space again: the same event goes in, as new. */
	assert_int_equal(store_test_limit_pages(st, 0, &err), 0);
	assert_int_equal(store_accept(st, &it, 1, &out, &err), 0);
	assert_false(out.existing);
	store_accepted_release(&out);
	assert_int_equal(total(st), 2);

	strbuf_release(&big);
	store_close(st);
	tmpdb_remove(&t);
}

#define GC_THREADS 8
#define GC_EACH 500

struct gc_worker {
	pthread_t thread;
	struct store *st;
	int n;
	int failures;
	int64_t ids[GC_EACH];
};

static void *gc_main(void *arg)
{
	struct gc_worker *w = arg;
	char key[32];

	for (int i = 0; i < GC_EACH; i++) {
		struct store_item it;
		struct store_accepted out;

		snprintf(key, sizeof(key), "t%d-%d", w->n, i);
		it = item(key, "api", "production");
		if (store_accept(w->st, &it, 1, &out, NULL)) {
			w->failures++;
			continue;
		}
		w->ids[i] = out.id;
		store_accepted_release(&out);
	}
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void test_group_commit(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct gc_worker *w = xcalloc(GC_THREADS, sizeof(*w));
	int64_t *all = xcalloc(GC_THREADS * GC_EACH, sizeof(*all));
	struct store_stats stats;
	uint64_t counts[STORE_STATE_NR];

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < GC_THREADS; i++) {
		w[i].st = st;
		w[i].n = i;
		assert_int_equal(pthread_create(&w[i].thread, NULL, gc_main, &w[i]), 0);
	}
	for (int i = 0; i < GC_THREADS; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		assert_int_equal(w[i].failures, 0);
		memcpy(all + i * GC_EACH, w[i].ids, sizeof(w[i].ids));
	}
	qsort(all, GC_THREADS * GC_EACH, sizeof(*all), cmp_id);
	assert_true(all[0] > 0);
	for (int i = 1; i < GC_THREADS * GC_EACH; i++)
		assert_true(all[i] > all[i - 1]);

	assert_int_equal(store_counts(st, counts, NULL), 0);
	assert_int_equal(counts[STORE_QUEUED], GC_THREADS * GC_EACH);
	store_stats(st, &stats);
	assert_int_equal(stats.accept_calls, GC_THREADS * GC_EACH);
	assert_int_equal(stats.accept_items, GC_THREADS * GC_EACH);
	assert_true(stats.accept_commits >= 1);
	assert_true(stats.accept_commits < GC_THREADS * GC_EACH);
	print_message("# group commit: %d accepts in %llu transactions\n",
		      GC_THREADS * GC_EACH,
		      (unsigned long long)stats.accept_commits);
	store_close(st);

	/* All of them are on disk. */
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM notifications"),
			 GC_THREADS * GC_EACH);
	tmpdb_remove(&t);
	free(all);
	free(w);
}

static void test_state_transitions(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item("x", "api", "production");
	struct store_record rec;
	struct errbuf err = { "" };
	int64_t a, b;
	double now = store_now();
	struct store_update ups[4];
	struct store_stats stats;

	tmpdb_make(&t);
	st = open_ok(t.path);
	a = accept_one(st, &it);
	it.idem_key = "y";
	b = accept_one(st, &it);

	assert_int_equal(store_mark_sending(st, a, now, &err), 0);
	assert_int_equal(state_of(st, a), STORE_SENDING);
	assert_int_equal(store_record_attempt(st, a, 1, now, "retry",
					      "rate_limited", 429, 120, &err), 0);
	assert_int_equal(store_mark_retrying(st, a, 1, now + 30, "rate_limited",
					     "slack answered 429", 429, now + 1,
					     &err), 0);
	assert_int_equal(store_get(st, a, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_RETRYING);
	assert_int_equal(rec.attempts, 1);
	assert_true(rec.next_attempt_at > now + 29);
	assert_string_equal(rec.last_error_code, "rate_limited");
	assert_string_equal(rec.last_error, "slack answered 429");
	assert_int_equal(rec.http_status, 429);
	assert_true(rec.updated_at > now);
	store_record_release(&rec);

	assert_int_equal(store_mark_sending(st, a, now + 31, &err), 0);
	assert_int_equal(store_mark_delivered(st, a, "C123", "1700000000.0001",
					      now + 32, &err), 0);
	assert_int_equal(store_get(st, a, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_DELIVERED);
	assert_int_equal(rec.attempts, 1);	/* 0 leaves it */
	assert_string_equal(rec.channel_id, "C123");
	assert_string_equal(rec.message_id, "1700000000.0001");
	assert_true(rec.delivered_at > now + 31);
	assert_null(rec.last_error_code);
	assert_true(rec.next_attempt_at == 0);
	store_record_release(&rec);

	/* A batch: all of it in one transaction. */
	store_stats(st, &stats);
	memset(ups, 0, sizeof(ups));
	ups[0] = (struct store_update){ .kind = STORE_UP_SENDING, .id = b, .at = now };
	ups[1] = (struct store_update){ .kind = STORE_UP_ATTEMPT, .id = b,
		.attempts = 1, .at = now, .outcome = "permanent",
		.code = "channel_not_found", .http_status = 200, .duration_ms = 80 };
	ups[2] = (struct store_update){ .kind = STORE_UP_FAILED, .id = b,
		.at = now, .state = STORE_DEAD, .attempts = 1,
		.code = "channel_not_found", .msg = "no such channel" };
	ups[3] = (struct store_update){ .kind = STORE_UP_SENDING, .id = 4242, .at = now };
	assert_int_equal(store_apply(st, ups, 4, &err), 0);
	assert_int_equal(state_of(st, b), STORE_DEAD);
	{
		struct store_stats after;

		store_stats(st, &after);
		assert_int_equal(after.apply_commits, stats.apply_commits + 1);
	}
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM attempts"), 2);

	/* An attempt of an unknown notification is dropped, not an error. */
	ups[0] = (struct store_update){ .kind = STORE_UP_ATTEMPT, .id = 4242,
		.attempts = 1, .at = now, .outcome = "ok" };
	assert_int_equal(store_apply(st, ups, 1, &err), 0);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM attempts"), 2);

	/* A malformed batch changes nothing. */
	ups[0] = (struct store_update){ .kind = STORE_UP_SENDING, .id = a, .at = now };
	ups[1] = (struct store_update){ .kind = STORE_UP_FAILED, .id = a,
		.at = now, .state = STORE_QUEUED };
	assert_int_equal(store_apply(st, ups, 2, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "update 1"));
	assert_int_equal(state_of(st, a), STORE_DELIVERED);
	assert_int_equal(store_mark_failed(st, a, STORE_RETRYING, "x", "y", 0, now,
					   &err), HERALD_EINVAL);

	store_close(st);
	tmpdb_remove(&t);
}

static void test_requeue_rules(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item("r1", "api", "production");
	struct store_record rec;
	struct errbuf err = { "" };
	char want[128];
	int64_t a, b;
	double now = store_now();

	tmpdb_make(&t);
	st = open_ok(t.path);
	a = accept_one(st, &it);
	it.idem_key = "r2";
	b = accept_one(st, &it);

	assert_int_equal(store_requeue(st, 999, &err), HERALD_ENOENT);
	assert_string_equal(err.msg, "notification 999 does not exist");

	assert_int_equal(store_requeue(st, a, &err), HERALD_EINVAL);
	snprintf(want, sizeof(want),
		 "notification %lld is queued; only failed or dead notifications can be retried",
		 (long long)a);
	assert_string_equal(err.msg, want);

	assert_int_equal(store_mark_delivered(st, a, "C1", "m1", now, &err), 0);
	assert_int_equal(store_requeue(st, a, &err), HERALD_EINVAL);
	snprintf(want, sizeof(want),
		 "notification %lld is delivered; only failed or dead notifications can be retried",
		 (long long)a);
	assert_string_equal(err.msg, want);

	assert_int_equal(store_mark_retrying(st, b, 3, now + 5, "timeout", "timed out",
					     0, now, &err), 0);
	assert_int_equal(store_requeue(st, b, &err), HERALD_EINVAL);
	assert_int_equal(store_mark_failed(st, b, STORE_FAILED, "channel_not_found",
					   "no such channel", 200, now, &err), 0);
	assert_int_equal(store_requeue(st, b, &err), 0);
	assert_int_equal(store_get(st, b, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_QUEUED);
	assert_int_equal(rec.attempts, 0);
	assert_null(rec.last_error_code);
	assert_int_equal(rec.http_status, 0);
	store_record_release(&rec);

	assert_int_equal(store_mark_failed(st, b, STORE_DEAD, "timeout", "gave up",
					   0, now, &err), 0);
	assert_int_equal(store_requeue(st, b, &err), 0);
	assert_int_equal(state_of(st, b), STORE_QUEUED);

	store_close(st);
	tmpdb_remove(&t);
}

static void test_stories(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_story s = { 0 }, got;
	struct store_update u;
	struct errbuf err = { "" };
	const char *key = "deploy\x1f" "api\x1f" "production\x1f" "abc";

	tmpdb_make(&t);
	st = open_ok(t.path);
	assert_int_equal(store_story_get(st, key, &got, &err), HERALD_ENOENT);

	s.provider = (char *)"slack";
	s.destination = (char *)"#deploys";
	s.channel_id = (char *)"C1";
	s.message_id = (char *)"111.1";
	s.first_notification_id = 5;
	assert_int_equal(store_story_put(st, key, &s, 100, &err), 0);
	assert_int_equal(store_story_get(st, key, &got, &err), 0);
	assert_string_equal(got.provider, "slack");
	assert_string_equal(got.destination, "#deploys");
	assert_string_equal(got.channel_id, "C1");
	assert_string_equal(got.message_id, "111.1");
	assert_int_equal(got.first_notification_id, 5);
	assert_true(got.updated_at == 100);
	store_story_release(&got);

	/* A new post (the old message was deleted) replaces the message. */
	u = (struct store_update){ .kind = STORE_UP_STORY, .id = 9, .at = 200,
		.correlation_key = key, .provider = "slack",
		.destination = "#deploys", .channel_id = "C1",
		.message_id = "222.2" };
	assert_int_equal(store_apply(st, &u, 1, &err), 0);
	assert_int_equal(store_story_get(st, key, &got, &err), 0);
	assert_string_equal(got.message_id, "222.2");
	assert_int_equal(got.first_notification_id, 5);
	assert_true(got.updated_at == 200);
	store_story_release(&got);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM stories"), 1);

	u.correlation_key = NULL;
	assert_int_equal(store_apply(st, &u, 1, &err), HERALD_EINVAL);

	store_close(st);
	tmpdb_remove(&t);
}

static void test_resolutions(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct errbuf err = { "" };
	char *ch = NULL;

	tmpdb_make(&t);
	st = open_ok(t.path);
	assert_int_equal(store_resolution_get(st, "slack", "@jane", 1000, &ch,
					      &err), HERALD_ENOENT);
	assert_null(ch);
	assert_int_equal(store_resolution_put(st, "slack", "@jane", "D123", 2000,
					      &err), 0);
	assert_int_equal(store_resolution_get(st, "slack", "@jane", 1000, &ch,
					      &err), 0);
	assert_string_equal(ch, "D123");
	free(ch);
	/* Another provider's name is another name. */
	assert_int_equal(store_resolution_get(st, "discord", "@jane", 1000, &ch,
					      &err), HERALD_ENOENT);
	/* Expired. */
	assert_int_equal(store_resolution_get(st, "slack", "@jane", 2000, &ch,
					      &err), HERALD_ENOENT);
	assert_null(ch);
	/* Refreshed. */
	assert_int_equal(store_resolution_put(st, "slack", "@jane", "D456", 3000,
					      &err), 0);
	assert_int_equal(store_resolution_get(st, "slack", "@jane", 2500, &ch,
					      &err), 0);
	assert_string_equal(ch, "D456");
	free(ch);
	assert_int_equal(store_resolution_put(st, "slack", NULL, "D1", 1, &err),
			 HERALD_EINVAL);
	store_close(st);
	tmpdb_remove(&t);
}

struct pending {
	size_t nr;
	size_t sending;
	int64_t last;
	int ordered;
	int bodies;
	size_t stop_after;
};

static int collect_pending(void *arg, const struct store_record *rec)
{
	struct pending *p = arg;

	if (rec->id <= p->last)
		p->ordered = 0;
	p->last = rec->id;
	if (rec->body && rec->provider)
		p->bodies++;
	if (rec->state == STORE_SENDING)
		p->sending++;
	p->nr++;
	if (p->stop_after && p->nr == p->stop_after)
		return 7;
	return 0;
}

static void test_recover_after_crash(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item("c1", "api", "production");
	struct pending p = { 0, 0, 0, 1, 0, 0 };
	struct errbuf err = { "" };
	int64_t ids[4];
	size_t nr = 99;
	double now = store_now();

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < 4; i++) {
		char key[8];

		snprintf(key, sizeof(key), "c%d", i);
		it.idem_key = key;
		ids[i] = accept_one(st, &it);
	}
	assert_int_equal(store_mark_sending(st, ids[0], now, &err), 0);
	assert_int_equal(store_mark_sending(st, ids[1], now, &err), 0);
	assert_int_equal(store_mark_sending(st, ids[3], now, &err), 0);
	assert_int_equal(store_mark_delivered(st, ids[3], "C", "m", now, &err), 0);
	/* herald dies here: no delivered for 0 and 1. */
	store_close(st);

	st = open_ok(t.path);
	assert_int_equal(store_load_pending(st, collect_pending, &p, &err), 0);
	assert_int_equal(p.nr, 3);
	assert_int_equal(p.sending, 2);

	assert_int_equal(store_recover(st, &nr, &err), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(state_of(st, ids[0]), STORE_QUEUED);
	assert_int_equal(state_of(st, ids[1]), STORE_QUEUED);
	assert_int_equal(state_of(st, ids[3]), STORE_DELIVERED);

	memset(&p, 0, sizeof(p));
	p.ordered = 1;
	assert_int_equal(store_load_pending(st, collect_pending, &p, &err), 0);
	assert_int_equal(p.nr, 3);
	assert_int_equal(p.sending, 0);
	assert_int_equal(p.bodies, 3);
	assert_true(p.ordered);
	assert_int_equal(p.last, ids[2]);

	assert_int_equal(store_recover(st, NULL, &err), 0);
	store_close(st);
	tmpdb_remove(&t);
}

static void test_load_pending_many(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item *items = xcalloc(STORE_ACCEPT_MAX, sizeof(*items));
	struct store_accepted *out = xcalloc(STORE_ACCEPT_MAX, sizeof(*out));
	struct pending p = { 0, 0, 0, 1, 0, 0 };
	struct errbuf err = { "" };

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < STORE_ACCEPT_MAX; i++)
		items[i] = item(NULL, "api", "production");
	items[10].state = STORE_FAILED;
	assert_int_equal(store_accept(st, items, STORE_ACCEPT_MAX, out, &err), 0);
	assert_int_equal(store_mark_retrying(st, out[20].id, 1, 5, "x", "y", 0, 1,
					     &err), 0);
	store_accepted_array_release(out, STORE_ACCEPT_MAX);

	assert_int_equal(store_load_pending(st, collect_pending, &p, &err), 0);
	assert_int_equal(p.nr, STORE_ACCEPT_MAX - 1);
	assert_true(p.ordered);

	memset(&p, 0, sizeof(p));
	p.stop_after = 600;
	assert_int_equal(store_load_pending(st, collect_pending, &p, &err), 7);
	assert_int_equal(p.nr, 600);

	store_close(st);
	tmpdb_remove(&t);
	free(items);
	free(out);
}

struct walked {
	size_t nr;
	size_t stop_after;	/* 0: never */
	double last_at;
	int64_t last_seq;
	int ordered;
};

static int collect_events(void *arg, const struct store_event *ev)
{
	struct walked *w = arg;

	assert_string_equal(ev->type, "deploy");
	assert_non_null(strstr(ev->body, "\"succeeded\""));
	if (ev->received_at < w->last_at ||
	    (ev->received_at == w->last_at && ev->seq <= w->last_seq))
		w->ordered = 0;
	w->last_at = ev->received_at;
	w->last_seq = ev->seq;
	w->nr++;
	return w->stop_after && w->nr == w->stop_after ? 5 : 0;
}

/* The events received in a range, oldest first, through the index. */
static void test_walk_events(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct walked w = { 0, 0, 0, 0, 1 };
	struct errbuf err = { "" };
	double now;

	(void)state;
	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < 5; i++) {
		struct store_item it = item(NULL, "api", "production");

		accept_one(st, &it);
	}
	now = store_now();
	assert_int_equal(store_walk_events(st, now - 60, now + 60,
					   collect_events, &w, &err), 0);
	assert_int_equal(w.nr, 5);
	assert_true(w.ordered);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_walk_events(st, 0, now - 60, collect_events,
					   &w, &err), 0);
	assert_int_equal(w.nr, 0);
	w.stop_after = 2;
	assert_int_equal(store_walk_events(st, now - 60, now + 60,
					   collect_events, &w, &err), 5);
	assert_int_equal(w.nr, 2);
	assert_int_equal(store_walk_events(st, now, now, collect_events, &w,
					   &err), HERALD_EINVAL);
	store_close(st);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM sqlite_master"
				   " WHERE name = 'events_received_at'"), 1);
	tmpdb_remove(&t);
}

/* What load_pending must return for notification i of test_load_pending_mixed. */
static int mixed_pending(int i)
{
	return i % 3 != 0 && i % 13 != 0;	/* not delivered, not failed */
}

/*
 * A backlog over many chunks with delivered and failed rows in between,
 * whole runs of them across chunk boundaries: every pending row comes back
 * once, in id order, with its body and state.
 */
static void test_load_pending_mixed(void **state)
{
	enum { BATCHES = 5, NR = BATCHES * STORE_ACCEPT_MAX };
	struct tmpdb t;
	struct store *st;
	struct store_item *items = xcalloc(STORE_ACCEPT_MAX, sizeof(*items));
	struct store_accepted *out = xcalloc(STORE_ACCEPT_MAX, sizeof(*out));
	struct store_update *ups = xcalloc(NR, sizeof(*ups));
	int64_t *ids = xcalloc(NR, sizeof(*ids));
	struct pending p = { 0, 0, 0, 1, 0, 0 };
	struct errbuf err = { "" };
	size_t nups = 0, want = 0, want_sending = 0;

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < STORE_ACCEPT_MAX; i++)
		items[i] = item(NULL, "api", "production");
	for (int b = 0; b < BATCHES; b++) {
		assert_int_equal(store_accept(st, items, STORE_ACCEPT_MAX, out,
					      &err), 0);
		for (int i = 0; i < STORE_ACCEPT_MAX; i++)
			ids[b * STORE_ACCEPT_MAX + i] = out[i].id;
		store_accepted_array_release(out, STORE_ACCEPT_MAX);
	}
	for (int i = 0; i < NR; i++) {
		struct store_update *u = &ups[nups++];

		u->id = ids[i];
		u->at = store_now();
		/* 1200..2399 all delivered: more than two chunks of nothing. */
		if (i % 3 == 0 || (i >= 1200 && i < 2400)) {
			u->kind = STORE_UP_DELIVERED;
			u->attempts = 1;
		} else if (i % 13 == 0) {
			u->kind = STORE_UP_FAILED;
			u->state = i % 2 ? STORE_FAILED : STORE_DEAD;
			u->code = "channel_not_found";
			u->msg = "no such channel";
		} else if (i % 7 == 0) {
			u->kind = STORE_UP_SENDING;
		} else if (i % 11 == 0) {
			u->kind = STORE_UP_RETRYING;
			u->attempts = 1;
			u->next_at = u->at + 5;
			u->code = "rate_limited";
			u->msg = "slow down";
		} else {
			nups--;		/* stays queued */
		}
	}
	assert_int_equal(store_apply(st, ups, nups, &err), 0);
	for (int i = 0; i < NR; i++) {
		if (!mixed_pending(i) || (i >= 1200 && i < 2400))
			continue;
		want++;
		if (i % 7 == 0)
			want_sending++;
	}

	assert_int_equal(store_load_pending(st, collect_pending, &p, &err), 0);
	assert_int_equal(p.nr, want);
	assert_int_equal(p.bodies, want);
	assert_int_equal(p.sending, want_sending);
	assert_true(p.ordered);
	/* The last pending one: NR - 1 = 4999 is neither 3k nor 13k. */
	assert_true(mixed_pending(NR - 1));
	assert_int_equal(p.last, ids[NR - 1]);

	store_close(st);
	tmpdb_remove(&t);
	free(ids);
	free(ups);
	free(items);
	free(out);
}

#define CL_THREADS 4

struct cl_worker {
	pthread_t thread;
	struct store *st;
	int n;
	atomic_int *ok_total;
	int64_t *ids;
	size_t nr, alloc;
	int last_rc;
	char last_err[ERRBUF_SIZE];
};

static void *cl_main(void *arg)
{
	struct cl_worker *w = arg;
	struct errbuf err = { "" };
	char key[32];

	for (int i = 0;; i++) {
		struct store_item it;
		struct store_accepted out;

		snprintf(key, sizeof(key), "cl%d-%d", w->n, i);
		it = item(key, "api", "production");
		w->last_rc = store_accept(w->st, &it, 1, &out, &err);
		if (w->last_rc) {
			memcpy(w->last_err, err.msg, sizeof(err.msg));
			break;
		}
		if (w->nr == w->alloc) {
			w->alloc = w->alloc ? 2 * w->alloc : 64;
			w->ids = xrealloc(w->ids, w->alloc * sizeof(*w->ids));
		}
		w->ids[w->nr++] = out.id;
		store_accepted_release(&out);
		atomic_fetch_add(w->ok_total, 1);
	}
	return NULL;
}

static void test_close_while_accepting(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct cl_worker w[CL_THREADS];
	atomic_int ok_total;
	struct store_item it = item("late", "api", "production");
	struct store_accepted out;
	struct errbuf err = { "" };
	size_t stored = 0;

	atomic_init(&ok_total, 0);
	memset(w, 0, sizeof(w));
	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < CL_THREADS; i++) {
		w[i].st = st;
		w[i].n = i;
		w[i].ok_total = &ok_total;
		assert_int_equal(pthread_create(&w[i].thread, NULL, cl_main, &w[i]), 0);
	}
	/* Progress, not time: wait until some accepts went through. */
	while (atomic_load(&ok_total) < 20)
		sched_yield();
	store_shutdown(st);
	for (int i = 0; i < CL_THREADS; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		assert_int_equal(w[i].last_rc, HERALD_EIO);
		assert_non_null(strstr(w[i].last_err, "shutting down"));
	}
	assert_int_equal(store_accept(st, &it, 1, &out, &err), HERALD_EIO);
	assert_non_null(strstr(err.msg, "shutting down"));
	store_close(st);

	/* Every accept that succeeded is on disk. */
	st = open_ok(t.path);
	for (int i = 0; i < CL_THREADS; i++) {
		for (size_t j = 0; j < w[i].nr; j++)
			assert_int_equal(state_of(st, w[i].ids[j]), STORE_QUEUED);
		stored += w[i].nr;
		free(w[i].ids);
	}
	assert_true(stored >= 20);
	assert_int_equal(total(st), stored);
	store_close(st);
	tmpdb_remove(&t);
}

/*
 * After a failed commit the store is not ready until a commit succeeds
 * again: store_ping() then tries one of its own.
 */
static void test_ping_after_failed_commit(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it;
	struct store_accepted out;
	struct errbuf err = { "" };

	tmpdb_make(&t);
	st = open_ok(t.path);
	it = item("k1", "api", "production");
	accept_one(st, &it);
	store_test_fail_commits(st, 2);
	it = item("k2", "api", "production");
	assert_int_equal(store_accept(st, &it, 1, &out, &err), HERALD_EIO);
	assert_int_equal(store_ping(st, &err), HERALD_EIO);
	assert_non_null(strstr(err.msg, "cannot commit"));
	assert_non_null(strstr(err.msg, "full"));
	assert_non_null(strstr(err.msg, t.path));
	/* The second injected failure was the probe's; this one commits. */
	assert_int_equal(store_ping(st, &err), 0);
	assert_int_equal(store_ping(st, &err), 0);
	assert_int_equal(store_accept(st, &it, 1, &out, &err), 0);
	store_accepted_release(&out);
	assert_int_equal(total(st), 2);
	store_close(st);
	tmpdb_remove(&t);
}

static long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : (long)sb.st_size;
}

/* Idle for a second after commits, the store truncates its WAL file. */
static void test_wal_truncated_when_idle(void **state)
{
	struct tmpdb t;
	struct store *st;
	char wal[600], key[32];
	long size = -1;

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < 20; i++) {
		struct store_item it;

		snprintf(key, sizeof(key), "w%d", i);
		it = item(key, "api", "production");
		accept_one(st, &it);
	}
	snprintf(wal, sizeof(wal), "%s-wal", t.path);
	assert_true(file_size(wal) > 0);
	/* Bounded by 30 s for a loaded machine; it takes about one. */
	for (int i = 0; i < 600 && (size = file_size(wal)) != 0; i++)
		usleep(50 * 1000);
	assert_int_equal(size, 0);
	assert_int_equal(total(st), 20);
	store_close(st);
	tmpdb_remove(&t);
}

static void test_ping_and_stats(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_stats stats;
	struct errbuf err = { "" };

	tmpdb_make(&t);
	st = open_ok(t.path);
	assert_int_equal(store_ping(st, &err), 0);
	store_stats(st, &stats);
	assert_int_equal(stats.accept_commits, 0);
	assert_int_equal(stats.apply_commits, 0);
	assert_true(store_now() > 1.6e9);
	store_close(st);
	tmpdb_remove(&t);
}

/* ---- retention ---------------------------------------------------------- */

/* The rows store_prune() reported for table (0 when not listed). */
static uint64_t pruned(const struct store_prune_result *r, const char *table)
{
	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->tables[i].table, table))
			return r->tables[i].rows;
	return 0;
}

static long long attempts_of(const char *path, int64_t id)
{
	char sql[100];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM attempts"
		 " WHERE notification_id = %lld", (long long)id);
	return query_int(path, sql);
}

/*
 * Finished notifications last changed before the cutoff go, with their
 * attempts and events (and so the events' idempotency keys); waiting ones
 * (queued, sending, retrying) stay however old, and so do newer finished
 * ones. Times are relative to now, past which the cutoff lies.
 */
static void test_prune_what_goes(void **state)
{
	static const char *const keys[] = { "k1", "k2", "k3", "k4", "k5", "k6",
					    "k7" };
	struct tmpdb t;
	struct store *st;
	struct store_item it;
	struct store_accepted a;
	struct store_prune_params p = { 0 };
	struct store_prune_result r;
	struct store_update u;
	struct errbuf err = { "" };
	double now = store_now(), old = now + 50, cutoff = now + 100,
	       recent = now + 200;
	int64_t id[7];

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < 7; i++) {
		it = item(keys[i], "api", "production");
		id[i] = accept_one(st, &it);
		assert_int_equal(store_record_attempt(st, id[i], 1, old, "retry",
						      "http_503", 503, 10,
						      &err), 0);
	}
	/* 0 delivered, 1 dead, 2 skipped: old and finished. */
	assert_int_equal(store_mark_delivered(st, id[0], "C1", "1.1", old,
					      &err), 0);
	assert_int_equal(store_mark_failed(st, id[1], STORE_DEAD, "x", "gone",
					   404, old, &err), 0);
	memset(&u, 0, sizeof(u));
	u.kind = STORE_UP_FAILED;
	u.id = id[2];
	u.at = old;
	u.state = STORE_SKIPPED;
	u.code = "skipped";
	u.msg = "nothing to edit";
	assert_int_equal(store_apply(st, &u, 1, &err), 0);
	/* 3 queued, 4 retrying, 5 sending: waiting. 6 delivered recently. */
	assert_int_equal(store_mark_retrying(st, id[4], 2, old + 1, "http_503",
					     "unavailable", 503, old, &err), 0);
	assert_int_equal(store_mark_sending(st, id[5], old, &err), 0);
	assert_int_equal(store_mark_delivered(st, id[6], "C1", "1.2", recent,
					      &err), 0);

	p.before = cutoff;
	p.stories_before = cutoff;
	p.now = cutoff;
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(pruned(&r, "notifications"), 3);
	assert_int_equal(pruned(&r, "attempts"), 3);
	assert_int_equal(pruned(&r, "events"), 3);
	assert_int_equal(r.rows, 9);
	assert_false(r.more);
	assert_true(r.write_ms >= 0);
	for (int i = 0; i < 7; i++) {
		struct store_record rec;
		int gone = i < 3;

		assert_int_equal(store_get(st, id[i], &rec, &err),
				 gone ? HERALD_ENOENT : 0);
		if (!gone)
			store_record_release(&rec);
		assert_int_equal(attempts_of(t.path, id[i]), !gone);
	}
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM events"), 4);

	/* A pruned event's key is free again; a kept one's is not. */
	it = item("k1", "api", "production");
	assert_int_equal(store_accept(st, &it, 1, &a, &err), 0);
	assert_false(a.existing);
	store_accepted_release(&a);
	it = item("k4", "api", "production");
	assert_int_equal(store_accept(st, &it, 1, &a, &err), 0);
	assert_true(a.existing);
	assert_int_equal(a.id, id[3]);
	store_accepted_release(&a);

	/* Nothing more to do: a second call deletes nothing. */
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(r.rows, 0);
	assert_int_equal(pruned(&r, "notifications"), 0);
	assert_true(r.nr >= 5);
	store_close(st);
	tmpdb_remove(&t);
}

/*
 * A digest's outcome in one transaction: its row, its notifications
 * delivered in it, its stories pointing at it; all of it read back.
 */
static void test_digests(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item("d-1", "api", "production");
	struct store_digest d;
	struct store_story story;
	struct store_record rec;
	struct errbuf err = { "" };
	int64_t a, b;
	json_t *j;

	tmpdb_make(&t);
	st = open_ok(t.path);
	a = accept_one(st, &it);
	it = item("d-2", "web", "production");
	b = accept_one(st, &it);
	assert_int_equal(store_digest_get(st, a, &d, &err), HERALD_ENOENT);
	{
		struct store_update ups[] = {
			{ .kind = STORE_UP_DIGEST, .id = a, .at = 100,
			  .provider = "slack", .destination = "#deploys",
			  .channel_id = "C1", .message_id = "111.1",
			  .lines = "[1,2]" },
			{ .kind = STORE_UP_DELIVERED, .id = a, .at = 100,
			  .channel_id = "C1", .message_id = "111.1",
			  .digest_id = a },
			{ .kind = STORE_UP_DELIVERED, .id = b, .at = 100,
			  .channel_id = "C1", .message_id = "111.1",
			  .digest_id = a },
			{ .kind = STORE_UP_STORY, .id = b, .at = 100,
			  .correlation_key = "k", .provider = "slack",
			  .destination = "#deploys", .channel_id = "C1",
			  .message_id = "111.1", .digest_id = a },
		};

		assert_int_equal(store_apply(st, ups, 4, &err), 0);
	}
	assert_int_equal(store_digest_get(st, a, &d, &err), 0);
	assert_int_equal(d.id, a);
	assert_string_equal(d.provider, "slack");
	assert_string_equal(d.destination, "#deploys");
	assert_string_equal(d.channel_id, "C1");
	assert_string_equal(d.message_id, "111.1");
	assert_string_equal(d.lines, "[1,2]");
	assert_true(d.created_at == 100 && d.updated_at == 100);
	store_digest_release(&d);
	assert_int_equal(store_get(st, b, &rec, &err), 0);
	assert_int_equal(rec.digest_id, a);
	assert_int_equal(rec.state, STORE_DELIVERED);
	j = store_record_to_json(&rec);
	assert_int_equal(json_integer_value(json_object_get(j, "digest_id")),
			 a);
	json_decref(j);
	store_record_release(&rec);
	assert_int_equal(store_story_get(st, "k", &story, &err), 0);
	assert_int_equal(story.digest_id, a);
	store_story_release(&story);

	/* An edit of its lines keeps when it was created. */
	{
		struct store_update u = { .kind = STORE_UP_DIGEST, .id = a,
			.at = 200, .provider = "slack",
			.destination = "#deploys", .channel_id = "C1",
			.message_id = "111.1", .lines = "[3,2]" };

		assert_int_equal(store_apply(st, &u, 1, &err), 0);
		u.lines = NULL;
		assert_int_equal(store_apply(st, &u, 1, &err), HERALD_EINVAL);
	}
	assert_int_equal(store_digest_get(st, a, &d, &err), 0);
	assert_string_equal(d.lines, "[3,2]");
	assert_true(d.created_at == 100 && d.updated_at == 200);
	store_digest_release(&d);
	store_close(st);
	tmpdb_remove(&t);
}

/* An event stays while any of its notifications does. */
static void test_prune_event_with_kept_notification(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item("shared", "api", "production");
	struct store_prune_params p = { 0 };
	struct store_prune_result r;
	struct errbuf err = { "" };
	double now = store_now();
	int64_t first, second;

	tmpdb_make(&t);
	st = open_ok(t.path);
	first = accept_one(st, &it);
	store_close(st);
	/* A second destination of the same event, as a route to two has. */
	exec_sql(t.path, "INSERT INTO notifications (event_seq, provider,"
		 " destination, reason, state, created_at, updated_at)"
		 " SELECT event_seq, provider, '#other', reason, 'queued',"
		 " created_at, updated_at FROM notifications");
	second = query_int(t.path, "SELECT max(id) FROM notifications");
	assert_true(second > first);
	st = open_ok(t.path);

	p.before = p.stories_before = p.now = now + 100;
	assert_int_equal(store_mark_delivered(st, first, "C1", "1.1", now + 50,
					      &err), 0);
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(pruned(&r, "notifications"), 1);
	assert_int_equal(pruned(&r, "events"), 0);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM events"), 1);
	assert_int_equal(state_of(st, second), STORE_QUEUED);

	assert_int_equal(store_mark_delivered(st, second, "C2", "1.2", now + 50,
					      &err), 0);
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(pruned(&r, "notifications"), 1);
	assert_int_equal(pruned(&r, "events"), 1);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM events"), 0);
	store_close(st);
	tmpdb_remove(&t);
}

/*
 * Stories go once their message was last written before stories_before
 * (the story window and the retention both past); expired resolutions go.
 */
static void test_prune_stories_and_resolutions(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_story s = { 0 }, got;
	struct store_prune_params p = { 0 };
	struct store_prune_result r;
	struct errbuf err = { "" };
	char *ch = NULL;

	tmpdb_make(&t);
	st = open_ok(t.path);
	s.provider = (char *)"slack";
	s.destination = (char *)"#deploys";
	s.channel_id = (char *)"C1";
	s.message_id = (char *)"1.1";
	assert_int_equal(store_story_put(st, "closed", &s, 100, &err), 0);
	assert_int_equal(store_story_put(st, "open", &s, 300, &err), 0);
	assert_int_equal(store_resolution_put(st, "slack", "@old", "D1", 150,
					      &err), 0);
	assert_int_equal(store_resolution_put(st, "slack", "@new", "D2", 250,
					      &err), 0);
	p.before = 1000;
	p.stories_before = 200;
	p.now = 200;
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(pruned(&r, "stories"), 1);
	assert_int_equal(pruned(&r, "resolutions"), 1);
	assert_int_equal(store_story_get(st, "closed", &got, &err),
			 HERALD_ENOENT);
	assert_int_equal(store_story_get(st, "open", &got, &err), 0);
	store_story_release(&got);
	assert_int_equal(store_resolution_get(st, "slack", "@new", 200, &ch,
					      &err), 0);
	free(ch);
	assert_int_equal(query_int(t.path, "SELECT count(*) FROM resolutions"),
			 1);
	store_close(st);
	tmpdb_remove(&t);
}

/*
 * A database with one notification (delivered at 2000) and what sql adds,
 * pruned once at 1000 (every cutoff): *r says what went. The store is
 * closed again; t->path is left for queries.
 */
static void prune_crafted(struct tmpdb *t, const char *sql,
			  struct store_prune_result *r)
{
	struct store *st;
	struct store_prune_params p = { 0 };
	struct errbuf err = { "" };
	struct store_item it = item("crafted", "api", "production");

	tmpdb_make(t);
	st = open_ok(t->path);
	accept_one(st, &it);
	store_close(st);
	exec_sql(t->path, "UPDATE notifications SET state = 'delivered',"
		 " updated_at = 2000");
	exec_sql(t->path, sql);
	st = open_ok(t->path);
	p.before = p.stories_before = p.now = 1000;
	assert_int_equal(store_prune(st, &p, r, &err), 0);
	assert_int_equal(pruned(r, "notifications"), 0);
	store_close(st);
}

/*
 * A digest goes once it was last written before the stories' cutoff and
 * neither a kept notification went out in it nor a kept story shows it.
 */
static void test_prune_digests(void **state)
{
	struct tmpdb t;
	struct store_prune_result r;

	prune_crafted(&t,
		 "INSERT INTO digests (id, provider, destination, lines,"
		 " created_at, updated_at) VALUES"
		 " (1, 'slack', '#d', '[1]', 50, 100),"
		 " (2, 'slack', '#d', '[1]', 50, 100),"
		 " (3, 'slack', '#d', '[1]', 50, 100),"
		 " (4, 'slack', '#d', '[1]', 50, 5000);"
		 "UPDATE notifications SET digest_id = 2;"
		 "INSERT INTO stories (correlation_key, provider, destination,"
		 " updated_at, digest_id) VALUES ('k', 'slack', '#d', 2000, 3);",
		 &r);
	assert_int_equal(pruned(&r, "digests"), 1);
	/* Digests 2, 3 and 4 are left. */
	assert_int_equal(query_int(t.path, "SELECT sum(1 << id) FROM digests"),
			 (1 << 2) | (1 << 3) | (1 << 4));
	tmpdb_remove(&t);
	(void)state;
}

/*
 * Silences go once they ended before the cutoff (ran out, or were ended
 * early) and no kept notification names them; active ones stay.
 */
static void test_prune_silences(void **state)
{
	struct tmpdb t;
	struct store_prune_result r;

	prune_crafted(&t,
		 "INSERT INTO silences (id, matchers, starts_at, ends_at,"
		 " ended_at, comment, created_at) VALUES"
		 " (1, '{\"app\":\"a\"}', 50, 100, NULL, 'ran out', 50),"
		 " (2, '{\"app\":\"b\"}', 50, 100, NULL, 'still named', 50),"
		 " (3, '{\"app\":\"c\"}', 50, 5000, NULL, 'active', 50),"
		 " (4, '{\"app\":\"d\"}', 50, 4000, 150, 'ended early', 50);"
		 "UPDATE notifications SET state = 'silenced', silence_id = 2;",
		 &r);
	assert_int_equal(pruned(&r, "silences"), 2);
	/* Silences 2 and 3 are left: bits 2 and 3. */
	assert_int_equal(query_int(t.path, "SELECT sum(1 << id) FROM silences"),
			 (1 << 2) | (1 << 3));
	tmpdb_remove(&t);
	(void)state;
}

/*
 * At most a batch of rows per table and call, oldest first, with more set
 * while a table filled its batch; pruner_pass() runs the batches to the
 * end.
 */
static void test_prune_batches(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item(NULL, "api", "production");
	struct store_prune_params p = { 0 };
	struct store_prune_result r;
	struct pruner_options o = { 0 };
	struct pruner_pass ps;
	struct errbuf err = { "" };
	double now = store_now();
	int64_t id[12];

	tmpdb_make(&t);
	st = open_ok(t.path);
	for (int i = 0; i < 12; i++) {
		id[i] = accept_one(st, &it);
		assert_int_equal(store_mark_delivered(st, id[i], "C1", "1.1",
						      now + 10, &err), 0);
	}
	p.before = p.stories_before = p.now = now + 100;
	p.batch = 3;
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(pruned(&r, "notifications"), 3);
	assert_true(r.more);
	assert_int_equal(store_get(st, id[2], &(struct store_record){ 0 },
				   &err), HERALD_ENOENT);
	assert_int_equal(state_of(st, id[3]), STORE_DELIVERED);
	assert_int_equal(store_prune(st, &p, &r, &err), 0);
	assert_int_equal(pruned(&r, "notifications"), 3);
	assert_int_equal(total(st), 6);

	/* The pass: batches of 4 for the 6 left, then nothing to do. */
	o.store = st;
	o.retention_s = 3600;
	o.story_window_s = 86400;
	o.batch = 4;
	assert_int_equal(pruner_pass(&o, now + 3700, &ps, &err), 0);
	assert_int_equal(ps.batches, 2);
	assert_int_equal(ps.total.rows, 12);	/* 6 notifications, 6 events */
	assert_true(ps.longest_batch_ms >= 0);
	assert_int_equal(total(st), 0);
	store_close(st);
	tmpdb_remove(&t);
}

/*
 * The walk stops at the first notification created after the cutoff (a
 * binary search over the ids): those after it are not read, even the odd
 * one that would qualify (a clock stepped back), until later.
 */
static void test_prune_walk_bound(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = item(NULL, "api", "production");
	struct store_prune_params p = { 0 };
	struct store_prune_result r;
	struct errbuf err = { "" };

	for (int young = 0; young <= 13; young += 13) {
		tmpdb_make(&t);
		st = open_ok(t.path);
		for (int i = 0; i < 13; i++)
			accept_one(st, &it);
		store_close(st);
		/* All finished at 50; created at 10, the last young ones at 1000. */
		exec_sql(t.path, "UPDATE notifications SET state = 'delivered',"
			 " updated_at = 50, created_at = 10");
		if (young)
			exec_sql(t.path, "UPDATE notifications SET created_at = 1000"
				 " WHERE id > 9");
		st = open_ok(t.path);
		p.before = p.stories_before = p.now = 100;
		assert_int_equal(store_prune(st, &p, &r, &err), 0);
		assert_int_equal(pruned(&r, "notifications"), young ? 9 : 13);
		assert_int_equal(total(st), young ? 4 : 0);
		store_close(st);
		tmpdb_remove(&t);
	}
}

/* The cutoffs: the retention, another reader's need, the story window. */
static void test_pruner_params(void **state)
{
	struct pruner_options o = { 0 };
	struct store_prune_params p;

	o.retention_s = 3600;
	o.story_window_s = 86400;
	o.batch = 7;
	pruner_params(&o, 1000000, &p);
	assert_true(p.before == 1000000 - 3600);
	assert_true(p.stories_before == 1000000 - 86400);
	assert_true(p.now == 1000000);
	assert_int_equal(p.batch, 7);

	o.retention_s = 30 * 86400;
	o.keep_at_least_s = 22 * 86400;
	pruner_params(&o, 10000000, &p);
	assert_true(p.before == 10000000 - 30 * 86400);
	assert_true(p.stories_before == p.before);
	o.retention_s = 86400;
	pruner_params(&o, 10000000, &p);
	assert_true(p.before == 10000000 - 22 * 86400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_open_migrates),
		cmocka_unit_test(test_migrate_from_1),
		cmocka_unit_test(test_instance_id),
		cmocka_unit_test(test_migrate_from_3),
		cmocka_unit_test(test_open_wal),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_accept_and_get),
		cmocka_unit_test(test_record_json_times),
		cmocka_unit_test(test_list_filters),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_batch_all_or_nothing),
		cmocka_unit_test(test_commit_failure),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_state_transitions),
		cmocka_unit_test(test_requeue_rules),
		cmocka_unit_test(test_stories),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_resolutions),
		cmocka_unit_test(test_recover_after_crash),
		cmocka_unit_test(test_load_pending_many),
		cmocka_unit_test(test_load_pending_mixed),
		cmocka_unit_test(test_walk_events),
		cmocka_unit_test(test_close_while_accepting),
		cmocka_unit_test(test_ping_after_failed_commit),
		cmocka_unit_test(test_wal_truncated_when_idle),
		cmocka_unit_test(test_ping_and_stats),
		cmocka_unit_test(test_prune_what_goes),
		cmocka_unit_test(test_prune_event_with_kept_notification),
		cmocka_unit_test(test_prune_stories_and_resolutions),
		cmocka_unit_test(test_prune_silences),
		cmocka_unit_test(test_prune_digests),
		cmocka_unit_test(test_prune_batches),
		cmocka_unit_test(test_prune_walk_bound),
		cmocka_unit_test(test_pruner_params),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
