/*
 * event_json: herald's own event JSON (POST /api/v1/events, herald send,
 * the stored form of every event), parsed strictly into struct event.
 *
 * Parsing happens in two steps. A byte scan of the raw text checks UTF-8 and
 * nesting depth before jansson sees it (so a bracket bomb costs nothing and
 * errors can name the byte), then each decoded object is validated field by
 * field. Every problem names its field as a JSON pointer. Pure: no I/O.
 */
#include "inputs/event_json.h"
#include "core/route.h"
#include "lib/text.h"
#include "lib/utf8.h"
#include "lib/rfc3339.h"
#include "lib/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How much of a bad value an error message quotes. */
#define QUOTE_MAX_BYTES 64

/*
 * The offset of the first control character in valid UTF-8 s (C0, DEL or
 * C1), or len; *cp gets its code point.
 */
static size_t control_offset(const char *text, size_t len, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7F) {
			*cp = s[i];
			return i;
		}
		if (s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {
			*cp = s[i + 1];
			return i;
		}
	}
	return len;
}

/*
 * Where validation problems go: the first into err, all into list (either
 * may be NULL). pointer locates the event ("" or "/3").
 */
struct sink {
	struct errbuf *err;
	struct errlist *list;
	const char *pointer;
	size_t nr;
};

__attribute__((format(printf, 3, 0)))
static void vproblem(struct sink *sk, const char *field, const char *fmt,
		     va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, sk->pointer);
	strbuf_addstr(&sb, field);
	if (sb.len)
		strbuf_addstr(&sb, ": ");
	strbuf_vaddf(&sb, fmt, ap);
	if (sk->nr == 0)
		errbuf_set(sk->err, HERALD_EINVAL, "%s", sb.buf);
	if (sk->list)
		errlist_add(sk->list, "%s", sb.buf);
	sk->nr++;
	strbuf_release(&sb);
}

__attribute__((format(printf, 3, 4)))
static void problem(struct sink *sk, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(sk, field, fmt, ap);
	va_end(ap);
}

/* Like problem(), the message starting with the quoted value s. */
__attribute__((format(printf, 5, 6)))
static void problem_value(struct sink *sk, const char *field, const char *s,
			  size_t len, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	va_list ap;

	text_add_quoted(&msg, s, len, QUOTE_MAX_BYTES);
	strbuf_addch(&msg, ' ');
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	problem(sk, field, "%s", msg.buf);
	strbuf_release(&msg);
}

const char *json_type_word(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* How a string field is checked. */
enum field_kind {
	FIELD_LINE,		/* one line, at most EVENT_LINE_MAX */
	FIELD_TEXT,		/* free text, at most EVENT_MAX_BYTES */
	FIELD_URL,		/* an http(s) URL */
	FIELD_ID,		/* printable ASCII, at most EVENT_ID_MAX */
	FIELD_CORRELATION,	/* one line, at most EVENT_CORRELATION_MAX */
	FIELD_TIMESTAMP,	/* one line; parsed by the caller */
};

/* Whether s is an absolute http:// or https:// URL with a host. */
static int is_http_url(const char *s, size_t len)
{
	size_t i;

	if (len >= 7 && !strncasecmp(s, "http://", 7))
		i = 7;
	else if (len >= 8 && !strncasecmp(s, "https://", 8))
		i = 8;
	else
		return 0;
	if (i == len || s[i] == '/' || s[i] == '?' || s[i] == '#' ||
	    s[i] == ':' || s[i] == '@')
		return 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7F)
			return 0;
	}
	return 1;
}

int event_timestamp_valid(const char *ts)
{
	size_t len = strlen(ts);
	unsigned cp;
	time_t t;

	return len <= EVENT_TIMESTAMP_MAX && control_offset(ts, len, &cp) == len &&
	       !event_parse_time(ts, &t) && t > 0;
}

int event_url_valid(const char *s, size_t len)
{
	unsigned cp;

	return len <= EVENT_URL_MAX && is_http_url(s, len) &&
	       control_offset(s, len, &cp) == len;
}

/*
 * Reads the string member name of obj into *out (NULL when absent, null or
 * empty). field is its pointer within the event ("/app", "/alert/url").
 * Returns 0, or -1 after reporting a problem.
 */
