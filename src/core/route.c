/*
 * route: picks the destination of an event (its own channel, the catalog's
 * owner IM, the environment mapping, the default channel, in that order)
 * and parses destination syntax, which differs between Slack and Discord.
 */
#include "core/route.h"
#include "lib/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Longest channel or user name accepted, in characters. */
#define SLACK_NAME_MAX 80
#define DISCORD_NAME_MAX 100
#define USER_NAME_MAX 80
#define EMAIL_MAX 254
/* Longest destination looked at, in bytes (names are 4 bytes a char at most). */
#define DEST_MAX_BYTES 512

int destination_is_dm(const struct destination *d)
{
	return d->kind == DEST_USER_ID || d->kind == DEST_USER_EMAIL ||
		d->kind == DEST_USER_NAME;
}

const char *destination_kind_word(const struct destination *d)
{
	return destination_is_dm(d) ? "dm" : "channel";
}

static int is_upper_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A Slack ID: one of the prefix letters, then 8 or more of A-Z 0-9. */
static int is_slack_id(struct strview v, const char *prefixes)
{
	if (v.len < 9 || v.len > 32 || !v.ptr[0] || !strchr(prefixes, v.ptr[0]))
		return 0;
	for (size_t i = 1; i < v.len; i++)
		if (!is_upper_alnum(v.ptr[i]))
			return 0;
	return 1;
}

/* A Discord snowflake: 17 to 20 digits. */
static int is_snowflake(struct strview v)
{
	if (v.len < 17 || v.len > 20)
		return 0;
	for (size_t i = 0; i < v.len; i++)
		if (!is_digit(v.ptr[i]))
			return 0;
	return 1;
}

/*
 * Checks UTF-8 (well enough to count characters) and looks for white space
 * and control characters. Returns the number of characters, or -1 with why
 * set.
 */
static long count_chars(struct strview v, const char **why)
{
	const unsigned char *s = (const unsigned char *)v.ptr;
	long n = 0;

	for (size_t i = 0; i < v.len; n++) {
		unsigned c = s[i];
		size_t extra = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;

		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			*why = "cannot contain white space";
			return -1;
		}
		if (c < 0x20 || c == 0x7F) {
			*why = "cannot contain control characters";
			return -1;
		}
		if (c >= 0x80) {
			if (c < 0xC2 || c > 0xF4 || v.len - i <= extra) {
				*why = "is not valid UTF-8";
				return -1;
			}
			for (size_t k = 1; k <= extra; k++) {
				if ((s[i + k] & 0xC0) != 0x80) {
					*why = "is not valid UTF-8";
					return -1;
				}
			}
		}
		/* U+0080..U+009F are controls; U+0085 and U+00A0 are spaces. */
		if (c == 0xC2 && (s[i + 1] <= 0x9F || s[i + 1] == 0xA0)) {
			*why = s[i + 1] == 0xA0 || s[i + 1] == 0x85 ?
				"cannot contain white space" :
				"cannot contain control characters";
			return -1;
		}
		i += extra + 1;
	}
	return n;
}

static int bad_dest(struct errbuf *err, struct strview raw, const char *what,
		    const char *why)
{
	struct strbuf q = STRBUF_INIT;
	size_t len = raw.len > 80 ? 80 : raw.len;
	int ret;

	while (len < raw.len && len > 0 && ((unsigned char)raw.ptr[len] & 0xC0) == 0x80)
		len--;
	strbuf_addch(&q, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw.ptr[i];
		size_t extra = c < 0xC2 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
		size_t k = 1;

		if (c >= 0xC2 && c <= 0xF4)
			while (k <= extra && i + k < len &&
			       ((unsigned char)raw.ptr[i + k] & 0xC0) == 0x80)
				k++;
		if (c == '"' || c == '\\') {
			strbuf_addf(&q, "\\%c", c);
		} else if (c < 0x20 || c == 0x7F) {
			strbuf_addf(&q, "\\u%04x", c);
		} else if (c < 0x80) {
			strbuf_addch(&q, (char)c);
		} else if (c < 0xC2 || c > 0xF4 || k <= extra) {
			strbuf_addf(&q, "\\x%02x", c);	/* not UTF-8 */
		} else {
			strbuf_add(&q, raw.ptr + i, extra + 1);
			i += extra;
		}
	}
	if (len < raw.len)
		strbuf_addstr(&q, "…");
	strbuf_addch(&q, '"');
	ret = errbuf_set(err, HERALD_EINVAL, "%s: %s%s%s", q.buf, what,
			 what[0] ? " " : "", why);
	strbuf_release(&q);
	return ret;
}

