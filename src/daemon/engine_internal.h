/*
 * engine_internal: what the engine's files share, and nothing outside
 * them may use (like git's refs-internal.h). engine.h is the interface.
 *
 * Data: every notification the engine holds is a small struct item, found
 * by id in a hash table and linked into its destination's struct queue.
 * A queue is "ready" (on e->ready) when its head may be tried; a queue
 * that must wait for its own time (backoff, 429, its token bucket) sits in
 * the timer heap; one that waits for a shared limit (the Slack workspace
 * or Discord global bucket) is parked on e->parked until that limit has a
 * token; one that waits for the provider to be trusted again is parked on
 * e->paused_list. A queue whose destination needs a lookup (a DM channel,
 * a Discord channel name) waits for the resolver thread. So a waiting
 * queue never blocks another, and no step scans all queues or all
 * notifications.
 *
 * Pipeline: when a queue's head may go, the loop hands it (as a struct
 * flight, which also marks the queue busy, so one request per destination
 * still holds) to the preparer thread, which reads the event, renders it,
 * picks post or edit and builds the HTTP request; the loop then submits
 * the ready requests. So the loop's thread only moves requests and
 * answers, and the second core does the rendering. A request is marked
 * "sending" in the store once it has been in flight for SENDING_MARK_S;
 * one answered sooner goes straight to its outcome (a crash meanwhile
 * leaves it "queued", which the next start sends again just the same).
 * Notifications just accepted come from the API with their events parsed
 * (engine_api_queued()), kept in a bounded cache so an event is neither
 * read back nor parsed again; others (a retry, the cache full) are read
 * from the store by the preparer.
 *
 * Writes: the loop gathers the store changes of its turns and hands them
 * to the writer thread, which writes them (joining the store's group
 * commit) while the loop goes on; under load the changes of several turns
 * share one transaction. A queue whose outcome is not committed yet waits
 * for it (engine__hold()), so a crash still repeats at most the one
 * request per destination that was in flight.
 *
 * Files, by the thread that runs their code:
 *   engine.c          the loop: the inbox, a turn, pacing; life cycle
 *   engine_queue.c    the loop: items, queues, lists, timers, the record
 *                     cache; the story cache (loop and preparer)
 *   engine_outcome.c  the loop: outcomes, retries, the auth pause
 *   engine_prepare.c  the preparer thread, and the loop's side of it:
 *                     handing heads out, submitting, answers
 *   engine_digest.c   digests: the loop's offer, the preparer's run and
 *                     render, the loop's outcome
 *   engine_resolve.c  the resolver thread, and the loop's side of it
 *   engine_write.c    the writer thread, and the loop's batch of updates
 *   engine_silences.c the active silences (any thread, under their lock)
 *
 * Who owns what: the loop thread (the caller of engine_run_once()) owns
 * everything here unless a comment says otherwise. A flight belongs to
 * the preparer from engine__hand_out() until engine__take_prepared()
 * takes it back, a load from engine__hand_load() until then too; a job
 * belongs to the resolver until engine__take_resolved(); a batch of
 * updates belongs to the writer until engine__take_written(). Each
 * worker's lock guards the lists through which things change hands. The
 * story cache is under e->story_lock, what any thread may call under
 * e->lock.
 *
 * Functions shared between the files are named engine__*; the others are
 * static.
 */
#ifndef HERALD_ENGINE_INTERNAL_H
#define HERALD_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/pace.h"
#include "daemon/api.h"
#include "daemon/engine.h"
#include "daemon/store.h"
#include "delivery/http_client.h"
#include "delivery/provider.h"
#include "lib/clock.h"
#include "lib/heap.h"
#include "lib/htab.h"
#include "lib/strbuf.h"

struct event;
struct queue;

/*
 * What a story's message shows, for the story rules (docs/delivery.md):
 * its latest event's time and status rank, and a hash of the message.
 */
struct story_mark {
	double event_at;		/* wall clock */
	int rank;			/* event_status_rank() */
	char hash[17];			/* hex; "" when unknown */
};

/* A notification the engine holds. node must stay first. */
struct item {
	struct hnode node;
	int64_t id;
	struct item *next;		/* in its queue */
	struct queue *q;
	double created_at;		/* wall clock */
	double not_before;		/* monotonic; 0: now */
	int attempts;			/* as the store counts them: not 429s */
	int tries;			/* requests made, for attempt rows */
	int force_post;			/* its story's message is gone */
	int64_t silence_id;		/* settles as silenced by it */
	struct story_mark mark;		/* what its message will show */
	struct store_record *rec;	/* cached: body, destination,
					   correlation key, created_at (the
					   story rules' time of an untimed
					   event); or NULL */
	struct event *ev;		/* cached: the event as accepted, in
					   place of rec's body; or NULL */
	size_t rec_bytes;		/* of rec and ev */
};

