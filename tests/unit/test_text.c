/*
 * Unit tests for text: UTF-8 cleaning (the decoder has test_utf8.c), UTF-16
 * measuring, truncation, escaping for Slack and Discord, links and URL
 * checks; and property tests that push thousands of random and hostile strings through
 * escape-and-cut at random limits (seeded, so every run is the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "lib/text.h"
#include "lib/utf8.h"

#define ZWSP TEXT_ZWSP
#define STAR "\xe2\x88\x97"		/* U+2217, for "*" */
#define LOWLINE "\xcb\x8d"		/* U+02CD, for "_" */
#define TILDE "\xe2\x88\xbc"		/* U+223C, for "~" */
#define GRAVE "\xcb\x8b"		/* U+02CB, for "`" */

static void expect_quoted(const char *s, size_t len, size_t max,
			  const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	text_add_quoted(&sb, s, len, max);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_add_quoted(void **state)
{
	expect_quoted("prod", 4, 80, "\"prod\"");
	expect_quoted("a\"b\\c", 5, 80, "\"a\\\"b\\\\c\"");
	expect_quoted("a\nb\x7f", 4, 80, "\"a\\x0ab\\x7f\"");
	expect_quoted("caf\xc3\xa9", 5, 80, "\"caf\xc3\xa9\"");
	expect_quoted("x\xff", 2, 80, "\"x\\xff\"");
	/* Cut at a character boundary, never inside one. */
	expect_quoted("abcdef", 6, 3, "\"abc" TEXT_ELLIPSIS "\"");
	expect_quoted("ab\xc3\xa9z", 5, 3, "\"ab" TEXT_ELLIPSIS "\"");
}

/* The same bytes as jansson, with and without JSON_ENSURE_ASCII. */
static void test_json_string(void **state)
{
	static const char *const cases[] = {
		"", "plain", "quote \" backslash \\ slash /",
		"\b\f\n\r\t \x01\x1f\x7f end",
		"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80 \xef\xbf\xbf",
		"<!channel> @here &amp;",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (int ascii = 0; ascii <= 1; ascii++) {
			struct strbuf sb = STRBUF_INIT;
			json_t *j = json_string(cases[i]);
			char *want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT |
						(ascii ? JSON_ENSURE_ASCII : 0));

			text_add_json_string(&sb, cases[i], strlen(cases[i]),
					     ascii);
			assert_string_equal(sb.buf, want);
			free(want);
			json_decref(j);
			strbuf_release(&sb);
		}
	}
}

static void test_units(void **state)
{
	assert_int_equal(text_units("", 0), 0);
	assert_int_equal(text_units("abc", 3), 3);
	assert_int_equal(text_units("caf\xc3\xa9", 5), 4);
	assert_int_equal(text_units("\xe2\x82\xac", 3), 1);
	assert_int_equal(text_units("\xf0\x9f\x9a\x80", 4), 2);
	assert_int_equal(text_units("a\xf0\x9f\x9a\x80" "b", 6), 4);
}

static void check_clean(const char *in, size_t len, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	text_add_clean(&sb, in, len);
	assert_string_equal(sb.buf, want);
	assert_true(utf8_valid(sb.buf, sb.len));
	strbuf_release(&sb);
}

