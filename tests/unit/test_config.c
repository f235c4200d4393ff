/*
 * Unit tests for config: every variable's defaults, accepted forms and
 * problems, the channel mapping syntax, token files and redaction, through
 * a fake config_source (a table of variables and a table of files); and
 * the table of variables against docs/configuration.md, found under the
 * project root (argv[1], else $HERALD_SRC, else ".").
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/catalog.h"
#include "core/config.h"

#define SECRET "xoxb-1234-SECRETSECRET"

static const char *root = ".";

struct fake_file {
	const char *path;
	const char *text;	/* NULL: the file does not exist */
	size_t len;		/* 0: strlen(text) */
};

struct fake {
	const char *const *env;		/* name, value, ..., NULL */
	const struct fake_file *files;	/* ends with a NULL path */
	int reads;
};

static const char *fake_getenv(void *ctx, const char *name)
{
	const struct fake *f = ctx;

	for (size_t i = 0; f->env && f->env[i]; i += 2)
		if (!strcmp(f->env[i], name))
			return f->env[i + 1];
	return NULL;
}

static int fake_read_file(void *ctx, const char *path, struct strbuf *out,
			  struct errbuf *err)
{
	struct fake *f = ctx;

	f->reads++;
	for (size_t i = 0; f->files && f->files[i].path; i++) {
		const struct fake_file *ff = &f->files[i];

		if (strcmp(ff->path, path))
			continue;
		if (!ff->text)
			break;
		strbuf_add(out, ff->text, ff->len ? ff->len : strlen(ff->text));
		return 0;
	}
	return errbuf_set(err, HERALD_EIO, "cannot read \"%s\": No such file "
			  "or directory", path);
}

/* Loads the configuration from env (and files); returns config_load(). */
static int load(struct config *cfg, struct errlist *problems,
		const char *const *env, const struct fake_file *files)
{
	struct fake f = { env, files, 0 };
	struct config_source src = { fake_getenv, fake_read_file, &f };

	config_init(cfg);
	return config_load(cfg, &src, problems);
}

/* 1 when some problem contains needle. */
static int has_problem(const struct errlist *problems, const char *needle)
{
	for (size_t i = 0; i < problems->nr; i++)
		if (strstr(problems->items[i], needle))
			return 1;
	return 0;
}

/* Every problem is one line and holds none of the secrets given. */
static void assert_clean(const struct errlist *problems, const char *secret)
{
	for (size_t i = 0; i < problems->nr; i++) {
		assert_null(strchr(problems->items[i], '\n'));
		if (secret)
			assert_null(strstr(problems->items[i], secret));
	}
}

