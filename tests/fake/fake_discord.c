/*
 * herald-fake: the Discord REST API (v10) routes herald calls.
 *
 * Messages (create, edit), DM channels, the bot's user and guilds, guild
 * channels and member search, answered the way Discord answers them: errors
 * as {"message", "code"} with the matching HTTP status, 50035 Invalid Form
 * Body with Discord's nested "errors" detail for limit violations, nonces
 * with enforce_nonce deduplicated, and per-route rate-limit buckets announced
 * in X-RateLimit-* headers on every authenticated answer.
 */
#include "fake.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/strbuf.h"

#define DISCORD_EPOCH_MS 1420070400000ULL
#define CONTENT_MAX 2000
#define EMBEDS_MAX 10
#define EMBED_TOTAL_MAX 6000
#define NONCE_MAX 25
#define PATH_SEGMENTS_MAX 8

struct discord_call {
	struct fake_state *st;
	const struct fake_request *req;
	struct fake_response *resp;
	json_t *body;		/* the JSON body; {} when there is none */
	const char *params[2];	/* the route's {id} segments, in order */
};

struct discord_route {
	const char *method;
	const char *path;	/* "*" stands for an {id} */
	int major;		/* index into params that splits the bucket, or -1 */
	void (*fn)(struct discord_call *c);
};

static void error(struct discord_call *c, unsigned status, long code, const char *message)
{
	fake_response_set(c->resp, status, json_pack("{s:s, s:i}", "message", message,
						     "code", (int)code));
}

/*
 * Adds {"code", "message"} under errors at the dotted path, the shape of
 * Discord's 50035 detail: "embeds.0.title" → errors.embeds["0"].title._errors.
 */
static void form_error(json_t *errors, const char *path, const char *code,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void form_error(json_t *errors, const char *path, const char *code,
		       const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	json_t *node = errors, *list;
	const char *p = path;
	va_list ap;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		json_t *next = json_object_getn(node, p, len);

		if (!next) {
			next = json_object();
			json_object_setn_new(node, p, len, next);
		}
		node = next;
		p += len + (dot ? 1 : 0);
	}
	list = json_object_get(node, "_errors");
	if (!list) {
		list = json_array();
		json_object_set_new(node, "_errors", list);
	}
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_pack("{s:s, s:s}", "code", code,
					      "message", msg.buf));
	strbuf_release(&msg);
}

/* Checks an optional string member; adds its length to *total. */
static void check_string(json_t *errors, json_t *obj, const char *key,
			 const char *path, size_t max, int required, size_t *total)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (!v || json_is_null(v)) {
		if (required)
			form_error(errors, path, "BASE_TYPE_REQUIRED", "This field is required");
		return;
	}
	if (!json_is_string(v)) {
		form_error(errors, path, "BASE_TYPE_STRING", "Could not interpret value as string.");
		return;
	}
	len = fake_utf8_len(json_string_value(v));
	if (required && !len)
		form_error(errors, path, "BASE_TYPE_REQUIRED", "This field is required");
	else if (len > max)
		form_error(errors, path, "BASE_TYPE_MAX_LENGTH",
			   "Must be %zu or fewer in length.", max);
	if (total)
		*total += len;
}

