/*
 * store_sqlite_schema: the SQL text of the SQLite store.
 *
 * The schema as an ordered array of migrations (PRAGMA user_version counts
 * how many have run; docs/storage.md describes the tables), and every
 * statement store_sqlite.c runs on it. No SQLite calls here.
 */
#include "daemon/store_sqlite_internal.h"
#include "lib/strbuf.h"

/* ---- schema ----------------------------------------------------------- */

const char *const sqlite_store__migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY,"
	"  idem_key TEXT UNIQUE CHECK (idem_key IS NULL OR length(idem_key) <= 1024),"
	"  type TEXT NOT NULL,"
	"  status TEXT,"
	"  app TEXT,"
	"  env TEXT,"
	"  body TEXT NOT NULL,"
	"  received_at REAL NOT NULL"
	");"
	"CREATE INDEX events_app ON events(app);"
	"CREATE INDEX events_env ON events(env);"
	"CREATE TABLE notifications ("
	"  id INTEGER PRIMARY KEY,"
	"  event_seq INTEGER NOT NULL REFERENCES events(seq),"
	"  provider TEXT NOT NULL,"
	"  destination TEXT,"
	"  dest_kind TEXT,"
	"  reason TEXT NOT NULL,"
	"  correlation_key TEXT,"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'sending',"
	"    'delivered', 'retrying', 'failed', 'dead')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at REAL,"
	"  last_error_code TEXT,"
	"  last_error TEXT,"
	"  http_status INTEGER,"
	"  channel_id TEXT,"
	"  message_id TEXT,"
	"  created_at REAL NOT NULL,"
	"  updated_at REAL NOT NULL,"
	"  delivered_at REAL"
	");"
	"CREATE INDEX notifications_event ON notifications(event_seq);"
	"CREATE INDEX notifications_state ON notifications(state, id);"
	"CREATE INDEX notifications_correlation ON notifications(correlation_key)"
	"  WHERE correlation_key IS NOT NULL;"
	"CREATE TABLE stories ("
	"  correlation_key TEXT PRIMARY KEY,"
	"  provider TEXT NOT NULL,"
	"  destination TEXT NOT NULL,"
	"  channel_id TEXT,"
	"  message_id TEXT,"
	"  first_notification_id INTEGER,"
	"  updated_at REAL NOT NULL"
	");"
	"CREATE TABLE resolutions ("
	"  provider TEXT NOT NULL,"
	"  destination TEXT NOT NULL,"
	"  channel_id TEXT NOT NULL,"
	"  expires_at REAL NOT NULL,"
	"  PRIMARY KEY (provider, destination)"
	");"
	"CREATE TABLE attempts ("
	"  notification_id INTEGER NOT NULL REFERENCES notifications(id),"
	"  attempt INTEGER NOT NULL,"
	"  at REAL NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  code TEXT,"
	"  http_status INTEGER,"
	"  duration_ms INTEGER"
	");"
	"CREATE INDEX attempts_notification ON attempts(notification_id, attempt);",
	/*
	 * 2: nothing reads notifications by correlation key (stories do),
	 * and a story is one B-tree instead of a table and its key's index:
	 * two fewer index writes in random places per notification.
	 */
	"DROP INDEX notifications_correlation;"
	"CREATE TABLE stories_v2 ("
	"  correlation_key TEXT PRIMARY KEY,"
	"  provider TEXT NOT NULL,"
	"  destination TEXT NOT NULL,"
	"  channel_id TEXT,"
	"  message_id TEXT,"
	"  first_notification_id INTEGER,"
	"  updated_at REAL NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO stories_v2 SELECT correlation_key, provider, destination,"
	"  channel_id, message_id, first_notification_id, updated_at"
	"  FROM stories WHERE correlation_key IS NOT NULL;"
	"DROP TABLE stories;"
	"ALTER TABLE stories_v2 RENAME TO stories;",
	/*
	 * 3: the states the story rules settle in without a request
	 * (superseded, unchanged, skipped), which the state CHECK must allow
	 * (SQLite cannot alter a CHECK: the table is rebuilt), and what a
	 * story's message shows: the time and status rank of its latest
	 * event, and a hash of the message.
	 */
	"CREATE TABLE notifications_v3 ("
	"  id INTEGER PRIMARY KEY,"
	"  event_seq INTEGER NOT NULL REFERENCES events(seq),"
	"  provider TEXT NOT NULL,"
	"  destination TEXT,"
	"  dest_kind TEXT,"
	"  reason TEXT NOT NULL,"
	"  correlation_key TEXT,"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'sending',"
	"    'delivered', 'retrying', 'failed', 'dead', 'superseded',"
	"    'unchanged', 'skipped')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at REAL,"
	"  last_error_code TEXT,"
	"  last_error TEXT,"
	"  http_status INTEGER,"
	"  channel_id TEXT,"
	"  message_id TEXT,"
	"  created_at REAL NOT NULL,"
	"  updated_at REAL NOT NULL,"
	"  delivered_at REAL"
	");"
	"INSERT INTO notifications_v3 SELECT * FROM notifications;"
	"DROP TABLE notifications;"
	"ALTER TABLE notifications_v3 RENAME TO notifications;"
	"CREATE INDEX notifications_event ON notifications(event_seq);"
	"CREATE INDEX notifications_state ON notifications(state, id);"
	"ALTER TABLE stories ADD COLUMN event_at REAL;"
	"ALTER TABLE stories ADD COLUMN rank INTEGER;"
	"ALTER TABLE stories ADD COLUMN body_hash TEXT;",
	/*
	 * 4: facts about the database itself, and the first of them: a
	 * random ID of its own, which Discord nonces include so that two
	 * databases never send the same nonce for the same notification ID.
	 * (IF NOT EXISTS and OR IGNORE: the ID is never replaced.)
	 */
	"CREATE TABLE IF NOT EXISTS meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta (key, value)"
	"  VALUES ('instance_id', lower(hex(randomblob(16))));",
	/*
	 * 5: keys made from an Idempotency-Key header begin with
	 * STORE_HEADER_KEY_PREFIX (a space), which no event id has. Before,
	 * they were the header as it was: those are the stored keys that
	 * are not the id in their event's body (an event with an id was
	 * always keyed by it). A body that is not JSON keeps its key.
	 */
	"UPDATE events SET idem_key = ' ' || idem_key"
	"  WHERE idem_key IS NOT NULL AND substr(idem_key, 1, 1) <> ' '"
	"  AND json_valid(body) AND json_extract(body, '$.id') IS NOT idem_key;",
	/*
	 * 6: silences, and the state silenced with the silence that held
	 * the notification (SQLite cannot alter a CHECK: the table is
	 * rebuilt, naming its columns, as in 3). No foreign key to
	 * silences: pruning may delete a silence before its notifications.
	 */
	"CREATE TABLE silences ("
	"  id INTEGER PRIMARY KEY,"
	"  matchers TEXT NOT NULL,"
	"  starts_at REAL NOT NULL,"
	"  ends_at REAL NOT NULL,"
	"  ended_at REAL,"
	"  comment TEXT NOT NULL,"
	"  created_by TEXT,"
	"  created_at REAL NOT NULL"
	");"
	"CREATE INDEX silences_ends ON silences(ends_at);"
	"CREATE TABLE notifications_v6 ("
	"  id INTEGER PRIMARY KEY,"
	"  event_seq INTEGER NOT NULL REFERENCES events(seq),"
	"  provider TEXT NOT NULL,"
	"  destination TEXT,"
	"  dest_kind TEXT,"
	"  reason TEXT NOT NULL,"
	"  correlation_key TEXT,"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'sending',"
	"    'delivered', 'retrying', 'failed', 'dead', 'superseded',"
	"    'unchanged', 'skipped', 'silenced')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at REAL,"
	"  last_error_code TEXT,"
	"  last_error TEXT,"
	"  http_status INTEGER,"
	"  channel_id TEXT,"
	"  message_id TEXT,"
	"  created_at REAL NOT NULL,"
	"  updated_at REAL NOT NULL,"
	"  delivered_at REAL,"
	"  silence_id INTEGER"
	");"
	"INSERT INTO notifications_v6 (id, event_seq, provider, destination,"
	"  dest_kind, reason, correlation_key, state, attempts, next_attempt_at,"
	"  last_error_code, last_error, http_status, channel_id, message_id,"
	"  created_at, updated_at, delivered_at)"
	"  SELECT id, event_seq, provider, destination, dest_kind, reason,"
	"  correlation_key, state, attempts, next_attempt_at, last_error_code,"
	"  last_error, http_status, channel_id, message_id, created_at,"
	"  updated_at, delivered_at FROM notifications;"
	"DROP TABLE notifications;"
	"ALTER TABLE notifications_v6 RENAME TO notifications;"
	"CREATE INDEX notifications_event ON notifications(event_seq);"
	"CREATE INDEX notifications_state ON notifications(state, id);"
	"CREATE INDEX notifications_silence ON notifications(silence_id)"
	"  WHERE silence_id IS NOT NULL;",
	/*
	 * 7: the events received in a time range, for the weekly summary
	 * (store_walk_events()).
	 */
	"CREATE INDEX IF NOT EXISTS events_received_at ON events(received_at);",
	/*
	 * 8: digests (docs/delivery.md, "Digests"): one message listing
	 * several notifications of a destination under a storm. A digest's
	 * id is its first notification's; lines is a JSON array of the
	 * notification ids it shows. Each notification, and each story
	 * whose message is a digest, points at it.
	 */
	"CREATE TABLE digests ("
	"  id INTEGER PRIMARY KEY,"
	"  provider TEXT NOT NULL,"
	"  destination TEXT NOT NULL,"
	"  channel_id TEXT,"
	"  message_id TEXT,"
	"  lines TEXT NOT NULL,"
	"  created_at REAL NOT NULL,"
	"  updated_at REAL NOT NULL"
	");"
	"ALTER TABLE notifications ADD COLUMN digest_id INTEGER;"
	"ALTER TABLE stories ADD COLUMN digest_id INTEGER;"
	"CREATE INDEX notifications_digest ON notifications(digest_id)"
	"  WHERE digest_id IS NOT NULL;"
	"CREATE INDEX stories_digest ON stories(digest_id)"
	"  WHERE digest_id IS NOT NULL;",
};

