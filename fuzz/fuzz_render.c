/*
 * Fuzz target for the renderers. The input is an event laid out by hand:
 * byte 0 picks the type, byte 1 the status (any pair, even ones that do not
 * go together), byte 2 flags (timestamp, catalog owner, commit URL
 * template); the rest is split at NUL bytes into the event's strings, raw
 * (not necessarily UTF-8). Both platforms' bodies must keep every limit,
 * hold valid UTF-8, and never carry a mention, and json_out() must encode
 * them as jansson does: aborts otherwise. With flag 16, a full digest of
 * the event (render_digest.c) on both platforms must too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_out.h"
#include "core/render.h"
#include "lib/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	F_APP, F_ENV, F_ACTOR, F_REPOSITORY, F_SHA, F_VERSION, F_URL,
	F_GITOPS_REPOSITORY, F_GITOPS_SHA, F_TITLE, F_DESCRIPTION,
	F_ALERT_NAME, F_ALERT_OBJECT, F_ALERT_URL, F_OWNER, F_TEMPLATE,
	F_NR
};

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_render.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

static size_t units(const char *s)
{
	CHECK(s);
	CHECK(utf8_valid(s, strlen(s)));
	return text_units(s, strlen(s));
}

static const char *str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Every string of j, which must be valid UTF-8 and mention nobody. */
static void check_strings(const json_t *j, int slack)
{
	const char *key, *s;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		s = json_string_value(j);
		CHECK(utf8_valid(s, json_string_length(j)));
		CHECK(strlen(s) == json_string_length(j));
		CHECK(!strstr(s, "@everyone") && !strstr(s, "@here"));
		if (slack)
			CHECK(!strstr(s, "<!") && !strstr(s, "<@") &&
			      !strstr(s, "<#") && !strstr(s, "@channel"));
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v)
			check_strings(v, slack);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			check_strings(v, slack);
	}
}

static void check_slack(const json_t *body)
{
	const json_t *blocks = json_object_get(body, "blocks"), *b, *e;
	size_t i, j, n;
	char *dump;

	check_strings(body, 1);
	n = units(str(body, "text"));
	CHECK(n > 0 && n <= SLACK_TEXT_MAX);
	CHECK(json_is_false(json_object_get(body, "unfurl_links")));
	CHECK(json_array_size(blocks) >= 1 &&
	      json_array_size(blocks) <= SLACK_BLOCKS_MAX);
	json_array_foreach(blocks, i, b) {
		const char *type = str(b, "type");
		const char *text = str(json_object_get(b, "text"), "text");

		CHECK(type);
		if (!strcmp(type, "header")) {
			n = units(text);
			CHECK(n > 0 && n <= SLACK_HEADER_MAX);
		} else if (!strcmp(type, "section")) {
			n = units(text);
			CHECK(n > 0 && n <= SLACK_SECTION_TEXT_MAX);
			CHECK(render_has_text(text));
		} else {
			CHECK(!strcmp(type, "context"));
			e = json_object_get(b, "elements");
			CHECK(json_array_size(e) >= 1 && json_array_size(e) <=
			      SLACK_CONTEXT_ELEMENTS_MAX);
			json_array_foreach(json_object_get(b, "elements"), j, e) {
				n = units(str(e, "text"));
				CHECK(n > 0 && n <= SLACK_FIELD_MAX);
				CHECK(render_has_text(str(e, "text")));
			}
		}
	}
	dump = json_dumps(blocks, JSON_COMPACT);
	CHECK(units(dump) <= SLACK_BLOCKS_CHARS_MAX);
	free(dump);
}

static void check_discord(const json_t *body)
{
	const json_t *embeds = json_object_get(body, "embeds"), *embed, *f;
	const json_t *parse = json_object_get(json_object_get(body,
					      "allowed_mentions"), "parse");
	size_t total = 0, n, i;
	const char *s;

	check_strings(body, 0);
	n = units(str(body, "content"));
	CHECK(n > 0 && n <= DISCORD_CONTENT_MAX);
	CHECK(json_is_array(parse) && json_array_size(parse) == 0);
	if (!embeds)
		return;
	CHECK(json_array_size(embeds) == 1);
	embed = json_array_get(embeds, 0);
	if ((s = str(embed, "title"))) {
		n = units(s);
		CHECK(n > 0 && n <= DISCORD_TITLE_MAX);
		total += n;
	}
	if ((s = str(embed, "description"))) {
		n = units(s);
		CHECK(n > 0 && n <= DISCORD_DESCRIPTION_MAX);
		total += n;
	}
	if ((s = str(embed, "url")))
		CHECK(url_is_http(s));
	CHECK(json_array_size(json_object_get(embed, "fields")) <=
	      DISCORD_FIELDS_MAX);
	json_array_foreach(json_object_get(embed, "fields"), i, f) {
		n = units(str(f, "name"));
		CHECK(n > 0 && n <= DISCORD_FIELD_NAME_MAX);
		total += n;
		n = units(str(f, "value"));
		CHECK(n > 0 && n <= DISCORD_FIELD_VALUE_MAX);
		CHECK(render_has_text(str(f, "value")));
		total += n;
	}
	CHECK(total <= DISCORD_EMBED_TOTAL_MAX);
}

