/*
 * herald: entry point. Dispatches to the subcommands in cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "route", cmd_route },
	{ "config", cmd_config },
	{ "send", cmd_send },
	{ "check", cmd_check },
	{ "serve", cmd_serve },
};

static int is_help_flag(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		cli_help(NULL, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (is_help_flag(cmd))
		return cli_help(NULL, stdout);
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("herald %s\n", HERALD_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "help"))
		return cli_help(argc > 2 ? argv[2] : NULL, stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd))
			continue;
		if (argc > 2 && is_help_flag(argv[2]))
			return cli_help(cmd, stdout);
		return commands[i].fn(argc - 1, argv + 1);
	}
	if (cmd[0] == '-')
		fprintf(stderr, "herald: unknown option \"%s\"\n", cmd);
	else
		fprintf(stderr, "herald: unknown command \"%s\"\n", cmd);
	fprintf(stderr, "Try 'herald --help' for the list of commands.\n");
	return EXIT_USAGE;
}