/* One destination's FIFO. node must stay first. */
struct queue {
	struct hnode node;
	char *dest;
	struct item *head, *tail;
	size_t len;
	struct flight *inflight;
	double blocked_until;		/* monotonic */
	struct pace_bucket bucket;
	char *channel_id;		/* resolved, or NULL */
	int resolving;			/* a resolver job is out for it */
	char bucket_id[64];		/* Discord X-RateLimit-Bucket */
	struct queue *link;		/* in e->ready, e->parked, ... */
	int listed;
	double timer_at;		/* in the heap at this time; 0: not */
};

/* A story's message, or a known absence (message_id NULL). */
struct story {
	struct hnode node;
	char *key;
	char *destination;
	char *channel_id;
	char *message_id;
	double updated_at;		/* wall clock: last posted or edited */
	struct story_mark mark;
	int64_t digest_id;		/* its message is this digest; 0: not */
};

enum prep_state {
	PREP_READY,		/* req is built */
	PREP_GONE,		/* the notification cannot be read */
	PREP_FAILED,		/* r says why */
	PREP_SETTLED,		/* no request: settles as quiet, quiet_why */
};

/*
 * One notification of a digest (engine_digest.c), as the preparer read
 * and judged it.
 */
enum member_kind {
	MEMBER_POST,		/* would post a message of its own */
	MEMBER_EDIT,		/* edits its story's message (not a digest) */
	MEMBER_DIGEST,		/* edits its story's line of a digest */
	MEMBER_QUIET,		/* settles without a request: quiet, why */
	MEMBER_UNREADABLE,	/* cannot be read: it goes alone */
};

struct member {
	int64_t id;
	struct store_record rec;	/* without body */
	struct event *ev;
	enum member_kind kind;
	int64_t digest_id;		/* MEMBER_DIGEST: the digest */
	double story_at;		/* MEMBER_DIGEST: when the digest was
					   last written (wall clock) */
	int edit_only;
	struct story_mark mark;		/* what its line shows */
	enum store_state quiet;
	char quiet_why[200];
	int64_t silence_id;		/* quiet as STORE_SILENCED: by which */
};

enum flight_digest {
	FLIGHT_SINGLE,		/* one notification, one request */
	FLIGHT_DIGEST_POST,	/* members as a new digest message */
	FLIGHT_DIGEST_EDIT,	/* members' lines of digest digest_id */
};

/*
 * A request being prepared (by the preparer thread) or in flight. While it
 * exists, it is its queue's inflight. The preparer writes rec, edit,
 * message_id, req, r and prep; the loop reads them once it is back.
 */
struct flight {
	struct engine *e;
	struct item *it;
	struct flight *next;		/* in the preparer's lists */
	struct flight *mprev, *mnext;	/* in e->unmarked */
	int64_t id;
	int force_post;
	char *chan;			/* the queue's channel ID */
	struct store_record rec;	/* without body */
	struct event *ev;		/* the event, when it was cached */
	int edit;
	enum prep_state prep;
	struct story_mark mark;		/* what the message will show */
	enum store_state quiet;		/* PREP_SETTLED: superseded, ... */
	char quiet_why[200];
	int64_t silence_id;		/* quiet is STORE_SILENCED: by it */
	struct http_request req;
	struct delivery_result r;
	char channel_id[64];		/* the resolved channel */
	char message_id[64];		/* the story's message, for an edit */
	double started;			/* monotonic */
	double mark_at;			/* due to be marked "sending" */
	int unmarked;			/* in e->unmarked */

	/*
	 * Digests (engine_digest.c). The loop sets cand (the ids waiting
	 * behind the head, which may go with it) and due (the queue may be in
	 * a storm), with what the decision needs; the preparer sets digest,
	 * members (the head first: what the request settles, in queue
	 * order), digest_id and lines, or own_post (the head's story is a
	 * digest, but there is no storm: it posts a message of its own).
	 */
	int64_t *cand;
	size_t cand_nr;
	int due;			/* the queue's length alone may be a
					   storm */
	size_t waiting;			/* the queue's length at dispatch */
	struct pace_bucket bucket;	/* the queue's, at dispatch */
	double bucket_now;		/* monotonic, at dispatch */
	double blocked_s;		/* the queue's block still to come */
	enum flight_digest digest;
	struct member *members;
	size_t members_nr;
	int64_t digest_id;
	char *lines;			/* JSON array of the digest's ids */
	size_t lines_nr;
	int own_post;
	int digest_tried;		/* engine__digest_prepare() ran */
};

