/*
 * config: reads herald's configuration from the environment (through a
 * struct config_source) and checks every value, collecting one line per
 * problem. Every variable is one row of config_vars[] below; its type says
 * how it is parsed, stored, released and shown. Secrets (the two tokens)
 * are never echoed back; other values are quoted with control characters
 * escaped so a problem stays on one line. config_source_process at the
 * bottom is the only code here that does I/O. The channel mapping is in
 * config_mapping.c, the checks across variables in config_check.c.
 */
#include "core/config.h"
#include "core/config_internal.h"
#include "core/summary.h"
#include "lib/redact.h"
#include "lib/text.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#define TOKEN_FILE_MAX (64u * 1024)
#define QUOTE_MAX 120		/* bytes of a value shown in a problem */
#define MAX_AGE_LIMIT (30L * 24 * 3600)
#define RETENTION_MIN 60L
#define RETENTION_MAX (3650L * 24 * 3600)

const char *provider_kind_name(enum provider_kind kind)
{
	switch (kind) {
	case PROVIDER_SLACK:
		return "slack";
	case PROVIDER_DISCORD:
		return "discord";
	case PROVIDER_LOG:
		break;
	}
	return "log";
}

int provider_kind_parse(const char *name, enum provider_kind *out)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "slack"))
		*out = PROVIDER_SLACK;
	else if (!strcasecmp(name, "discord"))
		*out = PROVIDER_DISCORD;
	else
		return -1;
	return 0;
}

static config_check_fn check_commit_url, check_guild, check_api_url,
	check_herald_url,
		       check_listen, check_database, check_labels,
		       check_summary, check_summary_envs;

static const char *const log_formats[] = { "logfmt", "json", NULL };
static const char *const log_levels[] = {
	"debug", "info", "warn", "error", NULL
};

#define AT(field) offsetof(struct config, field)

/*
 * In the order they are loaded, which is the order of their problems and
 * of docs/configuration.md. The bot token comes after the provider, which
 * says whether it is needed. `herald config` lists them by line, which
 * differs in places (the guild after the API URLs).
 */
