/*
 * strbuf: a growable, NUL-terminated byte buffer with a hard size cap.
 *
 * Modelled on git's strbuf and curl's dynbuf. A strbuf owns its memory;
 * strbuf_release() frees it, strbuf_detach() hands it to the caller, who then
 * frees it with free(). Running out of memory aborts.
 *
 * Every add function returns 0, or -1 when the result would exceed the cap.
 * Overflow is sticky: the add that would pass the cap adds nothing and marks
 * the buffer, and every later add is a no-op that returns -1 too. So the
 * buffer always holds whole adds, in order, up to the first one that did
 * not fit, and a caller that builds something in many adds checks once,
 * with strbuf_overflowed(), before it uses or sends the result (a truncated
 * request body must never go out). strbuf_init(), strbuf_release(),
 * strbuf_detach(), strbuf_reset() and strbuf_setlen() clear the mark;
 * strbuf_grow() and strbuf_trim() leave it as it is.
 */
#ifndef HERALD_STRBUF_H
#define HERALD_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define STRBUF_DEFAULT_MAX (64u * 1024 * 1024)

struct strbuf {
	char *buf;	/* always NUL-terminated; "" before the first add */
	size_t len;
	size_t alloc;
	size_t max;	/* hard cap on len */
	int overflowed;	/* see strbuf_overflowed() */
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT { strbuf_slopbuf, 0, 0, STRBUF_DEFAULT_MAX, 0 }

/* A string view: bytes that belong to someone else, not NUL-terminated. */
struct strview {
	const char *ptr;
	size_t len;
};

#define STRVIEW(s) ((struct strview){ (s), strlen(s) })

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_release(struct strbuf *sb);
/* Empties sb (keeping its memory) and clears the overflow mark. */
void strbuf_reset(struct strbuf *sb);
/*
 * Returns the buffer (caller frees) and resets sb, mark cleared; *len may
 * be NULL. Check strbuf_overflowed() first: the text may be cut short.
 */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/*
 * Whether an add went over the cap since the buffer was last initialised,
 * reset or cut back: then sb holds only the adds before that one, and every
 * add since did nothing.
 */
int strbuf_overflowed(const struct strbuf *sb);

/*
 * Makes room for extra more bytes at once; -1 when that is over the cap or
 * sb has overflowed. Only a reservation: it never marks sb.
 */
int strbuf_grow(struct strbuf *sb, size_t extra);
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/*
 * Shortens to len bytes (no-op when already shorter). With len <= sb->len
 * it also clears the overflow mark: what is left is what the caller wrote
 * and chose to keep, e.g. the buffer before an item that did not fit.
 */
void strbuf_setlen(struct strbuf *sb, size_t len);
/* Removes leading and trailing ASCII white space; keeps the overflow mark. */
void strbuf_trim(struct strbuf *sb);

/* Trims ASCII white space off both ends of a view. */
struct strview strview_trim(struct strview v);
int strview_eq(struct strview v, const char *s);

/*
 * Bounded number parsing: the whole of s (no white space, no sign unless
 * noted) must be a number within [min, max]. Return 0 or -1.
 */
int parse_long(const char *s, long min, long max, long *out);
int parse_double(const char *s, double min, double max, double *out);

/* 64-bit FNV-1a of s, from the offset basis h (FNV1A_BASIS: the standard). */
#define FNV1A_BASIS 0xcbf29ce484222325ULL
uint64_t fnv1a(const char *s, uint64_t h);

/* strdup/strndup that abort on out of memory; xstrdup(NULL) is NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);

#endif
