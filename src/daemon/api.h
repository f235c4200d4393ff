/*
 * api: herald's HTTP API, as functions from request to response. Each
 * endpoint is one row of api_endpoints[] (api.c): method, path pattern,
 * handler and how it is authenticated.
 *
 * api_handle() has the httpd_handler_fn signature, so httpd calls it
 * directly; tests call it with hand-built requests. An event is answered
 * 202 only after the store has committed it. Routing happens here (the 202
 * names the destination); rendering happens at delivery time, in the
 * engine. docs/api.md describes the API for its users; test_api checks
 * that it lists the endpoints of the table.
 */
#ifndef HERALD_API_H
#define HERALD_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/config.h"
#include "lib/errbuf.h"
#include "daemon/httpd.h"
#include "daemon/metrics.h"
#include "daemon/store.h"
#include "lib/strbuf.h"

#define API_MAX_EVENTS 1000
#define API_MAX_BODY HTTPD_MAX_BODY
/* The body cap of the webhooks (/api/v1/hooks/..., /api/flux-events). */
#define API_HOOK_MAX_BODY (4u * 1024 * 1024)
#define API_LIST_DEFAULT 50
#define API_LIST_MAX 1000
#define API_RETRY_AFTER_S 5

/*
 * The routing configuration (config and catalog) as one refcounted,
 * immutable snapshot. SIGHUP builds a new one and swaps it in with
 * api_routing_swap(); a request holds a reference while it routes, so the
 * old one is freed when its last reader is done.
 */
struct api_snapshot {
	struct config cfg;
	struct catalog cat;
	int has_catalog;
	atomic_int refs;
};

/*
 * Takes over cfg and cat: their contents are moved and the caller's structs
 * zeroed (releasing them again is harmless). cat may be NULL. Starts with
 * one reference, the caller's.
 */
struct api_snapshot *api_snapshot_new(struct config *cfg, struct catalog *cat);
struct api_snapshot *api_snapshot_get(struct api_snapshot *s);
void api_snapshot_put(struct api_snapshot *s);

struct api_routing {
	pthread_mutex_t lock;
	struct api_snapshot *cur;
};

/* Takes the caller's reference to first (which may be NULL). */
void api_routing_init(struct api_routing *r, struct api_snapshot *first);
/* A reference to the current snapshot (put it back), or NULL. */
struct api_snapshot *api_routing_current(struct api_routing *r);
/* Installs next (taking the caller's reference); the old one is put. */
void api_routing_swap(struct api_routing *r, struct api_snapshot *next);
void api_routing_release(struct api_routing *r);

/*
 * Wakes the engine: the notifications with these IDs were just accepted
 * (or queued again by a retry) and are waiting to be delivered.
 */
typedef void api_wake_fn(void *arg, const int64_t *ids, size_t nr);

/*
 * A notification just accepted and queued, with what delivering it needs,
 * so the engine does not read it back from the store or parse its event
 * again.
 */
struct api_queued {
	int64_t id;
	double created_at;		/* store_now() clock */
	char *destination;
	char *correlation_key;		/* NULL: none */
	struct event *ev;		/* the event as parsed */
};

/*
 * Hands the engine notifications just accepted and committed, each once
 * (a duplicate event is not handed again). The callee takes destination,
 * correlation_key and ev of each (setting them NULL); the array stays the
 * caller's.
 */
typedef void api_queued_fn(void *arg, struct api_queued *q, size_t nr);
/* Frees what q still holds. */
void api_queued_release(struct api_queued *q);

/*
 * Whether the provider can deliver: returns 1 when it can (or is not yet
 * known not to), 0 with why filled ("slack rejected the token:
 * invalid_auth") when its credentials are known bad.
 */
typedef int api_ready_fn(void *arg, struct strbuf *why);

/*
 * The silences changed (one was added or ended early): the engine reads
 * them again.
 */
typedef void api_silences_fn(void *arg);
struct api_context {
	struct store *store;
	struct api_routing *routing;
	api_wake_fn *wake;		/* may be NULL */
	void *wake_arg;
	api_queued_fn *queued;		/* may be NULL: wake gets the ids */
	void *queued_arg;
	api_ready_fn *ready;		/* may be NULL: always ready */
	void *ready_arg;
	api_silences_fn *silences;	/* may be NULL */
	void *silences_arg;
	struct metrics *metrics;	/* may be NULL */
	const char *api_token;		/* NULL: the API needs no token */
	int beyond_loopback;		/* listening on more than loopback */
	atomic_int shutting_down;	/* set: /api/ answers 503 */
};

/*
 * Fills ctx with defaults: everything NULL, not shutting down. The
 * caller sets the fields it has.
 */
void api_context_init(struct api_context *ctx);
void api_set_shutting_down(struct api_context *ctx);

/*
 * An endpoint's handler. It runs once the checks every request gets have
 * passed (see dispatch() in api.c); id is the {id} of the path, already
 * parsed, or 0 when the pattern has none.
 */
typedef void api_handler_fn(struct api_context *ctx,
			    const struct httpd_request *req, int64_t id,
			    struct httpd_response *resp);

enum api_endpoint_flags {
	API_PUBLIC = 1 << 0,		/* no credentials needed: the probes */
	API_OWN_AUTH = 1 << 1,		/* the handler checks credentials
					   itself (an ?access_token=, a
					   signature) instead of the bearer
					   token */
	API_WHILE_STOPPING = 1 << 2,	/* answered while herald shuts down,
					   not 503 */
};

/*
 * One endpoint. Without flags, it needs the bearer token (when
 * HERALD_API_TOKEN is set) and answers 503 while herald shuts down.
 */
struct api_endpoint {
	const char *method;	/* the method; an endpoint for GET also
				   answers HEAD */
	const char *pattern;	/* the path; {id} takes one segment, a
				   notification ID (404 when it is not) */
	api_handler_fn *handler;
	unsigned flags;		/* enum api_endpoint_flags */
};

extern const struct api_endpoint api_endpoints[];
extern const size_t api_endpoints_nr;

/* The request handler (httpd_handler_fn); arg is the struct api_context. */
void api_handle(void *arg, const struct httpd_request *req,
		struct httpd_response *resp);

/*
 * The route pattern of a path, for logs and metrics:
 * "/api/v1/notifications/{id}" for "/api/v1/notifications/12", "other"
 * for an unknown path.
 */
const char *api_route_pattern(const char *path);

/*
 * Start-up policy: without an API token herald listens on loopback only.
 * Returns 0 when cfg->listen is allowed, else HERALD_EINVAL with err
 * saying how to fix it (set HERALD_API_TOKEN or HERALD_API_TOKEN_FILE, or
 * HERALD_INSECURE=1). *beyond_loopback (may be NULL) says whether
 * cfg->listen reaches other hosts.
 */
int api_check_listen(const struct config *cfg, int *beyond_loopback,
		     struct errbuf *err);

/*
 * The most a request to path may send (an httpd_options max_body_for):
 * API_HOOK_MAX_BODY for the webhooks, API_MAX_BODY for the rest.
 */
size_t api_max_body(const char *path);

#endif