/* Notifications just handed in, for the preparer to read from the store. */
struct load {
	struct load *next;
	int64_t *ids;			/* sorted, unique */
	size_t nr;
	struct store_record *recs;	/* what was read, in id order */
	size_t recs_nr;
};

/*
 * One of the engine's threads: it sleeps on cond until the work lists of
 * the struct around it have something, or quit is set. lock guards those
 * lists and quit.
 */
struct engine_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int quit;
	int started;			/* the thread runs (loop thread) */
};

/* The thread that prepares requests (engine_prepare.c). */
struct preparer {
	struct engine_worker worker;
	struct flight *todo, *todo_tail;
	struct flight *done, *done_tail;
	struct load *loads, *loads_tail;
	struct load *loaded, *loaded_tail;
};

/*
 * The thread that writes the loop's state changes to the store
 * (engine_write.c), so the loop goes on moving requests while a
 * transaction is written. It has one batch at a time; the loop gathers
 * the next meanwhile.
 */
struct writer {
	struct engine_worker worker;
	struct store_update *ups;	/* the batch, or NULL */
	size_t ups_nr;
	char **strs;			/* the strings it points to */
	size_t strs_nr;
	int done;			/* written: the loop takes it back */
};

/*
 * Work for the resolver thread (engine_resolve.c): the provider's
 * synchronous calls, which may wait on the network for seconds, so they
 * never stall the loop.
 */
enum job_kind {
	JOB_RESOLVE,		/* the channel ID of q's destination */
	JOB_IDENTIFY,		/* the auth probe */
};

struct job {
	struct job *next;
	enum job_kind kind;
	struct queue *q;
	struct destination d;
	int ret;
	struct strbuf out;		/* channel ID, or who the bot is */
	struct delivery_result r;
};

struct resolver {
	struct engine_worker worker;
	struct job *todo, *todo_tail;
	struct job *done;
};

struct qlist {
	struct queue *head, *tail;
};

struct engine {
	struct store *store;
	struct api_routing *routing;
	struct metrics *metrics;
	struct provider *p;
	enum provider_kind kind;
	const char *pname;
	FILE *out;
	int wrote;

	struct http_client *client;	/* asynchronous: deliveries */
	struct http_client *sync;	/* resolve() and identify() */
	struct resolver rs;		/* the thread that calls them */
	int probing;			/* an identify job is out */
	struct preparer pr;
	struct writer wr;
	size_t writing;			/* updates the writer has; 0: idle */
	struct flight *pout, *pout_tail;	/* for the preparer, this turn */
	struct flight *unmarked, *unmarked_tail;	/* not "sending" yet */

	double slack_rate, slack_burst;	/* the rate with PACE_MARGIN */
	long max_attempts;		/* 0: no limit (the default) */
	double max_age_s;
	double story_window;		/* s; 0: stories never close */
	long digest_threshold;		/* 0: no digests */
	double digest_after;		/* s */
	double backoff_base, backoff_cap, probe_base, probe_cap;

	struct htab items;
	struct htab queues;
	struct htab stories;		/* under story_lock */
	pthread_mutex_t story_lock;
	size_t pending;
	size_t cache_bytes;		/* of the items' cached records */
	size_t loading;			/* ids in loads not taken back yet */
	size_t in_flight;

	struct qlist ready, parked, paused_list;
	struct qlist slot_wait;		/* ready, but MAX_IN_FLIGHT reached */
	struct qlist held;		/* answered; wait for the commit */
	struct qlist held_writing;	/* the same, being written */
	struct heap timers;		/* of queues, by when they may go */

	struct pace_bucket global;	/* workspace or Discord global */
	double global_blocked_until;

	/* Auth pause. */
	int paused;
	double probe_at;
	double probe_delay;

	int draining;

	/* Updates of this iteration and the strings they point to. */
	struct store_update *ups;
	size_t ups_nr, ups_alloc;
	double ups_first;		/* monotonic, of ups[0] */
	char **strs;
	size_t strs_nr, strs_alloc;

	struct engine_stats stats;
	uint64_t rng;			/* random_unit()'s state */

	/*
	 * The silences in effect (engine_silences.c) and when the next
	 * active one ends, under silence_lock.
	 */
	pthread_mutex_t silence_lock;
	struct silence *silences;
	size_t silences_nr;
	double silences_next_end;

