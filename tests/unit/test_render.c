/*
 * Unit tests for render: the wording of every type and status on Slack and
 * Discord, colours, links and the commit URL template, omitted optional
 * fields, the owner, the log summary, and the guarantees: every text
 * within the platforms' limits however long the event's text, and no text
 * of an event able to ping anyone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/render.h"
#include "lib/text.h"

#define SHA "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
#define GSHA "fedcba9876543210fedcba9876543210fedcba98"
#define RELEASE "https://github.com/acme/api/releases/tag/v1.4.2"

static const struct render_ctx github = {
	.commit_url = CONFIG_DEFAULT_COMMIT_URL,
};

static struct event deploy_event(enum event_status status, char *actor)
{
	struct event ev = EVENT_INIT;

	ev.type = EVENT_DEPLOY;
	ev.status = status;
	ev.app = "api";
	ev.env = "production";
	ev.actor = actor;
	ev.repository = "acme/api";
	ev.sha = SHA;
	ev.version = "v1.4.2";
	ev.url = RELEASE;
	return ev;
}

static size_t units(const char *s)
{
	return text_units(s, strlen(s));
}

static const char *str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Every string of the body, concatenated with newlines. */
static void all_strings(const json_t *j, struct strbuf *out)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		strbuf_addstr(out, json_string_value(j));
		strbuf_addch(out, '\n');
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v)
			all_strings(v, out);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			all_strings(v, out);
	}
}

/* Checks a Slack body against every limit and rule; returns it. */
static const json_t *check_slack(const json_t *body)
{
	const json_t *blocks = json_object_get(body, "blocks"), *b;
	char *dump;
	size_t i;

	assert_non_null(str(body, "text"));
	assert_true(units(str(body, "text")) <= SLACK_TEXT_MAX);
	assert_true(units(str(body, "text")) > 0);
	assert_true(json_is_false(json_object_get(body, "unfurl_links")));
	assert_true(json_is_false(json_object_get(body, "unfurl_media")));
	assert_null(json_object_get(body, "channel"));
	assert_null(json_object_get(body, "link_names"));
	assert_null(json_object_get(body, "parse"));
	assert_true(json_is_array(blocks));
	assert_true(json_array_size(blocks) >= 1);
	assert_true(json_array_size(blocks) <= SLACK_BLOCKS_MAX);
	json_array_foreach(blocks, i, b) {
		const char *type = str(b, "type");
		const json_t *text = json_object_get(b, "text"), *e;
		size_t j;

		assert_non_null(type);
		if (!strcmp(type, "header")) {
			assert_string_equal(str(text, "type"), "plain_text");
			assert_true(units(str(text, "text")) <= SLACK_HEADER_MAX);
			assert_true(units(str(text, "text")) > 0);
		} else if (!strcmp(type, "section")) {
			assert_string_equal(str(text, "type"), "mrkdwn");
			assert_true(json_is_true(json_object_get(text,
								 "verbatim")));
			assert_true(units(str(text, "text")) <=
				    SLACK_SECTION_TEXT_MAX);
			assert_true(render_has_text(str(text, "text")));
		} else {
			const json_t *elements = json_object_get(b, "elements");

			assert_string_equal(type, "context");
			assert_true(json_array_size(elements) >= 1);
			assert_true(json_array_size(elements) <=
				    SLACK_CONTEXT_ELEMENTS_MAX);
			json_array_foreach(elements, j, e) {
				assert_true(json_is_true(json_object_get(
					e, "verbatim")));
				assert_true(units(str(e, "text")) <=
					    SLACK_FIELD_MAX);
				assert_true(render_has_text(str(e, "text")));
			}
		}
	}
	dump = json_dumps(blocks, JSON_COMPACT);
	assert_true(units(dump) <= SLACK_BLOCKS_CHARS_MAX);
	free(dump);
	return body;
}

/* Checks a Discord body against every limit and rule; returns it. */
static const json_t *check_discord(const json_t *body)
{
	const json_t *embeds = json_object_get(body, "embeds"), *embed;
	const json_t *mentions = json_object_get(body, "allowed_mentions");
	const json_t *fields, *f;
	size_t total = 0, i;

	assert_non_null(str(body, "content"));
	assert_true(units(str(body, "content")) <= DISCORD_CONTENT_MAX);
	assert_true(render_has_text(str(body, "content")));
	assert_null(json_object_get(body, "nonce"));
	assert_true(json_is_array(json_object_get(mentions, "parse")));
	assert_int_equal(json_array_size(json_object_get(mentions, "parse")),
			 0);
	if (!embeds)
		return body;
	assert_int_equal(json_array_size(embeds), 1);
	embed = json_array_get(embeds, 0);
	assert_true(json_is_integer(json_object_get(embed, "color")));
	if (str(embed, "title")) {
		assert_true(units(str(embed, "title")) <= DISCORD_TITLE_MAX);
		total += units(str(embed, "title"));
	}
	if (str(embed, "description")) {
		assert_true(units(str(embed, "description")) <=
			    DISCORD_DESCRIPTION_MAX);
		total += units(str(embed, "description"));
	}
	if (str(embed, "url"))
		assert_true(url_is_http(str(embed, "url")));
	fields = json_object_get(embed, "fields");
	assert_true(json_array_size(fields) <= DISCORD_FIELDS_MAX);
	json_array_foreach(fields, i, f) {
		assert_true(render_has_text(str(f, "name")));
		assert_true(render_has_text(str(f, "value")));
		assert_true(units(str(f, "name")) <= DISCORD_FIELD_NAME_MAX);
		assert_true(units(str(f, "value")) <= DISCORD_FIELD_VALUE_MAX);
		total += units(str(f, "name")) + units(str(f, "value"));
	}
	assert_true(total <= DISCORD_EMBED_TOTAL_MAX);
	return body;
}

