/*
 * alertmanager: turns a Prometheus Alertmanager webhook notification
 * (webhook_config; payload version 4, version 3 with its numeric groupKey,
 * and Grafana's look-alike) into herald alert events. Pure: no I/O.
 *
 * By default each alert of the notification is one event:
 *
 *   status       the alert's status; else an endsAt before req->now means
 *                resolved; else the notification's status; else firing
 *   alert.name   label alertname
 *   alert.object namespace "/" the first of the labels pod, deployment,
 *                statefulset, daemonset, job_name, instance
 *   alert.url    annotation runbook_url
 *   app          the first present of the app labels (req->app_labels, by
 *                default app, app_kubernetes_io_name, container,
 *                deployment, service, job), then ?app=, then label
 *                namespace; a
 *                value the catalog knows wins over the order
 *   env          label env or environment, else ?env=
 *   description  annotation summary, then description (or message)
 *   url          generatorURL when it is absolute http(s), else externalURL
 *   timestamp    startsAt, or endsAt when resolved, in UTC seconds
 *   owner_im     label or annotation owner_im, when it is a destination
 *   correlation  receiver, env and fingerprint (computed from the labels
 *                the way Alertmanager does when the payload has none)
 *   id           a hash of the correlation, startsAt and status, so
 *                re-sends and both members of an HA pair are duplicates
 *   edit_only    true when resolved: a resolution edits the firing message
 *
 * ?group=true makes the whole notification one event instead: one message
 * per groupKey, listing up to 20 alerts by name and object (or by the
 * labels they do not share), then how many more. ?min_severity= drops
 * alerts whose severity label ranks lower. Fields herald cannot use are left
 * out with a note in out->ignored; only a body that is not an Alertmanager
 * payload, or a bad query parameter, is an error.
 */
#include "inputs/alertmanager.h"
#include "inputs/event_json.h"
#include "core/event.h"
#include "core/route.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"
#include "lib/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Alerts listed one per line in a group's description. */
#define GROUP_LIST_MAX 20
/* Bytes of a name or object on one line of that list. */
#define LIST_ITEM_MAX 200
/* How much of a bad value a note quotes. */
#define QUOTE_MAX 64
/* 10000-01-01T00:00:00Z: RFC 3339 has four-digit years. */
#define TIME_END 253402300800LL

static const char *const default_app_labels[] = {
	"app", "app_kubernetes_io_name", "container", "deployment", "service",
	"job",
};

static const char *const object_labels[] = {
	"pod", "deployment", "statefulset", "daemonset", "job_name", "instance",
};

/*
 * Severity label values by rank. "none" (kube-prometheus's Watchdog and
 * InfoInhibitor) ranks below info; "page" (Prometheus' own examples) is
 * critical. Other values are unknown and always pass.
 */
static const struct {
	const char *name;
	int rank;
} severities[] = {
	{ "none", 0 }, { "info", 1 }, { "warning", 2 }, { "error", 3 },
	{ "critical", 4 }, { "page", 4 },
};

/* The values ?min_severity= takes. */
static const char *const min_severities[] = {
	"info", "warning", "error", "critical",
};

/* One conversion. */
struct conv {
	const struct input_request *req;
	struct input_result *out;
	const char *receiver;		/* "" when absent */
	const char *status;		/* the notification's: firing, resolved, NULL */
	const char *external_url;	/* usable http(s), or NULL */
	const char *q_app;
	const char *q_env;
	const char *const *app_labels;
	size_t app_labels_nr;
	int min_rank;			/* -1: no ?min_severity= */
	const char *min_name;
};

/* One alert as read, for both modes. */
struct alert {
	const json_t *obj;
	const json_t *labels;		/* NULL when absent or not an object */
	const json_t *annotations;
	char pointer[32];		/* "/alerts/3" */
	const char *starts_raw;		/* "" when absent */
	time_t starts;			/* 0 when absent or unusable */
	time_t ends;
	int firing;
	char fingerprint[80];		/* the payload's, or computed */
};

/* The string member name of obj when not empty, else NULL. */
static const char *str(const json_t *obj, const char *name)
{
	const char *s = obj ? input_str(obj, name) : NULL;

	return s && *s ? s : NULL;
}

/* Appends s quoted and cut for a note. */
static void add_quoted(struct strbuf *sb, const char *s)
{
	text_add_quoted(sb, s, strlen(s), QUOTE_MAX);
}

