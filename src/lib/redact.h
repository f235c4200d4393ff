/*
 * redact: keeps secrets inside herald. redact() is the one function every
 * way out of the process goes through: log lines, the errors the engine
 * stores, the API's answers, `herald config`, and the HTTP client's error
 * texts. It replaces each registered secret (the platform token, the API
 * token, the webhook keys) and the credentials in a URL's user information
 * with REDACT_MARK.
 *
 * The list of secrets is process-wide and thread-safe: register them once
 * the configuration is read, and every thread's output is covered.
 */
#ifndef HERALD_REDACT_H
#define HERALD_REDACT_H

#include <stddef.h>

#include "lib/strbuf.h"

/* What a secret becomes: "…", U+2026. */
#define REDACT_MARK "\xe2\x80\xa6"

/*
 * Registers a secret: from now on redact() replaces it wherever it occurs.
 * NULL and "" are ignored; registering the same one twice is harmless.
 */
void redact_add_secret(const char *secret);
/* Forgets every secret, wiping their copies (tests). */
void redact_clear_secrets(void);

/*
 * Appends s[0..len) to out with REDACT_MARK in place of:
 *   - every registered secret, and also (one more for this call: a token
 *     the caller holds; NULL or "" for none); where several match at one
 *     place the longest wins, so a token containing another goes whole;
 *   - the password of every URL's user information ("https://bot:pw@host"
 *     becomes "https://bot:…@host"), or the whole user information when it
 *     has no password, since a token alone may stand there
 *     ("https://…@host").
 * Returns 1 when it replaced something, else 0.
 */
int redact(struct strbuf *out, const char *s, size_t len, const char *also);

/* Whether redact() would change s[0..len); cheaper than redacting. */
int redact_needed(const char *s, size_t len, const char *also);

/*
 * redact() of the NUL-terminated string in buf (of size bytes), in place,
 * cut to fit at a character boundary. Returns 1 when it replaced something.
 */
int redact_inplace(char *buf, size_t size, const char *also);

#endif