static int get_string(struct sink *sk, const json_t *obj, const char *name,
		      const char *field, enum field_kind kind, char **out)
{
	const json_t *v = json_object_get(obj, name);
	const char *s;
	size_t len, bad;
	size_t max = EVENT_LINE_MAX;
	unsigned cp;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		problem(sk, field, "expected a string, got %s", json_type_word(v));
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0)
		return 0;
	if (memchr(s, '\0', len)) {
		problem(sk, field, "contains a NUL character");
		return -1;
	}
	bad = utf8_valid_prefix(s, len);
	if (bad < len) {
		problem(sk, field, "invalid UTF-8 at byte %zu of the value", bad);
		return -1;
	}
	switch (kind) {
	case FIELD_TEXT: max = EVENT_MAX_BYTES; break;
	case FIELD_URL: max = EVENT_URL_MAX; break;
	case FIELD_ID: max = EVENT_ID_MAX; break;
	case FIELD_CORRELATION: max = EVENT_CORRELATION_MAX; break;
	case FIELD_TIMESTAMP: max = EVENT_TIMESTAMP_MAX; break;
	case FIELD_LINE: break;
	}
	if (len > max) {
		problem(sk, field, "%zu bytes long; at most %zu allowed", len, max);
		return -1;
	}
	if (kind == FIELD_URL && !is_http_url(s, len)) {
		problem_value(sk, field, s, len, "is not an http(s) URL");
		return -1;
	}
	if (kind == FIELD_ID) {
		for (size_t i = 0; i < len; i++) {
			if (s[i] <= 0x20 || s[i] >= 0x7F) {
				problem(sk, field, "byte %zu is not printable ASCII; an id is "
					"printable ASCII without spaces", i);
				return -1;
			}
		}
	}
	if (kind != FIELD_TEXT && control_offset(s, len, &cp) < len) {
		problem(sk, field, "control character U+%04X at byte %zu; expected a "
			"single line", cp, control_offset(s, len, &cp));
		return -1;
	}
	*out = xstrndup(s, len);
	return 0;
}

int event_parse_time(const char *s, time_t *out)
{
	return rfc3339_parse(s, out);
}

/*
 * Reads "type" or "status": *out is set when the value is a known name;
 * returns 1 when absent, 0 when known, -1 after a problem other than
 * "unknown name" (which the caller words, knowing the type).
 */
static int get_enum_name(struct sink *sk, const json_t *obj, const char *name,
			 const char **value)
{
	const json_t *v = json_object_get(obj, name);
	struct strbuf field = STRBUF_INIT;
	int ret = 0;

	*value = NULL;
	strbuf_addf(&field, "/%s", name);
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
		ret = 1;
		goto out;
	}
	if (!json_is_string(v)) {
		problem(sk, field.buf, "expected a string, got %s", json_type_word(v));
		ret = -1;
		goto out;
	}
	*value = json_string_value(v);
out:
	strbuf_release(&field);
	return ret;
}

static const char *type_article(enum event_type type)
{
	return type == EVENT_ALERT ? "an" : "a";
}

static void check_type_and_status(struct sink *sk, struct event *ev,
				  const json_t *obj, int *type_ok)
{
	const char *s;
	size_t len;
	int r;

	*type_ok = 0;
	r = get_enum_name(sk, obj, "type", &s);
	if (r == 1) {
		problem(sk, "/type", "missing; %s", event_type_expected);
	} else if (r == 0) {
		if (event_type_parse(s, &ev->type)) {
			len = json_string_length(json_object_get(obj, "type"));
			problem_value(sk, "/type", s, len, "is not an event type; %s",
				      event_type_expected);
		} else {
			*type_ok = 1;
		}
	}

	r = get_enum_name(sk, obj, "status", &s);
	if (r < 0)
		return;
	if (!*type_ok) {
		/* Still say when the status is no status at all. */
		if (r == 0 && event_status_parse(s, &ev->status)) {
			len = json_string_length(json_object_get(obj, "status"));
			problem_value(sk, "/status", s, len, "is not an event status");
		}
		return;
	}
	if (ev->type == EVENT_MESSAGE) {
		if (r == 0)
			problem(sk, "/status", "a message has no status; remove it");
		return;
	}
	if (r == 1) {
		problem(sk, "/status", "missing (required for %s events); expected %s",
			event_type_name(ev->type), event_status_expected(ev->type));
		return;
	}
	if (event_status_parse(s, &ev->status) ||
	    !event_status_valid(ev->type, ev->status)) {
		len = json_string_length(json_object_get(obj, "status"));
		problem_value(sk, "/status", s, len, "is not %s %s status; expected %s",
			      type_article(ev->type), event_type_name(ev->type),
			      event_status_expected(ev->type));
		ev->status = EVENT_STATUS_NONE;
	}
}