/* Whether s holds a C0, DEL or C1 control character. */
static int has_control(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return 1;
	return 0;
}

/*
 * The object member name of obj, or NULL; a member of another type is noted
 * (pointer locates obj) and ignored.
 */
static const json_t *object_member(struct conv *c, const json_t *obj,
				   const char *name, const char *pointer)
{
	const json_t *v = json_object_get(obj, name);

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_object(v))
		return v;
	errlist_add(&c->out->ignored, "%s/%s: expected an object, got %s: "
		    "ignored", pointer, name, json_type_word(v));
	return NULL;
}

/* Sets obj[name] to url when herald can use it, else notes why not. */
static void set_url(struct conv *c, json_t *obj, const char *name,
		    const char *url, const char *pointer)
{
	struct strbuf msg = STRBUF_INIT;

	if (!url)
		return;
	if (event_url_valid(url, strlen(url))) {
		input_set_url(obj, name, url, c->out, pointer);
		return;
	}
	add_quoted(&msg, url);
	errlist_add(&c->out->ignored, "%s: %s is not an absolute http(s) URL: "
		    "left out", pointer, msg.buf);
	strbuf_release(&msg);
}

/*
 * Reads the time member name of the alert: its value, or 0 when absent, the
 * zero time or not usable (which is noted).
 */
static time_t read_time(struct conv *c, const struct alert *a,
			const char *name)
{
	const json_t *v = json_object_get(a->obj, name);
	struct strbuf msg = STRBUF_INIT;
	time_t t;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		errlist_add(&c->out->ignored, "%s/%s: expected a string, got "
			    "%s: ignored", a->pointer, name, json_type_word(v));
		return 0;
	}
	if (!json_string_length(v))
		return 0;
	if (event_parse_time(json_string_value(v), &t)) {
		add_quoted(&msg, json_string_value(v));
		errlist_add(&c->out->ignored, "%s/%s: %s is not an RFC 3339 "
			    "time: ignored", a->pointer, name, msg.buf);
	} else if (t >= TIME_END) {
		errlist_add(&c->out->ignored, "%s/%s: after the year 9999: "
			    "ignored", a->pointer, name);
	} else if (t > 0) {
		strbuf_release(&msg);
		return (time_t)t;
	}
	strbuf_release(&msg);
	return 0;
}

static void set_time(json_t *ev, time_t t)
{
	struct tm tm;
	char buf[32];

	if (t <= 0 || !gmtime_r(&t, &tm))
		return;
	if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		json_object_set_new(ev, "timestamp", json_string(buf));
}

/* ---- labels ---- */

