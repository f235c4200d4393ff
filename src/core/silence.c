/*
 * silence: parsing and checking silences, their JSON, and matching
 * notifications against them (silence.h).
 */
#include "core/silence.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "lib/rfc3339.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"

const char *const silence_field_names[SILENCE_FIELD_NR] = {
	[SILENCE_APP] = "app",
	[SILENCE_ENV] = "env",
	[SILENCE_TYPE] = "type",
	[SILENCE_STATUS] = "status",
	[SILENCE_ALERT] = "alert",
	[SILENCE_OBJECT] = "object",
	[SILENCE_DESTINATION] = "destination",
};

const char *const silence_fields_expected =
	"app, env, type, status, alert, object or destination";

static const char keys_expected[] =
	"match, starts_at, ends_at, duration, comment or created_by";

void silence_release(struct silence *s)
{
	for (int i = 0; i < SILENCE_FIELD_NR; i++)
		free(s->match[i]);
	free(s->comment);
	free(s->created_by);
	memset(s, 0, sizeof(*s));
}

void silence_array_free(struct silence *s, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		silence_release(&s[i]);
	free(s);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void silence_copy(struct silence *dst, const struct silence *src)
{
	*dst = *src;
	for (int i = 0; i < SILENCE_FIELD_NR; i++)
		dst->match[i] = dup_or_null(src->match[i]);
	dst->comment = dup_or_null(src->comment);
	dst->created_by = dup_or_null(src->created_by);
}

/* ---- matching ---------------------------------------------------------- */

/* The length of the UTF-8 sequence s starts (1 for a stray byte). */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 :
		   c >= 0xC0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

/*
 * Iterative, with one point to go back to (the last "*"): linear in
 * practice, O(len(pattern) * len(s)) at worst, never exponential.
 */
int silence_glob_match(const char *p, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return 1;
			star = p;
			retry = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s += char_len(s);
			continue;
		}
		if (*p && *p == *s) {
			p++;
			s++;
			continue;
		}
		if (!star)
			return 0;
		p = star;
		retry += char_len(retry);
		s = retry;
	}
	while (*p == '*')
		p++;
	return !*p;
}

void silence_subject_of(struct silence_subject *subj, const struct event *ev,
			const char *destination)
{
	memset(subj, 0, sizeof(*subj));
	subj->v[SILENCE_APP] = ev->app;
	subj->v[SILENCE_ENV] = ev->env;
	subj->v[SILENCE_TYPE] = event_type_name(ev->type);
	subj->v[SILENCE_STATUS] = ev->status == EVENT_STATUS_NONE ? NULL :
				  event_status_name(ev->status);
	subj->v[SILENCE_ALERT] = ev->alert_name;
	subj->v[SILENCE_OBJECT] = ev->alert_object;
	subj->v[SILENCE_DESTINATION] = destination;
}

int silence_is_active(const struct silence *s, double now)
{
	return s->starts_at <= now && now < s->ends_at && s->ended_at <= 0;
}

const char *silence_state(const struct silence *s, double now)
{
	if (silence_is_active(s, now))
		return "active";
	return s->ended_at <= 0 && now < s->starts_at ? "pending" : "expired";
}

int silence_matches(const struct silence *s,
		    const struct silence_subject *subj)
{
	for (int i = 0; i < SILENCE_FIELD_NR; i++) {
		if (s->match[i] &&
		    !silence_glob_match(s->match[i], subj->v[i] ? subj->v[i] : ""))
			return 0;
	}
	return 1;
}

const struct silence *silence_find(const struct silence *set, size_t nr,
				   const struct silence_subject *subj,
				   double now)
{
	for (size_t i = 0; i < nr; i++)
		if (silence_is_active(&set[i], now) &&
		    silence_matches(&set[i], subj))
			return &set[i];
	return NULL;
}

/* ---- parsing ----------------------------------------------------------- */

static int has_glob(const char *v)
{
	return strpbrk(v, "*?") != NULL;
}

/*
 * Checks a single-line string value of at most max bytes: valid UTF-8,
 * no control characters. what names it for the message.
 */
static int check_line(const char *what, const char *v, size_t len,
		      size_t max, int multiline, struct errbuf *err)
{
	size_t bad;

	if (!len)
		return errbuf_set(err, HERALD_EINVAL, "%s is empty", what);
	if (len > max)
		return errbuf_set(err, HERALD_EINVAL,
				  "%s is %zu bytes long; at most %zu are allowed",
				  what, len, max);
	if (memchr(v, '\0', len))
		return errbuf_set(err, HERALD_EINVAL, "%s contains a NUL character",
				  what);
	bad = utf8_valid_prefix(v, len);
	if (bad < len)
		return errbuf_set(err, HERALD_EINVAL,
				  "%s: invalid UTF-8 at byte %zu", what, bad);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) ||
		    c == 0x7F)
			return errbuf_set(err, HERALD_EINVAL,
					  "%s has a control character at byte %zu; expected a single line",
					  what, i);
	}
	return 0;
}

