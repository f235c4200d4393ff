/*
 * config: reads herald's configuration from the environment (through a
 * struct config_source) and checks every value, collecting one line per
 * problem. Secrets (the two tokens) are never echoed back; other values are
 * quoted with control characters escaped so a problem stays on one line.
 * config_source_process at the bottom is the only code here that does I/O.
 */
#include "core/config.h"
#include "lib/text.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TOKEN_FILE_MAX (64u * 1024)
#define MAPPING_FILE_MAX (256u * 1024)
#define QUOTE_MAX 120		/* bytes of a value shown in a problem */
#define MAX_AGE_LIMIT (30L * 24 * 3600)

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

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->provider = PROVIDER_LOG;
	cfg->commit_url = xstrdup(CONFIG_DEFAULT_COMMIT_URL);
	cfg->slack_api_url = xstrdup(CONFIG_DEFAULT_SLACK_API_URL);
	cfg->discord_api_url = xstrdup(CONFIG_DEFAULT_DISCORD_API_URL);
	cfg->connect_timeout_ms = 5 * 1000;
	cfg->request_timeout_ms = 15 * 1000;
	cfg->listen = xstrdup(CONFIG_DEFAULT_LISTEN);
	cfg->database = xstrdup(CONFIG_DEFAULT_DATABASE);
	cfg->slack_rate = 1.0;
	cfg->slack_burst = 3.0;
	cfg->slack_workspace_rate = 20.0;
	cfg->discord_global_rate = 50.0;
	cfg->max_attempts = 25;
	cfg->max_age_s = 24 * 3600;
	cfg->shutdown_grace_ms = 10 * 1000;
	cfg->log_format = xstrdup("logfmt");
	cfg->log_level = xstrdup("info");
}

static void mapping_clear(struct config *cfg)
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
	wipe_free(cfg->token);
	wipe_free(cfg->api_token);
	free(cfg->default_channel);
	mapping_clear(cfg);
	free(cfg->catalog_path);
	free(cfg->commit_url);
	free(cfg->discord_guild);
	free(cfg->slack_api_url);
	free(cfg->discord_api_url);
	free(cfg->listen);
	free(cfg->database);
	free(cfg->log_format);
	free(cfg->log_level);
	memset(cfg, 0, sizeof(*cfg));
}

/* Appends v quoted for a message, cut after QUOTE_MAX bytes. */
static void quote(struct strbuf *sb, struct strview v)
{
	text_add_quoted(sb, v.ptr, v.len, QUOTE_MAX);
}

