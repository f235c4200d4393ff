/*
 * herald-fake: the Slack Web API methods herald calls.
 *
 * chat.postMessage, chat.update, conversations.open, users.lookupByEmail,
 * users.list and auth.test, answered the way Slack answers them: HTTP 200
 * with {"ok": false, "error": "…"} for every failure except the rate limit
 * (429 with Retry-After), the token only in the Authorization header, JSON
 * bodies only for the write methods, Block Kit limits checked. Where real
 * Slack is vague, docs/fake-platforms.md says what the fake does.
 */
#include "fake.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/strbuf.h"

#define SLACK_TEXT_MAX 40000
#define SLACK_BLOCKS_MAX 50
#define USERS_PAGE_DEFAULT 100
#define USERS_PAGE_MAX 1000

struct slack_call {
	struct fake_state *st;
	const struct fake_request *req;
	struct fake_response *resp;
	json_t *args;		/* query, form or JSON arguments, merged */
	json_t *warnings;	/* strings for response_metadata.warnings */
};

/* Where a message can be posted: a channel of the directory or an open DM. */
struct slack_target {
	const char *id;
	json_t *channel;	/* NULL for a DM */
	const char *user;	/* the DM's user */
};

static void reply(struct slack_call *c, json_t *body)
{
	fake_response_set(c->resp, 200, body);
}

static void fail(struct slack_call *c, const char *error)
{
	reply(c, json_pack("{s:b, s:s}", "ok", 0, "error", error));
}

/* A failure with Slack's explanation lines in response_metadata.messages. */
static void fail_detail(struct slack_call *c, const char *error, json_t *messages)
{
	reply(c, json_pack("{s:b, s:s, s:{s:o}}", "ok", 0, "error", error,
			   "response_metadata", "messages", messages));
}

static const char *arg_str(struct slack_call *c, const char *key)
{
	return fake_json_str(c->args, key);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void url_decode(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	strbuf_reset(out);
	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			strbuf_addch(out, ' ');
		} else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			strbuf_addch(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			strbuf_addch(out, s[i]);
		}
	}
}

/* Parses an application/x-www-form-urlencoded body into args; -1: bad UTF-8. */
static int parse_form(json_t *args, const char *body, size_t len)
{
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	const char *p = body, *end = body + len;
	int ret = 0;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		json_t *v;

		if (pair_end == p) {
			p++;
			continue;
		}
		url_decode(&key, p, (size_t)((eq ? eq : pair_end) - p));
		if (eq)
			url_decode(&value, eq + 1, (size_t)(pair_end - eq - 1));
		else
			strbuf_reset(&value);
		v = json_stringn(value.buf, value.len);
		if (!v || json_object_setn_new(args, key.buf, key.len, v)) {
			ret = -1;
			goto out;
		}
		p = pair_end + 1;
	}
out:
	strbuf_release(&key);
	strbuf_release(&value);
	return ret;
}

static void base64(struct strbuf *out, const char *s)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), i;

	strbuf_reset(out);
	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;

		if (i + 1 < len)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		strbuf_addch(out, abc[(v >> 18) & 63]);
		strbuf_addch(out, abc[(v >> 12) & 63]);
		strbuf_addch(out, i + 1 < len ? abc[(v >> 6) & 63] : '=');
		strbuf_addch(out, i + 2 < len ? abc[v & 63] : '=');
	}
}

/* The users.list cursor that starts at user id, as Slack spells them. */
static void user_cursor(struct strbuf *out, const char *id)
{
	struct strbuf plain = STRBUF_INIT;

	strbuf_addf(&plain, "user:%s", id);
	base64(out, plain.buf);
	strbuf_release(&plain);
}

static json_t *find_user(struct fake_state *st, const char *id)
{
	json_t *u;
	size_t i;

	if (!id)
		return NULL;
	json_array_foreach(json_object_get(st->slack, "users"), i, u)
		if (!strcmp(fake_json_str(u, "id"), id))
			return u;
	return NULL;
}

