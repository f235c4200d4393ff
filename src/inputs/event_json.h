/*
 * event_json: parsing and validating herald's own JSON form of an event
 * (docs/events.md). Validation is strict and names the bad field as a JSON
 * pointer ("/status: \"done\" is not a deploy status; expected started,
 * succeeded or failed"). Pure: no I/O.
 */
#ifndef HERALD_INPUTS_EVENT_JSON_H
#define HERALD_INPUTS_EVENT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "core/event.h"
#include "lib/errbuf.h"

/*
 * Fills ev from a decoded JSON object. pointer is the JSON pointer of obj
 * ("" for a lone event, "/3" for the fourth of an array) and prefixes field
 * names in errors. On error ev is released and err says which field.
 */
int event_from_json(struct event *ev, const json_t *obj, const char *pointer,
		    struct errbuf *err);

/*
 * Parses text holding one event object or an array of them. On success
 * *events is a new array of *nr events (free with event_array_free()).
 * Every invalid event is listed in problems (all of them, not just the first,
 * with every problem of each) and the call fails with HERALD_EINVAL; too
 * large or too deep input fails with HERALD_ELIMIT. EVENT_MAX_BYTES bounds a
 * lone event's text and each array element (as compact JSON); the caller
 * bounds the whole text. max_events bounds the array length (0: no bound).
 * problems may be NULL. On failure *events is NULL and *nr 0.
 */
int event_parse_many(const char *text, size_t len, size_t max_events,
		     struct event **events, size_t *nr,
		     struct errlist *problems);

/*
 * Parses an RFC 3339 time (2026-11-26T10:00:00Z, fractions and offsets
 * allowed) into seconds since 1970 (fractions dropped). Returns 0, or -1
 * when s is not one.
 */
int event_parse_time(const char *s, time_t *out);

/* Whether ts is a "timestamp" the event format takes (after 1970). */
int event_timestamp_valid(const char *ts);

/* "an object", "a string", ...: v's JSON type, for messages. */
const char *json_type_word(const json_t *v);

/*
 * Whether s is a URL the event format takes: http(s) with a host, at most
 * EVENT_URL_MAX bytes, no white space or control characters.
 */
int event_url_valid(const char *s, size_t len);

#endif
