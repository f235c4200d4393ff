/*
 * text: the untrusted-text toolkit of the renderers. Cleans UTF-8 (with
 * the decoder of utf8.c), measures it the way Slack and Discord count
 * (UTF-16 units), cuts it at character boundaries, and escapes it for Slack
 * mrkdwn and Discord markdown so that no text of an event can ping anyone,
 * fake a link, pass for herald's own status line or break out of the
 * markup around it.
 *
 * Escaping and cutting are done in that order with a retry (text_add_fit):
 * the clean source is cut to a budget, escaped, and when the escaped form
 * is still too long the source is cut harder. An escape sequence is never
 * split, which cutting the escaped text directly could not promise.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/text.h"
#include "lib/utf8.h"

#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */
#define DIVIDES "\xe2\x88\xa3"		/* U+2223, stands in for "|" */

/*
 * Stand-ins for the Slack mrkdwn markers where they could open formatting:
 * U+2217 for "*", U+02CD for "_", U+223C for "~", U+02CB for "`". Each is
 * one UTF-16 unit, like the marker it replaces.
 */
static const struct {
	char marker;
	const char *lookalike;
} mrkdwn_lookalikes[] = {
	{ '*', "\xe2\x88\x97" },
	{ '_', "\xcb\x8d" },
	{ '~', "\xe2\x88\xbc" },
	{ '`', "\xcb\x8b" },
};

void text_add_quoted(struct strbuf *out, const char *s, size_t len,
		     size_t max)
{
	size_t cut = len;
	int raw_ok;

	if (cut > max) {
		cut = max;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	raw_ok = utf8_valid_prefix(s, cut) == cut;
	strbuf_addch(out, '"');
	for (size_t i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			strbuf_addf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !raw_ok))
			strbuf_addf(out, "\\x%02x", c);
		else
			strbuf_addch(out, (char)c);
	}
	if (cut < len)
		strbuf_addstr(out, TEXT_ELLIPSIS);
	strbuf_addch(out, '"');
}

void text_add_json_string(struct strbuf *out, const char *s, size_t len,
			  int ascii)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0;

	strbuf_grow(out, len + 2);
	strbuf_addch(out, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		const char *esc = NULL;
		char u[12];

		if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || !ascii)) {
			i++;
			run++;
			continue;
		}
		strbuf_add(out, s + i - run, run);
		run = 0;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		}
		if (esc) {
			strbuf_addstr(out, esc);
			i++;
		} else if (c < 0x80) {
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			strbuf_add(out, u, 6);
			i++;
		} else {
			uint32_t cp, units[2];
			size_t bad, n = utf8_decode(s + i, len - i, &cp, &bad),
			       k = 1;

			if (!n) {	/* not valid UTF-8: as it is */
				strbuf_add(out, s + i, bad);
				i += bad;
				continue;
			}
			units[0] = cp;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 | (cp >> 10);
				units[1] = 0xdc00 | (cp & 0x3ff);
				k = 2;
			}
			for (size_t j = 0; j < k; j++) {
				u[0] = '\\';
				u[1] = 'u';
				u[2] = hex[units[j] >> 12];
				u[3] = hex[(units[j] >> 8) & 15];
				u[4] = hex[(units[j] >> 4) & 15];
				u[5] = hex[units[j] & 15];
				strbuf_add(out, u, 6);
			}
			i += n;
		}
	}
	strbuf_add(out, s + len - run, run);
	strbuf_addch(out, '"');
}

size_t text_units(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t units = 0;

	for (size_t i = 0; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			units++;
		if (p[i] >= 0xf0)
			units++;	/* a surrogate pair */
	}
	return units;
}

