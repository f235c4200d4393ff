/*
 * Fuzz target for the text toolkit (lib/text.c) and the UTF-8 decoder
 * (lib/utf8.c) every renderer, log line and API answer goes through.
 * Byte 0 is a budget in UTF-16 units (for the cutting functions), byte 1
 * picks the markup; the rest, up to the first "\n\n" (the URL of a link),
 * then the text.
 *
 *   - utf8_decode(), utf8_valid() and utf8_valid_prefix() agree with a
 *     reference decoder written another way (decode by the bits, then
 *     reject overlong forms, surrogates and > U+10FFFF), including the
 *     length of the maximal invalid subsequence;
 *   - text_add_clean() writes valid UTF-8 without control characters (but
 *     \n and \t) or bidirectional controls, is idempotent, and leaves
 *     clean text as it is; text_units() counts UTF-16 units;
 *   - text_add_json_string() writes a JSON string that jansson reads back
 *     as the same string and writes the same way (ASCII-only with ascii);
 *   - text_add_quoted() writes one quoted line of valid UTF-8 without
 *     control bytes;
 *   - text_truncate() and text_add_fit() keep the budget, cut only at a
 *     character boundary, and text_add_fit()'s Slack and Discord forms let
 *     no mention, markup or link open (an unescaped < > for Slack, an
 *     unescaped \ * _ ~ ` | [ ] < for Discord), on one line with
 *     TEXT_ONELINE;
 *   - slack_link() and discord_link() stay one link each: the URL cannot
 *     close it, the text cannot end it early.
 *
 * Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "lib/text.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_text.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

/* ---- a reference UTF-8 decoder ----------------------------------------- */

/*
 * Decodes the sequence at p[0..len) by its bits alone; 0 when it is not
 * valid. Then it is valid when its code point needs exactly that many
 * bytes, is no surrogate and at most U+10FFFF.
 */
static size_t ref_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		v = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		v = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		v = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/*
 * The length of the maximal invalid subsequence at p (p[0..len) does not
 * start with a valid character): the longest prefix, shorter than a whole
 * character, that some continuation bytes would make valid; at least 1.
 */
static size_t ref_bad(const unsigned char *p, size_t len)
{
	size_t best = 1;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 1;
	for (size_t k = 2; k <= 3 && k <= len; k++) {
		unsigned char buf[4] = { 0x80, 0x80, 0x80, 0x80 };
		size_t n;

		memcpy(buf, p, k);
		n = ref_decode(buf, 4, &cp);
		if (!n || n <= k)
			break;
		best = k;
	}
	return best;
}

static void check_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, prefix = len;
	size_t units = 0;

	while (i < len) {
		uint32_t cp = 0, rcp = 0;
		size_t bad = 0, n = utf8_decode(s + i, len - i, &cp, &bad);
		size_t rn = ref_decode(p + i, len - i, &rcp);

		CHECK(n == rn);
		CHECK(utf8_char_len(s + i, len - i) == n);
		if (n) {
			CHECK(cp == rcp);
			units += cp >= 0x10000 ? 2 : 1;
			i += n;
			continue;
		}
		CHECK(bad == ref_bad(p + i, len - i));
		if (prefix == len)
			prefix = i;
		i += bad;
	}
	CHECK(utf8_valid_prefix(s, len) == prefix);
	CHECK(utf8_valid(s, len) == (prefix == len));
	if (prefix == len)
		CHECK(text_units(s, len) == units);
}

/* ---- checks on what the text functions write ---------------------------- */

/* Valid UTF-8, and no character but \n and \t below U+0020, no DEL, no C1. */
static void check_clean(const char *s, size_t len, int oneline)
{
	size_t i = 0;

	CHECK(utf8_valid(s, len));
	CHECK(strlen(s) == len);
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp, NULL);

		CHECK(n);
		CHECK(cp >= 0x20 || cp == '\n' || cp == '\t');
		CHECK(cp != 0x7f && (cp < 0x80 || cp >= 0xa0));
		CHECK(!text_is_bidi_control(cp));
		if (oneline)
			CHECK(cp != '\n' && cp != '\t');
		i += n;
	}
}