/* Sets matcher f to value (len bytes), checked. */
static int set_matcher(struct silence *s, enum silence_field f,
		       const char *value, size_t len, struct errbuf *err)
{
	char what[48];
	int ret;

	snprintf(what, sizeof(what), "match.%s", silence_field_names[f]);
	ret = check_line(what, value, len, SILENCE_VALUE_MAX, 0, err);
	if (ret)
		return ret;
	if (f == SILENCE_TYPE && !has_glob(value)) {
		enum event_type t;

		if (event_type_parse(value, &t))
			return errbuf_set(err, HERALD_EINVAL,
					  "%s: \"%s\" is not an event type: %s (or a glob such as \"*\")",
					  what, value, event_type_expected);
	}
	if (f == SILENCE_STATUS && !has_glob(value)) {
		enum event_status st;

		if (event_status_parse(value, &st) || st == EVENT_STATUS_NONE)
			return errbuf_set(err, HERALD_EINVAL,
					  "%s: \"%s\" is not an event status: expected started, succeeded, failed, progressing, applied, healthy, unhealthy, firing or resolved (or a glob)",
					  what, value);
	}
	free(s->match[f]);
	s->match[f] = xstrndup(value, len);
	return 0;
}

static int field_parse(const char *name, size_t len, enum silence_field *out)
{
	for (int i = 0; i < SILENCE_FIELD_NR; i++) {
		if (strlen(silence_field_names[i]) == len &&
		    !memcmp(silence_field_names[i], name, len)) {
			*out = (enum silence_field)i;
			return 0;
		}
	}
	return -1;
}

int silence_set_matcher(struct silence *s, const char *arg,
			struct errbuf *err)
{
	const char *eq = strchr(arg, '=');
	enum silence_field f;

	if (!eq || eq == arg)
		return errbuf_set(err, HERALD_EINVAL,
				  "matcher \"%s\" has no name=value: expected e.g. app=api or alert='CrashLoop*'",
				  arg);
	if (field_parse(arg, (size_t)(eq - arg), &f))
		return errbuf_set(err, HERALD_EINVAL,
				  "matcher \"%s\": unknown name \"%.*s\": expected %s",
				  arg, (int)(eq - arg), arg, silence_fields_expected);
	return set_matcher(s, f, eq + 1, strlen(eq + 1), err);
}

int silence_parse_duration(const char *s, long *seconds, struct errbuf *err)
{
	const char *p = s;
	double total = 0;

	if (!*s)
		goto bad;
	while (*p) {
		double n = 0, unit;
		int digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 9) {
			n = n * 10 + (*p++ - '0');
			digits++;
		}
		if (!digits)
			goto bad;
		switch (*p++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: goto bad;
		}
		total += n * unit;
		if (total > SILENCE_MAX_S)
			return errbuf_set(err, HERALD_EINVAL,
					  "duration \"%s\" is longer than 30 days, the longest a silence lasts",
					  s);
	}
	if (total <= 0)
		return errbuf_set(err, HERALD_EINVAL,
				  "duration \"%s\" is zero: a silence lasts at least a second",
				  s);
	*seconds = (long)total;
	return 0;
bad:
	return errbuf_set(err, HERALD_EINVAL,
			  "duration \"%s\" is not one: expected a number and a unit (s, m, h or d), e.g. 30m, 2h, 1d or 1h30m",
			  s);
}