static void check_embed(json_t *errors, json_t *e, size_t i, size_t *total)
{
	char path[96];
	json_t *v, *f;
	size_t j;

	if (!json_is_object(e)) {
		snprintf(path, sizeof(path), "embeds.%zu", i);
		form_error(errors, path, "MODEL_TYPE_CONVERT",
			   "Only dictionaries may be used in a ModelType");
		return;
	}
	snprintf(path, sizeof(path), "embeds.%zu.title", i);
	check_string(errors, e, "title", path, 256, 0, total);
	snprintf(path, sizeof(path), "embeds.%zu.description", i);
	check_string(errors, e, "description", path, 4096, 0, total);
	snprintf(path, sizeof(path), "embeds.%zu.url", i);
	check_string(errors, e, "url", path, 2048, 0, NULL);
	if ((v = json_object_get(e, "color")) && !json_is_null(v)) {
		snprintf(path, sizeof(path), "embeds.%zu.color", i);
		if (!json_is_integer(v))
			form_error(errors, path, "NUMBER_TYPE_COERCE", "Value is not int.");
		else if (json_integer_value(v) < 0)
			form_error(errors, path, "NUMBER_TYPE_MIN",
				   "int value should be greater than or equal to 0.");
		else if (json_integer_value(v) > 16777215)
			form_error(errors, path, "NUMBER_TYPE_MAX",
				   "int value should be less than or equal to 16777215.");
	}
	if ((v = json_object_get(e, "footer")) && !json_is_null(v)) {
		snprintf(path, sizeof(path), "embeds.%zu.footer.text", i);
		check_string(errors, v, "text", path, 2048, 1, total);
	}
	if ((v = json_object_get(e, "author")) && !json_is_null(v)) {
		snprintf(path, sizeof(path), "embeds.%zu.author.name", i);
		check_string(errors, v, "name", path, 256, 1, total);
	}
	v = json_object_get(e, "fields");
	if (!v || json_is_null(v))
		return;
	snprintf(path, sizeof(path), "embeds.%zu.fields", i);
	if (!json_is_array(v)) {
		form_error(errors, path, "BASE_TYPE_ARRAY", "Must be an array.");
		return;
	}
	if (json_array_size(v) > 25)
		form_error(errors, path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
	json_array_foreach(v, j, f) {
		if (!json_is_object(f)) {
			snprintf(path, sizeof(path), "embeds.%zu.fields.%zu", i, j);
			form_error(errors, path, "MODEL_TYPE_CONVERT",
				   "Only dictionaries may be used in a ModelType");
			continue;
		}
		snprintf(path, sizeof(path), "embeds.%zu.fields.%zu.name", i, j);
		check_string(errors, f, "name", path, 256, 1, total);
		snprintf(path, sizeof(path), "embeds.%zu.fields.%zu.value", i, j);
		check_string(errors, f, "value", path, 1024, 1, total);
	}
}

/*
 * Checks the message fields of a create or edit body into errors; *empty
 * says whether what the body sets leaves no content and no embeds.
 */
static void check_message(json_t *errors, json_t *body, int *empty)
{
	json_t *content = json_object_get(body, "content");
	json_t *embeds = json_object_get(body, "embeds");
	json_t *nonce = json_object_get(body, "nonce");
	json_t *mentions = json_object_get(body, "allowed_mentions");
	size_t total = 0, i;
	json_t *e;
	int has_content = 0;

	check_string(errors, body, "content", "content", CONTENT_MAX, 0, NULL);
	if (json_is_string(content)) {
		const char *s;

		for (s = json_string_value(content); *s; s++)
			if (!isspace((unsigned char)*s))
				has_content = 1;
	}
	if (embeds && !json_is_null(embeds)) {
		if (!json_is_array(embeds)) {
			form_error(errors, "embeds", "BASE_TYPE_ARRAY", "Must be an array.");
		} else {
			if (json_array_size(embeds) > EMBEDS_MAX)
				form_error(errors, "embeds", "BASE_TYPE_MAX_LENGTH",
					   "Must be %d or fewer in length.", EMBEDS_MAX);
			json_array_foreach(embeds, i, e)
				check_embed(errors, e, i, &total);
			if (total > EMBED_TOTAL_MAX)
				form_error(errors, "embeds", "MAX_EMBED_SIZE_EXCEEDED",
					   "Embed size exceeds maximum size of %d",
					   EMBED_TOTAL_MAX);
			if (json_array_size(embeds))
				has_content = 1;
		}
	}
	if (nonce && !json_is_null(nonce)) {
		if (json_is_string(nonce)) {
			if (fake_utf8_len(json_string_value(nonce)) > NONCE_MAX)
				form_error(errors, "nonce", "BASE_TYPE_MAX_LENGTH",
					   "Must be %d or fewer in length.", NONCE_MAX);
		} else if (!json_is_integer(nonce)) {
			form_error(errors, "nonce", "NONCE_TYPE_INVALID",
				   "Nonce must be an integer or a string.");
		}
	}
	if (mentions && !json_is_null(mentions) && !json_is_object(mentions))
		form_error(errors, "allowed_mentions", "MODEL_TYPE_CONVERT",
			   "Only dictionaries may be used in a ModelType");
	*empty = !has_content;
}

/* Answers 50035 when errors is not empty; returns -1 then. */
static int form_errors_answer(struct discord_call *c, json_t *errors)
{
	if (!json_object_size(errors)) {
		json_decref(errors);
		return 0;
	}
	fake_response_set(c->resp, 400, json_pack("{s:s, s:i, s:o}",
		"message", "Invalid Form Body", "code", 50035, "errors", errors));
	return -1;
}

static void iso_time(char *buf, size_t size, double t)
{
	time_t secs = (time_t)t;
	long us = (long)((t - (double)secs) * 1e6);
	struct tm tm;
	char date[32];

	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ld+00:00", date, us);
}

static void next_snowflake(struct fake_state *st, char *buf, size_t size)
{
	unsigned long long ms = (unsigned long long)(fake_time_wall() * 1000.0);
	unsigned long long id = ((ms - DISCORD_EPOCH_MS) << 22) | (1ULL << 17);

	if (id <= st->discord_last_snowflake)
		id = st->discord_last_snowflake + 1;
	st->discord_last_snowflake = id;
	snprintf(buf, size, "%llu", id);
}

static json_t *bot_user(struct fake_state *st)
{
	json_t *bot = json_object_get(st->discord, "bot");

	return json_pack("{s:s, s:s, s:n, s:s, s:i, s:i, s:b, s:n, s:n, s:n}",
		"id", fake_json_str(bot, "id"),
		"username", fake_json_str(bot, "username"),
		"avatar",
		"discriminator", "0",
		"public_flags", 0,
		"flags", 0,
		"bot", 1,
		"banner",
		"accent_color",
		"global_name");
}

static json_t *user_json(json_t *user)
{
	json_t *gn = json_object_get(user, "global_name");

	return json_pack("{s:s, s:s, s:n, s:s, s:i, s:i, s:n, s:n, s:o}",
		"id", fake_json_str(user, "id"),
		"username", fake_json_str(user, "username"),
		"avatar",
		"discriminator", "0",
		"public_flags", 0,
		"flags", 0,
		"banner",
		"accent_color",
		"global_name", gn ? json_deep_copy(gn) : json_null());
}

static json_t *find_guild(struct fake_state *st, const char *id)
{
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(st->discord, "guilds"), i, g)
		if (!strcmp(fake_json_str(g, "id"), id))
			return g;
	return NULL;
}

