/*
 * render: turns an event into the message body a platform is sent.
 *
 * render_slack() builds a chat.postMessage body (text fallback, Block Kit
 * blocks, unfurl_links false) without "channel"; render_discord() builds a
 * create-message body (content, one embed, allowed_mentions {"parse": []})
 * without "nonce". Every string from the event is escaped and every length
 * kept within the limits of docs/platform-limits (see the reference). Pure.
 */
#ifndef HERALD_RENDER_H
#define HERALD_RENDER_H

#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "event.h"

/* Slack limits (shared/reference/chat-platforms.md). */
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
 * The commit link for repository and sha from the template, or NULL when
 * either is missing or the result is not an http(s) URL. Caller frees.
 */
char *render_commit_url(const char *tmpl, const char *repo, const char *sha);

#endif
