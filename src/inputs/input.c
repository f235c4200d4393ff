/*
 * input: the table of event sources and the helpers every webhook adapter
 * uses to make a foreign payload's values fit herald's event format.
 */
#include "inputs/input.h"
#include "inputs/alertmanager.h"
#include "inputs/flux.h"
#include "inputs/github.h"
#include "inputs/event_json.h"
#include "core/event.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"
#include "lib/text.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct input_adapter adapters[INPUT_SOURCE_NR] = {
	{ INPUT_API, "api", NULL },
	{ INPUT_CLI, "cli", NULL },
	{ INPUT_FLUX, "flux", flux_convert },
	{ INPUT_ALERTMANAGER, "alertmanager", alertmanager_convert },
	{ INPUT_GITHUB, "github", github_convert },
};

const struct input_adapter *input_adapter_get(enum input_source source)
{
	if ((unsigned)source >= INPUT_SOURCE_NR)
		return NULL;
	return &adapters[source];
}

const struct input_adapter *input_adapter_find(const char *name)
{
	for (size_t i = 0; i < INPUT_SOURCE_NR; i++)
		if (!strcmp(adapters[i].name, name))
			return &adapters[i];
	return NULL;
}

const char *input_source_name(enum input_source source)
{
	const struct input_adapter *a = input_adapter_get(source);

	return a ? a->name : "unknown";
}

const char *input_adapter_names(void)
{
	return "flux, alertmanager or github";
}

static const char *param(const struct input_param *p, size_t nr,
			 const char *name, int fold)
{
	for (size_t i = 0; i < nr; i++)
		if (fold ? !strcasecmp(p[i].name, name) : !strcmp(p[i].name, name))
			return p[i].value;
	return NULL;
}

const char *input_query(const struct input_request *req, const char *name)
{
	return param(req->query, req->query_nr, name, 0);
}

const char *input_header(const struct input_request *req, const char *name)
{
	return param(req->headers, req->headers_nr, name, 1);
}

void input_result_init(struct input_result *r)
{
	r->events = json_array();
	r->ignored = (struct errlist)ERRLIST_INIT;
}

void input_result_release(struct input_result *r)
{
	json_decref(r->events);
	r->events = NULL;
	errlist_release(&r->ignored);
}

int input_convert(const struct input_adapter *a,
		  const struct input_request *req, struct input_result *out,
		  struct event **events, size_t *nr, struct errbuf *err)
{
	size_t n, kept = 0;
	int ret;

	*events = NULL;
	*nr = 0;
	ret = a->convert(req, out, err);
	if (ret < 0)
		return ret;
	n = json_array_size(out->events);
	if (!n)
		return 0;
	*events = xcalloc(n, sizeof(**events));
	for (size_t i = 0; i < n; i++) {
		char pointer[32];
		struct errbuf why;

		snprintf(pointer, sizeof(pointer), "/%zu", i);
		if (event_from_json(&(*events)[kept],
				    json_array_get(out->events, i), pointer,
				    &why) < 0)
			errlist_add(&out->ignored, "converted event %s is not "
				    "valid, left out: %s", pointer, why.msg);
		else
			kept++;
	}
	*nr = kept;
	return 0;
}

void input_set_labels(struct input_request *req, char *copy,
		      const char *names[INPUT_LABELS_MAX])
{
	size_t nr = 0;

	for (char *p = copy; p && *p && nr < INPUT_LABELS_MAX;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (*p)
			names[nr++] = p;
		p = comma ? comma + 1 : NULL;
	}
	req->app_labels = nr ? names : NULL;
	req->app_labels_nr = nr;
}

void input_add_event(struct input_result *r, json_t *ev)
{
	json_array_append_new(r->events, ev);
}