static json_t *user_json(struct fake_state *st, json_t *u)
{
	const char *email = fake_json_str(u, "email");
	json_t *profile = json_pack("{s:s, s:s, s:s, s:s, s:s}",
		"real_name", fake_json_str(u, "real_name"),
		"real_name_normalized", fake_json_str(u, "real_name"),
		"display_name", fake_json_str(u, "display_name"),
		"display_name_normalized", fake_json_str(u, "display_name"),
		"team", fake_json_str(st->slack, "team_id"));

	if (*email)
		json_object_set_new(profile, "email", json_string(email));
	if (json_is_true(json_object_get(u, "is_bot")))
		json_object_set_new(profile, "bot_id",
				    json_string(fake_json_str(st->slack, "bot_id")));
	return json_pack("{s:s, s:s, s:s, s:O, s:s, s:O, s:b, s:i, s:s, s:o}",
		"id", fake_json_str(u, "id"),
		"team_id", fake_json_str(st->slack, "team_id"),
		"name", fake_json_str(u, "name"),
		"deleted", json_object_get(u, "deleted"),
		"real_name", fake_json_str(u, "real_name"),
		"is_bot", json_object_get(u, "is_bot"),
		"is_app_user", 0,
		"updated", 1700000000,
		"tz", "Europe/Berlin",
		"profile", profile);
}

static int resolve_channel(struct fake_state *st, const char *arg, int allow_name,
			   struct slack_target *t)
{
	const char *user, *name;
	json_t *v;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (!arg || !*arg)
		return -1;
	json_object_foreach(st->slack_dms, user, v) {
		if (!strcmp(json_string_value(v), arg)) {
			t->id = json_string_value(v);
			t->user = user;
			return 0;
		}
	}
	name = allow_name && arg[0] == '#' ? arg + 1 : NULL;
	json_array_foreach(json_object_get(st->slack, "channels"), i, v) {
		if ((!name && !strcmp(fake_json_str(v, "id"), arg)) ||
		    (allow_name && !strcmp(fake_json_str(v, "name"), name ? name : arg))) {
			t->id = fake_json_str(v, "id");
			t->channel = v;
			return 0;
		}
	}
	return -1;
}

