/*
 * Unit tests for the store's silences: adding, reading, listing (active
 * and recently ended), ending early, surviving a reopen, the silenced
 * state of a notification with its silence, the migration from version 5,
 * and store_silence_peek() on a database opened read-only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/silence.h"
#include "daemon/store_internal.h"
#include "lib/strbuf.h"
#include "tmpdb.h"

/* A silence of app (and env, may be NULL) from now for secs. */
static struct silence make(const char *app, const char *env, double now,
			   double secs)
{
	struct silence s = SILENCE_INIT;
	struct errbuf err;
	char m[64];

	snprintf(m, sizeof(m), "app=%s", app);
	assert_int_equal(silence_set_matcher(&s, m, &err), 0);
	if (env) {
		snprintf(m, sizeof(m), "env=%s", env);
		assert_int_equal(silence_set_matcher(&s, m, &err), 0);
	}
	s.starts_at = s.created_at = now;
	s.ends_at = now + secs;
	s.comment = xstrdup("maintenance");
	s.created_by = xstrdup("jane");
	return s;
}

static int64_t add_ok(struct store *st, struct silence *s)
{
	struct errbuf err = { "" };

	if (store_silence_add(st, s, &err))
		fail_msg("store_silence_add: %s", err.msg);
	assert_true(s->id > 0);
	return s->id;
}

