/*
 * discord: the Discord provider (REST API v10).
 *
 * Posts with POST /channels/{id}/messages and edits with PATCH
 * /channels/{id}/messages/{id}, always with "allowed_mentions": {"parse": []}
 * so that no text of an event can ping anyone, and, on posts, a nonce with
 * "enforce_nonce" so that a retried post is dropped by Discord instead of
 * appearing twice. Every request carries "Authorization: Bot <token>" and
 * the "DiscordBot (url, version)" User-Agent Discord requires.
 *
 * Answers are classified by status and Discord's JSON error code, with the
 * rate-limit headers kept from every answer (discord_answer.c).
 * Destinations resolve in one guild (NOTIFICATIONS_DISCORD_GUILD, or the
 * only guild the bot is in): #names through the guild's channel list,
 * @names through member search, people then through their DM channel.
 * Resolutions are cached.
 */
#include "delivery/discord_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/json_out.h"

#define USER_AGENT "DiscordBot (" HERALD_URL ", " HERALD_VERSION ")"
#define CHANNELS_TTL_S 60.0	/* one guild channel list per resolve burst */
#define NAME_TTL_S 3600		/* a name can move to another ID */
#define DM_TTL_S (24 * 3600)	/* a user's DM channel never changes */
#define SEARCH_LIMIT 100	/* member search is a prefix search */
#define SNOWFLAKE_MAX 20
#define NONCE_MAX 25
#define LISTED_MAX 5		/* IDs named in an "ambiguous" error */

struct guild_channel {
	char *id;
	char *name;
	long type;
};

struct discord_provider {
	struct provider base;
	char *guild_id;		/* where names resolve: cfg, or the only one */
	char *guild_name;	/* for messages; NULL when unknown */
	struct guild_channel *channels;	/* GET /guilds/{id}/channels */
	size_t channels_nr;
	size_t channels_alloc;
	int channels_valid;
	double channels_fetched;	/* monotonic_now() of the fetch */
};

