/*
 * discord_answer: how the Discord provider reads Discord's answers.
 *
 * Every answer is classified by HTTP status and Discord's JSON error code
 * into a delivery outcome with a message that says what went wrong and
 * what to do (the table below), with the rate-limit headers kept from
 * every answer. A successful post or edit gives the message and channel
 * IDs. Text from the server is clipped and has the token scrubbed.
 */
#include "delivery/discord_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/redact.h"

#define DISCORD_TEXT_MAX 200	/* Discord's own message, in ours */
#define ERRORS_DEPTH_MAX 32
#define RETRY_AFTER_MAX 86400.0

/* What each JSON error code means and what to do about it. */
static const struct discord_error {
	long code;
	const char *name;	/* when Discord's answer has no message */
	enum delivery_outcome outcome;
	const char *hint;	/* "{dest}" becomes the destination */
} discord_errors[] = {
	{ 10003, "Unknown Channel", DELIVERY_PERMANENT,
	  "the channel ID does not exist or the bot cannot see it: check the "
	  "ID (Developer Mode, right-click the channel, Copy Channel ID) and "
	  "that the bot is in that server" },
	{ 10004, "Unknown Guild", DELIVERY_PERMANENT,
	  "the server does not exist or the bot is not in it: check "
	  "NOTIFICATIONS_DISCORD_GUILD (the server ID) and invite the bot" },
	{ 10008, "Unknown Message", DELIVERY_PERMANENT,
	  "the message to edit no longer exists (deleted?): post a new one" },
	{ 10013, "Unknown User", DELIVERY_PERMANENT,
	  "there is no such user, or the user shares no server with the bot: "
	  "check the user ID" },
	{ 40003, "You are opening direct messages too fast", DELIVERY_RETRY,
	  "Discord limits how fast a bot opens direct messages: wait and "
	  "retry" },
	{ 40005, "Request entity too large", DELIVERY_PERMANENT,
	  "the message is too large: shorten the event's description" },
	{ 40333, "internal network error", DELIVERY_PERMANENT,
	  "Discord's network refused the request, as it does for clients "
	  "without a DiscordBot User-Agent: check any proxy between herald "
	  "and Discord, and HERALD_DISCORD_API_URL" },
	{ 50001, "Missing Access", DELIVERY_PERMANENT,
	  "give the bot View Channel and Send Messages in {dest} (Edit "
	  "Channel, Permissions), or invite it to the server" },
	{ 50006, "Cannot send an empty message", DELIVERY_PERMANENT,
	  "the message had no content and no embed; this is a herald bug, "
	  "please report it with the event" },
	{ 50007, "Cannot send messages to this user", DELIVERY_PERMANENT,
	  "the user has DMs closed or shares no server with the bot: ask them "
	  "to allow direct messages from server members, or send to a "
	  "channel instead" },
	{ 50008, "Cannot send messages in a non-text channel",
	  DELIVERY_PERMANENT,
	  "{dest} is a category, voice or forum channel: send to a text or "
	  "announcement channel" },
	{ 50013, "Missing Permissions", DELIVERY_PERMANENT,
	  "the bot lacks a permission in {dest}: give it Send Messages and "
	  "Embed Links there (Edit Channel, Permissions)" },
	{ 50024, "Cannot execute action on this channel type",
	  DELIVERY_PERMANENT,
	  "herald cannot post into this kind of channel: use a text or "
	  "announcement channel" },
	{ 50035, "Invalid Form Body", DELIVERY_PERMANENT,
	  "Discord refused a field of the message; this is a herald bug, "
	  "please report it with the event" },
	{ 50109, "The request body contains invalid JSON", DELIVERY_PERMANENT,
	  "this is a herald bug, please report it with the event" },
};

#define BAN_NOTE "Discord bans the IP address for a while after 10,000 " \
	"invalid requests (401, 403, 429) in 10 minutes"

static const struct discord_error *find_error(long code)
{
	for (size_t i = 0; i < sizeof(discord_errors) / sizeof(discord_errors[0]); i++)
		if (discord_errors[i].code == code)
			return &discord_errors[i];
	return NULL;
}

static const char *json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/*
 * Appends at most max bytes of s, not cutting a UTF-8 character, with
 * secret (the token, when s came from the server) and every registered
 * secret redacted first (redact()), so that not even part of one can slip
 * through.
 */
