/*
 * herald config: prints the effective configuration, secrets redacted, and
 * every problem found in it and in the service catalog. What is listed, on
 * which line and under which JSON key, comes from config_vars[].
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_help.h"

const char cmd_config_help[] =
"usage: herald config [--json]\n"
"\n"
"Prints the effective configuration (secrets redacted) and every problem\n"
"found in it, including the service catalog.\n"
"\n"
"  --json  print it as one JSON object\n"
"\n"
"Exit status: 0 when the configuration is valid, 2 otherwise.\n";

struct report {
	struct config cfg;
	struct catalog cat;
	int catalog_loaded;
	struct errlist problems;
	struct errlist warnings;
};

static void load(struct report *rep)
{
	cli_config_load(&rep->cfg, &rep->cat, &rep->catalog_loaded,
			&rep->problems, &rep->warnings);
	config_register_secrets(&rep->cfg);
}

#define LABEL_WIDTH 19	/* "label:" and the spaces up to the value */

/* Whether herald config lists var for the provider in cfg. */
static int listed(const struct config_var *var, const struct config *cfg)
{
	if (!var->line)
		return 0;
	if ((var->flags & CONFIG_SLACK_ONLY) && cfg->provider != PROVIDER_SLACK)
		return 0;
	if ((var->flags & CONFIG_DISCORD_ONLY) &&
	    cfg->provider != PROVIDER_DISCORD)
		return 0;
	return 1;
}

static int is_catalog(const struct config_var *var)
{
	return var->offset == offsetof(struct config, catalog_path);
}

static unsigned last_line(void)
{
	unsigned last = 0;

	for (size_t i = 0; i < config_vars_nr; i++)
		if (config_vars[i].line > last)
			last = config_vars[i].line;
	return last;
}

/* Prints "label:", padded, then text, its later lines indented as much. */
static void print_line(const char *label, const char *text)
{
	size_t width = strlen(label) + 1;

	printf("%s:%*s", label, width < LABEL_WIDTH ?
	       (int)(LABEL_WIDTH - width) : 1, "");
	for (const char *p = text; *p; p++) {
		putchar(*p);
		if (*p == '\n')
			printf("%*s", LABEL_WIDTH, "");
	}
	putchar('\n');
}

static void print_human(const struct report *rep)
{
	const struct config *cfg = &rep->cfg;
	struct strbuf text = STRBUF_INIT;
	unsigned last = last_line();

	for (unsigned line = 1; line <= last; line++) {
		const char *label = NULL;

		strbuf_reset(&text);
		for (size_t i = 0; i < config_vars_nr; i++) {
			const struct config_var *var = &config_vars[i];

			if (var->line != line || !listed(var, cfg))
				continue;
			if (!label)
				label = var->label;
			config_var_show(var, cfg, &text);
			if (is_catalog(var) && cfg->catalog_path) {
				if (rep->catalog_loaded)
					strbuf_addf(&text, " (%zu services)",
						    rep->cat.nr);
				else
					strbuf_addstr(&text, " (not loaded)");
			}
		}
		if (label)
			print_line(label, text.buf);
	}
	strbuf_release(&text);

	for (size_t i = 0; i < rep->warnings.nr; i++)
		printf("warning: %s\n", rep->warnings.items[i]);
	if (!rep->problems.nr)
		print_line("problems", "none");
	for (size_t i = 0; i < rep->problems.nr; i++)
		printf("problem: %s\n", rep->problems.items[i]);
}

static json_t *list_json(const struct errlist *list)
{
	json_t *a = json_array();

	for (size_t i = 0; i < list->nr; i++)
		json_array_append_new(a, json_string(list->items[i]));
	return a;
}

/* Adds the keys of the variables on line (see struct config_var). */
static void add_json_vars(json_t *o, const struct report *rep,
			  unsigned line)
{
	for (size_t i = 0; i < config_vars_nr; i++) {
		const struct config_var *var = &config_vars[i];

		if ((var->json_line ? var->json_line : var->line) != line ||
		    !var->json)
			continue;
		json_object_set_new(o, var->json,
				    config_var_json(var, &rep->cfg));
		if (is_catalog(var))
			json_object_set_new(o, "catalog_services",
					    rep->catalog_loaded ?
					    json_integer((json_int_t)rep->cat.nr) :
					    json_null());
	}
}

static void print_json(const struct report *rep)
{
	json_t *o = json_object();
	unsigned last = last_line();
	char *text;

	for (unsigned line = 1; line <= last; line++)
		add_json_vars(o, rep, line);
	add_json_vars(o, rep, 0);	/* not listed, but in the JSON */
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