static json_t *find_member(struct fake_state *st, const char *user_id)
{
	json_t *g, *m;
	size_t i, j;

	json_array_foreach(json_object_get(st->discord, "guilds"), i, g)
		json_array_foreach(json_object_get(g, "members"), j, m)
			if (!strcmp(fake_json_str(json_object_get(m, "user"), "id"), user_id))
				return m;
	return NULL;
}

/*
 * The channel with the ID: a guild channel of the directory, or an open DM
 * (then *dm_member is the recipient's member entry). NULL when unknown.
 */
static json_t *find_channel(struct fake_state *st, const char *id, json_t **dm_member)
{
	const char *user;
	json_t *g, *ch;
	size_t i, j;

	*dm_member = NULL;
	json_array_foreach(json_object_get(st->discord, "guilds"), i, g)
		json_array_foreach(json_object_get(g, "channels"), j, ch)
			if (!strcmp(fake_json_str(ch, "id"), id))
				return ch;
	json_object_foreach(st->discord_dms, user, ch) {
		if (!strcmp(fake_json_str(ch, "id"), id)) {
			*dm_member = find_member(st, user);
			return ch;
		}
	}
	return NULL;
}

/* The channel of a message route, or NULL after answering 10003 / 50001. */
static json_t *message_channel(struct discord_call *c, json_t **dm_member)
{
	json_t *ch = find_channel(c->st, c->params[0], dm_member);

	if (!ch) {
		error(c, 404, 10003, "Unknown Channel");
		return NULL;
	}
	if (!*dm_member && !json_is_true(json_object_get(ch, "access"))) {
		error(c, 403, 50001, "Missing Access");
		return NULL;
	}
	return ch;
}