const struct config_var config_vars[] = {
	{ "NOTIFICATIONS_PROVIDER", CONFIG_PROVIDER, AT(provider),
	  .help = "the chat platform: slack or discord; unset, notifications "
		  "are printed instead",
	  .line = 1, .label = "provider", .show_none = "log "
	  "(NOTIFICATIONS_PROVIDER unset: printed, not delivered)",
	  .json = "provider" },
	{ "NOTIFICATIONS_TOKEN", CONFIG_SECRET, AT(token),
	  .flags = CONFIG_PROVIDER_NEEDS,
	  .help = "the bot token",
	  .line = 2, .label = "token", .json = "token" },
	{ "NOTIFICATIONS_DEFAULT_CHANNEL", CONFIG_STRING, AT(default_channel),
	  .help = "the destination of events nothing else routes somewhere",
	  .line = 3, .label = "default channel", .json = "default_channel" },
	{ "NOTIFICATIONS_CHANNEL_MAPPING", CONFIG_MAPPING, AT(mapping),
	  .help = "destinations per environment: env=channel, comma-separated",
	  .line = 4, .label = "channel mapping", .show_none = "(none)",
	  .json = "channel_mapping" },
	{ "HERALD_CATALOG", CONFIG_STRING, AT(catalog_path),
	  .help = "the path of the service catalog (YAML)",
	  .line = 5, .label = "catalog", .json = "catalog" },
	{ "HERALD_COMMIT_URL", CONFIG_STRING, AT(commit_url),
	  CONFIG_DEFAULT_COMMIT_URL, .check = check_commit_url,
	  .help = "the link to a commit, {repo} and {sha} filled in",
	  .line = 6, .label = "commit URL", .json = "commit_url" },
	{ "NOTIFICATIONS_DISCORD_GUILD", CONFIG_STRING, AT(discord_guild),
	  .check = check_guild, .flags = CONFIG_DISCORD_ONLY,
	  .help = "the Discord server in which #channel and @person names are "
		  "looked up",
	  .line = 9, .label = "Discord guild", .json = "discord_guild" },
	{ "HERALD_SLACK_API_URL", CONFIG_STRING, AT(slack_api_url),
	  CONFIG_DEFAULT_SLACK_API_URL, .check = check_api_url,
	  .flags = CONFIG_SLACK_ONLY,
	  .help = "the base URL of Slack's Web API",
	  .line = 7, .label = "Slack API", .json = "slack_api_url" },
	{ "HERALD_DISCORD_API_URL", CONFIG_STRING, AT(discord_api_url),
	  CONFIG_DEFAULT_DISCORD_API_URL, .check = check_api_url,
	  .flags = CONFIG_DISCORD_ONLY,
	  .help = "the base URL of Discord's API",
	  .line = 8, .label = "Discord API", .json = "discord_api_url" },
	{ "HERALD_ALLOW_INSECURE_HTTP", CONFIG_BOOL, AT(allow_insecure_http),
	  "0", .help = "allow plain-http API URLs to hosts other than "
	  "loopback (testing only)" },
	{ "HERALD_CONNECT_TIMEOUT", CONFIG_SECONDS, AT(connect_timeout_ms),
	  "5", 1, 300, .help = "seconds to connect to the platform",
	  .line = 10, .label = "timeouts", .show = "connect %ss" },
	{ "HERALD_REQUEST_TIMEOUT", CONFIG_SECONDS, AT(request_timeout_ms),
	  "15", 1, 600, .help = "seconds for a whole request to the platform",
	  .line = 10, .show = ", request %ss" },
	{ "HERALD_LISTEN", CONFIG_STRING, AT(listen), CONFIG_DEFAULT_LISTEN,
	  .check = check_listen,
	  .help = "the address of the HTTP API: host:port or [ipv6]:port",
	  .line = 11, .label = "listen", .json = "listen" },
	{ "HERALD_DATABASE", CONFIG_STRING, AT(database),
	  CONFIG_DEFAULT_DATABASE, .check = check_database,
	  .help = "the SQLite file of accepted events and deliveries",
	  .line = 12, .label = "database", .json = "database" },
	{ "HERALD_RETENTION", CONFIG_DURATION, AT(retention_s), "30d",
	  RETENTION_MIN, RETENTION_MAX, .flags = CONFIG_OFF_IS_ZERO,
	  .help = "how long finished notifications, their events and "
		  "attempts are kept; off or 0: keep everything",
	  .line = 12, .show = "; retention %ss",
	  .show_none = "; retention off (everything kept)",
	  .json = "retention_s" },
	{ "HERALD_API_TOKEN", CONFIG_SECRET, AT(api_token),
	  .help = "the bearer token the HTTP API requires",
	  .line = 13, .label = "API token", .json = "api_token" },
	{ "HERALD_INSECURE", CONFIG_BOOL, AT(insecure), "0",
	  .help = "allow an API without a token on a non-loopback address" },
	{ "HERALD_URL", CONFIG_STRING, AT(url), .check = check_herald_url,
	  .help = "the running daemon's API, for herald silence (unset: "
		  "http:// and HERALD_LISTEN)" },
	{ "HERALD_MAX_CONNECTIONS", CONFIG_LONG, AT(max_connections), "4096",
	  16, 1000000,
	  .help = "open connections the HTTP API keeps at most" },
	{ "HERALD_MAX_CONNECTIONS_PER_ADDRESS", CONFIG_LONG,
	  AT(max_connections_per_address), "256", 1, 1000000,
	  .help = "open connections from one client address at most" },
	{ "HERALD_SLACK_RATE", CONFIG_DOUBLE, AT(slack_rate), "1", 0, 100,
	  .flags = CONFIG_ABOVE_MIN,
	  .help = "Slack posts per second per channel",
	  .line = 14, .label = "Slack pacing", .show = "%s posts/s per channel",
	  .json = "slack_rate" },
	{ "HERALD_SLACK_BURST", CONFIG_DOUBLE, AT(slack_burst), "3", 1, 1000,
	  .help = "Slack posts a channel may get at once",
	  .line = 14, .show = ", burst %s", .json = "slack_burst" },
	{ "HERALD_SLACK_WORKSPACE_RATE", CONFIG_DOUBLE,
	  AT(slack_workspace_rate), "20", 0, 100000,
	  .flags = CONFIG_NONE_IF_ZERO,
	  .help = "Slack posts per second over all channels; 0: no cap",
	  .line = 14, .show = "; workspace %s requests/s",
	  .show_none = "; workspace no limit", .json = "slack_workspace_rate" },
	{ "HERALD_DISCORD_GLOBAL_RATE", CONFIG_DOUBLE, AT(discord_global_rate),
	  "50", 0, 100000, .flags = CONFIG_NONE_IF_ZERO,
	  .help = "Discord requests per second per bot; 0: no cap",
	  .line = 15, .label = "Discord pacing",
	  .show = "the platform's buckets; global %s requests/s",
	  .show_none = "the platform's buckets; global no limit",
	  .json = "discord_global_rate" },
	{ "HERALD_MAX_ATTEMPTS", CONFIG_LONG, AT(max_attempts), NULL, 1, 1000,
	  .flags = CONFIG_NONE_IF_ZERO,
	  .help = "attempts at a notification before herald gives up; unset: "
		  "no limit but HERALD_MAX_AGE",
	  .line = 17, .label = "retries", .show = "up to %s attempts",
	  .show_none = "any number of attempts", .json = "max_attempts" },
	{ "HERALD_MAX_AGE", CONFIG_DURATION, AT(max_age_s), "24h", 1,
	  MAX_AGE_LIMIT,
	  .help = "the age after which a notification is no longer retried",
	  .line = 17, .show = " within %ss", .json = "max_age_s" },
	/* Listed before the retries, but its JSON key has always followed. */
	{ "HERALD_SHUTDOWN_GRACE", CONFIG_SECONDS, AT(shutdown_grace_ms), "10",
	  0, 3600,
	  .help = "seconds deliveries in flight get to finish on SIGTERM",
	  .line = 16, .label = "shutdown grace", .show = "%ss",
	  .json = "shutdown_grace_s", .json_line = 17 },
	{ "HERALD_LOG_FORMAT", CONFIG_CHOICE, AT(log_format), "logfmt",
	  .choices = log_formats,
	  .help = "the daemon's log format: logfmt or json",
	  .line = 18, .label = "log" },
	{ "HERALD_LOG_LEVEL", CONFIG_CHOICE, AT(log_level), "info",
	  .choices = log_levels,
	  .help = "the least severe level logged: debug, info, warn or error",
	  .line = 18, .show = ", level %s" },
	{ "HERALD_STORY_WINDOW", CONFIG_DURATION, AT(story_window_s), "24h",
	  1, MAX_AGE_LIMIT,
	  .help = "how long after its last message a story is still edited; "
		  "later events start a new message",
	  .line = 19, .label = "story window", .show = "%ss",
	  .json = "story_window_s" },
	{ "HERALD_DIGEST_THRESHOLD", CONFIG_LONG, AT(digest_threshold), "10",
	  0, 100000, .flags = CONFIG_NONE_IF_ZERO,
	  .help = "new posts waiting for one destination above which herald "
		  "sends one digest message instead; 0: no digests",
	  .line = 19, .show = ", digests over %s waiting",
	  .show_none = ", no digests", .json = "digest_threshold" },
	{ "HERALD_DIGEST_AFTER", CONFIG_DURATION, AT(digest_after_s), "30s",
	  1, MAX_AGE_LIMIT,
	  .help = "how long pacing may hold a destination's waiting posts back "
		  "before herald sends them as one digest message",
	  .line = 19, .show = " or held %ss", .json = "digest_after_s" },
	{ "HERALD_FLUX_HMAC_KEY", CONFIG_SECRET, AT(flux_hmac_key),
	  .help = "the key of Flux's generic-hmac provider (X-Signature)",
	  .line = 20, .label = "Flux HMAC key", .json = "flux_hmac_key" },
	{ "HERALD_GITHUB_WEBHOOK_SECRET", CONFIG_SECRET, AT(github_secret),
	  .help = "the secret of the GitHub webhook (X-Hub-Signature-256)",
	  .line = 21, .label = "GitHub secret",
	  .json = "github_webhook_secret" },
	{ "HERALD_ALERT_APP_LABELS", CONFIG_STRING, AT(alert_app_labels),
	  CONFIG_DEFAULT_ALERT_APP_LABELS, .check = check_labels,
	  .help = "the Alertmanager labels that name the app, in order",
	  .line = 22, .label = "alert app labels", .json = "alert_app_labels" },
	{ "HERALD_SUMMARY", CONFIG_STRING, AT(summary), .check = check_summary,
	  .help = "when the weekly summary is posted, in TZ: e.g. \"mon "
		  "09:00\"; off: never",
	  .line = 23, .label = "weekly summary", .show_none = "off",
	  .json = "summary" },
	{ "HERALD_SUMMARY_ENVS", CONFIG_STRING, AT(summary_envs),
	  CONFIG_DEFAULT_SUMMARY_ENVS, .check = check_summary_envs,
	  .help = "the environment pairs the summary compares: ahead>behind, "
		  "comma-separated",
	  .line = 23, .show = ", comparing %s", .json = "summary_envs" },
	{ "FEATURE_WEEKLY_SUMMARY", CONFIG_BOOL, AT(feature_weekly_summary),
	  "0", .help = "Gimlet's switch: true means HERALD_SUMMARY=\"mon "
	  "09:00\" unless HERALD_SUMMARY is set" },
};

