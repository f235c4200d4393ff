/*
 * Fuzz target for the log line encoders (daemon/log.c): logfmt and JSON
 * lines built field by field, held and flushed, with a secret registered.
 * Byte 0: bit 0 JSON (else logfmt), bit 1 hold the lines and flush them at
 * the end, bits 2-3 the lowest level written. The rest is split at NUL
 * bytes into chunks; the first is a line's message; in each next chunk
 * byte 0 says what it is (mod 7): a string field, a (ptr, len) string
 * field, a NULL string, a whole number or a double (the chunk's next 8
 * bytes), a boolean, or the end of the line (its byte 1: the next line's
 * level, its rest the next message).
 *
 * What is written must be whole lines, each one line ending in "\n", at
 * most 64 KiB, valid UTF-8 without control characters, without the secret
 * (nor URL credentials: a field holding "://" is not compared); a JSON
 * line must parse as an object, a logfmt line as key=value pairs (a value
 * bare only when it needs no quotes, else a JSON string); and each field
 * whose value is valid UTF-8 of at most 4 KiB must read back as the value
 * given, numbers as numbers that parse back to the same value. Aborts
 * otherwise.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/log.h"
#include "lib/redact.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_log.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

#define SECRET "s3cr3t_fuzz_log_token"
#define MAX_FIELDS 64
#define MAX_LINES 16

static int log_fd = -1;

static void fixed_clock(struct timespec *ts)
{
	ts->tv_sec = 1795687200;
	ts->tv_nsec = 123456789;
}

enum kind { K_STR, K_STRN, K_NULL, K_INT, K_DOUBLE, K_BOOL, K_END };

/* What one field was given, to compare with what was written. */
struct field {
	char key[8];
	enum kind kind;
	const char *s;
	size_t len;
	long long i;
	double d;
	int b;
};

struct line {
	int level;
	struct field fields[MAX_FIELDS + 1];	/* [0] is msg */
	size_t nr;
	size_t raw_len;				/* bytes given, for the cap */
};

/* Whether a string field is compared: no redaction can have changed it. */
static int comparable(const struct field *f)
{
	if (f->kind != K_STR && f->kind != K_STRN)
		return 0;
	return f->len <= 4096 && utf8_valid(f->s, f->len) &&
	       !memmem(f->s, f->len, "://", 3) &&
	       !memmem(f->s, f->len, SECRET, strlen(SECRET)) &&
	       (f->kind == K_STRN || !memchr(f->s, '\0', f->len));
}

static void check_value(const struct field *f, const json_t *v)
{
	switch (f->kind) {
	case K_STR:
	case K_STRN:
		CHECK(json_is_string(v));
		if (comparable(f))
			CHECK(json_string_length(v) == f->len &&
			      !memcmp(json_string_value(v), f->s, f->len));
		break;
	case K_NULL:
		CHECK(json_is_null(v) ||
		      (json_is_string(v) && !json_string_length(v)));
		break;
	case K_INT:
		CHECK(json_is_integer(v) && json_integer_value(v) == f->i);
		break;
	case K_DOUBLE:
		if (!isfinite(f->d)) {
			CHECK(json_is_string(v));
			break;
		}
		CHECK(json_is_number(v));
		CHECK(json_number_value(v) == f->d);
		break;
	case K_BOOL:
		CHECK(json_is_boolean(v) && json_is_true(v) == !!f->b);
		break;
	default:
		abort();
	}
}

/* A JSON line: an object with ts, level, msg and the fields. */
static void check_json_line(const char *s, size_t len, const struct line *l)
{
	json_error_t e;
	json_t *j = json_loadb(s, len, JSON_ALLOW_NUL, &e);

	if (!j) {
		fprintf(stderr, "not JSON (%s): %.*s\n", e.text, (int)len, s);
		abort();
	}
	CHECK(json_is_object(j));
	CHECK(!strcmp(json_string_value(json_object_get(j, "ts")),
		      "2026-11-26T10:00:00.123Z"));
	CHECK(!strcmp(json_string_value(json_object_get(j, "level")),
		      log_level_name((enum log_level)l->level)));
	for (size_t i = 0; i < l->nr; i++) {
		const json_t *v = json_object_get(j, l->fields[i].key);

		if (v || l->raw_len < 8000)
			check_value(&l->fields[i], v);
	}
	json_decref(j);
}