_Static_assert(sizeof(sqlite_store__migrations) /
	       sizeof(*sqlite_store__migrations) == STORE_SCHEMA_VERSION,
	       "STORE_SCHEMA_VERSION must count the migrations");

/* ---- statements ------------------------------------------------------- */

const char sqlite_store__sql_event_by_key[] =
	"SELECT seq FROM events WHERE idem_key = ?1";
const char sqlite_store__sql_first_notification[] =
	"SELECT id, state, destination, dest_kind, reason FROM notifications"
	" WHERE event_seq = ?1 ORDER BY id LIMIT 1";
const char sqlite_store__sql_insert_event[] =
	"INSERT INTO events (idem_key, type, status, app, env, body, received_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const char sqlite_store__sql_insert_notification[] =
	"INSERT INTO notifications (event_seq, provider, destination, dest_kind,"
	" reason, correlation_key, state, last_error_code, last_error,"
	" created_at, updated_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";
const char sqlite_store__sql_get[] =
	"SELECT " RECORD_COLUMNS ", e.body" RECORD_FROM " WHERE n.id = ?1";
/*
 * The unary + keeps SQLite off the (state, id) index: three states cannot
 * give id order, so each chunk would sort every pending row (quadratic in
 * a big backlog). Walking the rowid from ?1 is in id order and stops after
 * ?2 rows; delivered rows in between are skipped.
 */
