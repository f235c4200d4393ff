/*
 * errbuf: where a failing function puts the detail of what went wrong.
 *
 * Functions return 0 or a negative HERALD_E* code and, when given a
 * non-NULL struct errbuf, write one human sentence there: what failed, where,
 * and what to do ("NOTIFICATIONS_CHANNEL_MAPPING: item 2 \"production\" has no
 * \"=\": expected env=channel"). An errlist collects several such sentences
 * (every problem of a configuration, every invalid field of a batch).
 */
#ifndef HERALD_ERRBUF_H
#define HERALD_ERRBUF_H

#include <stddef.h>

enum herald_errcode {
	HERALD_OK = 0,
	HERALD_EINVAL = -1,	/* bad input: configuration, event, usage */
	HERALD_ENOENT = -2,	/* a named thing does not exist */
	HERALD_EIO = -3,	/* file, store or network failure */
	HERALD_ELIMIT = -4,	/* over a size or count limit */
	HERALD_ERETRY = -5,	/* a temporary failure: try again later */
	HERALD_EPERM = -6,	/* a permanent refusal by the platform */
	HERALD_EAUTH = -7,	/* credentials rejected */
	HERALD_EDUP = -8,	/* already exists */
};

#define ERRBUF_SIZE 1024

struct errbuf {
	char msg[ERRBUF_SIZE];
};

/* Writes the message (truncated to fit) and returns code. err may be NULL. */
int errbuf_set(struct errbuf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Puts "prefix: " in front of the message already there. */
void errbuf_prefix(struct errbuf *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void errbuf_clear(struct errbuf *err);

struct errlist {
	char **items;	/* owned; each freed by errlist_release() */
	size_t nr;
	size_t alloc;
};

#define ERRLIST_INIT { NULL, 0, 0 }

void errlist_add(struct errlist *list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void errlist_release(struct errlist *list);

#endif