static json_t *slack(const struct event *ev, const struct render_ctx *ctx)
{
	json_t *body = render_slack(ev, ctx);

	check_slack(body);
	return body;
}

static json_t *discord(const struct event *ev, const struct render_ctx *ctx)
{
	json_t *body = render_discord(ev, ctx);

	check_discord(body);
	return body;
}

static const json_t *embed_of(const json_t *body)
{
	return json_array_get(json_object_get(body, "embeds"), 0);
}

static const char *block_text(const json_t *body, size_t i)
{
	const json_t *b = json_array_get(json_object_get(body, "blocks"), i);

	return str(json_object_get(b, "text"), "text");
}

/* The context block's elements joined with " | ", or "" without one. */
static void slack_context(const json_t *body, struct strbuf *out)
{
	const json_t *blocks = json_object_get(body, "blocks"), *b, *e;
	size_t i, j;

	json_array_foreach(blocks, i, b) {
		if (strcmp(str(b, "type"), "context"))
			continue;
		json_array_foreach(json_object_get(b, "elements"), j, e) {
			if (j)
				strbuf_addstr(out, " | ");
			strbuf_addstr(out, str(e, "text"));
		}
	}
}

/* The value of the Discord field named name, or NULL. */
static const char *field(const json_t *body, const char *name)
{
	const json_t *f;
	size_t i;

	json_array_foreach(json_object_get(embed_of(body), "fields"), i, f)
		if (!strcmp(str(f, "name"), name))
			return str(f, "value");
	return NULL;
}

struct headline_case {
	struct event ev;
	const char *slack;	/* the Slack fallback text's first line */
	const char *discord;	/* the Discord content */
	int color;
};

static void check_headline(const struct headline_case *c)
{
	json_t *s = slack(&c->ev, &github), *d = discord(&c->ev, &github);
	const char *text = str(s, "text");
	size_t first = strcspn(text, "\n");

	if (strlen(c->slack) != first || strncmp(text, c->slack, first)) {
		print_error("Slack headline: got \"%.*s\", want \"%s\"\n",
			    (int)first, text, c->slack);
		fail();
	}
	assert_string_equal(str(d, "content"), c->discord);
	assert_int_equal(json_integer_value(json_object_get(embed_of(d),
							    "color")),
			 c->color);
	json_decref(s);
	json_decref(d);
}