static void test_clean(void **state)
{
	check_clean("keep\ttabs\nand lines", 19, "keep\ttabs\nand lines");
	check_clean("bell\x07" "del\x7f", 9, "bell del ");
	check_clean("nul\0x", 5, "nul x");
	check_clean("crlf\r\nlone\r", 11, "crlf\nlone ");
	check_clean("c1 \xc2\x85 nel", 9, "c1   nel");
	check_clean("\xc2\xa0nbsp", 6, "\xc2\xa0nbsp");
	check_clean("bad \xff byte", 10, "bad \xef\xbf\xbd byte");
	/* One U+FFFD per maximal invalid subsequence. */
	check_clean("\xe2\x82" "x", 3, "\xef\xbf\xbdx");
	check_clean("\xf0\x9f\x9a" "x", 4, "\xef\xbf\xbdx");
	check_clean("\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	check_clean("\xed\xa0\x80", 3,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check_clean("\xf0\x9f\x9a\x80 ok", 7, "\xf0\x9f\x9a\x80 ok");
}

/* The bidirectional controls are dropped, their neighbours kept. */
static void test_clean_bidi(void **state)
{
	check_clean("exe.\xe2\x80\xaegnp", 10, "exe.gnp");
	check_clean("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"
		    "\xe2\x80\xae", 15, "");
	check_clean("a\xe2\x81\xa6" "b\xe2\x81\xa7" "c\xe2\x81\xa8" "d\xe2\x81\xa9"
		    "e", 17, "abcde");
	check_clean("\xe2\x80\x8el\xe2\x80\x8fr\xd8\x9cx", 11, "lrx");
	/* Their neighbours in Unicode stay: ZWSP, ZWJ, LS, U+2065, U+206A. */
	check_clean("\xe2\x80\x8b\xe2\x80\x8d\xe2\x80\xa8\xe2\x81\xa5"
		    "\xe2\x81\xaa", 15, "\xe2\x80\x8b\xe2\x80\x8d\xe2\x80\xa8"
		    "\xe2\x81\xa5\xe2\x81\xaa");
	assert_true(text_is_bidi_control(0x202e));
	assert_false(text_is_bidi_control(0x202f));
	assert_false(text_is_bidi_control(0x200d));
}

static void check_truncate(const char *in, size_t max, const char *want,
			   int cut)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, in);
	assert_int_equal(text_truncate(&sb, max), cut);
	assert_string_equal(sb.buf, want);
	assert_true(text_units(sb.buf, sb.len) <= max);
	strbuf_release(&sb);
}

static void test_truncate(void **state)
{
	check_truncate("hello", 5, "hello", 0);
	check_truncate("hello", 100, "hello", 0);
	check_truncate("hello world", 5, "hell" TEXT_ELLIPSIS, 1);
	/* The cut does not leave white space before the ellipsis. */
	check_truncate("hello world", 7, "hello" TEXT_ELLIPSIS, 1);
	check_truncate("line one\nline two", 10, "line one" TEXT_ELLIPSIS, 1);
	check_truncate("hello", 1, TEXT_ELLIPSIS, 1);
	check_truncate("hello", 0, "", 1);
	check_truncate("", 0, "", 0);
	/* A rocket is two units: never half of one. */
	check_truncate("\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80", 4,
		       "\xf0\x9f\x9a\x80" TEXT_ELLIPSIS, 1);
	check_truncate("\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80", 5,
		       "\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80" TEXT_ELLIPSIS, 1);
	check_truncate("caf\xc3\xa9s", 4, "caf" TEXT_ELLIPSIS, 1);
}

static void check_fit(const char *in, int markup, size_t max,
		      const char *want, int cut)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(text_add_fit(&sb, in, strlen(in), markup, max), cut);
	assert_string_equal(sb.buf, want);
	assert_true(text_units(sb.buf, sb.len) <= max);
	strbuf_release(&sb);
}

static void test_fit(void **state)
{
	check_fit("a&b", TEXT_SLACK, 100, "a&amp;b", 0);
	check_fit("a&b", TEXT_SLACK, 7, "a&amp;b", 0);
	/* Never half an entity: the source is cut, then escaped. */
	check_fit("a&b", TEXT_SLACK, 6, "a" TEXT_ELLIPSIS, 1);
	check_fit("a&b&c", TEXT_SLACK, 7, "a&amp;" TEXT_ELLIPSIS, 1);
	check_fit("a&b&c", TEXT_SLACK, 6, "a" TEXT_ELLIPSIS, 1);
	check_fit("&&&&", TEXT_SLACK, 12, "&amp;&amp;" TEXT_ELLIPSIS, 1);
	check_fit("*_*", TEXT_DISCORD, 4, "\\*" TEXT_ELLIPSIS, 1);
	check_fit("x\ny\tz", TEXT_PLAIN | TEXT_ONELINE, 10, "x y z", 0);
	check_fit("x\ny", TEXT_PLAIN, 10, "x\ny", 0);
	check_fit("abc", TEXT_SLACK, 0, "", 1);
	check_fit("bad\x01", TEXT_PLAIN, 10, "bad ", 0);
	/* A long text fills the room (the escapes counted), not less. */
	{
		struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;

		for (int i = 0; i < 2000; i++)
			strbuf_addstr(&in, i < 100 ? "<" : "a");
		assert_int_equal(text_add_fit(&out, in.buf, in.len, TEXT_SLACK,
					      1000), 1);
		assert_int_equal(text_units(out.buf, out.len), 1000);
		strbuf_release(&in);
		strbuf_release(&out);
	}
}

