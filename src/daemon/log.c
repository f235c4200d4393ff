/*
 * log: structured log lines in logfmt or JSON, with secrets redacted.
 *
 * A line is built in a struct strbuf, values redacted (lib/redact.h) before
 * they are escaped (so a secret cannot hide behind an escape) and the whole
 * line once more after, then written with a single write() so that lines
 * from the HTTP threads, the committer and the engine never interleave (a
 * thread may hold its lines for a moment and write several at once). The
 * settings are atomics: logging may happen from any thread at any time.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "lib/redact.h"
#include "lib/utf8.h"

#define LINE_MAX_BYTES (64u * 1024)
#define HELD_MAX_BYTES (64u * 1024)
#define VALUE_MAX_BYTES 4096

static atomic_int min_level = LOG_INFO;
static atomic_int out_format = LOG_FORMAT_LOGFMT;
static atomic_int out_fd = 2;

static void (*_Atomic clock_fn)(struct timespec *ts);

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_ERROR)
		return "info";
	return level_names[level];
}

int log_level_parse(const char *name, enum log_level *out)
{
	if (!name)
		return -1;
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int log_format_parse(const char *name, enum log_format *out)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "logfmt")) {
		*out = LOG_FORMAT_LOGFMT;
		return 0;
	}
	if (!strcasecmp(name, "json")) {
		*out = LOG_FORMAT_JSON;
		return 0;
	}
	return -1;
}

int log_init(const char *format, const char *level, struct errbuf *err)
{
	enum log_format f = (enum log_format)atomic_load(&out_format);
	enum log_level l = (enum log_level)atomic_load(&min_level);

	if (format && log_format_parse(format, &f))
		return errbuf_set(err, HERALD_EINVAL, "HERALD_LOG_FORMAT: \"%s\" is "
				  "not a log format: use logfmt or json", format);
	if (level && log_level_parse(level, &l))
		return errbuf_set(err, HERALD_EINVAL, "HERALD_LOG_LEVEL: \"%s\" is "
				  "not a log level: use debug, info, warn or error",
				  level);
	atomic_store(&out_format, (int)f);
	atomic_store(&min_level, (int)l);
	return 0;
}

void log_set_fd(int fd)
{
	atomic_store(&out_fd, fd);
}

void log_set_clock(void (*now)(struct timespec *ts))
{
	atomic_store(&clock_fn, now);
}

int log_enabled(enum log_level level)
{
	return (int)level >= atomic_load(&min_level);
}

/* The body of a quoted string: JSON escapes, bad UTF-8 as U+FFFD. */
static void escape_body(struct strbuf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = u[i];
		size_t n;

		switch (c) {
		case '"':
			strbuf_addstr(out, "\\\"");
			i++;
			continue;
		case '\\':
			strbuf_addstr(out, "\\\\");
			i++;
			continue;
		case '\n':
			strbuf_addstr(out, "\\n");
			i++;
			continue;
		case '\r':
			strbuf_addstr(out, "\\r");
			i++;
			continue;
		case '\t':
			strbuf_addstr(out, "\\t");
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			strbuf_addf(out, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_char_len(s + i, len - i);
		if (!n) {
			strbuf_addstr(out, "\\ufffd");
			i++;
			continue;
		}
		strbuf_add(out, s + i, n);
		i += n;
	}
}

void log_escape_json(struct strbuf *out, const char *s, size_t len)
{
	strbuf_addch(out, '"');
	escape_body(out, s, len);
	strbuf_addch(out, '"');
}

static int logfmt_needs_quotes(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (!len)
		return 1;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t n;

		if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f)
			return 1;
		n = utf8_char_len(s + i, len - i);
		if (!n)
			return 1;
		i += n;
	}
	return 0;
}

void log_escape_logfmt(struct strbuf *out, const char *s, size_t len)
{
	if (!logfmt_needs_quotes(s, len)) {
		strbuf_add(out, s, len);
		return;
	}
	log_escape_json(out, s, len);
}

static void add_key(struct strbuf *out, const char *key)
{
	if (!key || !*key) {
		strbuf_addch(out, '_');
		return;
	}
	for (const char *p = key; *p; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';

		strbuf_addch(out, ok ? c : '_');
	}
}

/*
 * Appends one field (with its separator) to the line, or drops it when the
 * line would grow past its cap. raw says whether value is already a
 * literal (a number, true/false) that needs no quotes.
 */
