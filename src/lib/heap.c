/*
 * heap: a binary min-heap of (key, data) entries (see heap.h).
 */
#include "lib/heap.h"

#include <stdlib.h>

#include "lib/strbuf.h"

static void swap(struct heap *h, size_t a, size_t b)
{
	struct heap_entry t = h->v[a];

	h->v[a] = h->v[b];
	h->v[b] = t;
}

void heap_push(struct heap *h, double key, void *data)
{
	size_t i;

	if (h->nr == h->alloc) {
		h->alloc = h->alloc ? h->alloc * 2 : 64;
		h->v = xrealloc(h->v, h->alloc * sizeof(*h->v));
	}
	i = h->nr++;
	h->v[i].key = key;
	h->v[i].data = data;
	while (i && h->v[(i - 1) / 2].key > h->v[i].key) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

const struct heap_entry *heap_top(const struct heap *h)
{
	return h->nr ? &h->v[0] : NULL;
}

void heap_pop(struct heap *h)
{
	size_t i = 0;

	if (!h->nr)
		return;
	h->v[0] = h->v[--h->nr];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->nr && h->v[l].key < h->v[m].key)
			m = l;
		if (r < h->nr && h->v[r].key < h->v[m].key)
			m = r;
		if (m == i)
			break;
		swap(h, i, m);
		i = m;
	}
}

void heap_release(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->nr = h->alloc = 0;
}