static void test_defaults(void **state)
{
	static const char *const env[] = { NULL };
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), 0);
	assert_int_equal(problems.nr, 0);
	assert_int_equal(cfg.provider, PROVIDER_LOG);
	assert_int_equal(cfg.provider_explicit, 0);
	assert_null(cfg.token);
	assert_null(cfg.default_channel);
	assert_int_equal(cfg.mapping_nr, 0);
	assert_null(cfg.catalog_path);
	assert_string_equal(cfg.commit_url, CONFIG_DEFAULT_COMMIT_URL);
	assert_null(cfg.discord_guild);
	assert_string_equal(cfg.slack_api_url, CONFIG_DEFAULT_SLACK_API_URL);
	assert_string_equal(cfg.discord_api_url,
			    CONFIG_DEFAULT_DISCORD_API_URL);
	assert_int_equal(cfg.allow_insecure_http, 0);
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_int_equal(cfg.request_timeout_ms, 15000);
	assert_string_equal(cfg.listen, CONFIG_DEFAULT_LISTEN);
	assert_string_equal(cfg.database, CONFIG_DEFAULT_DATABASE);
	assert_null(cfg.api_token);
	assert_int_equal(cfg.insecure, 0);
	assert_true(cfg.slack_rate == 1.0);
	assert_true(cfg.slack_workspace_rate == 20.0);
	assert_true(cfg.discord_global_rate == 50.0);
	assert_true(cfg.slack_burst == 3.0);
	assert_int_equal(cfg.max_attempts, 0);	/* unset: no limit */
	assert_int_equal(cfg.max_age_s, 86400);
	assert_int_equal(cfg.retention_s, 30 * 86400);
	assert_int_equal(cfg.shutdown_grace_ms, 10000);
	assert_string_equal(cfg.log_format, "logfmt");
	assert_string_equal(cfg.log_level, "info");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_empty_means_unset(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "",
		"NOTIFICATIONS_DEFAULT_CHANNEL", "   ",
		"NOTIFICATIONS_CHANNEL_MAPPING", "",
		"HERALD_CATALOG", "",
		"HERALD_LISTEN", "",
		"HERALD_MAX_AGE", "",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), 0);
	assert_int_equal(cfg.provider, PROVIDER_LOG);
	assert_int_equal(cfg.provider_explicit, 0);
	assert_null(cfg.default_channel);
	assert_null(cfg.catalog_path);
	assert_string_equal(cfg.listen, CONFIG_DEFAULT_LISTEN);
	assert_int_equal(cfg.max_age_s, 86400);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_full(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "discord",
		"NOTIFICATIONS_TOKEN", "bot-token",
		"NOTIFICATIONS_DEFAULT_CHANNEL", "  #deploys \t",
		"NOTIFICATIONS_CHANNEL_MAPPING", " production = #prod , staging=#staging,",
		"HERALD_CATALOG", "/etc/herald/catalog.yaml",
		"HERALD_COMMIT_URL", "https://git.example.com/{repo}/-/commit/{sha}",
		"NOTIFICATIONS_DISCORD_GUILD", "123456789012345678",
		"HERALD_SLACK_API_URL", "http://127.0.0.1:9999/api/",
		"HERALD_DISCORD_API_URL", "https://discord.example/api//",
		"HERALD_ALLOW_INSECURE_HTTP", "true",
		"HERALD_CONNECT_TIMEOUT", "1",
		"HERALD_REQUEST_TIMEOUT", "600",
		"HERALD_LISTEN", "[::1]:9090",
		"HERALD_DATABASE", "/var/lib/herald/herald.db",
		"HERALD_API_TOKEN", "api-secret",
		"HERALD_INSECURE", "1",
		"HERALD_SLACK_RATE", "0.5",
		"HERALD_SLACK_BURST", "1",
		"HERALD_SLACK_WORKSPACE_RATE", "0",
		"HERALD_DISCORD_GLOBAL_RATE", "45.5",
		"HERALD_MAX_ATTEMPTS", "1000",
		"HERALD_MAX_AGE", "2d",
		"HERALD_SHUTDOWN_GRACE", "0",
		"HERALD_LOG_FORMAT", "JSON",
		"HERALD_LOG_LEVEL", "Debug",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), 0);
	assert_int_equal(problems.nr, 0);
	assert_int_equal(cfg.provider, PROVIDER_DISCORD);
	assert_int_equal(cfg.provider_explicit, 1);
	assert_string_equal(cfg.token, "bot-token");
	assert_string_equal(cfg.default_channel, "#deploys");
	assert_int_equal(cfg.mapping_nr, 2);
	assert_string_equal(cfg.mapping[0].env, "production");
	assert_string_equal(cfg.mapping[0].channel, "#prod");
	assert_string_equal(cfg.catalog_path, "/etc/herald/catalog.yaml");
	assert_string_equal(cfg.commit_url,
			    "https://git.example.com/{repo}/-/commit/{sha}");
	assert_string_equal(cfg.discord_guild, "123456789012345678");
	assert_string_equal(cfg.slack_api_url, "http://127.0.0.1:9999/api");
	assert_string_equal(cfg.discord_api_url, "https://discord.example/api");
	assert_int_equal(cfg.allow_insecure_http, 1);
	assert_int_equal(cfg.connect_timeout_ms, 1000);
	assert_int_equal(cfg.request_timeout_ms, 600000);
	assert_string_equal(cfg.listen, "[::1]:9090");
	assert_string_equal(cfg.database, "/var/lib/herald/herald.db");
	assert_string_equal(cfg.api_token, "api-secret");
	assert_int_equal(cfg.insecure, 1);
	assert_true(cfg.slack_rate == 0.5);
	assert_true(cfg.slack_burst == 1.0);
	assert_true(cfg.slack_workspace_rate == 0.0);
	assert_true(cfg.discord_global_rate == 45.5);
	assert_int_equal(cfg.max_attempts, 1000);
	assert_int_equal(cfg.max_age_s, 2 * 86400);
	assert_int_equal(cfg.shutdown_grace_ms, 0);
	assert_string_equal(cfg.log_format, "json");
	assert_string_equal(cfg.log_level, "debug");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_provider(void **state)
{
	static const char *const slack[] = {
		"NOTIFICATIONS_PROVIDER", "SlAcK",
		"NOTIFICATIONS_TOKEN", SECRET, NULL,
	};
	static const char *const bad[] = {
		"NOTIFICATIONS_PROVIDER", "teams", NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;
	enum provider_kind kind = PROVIDER_LOG;

	assert_int_equal(load(&cfg, &problems, slack, NULL), 0);
	assert_int_equal(cfg.provider, PROVIDER_SLACK);
	assert_int_equal(cfg.provider_explicit, 1);
	config_release(&cfg);

	assert_int_equal(load(&cfg, &problems, bad, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_PROVIDER \"teams\" is not a known "
			    "provider: use slack or discord, or leave it "
			    "unset to print notifications instead");
	assert_int_equal(cfg.provider, PROVIDER_LOG);
	assert_int_equal(cfg.provider_explicit, 0);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(provider_kind_parse("DISCORD", &kind), 0);
	assert_int_equal(kind, PROVIDER_DISCORD);
	assert_int_equal(provider_kind_parse("log", &kind), -1);
	assert_int_equal(provider_kind_parse(NULL, &kind), -1);
	assert_string_equal(provider_kind_name(PROVIDER_LOG), "log");
	assert_string_equal(provider_kind_name(PROVIDER_SLACK), "slack");
	assert_string_equal(provider_kind_name(PROVIDER_DISCORD), "discord");
}

static void test_token_missing(void **state)
{
	static const char *const slack[] = {
		"NOTIFICATIONS_PROVIDER", "slack", NULL,
	};
	static const char *const discord[] = {
		"NOTIFICATIONS_PROVIDER", "discord",
		"NOTIFICATIONS_TOKEN", "", NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, slack, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_TOKEN is not set: slack needs a bot "
			    "token; set NOTIFICATIONS_TOKEN, or "
			    "NOTIFICATIONS_TOKEN_FILE to a file holding it");
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, discord, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_true(has_problem(&problems, "discord needs a bot token"));
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_token_both(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN", SECRET,
		"NOTIFICATIONS_TOKEN_FILE", "/run/secrets/token",
		"HERALD_API_TOKEN", "api-SECRET",
		"HERALD_API_TOKEN_FILE", "/run/secrets/api",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_TOKEN and NOTIFICATIONS_TOKEN_FILE "
			    "are both set: set only one "
			    "(NOTIFICATIONS_TOKEN_FILE for a mounted secret "
			    "file)");
	assert_true(has_problem(&problems, "HERALD_API_TOKEN and "
				"HERALD_API_TOKEN_FILE are both set"));
	assert_null(cfg.token);
	assert_null(cfg.api_token);
	assert_clean(&problems, SECRET);
	assert_clean(&problems, "api-SECRET");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_token_file(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN_FILE", "/run/secrets/token",
		"HERALD_API_TOKEN_FILE", "/run/secrets/api",
		NULL,
	};
	static const struct fake_file files[] = {
		{ "/run/secrets/token", SECRET "\n", 0 },
		{ "/run/secrets/api", "api-secret\r\n", 0 },
		{ NULL, NULL, 0 },
	};
	static const struct fake_file plain[] = {
		{ "/run/secrets/token", SECRET, 0 },
		{ "/run/secrets/api", "api-secret", 0 },
		{ NULL, NULL, 0 },
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, files), 0);
	assert_string_equal(cfg.token, SECRET);
	assert_string_equal(cfg.api_token, "api-secret");
	config_release(&cfg);

	assert_int_equal(load(&cfg, &problems, env, plain), 0);
	assert_string_equal(cfg.token, SECRET);
	assert_string_equal(cfg.api_token, "api-secret");
	assert_int_equal(problems.nr, 0);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_token_file_bad(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN_FILE", "/run/secrets/x",
		"HERALD_API_TOKEN_FILE", "/run/secrets/api",
		NULL,
	};
	static const struct fake_file two_newlines[] = {
		{ "/run/secrets/x", SECRET "\n\n", 0 },
		{ "/run/secrets/api", "\n", 0 },
		{ NULL, NULL, 0 },
	};
	static const struct fake_file nul[] = {
		{ "/run/secrets/x", SECRET "\0x", sizeof(SECRET) + 1 },
		{ "/run/secrets/api", "api secret", 0 },
		{ NULL, NULL, 0 },
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	/* The files do not exist. */
	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_TOKEN_FILE: cannot read "
			    "\"/run/secrets/x\": No such file or directory");
	assert_string_equal(problems.items[1],
			    "HERALD_API_TOKEN_FILE: cannot read "
			    "\"/run/secrets/api\": No such file or directory");
	assert_null(cfg.token);
	config_release(&cfg);
	errlist_release(&problems);

	/* Only one trailing newline is stripped; an empty file is no token. */
	assert_int_equal(load(&cfg, &problems, env, two_newlines),
			 HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_TOKEN_FILE: the token in "
			    "\"/run/secrets/x\" contains white space: the file "
			    "must hold only the token (one trailing newline is "
			    "fine)");
	assert_string_equal(problems.items[1],
			    "HERALD_API_TOKEN_FILE: \"/run/secrets/api\" is "
			    "empty: put the token in it");
	assert_clean(&problems, SECRET);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, env, nul), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_true(has_problem(&problems, "NOTIFICATIONS_TOKEN_FILE: the "
				"token in \"/run/secrets/x\" contains a control "
				"character"));
	assert_true(has_problem(&problems, "HERALD_API_TOKEN_FILE: the token "
				"in \"/run/secrets/api\" contains white space"));
	assert_clean(&problems, SECRET);
	assert_clean(&problems, "api secret");
	assert_null(cfg.token);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_token_whitespace(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN", "xoxb-12 SECRETSECRET",
		"HERALD_API_TOKEN", "api\x01SECRET",
		NULL,
	};
	static const char *const trailing[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN", SECRET "\n",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_TOKEN contains white space: set it "
			    "to the token alone (value not shown: it is "
			    "secret)");
	assert_string_equal(problems.items[1],
			    "HERALD_API_TOKEN contains a control character: "
			    "set it to the token alone (value not shown: it is "
			    "secret)");
	assert_clean(&problems, "SECRETSECRET");
	assert_clean(&problems, "xoxb-12");
	assert_clean(&problems, "SECRET");
	assert_null(cfg.token);
	assert_null(cfg.api_token);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, trailing, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_true(has_problem(&problems, "NOTIFICATIONS_TOKEN contains "
				"white space"));
	assert_clean(&problems, SECRET);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_token_for_log(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_TOKEN", SECRET, NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), 0);
	assert_int_equal(cfg.provider, PROVIDER_LOG);
	assert_string_equal(cfg.token, SECRET);
	config_release(&cfg);
	errlist_release(&problems);
}

/* Problems from a mapping given through config_load(). */
static void load_mapping(const char *mapping, struct config *cfg,
			 struct errlist *problems, int want)
{
	const char *env[] = {
		"NOTIFICATIONS_CHANNEL_MAPPING", mapping, NULL,
	};

	assert_int_equal(load(cfg, problems, env, NULL), want);
}

static void test_mapping(void **state)
{
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	load_mapping("production=#prod,staging = #staging , ,dev=@jane,",
		     &cfg, &problems, 0);
	assert_int_equal(cfg.mapping_nr, 3);
	assert_string_equal(cfg.mapping[1].env, "staging");
	assert_string_equal(cfg.mapping[1].channel, "#staging");
	assert_string_equal(config_channel_for_env(&cfg, "production"),
			    "#prod");
	assert_string_equal(config_channel_for_env(&cfg, "dev"), "@jane");
	assert_null(config_channel_for_env(&cfg, "Production"));
	assert_null(config_channel_for_env(&cfg, "prod"));
	assert_null(config_channel_for_env(&cfg, NULL));
	config_release(&cfg);

	/*
	 * A second "=" is a comma forgotten (no channel name holds one): the
	 * item is refused and the problem shows the items split.
	 */
	load_mapping("qa=#a=b", &cfg, &problems, HERALD_EINVAL);
	assert_null(config_channel_for_env(&cfg, "qa"));
	assert_true(has_problem(&problems, "item 1 \"qa=#a=b\" holds a second "
				"\"=\""));
	errlist_release(&problems);
	config_release(&cfg);

	load_mapping(",,,", &cfg, &problems, 0);
	assert_int_equal(cfg.mapping_nr, 0);
	assert_int_equal(problems.nr, 0);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_mapping_errors(void **state)
{
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	load_mapping("staging=#staging, production ,=#x,qa=,,staging=ops,"
		     "dev=#dev,staging=#again,=", &cfg, &problems,
		     HERALD_EINVAL);
	assert_int_equal(problems.nr, 6);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 2 "
			    "\"production\" has no \"=\": expected "
			    "env=channel");
	assert_string_equal(problems.items[1],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 3 \"=#x\" has "
			    "no environment before \"=\": expected env=channel");
	assert_string_equal(problems.items[2],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 4 \"qa=\" has "
			    "no channel after \"=\": expected env=channel");
	assert_string_equal(problems.items[3],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 6 "
			    "\"staging=ops\" names environment \"staging\" "
			    "again (first in item 1): each environment maps "
			    "to one channel");
	assert_string_equal(problems.items[4],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 8 "
			    "\"staging=#again\" names environment \"staging\" "
			    "again (first in item 1): each environment maps "
			    "to one channel");
	assert_string_equal(problems.items[5],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 9 \"=\" has "
			    "no environment before \"=\": expected env=channel");
	/* The good items are kept, the first of a duplicate wins. */
	assert_int_equal(cfg.mapping_nr, 2);
	assert_string_equal(config_channel_for_env(&cfg, "staging"),
			    "#staging");
	assert_string_equal(config_channel_for_env(&cfg, "dev"), "#dev");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_mapping_direct(void **state)
{
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	config_init(&cfg);
	assert_int_equal(config_parse_mapping(&cfg, "a=#1,b=#2", &problems),
			 0);
	assert_int_equal(cfg.mapping_nr, 2);
	/* Parsing again replaces the mapping. */
	assert_int_equal(config_parse_mapping(&cfg, "c=#3", &problems), 0);
	assert_int_equal(cfg.mapping_nr, 1);
	assert_null(config_channel_for_env(&cfg, "a"));
	assert_string_equal(config_channel_for_env(&cfg, "c"), "#3");
	assert_int_equal(config_parse_mapping(&cfg, NULL, &problems), 0);
	assert_int_equal(cfg.mapping_nr, 0);
	/* Control characters are escaped, so a problem stays on one line. */
	assert_int_equal(config_parse_mapping(&cfg, "a\nb\"c", &problems),
			 HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_CHANNEL_MAPPING: item 1 "
			    "\"a\\x0ab\\\"c\" has no \"=\": expected "
			    "env=channel");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_commit_url(void **state)
{
	static const char *const no_sha[] = {
		"HERALD_COMMIT_URL", "https://github.com/{repo}/commit/", NULL,
	};
	static const char *const no_http[] = {
		"HERALD_COMMIT_URL", "ftp://example.com/{sha}", NULL,
	};
	static const char *const neither[] = {
		"HERALD_COMMIT_URL", "example.com", NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, no_sha, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "HERALD_COMMIT_URL "
			    "\"https://github.com/{repo}/commit/\" has no "
			    "{sha}: put {sha} where the commit ID goes, e.g. "
			    CONFIG_DEFAULT_COMMIT_URL);
	assert_string_equal(cfg.commit_url, CONFIG_DEFAULT_COMMIT_URL);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, no_http, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "HERALD_COMMIT_URL \"ftp://example.com/{sha}\" is "
			    "not an http:// or https:// URL: use a link "
			    "template such as " CONFIG_DEFAULT_COMMIT_URL);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, neither, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_delivery_errors(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_DISCORD_GUILD", "my-server",
		"HERALD_SLACK_API_URL", "slack.com/api",
		"HERALD_DISCORD_API_URL", "https://",
		"HERALD_ALLOW_INSECURE_HTTP", "yes",
		"HERALD_CONNECT_TIMEOUT", "0",
		"HERALD_REQUEST_TIMEOUT", "15s",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 6);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_DISCORD_GUILD \"my-server\" is not a "
			    "guild ID: use the server's numeric ID (Copy "
			    "Server ID in Discord's developer mode)");
	assert_string_equal(problems.items[1],
			    "HERALD_SLACK_API_URL \"slack.com/api\" is not an "
			    "http:// or https:// URL: set the API base URL, "
			    "e.g. https://slack.com/api");
	assert_string_equal(problems.items[2],
			    "HERALD_DISCORD_API_URL \"https://\" is not an "
			    "http:// or https:// URL: set the API base URL, "
			    "e.g. https://discord.com/api/v10");
	assert_string_equal(problems.items[3],
			    "HERALD_ALLOW_INSECURE_HTTP \"yes\" is not a "
			    "boolean: use 1 or 0 (true or false)");
	assert_string_equal(problems.items[4],
			    "HERALD_CONNECT_TIMEOUT \"0\" is not a whole number "
			    "of seconds from 1 to 300: set it in that range");
	assert_string_equal(problems.items[5],
			    "HERALD_REQUEST_TIMEOUT \"15s\" is not a whole "
			    "number of seconds from 1 to 600: set it in that "
			    "range");
	/* Bad values leave the defaults in place. */
	assert_null(cfg.discord_guild);
	assert_string_equal(cfg.slack_api_url, CONFIG_DEFAULT_SLACK_API_URL);
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_int_equal(cfg.request_timeout_ms, 15000);
	config_release(&cfg);
	errlist_release(&problems);
}

/* HERALD_URL: an http(s) base URL, its trailing slashes dropped; unset by default. */
static void test_herald_url(void **state)
{
	static const char *const good[] = {
		"HERALD_URL", "https://herald.example.com/", NULL,
	};
	static const char *const bad[] = {
		"HERALD_URL", "herald:8080", NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, good, NULL), 0);
	assert_string_equal(cfg.url, "https://herald.example.com");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &problems, bad, NULL), HERALD_EINVAL);
	assert_true(has_problem(&problems, "HERALD_URL \"herald:8080\" is not "
				"an http:// or https:// URL: set herald serve's "
				"address, e.g. http://127.0.0.1:8080"));
	assert_null(cfg.url);
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_listen(void **state)
{
	static const struct {
		const char *value;
		const char *problem;	/* NULL: accepted */
	} cases[] = {
		{ "0.0.0.0:80", NULL },
		{ "localhost:0", NULL },
		{ "[::1]:8080", NULL },
		{ "[::]:65535", NULL },
		{ "127.0.0.1", "has no port" },
		{ "127.0.0.1:65536", "has a bad port" },
		{ "127.0.0.1:-1", "has a bad port" },
		{ "127.0.0.1:", "has a bad port" },
		{ "127.0.0.1:+80", "has a bad port" },
		{ ":8080", "has no host" },
		{ "::1:8080", "is ambiguous" },
		{ "[::1]8080", "has no port" },
		{ "[]:8080", "is not host:port" },
		{ "[::1:8080", "is not host:port" },
		{ "exa mple:80", "has a bad host name" },
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { "HERALD_LISTEN", cases[i].value, NULL };

		load(&cfg, &problems, env, NULL);
		if (!cases[i].problem) {
			assert_int_equal(problems.nr, 0);
			assert_string_equal(cfg.listen, cases[i].value);
		} else {
			assert_int_equal(problems.nr, 1);
			assert_non_null(strstr(problems.items[0],
					       cases[i].problem));
			assert_int_equal(strncmp(problems.items[0],
						 "HERALD_LISTEN \"", 15), 0);
			assert_string_equal(cfg.listen, CONFIG_DEFAULT_LISTEN);
		}
		config_release(&cfg);
		errlist_release(&problems);
	}
}