/* Appends "[ERROR] … [json-pointer:…]" the way Slack explains invalid_blocks. */
static void block_error(json_t *msgs, const char *pointer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void block_error(json_t *msgs, const char *pointer, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addstr(&sb, "[ERROR] ");
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addf(&sb, " [json-pointer:%s]", pointer);
	json_array_append_new(msgs, json_string(sb.buf));
	strbuf_release(&sb);
}

static void check_text_object(json_t *msgs, json_t *t, const char *pointer,
			      size_t max, int plain_only)
{
	char ptr[128];
	const char *type = fake_json_str(t, "type");
	const char *text = fake_json_str(t, "text");
	size_t len;

	if (!json_is_object(t)) {
		block_error(msgs, pointer, "must be a text object");
		return;
	}
	snprintf(ptr, sizeof(ptr), "%s/type", pointer);
	if (!type || (strcmp(type, "plain_text") && strcmp(type, "mrkdwn")))
		block_error(msgs, ptr, "must be one of [plain_text, mrkdwn]");
	else if (plain_only && strcmp(type, "plain_text"))
		block_error(msgs, ptr, "must be plain_text");
	snprintf(ptr, sizeof(ptr), "%s/text", pointer);
	if (!text) {
		block_error(msgs, ptr, "missing required field: text");
		return;
	}
	len = fake_utf8_len(text);
	if (len < 1)
		block_error(msgs, ptr, "must be more than 0 characters");
	else if (len > max)
		block_error(msgs, ptr, "must be less than %zu characters", max + 1);
}

static void check_block(json_t *msgs, json_t *b, size_t i)
{
	static const char *const other_types[] = {
		"divider", "actions", "rich_text", "input", "file", "video", "markdown",
	};
	char ptr[96], sub[128];
	const char *type = fake_json_str(b, "type");
	const char *block_id = fake_json_str(b, "block_id");
	json_t *v, *item;
	size_t j;

	snprintf(ptr, sizeof(ptr), "/blocks/%zu", i);
	if (!json_is_object(b)) {
		block_error(msgs, ptr, "must be an object");
		return;
	}
	if (block_id && fake_utf8_len(block_id) > 255) {
		snprintf(sub, sizeof(sub), "%s/block_id", ptr);
		block_error(msgs, sub, "must be less than 256 characters");
	}
	if (!type) {
		snprintf(sub, sizeof(sub), "%s/type", ptr);
		block_error(msgs, sub, "missing required field: type");
	} else if (!strcmp(type, "section")) {
		json_t *text = json_object_get(b, "text");
		json_t *fields = json_object_get(b, "fields");

		if (!text && !fields)
			block_error(msgs, ptr, "must provide either text or fields");
		if (text) {
			snprintf(sub, sizeof(sub), "%s/text", ptr);
			check_text_object(msgs, text, sub, 3000, 0);
		}
		if (fields) {
			snprintf(sub, sizeof(sub), "%s/fields", ptr);
			if (!json_is_array(fields) || !json_array_size(fields))
				block_error(msgs, sub, "must be a non-empty array");
			else if (json_array_size(fields) > 10)
				block_error(msgs, sub, "no more than 10 items allowed");
			json_array_foreach(fields, j, item) {
				snprintf(sub, sizeof(sub), "%s/fields/%zu", ptr, j);
				check_text_object(msgs, item, sub, 2000, 0);
			}
		}
	} else if (!strcmp(type, "header")) {
		snprintf(sub, sizeof(sub), "%s/text", ptr);
		if (!json_object_get(b, "text"))
			block_error(msgs, sub, "missing required field: text");
		else
			check_text_object(msgs, json_object_get(b, "text"), sub, 150, 1);
	} else if (!strcmp(type, "context")) {
		v = json_object_get(b, "elements");
		snprintf(sub, sizeof(sub), "%s/elements", ptr);
		if (!json_is_array(v) || !json_array_size(v))
			block_error(msgs, sub, "must be a non-empty array");
		else if (json_array_size(v) > 10)
			block_error(msgs, sub, "no more than 10 items allowed");
		json_array_foreach(v, j, item) {
			const char *et = fake_json_str(item, "type");

			snprintf(sub, sizeof(sub), "%s/elements/%zu", ptr, j);
			if (et && !strcmp(et, "image"))
				continue;
			check_text_object(msgs, item, sub, 3000, 0);
		}
	} else if (!strcmp(type, "image")) {
		if (!fake_json_str(b, "image_url") && !json_object_get(b, "slack_file"))
			block_error(msgs, ptr, "missing required field: image_url");
		if (!fake_json_str(b, "alt_text"))
			block_error(msgs, ptr, "missing required field: alt_text");
	} else {
		for (j = 0; j < sizeof(other_types) / sizeof(other_types[0]); j++)
			if (!strcmp(type, other_types[j]))
				return;
		snprintf(sub, sizeof(sub), "%s/type", ptr);
		block_error(msgs, sub, "unsupported block type: %s", type);
	}
}

/*
 * The blocks argument: a JSON array, or a string holding one (form posts).
 * Returns 0 with *out a new reference or NULL when absent, or -1 after
 * answering invalid_blocks_format / invalid_blocks.
 */
static int get_blocks(struct slack_call *c, json_t **out)
{
	json_t *v = json_object_get(c->args, "blocks");
	json_t *blocks = NULL, *msgs, *b;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (!*json_string_value(v))
			return 0;
		blocks = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
	} else {
		blocks = json_incref(v);
	}
	if (!json_is_array(blocks)) {
		json_decref(blocks);
		fail(c, "invalid_blocks_format");
		return -1;
	}
	msgs = json_array();
	if (json_array_size(blocks) > SLACK_BLOCKS_MAX)
		block_error(msgs, "/blocks", "no more than %d items allowed",
			    SLACK_BLOCKS_MAX);
	json_array_foreach(blocks, i, b)
		check_block(msgs, b, i);
	if (json_array_size(msgs)) {
		json_decref(blocks);
		fail_detail(c, "invalid_blocks", msgs);
		return -1;
	}
	json_decref(msgs);
	*out = blocks;
	return 0;
}

