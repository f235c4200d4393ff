/*
 * htab: an intrusive hash table with chaining, like the Linux kernel's
 * hlist tables. The caller embeds a struct hnode in its own struct (first,
 * so a found node casts back to it), computes the hash (htab_hash_id() for
 * integer ids, fnv1a() for strings) and says how to compare keys. The
 * table never allocates or frees the nodes: only its bucket array, which
 * doubles when there are as many nodes as buckets.
 */
#ifndef HERALD_HTAB_H
#define HERALD_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;	/* nb buckets (a power of 2), or NULL */
	size_t nb;
	size_t nr;		/* nodes in the table */
};

#define HTAB_INIT { NULL, 0, 0 }

/* Whether node n has key (the caller's key type). */
typedef int hnode_eq_fn(const struct hnode *n, const void *key);

/* A well-mixed hash of an integer id (every input bit moves every output). */
uint64_t htab_hash_id(int64_t id);
/* The node with this hash for which eq(node, key) holds, or NULL. */
struct hnode *htab_find(const struct htab *t, uint64_t hash, hnode_eq_fn *eq,
			const void *key);
/* Adds n (not in any table) under hash. Running out of memory aborts. */
void htab_add(struct htab *t, struct hnode *n, uint64_t hash);
/* Takes n out of t (nothing when it is not there). */
void htab_del(struct htab *t, struct hnode *n);
/*
 * Empties t (keeping its buckets) and returns its nodes as a list linked
 * by next, in no particular order, for the caller to free.
 */
struct hnode *htab_take_all(struct htab *t);
/* Frees the buckets (not the nodes) and leaves t empty, as HTAB_INIT. */
void htab_release(struct htab *t);

#endif
