/*
 * log: structured logging for the daemon, one line per happening.
 *
 * Lines go to stderr (or the descriptor given to log_set_fd()) in logfmt
 *
 *     ts=2026-11-26T10:00:00.123Z level=info msg=delivered notification=12
 *
 * or, with format "json", as one JSON object per line. Each line is written
 * with one write(), so lines from different threads never interleave. Every
 * secret registered with redact_add_secret() (the platform token, the API
 * token) and every password in a URL is replaced by "…" (lib/redact.h)
 * wherever it occurs in a line, as a last line of defence.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include <stddef.h>
#include <time.h>

#include "lib/errbuf.h"
#include "lib/strbuf.h"

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

enum log_format {
	LOG_FORMAT_LOGFMT,
	LOG_FORMAT_JSON,
};

/* "debug", "info", "warn", "error". */
const char *log_level_name(enum log_level level);
/* Return 0 and set *out, or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
int log_format_parse(const char *name, enum log_format *out);

/*
 * Sets the format ("logfmt" or "json") and the lowest level written
 * ("debug" … "error"); NULL keeps the current one (logfmt and info before
 * the first call). Returns 0, or HERALD_EINVAL with err naming the bad value.
 */
int log_init(const char *format, const char *level, struct errbuf *err);
/* Where lines go; 2 (stderr) by default. */
void log_set_fd(int fd);
/*
 * Replaces the clock (realtime) that stamps lines; NULL restores it. For
 * tests that compare whole lines.
 */
void log_set_clock(void (*now)(struct timespec *ts));
/* Whether a line of this level would be written. */
int log_enabled(enum log_level level);

/*
 * Writes one line: msg, then key/value string pairs ending with a NULL key.
 * A NULL value is written as an empty string (logfmt) or null (JSON).
 *
 *     log_event(LOG_INFO, "delivered", "destination", "#deploys",
 *               "state", "delivered", NULL);
 */
void log_event(enum log_level level, const char *msg, ...)
	__attribute__((sentinel));

/*
 * From log_hold() to log_flush(), the lines of the calling thread wait and
 * then go out together in one write(), whole and in order: for a burst of
 * lines, such as one per event of a batch or per answer of a loop turn. A
 * line of LOG_WARN or worse, or 64 KiB of lines, flushes at once.
 */
void log_hold(void);
void log_flush(void);

/*
 * A line built field by field, for values that are not strings:
 *
 *     struct log_line l;
 *     log_begin(&l, LOG_INFO, "delivered");
 *     log_int(&l, "notification", id);
 *     log_str(&l, "destination", dest);
 *     log_end(&l);
 *
 * When the level is filtered out the calls do nothing. log_end() writes the
 * line and releases it.
 */
struct log_line {
	enum log_level level;
	enum log_format format;
	int skip;
	struct strbuf sb;
};

void log_begin(struct log_line *l, enum log_level level, const char *msg);
void log_str(struct log_line *l, const char *key, const char *value);
/* A (ptr, len) value, which need not be NUL-terminated. */
void log_strn(struct log_line *l, const char *key, const char *value,
	      size_t len);
void log_int(struct log_line *l, const char *key, long long value);
void log_double(struct log_line *l, const char *key, double value);
void log_bool(struct log_line *l, const char *key, int value);
void log_end(struct log_line *l);

/*
 * Appends s escaped as a logfmt value (quoted when it is empty or holds
 * white space, '=', '"', '\\' or control characters) or as a JSON string
 * (always quoted). Exposed for tests.
 */
void log_escape_logfmt(struct strbuf *out, const char *s, size_t len);
void log_escape_json(struct strbuf *out, const char *s, size_t len);

#endif