static json_t *find_message(struct fake_state *st, const char *channel, const char *id)
{
	json_t *m, *msg;
	size_t i;

	json_array_foreach(st->discord_messages, i, m) {
		msg = json_object_get(m, "message");
		if (!strcmp(fake_json_str(msg, "channel_id"), channel) &&
		    !strcmp(fake_json_str(msg, "id"), id))
			return m;
	}
	return NULL;
}

/* The embeds as stored: each gets Discord's "type": "rich" unless given. */
static json_t *stored_embeds(json_t *embeds)
{
	json_t *out = json_array();
	json_t *e;
	size_t i;

	json_array_foreach(embeds, i, e) {
		json_t *copy = json_deep_copy(e);

		if (!json_object_get(copy, "type"))
			json_object_set_new(copy, "type", json_string("rich"));
		json_array_append_new(out, copy);
	}
	return out;
}

static void nonce_key(json_t *nonce, char *buf, size_t size)
{
	if (json_is_integer(nonce))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(nonce));
	else
		snprintf(buf, size, "%s", json_is_string(nonce) ? json_string_value(nonce) : "");
}

static void create_message(struct discord_call *c)
{
	struct fake_state *st = c->st;
	json_t *member, *ch, *errors, *msg, *stored, *m;
	json_t *nonce = json_object_get(c->body, "nonce");
	json_t *content = json_object_get(c->body, "content");
	json_t *embeds = json_object_get(c->body, "embeds");
	json_t *flags = json_object_get(c->body, "flags");
	char id[32], now[64], key[64] = "";
	double mono = fake_time_mono();
	int empty;
	size_t i;

	if (!(ch = message_channel(c, &member)))
		return;
	if (!member) {
		json_int_t type = json_integer_value(json_object_get(ch, "type"));

		if (type != 0 && type != 5) {
			error(c, 400, 50008, "Cannot send messages in a non-text channel");
			return;
		}
	}
	errors = json_object();
	check_message(errors, c->body, &empty);
	if (form_errors_answer(c, errors))
		return;
	if (empty) {
		error(c, 400, 50006, "Cannot send an empty message");
		return;
	}
	if (member && !json_is_true(json_object_get(member, "dm"))) {
		error(c, 403, 50007, "Cannot send messages to this user");
		return;
	}
	if (nonce && !json_is_null(nonce))
		nonce_key(nonce, key, sizeof(key));
	if (*key && json_is_true(json_object_get(c->body, "enforce_nonce"))) {
		json_array_foreach(st->discord_messages, i, m) {
			if (!strcmp(fake_json_str(json_object_get(m, "message"), "channel_id"),
				    c->params[0]) &&
			    !strcmp(fake_json_str(m, "nonce"), key) &&
			    mono - json_real_value(json_object_get(m, "created")) < FAKE_NONCE_WINDOW) {
				fake_response_set(c->resp, 200,
					json_deep_copy(json_object_get(m, "message")));
				return;
			}
		}
	}
	next_snowflake(st, id, sizeof(id));
	iso_time(now, sizeof(now), fake_time_wall());
	msg = json_pack("{s:s, s:i, s:s, s:o, s:[], s:o, s:[], s:[], s:b, s:b, s:b,"
			" s:s, s:n, s:I, s:[]}",
		"id", id,
		"type", 0,
		"channel_id", c->params[0],
		"author", bot_user(st),
		"attachments",
		"embeds", json_is_array(embeds) ? stored_embeds(embeds) : json_array(),
		"mentions",
		"mention_roles",
		"pinned", 0,
		"mention_everyone", 0,
		"tts", 0,
		"timestamp", now,
		"edited_timestamp",
		"flags", json_is_integer(flags) ? json_integer_value(flags) : (json_int_t)0,
		"components");
	json_object_set_new(msg, "content", json_string(json_is_string(content) ?
							json_string_value(content) : ""));
	if (*key)
		json_object_set(msg, "nonce", nonce);
	stored = json_pack("{s:o, s:s, s:f, s:b, s:[], s:O}",
		"message", json_deep_copy(msg),
		"nonce", key,
		"created", mono,
		"edited", 0,
		"history",
		"allowed_mentions", json_object_get(c->body, "allowed_mentions") ?
				    json_object_get(c->body, "allowed_mentions") : json_null());
	json_array_append_new(st->discord_messages, stored);
	fake_response_set(c->resp, 200, msg);
}

