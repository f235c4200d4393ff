/*
 * config: herald's configuration, read from the environment.
 *
 * The four NOTIFICATIONS_* variables keep Gimlet's names and meanings;
 * HERALD_* variables add the rest. Each is one row of config_vars[]: adding
 * a variable is adding a row (and its field in struct config, and its
 * section and summary row in docs/configuration.md, which test_config
 * checks). Loading is strict and collects every problem (not just the
 * first), each as one line that says what, where and what to do. Pure: the
 * environment and files are reached through a struct config_source, so
 * tests pass fakes.
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
	long retention_s;		/* HERALD_RETENTION (s); 0: off */
	char *api_token;		/* HERALD_API_TOKEN(_FILE); secret */
	int insecure;			/* HERALD_INSECURE=1 */
	char *url;			/* HERALD_URL: the daemon, for clients;
					   NULL: from listen */
	long max_connections;		/* HERALD_MAX_CONNECTIONS */
	long max_connections_per_address; /* …_PER_ADDRESS */
	double slack_rate;		/* HERALD_SLACK_RATE, posts/s/channel */
	double slack_burst;		/* HERALD_SLACK_BURST */
	double slack_workspace_rate;	/* HERALD_SLACK_WORKSPACE_RATE, posts/s
					   across channels; 0: unlimited */
	double discord_global_rate;	/* HERALD_DISCORD_GLOBAL_RATE, req/s;
					   0: unlimited */
	long max_attempts;		/* HERALD_MAX_ATTEMPTS; 0: unset */
	long max_age_s;			/* HERALD_MAX_AGE (s) */
	long shutdown_grace_ms;		/* HERALD_SHUTDOWN_GRACE (s) */
	char *log_format;		/* "logfmt" or "json" */
	char *log_level;		/* "debug", "info", "warn", "error" */

	/* Stories and inputs. */
	long story_window_s;		/* HERALD_STORY_WINDOW (s) */
	long digest_threshold;		/* HERALD_DIGEST_THRESHOLD; 0: off */
	long digest_after_s;		/* HERALD_DIGEST_AFTER (s) */
	char *flux_hmac_key;		/* HERALD_FLUX_HMAC_KEY(_FILE); secret */
	char *github_secret;		/* HERALD_GITHUB_WEBHOOK_SECRET(_FILE);
					   secret */
	char *alert_app_labels;		/* HERALD_ALERT_APP_LABELS: label
					   names, comma-separated, no spaces */

	/* The weekly summary (core/summary.h: summary_schedule_of()). */
	char *summary;			/* HERALD_SUMMARY: "mon 09:00", "off";
					   NULL when unset */
	int feature_weekly_summary;	/* FEATURE_WEEKLY_SUMMARY (Gimlet's) */
	char *summary_envs;		/* HERALD_SUMMARY_ENVS: a>b pairs */
};

/* The default of HERALD_ALERT_APP_LABELS. */
#define CONFIG_DEFAULT_ALERT_APP_LABELS \
	"app,app_kubernetes_io_name,container,deployment,service,job"
/* The default of HERALD_SUMMARY_ENVS. */
#define CONFIG_DEFAULT_SUMMARY_ENVS "staging>production"

/*
 * The configuration variables: one row each in config_vars[] (config.c),
 * which config_init(), config_load(), config_release(), `herald config`
 * and the documentation test all read.
 */
enum config_type {
	CONFIG_STRING,		/* char *: the trimmed value; NULL when unset */
	CONFIG_SECRET,		/* char *: NAME, or the file NAME_FILE names;
				   no white space, never shown */
	CONFIG_BOOL,		/* int: 1, 0, true or false */
	CONFIG_LONG,		/* long: a whole number in [min, max] */
	CONFIG_SECONDS,		/* long: whole seconds in [min, max], stored in
				   milliseconds */
	CONFIG_DURATION,	/* long: seconds, or a number with s, m, h or d,
				   in [min, max] seconds */
	CONFIG_DOUBLE,		/* double: a decimal number in [min, max] */
	CONFIG_CHOICE,		/* char *: one of choices, any case, stored as
				   written there */
	CONFIG_PROVIDER,	/* enum provider_kind: provider_kind_parse() */
	CONFIG_MAPPING,		/* the channel mapping (mapping, mapping_nr):
				   NAME, or the file NAME_FILE names */
};

