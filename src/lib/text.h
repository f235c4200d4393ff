/*
 * text: cleaning UTF-8 (decoded with lib/utf8.h; bidirectional controls
 * dropped), truncation at character boundaries, and escaping of untrusted
 * text for Slack mrkdwn and Discord markdown. Pure.
 *
 * Lengths are measured the way the platforms count: in UTF-16 code units
 * (a character outside the BMP counts two), which is never less than the
 * number of code points, so a text within a limit by this measure is within
 * it by either.
 *
 * Every function that takes untrusted text cleans it first (as
 * text_add_clean() does), so what it appends is always valid UTF-8.
 */
#ifndef HERALD_TEXT_H
#define HERALD_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"
#include "lib/utf8.h"	/* utf8_valid(), for checking what these produce */

/* "…", U+2026: one unit, three bytes. */
#define TEXT_ELLIPSIS "\xe2\x80\xa6"
/* U+200B ZERO WIDTH SPACE, put after "@" to break "@everyone" & co. */
#define TEXT_ZWSP "\xe2\x80\x8b"

/*
 * Appends s[0..len) in double quotes for an error message: '"' and '\'
 * escaped, control bytes (and every byte >= 0x80 unless the shown part is
 * valid UTF-8) as \xNN, cut after max bytes at a character boundary with
 * "…".
 */
void text_add_quoted(struct strbuf *out, const char *s, size_t len,
		     size_t max);
/*
 * Appends s[0..len) (valid UTF-8) as a JSON string, escaped as jansson's
 * json_dumps() does: '"', '\\' and control characters; with ascii (its
 * JSON_ENSURE_ASCII) every character past U+007F as \uXXXX too.
 */
void text_add_json_string(struct strbuf *out, const char *s, size_t len,
			  int ascii);
/* Length of valid UTF-8 in UTF-16 code units. */
size_t text_units(const char *s, size_t len);

/*
 * Appends s to out, replacing invalid UTF-8 with U+FFFD (one per maximal
 * invalid subsequence), a "\r" before "\n" with nothing, other control
 * characters (C0 but \n and \t, DEL, C1) with a space, and dropping the
 * bidirectional controls (see text_is_bidi_control()).
 */
void text_add_clean(struct strbuf *out, const char *s, size_t len);

/*
 * Whether cp is an invisible control that reorders the text around it:
 * the embeddings and overrides U+202A to U+202E (the right-to-left
 * override among them), the isolates U+2066 to U+2069, the marks U+200E,
 * U+200F and U+061C. With them, text can display as something other than
 * what it says ("gnp.exe" shown for "exe.png").
 */
int text_is_bidi_control(uint32_t cp);

/*
 * Cuts the valid UTF-8 in sb so that it is at most max_units long; when it
 * cuts, it ends at a character boundary, drops the white space the cut left
 * at the end, and appends "…" within the limit (with max_units 0, sb ends up
 * empty). Returns 1 when it cut, 0 otherwise.
 */
int text_truncate(struct strbuf *sb, size_t max_units);

/* How text_add_fit() escapes. */
enum text_markup {
	TEXT_PLAIN,		/* cleaned only: logs, JSON strings */
	TEXT_SLACK,		/* mrkdwn: see slack_escape() */
	TEXT_SLACK_CODE,	/* inside ``` in mrkdwn: also breaks "```" */
	TEXT_SLACK_LINK,	/* the text of <url|text>: also no "|" */
	TEXT_DISCORD,		/* markdown: see discord_escape() */
	TEXT_DISCORD_CODE,	/* inside ``` on Discord: breaks "```" and
				   "@everyone", no backslashes */
};

/* Flag for text_add_fit(): newlines and tabs become spaces. */
#define TEXT_ONELINE 0x100

/*
 * Appends s[0..len) cleaned and escaped for markup (a enum text_markup,
 * optionally | TEXT_ONELINE), appending at most max_units. When the whole
 * does not fit, the source text is cut at a character boundary and ends in
 * "…", so an escape (&amp;, \*) is never cut in half. Returns 1 when it cut.
 */
int text_add_fit(struct strbuf *out, const char *s, size_t len, int markup,
		 size_t max_units);

/*
 * Slack mrkdwn: escapes & < > (so <!channel> in event text pings nobody),
 * and puts a zero-width space after the "@" of "@channel", "@here" and
 * "@everyone" in case anything parses those. So that event text cannot
 * pass for herald's own lines, it also puts a zero-width space after the
 * first ":" of an emoji code (":x:", unless glued to a letter or digit
 * before it) and replaces a "*", "_", "~" or "`" that could open
 * formatting (not after a letter or digit, not before white space) by a
 * lookalike (U+2217, U+02CD, U+223C, U+02CB). Not in TEXT_SLACK_CODE,
 * where Slack renders neither.
 */
void slack_escape(struct strbuf *out, const char *s);
/*
 * Appends a Slack link <url|text>: the URL has & as &amp; and every byte
 * RFC 3986 does not allow in a URL (space, control, non-ASCII, < > | " `
 * \ { } ^) percent-encoded, so it cannot break out; the text is escaped,
 * on one line, and has "|" replaced by "∣".
 */
void slack_link(struct strbuf *out, const char *url, const char *text);

/*
 * Discord markdown: backslash-escapes \ * _ ~ ` | [ ] < anywhere and
 * # - > + and "1." starting a line as block syntax ("# h", "- item"), and
 * puts a zero-width space after the "@" of "@everyone", "@here" (and
 * "@channel"), so text renders as itself and no mention syntax (<@…>, <#…>,
 * <t:…>) or masked link survives, even where allowed_mentions would not
 * apply.
 */
void discord_escape(struct strbuf *out, const char *s);
/*
 * Appends a Discord masked link [text](url): the text escaped and on one
 * line, the URL with ( ) and every byte RFC 3986 does not allow in a URL
 * percent-encoded.
 */
void discord_link(struct strbuf *out, const char *url, const char *text);

/*
 * Append a link's URL encoded as slack_link() and discord_link() write it
 * between their delimiters, for callers that build links themselves. An
 * "@" before "everyone", "here" or "channel" is encoded too.
 */
void slack_add_url(struct strbuf *out, const char *url);
void discord_add_url(struct strbuf *out, const char *url);

/*
 * Whether s is an absolute http:// or https:// URL (scheme in any case)
 * with a non-empty host and no white space or control characters.
 */
int url_is_http(const char *s);

#endif
