/*
 * render_digest: one message that lists many notifications of a
 * destination, one line each, for when a storm would otherwise trickle
 * them out at the platform's pace (docs/delivery.md, "Digests";
 * docs/messages.md shows it).
 *
 * A line is the notification's own headline, after its icon, with a link
 * to its details when it has one: the same render_view and escaping as a
 * message of its own, so the digest can no more ping anyone than the
 * message could. The number of lines is fixed per platform
 * (render_digest_capacity()), and each line cut short enough that the
 * capacity always fits the platform's limits:
 *
 *   Slack    a header, sections of LINES_PER_SECTION lines (each section
 *            within SLACK_SECTION_TEXT_MAX), a context with "and N more";
 *            the serialized blocks within SLACK_BLOCKS_CHARS_MAX (lines
 *            are cut harder until they are); the fallback text within
 *            SLACK_TEXT_MAX.
 *   Discord  the title in content; embeds of LINES_PER_EMBED lines in
 *            their description, all together within
 *            DISCORD_EMBED_TOTAL_MAX.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "lib/text.h"

#define SLACK_LINE_MAX 200		/* units of one line */
#define SLACK_LINE_MIN 40		/* cut no harder than this */
#define SLACK_LINES_PER_SECTION 14	/* 14 * (200 + 1) < 3000 */
#define SLACK_FALLBACK_MAX 3000		/* < SLACK_TEXT_MAX */
#define DISCORD_LINE_MAX 150
#define DISCORD_LINES_PER_EMBED 18	/* 18 * (150 + 1) < 4096 */
#define DISCORD_TITLE_UNITS 24		/* "Digest (2/2)" and margin */

/* 36 * 151 + 2 * 24 < 6000 */
_Static_assert(DIGEST_DISCORD_LINES * (DISCORD_LINE_MAX + 1) +
	       2 * DISCORD_TITLE_UNITS <= DISCORD_EMBED_TOTAL_MAX,
	       "a Discord digest must fit the embeds' total");
_Static_assert(DIGEST_DISCORD_LINES <= 10 * DISCORD_LINES_PER_EMBED,
	       "at most 10 embeds");
_Static_assert(SLACK_LINES_PER_SECTION * (SLACK_LINE_MAX + 1) <=
	       SLACK_SECTION_TEXT_MAX, "a section must fit");

size_t render_digest_capacity(enum provider_kind provider)
{
	return provider == PROVIDER_DISCORD ? DIGEST_DISCORD_LINES :
	       DIGEST_SLACK_LINES;
}

#define DETAILS " \xc2\xb7 details"

/*
 * The headline, and a link to the details when there is one and the
 * headline links nothing already (a deploy's version links the same).
 */
static void line_of(struct render_line *out, const struct render_view *v,
		    int links)
{
	*out = v->headline;
	if (!links || !v->embed_url || out->nr + 2 > RENDER_PIECES_MAX)
		return;
	for (size_t i = 0; i < out->nr; i++)
		if (out->p[i].url)
			return;
	out->p[out->nr++] = (struct render_piece){ .text = " \xc2\xb7 " };
	out->p[out->nr++] = (struct render_piece){
		.text = "details", .url = v->embed_url, .value = 1,
	};
}

/* One line: icon, headline, link; within max units. */
static void add_line(struct strbuf *out, const struct event *ev,
		     const struct render_ctx *ctx, enum render_style style,
		     int slack, size_t max)
{
	struct render_view v;
	struct render_line line;
	struct strbuf sb = STRBUF_INIT;
	const char *icon;
	size_t used = 0, tail = strlen(DETAILS);

	render_view_init(&v, ev, ctx);
	icon = slack ? v.slack_emoji : v.unicode_emoji;
	if (icon) {
		strbuf_addstr(out, icon);
		strbuf_addch(out, ' ');
		used = render_units(icon) + 1;
	}
	line_of(&line, &v, style == RENDER_SLACK_MRKDWN ||
		style == RENDER_DISCORD_MD);
	render_line_add(&sb, &line, style, max > used ? max - used : 0);
	/* A link that did not fit leaves a bare word: drop it. */
	if (sb.len >= tail && !strcmp(sb.buf + sb.len - tail, DETAILS))
		strbuf_setlen(&sb, sb.len - tail);
	strbuf_add(out, sb.buf, sb.len);
	strbuf_release(&sb);
	render_view_release(&v);
}

static enum render_tone tone_of_event(const struct event *ev,
				      const struct render_ctx *ctx)
{
	struct render_view v;
	enum render_tone tone;

	render_view_init(&v, ev, ctx);
	tone = v.tone;
	render_view_release(&v);
	return tone;
}

/* "Digest: 42 notifications" */
static void title(struct strbuf *out, size_t nr)
{
	strbuf_addf(out, "Digest: %zu notification%s", nr, nr == 1 ? "" : "s");
}

static void more_line(struct strbuf *out, size_t more)
{
	strbuf_addstr(out, "\xe2\x80\xa6");
	strbuf_addf(out, "and %zu more, in the next message%s",
		    more, more == 1 ? "" : "s");
}

