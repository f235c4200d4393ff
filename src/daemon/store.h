/*
 * store: herald's durable outbox of events and their notifications.
 *
 * Everything the daemon must not lose lives here: accepted events, one
 * notification per event and destination with its delivery state, the
 * delivery attempts, the platform message each story edits ("stories"),
 * and cached name/DM-channel resolutions; store_prune() deletes what the
 * retention no longer keeps. An event is acknowledged (202)
 * only after store_accept() has returned 0, which means its transaction
 * was committed with synchronous=FULL (fsynced). docs/storage.md has the
 * schema and the guarantees.
 *
 * struct store is opaque: an interface whose implementations (backends)
 * store_internal.h describes. SQLite (store_sqlite*.c) is the one backend
 * today; PostgreSQL will slot in behind the same interface.
 *
 * Threads. Every function may be called from any thread; each role has its
 * own database connection (and lock), so they do not wait on each other
 * beyond SQLite's single-writer lock:
 *   - store_accept(): any number of API threads at once. Calls are batched
 *     by a committer thread into one transaction per round (group commit).
 *   - engine functions (store_apply(), store_load_pending(),
 *     store_recover(), stories, resolutions): meant for the one engine
 *     thread.
 *   - read functions (store_get(), store_list(), store_counts(),
 *     store_ping(), store_requeue()): API threads; serialized on one
 *     connection.
 *   - store_prune(): the one pruner thread (retention), on a connection
 *     of its own.
 * store_shutdown() and store_close() may race with store_accept(); no call
 * may start after store_close() has begun to free the store, so stop the
 * callers (httpd) between the two.
 *
 * Ownership. Input strings are the caller's and only read during the call.
 * Output structs own their strings: release them with the matching
 * _release()/_array_free(). Records given to a store_record_fn callback
 * belong to the store and are valid during that call only.
 *
 * Times are seconds since the Unix epoch (UTC) as doubles; 0 means unset.
 */
#ifndef HERALD_STORE_H
#define HERALD_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"

struct silence;

/* How many items one store_accept() call takes at most. */
#define STORE_ACCEPT_MAX 1000
#define STORE_LIST_DEFAULT 50
#define STORE_LIST_MAX 1000
/* Longest idempotency key the store keeps (bytes). */
#define STORE_IDEM_KEY_MAX 1024
/*
 * The first character of an idempotency key made from a request's
 * Idempotency-Key header, which no event id has (ids are printable ASCII
 * without spaces): the two kinds of key never match each other.
 */
#define STORE_HEADER_KEY_PREFIX ' '
/* Longest instance ID (store_instance_id()) of any backend. */
#define STORE_INSTANCE_ID_MAX 64

enum store_state {
	STORE_QUEUED,
	STORE_SENDING,
	STORE_DELIVERED,
	STORE_RETRYING,
	STORE_FAILED,
	STORE_DEAD,
	/*
	 * Settled without a request (the story rules, docs/delivery.md):
	 * older than what its story's message already shows; would show the
	 * same message again; only edits, and there is no message to edit.
	 */
	STORE_SUPERSEDED,
	STORE_UNCHANGED,
	STORE_SKIPPED,
	/*
	 * Would have posted a new message, but an active silence matched it
	 * (silence_id says which); edits are never silenced.
	 */
	STORE_SILENCED,
	STORE_STATE_NR
};

/*
 * "queued", "sending", "delivered", "retrying", "failed", "dead",
 * "superseded", "unchanged", "skipped", "silenced".
 */
const char *store_state_name(enum store_state state);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int store_state_parse(const char *name, enum store_state *out);

struct store;

/*
 * Opens the store at path_or_url and brings its schema up to date. A path
 * is a SQLite database file, created when missing (its directory must
 * exist). A postgres:// or postgresql:// URL fails with HERALD_EINVAL for
 * now. A database written by a newer herald (a higher schema version) is
 * refused with HERALD_EIO. Starts the committer thread.
 */
int store_open(struct store **out, const char *path_or_url, struct errbuf *err);