void discord__add_clipped(struct strbuf *sb, const char *s, size_t max,
			  const char *secret)
{
	struct strbuf scrubbed = STRBUF_INIT;
	size_t n;

	if (redact(&scrubbed, s, strlen(s), secret))
		s = scrubbed.buf;
	n = strlen(s);
	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	strbuf_add(sb, s, n);
	strbuf_release(&scrubbed);
}

/* Appends hint with every "{dest}" replaced by dest. */
static void add_hint(struct strbuf *sb, const char *hint, const char *dest)
{
	const char *p;

	while ((p = strstr(hint, "{dest}"))) {
		strbuf_add(sb, hint, (size_t)(p - hint));
		if (dest)
			discord__add_clipped(sb, dest, 100, NULL);
		else
			strbuf_addstr(sb, "that channel");
		hint = p + 6;
	}
	strbuf_addstr(sb, hint);
}

/* Copies printable ASCII of s into out (size n), cut to fit. */
static void copy_token(char *out, size_t n, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c > 0x20 && c < 0x7F ? (char)c : '?';
	}
	out[i] = '\0';
}

/* The rate-limit headers, present on most answers. */
static void parse_ratelimit(const struct http_response *resp,
			    struct ratelimit_info *rl)
{
	long remaining;
	double reset_after;

	memset(rl, 0, sizeof(*rl));
	if (resp->ratelimit_remaining &&
	    parse_long(resp->ratelimit_remaining, 0, 1000000000L, &remaining) == 0) {
		rl->remaining = remaining;
		rl->known = 1;
	}
	if (resp->ratelimit_reset_after &&
	    parse_double(resp->ratelimit_reset_after, 0, RETRY_AFTER_MAX,
			 &reset_after) == 0) {
		rl->reset_after_s = reset_after;
		rl->known = 1;
	}
	if (resp->ratelimit_bucket && *resp->ratelimit_bucket) {
		copy_token(rl->bucket, sizeof(rl->bucket), resp->ratelimit_bucket);
		rl->known = 1;
	}
	if (resp->ratelimit_global &&
	    !strcasecmp(resp->ratelimit_global, "true"))
		rl->global = 1;
}

/* Seconds to wait: body "retry_after" (fractional), else Retry-After. */
static double retry_after(const struct http_response *resp, const json_t *root)
{
	json_t *v = json_object_get(root, "retry_after");
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
		if (isfinite(d) && d >= 0)
			return d > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : d;
	}
	if (resp->retry_after &&
	    parse_double(resp->retry_after, 0, RETRY_AFTER_MAX, &d) == 0)
		return d;
	return 0;
}

void discord__set_failure(struct delivery_result *out,
			  enum delivery_outcome o, const char *code,
			  const char *label, const char *dest_raw,
			  const char *what)
{
	if (dest_raw)
		delivery_result_set(out, o, code, "Discord: %s for \"%s\": %s",
				    label, dest_raw, what);
	else
		delivery_result_set(out, o, code, "Discord: %s: %s", label, what);
}

/*
 * Finds the first error in a 50035 "errors" tree, depth first in the
 * order Discord gave: appends "path: message (CODE)", e.g.
 * "embeds.0.fields.1.value: This field is required (BASE_TYPE_REQUIRED)".
 */
static int first_form_error(const json_t *node, struct strbuf *path, int depth,
			    const char *token, struct strbuf *out)
{
	json_t *errs = json_object_get(node, "_errors");
	const char *key;
	json_t *v;

	if (!json_is_object(node) || depth > ERRORS_DEPTH_MAX)
		return 0;
	if (json_is_array(errs) && json_array_size(errs)) {
		json_t *e = json_array_get(errs, 0);
		const char *msg = json_str(e, "message");
		const char *code = json_str(e, "code");

		discord__add_clipped(out, path->len ? path->buf : "(the body)",
				     120, token);
		strbuf_addstr(out, ": ");
		discord__add_clipped(out, msg ? msg : "invalid", 120, token);
		if (code) {
			strbuf_addstr(out, " (");
			discord__add_clipped(out, code, 40, token);
			strbuf_addch(out, ')');
		}
		return 1;
	}
	json_object_foreach((json_t *)node, key, v) {
		size_t len = path->len;
		int found;

		if (!strcmp(key, "_errors"))
			continue;
		if (len)
			strbuf_addch(path, '.');
		discord__add_clipped(path, key, 64, token);
		found = first_form_error(v, path, depth + 1, token, out);
		strbuf_setlen(path, len);
		if (found)
			return 1;
	}
	return 0;
}

