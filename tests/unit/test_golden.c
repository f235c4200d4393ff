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

/* The examples a digest golden lists, in order. */
static const char *const digest_examples[] = {
	"deploy-started", "deploy-succeeded", "deploy-failed",
	"rollback-started", "gitops-progressing", "alert-firing",
	"alert-resolved", "message", "hostile", "impostor",
};
#define DIGEST_EXAMPLES_NR \
	(sizeof(digest_examples) / sizeof(digest_examples[0]))

static void read_example(const char *name, struct event **ev)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	size_t nr = 0;

	strbuf_addf(&path, "%s/examples/%s.json", root, name);
	if (read_file(path.buf, &text) < 0) {
		print_error("cannot read %s: %s\n", path.buf, strerror(errno));
		fail();
	}
	assert_int_equal(event_parse_many(text.buf, text.len, 1, ev, &nr,
					  NULL), 0);
	assert_int_equal(nr, 1);
	strbuf_release(&path);
	strbuf_release(&text);
}

/*
 * tests/golden/PLATFORM/digest.json: a digest of digest_examples (hostile
 * ones among them) with 3 more waiting.
 */
static void check_digest(void **state)
{
	const struct golden *g = *state;
	const char *platform = g->provider == PROVIDER_SLACK ? "slack" :
			       "discord";
	const char *update = getenv("HERALD_UPDATE_GOLDEN");
	struct event *evs[DIGEST_EXAMPLES_NR];
	struct render_ctx ctxs[DIGEST_EXAMPLES_NR];
	struct strbuf path = STRBUF_INIT, want = STRBUF_INIT;
	char *dump;
	json_t *body;

	for (size_t i = 0; i < DIGEST_EXAMPLES_NR; i++) {
		read_example(digest_examples[i], &evs[i]);
		ctxs[i] = (struct render_ctx){
			.commit_url = CONFIG_DEFAULT_COMMIT_URL };
	}
	body = render_digest(g->provider, (const struct event *const *)evs,
			     ctxs, DIGEST_EXAMPLES_NR, 3);
	dump = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_non_null(dump);
	/* No ping from the events' text, whatever the golden says. */
	if (g->provider == PROVIDER_SLACK) {
		assert_null(strstr(dump, "<!channel>"));
		assert_null(strstr(dump, "<!here>"));
		assert_null(strstr(dump, "<!everyone>"));
	} else {
		assert_null(strstr(dump, " @everyone"));
		assert_non_null(json_object_get(body, "allowed_mentions"));
	}
	strbuf_addf(&path, "%s/tests/golden/%s/digest.json", root, platform);
	if (update && !strcmp(update, "1")) {
		struct strbuf text = STRBUF_INIT;

		strbuf_addf(&text, "%s\n", dump);
		write_file(path.buf, text.buf);
		strbuf_release(&text);
	} else {
		if (read_file(path.buf, &want) < 0) {
			print_error("cannot read %s: %s (create it with "
				    "HERALD_UPDATE_GOLDEN=1)\n", path.buf,
				    strerror(errno));
			fail();
		}
		if (strncmp(want.buf, dump, strlen(dump)) ||
		    strcmp(want.buf + strlen(dump), "\n")) {
			report_difference(path.buf, want.buf, dump);
			fail();
		}
	}
	free(dump);
	json_decref(body);
	for (size_t i = 0; i < DIGEST_EXAMPLES_NR; i++)
		event_free(evs[i]);
	strbuf_release(&path);
	strbuf_release(&want);
}

/* Units of a JSON string member. */
static size_t units_of(const json_t *j)
{
	const char *s = json_string_value(j);
	size_t n = 0;

	for (; s && *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n += ((unsigned char)*s >= 0xF0) ? 2 : 1;
	return n;
}

/*
 * A full digest of the most hostile event (long values, quotes, links)
 * and more than fit stays within every limit of the platform, and lists
 * exactly its capacity.
 */
static void check_digest_limits(void **state)
{
	const struct golden *g = *state;
	size_t cap = render_digest_capacity(g->provider), nr = cap + 10;
	struct event *hostile;
	const struct event **evs = calloc(nr, sizeof(*evs));
	struct render_ctx *ctxs = calloc(nr, sizeof(*ctxs));
	json_t *body, *blocks, *embeds;
	char *dump;

	read_example("hostile", &hostile);
	for (size_t i = 0; i < nr; i++) {
		evs[i] = hostile;
		ctxs[i].commit_url = CONFIG_DEFAULT_COMMIT_URL;
	}
	body = render_digest(g->provider, evs, ctxs, nr, 5);
	if (g->provider == PROVIDER_SLACK) {
		size_t lines = 0;

		blocks = json_object_get(body, "blocks");
		assert_true(json_array_size(blocks) <= SLACK_BLOCKS_MAX);
		dump = json_dumps(blocks, JSON_COMPACT);
		assert_true(strlen(dump) <= SLACK_BLOCKS_CHARS_MAX);
		free(dump);
		for (size_t i = 0; i < json_array_size(blocks); i++) {
			json_t *b = json_array_get(blocks, i);
			json_t *t = json_object_get(json_object_get(b, "text"),
						    "text");

			if (strcmp(json_string_value(json_object_get(b,
						      "type")), "section"))
				continue;
			assert_true(units_of(t) <= SLACK_SECTION_TEXT_MAX);
			lines++;
			for (const char *c = json_string_value(t); *c; c++)
				lines += *c == '\n';
		}
		assert_int_equal(lines, cap);
		assert_true(units_of(json_object_get(body, "text")) <=
			    SLACK_TEXT_MAX);
		dump = json_dumps(body, JSON_COMPACT);
		assert_non_null(strstr(dump, "and 15 more"));
		free(dump);
	} else {
		size_t total = 0, lines = 0;

		embeds = json_object_get(body, "embeds");
		assert_true(json_array_size(embeds) <= 10);
		assert_true(units_of(json_object_get(body, "content")) <=
			    DISCORD_CONTENT_MAX);
		for (size_t i = 0; i < json_array_size(embeds); i++) {
			json_t *em = json_array_get(embeds, i);
			json_t *d = json_object_get(em, "description");

			assert_true(units_of(d) <= DISCORD_DESCRIPTION_MAX);
			total += units_of(d) +
				 units_of(json_object_get(em, "title"));
			lines++;
			for (const char *c = json_string_value(d); *c; c++)
				lines += *c == '\n';
		}
		assert_true(total <= DISCORD_EMBED_TOTAL_MAX);
		assert_int_equal(lines, cap);
		assert_non_null(strstr(json_string_value(json_object_get(body,
					"content")), "and 15 more"));
	}
	json_decref(body);
	event_free(hostile);
	free(evs);
	free(ctxs);
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
		{ "slack digest", check_digest, NULL, NULL,
		  &(struct golden){ "digest", PROVIDER_SLACK } },
		{ "discord digest", check_digest, NULL, NULL,
		  &(struct golden){ "digest", PROVIDER_DISCORD } },
		{ "slack digest limits", check_digest_limits, NULL, NULL,
		  &(struct golden){ "digest", PROVIDER_SLACK } },
		{ "discord digest limits", check_digest_limits, NULL, NULL,
		  &(struct golden){ "digest", PROVIDER_DISCORD } },
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