static void check_required(struct sink *sk, const struct event *ev,
			   const char *field, const char *value, int bad)
{
	if (!value && !bad)
		problem(sk, field, "missing (required for %s events)",
			event_type_name(ev->type));
}

/*
 * The syntax of an explicit destination, for either platform; whether it
 * suits the configured one is routing's question.
 */
static void check_channel(struct sink *sk, const char *field,
			  const char *channel)
{
	struct destination d;
	struct errbuf err;

	if (destination_parse(&d, channel, PROVIDER_LOG, &err))
		problem(sk, field, "%s", err.msg);
	destination_release(&d);
}

static int from_json(struct event *ev, const json_t *obj, struct sink *sk)
{
	const json_t *alert, *edit_only;
	size_t before = sk->nr;
	int type_ok;
	int bad_app, bad_env, bad_title, bad_desc, bad_alert = 0, bad_name = 0;
	char *ts = NULL;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(obj)) {
		if (*sk->pointer)
			problem(sk, "", "expected an object, got %s", json_type_word(obj));
		else
			problem(sk, "", "expected an event object, got %s",
				json_type_word(obj));
		goto out;
	}

	check_type_and_status(sk, ev, obj, &type_ok);
	bad_app = get_string(sk, obj, "app", "/app", FIELD_LINE, &ev->app);
	bad_env = get_string(sk, obj, "env", "/env", FIELD_LINE, &ev->env);
	get_string(sk, obj, "actor", "/actor", FIELD_LINE, &ev->actor);
	get_string(sk, obj, "repository", "/repository", FIELD_LINE, &ev->repository);
	get_string(sk, obj, "sha", "/sha", FIELD_LINE, &ev->sha);
	get_string(sk, obj, "version", "/version", FIELD_LINE, &ev->version);
	get_string(sk, obj, "url", "/url", FIELD_URL, &ev->url);
	get_string(sk, obj, "gitops_repository", "/gitops_repository", FIELD_LINE,
		   &ev->gitops_repository);
	get_string(sk, obj, "gitops_sha", "/gitops_sha", FIELD_LINE, &ev->gitops_sha);
	bad_title = get_string(sk, obj, "title", "/title", FIELD_TEXT, &ev->title);
	bad_desc = get_string(sk, obj, "description", "/description", FIELD_TEXT,
			      &ev->description);
	if (!get_string(sk, obj, "channel", "/channel", FIELD_LINE,
			&ev->channel) && ev->channel)
		check_channel(sk, "/channel", ev->channel);
	if (!get_string(sk, obj, "owner_im", "/owner_im", FIELD_LINE,
			&ev->owner_im) && ev->owner_im)
		check_channel(sk, "/owner_im", ev->owner_im);
	get_string(sk, obj, "id", "/id", FIELD_ID, &ev->id);
	get_string(sk, obj, "correlation", "/correlation", FIELD_CORRELATION,
		   &ev->correlation);
	edit_only = json_object_get(obj, "edit_only");
	if (edit_only && !json_is_null(edit_only) && !json_is_boolean(edit_only))
		problem(sk, "/edit_only", "expected true or false, got %s",
			json_type_word(edit_only));
	else
		ev->edit_only = json_is_true(edit_only);

	alert = json_object_get(obj, "alert");
	if (alert && !json_is_null(alert) && !json_is_object(alert)) {
		problem(sk, "/alert", "expected an object, got %s", json_type_word(alert));
		bad_alert = 1;
	} else if (alert && json_is_object(alert)) {
		bad_name = get_string(sk, alert, "name", "/alert/name", FIELD_LINE,
				      &ev->alert_name);
		get_string(sk, alert, "object", "/alert/object", FIELD_LINE,
			   &ev->alert_object);
		get_string(sk, alert, "url", "/alert/url", FIELD_URL, &ev->alert_url);
	}

	if (!get_string(sk, obj, "timestamp", "/timestamp", FIELD_TIMESTAMP, &ts) &&
	    ts) {
		if (event_parse_time(ts, &ev->timestamp))
			problem_value(sk, "/timestamp", ts, strlen(ts), "is not an RFC "
				      "3339 time; expected e.g. 2026-11-26T10:00:00Z");
		else if (ev->timestamp <= 0)
			problem_value(sk, "/timestamp", ts, strlen(ts),
				      "is not after 1970");
	}

	if (!type_ok)
		goto out;
	switch (ev->type) {
	case EVENT_DEPLOY:
	case EVENT_ROLLBACK:
		check_required(sk, ev, "/app", ev->app, bad_app);
		check_required(sk, ev, "/env", ev->env, bad_env);
		break;
	case EVENT_DELETE:
		check_required(sk, ev, "/app", ev->app, bad_app);
		break;
	case EVENT_GITOPS:
		check_required(sk, ev, "/env", ev->env, bad_env);
		break;
	case EVENT_ALERT:
		check_required(sk, ev, "/app", ev->app, bad_app);
		if (!alert || json_is_null(alert))
			problem(sk, "/alert", "missing (required for alert events); "
				"expected {\"name\": …}");
		else if (!bad_alert)
			check_required(sk, ev, "/alert/name", ev->alert_name, bad_name);
		break;
	case EVENT_MESSAGE:
		if (!ev->title && !ev->description && !bad_title && !bad_desc)
			problem(sk, "/title", "missing; a message needs a title or a "
				"description");
		break;
	case EVENT_TYPE_NR:
		break;
	}