/* A 429: how long to wait, and which limit it was. */
static void rate_limited(const struct http_response *resp, const json_t *root,
			 const char *token, const char *dest_raw,
			 struct delivery_result *out)
{
	struct strbuf what = STRBUF_INIT, label = STRBUF_INIT;
	const char *dmsg = json_str(root, "message");
	json_t *code = json_object_get(root, "code");
	const struct discord_error *e = NULL;
	char code_buf[32] = "rate_limited";

	if (json_is_true(json_object_get(root, "global")))
		out->rl.global = 1;
	if (json_is_integer(code) && json_integer_value(code)) {
		snprintf(code_buf, sizeof(code_buf), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(code));
		e = find_error((long)json_integer_value(code));
	}
	strbuf_addstr(&what, "Discord is rate-limiting herald (");
	if (out->rl.global)
		strbuf_addstr(&what, "the global limit, ");
	if (resp->ratelimit_scope && *resp->ratelimit_scope) {
		strbuf_addstr(&what, "scope ");
		discord__add_clipped(&what, resp->ratelimit_scope, 16, token);
		strbuf_addstr(&what, ", ");
	}
	if (out->retry_after_s > 0)
		strbuf_addf(&what, "retry after %.3g s)", out->retry_after_s);
	else
		strbuf_addstr(&what, "no wait given)");
	if (e)
		strbuf_addf(&what, ": %s", e->hint);
	strbuf_addstr(&what, "; herald waits before retrying, since " BAN_NOTE);
	if (e) {
		strbuf_addf(&label, "%s ", code_buf);
		discord__add_clipped(&label, dmsg && *dmsg ? dmsg : e->name,
				     DISCORD_TEXT_MAX, token);
	} else {
		strbuf_addf(&label, "HTTP %ld Too Many Requests", resp->status);
	}
	discord__set_failure(out, DELIVERY_RETRY, code_buf, label.buf,
			     dest_raw, what.buf);
	strbuf_release(&what);
	strbuf_release(&label);
}

/*
 * An answer without a Discord error code that says more (none, or 0): by
 * status alone. dmsg is Discord's "message", if any.
 */
static void classify_status(const struct http_response *resp,
			    const char *dmsg, const char *token,
			    const char *dest_raw, struct delivery_result *out)
{
	struct strbuf label = STRBUF_INIT;
	enum delivery_outcome o = DELIVERY_PERMANENT;
	long status = resp->status;
	const char *what;
	char code[32];

	snprintf(code, sizeof(code), "http_%ld", status);
	if (status >= 500 || status == 408) {
		o = DELIVERY_RETRY;
		what = "a temporary Discord or proxy failure: retry later";
	} else if (status >= 200 && status < 300) {
		what = "the answer is not a Discord message: check "
		       "HERALD_DISCORD_API_URL (expected "
		       "https://discord.com/api/v10)";
	} else if (dmsg && status == 400) {
		what = "Discord refused the request; this is a herald bug, "
		       "please report it with the event";
	} else if (status == 403) {
		what = "access denied without a Discord error code, as "
		       "Cloudflare does when it blocks a client: check any "
		       "proxy and HERALD_DISCORD_API_URL";
	} else if (status == 413) {
		what = "the message is too large: shorten the event's "
		       "description";
	} else if (status == 404 || status == 405) {
		what = "not a path of Discord's API: check "
		       "HERALD_DISCORD_API_URL (expected "
		       "https://discord.com/api/v10)";
	} else {
		what = "not an answer of Discord's API: check "
		       "HERALD_DISCORD_API_URL (expected "
		       "https://discord.com/api/v10)";
	}
	strbuf_addf(&label, "HTTP %ld", status);
	if (dmsg && *dmsg) {
		strbuf_addstr(&label, " (");
		discord__add_clipped(&label, dmsg, DISCORD_TEXT_MAX, token);
		strbuf_addch(&label, ')');
	}
	discord__set_failure(out, o, code, label.buf, dest_raw, what);
	strbuf_release(&label);
}