/* Adds the problem 'name "value" <fmt...>'. */
static void problem_value(struct errlist *list, const char *name,
			  struct strview value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void problem_value(struct errlist *list, const char *name,
			  struct strview value, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&sb, "%s ", name);
	quote(&sb, value);
	strbuf_addch(&sb, ' ');
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	errlist_add(list, "%s", sb.buf);
	strbuf_release(&sb);
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

static void replace(char **slot, char *value)
{
	free(*slot);
	*slot = value;
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

/*
 * Reads a secret from name or name_FILE into *out. Returns 1 when one was
 * given, 0 when neither was, -1 after a problem. The secret itself never
 * reaches a problem message.
 */
static int load_secret(const struct config_source *src, const char *name,
		       char **out, struct errlist *problems)
{
	char file_var[64];
	const char *value, *path;
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;
	struct strbuf q = STRBUF_INIT;
	int ret = -1;

	strbuf_init(&text, TOKEN_FILE_MAX);
	snprintf(file_var, sizeof(file_var), "%s_FILE", name);
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

	quote(&q, STRVIEW(path));
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

static void load_bool(const struct config_source *src, const char *name,
		      int *out, struct errlist *problems)
{
	char *v = get_trimmed(src, name);

	if (v && parse_bool(v, out) < 0)
		problem_value(problems, name, STRVIEW(v), "is not a boolean: "
			      "use 1 or 0 (true or false)");
	free(v);
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

/* A whole number of seconds in [min, max], stored multiplied by scale. */
static void load_seconds(const struct config_source *src, const char *name,
			 long min, long max, long scale, long *out,
			 struct errlist *problems)
{
	char *v = get_trimmed(src, name);
	long n;

	if (!v)
		return;
	if (!all_digits(v) || parse_long(v, min, max, &n) < 0)
		problem_value(problems, name, STRVIEW(v), "is not a whole "
			      "number of seconds from %ld to %ld: set it in "
			      "that range", min, max);
	else
		*out = n * scale;
	free(v);
}

static void load_long(const struct config_source *src, const char *name,
		      long min, long max, long *out, struct errlist *problems)
{
	char *v = get_trimmed(src, name);

	if (v && (!all_digits(v) || parse_long(v, min, max, out) < 0))
		problem_value(problems, name, STRVIEW(v), "is not a whole "
			      "number from %ld to %ld: set it in that range",
			      min, max);
	free(v);
}

/*
 * A decimal number in (min, max] when min_open, else [min, max]. Hex,
 * infinity and NaN, which strtod() would take, are refused.
 */
static void load_double(const struct config_source *src, const char *name,
			double min, int min_open, double max, double *out,
			struct errlist *problems)
{
	char *v = get_trimmed(src, name);
	double d;

	if (!v)
		return;
	if (strpbrk(v, "xXnNiI") || parse_double(v, min, max, &d) < 0 ||
	    (min_open && d <= min))
		problem_value(problems, name, STRVIEW(v), "is not a number %s "
			      "%g and at most %g: set it in that range",
			      min_open ? "above" : "of at least", min, max);
	else
		*out = d;
	free(v);
}

/* One of the words in choices (NULL-terminated), case-insensitively. */
static void load_choice(const struct config_source *src, const char *name,
			const char *const *choices, char **out,
			struct errlist *problems)
{
	char *v = get_trimmed(src, name);
	struct strbuf list = STRBUF_INIT;

	if (!v)
		return;
	for (size_t i = 0; choices[i]; i++) {
		if (!strcasecmp(v, choices[i])) {
			replace(out, xstrdup(choices[i]));
			goto out;
		}
	}
	for (size_t i = 0; choices[i]; i++)
		strbuf_addf(&list, "%s%s", !i ? "" :
			    choices[i + 1] ? ", " : " or ", choices[i]);
	problem_value(problems, name, STRVIEW(v), "is not accepted: use %s",
		      list.buf);
out:
	strbuf_release(&list);
	free(v);
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

/* An http(s) URL with a host; trailing slashes are removed. */
static void load_api_url(const struct config_source *src, const char *name,
			 const char *example, char **out,
			 struct errlist *problems)
{
	char *v = get_trimmed(src, name);
	size_t scheme, len;

	if (!v)
		return;
	len = strlen(v);
	scheme = http_scheme_len(v);
	while (len > scheme && v[len - 1] == '/')
		v[--len] = '\0';
	if (!scheme || len == scheme || v[scheme] == '/' ||
	    has_space(v, len) || has_control(v, len)) {
		problem_value(problems, name, STRVIEW(v), "is not an http:// "
			      "or https:// URL: set the API base URL, e.g. %s",
			      example);
		free(v);
		return;
	}
	replace(out, v);
}

static void load_commit_url(const struct config_source *src, struct config *cfg,
			    struct errlist *problems)
{
	const char *name = "HERALD_COMMIT_URL";
	char *v = get_trimmed(src, name);
	size_t scheme;
	int ok = 1;

	if (!v)
		return;
	scheme = http_scheme_len(v);
	if (!scheme || !v[scheme] || v[scheme] == '/') {
		problem_value(problems, name, STRVIEW(v), "is not an http:// "
			      "or https:// URL: use a link template such as %s",
			      CONFIG_DEFAULT_COMMIT_URL);
		ok = 0;
	}
	if (!strstr(v, "{sha}")) {
		problem_value(problems, name, STRVIEW(v), "has no {sha}: put "
			      "{sha} where the commit ID goes, e.g. %s",
			      CONFIG_DEFAULT_COMMIT_URL);
		ok = 0;
	}
	if (ok)
		replace(&cfg->commit_url, v);
	else
		free(v);
}

static int valid_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* NULL when v is host:port or [ipv6]:port, else what is wrong with it. */
static const char *check_listen(const char *v)
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

static void load_listen(const struct config_source *src, struct config *cfg,
			struct errlist *problems)
{
	char *v = get_trimmed(src, "HERALD_LISTEN");
	const char *why;

	if (!v)
		return;
	why = check_listen(v);
	if (why) {
		problem_value(problems, "HERALD_LISTEN", STRVIEW(v), "%s", why);
		free(v);
		return;
	}
	replace(&cfg->listen, v);
}

static void load_database(const struct config_source *src, struct config *cfg,
			  struct errlist *problems)
{
	char *v = get_trimmed(src, "HERALD_DATABASE");

	if (!v)
		return;
	if (!strncasecmp(v, "postgres://", 11) ||
	    !strncasecmp(v, "postgresql://", 13)) {
		/* A connection URL may hold a password: do not quote it. */
		errlist_add(problems, "HERALD_DATABASE is a PostgreSQL URL: "
			    "PostgreSQL support is not available yet; use a "
			    "SQLite file path");
		free(v);
		return;
	}
	replace(&cfg->database, v);
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

static void load_max_age(const struct config_source *src, struct config *cfg,
			 struct errlist *problems)
{
	char *v = get_trimmed(src, "HERALD_MAX_AGE");

	if (v && parse_duration(v, 1, MAX_AGE_LIMIT, &cfg->max_age_s) < 0)
		problem_value(problems, "HERALD_MAX_AGE", STRVIEW(v),
			      "is not a duration from 1s to 30d: use seconds "
			      "or a number with s, m, h or d, e.g. 24h");
	free(v);
}

static void load_provider(const struct config_source *src, struct config *cfg,
			  struct errlist *problems)
{
	char *v = get_trimmed(src, "NOTIFICATIONS_PROVIDER");

	cfg->provider = PROVIDER_LOG;
	cfg->provider_explicit = 0;
	if (!v)
		return;
	if (provider_kind_parse(v, &cfg->provider) < 0)
		problem_value(problems, "NOTIFICATIONS_PROVIDER", STRVIEW(v),
			      "is not a known provider: use slack or discord, "
			      "or leave it unset to print notifications "
			      "instead");
	else
		cfg->provider_explicit = 1;
	free(v);
}

static void load_guild(const struct config_source *src, struct config *cfg,
		       struct errlist *problems)
{
	char *v = get_trimmed(src, "NOTIFICATIONS_DISCORD_GUILD");

	if (!v)
		return;
	if (!all_digits(v) || strlen(v) > 20) {
		problem_value(problems, "NOTIFICATIONS_DISCORD_GUILD",
			      STRVIEW(v), "is not a guild ID: use the server's numeric ID "
			      "(Copy Server ID in Discord's developer mode)");
		free(v);
		return;
	}
	replace(&cfg->discord_guild, v);
}

static int parse_mapping(struct config *cfg, const char *value,
			 const char *where, int in_file,
			 struct errlist *problems);

/*
 * NOTIFICATIONS_CHANNEL_MAPPING, or NOTIFICATIONS_CHANNEL_MAPPING_FILE: a
 * file in the same syntax (one item a line is fine), read again on each
 * load, so `herald serve` picks up an edit on SIGHUP.
 */
static void load_mapping(const struct config_source *src, struct config *cfg,
			 struct errlist *problems)
{
	const char *value = src->getenv(src->ctx, "NOTIFICATIONS_CHANNEL_MAPPING");
	const char *path = src->getenv(src->ctx,
				       "NOTIFICATIONS_CHANNEL_MAPPING_FILE");
	struct strbuf text = STRBUF_INIT, where = STRBUF_INIT;
	struct errbuf err;

	if (path && !*path)
		path = NULL;
	if (!path) {
		config_parse_mapping(cfg, value, problems);
		goto out;
	}
	config_parse_mapping(cfg, NULL, problems);
	if (value && *value) {
		errlist_add(problems, "NOTIFICATIONS_CHANNEL_MAPPING and "
			    "NOTIFICATIONS_CHANNEL_MAPPING_FILE are both set: "
			    "set only one");
		goto out;
	}
	strbuf_init(&text, MAPPING_FILE_MAX);
	errbuf_clear(&err);
	if (src->read_file(src->ctx, path, &text, &err) < 0) {
		errlist_add(problems, "NOTIFICATIONS_CHANNEL_MAPPING_FILE: %s",
			    err.msg[0] ? err.msg : "cannot read the file");
		goto out;
	}
	strbuf_addstr(&where, "NOTIFICATIONS_CHANNEL_MAPPING_FILE ");
	quote(&where, STRVIEW(path));
	parse_mapping(cfg, text.buf, where.buf, 1, problems);
out:
	strbuf_release(&text);
	strbuf_release(&where);
}

int config_load(struct config *cfg, const struct config_source *src,
		struct errlist *problems)
{
	static const char *const log_formats[] = { "logfmt", "json", NULL };
	static const char *const log_levels[] = {
		"debug", "info", "warn", "error", NULL
	};
	size_t before = problems->nr;
	int r;

	load_provider(src, cfg, problems);

	r = load_secret(src, "NOTIFICATIONS_TOKEN", &cfg->token, problems);
	if (!r && cfg->provider != PROVIDER_LOG)
		errlist_add(problems, "NOTIFICATIONS_TOKEN is not set: %s "
			    "needs a bot token; set NOTIFICATIONS_TOKEN, or "
			    "NOTIFICATIONS_TOKEN_FILE to a file holding it",
			    provider_kind_name(cfg->provider));

	replace(&cfg->default_channel,
		get_trimmed(src, "NOTIFICATIONS_DEFAULT_CHANNEL"));

	load_mapping(src, cfg, problems);

	replace(&cfg->catalog_path, get_trimmed(src, "HERALD_CATALOG"));
	load_commit_url(src, cfg, problems);

	load_guild(src, cfg, problems);
	load_api_url(src, "HERALD_SLACK_API_URL", CONFIG_DEFAULT_SLACK_API_URL,
		     &cfg->slack_api_url, problems);
	load_api_url(src, "HERALD_DISCORD_API_URL",
		     CONFIG_DEFAULT_DISCORD_API_URL, &cfg->discord_api_url,
		     problems);
	load_bool(src, "HERALD_ALLOW_INSECURE_HTTP", &cfg->allow_insecure_http,
		  problems);
	load_seconds(src, "HERALD_CONNECT_TIMEOUT", 1, 300, 1000,
		     &cfg->connect_timeout_ms, problems);
	load_seconds(src, "HERALD_REQUEST_TIMEOUT", 1, 600, 1000,
		     &cfg->request_timeout_ms, problems);

	load_listen(src, cfg, problems);
	load_database(src, cfg, problems);
	load_secret(src, "HERALD_API_TOKEN", &cfg->api_token, problems);
	load_bool(src, "HERALD_INSECURE", &cfg->insecure, problems);
	load_double(src, "HERALD_SLACK_RATE", 0, 1, 100, &cfg->slack_rate,
		    problems);
	load_double(src, "HERALD_SLACK_BURST", 1, 0, 1000, &cfg->slack_burst,
		    problems);
	load_double(src, "HERALD_SLACK_WORKSPACE_RATE", 0, 0, 100000,
		    &cfg->slack_workspace_rate, problems);
	load_double(src, "HERALD_DISCORD_GLOBAL_RATE", 0, 0, 100000,
		    &cfg->discord_global_rate, problems);
	load_long(src, "HERALD_MAX_ATTEMPTS", 1, 1000, &cfg->max_attempts,
		  problems);
	load_max_age(src, cfg, problems);
	load_seconds(src, "HERALD_SHUTDOWN_GRACE", 0, 3600, 1000,
		     &cfg->shutdown_grace_ms, problems);
	load_choice(src, "HERALD_LOG_FORMAT", log_formats, &cfg->log_format,
		    problems);
	load_choice(src, "HERALD_LOG_LEVEL", log_levels, &cfg->log_level,
		    problems);

	return problems->nr == before ? 0 : HERALD_EINVAL;
}

/*
 * Adds '<where>: item N "<text>" <what>', where is the variable, or the
 * file variable and the file's path.
 */
static void mapping_problem(struct errlist *problems, const char *where,
			    size_t item, struct strview text, const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s: item %zu ", where, item);
	quote(&sb, text);
	strbuf_addf(&sb, " %s", what);
	errlist_add(problems, "%s", sb.buf);
	strbuf_release(&sb);
}

/*
 * The mapping syntax; items are separated by commas and, in a file
 * (in_file), also by line ends, and there a line starting with "#" is a
 * comment.
 */
static int parse_mapping(struct config *cfg, const char *value,
			 const char *where, int in_file,
			 struct errlist *problems)
{
	struct strbuf what = STRBUF_INIT;
	size_t *items = NULL;	/* the item number of each mapping entry */
	size_t alloc = 0, item = 0;
	const char *p = value;
	int ret = 0, line_start = 1;

	mapping_clear(cfg);
	if (!value)
		goto out;
	for (;;) {
		const char *comma = p + strcspn(p, in_file ? ",\n" : ",");
		size_t len = (size_t)(comma - p);
		struct strview whole = strview_trim((struct strview){ p, len });
		struct strview env, channel;
		const char *eq;
		size_t dup = 0;

		if (in_file && line_start && whole.len && whole.ptr[0] == '#') {
			comma = p + strcspn(p, "\n");
			goto next;
		}
		item++;
		if (!whole.len)
			goto next;
		eq = memchr(whole.ptr, '=', whole.len);
		if (!eq) {
			mapping_problem(problems, where, item, whole,
					"has no \"=\": expected env=channel");
			ret = HERALD_EINVAL;
			goto next;
		}
		env = strview_trim((struct strview){
			whole.ptr, (size_t)(eq - whole.ptr) });
		channel = strview_trim((struct strview){
			eq + 1, whole.len - (size_t)(eq - whole.ptr) - 1 });
		if (!env.len) {
			mapping_problem(problems, where, item, whole,
					"has no environment before \"=\": "
					"expected env=channel");
			ret = HERALD_EINVAL;
			goto next;
		}
		if (!channel.len) {
			mapping_problem(problems, where, item, whole,
					"has no channel after \"=\": expected "
					"env=channel");
			ret = HERALD_EINVAL;
			goto next;
		}
		for (size_t i = 0; i < cfg->mapping_nr; i++) {
			if (strview_eq(env, cfg->mapping[i].env)) {
				dup = items[i];
				break;
			}
		}
		if (dup) {
			strbuf_reset(&what);
			strbuf_addstr(&what, "names environment ");
			quote(&what, env);
			strbuf_addf(&what, " again (first in item %zu): each "
				    "environment maps to one channel", dup);
			mapping_problem(problems, where, item, whole, what.buf);
			ret = HERALD_EINVAL;
			goto next;
		}
		if (cfg->mapping_nr == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			cfg->mapping = xrealloc(cfg->mapping,
						alloc * sizeof(*cfg->mapping));
			items = xrealloc(items, alloc * sizeof(*items));
		}
		cfg->mapping[cfg->mapping_nr].env = xstrndup(env.ptr, env.len);
		cfg->mapping[cfg->mapping_nr].channel =
			xstrndup(channel.ptr, channel.len);
		items[cfg->mapping_nr++] = item;
next:
		if (!*comma)
			break;
		line_start = *comma == '\n';
		p = comma + 1;
	}
out:
	free(items);
	strbuf_release(&what);
	return ret;
}

int config_parse_mapping(struct config *cfg, const char *value,
			 struct errlist *problems)
{
	return parse_mapping(cfg, value, "NOTIFICATIONS_CHANNEL_MAPPING", 0,
			     problems);
}

const char *config_channel_for_env(const struct config *cfg, const char *env)
{
	if (!env)
		return NULL;
	for (size_t i = 0; i < cfg->mapping_nr; i++)
		if (!strcmp(cfg->mapping[i].env, env))
			return cfg->mapping[i].channel;
	return NULL;
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

	quote(&q, STRVIEW(path));
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
