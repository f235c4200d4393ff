/*
 * cli: the plumbing the herald subcommands share (see cli.h), and the
 * table of subcommands, which main() dispatches with and the help lists.
 */
#include "cli/cli.h"
#include "inputs/event_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_help.h"

extern char **environ;

int cli_read_file(const char *path, size_t max, struct strbuf *out,
		  struct errbuf *err)
{
	FILE *f;
	char buf[65536];
	size_t n;
	int ret = 0;
	int is_stdin = !path || !strcmp(path, "-");

	f = is_stdin ? stdin : fopen(path, "rb");
	if (!f)
		return errbuf_set(err, HERALD_EIO, "cannot read \"%s\": %s",
				  path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (out->len + n > max) {
			ret = errbuf_set(err, HERALD_ELIMIT,
					 "%s is larger than %zu bytes",
					 is_stdin ? "standard input" : path, max);
			goto out;
		}
		strbuf_add(out, buf, n);
	}
	if (ferror(f))
		ret = errbuf_set(err, HERALD_EIO, "cannot read \"%s\": %s",
				 is_stdin ? "-" : path, strerror(errno));
out:
	if (!is_stdin)
		fclose(f);
	return ret;
}

int cli_config_load(struct config *cfg, struct catalog *cat,
		    int *catalog_loaded, struct errlist *problems,
		    struct errlist *warnings)
{
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;
	size_t before = problems->nr;

	config_init(cfg);
	if (catalog_loaded)
		*catalog_loaded = 0;
	config_load(cfg, &config_source_process, problems);
	config_check_environ(environ, warnings);
	if (!cfg->catalog_path)
		goto out;
	if (cli_read_file(cfg->catalog_path, CLI_CATALOG_MAX, &text,
			  &err) < 0 ||
	    catalog_parse(cat, text.buf, text.len, cfg->catalog_path,
			  warnings, &err) < 0) {
		errlist_add(problems, "HERALD_CATALOG: %s", err.msg);
		goto out;
	}
	if (catalog_loaded)
		*catalog_loaded = 1;
	config_check_catalog(cfg, cat, problems, warnings);
out:
	strbuf_release(&text);
	return problems->nr == before ? 0 : EXIT_USAGE;
}

int cli_env_load(struct cli_env *env, int quiet)
{
	struct errlist problems = ERRLIST_INIT, warnings = ERRLIST_INIT;
	int ret;

	memset(&env->cat, 0, sizeof(env->cat));
	ret = cli_config_load(&env->cfg, &env->cat, NULL, &problems,
			      &warnings);
	for (size_t i = 0; i < warnings.nr; i++)
		fprintf(stderr, "herald: warning: %s\n", warnings.items[i]);
	for (size_t i = 0; i < problems.nr; i++)
		fprintf(stderr, "herald: %s\n", problems.items[i]);
	if (ret)
		goto out;
	config_register_secrets(&env->cfg);
	if (!quiet && env->cfg.provider == PROVIDER_LOG)
		fprintf(stderr, "herald: warning: NOTIFICATIONS_PROVIDER is not "
			"set: notifications are printed, not delivered (set it "
			"to slack or discord)\n");
out:
	errlist_release(&problems);
	errlist_release(&warnings);
	return ret;
}

void cli_env_release(struct cli_env *env)
{
	catalog_release(&env->cat);
	config_release(&env->cfg);
}

int cli_read_events(const char *path, struct event **events, size_t *nr)
{
	struct strbuf text = STRBUF_INIT;
	struct errlist problems = ERRLIST_INIT;
	struct errbuf err;
	const char *name = (!path || !strcmp(path, "-")) ? "<stdin>" : path;
	int ret = 0;

	if (cli_read_file(path, CLI_INPUT_MAX, &text, &err) < 0) {
		fprintf(stderr, "herald: %s\n", err.msg);
		ret = EXIT_USAGE;
		goto out;
	}
	if (event_parse_many(text.buf, text.len, 0, events, nr, &problems) < 0) {
		for (size_t i = 0; i < problems.nr; i++)
			fprintf(stderr, "herald: %s: %s\n", name,
				problems.items[i]);
		ret = EXIT_FAILURE_PERM;
		goto out;
	}
out:
	errlist_release(&problems);
	strbuf_release(&text);
	return ret;
}

