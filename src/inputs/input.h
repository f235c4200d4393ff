/*
 * input: what the webhook adapters (Flux, Alertmanager, GitHub) share, and
 * the one table of sources.
 *
 * An adapter is a pure converter: one request (body, headers, query) in;
 * herald events in their own JSON form (docs/events.md) plus the items it
 * ignored, each with a reason, out. The events then go through
 * event_from_json() like any POST /api/v1/events body, so validation,
 * routing, the outbox and pacing are the same for every source. A valid
 * payload of a source is never refused: a field herald cannot use is
 * dropped or shortened (with a note in ignored), so the converted events
 * always validate. No I/O.
 */
#ifndef HERALD_INPUTS_INPUT_H
#define HERALD_INPUTS_INPUT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "lib/errbuf.h"

enum input_source {
	INPUT_API,		/* POST /api/v1/events */
	INPUT_CLI,		/* herald send */
	INPUT_FLUX,
	INPUT_ALERTMANAGER,
	INPUT_GITHUB,
	INPUT_SOURCE_NR
};

/* A query parameter or a header (names of headers compare ignoring case). */
struct input_param {
	const char *name;
	const char *value;
};

/*
 * One request to a hook. Everything is borrowed from the caller. body need
 * not be NUL-terminated.
 */
struct input_request {
	const char *body;
	size_t len;
	const struct input_param *query;
	size_t query_nr;
	const struct input_param *headers;
	size_t headers_nr;
	time_t now;			/* wall clock, for "a past endsAt" */
	/*
	 * Alertmanager: the labels tried in order for the app
	 * (HERALD_ALERT_APP_LABELS; NULL: the default list), and whether the
	 * catalog knows an app (may be NULL).
	 */
	const char *const *app_labels;
	size_t app_labels_nr;
	int (*known_app)(void *ctx, const char *app);
	void *known_app_ctx;
};

/* The value of a query parameter or header, or NULL when absent. */
const char *input_query(const struct input_request *req, const char *name);
const char *input_header(const struct input_request *req, const char *name);

/*
 * What an adapter gives back. events is an array of event objects in
 * herald's JSON form (owned; input_result_release() frees it). ignored
 * holds one sentence per item dropped or field shortened:
 * "/alerts/2: resolved, never seen firing: edits only".
 */
struct input_result {
	json_t *events;
	struct errlist ignored;
};

void input_result_init(struct input_result *r);
void input_result_release(struct input_result *r);

/*
 * Converts req. Returns 0 (with zero or more events), or HERALD_EINVAL when
 * the body is not JSON or not the source's shape; err then says what is
 * wrong in one sentence. On error out holds no events.
 */
typedef int input_convert_fn(const struct input_request *req,
			     struct input_result *out, struct errbuf *err);

/* One row per source: the one list of them. */
struct input_adapter {
	enum input_source source;
	const char *name;		/* "flux": metrics label, --from */
	input_convert_fn *convert;	/* NULL: herald's own JSON */
};

/* The adapter of a source, or the one named name; NULL when unknown. */
const struct input_adapter *input_adapter_get(enum input_source source);
const struct input_adapter *input_adapter_find(const char *name);
const char *input_source_name(enum input_source source);
/* "flux, alertmanager or github": the names of the converting adapters. */
const char *input_adapter_names(void);

/*
 * Helpers for adapters. Each sets obj[name] to value made to fit herald's
 * event format: control characters become spaces (single-line fields),
 * and a value longer than max bytes is cut at a character boundary with
 * "…", noting it in r->ignored under pointer. NULL or "" sets nothing.
 */
void input_set_line(json_t *obj, const char *name, const char *value,
		    struct input_result *r, const char *pointer);
void input_set_text(json_t *obj, const char *name, const char *value,
		    struct input_result *r, const char *pointer);
/* An http(s) URL, else nothing (noted when value is not empty). */
void input_set_url(json_t *obj, const char *name, const char *value,
		   struct input_result *r, const char *pointer);
/*
 * An identifier within the event id rules (printable ASCII, at most
 * EVENT_ID_MAX bytes): prefix ":" then the SHA-256 of data in hex, cut to
 * fit. The same data always gives the same id.
 */
void input_set_id(json_t *obj, const char *prefix, const char *data,
		  size_t len);

/*
 * Converts req with adapter a and parses the result into *events (a new
 * array of *nr, free with event_array_free()). A converted event that does
 * not validate (which would be an adapter's bug) is dropped with a note in
 * out->ignored, never refused. Returns what a->convert returns; on error
 * *events is NULL and *nr 0. out must be initialised; the caller releases
 * it.
 */
struct event;
int input_convert(const struct input_adapter *a,
		  const struct input_request *req, struct input_result *out,
		  struct event **events, size_t *nr, struct errbuf *err);

/* At most this many labels in HERALD_ALERT_APP_LABELS are used. */
#define INPUT_LABELS_MAX 32

/*
 * Splits a comma-separated list of label names (HERALD_ALERT_APP_LABELS,
 * as config checked it; NULL: none) into req->app_labels. copy is the
 * caller's: a string it frees after the request (xstrdup of list).
 */
void input_set_labels(struct input_request *req, char *copy,
		      const char *names[INPUT_LABELS_MAX]);

/* Appends an event object to r->events (takes the reference). */
void input_add_event(struct input_result *r, json_t *ev);
/*
 * Sets err to "WHAT: invalid JSON at line L, column C: TEXT", jansson's
 * text (which quotes the body) cleaned to one line; returns HERALD_EINVAL.
 */
int input_json_error(struct errbuf *err, const char *what,
		     const json_error_t *jerr);

/* The string member name of obj, or NULL when absent or not a string. */
const char *input_str(const json_t *obj, const char *name);

#endif