const size_t config_vars_nr = sizeof(config_vars) / sizeof(config_vars[0]);

const struct config_var *config_var_find(const char *name)
{
	for (size_t i = 0; i < config_vars_nr; i++)
		if (!strcmp(config_vars[i].name, name))
			return &config_vars[i];
	return NULL;
}

int config_var_has_file(const struct config_var *var)
{
	return var->type == CONFIG_SECRET || var->type == CONFIG_MAPPING;
}

static void *slot(struct config *cfg, const struct config_var *var)
{
	return (char *)cfg + var->offset;
}

static const void *cslot(const struct config *cfg, const struct config_var *var)
{
	return (const char *)cfg + var->offset;
}

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "1") || !strcasecmp(s, "true"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcasecmp(s, "false"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* A whole number of seconds, or one with an s, m, h or d suffix. */
static int parse_duration(const char *s, long min, long max, long *out)
{
	struct strbuf num = STRBUF_INIT;
	size_t len = strlen(s);
	long unit = 1, n;
	int ret = -1;

	if (len) {
		switch (s[len - 1]) {
		case 's': unit = 1; len--; break;
		case 'm': unit = 60; len--; break;
		case 'h': unit = 3600; len--; break;
		case 'd': unit = 86400; len--; break;
		default: break;
		}
	}
	strbuf_add(&num, s, len);
	if (!all_digits(num.buf) ||
	    parse_long(num.buf, 0, max / unit, &n) < 0 || n * unit < min)
		goto out;
	*out = n * unit;
	ret = 0;
out:
	strbuf_release(&num);
	return ret;
}

/*
 * Parses value (trimmed, not empty) as var's number type into the slot;
 * returns 0 or -1. Bounds come from the row.
 */
static int parse_number(const struct config_var *var, const char *value,
			void *to)
{
	long min = (long)var->min, max = (long)var->max, n;
	double d;

	switch (var->type) {
	case CONFIG_LONG:
	case CONFIG_SECONDS:
		if (!all_digits(value) || parse_long(value, min, max, &n) < 0)
			return -1;
		*(long *)to = var->type == CONFIG_SECONDS ? n * 1000 : n;
		return 0;
	case CONFIG_DURATION:
		if ((var->flags & CONFIG_OFF_IS_ZERO) &&
		    !strcasecmp(value, "off")) {
			*(long *)to = 0;
			return 0;
		}
		if (parse_duration(value, 0, max, &n) < 0 ||
		    (n < min && !(n == 0 && (var->flags & CONFIG_OFF_IS_ZERO))))
			return -1;
		*(long *)to = n;
		return 0;
	case CONFIG_DOUBLE:
		/* Hex, infinity and NaN, which strtod() takes, are refused. */
		if (strpbrk(value, "xXnNiI") ||
		    parse_double(value, var->min, var->max, &d) < 0 ||
		    ((var->flags & CONFIG_ABOVE_MIN) && d <= var->min))
			return -1;
		*(double *)to = d;
		return 0;
	case CONFIG_BOOL:
		return parse_bool(value, to);
	default:
		return -1;
	}
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->provider = PROVIDER_LOG;
	for (size_t i = 0; i < config_vars_nr; i++) {
		const struct config_var *var = &config_vars[i];

		if (!var->def)
			continue;
		switch (var->type) {
		case CONFIG_STRING:
		case CONFIG_CHOICE:
			*(char **)slot(cfg, var) = xstrdup(var->def);
			break;
		case CONFIG_BOOL:
		case CONFIG_LONG:
		case CONFIG_SECONDS:
		case CONFIG_DURATION:
		case CONFIG_DOUBLE:
			/* test_config checks that every default parses. */
			parse_number(var, var->def, slot(cfg, var));
			break;
		case CONFIG_SECRET:
		case CONFIG_PROVIDER:
		case CONFIG_MAPPING:
			break;
		}
	}
}

void config__mapping_clear(struct config *cfg)
{
	for (size_t i = 0; i < cfg->mapping_nr; i++) {
		free(cfg->mapping[i].env);
		free(cfg->mapping[i].channel);
	}
	free(cfg->mapping);
	cfg->mapping = NULL;
	cfg->mapping_nr = 0;
}

static void wipe_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

void config_release(struct config *cfg)
{
	for (size_t i = 0; i < config_vars_nr; i++) {
		const struct config_var *var = &config_vars[i];

		switch (var->type) {
		case CONFIG_STRING:
		case CONFIG_CHOICE:
			free(*(char **)slot(cfg, var));
			break;
		case CONFIG_SECRET:
			wipe_free(*(char **)slot(cfg, var));
			break;
		case CONFIG_MAPPING:
			config__mapping_clear(cfg);
			break;
		default:
			break;
		}
	}
	memset(cfg, 0, sizeof(*cfg));
}

void config__quote(struct strbuf *sb, struct strview v)
{
	text_add_quoted(sb, v.ptr, v.len, QUOTE_MAX);
}

void config__problem_value(struct errlist *list, const char *name,
			  struct strview value, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT, shown = STRBUF_INIT;
	va_list ap;

	redact(&shown, value.ptr, value.len, NULL);
	strbuf_addf(&sb, "%s ", name);
	config__quote(&sb, (struct strview){ shown.buf, shown.len });
	strbuf_addch(&sb, ' ');
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	errlist_add(list, "%s", sb.buf);
	strbuf_release(&sb);
	strbuf_release(&shown);
}

/*
 * The trimmed value of name, NULL when unset or empty (or white space
 * only). The result is owned by the caller.
 */
static char *get_trimmed(const struct config_source *src, const char *name)
{
	const char *raw = src->getenv(src->ctx, name);
	struct strview v;

	if (!raw)
		return NULL;
	v = strview_trim(STRVIEW(raw));
	return v.len ? xstrndup(v.ptr, v.len) : NULL;
}

static void replace(char **slot_ptr, char *value)
{
	free(*slot_ptr);
	*slot_ptr = value;
}

/* 1 when the len bytes at s hold an ASCII control character. */
static int has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

static int has_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\v' || s[i] == '\f')
			return 1;
	return 0;
}

void config__file_var_name(const char *name, char out[FILE_VAR_MAX])
{
	snprintf(out, FILE_VAR_MAX, "%s_FILE", name);
}

/* "Bot " or "Bearer " when a token starts with that header prefix. */
static const char *auth_prefix(const char *s, size_t len)
{
	if (len > 4 && !strncasecmp(s, "Bot ", 4))
		return "Bot ";
	if (len > 7 && !strncasecmp(s, "Bearer ", 7))
		return "Bearer ";
	return NULL;
}

/*
 * Reads a secret from name or name_FILE into *out. Returns 1 when one was
 * given, 0 when neither was, -1 after a problem. The secret itself never
 * reaches a problem message.
 */
static int load_secret(const struct config_source *src, const char *name,
		       char **out, struct errlist *problems)
{
	char file_var[FILE_VAR_MAX];
	const char *value, *path;
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;
	struct strbuf q = STRBUF_INIT;
	int ret = -1;

	strbuf_init(&text, TOKEN_FILE_MAX);
	config__file_var_name(name, file_var);
	value = src->getenv(src->ctx, name);
	path = src->getenv(src->ctx, file_var);
	if (value && !*value)
		value = NULL;
	if (path && !*path)
		path = NULL;

	if (value && path) {
		errlist_add(problems, "%s and %s are both set: set only one "
			    "(%s for a mounted secret file)", name, file_var,
			    file_var);
		goto out;
	}
	if (!value && !path) {
		ret = 0;
		goto out;
	}
	if (value) {
		if (auth_prefix(value, strlen(value))) {
			errlist_add(problems, "%s starts with \"%s\": set it to "
				    "the token alone, without the "
				    "Authorization header's prefix", name,
				    auth_prefix(value, strlen(value)));
			goto out;
		}
		if (has_space(value, strlen(value))) {
			errlist_add(problems, "%s contains white space: set it "
				    "to the token alone (value not shown: it "
				    "is secret)", name);
			goto out;
		}
		if (has_control(value, strlen(value))) {
			errlist_add(problems, "%s contains a control "
				    "character: set it to the token alone "
				    "(value not shown: it is secret)", name);
			goto out;
		}
		replace(out, xstrdup(value));
		ret = 1;
		goto out;
	}

	config__quote(&q, STRVIEW(path));
	errbuf_clear(&err);
	if (src->read_file(src->ctx, path, &text, &err) < 0) {
		errlist_add(problems, "%s: %s", file_var,
			    err.msg[0] ? err.msg : "cannot read the file");
		goto out;
	}
	if (text.len && text.buf[text.len - 1] == '\n') {
		strbuf_setlen(&text, text.len - 1);
		if (text.len && text.buf[text.len - 1] == '\r')
			strbuf_setlen(&text, text.len - 1);
	}
	if (!text.len) {
		errlist_add(problems, "%s: %s is empty: put the token in it",
			    file_var, q.buf);
		goto out;
	}
	if (auth_prefix(text.buf, text.len)) {
		errlist_add(problems, "%s: the token in %s starts with \"%s\": "
			    "the file must hold only the token", file_var, q.buf,
			    auth_prefix(text.buf, text.len));
		goto out;
	}
	if (has_space(text.buf, text.len)) {
		errlist_add(problems, "%s: the token in %s contains white "
			    "space: the file must hold only the token (one "
			    "trailing newline is fine)", file_var, q.buf);
		goto out;
	}
	if (has_control(text.buf, text.len)) {
		errlist_add(problems, "%s: the token in %s contains a control "
			    "character: the file must hold only the token",
			    file_var, q.buf);
		goto out;
	}
	replace(out, strbuf_detach(&text, NULL));
	ret = 1;
out:
	if (text.alloc)
		explicit_bzero(text.buf, text.alloc);
	strbuf_release(&text);
	strbuf_release(&q);
	return ret;
}

/* Appends seconds in the largest unit that divides them: 30d, 1s. */
static void add_duration(struct strbuf *sb, long seconds)
{
	if (seconds && !(seconds % 86400))
		strbuf_addf(sb, "%ldd", seconds / 86400);
	else if (seconds && !(seconds % 3600))
		strbuf_addf(sb, "%ldh", seconds / 3600);
	else if (seconds && !(seconds % 60))
		strbuf_addf(sb, "%ldm", seconds / 60);
	else
		strbuf_addf(sb, "%lds", seconds);
}

/* Adds the problem with value, a bad value of var's number type. */
static void number_problem(const struct config_var *var, const char *value,
			   struct errlist *problems)
{
	struct strbuf from = STRBUF_INIT, to = STRBUF_INIT;
	long min = (long)var->min, max = (long)var->max;

	switch (var->type) {
	case CONFIG_BOOL:
		config__problem_value(problems, var->name, STRVIEW(value), "is not a "
			      "boolean: use 1 or 0 (true or false)");
		break;
	case CONFIG_LONG:
	case CONFIG_SECONDS:
		config__problem_value(problems, var->name, STRVIEW(value), "is not a "
			      "whole number%s from %ld to %ld: set it in that "
			      "range", var->type == CONFIG_SECONDS ?
			      " of seconds" : "", min, max);
		break;
	case CONFIG_DURATION:
		add_duration(&from, min);
		add_duration(&to, max);
		config__problem_value(problems, var->name, STRVIEW(value), "is not a "
			      "duration from %s to %s%s: use seconds or a "
			      "number with s, m, h or d, e.g. %s", from.buf,
			      to.buf, var->flags & CONFIG_OFF_IS_ZERO ?
			      ", or off" : "", var->def);
		break;
	case CONFIG_DOUBLE:
		config__problem_value(problems, var->name, STRVIEW(value), "is not a "
			      "number %s %g and at most %g: set it in that "
			      "range", var->flags & CONFIG_ABOVE_MIN ? "above" :
			      "of at least", var->min, var->max);
		break;
	default:
		break;
	}
	strbuf_release(&from);
	strbuf_release(&to);
}

/* One of the words in var->choices, case-insensitively. */
static void load_choice(const struct config_var *var, char *value,
			char **out, struct errlist *problems)
{
	const char *const *choices = var->choices;
	struct strbuf list = STRBUF_INIT;

	for (size_t i = 0; choices[i]; i++) {
		if (!strcasecmp(value, choices[i])) {
			replace(out, xstrdup(choices[i]));
			goto out;
		}
	}
	for (size_t i = 0; choices[i]; i++)
		strbuf_addf(&list, "%s%s", !i ? "" :
			    choices[i + 1] ? ", " : " or ", choices[i]);
	config__problem_value(problems, var->name, STRVIEW(value), "is not accepted: "
		      "use %s", list.buf);
out:
	strbuf_release(&list);
}

static void load_provider(const struct config_var *var, const char *value,
			  struct config *cfg, struct errlist *problems)
{
	enum provider_kind *kind = slot(cfg, var);

	if (provider_kind_parse(value, kind) < 0)
		config__problem_value(problems, var->name, STRVIEW(value), "is not a "
			      "known provider: use slack or discord, or leave "
			      "it unset to print notifications instead");
	else
		cfg->provider_explicit = 1;
}

/* The length of the scheme prefix when s starts with http:// or https://. */
static size_t http_scheme_len(const char *s)
{
	if (!strncasecmp(s, "http://", 7))
		return 7;
	if (!strncasecmp(s, "https://", 8))
		return 8;
	return 0;
}

/*
 * Whether v is an http(s) URL with a host (trailing slashes are removed);
 * if not, a problem saying so and what to set, e.g. example.
 */
static int check_http_url(const struct config_var *var, char *v,
			  const char *what, const char *example,
			  struct errlist *problems)
{
	size_t len = strlen(v), scheme = http_scheme_len(v);

	while (len > scheme && v[len - 1] == '/')
		v[--len] = '\0';
	if (!scheme || len == scheme || v[scheme] == '/' ||
	    has_space(v, len) || has_control(v, len)) {
		config__problem_value(problems, var->name, STRVIEW(v), "is not an "
			      "http:// or https:// URL: set %s, e.g. %s", what,
			      example);
		return -1;
	}
	return 0;
}

static int check_api_url(const struct config_var *var, char *v,
			 struct errlist *problems)
{
	return check_http_url(var, v, "the API base URL", var->def, problems);
}

static int check_herald_url(const struct config_var *var, char *v,
			    struct errlist *problems)
{
	return check_http_url(var, v, "herald serve's address",
			      "http://127.0.0.1:8080", problems);
}

static int check_commit_url(const struct config_var *var, char *v,
			    struct errlist *problems)
{
	size_t scheme = http_scheme_len(v);
	int ret = 0;

	if (!scheme || !v[scheme] || v[scheme] == '/') {
		config__problem_value(problems, var->name, STRVIEW(v), "is not an "
			      "http:// or https:// URL: use a link template "
			      "such as %s", var->def);
		ret = -1;
	}
	if (!strstr(v, "{sha}")) {
		config__problem_value(problems, var->name, STRVIEW(v), "has no {sha}: "
			      "put {sha} where the commit ID goes, e.g. %s",
			      var->def);
		ret = -1;
	}
	return ret;
}

static int valid_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* NULL when v is host:port or [ipv6]:port, else what is wrong with it. */
static const char *listen_problem(const char *v)
{
	const char *colon, *end;
	long port;

	if (*v == '[') {
		end = strchr(v, ']');
		if (!end || end == v + 1)
			return "is not host:port: write an IPv6 address in "
			       "brackets, e.g. [::1]:8080";
		for (const char *p = v + 1; p < end; p++)
			if (!valid_host_char(*p) && *p != ':' && *p != '%')
				return "has a bad IPv6 address: use e.g. "
				       "[::1]:8080";
		colon = end + 1;
		if (*colon != ':')
			return "has no port: use host:port, e.g. [::1]:8080";
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return "has no port: use host:port, e.g. "
			       CONFIG_DEFAULT_LISTEN;
		if (memchr(v, ':', (size_t)(colon - v)))
			return "is ambiguous: write an IPv6 address in "
			       "brackets, e.g. [::1]:8080";
		if (colon == v)
			return "has no host: use e.g. " CONFIG_DEFAULT_LISTEN
			       ", or 0.0.0.0:8080 for every interface";
		for (const char *p = v; p < colon; p++)
			if (!valid_host_char(*p))
				return "has a bad host name: use host:port, "
				       "e.g. " CONFIG_DEFAULT_LISTEN;
	}
	if (!all_digits(colon + 1) ||
	    parse_long(colon + 1, 0, 65535, &port) < 0)
		return "has a bad port: use a port from 0 to 65535, e.g. "
		       CONFIG_DEFAULT_LISTEN;
	return NULL;
}

static int check_listen(const struct config_var *var, char *v,
			struct errlist *problems)
{
	const char *why = listen_problem(v);

	if (!why)
		return 0;
	config__problem_value(problems, var->name, STRVIEW(v), "%s", why);
	return -1;
}

static int check_database(const struct config_var *var, char *v,
			  struct errlist *problems)
{
	if (strncasecmp(v, "postgres://", 11) &&
	    strncasecmp(v, "postgresql://", 13))
		return 0;
	/* A connection URL may hold a password: do not quote it. */
	errlist_add(problems, "%s is a PostgreSQL URL: PostgreSQL support is "
		    "not available yet; use a SQLite file path", var->name);
	return -1;
}

/* Label names, comma-separated; white space around them is dropped. */
static int check_labels(const struct config_var *var, char *v,
			struct errlist *problems)
{
	size_t w = 0, item = 1, start = 0;
	int bad = 0, item_bad = 0;

	for (size_t r = 0;; r++) {
		char ch = v[r];

		if (ch == ' ' || ch == '\t')
			continue;
		if (ch == ',' || !ch) {
			if (w == start && !item_bad) {
				errlist_add(problems, "%s: item %zu is empty: "
					    "expected label names separated "
					    "by commas", var->name, item);
				bad = 1;
			}
			if (!ch)
				break;
			v[w++] = ',';
			start = w;
			item++;
			item_bad = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      ch == '_' || (w > start && ch >= '0' && ch <= '9'))) {
			struct strbuf q = STRBUF_INIT;
			size_t n = utf8_char_len(v + r, strlen(v + r));

			/* The character, quoted: it may be a control or not
			 * ASCII. */
			text_add_quoted(&q, v + r, n ? n : 1, 8);
			errlist_add(problems, "%s: item %zu has %s, which "
				    "no Prometheus label name has: use letters, "
				    "digits and _", var->name, item, q.buf);
			strbuf_release(&q);
			bad = item_bad = 1;
			while (v[r + 1] && v[r + 1] != ',')
				r++;
			continue;
		}
		v[w++] = ch;
	}
	v[w] = '\0';
	return bad ? -1 : 0;
}

