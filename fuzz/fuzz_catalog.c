/*
 * Fuzz target: the service catalog parser. Whatever the input, parsing
 * must not crash or leak, messages must be one line, and every service
 * parsed must be found again by name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog cat = CATALOG_INIT;
	struct errlist warnings = ERRLIST_INIT;
	struct errbuf err;

	errbuf_clear(&err);
	if (catalog_parse(&cat, (const char *)data, size, "fuzz.yaml",
			  &warnings, &err) < 0) {
		if (cat.nr || !err.msg[0] || strchr(err.msg, '\n'))
			abort();
	}
	for (size_t i = 0; i < warnings.nr; i++)
		if (strchr(warnings.items[i], '\n'))
			abort();
	for (size_t i = 0; i < cat.nr; i++)
		if (catalog_lookup(&cat, cat.services[i].name) !=
		    &cat.services[i])
			abort();
	catalog_release(&cat);
	errlist_release(&warnings);
	return 0;
}