const char sqlite_store__sql_pending[] =
	"SELECT " RECORD_COLUMNS ", e.body" RECORD_FROM
	" WHERE n.id > ?1 AND +n.state IN ('queued', 'sending', 'retrying')"
	" ORDER BY n.id LIMIT ?2";
const char sqlite_store__sql_events_between[] =
	"SELECT seq, type, body, received_at FROM events"
	" WHERE received_at >= ?1 AND received_at < ?2"
	" ORDER BY received_at, seq";
const char sqlite_store__sql_recover[] =
	"UPDATE notifications SET state = 'queued', updated_at = ?1"
	" WHERE state = 'sending'";
const char sqlite_store__sql_counts[] =
	"SELECT state, count(*) FROM notifications GROUP BY state";
const char sqlite_store__sql_state_of[] =
	"SELECT state FROM notifications WHERE id = ?1";
const char sqlite_store__sql_requeue[] =
	"UPDATE notifications SET state = 'queued', attempts = 0,"
	" next_attempt_at = NULL, last_error_code = NULL, last_error = NULL,"
	" http_status = NULL, updated_at = ?2 WHERE id = ?1";
const char sqlite_store__sql_up_sending[] =
	"UPDATE notifications SET state = 'sending', updated_at = ?2"
	" WHERE id = ?1";
