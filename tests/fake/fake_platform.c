/*
 * herald-fake: a fake Slack and Discord server for herald's integration
 * tests, and for trying a configuration offline.
 *
 * One process, one loopback port: the Slack Web API under /slack/api/<method>,
 * Discord under /discord/api/v10/..., and a control API under /_fake/ (no
 * auth) to read the recorded requests and stored messages, delete a
 * message, queue faults, change rate limits and reset. libmicrohttpd runs a thread per connection;
 * one mutex guards all state, and every jansson object reachable from it is
 * touched only with the mutex held. The main thread waits for SIGTERM or
 * SIGINT and then shuts down cleanly. docs/fake-platforms.md is the manual.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "lib/strbuf.h"

#define SLACK_PREFIX "/slack/api/"
#define DISCORD_PREFIX "/discord/api/v10"
#define CONTROL_PREFIX "/_fake/"
#define DELAY_MAX_MS 120000
#define FAULT_COUNT_MAX 1000000

struct server {
	struct fake_state st;
	FILE *record;		/* --record, or NULL */
	int quiet;
};

/* One HTTP request while libmicrohttpd hands us its body. */
struct request_ctx {
	struct strbuf body;
	int too_large;
	double started;
};

static json_t *json_str_safe(const char *s)
{
	json_t *v;

	if (!s)
		return json_null();
	v = json_string(s);
	return v ? v : json_string("(not UTF-8)");
}

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	json_t *v = json_string(value ? value : "");

	if (v && key)
		json_object_set_new(cls, key, v);
	else
		json_decref(v);
	return MHD_YES;
}

static const char *platform_of(const char *url)
{
	if (!strncmp(url, SLACK_PREFIX, strlen(SLACK_PREFIX)))
		return "slack";
	if (!strncmp(url, DISCORD_PREFIX "/", strlen(DISCORD_PREFIX) + 1))
		return "discord";
	return "none";
}

/* Pops the first queued fault that matches; a new reference or NULL. */
static json_t *take_fault(struct fake_state *st, const char *platform, const char *url)
{
	json_t *f;
	size_t i;

	json_array_foreach(st->faults, i, f) {
		const char *want = fake_json_str(f, "platform");
		const char *sub = fake_json_str(f, "path");
		json_int_t left = json_integer_value(json_object_get(f, "count")) - 1;
		json_t *copy;

		if ((strcmp(want, "any") && strcmp(want, platform)) || (sub && !strstr(url, sub)))
			continue;
		copy = json_deep_copy(f);
		if (left <= 0)
			json_array_remove(st->faults, i);
		else
			json_object_set_new(f, "count", json_integer(left));
		return copy;
	}
	return NULL;
}

/* Whether a fault answers (rather than only delays the request). */
static int fault_answers(json_t *f)
{
	return json_object_get(f, "status") || json_object_get(f, "error") ||
	       json_object_get(f, "code") || json_object_get(f, "message");
}

/*
 * s with every "{auth}" replaced by the credential of the request's
 * Authorization header (what follows "Bearer " or "Bot "): a platform
 * that echoes the token. A new string, or NULL for NULL.
 */
static char *echo_auth(const char *s, const char *authorization)
{
	const char *cred = authorization ? authorization : "";
	const char *space = strchr(cred, ' ');
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (!s)
		return NULL;
	if (space)
		cred = space + 1;
	while ((p = strstr(s, "{auth}"))) {
		strbuf_add(&sb, s, (size_t)(p - s));
		strbuf_addstr(&sb, cred);
		s = p + strlen("{auth}");
	}
	strbuf_addstr(&sb, s);
	return strbuf_detach(&sb, NULL);
}