static void test_database(void **state)
{
	static const char *const pg[] = {
		"HERALD_DATABASE", "postgresql://herald:hunter2@db/herald",
		NULL,
	};
	static const char *const pg2[] = {
		"HERALD_DATABASE", "postgres://db/herald", NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, pg, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "HERALD_DATABASE is a PostgreSQL URL: PostgreSQL "
			    "support is not available yet; use a SQLite file "
			    "path");
	assert_clean(&problems, "hunter2");
	assert_string_equal(cfg.database, CONFIG_DEFAULT_DATABASE);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, pg2, NULL), HERALD_EINVAL);
	assert_true(has_problem(&problems, "PostgreSQL support is not "
				"available yet"));
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_daemon_errors(void **state)
{
	static const char *const env[] = {
		"HERALD_INSECURE", "2",
		"HERALD_SLACK_RATE", "0",
		"HERALD_SLACK_BURST", "0.5",
		"HERALD_MAX_ATTEMPTS", "1001",
		"HERALD_MAX_AGE", "1w",
		"HERALD_SHUTDOWN_GRACE", "3601",
		"HERALD_LOG_FORMAT", "text",
		"HERALD_LOG_LEVEL", "trace",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 8);
	assert_string_equal(problems.items[0],
			    "HERALD_INSECURE \"2\" is not a boolean: use 1 or 0 "
			    "(true or false)");
	assert_string_equal(problems.items[1],
			    "HERALD_SLACK_RATE \"0\" is not a number above 0 "
			    "and at most 100: set it in that range");
	assert_string_equal(problems.items[2],
			    "HERALD_SLACK_BURST \"0.5\" is not a number of at "
			    "least 1 and at most 1000: set it in that range");
	assert_string_equal(problems.items[3],
			    "HERALD_MAX_ATTEMPTS \"1001\" is not a whole number "
			    "from 1 to 1000: set it in that range");
	assert_string_equal(problems.items[4],
			    "HERALD_MAX_AGE \"1w\" is not a duration from 1s to "
			    "30d: use seconds or a number with s, m, h or d, "
			    "e.g. 24h");
	assert_string_equal(problems.items[5],
			    "HERALD_SHUTDOWN_GRACE \"3601\" is not a whole "
			    "number of seconds from 0 to 3600: set it in that "
			    "range");
	assert_string_equal(problems.items[6],
			    "HERALD_LOG_FORMAT \"text\" is not accepted: use "
			    "logfmt or json");
	assert_string_equal(problems.items[7],
			    "HERALD_LOG_LEVEL \"trace\" is not accepted: use "
			    "debug, info, warn or error");
	assert_int_equal(cfg.insecure, 0);
	assert_true(cfg.slack_rate == 1.0);
	assert_int_equal(cfg.max_attempts, 0);
	assert_string_equal(cfg.log_level, "info");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_numbers(void **state)
{
	static const struct {
		const char *name, *value;
		int ok;
	} cases[] = {
		{ "HERALD_SLACK_RATE", "100", 1 },
		{ "HERALD_SLACK_RATE", "0.01", 1 },
		{ "HERALD_SLACK_RATE", "100.5", 0 },
		{ "HERALD_SLACK_RATE", "-1", 0 },
		{ "HERALD_SLACK_RATE", "nan", 0 },
		{ "HERALD_SLACK_RATE", "inf", 0 },
		{ "HERALD_SLACK_RATE", "0x10", 0 },
		{ "HERALD_SLACK_RATE", "1/s", 0 },
		{ "HERALD_SLACK_BURST", "1000", 1 },
		{ "HERALD_SLACK_BURST", "1000.1", 0 },
		{ "HERALD_MAX_ATTEMPTS", "1", 1 },
		{ "HERALD_MAX_ATTEMPTS", "0", 0 },
		{ "HERALD_MAX_ATTEMPTS", "+5", 0 },
		{ "HERALD_MAX_ATTEMPTS", "5.0", 0 },
		{ "HERALD_MAX_ATTEMPTS", "99999999999999999999999", 0 },
		{ "HERALD_CONNECT_TIMEOUT", "300", 1 },
		{ "HERALD_CONNECT_TIMEOUT", "301", 0 },
		{ "HERALD_REQUEST_TIMEOUT", "601", 0 },
		{ "HERALD_SHUTDOWN_GRACE", "3600", 1 },
		{ "HERALD_MAX_AGE", "0", 0 },
		{ "HERALD_MAX_AGE", "0h", 0 },
		{ "HERALD_MAX_AGE", "h", 0 },
		{ "HERALD_MAX_AGE", "30d", 1 },
		{ "HERALD_MAX_AGE", "31d", 0 },
		{ "HERALD_MAX_AGE", "-1h", 0 },
		{ "HERALD_MAX_AGE", "99999999999999999999d", 0 },
		{ "HERALD_RETENTION", "off", 1 },
		{ "HERALD_RETENTION", "OFF", 1 },
		{ "HERALD_RETENTION", "0", 1 },
		{ "HERALD_RETENTION", "0d", 1 },
		{ "HERALD_RETENTION", "1m", 1 },
		{ "HERALD_RETENTION", "59s", 0 },
		{ "HERALD_RETENTION", "3650d", 1 },
		{ "HERALD_RETENTION", "3651d", 0 },
		{ "HERALD_RETENTION", "never", 0 },
		{ "HERALD_ALLOW_INSECURE_HTTP", "FALSE", 1 },
		{ "HERALD_INSECURE", "0", 1 },
		{ "HERALD_INSECURE", "on", 0 },
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { cases[i].name, cases[i].value, NULL };

		load(&cfg, &problems, env, NULL);
		if (problems.nr != (cases[i].ok ? 0u : 1u))
			fail_msg("%s=%s: %zu problems", cases[i].name,
				 cases[i].value, problems.nr);
		config_release(&cfg);
		errlist_release(&problems);
	}
}

static void test_durations(void **state)
{
	static const struct {
		const char *value;
		long seconds;
	} cases[] = {
		{ "90", 90 }, { "90s", 90 }, { "15m", 900 }, { "24h", 86400 },
		{ "7d", 604800 }, { " 2h ", 7200 },
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { "HERALD_MAX_AGE", cases[i].value, NULL };

		assert_int_equal(load(&cfg, &problems, env, NULL), 0);
		assert_int_equal(cfg.max_age_s, cases[i].seconds);
		config_release(&cfg);
	}
	errlist_release(&problems);
}

/* HERALD_RETENTION: a duration, or off; its problem says both. */
static void test_retention(void **state)
{
	static const struct {
		const char *value;
		long seconds;
	} cases[] = {
		{ "off", 0 }, { "0", 0 }, { "2h", 7200 }, { "90d", 7776000 },
	};
	const char *bad[] = { "HERALD_RETENTION", "30s", NULL };
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = { "HERALD_RETENTION", cases[i].value, NULL };

		assert_int_equal(load(&cfg, &problems, env, NULL), 0);
		assert_int_equal(cfg.retention_s, cases[i].seconds);
		config_release(&cfg);
	}
	assert_int_not_equal(load(&cfg, &problems, bad, NULL), 0);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0],
			    "HERALD_RETENTION \"30s\" is not a duration from 1m "
			    "to 3650d, or off: use seconds or a number with s, "
			    "m, h or d, e.g. 30d");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_every_problem_at_once(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN", "xoxb-SECRET",
		"NOTIFICATIONS_TOKEN_FILE", "/x",
		"NOTIFICATIONS_CHANNEL_MAPPING", "a,b",
		"HERALD_LISTEN", "nope",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 4);
	assert_clean(&problems, "SECRET");
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_quoting(void **state)
{
	char long_value[400];
	const char *env[] = { "HERALD_LOG_LEVEL", long_value, NULL };
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	load(&cfg, &problems, env, NULL);
	assert_int_equal(problems.nr, 1);
	/* A long value is cut short. */
	assert_true(strlen(problems.items[0]) < 250);
	assert_non_null(strstr(problems.items[0], "xxx…\""));
	config_release(&cfg);
	errlist_release(&problems);
}