/* A string member; *out points into obj. Absent or null: NULL and 0. */
static int get_string(const json_t *obj, const char *key, const char **out,
		      size_t *len, struct errbuf *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return errbuf_set(err, HERALD_EINVAL,
				  "%s: expected a string", key);
	*out = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int parse_match(struct silence *s, const json_t *m, struct errbuf *err)
{
	const char *key;
	const json_t *v;
	int ret, n = 0;

	if (!m || json_is_null(m))
		return errbuf_set(err, HERALD_EINVAL,
				  "match is missing: name what to silence, e.g. {\"match\": {\"app\": \"api\", \"env\": \"staging\"}} (matchers: %s)",
				  silence_fields_expected);
	if (!json_is_object(m))
		return errbuf_set(err, HERALD_EINVAL,
				  "match: expected an object of matchers (%s)",
				  silence_fields_expected);
	json_object_foreach((json_t *)m, key, v) {
		enum silence_field f;

		if (field_parse(key, strlen(key), &f))
			return errbuf_set(err, HERALD_EINVAL,
					  "match: unknown matcher \"%.64s\": expected %s",
					  key, silence_fields_expected);
		if (!json_is_string(v))
			return errbuf_set(err, HERALD_EINVAL,
					  "match.%s: expected a string (an exact value or a glob with * and ?)",
					  key);
		ret = set_matcher(s, f, json_string_value(v),
				  json_string_length(v), err);
		if (ret)
			return ret;
		n++;
	}
	if (!n)
		return errbuf_set(err, HERALD_EINVAL,
				  "match is empty: name at least one of %s (\"*\" for any value)",
				  silence_fields_expected);
	return 0;
}

/* starts_at: when given, RFC 3339 (a past time means now); else now. */
static int parse_start(struct silence *s, const json_t *obj, double now,
		       struct errbuf *err)
{
	const char *start;
	size_t len;
	time_t t;
	int ret = get_string(obj, "starts_at", &start, &len, err);

	s->starts_at = now;
	if (ret || !start)
		return ret;
	if (len > 64 || strlen(start) != len || rfc3339_parse(start, &t))
		return errbuf_set(err, HERALD_EINVAL,
				  "starts_at \"%.64s\" is not an RFC 3339 time: expected e.g. 2026-12-06T18:00:00Z",
				  start);
	if ((double)t > now + SILENCE_MAX_S)
		return errbuf_set(err, HERALD_EINVAL,
				  "starts_at %s is more than 30 days away: add the silence nearer the time",
				  start);
	if ((double)t > now)
		s->starts_at = (double)t;
	return 0;
}

/* The end: ends_at, or duration from the start; at most 30 days after it. */
static int parse_end(struct silence *s, const json_t *obj, double now,
		     struct errbuf *err)
{
	const char *ends, *dur;
	size_t ends_len, dur_len;
	time_t t;
	long secs;
	int ret;

	ret = get_string(obj, "ends_at", &ends, &ends_len, err);
	if (!ret)
		ret = get_string(obj, "duration", &dur, &dur_len, err);
	if (ret)
		return ret;
	if (ends && dur)
		return errbuf_set(err, HERALD_EINVAL,
				  "both ends_at and duration are given: give one of them");
	if (!ends && !dur)
		return errbuf_set(err, HERALD_EINVAL,
				  "no end: give ends_at (RFC 3339, e.g. 2026-12-06T18:00:00Z) or duration (e.g. 2h), at most 30 days away");
	if (dur) {
		if (dur_len > 32 || strlen(dur) != dur_len)
			return errbuf_set(err, HERALD_EINVAL,
					  "duration is not one: expected e.g. 30m, 2h or 1d");
		ret = silence_parse_duration(dur, &secs, err);
		if (ret)
			return ret;
		s->ends_at = s->starts_at + (double)secs;
		return 0;
	}
	if (ends_len > 64 || strlen(ends) != ends_len || rfc3339_parse(ends, &t))
		return errbuf_set(err, HERALD_EINVAL,
				  "ends_at \"%.64s\" is not an RFC 3339 time: expected e.g. 2026-12-06T18:00:00Z",
				  ends);
	if ((double)t <= now)
		return errbuf_set(err, HERALD_EINVAL,
				  "ends_at %s is not in the future", ends);
	if ((double)t <= s->starts_at)
		return errbuf_set(err, HERALD_EINVAL,
				  "ends_at %s is not after starts_at", ends);
	if ((double)t > s->starts_at + SILENCE_MAX_S)
		return errbuf_set(err, HERALD_EINVAL,
				  "ends_at %s is more than 30 days after the start, the longest a silence lasts",
				  ends);
	s->ends_at = (double)t;
	return 0;
}

static int parse_object(struct silence *s, const json_t *obj, double now,
			struct errbuf *err)
{
	const char *key, *v;
	const json_t *val;
	size_t len;
	int ret;

	json_object_foreach((json_t *)obj, key, val) {
		if (strcmp(key, "match") && strcmp(key, "starts_at") &&
		    strcmp(key, "ends_at") &&
		    strcmp(key, "duration") && strcmp(key, "comment") &&
		    strcmp(key, "created_by"))
			return errbuf_set(err, HERALD_EINVAL,
					  "unknown key \"%.64s\": expected %s",
					  key, keys_expected);
	}
	ret = parse_match(s, json_object_get(obj, "match"), err);
	if (!ret)
		ret = parse_start(s, obj, now, err);
	if (!ret)
		ret = parse_end(s, obj, now, err);
	if (!ret)
		ret = get_string(obj, "comment", &v, &len, err);
	if (ret)
		return ret;
	if (!v || !len)
		return errbuf_set(err, HERALD_EINVAL,
				  "comment is missing: say why this is silenced (a ticket, \"maintenance until 18:00\")");
	ret = check_line("comment", v, len, SILENCE_COMMENT_MAX, 1, err);
	if (ret)
		return ret;
	s->comment = xstrndup(v, len);
	ret = get_string(obj, "created_by", &v, &len, err);
	if (!ret && v && len) {
		ret = check_line("created_by", v, len, SILENCE_BY_MAX, 0, err);
		if (!ret)
			s->created_by = xstrndup(v, len);
	}
	return ret;
}

int silence_parse(struct silence *out, const char *text, size_t len,
		  double now, struct errbuf *err)
{
	json_error_t jerr;
	json_t *obj = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > SILENCE_BODY_MAX)
		return errbuf_set(err, HERALD_ELIMIT,
				  "the silence is %zu bytes long; at most %u are allowed",
				  len, SILENCE_BODY_MAX);
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		ret = errbuf_set(err, HERALD_EINVAL,
				 "invalid JSON at line %d, column %d: %s",
				 jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(obj)) {
		ret = errbuf_set(err, HERALD_EINVAL,
				 "expected a JSON object with %s", keys_expected);
		goto out;
	}
	ret = parse_object(out, obj, now, err);
	if (!ret)
		out->created_at = now;
out:
	json_decref(obj);
	if (ret)
		silence_release(out);
	return ret;
}

