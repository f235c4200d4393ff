/*
 * herald: entry point. Dispatches to the subcommands of cli_commands[].
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int is_help_flag(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

int main(int argc, char **argv)
{
	const struct cli_command *c;
	const char *cmd;

	if (argc < 2) {
		cli_help(NULL, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (is_help_flag(cmd))
		return cli_help(NULL, stdout);
	c = cli_command_find(!strcmp(cmd, "--version") ? "version" : cmd);
	if (c) {
		if (c->help && argc > 2 && is_help_flag(argv[2]))
			return cli_help(c->name, stdout);
		return c->fn(argc - 1, argv + 1);
	}
	if (cmd[0] == '-')
		fprintf(stderr, "herald: unknown option \"%s\"\n", cmd);
	else
		fprintf(stderr, "herald: unknown command \"%s\"\n", cmd);
	fprintf(stderr, "Try 'herald --help' for the list of commands.\n");
	return EXIT_USAGE;
}