static void test_redact(void **state)
{
	char buf[64];
	char tiny[4];

	assert_string_equal(config_redact(SECRET, buf, sizeof(buf)), "xoxb-…");
	assert_string_equal(config_redact("xoxp-1-2", buf, sizeof(buf)),
			    "xoxp-…");
	assert_string_equal(config_redact("xoxa-2-x", buf, sizeof(buf)),
			    "xoxa-…");
	assert_string_equal(config_redact("xapp-1-A", buf, sizeof(buf)),
			    "xapp-…");
	assert_string_equal(config_redact("MTA0.discord.token", buf,
					  sizeof(buf)), "…");
	assert_string_equal(config_redact("xoxb-", buf, sizeof(buf)), "…");
	assert_string_equal(config_redact("xox", buf, sizeof(buf)), "…");
	assert_string_equal(config_redact("", buf, sizeof(buf)), "…");
	assert_string_equal(config_redact(NULL, buf, sizeof(buf)), "(unset)");
	assert_string_equal(config_redact(SECRET, tiny, sizeof(tiny)), "…");
	assert_string_equal(config_redact(SECRET, NULL, 0), "…");
	assert_null(strstr(config_redact(SECRET, buf, sizeof(buf)), "1234"));
}

static void test_mapping_file(void **state)
{
	static const char *const env[] = {
		"NOTIFICATIONS_CHANNEL_MAPPING_FILE", "/etc/herald/mapping",
		NULL,
	};
	static const char *const both[] = {
		"NOTIFICATIONS_CHANNEL_MAPPING", "qa=#qa",
		"NOTIFICATIONS_CHANNEL_MAPPING_FILE", "/etc/herald/mapping",
		NULL,
	};
	static const struct fake_file good[] = {
		{ "/etc/herald/mapping", "# environment=channel, one a line\n"
		  "staging = #staging-deploys\n\n"
		  "production=#production-deploys, qa=@jane\n", 0 },
		{ NULL, NULL, 0 },
	};
	static const struct fake_file bad[] = {
		{ "/etc/herald/mapping", "staging=#s\nproduction\nstaging=#t\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, env, good), 0);
	assert_int_equal(cfg.mapping_nr, 3);
	assert_string_equal(config_channel_for_env(&cfg, "staging"),
			    "#staging-deploys");
	assert_string_equal(config_channel_for_env(&cfg, "production"),
			    "#production-deploys");
	assert_string_equal(config_channel_for_env(&cfg, "qa"), "@jane");
	config_release(&cfg);

	assert_int_equal(load(&cfg, &problems, env, bad), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_string_equal(problems.items[0],
			    "NOTIFICATIONS_CHANNEL_MAPPING_FILE "
			    "\"/etc/herald/mapping\": item 2 \"production\" "
			    "has no \"=\": expected env=channel");
	assert_true(has_problem(&problems, "item 3 \"staging=#t\" names "
				"environment \"staging\" again (first in item 1)"));
	assert_int_equal(cfg.mapping_nr, 1);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, both, good), HERALD_EINVAL);
	assert_true(has_problem(&problems, "NOTIFICATIONS_CHANNEL_MAPPING and "
				"NOTIFICATIONS_CHANNEL_MAPPING_FILE are both set"));
	assert_int_equal(cfg.mapping_nr, 0);
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, env, NULL), HERALD_EINVAL);
	assert_true(has_problem(&problems, "NOTIFICATIONS_CHANNEL_MAPPING_FILE: "
				"cannot read \"/etc/herald/mapping\""));
	config_release(&cfg);
	errlist_release(&problems);
}