enum config_flags {
	CONFIG_ABOVE_MIN = 1 << 0,	/* DOUBLE: min itself is refused */
	CONFIG_PROVIDER_NEEDS = 1 << 1,	/* SECRET: the bot token, required
					   unless the provider is log */
	CONFIG_SLACK_ONLY = 1 << 2,	/* herald config lists it only for
					   slack */
	CONFIG_DISCORD_ONLY = 1 << 3,	/* ... only for discord */
	CONFIG_NONE_IF_ZERO = 1 << 4,	/* DOUBLE, LONG: 0 is shown as
					   show_none */
	CONFIG_OFF_IS_ZERO = 1 << 5,	/* DURATION: "off" or 0 (below min)
					   is 0, shown as show_none */
};

struct config_var;

/*
 * Checks, and may rewrite in place, the trimmed, non-empty value of a
 * CONFIG_STRING variable. Returns 0 to store it, or -1 after adding every
 * problem with it to problems.
 */
typedef int config_check_fn(const struct config_var *var, char *value,
			    struct errlist *problems);

/* One configuration variable. */
struct config_var {
	const char *name;		/* NOTIFICATIONS_* or HERALD_* */
	enum config_type type;
	size_t offset;			/* offsetof(struct config, field) */
	const char *def;		/* the default, written as in the
					   environment; NULL: unset */
	double min, max;		/* numbers: the bounds */
	const char *const *choices;	/* CHOICE: NULL-terminated */
	config_check_fn *check;		/* STRING: NULL accepts any value */
	unsigned flags;			/* enum config_flags */
	const char *help;		/* what it is, in one line */

	/*
	 * herald config: the listing is made of lines numbered from 1; the
	 * variables with the same line share it (in table order), the label
	 * of the first one heading it. show is the variable's part of the
	 * line, with %s standing for its value; show_none replaces it for no
	 * value (unset, the log provider, an empty mapping; 0 with
	 * CONFIG_NONE_IF_ZERO). --json writes the key json in line order,
	 * json_line putting it with another line's keys.
	 */
	unsigned line;			/* 0: not listed */
	const char *label;
	const char *show;		/* NULL: "%s" */
	const char *show_none;		/* NULL: show with "(unset)" */
	const char *json;		/* NULL: not in --json */
	unsigned json_line;		/* 0: line */
};

extern const struct config_var config_vars[];
extern const size_t config_vars_nr;

/* The variable called name, or NULL. */
const struct config_var *config_var_find(const char *name);

/* 1 when var can also be given as a file, through NAME_FILE. */
int config_var_has_file(const struct config_var *var);

/*
 * Appends var's part of its line in `herald config` for the value in cfg
 * (see struct config_var): secrets redacted, strings through redact() (a
 * URL's password becomes "…"), times in seconds, the mapping as
 * "env -> channel" lines joined by "\n".
 */
void config_var_show(const struct config_var *var, const struct config *cfg,
		     struct strbuf *out);

/*
 * The value of var in cfg as `herald config --json` writes it, a new
 * reference: a string or null, secrets and URL passwords redacted as
 * config_var_show() does; a number (times in seconds), or null for a
 * whole number with CONFIG_NONE_IF_ZERO at 0; the mapping as an object.
 */
struct json_t *config_var_json(const struct config_var *var,
			       const struct config *cfg);

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
 * values and must still be released). Besides each variable's own checks:
 * the channel mapping's and the default channel's destinations for the
 * provider, the provider's API URL (plain http:// only to loopback unless
 * HERALD_ALLOW_INSECURE_HTTP) and a token of the other platform's shape.
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

/*
 * The catalog's destinations for cfg's provider, named with the catalog's
 * file and line: an ownerIm that is no destination at all ("@", "backend
 * deploys") is a problem; one of the other platform only (an e-mail
 * address on Discord) a warning, as a catalog may serve both.
 */
struct catalog;
void config_check_catalog(const struct config *cfg, const struct catalog *cat,
			  struct errlist *problems, struct errlist *warnings);

/*
 * Warnings about the names in environ ("NAME=value" strings, NULL
 * terminated): each variable that is not herald's but looks like it (any
 * unknown HERALD_* or NOTIFICATIONS_*, or a near miss of a known name:
 * NOTIFICATION_PROVIDER), naming the closest known variable.
 */
void config_check_environ(char *const *env, struct errlist *warnings);

/* The channel mapped to env, or NULL. */
const char *config_channel_for_env(const struct config *cfg, const char *env);

/*
 * Registers every secret of cfg (the CONFIG_SECRET variables: the tokens
 * and webhook keys) with redact_add_secret(), so that no output of the
 * process shows them.
 */
void config_register_secrets(const struct config *cfg);

/*
 * A printable form of a secret: "xoxb-…" keeps only a known prefix, anything
 * else becomes "…"; "(unset)" for NULL. Returns a static string or writes
 * into out.
 */
const char *config_redact(const char *secret, char *out, size_t outlen);

/* Frees everything (secrets wiped first); cfg is left zeroed. */
void config_release(struct config *cfg);

#endif