const char sqlite_store__sql_up_delivered[] =
	"UPDATE notifications SET state = 'delivered', channel_id = ?3,"
	" message_id = ?4, delivered_at = ?2, updated_at = ?2,"
	" attempts = CASE WHEN ?5 > 0 THEN ?5 ELSE attempts END,"
	" next_attempt_at = NULL, last_error_code = NULL, last_error = NULL,"
	" http_status = ?6, digest_id = ?7 WHERE id = ?1";
const char sqlite_store__sql_up_problem[] =
	"UPDATE notifications SET state = ?3,"
	" attempts = CASE WHEN ?4 > 0 THEN ?4 ELSE attempts END,"
	" next_attempt_at = ?5, last_error_code = ?6, last_error = ?7,"
	" http_status = ?8, updated_at = ?2 WHERE id = ?1";
const char sqlite_store__sql_up_attempt[] =
	"INSERT INTO attempts (notification_id, attempt, at, outcome, code,"
	" http_status, duration_ms)"
	" SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7"
	" WHERE EXISTS (SELECT 1 FROM notifications WHERE id = ?1)";
const char sqlite_store__sql_up_story[] =
	"INSERT INTO stories (correlation_key, provider, destination, channel_id,"
	" message_id, first_notification_id, updated_at, event_at, rank,"
	" body_hash, digest_id)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
	" ON CONFLICT (correlation_key) DO UPDATE SET"
	" provider = excluded.provider, destination = excluded.destination,"
	" channel_id = excluded.channel_id, message_id = excluded.message_id,"
	" first_notification_id = coalesce(stories.first_notification_id,"
	"   excluded.first_notification_id),"
	" updated_at = excluded.updated_at, event_at = excluded.event_at,"
	" rank = excluded.rank, body_hash = excluded.body_hash,"
	" digest_id = excluded.digest_id";
const char sqlite_store__sql_story_get[] =
	"SELECT provider, destination, channel_id, message_id,"
	" first_notification_id, updated_at, event_at, rank, body_hash,"
	" digest_id FROM stories"
	" WHERE correlation_key = ?1";
const char sqlite_store__sql_up_digest[] =
	"INSERT INTO digests (id, provider, destination, channel_id, message_id,"
	" lines, created_at, updated_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
	" ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id,"
	" message_id = excluded.message_id, lines = excluded.lines,"
	" updated_at = excluded.updated_at";
const char sqlite_store__sql_digest_get[] =
	"SELECT provider, destination, channel_id, message_id, lines,"
	" created_at, updated_at FROM digests WHERE id = ?1";
const char sqlite_store__sql_resolution_get[] =
	"SELECT channel_id FROM resolutions"
	" WHERE provider = ?1 AND destination = ?2 AND expires_at > ?3";
const char sqlite_store__sql_resolution_put[] =
	"INSERT OR REPLACE INTO resolutions (provider, destination, channel_id,"
	" expires_at) VALUES (?1, ?2, ?3, ?4)";
const char sqlite_store__sql_up_silenced[] =
	"UPDATE notifications SET state = 'silenced', silence_id = ?3,"
	" attempts = CASE WHEN ?4 > 0 THEN ?4 ELSE attempts END,"
	" next_attempt_at = NULL, last_error_code = ?5, last_error = ?6,"
	" http_status = NULL, updated_at = ?2 WHERE id = ?1";
const char sqlite_store__sql_silence_add[] =
	"INSERT INTO silences (matchers, starts_at, ends_at, ended_at, comment,"
	" created_by, created_at) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)";
#define SILENCE_COLUMNS \
	"SELECT id, matchers, starts_at, ends_at, ended_at, comment," \
	" created_by, created_at, (SELECT count(*) FROM notifications n" \
	" WHERE n.silence_id = silences.id) FROM silences"
const char sqlite_store__sql_silence_get[] = SILENCE_COLUMNS " WHERE id = ?1";
/* In effect at or after ?1: its end (early or not) is not before it. */
const char sqlite_store__sql_silence_list[] = SILENCE_COLUMNS
	" WHERE coalesce(min(ended_at, ends_at), ends_at) >= ?1"
	" ORDER BY id DESC";
const char sqlite_store__sql_silence_end[] =
	"UPDATE silences SET ended_at = ?2"
	" WHERE id = ?1 AND ended_at IS NULL AND ends_at > ?2";
const char sqlite_store__sql_instance_id[] =
	"SELECT value FROM meta WHERE key = 'instance_id'";

