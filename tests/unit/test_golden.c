/*
 * Golden tests: every examples/NAME.json, parsed as herald parses it and
 * rendered for Slack and for Discord, must match tests/golden/slack/NAME.json
 * and tests/golden/discord/NAME.json byte for byte (pretty-printed with
 * sorted keys, trailing newline).
 *
 * After an intended change to the messages, rewrite the files with
 *   HERALD_UPDATE_GOLDEN=1 build/tests/test_golden "$PWD"
 * and read the diff as a user would. The project root comes from argv[1]
 * (meson passes it), else $HERALD_SRC, else ".".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/render.h"
#include "inputs/event_json.h"
#include "lib/strbuf.h"

struct golden {
	const char *name;
	enum provider_kind provider;
};

static const char *root = ".";

/* The catalog entry used for the examples that show an owner. */
static const struct catalog_service api_service = {
	.name = "api", .owner = "backend-team", .owner_im = "#backend-deploys",
};

static int shows_owner(const char *name)
{
	return !strcmp(name, "deploy-succeeded") ||
	       !strcmp(name, "alert-firing");
}

static int read_file(const char *path, struct strbuf *out)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	fclose(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		print_error("cannot write %s: %s\n", path, strerror(errno));
		fail();
	}
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Reports the first line where got and want differ. */
static void report_difference(const char *path, const char *want,
			      const char *got)
{
	unsigned line = 1;
	size_t i = 0;

	while (want[i] && want[i] == got[i]) {
		if (want[i] == '\n')
			line++;
		i++;
	}
	while (i > 0 && want[i - 1] != '\n')
		i--;
	print_error("%s differs from the rendering at line %u:\n"
		    "  golden:   %.*s\n  rendered: %.*s\n"
		    "If the change is intended, run with HERALD_UPDATE_GOLDEN=1 "
		    "and read the diff.\n", path, line,
		    (int)strcspn(want + i, "\n"), want + i,
		    (int)strcspn(got + i, "\n"), got + i);
}

static void check_golden(void **state)
{
	const struct golden *g = *state;
	const char *platform = g->provider == PROVIDER_SLACK ? "slack" :
			       "discord";
	const char *update = getenv("HERALD_UPDATE_GOLDEN");
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	struct strbuf want = STRBUF_INIT;
	struct errlist problems = ERRLIST_INIT;
	struct event *events = NULL;
	size_t nr = 0;
	struct render_ctx ctx = { .commit_url = CONFIG_DEFAULT_COMMIT_URL };
	json_t *body;
	char *dump;

	strbuf_addf(&path, "%s/examples/%s.json", root, g->name);
	if (read_file(path.buf, &text) < 0) {
		print_error("cannot read %s: %s\n", path.buf, strerror(errno));
		fail();
	}
	if (event_parse_many(text.buf, text.len, 0, &events, &nr,
			     &problems) < 0) {
		for (size_t i = 0; i < problems.nr; i++)
			print_error("%s: %s\n", path.buf, problems.items[i]);
		fail();
	}
	assert_int_equal(nr, 1);
	if (shows_owner(g->name))
		ctx.service = &api_service;

	body = render_for(g->provider, &events[0], &ctx);
	assert_non_null(body);
	dump = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_non_null(dump);
	strbuf_reset(&text);
	strbuf_addstr(&text, dump);
	strbuf_addch(&text, '\n');

	strbuf_reset(&path);
	strbuf_addf(&path, "%s/tests/golden/%s", root, platform);
	if (update && !strcmp(update, "1")) {
		mkdir(path.buf, 0777);
		strbuf_addf(&path, "/%s.json", g->name);
		write_file(path.buf, text.buf);
	} else {
		strbuf_addf(&path, "/%s.json", g->name);
		if (read_file(path.buf, &want) < 0) {
			print_error("cannot read %s: %s (create it with "
				    "HERALD_UPDATE_GOLDEN=1)\n", path.buf,
				    strerror(errno));
			fail();
		}
		if (strcmp(want.buf, text.buf)) {
			report_difference(path.buf, want.buf, text.buf);
			fail();
		}
	}

	free(dump);
	json_decref(body);
	event_array_free(events, nr);
	errlist_release(&problems);
	strbuf_release(&path);
	strbuf_release(&text);
	strbuf_release(&want);
}

#define GOLDEN(n)							\
	{ "slack " n, check_golden, NULL, NULL,				\
	  &(struct golden){ n, PROVIDER_SLACK } },			\
	{ "discord " n, check_golden, NULL, NULL,			\
	  &(struct golden){ n, PROVIDER_DISCORD } }

int main(int argc, char **argv)
{
	/* A fixed list: a missing example or golden file fails. */
	const struct CMUnitTest tests[] = {
		GOLDEN("deploy-started"),
		GOLDEN("deploy-succeeded"),
		GOLDEN("deploy-failed"),
		GOLDEN("deploy-policy-succeeded"),
		GOLDEN("rollback-started"),
		GOLDEN("rollback-succeeded"),
		GOLDEN("rollback-failed"),
		GOLDEN("delete-succeeded"),
		GOLDEN("delete-failed"),
		GOLDEN("gitops-progressing"),
		GOLDEN("gitops-applied"),
		GOLDEN("gitops-healthy"),
		GOLDEN("gitops-failed"),
		GOLDEN("gitops-unhealthy"),
		GOLDEN("alert-firing"),
		GOLDEN("alert-resolved"),
		GOLDEN("message"),
		GOLDEN("hostile"),
		GOLDEN("impostor"),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
