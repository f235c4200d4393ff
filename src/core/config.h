/*
 * config: herald's configuration, read from the environment.
 *
 * The four NOTIFICATIONS_* variables keep Gimlet's names and meanings;
 * HERALD_* variables add the rest. Loading is strict and collects every
 * problem (not just the first), each as one line that says what, where and
 * what to do. Pure: the environment and files are reached through a
 * struct config_source, so tests pass fakes.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include <stddef.h>

#include "lib/errbuf.h"
#include "lib/strbuf.h"

enum provider_kind {
	PROVIDER_LOG,		/* render and print; nothing delivered */
	PROVIDER_SLACK,
	PROVIDER_DISCORD,
};

const char *provider_kind_name(enum provider_kind kind);
/* Case-insensitive "slack" or "discord"; returns 0 or -1. */
int provider_kind_parse(const char *name, enum provider_kind *out);

struct channel_mapping {
	char *env;
	char *channel;
};

#define CONFIG_DEFAULT_COMMIT_URL "https://github.com/{repo}/commit/{sha}"
#define CONFIG_DEFAULT_SLACK_API_URL "https://slack.com/api"
#define CONFIG_DEFAULT_DISCORD_API_URL "https://discord.com/api/v10"
#define CONFIG_DEFAULT_LISTEN "127.0.0.1:8080"
#define CONFIG_DEFAULT_DATABASE "herald.db"

/* All strings owned by the config, freed by config_release(). */
struct config {
	enum provider_kind provider;
	int provider_explicit;		/* NOTIFICATIONS_PROVIDER was set */
	char *token;			/* secret: never print, see config_redact() */
	char *default_channel;		/* NULL when unset */
	struct channel_mapping *mapping;
	size_t mapping_nr;
	char *catalog_path;		/* HERALD_CATALOG, NULL when unset */
	char *commit_url;		/* HERALD_COMMIT_URL template */

	/* Delivery (the provider clients). */
	char *discord_guild;		/* NOTIFICATIONS_DISCORD_GUILD */
	char *slack_api_url;		/* HERALD_SLACK_API_URL */
	char *discord_api_url;		/* HERALD_DISCORD_API_URL */
	int allow_insecure_http;	/* HERALD_ALLOW_INSECURE_HTTP=1 */
	long connect_timeout_ms;	/* HERALD_CONNECT_TIMEOUT (s), default 5 */
	long request_timeout_ms;	/* HERALD_REQUEST_TIMEOUT (s), default 15 */

	/* The daemon. */
	char *listen;			/* HERALD_LISTEN */
	char *database;			/* HERALD_DATABASE */
	char *api_token;		/* HERALD_API_TOKEN(_FILE); secret */
	int insecure;			/* HERALD_INSECURE=1 */
	double slack_rate;		/* HERALD_SLACK_RATE, posts/s/channel */
	double slack_burst;		/* HERALD_SLACK_BURST */
	double slack_workspace_rate;	/* HERALD_SLACK_WORKSPACE_RATE, posts/s
					   across channels; 0: unlimited */
	double discord_global_rate;	/* HERALD_DISCORD_GLOBAL_RATE, req/s;
					   0: unlimited */
	long max_attempts;		/* HERALD_MAX_ATTEMPTS */
	long max_age_s;			/* HERALD_MAX_AGE (s) */
	long shutdown_grace_ms;		/* HERALD_SHUTDOWN_GRACE (s) */
	char *log_format;		/* "logfmt" or "json" */
	char *log_level;		/* "debug", "info", "warn", "error" */
};

/*
 * Where configuration comes from. getenv returns NULL for unset variables;
 * read_file fills out with a file's contents, failing (HERALD_ELIMIT) when
 * they do not fit under out's cap, or returns a negative code with err set.
 */
struct config_source {
	const char *(*getenv)(void *ctx, const char *name);
	int (*read_file)(void *ctx, const char *path, struct strbuf *out,
			 struct errbuf *err);
	void *ctx;
};

/* The process environment and the file system. */
extern const struct config_source config_source_process;

void config_init(struct config *cfg);
/*
 * Loads the configuration into cfg (set up by config_init(), which fills in
 * the defaults). Unset and empty variables keep their defaults; values
 * other than the tokens are trimmed of surrounding white space. Every
 * problem is appended to problems; returns 0 when there were none,
 * HERALD_EINVAL otherwise (cfg then holds the defaults in place of the bad
 * values and must still be released).
 */
int config_load(struct config *cfg, const struct config_source *src,
		struct errlist *problems);

/*
 * Parses NOTIFICATIONS_CHANNEL_MAPPING syntax into cfg->mapping, replacing
 * what was there; value may be NULL. Every bad item is appended to problems
 * (the good ones are kept); returns 0 or HERALD_EINVAL.
 */
int config_parse_mapping(struct config *cfg, const char *value,
			 struct errlist *problems);

/* The channel mapped to env, or NULL. */
const char *config_channel_for_env(const struct config *cfg, const char *env);

/*
 * A printable form of a secret: "xoxb-…" keeps only a known prefix, anything
 * else becomes "…"; "(unset)" for NULL. Returns a static string or writes
 * into out.
 */
const char *config_redact(const char *secret, char *out, size_t outlen);

/* Frees everything (secrets wiped first); cfg is left zeroed. */
void config_release(struct config *cfg);

#endif