/* ---- writing ----------------------------------------------------------- */

static json_t *time_json(double t)
{
	char buf[RFC3339_BUF];

	return t > 0 && rfc3339_format(t, buf) ? json_string(buf) : json_null();
}

static json_t *matchers_json(const struct silence *s)
{
	json_t *m = json_object();

	for (int i = 0; i < SILENCE_FIELD_NR; i++)
		if (s->match[i])
			json_object_set_new(m, silence_field_names[i],
					    json_string(s->match[i]));
	return m;
}

json_t *silence_to_json(const struct silence *s, double now)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "id", json_integer(s->id));
	json_object_set_new(obj, "state", json_string(silence_state(s, now)));
	json_object_set_new(obj, "match", matchers_json(s));
	json_object_set_new(obj, "starts_at", time_json(s->starts_at));
	json_object_set_new(obj, "ends_at", time_json(s->ends_at));
	json_object_set_new(obj, "ended_at", time_json(s->ended_at));
	json_object_set_new(obj, "comment", s->comment ?
			    json_string(s->comment) : json_null());
	json_object_set_new(obj, "created_by", s->created_by ?
			    json_string(s->created_by) : json_null());
	json_object_set_new(obj, "created_at", time_json(s->created_at));
	json_object_set_new(obj, "silenced", json_integer(s->silenced));
	return obj;
}

char *silence_matchers_dump(const struct silence *s)
{
	json_t *m = matchers_json(s);
	char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	char *out = xstrdup(text ? text : "{}");

	free(text);
	json_decref(m);
	return out;
}

int silence_matchers_load(struct silence *s, const char *text,
			  struct errbuf *err)
{
	json_t *m = text ? json_loads(text, 0, NULL) : NULL;
	const char *key;
	json_t *v;
	int ret = 0;

	for (int i = 0; i < SILENCE_FIELD_NR; i++) {
		free(s->match[i]);
		s->match[i] = NULL;
	}
	if (!m || !json_is_object(m)) {
		ret = errbuf_set(err, HERALD_EINVAL,
				 "stored matchers are not a JSON object");
		goto out;
	}
	json_object_foreach(m, key, v) {
		enum silence_field f;

		if (field_parse(key, strlen(key), &f) || !json_is_string(v)) {
			ret = errbuf_set(err, HERALD_EINVAL,
					 "stored matcher \"%.64s\" is not one of %s",
					 key, silence_fields_expected);
			goto out;
		}
		s->match[f] = xstrdup(json_string_value(v));
	}
out:
	json_decref(m);
	return ret;
}

void silence_reason(const struct silence *s, char *buf, size_t size)
{
	const char *c = s->comment ? s->comment : "";
	size_t n = strlen(c), max = 120;

	if (n > max) {
		n = max;
		while (n && ((unsigned char)c[n] & 0xC0) == 0x80)
			n--;
	}
	snprintf(buf, size, "silenced by silence %lld (\"%.*s%s\")",
		 (long long)s->id, (int)n, c, n < strlen(c) ? "…" : "");
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}