void sqlite_store__list_sql(struct strbuf *sql, const struct store_filter *f)
{
	strbuf_addstr(sql, "SELECT " RECORD_COLUMNS RECORD_FROM " WHERE 1");
	if (f->state >= 0)
		strbuf_addstr(sql, " AND n.state = ?");
	if (f->app)
		strbuf_addstr(sql, " AND e.app = ?");
	if (f->env)
		strbuf_addstr(sql, " AND e.env = ?");
	if (f->before > 0)
		strbuf_addstr(sql, " AND n.id < ?");
	strbuf_addstr(sql, " ORDER BY n.id DESC LIMIT ?");
}

/* ---- retention -------------------------------------------------------- */

/*
 * The waiting states are the ones never pruned; every other state, also
 * one added later, is finished. The first id created at or after the
 * cutoff (?5) bounds the walk, so a batch reads the old rows only, not the
 * whole table.
 */
const struct sqlite_prune_step sqlite_store__prune_steps[] = {
	{ NULL, 1, "PRAGMA temp_store = MEMORY" },
	{ NULL, 1, "CREATE TEMP TABLE IF NOT EXISTS prune_notifications ("
		   "  id INTEGER PRIMARY KEY, event_seq INTEGER NOT NULL)" },
	{ NULL, 1, "CREATE TEMP TABLE IF NOT EXISTS prune_stories ("
		   "  correlation_key TEXT PRIMARY KEY)" },
	/* Stories have no index on their age: read outside the lock. */
	{ NULL, 1, "DELETE FROM temp.prune_stories" },
	{ NULL, 1, "INSERT INTO temp.prune_stories"
		   " SELECT correlation_key FROM stories WHERE updated_at < ?3"
		   " LIMIT ?2" },
	{ NULL, 0, "DELETE FROM temp.prune_notifications" },
	{ NULL, 0, "INSERT INTO temp.prune_notifications (id, event_seq)"
		   " SELECT id, event_seq FROM notifications WHERE id < ?5"
		   " AND +state NOT IN ('queued', 'sending', 'retrying')"
		   " AND updated_at < ?1 ORDER BY id LIMIT ?2" },
	{ "attempts", 0, "DELETE FROM attempts WHERE notification_id IN"
			 " (SELECT id FROM temp.prune_notifications)" },
	{ "notifications", 0, "DELETE FROM notifications WHERE id IN"
			      " (SELECT id FROM temp.prune_notifications)" },
	{ "events", 0, "DELETE FROM events WHERE seq IN"
		       " (SELECT event_seq FROM temp.prune_notifications)"
		       " AND NOT EXISTS (SELECT 1 FROM notifications n"
		       "   WHERE n.event_seq = events.seq)" },
	/* Checked again: the story may have been written since. */
	{ "stories", 0, "DELETE FROM stories WHERE correlation_key IN"
			" (SELECT correlation_key FROM temp.prune_stories)"
			" AND updated_at < ?3" },
	/*
	 * Silences that ended before the cutoff and hold back no notification
	 * that is still kept (the rows these steps deleted are gone).
	 */
	{ "silences", 0, "DELETE FROM silences WHERE id IN"
			 " (SELECT s.id FROM silences s"
			 "  WHERE coalesce(s.ended_at, s.ends_at) < ?1"
			 "  AND NOT EXISTS (SELECT 1 FROM notifications n"
			 "    WHERE n.silence_id = s.id) LIMIT ?2)" },
	/* Digests no kept notification went out in and no story shows. */
	{ "digests", 0, "DELETE FROM digests WHERE id IN"
			" (SELECT d.id FROM digests d WHERE d.updated_at < ?3"
			"  AND NOT EXISTS (SELECT 1 FROM notifications n"
			"    WHERE n.digest_id = d.id)"
			"  AND NOT EXISTS (SELECT 1 FROM stories s"
			"    WHERE s.digest_id = d.id) LIMIT ?2)" },
	{ "resolutions", 0, "DELETE FROM resolutions WHERE rowid IN"
			    " (SELECT rowid FROM resolutions"
			    "  WHERE expires_at < ?4 LIMIT ?2)" },
	{ NULL, 0, NULL },
};

const char sqlite_store__sql_prune_min_id[] =
	"SELECT min(id) FROM notifications";
const char sqlite_store__sql_prune_max_id[] =
	"SELECT max(id) FROM notifications";
const char sqlite_store__sql_prune_created_at[] =
	"SELECT created_at FROM notifications WHERE id >= ?1 ORDER BY id LIMIT 1";