static int check_summary(const struct config_var *var, char *v,
			 struct errlist *problems)
{
	struct summary_schedule sched;
	struct errbuf err;

	if (!summary_schedule_parse(v, &sched, &err)) {
		if (!sched.enabled)
			memcpy(v, "off", 4);	/* v was "off" in any case */
		return 0;
	}
	errlist_add(problems, "%s: %s", var->name, err.msg);
	return -1;
}

static int check_summary_envs(const struct config_var *var, char *v,
			      struct errlist *problems)
{
	struct summary_pair *pairs;
	size_t nr;

	if (summary_pairs_parse(var->name, v, &pairs, &nr, problems) < 0)
		return -1;
	summary_pairs_free(pairs, nr);
	return 0;
}

static int check_guild(const struct config_var *var, char *v,
		       struct errlist *problems)
{
	if (all_digits(v) && strlen(v) <= 20)
		return 0;
	config__problem_value(problems, var->name, STRVIEW(v), "is not a guild ID: use "
		      "the server's numeric ID (Copy Server ID in Discord's "
		      "developer mode)");
	return -1;
}

/* Reads var from src into cfg; a bad value leaves what was there. */
static void load_var(const struct config_var *var,
		     const struct config_source *src, struct config *cfg,
		     struct errlist *problems)
{
	char *v = NULL;
	int given;