static void add_field(struct log_line *l, const char *key, const char *value,
		      size_t len, int raw)
{
	struct strbuf clean = STRBUF_INIT, *dst = &l->sb;
	size_t mark = l->sb.len;

	if (l->skip)
		return;
	if (!raw && value && (len > VALUE_MAX_BYTES ||
			      redact_needed(value, len, NULL))) {
		redact(&clean, value, len, NULL);
		if (clean.len > VALUE_MAX_BYTES) {
			size_t cut = VALUE_MAX_BYTES;

			while (cut && ((unsigned char)clean.buf[cut] & 0xc0) == 0x80)
				cut--;
			strbuf_setlen(&clean, cut);
			strbuf_addstr(&clean, "…");
		}
		value = clean.buf;
		len = clean.len;
	}
	if (l->format == LOG_FORMAT_JSON) {
		strbuf_addch(dst, ',');
		strbuf_addch(dst, '"');
		add_key(dst, key);
		strbuf_addstr(dst, "\":");
		if (!value)
			strbuf_addstr(dst, "null");
		else if (raw)
			strbuf_add(dst, value, len);
		else
			log_escape_json(dst, value, len);
	} else {
		if (l->sb.len)
			strbuf_addch(dst, ' ');
		add_key(dst, key);
		strbuf_addch(dst, '=');
		if (!value)
			strbuf_addstr(dst, "\"\"");
		else if (raw)
			strbuf_add(dst, value, len);
		else
			log_escape_logfmt(dst, value, len);
	}
	/*
	 * A field that went over the line's cap, or left no room for the
	 * closing brace and the newline, is dropped whole.
	 */
	if (strbuf_overflowed(dst) || dst->len + 2 > LINE_MAX_BYTES)
		strbuf_setlen(dst, mark);
	strbuf_release(&clean);
}

static void timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	void (*fn)(struct timespec *) = atomic_load(&clock_fn);
	/* The date and time to the second, formatted once a second. */
	static __thread time_t last_sec = -1;
	static __thread char date[32];

	if (fn)
		fn(&ts);
	else
		clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = ts.tv_sec;
	}
	snprintf(buf, size, "%s.%03ldZ", date, ts.tv_nsec / 1000000);
}

void log_begin(struct log_line *l, enum log_level level, const char *msg)
{
	char ts[48];

	l->level = level;
	l->format = (enum log_format)atomic_load(&out_format);
	l->skip = !log_enabled(level);
	strbuf_init(&l->sb, LINE_MAX_BYTES);
	if (l->skip)
		return;
	timestamp(ts, sizeof(ts));
	if (l->format == LOG_FORMAT_JSON) {
		strbuf_addstr(&l->sb, "{\"ts\":\"");
		strbuf_addstr(&l->sb, ts);
		strbuf_addstr(&l->sb, "\",\"level\":\"");
		strbuf_addstr(&l->sb, log_level_name(level));
		strbuf_addch(&l->sb, '"');
	} else {
		strbuf_addstr(&l->sb, "ts=");
		strbuf_addstr(&l->sb, ts);
		strbuf_addstr(&l->sb, " level=");
		strbuf_addstr(&l->sb, log_level_name(level));
	}
	add_field(l, "msg", msg ? msg : "", msg ? strlen(msg) : 0, 0);
}

void log_str(struct log_line *l, const char *key, const char *value)
{
	add_field(l, key, value, value ? strlen(value) : 0, 0);
}

void log_strn(struct log_line *l, const char *key, const char *value,
	      size_t len)
{
	add_field(l, key, value, len, 0);
}

void log_int(struct log_line *l, const char *key, long long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", value);
	add_field(l, key, buf, strlen(buf), 1);
}

void log_double(struct log_line *l, const char *key, double value)
{
	char buf[40];

	if (!isfinite(value)) {
		snprintf(buf, sizeof(buf), "%s", isnan(value) ? "NaN" :
			 value > 0 ? "+Inf" : "-Inf");
		add_field(l, key, buf, strlen(buf), 0);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", value);
	if (strtod(buf, NULL) != value)
		snprintf(buf, sizeof(buf), "%.17g", value);
	add_field(l, key, buf, strlen(buf), 1);
}

void log_bool(struct log_line *l, const char *key, int value)
{
	add_field(l, key, value ? "true" : "false", value ? 4 : 5, 1);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static __thread struct strbuf held = STRBUF_INIT;
static __thread int holding;

void log_hold(void)
{
	holding = 1;
}

void log_flush(void)
{
	if (held.len)
		write_all(atomic_load(&out_fd), held.buf, held.len);
	strbuf_release(&held);
	holding = 0;
}

void log_end(struct log_line *l)
{
	struct strbuf line = STRBUF_INIT;

	if (l->skip)
		goto out;
	if (l->format == LOG_FORMAT_JSON)
		strbuf_addch(&l->sb, '}');
	strbuf_addch(&l->sb, '\n');
	/* Second pass over the finished line: defence in depth. */
	if (redact_needed(l->sb.buf, l->sb.len, NULL)) {
		redact(&line, l->sb.buf, l->sb.len, NULL);
	} else {
		line = l->sb;
		strbuf_init(&l->sb, LINE_MAX_BYTES);
	}
	if (holding && l->level < LOG_WARN &&
	    held.len + line.len <= HELD_MAX_BYTES) {
		strbuf_add(&held, line.buf, line.len);
	} else if (holding) {
		strbuf_add(&held, line.buf, line.len);
		write_all(atomic_load(&out_fd), held.buf, held.len);
		strbuf_reset(&held);
	} else {
		write_all(atomic_load(&out_fd), line.buf, line.len);
	}
out:
	strbuf_release(&line);
	strbuf_release(&l->sb);
}

void log_event(enum log_level level, const char *msg, ...)
{
	struct log_line l;
	va_list ap;
	const char *key;

	if (!log_enabled(level))
		return;
	log_begin(&l, level, msg);
	va_start(ap, msg);
	while ((key = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		log_str(&l, key, value);
	}
	va_end(ap);
	log_end(&l);
}