int text_is_bidi_control(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

void text_add_clean(struct strbuf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, n, bad;
	uint32_t cp;

	/* Copies runs of good bytes in one go; run is where the run began. */
	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			i++;
			continue;
		}
		n = p[i] < 0x80 ? (cp = p[i], 1) : utf8_decode(s + i, len - i,
							       &cp, &bad);
		if (n && cp != 0x7f && (cp >= 0xa0 || (cp >= 0x20 && cp < 0x7f) ||
					cp == '\n' || cp == '\t') &&
		    !text_is_bidi_control(cp)) {
			i += n;
			continue;
		}
		strbuf_add(out, s + run, i - run);
		if (!n) {
			strbuf_addstr(out, REPLACEMENT);
			i += bad;
		} else if (text_is_bidi_control(cp)) {
			i += n;
		} else {
			if (!(cp == '\r' && i + 1 < len && p[i + 1] == '\n'))
				strbuf_addch(out, ' ');
			i += n;
		}
		run = i;
	}
	strbuf_add(out, s + run, i - run);
}

int text_truncate(struct strbuf *sb, size_t max_units)
{
	const unsigned char *p = (const unsigned char *)sb->buf;
	size_t units = 0, i = 0, step;

	if (text_units(sb->buf, sb->len) <= max_units)
		return 0;
	if (max_units == 0) {
		strbuf_setlen(sb, 0);
		return 1;
	}
	/* The longest prefix of at most max_units - 1 units, then "…". */
	while (i < sb->len) {
		step = p[i] >= 0xf0 ? 2 : 1;
		if (units + step > max_units - 1)
			break;
		units += step;
		i++;
		while (i < sb->len && (p[i] & 0xc0) == 0x80)
			i++;
	}
	while (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\n' ||
			 p[i - 1] == '\t'))
		i--;
	strbuf_setlen(sb, i);
	strbuf_addstr(sb, TEXT_ELLIPSIS);
	return 1;
}

/* Whether s[0..len) starts with word, ignoring ASCII case. */
static int starts_with_ci(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(s, word, n) == 0;
}

/*
 * Whether the "@" at s[i] starts "@everyone", "@here" or "@channel": a zero
 * width space after it keeps any platform from reading a mention there.
 */
static int at_mention(const char *s, size_t i, size_t len)
{
	s += i + 1;
	len -= i + 1;
	return starts_with_ci(s, len, "everyone") ||
	       starts_with_ci(s, len, "here") ||
	       starts_with_ci(s, len, "channel");
}

/*
 * Whether a character at the start of a line, followed by s[i], makes
 * Discord block syntax ("# h", "- item", "> quote", "1. item", "-# small",
 * ">>> quote"): a space or the end, or another marker character.
 */