int cli_override(const char *cmd, const char *flag, const char *var_name,
		 const char *value)
{
	const struct config_var *row = config_var_find(var_name);
	struct config_var as_flag;
	struct errlist problems = ERRLIST_INIT;
	struct strview v = strview_trim(STRVIEW(value));
	char *copy = xstrndup(v.ptr, v.len);
	int ret = 0;

	if (!row || !v.len) {
		ret = cli_usage_error(cmd, "%s needs a value", flag);
		goto out;
	}
	/* The variable's own check, its messages naming the flag. */
	as_flag = *row;
	as_flag.name = flag;
	if (as_flag.check && as_flag.check(&as_flag, copy, &problems) < 0) {
		ret = cli_usage_error(cmd, "%s", problems.items[0]);
		goto out;
	}
	if (setenv(var_name, copy, 1) < 0)
		ret = cli_usage_error(cmd, "%s: %s", flag, strerror(errno));
out:
	errlist_release(&problems);
	free(copy);
	return ret;
}

enum provider_kind cli_render_kind(enum provider_kind provider)
{
	return provider == PROVIDER_LOG ? PROVIDER_SLACK : provider;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "herald %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'herald help %s' for usage.\n", cmd);
	return EXIT_USAGE;
}

static const char main_intro[] =
"usage: herald [--version] [--help] COMMAND [ARGS]\n"
"\n"
"herald routes deployment events (rollouts, rollbacks, GitOps syncs, alerts)\n"
"to Slack or Discord: per application, per environment, or to a default\n"
"channel, as one clean message per story.\n"
"\n"
"Commands:\n";

static const char main_outro[] =
"\n"
"Configuration is read from the environment: NOTIFICATIONS_PROVIDER,\n"
"NOTIFICATIONS_TOKEN, NOTIFICATIONS_DEFAULT_CHANNEL,\n"
"NOTIFICATIONS_CHANNEL_MAPPING, HERALD_CATALOG and more; see\n"
"docs/configuration.md.\n";

static int cmd_help(int argc, char **argv)
{
	return cli_help(argc > 1 ? argv[1] : NULL, stdout);
}

static int cmd_version(int argc, char **argv)
{
	printf("herald %s\n", HERALD_VERSION);
	return EXIT_OK;
}

/* In the order herald --help lists them. */
const struct cli_command cli_commands[] = {
	{ "serve", cmd_serve, "run the delivery daemon: HTTP API, durable "
	  "outbox, delivery", cmd_serve_help },
	{ "send", cmd_send, "deliver events now, from a file or from flags "
	  "(for CI pipelines)", cmd_send_help },
	{ "route", cmd_route, "show where events would go and the exact "
	  "message (dry run)", cmd_route_help },
	{ "check", cmd_check, "verify the configuration, the token and every "
	  "destination", cmd_check_help },
	{ "config", cmd_config, "print the effective configuration and every "
	  "problem found", cmd_config_help },
	{ "summary", cmd_summary, "print a week's summary from the database "
	  "(offline)", cmd_summary_help },
	{ "silence", cmd_silence, "silence notifications for a while on the "
	  "running daemon: add, list, end", cmd_silence_help },
	{ "help", cmd_help, "show help for a command: herald help COMMAND",
	  NULL },
	{ "version", cmd_version, NULL, NULL },
};

const size_t cli_commands_nr = sizeof(cli_commands) / sizeof(cli_commands[0]);

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < cli_commands_nr; i++)
		if (!strcmp(cli_commands[i].name, name))
			return &cli_commands[i];
	return NULL;
}

/* The overview: what herald is and the commands with a summary. */
static void main_help(FILE *out)
{
	int width = 0;

	for (size_t i = 0; i < cli_commands_nr; i++)
		if (cli_commands[i].summary &&
		    (int)strlen(cli_commands[i].name) > width)
			width = (int)strlen(cli_commands[i].name);
	fputs(main_intro, out);
	for (size_t i = 0; i < cli_commands_nr; i++)
		if (cli_commands[i].summary)
			fprintf(out, "  %-*s%s\n", width + 4,
				cli_commands[i].name, cli_commands[i].summary);
	fputs(main_outro, out);
}

int cli_help(const char *cmd, FILE *out)
{
	const struct cli_command *c;

	/* Help on help is the overview. */
	if (!cmd || !strcmp(cmd, "help")) {
		main_help(out);
		return EXIT_OK;
	}
	c = cli_command_find(cmd);
	if (c && c->help) {
		fputs(c->help, out);
		return EXIT_OK;
	}
	fprintf(stderr, "herald help: unknown command \"%s\"\n"
		"Try 'herald --help' for the list of commands.\n", cmd);
	return EXIT_USAGE;
}
