/*
 * render_discord: lays a render_view out as a Discord create-message body.
 *
 *   content            the headline with a Unicode emoji: what
 *                      notifications show
 *   embeds[0]          title (what happened), url (the release, alert or
 *                      commit), description (the event's text; a code
 *                      block for error output), color by outcome, fields
 *                      (App, Environment, Version, Commit, Actor, Owner…),
 *                      timestamp when the event has one
 *   allowed_mentions   {"parse": []}: nothing in the message can ping
 *
 * Every value is escaped for Discord markdown, and the embed stays within
 * each of its limits and within DISCORD_EMBED_TOTAL_MAX altogether: the
 * fields get a fixed share, the description what is left.
 */
#include <string.h>
#include <time.h>

#include "core/render.h"
#include "lib/text.h"

#define FIELDS_TOTAL_MAX 2000	/* names and values of all fields */
#define FIELD_VALUE_MIN 16	/* less room than this: no more fields */
#define DESCRIPTION_MIN 16	/* less room than this: leave it out */

static int color_of(enum render_tone tone)
{
	switch (tone) {
	case RENDER_SUCCESS:
		return DISCORD_COLOR_SUCCESS;
	case RENDER_FAILURE:
		return DISCORD_COLOR_FAILURE;
	case RENDER_PROGRESS:
		return DISCORD_COLOR_PROGRESS;
	default:
		return DISCORD_COLOR_INFO;
	}
}

/* ISO 8601 in UTC, or 0 when t cannot be written as a four-digit year. */
static int iso8601(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (t <= 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return 0;
	return strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

/* The fields, adding what they count to *units. */
static json_t *fields(const struct render_view *v, size_t *units)
{
	json_t *fields = json_array();
	struct strbuf sb = STRBUF_INIT;
	size_t total = 0;

	for (size_t i = 0; i < v->facts_nr; i++) {
		const struct render_fact *f = &v->facts[i];
		size_t name = render_units(f->name), room;

		if (!f->discord)
			continue;
		if (json_array_size(fields) == DISCORD_FIELDS_MAX ||
		    total + name + FIELD_VALUE_MIN > FIELDS_TOTAL_MAX)
			break;
		room = FIELDS_TOTAL_MAX - total - name;
		if (room > DISCORD_FIELD_VALUE_MAX)
			room = DISCORD_FIELD_VALUE_MAX;
		strbuf_reset(&sb);
		render_line_add(&sb, &f->line, RENDER_DISCORD_MD, room);
		if (!render_has_text(sb.buf))
			continue;
		total += name + text_units(sb.buf, sb.len);
		json_array_append_new(fields, json_pack("{s:s, s:o, s:b}",
			"name", f->name, "value", render_string(&sb),
			"inline", 1));
	}
	strbuf_release(&sb);
	*units += total;
	return fields;
}

static void description(struct strbuf *out, const struct render_view *v,
			size_t max)
{
	const char *d = v->description;

	if (v->description_code) {
		strbuf_addstr(out, "```\n");
		text_add_fit(out, d, strlen(d), TEXT_DISCORD_CODE, max - 8);
		strbuf_addstr(out, "\n```");
	} else {
		text_add_fit(out, d, strlen(d), TEXT_DISCORD, max);
	}
}

json_t *render_discord(const struct event *ev, const struct render_ctx *ctx)
{
	struct render_view v;
	struct strbuf content = STRBUF_INIT, title = STRBUF_INIT;
	struct strbuf desc = STRBUF_INIT;
	size_t units = 0, used = 0, room;
	char when[32];
	json_t *body = json_object(), *embed = json_object(), *f;

	render_view_init(&v, ev, ctx);
	if (v.unicode_emoji) {
		strbuf_addstr(&content, v.unicode_emoji);
		strbuf_addch(&content, ' ');
		used = render_units(content.buf);
	}
	render_line_add(&content, &v.headline, RENDER_DISCORD_TEXT,
			DISCORD_CONTENT_MAX - used);

	render_line_add(&title, &v.title, RENDER_DISCORD_TEXT,
			DISCORD_TITLE_MAX);
	units += text_units(title.buf, title.len);
	f = fields(&v, &units);
	room = DISCORD_EMBED_TOTAL_MAX - units;
	if (room > DISCORD_DESCRIPTION_MAX)
		room = DISCORD_DESCRIPTION_MAX;
	if (v.description && !v.description_in_headline &&
	    room >= DESCRIPTION_MIN)
		description(&desc, &v, room);

	if (render_has_text(title.buf))
		json_object_set_new(embed, "title",
				    render_string(&title));
	if (v.embed_url) {
		struct strbuf url = STRBUF_INIT;

		discord_add_url(&url, v.embed_url);
		json_object_set_new(embed, "url", render_string(&url));
		strbuf_release(&url);
	}
	if (desc.len)
		json_object_set_new(embed, "description",
				    render_string(&desc));
	json_object_set_new(embed, "color", json_integer(color_of(v.tone)));
	if (json_array_size(f))
		json_object_set_new(embed, "fields", f);
	else
		json_decref(f);
	if (iso8601(ev->timestamp, when, sizeof(when)))
		json_object_set_new(embed, "timestamp", json_string(when));

	json_object_set_new(body, "content",
			    render_string(&content));
	if (json_object_get(embed, "title") ||
	    json_object_get(embed, "description") ||
	    json_object_get(embed, "fields"))
		json_object_set_new(body, "embeds", json_pack("[o]", embed));
	else
		json_decref(embed);
	json_object_set_new(body, "allowed_mentions",
			    json_pack("{s:[]}", "parse"));

	strbuf_release(&content);
	strbuf_release(&title);
	strbuf_release(&desc);
	render_view_release(&v);
	return body;
}