	switch (var->type) {
	case CONFIG_SECRET:
		given = load_secret(src, var->name, slot(cfg, var), problems);
		if (!given && (var->flags & CONFIG_PROVIDER_NEEDS) &&
		    cfg->provider != PROVIDER_LOG)
			errlist_add(problems, "%s is not set: %s needs a bot "
				    "token; set %s, or %s_FILE to a file "
				    "holding it", var->name,
				    provider_kind_name(cfg->provider),
				    var->name, var->name);
		return;
	case CONFIG_MAPPING:
		config__load_mapping(var, src, cfg, problems);
		return;
	default:
		break;
	}

	v = get_trimmed(src, var->name);
	if (!v)
		return;
	switch (var->type) {
	case CONFIG_STRING:
		if (!var->check || !var->check(var, v, problems)) {
			replace(slot(cfg, var), v);
			v = NULL;
		}
		break;
	case CONFIG_CHOICE:
		load_choice(var, v, slot(cfg, var), problems);
		break;
	case CONFIG_PROVIDER:
		load_provider(var, v, cfg, problems);
		break;
	default:
		if (parse_number(var, v, slot(cfg, var)) < 0)
			number_problem(var, v, problems);
		break;
	}
	free(v);
}

int config_load(struct config *cfg, const struct config_source *src,
		struct errlist *problems)
{
	size_t before = problems->nr;