static void fault_response(json_t *f, const char *platform,
			   const char *authorization, struct fake_response *resp)
{
	json_t *v = json_object_get(f, "status");
	char *error_echo = echo_auth(fake_json_str(f, "error"), authorization);
	char *message_echo = echo_auth(fake_json_str(f, "message"), authorization);
	const char *error = error_echo;
	const char *message = message_echo;
	int discord = !strcmp(platform, "discord");
	json_t *code = json_object_get(f, "code");
	double retry = 1.0;
	unsigned status;

	if (v)
		status = (unsigned)json_integer_value(v);
	else if (discord)
		status = code ? 400 : 500;
	else
		status = error ? 200 : 500;
	if ((v = json_object_get(f, "retry_after")))
		retry = json_number_value(v);
	if (status == 429 || json_object_get(f, "retry_after"))
		fake_response_header(resp, "Retry-After", "%ld", (long)ceil(retry));
	if (!discord) {
		if (!error)
			error = status == 429 ? "ratelimited" : status == 503 ?
				"service_unavailable" : "internal_error";
		fake_response_set(resp, status, json_pack("{s:b, s:s}", "ok", 0, "error", error));
		goto out;
	}
	if (status == 429 && !code) {
		int global = json_is_true(json_object_get(f, "global"));

		fake_response_header(resp, "X-RateLimit-Scope", global ? "global" : "user");
		if (global)
			fake_response_header(resp, "X-RateLimit-Global", "true");
		fake_response_set(resp, status, json_pack("{s:s, s:f, s:b}",
			"message", "You are being rate limited.", "retry_after", retry,
			"global", global));
		goto out;
	}
	if (!message)
		message = error ? error : status == 502 ? "502: Bad Gateway" : status == 503 ?
			  "503: Service Unavailable" : "500: Internal Server Error";
	fake_response_set(resp, status, json_pack("{s:s, s:I}", "message", message,
		"code", code ? json_integer_value(code) : (json_int_t)0));
out:
	free(error_echo);
	free(message_echo);
}

/* Checks a POST /_fake/fault item and fills in its defaults. */
static int check_fault(json_t *f, struct strbuf *why)
{
	static const char *const keys[] = {
		"count", "platform", "path", "status", "error", "code", "message",
		"retry_after", "delay_ms", "drop", "global",
	};
	const char *key, *platform;
	json_t *v;
	size_t i;

	if (!json_is_object(f))
		return strbuf_addstr(why, "a fault must be a JSON object"), -1;
	json_object_foreach(f, key, v) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(key, keys[i]))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]))
			return strbuf_addf(why, "unknown fault key \"%s\"", key), -1;
	}
	v = json_object_get(f, "count");
	if (!v)
		json_object_set_new(f, "count", json_integer(1));
	else if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		 json_integer_value(v) > FAULT_COUNT_MAX)
		return strbuf_addstr(why, "\"count\" must be an integer from 1"), -1;
	platform = fake_json_str(f, "platform");
	if (!json_object_get(f, "platform"))
		json_object_set_new(f, "platform", json_string("any"));
	else if (!platform || (strcmp(platform, "slack") && strcmp(platform, "discord") &&
			       strcmp(platform, "any")))
		return strbuf_addstr(why, "\"platform\" must be \"slack\", \"discord\" or \"any\""), -1;
	if ((v = json_object_get(f, "path")) && !json_is_string(v))
		return strbuf_addstr(why, "\"path\" must be a string"), -1;
	if ((v = json_object_get(f, "status")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 200 || json_integer_value(v) > 599))
		return strbuf_addstr(why, "\"status\" must be an HTTP status from 200 to 599"), -1;
	if (((v = json_object_get(f, "error")) && !json_is_string(v)) ||
	    ((v = json_object_get(f, "message")) && !json_is_string(v)))
		return strbuf_addstr(why, "\"error\" and \"message\" must be strings"), -1;
	if ((v = json_object_get(f, "code")) && !json_is_integer(v))
		return strbuf_addstr(why, "\"code\" must be an integer"), -1;
	if ((v = json_object_get(f, "retry_after")) &&
	    (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 86400))
		return strbuf_addstr(why, "\"retry_after\" must be seconds from 0 to 86400"), -1;
	if ((v = json_object_get(f, "delay_ms")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 ||
	     json_integer_value(v) > DELAY_MAX_MS))
		return strbuf_addf(why, "\"delay_ms\" must be an integer from 0 to %d",
				   DELAY_MAX_MS), -1;
	if (((v = json_object_get(f, "drop")) && !json_is_boolean(v)) ||
	    ((v = json_object_get(f, "global")) && !json_is_boolean(v)))
		return strbuf_addstr(why, "\"drop\" and \"global\" must be true or false"), -1;
	return 0;
}

static json_t *limits_json(const struct fake_limits *l)
{
	return json_pack("{s:f, s:f, s:I, s:f}",
		"slack_rate", l->slack_rate,
		"slack_burst", l->slack_burst,
		"discord_bucket_limit", (json_int_t)l->discord_bucket_limit,
		"discord_bucket_window", l->discord_bucket_window);
}