/* A label's value when it is a non-empty string, else NULL. */
static const char *label(const json_t *labels, const char *name)
{
	return str(labels, name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The string-valued keys of obj, sorted (as Go sorts strings: by bytes).
 * Returns how many; *keys is allocated (free it).
 */
static size_t sorted_keys(const json_t *obj, const char ***keys)
{
	const char *key;
	const json_t *v;
	size_t n = 0;

	*keys = xcalloc(json_object_size(obj) + 1, sizeof(**keys));
	json_object_foreach((json_t *)obj, key, v)
		if (json_is_string(v))
			(*keys)[n++] = key;
	qsort(*keys, n, sizeof(**keys), cmp_str);
	return n;
}

static uint64_t fnv_add(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * The fingerprint Alertmanager gives an alert (prometheus/common's
 * LabelSet.Fingerprint): 64-bit FNV-1a over the labels sorted by name,
 * each name and value followed by a 0xff byte, in 16 hex digits.
 */
static void label_fingerprint(const json_t *labels, char *hex, size_t size)
{
	static const char sep = (char)0xff;
	uint64_t h = FNV1A_BASIS;
	const char **keys;
	size_t n = labels ? sorted_keys(labels, &keys) : 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(labels, keys[i]);

		h = fnv_add(h, keys[i], strlen(keys[i]));
		h = fnv_add(h, &sep, 1);
		h = fnv_add(h, json_string_value(v), json_string_length(v));
		h = fnv_add(h, &sep, 1);
	}
	if (labels)
		free(keys);
	snprintf(hex, size, "%016llx", (unsigned long long)h);
}

/*
 * Appends namespace/name of the alert's object; nothing without a name.
 * For a group (common labels), instance does not count (shared, it is the
 * scrape target, kube-state-metrics say, not the subject), and a namespace
 * alone is the object.
 */
static void add_object(struct strbuf *sb, const json_t *labels, int group)
{
	const char *ns = label(labels, "namespace"), *name = NULL;
	size_t nr = sizeof(object_labels) / sizeof(*object_labels) -
		    (group ? 1 : 0);

	for (size_t i = 0; !name && i < nr; i++)
		name = label(labels, object_labels[i]);
	if (!name && group) {
		name = ns;
		ns = NULL;
	}
	if (!name)
		return;
	if (ns)
		strbuf_addf(sb, "%s/", ns);
	strbuf_addstr(sb, name);
}

/*
 * App candidate i: the app labels in order, then ?app=, then the namespace
 * label. *from names where it comes from ("labels/app", "?app=").
 */
static const char *app_candidate(const struct conv *c, const json_t *labels,
				 size_t i, const char **from)
{
	if (i < c->app_labels_nr) {
		*from = c->app_labels[i];
		return *from && **from ? label(labels, *from) : NULL;
	}
	if (i == c->app_labels_nr) {
		*from = NULL;
		return c->q_app && *c->q_app ? c->q_app : NULL;
	}
	*from = "namespace";
	return label(labels, "namespace");
}

/*
 * Sets ev's app from labels, found at pointer/labels_name ("/alerts/3" and
 * "labels", or "" and "commonLabels"): the first candidate the catalog
 * knows, else the first present, else "unknown" (noted).
 */
static void set_app(struct conv *c, json_t *ev, const json_t *labels,
		    const char *pointer, const char *labels_name)
{
	const struct input_request *req = c->req;
	struct strbuf where = STRBUF_INIT;
	const char *value = NULL, *from = NULL;
	size_t n = c->app_labels_nr + 2;

	if (req->known_app) {
		for (size_t i = 0; !value && i < n; i++) {
			const char *v = app_candidate(c, labels, i, &from);

			if (v && req->known_app(req->known_app_ctx, v))
				value = v;
		}
	}
	for (size_t i = 0; !value && i < n; i++)
		value = app_candidate(c, labels, i, &from);
	if (!value) {
		errlist_add(&c->out->ignored, "%s/%s: no app label, ?app= or "
			    "namespace label: app \"unknown\"", pointer,
			    labels_name);
		json_object_set_new(ev, "app", json_string("unknown"));
		return;
	}
	if (from)
		strbuf_addf(&where, "%s/%s/%s", pointer, labels_name, from);
	else
		strbuf_addstr(&where, "?app=");
	input_set_line(ev, "app", value, c->out, where.buf);
	strbuf_release(&where);
}

static void set_env(struct conv *c, json_t *ev, const json_t *labels,
		    const char *pointer, const char *labels_name)
{
	struct strbuf where = STRBUF_INIT;
	const char *name = "env", *value = label(labels, "env");

	if (!value) {
		name = "environment";
		value = label(labels, name);
	}
	if (value)
		strbuf_addf(&where, "%s/%s/%s", pointer, labels_name, name);
	else if ((value = c->q_env) && *value)
		strbuf_addstr(&where, "?env=");
	input_set_line(ev, "env", value, c->out, where.buf);
	strbuf_release(&where);
}

/* The env the event got ("" when none), for the correlation. */
static const char *event_env(const json_t *ev)
{
	const char *env = input_str(ev, "env");

	return env ? env : "";
}

/* Sets ev's owner_im from label or annotation owner_im when valid. */
static void set_owner_im(struct conv *c, json_t *ev, const json_t *labels,
			 const json_t *annotations, const char *pointer,
			 const char *labels_name, const char *annotations_name)
{
	const char *from = labels_name, *value = label(labels, "owner_im");
	struct destination d;
	struct errbuf err;
	struct strbuf msg = STRBUF_INIT;

	if (!value) {
		from = annotations_name;
		value = str(annotations, "owner_im");
	}
	if (!value)
		return;
	add_quoted(&msg, value);
	if (strlen(value) > EVENT_LINE_MAX || has_control(value)) {
		errlist_add(&c->out->ignored, "%s/%s/owner_im: %s is not a "
			    "destination on one line of at most %u bytes: left "
			    "out", pointer, from, msg.buf, EVENT_LINE_MAX);
	} else if (destination_parse(&d, value, PROVIDER_LOG, &err)) {
		errlist_add(&c->out->ignored, "%s/%s/owner_im: %s: left out",
			    pointer, from, err.msg);
		destination_release(&d);
	} else {
		destination_release(&d);
		json_object_set_new(ev, "owner_im", json_string(value));
	}
	strbuf_release(&msg);
}

/* Whether a and b are the same text but for white space around. */
static int same_text(const char *a, const char *b)
{
	struct strview x = strview_trim(STRVIEW(a)), y = strview_trim(STRVIEW(b));

	return x.len == y.len && !memcmp(x.ptr, y.ptr, x.len);
}

/* Appends the summary, then the description (or message) unless the same. */
static void add_description(struct strbuf *sb, const json_t *annotations)
{
	const char *summary = str(annotations, "summary");
	const char *body = str(annotations, "description");

	if (!body)
		body = str(annotations, "message");
	if (summary)
		strbuf_addstr(sb, summary);
	if (body && !(summary && same_text(summary, body))) {
		if (summary)
			strbuf_addch(sb, '\n');
		strbuf_addstr(sb, body);
	}
}

/* ---- keys ---- */

/*
 * Sets ev's correlation from tag and parts, and puts it in key: readable,
 * "tag|part|part", when it is one line of at most EVENT_CORRELATION_MAX
 * bytes and no part holds "|"; else "am#" and the SHA-256 of the parts.
 */
static void set_correlation(json_t *ev, const char *tag,
			    const char *const *parts, size_t n,
			    struct strbuf *key)
{
	int readable = 1;

	strbuf_reset(key);
	strbuf_addstr(key, tag);
	for (size_t i = 0; i < n; i++) {
		if (strchr(parts[i], '|') || has_control(parts[i]))
			readable = 0;
		strbuf_addch(key, '|');
		strbuf_addstr(key, parts[i]);
	}
	if (!readable || key->len > EVENT_CORRELATION_MAX) {
		struct strbuf data = STRBUF_INIT;
		uint8_t digest[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];

		strbuf_add(&data, tag, strlen(tag) + 1);
		for (size_t i = 0; i < n; i++)
			strbuf_add(&data, parts[i], strlen(parts[i]) + 1);
		sha2(SHA2_256, data.buf, data.len, digest);
		hex_encode(digest, sizeof(digest), hex);
		strbuf_reset(key);
		strbuf_addf(key, "am#%s", hex);
		strbuf_release(&data);
	}
	json_object_set_new(ev, "correlation", json_stringn(key->buf, key->len));
}

/* ---- alerts ---- */

/* The rank of a severity value, or -1 when unknown. */
static int severity_rank(const char *value)
{
	for (size_t i = 0; i < sizeof(severities) / sizeof(*severities); i++)
		if (!strcasecmp(value, severities[i].name))
			return severities[i].rank;
	return -1;
}

/*
 * Reads alert i into a. Returns 0, or -1 when it is left out (not an
 * object, or below ?min_severity=), noted.
 */
static int read_alert(struct conv *c, const json_t *alerts, size_t i,
		      struct alert *a)
{
	const char *status, *severity, *fp;
	const json_t *v;

	memset(a, 0, sizeof(*a));
	snprintf(a->pointer, sizeof(a->pointer), "/alerts/%zu", i);
	a->obj = json_array_get(alerts, i);
	if (!json_is_object(a->obj)) {
		errlist_add(&c->out->ignored, "%s: expected an alert object, "
			    "got %s: left out", a->pointer, json_type_word(a->obj));
		return -1;
	}
	a->labels = object_member(c, a->obj, "labels", a->pointer);
	a->annotations = object_member(c, a->obj, "annotations", a->pointer);
	severity = label(a->labels, "severity");
	if (c->min_rank >= 0 && severity && severity_rank(severity) >= 0 &&
	    severity_rank(severity) < c->min_rank) {
		errlist_add(&c->out->ignored, "%s: severity %s is below "
			    "min_severity %s", a->pointer, severity, c->min_name);
		return -1;
	}
	a->starts_raw = input_str(a->obj, "startsAt");
	if (!a->starts_raw)
		a->starts_raw = "";
	a->starts = read_time(c, a, "startsAt");
	a->ends = read_time(c, a, "endsAt");

	status = input_str(a->obj, "status");
	if (status && !strcmp(status, "firing")) {
		a->firing = 1;
	} else if (status && !strcmp(status, "resolved")) {
		a->firing = 0;
	} else {
		v = json_object_get(a->obj, "status");
		if (v && !json_is_null(v) && !(status && !*status)) {
			struct strbuf msg = STRBUF_INIT;

			if (status)
				add_quoted(&msg, status);
			else
				strbuf_addstr(&msg, json_type_word(v));
			errlist_add(&c->out->ignored, "%s/status: %s is not "
				    "firing or resolved: ignored", a->pointer,
				    msg.buf);
			strbuf_release(&msg);
		}
		if (a->ends && a->ends < c->req->now)
			a->firing = 0;
		else
			a->firing = !c->status || strcmp(c->status, "resolved");
	}

	fp = str(a->obj, "fingerprint");
	if (fp && strlen(fp) < sizeof(a->fingerprint))
		snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", fp);
	else
		label_fingerprint(a->labels, a->fingerprint,
				  sizeof(a->fingerprint));
	return 0;
}

/* The alert's name: label alertname, else a word for its absence. */
static const char *alert_name(const struct alert *a)
{
	const char *name = label(a->labels, "alertname");

	return name ? name : "unnamed alert";
}

/* Sets ev's url: generatorURL when usable, else the Alertmanager's URL. */
static void set_alert_url(struct conv *c, json_t *ev, const struct alert *a)
{
	const char *url = str(a->obj, "generatorURL");
	struct strbuf where = STRBUF_INIT;

	strbuf_addf(&where, "%s/generatorURL", a->pointer);
	if (url && event_url_valid(url, strlen(url))) {
		input_set_url(ev, "url", url, c->out, where.buf);
	} else {
		if (url) {
			struct strbuf msg = STRBUF_INIT;

			add_quoted(&msg, url);
			errlist_add(&c->out->ignored, "%s: %s is not an "
				    "absolute http(s) URL: left out%s",
				    where.buf, msg.buf, c->external_url ?
				    "; the link goes to externalURL" : "");
			strbuf_release(&msg);
		}
		if (c->external_url)
			json_object_set_new(ev, "url",
					    json_string(c->external_url));
	}
	strbuf_release(&where);
}

/* One event for one alert. */
static void convert_alert(struct conv *c, const struct alert *a)
{
	json_t *ev = json_object(), *alert = json_object();
	struct strbuf sb = STRBUF_INIT, where = STRBUF_INIT, key = STRBUF_INIT;
	const char *parts[3];

	json_object_set_new(ev, "type", json_string("alert"));
	json_object_set_new(ev, "status", json_string(a->firing ? "firing" :
						      "resolved"));
	set_app(c, ev, a->labels, a->pointer, "labels");
	set_env(c, ev, a->labels, a->pointer, "labels");

	if (!label(a->labels, "alertname"))
		errlist_add(&c->out->ignored, "%s: no alertname label: named "
			    "\"unnamed alert\"", a->pointer);
	strbuf_addf(&where, "%s/labels/alertname", a->pointer);
	input_set_line(alert, "name", alert_name(a), c->out, where.buf);
	add_object(&sb, a->labels, 0);
	strbuf_reset(&where);
	strbuf_addf(&where, "%s/labels", a->pointer);
	input_set_line(alert, "object", sb.buf, c->out, where.buf);
	strbuf_reset(&where);
	strbuf_addf(&where, "%s/annotations/runbook_url", a->pointer);
	set_url(c, alert, "url", str(a->annotations, "runbook_url"), where.buf);
	json_object_set_new(ev, "alert", alert);

	strbuf_reset(&sb);
	add_description(&sb, a->annotations);
	strbuf_reset(&where);
	strbuf_addf(&where, "%s/annotations", a->pointer);
	input_set_text(ev, "description", sb.buf, c->out, where.buf);
	set_alert_url(c, ev, a);
	set_time(ev, a->firing || !a->ends ? a->starts : a->ends);
	set_owner_im(c, ev, a->labels, a->annotations, a->pointer, "labels",
		     "annotations");

	parts[0] = c->receiver;
	parts[1] = event_env(ev);
	parts[2] = a->fingerprint;
	set_correlation(ev, "am", parts, 3, &key);
	strbuf_reset(&sb);
	strbuf_add(&sb, key.buf, key.len + 1);
	strbuf_add(&sb, a->starts_raw, strlen(a->starts_raw) + 1);
	strbuf_addstr(&sb, a->firing ? "firing" : "resolved");
	input_set_id(ev, "am", sb.buf, sb.len);
	if (!a->firing)
		json_object_set_new(ev, "edit_only", json_true());

	input_add_event(c->out, ev);
	strbuf_release(&sb);
	strbuf_release(&where);
	strbuf_release(&key);
}

/* ---- groups ---- */

/* The groupKey as text: v3 payloads send a number. */
static void add_group_key(struct strbuf *sb, const json_t *root)
{
	const json_t *v = json_object_get(root, "groupKey");
	char *text;

	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		strbuf_add(sb, json_string_value(v), json_string_length(v));
		return;
	}
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	if (text)
		strbuf_addstr(sb, text);
	free(text);
}

/* Appends "name=value, …" of obj's string members, sorted by name. */
static void add_pairs(struct strbuf *sb, const json_t *obj)
{
	const char **keys;
	size_t n;

	if (!obj)
		return;
	n = sorted_keys(obj, &keys);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%s=%s", i ? ", " : "", keys[i],
			    input_str(obj, keys[i]));
	free(keys);
}