/* The loaded configuration's destinations, API URL and token shape. */
static void test_checked_together(void **state)
{
	static const char *const bad[] = {
		"NOTIFICATIONS_PROVIDER", "discord",
		"NOTIFICATIONS_TOKEN", SECRET,
		"NOTIFICATIONS_DEFAULT_CHANNEL", "backend deploys",
		"NOTIFICATIONS_CHANNEL_MAPPING",
		"staging=#s production=#p,dev=@jane@example.com",
		"HERALD_DISCORD_API_URL", "http://user:pw@proxy.example:8080/api",
		NULL,
	};
	static const char *const loopback[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN", "xoxb-1",
		"HERALD_SLACK_API_URL", "http://127.0.0.1:9/api",
		"HERALD_DISCORD_API_URL", "http://example.com",
		NULL,
	};
	static const char *const insecure[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN", "xoxb-1",
		"HERALD_SLACK_API_URL", "http://proxy.example/api",
		"HERALD_ALLOW_INSECURE_HTTP", "1",
		NULL,
	};
	static const char *const discord_on_slack[] = {
		"NOTIFICATIONS_PROVIDER", "slack",
		"NOTIFICATIONS_TOKEN",
		"MTE4MDAwMDAwMDAwMDAwMDAwMQ.GabcDe.abcdefghijklmnopqrstuvwxyz0123",
		"HERALD_SLACK_API_URL", "http://[::1]:9/api",
		NULL,
	};
	static const char *const bot_prefix[] = {
		"NOTIFICATIONS_PROVIDER", "discord",
		"NOTIFICATIONS_TOKEN", "Bot abc.def.ghi",
		NULL,
	};
	struct config cfg;
	struct errlist problems = ERRLIST_INIT;

	assert_int_equal(load(&cfg, &problems, bad, NULL), HERALD_EINVAL);
	assert_clean(&problems, SECRET);
	assert_int_equal(problems.nr, 5);
	assert_string_equal(problems.items[0], "NOTIFICATIONS_CHANNEL_MAPPING: "
			    "item 1 \"staging=#s production=#p\" holds a second "
			    "\"=\": separate items with commas, e.g. "
			    "staging=#s,production=#p");
	assert_true(has_problem(&problems, "NOTIFICATIONS_CHANNEL_MAPPING: "
				"item 2 \"dev=@jane@example.com\" has a channel "
				"that is not a destination: \"@jane@example.com\": "
				"Discord cannot message by email"));
	assert_true(has_problem(&problems, "NOTIFICATIONS_DEFAULT_CHANNEL is "
				"not a destination: \"backend deploys\": a "
				"channel name cannot contain white space"));
	assert_true(has_problem(&problems, "HERALD_DISCORD_API_URL "
				"\"http://user:…@proxy.example:8080/api\" is plain "
				"http:// to a host other than this machine"));
	assert_true(has_problem(&problems, "NOTIFICATIONS_TOKEN has the shape "
				"of a Slack token (xox…) but "
				"NOTIFICATIONS_PROVIDER is discord"));
	assert_int_equal(cfg.mapping_nr, 0);
	config_release(&cfg);
	errlist_release(&problems);

	/* Loopback is fine, and only the provider's own URL is checked. */
	assert_int_equal(load(&cfg, &problems, loopback, NULL), 0);
	config_release(&cfg);
	assert_int_equal(load(&cfg, &problems, insecure, NULL), 0);
	config_release(&cfg);
	assert_int_equal(problems.nr, 0);

	assert_int_equal(load(&cfg, &problems, discord_on_slack, NULL),
			 HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_true(has_problem(&problems, "NOTIFICATIONS_TOKEN has the shape "
				"of a Discord bot token but "
				"NOTIFICATIONS_PROVIDER is slack"));
	assert_clean(&problems, "MTE4MDAw");
	config_release(&cfg);
	errlist_release(&problems);

	assert_int_equal(load(&cfg, &problems, bot_prefix, NULL),
			 HERALD_EINVAL);
	assert_int_equal(problems.nr, 1);
	assert_string_equal(problems.items[0], "NOTIFICATIONS_TOKEN starts "
			    "with \"Bot \": set it to the token alone, without "
			    "the Authorization header's prefix");
	config_release(&cfg);
	errlist_release(&problems);
}

/* Catalog ownerIm values that are not destinations of the provider. */
static void test_check_catalog(void **state)
{
	struct catalog_service services[] = {
		{ "a", NULL, "@", 2 },
		{ "b", NULL, "backend deploys", 4 },
		{ "c", NULL, "@ops@example.com", 6 },
		{ "d", NULL, "#fine", 8 },
		{ "e", NULL, NULL, 10 },
	};
	struct catalog cat = { services, 5, NULL, 0 };
	struct config cfg;
	struct errlist problems = ERRLIST_INIT, warnings = ERRLIST_INIT;

	config_init(&cfg);
	cfg.catalog_path = xstrdup("cat.yaml");
	config_check_catalog(&cfg, &cat, &problems, &warnings);
	assert_int_equal(problems.nr, 2);
	assert_int_equal(warnings.nr, 0);
	assert_string_equal(problems.items[0], "HERALD_CATALOG: cat.yaml:2: "
			    "the ownerIm of service \"a\" is not a destination: "
			    "\"@\": no user after \"@\"; expected @name, "
			    "@<user id> or @email");
	assert_string_equal(problems.items[1], "HERALD_CATALOG: cat.yaml:4: "
			    "the ownerIm of service \"b\" is not a destination: "
			    "\"backend deploys\": a channel name cannot contain "
			    "white space; write \"#channel\", a channel ID or "
			    "\"@person\"");
	errlist_release(&problems);

	/*
	 * An e-mail address is for Slack only: on Discord a warning, as a
	 * catalog may serve a Slack and a Discord herald.
	 */
	cfg.provider = PROVIDER_DISCORD;
	config_check_catalog(&cfg, &cat, &problems, &warnings);
	assert_int_equal(problems.nr, 2);
	assert_int_equal(warnings.nr, 1);
	assert_string_equal(warnings.items[0], "cat.yaml:6: the ownerIm of "
			    "service \"c\" is not a destination on discord: "
			    "\"@ops@example.com\": Discord cannot message by "
			    "email; use @username or @<user id>; events of app c "
			    "are refused until it changes");
	errlist_release(&problems);
	errlist_release(&warnings);
	config_release(&cfg);
}

/* Variables that look like herald's but are not: warned about. */
static void test_check_environ(void **state)
{
	static char *const env[] = {
		"PATH=/bin",
		"NOTIFICATIONS_CHANEL_MAPPING=staging=#s",
		"HERALD_LISTN=127.0.0.1:1",
		"NOTIFICATION_PROVIDER=slack",
		"HERALD_SOMETHING_ELSE_ENTIRELY=1",
		"HERALD_LISTEN=127.0.0.1:1",
		"NOTIFICATIONS_TOKEN_FILE=/x",
		"HERALD_SRC=/src",
		"HERALD_FAKE=/fake",
		"HERALD_SERVICE_HOST=10.0.0.1",
		"HERALD_PORT=tcp://10.0.0.1:8080",
		"HERALD_PORT_8080_TCP_PROTO=tcp",
		"HOME=/root",
		"NOEQUALS",
		NULL,
	};
	struct errlist warnings = ERRLIST_INIT;

	config_check_environ(env, &warnings);
	assert_int_equal(warnings.nr, 4);
	assert_string_equal(warnings.items[0], "NOTIFICATIONS_CHANEL_MAPPING is "
			    "set but is not a herald variable, so it is "
			    "ignored: did you mean NOTIFICATIONS_CHANNEL_MAPPING? "
			    "Rename it, or unset it");
	assert_true(has_problem(&warnings, "HERALD_LISTN is set but is not a "
				"herald variable, so it is ignored: did you "
				"mean HERALD_LISTEN?"));
	assert_true(has_problem(&warnings, "NOTIFICATION_PROVIDER is set but "
				"is not a herald variable, so it is ignored: did "
				"you mean NOTIFICATIONS_PROVIDER?"));
	assert_true(has_problem(&warnings, "HERALD_SOMETHING_ELSE_ENTIRELY is "
				"set but is not a herald variable, so it is "
				"ignored (the closest is "));
	errlist_release(&warnings);
	config_check_environ(NULL, &warnings);
	assert_int_equal(warnings.nr, 0);
}

static void test_process_source(void **state)
{
	char path[] = "/tmp/herald-test-config-XXXXXX";
	struct strbuf sb = STRBUF_INIT;
	struct errbuf err;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("hello\n", f);
	fclose(f);
	assert_int_equal(config_source_process.read_file(NULL, path, &sb,
							 &err), 0);
	assert_string_equal(sb.buf, "hello\n");
	strbuf_release(&sb);

	/* Over the buffer's cap is refused. */
	strbuf_init(&sb, 64u * 1024);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 65 * 1024; i++)
		fputc('x', f);
	fclose(f);
	assert_true(config_source_process.read_file(NULL, path, &sb, &err) < 0);
	assert_non_null(strstr(err.msg, "is larger than 64 KiB"));
	strbuf_release(&sb);
	unlink(path);

	assert_true(config_source_process.read_file(NULL, path, &sb, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot read \"/tmp/herald-test-"));
	assert_non_null(strstr(err.msg, "\": No such file or directory"));
	strbuf_release(&sb);

	setenv("HERALD_TEST_CONFIG_VAR", "v", 1);
	assert_string_equal(config_source_process.getenv(NULL,
			    "HERALD_TEST_CONFIG_VAR"), "v");
	unsetenv("HERALD_TEST_CONFIG_VAR");
	assert_null(config_source_process.getenv(NULL,
						 "HERALD_TEST_CONFIG_VAR"));
}