/* A logfmt value (unquoted) against what was given. */
static void check_logfmt_value(const struct field *f, const char *s,
			       size_t len)
{
	char *end;

	CHECK(strlen(s) == len || f->kind == K_STR || f->kind == K_STRN);
	switch (f->kind) {
	case K_STR:
	case K_STRN:
		if (comparable(f))
			CHECK(len == f->len && !memcmp(s, f->s, len));
		break;
	case K_NULL:
		CHECK(len == 0);
		break;
	case K_INT:
		CHECK(strtoll(s, &end, 10) == f->i && !*end && len);
		break;
	case K_DOUBLE:
		if (isnan(f->d))
			CHECK(!strcmp(s, "NaN"));
		else if (isinf(f->d))
			CHECK(!strcmp(s, f->d > 0 ? "+Inf" : "-Inf"));
		else
			CHECK(strtod(s, &end) == f->d && !*end && len);
		break;
	case K_BOOL:
		CHECK(!strcmp(s, f->b ? "true" : "false"));
		break;
	default:
		abort();
	}
}

/* A logfmt line: key=value pairs, a value bare or a JSON string. */
static void check_logfmt_line(const char *s, size_t len, const struct line *l)
{
	json_t *obj = json_object();
	const char *p = s, *end = s + len;

	while (p < end) {
		const char *eq = memchr(p, '=', (size_t)(end - p)), *v;
		json_t *val;
		char key[64];

		CHECK(eq && eq > p && (size_t)(eq - p) < sizeof(key));
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = '\0';
		for (const char *k = key; *k; k++)
			CHECK(*k != ' ' && *k != '"');
		v = eq + 1;
		if (v < end && *v == '"') {
			const char *q = v + 1;

			while (q < end && *q != '"')
				q += *q == '\\' ? 2 : 1;
			CHECK(q < end);
			val = json_loadb(v, (size_t)(q - v) + 1,
					 JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			CHECK(val && json_is_string(val));
			p = q + 1;
		} else {
			const char *q = v;

			while (q < end && *q != ' ')
				q++;
			CHECK(q > v);
			for (const char *c = v; c < q; c++)
				CHECK(*c != '=' && *c != '"' && *c != '\\' &&
				      (unsigned char)*c > ' ' && *c != 0x7f);
			val = json_stringn(v, (size_t)(q - v));
			CHECK(val);
			p = q;
		}
		json_object_set_new(obj, key, val);
		if (p < end) {
			CHECK(*p == ' ');
			p++;
			CHECK(p < end);
		}
	}
	CHECK(!strcmp(json_string_value(json_object_get(obj, "ts")),
		      "2026-11-26T10:00:00.123Z"));
	for (size_t i = 0; i < l->nr; i++) {
		const struct field *f = &l->fields[i];
		const json_t *v = json_object_get(obj, f->key);

		if (!v && l->raw_len >= 8000)
			continue;
		CHECK(json_is_string(v));
		check_logfmt_value(f, json_string_value(v),
				   json_string_length(v));
	}
	json_decref(obj);
}

static void check_output(const char *out, size_t len, int json,
			 const struct line *lines, size_t nlines, int min_level)
{
	const char *p = out, *end = out + len;

	CHECK(utf8_valid(out, len));
	CHECK(!memmem(out, len, SECRET, strlen(SECRET)));
	for (size_t i = 0; i < nlines; i++) {
		const char *nl;

		if (lines[i].level < min_level)
			continue;
		CHECK(p < end);
		nl = memchr(p, '\n', (size_t)(end - p));
		CHECK(nl);
		CHECK((size_t)(nl - p) + 1 <= 64 * 1024);
		for (const char *c = p; c < nl; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
		if (json)
			check_json_line(p, (size_t)(nl - p), &lines[i]);
		else
			check_logfmt_line(p, (size_t)(nl - p), &lines[i]);
		p = nl + 1;
	}
	CHECK(p == end);
}

static void emit(struct log_line *ll, const struct field *f)
{
	switch (f->kind) {
	case K_STR:
		log_str(ll, f->key, f->s);
		break;
	case K_STRN:
		log_strn(ll, f->key, f->s, f->len);
		break;
	case K_NULL:
		log_str(ll, f->key, NULL);
		break;
	case K_INT:
		log_int(ll, f->key, f->i);
		break;
	case K_DOUBLE:
		log_double(ll, f->key, f->d);
		break;
	case K_BOOL:
		log_bool(ll, f->key, f->b);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct line lines[MAX_LINES];
	const char *p, *end;
	int json, hold, min_level;
	struct errbuf err;
	size_t nlines = 0;
	char *copy;
	off_t len;

	if (size < 1)
		return 0;
	if (log_fd < 0) {
		log_fd = memfd_create("fuzz_log", MFD_CLOEXEC);
		CHECK(log_fd >= 0);
		log_set_fd(log_fd);
		log_set_clock(fixed_clock);
		redact_add_secret(SECRET);
	}
	json = data[0] & 1;
	hold = data[0] & 2;
	min_level = (data[0] >> 2) & 3;
	CHECK(log_init(json ? "json" : "logfmt",
		       log_level_name((enum log_level)min_level), &err) == 0);
	copy = malloc(size);
	CHECK(copy);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = copy;
	end = copy + size - 1;

	/* Split into lines of fields. */
	memset(lines, 0, sizeof(lines));
	lines[0].level = 1;
	strcpy(lines[0].fields[0].key, "msg");
	lines[0].fields[0].kind = K_STR;
	lines[0].fields[0].s = p;
	lines[0].fields[0].len = strlen(p);
	lines[0].nr = 1;
	nlines = 1;
	p += strlen(p) + 1;
	while (p < end) {
		size_t n = strlen(p);
		struct line *l = &lines[nlines - 1];
		struct field *f;
		uint64_t bits = 0;

		if (!n) {
			p++;
			continue;
		}
		if ((unsigned char)p[0] % 7 == K_END) {
			if (nlines == MAX_LINES)
				break;
			l = &lines[nlines++];
			l->level = n > 1 ? (unsigned char)p[1] % 4 : 1;
			strcpy(l->fields[0].key, "msg");
			l->fields[0].kind = K_STR;
			l->fields[0].s = n > 1 ? p + 2 : p + 1;
			l->fields[0].len = strlen(l->fields[0].s);
			l->nr = 1;
			p += n + 1;
			continue;
		}
		if (l->nr > MAX_FIELDS)
			break;
		f = &l->fields[l->nr];
		snprintf(f->key, sizeof(f->key), "f%zu", l->nr);
		f->kind = (enum kind)((unsigned char)p[0] % 7);
		f->s = p + 1;
		f->len = n - 1;
		memcpy(&bits, p + 1, n - 1 < 8 ? n - 1 : 8);
		f->i = (long long)bits;
		memcpy(&f->d, &bits, sizeof(f->d));
		f->b = (int)(bits & 1);
		l->raw_len += n;
		l->nr++;
		p += n + 1;
	}

	CHECK(ftruncate(log_fd, 0) == 0);
	CHECK(lseek(log_fd, 0, SEEK_SET) == 0);
	if (hold)
		log_hold();
	for (size_t i = 0; i < nlines; i++) {
		struct log_line ll;

		lines[i].raw_len += lines[i].fields[0].len;
		log_begin(&ll, (enum log_level)lines[i].level,
			  lines[i].fields[0].s);
		for (size_t k = 1; k < lines[i].nr; k++)
			emit(&ll, &lines[i].fields[k]);
		log_end(&ll);
	}
	if (hold)
		log_flush();

	len = lseek(log_fd, 0, SEEK_CUR);
	CHECK(len >= 0);
	{
		char *out = malloc((size_t)len + 1);

		CHECK(out);
		CHECK(pread(log_fd, out, (size_t)len, 0) == len);
		check_output(out, (size_t)len, json, lines, nlines, min_level);
		free(out);
	}
	free(copy);
	return 0;
}
