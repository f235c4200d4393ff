/*
 * htab: an intrusive hash table with chaining (see htab.h).
 */
#include "lib/htab.h"

#include <stdlib.h>

#include "lib/strbuf.h"

uint64_t htab_hash_id(int64_t id)
{
	uint64_t x = (uint64_t)id;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void grow(struct htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct hnode **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

struct hnode *htab_find(const struct htab *t, uint64_t hash, hnode_eq_fn *eq,
			const void *key)
{
	if (!t->nb)
		return NULL;
	for (struct hnode *n = t->b[hash & (t->nb - 1)]; n; n = n->next)
		if (n->hash == hash && eq(n, key))
			return n;
	return NULL;
}

void htab_add(struct htab *t, struct hnode *n, uint64_t hash)
{
	if (t->nr >= t->nb)
		grow(t);
	n->hash = hash;
	n->next = t->b[hash & (t->nb - 1)];
	t->b[hash & (t->nb - 1)] = n;
	t->nr++;
}

void htab_del(struct htab *t, struct hnode *n)
{
	struct hnode **pp;

	if (!t->nb)
		return;
	for (pp = &t->b[n->hash & (t->nb - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->nr--;
			return;
		}
	}
}

struct hnode *htab_take_all(struct htab *t)
{
	struct hnode *list = NULL;

	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = list;
			list = n;
		}
		t->b[i] = NULL;
	}
	t->nr = 0;
	return list;
}

void htab_release(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->nr = 0;
}