/*
 * Appends "name=value, …" of the labels the group's common labels do not
 * share (alertname aside), sorted by name: what tells an alert without an
 * object from the others.
 */
static void add_own_labels(struct strbuf *sb, const json_t *labels,
			   const json_t *common)
{
	const char **keys;
	size_t n, added = 0;

	if (!labels)
		return;
	n = sorted_keys(labels, &keys);
	for (size_t i = 0; i < n; i++) {
		const char *value = input_str(labels, keys[i]);
		const char *shared = input_str(common, keys[i]);

		if (!strcmp(keys[i], "alertname") ||
		    (shared && !strcmp(shared, value)))
			continue;
		strbuf_addf(sb, "%s%s=%s", added++ ? ", " : "", keys[i], value);
	}
	free(keys);
}

/* Appends s on one line, cut to LIST_ITEM_MAX bytes. */
static void add_item(struct strbuf *sb, const char *s)
{
	text_add_fit(sb, s, strlen(s), TEXT_PLAIN | TEXT_ONELINE,
		     LIST_ITEM_MAX);
}

/* The truncatedAlerts count (0 when absent or not a count). */
static unsigned long long truncated_alerts(const json_t *root)
{
	const json_t *v = json_object_get(root, "truncatedAlerts");

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (unsigned long long)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 1 &&
	    json_real_value(v) < 1e18)
		return (unsigned long long)json_real_value(v);
	return 0;
}

