/*
 * render_slack: lays a render_view out as a Slack chat.postMessage body.
 *
 *   text     the notification fallback: headline (and the start of the
 *            event's text), escaped, at most SLACK_TEXT_MAX
 *   blocks   a header for a message's title (bold text when it holds
 *            & < >); a section with the headline
 *            in mrkdwn (values bold, version and commits linked); a section
 *            with the event's text (a code block for error output); a
 *            context block with the details
 *   unfurl_links, unfurl_media: false
 *
 * Every mrkdwn text object is "verbatim", so Slack adds no links or
 * mentions of its own to the event's text. The blocks stay within each
 * block's limit and, serialized, within SLACK_BLOCKS_CHARS_MAX: when they
 * would not, the event's text is cut harder.
 */
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "lib/text.h"

#define FALLBACK_DESCRIPTION_MAX 500	/* units of the event's text */
#define FALLBACK_MESSAGE_MAX 1000	/* a message without a title */
#define CONTEXT_TOTAL_MAX 2500		/* all context elements together */
#define CONTEXT_ELEMENT_MIN 40		/* less room than this: stop */
#define DESCRIPTION_MIN 16		/* less room than this: leave it out */

static json_t *mrkdwn(const struct strbuf *text)
{
	return json_pack("{s:s, s:o, s:b}", "type", "mrkdwn", "text",
			 render_string(text), "verbatim", 1);
}

static json_t *section(const struct strbuf *text)
{
	return json_pack("{s:s, s:o}", "type", "section", "text",
			 mrkdwn(text));
}

/* The headline after its emoji, in style, within max units. */
static void headline(struct strbuf *out, const struct render_view *v,
		     enum render_style style, size_t max)
{
	size_t used = 0;

	if (v->slack_emoji) {
		strbuf_addstr(out, v->slack_emoji);
		strbuf_addch(out, ' ');
		used = strlen(v->slack_emoji) + 1;
	}
	render_line_add(out, &v->headline, style, max - used);
}

static void fallback(struct strbuf *out, const struct render_view *v)
{
	size_t used, room;

	if (v->ev->type == EVENT_MESSAGE && !v->header && v->description) {
		text_add_fit(out, v->description, strlen(v->description),
			     TEXT_SLACK, FALLBACK_MESSAGE_MAX);
		return;
	}
	headline(out, v, RENDER_SLACK_TEXT, SLACK_TEXT_MAX / 2);
	if (!v->description || v->description_in_headline)
		return;
	used = text_units(out->buf, out->len);
	room = SLACK_TEXT_MAX - used - 1;
	strbuf_addch(out, '\n');
	text_add_fit(out, v->description, strlen(v->description), TEXT_SLACK,
		     room < FALLBACK_DESCRIPTION_MAX ? room :
		     FALLBACK_DESCRIPTION_MAX);
}

static json_t *context(const struct render_view *v)
{
	json_t *elements = json_array();
	struct strbuf sb = STRBUF_INIT;
	size_t total = 0;

	for (size_t i = 0; i < v->facts_nr; i++) {
		const struct render_fact *f = &v->facts[i];
		size_t room = CONTEXT_TOTAL_MAX - total, used = 0;

		if (!f->slack)
			continue;
		if (json_array_size(elements) == SLACK_CONTEXT_ELEMENTS_MAX ||
		    room < CONTEXT_ELEMENT_MIN)
			break;
		if (room > SLACK_FIELD_MAX)
			room = SLACK_FIELD_MAX;
		strbuf_reset(&sb);
		if (f->slack_label) {
			strbuf_addstr(&sb, f->slack_label);
			strbuf_addch(&sb, ' ');
			used = strlen(f->slack_label) + 1;
		}
		render_line_add(&sb, &f->line, RENDER_SLACK_MRKDWN,
				room - used);
		if (!render_has_text(sb.buf + used))
			continue;
		total += text_units(sb.buf, sb.len);
		json_array_append_new(elements, mrkdwn(&sb));
	}
	strbuf_release(&sb);
	if (!json_array_size(elements)) {
		json_decref(elements);
		return NULL;
	}
	return json_pack("{s:s, s:o}", "type", "context", "elements", elements);
}

/*
 * The blocks, with the event's text cut to desc_max units (left out below
 * DESCRIPTION_MIN), and the details only when with_context.
 */