static void check_escape(void (*fn)(struct strbuf *, const char *),
			 const char *in, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	fn(&sb, in);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_slack_escape(void **state)
{
	check_escape(slack_escape, "<!channel> & <@U1>",
		     "&lt;!channel&gt; &amp; &lt;@U1&gt;");
	check_escape(slack_escape, "&amp;", "&amp;amp;");
	check_escape(slack_escape, "@here @channel @Everyone jane@x",
		     "@" ZWSP "here @" ZWSP "channel @" ZWSP "Everyone jane@x");
	check_escape(slack_escape, "*bold* | `code`",
		     STAR "bold* | " GRAVE "code`");
	check_escape(slack_escape, "bad \xff", "bad \xef\xbf\xbd");
}

/*
 * Untrusted text cannot imitate herald's status line (an emoji code, a
 * bold app): no :emoji: code and no marker that opens mrkdwn formatting.
 */
static void test_slack_imitation(void **state)
{
	check_escape(slack_escape, ":white_check_mark: *api* is live on *prod*",
		     ":" ZWSP "white_check_mark: " STAR "api* is live on "
		     STAR "prod*");
	check_escape(slack_escape, "a :x: b :+1::skin-tone-2: :don't:",
		     "a :" ZWSP "x: b :" ZWSP "+1::" ZWSP "skin-tone-2: :" ZWSP
		     "don't:");
	check_escape(slack_escape, "_it_ ~strike~ `code` \n*b*",
		     LOWLINE "it_ " TILDE "strike~ " GRAVE "code` \n" STAR "b*");
	/* Not formatting, not emoji: as typed. */
	check_escape(slack_escape, "snake_case a*b 2*3 x_ * _ 10:30:00 "
		     "system:serviceaccount:infra:gimlet a: b: :",
		     "snake_case a*b 2*3 x_ * _ 10:30:00 "
		     "system:serviceaccount:infra:gimlet a: b: :");
	/* Links cannot be made; in code blocks nothing renders. */
	check_escape(slack_escape, "<https://x.example|:x: *api*>",
		     "&lt;https://x.example|:" ZWSP "x: " STAR "api*&gt;");
	check_fit(":x: *a*", TEXT_SLACK_CODE, 100, ":x: *a*", 0);
	check_fit(":x: *a*", TEXT_SLACK_LINK | TEXT_ONELINE, 100,
		  ":" ZWSP "x: " STAR "a*", 0);
	/* A cut never leaves half a stand-in. */
	check_fit("*aaaa", TEXT_SLACK, 3, STAR "a" TEXT_ELLIPSIS, 1);
	check_fit(":xy:", TEXT_SLACK, 3, ":x" TEXT_ELLIPSIS, 1);
}

static void test_slack_link(void **state)
{
	check_escape(slack_escape, "", "");
	{
		struct strbuf sb = STRBUF_INIT;

		slack_link(&sb, "https://x.example/a|b>c<d e&f\"g",
			   "v1 | <2>\nnext");
		assert_string_equal(sb.buf,
			"<https://x.example/a%7Cb%3Ec%3Cd%20e&amp;f%22g|"
			"v1 \xe2\x88\xa3 &lt;2&gt; next>");
		strbuf_reset(&sb);
		slack_link(&sb, "https://x.example/\xc3\xa9", NULL);
		assert_string_equal(sb.buf, "<https://x.example/%C3%A9>");
		strbuf_release(&sb);
	}
}

static void test_discord_escape(void **state)
{
	check_escape(discord_escape, "*bold* _it_ ~~s~~ `c` ||sp|| \\",
		     "\\*bold\\* \\_it\\_ \\~\\~s\\~\\~ \\`c\\` \\|\\|sp\\|\\| "
		     "\\\\");
	check_escape(discord_escape, "[x](http://evil) <@123> <#1> <t:1>",
		     "\\[x\\](http://evil) \\<@123> \\<#1> \\<t:1>");
	check_escape(discord_escape, "@everyone @HERE @here2 a@b",
		     "@" ZWSP "everyone @" ZWSP "HERE @" ZWSP "here2 a@b");
	/* Block syntax only matters at the start of a line. */
	check_escape(discord_escape, "# h\n- l\n> q\n  + p\n12. n\n3) m",
		     "\\# h\n\\- l\n\\> q\n  \\+ p\n12\\. n\n3\\) m");
	check_escape(discord_escape, "a - b # c > d 1. e",
		     "a - b # c > d 1. e");
	/* Without the space after it, nothing is block syntax. */
	check_escape(discord_escape, "#tag\n-x\n1.4.2\n>y\n-# s\n>>> q",
		     "#tag\n-x\n1.4.2\n>y\n\\-# s\n\\>>> q");
}

static void test_discord_link(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	discord_link(&sb, "https://x.example/a(b) c", "v1 [x] *y*");
	assert_string_equal(sb.buf, "[v1 \\[x\\] \\*y\\*]"
			    "(https://x.example/a%28b%29%20c)");
	strbuf_reset(&sb);
	discord_link(&sb, "https://x.example/", "");
	assert_string_equal(sb.buf, "[link](https://x.example/)");
	strbuf_release(&sb);
}

static void test_url_is_http(void **state)
{
	static const char *const good[] = {
		"http://a", "https://a.example/b?c=d#e", "HTTPS://A.EXAMPLE",
		"http://user@host/", "https://x.example/a|b>c",
		"http://[::1]:8080/",
	};
	static const char *const bad[] = {
		"", "ftp://a", "http://", "https://", "http:///x", "http://?q",
		"http://#f", "https://a b", "https://a\n", "https://a\x7f",
		"javascript:alert(1)", "http:/a", "//a.example", "http://@/x",
		"mailto:a@b",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(url_is_http(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(url_is_http(bad[i]));
	assert_false(url_is_http(NULL));
}

/* xorshift64*: a small seeded PRNG, so the properties run the same. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return n ? (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32) % n :
		   0;
}

static void add_cp(struct strbuf *sb, uint32_t cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (char)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (char)(0xc0 | cp >> 6));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (char)(0xe0 | cp >> 12));
		strbuf_addch(sb, (char)(0x80 | (cp >> 6 & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (char)(0xf0 | cp >> 18));
		strbuf_addch(sb, (char)(0x80 | (cp >> 12 & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp >> 6 & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

static const char *const hostile_tokens[] = {
	"<", ">", "&", "|", "@", "!", "[", "]", "(", ")", "*", "_", "~", "`",
	"```", "\\", "#", "-", ">", "1.", "\n", "\t", " ", "x", "<!channel>",
	"<!here>", "<!everyone>", "<@U1>", "<#C1>", "<!subteam^S1>",
	"@everyone", "@here", "@channel", "&amp;", "&lt;", "[x](http://evil)",
	"<http://evil|ok>", "\xf0\x9f\x9a\x80", "\xc3\xa9", "\xe2\x80\xae",
	"\r", "\x01", "\xff",
};

/* Random bytes, random valid UTF-8, or hostile tokens run together. */
static void random_string(struct strbuf *sb, int kind)
{
	uint32_t len = rnd(kind == 2 ? 60 : 300);

	strbuf_reset(sb);
	for (uint32_t i = 0; i < len; i++) {
		if (kind == 0) {
			strbuf_addch(sb, (char)rnd(256));
		} else if (kind == 1) {
			uint32_t r = rnd(10), cp;

			if (r < 4)
				cp = rnd(0x80);
			else if (r < 6)
				cp = 0x80 + rnd(0x800 - 0x80);
			else if (r < 8)
				do
					cp = 0x800 + rnd(0x10000 - 0x800);
				while (cp >= 0xd800 && cp <= 0xdfff);
			else
				cp = 0x10000 + rnd(0x110000 - 0x10000);
			add_cp(sb, cp);
		} else {
			strbuf_addstr(sb, hostile_tokens[rnd(
				sizeof(hostile_tokens) / sizeof(*hostile_tokens))]);
		}
	}
}

/*
 * Whether every backslash escape in Discord text is whole and no markdown
 * or mention character is left bare.
 */
static int discord_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\') {
			if (i + 1 == len)
				return 0;	/* a cut escape */
			i++;
			continue;
		}
		if (strchr("*_~`|[]<", s[i]))
			return 0;
	}
	return 1;
}

/* Whether every "&" in Slack text starts a whole entity. */
static int slack_entities_whole(const char *s)
{
	for (const char *p = strchr(s, '&'); p; p = strchr(p + 1, '&'))
		if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) &&
		    strncmp(p, "&gt;", 4))
			return 0;
	return 1;
}

