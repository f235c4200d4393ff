/*
 * config_check: the checks that need more than one variable, or the
 * catalog, or the names in the environment: each destination the
 * configuration names parsed for the provider, the provider's API URL
 * (plain http:// only to loopback), a token of the other platform's shape,
 * and variables that look like herald's but are not (a typo would drop a
 * setting without a word). Each problem says what to change; the same
 * checks run in every command, so `herald config` reports offline what
 * `herald check` or the first event would hit.
 */
#include "core/config.h"
#include "core/config_internal.h"
#include "core/catalog.h"
#include "core/route.h"
#include "lib/text.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 64		/* longer names are not herald's */

/*
 * Variables herald's own scripts and tests set for their tools, not for
 * herald: not reported as unknown.
 */
static const char *const tool_vars[] = {
	"HERALD_SRC", "HERALD_FAKE", "HERALD_UPDATE_GOLDEN", NULL,
};

/* 1 when the destination s parses for provider; else why in err. */
static int is_destination(const char *s, enum provider_kind provider,
			  struct errbuf *err)
{
	struct destination d;

	if (destination_parse(&d, s, provider, err) < 0)
		return 0;
	destination_release(&d);
	return 1;
}

static void check_default_channel(const struct config *cfg,
				  struct errlist *problems)
{
	struct errbuf err;

	if (!cfg->default_channel ||
	    is_destination(cfg->default_channel, cfg->provider, &err))
		return;
	errlist_add(problems, "NOTIFICATIONS_DEFAULT_CHANNEL is not a "
		    "destination: %s; use #channel, a channel ID or @person",
		    err.msg);
}

/* 1 for localhost, 127.x.y.z and [::1], as the HTTP client decides. */
static int loopback_host(const char *host, size_t len)
{
	char buf[64];
	unsigned char addr[16];

	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (!strcasecmp(buf, "localhost") || !strcasecmp(buf, "localhost."))
		return 1;
	if (inet_pton(AF_INET, buf, addr) == 1)
		return addr[0] == 127;
	if (buf[0] == '[' && buf[len - 1] == ']') {
		buf[len - 1] = '\0';
		if (inet_pton(AF_INET6, buf + 1, addr) == 1)
			return !memcmp(addr, &in6addr_loopback, sizeof(addr));
	}
	return 0;
}

/* The provider's API URL: plain http:// only to this machine. */
static void check_api_url(const struct config *cfg, struct errlist *problems)
{
	const char *name, *url, *host, *end, *at;

	if (cfg->provider == PROVIDER_SLACK) {
		name = "HERALD_SLACK_API_URL";
		url = cfg->slack_api_url;
	} else if (cfg->provider == PROVIDER_DISCORD) {
		name = "HERALD_DISCORD_API_URL";
		url = cfg->discord_api_url;
	} else {
		return;
	}
	if (!url || cfg->allow_insecure_http || strncasecmp(url, "http://", 7))
		return;
	host = url + 7;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	while (at) {		/* user:password@host: the last "@" */
		host = at + 1;
		at = memchr(host, '@', (size_t)(end - host));
	}
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		end = close ? close + 1 : end;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));

		end = colon ? colon : end;
	}
	if (loopback_host(host, (size_t)(end - host)))
		return;
	config__problem_value(problems, name, STRVIEW(url), "is plain http:// "
			      "to a host other than this machine, which would "
			      "send the token unencrypted: use https://, or set "
			      "HERALD_ALLOW_INSECURE_HTTP=1 for a trusted proxy");
}

/* Discord's bot tokens: three base64url parts joined by dots. */
static int discord_shaped(const char *t)
{
	size_t parts = 1, part = 0;

	for (; *t; t++) {
		if (*t == '.') {
			if (!part)
				return 0;
			parts++;
			part = 0;
		} else if ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
			   (*t >= '0' && *t <= '9') || *t == '-' || *t == '_') {
			part++;
		} else {
			return 0;
		}
	}
	return parts == 3 && part;
}

/* A token of the other platform's shape (its value is never shown). */
static void check_token_shape(const struct config *cfg,
			      struct errlist *problems)
{
	const char *t = cfg->token;

	if (!t)
		return;
	if (cfg->provider == PROVIDER_DISCORD && !strncmp(t, "xox", 3))
		errlist_add(problems, "NOTIFICATIONS_TOKEN has the shape of a "
			    "Slack token (xox…) but NOTIFICATIONS_PROVIDER is "
			    "discord: use the Discord bot's token (Developer "
			    "Portal, Bot, Reset Token), or set "
			    "NOTIFICATIONS_PROVIDER=slack");
	else if (cfg->provider == PROVIDER_SLACK && strncmp(t, "xox", 3) &&
		 discord_shaped(t))
		errlist_add(problems, "NOTIFICATIONS_TOKEN has the shape of a "
			    "Discord bot token but NOTIFICATIONS_PROVIDER is "
			    "slack: use the Slack app's bot token (xoxb-…, "
			    "OAuth & Permissions), or set "
			    "NOTIFICATIONS_PROVIDER=discord");
}