/* Takes a token from the channel's bucket; -1 and the wait when empty. */
static int rate_take(struct fake_state *st, const char *channel, double *retry)
{
	double now = fake_time_mono();
	double rate = st->limits.slack_rate, burst = st->limits.slack_burst;
	json_t *b = json_object_get(st->slack_buckets, channel);
	double tokens = burst;

	if (rate <= 0)
		return 0;
	if (b) {
		double last = json_real_value(json_object_get(b, "last"));

		tokens = json_real_value(json_object_get(b, "tokens")) + (now - last) * rate;
		if (tokens > burst)
			tokens = burst;
	}
	if (tokens < 1.0) {
		*retry = (1.0 - tokens) / rate;
		json_object_set_new(st->slack_buckets, channel,
				    json_pack("{s:f, s:f}", "tokens", tokens, "last", now));
		return -1;
	}
	json_object_set_new(st->slack_buckets, channel,
			    json_pack("{s:f, s:f}", "tokens", tokens - 1.0, "last", now));
	return 0;
}

static void next_ts(struct fake_state *st, char *buf, size_t size)
{
	long long us = (long long)(fake_time_wall() * 1e6);

	if (us <= st->slack_last_ts)
		us = st->slack_last_ts + 1;
	st->slack_last_ts = us;
	snprintf(buf, size, "%lld.%06lld", us / 1000000, us % 1000000);
}

static json_t *find_message(struct fake_state *st, const char *channel, const char *ts)
{
	json_t *m;
	size_t i;

	if (!ts)
		return NULL;
	json_array_foreach(st->slack_messages, i, m)
		if (!strcmp(fake_json_str(m, "channel"), channel) &&
		    !strcmp(fake_json_str(m, "ts"), ts))
			return m;
	return NULL;
}

/* The message object Slack returns for a stored message. */
static json_t *message_json(struct fake_state *st, json_t *stored)
{
	static const char *const optional[] = { "thread_ts", "username", "icon_emoji" };
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		"type", "message",
		"subtype", "bot_message",
		"text", fake_json_str(stored, "text"),
		"user", fake_json_str(st->slack, "bot_user_id"),
		"bot_id", fake_json_str(st->slack, "bot_id"),
		"team", fake_json_str(st->slack, "team_id"),
		"ts", fake_json_str(stored, "ts"));
	json_t *v;
	size_t i;

	if (json_is_array(v = json_object_get(stored, "blocks")))
		json_object_set_new(m, "blocks", json_deep_copy(v));
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		if ((v = json_object_get(stored, optional[i])) && json_is_string(v))
			json_object_set_new(m, optional[i], json_deep_copy(v));
	if (json_is_true(json_object_get(stored, "edited")))
		json_object_set_new(m, "edited", json_pack("{s:s, s:O}",
			"user", fake_json_str(st->slack, "bot_user_id"),
			"ts", json_object_get(stored, "edited_ts")));
	return m;
}

/* Checks text and blocks; -1 after answering. *blocks is a new reference. */
static int get_content(struct slack_call *c, const char **text, json_t **blocks)
{
	*text = arg_str(c, "text");
	if (get_blocks(c, blocks))
		return -1;
	if ((!*text || !**text) && (!*blocks || !json_array_size(*blocks))) {
		json_decref(*blocks);
		*blocks = NULL;
		fail(c, "no_text");
		return -1;
	}
	if (*text && fake_utf8_len(*text) > SLACK_TEXT_MAX) {
		json_decref(*blocks);
		*blocks = NULL;
		fail(c, "msg_too_long");
		return -1;
	}
	return 0;
}