/* HERALD_SUMMARY, Gimlet's FEATURE_WEEKLY_SUMMARY and which wins. */
static void test_summary_vars(void **state)
{
	struct errlist problems = ERRLIST_INIT;
	struct config cfg;
	const char *gimlet[] = { "FEATURE_WEEKLY_SUMMARY", "true", NULL };
	const char *both[] = { "FEATURE_WEEKLY_SUMMARY", "true",
			       "HERALD_SUMMARY", "OFF", NULL };
	const char *own[] = { "HERALD_SUMMARY", "fri 17:30",
			      "HERALD_SUMMARY_ENVS", "qa>staging", NULL };
	const char *bad[] = { "HERALD_SUMMARY", "monday 9",
			      "HERALD_SUMMARY_ENVS", "production", NULL };

	(void)state;
	assert_int_equal(load(&cfg, &problems, gimlet, NULL), 0);
	assert_string_equal(cfg.summary, "mon 09:00");
	assert_string_equal(cfg.summary_envs, "staging>production");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &problems, both, NULL), 0);
	assert_string_equal(cfg.summary, "off");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &problems, own, NULL), 0);
	assert_string_equal(cfg.summary, "fri 17:30");
	assert_string_equal(cfg.summary_envs, "qa>staging");
	config_release(&cfg);
	assert_int_equal(load(&cfg, &problems, bad, NULL), HERALD_EINVAL);
	assert_int_equal(problems.nr, 2);
	assert_string_equal(problems.items[0], "HERALD_SUMMARY: \"monday 9\" is "
			    "not a day and time: expected e.g. \"mon 09:00\" "
			    "(or \"off\")");
	assert_string_equal(problems.items[1], "HERALD_SUMMARY_ENVS: item 1 "
			    "\"production\" has no \">\": expected "
			    "ahead>behind, e.g. staging>production");
	assert_null(cfg.summary);
	config_release(&cfg);
	errlist_release(&problems);
}