static void test_add_get_list_end(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct silence a, b, c, got, *list;
	struct errbuf err;
	double now = store_now();
	size_t nr;

	tmpdb_make(&t);
	st = open_ok(t.path);
	a = make("api", "staging", now, 7200);
	b = make("web", NULL, now - 7200, 3600);	/* ran out an hour ago */
	c = make("db", NULL, now, 600);
	add_ok(st, &a);
	add_ok(st, &b);
	add_ok(st, &c);

	assert_int_equal(store_silence_get(st, a.id, &got, &err), 0);
	assert_int_equal(got.id, a.id);
	assert_string_equal(got.match[SILENCE_APP], "api");
	assert_string_equal(got.match[SILENCE_ENV], "staging");
	assert_null(got.match[SILENCE_TYPE]);
	assert_string_equal(got.comment, "maintenance");
	assert_string_equal(got.created_by, "jane");
	assert_true(got.ends_at > now + 7199 && got.ends_at < now + 7201);
	assert_true(got.ended_at == 0);
	silence_release(&got);
	assert_int_equal(store_silence_get(st, 999, &got, &err), HERALD_ENOENT);
	assert_non_null(strstr(err.msg, "silence 999 does not exist"));

	/* Active now: a and c, newest first. */
	assert_int_equal(store_silence_list(st, now, &list, &nr, &err), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(list[0].id, c.id);
	assert_int_equal(list[1].id, a.id);
	silence_array_free(list, nr);
	/* Within the last day: b too. */
	assert_int_equal(store_silence_list(st, now - 86400, &list, &nr, &err),
			 0);
	assert_int_equal(nr, 3);
	silence_array_free(list, nr);

	/* Ending early: once; then EDUP; unknown: ENOENT. */
	assert_int_equal(store_silence_end(st, c.id, now + 1, &err), 0);
	assert_int_equal(store_silence_end(st, c.id, now + 2, &err),
			 HERALD_EDUP);
	assert_non_null(strstr(err.msg, "already ended"));
	assert_int_equal(store_silence_end(st, b.id, now, &err), HERALD_EDUP);
	assert_int_equal(store_silence_end(st, 999, now, &err), HERALD_ENOENT);
	assert_int_equal(store_silence_get(st, c.id, &got, &err), 0);
	assert_true(got.ended_at > now + 0.5 && got.ended_at < now + 1.5);
	assert_false(silence_is_active(&got, now + 1));
	silence_release(&got);
	assert_int_equal(store_silence_list(st, now + 2, &list, &nr, &err), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(list[0].id, a.id);
	silence_array_free(list, nr);

	/* Nothing is stored without matchers, comment and end. */
	silence_release(&c);
	assert_int_equal(store_silence_add(st, &c, &err), HERALD_EINVAL);
	store_close(st);

	/* They survive a restart. */
	st = open_ok(t.path);
	assert_int_equal(store_silence_list(st, now + 2, &list, &nr, &err), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(list[0].id, a.id);
	silence_array_free(list, nr);
	store_close(st);

	/* And herald route reads them from the file, read-only. */
	assert_int_equal(store_silence_peek(t.path, now + 2, &list, &nr, &err),
			 0);
	assert_int_equal(nr, 1);
	assert_string_equal(list[0].match[SILENCE_APP], "api");
	silence_array_free(list, nr);

	silence_release(&a);
	silence_release(&b);
	tmpdb_remove(&t);
}

static void test_peek(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct silence a, *list;
	struct errbuf err;
	double now = store_now();
	size_t nr;

	tmpdb_make(&t);
	assert_int_equal(store_silence_peek(t.path, now, &list, &nr, &err),
			 HERALD_ENOENT);
	/* peek never creates the file. */
	assert_int_equal(access(t.path, F_OK), -1);
	assert_int_equal(store_silence_peek("postgres://x/y", now, &list, &nr,
					    &err), HERALD_ENOENT);

	/* While herald has it open. */
	st = open_ok(t.path);
	a = make("api", NULL, now, 60);
	add_ok(st, &a);
	assert_int_equal(store_silence_peek(t.path, now, &list, &nr, &err), 0);
	assert_int_equal(nr, 1);
	silence_array_free(list, nr);
	store_close(st);

	/* A database from before silences: no table, nothing to say. */
	exec_sql(t.path, "DROP TABLE silences");
	assert_int_equal(store_silence_peek(t.path, now, &list, &nr, &err),
			 HERALD_ENOENT);
	assert_null(list);
	silence_release(&a);
	tmpdb_remove(&t);
}

static void test_silenced_state(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = {
		.type = "alert", .status = "firing", .app = "api",
		.env = "staging", .body = "{\"type\":\"alert\"}",
		.provider = "slack", .destination = "#ops",
		.dest_kind = "channel", .reason = "default channel",
		.state = STORE_QUEUED,
	};
	struct store_accepted acc;
	struct store_record rec;
	struct store_update u = { .kind = STORE_UP_FAILED };
	struct silence s;
	struct errbuf err;
	uint64_t counts[STORE_STATE_NR];
	enum store_state parsed;
	int64_t id;
	json_t *j;

	assert_string_equal(store_state_name(STORE_SILENCED), "silenced");
	assert_int_equal(store_state_parse("silenced", &parsed), 0);
	assert_int_equal(parsed, STORE_SILENCED);

	tmpdb_make(&t);
	st = open_ok(t.path);
	s = make("api", NULL, store_now(), 60);
	add_ok(st, &s);
	assert_int_equal(store_accept(st, &it, 1, &acc, &err), 0);
	id = acc.id;
	store_accepted_release(&acc);

	u.id = id;
	u.at = store_now();
	u.state = STORE_SILENCED;
	u.code = "silenced";
	u.msg = "silenced by silence 1 (\"maintenance\")";
	/* A silenced notification names its silence. */
	assert_int_equal(store_apply(st, &u, 1, &err), HERALD_EINVAL);
	u.silence_id = s.id;
	assert_int_equal(store_apply(st, &u, 1, &err), 0);

	assert_int_equal(store_get(st, id, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_SILENCED);
	assert_int_equal(rec.silence_id, s.id);
	assert_string_equal(rec.last_error_code, "silenced");
	j = store_record_to_json(&rec);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
			    "silenced");
	assert_int_equal(json_integer_value(json_object_get(j, "silence_id")),
			 s.id);
	json_decref(j);
	store_record_release(&rec);

	assert_int_equal(store_counts(st, counts, &err), 0);
	assert_int_equal(counts[STORE_SILENCED], 1);
	/* The silence counts what it held back. */
	{
		struct silence got;

		assert_int_equal(store_silence_get(st, s.id, &got, &err), 0);
		assert_int_equal(got.silenced, 1);
		silence_release(&got);
	}
	/* Settled: not pending, not retried. */
	assert_int_equal(store_requeue(st, id, &err), HERALD_EINVAL);

	/* Others show silence_id null. */
	it.idem_key = "second";
	assert_int_equal(store_accept(st, &it, 1, &acc, &err), 0);
	id = acc.id;
	store_accepted_release(&acc);
	assert_int_equal(store_get(st, id, &rec, &err), 0);
	j = store_record_to_json(&rec);
	assert_true(json_is_null(json_object_get(j, "silence_id")));
	json_decref(j);
	store_record_release(&rec);
	store_close(st);
	silence_release(&s);
	tmpdb_remove(&t);
}

/* A version 5 database keeps its notifications and gains silences. */
static void test_migrate_from_5(void **state)
{
	struct tmpdb t;
	struct store *st;
	struct store_item it = {
		.type = "deploy", .status = "succeeded", .app = "api",
		.env = "prod", .body = "{\"type\":\"deploy\"}",
		.provider = "slack", .destination = "#deploys",
		.dest_kind = "channel", .reason = "default channel",
		.state = STORE_QUEUED,
	};
	struct store_accepted acc;
	struct store_record rec;
	struct silence s;
	struct errbuf err;
	int64_t id;

	tmpdb_make(&t);
	st = open_ok(t.path);
	assert_int_equal(store_accept(st, &it, 1, &acc, &err), 0);
	id = acc.id;
	store_accepted_release(&acc);
	assert_int_equal(store_mark_delivered(st, id, "C1", "1.2", 100,
					      &err), 0);
	store_close(st);
	exec_sql(t.path, "DROP INDEX notifications_digest;"	/* migration 8 */
		 "DROP INDEX stories_digest;"
		 "DROP TABLE digests;"
		 "ALTER TABLE notifications DROP COLUMN digest_id;"
		 "ALTER TABLE stories DROP COLUMN digest_id;"
		 "DROP TABLE silences;"
		 "DROP INDEX notifications_silence;"
		 "ALTER TABLE notifications DROP COLUMN silence_id;"
		 "PRAGMA user_version = 5;");

	st = open_ok(t.path);
	assert_int_equal(store_get(st, id, &rec, &err), 0);
	assert_int_equal(rec.state, STORE_DELIVERED);
	assert_string_equal(rec.message_id, "1.2");
	assert_int_equal(rec.silence_id, 0);
	store_record_release(&rec);
	s = make("api", NULL, store_now(), 60);
	add_ok(st, &s);
	store_close(st);
	silence_release(&s);
	tmpdb_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_list_end),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_silenced_state),
		cmocka_unit_test(test_migrate_from_5),
	};

	return cmocka_run_group_tests_name("store_silences", tests, NULL, NULL);
}