static const char *json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int is_snowflake(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (!len || len > SNOWFLAKE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static void add_auth(const struct provider *p, struct http_request *req)
{
	http_request_add_header(req, "Authorization: Bot %s", p->token);
	http_request_add_header(req, "User-Agent: %s", USER_AGENT);
}

/* A request of path (under the API URL) with args as its JSON body. */
static int make_request(const struct provider *p, const char *method,
			const char *path, const json_t *args,
			struct http_request *req, struct errbuf *err)
{
	struct strbuf url = STRBUF_INIT, body = STRBUF_INIT;

	if (args && json_out(&body, args, 0) < 0) {
		strbuf_release(&body);
		return errbuf_set(err, HERALD_EINVAL, "%s /%s: the body cannot "
				  "be encoded as JSON", method, path);
	}
	strbuf_addf(&url, "%s/%s", p->api_url, path);
	http_request_init(req, method, url.buf);
	add_auth(p, req);
	if (args) {
		size_t len;
		char *text = strbuf_detach(&body, &len);

		http_request_add_header(req, "Content-Type: application/json");
		http_request_take_body(req, text, len);
	}
	strbuf_release(&url);
	return 0;
}

/*
 * The message body to send: body's members less those skipped, then
 * allowed_mentions (the body's, or {"parse": []} when it has none).
 */
static json_t *message_args(const json_t *body, const char *const *skip)
{
	json_t *args = json_object();
	json_t *mentions = json_object_get(body, "allowed_mentions");
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v) {
		int skipped = !strcmp(key, "allowed_mentions");

		for (size_t i = 0; skip[i] && !skipped; i++)
			skipped = !strcmp(key, skip[i]);
		if (!skipped)
			json_object_set(args, key, v);
	}
	if (json_is_object(mentions))
		json_object_set(args, "allowed_mentions", mentions);
	else
		json_object_set_new(args, "allowed_mentions",
				    json_pack("{s:[]}", "parse"));
	return args;
}

static int discord_post_request(struct provider *p, const char *channel_id,
				const json_t *body, const char *nonce,
				struct http_request *req, struct errbuf *err)
{
	/* Set by herald from the caller's nonce, never taken from the body. */
	static const char *const skip[] = { "nonce", "enforce_nonce", NULL };
	struct strbuf path = STRBUF_INIT;
	json_t *args;
	int ret;

	if (!json_is_object(body))
		return errbuf_set(err, HERALD_EINVAL, "create message: the "
				  "message body is not a JSON object");
	if (!is_snowflake(channel_id))
		return errbuf_set(err, HERALD_EINVAL, "create message: \"%.64s\" "
				  "is not a channel ID (digits)",
				  channel_id ? channel_id : "");
	if (nonce && strlen(nonce) > NONCE_MAX)
		return errbuf_set(err, HERALD_EINVAL, "create message: the "
				  "nonce \"%.64s\" is longer than %d characters",
				  nonce, NONCE_MAX);
	args = message_args(body, skip);
	if (nonce && *nonce) {
		json_t *n = json_string(nonce);

		if (!n) {
			json_decref(args);
			return errbuf_set(err, HERALD_EINVAL, "create message: "
					  "the nonce is not valid UTF-8");
		}
		json_object_set_new(args, "nonce", n);
		json_object_set_new(args, "enforce_nonce", json_true());
	}
	strbuf_addf(&path, "channels/%s/messages", channel_id);
	ret = make_request(p, "POST", path.buf, args, req, err);
	json_decref(args);
	strbuf_release(&path);
	return ret;
}

static int discord_update_request(struct provider *p, const char *channel_id,
				  const char *message_id, const json_t *body,
				  struct http_request *req, struct errbuf *err)
{
	/* Create-only fields: an edit does not take them. */
	static const char *const skip[] = {
		"nonce", "enforce_nonce", "tts", "message_reference",
		"sticker_ids", NULL,
	};
	struct strbuf path = STRBUF_INIT;
	json_t *args;
	int ret;

	if (!json_is_object(body))
		return errbuf_set(err, HERALD_EINVAL, "edit message: the message "
				  "body is not a JSON object");
	if (!is_snowflake(channel_id))
		return errbuf_set(err, HERALD_EINVAL, "edit message: \"%.64s\" is "
				  "not a channel ID; an edit needs the ID the "
				  "post returned", channel_id ? channel_id : "");
	if (!is_snowflake(message_id))
		return errbuf_set(err, HERALD_EINVAL, "edit message: \"%.64s\" is "
				  "not a message ID (digits)",
				  message_id ? message_id : "");
	args = message_args(body, skip);
	strbuf_addf(&path, "channels/%s/messages/%s", channel_id, message_id);
	ret = make_request(p, "PATCH", path.buf, args, req, err);
	json_decref(args);
	strbuf_release(&path);
	return ret;
}

/*
 * A synchronous call: method on path (under the API URL, query included),
 * with args as a JSON body when not NULL. Returns 0 with *answer the
 * decoded body (possibly NULL), or the outcome's error code with out
 * classified.
 */
static int call(struct provider *p, struct http_client *c, const char *method,
		const char *path, const json_t *args, const char *dest_raw,
		json_t **answer, struct delivery_result *out)
{
	struct http_request req;
	struct http_response resp;
	struct errbuf err;

	*answer = NULL;
	if (make_request(p, method, path, args, &req, &err) < 0) {
		delivery_result_clear(out);
		discord__set_failure(out, DELIVERY_PERMANENT, "invalid_request",
				     "invalid request", dest_raw, err.msg);
		return HERALD_EPERM;
	}
	if (http_client_perform(c, &req, &resp, &err) < 0) {
		delivery_result_clear(out);
		discord__set_failure(out, DELIVERY_PERMANENT, "invalid_url",
				     "HERALD_DISCORD_API_URL", dest_raw,
				     err.msg);
	} else {
		discord__classify(&resp, p->token, dest_raw, out, answer);
	}
	http_response_release(&resp);
	http_request_release(&req);
	return delivery_outcome_errcode(out->outcome);
}

/* A 2xx answer that is not what the call returns. */
static int bad_answer(struct delivery_result *out, const char *dest_raw,
		      const char *what)
{
	delivery_result_clear(out);
	discord__set_failure(out, DELIVERY_PERMANENT, "invalid_response",
			     "unexpected answer", dest_raw, what);
	return HERALD_EPERM;
}

/* "Acme (1180000000000000100)" or the ID alone. */
static void add_guild_label(struct strbuf *sb, const char *id, const char *name,
			    const char *token)
{
	if (name && *name) {
		discord__add_clipped(sb, name, 100, token);
		strbuf_addf(sb, " (%s)", id);
	} else {
		strbuf_addf(sb, "%s", id);
	}
}

/*
 * Sets dp->guild_id: NOTIFICATIONS_DISCORD_GUILD, else the only guild the
 * bot is in (GET /users/@me/guilds, once).
 */
static int find_guild(struct discord_provider *dp, struct http_client *c,
		      const struct destination *d, struct delivery_result *out)
{
	struct strbuf found = STRBUF_INIT;
	json_t *answer, *g;
	size_t i, nr = 0;
	int ret;

	if (dp->guild_id)
		return 0;
	if (dp->base.guild && *dp->base.guild) {
		dp->guild_id = xstrdup(dp->base.guild);
		return 0;
	}
	ret = call(&dp->base, c, "GET", "users/@me/guilds", NULL, d->raw,
		   &answer, out);
	if (ret)
		return ret;
	if (!json_is_array(answer)) {
		json_decref(answer);
		return bad_answer(out, d->raw, "GET /users/@me/guilds did not "
				  "answer with a list");
	}
	json_array_foreach(answer, i, g) {
		const char *id = json_str(g, "id");

		if (!is_snowflake(id))
			continue;
		if (!nr++) {
			dp->guild_id = xstrdup(id);
			dp->guild_name = xstrdup(json_str(g, "name"));
		}
		if (nr <= LISTED_MAX) {
			if (nr > 1)
				strbuf_addstr(&found, ", ");
			add_guild_label(&found, id, json_str(g, "name"),
					dp->base.token);
		}
	}
	if (nr > LISTED_MAX)
		strbuf_addf(&found, " and %zu more", nr - LISTED_MAX);
	if (nr != 1) {
		free(dp->guild_id);
		free(dp->guild_name);
		dp->guild_id = dp->guild_name = NULL;
		delivery_result_clear(out);
		if (!nr)
			delivery_result_set(out, DELIVERY_PERMANENT, "no_guild",
					    "Discord: cannot resolve \"%s\": the "
					    "bot is in no server; invite it (OAuth2 "
					    "URL with the bot scope) and set "
					    "NOTIFICATIONS_DISCORD_GUILD to the "
					    "server ID, or use channel and user IDs",
					    d->raw);
		else
			delivery_result_set(out, DELIVERY_PERMANENT,
					    "guild_required",
					    "Discord: cannot resolve \"%s\": the "
					    "bot is in %zu servers (%s); set "
					    "NOTIFICATIONS_DISCORD_GUILD to the ID "
					    "of the one to look names up in, or use "
					    "channel and user IDs", d->raw, nr,
					    found.buf);
		ret = HERALD_EPERM;
	}
	json_decref(answer);
	strbuf_release(&found);
	return ret;
}

/* "server Acme (1180000000000000100)" for messages. */
static void guild_label(const struct discord_provider *dp, struct strbuf *sb)
{
	strbuf_addstr(sb, "server ");
	add_guild_label(sb, dp->guild_id, dp->guild_name, dp->base.token);
}

static void channels_clear(struct discord_provider *dp)
{
	for (size_t i = 0; i < dp->channels_nr; i++) {
		free(dp->channels[i].id);
		free(dp->channels[i].name);
	}
	free(dp->channels);
	dp->channels = NULL;
	dp->channels_nr = dp->channels_alloc = 0;
	dp->channels_valid = 0;
}

/* GET /guilds/{id}/channels, unless a fetch is fresh enough. */
static int load_channels(struct discord_provider *dp, struct http_client *c,
			 const char *dest_raw, struct delivery_result *out)
{
	struct strbuf path = STRBUF_INIT;
	json_t *answer, *ch;
	size_t i;
	int ret;

	if (dp->channels_valid &&
	    monotonic_now() - dp->channels_fetched < CHANNELS_TTL_S)
		return 0;
	channels_clear(dp);
	strbuf_addf(&path, "guilds/%s/channels", dp->guild_id);
	ret = call(&dp->base, c, "GET", path.buf, NULL, dest_raw, &answer, out);
	strbuf_release(&path);
	if (ret == HERALD_EPERM && !strcmp(out->code, "50001"))
		delivery_result_set(out, DELIVERY_PERMANENT, "50001",
				    "Discord: 50001 Missing Access for \"%s\": the "
				    "bot cannot list the channels of server %s: "
				    "invite it there, or fix "
				    "NOTIFICATIONS_DISCORD_GUILD", dest_raw,
				    dp->guild_id);
	if (ret)
		return ret;
	if (!json_is_array(answer)) {
		json_decref(answer);
		return bad_answer(out, dest_raw, "GET /guilds/{id}/channels did "
				  "not answer with a list");
	}
	json_array_foreach(answer, i, ch) {
		const char *id = json_str(ch, "id"), *name = json_str(ch, "name");
		struct guild_channel *gc;

		if (!is_snowflake(id) || !name)
			continue;
		if (dp->channels_nr == dp->channels_alloc) {
			dp->channels_alloc = dp->channels_alloc ?
					     dp->channels_alloc * 2 : 64;
			dp->channels = xrealloc(dp->channels, dp->channels_alloc *
						sizeof(*dp->channels));
		}
		gc = &dp->channels[dp->channels_nr++];
		gc->id = xstrdup(id);
		gc->name = xstrdup(name);
		gc->type = (long)json_integer_value(json_object_get(ch, "type"));
	}
	json_decref(answer);
	dp->channels_valid = 1;
	dp->channels_fetched = monotonic_now();
	return 0;
}

/* Text (0) and announcement (5) channels take messages. */
static int is_text_channel(long type)
{
	return type == 0 || type == 5;
}

static const char *channel_type_word(long type)
{
	switch (type) {
	case 2:
		return "a voice channel";
	case 4:
		return "a category";
	case 13:
		return "a stage channel";
	case 15:
		return "a forum channel";
	case 16:
		return "a media channel";
	}
	return "not a text channel";
}

static int resolve_channel_name(struct discord_provider *dp,
				struct http_client *c,
				const struct destination *d,
				struct strbuf *channel_id,
				struct delivery_result *out)
{
	struct strbuf ids = STRBUF_INIT, where = STRBUF_INIT;
	const struct guild_channel *match = NULL, *other = NULL;
	const char *name = d->target;
	size_t matches = 0;
	int ret;

	while (*name == '#')
		name++;
	ret = load_channels(dp, c, d->raw, out);
	if (ret)
		return ret;
	for (size_t i = 0; i < dp->channels_nr; i++) {
		const struct guild_channel *gc = &dp->channels[i];

		if (strcasecmp(gc->name, name))
			continue;
		if (!is_text_channel(gc->type)) {
			other = gc;
			continue;
		}
		if (!matches++)
			match = gc;
		if (matches <= LISTED_MAX)
			strbuf_addf(&ids, "%s%s", matches > 1 ? ", " : "", gc->id);
	}
	guild_label(dp, &where);
	delivery_result_clear(out);
	if (matches == 1) {
		strbuf_addstr(channel_id, match->id);
	} else if (matches > 1) {
		if (matches > LISTED_MAX)
			strbuf_addf(&ids, " and %zu more", matches - LISTED_MAX);
		delivery_result_set(out, DELIVERY_PERMANENT, "ambiguous_channel",
				    "Discord: \"%s\" is ambiguous: %zu text "
				    "channels in %s have that name (%s); use the "
				    "channel ID", d->raw, matches, where.buf,
				    ids.buf);
		ret = HERALD_EPERM;
	} else if (other) {
		delivery_result_set(out, DELIVERY_PERMANENT, "not_text_channel",
				    "Discord: \"%s\" in %s is %s (type %ld, ID "
				    "%s), which cannot take messages: use a text "
				    "or announcement channel", d->raw, where.buf,
				    channel_type_word(other->type), other->type,
				    other->id);
		ret = HERALD_EPERM;
	} else {
		delivery_result_set(out, DELIVERY_PERMANENT, "channel_not_found",
				    "Discord: no text channel named \"%s\" in %s "
				    "(%zu channels, names compared ignoring "
				    "case): check the name and "
				    "NOTIFICATIONS_DISCORD_GUILD, or use the "
				    "channel ID", name, where.buf,
				    dp->channels_nr);
		ret = HERALD_EPERM;
	}
	strbuf_release(&ids);
	strbuf_release(&where);
	return ret;
}

/* Adds member m's user ID to ids (distinct) and counts it. */
static void add_member(const json_t *m, const char *token, struct strbuf *ids,
		       size_t *nr, const char **first)
{
	const json_t *user = json_object_get(m, "user");
	const char *id = json_str(user, "id");
	const char *username = json_str(user, "username");

	if (!is_snowflake(id) || (*first && !strcmp(*first, id)))
		return;
	if (!(*nr)++)
		*first = id;
	if (*nr <= LISTED_MAX) {
		strbuf_addf(ids, "%s%s", *nr > 1 ? ", " : "", id);
		if (username) {
			strbuf_addstr(ids, " (");
			discord__add_clipped(ids, username, 64, token);
			strbuf_addch(ids, ')');
		}
	}
}

static int name_is(const json_t *obj, const char *key, const char *name)
{
	const char *v = json_str(obj, key);

	return v && !strcasecmp(v, name);
}

/*
 * @name: member search in the guild, then an exact match: the username
 * first, else the display name (global_name) or server nickname.
 */
static int find_member(struct discord_provider *dp, struct http_client *c,
		       const struct destination *d, struct strbuf *user,
		       struct delivery_result *out)
{
	struct strbuf path = STRBUF_INIT, ids = STRBUF_INIT, where = STRBUF_INIT;
	const char *first = NULL;
	json_t *answer, *m;
	size_t i, nr = 0;
	int ret;

	strbuf_addf(&path, "guilds/%s/members/search?query=", dp->guild_id);
	http_url_encode(&path, d->target);
	strbuf_addf(&path, "&limit=%d", SEARCH_LIMIT);
	ret = call(&dp->base, c, "GET", path.buf, NULL, d->raw, &answer, out);
	strbuf_release(&path);
	if (ret == HERALD_EPERM && !strcmp(out->code, "50001"))
		delivery_result_set(out, DELIVERY_PERMANENT, "50001",
				    "Discord: 50001 Missing Access for \"%s\": "
				    "the bot may not search the members of server "
				    "%s: check that it is in that server and turn "
				    "on the Server Members Intent (Developer "
				    "Portal, your application, Bot, Privileged "
				    "Gateway Intents), or use the user ID "
				    "(@<digits>)", d->raw, dp->guild_id);
	if (ret)
		return ret;
	if (!json_is_array(answer)) {
		json_decref(answer);
		return bad_answer(out, d->raw, "member search did not answer "
				  "with a list");
	}
	json_array_foreach(answer, i, m)
		if (name_is(json_object_get(m, "user"), "username", d->target))
			add_member(m, dp->base.token, &ids, &nr, &first);
	if (!nr)
		json_array_foreach(answer, i, m)
			if (name_is(json_object_get(m, "user"), "global_name",
				    d->target) || name_is(m, "nick", d->target))
				add_member(m, dp->base.token, &ids, &nr, &first);
	guild_label(dp, &where);
	delivery_result_clear(out);
	if (nr == 1) {
		strbuf_addstr(user, first);
	} else if (nr > 1) {
		if (nr > LISTED_MAX)
			strbuf_addf(&ids, " and %zu more", nr - LISTED_MAX);
		delivery_result_set(out, DELIVERY_PERMANENT, "ambiguous_user",
				    "Discord: \"%s\" is ambiguous: %zu members of "
				    "%s match (%s); use the user ID (@<digits>)",
				    d->raw, nr, where.buf, ids.buf);
		ret = HERALD_EPERM;
	} else {
		delivery_result_set(out, DELIVERY_PERMANENT, "user_not_found",
				    "Discord: no member named \"%s\" in %s: "
				    "searched usernames, then display names and "
				    "server nicknames, ignoring case; check the "
				    "spelling, or use the user ID (@<digits>, "
				    "Developer Mode, Copy User ID)", d->target,
				    where.buf);
		ret = HERALD_EPERM;
	}
	json_decref(answer);
	strbuf_release(&ids);
	strbuf_release(&where);
	return ret;
}

/* POST /users/@me/channels: the DM channel with user. */
static int open_dm(struct provider *p, struct http_client *c, const char *user,
		   const char *dest_raw, struct strbuf *channel_id,
		   struct delivery_result *out)
{
	json_t *args = json_pack("{s:s}", "recipient_id", user);
	json_t *answer;
	const char *id;
	int ret;

	ret = call(p, c, "POST", "users/@me/channels", args, dest_raw, &answer,
		   out);
	json_decref(args);
	if (ret)
		return ret;
	id = json_str(answer, "id");
	if (is_snowflake(id))
		strbuf_addstr(channel_id, id);
	else
		ret = bad_answer(out, dest_raw, "POST /users/@me/channels "
				 "answered without a channel ID");
	json_decref(answer);
	return ret;
}

static int discord_resolve(struct provider *p, struct http_client *c,
			   const struct destination *d,
			   struct strbuf *channel_id,
			   struct delivery_result *out)
{
	struct discord_provider *dp = (struct discord_provider *)p;
	struct strbuf user = STRBUF_INIT;
	time_t now = time(NULL), ttl = NAME_TTL_S;
	const char *cached;
	int ret = 0;

	delivery_result_clear(out);
	switch (d->kind) {
	case DEST_CHANNEL_ID:
		strbuf_addstr(channel_id, d->target);
		return 0;
	case DEST_USER_EMAIL:
		delivery_result_set(out, DELIVERY_PERMANENT, "invalid_destination",
				    "Discord: \"%s\": Discord cannot message by "
				    "email; use @username or @<user id>", d->raw);
		return HERALD_EPERM;
	case DEST_USER_ID:
		ttl = DM_TTL_S;
		break;
	case DEST_CHANNEL_NAME:
	case DEST_USER_NAME:
		break;
	}
	cached = provider_cache_get(p, d->raw, now);
	if (cached) {
		strbuf_addstr(channel_id, cached);
		return 0;
	}
	if (d->kind == DEST_USER_ID) {
		strbuf_addstr(&user, d->target);
	} else {
		ret = find_guild(dp, c, d, out);
		if (ret)
			goto out;
		if (d->kind == DEST_CHANNEL_NAME)
			ret = resolve_channel_name(dp, c, d, channel_id, out);
		else
			ret = find_member(dp, c, d, &user, out);
		if (ret)
			goto out;
	}
	if (user.len)
		ret = open_dm(p, c, user.buf, d->raw, channel_id, out);
	if (ret)
		goto out;
	provider_cache_put(p, d->raw, channel_id->buf, now + ttl);
	delivery_result_clear(out);
out:
	if (ret)
		strbuf_reset(channel_id);
	strbuf_release(&user);
	return ret;
}

static int discord_identify(struct provider *p, struct http_client *c,
			    struct strbuf *who, struct delivery_result *out)
{
	struct delivery_result guilds_res;
	json_t *me, *guilds, *g;
	const char *name, *discrim, *id;
	int listed = 0, configured_found = 0;
	size_t i;
	int ret;

	ret = call(p, c, "GET", "users/@me", NULL, NULL, &me, out);
	if (ret)
		return ret;
	name = json_str(me, "username");
	discrim = json_str(me, "discriminator");
	id = json_str(me, "id");
	if (!name || !id) {
		json_decref(me);
		return bad_answer(out, NULL, "GET /users/@me answered without a "
				  "user: check HERALD_DISCORD_API_URL");
	}
	strbuf_addstr(who, "bot ");
	discord__add_clipped(who, name, 64, p->token);
	strbuf_addch(who, '#');
	discord__add_clipped(who, discrim ? discrim : "0", 8, p->token);
	strbuf_addstr(who, " (id ");
	discord__add_clipped(who, id, SNOWFLAKE_MAX, p->token);
	strbuf_addch(who, ')');
	json_decref(me);

	if (call(p, c, "GET", "users/@me/guilds", NULL, NULL, &guilds,
		 &guilds_res) || !json_is_array(guilds)) {
		strbuf_addstr(who, "; its servers could not be listed");
		json_decref(guilds);
		delivery_result_clear(out);
		return 0;
	}
	json_array_foreach(guilds, i, g) {
		const char *gid = json_str(g, "id");

		if (!gid)
			continue;
		if (p->guild && !strcmp(p->guild, gid))
			configured_found = 1;
		if (listed++ < LISTED_MAX) {
			strbuf_addstr(who, listed > 1 ? ", " : " in ");
			add_guild_label(who, gid, json_str(g, "name"), p->token);
		}
	}
	if (listed > LISTED_MAX)
		strbuf_addf(who, " and %d more servers", listed - LISTED_MAX);
	if (!listed)
		strbuf_addstr(who, " in no server: invite it to yours");
	if (p->guild && *p->guild && !configured_found)
		strbuf_addf(who, "; NOTIFICATIONS_DISCORD_GUILD %s is not one of "
			    "them: invite the bot there or fix the ID", p->guild);
	json_decref(guilds);
	delivery_result_clear(out);
	return 0;
}

static void discord_free(struct provider *p)
{
	struct discord_provider *dp = (struct discord_provider *)p;

	channels_clear(dp);
	free(dp->guild_id);
	free(dp->guild_name);
	free(dp);
}

static const struct provider_ops discord_ops = {
	.kind = PROVIDER_DISCORD,
	.name = "discord",
	.post_request = discord_post_request,
	.update_request = discord_update_request,
	.parse_response = discord__parse_response,
	.resolve = discord_resolve,
	.identify = discord_identify,
	.free = discord_free,
};

int discord_provider_new(struct provider **out, const struct config *cfg,
			 struct errbuf *err)
{
	struct discord_provider *dp;
	const char *token = cfg->token ? cfg->token : "";

	*out = NULL;
	if (!strncasecmp(token, "Bot ", 4))
		return errbuf_set(err, HERALD_EINVAL, "NOTIFICATIONS_TOKEN starts "
				  "with \"Bot \": give the bot token alone; "
				  "herald adds the prefix");
	for (const char *s = token; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return errbuf_set(err, HERALD_EINVAL, "NOTIFICATIONS_TOKEN "
					  "contains white space or a control "
					  "character: a Discord bot token has "
					  "none; copy it again");
	dp = xcalloc(1, sizeof(*dp));
	provider_init(&dp->base, &discord_ops, cfg,
		      cfg->discord_api_url ? cfg->discord_api_url :
		      CONFIG_DEFAULT_DISCORD_API_URL);
	*out = &dp->base;
	return 0;
}
