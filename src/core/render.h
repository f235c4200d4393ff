/*
 * render: turns an event into the message body a platform is sent.
 *
 * render_slack() builds a chat.postMessage body (text fallback, Block Kit
 * blocks, unfurl_links false) without "channel"; render_discord() builds a
 * create-message body (content, one embed, allowed_mentions {"parse": []})
 * without "nonce". Every string from the event is escaped and every length
 * kept within the platforms' limits below; docs/messages.md shows the
 * messages and the guarantees. Pure.
 */
#ifndef HERALD_RENDER_H
#define HERALD_RENDER_H

#include <jansson.h>

#include "core/catalog.h"
#include "core/config.h"
#include "core/event.h"

/*
 * Slack limits, from Slack's API documentation (docs/messages.md, "Limits
 * and truncation", lists them all with how herald keeps within them).
 */
#define SLACK_TEXT_MAX 4000
#define SLACK_SECTION_TEXT_MAX 3000
#define SLACK_FIELD_MAX 2000
#define SLACK_FIELDS_MAX 10
#define SLACK_HEADER_MAX 150
#define SLACK_CONTEXT_ELEMENTS_MAX 10
#define SLACK_BLOCKS_MAX 50
#define SLACK_BLOCKS_CHARS_MAX 11000	/* undocumented cumulative limit, ~12k */

/* Discord limits. */
#define DISCORD_CONTENT_MAX 2000
#define DISCORD_TITLE_MAX 256
#define DISCORD_DESCRIPTION_MAX 4096
#define DISCORD_FIELDS_MAX 25
#define DISCORD_FIELD_NAME_MAX 256
#define DISCORD_FIELD_VALUE_MAX 1024
#define DISCORD_FOOTER_MAX 2048
#define DISCORD_EMBED_TOTAL_MAX 6000

#define DISCORD_COLOR_SUCCESS 0x2ECC71
#define DISCORD_COLOR_FAILURE 0xE74C3C
#define DISCORD_COLOR_PROGRESS 0xF1C40F
#define DISCORD_COLOR_INFO 0x3498DB

struct render_ctx {
	const char *commit_url;		/* template with {repo} and {sha} */
	const struct catalog_service *service;	/* the event's app, or NULL */
};

/* Each returns a new JSON object (caller json_decref()s); never NULL. */
json_t *render_slack(const struct event *ev, const struct render_ctx *ctx);
json_t *render_discord(const struct event *ev, const struct render_ctx *ctx);
json_t *render_for(enum provider_kind provider, const struct event *ev,
		   const struct render_ctx *ctx);

/*
 * Digests (render_digest.c): one message listing many notifications, one
 * line each (icon, headline with app and env, a link to the details).
 * render_digest_capacity() is how many lines one digest shows; the
 * notifications beyond wait for the next digest.
 */
#define DIGEST_SLACK_LINES 50
#define DIGEST_DISCORD_LINES 36

size_t render_digest_capacity(enum provider_kind provider);
/*
 * The digest of evs[0..nr-1] (nr >= 1; those beyond the capacity are left
 * out and counted in more), ctxs[i] being evs[i]'s context, in the order
 * given. more > 0 adds "...and N more, in the next messages". Slack's
 * form for PROVIDER_LOG. Returns a new JSON object; never NULL.
 */
json_t *render_digest(enum provider_kind provider,
		      const struct event *const *evs,
		      const struct render_ctx *ctxs, size_t nr, size_t more);

/*
 * The commit link for repository and sha from the template, or NULL when
 * either is missing or the result is not an http(s) URL. Caller frees.
 */
char *render_commit_url(const char *tmpl, const char *repo, const char *sha);

/*
 * Internals shared by render.c, render_slack.c and render_discord.c; not
 * for other modules.
 *
 * render.c turns an event into a struct render_view: what the message says,
 * as lines of pieces (our own literal words, and the event's values, which
 * are untrusted), independent of the platform. Each platform file then
 * lays the view out in its own markup and within its own limits.
 */

/* A value of the event in a line is cut to this many units... */
#define RENDER_VALUE_MAX 100
/* ...and a link is made only when its encoded URL is at most this long. */
#define RENDER_URL_MAX 2000

enum render_tone {
	RENDER_INFO,
	RENDER_PROGRESS,
	RENDER_SUCCESS,
	RENDER_FAILURE,
};

struct render_piece {
	const char *text;	/* ours when !value; else the event's */
	const char *url;	/* a link on a value, or NULL */
	size_t max;		/* a value's cut in units (0: RENDER_VALUE_MAX) */
	unsigned value : 1;	/* untrusted: cleaned, escaped, cut */
	unsigned strong : 1;	/* bold where the markup has it */
};

#define RENDER_PIECES_MAX 16

struct render_line {
	struct render_piece p[RENDER_PIECES_MAX];
	size_t nr;
};

/* One detail: a Discord field, a Slack context element. */
struct render_fact {
	const char *name;		/* Discord field name: "Commit" */
	const char *slack_label;	/* Slack: "Deployed by", or NULL */
	struct render_line line;
	unsigned slack : 1;		/* shown on Slack */
	unsigned discord : 1;		/* shown on Discord */
};

#define RENDER_FACTS_MAX 14
#define RENDER_OWNED_MAX 8

struct render_view {
	const struct event *ev;
	enum render_tone tone;
	const char *slack_emoji;	/* ":rocket:", or NULL */
	const char *unicode_emoji;	/* "🚀", or NULL */
	struct render_line headline;	/* the one-line summary */
	struct render_line title;	/* Discord embed title; may be empty */
	const char *header;		/* a message's title: Slack header */
	const char *description;	/* the event's, or NULL */
	int description_code;		/* show it as a code block */
	int description_in_headline;	/* it is all in the headline already */
	const char *embed_url;		/* Discord embed url, or NULL */
	struct render_fact facts[RENDER_FACTS_MAX];
	size_t facts_nr;
	char *owned[RENDER_OWNED_MAX];	/* strings the view allocated */
	size_t owned_nr;
};

enum render_style {
	RENDER_PLAIN,		/* cleaned text only (logs) */
	RENDER_SLACK_TEXT,	/* escaped, no links, no bold */
	RENDER_SLACK_MRKDWN,	/* escaped, links, bold */
	RENDER_DISCORD_TEXT,	/* escaped, no links, no bold */
	RENDER_DISCORD_MD,	/* escaped, masked links */
};

void render_view_init(struct render_view *v, const struct event *ev,
		      const struct render_ctx *ctx);
void render_view_release(struct render_view *v);

/*
 * Appends line in style, on one line, at most max units: values are cut
 * to fit what our words leave, and a link that does not fit is left out
 * (its text stays).
 */
void render_line_add(struct strbuf *out, const struct render_line *line,
		     enum render_style style, size_t max);

/*
 * A new JSON string of sb's text, for the body: "" when an add to sb went
 * over its cap (strbuf_overflowed()), so that a cut link or escape never
 * reaches a platform; NULL when the text is not valid UTF-8. sb stays the
 * caller's.
 */
json_t *render_string(const struct strbuf *sb);

/*
 * Whether s has something other than white space and control characters
 * (bidirectional controls among them): whether it is visible once cleaned.
 */
int render_has_text(const char *s);
/* Length of a NUL-terminated UTF-8 string in UTF-16 units. */
size_t render_units(const char *s);

#endif