	/* Shared with other threads, under lock. */
	pthread_mutex_t lock;
	int64_t *inbox;
	size_t inbox_nr, inbox_alloc;
	struct api_queued *qin;		/* engine_api_queued() */
	size_t qin_nr, qin_alloc;
	int ready_ok;			/* 0 while paused */
	char ready_why[512];
};

/* ---- engine_queue.c: items, queues, lists, timers, caches ---- */

void engine__qlist_push(struct qlist *l, struct queue *q);
/* The first queue of l, taken off it, or NULL. */
struct queue *engine__qlist_pop(struct qlist *l);
/* Moves every queue of from to the end of to. */
void engine__qlist_splice(struct qlist *to, struct qlist *from);
/* The queue's head may be tried now. */
void engine__make_ready(struct engine *e, struct queue *q);
/*
 * The queue's head has its answer: the queue goes on once that outcome is
 * committed, so a crash repeats at most the one request per destination
 * that was in flight.
 */
void engine__hold(struct engine *e, struct queue *q);
/* The queue waits until at (monotonic). */
void engine__wait_until(struct engine *e, struct queue *q, double at);

struct item *engine__find_item(struct engine *e, int64_t id);
/*
 * Takes a pending notification into its queue (rec stays the caller's).
 * Returns the new item, or NULL when it was not taken.
 */
struct item *engine__add_item(struct engine *e, const struct store_record *rec);
/* Removes the head of its queue (the item is done) and frees it. */
void engine__remove_head(struct engine *e, struct item *it);
/* Frees every queue, with its items and the request it has in flight. */
void engine__queues_free(struct engine *e);

/*
 * Keeps the body, destination, correlation key and creation time of rec
 * (which has its body) with it (may be NULL: nothing), while the cache
 * has room. take says the strings may be taken from rec (they are then
 * NULL in rec).
 */
void engine__cache_record(struct engine *e, struct item *it,
			  struct store_record *rec, int take);
/*
 * Keeps the event, destination, correlation key and creation time of a
 * notification just accepted (taken from qd) with it (may be NULL:
 * nothing), while the cache has room.
 */
void engine__cache_queued(struct engine *e, struct item *it,
			  struct api_queued *qd);
/*
 * Moves what the cache holds of it to *rec and *ev (zeroed and NULL when
 * nothing is cached).
 */
void engine__take_cached(struct engine *e, struct item *it,
			 struct store_record *rec, struct event **ev);

/*
 * The story cache: callers hold e->story_lock. mark may be NULL (not
 * known).
 */
struct story *engine__story_set(struct engine *e, const char *key,
				const char *dest, const char *channel_id,
				const char *message_id, double updated_at,
				const struct story_mark *mark, int64_t digest_id);
/*
 * The story's message for key (read from the store the first time), or
 * NULL when there is none to edit.
 */
struct story *engine__story_find(struct engine *e, const char *key);
void engine__stories_clear(struct engine *e);

/* ---- engine_outcome.c: outcomes, retries, the auth pause ---- */

/*
 * The outcome r of the request of it, its queue's head (an edit of message
 * edit in channel, or a post when edit is NULL): delivered, failed,
 * retried later, rate limited, or the provider paused.
 */
/*
 * The queue's head it settles without a request, as state (superseded,
 * unchanged, skipped, or silenced by it->silence_id) for the reason why.
 */
void engine__settle_quiet(struct engine *e, struct item *it,
			  const char *dest, enum store_state state,
			  const char *why);
void engine__settle(struct engine *e, struct item *it, const char *dest,
		    const char *corr, const char *edit, const char *channel,
		    const struct delivery_result *r, long duration_ms);
/*
 * Delivered: it (its queue's head) is in message_id of channel, in digest
 * digest_id (0: a message of its own); with its story (corr, may be NULL)
 * now pointing there. Without a log line.
 */
void engine__delivered(struct engine *e, struct item *it, const char *dest,
		       const char *corr, const char *channel,
		       const char *message_id, int64_t digest_id);
/* An attempt row for it's request. */
void engine__attempt_row(struct engine *e, struct item *it,
			 const char *outcome, const struct delivery_result *r,
			 long duration_ms);
/* Whether the platform refused an edit in a way a new message mends. */
int engine__edit_refused(const struct delivery_result *r);
/* The log provider: prints the rendered body and counts it delivered. */
void engine__print_log(struct engine *e, struct item *it,
		       const struct store_record *rec, json_t *body);
/* The auth probe's answer: resume, or probe again later. */
void engine__probed(struct engine *e, struct job *j);

/* ---- engine_prepare.c: the preparer thread, submitting, answers ---- */

void *engine__preparer_main(void *arg);
/* Frees the loads the stopped preparer left. */
void engine__preparer_clear(struct engine *e);
/*
 * Has the preparer read the notifications ids[0..nr-1] (sorted, unique;
 * the load takes ids): they go into their queues when they are back.
 */
