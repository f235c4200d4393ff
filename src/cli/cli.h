/*
 * cli: what the herald subcommands share: loading the configuration and the
 * catalog, reading events from a file or standard input, usage errors, and
 * the exit codes.
 *
 * Each command is a cmd_NAME() function with main()'s signature, called with
 * argv[0] set to the command name, and one row of cli_commands[]. Commands
 * print their own output and return the process exit status.
 */
#ifndef HERALD_CLI_H
#define HERALD_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "core/catalog.h"
#include "core/config.h"
#include "core/event.h"
#include "core/route.h"

enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAILURE_PERM = 1,	/* an invalid event, a permanent delivery failure */
	EXIT_USAGE = 2,		/* usage or configuration error */
	EXIT_GAVE_UP = 3,	/* retryable failures until the timeout */
};

/* The most a command reads from a file or standard input. */
#define CLI_INPUT_MAX (16u * 1024 * 1024)

struct cli_env {
	struct config cfg;
	struct catalog cat;	/* empty when HERALD_CATALOG is unset */
};

/* The largest catalog file read. */
#define CLI_CATALOG_MAX (64u * 1024 * 1024)

/*
 * Loads the configuration from the environment and the catalog it names,
 * and checks them as one (config_check_catalog(), config_check_environ()),
 * the same way for every command: problems (errors) and warnings are
 * appended, not printed. cfg is initialised here; cat must be empty
 * (CATALOG_INIT). *catalog_loaded (may be NULL) says whether the catalog
 * was read. Returns 0, or EXIT_USAGE when there were problems; release cfg
 * and cat either way.
 */
int cli_config_load(struct config *cfg, struct catalog *cat,
		    int *catalog_loaded, struct errlist *problems,
		    struct errlist *warnings);

/*
 * Loads the configuration and the catalog it names. Problems are printed to
 * standard error, one line each, prefixed "herald: ", and so are catalog
 * warnings; returns 0 or EXIT_USAGE. Unless quiet, warns once when the
 * provider is `log` (nothing is delivered). Release with cli_env_release()
 * either way.
 */
int cli_env_load(struct cli_env *env, int quiet);
void cli_env_release(struct cli_env *env);

/*
 * Reads and parses events from path ("-" or NULL: standard input). Problems
 * are printed to standard error; returns 0, EXIT_FAILURE_PERM for invalid
 * events, or EXIT_USAGE for an unreadable file.
 */
int cli_read_events(const char *path, struct event **events, size_t *nr);

/* Reads a whole file ("-": standard input) up to max bytes. */
int cli_read_file(const char *path, size_t max, struct strbuf *out,
		  struct errbuf *err);

/*
 * The platform whose body a command renders for provider: the log
 * provider prints the Slack body, as herald serve does (engine_prepare.c),
 * so that route, send and serve show the same message.
 */
enum provider_kind cli_render_kind(enum provider_kind provider);

/*
 * A flag that stands for a variable (herald serve --listen for
 * HERALD_LISTEN): checks value as the variable's row checks it, the
 * problem naming the flag, and sets the variable in the environment, so
 * that it overrides what was there for every later load. Returns 0, or
 * EXIT_USAGE after a usage error.
 */
int cli_override(const char *cmd, const char *flag, const char *var_name,
		 const char *value);

/*
 * Prints "herald CMD: MESSAGE" and a one-line hint to run `herald help CMD`
 * to standard error; returns EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One subcommand. */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;	/* its line in herald --help; NULL: unlisted */
	const char *help;	/* herald help NAME, herald NAME --help; NULL:
				   none, and --help goes to fn */
};

/* Every subcommand, in the order herald --help lists them. */
extern const struct cli_command cli_commands[];
extern const size_t cli_commands_nr;

/* The command called name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

/*
 * Prints the command's help text (the same as `herald help CMD`), or with
 * cmd NULL the overview with every listed command. Returns EXIT_OK, or
 * EXIT_USAGE (and says so on standard error) for a command without help.
 */
int cli_help(const char *cmd, FILE *out);

int cmd_route(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_silence(int argc, char **argv);

#endif