/* json_out() writes what json_dumps() writes, plain and ASCII-only. */
static void check_encoding(const json_t *body)
{
	for (int ascii = 0; ascii <= 1; ascii++) {
		struct strbuf sb = STRBUF_INIT;
		char *want = json_dumps(body, JSON_COMPACT |
					(ascii ? JSON_ENSURE_ASCII : 0));

		CHECK(want && json_out(&sb, body, ascii ? JSON_OUT_ASCII : 0) == 0);
		CHECK(!strcmp(sb.buf, want));
		free(want);
		strbuf_release(&sb);
	}
}

/*
 * A full digest of ev (more lines than fit) for provider keeps every limit
 * and mentions nobody.
 */
static void check_digest(enum provider_kind provider, const struct event *ev,
			 const struct render_ctx *ctx)
{
	size_t nr = render_digest_capacity(provider) + 3, total = 0;
	const struct event **evs = calloc(nr, sizeof(*evs));
	struct render_ctx *ctxs = calloc(nr, sizeof(*ctxs));
	const json_t *parts, *b;
	json_t *body;
	char *dump;
	size_t i;

	CHECK(evs && ctxs);
	for (i = 0; i < nr; i++) {
		evs[i] = ev;
		ctxs[i] = *ctx;
	}
	body = render_digest(provider, evs, ctxs, nr, 7);
	check_strings(body, provider == PROVIDER_SLACK);
	if (provider == PROVIDER_SLACK) {
		CHECK(units(str(body, "text")) <= SLACK_TEXT_MAX);
		parts = json_object_get(body, "blocks");
		CHECK(json_array_size(parts) <= SLACK_BLOCKS_MAX);
		dump = json_dumps(parts, JSON_COMPACT);
		CHECK(dump && strlen(dump) <= SLACK_BLOCKS_CHARS_MAX);
		free(dump);
		json_array_foreach(parts, i, b)
			if (!strcmp(str(b, "type"), "section"))
				CHECK(units(str(json_object_get(b, "text"),
						"text")) <=
				      SLACK_SECTION_TEXT_MAX);
	} else {
		CHECK(units(str(body, "content")) <= DISCORD_CONTENT_MAX);
		parts = json_object_get(body, "embeds");
		CHECK(json_array_size(parts) <= 10);
		json_array_foreach(parts, i, b) {
			size_t n = units(str(b, "description"));

			CHECK(n <= DISCORD_DESCRIPTION_MAX);
			total += n + (str(b, "title") ? units(str(b, "title")) :
				      0);
		}
		CHECK(total <= DISCORD_EMBED_TOTAL_MAX);
	}
	check_encoding(body);
	json_decref(body);
	free(evs);
	free(ctxs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *fields[F_NR] = { NULL }, *p, *end;
	struct event ev = EVENT_INIT;
	struct catalog_service svc = { .name = "api" };
	struct render_ctx ctx = { .commit_url = CONFIG_DEFAULT_COMMIT_URL };
	json_t *body;
	uint8_t flags;

	if (size < 3)
		return 0;
	ev.type = (enum event_type)(data[0] % EVENT_TYPE_NR);
	ev.status = (enum event_status)(data[1] % EVENT_STATUS_NR);
	flags = data[2];

	copy = malloc(size - 3 + 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 3, size - 3);
	copy[size - 3] = '\0';
	p = copy;
	end = copy + (size - 3);
	for (int i = 0; i < F_NR && p <= end; i++) {
		fields[i] = *p ? p : NULL;
		p += strlen(p) + 1;
	}
	ev.app = fields[F_APP];
	ev.env = fields[F_ENV];
	ev.actor = fields[F_ACTOR];
	ev.repository = fields[F_REPOSITORY];
	ev.sha = fields[F_SHA];
	ev.version = fields[F_VERSION];
	ev.url = fields[F_URL];
	ev.gitops_repository = fields[F_GITOPS_REPOSITORY];
	ev.gitops_sha = fields[F_GITOPS_SHA];
	ev.title = fields[F_TITLE];
	ev.description = fields[F_DESCRIPTION];
	ev.alert_name = fields[F_ALERT_NAME];
	ev.alert_object = fields[F_ALERT_OBJECT];
	ev.alert_url = fields[F_ALERT_URL];
	if (flags & 1)
		ev.timestamp = 1795687200 + (time_t)data[1] * 86400 * 365;
	if (flags & 2)
		ev.timestamp = (time_t)INT64_MAX >> (data[1] % 8);
	if (flags & 4) {
		svc.owner = fields[F_OWNER];
		ctx.service = &svc;
	}
	if (flags & 8)
		ctx.commit_url = fields[F_TEMPLATE];

	body = render_slack(&ev, &ctx);
	check_slack(body);
	check_encoding(body);
	json_decref(body);
	body = render_discord(&ev, &ctx);
	check_discord(body);
	check_encoding(body);
	json_decref(body);
	body = render_for(PROVIDER_LOG, &ev, &ctx);
	CHECK(units(str(body, "text")) <= 1000);
	json_decref(body);
	if (flags & 16) {
		check_digest(PROVIDER_SLACK, &ev, &ctx);
		check_digest(PROVIDER_DISCORD, &ev, &ctx);
	}
	free(copy);
	return 0;
}