/*
 * Begins closing: store_accept() calls not yet committed, and every later
 * one, fail with HERALD_EIO "shutting down"; a round being committed
 * finishes first. Waits for the committer thread to stop. Idempotent.
 */
void store_shutdown(struct store *st);
/*
 * store_shutdown(), then waits for store_accept() callers still inside to
 * return, closes the database and frees st. NULL is a no-op.
 */
void store_close(struct store *st);

/* ---- accepting events ------------------------------------------------ */

/*
 * One event and the notification it produces. idem_key, correlation_key,
 * destination and dest_kind may be NULL (destination and dest_kind are NULL
 * when unrouted); the other strings are required.
 */
struct store_item {
	const char *idem_key;		/* idempotency key; NULL: none */
	const char *type;		/* "deploy", … */
	const char *status;		/* "succeeded", …; NULL for messages */
	const char *app;
	const char *env;
	const char *body;		/* the event as JSON text */
	const char *provider;		/* "slack", "discord", "log" */
	const char *destination;	/* "#deploys", "@jane"; NULL: unrouted */
	const char *dest_kind;		/* "channel", "dm"; NULL when unrouted */
	const char *reason;		/* the routing reason */
	const char *correlation_key;	/* NULL: no story */
	/*
	 * STORE_QUEUED, or STORE_FAILED for an unrouted event: its
	 * last_error_code is then error_code (NULL: "unrouted") and its
	 * last_error the reason.
	 */
	enum store_state state;
	const char *error_code;
};

/* What store_accept() answers for one item. Owns its strings. */
struct store_accepted {
	int64_t id;			/* the notification */
	int existing;			/* idem_key was known: nothing stored */
	enum store_state state;		/* now (for existing: as stored) */
	char *destination;		/* NULL when unrouted */
	char *dest_kind;		/* NULL when unrouted */
	char *reason;
};

/*
 * Stores nr (1..STORE_ACCEPT_MAX) items in one transaction, all or nothing,
 * and fills out[0..nr-1] (release with store_accepted_array_release()). An
 * item whose idem_key is already stored (earlier, or by an earlier item of
 * this batch) stores nothing and answers the first notification of that
 * event with existing set. Blocks until the batch is durable. Errors:
 * HERALD_ELIMIT for an empty or too large batch, HERALD_EINVAL for an item
 * the store refuses (nothing of the batch is stored; err names the item:
 * "event 2: ..."), HERALD_EIO when the commit fails (disk full, I/O error;
 * err has SQLite's text; nothing of anyone's in that round is stored) or
 * the store is shutting down. On error out holds nothing to release.
 */
int store_accept(struct store *st, const struct store_item *items, size_t nr,
		 struct store_accepted *out, struct errbuf *err);
void store_accepted_release(struct store_accepted *a);
void store_accepted_array_release(struct store_accepted *a, size_t nr);

/* ---- notification records -------------------------------------------- */

struct store_record {
	int64_t id;
	int64_t event_seq;
	char *event_key;		/* the event's idempotency key, or NULL */
	char *type;
	char *status;
	char *app;
	char *env;
	char *body;			/* event JSON; NULL from store_list() */
	char *provider;
	char *destination;		/* NULL when unrouted */
	char *dest_kind;
	char *reason;
	char *correlation_key;
	enum store_state state;
	int attempts;
	double next_attempt_at;
	char *last_error_code;		/* NULL: none */
	char *last_error;
	int http_status;		/* of the last attempt; 0: none */
	char *channel_id;		/* where it was delivered */
	char *message_id;
	int64_t digest_id;		/* the digest it went out in; 0: none */
	double created_at;
	double updated_at;
	double delivered_at;
	int64_t silence_id;		/* the silence that held it; 0: none */
};

void store_record_release(struct store_record *rec);
void store_record_array_free(struct store_record *recs, size_t nr);

