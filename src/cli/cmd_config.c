/*
 * herald config: prints the effective configuration, secrets redacted, and
 * every problem found in it and in the service catalog.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct report {
	struct config cfg;
	struct catalog cat;
	int catalog_loaded;
	struct errlist problems;
	struct errlist warnings;
};

static void load(struct report *rep)
{
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;

	config_init(&rep->cfg);
	config_load(&rep->cfg, &config_source_process, &rep->problems);
	if (!rep->cfg.catalog_path)
		goto out;
	if (cli_read_file(rep->cfg.catalog_path, 64u * 1024 * 1024, &text,
			  &err) < 0 ||
	    catalog_parse(&rep->cat, text.buf, text.len, rep->cfg.catalog_path,
			  &rep->warnings, &err) < 0) {
		errlist_add(&rep->problems, "HERALD_CATALOG: %s", err.msg);
		goto out;
	}
	rep->catalog_loaded = 1;
out:
	strbuf_release(&text);
}

static const char *or_unset(const char *s)
{
	return s ? s : "(unset)";
}

/* "20 requests/s", or "no limit" for 0. */
static const char *rate_word(double rate, char *buf, size_t len)
{
	if (rate <= 0)
		return "no limit";
	snprintf(buf, len, "%g requests/s", rate);
	return buf;
}