static void chat_post_message(struct slack_call *c)
{
	static const char *const copied[] = {
		"thread_ts", "username", "icon_emoji", "icon_url", "unfurl_links",
		"unfurl_media", "mrkdwn", "link_names", "parse", "reply_broadcast",
	};
	struct fake_state *st = c->st;
	struct slack_target t;
	const char *text;
	json_t *blocks, *stored, *v;
	double retry;
	char ts[40];
	size_t i;

	if (resolve_channel(st, arg_str(c, "channel"), 1, &t)) {
		fail(c, "channel_not_found");
		return;
	}
	if (t.channel && json_is_true(json_object_get(t.channel, "is_archived"))) {
		fail(c, "is_archived");
		return;
	}
	if (t.channel && !json_is_true(json_object_get(t.channel, "is_member"))) {
		fail(c, "not_in_channel");
		return;
	}
	if (rate_take(st, t.id, &retry)) {
		long secs = (long)ceil(retry);

		fake_response_set(c->resp, 429, json_pack("{s:b, s:s}", "ok", 0,
							  "error", "ratelimited"));
		fake_response_header(c->resp, "Retry-After", "%ld", secs < 1 ? 1 : secs);
		return;
	}
	if (get_content(c, &text, &blocks))
		return;
	next_ts(st, ts, sizeof(ts));
	stored = json_pack("{s:s, s:o, s:s, s:s, s:o, s:b, s:[]}",
		"channel", t.id,
		"channel_name", t.channel ? json_string(fake_json_str(t.channel, "name"))
					  : json_null(),
		"ts", ts,
		"text", text ? text : "",
		"blocks", blocks ? blocks : json_null(),
		"edited", 0,
		"history");
	if (t.user)
		json_object_set_new(stored, "dm_user", json_string(t.user));
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if ((v = json_object_get(c->args, copied[i])))
			json_object_set_new(stored, copied[i], json_deep_copy(v));
	json_array_append_new(st->slack_messages, stored);
	reply(c, json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "channel", t.id,
			   "ts", ts, "message", message_json(st, stored)));
}

static void chat_update(struct slack_call *c)
{
	struct fake_state *st = c->st;
	struct slack_target t;
	const char *text;
	json_t *blocks, *stored, *old;
	char ts[40];

	if (resolve_channel(st, arg_str(c, "channel"), 0, &t)) {
		fail(c, "channel_not_found");
		return;
	}
	stored = find_message(st, t.id, arg_str(c, "ts"));
	if (!stored) {
		fail(c, "message_not_found");
		return;
	}
	if (t.channel && json_is_true(json_object_get(t.channel, "is_archived"))) {
		fail(c, "is_archived");
		return;
	}
	if (get_content(c, &text, &blocks))
		return;
	next_ts(st, ts, sizeof(ts));
	old = json_pack("{s:O, s:O, s:O}",
		"text", json_object_get(stored, "text"),
		"blocks", json_object_get(stored, "blocks"),
		"edited_ts", json_object_get(stored, "edited_ts") ?
			     json_object_get(stored, "edited_ts") : json_null());
	json_array_append_new(json_object_get(stored, "history"), old);
	json_object_set_new(stored, "text", json_string(text ? text : ""));
	if (blocks)
		json_object_set_new(stored, "blocks", blocks);
	json_object_set_new(stored, "edited", json_true());
	json_object_set_new(stored, "edited_ts", json_string(ts));
	reply(c, json_pack("{s:b, s:s, s:O, s:O, s:o}", "ok", 1, "channel", t.id,
			   "ts", json_object_get(stored, "ts"),
			   "text", json_object_get(stored, "text"),
			   "message", message_json(st, stored)));
}

static void conversations_open(struct slack_call *c)
{
	struct fake_state *st = c->st;
	const char *users = arg_str(c, "users");
	const char *channel = arg_str(c, "channel");
	struct slack_target t;
	char user[64], dm[64];
	json_t *u, *existing, *ch;
	size_t len;

	if ((!users || !*users) && channel && *channel) {
		if (resolve_channel(st, channel, 0, &t) || !t.user) {
			fail(c, "channel_not_found");
			return;
		}
		reply(c, json_pack("{s:b, s:b, s:b, s:{s:s}}", "ok", 1, "no_op", 1,
				   "already_open", 1, "channel", "id", t.id));
		return;
	}
	if (!users || !*users) {
		fail(c, "users_list_not_supplied");
		return;
	}
	if (strchr(users, ',')) {
		fail(c, "too_many_users");	/* multi-person DMs: not in the fake */
		return;
	}
	len = strlen(users);
	while (len && users[len - 1] == ' ')
		len--;
	while (len && *users == ' ')
		users++, len--;
	snprintf(user, sizeof(user), "%.*s", (int)len, users);
	u = find_user(st, user);
	if (!u) {
		fail(c, "user_not_found");
		return;
	}
	if (json_is_true(json_object_get(u, "deleted"))) {
		fail(c, "user_disabled");
		return;
	}
	if (json_is_true(json_object_get(u, "is_bot"))) {
		fail(c, "cannot_dm_bot");
		return;
	}
	existing = json_object_get(st->slack_dms, user);
	if (!existing) {
		snprintf(dm, sizeof(dm), "D%s", user + 1);
		json_object_set_new(st->slack_dms, user, json_string(dm));
	}
	ch = json_pack("{s:s}", "id", json_string_value(json_object_get(st->slack_dms, user)));
	if (json_is_true(json_object_get(c->args, "return_im")) ||
	    (arg_str(c, "return_im") && !strcmp(arg_str(c, "return_im"), "true")))
		json_object_update_new(ch, json_pack("{s:b, s:s, s:b, s:i}",
			"is_im", 1, "user", user, "is_open", 1, "created", 1700000000));
	reply(c, json_pack("{s:b, s:b, s:b, s:o}", "ok", 1, "no_op", existing != NULL,
			   "already_open", existing != NULL, "channel", ch));
}