/* Every row is complete, and its default is a value it accepts. */
static void test_table(void **state)
{
	struct errlist problems = ERRLIST_INIT;
	struct config init, cfg;

	config_init(&init);
	for (size_t i = 0; i < config_vars_nr; i++) {
		const struct config_var *var = &config_vars[i];
		const char *env[] = { var->name, var->def, NULL };
		json_t *want, *got;

		/* FEATURE_: Gimlet's feature switches, kept as they were. */
		if (strncmp(var->name, "NOTIFICATIONS_", 14) &&
		    strncmp(var->name, "HERALD_", 7) &&
		    strncmp(var->name, "FEATURE_", 8))
			fail_msg("%s: not a NOTIFICATIONS_, HERALD_ or FEATURE_ "
				 "name", var->name);
		if (!var->help || !*var->help)
			fail_msg("%s has no help text", var->name);
		assert_ptr_equal(config_var_find(var->name), var);
		assert_true(var->min <= var->max);
		assert_true(var->type != CONFIG_CHOICE || var->choices);
		if (var->line && !var->label &&
		    (!i || config_vars[i - 1].line != var->line))
			fail_msg("%s starts line %u without a label",
				 var->name, var->line);
		if (!var->def)
			continue;
		if (load(&cfg, &problems, env, NULL) || problems.nr)
			fail_msg("%s: the default \"%s\" is refused: %s",
				 var->name, var->def, problems.items[0]);
		want = config_var_json(var, &init);
		got = config_var_json(var, &cfg);
		if (!json_equal(want, got))
			fail_msg("%s: config_init() and loading \"%s\" differ",
				 var->name, var->def);
		json_decref(want);
		json_decref(got);
		config_release(&cfg);
	}
	assert_null(config_var_find("HERALD_NOPE"));
	config_release(&init);
	errlist_release(&problems);
}