out:
	free(ts);
	if (sk->nr > before) {
		event_release(ev);
		return HERALD_EINVAL;
	}
	return 0;
}

int event_from_json(struct event *ev, const json_t *obj, const char *pointer,
		    struct errbuf *err)
{
	struct sink sk = { err, NULL, pointer ? pointer : "", 0 };

	return from_json(ev, obj, &sk);
}

/* A container being scanned: its kind and where in it the scan is. */
struct scan_frame {
	int array;
	size_t index;		/* arrays: the current element */
	const char *key;	/* objects: the current key, raw, or NULL */
	size_t key_len;
	int want_key;
};

/*
 * Scans JSON text for its bracket structure, up to stop or the end. Returns
 * 0, or -1 when nesting gets deeper than EVENT_MAX_DEPTH (*deep_at is then
 * that byte). When pointer is not NULL it gets the JSON pointer of the value
 * being read at stop (for locating jansson's errors). Strings are skipped
 * whole, so brackets in them do not count.
 */
static int scan_json(const char *s, size_t len, size_t stop, size_t *deep_at,
		     struct strbuf *pointer)
{
	struct scan_frame stack[EVENT_MAX_DEPTH];
	struct scan_frame *top = NULL;
	size_t depth = 0, i = 0;

	if (stop > len)
		stop = len;
	while (i < stop) {
		char c = s[i];

		if (c == '"') {
			size_t start = ++i;

			while (i < len && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			if (top && !top->array && top->want_key) {
				top->key = s + start;
				top->key_len = (i < len ? i : len) - start;
				top->want_key = 0;
			}
			i++;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == EVENT_MAX_DEPTH) {
				*deep_at = i;
				return -1;
			}
			top = &stack[depth++];
			top->array = c == '[';
			top->index = 0;
			top->key = NULL;
			top->key_len = 0;
			top->want_key = c == '{';
		} else if (c == '}' || c == ']') {
			if (depth)
				depth--;
			top = depth ? &stack[depth - 1] : NULL;
		} else if (c == ',' && top) {
			if (top->array) {
				top->index++;
			} else {
				top->key = NULL;
				top->want_key = 1;
			}
		}
		i++;
	}
	for (size_t d = 0; pointer && d < depth; d++) {
		if (stack[d].array) {
			strbuf_addf(pointer, "/%zu", stack[d].index);
			continue;
		}
		if (!stack[d].key)
			break;
		strbuf_addch(pointer, '/');
		for (size_t k = 0; k < stack[d].key_len && k < QUOTE_MAX_BYTES; k++) {
			char kc = stack[d].key[k];

			if (kc == '~')
				strbuf_addstr(pointer, "~0");
			else if (kc == '/')
				strbuf_addstr(pointer, "~1");
			else
				strbuf_addch(pointer, kc);
		}
	}
	return 0;
}

