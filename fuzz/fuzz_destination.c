/*
 * Fuzz target for destination_parse: the input, cut at the first NUL, is
 * parsed for each provider. Must never crash or leak; a parsed destination
 * must parse again from its raw form to the same kind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/route.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum provider_kind providers[] = {
		PROVIDER_LOG, PROVIDER_SLACK, PROVIDER_DISCORD,
	};
	char *s = xstrndup((const char *)data, size);

	for (size_t i = 0; i < sizeof(providers) / sizeof(*providers); i++) {
		struct destination d, again;
		struct errbuf err;

		if (destination_parse(&d, s, providers[i], &err))
			continue;
		if (!d.raw || !d.target ||
		    destination_parse(&again, d.raw, providers[i], &err) ||
		    again.kind != d.kind || strcmp(again.target, d.target))
			abort();
		(void)destination_kind_word(&d);
		destination_release(&again);
		destination_release(&d);
	}
	free(s);
	return 0;
}