static void unauthorized(const struct http_response *resp, long dcode,
			 const char *dmsg, const char *token,
			 const char *dest_raw, struct delivery_result *out)
{
	struct strbuf label = STRBUF_INIT;
	char code[32];

	if (dcode > 0)
		snprintf(code, sizeof(code), "%ld", dcode);
	else
		snprintf(code, sizeof(code), "http_%ld", resp->status);
	strbuf_addf(&label, "HTTP %ld", resp->status);
	if (dmsg && *dmsg) {
		strbuf_addstr(&label, " (");
		discord__add_clipped(&label, dmsg, DISCORD_TEXT_MAX, token);
		strbuf_addch(&label, ')');
	}
	discord__set_failure(out, DELIVERY_AUTH, code, label.buf, dest_raw,
			     "Discord rejected the bot token: set "
			     "NOTIFICATIONS_TOKEN to the bot's token (Developer "
			     "Portal, your application, Bot, Reset Token) "
			     "without a \"Bot \" prefix. herald stops using it "
			     "until then, since " BAN_NOTE);
	strbuf_release(&label);
}

/*
 * Classifies any answer into out (rate-limit headers included). On
 * success (2xx), *answer (when not NULL) gets the decoded body, which may
 * be NULL when the body is not JSON.
 */
void discord__classify(const struct http_response *resp, const char *token,
		       const char *dest_raw, struct delivery_result *out,
		       json_t **answer)
{
	struct strbuf what = STRBUF_INIT, label = STRBUF_INIT;
	const struct discord_error *e;
	json_t *root = NULL, *jcode;
	const char *dmsg;
	long status = resp->status, dcode = -1;
	char code[32];

	delivery_result_clear(out);
	if (answer)
		*answer = NULL;
	if (resp->transport != HTTP_OK) {
		delivery_result_transport(out, resp, "Discord",
					  "HERALD_DISCORD_API_URL",
					  dest_raw);
		goto out;
	}
	out->http_status = status;
	parse_ratelimit(resp, &out->rl);
	if (resp->body.len)
		root = json_loadb(resp->body.buf, resp->body.len, 0, NULL);
	if (status >= 200 && status < 300) {
		out->outcome = DELIVERY_OK;
		if (answer) {
			*answer = root;
			root = NULL;
		}
		goto out;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
	jcode = json_object_get(root, "code");
	if (json_is_integer(jcode) && json_integer_value(jcode) >= 0 &&
	    json_integer_value(jcode) < 1000000000)
		dcode = (long)json_integer_value(jcode);
	if (status == 429) {
		out->retry_after_s = retry_after(resp, root);
		rate_limited(resp, root, token, dest_raw, out);
		goto out;
	}
	dmsg = json_str(root, "message");
	if (status == 401 || (status == 403 && (dcode == 0 || dcode == 40001))) {
		unauthorized(resp, dcode, dmsg, token, dest_raw, out);
		goto out;
	}
	if (dcode <= 0) {
		classify_status(resp, dmsg, token, dest_raw, out);
		goto out;
	}
	e = find_error(dcode);
	snprintf(code, sizeof(code), "%ld", dcode);
	strbuf_addf(&label, "%ld ", dcode);
	if (dmsg && *dmsg)
		discord__add_clipped(&label, dmsg, DISCORD_TEXT_MAX, token);
	else
		strbuf_addstr(&label, e ? e->name : "error");
	if (dcode == 50035) {
		struct strbuf path = STRBUF_INIT;

		strbuf_init(&path, 1024);
		if (first_form_error(json_object_get(root, "errors"), &path, 0,
				     token, &what))
			strbuf_addstr(&what, "; ");
		strbuf_release(&path);
	}
	if (e)
		add_hint(&what, e->hint, dest_raw);
	else
		strbuf_addstr(&what, "Discord refused the request and retrying "
			      "cannot help; look the code up at "
			      "https://discord.com/developers/docs/topics/"
			      "opcodes-and-status-codes#json");
	discord__set_failure(out, status >= 500 ? DELIVERY_RETRY :
			     e ? e->outcome : DELIVERY_PERMANENT, code,
			     label.buf, dest_raw, what.buf);
out:
	json_decref(root);
	strbuf_release(&what);
	strbuf_release(&label);
}

void discord__parse_response(struct provider *p,
			     const struct http_response *resp,
			     const char *dest_raw,
			     struct delivery_result *out)
{
	json_t *msg;
	const char *id, *channel;

	discord__classify(resp, p->token, dest_raw, out, &msg);
	if (out->outcome != DELIVERY_OK)
		return;
	id = json_str(msg, "id");
	channel = json_str(msg, "channel_id");
	if (!json_is_object(msg) || !id || !*id) {
		classify_status(resp, NULL, p->token, dest_raw, out);
	} else {
		copy_token(out->message_id, sizeof(out->message_id), id);
		if (channel)
			copy_token(out->channel_id, sizeof(out->channel_id),
				   channel);
	}
	json_decref(msg);
}