static int set_limits(struct fake_limits *l, json_t *body, struct strbuf *why)
{
	struct fake_limits next = *l;
	const char *key;
	json_t *v;

	if (!json_is_object(body))
		return strbuf_addstr(why, "expected a JSON object"), -1;
	json_object_foreach(body, key, v) {
		double d = json_number_value(v);

		if (!json_is_number(v))
			return strbuf_addf(why, "\"%s\" must be a number", key), -1;
		if (!strcmp(key, "slack_rate") && d >= 0)
			next.slack_rate = d;
		else if (!strcmp(key, "slack_burst") && d >= 1)
			next.slack_burst = d;
		else if (!strcmp(key, "discord_bucket_limit") && json_is_integer(v) && d >= 1)
			next.discord_bucket_limit = (long)json_integer_value(v);
		else if (!strcmp(key, "discord_bucket_window") && d > 0)
			next.discord_bucket_window = d;
		else
			return strbuf_addf(why, "\"%s\": unknown key or value out of range"
					   " (see docs/fake-platforms.md)", key), -1;
	}
	*l = next;
	return 0;
}

/* Whether a stored message is in channel (an ID or a name, "#" optional). */
static int in_channel(const char *id, const char *name, const char *channel)
{
	if (!channel || !*channel)
		return 1;
	if (*channel == '#')
		channel++;
	return !strcmp(id, channel) || (name && !strcmp(name, channel));
}

static const char *discord_channel_name(struct fake_state *st, const char *id)
{
	json_t *g, *ch;
	size_t i, j;

	json_array_foreach(json_object_get(st->discord, "guilds"), i, g)
		json_array_foreach(json_object_get(g, "channels"), j, ch)
			if (!strcmp(fake_json_str(ch, "id"), id))
				return fake_json_str(ch, "name");
	return NULL;
}

static json_t *list_messages(struct fake_state *st, const char *channel)
{
	json_t *slack = json_array(), *discord = json_array();
	json_t *m;
	size_t i;

	json_array_foreach(st->slack_messages, i, m)
		if (in_channel(fake_json_str(m, "channel"), fake_json_str(m, "channel_name"),
			       channel))
			json_array_append_new(slack, json_deep_copy(m));
	json_array_foreach(st->discord_messages, i, m) {
		json_t *msg = json_object_get(m, "message");
		const char *id = fake_json_str(msg, "channel_id");
		const char *name = discord_channel_name(st, id);
		json_t *out;

		if (!in_channel(id, name, channel))
			continue;
		out = json_deep_copy(msg);
		json_object_set_new(out, "channel_name", json_str_safe(name));
		json_object_set(out, "edited", json_object_get(m, "edited"));
		json_object_set_new(out, "history", json_deep_copy(json_object_get(m, "history")));
		json_object_set_new(out, "allowed_mentions",
				    json_deep_copy(json_object_get(m, "allowed_mentions")));
		json_array_append_new(discord, out);
	}
	return json_pack("{s:o, s:o}", "slack", slack, "discord", discord);
}

static json_t *list_requests(struct fake_state *st, json_t *query)
{
	const char *since = fake_json_str(query, "since");
	const char *path = fake_json_str(query, "path");
	json_t *out = json_array();
	json_t *r;
	long after = 0;
	size_t i;

	if (since && parse_long(since, 0, LONG_MAX, &after))
		after = 0;
	json_array_foreach(st->requests, i, r) {
		if (json_integer_value(json_object_get(r, "seq")) <= after)
			continue;
		if (path && !strstr(fake_json_str(r, "path"), path))
			continue;
		json_array_append_new(out, json_deep_copy(r));
	}
	return out;
}