void config__check_loaded(const struct config *cfg, struct errlist *problems)
{
	check_default_channel(cfg, problems);
	check_api_url(cfg, problems);
	check_token_shape(cfg, problems);
}

void config_check_catalog(const struct config *cfg, const struct catalog *cat,
			  struct errlist *problems, struct errlist *warnings)
{
	struct strbuf q = STRBUF_INIT;
	struct errbuf err, any;

	for (size_t i = 0; i < cat->nr; i++) {
		const struct catalog_service *svc = &cat->services[i];
		const char *path = cfg->catalog_path ? cfg->catalog_path :
				   "catalog";

		if (!svc->owner_im ||
		    is_destination(svc->owner_im, cfg->provider, &err))
			continue;
		strbuf_reset(&q);
		config__quote(&q, STRVIEW(svc->name));
		/*
		 * A destination of the other platform (an e-mail address on
		 * Discord) only fails this app's events, and a catalog may be
		 * shared by a Slack and a Discord herald: a warning.
		 */
		if (is_destination(svc->owner_im, PROVIDER_LOG, &any)) {
			errlist_add(warnings, "%s:%u: the ownerIm of service %s "
				    "is not a destination on %s: %s; events of "
				    "app %s are refused until it changes",
				    path, svc->line, q.buf,
				    provider_kind_name(cfg->provider), err.msg,
				    svc->name);
			continue;
		}
		/* The reason says what to write, or this does. */
		errlist_add(problems, "HERALD_CATALOG: %s:%u: the ownerIm of "
			    "service %s is not a destination: %s%s", path,
			    svc->line, q.buf, err.msg, strchr(err.msg, ';') ?
			    "" : "; write \"#channel\", a channel ID or "
			    "\"@person\"");
	}
	strbuf_release(&q);
}

/* The edit distance of a and b (at most NAME_MAX_LEN bytes each). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[NAME_MAX_LEN + 1];

	if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag +
				(a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * The known name closest to name (NAME, or NAME_FILE where the variable
 * takes a file), and its distance; 0 with *out set when name is known.
 */
static size_t closest_var(const char *name, const char **out,
			  char file_name[FILE_VAR_MAX])
{
	size_t best = (size_t)-1;

	*out = NULL;
	for (size_t i = 0; i < config_vars_nr; i++) {
		const struct config_var *var = &config_vars[i];
		char file_var[FILE_VAR_MAX];
		size_t d = distance(name, var->name);

		if (d < best) {
			best = d;
			*out = var->name;
		}
		if (!config_var_has_file(var))
			continue;
		config__file_var_name(var->name, file_var);
		d = distance(name, file_var);
		if (d < best) {
			best = d;
			memcpy(file_name, file_var, FILE_VAR_MAX);
			*out = file_name;
		}
	}
	return best;
}

/*
 * 1 for the variables of herald's tools, and for those Kubernetes sets in
 * every pod for a Service called herald: HERALD_SERVICE_HOST,
 * HERALD_SERVICE_PORT…, HERALD_PORT, HERALD_PORT_8080_TCP….
 */
static int not_ours(const char *name)
{
	for (size_t i = 0; tool_vars[i]; i++)
		if (!strcmp(name, tool_vars[i]))
			return 1;
	return !strncmp(name, "HERALD_SERVICE_", 15) ||
	       !strcmp(name, "HERALD_PORT") ||
	       (!strncmp(name, "HERALD_PORT_", 12) && name[12] >= '0' &&
		name[12] <= '9');
}

void config_check_environ(char *const *env, struct errlist *warnings)
{
	char name[NAME_MAX_LEN + 1], file_name[FILE_VAR_MAX];
	struct strbuf shown = STRBUF_INIT;

	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '='), *near;
		size_t len = eq ? (size_t)(eq - env[i]) : 0, d;
		int ours;

		if (!len || len > NAME_MAX_LEN)
			continue;
		memcpy(name, env[i], len);
		name[len] = '\0';
		ours = !strncmp(name, "HERALD_", 7) ||
		       !strncmp(name, "NOTIFICATIONS_", 14);
		if (ours && not_ours(name))
			continue;
		d = closest_var(name, &near, file_name);
		if (!d || (!ours && (d > 2 || len < 10)))
			continue;
		/* A name may hold any byte but "=": shown on one line. */
		strbuf_reset(&shown);
		text_add_fit(&shown, name, len, TEXT_PLAIN | TEXT_ONELINE,
			     NAME_MAX_LEN);
		if (d <= 3)
			errlist_add(warnings, "%s is set but is not a herald "
				    "variable, so it is ignored: did you mean "
				    "%s? Rename it, or unset it", shown.buf,
				    near);
		else
			errlist_add(warnings, "%s is set but is not a herald "
				    "variable, so it is ignored (the closest is "
				    "%s): unset it, or see docs/configuration.md "
				    "for the variables", shown.buf, near);
	}
	strbuf_release(&shown);
}