static int block_marker(const char *s, size_t i, size_t len)
{
	return i >= len || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	       s[i] == '#' || s[i] == '>' || s[i] == '-';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Whether the ":" at s[i] opens an emoji code, ":name:" with a name of
 * letters, digits and _ + - ' as Slack spells them, that is not glued to a
 * letter or digit before it ("system:serviceaccount:infra", "10:30:00"
 * stay as they are: such a code cannot start a line).
 */
static int emoji_opens(const char *s, size_t i, size_t len)
{
	size_t j = i + 1;

	if (i && is_alnum(s[i - 1]))
		return 0;
	while (j < len && (is_alnum(s[j]) || (s[j] && strchr("_+-'", s[j]))))
		j++;
	return j > i + 1 && j < len && s[j] == ':';
}

/*
 * The stand-in for the mrkdwn marker at s[i] when it could open
 * formatting (at the start, or after anything but a letter or digit, and
 * before something other than white space), else NULL.
 */
static const char *marker_lookalike(const char *s, size_t i, size_t len)
{
	const char *look = NULL;

	for (size_t k = 0; k < sizeof(mrkdwn_lookalikes) /
			       sizeof(mrkdwn_lookalikes[0]) && !look; k++)
		if (s[i] == mrkdwn_lookalikes[k].marker)
			look = mrkdwn_lookalikes[k].lookalike;
	if (!look || (i && is_alnum(s[i - 1])) || i + 1 >= len ||
	    s[i + 1] == ' ' || s[i + 1] == '\n' || s[i + 1] == '\t')
		return NULL;
	return look;
}

/*
 * Escapes clean, valid UTF-8 for markup (enum text_markup | TEXT_ONELINE).
 * Only ASCII bytes are ever escaped, so multi-byte characters pass whole.
 */
static void escape(struct strbuf *out, const char *s, size_t len, int markup)
{
	int oneline = markup & TEXT_ONELINE;
	int line_start = 1;
	enum text_markup m = (enum text_markup)(markup & 0xff);

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int was_line_start = line_start;
		const char *look;

		if (oneline && (c == '\n' || c == '\t'))
			c = ' ';
		if (c == '\n')
			line_start = 1;
		else if (c != ' ' && c != '\t')
			line_start = 0;

		switch (m) {
		case TEXT_PLAIN:
			break;
		case TEXT_SLACK:
		case TEXT_SLACK_CODE:
		case TEXT_SLACK_LINK:
			if (m != TEXT_SLACK_CODE && c == ':' &&
			    emoji_opens(s, i, len)) {
				strbuf_addstr(out, ":" TEXT_ZWSP);
				continue;
			} else if (m != TEXT_SLACK_CODE &&
				   (look = marker_lookalike(s, i, len))) {
				strbuf_addstr(out, look);
				continue;
			} else if (c == '@' && at_mention(s, i, len)) {
				strbuf_addstr(out, "@" TEXT_ZWSP);
				continue;
			} else if (c == '&') {
				strbuf_addstr(out, "&amp;");
				continue;
			} else if (c == '<') {
				strbuf_addstr(out, "&lt;");
				continue;
			} else if (c == '>') {
				strbuf_addstr(out, "&gt;");
				continue;
			} else if (c == '|' && m == TEXT_SLACK_LINK) {
				strbuf_addstr(out, DIVIDES);
				continue;
			} else if (c == '`' && m == TEXT_SLACK_CODE &&
				   i + 1 < len && s[i + 1] == '`') {
				strbuf_addstr(out, "`" TEXT_ZWSP);
				continue;
			}
			break;
		case TEXT_DISCORD:
			if (c == '@' && at_mention(s, i, len)) {
				strbuf_addstr(out, "@" TEXT_ZWSP);
				continue;
			}
			if (strchr("\\*_~`|[]<", c) ||
			    (was_line_start && strchr("#->+", c) &&
			     block_marker(s, i + 1, len))) {
				strbuf_addch(out, '\\');
				break;
			}
			if (was_line_start && is_digit(c)) {
				size_t j = i;

				while (j < len && is_digit(s[j]))
					j++;
				if (j < len && (s[j] == '.' || s[j] == ')') &&
				    block_marker(s, j + 1, len)) {
					strbuf_add(out, s + i, j - i);
					strbuf_addch(out, '\\');
					strbuf_addch(out, s[j]);
					i = j;
					continue;
				}
			}
			break;
		case TEXT_DISCORD_CODE:
			if (c == '@' && at_mention(s, i, len)) {
				strbuf_addstr(out, "@" TEXT_ZWSP);
				continue;
			}
			if (c == '`' && i + 1 < len && s[i + 1] == '`') {
				strbuf_addstr(out, "`" TEXT_ZWSP);
				continue;
			}
			break;
		}
		strbuf_addch(out, c);
	}
}

/*
 * Sets esc to the escaped form of clean cut to budget units (as
 * text_truncate() cuts) and returns its length in units. Only the part of
 * clean that can survive the cut is copied: budget units take at most
 * 3 * budget bytes.
 */
static size_t cut_escaped(struct strbuf *esc, const struct strbuf *clean,
			  size_t budget, int markup)
{
	struct strbuf cut = STRBUF_INIT;
	size_t n = clean->len;
	size_t units;

	if (budget < (SIZE_MAX - 6) / 3 && n > 3 * budget + 6)
		n = 3 * budget + 6;
	strbuf_add(&cut, clean->buf, n);
	text_truncate(&cut, budget);
	strbuf_reset(esc);
	escape(esc, cut.buf, cut.len, markup);
	strbuf_release(&cut);
	units = text_units(esc->buf, esc->len);
	return units;
}