static int has_bare_mention(const char *s)
{
	return strstr(s, "@everyone") || strstr(s, "@here") ||
	       strstr(s, "@channel") || strstr(s, "@Everyone");
}

static void check_property(const struct strbuf *in, int markup, size_t max)
{
	struct strbuf out = STRBUF_INIT, full = STRBUF_INIT;
	enum text_markup m = (enum text_markup)(markup & 0xff);
	int cut;

	cut = text_add_fit(&out, in->buf, in->len, markup, max);
	text_add_fit(&full, in->buf, in->len, markup, SIZE_MAX);
	assert_true(utf8_valid(out.buf, out.len));
	assert_true(text_units(out.buf, out.len) <= max);
	assert_int_equal(strlen(out.buf), out.len);	/* no NUL inside */
	if (!cut) {
		assert_string_equal(out.buf, full.buf);
	} else {
		assert_true(text_units(full.buf, full.len) > max);
		/* Empty only when not even "…" and a character fit. */
		if (out.len)
			assert_true(out.len >= 3 &&
				    !strcmp(out.buf + out.len - 3,
					    TEXT_ELLIPSIS));
	}
	if (markup & TEXT_ONELINE)
		assert_null(memchr(out.buf, '\n', out.len));
	for (size_t i = 0; i < out.len; i++)
		assert_true((unsigned char)out.buf[i] >= 0x20 ||
			    out.buf[i] == '\n' || out.buf[i] == '\t');
	switch (m) {
	case TEXT_SLACK:
	case TEXT_SLACK_CODE:
	case TEXT_SLACK_LINK:
		assert_null(strchr(out.buf, '<'));
		assert_null(strchr(out.buf, '>'));
		assert_null(strstr(out.buf, "<!"));
		assert_null(strstr(out.buf, "<@"));
		assert_true(slack_entities_whole(out.buf));
		assert_false(has_bare_mention(out.buf));
		if (m == TEXT_SLACK_LINK)
			assert_null(strchr(out.buf, '|'));
		if (m == TEXT_SLACK_CODE)
			assert_null(strstr(out.buf, "``"));
		break;
	case TEXT_DISCORD:
		assert_true(discord_escaped(out.buf, out.len));
		assert_false(has_bare_mention(out.buf));
		break;
	case TEXT_DISCORD_CODE:
		assert_null(strstr(out.buf, "``"));
		assert_false(has_bare_mention(out.buf));
		break;
	case TEXT_PLAIN:
		break;
	}
	strbuf_release(&out);
	strbuf_release(&full);
}

