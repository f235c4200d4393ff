/*
 * event: herald's event model: the names of types and statuses, which
 * status each type allows, encoding an event back to JSON, and the
 * correlation key that ties later events to an earlier message. Parsing
 * the JSON form is an input (inputs/event_json.c).
 */
#include "core/event.h"
#include "lib/strbuf.h"
#include "lib/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[EVENT_TYPE_NR] = {
	[EVENT_DEPLOY] = "deploy",
	[EVENT_ROLLBACK] = "rollback",
	[EVENT_DELETE] = "delete",
	[EVENT_GITOPS] = "gitops",
	[EVENT_ALERT] = "alert",
	[EVENT_MESSAGE] = "message",
};

static const char *const status_names[EVENT_STATUS_NR] = {
	[EVENT_STATUS_NONE] = "none",
	[EVENT_STARTED] = "started",
	[EVENT_SUCCEEDED] = "succeeded",
	[EVENT_FAILED] = "failed",
	[EVENT_PROGRESSING] = "progressing",
	[EVENT_APPLIED] = "applied",
	[EVENT_HEALTHY] = "healthy",
	[EVENT_UNHEALTHY] = "unhealthy",
	[EVENT_FIRING] = "firing",
	[EVENT_RESOLVED] = "resolved",
};

/* The statuses each type allows, as a bit set of 1 << status. */
#define BIT(s) (1u << (s))
static const unsigned type_statuses[EVENT_TYPE_NR] = {
	[EVENT_DEPLOY] = BIT(EVENT_STARTED) | BIT(EVENT_SUCCEEDED) | BIT(EVENT_FAILED),
	[EVENT_ROLLBACK] = BIT(EVENT_STARTED) | BIT(EVENT_SUCCEEDED) | BIT(EVENT_FAILED),
	[EVENT_DELETE] = BIT(EVENT_SUCCEEDED) | BIT(EVENT_FAILED),
	[EVENT_GITOPS] = BIT(EVENT_PROGRESSING) | BIT(EVENT_APPLIED) |
		BIT(EVENT_HEALTHY) | BIT(EVENT_FAILED) | BIT(EVENT_UNHEALTHY),
	[EVENT_ALERT] = BIT(EVENT_FIRING) | BIT(EVENT_RESOLVED),
	[EVENT_MESSAGE] = BIT(EVENT_STATUS_NONE),
};

const char *const event_type_expected =
	"expected one of deploy, rollback, delete, gitops, alert, message";

static const char *const status_expected[EVENT_TYPE_NR] = {
	[EVENT_DEPLOY] = "started, succeeded or failed",
	[EVENT_ROLLBACK] = "started, succeeded or failed",
	[EVENT_DELETE] = "succeeded or failed",
	[EVENT_GITOPS] = "progressing, applied, healthy, failed or unhealthy",
	[EVENT_ALERT] = "firing or resolved",
	[EVENT_MESSAGE] = "no status",
};

const char *event_type_name(enum event_type type)
{
	if ((unsigned)type >= EVENT_TYPE_NR)
		return "unknown";
	return type_names[type];
}

const char *event_status_name(enum event_status status)
{
	if ((unsigned)status >= EVENT_STATUS_NR)
		return "unknown";
	return status_names[status];
}

int event_type_parse(const char *name, enum event_type *out)
{
	for (int i = 0; name && i < EVENT_TYPE_NR; i++) {
		if (!strcmp(name, type_names[i])) {
			*out = (enum event_type)i;
			return 0;
		}
	}
	return -1;
}

int event_status_parse(const char *name, enum event_status *out)
{
	/* "none" is internal, not a status anyone can send. */
	for (int i = EVENT_STATUS_NONE + 1; name && i < EVENT_STATUS_NR; i++) {
		if (!strcmp(name, status_names[i])) {
			*out = (enum event_status)i;
			return 0;
		}
	}
	return -1;
}

int event_status_valid(enum event_type type, enum event_status status)
{
	if ((unsigned)type >= EVENT_TYPE_NR || (unsigned)status >= EVENT_STATUS_NR)
		return 0;
	return !!(type_statuses[type] & BIT(status));
}

const char *event_status_expected(enum event_type type)
{
	return status_expected[type];
}

int event_status_rank(enum event_status status)
{
	switch (status) {
	case EVENT_STARTED:
	case EVENT_PROGRESSING:
	case EVENT_FIRING:
		return 1;
	case EVENT_APPLIED:
	case EVENT_RESOLVED:
		return 2;
	case EVENT_SUCCEEDED:
	case EVENT_FAILED:
	case EVENT_HEALTHY:
	case EVENT_UNHEALTHY:
		return 3;
	case EVENT_STATUS_NONE:
	case EVENT_STATUS_NR:
		break;
	}
	return 0;
}

int event_is_failure(const struct event *ev)
{
	return ev->status == EVENT_FAILED || ev->status == EVENT_UNHEALTHY ||
		ev->status == EVENT_FIRING;
}

static void set_string(json_t *obj, const char *name, const char *value)
{
	if (value)
		json_object_set_new(obj, name, json_string(value));
}