static json_t *blocks(const struct render_view *v, size_t desc_max,
		      int with_context)
{
	json_t *blocks = json_array(), *ctx;
	struct strbuf sb = STRBUF_INIT;
	int is_message = v->ev->type == EVENT_MESSAGE;

	/*
	 * A title as a header block, unless it holds & < >: whether Slack
	 * decodes entities in plain_text is not documented, so such a title
	 * goes in bold mrkdwn, where escaping is well defined.
	 */
	if (v->header && !strpbrk(v->header, "&<>")) {
		text_add_fit(&sb, v->header, strlen(v->header),
			     TEXT_SLACK | TEXT_ONELINE, SLACK_HEADER_MAX);
		json_array_append_new(blocks, json_pack(
			"{s:s, s:{s:s, s:o, s:b}}", "type", "header", "text",
			"type", "plain_text", "text", render_string(&sb),
			"emoji", 1));
	} else if (v->header) {
		strbuf_addch(&sb, '*');
		text_add_fit(&sb, v->header, strlen(v->header),
			     TEXT_SLACK | TEXT_ONELINE, SLACK_HEADER_MAX);
		strbuf_addch(&sb, '*');
		json_array_append_new(blocks, section(&sb));
	}
	if (!is_message || (!v->header && !v->description)) {
		strbuf_reset(&sb);
		headline(&sb, v, RENDER_SLACK_MRKDWN, SLACK_SECTION_TEXT_MAX);
		json_array_append_new(blocks, section(&sb));
	}
	if (v->description && desc_max >= DESCRIPTION_MIN) {
		const char *d = v->description;

		strbuf_reset(&sb);
		if (v->description_code) {
			strbuf_addstr(&sb, "```\n");
			text_add_fit(&sb, d, strlen(d), TEXT_SLACK_CODE,
				     desc_max - 8);
			strbuf_addstr(&sb, "\n```");
		} else {
			text_add_fit(&sb, d, strlen(d), TEXT_SLACK, desc_max);
		}
		json_array_append_new(blocks, section(&sb));
	}
	if (with_context && (ctx = context(v)))
		json_array_append_new(blocks, ctx);
	strbuf_release(&sb);
	return blocks;
}

/*
 * A bound of j's size as compact JSON, in units: every byte of a string
 * or key takes at most 6 ("\u001f"), every value at most 8 more of
 * quotes, colon, comma and brackets, and a number at most 24.
 */
static size_t units_bound(const json_t *j)
{
	size_t n = 8;

	if (json_is_string(j)) {
		n += 6 * json_string_length(j);
	} else if (json_is_object(j)) {
		const char *key;
		json_t *v;

		json_object_foreach((json_t *)j, key, v)
			n += 6 * strlen(key) + units_bound(v);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;

		json_array_foreach(j, i, v)
			n += units_bound(v);
	} else {
		n += 24;
	}
	return n;
}

/*
 * The size of the blocks as sent, in units; when a cheap bound shows it
 * within SLACK_BLOCKS_CHARS_MAX (nearly always), that bound instead.
 */
static size_t blocks_units(const json_t *blocks)
{
	size_t bound = units_bound(blocks), units;
	char *s;

	if (bound <= SLACK_BLOCKS_CHARS_MAX)
		return bound;
	s = json_dumps(blocks, JSON_COMPACT);
	units = s ? text_units(s, strlen(s)) : 0;
	free(s);
	return units;
}

json_t *render_slack(const struct event *ev, const struct render_ctx *ctx)
{
	struct render_view v;
	struct strbuf text = STRBUF_INIT;
	size_t desc_max = SLACK_SECTION_TEXT_MAX, units;
	int with_context = 1;
	json_t *b, *body;

	render_view_init(&v, ev, ctx);
	fallback(&text, &v);
	for (;;) {
		b = blocks(&v, desc_max, with_context);
		units = blocks_units(b);
		if (units <= SLACK_BLOCKS_CHARS_MAX ||
		    (!with_context && desc_max < DESCRIPTION_MIN))
			break;
		json_decref(b);
		if (desc_max >= DESCRIPTION_MIN) {
			units -= SLACK_BLOCKS_CHARS_MAX;
			desc_max = units >= desc_max ? 0 : desc_max - units;
		} else {
			with_context = 0;	/* never seen: a last resort */
		}
	}
	body = json_object();
	json_object_set_new(body, "text", render_string(&text));
	json_object_set_new(body, "blocks", b);
	json_object_set_new(body, "unfurl_links", json_false());
	json_object_set_new(body, "unfurl_media", json_false());
	strbuf_release(&text);
	render_view_release(&v);
	return body;
}