	for (size_t i = 0; i < config_vars_nr; i++)
		load_var(&config_vars[i], src, cfg, problems);
	if (!cfg->summary && cfg->feature_weekly_summary)
		cfg->summary = xstrdup(SUMMARY_GIMLET_DEFAULT);
	config__check_loaded(cfg, problems);
	return problems->nr == before ? 0 : HERALD_EINVAL;
}

/* 1 when var has no value in cfg: see show_none. */
static int is_none(const struct config_var *var, const struct config *cfg)
{
	const void *at = cslot(cfg, var);

	switch (var->type) {
	case CONFIG_STRING:
	case CONFIG_SECRET:
	case CONFIG_CHOICE:
		return !*(char *const *)at;
	case CONFIG_PROVIDER:
		return *(const enum provider_kind *)at == PROVIDER_LOG;
	case CONFIG_MAPPING:
		return !cfg->mapping_nr;
	case CONFIG_DOUBLE:
		return (var->flags & CONFIG_NONE_IF_ZERO) &&
		       *(const double *)at <= 0;
	case CONFIG_LONG:
		return (var->flags & CONFIG_NONE_IF_ZERO) &&
		       *(const long *)at <= 0;
	case CONFIG_DURATION:
		return (var->flags & CONFIG_OFF_IS_ZERO) &&
		       *(const long *)at <= 0;
	default:
		return 0;
	}
}