static void edit_message(struct discord_call *c)
{
	json_t *member, *errors, *stored, *msg;
	json_t *content = json_object_get(c->body, "content");
	json_t *embeds = json_object_get(c->body, "embeds");
	json_t *flags = json_object_get(c->body, "flags");
	json_t *new_content, *new_embeds;
	char now[64];
	int empty;

	if (!message_channel(c, &member))
		return;
	stored = find_message(c->st, c->params[0], c->params[1]);
	if (!stored) {
		error(c, 404, 10008, "Unknown Message");
		return;
	}
	msg = json_object_get(stored, "message");
	errors = json_object();
	check_message(errors, c->body, &empty);
	if (form_errors_answer(c, errors))
		return;
	if (content)
		new_content = json_string(json_is_string(content) ? json_string_value(content) : "");
	else
		new_content = json_incref(json_object_get(msg, "content"));
	if (embeds)
		new_embeds = json_is_array(embeds) ? stored_embeds(embeds) : json_array();
	else
		new_embeds = json_incref(json_object_get(msg, "embeds"));
	if (!*json_string_value(new_content) && !json_array_size(new_embeds)) {
		json_decref(new_content);
		json_decref(new_embeds);
		error(c, 400, 50006, "Cannot send an empty message");
		return;
	}
	json_array_append_new(json_object_get(stored, "history"), json_pack("{s:O, s:O, s:O}",
		"content", json_object_get(msg, "content"),
		"embeds", json_object_get(msg, "embeds"),
		"edited_timestamp", json_object_get(msg, "edited_timestamp")));
	iso_time(now, sizeof(now), fake_time_wall());
	json_object_set_new(msg, "content", new_content);
	json_object_set_new(msg, "embeds", new_embeds);
	json_object_set_new(msg, "edited_timestamp", json_string(now));
	if (json_is_integer(flags))
		json_object_set(msg, "flags", flags);
	if (json_object_get(c->body, "allowed_mentions"))
		json_object_set(stored, "allowed_mentions",
				json_object_get(c->body, "allowed_mentions"));
	json_object_set_new(stored, "edited", json_true());
	fake_response_set(c->resp, 200, json_deep_copy(msg));
}

static void open_dm(struct discord_call *c)
{
	struct fake_state *st = c->st;
	json_t *v = json_object_get(c->body, "recipient_id");
	json_t *member, *dm;
	char id[32];
	const char *s;

	if (!v || json_is_null(v)) {
		json_t *errors = json_object();

		form_error(errors, "recipient_id", "BASE_TYPE_REQUIRED", "This field is required");
		form_errors_answer(c, errors);
		return;
	}
	if (json_is_integer(v)) {
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_string(v) && strlen(json_string_value(v)) < sizeof(id)) {
		snprintf(id, sizeof(id), "%s", json_string_value(v));
	} else {
		json_t *errors = json_object();

		form_error(errors, "recipient_id", "NUMBER_TYPE_COERCE",
			   "Value is not snowflake.");
		form_errors_answer(c, errors);
		return;
	}
	for (s = id; *s; s++) {
		if (!isdigit((unsigned char)*s)) {
			json_t *errors = json_object();

			form_error(errors, "recipient_id", "NUMBER_TYPE_COERCE",
				   "Value \"%s\" is not snowflake.", id);
			form_errors_answer(c, errors);
			return;
		}
	}
	member = find_member(st, id);
	if (!member) {
		error(c, 404, 10013, "Unknown User");
		return;
	}
	dm = json_object_get(st->discord_dms, id);
	if (!dm) {
		char cid[32];

		next_snowflake(st, cid, sizeof(cid));
		dm = json_pack("{s:s, s:i, s:n, s:i, s:[o]}",
			"id", cid, "type", 1, "last_message_id", "flags", 0,
			"recipients", user_json(json_object_get(member, "user")));
		json_object_set_new(st->discord_dms, id, dm);
	}
	fake_response_set(c->resp, 200, json_deep_copy(dm));
}

