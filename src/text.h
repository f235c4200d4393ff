/*
 * text: UTF-8 validation, truncation at character boundaries, and escaping
 * of untrusted text for Slack mrkdwn and Discord markdown. Pure.
 *
 * Lengths are measured the way the platforms count: in UTF-16 code units
 * (a character outside the BMP counts two), which is never less than the
 * number of code points, so a text within a limit by this measure is within
 * it by either.
 */
#ifndef HERALD_TEXT_H
#define HERALD_TEXT_H

#include <stddef.h>

#include "strbuf.h"

/* Whether s[0..len) is valid UTF-8 (no overlongs, surrogates, > U+10FFFF). */
int utf8_valid(const char *s, size_t len);
/* Length of valid UTF-8 in UTF-16 code units. */
size_t text_units(const char *s, size_t len);

/*
 * Appends s to out, replacing invalid UTF-8 with U+FFFD and control characters
 * other than \n and \t with a space.
 */
void text_add_clean(struct strbuf *out, const char *s, size_t len);

/*
 * Cuts the valid UTF-8 in sb so that it is at most max units long; when it
 * cuts, it ends at a character boundary and appends "…" within the limit.
 * Returns 1 when it cut, 0 otherwise.
 */
int text_truncate(struct strbuf *sb, size_t max_units);

/* Slack mrkdwn: escapes & < > (so <!channel> in event text pings nobody). */
void slack_escape(struct strbuf *out, const char *s);
/*
 * Appends a Slack link <url|text>: the URL has & < > | escaped or
 * percent-encoded so it cannot break out, the text is escaped and has no
 * "|" or ">" that could close the link early.
 */
void slack_link(struct strbuf *out, const char *url, const char *text);

/*
 * Discord markdown: backslash-escapes markdown characters (\ * _ ~ ` | > #
 * [ ] ( ) -) and breaks "@everyone"/"@here" and mention syntax (<@…>) so
 * they render as text even where allowed_mentions would not apply.
 */
void discord_escape(struct strbuf *out, const char *s);
/* Appends a Discord masked link [text](url) with escaped text and URL. */
void discord_link(struct strbuf *out, const char *url, const char *text);

/* Whether s is an absolute http:// or https:// URL with a host. */
int url_is_http(const char *s);

#endif