/*
 * The record as the API shows it (new reference): id, event {id, type,
 * status, app, env, and "body" as JSON when rec->body is set}, provider,
 * destination, kind, reason, correlation_key, state, attempts,
 * next_attempt_at, last_error {code, message, http_status} or null,
 * channel_id, message_id, digest_id (or null), created_at, updated_at,
 * delivered_at, and silence_id (null unless it was silenced). Times are
 * RFC 3339 UTC strings with milliseconds, or null when unset.
 */
json_t *store_record_to_json(const struct store_record *rec);

/* One notification, with its event body. HERALD_ENOENT when unknown. */
int store_get(struct store *st, int64_t id, struct store_record *out,
	      struct errbuf *err);

struct store_filter {
	int state;		/* an enum store_state, or -1: any */
	const char *app;	/* NULL: any */
	const char *env;	/* NULL: any */
	size_t limit;		/* 0: STORE_LIST_DEFAULT; capped at _MAX */
	int64_t before;		/* only ids below this; 0: from the newest */
};

#define STORE_FILTER_INIT { -1, NULL, NULL, 0, 0 }

/*
 * The matching notifications, newest (highest id) first, without event
 * bodies. *recs is a new array of *nr (free with store_record_array_free();
 * NULL when *nr is 0). The next page: before = the last record's id.
 */
int store_list(struct store *st, const struct store_filter *f,
	       struct store_record **recs, size_t *nr, struct errbuf *err);

/*
 * Called once per record; a nonzero return stops the walk and is what the
 * walking function returns.
 */
typedef int store_record_fn(void *arg, const struct store_record *rec);

/*
 * Walks the notifications waiting for delivery (queued, sending, retrying)
 * in id order, with their event bodies. fn runs without store locks held,
 * so it may call the store.
 */
int store_load_pending(struct store *st, store_record_fn *fn, void *arg,
		       struct errbuf *err);

/* One stored event, as store_walk_events() gives it. */
struct store_event {
	int64_t seq;
	const char *type;		/* "deploy", … */
	const char *body;		/* the event as JSON text */
	double received_at;
};

/*
 * Called once per event; a nonzero return stops the walk and is what
 * store_walk_events() returns. The event is valid during the call only.
 */
typedef int store_event_fn(void *arg, const struct store_event *ev);

/*
 * Walks the events received in [from, to), oldest first (the weekly
 * summary's reads; an index on received_at keeps it to those rows). The
 * walk reads on a connection of its own, so it holds up no other reader
 * or writer however long it takes, and fn may call the store. HERALD_EIO
 * on a database error; HERALD_EINVAL when from is not before to.
 */
int store_walk_events(struct store *st, double from, double to,
		      store_event_fn *fn, void *arg, struct errbuf *err);

/*
 * Crash recovery: puts notifications left in state sending (herald died
 * mid-request) back to queued. Call once at start, before
 * store_load_pending(). Sets *nr (may be NULL) to how many.
 */
int store_recover(struct store *st, size_t *nr, struct errbuf *err);

/*
 * Counts notifications per state: counts[STORE_QUEUED] and so on.
 */
int store_counts(struct store *st, uint64_t counts[STORE_STATE_NR],
		 struct errbuf *err);

/*
 * Puts a failed or dead notification back to queued with no attempts and
 * no error (POST /notifications/{id}/retry). HERALD_ENOENT when unknown,
 * HERALD_EINVAL in any other state ("notification 12 is delivered; only
 * failed or dead notifications can be retried").
 */
int store_requeue(struct store *st, int64_t id, struct errbuf *err);

/* Whether the store can take writes now (for /readyz): 0 or HERALD_EIO. */
int store_ping(struct store *st, struct errbuf *err);

/*
 * The database's own random ID (1 to STORE_INSTANCE_ID_MAX printable
 * characters; SQLite: 32 hex digits), made when the database was created
 * (or first opened by a herald that knows of it) and the same whenever it
 * is opened again; another database, even one made later at the same
 * path, has another (a copy, such as a backup restored, has the same).
 * Never NULL; lives as long as st.
 */
const char *store_instance_id(struct store *st);

/* ---- updates from the engine ------------------------------------------ */