static void get_me(struct discord_call *c)
{
	json_t *me = bot_user(c->st);

	json_object_update_new(me, json_pack("{s:b, s:s, s:b, s:n}", "mfa_enabled", 0,
		"locale", "en-US", "verified", 1, "email"));
	fake_response_set(c->resp, 200, me);
}

static void get_my_guilds(struct discord_call *c)
{
	json_t *out = json_array();
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(c->st->discord, "guilds"), i, g)
		json_array_append_new(out, json_pack("{s:s, s:s, s:n, s:n, s:b, s:s, s:[]}",
			"id", fake_json_str(g, "id"),
			"name", fake_json_str(g, "name"),
			"icon", "banner", "owner", 0,
			"permissions", "2248473465835073",
			"features"));
	fake_response_set(c->resp, 200, out);
}

static void get_guild_channels(struct discord_call *c)
{
	json_t *g = find_guild(c->st, c->params[0]);
	json_t *out, *ch, *parent;
	size_t i;

	if (!g) {
		error(c, 404, 10004, "Unknown Guild");
		return;
	}
	out = json_array();
	json_array_foreach(json_object_get(g, "channels"), i, ch) {
		parent = json_object_get(ch, "parent_id");
		json_array_append_new(out, json_pack(
			"{s:s, s:O, s:s, s:s, s:i, s:i, s:o, s:n, s:b, s:n, s:i, s:[]}",
			"id", fake_json_str(ch, "id"),
			"type", json_object_get(ch, "type"),
			"guild_id", fake_json_str(g, "id"),
			"name", fake_json_str(ch, "name"),
			"position", (int)i,
			"flags", 0,
			"parent_id", parent ? json_deep_copy(parent) : json_null(),
			"topic",
			"nsfw", 0,
			"last_message_id",
			"rate_limit_per_user", 0,
			"permission_overwrites"));
	}
	fake_response_set(c->resp, 200, out);
}