/* No "@everyone", "@here" or "@channel", in any case. */
static void check_no_mention(const char *s)
{
	static const char *const words[] = { "everyone", "here", "channel" };

	for (const char *at = strchr(s, '@'); at; at = strchr(at + 1, '@'))
		for (size_t k = 0; k < 3; k++)
			CHECK(strncasecmp(at + 1, words[k], strlen(words[k])));
}

static void check_slack(const char *s, int markup)
{
	check_no_mention(s);
	CHECK(!strchr(s, '<') && !strchr(s, '>'));
	if ((markup & 0xff) == TEXT_SLACK_LINK)
		CHECK(!strchr(s, '|'));
	if ((markup & 0xff) == TEXT_SLACK_CODE)
		CHECK(!strstr(s, "``"));
}

/* No unescaped markdown character, for Discord's TEXT_DISCORD. */
static void check_discord(const char *s)
{
	check_no_mention(s);
	for (; *s; s++) {
		if (*s == '\\') {
			CHECK(s[1]);
			s++;
			continue;
		}
		CHECK(!strchr("*_~`|[]<", *s));
	}
}

static void check_fit(const char *s, size_t len, int markup, size_t budget)
{
	struct strbuf out = STRBUF_INIT;
	int cut = text_add_fit(&out, s, len, markup, budget);

	check_clean(out.buf, out.len, markup & TEXT_ONELINE);
	CHECK(text_units(out.buf, out.len) <= budget);
	if (cut)
		CHECK(out.len == 0 || (out.len >= 3 &&
		      !strcmp(out.buf + out.len - 3, TEXT_ELLIPSIS)) ||
		      budget == 0);
	switch (markup & 0xff) {
	case TEXT_SLACK:
	case TEXT_SLACK_LINK:
	case TEXT_SLACK_CODE:
		check_slack(out.buf, markup);
		break;
	case TEXT_DISCORD:
		check_discord(out.buf);
		break;
	case TEXT_DISCORD_CODE:
		check_no_mention(out.buf);
		CHECK(!strstr(out.buf, "``"));
		break;
	default:
		break;
	}
	strbuf_release(&out);
}

static void check_json_string(const char *s, size_t len)
{
	for (int ascii = 0; ascii <= 1; ascii++) {
		struct strbuf out = STRBUF_INIT;
		json_t *j = json_stringn(s, len);
		json_t *back;
		char *want;

		CHECK(j);
		text_add_json_string(&out, s, len, ascii);
		want = json_dumps(j, JSON_ENCODE_ANY |
				  (ascii ? JSON_ENSURE_ASCII : 0));
		CHECK(want && !strcmp(want, out.buf));
		back = json_loadb(out.buf, out.len, JSON_DECODE_ANY |
				  JSON_ALLOW_NUL, NULL);
		CHECK(back && json_is_string(back));
		CHECK(json_string_length(back) == len);
		CHECK(!memcmp(json_string_value(back), s, len));
		for (size_t i = 0; ascii && i < out.len; i++)
			CHECK((unsigned char)out.buf[i] < 0x80);
		json_decref(back);
		json_decref(j);
		free(want);
		strbuf_release(&out);
	}
}

static void check_quoted(const char *s, size_t len, size_t max)
{
	struct strbuf out = STRBUF_INIT;

	text_add_quoted(&out, s, len, max);
	CHECK(out.len >= 2 && out.buf[0] == '"' && out.buf[out.len - 1] == '"');
	CHECK(utf8_valid(out.buf, out.len));
	for (size_t i = 0; i < out.len; i++)
		CHECK((unsigned char)out.buf[i] >= 0x20 && out.buf[i] != 0x7f);
	strbuf_release(&out);
}

/*
 * Slack: "<url|text>" or "<url>", with no other < > and no | in the URL.
 * Discord: "[text](url)": the first unescaped "](" is the one before the
 * URL, which has no ( ) or white space.
 */