#define PROPERTY_STRINGS 12000

static void test_property_escape_and_cut(void **state)
{
	static const int markups[] = {
		TEXT_PLAIN, TEXT_SLACK, TEXT_SLACK_CODE, TEXT_SLACK_LINK,
		TEXT_DISCORD, TEXT_DISCORD_CODE,
	};
	struct strbuf in = STRBUF_INIT;

	for (int i = 0; i < PROPERTY_STRINGS; i++) {
		int markup = markups[rnd(sizeof(markups) / sizeof(*markups))];

		random_string(&in, i % 3);
		if (rnd(2))
			markup |= TEXT_ONELINE;
		check_property(&in, markup, rnd(8) ? rnd(400) : rnd(8));
		/* And the same string at a second limit, another markup. */
		check_property(&in, markups[rnd(6)], rnd(2000));
	}
	strbuf_release(&in);
}

static void test_property_truncate(void **state)
{
	struct strbuf in = STRBUF_INIT, clean = STRBUF_INIT;

	for (int i = 0; i < PROPERTY_STRINGS; i++) {
		size_t max = rnd(300), before;
		int cut;

		random_string(&in, i % 3);
		strbuf_reset(&clean);
		text_add_clean(&clean, in.buf, in.len);
		assert_true(utf8_valid(clean.buf, clean.len));
		before = text_units(clean.buf, clean.len);
		cut = text_truncate(&clean, max);
		assert_int_equal(cut, before > max);
		assert_true(utf8_valid(clean.buf, clean.len));
		assert_true(text_units(clean.buf, clean.len) <= max);
	}
	strbuf_release(&in);
	strbuf_release(&clean);
}