static void users_lookup_by_email(struct slack_call *c)
{
	const char *email = arg_str(c, "email");
	json_t *u;
	size_t i;

	if (!email || !*email) {
		fail_detail(c, "invalid_arguments",
			    json_pack("[s]", "[ERROR] missing required field: email"));
		return;
	}
	json_array_foreach(json_object_get(c->st->slack, "users"), i, u) {
		if (fake_strieq(fake_json_str(u, "email"), email)) {
			reply(c, json_pack("{s:b, s:o}", "ok", 1, "user",
					   user_json(c->st, u)));
			return;
		}
	}
	fail(c, "users_not_found");
}

static void users_list(struct slack_call *c)
{
	json_t *users = json_object_get(c->st->slack, "users");
	const char *limit_arg = arg_str(c, "limit");
	const char *cursor = arg_str(c, "cursor");
	struct strbuf sb = STRBUF_INIT;
	json_t *members;
	size_t start = 0, i, n = json_array_size(users);
	long limit = USERS_PAGE_DEFAULT;

	if (json_is_integer(json_object_get(c->args, "limit")))
		limit = (long)json_integer_value(json_object_get(c->args, "limit"));
	else if (limit_arg && *limit_arg && parse_long(limit_arg, 0, 1L << 30, &limit)) {
		fail_detail(c, "invalid_arguments",
			    json_pack("[s]", "[ERROR] limit must be a number"));
		goto out;
	}
	if (limit <= 0)
		limit = USERS_PAGE_DEFAULT;
	if (limit > USERS_PAGE_MAX)
		limit = USERS_PAGE_MAX;
	if (cursor && *cursor) {
		for (start = 0; start < n; start++) {
			user_cursor(&sb, fake_json_str(json_array_get(users, start), "id"));
			if (!strcmp(sb.buf, cursor))
				break;
		}
		if (start == n) {
			fail(c, "invalid_cursor");
			goto out;
		}
	}
	members = json_array();
	for (i = start; i < n && i < start + (size_t)limit; i++)
		json_array_append_new(members, user_json(c->st, json_array_get(users, i)));
	strbuf_reset(&sb);
	if (i < n)
		user_cursor(&sb, fake_json_str(json_array_get(users, i), "id"));
	reply(c, json_pack("{s:b, s:o, s:I, s:{s:s}}", "ok", 1, "members", members,
			   "cache_ts", (json_int_t)fake_time_wall(),
			   "response_metadata", "next_cursor", sb.buf));
out:
	strbuf_release(&sb);
}

static void auth_test(struct slack_call *c)
{
	json_t *s = c->st->slack;

	reply(c, json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "ok", 1,
			   "url", fake_json_str(s, "url"),
			   "team", fake_json_str(s, "team"),
			   "user", fake_json_str(s, "bot_name"),
			   "team_id", fake_json_str(s, "team_id"),
			   "user_id", fake_json_str(s, "bot_user_id"),
			   "bot_id", fake_json_str(s, "bot_id"),
			   "is_enterprise_install", 0));
}

