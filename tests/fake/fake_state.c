/*
 * herald-fake: the platforms' directory and the server's mutable state.
 *
 * The directory (Slack channels and users, Discord guilds, channels and
 * members) starts from the built-in defaults documented in
 * docs/fake-platforms.md; a --state file replaces them key by key
 * ("slack.channels" replaces the default channel list, an absent key keeps
 * the default). Every entry is checked and normalised here, so the platform
 * handlers can rely on each field being present with the right type.
 */
#include "fake.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/strbuf.h"

#define FILLER_USERS 250

static const char default_directory[] =
"{\n"
" \"slack\": {\n"
"  \"token\": \"xoxb-test-token\",\n"
"  \"team\": \"Acme\",\n"
"  \"team_id\": \"T0000000001\",\n"
"  \"url\": \"https://acme.slack.com/\",\n"
"  \"bot_user_id\": \"UBOT00001\",\n"
"  \"bot_id\": \"B0000000001\",\n"
"  \"bot_name\": \"herald\",\n"
"  \"channels\": [\n"
"   {\"id\": \"C0000000001\", \"name\": \"deploys\"},\n"
"   {\"id\": \"C0000000002\", \"name\": \"staging-deploys\"},\n"
"   {\"id\": \"C0000000003\", \"name\": \"production-deploys\"},\n"
"   {\"id\": \"C0000000004\", \"name\": \"backend-deploys\"},\n"
"   {\"id\": \"C0000000005\", \"name\": \"archived\", \"is_archived\": true},\n"
"   {\"id\": \"C0000000006\", \"name\": \"secret-ops\", \"is_private\": true,"
" \"is_member\": false}\n"
"  ],\n"
"  \"users\": [\n"
"   {\"id\": \"UBOT00001\", \"name\": \"herald\", \"real_name\": \"herald\","
" \"is_bot\": true},\n"
"   {\"id\": \"U0000000001\", \"name\": \"jane\", \"real_name\": \"Jane Doe\","
" \"display_name\": \"jane\", \"email\": \"jane@example.com\"},\n"
"   {\"id\": \"U0000000002\", \"name\": \"john\", \"real_name\": \"John Roe\","
" \"display_name\": \"johnny\", \"email\": \"john@example.com\"},\n"
"   {\"id\": \"U0000000003\", \"name\": \"sam.smith\", \"real_name\": \"Sam Smith\","
" \"display_name\": \"sam\", \"email\": \"sam.smith@example.com\"},\n"
"   {\"id\": \"U0000000004\", \"name\": \"samuel.smith\", \"real_name\": \"Sam Smith\","
" \"display_name\": \"Sam S\", \"email\": \"samuel.smith@example.com\"},\n"
"   {\"id\": \"U0000000005\", \"name\": \"former\", \"real_name\": \"Former Employee\","
" \"email\": \"former@example.com\", \"deleted\": true}\n"
"  ]\n"
" },\n"
" \"discord\": {\n"
"  \"token\": \"discord-test-token\",\n"
"  \"bot\": {\"id\": \"1180000000000000001\", \"username\": \"herald\"},\n"
"  \"guilds\": [\n"
"   {\"id\": \"1180000000000000100\", \"name\": \"Acme\",\n"
"    \"channels\": [\n"
"     {\"id\": \"1180000000000000200\", \"name\": \"Deployments\", \"type\": 4},\n"
"     {\"id\": \"1180000000000000201\", \"name\": \"deploys\", \"type\": 0,"
" \"parent_id\": \"1180000000000000200\"},\n"
"     {\"id\": \"1180000000000000202\", \"name\": \"staging-deploys\", \"type\": 0,"
" \"parent_id\": \"1180000000000000200\"},\n"
"     {\"id\": \"1180000000000000203\", \"name\": \"production-deploys\", \"type\": 0,"
" \"parent_id\": \"1180000000000000200\"},\n"
"     {\"id\": \"1180000000000000204\", \"name\": \"backend-deploys\", \"type\": 0,"
" \"parent_id\": \"1180000000000000200\"},\n"
"     {\"id\": \"1180000000000000205\", \"name\": \"archived\", \"type\": 0,"
" \"access\": false},\n"
"     {\"id\": \"1180000000000000206\", \"name\": \"secret-ops\", \"type\": 0,"
" \"access\": false}\n"
"    ],\n"
"    \"members\": [\n"
"     {\"user\": {\"id\": \"1180000000000001001\", \"username\": \"jane\","
" \"global_name\": \"Jane Doe\"}},\n"
"     {\"user\": {\"id\": \"1180000000000001002\", \"username\": \"john\","
" \"global_name\": \"John Roe\"}, \"nick\": \"Johnny\"},\n"
"     {\"user\": {\"id\": \"1180000000000001003\", \"username\": \"private-pat\","
" \"global_name\": \"Pat\"}, \"dm\": false},\n"
"     {\"user\": {\"id\": \"1180000000000001004\", \"username\": \"janet\","
" \"global_name\": \"Janet Poe\"}}\n"
"    ]\n"
"   }\n"
"  ]\n"
" }\n"
"}\n";