int text_add_fit(struct strbuf *out, const char *s, size_t len, int markup,
		 size_t max_units)
{
	struct strbuf clean = STRBUF_INIT, esc = STRBUF_INIT;
	size_t lo, hi, mid;
	int ret = 0;

	text_add_clean(&clean, s, len);
	escape(&esc, clean.buf, clean.len, markup);
	if (text_units(esc.buf, esc.len) <= max_units)
		goto out;
	/*
	 * Escapes only lengthen, so the escaped length grows with the
	 * budget of the cut: find the largest budget whose escaped form
	 * fits, between lo (fits) and hi (does not). A budget of the whole
	 * text or more does not cut at all.
	 */
	ret = 1;
	hi = text_units(clean.buf, clean.len) - 1;
	if (hi > max_units)
		hi = max_units;
	if (cut_escaped(&esc, &clean, hi, markup) <= max_units)
		goto out;
	lo = 0;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (cut_escaped(&esc, &clean, mid, markup) <= max_units)
			lo = mid;
		else
			hi = mid;
	}
	cut_escaped(&esc, &clean, lo, markup);
out:
	strbuf_add(out, esc.buf, esc.len);
	strbuf_release(&clean);
	strbuf_release(&esc);
	return ret;
}

/* Appends untrusted s cleaned and escaped, whole. */
static void add_escaped(struct strbuf *out, const char *s, int markup)
{
	struct strbuf clean = STRBUF_INIT;

	if (!s)
		return;
	text_add_clean(&clean, s, strlen(s));
	escape(out, clean.buf, clean.len, markup);
	strbuf_release(&clean);
}

void slack_escape(struct strbuf *out, const char *s)
{
	add_escaped(out, s, TEXT_SLACK);
}

void discord_escape(struct strbuf *out, const char *s)
{
	add_escaped(out, s, TEXT_DISCORD);
}

/*
 * Whether byte c of a URL is percent-encoded in a link: anything RFC 3986
 * does not allow in a URL (space, control, non-ASCII, < > " | ` \ { } ^),
 * and on Discord also the parentheses that would end [text](url).
 */
static int url_encodes(unsigned char c, int slack)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 0;
	if (!slack && (c == '(' || c == ')'))
		return 1;
	return !c || !strchr("-._~:/?#[]@!$&'()*+,;=%", c);
}

static void add_url(struct strbuf *out, const char *url, int slack)
{
	size_t len = strlen(url);

	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		if (*p == '@' && at_mention(url, (size_t)((const char *)p - url),
					    len))
			strbuf_addstr(out, "%40");	/* even there */
		else if (slack && *p == '&')
			strbuf_addstr(out, "&amp;");
		else if (url_encodes(*p, slack))
			strbuf_addf(out, "%%%02X", *p);
		else
			strbuf_addch(out, (char)*p);
	}
}

void slack_add_url(struct strbuf *out, const char *url)
{
	add_url(out, url, 1);
}

void discord_add_url(struct strbuf *out, const char *url)
{
	add_url(out, url, 0);
}

void slack_link(struct strbuf *out, const char *url, const char *text)
{
	strbuf_addch(out, '<');
	add_url(out, url, 1);
	if (text && *text) {
		strbuf_addch(out, '|');
		add_escaped(out, text, TEXT_SLACK_LINK | TEXT_ONELINE);
	}
	strbuf_addch(out, '>');
}

void discord_link(struct strbuf *out, const char *url, const char *text)
{
	strbuf_addch(out, '[');
	if (text && *text)
		add_escaped(out, text, TEXT_DISCORD | TEXT_ONELINE);
	else
		strbuf_addstr(out, "link");
	strbuf_addstr(out, "](");
	add_url(out, url, 0);
	strbuf_addch(out, ')');
}

int url_is_http(const char *s)
{
	const char *p, *host;

	if (!s)
		return 0;
	if (strncasecmp(s, "http://", 7) == 0)
		p = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		p = s + 8;
	else
		return 0;
	host = p;
	while (*p && *p != '/' && *p != '?' && *p != '#') {
		if (*p == '@')
			host = p + 1;	/* after the user information */
		p++;
	}
	if (p == host)
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return 0;
	return 1;
}