static void search_members(struct discord_call *c)
{
	json_t *g = find_guild(c->st, c->params[0]);
	const char *query = fake_json_str(c->req->query, "query");
	const char *limit_arg = fake_json_str(c->req->query, "limit");
	json_t *errors = json_object();
	json_t *out, *m;
	long limit = 1;
	size_t i;

	if (!query || !*query)
		form_error(errors, "query", "BASE_TYPE_REQUIRED", "This field is required");
	else if (fake_utf8_len(query) > 100)
		form_error(errors, "query", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.");
	if (limit_arg && parse_long(limit_arg, LONG_MIN, LONG_MAX, &limit))
		form_error(errors, "limit", "NUMBER_TYPE_COERCE", "Value \"%s\" is not int.", limit_arg);
	else if (limit < 1)
		form_error(errors, "limit", "NUMBER_TYPE_MIN",
			   "int value should be greater than or equal to 1.");
	else if (limit > 1000)
		form_error(errors, "limit", "NUMBER_TYPE_MAX",
			   "int value should be less than or equal to 1000.");
	if (form_errors_answer(c, errors))
		return;
	if (!g) {
		error(c, 404, 10004, "Unknown Guild");
		return;
	}
	out = json_array();
	json_array_foreach(json_object_get(g, "members"), i, m) {
		json_t *user = json_object_get(m, "user");
		const char *nick = fake_json_str(m, "nick");

		if ((long)json_array_size(out) >= limit)
			break;
		if (!fake_istarts_with(fake_json_str(user, "username"), query) &&
		    !(nick && fake_istarts_with(nick, query)))
			continue;
		json_array_append_new(out, json_pack(
			"{s:o, s:o, s:n, s:[], s:s, s:n, s:b, s:b, s:i, s:b, s:n, s:n}",
			"user", user_json(user),
			"nick", nick ? json_string(nick) : json_null(),
			"avatar",
			"roles",
			"joined_at", "2024-01-01T00:00:00.000000+00:00",
			"premium_since",
			"deaf", 0,
			"mute", 0,
			"flags", 0,
			"pending", 0,
			"communication_disabled_until",
			"banner"));
	}
	fake_response_set(c->resp, 200, out);
}

static const struct discord_route routes[] = {
	{ "POST", "channels/*/messages", 0, create_message },
	{ "PATCH", "channels/*/messages/*", 0, edit_message },
	{ "POST", "users/@me/channels", -1, open_dm },
	{ "GET", "users/@me", -1, get_me },
	{ "GET", "users/@me/guilds", -1, get_my_guilds },
	{ "GET", "guilds/*/channels", 0, get_guild_channels },
	{ "GET", "guilds/*/members/search", 0, search_members },
};

/* Splits path at '/' into at most max segments; returns the count or -1. */
static int split_path(char *path, char **seg, int max)
{
	int n = 0;
	char *p = path;

	while (*p == '/')
		p++;
	while (*p) {
		char *slash = strchr(p, '/');

		if (n == max)
			return -1;
		seg[n++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

/* Whether the segments match the route's path; fills params. */
static int route_matches(const struct discord_route *r, char **seg, int n,
			 const char **params)
{
	char tmpl[64];
	char *tseg[PATH_SEGMENTS_MAX];
	int tn, i, np = 0;

	params[0] = params[1] = NULL;
	snprintf(tmpl, sizeof(tmpl), "%s", r->path);
	tn = split_path(tmpl, tseg, PATH_SEGMENTS_MAX);
	if (tn != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (!strcmp(tseg[i], "*")) {
			if (!*seg[i])
				return 0;
			if (np < 2)
				params[np++] = seg[i];
		} else if (strcmp(tseg[i], seg[i])) {
			return 0;
		}
	}
	return 1;
}

/*
 * Counts the request against its bucket and announces the bucket in the
 * X-RateLimit-* headers; answers 429 and returns -1 when it is used up.
 */
static int bucket_take(struct discord_call *c, const struct discord_route *r)
{
	struct fake_state *st = c->st;
	double now = fake_time_mono();
	double window = st->limits.discord_bucket_window;
	long limit = st->limits.discord_bucket_limit;
	struct strbuf key = STRBUF_INIT;
	double start = now, reset_after;
	json_int_t count = 0;
	json_t *b;
	int ret = 0;

	strbuf_addf(&key, "%s %s", r->method, r->path);
	if (r->major >= 0)
		strbuf_addf(&key, " %s", c->params[r->major]);
	b = json_object_get(st->discord_buckets, key.buf);
	if (b) {
		start = json_real_value(json_object_get(b, "start"));
		count = json_integer_value(json_object_get(b, "count"));
		if (now >= start + window) {
			start = now;
			count = 0;
		}
	}
	reset_after = start + window - now;
	if (count < limit)
		count++;
	else
		ret = -1;
	json_object_set_new(st->discord_buckets, key.buf,
			    json_pack("{s:f, s:I}", "start", start, "count", count));
	fake_response_header(c->resp, "X-RateLimit-Limit", "%ld", limit);
	fake_response_header(c->resp, "X-RateLimit-Remaining", "%ld",
			     ret ? 0L : limit - (long)count);
	fake_response_header(c->resp, "X-RateLimit-Reset", "%.3f",
			     fake_time_wall() + reset_after);
	fake_response_header(c->resp, "X-RateLimit-Reset-After", "%.3f", reset_after);
	strbuf_reset(&key);
	strbuf_addf(&key, "%s %s", r->method, r->path);
	fake_response_header(c->resp, "X-RateLimit-Bucket", "%016llx%016llx",
			     (unsigned long long)fnv1a(key.buf, 14695981039346656037ULL),
			     (unsigned long long)fnv1a(key.buf, 1469598103934665603ULL));
	if (ret) {
		double retry = ceil(reset_after * 1000.0) / 1000.0;
		long secs = (long)ceil(reset_after);

		fake_response_header(c->resp, "Retry-After", "%ld", secs < 1 ? 1 : secs);
		fake_response_header(c->resp, "X-RateLimit-Scope", "user");
		fake_response_set(c->resp, 429, json_pack("{s:s, s:f, s:b}",
			"message", "You are being rate limited.",
			"retry_after", retry < 0.001 ? 0.001 : retry,
			"global", 0));
	}
	strbuf_release(&key);
	return ret;
}

/* Whether the User-Agent has Discord's "DiscordBot ($url, $version)" form. */
static int user_agent_ok(const char *ua)
{
	const char *close;

	if (!ua || strncmp(ua, "DiscordBot (", 12))
		return 0;
	close = strchr(ua + 12, ')');
	return close && memchr(ua + 12, ',', (size_t)(close - ua - 12)) != NULL;
}

/* Parses the JSON body into c->body; -1 after answering. */
static int read_body(struct discord_call *c)
{
	const struct fake_request *req = c->req;
	char type[64];
	const char *semi;
	size_t len;

	if (!req->body_len) {
		c->body = json_object();
		return 0;
	}
	semi = req->content_type ? strchr(req->content_type, ';') : NULL;
	len = !req->content_type ? 0 : semi ? (size_t)(semi - req->content_type) :
						strlen(req->content_type);
	snprintf(type, sizeof(type), "%.*s", (int)len, req->content_type ? req->content_type : "");
	if (!fake_strieq(type, "application/json")) {
		json_t *errors = json_object();

		form_error(errors, "", "CONTENT_TYPE_INVALID",
			   "Expected \"Content-Type\" header to be one of {'application/json'}.");
		form_errors_answer(c, errors);
		return -1;
	}
	c->body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL);
	if (!json_is_object(c->body)) {
		json_decref(c->body);
		c->body = NULL;
		error(c, 400, 50109, "The request body contains invalid JSON.");
		return -1;
	}
	return 0;
}

void fake_discord_handle(struct fake_state *st, const struct fake_request *req,
			 struct fake_response *resp)
{
	struct discord_call c = { st, req, resp, NULL, { NULL, NULL } };
	const struct discord_route *route = NULL;
	const char *token = fake_json_str(st->discord, "token");
	char *seg[PATH_SEGMENTS_MAX];
	char *path = xstrdup(req->path);
	int n, path_known = 0;
	size_t i;

	n = split_path(path, seg, PATH_SEGMENTS_MAX);
	for (i = 0; n >= 0 && i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_matches(&routes[i], seg, n, c.params))
			continue;
		path_known = 1;
		if (!strcmp(routes[i].method, req->method)) {
			route = &routes[i];
			break;
		}
	}
	if (!route) {
		if (path_known)
			error(&c, 405, 0, "405: Method Not Allowed");
		else
			error(&c, 404, 0, "404: Not Found");
		goto out;
	}
	if (!req->authorization || strncmp(req->authorization, "Bot ", 4) ||
	    strcmp(req->authorization + 4, token)) {
		error(&c, 401, 0, "401: Unauthorized");
		goto out;
	}
	if (!user_agent_ok(req->user_agent)) {
		error(&c, 403, 40333, "internal network error");
		goto out;
	}
	if (bucket_take(&c, route))
		goto out;
	if (read_body(&c))
		goto out;
	route->fn(&c);
out:
	json_decref(c.body);
	free(path);
}