const char *input_str(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Copies value (valid UTF-8, as jansson gives) into sb, control characters
 * (C0, DEL, C1) turned into spaces unless multiline (then newlines and tabs
 * stay), cut at a character boundary so that it and "…" fit max bytes.
 * Returns whether it was cut.
 */
static int fit(struct strbuf *sb, const char *value, size_t max, int multiline)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	const unsigned char *s = (const unsigned char *)value;
	size_t len = strlen(value), end = len;

	if (len > max) {
		end = max - (sizeof(ellipsis) - 1);
		while (end && (s[end] & 0xc0) == 0x80)
			end--;
	}
	for (size_t i = 0; i < end; i++) {
		if (s[i] == 0xc2 && i + 1 < end && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9f) {
			strbuf_addch(sb, ' ');
			i++;
		} else if ((s[i] < 0x20 || s[i] == 0x7f) &&
			   !(multiline && (s[i] == '\n' || s[i] == '\t'))) {
			strbuf_addch(sb, ' ');
		} else {
			strbuf_addch(sb, (char)s[i]);
		}
	}
	if (end < len)
		strbuf_add(sb, ellipsis, sizeof(ellipsis) - 1);
	return end < len;
}

static void set_fitted(json_t *obj, const char *name, const char *value,
		       size_t max, int multiline, struct input_result *r,
		       const char *pointer)
{
	struct strbuf sb = STRBUF_INIT, clean = STRBUF_INIT;

	if (!value || !*value)
		return;
	/*
	 * A query parameter or a header is bytes as the request had them,
	 * not necessarily UTF-8: bad sequences become U+FFFD.
	 */
	if (!utf8_valid(value, strlen(value))) {
		text_add_clean(&clean, value, strlen(value));
		value = clean.buf;
	}
	if (fit(&sb, value, max, multiline) && r)
		errlist_add(&r->ignored, "%s: %zu bytes, shortened to %zu",
			    pointer, strlen(value), sb.len);
	json_object_set_new(obj, name, json_stringn(sb.buf, sb.len));
	strbuf_release(&sb);
	strbuf_release(&clean);
}

void input_set_line(json_t *obj, const char *name, const char *value,
		    struct input_result *r, const char *pointer)
{
	set_fitted(obj, name, value, EVENT_LINE_MAX, 0, r, pointer);
}

void input_set_text(json_t *obj, const char *name, const char *value,
		    struct input_result *r, const char *pointer)
{
	/* Renderers cut further to the platforms' limits. */
	set_fitted(obj, name, value, 16 * 1024, 1, r, pointer);
}

void input_set_url(json_t *obj, const char *name, const char *value,
		   struct input_result *r, const char *pointer)
{
	if (!value || !*value)
		return;
	if (!event_url_valid(value, strlen(value))) {
		if (r)
			errlist_add(&r->ignored, "%s: not an absolute http(s) URL "
				    "of at most %u bytes without white space: "
				    "left out", pointer, (unsigned)EVENT_URL_MAX);
		return;
	}
	json_object_set_new(obj, name, json_string(value));
}

void input_set_id(json_t *obj, const char *prefix, const char *data,
		  size_t len)
{
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	struct strbuf sb = STRBUF_INIT;

	sha2(SHA2_256, data, len, digest);
	hex_encode(digest, sizeof(digest), hex);
	strbuf_addf(&sb, "%s:%s", prefix, hex);
	strbuf_setlen(&sb, EVENT_ID_MAX);
	json_object_set_new(obj, "id", json_stringn(sb.buf, sb.len));
	strbuf_release(&sb);
}

int input_json_error(struct errbuf *err, const char *what,
		     const json_error_t *jerr)
{
	struct strbuf why = STRBUF_INIT;

	text_add_fit(&why, jerr->text, strlen(jerr->text),
		     TEXT_PLAIN | TEXT_ONELINE, 200);
	errbuf_set(err, HERALD_EINVAL,
		   "%s: invalid JSON at line %d, column %d: %s", what,
		   jerr->line, jerr->column, why.buf);
	strbuf_release(&why);
	return HERALD_EINVAL;
}