json_t *event_to_json(const struct event *ev)
{
	json_t *obj = json_object();

	set_string(obj, "type", event_type_name(ev->type));
	if (ev->status != EVENT_STATUS_NONE)
		set_string(obj, "status", event_status_name(ev->status));
	set_string(obj, "app", ev->app);
	set_string(obj, "env", ev->env);
	set_string(obj, "actor", ev->actor);
	set_string(obj, "repository", ev->repository);
	set_string(obj, "sha", ev->sha);
	set_string(obj, "version", ev->version);
	set_string(obj, "url", ev->url);
	set_string(obj, "gitops_repository", ev->gitops_repository);
	set_string(obj, "gitops_sha", ev->gitops_sha);
	set_string(obj, "title", ev->title);
	set_string(obj, "description", ev->description);
	if (ev->alert_name || ev->alert_object || ev->alert_url) {
		json_t *alert = json_object();

		set_string(alert, "name", ev->alert_name);
		set_string(alert, "object", ev->alert_object);
		set_string(alert, "url", ev->alert_url);
		json_object_set_new(obj, "alert", alert);
	}
	set_string(obj, "channel", ev->channel);
	set_string(obj, "owner_im", ev->owner_im);
	set_string(obj, "id", ev->id);
	set_string(obj, "correlation", ev->correlation);
	if (ev->timestamp) {
		struct tm tm;
		char buf[64];

		if (gmtime_r(&ev->timestamp, &tm) &&
		    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
			set_string(obj, "timestamp", buf);
	}
	if (ev->edit_only)
		json_object_set_new(obj, "edit_only", json_true());
	return obj;
}

static void add_member(struct strbuf *out, const char *name,
		       const char *value)
{
	if (!value || strbuf_overflowed(out))	/* out may even be empty */
		return;
	if (out->buf[out->len - 1] != '{')
		strbuf_addch(out, ',');
	strbuf_addch(out, '"');
	strbuf_addstr(out, name);
	strbuf_add(out, "\":", 2);
	text_add_json_string(out, value, strlen(value), 0);
}

void event_write_json(const struct event *ev, struct strbuf *out)
{
	strbuf_addch(out, '{');
	add_member(out, "type", event_type_name(ev->type));
	if (ev->status != EVENT_STATUS_NONE)
		add_member(out, "status", event_status_name(ev->status));
	add_member(out, "app", ev->app);
	add_member(out, "env", ev->env);
	add_member(out, "actor", ev->actor);
	add_member(out, "repository", ev->repository);
	add_member(out, "sha", ev->sha);
	add_member(out, "version", ev->version);
	add_member(out, "url", ev->url);
	add_member(out, "gitops_repository", ev->gitops_repository);
	add_member(out, "gitops_sha", ev->gitops_sha);
	add_member(out, "title", ev->title);
	add_member(out, "description", ev->description);
	if (ev->alert_name || ev->alert_object || ev->alert_url) {
		strbuf_addstr(out, ",\"alert\":{");
		add_member(out, "name", ev->alert_name);
		add_member(out, "object", ev->alert_object);
		add_member(out, "url", ev->alert_url);
		strbuf_addch(out, '}');
	}
	add_member(out, "channel", ev->channel);
	add_member(out, "owner_im", ev->owner_im);
	add_member(out, "id", ev->id);
	add_member(out, "correlation", ev->correlation);
	if (ev->timestamp) {
		struct tm tm;
		char buf[64];

		if (gmtime_r(&ev->timestamp, &tm) &&
		    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
			add_member(out, "timestamp", buf);
	}
	if (ev->edit_only)
		strbuf_addstr(out, ",\"edit_only\":true");
	strbuf_addch(out, '}');
}

/*
 * Parts are joined with U+001F (unit separator): single-line fields cannot
 * hold control characters, so no value can fake a boundary.
 */
char *event_correlation_key(const struct event *ev)
{
	struct strbuf sb = STRBUF_INIT;
	const char *rev;

#define PART(s) (strbuf_addch(&sb, '\x1f'), strbuf_addstr(&sb, (s) ? (s) : ""))
	if (ev->correlation) {
		strbuf_addstr(&sb, "c");
		PART(ev->correlation);
		goto done;
	}
	switch (ev->type) {
	case EVENT_DEPLOY:
	case EVENT_ROLLBACK:
		rev = ev->sha ? ev->sha : ev->version;
		if (!rev)
			return NULL;
		strbuf_addstr(&sb, event_type_name(ev->type));
		PART(ev->app);
		PART(ev->env);
		PART(rev);
		break;
	case EVENT_GITOPS:
		if (!ev->gitops_sha)
			return NULL;
		strbuf_addstr(&sb, "gitops");
		PART(ev->env);
		PART(ev->gitops_sha);
		break;
	case EVENT_ALERT:
		strbuf_addstr(&sb, "alert");
		PART(ev->app);
		PART(ev->env);
		PART(ev->alert_name);
		PART(ev->alert_object);
		break;
	default:
		return NULL;
	}
#undef PART
done:
	return strbuf_detach(&sb, NULL);
}

void event_release(struct event *ev)
{
	if (!ev)
		return;
	free(ev->app);
	free(ev->env);
	free(ev->actor);
	free(ev->repository);
	free(ev->sha);
	free(ev->version);
	free(ev->url);
	free(ev->gitops_repository);
	free(ev->gitops_sha);
	free(ev->title);
	free(ev->description);
	free(ev->alert_name);
	free(ev->alert_object);
	free(ev->alert_url);
	free(ev->channel);
	free(ev->owner_im);
	free(ev->id);
	free(ev->correlation);
	memset(ev, 0, sizeof(*ev));
}

void event_free(struct event *ev)
{
	if (!ev)
		return;
	event_release(ev);
	free(ev);
}

size_t event_memory(const struct event *ev)
{
	const char *const fields[] = {
		ev->app, ev->env, ev->actor, ev->repository, ev->sha,
		ev->version, ev->url, ev->gitops_repository, ev->gitops_sha,
		ev->title, ev->description, ev->alert_name, ev->alert_object,
		ev->alert_url, ev->channel, ev->owner_im, ev->id, ev->correlation,
	};
	size_t bytes = sizeof(*ev);

	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (fields[i])
			bytes += strlen(fields[i]) + 1 + 16;	/* malloc's */
	return bytes;
}

void event_array_free(struct event *events, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		event_release(&events[i]);
	free(events);
}