/* The whole notification as one event. */
static void convert_group(struct conv *c, const json_t *root,
			  const struct alert *as, size_t n)
{
	const json_t *group_labels = object_member(c, root, "groupLabels", "");
	const json_t *common = object_member(c, root, "commonLabels", "");
	const json_t *common_ann = object_member(c, root, "commonAnnotations",
						 "");
	json_t *ev, *alert;
	struct strbuf sb = STRBUF_INIT, gk = STRBUF_INIT, key = STRBUF_INIT;
	const char *name, *parts[2];
	unsigned long long truncated = truncated_alerts(root);
	char **members;
	int firing = 0;
	time_t when = 0;

	if (!n) {
		errlist_add(&c->out->ignored, "/alerts: no alert to report: "
			    "nothing sent");
		return;
	}
	ev = json_object();
	alert = json_object();
	for (size_t i = 0; i < n; i++)
		firing |= as[i].firing;
	json_object_set_new(ev, "type", json_string("alert"));
	json_object_set_new(ev, "status", json_string(firing ? "firing" :
						      "resolved"));
	set_app(c, ev, common, "", "commonLabels");
	set_env(c, ev, common, "", "commonLabels");

	name = label(group_labels, "alertname");
	if (!name)
		name = label(common, "alertname");
	if (name) {
		strbuf_addstr(&sb, name);
	} else {
		add_pairs(&sb, group_labels);
		if (!sb.len)
			strbuf_addstr(&sb, *c->receiver ? c->receiver :
				      "Alertmanager");
	}
	input_set_line(alert, "name", sb.buf, c->out, "/groupLabels");
	strbuf_reset(&sb);
	add_object(&sb, common, 1);
	input_set_line(alert, "object", sb.buf, c->out, "/commonLabels");
	set_url(c, alert, "url", str(common_ann, "runbook_url"),
		"/commonAnnotations/runbook_url");
	json_object_set_new(ev, "alert", alert);

	/* The common explanation, then one line per alert. */
	strbuf_reset(&sb);
	add_description(&sb, common_ann);
	if (sb.len)
		strbuf_addstr(&sb, "\n\n");
	for (size_t i = 0; i < n && i < GROUP_LIST_MAX; i++) {
		strbuf_addstr(&sb, as[i].firing ? "\xf0\x9f\x94\xb4 firing " :
			      "\xf0\x9f\x9f\xa2 resolved ");
		add_item(&sb, alert_name(&as[i]));
		strbuf_reset(&key);
		add_object(&key, as[i].labels, 0);
		if (key.len) {
			strbuf_addstr(&sb, ": ");
			add_item(&sb, key.buf);
		} else {
			add_own_labels(&key, as[i].labels, common);
			if (key.len) {
				strbuf_addstr(&sb, " (");
				add_item(&sb, key.buf);
				strbuf_addch(&sb, ')');
			}
		}
		strbuf_addch(&sb, '\n');
	}
	if (n > GROUP_LIST_MAX)
		strbuf_addf(&sb, "and %zu more\n", n - GROUP_LIST_MAX);
	if (truncated)
		strbuf_addf(&sb, "and %llu more not sent by Alertmanager\n",
			    truncated);
	strbuf_setlen(&sb, sb.len - 1);
	input_set_text(ev, "description", sb.buf, c->out, "/alerts");
	if (c->external_url)
		json_object_set_new(ev, "url", json_string(c->external_url));

	/* When: the first firing alert's start, or the last resolution. */
	for (size_t i = 0; i < n; i++) {
		time_t t = firing ? as[i].starts : as[i].ends;

		if (t && (!when || (firing ? t < when : t > when)))
			when = t;
	}
	set_time(ev, when);
	set_owner_im(c, ev, common, common_ann, "", "commonLabels",
		     "commonAnnotations");

	add_group_key(&gk, root);
	if (!gk.len)
		add_pairs(&gk, group_labels);
	parts[0] = c->receiver;
	parts[1] = gk.buf;
	set_correlation(ev, "am-group", parts, 2, &key);

	/* The id: the story and the set of (fingerprint, status). */
	members = xcalloc(n, sizeof(*members));
	for (size_t i = 0; i < n; i++) {
		struct strbuf m = STRBUF_INIT;

		strbuf_addf(&m, "%s %s", as[i].fingerprint,
			    as[i].firing ? "firing" : "resolved");
		members[i] = strbuf_detach(&m, NULL);
	}
	qsort(members, n, sizeof(*members), cmp_str);
	strbuf_reset(&sb);
	strbuf_add(&sb, key.buf, key.len + 1);
	for (size_t i = 0; i < n; i++) {
		strbuf_add(&sb, members[i], strlen(members[i]) + 1);
		free(members[i]);
	}
	free(members);
	strbuf_addf(&sb, "%llu", truncated);
	input_set_id(ev, "am", sb.buf, sb.len);
	if (!firing)
		json_object_set_new(ev, "edit_only", json_true());

	input_add_event(c->out, ev);
	strbuf_release(&sb);
	strbuf_release(&gk);
	strbuf_release(&key);
}

