/*
 * herald summary: prints a week's summary from the database, offline (no
 * daemon, no platform): as text, as JSON, or as the message body herald
 * serve posts for a platform. The same computation as the daemon's
 * (daemon/summary_job.h), from the same stored events.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cmd_help.h"
#include "core/summary.h"
#include "daemon/store.h"
#include "daemon/summary_job.h"

const char cmd_summary_help[] =
"usage: herald summary [--week YYYY-Www] [--json | --provider slack|discord]\n"
"                      [--database PATH]\n"
"\n"
"Prints the weekly summary of an ISO week from the database, as herald\n"
"serve posts it at HERALD_SUMMARY: deploys, rollbacks and failed deploys\n"
"per environment, the most active deployers, the time alerts were firing\n"
"against the week before, and the apps whose first environment of a\n"
"HERALD_SUMMARY_ENVS pair runs a newer version than the second. Weeks\n"
"begin on Monday 00:00 in TZ. Nothing is posted.\n"
"\n"
"  --week YYYY-Www     the week, e.g. 2026-W48; default: the last complete\n"
"                      week\n"
"  --json              print the numbers as one JSON object\n"
"  --provider slack|discord\n"
"                      print the message body posted to that platform\n"
"  --database PATH     the SQLite file; overrides HERALD_DATABASE\n"
"\n"
"See docs/summary.md.\n"
"\n"
"Exit status: 0; 1 when the database cannot be read; 2 usage or\n"
"configuration error.\n";

static int print_summary(const struct config *cfg, struct summary_week week,
			 int json, int provider)
{
	struct summary_pair *pairs = NULL;
	struct errlist problems = ERRLIST_INIT;
	struct store *st = NULL;
	struct summary s;
	struct errbuf err;
	struct stat sb;
	size_t pairs_nr = 0;
	int ret = EXIT_FAILURE_PERM;

	summary_pairs_parse("HERALD_SUMMARY_ENVS", cfg->summary_envs, &pairs,
			    &pairs_nr, &problems);
	if (stat(cfg->database, &sb) < 0) {
		fprintf(stderr, "herald: HERALD_DATABASE: %s does not exist: "
			"set HERALD_DATABASE (or --database) to herald "
			"serve's database\n", cfg->database);
		goto out;
	}
	if (store_open(&st, cfg->database, &err) < 0) {
		fprintf(stderr, "herald: HERALD_DATABASE: %s\n", err.msg);
		goto out;
	}
	if (summary_job_collect(st, week, pairs, pairs_nr, &s, &err) < 0) {
		fprintf(stderr, "herald: HERALD_DATABASE: %s\n", err.msg);
		goto out;
	}
	if (json || provider >= 0) {
		json_t *j = json ? summary_to_json(&s) :
			    summary_render_for(provider, &s);
		char *text = json_dumps(j, JSON_INDENT(2) |
					(json ? JSON_PRESERVE_ORDER :
					 JSON_SORT_KEYS));

		printf("%s\n", text);
		free(text);
		json_decref(j);
	} else {
		struct strbuf out = STRBUF_INIT;

		summary_render_text(&s, &out);
		fputs(out.buf, stdout);
		strbuf_release(&out);
	}
	summary_release(&s);
	ret = EXIT_OK;
out:
	store_close(st);
	summary_pairs_free(pairs, pairs_nr);
	errlist_release(&problems);
	return ret;
}

int cmd_summary(int argc, char **argv)
{
	static const struct option options[] = {
		{ "week", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "provider", required_argument, NULL, 'p' },
		{ "database", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct summary_week week = summary_week_prev(summary_week_of(
						     time(NULL)));
	struct cli_env env;
	enum provider_kind kind;
	struct errbuf err;
	int json = 0, provider = -1, c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+w:jp:d:h", options, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (summary_week_parse(optarg, &week, &err) < 0)
				return cli_usage_error("summary", "--week: %s",
						       err.msg);
			break;
		case 'j':
			json = 1;
			break;
		case 'p':
			if (provider_kind_parse(optarg, &kind) < 0)
				return cli_usage_error("summary", "--provider "
						       "\"%s\" is not slack or "
						       "discord", optarg);
			provider = (int)kind;
			break;
		case 'd':
			ret = cli_override("summary", "--database",
					   "HERALD_DATABASE", optarg);
			if (ret)
				return ret;
			break;
		case 'h':
			return cli_help("summary", stdout);
		default:
			return cli_usage_error("summary", "unknown option or "
					       "missing value \"%s\"",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("summary", "takes no arguments, got "
				       "\"%s\"", argv[optind]);
	if (json && provider >= 0)
		return cli_usage_error("summary", "--json and --provider "
				       "print different things: give one");
	ret = cli_env_load(&env, 1);
	if (!ret)
		ret = print_summary(&env.cfg, week, json, provider);
	cli_env_release(&env);
	return ret;
}