/* The value as herald config shows it, "(unset)" for none. */
static void add_value(const struct config_var *var, const struct config *cfg,
		      struct strbuf *out)
{
	const void *at = cslot(cfg, var);
	char redacted[64];

	switch (var->type) {
	case CONFIG_STRING:
	case CONFIG_CHOICE:
		if (*(char *const *)at)
			redact(out, *(char *const *)at,
			       strlen(*(char *const *)at), NULL);
		else
			strbuf_addstr(out, "(unset)");
		break;
	case CONFIG_SECRET:
		strbuf_addstr(out, config_redact(*(char *const *)at, redacted,
						 sizeof(redacted)));
		break;
	case CONFIG_BOOL:
		strbuf_addf(out, "%d", *(const int *)at);
		break;
	case CONFIG_LONG:
	case CONFIG_DURATION:
		strbuf_addf(out, "%ld", *(const long *)at);
		break;
	case CONFIG_SECONDS:
		strbuf_addf(out, "%ld", *(const long *)at / 1000);
		break;
	case CONFIG_DOUBLE:
		strbuf_addf(out, "%g", *(const double *)at);
		break;
	case CONFIG_PROVIDER:
		strbuf_addstr(out, provider_kind_name(
			*(const enum provider_kind *)at));
		break;
	case CONFIG_MAPPING:
		for (size_t i = 0; i < cfg->mapping_nr; i++)
			strbuf_addf(out, "%s%s -> %s", i ? "\n" : "",
				    cfg->mapping[i].env,
				    cfg->mapping[i].channel);
		break;
	}
}