static void check_links(const char *url, const char *text)
{
	struct strbuf out = STRBUF_INIT;
	const char *p, *bar;

	slack_link(&out, url, text);
	CHECK(out.buf[0] == '<' && out.buf[out.len - 1] == '>');
	CHECK(!strchr(out.buf + 1, '<'));
	CHECK(strchr(out.buf, '>') == out.buf + out.len - 1);
	bar = strchr(out.buf, '|');
	if (bar)
		CHECK(!strchr(bar + 1, '|'));
	CHECK(utf8_valid(out.buf, out.len));
	check_no_mention(out.buf);
	for (p = out.buf; *p; p++)
		CHECK((unsigned char)*p > 0x20 || *p == ' ');
	for (p = out.buf + 1; *p != '|' && *p != '>'; p++)
		CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);

	strbuf_reset(&out);
	discord_link(&out, url, text);
	CHECK(out.buf[0] == '[' && out.buf[out.len - 1] == ')');
	CHECK(utf8_valid(out.buf, out.len));
	check_no_mention(out.buf);
	for (p = out.buf + 1; *p; p++) {
		if (*p == '\\') {
			CHECK(p[1]);
			p++;
			continue;
		}
		CHECK(*p != '[' && *p != '\n');
		if (*p == ']')
			break;
	}
	CHECK(*p == ']' && p[1] == '(');
	for (p += 2; p < out.buf + out.len - 1; p++)
		CHECK(*p != '(' && *p != ')' && (unsigned char)*p > 0x20 &&
		      (unsigned char)*p < 0x7f);
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int markups[] = {
		TEXT_PLAIN, TEXT_SLACK, TEXT_SLACK_CODE, TEXT_SLACK_LINK,
		TEXT_DISCORD, TEXT_DISCORD_CODE,
	};
	struct strbuf clean = STRBUF_INIT, again = STRBUF_INIT;
	size_t budget, len, url_len;
	const char *s, *url, *sep;
	char *url_z, *text_z;
	int markup;

	if (size < 2)
		return 0;
	budget = data[0];
	markup = markups[(data[1] & 0x7f) % 6] | (data[1] & 0x80 ? TEXT_ONELINE : 0);
	s = (const char *)data + 2;
	len = size - 2;

	check_utf8(s, len);

	text_add_clean(&clean, s, len);
	check_clean(clean.buf, clean.len, 0);
	text_add_clean(&again, clean.buf, clean.len);
	CHECK(again.len == clean.len && !memcmp(again.buf, clean.buf, clean.len));
	if (utf8_valid(s, len)) {
		int plain = 1;

		for (size_t i = 0; i < len && plain; i++) {
			unsigned char c = (unsigned char)s[i];

			plain = (c >= 0x20 && c != 0x7f) || c == '\n' || c == '\t';
		}
		if (plain && !memmem(s, len, "\xc2", 1) &&
		    !memmem(s, len, "\xe2\x80", 2) && !memmem(s, len, "\xe2\x81", 2) &&
		    !memmem(s, len, "\xd8\x9c", 2))
			CHECK(clean.len == len && !memcmp(clean.buf, s, len));
		check_json_string(s, len);
	}
	check_json_string(clean.buf, clean.len);
	check_quoted(s, len, budget);

	strbuf_reset(&again);
	strbuf_add(&again, clean.buf, clean.len);
	text_truncate(&again, budget);
	CHECK(text_units(again.buf, again.len) <= budget);
	CHECK(utf8_valid(again.buf, again.len));

	check_fit(s, len, markup, budget);
	check_fit(s, len, markup, len * 3 + 8);

	sep = memmem(s, len, "\n\n", 2);
	url = s;
	url_len = sep ? (size_t)(sep - s) : 0;
	url_z = strndup(url, url_len);
	text_z = sep ? strndup(sep + 2, len - url_len - 2) : strndup(s, len);
	CHECK(url_z && text_z);
	check_links(url_z, text_z);
	(void)url_is_http(url_z);
	free(url_z);
	free(text_z);

	strbuf_release(&clean);
	strbuf_release(&again);
	return 0;
}