static void control_error(struct fake_response *resp, unsigned status, const char *msg)
{
	fake_response_set(resp, status, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

/*
 * POST /_fake/delete {"message": TS-or-ID}: someone deletes a message (a
 * Slack ts or a Discord message ID); edits of it then find no message.
 */
static void delete_message(struct fake_state *st, json_t *json, struct fake_response *resp)
{
	const char *key, *id = fake_json_str(json, "message");
	json_t *v, *m;
	size_t i;

	if (!json_is_object(json)) {
		control_error(resp, 400, "the body must be {\"message\": TS-or-ID}");
		return;
	}
	json_object_foreach(json, key, v) {
		if (strcmp(key, "message")) {
			control_error(resp, 400, "unknown key: the body is {\"message\": TS-or-ID}");
			return;
		}
	}
	if (!id) {
		control_error(resp, 400, "\"message\" must be the ts or ID of a stored message");
		return;
	}
	json_array_foreach(st->slack_messages, i, m) {
		if (!strcmp(fake_json_str(m, "ts"), id)) {
			json_array_remove(st->slack_messages, i);
			fake_response_set(resp, 200, json_pack("{s:b, s:s}", "ok", 1,
							       "platform", "slack"));
			return;
		}
	}
	json_array_foreach(st->discord_messages, i, m) {
		if (!strcmp(fake_json_str(json_object_get(m, "message"), "id"), id)) {
			json_array_remove(st->discord_messages, i);
			fake_response_set(resp, 200, json_pack("{s:b, s:s}", "ok", 1,
							       "platform", "discord"));
			return;
		}
	}
	control_error(resp, 404, "no stored message has this ts or ID");
}

/* The control API; runs with the state locked. */
static void control(struct fake_state *st, const char *method, const char *what,
		    json_t *query, const char *body, size_t body_len,
		    struct fake_response *resp)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	struct strbuf why = STRBUF_INIT;
	json_t *json = NULL, *v;
	size_t i;

	if (post && body_len) {
		json = json_loadb(body, body_len, JSON_DECODE_ANY, NULL);
		if (!json) {
			control_error(resp, 400, "the body is not valid JSON");
			goto out;
		}
	}
	if (!strcmp(what, "health") && get) {
		fake_response_set(resp, 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(what, "requests") && get) {
		fake_response_set(resp, 200, list_requests(st, query));
	} else if (!strcmp(what, "messages") && get) {
		fake_response_set(resp, 200, list_messages(st, fake_json_str(query, "channel")));
	} else if (!strcmp(what, "state") && get) {
		fake_response_set(resp, 200, fake_state_directory(st));
	} else if (!strcmp(what, "fault") && get) {
		fake_response_set(resp, 200, json_deep_copy(st->faults));
	} else if (!strcmp(what, "fault") && post) {
		json_t *items = json_is_array(json) ? json_incref(json) : json_pack("[O]", json ? json : json_null());

		json_array_foreach(items, i, v) {
			if (check_fault(v, &why)) {
				json_decref(items);
				control_error(resp, 400, why.buf);
				goto out;
			}
		}
		json_array_extend(st->faults, items);
		json_decref(items);
		fake_response_set(resp, 200, json_pack("{s:b, s:I}", "ok", 1, "pending",
			(json_int_t)json_array_size(st->faults)));
	} else if (!strcmp(what, "delete") && post) {
		delete_message(st, json, resp);
	} else if (!strcmp(what, "reset") && post) {
		fake_state_clear(st);
		fake_response_set(resp, 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(what, "config") && get) {
		fake_response_set(resp, 200, limits_json(&st->limits));
	} else if (!strcmp(what, "config") && post) {
		if (set_limits(&st->limits, json, &why)) {
			control_error(resp, 400, why.buf);
			goto out;
		}
		json_object_clear(st->slack_buckets);
		json_object_clear(st->discord_buckets);
		fake_response_set(resp, 200, json_pack("{s:b, s:o}", "ok", 1, "config",
						       limits_json(&st->limits)));
	} else if (!strcmp(what, "health") || !strcmp(what, "requests") ||
		   !strcmp(what, "messages") || !strcmp(what, "state") ||
		   !strcmp(what, "fault") || !strcmp(what, "reset") || !strcmp(what, "config") ||
		   !strcmp(what, "delete")) {
		control_error(resp, 405, "method not allowed");
	} else {
		control_error(resp, 404, "unknown control endpoint: see docs/fake-platforms.md");
	}
out:
	json_decref(json);
	strbuf_release(&why);
}

/* Appends the request to the log and to the --record file. */
static void record(struct server *srv, const char *platform, const char *url,
		   const struct fake_request *req, double started,
		   const struct fake_response *resp, json_t *fault)
{
	struct fake_state *st = &srv->st;
	json_t *entry, *body = NULL, *headers = json_object();
	size_t i;

	if (req->body_len) {
		body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL);
		if (!body)
			body = json_stringn(req->body, req->body_len);
		if (!body)
			body = json_string("(not UTF-8)");
	}
	for (i = 0; i < resp->headers_nr; i++)
		json_object_set_new(headers, resp->headers[i].name,
				    json_str_safe(resp->headers[i].value));
	entry = json_pack("{s:I, s:f, s:s, s:s, s:o, s:O, s:{s:o, s:o, s:o}, s:o, s:i, s:O, s:o}",
		"seq", (json_int_t)++st->request_seq,
		"time", started,
		"platform", platform,
		"method", req->method,
		"path", json_str_safe(url),
		"query", req->query,
		"headers",
			"authorization", json_str_safe(req->authorization),
			"content-type", json_str_safe(req->content_type),
			"user-agent", json_str_safe(req->user_agent),
		"body", body ? body : json_null(),
		"status", (int)resp->status,
		"response", resp->body ? resp->body : json_null(),
		"response_headers", headers);
	if (!entry)
		return;
	if (fault)
		json_object_set(entry, "fault", fault);
	json_array_append_new(st->requests, entry);
	if (json_array_size(st->requests) > FAKE_REQUESTS_MAX)
		json_array_remove(st->requests, 0);
	if (srv->record) {
		char *line = json_dumps(entry, FAKE_JSON_FLAGS);

		if (line) {
			fprintf(srv->record, "%s\n", line);
			fflush(srv->record);
			free(line);
		}
	}
}

/* Waits ms milliseconds, or less when the server is stopping. */
static void wait_ms(struct fake_state *st, long ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->lock);
	while (!st->stopping &&
	       pthread_cond_timedwait(&st->wake, &st->lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&st->lock);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, unsigned status,
				     char *text, const struct fake_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	if (text)
		r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	for (i = 0; i < resp->headers_nr; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void too_large(const char *platform, struct fake_response *resp)
{
	if (!strcmp(platform, "discord"))
		fake_response_set(resp, 413, json_pack("{s:s, s:i}", "message",
			"Request entity too large", "code", 40005));
	else
		fake_response_set(resp, 413, json_pack("{s:b, s:s}", "ok", 0,
			"error", "request_too_large"));
}

/* Answers one complete request. */
static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *conn,
				const char *url, const char *method,
				struct request_ctx *ctx)
{
	struct fake_state *st = &srv->st;
	struct fake_response resp = { 0 };
	struct fake_request req = { 0 };
	const char *platform = platform_of(url);
	json_t *fault = NULL;
	char *text = NULL;
	unsigned status;
	int drop = 0;

	req.method = method;
	req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	req.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
	req.body = ctx->body.buf;
	req.body_len = ctx->body.len;

	pthread_mutex_lock(&st->lock);
	req.query = json_object();
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query_arg, req.query);
	if (!strncmp(url, CONTROL_PREFIX, strlen(CONTROL_PREFIX))) {
		if (ctx->too_large) {
			control_error(&resp, 413, "the body is larger than 1 MiB");
			goto answer;
		}
		control(st, method, url + strlen(CONTROL_PREFIX), req.query, req.body,
			req.body_len, &resp);
		goto answer;
	}
	fault = take_fault(st, platform, url);
	if (fault && json_integer_value(json_object_get(fault, "delay_ms")) > 0) {
		pthread_mutex_unlock(&st->lock);
		wait_ms(st, (long)json_integer_value(json_object_get(fault, "delay_ms")));
		pthread_mutex_lock(&st->lock);
	}
	if (fault && json_is_true(json_object_get(fault, "drop"))) {
		drop = 1;
		resp.status = 0;
	} else if (fault && fault_answers(fault)) {
		fault_response(fault, platform, req.authorization, &resp);
	} else if (ctx->too_large) {
		too_large(platform, &resp);
	} else if (!strcmp(platform, "slack")) {
		req.path = url + strlen(SLACK_PREFIX);
		fake_slack_handle(st, &req, &resp);
	} else if (!strcmp(platform, "discord")) {
		req.path = url + strlen(DISCORD_PREFIX);
		fake_discord_handle(st, &req, &resp);
	} else {
		fake_response_set(&resp, 404, json_pack("{s:b, s:s}", "ok", 0, "error",
			"not a fake platform path: use /slack/api/<method> or /discord/api/v10/..."));
	}
	record(srv, platform, url, &req, ctx->started, &resp, fault);
answer:
	status = resp.status;
	if (resp.body)
		text = json_dumps(resp.body, FAKE_JSON_FLAGS);
	if (!srv->quiet && strncmp(url, CONTROL_PREFIX, strlen(CONTROL_PREFIX)))
		fprintf(stderr, "herald-fake: %s %s -> %s%u\n", method, url,
			drop ? "dropped " : "", status);
	json_decref(fault);
	json_decref(req.query);
	fake_response_release(&resp);
	pthread_mutex_unlock(&st->lock);
	if (drop) {
		free(text);
		return MHD_NO;
	}
	return send_response(conn, status, text, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct request_ctx *ctx = *con_cls;

	if (!ctx) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Length");
		long len;

		ctx = xcalloc(1, sizeof(*ctx));
		strbuf_init(&ctx->body, FAKE_BODY_MAX);
		ctx->started = fake_time_wall();
		if (cl && !parse_long(cl, 0, LONG_MAX, &len) && len > (long)FAKE_BODY_MAX)
			ctx->too_large = 1;
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!ctx->too_large && strbuf_add(&ctx->body, upload_data, *upload_data_size)) {
			ctx->too_large = 1;
			strbuf_release(&ctx->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(cls, conn, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_ctx *ctx = *con_cls;

	if (!ctx)
		return;
	strbuf_release(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

/* libmicrohttpd's complaints, less the one every dropped request causes. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Application reported internal error"))
		return;
	fprintf(stderr, "herald-fake: libmicrohttpd: %s%s", msg,
		*msg && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static void usage(FILE *out)
{
	fputs("usage: herald-fake [--listen 127.0.0.1:0] [--state FILE.json]\n"
	      "                   [--record FILE.jsonl] [--port-file FILE]\n"
	      "                   [--slack-rate N] [--slack-burst N]\n"
	      "                   [--discord-bucket-limit N] [--discord-bucket-window SECONDS]\n"
	      "                   [--quiet] [--print-state] [--help] [--version]\n"
	      "\n"
	      "A fake Slack and Discord API server for herald's tests and offline trials.\n"
	      "Point herald at it with HERALD_SLACK_API_URL=http://127.0.0.1:PORT/slack/api\n"
	      "or HERALD_DISCORD_API_URL=http://127.0.0.1:PORT/discord/api/v10.\n"
	      "See docs/fake-platforms.md.\n", out);
}

/* Parses "HOST:PORT" with a loopback IPv4 HOST ("localhost" allowed). */
static int parse_listen(const char *arg, struct sockaddr_in *sa, struct errbuf *err)
{
	const char *colon = strrchr(arg, ':');
	char host[64];
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(host) ||
	    parse_long(colon + 1, 0, 65535, &port))
		return fake_error(err, HERALD_EINVAL,
				  "--listen \"%s\": expected HOST:PORT, e.g. 127.0.0.1:0 (0: any free port)",
				  arg);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return fake_error(err, HERALD_EINVAL,
				  "--listen \"%s\": \"%s\" is not an IPv4 address", arg, host);
	if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return fake_error(err, HERALD_EINVAL,
				  "--listen \"%s\": the fake has no authentication on /_fake/, so it only listens on loopback (127.x.x.x)",
				  arg);
	sa->sin_port = htons((unsigned short)port);
	return 0;
}

/* Writes the port to path through a temporary file, so readers never see half. */
static int write_port_file(const char *path, unsigned port, struct errbuf *err)
{
	struct strbuf tmp = STRBUF_INIT;
	FILE *f;
	int ret = 0;

	strbuf_addf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	f = fopen(tmp.buf, "w");
	if (!f) {
		ret = fake_error(err, HERALD_EIO, "--port-file %s: %s", tmp.buf, strerror(errno));
		goto out;
	}
	fprintf(f, "%u\n", port);
	if (fclose(f) || rename(tmp.buf, path)) {
		ret = fake_error(err, HERALD_EIO, "--port-file %s: %s", path, strerror(errno));
		unlink(tmp.buf);
	}
out:
	strbuf_release(&tmp);
	return ret;
}

enum {
	OPT_LISTEN = 256, OPT_STATE, OPT_RECORD, OPT_PORT_FILE, OPT_SLACK_RATE,
	OPT_SLACK_BURST, OPT_DISCORD_LIMIT, OPT_DISCORD_WINDOW, OPT_PRINT_STATE,
	OPT_VERSION,
};

static const struct option options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "slack-rate", required_argument, NULL, OPT_SLACK_RATE },
	{ "slack-burst", required_argument, NULL, OPT_SLACK_BURST },
	{ "discord-bucket-limit", required_argument, NULL, OPT_DISCORD_LIMIT },
	{ "discord-bucket-window", required_argument, NULL, OPT_DISCORD_WINDOW },
	{ "print-state", no_argument, NULL, OPT_PRINT_STATE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct fake_limits limits = FAKE_LIMITS_DEFAULT;
	const char *listen_arg = "127.0.0.1:0", *state_file = NULL;
	const char *record_file = NULL, *port_file = NULL;
	struct server srv = { .record = NULL, .quiet = 0 };
	struct MHD_Daemon *daemon = NULL;
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;
	struct errbuf err = { "" };
	char host[INET_ADDRSTRLEN];
	int print_state = 0, state_ready = 0, ret = 1, sig, opt;
	sigset_t sigs;
	double d;
	long l;

	while ((opt = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			listen_arg = optarg;
			break;
		case OPT_STATE:
			state_file = optarg;
			break;
		case OPT_RECORD:
			record_file = optarg;
			break;
		case OPT_PORT_FILE:
			port_file = optarg;
			break;
		case OPT_SLACK_RATE:
			if (parse_double(optarg, 0, 1e6, &d)) {
				fprintf(stderr, "herald-fake: --slack-rate \"%s\": expected posts per second, 0 (no limit) or more\n", optarg);
				return 2;
			}
			limits.slack_rate = d;
			break;
		case OPT_SLACK_BURST:
			if (parse_double(optarg, 1, 1e6, &d)) {
				fprintf(stderr, "herald-fake: --slack-burst \"%s\": expected a number of posts, 1 or more\n", optarg);
				return 2;
			}
			limits.slack_burst = d;
			break;
		case OPT_DISCORD_LIMIT:
			if (parse_long(optarg, 1, 1000000, &l)) {
				fprintf(stderr, "herald-fake: --discord-bucket-limit \"%s\": expected an integer, 1 or more\n", optarg);
				return 2;
			}
			limits.discord_bucket_limit = l;
			break;
		case OPT_DISCORD_WINDOW:
			if (parse_double(optarg, 0.001, 86400, &d)) {
				fprintf(stderr, "herald-fake: --discord-bucket-window \"%s\": expected seconds, more than 0\n", optarg);
				return 2;
			}
			limits.discord_bucket_window = d;
			break;
		case OPT_PRINT_STATE:
			print_state = 1;
			break;
		case 'q':
			srv.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("herald-fake %s\n", HERALD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "herald-fake: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (parse_listen(listen_arg, &sa, &err)) {
		fprintf(stderr, "herald-fake: %s\n", err.msg);
		return 2;
	}
	state_ready = 1;
	if (fake_state_init(&srv.st, state_file, &limits, &err)) {
		fprintf(stderr, "herald-fake: %s\n", err.msg);
		goto out;
	}
	if (print_state) {
		json_t *dir = fake_state_directory(&srv.st);

		json_dumpf(dir, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(dir);
		ret = 0;
		goto out;
	}
	if (record_file && !(srv.record = fopen(record_file, "a"))) {
		fprintf(stderr, "herald-fake: --record %s: %s\n", record_file, strerror(errno));
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);	/* the server threads inherit it */

	daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				  MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
				  0, NULL, NULL, on_request, &srv,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
				  MHD_OPTION_END);
	if (!daemon) {
		fprintf(stderr, "herald-fake: cannot listen on %s: %s\n", listen_arg,
			strerror(errno));
		goto out;
	}
	info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "herald-fake: cannot find the port it listens on\n");
		goto out;
	}
	inet_ntop(AF_INET, &sa.sin_addr, host, sizeof(host));
	if (port_file && write_port_file(port_file, info->port, &err)) {
		fprintf(stderr, "herald-fake: %s\n", err.msg);
		goto out;
	}
	printf("herald-fake listening on http://%s:%u\n", host, (unsigned)info->port);
	fflush(stdout);

	while (sigwait(&sigs, &sig))
		;
	ret = 0;
out:
	if (state_ready) {
		pthread_mutex_lock(&srv.st.lock);
		srv.st.stopping = 1;
		pthread_cond_broadcast(&srv.st.wake);
		pthread_mutex_unlock(&srv.st.lock);
	}
	if (daemon)
		MHD_stop_daemon(daemon);
	if (srv.record)
		fclose(srv.record);
	if (state_ready)
		fake_state_release(&srv.st);
	return ret;
}