void config_var_show(const struct config_var *var, const struct config *cfg,
		     struct strbuf *out)
{
	const char *tmpl = var->show ? var->show : "%s";
	const char *at;

	if (var->show_none && is_none(var, cfg)) {
		strbuf_addstr(out, var->show_none);
		return;
	}
	at = strstr(tmpl, "%s");
	if (!at) {
		strbuf_addstr(out, tmpl);
		return;
	}
	strbuf_add(out, tmpl, (size_t)(at - tmpl));
	add_value(var, cfg, out);
	strbuf_addstr(out, at + 2);
}

json_t *config_var_json(const struct config_var *var, const struct config *cfg)
{
	const void *at = cslot(cfg, var);
	char redacted[64];
	struct strbuf shown = STRBUF_INIT;
	json_t *obj;

	switch (var->type) {
	case CONFIG_STRING:
	case CONFIG_CHOICE:
		if (!*(char *const *)at)
			return json_null();
		redact(&shown, *(char *const *)at, strlen(*(char *const *)at),
		       NULL);
		obj = json_stringn(shown.buf, shown.len);
		if (!obj) {
			/* Not UTF-8 (a path may be any bytes): shown cleaned. */
			struct strbuf clean = STRBUF_INIT;

			text_add_clean(&clean, shown.buf, shown.len);
			obj = json_stringn(clean.buf, clean.len);
			strbuf_release(&clean);
		}
		strbuf_release(&shown);
		return obj;
	case CONFIG_SECRET:
		return *(char *const *)at ? json_string(config_redact(
			*(char *const *)at, redacted, sizeof(redacted))) :
		       json_null();
	case CONFIG_BOOL:
		return json_boolean(*(const int *)at);
	case CONFIG_LONG:
		if (is_none(var, cfg))
			return json_null();
		return json_integer(*(const long *)at);
	case CONFIG_DURATION:
		return json_integer(*(const long *)at);
	case CONFIG_SECONDS:
		return json_integer(*(const long *)at / 1000);
	case CONFIG_DOUBLE:
		return json_real(*(const double *)at);
	case CONFIG_PROVIDER:
		return json_string(provider_kind_name(
			*(const enum provider_kind *)at));
	case CONFIG_MAPPING:
		break;
	}
	obj = json_object();
	for (size_t i = 0; i < cfg->mapping_nr; i++)
		json_object_set_new(obj, cfg->mapping[i].env,
				    json_string(cfg->mapping[i].channel));
	return obj;
}

void config_register_secrets(const struct config *cfg)
{
	for (size_t i = 0; i < config_vars_nr; i++)
		if (config_vars[i].type == CONFIG_SECRET)
			redact_add_secret(*(char *const *)cslot(cfg,
							       &config_vars[i]));
}

const char *config_redact(const char *secret, char *out, size_t outlen)
{
	static const char *const prefixes[] = {
		"xoxb-", "xoxp-", "xoxa-", "xapp-", NULL
	};

	if (!secret)
		return "(unset)";
	for (size_t i = 0; prefixes[i]; i++) {
		if (!strncmp(secret, prefixes[i], 5) && secret[5] && out &&
		    outlen > strlen(prefixes[i]) + strlen("…")) {
			snprintf(out, outlen, "%s…", prefixes[i]);
			return out;
		}
	}
	return "…";
}

static const char *process_getenv(void *ctx, const char *name)
{
	return getenv(name);
}

static int process_read_file(void *ctx, const char *path, struct strbuf *out,
			     struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	char buf[4096];
	int fd, ret = 0;

	config__quote(&q, STRVIEW(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errbuf_set(err, HERALD_EIO, "cannot read %s: %s", q.buf,
				 strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errbuf_set(err, HERALD_EIO, "cannot read %s: %s",
					 q.buf, strerror(errno));
			break;
		}
		if (!n)
			break;
		if (strbuf_add(out, buf, (size_t)n) < 0) {
			ret = errbuf_set(err, HERALD_ELIMIT, "%s is larger "
					 "than %zu KiB", q.buf, out->max / 1024);
			break;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
out:
	strbuf_release(&q);
	return ret;
}

const struct config_source config_source_process = {
	process_getenv,
	process_read_file,
	NULL,
};