static void print_human(const struct report *rep)
{
	const struct config *cfg = &rep->cfg;
	char redacted[64], api_redacted[64], rate[48];

	printf("provider:          %s%s\n", provider_kind_name(cfg->provider),
	       cfg->provider == PROVIDER_LOG ?
	       " (NOTIFICATIONS_PROVIDER unset: printed, not delivered)" : "");
	printf("token:             %s\n",
	       config_redact(cfg->token, redacted, sizeof(redacted)));
	printf("default channel:   %s\n", or_unset(cfg->default_channel));
	if (!cfg->mapping_nr)
		printf("channel mapping:   (none)\n");
	for (size_t i = 0; i < cfg->mapping_nr; i++)
		printf("%s%s -> %s\n", i ? "                   " :
		       "channel mapping:   ", cfg->mapping[i].env,
		       cfg->mapping[i].channel);
	if (!cfg->catalog_path)
		printf("catalog:           (unset)\n");
	else if (rep->catalog_loaded)
		printf("catalog:           %s (%zu services)\n",
		       cfg->catalog_path, rep->cat.nr);
	else
		printf("catalog:           %s (not loaded)\n", cfg->catalog_path);
	printf("commit URL:        %s\n", or_unset(cfg->commit_url));
	if (cfg->provider == PROVIDER_SLACK)
		printf("Slack API:         %s\n", or_unset(cfg->slack_api_url));
	if (cfg->provider == PROVIDER_DISCORD) {
		printf("Discord API:       %s\n", or_unset(cfg->discord_api_url));
		printf("Discord guild:     %s\n", or_unset(cfg->discord_guild));
	}
	printf("timeouts:          connect %lds, request %lds\n",
	       cfg->connect_timeout_ms / 1000, cfg->request_timeout_ms / 1000);
	printf("listen:            %s\n", or_unset(cfg->listen));
	printf("database:          %s\n", or_unset(cfg->database));
	printf("API token:         %s\n",
	       config_redact(cfg->api_token, api_redacted, sizeof(api_redacted)));
	printf("Slack pacing:      %g posts/s per channel, burst %g; "
	       "workspace %s\n", cfg->slack_rate, cfg->slack_burst,
	       rate_word(cfg->slack_workspace_rate, rate, sizeof(rate)));
	printf("Discord pacing:    the platform's buckets; global %s\n",
	       rate_word(cfg->discord_global_rate, rate, sizeof(rate)));
	printf("shutdown grace:    %lds\n", cfg->shutdown_grace_ms / 1000);
	printf("retries:           up to %ld attempts within %lds\n",
	       cfg->max_attempts, cfg->max_age_s);
	printf("log:               %s, level %s\n", or_unset(cfg->log_format),
	       or_unset(cfg->log_level));

	for (size_t i = 0; i < rep->warnings.nr; i++)
		printf("warning: %s\n", rep->warnings.items[i]);
	if (!rep->problems.nr)
		printf("problems:          none\n");
	for (size_t i = 0; i < rep->problems.nr; i++)
		printf("problem: %s\n", rep->problems.items[i]);
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *list_json(const struct errlist *list)
{
	json_t *a = json_array();

	for (size_t i = 0; i < list->nr; i++)
		json_array_append_new(a, json_string(list->items[i]));
	return a;
}

static void print_json(const struct report *rep)
{
	const struct config *cfg = &rep->cfg;
	char redacted[64], api_redacted[64];
	json_t *o = json_object(), *mapping = json_object();
	char *text;

	for (size_t i = 0; i < cfg->mapping_nr; i++)
		json_object_set_new(mapping, cfg->mapping[i].env,
				    json_string(cfg->mapping[i].channel));
	json_object_set_new(o, "provider",
			    json_string(provider_kind_name(cfg->provider)));
	json_object_set_new(o, "token", cfg->token ?
			    json_string(config_redact(cfg->token, redacted,
						      sizeof(redacted))) :
			    json_null());
	json_object_set_new(o, "default_channel",
			    string_or_null(cfg->default_channel));
	json_object_set_new(o, "channel_mapping", mapping);
	json_object_set_new(o, "catalog", string_or_null(cfg->catalog_path));
	json_object_set_new(o, "catalog_services", rep->catalog_loaded ?
			    json_integer((json_int_t)rep->cat.nr) : json_null());
	json_object_set_new(o, "commit_url", string_or_null(cfg->commit_url));
	json_object_set_new(o, "slack_api_url",
			    string_or_null(cfg->slack_api_url));
	json_object_set_new(o, "discord_api_url",
			    string_or_null(cfg->discord_api_url));
	json_object_set_new(o, "discord_guild",
			    string_or_null(cfg->discord_guild));
	json_object_set_new(o, "listen", string_or_null(cfg->listen));
	json_object_set_new(o, "database", string_or_null(cfg->database));
	json_object_set_new(o, "api_token", cfg->api_token ?
			    json_string(config_redact(cfg->api_token,
						      api_redacted,
						      sizeof(api_redacted))) :
			    json_null());
	json_object_set_new(o, "slack_rate", json_real(cfg->slack_rate));
	json_object_set_new(o, "slack_burst", json_real(cfg->slack_burst));
	json_object_set_new(o, "slack_workspace_rate",
			    json_real(cfg->slack_workspace_rate));
	json_object_set_new(o, "discord_global_rate",
			    json_real(cfg->discord_global_rate));
	json_object_set_new(o, "max_attempts", json_integer(cfg->max_attempts));
	json_object_set_new(o, "max_age_s", json_integer(cfg->max_age_s));
	json_object_set_new(o, "shutdown_grace_s",
			    json_integer(cfg->shutdown_grace_ms / 1000));
	json_object_set_new(o, "warnings", list_json(&rep->warnings));
	json_object_set_new(o, "problems", list_json(&rep->problems));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(o);
}

int cmd_config(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report rep;
	int json = 0, c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jh", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help("config", stdout);
		default:
			return cli_usage_error("config", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("config", "takes no arguments, got \"%s\"",
				       argv[optind]);

	memset(&rep, 0, sizeof(rep));
	load(&rep);
	if (json)
		print_json(&rep);
	else
		print_human(&rep);
	ret = rep.problems.nr ? EXIT_USAGE : EXIT_OK;
	errlist_release(&rep.problems);
	errlist_release(&rep.warnings);
	catalog_release(&rep.cat);
	config_release(&rep.cfg);
	return ret;
}