/* ---- the request ---- */

/* Reads the query parameters; HERALD_EINVAL for a bad one. */
static int read_query(struct conv *c, int *group, struct errbuf *err)
{
	const struct input_request *req = c->req;
	const char *g = input_query(req, "group");
	const char *sev = input_query(req, "min_severity");

	*group = 0;
	if (g) {
		if (!*g || !strcasecmp(g, "true") || !strcmp(g, "1") ||
		    !strcasecmp(g, "yes"))
			*group = 1;
		else if (strcasecmp(g, "false") && strcmp(g, "0") &&
			 strcasecmp(g, "no"))
			return errbuf_set(err, HERALD_EINVAL, "?group=%.64s is "
					  "not a boolean; expected true or "
					  "false", g);
	}
	c->min_rank = -1;
	if (sev && *sev) {
		for (size_t i = 0; i < sizeof(min_severities) /
		     sizeof(*min_severities); i++)
			if (!strcasecmp(sev, min_severities[i])) {
				c->min_name = min_severities[i];
				c->min_rank = severity_rank(c->min_name);
			}
		if (c->min_rank < 0)
			return errbuf_set(err, HERALD_EINVAL, "?min_severity="
					  "%.64s is not a severity; expected "
					  "info, warning, error or critical",
					  sev);
	}
	c->q_app = input_query(req, "app");
	c->q_env = input_query(req, "env");
	if (req->app_labels) {
		c->app_labels = req->app_labels;
		c->app_labels_nr = req->app_labels_nr;
	} else {
		c->app_labels = default_app_labels;
		c->app_labels_nr = sizeof(default_app_labels) /
				   sizeof(*default_app_labels);
	}
	return 0;
}