static json_t *slack_blocks(const struct event *const *evs,
			    const struct render_ctx *ctxs, size_t nr,
			    size_t more, size_t line_max)
{
	json_t *blocks = json_array();
	struct strbuf sb = STRBUF_INIT;

	title(&sb, nr);
	json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:o}}",
		"type", "header", "text", "type", "plain_text", "text",
		render_string(&sb)));
	for (size_t i = 0; i < nr; i += SLACK_LINES_PER_SECTION) {
		strbuf_reset(&sb);
		for (size_t k = i; k < nr && k < i + SLACK_LINES_PER_SECTION;
		     k++) {
			if (k > i)
				strbuf_addch(&sb, '\n');
			add_line(&sb, evs[k], &ctxs[k], RENDER_SLACK_MRKDWN, 1,
				 line_max);
		}
		json_array_append_new(blocks, json_pack(
			"{s:s, s:{s:s, s:o, s:b}}", "type", "section", "text",
			"type", "mrkdwn", "text", render_string(&sb),
			"verbatim", 1));
	}
	if (more) {
		strbuf_reset(&sb);
		more_line(&sb, more);
		json_array_append_new(blocks, json_pack(
			"{s:s, s:[{s:s, s:o, s:b}]}", "type", "context",
			"elements", "type", "mrkdwn", "text",
			render_string(&sb), "verbatim", 1));
	}
	strbuf_release(&sb);
	return blocks;
}

static size_t serialized(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n = s ? strlen(s) : SIZE_MAX;

	free(s);
	return n;
}

static json_t *render_slack_digest(const struct event *const *evs,
				   const struct render_ctx *ctxs, size_t nr,
				   size_t more)
{
	struct strbuf text = STRBUF_INIT;
	size_t line_max = SLACK_LINE_MAX;
	json_t *blocks, *body;

	/* Escapes JSON adds (quotes) may take a full digest over the limit. */
	for (;;) {
		blocks = slack_blocks(evs, ctxs, nr, more, line_max);
		if (serialized(blocks) <= SLACK_BLOCKS_CHARS_MAX ||
		    line_max <= SLACK_LINE_MIN)
			break;
		json_decref(blocks);
		line_max = line_max * 3 / 4;
	}
	title(&text, nr);
	for (size_t i = 0; i < nr; i++) {
		struct strbuf line = STRBUF_INIT;

		add_line(&line, evs[i], &ctxs[i], RENDER_SLACK_TEXT, 1,
			 SLACK_LINE_MAX);
		if (text.len + line.len + 1 > SLACK_FALLBACK_MAX) {
			strbuf_release(&line);
			break;
		}
		strbuf_addch(&text, '\n');
		strbuf_add(&text, line.buf, line.len);
		strbuf_release(&line);
	}
	body = json_pack("{s:o, s:o, s:b, s:b}", "text", render_string(&text),
			 "blocks", blocks, "unfurl_links", 0, "unfurl_media",
			 0);
	strbuf_release(&text);
	return body;
}

static int discord_color(const struct event *const *evs,
			 const struct render_ctx *ctxs, size_t nr)
{
	int worst = RENDER_INFO;

	for (size_t i = 0; i < nr; i++) {
		enum render_tone t = tone_of_event(evs[i], &ctxs[i]);

		if (t == RENDER_FAILURE)
			return DISCORD_COLOR_FAILURE;
		if (t == RENDER_PROGRESS || (t == RENDER_SUCCESS &&
					     worst == RENDER_INFO))
			worst = t;
	}
	return worst == RENDER_PROGRESS ? DISCORD_COLOR_PROGRESS :
	       worst == RENDER_SUCCESS ? DISCORD_COLOR_SUCCESS :
	       DISCORD_COLOR_INFO;
}

static json_t *render_discord_digest(const struct event *const *evs,
				     const struct render_ctx *ctxs, size_t nr,
				     size_t more)
{
	struct strbuf content = STRBUF_INIT, desc = STRBUF_INIT;
	json_t *body = json_object(), *embeds = json_array();
	int color = discord_color(evs, ctxs, nr);
	size_t parts = (nr + DISCORD_LINES_PER_EMBED - 1) /
		       DISCORD_LINES_PER_EMBED;

	strbuf_addstr(&content, "**");
	title(&content, nr);
	strbuf_addstr(&content, "**");
	if (more) {
		strbuf_addch(&content, '\n');
		more_line(&content, more);
	}
	for (size_t i = 0, part = 1; i < nr; i += DISCORD_LINES_PER_EMBED,
	     part++) {
		json_t *embed = json_object();
		char t[64];

		strbuf_reset(&desc);
		for (size_t k = i; k < nr && k < i + DISCORD_LINES_PER_EMBED;
		     k++) {
			if (k > i)
				strbuf_addch(&desc, '\n');
			add_line(&desc, evs[k], &ctxs[k], RENDER_DISCORD_MD, 0,
				 DISCORD_LINE_MAX);
		}
		if (parts > 1) {
			snprintf(t, sizeof(t), "Part %zu of %zu", part, parts);
			json_object_set_new(embed, "title", json_string(t));
		}
		json_object_set_new(embed, "description", render_string(&desc));
		json_object_set_new(embed, "color", json_integer(color));
		json_array_append_new(embeds, embed);
	}
	json_object_set_new(body, "content", render_string(&content));
	json_object_set_new(body, "embeds", embeds);
	json_object_set_new(body, "allowed_mentions",
			    json_pack("{s:[]}", "parse"));
	strbuf_release(&content);
	strbuf_release(&desc);
	return body;
}

json_t *render_digest(enum provider_kind provider,
		      const struct event *const *evs,
		      const struct render_ctx *ctxs, size_t nr, size_t more)
{
	size_t cap = render_digest_capacity(provider);

	if (nr > cap) {
		more += nr - cap;
		nr = cap;
	}
	if (provider == PROVIDER_DISCORD)
		return render_discord_digest(evs, ctxs, nr, more);
	return render_slack_digest(evs, ctxs, nr, more);
}
