/*
 * catalog: the service catalog, which says per application who owns it and
 * where its notifications go (the "Owner IM").
 *
 * Parsed from YAML:
 *
 *     services:
 *       - name: api
 *         owner: backend-team
 *         ownerIm: "#backend-deploys"
 *
 * Lookups by name are O(1) (open-addressing hash table). Pure: the caller
 * reads the file and hands over its text.
 */
#ifndef HERALD_CATALOG_H
#define HERALD_CATALOG_H

#include <stddef.h>

#include "lib/errbuf.h"

struct catalog_service {
	char *name;
	char *owner;		/* NULL when not given */
	char *owner_im;		/* NULL when not given */
	unsigned line;		/* where the entry starts in the file */
};

struct catalog {
	struct catalog_service *services;	/* in file order */
	size_t nr;
	size_t *slots;		/* hash table of index+1, 0 for empty */
	size_t slots_nr;	/* a power of two */
};

#define CATALOG_INIT { NULL, 0, NULL, 0 }

/*
 * Parses YAML text into cat, which must be initialised (CATALOG_INIT) and
 * whose previous content is replaced. filename is used in messages only
 * ("catalog.yaml:12: service \"api\" is listed twice (first at line 3):
 * remove one or rename it"). Unknown keys are skipped, their values too,
 * with one warning each appended to warnings (may be NULL; after 50, one
 * line counts the rest). Anchors and aliases, and nesting deeper than 64
 * levels, are errors. On error the catalog is left empty and err says file
 * and line.
 */
int catalog_parse(struct catalog *cat, const char *text, size_t len,
		  const char *filename, struct errlist *warnings,
		  struct errbuf *err);

/* The service named name, or NULL. */
const struct catalog_service *catalog_lookup(const struct catalog *cat,
					     const char *name);

/* Frees everything; cat is left empty (CATALOG_INIT). */
void catalog_release(struct catalog *cat);

#endif