/*
 * Decodes the body. A v3 groupKey is a uint64 that may not fit jansson's
 * integers: then numbers are read as reals instead of refusing the payload.
 */
static json_t *load(const struct input_request *req, struct errbuf *err)
{
	json_error_t jerr;
	json_t *root;

	if (!req->body || !req->len) {
		errbuf_set(err, HERALD_EINVAL, "not an Alertmanager webhook "
			   "payload: the body is empty; expected a JSON object "
			   "with an \"alerts\" array");
		return NULL;
	}
	root = json_loadb(req->body, req->len, 0, &jerr);
	if (!root && json_error_code(&jerr) == json_error_numeric_overflow)
		root = json_loadb(req->body, req->len,
				  JSON_DECODE_INT_AS_REAL, &jerr);
	if (!root)
		input_json_error(err, "not an Alertmanager webhook payload",
				 &jerr);
	return root;
}

int alertmanager_convert(const struct input_request *req,
			 struct input_result *out, struct errbuf *err)
{
	struct conv c = { 0 };
	const json_t *alerts, *v;
	struct alert *as = NULL;
	size_t nr, kept = 0;
	json_t *root;
	int group, ret;

	c.req = req;
	c.out = out;
	ret = read_query(&c, &group, err);
	if (ret)
		return ret;
	root = load(req, err);
	if (!root)
		return HERALD_EINVAL;
	if (!json_is_object(root)) {
		ret = errbuf_set(err, HERALD_EINVAL, "not an Alertmanager "
				 "webhook payload: expected a JSON object with "
				 "an \"alerts\" array, got %s", json_type_word(root));
		goto out;
	}
	alerts = json_object_get(root, "alerts");
	if (!json_is_array(alerts)) {
		ret = errbuf_set(err, HERALD_EINVAL, "not an Alertmanager "
				 "webhook payload: %s; expected an \"alerts\" "
				 "array", alerts ? "\"alerts\" is not an array" :
				 "no \"alerts\" member");
		goto out;
	}