enum store_update_kind {
	STORE_UP_SENDING,	/* id, at */
	STORE_UP_DELIVERED,	/* id, at, channel_id, message_id, attempts,
				   http_status, digest_id */
	STORE_UP_RETRYING,	/* id, at, attempts, next_at, code, msg,
				   http_status */
	STORE_UP_FAILED,	/* id, at, state (failed, dead, superseded,
				   unchanged, skipped or silenced), attempts,
				   code, msg, http_status; silence_id for
				   silenced */
	STORE_UP_ATTEMPT,	/* id, attempts (its number), at, outcome, code,
				   http_status, duration_ms */
	STORE_UP_STORY,		/* correlation_key, provider, destination,
				   channel_id, message_id, id (first
				   notification), at, event_at, rank,
				   body_hash, digest_id; upsert */
	STORE_UP_DIGEST,	/* id (the digest's), at, provider,
				   destination, channel_id, message_id,
				   lines; upsert */
};

/*
 * One change. Only the fields the kind lists are read; attempts 0 leaves
 * the count unchanged (except for STORE_UP_ATTEMPT, where it is the
 * attempt's number). An update of an unknown id changes nothing.
 */
struct store_update {
	enum store_update_kind kind;
	int64_t id;
	double at;
	int attempts;
	double next_at;
	enum store_state state;
	const char *code;		/* "rate_limited", "channel_not_found" */
	const char *msg;
	int http_status;		/* 0: none */
	const char *channel_id;
	const char *message_id;
	const char *outcome;		/* "ok", "retry", "permanent", "auth" */
	long duration_ms;
	const char *correlation_key;
	const char *provider;
	const char *destination;
	double event_at;		/* the story's latest event's time */
	int rank;			/* and its status rank */
	const char *body_hash;		/* of the message as it now reads */
	int64_t silence_id;		/* STORE_SILENCED: which silence */
	int64_t digest_id;		/* the digest a notification went out
					   in, or a story's message is; 0: none */
	const char *lines;		/* a digest's lines: a JSON array of
					   notification ids */
};

/*
 * Applies nr updates in order in one transaction (one fsync): the engine
 * collects a loop iteration's changes and applies them together. All or
 * nothing; HERALD_EIO with SQLite's text on failure, HERALD_EINVAL for a
 * malformed update (a bad kind or state).
 */
int store_apply(struct store *st, const struct store_update *ups, size_t nr,
		struct errbuf *err);

/* ---- stories and resolutions ------------------------------------------ */

/* The platform message a story (correlation key) edits. Owns its strings. */
struct store_story {
	char *provider;
	char *destination;
	char *channel_id;
	char *message_id;
	int64_t first_notification_id;
	double updated_at;		/* when its message was last posted or
					   edited */
	double event_at;		/* the latest event it shows: time */
	int rank;			/* and status rank */
	char *body_hash;		/* of the message as it reads */
	int64_t digest_id;		/* its message is this digest; 0: not */
};

void store_story_release(struct store_story *s);

/* HERALD_ENOENT when there is no story for the key yet. */
int store_story_get(struct store *st, const char *correlation_key,
		    struct store_story *out, struct errbuf *err);

/*
 * A digest: one message that lists several notifications of a destination
 * (docs/delivery.md, "Digests"). Its id is the id of its first
 * notification. Owns its strings.
 */
struct store_digest {
	int64_t id;
	char *provider;
	char *destination;
	char *channel_id;
	char *message_id;
	char *lines;			/* JSON array of notification ids, one
					   per line, the latest of its story */
	double created_at;
	double updated_at;
};

void store_digest_release(struct store_digest *d);

/* HERALD_ENOENT when there is no digest with this id. */
int store_digest_get(struct store *st, int64_t id, struct store_digest *out,
		     struct errbuf *err);

/*
 * A cached resolution of destination (a name, an e-mail address, a user
 * for a DM) to a channel ID. get sets *channel_id (caller frees) or
 * returns HERALD_ENOENT when there is none or it expired before now.
 */
int store_resolution_get(struct store *st, const char *provider,
			 const char *destination, double now,
			 char **channel_id, struct errbuf *err);
