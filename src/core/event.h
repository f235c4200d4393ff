/*
 * event: herald's event model.
 *
 * Every source (the HTTP API, the CLI, the webhook adapters in inputs/)
 * produces a struct event; inputs/event_json.h parses and validates
 * herald's own JSON form of it. Pure: no I/O.
 */
#ifndef HERALD_EVENT_H
#define HERALD_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "lib/errbuf.h"

struct strbuf;

#define EVENT_MAX_BYTES (256u * 1024)
#define EVENT_ID_MAX 128
#define EVENT_MAX_DEPTH 32
/* Bounds of single-line fields (app, env, sha, ...), URLs and others. */
#define EVENT_LINE_MAX 1000
#define EVENT_URL_MAX 8192
#define EVENT_CORRELATION_MAX 256
#define EVENT_TIMESTAMP_MAX 64

enum event_type {
	EVENT_DEPLOY,
	EVENT_ROLLBACK,
	EVENT_DELETE,
	EVENT_GITOPS,
	EVENT_ALERT,
	EVENT_MESSAGE,
	EVENT_TYPE_NR
};

enum event_status {
	EVENT_STATUS_NONE,	/* a message, or no status given */
	EVENT_STARTED,
	EVENT_SUCCEEDED,
	EVENT_FAILED,
	EVENT_PROGRESSING,
	EVENT_APPLIED,
	EVENT_HEALTHY,
	EVENT_UNHEALTHY,
	EVENT_FIRING,
	EVENT_RESOLVED,
	EVENT_STATUS_NR
};

/*
 * All strings are owned by the event (freed by event_release()), valid
 * UTF-8, and NULL when the field was absent, null or empty. Parsed events
 * hold no control characters in single-line fields (all but title and
 * description), which are at most 1000 bytes (id EVENT_ID_MAX, correlation
 * 256); docs/events.md has the format.
 */
struct event {
	enum event_type type;
	enum event_status status;
	char *app;
	char *env;
	char *actor;
	char *repository;	/* owner/name */
	char *sha;
	char *version;
	char *url;		/* http(s) only */
	char *gitops_repository;
	char *gitops_sha;
	char *title;
	char *description;
	char *alert_name;	/* from "alert": {"name", "object", "url"} */
	char *alert_object;
	char *alert_url;	/* http(s) only */
	char *channel;		/* explicit destination, overrides routing */
	char *owner_im;		/* routes like the catalog's Owner IM */
	char *id;		/* idempotency key, at most EVENT_ID_MAX bytes */
	char *correlation;
	time_t timestamp;	/* "timestamp" (RFC 3339) if given, else 0 */
	/*
	 * Only edits its story's message, never posts one of its own (a Flux
	 * "applied", an Alertmanager "resolved"): "edit_only": true.
	 */
	int edit_only;
};

#define EVENT_INIT { 0 }

const char *event_type_name(enum event_type type);
const char *event_status_name(enum event_status status);
/* Return 0 and set *out, or -1 for an unknown name. */
int event_type_parse(const char *name, enum event_type *out);
int event_status_parse(const char *name, enum event_status *out);
/* "expected one of deploy, rollback, ...": for error messages. */
extern const char *const event_type_expected;
/* The statuses type allows, in words ("started, succeeded or failed"). */
const char *event_status_expected(enum event_type type);
/* Whether status is allowed for type (EVENT_STATUS_NONE only for messages). */
int event_status_valid(enum event_type type, enum event_status status);
/*
 * How far along its story a status is, for "never backwards": 1 for a
 * beginning (started, progressing, firing), 2 for applied and resolved, 3
 * for an outcome (succeeded, failed, healthy, unhealthy); 0 for none.
 */
int event_status_rank(enum event_status status);
/* Whether the event reports a failure (failed, unhealthy, firing). */
int event_is_failure(const struct event *ev);

/* Encodes the event back to herald's JSON form (new reference). */
json_t *event_to_json(const struct event *ev);
/*
 * Appends the same as compact text: what json_dumps(event_to_json(ev),
 * JSON_COMPACT) gives, without building the JSON value.
 */
void event_write_json(const struct event *ev, struct strbuf *out);

/*
 * The key that ties this event to the message of an earlier one ("one message
 * per story"). Parts are joined with U+001F (unit separator, written US
 * here), which no part can contain since single-line fields reject control
 * characters:
 *
 *   "c" US correlation                     when correlation is given
 *   type US app US env US sha-or-version   deploy, rollback (NULL without
 *                                          sha and version)
 *   "gitops" US env US gitops_sha          gitops (NULL without gitops_sha)
 *   "alert" US app US env US name US object   alert (absent parts empty)
 *
 * delete and message events have none. Returns a new string (caller frees)
 * or NULL.
 */
char *event_correlation_key(const struct event *ev);

void event_release(struct event *ev);
/* Releases an event allocated on its own, and frees it; NULL is fine. */
void event_free(struct event *ev);
/* About how many bytes of memory ev and its strings take. */
size_t event_memory(const struct event *ev);
void event_array_free(struct event *events, size_t nr);

#endif
