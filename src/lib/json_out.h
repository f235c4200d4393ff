/*
 * json_out: writes a jansson value as compact JSON text into a strbuf,
 * byte for byte what json_dumps(j, JSON_COMPACT) writes (jansson keeps
 * an object's keys in insertion order), without its per-token callbacks
 * and buffer copies: the request bodies herald sends and its API answers.
 */
#ifndef HERALD_JSON_OUT_H
#define HERALD_JSON_OUT_H

#include <jansson.h>

#include "lib/strbuf.h"

/* Also \uXXXX for every character past U+007F (JSON_ENSURE_ASCII). */
#define JSON_OUT_ASCII 1

/*
 * Appends j (any JSON value) to out. Returns 0, or -1 when a string is
 * not valid UTF-8 or out went over its cap (strbuf_overflowed(), also
 * when it had before the call): out then holds a part, never to be sent.
 */
int json_out(struct strbuf *out, const json_t *j, int flags);

#endif
