/*
 * strbuf: growable buffers, string views, bounded number parsing and the
 * allocation wrappers the rest of herald uses.
 */
#include "lib/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char strbuf_slopbuf[1];

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = strbuf_slopbuf;
	sb->len = 0;
	sb->alloc = 0;
	sb->max = max ? max : STRBUF_DEFAULT_MAX;
	sb->overflowed = 0;
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, sb->max);
}

void strbuf_reset(struct strbuf *sb)
{
	strbuf_setlen(sb, 0);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *ret = sb->alloc ? sb->buf : xstrdup("");

	if (len)
		*len = sb->len;
	strbuf_init(sb, sb->max);
	return ret;
}

int strbuf_overflowed(const struct strbuf *sb)
{
	return sb->overflowed;
}

static int grow(struct strbuf *sb, size_t extra)
{
	size_t want;

	if (sb->overflowed || extra > sb->max || sb->len > sb->max - extra)
		return -1;
	want = sb->len + extra + 1;
	if (want <= sb->alloc)
		return 0;
	if (sb->alloc && want < sb->alloc * 2)
		want = sb->alloc * 2;
	if (want < 64)
		want = 64;
	if (sb->alloc) {
		sb->buf = xrealloc(sb->buf, want);
	} else {
		sb->buf = xmalloc(want);
		sb->buf[0] = '\0';
	}
	sb->alloc = want;
	return 0;
}

int strbuf_grow(struct strbuf *sb, size_t extra)
{
	return grow(sb, extra);
}

/* Room for an add of extra bytes; marks sb when there is none. */
static int grow_for_add(struct strbuf *sb, size_t extra)
{
	if (grow(sb, extra) < 0) {
		sb->overflowed = 1;
		return -1;
	}
	return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (grow_for_add(sb, len) < 0)
		return -1;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_addch(struct strbuf *sb, char c)
{
	return strbuf_add(sb, &c, 1);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (sb->overflowed)
		return -1;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	/* n < 0: more than INT_MAX bytes, or unprintable: a failed add. */
	if (grow_for_add(sb, n < 0 ? SIZE_MAX : (size_t)n) < 0)
		return -1;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return ret;
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (len <= sb->len)
		sb->overflowed = 0;
	if (len >= sb->len)
		return;
	sb->len = len;
	sb->buf[len] = '\0';
}

void strbuf_trim(struct strbuf *sb)
{
	struct strview v = strview_trim((struct strview){ sb->buf, sb->len });
	int overflowed = sb->overflowed;

	if (v.ptr != sb->buf)
		memmove(sb->buf, v.ptr, v.len);
	strbuf_setlen(sb, v.len);
	sb->overflowed = overflowed;
}

struct strview strview_trim(struct strview v)
{
	while (v.len && isspace((unsigned char)v.ptr[0])) {
		v.ptr++;
		v.len--;
	}
	while (v.len && isspace((unsigned char)v.ptr[v.len - 1]))
		v.len--;
	return v;
}

int strview_eq(struct strview v, const char *s)
{
	return strlen(s) == v.len && !memcmp(v.ptr, s, v.len);
}

uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || isnan(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