/* The line after the one at p, or NULL after the last. */
static const char *next_line(const char *p)
{
	p = strchr(p, '\n');
	return p ? p + 1 : NULL;
}

/* The line of text starting with prefix (to free), or NULL. */
static char *doc_line(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);

	for (const char *p = text; p; p = next_line(p))
		if (!strncmp(p, prefix, len))
			return strndup(p, strcspn(p, "\n"));
	return NULL;
}

/* 1 when some "### " heading of text names `name`. */
static int doc_heading(const char *text, const char *name)
{
	char want[128];

	snprintf(want, sizeof(want), "`%s`", name);
	for (const char *p = text; p; p = next_line(p)) {
		size_t len = strcspn(p, "\n");

		if (!strncmp(p, "### ", 4) && memmem(p, len, want, strlen(want)))
			return 1;
	}
	return 0;
}

/*
 * name has a section and a row in the summary table of the documentation,
 * and that row's default is def (when there is one).
 */
static void check_documented(const char *text, const char *name,
			     const char *def)
{
	char prefix[128], want[256];
	char *row;

	if (!doc_heading(text, name))
		fail_msg("docs/configuration.md has no section (### `%s`)",
			 name);
	snprintf(prefix, sizeof(prefix), "| `%s` | ", name);
	row = doc_line(text, prefix);
	if (!row)
		fail_msg("docs/configuration.md: the summary table has no row "
			 "for %s", name);
	snprintf(want, sizeof(want), "`%s` |", def ? def : "");
	if (def && strncmp(row + strlen(prefix), want, strlen(want)))
		fail_msg("docs/configuration.md: the default of %s is `%s`, "
			 "the summary says: %s", name, def, row);
	free(row);
}

/*
 * 1 when the documentation may name name although it is not a variable:
 * one of the tools' variables, which herald leaves alone, or a typo shown
 * as an example, which herald names the right variable for.
 */
static int not_herald_example(const char *name)
{
	struct strbuf entry = STRBUF_INIT;
	struct errlist warnings = ERRLIST_INIT;
	char *env[2];
	int ret;

	strbuf_addf(&entry, "%s=1", name);
	env[0] = entry.buf;
	env[1] = NULL;
	config_check_environ(env, &warnings);
	ret = !warnings.nr || strstr(warnings.items[0], "did you mean");
	errlist_release(&warnings);
	strbuf_release(&entry);
	return ret;
}

/* The table and docs/configuration.md name the same variables. */
static void test_documented(void **state)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	struct errbuf err;
	size_t found = 0;

	strbuf_init(&text, 1024u * 1024);
	strbuf_addf(&path, "%s/docs/configuration.md", root);
	if (config_source_process.read_file(NULL, path.buf, &text, &err) < 0)
		fail_msg("%s", err.msg);

	for (size_t i = 0; i < config_vars_nr; i++) {
		const struct config_var *var = &config_vars[i];
		char file_var[128];

		check_documented(text.buf, var->name, var->def);
		if (!config_var_has_file(var))
			continue;
		snprintf(file_var, sizeof(file_var), "%s_FILE", var->name);
		check_documented(text.buf, file_var, NULL);
	}

	for (const char *p = text.buf; *p; p++) {
		const char *start = p;
		char name[128];
		size_t len;
		const struct config_var *var;

		if (strncmp(p, "NOTIFICATIONS_", 14) && strncmp(p, "HERALD_", 7))
			continue;
		if (p > text.buf && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		p += len - 1;
		if (*p == '_')
			continue;	/* a pattern: `HERALD_*` */
		assert_true(len < sizeof(name));
		memcpy(name, start, len);
		name[len] = '\0';
		found++;
		var = config_var_find(name);
		if (!var && len > 5 && !strcmp(name + len - 5, "_FILE")) {
			name[len - 5] = '\0';
			var = config_var_find(name);
			if (var && !config_var_has_file(var))
				var = NULL;
			name[len - 5] = '_';
		}
		if (!var && !not_herald_example(name))
			fail_msg("docs/configuration.md documents %s, which "
				 "config_vars[] does not have", name);
	}
	assert_true(found >= config_vars_nr);
	strbuf_release(&path);
	strbuf_release(&text);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_means_unset),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_provider),
		cmocka_unit_test(test_token_missing),
		cmocka_unit_test(test_token_both),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_token_file_bad),
		cmocka_unit_test(test_token_whitespace),
		cmocka_unit_test(test_token_for_log),
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_mapping_errors),
		cmocka_unit_test(test_mapping_direct),
		cmocka_unit_test(test_commit_url),
		cmocka_unit_test(test_delivery_errors),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_herald_url),
		cmocka_unit_test(test_database),
		cmocka_unit_test(test_daemon_errors),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_every_problem_at_once),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_mapping_file),
		cmocka_unit_test(test_checked_together),
		cmocka_unit_test(test_check_catalog),
		cmocka_unit_test(test_check_environ),
		cmocka_unit_test(test_process_source),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_summary_vars),
		cmocka_unit_test(test_documented),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