	c.receiver = input_str(root, "receiver");
	v = json_object_get(root, "receiver");
	if (v && !json_is_null(v) && !c.receiver)
		errlist_add(&out->ignored, "/receiver: expected a string, got "
			    "%s: ignored", json_type_word(v));
	if (!c.receiver)
		c.receiver = "";
	c.status = input_str(root, "status");
	if (c.status && strcmp(c.status, "firing") &&
	    strcmp(c.status, "resolved"))
		c.status = NULL;
	c.external_url = str(root, "externalURL");
	if (c.external_url && !event_url_valid(c.external_url, strlen(c.external_url))) {
		struct strbuf msg = STRBUF_INIT;

		add_quoted(&msg, c.external_url);
		errlist_add(&out->ignored, "/externalURL: %s is not an "
			    "absolute http(s) URL: not linked", msg.buf);
		strbuf_release(&msg);
		c.external_url = NULL;
	}

	nr = json_array_size(alerts);
	as = xcalloc(nr ? nr : 1, sizeof(*as));
	for (size_t i = 0; i < nr; i++)
		if (!read_alert(&c, alerts, i, &as[kept]))
			kept++;
	if (group) {
		convert_group(&c, root, as, kept);
	} else {
		unsigned long long truncated = truncated_alerts(root);

		for (size_t i = 0; i < kept; i++)
			convert_alert(&c, &as[i]);
		if (truncated)
			errlist_add(&out->ignored, "/truncatedAlerts: %llu more "
				    "alerts not sent by Alertmanager (its "
				    "max_alerts)", truncated);
	}
	ret = 0;
out:
	free(as);
	json_decref(root);
	return ret;
}