/* The last default Slack user, after the fillers: found on the last page only. */
static const char last_slack_user[] =
	"{\"id\": \"U0000000006\", \"name\": \"zoe\", \"real_name\": \"Zoe Last\","
	" \"display_name\": \"zoe\", \"email\": \"zoe@example.com\"}";

int fake_error(struct errbuf *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void fake_response_set(struct fake_response *resp, unsigned status, json_t *body)
{
	json_decref(resp->body);
	resp->status = status;
	resp->body = body;
}

void fake_response_header(struct fake_response *resp, const char *name,
			  const char *fmt, ...)
{
	struct fake_header *h;
	va_list ap;

	if (resp->headers_nr >= FAKE_RESPONSE_HEADERS_MAX)
		return;
	h = &resp->headers[resp->headers_nr++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
}

void fake_response_release(struct fake_response *resp)
{
	json_decref(resp->body);
	resp->body = NULL;
}

double fake_time_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double fake_time_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

size_t fake_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int fake_strieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int fake_istarts_with(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (!*s || tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
			return 0;
	return 1;
}

const char *fake_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/*
 * Checking a directory: each helper normalises one member of obj in place
 * and says what is wrong with it, naming where ("slack.channels[2]").
 */
static int check_str(json_t *obj, const char *key, const char *def,
		     const char *where, struct errbuf *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (!def)
			return fake_error(err, HERALD_EINVAL,
					  "%s: \"%s\" is missing: add it as a string",
					  where, key);
		json_object_set_new(obj, key, json_string(def));
		return 0;
	}
	if (!json_is_string(v) || (!def && !*json_string_value(v)))
		return fake_error(err, HERALD_EINVAL,
				  "%s: \"%s\" must be a non-empty string", where, key);
	return 0;
}

static int check_bool(json_t *obj, const char *key, int def, const char *where,
		      struct errbuf *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		json_object_set_new(obj, key, json_boolean(def));
		return 0;
	}
	if (!json_is_boolean(v))
		return fake_error(err, HERALD_EINVAL,
				  "%s: \"%s\" must be true or false", where, key);
	return 0;
}

static int check_snowflake(json_t *obj, const char *key, const char *where,
			   struct errbuf *err)
{
	const char *s = fake_json_str(obj, key);
	size_t i, len;

	if (!s)
		return fake_error(err, HERALD_EINVAL,
				  "%s: \"%s\" must be a snowflake: a string of digits",
				  where, key);
	len = strlen(s);
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			break;
	if (!len || len > 20 || i < len)
		return fake_error(err, HERALD_EINVAL,
				  "%s: \"%s\" is \"%s\": a snowflake is 1 to 20 digits",
				  where, key, s);
	return 0;
}

static int check_array(json_t *obj, const char *key, const char *where,
		       struct errbuf *err)
{
	json_t *v = json_object_get(obj, key);
	json_t *item;
	size_t i;

	if (!json_is_array(v))
		return fake_error(err, HERALD_EINVAL,
				  "%s: \"%s\" must be an array of objects", where, key);
	json_array_foreach(v, i, item)
		if (!json_is_object(item))
			return fake_error(err, HERALD_EINVAL,
					  "%s.%s[%zu] must be an object", where, key, i);
	return 0;
}

/* Fails when two items of array share the string member key. */
static int check_unique(json_t *array, const char *key, const char *where,
			struct errbuf *err)
{
	json_t *seen = json_object();
	json_t *item;
	size_t i;
	int ret = 0;

	json_array_foreach(array, i, item) {
		const char *v = fake_json_str(item, key);

		if (!v)
			continue;
		if (json_object_get(seen, v)) {
			ret = fake_error(err, HERALD_EINVAL,
					 "%s[%zu]: %s \"%s\" is used twice: make it unique",
					 where, i, key, v);
			goto out;
		}
		json_object_set_new(seen, v, json_true());
	}
out:
	json_decref(seen);
	return ret;
}

static int check_slack(json_t *slack, struct errbuf *err)
{
	static const char *const strings[] = {
		"token", "team", "team_id", "url", "bot_user_id", "bot_id", "bot_name",
	};
	json_t *channels, *users, *item;
	char where[64];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if ((ret = check_str(slack, strings[i], NULL, "slack", err)))
			return ret;
	if ((ret = check_array(slack, "channels", "slack", err)) ||
	    (ret = check_array(slack, "users", "slack", err)))
		return ret;
	channels = json_object_get(slack, "channels");
	json_array_foreach(channels, i, item) {
		snprintf(where, sizeof(where), "slack.channels[%zu]", i);
		if ((ret = check_str(item, "id", NULL, where, err)) ||
		    (ret = check_str(item, "name", NULL, where, err)) ||
		    (ret = check_bool(item, "is_archived", 0, where, err)) ||
		    (ret = check_bool(item, "is_private", 0, where, err)) ||
		    (ret = check_bool(item, "is_member", 1, where, err)))
			return ret;
		if (!strchr("CG", fake_json_str(item, "id")[0]))
			return fake_error(err, HERALD_EINVAL,
					  "%s: id \"%s\" must start with C (or G)",
					  where, fake_json_str(item, "id"));
	}
	users = json_object_get(slack, "users");
	json_array_foreach(users, i, item) {
		snprintf(where, sizeof(where), "slack.users[%zu]", i);
		if ((ret = check_str(item, "id", NULL, where, err)) ||
		    (ret = check_str(item, "name", NULL, where, err)) ||
		    (ret = check_str(item, "real_name", "", where, err)) ||
		    (ret = check_str(item, "display_name", "", where, err)) ||
		    (ret = check_str(item, "email", "", where, err)) ||
		    (ret = check_bool(item, "deleted", 0, where, err)) ||
		    (ret = check_bool(item, "is_bot", 0, where, err)))
			return ret;
		if (!strchr("UW", fake_json_str(item, "id")[0]))
			return fake_error(err, HERALD_EINVAL,
					  "%s: id \"%s\" must start with U (or W)",
					  where, fake_json_str(item, "id"));
	}
	if ((ret = check_unique(channels, "id", "slack.channels", err)) ||
	    (ret = check_unique(channels, "name", "slack.channels", err)) ||
	    (ret = check_unique(users, "id", "slack.users", err)))
		return ret;
	return 0;
}

static int check_discord_guild(json_t *guild, size_t gi, json_t *ids,
			       struct errbuf *err)
{
	json_t *item, *user;
	char where[80];
	size_t i;
	int ret;

	snprintf(where, sizeof(where), "discord.guilds[%zu]", gi);
	if ((ret = check_snowflake(guild, "id", where, err)) ||
	    (ret = check_str(guild, "name", NULL, where, err)))
		return ret;
	if (!json_object_get(guild, "channels"))
		json_object_set_new(guild, "channels", json_array());
	if (!json_object_get(guild, "members"))
		json_object_set_new(guild, "members", json_array());
	if ((ret = check_array(guild, "channels", where, err)) ||
	    (ret = check_array(guild, "members", where, err)))
		return ret;
	json_array_foreach(json_object_get(guild, "channels"), i, item) {
		json_t *type;

		snprintf(where, sizeof(where), "discord.guilds[%zu].channels[%zu]", gi, i);
		if ((ret = check_snowflake(item, "id", where, err)) ||
		    (ret = check_str(item, "name", NULL, where, err)) ||
		    (ret = check_bool(item, "access", 1, where, err)))
			return ret;
		type = json_object_get(item, "type");
		if (!type)
			json_object_set_new(item, "type", json_integer(0));
		else if (!json_is_integer(type) || json_integer_value(type) < 0 ||
			 json_integer_value(type) > 16)
			return fake_error(err, HERALD_EINVAL,
					  "%s: \"type\" must be a channel type: 0 text, 2 voice, 4 category, 5 announcement",
					  where);
		if (json_object_get(item, "parent_id") &&
		    (ret = check_snowflake(item, "parent_id", where, err)))
			return ret;
		if (json_object_get(ids, fake_json_str(item, "id")))
			return fake_error(err, HERALD_EINVAL,
					  "%s: id \"%s\" is used twice: make it unique",
					  where, fake_json_str(item, "id"));
		json_object_set_new(ids, fake_json_str(item, "id"), json_true());
		json_object_set_new(item, "guild_id",
				    json_string(fake_json_str(guild, "id")));
	}
	json_array_foreach(json_object_get(guild, "members"), i, item) {
		snprintf(where, sizeof(where), "discord.guilds[%zu].members[%zu]", gi, i);
		user = json_object_get(item, "user");
		if (!json_is_object(user))
			return fake_error(err, HERALD_EINVAL,
					  "%s: \"user\" must be an object with id and username",
					  where);
		if ((ret = check_bool(item, "dm", 1, where, err)))
			return ret;
		if (json_object_get(item, "nick") &&
		    (ret = check_str(item, "nick", NULL, where, err)))
			return ret;
		snprintf(where, sizeof(where), "discord.guilds[%zu].members[%zu].user", gi, i);
		if ((ret = check_snowflake(user, "id", where, err)) ||
		    (ret = check_str(user, "username", NULL, where, err)))
			return ret;
		if (json_object_get(user, "global_name") &&
		    (ret = check_str(user, "global_name", NULL, where, err)))
			return ret;
	}
	return check_unique(json_object_get(guild, "channels"), "name", where, err);
}

static int check_discord(json_t *discord, struct errbuf *err)
{
	json_t *guilds, *guild, *bot;
	json_t *ids = json_object();
	size_t i;
	int ret;

	if ((ret = check_str(discord, "token", NULL, "discord", err)))
		goto out;
	bot = json_object_get(discord, "bot");
	if (!json_is_object(bot)) {
		ret = fake_error(err, HERALD_EINVAL,
				 "discord: \"bot\" must be an object with id and username");
		goto out;
	}
	if ((ret = check_snowflake(bot, "id", "discord.bot", err)) ||
	    (ret = check_str(bot, "username", NULL, "discord.bot", err)) ||
	    (ret = check_array(discord, "guilds", "discord", err)))
		goto out;
	guilds = json_object_get(discord, "guilds");
	json_array_foreach(guilds, i, guild)
		if ((ret = check_discord_guild(guild, i, ids, err)))
			goto out;
	ret = check_unique(guilds, "id", "discord.guilds", err);
out:
	json_decref(ids);
	return ret;
}

static json_t *default_directory_json(void)
{
	json_error_t jerr;
	json_t *dir = json_loads(default_directory, 0, &jerr);
	json_t *users;
	char buf[160];
	int i;

	if (!dir) {
		fprintf(stderr, "herald-fake: built-in state: line %d: %s\n",
			jerr.line, jerr.text);
		abort();
	}
	users = json_object_get(json_object_get(dir, "slack"), "users");
	for (i = 1; i <= FILLER_USERS; i++) {
		json_t *u = json_object();

		snprintf(buf, sizeof(buf), "U%010d", 1000 + i);
		json_object_set_new(u, "id", json_string(buf));
		snprintf(buf, sizeof(buf), "user%03d", i);
		json_object_set_new(u, "name", json_string(buf));
		json_object_set_new(u, "display_name", json_string(buf));
		snprintf(buf, sizeof(buf), "Test User %03d", i);
		json_object_set_new(u, "real_name", json_string(buf));
		snprintf(buf, sizeof(buf), "user%03d@example.com", i);
		json_object_set_new(u, "email", json_string(buf));
		json_array_append_new(users, u);
	}
	json_array_append_new(users, json_loads(last_slack_user, 0, NULL));
	return dir;
}

/* Replaces the members of the platform objects in dir by those in file. */
static int merge_state(json_t *dir, json_t *file, const char *path,
		       struct errbuf *err)
{
	const char *platform, *key;
	json_t *given, *value;

	if (!json_is_object(file))
		return fake_error(err, HERALD_EINVAL,
				  "%s: must hold a JSON object with \"slack\" and/or \"discord\"",
				  path);
	json_object_foreach(file, platform, given) {
		json_t *target = json_object_get(dir, platform);

		if (!target)
			return fake_error(err, HERALD_EINVAL,
					  "%s: unknown key \"%s\": expected \"slack\" or \"discord\"",
					  path, platform);
		if (!json_is_object(given))
			return fake_error(err, HERALD_EINVAL,
					  "%s: \"%s\" must be an object", path, platform);
		json_object_foreach(given, key, value) {
			if (!json_object_get(target, key))
				return fake_error(err, HERALD_EINVAL,
						  "%s: unknown key \"%s.%s\" (see docs/fake-platforms.md)",
						  path, platform, key);
			json_object_set(target, key, value);
		}
	}
	return 0;
}

int fake_state_init(struct fake_state *st, const char *state_file,
		    const struct fake_limits *limits, struct errbuf *err)
{
	pthread_condattr_t attr;
	json_t *dir = default_directory_json();
	json_t *file = NULL;
	json_error_t jerr;
	int ret;

	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &attr);
	pthread_condattr_destroy(&attr);
	st->limits = *limits;
	st->slack_messages = json_array();
	st->slack_dms = json_object();
	st->slack_buckets = json_object();
	st->discord_messages = json_array();
	st->discord_dms = json_object();
	st->discord_buckets = json_object();
	st->requests = json_array();
	st->faults = json_array();

	if (state_file) {
		file = json_load_file(state_file, JSON_REJECT_DUPLICATES, &jerr);
		if (!file && jerr.line < 1) {
			ret = fake_error(err, HERALD_EIO, "--state: %s", jerr.text);
			goto out;
		}
		if (!file) {
			ret = fake_error(err, HERALD_EINVAL, "%s:%d: %s", state_file,
					 jerr.line, jerr.text);
			goto out;
		}
		if ((ret = merge_state(dir, file, state_file, err)))
			goto out;
	}
	if ((ret = check_slack(json_object_get(dir, "slack"), err)) ||
	    (ret = check_discord(json_object_get(dir, "discord"), err))) {
		if (state_file) {
			struct errbuf detail = *err;

			fake_error(err, ret, "%s: %s", state_file, detail.msg);
		}
		goto out;
	}
	st->slack = json_incref(json_object_get(dir, "slack"));
	st->discord = json_incref(json_object_get(dir, "discord"));
out:
	json_decref(file);
	json_decref(dir);
	return ret;
}

void fake_state_release(struct fake_state *st)
{
	json_decref(st->slack);
	json_decref(st->discord);
	json_decref(st->slack_messages);
	json_decref(st->slack_dms);
	json_decref(st->slack_buckets);
	json_decref(st->discord_messages);
	json_decref(st->discord_dms);
	json_decref(st->discord_buckets);
	json_decref(st->requests);
	json_decref(st->faults);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	memset(st, 0, sizeof(*st));
}

void fake_state_clear(struct fake_state *st)
{
	json_array_clear(st->slack_messages);
	json_object_clear(st->slack_buckets);
	json_array_clear(st->discord_messages);
	json_object_clear(st->discord_buckets);
	json_array_clear(st->requests);
	json_array_clear(st->faults);
}

json_t *fake_state_directory(const struct fake_state *st)
{
	return json_pack("{s:O, s:O}", "slack", st->slack, "discord", st->discord);
}