/* name@domain.tld, nothing fancier: the platform has the last word. */
static int is_email(struct strview v)
{
	const char *at = memchr(v.ptr, '@', v.len);
	const char *dot;
	size_t local, domain;

	if (!at)
		return 0;
	local = (size_t)(at - v.ptr);
	domain = v.len - local - 1;
	if (!local || domain < 3 || memchr(at + 1, '@', domain))
		return 0;
	dot = memchr(at + 1, '.', domain);
	return dot && dot != at + 1 && at[domain] != '.';
}

static int parse_user(struct destination *d, struct strview raw,
		      struct strview v, enum provider_kind provider,
		      struct errbuf *err)
{
	const char *why = NULL;
	long chars;

	if (!v.len)
		return bad_dest(err, raw, "", "no user after \"@\"; expected @name, "
				"@<user id> or @email");
	chars = count_chars(v, &why);
	if (chars < 0)
		return bad_dest(err, raw, "a user name", why);
	if (memchr(v.ptr, '<', v.len) || memchr(v.ptr, '>', v.len))
		return bad_dest(err, raw, "a user name", "cannot contain \"<\" or "
				"\">\"; write the name or ID without mention "
				"brackets");
	if (memchr(v.ptr, '@', v.len)) {
		if (provider == PROVIDER_DISCORD)
			return bad_dest(err, raw, "", "Discord cannot message by email; "
					"use @username or @<user id>");
		if (v.len > EMAIL_MAX || !is_email(v))
			return bad_dest(err, raw, "", "not a valid email address; "
					"expected @name@example.com");
		d->kind = DEST_USER_EMAIL;
		return 0;
	}
	if (provider != PROVIDER_DISCORD && is_slack_id(v, "UW")) {
		d->kind = DEST_USER_ID;
		return 0;
	}
	if (provider != PROVIDER_SLACK && is_snowflake(v)) {
		d->kind = DEST_USER_ID;
		return 0;
	}
	if (chars > USER_NAME_MAX)
		return bad_dest(err, raw, "a user name", "is longer than 80 characters");
	if (memchr(v.ptr, '#', v.len))
		return bad_dest(err, raw, "a user name", "cannot contain \"#\"");
	d->kind = DEST_USER_NAME;
	return 0;
}

static int slack_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || is_digit((char)c) || c == '-' ||
		c == '_' || c >= 0x80;
}

static int parse_channel(struct destination *d, struct strview raw,
			 struct strview v, enum provider_kind provider,
			 struct errbuf *err)
{
	const char *why = NULL;
	long chars;

	if (!v.len)
		return bad_dest(err, raw, "", "no channel name after \"#\"");
	chars = count_chars(v, &why);
	if (chars < 0)
		return bad_dest(err, raw, "a channel name", why);
	if (provider != PROVIDER_DISCORD && is_slack_id(v, "CGD")) {
		d->kind = DEST_CHANNEL_ID;
		return 0;
	}
	if (provider != PROVIDER_SLACK && is_snowflake(v)) {
		d->kind = DEST_CHANNEL_ID;
		return 0;
	}
	if (provider == PROVIDER_SLACK) {
		if (chars > SLACK_NAME_MAX)
			return bad_dest(err, raw, "a Slack channel name",
					"is longer than 80 characters");
		for (size_t i = 0; i < v.len; i++) {
			unsigned char c = (unsigned char)v.ptr[i];

			if (c >= 'A' && c <= 'Z')
				return bad_dest(err, raw, "a Slack channel name",
						"is lower case; write it in lower case, "
						"or give the channel ID (C…)");
			if (!slack_name_char(c))
				return bad_dest(err, raw, "a Slack channel name",
						"can only hold lower-case letters, digits, "
						"\"-\" and \"_\"");
		}
	} else {
		if (chars > DISCORD_NAME_MAX)
			return bad_dest(err, raw, "a channel name",
					"is longer than 100 characters");
		if (memchr(v.ptr, '#', v.len) || memchr(v.ptr, '@', v.len) ||
		    memchr(v.ptr, '<', v.len) || memchr(v.ptr, '>', v.len))
			return bad_dest(err, raw, "a channel name",
					"cannot contain \"#\", \"@\", \"<\" or \">\"");
	}
	d->kind = DEST_CHANNEL_NAME;
	return 0;
}

int destination_parse(struct destination *d, const char *s,
		      enum provider_kind provider, struct errbuf *err)
{
	struct strview raw, v;
	int ret;

	d->kind = DEST_CHANNEL_NAME;
	d->raw = NULL;
	d->target = NULL;
	if (!s)
		return errbuf_set(err, HERALD_EINVAL, "no destination given; expected "
				  "#channel, a channel ID or @person");
	raw = strview_trim(STRVIEW(s));
	if (!raw.len)
		return errbuf_set(err, HERALD_EINVAL, "empty destination; expected "
				  "#channel, a channel ID or @person");
	if (raw.len > DEST_MAX_BYTES)
		return bad_dest(err, raw, "", "too long for a destination");
	v = raw;
	if (v.ptr[0] == '@') {
		v.ptr++;
		v.len--;
		ret = parse_user(d, raw, v, provider, err);
	} else {
		if (v.ptr[0] == '#') {
			v.ptr++;
			v.len--;
		}
		ret = parse_channel(d, raw, v, provider, err);
	}
	if (ret)
		return ret;
	d->raw = xstrndup(raw.ptr, raw.len);
	d->target = xstrndup(v.ptr, v.len);
	return 0;
}