static void test_property_links(void **state)
{
	struct strbuf url = STRBUF_INIT, text = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;

	for (int i = 0; i < PROPERTY_STRINGS / 4; i++) {
		const char *p;

		random_string(&text, 2);
		random_string(&url, i % 3);
		/* The links take NUL-terminated strings. */
		for (size_t j = 0; j < url.len; j++)
			if (!url.buf[j])
				url.buf[j] = 'x';
		for (size_t j = 0; j < text.len; j++)
			if (!text.buf[j])
				text.buf[j] = 'x';

		strbuf_reset(&out);
		slack_link(&out, url.buf, text.buf);
		assert_true(utf8_valid(out.buf, out.len));
		assert_int_equal(out.buf[0], '<');
		assert_int_equal(out.buf[out.len - 1], '>');
		/* One "<" and one ">": nothing closes the link early. */
		assert_ptr_equal(strchr(out.buf + 1, '<'), NULL);
		assert_ptr_equal(strchr(out.buf, '>'), out.buf + out.len - 1);
		/* At most one "|", and no space before it (in the URL). */
		p = strchr(out.buf, '|');
		if (p)
			assert_null(strchr(p + 1, '|'));
		else
			p = out.buf + out.len - 1;
		assert_null(memchr(out.buf, ' ', (size_t)(p - out.buf)));
		assert_true(slack_entities_whole(out.buf));

		strbuf_reset(&out);
		discord_link(&out, url.buf, text.buf);
		assert_true(utf8_valid(out.buf, out.len));
		assert_int_equal(out.buf[0], '[');
		assert_int_equal(out.buf[out.len - 1], ')');
		/* The text may hold "\](", the URL never "(": the last. */
		p = NULL;
		for (const char *q = strstr(out.buf, "]("); q;
		     q = strstr(q + 1, "]("))
			p = q;
		assert_non_null(p);
		assert_true(discord_escaped(out.buf + 1,
					    (size_t)(p - out.buf - 1)));
		/* The URL holds no ")" but the last, no space. */
		assert_ptr_equal(strchr(p + 2, ')'), out.buf + out.len - 1);
		assert_null(strchr(p, ' '));
	}
	strbuf_release(&url);
	strbuf_release(&text);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_quoted),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_clean_bidi),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_slack_escape),
		cmocka_unit_test(test_slack_imitation),
		cmocka_unit_test(test_slack_link),
		cmocka_unit_test(test_discord_escape),
		cmocka_unit_test(test_discord_link),
		cmocka_unit_test(test_url_is_http),
		cmocka_unit_test(test_property_escape_and_cut),
		cmocka_unit_test(test_property_truncate),
		cmocka_unit_test(test_property_links),
	};

	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
