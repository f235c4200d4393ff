/*
 * heap: a binary min-heap of (key, data) entries, for timers: the entry
 * with the smallest key (a due time, say) is on top. Entries are copied in;
 * data belongs to the caller. There is no removal but of the top, so a
 * caller that reschedules something pushes it again and skips the stale
 * entry when it comes up.
 */
#ifndef HERALD_HEAP_H
#define HERALD_HEAP_H

#include <stddef.h>

struct heap_entry {
	double key;
	void *data;
};

struct heap {
	struct heap_entry *v;	/* v[0] is the top */
	size_t nr;
	size_t alloc;
};

#define HEAP_INIT { NULL, 0, 0 }

/* Adds an entry. Running out of memory aborts. */
void heap_push(struct heap *h, double key, void *data);
/* The entry with the smallest key, or NULL when h is empty. */
const struct heap_entry *heap_top(const struct heap *h);
/* Removes the top entry (nothing when h is empty). */
void heap_pop(struct heap *h);
/* Frees the entries' array and leaves h empty, as HEAP_INIT. */
void heap_release(struct heap *h);

#endif