void destination_release(struct destination *d)
{
	if (!d)
		return;
	free(d->raw);
	free(d->target);
	d->raw = NULL;
	d->target = NULL;
}

/*
 * Parses a level's destination into r with reason; on error err says where
 * the destination came from (where).
 */
static int take(struct route *r, enum route_source source, const char *dest,
		enum provider_kind provider, struct strbuf *reason,
		const char *where, struct errbuf *err)
{
	struct errbuf why;

	if (destination_parse(&r->dest, dest, provider, &why))
		return errbuf_set(err, HERALD_EINVAL, "%s: %s", where, why.msg);
	r->source = source;
	r->reason = strbuf_detach(reason, NULL);
	return 0;
}

int route_event(struct route *r, const struct event *ev,
		const struct config *cfg, const struct catalog *cat,
		struct errbuf *err)
{
	struct strbuf reason = STRBUF_INIT;
	struct strbuf tried = STRBUF_INIT;
	struct strbuf where = STRBUF_INIT;
	enum provider_kind provider = cfg ? cfg->provider : PROVIDER_LOG;
	const struct catalog_service *svc = NULL;
	const char *mapped = NULL;
	int ret = 0;

	*r = (struct route)ROUTE_INIT;

	if (ev->channel) {
		strbuf_addstr(&reason, "the event's channel field");
		ret = take(r, ROUTE_EVENT_CHANNEL, ev->channel, provider, &reason,
			   "the event's channel field", err);
		goto out;
	}
	strbuf_addstr(&tried, "no channel in the event");

	if (ev->owner_im) {
		strbuf_addstr(&reason, "owner IM given by the event");
		ret = take(r, ROUTE_OWNER_IM, ev->owner_im, provider, &reason,
			   "the event's owner_im field", err);
		goto out;
	}

	if (ev->app && cat)
		svc = catalog_lookup(cat, ev->app);
	if (svc && svc->owner_im) {
		strbuf_addf(&where, "ownerIm of app %s in the catalog", ev->app);
		if (svc->line)
			strbuf_addf(&where, " (line %u)", svc->line);
		strbuf_addf(&reason, "owner IM of app %s, from the catalog", ev->app);
		ret = take(r, ROUTE_OWNER_IM, svc->owner_im, provider, &reason,
			   where.buf, err);
		goto out;
	}
	if (!ev->app)
		strbuf_addstr(&tried, ", the event has no app");
	else if (!cat)
		strbuf_addstr(&tried, ", no catalog is loaded (HERALD_CATALOG)");
	else if (!svc)
		strbuf_addf(&tried, ", app %s is not in the catalog", ev->app);
	else
		strbuf_addf(&tried, ", app %s has no owner IM in the catalog", ev->app);

	if (ev->env && cfg)
		mapped = config_channel_for_env(cfg, ev->env);
	if (mapped) {
		strbuf_addf(&reason, "channel mapping for environment %s "
			    "(NOTIFICATIONS_CHANNEL_MAPPING)", ev->env);
		strbuf_addf(&where, "NOTIFICATIONS_CHANNEL_MAPPING for environment %s",
			    ev->env);
		ret = take(r, ROUTE_ENV_MAPPING, mapped, provider, &reason,
			   where.buf, err);
		goto out;
	}
	if (ev->env)
		strbuf_addf(&tried, ", no mapping for environment %s", ev->env);
	else
		strbuf_addstr(&tried, ", the event has no env");

	if (cfg && cfg->default_channel) {
		strbuf_addstr(&reason, "default channel (NOTIFICATIONS_DEFAULT_CHANNEL)");
		ret = take(r, ROUTE_DEFAULT, cfg->default_channel, provider, &reason,
			   "NOTIFICATIONS_DEFAULT_CHANNEL", err);
		goto out;
	}
	strbuf_addstr(&tried, ", and NOTIFICATIONS_DEFAULT_CHANNEL is unset");
	r->source = ROUTE_UNROUTED;
	strbuf_reset(&reason);
	strbuf_addf(&reason, "unrouted: %s", tried.buf);
	r->reason = strbuf_detach(&reason, NULL);
out:
	if (ret)
		route_release(r);
	strbuf_release(&reason);
	strbuf_release(&tried);
	strbuf_release(&where);
	return ret;
}

void route_release(struct route *r)
{
	if (!r)
		return;
	destination_release(&r->dest);
	free(r->reason);
	*r = (struct route)ROUTE_INIT;
}