static void test_deploy_headlines(void **state)
{
	struct headline_case cases[] = {
		{ deploy_event(EVENT_STARTED, "jane"),
		  ":rocket: jane is rolling out api v1.4.2 to production",
		  "\xf0\x9f\x9a\x80 jane is rolling out api v1.4.2 to production",
		  DISCORD_COLOR_PROGRESS },
		{ deploy_event(EVENT_STARTED, NULL),
		  ":rocket: Rolling out api v1.4.2 to production",
		  "\xf0\x9f\x9a\x80 Rolling out api v1.4.2 to production",
		  DISCORD_COLOR_PROGRESS },
		{ deploy_event(EVENT_STARTED, "policy"),
		  ":rocket: Automatic rollout of api v1.4.2 to production "
		  "started",
		  "\xf0\x9f\x9a\x80 Automatic rollout of api v1.4.2 to "
		  "production started", DISCORD_COLOR_PROGRESS },
		{ deploy_event(EVENT_SUCCEEDED, "jane"),
		  ":white_check_mark: api v1.4.2 is live on production",
		  "\xe2\x9c\x85 api v1.4.2 is live on production",
		  DISCORD_COLOR_SUCCESS },
		{ deploy_event(EVENT_SUCCEEDED, "policy"),
		  ":white_check_mark: Automatically deployed api v1.4.2 to "
		  "production",
		  "\xe2\x9c\x85 Automatically deployed api v1.4.2 to production",
		  DISCORD_COLOR_SUCCESS },
		{ deploy_event(EVENT_FAILED, "jane"),
		  ":x: Rollout of api v1.4.2 to production failed",
		  "\xe2\x9d\x8c Rollout of api v1.4.2 to production failed",
		  DISCORD_COLOR_FAILURE },
		{ deploy_event(EVENT_FAILED, "policy"),
		  ":x: Automatic rollout of api v1.4.2 to production failed",
		  "\xe2\x9d\x8c Automatic rollout of api v1.4.2 to production "
		  "failed", DISCORD_COLOR_FAILURE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_headline(&cases[i]);
}

static void test_rollback_and_delete_headlines(void **state)
{
	struct headline_case cases[6];
	struct event ev;

	ev = deploy_event(EVENT_STARTED, "jane");
	ev.type = EVENT_ROLLBACK;
	ev.version = "v1.4.1";
	cases[0] = (struct headline_case){ ev,
		":rewind: jane is rolling back api in production to v1.4.1",
		"\xe2\x8f\xaa jane is rolling back api in production to v1.4.1",
		DISCORD_COLOR_PROGRESS };
	ev.status = EVENT_SUCCEEDED;
	cases[1] = (struct headline_case){ ev,
		":leftwards_arrow_with_hook: jane rolled back api in "
		"production to v1.4.1",
		"\xe2\x86\xa9\xef\xb8\x8f jane rolled back api in production "
		"to v1.4.1", DISCORD_COLOR_SUCCESS };
	ev.status = EVENT_FAILED;
	cases[2] = (struct headline_case){ ev,
		":x: Rollback of api in production to v1.4.1 failed",
		"\xe2\x9d\x8c Rollback of api in production to v1.4.1 failed",
		DISCORD_COLOR_FAILURE };

	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_DELETE;
	ev.status = EVENT_SUCCEEDED;
	ev.app = "api";
	ev.env = "preview-123";
	ev.actor = "policy";
	cases[3] = (struct headline_case){ ev,
		":wastebasket: Deleted api from preview-123",
		"\xf0\x9f\x97\x91\xef\xb8\x8f Deleted api from preview-123",
		DISCORD_COLOR_SUCCESS };
	ev.env = NULL;
	ev.actor = "jane";
	cases[4] = (struct headline_case){ ev,
		":wastebasket: jane deleted api",
		"\xf0\x9f\x97\x91\xef\xb8\x8f jane deleted api",
		DISCORD_COLOR_SUCCESS };
	ev.status = EVENT_FAILED;
	ev.env = "preview-123";
	cases[5] = (struct headline_case){ ev,
		":x: Failed to delete api from preview-123",
		"\xe2\x9d\x8c Failed to delete api from preview-123",
		DISCORD_COLOR_FAILURE };

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_headline(&cases[i]);
}

static void test_gitops_headlines(void **state)
{
	static const struct {
		enum event_status status;
		const char *slack, *discord;
		int color;
	} cases[] = {
		{ EVENT_PROGRESSING, ":hourglass_flowing_sand: Applying GitOps "
		  "commit fedcba9 to production", "\xe2\x8f\xb3 Applying GitOps "
		  "commit fedcba9 to production", DISCORD_COLOR_PROGRESS },
		{ EVENT_APPLIED, ":heavy_check_mark: Applied GitOps commit "
		  "fedcba9 to production", "\xe2\x9c\x94\xef\xb8\x8f Applied "
		  "GitOps commit fedcba9 to production", DISCORD_COLOR_SUCCESS },
		{ EVENT_HEALTHY, ":white_check_mark: production is healthy at "
		  "GitOps commit fedcba9", "\xe2\x9c\x85 production is healthy "
		  "at GitOps commit fedcba9", DISCORD_COLOR_SUCCESS },
		{ EVENT_FAILED, ":x: GitOps commit fedcba9 failed to apply on "
		  "production", "\xe2\x9d\x8c GitOps commit fedcba9 failed to "
		  "apply on production", DISCORD_COLOR_FAILURE },
		{ EVENT_UNHEALTHY, ":warning: production is unhealthy at "
		  "GitOps commit fedcba9", "\xe2\x9a\xa0\xef\xb8\x8f production "
		  "is unhealthy at GitOps commit fedcba9",
		  DISCORD_COLOR_FAILURE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct headline_case c = { .slack = cases[i].slack,
			.discord = cases[i].discord, .color = cases[i].color };
		struct strbuf ctx = STRBUF_INIT;
		json_t *s, *d;

		c.ev.type = EVENT_GITOPS;
		c.ev.status = cases[i].status;
		c.ev.env = "production";
		c.ev.gitops_repository = "acme/gitops";
		c.ev.gitops_sha = GSHA;
		check_headline(&c);

		/* The Flux state is shown as such, and the GitOps commit. */
		s = slack(&c.ev, &github);
		d = discord(&c.ev, &github);
		slack_context(s, &ctx);
		assert_non_null(strstr(ctx.buf, "Flux status: "));
		assert_non_null(strstr(ctx.buf,
				       event_status_name(cases[i].status)));
		assert_string_equal(field(d, "Flux status"),
				    event_status_name(cases[i].status));
		assert_string_equal(field(d, "GitOps commit"),
			"[fedcba9](https://github.com/acme/gitops/commit/" GSHA
			") in acme/gitops");
		assert_non_null(strstr(block_text(s, 0),
			"<https://github.com/acme/gitops/commit/" GSHA
			"|fedcba9>"));
		strbuf_release(&ctx);
		json_decref(s);
		json_decref(d);
	}
}

static void test_alert_headlines(void **state)
{
	struct event ev = EVENT_INIT;
	json_t *s, *d;

	ev.type = EVENT_ALERT;
	ev.status = EVENT_FIRING;
	ev.app = "api";
	ev.env = "production";
	ev.alert_name = "CrashLoopBackOff";
	ev.alert_object = "default/api-6d9f-xk2p";
	ev.alert_url = "https://grafana.example.com/d/pods?a=1&b=2";
	ev.description = "Back-off restarting failed container";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_non_null(strstr(str(s, "text"), ":rotating_light: "
		"CrashLoopBackOff: default/api-6d9f-xk2p (api, production)"));
	assert_non_null(strstr(block_text(s, 0), "*<https://grafana.example"
		".com/d/pods?a=1&amp;b=2|CrashLoopBackOff>*"));
	/* The explanation as text, not as error output. */
	assert_string_equal(block_text(s, 1),
			    "Back-off restarting failed container");
	assert_string_equal(str(d, "content"), "\xf0\x9f\x9a\xa8 "
		"CrashLoopBackOff: default/api-6d9f-xk2p (api, production)");
	assert_string_equal(str(embed_of(d), "title"),
			    "Firing: CrashLoopBackOff");
	assert_string_equal(str(embed_of(d), "url"),
			    "https://grafana.example.com/d/pods?a=1&b=2");
	assert_string_equal(str(embed_of(d), "description"),
			    "Back-off restarting failed container");
	assert_int_equal(json_integer_value(json_object_get(embed_of(d),
				"color")), DISCORD_COLOR_FAILURE);
	json_decref(s);
	json_decref(d);

	ev.status = EVENT_RESOLVED;
	ev.alert_object = NULL;
	ev.env = NULL;
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_non_null(strstr(str(s, "text"), ":large_green_circle: "
			       "Resolved: CrashLoopBackOff (api)"));
	assert_string_equal(str(embed_of(d), "title"),
			    "Resolved: CrashLoopBackOff");
	assert_int_equal(json_integer_value(json_object_get(embed_of(d),
				"color")), DISCORD_COLOR_SUCCESS);
	json_decref(s);
	json_decref(d);
}

static void test_message(void **state)
{
	struct event ev = EVENT_INIT;
	const json_t *blocks;
	json_t *s, *d;

	ev.type = EVENT_MESSAGE;
	ev.title = "Maintenance window";
	ev.description = "Deploys paused until 14:00 UTC\nAsk in #platform";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	blocks = json_object_get(s, "blocks");
	assert_string_equal(str(json_array_get(blocks, 0), "type"), "header");
	assert_string_equal(block_text(s, 0), "Maintenance window");
	assert_string_equal(block_text(s, 1),
			    "Deploys paused until 14:00 UTC\nAsk in #platform");
	assert_string_equal(str(s, "text"), "Maintenance window\n"
			    "Deploys paused until 14:00 UTC\nAsk in #platform");
	assert_string_equal(str(d, "content"), "Maintenance window");
	assert_null(str(embed_of(d), "title"));
	assert_string_equal(str(embed_of(d), "description"),
			    "Deploys paused until 14:00 UTC\nAsk in #platform");
	assert_int_equal(json_integer_value(json_object_get(embed_of(d),
				"color")), DISCORD_COLOR_INFO);
	json_decref(s);
	json_decref(d);

	/* A title with & < > is bold text, where escaping is defined. */
	ev.title = "Upgrade <db> & cache";
	s = slack(&ev, &github);
	blocks = json_object_get(s, "blocks");
	assert_string_equal(str(json_array_get(blocks, 0), "type"), "section");
	assert_string_equal(block_text(s, 0),
			    "*Upgrade &lt;db&gt; &amp; cache*");
	json_decref(s);

	/* No title, one short line: said once, not twice. */
	ev.title = NULL;
	ev.description = "Deploys paused";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_int_equal(json_array_size(json_object_get(s, "blocks")), 1);
	assert_string_equal(block_text(s, 0), "Deploys paused");
	assert_string_equal(str(s, "text"), "Deploys paused");
	assert_string_equal(str(d, "content"), "Deploys paused");
	assert_null(json_object_get(d, "embeds"));
	json_decref(s);
	json_decref(d);
}

static void test_colors(void **state)
{
	static const struct {
		enum event_type type;
		enum event_status status;
		int color;
	} cases[] = {
		{ EVENT_DEPLOY, EVENT_STARTED, DISCORD_COLOR_PROGRESS },
		{ EVENT_DEPLOY, EVENT_SUCCEEDED, DISCORD_COLOR_SUCCESS },
		{ EVENT_DEPLOY, EVENT_FAILED, DISCORD_COLOR_FAILURE },
		{ EVENT_ROLLBACK, EVENT_SUCCEEDED, DISCORD_COLOR_SUCCESS },
		{ EVENT_DELETE, EVENT_FAILED, DISCORD_COLOR_FAILURE },
		{ EVENT_GITOPS, EVENT_PROGRESSING, DISCORD_COLOR_PROGRESS },
		{ EVENT_GITOPS, EVENT_APPLIED, DISCORD_COLOR_SUCCESS },
		{ EVENT_GITOPS, EVENT_HEALTHY, DISCORD_COLOR_SUCCESS },
		{ EVENT_GITOPS, EVENT_UNHEALTHY, DISCORD_COLOR_FAILURE },
		{ EVENT_ALERT, EVENT_FIRING, DISCORD_COLOR_FAILURE },
		{ EVENT_ALERT, EVENT_RESOLVED, DISCORD_COLOR_SUCCESS },
		{ EVENT_MESSAGE, EVENT_STATUS_NONE, DISCORD_COLOR_INFO },
	};

	assert_int_equal(DISCORD_COLOR_SUCCESS, 0x2ECC71);
	assert_int_equal(DISCORD_COLOR_FAILURE, 0xE74C3C);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct event ev = EVENT_INIT;
		json_t *d;

		ev.type = cases[i].type;
		ev.status = cases[i].status;
		ev.app = "api";
		ev.env = "production";
		ev.alert_name = "Down";
		ev.title = "Note";
		d = discord(&ev, &github);
		assert_int_equal(json_integer_value(json_object_get(
			embed_of(d), "color")), cases[i].color);
		json_decref(d);
	}
}

static void test_details_and_links(void **state)
{
	struct event ev = deploy_event(EVENT_FAILED, "jane");
	struct strbuf ctx = STRBUF_INIT;
	json_t *s, *d;

	ev.description = "ImagePullBackOff";
	ev.gitops_repository = "acme/gitops";
	ev.gitops_sha = GSHA;
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_non_null(strstr(block_text(s, 0), "<" RELEASE "|v1.4.2>"));
	assert_string_equal(block_text(s, 1), "```\nImagePullBackOff\n```");
	slack_context(s, &ctx);
	assert_string_equal(ctx.buf,
		"Commit <https://github.com/acme/api/commit/" SHA "|9f8e7d6> in "
		"acme/api | GitOps commit <https://github.com/acme/gitops/commit/"
		GSHA "|fedcba9> in acme/gitops | Started by jane");
	assert_string_equal(field(d, "App"), "api");
	assert_string_equal(field(d, "Environment"), "production");
	assert_string_equal(field(d, "Version"), "[v1.4.2](" RELEASE ")");
	assert_string_equal(field(d, "Commit"), "[9f8e7d6](https://github.com"
			    "/acme/api/commit/" SHA ") in acme/api");
	assert_string_equal(field(d, "Actor"), "jane");
	assert_string_equal(str(embed_of(d), "url"), RELEASE);
	assert_string_equal(str(embed_of(d), "description"),
			    "```\nImagePullBackOff\n```");
	assert_string_equal(str(embed_of(d), "title"), "Rollout failed");
	strbuf_release(&ctx);
	json_decref(s);
	json_decref(d);
}

static void test_commit_url_template(void **state)
{
	struct render_ctx gitlab = {
		.commit_url = "https://gitlab.example.com/{repo}/-/commit/{sha}",
	};
	struct event ev = deploy_event(EVENT_SUCCEEDED, "jane");
	struct strbuf ctx = STRBUF_INIT;
	json_t *s, *d;
	char *url;

	s = slack(&ev, &gitlab);
	d = discord(&ev, &gitlab);
	slack_context(s, &ctx);
	assert_non_null(strstr(ctx.buf, "Commit <https://gitlab.example.com/"
			       "acme/api/-/commit/" SHA "|9f8e7d6> in acme/api"));
	assert_string_equal(field(d, "Commit"), "[9f8e7d6](https://gitlab."
			    "example.com/acme/api/-/commit/" SHA ") in acme/api");
	strbuf_release(&ctx);
	json_decref(s);
	json_decref(d);

	url = render_commit_url(CONFIG_DEFAULT_COMMIT_URL, "acme/api", "abc");
	assert_string_equal(url, "https://github.com/acme/api/commit/abc");
	free(url);
	url = render_commit_url("https://x.example/{repo}/{sha}/{sha}",
				"a b/c|d", "1<2");
	assert_string_equal(url, "https://x.example/a%20b/c%7Cd/1%3C2/1%3C2");
	free(url);
	assert_null(render_commit_url(CONFIG_DEFAULT_COMMIT_URL, NULL, SHA));
	assert_null(render_commit_url(CONFIG_DEFAULT_COMMIT_URL, "acme/api",
				      NULL));
	assert_null(render_commit_url(NULL, "acme/api", SHA));
	assert_null(render_commit_url("{repo}/{sha}", "acme/api", SHA));
	assert_null(render_commit_url("", "acme/api", SHA));

	/* An empty template: the sha is shown, not linked. */
	gitlab.commit_url = "";
	s = slack(&ev, &gitlab);
	strbuf_init(&ctx, STRBUF_DEFAULT_MAX);
	slack_context(s, &ctx);
	assert_non_null(strstr(ctx.buf, "Commit 9f8e7d6 in acme/api"));
	strbuf_release(&ctx);
	json_decref(s);
}

static void test_missing_fields_omitted(void **state)
{
	struct event ev = EVENT_INIT;
	struct strbuf all = STRBUF_INIT;
	json_t *s, *d;
	char *dump;

	ev.type = EVENT_DEPLOY;
	ev.status = EVENT_SUCCEEDED;
	ev.app = "api";
	ev.env = "production";
	ev.version = "";	/* empty counts as absent */
	ev.actor = "  ";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_string_equal(str(s, "text"),
			    ":white_check_mark: api is live on production");
	/* Only the headline: no context of empty details. */
	assert_int_equal(json_array_size(json_object_get(s, "blocks")), 1);
	assert_null(field(d, "Commit"));
	assert_null(field(d, "Version"));
	assert_null(field(d, "Actor"));
	assert_null(field(d, "Owner"));
	assert_null(json_object_get(embed_of(d), "url"));
	assert_null(json_object_get(embed_of(d), "timestamp"));
	assert_null(json_object_get(embed_of(d), "description"));
	all_strings(s, &all);
	all_strings(d, &all);
	assert_null(strstr(all.buf, "null"));
	assert_null(strstr(all.buf, "(null)"));
	assert_null(strstr(all.buf, "()"));
	assert_null(strstr(all.buf, "<|"));
	assert_null(strstr(all.buf, "[]"));
	dump = json_dumps(d, JSON_COMPACT);
	assert_null(strstr(dump, "null"));
	free(dump);
	strbuf_release(&all);
	json_decref(s);
	json_decref(d);
}

static void test_owner_and_timestamp(void **state)
{
	struct catalog_service svc = { .name = "api", .owner = "backend-team" };
	struct render_ctx ctx = { .commit_url = CONFIG_DEFAULT_COMMIT_URL,
				  .service = &svc };
	struct event ev = deploy_event(EVENT_SUCCEEDED, "jane");
	struct strbuf c = STRBUF_INIT;
	json_t *s, *d;

	ev.timestamp = 1795687200;	/* 2026-11-26T10:00:00Z */
	s = slack(&ev, &ctx);
	d = discord(&ev, &ctx);
	slack_context(s, &c);
	assert_non_null(strstr(c.buf, "Owner: backend-team"));
	assert_non_null(strstr(c.buf, "Deployed by jane"));
	assert_string_equal(field(d, "Owner"), "backend-team");
	assert_string_equal(str(embed_of(d), "timestamp"),
			    "2026-11-26T10:00:00Z");
	strbuf_release(&c);
	json_decref(s);
	json_decref(d);

	svc.owner = NULL;
	d = discord(&ev, &ctx);
	assert_null(field(d, "Owner"));
	json_decref(d);
	d = discord(&ev, NULL);	/* no context at all: defaults */
	assert_null(field(d, "Owner"));
	assert_non_null(field(d, "Commit"));
	json_decref(d);
}

static void check_no_pings(const json_t *s, const json_t *d)
{
	struct strbuf all = STRBUF_INIT;
	const json_t *embed = embed_of(d), *f;
	const char *texts[3];
	size_t i;

	all_strings(s, &all);
	assert_null(strstr(all.buf, "<!"));
	assert_null(strstr(all.buf, "<@"));
	assert_null(strstr(all.buf, "<#"));
	assert_null(strstr(all.buf, "@everyone"));
	assert_null(strstr(all.buf, "@here"));
	assert_null(strstr(all.buf, "@channel"));
	strbuf_reset(&all);
	all_strings(d, &all);
	assert_null(strstr(all.buf, "@everyone"));
	assert_null(strstr(all.buf, "@here"));
	/* Outside code blocks, no "<" and no "[" that is not escaped. */
	texts[0] = str(d, "content");
	texts[1] = str(embed, "title");
	texts[2] = str(embed, "description");
	for (i = 0; i < 3; i++) {
		const char *t = texts[i];

		if (!t || !strncmp(t, "```", 3))
			continue;
		for (const char *p = t; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			assert_true(*p != '<' && *p != '[');
		}
	}
	json_array_foreach(json_object_get(embed, "fields"), i, f) {
		for (const char *p = str(f, "value"); *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			assert_true(*p != '<');
		}
	}
	strbuf_release(&all);
}

#define HOSTILE "<!channel> <!here|here> <@U123> <#C1> <!subteam^S1> " \
	"@everyone @here @channel [x](http://evil) <http://evil|ok> " \
	"&lt;!channel&gt; *b* _i_ ~s~ `c` ``` || # > -"

static void test_hostile_text(void **state)
{
	static const enum event_type types[] = {
		EVENT_DEPLOY, EVENT_ROLLBACK, EVENT_DELETE, EVENT_GITOPS,
		EVENT_ALERT, EVENT_MESSAGE,
	};
	static const enum event_status statuses[] = {
		EVENT_STARTED, EVENT_SUCCEEDED, EVENT_FAILED, EVENT_PROGRESSING,
		EVENT_FIRING, EVENT_STATUS_NONE,
	};
	struct catalog_service svc = { .name = HOSTILE, .owner = HOSTILE };
	struct render_ctx ctx = { .commit_url = CONFIG_DEFAULT_COMMIT_URL,
				  .service = &svc };

	for (size_t t = 0; t < 6; t++) {
		struct event ev = EVENT_INIT;
		json_t *s, *d;

		ev.type = types[t];
		ev.status = statuses[t];
		ev.app = ev.env = ev.actor = ev.repository = ev.sha = HOSTILE;
		ev.version = ev.gitops_repository = ev.gitops_sha = HOSTILE;
		ev.title = ev.description = HOSTILE "\n" HOSTILE;
		ev.alert_name = ev.alert_object = HOSTILE;
		ev.url = "https://x.example/a|b>c<d)e]f";
		ev.alert_url = "https://x.example/<!channel>";
		s = slack(&ev, &ctx);
		d = discord(&ev, &ctx);
		check_no_pings(s, d);
		json_decref(s);
		json_decref(d);
	}
}

/* The UTF-8 of a bidirectional control in s, or NULL. */
static const char *find_bidi(const char *s)
{
	static const char *const controls[] = {
		"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad",
		"\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8",
		"\xe2\x81\xa9", "\xe2\x80\x8e", "\xe2\x80\x8f", "\xd8\x9c",
	};

	for (size_t i = 0; i < sizeof(controls) / sizeof(*controls); i++)
		if (strstr(s, controls[i]))
			return controls[i];
	return NULL;
}

#define BIDI "\xe2\x80\xae" "gnp.exe " "\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c" \
	"x\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x81\xa7" \
	"\xe2\x81\xa8\xe2\x81\xa9\xe2\x80\x8e"

/* No right-to-left override or other bidi control reaches a message. */
static void test_bidi_stripped(void **state)
{
	static const enum event_type types[] = {
		EVENT_DEPLOY, EVENT_ROLLBACK, EVENT_DELETE, EVENT_GITOPS,
		EVENT_ALERT, EVENT_MESSAGE,
	};
	static const enum event_status statuses[] = {
		EVENT_STARTED, EVENT_SUCCEEDED, EVENT_FAILED, EVENT_PROGRESSING,
		EVENT_FIRING, EVENT_STATUS_NONE,
	};
	struct catalog_service svc = { .name = BIDI, .owner = BIDI };
	struct render_ctx ctx = { .commit_url = CONFIG_DEFAULT_COMMIT_URL,
				  .service = &svc };
	struct strbuf all = STRBUF_INIT;

	for (size_t t = 0; t < 6; t++) {
		struct event ev = EVENT_INIT;
		json_t *s, *d;

		ev.type = types[t];
		ev.status = statuses[t];
		ev.app = ev.env = ev.actor = ev.repository = ev.sha = BIDI;
		ev.version = ev.gitops_repository = ev.gitops_sha = BIDI;
		ev.title = ev.description = BIDI "\n" BIDI;
		ev.alert_name = ev.alert_object = BIDI;
		s = slack(&ev, &ctx);
		d = discord(&ev, &ctx);
		strbuf_reset(&all);
		all_strings(s, &all);
		all_strings(d, &all);
		assert_null(find_bidi(all.buf));
		assert_non_null(strstr(all.buf, "gnp.exe"));
		json_decref(s);
		json_decref(d);
	}
	strbuf_release(&all);
}

/* A title of nothing but bidi controls is no title. */
static void test_bidi_only_title(void **state)
{
	struct event ev = EVENT_INIT;
	json_t *s, *d;

	ev.type = EVENT_MESSAGE;
	ev.title = "\xe2\x80\xae\xe2\x81\xa6 \xe2\x80\x8f";
	ev.description = "the text";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_string_equal(str(json_array_get(json_object_get(s, "blocks"), 0),
				"type"), "section");
	assert_non_null(str(s, "text"));
	assert_string_equal(str(s, "text"), "the text");
	assert_null(find_bidi(str(d, "content")));
	json_decref(s);
	json_decref(d);
}

/* A message cannot draw herald's status line on Slack. */
static void test_no_status_line_imitation(void **state)
{
	struct event ev = EVENT_INIT;
	struct strbuf all = STRBUF_INIT;
	json_t *s;

	ev.type = EVENT_MESSAGE;
	ev.title = ":white_check_mark: *api* v9 is live on *production*";
	ev.description = ":x: *Rollout of api failed*\n_i_ ~s~ `c`";
	ev.actor = ":rocket: *jane*";
	s = slack(&ev, &github);
	all_strings(s, &all);
	assert_null(strstr(all.buf, ":white_check_mark:"));
	assert_null(strstr(all.buf, ":x:"));
	assert_null(strstr(all.buf, ":rocket:"));
	assert_null(strstr(all.buf, "*api*"));
	assert_null(strstr(all.buf, "*Rollout"));
	assert_null(strstr(all.buf, "_i_"));
	assert_null(strstr(all.buf, "~s~"));
	assert_null(strstr(all.buf, "`c`"));
	assert_non_null(strstr(all.buf, "white_check_mark"));
	json_decref(s);
	strbuf_release(&all);
}

static void test_link_cannot_break_out(void **state)
{
	struct event ev = deploy_event(EVENT_STARTED, "jane");
	json_t *s, *d;

	ev.url = "https://x.example/a|b>c)d";
	ev.version = "v1|<x>](y)";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_non_null(strstr(block_text(s, 0),
		"<https://x.example/a%7Cb%3Ec)d|v1\xe2\x88\xa3&lt;x&gt;](y)>"));
	assert_string_equal(field(d, "Version"),
		"[v1\\|\\<x>\\](y)](https://x.example/a%7Cb%3Ec%29d)");
	assert_string_equal(str(embed_of(d), "url"),
			    "https://x.example/a%7Cb%3Ec%29d");
	json_decref(s);
	json_decref(d);
}

static void fill(struct strbuf *sb, size_t bytes, const char *unit)
{
	while (sb->len < bytes)
		strbuf_addstr(sb, unit);
}

static void test_huge_text_within_limits(void **state)
{
	struct strbuf big = STRBUF_INIT, line = STRBUF_INIT, url = STRBUF_INIT;
	struct catalog_service svc = { .name = "api" };
	struct render_ctx ctx = { .commit_url = CONFIG_DEFAULT_COMMIT_URL,
				  .service = &svc };

	/* 100 KB of text that escaping lengthens, with emoji and lines. */
	fill(&big, 100 * 1024, "<&>\"*_ \xf0\x9f\x9a\x80 \\`@here\n");
	fill(&line, 1000, "&<\xf0\x9f\x9a\x80");
	strbuf_addstr(&url, "https://x.example/");
	fill(&url, 8192, "a&b|");
	svc.owner = line.buf;

	for (int type = 0; type < EVENT_TYPE_NR; type++) {
		for (int status = 0; status < EVENT_STATUS_NR; status++) {
			struct event ev = EVENT_INIT;
			json_t *s, *d;

			ev.type = (enum event_type)type;
			ev.status = (enum event_status)status;
			ev.app = ev.env = ev.actor = line.buf;
			ev.repository = ev.sha = ev.version = line.buf;
			ev.gitops_repository = ev.gitops_sha = line.buf;
			ev.alert_name = ev.alert_object = line.buf;
			ev.title = ev.description = big.buf;
			ev.url = ev.alert_url = url.buf;
			s = slack(&ev, &ctx);
			d = discord(&ev, &ctx);
			/* The event's text still shows, cut. */
			if (event_status_valid(ev.type, ev.status) &&
			    ev.type != EVENT_MESSAGE) {
				assert_non_null(str(embed_of(d),
						    "description"));
				assert_true(units(str(embed_of(d),
					"description")) > 1000);
			}
			json_decref(s);
			json_decref(d);
		}
	}
	strbuf_release(&big);
	strbuf_release(&line);
	strbuf_release(&url);
}

static void test_description_fills_slack_section(void **state)
{
	struct strbuf big = STRBUF_INIT;
	struct event ev = deploy_event(EVENT_FAILED, "jane");
	json_t *s;
	const char *d;

	fill(&big, 100 * 1024, "error: x < y && y > z\n");
	ev.description = big.buf;
	s = slack(&ev, &github);
	d = block_text(s, 1);
	/* Cut near the limit, inside the code block, never mid-entity. */
	assert_true(units(d) > SLACK_SECTION_TEXT_MAX - 100);
	assert_int_equal(strncmp(d, "```\n", 4), 0);
	assert_string_equal(d + strlen(d) - 7, TEXT_ELLIPSIS "\n```");
	json_decref(s);
	strbuf_release(&big);
}

static void test_log_summary(void **state)
{
	struct event ev = deploy_event(EVENT_SUCCEEDED, "jane");
	json_t *b;

	b = render_for(PROVIDER_LOG, &ev, &github);
	assert_string_equal(str(b, "text"), "api v1.4.2 is live on production");
	assert_string_equal(str(b, "type"), "deploy");
	assert_string_equal(str(b, "status"), "succeeded");
	assert_string_equal(str(b, "app"), "api");
	assert_string_equal(str(b, "env"), "production");
	json_decref(b);

	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_MESSAGE;
	ev.title = "Hello\x01world";
	b = render_for(PROVIDER_LOG, &ev, NULL);
	assert_string_equal(str(b, "text"), "Hello world");
	assert_null(json_object_get(b, "status"));
	assert_null(json_object_get(b, "app"));
	json_decref(b);

	b = render_for(PROVIDER_SLACK, &ev, NULL);
	assert_non_null(json_object_get(b, "blocks"));
	json_decref(b);
	b = render_for(PROVIDER_DISCORD, &ev, NULL);
	assert_non_null(json_object_get(b, "allowed_mentions"));
	json_decref(b);
}

static void test_unusual_events(void **state)
{
	struct event ev = EVENT_INIT;
	json_t *s, *d;

	/* A type and status that do not go together still render. */
	ev.type = EVENT_DEPLOY;
	ev.status = EVENT_FIRING;
	ev.app = "api";
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	assert_non_null(strstr(str(s, "text"), "deploy firing for api"));
	json_decref(s);
	json_decref(d);

	/* Nothing at all. */
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_MESSAGE;
	s = slack(&ev, &github);
	d = discord(&ev, &github);
	json_decref(s);
	json_decref(d);

	/* A sha that is not hex is shown whole; invalid UTF-8 is cleaned. */
	ev = deploy_event(EVENT_STARTED, "j\xff");
	ev.sha = "main";
	ev.version = NULL;
	s = slack(&ev, &github);
	assert_non_null(strstr(str(s, "text"), "j\xef\xbf\xbd is rolling out"
			       " api main to production"));
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deploy_headlines),
		cmocka_unit_test(test_rollback_and_delete_headlines),
		cmocka_unit_test(test_gitops_headlines),
		cmocka_unit_test(test_alert_headlines),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_details_and_links),
		cmocka_unit_test(test_commit_url_template),
		cmocka_unit_test(test_missing_fields_omitted),
		cmocka_unit_test(test_owner_and_timestamp),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_bidi_stripped),
		cmocka_unit_test(test_bidi_only_title),
		cmocka_unit_test(test_no_status_line_imitation),
		cmocka_unit_test(test_link_cannot_break_out),
		cmocka_unit_test(test_huge_text_within_limits),
		cmocka_unit_test(test_description_fills_slack_section),
		cmocka_unit_test(test_log_summary),
		cmocka_unit_test(test_unusual_events),
	};

	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