int store_resolution_put(struct store *st, const char *provider,
			 const char *destination, const char *channel_id,
			 double expires_at, struct errbuf *err);

/* ---- silences ---------------------------------------------------------- */

/*
 * Silences (core/silence.h) are kept beside the outbox, committed (fsynced)
 * before these functions return, and read by the engine at start and
 * whenever the API changes one. They are never deleted here.
 */

/*
 * Stores s (checked by silence_parse() or the like: at least one matcher,
 * a comment, an end) and sets s->id.
 */
int store_silence_add(struct store *st, struct silence *s,
		      struct errbuf *err);
/* One silence by id; HERALD_ENOENT when there is none. */
int store_silence_get(struct store *st, int64_t id, struct silence *out,
		      struct errbuf *err);
/*
 * The silences in effect at or after since: the active ones and those
 * that ended (ran out or were ended early) at or after since, newest
 * first. since = now gives the active ones. *out is a new array of *nr
 * (silence_array_free(); NULL when *nr is 0).
 */
int store_silence_list(struct store *st, double since, struct silence **out,
		       size_t *nr, struct errbuf *err);
/*
 * Ends silence id early, at at. HERALD_ENOENT when there is none;
 * HERALD_EDUP (nothing changed) when it had already ended by at.
 */
int store_silence_end(struct store *st, int64_t id, double at,
		      struct errbuf *err);
/*
 * The active silences at now of the database at path_or_url, read without
 * opening the store (no migration, no threads; read-only), for the
 * offline commands (herald route). HERALD_ENOENT when there is no such
 * database or it has no silences table yet.
 */
int store_silence_peek(const char *path_or_url, double now,
		       struct silence **out, size_t *nr, struct errbuf *err);

/* ---- retention ------------------------------------------------------- */

/* Rows one store_prune() call deletes from each table, at most, by default. */
#define STORE_PRUNE_BATCH 500
/* How many tables store_prune() may report on. */
#define STORE_PRUNE_TABLES_MAX 16

struct store_prune_params {
	/*
	 * Finished notifications (any state but queued, sending and
	 * retrying) last changed before this go, with their attempts, and
	 * their event once no notification of it is left (and with it the
	 * event's idempotency key).
	 */
	double before;
	/* Stories whose message was last written before this go. */
	double stories_before;
	/* Resolutions that expired before this go. */
	double now;
	/* At most this many rows per table; 0: STORE_PRUNE_BATCH. */
	size_t batch;
};

/* What one store_prune() call deleted. */
struct store_prune_result {
	size_t nr;				/* tables[0..nr-1] */
	struct {
		const char *table;		/* static: "notifications" */
		uint64_t rows;
	} tables[STORE_PRUNE_TABLES_MAX];
	uint64_t rows;				/* the sum */
	int more;		/* a table reached the batch: call again */
	double write_ms;	/* how long the write transaction took */
};

/*
 * One batch of retention: deletes what p says, at most p->batch rows per
 * table, in one short write transaction (so accepts wait for it at most
 * that long), and fills *res (every table the backend prunes, in the same
 * order each call, with 0 for none). Never deletes a notification that is
 * still waiting for delivery, nor an event one of whose notifications is
 * kept. Call again while res->more, with a pause between calls to let the
 * accepts through. Meant for one thread (the daemon's pruner); HERALD_EIO
 * with the database's text when a write fails (nothing of the batch is
 * deleted).
 */
int store_prune(struct store *st, const struct store_prune_params *p,
		struct store_prune_result *res, struct errbuf *err);

/* ---- statistics -------------------------------------------------------- */

struct store_stats {
	uint64_t accept_calls;		/* store_accept() calls committed */
	uint64_t accept_items;		/* items in them (new or existing) */
	uint64_t accept_commits;	/* group-commit transactions */
	uint64_t apply_commits;		/* store_apply() transactions */
};

void store_stats(struct store *st, struct store_stats *out);

/* The current time as the store stamps it (wall clock, seconds). */
double store_now(void);

#endif