static void report_load_error(const char *text, size_t len,
			      const json_error_t *jerr, struct errlist *problems)
{
	struct strbuf ptr = STRBUF_INIT;
	size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
	size_t unused;

	scan_json(text, len, pos, &unused, &ptr);
	switch (json_error_code(jerr)) {
	case json_error_duplicate_key:
		errlist_add(problems, "%s: duplicate key; give each field once",
			    ptr.len ? ptr.buf : "/");
		break;
	case json_error_null_character:
		errlist_add(problems, "%s: \\u0000 is not allowed in strings",
			    ptr.len ? ptr.buf : "/");
		break;
	default:
		errlist_add(problems, "invalid JSON at line %d, column %d%s%s%s: %s",
			    jerr->line, jerr->column, ptr.len ? " (" : "",
			    ptr.buf, ptr.len ? ")" : "", jerr->text);
		break;
	}
	strbuf_release(&ptr);
}

int event_parse_many(const char *text, size_t len, size_t max_events,
		     struct event **events, size_t *nr,
		     struct errlist *problems)
{
	struct errlist scratch = ERRLIST_INIT;
	struct event *evs = NULL;
	size_t n = 0, bad, first = 0, deep_at = 0;
	json_t *root = NULL;
	json_error_t jerr;
	int ret = 0;

	*events = NULL;
	*nr = 0;
	if (!problems)
		problems = &scratch;
	while (first < len && text[first] && strchr(" \t\r\n", text[first]))
		first++;
	if (first == len) {
		errlist_add(problems, "no event: the text is empty; expected an event "
			    "object or an array of events");
		ret = HERALD_EINVAL;
		goto out;
	}
	if (text[first] == '{' && len > EVENT_MAX_BYTES) {
		errlist_add(problems, "the event is %zu bytes; at most %u (256 KiB) "
			    "allowed", len, EVENT_MAX_BYTES);
		ret = HERALD_ELIMIT;
		goto out;
	}
	bad = utf8_valid_prefix(text, len);
	if (bad < len) {
		errlist_add(problems, "invalid UTF-8 at byte %zu", bad);
		ret = HERALD_EINVAL;
		goto out;
	}
	if (scan_json(text, len, len, &deep_at, NULL)) {
		errlist_add(problems, "nesting deeper than %d levels at byte %zu",
			    EVENT_MAX_DEPTH, deep_at);
		ret = HERALD_ELIMIT;
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		report_load_error(text, len, &jerr, problems);
		ret = HERALD_EINVAL;
		goto out;
	}

	if (json_is_object(root)) {
		struct sink sk = { NULL, problems, "", 0 };

		evs = xcalloc(1, sizeof(*evs));
		if (from_json(&evs[0], root, &sk)) {
			ret = HERALD_EINVAL;
			goto out;
		}
		n = 1;
	} else if (json_is_array(root)) {
		size_t total = json_array_size(root);
		size_t invalid = 0;
		int too_big = 0;

		if (total == 0) {
			errlist_add(problems, "expected at least one event, got an "
				    "empty array");
			ret = HERALD_EINVAL;
			goto out;
		}
		if (max_events && total > max_events) {
			errlist_add(problems, "%zu events in one request; at most %zu "
				    "allowed: split the batch", total, max_events);
			ret = HERALD_ELIMIT;
			goto out;
		}
		evs = xcalloc(total, sizeof(*evs));
		for (size_t i = 0; i < total; i++) {
			const json_t *el = json_array_get(root, i);
			char pointer[32];
			struct sink sk = { NULL, problems, pointer, 0 };
			/* Only a text over the limit can hold an event over it. */
			size_t size = len > EVENT_MAX_BYTES ?
				json_dumpb(el, NULL, 0, JSON_COMPACT) : 0;

			snprintf(pointer, sizeof(pointer), "/%zu", i);
			if (size > EVENT_MAX_BYTES) {
				errlist_add(problems, "%s: the event is %zu bytes; at "
					    "most %u (256 KiB) allowed", pointer, size,
					    EVENT_MAX_BYTES);
				too_big = 1;
				invalid++;
				continue;
			}
			if (from_json(&evs[n], el, &sk)) {
				invalid++;
				continue;
			}
			n++;
		}
		if (invalid) {
			ret = too_big ? HERALD_ELIMIT : HERALD_EINVAL;
			goto out;
		}
	} else {
		errlist_add(problems, "expected an event object or an array of "
			    "events, got %s", json_type_word(root));
		ret = HERALD_EINVAL;
		goto out;
	}
	*events = evs;
	*nr = n;
	evs = NULL;
	n = 0;
out:
	event_array_free(evs, n);
	json_decref(root);
	errlist_release(&scratch);
	return ret;
}