void engine__hand_load(struct engine *e, int64_t *ids, size_t nr);
/*
 * The queue's head goes (its turn has come and the pacing allows it): it
 * is handed to the preparer at the end of the turn, and the queue is busy
 * until its request is answered.
 */
void engine__dispatch(struct engine *e, struct queue *q, double now);
/* Gives the preparer the heads dispatched this turn. */
void engine__hand_out(struct engine *e);
/*
 * Takes back what the preparer has finished: loads into their queues,
 * heads submitted (or settled when they cannot go), in the order it did
 * them.
 */
void engine__take_prepared(struct engine *e);
/* The log provider: renders the queue's head and prints it, at once. */
void engine__send_log(struct engine *e, struct queue *q);
/*
 * Marks "sending" the requests in flight since SENDING_MARK_S before now
 * (all of them when now is INFINITY).
 */
void engine__mark_sending(struct engine *e, double now);
void engine__flight_free(struct flight *f);
/*
 * The event of rec's body (an array of one: event_free() frees it), or
 * NULL when the stored body cannot be read back as one event.
 */
struct event *engine__stored_event(const struct store_record *rec);

/* ---- engine_digest.c: digests (docs/delivery.md, "Digests") ---- */

/*
 * On the loop, at dispatch: when the queue may be in a storm, gives f the
 * ids waiting behind its head and what the decision needs.
 */
void engine__digest_offer(struct engine *e, struct flight *f,
			  struct queue *q, double now);
/*
 * On the preparer: when f has candidates, reads and judges them, decides
 * whether there is a storm and, when the head starts a digest (or edits
 * one's line), builds that request (f->prep PREP_READY or PREP_FAILED)
 * and returns 1. Returns 0 when the head goes as usual (f->own_post may
 * be set).
 */
int engine__digest_prepare(struct engine *e, struct flight *f);
/*
 * On the loop: the answer r to a digest's request. Delivered: every
 * member settles, in order, in one turn's updates (one transaction) with
 * the digest. Otherwise the head's outcome, as a single request's.
 */
void engine__digest_settle(struct engine *e, struct flight *f,
			   const struct delivery_result *r, long duration_ms);
void engine__members_free(struct flight *f);

/* ---- engine_resolve.c: the resolver thread ---- */

void *engine__resolver_main(void *arg);
/* Frees the jobs the stopped resolver left. */
void engine__resolver_clear(struct engine *e);
/* Asks the resolver for the auth probe (provider identify()). */
void engine__probe(struct engine *e);
/* Takes the resolver's answers: resolutions and probes. */
void engine__take_resolved(struct engine *e);
/*
 * Whether the queue's destination has its channel ID (cached in the
 * queue, or persisted in the store). When not, asks the resolver thread
 * for it, or fails the head for a destination that cannot be parsed, and
 * returns 0: the queue is tried again when the answer is in.
 */
int engine__have_channel(struct engine *e, struct queue *q);

/* ---- engine_silences.c: the active silences ---- */

/*
 * The id of the active silence that matches ev going to dest (with its
 * reason in why), or 0. Any thread.
 */
int64_t engine__silenced(struct engine *e, const struct event *ev,
			 const char *dest, char *why, size_t size);
/* Updates herald_silences_active when a silence has run out. Loop. */
void engine__silences_tick(struct engine *e);
/* Frees the silences (engine_free()). */
void engine__silences_clear(struct engine *e);

/* ---- engine_write.c: store updates and the writer thread ---- */

void *engine__writer_main(void *arg);
/* A copy of s (or NULL) that lives as long as this turn's updates. */
const char *engine__keep(struct engine *e, const char *s);
/*
 * engine__keep() of s redacted (lib/redact.h): for the error codes and
 * messages the store keeps and the API shows, which may quote what the
 * platform answered.
 */
const char *engine__keep_redacted(struct engine *e, const char *s);
/* A new update of this turn, zeroed but for kind, id and at. */
struct store_update *engine__update(struct engine *e,
				    enum store_update_kind kind, int64_t id);
/* Writes the changes gathered so far, on this thread. */
void engine__flush_updates(struct engine *e);
/*
 * Hands the changes gathered so far to the writer, with the queues that
 * wait for them; when it is still busy, they wait for the next turn.
 * Without a writer they are written at once.
 */
void engine__hand_updates(struct engine *e);
/*
 * Takes back the writer's batch once it is written: the queues that
 * waited for it may go on. Never waits.
 */
void engine__take_written(struct engine *e);

#endif