static const struct slack_method {
	const char *name;
	int takes_json;		/* Slack reads JSON bodies for write methods only */
	void (*fn)(struct slack_call *c);
} methods[] = {
	{ "chat.postMessage", 1, chat_post_message },
	{ "chat.update", 1, chat_update },
	{ "conversations.open", 1, conversations_open },
	{ "users.lookupByEmail", 0, users_lookup_by_email },
	{ "users.list", 0, users_list },
	{ "auth.test", 0, auth_test },
};

/* The media type of a Content-Type value, and whether it says charset=utf-8. */
static void split_content_type(const char *ct, char *type, size_t size, int *utf8,
			       int *has_charset)
{
	const char *semi = strchr(ct, ';');
	size_t len = semi ? (size_t)(semi - ct) : strlen(ct);
	const char *cs;

	while (len && ct[len - 1] == ' ')
		len--;
	snprintf(type, size, "%.*s", (int)len, ct);
	*has_charset = 0;
	*utf8 = 0;
	for (cs = semi; cs && *cs; cs++) {
		if (fake_istarts_with(cs, "charset=")) {
			const char *v = cs + strlen("charset=");

			*has_charset = 1;
			if (*v == '"')
				v++;
			*utf8 = fake_istarts_with(v, "utf-8") || fake_istarts_with(v, "utf8");
			break;
		}
	}
}

/* Merges the body's arguments into c->args; -1 after answering. */
static int read_body(struct slack_call *c, const struct slack_method *m)
{
	const struct fake_request *req = c->req;
	char type[128];
	int utf8, has_charset;
	json_t *body;
	json_error_t jerr;

	if (!req->body_len)
		return 0;
	if (!req->content_type) {
		fail(c, "missing_post_type");
		return -1;
	}
	split_content_type(req->content_type, type, sizeof(type), &utf8, &has_charset);
	if (has_charset && !utf8) {
		fail(c, "invalid_charset");
		return -1;
	}
	if (fake_strieq(type, "application/x-www-form-urlencoded")) {
		if (parse_form(c->args, req->body, req->body_len)) {
			fail(c, "invalid_charset");
			return -1;
		}
		return 0;
	}
	if (!fake_strieq(type, "application/json")) {
		fail(c, "invalid_post_type");
		return -1;
	}
	if (!m->takes_json)
		return 0;	/* Slack ignores JSON bodies of read methods */
	if (!has_charset)
		json_array_append_new(c->warnings, json_string("missing_charset"));
	body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
	if (!body) {
		fail(c, "invalid_json");
		return -1;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		fail(c, "json_not_object");
		return -1;
	}
	json_object_update(c->args, body);
	json_decref(body);
	return 0;
}

static void add_warnings(struct slack_call *c)
{
	json_t *body = c->resp->body, *meta;
	struct strbuf sb = STRBUF_INIT;
	json_t *w;
	size_t i;

	if (!json_array_size(c->warnings) || !json_is_object(body) || c->resp->status != 200)
		return;
	json_array_foreach(c->warnings, i, w)
		strbuf_addf(&sb, "%s%s", i ? "," : "", json_string_value(w));
	json_object_set_new(body, "warning", json_string(sb.buf));
	meta = json_object_get(body, "response_metadata");
	if (!meta) {
		meta = json_object();
		json_object_set_new(body, "response_metadata", meta);
	}
	json_object_set(meta, "warnings", c->warnings);
	strbuf_release(&sb);
}

void fake_slack_handle(struct fake_state *st, const struct fake_request *req,
		       struct fake_response *resp)
{
	struct slack_call c = { st, req, resp, NULL, NULL };
	const struct slack_method *m = NULL;
	const char *token = fake_json_str(st->slack, "token");
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(req->path, methods[i].name))
			m = &methods[i];
	c.args = json_deep_copy(req->query);
	c.warnings = json_array();
	if (!m) {
		fail(&c, "unknown_method");
		goto out;
	}
	if (!req->authorization || !*req->authorization) {
		fail(&c, "not_authed");
		goto out;
	}
	if (strncmp(req->authorization, "Bearer ", 7) || strcmp(req->authorization + 7, token)) {
		fail(&c, "invalid_auth");
		goto out;
	}
	if (read_body(&c, m))
		goto out;
	m->fn(&c);
	add_warnings(&c);
out:
	json_decref(c.args);
	json_decref(c.warnings);
}
